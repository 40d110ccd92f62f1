//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format.
//!
//! Built on `prometheus-client`, the Prometheus project's own Rust client: typed label sets
//! (a struct per family, so a label can only take the values its type allows), a registry
//! per app rather than one global to the process (each test's app counts alone), and
//! collectors that read values kept elsewhere (the data crate's atomics) at scrape time.
//!
//! Every label is bounded: routes are templates (`/api/v1/practices/{ods}`, never the path
//! asked for), methods and outcomes are fixed sets, and GraphQL operation names are capped
//! (see [`names`]).

mod db;
pub mod endpoint;
pub mod names;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::Method;
use pcr_schema::domain::batch::BatchReport;
use pcr_schema::Db;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// Latency buckets, in seconds: a cached read is well under a millisecond, a large export
/// or batch takes seconds.
const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: Arc<str>,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: Arc<str>,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyLabels {
    key: &'static str,
}

/// What a rate limit counted a refused request by.
#[derive(Debug, Clone, Copy)]
pub enum LimitKey {
    Ip,
    Subject,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

struct Inner {
    registry: Registry,
    unmatched: Arc<str>,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<HttpLabels, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    graphql_operations: Family<OperationLabels, Counter>,
    operation_names: names::OperationNames,
    batch_rows: Family<OutcomeLabels, Counter>,
    rate_limited: Family<KeyLabels, Counter>,
}

/// The app's metrics; cheap to clone, shared by every worker.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl Metrics {
    /// A registry with every family, and the database's figures read from `db` at scrape time.
    pub fn new(db: &Db) -> Metrics {
        let mut registry = Registry::default();
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            http_requests.clone(),
        );
        let http_duration = Family::<HttpLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its response's head, by route template, method and status",
            http_duration.clone(),
        );
        let in_flight = Gauge::default();
        registry.register("http_requests_in_flight", "Requests being served now", in_flight.clone());
        let graphql_operations = Family::<OperationLabels, Counter>::default();
        registry.register(
            "graphql_operations",
            "GraphQL operations, by operation name and outcome (ok, or the first error's code)",
            graphql_operations.clone(),
        );
        let batch_rows = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "batch_rows",
            "Rows of placement batches, by outcome (discarded: valid rows of an atomic batch that wrote nothing)",
            batch_rows.clone(),
        );
        let rate_limited = Family::<KeyLabels, Counter>::default();
        registry.register(
            "rate_limit_rejections",
            "Requests refused 429 by a rate limit, by what it counts (ip or subject)",
            rate_limited.clone(),
        );
        registry.register_collector(Box::new(db::DbCollector::new(db.clone())));
        Metrics(Arc::new(Inner {
            registry,
            unmatched: Arc::from(UNMATCHED),
            http_requests,
            http_duration,
            in_flight,
            graphql_operations,
            operation_names: names::OperationNames::default(),
            batch_rows,
            rate_limited,
        }))
    }

    /// The label of requests that matched no route.
    pub fn unmatched(&self) -> Arc<str> {
        self.0.unmatched.clone()
    }

    /// One request more in flight until the guard is dropped (also when the request is
    /// abandoned half-way, say by a client that hangs up).
    pub fn in_flight(&self) -> InFlight {
        self.0.in_flight.inc();
        InFlight(self.0.in_flight.clone())
    }

    /// Counts and times one answered request.
    pub fn request(&self, route: Arc<str>, method: &Method, status: u16, elapsed: Duration) {
        let labels = HttpLabels { route, method: method_label(method), status };
        self.0.http_requests.get_or_create(&labels).inc();
        self.0.http_duration.get_or_create(&labels).observe(elapsed.as_secs_f64());
    }

    /// The label an operation name is counted under (see [`names`]).
    pub fn operation_label(&self, name: Option<&str>) -> Arc<str> {
        self.0.operation_names.label(name)
    }

    /// The label of an operation refused before it was known.
    pub fn unknown_operation(&self) -> Arc<str> {
        self.0.operation_names.unknown()
    }

    /// Counts one GraphQL operation, `outcome` being `ok` or an error code.
    pub fn graphql_operation(&self, operation: Arc<str>, outcome: &'static str) {
        self.0.graphql_operations.get_or_create(&OperationLabels { operation, outcome }).inc();
    }

    /// Counts a batch's rows by what became of them.
    pub fn batch(&self, report: &BatchReport) {
        let count = |outcome: &'static str, n: u64| {
            if n > 0 {
                self.0.batch_rows.get_or_create(&OutcomeLabels { outcome }).inc_by(n);
            }
        };
        if report.committed {
            count("created", report.created);
            count("updated", report.updated);
            count("unchanged", report.unchanged);
        } else {
            count("discarded", report.created + report.updated + report.unchanged);
        }
        count("rejected", report.rejected);
    }

    /// Counts a request refused by a rate limit.
    pub fn rate_limited(&self, key: LimitKey) {
        let key = match key {
            LimitKey::Ip => "ip",
            LimitKey::Subject => "subject",
        };
        self.0.rate_limited.get_or_create(&KeyLabels { key }).inc();
    }

    /// The exposition, in the OpenMetrics text format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(8 * 1024);
        prometheus_client::encoding::text::encode(&mut out, &self.0.registry)?;
        Ok(out)
    }
}

/// Held while a request is served; see [`Metrics::in_flight`].
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Methods as a fixed set: an extension method is `other`, not a label of its own.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
