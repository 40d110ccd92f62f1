//! Batched reads by key, for loaders that resolve relations of many records at once:
//! each function is one statement whatever the number of keys.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::Db;
use crate::error::DomainResult;
use crate::models::federation::{Federation, FederationRow};
use crate::models::ict::{IctRow, IntegratedCareTeam};
use crate::models::membership::{
    FederationMembership, FederationMembershipRow, IctMembership, IctMembershipRow, PartnerService, PartnerServiceRow,
};
use crate::models::practice::{Practice, PracticeRow};
use crate::models::programme::{Programme, ProgrammeRow};
use crate::models::role::{Role, RoleRow};
use crate::tables::{
    federation_memberships as fm, federations, ict_memberships as im, ict_partner_services as ps,
    integrated_care_teams as icts, practices, programmes, roles,
};

pub fn practices_by_ods(db: &Db, codes: &[String]) -> DomainResult<HashMap<String, Practice>> {
    let rows: Vec<PracticeRow> = db.load_direct(practices::table.filter(practices::ods_code.eq_any(codes)))?;
    Ok(rows.into_iter().map(|r| (r.ods_code.clone(), r.view())).collect())
}

pub fn federations_by_code(db: &Db, codes: &[String]) -> DomainResult<HashMap<String, Federation>> {
    let rows: Vec<FederationRow> = db.load_direct(federations::table.filter(federations::code.eq_any(codes)))?;
    Ok(rows.into_iter().map(|r| (r.code.clone(), r.view())).collect())
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

/// The federations each practice belongs to on `day`.
pub fn federations_of_practices(
    db: &Db,
    ods_codes: &[String],
    day: NaiveDate,
) -> DomainResult<HashMap<String, Vec<Federation>>> {
    let rows: Vec<(String, FederationRow)> = db.load_direct(
        fm::table
            .inner_join(federations::table.on(federations::code.eq(fm::federation_code)))
            .filter(fm::ods_code.eq_any(ods_codes))
            .filter(fm::start_date.le(day))
            .filter(fm::end_date.is_null().or(fm::end_date.ge(day)))
            .order((fm::ods_code, federations::code))
            .select((fm::ods_code, federations::all_columns)),
    )?;
    let mut out: HashMap<String, Vec<Federation>> = HashMap::new();
    for (ods, f) in rows {
        out.entry(ods).or_default().push(f.view());
    }
    Ok(out)
}

/// The ICTs each practice belongs to on `day`.
pub fn icts_of_practices(
    db: &Db,
    ods_codes: &[String],
    day: NaiveDate,
) -> DomainResult<HashMap<String, Vec<IntegratedCareTeam>>> {
    let rows: Vec<(String, IctRow)> = db.load_direct(
        im::table
            .inner_join(icts::table.on(icts::code.eq(im::ict_code)))
            .filter(im::ods_code.eq_any(ods_codes))
            .filter(im::start_date.le(day))
            .filter(im::end_date.is_null().or(im::end_date.ge(day)))
            .order((im::ods_code, icts::code))
            .select((im::ods_code, icts::all_columns)),
    )?;
    let mut out: HashMap<String, Vec<IntegratedCareTeam>> = HashMap::new();
    for (ods, i) in rows {
        out.entry(ods).or_default().push(i.view());
    }
    Ok(out)
}

/// Every membership period of each federation.
pub fn federation_memberships(db: &Db, codes: &[String]) -> DomainResult<HashMap<String, Vec<FederationMembership>>> {
    let rows: Vec<FederationMembershipRow> =
        db.load_direct(fm::table.filter(fm::federation_code.eq_any(codes)).order((fm::ods_code, fm::start_date)))?;
    let mut out: HashMap<String, Vec<FederationMembership>> = HashMap::new();
    for r in rows {
        out.entry(r.federation_code.clone()).or_default().push(r.view());
    }
    Ok(out)
}

/// Every membership period of each ICT.
pub fn ict_memberships(db: &Db, codes: &[String]) -> DomainResult<HashMap<String, Vec<IctMembership>>> {
    let rows: Vec<IctMembershipRow> =
        db.load_direct(im::table.filter(im::ict_code.eq_any(codes)).order((im::ods_code, im::start_date)))?;
    let mut out: HashMap<String, Vec<IctMembership>> = HashMap::new();
    for r in rows {
        out.entry(r.ict_code.clone()).or_default().push(r.view());
    }
    Ok(out)
}

/// The partner services of each ICT.
pub fn partner_services(db: &Db, codes: &[String]) -> DomainResult<HashMap<String, Vec<PartnerService>>> {
    let rows: Vec<PartnerServiceRow> =
        db.load_direct(ps::table.filter(ps::ict_code.eq_any(codes)).order((ps::kind, ps::name, ps::id)))?;
    let mut out: HashMap<String, Vec<PartnerService>> = HashMap::new();
    for r in rows {
        out.entry(r.ict_code.clone()).or_default().push(r.view());
    }
    Ok(out)
}
