//! NHS ODS import: GP practices from `epraccur` and their commissioners over time from
//! `epcmem`.
//!
//! Both files have no header row and quote every field. `epraccur` comes in two layouts
//! with the same 27 columns: the legacy one (status `A`/`C`/`D`/`P`, column 26 a prescribing
//! setting where `4` is a GP practice) and the current one (status spelled out, column 26 ODS
//! role codes joined by `|`, `RO76` being a GP practice). The layout is told row by row, so a
//! file assembled from both imports as well.
//!
//! An import is idempotent: the ODS-owned fields of each practice are compared with what is
//! stored and only real changes are written (with the version bumped). Everything one run
//! writes, and its audit row, commits in one transaction.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::actor::Actor;
use crate::audit::{self, Action};
use crate::db::{Db, DbConnection};
use crate::domain::crud::new_id;
use crate::error::{DomainError, FieldError};
use crate::models::practice::{join_address, PracticeRow, PracticeStatus};
use crate::models::SOURCE_ODS;
use crate::tables::{practice_commissioners, practices};
use crate::validate::{is_ods_code, is_practice_ods_code, normalise_postcode, parse_ods_date};

/// How to run an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// A malformed row rejects the whole run (nothing is written) instead of being skipped.
    pub strict: bool,
    /// Who ran the import, for the audit row (e.g. `cli:import-ods`).
    pub actor: String,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { strict: false, actor: "ods-import".to_string() }
    }
}

/// A row that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RowProblem {
    /// The file the row is in (its name, without the folder).
    pub file: String,
    /// The line the row starts on, counting from 1.
    pub line: usize,
    pub message: String,
}

/// What one import run read and changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// The practices file's name.
    pub file: String,
    /// Data rows in the practices file.
    pub rows_read: usize,
    /// Well-formed GP practice rows (`inserted + updated + unchanged`).
    pub gp_practices: usize,
    /// Rows for other kinds of organisation (prescribing cost centres that are not GP practices).
    pub skipped_non_gp: usize,
    /// Malformed rows, each described in `problems`.
    pub skipped_invalid: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// GP practice rows whose status in the file is closed.
    pub closed: usize,
    /// The memberships file's name, when one was given.
    pub memberships_file: Option<String>,
    pub membership_rows_read: usize,
    pub memberships_inserted: usize,
    pub memberships_updated: usize,
    pub memberships_unchanged: usize,
    /// Membership rows of organisations that are not practices held here.
    pub memberships_skipped_unknown_practice: usize,
    pub memberships_skipped_invalid: usize,
    pub problems: Vec<RowProblem>,
}

/// Imports the practices file at `epraccur` and, optionally, the memberships file at
/// `memberships`, in one transaction.
pub fn import(
    db: &Db,
    epraccur: &Path,
    memberships: Option<&Path>,
    opts: &ImportOptions,
) -> Result<ImportReport, DomainError> {
    let practices_file = open(epraccur)?;
    let mut memberships_file = match memberships {
        Some(path) => Some((file_name(path), open(path)?)),
        None => None,
    };
    import_reader(
        db,
        &file_name(epraccur),
        practices_file,
        memberships_file.as_mut().map(|(name, f)| (name.as_str(), f as &mut dyn Read)),
        opts,
    )
}

/// As [`import`], reading from memory or any other source. `epraccur_name` names the
/// practices file in problems and in the audit row; `memberships` is the memberships file's
/// name and content.
pub fn import_reader<R: Read>(
    db: &Db,
    epraccur_name: &str,
    epraccur: R,
    memberships: Option<(&str, &mut dyn Read)>,
    opts: &ImportOptions,
) -> Result<ImportReport, DomainError> {
    // Parse and validate both files before touching the database, so strict mode can
    // refuse without having written anything and the transaction stays short.
    let practices = parse_epraccur(epraccur_name, epraccur)?;
    let memberships = match memberships {
        Some((name, reader)) => Some(parse_epcmem(name, reader)?),
        None => None,
    };

    let mut report = ImportReport {
        file: epraccur_name.to_string(),
        rows_read: practices.rows_read,
        gp_practices: practices.rows.len(),
        skipped_non_gp: practices.skipped_non_gp,
        skipped_invalid: practices.problems.len(),
        closed: practices.rows.iter().filter(|p| p.status == PracticeStatus::Closed).count(),
        problems: practices.problems,
        ..ImportReport::default()
    };
    if let Some(m) = &memberships {
        report.memberships_file = Some(m.file.clone());
        report.membership_rows_read = m.rows_read;
        report.memberships_skipped_invalid = m.problems.len();
        report.problems.extend(m.problems.iter().cloned());
    }
    if opts.strict && !report.problems.is_empty() {
        return Err(strict_error(&report.problems));
    }

    let actor = Actor::system(&opts.actor);
    db.write(move |conn| {
        let known = apply_practices(conn, &practices.rows, &mut report)?;
        if let Some(m) = &memberships {
            apply_memberships(conn, &known, &m.rows, &mut report)?;
        }
        audit::record(conn, &actor, Action::Import, "ods_import", epraccur_name, None::<&()>, Some(&report))?;
        Ok(report)
    })
}

// ---------------------------------------------------------------------------------------
// Reading the files

const EPRACCUR_COLUMNS: usize = 27;
/// `epcmem` has 6 columns; the last (amended record indicator) is not used, so 5 will do.
const EPCMEM_COLUMNS: std::ops::RangeInclusive<usize> = 5..=6;

/// One GP practice as the file describes it: the fields ODS owns.
#[derive(Debug, Clone, PartialEq)]
struct OdsPractice {
    ods_code: String,
    name: String,
    address_lines: Option<String>,
    postcode: String,
    region_code: Option<String>,
    icb_code: Option<String>,
    commissioner_code: Option<String>,
    status: PracticeStatus,
    opened_on: Option<NaiveDate>,
    closed_on: Option<NaiveDate>,
    phone: Option<String>,
}

#[derive(Debug, Default)]
struct ParsedPractices {
    rows: Vec<OdsPractice>,
    rows_read: usize,
    skipped_non_gp: usize,
    problems: Vec<RowProblem>,
}

/// One practice → commissioner period.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = practice_commissioners, treat_none_as_null = true)]
struct MembershipRow {
    ods_code: String,
    commissioner_code: String,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
}

#[derive(Debug, Default)]
struct ParsedMemberships {
    file: String,
    rows: Vec<MembershipRow>,
    rows_read: usize,
    problems: Vec<RowProblem>,
}

fn open(path: &Path) -> Result<std::fs::File, DomainError> {
    std::fs::File::open(path).map_err(|e| DomainError::BadRequest(format!("cannot open {}: {e}", path.display())))
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// Visits each record with its line number and fields. Fields are decoded as UTF-8, or as
/// Latin-1 when they are not valid UTF-8 (older NHS extracts), so no input is unreadable.
fn for_each_record<R: Read>(
    file: &str,
    mut reader: R,
    mut visit: impl FnMut(usize, &[Cow<'_, str>]),
) -> Result<(), DomainError> {
    // The whole file is read first (a few MB) because the line numbers need the raw bytes:
    // the csv reader reports a record's position before the line breaks it skips.
    let mut data = Vec::new();
    reader.read_to_end(&mut data).map_err(|e| DomainError::BadRequest(format!("cannot read {file}: {e}")))?;
    // Files saved by spreadsheet tools often start with a UTF-8 byte order mark.
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&data);
    let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(data);
    let mut record = csv::ByteRecord::new();
    let mut index = 0usize;
    loop {
        // Flexible byte records accept any shape, so this fails only on a broken reader.
        let more = csv
            .read_byte_record(&mut record)
            .map_err(|e| DomainError::BadRequest(format!("cannot read {file}: {e}")))?;
        if !more {
            return Ok(());
        }
        index += 1;
        let line = match record.position() {
            Some(p) => {
                let start = usize::try_from(p.byte()).unwrap_or(usize::MAX);
                let skipped = data
                    .get(start..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|b| matches!(b, b'\r' | b'\n'))
                    .filter(|b| **b == b'\n')
                    .count();
                usize::try_from(p.line()).unwrap_or(usize::MAX).saturating_add(skipped)
            }
            None => index,
        };
        let fields: Vec<Cow<'_, str>> = record.iter().map(decode).collect();
        visit(line, &fields);
    }
}

fn decode(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
    }
}

fn parse_epraccur<R: Read>(file: &str, reader: R) -> Result<ParsedPractices, DomainError> {
    let mut parsed = ParsedPractices::default();
    // First line of each code, to report a repeated code instead of failing on the unique key.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for_each_record(file, reader, |line, fields| {
        parsed.rows_read += 1;
        let problem = |message: String| RowProblem { file: file.to_string(), line, message };
        match practice_from_fields(fields) {
            Ok(None) => parsed.skipped_non_gp += 1,
            Ok(Some(p)) => match seen.get(&p.ods_code) {
                Some(first) => parsed.problems.push(problem(format!(
                    "{} appears again (first on line {first}); only the first row is imported",
                    p.ods_code
                ))),
                None => {
                    seen.insert(p.ods_code.clone(), line);
                    parsed.rows.push(p);
                }
            },
            Err(message) => parsed.problems.push(problem(message)),
        }
    })?;
    Ok(parsed)
}

/// Whether column 26 marks a GP practice: prescribing setting `4` (legacy layout) or the
/// role `RO76` among `|`-joined role codes (current layout).
fn is_gp_practice(setting: &str) -> bool {
    let setting = setting.trim();
    setting == "4" || setting.split('|').any(|role| role.trim().eq_ignore_ascii_case("RO76"))
}

/// Column 13 in either layout: `A`/`C`/`D`/`P` or `ACTIVE`/`INACTIVE`/`DORMANT`/`PROPOSED`.
fn parse_status(s: &str) -> Option<PracticeStatus> {
    match s.trim().to_ascii_uppercase().as_str() {
        "A" | "ACTIVE" => Some(PracticeStatus::Active),
        "C" | "INACTIVE" => Some(PracticeStatus::Closed),
        "D" | "DORMANT" => Some(PracticeStatus::Dormant),
        "P" | "PROPOSED" => Some(PracticeStatus::Proposed),
        _ => None,
    }
}

/// Maps one `epraccur` row: `Ok(None)` for an organisation that is not a GP practice, `Err`
/// with every problem of the row in one message. The limits are those the API enforces, so
/// an imported practice can later be edited through the API unchanged.
fn practice_from_fields(f: &[Cow<'_, str>]) -> Result<Option<OdsPractice>, String> {
    if f.len() != EPRACCUR_COLUMNS {
        return Err(format!("expected {EPRACCUR_COLUMNS} columns, found {}", f.len()));
    }
    let col = |n: usize| f[n - 1].trim();
    if !is_gp_practice(col(26)) {
        return Ok(None);
    }
    let mut errors: Vec<String> = Vec::new();

    let ods_code = col(1).to_string();
    if !is_practice_ods_code(&ods_code) {
        errors.push(format!(
            "organisation code `{ods_code}` is not a practice ODS code (a capital letter and five digits)"
        ));
    }
    let name = col(2).to_string();
    if name.is_empty() {
        errors.push("name is empty".to_string());
    } else if name.chars().count() > 200 || name.chars().any(char::is_control) {
        errors.push("name must be at most 200 characters without control characters".to_string());
    }
    let lines: Vec<String> = (5..=9).map(|n| col(n).to_string()).collect();
    if lines.iter().any(|l| l.chars().count() > 100 || l.chars().any(char::is_control)) {
        errors.push("address lines must be at most 100 characters without control characters".to_string());
    }
    let postcode = normalise_postcode(col(10)).unwrap_or_else(|| {
        errors.push(format!("postcode `{}` is not a UK postcode", col(10)));
        String::new()
    });
    let mut code = |n: usize, what: &str| -> Option<String> {
        let v = col(n).to_ascii_uppercase();
        if v.is_empty() {
            return None;
        }
        if !is_ods_code(&v) {
            errors.push(format!("{what} `{v}` is not an ODS code"));
        }
        Some(v)
    };
    let region_code = code(3, "national grouping");
    let icb_code = code(4, "health geography");
    let commissioner_code = code(15, "commissioner");
    let mut date = |n: usize, what: &str| -> Option<NaiveDate> {
        parse_ods_date(col(n)).unwrap_or_else(|e| {
            errors.push(format!("{what}: {e}"));
            None
        })
    };
    let opened_on = date(11, "open date");
    let closed_on = date(12, "close date");
    if let (Some(o), Some(c)) = (opened_on, closed_on) {
        if c < o {
            errors.push(format!("close date {c} is before open date {o}"));
        }
    }
    let status = parse_status(col(13));
    if status.is_none() {
        errors.push(format!("status `{}` is not one of A, C, D, P, ACTIVE, INACTIVE, DORMANT, PROPOSED", col(13)));
    }
    let phone = Some(col(18).to_string()).filter(|p| !p.is_empty());
    if phone.as_ref().is_some_and(|p| p.chars().count() > 32 || p.chars().any(char::is_control)) {
        errors.push("telephone must be at most 32 characters".to_string());
    }

    match status {
        Some(status) if errors.is_empty() => Ok(Some(OdsPractice {
            ods_code,
            name,
            address_lines: join_address(&lines),
            postcode,
            region_code,
            icb_code,
            commissioner_code,
            status,
            opened_on,
            closed_on,
            phone,
        })),
        _ => Err(errors.join("; ")),
    }
}

fn parse_epcmem(file: &str, reader: &mut dyn Read) -> Result<ParsedMemberships, DomainError> {
    let mut parsed = ParsedMemberships { file: file.to_string(), ..ParsedMemberships::default() };
    let mut seen: HashMap<(String, String, NaiveDate), usize> = HashMap::new();
    for_each_record(file, reader, |line, fields| {
        parsed.rows_read += 1;
        let problem = |message: String| RowProblem { file: file.to_string(), line, message };
        match membership_from_fields(fields) {
            Ok(m) => {
                let key = (m.ods_code.clone(), m.commissioner_code.clone(), m.start_date);
                match seen.get(&key) {
                    Some(first) => parsed.problems.push(problem(format!(
                        "{} → {} from {} appears again (first on line {first}); only the first row is imported",
                        m.ods_code, m.commissioner_code, m.start_date
                    ))),
                    None => {
                        seen.insert(key, line);
                        parsed.rows.push(m);
                    }
                }
            }
            Err(message) => parsed.problems.push(problem(message)),
        }
    })?;
    Ok(parsed)
}

fn membership_from_fields(f: &[Cow<'_, str>]) -> Result<MembershipRow, String> {
    if !EPCMEM_COLUMNS.contains(&f.len()) {
        return Err(format!("expected 6 columns, found {}", f.len()));
    }
    let col = |n: usize| f[n - 1].trim();
    let mut errors: Vec<String> = Vec::new();
    let ods_code = col(1).to_string();
    if !is_practice_ods_code(&ods_code) {
        errors.push(format!("practice code `{ods_code}` is not a practice ODS code"));
    }
    let commissioner_code = col(2).to_ascii_uppercase();
    if !is_ods_code(&commissioner_code) {
        errors.push(format!("commissioner `{commissioner_code}` is not an ODS code"));
    }
    let start_date = match parse_ods_date(col(4)) {
        Ok(Some(d)) => Some(d),
        Ok(None) => {
            errors.push("start date is empty".to_string());
            None
        }
        Err(e) => {
            errors.push(format!("start date: {e}"));
            None
        }
    };
    let end_date = parse_ods_date(col(5)).unwrap_or_else(|e| {
        errors.push(format!("end date: {e}"));
        None
    });
    if let (Some(s), Some(e)) = (start_date, end_date) {
        if e < s {
            errors.push(format!("end date {e} is before start date {s}"));
        }
    }
    match start_date {
        Some(start_date) if errors.is_empty() => {
            Ok(MembershipRow { ods_code, commissioner_code, start_date, end_date })
        }
        _ => Err(errors.join("; ")),
    }
}

/// The error of a strict run: the problems as field errors addressed `file:line`, capped so
/// a wholly wrong file does not produce an enormous response.
fn strict_error(problems: &[RowProblem]) -> DomainError {
    const SHOWN: usize = 100;
    let mut errors: Vec<FieldError> = problems
        .iter()
        .take(SHOWN)
        .map(|p| FieldError::new(format!("{}:{}", p.file, p.line), p.message.clone()))
        .collect();
    if problems.len() > SHOWN {
        errors.push(FieldError::new("import", format!("and {} more malformed rows", problems.len() - SHOWN)));
    }
    DomainError::Invalid(errors)
}

// ---------------------------------------------------------------------------------------
// Writing

/// Bind parameters allowed in one statement: SQLite's default `SQLITE_MAX_VARIABLE_NUMBER`
/// and PostgreSQL's 16-bit parameter count.
const SQLITE_MAX_BINDS: usize = 32_766;
const PG_MAX_BINDS: usize = 65_535;
/// Columns, hence bind parameters, per inserted row.
const PRACTICE_COLUMNS: usize = 18;
const MEMBERSHIP_COLUMNS: usize = 4;

/// A new practice from its file row.
fn new_practice(p: &OdsPractice, now: NaiveDateTime) -> PracticeRow {
    PracticeRow {
        id: new_id(),
        ods_code: p.ods_code.clone(),
        name: p.name.clone(),
        address_lines: p.address_lines.clone(),
        postcode: p.postcode.clone(),
        region_code: p.region_code.clone(),
        icb_code: p.icb_code.clone(),
        commissioner_code: p.commissioner_code.clone(),
        list_size: None,
        status: p.status.as_str().to_string(),
        merged_into: None,
        opened_on: p.opened_on,
        closed_on: p.closed_on,
        phone: p.phone.clone(),
        source: SOURCE_ODS.to_string(),
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// The stored practice with the ODS-owned fields taken from the file. Fields the file does
/// not carry (list size, merged-into, id, source, timestamps) are kept.
fn merge_practice(current: &PracticeRow, p: &OdsPractice) -> PracticeRow {
    let merged = current.status == PracticeStatus::Merged.as_str();
    // ODS records a merged practice as closed; the merge is knowledge held here, so keep it.
    let keep_merge = merged && p.status == PracticeStatus::Closed;
    PracticeRow {
        name: p.name.clone(),
        address_lines: p.address_lines.clone(),
        postcode: p.postcode.clone(),
        region_code: p.region_code.clone(),
        icb_code: p.icb_code.clone(),
        commissioner_code: p.commissioner_code.clone(),
        status: if keep_merge { current.status.clone() } else { p.status.as_str().to_string() },
        // A practice ODS says is open again is no longer merged; a merged-into code is only
        // valid beside status `merged`.
        merged_into: if merged && !keep_merge { None } else { current.merged_into.clone() },
        opened_on: p.opened_on,
        closed_on: p.closed_on,
        phone: p.phone.clone(),
        ..current.clone()
    }
}

/// Inserts new practices and updates changed ones; returns the ODS codes of every practice
/// held after the import (for the memberships).
fn apply_practices(
    conn: &mut DbConnection,
    rows: &[OdsPractice],
    report: &mut ImportReport,
) -> Result<HashSet<String>, DomainError> {
    let existing: Vec<PracticeRow> = practices::table.load(conn)?;
    let existing: HashMap<&str, &PracticeRow> = existing.iter().map(|p| (p.ods_code.as_str(), p)).collect();
    let now = crate::now();
    let mut inserts: Vec<PracticeRow> = Vec::new();
    for p in rows {
        let Some(current) = existing.get(p.ods_code.as_str()) else {
            inserts.push(new_practice(p, now));
            continue;
        };
        let mut next = merge_practice(current, p);
        if next == **current {
            report.unchanged += 1;
            continue;
        }
        next.version = current.version + 1;
        next.updated_at = now;
        // The version guard catches an API edit committed since the load (PostgreSQL).
        let changed = diesel::update(
            practices::table.filter(practices::id.eq(&current.id)).filter(practices::version.eq(current.version)),
        )
        .set(&next)
        .execute(conn)?;
        if changed == 0 {
            return Err(DomainError::Conflict(format!(
                "practice {} changed while the import ran; run the import again",
                current.ods_code
            )));
        }
        report.updated += 1;
    }
    report.inserted = insert_practices(conn, &inserts)?;

    let mut known: HashSet<String> = existing.keys().map(|c| c.to_string()).collect();
    known.extend(inserts.into_iter().map(|p| p.ods_code));
    Ok(known)
}

/// Inserts `rows` with as few statements as the bind-parameter limits allow. Multi-row
/// inserts do not compile through the multi-backend connection, hence the branch.
macro_rules! insert_chunked {
    ($conn:expr, $table:expr, $rows:expr, $columns:expr) => {{
        let mut n = 0usize;
        match $conn {
            DbConnection::Pg(c) => {
                for chunk in $rows.chunks(PG_MAX_BINDS / $columns) {
                    n += diesel::insert_into($table).values(chunk).execute(c)?;
                }
            }
            DbConnection::Sqlite(c) => {
                for chunk in $rows.chunks(SQLITE_MAX_BINDS / $columns) {
                    n += diesel::insert_into($table).values(chunk).execute(c)?;
                }
            }
        }
        n
    }};
}

fn insert_practices(conn: &mut DbConnection, rows: &[PracticeRow]) -> Result<usize, DomainError> {
    Ok(insert_chunked!(conn, practices::table, rows, PRACTICE_COLUMNS))
}

fn insert_memberships(conn: &mut DbConnection, rows: &[MembershipRow]) -> Result<usize, DomainError> {
    Ok(insert_chunked!(conn, practice_commissioners::table, rows, MEMBERSHIP_COLUMNS))
}

/// Inserts new memberships and updates changed end dates, for practices held here only.
fn apply_memberships(
    conn: &mut DbConnection,
    known: &HashSet<String>,
    rows: &[MembershipRow],
    report: &mut ImportReport,
) -> Result<(), DomainError> {
    let existing: Vec<MembershipRow> = practice_commissioners::table.load(conn)?;
    let existing: HashMap<(&str, &str, NaiveDate), Option<NaiveDate>> = existing
        .iter()
        .map(|m| ((m.ods_code.as_str(), m.commissioner_code.as_str(), m.start_date), m.end_date))
        .collect();
    let mut inserts: Vec<&MembershipRow> = Vec::new();
    for m in rows {
        if !known.contains(&m.ods_code) {
            report.memberships_skipped_unknown_practice += 1;
            continue;
        }
        match existing.get(&(m.ods_code.as_str(), m.commissioner_code.as_str(), m.start_date)) {
            None => inserts.push(m),
            Some(end) if *end == m.end_date => report.memberships_unchanged += 1,
            Some(_) => {
                use practice_commissioners::dsl as pc;
                diesel::update(
                    pc::practice_commissioners
                        .filter(pc::ods_code.eq(&m.ods_code))
                        .filter(pc::commissioner_code.eq(&m.commissioner_code))
                        .filter(pc::start_date.eq(m.start_date)),
                )
                .set(pc::end_date.eq(m.end_date))
                .execute(conn)?;
                report.memberships_updated += 1;
            }
        }
    }
    let inserts: Vec<MembershipRow> = inserts.into_iter().cloned().collect();
    report.memberships_inserted = insert_memberships(conn, &inserts)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::connection::SimpleConnection;
    use std::path::PathBuf;

    const EPRACCUR_2019: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/ods/epraccur-2019.csv");
    const EPCMEM_2019: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/ods/epcmem-2019.csv");
    const CURRENT_SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/epraccur-current-sample.csv");

    /// A fresh, migrated database, removed again when dropped.
    struct TestDb {
        db: Option<Db>,
        label: String,
        cleanup: Cleanup,
    }

    enum Cleanup {
        Sqlite(PathBuf),
        Postgres { admin_url: String, database: String },
    }

    impl TestDb {
        fn db(&self) -> &Db {
            self.db.as_ref().expect("database is open until drop")
        }
    }

    impl Drop for TestDb {
        fn drop(&mut self) {
            // Close the pool first so nothing holds the database open.
            self.db.take();
            match &self.cleanup {
                Cleanup::Sqlite(path) => {
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                    }
                }
                Cleanup::Postgres { admin_url, database } => {
                    if let Ok(mut c) = diesel::PgConnection::establish(admin_url) {
                        let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"));
                    }
                }
            }
        }
    }

    fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!("pcr-ods-test-{}.sqlite3", uuid::Uuid::new_v4()));
        let db = Db::connect(&path.to_string_lossy(), 2).expect("open SQLite");
        TestDb { db: Some(db), label: "sqlite".to_string(), cleanup: Cleanup::Sqlite(path) }
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

    fn postgres(admin_url: &str) -> TestDb {
        let database = format!("pcr_ods_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = diesel::PgConnection::establish(admin_url).expect("connect to TEST_DATABASE_URL");
        admin.batch_execute(&format!("CREATE DATABASE \"{database}\"")).expect("create test database");
        // Owning the cleanup before connecting drops the database even if connecting fails.
        let mut t = TestDb {
            db: None,
            label: "postgresql".to_string(),
            cleanup: Cleanup::Postgres { admin_url: admin_url.to_string(), database: database.clone() },
        };
        t.db = Some(Db::connect(&with_database(admin_url, &database), 2).expect("open PostgreSQL"));
        t
    }

    /// SQLite always; PostgreSQL too when TEST_DATABASE_URL is set.
    fn databases() -> Vec<TestDb> {
        let mut all = vec![sqlite()];
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => all.push(postgres(url.trim())),
            _ => eprintln!("TEST_DATABASE_URL is not set: testing on SQLite only"),
        }
        all
    }

    fn opts() -> ImportOptions {
        ImportOptions { strict: false, actor: "test".to_string() }
    }

    fn practice(db: &Db, code: &str) -> PracticeRow {
        db.read(|c| PracticeRow::find(c, code)).unwrap().unwrap_or_else(|| panic!("{code} not found"))
    }

    fn all_practices(db: &Db) -> Vec<PracticeRow> {
        db.read(|c| Ok(practices::table.order(practices::ods_code).load(c)?)).unwrap()
    }

    fn all_memberships(db: &Db) -> Vec<MembershipRow> {
        use practice_commissioners::dsl as pc;
        db.read(|c| {
            Ok(pc::practice_commissioners.order((pc::ods_code, pc::commissioner_code, pc::start_date)).load(c)?)
        })
        .unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    fn import_str(
        db: &Db,
        epraccur: &str,
        epcmem: Option<&str>,
        opts: &ImportOptions,
    ) -> Result<ImportReport, DomainError> {
        let mut m = epcmem.map(str::as_bytes);
        import_reader(
            db,
            "memory.csv",
            epraccur.as_bytes(),
            m.as_mut().map(|r| ("epcmem.csv", r as &mut dyn Read)),
            opts,
        )
    }

    #[test]
    fn full_2019_files_import_once_then_change_nothing_then_only_what_changed() {
        for t in databases() {
            let db = t.db();
            let label = &t.label;

            // First run: everything is new. The figures were counted independently (Python).
            let started = std::time::Instant::now();
            let r = import(db, Path::new(EPRACCUR_2019), Some(Path::new(EPCMEM_2019)), &opts()).unwrap();
            eprintln!("{label}: first import took {:?}", started.elapsed());
            assert_eq!(r.file, "epraccur-2019.csv");
            assert_eq!(
                (r.rows_read, r.gp_practices, r.skipped_non_gp, r.skipped_invalid),
                (14_303, 8_201, 6_102, 0),
                "{label}"
            );
            assert_eq!((r.inserted, r.updated, r.unchanged, r.closed), (8_201, 0, 0, 1_073), "{label}");
            assert_eq!(
                (r.membership_rows_read, r.memberships_inserted, r.memberships_updated, r.memberships_unchanged),
                (47_822, 31_015, 0, 0),
                "{label}"
            );
            assert_eq!((r.memberships_skipped_unknown_practice, r.memberships_skipped_invalid), (16_807, 0), "{label}");
            assert!(r.problems.is_empty(), "{label}: {:?}", r.problems);

            let first = all_practices(db);
            assert_eq!(first.len(), 8_201);
            assert_eq!(first.iter().filter(|p| p.status == "active").count(), 6_872);
            assert_eq!(first.iter().filter(|p| p.status == "dormant").count(), 256);
            let memberships = all_memberships(db);
            assert_eq!(memberships.len(), 31_015);

            let a = practice(db, "A81001");
            assert_eq!(a.name, "THE DENSHAM SURGERY");
            assert_eq!(a.postcode, "TS18 1HU");
            assert_eq!(
                a.address_lines.as_deref(),
                Some("THE HEALTH CENTRE\nLAWSON STREET\nSTOCKTON-ON-TEES\nCLEVELAND")
            );
            assert_eq!(
                (a.region_code.as_deref(), a.icb_code.as_deref(), a.commissioner_code.as_deref()),
                (Some("Y63"), Some("Q74"), Some("00K"))
            );
            assert_eq!((a.status.as_str(), a.opened_on, a.closed_on), ("active", date(1974, 4, 1), None));
            assert_eq!(
                (a.phone.as_deref(), a.source.as_str(), a.version, a.list_size),
                (Some("01642 672351"), "ods", 1, None)
            );
            let c = practice(db, "A81003");
            assert_eq!(
                (c.name.as_str(), c.status.as_str(), c.closed_on),
                ("VICTORIA MEDICAL PRACTICE", "closed", date(2017, 10, 31))
            );
            assert_eq!((c.region_code.as_deref(), c.postcode.as_str()), (Some("Y54"), "TS26 8DB"));
            let a81003: Vec<_> = memberships.iter().filter(|m| m.ods_code == "A81003").collect();
            assert_eq!(a81003.len(), 3);
            assert!(a81003.iter().any(|m| m.commissioner_code == "00K"
                && m.start_date == NaiveDate::from_ymd_opt(2013, 4, 1).unwrap()
                && m.end_date == date(2017, 10, 31)));
            assert!(db.read(|c| PracticeRow::find(c, "A83642")).unwrap().is_none(), "non-GP rows are not imported");
            let audit = db.read(|c| audit::for_entity(c, "ods_import", "epraccur-2019.csv")).unwrap();
            assert_eq!(audit.len(), 1);
            assert_eq!(audit[0].action, "import");
            assert!(audit[0].after.as_deref().unwrap_or("").contains("\"inserted\":8201"));

            // Second run of the same files: nothing changes, not even a timestamp.
            let started = std::time::Instant::now();
            let r = import(db, Path::new(EPRACCUR_2019), Some(Path::new(EPCMEM_2019)), &opts()).unwrap();
            eprintln!("{label}: second import took {:?}", started.elapsed());
            assert_eq!((r.inserted, r.updated, r.unchanged), (0, 0, 8_201), "{label}");
            assert_eq!(
                (r.memberships_inserted, r.memberships_updated, r.memberships_unchanged),
                (0, 0, 31_015),
                "{label}"
            );
            assert_eq!(all_practices(db), first, "{label}: a second run must not touch any practice");
            assert_eq!(all_memberships(db), memberships);

            // Locally held knowledge the file does not carry must survive a re-import, and a
            // practice missing from the file must be left alone.
            db.write(|c| {
                diesel::update(practices::table.filter(practices::ods_code.eq("A81002")))
                    .set(practices::list_size.eq(Some(9_000)))
                    .execute(c)?;
                diesel::update(practices::table.filter(practices::ods_code.eq("A81003")))
                    .set((practices::status.eq("merged"), practices::merged_into.eq(Some("A81001"))))
                    .execute(c)?;
                let mut own = new_practice(
                    &practice_from_fields(&fields(
                        r#""Z99999","NOT IN ODS","Y63","Q74","","","","","","ST3 1AA","20200101","","A","B","05G","","","","","","","0","","","","4","""#,
                    ))
                    .unwrap()
                    .unwrap(),
                    crate::now(),
                );
                own.source = "api".to_string();
                diesel::insert_into(practices::table).values(&own).execute(c)?;
                Ok(())
            })
            .unwrap();
            let a81002 = practice(db, "A81002");
            let z = practice(db, "Z99999");

            // A copy with one practice's telephone and one membership's end date changed.
            let practices_text =
                std::fs::read_to_string(EPRACCUR_2019).unwrap().replace("01642 679681", "01642 000000");
            let epcmem_text = std::fs::read_to_string(EPCMEM_2019)
                .unwrap()
                .replace(r#""A81003","00K","W","20130401","20171031""#, r#""A81003","00K","W","20130401","20171130""#);
            let r = import_str(db, &practices_text, Some(&epcmem_text), &opts()).unwrap();
            assert_eq!((r.inserted, r.updated, r.unchanged), (0, 1, 8_200), "{label}");
            assert_eq!(
                (r.memberships_inserted, r.memberships_updated, r.memberships_unchanged),
                (0, 1, 31_014),
                "{label}"
            );
            let changed = practice(db, "A81002");
            assert_eq!(changed.phone.as_deref(), Some("01642 000000"));
            assert_eq!(changed.version, 2);
            assert!(changed.updated_at >= a81002.updated_at);
            assert_eq!(changed.list_size, Some(9_000), "list size is not ODS data and must be kept");
            let merged = practice(db, "A81003");
            assert_eq!(
                (merged.status.as_str(), merged.merged_into.as_deref(), merged.version),
                ("merged", Some("A81001"), 1)
            );
            assert_eq!(practice(db, "A81001").version, 1);
            assert_eq!(practice(db, "Z99999"), z);
            let after = all_practices(db);
            assert_eq!(after.iter().filter(|p| p.version != 1).count(), 1, "{label}: only A81002 changed");
            assert!(all_memberships(db)
                .iter()
                .any(|m| m.ods_code == "A81003" && m.commissioner_code == "00K" && m.end_date == date(2017, 11, 30)));
        }
    }

    fn fields(line: &str) -> Vec<Cow<'static, str>> {
        let mut out = Vec::new();
        for_each_record("line", line.as_bytes(), |_, f| {
            out = f.iter().map(|s| Cow::Owned(s.to_string())).collect();
        })
        .unwrap();
        out
    }

    #[test]
    fn current_layout_sample_gives_statuses_and_reports_the_malformed_line() {
        for t in databases() {
            let db = t.db();
            let r = import(db, Path::new(CURRENT_SAMPLE), None, &opts()).unwrap();
            assert_eq!((r.rows_read, r.gp_practices, r.skipped_non_gp, r.skipped_invalid), (5, 3, 1, 1), "{}", t.label);
            assert_eq!((r.inserted, r.updated, r.unchanged, r.closed), (3, 0, 0, 1));
            assert_eq!(r.memberships_file, None);
            assert_eq!(r.problems.len(), 1);
            let p = &r.problems[0];
            assert_eq!((p.file.as_str(), p.line), ("epraccur-current-sample.csv", 5));
            assert!(p.message.contains("postcode") && p.message.contains("open date"), "{}", p.message);

            let a = practice(db, "A81001");
            assert_eq!((a.status.as_str(), a.closed_on), ("active", None));
            assert_eq!((a.icb_code.as_deref(), a.commissioner_code.as_deref()), (Some("QHM"), Some("16C")));
            assert_eq!(a.address_lines.as_deref(), Some("HEALTH CENTRE\nLAWSON STREET\nSTOCKTON-ON-TEES"));
            let c = practice(db, "A81003");
            assert_eq!((c.status.as_str(), c.closed_on), ("closed", date(2017, 10, 31)));
            assert_eq!(practice(db, "A81065").status, "dormant");
            assert_eq!(all_practices(db).len(), 3, "neither the non-GP nor the malformed row is imported");
        }
    }

    #[test]
    fn strict_mode_rejects_the_whole_file_and_writes_nothing() {
        for t in databases() {
            let db = t.db();
            let strict = ImportOptions { strict: true, ..opts() };
            match import(db, Path::new(CURRENT_SAMPLE), None, &strict) {
                Err(DomainError::Invalid(errors)) => {
                    assert_eq!(errors.len(), 1);
                    assert_eq!(errors[0].field, "epraccur-current-sample.csv:5");
                }
                other => panic!("{}: expected Invalid, got {other:?}", t.label),
            }
            assert!(all_practices(db).is_empty());
            assert_eq!(db.read(audit::count).unwrap(), 0);
            // The same file without the malformed row imports in strict mode.
            let text = std::fs::read_to_string(CURRENT_SAMPLE).unwrap();
            let good: String = text.lines().take(4).map(|l| format!("{l}\n")).collect();
            let r = import_str(db, &good, None, &strict).unwrap();
            assert_eq!((r.inserted, r.skipped_non_gp, r.problems.len()), (3, 1, 0));
        }
    }

    const LEGACY_A81001: &str = r#""A81001","THE DENSHAM SURGERY","Y63","Q74","THE HEALTH CENTRE","LAWSON STREET","STOCKTON-ON-TEES","CLEVELAND","","TS18 1HU","19740401","","A","B","00K","20130401","","01642 672351","","","","0","","00K","","4","""#;
    const CURRENT_A81001: &str = r#""A81001","THE DENSHAM SURGERY","Y63","QHM","HEALTH CENTRE","LAWSON STREET","","STOCKTON-ON-TEES","","TS18 1HU","19740401","","ACTIVE","B","16C","20200401","","01642 672351","","","","1","","16C","","RO177|RO76","""#;

    #[test]
    fn a_legacy_practice_is_updated_by_a_current_layout_row_and_memberships_follow() {
        for t in databases() {
            let db = t.db();
            let epcmem =
                "\"A81001\",\"00K\",\"W\",\"20130401\",\"\",\"0\"\n\"X99999\",\"00K\",\"W\",\"20130401\",\"\",\"0\"\n";
            let r = import_str(db, LEGACY_A81001, Some(epcmem), &opts()).unwrap();
            assert_eq!(
                (r.inserted, r.memberships_inserted, r.memberships_skipped_unknown_practice),
                (1, 1, 1),
                "{}",
                t.label
            );
            let before = practice(db, "A81001");

            let epcmem = "\"A81001\",\"00K\",\"W\",\"20130401\",\"20200331\",\"1\"\n\"A81001\",\"16C\",\"W\",\"20200401\",\"\",\"1\"\n";
            let r = import_str(db, CURRENT_A81001, Some(epcmem), &opts()).unwrap();
            assert_eq!((r.inserted, r.updated, r.unchanged), (0, 1, 0));
            assert_eq!((r.memberships_inserted, r.memberships_updated, r.memberships_unchanged), (1, 1, 0));
            let after = practice(db, "A81001");
            assert_eq!(
                (after.id.as_str(), after.version, after.created_at),
                (before.id.as_str(), 2, before.created_at)
            );
            assert_eq!((after.icb_code.as_deref(), after.commissioner_code.as_deref()), (Some("QHM"), Some("16C")));
            assert_eq!(all_memberships(db).len(), 2);

            let r = import_str(db, CURRENT_A81001, Some(epcmem), &opts()).unwrap();
            assert_eq!((r.updated, r.unchanged, r.memberships_updated, r.memberships_unchanged), (0, 1, 0, 2));
            assert_eq!(practice(db, "A81001"), after);
        }
    }

    #[test]
    fn a_merged_practice_that_ods_reports_open_is_no_longer_merged() {
        let current = new_practice(&practice_from_fields(&fields(LEGACY_A81001)).unwrap().unwrap(), crate::now());
        let merged = PracticeRow { status: "merged".into(), merged_into: Some("A81002".into()), ..current };
        let open = practice_from_fields(&fields(LEGACY_A81001)).unwrap().unwrap();
        let next = merge_practice(&merged, &open);
        assert_eq!((next.status.as_str(), next.merged_into), ("active", None));
        let closed = OdsPractice { status: PracticeStatus::Closed, ..open };
        let next = merge_practice(&merged, &closed);
        assert_eq!((next.status.as_str(), next.merged_into.as_deref()), ("merged", Some("A81002")));
    }

    #[test]
    fn both_layouts_are_recognised_row_by_row() {
        for (s, want) in [
            ("A", PracticeStatus::Active),
            ("ACTIVE", PracticeStatus::Active),
            ("C", PracticeStatus::Closed),
            ("INACTIVE", PracticeStatus::Closed),
            ("D", PracticeStatus::Dormant),
            ("DORMANT", PracticeStatus::Dormant),
            ("P", PracticeStatus::Proposed),
            ("PROPOSED", PracticeStatus::Proposed),
        ] {
            assert_eq!(parse_status(s), Some(want), "{s}");
        }
        assert_eq!(parse_status("X"), None);
        assert!(is_gp_practice("4") && is_gp_practice("RO76") && is_gp_practice("RO177|RO76"));
        assert!(!is_gp_practice("0") && !is_gp_practice("14") && !is_gp_practice("RO177") && !is_gp_practice("RO760"));
        let legacy = practice_from_fields(&fields(LEGACY_A81001)).unwrap().unwrap();
        let current = practice_from_fields(&fields(CURRENT_A81001)).unwrap().unwrap();
        assert_eq!((legacy.ods_code.as_str(), legacy.status), ("A81001", PracticeStatus::Active));
        assert_eq!((current.icb_code.as_deref(), current.status), (Some("QHM"), PracticeStatus::Active));
    }

    #[test]
    fn bad_input_is_reported_never_a_panic() {
        let input: &[u8] = b"\xff\xfe\x00garbage\n\"unterminated,\"\n\n1,2,3\n\
            \"A8100X\",\"\",\"Y63\",\"Q74\",\"\",\"\",\"\",\"\",\"\",\"TS18\",\"19741301\",\"19700101\",\"Q\",\"B\",\"0 0\",\"\",\"\",\"\",\"\",\"\",\"\",\"0\",\"\",\"\",\"\",\"4\",\"\"\n\
            \"A81002\",\"CAF\xe9\",\"Y63\",\"Q74\",\"\",\"\",\"\",\"\",\"\",\"TS18 2AW\",\"19740401\",\"\",\"A\",\"B\",\"00K\",\"\",\"\",\"\",\"\",\"\",\"\",\"0\",\"\",\"\",\"\",\"4\",\"\"\n";
        let parsed = parse_epraccur("bad.csv", input).unwrap();
        assert_eq!(parsed.rows_read, 5);
        assert_eq!(parsed.problems.len(), 4, "{:?}", parsed.problems);
        let lines: Vec<usize> = parsed.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![1, 2, 4, 5]);
        let m = &parsed.problems[3].message;
        for needle in ["organisation code", "name is empty", "postcode", "open date", "status", "commissioner"] {
            assert!(m.contains(needle), "{needle} missing from {m}");
        }
        // Latin-1 text is read rather than rejected.
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rows[0].name, "CAF\u{e9}");

        let mut epcmem: &[u8] =
            b"\"A81001\",\"00K\",\"W\",\"20130401\",\"20120101\",\"0\"\n\"A81001\",\"0\",\"W\",\"\",\"\"\n\"A81001\"\n\
            \"A81001\",\"00K\",\"W\",\"20130401\",\"\",\"0\"\n\"A81001\",\"00K\",\"W\",\"20130401\",\"\",\"0\"\n";
        let parsed = parse_epcmem("m.csv", &mut epcmem).unwrap();
        assert_eq!((parsed.rows_read, parsed.rows.len(), parsed.problems.len()), (5, 1, 4), "{:?}", parsed.problems);
        assert!(parsed.problems[4 - 1].message.contains("first on line 4"));
    }

    #[test]
    fn a_missing_file_is_a_bad_request() {
        let t = sqlite();
        let missing = Path::new("/nonexistent/epraccur.csv");
        assert!(matches!(import(t.db(), missing, None, &opts()), Err(DomainError::BadRequest(_))));
        let sample = Path::new(CURRENT_SAMPLE);
        assert!(matches!(import(t.db(), sample, Some(missing), &opts()), Err(DomainError::BadRequest(_))));
        assert!(all_practices(t.db()).is_empty());
    }

    #[test]
    fn line_numbers_count_blank_lines_and_crlf() {
        let good = LEGACY_A81001;
        let input = format!("\u{feff}{good}\r\n\r\n\r\n\"A81002\",\"SHORT\"\r\n{good}\r\n\n\"x\"\n");
        let parsed = parse_epraccur("crlf.csv", input.as_bytes()).unwrap();
        let lines: Vec<usize> = parsed.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![4, 5, 7], "{:?}", parsed.problems);
        assert_eq!(parsed.rows.len(), 1, "a leading byte order mark is not part of the first code");
    }
}
