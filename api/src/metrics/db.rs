//! The database's figures, read at scrape time from the pool and from the counters its
//! connections keep (`pcr_schema::db_stats`): nothing is recorded twice.

use pcr_schema::Db;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

#[derive(Debug)]
pub struct DbCollector {
    db: Db,
}

impl DbCollector {
    pub fn new(db: Db) -> DbCollector {
        DbCollector { db }
    }
}

fn counter<N: prometheus_client::encoding::EncodeCounterValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: N,
) -> Result<(), std::fmt::Error> {
    let c = ConstCounter::new(value);
    c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> Result<(), std::fmt::Error> {
    let g = ConstGauge::new(value);
    g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)
}

impl Collector for DbCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.db.stats();
        // The names the hand-written exposition had (benchmarks read `db_statements_total`).
        counter(&mut encoder, "db_statements", "SQL statements executed by this process", stats.statements())?;
        counter(
            &mut encoder,
            "db_statement_seconds",
            "Time spent in SQL statements, in seconds",
            stats.statement_seconds(),
        )?;
        let (open, idle) = self.db.pool_state();
        gauge(&mut encoder, "db_pool_connections", "Open database connections", open.into())?;
        gauge(&mut encoder, "db_pool_idle_connections", "Idle database connections", idle.into())?;
        gauge(
            &mut encoder,
            "db_pool_max_connections",
            "The most connections the pool opens",
            self.db.max_connections().into(),
        )?;
        let wait = stats.acquire_wait();
        let mut histogram = encoder.encode_descriptor(
            "db_pool_acquire_duration_seconds",
            "Time waited for a pooled connection",
            None,
            MetricType::Histogram,
        )?;
        histogram.encode_histogram::<NoLabelSet>(wait.sum_seconds, wait.count, &wait.buckets, None)?;
        counter(
            &mut encoder,
            "db_pool_acquire_failures",
            "Waits for a pooled connection that ended without one (pool timeout)",
            stats.acquire_failures(),
        )
    }
}
