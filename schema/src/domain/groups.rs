//! Reading PCNs, federations and ICTs, their memberships and partner services.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::practices::{like_escape, lower};
use crate::db::{Db, MultiBackend};
use crate::error::DomainResult;
use crate::keyset;
use crate::models::federation::{Federation, FederationRow, GroupRow, Pcn, PcnRow};
use crate::models::ict::{IctRow, IctStatus, IntegratedCareTeam};
use crate::models::membership::{FederationMembership, IctMembership, PartnerService, PcnMembership};
use crate::pagination::{parse_text, parse_timestamp, ListWindow, Page, SortValue};
use crate::tables::{group_organisations as groups, integrated_care_teams as icts};

crate::list_query! {
    /// Filters and paging for federation and ICT lists.
    pub struct GroupQuery {
        /// Part of the name (any case), or an exact code.
        pub q: Option<String>,
        /// ICTs only: `planned`, `early_adopter` or `live`.
        pub status: Option<IctStatus>,
        /// Integrated care board code.
        pub icb: Option<String>,
        /// Only records changed at or after this instant (RFC 3339).
        pub updated_since: Option<DateTime<Utc>>,
    }
    sorts = GROUP_SORTS = ["code", "name", "updatedAt"],
    schema = group_sort_schema,
    doc = "`code` (default), `name` or `updatedAt`; prefix `-` for descending."
}

/// The group filters for one group table, as a boxed query.
macro_rules! group_filtered {
    ($query:expr, $table:ident) => {{
        let query: &GroupQuery = $query;
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
        q
    }};
}

/// One definition of the group list for both group tables.
macro_rules! group_list {
    ($db:expr, $query:expr, $table:ident, $row:ty, $q:expr) => {{
        let query: &GroupQuery = $query;
        let window = ListWindow::parse(query.limit, query.after.as_deref(), query.sort.as_deref(), GROUP_SORTS)?;
        let q = $q;
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
                "name" => SortValue::Text(r.name.clone()),
                "updatedAt" => SortValue::Timestamp(r.updated_at),
                _ => SortValue::Text(r.code.clone()),
            };
            (v, r.id.clone())
        });
        Ok(page)
    }};
}

fn icts_filtered(query: &GroupQuery) -> icts::BoxedQuery<'static, MultiBackend> {
    let q = group_filtered!(query, icts);
    match query.status {
        Some(s) => q.filter(icts::status.eq(s.as_str())),
        None => q,
    }
}

/// Federations or PCNs: the groups of one kind.
fn groups_filtered(query: &GroupQuery, kind: crate::kinds::OrgKind) -> groups::BoxedQuery<'static, MultiBackend> {
    group_filtered!(query, groups).filter(groups::kind.eq(kind.as_str()))
}

fn list_groups(db: &Db, query: &GroupQuery, kind: crate::kinds::OrgKind) -> DomainResult<Page<GroupRow>> {
    crate::validate::check_filters(query)?;
    group_list!(db, query, groups, GroupRow, groups_filtered(query, kind))
}

fn count_groups(db: &Db, query: &GroupQuery, kind: crate::kinds::OrgKind) -> DomainResult<i64> {
    crate::validate::check_filters(query)?;
    let q = groups_filtered(query, kind);
    db.read(|c| Ok(q.count().get_result(c)?))
}

pub fn list_federations(db: &Db, query: &GroupQuery) -> DomainResult<Page<Federation>> {
    Ok(list_groups(db, query, FederationRow::ORG_KIND)?.map(|r| FederationRow(r).view()))
}

pub fn count_federations(db: &Db, query: &GroupQuery) -> DomainResult<i64> {
    count_groups(db, query, FederationRow::ORG_KIND)
}

pub fn list_pcns(db: &Db, query: &GroupQuery) -> DomainResult<Page<Pcn>> {
    Ok(list_groups(db, query, PcnRow::ORG_KIND)?.map(|r| PcnRow(r).view()))
}

pub fn count_pcns(db: &Db, query: &GroupQuery) -> DomainResult<i64> {
    count_groups(db, query, PcnRow::ORG_KIND)
}

pub fn list_icts(db: &Db, query: &GroupQuery) -> DomainResult<Page<IntegratedCareTeam>> {
    crate::validate::check_filters(query)?;
    let page: DomainResult<Page<IctRow>> = group_list!(db, query, icts, IctRow, icts_filtered(query));
    Ok(page?.map(|r| r.view()))
}

pub fn count_icts(db: &Db, query: &GroupQuery) -> DomainResult<i64> {
    crate::validate::check_filters(query)?;
    let q = icts_filtered(query);
    db.read(|c| Ok(q.count().get_result(c)?))
}

/// Every membership period of a federation, by practice then start.
pub fn federation_memberships(db: &Db, federation_code: &str) -> DomainResult<Vec<FederationMembership>> {
    super::lookups::for_one(db, federation_code, super::lookups::federation_memberships)
}

/// Every membership period of a PCN, by practice then start.
pub fn pcn_memberships(db: &Db, pcn_code: &str) -> DomainResult<Vec<PcnMembership>> {
    super::lookups::for_one(db, pcn_code, super::lookups::pcn_memberships)
}

/// Every membership period of an ICT, by practice then start.
pub fn ict_memberships(db: &Db, ict_code: &str) -> DomainResult<Vec<IctMembership>> {
    super::lookups::for_one(db, ict_code, super::lookups::ict_memberships)
}

/// The partner services of an ICT.
pub fn partner_services(db: &Db, ict_code: &str) -> DomainResult<Vec<PartnerService>> {
    super::lookups::for_one(db, ict_code, super::lookups::partner_services)
}
