//! `/api/v1/federations` and `/api/v1/icts`: groups of practices and their relations.

use actix_web::{web, HttpRequest, HttpResponse};
use pcr_schema::domain::crud;
use pcr_schema::domain::groups::{self as queries, GroupQuery};
use pcr_schema::domain::placements::{self as placement_queries, PlacementQuery};
use pcr_schema::domain::practices::{self as practice_queries, MemberOf, PracticeQuery};
use pcr_schema::models::federation::FederationRow;
use pcr_schema::models::ict::IctRow;
use pcr_schema::models::placement::HostType;
use pcr_schema::{Db, Scope};

use super::blocking;
use super::list::schemas::{
    FederationList, FederationMembershipItems, IctMembershipItems, IntegratedCareTeamList, PartnerServiceItems,
    PlacementList, PracticeList,
};
use super::list::{items, list};
use super::params::{NoParams, Params};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::http::resource::Resource;
use crate::openapi::{BadRequest, Forbidden, ItemsOk, ListOk, NotAcceptable, NotFound, Unauthorized, Unprocessable};

pub mod federation {
    use pcr_schema::models::federation::{Federation, FederationInput, FederationRow};
    crate::entity_handlers!(
        entity = FederationRow,
        view = Federation,
        input = FederationInput,
        name = "Federation",
        noun = "a GP federation",
        tag = "federations",
        collection = "/api/v1/federations",
        item = "/api/v1/federations/{key}",
        key = "Federation id or code, e.g. NSGPF",
        write_scope = "reference:write",
        example = crate::rest::examples::federation,
        patch_example = crate::rest::examples::federation_patch,
        delete = delete
    );
}

pub mod ict {
    use pcr_schema::models::ict::{IctRow, IntegratedCareTeam, IntegratedCareTeamInput};
    crate::entity_handlers!(
        entity = IctRow,
        view = IntegratedCareTeam,
        input = IntegratedCareTeamInput,
        name = "Ict",
        noun = "an Integrated Care Team",
        tag = "icts",
        collection = "/api/v1/icts",
        item = "/api/v1/icts/{key}",
        key = "ICT id or code, e.g. ICT-MEIR",
        write_scope = "reference:write",
        example = crate::rest::examples::ict,
        patch_example = crate::rest::examples::ict_patch,
        delete = delete
    );
}

/// List GP federations
///
/// Federations filtered by name or code, ICB and when they last changed, in pages.
#[utoipa::path(get, path = "/api/v1/federations", tag = "federations", operation_id = "listFederations",
    params(GroupQuery),
    responses(ListOk<FederationList>, BadRequest, NotAcceptable, Unprocessable))]
pub async fn list_federations(
    req: HttpRequest,
    db: web::Data<Db>,
    query: Params<GroupQuery>,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    list(&req, query.into_inner(), move |q| queries::list_federations(&db, q)).await
}

/// List Integrated Care Teams
///
/// ICTs filtered by name or code, status, ICB and when they last changed, in pages.
#[utoipa::path(get, path = "/api/v1/icts", tag = "icts", operation_id = "listIcts",
    params(GroupQuery),
    responses(ListOk<IntegratedCareTeamList>, BadRequest, NotAcceptable, Unprocessable))]
pub async fn list_icts(req: HttpRequest, db: web::Data<Db>, query: Params<GroupQuery>) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    list(&req, query.into_inner(), move |q| queries::list_icts(&db, q)).await
}

/// Which group a nested request is about.
#[derive(Clone, Copy)]
enum Group {
    Federation,
    Ict,
}

impl Group {
    /// The group's code (404 when it does not exist).
    fn code(self, db: &Db, key: &str) -> pcr_schema::DomainResult<String> {
        Ok(match self {
            Group::Federation => crud::get::<FederationRow>(db, None, key)?.code,
            Group::Ict => crud::get::<IctRow>(db, None, key)?.code,
        })
    }

    fn host_type(self) -> HostType {
        match self {
            Group::Federation => HostType::Federation,
            Group::Ict => HostType::Ict,
        }
    }

    fn members(self, code: String, day: chrono::NaiveDate) -> MemberOf {
        match self {
            Group::Federation => MemberOf::Federation(code, day),
            Group::Ict => MemberOf::Ict(code, day),
        }
    }
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
    let code = {
        let db = db.clone();
        blocking(move || group.code(&db, &key)).await?
    };
    let members = group.members(code, day);
    list(&req, query, move |q| practice_queries::list(&db, q, Some(&members))).await
}

async fn hosted_placements(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    group: Group,
    key: String,
) -> ApiResult<HttpResponse> {
    // The caller first: without the scope, whether the group exists is no answer.
    pcr_schema::actor::require(caller.actor(), Scope::PlacementsRead)?;
    let mut query: PlacementQuery = super::params::parse(req.query_string())?;
    let db = db.get_ref().clone();
    query.host = Some({
        let db = db.clone();
        blocking(move || group.code(&db, &key)).await?
    });
    query.host_type = Some(group.host_type());
    list(&req, query, move |q| placement_queries::list(&db, caller.actor(), q)).await
}

/// List a federation's practices
///
/// The practices that are members of the federation on a day (`active_on`, default today),
/// with the practice filters.
#[utoipa::path(get, path = "/api/v1/federations/{key}/practices", tag = "federations",
    operation_id = "listFederationPractices",
    params(("key" = String, Path, description = "Federation id or code"), PracticeQuery),
    responses(ListOk<PracticeList>, BadRequest, NotFound, NotAcceptable, Unprocessable))]
pub async fn federation_practices(
    req: HttpRequest,
    db: web::Data<Db>,
    key: web::Path<String>,
    query: Params<PracticeQuery>,
) -> ApiResult<HttpResponse> {
    member_practices(req, db, Group::Federation, key.into_inner(), query.into_inner()).await
}

/// List an ICT's practices
///
/// The practices that are members of the ICT on a day (`active_on`, default today), with the
/// practice filters.
#[utoipa::path(get, path = "/api/v1/icts/{key}/practices", tag = "icts", operation_id = "listIctPractices",
    params(("key" = String, Path, description = "ICT id or code"), PracticeQuery),
    responses(ListOk<PracticeList>, BadRequest, NotFound, NotAcceptable, Unprocessable))]
pub async fn ict_practices(
    req: HttpRequest,
    db: web::Data<Db>,
    key: web::Path<String>,
    query: Params<PracticeQuery>,
) -> ApiResult<HttpResponse> {
    member_practices(req, db, Group::Ict, key.into_inner(), query.into_inner()).await
}

/// List a federation's placements
///
/// Placements hosted by the federation itself, with the placement filters. Needs
/// `placements:read`.
#[utoipa::path(get, path = "/api/v1/federations/{key}/placements", tag = "federations",
    operation_id = "listFederationPlacements",
    params(("key" = String, Path, description = "Federation id or code"), PlacementQuery),
    security(("bearer" = ["placements:read"])),
    responses(ListOk<PlacementList>, BadRequest, Unauthorized, Forbidden, NotFound, NotAcceptable, Unprocessable))]
pub async fn federation_placements(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    key: web::Path<String>,
) -> ApiResult<HttpResponse> {
    hosted_placements(req, caller, db, Group::Federation, key.into_inner()).await
}

/// List an ICT's placements
///
/// Placements hosted by the ICT itself, with the placement filters. Needs `placements:read`.
#[utoipa::path(get, path = "/api/v1/icts/{key}/placements", tag = "icts", operation_id = "listIctPlacements",
    params(("key" = String, Path, description = "ICT id or code"), PlacementQuery),
    security(("bearer" = ["placements:read"])),
    responses(ListOk<PlacementList>, BadRequest, Unauthorized, Forbidden, NotFound, NotAcceptable, Unprocessable))]
pub async fn ict_placements(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    key: web::Path<String>,
) -> ApiResult<HttpResponse> {
    hosted_placements(req, caller, db, Group::Ict, key.into_inner()).await
}

/// List a federation's memberships
///
/// Every membership period of the federation, past, present and planned.
#[utoipa::path(get, path = "/api/v1/federations/{key}/memberships", tag = "federations",
    operation_id = "listFederationMemberships",
    params(("key" = String, Path, description = "Federation id or code")),
    responses(ItemsOk<FederationMembershipItems>, BadRequest, NotFound, NotAcceptable, Unprocessable))]
pub async fn federation_memberships(
    req: HttpRequest,
    db: web::Data<Db>,
    key: web::Path<String>,
    _none: Params<NoParams>,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let list = blocking(move || {
        let code = Group::Federation.code(&db, &key)?;
        queries::federation_memberships(&db, &code)
    })
    .await?;
    items(&req, list)
}

/// List an ICT's memberships
///
/// Every membership period of the ICT, past, present and planned.
#[utoipa::path(get, path = "/api/v1/icts/{key}/memberships", tag = "icts", operation_id = "listIctMemberships",
    params(("key" = String, Path, description = "ICT id or code")),
    responses(ItemsOk<IctMembershipItems>, BadRequest, NotFound, NotAcceptable, Unprocessable))]
pub async fn ict_memberships(
    req: HttpRequest,
    db: web::Data<Db>,
    key: web::Path<String>,
    _none: Params<NoParams>,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let list = blocking(move || {
        let code = Group::Ict.code(&db, &key)?;
        queries::ict_memberships(&db, &code)
    })
    .await?;
    items(&req, list)
}

/// List an ICT's partner services
///
/// The community, mental health, social care and voluntary services of the ICT.
#[utoipa::path(get, path = "/api/v1/icts/{key}/partner-services", tag = "icts",
    operation_id = "listIctPartnerServices",
    params(("key" = String, Path, description = "ICT id or code")),
    responses(ItemsOk<PartnerServiceItems>, BadRequest, NotFound, NotAcceptable, Unprocessable))]
pub async fn ict_partner_services(
    req: HttpRequest,
    db: web::Data<Db>,
    key: web::Path<String>,
    _none: Params<NoParams>,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let list = blocking(move || {
        let code = Group::Ict.code(&db, &key)?;
        queries::partner_services(&db, &code)
    })
    .await?;
    items(&req, list)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Resource::new("/federations").get(list_federations).post(federation::create).done())
        .service(
            Resource::new("/federations/{key}")
                .get(federation::get)
                .put(federation::put)
                .patch(federation::patch)
                .delete(federation::delete)
                .done(),
        )
        .service(Resource::new("/federations/{key}/practices").get(federation_practices).done())
        .service(Resource::new("/federations/{key}/memberships").get(federation_memberships).done())
        .service(Resource::new("/federations/{key}/placements").get(federation_placements).done())
        .service(Resource::new("/icts").get(list_icts).post(ict::create).done())
        .service(Resource::new("/icts/{key}").get(ict::get).put(ict::put).patch(ict::patch).delete(ict::delete).done())
        .service(Resource::new("/icts/{key}/practices").get(ict_practices).done())
        .service(Resource::new("/icts/{key}/memberships").get(ict_memberships).done())
        .service(Resource::new("/icts/{key}/partner-services").get(ict_partner_services).done())
        .service(Resource::new("/icts/{key}/placements").get(ict_placements).done());
}
