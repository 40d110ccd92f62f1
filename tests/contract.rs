//! The committed OpenAPI document is the one the code serves; the docs page is self-contained.

use crate::harness::TestApp;

crate::on_both_backends!(openapi_matches_committed_file, swagger_ui_is_offline);

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");

async fn openapi_matches_committed_file(app: TestApp) {
    let served = app.get("/api-docs/openapi.json").send().await;
    assert_eq!(served.status, 200);
    assert!(served.body["openapi"].as_str().unwrap().starts_with("3.1"), "OpenAPI 3.1");
    let generated = pcr_api::openapi::document();
    let generated_json: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(served.body, generated_json, "served document is the generated one");
    if std::env::var("UPDATE_CONTRACTS").is_ok() {
        std::fs::write(COMMITTED, format!("{generated}\n")).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED).expect("openapi/openapi.json is committed");
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi/openapi.json is out of date: run `UPDATE_CONTRACTS=1 cargo test` and commit it"
    );
    // Every path the issue names is documented.
    for path in [
        "/api/v1/practices",
        "/api/v1/practices/{key}",
        "/api/v1/practices/{key}/placements",
        "/api/v1/federations/{key}/practices",
        "/api/v1/icts/{key}/partner-services",
        "/api/v1/roles",
        "/api/v1/programmes/{key}/placements",
        "/api/v1/placements/{key}/end",
        "/readyz",
    ] {
        assert!(served.body["paths"][path].is_object(), "{path} is documented");
    }
    // The change feed links records into their collections: each is a documented path, and
    // its items are read by key.
    for kind in pcr_schema::domain::changes::KINDS {
        let item = format!("/api/v1/{}/{{key}}", kind.collection);
        assert!(served.body["paths"][&item]["get"].is_object(), "{} changes link to {item}", kind.name);
    }
}

async fn swagger_ui_is_offline(app: TestApp) {
    let redirect = app.get("/docs").send().await;
    assert_eq!(redirect.status, 308);
    let page = app.get("/docs/").send().await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("swagger-ui"), "{}", &page.text[..page.text.len().min(300)]);
    let init = app.get("/docs/swagger-initializer.js").send().await;
    assert_eq!(init.status, 200);
    assert!(init.text.contains("/api-docs/openapi.json"));
    assert!(
        init.text.replace(char::is_whitespace, "").contains("\"validatorUrl\":\"none\""),
        "no call to the public validator: {}",
        init.text
    );
    for asset in ["swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"] {
        let r = app.get(&format!("/docs/{asset}")).send().await;
        assert_eq!(r.status, 200, "{asset} is served locally");
    }
    for text in [&page.text, &init.text] {
        assert!(!text.contains("unpkg.com") && !text.contains("cdn."), "no CDN references");
    }
}
