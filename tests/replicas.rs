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
