//! `/api/v1/placements`: placements of staff into roles. Reading needs `placements:read`,
//! writing `placements:write`. A placement is ended, never deleted.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use pcr_schema::domain::placements::{self as queries, PlacementQuery};
use pcr_schema::models::placement::Placement;
use pcr_schema::Db;
use serde::Deserialize;
use utoipa::ToSchema;

use super::list::{page, ListResponse};
use super::{blocking, body, conditional};
use crate::auth::Caller;
use crate::error::{ApiResult, Problem};

pub mod item {
    use pcr_schema::models::placement::{Placement, PlacementInput, PlacementRow};
    crate::entity_handlers!(
        entity = PlacementRow,
        view = Placement,
        input = PlacementInput,
        tag = "placements",
        collection = "/api/v1/placements",
        item = "/api/v1/placements/{key}",
        key = "Placement id",
        write_scope = "placements:write"
    );
}

/// Lists placements. Needs `placements:read`.
#[utoipa::path(get, path = "/api/v1/placements", tag = "placements", params(PlacementQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ListResponse<Placement>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    query: web::Query<PlacementQuery>,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    Ok(page(&req, blocking(move || queries::list(&db, caller.actor(), &query)).await?))
}

/// When a placement ends.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndPlacement {
    /// Last day of the placement (default: today).
    pub end_date: Option<NaiveDate>,
}

/// Ends a placement. Needs `If-Match` and `placements:write`.
#[utoipa::path(post, path = "/api/v1/placements/{key}/end", tag = "placements",
    request_body(content = EndPlacement, description = "Optional; an empty body ends it today"),
    security(("bearer" = [])),
    params(("key" = String, Path, description = "Placement id"),
           ("If-Match" = String, Header, description = "The ETag last read, e.g. \"3\"")),
    responses(
        (status = 200, body = Placement, headers(("ETag" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn end(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    key: web::Path<String>,
    bytes: web::Bytes,
) -> ApiResult<HttpResponse> {
    let version = conditional::if_match(&req)?;
    let input: EndPlacement = if bytes.is_empty() { EndPlacement::default() } else { body::json(&req, &bytes)? };
    let db = db.get_ref().clone();
    let rec = blocking(move || queries::end(&db, caller.actor(), &key, version, input.end_date)).await?;
    Ok(conditional::written(&req, rec.version, &rec.view()))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/placements").route(web::get().to(list)).route(web::post().to(item::create)))
        .service(
            web::resource("/placements/{key}")
                .route(web::get().to(item::get))
                .route(web::put().to(item::put))
                .route(web::patch().to(item::patch)),
        )
        .service(web::resource("/placements/{key}/end").route(web::post().to(end)));
}
