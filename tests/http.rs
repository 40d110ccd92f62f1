//! HTTP conventions: compression, CORS, HEAD and Allow, caching, security headers, ETags
//! that survive a delete and re-create, strict query strings and bodies, control
//! characters, every error at once, content negotiation, and the real binary on a socket.

use std::io::{Read, Write};

use serde_json::json;

use crate::harness::{tag, TestApp};

crate::on_both_backends!(
    compression_by_accept_encoding,
    cors_only_when_configured,
    head_and_allow,
    caching_and_security_headers,
    etags_survive_delete_and_recreate,
    query_strings_are_strict,
    bodies_are_strict,
    control_characters_are_refused,
    every_error_at_once,
    content_negotiation,
    the_binary_on_a_socket
);

async fn compression_by_accept_encoding(app: TestApp) {
    let plain = app.get("/api/v1/roles?limit=200").send().await;
    assert_eq!(plain.status, 200);
    assert!(plain.header("content-encoding").is_none());
    let gz = app.get("/api/v1/roles?limit=200").header("accept-encoding", "gzip").send().await;
    assert_eq!(gz.header("content-encoding").as_deref(), Some("gzip"));
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz.bytes[..]).read_to_end(&mut unzipped).unwrap();
    assert_eq!(unzipped, plain.bytes, "gzip decodes to the same body");
    assert!(gz.bytes.len() < plain.bytes.len() / 2, "{} of {} bytes", gz.bytes.len(), plain.bytes.len());
    let br = app.get("/api/v1/roles?limit=200").header("accept-encoding", "br").send().await;
    assert_eq!(br.header("content-encoding").as_deref(), Some("br"));
    let mut unbrotli = Vec::new();
    brotli::Decompressor::new(&br.bytes[..], 4096).read_to_end(&mut unbrotli).unwrap();
    assert_eq!(unbrotli, plain.bytes, "brotli decodes to the same body");
    // The client's preference decides.
    let pick = app.get("/api/v1/roles").header("accept-encoding", "gzip;q=0.5, br;q=1.0").send().await;
    assert_eq!(pick.header("content-encoding").as_deref(), Some("br"));
}

async fn cors_only_when_configured(mut app: TestApp) {
    fn preflight<'a>(app: &'a TestApp, origin: &str) -> crate::harness::Req<'a> {
        app.req(actix_web::http::Method::OPTIONS, "/api/v1/placements")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type, if-match")
    }
    // Off by default: no CORS headers, whoever asks.
    let off = preflight(&app, "https://workforce.example.nhs.uk").send().await;
    assert!(off.header("access-control-allow-origin").is_none(), "{:?}", off.headers);
    let get = app.get("/api/v1/roles").header("origin", "https://workforce.example.nhs.uk").send().await;
    assert!(get.header("access-control-allow-origin").is_none());

    app.state = app.state.clone().with_cors(
        pcr_api::http::cors::CorsConfig::parse("https://workforce.example.nhs.uk, http://localhost:3000").unwrap(),
    );
    let ok = preflight(&app, "https://workforce.example.nhs.uk").send().await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.header("access-control-allow-origin").as_deref(), Some("https://workforce.example.nhs.uk"));
    let methods = ok.header("access-control-allow-methods").unwrap();
    assert!(methods.contains("POST") && methods.contains("PATCH"), "{methods}");
    let headers = ok.header("access-control-allow-headers").unwrap().to_ascii_lowercase();
    assert!(headers.contains("authorization") && headers.contains("if-match"), "{headers}");
    assert!(ok.header("access-control-max-age").is_some());
    let get = app.get("/api/v1/roles").header("origin", "http://localhost:3000").send().await;
    assert_eq!(get.status, 200);
    assert_eq!(get.header("access-control-allow-origin").as_deref(), Some("http://localhost:3000"));
    let vary: Vec<String> =
        get.headers.get_all("vary").filter_map(|v| v.to_str().ok()).map(str::to_ascii_lowercase).collect();
    assert!(vary.iter().any(|v| v.contains("origin")), "caches keep answers per origin: {vary:?}");
    let exposed = get.header("access-control-expose-headers").unwrap().to_ascii_lowercase();
    assert!(exposed.contains("etag") && exposed.contains("link"), "{exposed}");
    // Another origin gets no grant.
    let other = preflight(&app, "https://elsewhere.example.com").send().await;
    assert!(other.header("access-control-allow-origin").is_none(), "{:?}", other.headers);
    assert!(other.status >= 400);
    // `*`: any origin may read, and is told so with a wildcard (no credentials).
    app.state = app.state.clone().with_cors(pcr_api::http::cors::CorsConfig::parse("*").unwrap());
    let any = app.get("/api/v1/roles").header("origin", "https://anywhere.example.org").send().await;
    assert_eq!(any.header("access-control-allow-origin").as_deref(), Some("*"));
    assert!(any.header("access-control-allow-credentials").is_none());
    assert!(pcr_api::http::cors::CorsConfig::parse("https://ok.example, not an origin").is_err());
    assert!(pcr_api::http::cors::CorsConfig::parse("https://host/path").is_err());
}

async fn head_and_allow(app: TestApp) {
    let practice = app.practice("M83005", "Heathcote Street Surgery", "ST5 7EB").await;
    for path in [
        "/api/v1/practices",
        "/api/v1/practices/M83005",
        "/api/v1/practices/M83005/federations",
        "/api/v1/roles",
        "/api/v1/changes",
        "/healthz",
        "/readyz",
        "/api-docs/openapi.json",
        "/graphql/assets/graphiql.min.js",
        "/docs/swagger-ui.css",
    ] {
        let get = app.get(path).send().await;
        let head = app.req(actix_web::http::Method::HEAD, path).send().await;
        assert_eq!(get.status, 200, "GET {path}");
        assert_eq!(head.status, 200, "HEAD {path}: {}", head.text);
        for h in ["content-type", "etag", "cache-control"] {
            assert_eq!(head.header(h), get.header(h), "HEAD {path}: {h}");
        }
    }
    let head = app.req(actix_web::http::Method::HEAD, "/api/v1/practices/M83005").send().await;
    assert_eq!(head.etag(), tag(1, practice["id"].as_str().unwrap()));
    // HEAD on an export: its headers, without reading the list for a body nobody gets.
    let statements = app.db().statements();
    let export = app.req(actix_web::http::Method::HEAD, "/api/v1/practices").header("accept", "text/csv").send().await;
    assert_eq!(export.status, 200);
    assert!(export.header("content-type").unwrap().starts_with("text/csv"));
    assert!(export.bytes.is_empty());
    assert_eq!(app.db().statements(), statements, "no page was read");

    // 405 says what is allowed; OPTIONS says the same.
    let cases = [
        (actix_web::http::Method::PUT, "/api/v1/practices", "GET, HEAD, POST, OPTIONS"),
        (actix_web::http::Method::POST, "/api/v1/practices/M83005", "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"),
        (
            actix_web::http::Method::DELETE,
            "/api/v1/placements/00000000-0000-0000-0000-000000000000",
            "GET, HEAD, PUT, PATCH, OPTIONS",
        ),
        (actix_web::http::Method::GET, "/api/v1/placements/00000000-0000-0000-0000-000000000000/end", "POST, OPTIONS"),
        (actix_web::http::Method::DELETE, "/api/v1/changes", "GET, HEAD, OPTIONS"),
        (actix_web::http::Method::PUT, "/graphql", "POST, GET, HEAD, OPTIONS"),
        (actix_web::http::Method::POST, "/healthz", "GET, HEAD, OPTIONS"),
        (actix_web::http::Method::POST, "/docs/", "GET, HEAD, OPTIONS"),
        (actix_web::http::Method::DELETE, "/docs/swagger-ui.css", "GET, HEAD, OPTIONS"),
    ];
    for (method, path, allow) in cases {
        let r = app.req(method.clone(), path).bearer(&app.admin()).send().await;
        r.problem(405, "method-not-allowed");
        assert_eq!(r.header("allow").as_deref(), Some(allow), "{method} {path}");
        let options = app.req(actix_web::http::Method::OPTIONS, path).send().await;
        assert_eq!(options.status, 204, "OPTIONS {path}");
        assert_eq!(options.header("allow").as_deref(), Some(allow), "OPTIONS {path}");
    }
}

async fn caching_and_security_headers(app: TestApp) {
    app.practice("M83005", "Heathcote Street Surgery", "ST5 7EB").await;
    let token = app.admin();
    let cases: Vec<(&str, Option<&str>, &str)> = vec![
        ("/api/v1/practices", None, "public, max-age=60"),
        ("/api/v1/practices/M83005", None, "public, max-age=60"),
        ("/api/v1/roles/gp", None, "public, max-age=60"),
        ("/api/v1/practices/M83005", Some(&token), "no-store"),
        ("/api/v1/placements", Some(&token), "no-store"),
        ("/api/v1/practices/M83005/placements", Some(&token), "no-store"),
        ("/api/v1/changes", None, "no-store"),
        ("/api/v1/practices/Z99999", None, "no-store"),
        ("/graphql/assets/graphiql.min.js", None, "public, max-age=31536000, immutable"),
        ("/docs/swagger-ui-bundle.js", None, "public, max-age=31536000, immutable"),
        ("/docs/", None, "no-cache"),
        ("/api-docs/openapi.json", None, "no-cache"),
        ("/healthz", None, "no-store"),
        ("/metrics", None, "no-store"),
    ];
    for (path, token, policy) in cases {
        let mut req = app.get(path);
        if let Some(t) = token {
            req = req.bearer(t);
        }
        let r = req.send().await;
        assert_eq!(r.header("cache-control").as_deref(), Some(policy), "GET {path}");
        assert_eq!(r.header("x-content-type-options").as_deref(), Some("nosniff"), "GET {path}");
    }
    let write = app.post("/api/v1/practices").bearer(&app.admin()).json(&json!({})).send().await;
    assert_eq!(write.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(write.header("x-content-type-options").as_deref(), Some("nosniff"));
    let graphql = app.post("/graphql").json(&json!({"query": "{ __typename }"})).send().await;
    assert_eq!(graphql.header("cache-control").as_deref(), Some("no-store"));

    let docs = app.get("/docs/").send().await;
    let csp = docs.header("content-security-policy").expect("the docs page has a CSP");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
}

async fn etags_survive_delete_and_recreate(app: TestApp) {
    let token = app.admin();
    let first = app.practice("M83005", "Heathcote Street Surgery", "ST5 7EB").await;
    let old = app.etag_of("/api/v1/practices/M83005").await;
    assert_eq!(old, tag(1, first["id"].as_str().unwrap()));
    app.delete("/api/v1/practices/M83005").bearer(&token).if_match(&old).send().await;
    let second = app.practice("M83005", "Heathcote Street Surgery", "ST5 7EB").await;
    assert_eq!(second["version"], 1, "versions start again");
    // The old tag names the old record: not 304 for the new one, and no write with it.
    let read = app.get("/api/v1/practices/M83005").header("if-none-match", &old).send().await;
    assert_eq!(read.status, 200, "a re-created record is not 'not modified'");
    assert_ne!(read.etag(), old);
    let stale = app
        .patch("/api/v1/practices/M83005")
        .bearer(&token)
        .if_match(&old)
        .json(&json!({"name": "Renamed"}))
        .send()
        .await;
    stale.problem(412, "stale-version");
    assert_eq!(app.get("/api/v1/practices/M83005").send().await.body["name"], "Heathcote Street Surgery");

    // Lists carry a weak ETag over the page: 304 while unchanged, a new tag after a change.
    let list = app.get("/api/v1/practices").send().await;
    let weak = list.etag();
    assert!(weak.starts_with("W/\""), "{weak}");
    let again = app.get("/api/v1/practices").header("if-none-match", &weak).send().await;
    assert_eq!(again.status, 304);
    assert!(again.bytes.is_empty());
    assert_eq!(app.get("/api/v1/practices?limit=1").send().await.status, 200, "another page, another tag");
    app.patch("/api/v1/practices/M83005")
        .bearer(&token)
        .if_match(&read.etag())
        .json(&json!({"name": "Heathcote St Surgery"}))
        .send()
        .await;
    let changed = app.get("/api/v1/practices").header("if-none-match", &weak).send().await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.etag(), weak);
    // Bounded relations and the change feed too.
    for path in ["/api/v1/practices/M83005/federations", "/api/v1/changes"] {
        let first = app.get(path).send().await;
        let tag = first.etag();
        assert!(tag.starts_with("W/\""), "{path}: {tag}");
        let again = app.get(path).header("if-none-match", &tag).send().await;
        assert_eq!(again.status, 304, "{path}");
    }
    let feed = app.get("/api/v1/changes").send().await.etag();
    app.practice("M83007", "The Village Surgery", "ST5 0ET").await;
    assert_eq!(
        app.get("/api/v1/changes").header("if-none-match", &feed).send().await.status,
        200,
        "a new change, a new tag"
    );
}

async fn query_strings_are_strict(app: TestApp) {
    app.practice("M83005", "Heathcote Street Surgery", "ST5 7EB").await;
    let unknown = app.get("/api/v1/practices?colour=red").send().await;
    unknown.problem(400, "bad-request");
    assert_eq!(unknown.fields(), ["colour"]);
    assert!(unknown.body["errors"][0]["message"].as_str().unwrap().contains("active_on"), "{}", unknown.text);
    let twice = app.get("/api/v1/practices?limit=1&limit=2").send().await;
    twice.problem(400, "bad-request");
    assert_eq!(twice.fields(), ["limit"]);
    // Every value that does not parse is named, with what it must be, not serde's words.
    let bad =
        app.get("/api/v1/practices?limit=abc&status=open&updated_since=yesterday&active_on=2026-02-30").send().await;
    bad.problem(400, "bad-request");
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(fields, ["active_on", "limit", "status", "updated_since"], "{}", bad.text);
    let messages: Vec<&str> =
        bad.body["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert!(messages.contains(&"must be a whole number from 1 to 200"), "{messages:?}");
    assert!(messages.contains(&"must be one of active, closed, dormant, proposed, merged"), "{messages:?}");
    assert!(messages.contains(&"must be a date, YYYY-MM-DD"), "{messages:?}");
    for m in &messages {
        assert!(!m.contains("invalid digit") && !m.contains("variant") && !m.contains("premature"), "{m}");
    }
    // Operations with no parameters take none.
    app.get("/api/v1/practices/M83005?expand=all").send().await.problem(400, "bad-request");
    app.get("/api/v1/practices/M83005/federations?colour=red").send().await.problem(400, "bad-request");
    app.get("/healthz?x=1").send().await.problem(400, "bad-request");
    let placements = app.get("/api/v1/placements?colour=red").bearer(&app.token("placements:read")).send().await;
    assert_eq!(placements.fields(), ["colour"]);
    // The caller is checked first.
    app.get("/api/v1/placements?colour=red").send().await.problem(401, "unauthenticated");
    // Declared parameters still work, and the sort enum holds every direction.
    assert_eq!(app.get("/api/v1/practices?sort=-name&limit=5&status=active").send().await.status, 200);
}

async fn bodies_are_strict(app: TestApp) {
    let token = app.admin();
    let good = json!({"odsCode": "M83005", "name": "Heathcote Street Surgery", "postcode": "ST5 7EB"}).to_string();
    for trailing in [format!("{good} x"), format!("{good}{good}"), format!("{good},"), format!("{good}\n]")] {
        let r = app.post("/api/v1/practices").bearer(&token).raw("application/json", trailing.clone()).send().await;
        r.problem(400, "bad-request");
        assert!(r.body["detail"].as_str().unwrap().contains("JSON"), "{}", r.text);
    }
    // Whitespace after the value is fine.
    let ok = app.post("/api/v1/practices").bearer(&token).raw("application/json", format!("{good}\n  ")).send().await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    assert_eq!(app.count("practices"), 1);
}

async fn control_characters_are_refused(app: TestApp) {
    let token = app.admin();
    app.practice("M83005", "Heathcote Street Surgery", "ST5 7EB").await;
    let before = (app.count("practices"), app.count("placements"), app.count("audit_events"));
    // In a path, a query and a body: 422 naming where, on PostgreSQL as on SQLite.
    let path = app.get("/api/v1/practices/M83%0005").send().await;
    path.problem(422, "validation");
    assert_eq!(path.fields(), ["key"]);
    let path = app.get("/api/v1/roles/g%00p/placements").bearer(&app.token("placements:read")).send().await;
    path.problem(422, "validation");
    for q in ["q=%00", "q=Heath%01cote", "commissioner=05%00G", "postcode=ST5%1B"] {
        let r = app.get(&format!("/api/v1/practices?{q}")).send().await;
        r.problem(422, "validation");
        assert_eq!(r.fields().len(), 1, "{q}: {}", r.text);
    }
    let r = app.get("/api/v1/placements?staff_ref=A%00B").bearer(&app.token("placements:read")).send().await;
    assert_eq!(r.fields(), ["staff_ref"]);
    let body = app
        .post("/api/v1/practices")
        .bearer(&token)
        .json(&json!({"odsCode": "M83007", "name": "The Village\u{0} Surgery", "postcode": "ST5 0ET",
                      "addressLines": ["49 High Street", "Wolstanton\u{7}"]}))
        .send()
        .await;
    body.problem(422, "validation");
    let mut fields = body.fields();
    fields.sort();
    assert_eq!(fields, ["addressLines/1", "name"]);
    let placement = app
        .post("/api/v1/placements")
        .bearer(&token)
        .json(&json!({"staffRef": "S\u{0}1", "roleCode": "physician\u{0}-associate", "hostType": "practice",
                      "hostCode": "M83\u{0}005", "hoursPerWeek": 0, "startDate": "2026-01-05",
                      "notes": "two lines\nare fine\ttoo"}))
        .send()
        .await;
    placement.problem(422, "validation");
    let mut fields = placement.fields();
    fields.sort();
    assert_eq!(fields, ["hostCode", "hoursPerWeek", "roleCode", "staffRef"], "{}", placement.text);
    let patch = app
        .patch("/api/v1/practices/M83005")
        .bearer(&token)
        .if_match(&app.etag_of("/api/v1/practices/M83005").await)
        .json(&json!({"phone": "01782\u{0}561057"}))
        .send()
        .await;
    patch.problem(422, "validation");
    assert_eq!(patch.fields(), ["phone"]);
    // GraphQL goes through the same rules.
    let gql = app
        .post("/graphql")
        .bearer(&token)
        .json(&json!({"query": "mutation($i: PracticeInput!) { createPractice(input: $i) { odsCode } }",
                      "variables": {"i": {"odsCode": "M83007", "name": "Village\u{0}", "postcode": "ST5 0ET"}}}))
        .send()
        .await;
    assert_eq!(gql.body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{}", gql.text);
    let gql = app
        .post("/graphql")
        .json(&json!({"query": "{ practices(filter: {q: \"Heath\\u0000\"}) { totalCount } }"}))
        .send()
        .await;
    assert_eq!(gql.body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{}", gql.text);
    assert_eq!((app.count("practices"), app.count("placements"), app.count("audit_events")), before);
}

async fn every_error_at_once(app: TestApp) {
    let token = app.admin();
    app.practice("M83005", "Heathcote Street Surgery", "ST5 7EB").await;
    let before = app.count("placements");
    let r = app
        .post("/api/v1/placements")
        .bearer(&token)
        .json(&json!({"staffRef": "", "roleCode": "astronaut", "programmeCode": "moon-shot", "hostType": "practice",
                      "hostCode": "Z99999", "hoursPerWeek": 0, "startDate": "2026-09-01", "endDate": "2026-01-01"}))
        .send()
        .await;
    r.problem(422, "validation");
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(fields, ["endDate", "hostCode", "hoursPerWeek", "programmeCode", "roleCode", "staffRef"], "{}", r.text);
    // Shapes that do not fit are named together too.
    let r = app
        .post("/api/v1/placements")
        .bearer(&token)
        .json(&json!({"staffRef": "S1", "roleCode": "gp", "hostType": "hospital", "hostCode": "M83005",
                      "hoursPerWeek": "lots", "startDate": "soon", "colour": "red"}))
        .send()
        .await;
    r.problem(422, "validation");
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(fields, ["colour", "hostType", "hoursPerWeek", "startDate"], "{}", r.text);
    let r = app.post("/api/v1/placements").bearer(&token).json(&json!({"staffRef": "S1"})).send().await;
    r.problem(422, "validation");
    assert_eq!(r.fields().len(), 1, "a missing field is named: {}", r.text);
    assert_ne!(r.fields()[0], "body");
    // A membership's lookups are reported with its other errors.
    let r = app
        .post("/api/v1/federation-memberships")
        .bearer(&token)
        .json(
            &json!({"federationCode": "NOPE", "odsCode": "Z99999", "startDate": "2026-01-01", "endDate": "2025-01-01"}),
        )
        .send()
        .await;
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(fields, ["endDate", "federationCode", "odsCode"], "{}", r.text);
    assert_eq!(app.count("placements"), before);
}

async fn content_negotiation(app: TestApp) {
    app.practice("M83005", "Heathcote Street Surgery", "ST5 7EB").await;
    for accept in ["application/xml", "text/html", "image/png, application/xml;q=0.9", "application/json;q=0"] {
        let r = app.get("/api/v1/practices").header("accept", accept).send().await;
        r.problem(406, "not-acceptable");
        assert!(r.body["detail"].as_str().unwrap().contains("text/csv"), "{}", r.text);
    }
    for accept in ["text/csv", "application/x-ndjson"] {
        app.get("/api/v1/practices/M83005").header("accept", accept).send().await.problem(406, "not-acceptable");
    }
    for accept in ["*/*", "application/*", "application/json", "application/problem+json", "text/html, */*;q=0.1"] {
        let r = app.get("/api/v1/practices").header("accept", accept).send().await;
        assert_eq!(r.status, 200, "{accept}");
        assert_eq!(r.header("content-type").as_deref(), Some("application/json"), "{accept}");
        assert_eq!(r.header("vary").as_deref(), Some("Accept"));
    }
    let r = app.get("/api/v1/practices").header("accept", "text/csv;q=0.5, application/x-ndjson").send().await;
    assert_eq!(r.header("content-type").as_deref(), Some("application/x-ndjson"));
    let r = app.get("/api/v1/practices").header("accept", "text/*").send().await;
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
}

/// The release's own binary, serving on a real socket: the start-up line names the
/// playground, HEAD sends headers and no body, and compression happens on the wire.
async fn the_binary_on_a_socket(app: TestApp) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bind = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_primary-care-api"))
        .args(["serve", "--no-demo"])
        .env("DATABASE_URL", &app.url)
        .env("BIND_ADDR", &bind)
        .env("RUST_LOG", "info")
        .env_remove("JWT_HS256_SECRET")
        .env_remove("LOG_FORMAT")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Logs go to standard error, as JSON when it is not a terminal.
    let stdout = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("serving on") {
                let _ = tx.send(line);
            }
        }
    });
    let started = rx.recv_timeout(std::time::Duration::from_secs(60));
    let outcome = std::panic::catch_unwind(|| {
        let line = started.expect("the server starts");
        let logged: serde_json::Value = serde_json::from_str(&line).expect("a JSON line by default off a terminal");
        assert!(logged["message"].as_str().is_some_and(|m| m.starts_with("serving on")), "{line}");
        assert!(!line.contains('\u{1b}'), "no colour codes: {line}");
        assert!(line.contains(&format!("GraphQL playground http://{bind}/graphql")), "{line}");
        assert!(line.contains(&format!("http://{bind}/docs/")), "{line}");
        let raw = |request: &str| -> Vec<u8> {
            let mut s = std::net::TcpStream::connect(&bind).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
            s.write_all(request.as_bytes()).unwrap();
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out);
            out
        };
        let get = raw(&format!("GET /api/v1/roles HTTP/1.1\r\nHost: {bind}\r\nConnection: close\r\n\r\n"));
        let head = raw(&format!("HEAD /api/v1/roles HTTP/1.1\r\nHost: {bind}\r\nConnection: close\r\n\r\n"));
        let split = |r: &[u8]| {
            let at = r.windows(4).position(|w| w == b"\r\n\r\n").expect("headers end") + 4;
            (String::from_utf8_lossy(&r[..at]).to_ascii_lowercase(), r[at..].to_vec())
        };
        let (get_head, get_body) = split(&get);
        let (head_head, head_body) = split(&head);
        assert!(head_head.starts_with("http/1.1 200"), "{head_head}");
        assert!(head_body.is_empty(), "HEAD sends no body: {} bytes", head_body.len());
        assert!(!get_body.is_empty());
        let length = |h: &str| h.lines().find_map(|l| l.strip_prefix("content-length: ").map(str::to_string));
        assert_eq!(length(&head_head), length(&get_head), "HEAD gives the length GET would");
        let gz = raw(&format!(
            "GET /api/v1/roles HTTP/1.1\r\nHost: {bind}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
        ));
        let (gz_head, _) = split(&gz);
        assert!(gz_head.contains("content-encoding: gzip"), "{gz_head}");
    });
    let _ = child.kill();
    let _ = child.wait();
    outcome.unwrap();
}
