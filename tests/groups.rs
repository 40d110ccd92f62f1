//! Federations and ICTs: membership over time, member practices on a day, a practice's
//! groups, partner services, and the rules on overlapping periods.

use serde_json::json;

use crate::harness::{tag, TestApp};

crate::on_both_backends!(federation_membership_over_time, ict_with_partner_services);

async fn federation_membership_over_time(app: TestApp) {
    let token = app.admin();
    for (ods, pc) in [("M83001", "ST3 7DY"), ("M83002", "ST3 5AA"), ("M83003", "ST13 5BQ")] {
        app.practice(ods, &format!("Practice {ods}"), pc).await;
    }
    let fed = app
        .post("/api/v1/federations")
        .bearer(&token)
        .json(&json!({"code": "nsgpf", "name": "North Staffordshire GP Federation", "icbCode": "QNC"}))
        .send()
        .await;
    assert_eq!(fed.status, 201, "{}", fed.text);
    assert_eq!(fed.body["code"], "NSGPF", "codes are upper-cased");
    let join = |ods: &str, start: &str, end: Option<&str>| {
        let mut b = json!({"federationCode": "NSGPF", "odsCode": ods, "startDate": start});
        if let Some(e) = end {
            b["endDate"] = json!(e);
        }
        app.post("/api/v1/federation-memberships").bearer(&token).json(&b).send()
    };
    assert_eq!(join("M83001", "2020-04-01", None).await.status, 201);
    assert_eq!(join("M83002", "2020-04-01", Some("2022-03-31")).await.status, 201);
    let m3 = join("M83003", "2023-04-01", None).await;
    assert_eq!(m3.status, 201);
    // Overlapping period for the same practice: 409, nothing written.
    let overlap = join("M83001", "2021-01-01", None).await;
    overlap.problem(409, "conflict");
    assert_eq!(app.count("affiliations"), 3, "memberships are affiliations");

    let on = |day: &str| app.get(&format!("/api/v1/federations/NSGPF/practices?active_on={day}")).send();
    let codes = |r: &crate::harness::Resp| -> Vec<String> {
        r.body["items"].as_array().unwrap().iter().map(|p| p["odsCode"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(codes(&on("2021-06-01").await), ["M83001", "M83002"]);
    assert_eq!(codes(&on("2024-06-01").await), ["M83001", "M83003"]);
    assert_eq!(codes(&on("2019-06-01").await), Vec::<String>::new());
    let by_id = app
        .get(&format!(
            "/api/v1/federations/{}/practices?active_on=2021-06-01&q=M83002",
            fed.body["id"].as_str().unwrap()
        ))
        .send()
        .await;
    assert_eq!(codes(&by_id), ["M83002"], "filters combine with membership");

    let history = app.get("/api/v1/federations/NSGPF/memberships").send().await;
    assert_eq!(history.body["items"].as_array().unwrap().len(), 3);

    let groups = app.get("/api/v1/practices/M83002/federations?active_on=2021-01-01").send().await;
    assert_eq!(groups.body["items"][0]["code"], "NSGPF");
    let none_now = app.get("/api/v1/practices/M83002/federations").send().await;
    assert_eq!(none_now.body["items"], json!([]), "membership ended in 2022");

    // End M83003's membership by patching its end date.
    let id = m3.body["id"].as_str().unwrap();
    let ended = app
        .patch(&format!("/api/v1/federation-memberships/{id}"))
        .bearer(&token)
        .if_match(&tag(1, id))
        .json(&json!({"endDate": "2024-03-31"}))
        .send()
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert_eq!(codes(&on("2024-06-01").await), ["M83001"]);

    let search = app.get("/api/v1/federations?q=north").send().await;
    assert_eq!(search.body["items"][0]["code"], "NSGPF");
    app.get("/api/v1/federations/NOPE/practices").send().await.problem(404, "not-found");
}

async fn ict_with_partner_services(app: TestApp) {
    let token = app.admin();
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    let ict = app
        .post("/api/v1/icts")
        .bearer(&token)
        .json(&json!({"code": "ICT-MEIR", "name": "Meir Integrated Care Team", "status": "early_adopter", "population": 45000}))
        .send()
        .await;
    assert_eq!(ict.status, 201, "{}", ict.text);
    let planned =
        app.post("/api/v1/icts").bearer(&token).json(&json!({"code": "ICT-LEEK", "name": "Leek"})).send().await;
    assert_eq!(planned.body["status"], "planned", "default status");
    let m = app
        .post("/api/v1/ict-memberships")
        .bearer(&token)
        .json(&json!({"ictCode": "ICT-MEIR", "odsCode": "M83001", "startDate": "2024-04-01"}))
        .send()
        .await;
    assert_eq!(m.status, 201, "{}", m.text);
    let svc = app
        .post("/api/v1/ict-partner-services")
        .bearer(&token)
        .json(&json!({"ictCode": "ICT-MEIR", "name": "Community nursing", "kind": "community", "organisationCode": "RRE", "startDate": "2024-04-01"}))
        .send()
        .await;
    assert_eq!(svc.status, 201, "{}", svc.text);
    let bad_kind = app
        .post("/api/v1/ict-partner-services")
        .bearer(&token)
        .json(&json!({"ictCode": "ICT-MEIR", "name": "X", "kind": "circus", "startDate": "2024-04-01"}))
        .send()
        .await;
    bad_kind.problem(422, "validation");
    let services = app.get("/api/v1/icts/ICT-MEIR/partner-services").send().await;
    assert_eq!(services.body["items"][0]["kind"], "community");
    let practices = app.get("/api/v1/icts/ict-meir/practices").send().await;
    assert_eq!(practices.body["items"][0]["odsCode"], "M83001");
    let icts = app.get("/api/v1/practices/M83001/icts").send().await;
    assert_eq!(icts.body["items"][0]["code"], "ICT-MEIR");
    let early = app.get("/api/v1/icts?status=early_adopter").send().await;
    assert_eq!(early.body["items"].as_array().unwrap().len(), 1);
    // Codes are permanent.
    let ict_tag = app.etag_of("/api/v1/icts/ICT-MEIR").await;
    app.patch("/api/v1/icts/ICT-MEIR")
        .bearer(&token)
        .if_match(&ict_tag)
        .json(&json!({"code": "ICT-X"}))
        .send()
        .await
        .problem(422, "validation");
    // Deleting the ICT removes its memberships and services with it, audited once.
    let del = app.delete("/api/v1/icts/ICT-MEIR").bearer(&token).if_match(&ict_tag).send().await;
    assert_eq!(del.status, 204, "{}", del.text);
    assert_eq!(app.count("affiliations"), 0, "memberships and partner services are affiliations");
    assert_eq!(app.count("ict_partner_services"), 0);
}
