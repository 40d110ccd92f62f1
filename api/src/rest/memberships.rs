//! Membership periods and ICT partner services as resources of their own, so each can be
//! read, corrected (with If-Match) and ended like any other record.

use actix_web::web;

pub mod federation_membership {
    use pcr_schema::models::membership::{FederationMembership, FederationMembershipInput, FederationMembershipRow};
    crate::entity_handlers!(
        entity = FederationMembershipRow,
        view = FederationMembership,
        input = FederationMembershipInput,
        tag = "memberships",
        collection = "/api/v1/federation-memberships",
        item = "/api/v1/federation-memberships/{key}",
        key = "Membership id",
        write_scope = "reference:write",
        delete = delete
    );
}

pub mod ict_membership {
    use pcr_schema::models::membership::{IctMembership, IctMembershipInput, IctMembershipRow};
    crate::entity_handlers!(
        entity = IctMembershipRow,
        view = IctMembership,
        input = IctMembershipInput,
        tag = "memberships",
        collection = "/api/v1/ict-memberships",
        item = "/api/v1/ict-memberships/{key}",
        key = "Membership id",
        write_scope = "reference:write",
        delete = delete
    );
}

pub mod partner_service {
    use pcr_schema::models::membership::{PartnerService, PartnerServiceInput, PartnerServiceRow};
    crate::entity_handlers!(
        entity = PartnerServiceRow,
        view = PartnerService,
        input = PartnerServiceInput,
        tag = "icts",
        collection = "/api/v1/ict-partner-services",
        item = "/api/v1/ict-partner-services/{key}",
        key = "Partner service id",
        write_scope = "reference:write",
        delete = delete
    );
}

/// Registers collection (POST) and item (GET/PUT/PATCH/DELETE) routes of one module.
macro_rules! item_routes {
    ($cfg:expr, $m:ident, $coll:literal, $item:literal) => {
        $cfg.service(web::resource($coll).route(web::post().to($m::create))).service(
            web::resource($item)
                .route(web::get().to($m::get))
                .route(web::put().to($m::put))
                .route(web::patch().to($m::patch))
                .route(web::delete().to($m::delete)),
        )
    };
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    item_routes!(cfg, federation_membership, "/federation-memberships", "/federation-memberships/{key}");
    item_routes!(cfg, ict_membership, "/ict-memberships", "/ict-memberships/{key}");
    item_routes!(cfg, partner_service, "/ict-partner-services", "/ict-partner-services/{key}");
}
