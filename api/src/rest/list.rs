//! The list envelope: items, the cursor of the next page and a ready-made `next` link.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use pcr_schema::pagination::Page;
use serde::Serialize;
use utoipa::ToSchema;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T: ToSchema> {
    pub items: Vec<T>,
    /// Relative URL of the next page (the same query with `after` set); absent on the last page.
    pub next: Option<String>,
    /// Cursor to pass as `after` for the next page.
    pub next_cursor: Option<String>,
}

/// The request's path and query with `after` replaced by `cursor`.
pub fn next_link(req: &HttpRequest, cursor: &str) -> String {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != "after")
        .collect();
    pairs.push(("after".to_string(), cursor.to_string()));
    let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("{}?{}", req.path(), qs)
}

/// 200 with the page, and a `Link: <…>; rel="next"` header when there is more.
pub fn page<T: Serialize + ToSchema>(req: &HttpRequest, page: Page<T>) -> HttpResponse {
    let next = page.next_cursor.as_deref().map(|c| next_link(req, c));
    let mut res = HttpResponse::Ok();
    if let Some(n) = &next {
        res.insert_header((header::LINK, format!("<{n}>; rel=\"next\"")));
    }
    res.json(ListResponse { items: page.items, next, next_cursor: page.next_cursor })
}

/// A bounded relation (a practice's federations, say) returned whole.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemsResponse<T: ToSchema> {
    pub items: Vec<T>,
}

pub fn items<T: Serialize + ToSchema>(items: Vec<T>) -> HttpResponse {
    HttpResponse::Ok().json(ItemsResponse { items })
}
