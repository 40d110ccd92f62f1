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
    execute_all(url, &statements);
}

/// Runs raw SQL statements on the database at `url`, outside the app.
fn execute_all(url: &str, statements: &[String]) {
    use diesel::Connection;
    match Backend::of_url(url) {
        Backend::Postgres => {
            let mut c = diesel::PgConnection::establish(url).unwrap();
            for s in statements {
                diesel::sql_query(s).execute(&mut c).unwrap_or_else(|e| panic!("{e}: {s}"));
            }
        }
        Backend::Sqlite => {
            let mut c = diesel::SqliteConnection::establish(url).unwrap();
            for s in statements {
                diesel::sql_query(s).execute(&mut c).unwrap_or_else(|e| panic!("{e}: {s}"));
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
    let all = app.get("/api/v1/changes").bearer(&app.admin()).send().await;
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

// ---------------------------------------------------------------------------------------
// The release before the one organisation model (migrations 1 to 3): practices, their
// commissioners over time, a federation, an ICT with partner services, memberships and
// placements at every kind of host, each in its own table. Migration 4 carries all of it
// into organisations, affiliations and placement records.

const P_MEIR: &str = "1c2d3e4f-0000-4000-8000-000000000001";
const P_WESTON: &str = "1c2d3e4f-0000-4000-8000-000000000002";
const FED: &str = "1c2d3e4f-0000-4000-8000-000000000003";
const ICT: &str = "1c2d3e4f-0000-4000-8000-000000000004";
const FM_MEIR: &str = "1c2d3e4f-0000-4000-8000-000000000011";
const FM_WESTON: &str = "1c2d3e4f-0000-4000-8000-000000000012";
const IM_PILOT: &str = "1c2d3e4f-0000-4000-8000-000000000021";
const IM_LIVE: &str = "1c2d3e4f-0000-4000-8000-000000000022";
const PS_RLY: &str = "1c2d3e4f-0000-4000-8000-000000000031";
const PS_NEIGHBOURS: &str = "1c2d3e4f-0000-4000-8000-000000000032";
const PL_PRACTICE: &str = "1c2d3e4f-0000-4000-8000-000000000041";
const PL_FEDERATION: &str = "1c2d3e4f-0000-4000-8000-000000000042";
const PL_ICT: &str = "1c2d3e4f-0000-4000-8000-000000000043";
const PL_RJE: &str = "1c2d3e4f-0000-4000-8000-000000000044";
const PL_VAS: &str = "1c2d3e4f-0000-4000-8000-000000000045";
const PL_VAS_LOWER: &str = "1c2d3e4f-0000-4000-8000-000000000046";
const PL_RJE_CARDIOLOGY: &str = "1c2d3e4f-0000-4000-8000-000000000047";

fn three_migration_release(url: &str) {
    Db::migrate_first(url, 3).expect("the release before the organisation model");
    let placement = |id: &str, staff: &str, role: &str, programme: Option<&str>, host: &str, rest: &str| {
        format!(
            "INSERT INTO placements (id, staff_ref, role_code, programme_code, host_type, host_practice, \
             host_federation, host_ict, external_host_name, external_host_code, hours_per_week, start_date, \
             end_date, funding, notes, source, created_by, version, created_at, updated_at) VALUES \
             ('{id}', '{staff}', '{role}', {}, {host}, {rest})",
            programme.map(|p| format!("'{p}'")).unwrap_or_else(|| "NULL".into())
        )
    };
    let audit = |seq: i64, at: &str, action: &str, kind: &str, id: &str, key: &str, version: Option<i32>| {
        let v = version.map(|v| v.to_string()).unwrap_or_else(|| "NULL".into());
        let after = json!({"id": id, "version": version}).to_string();
        format!(
            "INSERT INTO audit_events (id, occurred_at, actor, actor_org, action, entity_type, entity_id, before, \
             after, seq, entity_key, entity_version) VALUES ('a1000000-0000-4000-8000-{seq:012}', '{at}', \
             'old-release', 'NSGPF', '{action}', '{kind}', '{id}', NULL, '{after}', {seq}, '{key}', {v})"
        )
    };
    let statements = vec![
        format!(
            "INSERT INTO practices (id, ods_code, name, address_lines, postcode, region_code, icb_code, \
             commissioner_code, list_size, status, merged_into, opened_on, closed_on, phone, source, version, \
             created_at, updated_at) VALUES ('{P_MEIR}', 'M83001', 'Meir Health Centre', \
             'Weston Road\nMeir\nStoke-on-Trent', 'ST3 6AB', 'Y60', 'QNC', '5PV', 9120, 'active', NULL, \
             '1974-04-01', NULL, '01782 123456', 'ods', 4, '2019-10-01 08:00:00', '2026-11-20 09:30:00')"
        ),
        format!(
            "INSERT INTO practices (id, ods_code, name, address_lines, postcode, region_code, icb_code, \
             commissioner_code, list_size, status, merged_into, opened_on, closed_on, phone, source, version, \
             created_at, updated_at) VALUES ('{P_WESTON}', 'M83002', 'Weston Coyney Surgery', \
             'Weston Coyney Road\nStoke-on-Trent', 'ST3 5JP', 'Y60', 'QNC', '05W', 2300, 'merged', 'M83001', \
             '1990-04-01', '2024-03-31', '01782 654321', 'api', 3, '2020-01-15 10:00:00', '2024-04-02 11:15:00')"
        ),
        "INSERT INTO practice_commissioners (ods_code, commissioner_code, start_date, end_date) \
         VALUES ('M83001', '05G', '2013-04-01', '2019-03-31')"
            .to_string(),
        "INSERT INTO practice_commissioners (ods_code, commissioner_code, start_date, end_date) \
         VALUES ('M83001', '5PV', '2019-04-01', NULL)"
            .to_string(),
        format!(
            "INSERT INTO federations (id, code, name, ods_code, icb_code, description, source, version, created_at, \
             updated_at) VALUES ('{FED}', 'NSGPF', 'North Staffordshire GP Federation', NULL, 'QNC', \
             'Practices of North Staffordshire', 'api', 2, '2016-03-01 09:00:00', '2021-05-05 12:00:00')"
        ),
        format!(
            "INSERT INTO integrated_care_teams (id, code, name, icb_code, locality, population, status, source, \
             version, created_at, updated_at) VALUES ('{ICT}', 'ICT-MEIR', 'Meir Integrated Care Team', 'QNC', \
             'Meir, Weston Coyney and Longton', 52000, 'early_adopter', 'api', 3, '2024-09-10 09:00:00', \
             '2025-04-01 08:00:00')"
        ),
        format!(
            "INSERT INTO federation_memberships (id, federation_code, ods_code, start_date, end_date, version, \
             created_at, updated_at) VALUES ('{FM_MEIR}', 'NSGPF', 'M83001', '2016-04-01', NULL, 1, \
             '2016-04-01 09:00:00', '2016-04-01 09:00:00')"
        ),
        format!(
            "INSERT INTO federation_memberships (id, federation_code, ods_code, start_date, end_date, version, \
             created_at, updated_at) VALUES ('{FM_WESTON}', 'NSGPF', 'M83002', '2016-04-01', '2024-03-31', 2, \
             '2016-04-01 09:05:00', '2024-04-02 11:00:00')"
        ),
        format!(
            "INSERT INTO ict_memberships (id, ict_code, ods_code, start_date, end_date, version, created_at, \
             updated_at) VALUES ('{IM_PILOT}', 'ICT-MEIR', 'M83001', '2024-10-01', '2025-03-31', 2, \
             '2024-09-10 09:10:00', '2025-03-20 16:00:00')"
        ),
        format!(
            "INSERT INTO ict_memberships (id, ict_code, ods_code, start_date, end_date, version, created_at, \
             updated_at) VALUES ('{IM_LIVE}', 'ICT-MEIR', 'M83001', '2025-04-01', NULL, 1, \
             '2025-03-20 16:01:00', '2025-03-20 16:01:00')"
        ),
        format!(
            "INSERT INTO ict_partner_services (id, ict_code, name, kind, organisation_code, start_date, end_date, \
             version, created_at, updated_at) VALUES ('{PS_RLY}', 'ICT-MEIR', 'Community mental health team', \
             'mental_health', 'RLY', '2025-04-01', NULL, 2, '2025-03-01 10:00:00', '2025-03-02 10:00:00')"
        ),
        format!(
            "INSERT INTO ict_partner_services (id, ict_code, name, kind, organisation_code, start_date, end_date, \
             version, created_at, updated_at) VALUES ('{PS_NEIGHBOURS}', 'ICT-MEIR', 'Meir Good Neighbours', \
             'voluntary', NULL, '2025-04-01', '2026-03-31', 1, '2025-03-01 10:05:00', '2025-03-01 10:05:00')"
        ),
        placement(
            PL_PRACTICE,
            "GPR-01",
            "gp-retainer",
            Some("gp-retainer-scheme"),
            "'practice', 'M83001', NULL, NULL, NULL, NULL",
            "15.0, '2024-04-01', '2029-03-31', 'programme', 'Tuesdays and Thursdays', 'api', 'partner-a', 3, \
             '2024-03-01 09:00:00', '2025-01-02 10:00:00'",
        ),
        placement(
            PL_FEDERATION,
            "CP-01",
            "clinical-pharmacist",
            Some("additional-roles-reimbursement"),
            "'federation', NULL, 'NSGPF', NULL, NULL, NULL",
            "37.5, '2023-04-01', '2025-03-31', 'arrs', NULL, 'import', 'partner-b', 2, \
             '2023-03-15 09:00:00', '2025-04-01 09:00:00'",
        ),
        placement(
            PL_ICT,
            "FCP-01",
            "msk-first-contact-practitioner",
            None,
            "'ict', NULL, NULL, 'ICT-MEIR', NULL, NULL",
            "30.0, '2025-06-02', NULL, 'icb', NULL, 'api', 'partner-a', 1, \
             '2025-05-20 09:00:00', '2025-05-20 09:00:00'",
        ),
        placement(
            PL_RJE,
            "PA-INT-01",
            "physician-associate",
            Some("pa-internship"),
            "'external', NULL, NULL, NULL, 'UHNM acute medicine', 'RJE'",
            "15.0, '2025-09-01', '2026-08-31', 'programme', NULL, 'api', 'partner-a', 2, \
             '2025-08-01 09:00:00', '2025-08-15 09:00:00'",
        ),
        placement(
            PL_VAS,
            "SPLW-01",
            "social-prescribing-link-worker",
            None,
            "'external', NULL, NULL, NULL, 'Voluntary Action Stoke', NULL",
            "22.5, '2022-01-04', '2024-12-31', 'other', NULL, 'api', 'partner-c', 4, \
             '2021-12-01 09:00:00', '2024-12-31 17:00:00'",
        ),
        placement(
            PL_RJE_CARDIOLOGY,
            "PA-INT-02",
            "physician-associate",
            Some("pa-internship"),
            "'external', NULL, NULL, NULL, 'UHNM cardiology', 'RJE'",
            "15.0, '2025-09-01', '2026-08-31', 'programme', NULL, 'api', 'partner-a', 1, \
             '2025-08-02 09:00:00', '2025-08-02 09:00:00'",
        ),
        placement(
            PL_VAS_LOWER,
            "HWC-01",
            "health-and-wellbeing-coach",
            None,
            "'external', NULL, NULL, NULL, 'voluntary action stoke', NULL",
            "18.75, '2025-01-06', NULL, 'other', NULL, 'api', 'partner-c', 2, \
             '2024-12-01 09:00:00', '2025-02-01 09:00:00'",
        ),
        audit(1, "2019-10-01 08:00:00", "create", "practice", P_MEIR, "M83001", Some(1)),
        audit(2, "2020-01-15 10:00:00", "create", "federation", FED, "NSGPF", Some(1)),
        audit(3, "2020-01-15 10:01:00", "create", "federation membership", FM_MEIR, FM_MEIR, Some(1)),
        audit(4, "2024-03-01 09:00:00", "create", "placement", PL_PRACTICE, PL_PRACTICE, Some(1)),
        audit(5, "2024-04-02 11:15:00", "update", "practice", P_WESTON, "M83002", Some(3)),
        audit(6, "2024-04-03 02:00:00", "import", "ods_import", "epraccur.csv", "epraccur.csv", None),
        audit(7, "2024-09-10 09:00:00", "create", "integrated care team", ICT, "ICT-MEIR", Some(1)),
        audit(8, "2024-12-31 17:00:00", "update", "placement", PL_VAS, PL_VAS, Some(4)),
    ];
    execute_all(url, &statements);
}

/// Text read straight from the database.
fn texts(app: &TestApp, sql: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    let mut c = app.db().conn().expect("conn");
    let rows: Vec<T> = diesel::sql_query(sql).load(&mut *c).unwrap_or_else(|e| panic!("{e}: {sql}"));
    rows.into_iter().map(|r| r.v).collect()
}

async fn organisation_model_carries_everything_over(app: TestApp) {
    let admin = app.admin();
    let reader = app.admin();

    // Row for row: 2 practices, a federation, an ICT, 3 commissioners (05G and 5PV from
    // the history, 05W from a practice's current commissioner) and 4 external providers
    // (RJE, RLY and one of our own for each code-less name, whatever its case).
    assert_eq!(app.count("organisations"), 11);
    assert_eq!(app.count("practices"), 2);
    assert_eq!(app.count("affiliations"), 8, "2 + 2 memberships, 2 commissioner periods, 2 partner services");
    assert_eq!(app.count("affiliations WHERE kind = 'commissioned_by'"), 2);
    assert_eq!(app.count("placement_records"), 7);
    assert_eq!(app.count("partner_service_details"), 2);

    // Migration 6 drops migration 5's second index on placement_records (staff_ref); the
    // first, migration 4's, stays.
    let indexes = match app.backend {
        Backend::Postgres => "SELECT indexname AS v FROM pg_indexes WHERE tablename = 'placement_records' ORDER BY 1",
        Backend::Sqlite => {
            "SELECT name AS v FROM sqlite_master WHERE type = 'index' AND tbl_name = 'placement_records' ORDER BY 1"
        }
    };
    let indexes = texts(&app, indexes);
    assert!(indexes.iter().any(|i| i == "placement_records_staff_idx"), "{indexes:?}");
    assert!(!indexes.iter().any(|i| i == "placement_records_staff_ref"), "the duplicate is gone: {indexes:?}");

    // Practices: every field, and the ETag of the old version.
    let meir = app.get("/api/v1/practices/M83001").send().await;
    assert_eq!(meir.status, 200, "{}", meir.text);
    assert_eq!(
        meir.body,
        json!({"id": P_MEIR, "odsCode": "M83001", "name": "Meir Health Centre",
            "addressLines": ["Weston Road", "Meir", "Stoke-on-Trent"], "postcode": "ST3 6AB", "regionCode": "Y60",
            "icbCode": "QNC", "commissionerCode": "5PV", "listSize": 9120, "status": "active", "mergedInto": null,
            "openedOn": "1974-04-01", "closedOn": null, "phone": "01782 123456", "source": "ods", "version": 4,
            "createdAt": "2019-10-01T08:00:00Z", "updatedAt": "2026-11-20T09:30:00Z"})
    );
    assert_eq!(meir.etag(), format!("\"4.{P_MEIR}\""));
    let weston = app.get("/api/v1/practices/M83002").send().await;
    assert_eq!(
        weston.body,
        json!({"id": P_WESTON, "odsCode": "M83002", "name": "Weston Coyney Surgery",
            "addressLines": ["Weston Coyney Road", "Stoke-on-Trent"], "postcode": "ST3 5JP", "regionCode": "Y60",
            "icbCode": "QNC", "commissionerCode": "05W", "listSize": 2300, "status": "merged", "mergedInto": "M83001",
            "openedOn": "1990-04-01", "closedOn": "2024-03-31", "phone": "01782 654321", "source": "api",
            "version": 3, "createdAt": "2020-01-15T10:00:00Z", "updatedAt": "2024-04-02T11:15:00Z"})
    );
    let as_org = app.get("/api/v1/organisations/M83002").send().await;
    assert_eq!(
        as_org.body,
        json!({"id": P_WESTON, "code": "M83002", "kind": "practice", "name": "Weston Coyney Surgery",
            "status": "merged", "active": false, "openedOn": "1990-04-01", "closedOn": "2024-03-31",
            "source": "api", "version": 3, "createdAt": "2020-01-15T10:00:00Z", "updatedAt": "2024-04-02T11:15:00Z"})
    );

    // The federation (no ODS code) and the ICT.
    let fed = app.get("/api/v1/federations/NSGPF").send().await;
    assert_eq!(
        fed.body,
        json!({"id": FED, "code": "NSGPF", "name": "North Staffordshire GP Federation", "odsCode": null,
            "icbCode": "QNC", "description": "Practices of North Staffordshire", "source": "api", "version": 2,
            "createdAt": "2016-03-01T09:00:00Z", "updatedAt": "2021-05-05T12:00:00Z"})
    );
    let ict = app.get("/api/v1/icts/ICT-MEIR").send().await;
    assert_eq!(
        ict.body,
        json!({"id": ICT, "code": "ICT-MEIR", "name": "Meir Integrated Care Team", "icbCode": "QNC",
            "locality": "Meir, Weston Coyney and Longton", "population": 52000, "status": "early_adopter",
            "source": "api", "version": 3, "createdAt": "2024-09-10T09:00:00Z", "updatedAt": "2025-04-01T08:00:00Z"})
    );

    // Memberships: same ids, versions, dates and timestamps.
    let fms = app.get("/api/v1/federations/NSGPF/memberships").send().await;
    assert_eq!(
        fms.body["items"],
        json!([
            {"id": FM_MEIR, "federationCode": "NSGPF", "odsCode": "M83001", "startDate": "2016-04-01", "endDate": null,
             "version": 1, "createdAt": "2016-04-01T09:00:00Z", "updatedAt": "2016-04-01T09:00:00Z"},
            {"id": FM_WESTON, "federationCode": "NSGPF", "odsCode": "M83002", "startDate": "2016-04-01",
             "endDate": "2024-03-31", "version": 2, "createdAt": "2016-04-01T09:05:00Z",
             "updatedAt": "2024-04-02T11:00:00Z"},
        ])
    );
    let ims = app.get("/api/v1/icts/ICT-MEIR/memberships").send().await;
    assert_eq!(
        ims.body["items"],
        json!([
            {"id": IM_PILOT, "ictCode": "ICT-MEIR", "odsCode": "M83001", "startDate": "2024-10-01",
             "endDate": "2025-03-31", "version": 2, "createdAt": "2024-09-10T09:10:00Z",
             "updatedAt": "2025-03-20T16:00:00Z"},
            {"id": IM_LIVE, "ictCode": "ICT-MEIR", "odsCode": "M83001", "startDate": "2025-04-01", "endDate": null,
             "version": 1, "createdAt": "2025-03-20T16:01:00Z", "updatedAt": "2025-03-20T16:01:00Z"},
        ])
    );
    let by_id = app.get(&format!("/api/v1/federation-memberships/{FM_WESTON}")).send().await;
    assert_eq!(by_id.etag(), format!("\"2.{FM_WESTON}\""), "a membership keeps its version as its ETag");

    // Partner services: RLY kept; the one without a code still has none.
    let services = app.get("/api/v1/icts/ICT-MEIR/partner-services").send().await;
    assert_eq!(
        services.body["items"],
        json!([
            {"id": PS_RLY, "ictCode": "ICT-MEIR", "name": "Community mental health team", "kind": "mental_health",
             "organisationCode": "RLY", "startDate": "2025-04-01", "endDate": null, "version": 2,
             "createdAt": "2025-03-01T10:00:00Z", "updatedAt": "2025-03-02T10:00:00Z"},
            {"id": PS_NEIGHBOURS, "ictCode": "ICT-MEIR", "name": "Meir Good Neighbours", "kind": "voluntary",
             "organisationCode": null, "startDate": "2025-04-01", "endDate": "2026-03-31", "version": 1,
             "createdAt": "2025-03-01T10:05:00Z", "updatedAt": "2025-03-01T10:05:00Z"},
        ])
    );

    // External providers: RJE and RLY by their ODS codes, one of our own per code-less name.
    let externals = app.get("/api/v1/organisations?kind=external").send().await;
    assert_eq!(externals.status, 200, "{}", externals.text);
    let externals = externals.body["items"].as_array().unwrap().clone();
    let named: Vec<(String, String)> = externals
        .iter()
        .map(|o| (o["code"].as_str().unwrap().to_string(), o["name"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(named.len(), 4, "{named:?}");
    assert!(externals.iter().all(|o| o["kind"] == "external" && o["status"] == "active" && o["active"] == true));
    assert_eq!(named[2], ("RJE".into(), "UHNM acute medicine".into()), "{named:?}");
    assert_eq!(named[3], ("RLY".into(), "Community mental health team".into()), "{named:?}");
    let own_code = |name: &str| -> String {
        let found: Vec<&(String, String)> = named.iter().filter(|(_, n)| n == name).collect();
        assert_eq!(found.len(), 1, "one provider named {name}: {named:?}");
        let code = found[0].0.clone();
        assert!(pcr_schema::kinds::is_own_external_code(&code), "EXT- and 8 hex digits: {code}");
        code
    };
    let vas = own_code("Voluntary Action Stoke");
    let neighbours = own_code("Meir Good Neighbours");
    assert_ne!(vas, neighbours);

    // Placements at every old kind of host: host, version, dates, everything else.
    let placement = |id: &'static str| {
        let app = &app;
        let reader = reader.clone();
        async move {
            let r = app.get(&format!("/api/v1/placements/{id}")).bearer(&reader).send().await;
            assert_eq!(r.status, 200, "{id}: {}", r.text);
            r
        }
    };
    let at_practice = placement(PL_PRACTICE).await;
    assert_eq!(
        at_practice.body,
        json!({"id": PL_PRACTICE, "staffRef": "GPR-01", "roleCode": "gp-retainer",
            "programmeCode": "gp-retainer-scheme", "hostType": "practice", "hostCode": "M83001", "hostName": null,
            "hoursPerWeek": 15.0, "fte": 0.4, "startDate": "2024-04-01", "endDate": "2029-03-31", "status": "active",
            "funding": "programme", "notes": "Tuesdays and Thursdays", "source": "api", "createdBy": "partner-a",
            "version": 3, "createdAt": "2024-03-01T09:00:00Z", "updatedAt": "2025-01-02T10:00:00Z",
            "registrationBody": null, "registrationNumber": null})
    );
    assert_eq!(at_practice.etag(), format!("\"3.{PL_PRACTICE}\""));
    let summary = |r: &crate::harness::Resp| {
        let b = &r.body;
        (
            b["hostType"].clone(),
            b["hostCode"].clone(),
            b["hostName"].clone(),
            b["version"].clone(),
            b["startDate"].clone(),
            b["endDate"].clone(),
            b["source"].clone(),
            b["createdBy"].clone(),
        )
    };
    assert_eq!(
        summary(&placement(PL_FEDERATION).await),
        (
            json!("federation"),
            json!("NSGPF"),
            json!(null),
            json!(2),
            json!("2023-04-01"),
            json!("2025-03-31"),
            json!("import"),
            json!("partner-b")
        )
    );
    assert_eq!(
        summary(&placement(PL_ICT).await),
        (
            json!("ict"),
            json!("ICT-MEIR"),
            json!(null),
            json!(1),
            json!("2025-06-02"),
            json!(null),
            json!("api"),
            json!("partner-a")
        )
    );
    let rje = placement(PL_RJE).await;
    assert_eq!(
        summary(&rje),
        (
            json!("external"),
            json!("RJE"),
            json!("UHNM acute medicine"),
            json!(2),
            json!("2025-09-01"),
            json!("2026-08-31"),
            json!("api"),
            json!("partner-a")
        )
    );
    assert_eq!(rje.body["programmeCode"], "pa-internship");
    let first = placement(PL_VAS).await;
    assert_eq!(
        summary(&first),
        (
            json!("external"),
            json!(vas),
            json!("Voluntary Action Stoke"),
            json!(4),
            json!("2022-01-04"),
            json!("2024-12-31"),
            json!("api"),
            json!("partner-c")
        )
    );
    let second = placement(PL_VAS_LOWER).await;
    assert_eq!(
        summary(&second),
        (
            json!("external"),
            json!(vas),
            json!("voluntary action stoke"),
            json!(2),
            json!("2025-01-06"),
            json!(null),
            json!("api"),
            json!("partner-c")
        ),
        "the same name in another case is the same provider, and the name as written is kept"
    );
    // Two teams of one provider: one organisation, each placement with its team's name.
    let cardiology = placement(PL_RJE_CARDIOLOGY).await;
    assert_eq!(
        (&cardiology.body["hostCode"], &cardiology.body["hostName"]),
        (&json!("RJE"), &json!("UHNM cardiology"))
    );
    assert_eq!(second.body["hoursPerWeek"], 18.75);
    let at_vas = app.get(&format!("/api/v1/placements?host={vas}")).bearer(&reader).send().await;
    let ids: Vec<&str> = at_vas.body["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [PL_VAS, PL_VAS_LOWER], "both placements at the one provider, by creation");

    // The commissioner history: commissioned_by affiliations, commissioners as organisations.
    let commissioners = app.get("/api/v1/organisations?kind=commissioner").send().await;
    let comm: Vec<(&str, &str, &str, &str)> = commissioners.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["code"].as_str().unwrap(),
                o["kind"].as_str().unwrap(),
                o["name"].as_str().unwrap(),
                o["source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        comm,
        [
            ("05G", "commissioner", "05G", "ods"),
            ("05W", "commissioner", "05W", "ods"),
            ("5PV", "commissioner", "5PV", "ods")
        ]
    );
    let affs = app.get("/api/v1/organisations/M83001/affiliations").send().await;
    assert_eq!(affs.status, 200, "{}", affs.text);
    let periods: Vec<(String, String, String, Value, Value, Value, Value)> = affs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["member"], json!({"code": "M83001", "kind": "practice", "name": "Meir Health Centre"}));
            (
                a["kind"].as_str().unwrap().to_string(),
                a["parent"]["code"].as_str().unwrap().to_string(),
                a["parent"]["kind"].as_str().unwrap().to_string(),
                a["startDate"].clone(),
                a["endDate"].clone(),
                a["current"].clone(),
                a["version"].clone(),
            )
        })
        .collect();
    let p = |k: &str, code: &str, kind: &str, s: &str, e: Option<&str>, current: bool, v: i32| {
        (k.to_string(), code.to_string(), kind.to_string(), json!(s), json!(e), json!(current), json!(v))
    };
    assert_eq!(
        periods,
        [
            p("commissioned_by", "05G", "commissioner", "2013-04-01", Some("2019-03-31"), false, 1),
            p("commissioned_by", "5PV", "commissioner", "2019-04-01", None, true, 1),
            p("member_of", "ICT-MEIR", "ict", "2024-10-01", Some("2025-03-31"), false, 2),
            p("member_of", "ICT-MEIR", "ict", "2025-04-01", None, true, 1),
            p("member_of", "NSGPF", "federation", "2016-04-01", None, true, 1),
        ]
    );
    let ids: Vec<&str> = affs.body["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(&ids[2..], [IM_PILOT, IM_LIVE, FM_MEIR], "memberships keep their ids");
    assert!(ids[0] != ids[1] && ids[0].len() == 36 && ids[1].len() == 36);
    let members_on = |code: &'static str, day: &'static str| {
        let app = &app;
        async move {
            let r = app.get(&format!("/api/v1/organisations/{code}/members?active_on={day}")).send().await;
            assert_eq!(r.status, 200, "{}", r.text);
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    assert_eq!(m["affiliation"]["kind"], "commissioned_by");
                    m["organisation"]["code"].as_str().unwrap().to_string()
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(members_on("05G", "2013-04-01").await, ["M83001"], "first day");
    assert_eq!(members_on("05G", "2016-06-15").await, ["M83001"]);
    assert_eq!(members_on("05G", "2019-03-31").await, ["M83001"], "last day");
    assert_eq!(members_on("05G", "2019-04-01").await, Vec::<String>::new(), "the day after it ended");
    assert_eq!(members_on("05G", "2012-04-01").await, Vec::<String>::new(), "before it began");
    assert_eq!(members_on("5PV", "2019-04-01").await, ["M83001"]);
    assert_eq!(members_on("5PV", "2019-03-31").await, Vec::<String>::new());
    assert_eq!(members_on("05W", "2020-01-01").await, Vec::<String>::new(), "a current code, no history");
    let contains = app.get("/api/v1/organisations/05G/contains/M83001?from=2013-04-01&to=2019-03-31").send().await;
    assert_eq!(contains.body["contains"], true, "{}", contains.text);

    // The other sides: the ICT's partner services name their providers.
    let rly = app.get("/api/v1/organisations/RLY/affiliations").send().await;
    assert_eq!(rly.body["items"].as_array().unwrap().len(), 1, "{}", rly.text);
    assert_eq!(rly.body["items"][0]["id"], PS_RLY);
    assert_eq!(rly.body["items"][0]["kind"], "partner_service_of");
    assert_eq!(rly.body["items"][0]["parent"]["code"], "ICT-MEIR");
    let weston_affs = app.get("/api/v1/organisations/M83002/affiliations").send().await;
    assert_eq!(weston_affs.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(weston_affs.body["items"][0]["id"], FM_WESTON);
    assert_eq!(weston_affs.body["items"][0]["current"], false);

    // The audit trail: every row, its sequence numbers unchanged, still in the feed.
    assert_eq!(app.count("audit_events"), 8);
    assert_eq!(
        texts(&app, "SELECT CAST(seq AS TEXT) || ' ' || entity_key AS v FROM audit_events ORDER BY seq"),
        [
            "1 M83001".to_string(),
            "2 NSGPF".into(),
            format!("3 {FM_MEIR}"),
            format!("4 {PL_PRACTICE}"),
            "5 M83002".into(),
            "6 epraccur.csv".into(),
            "7 ICT-MEIR".into(),
            format!("8 {PL_VAS}"),
        ]
    );
    let feed = |body: &Value| -> Vec<(String, String, String, Value)> {
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
    let c = |e: &str, a: &str, k: &str, v: i32| (e.to_string(), a.to_string(), k.to_string(), json!(v));
    let public = app.get("/api/v1/changes").send().await;
    assert_eq!(public.status, 200, "{}", public.text);
    assert_eq!(
        feed(&public.body),
        [
            c("practice", "create", "M83001", 1),
            c("federation", "create", "NSGPF", 1),
            c("federation-membership", "create", FM_MEIR, 1),
            c("practice", "update", "M83002", 3),
            c("ict", "create", "ICT-MEIR", 1),
        ]
    );
    let all = app.get("/api/v1/changes").bearer(&reader).send().await;
    assert_eq!(
        feed(&all.body),
        [
            c("practice", "create", "M83001", 1),
            c("federation", "create", "NSGPF", 1),
            c("federation-membership", "create", FM_MEIR, 1),
            c("placement", "create", PL_PRACTICE, 1),
            c("practice", "update", "M83002", 3),
            c("ict", "create", "ICT-MEIR", 1),
            c("placement", "update", PL_VAS, 4),
        ]
    );
    assert_eq!(all.body["items"][3]["link"], format!("/api/v1/placements/{PL_PRACTICE}"));
    let cursor = all.body["nextCursor"].as_str().unwrap().to_string();

    // New writes: a migrated placement with the If-Match of its old version.
    let path = format!("/api/v1/placements/{PL_VAS}");
    app.patch(&path)
        .bearer(&admin)
        .if_match(&format!("\"3.{PL_VAS}\""))
        .json(&json!({"hoursPerWeek": 30}))
        .send()
        .await
        .problem(412, "stale-version");
    let patched = app
        .patch(&path)
        .bearer(&admin)
        .if_match(&format!("\"4.{PL_VAS}\""))
        .json(&json!({"hoursPerWeek": 30, "notes": "Extended after the upgrade"}))
        .send()
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.etag(), format!("\"5.{PL_VAS}\""));
    assert_eq!(
        summary(&patched),
        (
            json!("external"),
            json!(vas),
            json!("Voluntary Action Stoke"),
            json!(5),
            json!("2022-01-04"),
            json!("2024-12-31"),
            json!("api"),
            json!("partner-c")
        )
    );
    assert_eq!(patched.body["hoursPerWeek"], 30.0);
    assert_eq!(patched.body["createdAt"], "2021-12-01T09:00:00Z", "created stays");
    // A new placement naming the provider in yet another case finds it.
    let new = app
        .post("/api/v1/placements")
        .bearer(&admin)
        .json(&json!({"staffRef": "SPLW-02", "roleCode": "social-prescribing-link-worker", "hostType": "external",
            "hostName": "VOLUNTARY ACTION STOKE", "hoursPerWeek": 37.5, "startDate": "2026-10-01"}))
        .send()
        .await;
    assert_eq!(new.status, 201, "{}", new.text);
    assert_eq!(new.body["hostCode"], json!(vas));
    assert_eq!(new.body["hostName"], "VOLUNTARY ACTION STOKE", "the name as written");
    assert_eq!(app.count("organisations WHERE kind = 'external'"), 4, "no new provider");
    // A migrated membership ends with its old version too.
    let ended = app
        .patch(&format!("/api/v1/federation-memberships/{FM_MEIR}"))
        .bearer(&admin)
        .if_match(&format!("\"1.{FM_MEIR}\""))
        .json(&json!({"endDate": "2026-03-31"}))
        .send()
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert_eq!(ended.body["version"], 2);
    assert_eq!(app.count("audit_events"), 11);
    assert_eq!(
        texts(&app, "SELECT CAST(seq AS TEXT) AS v FROM audit_events WHERE seq > 8 ORDER BY seq"),
        ["9", "10", "11"],
        "numbered on from the old rows"
    );
    let next = app.get(&format!("/api/v1/changes?after={cursor}")).bearer(&reader).send().await;
    assert_eq!(
        feed(&next.body)[..2],
        [c("placement", "update", PL_VAS, 5), c("placement", "create", new.body["id"].as_str().unwrap(), 1)]
    );
    assert_eq!(feed(&next.body)[2], c("federation-membership", "update", FM_MEIR, 2));
}

#[actix_web::test]
async fn organisations_upgrade_sqlite() {
    organisation_model_carries_everything_over(TestApp::prepared(Backend::Sqlite, three_migration_release)).await
}

#[actix_web::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run skipped: set TEST_DATABASE_URL to enable")]
async fn organisations_upgrade_postgres() {
    organisation_model_carries_everything_over(TestApp::prepared(Backend::Postgres, three_migration_release)).await
}

// ---------------------------------------------------------------------------------------
// A release shipped migration 5 with the registration columns in it (they now come with
// migration 7): such a database upgrades too, each column once, and placements carry
// registrations after it as after any other path.

fn release_with_registrations_in_migration_5(url: &str) {
    Db::migrate_first(url, 5).expect("migrations 1 to 5");
    let sql = [
        "ALTER TABLE placement_records ADD COLUMN registration_body TEXT CHECK (registration_body IN ('gmc', 'nmc', 'gphc', 'hcpc'))",
        "ALTER TABLE placement_records ADD COLUMN registration_number TEXT CHECK (registration_number IS NULL OR length(registration_number) BETWEEN 5 AND 12)",
    ];
    match Backend::of_url(url) {
        Backend::Postgres => {
            use diesel::Connection;
            let mut c = diesel::PgConnection::establish(url).unwrap();
            for s in sql {
                diesel::sql_query(s).execute(&mut c).unwrap();
            }
        }
        Backend::Sqlite => {
            use diesel::Connection;
            let mut c = diesel::SqliteConnection::establish(url).unwrap();
            for s in sql {
                diesel::sql_query(s).execute(&mut c).unwrap();
            }
        }
    }
}

async fn registrations_added_once(app: TestApp) {
    let columns = match app.backend {
        Backend::Postgres => {
            "SELECT column_name AS v FROM information_schema.columns WHERE table_name = 'placement_records' ORDER BY 1"
        }
        Backend::Sqlite => "SELECT name AS v FROM pragma_table_info('placement_records') ORDER BY 1",
    };
    let columns = texts(&app, columns);
    for c in ["host_unit", "registration_body", "registration_number"] {
        assert_eq!(columns.iter().filter(|n| *n == c).count(), 1, "{c} in {columns:?}");
    }
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    let body = json!({"staffRef": "R-1", "roleCode": "clinical-pharmacist", "hostType": "practice", "hostCode": "M83001",
        "hoursPerWeek": 20, "startDate": "2026-09-01", "registrationBody": "gphc", "registrationNumber": "2045678"});
    let r = app.post("/api/v1/placements").bearer(&app.admin()).json(&body).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    let read =
        app.get(&format!("/api/v1/placements/{}", r.body["id"].as_str().unwrap())).bearer(&app.admin()).send().await;
    assert_eq!(
        (read.body["registrationBody"].as_str(), read.body["registrationNumber"].as_str()),
        (Some("gphc"), Some("2045678"))
    );
}

#[actix_web::test]
async fn registrations_upgrade_sqlite() {
    registrations_added_once(TestApp::prepared(Backend::Sqlite, release_with_registrations_in_migration_5)).await
}

#[actix_web::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run skipped: set TEST_DATABASE_URL to enable")]
async fn registrations_upgrade_postgres() {
    registrations_added_once(TestApp::prepared(Backend::Postgres, release_with_registrations_in_migration_5)).await
}
