//! Groups of practices with the same attributes: GP federations and Primary Care Networks.
//! One definition serves both kinds; each is its own entity and collection.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::organisation::{check_code_free, Common, OrganisationRow};
use crate::actor::Scope;
use crate::db::DbConnection;
use crate::domain::crud::{new_id, Entity};
use crate::error::DomainResult;
use crate::kinds::OrgKind;
use crate::tables::{group_details, group_organisations as groups};
use crate::validate::{is_ods_code, Checks};

/// A federation or PCN as read (the `group_organisations` view).
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct GroupRow {
    pub id: String,
    pub code: String,
    pub kind: String,
    pub name: String,
    pub ods_code: Option<String>,
    pub icb_code: Option<String>,
    pub description: Option<String>,
    pub source: String,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Insertable, AsChangeset)]
#[diesel(table_name = group_details, treat_none_as_null = true)]
struct GroupDetailsRow {
    code: String,
    ods_code: Option<String>,
    icb_code: Option<String>,
    description: Option<String>,
}

impl GroupRow {
    fn find(conn: &mut DbConnection, kind: OrgKind, key: &str) -> DomainResult<Option<GroupRow>> {
        let q = groups::table.filter(groups::kind.eq(kind.as_str())).limit(1);
        let rows = if super::is_uuid(key) {
            crate::db::load_direct(conn, q.filter(groups::id.eq(key.to_string())))?
        } else {
            crate::db::load_direct(conn, q.filter(groups::code.eq(key.to_ascii_uppercase())))?
        };
        Ok(rows.into_iter().next())
    }

    fn kind(&self) -> OrgKind {
        OrgKind::parse(&self.kind).unwrap_or(OrgKind::Federation)
    }

    fn parts(&self) -> (OrganisationRow, GroupDetailsRow) {
        let kind = self.kind();
        let org = Common {
            id: &self.id,
            code: &self.code,
            kind,
            name: &self.name,
            status: kind.default_status(),
            opened_on: None,
            closed_on: None,
            source: &self.source,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
        .row();
        let details = GroupDetailsRow {
            code: self.code.clone(),
            ods_code: self.ods_code.clone(),
            icb_code: self.icb_code.clone(),
            description: self.description.clone(),
        };
        (org, details)
    }

    fn build(
        conn: &mut DbConnection,
        kind: OrgKind,
        input: GroupFields,
        current: Option<&GroupRow>,
    ) -> DomainResult<GroupRow> {
        let mut ck = Checks::new();
        let code = org_code(&mut ck, kind, &input.code, current.map(|c| c.code.as_str()));
        let name = ck.text("name", &input.name, 200);
        let ods_code = opt_ods(&mut ck, "odsCode", input.ods_code.as_deref());
        let icb_code = opt_ods(&mut ck, "icbCode", input.icb_code.as_deref());
        let description = ck.free_text("description", input.description.as_deref(), 2000);
        ck.finish()?;
        if current.is_none() {
            // Codes are unique across kinds: one lookup answers for both.
            check_code_free(conn, kind, &code)?;
        }
        let now = crate::now();
        Ok(GroupRow {
            id: current.map(|c| c.id.clone()).unwrap_or_else(new_id),
            code,
            kind: kind.as_str().to_string(),
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

    super::organisation_writes!(group_details);
}

/// The writable fields of either kind, as the build reads them.
struct GroupFields {
    code: String,
    name: String,
    ods_code: Option<String>,
    icb_code: Option<String>,
    description: Option<String>,
}

/// Upper-cases and checks an optional ODS code field.
pub(crate) fn opt_ods(ck: &mut Checks, field: &str, v: Option<&str>) -> Option<String> {
    let v = v.map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty());
    if let Some(s) = &v {
        ck.check(is_ods_code(s), field, "must be an ODS code: 3 to 10 capital letters and digits");
    }
    v
}

/// Checks the code of an organisation of `kind`; codes are permanent once created.
pub(crate) fn org_code(ck: &mut Checks, kind: OrgKind, input: &str, current: Option<&str>) -> String {
    let code = input.trim().to_ascii_uppercase();
    if let Err(shape) = kind.check_code(&code) {
        ck.fail("code", shape);
    }
    if let Some(cur) = current {
        ck.check(code == cur, "code", "cannot be changed");
    }
    code
}

/// One kind of group: its row, view and input types and its entity.
macro_rules! group_kind {
    (
        $(#[$row_doc:meta])* $row:ident,
        $(#[$view_doc:meta])* $view:ident,
        $(#[$input_doc:meta])* $input:ident,
        kind = $kind:expr,
        name = $name:literal,
        feed = $feed:literal,
        collection = $collection:literal,
        code_doc = $code_doc:literal,
        code_example = $code_example:literal,
        ods_doc = $ods_doc:literal
    ) => {
        $(#[$row_doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $row(pub GroupRow);

        $(#[$view_doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $view {
            pub id: String,
            #[doc = $code_doc]
            #[schema(example = $code_example)]
            pub code: String,
            pub name: String,
            #[doc = $ods_doc]
            pub ods_code: Option<String>,
            pub icb_code: Option<String>,
            pub description: Option<String>,
            pub source: String,
            pub version: i32,
            pub created_at: DateTime<Utc>,
            pub updated_at: DateTime<Utc>,
        }

        $(#[$input_doc])*
        #[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, async_graphql::InputObject)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        pub struct $input {
            #[doc = $code_doc]
            #[doc = "Cannot be changed."]
            #[schema(example = $code_example)]
            pub code: String,
            /// The name, up to 200 characters.
            pub name: String,
            #[doc = $ods_doc]
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub ods_code: Option<String>,
            /// Code of the integrated care board it works in, e.g. `QNC`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub icb_code: Option<String>,
            /// What it does, in words (up to 2,000 characters).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub description: Option<String>,
        }

        impl $row {
            pub const ORG_KIND: OrgKind = $kind;

            pub fn view(&self) -> $view {
                let r = &self.0;
                $view {
                    id: r.id.clone(),
                    code: r.code.clone(),
                    name: r.name.clone(),
                    ods_code: r.ods_code.clone(),
                    icb_code: r.icb_code.clone(),
                    description: r.description.clone(),
                    source: r.source.clone(),
                    version: r.version,
                    created_at: super::utc(r.created_at),
                    updated_at: super::utc(r.updated_at),
                }
            }

            pub fn code(&self) -> &str {
                &self.0.code
            }

            pub fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<$row>> {
                Ok(GroupRow::find(conn, $kind, key)?.map($row))
            }
        }

        impl From<GroupRow> for $row {
            fn from(r: GroupRow) -> Self {
                $row(r)
            }
        }

        impl Entity for $row {
            const NAME: &'static str = $name;
            const KIND: &'static str = $feed;
            const COLLECTION: &'static str = $collection;
            const WRITE_SCOPE: Scope = Scope::ReferenceWrite;
            type Input = $input;
            type View = $view;

            fn id(&self) -> &str {
                &self.0.id
            }
            fn key(&self) -> &str {
                &self.0.code
            }
            fn version(&self) -> i32 {
                self.0.version
            }
            fn view(&self) -> $view {
                $row::view(self)
            }
            fn to_input(&self) -> $input {
                let r = &self.0;
                $input {
                    code: r.code.clone(),
                    name: r.name.clone(),
                    ods_code: r.ods_code.clone(),
                    icb_code: r.icb_code.clone(),
                    description: r.description.clone(),
                }
            }
            fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<Self>> {
                $row::find(conn, key)
            }
            fn build(conn: &mut DbConnection, input: $input, current: Option<&Self>) -> DomainResult<Self> {
                let fields = GroupFields {
                    code: input.code,
                    name: input.name,
                    ods_code: input.ods_code,
                    icb_code: input.icb_code,
                    description: input.description,
                };
                Ok($row(GroupRow::build(conn, $kind, fields, current.map(|c| &c.0))?))
            }
            fn insert(&self, conn: &mut DbConnection) -> DomainResult<()> {
                self.0.insert(conn)
            }
            fn update(&self, conn: &mut DbConnection, expected_version: i32) -> DomainResult<usize> {
                self.0.update(conn, expected_version)
            }
            fn delete(&self, conn: &mut DbConnection) -> DomainResult<usize> {
                self.0.delete(conn)
            }
        }
    };
}

group_kind!(
    /// A GP federation as read.
    FederationRow,
    /// A GP federation.
    Federation,
    /// The writable fields of a federation.
    FederationInput,
    kind = OrgKind::Federation,
    name = "federation",
    feed = "federation",
    collection = "federations",
    code_doc = "Stable code, e.g. `NSGPF`: 2 to 32 capital letters, digits or hyphens.",
    code_example = "NSGPF",
    ods_doc = "The federation's own ODS code, when it has one."
);

group_kind!(
    /// A Primary Care Network as read.
    PcnRow,
    /// A Primary Care Network: practices working together, with the additional roles staff
    /// they employ.
    Pcn,
    /// The writable fields of a PCN.
    PcnInput,
    kind = OrgKind::Pcn,
    name = "primary care network",
    feed = "pcn",
    collection = "pcns",
    code_doc = "The PCN's ODS code: `U` and five digits, e.g. `U81234`.",
    code_example = "U81234",
    ods_doc = "Another ODS code the network is known by (e.g. of its lead practice), if any."
);
