//! Reading the role catalogue and programmes (small lists, still paged like every list).

use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use super::practices::{like_escape, lower};
use crate::db::{Db, MultiBackend};
use crate::error::DomainResult;
use crate::keyset;
use crate::models::programme::{Programme, ProgrammeRow};
use crate::models::role::{Regulator, Role, RoleRow, StaffGroup};
use crate::pagination::{parse_text, ListWindow, Page, SortValue};
use crate::tables::{programmes, roles};

crate::list_query! {
    /// Filters and paging for the role catalogue.
    #[derive(Debug, Default, Clone, serde::Serialize, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct RoleQuery {
        /// Part of the name (any case), or an exact code.
        pub q: Option<String>,
        pub staff_group: Option<StaffGroup>,
        pub regulator: Option<Regulator>,
        /// Only additional-roles (ARRS) posts, or only the others.
        pub additional_roles: Option<bool>,
    }
    sorts = CATALOGUE_SORTS = ["code", "name"],
    schema = catalogue_sort_schema,
    doc = "`code` (default) or `name`; prefix `-` for descending."
}

crate::list_query! {
    /// Filters and paging for programmes.
    #[derive(Debug, Default, Clone, serde::Serialize, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ProgrammeQuery {
        /// Part of the name (any case), or an exact code.
        pub q: Option<String>,
    }
    schema = catalogue_sort_schema,
    doc = "`code` (default) or `name`; prefix `-` for descending."
}

fn roles_filtered(query: &RoleQuery) -> roles::BoxedQuery<'static, MultiBackend> {
    let mut q = roles::table.into_boxed::<MultiBackend>();
    if let Some(text) = query.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = format!("%{}%", like_escape(&text.to_lowercase()));
        q = q.filter(lower(roles::name).like(pattern).escape('\\').or(roles::code.eq(text.to_string())));
    }
    if let Some(g) = query.staff_group {
        q = q.filter(roles::staff_group.eq(g.as_str()));
    }
    if let Some(r) = query.regulator {
        q = q.filter(roles::regulator.eq(r.as_str()));
    }
    if let Some(a) = query.additional_roles {
        q = q.filter(roles::additional_roles.eq(a));
    }
    q
}

pub fn count_roles(db: &Db, query: &RoleQuery) -> DomainResult<i64> {
    crate::validate::check_filters(query)?;
    let q = roles_filtered(query);
    db.read(|c| Ok(q.count().get_result(c)?))
}

pub fn list_roles(db: &Db, query: &RoleQuery) -> DomainResult<Page<Role>> {
    crate::validate::check_filters(query)?;
    let window = ListWindow::parse(query.limit, query.after.as_deref(), query.sort.as_deref(), CATALOGUE_SORTS)?;
    let q = roles_filtered(query);
    let rows: Vec<RoleRow> = db.read(|c| {
        let q = match window.sort.as_str() {
            "name" => keyset!(q, &window, roles::name, roles::id, parse_text),
            _ => keyset!(q, &window, roles::code, roles::id, parse_text),
        };
        Ok(q.load(c)?)
    })?;
    let by_name = window.sort == "name";
    Ok(window
        .finish(rows, |r| (SortValue::Text(if by_name { r.name.clone() } else { r.code.clone() }), r.id.clone()))
        .map(|r| r.view()))
}

fn programmes_filtered(query: &ProgrammeQuery) -> programmes::BoxedQuery<'static, MultiBackend> {
    let mut q = programmes::table.into_boxed::<MultiBackend>();
    if let Some(text) = query.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = format!("%{}%", like_escape(&text.to_lowercase()));
        q = q.filter(lower(programmes::name).like(pattern).escape('\\').or(programmes::code.eq(text.to_string())));
    }
    q
}

pub fn count_programmes(db: &Db, query: &ProgrammeQuery) -> DomainResult<i64> {
    crate::validate::check_filters(query)?;
    let q = programmes_filtered(query);
    db.read(|c| Ok(q.count().get_result(c)?))
}

pub fn list_programmes(db: &Db, query: &ProgrammeQuery) -> DomainResult<Page<Programme>> {
    crate::validate::check_filters(query)?;
    let window = ListWindow::parse(query.limit, query.after.as_deref(), query.sort.as_deref(), CATALOGUE_SORTS)?;
    let q = programmes_filtered(query);
    let rows: Vec<ProgrammeRow> = db.read(|c| {
        let q = match window.sort.as_str() {
            "name" => keyset!(q, &window, programmes::name, programmes::id, parse_text),
            _ => keyset!(q, &window, programmes::code, programmes::id, parse_text),
        };
        Ok(q.load(c)?)
    })?;
    let by_name = window.sort == "name";
    Ok(window
        .finish(rows, |r| (SortValue::Text(if by_name { r.name.clone() } else { r.code.clone() }), r.id.clone()))
        .map(|r| r.view()))
}
