//! The demo data: the real 2019 ODS extract plus groupings and synthetic placements,
//! loaded once into an empty database.

use crate::harness::TestApp;

crate::on_both_backends!(demo_loads_once_and_is_served);

async fn demo_loads_once_and_is_served(app: TestApp) {
    let summary = pcr_schema::demo::load_if_empty(app.db()).unwrap().expect("an empty database gets the demo");
    assert!(summary.contains("8201 practices"), "{summary}");
    assert!(pcr_schema::demo::load_if_empty(app.db()).unwrap().is_none(), "never loaded twice");
    assert_eq!(app.count("practices"), 8201);
    assert_eq!(app.count("placements"), 36, "30, and 6 hosted by the demo PCNs");

    let densham = app.get("/api/v1/practices/A81001").send().await;
    assert_eq!(densham.body["name"], "THE DENSHAM SURGERY");
    assert_eq!(densham.body["postcode"], "TS18 1HU");
    assert_eq!(densham.body["source"], "ods");

    let app = &app;
    let count = |path: String| async move {
        let r = app.get(&path).send().await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        r.body["items"].as_array().unwrap().len()
    };
    assert_eq!(count("/api/v1/federations/NSGPF/practices?limit=200".into()).await, 30, "active practices of 05G");
    assert_eq!(
        count("/api/v1/federations/SGPF/practices?limit=200".into()).await,
        65,
        "active practices of 06L and 07K"
    );
    assert_eq!(count("/api/v1/icts/ICT-MEIR/practices".into()).await, 10, "ST3 practices");
    assert_eq!(count("/api/v1/icts/ICT-LICHFIELD/practices".into()).await, 3);
    assert_eq!(count("/api/v1/icts/ICT-LEEK/practices?active_on=2026-04-01".into()).await, 3);
    assert_eq!(count("/api/v1/icts/ICT-BIDDULPH/practices?active_on=2026-04-01".into()).await, 2);
    let early = app.get("/api/v1/icts?status=early_adopter").send().await;
    let codes: Vec<&str> =
        early.body["items"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["ICT-LICHFIELD", "ICT-MEIR"]);

    let reader = app.admin();
    let interns = app.get("/api/v1/placements?programme=pa-internship&limit=200").bearer(&reader).send().await;
    let items = interns.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 16, "8 interns, each split in two");
    assert!(items.iter().all(|p| p["source"] == "demo"));
    let in_practice = items.iter().filter(|p| p["hostType"] == "practice").count();
    assert_eq!(in_practice, 8);
    let one: f64 = items.iter().filter(|p| p["staffRef"] == "DEMO-PA-INT-01").map(|p| p["fte"].as_f64().unwrap()).sum();
    assert!((one - 1.0).abs() < 1e-9);
    let retainers = app.get("/api/v1/programmes/gp-retainer-scheme/placements").bearer(&reader).send().await;
    assert_eq!(retainers.body["items"].as_array().unwrap().len(), 3);
}
