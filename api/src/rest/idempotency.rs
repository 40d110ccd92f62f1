//! `Idempotency-Key` on POST: the transport half of [`pcr_schema::domain::idempotency`].
//! A request with a key is fingerprinted (method, target, body), claimed for the caller's
//! subject, run once, and its answer kept beside its write; a retry with the same key and
//! request gets that answer again, with `Idempotent-Replayed: true`.

use std::future::Future;
use std::time::Duration;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use pcr_schema::domain::idempotency::{self, Claim, Claimed, StoredResponse};
use pcr_schema::{Db, DomainError};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::blocking;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, PROBLEM_JSON};

pub const HEADER: &str = "idempotency-key";

/// How long keys are kept (`IDEMPOTENCY_TTL`).
#[derive(Debug, Clone, Copy)]
pub struct IdempotencyConfig {
    pub ttl: Duration,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        IdempotencyConfig { ttl: Duration::from_secs(24 * 3600) }
    }
}

/// The request's key, if it sent one (two are a 400: which would count?).
pub fn key_of(req: &HttpRequest) -> ApiResult<Option<String>> {
    let mut values = req.headers().get_all(HEADER);
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(ApiError::BadRequest("send one Idempotency-Key, not several".into()));
    }
    let key = value.to_str().map_err(|_| ApiError::BadRequest("Idempotency-Key is not text".into()))?.trim();
    idempotency::check_key(key).map_err(|_| {
        ApiError::BadRequest(format!(
            "Idempotency-Key must be 1 to {} visible ASCII characters, e.g. a UUID",
            idempotency::MAX_KEY_LEN
        ))
    })?;
    Ok(Some(key.to_string()))
}

/// What makes two requests the same: method, path, query and body.
pub fn fingerprint(req: &HttpRequest, body: &[u8]) -> String {
    digest(&[req.method().as_str().as_bytes(), req.path().as_bytes(), req.query_string().as_bytes(), body])
}

/// The fingerprint of a request whose body is read as it arrives (a batch): its method,
/// target and media type, and a digest of the body taken chunk by chunk.
pub struct StreamedPrint {
    head: [String; 4],
    body: Sha256,
}

impl StreamedPrint {
    pub fn new(req: &HttpRequest) -> StreamedPrint {
        let media = req.headers().get(actix_web::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let head = [req.method().as_str(), req.path(), req.query_string(), media.unwrap_or("")].map(str::to_string);
        StreamedPrint { head, body: Sha256::new() }
    }
    pub fn update(&mut self, chunk: &[u8]) {
        self.body.update(chunk);
    }
    pub fn finish(self) -> String {
        let body: String = self.body.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let [method, path, query, media] = &self.head;
        digest(&[method.as_bytes(), path.as_bytes(), query.as_bytes(), media.as_bytes(), body.as_bytes()])
    }
}

/// SHA-256 over the parts, each length-prefixed so that no two lists of parts collide.
pub fn digest(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A JSON answer with its headers, as it will be kept.
pub fn json_response<T: Serialize>(status: StatusCode, headers: Vec<(String, String)>, body: &T) -> StoredResponse {
    let mut headers = headers;
    headers.push(("content-type".into(), "application/json".into()));
    StoredResponse { status: status.as_u16(), headers, body: serde_json::to_string(body).unwrap_or_default() }
}

pub fn into_response(r: &StoredResponse) -> HttpResponse {
    let mut res = HttpResponse::build(StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (name, value) in &r.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            res.insert_header((n, v));
        }
    }
    res.body(r.body.clone())
}

pub fn problem_of(e: &ApiError) -> StoredResponse {
    let p = e.problem();
    StoredResponse {
        status: p.status,
        headers: vec![("content-type".into(), PROBLEM_JSON.into())],
        body: serde_json::to_string(&p).unwrap_or_default(),
    }
}

/// Runs a POST at most once per key. `run` gets the claim, to complete inside its write's
/// transaction with the answer it returns. The caller's checks come first, in the handler;
/// a refusal after the claim (a 4xx) is kept as the answer too, a failure of ours (5xx)
/// gives the key back. From the claim on, the work is a task of its own: a request given
/// up on (its deadline passed, the client went away) still settles its key, so that the
/// client's retry is answered rather than held off until the claim lapses.
pub async fn once<F, Fut>(req: &HttpRequest, caller: &Caller, body: &[u8], run: F) -> ApiResult<HttpResponse>
where
    F: FnOnce(Option<Claim>) -> Fut + 'static,
    Fut: Future<Output = ApiResult<StoredResponse>> + 'static,
{
    let Some(key) = key_of(req)? else {
        return run(None).await.map(|r| into_response(&r));
    };
    let actor = caller.actor().ok_or(DomainError::Unauthenticated)?.clone();
    let db = req.app_data::<web::Data<Db>>().ok_or_else(|| ApiError::Internal("no database".into()))?.get_ref().clone();
    let ttl = req.app_data::<web::Data<IdempotencyConfig>>().map(|c| c.ttl).unwrap_or(IdempotencyConfig::default().ttl);
    let print = fingerprint(req, body);
    let settled = actix_web::rt::spawn(async move {
        let claimed = {
            let db = db.clone();
            blocking(move || idempotency::claim(&db, &actor, &key, &print, ttl)).await?
        };
        let claim = match claimed {
            Claimed::Replay(r) => return Ok((r, true)),
            Claimed::New(claim) => claim,
        };
        match run(Some(claim.clone())).await {
            Ok(r) => Ok((r, false)),
            Err(e) => {
                let kept = problem_of(&e);
                let settled = match kept.status {
                    400..=499 => blocking(move || idempotency::complete_alone(&db, &claim, None, &kept)).await,
                    _ => blocking(move || idempotency::release(&db, &claim)).await,
                };
                if let Err(s) = settled {
                    tracing::warn!(error = %s, "could not settle an idempotency key");
                }
                Err(e)
            }
        }
    });
    let (answer, replayed) = settled.await.map_err(|e| ApiError::Internal(format!("idempotent request: {e}")))??;
    let mut res = into_response(&answer);
    if replayed {
        res.headers_mut().insert(HeaderName::from_static("idempotent-replayed"), HeaderValue::from_static("true"));
    }
    Ok(res)
}
