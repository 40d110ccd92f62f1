//! GraphQL: the same data as REST, the same rules on writes, no N+1, limits, the
//! committed SDL, and the playground's page.

use serde_json::{json, Value};

use crate::harness::{Resp, TestApp};

crate::on_both_backends!(
    reads_match_rest,
    nested_query_statements_do_not_grow_with_practices,
    nested_placement_pages_match_separate_reads,
    repeated_documents_are_checked_like_new_ones,
    mutations_follow_the_rest_rules,
    limits_refuse_expensive_queries,
    graphql_cannot_starve_rest,
    a_busy_pool_is_answered_at_once,
    relay_paging_both_ways,
    organisations_pcns_and_affiliations,
);

const SDL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/schema.graphql");

#[test]
fn sdl_matches_committed_file() {
    let sdl = pcr_api::graphql::sdl();
    if std::env::var("UPDATE_CONTRACTS").is_ok() {
        std::fs::write(SDL, &sdl).unwrap();
    }
    let committed = std::fs::read_to_string(SDL).expect("schema/schema.graphql is committed");
    assert!(
        committed == sdl,
        "schema/schema.graphql is out of date: run `UPDATE_CONTRACTS=1 cargo test` and commit it"
    );
    // Described arguments are printed one to a line, each under its description.
    for needle in [
        "type Query",
        "\tnode(\n",
        "\t\tid: ID!\n\t): Node\n",
        "practices(",
        "integratedCareTeam(",
        "type PracticeConnection",
        "totalCount: Int!",
        "\tcreatePractice(\n",
        "\t\tinput: PracticeInput!,\n",
        "\t\tidempotencyKey: String\n\t): Practice!\n",
        "\tendPlacement(\n",
        "\t\tinput: EndPlacementInput!\n\t): Placement!\n",
    ] {
        assert!(sdl.contains(needle), "SDL has {needle}");
    }
}

impl TestApp {
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Resp {
        let mut req = self.post("/graphql").json(&json!({"query": query, "variables": variables}));
        if let Some(t) = token {
            req = req.bearer(t);
        }
        req.send().await
    }
}

/// REST spells enum values in lower case, GraphQL in capitals; compare them alike.
fn same(rest: &Value, gql: &Value, fields: &[&str]) {
    for f in fields {
        let (r, g) = (&rest[f], &gql[f]);
        let equal = match (r, g) {
            (Value::String(a), Value::String(b)) => a == b || a.to_uppercase() == *b,
            _ => r == g,
        };
        assert!(equal, "field {f}: REST {r} vs GraphQL {g}");
    }
}

fn nodes(conn: &Value) -> Vec<Value> {
    conn["edges"].as_array().map(|e| e.iter().map(|e| e["node"].clone()).collect()).unwrap_or_default()
}

async fn seed(app: &TestApp) {
    let token = app.admin();
    for (ods, name, pc) in [
        ("M83001", "Meir Health Centre", "ST3 7DY"),
        ("M83002", "Longton Hall Surgery", "ST3 5AA"),
        ("M83003", "Leek Health Centre", "ST13 5BQ"),
    ] {
        app.practice(ods, name, pc).await;
    }
    let post = |path: &'static str, body: Value| {
        let token = token.clone();
        async move {
            let r = app.post(path).bearer(&token).json(&body).send().await;
            assert_eq!(r.status, 201, "{path}: {}", r.text);
            r
        }
    };
    post("/api/v1/federations", json!({"code": "NSGPF", "name": "North Staffordshire GP Federation"})).await;
    post(
        "/api/v1/icts",
        json!({"code": "ICT-MEIR", "name": "Meir ICT", "status": "early_adopter", "population": 52000}),
    )
    .await;
    post(
        "/api/v1/federation-memberships",
        json!({"federationCode": "NSGPF", "odsCode": "M83003", "startDate": "2020-04-01"}),
    )
    .await;
    for ods in ["M83001", "M83002"] {
        post("/api/v1/ict-memberships", json!({"ictCode": "ICT-MEIR", "odsCode": ods, "startDate": "2025-04-01"}))
            .await;
    }
    post(
        "/api/v1/ict-partner-services",
        json!({"ictCode": "ICT-MEIR", "name": "Community nursing", "kind": "community", "startDate": "2025-04-01"}),
    )
    .await;
    for (staff, role, host) in [
        ("S1", "clinical-pharmacist", "M83001"),
        ("S2", "physician-associate", "M83001"),
        ("S3", "gp-retainer", "M83002"),
    ] {
        post("/api/v1/placements", json!({"staffRef": staff, "roleCode": role, "hostType": "practice", "hostCode": host, "hoursPerWeek": 30, "startDate": "2025-01-06", "programmeCode": "additional-roles-reimbursement"})).await;
    }
}

async fn reads_match_rest(app: TestApp) {
    seed(&app).await;
    let reader = app.admin();
    let practice_fields = [
        "odsCode",
        "name",
        "addressLines",
        "postcode",
        "regionCode",
        "icbCode",
        "commissionerCode",
        "listSize",
        "status",
        "mergedInto",
        "openedOn",
        "closedOn",
        "phone",
        "source",
        "version",
        "createdAt",
        "updatedAt",
    ];
    let practice_sel = "databaseId odsCode name addressLines postcode regionCode icbCode commissionerCode listSize status mergedInto openedOn closedOn phone source version createdAt updatedAt";

    // One practice.
    let rest = app.get("/api/v1/practices/M83001").send().await.body;
    let g = app.gql(None, &format!("{{ practice(odsCode: \"M83001\") {{ {practice_sel} }} }}"), json!({})).await;
    assert!(g.body["errors"].is_null(), "{}", g.text);
    same(&rest, &g.body["data"]["practice"], &practice_fields);
    assert_eq!(rest["id"], g.body["data"]["practice"]["databaseId"]);

    // The practice list with a filter and order.
    let rest = app.get("/api/v1/practices?postcode=ST3&sort=-name").send().await.body;
    let g = app
        .gql(None, &format!("{{ practices(filter: {{postcode: \"ST3\"}}, orderBy: {{field: NAME, direction: DESC}}) {{ totalCount edges {{ node {{ {practice_sel} }} }} }} }}"), json!({}))
        .await;
    let list = nodes(&g.body["data"]["practices"]);
    assert_eq!(list.len(), rest["items"].as_array().unwrap().len());
    assert_eq!(g.body["data"]["practices"]["totalCount"], 2);
    for (r, q) in rest["items"].as_array().unwrap().iter().zip(&list) {
        same(r, q, &practice_fields);
    }

    // Groups and their relations.
    let rest_fed = app.get("/api/v1/federations/NSGPF").send().await.body;
    let rest_members = app.get("/api/v1/federations/NSGPF/practices").send().await.body;
    let rest_history = app.get("/api/v1/federations/NSGPF/memberships").send().await.body;
    let g = app
        .gql(None, "{ federation(code: \"NSGPF\") { databaseId code name odsCode icbCode description source version createdAt updatedAt practices { totalCount edges { node { odsCode } } } memberships { databaseId federationCode odsCode startDate endDate version } } }", json!({}))
        .await;
    let f = &g.body["data"]["federation"];
    same(
        &rest_fed,
        f,
        &["code", "name", "odsCode", "icbCode", "description", "source", "version", "createdAt", "updatedAt"],
    );
    assert_eq!(nodes(&f["practices"])[0]["odsCode"], rest_members["items"][0]["odsCode"]);
    same(
        &rest_history["items"][0],
        &f["memberships"][0],
        &["federationCode", "odsCode", "startDate", "endDate", "version"],
    );

    let rest_icts = app.get("/api/v1/icts?status=early_adopter").send().await.body;
    let rest_services = app.get("/api/v1/icts/ICT-MEIR/partner-services").send().await.body;
    let g = app
        .gql(None, "{ integratedCareTeams(filter: {status: EARLY_ADOPTER}) { edges { node { code name locality population status icbCode source version createdAt updatedAt partnerServices { name kind organisationCode startDate endDate } practices { edges { node { odsCode } } } } } } }", json!({}))
        .await;
    let icts = nodes(&g.body["data"]["integratedCareTeams"]);
    same(
        &rest_icts["items"][0],
        &icts[0],
        &["code", "name", "locality", "population", "status", "icbCode", "source", "version", "createdAt", "updatedAt"],
    );
    same(
        &rest_services["items"][0],
        &icts[0]["partnerServices"][0],
        &["name", "kind", "organisationCode", "startDate", "endDate"],
    );
    let members: Vec<Value> = nodes(&icts[0]["practices"]).iter().map(|p| p["odsCode"].clone()).collect();
    assert_eq!(members, [json!("M83001"), json!("M83002")]);

    // A practice's groups.
    let rest_groups = app.get("/api/v1/practices/M83003/federations").send().await.body;
    let rest_ict_groups = app.get("/api/v1/practices/M83001/icts").send().await.body;
    let g = app
        .gql(None, "{ a: practice(odsCode: \"M83003\") { federations { code } currentFederation { code } } b: practice(odsCode: \"M83001\") { integratedCareTeams { code } } }", json!({}))
        .await;
    assert_eq!(g.body["data"]["a"]["federations"][0]["code"], rest_groups["items"][0]["code"]);
    assert_eq!(g.body["data"]["a"]["currentFederation"]["code"], "NSGPF");
    assert_eq!(g.body["data"]["b"]["integratedCareTeams"][0]["code"], rest_ict_groups["items"][0]["code"]);

    // Catalogue.
    let rest_roles = app.get("/api/v1/roles?additional_roles=true&limit=200").send().await.body;
    let g = app.gql(None, "{ roles(first: 200, filter: {additionalRoles: true}) { totalCount edges { node { code name staffGroup regulator additionalRoles description version } } } }", json!({})).await;
    let roles = nodes(&g.body["data"]["roles"]);
    assert_eq!(roles.len(), rest_roles["items"].as_array().unwrap().len());
    for (r, q) in rest_roles["items"].as_array().unwrap().iter().zip(&roles) {
        same(r, q, &["code", "name", "staffGroup", "regulator", "additionalRoles", "description", "version"]);
    }
    let rest_prog = app.get("/api/v1/programmes/pa-in-general-practice").send().await.body;
    let g = app.gql(None, "{ programme(code: \"pa-in-general-practice\") { code name description targetCount targetRoleCode targetRole { code } version } }", json!({})).await;
    let p = &g.body["data"]["programme"];
    same(&rest_prog, p, &["code", "name", "description", "targetCount", "version"]);
    assert_eq!(p["targetRoleCode"], rest_prog["targetRole"]);
    assert_eq!(p["targetRole"]["code"], "physician-associate");

    // Placements: the list, one, and the nested relations; the scope applies alike.
    let placement_fields = [
        "staffRef",
        "roleCode",
        "programmeCode",
        "hostType",
        "hostCode",
        "hostName",
        "hoursPerWeek",
        "fte",
        "startDate",
        "endDate",
        "status",
        "funding",
        "notes",
        "source",
        "createdBy",
        "version",
        "createdAt",
        "updatedAt",
    ];
    let sel = "databaseId staffRef roleCode programmeCode hostType hostCode hostName hoursPerWeek fte startDate endDate status funding notes source createdBy version createdAt updatedAt";
    let rest = app.get("/api/v1/placements?host=M83001").bearer(&reader).send().await.body;
    let g = app.gql(Some(&reader), &format!("{{ placements(filter: {{host: \"M83001\"}}) {{ totalCount edges {{ node {{ {sel} role {{ code }} host {{ ... on Practice {{ odsCode }} }} }} }} }} }}"), json!({})).await;
    let list = nodes(&g.body["data"]["placements"]);
    assert_eq!(list.len(), 2);
    for (r, q) in rest["items"].as_array().unwrap().iter().zip(&list) {
        same(r, q, &placement_fields);
        assert_eq!(q["role"]["code"], r["roleCode"]);
        assert_eq!(q["host"]["odsCode"], "M83001");
    }
    let id = rest["items"][0]["id"].as_str().unwrap();
    let rest_one = app.get(&format!("/api/v1/placements/{id}")).bearer(&reader).send().await.body;
    let g = app.gql(Some(&reader), &format!("{{ placement(id: \"{id}\") {{ {sel} id }} }}"), json!({})).await;
    same(&rest_one, &g.body["data"]["placement"], &placement_fields);
    // The global id round-trips through node().
    let global = g.body["data"]["placement"]["id"].as_str().unwrap().to_string();
    let n = app
        .gql(
            Some(&reader),
            "query($id: ID!) { node(id: $id) { id ... on Placement { staffRef } } }",
            json!({"id": global}),
        )
        .await;
    assert_eq!(n.body["data"]["node"]["staffRef"], rest_one["staffRef"]);
    let nested = app.gql(Some(&reader), "{ role(code: \"gp-retainer\") { placements { totalCount edges { node { staffRef } } } } programme(code: \"additional-roles-reimbursement\") { placements { totalCount } } }", json!({})).await;
    assert_eq!(nested.body["data"]["role"]["placements"]["totalCount"], 1);
    assert_eq!(nested.body["data"]["programme"]["placements"]["totalCount"], 3);

    // Without the scope: the same refusal as REST, with the REST status as code.
    let g = app.gql(None, "{ placements { totalCount } }", json!({})).await;
    assert_eq!(g.body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let g = app
        .gql(Some(&app.token("reference:write")), &format!("{{ placement(id: \"{id}\") {{ staffRef }} }}"), json!({}))
        .await;
    assert_eq!(g.body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    // Unknown keys are null, as GraphQL does for a 404.
    let g = app.gql(None, "{ practice(odsCode: \"Z99999\") { name } }", json!({})).await;
    assert_eq!(g.body["data"]["practice"], Value::Null);
    assert!(g.body["errors"].is_null());
}

async fn nested_query_statements_do_not_grow_with_practices(app: TestApp) {
    let token = app.admin();
    let reader = app.admin();
    let query = "{ integratedCareTeam(code: $CODE) { name practices(first: 200) { totalCount edges { node { odsCode placements(first: 20) { totalCount edges { node { staffRef fte role { name staffGroup } programme { code } } } } federations { code } } } } } }";
    let mut statements = Vec::new();
    for (code, n) in [("ICT-FIVE", 5), ("ICT-MANY", 200)] {
        let r = app.post("/api/v1/icts").bearer(&token).json(&json!({"code": code, "name": code})).send().await;
        assert_eq!(r.status, 201);
        for i in 0..n {
            let ods = format!("{}{:05}", if n == 5 { "A" } else { "B" }, i);
            app.practice(&ods, &format!("Practice {i}"), "ST3 1AA").await;
            let m = app
                .post("/api/v1/ict-memberships")
                .bearer(&token)
                .json(&json!({"ictCode": code, "odsCode": ods, "startDate": "2025-01-01"}))
                .send()
                .await;
            assert_eq!(m.status, 201);
            let role = ["clinical-pharmacist", "physician-associate", "gp-retainer"][i % 3];
            let p = app.post("/api/v1/placements").bearer(&token).json(&json!({"staffRef": format!("S{i}"), "roleCode": role, "hostType": "practice", "hostCode": ods, "hoursPerWeek": 37.5, "startDate": "2025-01-06", "programmeCode": "training-hub"})).send().await;
            assert_eq!(p.status, 201);
        }
        let before = app.db().statements();
        let g = app.gql(Some(&reader), &query.replace("$CODE", &format!("\"{code}\"")), json!({})).await;
        let used = app.db().statements() - before;
        assert!(g.body["errors"].is_null(), "{}", g.text);
        let practices = nodes(&g.body["data"]["integratedCareTeam"]["practices"]);
        assert_eq!(practices.len(), n);
        assert!(practices
            .iter()
            .all(|p| nodes(&p["placements"]).len() == 1 && nodes(&p["placements"])[0]["role"]["name"].is_string()));
        statements.push(used);
    }
    assert_eq!(statements[0], statements[1], "statements for 5 practices vs 200: {statements:?}");
    assert!(statements[0] <= 10, "one statement per relation per level: {statements:?}");
    // The benchmark's query (bench/instructions.sh: ICT -> practices -> placements -> role)
    // is two statements: the ICT, then its members with their placements and roles.
    let bench = r#"{ integratedCareTeam(code: "ICT-MANY") { name practices(first: 50) { edges { node { odsCode name
        placements(first: 20) { edges { node { staffRef hoursPerWeek role { name } } } } } } } } }"#;
    let before = app.db().statements();
    let g = app.gql(Some(&reader), bench, json!({})).await;
    assert!(g.body["errors"].is_null(), "{}", g.text);
    assert_eq!(nodes(&g.body["data"]["integratedCareTeam"]["practices"]).len(), 50);
    assert_eq!(app.db().statements() - before, 2, "the nested benchmark query's statements");
    // The counter is exposed for Prometheus.
    let metrics = app.get("/metrics").send().await;
    assert!(metrics.text.contains("db_statements_total "), "{}", metrics.text);
}

/// A group's practices with their placements come in one statement (the members' statement
/// brings each member's page of placements and their roles). Those pages must be exactly the
/// pages each practice's own `placements` field gives, for every kind of arguments, and the
/// scope rules must apply as they do field by field.
async fn nested_placement_pages_match_separate_reads(app: TestApp) {
    let token = app.admin();
    let reader = app.admin();
    for (ods, name) in [("M83001", "Alpha"), ("M83002", "Beta"), ("M83003", "Gamma"), ("M83004", "Delta")] {
        app.practice(ods, name, "ST3 1AA").await;
    }
    for code in ["ICT-MEIR", "ICT-LONGTON"] {
        let r = app.post("/api/v1/icts").bearer(&token).json(&json!({"code": code, "name": code})).send().await;
        assert_eq!(r.status, 201);
    }
    // M83002 is in both ICTs; M83004 has no placements.
    for (ict, ods) in [
        ("ICT-MEIR", "M83001"),
        ("ICT-MEIR", "M83002"),
        ("ICT-MEIR", "M83004"),
        ("ICT-LONGTON", "M83002"),
        ("ICT-LONGTON", "M83003"),
    ] {
        let r = app
            .post("/api/v1/ict-memberships")
            .bearer(&token)
            .json(&json!({"ictCode": ict, "odsCode": ods, "startDate": "2024-04-01"}))
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let roles = ["physician-associate", "clinical-pharmacist", "gp-retainer"];
    for (i, ods) in ["M83001", "M83001", "M83001", "M83002", "M83002", "M83003"].iter().enumerate() {
        let body = json!({"staffRef": format!("S{i}"), "roleCode": roles[i % 3], "hostType": "practice",
            "hostCode": ods, "hoursPerWeek": 20 + i, "startDate": format!("2025-0{}-01", 6 - i)});
        let r = app.post("/api/v1/placements").bearer(&token).json(&body).send().await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let page =
        "pageInfo { hasNextPage hasPreviousPage } edges { cursor node { staffRef startDate role { code name } } }";
    // A cursor to read after: the first placement of M83001 in start-date order.
    let first = app
        .gql(
            Some(&reader),
            &format!("{{ practice(odsCode: \"M83001\") {{ placements(first: 1, orderBy: {{field: START_DATE, direction: ASC}}) {{ {page} }} }} }}"),
            json!({}),
        )
        .await;
    let cursor = first.body["data"]["practice"]["placements"]["edges"][0]["cursor"].as_str().unwrap().to_string();
    let variants = [
        String::new(),
        "(first: 2)".to_string(),
        "(first: 2, orderBy: {field: START_DATE, direction: DESC})".to_string(),
        "(last: 1)".to_string(),
        "(filter: {role: \"physician-associate\"})".to_string(),
        format!("(first: 1, after: \"{cursor}\", orderBy: {{field: START_DATE, direction: ASC}})"),
    ];
    for args in &variants {
        let nested = format!(
            "{{ integratedCareTeam(code: \"ICT-MEIR\") {{ practices {{ edges {{ node {{ odsCode placements{args} {{ {page} }} }} }} }} }} }}"
        );
        let before = app.db().statements();
        let g = app.gql(Some(&reader), &nested, json!({})).await;
        let used = app.db().statements() - before;
        assert!(g.body["errors"].is_null(), "{args}: {}", g.text);
        assert_eq!(used, 2, "{args}: the group, then its members with their placements and roles");
        let members = nodes(&g.body["data"]["integratedCareTeam"]["practices"]);
        assert_eq!(members.len(), 3);
        for m in &members {
            let ods = m["odsCode"].as_str().unwrap();
            let alone = app
                .gql(
                    Some(&reader),
                    &format!("{{ practice(odsCode: \"{ods}\") {{ placements{args} {{ {page} }} }} }}"),
                    json!({}),
                )
                .await;
            assert_eq!(m["placements"], alone.body["data"]["practice"]["placements"], "{ods} {args}");
        }
    }
    let all = app
        .gql(Some(&reader), &format!("{{ integratedCareTeam(code: \"ICT-MEIR\") {{ practices {{ edges {{ node {{ odsCode placements {{ {page} }} }} }} }} }} }}"), json!({}))
        .await;
    let counts: Vec<usize> = nodes(&all.body["data"]["integratedCareTeam"]["practices"])
        .iter()
        .map(|m| nodes(&m["placements"]).len())
        .collect();
    assert_eq!(counts, [3, 2, 0], "M83001 has three, M83002 two, M83004 none");

    // Two groups in one batch, sharing a practice: each sees its placements.
    let both = app
        .gql(Some(&reader), "{ integratedCareTeams { edges { node { code practices { edges { node { odsCode placements { edges { node { staffRef } } } } } } } } } }", json!({}))
        .await;
    assert!(both.body["errors"].is_null(), "{}", both.text);
    let mut shared = Vec::new();
    for ict in nodes(&both.body["data"]["integratedCareTeams"]) {
        for m in nodes(&ict["practices"]) {
            if m["odsCode"] == "M83002" {
                shared.push(m["placements"].clone());
            }
        }
    }
    assert_eq!(shared.len(), 2);
    assert_eq!(shared[0], shared[1]);
    assert_eq!(nodes(&shared[0]).len(), 2);

    // Without the scope the members still come, and every placements field is refused.
    let q = "{ integratedCareTeam(code: \"ICT-MEIR\") { practices { edges { node { odsCode placements { edges { node { staffRef } } } } } } } }";
    for (who, code) in [(Some(app.token("reference:write")), "FORBIDDEN"), (None, "UNAUTHENTICATED")] {
        let g = app.gql(who.as_deref(), q, json!({})).await;
        let errors = g.body["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 3, "{}", g.text);
        assert!(errors.iter().all(|e| e["extensions"]["code"] == code), "{}", g.text);
        let members = nodes(&g.body["data"]["integratedCareTeam"]["practices"]);
        assert_eq!(members.len(), 3, "{}", g.text);
    }
}

/// Documents are parsed once and remembered with the inputs they were valid with; a repeat
/// skips the rules that cannot change but still meets the limits, which depend on the
/// variables, and inputs that were never valid are validated every time.
async fn repeated_documents_are_checked_like_new_ones(app: TestApp) {
    for i in 0..3 {
        app.practice(&format!("M8300{i}"), &format!("Practice {i}"), "ST3 1AA").await;
    }
    let q = "query($n: Int) { practices(first: $n) { totalCount edges { node { odsCode } } } }";
    let bad = app.gql(None, q, json!({"n": "two"})).await;
    assert!(bad.body["data"].is_null(), "{}", bad.text);
    let first = app.gql(None, q, json!({"n": 2})).await;
    assert!(first.body["errors"].is_null(), "{}", first.text);
    assert_eq!(nodes(&first.body["data"]["practices"]).len(), 2);
    let again = app.gql(None, q, json!({"n": 2})).await;
    assert_eq!(again.body, first.body, "a repeat answers alike");
    let bad_again = app.gql(None, q, json!({"n": "two"})).await;
    assert_eq!(bad_again.body, bad.body, "invalid inputs are refused alike after valid ones");

    // Complexity depends on the variables: a valid small request does not let a big one by.
    let wide = "query($n: Int) { practices(first: $n) { edges { node { federations { practices(first: $n) { edges { node { odsCode name postcode } } } } } } } }";
    for _ in 0..2 {
        let ok = app.gql(None, wide, json!({"n": 2})).await;
        assert!(ok.body["errors"].is_null(), "{}", ok.text);
    }
    let big = app.gql(None, wide, json!({"n": 200})).await;
    assert!(big.body["errors"][0]["message"].as_str().unwrap_or("").contains("complex"), "{}", big.text);
    assert_eq!(big.body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    // A field the schema does not have is refused every time.
    let unknown = "{ practices { edges { node { odsCode shoeSize } } } }";
    for _ in 0..2 {
        let r = app.gql(None, unknown, json!({})).await;
        assert_eq!(r.body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{}", r.text);
    }
}

async fn mutations_follow_the_rest_rules(app: TestApp) {
    let create =
        "mutation($input: PracticeInput!) { createPractice(input: $input) { databaseId odsCode postcode version } }";
    let input = json!({"odsCode": "M83001", "name": "Meir Health Centre", "postcode": "st3 7dy"});
    let code = |r: &Resp| r.body["errors"][0]["extensions"]["code"].as_str().unwrap_or("").to_string();

    let r = app.gql(None, create, json!({"input": input})).await;
    assert_eq!(code(&r), "UNAUTHENTICATED", "{}", r.text);
    let r = app.gql(Some(&app.token("placements:write")), create, json!({"input": input})).await;
    assert_eq!(code(&r), "FORBIDDEN");
    let bad = json!({"odsCode": "M8300", "name": "", "postcode": "nowhere"});
    let r = app.gql(Some(&app.admin()), create, json!({"input": bad})).await;
    assert_eq!(code(&r), "BAD_USER_INPUT");
    let fields: Vec<&str> = r.body["errors"][0]["extensions"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["odsCode", "name", "postcode"]);
    assert_eq!(app.count("practices"), 0);
    // The refusal is recorded (the token's signature verified); the invalid input is not.
    assert_eq!(app.count("audit_events WHERE outcome = 'forbidden'"), 1);
    assert_eq!(app.count("audit_events WHERE outcome = 'accepted'"), 0);

    let r = app.gql(Some(&app.admin()), create, json!({"input": input})).await;
    assert!(r.body["errors"].is_null(), "{}", r.text);
    assert_eq!(r.body["data"]["createPractice"]["postcode"], "ST3 7DY");
    assert_eq!(app.count("audit_events WHERE outcome = 'accepted'"), 1);
    let r = app.gql(Some(&app.admin()), create, json!({"input": input})).await;
    assert_eq!(code(&r), "CONFLICT", "duplicate ODS code");

    let update = "mutation($input: UpdatePracticeInput!) { updatePractice(input: $input) { name version } }";
    let data = json!({"odsCode": "M83001", "name": "Meir HC", "postcode": "ST3 7DY"});
    let r = app
        .gql(Some(&app.admin()), update, json!({"input": {"key": "M83001", "expectedVersion": 1, "data": data}}))
        .await;
    assert_eq!(r.body["data"]["updatePractice"]["version"], 2, "{}", r.text);
    let r = app
        .gql(Some(&app.admin()), update, json!({"input": {"key": "M83001", "expectedVersion": 1, "data": data}}))
        .await;
    assert_eq!(code(&r), "CONFLICT", "stale version");
    assert_eq!(r.body["errors"][0]["extensions"]["currentVersion"], 2);
    assert_eq!(app.count("audit_events WHERE outcome = 'accepted'"), 2);
    // REST sees what GraphQL wrote.
    assert_eq!(app.get("/api/v1/practices/M83001").send().await.body["name"], "Meir HC");

    // Placements: create, end (with audit), never delete.
    let p = app
        .gql(Some(&app.admin()), "mutation($input: PlacementInput!) { createPlacement(input: $input) { id databaseId fte version } }", json!({"input": {"staffRef": "S1", "roleCode": "physician-associate", "hostType": "PRACTICE", "hostCode": "M83001", "hoursPerWeek": 22.5, "startDate": "2026-01-05"}}))
        .await;
    assert_eq!(p.body["data"]["createPlacement"]["fte"], 0.6, "{}", p.text);
    let id = p.body["data"]["createPlacement"]["id"].as_str().unwrap();
    let end = "mutation($input: EndPlacementInput!) { endPlacement(input: $input) { endDate status version } }";
    let r = app
        .gql(
            Some(&app.token("placements:read")),
            end,
            json!({"input": {"key": id, "expectedVersion": 1, "endDate": "2026-06-30"}}),
        )
        .await;
    assert_eq!(code(&r), "FORBIDDEN");
    let r = app
        .gql(Some(&app.admin()), end, json!({"input": {"key": id, "expectedVersion": 1, "endDate": "2025-06-30"}}))
        .await;
    assert_eq!(code(&r), "BAD_USER_INPUT", "ends before it starts");
    let r = app
        .gql(Some(&app.admin()), end, json!({"input": {"key": id, "expectedVersion": 1, "endDate": "2026-06-30"}}))
        .await;
    assert_eq!(r.body["data"]["endPlacement"]["endDate"], "2026-06-30", "{}", r.text);
    let db_id = p.body["data"]["createPlacement"]["databaseId"].as_str().unwrap().to_string();
    let events = app.db().read(|c| pcr_schema::audit::for_entity(c, "placement", &db_id)).unwrap();
    let trail: Vec<(&str, &str)> = events.iter().map(|e| (e.action.as_str(), e.outcome.as_str())).collect();
    assert_eq!(trail, [("create", "accepted"), ("end", "forbidden"), ("end", "accepted")], "the refusal too");
    let r = app
        .gql(
            Some(&app.admin()),
            "mutation { deletePlacement(input: {key: \"x\", expectedVersion: 1}) { key } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&r), "GRAPHQL_VALIDATION_FAILED", "there is no deletePlacement");

    // A bad token is refused outright, like REST.
    let r = app.gql(Some("not-a-token"), "{ roles { totalCount } }", json!({})).await;
    assert_eq!(r.status, 401);
    assert_eq!(code(&r), "UNAUTHENTICATED");
}

async fn limits_refuse_expensive_queries(app: TestApp) {
    // Depth bomb: the same relation nested again and again.
    let mut bomb = String::from("odsCode");
    for _ in 0..6 {
        bomb = format!("odsCode federations {{ code practices(first: 1) {{ edges {{ node {{ {bomb} }} }} }} }}");
    }
    let started = std::time::Instant::now();
    let r = app.gql(None, &format!("{{ practice(odsCode: \"M83001\") {{ {bomb} }} }}"), json!({})).await;
    assert!(r.body["data"].is_null(), "{}", &r.text[..r.text.len().min(300)]);
    let message = r.body["errors"][0]["message"].as_str().unwrap().to_lowercase();
    assert!(message.contains("nested too deep") || message.contains("recursion limit"), "{}", r.text);
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    // Wide but shallow: too complex.
    let wide = "{ practices(first: 200) { edges { node { federations { practices(first: 200) { edges { node { odsCode name postcode } } } } } } } }";
    let r = app.gql(None, wide, json!({})).await;
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("complex"), "{}", r.text);
    // Totals are counted as the COUNT statements they run: 600 `totalCount` aliases under
    // one root field (which the root-field cap does not see, and which cost 600 in
    // complexity), or 51 spread through a fragment, are refused before any SQL runs; five,
    // or one nested under a page of 50 (counted for the page at once), are fine.
    let counts = |n: usize| {
        let fields: Vec<String> = (0..n).map(|i| format!("c{i}: totalCount")).collect();
        format!("{{ practices(first: 1) {{ {} }} }}", fields.join(" "))
    };
    let through_fragment = format!(
        "{{ a: practices(first: 1) {{ ...T }} b: practices(first: 2) {{ ...T }} c: practices(first: 1) {{ totalCount }} }} fragment T on PracticeConnection {{ {} }}",
        (0..25).map(|i| format!("t{i}: totalCount")).collect::<Vec<_>>().join(" ")
    );
    let before = app.db().statements();
    for refused in [counts(600), through_fragment] {
        let r = app.gql(None, &refused, json!({})).await;
        let message = r.body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("totals"), "{}", &r.text[..r.text.len().min(300)]);
        assert_eq!(r.body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    }
    assert_eq!(app.db().statements(), before, "a refused query runs no SQL");
    let r = app.gql(None, &counts(5), json!({})).await;
    assert!(r.body["errors"].is_null() && r.body["data"]["practices"]["c4"].is_number(), "{}", r.text);
    let admin = app.admin();
    let q = "{ practices(first: 50) { totalCount nodes { odsCode placements(first: 5) { totalCount } } } }";
    let r = app.gql(Some(&admin), q, json!({})).await;
    assert!(r.body["errors"].is_null(), "{}", &r.text[..r.text.len().min(300)]);
    // A 1 MB query is refused before it is parsed.
    let huge = format!("{{ roles {{ totalCount }} }} #{}", "x".repeat(1024 * 1024));
    let r = app.gql(None, &huge, json!({})).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "QUERY_TOO_LARGE");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "refused promptly: {:?}", started.elapsed());
    // Not JSON, or not a GraphQL request.
    let r = app.post("/graphql").raw("application/json", "{not json").send().await;
    assert_eq!(r.status, 400);
    let r = app.post("/graphql").raw("text/plain", "{ roles { totalCount } }").send().await;
    assert_eq!(r.status, 415);
    // Paging arguments are checked like REST's.
    let r = app.gql(None, "{ practices(first: 500) { totalCount } }", json!({})).await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let r = app.gql(None, "{ practices(first: 1, last: 1) { totalCount } }", json!({})).await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    // Introspection can be switched off.
    let limits = pcr_api::graphql::GraphqlLimits { introspection: false, ..Default::default() };
    let closed = pcr_api::AppState::new(app.db().clone(), app.state.auth.clone(), limits);
    let svc = actix_web::test::init_service(pcr_api::app(&closed)).await;
    let closed_query = |query: &str| {
        actix_web::test::TestRequest::post()
            .uri("/graphql")
            .insert_header(("content-type", "application/json"))
            .set_payload(json!({ "query": query }).to_string())
            .to_request()
    };
    let statements = app.db().statements();
    for query in [
        "{ __schema { types { name } } }",
        "{ roles { totalCount } t: __type(name: \"Practice\") { name } }",
        "query { ...root } fragment root on Query { __schema { queryType { name } } }",
        "{ ... on Query { __type(name: \"Role\") { fields { name } } } }",
    ] {
        let body: Value = actix_web::test::call_and_read_body_json(&svc, closed_query(query)).await;
        assert!(body.get("data").is_none_or(Value::is_null), "introspection off: nothing runs for {query}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{query}: {body}");
        assert!(body["errors"][0]["message"].as_str().unwrap_or("").contains("introspection is disabled"), "{body}");
    }
    assert_eq!(app.db().statements(), statements, "a refused introspection query runs no SQL");
    // Everything else still runs, `__typename` included.
    let body: Value =
        actix_web::test::call_and_read_body_json(&svc, closed_query("{ __typename roles { totalCount } }")).await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    assert!(body["data"]["roles"]["totalCount"].as_i64().is_some_and(|n| n > 0), "{body}");
    let open = app.gql(None, "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(open.body["data"]["__schema"]["queryType"]["name"], "Query");
}

async fn relay_paging_both_ways(app: TestApp) {
    for i in 0..5 {
        app.practice(&format!("M8300{i}"), &format!("Practice {i}"), "ST3 1AA").await;
    }
    let q = "query($first: Int, $after: String, $last: Int, $before: String) { practices(first: $first, after: $after, last: $last, before: $before) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { odsCode } } } }";
    let codes = |r: &Resp| -> Vec<String> {
        nodes(&r.body["data"]["practices"]).iter().map(|n| n["odsCode"].as_str().unwrap().to_string()).collect()
    };
    let p1 = app.gql(None, q, json!({"first": 2})).await;
    assert_eq!(codes(&p1), ["M83000", "M83001"]);
    assert_eq!(p1.body["data"]["practices"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(p1.body["data"]["practices"]["totalCount"], 5);
    let end = p1.body["data"]["practices"]["pageInfo"]["endCursor"].clone();
    let p2 = app.gql(None, q, json!({"first": 2, "after": end})).await;
    assert_eq!(codes(&p2), ["M83002", "M83003"]);
    assert_eq!(p2.body["data"]["practices"]["pageInfo"]["hasPreviousPage"], true);
    // Backwards from the end, then from a cursor.
    let last = app.gql(None, q, json!({"last": 2})).await;
    assert_eq!(codes(&last), ["M83003", "M83004"]);
    assert_eq!(last.body["data"]["practices"]["pageInfo"]["hasPreviousPage"], true);
    let start = last.body["data"]["practices"]["pageInfo"]["startCursor"].clone();
    let before = app.gql(None, q, json!({"last": 2, "before": start})).await;
    assert_eq!(codes(&before), ["M83001", "M83002"], "{}", before.text);
    assert_eq!(before.body["data"]["practices"]["pageInfo"]["hasNextPage"], true);
}

#[actix_web::test]
async fn playground_page_and_assets_are_served_locally() {
    let app = TestApp::new(pcr_schema::Backend::Sqlite);
    let page = app.get("/graphql").send().await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"), "{csp}");
    assert!(!page.text.contains("unpkg") && !page.text.contains("https://"), "no external references");
    let scripts: Vec<&str> = page.text.split("src=\"").skip(1).filter_map(|s| s.split('"').next()).collect();
    assert!(!scripts.is_empty());
    for src in scripts {
        let r = app.get(src).send().await;
        assert_eq!(r.status, 200, "{src} is served by the binary");
    }
    app.get("/graphql/assets/nothing.js").send().await.problem(404, "not-found");
}

/// The organisation model through the graph: a PCN with its member practice and the
/// placement it hosts, the `Organisation` interface over every kind, affiliations both ways
/// with their periods, and `node(id:)` for the new types.
async fn organisations_pcns_and_affiliations(app: TestApp) {
    let admin = app.admin();
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    app.practice("M83002", "Longton Surgery", "ST3 1AA").await;
    let pcn = app
        .post("/api/v1/pcns")
        .bearer(&admin)
        .json(&json!({"code": "U12345", "name": "Meir PCN", "icbCode": "QNC"}))
        .send()
        .await;
    assert_eq!(pcn.status, 201, "{}", pcn.text);
    for (ods, end) in [("M83001", Value::Null), ("M83002", json!("2024-03-31"))] {
        let m = app
            .post("/api/v1/pcn-memberships")
            .bearer(&admin)
            .json(&json!({"pcnCode": "U12345", "odsCode": ods, "startDate": "2019-07-01", "endDate": end}))
            .send()
            .await;
        assert_eq!(m.status, 201, "{}", m.text);
    }
    let placement = app
        .post("/api/v1/placements")
        .bearer(&admin)
        .json(&json!({"staffRef": "PCN-SPLW-1", "roleCode": "social-prescribing-link-worker", "hostType": "pcn",
            "hostCode": "u12345", "hoursPerWeek": 37.5, "startDate": "2024-01-08", "funding": "arrs"}))
        .send()
        .await;
    assert_eq!(placement.status, 201, "{}", placement.text);
    assert_eq!((&placement.body["hostType"], &placement.body["hostCode"]), (&json!("pcn"), &json!("U12345")));

    let q = r#"{ pcn(code: "U12345") { id code kind name icbCode
        practices { nodes { odsCode } }
        placements { nodes { staffRef hostType hostCode host { __typename ... on Pcn { code } } } }
        affiliations { kind memberCode parentCode startDate endDate current member { __typename code } } } }"#;
    let r = app.gql(Some(&admin), q, json!({})).await;
    assert!(r.body.get("errors").is_none(), "{}", r.text);
    let p = &r.body["data"]["pcn"];
    assert_eq!((&p["code"], &p["kind"], &p["name"]), (&json!("U12345"), &json!("PCN"), &json!("Meir PCN")));
    assert_eq!(p["practices"]["nodes"], json!([{"odsCode": "M83001"}]), "today's members only");
    assert_eq!(
        p["placements"]["nodes"],
        json!([{"staffRef": "PCN-SPLW-1", "hostType": "PCN", "hostCode": "U12345",
            "host": {"__typename": "Pcn", "code": "U12345"}}])
    );
    assert_eq!(
        p["affiliations"],
        json!([
            {"kind": "MEMBER_OF", "memberCode": "M83001", "parentCode": "U12345", "startDate": "2019-07-01",
             "endDate": null, "current": true, "member": {"__typename": "Practice", "code": "M83001"}},
            {"kind": "MEMBER_OF", "memberCode": "M83002", "parentCode": "U12345", "startDate": "2019-07-01",
             "endDate": "2024-03-31", "current": false, "member": {"__typename": "Practice", "code": "M83002"}},
        ])
    );

    // The interface lists every kind, each as its own type; `partOf` and `activeOn` read
    // membership on a day.
    let q = r#"query($f: OrganisationFilter) { organisations(filter: $f) { totalCount
        nodes { __typename code kind name ... on Practice { odsCode } ... on Pcn { icbCode } } } }"#;
    let all = app.gql(None, q, json!({})).await;
    assert!(all.body.get("errors").is_none(), "{}", all.text);
    let kinds: Vec<(&str, &str)> = all.body["data"]["organisations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["__typename"].as_str().unwrap(), n["code"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("Practice", "M83001"), ("Practice", "M83002"), ("Pcn", "U12345")]);
    let members = |day: &str| {
        let vars = json!({"f": {"partOf": "U12345", "activeOn": day}});
        let app = &app;
        async move {
            let r = app.gql(None, q, vars).await;
            assert!(r.body.get("errors").is_none(), "{}", r.text);
            let nodes = r.body["data"]["organisations"]["nodes"].as_array().unwrap().clone();
            nodes.iter().map(|n| n["odsCode"].as_str().unwrap().to_string()).collect::<Vec<_>>()
        }
    };
    assert_eq!(members("2024-03-31").await, ["M83001", "M83002"], "the last day of the ended membership");
    assert_eq!(members("2024-04-01").await, ["M83001"], "the day after it");
    let pcns = app.gql(None, q, json!({"f": {"kind": "PCN"}})).await;
    assert_eq!(pcns.body["data"]["organisations"]["totalCount"], 1);

    // A practice's affiliations and PCNs, upward.
    let q = r#"{ practice(odsCode: "M83002") { code kind
        pcns(activeOn: "2020-01-01") { code }
        now: pcns { code }
        affiliations { kind parentCode parent { __typename ... on Pcn { name } } } } }"#;
    let r = app.gql(None, q, json!({})).await;
    assert!(r.body.get("errors").is_none(), "{}", r.text);
    let pr = &r.body["data"]["practice"];
    assert_eq!((&pr["code"], &pr["kind"]), (&json!("M83002"), &json!("PRACTICE")));
    assert_eq!(pr["pcns"], json!([{"code": "U12345"}]));
    assert_eq!(pr["now"], json!([]));
    assert_eq!(
        pr["affiliations"],
        json!([{"kind": "MEMBER_OF", "parentCode": "U12345", "parent": {"__typename": "Pcn", "name": "Meir PCN"}}])
    );

    // `node(id:)` resolves the new types; `organisation(code:)` any kind.
    let id = p["id"].as_str().unwrap();
    let r = app
        .gql(None, "query($id: ID!) { node(id: $id) { __typename id ... on Pcn { code } } }", json!({"id": id}))
        .await;
    assert_eq!(r.body["data"]["node"], json!({"__typename": "Pcn", "id": id, "code": "U12345"}), "{}", r.text);
    let r = app
        .gql(
            None,
            r#"{ organisation(code: "u12345") { __typename code } missing: organisation(code: "U99999") { code } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        r.body["data"],
        json!({"organisation": {"__typename": "Pcn", "code": "U12345"}, "missing": null}),
        "{}",
        r.text
    );
}

/// A query of many aliases is refused whole before it reaches the database, and GraphQL runs
/// on a bounded share of the pool: under 16 concurrent worst-case GraphQL requests, REST
/// still has connections and answers within a second.
async fn graphql_cannot_starve_rest(app: TestApp) {
    for i in 0..120 {
        app.practice(&format!("M9{i:04}"), &format!("Practice {i}"), "ST3 7DY").await;
    }
    // The 697-alias query (32 KB, inside the size limit) that used to run 1,394 statements:
    // refused, none run.
    let aliases = |n: usize, field: &str| -> String { (0..n).map(|i| format!("a{i}: {field} ")).collect() };
    let count = "practices(first:1){totalCount}";
    let before = app.db().statements();
    let r = app.gql(None, &format!("{{ {} }}", aliases(697, count)), json!({})).await;
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED",
        "{}",
        &r.text[..r.text.len().min(300)]
    );
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("697 root fields"), "{}", r.text);
    assert!(r.body["data"].is_null());
    assert_eq!(app.db().statements(), before, "refused before any statement");
    // Fragments and inline fragments count too; `__typename` does not.
    let r = app
        .gql(
            None,
            &format!(
                "{{ ...F }} fragment F on Query {{ {} ... on Query {{ {} }} }}",
                aliases(15, count),
                aliases(6, "roles { totalCount }")
            ),
            json!({}),
        )
        .await;
    assert!(r.body["errors"][0]["message"].as_str().unwrap_or("").contains("21 root fields"), "{}", r.text);
    let r = app.gql(None, &format!("{{ __typename {} }}", aliases(20, count)), json!({})).await;
    assert!(r.body["errors"].is_null(), "20 is the limit: {}", r.text);

    // GraphQL holds at most its share of the pool (by default all but a quarter, at least
    // two); REST reads with the rest. Here the share is one connection, so that 16 requests
    // surely queue for it.
    let pool = app.db().max_connections() as usize;
    let default = pcr_api::graphql::GraphqlLimits::default();
    assert_eq!([8, 32, 2].map(|p| default.concurrency(p)), [6, 24, 1]);
    assert_eq!(app.state.graphql.limits().concurrency(pool), 6);
    let share = 1;
    let limits = pcr_api::graphql::GraphqlLimits { max_concurrent: Some(share), ..Default::default() };
    let mut app = app;
    app.state = pcr_api::AppState::new(app.db().clone(), app.state.auth.clone(), limits);
    let worst = format!(
        "{{ {} }}",
        aliases(20, "practices(first: 200, filter: {q: \"Practice\"}) { totalCount edges { node { odsCode name federations { code } pcns { code } } } }")
    );
    let heavy = futures_util::future::join_all((0..16).map(|_| app.gql(None, &worst, json!({}))));
    let busiest = std::cell::Cell::new(0u32);
    let done = std::cell::Cell::new(false);
    let watch = async {
        while !done.get() {
            let (open, idle) = app.db().pool_state();
            busiest.set(busiest.get().max(open - idle));
            actix_web::rt::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    };
    let rest = async {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(30)).await;
        let started = std::time::Instant::now();
        let r = app.get("/api/v1/roles").send().await;
        (r.status, started.elapsed())
    };
    let work = async {
        let out = futures_util::future::join(heavy, rest).await;
        done.set(true);
        out
    };
    let ((answers, (status, took)), ()) = futures_util::future::join(work, watch).await;
    assert_eq!(status, 200);
    assert!(took < std::time::Duration::from_secs(1), "REST answered in {took:?}");
    for a in &answers {
        match a.status {
            200 => assert!(a.body["errors"].is_null(), "{}", &a.text[..a.text.len().min(300)]),
            503 => {
                assert_eq!(a.body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE");
                assert_eq!(a.header("retry-after").as_deref(), Some("1"));
            }
            s => panic!("{s}: {}", a.text),
        }
    }
    assert!(answers.iter().any(|a| a.status == 200));
    assert!(busiest.get() as usize <= share + 1, "GraphQL took {} of {pool} connections", busiest.get());
}

/// When no connection comes free within the pool's wait (`DATABASE_POOL_TIMEOUT_MS`), REST
/// and GraphQL answer 503 with `Retry-After` at once, not after a long hang, and serve again
/// as soon as a connection is back.
async fn a_busy_pool_is_answered_at_once(mut app: TestApp) {
    let wait = std::time::Duration::from_millis(300);
    let db = pcr_schema::Db::open(&app.url, pcr_schema::DbOptions { pool_timeout: wait, ..crate::harness::options(1) })
        .unwrap();
    app.state = pcr_api::AppState::new(db.clone(), app.state.auth.clone(), Default::default());
    let held = db.pinned().unwrap();
    let started = std::time::Instant::now();
    let r = app.get("/api/v1/roles").send().await;
    r.problem(503, "unavailable");
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    let g = app.gql(None, "{ roles(first: 1) { totalCount } }", json!({})).await;
    assert_eq!((g.status, g.header("retry-after").as_deref()), (503, Some("1")), "{}", g.text);
    assert_eq!(g.body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE");
    assert!(started.elapsed() < wait * 6, "answered in {:?}", started.elapsed());
    drop(held);
    assert_eq!(app.get("/api/v1/roles").send().await.status, 200);
    assert!(app.gql(None, "{ roles(first: 1) { totalCount } }", json!({})).await.body["errors"].is_null());
}
