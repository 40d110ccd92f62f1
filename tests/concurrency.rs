//! Optimistic concurrency: two writers holding the same ETag race; exactly one wins.

use serde_json::json;

use crate::harness::{tag, TestApp};

crate::on_both_backends!(same_etag_exactly_one_wins, concurrent_writers_feed_in_order);

async fn same_etag_exactly_one_wins(app: TestApp) {
    let token = app.admin();
    let created = app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    let id = created["id"].as_str().unwrap();
    for round in 1..=5 {
        let etag = tag(round, id);
        let a = app
            .patch("/api/v1/practices/M83001")
            .bearer(&token)
            .if_match(&etag)
            .json(&json!({"name": format!("A{round}")}))
            .send();
        let b = app
            .patch("/api/v1/practices/M83001")
            .bearer(&token)
            .if_match(&etag)
            .json(&json!({"name": format!("B{round}")}))
            .send();
        let (a, b) = futures_util::future::join(a, b).await;
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses, [200, 412], "round {round}: {} / {}", a.text, b.text);
        let winner = if a.status == 200 { &a } else { &b };
        let loser = if a.status == 200 { &b } else { &a };
        loser.problem(412, "stale-version");
        let now = app.get("/api/v1/practices/M83001").send().await;
        assert_eq!(now.body["version"], round + 1);
        assert_eq!(now.body["name"], winner.body["name"], "the stored name is the winner's");
    }
    // One create plus one update per round: the losers wrote no audit rows.
    assert_eq!(app.count("audit_events"), 6);
}

/// Writers racing: every write commits, each gets its own place in the change feed, and the
/// feed's positions follow one another with none missing (a reader that had seen a later one
/// could never meet an earlier one committing after it).
async fn concurrent_writers_feed_in_order(app: TestApp) {
    let token = app.admin();
    let writes = (0..24).map(|i| {
        app.post("/api/v1/practices")
            .bearer(&token)
            .json(&json!({"odsCode": format!("M84{i:03}"), "name": format!("Practice {i}"), "postcode": "ST5 7EB"}))
            .send()
    });
    let results = futures_util::future::join_all(writes).await;
    assert!(results.iter().all(|r| r.status == 201), "{:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
    let feed = app.get("/api/v1/changes?limit=200").send().await;
    let items = feed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 24);
    let mut keys: Vec<&str> = items.iter().map(|c| c["key"].as_str().unwrap()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 24, "each write once");
    let seqs: Vec<i64> = app
        .db()
        .read(|c| {
            use diesel::prelude::*;
            use pcr_schema::tables::audit_events as ae;
            Ok(ae::table.select(ae::seq).order(ae::seq.asc()).load::<i64>(c)?)
        })
        .unwrap();
    assert_eq!(seqs, (1..=24).collect::<Vec<i64>>(), "numbered 1 to 24 with no gap");
}
