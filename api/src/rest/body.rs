//! Request bodies: media type checks (415), size (413, via the payload limit) and JSON
//! parsing with field paths (400 for broken JSON, 422 for wrong shapes).

use actix_web::http::header;
use actix_web::HttpRequest;
use pcr_schema::domain::crud::{from_json_slice, Change};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

fn media_type(req: &HttpRequest) -> Option<String> {
    let v = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

fn is_json(mt: &str) -> bool {
    mt == "application/json" || (mt.starts_with("application/") && mt.ends_with("+json"))
}

/// Parses a JSON body (`application/json` or any `+json` type).
pub fn json<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> ApiResult<T> {
    match media_type(req) {
        Some(mt) if is_json(&mt) => {}
        Some(mt) => return Err(ApiError::UnsupportedMediaType(format!("send application/json, not {mt}"))),
        None => return Err(ApiError::UnsupportedMediaType("send a Content-Type of application/json".into())),
    }
    // Every input is an object; say so plainly rather than with serde's tuple-struct wording.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        return Err(ApiError::Domain(pcr_schema::DomainError::invalid("body", "must be a JSON object")));
    }
    Ok(from_json_slice(body)?)
}

/// How a write handler reads its change from the body.
pub type ChangeReader<I> = fn(&HttpRequest, &[u8]) -> ApiResult<Change<I>>;

/// A PUT body: every writable field.
pub fn replacement<I: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> ApiResult<Change<I>> {
    json(req, body).map(Change::Replace)
}

/// A PATCH body: a JSON merge patch (`application/merge-patch+json`, or `application/json`).
/// The domain says whether it is an object, so the rule holds for every transport.
pub fn patch<I>(req: &HttpRequest, body: &[u8]) -> ApiResult<Change<I>> {
    json(req, body).map(Change::Patch)
}
