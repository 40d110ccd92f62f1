//! Liveness and readiness probes.

use actix_web::{web, HttpResponse};
use pcr_schema::Db;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiResult, Problem};
use crate::rest::blocking;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
    /// `sqlite` or `postgresql` (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok".into(), database: None })
}

/// The process can reach its database.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Problem, content_type = "application/problem+json")))]
pub async fn readyz(db: web::Data<Db>) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let backend = db.backend().name().to_string();
    blocking(move || db.ping()).await?;
    Ok(HttpResponse::Ok().json(Health { status: "ok".into(), database: Some(backend) }))
}
