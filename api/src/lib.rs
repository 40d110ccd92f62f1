//! The primary care roles API service: REST handlers, auth, OpenAPI and the app builder
//! that the binary and the tests share.

pub mod auth;
pub mod batch;
pub mod config;
pub mod error;
pub mod graphql;
pub mod health;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod openapi;
pub mod rate_limits;
pub mod refusals;
pub mod request_log;
pub mod rest;
pub mod timeouts;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{from_fn, Compress, Condition, ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, HttpRequest, HttpResponse};
use pcr_schema::Db;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::auth::AuthConfig;
use crate::error::{problem_response, ApiError, Problem};
use crate::http::resource::Resource;

/// Everything a running app needs; cheap to clone (one per worker).
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub auth: AuthConfig,
    pub graphql: graphql::Graphql,
    pub cors: http::cors::CorsConfig,
    pub idempotency: rest::idempotency::IdempotencyConfig,
    pub batch: rest::batch::BatchConfig,
    /// Off unless the server configures them (see `rate_limits`).
    pub rate_limits: rate_limits::RateLimits,
    pub timeouts: timeouts::Timeouts,
    pub metrics: metrics::Metrics,
    /// Who may read `/metrics` (anyone, unless a token is configured).
    pub metrics_access: metrics::endpoint::MetricsAccess,
    /// Whether the app serves `/metrics` itself; not when it has a listener of its own.
    pub serves_metrics: bool,
}

impl AppState {
    pub fn new(db: Db, auth: AuthConfig, graphql_limits: graphql::GraphqlLimits) -> AppState {
        let graphql = graphql::Graphql::new(&db, graphql_limits);
        let metrics = metrics::Metrics::new(&db);
        AppState {
            db,
            metrics,
            metrics_access: Default::default(),
            serves_metrics: true,
            auth,
            graphql,
            cors: Default::default(),
            idempotency: Default::default(),
            batch: Default::default(),
            rate_limits: rate_limits::RateLimits::off(),
            timeouts: Default::default(),
        }
    }

    pub fn with_cors(mut self, cors: http::cors::CorsConfig) -> AppState {
        self.cors = cors;
        self
    }
}

/// Builds the whole application: REST, GraphQL, docs, probes, and around them (outermost
/// first) request logging, compression, the HTTP conventions, error shaping and CORS.
pub fn app(
    state: &AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state.db.clone()))
        .app_data(web::Data::new(state.auth.clone()))
        .app_data(web::Data::new(state.graphql.clone()))
        .app_data(web::Data::new(state.idempotency))
        .app_data(web::Data::new(state.batch))
        .app_data(web::Data::new(state.rate_limits.clone()))
        .app_data(web::Data::new(state.timeouts))
        .app_data(web::Data::new(state.metrics.clone()))
        .app_data(web::Data::new(state.metrics_access.clone()))
        .app_data(web::PayloadConfig::new(rest::body::MAX_BODY_BYTES))
        .app_data(
            web::PathConfig::default()
                .error_handler(|err, _| ApiError::BadRequest(format!("invalid path: {err}")).into()),
        )
        .wrap(from_fn(refusals::middleware))
        .wrap(from_fn(rate_limits::middleware))
        .wrap(Condition::new(state.cors.enabled(), state.cors.middleware()))
        .wrap(from_fn(timeouts::body))
        .wrap(ErrorHandlers::new().default_handler(problemise))
        .wrap(from_fn(http::conventions))
        .wrap(Compress::default())
        .wrap(from_fn(request_log::middleware))
        .configure(rest::configure)
        .configure(graphql::routes)
        .configure(|cfg| {
            if state.serves_metrics {
                cfg.service(Resource::new("/metrics").get(metrics::endpoint::metrics).done());
            }
        })
        .service(Resource::new("/healthz").get(health::healthz).done())
        .service(Resource::new("/readyz").get(health::readyz).done())
        .service(Resource::new("/api-docs/openapi.json").get(openapi_json).done())
        .service(
            SwaggerUi::new("/docs/{_:.*}")
                .config(SwaggerConfig::new(["/api-docs/openapi.json"]).validator_url("none").try_it_out_enabled(true)),
        )
        // Swagger UI answers GET only; any other method on its paths comes here for its 405.
        .service(Resource::new("/docs/{_:.*}").served_elsewhere("GET").done())
        .service(
            Resource::new("/docs")
                .get(|| async {
                    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/docs/")).finish()
                })
                .done(),
        )
        .default_service(web::to(not_found))
}

/// `/metrics` alone, for a listener of its own (`METRICS_BIND_ADDR`).
pub fn metrics_app(
    state: &AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state.metrics.clone()))
        .app_data(web::Data::new(state.metrics_access.clone()))
        .service(Resource::new("/metrics").get(metrics::endpoint::metrics).done())
        .default_service(web::to(not_found))
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(openapi::served())
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    problem_response(&ApiError::NotFound(format!("there is nothing at {}", req.path())).problem())
}

/// Turns any error response that is not already JSON (actix's own 404/405/413 and extractor
/// failures) into a problem document, so clients see one error format. GraphQL's refusals
/// are JSON (or `application/graphql-response+json`) in GraphQL's own error shape and stay
/// as they are.
fn problemise<B: MessageBody + 'static>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
    if is_problem || res.status().as_u16() < 400 {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = match status.as_u16() {
        404 => "there is no such resource".to_string(),
        405 => format!("{} is not allowed here", res.request().method()),
        413 => format!("the request body is larger than {} bytes", rest::body::MAX_BODY_BYTES),
        _ => res.response().error().map(|e| e.to_string()).unwrap_or_else(|| status.to_string()),
    };
    let kind = match status.as_u16() {
        404 => "not-found",
        405 => "method-not-allowed",
        406 => "not-acceptable",
        413 => "too-large",
        415 => "unsupported-media-type",
        s if s >= 500 => "internal",
        _ => "bad-request",
    };
    let problem = Problem {
        type_: format!("/problems/{kind}"),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        detail,
        errors: Vec::new(),
        current_version: None,
    };
    let (req, _) = res.into_parts();
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(req, problem_response(&problem)).map_into_right_body()))
}
