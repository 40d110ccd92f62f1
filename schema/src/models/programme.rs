//! Programmes that placements belong to, with optional workforce targets.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::role::{slug_code, RoleRow};
use crate::actor::Scope;
use crate::db::DbConnection;
use crate::domain::crud::{new_id, Entity};
use crate::error::{DomainError, DomainResult};
use crate::tables::programmes;
use crate::validate::Checks;

#[derive(Debug, Clone, PartialEq, Queryable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = programmes, treat_none_as_null = true)]
pub struct ProgrammeRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub target_count: Option<i32>,
    pub target_role: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A workforce programme or scheme.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Programme {
    pub id: String,
    #[schema(example = "gp-retainer-scheme")]
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    /// Headcount the programme aims for, e.g. 1,000 physician associates.
    pub target_count: Option<i32>,
    /// Code of the role the target counts.
    pub target_role: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The writable fields of a programme.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, async_graphql::InputObject)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProgrammeInput {
    /// Stable code, e.g. `gp-retainer-scheme`: lower-case words joined by hyphens. Cannot be changed.
    #[schema(example = "gp-retainer-scheme")]
    pub code: String,
    /// The programme's name, up to 200 characters.
    pub name: String,
    /// What the programme is for, in words (up to 2,000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Headcount the programme aims for, 1 to 10,000,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_count: Option<i32>,
    /// Code of the role the target counts, e.g. `physician-associate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_role: Option<String>,
}

impl ProgrammeRow {
    pub fn view(&self) -> Programme {
        Programme {
            id: self.id.clone(),
            code: self.code.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            target_count: self.target_count,
            target_role: self.target_role.clone(),
            version: self.version,
            created_at: super::utc(self.created_at),
            updated_at: super::utc(self.updated_at),
        }
    }

    pub fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<ProgrammeRow>> {
        super::find_by_id_or_key!(conn, key, programmes, code, |k: &str| k.to_string())
    }
}

impl Entity for ProgrammeRow {
    const NAME: &'static str = "programme";
    const KIND: &'static str = "programme";
    const COLLECTION: &'static str = "programmes";
    const WRITE_SCOPE: Scope = Scope::ReferenceWrite;
    type Input = ProgrammeInput;
    type View = Programme;

    super::entity_basics!(code);
    fn to_input(&self) -> ProgrammeInput {
        ProgrammeInput {
            code: self.code.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            target_count: self.target_count,
            target_role: self.target_role.clone(),
        }
    }
    fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<Self>> {
        ProgrammeRow::find(conn, key)
    }
    fn build(conn: &mut DbConnection, input: ProgrammeInput, current: Option<&Self>) -> DomainResult<Self> {
        let mut ck = Checks::new();
        let code = slug_code(&mut ck, &input.code, current.map(|c| c.code.as_str()));
        let name = ck.text("name", &input.name, 200);
        let description = ck.free_text("description", input.description.as_deref(), 2000);
        if let Some(t) = input.target_count {
            ck.check((1..=10_000_000).contains(&t), "targetCount", "must be between 1 and 10,000,000");
        }
        let target_role = input.target_role.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        if let Some(r) = &target_role {
            ck.found(RoleRow::find(conn, r)?, "targetRole", || format!("no role has code {r}"));
        }
        ck.finish()?;
        if current.is_none() && ProgrammeRow::find(conn, &code)?.is_some() {
            return Err(DomainError::Conflict(format!("a programme with code {code} already exists")));
        }
        let now = crate::now();
        Ok(ProgrammeRow {
            id: current.map(|c| c.id.clone()).unwrap_or_else(new_id),
            code,
            name,
            description,
            target_count: input.target_count,
            target_role,
            version: current.map(|c| c.version + 1).unwrap_or(1),
            created_at: current.map(|c| c.created_at).unwrap_or(now),
            updated_at: now,
        })
    }
    super::row_writes!(programmes);
}
