//! `/api/v1/federations` and `/api/v1/icts`: groups of practices and their relations.

use actix_web::{web, HttpRequest, HttpResponse};
use pcr_schema::domain::crud;
use pcr_schema::domain::groups::{self as queries, GroupQuery};
use pcr_schema::domain::placements::{self as placement_queries, PlacementQuery};
use pcr_schema::domain::practices::{self as practice_queries, MemberOf, PracticeQuery};
use pcr_schema::models::federation::{Federation, FederationRow};
use pcr_schema::models::ict::{IctRow, IntegratedCareTeam};
use pcr_schema::models::membership::{FederationMembership, IctMembership, PartnerService};
use pcr_schema::models::placement::{HostType, Placement};
use pcr_schema::models::practice::Practice;
use pcr_schema::Db;

use super::blocking;
use super::list::{items, page, ItemsResponse, ListResponse};
use crate::auth::Caller;
use crate::error::{ApiResult, Problem};

pub mod federation {
    use pcr_schema::models::federation::{Federation, FederationInput, FederationRow};
    crate::entity_handlers!(
        entity = FederationRow,
        view = Federation,
        input = FederationInput,
        tag = "federations",
        collection = "/api/v1/federations",
        item = "/api/v1/federations/{key}",
        key = "Federation id or code, e.g. NSGPF",
        write_scope = "reference:write",
        delete = delete
    );
}

pub mod ict {
    use pcr_schema::models::ict::{IctRow, IntegratedCareTeam, IntegratedCareTeamInput};
    crate::entity_handlers!(
        entity = IctRow,
        view = IntegratedCareTeam,
        input = IntegratedCareTeamInput,
        tag = "icts",
        collection = "/api/v1/icts",
        item = "/api/v1/icts/{key}",
        key = "ICT id or code, e.g. ICT-MEIR",
        write_scope = "reference:write",
        delete = delete
    );
}

/// Lists federations.
#[utoipa::path(get, path = "/api/v1/federations", tag = "federations", params(GroupQuery),
    responses(
        (status = 200, body = ListResponse<Federation>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_federations(
    req: HttpRequest,
    db: web::Data<Db>,
    query: web::Query<GroupQuery>,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    Ok(page(&req, blocking(move || queries::list_federations(&db, &query)).await?))
}

/// Lists Integrated Care Teams.
#[utoipa::path(get, path = "/api/v1/icts", tag = "icts", params(GroupQuery),
    responses(
        (status = 200, body = ListResponse<IntegratedCareTeam>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_icts(req: HttpRequest, db: web::Data<Db>, query: web::Query<GroupQuery>) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    Ok(page(&req, blocking(move || queries::list_icts(&db, &query)).await?))
}

/// Which group a nested request is about.
enum Group {
    Federation,
    Ict,
}

/// Resolves the group's code (404 when it does not exist).
fn group_code(db: &Db, group: &Group, key: &str) -> pcr_schema::DomainResult<String> {
    Ok(match group {
        Group::Federation => crud::get::<FederationRow>(db, None, key)?.code,
        Group::Ict => crud::get::<IctRow>(db, None, key)?.code,
    })
}

async fn member_practices(
    req: HttpRequest,
    db: web::Data<Db>,
    group: Group,
    key: String,
    query: PracticeQuery,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let day = query.active_on.unwrap_or_else(pcr_schema::today);
    let p = blocking(move || {
        let code = group_code(&db, &group, &key)?;
        let member_of = match group {
            Group::Federation => MemberOf::Federation(code, day),
            Group::Ict => MemberOf::Ict(code, day),
        };
        practice_queries::list(&db, &query, Some(&member_of))
    })
    .await?;
    Ok(page(&req, p))
}

async fn hosted_placements(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    group: Group,
    key: String,
    mut query: PlacementQuery,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let p = blocking(move || {
        query.host = Some(group_code(&db, &group, &key)?);
        query.host_type = Some(match group {
            Group::Federation => HostType::Federation,
            Group::Ict => HostType::Ict,
        });
        placement_queries::list(&db, caller.actor(), &query)
    })
    .await?;
    Ok(page(&req, p))
}

/// The practices that are members of a federation on a day (default today).
#[utoipa::path(get, path = "/api/v1/federations/{key}/practices", tag = "federations",
    params(("key" = String, Path, description = "Federation id or code"), PracticeQuery),
    responses(
        (status = 200, body = ListResponse<Practice>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn federation_practices(
    req: HttpRequest,
    db: web::Data<Db>,
    key: web::Path<String>,
    query: web::Query<PracticeQuery>,
) -> ApiResult<HttpResponse> {
    member_practices(req, db, Group::Federation, key.into_inner(), query.into_inner()).await
}

/// The practices that are members of an ICT on a day (default today).
#[utoipa::path(get, path = "/api/v1/icts/{key}/practices", tag = "icts",
    params(("key" = String, Path, description = "ICT id or code"), PracticeQuery),
    responses(
        (status = 200, body = ListResponse<Practice>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ict_practices(
    req: HttpRequest,
    db: web::Data<Db>,
    key: web::Path<String>,
    query: web::Query<PracticeQuery>,
) -> ApiResult<HttpResponse> {
    member_practices(req, db, Group::Ict, key.into_inner(), query.into_inner()).await
}

/// Placements hosted by the federation itself. Needs `placements:read`.
#[utoipa::path(get, path = "/api/v1/federations/{key}/placements", tag = "federations",
    params(("key" = String, Path, description = "Federation id or code"), PlacementQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ListResponse<Placement>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn federation_placements(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    key: web::Path<String>,
    query: web::Query<PlacementQuery>,
) -> ApiResult<HttpResponse> {
    hosted_placements(req, caller, db, Group::Federation, key.into_inner(), query.into_inner()).await
}

/// Placements hosted by the ICT itself. Needs `placements:read`.
#[utoipa::path(get, path = "/api/v1/icts/{key}/placements", tag = "icts",
    params(("key" = String, Path, description = "ICT id or code"), PlacementQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ListResponse<Placement>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ict_placements(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    key: web::Path<String>,
    query: web::Query<PlacementQuery>,
) -> ApiResult<HttpResponse> {
    hosted_placements(req, caller, db, Group::Ict, key.into_inner(), query.into_inner()).await
}

/// Every membership period of a federation, past and present.
#[utoipa::path(get, path = "/api/v1/federations/{key}/memberships", tag = "federations",
    params(("key" = String, Path, description = "Federation id or code")),
    responses(
        (status = 200, body = ItemsResponse<FederationMembership>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn federation_memberships(db: web::Data<Db>, key: web::Path<String>) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let list = blocking(move || {
        let code = group_code(&db, &Group::Federation, &key)?;
        queries::federation_memberships(&db, &code)
    })
    .await?;
    Ok(items(list))
}

/// Every membership period of an ICT, past and present.
#[utoipa::path(get, path = "/api/v1/icts/{key}/memberships", tag = "icts",
    params(("key" = String, Path, description = "ICT id or code")),
    responses(
        (status = 200, body = ItemsResponse<IctMembership>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ict_memberships(db: web::Data<Db>, key: web::Path<String>) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let list = blocking(move || {
        let code = group_code(&db, &Group::Ict, &key)?;
        queries::ict_memberships(&db, &code)
    })
    .await?;
    Ok(items(list))
}

/// The community, mental health, social care and voluntary services of an ICT.
#[utoipa::path(get, path = "/api/v1/icts/{key}/partner-services", tag = "icts",
    params(("key" = String, Path, description = "ICT id or code")),
    responses(
        (status = 200, body = ItemsResponse<PartnerService>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ict_partner_services(db: web::Data<Db>, key: web::Path<String>) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let list = blocking(move || {
        let code = group_code(&db, &Group::Ict, &key)?;
        queries::partner_services(&db, &code)
    })
    .await?;
    Ok(items(list))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/federations").route(web::get().to(list_federations)).route(web::post().to(federation::create)),
    )
    .service(
        web::resource("/federations/{key}")
            .route(web::get().to(federation::get))
            .route(web::put().to(federation::put))
            .route(web::patch().to(federation::patch))
            .route(web::delete().to(federation::delete)),
    )
    .service(web::resource("/federations/{key}/practices").route(web::get().to(federation_practices)))
    .service(web::resource("/federations/{key}/memberships").route(web::get().to(federation_memberships)))
    .service(web::resource("/federations/{key}/placements").route(web::get().to(federation_placements)))
    .service(web::resource("/icts").route(web::get().to(list_icts)).route(web::post().to(ict::create)))
    .service(
        web::resource("/icts/{key}")
            .route(web::get().to(ict::get))
            .route(web::put().to(ict::put))
            .route(web::patch().to(ict::patch))
            .route(web::delete().to(ict::delete)),
    )
    .service(web::resource("/icts/{key}/practices").route(web::get().to(ict_practices)))
    .service(web::resource("/icts/{key}/memberships").route(web::get().to(ict_memberships)))
    .service(web::resource("/icts/{key}/partner-services").route(web::get().to(ict_partner_services)))
    .service(web::resource("/icts/{key}/placements").route(web::get().to(ict_placements)));
}
