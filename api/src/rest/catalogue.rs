//! `/api/v1/roles` and `/api/v1/programmes`: the role catalogue and the programmes.

use actix_web::{web, HttpRequest, HttpResponse};
use pcr_schema::domain::catalogue::{self as queries, ProgrammeQuery, RoleQuery};
use pcr_schema::domain::crud;
use pcr_schema::domain::placements::{PlacementParent, PlacementQuery};
use pcr_schema::models::programme::ProgrammeRow;
use pcr_schema::models::role::RoleRow;
use pcr_schema::Db;

use super::list::list;
use super::list::schemas::{ProgrammeList, RoleList};
use super::params::Params;
use super::placements::PlacementsOf;
use crate::error::ApiResult;
use crate::http::resource::Resource;
use crate::openapi::{BadRequest, ListOk, NotAcceptable, Unprocessable};

pub mod role {
    use pcr_schema::models::role::{Role, RoleInput, RoleRow};
    crate::entity_handlers! {
        entity = RoleRow, view = Role, input = RoleInput, name = "Role", noun = "a role", tag = "roles",
        collection = "/api/v1/roles", item = "/api/v1/roles/{key}",
        key = "Role id or code, e.g. physician-associate", write_scope = "reference:write",
        example = crate::rest::examples::role, patch_example = crate::rest::examples::role_patch,
        delete = delete
    }
}

pub mod programme {
    use pcr_schema::models::programme::{Programme, ProgrammeInput, ProgrammeRow};
    crate::entity_handlers! {
        entity = ProgrammeRow, view = Programme, input = ProgrammeInput, name = "Programme",
        noun = "a programme", tag = "programmes", collection = "/api/v1/programmes",
        item = "/api/v1/programmes/{key}", key = "Programme id or code, e.g. gp-retainer-scheme",
        write_scope = "reference:write", example = crate::rest::examples::programme,
        patch_example = crate::rest::examples::programme_patch, delete = delete
    }
}

/// List the role catalogue
///
/// Workforce roles filtered by name or code, staff group, regulator and whether they are
/// additional-roles (ARRS) posts.
#[utoipa::path(get, path = "/api/v1/roles", tag = "roles", operation_id = "listRoles", params(RoleQuery),
    responses(ListOk<RoleList>, BadRequest, NotAcceptable, Unprocessable))]
pub async fn list_roles(req: HttpRequest, db: web::Data<Db>, query: Params<RoleQuery>) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    list(&req, query.into_inner(), move |q| queries::list_roles(&db, q)).await
}

/// List programmes
///
/// Programmes and schemes placements belong to, filtered by name or code.
#[utoipa::path(get, path = "/api/v1/programmes", tag = "programmes", operation_id = "listProgrammes",
    params(ProgrammeQuery),
    responses(ListOk<ProgrammeList>, BadRequest, NotAcceptable, Unprocessable))]
pub async fn list_programmes(
    req: HttpRequest,
    db: web::Data<Db>,
    query: Params<ProgrammeQuery>,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    list(&req, query.into_inner(), move |q| queries::list_programmes(&db, q)).await
}

/// List placements in a role
///
/// Placements in the role, with the placement filters. Needs `placements:read`.
#[utoipa::path(get, path = "/api/v1/roles/{key}/placements", tag = "roles", operation_id = "listRolePlacements",
    params(("key" = String, Path, description = "Role id or code"), PlacementQuery),
    security(("bearer" = ["placements:read"])),
    responses(crate::openapi::PlacementsOfAnswers))]
pub async fn role_placements(of: PlacementsOf) -> ApiResult<HttpResponse> {
    of.list(PlacementParent::Role, |db, key| Ok(crud::get::<RoleRow>(db, None, key)?.code)).await
}

/// List placements in a programme
///
/// Placements in the programme, with the placement filters. Needs `placements:read`.
#[utoipa::path(get, path = "/api/v1/programmes/{key}/placements", tag = "programmes",
    operation_id = "listProgrammePlacements",
    params(("key" = String, Path, description = "Programme id or code"), PlacementQuery),
    security(("bearer" = ["placements:read"])),
    responses(crate::openapi::PlacementsOfAnswers))]
pub async fn programme_placements(of: PlacementsOf) -> ApiResult<HttpResponse> {
    of.list(PlacementParent::Programme, |db, key| Ok(crud::get::<ProgrammeRow>(db, None, key)?.code)).await
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Resource::new("/roles").get(list_roles).post(role::create).done())
        .service(
            Resource::new("/roles/{key}").get(role::get).put(role::put).patch(role::patch).delete(role::delete).done(),
        )
        .service(Resource::new("/roles/{key}/placements").get(role_placements).done())
        .service(Resource::new("/programmes").get(list_programmes).post(programme::create).done())
        .service(
            Resource::new("/programmes/{key}")
                .get(programme::get)
                .put(programme::put)
                .patch(programme::patch)
                .delete(programme::delete)
                .done(),
        )
        .service(Resource::new("/programmes/{key}/placements").get(programme_placements).done());
}
