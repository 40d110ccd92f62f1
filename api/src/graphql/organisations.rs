//! Organisations of every kind as one interface, and their affiliations over time.

use async_graphql::{Context, Interface, Object, Result, ID};
use pcr_schema::date::Date;
use pcr_schema::domain::lookups::KindRecord;
use pcr_schema::kinds::{AffiliationKind, OrgKind};
use pcr_schema::models::organisation::{Affiliation, Organisation};

use super::global_id;
use super::loaders::{AffiliationsOf, OrganisationKey, RequestLoader};
use super::scalars::Timestamp;
use super::types::{FederationNode, IctNode, Node, PcnNode, PracticeNode};

/// An organisation of any kind: a practice, PCN, federation, ICT, commissioner or external
/// provider.
// The interface's fields share a type, which clippy takes for a repeated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface)]
#[graphql(
    name = "Organisation",
    field(name = "id", ty = "ID", desc = "Global id, for `node(id:)`"),
    field(
        name = "code",
        ty = "String",
        desc = "The ODS code where it has one (practices, PCNs, commissioners, most providers), else our own code"
    ),
    field(name = "kind", ty = "OrgKind", desc = "What kind of organisation it is"),
    field(name = "name", ty = "String", desc = "The organisation's name"),
    field(
        name = "affiliations",
        ty = "Vec<AffiliationNode>",
        desc = "Its relationships with other organisations over time, both ways: what it belongs to, then its members",
        arg(name = "active_on", ty = "Option<Date>", desc = "Only those holding on this date")
    )
)]
pub enum OrganisationNode {
    Practice(PracticeNode),
    Pcn(PcnNode),
    Federation(FederationNode),
    IntegratedCareTeam(IctNode),
    Commissioner(CommissionerNode),
    ExternalProvider(ExternalProviderNode),
}

impl From<KindRecord> for OrganisationNode {
    fn from(r: KindRecord) -> Self {
        match r {
            KindRecord::Practice(p) => OrganisationNode::Practice(PracticeNode(p)),
            KindRecord::Pcn(p) => OrganisationNode::Pcn(PcnNode(p)),
            KindRecord::Federation(f) => OrganisationNode::Federation(FederationNode(f)),
            KindRecord::Ict(i) => OrganisationNode::IntegratedCareTeam(IctNode(i)),
            KindRecord::Other(o) if o.kind == OrgKind::Commissioner => {
                OrganisationNode::Commissioner(CommissionerNode(o))
            }
            KindRecord::Other(o) => OrganisationNode::ExternalProvider(ExternalProviderNode(o)),
        }
    }
}

impl OrganisationNode {
    /// Whether `name` is the GraphQL type of a kind of organisation (what a global id names).
    pub fn is_type_name(name: &str) -> bool {
        use async_graphql::OutputType;
        [
            PracticeNode::type_name(),
            PcnNode::type_name(),
            FederationNode::type_name(),
            IctNode::type_name(),
            CommissionerNode::type_name(),
            ExternalProviderNode::type_name(),
        ]
        .iter()
        .any(|t| t == name)
    }

    /// The GraphQL type the organisation is, as global ids name it.
    pub fn type_name(&self) -> std::borrow::Cow<'static, str> {
        use async_graphql::OutputType;
        match self {
            OrganisationNode::Practice(_) => PracticeNode::type_name(),
            OrganisationNode::Pcn(_) => PcnNode::type_name(),
            OrganisationNode::Federation(_) => FederationNode::type_name(),
            OrganisationNode::IntegratedCareTeam(_) => IctNode::type_name(),
            OrganisationNode::Commissioner(_) => CommissionerNode::type_name(),
            OrganisationNode::ExternalProvider(_) => ExternalProviderNode::type_name(),
        }
    }
}

impl From<OrganisationNode> for Node {
    fn from(o: OrganisationNode) -> Self {
        match o {
            OrganisationNode::Practice(p) => Node::Practice(p),
            OrganisationNode::Pcn(p) => Node::Pcn(p),
            OrganisationNode::Federation(f) => Node::Federation(f),
            OrganisationNode::IntegratedCareTeam(i) => Node::IntegratedCareTeam(i),
            OrganisationNode::Commissioner(c) => Node::Commissioner(c),
            OrganisationNode::ExternalProvider(e) => Node::ExternalProvider(e),
        }
    }
}

/// The organisation with this id or code, as its kind's type; `None` when there is none.
pub async fn find_organisation(ctx: &Context<'_>, key: String) -> Result<Option<OrganisationNode>> {
    let db = super::db(ctx)?;
    let found = super::errors::domain(move || match pcr_schema::domain::organisations::get(&db, &key) {
        Ok(o) => Ok(Some(o.code)),
        Err(pcr_schema::DomainError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    })?;
    match found {
        Some(code) => organisation(ctx, &code).await,
        None => Ok(None),
    }
}

fn loader<'a>(ctx: &'a Context<'_>) -> Result<&'a RequestLoader> {
    ctx.data::<RequestLoader>()
}

/// An organisation's affiliations, batched with its siblings'.
pub async fn affiliations_of(ctx: &Context<'_>, code: &str, active_on: Option<Date>) -> Result<Vec<AffiliationNode>> {
    let key = AffiliationsOf(code.to_string(), active_on.map(|d| d.0));
    let list = loader(ctx)?.load_one(key).await?.unwrap_or_default();
    Ok(list.into_iter().map(AffiliationNode).collect())
}

/// The organisation with `code`, as its kind's type.
pub async fn organisation(ctx: &Context<'_>, code: &str) -> Result<Option<OrganisationNode>> {
    Ok(loader(ctx)?.load_one(OrganisationKey(code.to_string())).await?.map(OrganisationNode::from))
}

/// The parts an organisation's own type shows when its kind has no record of its own.
macro_rules! plain_organisation {
    ($node:ident, $name:literal, $doc:literal) => {
        pub struct $node(pub Organisation);

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
            /// The ODS code, or for a provider without one the code we gave it (`EXT-…`).
            pub async fn code(&self) -> &str {
                &self.0.code
            }
            /// What kind of organisation it is.
            pub async fn kind(&self) -> OrgKind {
                self.0.kind
            }
            /// The organisation's name.
            pub async fn name(&self) -> &str {
                &self.0.name
            }
            /// `active` or `closed`.
            async fn status(&self) -> &str {
                &self.0.status
            }
            /// Whether it is working today.
            async fn active(&self) -> bool {
                self.0.active
            }
            /// Where the record came from: `ods`, `api` or `demo`.
            async fn source(&self) -> &str {
                &self.0.source
            }
            /// Increases by one with every change.
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
            /// Its relationships with other organisations over time, both ways.
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

plain_organisation!(
    CommissionerNode,
    "Commissioner",
    "A commissioner of practices: a CCG or sub-ICB location, by its ODS code."
);
plain_organisation!(
    ExternalProviderNode,
    "ExternalProvider",
    "An organisation outside primary care (an NHS trust, a council, a voluntary service) that hosts placements or provides an ICT's partner services."
);

pub struct AffiliationNode(pub Affiliation);

/// A relationship between two organisations over a period: a practice's membership of a
/// PCN, federation or ICT, its commissioner, or a provider's partner service of an ICT.
#[Object(name = "Affiliation")]
impl AffiliationNode {
    /// The UUID of the affiliation (a membership's or partner service's REST `id`).
    async fn database_id(&self) -> &str {
        &self.0.id
    }
    /// How the member is related to the parent.
    async fn kind(&self) -> AffiliationKind {
        self.0.kind
    }
    /// The member's code.
    async fn member_code(&self) -> &str {
        &self.0.member.code
    }
    /// The parent's code.
    async fn parent_code(&self) -> &str {
        &self.0.parent.code
    }
    /// The member: a practice, or an external provider for a partner service.
    async fn member(&self, ctx: &Context<'_>) -> Result<Option<OrganisationNode>> {
        organisation(ctx, &self.0.member.code).await
    }
    /// The organisation it belongs to: a PCN, federation, ICT or commissioner.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<OrganisationNode>> {
        organisation(ctx, &self.0.parent.code).await
    }
    /// First day.
    async fn start_date(&self) -> Date {
        Date(self.0.start_date)
    }
    /// Last day, if it has ended or will end.
    async fn end_date(&self) -> Option<Date> {
        self.0.end_date.map(Date)
    }
    /// Whether it holds today.
    async fn current(&self) -> bool {
        self.0.current
    }
    /// Increases by one with every change.
    async fn version(&self) -> i32 {
        self.0.version
    }
}
