//! Organisations of every kind, and affiliations between them over periods.
//!
//! Every kind's record (practice, PCN, federation, ICT) is an organisation row and a row of
//! the kind's details; these are the shared parts, and the writes every kind makes to them.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::error::DomainResult;
use crate::kinds::{AffiliationKind, OrgKind};
use crate::tables::{affiliations, organisations};

#[derive(Debug, Clone, PartialEq, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = organisations, treat_none_as_null = true)]
pub struct OrganisationRow {
    pub id: String,
    pub code: String,
    pub kind: String,
    pub name: String,
    pub status: String,
    pub opened_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    pub source: String,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// An organisation of any kind: a practice, PCN, federation, ICT, commissioner or external
/// provider.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Organisation {
    pub id: String,
    /// The ODS code where it has one (practices, PCNs, commissioners, most providers), else
    /// our own code (federations, ICTs, providers without one: `EXT-` and eight hex digits).
    #[schema(example = "M83001")]
    pub code: String,
    pub kind: OrgKind,
    pub name: String,
    /// In the kind's own words: a practice's `active`, `closed`, `dormant`, `proposed` or
    /// `merged`; an ICT's `planned`, `early_adopter` or `live`; else `active` or `closed`.
    pub status: String,
    /// Whether it is working: its status is one of its kind's working ones, and it is not
    /// closed as of today.
    pub active: bool,
    pub opened_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    /// `ods` (NHS ODS import), `api` or `demo`.
    pub source: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OrganisationRow {
    pub fn kind(&self) -> OrgKind {
        OrgKind::parse(&self.kind).unwrap_or(OrgKind::External)
    }

    pub fn view(&self) -> Organisation {
        let kind = self.kind();
        let today = crate::today();
        Organisation {
            id: self.id.clone(),
            code: self.code.clone(),
            kind,
            name: self.name.clone(),
            status: self.status.clone(),
            active: kind.is_active_status(&self.status) && self.closed_on.is_none_or(|c| c >= today),
            opened_on: self.opened_on,
            closed_on: self.closed_on,
            source: self.source.clone(),
            version: self.version,
            created_at: super::utc(self.created_at),
            updated_at: super::utc(self.updated_at),
        }
    }

    pub fn find(conn: &mut DbConnection, code: &str) -> DomainResult<Option<OrganisationRow>> {
        let rows = crate::db::load_direct(
            conn,
            organisations::table.filter(organisations::code.eq(code.to_ascii_uppercase())).limit(1),
        )?;
        Ok(rows.into_iter().next())
    }

    /// Finds the organisation of `kind` with `code`: `None` when there is none of that kind.
    pub fn find_of(conn: &mut DbConnection, kind: OrgKind, code: &str) -> DomainResult<Option<OrganisationRow>> {
        Ok(Self::find(conn, code)?.filter(|o| o.kind() == kind))
    }

    super::row_writes!(pub(crate) organisations);
}

#[derive(Debug, Clone, PartialEq, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = affiliations, treat_none_as_null = true)]
pub struct AffiliationRow {
    pub id: String,
    pub kind: String,
    pub member_code: String,
    pub parent_code: String,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl AffiliationRow {
    pub fn kind(&self) -> AffiliationKind {
        AffiliationKind::parse(&self.kind).unwrap_or(AffiliationKind::MemberOf)
    }

    /// Whether the affiliation holds on `day` (both ends count).
    pub fn active_on(&self, day: NaiveDate) -> bool {
        active_on(self.start_date, self.end_date, day)
    }

    pub fn find(conn: &mut DbConnection, id: &str) -> DomainResult<Option<AffiliationRow>> {
        let rows =
            crate::db::load_direct(conn, affiliations::table.filter(affiliations::id.eq(id.to_string())).limit(1))?;
        Ok(rows.into_iter().next())
    }

    super::row_writes!(pub(crate) affiliations);
}

/// A relationship between two organisations over a period, seen from one of them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Affiliation {
    pub id: String,
    pub kind: AffiliationKind,
    /// The member (a practice, or an external provider for a partner service).
    pub member: OrganisationRef,
    /// The organisation it belongs to (a PCN, federation, ICT or commissioner).
    pub parent: OrganisationRef,
    /// First day.
    pub start_date: NaiveDate,
    /// Last day, if it has ended or will end.
    pub end_date: Option<NaiveDate>,
    /// Whether it holds today.
    pub current: bool,
    pub version: i32,
}

/// Enough of an organisation to name it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganisationRef {
    #[schema(example = "M83001")]
    pub code: String,
    pub kind: OrgKind,
    pub name: String,
}

impl From<&OrganisationRow> for OrganisationRef {
    fn from(o: &OrganisationRow) -> Self {
        OrganisationRef { code: o.code.clone(), kind: o.kind(), name: o.name.clone() }
    }
}

impl Affiliation {
    pub fn of(row: &AffiliationRow, member: &OrganisationRow, parent: &OrganisationRow) -> Affiliation {
        Affiliation {
            id: row.id.clone(),
            kind: row.kind(),
            member: member.into(),
            parent: parent.into(),
            start_date: row.start_date,
            end_date: row.end_date,
            current: row.active_on(crate::today()),
            version: row.version,
        }
    }
}

/// A period is active on `day` when it has started and not yet ended (both ends count).
pub fn active_on(start: NaiveDate, end: Option<NaiveDate>, day: NaiveDate) -> bool {
    start <= day && end.is_none_or(|e| e >= day)
}

/// The organisation row of a kind's record, built from the parts every kind has.
pub(crate) struct Common<'a> {
    pub id: &'a str,
    pub code: &'a str,
    pub kind: OrgKind,
    pub name: &'a str,
    pub status: &'a str,
    pub opened_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    pub source: &'a str,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Common<'_> {
    pub fn row(&self) -> OrganisationRow {
        OrganisationRow {
            id: self.id.to_string(),
            code: self.code.to_string(),
            kind: self.kind.as_str().to_string(),
            name: self.name.to_string(),
            status: self.status.to_string(),
            opened_on: self.opened_on,
            closed_on: self.closed_on,
            source: self.source.to_string(),
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Refuses a new organisation whose code another organisation (of any kind) already has.
pub(crate) fn check_code_free(conn: &mut DbConnection, kind: OrgKind, code: &str) -> DomainResult<()> {
    if let Some(other) = OrganisationRow::find(conn, code)? {
        let what = if other.kind() == kind { "" } else { other.kind().noun() };
        return Err(crate::error::DomainError::Conflict(if what.is_empty() {
            format!("a {} with code {code} already exists", kind.noun())
        } else {
            format!("code {code} is already taken by a {what}; organisation codes are unique across kinds")
        }));
    }
    Ok(())
}

/// An external provider a reference resolved to: its code, and its name when it is already
/// held (`None`: to be created on first use, by [`ensure_external`]).
#[derive(Debug, Clone)]
pub(crate) struct Provider {
    pub code: String,
    pub known_name: Option<String>,
}

/// The external provider a free-text reference names: the organisation with `code` when one
/// is given, else the external provider with that name (any case), else a new one, with our
/// own code. `Err` says what is wrong with the code: it belongs to another kind of
/// organisation, or is ours and unknown.
pub(crate) fn external_provider(
    conn: &mut DbConnection,
    code: Option<&str>,
    name: &str,
) -> DomainResult<Result<Provider, String>> {
    if let Some(code) = code {
        return Ok(match OrganisationRow::find(conn, code)? {
            Some(o) if o.kind() == OrgKind::External => Ok(Provider { code: o.code, known_name: Some(o.name) }),
            Some(o) => Err(format!("{code} is a {}, not an external provider", o.kind().noun())),
            None if crate::kinds::is_own_external_code(code) => Err(format!("no external provider has code {code}")),
            None => Ok(Provider { code: code.to_string(), known_name: None }),
        });
    }
    let named: Vec<(String, String)> = crate::db::load_direct(
        conn,
        organisations::table
            .filter(organisations::kind.eq(OrgKind::External.as_str()))
            .filter(crate::domain::practices::lower(organisations::name).eq(name.to_lowercase()))
            .order(organisations::code)
            .select((organisations::code, organisations::name))
            .limit(1),
    )?;
    Ok(Ok(match named.into_iter().next() {
        Some((code, known)) => Provider { code, known_name: Some(known) },
        None => Provider { code: crate::kinds::new_external_code(), known_name: None },
    }))
}

/// Creates the external provider `code` named `name` unless it exists.
pub(crate) fn ensure_external(conn: &mut DbConnection, code: &str, name: &str, source: &str) -> DomainResult<()> {
    if OrganisationRow::find(conn, code)?.is_some() {
        return Ok(());
    }
    let now = crate::now();
    let id = crate::domain::crud::new_id();
    let kind = OrgKind::External;
    let source = if source == super::SOURCE_DEMO { super::SOURCE_DEMO } else { super::SOURCE_API };
    Common {
        id: &id,
        code,
        kind,
        name,
        status: kind.default_status(),
        opened_on: None,
        closed_on: None,
        source,
        version: 1,
        created_at: now,
        updated_at: now,
    }
    .row()
    .insert(conn)
}
