//! Tests of the ODS import against real databases (SQLite always, PostgreSQL when
//! TEST_DATABASE_URL is set). A child module of `ods`, kept out of `src/`.
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
    use affiliations::dsl as a;
    let rows: Vec<(String, String, NaiveDate, Option<NaiveDate>)> = db
        .read(|c| {
            Ok(a::affiliations
                .filter(a::kind.eq(AffiliationKind::CommissionedBy.as_str()))
                .order((a::member_code, a::parent_code, a::start_date))
                .select((a::member_code, a::parent_code, a::start_date, a::end_date))
                .load(c)?)
        })
        .unwrap();
    rows.into_iter()
        .map(|(ods_code, commissioner_code, start_date, end_date)| MembershipRow {
            ods_code,
            commissioner_code,
            start_date,
            end_date,
        })
        .collect()
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
    import_reader(db, "memory.csv", epraccur.as_bytes(), m.as_mut().map(|r| ("epcmem.csv", r as &mut dyn Read)), opts)
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
        assert_eq!(a.address_lines.as_deref(), Some("THE HEALTH CENTRE\nLAWSON STREET\nSTOCKTON-ON-TEES\nCLEVELAND"));
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
        assert_eq!((r.memberships_inserted, r.memberships_updated, r.memberships_unchanged), (0, 0, 31_015), "{label}");
        assert_eq!(all_practices(db), first, "{label}: a second run must not touch any practice");
        assert_eq!(all_memberships(db), memberships);

        // Locally held knowledge the file does not carry must survive a re-import, and a
        // practice missing from the file must be left alone.
        db.write(|c| {
            diesel::update(practice_details::table.filter(practice_details::code.eq("A81002")))
                .set(practice_details::list_size.eq(Some(9_000)))
                .execute(c)?;
            diesel::update(organisations::table.filter(organisations::code.eq("A81003")))
                .set(organisations::status.eq("merged"))
                .execute(c)?;
            diesel::update(practice_details::table.filter(practice_details::code.eq("A81003")))
                .set(practice_details::merged_into.eq(Some("A81001")))
                .execute(c)?;
            let mut own = practice_from_file(
                None,
                &practice_from_fields(&fields(
                    r#""Z99999","NOT IN ODS","Y63","Q74","","","","","","ST3 1AA","20200101","","A","B","05G","","","","","","","0","","","","4","""#,
                ))
                .unwrap()
                .unwrap(),
                crate::now(),
            );
            own.source = "api".to_string();
            insert_practices(c, std::slice::from_ref(&own))?;
            Ok(())
        })
        .unwrap();
        let a81002 = practice(db, "A81002");
        let z = practice(db, "Z99999");

        // A copy with one practice's telephone and one membership's end date changed.
        let practices_text = std::fs::read_to_string(EPRACCUR_2019).unwrap().replace("01642 679681", "01642 000000");
        let epcmem_text = std::fs::read_to_string(EPCMEM_2019)
            .unwrap()
            .replace(r#""A81003","00K","W","20130401","20171031""#, r#""A81003","00K","W","20130401","20171130""#);
        let r = import_str(db, &practices_text, Some(&epcmem_text), &opts()).unwrap();
        assert_eq!((r.inserted, r.updated, r.unchanged), (0, 1, 8_200), "{label}");
        assert_eq!((r.memberships_inserted, r.memberships_updated, r.memberships_unchanged), (0, 1, 31_014), "{label}");
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
        assert_eq!((after.id.as_str(), after.version, after.created_at), (before.id.as_str(), 2, before.created_at));
        assert_eq!((after.icb_code.as_deref(), after.commissioner_code.as_deref()), (Some("QHM"), Some("16C")));
        assert_eq!(all_memberships(db).len(), 2);

        let r = import_str(db, CURRENT_A81001, Some(epcmem), &opts()).unwrap();
        assert_eq!((r.updated, r.unchanged, r.memberships_updated, r.memberships_unchanged), (0, 1, 0, 2));
        assert_eq!(practice(db, "A81001"), after);
    }
}

#[test]
fn a_merged_practice_that_ods_reports_open_is_no_longer_merged() {
    let current =
        practice_from_file(None, &practice_from_fields(&fields(LEGACY_A81001)).unwrap().unwrap(), crate::now());
    let merged = PracticeRow { status: "merged".into(), merged_into: Some("A81002".into()), ..current };
    let open = practice_from_fields(&fields(LEGACY_A81001)).unwrap().unwrap();
    let next = practice_from_file(Some(&merged), &open, crate::now());
    assert_eq!((next.status.as_str(), next.merged_into), ("active", None));
    let closed = OdsPractice { status: PracticeStatus::Closed, ..open };
    let next = practice_from_file(Some(&merged), &closed, crate::now());
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
