//! One organisation model: organisations of every kind by kind and parent, affiliations
//! over time both ways, containment on the edges of periods, PCNs hosting placements, and
//! the demo's commissioners, PCNs and PCN-hosted placements.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::harness::{tag, Resp, TestApp};

crate::on_both_backends!(
    organisations_by_kind_and_parent,
    affiliations_over_time,
    containment_on_edge_dates,
    pcn_hosted_placements,
    demo_commissioners_pcns_and_placements,
);

/// The `code` of every organisation in a list.
fn codes(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().iter().map(|o| o["code"].as_str().unwrap().to_string()).collect()
}

/// The member codes of a `/members` answer.
fn member_codes(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["organisation"]["code"].as_str().unwrap().to_string())
        .collect()
}

async fn create(app: &TestApp, path: &str, body: Value) -> Value {
    let r = app.post(path).bearer(&app.admin()).json(&body).send().await;
    assert_eq!(r.status, 201, "POST {path} {body}: {}", r.text);
    r.body
}

async fn pcn(app: &TestApp, code: &str, name: &str) -> Value {
    create(app, "/api/v1/pcns", json!({"code": code, "name": name, "icbCode": "QNC"})).await
}

async fn membership(app: &TestApp, group: &str, code: &str, ods: &str, start: &str, end: Option<&str>) -> Value {
    let (path, field) = match group {
        "pcn" => ("/api/v1/pcn-memberships", "pcnCode"),
        "federation" => ("/api/v1/federation-memberships", "federationCode"),
        _ => ("/api/v1/ict-memberships", "ictCode"),
    };
    let mut body = json!({field: code, "odsCode": ods, "startDate": start});
    if let Some(e) = end {
        body["endDate"] = json!(e);
    }
    create(app, path, body).await
}

async fn organisations_by_kind_and_parent(app: TestApp) {
    for (ods, name, pc) in [
        ("M83001", "Meir Health Centre", "ST3 6AB"),
        ("M83002", "Weston Coyney Surgery", "ST3 5JP"),
        ("M83003", "Longton Hall Surgery", "ST3 2NJ"),
        ("M83004", "Blurton Road Practice", "ST3 3AZ"),
    ] {
        app.practice(ods, name, pc).await;
    }
    create(&app, "/api/v1/federations", json!({"code": "NSGPF", "name": "North Staffordshire GP Federation"})).await;
    create(&app, "/api/v1/icts", json!({"code": "ICT-MEIR", "name": "Meir Integrated Care Team"})).await;
    let meir_pcn = pcn(&app, "u12345", "Meir PCN").await;
    assert_eq!(meir_pcn["code"], "U12345", "codes are upper-cased");
    pcn(&app, "U12346", "Longton PCN").await;
    membership(&app, "pcn", "U12345", "M83001", "2019-07-01", None).await;
    membership(&app, "pcn", "U12345", "M83002", "2019-07-01", None).await;
    membership(&app, "pcn", "U12346", "M83003", "2019-07-01", None).await;
    membership(&app, "federation", "NSGPF", "M83001", "2016-04-01", None).await;
    membership(&app, "federation", "NSGPF", "M83002", "2016-04-01", Some("2020-03-31")).await;
    membership(&app, "federation", "NSGPF", "M83004", "2021-04-01", None).await;

    let get = |path: String| app.get(&path).send();
    assert_eq!(codes(&get("/api/v1/organisations?kind=pcn".into()).await), ["U12345", "U12346"]);
    let all_pcns = get("/api/v1/organisations?kind=pcn".into()).await;
    assert!(all_pcns.body["items"].as_array().unwrap().iter().all(|o| o["kind"] == "pcn"));
    assert_eq!(codes(&get("/api/v1/organisations?kind=federation".into()).await), ["NSGPF"]);
    assert_eq!(codes(&get("/api/v1/organisations?kind=ict".into()).await), ["ICT-MEIR"]);
    assert_eq!(codes(&get("/api/v1/organisations?kind=practice&partOf=U12345".into()).await), ["M83001", "M83002"]);
    assert_eq!(codes(&get("/api/v1/organisations?kind=practice&partOf=u12346".into()).await), ["M83003"]);
    assert_eq!(
        codes(&get("/api/v1/organisations?kind=practice&partOf=U12345&active_on=2019-06-30".into()).await),
        Vec::<String>::new(),
        "before the PCN memberships began"
    );
    assert_eq!(
        codes(&get("/api/v1/organisations?partOf=NSGPF&active_on=2018-01-01".into()).await),
        ["M83001", "M83002"]
    );
    assert_eq!(
        codes(&get("/api/v1/organisations?partOf=NSGPF&active_on=2020-03-31".into()).await),
        ["M83001", "M83002"],
        "the last day of M83002's membership"
    );
    assert_eq!(
        codes(&get("/api/v1/organisations?partOf=NSGPF&active_on=2020-04-01".into()).await),
        ["M83001"],
        "the day after it ended, before M83004 joined"
    );
    assert_eq!(
        codes(&get("/api/v1/organisations?partOf=NSGPF&active_on=2022-01-01".into()).await),
        ["M83001", "M83004"]
    );
    assert_eq!(codes(&get("/api/v1/organisations?partOf=NSGPF".into()).await), ["M83001", "M83004"], "today");
    assert_eq!(
        codes(&get("/api/v1/organisations?partOf=ICT-MEIR".into()).await),
        Vec::<String>::new(),
        "an ICT without members"
    );

    // q: part of the name in any case, or an exact code.
    assert_eq!(codes(&get("/api/v1/organisations?q=MEIR".into()).await), ["ICT-MEIR", "M83001", "U12345"]);
    assert_eq!(codes(&get("/api/v1/organisations?q=longton".into()).await), ["M83003", "U12346"]);
    assert_eq!(codes(&get("/api/v1/organisations?q=u12346".into()).await), ["U12346"]);
    assert_eq!(codes(&get("/api/v1/organisations?q=surgery&kind=practice".into()).await), ["M83002", "M83003"]);
    assert_eq!(codes(&get("/api/v1/organisations?q=nothing-like-this".into()).await), Vec::<String>::new());
    assert_eq!(
        codes(&get("/api/v1/organisations?kind=practice&sort=-name".into()).await),
        ["M83002", "M83001", "M83003", "M83004"],
        "by name, descending"
    );

    // Paging: `limit`, then the `next` link until there is none.
    let first = get("/api/v1/organisations?kind=practice&limit=3".into()).await;
    assert_eq!(codes(&first), ["M83001", "M83002", "M83003"]);
    let next = first.body["next"].as_str().expect("a next link").to_string();
    assert!(next.starts_with("/api/v1/organisations?") && next.contains("limit=3"), "{next}");
    assert_eq!(first.header("link"), Some(format!("<{next}>; rel=\"next\"")));
    let second = get(next).await;
    assert_eq!(codes(&second), ["M83004"]);
    assert_eq!(second.body["next"], Value::Null, "the last page");
    let mut walked = Vec::new();
    let mut path = Some("/api/v1/organisations?limit=2".to_string());
    while let Some(p) = path {
        let page = get(p).await;
        walked.extend(codes(&page));
        path = page.body["next"].as_str().map(str::to_string);
    }
    assert_eq!(walked, ["ICT-MEIR", "M83001", "M83002", "M83003", "M83004", "NSGPF", "U12345", "U12346"]);

    // One organisation of each kind, by code (any case) or id.
    let one = |code: &str| app.get(&format!("/api/v1/organisations/{code}")).send();
    let practice = one("m83001").await;
    assert_eq!(practice.status, 200, "{}", practice.text);
    let id = practice.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        (&practice.body["code"], &practice.body["kind"], &practice.body["name"], &practice.body["status"]),
        (&json!("M83001"), &json!("practice"), &json!("Meir Health Centre"), &json!("active"))
    );
    assert_eq!(practice.body["active"], true);
    assert_eq!(practice.etag(), tag(1, &id));
    assert_eq!(one(&id).await.body["code"], "M83001", "by id");
    let p = one("U12345").await;
    assert_eq!(
        (&p.body["kind"], &p.body["name"], &p.body["status"]),
        (&json!("pcn"), &json!("Meir PCN"), &json!("active"))
    );
    assert_eq!(p.body["id"], meir_pcn["id"]);
    let f = one("NSGPF").await;
    assert_eq!(
        (&f.body["kind"], &f.body["status"], &f.body["source"]),
        (&json!("federation"), &json!("active"), &json!("api"))
    );
    let i = one("ict-meir").await;
    assert_eq!(
        (&i.body["kind"], &i.body["status"], &i.body["active"]),
        (&json!("ict"), &json!("planned"), &json!(false)),
        "a planned ICT is not yet working"
    );

    // Refusals: unknown code 404; unknown parameter or kind 400.
    one("Z99999").await.problem(404, "not-found");
    let unknown = get("/api/v1/organisations?colour=red".into()).await;
    unknown.problem(400, "bad-request");
    assert_eq!(unknown.fields(), ["colour"]);
    let bad_kind = get("/api/v1/organisations?kind=hospital".into()).await;
    bad_kind.problem(400, "bad-request");
    assert_eq!(bad_kind.fields(), ["kind"]);
    get("/api/v1/organisations?active_on=someday".into()).await.problem(400, "bad-request");
    get("/api/v1/organisations?partof=NSGPF".into()).await.problem(400, "bad-request");
    get("/api/v1/organisations/M83001?kind=practice".into()).await.problem(400, "bad-request");
    let bad_limit = get("/api/v1/organisations?limit=0".into()).await;
    assert!(matches!(bad_limit.status, 400 | 422), "{}", bad_limit.text);
    assert_eq!(bad_limit.fields(), ["limit"]);
    let bad_sort = get("/api/v1/organisations?sort=population".into()).await;
    assert!(matches!(bad_sort.status, 400 | 422), "{}", bad_sort.text);
    assert_eq!(bad_sort.fields(), ["sort"]);
}

async fn affiliations_over_time(app: TestApp) {
    let token = app.admin();
    app.practice("M83001", "Meir Health Centre", "ST3 6AB").await;
    app.practice("M83002", "Weston Coyney Surgery", "ST3 5JP").await;
    create(&app, "/api/v1/federations", json!({"code": "NSGPF", "name": "North Staffordshire GP Federation"})).await;
    pcn(&app, "U12345", "Meir PCN").await;
    let fm = membership(&app, "federation", "NSGPF", "M83001", "2016-04-01", None).await;
    let pm1 = membership(&app, "pcn", "U12345", "M83001", "2019-07-01", None).await;
    let pm2 = membership(&app, "pcn", "U12345", "M83002", "2019-07-01", None).await;
    assert_eq!(pm2["pcnCode"], "U12345");
    assert_eq!(pm2["odsCode"], "M83002");
    assert_eq!(pm2["version"], 1);

    // M83002 leaves the PCN on 2023-03-31.
    let id = pm2["id"].as_str().unwrap();
    let ended = app
        .patch(&format!("/api/v1/pcn-memberships/{id}"))
        .bearer(&token)
        .if_match(&tag(1, id))
        .json(&json!({"endDate": "2023-03-31"}))
        .send()
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert_eq!((&ended.body["endDate"], &ended.body["version"]), (&json!("2023-03-31"), &json!(2)));
    let reread = app.get(&format!("/api/v1/pcn-memberships/{id}")).send().await;
    assert_eq!(reread.body["endDate"], "2023-03-31");
    assert_eq!(reread.etag(), tag(2, id));

    // (kind, member, parent, start, end, current, version) of each affiliation.
    type Row = (String, String, String, Value, Value, bool, i64);
    let affiliations = |path: String| {
        let app = &app;
        async move {
            let r = app.get(&path).send().await;
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| -> Row {
                    (
                        a["kind"].as_str().unwrap().into(),
                        a["member"]["code"].as_str().unwrap().into(),
                        a["parent"]["code"].as_str().unwrap().into(),
                        a["startDate"].clone(),
                        a["endDate"].clone(),
                        a["current"].as_bool().unwrap(),
                        a["version"].as_i64().unwrap(),
                    )
                })
                .collect::<Vec<Row>>()
        }
    };
    let row = |member: &str, parent: &str, start: &str, end: Option<&str>, current: bool, version: i64| -> Row {
        ("member_of".into(), member.into(), parent.into(), json!(start), json!(end), current, version)
    };
    let fed_m1 = row("M83001", "NSGPF", "2016-04-01", None, true, 1);
    let pcn_m1 = row("M83001", "U12345", "2019-07-01", None, true, 1);
    let pcn_m2 = row("M83002", "U12345", "2019-07-01", Some("2023-03-31"), false, 2);

    // As the member.
    assert_eq!(
        affiliations("/api/v1/organisations/M83001/affiliations".into()).await,
        [fed_m1.clone(), pcn_m1.clone()]
    );
    assert_eq!(affiliations("/api/v1/organisations/M83002/affiliations".into()).await, std::slice::from_ref(&pcn_m2));
    assert_eq!(
        affiliations("/api/v1/organisations/M83002/affiliations?active_on=2023-03-31".into()).await,
        std::slice::from_ref(&pcn_m2),
        "the last day"
    );
    assert_eq!(
        affiliations("/api/v1/organisations/M83002/affiliations?active_on=2023-04-01".into()).await,
        Vec::<Row>::new(),
        "the day after"
    );
    assert_eq!(
        affiliations("/api/v1/organisations/M83001/affiliations?active_on=2018-01-01".into()).await,
        std::slice::from_ref(&fed_m1),
        "before PCNs"
    );
    assert_eq!(
        affiliations("/api/v1/organisations/M83001/affiliations?kind=pcn".into()).await,
        std::slice::from_ref(&pcn_m1),
        "only those with a PCN"
    );
    // As the parent.
    assert_eq!(
        affiliations("/api/v1/organisations/U12345/affiliations".into()).await,
        [pcn_m1.clone(), pcn_m2.clone()]
    );
    assert_eq!(
        affiliations("/api/v1/organisations/U12345/affiliations?active_on=2024-01-01".into()).await,
        std::slice::from_ref(&pcn_m1)
    );
    assert_eq!(affiliations("/api/v1/organisations/NSGPF/affiliations".into()).await, std::slice::from_ref(&fed_m1));
    let ids = app.get("/api/v1/organisations/U12345/affiliations").send().await;
    let ids: Vec<&str> = ids.body["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [pm1["id"].as_str().unwrap(), id], "each is the membership, by id");
    let whole = app.get("/api/v1/organisations/M83002/affiliations").send().await;
    assert_eq!(
        whole.body["items"][0]["member"],
        json!({"code": "M83002", "kind": "practice", "name": "Weston Coyney Surgery"})
    );
    assert_eq!(whole.body["items"][0]["parent"], json!({"code": "U12345", "kind": "pcn", "name": "Meir PCN"}));
    let fed = app.get("/api/v1/organisations/NSGPF/affiliations").send().await;
    assert_eq!(fed.body["items"][0]["id"], fm["id"]);

    // Members of the PCN before and after the end date.
    let members = |day: &str| app.get(&format!("/api/v1/organisations/U12345/members?active_on={day}")).send();
    assert_eq!(member_codes(&members("2019-06-30").await), Vec::<String>::new(), "before it began");
    assert_eq!(member_codes(&members("2019-07-01").await), ["M83001", "M83002"], "the first day");
    assert_eq!(member_codes(&members("2023-03-31").await), ["M83001", "M83002"], "M83002's last day");
    let after = members("2023-04-01").await;
    assert_eq!(member_codes(&after), ["M83001"], "the day after it ended");
    assert_eq!(after.body["items"][0]["affiliation"]["kind"], "member_of");
    assert_eq!(after.body["items"][0]["organisation"]["kind"], "practice");
    assert_eq!(
        member_codes(&app.get("/api/v1/organisations/U12345/members").send().await),
        ["M83001", "M83002"],
        "without a day: every member, past and present"
    );
    assert_eq!(
        member_codes(&app.get("/api/v1/organisations/U12345/members?kind=federation").send().await),
        Vec::<String>::new()
    );
    // The PCN's own collection agrees.
    let practices = app.get("/api/v1/pcns/U12345/practices?active_on=2023-04-01").send().await;
    let ods: Vec<&str> =
        practices.body["items"].as_array().unwrap().iter().map(|p| p["odsCode"].as_str().unwrap()).collect();
    assert_eq!(ods, ["M83001"]);
    let history = app.get("/api/v1/pcns/U12345/memberships").send().await;
    assert_eq!(history.body["items"].as_array().unwrap().len(), 2);
    let pcns_of = |day: &str| app.get(&format!("/api/v1/practices/M83002/pcns?active_on={day}")).send();
    assert_eq!(codes(&pcns_of("2020-01-01").await), ["U12345"], "a practice's PCNs on a day");
    assert_eq!(codes(&pcns_of("2023-04-01").await), Vec::<String>::new());
    // The change feed carries the PCN and its memberships, the end included.
    let feed = |entity: &str| app.get(&format!("/api/v1/changes?entity={entity}")).send();
    let pcn_feed = feed("pcn").await;
    assert_eq!(pcn_feed.status, 200, "{}", pcn_feed.text);
    assert_eq!(pcn_feed.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(pcn_feed.body["items"][0]["key"], "U12345");
    assert_eq!(pcn_feed.body["items"][0]["link"], "/api/v1/pcns/U12345");
    let membership_feed = feed("pcn-membership").await;
    let changes: Vec<(&str, &str, &Value)> = membership_feed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].as_str().unwrap(), c["key"].as_str().unwrap(), &c["version"]))
        .collect();
    let pm1_id = pm1["id"].as_str().unwrap();
    assert_eq!(changes, [("create", pm1_id, &json!(1)), ("create", id, &json!(1)), ("update", id, &json!(2))]);
    assert_eq!(membership_feed.body["items"][2]["link"], format!("/api/v1/pcn-memberships/{id}"));
    // Rejoining while still a member overlaps: 409.
    let overlap = app
        .post("/api/v1/pcn-memberships")
        .bearer(&token)
        .json(&json!({"pcnCode": "U12345", "odsCode": "M83002", "startDate": "2023-03-01"}))
        .send()
        .await;
    overlap.problem(409, "conflict");
    // A practice is in one PCN at a time: joining another while a member is a conflict; from
    // the day after its membership ends, it may.
    pcn(&app, "U12399", "Other PCN").await;
    let second = |start: &str| {
        app.post("/api/v1/pcn-memberships")
            .bearer(&token)
            .json(&json!({"pcnCode": "U12399", "odsCode": "M83002", "startDate": start}))
            .send()
    };
    let both = second("2022-01-01").await;
    both.problem(409, "conflict");
    assert!(both.text.contains("one primary care network at a time"), "{}", both.text);
    let after = second("2023-04-01").await;
    assert_eq!(after.status, 201, "{}", after.text);
    app.get("/api/v1/organisations/U99999/affiliations").send().await.problem(404, "not-found");
    app.get("/api/v1/organisations/U99999/members").send().await.problem(404, "not-found");
}

async fn containment_on_edge_dates(app: TestApp) {
    app.practice("M83001", "Meir Health Centre", "ST3 6AB").await;
    app.practice("M83002", "Weston Coyney Surgery", "ST3 5JP").await;
    pcn(&app, "U12345", "Meir PCN").await;
    // Two periods joined end to start, then a one-day gap (2024-10-01), then open-ended.
    membership(&app, "pcn", "U12345", "M83001", "2023-04-01", Some("2024-03-31")).await;
    membership(&app, "pcn", "U12345", "M83001", "2024-04-01", Some("2024-09-30")).await;
    membership(&app, "pcn", "U12345", "M83001", "2024-10-02", None).await;

    let ask = |query: &str| {
        let app = &app;
        let path = format!("/api/v1/organisations/U12345/contains/M83001{query}");
        async move {
            let r = app.get(&path).send().await;
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            r
        }
    };
    let contains = |query: &'static str| {
        let ask = &ask;
        async move { ask(query).await.body["contains"].as_bool().unwrap() }
    };
    let whole = ask("?from=2023-04-01&to=2023-04-01").await;
    assert_eq!(
        whole.body,
        json!({"parent": "U12345", "member": "M83001", "from": "2023-04-01", "to": "2023-04-01", "contains": true})
    );
    assert!(!contains("?from=2023-03-31&to=2023-03-31").await, "the day before the start");
    assert!(!contains("?from=2023-03-31&to=2023-04-30").await, "from the day before the start");
    assert!(contains("?from=2024-03-31&to=2024-03-31").await, "the last day of the first period");
    assert!(contains("?from=2024-04-01&to=2024-04-01").await, "the first day of the second");
    assert!(contains("?from=2024-03-01&to=2024-04-30").await, "across periods joined end to start");
    assert!(contains("?from=2023-04-01&to=2024-09-30").await, "the whole of both");
    assert!(contains("?from=2024-09-30&to=2024-09-30").await, "the last day of the second");
    assert!(!contains("?from=2024-10-01&to=2024-10-01").await, "the day after its end: the gap");
    assert!(!contains("?from=2024-09-15&to=2024-10-15").await, "across a one-day gap");
    assert!(!contains("?from=2024-09-30&to=2024-10-02").await, "across a one-day gap, edge to edge");
    assert!(contains("?from=2024-10-02&to=2024-10-02").await, "the first day after the gap");
    assert!(contains("?from=2024-10-02&to=2030-12-31").await);
    // `to` omitted: open-ended, every day from `from` on.
    let open = ask("?from=2024-10-02").await;
    assert_eq!(open.body["contains"], true);
    assert_eq!(open.body["to"], Value::Null, "{}", open.text);
    assert!(contains("?from=2025-01-01").await);
    assert!(!contains("?from=2024-09-01").await, "the gap is ahead");
    assert!(!contains("?from=2023-04-01").await);
    // Neither `from` nor `to`: from today on.
    assert!(contains("").await);

    // Another practice never was a member; an organisation contains itself.
    let other = app.get("/api/v1/organisations/U12345/contains/M83002?from=2024-01-01&to=2024-01-31").send().await;
    assert_eq!(other.body["contains"], false, "{}", other.text);
    let itself = app.get("/api/v1/organisations/U12345/contains/u12345?from=2024-01-01").send().await;
    assert_eq!(itself.body["contains"], true, "{}", itself.text);
    // The containment is one way: the practice does not contain its PCN.
    let upside_down =
        app.get("/api/v1/organisations/M83001/contains/U12345?from=2024-01-01&to=2024-01-31").send().await;
    assert_eq!(upside_down.body["contains"], false, "{}", upside_down.text);

    // `to` before `from` is a clear problem naming `to`, not a 500.
    let backwards = app.get("/api/v1/organisations/U12345/contains/M83001?from=2024-05-01&to=2024-04-30").send().await;
    backwards.problem(422, "validation");
    assert_eq!(backwards.fields(), ["to"]);
    app.get("/api/v1/organisations/U12345/contains/M83001?from=2024-13-01").send().await.problem(400, "bad-request");
    app.get("/api/v1/organisations/U12345/contains/M83001?since=2024-01-01").send().await.problem(400, "bad-request");
    app.get("/api/v1/organisations/U12345/contains/Z99999?from=2024-01-01").send().await.problem(404, "not-found");
    app.get("/api/v1/organisations/U99999/contains/M83001?from=2024-01-01").send().await.problem(404, "not-found");
}

async fn pcn_hosted_placements(app: TestApp) {
    let token = app.admin();
    let reader = app.admin();
    app.practice("M83001", "Meir Health Centre", "ST3 6AB").await;
    pcn(&app, "U12345", "Meir PCN").await;
    pcn(&app, "U12346", "Longton PCN").await;

    let body = |host_type: &str, host_code: &str| {
        json!({"staffRef": "PCN-CP-01", "roleCode": "clinical-pharmacist",
            "programmeCode": "additional-roles-reimbursement", "hostType": host_type, "hostCode": host_code,
            "hoursPerWeek": 37.5, "startDate": "2024-04-01", "funding": "arrs"})
    };
    let created = app.post("/api/v1/placements").bearer(&token).json(&body("pcn", "u12345")).send().await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        (&created.body["hostType"], &created.body["hostCode"], &created.body["hostName"]),
        (&json!("pcn"), &json!("U12345"), &Value::Null)
    );
    assert_eq!(created.body["fte"], 1.0);
    let id = created.body["id"].as_str().unwrap().to_string();
    let read = app.get(&format!("/api/v1/placements/{id}")).bearer(&reader).send().await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body, created.body, "read back as written");
    assert_eq!(read.etag(), tag(1, &id));

    // The PCN's placements need placements:read.
    app.get("/api/v1/pcns/U12345/placements").send().await.problem(401, "unauthenticated");
    app.get("/api/v1/pcns/U12345/placements")
        .bearer(&app.token("reference:write"))
        .send()
        .await
        .problem(403, "forbidden");
    let hosted = app.get("/api/v1/pcns/U12345/placements").bearer(&reader).send().await;
    assert_eq!(hosted.status, 200, "{}", hosted.text);
    let ids: Vec<&str> = hosted.body["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id.as_str()]);
    let other = app.get("/api/v1/pcns/U12346/placements").bearer(&reader).send().await;
    assert_eq!(other.body["items"], json!([]));
    app.get("/api/v1/pcns/U99999/placements").bearer(&reader).send().await.problem(404, "not-found");
    let by_type = app.get("/api/v1/placements?host_type=pcn").bearer(&reader).send().await;
    assert_eq!(by_type.body["items"].as_array().unwrap().len(), 1);
    let by_host = app.get("/api/v1/placements?host=U12345").bearer(&reader).send().await;
    assert_eq!(by_host.body["items"][0]["id"], json!(id));

    // A PCN host is a PCN: a practice's code is refused, and a PCN is not a practice.
    let wrong = app.post("/api/v1/placements").bearer(&token).json(&body("pcn", "M83001")).send().await;
    wrong.problem(422, "validation");
    assert_eq!(wrong.fields(), ["hostCode"]);
    let wrong = app.post("/api/v1/placements").bearer(&token).json(&body("practice", "U12345")).send().await;
    wrong.problem(422, "validation");
    assert_eq!(wrong.fields(), ["hostCode"]);
    let missing = app.post("/api/v1/placements").bearer(&token).json(&body("pcn", "U99999")).send().await;
    missing.problem(422, "validation");
    assert_eq!(missing.fields(), ["hostCode"]);
    let mut no_code = body("pcn", "U12345");
    no_code.as_object_mut().unwrap().remove("hostCode");
    let no_code = app.post("/api/v1/placements").bearer(&token).json(&no_code).send().await;
    no_code.problem(422, "validation");
    assert_eq!(no_code.fields(), ["hostCode"]);
    assert_eq!(app.count("placement_records"), 1, "nothing refused was written");

    // PCN codes are U and five digits.
    for bad in ["U1234", "U123456", "X12345", "UABCDE", "U-1234"] {
        let r = app.post("/api/v1/pcns").bearer(&token).json(&json!({"code": bad, "name": "Bad PCN"})).send().await;
        r.problem(422, "validation");
        assert_eq!(r.fields(), ["code"], "{bad}");
    }
    // Codes are unique across kinds: one a practice or a federation has is taken.
    app.practice("U12399", "A practice whose code looks like a PCN's", "ST3 6AB").await;
    create(&app, "/api/v1/federations", json!({"code": "U12398", "name": "A federation"})).await;
    for taken in ["U12399", "U12398", "U12345"] {
        let r = app.post("/api/v1/pcns").bearer(&token).json(&json!({"code": taken, "name": "Taken"})).send().await;
        r.problem(409, "conflict");
    }
    assert_eq!(app.count("organisations WHERE kind = 'pcn'"), 2);
    let practice = app.get("/api/v1/organisations/U12399").send().await;
    assert_eq!(practice.body["kind"], "practice", "still the practice");

    // A PCN that hosts a placement stays.
    let pcn_tag = app.etag_of("/api/v1/pcns/U12345").await;
    app.delete("/api/v1/pcns/U12345").bearer(&token).if_match(&pcn_tag).send().await.problem(409, "conflict");
    assert_eq!(app.get("/api/v1/pcns/U12345").send().await.status, 200);
    // One that hosts none goes.
    let empty_tag = app.etag_of("/api/v1/pcns/U12346").await;
    let gone = app.delete("/api/v1/pcns/U12346").bearer(&token).if_match(&empty_tag).send().await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    app.get("/api/v1/organisations/U12346").send().await.problem(404, "not-found");
    // External halves: the provider is created on first use, named as the first post named
    // it; a later post at another of its teams keeps its team's name.
    let external = |name: &str| {
        app.post("/api/v1/placements")
            .bearer(&token)
            .json(&json!({"staffRef": "PA-INT-09", "roleCode": "physician-associate", "hostType": "external",
                "hostCode": "RLY", "hostName": name, "hoursPerWeek": 15, "startDate": "2026-09-01"}))
            .send()
    };
    let first = external("Combined Healthcare mental health team").await;
    let second = external("Combined Healthcare perinatal team").await;
    assert_eq!((first.status, second.status), (201, 201), "{} {}", first.text, second.text);
    for (r, name) in
        [(&first, "Combined Healthcare mental health team"), (&second, "Combined Healthcare perinatal team")]
    {
        let id = r.body["id"].as_str().unwrap();
        let back = app.get(&format!("/api/v1/placements/{id}")).bearer(&reader).send().await;
        assert_eq!((&back.body["hostCode"], &back.body["hostName"]), (&json!("RLY"), &json!(name)));
    }
    let rly = app.get("/api/v1/organisations/RLY").send().await;
    assert_eq!(
        (&rly.body["kind"], &rly.body["name"]),
        (&json!("external"), &json!("Combined Healthcare mental health team"))
    );
}

/// 05G's practices on `day` as `epcmem` gives them (practice, start, end), among `held`.
fn commissioned_on(epcmem: &str, commissioner: &str, day: &str, held: &BTreeSet<String>) -> BTreeSet<String> {
    let day = day.replace('-', "");
    epcmem
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').map(|s| s.trim_matches('"')).collect();
            let (ods, comm, start, end) = (f[0], f[1], f[3], f[4]);
            (comm == commissioner && start <= day.as_str() && (end.is_empty() || end >= day.as_str()))
                .then(|| ods.to_string())
        })
        .filter(|ods| held.contains(ods))
        .collect()
}

/// Text read straight from the database.
fn texts(app: &TestApp, sql: &str) -> Vec<String> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    let mut c = app.db().conn().expect("conn");
    let rows: Vec<T> = diesel::sql_query(sql).load(&mut *c).unwrap_or_else(|e| panic!("{e}: {sql}"));
    rows.into_iter().map(|r| r.v).collect()
}

async fn demo_commissioners_pcns_and_placements(app: TestApp) {
    pcr_schema::demo::load_if_empty(app.db()).unwrap().expect("an empty database gets the demo");
    let reader = app.admin();

    // Commissioner history from epcmem, as commissioned_by affiliations. The expected
    // sets are computed from the file (rows for 05G whose period holds the day, for the
    // practices the demo holds: epcmem also lists non-GP cost centres, which are not
    // imported); the counts were checked with awk over ../shared/data/ods/epcmem-2019.csv:
    // of its 71 rows for "05G", 33 are GP practices, all from 2013-04-01 (CCGs began on
    // 2013-04-01), one of them (Y03430) ending 2016-05-31.
    let epcmem = include_str!("../schema/data/ods/epcmem-2019.csv");
    let held: BTreeSet<String> = texts(&app, "SELECT ods_code AS v FROM practices").into_iter().collect();
    assert_eq!(held.len(), 8201);
    let members_on = |day: &'static str| {
        let app = &app;
        async move {
            let r = app.get(&format!("/api/v1/organisations/05G/members?active_on={day}")).send().await;
            assert_eq!(r.status, 200, "{}", r.text);
            let items = r.body["items"].as_array().unwrap().clone();
            for m in &items {
                let a = &m["affiliation"];
                assert_eq!(m["organisation"]["kind"], "practice", "{m}");
                assert_eq!(a["kind"], "commissioned_by", "{m}");
                assert_eq!(a["parent"], json!({"code": "05G", "kind": "commissioner", "name": "05G"}));
                assert_eq!(a["member"]["code"], m["organisation"]["code"]);
                let start = a["startDate"].as_str().unwrap();
                assert!(start <= day && a["endDate"].as_str().is_none_or(|e| e >= day), "holds on {day}: {m}");
            }
            items.iter().map(|m| m["organisation"]["code"].as_str().unwrap().to_string()).collect::<BTreeSet<_>>()
        }
    };
    let on_2019 = members_on("2019-04-01").await;
    assert_eq!(on_2019.len(), 32);
    assert_eq!(on_2019, commissioned_on(epcmem, "05G", "2019-04-01", &held));
    assert!(on_2019.contains("M83005") && !on_2019.contains("Y03430"));
    let before_ccgs = members_on("2012-04-01").await;
    assert_eq!(before_ccgs.len(), 0, "before CCGs existed");
    assert_eq!(before_ccgs, commissioned_on(epcmem, "05G", "2012-04-01", &held));
    let last_day = members_on("2016-05-31").await;
    assert_eq!(last_day.len(), 33);
    assert!(last_day.contains("Y03430"), "its last day with 05G");
    assert_eq!(last_day, commissioned_on(epcmem, "05G", "2016-05-31", &held));
    let day_after = members_on("2016-06-01").await;
    assert_eq!(day_after.len(), 32);
    assert_eq!(last_day.difference(&day_after).cloned().collect::<Vec<_>>(), ["Y03430"]);
    let commissioner = app.get("/api/v1/organisations/05G").send().await;
    assert_eq!((&commissioner.body["kind"], &commissioner.body["source"]), (&json!("commissioner"), &json!("ods")));
    let y03430 = app.get("/api/v1/organisations/Y03430/affiliations?kind=commissioner").send().await;
    let periods: Vec<(&str, &str, Value)> = y03430.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["parent"]["code"].as_str().unwrap(), a["startDate"].as_str().unwrap(), a["endDate"].clone()))
        .collect();
    assert!(periods.contains(&("05G", "2013-04-01", json!("2016-05-31"))), "{periods:?}");

    // The demo PCNs: U999xx codes, "(demo)" names, source demo.
    let pcns = app.get("/api/v1/pcns?limit=200").send().await;
    assert_eq!(pcns.status, 200, "{}", pcns.text);
    let pcns = pcns.body["items"].as_array().unwrap().clone();
    let pcn_codes: Vec<&str> = pcns.iter().map(|p| p["code"].as_str().unwrap()).collect();
    assert_eq!(pcn_codes, ["U99901", "U99902", "U99903", "U99904", "U99905"]);
    for p in &pcns {
        assert!(p["name"].as_str().unwrap().contains("(demo)"), "{p}");
        assert_eq!(p["source"], "demo", "{p}");
        let code = p["code"].as_str().unwrap();
        assert!(code.starts_with("U999") && code.len() == 6 && code[1..].bytes().all(|b| b.is_ascii_digit()));
    }
    assert_eq!(
        codes(&app.get("/api/v1/organisations?kind=pcn&limit=200").send().await),
        pcn_codes,
        "the same PCNs as organisations"
    );
    // Every member practice of the four demo ICTs is in exactly one demo PCN.
    let ods_of = |items: &Value| -> Vec<String> {
        items.as_array().unwrap().iter().map(|m| m["odsCode"].as_str().unwrap().to_string()).collect()
    };
    let mut pcn_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for code in &pcn_codes {
        let r = app.get(&format!("/api/v1/pcns/{code}/memberships")).send().await;
        assert_eq!(r.status, 200, "{}", r.text);
        let members = ods_of(&r.body["items"]);
        assert!(!members.is_empty(), "{code} has members");
        for ods in members {
            pcn_of.entry(ods).or_default().push(code.to_string());
        }
    }
    let mut ict_members = BTreeSet::new();
    for ict in ["ICT-MEIR", "ICT-LICHFIELD", "ICT-LEEK", "ICT-BIDDULPH"] {
        let r = app.get(&format!("/api/v1/icts/{ict}/memberships")).send().await;
        assert_eq!(r.status, 200, "{}", r.text);
        let members = ods_of(&r.body["items"]);
        assert!(!members.is_empty(), "{ict} has members");
        for ods in members {
            let in_pcns = pcn_of.get(&ods).cloned().unwrap_or_default();
            assert_eq!(in_pcns.len(), 1, "{ods} of {ict} is in exactly one demo PCN: {in_pcns:?}");
            ict_members.insert(ods);
        }
    }
    assert_eq!(ict_members.len(), 18, "10 + 3 + 3 + 2 ICT practices");
    assert_eq!(pcn_of.keys().cloned().collect::<BTreeSet<_>>(), ict_members, "and the PCNs hold no others");

    // Six demo placements hosted by the PCNs.
    app.get("/api/v1/placements?host_type=pcn").send().await.problem(401, "unauthenticated");
    let hosted = app.get("/api/v1/placements?host_type=pcn&limit=200").bearer(&reader).send().await;
    assert_eq!(hosted.status, 200, "{}", hosted.text);
    let items = hosted.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    let mut roles: BTreeMap<&str, usize> = BTreeMap::new();
    for p in items {
        assert_eq!(p["hostType"], "pcn", "{p}");
        assert_eq!(p["source"], "demo", "{p}");
        assert!(pcn_codes.contains(&p["hostCode"].as_str().unwrap()), "{p}");
        assert!(p["staffRef"].as_str().unwrap().starts_with("DEMO-PCN-"), "{p}");
        *roles.entry(p["roleCode"].as_str().unwrap()).or_default() += 1;
    }
    assert_eq!(
        roles,
        BTreeMap::from([("clinical-pharmacist", 2), ("physician-associate", 2), ("social-prescribing-link-worker", 2)])
    );
    let first = app.get("/api/v1/pcns/U99901/placements").bearer(&reader).send().await;
    let staff: BTreeSet<&str> =
        first.body["items"].as_array().unwrap().iter().map(|p| p["staffRef"].as_str().unwrap()).collect();
    assert_eq!(staff, BTreeSet::from(["DEMO-PCN-CP-01", "DEMO-PCN-SPLW-01"]));
}
