//! Practice membership of federations and ICTs over time, and ICT partner services.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::federation::{opt_ods, FederationRow};
use super::ict::IctRow;
use super::practice::PracticeRow;
use crate::actor::Scope;
use crate::db::DbConnection;
use crate::domain::crud::{new_id, Entity};
use crate::error::{DomainError, DomainResult};
use crate::tables::{federation_memberships, ict_memberships, ict_partner_services};
use crate::validate::Checks;

/// Membership is active on `day` when it has started and not yet ended.
pub fn active_on(start: NaiveDate, end: Option<NaiveDate>, day: NaiveDate) -> bool {
    start <= day && end.is_none_or(|e| e >= day)
}

/// Federation and ICT memberships differ only in their group; one definition serves both.
macro_rules! membership {
    ($row:ident, $view:ident, $input:ident, $table:ident, $group_col:ident, $group_row:ident, $group_json:literal, $name:literal, $group_doc:literal, $group_code_doc:literal, $kind:literal, $collection:literal) => {
        #[derive(Debug, Clone, PartialEq, Queryable, Insertable, AsChangeset, Identifiable)]
        #[diesel(table_name = $table, treat_none_as_null = true)]
        pub struct $row {
            pub id: String,
            pub $group_col: String,
            pub ods_code: String,
            pub start_date: NaiveDate,
            pub end_date: Option<NaiveDate>,
            pub version: i32,
            pub created_at: NaiveDateTime,
            pub updated_at: NaiveDateTime,
        }

        #[doc = concat!("A practice's membership of ", $group_doc, " for a period.")]
        #[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $view {
            pub id: String,
            pub $group_col: String,
            pub ods_code: String,
            pub start_date: NaiveDate,
            pub end_date: Option<NaiveDate>,
            pub version: i32,
            pub created_at: DateTime<Utc>,
            pub updated_at: DateTime<Utc>,
        }

        #[doc = concat!("The writable fields of a membership of ", $group_doc, ".")]
        #[derive(Debug, Clone, Serialize, Deserialize, ToSchema, async_graphql::InputObject)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        pub struct $input {
            #[doc = $group_code_doc]
            pub $group_col: String,
            /// ODS code of the member practice, e.g. `M83005`.
            pub ods_code: String,
            /// First day of the membership.
            #[schema(value_type = chrono::NaiveDate)]
            pub start_date: crate::date::Date,
            /// Last day of the membership, if it has one; not before `startDate`.
            /// Periods of the same practice in the same group may not overlap.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schema(value_type = Option<chrono::NaiveDate>)]
            pub end_date: Option<crate::date::Date>,
        }

        impl $row {
            pub fn view(&self) -> $view {
                $view {
                    id: self.id.clone(),
                    $group_col: self.$group_col.clone(),
                    ods_code: self.ods_code.clone(),
                    start_date: self.start_date,
                    end_date: self.end_date,
                    version: self.version,
                    created_at: super::utc(self.created_at),
                    updated_at: super::utc(self.updated_at),
                }
            }
        }

        impl Entity for $row {
            const NAME: &'static str = $name;
            const KIND: &'static str = $kind;
            const COLLECTION: &'static str = $collection;
            const WRITE_SCOPE: Scope = Scope::ReferenceWrite;
            type Input = $input;
            type View = $view;

            fn id(&self) -> &str {
                &self.id
            }
            fn version(&self) -> i32 {
                self.version
            }
            fn view(&self) -> $view {
                $row::view(self)
            }
            fn to_input(&self) -> $input {
                $input {
                    $group_col: self.$group_col.clone(),
                    ods_code: self.ods_code.clone(),
                    start_date: self.start_date.into(),
                    end_date: self.end_date.map(Into::into),
                }
            }
            fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<Self>> {
                let rows = crate::db::load_direct(conn, $table::table.filter($table::id.eq(key.to_string())).limit(1))?;
                Ok(rows.into_iter().next())
            }
            fn build(conn: &mut DbConnection, input: $input, current: Option<&Self>) -> DomainResult<Self> {
                let mut ck = Checks::new();
                ck.date_order(Some(input.start_date.0), input.end_date.map(|d| d.0), "endDate");
                let group = ck.found($group_row::find(conn, input.$group_col.trim())?, $group_json, || {
                    format!("no {} has code {}", $group_doc, input.$group_col)
                });
                let practice = ck.found(PracticeRow::find(conn, input.ods_code.trim())?, "odsCode", || {
                    format!("no practice has ODS code {}", input.ods_code)
                });
                ck.finish()?;
                let (Some(group), Some(practice)) = (group, practice) else {
                    return Err(DomainError::invalid("body", "incomplete"));
                };
                // Periods of the same practice in the same group must not overlap.
                let others: Vec<$row> = $table::table
                    .filter($table::$group_col.eq(&group.code))
                    .filter($table::ods_code.eq(&practice.ods_code))
                    .load(conn)?;
                let far = NaiveDate::MAX;
                for o in others.iter().filter(|o| Some(&o.id) != current.map(|c| &c.id)) {
                    if input.start_date.0 <= o.end_date.unwrap_or(far)
                        && o.start_date <= input.end_date.map_or(far, |d| d.0)
                    {
                        return Err(DomainError::Conflict(format!(
                            "practice {} is already a member of {} from {} in an overlapping period (membership {})",
                            practice.ods_code, group.code, o.start_date, o.id
                        )));
                    }
                }
                let now = crate::now();
                Ok($row {
                    id: current.map(|c| c.id.clone()).unwrap_or_else(new_id),
                    $group_col: group.code,
                    ods_code: practice.ods_code,
                    start_date: input.start_date.0,
                    end_date: input.end_date.map(|d| d.0),
                    version: current.map(|c| c.version + 1).unwrap_or(1),
                    created_at: current.map(|c| c.created_at).unwrap_or(now),
                    updated_at: now,
                })
            }
            fn insert(&self, conn: &mut DbConnection) -> DomainResult<()> {
                diesel::insert_into($table::table).values(self).execute(conn)?;
                Ok(())
            }
            fn update(&self, conn: &mut DbConnection, expected_version: i32) -> DomainResult<usize> {
                Ok(diesel::update(
                    $table::table.filter($table::id.eq(&self.id)).filter($table::version.eq(expected_version)),
                )
                .set(self)
                .execute(conn)?)
            }
            fn delete(&self, conn: &mut DbConnection) -> DomainResult<usize> {
                Ok(diesel::delete(
                    $table::table.filter($table::id.eq(&self.id)).filter($table::version.eq(self.version)),
                )
                .execute(conn)?)
            }
        }
    };
}

membership!(
    FederationMembershipRow,
    FederationMembership,
    FederationMembershipInput,
    federation_memberships,
    federation_code,
    FederationRow,
    "federationCode",
    "federation membership",
    "a federation",
    "Code of the federation, e.g. `NSGPF`.",
    "federation-membership",
    "federation-memberships"
);
membership!(
    IctMembershipRow,
    IctMembership,
    IctMembershipInput,
    ict_memberships,
    ict_code,
    IctRow,
    "ictCode",
    "ICT membership",
    "an integrated care team",
    "Code of the Integrated Care Team, e.g. `ICT-MEIR`.",
    "ict-membership",
    "ict-memberships"
);

crate::text_enum! {
    /// The kind of service an ICT brings together with general practice.
    PartnerServiceKind {
        /// Community health services, e.g. district nursing and therapies.
        Community = "community",
        /// Mental health services.
        MentalHealth = "mental_health",
        /// Local authority social care.
        SocialCare = "social_care",
        /// Voluntary, community and social enterprise organisations.
        Voluntary = "voluntary",
        /// Hospital (acute trust) services.
        Acute = "acute",
        /// Any other kind of service.
        Other = "other",
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = ict_partner_services, treat_none_as_null = true)]
pub struct PartnerServiceRow {
    pub id: String,
    pub ict_code: String,
    pub name: String,
    pub kind: String,
    pub organisation_code: Option<String>,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A community, mental health, social care or voluntary service that is part of an ICT.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerService {
    pub id: String,
    pub ict_code: String,
    pub name: String,
    pub kind: PartnerServiceKind,
    /// ODS code of the providing organisation, e.g. `RRE`.
    pub organisation_code: Option<String>,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The writable fields of an ICT partner service.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, async_graphql::InputObject)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartnerServiceInput {
    /// Code of the Integrated Care Team the service is part of, e.g. `ICT-MEIR`.
    pub ict_code: String,
    /// The service's name, up to 200 characters.
    pub name: String,
    /// What kind of service it is.
    pub kind: PartnerServiceKind,
    /// ODS code of the providing organisation, e.g. `RRE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_code: Option<String>,
    /// The day the service joined the team.
    #[schema(value_type = chrono::NaiveDate)]
    pub start_date: crate::date::Date,
    /// The day the service left the team, if it has; not before `startDate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<chrono::NaiveDate>)]
    pub end_date: Option<crate::date::Date>,
}

impl PartnerServiceRow {
    pub fn view(&self) -> PartnerService {
        PartnerService {
            id: self.id.clone(),
            ict_code: self.ict_code.clone(),
            name: self.name.clone(),
            kind: PartnerServiceKind::parse(&self.kind).unwrap_or(PartnerServiceKind::Other),
            organisation_code: self.organisation_code.clone(),
            start_date: self.start_date,
            end_date: self.end_date,
            version: self.version,
            created_at: super::utc(self.created_at),
            updated_at: super::utc(self.updated_at),
        }
    }
}

impl Entity for PartnerServiceRow {
    const NAME: &'static str = "partner service";
    const KIND: &'static str = "ict-partner-service";
    const COLLECTION: &'static str = "ict-partner-services";
    const WRITE_SCOPE: Scope = Scope::ReferenceWrite;
    type Input = PartnerServiceInput;
    type View = PartnerService;

    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> i32 {
        self.version
    }
    fn view(&self) -> PartnerService {
        PartnerServiceRow::view(self)
    }
    fn to_input(&self) -> PartnerServiceInput {
        let v = self.view();
        PartnerServiceInput {
            ict_code: v.ict_code,
            name: v.name,
            kind: v.kind,
            organisation_code: v.organisation_code,
            start_date: v.start_date.into(),
            end_date: v.end_date.map(Into::into),
        }
    }
    fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<Self>> {
        let rows = crate::db::load_direct(
            conn,
            ict_partner_services::table.filter(ict_partner_services::id.eq(key.to_string())).limit(1),
        )?;
        Ok(rows.into_iter().next())
    }
    fn build(conn: &mut DbConnection, input: PartnerServiceInput, current: Option<&Self>) -> DomainResult<Self> {
        let mut ck = Checks::new();
        let name = ck.text("name", &input.name, 200);
        let organisation_code = opt_ods(&mut ck, "organisationCode", input.organisation_code.as_deref());
        ck.date_order(Some(input.start_date.0), input.end_date.map(|d| d.0), "endDate");
        let ict = ck.found(IctRow::find(conn, input.ict_code.trim())?, "ictCode", || {
            format!("no integrated care team has code {}", input.ict_code)
        });
        ck.finish()?;
        let Some(ict) = ict else { return Err(DomainError::invalid("ictCode", "no such integrated care team")) };
        let now = crate::now();
        Ok(PartnerServiceRow {
            id: current.map(|c| c.id.clone()).unwrap_or_else(new_id),
            ict_code: ict.code,
            name,
            kind: input.kind.as_str().to_string(),
            organisation_code,
            start_date: input.start_date.0,
            end_date: input.end_date.map(|d| d.0),
            version: current.map(|c| c.version + 1).unwrap_or(1),
            created_at: current.map(|c| c.created_at).unwrap_or(now),
            updated_at: now,
        })
    }
    fn insert(&self, conn: &mut DbConnection) -> DomainResult<()> {
        diesel::insert_into(ict_partner_services::table).values(self).execute(conn)?;
        Ok(())
    }
    fn update(&self, conn: &mut DbConnection, expected_version: i32) -> DomainResult<usize> {
        Ok(diesel::update(
            ict_partner_services::table
                .filter(ict_partner_services::id.eq(&self.id))
                .filter(ict_partner_services::version.eq(expected_version)),
        )
        .set(self)
        .execute(conn)?)
    }
    fn delete(&self, conn: &mut DbConnection) -> DomainResult<usize> {
        Ok(diesel::delete(
            ict_partner_services::table
                .filter(ict_partner_services::id.eq(&self.id))
                .filter(ict_partner_services::version.eq(self.version)),
        )
        .execute(conn)?)
    }
}
