//! Demo data for the embedded default: the real 2019 NHS ODS extract (Open Government
//! Licence v3.0) plus demo groupings grounded in it — the North Staffordshire and Suffolk
//! GP federations and four Staffordshire and Stoke-on-Trent ICTs — and synthetic placements
//! (source `demo`, staff references `DEMO-…`).

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::actor::Actor;
use crate::audit::{self, Action};
use crate::db::{Db, DbConnection};
use crate::domain::crud::{self, Entity};
use crate::error::{DomainError, DomainResult};
use crate::models::federation::{FederationInput, FederationRow, PcnInput, PcnRow};
use crate::models::ict::{IctRow, IctStatus, IntegratedCareTeamInput};
use crate::models::membership::{
    FederationMembershipInput, FederationMembershipRow, IctMembershipInput, IctMembershipRow, PartnerServiceInput,
    PartnerServiceKind, PartnerServiceRow, PcnMembershipInput, PcnMembershipRow,
};
use crate::models::organisation::ensure_external;
use crate::models::placement::{Funding, HostType, PlacementInput, PlacementRow};
use crate::models::SOURCE_DEMO;
use crate::ods::{import_reader, ImportOptions};
use crate::tables::practices;

const EPRACCUR: &[u8] = include_bytes!("../data/ods/epraccur-2019.csv");
const EPCMEM: &[u8] = include_bytes!("../data/ods/epcmem-2019.csv");

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// Validates and inserts one record, letting `tweak` mark it as demo data; its audit row
/// waits in `journal`, written when the transaction has done its other writes (numbering
/// audit rows locks out other writers until commit).
fn add<E: Entity>(
    c: &mut DbConnection,
    actor: &Actor,
    journal: &mut Vec<audit::Pending>,
    input: E::Input,
    tweak: impl FnOnce(&mut E),
) -> DomainResult<E> {
    let mut rec = E::build(c, input, None)?;
    rec.on_create(actor);
    tweak(&mut rec);
    rec.insert(c)?;
    journal.push(crud::pending(Action::Create, None, &rec));
    Ok(rec)
}

/// Active GP practices matching a filter, in ODS code order.
fn active_practices(
    c: &mut DbConnection,
    commissioners: &[&str],
    postcode_prefixes: &[&str],
) -> DomainResult<Vec<String>> {
    let mut q = practices::table
        .filter(practices::status.eq("active"))
        .select(practices::ods_code)
        .order(practices::ods_code)
        .into_boxed();
    if !commissioners.is_empty() {
        q = q.filter(
            practices::commissioner_code.eq_any(commissioners.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        );
    }
    if !postcode_prefixes.is_empty() {
        let mut cond: Box<dyn BoxableExpression<practices::table, _, SqlType = diesel::sql_types::Bool>> =
            Box::new(practices::postcode.like(format!("{}%", postcode_prefixes[0])));
        for p in &postcode_prefixes[1..] {
            cond = Box::new(cond.or(practices::postcode.like(format!("{p}%"))));
        }
        q = q.filter(cond);
    }
    Ok(q.load(c)?)
}

/// Loads the demo when the database holds no practices. Returns a one-line summary, or
/// `None` when the database already had data (so restarts never duplicate it).
pub fn load_if_empty(db: &Db) -> DomainResult<Option<String>> {
    let existing: i64 = db.read(|c| Ok(practices::table.count().get_result(c)?))?;
    if existing > 0 {
        return Ok(None);
    }
    let opts = ImportOptions { strict: false, actor: "demo".to_string() };
    let report = import_reader(db, "epraccur-2019.csv", EPRACCUR, Some(("epcmem-2019.csv", &mut &EPCMEM[..])), &opts)?;
    let actor = Actor::system("demo");
    let counts = db.write(|c| groupings(c, &actor))?;
    db.analyze()?;
    Ok(Some(format!(
        "{} practices and {} commissioner memberships from the 2019 ODS extract; {counts}",
        report.inserted, report.memberships_inserted
    )))
}

struct IctSeed {
    code: &'static str,
    name: &'static str,
    locality: &'static str,
    population: i32,
    status: IctStatus,
    start: NaiveDate,
    postcodes: &'static [&'static str],
}

fn groupings(c: &mut DbConnection, actor: &Actor) -> DomainResult<String> {
    let mut journal = Vec::new();
    let journal = &mut journal;
    let demo_fed = |r: &mut FederationRow| r.0.source = SOURCE_DEMO.to_string();
    add::<FederationRow>(
        c,
        actor,
        journal,
        FederationInput {
            code: "NSGPF".into(),
            name: "North Staffordshire GP Federation".into(),
            icb_code: Some("QNC".into()),
            description: Some("Demo grouping: the active practices of commissioner 05G (North Staffordshire).".into()),
            ..Default::default()
        },
        demo_fed,
    )?;
    add::<FederationRow>(
        c,
        actor,
        journal,
        FederationInput {
            code: "SGPF".into(),
            name: "Suffolk GP Federation".into(),
            icb_code: Some("QJG".into()),
            description: Some(
                "Demo grouping: the active practices of commissioners 06L and 07K (Ipswich and East, West Suffolk)."
                    .into(),
            ),
            ..Default::default()
        },
        demo_fed,
    )?;
    let mut memberships = 0;
    for (fed, comms) in [("NSGPF", &["05G"][..]), ("SGPF", &["06L", "07K"][..])] {
        for ods in active_practices(c, comms, &[])? {
            let input = FederationMembershipInput {
                federation_code: fed.into(),
                ods_code: ods,
                start_date: date(2016, 4, 1).into(),
                end_date: None,
            };
            add::<FederationMembershipRow>(c, actor, journal, input, |_| {})?;
            memberships += 1;
        }
    }

    let icts = [
        IctSeed {
            code: "ICT-MEIR",
            name: "Meir Integrated Care Team",
            locality: "Meir, Weston Coyney and Longton, Stoke-on-Trent (ST3)",
            population: 52_000,
            status: IctStatus::EarlyAdopter,
            start: date(2025, 4, 1),
            postcodes: &["ST3 "],
        },
        IctSeed {
            code: "ICT-LICHFIELD",
            name: "Lichfield Integrated Care Team",
            locality: "Lichfield city and surrounding villages (WS13, WS14)",
            population: 48_000,
            status: IctStatus::EarlyAdopter,
            start: date(2025, 4, 1),
            postcodes: &["WS13 ", "WS14 "],
        },
        IctSeed {
            code: "ICT-LEEK",
            name: "Leek Integrated Care Team",
            locality: "Leek and the Staffordshire Moorlands (ST13)",
            population: 36_000,
            status: IctStatus::Planned,
            start: date(2026, 4, 1),
            postcodes: &["ST13 "],
        },
        IctSeed {
            code: "ICT-BIDDULPH",
            name: "Biddulph Integrated Care Team",
            locality: "Biddulph (ST8)",
            population: 31_000,
            status: IctStatus::Planned,
            start: date(2026, 4, 1),
            postcodes: &["ST8 "],
        },
    ];
    // The NHS trusts the demo's partner services and split posts name, by their ODS codes.
    for (code, name) in [
        ("RRE", "Midlands Partnership University NHS Foundation Trust"),
        ("RLY", "North Staffordshire Combined Healthcare NHS Trust"),
        ("RJE", "University Hospitals of North Midlands NHS Trust"),
    ] {
        ensure_external(c, code, name, SOURCE_DEMO)?;
    }
    let mut ict_members = 0;
    let mut services = 0;
    let mut pcn_codes: Vec<String> = Vec::new();
    let mut pcn_members = 0;
    for seed in &icts {
        add::<IctRow>(
            c,
            actor,
            journal,
            IntegratedCareTeamInput {
                code: seed.code.into(),
                name: seed.name.into(),
                icb_code: Some("QNC".into()),
                locality: Some(seed.locality.into()),
                population: Some(seed.population),
                status: Some(seed.status),
            },
            |r| r.source = SOURCE_DEMO.to_string(),
        )?;
        let members = active_practices(c, &[], seed.postcodes)?;
        for ods in &members {
            let input = IctMembershipInput {
                ict_code: seed.code.into(),
                ods_code: ods.clone(),
                start_date: seed.start.into(),
                end_date: None,
            };
            add::<IctMembershipRow>(c, actor, journal, input, |_| {})?;
            ict_members += 1;
        }
        // Demo PCNs: the ICT's practices in one network, or two for a large ICT (alternate
        // practices, in ODS code order), each practice in exactly one.
        let halves: &[&str] = if members.len() >= 8 { &["North", "South"] } else { &[""] };
        for (h, half) in halves.iter().enumerate() {
            let place = seed.name.trim_end_matches(" Integrated Care Team");
            let code = demo_pcn_code(pcn_codes.len());
            add::<PcnRow>(
                c,
                actor,
                journal,
                PcnInput {
                    code: code.clone(),
                    name: format!("{place}{}{half} PCN (demo)", if half.is_empty() { "" } else { " " }),
                    icb_code: Some("QNC".into()),
                    description: Some(format!(
                        "Demo Primary Care Network: practices of {}; not a real PCN, and its code is not a real ODS code.",
                        seed.name
                    )),
                    ..Default::default()
                },
                |r| r.0.source = SOURCE_DEMO.to_string(),
            )?;
            pcn_codes.push(code.clone());
            for ods in members.iter().skip(h).step_by(halves.len()) {
                let input = PcnMembershipInput {
                    pcn_code: code.clone(),
                    ods_code: ods.clone(),
                    start_date: PCN_START.into(),
                    end_date: None,
                };
                add::<PcnMembershipRow>(c, actor, journal, input, |_| {})?;
                pcn_members += 1;
            }
        }
        let partners: [(&str, PartnerServiceKind, Option<&str>); 4] = [
            ("Community nursing and therapies", PartnerServiceKind::Community, Some("RRE")),
            ("Community mental health team", PartnerServiceKind::MentalHealth, Some("RLY")),
            ("Adult social care", PartnerServiceKind::SocialCare, None),
            ("Voluntary sector partnership", PartnerServiceKind::Voluntary, None),
        ];
        for (name, kind, org) in partners {
            let input = PartnerServiceInput {
                ict_code: seed.code.into(),
                name: name.into(),
                kind,
                organisation_code: org.map(str::to_string),
                start_date: seed.start.into(),
                end_date: None,
            };
            add::<PartnerServiceRow>(c, actor, journal, input, |_| {})?;
            services += 1;
        }
    }

    let placements = placements(c, actor, journal, &pcn_codes)?;
    audit::record_all(c, actor, std::mem::take(journal))?;
    Ok(format!(
        "2 federations with {memberships} member practices, {} ICTs with {ict_members} member practices and {services} partner services, {} PCNs with {pcn_members} member practices, {placements} demo placements",
        icts.len(),
        pcn_codes.len()
    ))
}

/// The day Primary Care Networks began (the 2019 network contract).
const PCN_START: NaiveDate = match NaiveDate::from_ymd_opt(2019, 7, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// The code of the `n`th demo PCN: the ODS PCN shape (`U` and five digits) from the top of
/// the range, `U99901` on, so the demo never borrows a code it could be mistaken for; the
/// names say `(demo)` and the source is `demo`.
pub fn demo_pcn_code(n: usize) -> String {
    format!("U999{:02}", n + 1)
}

struct Post<'a> {
    staff_ref: String,
    role: &'a str,
    programme: Option<&'a str>,
    host_type: HostType,
    host_code: Option<String>,
    host_name: Option<&'a str>,
    hours: f64,
    start: NaiveDate,
    end: Option<NaiveDate>,
    funding: Funding,
}

fn placements(
    c: &mut DbConnection,
    actor: &Actor,
    journal: &mut Vec<audit::Pending>,
    pcns: &[String],
) -> DomainResult<usize> {
    let north_staffs = active_practices(c, &["05G"], &[])?;
    let suffolk = active_practices(c, &["06L", "07K"], &[])?;
    let meir = active_practices(c, &[], &["ST3 "])?;
    if north_staffs.len() < 14 || suffolk.len() < 2 || meir.len() < 6 || pcns.len() < 4 {
        return Err(DomainError::Conflict("the ODS extract lacks the practices the demo needs".into()));
    }
    let mut posts = Vec::new();
    // A physician associate internship cohort of 8: three days in general practice (half in
    // North Staffordshire, half in the Meir ICT), two in an acute or mental health team.
    let intern_hosts = north_staffs.iter().take(4).chain(meir.iter().take(4));
    for (i, practice) in intern_hosts.enumerate() {
        let staff_ref = format!("DEMO-PA-INT-{:02}", i + 1);
        let (start, end) = (date(2026, 9, 1), Some(date(2027, 8, 31)));
        posts.push(Post {
            staff_ref: staff_ref.clone(),
            role: "physician-associate",
            programme: Some("pa-internship"),
            host_type: HostType::Practice,
            host_code: Some(practice.clone()),
            host_name: None,
            hours: 22.5,
            start,
            end,
            funding: Funding::Programme,
        });
        let (name, code) = if i % 2 == 0 {
            ("University Hospitals of North Midlands, acute medicine", "RJE")
        } else {
            ("North Staffordshire Combined Healthcare, community mental health team", "RLY")
        };
        posts.push(Post {
            staff_ref,
            role: "physician-associate",
            programme: Some("pa-internship"),
            host_type: HostType::External,
            host_code: Some(code.into()),
            host_name: Some(name),
            hours: 15.0,
            start,
            end,
            funding: Funding::Programme,
        });
    }
    // Two physician associates retained in general practice after their internship.
    for i in 0..2 {
        posts.push(Post {
            staff_ref: format!("DEMO-PA-RET-{:02}", i + 1),
            role: "physician-associate",
            programme: Some("pa-in-general-practice"),
            host_type: HostType::Practice,
            host_code: Some(north_staffs[8 + i].clone()),
            host_name: None,
            hours: 37.5,
            start: date(2025, 9, 1),
            end: None,
            funding: Funding::Arrs,
        });
    }
    let hosted =
        |staff: &str, role: &'static str, host_type: HostType, code: &str, hours: f64, start: NaiveDate| Post {
            staff_ref: staff.to_string(),
            role,
            programme: Some("additional-roles-reimbursement"),
            host_type,
            host_code: Some(code.to_string()),
            host_name: None,
            hours,
            start,
            end: None,
            funding: Funding::Arrs,
        };
    posts.push(hosted("DEMO-CP-01", "clinical-pharmacist", HostType::Federation, "NSGPF", 37.5, date(2023, 4, 1)));
    posts.push(hosted("DEMO-CP-02", "clinical-pharmacist", HostType::Federation, "NSGPF", 30.0, date(2024, 1, 8)));
    posts.push(hosted("DEMO-CP-03", "clinical-pharmacist", HostType::Ict, "ICT-MEIR", 37.5, date(2025, 6, 2)));
    posts.push(hosted("DEMO-CP-04", "clinical-pharmacist", HostType::Federation, "SGPF", 37.5, date(2022, 10, 3)));
    posts.push(hosted(
        "DEMO-FCP-01",
        "msk-first-contact-practitioner",
        HostType::Ict,
        "ICT-LICHFIELD",
        30.0,
        date(2025, 5, 6),
    ));
    posts.push(hosted(
        "DEMO-FCP-02",
        "msk-first-contact-practitioner",
        HostType::Federation,
        "NSGPF",
        37.5,
        date(2023, 9, 4),
    ));
    posts.push(hosted(
        "DEMO-FCP-03",
        "msk-first-contact-practitioner",
        HostType::Federation,
        "SGPF",
        22.5,
        date(2024, 2, 5),
    ));
    // Additional roles staff employed by the PCNs.
    let pcn = |n: usize| pcns[n % pcns.len()].clone();
    posts.push(hosted("DEMO-PCN-CP-01", "clinical-pharmacist", HostType::Pcn, &pcn(0), 37.5, date(2021, 4, 1)));
    posts.push(hosted("DEMO-PCN-CP-02", "clinical-pharmacist", HostType::Pcn, &pcn(1), 30.0, date(2022, 9, 5)));
    posts.push(hosted(
        "DEMO-PCN-SPLW-01",
        "social-prescribing-link-worker",
        HostType::Pcn,
        &pcn(0),
        37.5,
        date(2020, 1, 6),
    ));
    posts.push(hosted(
        "DEMO-PCN-SPLW-02",
        "social-prescribing-link-worker",
        HostType::Pcn,
        &pcn(3),
        22.5,
        date(2023, 3, 1),
    ));
    posts.push(hosted("DEMO-PCN-PA-01", "physician-associate", HostType::Pcn, &pcn(2), 37.5, date(2024, 10, 1)));
    posts.push(hosted("DEMO-PCN-PA-02", "physician-associate", HostType::Pcn, &pcn(3), 30.0, date(2025, 2, 3)));
    // GP retainers work a few sessions a week; returners come back through the induction scheme.
    for i in 0..3 {
        let host = if i < 2 { meir[4 + i].clone() } else { suffolk[0].clone() };
        posts.push(Post {
            staff_ref: format!("DEMO-GPR-{:02}", i + 1),
            role: "gp-retainer",
            programme: Some("gp-retainer-scheme"),
            host_type: HostType::Practice,
            host_code: Some(host),
            host_name: None,
            hours: 15.0,
            start: date(2024, 4, 1),
            end: Some(date(2029, 3, 31)),
            funding: Funding::Programme,
        });
    }
    for i in 0..2 {
        let host = if i == 0 { north_staffs[13].clone() } else { suffolk[1].clone() };
        posts.push(Post {
            staff_ref: format!("DEMO-IRS-{:02}", i + 1),
            role: "returning-gp",
            programme: Some("induction-and-returner-scheme"),
            host_type: HostType::Practice,
            host_code: Some(host),
            host_name: None,
            hours: 30.0,
            start: date(2026, 6, 1),
            end: Some(date(2026, 12, 31)),
            funding: Funding::Programme,
        });
    }
    let n = posts.len();
    for p in posts {
        let input = PlacementInput {
            staff_ref: p.staff_ref,
            role_code: p.role.into(),
            programme_code: p.programme.map(str::to_string),
            host_type: p.host_type,
            host_code: p.host_code,
            host_name: p.host_name.map(str::to_string),
            hours_per_week: p.hours,
            start_date: p.start.into(),
            end_date: p.end.map(Into::into),
            funding: Some(p.funding),
            notes: Some("Synthetic demonstration record".into()),
            registration_body: None,
            registration_number: None,
        };
        add::<PlacementRow>(c, actor, journal, input, |r| r.source = SOURCE_DEMO.to_string())?;
    }
    Ok(n)
}
