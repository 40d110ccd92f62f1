//! Every kind of bad input gets its RFC 9457 problem — never a 500 — and changes nothing.

use serde_json::json;

use crate::harness::{TestApp, SECRET};

crate::on_both_backends!(
    bad_bodies_change_nothing,
    bad_preconditions,
    bad_tokens,
    bad_queries,
    unknown_routes_and_methods
);

/// Row counts of every table a write could touch.
fn snapshot(app: &TestApp) -> Vec<i64> {
    ["organisations", "practices", "integrated_care_teams", "placements", "affiliations", "audit_events"]
        .iter()
        .map(|t| app.count(t))
        .collect()
}

async fn bad_bodies_change_nothing(app: TestApp) {
    let token = app.admin();
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    let before = snapshot(&app);
    let placement = json!({"staffRef": "S1", "roleCode": "physician-associate", "hostType": "practice",
        "hostCode": "M83001", "hoursPerWeek": 22.5, "startDate": "2026-01-05"});
    let with = |patch: serde_json::Value| {
        let mut p = placement.clone();
        pcr_schema::domain::crud::merge_patch(&mut p, &patch);
        p
    };
    // (path, content type, body, status, problem type, fields)
    type Case<'a> = (&'a str, &'a str, String, u16, &'a str, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        ("/api/v1/practices", "application/json", "{\"odsCode\": ".into(), 400, "bad-request", vec![]),
        ("/api/v1/practices", "application/json", "[1,2]".into(), 422, "validation", vec!["body"]),
        ("/api/v1/practices", "text/plain", "hello".into(), 415, "unsupported-media-type", vec![]),
        ("/api/v1/practices", "application/json", "x".repeat(300 * 1024), 413, "too-large", vec![]),
        ("/api/v1/practices", "application/json",
            json!({"odsCode": "M83002", "name": "X", "postcode": "ST3 1AA", "colour": "red"}).to_string(), 422, "validation", vec!["colour"]),
        ("/api/v1/practices", "application/json",
            json!({"odsCode": "M8300", "name": " ", "postcode": "ST3"}).to_string(), 422, "validation", vec!["odsCode", "name", "postcode"]),
        ("/api/v1/practices", "application/json",
            json!({"odsCode": "M83002", "name": "X", "postcode": "ST3 1AA", "listSize": "many"}).to_string(), 422, "validation", vec!["listSize"]),
        ("/api/v1/practices", "application/json",
            json!({"odsCode": "M83002", "name": "X", "postcode": "ST3 1AA", "openedOn": "2020-02-30"}).to_string(), 422, "validation", vec!["openedOn"]),
        ("/api/v1/practices", "application/json",
            json!({"odsCode": "M83002", "name": "X", "postcode": "ST3 1AA", "openedOn": "2020-01-01", "closedOn": "2019-01-01"}).to_string(), 422, "validation", vec!["closedOn"]),
        ("/api/v1/practices", "application/json",
            json!({"odsCode": "M83002", "name": "X", "postcode": "ST3 1AA", "status": "merged"}).to_string(), 422, "validation", vec!["mergedInto"]),
        ("/api/v1/practices", "application/json",
            json!({"odsCode": "M83002", "name": "X", "postcode": "ST3 1AA", "status": "merged", "mergedInto": "Z99999"}).to_string(), 422, "validation", vec!["mergedInto"]),
        ("/api/v1/practices", "application/json",
            json!({"odsCode": "M83001", "name": "Again", "postcode": "ST3 1AA"}).to_string(), 409, "conflict", vec![]),
        ("/api/v1/placements", "application/json", with(json!({"hoursPerWeek": 0})).to_string(), 422, "validation", vec!["hoursPerWeek"]),
        ("/api/v1/placements", "application/json", with(json!({"hoursPerWeek": 81})).to_string(), 422, "validation", vec!["hoursPerWeek"]),
        ("/api/v1/placements", "application/json", with(json!({"endDate": "2025-12-31"})).to_string(), 422, "validation", vec!["endDate"]),
        ("/api/v1/placements", "application/json", with(json!({"roleCode": "astronaut"})).to_string(), 422, "validation", vec!["roleCode"]),
        ("/api/v1/placements", "application/json", with(json!({"hostCode": "Z99999"})).to_string(), 422, "validation", vec!["hostCode"]),
        ("/api/v1/placements", "application/json", with(json!({"hostType": "hospital"})).to_string(), 422, "validation", vec!["hostType"]),
        ("/api/v1/placements", "application/json", with(json!({"hostType": "external", "hostCode": null})).to_string(), 422, "validation", vec!["hostName"]),
        ("/api/v1/placements", "application/json", with(json!({"staffRef": ""})).to_string(), 422, "validation", vec!["staffRef"]),
        ("/api/v1/federation-memberships", "application/json",
            json!({"federationCode": "NOPE", "odsCode": "M83001", "startDate": "2026-01-01"}).to_string(), 422, "validation", vec!["federationCode"]),
        ("/api/v1/roles", "application/json",
            json!({"code": "Bad Code", "name": "X", "staffGroup": "gp", "regulator": "GMC"}).to_string(), 422, "validation", vec!["code"]),
        ("/api/v1/roles", "application/json",
            json!({"code": "gp", "name": "GP again", "staffGroup": "gp", "regulator": "GMC"}).to_string(), 409, "conflict", vec![]),
        ("/api/v1/federations", "application/json", json!({"code": "nsgpf!", "name": "X"}).to_string(), 422, "validation", vec!["code"]),
    ];
    for (path, ct, body, status, kind, fields) in cases {
        let r = app.post(path).bearer(&token).raw(ct, body.clone()).send().await;
        r.problem(status, kind);
        if !fields.is_empty() {
            assert_eq!(r.fields(), fields, "fields for {path} {}", &body[..body.len().min(200)]);
        }
        assert_eq!(snapshot(&app), before, "nothing written by {path} {}", &body[..body.len().min(200)]);
    }
}

async fn bad_preconditions(app: TestApp) {
    let token = app.admin();
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    let before = snapshot(&app);
    let body = json!({"odsCode": "M83001", "name": "Renamed", "postcode": "ST3 7DY"});
    app.put("/api/v1/practices/M83001").bearer(&token).json(&body).send().await.problem(428, "precondition-required");
    app.put("/api/v1/practices/M83001")
        .bearer(&token)
        .if_match("*")
        .json(&body)
        .send()
        .await
        .problem(428, "precondition-required");
    let stale = app.put("/api/v1/practices/M83001").bearer(&token).if_match("\"7\"").json(&body).send().await;
    stale.problem(412, "stale-version");
    assert_eq!(stale.body["currentVersion"], 1);
    app.put("/api/v1/practices/M83001")
        .bearer(&token)
        .if_match("W/\"1\"")
        .json(&body)
        .send()
        .await
        .problem(412, "stale-version");
    app.put("/api/v1/practices/M83001")
        .bearer(&token)
        .if_match("garbage")
        .json(&body)
        .send()
        .await
        .problem(412, "stale-version");
    app.delete("/api/v1/practices/M83001").bearer(&token).send().await.problem(428, "precondition-required");
    app.put("/api/v1/practices/Z99999")
        .bearer(&token)
        .if_match("\"1\"")
        .json(&body)
        .send()
        .await
        .problem(404, "not-found");
    app.patch("/api/v1/practices/M83001")
        .bearer(&token)
        .if_match("\"1\"")
        .json(&json!([1]))
        .send()
        .await
        .problem(422, "validation");
    assert_eq!(snapshot(&app), before);
    assert_eq!(app.get("/api/v1/practices/M83001").send().await.body["name"], "Meir Health Centre");
}

fn mint(claims: serde_json::Value, alg: jsonwebtoken::Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn bad_tokens(app: TestApp) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let body = json!({"odsCode": "M83009", "name": "X", "postcode": "ST3 1AA"});
    let claims = |extra: serde_json::Value| {
        let mut c = json!({"sub": "p1", "scope": "reference:write placements:read", "exp": now + 600});
        pcr_schema::domain::crud::merge_patch(&mut c, &extra);
        c
    };
    use base64::Engine;
    let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let alg_none = format!("{}.{}.", b64(json!({"alg": "none", "typ": "JWT"})), b64(claims(json!({}))));
    let tokens = vec![
        ("no token", None),
        ("garbage", Some("not-a-jwt".to_string())),
        ("alg none", Some(alg_none)),
        ("wrong key", Some(mint(claims(json!({})), jsonwebtoken::Algorithm::HS256, "another-secret-another-secret!!"))),
        ("HS512", Some(mint(claims(json!({})), jsonwebtoken::Algorithm::HS512, SECRET))),
        ("expired", Some(mint(claims(json!({"exp": now - 3600})), jsonwebtoken::Algorithm::HS256, SECRET))),
        ("not yet valid", Some(mint(claims(json!({"nbf": now + 3600})), jsonwebtoken::Algorithm::HS256, SECRET))),
    ];
    for (what, token) in tokens {
        let mut req = app.post("/api/v1/practices").json(&body);
        if let Some(t) = &token {
            req = req.bearer(t);
        }
        let r = req.send().await;
        assert_eq!(r.status, 401, "{what}: {}", r.text);
        r.problem(401, "unauthenticated");
        assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"), "{what}");
        let read = app
            .get("/api/v1/placements")
            .header("authorization", &format!("Bearer {}", token.clone().unwrap_or_default()))
            .send()
            .await;
        assert_eq!(read.status, 401, "{what} reading placements");
    }
    // Right signature, wrong scope: 403 for writes and for placement reads.
    let reader = app.token("placements:read");
    app.post("/api/v1/practices").bearer(&reader).json(&body).send().await.problem(403, "forbidden");
    let writer = app.token("reference:write");
    app.get("/api/v1/placements").bearer(&writer).send().await.problem(403, "forbidden");
    // The caller is checked before the body: the wrong scope is 403 whatever is sent.
    app.post("/api/v1/placements").bearer(&writer).json(&json!({})).send().await.problem(403, "forbidden");
    assert_eq!(app.count("practices"), 0);
    // Reference data needs no token.
    assert_eq!(app.get("/api/v1/roles").send().await.status, 200);
}

async fn bad_queries(app: TestApp) {
    app.get("/api/v1/practices?limit=abc").send().await.problem(400, "bad-request");
    app.get("/api/v1/practices?limit=0").send().await.problem(422, "validation");
    app.get("/api/v1/practices?limit=201").send().await.problem(422, "validation");
    app.get("/api/v1/practices?sort=colour").send().await.problem(422, "validation");
    app.get("/api/v1/practices?after=bm90LWEtY3Vyc29y").send().await.problem(422, "validation");
    app.get("/api/v1/practices?after=%%%").send().await.problem(422, "validation");
    app.get("/api/v1/practices?status=open").send().await.problem(400, "bad-request");
    app.get("/api/v1/practices?updated_since=yesterday").send().await.problem(400, "bad-request");
    app.get("/api/v1/practices?postcode=ST3%25").send().await.problem(422, "validation");
    // A cursor issued for one sort order is refused under another.
    for i in 0..3 {
        app.practice(&format!("M8300{i}"), &format!("P{i}"), "ST3 1AA").await;
    }
    let page = app.get("/api/v1/practices?limit=1&sort=name").send().await;
    let cursor = page.body["nextCursor"].as_str().unwrap().to_string();
    app.get(&format!("/api/v1/practices?after={cursor}&sort=odsCode")).send().await.problem(422, "validation");
    let token = app.token("placements:read");
    app.get("/api/v1/placements?active_on=someday").bearer(&token).send().await.problem(400, "bad-request");
    app.get("/api/v1/placements?sort=name").bearer(&token).send().await.problem(422, "validation");
}

async fn unknown_routes_and_methods(app: TestApp) {
    app.get("/api/v1/nothing-here").send().await.problem(404, "not-found");
    app.get("/api/v1/practices/Z99999").send().await.problem(404, "not-found");
    app.get("/api/v1/placements/not-a-uuid")
        .bearer(&app.token("placements:read"))
        .send()
        .await
        .problem(404, "not-found");
    app.delete("/api/v1/placements/00000000-0000-0000-0000-000000000000")
        .bearer(&app.admin())
        .send()
        .await
        .problem(405, "method-not-allowed");
    app.req(actix_web::http::Method::PUT, "/api/v1/practices").send().await.problem(405, "method-not-allowed");
    let health = app.get("/healthz").send().await;
    assert_eq!(health.status, 200);
    let ready = app.get("/readyz").send().await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["database"], app.backend.name());
}
