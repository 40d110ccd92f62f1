//! The API layer's error: every failure becomes an RFC 9457 `application/problem+json` response.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use pcr_schema::audit::Outcome;
use pcr_schema::{DomainError, FieldError};
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// A URI reference naming the kind of problem; see the README's list of problem types.
    #[serde(rename = "type")]
    #[schema(example = "/problems/validation")]
    pub type_: String,
    #[schema(example = "The request body is invalid")]
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    pub detail: String,
    /// Field-level errors, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The version the resource is at now, for 412 responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("{0}")]
    BadRequest(String),
    /// Query parameters that are not the operation's, or do not parse: 400, each named.
    #[error("the query string is invalid")]
    BadParams(Vec<FieldError>),
    #[error("{0}")]
    NotAcceptable(String),
    /// Credentials that were sent and refused: the detail is the rule they broke.
    #[error("{0}")]
    Unauthorized(crate::auth::Rejection),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// Over a rate limit: retry after this many seconds.
    #[error("too many requests; retry after {0} s")]
    TooManyRequests(u64),
    /// The request body did not arrive in time.
    #[error("{0}")]
    RequestTimeout(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let (status, kind, title) = self.kind();
        let mut p = Problem {
            type_: format!("/problems/{kind}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail: self.to_string(),
            errors: Vec::new(),
            current_version: None,
        };
        match self {
            ApiError::Domain(DomainError::Invalid(errors)) => {
                p.errors = errors.clone();
                p.detail = match errors.as_slice() {
                    [one] => format!("{}: {}", one.field, one.message),
                    many => format!("{} fields are invalid", many.len()),
                };
            }
            ApiError::BadParams(errors) => {
                p.errors = errors.clone();
                p.detail = match errors.as_slice() {
                    [one] => format!("query parameter {}: {}", one.field, one.message),
                    many => format!("{} query parameters are invalid", many.len()),
                };
            }
            ApiError::Domain(DomainError::VersionMismatch { current, .. }) if *current >= 0 => {
                p.current_version = Some(*current);
            }
            // Never leak database internals to clients; the log has them.
            ApiError::Domain(DomainError::Database(_)) | ApiError::Internal(_) => {
                p.detail = "an unexpected error occurred; it has been logged".to_string();
            }
            _ => {}
        }
        p
    }

    fn kind(&self) -> (StatusCode, &'static str, &'static str) {
        use DomainError as D;
        match self {
            ApiError::Domain(d) => match d {
                D::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation", "The request is invalid"),
                D::NotFound { .. } => (StatusCode::NOT_FOUND, "not-found", "Not found"),
                D::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
                D::VersionMismatch { .. } => {
                    (StatusCode::PRECONDITION_FAILED, "stale-version", "The resource has changed")
                }
                D::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
                D::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated", "Authentication required"),
                D::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Malformed request"),
                D::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable"),
                D::Database(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
            },
            ApiError::BadRequest(_) | ApiError::BadParams(_) => {
                (StatusCode::BAD_REQUEST, "bad-request", "Malformed request")
            }
            ApiError::NotAcceptable(_) => (StatusCode::NOT_ACCEPTABLE, "not-acceptable", "Not acceptable"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthenticated", "Authentication required"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::PreconditionRequired(_) => {
                (StatusCode::PRECONDITION_REQUIRED, "precondition-required", "If-Match is required")
            }
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type")
            }
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Request body too large"),
            ApiError::MethodNotAllowed(_) => {
                (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed")
            }
            ApiError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "too-many-requests", "Too many requests"),
            ApiError::RequestTimeout(_) => (StatusCode::REQUEST_TIMEOUT, "timeout", "Request timeout"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        }
    }
}

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Builds a problem response with the right media type.
pub fn problem_response(p: &Problem) -> HttpResponse {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
    if status == StatusCode::UNAUTHORIZED {
        res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"primary-care-api\"")));
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        // Busy or the database is away: worth a retry soon.
        res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
    }
    res.body(serde_json::to_string(p).unwrap_or_else(|_| "{}".to_string()))
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind().0
    }

    fn error_response(&self) -> HttpResponse {
        let p = self.problem();
        if p.status >= 500 {
            tracing::error!(error = %self, "request failed");
        }
        let mut res = problem_response(&p);
        // Refusals of a signed caller are audited (see `refusals`).
        let refusal = match self {
            ApiError::Unauthorized(_) => Some(Outcome::Unauthenticated),
            ApiError::Domain(e) => Outcome::refusing(e),
            _ => None,
        };
        if let Some(outcome) = refusal {
            res.extensions_mut().insert(crate::refusals::Refusal(outcome));
        }
        if let ApiError::TooManyRequests(secs) = self {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if let ApiError::Unauthorized(r) = self {
            // RFC 6750: say that the credentials sent were refused, and which rule they broke.
            let challenge = format!(
                "Bearer realm=\"primary-care-api\", error=\"{}\", error_description=\"{}\"",
                r.bearer_error(),
                r.code()
            );
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        res
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(format!("worker pool: {e}"))
    }
}
