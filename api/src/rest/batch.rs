//! `POST /api/v1/placements/batch`: a file of placements, read as it arrives. The body is
//! handed chunk by chunk to the worker that validates and writes it, so a 100,000-row file
//! is never held whole; past `BATCH_MAX_BYTES` the upload is cut off and nothing is written.

use std::io::Read;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use pcr_schema::domain::batch::{self, BatchMode, BatchReport};
use pcr_schema::domain::crud;
use pcr_schema::models::placement::PlacementRow;
use pcr_schema::models::SOURCE_API;
use pcr_schema::Db;
use serde::Deserialize;
use tokio::sync::mpsc;
use utoipa::IntoParams;

use super::params::Params;
use crate::auth::Caller;
use crate::batch::{read_rows, BatchFormat};
use crate::error::{ApiError, ApiResult};
use crate::openapi::{BadRequest, Forbidden, PayloadTooLarge, Unauthorized, UnsupportedMediaType};

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
/// outcome with its line. Needs `placements:write`.
#[utoipa::path(post, path = "/api/v1/placements/batch", tag = "placements", operation_id = "submitPlacementBatch",
    params(BatchQuery),
    request_body(content(
        (Vec<pcr_schema::models::placement::PlacementInput> = "application/json"),
        (String = "application/x-ndjson"),
        (String = "text/csv", example = json!("staff_ref,role_code,host_type,host_code,hours_per_week,start_date\nMHC-CP-0001,clinical-pharmacist,practice,M83001,37.5,2026-09-01\n")),
    )),
    security(("bearer" = ["placements:write"])),
    responses(
        (status = 200, description = "Written: every row's outcome", body = BatchReport),
        (status = 422, description = "An atomic batch with bad rows: nothing written; every row's outcome", body = BatchReport),
        BadRequest, Unauthorized, Forbidden, PayloadTooLarge, UnsupportedMediaType,
    ))]
pub async fn submit(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    query: Params<BatchQuery>,
    mut body: web::Payload,
) -> ApiResult<HttpResponse> {
    // The caller first, then what the body is, then the body.
    crud::writer::<PlacementRow>(caller.actor())?;
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
    let (tx, chunks) = mpsc::channel(16);
    let db = db.get_ref().clone();
    let actor = caller.0.clone();
    let job = web::block(move || {
        let incoming = Incoming { chunks, current: Bytes::new() };
        batch::submit(&db, actor.as_ref(), mode, SOURCE_API, Box::new(move |sink| read_rows(format, incoming, sink)))
    });
    let mut received = 0usize;
    let mut cut_off = false;
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                break;
            }
        };
        received += chunk.len();
        if received > max {
            cut_off = true;
            let _ = tx.send(Err(std::io::Error::other("the batch is too large"))).await;
            break;
        }
        // The worker stopped reading (it failed): the rest of the body does not matter.
        if tx.send(Ok(chunk)).await.is_err() {
            break;
        }
    }
    drop(tx);
    let report = job.await?;
    if cut_off {
        return Err(too_large());
    }
    let report = report?;
    let status = if report.committed { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(HttpResponse::build(status).json(report))
}
