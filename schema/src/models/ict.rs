//! Integrated Care Teams: locality teams around neighbouring practices.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::federation::{opt_ods, org_code};
use super::organisation::{check_code_free, Common, OrganisationRow};
use crate::actor::Scope;
use crate::db::DbConnection;
use crate::domain::crud::{new_id, Entity};
use crate::error::DomainResult;
use crate::kinds::OrgKind;
use crate::tables::{ict_details, integrated_care_teams as icts};
use crate::validate::Checks;

crate::text_enum! {
    /// How far an ICT has come: planned, early adopter, or live.
    IctStatus {
        #[doc = "Agreed but not yet working as a team."] Planned = "planned",
        #[doc = "Working as a team ahead of the wider roll-out."] EarlyAdopter = "early_adopter",
        #[doc = "Fully working as an Integrated Care Team."] Live = "live",
    }
}

/// An ICT as read (the `integrated_care_teams` view).
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct IctRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub icb_code: Option<String>,
    pub locality: Option<String>,
    pub population: Option<i32>,
    pub status: String,
    pub source: String,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Insertable, AsChangeset)]
#[diesel(table_name = ict_details, treat_none_as_null = true)]
struct IctDetailsRow {
    code: String,
    icb_code: Option<String>,
    locality: Option<String>,
    population: Option<i32>,
}

/// An Integrated Care Team.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegratedCareTeam {
    pub id: String,
    #[schema(example = "ICT-MEIR")]
    pub code: String,
    pub name: String,
    pub icb_code: Option<String>,
    /// The locality served, in words.
    pub locality: Option<String>,
    /// People served (typically 30,000–70,000).
    pub population: Option<i32>,
    pub status: IctStatus,
    pub source: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The writable fields of an ICT.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, async_graphql::InputObject)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntegratedCareTeamInput {
    /// Stable code, e.g. `ICT-MEIR`: 2 to 32 capital letters, digits or hyphens. Cannot be changed.
    #[schema(example = "ICT-MEIR")]
    pub code: String,
    /// The team's name, up to 200 characters.
    pub name: String,
    /// Code of the integrated care board the team belongs to, e.g. `QNC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icb_code: Option<String>,
    /// The locality served, in words (up to 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// People served (typically 30,000–70,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub population: Option<i32>,
    /// Defaults to `planned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<IctStatus>,
}

impl IctRow {
    pub const ORG_KIND: OrgKind = OrgKind::Ict;

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn view(&self) -> IntegratedCareTeam {
        IntegratedCareTeam {
            id: self.id.clone(),
            code: self.code.clone(),
            name: self.name.clone(),
            icb_code: self.icb_code.clone(),
            locality: self.locality.clone(),
            population: self.population,
            status: IctStatus::parse(&self.status).unwrap_or(IctStatus::Planned),
            source: self.source.clone(),
            version: self.version,
            created_at: super::utc(self.created_at),
            updated_at: super::utc(self.updated_at),
        }
    }

    pub fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<IctRow>> {
        super::find_by_id_or_key!(conn, key, icts, code, |k: &str| k.to_ascii_uppercase())
    }

    fn parts(&self) -> (OrganisationRow, IctDetailsRow) {
        let org = Common {
            id: &self.id,
            code: &self.code,
            kind: OrgKind::Ict,
            name: &self.name,
            status: &self.status,
            opened_on: None,
            closed_on: None,
            source: &self.source,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
        .row();
        let details = IctDetailsRow {
            code: self.code.clone(),
            icb_code: self.icb_code.clone(),
            locality: self.locality.clone(),
            population: self.population,
        };
        (org, details)
    }
}

impl Entity for IctRow {
    const NAME: &'static str = "integrated care team";
    const KIND: &'static str = "ict";
    const COLLECTION: &'static str = "icts";
    const WRITE_SCOPE: Scope = Scope::ReferenceWrite;
    type Input = IntegratedCareTeamInput;
    type View = IntegratedCareTeam;

    super::entity_basics!(code);
    fn to_input(&self) -> IntegratedCareTeamInput {
        IntegratedCareTeamInput {
            code: self.code.clone(),
            name: self.name.clone(),
            icb_code: self.icb_code.clone(),
            locality: self.locality.clone(),
            population: self.population,
            status: IctStatus::parse(&self.status),
        }
    }
    fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<Self>> {
        IctRow::find(conn, key)
    }
    fn build(conn: &mut DbConnection, input: IntegratedCareTeamInput, current: Option<&Self>) -> DomainResult<Self> {
        let mut ck = Checks::new();
        let code = org_code(&mut ck, OrgKind::Ict, &input.code, current.map(|c| c.code.as_str()));
        let name = ck.text("name", &input.name, 200);
        let icb_code = opt_ods(&mut ck, "icbCode", input.icb_code.as_deref());
        let locality = ck.opt_text("locality", input.locality.as_deref(), 500);
        if let Some(p) = input.population {
            ck.check((0..=10_000_000).contains(&p), "population", "must be between 0 and 10,000,000");
        }
        ck.finish()?;
        if current.is_none() {
            // Codes are unique across kinds: one lookup answers for both.
            check_code_free(conn, OrgKind::Ict, &code)?;
        }
        let now = crate::now();
        Ok(IctRow {
            id: current.map(|c| c.id.clone()).unwrap_or_else(new_id),
            code,
            name,
            icb_code,
            locality,
            population: input.population,
            status: input.status.unwrap_or(IctStatus::Planned).as_str().to_string(),
            source: current.map(|c| c.source.clone()).unwrap_or_else(|| super::SOURCE_API.to_string()),
            version: current.map(|c| c.version + 1).unwrap_or(1),
            created_at: current.map(|c| c.created_at).unwrap_or(now),
            updated_at: now,
        })
    }
    super::organisation_writes!(ict_details);
}
