//! Filter and order inputs. They map one-to-one onto the REST query parameters, which the
//! domain validates and applies; no filter rule lives here.

use async_graphql::{Enum, InputObject};
use pcr_schema::date::Date;
use pcr_schema::domain::catalogue::{ProgrammeQuery, RoleQuery};
use pcr_schema::domain::groups::GroupQuery;
use pcr_schema::domain::organisations::OrganisationQuery;
use pcr_schema::domain::placements::PlacementQuery;
use pcr_schema::domain::practices::PracticeQuery;
use pcr_schema::kinds::OrgKind;
use pcr_schema::models::ict::IctStatus;
use pcr_schema::models::placement::{HostType, PlacementStatus};
use pcr_schema::models::practice::PracticeStatus;
use pcr_schema::models::role::{Regulator, StaffGroup};

use super::connection::Resolved;
use super::scalars::Timestamp;

/// Which way to sort.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum OrderDirection {
    /// Ascending: A to Z, earliest first (the default).
    #[default]
    Asc,
    /// Descending: Z to A, latest first.
    Desc,
}

fn token(field: &str, direction: OrderDirection) -> String {
    match direction {
        OrderDirection::Asc => field.to_string(),
        OrderDirection::Desc => format!("-{field}"),
    }
}

/// What to sort practices by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum PracticeOrderField {
    /// By ODS code (the default).
    #[default]
    OdsCode,
    /// By name.
    Name,
    /// By when the practice last changed.
    UpdatedAt,
}

/// How to sort practices (as REST's `sort`).
#[derive(InputObject, Debug, Clone, Copy, Default)]
pub struct PracticeOrder {
    /// What to sort by.
    pub field: PracticeOrderField,
    /// Which way (default ascending).
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl PracticeOrder {
    pub fn token(order: Option<PracticeOrder>) -> String {
        let o = order.unwrap_or_default();
        let f = match o.field {
            PracticeOrderField::OdsCode => "odsCode",
            PracticeOrderField::Name => "name",
            PracticeOrderField::UpdatedAt => "updatedAt",
        };
        token(f, o.direction)
    }
}

/// The same filters as `GET /api/v1/practices`.
#[derive(InputObject, Debug, Clone, Default)]
pub struct PracticeFilter {
    /// Part of the name (any case), or an exact ODS code.
    pub q: Option<String>,
    /// Only practices with this status.
    pub status: Option<PracticeStatus>,
    /// Commissioner (CCG / sub-ICB location) code, e.g. `05G`.
    pub commissioner: Option<String>,
    /// Start of the postcode, e.g. `ST3 `.
    pub postcode: Option<String>,
    /// Open on this date; for a group's practices, also members on it (default today).
    pub active_on: Option<Date>,
    /// Only practices changed at or after this instant.
    pub updated_since: Option<Timestamp>,
}

impl PracticeFilter {
    pub fn query(filter: Option<PracticeFilter>, how: &Resolved) -> PracticeQuery {
        let f = filter.unwrap_or_default();
        PracticeQuery {
            q: f.q,
            status: f.status,
            commissioner: f.commissioner,
            postcode: f.postcode,
            active_on: f.active_on.map(Into::into),
            updated_since: f.updated_since.map(|t| t.0),
            limit: Some(how.limit),
            after: how.cursor.clone(),
            sort: Some(how.sort.clone()),
        }
    }
}

/// What to sort organisations, PCNs, federations or Integrated Care Teams by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum GroupOrderField {
    /// By code (the default).
    #[default]
    Code,
    /// By name.
    Name,
    /// By when the record last changed.
    UpdatedAt,
}

/// How to sort federations or Integrated Care Teams (as REST's `sort`).
#[derive(InputObject, Debug, Clone, Copy, Default)]
pub struct GroupOrder {
    /// What to sort by.
    pub field: GroupOrderField,
    /// Which way (default ascending).
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl GroupOrder {
    pub fn token(order: Option<GroupOrder>) -> String {
        let o = order.unwrap_or_default();
        let f = match o.field {
            GroupOrderField::Code => "code",
            GroupOrderField::Name => "name",
            GroupOrderField::UpdatedAt => "updatedAt",
        };
        token(f, o.direction)
    }
}

/// The same filters as `GET /api/v1/federations` and `/icts`.
#[derive(InputObject, Debug, Clone, Default)]
pub struct GroupFilter {
    /// Part of the name (any case), or an exact code.
    pub q: Option<String>,
    /// Integrated care board code.
    pub icb: Option<String>,
    /// ICTs only.
    pub status: Option<IctStatus>,
    /// Only records changed at or after this instant.
    pub updated_since: Option<Timestamp>,
}

impl GroupFilter {
    pub fn query(filter: Option<GroupFilter>, how: &Resolved) -> GroupQuery {
        let f = filter.unwrap_or_default();
        GroupQuery {
            q: f.q,
            status: f.status,
            icb: f.icb,
            updated_since: f.updated_since.map(|t| t.0),
            limit: Some(how.limit),
            after: how.cursor.clone(),
            sort: Some(how.sort.clone()),
        }
    }
}

/// The same filters as `GET /api/v1/organisations`.
#[derive(InputObject, Debug, Clone, Default)]
pub struct OrganisationFilter {
    /// Only organisations of this kind.
    pub kind: Option<OrgKind>,
    /// Part of the name (any case), or an exact code.
    pub q: Option<String>,
    /// Only members of the organisation with this code (a PCN, federation, ICT or
    /// commissioner) on `activeOn` (default today).
    pub part_of: Option<String>,
    /// Only organisations open on this date; with `partOf`, the day membership is read on.
    pub active_on: Option<Date>,
}

impl OrganisationFilter {
    pub fn query(filter: Option<OrganisationFilter>, how: &Resolved) -> OrganisationQuery {
        let f = filter.unwrap_or_default();
        OrganisationQuery {
            kind: f.kind,
            q: f.q,
            part_of: f.part_of,
            active_on: f.active_on.map(|d| d.0),
            limit: Some(how.limit),
            after: how.cursor.clone(),
            sort: Some(how.sort.clone()),
        }
    }
}

/// What to sort roles or programmes by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum CatalogueOrderField {
    /// By code (the default).
    #[default]
    Code,
    /// By name.
    Name,
}

/// How to sort roles or programmes (as REST's `sort`).
#[derive(InputObject, Debug, Clone, Copy, Default)]
pub struct CatalogueOrder {
    /// What to sort by.
    pub field: CatalogueOrderField,
    /// Which way (default ascending).
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl CatalogueOrder {
    pub fn token(order: Option<CatalogueOrder>) -> String {
        let o = order.unwrap_or_default();
        token(if o.field == CatalogueOrderField::Name { "name" } else { "code" }, o.direction)
    }
}

/// The same filters as `GET /api/v1/roles`.
#[derive(InputObject, Debug, Clone, Default)]
pub struct RoleFilter {
    /// Part of the name (any case), or an exact code.
    pub q: Option<String>,
    /// Only roles in this staff group.
    pub staff_group: Option<StaffGroup>,
    /// Only roles with this regulator.
    pub regulator: Option<Regulator>,
    /// Only additional-roles (ARRS) posts (`true`), or only the others (`false`).
    pub additional_roles: Option<bool>,
}

impl RoleFilter {
    pub fn query(filter: Option<RoleFilter>, how: &Resolved) -> RoleQuery {
        let f = filter.unwrap_or_default();
        RoleQuery {
            q: f.q,
            staff_group: f.staff_group,
            regulator: f.regulator,
            additional_roles: f.additional_roles,
            limit: Some(how.limit),
            after: how.cursor.clone(),
            sort: Some(how.sort.clone()),
        }
    }
}

/// The same filters as `GET /api/v1/programmes`.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ProgrammeFilter {
    /// Part of the name (any case), or an exact code.
    pub q: Option<String>,
}

impl ProgrammeFilter {
    pub fn query(filter: Option<ProgrammeFilter>, how: &Resolved) -> ProgrammeQuery {
        ProgrammeQuery {
            q: filter.and_then(|f| f.q),
            limit: Some(how.limit),
            after: how.cursor.clone(),
            sort: Some(how.sort.clone()),
        }
    }
}

/// What to sort placements by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum PlacementOrderField {
    /// By when the placement was recorded (the default).
    #[default]
    CreatedAt,
    /// By first day.
    StartDate,
    /// By when the placement last changed.
    UpdatedAt,
}

/// How to sort placements (as REST's `sort`).
#[derive(InputObject, Debug, Clone, Copy, Default)]
pub struct PlacementOrder {
    /// What to sort by.
    pub field: PlacementOrderField,
    /// Which way (default ascending).
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl PlacementOrder {
    pub fn token(order: Option<PlacementOrder>) -> String {
        let o = order.unwrap_or_default();
        let f = match o.field {
            PlacementOrderField::CreatedAt => "createdAt",
            PlacementOrderField::StartDate => "startDate",
            PlacementOrderField::UpdatedAt => "updatedAt",
        };
        token(f, o.direction)
    }
}

/// The same filters as `GET /api/v1/placements`.
#[derive(InputObject, Debug, Clone, Default)]
pub struct PlacementFilter {
    /// Role code.
    pub role: Option<String>,
    /// Programme code.
    pub programme: Option<String>,
    /// Host code: practice ODS code, federation or ICT code.
    pub host: Option<String>,
    /// Only placements at hosts of this kind.
    pub host_type: Option<HostType>,
    /// Only placements with this status, as of today.
    pub status: Option<PlacementStatus>,
    /// Only placements running on this date.
    pub active_on: Option<Date>,
    /// The partner's staff reference (all parts of a split post).
    pub staff_ref: Option<String>,
    /// Only placements changed at or after this instant.
    pub updated_since: Option<Timestamp>,
}

impl PlacementFilter {
    pub fn query(filter: Option<PlacementFilter>, how: &Resolved) -> PlacementQuery {
        let f = filter.unwrap_or_default();
        PlacementQuery {
            role: f.role,
            programme: f.programme,
            host: f.host,
            host_type: f.host_type,
            status: f.status,
            active_on: f.active_on.map(Into::into),
            staff_ref: f.staff_ref,
            updated_since: f.updated_since.map(|t| t.0),
            limit: Some(how.limit),
            after: how.cursor.clone(),
            sort: Some(how.sort.clone()),
        }
    }
}
