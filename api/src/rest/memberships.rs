//! Membership periods and ICT partner services as resources of their own, so each can be
//! read, corrected (with If-Match) and ended like any other record.

use actix_web::web;

use crate::http::resource::Resource;

pub mod federation_membership {
    use pcr_schema::models::membership::{FederationMembership, FederationMembershipInput, FederationMembershipRow};
    crate::entity_handlers!(
        entity = FederationMembershipRow,
        view = FederationMembership,
        input = FederationMembershipInput,
        name = "FederationMembership",
        noun = "a federation membership",
        tag = "memberships",
        collection = "/api/v1/federation-memberships",
        item = "/api/v1/federation-memberships/{key}",
        key = "Membership id",
        write_scope = "reference:write",
        example = crate::rest::examples::federation_membership,
        patch_example = crate::rest::examples::membership_patch,
        delete = delete
    );
}

pub mod pcn_membership {
    use pcr_schema::models::membership::{PcnMembership, PcnMembershipInput, PcnMembershipRow};
    crate::entity_handlers!(
        entity = PcnMembershipRow,
        view = PcnMembership,
        input = PcnMembershipInput,
        name = "PcnMembership",
        noun = "a PCN membership",
        tag = "memberships",
        collection = "/api/v1/pcn-memberships",
        item = "/api/v1/pcn-memberships/{key}",
        key = "Membership id",
        write_scope = "reference:write",
        example = crate::rest::examples::pcn_membership,
        patch_example = crate::rest::examples::membership_patch,
        delete = delete
    );
}

pub mod ict_membership {
    use pcr_schema::models::membership::{IctMembership, IctMembershipInput, IctMembershipRow};
    crate::entity_handlers!(
        entity = IctMembershipRow,
        view = IctMembership,
        input = IctMembershipInput,
        name = "IctMembership",
        noun = "an ICT membership",
        tag = "memberships",
        collection = "/api/v1/ict-memberships",
        item = "/api/v1/ict-memberships/{key}",
        key = "Membership id",
        write_scope = "reference:write",
        example = crate::rest::examples::ict_membership,
        patch_example = crate::rest::examples::membership_patch,
        delete = delete
    );
}

pub mod partner_service {
    use pcr_schema::models::membership::{PartnerService, PartnerServiceInput, PartnerServiceRow};
    crate::entity_handlers!(
        entity = PartnerServiceRow,
        view = PartnerService,
        input = PartnerServiceInput,
        name = "PartnerService",
        noun = "an ICT partner service",
        tag = "icts",
        collection = "/api/v1/ict-partner-services",
        item = "/api/v1/ict-partner-services/{key}",
        key = "Partner service id",
        write_scope = "reference:write",
        example = crate::rest::examples::partner_service,
        patch_example = crate::rest::examples::membership_patch,
        delete = delete
    );
}

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
