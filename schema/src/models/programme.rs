//! programme
