//! GraphQL at `/graphql`: POST runs queries and mutations, GET serves the offline
//! playground. Resolvers call the same domain functions as REST.

pub mod connection;
pub mod documents;
pub mod errors;
pub mod executor;
pub mod inputs;
pub mod loaders;
pub mod mutation;
pub mod playground;
pub mod query;
pub mod scalars;
pub mod types;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::{Context, EmptySubscription, Schema, ValidationMode, ID};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use pcr_schema::{Actor, Db};

use self::documents::DocumentCache;
use self::loaders::request_loader;
use self::mutation::Mutation;
use self::query::Query;

pub type ApiSchema = Schema<Query, Mutation, EmptySubscription>;

/// Protection against expensive queries.
#[derive(Debug, Clone)]
pub struct GraphqlLimits {
    pub max_depth: usize,
    pub max_complexity: usize,
    /// Largest query document accepted, in bytes.
    pub max_query_bytes: usize,
    pub introspection: bool,
}

impl Default for GraphqlLimits {
    fn default() -> Self {
        GraphqlLimits { max_depth: 12, max_complexity: 50_000, max_query_bytes: 32 * 1024, introspection: true }
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
            gate: Arc::new(tokio::sync::Semaphore::new(db.max_connections().max(1) as usize)),
            documents: Arc::new(DocumentCache::default()),
            limits,
        }
    }
}

/// Request bodies larger than this are not even read.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

fn build_schema(limits: &GraphqlLimits, mode: ValidationMode) -> ApiSchema {
    let mut builder = Schema::build(Query, Mutation, EmptySubscription)
        .validation_mode(mode)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(64)
        .limit_directives(16);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The SDL as committed in `schema/schema.graphql`.
pub fn sdl() -> String {
    build_schema(&GraphqlLimits::default(), ValidationMode::Strict).sdl()
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

/// A request-level failure, shaped as a GraphQL response.
fn refuse(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut res = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"primary-care-api\"")));
    }
    res.content_type("application/json").body(body.to_string())
}

/// POST /graphql.
pub async fn execute(
    req: HttpRequest,
    graphql: web::Data<Graphql>,
    db: web::Data<Db>,
    body: web::Bytes,
) -> HttpResponse {
    let caller = match crate::auth::caller_of(&req) {
        Ok(c) => c,
        Err(e) => return refuse(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", &e.to_string()),
    };
    let media = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !media.trim_start().to_ascii_lowercase().starts_with("application/json") {
        return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, "BAD_REQUEST", "send the query as application/json");
    }
    let mut request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return refuse(StatusCode::BAD_REQUEST, "BAD_REQUEST", &format!("the body is not a GraphQL request: {e}"))
        }
    };
    let max = graphql.limits.max_query_bytes;
    if request.query.len() > max {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "QUERY_TOO_LARGE",
            &format!("the query is {} bytes; the limit is {max}", request.query.len()),
        );
    }
    let Ok(permit) = graphql.gate.clone().acquire_owned().await else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", "the service is shutting down");
    };
    let (graphql, db) = (graphql.get_ref().clone(), db.get_ref().clone());
    let ran = web::block(move || {
        let _permit = permit;
        let prepared = graphql.documents.prepare(&mut request);
        let mut response = if !graphql.limits.introspection && prepared.introspects() {
            // Refused whole, before anything runs, as a validation failure (not a null
            // `__schema` beside the other fields' data).
            async_graphql::Response::from_errors(vec![async_graphql::ServerError::new(
                "introspection is disabled on this server: the query asks for __schema or __type",
                None,
            )])
        } else {
            let db = db.pinned()?;
            let loader = request_loader(db.clone(), caller.0.clone());
            let request = request.data(db).data(loader).data(Caller(caller.0));
            let schema = if prepared.validated() { &graphql.checked } else { &graphql.schema };
            executor::block_on(schema.execute(request))
        };
        prepared.done(&response);
        // Parse, validation and limit errors come without a code; give them one, so clients
        // can tell them from resolver errors the way they tell REST statuses apart.
        for e in &mut response.errors {
            let ext = e.extensions.get_or_insert_with(Default::default);
            if ext.get("code").is_none() {
                ext.set("code", "GRAPHQL_VALIDATION_FAILED");
            }
        }
        serde_json::to_vec(&response).map_err(|e| pcr_schema::DomainError::Unavailable(e.to_string()))
    })
    .await;
    match ran {
        Ok(Ok(json)) => HttpResponse::Ok().content_type("application/json").body(json),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "graphql request failed");
            refuse(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", &e.to_string())
        }
        Err(e) => {
            tracing::error!(error = %e, "graphql request panicked");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR", "an unexpected error occurred")
        }
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        crate::http::resource::Resource::new("/graphql")
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .post(execute)
            .get(playground::page)
            .done(),
    )
    .configure(playground::routes);
}
