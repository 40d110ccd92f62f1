//! `/api/v1/roles` and `/api/v1/programmes`: the role catalogue and the programmes.

use actix_web::{web, HttpRequest, HttpResponse};
use pcr_schema::domain::catalogue::{self as queries, ProgrammeQuery, RoleQuery};
use pcr_schema::domain::crud;
use pcr_schema::domain::placements::{self as placement_queries, PlacementQuery};
use pcr_schema::models::placement::Placement;
use pcr_schema::models::programme::{Programme, ProgrammeRow};
use pcr_schema::models::role::{Role, RoleRow};
use pcr_schema::Db;

use super::blocking;
use super::list::{page, ListResponse};
use crate::auth::Caller;
use crate::error::{ApiResult, Problem};

pub mod role {
    use pcr_schema::models::role::{Role, RoleInput, RoleRow};
    crate::entity_handlers!(
        entity = RoleRow,
        view = Role,
        input = RoleInput,
        tag = "roles",
        collection = "/api/v1/roles",
        item = "/api/v1/roles/{key}",
        key = "Role id or code, e.g. physician-associate",
        write_scope = "reference:write",
        delete = delete
    );
}

pub mod programme {
    use pcr_schema::models::programme::{Programme, ProgrammeInput, ProgrammeRow};
    crate::entity_handlers!(
        entity = ProgrammeRow,
        view = Programme,
        input = ProgrammeInput,
        tag = "programmes",
        collection = "/api/v1/programmes",
        item = "/api/v1/programmes/{key}",
        key = "Programme id or code, e.g. gp-retainer-scheme",
        write_scope = "reference:write",
        delete = delete
    );
}

/// Lists the role catalogue.
#[utoipa::path(get, path = "/api/v1/roles", tag = "roles", params(RoleQuery),
    responses(
        (status = 200, body = ListResponse<Role>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_roles(req: HttpRequest, db: web::Data<Db>, query: web::Query<RoleQuery>) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    Ok(page(&req, blocking(move || queries::list_roles(&db, &query)).await?))
}

/// Lists programmes.
#[utoipa::path(get, path = "/api/v1/programmes", tag = "programmes", params(ProgrammeQuery),
    responses(
        (status = 200, body = ListResponse<Programme>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_programmes(
    req: HttpRequest,
    db: web::Data<Db>,
    query: web::Query<ProgrammeQuery>,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    Ok(page(&req, blocking(move || queries::list_programmes(&db, &query)).await?))
}

/// Placements in a role. Needs `placements:read`.
#[utoipa::path(get, path = "/api/v1/roles/{key}/placements", tag = "roles",
    params(("key" = String, Path, description = "Role id or code"), PlacementQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ListResponse<Placement>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn role_placements(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    key: web::Path<String>,
    query: web::Query<PlacementQuery>,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let mut q = query.into_inner();
    let p = blocking(move || {
        q.role = Some(crud::get::<RoleRow>(&db, None, &key)?.code);
        placement_queries::list(&db, caller.actor(), &q)
    })
    .await?;
    Ok(page(&req, p))
}

/// Placements in a programme. Needs `placements:read`.
#[utoipa::path(get, path = "/api/v1/programmes/{key}/placements", tag = "programmes",
    params(("key" = String, Path, description = "Programme id or code"), PlacementQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ListResponse<Placement>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn programme_placements(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    key: web::Path<String>,
    query: web::Query<PlacementQuery>,
) -> ApiResult<HttpResponse> {
    let db = db.get_ref().clone();
    let mut q = query.into_inner();
    let p = blocking(move || {
        q.programme = Some(crud::get::<ProgrammeRow>(&db, None, &key)?.code);
        placement_queries::list(&db, caller.actor(), &q)
    })
    .await?;
    Ok(page(&req, p))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/roles").route(web::get().to(list_roles)).route(web::post().to(role::create)))
        .service(
            web::resource("/roles/{key}")
                .route(web::get().to(role::get))
                .route(web::put().to(role::put))
                .route(web::patch().to(role::patch))
                .route(web::delete().to(role::delete)),
        )
        .service(web::resource("/roles/{key}/placements").route(web::get().to(role_placements)))
        .service(
            web::resource("/programmes").route(web::get().to(list_programmes)).route(web::post().to(programme::create)),
        )
        .service(
            web::resource("/programmes/{key}")
                .route(web::get().to(programme::get))
                .route(web::put().to(programme::put))
                .route(web::patch().to(programme::patch))
                .route(web::delete().to(programme::delete)),
        )
        .service(web::resource("/programmes/{key}/placements").route(web::get().to(programme_placements)));
}
