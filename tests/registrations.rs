//! Data minimisation: placements hold a pseudonymous staff reference, never a name, and an
//! optional professional registration checked by the register's shape, returned only to
//! callers who may read the placement.

use serde_json::{json, Value};

use crate::harness::TestApp;

crate::on_both_backends!(registration_numbers_by_register);

fn with_registration(staff: &str, body: Value, number: Value) -> Value {
    json!({"staffRef": staff, "roleCode": "clinical-pharmacist", "hostType": "practice", "hostCode": "M83001",
        "hoursPerWeek": 20, "startDate": "2026-09-01", "registrationBody": body, "registrationNumber": number})
}

async fn registration_numbers_by_register(app: TestApp) {
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    app.practice("M83003", "Trent Vale", "ST4 6AA").await;
    let meir = app.partner("M83001", "placements:read placements:write");
    let post = |b: Value| app.post("/api/v1/placements").bearer(&meir).json(&b).send();

    // Each register's shape is accepted, written in capitals without spaces.
    for (i, (body, number, stored)) in [
        ("gmc", "7123456", "7123456"),
        ("gphc", "2045678", "2045678"),
        ("nmc", "12a 3456b", "12A3456B"),
        ("hcpc", "PA123456", "PA123456"),
        ("hcpc", "ph12345", "PH12345"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = post(with_registration(&format!("REG-{i}"), json!(body), json!(number))).await;
        assert_eq!(r.status, 201, "{body} {number}: {}", r.text);
        assert_eq!(
            (r.body["registrationBody"].as_str(), r.body["registrationNumber"].as_str()),
            (Some(body), Some(stored))
        );
    }
    // And others are refused by field, with nothing written.
    let before = app.count("placement_records");
    for (body, number, field) in [
        (json!("gmc"), json!("712345"), "registrationNumber"),
        (json!("gmc"), json!("71234567"), "registrationNumber"),
        (json!("nmc"), json!("1234567B"), "registrationNumber"),
        (json!("gphc"), json!("GP12345"), "registrationNumber"),
        (json!("hcpc"), json!("P1234567"), "registrationNumber"),
        (Value::Null, json!("7123456"), "registrationBody"),
        (json!("gmc"), Value::Null, "registrationNumber"),
        (json!("gdc"), json!("123456"), "registrationBody"),
    ] {
        let r = post(with_registration("REG-BAD", body.clone(), number.clone())).await;
        r.problem(422, "validation");
        assert!(r.fields().contains(&field.to_string()), "{body} {number}: {}", r.text);
    }
    assert_eq!(app.count("placement_records"), before);

    // Returned to the host's own reader, through REST and GraphQL; another organisation
    // does not see the placement at all.
    let list = app.get("/api/v1/placements?staff_ref=REG-0").bearer(&meir).send().await;
    let id = list.body["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(list.body["items"][0]["registrationNumber"], "7123456");
    let g = app
        .gql(
            Some(&meir),
            &format!("{{ placement(id: \"{id}\") {{ registrationBody registrationNumber }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(
        g.body["data"]["placement"],
        json!({"registrationBody": "GMC", "registrationNumber": "7123456"}),
        "{}",
        g.text
    );
    let trent = app.partner("M83003", "placements:read");
    app.get(&format!("/api/v1/placements/{id}")).bearer(&trent).send().await.problem(404, "not-found");
    let theirs = app.get("/api/v1/placements?staff_ref=REG-0").bearer(&trent).send().await;
    assert!(!theirs.text.contains("7123456"));

    // A batch carries them too.
    let csv =
        "staff_ref,role_code,host_type,host_code,hours_per_week,start_date,registration_body,registration_number\n\
               REG-CSV-1,clinical-pharmacist,practice,M83001,20,2026-09-01,GPhC,2045679\n\
               REG-CSV-2,clinical-pharmacist,practice,M83001,20,2026-09-01,gmc,12\n";
    let r = app.post("/api/v1/placements/batch?mode=partial").bearer(&meir).raw("text/csv", csv).send().await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.body["created"].as_u64(), r.body["rejected"].as_u64()), (Some(1), Some(1)));
    assert_eq!(r.body["results"][1]["errors"][0]["field"], "registrationNumber");
}
