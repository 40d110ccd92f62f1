//! `/api/v1/practices`: GP practices, addressable by id or ODS code, and their relations.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use pcr_schema::domain::crud;
use pcr_schema::domain::placements::{self as placement_queries, PlacementQuery};
use pcr_schema::domain::practices::{self as queries, PracticeQuery};
use pcr_schema::models::federation::Federation;
use pcr_schema::models::ict::IntegratedCareTeam;
use pcr_schema::models::placement::{HostType, Placement};
use pcr_schema::models::practice::{Practice, PracticeRow};
use pcr_schema::Db;
use serde::Deserialize;
use utoipa::IntoParams;

use super::blocking;
use super::list::{items, page, ItemsResponse, ListResponse};
use crate::auth::Caller;
use crate::error::{ApiResult, Problem};

pub mod item {
    use pcr_schema::models::practice::{Practice, PracticeInput, PracticeRow};
    crate::entity_handlers!(
        entity = PracticeRow,
        view = Practice,
        input = PracticeInput,
        tag = "practices",
        collection = "/api/v1/practices",
        item = "/api/v1/practices/{key}",
        key = "Practice id or ODS code, e.g. M83001",
        write_scope = "reference:write",
        delete = delete
    );
}

/// The day a relation is read for.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OnDay {
    /// Memberships in force on this date (default: today).
    pub active_on: Option<NaiveDate>,
}

/// Lists practices, filtered and paged.
#[utoipa::path(get, path = "/api/v1/practices", tag = "practices", params(PracticeQuery),
    responses(
        (status = 200, body = ListResponse<Practice>, headers(("Link" = String, description = "rel=\"next\" when there is more"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(req: HttpRequest, db: web::Data<Db>, query: web::Query<PracticeQuery>) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let p = blocking(move || queries::list(&db, &query, None)).await?;
    Ok(page(&req, p))
}

/// The federations a practice belongs to on a day.
#[utoipa::path(get, path = "/api/v1/practices/{key}/federations", tag = "practices",
    params(("key" = String, Path, description = "Practice id or ODS code"), OnDay),
    responses(
        (status = 200, body = ItemsResponse<Federation>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn federations(db: web::Data<Db>, key: web::Path<String>, on: web::Query<OnDay>) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let day = on.active_on.unwrap_or_else(pcr_schema::today);
    let list = blocking(move || {
        let p = crud::get::<PracticeRow>(&db, None, &key)?;
        queries::federations_of(&db, &p.ods_code, day)
    })
    .await?;
    Ok(items(list))
}

/// The Integrated Care Teams a practice belongs to on a day.
#[utoipa::path(get, path = "/api/v1/practices/{key}/icts", tag = "practices",
    params(("key" = String, Path, description = "Practice id or ODS code"), OnDay),
    responses(
        (status = 200, body = ItemsResponse<IntegratedCareTeam>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn icts(db: web::Data<Db>, key: web::Path<String>, on: web::Query<OnDay>) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let day = on.active_on.unwrap_or_else(pcr_schema::today);
    let list = blocking(move || {
        let p = crud::get::<PracticeRow>(&db, None, &key)?;
        queries::icts_of(&db, &p.ods_code, day)
    })
    .await?;
    Ok(items(list))
}

/// Placements hosted by a practice. Needs the `placements:read` scope.
#[utoipa::path(get, path = "/api/v1/practices/{key}/placements", tag = "practices",
    params(("key" = String, Path, description = "Practice id or ODS code"), PlacementQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ListResponse<Placement>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn placements(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    key: web::Path<String>,
    query: web::Query<PlacementQuery>,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let mut q = query.into_inner();
    let p = blocking(move || {
        let practice = crud::get::<PracticeRow>(&db, None, &key)?;
        q.host = Some(practice.ods_code);
        q.host_type = Some(HostType::Practice);
        placement_queries::list(&db, caller.actor(), &q)
    })
    .await?;
    Ok(page(&req, p))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/practices").route(web::get().to(list)).route(web::post().to(item::create)))
        .service(
            web::resource("/practices/{key}")
                .route(web::get().to(item::get))
                .route(web::put().to(item::put))
                .route(web::patch().to(item::patch))
                .route(web::delete().to(item::delete)),
        )
        .service(web::resource("/practices/{key}/federations").route(web::get().to(federations)))
        .service(web::resource("/practices/{key}/icts").route(web::get().to(icts)))
        .service(web::resource("/practices/{key}/placements").route(web::get().to(placements)));
}
