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
use crate::kinds::{AffiliationKind, OrgKind};
use crate::models::organisation::{AffiliationRow, Common, OrganisationRow};
use crate::models::practice::PracticeDetailsRow;
use crate::models::practice::{join_address, PracticeRow, PracticeStatus};
use crate::models::SOURCE_ODS;
use crate::tables::{affiliations, organisations, practice_details, practices};
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
    let report = db.write(move |conn| {
        let (known, changes) = apply_practices(conn, &practices.rows, &mut report)?;
        if let Some(m) = &memberships {
            apply_memberships(conn, &known, &m.rows, &mut report)?;
        }
        // The audit rows come last: numbering them locks out other writers until commit.
        audit::record_all(conn, &actor, changes)?;
        let summary =
            audit::Subject { entity_type: "ods_import", id: epraccur_name, key: epraccur_name, version: None };
        audit::record(conn, &actor, Action::Import, summary, None::<&()>, Some(&report))?;
        Ok(report)
    })?;
    if report.inserted > 0 || report.updated > 0 || report.memberships_inserted > 0 {
        db.analyze()?;
    }
    Ok(report)
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

/// One practice → commissioner period, as the file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
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
/// Columns, hence bind parameters, per inserted row.
const ORGANISATION_COLUMNS: usize = 11;
const PRACTICE_DETAIL_COLUMNS: usize = 9;
const AFFILIATION_COLUMNS: usize = 9;

/// The practice as the file has it, over what is stored of it (`None` for a new practice).
/// Fields the file does not carry (list size, merged-into, id, source, version, timestamps)
/// are kept, or begin.
fn practice_from_file(current: Option<&PracticeRow>, p: &OdsPractice, now: NaiveDateTime) -> PracticeRow {
    let merged = current.is_some_and(|c| c.status == PracticeStatus::Merged.as_str());
    // ODS records a merged practice as closed; the merge is knowledge held here, so keep it.
    let keep_merge = merged && p.status == PracticeStatus::Closed;
    PracticeRow {
        id: current.map_or_else(new_id, |c| c.id.clone()),
        ods_code: p.ods_code.clone(),
        name: p.name.clone(),
        address_lines: p.address_lines.clone(),
        postcode: p.postcode.clone(),
        region_code: p.region_code.clone(),
        icb_code: p.icb_code.clone(),
        commissioner_code: p.commissioner_code.clone(),
        list_size: current.and_then(|c| c.list_size),
        status: match current {
            Some(c) if keep_merge => c.status.clone(),
            _ => p.status.as_str().to_string(),
        },
        // A practice ODS says is open again is no longer merged; a merged-into code is only
        // valid beside status `merged`.
        merged_into: current.filter(|_| !merged || keep_merge).and_then(|c| c.merged_into.clone()),
        opened_on: p.opened_on,
        closed_on: p.closed_on,
        phone: p.phone.clone(),
        source: current.map_or_else(|| SOURCE_ODS.to_string(), |c| c.source.clone()),
        version: current.map_or(1, |c| c.version),
        created_at: current.map_or(now, |c| c.created_at),
        updated_at: current.map_or(now, |c| c.updated_at),
    }
}

/// Inserts new practices and updates changed ones; returns the ODS codes of every practice
/// held after the import (for the memberships).
/// One audit row per practice the import added or changed, so the change feed carries them.
fn change(before: Option<&PracticeRow>, after: &PracticeRow) -> audit::Pending {
    crate::domain::crud::pending(Action::Import, before, after)
}

fn apply_practices(
    conn: &mut DbConnection,
    rows: &[OdsPractice],
    report: &mut ImportReport,
) -> Result<(HashSet<String>, Vec<audit::Pending>), DomainError> {
    let existing: Vec<PracticeRow> = practices::table.load(conn)?;
    let existing: HashMap<&str, &PracticeRow> = existing.iter().map(|p| (p.ods_code.as_str(), p)).collect();
    let now = crate::now();
    let mut inserts: Vec<PracticeRow> = Vec::new();
    let mut changes = Vec::new();
    for p in rows {
        let Some(current) = existing.get(p.ods_code.as_str()) else {
            inserts.push(practice_from_file(None, p, now));
            continue;
        };
        let mut next = practice_from_file(Some(current), p, now);
        if next == **current {
            report.unchanged += 1;
            continue;
        }
        next.version = current.version + 1;
        next.updated_at = now;
        // The version guard catches an API edit committed since the load (PostgreSQL).
        let changed = crate::domain::crud::Entity::update(&next, conn, current.version)?;
        if changed == 0 {
            return Err(DomainError::Conflict(format!(
                "practice {} changed while the import ran; run the import again",
                current.ods_code
            )));
        }
        changes.push(change(Some(current), &next));
        report.updated += 1;
    }
    report.inserted = insert_practices(conn, &inserts)?;
    changes.extend(inserts.iter().map(|p| change(None, p)));

    let mut known: HashSet<String> = existing.keys().map(|c| c.to_string()).collect();
    known.extend(inserts.into_iter().map(|p| p.ods_code));
    Ok((known, changes))
}

fn insert_practices(conn: &mut DbConnection, rows: &[PracticeRow]) -> Result<usize, DomainError> {
    let (orgs, details): (Vec<OrganisationRow>, Vec<PracticeDetailsRow>) = rows.iter().map(PracticeRow::parts).unzip();
    let n = crate::insert_chunked!(conn, organisations::table, &orgs, ORGANISATION_COLUMNS);
    crate::insert_chunked!(conn, practice_details::table, &details, PRACTICE_DETAIL_COLUMNS);
    Ok(n)
}

/// Creates the commissioners named by `codes` that are not yet organisations; returns the
/// codes that are commissioners afterwards (a code held by another kind is not one).
fn ensure_commissioners(conn: &mut DbConnection, codes: HashSet<&str>) -> Result<HashSet<String>, DomainError> {
    let wanted: Vec<String> = codes.into_iter().map(str::to_string).collect();
    let mut held: HashMap<String, String> = HashMap::new();
    for chunk in wanted.chunks(1000) {
        let rows: Vec<(String, String)> = organisations::table
            .filter(organisations::code.eq_any(chunk))
            .select((organisations::code, organisations::kind))
            .load(conn)?;
        held.extend(rows);
    }
    let now = crate::now();
    let kind = OrgKind::Commissioner;
    let new: Vec<OrganisationRow> = wanted
        .iter()
        .filter(|c| !held.contains_key(c.as_str()))
        .map(|code| {
            // The files carry no names for commissioners: each is named by its code.
            Common {
                id: &new_id(),
                code,
                kind,
                name: code,
                status: kind.default_status(),
                opened_on: None,
                closed_on: None,
                source: SOURCE_ODS,
                version: 1,
                created_at: now,
                updated_at: now,
            }
            .row()
        })
        .collect();
    crate::insert_chunked!(conn, organisations::table, &new, ORGANISATION_COLUMNS);
    let mut commissioners: HashSet<String> =
        held.into_iter().filter(|(_, k)| k == kind.as_str()).map(|(code, _)| code).collect();
    commissioners.extend(new.into_iter().map(|o| o.code));
    Ok(commissioners)
}

/// Inserts new commissioner periods (as `commissioned_by` affiliations) and updates changed
/// end dates, for practices held here only.
fn apply_memberships(
    conn: &mut DbConnection,
    known: &HashSet<String>,
    rows: &[MembershipRow],
    report: &mut ImportReport,
) -> Result<(), DomainError> {
    let kind = AffiliationKind::CommissionedBy;
    let existing: Vec<AffiliationRow> = affiliations::table
        .filter(affiliations::kind.eq(kind.as_str()))
        .select(affiliations::all_columns)
        .load(conn)?;
    let existing: HashMap<(&str, &str, NaiveDate), &AffiliationRow> =
        existing.iter().map(|a| ((a.member_code.as_str(), a.parent_code.as_str(), a.start_date), a)).collect();
    let commissioners = ensure_commissioners(
        conn,
        rows.iter().filter(|m| known.contains(&m.ods_code)).map(|m| m.commissioner_code.as_str()).collect(),
    )?;
    let now = crate::now();
    let mut inserts: Vec<AffiliationRow> = Vec::new();
    for m in rows {
        if !known.contains(&m.ods_code) || !commissioners.contains(&m.commissioner_code) {
            report.memberships_skipped_unknown_practice += 1;
            continue;
        }
        match existing.get(&(m.ods_code.as_str(), m.commissioner_code.as_str(), m.start_date)) {
            None => inserts.push(AffiliationRow {
                id: new_id(),
                kind: kind.as_str().to_string(),
                member_code: m.ods_code.clone(),
                parent_code: m.commissioner_code.clone(),
                start_date: m.start_date,
                end_date: m.end_date,
                version: 1,
                created_at: now,
                updated_at: now,
            }),
            Some(a) if a.end_date == m.end_date => report.memberships_unchanged += 1,
            Some(a) => {
                diesel::update(affiliations::table.filter(affiliations::id.eq(&a.id)))
                    .set((
                        affiliations::end_date.eq(m.end_date),
                        affiliations::version.eq(a.version + 1),
                        affiliations::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                report.memberships_updated += 1;
            }
        }
    }
    report.memberships_inserted = crate::insert_chunked!(conn, affiliations::table, &inserts, AFFILIATION_COLUMNS);
    Ok(())
}

#[cfg(test)]
#[path = "../tests/ods.rs"]
mod tests;
