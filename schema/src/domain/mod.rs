//! Use cases, one function per action, called alike by REST and GraphQL.

pub mod audit_log;
pub mod batch;
pub mod catalogue;
pub mod changes;
pub mod crud;
pub mod groups;
pub mod idempotency;
pub mod lookups;
pub mod organisations;
pub mod placements;
pub mod practices;
pub mod reach;
pub mod window;
