//! What a pool's connections did, counted with atomics for the service's metrics: SQL
//! statements and the time they took, and how long callers waited for a connection. The
//! data crate knows nothing of Prometheus; the service reads these at scrape time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Upper bounds, in seconds, of the pool-wait histogram's buckets (the last is +Inf). A
/// checkout is microseconds when a connection is idle; the pool timeout defaults to 3 s.
pub const ACQUIRE_BUCKETS: [f64; 10] = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

#[derive(Debug, Default)]
pub struct DbStats {
    statements: AtomicU64,
    statement_nanos: AtomicU64,
    acquires: AtomicU64,
    acquire_nanos: AtomicU64,
    acquire_failures: AtomicU64,
    /// Per bucket (not cumulative), plus one for +Inf.
    acquire_buckets: [AtomicU64; ACQUIRE_BUCKETS.len() + 1],
}

/// The pool-wait histogram as it stands: the count in each bucket by its upper bound (not
/// cumulative: Prometheus encoders add them up), `f64::MAX` standing for +Inf.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitHistogram {
    pub sum_seconds: f64,
    pub count: u64,
    pub buckets: Vec<(f64, u64)>,
}

impl DbStats {
    /// SQL statements started.
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Time spent in finished statements, in seconds.
    pub fn statement_seconds(&self) -> f64 {
        self.statement_nanos.load(Ordering::Relaxed) as f64 / 1e9
    }

    /// Checkouts that found no connection within the pool timeout.
    pub fn acquire_failures(&self) -> u64 {
        self.acquire_failures.load(Ordering::Relaxed)
    }

    pub fn acquire_wait(&self) -> WaitHistogram {
        let buckets = ACQUIRE_BUCKETS
            .iter()
            .copied()
            .chain(std::iter::once(f64::MAX))
            .zip(&self.acquire_buckets)
            .map(|(bound, n)| (bound, n.load(Ordering::Relaxed)))
            .collect();
        WaitHistogram {
            sum_seconds: self.acquire_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            count: self.acquires.load(Ordering::Relaxed),
            buckets,
        }
    }

    /// Records one checkout that waited `waited` and got a connection or (`ok` false) not.
    pub(crate) fn acquired(&self, waited: Duration, ok: bool) {
        if !ok {
            self.acquire_failures.fetch_add(1, Ordering::Relaxed);
        }
        let secs = waited.as_secs_f64();
        let bucket = ACQUIRE_BUCKETS.iter().position(|b| secs <= *b).unwrap_or(ACQUIRE_BUCKETS.len());
        self.acquire_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.acquires.fetch_add(1, Ordering::Relaxed);
        self.acquire_nanos.fetch_add(waited.as_nanos() as u64, Ordering::Relaxed);
    }
}

/// Diesel's instrumentation on each pooled connection: counts statements and times them
/// from `StartQuery` to `FinishQuery` (a connection runs one statement at a time).
/// It also notes when the connection was lost under a statement, so that the pool
/// discards it.
pub(crate) struct StatementTimer {
    stats: Arc<DbStats>,
    started: Option<Instant>,
    lost: bool,
}

impl StatementTimer {
    pub(crate) fn new(stats: Arc<DbStats>) -> StatementTimer {
        StatementTimer { stats, started: None, lost: false }
    }

    /// Whether a statement failed because the connection was lost.
    pub(crate) fn lost(&self) -> bool {
        self.lost
    }
}

impl diesel::connection::Instrumentation for StatementTimer {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        use diesel::connection::InstrumentationEvent;
        match event {
            InstrumentationEvent::StartQuery { .. } => {
                self.stats.statements.fetch_add(1, Ordering::Relaxed);
                self.started = Some(Instant::now());
            }
            InstrumentationEvent::FinishQuery { error, .. } => {
                if error.is_some_and(crate::error::connection_lost) {
                    self.lost = true;
                }
                if let Some(started) = self.started.take() {
                    self.stats.statement_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
                }
            }
            _ => {}
        }
    }
}
