//! Bulk submission: CSV, NDJSON and JSON arrays; atomic and partial; every row's outcome
//! with its line; upsert so that a file sent again changes nothing; scope and the 80-hour
//! rule per row; hostile files; size limits; and the operator's command.

use serde_json::{json, Value};

use crate::harness::{Resp, TestApp};

crate::on_both_backends!(
    csv_upserts_and_reports,
    formats_modes_and_rules,
    hostile_files_and_limits,
    batches_take_idempotency_keys
);

const HEADER: &str =
    "staff_ref,role_code,programme_code,host_type,host_code,host_name,hours_per_week,start_date,end_date,funding,notes";

async fn setup(app: &TestApp) -> String {
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    app.practice("M83003", "Trent Vale", "ST4 6AA").await;
    app.partner("M83001", "placements:read placements:write")
}

async fn send(app: &TestApp, token: &str, mode: &str, media: &str, body: impl Into<Vec<u8>>) -> Resp {
    app.post(&format!("/api/v1/placements/batch?mode={mode}")).bearer(token).raw(media, body).send().await
}

fn outcomes(r: &Resp) -> Vec<(u64, String)> {
    r.body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.text))
        .iter()
        .map(|row| (row["line"].as_u64().unwrap(), row["outcome"].as_str().unwrap().to_string()))
        .collect()
}

fn errors_of(r: &Resp, line: u64) -> Vec<String> {
    let row = r.body["results"].as_array().unwrap().iter().find(|row| row["line"] == line).expect("the row");
    row["errors"]
        .as_array()
        .map(|e| e.iter().map(|e| e["field"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

async fn csv_upserts_and_reports(app: TestApp) {
    let token = setup(&app).await;
    let file = format!(
        "{HEADER}\r\n\
         MHC-CP-0001,clinical-pharmacist,,practice,M83001,,37.5,2026-09-01,,arrs,\r\n\
         MHC-PA-0002,physician-associate,,practice,M83001,,22.5,2026-09-01,2027-08-31,,split post\r\n\
         MHC-PA-0002,paramedic,,practice,M83001,,15,2026-09-01,2027-08-31,,\r\n"
    );
    let (placements, audit) = (app.count("placement_records"), app.count("audit_events"));
    let first = send(&app, &token, "atomic", "text/csv", file.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["committed"], true);
    assert_eq!(outcomes(&first), [(2, "created".into()), (3, "created".into()), (4, "created".into())]);
    assert_eq!((first.body["created"].as_u64(), first.body["rows"].as_u64()), (Some(3), Some(3)));
    assert_eq!(app.count("placement_records"), placements + 3);
    assert!(app.count("audit_events") >= audit + 3, "each write recorded");
    let id = first.body["results"][0]["id"].as_str().unwrap().to_string();
    let one = app.get(&format!("/api/v1/placements/{id}")).bearer(&token).send().await;
    assert_eq!((one.body["staffRef"].as_str(), one.body["funding"].as_str()), (Some("MHC-CP-0001"), Some("arrs")));

    // The same file again changes nothing.
    let audit = app.count("audit_events");
    let again = send(&app, &token, "atomic", "text/csv", file.clone()).await;
    assert_eq!(outcomes(&again).iter().map(|(_, o)| o.as_str()).collect::<Vec<_>>(), ["unchanged"; 3]);
    assert_eq!(again.body["results"][0]["id"], id.as_str(), "the same placement");
    assert_eq!(app.count("placement_records"), placements + 3);
    assert_eq!(app.count("audit_events"), audit, "nothing recorded for nothing done");

    // One row changed: that row is updated, the rest unchanged.
    let changed = file.replace("37.5,2026-09-01,,arrs", "30,2026-09-01,,arrs");
    let third = send(&app, &token, "atomic", "text/csv", changed).await;
    assert_eq!(outcomes(&third)[0], (2, "updated".into()), "{}", third.text);
    let one = app.get(&format!("/api/v1/placements/{id}")).bearer(&token).send().await;
    assert_eq!((one.body["hoursPerWeek"].as_f64(), one.body["version"].as_i64()), (Some(30.0), Some(2)));

    // The operator's command does the same for an organisation.
    let path = std::env::temp_dir().join(format!("pcr-batch-{}.csv", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, format!("{HEADER}\nMHC-PM-0003,paramedic,,practice,M83001,,20,2026-10-01,,,\nX,clinical-pharmacist,,practice,M83003,,10,2026-10-01,,,\n")).unwrap();
    let partial = pcr_schema::domain::batch::BatchMode::Partial;
    let report = pcr_api::batch::import_file(app.db(), &path, "M83001", partial).unwrap();
    assert_eq!((report.created, report.rejected, report.committed), (1, 1, true));
    assert_eq!(report.results[1].errors[0].field, "hostCode", "the organisation's scope applies");
    let atomic = pcr_schema::domain::batch::BatchMode::Atomic;
    let report = pcr_api::batch::import_file(app.db(), &path, "M83001", atomic).unwrap();
    assert!(!report.committed);
    std::fs::remove_file(&path).ok();
}

async fn formats_modes_and_rules(app: TestApp) {
    let token = setup(&app).await;
    let row = |staff: &str, host: &str, hours: f64, start: &str| {
        json!({"staffRef": staff, "roleCode": "clinical-pharmacist", "hostType": "practice", "hostCode": host,
            "hoursPerWeek": hours, "startDate": start})
    };
    let rows: Vec<Value> = vec![
        row("J-1", "M83001", 37.5, "2026-09-01"),
        json!({"staffRef": "J-2", "roleCode": "astronaut", "hostType": "practice", "hostCode": "M83001", "hoursPerWeek": 0, "startDate": "2026-09-01"}),
        row("J-3", "M83003", 20.0, "2026-09-01"),
        json!("not an object"),
    ];
    let before = app.count("placement_records");

    // Atomic: any bad row and nothing is written; every row's outcome is still reported.
    let atomic = send(&app, &token, "atomic", "application/json", Value::Array(rows.clone()).to_string()).await;
    assert_eq!(atomic.status, 422, "{}", atomic.text);
    assert_eq!(atomic.body["committed"], false);
    assert_eq!(app.count("placement_records"), before, "nothing written");
    assert_eq!(outcomes(&atomic).iter().map(|(l, _)| *l).collect::<Vec<_>>(), [1, 2, 3, 4]);
    let mut bad = errors_of(&atomic, 2);
    bad.sort();
    assert_eq!(bad, ["hoursPerWeek", "roleCode"], "every field error of the row");
    assert_eq!(errors_of(&atomic, 3), ["hostCode"], "scope is checked per row");
    assert_eq!(errors_of(&atomic, 4), ["row"]);

    // Partial, as NDJSON: the good rows are written, the bad ones reported by line.
    let ndjson: String = rows.iter().map(|r| format!("{r}\n")).collect::<String>().replacen('\n', "\n\n", 1);
    let partial = send(&app, &token, "partial", "application/x-ndjson", ndjson).await;
    assert_eq!(partial.status, 200, "{}", partial.text);
    assert_eq!(
        outcomes(&partial),
        [(1, "created".into()), (3, "rejected".into()), (4, "rejected".into()), (5, "rejected".into())],
        "lines count the blank one"
    );
    assert_eq!(app.count("placement_records"), before + 1);

    // The 80-hour rule: one staff reference's concurrent placements, in the file and held.
    let hours = vec![
        row("H-1", "M83001", 45.0, "2026-09-01"),
        json!({"staffRef": "H-1", "roleCode": "physician-associate", "hostType": "practice", "hostCode": "M83001",
            "hoursPerWeek": 30, "startDate": "2026-10-01", "endDate": "2026-12-31"}),
        json!({"staffRef": "H-1", "roleCode": "paramedic", "hostType": "practice", "hostCode": "M83001",
            "hoursPerWeek": 10, "startDate": "2026-11-01"}),
        json!({"staffRef": "H-1", "roleCode": "first-contact-physiotherapist", "hostType": "practice", "hostCode": "M83001",
            "hoursPerWeek": 30, "startDate": "2025-01-01", "endDate": "2025-12-31"}),
    ];
    let r = send(&app, &token, "partial", "application/json", Value::Array(hours).to_string()).await;
    assert_eq!(
        outcomes(&r),
        [(1, "created".into()), (2, "created".into()), (3, "rejected".into()), (4, "created".into())],
        "45 + 30 fits, 45 + 30 + 10 does not, a year before does: {}",
        r.text
    );
    assert_eq!(errors_of(&r, 3), ["hoursPerWeek"]);

    // Callers: no token is 401 and a token without org 403, before the body is read.
    let garbage = "{{{ not a batch";
    app.post("/api/v1/placements/batch").raw("application/json", garbage).send().await.problem(401, "unauthenticated");
    let no_org = app.state.auth.mint("no-org", None, "placements:write", 600).unwrap();
    send(&app, &no_org, "atomic", "application/json", garbage).await.problem(403, "forbidden");
    let reader = app.partner("M83001", "placements:read");
    send(&app, &reader, "atomic", "application/json", garbage).await.problem(403, "forbidden");
    // Then what it is: an unknown mode, an unknown media type, a body that is not an array.
    send(&app, &token, "sometimes", "application/json", "[]").await.problem(400, "bad-request");
    send(&app, &token, "atomic", "application/xml", "<rows/>").await.problem(415, "unsupported-media-type");
    send(&app, &token, "atomic", "application/json", garbage).await.problem(400, "bad-request");
    let empty = send(&app, &token, "atomic", "application/json", "[]").await;
    assert_eq!((empty.status, empty.body["rows"].as_u64()), (200, Some(0)));
}

async fn hostile_files_and_limits(mut app: TestApp) {
    let token = setup(&app).await;
    let before = app.count("placement_records");
    // A spreadsheet's BOM, formula prefixes kept as text, a Latin-1 row, a ragged row.
    let mut file = Vec::new();
    file.extend_from_slice("\u{feff}".as_bytes());
    file.extend_from_slice(b"staff_ref,role_code,host_type,host_code,hours_per_week,start_date,notes\r\n");
    file.extend_from_slice(
        b"=HYPERLINK(\"http://evil.example\"),clinical-pharmacist,practice,M83001,20,2026-09-01,@SUM(A1:A9)\r\n",
    );
    file.extend_from_slice(b"+44-7700,clinical-pharmacist,practice,M83001,10,2026-09-01,-2+3\r\n");
    file.extend_from_slice(b"CAF\xc9-01,clinical-pharmacist,practice,M83001,10,2026-09-01,caf\xe9\r\n");
    file.extend_from_slice(b"RAGGED,clinical-pharmacist,practice,M83001,10\r\n");
    file.extend_from_slice(
        b"\"QUOTED,WITH COMMA\",clinical-pharmacist,practice,M83001,5,2026-09-01,\"line one\nline two\"\r\n",
    );
    file.extend_from_slice(b"ONE-MORE,clinical-pharmacist,practice,M83001,5,2026-09-01,\r\n");
    let r = send(&app, &token, "partial", "text/csv; charset=utf-8", file).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        outcomes(&r),
        [
            (2, "created".into()),
            (3, "created".into()),
            (4, "rejected".into()),
            (5, "rejected".into()),
            (6, "created".into()),
            (8, "created".into())
        ],
        "a quoted cell over two lines moves the next row's line on: {}",
        r.text
    );
    assert!(r.text.contains("UTF-8"), "the encoding is named: {}", r.text);
    assert!(r.text.contains("has 5 cells where the header has 7"), "{}", r.text);
    assert_eq!(app.count("placement_records"), before + 4);
    let id = r.body["results"][0]["id"].as_str().unwrap();
    let stored = app.get(&format!("/api/v1/placements/{id}")).bearer(&token).send().await;
    assert_eq!(stored.body["staffRef"], "=HYPERLINK(\"http://evil.example\")", "kept as text");
    assert_eq!(stored.body["notes"], "@SUM(A1:A9)");
    // Exported as CSV, such cells are quoted so that no spreadsheet evaluates them.
    let csv = app.get("/api/v1/placements").bearer(&token).header("accept", "text/csv").send().await;
    assert!(csv.text.contains("\"'=HYPERLINK(\"\"http://evil.example\"\")\""), "{}", csv.text);
    assert!(csv.text.contains("'@SUM(A1:A9)") && csv.text.contains("'+44-7700") && csv.text.contains("'-2+3"));

    // A header that is not the template's is refused whole.
    let odd = send(&app, &token, "partial", "text/csv", "name,grade\nJane Doe,7\n").await;
    odd.problem(400, "bad-request");
    assert!(odd.body["detail"].as_str().unwrap().contains("`name`"));
    let missing = send(&app, &token, "partial", "text/csv", "staff_ref,role_code\nA,clinical-pharmacist\n").await;
    missing.problem(400, "bad-request");

    // Too large: declared or streamed past the limit, refused, nothing written.
    app.state.batch.max_bytes = 2_000;
    let big: String =
        (0..100).map(|i| format!("BIG-{i:03},clinical-pharmacist,practice,M83001,1,2026-09-01,\n")).collect();
    let before = app.count("placement_records");
    let r = send(
        &app,
        &token,
        "partial",
        "text/csv",
        format!("staff_ref,role_code,host_type,host_code,hours_per_week,start_date,notes\n{big}"),
    )
    .await;
    r.problem(413, "too-large");
    assert_eq!(app.count("placement_records"), before, "nothing of an oversized batch is written");
}

/// `Idempotency-Key` on a batch: a retry of the same file gets the first report again, byte
/// for byte, without running it; another file under the key is 422; the report of an atomic
/// batch that wrote nothing is kept too; and the key stays the caller's own.
async fn batches_take_idempotency_keys(app: TestApp) {
    let token = setup(&app).await;
    let keyed = |key: &str, mode: &str, body: String| {
        app.post(&format!("/api/v1/placements/batch?mode={mode}"))
            .bearer(&token)
            .header("idempotency-key", key)
            .raw("text/csv", body)
    };
    let file = format!("{HEADER}\nIK-1,clinical-pharmacist,,practice,M83001,,20,2026-09-01,,,\n");
    let (placements, audit) = (app.count("placement_records"), app.count("audit_events"));
    let first = keyed("batch-1", "atomic", file.clone()).send().await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(outcomes(&first), [(2, "created".into())]);
    let again = keyed("batch-1", "atomic", file.clone()).send().await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.bytes, first.bytes, "the first report, not one saying `unchanged`");
    assert_eq!((app.count("placement_records"), app.count("audit_events")), (placements + 1, audit + 1));

    // Another file, or the same file in another mode, under the key: 422, not run.
    let other = format!("{HEADER}\nIK-2,clinical-pharmacist,,practice,M83001,,20,2026-09-01,,,\n");
    keyed("batch-1", "atomic", other.clone()).send().await.problem(422, "validation");
    keyed("batch-1", "partial", file.clone()).send().await.problem(422, "validation");
    assert_eq!(app.count("placement_records"), placements + 1);
    // The key is the caller's as it was: the same subject for another organisation is not replayed.
    let elsewhere =
        app.state.auth.mint("partner-of-M83001", Some("M83003"), "placements:read placements:write", 600).unwrap();
    let crossed = app
        .post("/api/v1/placements/batch")
        .bearer(&elsewhere)
        .header("idempotency-key", "batch-1")
        .raw("text/csv", file.clone())
        .send()
        .await;
    crossed.problem(422, "validation");
    assert!(!crossed.text.contains(first.body["results"][0]["id"].as_str().unwrap()));

    // An atomic batch with a bad row wrote nothing; its report is the answer, kept too.
    let bad = format!("{HEADER}\nIK-3,clinical-pharmacist,,practice,M83001,,-1,2026-09-01,,,\n");
    let refused = keyed("batch-2", "atomic", bad.clone()).send().await;
    assert_eq!((refused.status, refused.body["committed"].as_bool()), (422, Some(false)), "{}", refused.text);
    let refused_again = keyed("batch-2", "atomic", bad).send().await;
    assert_eq!((refused_again.status, refused_again.bytes.clone()), (422, refused.bytes.clone()));
    assert_eq!(refused_again.header("idempotent-replayed").as_deref(), Some("true"));
    // A batch refused for its header (400) keeps that answer as well.
    let broken = keyed("batch-3", "atomic", "who,what\nx,y\n".to_string()).send().await;
    broken.problem(400, "bad-request");
    let broken_again = keyed("batch-3", "atomic", "who,what\nx,y\n".to_string()).send().await;
    assert_eq!((broken_again.status, broken_again.bytes.clone()), (400, broken.bytes.clone()));
    assert_eq!(app.count("placement_records"), placements + 1);
}
