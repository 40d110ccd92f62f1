//! The catalogue of workforce roles.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::actor::Scope;
use crate::db::DbConnection;
use crate::domain::crud::{new_id, Entity};
use crate::error::{DomainError, DomainResult};
use crate::tables::roles;
use crate::validate::{is_slug, Checks};

crate::text_enum! {
    /// NHS workforce staff group.
    StaffGroup {
        #[doc = "General practitioners (GPs), including GP registrars and retainers."] Gp = "gp",
        #[doc = "Nurses: practice nurses, advanced nurse practitioners and nursing associates."] Nurse = "nurse",
        #[doc = "Other clinical staff seeing patients, e.g. pharmacists, physician associates and paramedics."] DirectPatientCare = "direct_patient_care",
        #[doc = "Admin and non-clinical staff, e.g. practice managers, receptionists and care coordinators."] Admin = "admin",
    }
}

crate::text_enum! {
    /// The professional regulator of a role.
    Regulator {
        #[doc = "General Medical Council: doctors and physician associates."] Gmc = "GMC",
        #[doc = "Nursing and Midwifery Council: nurses, midwives and nursing associates."] Nmc = "NMC",
        #[doc = "Health and Care Professions Council: paramedics, physiotherapists, dietitians and others."] Hcpc = "HCPC",
        #[doc = "General Pharmaceutical Council: pharmacists and pharmacy technicians."] Gphc = "GPhC",
        #[doc = "Not a regulated profession."] None = "none",
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = roles, treat_none_as_null = true)]
pub struct RoleRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub staff_group: String,
    pub regulator: String,
    pub additional_roles: bool,
    pub description: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A workforce role.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    pub id: String,
    #[schema(example = "physician-associate")]
    pub code: String,
    pub name: String,
    pub staff_group: StaffGroup,
    pub regulator: Regulator,
    /// Whether the role is an additional-roles (ARRS) post.
    pub additional_roles: bool,
    pub description: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The writable fields of a role.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, async_graphql::InputObject)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleInput {
    /// Stable code, e.g. `physician-associate`: lower-case words joined by hyphens. Cannot be changed.
    #[schema(example = "physician-associate")]
    pub code: String,
    /// The role's name, up to 200 characters.
    pub name: String,
    /// The staff group the role counts in, as in the national GP workforce statistics.
    pub staff_group: StaffGroup,
    /// The professional regulator, or `none`.
    pub regulator: Regulator,
    /// Whether the role is an additional-roles (ARRS) post (default false).
    #[serde(default)]
    #[graphql(default)]
    pub additional_roles: bool,
    /// What the role does, in words (up to 2,000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl RoleRow {
    pub fn view(&self) -> Role {
        Role {
            id: self.id.clone(),
            code: self.code.clone(),
            name: self.name.clone(),
            staff_group: StaffGroup::parse(&self.staff_group).unwrap_or(StaffGroup::DirectPatientCare),
            regulator: Regulator::parse(&self.regulator).unwrap_or(Regulator::None),
            additional_roles: self.additional_roles,
            description: self.description.clone(),
            version: self.version,
            created_at: super::utc(self.created_at),
            updated_at: super::utc(self.updated_at),
        }
    }

    pub fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<RoleRow>> {
        super::find_by_id_or_key!(conn, key, roles, code, |k: &str| k.to_string())
    }
}

/// Checks a role or programme code; codes are permanent once created.
pub(crate) fn slug_code(ck: &mut Checks, input: &str, current: Option<&str>) -> String {
    let code = input.trim().to_string();
    ck.check(is_slug(&code), "code", "must be 2 to 64 lower-case letters, digits or hyphens, e.g. physician-associate");
    if let Some(cur) = current {
        ck.check(code == cur, "code", "cannot be changed");
    }
    code
}

impl Entity for RoleRow {
    const NAME: &'static str = "role";
    const KIND: &'static str = "role";
    const COLLECTION: &'static str = "roles";
    const WRITE_SCOPE: Scope = Scope::ReferenceWrite;
    type Input = RoleInput;
    type View = Role;

    super::entity_basics!(code);
    fn to_input(&self) -> RoleInput {
        let v = self.view();
        RoleInput {
            code: v.code,
            name: v.name,
            staff_group: v.staff_group,
            regulator: v.regulator,
            additional_roles: v.additional_roles,
            description: v.description,
        }
    }
    fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<Self>> {
        RoleRow::find(conn, key)
    }
    fn build(conn: &mut DbConnection, input: RoleInput, current: Option<&Self>) -> DomainResult<Self> {
        let mut ck = Checks::new();
        let code = slug_code(&mut ck, &input.code, current.map(|c| c.code.as_str()));
        let name = ck.text("name", &input.name, 200);
        let description = ck.free_text("description", input.description.as_deref(), 2000);
        ck.finish()?;
        if current.is_none() && RoleRow::find(conn, &code)?.is_some() {
            return Err(DomainError::Conflict(format!("a role with code {code} already exists")));
        }
        let now = crate::now();
        Ok(RoleRow {
            id: current.map(|c| c.id.clone()).unwrap_or_else(new_id),
            code,
            name,
            staff_group: input.staff_group.as_str().to_string(),
            regulator: input.regulator.as_str().to_string(),
            additional_roles: input.additional_roles,
            description,
            version: current.map(|c| c.version + 1).unwrap_or(1),
            created_at: current.map(|c| c.created_at).unwrap_or(now),
            updated_at: now,
        })
    }
    super::row_writes!(roles);
}
