//! GraphQL at `/graphql`: POST runs queries and mutations, GET runs queries (GraphQL over
//! HTTP) or, for a browser, serves the offline playground. Resolvers call the same domain
//! functions as REST.

pub mod audit;
pub mod connection;
pub mod documents;
pub mod errors;
pub mod executor;
pub mod inputs;
pub mod loaders;
pub mod mutation;
pub mod organisations;
pub mod outcome;
pub mod playground;
pub mod query;
pub mod scalars;
pub mod transport;
pub mod types;

use std::sync::Arc;

use actix_web::web;
use async_graphql::{Context, EmptySubscription, Schema, SchemaBuilder, ValidationMode, ID};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use pcr_schema::{Actor, Db};

use self::documents::DocumentCache;
use self::mutation::Mutation;
use self::query::Query;

pub type ApiSchema = Schema<Query, Mutation, EmptySubscription>;

/// Protection against expensive queries.
#[derive(Debug, Clone)]
pub struct GraphqlLimits {
    /// Deepest data query accepted (introspection has its own bound).
    pub max_depth: usize,
    /// Deepest introspection query accepted; listing fields (`types`, `fields`, `args`, …)
    /// may nest at most [`MAX_INTROSPECTION_LISTS`] deep whatever this is.
    pub max_introspection_depth: usize,
    pub max_complexity: usize,
    /// Largest query document accepted, in bytes.
    pub max_query_bytes: usize,
    /// Most fields an operation may select at its root (aliases included): each reaches
    /// the database on its own.
    pub max_root_fields: usize,
    /// Most `COUNT` statements an operation's `totalCount` fields may run (see
    /// [`documents::Shape::counts`]).
    pub max_counts: usize,
    /// Most GraphQL requests running at once, each holding one pooled connection: a share
    /// of the pool, so REST and readiness keep theirs while GraphQL is saturated (default:
    /// see [`GraphqlLimits::concurrency`]).
    pub max_concurrent: Option<usize>,
    pub introspection: bool,
}

impl Default for GraphqlLimits {
    fn default() -> Self {
        GraphqlLimits {
            max_depth: 12,
            max_introspection_depth: 20,
            max_complexity: 50_000,
            max_query_bytes: 32 * 1024,
            max_root_fields: 20,
            max_counts: 50,
            max_concurrent: None,
            introspection: true,
        }
    }
}

/// Everything GraphQL requests share; cheap to clone.
#[derive(Clone)]
pub struct Graphql {
    /// The schema, validating every rule.
    schema: ApiSchema,
    /// The same schema checking only the limits (depth, complexity), for a document already
    /// found valid with the same operation and variables.
    checked: ApiSchema,
    limits: GraphqlLimits,
    /// How many requests run at once: each holds one pooled connection from its first
    /// statement to its last, so no more than the pool has. The rest wait their turn
    /// without tying up a thread.
    gate: Arc<tokio::sync::Semaphore>,
    documents: Arc<DocumentCache>,
}

impl Graphql {
    pub fn new(db: &Db, limits: GraphqlLimits) -> Graphql {
        Graphql {
            schema: build_schema(&limits, ValidationMode::Strict),
            checked: build_schema(&limits, ValidationMode::Fast),
            gate: Arc::new(tokio::sync::Semaphore::new(limits.concurrency(db.max_connections() as usize))),
            documents: Arc::new(DocumentCache::default()),
            limits,
        }
    }

    pub fn limits(&self) -> &GraphqlLimits {
        &self.limits
    }
}

/// How deep introspection's listing fields may nest: as deep as the standard introspection
/// query needs (`__schema { types { fields { args … } } } }`), so a hand-made query cannot
/// list the fields of the types of the fields of every type.
pub const MAX_INTROSPECTION_LISTS: usize = 3;

impl GraphqlLimits {
    /// How many requests may run at once with a pool of `pool` connections: as configured
    /// (never more than the pool), else all but a quarter of it (at least two), which REST
    /// and readiness keep however busy GraphQL is.
    pub fn concurrency(&self, pool: usize) -> usize {
        let kept = (pool / 4).max(2);
        self.max_concurrent.unwrap_or(pool.saturating_sub(kept)).clamp(1, pool.max(1))
    }

    /// Why a document of this shape is refused, if it is.
    fn refuses(&self, shape: documents::Shape) -> Option<String> {
        if shape.root_fields > self.max_root_fields {
            return Some(format!(
                "Query selects {} root fields (aliases included); the limit is {}: send fewer at a time.",
                shape.root_fields, self.max_root_fields
            ));
        }
        if shape.counts > self.max_counts {
            return Some(format!(
                "Query asks for {} totals (each `totalCount`, aliases included, is a statement of its own); the limit is {}: ask for fewer.",
                shape.counts, self.max_counts
            ));
        }
        if shape.data_depth > self.max_depth {
            return Some("Query is nested too deep.".into());
        }
        if shape.introspection_depth > self.max_introspection_depth
            || shape.introspection_lists > MAX_INTROSPECTION_LISTS
        {
            return Some("Introspection query is nested too deep.".into());
        }
        None
    }
}

/// Request bodies larger than this are not even read.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

fn build_schema(limits: &GraphqlLimits, mode: ValidationMode) -> ApiSchema {
    let mut builder = Schema::build(Query, Mutation, EmptySubscription)
        .validation_mode(mode)
        // Depth is checked per document before execution (see `GraphqlLimits::refuses`):
        // async-graphql's own limit counts introspection with data and refuses the standard
        // introspection query.
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(64)
        .limit_directives(16);
    builder = describe_generated_types(builder);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// Descriptions for the types async-graphql generates without one: the built-in `ID` and
/// the connection types (their edges' generic description is replaced too).
fn describe_generated_types(
    builder: SchemaBuilder<Query, Mutation, EmptySubscription>,
) -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    use self::connection::{Conn, EdgeCursor};
    use self::organisations::OrganisationNode;
    use self::types::{FederationNode, IctNode, PcnNode, PlacementNode, PracticeNode, ProgrammeNode, RoleNode};
    use async_graphql::connection::{Edge, EmptyFields};
    type EdgeOf<N> = Edge<EdgeCursor, N, EmptyFields>;
    const ID_DESC: &str = "An opaque identifier. Every record's `id` is a global id that `node(id:)` fetches; \
        the lookups that take an `id` also accept the UUID REST uses.";
    /// Describes the connection and edge types of each kind of node.
    macro_rules! pages {
        ($builder:expr, $($node:ty => $plural:literal, $one:literal;)+) => {
            $builder
            $(
                .override_output_type_description::<Conn<$node>>(concat!(
                    "A page of ", $plural, ": `nodes` or `edges` (with cursors), `pageInfo` and `totalCount`."
                ))
                .override_output_type_description::<EdgeOf<$node>>(concat!($one, " in a page, with its cursor."))
            )+
        };
    }
    let builder =
        builder.override_output_type_description::<ID>(ID_DESC).override_input_type_description::<ID>(ID_DESC);
    pages!(builder,
        OrganisationNode => "organisations of every kind", "An organisation";
        PracticeNode => "practices", "A practice";
        PcnNode => "Primary Care Networks", "A Primary Care Network";
        FederationNode => "GP federations", "A federation";
        IctNode => "Integrated Care Teams", "An Integrated Care Team";
        RoleNode => "roles", "A role";
        ProgrammeNode => "programmes", "A programme";
        PlacementNode => "placements", "A placement";
    )
}

/// The SDL as committed in `schema/schema.graphql`, with each custom scalar's
/// `@specifiedBy` URL.
pub fn sdl() -> String {
    build_schema(&GraphqlLimits::default(), ValidationMode::Strict)
        .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

/// The caller of the current request.
pub struct Caller(pub Option<Actor>);

pub(crate) fn db(ctx: &Context<'_>) -> async_graphql::Result<Db> {
    Ok(ctx.data::<Db>()?.clone())
}

pub(crate) fn actor(ctx: &Context<'_>) -> Option<Actor> {
    ctx.data_opt::<Caller>().and_then(|c| c.0.clone())
}

/// Relay global ids: `base64url("Type:key")`.
pub fn global_id(kind: &str, key: &str) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{kind}:{key}")))
}

pub fn decode_global_id(id: &ID) -> Option<(String, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(id.as_str()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (kind, key) = text.split_once(':')?;
    (!kind.is_empty() && kind.chars().all(|c| c.is_ascii_alphabetic()) && !key.is_empty())
        .then(|| (kind.to_string(), key.to_string()))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        crate::http::resource::Resource::new("/graphql")
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .post(transport::post)
            .get(transport::get)
            .done(),
    )
    .configure(playground::routes);
}
