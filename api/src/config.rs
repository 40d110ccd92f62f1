//! Configuration from flags and environment, shared by the sub-commands.

use clap::{Args, Parser, Subcommand};

use crate::auth::AuthConfig;

#[derive(Debug, Parser)]
#[command(name = "primary-care-api", version, about = "England's primary care workforce structure as a REST API")]
pub struct Cli {
    #[command(flatten)]
    pub db: DbArgs,
    /// How log lines are written: `json` (one object a line) or `pretty` (for people).
    /// Default: pretty when standard error is a terminal, else json.
    #[arg(long, env = "LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<crate::logging::LogFormat>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone)]
pub struct DbArgs {
    /// `postgres://…` for PostgreSQL, or an SQLite file path (optionally `sqlite://path`).
    #[arg(long, env = "DATABASE_URL", default_value = "primary-care.sqlite3", global = true)]
    pub database_url: String,
    /// Largest number of pooled database connections (default: four per core; more only
    /// makes the database's backends compete with the server for the same cores).
    #[arg(long, env = "DATABASE_POOL_SIZE", global = true)]
    pub pool_size: Option<u32>,
    /// How long a request waits for a pooled connection before it is answered 503 with
    /// `Retry-After`, in milliseconds.
    #[arg(long, env = "DATABASE_POOL_TIMEOUT_MS", default_value_t = 3000, global = true)]
    pub pool_timeout_ms: u64,
    /// The longest one SQL statement may run on PostgreSQL before it is cancelled and the
    /// request answered 503, in milliseconds (0: no limit).
    #[arg(long, env = "DATABASE_STATEMENT_TIMEOUT_MS", default_value_t = 10_000, global = true)]
    pub statement_timeout_ms: u64,
    /// `transaction` when PostgreSQL is reached through a pooler in transaction mode
    /// (PgBouncer's `pool_mode = transaction`), else `none`.
    #[arg(long, env = "DATABASE_POOLER", default_value = "none", value_parser = parse_pooler, global = true)]
    pub pooler: pcr_schema::Pooler,
}

fn parse_pooler(s: &str) -> Result<pcr_schema::Pooler, String> {
    pcr_schema::Pooler::parse(s.trim()).ok_or_else(|| {
        let all: Vec<&str> = pcr_schema::Pooler::ALL.iter().map(|p| p.as_str()).collect();
        format!("`{s}`: one of {}", all.join(", "))
    })
}

impl DbArgs {
    pub fn pool_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.pool_timeout_ms.max(1))
    }

    /// How to open the database, with `pool_size` connections.
    pub fn options(&self, pool_size: u32) -> pcr_schema::DbOptions {
        pcr_schema::DbOptions {
            pool_size,
            pool_timeout: self.pool_timeout(),
            statement_timeout: std::time::Duration::from_millis(self.statement_timeout_ms),
            pooler: self.pooler,
        }
    }

    pub fn pool_size(&self) -> u32 {
        self.pool_size.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) as u32;
            (cores * 4).clamp(4, 32)
        })
    }
}

#[derive(Debug, Args, Clone)]
pub struct AuthArgs {
    /// Partners' public keys (RS256, ES256) as a JWKS document, each with a `kid`. Read
    /// again when the file changes and on SIGHUP.
    #[arg(long, env = "JWT_JWKS_FILE")]
    pub jwt_jwks_file: Option<std::path::PathBuf>,
    /// How often to look for a changed JWKS file, in seconds (0: only on SIGHUP).
    #[arg(long, env = "JWT_JWKS_POLL_SECS", default_value_t = 5)]
    pub jwt_jwks_poll_secs: u64,
    /// HS256 secret for development tokens, at least 32 bytes. Without any key, no token
    /// verifies. Refused beside a JWKS unless JWT_ALLOW_HS256 is set.
    #[arg(long, env = "JWT_HS256_SECRET", hide_env_values = true)]
    pub jwt_hs256_secret: Option<String>,
    /// Accept HS256 tokens although a JWKS is configured.
    #[arg(long, env = "JWT_ALLOW_HS256")]
    pub jwt_allow_hs256: bool,
    /// Required `iss` claim, when set.
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Required `aud` claim, when set.
    #[arg(long, env = "JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// The longest a token may be valid for (from `iat` to `exp`), e.g. 3600, 15m, 24h.
    #[arg(long, env = "JWT_MAX_LIFETIME", default_value = "24h", value_parser = parse_ttl)]
    pub jwt_max_lifetime: u64,
}

impl Default for AuthArgs {
    /// What the flags default to.
    fn default() -> Self {
        AuthArgs {
            jwt_jwks_file: None,
            jwt_jwks_poll_secs: 5,
            jwt_hs256_secret: None,
            jwt_allow_hs256: false,
            jwt_issuer: None,
            jwt_audience: None,
            jwt_max_lifetime: crate::auth::DEFAULT_MAX_LIFETIME_SECS,
        }
    }
}

impl AuthArgs {
    /// The verifier these settings describe; a short HS256 secret or an unreadable JWKS file
    /// stops start-up.
    pub fn config(&self) -> Result<AuthConfig, String> {
        let jwks = self.jwt_jwks_file.as_deref().map(crate::auth::Jwks::load).transpose()?;
        let config = AuthConfig {
            hs256_secret: self.jwt_hs256_secret.as_ref().filter(|s| !s.is_empty()).map(|s| s.as_bytes().to_vec()),
            jwks,
            allow_hs256: self.jwt_allow_hs256,
            issuer: self.jwt_issuer.clone().filter(|s| !s.is_empty()),
            audience: self.jwt_audience.clone().filter(|s| !s.is_empty()),
            max_lifetime_secs: self.jwt_max_lifetime,
            ..Default::default()
        };
        config.check()?;
        Ok(config)
    }
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Load demo data into an empty database (default: yes on SQLite, no on PostgreSQL).
    #[arg(long, env = "DEMO_DATA")]
    pub demo: Option<bool>,
    /// Never load demo data.
    #[arg(long, conflicts_with = "demo")]
    pub no_demo: bool,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "WORKERS")]
    pub workers: Option<usize>,
    /// Origins browsers may call the API from, comma-separated (`https://host`, or `*` for
    /// any). Unset: no cross-origin access.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", default_value = "")]
    pub cors_allowed_origins: String,
    /// How long an `Idempotency-Key` is remembered, e.g. 3600, 30m, 24h, 7d.
    #[arg(long, env = "IDEMPOTENCY_TTL", default_value = "24h", value_parser = parse_ttl)]
    pub idempotency_ttl: u64,
    /// The largest batch of placements accepted, in bytes.
    #[arg(long, env = "BATCH_MAX_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub batch_max_bytes: usize,
    /// Requests a second one client address may send, sustained (0: no limit).
    #[arg(long, env = "RATE_LIMIT_PER_IP", default_value_t = 100)]
    pub rate_limit_per_ip: u32,
    /// Requests one client address may send at once, above the sustained rate.
    #[arg(long, env = "RATE_LIMIT_PER_IP_BURST", default_value_t = 200)]
    pub rate_limit_per_ip_burst: u32,
    /// Requests a second one token subject may send, sustained (0: no limit).
    #[arg(long, env = "RATE_LIMIT_PER_SUBJECT", default_value_t = 50)]
    pub rate_limit_per_subject: u32,
    /// Requests one token subject may send at once, above the sustained rate.
    #[arg(long, env = "RATE_LIMIT_PER_SUBJECT_BURST", default_value_t = 200)]
    pub rate_limit_per_subject_burst: u32,
    /// How long a client may take to send a request's headers (then 408).
    #[arg(long, env = "HTTP_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_ttl)]
    pub http_header_timeout: u64,
    /// How long a client may take to send a request's whole body (then 408).
    #[arg(long, env = "HTTP_BODY_TIMEOUT", default_value = "30s", value_parser = parse_ttl)]
    pub http_body_timeout: u64,
    /// How long a request may take to be answered (then 503 with `Retry-After`).
    #[arg(long, env = "REQUEST_DEADLINE", default_value = "30s", value_parser = parse_ttl)]
    pub request_deadline: u64,
    /// The body timeout and the deadline of a batch of placements, which may be large.
    #[arg(long, env = "BATCH_DEADLINE", default_value = "10m", value_parser = parse_ttl)]
    pub batch_deadline: u64,
    /// A bearer token `/metrics` requires (401 without it). Unset: no token is asked for.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Serve `/metrics` on this address of its own (e.g. `127.0.0.1:9090`) and not on
    /// BIND_ADDR. Unset: `/metrics` is on BIND_ADDR beside the API.
    #[arg(long, env = "METRICS_BIND_ADDR")]
    pub metrics_bind_addr: Option<String>,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub graphql: GraphqlArgs,
}

impl ServeArgs {
    pub fn timeouts(&self) -> crate::timeouts::Timeouts {
        use std::time::Duration;
        crate::timeouts::Timeouts {
            body: Duration::from_secs(self.http_body_timeout),
            deadline: Duration::from_secs(self.request_deadline),
            batch: Duration::from_secs(self.batch_deadline),
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct GraphqlArgs {
    /// Whether GraphQL introspection (and so the playground's schema explorer) is on.
    #[arg(long, env = "GRAPHQL_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphql_introspection: bool,
    /// Deepest data query accepted.
    #[arg(long, env = "GRAPHQL_MAX_DEPTH", default_value_t = 12)]
    pub graphql_max_depth: usize,
    /// Deepest introspection query accepted (the standard one nests 15 deep).
    #[arg(long, env = "GRAPHQL_MAX_INTROSPECTION_DEPTH", default_value_t = 20)]
    pub graphql_max_introspection_depth: usize,
    /// Highest query complexity accepted (a connection counts its page size times its fields).
    #[arg(long, env = "GRAPHQL_MAX_COMPLEXITY", default_value_t = 50_000)]
    pub graphql_max_complexity: usize,
    /// Largest query document accepted, in bytes.
    #[arg(long, env = "GRAPHQL_MAX_QUERY_BYTES", default_value_t = 32 * 1024)]
    pub graphql_max_query_bytes: usize,
    /// Most fields an operation may select at its root, aliases included.
    #[arg(long, env = "GRAPHQL_MAX_ROOT_FIELDS", default_value_t = 20)]
    pub graphql_max_root_fields: usize,
    /// Most `totalCount` fields one operation may select, aliases and fragments included:
    /// each runs a `COUNT` of its own.
    #[arg(long, env = "GRAPHQL_MAX_COUNTS", default_value_t = 50)]
    pub graphql_max_counts: usize,
    /// Most GraphQL requests running at once (each holds a database connection); default
    /// all but a quarter of the pool (at least two), which REST keeps.
    #[arg(long, env = "GRAPHQL_MAX_CONCURRENT")]
    pub graphql_max_concurrent: Option<usize>,
}

impl GraphqlArgs {
    pub fn limits(&self) -> crate::graphql::GraphqlLimits {
        crate::graphql::GraphqlLimits {
            max_depth: self.graphql_max_depth,
            max_introspection_depth: self.graphql_max_introspection_depth,
            max_complexity: self.graphql_max_complexity,
            max_query_bytes: self.graphql_max_query_bytes,
            max_root_fields: self.graphql_max_root_fields,
            max_counts: self.graphql_max_counts,
            max_concurrent: self.graphql_max_concurrent,
            introspection: self.graphql_introspection,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Import GP practices from an NHS ODS epraccur file (legacy or current layout).
    ImportOds {
        /// The epraccur CSV file.
        file: std::path::PathBuf,
        /// An epcmem CSV file of practice → commissioner memberships.
        #[arg(long)]
        memberships: Option<std::path::PathBuf>,
        /// Reject the whole file when any row is malformed (default: skip such rows).
        #[arg(long)]
        strict: bool,
    },
    /// Submit a file of placements (CSV, NDJSON or a JSON array, by its extension) for an
    /// organisation, as `POST /api/v1/placements/batch` would; prints the row report.
    ImportPlacements {
        /// The file: `.csv`, `.ndjson` (or `.jsonl`), or `.json`.
        file: std::path::PathBuf,
        /// The organisation the placements are submitted for (its scope applies).
        #[arg(long)]
        org: String,
        /// `atomic` (any bad row and nothing is written) or `partial`.
        #[arg(long, default_value = "atomic")]
        mode: String,
    },
    /// Mint a development token signed with JWT_HS256_SECRET.
    Token {
        /// Subject: the partner's identifier.
        #[arg(long)]
        sub: String,
        /// The organisation the partner acts for (ODS, federation or ICT code).
        #[arg(long)]
        org: Option<String>,
        /// Space-separated scopes.
        #[arg(long, default_value = "placements:read placements:write")]
        scope: String,
        /// Lifetime, e.g. 3600, 90s, 15m, 1h, 7d.
        #[arg(long, default_value = "1h")]
        ttl: String,
        #[command(flatten)]
        auth: AuthArgs,
    },
    /// Print the OpenAPI document.
    Openapi,
}

/// Parses `90`, `90s`, `15m`, `1h`, `7d` into seconds.
pub fn parse_ttl(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().map_err(|_| format!("`{s}` is not a duration like 3600, 15m, 1h or 7d"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{s}`: the unit must be s, m, h or d")),
    };
    n.checked_mul(mult).filter(|v| *v > 0).ok_or_else(|| format!("`{s}` is not a positive duration"))
}
