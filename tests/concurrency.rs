//! Optimistic concurrency: two writers holding the same ETag race; exactly one wins.

use serde_json::json;

use crate::harness::{tag, TestApp};

crate::on_both_backends!(same_etag_exactly_one_wins);

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
