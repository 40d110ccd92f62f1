//! GraphQL as tools see it: the standard introspection query answers at the default limits
//! while data and hand-made introspection stay bounded; every type, field, argument and
//! enum value is described; scalars say what they are; GraphQL over HTTP with GET.

use serde_json::{json, Value};

use crate::harness::TestApp;

crate::on_both_backends!(standard_introspection_is_answered, schema_is_described, graphql_over_http_get);

/// graphql-core's `get_introspection_query` with descriptions, `specifiedByURL`,
/// `isRepeatable` and input-value deprecation: what graphql-codegen, GraphiQL's explorer,
/// Apollo, gql and schemathesis send.
const STANDARD: &str = include_str!("data/introspection.graphql");

async fn post(app: &TestApp, query: &str) -> Value {
    let r = app.post("/graphql").json(&json!({"query": query})).send().await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

async fn standard_introspection_is_answered(app: TestApp) {
    let statements = app.db().statements();
    let r = post(&app, STANDARD).await;
    assert!(r.get("errors").is_none(), "{}", &r.to_string()[..r.to_string().len().min(500)]);
    let types = r["data"]["__schema"]["types"].as_array().unwrap();
    assert!(types.iter().any(|t| t["name"] == "Practice"), "the schema's types are listed");
    assert_eq!(app.db().statements(), statements, "introspection runs no SQL");

    // Data queries keep the data limit (12).
    let deep = "{ practices { nodes { mergedIntoPractice { mergedIntoPractice { mergedIntoPractice { mergedIntoPractice { mergedIntoPractice { mergedIntoPractice { mergedIntoPractice { mergedIntoPractice { mergedIntoPractice { mergedIntoPractice { odsCode } } } } } } } } } } } } }";
    let r = post(&app, deep).await;
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("nested too deep"), "{r}");
    assert_eq!(r["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    // Introspection cannot carry a data query past the limit either: the data part counts.
    // A hand-made introspection that lists within lists within lists is refused.
    let fan_out = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
    let r = post(&app, fan_out).await;
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("Introspection query is nested too deep"), "{r}");
    assert!(r["data"].is_null());
    let ladder = format!("{{ __type(name: \"Practice\") {{ {}name{} }} }}", "ofType { ".repeat(25), " }".repeat(25));
    let r = post(&app, &ladder).await;
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("nested too deep"), "{r}");
    // Fragments are followed (once each, however often they are spread).
    let via_fragments = "query { __schema { ...T } } fragment T on __Schema { types { ...F } } fragment F on __Type { fields { type { fields { type { fields { name } } } } } }";
    let r = post(&app, via_fragments).await;
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("nested too deep"), "{r}");
    let shallow = "{ __type(name: \"Practice\") { fields { name type { name ofType { name } } } } }";
    let r = post(&app, shallow).await;
    assert!(r.get("errors").is_none(), "{r}");
    assert_eq!(app.db().statements(), statements, "refusals run no SQL");
}

/// Every part of the schema a tool shows, described; scalars with their specification.
async fn schema_is_described(app: TestApp) {
    let r = post(&app, STANDARD).await;
    let mut missing = Vec::new();
    let described = |v: &Value| v["description"].as_str().is_some_and(|d| !d.trim().is_empty());
    for t in r["data"]["__schema"]["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        if name.starts_with("__") {
            continue;
        }
        if !described(t) {
            missing.push(format!("type {name}"));
        }
        for f in t["fields"].as_array().into_iter().flatten() {
            if !described(f) {
                missing.push(format!("field {name}.{}", f["name"].as_str().unwrap()));
            }
            for a in f["args"].as_array().into_iter().flatten() {
                if !described(a) {
                    missing.push(format!(
                        "argument {name}.{}({})",
                        f["name"].as_str().unwrap(),
                        a["name"].as_str().unwrap()
                    ));
                }
            }
        }
        for f in t["inputFields"].as_array().into_iter().flatten() {
            if !described(f) {
                missing.push(format!("input field {name}.{}", f["name"].as_str().unwrap()));
            }
        }
        for v in t["enumValues"].as_array().into_iter().flatten() {
            if !described(v) {
                missing.push(format!("enum value {name}.{}", v["name"].as_str().unwrap()));
            }
        }
    }
    assert!(missing.is_empty(), "{} parts without a description:\n{}", missing.len(), missing.join("\n"));
    let types = r["data"]["__schema"]["types"].as_array().unwrap();
    let scalar = |n: &str| types.iter().find(|t| t["name"] == n).cloned().unwrap_or(Value::Null);
    assert!(scalar("NaiveDate").is_null(), "dates are `Date`, not chrono's name");
    assert_eq!(scalar("Date")["specifiedByURL"], "https://scalars.graphql.org/andimarek/local-date.html");
    assert_eq!(scalar("DateTime")["specifiedByURL"], "https://scalars.graphql.org/andimarek/date-time.html");
    let sdl = pcr_api::graphql::sdl();
    assert!(
        sdl.contains("scalar Date @specifiedBy(url: \"https://scalars.graphql.org/andimarek/local-date.html\")"),
        "SDL"
    );
}

async fn graphql_over_http_get(app: TestApp) {
    app.practice("M83005", "Heathcote Street Surgery", "ST5 7EB").await;
    let q = "query($code: String) { practice(odsCode: $code) { odsCode name } }";
    let path =
        format!("/graphql?query={}&variables={}", urlencode(q), urlencode(&json!({"code": "M83005"}).to_string()));
    let r = app.get(&path).header("accept", "application/graphql-response+json").send().await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type").as_deref(), Some("application/graphql-response+json"));
    assert_eq!(r.body["data"]["practice"]["name"], "Heathcote Street Surgery");
    let r = app.get(&path).header("accept", "application/json").send().await;
    assert_eq!(r.header("content-type").as_deref(), Some("application/json"));
    assert_eq!(r.body["data"]["practice"]["odsCode"], "M83005");
    // A named operation of several.
    let two = "query A { roles { totalCount } } query B { practices { totalCount } }";
    let r = app
        .get(&format!("/graphql?query={}&operationName=B", urlencode(two)))
        .header("accept", "application/json")
        .send()
        .await;
    assert_eq!(r.body["data"]["practices"]["totalCount"], 1, "{}", r.text);
    // Mutations never run by GET.
    let before = app.count("practices");
    let m = "mutation { createPractice(input: {odsCode: \"M83007\", name: \"X\", postcode: \"ST5 0ET\"}) { odsCode } }";
    let r = app
        .get(&format!("/graphql?query={}", urlencode(m)))
        .bearer(&app.admin())
        .header("accept", "application/json")
        .send()
        .await;
    assert_eq!(r.status, 405, "{}", r.text);
    assert_eq!(r.header("allow").as_deref(), Some("POST"));
    assert_eq!(app.count("practices"), before);
    // With the GraphQL media type, a request that cannot run is a 4xx; as JSON it is 200.
    let broken = format!("/graphql?query={}", urlencode("{ practices { nope } }"));
    let r = app.get(&broken).header("accept", "application/graphql-response+json").send().await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    let r = app.get(&broken).header("accept", "application/json").send().await;
    assert_eq!(r.status, 200);
    let r = app
        .post("/graphql")
        .header("accept", "application/graphql-response+json")
        .json(&json!({"query": "{ practices { nope } }"}))
        .send()
        .await;
    assert_eq!(r.status, 400);
    // A browser still gets the playground; a bad query string is a GraphQL error.
    let page = app.get("/graphql").header("accept", "text/html,application/xhtml+xml,*/*;q=0.8").send().await;
    assert!(page.text.contains("graphiql"), "{}", &page.text[..200.min(page.text.len())]);
    let r = app.get("/graphql?query={roles{totalCount}}&colour=red").header("accept", "application/json").send().await;
    assert_eq!(r.status, 400);
    let r = app
        .get("/graphql?query={roles{totalCount}}&variables=not-json")
        .header("accept", "application/json")
        .send()
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    error_classes(&app).await;
}

/// Errors say who can put them right (`classification`), beside the REST-matching `code`.
async fn error_classes(app: &TestApp) {
    let update = "mutation { updateRole(input: {key: \"no-such-role\", expectedVersion: 1, data: {code: \"no-such-role\", name: \"X\", staffGroup: ADMIN, regulator: NONE, additionalRoles: false}}) { code } }";
    let r = app.post("/graphql").bearer(&app.admin()).json(&json!({"query": update})).send().await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{}", r.text);
    assert_eq!(r.body["errors"][0]["extensions"]["classification"], "BAD_REQUEST");
    let r = app.post("/graphql").json(&json!({"query": update})).send().await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(r.body["errors"][0]["extensions"]["classification"], "UNAUTHORIZED");
    let r = app.post("/graphql").bearer(&app.token("placements:read")).json(&json!({"query": update})).send().await;
    assert_eq!(r.body["errors"][0]["extensions"]["classification"], "FORBIDDEN");
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
