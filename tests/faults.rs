//! Faults and time limits: the database going away and coming back, slow statements, a
//! request past its deadline, bodies and headers trickled in, SIGTERM with a request in
//! flight, and a process killed in the middle of an atomic batch.

use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pcr_api::AppState;
use pcr_schema::{Db, DbOptions};
use serde_json::json;

use crate::harness::TestApp;
use crate::served::{head, read_all, Served};

crate::on_both_backends!(
    a_request_past_its_deadline_is_answered_503,
    a_trickled_body_is_cut_off,
    sigterm_lets_the_request_in_flight_finish,
    a_batch_killed_midway_leaves_nothing,
);

/// A TCP relay to PostgreSQL that the test can cut (every connection dropped, new ones
/// closed at once) and restore: the database going away and coming back, on loopback.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn to(target: &str) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (target, up2, open2) = (target.to_string(), up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let server = match up2.load(Ordering::SeqCst) {
                    true => TcpStream::connect(&target).ok(),
                    false => None,
                };
                let Some(server) = server else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let mut open = open2.lock().unwrap();
                open.push(client.try_clone().unwrap());
                open.push(server.try_clone().unwrap());
                for (mut from, mut to) in [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)]
                {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Both);
                        let _ = from.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Relay { port, up, open }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `url` with its host and port replaced by the relay's.
fn through(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let user = authority.rsplit_once('@').map(|(u, _)| format!("{u}@")).unwrap_or_default();
    format!("{scheme}://{user}127.0.0.1:{port}/{path}")
}

fn pg_target(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split_once('/').unwrap().0;
    let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    match host.contains(':') {
        true => host.to_string(),
        false => format!("{host}:5432"),
    }
}

#[actix_web::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set TEST_DATABASE_URL to enable")]
async fn the_database_going_away_and_coming_back() {
    let mut app = TestApp::new(pcr_schema::Backend::Postgres);
    let relay = Relay::to(&pg_target(&app.url));
    let options = DbOptions { pool_timeout: Duration::from_millis(500), ..DbOptions::new(4) };
    let db = Db::open(&through(&app.url, relay.port), options).expect("open through the relay");
    app.state = AppState::new(db, app.state.auth.clone(), pcr_api::graphql::GraphqlLimits::default());
    let admin = app.admin();
    assert_eq!(app.get("/readyz").send().await.status, 200);
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;

    relay.cut();
    // Every connection the pool holds is dead and no new one can be made: readiness is red
    // and requests are answered 503 with Retry-After at once, not after a long hang.
    for path in ["/readyz", "/api/v1/practices/M83001", "/api/v1/roles"] {
        let started = Instant::now();
        let r = app.get(path).send().await;
        assert_eq!(r.status, 503, "{path}: {}", r.text);
        assert_eq!(r.header("retry-after").as_deref(), Some("1"), "{path}");
        assert!(started.elapsed() < Duration::from_secs(3), "{path} took {:?}", started.elapsed());
    }
    let write = app
        .post("/api/v1/practices")
        .bearer(&admin)
        .json(&json!({"odsCode": "M83002", "name": "Away Practice", "postcode": "ST3 7DY"}))
        .send()
        .await;
    write.problem(503, "unavailable");

    relay.restore();
    // Readiness turns green again without a restart: the pool drops its dead connections.
    let started = Instant::now();
    loop {
        if app.get("/readyz").send().await.status == 200 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "readiness stayed red after the database came back");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..8 {
        // Every pooled connection, not only the first one tried, works again.
        assert_eq!(app.get("/api/v1/practices/M83001").send().await.status, 200);
    }
    // The write refused while the database was away was not made, and writes work again.
    assert_eq!(app.get("/api/v1/practices/M83002").send().await.status, 404);
    app.practice("M83002", "Back Practice", "ST3 7DY").await;
}

#[actix_web::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set TEST_DATABASE_URL to enable")]
async fn a_slow_statement_is_cancelled_by_the_statement_timeout() {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let mut app = TestApp::new(pcr_schema::Backend::Postgres);
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    let options = DbOptions { statement_timeout: Duration::from_millis(300), ..DbOptions::new(4) };
    let db = Db::open(&app.url, options).unwrap();
    app.state = AppState::new(db, app.state.auth.clone(), pcr_api::graphql::GraphqlLimits::default());
    // Another session holds the organisations table, so reading a practice waits on it.
    let mut holder = diesel::PgConnection::establish(&app.url).unwrap();
    holder.batch_execute("BEGIN; LOCK TABLE organisations IN ACCESS EXCLUSIVE MODE").unwrap();
    let started = Instant::now();
    let r = app.get("/api/v1/practices/M83001").send().await;
    r.problem(503, "unavailable");
    assert!(r.text.contains("statement timeout"), "{}", r.text);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    holder.batch_execute("COMMIT").unwrap();
    assert_eq!(app.get("/api/v1/practices/M83001").send().await.status, 200);
}

/// Holds the database's writer (SQLite) or the organisations table (PostgreSQL) until
/// dropped.
struct Held(Box<dyn FnOnce() + Send>);

fn hold_writes(app: &TestApp) -> Held {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    match app.backend {
        pcr_schema::Backend::Sqlite => {
            let mut c = diesel::SqliteConnection::establish(&app.url).unwrap();
            c.batch_execute("BEGIN IMMEDIATE").unwrap();
            Held(Box::new(move || c.batch_execute("COMMIT").unwrap()))
        }
        pcr_schema::Backend::Postgres => {
            let mut c = diesel::PgConnection::establish(&app.url).unwrap();
            c.batch_execute("BEGIN; LOCK TABLE organisations IN EXCLUSIVE MODE").unwrap();
            Held(Box::new(move || c.batch_execute("COMMIT").unwrap()))
        }
    }
}

async fn a_request_past_its_deadline_is_answered_503(mut app: TestApp) {
    app.state.timeouts.deadline = Duration::from_secs(1);
    let held = hold_writes(&app);
    let admin = app.admin();
    let body = json!({"odsCode": "M83003", "name": "Late Practice", "postcode": "ST3 7DY"});
    let started = Instant::now();
    let r = app.post("/api/v1/practices").bearer(&admin).header("idempotency-key", "late-1").json(&body).send().await;
    let took = started.elapsed();
    r.problem(503, "unavailable");
    assert!(r.text.contains("deadline"), "{}", r.text);
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "answered after {took:?}");
    let Held(release) = held;
    release();
    // The write, once the database let it through, was made whole or not at all; the retry
    // the problem asks for, with the same key, ends with exactly one practice.
    app.state.timeouts.deadline = Duration::from_secs(30);
    let mut retried = None;
    for _ in 0..50 {
        let r =
            app.post("/api/v1/practices").bearer(&admin).header("idempotency-key", "late-1").json(&body).send().await;
        if r.status != 409 {
            retried = Some(r);
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let retried = retried.expect("the retry is answered");
    assert_eq!(retried.status, 201, "{}", retried.text);
    assert_eq!(app.get("/api/v1/practices?q=Late%20Practice").send().await.body["items"].as_array().unwrap().len(), 1);
}

async fn a_trickled_body_is_cut_off(app: TestApp) {
    let served = Served::start(&app, &[("HTTP_BODY_TIMEOUT", "1"), ("HTTP_HEADER_TIMEOUT", "1")]);
    let token = app.admin();
    let organisations = app.count("organisations");
    // A body sent a byte at a time is answered 408 when its time is up, and nothing written.
    let body = br#"{"odsCode": "M83004", "name": "Slow Practice", "postcode": "ST3 7DY"}"#;
    let mut s = served.connect();
    s.write_all(head("POST", "/api/v1/practices", &token, "application/json", body.len()).as_bytes()).unwrap();
    let started = Instant::now();
    let writer = {
        let mut s = s.try_clone().unwrap();
        let body = body.to_vec();
        std::thread::spawn(move || {
            for b in body {
                if s.write_all(&[b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let answer = read_all(&mut s);
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("/problems/timeout"), "{answer}");
    assert!(took < Duration::from_secs(4), "answered after {took:?}");
    drop(s);
    let _ = writer.join();
    assert_eq!(app.count("organisations"), organisations);
    // Headers that never finish are cut off too.
    let mut s = served.connect();
    s.write_all(b"GET /api/v1/roles HTTP/1.1\r\nHost: t\r\n").unwrap();
    let started = Instant::now();
    let answer = read_all(&mut s);
    assert!(started.elapsed() < Duration::from_secs(4), "open after {:?}", started.elapsed());
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    // A batch has the batch deadline, not the body timeout: a slow but steady one is taken.
    let csv = "staff_ref,role_code,host_type,host_code,hours_per_week,start_date\r\nS-1,clinical-pharmacist,practice,M83005,37.5,2026-01-01\r\n";
    assert_eq!(
        served.raw(head("POST", "/api/v1/practices", &token, "application/json", 2).as_bytes()).split(' ').nth(1),
        Some("408"),
        "an incomplete body is answered 408 once the timeout passes"
    );
    let mut s = served.connect();
    s.write_all(head("POST", "/api/v1/placements/batch?mode=partial", &token, "text/csv", csv.len()).as_bytes())
        .unwrap();
    s.write_all(&csv.as_bytes()[..20]).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    s.write_all(&csv.as_bytes()[20..]).unwrap();
    let answer = read_all(&mut s);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

async fn sigterm_lets_the_request_in_flight_finish(app: TestApp) {
    let mut served = Served::start(&app, &[]);
    let token = app.admin();
    let body = br#"{"odsCode": "M83006", "name": "Draining Practice", "postcode": "ST3 7DY"}"#;
    let mut s = served.connect();
    s.write_all(head("POST", "/api/v1/practices", &token, "application/json", body.len()).as_bytes()).unwrap();
    s.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    served.signal("TERM");
    std::thread::sleep(Duration::from_millis(500));
    // It no longer takes new connections, and is still running for the one in flight.
    assert!(served.exited(Duration::from_millis(10)).is_none(), "exited with a request in flight");
    let refused = TcpStream::connect(&served.addr)
        .map(|mut c| {
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            read_all(&mut c)
        })
        .unwrap_or_default();
    assert!(!refused.starts_with("HTTP/1.1 200"), "a new request was served after SIGTERM: {refused}");
    s.write_all(&body[10..]).unwrap();
    let answer = read_all(&mut s);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let status = served.exited(Duration::from_secs(10)).expect("exits once drained");
    assert!(status.success(), "{status:?}");
    assert_eq!(app.get("/api/v1/practices/M83006").send().await.status, 200);
}

async fn a_batch_killed_midway_leaves_nothing(app: TestApp) {
    app.practice("M83007", "Host Practice", "ST3 7DY").await;
    let before = app.count("placement_records");
    let mut served = Served::start(&app, &[]);
    let token = app.admin();
    let mut csv = String::from("staff_ref,role_code,host_type,host_code,hours_per_week,start_date\r\n");
    for i in 0..5000 {
        csv.push_str(&format!("KILL-{i:05},clinical-pharmacist,practice,M83007,7.5,2026-01-01\r\n"));
    }
    // Declared longer than sent: the server has taken the first 5,000 rows (five chunks,
    // written in the batch's transaction) and waits for the rest when it is killed.
    let mut s = served.connect();
    s.write_all(head("POST", "/api/v1/placements/batch?mode=atomic", &token, "text/csv", csv.len() * 2).as_bytes())
        .unwrap();
    s.write_all(csv.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    served.signal("KILL");
    assert!(served.exited(Duration::from_secs(5)).is_some());
    drop(s);
    assert_eq!(app.count("placement_records"), before, "a killed atomic batch left rows behind");
    assert_eq!(app.count("audit_events WHERE CAST(after AS TEXT) LIKE '%KILL-%'"), 0);
    // The database is sound for the next process: the same file, whole, goes in.
    let served = Served::start(&app, &[]);
    let answer = served.raw(
        format!("{}{csv}", head("POST", "/api/v1/placements/batch?mode=atomic", &token, "text/csv", csv.len()))
            .as_bytes(),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{}", &answer[..answer.len().min(600)]);
    assert_eq!(app.count("placement_records"), before + 5000);
}
