//! Which placements a caller reaches: the rule of partner scoping, once, for every read and
//! write on every transport. A token acts for one organisation (`org`): it reaches the
//! placements that organisation hosts, and those hosted by its members (the practices of a
//! PCN, federation or ICT) when the membership holds on every day of the placement. `admin`
//! reaches every placement; any other token without `org` reaches none.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::actor::{Actor, Scope};
use crate::db::DbConnection;
use crate::error::{DomainError, DomainResult};
use crate::kinds::AffiliationKind;
use crate::models::placement::PlacementRow;
use crate::tables::affiliations as aff;

/// A member's unbroken span of membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub member: String,
    pub from: NaiveDate,
    /// The last day; `None` while it holds.
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// `admin`: every placement.
    All,
    /// An organisation's own placements, and its members' within their spans.
    Org { code: String, spans: Vec<Span> },
}

fn is_admin(actor: &Actor) -> bool {
    actor.scopes.iter().any(|s| s == Scope::Admin.as_str())
}

/// A caller of placements acts for an organisation, or is `admin`: asked before the body.
pub fn require_org(actor: &Actor) -> DomainResult<()> {
    match (is_admin(actor), &actor.org) {
        (false, None) => Err(DomainError::Forbidden(
            "this token names no organisation (`org`); only an `admin` token reads or writes placements for none"
                .into(),
        )),
        _ => Ok(()),
    }
}

impl Reach {
    /// What `actor` reaches: one statement for an organisation's members, none for `admin`.
    pub fn of(c: &mut DbConnection, actor: &Actor) -> DomainResult<Reach> {
        require_org(actor)?;
        let Some(org) = actor.org.as_deref().filter(|_| !is_admin(actor)) else {
            return Ok(Reach::All);
        };
        let rows: Vec<(String, NaiveDate, Option<NaiveDate>)> = aff::table
            .filter(aff::parent_code.eq(org))
            .filter(aff::kind.eq(AffiliationKind::MemberOf.as_str()))
            .order((aff::member_code, aff::start_date))
            .select((aff::member_code, aff::start_date, aff::end_date))
            .load(c)?;
        let mut spans = Vec::new();
        for chunk in rows.chunk_by(|a, b| a.0 == b.0) {
            let periods: Vec<(NaiveDate, Option<NaiveDate>)> = chunk.iter().map(|(_, s, e)| (*s, *e)).collect();
            for (from, to) in super::organisations::merged(&periods) {
                spans.push(Span { member: chunk[0].0.clone(), from, to });
            }
        }
        Ok(Reach::Org { code: org.to_string(), spans })
    }

    /// [`Reach::of`] on a connection of its own, taken only when there are members to read.
    pub fn for_actor(db: &crate::db::Db, actor: &Actor) -> DomainResult<Reach> {
        require_org(actor)?;
        match is_admin(actor) {
            true => Ok(Reach::All),
            false => db.read(|c| Reach::of(c, actor)),
        }
    }

    /// Whether a placement at `host` from `start` to `end` is within reach.
    pub fn covers(&self, host: &str, start: NaiveDate, end: Option<NaiveDate>) -> bool {
        match self {
            Reach::All => true,
            Reach::Org { code, spans } => {
                host == code
                    || spans
                        .iter()
                        .any(|s| s.member == host && super::organisations::span_covers((s.from, s.to), start, end))
            }
        }
    }

    /// Which of the placements with these ids are within reach: one statement.
    pub fn visible(&self, db: &crate::db::Db, ids: &[&str]) -> DomainResult<std::collections::HashSet<String>> {
        use crate::tables::placement_records as pl;
        let found: Vec<(String, String, NaiveDate, Option<NaiveDate>)> = db.read(|c| {
            Ok(pl::table
                .filter(pl::id.eq_any(ids))
                .select((pl::id, pl::host_code, pl::start_date, pl::end_date))
                .load(c)?)
        })?;
        Ok(found.into_iter().filter(|(_, host, from, to)| self.covers(host, *from, *to)).map(|(id, ..)| id).collect())
    }

    pub fn reaches(&self, p: &PlacementRow) -> bool {
        self.covers(&p.host_code, p.start_date, p.end_date)
    }

    /// A placement out of reach is not found: its existence is not revealed.
    pub fn check_visible(&self, p: &PlacementRow) -> DomainResult<()> {
        match self.reaches(p) {
            true => Ok(()),
            false => Err(DomainError::hidden("placement", &p.id)),
        }
    }

    /// A placement may be written only within reach, wherever it moves.
    pub fn check_writable(&self, p: &PlacementRow) -> DomainResult<()> {
        match (self.reaches(p), self) {
            (true, _) => Ok(()),
            (false, Reach::Org { code, .. }) => Err(DomainError::Forbidden(format!(
                "{code} may write only the placements it hosts, and those of its members for every day of the placement; {} is not one of them for these dates",
                p.host_code
            ))),
            (false, Reach::All) => Ok(()),
        }
    }
}

/// Keeps the placements `$reach` covers in a boxed query of the placements view on
/// `$backend`: the same rule as [`Reach::covers`], in SQL.
macro_rules! reach_filter {
    ($q:expr, $reach:expr, $backend:ty) => {{
        use $crate::tables::placements as p;
        let q = $q;
        let reach: &$crate::domain::reach::Reach = $reach;
        match reach {
            $crate::domain::reach::Reach::All => q,
            $crate::domain::reach::Reach::Org { code, spans } => {
                type Condition =
                    Box<dyn diesel::BoxableExpression<p::table, $backend, SqlType = diesel::sql_types::Bool>>;
                let mut within: Condition = Box::new(p::host_code.eq(code.clone()));
                for s in spans {
                    let from = p::host_code.eq(s.member.clone()).and(p::start_date.ge(s.from));
                    within = match s.to {
                        None => Box::new(within.or(from)),
                        Some(to) => Box::new(
                            within.or(from.and(p::end_date.is_not_null()).and(p::end_date.assume_not_null().le(to))),
                        ),
                    };
                }
                q.filter(within)
            }
        }
    }};
}
pub(crate) use reach_filter;
