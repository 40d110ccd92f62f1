//! `POST /api/v1/placements/batch`: a file of placements, read as it arrives. The body is
//! handed chunk by chunk to the worker that validates and writes it, so a 100,000-row file
//! is never held whole; past `BATCH_MAX_BYTES` the upload is cut off and nothing is written.

use std::io::Read;
use std::sync::{Arc, OnceLock};

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use pcr_schema::db::DbConnection;
use pcr_schema::domain::batch::{self, BatchMode, BatchReport, Then};
use pcr_schema::domain::crud;
use pcr_schema::domain::idempotency::{self as domain_keys, ClaimedUnread, StoredResponse};
use pcr_schema::models::placement::PlacementRow;
use pcr_schema::models::SOURCE_API;
use pcr_schema::{Db, DomainError};
use serde::Deserialize;
use tokio::sync::mpsc;
use utoipa::IntoParams;

use super::blocking;
use super::idempotency::{self, IdempotencyConfig, StreamedPrint};
use super::params::Params;
use crate::auth::Caller;
use crate::batch::{read_rows, BatchFormat};
use crate::error::{ApiError, ApiResult};
use crate::openapi::{BadRequest, Conflict, Forbidden, PayloadTooLarge, Unauthorized, UnsupportedMediaType};

/// How large a batch may be (`BATCH_MAX_BYTES`).
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    pub max_bytes: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig { max_bytes: 64 * 1024 * 1024 }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BatchQuery {
    /// `atomic` (default): any bad row and nothing is written. `partial`: the good rows are
    /// written and the bad ones reported.
    pub mode: Option<BatchMode>,
}

/// The body as a blocking reader, fed by the request's stream.
struct Incoming {
    chunks: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl Read for Incoming {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Submit a batch of placements
///
/// A JSON array (`application/json`), NDJSON (`application/x-ndjson`) or CSV (`text/csv`,
/// with a header row of `staff_ref, role_code, programme_code, host_type, host_code,
/// host_name, hours_per_week, start_date, end_date, funding, notes`; only `staff_ref`,
/// `role_code`, `host_type`, `hours_per_week` and `start_date` are required). Every row is
/// validated and scoped like a single write; rows are upserted on staff reference, role, host
/// and start date, so sending a file again changes nothing; a staff reference's concurrent
/// placements may not add up to more than 80 hours a week. The answer reports every row's
/// outcome with its line. Send an `Idempotency-Key` to have a retry answered with the first
/// report instead of being run again. Needs `placements:write`.
#[utoipa::path(post, path = "/api/v1/placements/batch", tag = "placements", operation_id = "submitPlacementBatch",
    params(BatchQuery, crate::openapi::IdempotencyKey),
    request_body(content(
        (Vec<pcr_schema::models::placement::PlacementInput> = "application/json"),
        (String = "application/x-ndjson"),
        (String = "text/csv", example = json!("staff_ref,role_code,host_type,host_code,hours_per_week,start_date\nMHC-CP-0001,clinical-pharmacist,practice,M83001,37.5,2026-09-01\n")),
    )),
    security(("bearer" = ["placements:write"])),
    responses(
        (status = 200, description = "Written: every row's outcome", body = BatchReport),
        (status = 422, description = "An atomic batch with bad rows: nothing written; every row's outcome (JSON). Or an `Idempotency-Key` sent before with another batch (a problem).",
            content((BatchReport = "application/json"), (crate::error::Problem = "application/problem+json"))),
        BadRequest, Unauthorized, Forbidden, Conflict, PayloadTooLarge, UnsupportedMediaType,
    ))]
pub async fn submit(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    query: Params<BatchQuery>,
    mut body: web::Payload,
) -> ApiResult<HttpResponse> {
    // The caller first, then what the body is, then the body.
    let actor = crud::writer::<PlacementRow>(caller.actor())?.clone();
    let mode = query.into_inner().mode.unwrap_or(BatchMode::Atomic);
    let media = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let format = BatchFormat::of_media_type(media).ok_or_else(|| {
        ApiError::UnsupportedMediaType("send the batch as application/json, application/x-ndjson or text/csv".into())
    })?;
    let max = req.app_data::<web::Data<BatchConfig>>().map(|c| c.max_bytes).unwrap_or(BatchConfig::default().max_bytes);
    let too_large = || ApiError::PayloadTooLarge(format!("a batch may be at most {max} bytes; split the file"));
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let db = db.get_ref().clone();
    let ttl = req.app_data::<web::Data<IdempotencyConfig>>().map(|c| c.ttl).unwrap_or(IdempotencyConfig::default().ttl);
    // With an `Idempotency-Key`, the key is claimed before the body is read; whether a retry
    // is the same request only its body can tell, so that is read (not kept) and compared.
    let claim = match idempotency::key_of(&req)? {
        None => None,
        Some(key) => {
            let (d, a) = (db.clone(), actor.clone());
            match blocking(move || domain_keys::claim_unread(&d, &a, &key, ttl)).await? {
                ClaimedUnread::New(claim) => Some(claim),
                ClaimedUnread::Answered { fingerprint, response } => {
                    let mut print = StreamedPrint::new(&req);
                    let mut received = 0usize;
                    while let Some(chunk) = body.next().await {
                        let chunk =
                            chunk.map_err(|e| ApiError::BadRequest(format!("the body could not be read: {e}")))?;
                        received += chunk.len();
                        if received > max {
                            return Err(too_large());
                        }
                        print.update(&chunk);
                    }
                    domain_keys::same_request(&actor, &fingerprint, &print.finish())?;
                    let mut res = idempotency::into_response(&response);
                    res.headers_mut()
                        .insert(HeaderName::from_static("idempotent-replayed"), HeaderValue::from_static("true"));
                    return Ok(res);
                }
            }
        }
    };
    // The body's fingerprint, known once all of it has been handed on: before the worker
    // reads its end, so before the batch commits.
    let print: Arc<OnceLock<String>> = Arc::default();
    let then: Option<Then<'static>> = claim.clone().map(|claim| {
        let (print, actor) = (print.clone(), actor.clone());
        Box::new(move |c: &mut DbConnection, report: &BatchReport| {
            let print = print.get().ok_or_else(|| DomainError::Conflict("the batch was not read to its end".into()))?;
            domain_keys::complete_as(c, &claim, Some((&actor, print)), &answer(report))
        }) as Then<'static>
    });
    let (tx, chunks) = mpsc::channel(16);
    let job = {
        let (db, actor) = (db.clone(), actor.clone());
        web::block(move || {
            let incoming = Incoming { chunks, current: Bytes::new() };
            let read = Box::new(move |sink: &mut dyn FnMut(batch::Row) -> pcr_schema::DomainResult<()>| {
                read_rows(format, incoming, sink)
            });
            batch::submit(&db, Some(&actor), mode, SOURCE_API, read, then)
        })
    };
    let mut streamed = StreamedPrint::new(&req);
    let mut received = 0usize;
    let mut cut_off = false;
    let mut whole = true;
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                whole = false;
                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                break;
            }
        };
        received += chunk.len();
        if received > max {
            (cut_off, whole) = (true, false);
            let _ = tx.send(Err(std::io::Error::other("the batch is too large"))).await;
            break;
        }
        streamed.update(&chunk);
        // The worker stopped reading (it failed): the rest of the body does not matter.
        if tx.send(Ok(chunk)).await.is_err() {
            whole = false;
            break;
        }
    }
    if whole {
        let _ = print.set(streamed.finish());
    }
    drop(tx);
    let outcome = match (job.await?, cut_off) {
        (_, true) => Err(too_large()),
        (Ok(report), false) => Ok(report),
        (Err(e), false) => Err(ApiError::from(e)),
    };
    if let (Ok(report), Some(metrics)) = (&outcome, req.app_data::<web::Data<crate::metrics::Metrics>>()) {
        metrics.batch(report);
    }
    let Some(claim) = claim else {
        return outcome.map(|report| idempotency::into_response(&answer(&report)));
    };
    // The answer of a committed batch is kept in its transaction. Any other is kept now if
    // it is the caller's to fix and the whole body was read; else the key is given back.
    let kept = match &outcome {
        Ok(report) if report.committed => None,
        Ok(report) => Some(answer(report)),
        Err(e) if e.problem().status < 500 => Some(idempotency::problem_of(e)),
        Err(_) => None,
    };
    let settled = match (kept, print.get().cloned()) {
        (Some(kept), Some(p)) => {
            blocking(move || domain_keys::complete_alone(&db, &claim, Some((&actor, &p)), &kept)).await
        }
        (_, _) if matches!(&outcome, Ok(r) if r.committed) => Ok(()),
        _ => blocking(move || domain_keys::release(&db, &claim)).await,
    };
    if let Err(e) = settled {
        tracing::warn!(error = %e, "could not settle a batch's idempotency key");
    }
    outcome.map(|report| idempotency::into_response(&answer(&report)))
}

/// A batch's answer: 200 with the report when it committed, 422 when an atomic batch had bad
/// rows and wrote nothing.
fn answer(report: &BatchReport) -> StoredResponse {
    let status = if report.committed { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    idempotency::json_response(status, Vec::new(), report)
}
