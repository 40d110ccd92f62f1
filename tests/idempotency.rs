//! `Idempotency-Key`: a retry gets the first answer and writes nothing; the same key with
//! another request is 422, one still running 409; keys belong to the token's subject and
//! expire; and a storm of retries from many clients ends with one record per key.

use serde_json::{json, Value};

use crate::harness::{tag, Resp, TestApp};

crate::on_both_backends!(retries_get_the_first_answer, retry_storm_writes_each_key_once);

fn body(staff: &str, host: &str) -> Value {
    json!({"staffRef": staff, "roleCode": "clinical-pharmacist", "hostType": "practice", "hostCode": host,
        "hoursPerWeek": 30, "startDate": "2026-09-01"})
}

async fn post(app: &TestApp, token: &str, key: &str, body: &Value) -> Resp {
    app.post("/api/v1/placements").bearer(token).header("idempotency-key", key).json(body).send().await
}

async fn retries_get_the_first_answer(app: TestApp) {
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    app.practice("M83003", "Trent Vale", "ST4 6AA").await;
    let partner = app.partner("M83001", "placements:read placements:write");
    let (placements, audit) = (app.count("placement_records"), app.count("audit_events"));

    // The first answer, then the same again: status, headers and body; one write.
    let first = post(&app, &partner, "key-0001", &body("IDEM-1", "M83001")).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = post(&app, &partner, "key-0001", &body("IDEM-1", "M83001")).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.bytes, first.bytes, "the same body, byte for byte");
    for h in ["etag", "location", "content-type"] {
        assert_eq!(again.header(h), first.header(h), "{h}");
    }
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(app.count("placement_records"), placements + 1, "one placement");
    assert_eq!(app.count("audit_events"), audit + 1, "one change recorded");

    // The same key with another request: 422, nothing written.
    let other = post(&app, &partner, "key-0001", &body("IDEM-2", "M83001")).await;
    other.problem(422, "validation");
    assert_eq!(other.fields(), ["Idempotency-Key"]);
    assert_eq!(app.count("placement_records"), placements + 1);
    // The same request under another key is another placement.
    assert_eq!(post(&app, &partner, "key-0002", &body("IDEM-1", "M83001")).await.status, 201);
    assert_eq!(app.count("placement_records"), placements + 2);

    // Keys belong to the token's subject: another partner's same key is its own.
    let pcn_writer = app.state.auth.mint("another-system", Some("M83001"), "placements:write", 600).unwrap();
    let theirs = post(&app, &pcn_writer, "key-0001", &body("IDEM-3", "M83001")).await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    assert_eq!(theirs.header("idempotent-replayed"), None);
    // And its answer to the caller as it was: the same subject acting for another
    // organisation, or with other scopes, makes another request, never a replay of the first
    // (which would show one organisation's placement to a token for another).
    let first_id = first.body["id"].as_str().unwrap().to_string();
    for (org, scopes) in [("M83003", "placements:read placements:write"), ("M83001", "placements:write")] {
        let crossed = app.state.auth.mint("partner-of-M83001", Some(org), scopes, 600).unwrap();
        let r = post(&app, &crossed, "key-0001", &body("IDEM-1", "M83001")).await;
        r.problem(422, "validation");
        assert_eq!(r.header("idempotent-replayed"), None);
        assert!(!r.text.contains(&first_id), "{}", r.text);
    }

    // A refusal is the answer too: a retry is refused the same way and writes nothing.
    let refused = post(&app, &partner, "key-0003", &body("IDEM-4", "M83003")).await;
    refused.problem(403, "forbidden");
    let refused_again = post(&app, &partner, "key-0003", &body("IDEM-4", "M83003")).await;
    refused_again.problem(403, "forbidden");
    assert_eq!(refused_again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(refused_again.body, refused.body);

    // Malformed keys, and two keys, are 400.
    for key in ["", "has space", &"k".repeat(256)] {
        post(&app, &partner, key, &body("IDEM-5", "M83001")).await.problem(400, "bad-request");
    }
    let two = app
        .post("/api/v1/placements")
        .bearer(&partner)
        .header("idempotency-key", "a")
        .append_header("idempotency-key", "b")
        .json(&body("IDEM-5", "M83001"))
        .send()
        .await;
    two.problem(400, "bad-request");
    // The caller comes first: no token is 401 whatever the key.
    let anonymous =
        app.post("/api/v1/placements").header("idempotency-key", "key-0001").json(&body("X", "M83001")).send().await;
    anonymous.problem(401, "unauthenticated");

    // A request still running holds its key: a retry is told to come back (409) and does
    // not write; once the holder has lapsed (its replica died), the retry takes the key.
    let held = body("IDEM-HELD", "M83001");
    let print = pcr_api::rest::idempotency::digest(&[b"POST", b"/api/v1/placements", b"", held.to_string().as_bytes()]);
    let sql = |s: String| {
        use diesel::RunQueryDsl;
        let mut c = app.db().conn().unwrap();
        diesel::sql_query(s).execute(&mut *c).unwrap();
    };
    sql(format!(
        "INSERT INTO idempotency_keys (subject, idempotency_key, fingerprint, claim, claimed_at, expires_at) \
         VALUES ('partner-of-M83001', 'key-held', '{print} org=M83001 scopes=placements:read,placements:write', 'another-replica', CURRENT_TIMESTAMP, '2099-01-01 00:00:00')"
    ));
    let before = app.count("placement_records");
    let busy = post(&app, &partner, "key-held", &held).await;
    busy.problem(409, "conflict");
    assert_eq!(app.count("placement_records"), before);
    sql("UPDATE idempotency_keys SET claimed_at = '2000-01-01 00:00:00' WHERE idempotency_key = 'key-held'".into());
    let taken = post(&app, &partner, "key-held", &held).await;
    assert_eq!(taken.status, 201, "{}", taken.text);
    assert_eq!(app.count("placement_records"), before + 1);

    // Keys expire: afterwards the key is free for a new request.
    sql("UPDATE idempotency_keys SET expires_at = '2000-01-01 00:00:00' WHERE idempotency_key = 'key-0001'".into());
    let reused = post(&app, &partner, "key-0001", &body("IDEM-6", "M83001")).await;
    assert_eq!(reused.status, 201, "{}", reused.text);
    assert_eq!(reused.body["staffRef"], "IDEM-6");

    // Ending a placement is a POST too.
    let id = first.body["id"].as_str().unwrap();
    let end = |key: &'static str| {
        app.post(&format!("/api/v1/placements/{id}/end"))
            .bearer(&partner)
            .if_match(&tag(1, id))
            .header("idempotency-key", key)
            .json(&json!({"endDate": "2026-12-31"}))
            .send()
    };
    let ended = end("end-1").await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    let ended_again = end("end-1").await;
    assert_eq!((ended_again.status, ended_again.bytes.clone()), (200, ended.bytes.clone()), "not a 412");
    assert_eq!(ended_again.header("etag"), Some(tag(2, id)));
    let now = app.get(&format!("/api/v1/placements/{id}")).bearer(&partner).send().await;
    assert_eq!(now.body["version"], 2, "ended once");

    // GraphQL create mutations take the key as an argument.
    let create = "mutation($input: PlacementInput!, $key: String) { createPlacement(input: $input, idempotencyKey: $key) { id staffRef } }";
    let input = json!({"staffRef": "GQL-1", "roleCode": "clinical-pharmacist", "hostType": "PRACTICE", "hostCode": "M83001",
        "hoursPerWeek": 10, "startDate": "2026-09-01"});
    let before = app.count("placement_records");
    let a = app.gql(Some(&partner), create, json!({"input": input, "key": "gql-1"})).await;
    let b = app.gql(Some(&partner), create, json!({"input": input, "key": "gql-1"})).await;
    assert!(a.body["errors"].is_null(), "{}", a.text);
    assert_eq!(a.body["data"], b.body["data"], "the same placement: {}", b.text);
    assert_eq!(app.count("placement_records"), before + 1);
    let mut changed = input.clone();
    changed["staffRef"] = json!("GQL-2");
    let c = app.gql(Some(&partner), create, json!({"input": changed, "key": "gql-1"})).await;
    assert_eq!(c.body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{}", c.text);
    assert_eq!(app.count("placement_records"), before + 1);
    let elsewhere =
        app.state.auth.mint("partner-of-M83001", Some("M83003"), "placements:read placements:write", 600).unwrap();
    let d = app.gql(Some(&elsewhere), create, json!({"input": input, "key": "gql-1"})).await;
    assert_eq!(d.body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "not a replay: {}", d.text);
    assert!(d.body["data"].is_null(), "{}", d.text);
}

/// 1,000 POSTs over 100 keys from 16 concurrent clients, each retrying while its key is
/// held: exactly 100 placements, and every answer for a key names the same one.
async fn retry_storm_writes_each_key_once(app: TestApp) {
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    let partner = app.partner("M83001", "placements:read placements:write");
    let before = app.count("placement_records");
    let client = |n: usize| {
        let (app, partner) = (&app, &partner);
        async move {
            let mut seen = Vec::new();
            for i in (n..1000).step_by(16) {
                let key = format!("storm-{:03}", i % 100);
                let b = body(&format!("STORM-{:03}", i % 100), "M83001");
                loop {
                    let r = post(app, partner, &key, &b).await;
                    match r.status {
                        201 => {
                            seen.push((key.clone(), r.body["id"].as_str().unwrap().to_string()));
                            break;
                        }
                        409 => actix_web::rt::time::sleep(std::time::Duration::from_millis(2)).await,
                        s => panic!("unexpected {s}: {}", r.text),
                    }
                }
            }
            seen
        }
    };
    let answers: Vec<(String, String)> =
        futures_util::future::join_all((0..16).map(client)).await.into_iter().flatten().collect();
    assert_eq!(answers.len(), 1000);
    assert_eq!(app.count("placement_records"), before + 100, "one placement per key");
    let mut by_key: std::collections::HashMap<String, std::collections::HashSet<String>> = Default::default();
    for (key, id) in answers {
        by_key.entry(key).or_default().insert(id);
    }
    assert_eq!(by_key.len(), 100);
    assert!(by_key.values().all(|ids| ids.len() == 1), "every answer for a key names the same placement");
}
