//! Bulk submission of placements: a month's placements in one file, validated row by row,
//! scoped row by row, and upserted on the partner's own key (staff reference, role, host,
//! start date), so that sending the same file again changes nothing.
//!
//! Rows arrive one at a time from a reader (the file is never held whole) and are handled a
//! chunk at a time inside one transaction: `atomic` rolls it all back when any row is bad,
//! `partial` commits the good rows. Rows apply in file order: a later row with an earlier
//! one's key updates it, and a row that would take a staff reference's concurrent placements
//! over 80 hours a week is refused.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::crud::{self, Entity};
use super::reach::Reach;
use crate::actor::Actor;
use crate::audit::{self, Action};
use crate::db::{Db, DbConnection};
use crate::error::{DomainError, DomainResult, FieldError};
use crate::models::placement::{PlacementInput, PlacementRow, Remembered};
use crate::tables::{placement_records, placements};

crate::text_enum! {
    /// What a batch with bad rows does.
    BatchMode {
        #[doc = "All or nothing: any bad row, and nothing is written."] Atomic = "atomic",
        #[doc = "The good rows are written and the bad ones reported."] Partial = "partial",
    }
}

crate::text_enum! {
    /// What became of a row.
    RowOutcome {
        #[doc = "A new placement."] Created = "created",
        #[doc = "A placement with the same staff reference, role, host and start date, changed."] Updated = "updated",
        #[doc = "A placement with the same key and fields: nothing to do."] Unchanged = "unchanged",
        #[doc = "Not written; `errors` says why."] Rejected = "rejected",
    }
}

/// What became of one row of the file.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RowReport {
    /// The row's line in the file (CSV and NDJSON), or its position in a JSON array (from 1).
    pub line: u64,
    pub outcome: RowOutcome,
    /// The placement's id, unless rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Every problem with a rejected row, by field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// The answer to a batch: counts, and every row's outcome in file order.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchReport {
    pub mode: BatchMode,
    /// Whether the rows marked created, updated or unchanged are in the database: false when
    /// an atomic batch had a bad row and nothing was written.
    pub committed: bool,
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub results: Vec<RowReport>,
}

/// One row as read from the file: its line, and its fields or why they could not be read.
pub struct Row {
    pub line: u64,
    pub input: Result<PlacementInput, Vec<FieldError>>,
}

/// Rows handled together: one statement for their staff references' placements, a few for
/// their writes.
pub const CHUNK: usize = 1000;

/// The most hours a week one staff reference's concurrent placements may add up to.
pub const MAX_CONCURRENT_HOURS: f64 = 80.0;

/// SQLite page cache for a batch, in KiB.
const BATCH_CACHE_KIB: u32 = 16 * 1024;

/// A source of rows: calls the sink with each row in file order.
pub type Source<'a> = Box<dyn FnOnce(&mut dyn FnMut(Row) -> DomainResult<()>) -> DomainResult<()> + Send + 'a>;

/// Work to do in a committed batch's transaction, with its report: keeping the answer to an
/// `Idempotency-Key` beside the batch's writes.
pub type Then<'a> = Box<dyn FnOnce(&mut DbConnection, &BatchReport) -> DomainResult<()> + Send + 'a>;

/// Submits the rows `read` gives, as `actor`, with `source` recorded on new placements;
/// `then` runs in the transaction of a batch that commits.
pub fn submit(
    db: &Db,
    actor: Option<&Actor>,
    mode: BatchMode,
    source: &str,
    read: Source<'_>,
    then: Option<Then<'_>>,
) -> DomainResult<BatchReport> {
    let actor = crud::writer::<PlacementRow>(actor)?;
    let mut undone = None;
    let result = db.write(|c| {
        if let DbConnection::Sqlite(lite) = c {
            // A batch touches many pages of several indexes, and SQLite's default page cache
            // (2 MiB) had it re-reading them for every chunk: 16 MiB took a 100,000-row file
            // from 11,100 to 13,600 rows a second (64 MiB did no better and cost its size in
            // RSS). This connection has it for the batch, and its default back after.
            diesel::sql_query(format!("PRAGMA cache_size = -{BATCH_CACHE_KIB}")).execute(lite)?;
        }
        let submitted = run(c, actor, mode, source, read, &mut undone).and_then(|report| {
            let committed = BatchReport { committed: true, ..report };
            match then {
                Some(then) => then(c, &committed).map(|()| committed),
                None => Ok(committed),
            }
        });
        if let DbConnection::Sqlite(lite) = c {
            let _ = diesel::sql_query("PRAGMA cache_size = -2000").execute(lite);
        }
        submitted
    });
    match (result, undone) {
        (_, Some(report)) => Ok(report),
        (result, None) => result,
    }
}

/// The batch inside its transaction. An atomic batch with rejected rows leaves its report in
/// `undone` and fails, so that the transaction rolls back.
fn run(
    c: &mut DbConnection,
    actor: &Actor,
    mode: BatchMode,
    source: &str,
    read: Source<'_>,
    undone: &mut Option<BatchReport>,
) -> DomainResult<BatchReport> {
    let reach = Reach::of(c, actor)?;
    let mut batch = Batch {
        actor,
        reach,
        source,
        refs: Remembered::new(c),
        chunk: Vec::with_capacity(CHUNK),
        report: BatchReport {
            mode,
            committed: false,
            rows: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            rejected: 0,
            results: Vec::new(),
        },
    };
    read(&mut |row| {
        batch.chunk.push(row);
        match batch.chunk.len() >= CHUNK {
            true => batch.flush(),
            false => Ok(()),
        }
    })?;
    batch.flush()?;
    batch.report.results.sort_by_key(|r| r.line);
    if mode == BatchMode::Atomic && batch.report.rejected > 0 {
        *undone = Some(batch.report);
        return Err(DomainError::Conflict("the batch had rejected rows".into()));
    }
    Ok(batch.report)
}

struct Batch<'a, 'c> {
    actor: &'a Actor,
    reach: Reach,
    source: &'a str,
    refs: Remembered<'c>,
    chunk: Vec<Row>,
    report: BatchReport,
}

/// Whether two placements with the same key say the same.
fn same_fields(a: &PlacementRow, b: &PlacementRow) -> bool {
    let fields = |p: &PlacementRow| {
        let registration = (p.registration_body.clone(), p.registration_number.clone());
        (
            p.programme_code.clone(),
            p.host_type.clone(),
            p.host_unit.clone(),
            p.end_date,
            p.funding.clone(),
            p.notes.clone(),
            registration,
        )
    };
    a.hours_per_week == b.hours_per_week && fields(a) == fields(b)
}

/// The first day within `p`'s period on which `p` and `others` add up to more than the
/// limit, and their hours that day.
fn over_limit<'a>(p: &PlacementRow, others: impl Iterator<Item = &'a PlacementRow> + Clone) -> Option<(String, f64)> {
    let overlaps =
        |o: &PlacementRow, day: chrono::NaiveDate| o.start_date <= day && o.end_date.is_none_or(|e| e >= day);
    let days = std::iter::once(p.start_date).chain(
        others.clone().map(|o| o.start_date).filter(|d| *d > p.start_date && p.end_date.is_none_or(|e| *d <= e)),
    );
    for day in days {
        let hours: f64 =
            p.hours_per_week + others.clone().filter(|o| overlaps(o, day)).map(|o| o.hours_per_week).sum::<f64>();
        if hours > MAX_CONCURRENT_HOURS + 1e-9 {
            return Some((day.to_string(), hours));
        }
    }
    None
}

/// Every placement these staff references have (the chunks written so far included).
///
/// The table grows through the batch while the planner's statistics stay where the last
/// ANALYZE left them (a few hundred demonstration rows, say), and both planners then cost
/// a thousand index probes above one pass over the table: every chunk scanned the whole
/// table, so a batch took time in the square of its rows.
fn held_by(conn: &mut DbConnection, staff: &[String]) -> DomainResult<Vec<PlacementRow>> {
    match conn {
        // This statement alone is planned without sequential scans, and its plan then cached
        // like any other. (Planning every statement of the batch afresh, as before, also
        // re-planned every foreign-key check of every row.) With COPY below: 100,000 rows
        // created went from 6,200 to 13,300 rows a second, the same file again from 38,000
        // to 99,500.
        DbConnection::Pg(pg) => {
            use diesel::connection::SimpleConnection;
            pg.batch_execute("SET LOCAL enable_seqscan = off")?;
            let held = placements::table.filter(placements::staff_ref.eq_any(staff)).load(pg);
            pg.batch_execute("SET LOCAL enable_seqscan TO DEFAULT")?;
            Ok(held?)
        }
        // SQLite has no such setting, and a statement of one equality run once a staff
        // reference was re-prepared at every run (its statistics make bound values choose
        // the plan). The index is named instead, and the view joined on its key: the same
        // file again went from 26,000 to 68,700 rows a second, created from 12,700 to 14,700.
        DbConnection::Sqlite(lite) => {
            let marks = vec!["?"; staff.len()].join(", ");
            let sql = format!(
                "SELECT p.* FROM placement_records r INDEXED BY placement_records_staff_idx \
                 CROSS JOIN placements p ON p.id = r.id WHERE r.staff_ref IN ({marks})"
            );
            let mut query = diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>();
            for s in staff {
                query = query.bind::<diesel::sql_types::Text, _>(s.as_str());
            }
            Ok(query.load::<PlacementRow>(lite)?)
        }
    }
}

impl Batch<'_, '_> {
    fn outcome(&mut self, line: u64, outcome: RowOutcome, id: Option<String>, errors: Vec<FieldError>) {
        self.report.rows += 1;
        match outcome {
            RowOutcome::Created => self.report.created += 1,
            RowOutcome::Updated => self.report.updated += 1,
            RowOutcome::Unchanged => self.report.unchanged += 1,
            RowOutcome::Rejected => self.report.rejected += 1,
        }
        self.report.results.push(RowReport { line, outcome, id, errors });
    }

    fn reject(&mut self, line: u64, errors: Vec<FieldError>) {
        self.outcome(line, RowOutcome::Rejected, None, errors);
    }

    /// Validates, scopes, matches and writes the rows in hand.
    fn flush(&mut self) -> DomainResult<()> {
        let rows = std::mem::take(&mut self.chunk);
        let now = crate::now();
        let mut candidates: Vec<(u64, PlacementRow)> = Vec::with_capacity(rows.len());
        for row in rows {
            let input = match row.input {
                Ok(input) => input,
                Err(errors) => {
                    self.reject(row.line, errors);
                    continue;
                }
            };
            match PlacementRow::build_with(&mut self.refs, input, None) {
                Ok(mut p) if self.reach.reaches(&p) => {
                    p.on_create(self.actor);
                    p.source = self.source.to_string();
                    candidates.push((row.line, p));
                }
                Ok(p) => {
                    let why = self.reach.check_writable(&p).err().map(|e| e.to_string()).unwrap_or_default();
                    self.reject(row.line, vec![FieldError::new("hostCode", why)]);
                }
                Err(DomainError::Invalid(errors)) => self.reject(row.line, errors),
                Err(e) => return Err(e),
            }
        }
        if candidates.is_empty() {
            return Ok(());
        }
        // Every placement these staff references already have (earlier chunks included: they
        // are written, in this transaction), within the caller's reach.
        let staff: Vec<String> =
            candidates.iter().map(|(_, p)| p.staff_ref.clone()).collect::<HashSet<_>>().into_iter().collect();
        let held = held_by(self.refs.conn, &staff)?;
        let mut by_staff: HashMap<String, Vec<PlacementRow>> = HashMap::new();
        for p in held.into_iter().filter(|p| self.reach.reaches(p)) {
            by_staff.entry(p.staff_ref.clone()).or_default().push(p);
        }
        let mut inserts: Vec<PlacementRow> = Vec::new();
        let mut updates: Vec<(PlacementRow, PlacementRow)> = Vec::new();
        // Where each placement written in this chunk is in `inserts` or `updates`, by id.
        let mut inserted: HashMap<String, usize> = HashMap::new();
        let mut updated: HashMap<String, usize> = HashMap::new();
        for (line, candidate) in candidates {
            let group = by_staff.entry(candidate.staff_ref.clone()).or_default();
            let same = group.iter().position(|p| {
                (&p.role_code, &p.host_code, p.start_date)
                    == (&candidate.role_code, &candidate.host_code, candidate.start_date)
            });
            if let Some(i) = same.filter(|i| same_fields(&group[*i], &candidate)) {
                let id = group[i].id.clone();
                self.outcome(line, RowOutcome::Unchanged, Some(id), Vec::new());
                continue;
            }
            let record = match same {
                Some(i) => {
                    let current = &group[i];
                    PlacementRow {
                        id: current.id.clone(),
                        source: current.source.clone(),
                        created_by: current.created_by.clone(),
                        created_at: current.created_at,
                        version: current.version + 1,
                        updated_at: now,
                        ..candidate
                    }
                }
                None => candidate,
            };
            let others = group.iter().enumerate().filter(|(j, _)| Some(*j) != same).map(|(_, p)| p);
            if let Some((day, hours)) = over_limit(&record, others) {
                let message = format!(
                    "with this staff reference's other placements, {hours} hours a week from {day}: at most {MAX_CONCURRENT_HOURS}"
                );
                self.reject(line, vec![FieldError::new("hoursPerWeek", message)]);
                continue;
            }
            let id = record.id.clone();
            // Changed again within this chunk: the pending write takes the change.
            let pending_insert = inserted.get(&record.id).copied();
            let pending_update = updated.get(&record.id).copied();
            match (same, pending_insert, pending_update) {
                (Some(i), Some(k), _) => {
                    inserts[k] = PlacementRow { version: 1, ..record };
                    group[i] = inserts[k].clone();
                }
                (Some(i), None, Some(k)) => {
                    updates[k].1 = PlacementRow { version: updates[k].1.version, ..record };
                    group[i] = updates[k].1.clone();
                }
                (Some(i), None, None) => {
                    let before = std::mem::replace(&mut group[i], record.clone());
                    updated.insert(record.id.clone(), updates.len());
                    updates.push((before, record));
                }
                (None, _, _) => {
                    group.push(record.clone());
                    inserted.insert(record.id.clone(), inserts.len());
                    inserts.push(record);
                }
            }
            let outcome = if same.is_some() { RowOutcome::Updated } else { RowOutcome::Created };
            self.outcome(line, outcome, Some(id), Vec::new());
        }
        self.write(inserts, updates)
    }

    fn write(&mut self, inserts: Vec<PlacementRow>, updates: Vec<(PlacementRow, PlacementRow)>) -> DomainResult<()> {
        let conn: &mut DbConnection = &mut *self.refs.conn;
        // External hosts named for the first time, once each.
        let mut ensured = HashSet::new();
        for p in inserts.iter().chain(updates.iter().map(|(_, p)| p)) {
            if p.host_name.is_some() && ensured.insert(p.host_code.clone()) {
                p.ensure_host(conn)?;
            }
        }
        let records: Vec<_> = inserts.iter().map(PlacementRow::record).collect();
        match &mut *conn {
            // COPY rather than multi-row INSERTs: no statement of 19,000 binds to build, parse
            // and plan for every chunk, which was a tenth of PostgreSQL's time in a batch
            // (with the audit rows copied too and `held_by` above, 100,000 rows created went
            // from 6,200 to 13,300 rows a second).
            DbConnection::Pg(pg) => {
                diesel::copy_from(placement_records::table).from_insertable(records).execute(pg)?;
            }
            lite @ DbConnection::Sqlite(_) => {
                crate::insert_chunked!(lite, placement_records::table, &records, PlacementRow::RECORD_COLUMNS);
            }
        }
        let mut changes: Vec<audit::Pending> = inserts.iter().map(|p| crud::pending(Action::Create, None, p)).collect();
        for (before, after) in &updates {
            if after.update(conn, before.version)? == 0 {
                return Err(DomainError::Conflict(format!(
                    "placement {} changed while the batch ran; send the batch again",
                    before.id
                )));
            }
            changes.push(crud::pending(Action::Update, Some(before), after));
        }
        audit::record_all(conn, self.actor, changes)?;
        Ok(())
    }
}
