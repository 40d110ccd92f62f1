//! `/api/v1/organisations`: every organisation, whatever its kind, and how they are related
//! over time.

use actix_web::{web, HttpRequest, HttpResponse};
use pcr_schema::domain::organisations::Containment;
use pcr_schema::domain::organisations::{
    self as queries, AffiliationQuery, MemberQuery, OrganisationQuery, PeriodQuery,
};
use pcr_schema::models::organisation::Organisation;
use pcr_schema::Db;

use super::blocking;
use super::list::schemas::{AffiliationItems, MemberItems, OrganisationList};
use super::list::{items, list};
use super::params::{NoParams, Params};
use crate::error::ApiResult;
use crate::http::negotiate::{negotiate, Format};
use crate::http::resource::Resource;
use crate::openapi::{BadRequest, ItemsOk, ListOk, NotAcceptable, NotFound, Unprocessable};

/// List organisations
///
/// Organisations of every kind (practices, PCNs, federations, ICTs, commissioners and
/// external providers), filtered by kind, name or code, parent (`partOf`) and the day they
/// are open or members on, in pages.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "organisations", operation_id = "listOrganisations",
    params(OrganisationQuery),
    responses(ListOk<OrganisationList>, BadRequest, NotAcceptable, Unprocessable))]
pub async fn list_organisations(
    req: HttpRequest,
    db: web::Data<Db>,
    query: Params<OrganisationQuery>,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    list(&req, query.into_inner(), move |q| queries::list(&db, q)).await
}

/// Get an organisation
///
/// The organisation with this code (or id), whatever its kind. Its kind's own record, with
/// the kind's attributes, is under the kind's collection (`/practices/{code}`, …).
#[utoipa::path(get, path = "/api/v1/organisations/{code}", tag = "organisations", operation_id = "getOrganisation",
    params(("code" = String, Path, description = "Organisation code or id, e.g. M83005, U99901, NSGPF, 05G")),
    responses(
        (status = 200, description = "The organisation", body = Organisation,
            headers(("ETag" = String, description = "The record's version and id"))),
        (status = 304, description = "Not modified: the `If-None-Match` ETag is current"),
        BadRequest, NotFound, NotAcceptable, Unprocessable))]
pub async fn get_organisation(
    req: HttpRequest,
    db: web::Data<Db>,
    code: web::Path<String>,
    _none: Params<NoParams>,
) -> ApiResult<HttpResponse> {
    negotiate(&req, Format::ONE)?;
    let db = db.get_ref().clone();
    let org = blocking(move || queries::get(&db, &code)).await?;
    Ok(super::conditional::one(&req, org.version, &org.id, &org))
}

/// List an organisation's affiliations
///
/// Every relationship the organisation has over time, both ways: what it is a member of
/// (or commissioned by, or a partner service of), then its own members, each with its
/// period and whether it holds today.
#[utoipa::path(get, path = "/api/v1/organisations/{code}/affiliations", tag = "organisations",
    operation_id = "listOrganisationAffiliations",
    params(("code" = String, Path, description = "Organisation code or id"), AffiliationQuery),
    responses(ItemsOk<AffiliationItems>, BadRequest, NotFound, NotAcceptable, Unprocessable))]
pub async fn affiliations(
    req: HttpRequest,
    db: web::Data<Db>,
    code: web::Path<String>,
    query: Params<AffiliationQuery>,
) -> ApiResult<HttpResponse> {
    related(req, db, code.into_inner(), query.into_inner(), queries::affiliations).await
}

/// List an organisation's members
///
/// The organisations that are members of this one (practices of a PCN, federation, ICT or
/// commissioner; providers of an ICT's partner services), each with its period: on a day
/// (`active_on`), or every member past, present and planned.
#[utoipa::path(get, path = "/api/v1/organisations/{code}/members", tag = "organisations",
    operation_id = "listOrganisationMembers",
    params(("code" = String, Path, description = "Organisation code or id"), MemberQuery),
    responses(ItemsOk<MemberItems>, BadRequest, NotFound, NotAcceptable, Unprocessable))]
pub async fn members(
    req: HttpRequest,
    db: web::Data<Db>,
    code: web::Path<String>,
    query: Params<MemberQuery>,
) -> ApiResult<HttpResponse> {
    related(req, db, code.into_inner(), query.into_inner(), queries::members).await
}

/// What an organisation is related to, read by `read` as a bounded list.
async fn related<Q: Send + 'static, T: serde::Serialize + utoipa::ToSchema + Send + 'static>(
    req: HttpRequest,
    db: web::Data<Db>,
    code: String,
    query: Q,
    read: fn(&Db, &str, &Q) -> pcr_schema::DomainResult<Vec<T>>,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let list = blocking(move || read(&db, &code, &query)).await?;
    items(&req, list)
}

/// Whether an organisation contains another over a period
///
/// Whether `member` belongs to this organisation (is a member of it, commissioned by it, or a
/// partner service of it) on every day from `from` to `to`, both included: its periods,
/// joined end to start, cover the whole span. An organisation contains itself.
#[utoipa::path(get, path = "/api/v1/organisations/{code}/contains/{member}", tag = "organisations",
    operation_id = "getOrganisationContains",
    params(
        ("code" = String, Path, description = "The containing organisation's code or id, e.g. U99901"),
        ("member" = String, Path, description = "The contained organisation's code or id, e.g. M83005"),
        PeriodQuery),
    responses(
        (status = 200, description = "The answer, with the question", body = Containment),
        BadRequest, NotFound, NotAcceptable, Unprocessable))]
pub async fn contains(
    req: HttpRequest,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
    query: Params<PeriodQuery>,
) -> ApiResult<HttpResponse> {
    negotiate(&req, Format::ONE)?;
    let db = db.get_ref().clone();
    let (code, member) = path.into_inner();
    let query = query.into_inner();
    let answer = blocking(move || queries::contains_over(&db, &code, &member, &query)).await?;
    Ok(HttpResponse::Ok().json(answer))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Resource::new("/organisations").get(list_organisations).done())
        .service(Resource::new("/organisations/{code}").get(get_organisation).done())
        .service(Resource::new("/organisations/{code}/affiliations").get(affiliations).done())
        .service(Resource::new("/organisations/{code}/members").get(members).done())
        .service(Resource::new("/organisations/{code}/contains/{member}").get(contains).done());
}
