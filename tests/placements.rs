//! Placements: scopes, split posts, filters by role, programme, host, status and day,
//! ending (never deleting), and the rule that a host with placements stays.

use serde_json::json;

use crate::harness::{tag, TestApp};

crate::on_both_backends!(placement_lifecycle, placement_filters);

async fn placement_lifecycle(app: TestApp) {
    let token = app.admin();
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    // A split post: three days in general practice, two in a mental health team.
    let gp_part = app
        .post("/api/v1/placements")
        .bearer(&token)
        .json(&json!({"staffRef": "PA-INT-01", "roleCode": "physician-associate", "programmeCode": "pa-internship",
            "hostType": "practice", "hostCode": "m83001", "hoursPerWeek": 22.5, "startDate": "2026-09-01",
            "endDate": "2027-08-31", "funding": "programme"}))
        .send()
        .await;
    assert_eq!(gp_part.status, 201, "{}", gp_part.text);
    assert_eq!(gp_part.body["fte"], 0.6);
    assert_eq!(gp_part.body["hostCode"], "M83001");
    assert_eq!(gp_part.body["createdBy"], "test-partner");
    let mh_part = app
        .post("/api/v1/placements")
        .bearer(&token)
        .json(&json!({"staffRef": "PA-INT-01", "roleCode": "physician-associate", "programmeCode": "pa-internship",
            "hostType": "external", "hostName": "Combined Healthcare mental health team", "hostCode": "RLY",
            "hoursPerWeek": 15, "startDate": "2026-09-01", "endDate": "2027-08-31"}))
        .send()
        .await;
    assert_eq!(mh_part.status, 201, "{}", mh_part.text);
    assert_eq!(mh_part.body["fte"], 0.4);

    // The host practice's own system reads its part.
    let reader = app.partner("M83001", "placements:read");
    let split = app.get("/api/v1/placements?staff_ref=PA-INT-01").bearer(&token).send().await;
    assert_eq!(split.body["items"].as_array().unwrap().len(), 2);
    let total: f64 = split.body["items"].as_array().unwrap().iter().map(|p| p["fte"].as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-9, "split post adds to one FTE");

    // Reading one needs the scope too; it has an ETag.
    let id = gp_part.body["id"].as_str().unwrap();
    app.get(&format!("/api/v1/placements/{id}")).send().await.problem(401, "unauthenticated");
    let one = app.get(&format!("/api/v1/placements/{id}")).bearer(&reader).send().await;
    assert_eq!(one.etag(), tag(1, id));

    // End it early; it stays, ended.
    let ended = app
        .post(&format!("/api/v1/placements/{id}/end"))
        .bearer(&token)
        .if_match(&tag(1, id))
        .json(&json!({"endDate": "2026-12-31"}))
        .send()
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert_eq!(ended.body["endDate"], "2026-12-31");
    assert_eq!(ended.etag(), tag(2, id));
    let before_start = app
        .post(&format!("/api/v1/placements/{id}/end"))
        .bearer(&token)
        .if_match(&tag(2, id))
        .json(&json!({"endDate": "2026-01-01"}))
        .send()
        .await;
    before_start.problem(422, "validation");
    assert_eq!(before_start.fields(), ["endDate"]);
    let events = app.db().read(|c| pcr_schema::audit::for_entity(c, "placement", id)).unwrap();
    assert_eq!(events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["create", "end"]);

    // A practice that hosts placements cannot be deleted.
    let practice_tag = app.etag_of("/api/v1/practices/M83001").await;
    app.delete("/api/v1/practices/M83001").bearer(&token).if_match(&practice_tag).send().await.problem(409, "conflict");
    assert_eq!(app.count("practices"), 1);
    // A writer without placements:write cannot end one.
    app.post(&format!("/api/v1/placements/{id}/end"))
        .bearer(&reader)
        .if_match(&tag(2, id))
        .send()
        .await
        .problem(403, "forbidden");
}

async fn placement_filters(app: TestApp) {
    let token = app.admin();
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    app.practice("M83002", "Longton Hall Surgery", "ST3 5AA").await;
    let fed = app
        .post("/api/v1/federations")
        .bearer(&token)
        .json(&json!({"code": "NSGPF", "name": "North Staffs"}))
        .send()
        .await;
    assert_eq!(fed.status, 201);
    let today = chrono::Utc::now().date_naive();
    let day = |offset: i64| (today + chrono::Duration::days(offset)).to_string();
    let rows = [
        ("S1", "clinical-pharmacist", None, "practice", "M83001", day(-100), None),
        ("S2", "clinical-pharmacist", None, "federation", "NSGPF", day(-400), Some(day(-10))),
        ("S3", "gp-retainer", Some("gp-retainer-scheme"), "practice", "M83002", day(-30), None),
        ("S4", "returning-gp", Some("induction-and-returner-scheme"), "practice", "M83001", day(30), None),
    ];
    for (staff, role, programme, host_type, host, start, end) in rows {
        let mut b = json!({"staffRef": staff, "roleCode": role, "hostType": host_type, "hostCode": host,
            "hoursPerWeek": 37.5, "startDate": start});
        if let Some(p) = programme {
            b["programmeCode"] = json!(p);
        }
        if let Some(e) = end {
            b["endDate"] = json!(e);
        }
        let r = app.post("/api/v1/placements").bearer(&token).json(&b).send().await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let reader = app.admin();
    let staff = |path: String| {
        let reader = reader.clone();
        let app = &app;
        async move {
            let r = app.get(&path).bearer(&reader).send().await;
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            let mut s: Vec<String> = r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["staffRef"].as_str().unwrap().to_string())
                .collect();
            s.sort();
            s
        }
    };
    assert_eq!(staff("/api/v1/placements?role=clinical-pharmacist".into()).await, ["S1", "S2"]);
    assert_eq!(staff("/api/v1/roles/clinical-pharmacist/placements".into()).await, ["S1", "S2"]);
    assert_eq!(staff("/api/v1/programmes/gp-retainer-scheme/placements".into()).await, ["S3"]);
    assert_eq!(staff("/api/v1/placements?host=m83001".into()).await, ["S1", "S4"]);
    assert_eq!(staff("/api/v1/practices/M83001/placements".into()).await, ["S1", "S4"]);
    assert_eq!(staff("/api/v1/federations/NSGPF/placements".into()).await, ["S2"]);
    assert_eq!(staff("/api/v1/placements?status=active".into()).await, ["S1", "S3"]);
    assert_eq!(staff("/api/v1/placements?status=ended".into()).await, ["S2"]);
    assert_eq!(staff("/api/v1/placements?status=planned".into()).await, ["S4"]);
    assert_eq!(staff(format!("/api/v1/placements?active_on={}", day(-50))).await, ["S1", "S2"]);
    assert_eq!(staff("/api/v1/placements?host_type=federation".into()).await, ["S2"]);
    let by_start = app.get("/api/v1/placements?sort=-startDate&limit=2").bearer(&reader).send().await;
    let firsts: Vec<&str> =
        by_start.body["items"].as_array().unwrap().iter().map(|p| p["staffRef"].as_str().unwrap()).collect();
    assert_eq!(firsts, ["S4", "S3"]);
    let next = by_start.body["next"].as_str().unwrap().to_string();
    let rest = app.get(&next).bearer(&reader).send().await;
    let rest: Vec<&str> =
        rest.body["items"].as_array().unwrap().iter().map(|p| p["staffRef"].as_str().unwrap()).collect();
    assert_eq!(rest, ["S1", "S2"]);
    app.get("/api/v1/roles/astronaut/placements").bearer(&reader).send().await.problem(404, "not-found");
}
