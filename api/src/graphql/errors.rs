//! Domain errors as GraphQL errors: `extensions.code` matches the REST status, and
//! validation errors carry their field paths. `extensions.classification` says who can put
//! it right, in the words GraphQL servers on graphql-java (Spring for GraphQL, DGS) use and
//! tools read: `BAD_REQUEST` for anything the caller fixes by changing the request — invalid
//! input, a key that names no record, a duplicate, a stale `expectedVersion` — then
//! `UNAUTHORIZED`, `FORBIDDEN`, and `INTERNAL_ERROR` for what is ours to fix.

use async_graphql::{Error, ErrorExtensions};
use pcr_schema::DomainError;

/// The GraphQL error for a domain error.
pub fn gql(e: DomainError) -> Error {
    let message = e.to_string();
    let (code, status, classification) = match &e {
        DomainError::Invalid(_) | DomainError::BadRequest(_) => ("BAD_USER_INPUT", 422, "BAD_REQUEST"),
        DomainError::NotFound { .. } => ("NOT_FOUND", 404, "BAD_REQUEST"),
        DomainError::Conflict(_) => ("CONFLICT", 409, "BAD_REQUEST"),
        DomainError::VersionMismatch { .. } => ("CONFLICT", 412, "BAD_REQUEST"),
        DomainError::Forbidden(_) => ("FORBIDDEN", 403, "FORBIDDEN"),
        DomainError::Unauthenticated => ("UNAUTHENTICATED", 401, "UNAUTHORIZED"),
        DomainError::Unavailable(_) => ("SERVICE_UNAVAILABLE", 503, "INTERNAL_ERROR"),
        DomainError::Database(_) => ("INTERNAL_SERVER_ERROR", 500, "INTERNAL_ERROR"),
    };
    if status >= 500 {
        tracing::error!(error = %e, "graphql resolver failed");
    }
    let message = if status == 500 { "an unexpected error occurred; it has been logged".to_string() } else { message };
    Error::new(message).extend_with(|_, ext| {
        ext.set("code", code);
        ext.set("status", status);
        ext.set("classification", classification);
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
