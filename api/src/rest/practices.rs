//! `/api/v1/practices`: GP practices, addressable by id or ODS code, and their relations.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use pcr_schema::domain::crud;
use pcr_schema::domain::placements::{PlacementParent, PlacementQuery};
use pcr_schema::domain::practices::{self as queries, PracticeQuery};
use pcr_schema::models::practice::PracticeRow;
use pcr_schema::Db;
use serde::Deserialize;
use utoipa::IntoParams;

use super::blocking;
use super::list::schemas::{FederationItems, IntegratedCareTeamItems, PcnItems, PracticeList};
use super::list::{items, list as list_of};
use super::params::Params;
use super::placements::PlacementsOf;
use crate::error::ApiResult;
use crate::http::resource::Resource;
use crate::openapi::{BadRequest, ItemsOk, ListOk, NotAcceptable, NotFound, Unprocessable};

pub mod item {
    use pcr_schema::models::practice::{Practice, PracticeInput, PracticeRow};
    crate::entity_handlers! {
        entity = PracticeRow, view = Practice, input = PracticeInput, name = "Practice", noun = "a GP practice",
        tag = "practices", collection = "/api/v1/practices", item = "/api/v1/practices/{key}",
        key = "Practice id or ODS code, e.g. M83005", write_scope = "reference:write",
        example = crate::rest::examples::practice, patch_example = crate::rest::examples::practice_patch,
        delete = delete
    }
}

/// The day a relation is read for.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OnDay {
    /// Memberships in force on this date (default: today).
    pub active_on: Option<NaiveDate>,
}

/// List GP practices
///
/// Practices filtered by name or ODS code, status, commissioner, postcode and the day they
/// were open, in pages; every one of them as CSV or NDJSON by `Accept`.
#[utoipa::path(get, path = "/api/v1/practices", tag = "practices", operation_id = "listPractices",
    params(PracticeQuery),
    responses(ListOk<PracticeList>, BadRequest, NotAcceptable, Unprocessable))]
pub async fn list(req: HttpRequest, db: web::Data<Db>, query: Params<PracticeQuery>) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    list_of(&req, query.into_inner(), move |q| queries::list(&db, q, None)).await
}

/// The groups of one kind a practice belongs to on a day, read by `groups`.
async fn groups_of<T: serde::Serialize + utoipa::ToSchema + Send + 'static>(
    req: HttpRequest,
    db: web::Data<Db>,
    key: String,
    on: OnDay,
    groups: fn(&Db, &str, NaiveDate) -> pcr_schema::DomainResult<Vec<T>>,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let day = on.active_on.unwrap_or_else(pcr_schema::today);
    let list = blocking(move || {
        let p = crud::get::<PracticeRow>(&db, None, &key)?;
        groups(&db, &p.ods_code, day)
    })
    .await?;
    items(&req, list)
}

/// List a practice's Primary Care Networks
///
/// The PCNs the practice is a member of on a day (default today).
#[utoipa::path(get, path = "/api/v1/practices/{key}/pcns", tag = "practices", operation_id = "listPracticePcns",
    params(("key" = String, Path, description = "Practice id or ODS code"), OnDay),
    responses(ItemsOk<PcnItems>, BadRequest, NotFound, NotAcceptable, Unprocessable))]
pub async fn pcns(
    req: HttpRequest,
    db: web::Data<Db>,
    key: web::Path<String>,
    on: Params<OnDay>,
) -> ApiResult<HttpResponse> {
    groups_of(req, db, key.into_inner(), on.into_inner(), queries::pcns_of).await
}

/// List a practice's federations
///
/// The GP federations the practice is a member of on a day (default today).
#[utoipa::path(get, path = "/api/v1/practices/{key}/federations", tag = "practices",
    operation_id = "listPracticeFederations",
    params(("key" = String, Path, description = "Practice id or ODS code"), OnDay),
    responses(ItemsOk<FederationItems>, BadRequest, NotFound, NotAcceptable, Unprocessable))]
pub async fn federations(
    req: HttpRequest,
    db: web::Data<Db>,
    key: web::Path<String>,
    on: Params<OnDay>,
) -> ApiResult<HttpResponse> {
    groups_of(req, db, key.into_inner(), on.into_inner(), queries::federations_of).await
}

/// List a practice's Integrated Care Teams
///
/// The Integrated Care Teams the practice is a member of on a day (default today).
#[utoipa::path(get, path = "/api/v1/practices/{key}/icts", tag = "practices", operation_id = "listPracticeIcts",
    params(("key" = String, Path, description = "Practice id or ODS code"), OnDay),
    responses(ItemsOk<IntegratedCareTeamItems>, BadRequest, NotFound, NotAcceptable, Unprocessable))]
pub async fn icts(
    req: HttpRequest,
    db: web::Data<Db>,
    key: web::Path<String>,
    on: Params<OnDay>,
) -> ApiResult<HttpResponse> {
    groups_of(req, db, key.into_inner(), on.into_inner(), queries::icts_of).await
}

/// List a practice's placements
///
/// Placements hosted by the practice, with the placement filters. Needs `placements:read`.
#[utoipa::path(get, path = "/api/v1/practices/{key}/placements", tag = "practices",
    operation_id = "listPracticePlacements",
    params(("key" = String, Path, description = "Practice id or ODS code"), PlacementQuery),
    security(("bearer" = ["placements:read"])),
    responses(crate::openapi::PlacementsOfAnswers))]
pub async fn placements(of: PlacementsOf) -> ApiResult<HttpResponse> {
    of.list(PlacementParent::Host, |db, key| Ok(crud::get::<PracticeRow>(db, None, key)?.ods_code)).await
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Resource::new("/practices").get(list).post(item::create).done())
        .service(
            Resource::new("/practices/{key}")
                .get(item::get)
                .put(item::put)
                .patch(item::patch)
                .delete(item::delete)
                .done(),
        )
        .service(Resource::new("/practices/{key}/pcns").get(pcns).done())
        .service(Resource::new("/practices/{key}/federations").get(federations).done())
        .service(Resource::new("/practices/{key}/icts").get(icts).done())
        .service(Resource::new("/practices/{key}/placements").get(placements).done());
}
