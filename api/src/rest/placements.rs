//! `/api/v1/placements`: placements of staff into roles. Reading needs `placements:read`,
//! writing `placements:write`. A placement is ended, never deleted.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use pcr_schema::domain::crud::Then;
use pcr_schema::domain::idempotency;
use pcr_schema::domain::placements::{self as queries, PlacementParent, PlacementQuery};
use pcr_schema::models::placement::Placement;
use pcr_schema::models::placement::PlacementRow;
use pcr_schema::{Db, DomainResult};
use serde::Deserialize;
use utoipa::ToSchema;

use super::list::list as list_of;
use super::list::schemas::PlacementList;
use super::params::{parse, NoParams};
use super::{blocking, body, conditional};
use crate::auth::{caller_of, Caller};
use crate::error::{ApiError, ApiResult};
use crate::http::resource::Resource;
use crate::openapi::{
    BadRequest, Conflict, Forbidden, ListOk, NotAcceptable, NotFound, PreconditionFailed, PreconditionRequired,
    Unauthorized, Unprocessable, UnsupportedMediaType,
};

pub mod item {
    use pcr_schema::models::placement::{Placement, PlacementInput, PlacementRow};
    crate::entity_handlers! {
        entity = PlacementRow, view = Placement, input = PlacementInput, name = "Placement",
        noun = "a placement", tag = "placements", collection = "/api/v1/placements",
        item = "/api/v1/placements/{key}", key = "Placement id", write_scope = "placements:write",
        example = crate::rest::examples::placement, patch_example = crate::rest::examples::placement_patch,
        read_scope = "placements:read"
    }
}

/// List placements
///
/// Placements filtered by role, programme, host, status, the day they run and the partner's
/// staff reference, in pages; every one of them as CSV or NDJSON by `Accept`. Needs
/// `placements:read`.
#[utoipa::path(get, path = "/api/v1/placements", tag = "placements", operation_id = "listPlacements",
    params(PlacementQuery),
    security(("bearer" = ["placements:read"])),
    responses(ListOk<PlacementList>, BadRequest, Unauthorized, Forbidden, NotAcceptable, Unprocessable))]
pub async fn list(req: HttpRequest, caller: Caller, db: web::Data<Db>) -> ApiResult<HttpResponse> {
    queries::check_reader(caller.actor())?;
    let query: PlacementQuery = parse(req.query_string())?;
    let db = db.get_ref().clone();
    list_of(&req, query, move |q| queries::list(&db, caller.actor(), q)).await
}

/// A request for the placements under one parent (`…/{key}/placements`: a host's, a
/// role's, a programme's), with the caller, the database and the parent's key read from it.
pub struct PlacementsOf {
    req: HttpRequest,
    caller: Caller,
    db: Db,
    key: String,
}

impl FromRequest for PlacementsOf {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let of = || -> ApiResult<Self> {
            let caller = caller_of(req)?;
            let db = req.app_data::<web::Data<Db>>().ok_or_else(|| ApiError::Internal("no database".into()))?;
            let key = req.match_info().get("key").unwrap_or_default().to_string();
            Ok(PlacementsOf { req: req.clone(), caller, db: db.get_ref().clone(), key })
        };
        ready(of())
    }
}

impl PlacementsOf {
    /// One body for every nested list of placements: the caller first, since without the
    /// scope whether the parent exists is no answer; then the filters; then the parent's
    /// code, as `code_of` finds it by the key.
    pub async fn list<F>(self, parent: PlacementParent, code_of: F) -> ApiResult<HttpResponse>
    where
        F: FnOnce(&Db, &str) -> DomainResult<String> + Send + 'static,
    {
        let PlacementsOf { req, caller, db, key } = self;
        queries::check_reader(caller.actor())?;
        let mut query: PlacementQuery = parse(req.query_string())?;
        let code = {
            let db = db.clone();
            blocking(move || code_of(&db, &key)).await?
        };
        parent.narrow(&mut query, code);
        list_of(&req, query, move |q| queries::list(&db, caller.actor(), q)).await
    }
}

/// When a placement ends.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndPlacement {
    /// Last day of the placement (default: today).
    #[schema(example = "2027-08-31")]
    pub end_date: Option<NaiveDate>,
}

/// End a placement
///
/// Sets the last day of a placement (default today); placements are ended, never deleted.
/// Needs `If-Match` with the `ETag` last read and `placements:write`.
#[utoipa::path(post, path = "/api/v1/placements/{key}/end", tag = "placements", operation_id = "endPlacement",
    request_body(content = EndPlacement, description = "Optional; an empty body ends it today",
        example = crate::rest::examples::end_placement),
    security(("bearer" = ["placements:write"])),
    params(("key" = String, Path, description = "Placement id"), crate::openapi::IfMatch, crate::openapi::IdempotencyKey),
    responses(
        (status = 200, description = "Ended", body = Placement, headers(("ETag" = String, description = "The new version and id"))),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PreconditionFailed, UnsupportedMediaType, Unprocessable,
        PreconditionRequired,
    ))]
pub async fn end(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    key: web::Path<String>,
    bytes: web::Bytes,
) -> ApiResult<HttpResponse> {
    pcr_schema::domain::crud::writer::<pcr_schema::models::placement::PlacementRow>(caller.actor())?;
    parse::<NoParams>(req.query_string())?;
    let expected = conditional::if_match(&req)?;
    let input: EndPlacement = if bytes.is_empty() { EndPlacement::default() } else { body::json(&req, &bytes)? };
    let db = db.get_ref().clone();
    let actor = caller.clone();
    super::idempotency::once(&req, &caller, &bytes, move |claim| async move {
        blocking(move || {
            let then: Then<'_, PlacementRow, _> = Box::new(move |c, rec| {
                let answer = conditional::written(rec.version, &rec.id, &rec.view());
                claim.map(|claim| idempotency::complete(c, &claim, &answer)).transpose()?;
                Ok(answer)
            });
            Ok(queries::end_then(&db, actor.actor(), &key, expected, input.end_date, then)?.1)
        })
        .await
    })
    .await
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Resource::new("/placements").get(list).post(item::create).done())
        .service(Resource::new("/placements/batch").post(super::batch::submit).done())
        .service(Resource::new("/placements/{key}").get(item::get).put(item::put).patch(item::patch).done())
        .service(Resource::new("/placements/{key}/end").post(end).done());
}
