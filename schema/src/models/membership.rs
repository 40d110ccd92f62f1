//! Practice membership of PCNs, federations and ICTs over time, and ICT partner services:
//! each an affiliation between two organisations.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::federation::{opt_ods, FederationRow, PcnRow};
use super::ict::IctRow;
use super::organisation::{ensure_external, external_provider, AffiliationRow};
use super::practice::PracticeRow;
use crate::actor::Scope;
use crate::db::DbConnection;
use crate::domain::crud::{new_id, Entity};
use crate::error::{DomainError, DomainResult};
use crate::kinds::{AffiliationKind, OrgKind};
use crate::tables::{affiliations, ict_partner_services, organisations, partner_service_details};
use crate::validate::Checks;

/// Membership is active on `day` when it has started and not yet ended.
pub use super::organisation::active_on;

/// An affiliation of `kind` of `member` other than `except` whose period overlaps
/// `start..=end`: with the same `parent`, or, where the parent's kind allows one at a time,
/// with any parent of that kind.
#[allow(clippy::too_many_arguments)]
pub(crate) fn overlapping(
    conn: &mut DbConnection,
    kind: AffiliationKind,
    member: &str,
    parent: &str,
    parent_kind: OrgKind,
    start: NaiveDate,
    end: Option<NaiveDate>,
    except: Option<&str>,
) -> DomainResult<Option<AffiliationRow>> {
    let mut q = affiliations::table
        .inner_join(organisations::table.on(organisations::code.eq(affiliations::parent_code)))
        .filter(affiliations::kind.eq(kind.as_str()))
        .filter(affiliations::member_code.eq(member.to_string()))
        .into_boxed::<crate::db::MultiBackend>();
    q = if parent_kind.one_at_a_time() {
        q.filter(organisations::kind.eq(parent_kind.as_str()))
    } else {
        q.filter(affiliations::parent_code.eq(parent.to_string()))
    };
    let others: Vec<AffiliationRow> = q.select(affiliations::all_columns).load(conn)?;
    let far = NaiveDate::MAX;
    Ok(others
        .into_iter()
        .filter(|o| Some(o.id.as_str()) != except)
        .find(|o| start <= o.end_date.unwrap_or(far) && o.start_date <= end.unwrap_or(far)))
}

/// The affiliation with `id` whose parent is of `parent_kind` (so a federation membership is
/// not found as an ICT one).
pub(crate) fn find_with_parent(
    conn: &mut DbConnection,
    id: &str,
    kind: AffiliationKind,
    parent_kind: OrgKind,
) -> DomainResult<Option<AffiliationRow>> {
    let rows = crate::db::load_direct(
        conn,
        affiliations::table
            .inner_join(organisations::table.on(organisations::code.eq(affiliations::parent_code)))
            .filter(affiliations::id.eq(id.to_string()))
            .filter(affiliations::kind.eq(kind.as_str()))
            .filter(organisations::kind.eq(parent_kind.as_str()))
            .select(affiliations::all_columns)
            .limit(1),
    )?;
    Ok(rows.into_iter().next())
}

/// Practice memberships of each kind of group differ only in the group; one definition
/// serves them all. Each is stored as a `member_of` affiliation.
macro_rules! membership {
    ($row:ident, $view:ident, $input:ident, $group_col:ident, $group_row:ident, $group_json:literal, $name:literal, $group_doc:literal, $group_code_doc:literal, $kind:literal, $collection:literal) => {
        /// A membership as stored: an affiliation whose parent is of the group's kind.
        #[derive(Debug, Clone, PartialEq)]
        pub struct $row(pub AffiliationRow);

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
                let a = &self.0;
                $view {
                    id: a.id.clone(),
                    $group_col: a.parent_code.clone(),
                    ods_code: a.member_code.clone(),
                    start_date: a.start_date,
                    end_date: a.end_date,
                    version: a.version,
                    created_at: super::utc(a.created_at),
                    updated_at: super::utc(a.updated_at),
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
                &self.0.id
            }
            fn version(&self) -> i32 {
                self.0.version
            }
            fn view(&self) -> $view {
                $row::view(self)
            }
            fn to_input(&self) -> $input {
                $input {
                    $group_col: self.0.parent_code.clone(),
                    ods_code: self.0.member_code.clone(),
                    start_date: self.0.start_date.into(),
                    end_date: self.0.end_date.map(Into::into),
                }
            }
            fn find(conn: &mut DbConnection, key: &str) -> DomainResult<Option<Self>> {
                Ok(find_with_parent(conn, key, AffiliationKind::MemberOf, $group_row::ORG_KIND)?.map($row))
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
                let kind = OrgKind::Practice
                    .affiliation_with($group_row::ORG_KIND)
                    .ok_or_else(|| DomainError::invalid($group_json, "practices cannot be members of this kind"))?;
                let (start, end) = (input.start_date.0, input.end_date.map(|d| d.0));
                let except = current.map(|c| c.0.id.as_str());
                let parent_kind = $group_row::ORG_KIND;
                let member = &practice.ods_code;
                if let Some(o) = overlapping(conn, kind, member, group.code(), parent_kind, start, end, except)? {
                    return Err(DomainError::Conflict(format!(
                        "practice {} is already a member of {} from {} in an overlapping period (membership {}){}",
                        practice.ods_code,
                        o.parent_code,
                        o.start_date,
                        o.id,
                        if parent_kind.one_at_a_time() {
                            format!("; a practice is in one {} at a time", parent_kind.noun())
                        } else {
                            String::new()
                        }
                    )));
                }
                let now = crate::now();
                Ok($row(AffiliationRow {
                    id: current.map(|c| c.0.id.clone()).unwrap_or_else(new_id),
                    kind: kind.as_str().to_string(),
                    member_code: practice.ods_code,
                    parent_code: group.code().to_string(),
                    start_date: start,
                    end_date: end,
                    version: current.map(|c| c.0.version + 1).unwrap_or(1),
                    created_at: current.map(|c| c.0.created_at).unwrap_or(now),
                    updated_at: now,
                }))
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

membership!(
    FederationMembershipRow,
    FederationMembership,
    FederationMembershipInput,
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
    ict_code,
    IctRow,
    "ictCode",
    "ICT membership",
    "an integrated care team",
    "Code of the Integrated Care Team, e.g. `ICT-MEIR`.",
    "ict-membership",
    "ict-memberships"
);
membership!(
    PcnMembershipRow,
    PcnMembership,
    PcnMembershipInput,
    pcn_code,
    PcnRow,
    "pcnCode",
    "PCN membership",
    "a primary care network",
    "ODS code of the Primary Care Network, e.g. `U81234`.",
    "pcn-membership",
    "pcn-memberships"
);

crate::text_enum! {
    /// The kind of service an ICT brings together with general practice.
    PartnerServiceKind {
        #[doc = "Community health services, e.g. district nursing and therapies."] Community = "community",
        #[doc = "Mental health services."] MentalHealth = "mental_health",
        #[doc = "Local authority social care."] SocialCare = "social_care",
        #[doc = "Voluntary, community and social enterprise organisations."] Voluntary = "voluntary",
        #[doc = "Hospital (acute trust) services."] Acute = "acute",
        #[doc = "Any other kind of service."] Other = "other",
    }
}

/// A partner service as read (the `ict_partner_services` view): a `partner_service_of`
/// affiliation of an external provider with an ICT, and the service's own name and kind.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct PartnerServiceRow {
    pub id: String,
    pub ict_code: String,
    pub name: String,
    pub kind: String,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The providing organisation's code: its ODS code, or our own for one without.
    pub member_code: String,
}

#[derive(Debug, Clone, PartialEq, Insertable, AsChangeset)]
#[diesel(table_name = partner_service_details, treat_none_as_null = true)]
struct PartnerServiceDetailsRow {
    affiliation_id: String,
    name: String,
    service_kind: String,
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
    fn parts(&self) -> (AffiliationRow, PartnerServiceDetailsRow) {
        let affiliation = AffiliationRow {
            id: self.id.clone(),
            kind: AffiliationKind::PartnerServiceOf.as_str().to_string(),
            member_code: self.member_code.clone(),
            parent_code: self.ict_code.clone(),
            start_date: self.start_date,
            end_date: self.end_date,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        };
        let details = PartnerServiceDetailsRow {
            affiliation_id: self.id.clone(),
            name: self.name.clone(),
            service_kind: self.kind.clone(),
        };
        (affiliation, details)
    }

    pub fn view(&self) -> PartnerService {
        PartnerService {
            id: self.id.clone(),
            ict_code: self.ict_code.clone(),
            name: self.name.clone(),
            kind: PartnerServiceKind::parse(&self.kind).unwrap_or(PartnerServiceKind::Other),
            organisation_code: (!crate::kinds::is_own_external_code(&self.member_code))
                .then(|| self.member_code.clone()),
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
        let provider = match name.is_empty() || crate::validate::has_control_chars(&name) {
            true => None,
            false => match external_provider(conn, organisation_code.as_deref(), &name)? {
                Ok(provider) => Some(provider.code),
                Err(message) => {
                    ck.fail("organisationCode", message);
                    None
                }
            },
        };
        ck.finish()?;
        let (Some(ict), Some(member_code)) = (ict, provider) else {
            return Err(DomainError::invalid("ictCode", "no such integrated care team"));
        };
        let now = crate::now();
        Ok(PartnerServiceRow {
            member_code,
            id: current.map(|c| c.id.clone()).unwrap_or_else(new_id),
            ict_code: ict.code,
            name,
            kind: input.kind.as_str().to_string(),
            start_date: input.start_date.0,
            end_date: input.end_date.map(|d| d.0),
            version: current.map(|c| c.version + 1).unwrap_or(1),
            created_at: current.map(|c| c.created_at).unwrap_or(now),
            updated_at: now,
        })
    }
    fn insert(&self, conn: &mut DbConnection) -> DomainResult<()> {
        ensure_external(conn, &self.member_code, &self.name, super::SOURCE_API)?;
        let (affiliation, details) = self.parts();
        affiliation.insert(conn)?;
        diesel::insert_into(partner_service_details::table).values(&details).execute(conn)?;
        Ok(())
    }
    fn update(&self, conn: &mut DbConnection, expected_version: i32) -> DomainResult<usize> {
        ensure_external(conn, &self.member_code, &self.name, super::SOURCE_API)?;
        let (affiliation, details) = self.parts();
        let changed = affiliation.update(conn, expected_version)?;
        if changed > 0 {
            diesel::update(partner_service_details::table.filter(partner_service_details::affiliation_id.eq(&self.id)))
                .set(&details)
                .execute(conn)?;
        }
        Ok(changed)
    }
    fn delete(&self, conn: &mut DbConnection) -> DomainResult<usize> {
        self.parts().0.delete(conn)
    }
}
