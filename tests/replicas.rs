//! Several replicas start against one PostgreSQL database at once: migrations run once,
//! every replica comes up, and a write through one is read through another.

use std::sync::{Arc, Barrier};

use diesel::{Connection, RunQueryDsl};
use pcr_schema::domain::crud;
use pcr_schema::models::practice::{PracticeInput, PracticeRow};
use pcr_schema::{Actor, Db};

#[test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set TEST_DATABASE_URL to enable")]
fn replicas_start_together_and_share_state() {
    let admin = std::env::var("TEST_DATABASE_URL").unwrap();
    let name = format!("pcr_replicas_{}", uuid::Uuid::new_v4().simple());
    let mut c = diesel::PgConnection::establish(&admin).unwrap();
    diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut c).unwrap();
    let url = crate::harness::with_database(&admin, &name);
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                Db::connect(&url, 2).map_err(|e| e.to_string())
            })
        })
        .collect();
    let replicas: Vec<Result<Db, String>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let replicas: Vec<&Db> = replicas.iter().map(|r| r.as_ref().expect("every replica starts")).collect();
        let actor = Actor::system("test");
        let input = PracticeInput {
            ods_code: "M83001".into(),
            name: "Meir Health Centre".into(),
            postcode: "ST3 7DY".into(),
            ..Default::default()
        };
        let created = crud::create::<PracticeRow>(replicas[0], Some(&actor), input).unwrap();
        let read = crud::get::<PracticeRow>(replicas[3], None, "M83001").unwrap();
        assert_eq!(read.id, created.id);
    }));
    drop(replicas);
    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut c).unwrap();
    outcome.unwrap();
}

/// Two processes of the service on one PostgreSQL database, as behind a balancer: writers
/// racing through both lose no update, one idempotency key makes one write whichever replica
/// each retry reaches, and either replica can be killed while the other serves.
#[actix_web::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set TEST_DATABASE_URL to enable")]
async fn two_serving_replicas() {
    use crate::served::Served;
    use serde_json::json;
    let app = crate::harness::TestApp::new(pcr_schema::Backend::Postgres);
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    let pool = [("DATABASE_POOL_SIZE", "8")];
    let replicas = Arc::new([Served::start(&app, &pool), Served::start(&app, &pool)]);
    let token = app.admin();
    let auth = format!("Bearer {token}");

    // 32 writers, alternating replicas, each reading the ETag and writing with If-Match
    // until its write is taken: every write taken is the next version, none is lost.
    let writers: Vec<_> = (0..32)
        .map(|i| {
            let (replicas, auth) = (replicas.clone(), auth.clone());
            std::thread::spawn(move || {
                let r = &replicas[i % 2];
                for _ in 0..200 {
                    let read = r.send("GET", "/api/v1/practices/M83001", &[], None);
                    assert_eq!(read.status, 200, "{}", read.body);
                    let etag = read.header("etag").unwrap().to_string();
                    let body = json!({"name": format!("Writer {i}")});
                    let w = r.send(
                        "PATCH",
                        "/api/v1/practices/M83001",
                        &[("Authorization", &auth), ("If-Match", &etag)],
                        Some(&body),
                    );
                    match w.status {
                        // Taken only on top of the version read: no one else's write lost.
                        200 => {
                            let written = w.json()["version"].as_i64().unwrap();
                            assert_eq!(written, read.json()["version"].as_i64().unwrap() + 1, "writer {i}");
                            return written;
                        }
                        412 => continue,
                        s => panic!("{s}: {}", w.body),
                    }
                }
                panic!("writer {i} never got its write in");
            })
        })
        .collect();
    let mut versions: Vec<i64> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    versions.sort();
    assert_eq!(versions, (2..=33).collect::<Vec<_>>(), "each write taken is the next version");
    let now = replicas[0].send("GET", "/api/v1/practices/M83001", &[], None).json();
    assert_eq!(now["version"], 33);
    assert_eq!(app.count("audit_events WHERE action = 'update'"), 32);

    // One idempotency key, 32 retries spread over both replicas at once: one placement.
    let placement = json!({"staffRef": "REPLICA-1", "roleCode": "clinical-pharmacist", "hostType": "practice",
        "hostCode": "M83001", "hoursPerWeek": 37.5, "startDate": "2026-01-05"});
    let retries: Vec<_> = (0..32)
        .map(|i| {
            let (replicas, auth, placement) = (replicas.clone(), auth.clone(), placement.clone());
            std::thread::spawn(move || {
                let headers = [("Authorization", auth.as_str()), ("Idempotency-Key", "replicas-1")];
                replicas[i % 2].send("POST", "/api/v1/placements", &headers, Some(&placement))
            })
        })
        .collect();
    let answers: Vec<_> = retries.into_iter().map(|r| r.join().unwrap()).collect();
    let ids: std::collections::HashSet<String> =
        answers.iter().filter(|a| a.status == 201).map(|a| a.json()["id"].as_str().unwrap().to_string()).collect();
    assert!(
        answers.iter().all(|a| a.status == 201 || a.status == 409),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert_eq!(ids.len(), 1, "every 201 names the same placement");
    assert_eq!(app.count("placement_records WHERE staff_ref = 'REPLICA-1'"), 1);

    // Kill one replica while requests stream to the other: none of those fails.
    let reader = {
        let replicas = replicas.clone();
        std::thread::spawn(move || {
            (0..60).map(|_| replicas[1].send("GET", "/api/v1/practices/M83001", &[], None).status).collect::<Vec<_>>()
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    replicas[0].signal("KILL");
    let statuses = reader.join().unwrap();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let body = json!({"name": "After the kill"});
    let etag = replicas[1].send("GET", "/api/v1/practices/M83001", &[], None).header("etag").unwrap().to_string();
    let w = replicas[1].send(
        "PATCH",
        "/api/v1/practices/M83001",
        &[("Authorization", &auth), ("If-Match", &etag)],
        Some(&body),
    );
    assert_eq!(w.status, 200, "{}", w.body);
}
