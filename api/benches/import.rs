//! ODS import benchmark: the full 2019 `epraccur` (14,303 rows) and `epcmem` (47,822 rows)
//! into a fresh database, then the same files again (a no-op), three times per backend.
//!
//! `cargo bench -p primary-care-api --bench import`
//!
//! SQLite always; PostgreSQL too when `BENCH_DATABASE_URL` or `TEST_DATABASE_URL` is set. The
//! scratch PostgreSQL databases are created and dropped with `psql`, since this crate does not
//! talk to the database below the data layer.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pcr_schema::ods::{import, ImportOptions, ImportReport};
use pcr_schema::Db;

const EPRACCUR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/data/ods/epraccur-2019.csv");
const EPCMEM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/data/ods/epcmem-2019.csv");
const RUNS: usize = 3;

type BenchResult<T> = Result<T, Box<dyn Error>>;

/// One fresh database, removed again by `drop_scratch`.
enum Scratch {
    Sqlite(PathBuf),
    Postgres { admin_url: String, database: String },
}

impl Scratch {
    fn create(admin_url: Option<&str>) -> BenchResult<(Scratch, String)> {
        let name = format!("pcr_bench_{}", uuid::Uuid::new_v4().simple());
        match admin_url {
            None => {
                let path = std::env::temp_dir().join(format!("{name}.sqlite3"));
                let url = path.to_string_lossy().into_owned();
                Ok((Scratch::Sqlite(path), url))
            }
            Some(admin_url) => {
                psql(admin_url, &format!("CREATE DATABASE \"{name}\""))?;
                let url = with_database(admin_url, &name);
                Ok((Scratch::Postgres { admin_url: admin_url.to_string(), database: name }, url))
            }
        }
    }

    fn drop_scratch(self) {
        match self {
            Scratch::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Scratch::Postgres { admin_url, database } => {
                if let Err(e) = psql(&admin_url, &format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)")) {
                    eprintln!("could not drop {database}: {e}");
                }
            }
        }
    }
}

fn psql(url: &str, sql: &str) -> BenchResult<()> {
    let out = Command::new("psql").arg(url).arg("-qAtc").arg(sql).output()?;
    if !out.status.success() {
        return Err(format!("psql: {}", String::from_utf8_lossy(&out.stderr).trim()).into());
    }
    Ok(())
}

/// `url` with its database name replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let host_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[host_start..].find('/') {
        Some(i) => &base[..host_start + i],
        None => base,
    };
    format!("{base}/{database}{query}")
}

struct Run {
    first: Duration,
    again: Duration,
    report: ImportReport,
}

fn one_run(admin_url: Option<&str>) -> BenchResult<Run> {
    let (scratch, url) = Scratch::create(admin_url)?;
    // Run inside a closure so the scratch database is dropped whatever happens.
    let result = (|| -> BenchResult<Run> {
        let db = Db::connect(&url, 4)?;
        let opts = ImportOptions { strict: true, actor: "bench".to_string() };
        let started = Instant::now();
        let report = import(&db, Path::new(EPRACCUR), Some(Path::new(EPCMEM)), &opts)?;
        let first = started.elapsed();
        let started = Instant::now();
        let second = import(&db, Path::new(EPRACCUR), Some(Path::new(EPCMEM)), &opts)?;
        let again = started.elapsed();
        if second.inserted + second.updated + second.memberships_inserted + second.memberships_updated != 0 {
            return Err("the second import changed data; it must be a no-op".into());
        }
        Ok(Run { first, again, report })
    })();
    scratch.drop_scratch();
    result
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn bench(label: &str, admin_url: Option<&str>) -> BenchResult<()> {
    let mut runs = Vec::new();
    for i in 1..=RUNS {
        let run = one_run(admin_url)?;
        println!(
            "{label:<10} run {i}: first import {:>8.1} ms   no-op re-import {:>8.1} ms",
            run.first.as_secs_f64() * 1e3,
            run.again.as_secs_f64() * 1e3
        );
        runs.push(run);
    }
    let Some(r) = runs.first().map(|r| &r.report) else {
        return Ok(());
    };
    let rows = (r.rows_read + r.membership_rows_read) as f64;
    let first = median(runs.iter().map(|r| r.first).collect());
    let again = median(runs.iter().map(|r| r.again).collect());
    println!(
        "{label:<10} median of {RUNS}: first {:.3} s ({:.0} rows/s), no-op {:.3} s ({:.0} rows/s)",
        first.as_secs_f64(),
        rows / first.as_secs_f64(),
        again.as_secs_f64(),
        rows / again.as_secs_f64()
    );
    println!(
        "{label:<10} {} rows read ({} practice rows, {} membership rows): {} practices inserted, {} memberships inserted\n",
        r.rows_read + r.membership_rows_read,
        r.rows_read,
        r.membership_rows_read,
        r.inserted,
        r.memberships_inserted
    );
    Ok(())
}

fn main() -> BenchResult<()> {
    if !Path::new(EPRACCUR).exists() || !Path::new(EPCMEM).exists() {
        println!("skipped: the ODS files are not at {EPRACCUR} and {EPCMEM}");
        return Ok(());
    }
    bench("sqlite", None)?;
    let pg = ["BENCH_DATABASE_URL", "TEST_DATABASE_URL"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()));
    match pg {
        Some(url) => bench("postgresql", Some(url.trim()))?,
        None => println!("postgresql: skipped (set BENCH_DATABASE_URL or TEST_DATABASE_URL)"),
    }
    Ok(())
}
