//! Upgrades: a database written by the previous release (migrations 1 and 2, audit rows
//! without sequence numbers) opens with this one, and the change feed carries its history
//! in the order it was written, then goes on numbering new writes after it.

use diesel::RunQueryDsl;
use pcr_schema::{Backend, Db};
use serde_json::{json, Value};

use crate::harness::TestApp;

const PRACTICE_ID: &str = "0b7d9a2e-6d31-4f0e-9a55-0d3c1c7b1a01";
const FEDERATION_ID: &str = "0b7d9a2e-6d31-4f0e-9a55-0d3c1c7b1a02";
const PLACEMENT_ID: &str = "0b7d9a2e-6d31-4f0e-9a55-0d3c1c7b1a03";

/// What the previous release left: one practice and six audit rows, one of them an ODS
/// import summary, written in a different order from their ids.
fn old_release(url: &str) {
    Db::migrate_first(url, 2).expect("the previous release's migrations");
    let practice = |version: i32, name: &str| {
        json!({"id": PRACTICE_ID, "odsCode": "M83005", "name": name, "postcode": "ST5 7EB", "version": version})
            .to_string()
    };
    let federation = json!({"id": FEDERATION_ID, "code": "NSGPF", "name": "North Staffs", "version": 1}).to_string();
    let placement = json!({"id": PLACEMENT_ID, "staffRef": "S1", "roleCode": "gp", "version": 1}).to_string();
    let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let audit = |id: &str,
                 at: &str,
                 action: &str,
                 kind: &str,
                 entity: &str,
                 before: Option<&str>,
                 after: Option<&str>| {
        format!(
            "INSERT INTO audit_events (id, occurred_at, actor, actor_org, action, entity_type, entity_id, before, after) \
             VALUES ('{id}', '{at}', 'old-release', NULL, '{action}', '{kind}', '{entity}', {}, {})",
            before.map(q).unwrap_or_else(|| "NULL".into()),
            after.map(q).unwrap_or_else(|| "NULL".into()),
        )
    };
    let statements = vec![
        format!(
            "INSERT INTO practices (id, ods_code, name, postcode, status, source, version, created_at, updated_at) \
             VALUES ('{PRACTICE_ID}', 'M83005', 'Heathcote St Surgery', 'ST5 7EB', 'active', 'api', 2, \
             '2026-11-20 09:00:00', '2026-11-21 09:00:00')"
        ),
        audit(
            "f0000000-0000-0000-0000-000000000006",
            "2026-11-20 09:00:00",
            "create",
            "practice",
            PRACTICE_ID,
            None,
            Some(&practice(1, "Heathcote Street Surgery")),
        ),
        audit(
            "e0000000-0000-0000-0000-000000000005",
            "2026-11-20 10:00:00",
            "create",
            "federation",
            FEDERATION_ID,
            None,
            Some(&federation),
        ),
        audit(
            "d0000000-0000-0000-0000-000000000004",
            "2026-11-20 11:00:00",
            "import",
            "ods_import",
            "epraccur.csv",
            None,
            Some(r#"{"file":"epraccur.csv","inserted":0}"#),
        ),
        audit(
            "c0000000-0000-0000-0000-000000000003",
            "2026-11-20 12:00:00",
            "create",
            "placement",
            PLACEMENT_ID,
            None,
            Some(&placement),
        ),
        audit(
            "b0000000-0000-0000-0000-000000000002",
            "2026-11-21 09:00:00",
            "update",
            "practice",
            PRACTICE_ID,
            Some(&practice(1, "Heathcote Street Surgery")),
            Some(&practice(2, "Heathcote St Surgery")),
        ),
        audit(
            "a0000000-0000-0000-0000-000000000001",
            "2026-11-21 10:00:00",
            "delete",
            "federation",
            FEDERATION_ID,
            Some(&federation),
            None,
        ),
    ];
    match Backend::of_url(url) {
        Backend::Postgres => {
            use diesel::Connection;
            let mut c = diesel::PgConnection::establish(url).unwrap();
            for s in &statements {
                diesel::sql_query(s).execute(&mut c).unwrap();
            }
        }
        Backend::Sqlite => {
            use diesel::Connection;
            let mut c = diesel::SqliteConnection::establish(url).unwrap();
            for s in &statements {
                diesel::sql_query(s).execute(&mut c).unwrap();
            }
        }
    }
}

async fn history_carries_over(app: TestApp) {
    assert_eq!(app.count("audit_events"), 6, "nothing lost");
    let public = app.get("/api/v1/changes").send().await;
    assert_eq!(public.status, 200, "{}", public.text);
    let summary = |body: &Value| -> Vec<(String, String, String, Value)> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["entity"].as_str().unwrap().into(),
                    c["action"].as_str().unwrap().into(),
                    c["key"].as_str().unwrap().into(),
                    c["version"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(
        summary(&public.body),
        [
            ("practice".into(), "create".into(), "M83005".into(), json!(1)),
            ("federation".into(), "create".into(), "NSGPF".into(), json!(1)),
            ("practice".into(), "update".into(), "M83005".into(), json!(2)),
            ("federation".into(), "delete".into(), "NSGPF".into(), json!(1)),
        ],
        "in the order written, keys and versions read from the old rows"
    );
    let link = public.body["items"][2]["link"].as_str().unwrap().to_string();
    assert_eq!(link, "/api/v1/practices/M83005");
    assert_eq!(app.get(&link).send().await.body["name"], "Heathcote St Surgery");
    let all = app.get("/api/v1/changes").bearer(&app.token("placements:read")).send().await;
    let entities: Vec<&str> =
        all.body["items"].as_array().unwrap().iter().map(|c| c["entity"].as_str().unwrap()).collect();
    assert_eq!(entities, ["practice", "federation", "placement", "practice", "federation"]);
    assert_eq!(all.body["items"][2]["key"], PLACEMENT_ID, "a record without a natural key is keyed by id");
    // A write now comes after the old history.
    let cursor = all.body["nextCursor"].as_str().unwrap().to_string();
    app.practice("M83007", "The Village Surgery", "ST5 0ET").await;
    let next = app.get(&format!("/api/v1/changes?after={cursor}")).send().await;
    assert_eq!(summary(&next.body), [("practice".into(), "create".into(), "M83007".into(), json!(1))]);
    // The old practice is still writable with the new ETags.
    let tag = app.etag_of("/api/v1/practices/M83005").await;
    assert_eq!(tag, format!("\"2.{PRACTICE_ID}\""));
    let r = app
        .patch("/api/v1/practices/M83005")
        .bearer(&app.admin())
        .if_match(&tag)
        .json(&json!({"name": "Heathcote Street Surgery"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.count("audit_events"), 8);
}

#[actix_web::test]
async fn upgrade_sqlite() {
    history_carries_over(TestApp::prepared(Backend::Sqlite, old_release)).await
}

#[actix_web::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run skipped: set TEST_DATABASE_URL to enable")]
async fn upgrade_postgres() {
    history_carries_over(TestApp::prepared(Backend::Postgres, old_release)).await
}
