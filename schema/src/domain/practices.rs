//! Reading practices: lists with filters and keyset pages, and a practice's groups.

// foldhash: these maps are keyed by codes and ids on every nested page; SipHash was a few
// per cent of a request.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use super::placements::{
    self as placement_queries, placement_filters, ranked_after, ParentPages, PlacementParent, PlacementQuery,
};
use super::reach::{reach_filter, Reach};
use super::window::{AllColumns, MembersWithPlacements};
use crate::actor::{Actor, Scope};
use crate::db::{Db, DbConnection, MultiBackend};
use crate::error::{DomainError, DomainResult};
use crate::models::federation::{Federation, Pcn};
use crate::models::ict::IntegratedCareTeam;
use crate::models::placement::PlacementRow;
use crate::models::practice::{Practice, PracticeRow, PracticeStatus};
use crate::models::role::RoleRow;
use crate::pagination::{parse_text, parse_timestamp, ListWindow, Page, SortValue};
use crate::tables::{affiliations as aff, placements, practices};
use crate::validate::postcode_prefix;
use crate::{keyset, keyset_filter, keyset_order};

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

crate::list_query! {
    /// Filters and paging for practice lists.
    #[derive(PartialEq, Eq, Hash)]
    pub struct PracticeQuery {
        /// Part of the practice name (any case), or an exact ODS code.
        pub q: Option<String>,
        pub status: Option<PracticeStatus>,
        /// Commissioner (CCG / sub-ICB location) code, e.g. `05G`.
        pub commissioner: Option<String>,
        /// Start of the postcode, e.g. `ST3` or `WS13 `.
        pub postcode: Option<String>,
        /// Only practices open on this date; for a federation's or ICT's practices, also
        /// members on this date (default today).
        pub active_on: Option<NaiveDate>,
        /// Only practices changed at or after this instant (RFC 3339).
        pub updated_since: Option<DateTime<Utc>>,
    }
    sorts = PRACTICE_SORTS = ["odsCode", "name", "updatedAt"],
    schema = practice_sort_schema,
    doc = "`odsCode` (default), `name` or `updatedAt`; prefix `-` for descending."
}

/// Restricts a practice list to the members of an organisation (a PCN, federation, ICT or
/// commissioner, by code) on a day.
#[derive(Debug, Clone)]
pub struct MemberOf(pub String, pub NaiveDate);

/// The kinds of affiliation a practice may have, as stored.
fn practice_affiliations() -> Vec<&'static str> {
    crate::kinds::OrgKind::Practice.affiliation_kinds_as_member().into_iter().map(|k| k.as_str()).collect()
}

/// Escapes LIKE wildcards so user text matches literally.
pub(crate) fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Applies the practice filters (not membership) to any boxed query over `practices`,
/// alone or joined with a membership table.
macro_rules! practice_filters {
    ($q:expr, $query:expr) => {{
        let query: &PracticeQuery = $query;
        let mut q = $q;
        if let Some(text) = query.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let pattern = format!("%{}%", like_escape(&text.to_lowercase()));
            q = q.filter(
                lower(practices::name).like(pattern).escape('\\').or(practices::ods_code.eq(text.to_ascii_uppercase())),
            );
        }
        if let Some(s) = query.status {
            q = q.filter(practices::status.eq(s.as_str()));
        }
        if let Some(c) = query.commissioner.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            q = q.filter(practices::commissioner_code.eq(c.to_ascii_uppercase()));
        }
        if let Some(p) = query.postcode.as_deref().filter(|s| !s.trim().is_empty()) {
            let p = postcode_prefix(p);
            if !p.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ') || p.len() > 8 {
                return Err::<_, DomainError>(DomainError::invalid(
                    "postcode",
                    "must be the start of a postcode: letters, digits and a space",
                ));
            }
            q = q.filter(practices::postcode.like(format!("{p}%")));
        }
        if let Some(day) = query.active_on {
            q = q
                .filter(practices::opened_on.is_null().or(practices::opened_on.le(day)))
                .filter(practices::closed_on.is_null().or(practices::closed_on.ge(day)));
        }
        if let Some(t) = query.updated_since {
            q = q.filter(practices::updated_at.ge(t.naive_utc()));
        }
        Ok::<_, DomainError>(q)
    }};
}

/// The practice filters, as a query to page, count or batch.
fn filtered(
    query: &PracticeQuery,
    member_of: Option<&MemberOf>,
) -> DomainResult<practices::BoxedQuery<'static, MultiBackend>> {
    let mut q = practice_filters!(practices::table.into_boxed::<MultiBackend>(), query)?;
    if let Some(MemberOf(code, day)) = member_of {
        let members = aff::table
            .filter(aff::parent_code.eq(code.clone()))
            .filter(aff::kind.eq_any(practice_affiliations()))
            .filter(aff::start_date.le(*day))
            .filter(aff::end_date.is_null().or(aff::end_date.ge(*day)))
            .select(aff::member_code);
        q = q.filter(practices::ods_code.eq_any(members));
    }
    Ok(q)
}

fn window(query: &PracticeQuery) -> DomainResult<ListWindow> {
    ListWindow::parse(query.limit, query.after.as_deref(), query.sort.as_deref(), PRACTICE_SORTS)
}

fn cursor_value(window: &ListWindow, r: &PracticeRow) -> (SortValue, String) {
    let v = match window.sort.as_str() {
        "name" => SortValue::Text(r.name.clone()),
        "updatedAt" => SortValue::Timestamp(r.updated_at),
        _ => SortValue::Text(r.ods_code.clone()),
    };
    (v, r.id.clone())
}

pub fn list(db: &Db, query: &PracticeQuery, member_of: Option<&MemberOf>) -> DomainResult<Page<Practice>> {
    crate::validate::check_filters(query)?;
    let window = window(query)?;
    let q = filtered(query, member_of)?;
    let rows: Vec<PracticeRow> = db.read(|c| {
        let q = match window.sort.as_str() {
            "name" => keyset!(q, &window, practices::name, practices::id, parse_text),
            "updatedAt" => keyset!(q, &window, practices::updated_at, practices::id, parse_timestamp),
            _ => keyset!(q, &window, practices::ods_code, practices::id, parse_text),
        };
        Ok(q.load(c)?)
    })?;
    Ok(window.finish(rows, |r| cursor_value(&window, r)).map(PracticeRow::into_view))
}

/// How many practices match the filters (the paging fields are ignored).
pub fn count(db: &Db, query: &PracticeQuery, member_of: Option<&MemberOf>) -> DomainResult<i64> {
    crate::validate::check_filters(query)?;
    let q = filtered(query, member_of)?;
    db.read(|c| Ok(q.count().get_result(c)?))
}

/// Member pages of many organisations (of any kind that has member practices): for each group a page of its practices and its total.
pub type MemberPages = HashMap<String, (Page<Practice>, i64)>;

/// One page of member practices (on the query's `active_on` day, default today) for each of
/// many groups, and each group's total: one statement whatever the number of groups (two
/// when reading after a cursor, to count).
pub fn members_by_group(db: &Db, codes: &[String], query: &PracticeQuery) -> DomainResult<MemberPages> {
    Ok(members(db, codes, query, None)?.0)
}

/// [`members_by_group`], and in the same statement one page of placements (matching
/// `placements`) for every practice on the member pages, with the placements' roles. The
/// placements come only when `actor` may read them (`None` otherwise: asking for them one by
/// one then gives the caller the usual refusal).
pub fn members_with_placements(
    db: &Db,
    actor: Option<&Actor>,
    codes: &[String],
    query: &PracticeQuery,
    placements: &PlacementQuery,
) -> DomainResult<(MemberPages, Option<ParentPages>)> {
    // Placements come in the same statement only for a caller who may read them; any other
    // caller is refused by the nested field's own read.
    let reach = match actor.filter(|a| a.has(Scope::PlacementsRead)) {
        Some(a) => Reach::for_actor(db, a).ok(),
        None => None,
    };
    members(db, codes, query, reach.as_ref().map(|r| (placements, r)))
}

/// A row of [`MembersWithPlacements`]: the member and its group, then a placement, its rank
/// and its role, or nulls for a member without placements.
type MemberRow = ((PracticeRow, String), Option<PlacementRow>, Option<i64>, Option<RoleRow>);

/// A placement of a joined row, its rank and its role (all null for a member without).
type JoinedPlacement = (Option<PlacementRow>, Option<i64>, Option<RoleRow>);

/// Members read (each with its group code), and the placement parts of the joined rows when
/// placements came too.
type MembersRead = (Vec<(PracticeRow, String)>, Option<Vec<JoinedPlacement>>);

fn members(
    db: &Db,
    codes: &[String],
    query: &PracticeQuery,
    nested: Option<(&PlacementQuery, &Reach)>,
) -> DomainResult<(MemberPages, Option<ParentPages>)> {
    crate::validate::check_filters(query)?;
    if let Some((p, _)) = &nested {
        crate::validate::check_filters(p)?;
    }
    let window = window(query)?;
    let nested = match nested {
        Some((pq, reach)) => Some((pq, placement_queries::window(pq)?, reach)),
        None => None,
    };
    if codes.is_empty() {
        return Ok((HashMap::new(), nested.map(|_| ParentPages::default())));
    }
    let day = query.active_on.unwrap_or_else(crate::today);
    // Only the affiliations a practice can have: an ICT's partner services are not read.
    let kinds: Vec<&str> = practice_affiliations();
    // One statement: the member practices joined with their memberships, filtered, after
    // the cursor, in sort order. Membership keeps these sets small (a group has tens of
    // practices), so every matching member is read and cut per group here.
    macro_rules! members {
        ($backend:ty, $with_cursor:expr) => {{
            let q = practices::table
                .inner_join(aff::table.on(aff::member_code.eq(practices::ods_code)))
                .filter(aff::parent_code.eq_any(codes))
                .filter(aff::kind.eq_any(&kinds))
                .filter(aff::start_date.le(day))
                .filter(aff::end_date.is_null().or(aff::end_date.ge(day)))
                .select((AllColumns::<practices::table>::of(), aff::parent_code))
                .into_boxed::<$backend>();
            let q = practice_filters!(q, query)?;
            match (window.sort.as_str(), $with_cursor) {
                ("name", true) => {
                    let q = keyset_filter!(q, &window, practices::name, practices::id, parse_text);
                    keyset_order!(q, &window, practices::name, practices::id)
                }
                ("updatedAt", true) => {
                    let q = keyset_filter!(q, &window, practices::updated_at, practices::id, parse_timestamp);
                    keyset_order!(q, &window, practices::updated_at, practices::id)
                }
                (_, true) => {
                    let q = keyset_filter!(q, &window, practices::ods_code, practices::id, parse_text);
                    keyset_order!(q, &window, practices::ods_code, practices::id)
                }
                (_, false) => q,
            }
        }};
    }
    let order = match window.sort.as_str() {
        "name" => "name",
        "updatedAt" => "updated_at",
        _ => "ods_code",
    };
    // The members with their placements: the placements are ranked among those of every
    // practice that is a member of the groups on the day (a superset of the pages; the join
    // keeps the members').
    macro_rules! with_placements {
        ($backend:ty, $pq:expr, $pw:expr, $reach:expr) => {{
            let pw: &ListWindow = $pw;
            let reached = reach_filter!(placements::table.into_boxed::<$backend>(), $reach, $backend);
            let restricted = placement_filters!(reached, $pq).filter(
                placements::host_code.eq_any(
                    aff::table
                        .filter(aff::parent_code.eq_any(codes.to_vec()))
                        .filter(aff::kind.eq_any(kinds.clone()))
                        .filter(aff::start_date.le(day))
                        .filter(aff::end_date.is_null().or(aff::end_date.ge(day)))
                        .select(aff::member_code),
                ),
            );
            MembersWithPlacements {
                members: members!($backend, true),
                ranked: ranked_after!(restricted, pw, PlacementParent::Host),
                limit: pw.limit + 1,
                order,
                descending: window.descending,
            }
        }};
    }
    // Run on the backend's own connection, where a statement is rendered once per run rather
    // than several times (the multi-backend connection renders it for every pass).
    macro_rules! read {
        ($c:expr, $backend:ty) => {{
            let (rows, joined): MembersRead = match &nested {
                None => (members!($backend, true).load($c)?, None),
                Some((pq, pw, reach)) => split_members(with_placements!($backend, pq, pw, reach).load($c)?),
            };
            // Totals count every matching member before the cursor: the same rows when there
            // is no cursor, one more statement when there is.
            let counted: Option<Vec<(PracticeRow, String)>> = match window.after.is_some() {
                false => None,
                true => Some(members!($backend, false).load($c)?),
            };
            (rows, joined, counted)
        }};
    }
    let (rows, joined, counted) = db.read(|c| {
        Ok(match c {
            DbConnection::Pg(c) => read!(c, diesel::pg::Pg),
            DbConnection::Sqlite(c) => read!(c, diesel::sqlite::Sqlite),
        })
    })?;
    let mut totals: HashMap<String, i64> = HashMap::new();
    for (_, group) in counted.as_deref().unwrap_or(&rows) {
        *totals.entry(group.clone()).or_default() += 1;
    }
    let mut per_group: HashMap<String, Vec<PracticeRow>> = HashMap::new();
    for (r, group) in rows {
        let list = per_group.entry(group).or_default();
        if (list.len() as i64) <= window.limit {
            list.push(r);
        }
    }
    let pages: MemberPages = codes
        .iter()
        .map(|code| {
            let rows = per_group.remove(code).unwrap_or_default();
            let page = window.finish(rows, |r| cursor_value(&window, r)).map(PracticeRow::into_view);
            (code.clone(), (page, totals.get(code).copied().unwrap_or(0)))
        })
        .collect();
    let placements = match (joined, nested) {
        (Some(rows), Some((_, pw, _))) => {
            let on_pages: Vec<String> =
                pages.values().flat_map(|(page, _)| page.items.iter().map(|p| p.ods_code.clone())).collect();
            let mut roles = HashMap::new();
            let mut seen = HashSet::new();
            let mut ranked = Vec::new();
            for (placement, rank, role) in rows {
                if let (Some(p), Some(rank)) = (placement, rank) {
                    // A practice in two of the groups comes twice with the same placements.
                    if seen.insert(p.id.clone()) {
                        ranked.push((p, rank));
                    }
                }
                if let Some(role) = role {
                    placement_queries::keep_role(&mut roles, &role);
                }
            }
            Some(ParentPages {
                pages: placement_queries::pages_of(ranked, PlacementParent::Host, &on_pages, &pw),
                roles,
            })
        }
        _ => None,
    };
    Ok((pages, placements))
}

/// Splits the rows of [`MembersWithPlacements`] into the member rows (each member once per
/// group, in the order they first come) and the placement parts of the rows.
fn split_members(rows: Vec<MemberRow>) -> MembersRead {
    let mut members: Vec<(PracticeRow, String)> = Vec::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut rest = Vec::with_capacity(rows.len());
    for ((practice, group), placement, rank, role) in rows {
        if seen.insert((practice.id.clone(), group.clone())) {
            members.push((practice, group));
        }
        rest.push((placement, rank, role));
    }
    (members, Some(rest))
}

/// The PCNs a practice belongs to on `day`.
pub fn pcns_of(db: &Db, ods_code: &str, day: NaiveDate) -> DomainResult<Vec<Pcn>> {
    let key = ods_code.to_string();
    Ok(super::lookups::pcns_of_practices(db, std::slice::from_ref(&key), day)?.remove(&key).unwrap_or_default())
}

/// The federations a practice belongs to on `day`.
pub fn federations_of(db: &Db, ods_code: &str, day: NaiveDate) -> DomainResult<Vec<Federation>> {
    let key = ods_code.to_string();
    Ok(super::lookups::federations_of_practices(db, std::slice::from_ref(&key), day)?.remove(&key).unwrap_or_default())
}

/// The ICTs a practice belongs to on `day`.
pub fn icts_of(db: &Db, ods_code: &str, day: NaiveDate) -> DomainResult<Vec<IntegratedCareTeam>> {
    let key = ods_code.to_string();
    Ok(super::lookups::icts_of_practices(db, std::slice::from_ref(&key), day)?.remove(&key).unwrap_or_default())
}
