//! `/api/v1/pcns`, `/api/v1/federations` and `/api/v1/icts`: groups of practices and their
//! relations. What differs between the kinds is asked of [`OrgKind`].

use actix_web::{web, HttpRequest, HttpResponse};
use pcr_schema::domain::groups::{self as queries, GroupQuery};
use pcr_schema::domain::organisations;
use pcr_schema::domain::placements::{PlacementParent, PlacementQuery};
use pcr_schema::domain::practices::{self as practice_queries, MemberOf, PracticeQuery};
use pcr_schema::kinds::OrgKind;
use pcr_schema::Db;

use super::blocking;
use super::list::schemas::{
    FederationList, FederationMembershipItems, IctMembershipItems, IntegratedCareTeamList, PartnerServiceItems,
    PcnList, PcnMembershipItems, PracticeList,
};
use super::list::{items, list};
use super::params::{NoParams, Params};
use super::placements::PlacementsOf;
use crate::error::ApiResult;
use crate::http::resource::Resource;
use crate::openapi::{BadRequest, ItemsOk, ListOk, NotAcceptable, NotFound, Unprocessable};

pub mod federation {
    use pcr_schema::models::federation::{Federation, FederationInput, FederationRow};
    crate::entity_handlers! {
        entity = FederationRow, view = Federation, input = FederationInput, name = "Federation",
        noun = "a GP federation", tag = "federations", collection = "/api/v1/federations",
        item = "/api/v1/federations/{key}", key = "Federation id or code, e.g. NSGPF",
        write_scope = "reference:write", example = crate::rest::examples::federation,
        patch_example = crate::rest::examples::federation_patch, delete = delete
    }
}

pub mod pcn {
    use pcr_schema::models::federation::{Pcn, PcnInput, PcnRow};
    crate::entity_handlers! {
        entity = PcnRow, view = Pcn, input = PcnInput, name = "Pcn", noun = "a Primary Care Network",
        tag = "pcns", collection = "/api/v1/pcns", item = "/api/v1/pcns/{key}",
        key = "PCN id or ODS code, e.g. U99901", write_scope = "reference:write",
        example = crate::rest::examples::pcn, patch_example = crate::rest::examples::federation_patch,
        delete = delete
    }
}

pub mod ict {
    use pcr_schema::models::ict::{IctRow, IntegratedCareTeam, IntegratedCareTeamInput};
    crate::entity_handlers! {
        entity = IctRow, view = IntegratedCareTeam, input = IntegratedCareTeamInput, name = "Ict",
        noun = "an Integrated Care Team", tag = "icts", collection = "/api/v1/icts",
        item = "/api/v1/icts/{key}", key = "ICT id or code, e.g. ICT-MEIR", write_scope = "reference:write",
        example = crate::rest::examples::ict, patch_example = crate::rest::examples::ict_patch, delete = delete
    }
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

/// List Primary Care Networks
///
/// PCNs filtered by name or ODS code, ICB and when they last changed, in pages.
#[utoipa::path(get, path = "/api/v1/pcns", tag = "pcns", operation_id = "listPcns",
    params(GroupQuery),
    responses(ListOk<PcnList>, BadRequest, NotAcceptable, Unprocessable))]
pub async fn list_pcns(req: HttpRequest, db: web::Data<Db>, query: Params<GroupQuery>) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    list(&req, query.into_inner(), move |q| queries::list_pcns(&db, q)).await
}

/// List a PCN's practices
///
/// The practices that are members of the PCN on a day (`active_on`, default today), with the
/// practice filters.
#[utoipa::path(get, path = "/api/v1/pcns/{key}/practices", tag = "pcns", operation_id = "listPcnPractices",
    params(("key" = String, Path, description = "PCN id or ODS code"), PracticeQuery),
    responses(ListOk<PracticeList>, BadRequest, NotFound, NotAcceptable, Unprocessable))]
pub async fn pcn_practices(
    req: HttpRequest,
    db: web::Data<Db>,
    key: web::Path<String>,
    query: Params<PracticeQuery>,
) -> ApiResult<HttpResponse> {
    member_practices(req, db, OrgKind::Pcn, key.into_inner(), query.into_inner()).await
}

/// List a PCN's placements
///
/// Placements hosted by the PCN itself (most additional roles staff), with the placement
/// filters. Needs `placements:read`.
#[utoipa::path(get, path = "/api/v1/pcns/{key}/placements", tag = "pcns", operation_id = "listPcnPlacements",
    params(("key" = String, Path, description = "PCN id or ODS code"), PlacementQuery),
    security(("bearer" = ["placements:read"])),
    responses(crate::openapi::PlacementsOfAnswers))]
pub async fn pcn_placements(of: PlacementsOf) -> ApiResult<HttpResponse> {
    of.list(PlacementParent::Host, |db, key| organisations::code_of(db, OrgKind::Pcn, key)).await
}

/// List a PCN's memberships
///
/// Every membership period of the PCN, past, present and planned.
#[utoipa::path(get, path = "/api/v1/pcns/{key}/memberships", tag = "pcns", operation_id = "listPcnMemberships",
    params(("key" = String, Path, description = "PCN id or ODS code")),
    responses(ItemsOk<PcnMembershipItems>, BadRequest, NotFound, NotAcceptable, Unprocessable))]
pub async fn pcn_memberships(
    req: HttpRequest,
    db: web::Data<Db>,
    key: web::Path<String>,
    _none: Params<NoParams>,
) -> ApiResult<HttpResponse> {
    relation_of(req, db, OrgKind::Pcn, key.into_inner(), queries::pcn_memberships).await
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

/// A bounded relation of the organisation of `kind` with this key (404 when there is none),
/// read by `read`.
async fn relation_of<T: serde::Serialize + utoipa::ToSchema + Send + 'static>(
    req: HttpRequest,
    db: web::Data<Db>,
    kind: OrgKind,
    key: String,
    read: fn(&Db, &str) -> pcr_schema::DomainResult<Vec<T>>,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let list = blocking(move || read(&db, &organisations::code_of(&db, kind, &key)?)).await?;
    items(&req, list)
}

async fn member_practices(
    req: HttpRequest,
    db: web::Data<Db>,
    kind: OrgKind,
    key: String,
    query: PracticeQuery,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let day = query.active_on.unwrap_or_else(pcr_schema::today);
    let code = {
        let db = db.clone();
        blocking(move || organisations::code_of(&db, kind, &key)).await?
    };
    let members = MemberOf(code, day);
    list(&req, query, move |q| practice_queries::list(&db, q, Some(&members))).await
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
    member_practices(req, db, OrgKind::Federation, key.into_inner(), query.into_inner()).await
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
    member_practices(req, db, OrgKind::Ict, key.into_inner(), query.into_inner()).await
}

/// List a federation's placements
///
/// Placements hosted by the federation itself, with the placement filters. Needs
/// `placements:read`.
#[utoipa::path(get, path = "/api/v1/federations/{key}/placements", tag = "federations",
    operation_id = "listFederationPlacements",
    params(("key" = String, Path, description = "Federation id or code"), PlacementQuery),
    security(("bearer" = ["placements:read"])),
    responses(crate::openapi::PlacementsOfAnswers))]
pub async fn federation_placements(of: PlacementsOf) -> ApiResult<HttpResponse> {
    of.list(PlacementParent::Host, |db, key| organisations::code_of(db, OrgKind::Federation, key)).await
}

/// List an ICT's placements
///
/// Placements hosted by the ICT itself, with the placement filters. Needs `placements:read`.
#[utoipa::path(get, path = "/api/v1/icts/{key}/placements", tag = "icts", operation_id = "listIctPlacements",
    params(("key" = String, Path, description = "ICT id or code"), PlacementQuery),
    security(("bearer" = ["placements:read"])),
    responses(crate::openapi::PlacementsOfAnswers))]
pub async fn ict_placements(of: PlacementsOf) -> ApiResult<HttpResponse> {
    of.list(PlacementParent::Host, |db, key| organisations::code_of(db, OrgKind::Ict, key)).await
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
    relation_of(req, db, OrgKind::Federation, key.into_inner(), queries::federation_memberships).await
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
    relation_of(req, db, OrgKind::Ict, key.into_inner(), queries::ict_memberships).await
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
    relation_of(req, db, OrgKind::Ict, key.into_inner(), queries::partner_services).await
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
        .service(Resource::new("/pcns").get(list_pcns).post(pcn::create).done())
        .service(Resource::new("/pcns/{key}").get(pcn::get).put(pcn::put).patch(pcn::patch).delete(pcn::delete).done())
        .service(Resource::new("/pcns/{key}/practices").get(pcn_practices).done())
        .service(Resource::new("/pcns/{key}/memberships").get(pcn_memberships).done())
        .service(Resource::new("/pcns/{key}/placements").get(pcn_placements).done())
        .service(Resource::new("/icts").get(list_icts).post(ict::create).done())
        .service(Resource::new("/icts/{key}").get(ict::get).put(ict::put).patch(ict::patch).delete(ict::delete).done())
        .service(Resource::new("/icts/{key}/practices").get(ict_practices).done())
        .service(Resource::new("/icts/{key}/memberships").get(ict_memberships).done())
        .service(Resource::new("/icts/{key}/partner-services").get(ict_partner_services).done())
        .service(Resource::new("/icts/{key}/placements").get(ict_placements).done());
}
