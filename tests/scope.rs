//! Organisation scope, tried as an attacker would: a practice's token reaches only the
//! placements it hosts; a PCN's, also its members' for every day of the placement; `admin`,
//! all. Another organisation's placement is not found through REST lists, items, nested lists,
//! exports and the change feed, nor through GraphQL lists, nested fields and `node(id:)`.
//! Every refused write leaves the database as it was.

use serde_json::{json, Value};

use crate::harness::{tag, Resp, TestApp};

crate::on_both_backends!(reads_stay_within_reach, writes_stay_within_reach);

/// M83001 and M83002 (until 31 March 2026) are members of PCN U81234; M83003 is not.
async fn setup(app: &TestApp) -> Vec<String> {
    let admin = app.admin();
    for (ods, name) in [("M83001", "Meir Health Centre"), ("M83002", "Longton Hall Surgery"), ("M83003", "Trent Vale")]
    {
        app.practice(ods, name, "ST3 7DY").await;
    }
    let pcn = app.post("/api/v1/pcns").bearer(&admin).json(&json!({"code": "U81234", "name": "Meir PCN"})).send().await;
    assert_eq!(pcn.status, 201, "{}", pcn.text);
    for (ods, end) in [("M83001", Value::Null), ("M83002", json!("2026-03-31"))] {
        let m = app
            .post("/api/v1/pcn-memberships")
            .bearer(&admin)
            .json(&json!({"pcnCode": "U81234", "odsCode": ods, "startDate": "2025-04-01", "endDate": end}))
            .send()
            .await;
        assert_eq!(m.status, 201, "{}", m.text);
    }
    let mut ids = Vec::new();
    for (staff, host_type, host, start, end) in [
        ("OWN-1", "practice", "M83001", "2026-01-01", Value::Null),
        ("MEMBER-WITHIN", "practice", "M83002", "2025-06-01", json!("2026-01-31")),
        ("MEMBER-BEYOND", "practice", "M83002", "2026-01-01", json!("2026-12-31")),
        ("OTHER", "practice", "M83003", "2026-01-01", Value::Null),
        ("PCN-OWN", "pcn", "U81234", "2026-01-01", Value::Null),
        ("TRUST", "external", "RLY", "2026-01-01", Value::Null),
    ] {
        let r = app
            .post("/api/v1/placements")
            .bearer(&admin)
            .json(&placement(staff, host_type, host, start, end))
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    ids
}

fn placement(staff: &str, host_type: &str, host: &str, start: &str, end: Value) -> Value {
    let mut b = json!({"staffRef": staff, "roleCode": "clinical-pharmacist", "hostType": host_type, "hostCode": host,
        "hoursPerWeek": 20, "startDate": start, "endDate": end});
    if host_type == "external" {
        b["hostName"] = json!("Combined Healthcare");
    }
    b
}

async fn ask(app: &TestApp, token: &str, query: &str) -> Resp {
    app.gql(Some(token), query, json!({})).await
}

fn staff_refs(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.text);
    let mut refs: Vec<String> =
        r.body["items"].as_array().unwrap().iter().map(|p| p["staffRef"].as_str().unwrap().to_string()).collect();
    refs.sort();
    refs
}

async fn reads_stay_within_reach(app: TestApp) {
    let ids = setup(&app).await;
    let (own, other) = (&ids[0], &ids[3]);
    let practice = app.partner("M83001", "placements:read");
    let pcn = app.partner("U81234", "placements:read");

    // Lists: the practice sees its own; the PCN its own and its members' within membership.
    let list = |t: &str| app.get("/api/v1/placements").bearer(t).send();
    assert_eq!(staff_refs(&list(&practice).await), ["OWN-1"]);
    assert_eq!(staff_refs(&list(&pcn).await), ["MEMBER-WITHIN", "OWN-1", "PCN-OWN"]);
    assert_eq!(staff_refs(&list(&app.admin()).await).len(), 6);
    // Filters cannot widen it.
    let r = app.get("/api/v1/placements?host=M83003").bearer(&practice).send().await;
    assert!(staff_refs(&r).is_empty());
    // Nested lists, of a host, a role: the same rule.
    let r = app.get("/api/v1/practices/M83003/placements").bearer(&practice).send().await;
    assert!(staff_refs(&r).is_empty());
    let r = app.get("/api/v1/roles/clinical-pharmacist/placements").bearer(&pcn).send().await;
    assert_eq!(staff_refs(&r), ["MEMBER-WITHIN", "OWN-1", "PCN-OWN"]);
    let r = app.get("/api/v1/pcns/U81234/placements").bearer(&practice).send().await;
    assert!(staff_refs(&r).is_empty(), "the PCN's own placements are not its members'");

    // Items: another organisation's placement is not found, its existence not revealed.
    let r = app.get(&format!("/api/v1/placements/{other}")).bearer(&practice).send().await;
    r.problem(404, "not-found");
    let missing = app.get("/api/v1/placements/00000000-0000-0000-0000-000000000000").bearer(&practice).send().await;
    assert_eq!(
        r.body["detail"].as_str().map(|d| d.replace(other.as_str(), "ID")),
        missing.body["detail"].as_str().map(|d| d.replace("00000000-0000-0000-0000-000000000000", "ID")),
        "the same answer as for a placement that does not exist"
    );
    assert_eq!(app.get(&format!("/api/v1/placements/{own}")).bearer(&practice).send().await.status, 200);

    // Exports: every row the caller reaches, no more.
    let csv = app.get("/api/v1/placements").bearer(&pcn).header("accept", "text/csv").send().await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.text.lines().count(), 4, "a header and three rows: {}", csv.text);
    assert!(!csv.text.contains("OTHER") && !csv.text.contains("TRUST"));

    // The change feed: a placement's changes only while it is within reach.
    let feed = app.get("/api/v1/changes?entity=placement").bearer(&practice).send().await;
    assert_eq!(feed.status, 200, "{}", feed.text);
    let seen: Vec<&str> = feed.body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(seen, [own.as_str()]);
    let all = app.get("/api/v1/changes").bearer(&practice).send().await;
    let placements_seen = all.body["items"].as_array().unwrap().iter().filter(|c| c["entity"] == "placement").count();
    assert_eq!(placements_seen, 1, "the unfiltered feed leaves the rest out too");

    // GraphQL: lists, counts, items, node(id:) and nested fields.
    let r = ask(&app, &practice, "{ placements { totalCount edges { node { staffRef } } } }").await;
    assert_eq!(r.body["data"]["placements"]["totalCount"], 1, "{}", r.text);
    let r = ask(&app, &practice, &format!("{{ placement(id: \"{other}\") {{ staffRef }} }}")).await;
    assert_eq!(r.body["data"]["placement"], Value::Null, "{}", r.text);
    let node_id = pcr_api::graphql::global_id("Placement", other);
    let r = ask(&app, &practice, &format!("{{ node(id: \"{}\") {{ id }} }}", node_id.as_str())).await;
    assert_eq!(r.body["data"]["node"], Value::Null, "{}", r.text);
    let r = ask(
        &app,
        &practice,
        r#"{ practice(odsCode: "M83003") { placements { totalCount edges { node { staffRef } } } } }"#,
    )
    .await;
    assert_eq!(r.body["data"]["practice"]["placements"]["totalCount"], 0, "{}", r.text);
    let r = ask(&app, &pcn, r#"{ pcn(code: "U81234") { practices { edges { node { odsCode placements { edges { node { staffRef } } } } } } } }"#).await;
    let nested: Vec<String> = r.body["data"]["pcn"]["practices"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.text))
        .iter()
        .flat_map(|e| e["node"]["placements"]["edges"].as_array().unwrap().clone())
        .map(|e| e["node"]["staffRef"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(nested, ["OWN-1"], "members today, with the placements within reach");

    // A token for placements must act for an organisation, unless `admin`.
    let no_org = app.state.auth.mint("partner-without-org", None, "placements:read", 600).unwrap();
    app.get("/api/v1/placements").bearer(&no_org).send().await.problem(403, "forbidden");
    app.get(&format!("/api/v1/placements/{own}")).bearer(&no_org).send().await.problem(403, "forbidden");
    let r = ask(&app, &no_org, "{ placements { totalCount } }").await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{}", r.text);
}

async fn writes_stay_within_reach(app: TestApp) {
    let ids = setup(&app).await;
    let (own, within, other) = (&ids[0], &ids[1], &ids[3]);
    let practice = app.partner("M83001", "placements:read placements:write");
    let pcn = app.partner("U81234", "placements:read placements:write");
    let before = app.count("placement_records");
    let audit_before = app.count("audit_events WHERE outcome = 'accepted'");
    let unchanged = |what: &str| {
        assert_eq!(app.count("placement_records"), before, "{what}: no placement written");
        assert_eq!(app.count("audit_events WHERE outcome = 'accepted'"), audit_before, "{what}: no change recorded");
    };

    // Creating elsewhere: another practice, a PCN, a federation-less external trust.
    for (host_type, host) in [("practice", "M83003"), ("pcn", "U81234"), ("external", "RLY"), ("practice", "M83002")] {
        let r = app
            .post("/api/v1/placements")
            .bearer(&practice)
            .json(&placement("X", host_type, host, "2026-09-01", Value::Null))
            .send()
            .await;
        r.problem(403, "forbidden");
        unchanged(host);
    }
    // A PCN writes its members' placements only for days they are members.
    let beyond = placement("X", "practice", "M83002", "2026-03-01", json!("2026-04-30"));
    app.post("/api/v1/placements").bearer(&pcn).json(&beyond).send().await.problem(403, "forbidden");
    unchanged("past the membership's end");
    let inside = placement("PCN-NEW", "practice", "M83002", "2025-05-01", json!("2026-03-31"));
    let r = app.post("/api/v1/placements").bearer(&pcn).json(&inside).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app
        .post("/api/v1/placements")
        .bearer(&pcn)
        .json(&placement("PCN-NEW2", "practice", "M83001", "2026-09-01", Value::Null))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let (before, audit_before) = (app.count("placement_records"), app.count("audit_events WHERE outcome = 'accepted'"));
    let unchanged = |what: &str| {
        assert_eq!(app.count("placement_records"), before, "{what}: no placement written");
        assert_eq!(app.count("audit_events WHERE outcome = 'accepted'"), audit_before, "{what}: no change recorded");
    };

    // Changing another organisation's placement: not found, whatever the method; the
    // version is not revealed (no 412), the body is not judged (no 422).
    let path = format!("/api/v1/placements/{other}");
    let patch =
        app.patch(&path).bearer(&practice).if_match(&tag(1, other)).json(&json!({"hoursPerWeek": 1})).send().await;
    patch.problem(404, "not-found");
    let stale =
        app.patch(&path).bearer(&practice).if_match(&tag(9, other)).json(&json!({"hoursPerWeek": -1})).send().await;
    stale.problem(404, "not-found");
    let put = app
        .put(&path)
        .bearer(&practice)
        .if_match(&tag(1, other))
        .json(&placement("OTHER", "practice", "M83001", "2026-01-01", Value::Null))
        .send()
        .await;
    put.problem(404, "not-found");
    let end = app.post(&format!("{path}/end")).bearer(&practice).if_match(&tag(1, other)).send().await;
    end.problem(404, "not-found");
    unchanged("another organisation's placement");
    let still = app.get(&path).bearer(&app.admin()).send().await;
    assert_eq!((still.body["version"].as_i64(), still.body["hoursPerWeek"].as_f64()), (Some(1), Some(20.0)));

    // Moving one's own placement out of reach needs reach at both ends.
    let out = placement("OWN-1", "practice", "M83003", "2026-01-01", Value::Null);
    let r =
        app.put(&format!("/api/v1/placements/{own}")).bearer(&practice).if_match(&tag(1, own)).json(&out).send().await;
    r.problem(403, "forbidden");
    let r = app
        .patch(&format!("/api/v1/placements/{own}"))
        .bearer(&practice)
        .if_match(&tag(1, own))
        .json(&json!({"hostType": "external", "hostCode": "RLY", "hostName": "Combined Healthcare"}))
        .send()
        .await;
    r.problem(403, "forbidden");
    // A PCN cannot stretch a member's placement past the membership.
    let r = app
        .patch(&format!("/api/v1/placements/{within}"))
        .bearer(&pcn)
        .if_match(&tag(1, within))
        .json(&json!({"endDate": null}))
        .send()
        .await;
    r.problem(403, "forbidden");
    unchanged("moving out of reach");

    // GraphQL, the same.
    let code = |r: &Resp| r.body["errors"][0]["extensions"]["code"].as_str().unwrap_or("").to_string();
    let create = "mutation($input: PlacementInput!) { createPlacement(input: $input) { id } }";
    let input = json!({"staffRef": "G", "roleCode": "clinical-pharmacist", "hostType": "PRACTICE", "hostCode": "M83003",
        "hoursPerWeek": 10, "startDate": "2026-09-01"});
    let r = app.gql(Some(&practice), create, json!({"input": input})).await;
    assert_eq!(code(&r), "FORBIDDEN", "{}", r.text);
    let update = "mutation($input: UpdatePlacementInput!) { updatePlacement(input: $input) { id } }";
    let data = json!({"staffRef": "OTHER", "roleCode": "clinical-pharmacist", "hostType": "PRACTICE", "hostCode": "M83001",
        "hoursPerWeek": 20, "startDate": "2026-01-01"});
    let r =
        app.gql(Some(&practice), update, json!({"input": {"key": other, "expectedVersion": 1, "data": data}})).await;
    assert_eq!(code(&r), "NOT_FOUND", "{}", r.text);
    let end = "mutation($input: EndPlacementInput!) { endPlacement(input: $input) { id } }";
    let r = app.gql(Some(&practice), end, json!({"input": {"key": other, "expectedVersion": 1}})).await;
    assert_eq!(code(&r), "NOT_FOUND", "{}", r.text);
    unchanged("GraphQL");

    // The caller before the body: no token is 401, a token without `org` 403, whatever the body.
    let garbage = app.post("/api/v1/placements").raw("application/json", "{\"hostType\": \"castle\"").send().await;
    garbage.problem(401, "unauthenticated");
    let invalid = app.post("/api/v1/placements").json(&json!({"hostType": "castle"})).send().await;
    invalid.problem(401, "unauthenticated");
    assert!(!invalid.text.contains("practice"), "no valid values listed to a stranger: {}", invalid.text);
    let no_org = app.state.auth.mint("partner-without-org", None, "placements:write", 600).unwrap();
    app.post("/api/v1/placements")
        .bearer(&no_org)
        .json(&json!({"hostType": "castle"}))
        .send()
        .await
        .problem(403, "forbidden");
    let fine = placement("NO-ORG", "practice", "M83001", "2026-09-01", Value::Null);
    app.post("/api/v1/placements").bearer(&no_org).json(&fine).send().await.problem(403, "forbidden");
    unchanged("a token without org");

    // `admin` writes anywhere.
    let r = app
        .post("/api/v1/placements")
        .bearer(&app.admin())
        .json(&placement("ADMIN", "practice", "M83003", "2026-09-01", Value::Null))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}
