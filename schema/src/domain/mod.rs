//! Use cases, one function per action, called alike by REST and GraphQL.

pub mod crud;
