//! Reading a batch file of placements, a row at a time from any reader: a JSON array,
//! NDJSON, or CSV with the columns a practice manager fills in a spreadsheet. Used by
//! `POST /api/v1/placements/batch` (fed from the request body as it arrives) and by
//! `primary-care-api import-placements`.
//!
//! Hostile files are rows like any other: a row that is not UTF-8, has too many or too few
//! cells, or does not parse is rejected with its line number; a spreadsheet's BOM is
//! skipped; cells starting `=`, `+`, `-` or `@` are kept as the text they are (nothing here
//! evaluates them, and CSV exports quote them so that no spreadsheet does either).

use std::io::{BufRead, BufReader, Read};

use pcr_schema::domain::batch::Row;
use pcr_schema::domain::crud::from_json_value;
use pcr_schema::{DomainError, DomainResult, FieldError};
use serde_json::{Map, Value};

/// The formats a batch may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchFormat {
    Json,
    Ndjson,
    Csv,
}

impl BatchFormat {
    /// The format of a media type, if it is one of these.
    pub fn of_media_type(media: &str) -> Option<BatchFormat> {
        match media.split(';').next().unwrap_or("").trim().to_ascii_lowercase().as_str() {
            "application/json" => Some(BatchFormat::Json),
            "application/x-ndjson" | "application/jsonl" | "application/ndjson" => Some(BatchFormat::Ndjson),
            "text/csv" => Some(BatchFormat::Csv),
            _ => None,
        }
    }

    /// The format of a file, by its extension.
    pub fn of_path(path: &std::path::Path) -> Option<BatchFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(BatchFormat::Json),
            "ndjson" | "jsonl" => Some(BatchFormat::Ndjson),
            "csv" => Some(BatchFormat::Csv),
            _ => None,
        }
    }
}

/// `primary-care-api import-placements`: a file submitted for `org` by an operator, with
/// that organisation's scope (not an admin's), recorded as source `import`.
pub fn import_file(
    db: &pcr_schema::Db,
    file: &std::path::Path,
    org: &str,
    mode: pcr_schema::domain::batch::BatchMode,
) -> Result<pcr_schema::domain::batch::BatchReport, String> {
    let format = BatchFormat::of_path(file)
        .ok_or_else(|| format!("{}: name a .csv, .ndjson, .jsonl or .json file", file.display()))?;
    let reader = std::fs::File::open(file).map_err(|e| format!("cannot open {}: {e}", file.display()))?;
    let actor = pcr_schema::Actor {
        subject: "import-placements".to_string(),
        org: Some(org.trim().to_ascii_uppercase()),
        scopes: vec![pcr_schema::Scope::PlacementsWrite.as_str().to_string()],
        request_id: None,
    };
    let read: pcr_schema::domain::batch::Source<'_> = Box::new(move |sink| read_rows(format, reader, sink));
    pcr_schema::domain::batch::submit(db, Some(&actor), mode, "import", read, None).map_err(|e| e.to_string())
}

/// The CSV columns, in the order the template has them, and the field each fills. Only
/// `staff_ref`, `role_code`, `host_type`, `hours_per_week` and `start_date` must be there.
pub const CSV_COLUMNS: &[(&str, &str)] = &[
    ("staff_ref", "staffRef"),
    ("role_code", "roleCode"),
    ("programme_code", "programmeCode"),
    ("host_type", "hostType"),
    ("host_code", "hostCode"),
    ("host_name", "hostName"),
    ("hours_per_week", "hoursPerWeek"),
    ("start_date", "startDate"),
    ("end_date", "endDate"),
    ("funding", "funding"),
    ("notes", "notes"),
    ("registration_body", "registrationBody"),
    ("registration_number", "registrationNumber"),
];

const REQUIRED_COLUMNS: &[&str] = &["staff_ref", "role_code", "host_type", "hours_per_week", "start_date"];

/// Reads every row of `reader` in `format` into `sink`, in file order.
pub fn read_rows(
    format: BatchFormat,
    reader: impl Read,
    sink: &mut dyn FnMut(Row) -> DomainResult<()>,
) -> DomainResult<()> {
    match format {
        BatchFormat::Json => read_json_array(reader, sink),
        BatchFormat::Ndjson => read_ndjson(reader, sink),
        BatchFormat::Csv => read_csv(reader, sink),
    }
}

fn io_error(e: std::io::Error) -> DomainError {
    // The body stopped (too large, or the client went away): nothing of it is kept.
    DomainError::BadRequest(format!("the batch could not be read to its end: {e}"))
}

/// A row from a JSON object.
fn row_of(line: u64, value: Value) -> Row {
    let input = match value {
        Value::Object(_) => from_json_value(value).map_err(|e| match e {
            DomainError::Invalid(errors) => errors,
            other => vec![FieldError::new("row", other.to_string())],
        }),
        _ => Err(vec![FieldError::new("row", "must be a JSON object with a placement's fields")]),
    };
    Row { line, input }
}

fn read_ndjson(reader: impl Read, sink: &mut dyn FnMut(Row) -> DomainResult<()>) -> DomainResult<()> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io_error)? == 0 {
            return Ok(());
        }
        line += 1;
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim_start_matches('\u{feff}').trim(),
            Err(_) => {
                sink(Row { line, input: Err(vec![not_utf8()]) })?;
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        let row = match serde_json::from_str::<Value>(text) {
            Ok(v) => row_of(line, v),
            Err(e) => Row { line, input: Err(vec![FieldError::new("row", format!("is not JSON: {e}"))]) },
        };
        sink(row)?;
    }
}

fn not_utf8() -> FieldError {
    FieldError::new("row", "is not UTF-8 text; save the file as UTF-8 (CSV UTF-8 in a spreadsheet)")
}

/// A JSON array, its elements read and handed on one at a time.
fn read_json_array(reader: impl Read, sink: &mut dyn FnMut(Row) -> DomainResult<()>) -> DomainResult<()> {
    use serde::de::{Deserializer, SeqAccess, Visitor};
    struct Each<'s> {
        sink: &'s mut dyn FnMut(Row) -> DomainResult<()>,
        failed: Option<DomainError>,
    }
    impl<'de> Visitor<'de> for &mut Each<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON array of placements")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut n = 0u64;
            while let Some(v) = seq.next_element::<Value>()? {
                n += 1;
                if let Err(e) = (self.sink)(row_of(n, v)) {
                    self.failed = Some(e);
                    return Err(serde::de::Error::custom("stopped"));
                }
            }
            Ok(())
        }
    }
    let mut each = Each { sink, failed: None };
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(64 * 1024, reader));
    let read = (&mut de).deserialize_seq(&mut each).and_then(|()| de.end());
    match (read, each.failed) {
        (_, Some(e)) => Err(e),
        (Ok(()), None) => Ok(()),
        (Err(e), None) if e.is_io() => {
            Err(DomainError::BadRequest(format!("the batch could not be read to its end: {e}")))
        }
        (Err(e), None) => Err(DomainError::BadRequest(format!("the body is not a JSON array of placements: {e}"))),
    }
}

fn read_csv(reader: impl Read, sink: &mut dyn FnMut(Row) -> DomainResult<()>) -> DomainResult<()> {
    // Lines end at `\n`: a `\r` before it stays in the last cell, and is trimmed with it. (With
    // `\r` as a terminator too, a record's start is before or after the line break depending
    // on the file's line endings, and the row numbers would be one out.)
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(reader);
    let mut header = csv::ByteRecord::new();
    if !csv.read_byte_record(&mut header).map_err(csv_error)? {
        return Ok(());
    }
    let mut columns: Vec<&'static str> = Vec::with_capacity(header.len());
    for (i, cell) in header.iter().enumerate() {
        let name = std::str::from_utf8(cell)
            .map_err(|_| DomainError::BadRequest("line 1: the header is not UTF-8 text".into()))?
            .trim_start_matches('\u{feff}')
            .trim()
            .to_ascii_lowercase();
        let field = CSV_COLUMNS.iter().find(|(c, _)| *c == name).map(|(_, f)| *f).ok_or_else(|| {
            let known: Vec<&str> = CSV_COLUMNS.iter().map(|(c, _)| *c).collect();
            DomainError::BadRequest(format!(
                "line 1: column {} is `{name}`, which is not one of {}",
                i + 1,
                known.join(", ")
            ))
        })?;
        if columns.contains(&field) {
            return Err(DomainError::BadRequest(format!("line 1: column `{name}` is there twice")));
        }
        columns.push(field);
    }
    for required in REQUIRED_COLUMNS {
        let field = CSV_COLUMNS.iter().find(|(c, _)| c == required).map(|(_, f)| *f).unwrap_or_default();
        if !columns.contains(&field) {
            return Err(DomainError::BadRequest(format!("line 1: the header has no `{required}` column")));
        }
    }
    let mut record = csv::ByteRecord::new();
    loop {
        if !csv.read_byte_record(&mut record).map_err(csv_error)? {
            return Ok(());
        }
        // Where the record starts: its quoted cells may hold line breaks.
        let line = record.position().map(|p| p.line()).unwrap_or_else(|| csv.position().line());
        if record.iter().all(|c| c.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        if record.len() != columns.len() {
            let why = format!("has {} cells where the header has {}", record.len(), columns.len());
            sink(Row { line, input: Err(vec![FieldError::new("row", why)]) })?;
            continue;
        }
        let mut object = Map::new();
        let mut errors = Vec::new();
        for (field, cell) in columns.iter().zip(record.iter()) {
            let Ok(text) = std::str::from_utf8(cell) else {
                errors.push(not_utf8());
                break;
            };
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let value = match *field {
                "hoursPerWeek" => match text.parse::<f64>() {
                    Ok(h) if h.is_finite() => serde_json::json!(h),
                    _ => {
                        errors.push(FieldError::new("hoursPerWeek", format!("`{text}` is not a number of hours")));
                        continue;
                    }
                },
                "hostType" | "funding" | "registrationBody" => Value::String(text.to_ascii_lowercase()),
                _ => Value::String(text.to_string()),
            };
            object.insert((*field).to_string(), value);
        }
        let row = match errors.is_empty() {
            true => row_of(line, Value::Object(object)),
            false => Row { line, input: Err(errors) },
        };
        sink(row)?;
    }
}

fn csv_error(e: csv::Error) -> DomainError {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => io_error(e),
        other => DomainError::BadRequest(format!("the CSV could not be read: {other:?}")),
    }
}
