//! The simulator: a network of warehouses operating normally for some days,
//! with theft and misuse scenarios and benign look-alikes mixed in, written
//! as the customers' systems would deliver it, plus `truth.json`.
//!
//! One job per module: [`rng`] the random source, [`config`] what to
//! simulate, `network` the sites and their reference data, `process` a
//! normal working day, `scenarios` the injected instances, and the encoders
//! `feeds` (NDJSON, EPCIS) and `exports` (CSV). See `docs/SIMULATOR.md`.
//!
//! Invariants: the same configuration (seed included) gives byte-identical
//! output; every event refers only to entities of the reference data; the
//! book never goes negative from normal operations.

use crate::truth::{EventRef, Instance, Scenario, TRUTH_FORMAT, Truth};
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use stockade_model::event::*;
use stockade_model::{Event, EventBody, EventId, IdError, SiteId, SourceId};

mod body;
pub mod config;
mod exports;
mod feeds;
mod network;
mod process;
pub mod rng;
mod scenarios;

use body::*;
pub use config::{Config, ConfigError, Params, ScenarioSpec, parse_scenario};
use exports::*;
use feeds::*;
use network::*;
use process::*;
pub use rng::Rng;
use scenarios::*;

/// The simulator's output, held in memory.
pub struct Output {
    pub reference_yaml: String,
    /// (file name, NDJSON content), one per source system.
    pub feeds: Vec<(String, String)>,
    /// (file name under `epcis/`, document), with EPCIS delivery.
    pub epcis: Vec<(String, String)>,
    /// Other files (CSV exports and their mappings, under `csv/`).
    pub files: Vec<(String, String)>,
    pub truth: Truth,
    pub events: u64,
}

/// What a run produced besides the feeds it wrote.
pub struct Summary {
    pub reference_yaml: String,
    pub truth: Truth,
    pub events: u64,
}

/// Why a simulation failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("writing the feeds: {0}")]
    Io(#[from] std::io::Error),
}

/// The feed files, in the order [`simulate_into`] takes their writers.
pub fn feed_names() -> [String; 6] {
    SOURCES.map(|s| format!("{s}.ndjson"))
}

/// Runs the simulation in memory.
pub fn simulate(cfg: &Config) -> Result<Output, SimError> {
    let mut bufs: [Vec<u8>; 6] = Default::default();
    let (mut epcis, mut files) = (Vec::new(), Vec::new());
    let summary = {
        let [a, b, c, d, e, g] = &mut bufs;
        let mut keep = |name: &str, bytes: &[u8]| {
            let file = (name.to_owned(), String::from_utf8_lossy(bytes).into_owned());
            if name.starts_with("epcis/") {
                epcis.push(file)
            } else {
                files.push(file)
            }
            Ok(())
        };
        simulate_into(cfg, [a, b, c, d, e, g], &mut keep)?
    };
    let feeds = feed_names()
        .into_iter()
        .zip(bufs)
        .map(|(name, body)| (name, String::from_utf8(body).unwrap_or_default()))
        .collect();
    Ok(Output {
        reference_yaml: summary.reference_yaml,
        feeds,
        epcis,
        files,
        truth: summary.truth,
        events: summary.events,
    })
}

fn local(tz: &Tz, date: NaiveDate, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    let t = date.and_time(NaiveTime::from_hms_opt(h % 24, m % 60, s % 60).unwrap_or_default());
    match tz.from_local_datetime(&t) {
        chrono::LocalResult::Single(x) | chrono::LocalResult::Ambiguous(x, _) => x.with_timezone(&Utc),
        // In a spring-forward gap: an hour later exists.
        chrono::LocalResult::None => (tz.from_local_datetime(&(t + Duration::hours(1))).earliest())
            .map(|x| x.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&t)),
    }
}

fn fixed(t: DateTime<Utc>, tz: &Tz) -> DateTime<FixedOffset> {
    t.with_timezone(tz).fixed_offset()
}

/// Runs the simulation, streaming each source system's feed into its writer
/// (in [`feed_names`] order) as the days are generated.
pub fn simulate_into<'a>(
    cfg: &Config,
    sinks: [&'a mut dyn std::io::Write; 6],
    docs: &'a mut dyn FnMut(&str, &[u8]) -> std::io::Result<()>,
) -> Result<Summary, SimError> {
    cfg.check()?;
    let mut rng = Rng::new(cfg.seed);
    let (mut sites, yaml) = network::build(cfg)?;

    let skew_s = [0, rng.range(-20, 20), rng.range(-5, 5), 0, 0, rng.range(-60, 60)];
    let mut feeds = Feeds {
        arena: Vec::new(),
        day: Vec::new(),
        seq: [0; 6],
        out: sinks,
        skew_s,
        failed: None,
        epcis: cfg.epcis.then(|| vec![String::new(); cfg.sites as usize]),
        docs,
        epcis_seq: 0,
        csv: cfg.csv.then(|| Exports::new(cfg.sites as usize)),
        tag: format!("{:x}", cfg.seed),
    };
    // Scenario plan: (day, site, scenario, spec), spread over the period.
    let defaults = Params::default();
    let mut plan = Vec::new();
    for s in Scenario::ALL {
        let specs: Vec<(usize, &ScenarioSpec)> =
            cfg.scenarios.iter().enumerate().filter(|(_, x)| x.scenario == s).map(|(i, x)| (i + 1, x)).collect();
        let runs: Vec<(usize, u32, &Params)> = if specs.is_empty() {
            vec![(0, cfg.per_scenario, &defaults)]
        } else {
            specs.iter().map(|(i, x)| (*i, x.count, &x.params)).collect()
        };
        for (spec, count, p) in runs {
            // Terminations need days before the misuse.
            let first = if s == Scenario::TerminatedBadgeInUse { p.days.unwrap_or(1) } else { 0 };
            for _ in 0..count {
                if cfg.days > first {
                    let day = match p.day {
                        Some(d) => d - 1,
                        None => rng.range(i64::from(first), i64::from(cfg.days) - 1) as u32,
                    };
                    let site = match p.site {
                        Some(n) => n as usize - 1,
                        None => rng.below(u64::from(cfg.sites)) as usize,
                    };
                    plan.push((day, site, s, spec));
                }
            }
        }
    }
    plan.sort_by_key(|p| (p.0, p.1, p.2, p.3));
    let mut instances = Vec::new();
    let mut terminated: Vec<Vec<usize>> = vec![Vec::new(); sites.len()];

    // Opening balances: what the storage held before the first day, as the
    // WMS's stock report gives it (a count of each stocked place, `opening`;
    // a stock-take in EPCIS, which opens a place nothing moved at before).
    for site in sites.iter_mut() {
        let at = local(&site.tz, cfg.start, 5, 0, 0);
        for loc in 0..(AISLES + CAGE_BINS) as usize {
            for _ in 0..5 {
                let k = rng.below(u64::from(SKUS)) as usize;
                site.stock[loc][k] += rng.range(100, 300);
            }
            for k in 0..SKUS as usize {
                let q = site.stock[loc][k];
                if q == 0 {
                    continue;
                }
                let body = || counted_at(&sku_id(k), &site.locations[loc], q, CountType::Opening, None);
                let m = Stock { step: "stock_taking", k, q, at: loc, source: None, destination: None, ndjson: &body };
                feeds.stock(site, at, m);
            }
        }
    }
    for d in 0..cfg.days {
        let date = cfg.start + Duration::days(i64::from(d));
        let weekday = date.weekday();
        let workday = !matches!(weekday, Weekday::Sat | Weekday::Sun);
        for si in 0..sites.len() {
            let absent = sites[si].absent(&terminated[si], date);
            if workday {
                operate_day(&mut sites[si], &absent, d, date, &mut rng, &mut feeds);
            } else if weekday == Weekday::Sat && rng.chance(SATURDAY_RATE) {
                work_saturday(&mut sites[si], &absent, d, date, &mut rng, &mut feeds);
            }
            for &(_, _, scenario, spec) in plan.iter().filter(|p| p.0 == d && p.1 == si) {
                let n = instances.len() + 1;
                let params = if spec == 0 { &defaults } else { &cfg.scenarios[spec - 1].params };
                let last = cfg.start + Duration::days(i64::from(cfg.days) - 1);
                let at = Injection { scenario, params, n, date, last };
                if let Some(inst) = inject(at, &mut sites[si], &mut terminated[si], &mut rng, &mut feeds) {
                    instances.push(inst);
                }
            }
        }
        feeds.flush(&mut rng);
        feeds.flush_epcis(&sites, date);
        if let Some(e) = feeds.failed.take() {
            return Err(SimError::Io(e));
        }
    }
    let tz0 = sites.first().map(|s| s.tz).unwrap_or(chrono_tz::UTC);
    let from = local(&tz0, cfg.start, 0, 0, 0) - Duration::days(1);
    // Multi-day instances (slow skimming) may run past the last simulated day.
    let to = instances
        .iter()
        .map(|i| i.end.with_timezone(&Utc) + Duration::hours(1))
        .fold(local(&tz0, cfg.start + Duration::days(i64::from(cfg.days)), 0, 0, 0) + Duration::days(1), |a, b| {
            a.max(b)
        });
    let truth = Truth {
        format: TRUTH_FORMAT.into(),
        seed: cfg.seed,
        from: from.fixed_offset(),
        to: to.fixed_offset(),
        sites: sites.iter().map(|s| s.id.clone()).collect(),
        instances,
    };
    if let Some(exports) = feeds.csv.take() {
        for (site, rows) in sites.iter().zip(&exports.acs) {
            (feeds.docs)(&format!("csv/acs-{}.csv", site.id), rows.as_bytes())?;
            (feeds.docs)(&format!("csv/acs-{}.mapping.yaml", site.id), csv_mapping(site).as_bytes())?;
        }
        for (spec, w) in EXPORTS.iter().zip(exports.shared) {
            let rows = w.into_inner().map_err(|e| SimError::Io(e.into_error()))?;
            (feeds.docs)(&format!("csv/{}.csv", spec.name), &rows)?;
            (feeds.docs)(&format!("csv/{}.mapping.yaml", spec.name), spec.mapping.as_bytes())?;
        }
    }
    let events = feeds.seq.iter().sum::<u64>() + feeds.epcis_seq;
    for out in feeds.out {
        out.flush()?;
    }
    Ok(Summary { reference_yaml: yaml, truth, events })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(seed: u64) -> Config {
        Config {
            sites: 2,
            days: 7,
            seed,
            start: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default(),
            per_scenario: 2,
            epcis: false,
            csv: false,
            scenarios: Vec::new(),
        }
    }

    /// Every line of every feed is the model's own serialisation of an
    /// event: parsed and written again by the model, it is the same bytes
    /// (the encoders spell no schema of their own).
    #[test]
    fn feeds_are_the_models_serialisation() {
        let out = simulate(&Config { per_scenario: 1, ..cfg(5) }).unwrap();
        let mut kinds = std::collections::BTreeSet::new();
        for (name, feed) in &out.feeds {
            for line in feed.lines() {
                let ev = Event::from_json(line.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}: {line}"));
                assert_eq!(String::from_utf8(ev.canonical_bytes()).unwrap(), line, "{name}");
                kinds.insert(ev.kind().as_str());
            }
        }
        assert!(kinds.len() >= 25, "the feeds carry every family's kinds: {kinds:?}");
    }

    #[test]
    fn scenario_counts_are_parsed_and_applied() {
        let spec = parse_scenario("slow_skimming=3").unwrap();
        assert_eq!((spec.scenario, spec.count, spec.params), (Scenario::SlowSkimming, 3, Params::default()));
        let e = parse_scenario("teleport=1").unwrap_err().to_string();
        assert!(e.contains("unknown scenario") && e.contains("badge_sharing"), "{e}");
        assert!(parse_scenario("tailgating").is_err());
        assert!(parse_scenario("tailgating=-1").is_err());
        let c = Config { per_scenario: 0, scenarios: vec![parse_scenario("tailgating=3").unwrap()], ..cfg(2) };
        let out = simulate(&c).unwrap();
        assert_eq!(out.truth.instances.len(), 3);
        assert!(out.truth.instances.iter().all(|i| i.scenario == Scenario::Tailgating));
    }

    #[test]
    fn scenario_parameters_shape_the_instances() {
        let specs = [
            "slow_skimming=1,days=12,units=2,day=1,site=2",
            "dock_door_held_at_night=1,minutes=90,day=3",
            "privilege_escalation=1,failures=7,hour=3",
            "tailgating=1,people=4",
            "badge_sharing=1,seconds=45",
            "terminated_badge_in_use=1,days=3",
            "camera_offline_before_loss=1,minutes=40,units=1",
        ];
        let scenarios = specs.iter().map(|s| parse_scenario(s).unwrap()).collect();
        let c = Config { per_scenario: 0, scenarios, ..cfg(4) };
        c.check().unwrap();
        let out = simulate(&c).unwrap();
        let one = |s: Scenario| out.truth.instances.iter().find(|i| i.scenario == s).unwrap();
        let lines = |i: &Instance| -> Vec<serde_json::Value> {
            let all: Vec<serde_json::Value> =
                out.feeds.iter().flat_map(|(_, text)| text.lines()).map(|l| serde_json::from_str(l).unwrap()).collect();
            i.events.iter().map(|e| all.iter().find(|v| v["id"] == e.id.as_str()).unwrap().clone()).collect()
        };

        let skim = one(Scenario::SlowSkimming);
        assert_eq!((skim.events.len(), skim.site.as_str()), (12, out.truth.sites[1].as_str()));
        assert_eq!(skim.start.date_naive(), c.start, "day=1 is the first day");
        assert!(lines(skim).iter().all(|v| v["delta"] == -2), "two units a day");
        let held = lines(one(Scenario::DockDoorHeldAtNight));
        assert!(held.iter().any(|v| v["duration_s"] == 5400), "{held:?}");
        let esc = one(Scenario::PrivilegeEscalation);
        assert_eq!(lines(esc).iter().filter(|v| v["result"] == "failure").count(), 7);
        assert_eq!(chrono::Timelike::hour(&esc.start), 3);
        assert!(lines(one(Scenario::Tailgating)).iter().any(|v| v["people"] == 4));
        let shared = one(Scenario::BadgeSharing);
        assert_eq!((shared.end - shared.start).num_seconds(), 45);
        let fired = one(Scenario::TerminatedBadgeInUse);
        assert_eq!((fired.first_signal.date_naive() - fired.start.date_naive()).num_days(), 3);
        let dark = one(Scenario::CameraOfflineBeforeLoss);
        assert_eq!((dark.end - dark.start).num_seconds(), 40 * 60 + 400);
        // The truth the parameters produce passes the truth checks.
        Truth::from_json(&serde_json::to_vec(&out.truth).unwrap()).unwrap();
    }

    #[test]
    fn impossible_scenario_parameters_are_refused_by_name() {
        for (spec, says) in [
            (
                "slow_skimming=1,colour=red",
                "unknown parameter `colour`; slow_skimming takes day, site, hour, days, units",
            ),
            ("slow_skimming=1,days=0", "`days` must be a whole number from 1 to 60, got \"0\""),
            ("tailgating=1,people=1", "`people` must be a whole number from 2 to 20"),
            ("tailgating=1,hour=24", "`hour` must be a whole number from 0 to 23"),
            ("badge_sharing=1,units=3", "unknown parameter `units`"),
            ("tailgating=1,day", "parameter \"day\" needs KEY=VALUE"),
            ("tailgating=1,day=x", "`day` must be a whole number"),
        ] {
            let e = parse_scenario(spec).unwrap_err().to_string();
            assert!(e.contains(says), "{spec}: {e}");
        }
        for (spec, says) in [
            ("tailgating=1,day=8", "day 8 is past the 7-day period"),
            ("tailgating=1,site=3", "site 3, but only 2 simulated"),
            ("terminated_badge_in_use=1,days=3,day=2", "must fall in the period"),
            ("terminated_badge_in_use=1,days=7", "must fall in the period"),
        ] {
            let c = Config { scenarios: vec![parse_scenario(spec).unwrap()], ..cfg(1) };
            let e = c.check().unwrap_err().to_string();
            assert!(e.contains(says), "{spec}: {e}");
        }
    }

    /// With CSV delivery the exports, loaded through the mappings written
    /// beside them, carry exactly the events the NDJSON feeds carry: the
    /// same ids, kinds and fields, at the same instants (and, where the
    /// export keeps it, the same offset).
    #[test]
    fn csv_exports_carry_the_events_of_the_feeds() {
        use std::collections::BTreeMap;
        use stockade_model::Event;
        let plain = simulate(&Config { sites: 2, days: 8, ..cfg(12) }).unwrap();
        let exported = simulate(&Config { sites: 2, days: 8, csv: true, ..cfg(12) }).unwrap();
        let key = |e: &Event| (e.source.as_str().to_owned(), e.id.as_str().to_owned());
        let ndjson = |out: &Output| -> BTreeMap<(String, String), Event> {
            out.feeds
                .iter()
                .flat_map(|(_, text)| text.lines())
                .map(|l| stockade_ingest::parse_line(1, l.as_bytes()).unwrap())
                .map(|e| (key(&e), e))
                .collect()
        };
        let want = ndjson(&plain);
        let mut got = ndjson(&exported);
        let from_feeds = got.len();
        let mut per_export = BTreeMap::new();
        for (name, rows) in exported.files.iter().filter(|(n, _)| n.ends_with(".csv")) {
            let mapping = &exported.files.iter().find(|(n, _)| *n == name.replace(".csv", ".mapping.yaml")).unwrap().1;
            let mapping =
                stockade_ingest::csv_map::CsvMapping::from_yaml(mapping).unwrap_or_else(|e| panic!("{name}: {e}"));
            for (_, e) in mapping.read(rows.as_bytes()).unwrap() {
                let e = e.unwrap_or_else(|e| panic!("{name}: {e}"));
                *per_export.entry(name.clone()).or_insert(0) += 1;
                let utc_only = name.contains("line-crossings") || name.contains("logins");
                let w = &want[&key(&e)];
                let mut e = e;
                if utc_only {
                    assert_eq!(e.occurred_at, w.occurred_at, "{name}: same instant");
                    e.occurred_at = w.occurred_at;
                }
                assert_eq!(&e, w, "{name}");
                got.insert(key(&e), e);
            }
        }
        assert!(from_feeds < want.len(), "some events travel as exports");
        assert_eq!(got.len(), want.len(), "every event is delivered, as a line or a row");
        for name in [
            "acs-S01",
            "acs-S02",
            "iam-logins",
            "iam-api-keys",
            "door-sensors",
            "vms-line-crossings",
            "wms-adjustments",
            "hr-changes",
        ] {
            assert!(per_export.get(&format!("csv/{name}.csv")).copied().unwrap_or(0) > 0, "{name}: {per_export:?}");
        }
    }

    /// With EPCIS delivery every document passes GS1's schema (captured in
    /// one pass, as the whole tree gives) and every event maps to a book movement at a known place, counted in SKUs the
    /// reference data knows.
    #[test]
    fn epcis_documents_validate_and_map_onto_the_book() {
        let c = Config { sites: 1, days: 2, epcis: true, ..cfg(9) };
        let out = simulate(&c).unwrap();
        assert_eq!(out.epcis.len(), 2, "one document per site and day");
        let reference = stockade_ingest::reference_files::from_yaml(&out.reference_yaml).unwrap();
        let dir = stockade_epcis::Directory::new(&reference);
        let source = stockade_model::SourceId::new("epcis").unwrap();
        let mut kinds = std::collections::BTreeMap::new();
        for (name, doc) in &out.epcis {
            let parsed = stockade_epcis::validate(doc.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mapped = stockade_epcis::map_document(&parsed, &dir, &source, None);
            // The capture path (one pass) gives the same events, and takes
            // one pass on the simulator's documents.
            assert!(stockade_epcis::capture::takes_one_pass(doc.as_bytes()), "{name}");
            assert_eq!(
                stockade_epcis::capture_json(doc.as_bytes(), &dir, &source, None).as_ref(),
                Ok(&mapped),
                "{name}"
            );
            for (i, ev) in mapped {
                let ev = ev.unwrap_or_else(|e| panic!("{name} event {i}: {e}"));
                *kinds.entry(ev.kind().as_str()).or_insert(0) += 1;
            }
        }
        assert!(!kinds.contains_key("inventory.observed"), "{kinds:?}");
        for k in
            ["inventory.received", "inventory.put_away", "inventory.picked", "inventory.packed", "inventory.shipped"]
        {
            assert!(kinds.get(k).copied().unwrap_or(0) > 0, "{k} missing: {kinds:?}");
        }
        let wms = &out.feeds.iter().find(|(n, _)| n == "wms.ndjson").unwrap().1;
        assert!(!wms.contains("inventory.picked"), "routine movements are not also in the NDJSON feed");
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_does_not() {
        let a = simulate(&cfg(7)).unwrap();
        let b = simulate(&cfg(7)).unwrap();
        let c = simulate(&cfg(8)).unwrap();
        assert_eq!(a.reference_yaml, b.reference_yaml);
        assert_eq!(a.feeds, b.feeds);
        assert_eq!(serde_json::to_string(&a.truth).unwrap(), serde_json::to_string(&b.truth).unwrap());
        assert_ne!(a.feeds, c.feeds);
    }

    /// Breaks and Saturday crews are in the badge feed: the benign off-hours
    /// and in-out traffic a naive detector mistakes for trouble.
    #[test]
    fn breaks_and_saturday_work_show_in_the_badge_feed() {
        let out = simulate(&Config { sites: 2, days: 14, per_scenario: 0, ..cfg(3) }).unwrap();
        let acs = &out.feeds.iter().find(|(n, _)| n == "acs.ndjson").unwrap().1;
        let reads: Vec<serde_json::Value> = acs.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let at = |v: &serde_json::Value| DateTime::parse_from_rfc3339(v["occurred_at"].as_str().unwrap()).unwrap();
        let saturday = reads.iter().filter(|v| at(v).weekday() == Weekday::Sat).count();
        let sunday = reads.iter().filter(|v| at(v).weekday() == Weekday::Sun).count();
        assert!(saturday >= 8, "a crew of four badges in and out: {saturday}");
        assert_eq!(sunday, 0, "nobody works on Sundays without a scenario");
        // Mid-shift exits at the main door (09:00-09:59 early, 17:00-17:59 late) are breaks.
        let breaks = reads
            .iter()
            .filter(|v| v["direction"] == "out" && v["door"].as_str().unwrap().ends_with("-D-MAIN"))
            .filter(|v| matches!(chrono::Timelike::hour(&at(v)), 9 | 17))
            .count();
        assert!(breaks > 50, "{breaks}");
    }

    #[test]
    fn truth_is_well_formed_and_names_emitted_events() {
        let out = simulate(&cfg(3)).unwrap();
        let truth = Truth::from_json(&serde_json::to_vec(&out.truth).unwrap()).unwrap();
        // Two of each type, but for those whose day must allow them: the
        // count scenarios need a Monday's full count after their day, the
        // drift a week of picks, hires, evacuations and a receiver's
        // write-downs a working day.
        let conditional = [
            Scenario::SkippedCounts,
            Scenario::CountDeferred,
            Scenario::PickDrift,
            Scenario::EmergencyDoorOpening,
            Scenario::NewHireCage,
            Scenario::NewCageOperator,
            Scenario::SmallWritedowns,
        ];
        for s in Scenario::ALL {
            let n = truth.instances.iter().filter(|i| i.scenario == s).count();
            if conditional.contains(&s) {
                assert!(n <= 2, "{s:?}: {n}");
            } else {
                assert_eq!(n, 2, "{s:?}");
            }
        }
        assert!(truth.instances.iter().all(|i| i.benign == i.scenario.is_benign()));
        let all: String = out.feeds.iter().map(|(_, b)| b.as_str()).collect();
        for i in &truth.instances {
            for e in &i.events {
                assert!(all.contains(&format!(r#""id":"{}","source":"{}""#, e.id, e.source)), "{} {:?}", i.id, e);
            }
        }
    }

    /// Every field the simulator writes is one the event model reads: a
    /// misspelt field would be dropped silently at ingest.
    #[test]
    fn every_field_written_is_a_field_of_the_model() {
        let out = simulate(&cfg(5)).unwrap();
        for (name, body) in &out.feeds {
            for line in body.lines() {
                let written: serde_json::Value = serde_json::from_str(line).unwrap();
                let ev =
                    stockade_model::Event::from_json(line.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}: {line}"));
                let back: serde_json::Value = serde_json::from_slice(&ev.canonical_bytes()).unwrap();
                for key in written.as_object().unwrap().keys() {
                    assert!(back.get(key).is_some(), "{name}: field {key} is not in the model: {line}");
                }
            }
        }
    }

    #[test]
    fn impossible_configurations_are_refused() {
        for (sites, days) in [(0, 5), (3, 0), (501, 5), (3, 400)] {
            let c = Config { sites, days, ..cfg(1) };
            assert!(simulate(&c).is_err(), "{sites} sites, {days} days");
        }
        // An account at two sites cannot happen in a one-site network: said, not skipped.
        let c = Config { sites: 1, scenarios: vec![parse_scenario("shared_credential=1").unwrap()], ..cfg(1) };
        let e = simulate(&c).err().expect("refused").to_string();
        assert!(e.contains("shared_credential") && e.contains("--sites 2"), "{e}");
    }

    #[test]
    fn gtins_carry_valid_check_digits() {
        // GS1's example GTIN-14 check digit rule, checked on a known value.
        let g = gtin(0);
        assert_eq!(g.len(), 14);
        let digits: Vec<u32> = g.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = digits.iter().enumerate().map(|(i, d)| d * if i % 2 == 0 { 3 } else { 1 }).sum();
        assert_eq!(sum % 10, 0);
    }
}
