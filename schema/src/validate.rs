//! Field rules shared by every write path: ODS codes, postcodes, codes, dates, text.

use chrono::NaiveDate;

use crate::error::{DomainError, FieldError};

/// Collects every field error of one input so the caller sees them all at once.
#[derive(Debug, Default)]
pub struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }
    pub fn check(&mut self, ok: bool, field: &str, message: impl Into<String>) {
        if !ok {
            self.fail(field, message);
        }
    }
    /// Trims `value`; requires it to be 1..=max characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let v = value.trim().to_string();
        if v.is_empty() {
            self.fail(field, "must not be empty");
        } else if v.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
        } else if v.chars().any(|c| c.is_control()) {
            self.fail(field, "must not contain control characters");
        }
        v
    }
    /// Free text (notes, descriptions): as `text`, but it may have several lines and tabs;
    /// absent or blank becomes `None`.
    pub fn free_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        let v = value.map(str::trim).filter(|v| !v.is_empty())?;
        if v.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
        } else if has_control_chars(v) {
            self.fail(field, "must not contain control characters other than line breaks and tabs");
        }
        Some(v.to_string())
    }
    /// As `text`, but absent or blank becomes `None`.
    pub fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        match value.map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(self.text(field, v, max)),
        }
    }
    /// Records `message` against `field` when a lookup found nothing; passes the find on.
    pub fn found<T>(&mut self, found: Option<T>, field: &str, message: impl FnOnce() -> String) -> Option<T> {
        if found.is_none() {
            self.fail(field, message());
        }
        found
    }
    pub fn date_order(&mut self, start: Option<NaiveDate>, end: Option<NaiveDate>, end_field: &str) {
        if let (Some(s), Some(e)) = (start, end) {
            self.check(e >= s, end_field, "must not be before the start date");
        }
    }
    pub fn finish(self) -> Result<(), DomainError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(self.errors))
        }
    }
}

/// Whether text holds a character no field of ours accepts: NUL and the other C0 and C1
/// controls, except tab, line feed and carriage return (free text may have lines).
/// PostgreSQL cannot store NUL in text at all; SQLite would, so the rule is ours, for both.
pub fn has_control_chars(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// Every string in a JSON document that [`has_control_chars`], by its path
/// (`addressLines/1`, `notes`).
pub fn control_char_errors(v: &serde_json::Value) -> Vec<FieldError> {
    fn walk(v: &serde_json::Value, path: &mut Vec<String>, out: &mut Vec<FieldError>) {
        match v {
            serde_json::Value::String(s) if has_control_chars(s) => {
                let field = if path.is_empty() { "body".to_string() } else { path.join("/") };
                out.push(FieldError::new(field, "must not contain control characters"));
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    walk(item, path, out);
                    path.pop();
                }
            }
            serde_json::Value::Object(map) => {
                for (k, item) in map {
                    path.push(k.clone());
                    walk(item, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

/// Whether any text in `value` [`has_control_chars`], found without building anything:
/// serde_json writes `value` into a sink that only follows its string escapes. It writes
/// characters below U+0020 escaped (`\u0000`, `\b`, …; tab, line feed and carriage return
/// as `\t`, `\n`, `\r`), and DEL and the C1 controls (U+0080–U+009F) as they are.
pub fn any_control_chars<T: serde::Serialize>(value: &T) -> bool {
    #[derive(Default)]
    struct Sink {
        escape: bool,
        hex: Option<(u32, u8)>,
        after_c2: bool,
        found: bool,
    }
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            for &b in buf {
                if let Some((value, digits)) = self.hex {
                    let value = value * 16 + char::from(b).to_digit(16).unwrap_or(0);
                    if digits == 3 {
                        self.hex = None;
                        self.found |= value < 0x20 && !matches!(value, 0x09 | 0x0a | 0x0d);
                    } else {
                        self.hex = Some((value, digits + 1));
                    }
                } else if self.escape {
                    self.escape = false;
                    match b {
                        b'u' => self.hex = Some((0, 0)),
                        b'b' | b'f' => self.found = true,
                        _ => {}
                    }
                } else {
                    self.escape = b == b'\\';
                    self.found |= b == 0x7f || (self.after_c2 && (0x80..=0x9f).contains(&b));
                    self.after_c2 = b == 0xc2;
                }
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // Written whole first: most text has no backslash, DEL or C1 lead byte at all, and a
    // plain scan for those is far cheaper than following the escapes byte by byte.
    let mut json = Vec::with_capacity(256);
    // A value that does not serialise has no text to refuse here.
    if serde_json::to_writer(&mut json, value).is_err() || !json.iter().any(|&b| matches!(b, b'\\' | 0x7f | 0xc2)) {
        return false;
    }
    let mut sink = Sink::default();
    let _ = std::io::Write::write_all(&mut sink, &json);
    sink.found
}

/// Refuses a list query whose text filters hold control characters: PostgreSQL cannot even
/// compare NUL, and no record can match one. Errors name the REST parameter.
pub fn check_filters<Q: serde::Serialize>(query: &Q) -> Result<(), DomainError> {
    // Every list and batch calls this; building a JSON value of the query for it was 2% of
    // a nested GraphQL request, so the common case only watches the query being written.
    if !any_control_chars(query) {
        return Ok(());
    }
    let errors = serde_json::to_value(query).map(|v| control_char_errors(&v)).unwrap_or_default();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Invalid(errors))
    }
}

/// A GP practice ODS code: one capital letter and five digits, e.g. `M83001`.
pub fn is_practice_ods_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 6 && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit)
}

/// A Primary Care Network ODS code: `U` and five digits, e.g. `U81234`.
pub fn is_pcn_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 6 && b[0] == b'U' && b[1..].iter().all(u8::is_ascii_digit)
}

/// An ODS organisation code of any kind (trusts `RRE`, commissioners `05G`, sites `RRE01`).
pub fn is_ods_code(s: &str) -> bool {
    (3..=10).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Federation and ICT codes: capitals, digits and hyphens, 2–32 long, e.g. `NSGPF`, `ICT-MEIR`.
pub fn is_org_code(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=32).contains(&b.len())
        && b[0] != b'-'
        && b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'-')
}

/// Role and programme codes: lower-case words joined by hyphens, e.g. `physician-associate`.
pub fn is_slug(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=64).contains(&b.len())
        && b[0] != b'-'
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// Normalises a UK postcode to upper case with one space before the inward code
/// (`st31aa` → `ST3 1AA`); `None` when it is not a postcode's shape.
pub fn normalise_postcode(s: &str) -> Option<String> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    let b = compact.as_bytes();
    if !(5..=7).contains(&b.len()) || !b.is_ascii() {
        return None;
    }
    let (outward, inward) = compact.split_at(b.len() - 3);
    let i = inward.as_bytes();
    if !(i[0].is_ascii_digit() && i[1].is_ascii_uppercase() && i[2].is_ascii_uppercase()) {
        return None;
    }
    // Outward code shapes: A9, A99, AA9, AA99, A9A, AA9A.
    let shape: String = outward
        .bytes()
        .map(|c| {
            if c.is_ascii_uppercase() {
                'A'
            } else if c.is_ascii_digit() {
                '9'
            } else {
                '?'
            }
        })
        .collect();
    if !matches!(shape.as_str(), "A9" | "A99" | "AA9" | "AA99" | "A9A" | "AA9A") {
        return None;
    }
    Some(format!("{outward} {inward}"))
}

/// Normalises the start of a postcode used as a filter (`st3` → `ST3`).
pub fn postcode_prefix(s: &str) -> String {
    s.trim().to_ascii_uppercase()
}

/// The `YYYYMMDD` dates of ODS files; empty means none.
pub fn parse_ods_date(s: &str) -> Result<Option<NaiveDate>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y%m%d").map(Some).map_err(|_| format!("`{s}` is not a YYYYMMDD date"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postcodes() {
        assert_eq!(normalise_postcode("st3 1aa").as_deref(), Some("ST3 1AA"));
        assert_eq!(normalise_postcode("WS13 6JR").as_deref(), Some("WS13 6JR"));
        assert_eq!(normalise_postcode("EC1A1BB").as_deref(), Some("EC1A 1BB"));
        assert_eq!(normalise_postcode("W1A 0AX").as_deref(), Some("W1A 0AX"));
        assert_eq!(normalise_postcode("12345"), None);
        assert_eq!(normalise_postcode("ST3"), None);
        assert_eq!(normalise_postcode("ST3 1A1"), None);
        assert_eq!(normalise_postcode("ÄT3 1AA"), None);
    }

    #[test]
    fn control_characters_found_while_serialising() {
        for (text, refused) in [
            ("plain", false),
            ("lines\nand\ttabs\r", false),
            ("nul\u{0}", true),
            ("bell\u{7}", true),
            ("backspace\u{8}", true),
            ("form feed\u{c}", true),
            ("escape\u{1b}", true),
            ("delete\u{7f}", true),
            ("c1\u{85}", true),
            ("é and ü and \u{a0}", false),
            ("a backslash \\u0000 in the text", false),
        ] {
            assert_eq!(any_control_chars(&serde_json::json!({"q": text})), refused, "{text:?}");
            assert_eq!(has_control_chars(text), refused, "{text:?}");
        }
    }

    #[test]
    fn codes() {
        assert!(is_practice_ods_code("M83001"));
        assert!(!is_practice_ods_code("m83001"));
        assert!(!is_practice_ods_code("M8300"));
        assert!(!is_practice_ods_code("MM3001"));
        assert!(is_org_code("ICT-MEIR"));
        assert!(!is_org_code("-X"));
        assert!(!is_org_code("ict"));
        assert!(is_slug("physician-associate"));
        assert!(!is_slug("Physician"));
        assert!(is_ods_code("05G"));
        assert!(!is_ods_code("5"));
    }
}
