//! The outermost middleware: every request is counted and timed for the metrics, and logged
//! in one line with what the layers inside learnt about it — its id, the route template, the
//! verified caller, and for GraphQL the operation and its errors' codes.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};

use crate::graphql::outcome::GraphqlOutcome;
use crate::http::resource::RouteTemplate;
use crate::metrics::Metrics;
use crate::refusals::{RequestId, Signed};

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let _in_flight = metrics.as_ref().map(|m| m.in_flight());
    // Not the request itself: routing needs it unshared.
    let method = req.method().clone();
    let result = next.call(req).await;
    let elapsed = start.elapsed();
    let (req, status) = match &result {
        Ok(res) => (Some(res.request()), res.status().as_u16()),
        // An error that comes this far becomes its response after this middleware, with
        // this status; the request went with it.
        Err(e) => (None, e.as_response_error().status_code().as_u16()),
    };
    let route = metrics.as_ref().map(|m| match req {
        Some(req) => RouteTemplate::of(req, || m.unmatched()),
        None => m.unmatched(),
    });
    if let (Some(metrics), Some(route)) = (&metrics, &route) {
        metrics.request(route.clone(), &method, status, elapsed);
    }
    // The fields are gathered only when the line is written (benchmarks run at `warn`).
    if tracing::enabled!(tracing::Level::INFO) {
        match req {
            Some(req) => log_line(req, route.as_deref(), status, elapsed),
            None => tracing::info!(method = %method, status, duration_us = elapsed.as_micros() as u64, "request"),
        }
    }
    result
}

fn log_line(req: &HttpRequest, route: Option<&str>, status: u16, elapsed: Duration) {
    let extensions = req.extensions();
    let request_id = extensions.get::<RequestId>().map(|r| r.0.as_str());
    let caller = extensions.get::<Signed>().filter(|s| s.verified);
    let graphql = extensions.get::<GraphqlOutcome>();
    let graphql_errors = graphql.and_then(GraphqlOutcome::errors);
    tracing::info!(
        request_id,
        method = %req.method(),
        route,
        path = req.path(),
        status,
        duration_us = elapsed.as_micros() as u64,
        subject = caller.map(|c| c.subject.as_str()),
        org = caller.and_then(|c| c.org.as_deref()),
        graphql_operation = graphql.map(GraphqlOutcome::operation_name),
        graphql_errors = graphql_errors.as_deref(),
        "request"
    );
}
