//! What a GraphQL request came to: its operation and its errors' codes. Counted in the
//! metrics and left in the request's extensions for its log line, so that a denial
//! answered `200` with `errors` is seen for what it is.

use actix_web::{web, HttpMessage, HttpRequest};
use async_graphql::Name;

use crate::metrics::Metrics;

/// The codes this server gives GraphQL errors; any other is counted as `OTHER`, so the
/// metric's outcome label stays a fixed set.
const CODES: &[&str] = &[
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "CONFLICT",
    "FORBIDDEN",
    "UNAUTHENTICATED",
    "SERVICE_UNAVAILABLE",
    "INTERNAL_SERVER_ERROR",
    "GRAPHQL_VALIDATION_FAILED",
    "BAD_REQUEST",
    "QUERY_TOO_LARGE",
    "METHOD_NOT_ALLOWED",
];

/// Which operation a request ran.
#[derive(Debug, Clone)]
pub enum Operation {
    Named(Name),
    Anonymous,
    /// Refused before its document was read, or a document that does not parse or has no
    /// operation of the name asked for.
    Unknown,
}

/// Left in a GraphQL request's extensions for the request log.
#[derive(Debug, Clone)]
pub struct GraphqlOutcome {
    pub operation: Operation,
    /// The distinct codes of the response's errors, in order; empty when it had none.
    pub codes: Vec<&'static str>,
}

impl GraphqlOutcome {
    /// The operation's name as logged: its own, `anonymous`, or `unknown`.
    pub fn operation_name(&self) -> &str {
        match &self.operation {
            Operation::Named(n) => n.as_str(),
            Operation::Anonymous => crate::metrics::names::ANONYMOUS,
            Operation::Unknown => crate::metrics::names::UNKNOWN,
        }
    }

    /// The error codes as logged, comma-separated; `None` when there were none.
    pub fn errors(&self) -> Option<String> {
        (!self.codes.is_empty()).then(|| self.codes.join(","))
    }
}

/// The fixed label of an error code.
pub fn code_label(code: &str) -> &'static str {
    CODES.iter().copied().find(|c| *c == code).unwrap_or("OTHER")
}

/// Adds `code` to `codes` unless it is there already.
pub fn push_code(codes: &mut Vec<&'static str>, code: &str) {
    let label = code_label(code);
    if !codes.contains(&label) {
        codes.push(label);
    }
}

/// Counts the request's operation and leaves its outcome for the log.
pub fn record(req: &HttpRequest, operation: Operation, codes: Vec<&'static str>) {
    if let Some(metrics) = req.app_data::<web::Data<Metrics>>() {
        let label = match &operation {
            Operation::Named(n) => metrics.operation_label(Some(n.as_str())),
            Operation::Anonymous => metrics.operation_label(None),
            Operation::Unknown => metrics.unknown_operation(),
        };
        metrics.graphql_operation(label, codes.first().copied().unwrap_or("ok"));
    }
    req.extensions_mut().insert(GraphqlOutcome { operation, codes });
}
