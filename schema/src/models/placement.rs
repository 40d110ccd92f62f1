//! Placements: one post holder in one role at one host for a period.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::federation::opt_ods;
use super::organisation::{ensure_external, external_provider, OrganisationRow, Provider};
use super::programme::ProgrammeRow;
use super::role::RoleRow;
use crate::actor::Scope;
use crate::db::DbConnection;
use crate::domain::crud::{new_id, Entity};
use crate::error::{DomainError, DomainResult};
use crate::tables::{placement_records, placements};
use crate::validate::Checks;

/// Full-time equivalent is hours per week over the NHS standard 37.5.
pub const FULL_TIME_HOURS: f64 = 37.5;

pub use crate::kinds::HostType;

crate::text_enum! {
    /// Who pays for the post.
    Funding {
        #[doc = "The Additional Roles Reimbursement Scheme (ARRS)."] Arrs = "arrs",
        #[doc = "The programme the placement belongs to."] Programme = "programme",
        #[doc = "A GP practice, from its own budget."] Practice = "practice",
        #[doc = "A GP federation."] Federation = "federation",
        #[doc = "The integrated care board (ICB)."] Icb = "icb",
        #[doc = "An NHS trust."] Trust = "trust",
        #[doc = "Any other source."] Other = "other",
    }
}

crate::text_enum! {
    /// The regulator a post holder is registered with.
    RegistrationBody {
        #[doc = "General Medical Council: 7 digits."] Gmc = "gmc",
        #[doc = "Nursing and Midwifery Council: 2 digits, a letter, 4 digits, a letter (`12A3456B`)."] Nmc = "nmc",
        #[doc = "General Pharmaceutical Council: 7 digits."] Gphc = "gphc",
        #[doc = "Health and Care Professions Council: 2 letters and 5 or 6 digits (`PA123456`)."] Hcpc = "hcpc",
    }
}

impl RegistrationBody {
    /// Whether `number` (capitals, no spaces) has this register's shape.
    pub fn accepts(self, number: &str) -> bool {
        let b = number.as_bytes();
        let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
        let letter = |c: u8| c.is_ascii_uppercase();
        match self {
            RegistrationBody::Gmc | RegistrationBody::Gphc => b.len() == 7 && digits(b),
            RegistrationBody::Nmc => {
                b.len() == 8 && digits(&b[..2]) && letter(b[2]) && digits(&b[3..7]) && letter(b[7])
            }
            RegistrationBody::Hcpc => (7..=8).contains(&b.len()) && letter(b[0]) && letter(b[1]) && digits(&b[2..]),
        }
    }
}

crate::text_enum! {
    /// Where a placement is on `today`: not yet started, running, or ended.
    PlacementStatus {
        #[doc = "Starts after today."] Planned = "planned",
        #[doc = "Started on or before today and not yet ended (the last day may be today)."] Active = "active",
        #[doc = "Its last day was before today."] Ended = "ended",
    }
}

/// A placement as read (the `placements` view: its record and an external host's name).
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName)]
#[diesel(table_name = placements)]
pub struct PlacementRow {
    pub id: String,
    pub staff_ref: String,
    pub role_code: String,
    pub programme_code: Option<String>,
    pub host_type: String,
    /// The host organisation's code.
    pub host_code: String,
    /// For an external host, the team the post is in, when the client named it otherwise
    /// than the provider is named.
    pub host_unit: Option<String>,
    /// For an external host, the name shown: the team's, else the provider's.
    pub host_name: Option<String>,
    pub hours_per_week: f64,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub funding: Option<String>,
    pub notes: Option<String>,
    pub source: String,
    pub created_by: String,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub registration_body: Option<String>,
    pub registration_number: Option<String>,
}

/// A placement as stored.
#[derive(Debug, Clone, PartialEq, Insertable, AsChangeset)]
#[diesel(table_name = placement_records, treat_none_as_null = true, treat_none_as_default_value = false)]
pub(crate) struct PlacementRecord<'a> {
    id: &'a str,
    staff_ref: &'a str,
    role_code: &'a str,
    programme_code: Option<&'a str>,
    host_type: &'a str,
    host_code: &'a str,
    host_unit: Option<&'a str>,
    hours_per_week: f64,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
    funding: Option<&'a str>,
    notes: Option<&'a str>,
    source: &'a str,
    created_by: &'a str,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    registration_body: Option<&'a str>,
    registration_number: Option<&'a str>,
}

/// A placement of one (pseudonymous) post holder in one role at one host.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    pub id: String,
    /// The partner's pseudonymous reference for the post holder; never a name.
    /// A split post is several placements sharing one staff reference.
    #[schema(example = "NSGPF-PA-0001")]
    pub staff_ref: String,
    #[schema(example = "physician-associate")]
    pub role_code: String,
    pub programme_code: Option<String>,
    pub host_type: HostType,
    /// The host organisation's code: a practice's or PCN's ODS code, a federation's or ICT's
    /// code, or an external host's ODS code (or, for one without, the code we gave it:
    /// `EXT-` and eight hex digits).
    pub host_code: Option<String>,
    /// Name of an external host (acute or mental health team).
    pub host_name: Option<String>,
    #[schema(example = 22.5)]
    pub hours_per_week: f64,
    /// Hours per week over 37.5, to two decimals.
    #[schema(example = 0.6)]
    pub fte: f64,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub status: PlacementStatus,
    pub funding: Option<Funding>,
    pub notes: Option<String>,
    /// `api`, `import` or `demo` (synthetic demonstration data).
    pub source: String,
    /// Subject of the token that created it.
    pub created_by: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The post holder's regulator, when a registration is held.
    pub registration_body: Option<RegistrationBody>,
    /// The registration number, e.g. a GMC number.
    pub registration_number: Option<String>,
}

/// The writable fields of a placement.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, async_graphql::InputObject)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlacementInput {
    /// The partner's pseudonymous reference for the post holder; never a name.
    /// Up to 64 characters; a split post is several placements sharing one staff reference.
    #[schema(example = "NSGPF-PA-0001")]
    pub staff_ref: String,
    /// Code of the role in the role catalogue.
    #[schema(example = "physician-associate")]
    pub role_code: String,
    /// Code of the programme the placement belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme_code: Option<String>,
    /// The kind of host: practice, PCN, federation or ICT (by `hostCode`), or external (by
    /// `hostName`, and `hostCode` when it has an ODS code).
    pub host_type: HostType,
    /// Required for practice, PCN, federation and ICT hosts (ODS code or code); the ODS code
    /// of an external host, if it has one (or the code it was given on first use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "M83001")]
    pub host_code: Option<String>,
    /// Required for external hosts only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
    /// Contracted hours per week, more than 0 and at most 80; FTE is this over 37.5.
    #[schema(example = 22.5)]
    pub hours_per_week: f64,
    /// First day of the placement.
    #[schema(value_type = chrono::NaiveDate)]
    pub start_date: crate::date::Date,
    /// Last day of the placement, if known; not before `startDate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<chrono::NaiveDate>)]
    pub end_date: Option<crate::date::Date>,
    /// Who pays for the post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding: Option<Funding>,
    /// Free-text notes, up to 2,000 characters; no personal details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The post holder's regulator, with `registrationNumber`; optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_body: Option<RegistrationBody>,
    /// The registration number, in the regulator's shape: GMC and GPhC 7 digits, NMC like
    /// `12A3456B`, HCPC two letters and digits (`PA123456`). Returned only to callers who may
    /// read the placement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "7123456")]
    pub registration_number: Option<String>,
}

/// The status of a period on `day`.
pub fn status_on(start: NaiveDate, end: Option<NaiveDate>, day: NaiveDate) -> PlacementStatus {
    if start > day {
        PlacementStatus::Planned
    } else if end.is_some_and(|e| e < day) {
        PlacementStatus::Ended
    } else {
        PlacementStatus::Active
    }
}

/// Whether a code could name a record at all (short, no control characters), so a lookup
/// is worth a statement.
fn is_code_shaped(code: &str) -> bool {
    !code.is_empty() && code.len() <= 64 && !crate::validate::has_control_chars(code)
}

pub fn fte(hours: f64) -> f64 {
    (hours / FULL_TIME_HOURS * 100.0).round() / 100.0
}

impl PlacementRow {
    pub fn host_type(&self) -> HostType {
        HostType::parse(&self.host_type).unwrap_or(HostType::External)
    }

    /// The record as stored.
    pub(crate) fn record(&self) -> PlacementRecord<'_> {
        PlacementRecord {
            id: &self.id,
            staff_ref: &self.staff_ref,
            role_code: &self.role_code,
            programme_code: self.programme_code.as_deref(),
            host_type: &self.host_type,
            host_code: &self.host_code,
            host_unit: self.host_unit.as_deref(),
            hours_per_week: self.hours_per_week,
            start_date: self.start_date,
            end_date: self.end_date,
            funding: self.funding.as_deref(),
            notes: self.notes.as_deref(),
            source: &self.source,
            created_by: &self.created_by,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            registration_body: self.registration_body.as_deref(),
            registration_number: self.registration_number.as_deref(),
        }
    }

    /// Columns of [`PlacementRecord`], for bulk inserts within bind limits.
    pub(crate) const RECORD_COLUMNS: usize = 19;

    /// Creates the external host on first use.
    pub(crate) fn ensure_host(&self, conn: &mut DbConnection) -> DomainResult<()> {
        match (self.host_type(), &self.host_name) {
            (HostType::External, Some(name)) => ensure_external(conn, &self.host_code, name, &self.source),
            _ => Ok(()),
        }
    }

    pub fn view(&self) -> Placement {
        self.clone().into_view()
    }

    /// The view, taking the row's strings rather than copying them (for lists).
    pub fn into_view(self) -> Placement {
        Placement {
            host_type: self.host_type(),
            host_code: Some(self.host_code),
            fte: fte(self.hours_per_week),
            status: status_on(self.start_date, self.end_date, crate::today()),
            funding: self.funding.as_deref().and_then(Funding::parse),
            id: self.id,
            staff_ref: self.staff_ref,
            role_code: self.role_code,
            programme_code: self.programme_code,
            host_name: self.host_name,
            hours_per_week: self.hours_per_week,
            start_date: self.start_date,
            end_date: self.end_date,
            notes: self.notes,
            source: self.source,
            created_by: self.created_by,
            version: self.version,
            created_at: super::utc(self.created_at),
            updated_at: super::utc(self.updated_at),
            registration_body: self.registration_body.as_deref().and_then(RegistrationBody::parse),
            registration_number: self.registration_number,
        }
    }
}

impl Entity for PlacementRow {
    const NAME: &'static str = "placement";
    const KIND: &'static str = "placement";
    const COLLECTION: &'static str = "placements";
    const WRITE_SCOPE: Scope = Scope::PlacementsWrite;
    const READ_SCOPE: Option<Scope> = Some(Scope::PlacementsRead);
    type Input = PlacementInput;
    type View = Placement;

    super::entity_basics!(id);
    fn to_input(&self) -> PlacementInput {
        let v = self.view();
        PlacementInput {
            staff_ref: v.staff_ref,
            role_code: v.role_code,
            programme_code: v.programme_code,
            host_type: v.host_type,
            host_code: v.host_code,
            host_name: v.host_name,
            hours_per_week: v.hours_per_week,
            start_date: v.start_date.into(),
            end_date: v.end_date.map(Into::into),
            funding: v.funding,
            notes: v.notes,
            registration_body: v.registration_body,
            registration_number: v.registration_number,
        }
    }
    fn check_caller(actor: &crate::actor::Actor) -> DomainResult<()> {
        crate::domain::reach::require_org(actor)
    }

    fn check_visible(actor: &crate::actor::Actor, record: &Self, conn: &mut DbConnection) -> DomainResult<()> {
        crate::domain::reach::Reach::of(conn, actor)?.check_visible(record)
    }

    fn check_writable(actor: &crate::actor::Actor, record: &Self, conn: &mut DbConnection) -> DomainResult<()> {
        crate::domain::reach::Reach::of(conn, actor)?.check_writable(record)
    }

    fn on_create(&mut self, actor: &crate::actor::Actor) {
        self.created_by = actor.subject.clone();
    }
    fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<Self>> {
        if !super::is_uuid(key) {
            return Ok(None);
        }
        let rows = crate::db::load_direct(conn, placements::table.filter(placements::id.eq(key.to_string())).limit(1))?;
        Ok(rows.into_iter().next())
    }
    fn build(conn: &mut DbConnection, input: PlacementInput, current: Option<&Self>) -> DomainResult<Self> {
        PlacementRow::build_with(&mut Direct(conn), input, current)
    }
    fn insert(&self, conn: &mut DbConnection) -> DomainResult<()> {
        self.ensure_host(conn)?;
        diesel::insert_into(placement_records::table).values(self.record()).execute(conn)?;
        Ok(())
    }
    fn update(&self, conn: &mut DbConnection, expected_version: i32) -> DomainResult<usize> {
        self.ensure_host(conn)?;
        Ok(diesel::update(
            placement_records::table
                .filter(placement_records::id.eq(&self.id))
                .filter(placement_records::version.eq(expected_version)),
        )
        .set(self.record())
        .execute(conn)?)
    }
    fn delete(&self, conn: &mut DbConnection) -> DomainResult<usize> {
        Ok(diesel::delete(
            placement_records::table
                .filter(placement_records::id.eq(&self.id))
                .filter(placement_records::version.eq(self.version)),
        )
        .execute(conn)?)
    }
}

/// What validating a placement looks up: the catalogue and the hosts. One statement a lookup
/// for a single write; remembered across the rows of a batch.
pub(crate) trait Lookups {
    fn role(&mut self, code: &str) -> DomainResult<Option<String>>;
    fn programme(&mut self, code: &str) -> DomainResult<Option<String>>;
    fn host(&mut self, kind: crate::kinds::OrgKind, code: &str) -> DomainResult<Option<String>>;
    fn external(&mut self, code: Option<&str>, name: &str) -> DomainResult<Result<Provider, String>>;
}

/// Lookups straight from the database.
struct Direct<'a>(&'a mut DbConnection);

impl Lookups for Direct<'_> {
    fn role(&mut self, code: &str) -> DomainResult<Option<String>> {
        Ok(RoleRow::find(self.0, code)?.map(|r| r.code))
    }
    fn programme(&mut self, code: &str) -> DomainResult<Option<String>> {
        Ok(ProgrammeRow::find(self.0, code)?.map(|p| p.code))
    }
    fn host(&mut self, kind: crate::kinds::OrgKind, code: &str) -> DomainResult<Option<String>> {
        Ok(OrganisationRow::find_of(self.0, kind, code)?.map(|o| o.code))
    }
    fn external(&mut self, code: Option<&str>, name: &str) -> DomainResult<Result<Provider, String>> {
        external_provider(self.0, code, name)
    }
}

/// Lookups remembered: a batch of thousands of rows names a handful of roles and hosts.
pub(crate) struct Remembered<'a> {
    pub conn: &'a mut DbConnection,
    roles: std::collections::HashMap<String, Option<String>>,
    programmes: std::collections::HashMap<String, Option<String>>,
    hosts: std::collections::HashMap<(crate::kinds::OrgKind, String), Option<String>>,
    externals: std::collections::HashMap<(Option<String>, String), Result<Provider, String>>,
}

impl<'a> Remembered<'a> {
    pub fn new(conn: &'a mut DbConnection) -> Self {
        Remembered {
            conn,
            roles: Default::default(),
            programmes: Default::default(),
            hosts: Default::default(),
            externals: Default::default(),
        }
    }
}

/// The remembered answer to a lookup, asking the database the first time.
fn remembered<K: std::hash::Hash + Eq, V: Clone>(
    memory: &mut std::collections::HashMap<K, V>,
    key: K,
    ask: impl FnOnce() -> DomainResult<V>,
) -> DomainResult<V> {
    if let Some(v) = memory.get(&key) {
        return Ok(v.clone());
    }
    let v = ask()?;
    memory.insert(key, v.clone());
    Ok(v)
}

impl Lookups for Remembered<'_> {
    fn role(&mut self, code: &str) -> DomainResult<Option<String>> {
        let conn = &mut *self.conn;
        remembered(&mut self.roles, code.to_string(), || Direct(conn).role(code))
    }
    fn programme(&mut self, code: &str) -> DomainResult<Option<String>> {
        let conn = &mut *self.conn;
        remembered(&mut self.programmes, code.to_string(), || Direct(conn).programme(code))
    }
    fn host(&mut self, kind: crate::kinds::OrgKind, code: &str) -> DomainResult<Option<String>> {
        let conn = &mut *self.conn;
        remembered(&mut self.hosts, (kind, code.to_string()), || Direct(conn).host(kind, code))
    }
    fn external(&mut self, code: Option<&str>, name: &str) -> DomainResult<Result<Provider, String>> {
        let conn = &mut *self.conn;
        let key = (code.map(str::to_string), name.to_lowercase());
        remembered(&mut self.externals, key, || Direct(conn).external(code, name))
    }
}

impl PlacementRow {
    /// Validates `input` into a record, reporting every field error at once.
    pub(crate) fn build_with(
        refs: &mut impl Lookups,
        input: PlacementInput,
        current: Option<&Self>,
    ) -> DomainResult<Self> {
        let mut ck = Checks::new();
        let staff_ref = ck.text("staffRef", &input.staff_ref, 64);
        let h = input.hours_per_week;
        ck.check(h.is_finite() && h > 0.0 && h <= 80.0, "hoursPerWeek", "must be more than 0 and at most 80");
        ck.date_order(Some(input.start_date.0), input.end_date.map(|d| d.0), "endDate");
        let notes = ck.free_text("notes", input.notes.as_deref(), 2000);
        let registration_number = input
            .registration_number
            .as_deref()
            .map(|n| n.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase())
            .filter(|n| !n.is_empty());
        match (input.registration_body, &registration_number) {
            (Some(body), Some(n)) => ck.check(
                body.accepts(n),
                "registrationNumber",
                "does not have the register's shape: GMC and GPhC 7 digits, NMC like 12A3456B, HCPC two letters and 5 or 6 digits",
            ),
            (None, Some(_)) => ck.fail("registrationBody", "is required with a registrationNumber"),
            (Some(_), None) => ck.fail("registrationNumber", "is required with a registrationBody"),
            (None, None) => {}
        }
        let host_code =
            input.host_code.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_ascii_uppercase);
        let host_name = input.host_name.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let host_type = input.host_type;
        let mut host_name_kept = None;
        let mut host_unit = None;
        match host_type {
            HostType::External => match &host_name {
                Some(n) => host_name_kept = Some(ck.text("hostName", n, 200)),
                None => ck.fail("hostName", "is required for an external host"),
            },
            _ => {
                ck.check(
                    host_name.is_none(),
                    "hostName",
                    "is only for external hosts; practices, PCNs, federations and ICTs are named by hostCode",
                );
                if host_code.is_none() {
                    ck.fail(
                        "hostCode",
                        "is required: the ODS code of the practice or PCN, or the code of the federation or ICT",
                    );
                }
            }
        }
        // Lookups report into the same checks, so a body gets every error at once.
        let host: Option<String> = match (host_type, host_code.as_deref()) {
            (HostType::External, code) => {
                let shaped = code.is_none_or(|c| host_type.kind().check_code(c).is_ok());
                if !shaped {
                    opt_ods(&mut ck, "hostCode", code);
                }
                match host_name_kept.as_deref().filter(|n| shaped && !n.is_empty() && n.chars().count() <= 200) {
                    Some(name) if !crate::validate::has_control_chars(name) => {
                        match refs.external(code, name)? {
                            Ok(provider) => {
                                // A known provider named otherwise: the name is its team's.
                                host_unit = provider.known_name.filter(|known| known != name).map(|_| name.to_string());
                                Some(provider.code)
                            }
                            Err(message) => {
                                ck.fail("hostCode", message);
                                None
                            }
                        }
                    }
                    _ => None,
                }
            }
            (_, Some(code)) if is_code_shaped(code) => {
                let found = refs.host(host_type.kind(), code)?;
                if found.is_none() {
                    ck.fail("hostCode", format!("no {} has code {code}", host_type.noun()));
                }
                found
            }
            (_, Some(code)) => {
                ck.fail("hostCode", format!("no {} has code {code}", host_type.noun()));
                None
            }
            (_, None) => None,
        };
        let role_code = input.role_code.trim();
        let role = if is_code_shaped(role_code) { refs.role(role_code)? } else { None };
        if role.is_none() {
            ck.fail("roleCode", format!("no role has code {role_code}"));
        }
        let programme = match input.programme_code.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(p) => {
                let found = if is_code_shaped(p) { refs.programme(p)? } else { None };
                if found.is_none() {
                    ck.fail("programmeCode", format!("no programme has code {p}"));
                }
                found
            }
            None => None,
        };
        ck.finish()?;
        let (Some(role), Some(host_code)) = (role, host) else {
            return Err(DomainError::invalid("roleCode", "no such role"));
        };
        let now = crate::now();
        Ok(PlacementRow {
            id: current.map(|c| c.id.clone()).unwrap_or_else(new_id),
            staff_ref,
            role_code: role,
            programme_code: programme,
            host_type: host_type.as_str().to_string(),
            host_code,
            host_unit,
            host_name: host_name_kept,
            hours_per_week: h,
            start_date: input.start_date.0,
            end_date: input.end_date.map(|d| d.0),
            funding: input.funding.map(|f| f.as_str().to_string()),
            notes,
            source: current.map(|c| c.source.clone()).unwrap_or_else(|| super::SOURCE_API.to_string()),
            created_by: current.map(|c| c.created_by.clone()).unwrap_or_default(),
            version: current.map(|c| c.version + 1).unwrap_or(1),
            created_at: current.map(|c| c.created_at).unwrap_or(now),
            updated_at: now,
            registration_body: input.registration_body.map(|b| b.as_str().to_string()),
            registration_number,
        })
    }
}
