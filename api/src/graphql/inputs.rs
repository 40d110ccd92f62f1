//! Filter and order inputs. They map one-to-one onto the REST query parameters, which the
//! domain validates and applies; no filter rule lives here.

use async_graphql::{Enum, InputObject};
use chrono::NaiveDate;
use pcr_schema::domain::catalogue::{ProgrammeQuery, RoleQuery};
use pcr_schema::domain::groups::GroupQuery;
use pcr_schema::domain::placements::PlacementQuery;
use pcr_schema::domain::practices::PracticeQuery;
use pcr_schema::models::ict::IctStatus;
use pcr_schema::models::placement::{HostType, PlacementStatus};
use pcr_schema::models::practice::PracticeStatus;
use pcr_schema::models::role::{Regulator, StaffGroup};

use super::connection::Resolved;
use super::scalars::Timestamp;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum OrderDirection {
    #[default]
    Asc,
    Desc,
}

fn token(field: &str, direction: OrderDirection) -> String {
    match direction {
        OrderDirection::Asc => field.to_string(),
        OrderDirection::Desc => format!("-{field}"),
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum PracticeOrderField {
    #[default]
    OdsCode,
    Name,
    UpdatedAt,
}

#[derive(InputObject, Debug, Clone, Copy, Default)]
pub struct PracticeOrder {
    pub field: PracticeOrderField,
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
    pub status: Option<PracticeStatus>,
    pub commissioner: Option<String>,
    /// Start of the postcode, e.g. `ST3 `.
    pub postcode: Option<String>,
    /// Open on this date; for a group's practices, also members on it (default today).
    pub active_on: Option<NaiveDate>,
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
            active_on: f.active_on,
            updated_since: f.updated_since.map(|t| t.0),
            limit: Some(how.limit),
            after: how.cursor.clone(),
            sort: Some(how.sort.clone()),
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum GroupOrderField {
    #[default]
    Code,
    Name,
    UpdatedAt,
}

#[derive(InputObject, Debug, Clone, Copy, Default)]
pub struct GroupOrder {
    pub field: GroupOrderField,
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

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum CatalogueOrderField {
    #[default]
    Code,
    Name,
}

#[derive(InputObject, Debug, Clone, Copy, Default)]
pub struct CatalogueOrder {
    pub field: CatalogueOrderField,
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
    pub q: Option<String>,
    pub staff_group: Option<StaffGroup>,
    pub regulator: Option<Regulator>,
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

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum PlacementOrderField {
    #[default]
    CreatedAt,
    StartDate,
    UpdatedAt,
}

#[derive(InputObject, Debug, Clone, Copy, Default)]
pub struct PlacementOrder {
    pub field: PlacementOrderField,
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
    pub host_type: Option<HostType>,
    pub status: Option<PlacementStatus>,
    pub active_on: Option<NaiveDate>,
    pub staff_ref: Option<String>,
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
            active_on: f.active_on,
            staff_ref: f.staff_ref,
            updated_since: f.updated_since.map(|t| t.0),
            limit: Some(how.limit),
            after: how.cursor.clone(),
            sort: Some(how.sort.clone()),
        }
    }
}
