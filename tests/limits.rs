//! Rate limits: per client address and per token subject, a burst then 429 with
//! `Retry-After`, on REST and GraphQL alike; other clients and the probes are not held up.

use serde_json::json;

use crate::harness::TestApp;
use pcr_api::rate_limits::{Rate, RateLimits};

crate::on_both_backends!(rate_limits_answer_429);

async fn rate_limits_answer_429(mut app: TestApp) {
    app.state.rate_limits = RateLimits::new(Rate { per_second: 1, burst: 4 }, Rate { per_second: 1, burst: 3 });

    // A subject: its burst, then 429 with when to come back, on REST and GraphQL.
    let token = app.admin();
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/roles").bearer(&token).send().await.status, 200);
    }
    let r = app.get("/api/v1/roles").bearer(&token).send().await;
    r.problem(429, "too-many-requests");
    let wait: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let g =
        app.post("/graphql").bearer(&token).json(&json!({"query": "{ roles(first: 1) { totalCount } }"})).send().await;
    assert_eq!(g.status, 429, "{}", g.text);
    // Another subject has a bucket of its own; anonymous reads are counted by address.
    let other = app.state.auth.mint("another-system", Some("M83001"), "placements:read", 600).unwrap();
    assert_eq!(app.get("/api/v1/roles").bearer(&other).send().await.status, 200);

    // An address: a flood of bad tokens is cut off after the burst, whoever they claim to be.
    let mut statuses = Vec::new();
    for i in 0..10 {
        let r =
            app.get("/api/v1/placements").bearer(&format!("not-a-token-{i}")).sent_from("192.0.2.7:4000").send().await;
        statuses.push(r.status);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429, 429, 429, 429, 429]);
    let elsewhere = app.get("/api/v1/roles").sent_from("192.0.2.8:4000").send().await;
    assert_eq!(elsewhere.status, 200, "another address is served");
    // Probes are never limited.
    for _ in 0..10 {
        assert_eq!(app.get("/healthz").sent_from("192.0.2.7:4000").send().await.status, 200);
    }

    // After the wait, the subject is served again.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(app.get("/api/v1/roles").bearer(&token).send().await.status, 200);
}
