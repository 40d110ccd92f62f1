//! Who may keep a response, and for how long (`Cache-Control`), declared once by path.

use actix_web::http::{Method, StatusCode};

/// The caching policies the service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Private or changing: placements, anything read with a token, writes, errors, probes.
    NoStore,
    /// Public reference data: any cache may keep it briefly.
    Reference,
    /// Must be revalidated before reuse (pages that name versioned assets, the contract).
    Revalidate,
    /// Assets whose URL changes when they do.
    Immutable,
}

impl Policy {
    pub fn header(self) -> &'static str {
        match self {
            Policy::NoStore => "no-store",
            Policy::Reference => "public, max-age=60",
            Policy::Revalidate => "no-cache",
            Policy::Immutable => "public, max-age=31536000, immutable",
        }
    }
}

/// Paths under `/api/v1` never kept: the change feed, and any path through the collection of
/// a record that needs a scope to read (placements, and `…/{key}/placements` under others).
fn is_private(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/api/v1/") else { return false };
    rest.starts_with("changes")
        || rest.split('/').any(|segment| {
            pcr_schema::domain::changes::KINDS.iter().any(|k| k.read_scope.is_some() && k.collection == segment)
        })
}

/// The policy for a response a handler left without one.
pub fn policy(method: &Method, path: &str, authorised: bool, status: StatusCode) -> Policy {
    let read = method == Method::GET || method == Method::HEAD;
    if !read || !(status.is_success() || status == StatusCode::NOT_MODIFIED) {
        return Policy::NoStore;
    }
    if path.starts_with(crate::graphql::playground::ASSETS_PATH) {
        return Policy::Immutable;
    }
    if let Some(file) = path.strip_prefix("/docs/") {
        // The page and its initialiser name the document and are small; the bundle is
        // vendored with this release and changes only with it.
        return if file.is_empty() || file == "index.html" || file == "swagger-initializer.js" {
            Policy::Revalidate
        } else {
            Policy::Immutable
        };
    }
    if path == "/api-docs/openapi.json" {
        return Policy::Revalidate;
    }
    if path.starts_with("/api/v1/") && !authorised && !is_private(path) {
        return Policy::Reference;
    }
    Policy::NoStore
}
