//! GraphQL over HTTP: POST with a JSON body runs queries and mutations; GET with `query`
//! (and `variables`, `operationName`, `extensions` as JSON) runs queries only, never
//! mutations (405). A browser's GET without a query gets the playground. The response is
//! `application/graphql-response+json` when asked for, and then a request that cannot run
//! (parse, validation, limits) is 4xx, as the GraphQL-over-HTTP specification says; as plain
//! `application/json` it is 200 with `errors`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::parser::types::OperationType;
use pcr_schema::Db;
use serde::Deserialize;

use super::loaders::request_loader;
use super::outcome::{self, push_code, Operation};
use super::{executor, playground, Caller, Graphql};
use crate::http::negotiate::preferred;
use crate::rest::idempotency::IdempotencyConfig;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// A request-level failure, shaped as a GraphQL response, in the media type asked for.
pub(crate) fn refuse(req: &HttpRequest, status: StatusCode, code: &str, message: &str) -> HttpResponse {
    refuse_as(req, Operation::Unknown, status, code, message)
}

/// As [`refuse`], for a request whose operation is known.
fn refuse_as(req: &HttpRequest, operation: Operation, status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let mut codes = Vec::with_capacity(1);
    push_code(&mut codes, code);
    outcome::record(req, operation, codes);
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut res = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"primary-care-api\"")));
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
    }
    let media = if wants_graphql_response(req) { GRAPHQL_RESPONSE } else { "application/json" };
    res.content_type(media).body(body.to_string())
}

/// Whether the client prefers the GraphQL response media type to plain JSON.
fn wants_graphql_response(req: &HttpRequest) -> bool {
    preferred(req, &["application/json", GRAPHQL_RESPONSE]) == Some(GRAPHQL_RESPONSE)
}

/// Whether a browser is asking for a page: it prefers `text/html` to JSON (a tie is JSON).
fn wants_page(req: &HttpRequest) -> bool {
    req.headers().contains_key(header::ACCEPT)
        && preferred(req, &["application/json", "text/html"]) == Some("text/html")
}

/// POST /graphql.
pub async fn post(req: HttpRequest, graphql: web::Data<Graphql>, db: web::Data<Db>, body: web::Bytes) -> HttpResponse {
    let caller = match crate::auth::caller_of(&req) {
        Ok(c) => c,
        Err(e) => return refuse(&req, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", &e.to_string()),
    };
    let media = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !media.trim_start().to_ascii_lowercase().starts_with("application/json") {
        return refuse(&req, StatusCode::UNSUPPORTED_MEDIA_TYPE, "BAD_REQUEST", "send the query as application/json");
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return refuse(
                &req,
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                &format!("the body is not a GraphQL request: {e}"),
            )
        }
    };
    run(&req, graphql, db, caller, request, false).await
}

/// The query string of a GET request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GetRequest {
    query: Option<String>,
    variables: Option<String>,
    operation_name: Option<String>,
    extensions: Option<String>,
}

/// GET /graphql: a query in the URL, or the playground for a browser.
pub async fn get(req: HttpRequest, graphql: web::Data<Graphql>, db: web::Data<Db>) -> HttpResponse {
    let params: GetRequest = match serde_urlencoded::from_str(req.query_string()) {
        Ok(p) => p,
        Err(e) => {
            let message = format!("the query string takes query, variables, operationName and extensions: {e}");
            return refuse(&req, StatusCode::BAD_REQUEST, "BAD_REQUEST", &message);
        }
    };
    let Some(query) = params.query else {
        if wants_page(&req) || req.query_string().is_empty() && !wants_graphql_response(&req) {
            return playground::page().await;
        }
        return refuse(&req, StatusCode::BAD_REQUEST, "BAD_REQUEST", "send the query in the `query` parameter");
    };
    let caller = match crate::auth::caller_of(&req) {
        Ok(c) => c,
        Err(e) => return refuse(&req, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", &e.to_string()),
    };
    // A parameter that should hold JSON and does not: its name and serde's words.
    let json = |name: &'static str, text: Option<String>| -> Result<Option<serde_json::Value>, String> {
        match text.filter(|t| !t.trim().is_empty()) {
            None => Ok(None),
            Some(t) => serde_json::from_str(&t).map(Some).map_err(|e| format!("`{name}` is not a JSON object: {e}")),
        }
    };
    let (variables, extensions) = match (json("variables", params.variables), json("extensions", params.extensions)) {
        (Ok(v), Ok(e)) => (v, e),
        (Err(message), _) | (_, Err(message)) => return refuse(&req, StatusCode::BAD_REQUEST, "BAD_REQUEST", &message),
    };
    let mut request = async_graphql::Request::new(query);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(v) = variables {
        request = request.variables(async_graphql::Variables::from_json(v));
    }
    if let Some(serde_json::Value::Object(map)) = extensions {
        for (k, v) in map {
            if let Ok(v) = async_graphql::Value::from_json(v) {
                request.extensions.insert(k, v);
            }
        }
    }
    run(&req, graphql, db, caller, request, true).await
}

/// What running a request came to.
enum Ran {
    /// The response, whether it is a request error (nothing ran: parse, validation, limits),
    /// the operation and its errors' codes.
    Done(Vec<u8>, bool, Operation, Vec<&'static str>),
    /// GET asked for a mutation.
    Mutation(Operation),
}

/// How long a request waits for a GraphQL slot before it is told to come back (503). Long
/// enough for a steady queue: with 2 s, 3 of 33,000 requests at 64 connections against 6
/// slots were refused in a benchmark round (bench/graphql-vs-postgraphile.sh); REST keeps
/// its own connections meanwhile, so the wait costs it nothing.
const QUEUE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn run(
    req: &HttpRequest,
    graphql: web::Data<Graphql>,
    db: web::Data<Db>,
    caller: crate::auth::Caller,
    mut request: async_graphql::Request,
    get: bool,
) -> HttpResponse {
    let max = graphql.limits.max_query_bytes;
    if request.query.len() > max {
        return refuse(
            req,
            StatusCode::PAYLOAD_TOO_LARGE,
            "QUERY_TOO_LARGE",
            &format!("the query is {} bytes; the limit is {max}", request.query.len()),
        );
    }
    // A request waits its turn for a while, not for ever: a queue that only grows helps
    // nobody, and the client is better told to come back.
    let permit = match actix_web::rt::time::timeout(QUEUE_TIMEOUT, graphql.gate.clone().acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        Ok(Err(_)) => {
            return refuse(req, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", "the service is shutting down")
        }
        Err(_) => {
            return refuse(
                req,
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "every GraphQL slot has been busy for 10 s; retry after a second",
            )
        }
    };
    let (graphql, db) = (graphql.get_ref().clone(), db.get_ref().clone());
    let keys = req.app_data::<web::Data<IdempotencyConfig>>().map(|c| *c.get_ref()).unwrap_or_default();
    let ran = web::block(move || {
        let _permit = permit;
        let prepared = graphql.documents.prepare(&mut request);
        let operation = prepared.operation(request.operation_name.as_deref());
        if get && prepared.operation_type(request.operation_name.as_deref()) == Some(OperationType::Mutation) {
            return Ok(Ran::Mutation(operation));
        }
        let refusal = if !graphql.limits.introspection && prepared.introspects() {
            // Refused whole, before anything runs, as a validation failure (not a null
            // `__schema` beside the other fields' data).
            Some("introspection is disabled on this server: the query asks for __schema or __type".to_string())
        } else {
            graphql.limits.refuses(prepared.shape())
        };
        let mut response = if let Some(why) = refusal {
            async_graphql::Response::from_errors(vec![async_graphql::ServerError::new(why, None)])
        } else {
            let db = db.pinned()?;
            let loader = request_loader(db.clone(), caller.0.clone());
            let request = request.data(db).data(loader).data(Caller(caller.0)).data(keys);
            let schema = if prepared.validated() { &graphql.checked } else { &graphql.schema };
            executor::block_on(schema.execute(request))
        };
        prepared.done(&response);
        // Parse, validation and limit errors come without a code; give them one, so clients
        // can tell them from resolver errors the way they tell REST statuses apart.
        let request_error = response.data == async_graphql::Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(|e| e.path.is_empty());
        let mut codes = Vec::new();
        for e in &mut response.errors {
            let ext = e.extensions.get_or_insert_with(Default::default);
            match ext.get("code") {
                Some(async_graphql::Value::String(code)) => push_code(&mut codes, code),
                Some(_) => push_code(&mut codes, "OTHER"),
                None => {
                    ext.set("code", "GRAPHQL_VALIDATION_FAILED");
                    push_code(&mut codes, "GRAPHQL_VALIDATION_FAILED");
                }
            }
        }
        serde_json::to_vec(&response)
            .map(|json| Ran::Done(json, request_error, operation, codes))
            .map_err(|e| pcr_schema::DomainError::Unavailable(e.to_string()))
    })
    .await;
    let graphql_response = wants_graphql_response(req);
    match ran {
        Ok(Ok(Ran::Done(json, request_error, operation, codes))) => {
            outcome::record(req, operation, codes);
            let status = if graphql_response && request_error { StatusCode::BAD_REQUEST } else { StatusCode::OK };
            let media = if graphql_response { GRAPHQL_RESPONSE } else { "application/json" };
            HttpResponse::build(status).content_type(media).body(json)
        }
        Ok(Ok(Ran::Mutation(operation))) => {
            let mut res = refuse_as(
                req,
                operation,
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "mutations run only by POST; GET runs queries",
            );
            res.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
            res
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "graphql request failed");
            refuse(req, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", &e.to_string())
        }
        Err(e) => {
            tracing::error!(error = %e, "graphql request panicked");
            refuse(req, StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR", "an unexpected error occurred")
        }
    }
}
