//! `GET /metrics`, optionally behind a bearer token of its own (`METRICS_TOKEN`): the
//! figures say how busy the service is and which routes fail, which is not everyone's
//! business. Alternatively (or as well) they are served on a listener of their own
//! (`METRICS_BIND_ADDR`, see `main.rs`) that only the scraper can reach.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Metrics;
use crate::auth::Rejection;
use crate::error::ApiError;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Who may read the metrics.
#[derive(Clone, Default)]
pub struct MetricsAccess {
    /// SHA-256 of the token a scraper must send; `None`: anyone who reaches the listener.
    token_digest: Option<[u8; 32]>,
}

impl MetricsAccess {
    pub fn new(token: Option<&str>) -> MetricsAccess {
        MetricsAccess { token_digest: token.filter(|t| !t.is_empty()).map(|t| Sha256::digest(t.as_bytes()).into()) }
    }

    /// Whether the request carries the token (when one is required). The digests are
    /// compared in constant time, and hashing first hides the token's length too.
    fn admits(&self, req: &HttpRequest) -> Result<(), Rejection> {
        let Some(expected) = &self.token_digest else { return Ok(()) };
        let sent = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(Rejection::MalformedAuthorization)?;
        let digest: [u8; 32] = Sha256::digest(sent.as_bytes()).into();
        match bool::from(digest.ct_eq(expected)) {
            true => Ok(()),
            false => Err(Rejection::InvalidToken),
        }
    }
}

pub async fn metrics(req: HttpRequest, metrics: web::Data<Metrics>) -> HttpResponse {
    let access = req.app_data::<web::Data<MetricsAccess>>().map(|a| a.get_ref().clone()).unwrap_or_default();
    if let Err(rejection) = access.admits(&req) {
        return ApiError::Unauthorized(rejection).error_response();
    }
    match metrics.encode() {
        Ok(body) => HttpResponse::Ok().content_type(OPENMETRICS).body(body),
        Err(e) => ApiError::Internal(format!("metrics could not be encoded: {e}")).error_response(),
    }
}
