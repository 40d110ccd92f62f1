//! Membership periods and ICT partner services as resources of their own, so each can be
//! read, corrected (with If-Match) and ended like any other record.

use actix_web::web;

use crate::http::resource::Resource;

/// A module of handlers for one kind of period: the kinds differ only in names and paths.
macro_rules! period_handlers {
    ($m:ident: $row:ident, $view:ident, $input:ident, $name:literal, $noun:literal, $tag:literal,
     $coll:literal, $item:literal, $key:literal, $example:ident) => {
        pub mod $m {
            use pcr_schema::models::membership::{$input, $row, $view};
            crate::entity_handlers! {
                entity = $row, view = $view, input = $input, name = $name, noun = $noun, tag = $tag,
                collection = $coll, item = $item, key = $key, write_scope = "reference:write",
                example = crate::rest::examples::$example,
                patch_example = crate::rest::examples::membership_patch, delete = delete
            }
        }
    };
}

period_handlers!(federation_membership: FederationMembershipRow, FederationMembership, FederationMembershipInput,
    "FederationMembership", "a federation membership", "memberships",
    "/api/v1/federation-memberships", "/api/v1/federation-memberships/{key}", "Membership id", federation_membership);
period_handlers!(pcn_membership: PcnMembershipRow, PcnMembership, PcnMembershipInput,
    "PcnMembership", "a PCN membership", "memberships",
    "/api/v1/pcn-memberships", "/api/v1/pcn-memberships/{key}", "Membership id", pcn_membership);
period_handlers!(ict_membership: IctMembershipRow, IctMembership, IctMembershipInput,
    "IctMembership", "an ICT membership", "memberships",
    "/api/v1/ict-memberships", "/api/v1/ict-memberships/{key}", "Membership id", ict_membership);
period_handlers!(partner_service: PartnerServiceRow, PartnerService, PartnerServiceInput,
    "PartnerService", "an ICT partner service", "icts",
    "/api/v1/ict-partner-services", "/api/v1/ict-partner-services/{key}", "Partner service id", partner_service);

/// Registers collection (POST) and item (GET/PUT/PATCH/DELETE) routes of one module.
macro_rules! item_routes {
    ($cfg:expr, $m:ident, $coll:literal, $item:literal) => {
        $cfg.service(Resource::new($coll).post($m::create).done())
            .service(Resource::new($item).get($m::get).put($m::put).patch($m::patch).delete($m::delete).done())
    };
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    item_routes!(cfg, federation_membership, "/federation-memberships", "/federation-memberships/{key}");
    item_routes!(cfg, pcn_membership, "/pcn-memberships", "/pcn-memberships/{key}");
    item_routes!(cfg, ict_membership, "/ict-memberships", "/ict-memberships/{key}");
    item_routes!(cfg, partner_service, "/ict-partner-services", "/ict-partner-services/{key}");
}
