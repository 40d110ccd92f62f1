//! Data layer and domain rules of the primary care roles API: Diesel tables and models,
//! validation, the write flow with audit, queries, ODS import and demo data. No HTTP here.

pub mod actor;
pub mod audit;
pub mod date;
pub mod db;
pub mod db_stats;
pub mod demo;
pub mod domain;
pub mod error;
pub mod kinds;
pub mod models;
pub mod ods;
pub mod pagination;
pub mod tables;
pub mod validate;

pub use actor::{Actor, Scope};
pub use db::{Backend, Db, DbConnection, DbOptions, Pooler};
pub use error::{DomainError, DomainResult, FieldError};

/// The current time in UTC at microsecond precision, so what PostgreSQL stores and what
/// SQLite stores (as text) read back identically.
pub fn now() -> chrono::NaiveDateTime {
    let t = chrono::Utc::now().naive_utc();
    chrono::DateTime::from_timestamp_micros(t.and_utc().timestamp_micros()).map(|d| d.naive_utc()).unwrap_or(t)
}

/// Today's date in UTC.
pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}
