//! Reading placements with filters, and ending one.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::actor::{require, Actor, Scope};
use crate::audit::Action;
use crate::db::{Db, MultiBackend};
use crate::error::DomainResult;
use crate::keyset;
use crate::models::placement::{HostType, Placement, PlacementRow, PlacementStatus};
use crate::pagination::{fmt_timestamp, parse_date, parse_timestamp, ListWindow, Page};
use crate::tables::placements;

/// Filters and paging for placement lists.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlacementQuery {
    /// Role code, e.g. `physician-associate`.
    pub role: Option<String>,
    /// Programme code, e.g. `gp-retainer-scheme`.
    pub programme: Option<String>,
    /// Host code: a practice ODS code, or a federation or ICT code.
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
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// `createdAt` (default), `startDate` or `updatedAt`; prefix `-` for descending.
    pub sort: Option<String>,
}

pub const PLACEMENT_SORTS: &[&str] = &["createdAt", "startDate", "updatedAt"];

pub fn list(db: &Db, actor: Option<&Actor>, query: &PlacementQuery) -> DomainResult<Page<Placement>> {
    require(actor, Scope::PlacementsRead)?;
    let window = ListWindow::parse(query.limit, query.after.as_deref(), query.sort.as_deref(), PLACEMENT_SORTS)?;
    let mut q = placements::table.into_boxed::<MultiBackend>();
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(r) = text(&query.role) {
        q = q.filter(placements::role_code.eq(r));
    }
    if let Some(p) = text(&query.programme) {
        q = q.filter(placements::programme_code.eq(p));
    }
    if let Some(h) = text(&query.host).map(|h| h.to_ascii_uppercase()) {
        q = q.filter(
            placements::host_practice
                .eq(h.clone())
                .or(placements::host_federation.eq(h.clone()))
                .or(placements::host_ict.eq(h.clone()))
                .or(placements::external_host_code.eq(h)),
        );
    }
    if let Some(t) = query.host_type {
        q = q.filter(placements::host_type.eq(t.as_str()));
    }
    if let Some(s) = text(&query.staff_ref) {
        q = q.filter(placements::staff_ref.eq(s));
    }
    let today = crate::today();
    match query.status {
        Some(PlacementStatus::Planned) => q = q.filter(placements::start_date.gt(today)),
        Some(PlacementStatus::Active) => {
            q = q
                .filter(placements::start_date.le(today))
                .filter(placements::end_date.is_null().or(placements::end_date.ge(today)))
        }
        Some(PlacementStatus::Ended) => q = q.filter(placements::end_date.lt(today)),
        None => {}
    }
    if let Some(day) = query.active_on {
        q = q
            .filter(placements::start_date.le(day))
            .filter(placements::end_date.is_null().or(placements::end_date.ge(day)));
    }
    if let Some(t) = query.updated_since {
        q = q.filter(placements::updated_at.ge(t.naive_utc()));
    }
    let rows: Vec<PlacementRow> = db.read(|c| {
        let q = match window.sort.as_str() {
            "startDate" => keyset!(q, &window, placements::start_date, placements::id, parse_date),
            "updatedAt" => keyset!(q, &window, placements::updated_at, placements::id, parse_timestamp),
            _ => keyset!(q, &window, placements::created_at, placements::id, parse_timestamp),
        };
        Ok(q.load(c)?)
    })?;
    let page = window.finish(rows, |r| {
        let v = match window.sort.as_str() {
            "startDate" => r.start_date.format("%Y-%m-%d").to_string(),
            "updatedAt" => fmt_timestamp(&r.updated_at),
            _ => fmt_timestamp(&r.created_at),
        };
        (v, r.id.clone())
    });
    Ok(page.map(|r| r.view()))
}

/// Ends a placement on `end_date` (default today). Placements are ended, never erased.
pub fn end(
    db: &Db,
    actor: Option<&Actor>,
    id: &str,
    expected_version: i32,
    end_date: Option<NaiveDate>,
) -> DomainResult<PlacementRow> {
    let day = end_date.unwrap_or_else(crate::today);
    let patch = serde_json::json!({ "endDate": day });
    super::crud::patch_as::<PlacementRow>(db, actor, id, expected_version, patch, Action::End)
}
