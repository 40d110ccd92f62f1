//! Liveness and readiness probes.

use actix_web::{web, HttpResponse};
use pcr_schema::Db;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::openapi::{BadRequest, Unavailable};
use crate::rest::blocking;
use crate::rest::params::{NoParams, Params};

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
    /// `sqlite` or `postgresql` (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

/// Check the process is up
///
/// Liveness: answers as long as the process serves HTTP, whatever the database's state.
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "getHealth",
    responses((status = 200, description = "The process is up", body = Health), BadRequest))]
pub async fn healthz(_: Params<NoParams>) -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok".into(), database: None })
}

/// Check the database can be reached
///
/// Readiness: answers 200 once the database answers a query, 503 while it does not.
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "getReadiness",
    responses((status = 200, description = "The database answers", body = Health), BadRequest, Unavailable))]
pub async fn readyz(db: web::Data<Db>, _: Params<NoParams>) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let backend = db.backend().name().to_string();
    blocking(move || db.ping()).await?;
    Ok(HttpResponse::Ok().json(Health { status: "ok".into(), database: Some(backend) }))
}
