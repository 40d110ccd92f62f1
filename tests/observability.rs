//! Observability: Prometheus metrics at `/metrics` (requests by route template, GraphQL
//! operations, batch rows, rate-limit refusals, the pool and SQL), its protection by token
//! or by a listener of its own, and the JSON log line of every request, read from the real
//! binary's standard error.

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{TestApp, SECRET};
use pcr_api::metrics::endpoint::MetricsAccess;
use pcr_api::metrics::names::MAX_NAMES;
use pcr_api::rate_limits::{Rate, RateLimits};

crate::on_both_backends!(
    requests_are_counted_by_route_template,
    graphql_operations_by_name_and_outcome,
    batch_rows_and_rate_limit_refusals,
    a_token_protects_the_metrics,
    the_binary_logs_json_lines_and_serves_metrics_apart,
);

/// One sample of an exposition: its name and labels.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("a sample line: {line}"));
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|l| !l.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or_else(|| panic!("a label: {pair} in {line}"));
                    (k.to_string(), v.trim_matches('"').to_string())
                })
                .collect();
            Sample { name: name.to_string(), labels, value: value.parse().unwrap_or_else(|_| panic!("{line}")) }
        })
        .collect()
}

/// The value of the one sample called `name` with (at least) these labels.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<f64> = samples(text)
        .into_iter()
        .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
        .map(|s| s.value)
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} matches {} samples", found.len());
    found.first().copied()
}

async fn scrape(app: &TestApp) -> String {
    let r = app.get("/metrics").send().await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.text
}

async fn requests_are_counted_by_route_template(app: TestApp) {
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    for _ in 0..2 {
        assert_eq!(app.get("/api/v1/practices/M83001").send().await.status, 200);
    }
    assert_eq!(app.get("/api/v1/practices/Z99999").send().await.status, 404);
    assert_eq!(app.get("/no/such/path").send().await.status, 404);
    assert_eq!(app.get("/api/v1/no-such-collection").send().await.status, 404);
    assert_eq!(app.req(actix_web::http::Method::DELETE, "/api/v1/practices").send().await.status, 405);

    let r = app.get("/metrics").send().await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("application/openmetrics-text"), "{:?}", r.headers);
    assert!(r.text.ends_with("# EOF\n"), "an OpenMetrics exposition ends with # EOF");
    let text = r.text;
    let item = "/api/v1/practices/{key}";
    let count = |route: &str, method: &str, status: &str| {
        value(&text, "http_requests_total", &[("route", route), ("method", method), ("status", status)])
    };
    assert_eq!(count(item, "GET", "200"), Some(2.0), "{text}");
    assert_eq!(count(item, "GET", "404"), Some(1.0), "{text}");
    assert_eq!(count("/api/v1/practices", "POST", "201"), Some(1.0), "{text}");
    assert_eq!(count("/api/v1/practices", "DELETE", "405"), Some(1.0), "a 405 is its resource's: {text}");
    assert_eq!(count("unmatched", "GET", "404"), Some(2.0), "{text}");
    // Never the path asked for: the label set stays bounded whatever clients send.
    for raw in ["M83001", "Z99999", "/no/such/path", "no-such-collection"] {
        assert!(!text.contains(raw), "{raw} in the exposition: {text}");
    }
    // The latency histogram, by the same labels.
    let timed = [("route", item), ("method", "GET"), ("status", "200")];
    assert_eq!(value(&text, "http_request_duration_seconds_count", &timed), Some(2.0), "{text}");
    let all = [("route", item), ("method", "GET"), ("status", "200"), ("le", "+Inf")];
    assert_eq!(value(&text, "http_request_duration_seconds_bucket", &all), Some(2.0), "{text}");
    assert!(value(&text, "http_request_duration_seconds_sum", &timed).unwrap() > 0.0);
    // The scrape itself is in flight while the figures are read.
    assert_eq!(value(&text, "http_requests_in_flight", &[]), Some(1.0), "{text}");

    // The database: statements and their time, the pool and the waits for it.
    let statements = value(&text, "db_statements_total", &[]).expect("db_statements_total");
    assert!(statements >= 4.0 && statements <= app.db().statements() as f64, "{text}");
    assert!(value(&text, "db_statement_seconds_total", &[]).unwrap() > 0.0, "{text}");
    assert_eq!(value(&text, "db_pool_max_connections", &[]), Some(8.0), "{text}");
    assert!(value(&text, "db_pool_connections", &[]).unwrap() >= 1.0, "{text}");
    assert!(value(&text, "db_pool_idle_connections", &[]).is_some(), "{text}");
    let waits = value(&text, "db_pool_acquire_duration_seconds_count", &[]).unwrap();
    assert!(waits >= 4.0, "a checkout per request at least: {text}");
    assert_eq!(value(&text, "db_pool_acquire_duration_seconds_bucket", &[("le", "+Inf")]), Some(waits), "{text}");
    assert_eq!(value(&text, "db_pool_acquire_failures_total", &[]), Some(0.0), "{text}");

    // Counters only grow: a second scrape counts the first.
    let again = scrape(&app).await;
    assert_eq!(
        value(&again, "http_requests_total", &[("route", "/metrics"), ("method", "GET"), ("status", "200")]),
        Some(1.0),
        "{again}"
    );
}

async fn graphql_operations_by_name_and_outcome(app: TestApp) {
    let gql = |query: String, token: Option<String>| {
        let app = &app;
        async move {
            let mut req = app.post("/graphql").json(&json!({ "query": query }));
            if let Some(t) = &token {
                req = req.bearer(t);
            }
            req.send().await
        }
    };
    for _ in 0..2 {
        let r = gql("query Roles { roles(first: 1) { totalCount } }".into(), None).await;
        assert!(r.body["errors"].is_null(), "{}", r.text);
    }
    gql("{ roles(first: 1) { totalCount } }".into(), None).await;
    // Denials answer 200 with `errors`; the metrics tell them apart by code.
    let denied = gql("query Secret { placements { totalCount } }".into(), None).await;
    assert_eq!(
        (denied.status, denied.body["errors"][0]["extensions"]["code"].as_str()),
        (200, Some("UNAUTHENTICATED"))
    );
    let forbidden = gql("query Secret { placements { totalCount } }".into(), Some(app.token("reference:write"))).await;
    assert_eq!(forbidden.body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{}", forbidden.text);
    gql("query Broken {".into(), None).await;
    // A refusal before the document is read (a token that does not verify).
    let r = gql("query Roles { roles(first: 1) { totalCount } }".into(), Some("not-a-token".into())).await;
    assert_eq!(r.status, 401);

    let text = scrape(&app).await;
    let ops = |operation: &str, outcome: &str| {
        value(&text, "graphql_operations_total", &[("operation", operation), ("outcome", outcome)])
    };
    assert_eq!(ops("Roles", "ok"), Some(2.0), "{text}");
    assert_eq!(ops("anonymous", "ok"), Some(1.0), "{text}");
    assert_eq!(ops("Secret", "UNAUTHENTICATED"), Some(1.0), "{text}");
    assert_eq!(ops("Secret", "FORBIDDEN"), Some(1.0), "{text}");
    assert_eq!(ops("unknown", "GRAPHQL_VALIDATION_FAILED"), Some(1.0), "{text}");
    assert_eq!(ops("unknown", "UNAUTHENTICATED"), Some(1.0), "{text}");

    // Names are the client's to choose, so only so many are kept apart; the rest are `other`.
    for i in 0..MAX_NAMES + 5 {
        let r = gql(format!("query Op{i} {{ __typename }}"), None).await;
        assert!(r.body["errors"].is_null(), "{}", r.text);
    }
    let text = scrape(&app).await;
    let named: Vec<String> = samples(&text)
        .into_iter()
        .filter(|s| s.name == "graphql_operations_total")
        .map(|s| s.labels["operation"].clone())
        .filter(|n| !["anonymous", "unknown", "other"].contains(&n.as_str()))
        .collect::<std::collections::HashSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(named.len(), MAX_NAMES, "{named:?}");
    // Roles and Secret came first, so two of the new names fit in fewer.
    let other = value(&text, "graphql_operations_total", &[("operation", "other"), ("outcome", "ok")]);
    assert_eq!(other, Some((MAX_NAMES + 5 - (MAX_NAMES - 2)) as f64), "{text}");
}

const HEADER: &str =
    "staff_ref,role_code,programme_code,host_type,host_code,host_name,hours_per_week,start_date,end_date,funding,notes";

async fn batch_rows_and_rate_limit_refusals(mut app: TestApp) {
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    let token = app.partner("M83001", "placements:read placements:write");
    let file = format!(
        "{HEADER}\r\n\
         OBS-0001,clinical-pharmacist,,practice,M83001,,37.5,2026-09-01,,arrs,\r\n\
         OBS-0002,physician-associate,,practice,M83001,,22.5,2026-09-01,,,\r\n\
         OBS-0003,paramedic,,practice,M83001,,lots,2026-09-01,,,\r\n"
    );
    let send = |mode: &str| {
        app.post(&format!("/api/v1/placements/batch?mode={mode}")).bearer(&token).raw("text/csv", file.clone()).send()
    };
    let partial = send("partial").await;
    assert_eq!((partial.status, partial.body["created"].as_u64()), (200, Some(2)), "{}", partial.text);
    let atomic = send("atomic").await;
    assert_eq!((atomic.status, atomic.body["committed"].as_bool()), (422, Some(false)), "{}", atomic.text);
    let text = scrape(&app).await;
    let rows = |outcome: &str| value(&text, "batch_rows_total", &[("outcome", outcome)]);
    assert_eq!(rows("created"), Some(2.0), "{text}");
    assert_eq!(rows("rejected"), Some(2.0), "{text}");
    // The atomic batch's good rows were not written.
    assert_eq!(rows("discarded"), Some(2.0), "{text}");
    assert_eq!(rows("unchanged"), None, "{text}");

    app.state.rate_limits = RateLimits::new(Rate { per_second: 1, burst: 2 }, Rate { per_second: 1, burst: 2 });
    let reader = app.admin();
    let mut by_subject = Vec::new();
    for _ in 0..3 {
        by_subject.push(app.get("/api/v1/roles").bearer(&reader).send().await.status);
    }
    assert_eq!(by_subject, [200, 200, 429]);
    let mut by_address = Vec::new();
    for _ in 0..3 {
        by_address.push(app.get("/api/v1/roles").sent_from("192.0.2.9:4000").send().await.status);
    }
    assert_eq!(by_address, [200, 200, 429]);
    let text = scrape(&app).await;
    assert_eq!(value(&text, "rate_limit_rejections_total", &[("key", "subject")]), Some(1.0), "{text}");
    assert_eq!(value(&text, "rate_limit_rejections_total", &[("key", "ip")]), Some(1.0), "{text}");
    // The refusals are requests too, answered before any route ran.
    assert!(
        value(&text, "http_requests_total", &[("route", "/api/v1/roles"), ("method", "GET"), ("status", "429")])
            == Some(2.0),
        "{text}"
    );
}

async fn a_token_protects_the_metrics(mut app: TestApp) {
    app.state.metrics_access = MetricsAccess::new(Some("metrics-scraper-token"));
    let none = app.get("/metrics").send().await;
    none.problem(401, "unauthenticated");
    assert!(none.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")), "{:?}", none.headers);
    assert!(!none.text.contains("db_statements_total"));
    let wrong = app.get("/metrics").bearer("metrics-scraper-tokem").send().await;
    wrong.problem(401, "unauthenticated");
    let longer = app.get("/metrics").bearer("metrics-scraper-token-and-more").send().await;
    longer.problem(401, "unauthenticated");
    // A partner's token is not the scraper's.
    app.get("/metrics").bearer(&app.admin()).send().await.problem(401, "unauthenticated");
    let right = app.get("/metrics").bearer("metrics-scraper-token").send().await;
    assert_eq!(right.status, 200, "{}", right.text);
    assert!(right.text.contains("db_statements_total "), "{}", right.text);
    // With a listener of its own, the API's does not serve it.
    app.state.serves_metrics = false;
    app.get("/metrics").bearer("metrics-scraper-token").send().await.problem(404, "not-found");
}

/// A request over a socket; the status and the body.
fn http(addr: &str, request: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

fn free_port() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("127.0.0.1:{port}")
}

/// The release's binary with LOG_FORMAT=json and /metrics on a listener of its own, behind
/// a token: each request's line carries its id, route template, caller and GraphQL outcome.
async fn the_binary_logs_json_lines_and_serves_metrics_apart(app: TestApp) {
    let (bind, metrics_bind) = (free_port(), free_port());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_primary-care-api"))
        .args(["serve", "--no-demo"])
        .env("DATABASE_URL", &app.url)
        .env("BIND_ADDR", &bind)
        .env("METRICS_BIND_ADDR", &metrics_bind)
        .env("METRICS_TOKEN", "scraper-secret")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("JWT_HS256_SECRET", SECRET)
        .env("WORKERS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        })
    };
    // Stop the child whatever happens, then fail.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(&bind).is_err() || std::net::TcpStream::connect(&metrics_bind).is_err() {
            assert!(started.elapsed() < Duration::from_secs(60), "the server starts: {:?}", lines.lock().unwrap());
            std::thread::sleep(Duration::from_millis(100));
        }
        let partner = app.partner("M83001", "placements:read");
        let (status, _) = http(
            &bind,
            &format!(
                "GET /api/v1/practices/M83001 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {partner}\r\n\
                 X-Request-Id: obs-rest-1\r\nConnection: close\r\n\r\n"
            ),
        );
        assert_eq!(status, 404);
        let query = json!({"query": "query Secret { placements { totalCount } }"}).to_string();
        let (status, body) = http(
            &bind,
            &format!(
                "POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nX-Request-Id: obs-gql-1\r\nConnection: close\r\n\r\n{query}",
                app.token("reference:write"),
                query.len()
            ),
        );
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("FORBIDDEN"), "{body}");

        // /metrics is on its own listener, behind its token, and not on the API's.
        let get_metrics = |auth: &str| format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n");
        assert_eq!(http(&bind, &get_metrics("Authorization: Bearer scraper-secret\r\n")).0, 404);
        assert_eq!(http(&metrics_bind, &get_metrics("")).0, 401);
        let (status, text) = http(&metrics_bind, &get_metrics("Authorization: Bearer scraper-secret\r\n"));
        assert_eq!(status, 200, "{text}");
        let route = [("route", "/api/v1/practices/{key}"), ("method", "GET"), ("status", "404")];
        assert_eq!(value(&text, "http_requests_total", &route), Some(1.0), "{text}");
        let gql = [("operation", "Secret"), ("outcome", "FORBIDDEN")];
        assert_eq!(value(&text, "graphql_operations_total", &gql), Some(1.0), "{text}");
    }));
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    outcome.unwrap();

    let lines = lines.lock().unwrap().clone();
    assert!(!lines.is_empty());
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| {
            assert!(!l.contains('\u{1b}'), "no colour codes off a terminal: {l}");
            serde_json::from_str(l).unwrap_or_else(|e| panic!("a JSON line ({e}): {l}"))
        })
        .collect();
    let line_of = |id: &str| {
        parsed.iter().find(|v| v["request_id"] == id).unwrap_or_else(|| panic!("no line for {id}: {lines:#?}")).clone()
    };
    let rest = line_of("obs-rest-1");
    assert_eq!(rest["message"], "request", "{rest}");
    assert_eq!(rest["level"], "INFO", "{rest}");
    assert_eq!(rest["method"], "GET", "{rest}");
    assert_eq!(rest["route"], "/api/v1/practices/{key}", "{rest}");
    assert_eq!(rest["path"], "/api/v1/practices/M83001", "{rest}");
    assert_eq!(rest["status"], 404, "{rest}");
    assert!(rest["duration_us"].as_u64().is_some(), "{rest}");
    assert_eq!(rest["subject"], "partner-of-M83001", "{rest}");
    assert_eq!(rest["org"], "M83001", "{rest}");
    assert!(rest.get("graphql_operation").is_none(), "{rest}");
    let denied = line_of("obs-gql-1");
    assert_eq!(denied["route"], "/graphql", "{denied}");
    assert_eq!(denied["status"], 200, "{denied}");
    assert_eq!(denied["graphql_operation"], "Secret", "{denied}");
    assert_eq!(denied["graphql_errors"], "FORBIDDEN", "a denial is not a plain 200: {denied}");
    assert_eq!(denied["subject"], "test-partner", "{denied}");
    assert_eq!(denied["org"], "NSGPF", "{denied}");
}
