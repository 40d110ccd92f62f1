//! Reading organisations of every kind and their affiliations, and the one answer to
//! "does A contain B over a period" that scoping, analytics and FHIR ask.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use super::practices::{like_escape, lower};
use crate::db::{Db, DbConnection, MultiBackend};
use crate::error::{DomainError, DomainResult};
use crate::keyset;
use crate::kinds::OrgKind;
use crate::models::organisation::{Affiliation, AffiliationRow, Organisation, OrganisationRow};
use crate::pagination::{parse_text, parse_timestamp, ListWindow, Page, SortValue};
use crate::tables::{affiliations as aff, organisations as orgs};

crate::list_query! {
    /// Filters and paging for organisation lists.
    pub struct OrganisationQuery {
        /// Only organisations of this kind.
        pub kind: Option<OrgKind>,
        /// Part of the name (any case), or an exact code.
        pub q: Option<String>,
        /// Only members of the organisation with this code (a PCN, federation, ICT or
        /// commissioner) on `active_on` (default today).
        #[serde(rename = "partOf")]
        #[param(rename = "partOf")]
        pub part_of: Option<String>,
        /// Only organisations open on this day (not opened after it, not closed before it); with
        /// `partOf`, the day membership is read on.
        pub active_on: Option<NaiveDate>,
    }
    sorts = ORGANISATION_SORTS = ["code", "name", "updatedAt"],
    schema = organisation_sort_schema,
    doc = "`code` (default), `name` or `updatedAt`; prefix `-` for descending."
}

fn filtered(query: &OrganisationQuery) -> orgs::BoxedQuery<'static, MultiBackend> {
    let mut q = orgs::table.into_boxed::<MultiBackend>();
    if let Some(kind) = query.kind {
        q = q.filter(orgs::kind.eq(kind.as_str()));
    }
    if let Some(text) = query.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = format!("%{}%", like_escape(&text.to_lowercase()));
        q = q.filter(lower(orgs::name).like(pattern).escape('\\').or(orgs::code.eq(text.to_ascii_uppercase())));
    }
    if let Some(day) = query.active_on {
        q = q
            .filter(orgs::opened_on.is_null().or(orgs::opened_on.le(day)))
            .filter(orgs::closed_on.is_null().or(orgs::closed_on.ge(day)));
    }
    if let Some(parent) = query.part_of.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let day = query.active_on.unwrap_or_else(crate::today);
        let members = aff::table
            .filter(aff::parent_code.eq(parent.to_ascii_uppercase()))
            .filter(aff::start_date.le(day))
            .filter(aff::end_date.is_null().or(aff::end_date.ge(day)))
            .select(aff::member_code);
        q = q.filter(orgs::code.eq_any(members));
    }
    q
}

pub fn list(db: &Db, query: &OrganisationQuery) -> DomainResult<Page<Organisation>> {
    crate::validate::check_filters(query)?;
    let window = ListWindow::parse(query.limit, query.after.as_deref(), query.sort.as_deref(), ORGANISATION_SORTS)?;
    let q = filtered(query);
    let rows: Vec<OrganisationRow> = db.read(|c| {
        let q = match window.sort.as_str() {
            "name" => keyset!(q, &window, orgs::name, orgs::id, parse_text),
            "updatedAt" => keyset!(q, &window, orgs::updated_at, orgs::id, parse_timestamp),
            _ => keyset!(q, &window, orgs::code, orgs::id, parse_text),
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
    Ok(page.map(|r| r.view()))
}

pub fn count(db: &Db, query: &OrganisationQuery) -> DomainResult<i64> {
    crate::validate::check_filters(query)?;
    let q = filtered(query);
    db.read(|c| Ok(q.count().get_result(c)?))
}

/// The organisation with this code or id, of `kind` when one is given (404 otherwise).
pub fn find(c: &mut DbConnection, kind: Option<OrgKind>, key: &str) -> DomainResult<OrganisationRow> {
    super::crud::check_key(key)?;
    let noun = kind.map(OrgKind::noun).unwrap_or("organisation");
    let q = orgs::table.into_boxed::<MultiBackend>().limit(1);
    let q = if crate::models::is_uuid(key) {
        q.filter(orgs::id.eq(key.to_string()))
    } else {
        q.filter(orgs::code.eq(key.to_ascii_uppercase()))
    };
    let q = match kind {
        Some(k) => q.filter(orgs::kind.eq(k.as_str())),
        None => q,
    };
    let rows: Vec<OrganisationRow> = q.load(c)?;
    rows.into_iter().next().ok_or_else(|| DomainError::not_found(noun, key))
}

pub fn get(db: &Db, key: &str) -> DomainResult<Organisation> {
    db.read(|c| Ok(find(c, None, key)?.view()))
}

/// The code of the organisation of `kind` with this code or id (404 when there is none).
pub fn code_of(db: &Db, kind: OrgKind, key: &str) -> DomainResult<String> {
    db.read(|c| Ok(find(c, Some(kind), key)?.code))
}

/// Which of an organisation's affiliations to read.
#[derive(Debug, Default, Clone, serde::Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AffiliationQuery {
    /// Only affiliations holding on this day.
    pub active_on: Option<NaiveDate>,
    /// Only those whose other side is of this kind.
    pub kind: Option<OrgKind>,
}

/// An organisation's affiliations, both ways (it is the member, or the parent), with their
/// periods: what it belongs to first, by parent then start, then its members.
pub fn affiliations(db: &Db, key: &str, query: &AffiliationQuery) -> DomainResult<Vec<Affiliation>> {
    crate::validate::check_filters(query)?;
    let code = db.read(|c| Ok(find(c, None, key)?.code))?;
    Ok(affiliations_of(db, std::slice::from_ref(&code), query)?.remove(&code).unwrap_or_default())
}

/// [`affiliations`] of many organisations by code, in two statements whatever their number.
pub fn affiliations_of(
    db: &Db,
    codes: &[String],
    query: &AffiliationQuery,
) -> DomainResult<HashMap<String, Vec<Affiliation>>> {
    db.read(|c| {
        let mut rows: Vec<AffiliationRow> = aff::table
            .filter(aff::member_code.eq_any(codes).or(aff::parent_code.eq_any(codes)))
            .select(aff::all_columns)
            .load(c)?;
        if let Some(day) = query.active_on {
            rows.retain(|a| a.active_on(day));
        }
        let mut involved: Vec<String> =
            rows.iter().flat_map(|a| [a.member_code.clone(), a.parent_code.clone()]).collect();
        involved.sort();
        involved.dedup();
        let named = rows_by_code(c, &involved)?;
        let wanted: std::collections::HashSet<&str> = codes.iter().map(String::as_str).collect();
        let mut out: HashMap<String, Vec<(AffiliationOrder, Affiliation)>> = HashMap::new();
        for a in &rows {
            let (Some(member), Some(parent)) = (named.get(&a.member_code), named.get(&a.parent_code)) else {
                continue;
            };
            for (me, other, down) in [(member, parent, false), (parent, member, true)] {
                if !wanted.contains(me.code.as_str()) || query.kind.is_some_and(|k| other.kind() != k) {
                    continue;
                }
                let order = (down, other.code.clone(), a.start_date, a.id.clone());
                out.entry(me.code.clone()).or_default().push((order, Affiliation::of(a, member, parent)));
            }
        }
        Ok(out
            .into_iter()
            .map(|(code, mut list)| {
                list.sort_by(|(a, _), (b, _)| a.cmp(b));
                (code, list.into_iter().map(|(_, a)| a).collect())
            })
            .collect())
    })
}

/// Where an affiliation comes in an organisation's list: upward ones (what it belongs to)
/// first, then by the other side's code, start and id.
type AffiliationOrder = (bool, String, NaiveDate, String);

/// Organisations by code, in one statement.
pub fn by_code(db: &Db, codes: &[String]) -> DomainResult<HashMap<String, Organisation>> {
    db.read(|c| Ok(rows_by_code(c, codes)?.into_iter().map(|(k, r)| (k, r.view())).collect()))
}

/// Which members to read.
#[derive(Debug, Default, Clone, serde::Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    /// Only members on this day (default: every member, past, present and planned).
    pub active_on: Option<NaiveDate>,
    /// Only members of this kind.
    pub kind: Option<OrgKind>,
}

/// A member of an organisation and the period it is one.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub organisation: Organisation,
    pub affiliation: Affiliation,
}

/// The members of an organisation (practices of a PCN, federation, ICT or commissioner;
/// providers of an ICT's partner services), by code then start.
pub fn members(db: &Db, key: &str, query: &MemberQuery) -> DomainResult<Vec<Member>> {
    crate::validate::check_filters(query)?;
    db.read(|c| {
        let parent = find(c, None, key)?;
        let mut q = aff::table
            .inner_join(orgs::table.on(orgs::code.eq(aff::member_code)))
            .filter(aff::parent_code.eq(parent.code.clone()))
            .into_boxed::<MultiBackend>();
        if let Some(day) = query.active_on {
            q = q.filter(aff::start_date.le(day)).filter(aff::end_date.is_null().or(aff::end_date.ge(day)));
        }
        if let Some(kind) = query.kind {
            q = q.filter(orgs::kind.eq(kind.as_str()));
        }
        let rows: Vec<(AffiliationRow, OrganisationRow)> = q
            .order((aff::member_code, aff::start_date, aff::id))
            .select((aff::all_columns, orgs::all_columns))
            .load(c)?;
        Ok(rows
            .into_iter()
            .map(|(a, member)| Member {
                affiliation: Affiliation::of(&a, &member, &parent),
                organisation: member.view(),
            })
            .collect())
    })
}

fn rows_by_code(c: &mut DbConnection, codes: &[String]) -> DomainResult<HashMap<String, OrganisationRow>> {
    let rows: Vec<OrganisationRow> = orgs::table.filter(orgs::code.eq_any(codes)).load(c)?;
    Ok(rows.into_iter().map(|r| (r.code.clone(), r)).collect())
}

/// Whether organisation `parent` contains organisation `member` on every day from `from` to
/// `to` (both included; `to` of `None` means open-ended, from `from` on): the member's
/// affiliations with the parent, joined end to start, cover the whole period. An
/// organisation contains itself.
pub fn contains(
    c: &mut DbConnection,
    parent: &str,
    member: &str,
    from: NaiveDate,
    to: Option<NaiveDate>,
) -> DomainResult<bool> {
    if parent == member {
        return Ok(true);
    }
    let mut periods: Vec<(NaiveDate, Option<NaiveDate>)> = aff::table
        .filter(aff::parent_code.eq(parent))
        .filter(aff::member_code.eq(member))
        .filter(aff::end_date.is_null().or(aff::end_date.ge(from)))
        .select((aff::start_date, aff::end_date))
        .load(c)?;
    periods.sort();
    Ok(covers(&periods, from, to))
}

/// What [`contains_over`] was asked and answers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Containment {
    pub parent: String,
    pub member: String,
    pub from: NaiveDate,
    /// The last day asked about; absent for "from `from` on, with no end".
    pub to: Option<NaiveDate>,
    /// Whether `parent` contains `member` on every day from `from` to `to`.
    pub contains: bool,
}

/// The period asked about in [`contains_over`].
#[derive(Debug, Default, Clone, serde::Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day (default today).
    pub from: Option<NaiveDate>,
    /// Last day (default: open-ended, every day from `from` on).
    pub to: Option<NaiveDate>,
}

/// [`contains`] for two organisations by code or id (404 when either does not exist).
pub fn contains_over(db: &Db, parent: &str, member: &str, period: &PeriodQuery) -> DomainResult<Containment> {
    crate::validate::check_filters(period)?;
    let from = period.from.unwrap_or_else(crate::today);
    if period.to.is_some_and(|t| t < from) {
        return Err(DomainError::invalid("to", "must not be before from"));
    }
    db.read(|c| {
        let p = find(c, None, parent)?;
        let m = find(c, None, member)?;
        let contains = contains(c, &p.code, &m.code, from, period.to)?;
        Ok(Containment { parent: p.code, member: m.code, from, to: period.to, contains })
    })
}

/// Whether the periods (sorted by start) cover every day of `from..=to` (`to` absent: every
/// day from `from` on).
pub(crate) fn covers(periods: &[(NaiveDate, Option<NaiveDate>)], from: NaiveDate, to: Option<NaiveDate>) -> bool {
    merged(periods).iter().any(|span| span_covers(*span, from, to))
}

/// Whether one unbroken span holds every day of `from..=to`.
pub(crate) fn span_covers(span: (NaiveDate, Option<NaiveDate>), from: NaiveDate, to: Option<NaiveDate>) -> bool {
    let (start, end) = span;
    start <= from
        && match (end, to) {
            (None, _) => true,
            (Some(end), Some(to)) => to <= end,
            (Some(_), None) => false,
        }
}

/// Periods (sorted by start) joined where one ends the day before the next starts, or they
/// overlap: the unbroken spans they make.
pub(crate) fn merged(periods: &[(NaiveDate, Option<NaiveDate>)]) -> Vec<(NaiveDate, Option<NaiveDate>)> {
    let mut spans: Vec<(NaiveDate, Option<NaiveDate>)> = Vec::new();
    for &(start, end) in periods {
        match spans.last_mut() {
            // The last span runs on without end (and absorbs the rest), or reaches this one.
            Some(last)
                if last.1.is_none_or(|e| e.checked_add_days(Days::new(1)).is_none_or(|after| start <= after)) =>
            {
                last.1 = last.1.zip(end).map(|(a, b)| a.max(b));
            }
            _ => spans.push((start, end)),
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::covers;
    use chrono::NaiveDate;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn periods_joined_end_to_start_cover() {
        let p = [(d(2020, 1, 1), Some(d(2020, 6, 30))), (d(2020, 7, 1), None)];
        assert!(covers(&p, d(2020, 1, 1), Some(d(2021, 1, 1))));
        assert!(covers(&p, d(2020, 3, 1), None));
        assert!(!covers(&p, d(2019, 12, 31), Some(d(2020, 1, 1))));
        let gap = [(d(2020, 1, 1), Some(d(2020, 6, 29))), (d(2020, 7, 1), None)];
        assert!(!covers(&gap, d(2020, 1, 1), Some(d(2020, 12, 31))));
        assert!(covers(&gap, d(2020, 1, 1), Some(d(2020, 6, 29))));
        let ended = [(d(2020, 1, 1), Some(d(2020, 6, 30)))];
        assert!(!covers(&ended, d(2020, 1, 1), None));
        assert!(covers(&ended, d(2020, 6, 30), Some(d(2020, 6, 30))));
        assert!(!covers(&ended, d(2020, 7, 1), Some(d(2020, 7, 1))));
    }
}
