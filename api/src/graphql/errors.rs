//! Domain errors as GraphQL errors: `extensions.code` matches the REST status, and
//! validation errors carry their field paths.

use async_graphql::{Error, ErrorExtensions};
use pcr_schema::DomainError;

/// The GraphQL error for a domain error.
pub fn gql(e: DomainError) -> Error {
    let message = e.to_string();
    let (code, status) = match &e {
        DomainError::Invalid(_) | DomainError::BadRequest(_) => ("BAD_USER_INPUT", 422),
        DomainError::NotFound { .. } => ("NOT_FOUND", 404),
        DomainError::Conflict(_) => ("CONFLICT", 409),
        DomainError::VersionMismatch { .. } => ("CONFLICT", 412),
        DomainError::Forbidden(_) => ("FORBIDDEN", 403),
        DomainError::Unauthenticated => ("UNAUTHENTICATED", 401),
        DomainError::Unavailable(_) => ("SERVICE_UNAVAILABLE", 503),
        DomainError::Database(_) => ("INTERNAL_SERVER_ERROR", 500),
    };
    if status >= 500 {
        tracing::error!(error = %e, "graphql resolver failed");
    }
    let message = if status == 500 { "an unexpected error occurred; it has been logged".to_string() } else { message };
    Error::new(message).extend_with(|_, ext| {
        ext.set("code", code);
        ext.set("status", status);
        match &e {
            DomainError::Invalid(fields) => {
                let list: Vec<async_graphql::Value> = fields
                    .iter()
                    .map(|f| {
                        let mut m = async_graphql::indexmap::IndexMap::new();
                        m.insert(async_graphql::Name::new("field"), async_graphql::Value::from(f.field.clone()));
                        m.insert(async_graphql::Name::new("message"), async_graphql::Value::from(f.message.clone()));
                        async_graphql::Value::Object(m)
                    })
                    .collect();
                ext.set("fields", async_graphql::Value::List(list));
            }
            DomainError::VersionMismatch { current, .. } if *current >= 0 => ext.set("currentVersion", *current),
            _ => {}
        }
    })
}

/// An input error raised by the GraphQL layer itself (conflicting paging arguments, say).
pub fn bad_input(field: &str, message: &str) -> Error {
    gql(DomainError::invalid(field, message))
}

/// Runs domain work and converts its error. GraphQL requests execute on a thread that may
/// block, with a connection of their own (see [`super::execute`]), so the work runs right here.
pub fn domain<T>(f: impl FnOnce() -> Result<T, DomainError>) -> async_graphql::Result<T> {
    f().map_err(gql)
}
