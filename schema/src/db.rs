//! The one connection type for both backends, its pool and the embedded migrations.

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use crate::db_stats::{DbStats, StatementTimer};
use crate::error::DomainError;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type DbPool = Pool<Manager>;
pub type PooledConn = PooledConnection<Manager>;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// Loads a query that either backend's own connection can take as it is (a query whose type
/// is not boxed for the multi-backend connection). The multi-backend connection renders a
/// query's SQL text several times on every run; a backend's own connection keeps a
/// statically typed query prepared by its type and renders nothing.
pub fn load_direct<'q, Q, U>(conn: &mut DbConnection, query: Q) -> diesel::QueryResult<Vec<U>>
where
    Q: diesel::query_dsl::LoadQuery<'q, diesel::PgConnection, U>
        + diesel::query_dsl::LoadQuery<'q, diesel::SqliteConnection, U>,
{
    match conn {
        DbConnection::Pg(c) => query.load(c),
        DbConnection::Sqlite(c) => query.load(c),
    }
}

/// Most bind parameters one statement may carry, per backend.
pub const SQLITE_MAX_BINDS: usize = 32_766;
pub const PG_MAX_BINDS: usize = 65_535;

/// Inserts `rows` with as few statements as the bind-parameter limits allow (`columns` per
/// row). Multi-row inserts do not compile through the multi-backend connection, hence the
/// branch.
#[macro_export]
macro_rules! insert_chunked {
    ($conn:expr, $table:expr, $rows:expr, $columns:expr) => {{
        let mut n = 0usize;
        match $conn {
            $crate::db::DbConnection::Pg(c) => {
                for chunk in $rows.chunks($crate::db::PG_MAX_BINDS / $columns) {
                    n += diesel::insert_into($table).values(chunk).execute(c)?;
                }
            }
            $crate::db::DbConnection::Sqlite(c) => {
                for chunk in $rows.chunks($crate::db::SQLITE_MAX_BINDS / $columns) {
                    n += diesel::insert_into($table).values(chunk).execute(c)?;
                }
            }
        }
        n
    }};
}

/// PostgreSQL advisory lock key held while migrating ("pcr-migr" in ASCII).
const MIGRATION_LOCK: i64 = 0x7063_722d_6d69_6772;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgresql",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// The pool's manager: diesel's, except that a connection lost under a statement (the
/// database restarted, the network dropped) is discarded when it comes back to the pool,
/// so the pool heals once the database is back. diesel counts a connection broken only when
/// its transaction state is, which a failed read outside a transaction leaves intact.
#[derive(Debug)]
pub struct Manager(ConnectionManager<DbConnection>);

impl diesel::r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.0.connect()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        self.0.is_valid(conn)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::Connection;
        let lost = conn.instrumentation().downcast_ref::<StatementTimer>().is_some_and(StatementTimer::lost);
        lost || self.0.has_broken(conn)
    }
}

crate::text_enum! {
    /// What sits between the service and PostgreSQL.
    Pooler {
        #[doc = "Nothing: each pooled connection is a PostgreSQL session of its own, which keeps its prepared statements and settings."] None = "none",
        #[doc = "A pooler in transaction mode (PgBouncer's `pool_mode = transaction`): a session lasts one transaction, so nothing is prepared by name and nothing is set for the session."] Transaction = "transaction",
    }
}

/// How to open the database.
#[derive(Debug, Clone, Copy)]
pub struct DbOptions {
    pub pool_size: u32,
    /// How long a request waits for a pooled connection.
    pub pool_timeout: Duration,
    /// The longest one SQL statement may run on PostgreSQL; none when zero.
    pub statement_timeout: Duration,
    pub pooler: Pooler,
}

/// How long one PostgreSQL statement may run by default: well inside a request's deadline.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

impl DbOptions {
    pub fn new(pool_size: u32) -> DbOptions {
        DbOptions {
            pool_size,
            pool_timeout: DEFAULT_POOL_TIMEOUT,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            pooler: Pooler::None,
        }
    }

    /// `SET [LOCAL] statement_timeout …`, if there is one.
    fn statement_timeout_sql(&self, scope: &str) -> Option<String> {
        let ms = self.statement_timeout.as_millis();
        (ms > 0).then(|| format!("SET {scope}statement_timeout = {ms}"))
    }
}

/// Per-connection set-up: statement counting and timing on both backends; on SQLite,
/// foreign keys (off by default there) and waiting for a busy writer rather than failing at once.
#[derive(Debug)]
struct ConnectionSetup {
    stats: Arc<DbStats>,
    options: DbOptions,
}

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        use diesel::Connection;
        match conn {
            DbConnection::Sqlite(c) => {
                c.batch_execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;")
                    .map_err(diesel::r2d2::Error::QueryError)?;
            }
            // Every statement here is an indexed lookup or a keyset page over small tables,
            // prepared once per connection. PostgreSQL would otherwise re-plan most of them on
            // every execution (its cost model prefers custom plans for `= ANY($1)` and
            // `LIMIT $n`), and planning was the largest part of its CPU per GraphQL request.
            DbConnection::Pg(c) if self.options.pooler == Pooler::None => {
                let timeout = self.options.statement_timeout_sql("").map(|t| format!("; {t}")).unwrap_or_default();
                c.batch_execute(&format!("SET plan_cache_mode = force_generic_plan{timeout}"))
                    .map_err(diesel::r2d2::Error::QueryError)?;
            }
            // Behind a transaction pooler the next transaction may run on another server
            // session: statements go unnamed (prepared and run in one round trip) and the
            // statement timeout is set inside each write transaction (reads take the role's
            // or PgBouncer's: see the README).
            DbConnection::Pg(c) => c.set_prepared_statement_cache_size(diesel::connection::CacheSize::Disabled),
        }
        // Set after the set-up statements, so the counter sees only the application's.
        conn.set_instrumentation(StatementTimer::new(self.stats.clone()));
        Ok(())
    }
}

/// The database handle the service holds: a pool plus what differs by backend.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    backend: Backend,
    /// SQLite allows one writer; serialising writes in-process means a read-then-write
    /// transaction never meets a concurrent commit (SQLITE_BUSY_SNAPSHOT). PostgreSQL needs no lock.
    write_lock: Option<Arc<Mutex<()>>>,
    /// What this pool's connections did since it opened (statements, waits for a connection).
    stats: Arc<DbStats>,
    /// A connection held for the life of this handle (see [`Db::pinned`]).
    pinned: Option<Arc<Mutex<PooledConn>>>,
    options: DbOptions,
}

/// A connection lent by [`Db::conn`]: from the pool, or the handle's pinned one.
pub enum Conn<'a> {
    Pooled(PooledConn),
    Pinned(MutexGuard<'a, PooledConn>),
}

impl std::ops::Deref for Conn<'_> {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Pinned(c) => c,
        }
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut DbConnection {
        match self {
            Conn::Pooled(c) => &mut *c,
            Conn::Pinned(c) => &mut *c,
        }
    }
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("backend", &self.backend).finish()
    }
}

/// How long a request waits for a pooled connection by default.
pub const DEFAULT_POOL_TIMEOUT: Duration = Duration::from_secs(3);

impl Db {
    /// Opens the pool and applies pending migrations.
    pub fn connect(url: &str, max_size: u32) -> Result<Db, DomainError> {
        Db::connect_with(url, max_size, DEFAULT_POOL_TIMEOUT)
    }

    /// As [`Db::connect`], waiting at most `timeout` for a pooled connection: a request
    /// that cannot have one soon is better told to come back (503) than kept waiting.
    pub fn connect_with(url: &str, max_size: u32, timeout: Duration) -> Result<Db, DomainError> {
        Db::open(url, DbOptions { pool_timeout: timeout, ..DbOptions::new(max_size) })
    }

    /// Opens the pool as `options` say and applies pending migrations.
    pub fn open(url: &str, options: DbOptions) -> Result<Db, DomainError> {
        let backend = Backend::of_url(url);
        let conn_url = match backend {
            Backend::Postgres => url.to_string(),
            Backend::Sqlite => url.strip_prefix("sqlite://").unwrap_or(url).to_string(),
        };
        if backend == Backend::Sqlite {
            // WAL lets readers run beside the writer; it is a property of the file, set once.
            use diesel::Connection;
            let mut c = diesel::SqliteConnection::establish(&conn_url)
                .map_err(|e| DomainError::Unavailable(format!("cannot open {conn_url}: {e}")))?;
            c.batch_execute("PRAGMA journal_mode = WAL;")?;
        }
        let manager = ConnectionManager::<DbConnection>::new(conn_url);
        let stats = Arc::new(DbStats::default());
        let pool = Pool::builder()
            .max_size(options.pool_size)
            .connection_timeout(options.pool_timeout)
            // A broken connection is dropped when a query on it fails; a probe query on
            // every checkout would add a round trip to every request.
            .test_on_check_out(false)
            .connection_customizer(Box::new(ConnectionSetup { stats: stats.clone(), options }))
            .build(Manager(manager))
            .map_err(|e| DomainError::Unavailable(format!("cannot connect to the database: {e}")))?;
        let db = Db {
            pool,
            backend,
            write_lock: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
            stats,
            pinned: None,
            options,
        };
        db.migrate()?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// SQL statements executed through this pool so far.
    pub fn statements(&self) -> u64 {
        self.stats.statements()
    }

    /// Statements, their time and the waits for connections, for the service's metrics.
    pub fn stats(&self) -> &DbStats {
        &self.stats
    }

    /// The most connections the pool opens.
    pub fn max_connections(&self) -> u32 {
        self.pool.max_size()
    }

    /// Pool state: (connections open, of which idle).
    pub fn pool_state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections)
    }

    /// A connection: the pinned one when this handle has it and it is free, else one from
    /// the pool (so a nested use never waits for itself).
    pub fn conn(&self) -> Result<Conn<'_>, DomainError> {
        if let Some(pinned) = &self.pinned {
            match pinned.try_lock() {
                Ok(guard) => return Ok(Conn::Pinned(guard)),
                Err(TryLockError::Poisoned(p)) => return Ok(Conn::Pinned(p.into_inner())),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        self.checkout().map(Conn::Pooled)
    }

    /// A connection from the pool, the wait timed: every checkout comes through here.
    fn checkout(&self) -> Result<PooledConn, DomainError> {
        let start = Instant::now();
        let conn = self.pool.get();
        self.stats.acquired(start.elapsed(), conn.is_ok());
        conn.map_err(|e| DomainError::Unavailable(format!("no database connection: {e}")))
    }

    /// A handle that runs everything on one connection taken from the pool now and given
    /// back when the handle and its clones are dropped. A GraphQL request uses one for all
    /// its statements: one checkout instead of one per statement. Call it from a thread
    /// that may block.
    pub fn pinned(&self) -> Result<Db, DomainError> {
        let conn = self.checkout()?;
        Ok(Db { pinned: Some(Arc::new(Mutex::new(conn))), ..self.clone() })
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> Result<usize, DomainError> {
        let mut conn = self.conn()?;
        let applied = match &mut *conn {
            DbConnection::Pg(c) => {
                // Replicas starting together must not migrate at the same time: the first
                // holds the lock and migrates, the others wait and then find nothing to do.
                // The lock is the transaction's, not the session's, so that it holds behind a
                // transaction pooler too; each migration runs in a savepoint of it.
                use diesel::Connection;
                c.transaction(|c| {
                    c.batch_execute(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))?;
                    c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len())
                })
            }
            DbConnection::Sqlite(c) => sqlite_migrations(c),
        }
        .map_err(|e| DomainError::Unavailable(format!("migration failed: {e}")))?;
        Ok(applied)
    }

    /// Applies only the first `n` migrations to the empty database at `url`: the layout an
    /// earlier release left, for tests of the upgrade path.
    pub fn migrate_first(url: &str, n: usize) -> Result<(), DomainError> {
        use diesel::Connection;
        let fail = |e: String| DomainError::Unavailable(format!("migration failed: {e}"));
        match Backend::of_url(url) {
            Backend::Postgres => {
                let mut c = diesel::PgConnection::establish(url).map_err(|e| fail(e.to_string()))?;
                for _ in 0..n {
                    c.run_next_migration(PG_MIGRATIONS).map_err(|e| fail(e.to_string()))?;
                }
            }
            Backend::Sqlite => {
                let path = url.strip_prefix("sqlite://").unwrap_or(url);
                let mut c = diesel::SqliteConnection::establish(path).map_err(|e| fail(e.to_string()))?;
                for _ in 0..n {
                    c.run_next_migration(SQLITE_MIGRATIONS).map_err(|e| fail(e.to_string()))?;
                }
            }
        }
        Ok(())
    }

    /// Runs `f` on one connection (this handle's pinned one when it has one), outside any
    /// transaction: each statement sees the data committed when it starts.
    pub fn read<T>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T, DomainError>) -> Result<T, DomainError> {
        let mut conn = self.conn()?;
        f(&mut conn)
    }

    /// Loads `query` on one connection, through [`load_direct`].
    pub fn load_direct<'q, Q, U>(&self, query: Q) -> Result<Vec<U>, DomainError>
    where
        Q: diesel::query_dsl::LoadQuery<'q, diesel::PgConnection, U>
            + diesel::query_dsl::LoadQuery<'q, diesel::SqliteConnection, U>,
    {
        self.read(|c| Ok(load_direct(c, query)?))
    }

    /// Runs `f` in one write transaction: everything it writes, audit rows included,
    /// commits together or not at all.
    pub fn write<T>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T, DomainError>) -> Result<T, DomainError> {
        use diesel::Connection;
        let mut conn = self.conn()?;
        let _guard = self.write_lock.as_ref().map(|lock| lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        let conn: &mut DbConnection = &mut conn;
        let local_timeout = match (&*conn, self.options.pooler) {
            (DbConnection::Pg(_), Pooler::Transaction) => self.options.statement_timeout_sql("LOCAL "),
            _ => None,
        };
        conn.transaction(|c| {
            if let Some(sql) = local_timeout {
                c.batch_execute(&sql)?;
            }
            f(c)
        })
    }

    /// Refreshes the planner's statistics, after a bulk load. Without them PostgreSQL
    /// guesses table sizes (a 28-row catalogue planned as 330 rows) and picks heavier plans
    /// until autovacuum gets round to small tables, which can be never.
    pub fn analyze(&self) -> Result<(), DomainError> {
        let mut conn = self.conn()?;
        conn.batch_execute("ANALYZE")?;
        Ok(())
    }

    /// Checks the database answers (for readiness probes).
    pub fn ping(&self) -> Result<(), DomainError> {
        let mut conn = self.conn()?;
        conn.batch_execute("SELECT 1")?;
        Ok(())
    }
}

/// SQLite's pending migrations, one at a time. Earlier releases shipped migration 4 with and
/// without `placement_records.host_unit`, and migration 5 with and without the registration
/// columns, so databases of each exist; just before migration 7 the columns are added where
/// they are missing (SQLite has no `ADD COLUMN IF NOT EXISTS`).
fn sqlite_migrations(c: &mut diesel::SqliteConnection) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let pending: Vec<String> = c.pending_migrations(SQLITE_MIGRATIONS)?.iter().map(|m| m.name().to_string()).collect();
    for name in &pending {
        if name.starts_with("2026-12-05-000007") {
            add_placement_columns_if_missing(c)?;
        }
        c.run_next_migration(SQLITE_MIGRATIONS)?;
    }
    Ok(pending.len())
}

/// The columns migration 7 needs on `placement_records`, as PostgreSQL's migration adds them.
const PLACEMENT_COLUMNS: &[(&str, &str)] = &[
    ("host_unit", "TEXT CHECK (host_unit IS NULL OR length(host_unit) BETWEEN 1 AND 200)"),
    ("registration_body", "TEXT CHECK (registration_body IN ('gmc', 'nmc', 'gphc', 'hcpc'))"),
    ("registration_number", "TEXT CHECK (registration_number IS NULL OR length(registration_number) BETWEEN 5 AND 12)"),
];

fn add_placement_columns_if_missing(c: &mut diesel::SqliteConnection) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let columns: Vec<Column> = diesel::sql_query("SELECT name FROM pragma_table_info('placement_records')").load(c)?;
    if columns.is_empty() {
        return Ok(());
    }
    for (name, definition) in PLACEMENT_COLUMNS {
        if !columns.iter().any(|col| col.name == *name) {
            diesel::sql_query(format!("ALTER TABLE placement_records ADD COLUMN {name} {definition}")).execute(c)?;
        }
    }
    Ok(())
}
