//! Reading the role catalogue and programmes (small lists, still paged like every list).

use diesel::prelude::*;

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

fn programmes_filtered(query: &ProgrammeQuery) -> programmes::BoxedQuery<'static, MultiBackend> {
    let mut q = programmes::table.into_boxed::<MultiBackend>();
    if let Some(text) = query.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = format!("%{}%", like_escape(&text.to_lowercase()));
        q = q.filter(lower(programmes::name).like(pattern).escape('\\').or(programmes::code.eq(text.to_string())));
    }
    q
}

/// A catalogue table's count and keyset page: the same sorts (`code`, `name`) and cursor
/// over either table, with the table's own filters.
macro_rules! catalogue_reads {
    ($count:ident, $list:ident, $table:ident, $Query:ty, $Row:ty, $View:ty, $filtered:ident) => {
        pub fn $count(db: &Db, query: &$Query) -> DomainResult<i64> {
            crate::validate::check_filters(query)?;
            let q = $filtered(query);
            db.read(|c| Ok(q.count().get_result(c)?))
        }

        pub fn $list(db: &Db, query: &$Query) -> DomainResult<Page<$View>> {
            crate::validate::check_filters(query)?;
            let window =
                ListWindow::parse(query.limit, query.after.as_deref(), query.sort.as_deref(), CATALOGUE_SORTS)?;
            let q = $filtered(query);
            let rows: Vec<$Row> = db.read(|c| {
                let q = match window.sort.as_str() {
                    "name" => keyset!(q, &window, $table::name, $table::id, parse_text),
                    _ => keyset!(q, &window, $table::code, $table::id, parse_text),
                };
                Ok(q.load(c)?)
            })?;
            let by_name = window.sort == "name";
            Ok(window
                .finish(rows, |r| {
                    (SortValue::Text(if by_name { r.name.clone() } else { r.code.clone() }), r.id.clone())
                })
                .map(|r| r.view()))
        }
    };
}

catalogue_reads!(count_roles, list_roles, roles, RoleQuery, RoleRow, Role, roles_filtered);
catalogue_reads!(
    count_programmes,
    list_programmes,
    programmes,
    ProgrammeQuery,
    ProgrammeRow,
    Programme,
    programmes_filtered
);
