//! `primary-care-api`: serve (default), migrate, import-ods, token, openapi.

use std::process::ExitCode;

use actix_web::HttpServer;
use clap::Parser;
use pcr_api::config::{parse_ttl, Cli, Command, ServeArgs};
use pcr_api::{app, AppState};
use pcr_schema::{Backend, Db};

// Many small allocations cross threads (libpq buffers, rows, JSON); glibc's allocator spent
// about 15% of the server's CPU on them in the GraphQL benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    pcr_api::logging::init(cli.log_format);
    let result = match cli.command {
        None => serve(&cli.db, ServeArgs::parse_default()),
        Some(Command::Serve(args)) => serve(&cli.db, args),
        Some(Command::Migrate) => Db::open(&cli.db.database_url, cli.db.options(1))
            .map(|_| println!("migrations applied to {}", Backend::of_url(&cli.db.database_url).name()))
            .map_err(|e| e.to_string()),
        Some(Command::ImportOds { file, memberships, strict }) => {
            import_ods(&cli.db, &file, memberships.as_deref(), strict)
        }
        Some(Command::ImportPlacements { file, org, mode }) => import_placements(&cli.db, &file, &org, &mode),
        Some(Command::Token { sub, org, scope, ttl, auth }) => parse_ttl(&ttl).and_then(|secs| {
            let auth = auth.config()?;
            if secs > auth.max_lifetime_secs {
                return Err(format!(
                    "--ttl is longer than JWT_MAX_LIFETIME ({} s): the token would be refused",
                    auth.max_lifetime_secs
                ));
            }
            auth.mint(&sub, org.as_deref(), &scope, secs).map(|t| println!("{t}")).map_err(|e| e.to_string())
        }),
        Some(Command::Openapi) => {
            println!("{}", pcr_api::openapi::document());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

trait ParseDefault {
    fn parse_default() -> Self;
}

impl ParseDefault for ServeArgs {
    /// `serve` with no flags, still reading the environment.
    fn parse_default() -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            args: ServeArgs,
        }
        Only::parse_from(["primary-care-api"]).args
    }
}

fn import_ods(
    db: &pcr_api::config::DbArgs,
    file: &std::path::Path,
    memberships: Option<&std::path::Path>,
    strict: bool,
) -> Result<(), String> {
    let db = Db::open(&db.database_url, db.options(2)).map_err(|e| e.to_string())?;
    let opts = pcr_schema::ods::ImportOptions { strict, actor: "import-ods".to_string() };
    let report = pcr_schema::ods::import(&db, file, memberships, &opts).map_err(|e| e.to_string())?;
    println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    Ok(())
}

fn import_placements(
    db: &pcr_api::config::DbArgs,
    file: &std::path::Path,
    org: &str,
    mode: &str,
) -> Result<(), String> {
    let mode = pcr_schema::domain::batch::BatchMode::parse(mode)
        .ok_or_else(|| format!("--mode is `{mode}`: atomic or partial"))?;
    let db = Db::open(&db.database_url, db.options(2)).map_err(|e| e.to_string())?;
    let report = pcr_api::batch::import_file(&db, file, org, mode)?;
    println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    match report.committed {
        true => Ok(()),
        false => Err(format!("{} rows were rejected; nothing was written", report.rejected)),
    }
}

fn serve(db_args: &pcr_api::config::DbArgs, args: ServeArgs) -> Result<(), String> {
    let backend = Backend::of_url(&db_args.database_url);
    let db = Db::open(&db_args.database_url, db_args.options(db_args.pool_size())).map_err(|e| e.to_string())?;
    // Demo data: on by default for the embedded SQLite database, never on PostgreSQL unless asked.
    let demo = !args.no_demo && args.demo.unwrap_or(backend == Backend::Sqlite);
    if demo {
        match pcr_schema::demo::load_if_empty(&db) {
            Ok(Some(summary)) => tracing::info!(%summary, "demo data loaded"),
            Ok(None) => tracing::info!("database already has data; demo data not loaded"),
            Err(e) => return Err(format!("loading demo data failed: {e}")),
        }
    }
    let auth = args.auth.config()?;
    if !auth.has_keys() {
        tracing::warn!(
            "no JWT key configured (JWT_JWKS_FILE, JWT_HS256_SECRET): reads of reference data work, every write is refused"
        );
    }
    let jwks = auth.jwks.clone();
    if let (Some(jwks), secs @ 1..) = (&jwks, args.auth.jwt_jwks_poll_secs) {
        jwks.watch(std::time::Duration::from_secs(secs));
    }
    let cors = pcr_api::http::cors::CorsConfig::parse(&args.cors_allowed_origins)?;
    if cors.enabled() {
        tracing::info!(origins = %cors.origins.join(", "), "CORS on");
    }
    let mut state = AppState::new(db, auth, args.graphql.limits()).with_cors(cors);
    state.idempotency.ttl = std::time::Duration::from_secs(args.idempotency_ttl);
    state.batch.max_bytes = args.batch_max_bytes;
    state.timeouts = args.timeouts();
    state.rate_limits = pcr_api::rate_limits::RateLimits::new(
        pcr_api::rate_limits::Rate { per_second: args.rate_limit_per_ip, burst: args.rate_limit_per_ip_burst },
        pcr_api::rate_limits::Rate {
            per_second: args.rate_limit_per_subject,
            burst: args.rate_limit_per_subject_burst,
        },
    );
    state.metrics_access = pcr_api::metrics::endpoint::MetricsAccess::new(args.metrics_token.as_deref());
    state.serves_metrics = args.metrics_bind_addr.is_none();
    let bind = args.bind.clone();
    let workers = args.workers.map(|w| w.max(1));
    let blocking = blocking_threads(db_args.pool_size(), workers);
    let header_timeout = std::time::Duration::from_secs(args.http_header_timeout);
    actix_web::rt::System::new().block_on(async move {
        // `/metrics` on a listener of its own: one worker is plenty for a scraper.
        let metrics_server = match &args.metrics_bind_addr {
            None => None,
            Some(addr) => {
                let state = state.clone();
                let server = HttpServer::new(move || pcr_api::metrics_app(&state))
                    .workers(1)
                    .bind(addr)
                    .map_err(|e| format!("cannot listen on {addr} for /metrics: {e}"))?;
                tracing::info!("serving /metrics on http://{addr}/metrics");
                Some(server.run())
            }
        };
        let mut server = HttpServer::new(move || app(&state))
            .shutdown_timeout(20)
            .client_request_timeout(header_timeout)
            .worker_max_blocking_threads(blocking);
        if let Some(w) = workers {
            server = server.workers(w);
        }
        let server = server.bind(&bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        if let Some(jwks) = jwks {
            reload_on_hangup(jwks);
        }
        tracing::info!(
            "serving on http://{bind} ({}): REST /api/v1, Swagger UI http://{bind}/docs/, OpenAPI http://{bind}/api-docs/openapi.json, GraphQL playground http://{bind}/graphql",
            backend.name()
        );
        // actix-web stops gracefully on SIGTERM, SIGINT and Ctrl-C (each server on its own).
        match metrics_server {
            None => server.run().await,
            Some(metrics) => futures_util::future::try_join(server.run(), metrics).await.map(|_| ()),
        }
        .map_err(|e| e.to_string())
    })
}

/// Blocking threads per HTTP worker: the pool's connections shared out, and one more (for a
/// request that blocks without the database, or a long batch). Each request's database work
/// runs on one of them; beyond the pool's size a thread can only wait for a connection, and
/// actix's default (512 shared among the workers) let 64 concurrent requests start 100
/// threads, each with its own allocator heap: twice the resident memory, and CPU spent
/// faulting fresh pages in. Requests past the threads queue, as they did for a connection.
fn blocking_threads(pool_size: u32, workers: Option<usize>) -> usize {
    let workers = workers.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).max(1);
    (pool_size as usize).div_ceil(workers) + 1
}

/// Reads the partners' key file again on every SIGHUP.
fn reload_on_hangup(jwks: pcr_api::auth::Jwks) {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::hangup()) {
        Ok(mut hangups) => {
            actix_web::rt::spawn(async move {
                while hangups.recv().await.is_some() {
                    jwks.reload_logged("SIGHUP");
                }
            });
        }
        Err(e) => tracing::error!("cannot listen for SIGHUP; the key file is still polled: {e}"),
    }
}
