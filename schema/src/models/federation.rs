//! GP federations: groups of practices sharing resources.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::actor::Scope;
use crate::db::DbConnection;
use crate::domain::crud::{new_id, Entity};
use crate::error::{DomainError, DomainResult};
use crate::tables::federations;
use crate::validate::{is_ods_code, is_org_code, Checks};

#[derive(Debug, Clone, PartialEq, Queryable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = federations, treat_none_as_null = true)]
pub struct FederationRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub ods_code: Option<String>,
    pub icb_code: Option<String>,
    pub description: Option<String>,
    pub source: String,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A GP federation.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Federation {
    pub id: String,
    /// Stable code, e.g. `NSGPF`.
    #[schema(example = "NSGPF")]
    pub code: String,
    pub name: String,
    /// The federation's own ODS code, when it has one.
    pub ods_code: Option<String>,
    pub icb_code: Option<String>,
    pub description: Option<String>,
    pub source: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The writable fields of a federation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, async_graphql::InputObject)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FederationInput {
    /// Stable code, e.g. `NSGPF`: 2 to 32 capital letters, digits or hyphens. Cannot be changed.
    #[schema(example = "NSGPF")]
    pub code: String,
    /// The federation's name, up to 200 characters.
    pub name: String,
    /// The federation's own ODS code, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ods_code: Option<String>,
    /// Code of the integrated care board the federation works in, e.g. `QNC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icb_code: Option<String>,
    /// What the federation does, in words (up to 2,000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl FederationRow {
    pub fn view(&self) -> Federation {
        Federation {
            id: self.id.clone(),
            code: self.code.clone(),
            name: self.name.clone(),
            ods_code: self.ods_code.clone(),
            icb_code: self.icb_code.clone(),
            description: self.description.clone(),
            source: self.source.clone(),
            version: self.version,
            created_at: super::utc(self.created_at),
            updated_at: super::utc(self.updated_at),
        }
    }

    pub fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<FederationRow>> {
        super::find_by_id_or_key!(conn, key, federations, code, |k: &str| k.to_ascii_uppercase())
    }
}

/// Upper-cases and checks an optional ODS code field.
pub(crate) fn opt_ods(ck: &mut Checks, field: &str, v: Option<&str>) -> Option<String> {
    let v = v.map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty());
    if let Some(s) = &v {
        ck.check(is_ods_code(s), field, "must be an ODS code: 3 to 10 capital letters and digits");
    }
    v
}

/// Checks a federation or ICT code; codes are permanent once created.
pub(crate) fn org_code(ck: &mut Checks, input: &str, current: Option<&str>) -> String {
    let code = input.trim().to_ascii_uppercase();
    ck.check(is_org_code(&code), "code", "must be 2 to 32 capital letters, digits or hyphens, e.g. NSGPF");
    if let Some(cur) = current {
        ck.check(code == cur, "code", "cannot be changed");
    }
    code
}

impl Entity for FederationRow {
    const NAME: &'static str = "federation";
    const KIND: &'static str = "federation";
    const COLLECTION: &'static str = "federations";
    const WRITE_SCOPE: Scope = Scope::ReferenceWrite;
    type Input = FederationInput;
    type View = Federation;

    fn id(&self) -> &str {
        &self.id
    }
    fn key(&self) -> &str {
        &self.code
    }
    fn version(&self) -> i32 {
        self.version
    }
    fn view(&self) -> Federation {
        FederationRow::view(self)
    }
    fn to_input(&self) -> FederationInput {
        FederationInput {
            code: self.code.clone(),
            name: self.name.clone(),
            ods_code: self.ods_code.clone(),
            icb_code: self.icb_code.clone(),
            description: self.description.clone(),
        }
    }
    fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<Self>> {
        FederationRow::find(conn, key)
    }
    fn build(conn: &mut DbConnection, input: FederationInput, current: Option<&Self>) -> DomainResult<Self> {
        let mut ck = Checks::new();
        let code = org_code(&mut ck, &input.code, current.map(|c| c.code.as_str()));
        let name = ck.text("name", &input.name, 200);
        let ods_code = opt_ods(&mut ck, "odsCode", input.ods_code.as_deref());
        let icb_code = opt_ods(&mut ck, "icbCode", input.icb_code.as_deref());
        let description = ck.free_text("description", input.description.as_deref(), 2000);
        ck.finish()?;
        if current.is_none() && FederationRow::find(conn, &code)?.is_some() {
            return Err(DomainError::Conflict(format!("a federation with code {code} already exists")));
        }
        let now = crate::now();
        Ok(FederationRow {
            id: current.map(|c| c.id.clone()).unwrap_or_else(new_id),
            code,
            name,
            ods_code,
            icb_code,
            description,
            source: current.map(|c| c.source.clone()).unwrap_or_else(|| super::SOURCE_API.to_string()),
            version: current.map(|c| c.version + 1).unwrap_or(1),
            created_at: current.map(|c| c.created_at).unwrap_or(now),
            updated_at: now,
        })
    }
    fn insert(&self, conn: &mut DbConnection) -> DomainResult<()> {
        diesel::insert_into(federations::table).values(self).execute(conn)?;
        Ok(())
    }
    fn update(&self, conn: &mut DbConnection, expected_version: i32) -> DomainResult<usize> {
        Ok(diesel::update(
            federations::table.filter(federations::id.eq(&self.id)).filter(federations::version.eq(expected_version)),
        )
        .set(self)
        .execute(conn)?)
    }
    fn delete(&self, conn: &mut DbConnection) -> DomainResult<usize> {
        Ok(diesel::delete(
            federations::table.filter(federations::id.eq(&self.id)).filter(federations::version.eq(self.version)),
        )
        .execute(conn)?)
    }
}
