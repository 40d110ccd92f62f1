//! Practices: create with the minimum, read by id and ODS code, conditional GETs, lists
//! with filters and cursors, replace, patch and delete — each write audited.

use serde_json::json;

use crate::harness::{tag, TestApp};

crate::on_both_backends!(create_read_update_delete, list_filters_and_pages, audit_rows_follow_writes);

async fn create_read_update_delete(app: TestApp) {
    let token = app.admin();
    let created = app
        .post("/api/v1/practices")
        .bearer(&token)
        .json(&json!({"odsCode": "M83001", "name": "Meir Health Centre", "postcode": "st3 7dy"}))
        .send()
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.etag(), tag(1, &id));
    assert_eq!(created.header("location").unwrap(), format!("/api/v1/practices/{id}"));
    assert_eq!(created.body["postcode"], "ST3 7DY", "postcode normalised");
    assert_eq!(created.body["status"], "active");
    assert_eq!(created.body["source"], "api");

    // By ODS code (any case) and by id: the same record and ETag.
    let by_ods = app.get("/api/v1/practices/m83001").send().await;
    assert_eq!(by_ods.status, 200);
    assert_eq!(by_ods.body["id"], id.as_str());
    let by_id = app.get(&format!("/api/v1/practices/{id}")).send().await;
    assert_eq!(by_id.body, by_ods.body);
    assert_eq!(by_id.etag(), tag(1, &id));

    // Conditional GET.
    let not_modified = app.get("/api/v1/practices/M83001").header("if-none-match", &tag(1, &id)).send().await;
    assert_eq!(not_modified.status, 304);
    let modified = app.get("/api/v1/practices/M83001").header("if-none-match", &tag(0, &id)).send().await;
    assert_eq!(modified.status, 200);

    // PUT replaces every writable field.
    let put = app
        .put("/api/v1/practices/M83001")
        .bearer(&token)
        .if_match(&tag(1, &id))
        .json(&json!({
            "odsCode": "M83001", "name": "Meir Health Centre", "postcode": "ST3 7DY",
            "addressLines": ["Weston Road", "Meir"], "commissionerCode": "05g", "listSize": 12000,
            "openedOn": "1974-04-01"
        }))
        .send()
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.etag(), tag(2, &id));
    assert_eq!(put.body["addressLines"], json!(["Weston Road", "Meir"]));
    assert_eq!(put.body["commissionerCode"], "05G");
    assert_eq!(put.body["createdAt"], created.body["createdAt"], "created stays");

    // PATCH merges: null clears, absent keeps.
    let patched = app
        .patch("/api/v1/practices/M83001")
        .bearer(&token)
        .if_match(&tag(2, &id))
        .raw("application/merge-patch+json", json!({"listSize": null, "phone": "01782 000000"}).to_string())
        .send()
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["version"], 3);
    assert_eq!(patched.body["listSize"], serde_json::Value::Null);
    assert_eq!(patched.body["phone"], "01782 000000");
    assert_eq!(patched.body["addressLines"], json!(["Weston Road", "Meir"]));

    // The ODS code is permanent.
    let recode = app
        .patch("/api/v1/practices/M83001")
        .bearer(&token)
        .if_match(&tag(3, &id))
        .json(&json!({"odsCode": "M83002"}))
        .send()
        .await;
    recode.problem(422, "validation");
    assert_eq!(recode.fields(), vec!["odsCode"]);

    let deleted = app.delete("/api/v1/practices/M83001").bearer(&token).if_match(&tag(3, &id)).send().await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    app.get("/api/v1/practices/M83001").send().await.problem(404, "not-found");
    assert_eq!(app.count("practices"), 0);
}

async fn list_filters_and_pages(app: TestApp) {
    let token = app.admin();
    let practices = [
        ("M83001", "Meir Health Centre", "ST3 7DY", "05G", "active"),
        ("M83002", "Longton Hall Surgery", "ST3 5AA", "05G", "active"),
        ("M83003", "Leek Health Centre", "ST13 5BQ", "05G", "active"),
        ("M83004", "Biddulph Valley Practice", "ST8 6AB", "05G", "closed"),
        ("D83001", "Lichfield Cathedral Practice", "WS13 6JR", "05D", "active"),
        ("D83002", "Boley Park Surgery", "WS14 9UZ", "05D", "active"),
        ("D83003", "The Meir Practice_%", "WS14 9AA", "05D", "active"),
    ];
    for (ods, name, pc, comm, status) in practices {
        let mut body =
            json!({"odsCode": ods, "name": name, "postcode": pc, "commissionerCode": comm, "status": status});
        if status == "closed" {
            body["closedOn"] = json!("2020-01-01");
        }
        let r = app.post("/api/v1/practices").bearer(&token).json(&body).send().await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let codes = |r: &crate::harness::Resp| -> Vec<String> {
        r.body["items"].as_array().unwrap().iter().map(|p| p["odsCode"].as_str().unwrap().to_string()).collect()
    };

    let all = app.get("/api/v1/practices").send().await;
    assert_eq!(codes(&all), ["D83001", "D83002", "D83003", "M83001", "M83002", "M83003", "M83004"]);
    assert!(all.body["next"].is_null());

    let meir = app.get("/api/v1/practices?q=MEIR").send().await;
    assert_eq!(codes(&meir), ["D83003", "M83001"], "name search ignores case");
    let literal = app.get("/api/v1/practices?q=_%25").send().await;
    assert_eq!(codes(&literal), ["D83003"], "LIKE wildcards in q match literally");
    let by_code = app.get("/api/v1/practices?q=m83002").send().await;
    assert_eq!(codes(&by_code), ["M83002"]);
    let closed = app.get("/api/v1/practices?status=closed").send().await;
    assert_eq!(codes(&closed), ["M83004"]);
    let open_2021 = app.get("/api/v1/practices?active_on=2021-01-01&commissioner=05G").send().await;
    assert_eq!(codes(&open_2021), ["M83001", "M83002", "M83003"], "M83004 closed on 2020-01-01");
    let open_2019 = app.get("/api/v1/practices?active_on=2019-06-01&commissioner=05G").send().await;
    assert_eq!(codes(&open_2019), ["M83001", "M83002", "M83003", "M83004"]);
    let comm = app.get("/api/v1/practices?commissioner=05d").send().await;
    assert_eq!(codes(&comm), ["D83001", "D83002", "D83003"]);
    let st3 = app.get("/api/v1/practices?postcode=ST3%20").send().await;
    assert_eq!(codes(&st3), ["M83001", "M83002"], "ST3 does not match ST13");
    let ws14 = app.get("/api/v1/practices?postcode=ws14").send().await;
    assert_eq!(codes(&ws14), ["D83002", "D83003"]);
    let by_name = app.get("/api/v1/practices?sort=-name&limit=3").send().await;
    assert_eq!(codes(&by_name), ["D83003", "M83001", "M83002"]);

    // Walk every page of two: each practice exactly once, in order, following `next`.
    let mut seen = Vec::new();
    let mut url = "/api/v1/practices?limit=2&sort=name".to_string();
    let mut pages = 0;
    loop {
        let page = app.get(&url).send().await;
        assert_eq!(page.status, 200, "{}", page.text);
        seen.extend(codes(&page));
        pages += 1;
        match page.body["next"].as_str() {
            Some(next) => {
                assert!(page.header("link").unwrap().contains("rel=\"next\""));
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, ["M83004", "D83002", "M83003", "D83001", "M83002", "M83001", "D83003"]);

    // updated_since: only what changed after the instant.
    let later = app.get("/api/v1/practices/M83002").send().await;
    let since = later.body["updatedAt"].as_str().unwrap().to_string();
    tokio_sleep().await;
    let r = app
        .patch("/api/v1/practices/M83003")
        .bearer(&token)
        .if_match(&app.etag_of("/api/v1/practices/M83003").await)
        .json(&json!({"listSize": 9000}))
        .send()
        .await;
    assert_eq!(r.status, 200);
    let changed = app.get(&format!("/api/v1/practices?updated_since={}", since.replace(':', "%3A"))).send().await;
    assert!(codes(&changed).contains(&"M83003".to_string()));
    assert!(!codes(&changed).contains(&"M83001".to_string()), "{}", changed.text);
}

async fn tokio_sleep() {
    actix_web::rt::time::sleep(std::time::Duration::from_millis(5)).await;
}

async fn audit_rows_follow_writes(app: TestApp) {
    let token = app.admin();
    let created = app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    let first = tag(1, created["id"].as_str().unwrap());
    assert_eq!(app.count("audit_events"), 1);
    let r = app
        .patch("/api/v1/practices/M83001")
        .bearer(&token)
        .if_match(&first)
        .json(&json!({"name": "Meir HC"}))
        .send()
        .await;
    assert_eq!(r.status, 200);
    let id = r.body["id"].as_str().unwrap().to_string();
    let events = app.db().read(|c| pcr_schema::audit::for_entity(c, "practice", &id)).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].action, "create");
    assert_eq!(events[0].actor, "test-partner");
    assert_eq!(events[0].actor_org.as_deref(), Some("NSGPF"));
    assert!(events[0].before.is_none());
    assert_eq!(events[1].action, "update");
    let before: serde_json::Value = serde_json::from_str(events[1].before.as_deref().unwrap()).unwrap();
    let after: serde_json::Value = serde_json::from_str(events[1].after.as_deref().unwrap()).unwrap();
    assert_eq!(before["name"], "Meir Health Centre");
    assert_eq!(after["name"], "Meir HC");
    // A refused write leaves no audit row.
    let refused =
        app.patch("/api/v1/practices/M83001").bearer(&token).if_match(&first).json(&json!({"name": "X"})).send().await;
    refused.problem(412, "stale-version");
    assert_eq!(refused.body["currentVersion"], 2);
    assert_eq!(app.count("audit_events"), 2);
}
