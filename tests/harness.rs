//! Starts the app on a fresh database — SQLite always, PostgreSQL when TEST_DATABASE_URL
//! is set — and drives it over its HTTP surface.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::test::{self, TestRequest};
use pcr_api::auth::AuthConfig;
use pcr_api::{app, AppState};
use pcr_schema::{Backend, Db};
use serde_json::Value;

pub const SECRET: &str = "test-secret-which-is-long-enough-for-hs256";

/// One test's app and database; the database is removed when it is dropped.
pub struct TestApp {
    pub state: AppState,
    pub backend: Backend,
    /// The database's URL (an SQLite path or a PostgreSQL URL).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(std::path::PathBuf),
    PgDatabase { admin_url: String, name: String },
}

impl Drop for TestApp {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::PgDatabase { admin_url, name } => {
                use diesel::{Connection, RunQueryDsl};
                if let Ok(mut c) = diesel::PgConnection::establish(admin_url) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut c);
                }
            }
        }
    }
}

/// How tests open a database: as the service would behind a transaction pooler when
/// TEST_DATABASE_POOLER says so (`.ci/run` runs the core of the suite through PgBouncer).
pub fn options(pool_size: u32) -> pcr_schema::DbOptions {
    let pooler = std::env::var("TEST_DATABASE_POOLER").ok().and_then(|p| pcr_schema::Pooler::parse(&p));
    pcr_schema::DbOptions {
        pooler: pooler.unwrap_or(pcr_schema::Pooler::None),
        ..pcr_schema::DbOptions::new(pool_size)
    }
}

/// Replaces the database name in a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{base}/{name}{query}")
}

impl TestApp {
    pub fn new(backend: Backend) -> TestApp {
        TestApp::prepared(backend, |_| {})
    }

    /// As [`TestApp::new`], with `prepare` run on the empty database's URL before the app
    /// opens (and migrates) it: to build the layout an earlier release left.
    pub fn prepared(backend: Backend, prepare: impl FnOnce(&str)) -> TestApp {
        let auth = AuthConfig { hs256_secret: Some(SECRET.as_bytes().to_vec()), ..Default::default() };
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("pcr-test-{id}.sqlite3"));
                (path.display().to_string(), Cleanup::SqliteFile(path))
            }
            Backend::Postgres => {
                use diesel::{Connection, RunQueryDsl};
                let admin_url =
                    std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL is set for PostgreSQL tests");
                let name = format!("pcr_test_{id}");
                let mut c = diesel::PgConnection::establish(&admin_url).expect("connect to TEST_DATABASE_URL");
                diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut c).expect("create test database");
                (with_database(&admin_url, &name), Cleanup::PgDatabase { admin_url, name })
            }
        };
        prepare(&url);
        let db = Db::open(&url, options(8)).expect("open and migrate the test database");
        let state = AppState::new(db, auth, pcr_api::graphql::GraphqlLimits::default());
        TestApp { state, backend, url, cleanup }
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    /// A token for `scope` (space-separated), acting for `org`.
    pub fn token(&self, scope: &str) -> String {
        self.state.auth.mint("test-partner", Some("NSGPF"), scope, 600).expect("mint")
    }

    /// A token with every scope, acting for no organisation in particular.
    pub fn admin(&self) -> String {
        self.token("admin")
    }

    /// A partner's token acting for `org`.
    pub fn partner(&self, org: &str, scope: &str) -> String {
        self.state.auth.mint(&format!("partner-of-{org}"), Some(org), scope, 600).expect("mint")
    }

    pub fn req(&self, method: Method, path: &str) -> Req<'_> {
        Req { app: self, inner: TestRequest::default().method(method).uri(path), token: None }
    }
    pub fn get(&self, path: &str) -> Req<'_> {
        self.req(Method::GET, path)
    }
    pub fn post(&self, path: &str) -> Req<'_> {
        self.req(Method::POST, path)
    }
    pub fn put(&self, path: &str) -> Req<'_> {
        self.req(Method::PUT, path)
    }
    pub fn patch(&self, path: &str) -> Req<'_> {
        self.req(Method::PATCH, path)
    }
    pub fn delete(&self, path: &str) -> Req<'_> {
        self.req(Method::DELETE, path)
    }

    /// Counts rows of a table straight from the database (to prove nothing was written).
    pub fn count(&self, table: &str) -> i64 {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut c = self.db().conn().expect("conn");
        let rows: Vec<N> =
            diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}")).load(&mut *c).expect("count");
        rows[0].n
    }

    /// The current ETag of a record, read over the API (with a token, so placements too).
    pub async fn etag_of(&self, path: &str) -> String {
        let r = self.get(path).bearer(&self.admin()).send().await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.text);
        r.etag()
    }

    /// Creates a practice through the API and returns its body.
    pub async fn practice(&self, ods: &str, name: &str, postcode: &str) -> Value {
        let r = self
            .post("/api/v1/practices")
            .bearer(&self.admin())
            .json(&serde_json::json!({"odsCode": ods, "name": name, "postcode": postcode}))
            .send()
            .await;
        assert_eq!(r.status, 201, "create practice {ods}: {}", r.body);
        r.body
    }
}

/// The ETag of a record at `version`, as the API writes it.
pub fn tag(version: i64, id: &str) -> String {
    format!("\"{version}.{id}\"")
}

pub struct Req<'a> {
    app: &'a TestApp,
    inner: TestRequest,
    token: Option<String>,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }
    pub fn etag(&self) -> String {
        self.header("etag").expect("an ETag header")
    }
    /// Asserts a problem response with this status and type.
    pub fn problem(&self, status: u16, kind: &str) -> &Self {
        assert_eq!(self.status, status, "expected {status}, got {}: {}", self.status, self.text);
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "problem media type for {}",
            self.text
        );
        assert_eq!(self.body["type"], format!("/problems/{kind}"), "problem type: {}", self.text);
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
        self
    }
    /// The fields named in a validation problem.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| a.iter().map(|e| e["field"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    }
}

impl Req<'_> {
    pub fn bearer(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.inner = self.inner.insert_header((
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        ));
        self
    }
    pub fn json(mut self, body: &Value) -> Self {
        self.inner = self.inner.insert_header(("content-type", "application/json")).set_payload(body.to_string());
        self
    }
    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.inner = self.inner.insert_header(("content-type", content_type)).set_payload(body.into());
        self
    }
    /// Adds a header beside any of the same name (to send one twice).
    pub fn append_header(mut self, name: &str, value: &str) -> Self {
        self.inner = self.inner.append_header((
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        ));
        self
    }
    /// As if sent from `addr` (the client's address, which the rate limits count by).
    pub fn sent_from(mut self, addr: &str) -> Self {
        self.inner = self.inner.peer_addr(addr.parse().expect("a socket address"));
        self
    }

    pub fn if_match(self, etag: &str) -> Self {
        self.header("if-match", etag)
    }
    pub async fn send(self) -> Resp {
        let mut inner = self.inner;
        if let Some(t) = self.token {
            inner = inner.insert_header(("authorization", format!("Bearer {t}")));
        }
        let svc = test::init_service(app(&self.app.state)).await;
        let res = test::call_service(&svc, inner.to_request()).await;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = test::read_body(res).await;
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp { status, headers, body, text, bytes: bytes.to_vec() }
    }
}

/// Runs one async test body against each backend: `sqlite` always, `postgres` when the
/// suite was built with TEST_DATABASE_URL set (otherwise listed as ignored).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                super::$name($crate::harness::TestApp::new(pcr_schema::Backend::Sqlite)).await
            }
            #[actix_web::test]
            #[cfg_attr(not(pg_tests), ignore = "PostgreSQL run skipped: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to enable")]
            async fn postgres() {
                super::$name($crate::harness::TestApp::new(pcr_schema::Backend::Postgres)).await
            }
        }
    )+};
}
