//! GP practices, keyed by id and by ODS code.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::organisation::{check_code_free, Common, OrganisationRow};
use crate::actor::Scope;
use crate::db::DbConnection;
use crate::domain::crud::{new_id, Entity};
use crate::error::DomainResult;
use crate::kinds::OrgKind;
use crate::tables::practice_details;
use crate::validate::{is_ods_code, normalise_postcode, Checks};

crate::text_enum! {
    /// Whether a practice is open. `merged` practices name the practice they merged into.
    PracticeStatus {
        #[doc = "Open and providing services."] Active = "active",
        #[doc = "Closed: no longer providing services."] Closed = "closed",
        #[doc = "Registered but not currently providing services."] Dormant = "dormant",
        #[doc = "Planned, not yet open."] Proposed = "proposed",
        #[doc = "Merged into another practice, named by `mergedInto`."] Merged = "merged",
    }
}

/// A practice as read (the `practices` view: its organisation row and its details).
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct PracticeRow {
    pub id: String,
    pub ods_code: String,
    pub name: String,
    pub address_lines: Option<String>,
    pub postcode: String,
    pub region_code: Option<String>,
    pub icb_code: Option<String>,
    pub commissioner_code: Option<String>,
    pub list_size: Option<i32>,
    pub status: String,
    pub merged_into: Option<String>,
    pub opened_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    pub phone: Option<String>,
    pub source: String,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What only a practice has, as stored.
#[derive(Debug, Clone, PartialEq, Insertable, AsChangeset)]
#[diesel(table_name = practice_details, treat_none_as_null = true)]
pub struct PracticeDetailsRow {
    pub code: String,
    pub address_lines: Option<String>,
    pub postcode: String,
    pub region_code: Option<String>,
    pub icb_code: Option<String>,
    pub commissioner_code: Option<String>,
    pub list_size: Option<i32>,
    pub merged_into: Option<String>,
    pub phone: Option<String>,
}

/// A GP practice.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Practice {
    pub id: String,
    /// ODS organisation code, e.g. `M83001`.
    #[schema(example = "M83001")]
    pub ods_code: String,
    pub name: String,
    pub address_lines: Vec<String>,
    #[schema(example = "ST3 6AB")]
    pub postcode: String,
    /// NHS region (ODS national grouping), e.g. `Y60`.
    pub region_code: Option<String>,
    /// Integrated care board or higher health geography, e.g. `QNC`.
    pub icb_code: Option<String>,
    /// Current commissioner (CCG / sub-ICB location), e.g. `05G`.
    pub commissioner_code: Option<String>,
    pub list_size: Option<i32>,
    pub status: PracticeStatus,
    /// ODS code of the practice this one merged into.
    pub merged_into: Option<String>,
    pub opened_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    pub phone: Option<String>,
    /// `ods` (NHS ODS import), `api` or `demo`.
    pub source: String,
    /// Increases by one with every change; the ETag.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The writable fields of a practice. Only `odsCode`, `name` and `postcode` are required.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, async_graphql::InputObject)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PracticeInput {
    /// ODS organisation code: a capital letter and five digits, e.g. `M83001`. Cannot be changed.
    #[schema(example = "M83001")]
    pub ods_code: String,
    /// The practice's name, up to 200 characters.
    pub name: String,
    /// UK postcode; stored upper case with a single space, e.g. `ST3 6AB`.
    #[schema(example = "ST3 6AB")]
    pub postcode: String,
    /// Address above the postcode: at most 5 lines of up to 100 characters.
    /// Blank lines are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_lines: Option<Vec<String>>,
    /// NHS region (ODS national grouping) code, e.g. `Y60`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_code: Option<String>,
    /// Integrated care board or higher health geography code, e.g. `QNC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icb_code: Option<String>,
    /// Current commissioner (CCG / sub-ICB location) code, e.g. `05G`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commissioner_code: Option<String>,
    /// Registered patients, 0 to 1,000,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_size: Option<i32>,
    /// Defaults to `active`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PracticeStatus>,
    /// ODS code of the practice this one merged into; required when, and only when, `status` is `merged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    /// The day the practice opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<chrono::NaiveDate>)]
    pub opened_on: Option<crate::date::Date>,
    /// The day the practice closed; not before `openedOn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<chrono::NaiveDate>)]
    pub closed_on: Option<crate::date::Date>,
    /// Main telephone number, up to 32 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl PracticeRow {
    pub fn view(&self) -> Practice {
        self.clone().into_view()
    }

    /// The view, taking the row's strings rather than copying them (for lists).
    pub fn into_view(self) -> Practice {
        Practice {
            address_lines: self
                .address_lines
                .as_deref()
                .map(|a| a.split('\n').map(str::to_string).collect())
                .unwrap_or_default(),
            status: PracticeStatus::parse(&self.status).unwrap_or(PracticeStatus::Active),
            id: self.id,
            ods_code: self.ods_code,
            name: self.name,
            postcode: self.postcode,
            region_code: self.region_code,
            icb_code: self.icb_code,
            commissioner_code: self.commissioner_code,
            list_size: self.list_size,
            merged_into: self.merged_into,
            opened_on: self.opened_on,
            closed_on: self.closed_on,
            phone: self.phone,
            source: self.source,
            version: self.version,
            created_at: super::utc(self.created_at),
            updated_at: super::utc(self.updated_at),
        }
    }

    pub fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<PracticeRow>> {
        use crate::tables::practices;
        super::find_by_id_or_key!(conn, key, practices, ods_code, |k: &str| k.to_ascii_uppercase())
    }

    /// The rows it is stored as: its organisation and its details.
    pub fn parts(&self) -> (OrganisationRow, PracticeDetailsRow) {
        let org = Common {
            id: &self.id,
            code: &self.ods_code,
            kind: OrgKind::Practice,
            name: &self.name,
            status: &self.status,
            opened_on: self.opened_on,
            closed_on: self.closed_on,
            source: &self.source,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
        .row();
        let details = PracticeDetailsRow {
            code: self.ods_code.clone(),
            address_lines: self.address_lines.clone(),
            postcode: self.postcode.clone(),
            region_code: self.region_code.clone(),
            icb_code: self.icb_code.clone(),
            commissioner_code: self.commissioner_code.clone(),
            list_size: self.list_size,
            merged_into: self.merged_into.clone(),
            phone: self.phone.clone(),
        };
        (org, details)
    }
}

/// Joins address lines for storage; blank lines are dropped.
pub fn join_address(lines: &[String]) -> Option<String> {
    let kept: Vec<&str> = lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()).collect();
    (!kept.is_empty()).then(|| kept.join("\n"))
}

impl Entity for PracticeRow {
    const NAME: &'static str = "practice";
    const KIND: &'static str = "practice";
    const COLLECTION: &'static str = "practices";
    const WRITE_SCOPE: Scope = Scope::ReferenceWrite;
    type Input = PracticeInput;
    type View = Practice;

    super::entity_basics!(ods_code);
    fn to_input(&self) -> PracticeInput {
        let v = self.view();
        PracticeInput {
            ods_code: v.ods_code,
            name: v.name,
            postcode: v.postcode,
            address_lines: (!v.address_lines.is_empty()).then_some(v.address_lines),
            region_code: v.region_code,
            icb_code: v.icb_code,
            commissioner_code: v.commissioner_code,
            list_size: v.list_size,
            status: Some(v.status),
            merged_into: v.merged_into,
            opened_on: v.opened_on.map(Into::into),
            closed_on: v.closed_on.map(Into::into),
            phone: v.phone,
        }
    }

    fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<Self>> {
        PracticeRow::find(conn, key)
    }

    fn build(conn: &mut DbConnection, input: PracticeInput, current: Option<&Self>) -> DomainResult<Self> {
        let mut ck = Checks::new();
        let ods_code = input.ods_code.trim().to_string();
        if let Err(shape) = OrgKind::Practice.check_code(&ods_code) {
            ck.fail("odsCode", shape);
        }
        if let Some(cur) = current {
            ck.check(
                ods_code == cur.ods_code,
                "odsCode",
                "cannot be changed; create a new practice and mark this one merged or closed",
            );
        }
        let name = ck.text("name", &input.name, 200);
        let postcode = match normalise_postcode(&input.postcode) {
            Some(p) => p,
            None => {
                ck.fail("postcode", "must be a UK postcode, e.g. ST3 6AB");
                String::new()
            }
        };
        let lines = input.address_lines.unwrap_or_default();
        ck.check(lines.len() <= 5, "addressLines", "at most 5 lines");
        for (i, l) in lines.iter().enumerate() {
            ck.check(
                l.chars().count() <= 100 && !l.chars().any(char::is_control),
                &format!("addressLines/{i}"),
                "at most 100 characters, no control characters",
            );
        }
        let mut code = |field: &str, v: Option<String>| -> Option<String> {
            let v = v.map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty());
            if let Some(s) = &v {
                ck.check(is_ods_code(s), field, "must be an ODS code: 3 to 10 capital letters and digits");
            }
            v
        };
        let region_code = code("regionCode", input.region_code);
        let icb_code = code("icbCode", input.icb_code);
        let commissioner_code = code("commissionerCode", input.commissioner_code);
        let merged_into = input.merged_into.map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty());
        if let Some(n) = input.list_size {
            ck.check((0..=1_000_000).contains(&n), "listSize", "must be between 0 and 1,000,000");
        }
        let status = input.status.unwrap_or(PracticeStatus::Active);
        match (&merged_into, status) {
            (None, PracticeStatus::Merged) => ck.fail("mergedInto", "is required when status is merged"),
            (Some(_), s) if s != PracticeStatus::Merged => {
                ck.fail("mergedInto", "is only allowed when status is merged")
            }
            (Some(m), _) if *m == ods_code => ck.fail("mergedInto", "a practice cannot merge into itself"),
            _ => {}
        }
        ck.date_order(input.opened_on.map(|d| d.0), input.closed_on.map(|d| d.0), "closedOn");
        let phone = ck.opt_text("phone", input.phone.as_deref(), 32);
        if let Some(m) = &merged_into {
            ck.found(PracticeRow::find(conn, m)?, "mergedInto", || format!("no practice has ODS code {m}"));
        }
        ck.finish()?;
        if current.is_none() {
            // Codes are unique across kinds: one lookup answers for both.
            check_code_free(conn, OrgKind::Practice, &ods_code)?;
        }
        let now = crate::now();
        Ok(PracticeRow {
            id: current.map(|c| c.id.clone()).unwrap_or_else(new_id),
            ods_code,
            name,
            address_lines: join_address(&lines),
            postcode,
            region_code,
            icb_code,
            commissioner_code,
            list_size: input.list_size,
            status: status.as_str().to_string(),
            merged_into,
            opened_on: input.opened_on.map(|d| d.0),
            closed_on: input.closed_on.map(|d| d.0),
            phone,
            source: current.map(|c| c.source.clone()).unwrap_or_else(|| super::SOURCE_API.to_string()),
            version: current.map(|c| c.version + 1).unwrap_or(1),
            created_at: current.map(|c| c.created_at).unwrap_or(now),
            updated_at: now,
        })
    }

    super::organisation_writes!(practice_details);
}
