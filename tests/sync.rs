//! Staying in sync: the change feed (every committed write in order, deletions included)
//! and whole-list exports as CSV and NDJSON that match the JSON pages row for row.

use serde_json::{json, Value};

use crate::harness::{Resp, TestApp};

crate::on_both_backends!(change_feed_in_commit_order, change_feed_carries_imports, exports_match_json_lists);

/// Every change after `after`, following `next` links.
async fn feed(app: &TestApp, query: &str, token: Option<&str>) -> (Vec<Value>, String) {
    let mut path = format!("/api/v1/changes?{query}");
    let mut items = Vec::new();
    loop {
        let mut req = app.get(&path);
        if let Some(t) = token {
            req = req.bearer(t);
        }
        let r = req.send().await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        items.extend(r.body["items"].as_array().unwrap().iter().cloned());
        let cursor = r.body["nextCursor"].as_str().expect("nextCursor is always given").to_string();
        match r.body["next"].as_str() {
            Some(next) => path = next.to_string(),
            None => return (items, cursor),
        }
    }
}

fn summary(items: &[Value]) -> Vec<(String, String, String)> {
    items
        .iter()
        .map(|c| {
            (
                c["entity"].as_str().unwrap().into(),
                c["action"].as_str().unwrap().into(),
                c["key"].as_str().unwrap().into(),
            )
        })
        .collect()
}

async fn change_feed_in_commit_order(app: TestApp) {
    let admin = app.admin();
    let (start, head) = feed(&app, "", None).await;
    assert!(start.is_empty(), "a new database has no changes: {start:?}");
    let practice = app.practice("M83005", "Heathcote Street Surgery", "ST5 7EB").await;
    let tag = app.etag_of("/api/v1/practices/M83005").await;
    let renamed = app
        .patch("/api/v1/practices/M83005")
        .bearer(&admin)
        .if_match(&tag)
        .json(&json!({"name": "Heathcote St Surgery"}))
        .send()
        .await;
    app.post("/api/v1/federations").bearer(&admin).json(&json!({"code": "NSGPF", "name": "North Staffs"})).send().await;
    let placement = app
        .post("/api/v1/placements")
        .bearer(&admin)
        .json(&json!({"staffRef": "S1", "roleCode": "gp", "hostType": "practice", "hostCode": "M83005",
                      "hoursPerWeek": 30, "startDate": "2026-01-05"}))
        .send()
        .await;
    assert_eq!(placement.status, 201, "{}", placement.text);
    let pid = placement.body["id"].as_str().unwrap().to_string();
    app.post(&format!("/api/v1/placements/{pid}/end")).bearer(&admin).if_match(&placement.etag()).send().await;
    let fed_tag = app.etag_of("/api/v1/federations/NSGPF").await;
    let deleted = app.delete("/api/v1/federations/NSGPF").bearer(&admin).if_match(&fed_tag).send().await;
    assert_eq!(deleted.status, 204);
    // A refused write is not a change.
    app.patch("/api/v1/practices/M83005").bearer(&admin).if_match(&tag).json(&json!({"name": "X"})).send().await;

    // Without a token: reference data only, in commit order, the delete included.
    let (public, _) = feed(&app, "", None).await;
    assert_eq!(
        summary(&public),
        [
            ("practice".into(), "create".into(), "M83005".into()),
            ("practice".into(), "update".into(), "M83005".into()),
            ("federation".into(), "create".into(), "NSGPF".into()),
            ("federation".into(), "delete".into(), "NSGPF".into()),
        ]
    );
    assert_eq!(public[1]["version"], 2);
    assert_eq!(public[1]["id"], practice["id"]);
    assert_eq!(public[1]["link"], "/api/v1/practices/M83005");
    assert_eq!(public[3]["version"], 1, "a delete names the version deleted");
    assert!(public[3]["link"].is_null(), "a deleted record has nowhere to be read");
    let read = app.get(public[1]["link"].as_str().unwrap()).send().await;
    assert_eq!(read.body, renamed.body, "the link reads the record as the write left it");
    assert!(public.iter().all(|c| c["occurredAt"].as_str().unwrap().ends_with('Z')));

    // With placements:read, placement changes come in their place in the order.
    let reader = app.admin();
    let (all, head_now) = feed(&app, "", Some(&reader)).await;
    let kinds: Vec<(String, String, String)> = summary(&all);
    assert_eq!(kinds.len(), 6);
    assert_eq!(kinds[3], ("placement".into(), "create".into(), pid.clone()));
    assert_eq!(kinds[4], ("placement".into(), "end".into(), pid.clone()));
    assert_eq!(all[4]["link"], format!("/api/v1/placements/{pid}"));
    app.get("/api/v1/changes?entity=placement").send().await.problem(401, "unauthenticated");
    app.get("/api/v1/changes?entity=placement")
        .bearer(&app.token("reference:write"))
        .send()
        .await
        .problem(403, "forbidden");
    let (only, _) = feed(&app, "entity=placement", Some(&reader)).await;
    assert_eq!(only.len(), 2);
    let (only, _) = feed(&app, "entity=practice", None).await;
    assert_eq!(only.len(), 2);

    // Pages of one follow each other to the same list; the cursor of the first read resumes.
    let (paged, _) = feed(&app, "limit=1", Some(&reader)).await;
    assert_eq!(paged, all);
    let (since_start, _) = feed(&app, &format!("after={head}"), Some(&reader)).await;
    assert_eq!(since_start, all, "the position of an empty feed is its start");
    let (nothing, same) = feed(&app, &format!("after={head_now}"), Some(&reader)).await;
    assert!(nothing.is_empty());
    assert_eq!(same, head_now, "caught up: the cursor stays");
    // `latest` is the position after the last change: what commits later follows it.
    let latest = app.get("/api/v1/changes?after=latest").send().await;
    assert_eq!(latest.body["items"], json!([]));
    let latest = latest.body["nextCursor"].as_str().unwrap().to_string();
    app.practice("M83007", "The Village Surgery", "ST5 0ET").await;
    let (after_latest, _) = feed(&app, &format!("after={latest}"), None).await;
    assert_eq!(summary(&after_latest), [("practice".into(), "create".into(), "M83007".into())]);
    // A re-created record is a new id after the delete.
    let recreated =
        app.post("/api/v1/federations").bearer(&admin).json(&json!({"code": "NSGPF", "name": "N"})).send().await;
    let (tail, _) = feed(&app, &format!("after={latest}&entity=federation"), None).await;
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0]["id"], recreated.body["id"]);
    assert_ne!(tail[0]["id"], public[3]["id"]);

    app.get("/api/v1/changes?after=bm9wZQ").send().await.problem(422, "validation");
    app.get("/api/v1/changes?entity=spaceship").send().await.problem(422, "validation");
    app.get("/api/v1/changes?limit=500").send().await.problem(422, "validation");
}

async fn change_feed_carries_imports(app: TestApp) {
    let sample =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/epraccur-current-sample.csv")).unwrap();
    let opts = pcr_schema::ods::ImportOptions { strict: false, actor: "import-ods".into() };
    let report = pcr_schema::ods::import_reader(app.db(), "sample.csv", &sample[..], None, &opts).unwrap();
    assert!(report.inserted > 0);
    let (items, cursor) = feed(&app, "entity=practice", None).await;
    assert_eq!(items.len(), report.inserted, "one change per imported practice");
    assert!(items.iter().all(|c| c["action"] == "import" && c["version"] == 1));
    let first = app.get(items[0]["link"].as_str().unwrap()).send().await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["source"], "ods");
    // The import summary is audited but is not a record: it is not in the feed.
    assert_eq!(app.count("audit_events") as usize, report.inserted + 1);
    // Importing the same file again changes nothing, and the feed says nothing new.
    pcr_schema::ods::import_reader(app.db(), "sample.csv", &sample[..], None, &opts).unwrap();
    let (again, _) = feed(&app, &format!("after={cursor}"), None).await;
    assert!(again.is_empty(), "{again:?}");
}

/// The rows of a CSV export as JSON-like text per column.
fn csv_rows(r: &Resp) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(&r.bytes[..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let rows = reader.records().map(|rec| rec.unwrap().iter().map(str::to_string).collect()).collect();
    (header, rows)
}

fn as_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.iter().all(Value::is_string) => {
            a.iter().map(|s| s.as_str().unwrap()).collect::<Vec<_>>().join("\n")
        }
        other => other.to_string(),
    }
}

/// Every item of a JSON list, following `next`.
async fn all_pages(app: &TestApp, path: &str, token: Option<&str>) -> Vec<Value> {
    let mut path = path.to_string();
    let mut items = Vec::new();
    loop {
        let mut req = app.get(&path);
        if let Some(t) = token {
            req = req.bearer(t);
        }
        let r = req.send().await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        items.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["next"].as_str() {
            Some(n) => path = n.to_string(),
            None => return items,
        }
    }
}

async fn export(app: &TestApp, path: &str, accept: &str, token: Option<&str>) -> Resp {
    let mut req = app.get(path).header("accept", accept);
    if let Some(t) = token {
        req = req.bearer(t);
    }
    let r = req.send().await;
    assert_eq!(r.status, 200, "{path} as {accept}: {}", r.text);
    r
}

/// Checks an export of `path` against its JSON pages, row for row, in both formats.
async fn matches_json(app: &TestApp, path: &str, token: Option<&str>) -> usize {
    let sep = if path.contains('?') { '&' } else { '?' };
    // Bounded relations come whole and take no page size.
    let whole = path.ends_with("/memberships");
    let first = if whole { path.to_string() } else { format!("{path}{sep}limit=200") };
    let json = all_pages(app, &first, token).await;
    let nd = export(app, path, "application/x-ndjson", token).await;
    assert_eq!(nd.header("content-type").as_deref(), Some("application/x-ndjson"));
    let lines: Vec<Value> =
        nd.text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}: {e}: {l}"))).collect();
    assert_eq!(lines, json, "{path}: NDJSON lines are the JSON items");
    let csv = export(app, path, "text/csv", token).await;
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv.header("content-disposition").unwrap().contains(".csv"));
    let (header, rows) = csv_rows(&csv);
    assert_eq!(rows.len(), json.len(), "{path}: a CSV row per item");
    for (row, item) in rows.iter().zip(&json) {
        let expected: Vec<String> = header.iter().map(|h| as_cell(&item[h])).collect();
        assert_eq!(row, &expected, "{path}: CSV row");
    }
    if let Some(first) = json.first() {
        let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
        for k in keys {
            assert!(header.contains(k), "{path}: column {k}");
        }
    }
    json.len()
}

async fn exports_match_json_lists(app: TestApp) {
    pcr_schema::demo::load_if_empty(app.db()).unwrap();
    let token = app.admin();
    // All 8,201 practices in one response each way, as the JSON pages have them.
    assert_eq!(matches_json(&app, "/api/v1/practices", None).await, 8201);
    assert!(matches_json(&app, "/api/v1/practices?sort=-name&status=active", None).await > 6000);
    assert_eq!(matches_json(&app, "/api/v1/federations/NSGPF/practices", None).await, 30);
    assert_eq!(matches_json(&app, "/api/v1/placements", Some(&token)).await, 36);
    assert_eq!(matches_json(&app, "/api/v1/placements?host_type=external&sort=startDate", Some(&token)).await, 8);
    assert!(matches_json(&app, "/api/v1/roles", None).await > 20);
    assert!(matches_json(&app, "/api/v1/icts/ICT-MEIR/memberships", None).await > 5);
    assert!(matches_json(&app, "/api/v1/changes?entity=federation", None).await >= 2);
    // Paging through ties (many practices share a name; every imported one the same
    // `updatedAt`) loses and repeats nothing, in either direction.
    let ids =
        |items: &[Value]| -> Vec<String> { items.iter().map(|p| p["id"].as_str().unwrap().to_string()).collect() };
    let mut all: Vec<String> = ids(&all_pages(&app, "/api/v1/practices?limit=200", None).await);
    all.sort();
    for sort in ["name", "-name", "updatedAt", "-updatedAt"] {
        let mut seen = ids(&all_pages(&app, &format!("/api/v1/practices?limit=97&sort={sort}"), None).await);
        assert_eq!(seen.len(), 8201, "sort={sort}");
        seen.sort();
        assert_eq!(seen, all, "sort={sort}: every practice once");
    }
    // An export starts from `after` and ignores the page size.
    let first = app.get("/api/v1/practices?limit=100").send().await;
    let after = first.body["nextCursor"].as_str().unwrap();
    let rest = export(&app, &format!("/api/v1/practices?after={after}&limit=5"), "application/x-ndjson", None).await;
    assert_eq!(rest.text.lines().count(), 8101);
    // Refusals are problems, not streams.
    app.get("/api/v1/placements").header("accept", "text/csv").send().await.problem(401, "unauthenticated");
    app.get("/api/v1/practices?limit=abc").header("accept", "text/csv").send().await.problem(400, "bad-request");
    app.get("/api/v1/federations/NOPE/practices").header("accept", "text/csv").send().await.problem(404, "not-found");
    // An empty list is a header and nothing else.
    let none = export(&app, "/api/v1/practices?q=no-such-practice-anywhere", "text/csv", None).await;
    assert_eq!(none.text.lines().count(), 1, "{}", none.text);
    assert!(none.text.starts_with("id,odsCode,name,"), "{}", none.text);
}
