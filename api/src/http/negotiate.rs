//! Content negotiation by `Accept`: which representation a request gets, or 406.

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::error::{ApiError, ApiResult};

/// The representations the API serves. Lists offer all three; a single record is JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Ndjson,
}

impl Format {
    pub const LIST: &'static [Format] = &[Format::Json, Format::Csv, Format::Ndjson];
    pub const ONE: &'static [Format] = &[Format::Json];

    pub fn media_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv",
            Format::Ndjson => "application/x-ndjson",
        }
    }

    /// The `Content-Type` a response in this format carries.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8; header=present",
            Format::Ndjson => "application/x-ndjson",
        }
    }
}

/// How well one media range of an `Accept` header matches a media type: `None` when it does
/// not, else (specificity, q) so that `text/csv;q=0` beats `*/*` for `text/csv`.
fn range_matches(range: &str, media_type: &str) -> Option<u8> {
    let (want_type, want_sub) = range.split_once('/')?;
    let (have_type, have_sub) = media_type.split_once('/')?;
    match (want_type.trim(), want_sub.trim()) {
        ("*", "*") => Some(0),
        (t, "*") if t.eq_ignore_ascii_case(have_type) => Some(1),
        (t, s) if t.eq_ignore_ascii_case(have_type) && s.eq_ignore_ascii_case(have_sub) => Some(2),
        _ => None,
    }
}

/// The quality a request's `Accept` gives a media type (RFC 9110 §12.5.1): the q of the most
/// specific range that matches it, 0 when none does. No `Accept` accepts anything.
fn quality(accept: &[(String, f32)], media_type: &str) -> f32 {
    accept
        .iter()
        .filter_map(|(range, q)| range_matches(range, media_type).map(|spec| (spec, *q)))
        .max_by_key(|(spec, _)| *spec)
        .map(|(_, q)| q)
        .unwrap_or(0.0)
}

fn parse_accept(req: &HttpRequest) -> Option<Vec<(String, f32)>> {
    let mut ranges = Vec::new();
    for value in req.headers().get_all(header::ACCEPT).filter_map(|v| v.to_str().ok()) {
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let mut parts = item.split(';');
            let range = parts.next().unwrap_or("").trim().to_string();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0)
                .clamp(0.0, 1.0);
            ranges.push((range, q));
        }
    }
    (!ranges.is_empty()).then_some(ranges)
}

/// The offered media type the client's `Accept` prefers (the first offered wins a tie, and
/// with no `Accept` the first is it); `None` when it accepts none of them.
pub fn preferred<'a>(req: &HttpRequest, offered: &[&'a str]) -> Option<&'a str> {
    let Some(accept) = parse_accept(req) else {
        return offered.first().copied();
    };
    let mut best: Option<(&str, f32)> = None;
    for m in offered {
        let q = quality(&accept, m);
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((m, q));
        }
    }
    best.map(|(m, _)| m)
}

/// The offered format the client prefers (the first offered wins a tie), or 406.
pub fn negotiate(req: &HttpRequest, offered: &[Format]) -> ApiResult<Format> {
    let Some(accept) = parse_accept(req) else {
        return Ok(offered[0]);
    };
    let mut best: Option<(Format, f32)> = None;
    for f in offered {
        // A problem document is JSON: asking for it alone still gets JSON.
        let q = quality(&accept, f.media_type()).max(if *f == Format::Json {
            quality(&accept, "application/problem+json")
        } else {
            0.0
        });
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((*f, q));
        }
    }
    best.map(|(f, _)| f).ok_or_else(|| {
        let types: Vec<&str> = offered.iter().map(|f| f.media_type()).collect();
        ApiError::NotAcceptable(format!("this resource is available as {}", types.join(", ")))
    })
}
