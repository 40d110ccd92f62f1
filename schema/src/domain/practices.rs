//! Reading practices: lists with filters and keyset pages, and a practice's groups.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::db::{Db, DbConnection, MultiBackend};
use crate::error::{DomainError, DomainResult};
use crate::keyset;
use crate::models::federation::{Federation, FederationRow};
use crate::models::ict::{IctRow, IntegratedCareTeam};
use crate::models::practice::{Practice, PracticeRow, PracticeStatus};
use crate::pagination::{fmt_timestamp, parse_text, parse_timestamp, ListWindow, Page};
use crate::tables::{
    federation_memberships as fm, federations, ict_memberships as im, integrated_care_teams as icts, practices,
};
use crate::validate::postcode_prefix;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// Filters and paging for practice lists.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// `odsCode` (default), `name` or `updatedAt`; prefix `-` for descending.
    pub sort: Option<String>,
}

pub const PRACTICE_SORTS: &[&str] = &["odsCode", "name", "updatedAt"];

/// Restricts a practice list to the members of a group on a day.
#[derive(Debug, Clone)]
pub enum MemberOf {
    Federation(String, NaiveDate),
    Ict(String, NaiveDate),
}

/// Escapes LIKE wildcards so user text matches literally.
pub(crate) fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

pub fn list(db: &Db, query: &PracticeQuery, member_of: Option<&MemberOf>) -> DomainResult<Page<Practice>> {
    let window = ListWindow::parse(query.limit, query.after.as_deref(), query.sort.as_deref(), PRACTICE_SORTS)?;
    let mut q = practices::table.into_boxed::<MultiBackend>();
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
            return Err(DomainError::invalid(
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
    match member_of {
        Some(MemberOf::Federation(code, day)) => {
            let members = fm::table
                .filter(fm::federation_code.eq(code.clone()))
                .filter(fm::start_date.le(*day))
                .filter(fm::end_date.is_null().or(fm::end_date.ge(*day)))
                .select(fm::ods_code);
            q = q.filter(practices::ods_code.eq_any(members));
        }
        Some(MemberOf::Ict(code, day)) => {
            let members = im::table
                .filter(im::ict_code.eq(code.clone()))
                .filter(im::start_date.le(*day))
                .filter(im::end_date.is_null().or(im::end_date.ge(*day)))
                .select(im::ods_code);
            q = q.filter(practices::ods_code.eq_any(members));
        }
        None => {}
    }
    let rows: Vec<PracticeRow> = db.read(|c| {
        let q = match window.sort.as_str() {
            "name" => keyset!(q, &window, practices::name, practices::id, parse_text),
            "updatedAt" => keyset!(q, &window, practices::updated_at, practices::id, parse_timestamp),
            _ => keyset!(q, &window, practices::ods_code, practices::id, parse_text),
        };
        Ok(q.load(c)?)
    })?;
    let page = window.finish(rows, |r| {
        let v = match window.sort.as_str() {
            "name" => r.name.clone(),
            "updatedAt" => fmt_timestamp(&r.updated_at),
            _ => r.ods_code.clone(),
        };
        (v, r.id.clone())
    });
    Ok(page.map(|r| r.view()))
}

/// The federations a practice belongs to on `day`.
pub fn federations_of(conn: &mut DbConnection, ods_code: &str, day: NaiveDate) -> DomainResult<Vec<Federation>> {
    let codes = fm::table
        .filter(fm::ods_code.eq(ods_code.to_string()))
        .filter(fm::start_date.le(day))
        .filter(fm::end_date.is_null().or(fm::end_date.ge(day)))
        .select(fm::federation_code);
    let rows: Vec<FederationRow> =
        federations::table.filter(federations::code.eq_any(codes)).order(federations::code).load(conn)?;
    Ok(rows.iter().map(FederationRow::view).collect())
}

/// The ICTs a practice belongs to on `day`.
pub fn icts_of(conn: &mut DbConnection, ods_code: &str, day: NaiveDate) -> DomainResult<Vec<IntegratedCareTeam>> {
    let codes = im::table
        .filter(im::ods_code.eq(ods_code.to_string()))
        .filter(im::start_date.le(day))
        .filter(im::end_date.is_null().or(im::end_date.ge(day)))
        .select(im::ict_code);
    let rows: Vec<IctRow> = icts::table.filter(icts::code.eq_any(codes)).order(icts::code).load(conn)?;
    Ok(rows.iter().map(IctRow::view).collect())
}
