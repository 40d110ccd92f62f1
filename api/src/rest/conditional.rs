//! ETags from record versions; `If-None-Match` on reads, `If-Match` on writes.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};

pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// 200 with an ETag, or 304 when the client's `If-None-Match` already has this version.
pub fn one<T: Serialize>(req: &HttpRequest, version: i32, body: &T) -> HttpResponse {
    with_etag(req, StatusCode::OK, version, body, true)
}

/// 201 with an ETag and `Location`.
pub fn created<T: Serialize>(req: &HttpRequest, version: i32, location: &str, body: &T) -> HttpResponse {
    let mut res = with_etag(req, StatusCode::CREATED, version, body, false);
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// 200 after a write, with the new ETag.
pub fn written<T: Serialize>(req: &HttpRequest, version: i32, body: &T) -> HttpResponse {
    with_etag(req, StatusCode::OK, version, body, false)
}

fn with_etag<T: Serialize>(
    req: &HttpRequest,
    status: StatusCode,
    version: i32,
    body: &T,
    conditional: bool,
) -> HttpResponse {
    let tag = etag(version);
    if conditional {
        if let Some(inm) = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
            // Weak comparison, as RFC 9110 prescribes for If-None-Match.
            let matches = inm.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == tag || t == "*");
            if matches {
                return HttpResponse::NotModified().insert_header((header::ETAG, tag)).finish();
            }
        }
    }
    HttpResponse::build(status).insert_header((header::ETAG, tag)).json(body)
}

/// The version a write expects, from `If-Match` (428 without it). A tag that is not one
/// of ours can never match: it yields a version no record has, so the write gets 412.
pub fn if_match(req: &HttpRequest) -> ApiResult<i32> {
    let raw = req
        .headers()
        .get(header::IF_MATCH)
        .ok_or_else(|| {
            ApiError::PreconditionRequired("send If-Match with the ETag you last read, e.g. If-Match: \"3\"".into())
        })?
        .to_str()
        .map_err(|_| ApiError::BadRequest("If-Match is not text".into()))?
        .trim();
    if raw == "*" {
        return Err(ApiError::PreconditionRequired("If-Match: * is not accepted; send the ETag you last read".into()));
    }
    // Strong comparison: a weak tag never matches for If-Match.
    Ok(raw
        .split(',')
        .map(str::trim)
        .filter(|t| !t.starts_with("W/"))
        .find_map(|t| t.strip_prefix('"').and_then(|t| t.strip_suffix('"')).and_then(|v| v.parse::<i32>().ok()))
        .unwrap_or(0))
}
