//! Cursors: timestamps written as chrono wrote them, and encoded cursors read back.

use chrono::{NaiveDate, NaiveDateTime};

use super::*;

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, micro: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, mo, d).and_then(|d| d.and_hms_micro_opt(h, mi, s, micro)).expect("a valid instant")
}

#[test]
fn timestamps_are_written_as_chrono_writes_them_and_read_back() {
    for t in [
        at(2026, 11, 25, 17, 53, 18, 918_123),
        at(2026, 1, 5, 0, 0, 0, 0),
        at(999, 12, 31, 23, 59, 59, 1),
        at(2024, 2, 29, 9, 7, 3, 500_000),
    ] {
        let ours = fmt_timestamp(&t);
        assert_eq!(ours, t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string());
        assert_eq!(parse_timestamp(&ours).expect("parses"), t);
    }
}

#[test]
fn cursors_round_trip_and_keep_their_sort() {
    let c = Cursor { sort: "-name".into(), value: "Meir \"Health\" Centre".into(), id: "x1".into() };
    let s = c.encode();
    assert_eq!(Cursor::decode(&s, "-name").expect("same sort"), c);
    assert_eq!(Cursor::decode_any(&s).expect("any sort"), c);
    assert!(Cursor::decode(&s, "name").is_err(), "another sort order");
    assert!(Cursor::decode_any("not a cursor").is_err());
}
