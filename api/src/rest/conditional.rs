//! ETags and conditional requests: `If-None-Match` on reads, `If-Match` on writes.
//!
//! A record's ETag is its version and its id, `"3.6f1c…"`. The version alone would repeat
//! when a record is deleted and another created with the same key (its versions start at 1
//! again), and a client holding the old tag would be told nothing had changed. Lists carry
//! a weak ETag over the page's bytes.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use pcr_schema::domain::crud::Expected;
use pcr_schema::domain::idempotency::StoredResponse;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};

/// The strong ETag of one version of one record.
pub fn etag(version: i32, id: &str) -> String {
    format!("\"{version}.{id}\"")
}

/// A weak ETag over a representation's bytes: lists change whenever any of their rows does,
/// and two equal pages are equal byte for byte. The hash has a fixed seed, so every replica
/// of the same release gives the same tag.
pub fn weak_etag(body: &[u8]) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::quality::FixedState::with_seed(0x7063_722d_6574_6167).build_hasher();
    h.write(body);
    h.write_usize(body.len());
    format!("W/\"{:016x}\"", h.finish())
}

/// Whether `If-None-Match` names `tag` (weak comparison, as RFC 9110 prescribes for it).
pub fn none_match(req: &HttpRequest, tag: &str) -> bool {
    let bare = tag.trim_start_matches("W/");
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == bare || t == "*")
}

/// 200 with an ETag, or 304 when the client's `If-None-Match` already has this version.
pub fn one<T: Serialize>(req: &HttpRequest, version: i32, id: &str, body: &T) -> HttpResponse {
    with_etag(req, StatusCode::OK, &etag(version, id), body, true)
}

/// 201 with an ETag and `Location`, as kept for a retry.
pub fn created<T: Serialize>(version: i32, id: &str, location: &str, body: &T) -> StoredResponse {
    let headers = vec![("etag".to_string(), etag(version, id)), ("location".to_string(), location.to_string())];
    super::idempotency::json_response(StatusCode::CREATED, headers, body)
}

/// 200 after a write, with the new ETag, as kept for a retry.
pub fn written<T: Serialize>(version: i32, id: &str, body: &T) -> StoredResponse {
    super::idempotency::json_response(StatusCode::OK, vec![("etag".to_string(), etag(version, id))], body)
}

fn with_etag<T: Serialize>(
    req: &HttpRequest,
    status: StatusCode,
    tag: &str,
    body: &T,
    conditional: bool,
) -> HttpResponse {
    if conditional && none_match(req, tag) {
        return HttpResponse::NotModified().insert_header((header::ETAG, tag)).finish();
    }
    HttpResponse::build(status).insert_header((header::ETAG, tag)).json(body)
}

/// What a write expects, from `If-Match` (428 without it). A tag that is not one of ours
/// can never match: it yields a version no record has, so the write gets 412.
pub fn if_match(req: &HttpRequest) -> ApiResult<Expected> {
    let raw = req
        .headers()
        .get(header::IF_MATCH)
        .ok_or_else(|| {
            ApiError::PreconditionRequired(
                "send If-Match with the ETag you last read, e.g. If-Match: \"3.6f1c2e4a-…\"".into(),
            )
        })?
        .to_str()
        .map_err(|_| ApiError::BadRequest("If-Match is not text".into()))?
        .trim();
    if raw == "*" {
        return Err(ApiError::PreconditionRequired("If-Match: * is not accepted; send the ETag you last read".into()));
    }
    // Strong comparison: a weak tag never matches for If-Match.
    let never = Expected { version: 0, id: Some(String::new()) };
    Ok(raw
        .split(',')
        .map(str::trim)
        .filter(|t| !t.starts_with("W/"))
        .find_map(|t| {
            let (version, id) = t.strip_prefix('"')?.strip_suffix('"')?.split_once('.')?;
            Some(Expected { version: version.parse().ok()?, id: Some(id.to_string()) })
        })
        .unwrap_or(never))
}
