//! The query root: every REST read has its equivalent here, over the same domain functions.

use async_graphql::{Context, Object, Result, ID};
use pcr_schema::domain::catalogue;
use pcr_schema::domain::crud::{self, Entity};
use pcr_schema::domain::groups;
use pcr_schema::domain::lookups;
use pcr_schema::domain::organisations;
use pcr_schema::domain::placements as placement_queries;
use pcr_schema::domain::practices as practice_queries;
use pcr_schema::models::federation::{FederationRow, PcnRow};
use pcr_schema::models::ict::IctRow;
use pcr_schema::models::membership::{FederationMembershipRow, IctMembershipRow, PartnerServiceRow, PcnMembershipRow};
use pcr_schema::models::placement::PlacementRow;
use pcr_schema::models::practice::PracticeRow;
use pcr_schema::models::programme::ProgrammeRow;
use pcr_schema::models::role::RoleRow;
use pcr_schema::DomainError;

use super::connection::{connection, Conn, PageArgs, Total};
use super::errors::{bad_input, domain};
use super::inputs::{
    CatalogueOrder, GroupFilter, GroupOrder, OrganisationFilter, PlacementFilter, PlacementOrder, PracticeFilter,
    PracticeOrder, ProgrammeFilter, RoleFilter,
};
use super::organisations::OrganisationNode;
use super::types::{
    FederationMembershipNode, FederationNode, IctMembershipNode, IctNode, Node, PartnerServiceNode, PcnMembershipNode,
    PcnNode, PlacementNode, PracticeNode, ProgrammeNode, RoleNode,
};
use super::{actor, db, decode_global_id};

pub struct Query;

/// Reads one record by key; `None` when there is none (GraphQL's way of saying 404).
async fn one<E: Entity + Send + 'static>(ctx: &Context<'_>, key: String) -> Result<Option<E>> {
    let (db, actor) = (db(ctx)?, actor(ctx));
    domain(|| match crud::get::<E>(&db, actor.as_ref(), &key) {
        Ok(r) => Ok(Some(r)),
        Err(DomainError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    })
}

/// Exactly one of two ways to name a record.
fn either(a: Option<String>, b: Option<ID>, a_name: &str) -> Result<String> {
    match (a, b) {
        (Some(a), None) => Ok(a),
        (None, Some(id)) => Ok(decode_global_id(&id).map(|(_, k)| k).unwrap_or_else(|| id.to_string())),
        _ => Err(bad_input(a_name, &format!("give either `{a_name}` or `id`"))),
    }
}

/// Reads: every REST read has its field here, over the same records, filters and scopes.
#[Object]
impl Query {
    /// Any record by its global id.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id, as any record's `id` field gives it")] id: ID,
    ) -> Result<Option<Node>> {
        let Some((kind, key)) = decode_global_id(&id) else {
            return Err(bad_input("id", "is not a global id this API issued"));
        };
        // Organisations of every kind resolve one way: the organisation with this id, when it
        // is of the type the id names.
        if OrganisationNode::is_type_name(&kind) {
            let org = super::organisations::find_organisation(ctx, key).await?;
            return Ok(org.filter(|o| o.type_name() == kind).map(Node::from));
        }
        Ok(match kind.as_str() {
            "Role" => one::<RoleRow>(ctx, key).await?.map(|r| Node::Role(RoleNode(r.view()))),
            "Programme" => one::<ProgrammeRow>(ctx, key).await?.map(|r| Node::Programme(ProgrammeNode(r.view()))),
            "Placement" => one::<PlacementRow>(ctx, key).await?.map(|r| Node::Placement(PlacementNode(r.view()))),
            "PcnMembership" => {
                one::<PcnMembershipRow>(ctx, key).await?.map(|r| Node::PcnMembership(PcnMembershipNode(r.view())))
            }
            "FederationMembership" => one::<FederationMembershipRow>(ctx, key)
                .await?
                .map(|r| Node::FederationMembership(FederationMembershipNode(r.view()))),
            "IctMembership" => {
                one::<IctMembershipRow>(ctx, key).await?.map(|r| Node::IctMembership(IctMembershipNode(r.view())))
            }
            "PartnerService" => {
                one::<PartnerServiceRow>(ctx, key).await?.map(|r| Node::PartnerService(PartnerServiceNode(r.view())))
            }
            _ => None,
        })
    }

    /// A practice by ODS code or global id.
    async fn practice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "ODS code, e.g. `M83005`")] ods_code: Option<String>,
        #[graphql(desc = "Global id or database id (instead of `odsCode`)")] id: Option<ID>,
    ) -> Result<Option<PracticeNode>> {
        let key = either(ods_code, id, "odsCode")?;
        Ok(one::<PracticeRow>(ctx, key).await?.map(|r| PracticeNode(r.view())))
    }

    /// Practices, filtered and paged (as `GET /api/v1/practices`).
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
        #[graphql(desc = "Which practices (the same filters as the REST list)")] filter: Option<PracticeFilter>,
        #[graphql(desc = "Sort order (default by ODS code, ascending)")] order_by: Option<PracticeOrder>,
    ) -> Result<Conn<PracticeNode>> {
        let how = PageArgs::new(first, after, last, before).resolve(PracticeOrder::token(order_by))?;
        let q = PracticeFilter::query(filter, &how);
        let (db, query) = (db(ctx)?, q.clone());
        let page = domain(move || practice_queries::list(&db, &query, None))?;
        Ok(connection(page, &how, Total::Practices(q, None), PracticeNode))
    }

    /// An organisation of any kind by code or global id, as its kind's type.
    async fn organisation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Organisation code, e.g. `M83005`, `U99901`, `NSGPF`, `05G`")] code: Option<String>,
        #[graphql(desc = "Global id or database id (instead of `code`)")] id: Option<ID>,
    ) -> Result<Option<OrganisationNode>> {
        let key = either(code, id, "code")?;
        super::organisations::find_organisation(ctx, key).await
    }

    /// Organisations of every kind, filtered and paged (as `GET /api/v1/organisations`),
    /// each as its kind's type.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn organisations(
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
        #[graphql(desc = "Which organisations (the same filters as the REST list)")] filter: Option<OrganisationFilter>,
        #[graphql(desc = "Sort order (default by code, ascending)")] order_by: Option<GroupOrder>,
    ) -> Result<Conn<OrganisationNode>> {
        let how = PageArgs::new(first, after, last, before).resolve(GroupOrder::token(order_by))?;
        let q = OrganisationFilter::query(filter, &how);
        let (db, query) = (db(ctx)?, q.clone());
        // The page, then each kind's records of it: one statement per kind on the page.
        let (page, mut records) = domain(move || {
            let page = organisations::list(&db, &query)?;
            let records = lookups::records_of(&db, page.items.clone())?;
            Ok((page, records))
        })?;
        let page = page.map(|o| records.remove(&o.code).unwrap_or(lookups::KindRecord::Other(o)));
        Ok(connection(page, &how, Total::Organisations(q), OrganisationNode::from))
    }

    /// A Primary Care Network by ODS code or global id.
    async fn pcn(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The PCN's ODS code, e.g. `U99901`")] code: Option<String>,
        #[graphql(desc = "Global id or database id (instead of `code`)")] id: Option<ID>,
    ) -> Result<Option<PcnNode>> {
        let key = either(code, id, "code")?;
        Ok(one::<PcnRow>(ctx, key).await?.map(|r| PcnNode(r.view())))
    }

    /// Primary Care Networks (as `GET /api/v1/pcns`).
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn pcns(
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
        #[graphql(desc = "Which PCNs (the same filters as the REST list)")] filter: Option<GroupFilter>,
        #[graphql(desc = "Sort order (default by code, ascending)")] order_by: Option<GroupOrder>,
    ) -> Result<Conn<PcnNode>> {
        let how = PageArgs::new(first, after, last, before).resolve(GroupOrder::token(order_by))?;
        let q = GroupFilter::query(filter, &how);
        let (db, query) = (db(ctx)?, q.clone());
        let page = domain(move || groups::list_pcns(&db, &query))?;
        Ok(connection(page, &how, Total::Pcns(q), PcnNode))
    }

    /// A federation by code or global id.
    async fn federation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Federation code, e.g. `NSGPF`")] code: Option<String>,
        #[graphql(desc = "Global id or database id (instead of `code`)")] id: Option<ID>,
    ) -> Result<Option<FederationNode>> {
        let key = either(code, id, "code")?;
        Ok(one::<FederationRow>(ctx, key).await?.map(|r| FederationNode(r.view())))
    }

    /// Federations (as `GET /api/v1/federations`).
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn federations(
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
        #[graphql(desc = "Which federations (the same filters as the REST list)")] filter: Option<GroupFilter>,
        #[graphql(desc = "Sort order (default by code, ascending)")] order_by: Option<GroupOrder>,
    ) -> Result<Conn<FederationNode>> {
        let how = PageArgs::new(first, after, last, before).resolve(GroupOrder::token(order_by))?;
        let q = GroupFilter::query(filter, &how);
        let (db, query) = (db(ctx)?, q.clone());
        let page = domain(move || groups::list_federations(&db, &query))?;
        Ok(connection(page, &how, Total::Federations(q), FederationNode))
    }

    /// An Integrated Care Team by code or global id.
    async fn integrated_care_team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "ICT code, e.g. `ICT-MEIR`")] code: Option<String>,
        #[graphql(desc = "Global id or database id (instead of `code`)")] id: Option<ID>,
    ) -> Result<Option<IctNode>> {
        let key = either(code, id, "code")?;
        Ok(one::<IctRow>(ctx, key).await?.map(|r| IctNode(r.view())))
    }

    /// Integrated Care Teams (as `GET /api/v1/icts`).
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn integrated_care_teams(
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
        #[graphql(desc = "Which Integrated Care Teams (the same filters as the REST list)")] filter: Option<
            GroupFilter,
        >,
        #[graphql(desc = "Sort order (default by code, ascending)")] order_by: Option<GroupOrder>,
    ) -> Result<Conn<IctNode>> {
        let how = PageArgs::new(first, after, last, before).resolve(GroupOrder::token(order_by))?;
        let q = GroupFilter::query(filter, &how);
        let (db, query) = (db(ctx)?, q.clone());
        let page = domain(move || groups::list_icts(&db, &query))?;
        Ok(connection(page, &how, Total::Icts(q), IctNode))
    }

    /// A role by code or global id.
    async fn role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Role code, e.g. `physician-associate`")] code: Option<String>,
        #[graphql(desc = "Global id or database id (instead of `code`)")] id: Option<ID>,
    ) -> Result<Option<RoleNode>> {
        let key = either(code, id, "code")?;
        Ok(one::<RoleRow>(ctx, key).await?.map(|r| RoleNode(r.view())))
    }

    /// The role catalogue (as `GET /api/v1/roles`).
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn roles(
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
        #[graphql(desc = "Which roles (the same filters as the REST list)")] filter: Option<RoleFilter>,
        #[graphql(desc = "Sort order (default by code, ascending)")] order_by: Option<CatalogueOrder>,
    ) -> Result<Conn<RoleNode>> {
        let how = PageArgs::new(first, after, last, before).resolve(CatalogueOrder::token(order_by))?;
        let q = RoleFilter::query(filter, &how);
        let (db, query) = (db(ctx)?, q.clone());
        let page = domain(move || catalogue::list_roles(&db, &query))?;
        Ok(connection(page, &how, Total::Roles(q), RoleNode))
    }

    /// A programme by code or global id.
    async fn programme(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Programme code, e.g. `gp-retainer-scheme`")] code: Option<String>,
        #[graphql(desc = "Global id or database id (instead of `code`)")] id: Option<ID>,
    ) -> Result<Option<ProgrammeNode>> {
        let key = either(code, id, "code")?;
        Ok(one::<ProgrammeRow>(ctx, key).await?.map(|r| ProgrammeNode(r.view())))
    }

    /// Programmes (as `GET /api/v1/programmes`).
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn programmes(
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
        #[graphql(desc = "Which programmes (the same filters as the REST list)")] filter: Option<ProgrammeFilter>,
        #[graphql(desc = "Sort order (default by code, ascending)")] order_by: Option<CatalogueOrder>,
    ) -> Result<Conn<ProgrammeNode>> {
        let how = PageArgs::new(first, after, last, before).resolve(CatalogueOrder::token(order_by))?;
        let q = ProgrammeFilter::query(filter, &how);
        let (db, query) = (db(ctx)?, q.clone());
        let page = domain(move || catalogue::list_programmes(&db, &query))?;
        Ok(connection(page, &how, Total::Programmes(q), ProgrammeNode))
    }

    /// A placement by database id or global id. Needs `placements:read`.
    async fn placement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id or database id")] id: ID,
    ) -> Result<Option<PlacementNode>> {
        let key = decode_global_id(&id).map(|(_, k)| k).unwrap_or_else(|| id.to_string());
        Ok(one::<PlacementRow>(ctx, key).await?.map(|r| PlacementNode(r.view())))
    }

    /// Placements (as `GET /api/v1/placements`). Needs `placements:read`.
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
        let how = PageArgs::new(first, after, last, before).resolve(PlacementOrder::token(order_by))?;
        let q = PlacementFilter::query(filter, &how);
        let (db, actor, query) = (db(ctx)?, actor(ctx), q.clone());
        let page = domain(move || placement_queries::list(&db, actor.as_ref(), &query))?;
        Ok(connection(page, &how, Total::Placements(q), PlacementNode))
    }

    /// The audit trail (as `GET /api/v1/audit`): every write and every refused one, oldest
    /// first. `admin` reads all of it; a partner with `placements:read` reads the entries of
    /// the placements within its organisation's reach.
    #[graphql(complexity = "first.unwrap_or(50).max(1) as usize * child_complexity")]
    async fn audit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (1–200, default 50)")] first: Option<i32>,
        #[graphql(desc = "The `nextCursor` of the previous page")] after: Option<String>,
        #[graphql(desc = "Which entries")] filter: Option<super::audit::AuditFilter>,
    ) -> Result<super::audit::AuditPage> {
        super::audit::page(ctx, first, after, filter).await
    }
}
