//! The audit trail: accepted writes and refused ones (401 for a token whose signature
//! verified, 403, 404 from scope) with actor, organisation, request id, entity, action and
//! outcome; read by admins through `/api/v1/audit` with filters and paging, and by an
//! organisation's partners for their own placements only.

use serde_json::{json, Value};

use crate::harness::{tag, Resp, TestApp, SECRET};

crate::on_both_backends!(writes_and_refusals_are_audited);
crate::on_both_backends!(graphql_refusals_are_audited_and_the_trail_read);

fn placement(staff: &str, host: &str) -> Value {
    json!({"staffRef": staff, "roleCode": "clinical-pharmacist", "hostType": "practice", "hostCode": host,
        "hoursPerWeek": 20, "startDate": "2026-09-01"})
}

fn entries(r: &Resp) -> Vec<Value> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

/// An HS256 token signed with the server's secret, with these claims.
fn signed(claims: Value) -> String {
    use base64::Engine;
    use hmac::{Mac, SimpleHmac};
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let input = format!("{}.{}", b64(br#"{"alg":"HS256","typ":"JWT"}"#), b64(claims.to_string().as_bytes()));
    let mut mac = SimpleHmac::<rsa::sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

async fn writes_and_refusals_are_audited(app: TestApp) {
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    app.practice("M83003", "Trent Vale", "ST4 6AA").await;
    let meir = app.partner("M83001", "placements:read placements:write");
    let trent = app.partner("M83003", "placements:read placements:write");
    let admin = app.admin();

    // An accepted write, with the client's request id; a response always carries one.
    let ok = app
        .post("/api/v1/placements")
        .bearer(&meir)
        .header("x-request-id", "meir-req-0001")
        .json(&placement("A-1", "M83001"))
        .send()
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    assert_eq!(ok.header("x-request-id").as_deref(), Some("meir-req-0001"));
    let own = ok.body["id"].as_str().unwrap().to_string();
    let other = app.post("/api/v1/placements").bearer(&trent).json(&placement("T-1", "M83003")).send().await;
    let other = other.body["id"].as_str().unwrap().to_string();
    let generated = app.get("/api/v1/roles").send().await.header("x-request-id").unwrap_or_default();
    assert_eq!(generated.len(), 36, "a UUID when the client sent none");

    // Refusals: out of scope (403), another's placement (404), an expired token (401).
    let forbidden = app
        .post("/api/v1/placements")
        .bearer(&meir)
        .header("x-request-id", "meir-req-0002")
        .json(&placement("A-2", "M83003"))
        .send()
        .await;
    forbidden.problem(403, "forbidden");
    let hidden = app
        .patch(&format!("/api/v1/placements/{other}"))
        .bearer(&meir)
        .if_match(&tag(1, &other))
        .json(&json!({"hoursPerWeek": 1}))
        .send()
        .await;
    hidden.problem(404, "not-found");
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let expired = signed(
        json!({"sub": "meir-old-system", "org": "M83001", "scope": "placements:write", "exp": t - 3600, "iat": t - 7200}),
    );
    app.post("/api/v1/placements")
        .bearer(&expired)
        .json(&placement("A-3", "M83001"))
        .send()
        .await
        .problem(401, "unauthenticated");
    // Neither an anonymous request nor a forged token names anybody: not recorded.
    app.post("/api/v1/placements").json(&placement("A-4", "M83001")).send().await.problem(401, "unauthenticated");
    let forged = format!("{}x", expired.trim_end_matches(|c| c != '.'));
    app.post("/api/v1/placements")
        .bearer(&forged)
        .json(&placement("A-5", "M83001"))
        .send()
        .await
        .problem(401, "unauthenticated");

    // Admins read the trail with filters.
    let refused = entries(&app.get("/api/v1/audit?outcome=forbidden").bearer(&admin).send().await);
    assert_eq!(refused.len(), 1, "{refused:?}");
    let f = &refused[0];
    assert_eq!(
        (f["actor"].as_str(), f["actorOrg"].as_str(), f["requestId"].as_str()),
        (Some("partner-of-M83001"), Some("M83001"), Some("meir-req-0002"))
    );
    assert_eq!((f["entity"].as_str(), f["action"].as_str()), (Some("placement"), Some("create")));
    // What it tried to write; nothing changed, so nothing before.
    assert_eq!((f["after"]["staffRef"].as_str(), f["after"]["hostCode"].as_str()), (Some("A-2"), Some("M83003")));
    assert!(f["before"].is_null(), "{f}");
    let nf = entries(&app.get("/api/v1/audit?outcome=not_found").bearer(&admin).send().await);
    assert_eq!((nf.len(), nf[0]["id"].as_str(), nf[0]["action"].as_str()), (1, Some(other.as_str()), Some("update")));
    assert_eq!(nf[0]["after"], json!({"hoursPerWeek": 1}), "the merge patch sent");
    let unauth = entries(&app.get("/api/v1/audit?outcome=unauthenticated").bearer(&admin).send().await);
    assert_eq!(unauth.len(), 1, "the expired token only: {unauth:?}");
    assert_eq!(unauth[0]["actor"], "meir-old-system");
    let accepted = entries(&app.get(&format!("/api/v1/audit?id={own}")).bearer(&admin).send().await);
    assert_eq!(accepted.len(), 1);
    assert_eq!(
        (accepted[0]["outcome"].as_str(), accepted[0]["requestId"].as_str()),
        (Some("accepted"), Some("meir-req-0001"))
    );
    assert_eq!(accepted[0]["after"]["staffRef"], "A-1", "the values written");
    let by_actor =
        entries(&app.get("/api/v1/audit?actor=partner-of-M83003&entity=placement").bearer(&admin).send().await);
    assert_eq!(by_actor.len(), 1);
    let later = entries(&app.get("/api/v1/audit?since=2999-01-01T00:00:00Z").bearer(&admin).send().await);
    assert!(later.is_empty());
    // Keyset pages.
    let first = app.get("/api/v1/audit?limit=2").bearer(&admin).send().await;
    assert_eq!(entries(&first).len(), 2);
    let next = first.body["next"].as_str().expect("a next page").to_string();
    let second = entries(&app.get(&next).bearer(&admin).send().await);
    assert!(!second.is_empty());
    assert_ne!(second[0]["cursor"], entries(&first)[1]["cursor"]);

    // A partner reads the entries of its own placements only: not the practices', not another's.
    let mine = entries(&app.get("/api/v1/audit").bearer(&meir).send().await);
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|e| e["entity"] == "placement" && e["id"] == own.as_str()), "{mine:?}");
    let theirs = entries(&app.get(&format!("/api/v1/audit?id={other}")).bearer(&meir).send().await);
    assert!(theirs.is_empty(), "another organisation's trail is not shown");
    let no_org = app.state.auth.mint("x", None, "placements:read", 600).unwrap();
    app.get("/api/v1/audit").bearer(&no_org).send().await.problem(403, "forbidden");
    app.get("/api/v1/audit").send().await.problem(401, "unauthenticated");

    // The change feed carries accepted writes only.
    let feed = app.get("/api/v1/changes?entity=placement").bearer(&admin).send().await;
    assert_eq!(feed.body["items"].as_array().unwrap().len(), 2, "{}", feed.text);
}

/// GraphQL mutations refused for who is asking are audited like REST's, with what they tried
/// to write; the trail reads the same through GraphQL as through `/api/v1/audit`.
async fn graphql_refusals_are_audited_and_the_trail_read(app: TestApp) {
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    app.practice("M83003", "Trent Vale", "ST4 6AA").await;
    let meir = app.partner("M83001", "placements:read placements:write");
    let trent = app.partner("M83003", "placements:read placements:write");
    let admin = app.admin();
    let other = app.post("/api/v1/placements").bearer(&trent).json(&placement("T-1", "M83003")).send().await;
    let other = other.body["id"].as_str().unwrap().to_string();
    let code = |r: &Resp| r.body["errors"][0]["extensions"]["code"].as_str().unwrap_or("").to_string();

    let create = "mutation($input: PlacementInput!) { createPlacement(input: $input) { databaseId } }";
    let input = |staff: &str, host: &str| {
        json!({"staffRef": staff, "roleCode": "clinical-pharmacist", "hostType": "PRACTICE", "hostCode": host,
            "hoursPerWeek": 10, "startDate": "2026-09-01"})
    };
    let own = app.gql(Some(&meir), create, json!({"input": input("G-1", "M83001")})).await;
    let own = own.body["data"]["createPlacement"]["databaseId"].as_str().expect("created").to_string();
    let r = app.gql(Some(&meir), create, json!({"input": input("G-2", "M83003")})).await;
    assert_eq!(code(&r), "FORBIDDEN", "{}", r.text);
    let end = "mutation($input: EndPlacementInput!) { endPlacement(input: $input) { id } }";
    let r = app
        .gql(Some(&meir), end, json!({"input": {"key": other, "expectedVersion": 1, "endDate": "2026-12-31"}}))
        .await;
    assert_eq!(code(&r), "NOT_FOUND", "{}", r.text);
    // A mistake about a write the caller may make is not a refusal: not recorded.
    let r = app
        .gql(
            Some(&meir),
            create,
            json!({"input": input("G-3", "M83001").as_object().cloned().map(|mut o| {
                o.insert("hoursPerWeek".into(), json!(-1));
                o
            })}),
        )
        .await;
    assert_eq!(code(&r), "BAD_USER_INPUT", "{}", r.text);

    let read = "query($filter: AuditFilter, $first: Int, $after: String) {
        audit(filter: $filter, first: $first, after: $after) {
            entries { cursor actor actorOrg action outcome entity id before after }
            nextCursor } }";
    let page = |r: Resp| {
        assert!(r.body["errors"].is_null(), "{}", r.text);
        r.body["data"]["audit"].clone()
    };
    let refused = page(app.gql(Some(&admin), read, json!({"filter": {"outcome": "FORBIDDEN"}})).await);
    let refused = refused["entries"].as_array().unwrap().clone();
    assert_eq!(refused.len(), 1, "{refused:?}");
    let f = &refused[0];
    assert_eq!((f["actor"].as_str(), f["actorOrg"].as_str()), (Some("partner-of-M83001"), Some("M83001")));
    assert_eq!((f["action"].as_str(), f["entity"].as_str()), (Some("CREATE"), Some("placement")));
    assert_eq!((f["after"]["staffRef"].as_str(), f["after"]["hostCode"].as_str()), (Some("G-2"), Some("M83003")));
    let hidden = page(app.gql(Some(&admin), read, json!({"filter": {"outcome": "NOT_FOUND"}})).await);
    let h = &hidden["entries"][0];
    assert_eq!((h["action"].as_str(), h["id"].as_str()), (Some("END"), Some(other.as_str())), "{hidden}");
    assert_eq!(h["after"]["endDate"], "2026-12-31");
    // The same filters and pages as REST.
    let rest = entries(&app.get("/api/v1/audit").bearer(&admin).send().await);
    let all = page(app.gql(Some(&admin), read, json!({})).await);
    assert_eq!(all["entries"].as_array().unwrap().len(), rest.len());
    let first = page(app.gql(Some(&admin), read, json!({"first": 1})).await);
    let next = first["nextCursor"].as_str().expect("a next page").to_string();
    let second = page(app.gql(Some(&admin), read, json!({"first": 1, "after": next})).await);
    assert_eq!(second["entries"][0]["cursor"], rest[1]["cursor"]);

    // A partner reads its own placements' entries only.
    let mine = page(app.gql(Some(&meir), read, json!({})).await);
    let mine = mine["entries"].as_array().unwrap().clone();
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|e| e["id"] == own.as_str()), "{mine:?}");
    let theirs = page(app.gql(Some(&meir), read, json!({"filter": {"id": other}})).await);
    assert!(theirs["entries"].as_array().unwrap().is_empty());
    let no_org = app.state.auth.mint("x", None, "placements:read", 600).unwrap();
    assert_eq!(code(&app.gql(Some(&no_org), read, json!({})).await), "FORBIDDEN");
    assert_eq!(code(&app.gql(None, read, json!({})).await), "UNAUTHENTICATED");
}
