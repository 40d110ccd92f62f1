//! `/api/v1/audit`: the audit trail, accepted writes and refused ones, for admins and (for
//! their own placements) an organisation's partners.

use actix_web::{web, HttpRequest, HttpResponse};
use pcr_schema::domain::audit_log::{self, AuditQuery};
use pcr_schema::Db;

use super::list::list as list_of;
use super::list::schemas::AuditList;
use super::params::parse;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::http::resource::Resource;
use crate::openapi::{BadRequest, Forbidden, ListOk, NotAcceptable, Unauthorized, Unprocessable};

/// List the audit trail
///
/// Every write and every refused one (a 401 for a token whose signature verified, a 403, a
/// 404 from organisation scope), in the order recorded: who (`actor`, `actorOrg`), when, from
/// which request, what (`entity`, `id`, `action`), the `outcome`, and the record before and
/// after. Filters: `entity`, `id`, `actor`, `org`, `outcome`, `since`, `until`. `admin` reads
/// all of it; a partner with `placements:read` reads the entries of the placements within its
/// organisation's reach.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", operation_id = "listAuditEntries",
    params(AuditQuery),
    security(("bearer" = ["admin", "placements:read"])),
    responses(ListOk<AuditList>, BadRequest, Unauthorized, Forbidden, NotAcceptable, Unprocessable))]
pub async fn list(req: HttpRequest, caller: Caller, db: web::Data<Db>) -> ApiResult<HttpResponse> {
    pcr_schema::domain::placements::check_reader(caller.actor())?;
    let query: AuditQuery = parse(req.query_string())?;
    let db = db.get_ref().clone();
    list_of(&req, query, move |q| audit_log::list(&db, caller.actor(), q)).await
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Resource::new("/audit").get(list).done());
}
