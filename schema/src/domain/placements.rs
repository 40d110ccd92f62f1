//! Reading placements with filters, and ending one.

// foldhash: these maps are keyed by codes and ids on every nested page; SipHash was a few
// per cent of a request.
use foldhash::{HashMap, HashMapExt};

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use super::reach::{reach_filter, Reach};
use crate::actor::{require, Actor, Scope};
use crate::audit::Action;
use crate::db::{Db, MultiBackend};
use crate::error::DomainResult;
use crate::keyset;
use crate::models::placement::{HostType, Placement, PlacementRow, PlacementStatus};
use crate::models::role::{Role, RoleRow};
use crate::pagination::{parse_date, parse_timestamp, ListWindow, Page, SortValue};
use crate::tables::placements;

crate::list_query! {
    /// Filters and paging for placement lists.
    #[derive(PartialEq, Eq, Hash)]
    pub struct PlacementQuery {
        /// Role code, e.g. `physician-associate`.
        pub role: Option<String>,
        /// Programme code, e.g. `gp-retainer-scheme`.
        pub programme: Option<String>,
        /// Host code: a practice's or PCN's ODS code, a federation's or ICT's code, or an
        /// external host's code.
        pub host: Option<String>,
        pub host_type: Option<HostType>,
        /// `planned`, `active` or `ended`, as of today.
        pub status: Option<PlacementStatus>,
        /// Only placements running on this date.
        pub active_on: Option<NaiveDate>,
        /// The partner's staff reference (all parts of a split post).
        pub staff_ref: Option<String>,
        /// Only placements changed at or after this instant (RFC 3339).
        pub updated_since: Option<DateTime<Utc>>,
    }
    sorts = PLACEMENT_SORTS = ["createdAt", "startDate", "updatedAt"],
    schema = placement_sort_schema,
    doc = "`createdAt` (default), `startDate` or `updatedAt`; prefix `-` for descending."
}

/// Applies the placement filters to a boxed placements query (of either backend).
macro_rules! placement_filters {
    ($q:expr, $query:expr) => {{
        let query: &$crate::domain::placements::PlacementQuery = $query;
        let mut q = $q;
        let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        if let Some(r) = text(&query.role) {
            q = q.filter($crate::tables::placements::role_code.eq(r));
        }
        if let Some(p) = text(&query.programme) {
            q = q.filter($crate::tables::placements::programme_code.eq(p));
        }
        if let Some(h) = text(&query.host).map(|h| h.to_ascii_uppercase()) {
            q = q.filter($crate::tables::placements::host_code.eq(h));
        }
        if let Some(t) = query.host_type {
            q = q.filter($crate::tables::placements::host_type.eq(t.as_str()));
        }
        if let Some(s) = text(&query.staff_ref) {
            q = q.filter($crate::tables::placements::staff_ref.eq(s));
        }
        let today = $crate::today();
        match query.status {
            Some($crate::models::placement::PlacementStatus::Planned) => {
                q = q.filter($crate::tables::placements::start_date.gt(today))
            }
            Some($crate::models::placement::PlacementStatus::Active) => {
                q = q.filter($crate::tables::placements::start_date.le(today)).filter(
                    $crate::tables::placements::end_date.is_null().or($crate::tables::placements::end_date.ge(today)),
                )
            }
            Some($crate::models::placement::PlacementStatus::Ended) => {
                q = q.filter($crate::tables::placements::end_date.lt(today))
            }
            None => {}
        }
        if let Some(day) = query.active_on {
            q = q.filter($crate::tables::placements::start_date.le(day)).filter(
                $crate::tables::placements::end_date.is_null().or($crate::tables::placements::end_date.ge(day)),
            );
        }
        if let Some(t) = query.updated_since {
            q = q.filter($crate::tables::placements::updated_at.ge(t.naive_utc()));
        }
        q
    }};
}
pub(crate) use placement_filters;

/// The placement filters, as a query to page, count or batch.
/// The placements matching the filters that the caller reaches.
pub(crate) fn filtered(query: &PlacementQuery, reach: &Reach) -> placements::BoxedQuery<'static, MultiBackend> {
    reach_filter!(placement_filters!(placements::table.into_boxed::<MultiBackend>(), query), reach, MultiBackend)
}

pub(crate) fn window(query: &PlacementQuery) -> DomainResult<ListWindow> {
    ListWindow::parse(query.limit, query.after.as_deref(), query.sort.as_deref(), PLACEMENT_SORTS)
}

fn cursor_value(window: &ListWindow, r: &PlacementRow) -> (SortValue, String) {
    let v = match window.sort.as_str() {
        "startDate" => SortValue::Date(r.start_date),
        "updatedAt" => SortValue::Timestamp(r.updated_at),
        _ => SortValue::Timestamp(r.created_at),
    };
    (v, r.id.clone())
}

pub fn list(db: &Db, actor: Option<&Actor>, query: &PlacementQuery) -> DomainResult<Page<Placement>> {
    let reach = reader(db, actor)?;
    crate::validate::check_filters(query)?;
    let window = window(query)?;
    let q = filtered(query, &reach);
    let rows: Vec<PlacementRow> = db.read(|c| {
        let q = match window.sort.as_str() {
            "startDate" => keyset!(q, &window, placements::start_date, placements::id, parse_date),
            "updatedAt" => keyset!(q, &window, placements::updated_at, placements::id, parse_timestamp),
            _ => keyset!(q, &window, placements::created_at, placements::id, parse_timestamp),
        };
        Ok(q.load(c)?)
    })?;
    Ok(window.finish(rows, |r| cursor_value(&window, r)).map(PlacementRow::into_view))
}

/// A reader of placements: `placements:read`, acting for an organisation or `admin`; what it
/// reaches.
pub(crate) fn reader(db: &Db, actor: Option<&Actor>) -> DomainResult<Reach> {
    Reach::for_actor(db, check_reader(actor)?)
}

/// The caller a read of placements needs, checked before anything else: authenticated (401),
/// with `placements:read` (403), acting for an organisation or `admin` (403).
pub fn check_reader(actor: Option<&Actor>) -> DomainResult<&Actor> {
    let actor = require(actor, Scope::PlacementsRead)?;
    super::reach::require_org(actor)?;
    Ok(actor)
}

/// How many placements match the filters (the paging fields are ignored).
pub fn count(db: &Db, actor: Option<&Actor>, query: &PlacementQuery) -> DomainResult<i64> {
    let reach = reader(db, actor)?;
    crate::validate::check_filters(query)?;
    let q = filtered(query, &reach);
    db.read(|c| Ok(q.count().get_result(c)?))
}

/// The parent a nested page of placements hangs from: the host organisation (of whatever
/// kind: codes are unique across kinds), the role or the programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlacementParent {
    Host,
    Role,
    Programme,
}

impl PlacementParent {
    /// Narrows a list's filters to the placements under one parent.
    pub fn narrow(self, query: &mut PlacementQuery, code: String) {
        let filter = match self {
            PlacementParent::Host => &mut query.host,
            PlacementParent::Role => &mut query.role,
            PlacementParent::Programme => &mut query.programme,
        };
        *filter = Some(code);
    }

    pub(crate) fn column(self) -> &'static str {
        match self {
            PlacementParent::Host => "host_code",
            PlacementParent::Role => "role_code",
            PlacementParent::Programme => "programme_code",
        }
    }

    fn key_of(self, r: &PlacementRow) -> Option<&str> {
        match self {
            PlacementParent::Host => Some(&r.host_code),
            PlacementParent::Role => Some(&r.role_code),
            PlacementParent::Programme => r.programme_code.as_deref(),
        }
    }

    fn restrict(
        self,
        q: placements::BoxedQuery<'static, MultiBackend>,
        keys: Vec<String>,
    ) -> placements::BoxedQuery<'static, MultiBackend> {
        match self {
            PlacementParent::Host => q.filter(placements::host_code.eq_any(keys)),
            PlacementParent::Role => q.filter(placements::role_code.eq_any(keys)),
            PlacementParent::Programme => q.filter(placements::programme_code.eq_any(keys)),
        }
    }
}

/// Pages of placements for many parents, and the roles of the placements on them when asked.
#[derive(Debug, Default)]
pub struct ParentPages {
    pub pages: HashMap<String, Page<Placement>>,
    /// By role code; empty unless roles were asked for.
    pub roles: HashMap<String, Role>,
}

/// Keeps a role that came with a placement, once per code (most placements share a few).
pub(crate) fn keep_role(roles: &mut HashMap<String, Role>, role: &RoleRow) {
    if !roles.contains_key(&role.code) {
        roles.insert(role.code.clone(), role.view());
    }
}

/// A placements query selecting every column and `rn`, the row's rank within its parent.
pub(crate) type Ranked = diesel::dsl::Select<
    placements::BoxedQuery<'static, MultiBackend>,
    (super::window::AllColumns<placements::table>, super::window::RowNumber),
>;

/// Keeps the rows of a boxed placements query (of either backend) after the window's
/// cursor and selects them with their rank within each parent, in the window's order.
macro_rules! ranked_after {
    ($q:expr, $window:expr, $parent:expr) => {{
        let window: &$crate::pagination::ListWindow = $window;
        let parent: $crate::domain::placements::PlacementParent = $parent;
        let q = $q;
        let q = match window.sort.as_str() {
            "startDate" => $crate::keyset_filter!(
                q,
                window,
                $crate::tables::placements::start_date,
                $crate::tables::placements::id,
                $crate::pagination::parse_date
            ),
            "updatedAt" => $crate::keyset_filter!(
                q,
                window,
                $crate::tables::placements::updated_at,
                $crate::tables::placements::id,
                $crate::pagination::parse_timestamp
            ),
            _ => $crate::keyset_filter!(
                q,
                window,
                $crate::tables::placements::created_at,
                $crate::tables::placements::id,
                $crate::pagination::parse_timestamp
            ),
        };
        let sort_col = match window.sort.as_str() {
            "startDate" => "start_date",
            "updatedAt" => "updated_at",
            _ => "created_at",
        };
        let rank = $crate::domain::window::RowNumber {
            partition: parent.column(),
            order: sort_col,
            descending: window.descending,
        };
        q.select(($crate::domain::window::AllColumns::<$crate::tables::placements::table>::of(), rank))
    }};
}
pub(crate) use ranked_after;

/// The placements matching `query` (restricted to some parents by the caller), after the
/// window's cursor, ranked within each parent in the window's order.
pub(crate) fn ranked(
    query: &PlacementQuery,
    reach: &Reach,
    parent: PlacementParent,
    restrict: impl FnOnce(placements::BoxedQuery<'static, MultiBackend>) -> placements::BoxedQuery<'static, MultiBackend>,
) -> DomainResult<(ListWindow, Ranked)> {
    crate::validate::check_filters(query)?;
    let window = window(query)?;
    let ranked = ranked_after!(restrict(filtered(query, reach)), &window, parent);
    Ok((window, ranked))
}

/// Cuts ranked rows into one page per parent key (every key gets a page, maybe empty).
pub(crate) fn pages_of(
    rows: impl IntoIterator<Item = (PlacementRow, i64)>,
    parent: PlacementParent,
    keys: &[String],
    window: &ListWindow,
) -> HashMap<String, Page<Placement>> {
    let mut grouped: HashMap<String, Vec<(PlacementRow, i64)>> = HashMap::new();
    for (row, rank) in rows {
        if let Some(k) = parent.key_of(&row) {
            grouped.entry(k.to_string()).or_default().push((row, rank));
        }
    }
    let mut out = HashMap::with_capacity(keys.len());
    for k in keys {
        // A key given twice (a practice in two of the groups) gets its page once.
        if out.contains_key(k) {
            continue;
        }
        let mut rows = grouped.remove(k.as_str()).unwrap_or_default();
        rows.sort_by_key(|(_, rank)| *rank);
        let rows: Vec<PlacementRow> = rows.into_iter().map(|(r, _)| r).collect();
        out.insert(k.clone(), window.finish(rows, |r| cursor_value(window, r)).map(PlacementRow::into_view));
    }
    out
}

/// One page of placements for each of many parents, in one statement whatever their
/// number (a window function keeps the first rows of every parent). With `with_roles` the
/// same statement brings each placement's role.
pub fn pages_by_parent(
    db: &Db,
    actor: Option<&Actor>,
    parent: PlacementParent,
    keys: &[String],
    query: &PlacementQuery,
    with_roles: bool,
) -> DomainResult<ParentPages> {
    let reach = reader(db, actor)?;
    let (window, inner) = ranked(query, &reach, parent, |q| parent.restrict(q, keys.to_vec()))?;
    if keys.is_empty() {
        return Ok(ParentPages::default());
    }
    let limit = window.limit + 1;
    let mut roles = HashMap::new();
    let rows: Vec<(PlacementRow, i64)> = if with_roles {
        let rows: Vec<((PlacementRow, i64), RoleRow)> =
            db.read(|c| Ok(super::window::top_per_group_with_roles(inner, limit).load(c)?))?;
        rows.into_iter()
            .map(|(placement, role)| {
                keep_role(&mut roles, &role);
                placement
            })
            .collect()
    } else {
        db.read(|c| Ok(super::window::top_per_group(inner, limit).load(c)?))?
    };
    Ok(ParentPages { pages: pages_of(rows, parent, keys, &window), roles })
}

/// How many placements match the filters under each parent, in one statement.
pub fn counts_by_parent(
    db: &Db,
    actor: Option<&Actor>,
    parent: PlacementParent,
    keys: &[String],
    query: &PlacementQuery,
) -> DomainResult<HashMap<String, i64>> {
    let reach = reader(db, actor)?;
    crate::validate::check_filters(query)?;
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let q = parent.restrict(filtered(query, &reach), keys.to_vec());
    let key = super::window::GroupKey(parent.column());
    let inner = q.select(key);
    let rows: Vec<(Option<String>, i64)> = db.read(|c| Ok(super::window::count_per_group(inner).load(c)?))?;
    let mut counts: HashMap<String, i64> = rows.into_iter().filter_map(|(k, n)| k.map(|k| (k, n))).collect();
    Ok(keys.iter().map(|k| (k.clone(), counts.remove(k).unwrap_or(0))).collect())
}

/// Ends a placement on `end_date` (default today). Placements are ended, never erased.
pub fn end(
    db: &Db,
    actor: Option<&Actor>,
    id: &str,
    expected: impl Into<super::crud::Expected>,
    end_date: Option<NaiveDate>,
) -> DomainResult<PlacementRow> {
    let then = Box::new(|_: &mut crate::db::DbConnection, _: &PlacementRow| Ok(()));
    end_then::<()>(db, actor, id, expected.into(), end_date, then).map(|(record, ())| record)
}

/// [`end`], then `then` in the same transaction.
pub fn end_then<T>(
    db: &Db,
    actor: Option<&Actor>,
    id: &str,
    expected: super::crud::Expected,
    end_date: Option<NaiveDate>,
    then: super::crud::Then<'_, PlacementRow, T>,
) -> DomainResult<(PlacementRow, T)> {
    let day = end_date.unwrap_or_else(crate::today);
    let patch = super::crud::Change::Patch(serde_json::json!({ "endDate": day }));
    super::crud::update_then::<PlacementRow, T>(db, actor, id, expected, patch, Action::End, then)
}
