//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::rest::{catalogue, groups, memberships, placements, practices};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Primary care roles API",
        description = "England's primary care workforce structure: GP practices, GP federations, Integrated Care Teams, workforce roles, programmes and the placements of staff into those roles.\n\nReference data is public. Placements need a bearer token with `placements:read`; writes need `reference:write` or `placements:write`. Errors are RFC 9457 problem documents. Lists use cursor pagination: follow `next`.",
        license(name = "MIT"),
    ),
    paths(
        crate::health::healthz,
        crate::health::readyz,
        practices::list, practices::item::create, practices::item::get, practices::item::put, practices::item::patch, practices::item::delete,
        practices::federations, practices::icts, practices::placements,
        groups::list_federations, groups::federation::create, groups::federation::get, groups::federation::put, groups::federation::patch, groups::federation::delete,
        groups::federation_practices, groups::federation_memberships, groups::federation_placements,
        groups::list_icts, groups::ict::create, groups::ict::get, groups::ict::put, groups::ict::patch, groups::ict::delete,
        groups::ict_practices, groups::ict_memberships, groups::ict_partner_services, groups::ict_placements,
        memberships::federation_membership::create, memberships::federation_membership::get, memberships::federation_membership::put,
        memberships::federation_membership::patch, memberships::federation_membership::delete,
        memberships::ict_membership::create, memberships::ict_membership::get, memberships::ict_membership::put,
        memberships::ict_membership::patch, memberships::ict_membership::delete,
        memberships::partner_service::create, memberships::partner_service::get, memberships::partner_service::put,
        memberships::partner_service::patch, memberships::partner_service::delete,
        catalogue::list_roles, catalogue::role::create, catalogue::role::get, catalogue::role::put, catalogue::role::patch, catalogue::role::delete,
        catalogue::role_placements,
        catalogue::list_programmes, catalogue::programme::create, catalogue::programme::get, catalogue::programme::put,
        catalogue::programme::patch, catalogue::programme::delete, catalogue::programme_placements,
        placements::list, placements::item::create, placements::item::get, placements::item::put, placements::item::patch, placements::end,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "practices", description = "GP practices, by id or ODS code"),
        (name = "federations", description = "GP federations and their member practices"),
        (name = "icts", description = "Integrated Care Teams, their practices and partner services"),
        (name = "memberships", description = "Practice membership of federations and ICTs over time"),
        (name = "roles", description = "The workforce role catalogue"),
        (name = "programmes", description = "Programmes and schemes placements belong to"),
        (name = "placements", description = "Staff placed in roles at practices, federations, ICTs and external hosts"),
        (name = "operations", description = "Health and readiness"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The document as served and as committed in `openapi/openapi.json`.
pub fn document() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
