//! The graph's object types. Each wraps a domain view (the same data REST returns) and
//! resolves its relations through the request's loaders.

use std::sync::Arc;

use async_graphql::{Context, InputType, Interface, Lookahead, Object, Result, SimpleObject, Union, ID};
use pcr_schema::date::Date;
use pcr_schema::domain::placements::PlacementParent;
use pcr_schema::kinds::OrgKind;
use pcr_schema::models::federation::{Federation, Pcn};
use pcr_schema::models::ict::{IctStatus, IntegratedCareTeam};
use pcr_schema::models::membership::{
    FederationMembership, IctMembership, PartnerService, PartnerServiceKind, PcnMembership,
};
use pcr_schema::models::placement::{Funding, HostType, Placement, PlacementStatus};
use pcr_schema::models::practice::{Practice, PracticeStatus};
use pcr_schema::models::programme::Programme;
use pcr_schema::models::role::{Regulator, Role, StaffGroup};

use super::connection::{connection, Conn, PageArgs, Total};
use super::global_id;
use super::inputs::{PlacementFilter, PlacementOrder, PracticeFilter, PracticeOrder};
use super::loaders::{
    FederationKey, FederationMembershipsOf, FederationsOf, IctKey, IctMembershipsOf, IctsOf, MembersOf,
    NestedPlacements, PartnerServicesOf, PcnKey, PcnMembershipsOf, PcnsOf, PlacementsOf, PracticeKey, ProgrammeKey,
    RequestLoader, RoleKey,
};
use super::organisations::{affiliations_of, AffiliationNode, CommissionerNode, ExternalProviderNode};
use super::scalars::Timestamp;

/// Anything with a global id, fetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global id, for `node(id:)`"))]
pub enum Node {
    Practice(PracticeNode),
    Pcn(PcnNode),
    Federation(FederationNode),
    IntegratedCareTeam(IctNode),
    Role(RoleNode),
    Programme(ProgrammeNode),
    Placement(PlacementNode),
    PcnMembership(PcnMembershipNode),
    FederationMembership(FederationMembershipNode),
    IctMembership(IctMembershipNode),
    PartnerService(PartnerServiceNode),
    Commissioner(CommissionerNode),
    ExternalProvider(ExternalProviderNode),
}

fn loader<'a>(ctx: &'a Context<'_>) -> Result<&'a RequestLoader> {
    ctx.data::<RequestLoader>()
}

/// A parent's placements as a connection, batched with its siblings'.
#[allow(clippy::too_many_arguments)]
async fn placements_of(
    ctx: &Context<'_>,
    parent: PlacementParent,
    key: &str,
    page: PageArgs,
    filter: Option<PlacementFilter>,
    order_by: Option<PlacementOrder>,
) -> Result<Conn<PlacementNode>> {
    let how = page.resolve(PlacementOrder::token(order_by))?;
    let query = PlacementFilter::query(filter, &how);
    // Roles asked for under the page come with the page's statement.
    let with_roles = wants_roles(&ctx.look_ahead());
    let k = PlacementsOf { parent, key: key.to_string(), args: Arc::new(query), with_roles };
    let p = loader(ctx)?.load_one(k.clone()).await?.unwrap_or(pcr_schema::pagination::Page {
        items: vec![],
        next_cursor: None,
        cursors: vec![],
    });
    Ok(connection(p, &how, Total::PlacementsOf(k), PlacementNode))
}

/// Whether roles are asked for under a page of placements (`ahead` looks at the page).
fn wants_roles(ahead: &Lookahead<'_>) -> bool {
    ahead.field("edges").field("node").field("role").exists() || ahead.field("nodes").field("role").exists()
}

/// The page of placements a query asks for under each member practice, keyed as
/// [`placements_of`] will key it, when it asks for exactly one; `None` otherwise, or when
/// its arguments do not resolve (the practice's own field then reports them).
fn nested_placements(ctx: &Context<'_>) -> Option<NestedPlacements> {
    let ahead = ctx.look_ahead();
    let mut fields = ahead.field("edges").field("node").field("placements").selection_fields();
    fields.extend(ahead.field("nodes").field("placements").selection_fields());
    let [field] = fields.as_slice() else { return None };
    let args = field.arguments().ok()?;
    fn arg<T: InputType>(args: &[(async_graphql::Name, async_graphql::Value)], name: &str) -> Option<T> {
        let value = args.iter().find(|(n, _)| n.as_str() == name).map(|(_, v)| v.clone());
        T::parse(value).ok()
    }
    let page = PageArgs::new(arg(&args, "first")?, arg(&args, "after")?, arg(&args, "last")?, arg(&args, "before")?);
    let order_by: Option<PlacementOrder> = arg(&args, "orderBy")?;
    let filter: Option<PlacementFilter> = arg(&args, "filter")?;
    let how = page.resolve(PlacementOrder::token(order_by)).ok()?;
    let query = PlacementFilter::query(filter, &how);
    Some(NestedPlacements { args: Arc::new(query), with_roles: wants_roles(&Lookahead::from(*field)) })
}

/// A group's member practices as a connection, batched with its siblings'.
async fn members_of(
    ctx: &Context<'_>,
    code: &str,
    page: PageArgs,
    filter: Option<PracticeFilter>,
    order_by: Option<PracticeOrder>,
) -> Result<Conn<PracticeNode>> {
    let how = page.resolve(PracticeOrder::token(order_by))?;
    let query = PracticeFilter::query(filter, &how);
    let k = MembersOf { code: code.to_string(), args: Arc::new(query), placements: nested_placements(ctx) };
    let (p, total) = loader(ctx)?
        .load_one(k)
        .await?
        .unwrap_or((pcr_schema::pagination::Page { items: vec![], next_cursor: None, cursors: vec![] }, 0));
    Ok(connection(p, &how, Total::Known(total), PracticeNode))
}

pub struct PracticeNode(pub Practice);

/// A GP practice, from NHS ODS or added through the API.
#[Object(name = "Practice")]
impl PracticeNode {
    /// Global id, for `node(id:)`.
    pub async fn id(&self) -> ID {
        global_id("Practice", &self.0.id)
    }
    /// The UUID REST uses.
    async fn database_id(&self) -> &str {
        &self.0.id
    }
    /// ODS organisation code, e.g. `M83005`.
    async fn ods_code(&self) -> &str {
        &self.0.ods_code
    }
    /// The practice's name.
    pub async fn name(&self) -> &str {
        &self.0.name
    }
    /// Address above the postcode, line by line (empty when unknown).
    async fn address_lines(&self) -> &[String] {
        &self.0.address_lines
    }
    /// Postcode, e.g. `ST3 6AB`.
    async fn postcode(&self) -> &str {
        &self.0.postcode
    }
    /// NHS region (ODS national grouping), e.g. `Y60`.
    async fn region_code(&self) -> Option<&str> {
        self.0.region_code.as_deref()
    }
    /// Integrated care board or higher health geography, e.g. `QNC`.
    async fn icb_code(&self) -> Option<&str> {
        self.0.icb_code.as_deref()
    }
    /// Current commissioner (CCG / sub-ICB location), e.g. `05G`.
    async fn commissioner_code(&self) -> Option<&str> {
        self.0.commissioner_code.as_deref()
    }
    /// Registered patients, when known.
    async fn list_size(&self) -> Option<i32> {
        self.0.list_size
    }
    /// Whether the practice is open, closed, dormant, proposed or merged.
    async fn status(&self) -> PracticeStatus {
        self.0.status
    }
    /// ODS code of the practice this one merged into.
    async fn merged_into(&self) -> Option<&str> {
        self.0.merged_into.as_deref()
    }
    /// The practice this one merged into, when it has merged.
    async fn merged_into_practice(&self, ctx: &Context<'_>) -> Result<Option<PracticeNode>> {
        match &self.0.merged_into {
            Some(code) => Ok(loader(ctx)?.load_one(PracticeKey(code.clone())).await?.map(PracticeNode)),
            None => Ok(None),
        }
    }
    /// The day the practice opened, when known.
    async fn opened_on(&self) -> Option<Date> {
        self.0.opened_on.map(Date)
    }
    /// The day the practice closed, if it has.
    async fn closed_on(&self) -> Option<Date> {
        self.0.closed_on.map(Date)
    }
    /// Main telephone number.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Where the record came from: `ods` (NHS ODS import), `api` or `demo`.
    async fn source(&self) -> &str {
        &self.0.source
    }
    /// Increases by one with every change (REST's ETag); send it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the record was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// When the record last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
    /// The practice's ODS code, as every organisation has it.
    pub async fn code(&self) -> &str {
        &self.0.ods_code
    }
    /// What kind of organisation it is: `PRACTICE`.
    pub async fn kind(&self) -> OrgKind {
        OrgKind::Practice
    }
    /// Its relationships with other organisations over time: its PCNs, federations, ICTs and
    /// commissioners, with their periods.
    pub async fn affiliations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those holding on this date")] active_on: Option<Date>,
    ) -> Result<Vec<AffiliationNode>> {
        affiliations_of(ctx, &self.0.ods_code, active_on).await
    }
    /// The Primary Care Networks the practice belongs to on a day (default today).
    async fn pcns(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Memberships in force on this date (default today)")] active_on: Option<Date>,
    ) -> Result<Vec<PcnNode>> {
        let day = active_on.map_or_else(pcr_schema::today, |d| d.0);
        let list = loader(ctx)?.load_one(PcnsOf(self.0.ods_code.clone(), day)).await?.unwrap_or_default();
        Ok(list.into_iter().map(PcnNode).collect())
    }
    /// The federations the practice belongs to on a day (default today).
    async fn federations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Memberships in force on this date (default today)")] active_on: Option<Date>,
    ) -> Result<Vec<FederationNode>> {
        let day = active_on.map_or_else(pcr_schema::today, |d| d.0);
        let list = loader(ctx)?.load_one(FederationsOf(self.0.ods_code.clone(), day)).await?.unwrap_or_default();
        Ok(list.into_iter().map(FederationNode).collect())
    }
    /// The federation the practice belongs to today, if any.
    async fn current_federation(&self, ctx: &Context<'_>) -> Result<Option<FederationNode>> {
        let list = loader(ctx)?
            .load_one(FederationsOf(self.0.ods_code.clone(), pcr_schema::today()))
            .await?
            .unwrap_or_default();
        Ok(list.into_iter().next().map(FederationNode))
    }
    /// The ICTs the practice belongs to on a day (default today).
    async fn integrated_care_teams(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Memberships in force on this date (default today)")] active_on: Option<Date>,
    ) -> Result<Vec<IctNode>> {
        let day = active_on.map_or_else(pcr_schema::today, |d| d.0);
        let list = loader(ctx)?.load_one(IctsOf(self.0.ods_code.clone(), day)).await?.unwrap_or_default();
        Ok(list.into_iter().map(IctNode).collect())
    }
    /// Placements hosted by the practice. Needs `placements:read`.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn placements(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n items (0–200, default 20)")] first: Option<i32>,
        #[graphql(desc = "A cursor from `pageInfo.endCursor` or an edge: read the items after it")] after: Option<
            String,
        >,
        #[graphql(desc = "Return the last n items (0–200), reading backwards")] last: Option<i32>,
        #[graphql(desc = "A cursor from `pageInfo.startCursor` or an edge: read the items before it")] before: Option<
            String,
        >,
        #[graphql(desc = "Which placements (the same filters as the REST list)")] filter: Option<PlacementFilter>,
        #[graphql(desc = "Sort order (default by creation time, oldest first)")] order_by: Option<PlacementOrder>,
    ) -> Result<Conn<PlacementNode>> {
        let page = PageArgs::new(first, after, last, before);
        placements_of(ctx, PlacementParent::Host, &self.0.ods_code, page, filter, order_by).await
    }
}

/// A group of practices (federation or PCN): one definition for both kinds.
macro_rules! group_node {
    ($node:ident, $view:ty, $name:literal, $kind:expr, $doc:literal, $code_doc:literal, $ods_doc:literal, $placements_doc:literal, $membership_node:ident, $memberships_key:ident) => {
        pub struct $node(pub $view);

        #[doc = $doc]
        #[Object(name = $name)]
        impl $node {
            /// Global id, for `node(id:)`.
            pub async fn id(&self) -> ID {
                global_id($name, &self.0.id)
            }
            /// The UUID REST uses as the record's `id`.
            async fn database_id(&self) -> &str {
                &self.0.id
            }
            #[doc = $code_doc]
            pub async fn code(&self) -> &str {
                &self.0.code
            }
            /// The name.
            pub async fn name(&self) -> &str {
                &self.0.name
            }
            #[doc = $ods_doc]
            async fn ods_code(&self) -> Option<&str> {
                self.0.ods_code.as_deref()
            }
            /// Code of the integrated care board it works in, e.g. `QNC`.
            async fn icb_code(&self) -> Option<&str> {
                self.0.icb_code.as_deref()
            }
            /// What it does, in words.
            async fn description(&self) -> Option<&str> {
                self.0.description.as_deref()
            }
            /// What kind of organisation it is.
            pub async fn kind(&self) -> OrgKind {
                $kind
            }
            /// Where the record came from: `api` or `demo` (synthetic demonstration data).
            async fn source(&self) -> &str {
                &self.0.source
            }
            /// Increases by one with every change (REST's ETag); send it back as `expectedVersion`.
            async fn version(&self) -> i32 {
                self.0.version
            }
            /// When the record was created.
            async fn created_at(&self) -> Timestamp {
                Timestamp(self.0.created_at)
            }
            /// When the record last changed.
            async fn updated_at(&self) -> Timestamp {
                Timestamp(self.0.updated_at)
            }
            /// Member practices on `filter.activeOn` (default today).
            #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
            #[allow(clippy::too_many_arguments)]
            async fn practices(
                &self,
                ctx: &Context<'_>,
                #[graphql(desc = "Return the first n items (0–200, default 20)")] first: Option<i32>,
                #[graphql(desc = "A cursor from `pageInfo.endCursor` or an edge: read the items after it")] after: Option<
                    String,
                >,
                #[graphql(desc = "Return the last n items (0–200), reading backwards")] last: Option<i32>,
                #[graphql(desc = "A cursor from `pageInfo.startCursor` or an edge: read the items before it")] before: Option<
                    String,
                >,
                #[graphql(
                    desc = "Which practices (the same filters as the REST list); `activeOn` also picks the members that day"
                )]
                filter: Option<PracticeFilter>,
                #[graphql(desc = "Sort order (default by ODS code, ascending)")] order_by: Option<PracticeOrder>,
            ) -> Result<Conn<PracticeNode>> {
                let page = PageArgs::new(first, after, last, before);
                members_of(ctx, &self.0.code, page, filter, order_by).await
            }
            /// Every membership period, past and present.
            async fn memberships(&self, ctx: &Context<'_>) -> Result<Vec<$membership_node>> {
                let list = loader(ctx)?.load_one($memberships_key(self.0.code.clone())).await?.unwrap_or_default();
                Ok(list.into_iter().map($membership_node).collect())
            }
            #[doc = $placements_doc]
            #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
            #[allow(clippy::too_many_arguments)]
            async fn placements(
                &self,
                ctx: &Context<'_>,
                #[graphql(desc = "Return the first n items (0–200, default 20)")] first: Option<i32>,
                #[graphql(desc = "A cursor from `pageInfo.endCursor` or an edge: read the items after it")] after: Option<
                    String,
                >,
                #[graphql(desc = "Return the last n items (0–200), reading backwards")] last: Option<i32>,
                #[graphql(desc = "A cursor from `pageInfo.startCursor` or an edge: read the items before it")] before: Option<
                    String,
                >,
                #[graphql(desc = "Which placements (the same filters as the REST list)")] filter: Option<PlacementFilter>,
                #[graphql(desc = "Sort order (default by creation time, oldest first)")] order_by: Option<PlacementOrder>,
            ) -> Result<Conn<PlacementNode>> {
                let page = PageArgs::new(first, after, last, before);
                placements_of(ctx, PlacementParent::Host, &self.0.code, page, filter, order_by).await
            }
            /// Its relationships with other organisations over time, both ways: the practices that
            /// are its members, with their periods.
            pub async fn affiliations(
                &self,
                ctx: &Context<'_>,
                #[graphql(desc = "Only those holding on this date")] active_on: Option<Date>,
            ) -> Result<Vec<AffiliationNode>> {
                affiliations_of(ctx, &self.0.code, active_on).await
            }
        }
    };
}

group_node!(
    FederationNode,
    Federation,
    "Federation",
    OrgKind::Federation,
    "A GP federation.",
    "Stable code, e.g. `NSGPF`.",
    "The federation's own ODS code, when it has one.",
    "Placements hosted by the federation itself. Needs `placements:read`.",
    FederationMembershipNode,
    FederationMembershipsOf
);
group_node!(
    PcnNode,
    Pcn,
    "Pcn",
    OrgKind::Pcn,
    "A Primary Care Network: practices working together, and the additional roles staff they employ.",
    "The PCN's ODS code, e.g. `U99901`.",
    "Another ODS code the network is known by, if any.",
    "Placements hosted by the PCN itself (most additional roles staff). Needs `placements:read`.",
    PcnMembershipNode,
    PcnMembershipsOf
);

pub struct IctNode(pub IntegratedCareTeam);

/// An Integrated Care Team: general practice with community, mental health, social care
/// and voluntary services around neighbouring practices.
#[Object(name = "IntegratedCareTeam")]
impl IctNode {
    /// Global id, for `node(id:)`.
    pub async fn id(&self) -> ID {
        global_id("IntegratedCareTeam", &self.0.id)
    }
    /// The UUID REST uses as the record's `id`.
    async fn database_id(&self) -> &str {
        &self.0.id
    }
    /// Stable code, e.g. `ICT-MEIR`.
    pub async fn code(&self) -> &str {
        &self.0.code
    }
    /// The team's name.
    pub async fn name(&self) -> &str {
        &self.0.name
    }
    /// Code of the integrated care board the team belongs to, e.g. `QNC`.
    async fn icb_code(&self) -> Option<&str> {
        self.0.icb_code.as_deref()
    }
    /// The locality served, in words.
    async fn locality(&self) -> Option<&str> {
        self.0.locality.as_deref()
    }
    /// People served (typically 30,000–70,000).
    async fn population(&self) -> Option<i32> {
        self.0.population
    }
    /// What kind of organisation it is: `ICT`.
    pub async fn kind(&self) -> OrgKind {
        OrgKind::Ict
    }
    /// Its relationships with other organisations over time, both ways: its member practices
    /// and its partner services' providers, with their periods.
    pub async fn affiliations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those holding on this date")] active_on: Option<Date>,
    ) -> Result<Vec<AffiliationNode>> {
        affiliations_of(ctx, &self.0.code, active_on).await
    }
    /// How far the team has come: planned, early adopter or live.
    async fn status(&self) -> IctStatus {
        self.0.status
    }
    /// Where the record came from: `api` or `demo` (synthetic demonstration data).
    async fn source(&self) -> &str {
        &self.0.source
    }
    /// Increases by one with every change (REST's ETag); send it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the record was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// When the record last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
    /// Member practices on `filter.activeOn` (default today).
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn practices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n items (0–200, default 20)")] first: Option<i32>,
        #[graphql(desc = "A cursor from `pageInfo.endCursor` or an edge: read the items after it")] after: Option<
            String,
        >,
        #[graphql(desc = "Return the last n items (0–200), reading backwards")] last: Option<i32>,
        #[graphql(desc = "A cursor from `pageInfo.startCursor` or an edge: read the items before it")] before: Option<
            String,
        >,
        #[graphql(
            desc = "Which practices (the same filters as the REST list); `activeOn` also picks the members that day"
        )]
        filter: Option<PracticeFilter>,
        #[graphql(desc = "Sort order (default by ODS code, ascending)")] order_by: Option<PracticeOrder>,
    ) -> Result<Conn<PracticeNode>> {
        let page = PageArgs::new(first, after, last, before);
        members_of(ctx, &self.0.code, page, filter, order_by).await
    }
    /// Every membership period, past and present.
    async fn memberships(&self, ctx: &Context<'_>) -> Result<Vec<IctMembershipNode>> {
        let list = loader(ctx)?.load_one(IctMembershipsOf(self.0.code.clone())).await?.unwrap_or_default();
        Ok(list.into_iter().map(IctMembershipNode).collect())
    }
    /// Community, mental health, social care and voluntary services in the team.
    async fn partner_services(&self, ctx: &Context<'_>) -> Result<Vec<PartnerServiceNode>> {
        let list = loader(ctx)?.load_one(PartnerServicesOf(self.0.code.clone())).await?.unwrap_or_default();
        Ok(list.into_iter().map(PartnerServiceNode).collect())
    }
    /// Placements hosted by the ICT itself. Needs `placements:read`.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn placements(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n items (0–200, default 20)")] first: Option<i32>,
        #[graphql(desc = "A cursor from `pageInfo.endCursor` or an edge: read the items after it")] after: Option<
            String,
        >,
        #[graphql(desc = "Return the last n items (0–200), reading backwards")] last: Option<i32>,
        #[graphql(desc = "A cursor from `pageInfo.startCursor` or an edge: read the items before it")] before: Option<
            String,
        >,
        #[graphql(desc = "Which placements (the same filters as the REST list)")] filter: Option<PlacementFilter>,
        #[graphql(desc = "Sort order (default by creation time, oldest first)")] order_by: Option<PlacementOrder>,
    ) -> Result<Conn<PlacementNode>> {
        let page = PageArgs::new(first, after, last, before);
        placements_of(ctx, PlacementParent::Host, &self.0.code, page, filter, order_by).await
    }
}

pub struct RoleNode(pub Role);

/// A workforce role.
#[Object(name = "Role")]
impl RoleNode {
    /// Global id, for `node(id:)`.
    async fn id(&self) -> ID {
        global_id("Role", &self.0.id)
    }
    /// The UUID REST uses as the record's `id`.
    async fn database_id(&self) -> &str {
        &self.0.id
    }
    /// Stable code, e.g. `physician-associate`.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// The role's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The staff group the role counts in, as in the national GP workforce statistics.
    async fn staff_group(&self) -> StaffGroup {
        self.0.staff_group
    }
    /// The professional regulator, or `NONE`.
    async fn regulator(&self) -> Regulator {
        self.0.regulator
    }
    /// Whether the role is an additional-roles (ARRS) post.
    async fn additional_roles(&self) -> bool {
        self.0.additional_roles
    }
    /// What the role does, in words.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Increases by one with every change (REST's ETag); send it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the record was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// When the record last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
    /// Placements in this role. Needs `placements:read`.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn placements(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n items (0–200, default 20)")] first: Option<i32>,
        #[graphql(desc = "A cursor from `pageInfo.endCursor` or an edge: read the items after it")] after: Option<
            String,
        >,
        #[graphql(desc = "Return the last n items (0–200), reading backwards")] last: Option<i32>,
        #[graphql(desc = "A cursor from `pageInfo.startCursor` or an edge: read the items before it")] before: Option<
            String,
        >,
        #[graphql(desc = "Which placements (the same filters as the REST list)")] filter: Option<PlacementFilter>,
        #[graphql(desc = "Sort order (default by creation time, oldest first)")] order_by: Option<PlacementOrder>,
    ) -> Result<Conn<PlacementNode>> {
        let page = PageArgs::new(first, after, last, before);
        placements_of(ctx, PlacementParent::Role, &self.0.code, page, filter, order_by).await
    }
}

pub struct ProgrammeNode(pub Programme);

/// A programme or scheme that placements belong to.
#[Object(name = "Programme")]
impl ProgrammeNode {
    /// Global id, for `node(id:)`.
    async fn id(&self) -> ID {
        global_id("Programme", &self.0.id)
    }
    /// The UUID REST uses as the record's `id`.
    async fn database_id(&self) -> &str {
        &self.0.id
    }
    /// Stable code, e.g. `gp-retainer-scheme`.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// The programme's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What the programme is for, in words.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Headcount the programme aims for.
    async fn target_count(&self) -> Option<i32> {
        self.0.target_count
    }
    /// Code of the role the target counts.
    async fn target_role_code(&self) -> Option<&str> {
        self.0.target_role.as_deref()
    }
    /// The role the target counts, when there is a target role.
    async fn target_role(&self, ctx: &Context<'_>) -> Result<Option<RoleNode>> {
        match &self.0.target_role {
            Some(code) => Ok(loader(ctx)?.load_one(RoleKey(code.clone())).await?.map(RoleNode)),
            None => Ok(None),
        }
    }
    /// Increases by one with every change (REST's ETag); send it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the record was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// When the record last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
    /// Placements in this programme. Needs `placements:read`.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn placements(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n items (0–200, default 20)")] first: Option<i32>,
        #[graphql(desc = "A cursor from `pageInfo.endCursor` or an edge: read the items after it")] after: Option<
            String,
        >,
        #[graphql(desc = "Return the last n items (0–200), reading backwards")] last: Option<i32>,
        #[graphql(desc = "A cursor from `pageInfo.startCursor` or an edge: read the items before it")] before: Option<
            String,
        >,
        #[graphql(desc = "Which placements (the same filters as the REST list)")] filter: Option<PlacementFilter>,
        #[graphql(desc = "Sort order (default by creation time, oldest first)")] order_by: Option<PlacementOrder>,
    ) -> Result<Conn<PlacementNode>> {
        let page = PageArgs::new(first, after, last, before);
        placements_of(ctx, PlacementParent::Programme, &self.0.code, page, filter, order_by).await
    }
}

/// A host outside primary care (an acute or mental health team), named by the partner.
#[derive(SimpleObject)]
pub struct ExternalHost {
    /// The host's name, e.g. an NHS trust's team.
    pub name: String,
    /// ODS code of the host organisation, when given.
    pub ods_code: Option<String>,
}

/// Who hosts a placement.
#[derive(Union)]
pub enum Host {
    Practice(PracticeNode),
    Pcn(PcnNode),
    Federation(FederationNode),
    IntegratedCareTeam(IctNode),
    External(ExternalHost),
}

pub struct PlacementNode(pub Placement);

/// One post holder in one role at one host for a period.
#[Object(name = "Placement")]
impl PlacementNode {
    /// Global id, for `node(id:)`.
    async fn id(&self) -> ID {
        global_id("Placement", &self.0.id)
    }
    /// The UUID REST uses as the record's `id`.
    async fn database_id(&self) -> &str {
        &self.0.id
    }
    /// The partner's pseudonymous staff reference (never a name).
    async fn staff_ref(&self) -> &str {
        &self.0.staff_ref
    }
    /// Code of the role, e.g. `physician-associate`.
    async fn role_code(&self) -> &str {
        &self.0.role_code
    }
    /// Code of the programme the placement belongs to, if any.
    async fn programme_code(&self) -> Option<&str> {
        self.0.programme_code.as_deref()
    }
    /// The kind of host: practice, PCN, federation, ICT or external.
    async fn host_type(&self) -> HostType {
        self.0.host_type
    }
    /// Code of the host organisation: a practice's or PCN's ODS code, a federation's or ICT's
    /// code, or an external host's ODS code (or the `EXT-…` code it was given).
    async fn host_code(&self) -> Option<&str> {
        self.0.host_code.as_deref()
    }
    /// Name of an external host (acute or mental health team).
    async fn host_name(&self) -> Option<&str> {
        self.0.host_name.as_deref()
    }
    /// Contracted hours per week.
    async fn hours_per_week(&self) -> f64 {
        self.0.hours_per_week
    }
    /// Hours per week over 37.5.
    async fn fte(&self) -> f64 {
        self.0.fte
    }
    /// First day of the placement.
    async fn start_date(&self) -> Date {
        Date(self.0.start_date)
    }
    /// Last day of the placement, if known.
    async fn end_date(&self) -> Option<Date> {
        self.0.end_date.map(Date)
    }
    /// Planned, active or ended, as of today.
    async fn status(&self) -> PlacementStatus {
        self.0.status
    }
    /// Who pays for the post, when recorded.
    async fn funding(&self) -> Option<Funding> {
        self.0.funding
    }
    /// Free-text notes.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// The post holder's regulator, when a registration is held.
    async fn registration_body(&self) -> Option<pcr_schema::models::placement::RegistrationBody> {
        self.0.registration_body
    }
    /// The registration number (shown only to callers who may read the placement).
    async fn registration_number(&self) -> Option<&str> {
        self.0.registration_number.as_deref()
    }
    /// Where the record came from: `api`, `import` or `demo` (synthetic demonstration data).
    async fn source(&self) -> &str {
        &self.0.source
    }
    /// Subject of the token that created the placement.
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// Increases by one with every change (REST's ETag); send it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the record was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// When the record last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
    /// The role the post holder fills.
    async fn role(&self, ctx: &Context<'_>) -> Result<Option<RoleNode>> {
        Ok(loader(ctx)?.load_one(RoleKey(self.0.role_code.clone())).await?.map(RoleNode))
    }
    /// The programme the placement belongs to, if any.
    async fn programme(&self, ctx: &Context<'_>) -> Result<Option<ProgrammeNode>> {
        match &self.0.programme_code {
            Some(code) => Ok(loader(ctx)?.load_one(ProgrammeKey(code.clone())).await?.map(ProgrammeNode)),
            None => Ok(None),
        }
    }
    /// The host: a practice, PCN, federation or ICT, or an external host.
    async fn host(&self, ctx: &Context<'_>) -> Result<Option<Host>> {
        let l = loader(ctx)?;
        let code = self.0.host_code.clone();
        Ok(match (self.0.host_type, code) {
            (HostType::Practice, Some(c)) => l.load_one(PracticeKey(c)).await?.map(|p| Host::Practice(PracticeNode(p))),
            (HostType::Pcn, Some(c)) => l.load_one(PcnKey(c)).await?.map(|p| Host::Pcn(PcnNode(p))),
            (HostType::Federation, Some(c)) => {
                l.load_one(FederationKey(c)).await?.map(|f| Host::Federation(FederationNode(f)))
            }
            (HostType::Ict, Some(c)) => l.load_one(IctKey(c)).await?.map(|i| Host::IntegratedCareTeam(IctNode(i))),
            (HostType::External, code) => Some(Host::External(ExternalHost {
                name: self.0.host_name.clone().unwrap_or_default(),
                ods_code: code.filter(|c| !pcr_schema::kinds::is_own_external_code(c)),
            })),
            _ => None,
        })
    }
}

macro_rules! membership_node {
    ($node:ident, $view:ty, $name:literal, $group_field:ident, $group_fn:ident, $group_node:ident, $group_key:ident, $doc:literal, $group_code_doc:literal, $group_doc:literal) => {
        pub struct $node(pub $view);

        #[doc = $doc]
        #[Object(name = $name)]
        impl $node {
            /// Global id, for `node(id:)`.
            pub async fn id(&self) -> ID {
                global_id($name, &self.0.id)
            }
            /// The UUID REST uses as the record's `id`.
            async fn database_id(&self) -> &str {
                &self.0.id
            }
            #[doc = $group_code_doc]
            async fn $group_field(&self) -> &str {
                &self.0.$group_field
            }
            /// ODS code of the member practice, e.g. `M83005`.
            async fn ods_code(&self) -> &str {
                &self.0.ods_code
            }
            /// First day of the membership.
            async fn start_date(&self) -> Date {
                Date(self.0.start_date)
            }
            /// Last day of the membership, if it has one.
            async fn end_date(&self) -> Option<Date> {
                self.0.end_date.map(Date)
            }
            /// Increases by one with every change (REST's ETag); send it back as `expectedVersion`.
            async fn version(&self) -> i32 {
                self.0.version
            }
            /// When the record was created.
            async fn created_at(&self) -> Timestamp {
                Timestamp(self.0.created_at)
            }
            /// When the record last changed.
            async fn updated_at(&self) -> Timestamp {
                Timestamp(self.0.updated_at)
            }
            /// The member practice.
            async fn practice(&self, ctx: &Context<'_>) -> Result<Option<PracticeNode>> {
                Ok(loader(ctx)?.load_one(PracticeKey(self.0.ods_code.clone())).await?.map(PracticeNode))
            }
            #[doc = $group_doc]
            async fn $group_fn(&self, ctx: &Context<'_>) -> Result<Option<$group_node>> {
                Ok(loader(ctx)?.load_one($group_key(self.0.$group_field.clone())).await?.map($group_node))
            }
        }
    };
}

membership_node!(
    FederationMembershipNode,
    FederationMembership,
    "FederationMembership",
    federation_code,
    federation,
    FederationNode,
    FederationKey,
    "A practice's membership of a federation for a period.",
    "Code of the federation, e.g. `NSGPF`.",
    "The federation."
);
membership_node!(
    PcnMembershipNode,
    PcnMembership,
    "PcnMembership",
    pcn_code,
    pcn,
    PcnNode,
    PcnKey,
    "A practice's membership of a Primary Care Network for a period.",
    "ODS code of the PCN, e.g. `U99901`.",
    "The Primary Care Network."
);
membership_node!(
    IctMembershipNode,
    IctMembership,
    "IctMembership",
    ict_code,
    integrated_care_team,
    IctNode,
    IctKey,
    "A practice's membership of an ICT for a period.",
    "Code of the Integrated Care Team, e.g. `ICT-MEIR`.",
    "The Integrated Care Team."
);

pub struct PartnerServiceNode(pub PartnerService);

/// A service that is part of an ICT.
#[Object(name = "PartnerService")]
impl PartnerServiceNode {
    /// Global id, for `node(id:)`.
    async fn id(&self) -> ID {
        global_id("PartnerService", &self.0.id)
    }
    /// The UUID REST uses as the record's `id`.
    async fn database_id(&self) -> &str {
        &self.0.id
    }
    /// Code of the Integrated Care Team the service is part of.
    async fn ict_code(&self) -> &str {
        &self.0.ict_code
    }
    /// The service's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What kind of service it is.
    async fn kind(&self) -> PartnerServiceKind {
        self.0.kind
    }
    /// ODS code of the providing organisation, e.g. `RRE`.
    async fn organisation_code(&self) -> Option<&str> {
        self.0.organisation_code.as_deref()
    }
    /// The day the service joined the team.
    async fn start_date(&self) -> Date {
        Date(self.0.start_date)
    }
    /// The day the service left the team, if it has.
    async fn end_date(&self) -> Option<Date> {
        self.0.end_date.map(Date)
    }
    /// Increases by one with every change (REST's ETag); send it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the record was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// When the record last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
    /// The Integrated Care Team the service is part of.
    async fn integrated_care_team(&self, ctx: &Context<'_>) -> Result<Option<IctNode>> {
        Ok(loader(ctx)?.load_one(IctKey(self.0.ict_code.clone())).await?.map(IctNode))
    }
}
