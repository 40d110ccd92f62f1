//! Lists: a page as JSON (items, the next cursor, a ready `next` link, a weak ETag), or the
//! whole list as CSV or NDJSON by `Accept`, streamed page by page so the server holds one
//! page at a time however long the list is.

use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use pcr_schema::pagination::{Page, MAX_LIMIT};
use pcr_schema::DomainResult;
use serde::Serialize;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

use super::blocking;
use super::conditional::{none_match, weak_etag};
use crate::error::ApiResult;
use crate::http::negotiate::{negotiate, Format};

/// One page of a list, as served.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    pub items: Vec<T>,
    /// Relative URL of the next page (the same query with `after` set); absent on the last page.
    pub next: Option<String>,
    /// Cursor to pass as `after` for the next page.
    pub next_cursor: Option<String>,
}

/// A bounded relation (a practice's federations, say) returned whole.
#[derive(Debug, Serialize)]
pub struct ItemsResponse<T> {
    pub items: Vec<T>,
}

/// The OpenAPI schema of each list envelope, by name (`PracticeList`), so that generated
/// clients get one typed envelope per item type.
macro_rules! list_schemas {
    ($($list:ident => $item:ty),+ $(,)?) => {$(
        /// One page of a list: follow `next` (or pass `nextCursor` as `after`) until it is absent.
        #[derive(utoipa::ToSchema)]
        #[schema(rename_all = "camelCase")]
        #[allow(dead_code)]
        pub struct $list {
            pub items: Vec<$item>,
            /// Relative URL of the next page (the same query with `after` set); absent on the last page.
            pub next: Option<String>,
            /// Cursor to pass as `after` for the next page; absent on the last page.
            pub next_cursor: Option<String>,
        }
    )+};
}

macro_rules! items_schemas {
    ($($list:ident => $item:ty),+ $(,)?) => {$(
        /// The whole of a bounded relation.
        #[derive(utoipa::ToSchema)]
        #[allow(dead_code)]
        pub struct $list {
            pub items: Vec<$item>,
        }
    )+};
}

pub mod schemas {
    use pcr_schema::domain::audit_log::AuditEntry;
    use pcr_schema::domain::organisations::Member;
    use pcr_schema::models::federation::{Federation, Pcn};
    use pcr_schema::models::ict::IntegratedCareTeam;
    use pcr_schema::models::membership::{FederationMembership, IctMembership, PartnerService, PcnMembership};
    use pcr_schema::models::organisation::{Affiliation, Organisation};
    use pcr_schema::models::placement::Placement;
    use pcr_schema::models::practice::Practice;
    use pcr_schema::models::programme::Programme;
    use pcr_schema::models::role::Role;

    list_schemas!(
        PracticeList => Practice,
        OrganisationList => Organisation,
        PcnList => Pcn,
        FederationList => Federation,
        IntegratedCareTeamList => IntegratedCareTeam,
        RoleList => Role,
        ProgrammeList => Programme,
        PlacementList => Placement,
        AuditList => AuditEntry,
    );
    pub use crate::rest::changes::ChangeList;
    items_schemas!(
        PcnItems => Pcn,
        FederationItems => Federation,
        IntegratedCareTeamItems => IntegratedCareTeam,
        AffiliationItems => Affiliation,
        MemberItems => Member,
        PcnMembershipItems => PcnMembership,
        FederationMembershipItems => FederationMembership,
        IctMembershipItems => IctMembership,
        PartnerServiceItems => PartnerService,
    );
}

/// A list query: its page size and cursor can be set, for exports that walk every page.
pub trait Paged: Clone + Send + 'static {
    fn set_window(&mut self, limit: i64, after: Option<String>);
    fn after(&self) -> Option<String>;
}

macro_rules! paged {
    ($($q:ty),+) => {$(
        impl Paged for $q {
            fn set_window(&mut self, limit: i64, after: Option<String>) {
                self.limit = Some(limit);
                self.after = after;
            }
            fn after(&self) -> Option<String> {
                self.after.clone()
            }
        }
    )+};
}
paged!(
    pcr_schema::domain::practices::PracticeQuery,
    pcr_schema::domain::placements::PlacementQuery,
    pcr_schema::domain::groups::GroupQuery,
    pcr_schema::domain::organisations::OrganisationQuery,
    pcr_schema::domain::catalogue::RoleQuery,
    pcr_schema::domain::catalogue::ProgrammeQuery,
    pcr_schema::domain::changes::ChangeQuery,
    pcr_schema::domain::audit_log::AuditQuery
);

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

/// Answers a list request: the page `query` asks for as JSON, or every row from its cursor
/// on as CSV or NDJSON. `fetch` reads one page; it runs on the blocking pool.
pub async fn list<Q, T, F>(req: &HttpRequest, query: Q, fetch: F) -> ApiResult<HttpResponse>
where
    Q: Paged,
    T: Serialize + ToSchema + Send + 'static,
    F: Fn(&Q) -> DomainResult<Page<T>> + Send + Sync + 'static,
{
    let format = negotiate(req, Format::LIST)?;
    let fetch = Arc::new(fetch);
    if format == Format::Json {
        let page = {
            let fetch = fetch.clone();
            blocking(move || fetch(&query)).await?
        };
        return Ok(json_page(req, page));
    }
    if crate::http::is_head(req) {
        // The headers of the export, without reading every page for a body nobody reads.
        return Ok(export_response(req, format).finish());
    }
    let mut query = query;
    query.set_window(MAX_LIMIT, query.after());
    // The first page is read before the response starts, so that a bad filter or a missing
    // scope is a problem response, not a broken stream.
    let first = {
        let (fetch, query) = (fetch.clone(), query.clone());
        blocking(move || fetch(&query)).await?
    };
    let columns = columns::<T>();
    let state = Export { format, columns, page: Some(first), cursor: None, query, fetch, started: false };
    let body = futures_util::stream::unfold(state, Export::step);
    Ok(export_response(req, format).streaming(body))
}

/// A bounded list: JSON `{items}`, or CSV or NDJSON rows.
pub fn items<T: Serialize + ToSchema>(req: &HttpRequest, items: Vec<T>) -> ApiResult<HttpResponse> {
    let format = negotiate(req, Format::LIST)?;
    if format == Format::Json {
        return Ok(weak_json(req, serde_json::to_vec(&ItemsResponse { items }).unwrap_or_default(), None));
    }
    let columns = columns::<T>();
    let mut buf = Vec::new();
    write_rows(format, &columns, &items, true, &mut buf);
    Ok(export_response(req, format).body(buf))
}

fn json_page<T: Serialize>(req: &HttpRequest, page: Page<T>) -> HttpResponse {
    let next = page.next_cursor.as_deref().map(|c| next_link(req, c));
    let body =
        serde_json::to_vec(&ListResponse { items: page.items, next: next.clone(), next_cursor: page.next_cursor })
            .unwrap_or_default();
    weak_json(req, body, next)
}

/// A JSON list body with its weak ETag (304 when `If-None-Match` has it), `Vary: Accept`, and
/// `Link: <next>; rel="next"` when another page follows.
pub fn weak_json(req: &HttpRequest, body: Vec<u8>, next: Option<String>) -> HttpResponse {
    let tag = weak_etag(&body);
    let unchanged = none_match(req, &tag);
    let mut res = if unchanged { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    res.insert_header((header::ETAG, tag)).insert_header((header::VARY, "Accept"));
    if let Some(n) = &next {
        res.insert_header((header::LINK, format!("<{n}>; rel=\"next\"")));
    }
    if unchanged {
        return res.finish();
    }
    res.content_type("application/json").body(body)
}

fn export_response(req: &HttpRequest, format: Format) -> actix_web::HttpResponseBuilder {
    let name = req.path().trim_end_matches('/').rsplit('/').next().unwrap_or("export");
    let ext = if format == Format::Csv { "csv" } else { "ndjson" };
    let mut res = HttpResponse::Ok();
    res.content_type(format.content_type()).insert_header((header::VARY, "Accept"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.{ext}\"")) {
        res.insert_header((header::CONTENT_DISPOSITION, v));
    }
    res
}

/// The CSV columns of an item type: its schema's properties, in declaration order.
fn columns<T: ToSchema>() -> Vec<String> {
    match T::schema() {
        RefOr::T(Schema::Object(o)) => o.properties.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// One CSV cell: text as it is, numbers and booleans as JSON writes them, nothing for null,
/// a list of text one entry per line, anything else as JSON.
fn cell(v: Option<&serde_json::Value>) -> String {
    use serde_json::Value;
    match v {
        None | Some(Value::Null) => String::new(),
        // A cell a spreadsheet would read as a formula is quoted, so it stays text there too.
        Some(Value::String(s)) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{s}"),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
            a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n")
        }
        Some(other) => other.to_string(),
    }
}

fn write_rows<T: Serialize>(format: Format, columns: &[String], items: &[T], header: bool, out: &mut Vec<u8>) {
    match format {
        Format::Csv => {
            let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
            if header {
                let _ = w.write_record(columns);
            }
            for item in items {
                let v = serde_json::to_value(item).unwrap_or_default();
                let _ = w.write_record(columns.iter().map(|c| cell(v.get(c))));
            }
            out.extend(w.into_inner().unwrap_or_default());
        }
        Format::Ndjson | Format::Json => {
            for item in items {
                let _ = serde_json::to_writer(&mut *out, item);
                out.push(b'\n');
            }
        }
    }
}

/// An export in progress: the page in hand, or the cursor of the next one.
struct Export<Q, T, F> {
    format: Format,
    columns: Vec<String>,
    page: Option<Page<T>>,
    cursor: Option<String>,
    query: Q,
    fetch: Arc<F>,
    started: bool,
}

impl<Q, T, F> Export<Q, T, F>
where
    Q: Paged,
    T: Serialize + Send + 'static,
    F: Fn(&Q) -> DomainResult<Page<T>> + Send + Sync + 'static,
{
    /// Writes the page in hand, reading it first if only its cursor is known. A page that
    /// fails to read ends the body with an error, so the client sees a cut-off transfer
    /// rather than a short list that looks whole.
    async fn step(mut self) -> Option<(Result<Bytes, actix_web::Error>, Self)> {
        let page = match (self.page.take(), self.cursor.take()) {
            (Some(page), _) => page,
            (None, Some(cursor)) => {
                self.query.set_window(MAX_LIMIT, Some(cursor));
                let (fetch, query) = (self.fetch.clone(), self.query.clone());
                match blocking(move || fetch(&query)).await {
                    Ok(page) => page,
                    Err(e) => {
                        tracing::error!(error = %e, "export stopped: a page could not be read");
                        return Some((Err(actix_web::error::ErrorInternalServerError("export stopped")), self));
                    }
                }
            }
            (None, None) => return None,
        };
        let mut buf = Vec::with_capacity(64 * 1024);
        write_rows(self.format, &self.columns, &page.items, !self.started, &mut buf);
        self.started = true;
        self.cursor = page.next_cursor;
        Some((Ok(Bytes::from(buf)), self))
    }
}
