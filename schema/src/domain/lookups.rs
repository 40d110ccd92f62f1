//! Batched reads by key, for loaders that resolve relations of many records at once:
//! each function is one statement whatever the number of keys.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::Db;
use crate::error::DomainResult;
use crate::kinds::{AffiliationKind, OrgKind};
use crate::models::federation::{Federation, FederationRow, GroupRow, Pcn, PcnRow};
use crate::models::ict::{IctRow, IntegratedCareTeam};
use crate::models::membership::{
    FederationMembership, FederationMembershipRow, IctMembership, IctMembershipRow, PartnerService, PartnerServiceRow,
    PcnMembership, PcnMembershipRow,
};
use crate::models::organisation::{AffiliationRow, Organisation};
use crate::models::practice::{Practice, PracticeRow};
use crate::models::programme::{Programme, ProgrammeRow};
use crate::models::role::{Role, RoleRow};
use crate::tables::{
    affiliations as aff, group_organisations as groups, ict_partner_services as ps, integrated_care_teams as icts,
    organisations as orgs, practices, programmes, roles,
};

pub fn practices_by_ods(db: &Db, codes: &[String]) -> DomainResult<HashMap<String, Practice>> {
    let rows: Vec<PracticeRow> = db.load_direct(practices::table.filter(practices::ods_code.eq_any(codes)))?;
    Ok(rows.into_iter().map(|r| (r.ods_code.clone(), r.view())).collect())
}

/// The groups (federations or PCNs) of `kind` with these codes.
fn groups_by_code(db: &Db, kind: OrgKind, codes: &[String]) -> DomainResult<Vec<GroupRow>> {
    db.load_direct(groups::table.filter(groups::kind.eq(kind.as_str())).filter(groups::code.eq_any(codes)))
}

pub fn federations_by_code(db: &Db, codes: &[String]) -> DomainResult<HashMap<String, Federation>> {
    let rows = groups_by_code(db, FederationRow::ORG_KIND, codes)?;
    Ok(rows.into_iter().map(|r| (r.code.clone(), FederationRow(r).view())).collect())
}

pub fn pcns_by_code(db: &Db, codes: &[String]) -> DomainResult<HashMap<String, Pcn>> {
    let rows = groups_by_code(db, PcnRow::ORG_KIND, codes)?;
    Ok(rows.into_iter().map(|r| (r.code.clone(), PcnRow(r).view())).collect())
}

pub fn icts_by_code(db: &Db, codes: &[String]) -> DomainResult<HashMap<String, IntegratedCareTeam>> {
    let rows: Vec<IctRow> = db.load_direct(icts::table.filter(icts::code.eq_any(codes)))?;
    Ok(rows.into_iter().map(|r| (r.code.clone(), r.view())).collect())
}

pub fn roles_by_code(db: &Db, codes: &[String]) -> DomainResult<HashMap<String, Role>> {
    let rows: Vec<RoleRow> = db.load_direct(roles::table.filter(roles::code.eq_any(codes)))?;
    Ok(rows.into_iter().map(|r| (r.code.clone(), r.view())).collect())
}

pub fn programmes_by_code(db: &Db, codes: &[String]) -> DomainResult<HashMap<String, Programme>> {
    let rows: Vec<ProgrammeRow> = db.load_direct(programmes::table.filter(programmes::code.eq_any(codes)))?;
    Ok(rows.into_iter().map(|r| (r.code.clone(), r.view())).collect())
}

/// The codes of each member's parents of `kind` on `day`, by member code: one statement.
fn parent_codes(db: &Db, members: &[String], kind: OrgKind, day: NaiveDate) -> DomainResult<Vec<(String, String)>> {
    db.load_direct(
        aff::table
            .inner_join(orgs::table.on(orgs::code.eq(aff::parent_code)))
            .filter(orgs::kind.eq(kind.as_str()))
            .filter(aff::member_code.eq_any(members))
            .filter(aff::start_date.le(day))
            .filter(aff::end_date.is_null().or(aff::end_date.ge(day)))
            .order((aff::member_code, aff::parent_code))
            .select((aff::member_code, aff::parent_code)),
    )
}

/// A batched read of records by code.
type ByCode<V> = fn(&Db, &[String]) -> DomainResult<HashMap<String, V>>;

/// Records grouped under each key.
pub type Grouped<V> = HashMap<String, Vec<V>>;

/// A batched read of lists by key, for one key.
pub fn for_one<V>(db: &Db, key: &str, read: fn(&Db, &[String]) -> DomainResult<Grouped<V>>) -> DomainResult<Vec<V>> {
    let key = key.to_string();
    Ok(read(db, std::slice::from_ref(&key))?.remove(&key).unwrap_or_default())
}

/// The groups of `kind` each member belongs to on `day`, by code, as `by_code` reads them:
/// two statements whatever the number of members.
fn groups_of<V: Clone>(
    db: &Db,
    members: &[String],
    kind: OrgKind,
    day: NaiveDate,
    by_code: ByCode<V>,
) -> DomainResult<Grouped<V>> {
    let pairs = parent_codes(db, members, kind, day)?;
    let codes: Vec<String> = pairs.iter().map(|(_, p)| p.clone()).collect();
    let parents = by_code(db, &codes)?;
    let mut out: Grouped<V> = HashMap::new();
    for (member, parent) in pairs {
        if let Some(p) = parents.get(&parent) {
            out.entry(member).or_default().push(p.clone());
        }
    }
    Ok(out)
}

/// The federations each practice belongs to on `day`.
pub fn federations_of_practices(db: &Db, ods_codes: &[String], day: NaiveDate) -> DomainResult<Grouped<Federation>> {
    groups_of(db, ods_codes, FederationRow::ORG_KIND, day, federations_by_code)
}

/// The PCNs each practice belongs to on `day`.
pub fn pcns_of_practices(db: &Db, ods_codes: &[String], day: NaiveDate) -> DomainResult<Grouped<Pcn>> {
    groups_of(db, ods_codes, PcnRow::ORG_KIND, day, pcns_by_code)
}

/// The ICTs each practice belongs to on `day`.
pub fn icts_of_practices(db: &Db, ods_codes: &[String], day: NaiveDate) -> DomainResult<Grouped<IntegratedCareTeam>> {
    groups_of(db, ods_codes, IctRow::ORG_KIND, day, icts_by_code)
}

/// Every affiliation of `kind` of each parent, by member then start: one statement.
fn affiliations_of(db: &Db, kind: AffiliationKind, parents: &[String]) -> DomainResult<Vec<AffiliationRow>> {
    db.load_direct(
        aff::table
            .filter(aff::kind.eq(kind.as_str()))
            .filter(aff::parent_code.eq_any(parents))
            .order((aff::member_code, aff::start_date))
            .select(aff::all_columns),
    )
}

/// Memberships by their parent's code.
fn by_parent<V>(rows: Vec<AffiliationRow>, view: impl Fn(AffiliationRow) -> V) -> Grouped<V> {
    let mut out: Grouped<V> = HashMap::new();
    for r in rows {
        out.entry(r.parent_code.clone()).or_default().push(view(r));
    }
    out
}

/// Every membership period of each federation.
pub fn federation_memberships(db: &Db, codes: &[String]) -> DomainResult<Grouped<FederationMembership>> {
    let rows = affiliations_of(db, AffiliationKind::MemberOf, codes)?;
    Ok(by_parent(rows, |r| FederationMembershipRow(r).view()))
}

/// Every membership period of each ICT.
pub fn ict_memberships(db: &Db, codes: &[String]) -> DomainResult<Grouped<IctMembership>> {
    let rows = affiliations_of(db, AffiliationKind::MemberOf, codes)?;
    Ok(by_parent(rows, |r| IctMembershipRow(r).view()))
}

/// Every membership period of each PCN.
pub fn pcn_memberships(db: &Db, codes: &[String]) -> DomainResult<Grouped<PcnMembership>> {
    let rows = affiliations_of(db, AffiliationKind::MemberOf, codes)?;
    Ok(by_parent(rows, |r| PcnMembershipRow(r).view()))
}

/// The partner services of each ICT.
pub fn partner_services(db: &Db, codes: &[String]) -> DomainResult<Grouped<PartnerService>> {
    let rows: Vec<PartnerServiceRow> =
        db.load_direct(ps::table.filter(ps::ict_code.eq_any(codes)).order((ps::kind, ps::name, ps::id)))?;
    let mut out: Grouped<PartnerService> = HashMap::new();
    for r in rows {
        out.entry(r.ict_code.clone()).or_default().push(r.view());
    }
    Ok(out)
}

/// An organisation's record as its kind has it: the kind's own view where the kind has
/// attributes of its own, else the organisation.
#[derive(Debug, Clone, PartialEq)]
pub enum KindRecord {
    Practice(Practice),
    Pcn(Pcn),
    Federation(Federation),
    Ict(IntegratedCareTeam),
    /// A commissioner or an external provider: nothing beyond the organisation.
    Other(Organisation),
}

/// The kinds' records of the organisations with these codes: one statement for the
/// organisations, and one for each kind among them with a record of its own.
pub fn records_by_code(db: &Db, codes: &[String]) -> DomainResult<HashMap<String, KindRecord>> {
    records_of(db, super::organisations::by_code(db, codes)?.into_values().collect())
}

/// The kinds' records of organisations already read: one statement for each kind among them
/// with a record of its own.
pub fn records_of(db: &Db, orgs: Vec<Organisation>) -> DomainResult<HashMap<String, KindRecord>> {
    let of_kind =
        |kind: OrgKind| -> Vec<String> { orgs.iter().filter(|o| o.kind == kind).map(|o| o.code.clone()).collect() };
    let mut out: HashMap<String, KindRecord> = HashMap::new();
    for kind in OrgKind::ALL {
        let codes = of_kind(*kind);
        if codes.is_empty() {
            continue;
        }
        match kind {
            OrgKind::Practice => {
                out.extend(practices_by_ods(db, &codes)?.into_iter().map(|(k, v)| (k, KindRecord::Practice(v))))
            }
            OrgKind::Pcn => out.extend(pcns_by_code(db, &codes)?.into_iter().map(|(k, v)| (k, KindRecord::Pcn(v)))),
            OrgKind::Federation => {
                out.extend(federations_by_code(db, &codes)?.into_iter().map(|(k, v)| (k, KindRecord::Federation(v))))
            }
            OrgKind::Ict => out.extend(icts_by_code(db, &codes)?.into_iter().map(|(k, v)| (k, KindRecord::Ict(v)))),
            OrgKind::Commissioner | OrgKind::External => out.extend(
                orgs.iter().filter(|o| o.kind == *kind).map(|o| (o.code.clone(), KindRecord::Other(o.clone()))),
            ),
        }
    }
    Ok(out)
}
