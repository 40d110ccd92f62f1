//! Reading federations and ICTs, their memberships and partner services.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use super::practices::{like_escape, lower};
use crate::db::{Db, MultiBackend};
use crate::error::DomainResult;
use crate::keyset;
use crate::models::federation::{Federation, FederationRow};
use crate::models::ict::{IctRow, IctStatus, IntegratedCareTeam};
use crate::models::membership::{
    FederationMembership, FederationMembershipRow, IctMembership, IctMembershipRow, PartnerService, PartnerServiceRow,
};
use crate::pagination::{fmt_timestamp, parse_text, parse_timestamp, ListWindow, Page};
use crate::tables::{
    federation_memberships as fm, federations, ict_memberships as im, ict_partner_services as ps,
    integrated_care_teams as icts,
};

/// Filters and paging for federation and ICT lists.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupQuery {
    /// Part of the name (any case), or an exact code.
    pub q: Option<String>,
    /// ICTs only: `planned`, `early_adopter` or `live`.
    pub status: Option<IctStatus>,
    /// Integrated care board code.
    pub icb: Option<String>,
    /// Only records changed at or after this instant (RFC 3339).
    pub updated_since: Option<DateTime<Utc>>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// `code` (default), `name` or `updatedAt`; prefix `-` for descending.
    pub sort: Option<String>,
}

pub const GROUP_SORTS: &[&str] = &["code", "name", "updatedAt"];

/// One definition of the group list for both group tables.
macro_rules! group_list {
    ($db:expr, $query:expr, $table:ident, $row:ty, $extra:expr) => {{
        let query: &GroupQuery = $query;
        let window = ListWindow::parse(query.limit, query.after.as_deref(), query.sort.as_deref(), GROUP_SORTS)?;
        let mut q = $table::table.into_boxed::<MultiBackend>();
        if let Some(text) = query.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let pattern = format!("%{}%", like_escape(&text.to_lowercase()));
            q = q.filter(lower($table::name).like(pattern).escape('\\').or($table::code.eq(text.to_ascii_uppercase())));
        }
        if let Some(icb) = query.icb.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            q = q.filter($table::icb_code.eq(icb.to_ascii_uppercase()));
        }
        if let Some(t) = query.updated_since {
            q = q.filter($table::updated_at.ge(t.naive_utc()));
        }
        q = ($extra)(q);
        let rows: Vec<$row> = $db.read(|c| {
            let q = match window.sort.as_str() {
                "name" => keyset!(q, &window, $table::name, $table::id, parse_text),
                "updatedAt" => keyset!(q, &window, $table::updated_at, $table::id, parse_timestamp),
                _ => keyset!(q, &window, $table::code, $table::id, parse_text),
            };
            Ok(q.load(c)?)
        })?;
        let page = window.finish(rows, |r| {
            let v = match window.sort.as_str() {
                "name" => r.name.clone(),
                "updatedAt" => fmt_timestamp(&r.updated_at),
                _ => r.code.clone(),
            };
            (v, r.id.clone())
        });
        Ok(page.map(|r| r.view()))
    }};
}

pub fn list_federations(db: &Db, query: &GroupQuery) -> DomainResult<Page<Federation>> {
    group_list!(db, query, federations, FederationRow, |q| q)
}

pub fn list_icts(db: &Db, query: &GroupQuery) -> DomainResult<Page<IntegratedCareTeam>> {
    let status = query.status;
    group_list!(db, query, icts, IctRow, |q: icts::BoxedQuery<'static, MultiBackend>| match status {
        Some(s) => q.filter(icts::status.eq(s.as_str())),
        None => q,
    })
}

/// Every membership period of a federation, by practice then start.
pub fn federation_memberships(db: &Db, federation_code: &str) -> DomainResult<Vec<FederationMembership>> {
    let rows: Vec<FederationMembershipRow> = db.read(|c| {
        Ok(fm::table.filter(fm::federation_code.eq(federation_code)).order((fm::ods_code, fm::start_date)).load(c)?)
    })?;
    Ok(rows.iter().map(FederationMembershipRow::view).collect())
}

/// Every membership period of an ICT, by practice then start.
pub fn ict_memberships(db: &Db, ict_code: &str) -> DomainResult<Vec<IctMembership>> {
    let rows: Vec<IctMembershipRow> =
        db.read(|c| Ok(im::table.filter(im::ict_code.eq(ict_code)).order((im::ods_code, im::start_date)).load(c)?))?;
    Ok(rows.iter().map(IctMembershipRow::view).collect())
}

/// The partner services of an ICT.
pub fn partner_services(db: &Db, ict_code: &str) -> DomainResult<Vec<PartnerService>> {
    let rows: Vec<PartnerServiceRow> =
        db.read(|c| Ok(ps::table.filter(ps::ict_code.eq(ict_code)).order((ps::kind, ps::name, ps::id)).load(c)?))?;
    Ok(rows.iter().map(PartnerServiceRow::view).collect())
}
