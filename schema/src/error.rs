//! The data layer's one error type. The API layer maps each variant to a status code.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;

/// One problem with one field of the input, addressed by a JSON pointer-like path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Where the problem is, e.g. `hoursPerWeek` or `addressLines/2`.
    pub field: String,
    /// What is wrong, in words a person can act on.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("the request body is invalid")]
    Invalid(Vec<FieldError>),
    /// Not there, or (`hidden`) outside the caller's reach: said the same either way, so a
    /// record's existence is not revealed; a hidden one is audited as a refusal.
    #[error("{entity} {key} was not found")]
    NotFound { entity: &'static str, key: String, hidden: bool },
    #[error("{0}")]
    Conflict(String),
    #[error("the resource has changed: it is at version {current}, the request expected {expected}")]
    VersionMismatch { current: i32, expected: i32 },
    #[error("{0}")]
    Forbidden(String),
    #[error("authentication is required")]
    Unauthenticated,
    #[error("{0}")]
    BadRequest(String),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(DieselError),
}

impl DomainError {
    pub fn not_found(entity: &'static str, key: impl Into<String>) -> Self {
        DomainError::NotFound { entity, key: key.into(), hidden: false }
    }
    pub fn hidden(entity: &'static str, key: impl Into<String>) -> Self {
        DomainError::NotFound { entity, key: key.into(), hidden: true }
    }
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid(vec![FieldError::new(field, message)])
    }
}

/// Whether `e` says the connection to the database was lost (or never there), rather than
/// that the statement was refused.
pub fn connection_lost(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => {
            true
        }
        DieselError::DatabaseError(_, info) => {
            let m = info.message();
            m.contains("server closed the connection unexpectedly")
                || m.contains("no connection to the server")
                || m.contains("could not receive data from server")
                || m.contains("could not send data to server")
                || m.starts_with("terminating connection")
        }
        _ => false,
    }
}

impl From<DieselError> for DomainError {
    /// Constraint violations that slip past validation (races, rules only the database knows)
    /// become client errors, not 500s.
    fn from(e: DieselError) -> Self {
        match &e {
            DieselError::DatabaseError(kind, info) => match kind {
                DatabaseErrorKind::UniqueViolation => DomainError::Conflict(format!(
                    "a record with the same unique key already exists ({})",
                    info.constraint_name().unwrap_or(info.message())
                )),
                DatabaseErrorKind::ForeignKeyViolation => DomainError::Conflict(format!(
                    "the change refers to, or is referred to by, another record ({})",
                    info.constraint_name().unwrap_or(info.message())
                )),
                DatabaseErrorKind::CheckViolation | DatabaseErrorKind::NotNullViolation => {
                    DomainError::Invalid(vec![FieldError::new(
                        info.column_name().unwrap_or("body"),
                        format!("violates a data rule: {}", info.message()),
                    )])
                }
                DatabaseErrorKind::SerializationFailure => {
                    DomainError::Conflict("a concurrent change conflicted with this one; retry".to_string())
                }
                // The connection lost, and PostgreSQL's statement timeout (SQLSTATE 57014):
                // the database is away or slow, not the request wrong.
                _ if connection_lost(&e) => {
                    DomainError::Unavailable(format!("the database connection failed: {}", info.message().trim()))
                }
                // SQLite's writer lock still held when its busy timeout ran out.
                _ if info.message().starts_with("database is locked") => {
                    DomainError::Unavailable("the database is busy with another write".to_string())
                }
                _ if info.message().starts_with("canceling statement due to statement timeout") => {
                    DomainError::Unavailable("the database did not answer within its statement timeout".to_string())
                }
                // Text PostgreSQL cannot hold (NUL). Validation refuses it first, naming the
                // field; this is the net under any path that missed it.
                _ if info.message().starts_with("invalid byte sequence for encoding") => {
                    DomainError::invalid("body", "text must not contain control characters")
                }
                _ => DomainError::Database(e),
            },
            DieselError::NotFound => DomainError::not_found("record", String::new()),
            _ => DomainError::Database(e),
        }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
