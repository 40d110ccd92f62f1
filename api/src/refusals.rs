//! Request ids, and the audit of refused writes. Every request gets an id (the client's
//! `X-Request-Id` when it is a sensible one, else a new UUID), echoed in the response and
//! written on the audit rows it causes. A write refused for a caller whose token's
//! signature verified (401 for an expired token, say; 403; 404 from organisation scope) is
//! recorded with who tried, what, and why. An anonymous or forged request is not: it names
//! nobody worth recording, and recording it would let anyone fill the trail.

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use pcr_schema::audit::{self, Action, Denial, Outcome};
use pcr_schema::domain::changes::Kind;
use pcr_schema::Db;

use futures_util::{stream, StreamExt};

use crate::rest::body::MAX_BODY_BYTES;

const REQUEST_ID: &str = "x-request-id";

/// The id of the request being served.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Who made a request: the subject and organisation of a token whose signature verified,
/// whether or not it was accepted (`verified`: it was, and the request ran as this caller).
#[derive(Debug, Clone)]
pub struct Signed {
    pub subject: String,
    pub org: Option<String>,
    pub verified: bool,
}

/// Set on an error response that refuses a signed caller, to be audited.
#[derive(Debug, Clone, Copy)]
pub struct Refusal(pub Outcome);

fn sensible(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// What a write's path and method are about: the kind of record, its key, and the action.
fn target(method: &Method, path: &str) -> Option<(String, String, Action)> {
    let mut parts = path.strip_prefix("/api/v1/")?.split('/');
    let kind = Kind::by_collection(parts.next()?)?;
    let key = parts.next().unwrap_or("").to_string();
    let action = match (method, parts.next()) {
        (&Method::POST, Some("end")) => Action::End,
        (&Method::POST, _) => Action::Create,
        (&Method::PUT | &Method::PATCH, _) => Action::Update,
        (&Method::DELETE, _) => Action::Delete,
        _ => return None,
    };
    // `/placements/batch` creates; it names no record.
    let key = if key == "batch" { String::new() } else { key };
    Some((kind.audit_type().to_string(), key, action))
}

/// Reads a write's body, up to the REST body limit, so that a refusal can record what it
/// tried to write, and gives it back to the handler. A larger body (a batch, or one the
/// handler will refuse as too large) is passed on as it comes and not kept.
async fn keep_body(req: &mut ServiceRequest) -> Option<web::Bytes> {
    let mut payload = req.take_payload();
    let mut chunks: Vec<Result<web::Bytes, PayloadError>> = Vec::new();
    let mut size = 0;
    let mut whole = true;
    while let Some(chunk) = payload.next().await {
        match &chunk {
            Ok(bytes) => size += bytes.len(),
            Err(_) => whole = false,
        }
        chunks.push(chunk);
        if !whole || size > MAX_BODY_BYTES {
            whole = false;
            break;
        }
    }
    if !whole {
        let rest: std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<web::Bytes, PayloadError>>>> =
            Box::pin(stream::iter(chunks).chain(payload));
        req.set_payload(Payload::from(rest));
        return None;
    }
    let body: web::Bytes = chunks.into_iter().filter_map(Result::ok).flatten().collect::<Vec<u8>>().into();
    req.set_payload(Payload::from(body.clone()));
    Some(body)
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sensible(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let (method, path) = (req.method().clone(), req.path().to_string());
    let db = req.app_data::<web::Data<Db>>().map(|d| d.get_ref().clone());
    let written = target(&method, &path);
    // Only a caller with credentials can be audited, so only its body is read ahead of the
    // handler: an anonymous request is refused (401) without its body being read. A batch's
    // rows are reported row by row, not kept here.
    let credentials = req.headers().contains_key(actix_web::http::header::AUTHORIZATION);
    let body = match credentials && written.is_some() && method != Method::DELETE && !path.ends_with("/batch") {
        true => keep_body(&mut req).await,
        false => None,
    };
    let mut res = next.call(req).await?;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static(REQUEST_ID), v);
    }
    let refusal = res.response().extensions().get::<Refusal>().copied();
    let signed = res.request().extensions().get::<Signed>().cloned();
    if let (Some(Refusal(outcome)), Some(signed), Some(db), Some((entity_type, key, action))) =
        (refusal, signed, db, written)
    {
        let attempted = body.and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        let actor =
            pcr_schema::Actor { subject: signed.subject, org: signed.org, scopes: Vec::new(), request_id: Some(id) };
        let denial = Denial { actor, action, entity_type, key, outcome, attempted };
        // The refusal stands whether or not it could be recorded; a failure is logged.
        if let Err(e) = web::block(move || audit::record_denial(&db, &denial))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
        {
            tracing::error!(error = %e, "a refused write could not be audited");
        }
    }
    Ok(res)
}
