//! `/api/v1/changes`: every committed write in commit order, deletions included, for
//! integrators keeping a mirror (see the README's "Staying in sync").

use actix_web::{web, HttpRequest, HttpResponse};
use pcr_schema::domain::changes::{self as feed, ChangeQuery};
use pcr_schema::Db;
use serde::Serialize;

pub use pcr_schema::domain::changes::Change;

use super::blocking;
use super::list::{list as list_of, next_link, weak_json};
use super::params::parse;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::http::negotiate::{negotiate, Format};
use crate::http::resource::Resource;
use crate::openapi::{BadRequest, Forbidden, ListOk, NotAcceptable, Unauthorized, Unprocessable};

/// A page of the change feed.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeList {
    pub items: Vec<Change>,
    /// Relative URL of the next page while more changes are waiting; absent when caught up.
    pub next: Option<String>,
    /// The position after the last change here (or the one asked from, when there were
    /// none): pass it as `after` to read what commits later.
    pub next_cursor: String,
}

/// List changes
///
/// Every committed write — create, update, delete, end, import — in the order it committed,
/// from the position `after` (absent: the beginning). Each change names the record, its new
/// version and where to read it. `nextCursor` is always given: keep it and ask again later
/// for what came since. `next` is given while more changes are waiting. Changes to
/// placements need `placements:read`; without it they are left out.
#[utoipa::path(get, path = "/api/v1/changes", tag = "changes", operation_id = "listChanges",
    params(ChangeQuery),
    security((), ("bearer" = ["placements:read"])),
    responses(ListOk<ChangeList>, BadRequest, Unauthorized, Forbidden, NotAcceptable, Unprocessable))]
pub async fn list(req: HttpRequest, caller: Caller, db: web::Data<Db>) -> ApiResult<HttpResponse> {
    let query: ChangeQuery = parse(req.query_string())?;
    let db = db.get_ref().clone();
    if negotiate(&req, Format::LIST)? != Format::Json {
        return list_of(&req, query, move |q| Ok(feed::list(&db, caller.actor(), q)?.page)).await;
    }
    let page = blocking(move || feed::list(&db, caller.actor(), &query)).await?;
    let next = page.page.next_cursor.as_deref().map(|c| next_link(&req, c));
    let body = ChangeList { items: page.page.items, next: next.clone(), next_cursor: page.resume };
    Ok(weak_json(&req, serde_json::to_vec(&body).unwrap_or_default(), next))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Resource::new("/changes").get(list).done());
}
