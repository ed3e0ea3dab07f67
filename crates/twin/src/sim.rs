//! The simulator: a network of warehouses operating normally for some days,
//! with theft and misuse scenarios and benign look-alikes mixed in, written
//! as the customers' systems would deliver it, plus `truth.json`.
//!
//! First increment: reference data (YAML), NDJSON feeds per source system
//! (access control, video analytics, WMS, identity provider, HR), and five
//! scenario types; see `docs/SIMULATOR.md` for the model and what remains.
//!
//! Invariants: the same configuration (seed included) gives byte-identical
//! output; every event refers only to entities of the reference data; the
//! book never goes negative from normal operations.

use crate::truth::{EventRef, Instance, Scenario, TRUTH_FORMAT, Truth};
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use std::fmt::Write as _;

/// A small deterministic generator (SplitMix64). Written here rather than
/// taken from a crate so that the output stays byte-identical whatever
/// version of a random-number crate the build resolves.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1).max(1) as u64) as i64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 1.0 < p
    }

    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Config {
    pub sites: u32,
    pub days: u32,
    pub seed: u64,
    /// First simulated day (a Monday by default).
    pub start: NaiveDate,
    /// Instances of each scenario type to inject across the network.
    pub per_scenario: u32,
    /// Instances of given scenario types, with parameters. A type named
    /// here gets these (summed over its specs) instead of `per_scenario`.
    pub scenarios: Vec<ScenarioSpec>,
    /// Deliver routine inventory movements as GS1 EPCIS 2.0 documents (one
    /// per site and day) instead of the WMS's NDJSON feed.
    pub epcis: bool,
    /// Deliver badge reads as the access-control system's CSV export, one
    /// per site with its column-mapping file, instead of NDJSON.
    pub csv: bool,
}

/// How many instances of a scenario to inject, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioSpec {
    pub scenario: Scenario,
    pub count: u32,
    pub params: Params,
}

/// Parameters of injected instances. Unset ones are drawn at random (or take
/// the scenario's usual value); which ones a scenario takes is
/// [`Params::accepted`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    /// Day of the period it happens on, from 1.
    pub day: Option<u32>,
    /// Site it happens at, from 1 (in reference-data order).
    pub site: Option<u32>,
    /// Local hour it starts.
    pub hour: Option<u32>,
    /// Units taken (per day, for slow skimming), received or moved.
    pub units: Option<i64>,
    /// Days it lasts (slow skimming), or days between termination and use.
    pub days: Option<u32>,
    /// Minutes a door is held, between camera loss and theft, or of overtime.
    pub minutes: Option<u32>,
    /// Seconds between the two reads of a shared badge.
    pub seconds: Option<u32>,
    /// People through a door on one grant, or out in a drill.
    pub people: Option<u32>,
    /// Failed logins before the success.
    pub failures: Option<u32>,
}

/// (parameter, lowest, highest)
type Bound = (&'static str, i64, i64);

impl Params {
    /// The parameters `scenario` takes beyond `day`, `site` and `hour`, with their bounds.
    pub fn accepted(scenario: Scenario) -> &'static [Bound] {
        const UNITS: Bound = ("units", 1, 10_000);
        match scenario {
            Scenario::AfterHoursCageRemoval
            | Scenario::DockCollusion
            | Scenario::PhantomReceipts
            | Scenario::RecordManipulation
            | Scenario::VendorOutsideWindow
            | Scenario::AuthorisedAfterHoursMove => &[UNITS],
            Scenario::Tailgating => &[("people", 2, 20)],
            Scenario::TerminatedBadgeInUse => &[("days", 1, 60)],
            Scenario::SlowSkimming => &[("days", 1, 60), UNITS],
            Scenario::CameraOfflineBeforeLoss => &[("minutes", 1, 240), UNITS],
            Scenario::BadgeSharing => &[("seconds", 1, 600)],
            Scenario::DockDoorHeldAtNight => &[("minutes", 1, 600)],
            Scenario::PrivilegeEscalation => &[("failures", 0, 50), UNITS],
            Scenario::ScheduledOvertime => &[("minutes", 1, 600)],
            Scenario::EmergencyDoorOpening => &[("people", 1, 500)],
        }
    }

    fn set(&mut self, scenario: Scenario, key: &str, value: &str) -> Result<(), String> {
        let common: [Bound; 3] = [("day", 1, 366), ("site", 1, 500), ("hour", 0, 23)];
        let own = Params::accepted(scenario);
        let Some(&(_, lo, hi)) = common.iter().chain(own).find(|b| b.0 == key) else {
            let names: Vec<&str> = common.iter().chain(own).map(|b| b.0).collect();
            return Err(format!("unknown parameter `{key}`; {} takes {}", scenario.as_str(), names.join(", ")));
        };
        let v = value
            .parse::<i64>()
            .ok()
            .filter(|v| (lo..=hi).contains(v))
            .ok_or_else(|| format!("`{key}` must be a whole number from {lo} to {hi}, got {value:?}"))?;
        let small = v as u32;
        match key {
            "day" => self.day = Some(small),
            "site" => self.site = Some(small),
            "hour" => self.hour = Some(small),
            "units" => self.units = Some(v),
            "days" => self.days = Some(small),
            "minutes" => self.minutes = Some(small),
            "seconds" => self.seconds = Some(small),
            "people" => self.people = Some(small),
            "failures" => self.failures = Some(small),
            other => return Err(format!("parameter `{other}` has bounds but no field")),
        }
        Ok(())
    }
}

/// Parses `NAME=COUNT[,KEY=VALUE...]`: a scenario of the library, how many
/// instances, and their parameters (for example `slow_skimming=2,days=12,units=3`).
pub fn parse_scenario(spec: &str) -> Result<ScenarioSpec, ConfigError> {
    let mut parts = spec.split(',');
    let head = parts.next().unwrap_or_default();
    let (name, count) = head.split_once('=').ok_or_else(|| {
        ConfigError(format!("--scenario {spec:?}: use NAME=COUNT[,KEY=VALUE...], for example slow_skimming=3,days=12"))
    })?;
    let scenario: Scenario =
        serde_json::from_value(serde_json::Value::String(name.trim().to_owned())).map_err(|_| {
            let known: Vec<String> = Scenario::ALL.iter().map(|s| s.as_str()).collect();
            ConfigError(format!("unknown scenario {name:?}; the library has: {}", known.join(", ")))
        })?;
    let count = count
        .trim()
        .parse::<u32>()
        .map_err(|_| ConfigError(format!("--scenario {spec:?}: the count must be a whole number from 0")))?;
    let mut params = Params::default();
    for kv in parts {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| ConfigError(format!("--scenario {spec:?}: parameter {kv:?} needs KEY=VALUE")))?;
        params.set(scenario, k.trim(), v.trim()).map_err(|e| ConfigError(format!("--scenario {spec:?}: {e}")))?;
    }
    Ok(ScenarioSpec { scenario, count, params })
}

/// Why a configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    pub fn check(&self) -> Result<(), ConfigError> {
        if !(1..=500).contains(&self.sites) {
            return Err(ConfigError(format!("--sites must be between 1 and 500, got {}", self.sites)));
        }
        if !(1..=366).contains(&self.days) {
            return Err(ConfigError(format!("--days must be between 1 and 366, got {}", self.days)));
        }
        if self.per_scenario > 1000 || self.scenarios.iter().any(|s| s.count > 1000) {
            return Err(ConfigError("at most 1000 instances per scenario".into()));
        }
        for s in &self.scenarios {
            let name = s.scenario.as_str();
            if let Some(day) = s.params.day.filter(|d| *d > self.days) {
                return Err(ConfigError(format!("--scenario {name}: day {day} is past the {}-day period", self.days)));
            }
            if let Some(site) = s.params.site.filter(|n| *n > self.sites) {
                return Err(ConfigError(format!("--scenario {name}: site {site}, but only {} simulated", self.sites)));
            }
            if s.scenario == Scenario::TerminatedBadgeInUse {
                let after = s.params.days.unwrap_or(1);
                if s.params.day.is_some_and(|d| d <= after) || self.days <= after {
                    return Err(ConfigError(format!(
                        "--scenario {name}: the termination {after} day(s) before the misuse must fall in the period"
                    )));
                }
            }
        }
        Ok(())
    }
}

const ZONES: [(&str, &str, &str); 5] = [
    ("LOBBY", "Lobby", "public"),
    ("FLOOR", "Warehouse floor", "general"),
    ("DOCK", "Dock", "dock"),
    ("CAGE", "High-value cage", "high_value_cage"),
    ("IT", "Server room", "it_ot_room"),
];
/// (door, name, from zone, to zone, dock)
const DOORS: [(&str, &str, &str, &str, bool); 5] = [
    ("MAIN", "Main entrance", "LOBBY", "FLOOR", false),
    ("CAGE", "Cage door", "FLOOR", "CAGE", false),
    ("DOCK1", "Dock door 1", "FLOOR", "DOCK", true),
    ("DOCK2", "Dock door 2", "FLOOR", "DOCK", true),
    ("IT", "Server room door", "FLOOR", "IT", false),
];
/// Each site's IoT/OT devices: (id suffix, kind, name, maintaining vendor, zone).
/// The nightly network scan sees every one of them.
const DEVICES: [(&str, &str, &str, Option<&str>, &str); 16] = [
    ("CAM-MAIN", "camera", "Main entrance camera", None, "LOBBY"),
    ("CAM-CAGE", "camera", "Cage camera", None, "CAGE"),
    ("CAM-DOCK", "camera", "Dock camera", None, "DOCK"),
    ("R-MAIN", "reader", "Main entrance reader", None, "LOBBY"),
    ("R-CAGE", "reader", "Cage door reader", None, "FLOOR"),
    ("R-DOCK1", "reader", "Dock door 1 reader", None, "FLOOR"),
    ("R-DOCK2", "reader", "Dock door 2 reader", None, "FLOOR"),
    ("R-IT", "reader", "Server room reader", None, "FLOOR"),
    ("ACP-1", "controller", "Access-control panel", None, "IT"),
    ("HVAC-1", "hvac", "Server room HVAC controller", Some("V-HVAC"), "IT"),
    ("PLC-SORTER", "plc", "Sorter PLC", None, "FLOOR"),
    ("PRN-PACK", "printer", "Pack station label printer", None, "FLOOR"),
    ("HH-01", "scanner", "Handheld scanner 1", None, "FLOOR"),
    ("HH-02", "scanner", "Handheld scanner 2", None, "FLOOR"),
    ("HH-03", "scanner", "Handheld scanner 3", None, "FLOOR"),
    ("SW-CORE", "network", "Core switch", None, "IT"),
];
const TIMEZONES: [&str; 6] =
    ["Europe/Paris", "America/Chicago", "Asia/Tokyo", "Europe/London", "America/New_York", "Australia/Sydney"];
/// (role, people per site, zones beyond the floor)
const ROLES: [(&str, u32, &[&str]); 8] = [
    ("picker", 14, &["DOCK"]),
    ("receiver", 4, &["DOCK"]),
    ("shipper", 4, &["DOCK"]),
    ("cage_operator", 2, &["DOCK", "CAGE"]),
    ("supervisor", 2, &["DOCK", "CAGE"]),
    ("it_admin", 1, &["IT"]),
    ("site_manager", 1, &["DOCK", "CAGE", "IT"]),
    ("security", 2, &["DOCK", "CAGE", "IT"]),
];
const SKUS: u32 = 200;
/// The day (from 0) each site's new hire starts.
const HIRE_DAY: u32 = 2;
/// Order lines picked per picker-hour: WERC's DC Measures median, 30 lines
/// picked and shipped per hour (docs/SIMULATOR.md).
const PICK_LINES_PER_HOUR: i64 = 30;
/// Share of pick lines picked wrong: WERC/DC Velocity's 2013 median order
/// picking accuracy, 99.5% (docs/SIMULATOR.md). Half take another SKU of
/// the bin (a mis-pick), half scan the neighbouring bin (a mis-scan).
const MISPICK_RATE: f64 = 0.005;
/// Share of present workers who badge out for a break and back in.
const BREAK_RATE: f64 = 0.4;
/// Share of Saturdays a site works with a skeleton crew.
const SATURDAY_RATE: f64 = 0.5;
/// Units lost without a record, per unit shipped: NRF's 2023 survey puts
/// shrink at 1.6% of sales, 27% of it process and control failures.
const UNRECORDED_LOSS_RATE: f64 = 0.016 * 0.27;
/// Share of counts off by one: keyed entry errs on about 3% of entries (docs/SIMULATOR.md).
const MISCOUNT_RATE: f64 = 0.03;
/// Cycle counts per site per working day.
const COUNTS_PER_DAY: u64 = 40;
const AISLES: u32 = 40;
const CAGE_BINS: u32 = 6;

struct Person {
    id: String,
    badge: String,
    account: String,
    role: &'static str,
    /// 0 day shift (06-14), 1 late shift (14-22).
    shift: u32,
    /// First simulated day they work (a new hire's start).
    from_day: u32,
}

struct Site {
    id: String,
    /// 1-based number (in SGLNs).
    num: u32,
    /// Source-system names (`acs-s01`...), in [`SOURCES`] order.
    sources: [String; 6],
    tz: Tz,
    people: Vec<Person>,
    /// The book: stock[location][sku], as the recorded events say.
    stock: Vec<Vec<i64>>,
    /// Units the book shows that are not physically there (unrecorded
    /// process losses, mis-picks): physical = stock - lost.
    lost: Vec<Vec<i64>>,
    /// Location ids: aisles, then cage bins, then DOCK-IN, then PACK.
    locations: Vec<String>,
}

impl Site {
    fn physical(&self, loc: usize, k: usize) -> i64 {
        self.stock[loc][k] - self.lost[loc][k]
    }

    fn dock_in(&self) -> usize {
        self.locations.len() - 2
    }
    fn pack(&self) -> usize {
        self.locations.len() - 1
    }
    fn is_cage(&self, loc: usize) -> bool {
        (AISLES as usize..(AISLES + CAGE_BINS) as usize).contains(&loc)
    }
}

fn sku_id(k: usize) -> String {
    format!("SKU-{k:04}")
}

/// Unit value and tier of SKU `k`: a few critical, some high, most low.
fn sku_value(k: usize) -> (f64, &'static str) {
    match k % 20 {
        0 => (900.0 + (k % 7) as f64 * 50.0, "critical"),
        1 | 2 => (250.0 + (k % 5) as f64 * 30.0, "high"),
        3..=7 => (40.0 + (k % 9) as f64 * 5.0, "medium"),
        _ => (3.0 + (k % 11) as f64, "low"),
    }
}

/// The feeds, one per source system, and the events of the current day.
struct Feeds<'a> {
    /// The day's lines, back to back.
    arena: String,
    /// (time, source, start, end) of each line in `arena`.
    day: Vec<(i64, u8, u32, u32)>,
    seq: [u64; 6],
    out: [&'a mut dyn std::io::Write; 6],
    skew_s: [i64; 6],
    /// The first write error; generation stops reporting it.
    failed: Option<std::io::Error>,
    /// With EPCIS delivery: the day's EPCIS events per site (JSON, comma-separated).
    epcis: Option<Vec<String>>,
    /// Receives each EPCIS document: (file name, bytes).
    docs: &'a mut dyn FnMut(&str, &[u8]) -> std::io::Result<()>,
    epcis_seq: u64,
    /// With CSV delivery: the exports so far.
    csv: Option<Exports>,
    /// The run's seed in hex, in every event id: ids of two simulations never collide.
    tag: String,
}

/// The access-control CSV export's header.
const CSV_HEADER: &str = "event_no,time,site,door,badge,result,direction,reason,cardholder\n";

/// How a column of a shared export is filled from an event's JSON: a field
/// by name, or `@utc` (the time in UTC), `@unix_ms` (the time in epoch
/// milliseconds), `@kind` (the kind after its family), `@upper:FIELD`.
type Column = (&'static str, &'static str);

/// A CSV export of one source system, one file for all sites, as
/// customers' systems write them: each its own time format and columns.
struct ExportSpec {
    name: &'static str,
    /// The source system (index into [`SOURCES`]).
    source: u8,
    kinds: &'static [&'static str],
    columns: &'static [Column],
    mapping: &'static str,
}

const EXPORTS: [ExportSpec; 6] = [
    ExportSpec {
        name: "iam-logins",
        source: 3,
        kinds: &["identity.login"],
        columns: &[
            ("timestamp", "@utc"),
            ("app", "system"),
            ("user", "account"),
            ("employee_id", "person"),
            ("ip", "source_ip"),
            ("mfa", "mfa"),
            ("outcome", "@upper:result"),
            ("request_id", "id"),
            ("site", "site"),
            ("source", "source"),
        ],
        mapping: "# Login export of the identity provider: UTC timestamps, all sites.
kind: { constant: identity.login }
occurred_at: { column: timestamp }
id: { column: request_id }
fields:
  source: { column: source }
  site: { column: site }
  system: { column: app }
  account: { column: user }
  person: { column: employee_id }
  source_ip: { column: ip }
  mfa: { column: mfa }
  result: { column: outcome, map: { SUCCESS: success, FAILURE: failure } }
",
    },
    ExportSpec {
        name: "iam-api-keys",
        source: 3,
        kinds: &["identity.api_key_used"],
        columns: &[
            ("time", "occurred_at"),
            ("site", "site"),
            ("system", "system"),
            ("key_id", "api_key"),
            ("operation", "operation"),
            ("ip", "source_ip"),
            ("vendor", "vendor"),
            ("event_id", "id"),
            ("source", "source"),
        ],
        mapping: "# API-key use at the API gateway: time with offset, system, key, operation, source IP, vendor.
kind: { constant: identity.api_key_used }
occurred_at: { column: time }
id: { column: event_id }
fields:
  source: { column: source }
  site: { column: site }
  system: { column: system }
  api_key: { column: key_id }
  operation: { column: operation }
  source_ip: { column: ip }
  vendor: { column: vendor }
",
    },
    ExportSpec {
        name: "door-sensors",
        source: 0,
        kinds: &["access.door_forced", "access.door_held_open", "access.door_unlocked_manually"],
        columns: &[
            ("time", "occurred_at"),
            ("site", "site"),
            ("door", "door"),
            ("state", "@kind"),
            ("seconds_open", "duration_s"),
            ("event_id", "id"),
            ("source", "source"),
        ],
        mapping: "# Door sensors: time with offset, door, state, seconds open. The state picks the kind.
kind:
  column: state
  map:
    door_forced: access.door_forced
    door_held_open: access.door_held_open
    door_unlocked_manually: access.door_unlocked_manually
occurred_at: { column: time }
id: { column: event_id }
fields:
  source: { column: source }
  site: { column: site }
  door: { column: door }
  duration_s: { column: seconds_open }
",
    },
    ExportSpec {
        name: "vms-line-crossings",
        source: 1,
        kinds: &["video.people_count"],
        columns: &[
            ("ts_ms", "@unix_ms"),
            ("camera", "camera"),
            ("door", "door"),
            ("people", "people"),
            ("direction", "direction"),
            ("site", "site"),
            ("event_id", "id"),
            ("source", "source"),
        ],
        mapping: "# Camera line crossings of the video platform: epoch milliseconds, all sites.
kind: { constant: video.people_count }
occurred_at: { column: ts_ms, format: unix_ms }
id: { column: event_id }
fields:
  source: { column: source }
  site: { column: site }
  camera: { column: camera }
  door: { column: door }
  people: { column: people }
  direction: { column: direction }
",
    },
    ExportSpec {
        name: "wms-adjustments",
        source: 2,
        kinds: &["inventory.adjusted"],
        columns: &[
            ("time", "occurred_at"),
            ("site", "site"),
            ("location", "location"),
            ("sku", "sku"),
            ("delta", "delta"),
            ("reason", "reason"),
            ("employee", "person"),
            ("user", "account"),
            ("approver", "approver"),
            ("txn", "id"),
            ("source", "source"),
        ],
        mapping: "# WMS stock adjustments: time with offset, site, location, SKU, delta, reason, employee or system user, approver.
kind: { constant: inventory.adjusted }
occurred_at: { column: time }
id: { column: txn }
fields:
  source: { column: source }
  site: { column: site }
  location: { column: location }
  sku: { column: sku }
  delta: { column: delta }
  reason: { column: reason }
  person: { column: employee }
  account: { column: user }
  approver: { column: approver }
",
    },
    ExportSpec {
        name: "hr-changes",
        source: 4,
        kinds: &["hr.hired", "hr.role_changed", "hr.terminated", "hr.leave_started", "hr.leave_ended"],
        columns: &[
            ("effective", "occurred_at"),
            ("site", "site"),
            ("employee", "person"),
            ("change", "@kind"),
            ("role", "role"),
            ("reason", "reason"),
            ("event_id", "id"),
            ("source", "source"),
        ],
        mapping: "# HR changes: effective time with offset, employee, change, new role, reason. The change picks the kind.
kind:
  column: change
  map:
    hired: hr.hired
    role_changed: hr.role_changed
    terminated: hr.terminated
    leave_started: hr.leave_started
    leave_ended: hr.leave_ended
occurred_at: { column: effective }
id: { column: event_id }
fields:
  source: { column: source }
  site: { column: site }
  person: { column: employee }
  role: { column: role }
  reason: { column: reason }
",
    },
];

/// The CSV exports being written: each site's access-control export, and
/// the shared ones of [`EXPORTS`].
struct Exports {
    acs: Vec<String>,
    shared: Vec<csv::Writer<Vec<u8>>>,
}

impl Exports {
    fn new(sites: usize) -> Exports {
        let shared = EXPORTS
            .iter()
            .map(|x| {
                let mut w = csv::Writer::from_writer(Vec::new());
                let _ = w.write_record(x.columns.iter().map(|c| c.0));
                w
            })
            .collect();
        Exports { acs: vec![CSV_HEADER.to_owned(); sites], shared }
    }

    /// Takes an event into its export; false if no export carries it.
    fn take(&mut self, line: &[u8], source: u8) -> bool {
        if source == 0
            && let Some((site, row)) = acs_row(line)
        {
            self.acs[site].push_str(&row);
            return true;
        }
        let kind = kind_of(line);
        let Some(i) = EXPORTS.iter().position(|x| x.source == source && kind.is_some_and(|k| x.kinds.contains(&k)))
        else {
            return false;
        };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else { return false };
        let Some(record) = EXPORTS[i].columns.iter().map(|c| cell(&v, c.1)).collect::<Option<Vec<String>>>() else {
            return false;
        };
        let _ = self.shared[i].write_record(&record);
        true
    }
}

/// The kind of an NDJSON event line, without parsing all of it.
fn kind_of(line: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(line).ok()?;
    let at = text.find(r#""kind":""#)? + 8;
    text[at..].split('"').next()
}

/// One cell of a shared export; None if the event cannot be written there.
fn cell(v: &serde_json::Value, fill: &str) -> Option<String> {
    let time = || chrono::DateTime::parse_from_rfc3339(v["occurred_at"].as_str()?).ok();
    Some(match fill {
        "@utc" => time()?.with_timezone(&Utc).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "@unix_ms" => time()?.timestamp_millis().to_string(),
        "@kind" => v["kind"].as_str()?.split_once('.')?.1.to_owned(),
        _ => match fill.strip_prefix("@upper:") {
            Some(field) => v[field].as_str()?.to_ascii_uppercase(),
            None => match &v[fill] {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            },
        },
    })
}

/// A badge read as a row of its site's access-control export, with the site's number.
fn acs_row(line: &[u8]) -> Option<(usize, String)> {
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    let result = match v["kind"].as_str()? {
        "access.granted" => "granted",
        "access.denied" => "denied",
        _ => return None,
    };
    let site = v["site"].as_str()?;
    let index = site.strip_prefix('S')?.parse::<usize>().ok()?.checked_sub(1)?;
    // The export writes the site's local time without an offset; the mapping names the zone.
    let time = v["occurred_at"].as_str()?.get(..19)?.replace('T', " ");
    let row = format!(
        "{},{time},{site},{},{},{result},{},{},{}\n",
        v["id"].as_str()?,
        v["door"].as_str()?,
        v["badge"].as_str()?,
        v["direction"].as_str().unwrap_or("").to_ascii_uppercase(),
        v["reason"].as_str().unwrap_or(""),
        v["person"].as_str().unwrap_or("")
    );
    Some((index, row))
}

/// The column mapping of a site's access-control export.
fn csv_mapping(site: &Site) -> String {
    format!(
        "# Access-control export of site {id}: local times in {tz}.\n\
         kind: {{ column: result, map: {{ granted: access.granted, denied: access.denied }} }}\n\
         occurred_at: {{ column: time, format: \"%Y-%m-%d %H:%M:%S\", timezone: {tz} }}\n\
         id: {{ column: event_no }}\n\
         fields:\n  source: {{ constant: {source} }}\n  site: {{ column: site }}\n  door: {{ column: door }}\n  \
         badge: {{ column: badge }}\n  direction: {{ column: direction, map: {{ IN: in, OUT: out }} }}\n  reason: {{ column: reason }}\n  \
         person: {{ column: cardholder }}\n",
        id = site.id,
        tz = site.tz.name(),
        source = site.sources[0]
    )
}

/// A routine stock movement, delivered as NDJSON or as an EPCIS event.
struct Stock<'s> {
    /// CBV business step.
    step: &'static str,
    kind: &'static str,
    k: usize,
    q: i64,
    /// bizLocation: where it happens (to, for receipts and put-away).
    at: usize,
    /// A `sourceList` location (put-away) or `destinationList` one (picking).
    source: Option<usize>,
    destination: Option<usize>,
    /// The NDJSON body, when the WMS delivers it.
    ndjson: &'s dyn Fn() -> String,
}

/// Source systems, in file order.
const SOURCES: [&str; 6] = ["acs", "vms", "wms", "iam", "hr", "nac"];

impl Feeds<'_> {
    /// Adds an event: `body` is the kind-specific JSON fields after `"kind":`.
    fn emit(&mut self, source: usize, site: &Site, at: DateTime<Utc>, kind: &str, body: &str) {
        self.seq[source] += 1;
        // The source system's clock is a little off.
        let stamped = at + Duration::seconds(self.skew_s[source]);
        let local = stamped.with_timezone(&site.tz).fixed_offset();
        let start = self.arena.len() as u32;
        let _ = write!(
            self.arena,
            r#"{{"id":"{}-{}-{:08}","source":"{}","site":"{}","occurred_at":"{}","kind":"{kind}"{}{body}}}"#,
            SOURCES[source],
            self.tag,
            self.seq[source],
            site.sources[source],
            site.id,
            local.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            if body.is_empty() { "" } else { "," }
        );
        self.arena.push('\n');
        self.day.push((at.timestamp(), source as u8, start, self.arena.len() as u32));
    }

    /// A routine stock movement: an EPCIS event when the network delivers
    /// EPCIS (and the quantity is positive), else a WMS NDJSON event.
    fn stock(&mut self, site: &Site, at: DateTime<Utc>, m: Stock<'_>) {
        let Some(days) = self.epcis.as_mut().filter(|_| m.q > 0) else {
            let body = (m.ndjson)();
            return self.emit(2, site, at, m.kind, &body);
        };
        self.epcis_seq += 1;
        let local = (at + Duration::seconds(self.skew_s[2])).with_timezone(&site.tz).fixed_offset();
        let sgln = |li: usize| format!("urn:epc:id:sgln:0614141.{:05}.{li}", site.num);
        let buf = &mut days[site.num as usize - 1];
        if !buf.is_empty() {
            buf.push(',');
        }
        let _ = write!(
            buf,
            r#"{{"type":"ObjectEvent","eventID":"urn:uuid:{:08x}-0000-4000-8000-{:012x}","action":"OBSERVE","bizStep":"{}","eventTime":"{}","eventTimeZoneOffset":"{}","quantityList":[{{"epcClass":"urn:epc:class:lgtin:0614141.1{:05}.L{}","quantity":{}}}],"bizLocation":{{"id":"{}"}}"#,
            u32::from_str_radix(self.tag.get(self.tag.len().saturating_sub(8)..).unwrap_or("0"), 16).unwrap_or(0),
            self.epcis_seq,
            m.step,
            local.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            local.format("%:z"),
            m.k,
            site.num,
            m.q,
            sgln(m.at)
        );
        if let Some(src) = m.source {
            let _ = write!(buf, r#","sourceList":[{{"type":"location","source":"{}"}}]"#, sgln(src));
        }
        if let Some(dst) = m.destination {
            let _ = write!(buf, r#","destinationList":[{{"type":"location","destination":"{}"}}]"#, sgln(dst));
        }
        buf.push('}');
    }

    /// Writes the day's EPCIS documents, one per site that had movements.
    fn flush_epcis(&mut self, sites: &[Site], date: NaiveDate) {
        let Some(days) = self.epcis.as_mut() else { return };
        for (site, events) in sites.iter().zip(days.iter_mut()) {
            if events.is_empty() {
                continue;
            }
            let created = local(&site.tz, date, 23, 59, 59).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let doc = format!(
                r#"{{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"{created}","epcisBody":{{"eventList":[{events}]}}}}"#
            );
            let name = format!("epcis/{}-{date}.jsonld", site.id);
            if let Err(e) = (self.docs)(&name, doc.as_bytes())
                && self.failed.is_none()
            {
                self.failed = Some(e);
            }
            events.clear();
        }
    }

    /// A badge read accepted at one of the site's doors (`door` is the
    /// suffix: `MAIN`, `CAGE`...), with the person when the reader knows them.
    fn badge(
        &mut self,
        site: &Site,
        at: DateTime<Utc>,
        door: &str,
        badge: &str,
        person: Option<&str>,
        dir: &str,
    ) -> EventRef {
        let person = person.map(|p| format!(r#""person":"{p}","#)).unwrap_or_default();
        let body = format!(r#""door":"{}-D-{door}","badge":"{badge}",{person}"direction":"{dir}""#, site.id);
        self.emit_ref(0, site, at, "access.granted", &body)
    }

    /// Adds an event and returns its reference, for the truth.
    fn emit_ref(&mut self, source: usize, site: &Site, at: DateTime<Utc>, kind: &str, body: &str) -> EventRef {
        self.emit(source, site, at, kind, body);
        EventRef {
            source: site.sources[source].clone(),
            id: format!("{}-{}-{:08}", SOURCES[source], self.tag, self.seq[source]),
        }
    }

    /// Writes the day's events to their feeds: in time order, except that
    /// some arrive late (out of order) and a few are delivered twice.
    fn flush(&mut self, rng: &mut Rng) {
        self.day.sort_by_key(|a| (a.0, a.1));
        let n = self.day.len();
        for i in 0..n {
            if rng.chance(0.005) && i + 1 < n {
                let j = (i + 1 + rng.below(40) as usize).min(n - 1);
                self.day.swap(i, j);
            }
        }
        for &(_, source, start, end) in &self.day {
            let line = &self.arena.as_bytes()[start as usize..end as usize];
            if let Some(exports) = self.csv.as_mut()
                && exports.take(line, source)
            {
                // Exports repeat a row now and then, as feeds repeat a line.
                if rng.chance(0.002) {
                    exports.take(line, source);
                }
                continue;
            }
            let out = &mut self.out[source as usize];
            let twice = rng.chance(0.002);
            let written = out.write_all(line).and_then(|()| if twice { out.write_all(line) } else { Ok(()) });
            if let Err(e) = written
                && self.failed.is_none()
            {
                self.failed = Some(e);
            }
        }
        self.day.clear();
        self.arena.clear();
    }
}

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
    let mut sites = Vec::new();
    let mut yaml = String::from("# Generated by `stockade simulate`; load with `stockade import`.\n");
    let _ = writeln!(yaml, "# seed {}, {} sites, {} days from {}", cfg.seed, cfg.sites, cfg.days, cfg.start);
    let mut sec: [String; 12] = Default::default();
    let [
        s_sites,
        s_zones,
        s_doors,
        s_readers,
        s_cameras,
        s_vendors,
        s_people,
        s_badges,
        s_skus,
        s_locations,
        s_shifts,
        s_assets,
    ] = &mut sec;
    s_vendors.push_str("  - { id: V-CARRIER-1, name: \"Rapid Freight\", service: carrier }\n");
    s_vendors.push_str("  - { id: V-CARRIER-2, name: \"Night Owl Logistics\", service: carrier }\n");
    s_vendors.push_str("  - { id: V-HVAC, name: \"CoolAir Maintenance\", service: maintenance }\n");
    for k in 0..SKUS as usize {
        let (value, tier) = sku_value(k);
        let _ = writeln!(
            s_skus,
            "  - {{ id: {}, description: \"Item {k}\", unit_value: {value:.2}, value_tier: {tier}, gtin: \"{}\" }}",
            sku_id(k),
            gtin(k)
        );
    }
    for i in 0..cfg.sites {
        let id = format!("S{:02}", i + 1);
        let tzname = TIMEZONES[i as usize % TIMEZONES.len()];
        let tz: Tz = tzname.parse().map_err(|_| ConfigError(format!("time zone {tzname}")))?;
        let _ = writeln!(s_sites, "  - {{ id: {id}, name: \"Site {}\", timezone: {tzname} }}", i + 1);
        for (z, name, tier) in ZONES {
            let _ = writeln!(s_zones, "  - {{ id: {id}-{z}, site: {id}, name: \"{name}\", tier: {tier} }}");
        }
        for (d, name, from, to, dock) in DOORS {
            let _ = writeln!(
                s_doors,
                "  - {{ id: {id}-D-{d}, site: {id}, name: \"{name}\", from_zone: {id}-{from}, to_zone: {id}-{to}{} }}",
                if dock { ", dock: true" } else { "" }
            );
            let _ = writeln!(s_readers, "  - {{ id: {id}-R-{d}, door: {id}-D-{d}, direction: in }}");
        }
        for (c, door, zone) in [("MAIN", "MAIN", "LOBBY"), ("CAGE", "CAGE", "CAGE"), ("DOCK", "DOCK1", "DOCK")] {
            let _ = writeln!(
                s_cameras,
                "  - {{ id: {id}-CAM-{c}, site: {id}, doors: [{id}-D-{door}], zones: [{id}-{zone}] }}"
            );
        }
        for (d, kind, name, vendor, zone) in DEVICES {
            let vendor = vendor.map(|v| format!(", vendor: {v}")).unwrap_or_default();
            let _ = writeln!(
                s_assets,
                "  - {{ id: {id}-{d}, site: {id}, kind: {kind}, name: \"{name}\"{vendor}, network_segment: ot-{}, zone: {id}-{zone} }}",
                id.to_ascii_lowercase()
            );
        }
        for (shift, name, start, end) in [("DAY", "Day", "06:00", "14:00"), ("LATE", "Late", "14:00", "22:00")] {
            let _ = writeln!(
                s_shifts,
                "  - {{ id: {id}-{shift}, site: {id}, name: {name}, start: \"{start}\", end: \"{end}\", weekdays: [1, 2, 3, 4, 5] }}"
            );
        }
        let mut people = Vec::new();
        let mut n = 0;
        for (role, count, zones) in ROLES {
            for _ in 0..count {
                n += 1;
                let pid = format!("{id}-P{n:03}");
                let manager =
                    if role == "site_manager" { String::new() } else { format!(", manager: {id}-P{:03}", 29) };
                let _ = writeln!(
                    s_people,
                    "  - {{ id: {pid}, name: \"Person {n} of {id}\", role: {role}{manager}, status: active, site: {id} }}"
                );
                let zl: Vec<String> =
                    std::iter::once("FLOOR").chain(zones.iter().copied()).map(|z| format!("{id}-{z}")).collect();
                let badge = format!("{id}-B{n:03}");
                let _ = writeln!(
                    s_badges,
                    "  - {{ id: {badge}, person: {pid}, status: active, zones: [{}] }}",
                    zl.join(", ")
                );
                people.push(Person {
                    id: pid,
                    badge,
                    account: format!("{}p{n:03}", id.to_ascii_lowercase()),
                    role,
                    shift: n % 2,
                    from_day: 0,
                });
            }
        }
        // A new picker who joins on the third day (HR hires, the badge is issued, then work).
        n += 1;
        let _ = writeln!(
            s_people,
            "  - {{ id: {id}-P{n:03}, name: \"Person {n} of {id}\", role: picker, manager: {id}-P029, status: active, site: {id} }}"
        );
        let _ = writeln!(
            s_badges,
            "  - {{ id: {id}-B{n:03}, person: {id}-P{n:03}, status: active, zones: [{id}-FLOOR, {id}-DOCK] }}"
        );
        people.push(Person {
            id: format!("{id}-P{n:03}"),
            badge: format!("{id}-B{n:03}"),
            account: format!("{}p{n:03}", id.to_ascii_lowercase()),
            role: "picker",
            shift: 0,
            from_day: HIRE_DAY.min(cfg.days.saturating_sub(1)),
        });
        // The maintenance vendor's technician, badged for the floor and the server room.
        let _ = writeln!(
            s_people,
            "  - {{ id: {id}-V01, name: \"Technician of {id}\", role: technician, status: active, site: {id}, vendor: V-HVAC }}"
        );
        let _ = writeln!(
            s_badges,
            "  - {{ id: {id}-VB01, person: {id}-V01, status: active, zones: [{id}-FLOOR, {id}-IT] }}"
        );
        let mut locations = Vec::new();
        for a in 0..AISLES {
            locations.push(format!("{id}-A-{a:03}"));
        }
        for c in 0..CAGE_BINS {
            locations.push(format!("{id}-CAGE-{c:02}"));
        }
        locations.push(format!("{id}-DOCK-IN"));
        locations.push(format!("{id}-PACK"));
        for (li, l) in locations.iter().enumerate() {
            let zone = if li < AISLES as usize || l.ends_with("PACK") {
                "FLOOR"
            } else if l.contains("CAGE") {
                "CAGE"
            } else {
                "DOCK"
            };
            let _ = writeln!(
                s_locations,
                "  - {{ id: {l}, site: {id}, zone: {id}-{zone}, sgln: \"urn:epc:id:sgln:0614141.{:05}.{li}\" }}",
                i + 1
            );
        }
        let stock = vec![vec![0i64; SKUS as usize]; locations.len()];
        let lost = stock.clone();
        let sources = SOURCES.map(|src| format!("{src}-{}", id.to_ascii_lowercase()));
        sites.push(Site { id, num: i + 1, sources, tz, people, stock, lost, locations });
    }
    for (name, body) in [
        ("sites", &sec[0]),
        ("zones", &sec[1]),
        ("doors", &sec[2]),
        ("readers", &sec[3]),
        ("cameras", &sec[4]),
        ("vendors", &sec[5]),
        ("people", &sec[6]),
        ("badges", &sec[7]),
        ("skus", &sec[8]),
        ("locations", &sec[9]),
        ("shifts", &sec[10]),
        ("assets", &sec[11]),
    ] {
        let _ = writeln!(yaml, "{name}:");
        yaml.push_str(body);
    }

    let skew_s = [0, rng.range(-20, 20), rng.range(-5, 5), 0, 0, rng.range(-60, 60)];
    let mut feeds = Feeds {
        arena: String::new(),
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

    // Opening balances: what the storage held before the first day.
    for site in sites.iter_mut() {
        let at = local(&site.tz, cfg.start, 5, 0, 0);
        for loc in 0..(AISLES + CAGE_BINS) as usize {
            for _ in 0..5 {
                let k = rng.below(u64::from(SKUS)) as usize;
                let q = rng.range(100, 300);
                site.stock[loc][k] += q;
                let body = || {
                    format!(
                        r#""sku":"{}","quantity":{q},"to_location":"{}","reference":"OPENING-BALANCE""#,
                        sku_id(k),
                        site.locations[loc]
                    )
                };
                let m = Stock {
                    step: "receiving",
                    kind: "inventory.received",
                    k,
                    q,
                    at: loc,
                    source: None,
                    destination: None,
                    ndjson: &body,
                };
                feeds.stock(site, at, m);
            }
        }
    }
    for d in 0..cfg.days {
        let date = cfg.start + Duration::days(i64::from(d));
        let weekday = date.weekday();
        let workday = !matches!(weekday, Weekday::Sat | Weekday::Sun);
        for si in 0..sites.len() {
            if workday {
                operate_day(&mut sites[si], &terminated[si], d, date, &mut rng, &mut feeds);
            } else if weekday == Weekday::Sat && rng.chance(SATURDAY_RATE) {
                work_saturday(&mut sites[si], &terminated[si], d, date, &mut rng, &mut feeds);
            }
            for &(_, _, scenario, spec) in plan.iter().filter(|p| p.0 == d && p.1 == si) {
                let n = instances.len() + 1;
                let params = if spec == 0 { &defaults } else { &cfg.scenarios[spec - 1].params };
                let at = Injection { scenario, params, n, date };
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

/// A GTIN-14 with a valid check digit for SKU `k`.
fn gtin(k: usize) -> String {
    // Indicator 1, company prefix 0614141, item reference k: what
    // `urn:epc:class:lgtin:0614141.1kkkkk.LOT` carries.
    let body = format!("10614141{:05}", k);
    let sum: u32 =
        body.bytes().rev().enumerate().map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 }).sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// One normal working day at a site: shifts, badges, logins, people counts,
/// receiving, put-away, picking waves, packing, shipping, cycle counts.
fn operate_day(site: &mut Site, gone: &[usize], day: u32, date: NaiveDate, rng: &mut Rng, f: &mut Feeds) {
    let tz = site.tz;
    let mut arrivals_per_hour = [0u32; 24];
    let sid = site.id.clone();
    for (pi, p) in site.people.iter().enumerate() {
        if p.from_day > day {
            continue;
        }
        if p.from_day == day && p.from_day > 0 {
            // Their first day: HR records the hire, the badge is issued before the shift.
            let t = local(&tz, date, 5, 0, 0);
            f.emit(4, site, t, "hr.hired", &format!(r#""person":"{}","role":"{}""#, p.id, p.role));
            f.emit(
                3,
                site,
                t + Duration::seconds(600),
                "identity.credential_issued",
                &format!(r#""credential_type":"badge","credential":"{}","person":"{}""#, p.badge, p.id),
            );
        }
        if gone.contains(&pi) || !rng.chance(0.95) {
            continue;
        }
        let (start_h, end_h) = if p.shift == 0 { (6, 14) } else { (14, 22) };
        let arrive = local(&tz, date, start_h, 0, 0) - Duration::seconds(rng.range(60, 900));
        let site_ref = &*site;
        if !rng.chance(0.005) {
            f.badge(site_ref, arrive, "MAIN", &p.badge, Some(&p.id), "in");
            if rng.chance(0.01) {
                // A duplicate read: the same swipe reported twice.
                f.badge(site_ref, arrive + Duration::seconds(1), "MAIN", &p.badge, Some(&p.id), "in");
            }
        }
        let h = arrive.with_timezone(&tz).time().format("%H").to_string().parse::<usize>().unwrap_or(0);
        arrivals_per_hour[h % 24] += 1;
        let mfa = matches!(p.role, "it_admin" | "site_manager" | "supervisor");
        f.emit(3, site_ref, arrive + Duration::seconds(rng.range(120, 600)), "identity.login", &format!(
            r#""system":"wms","account":"{}","result":"success","mfa":{mfa},"source_ip":"10.{}.{}.{}","person":"{}""#,
            p.account, 20, rng.range(1, 9), rng.range(10, 250), p.id));
        if rng.chance(BREAK_RATE) {
            // A break: out through the main door mid-shift, back 15-30 minutes later.
            let out = local(&tz, date, start_h + 3, rng.range(0, 59) as u32, rng.range(0, 59) as u32);
            f.badge(site_ref, out, "MAIN", &p.badge, Some(&p.id), "out");
            f.badge(site_ref, out + Duration::seconds(rng.range(900, 1800)), "MAIN", &p.badge, Some(&p.id), "in");
        }
        if p.role == "cage_operator" || (p.role == "supervisor" && rng.chance(0.3)) {
            for _ in 0..rng.range(1, 3) {
                let t = local(&tz, date, start_h + rng.range(0, 7) as u32, rng.range(0, 59) as u32, 0);
                f.badge(site_ref, t, "CAGE", &p.badge, Some(&p.id), "in");
            }
        }
        // Overtime now and then.
        let extra = if rng.chance(0.05) { rng.range(3600, 7200) } else { rng.range(0, 1200) };
        let leave = local(&tz, date, end_h, 0, 0) + Duration::seconds(extra);
        f.badge(site_ref, leave, "MAIN", &p.badge, Some(&p.id), "out");
    }
    for (h, &n) in arrivals_per_hour.iter().enumerate() {
        if n > 0 {
            // Cameras miscount a little.
            let counted = (i64::from(n) + if rng.chance(0.1) { rng.range(-1, 1) } else { 0 }).max(0);
            f.emit(
                1,
                site,
                local(&tz, date, h as u32, 59, 0),
                "video.people_count",
                &format!(r#""camera":"{sid}-CAM-MAIN","door":"{sid}-D-MAIN","people":{counted},"direction":"in""#),
            );
        }
    }
    // Receiving: trucks against advance shipping notices, then put-away.
    let dock_in = site.dock_in();
    for truck in 0..rng.range(6, 10) {
        let asn = format!("ASN-{}-{}-{truck}", sid, date.format("%m%d"));
        let carrier = if rng.chance(0.7) { "V-CARRIER-1" } else { "V-CARRIER-2" };
        let arrive = local(&tz, date, 6 + truck as u32, rng.range(0, 40) as u32, 0);
        let receiver = site
            .people
            .iter()
            .filter(|p| p.role == "receiver")
            .nth(rng.below(4) as usize)
            .map(|p| p.id.clone())
            .unwrap_or_default();
        for line in 0..rng.range(15, 35) {
            let k = rng.below(u64::from(SKUS)) as usize;
            let q = rng.range(20, 100);
            let t = arrive + Duration::seconds(line * 40);
            let body = || {
                format!(
                    r#""sku":"{}","quantity":{q},"to_location":"{}","reference":"{asn}","vendor":"{carrier}","person":"{receiver}""#,
                    sku_id(k),
                    site.locations[dock_in]
                )
            };
            let m = Stock {
                step: "receiving",
                kind: "inventory.received",
                k,
                q,
                at: dock_in,
                source: None,
                destination: None,
                ndjson: &body,
            };
            f.stock(site, t, m);
            let to = if sku_value(k).1 == "critical" || sku_value(k).1 == "high" {
                AISLES as usize + rng.below(u64::from(CAGE_BINS)) as usize
            } else {
                rng.below(u64::from(AISLES)) as usize
            };
            put_away(site, f, t + Duration::seconds(rng.range(1200, 3600)), k, q, to, Some(&receiver));
        }
    }
    // Picking waves, packing and shipping: every two hours, as many lines
    // as the shift's pickers pick at WERC's median rate (see SIMULATOR.md).
    let pickers_per_shift = site.people.iter().filter(|p| p.role == "picker").count() as i64 / 2;
    let mut shipped_units = 0i64;
    for (wave, hour) in [(0u32, 7u32), (1, 9), (2, 11), (3, 15), (4, 17), (5, 19)] {
        shipped_units += pick_wave(site, date, wave, hour, pickers_per_shift * 2 * PICK_LINES_PER_HOUR, rng, f);
    }
    // Unrecorded process losses (damage, loss) that no event reports.
    let mut to_lose = (shipped_units as f64 * UNRECORDED_LOSS_RATE).round() as i64;
    while to_lose > 0 {
        let loc = rng.below((AISLES + CAGE_BINS) as u64) as usize;
        let k = rng.below(u64::from(SKUS)) as usize;
        if site.physical(loc, k) > 0 {
            site.lost[loc][k] += 1;
            to_lose -= 1;
        } else if rng.chance(0.01) {
            break;
        }
    }
    // Cycle counts of stocked places: the counter finds what is physically
    // there (miscounting now and then); a difference is corrected in the
    // book by an approved "count correction", as WMSs do.
    let supervisor = site.people.iter().find(|p| p.role == "supervisor").map(|p| p.id.clone()).unwrap_or_default();
    for c in 0..COUNTS_PER_DAY {
        // ABC cadence: half the counts go to the cage's A items (critical and
        // high value), a third to medium (B) items, the rest to anything (C).
        let loc = rng.below((AISLES + CAGE_BINS) as u64) as usize;
        let offset = rng.below(u64::from(SKUS)) as usize;
        let class = rng.below(6);
        let wanted = |k: usize| match class {
            0..=2 => matches!(sku_value(k).1, "critical" | "high"),
            3 | 4 => sku_value(k).1 == "medium",
            _ => true,
        };
        let loc = if class <= 2 { AISLES as usize + loc % CAGE_BINS as usize } else { loc };
        let Some(k) = (0..SKUS as usize)
            .map(|j| (j + offset) % SKUS as usize)
            .find(|&k| site.stock[loc][k] > 0 && wanted(k))
            .or_else(|| (0..SKUS as usize).map(|j| (j + offset) % SKUS as usize).find(|&k| site.stock[loc][k] > 0))
        else {
            continue;
        };
        let book = site.stock[loc][k];
        let physical = site.physical(loc, k).max(0);
        let counted = if rng.chance(MISCOUNT_RATE) { (physical + rng.range(-1, 1)).max(0) } else { physical };
        let at = local(&tz, date, 6, 30, c as u32);
        let body = || {
            format!(
                r#""sku":"{}","location":"{}","quantity":{counted},"count_type":"cycle""#,
                sku_id(k),
                site.locations[loc]
            )
        };
        let m = Stock {
            step: "cycle_counting",
            kind: "inventory.counted",
            k,
            q: counted,
            at: loc,
            source: None,
            destination: None,
            ndjson: &body,
        };
        f.stock(site, at, m);
        if counted != book {
            f.emit(
                2,
                site,
                at + Duration::seconds(600),
                "inventory.adjusted",
                &format!(
                    r#""sku":"{}","location":"{}","delta":{},"reason":"count correction","approver":"{supervisor}""#,
                    sku_id(k),
                    site.locations[loc],
                    counted - book
                ),
            );
            site.stock[loc][k] = counted;
            site.lost[loc][k] = counted - physical;
        }
    }
    // Weekly, Mondays: a full count of the cage before the first shift.
    if date.weekday() == Weekday::Mon {
        for loc in AISLES as usize..(AISLES + CAGE_BINS) as usize {
            for k in 0..SKUS as usize {
                if site.stock[loc][k] <= 0 {
                    continue;
                }
                let counted = site.physical(loc, k).max(0);
                let at = local(&tz, date, 5, 30, 0);
                let body = || {
                    format!(
                        r#""sku":"{}","location":"{}","quantity":{counted},"count_type":"full","person":"{supervisor}""#,
                        sku_id(k),
                        site.locations[loc]
                    )
                };
                let m = Stock {
                    step: "stock_taking",
                    kind: "inventory.counted",
                    k,
                    q: counted,
                    at: loc,
                    source: None,
                    destination: None,
                    ndjson: &body,
                };
                f.stock(site, at, m);
                if counted != site.stock[loc][k] {
                    f.emit(2, site, at + Duration::seconds(900), "inventory.adjusted", &format!(
                        r#""sku":"{}","location":"{}","delta":{},"reason":"count correction","approver":"{supervisor}""#,
                        sku_id(k), site.locations[loc], counted - site.stock[loc][k]));
                    site.stock[loc][k] = counted;
                    site.lost[loc][k] = 0;
                }
            }
        }
    }
    // Customer returns against RMAs, back to the dock, then into storage.
    let dock_in = site.dock_in();
    for r in 0..rng.range(2, 6) {
        let k = rng.below(u64::from(SKUS)) as usize;
        let q = rng.range(1, 3);
        let t = local(&tz, date, 13, rng.range(0, 59) as u32, r as u32);
        f.emit(
            2,
            site,
            t,
            "inventory.returned",
            &format!(
                r#""sku":"{}","quantity":{q},"to_location":"{}","reference":"RMA-{}-{}-{r}""#,
                sku_id(k),
                site.locations[dock_in],
                sid,
                date.format("%m%d")
            ),
        );
        let to = rng.below(u64::from(AISLES)) as usize;
        put_away(site, f, t + Duration::seconds(1800), k, q, to, None);
    }
    // Wednesdays: the maintenance vendor's scheduled visit to the server room.
    if date.weekday() == Weekday::Wed {
        let (pid, badge) = (format!("{sid}-V01"), format!("{sid}-VB01"));
        let t = local(&tz, date, 10, rng.range(0, 20) as u32, 0);
        for (door, dir, after) in [("MAIN", "in", 0), ("IT", "in", 300), ("MAIN", "out", 5400)] {
            f.badge(site, t + Duration::seconds(after), door, &badge, Some(&pid), dir);
        }
    }
    // Device telemetry: the nightly network scan sees every device of the
    // site (cameras, readers, panel, HVAC, PLC, printer, scanners, switch),
    // which report their firmware on Mondays; now and then an administrator
    // changes a reader's configuration, or a device drops off the network.
    let devices: Vec<String> = DEVICES.iter().map(|d| format!("{sid}-{}", d.0)).collect();
    for (i, d) in devices.iter().enumerate() {
        let t = local(&tz, date, 3, 0, i as u32 * 7);
        f.emit(
            5,
            site,
            t,
            "asset.seen",
            &format!(
                r#""asset":"{d}","ip":"10.{}.8.{}","network_segment":"ot-{}""#,
                site.num,
                10 + i,
                sid.to_ascii_lowercase()
            ),
        );
        if date.weekday() == Weekday::Mon {
            f.emit(
                5,
                site,
                t + Duration::seconds(30),
                "asset.firmware_reported",
                &format!(r#""asset":"{d}","firmware_version":"4.2.{}""#, i % 3),
            );
        }
        if rng.chance(0.01) {
            f.emit(
                5,
                site,
                local(&tz, date, rng.range(0, 23) as u32, 0, 0),
                "asset.offline",
                &format!(r#""asset":"{d}""#),
            );
        }
    }
    if rng.chance(0.1) {
        let admin = site.people.iter().find(|p| p.role == "it_admin").map(|p| (p.id.clone(), p.account.clone()));
        if let Some((pid, account)) = admin {
            f.emit(5, site, local(&tz, date, 11, 15, 0), "asset.config_changed", &format!(
                r#""asset":"{sid}-R-DOCK1","summary":"door held-open alarm delay 30s -> 45s","person":"{pid}","account":"{account}""#));
        }
    }
    // A camera reports tampering now and then: the cleaning crew bumped it.
    if rng.chance(0.02) {
        let cam = ["MAIN", "CAGE", "DOCK"][rng.below(3) as usize];
        f.emit(
            1,
            site,
            local(&tz, date, 21, rng.range(0, 59) as u32, 0),
            "video.camera_tamper",
            &format!(r#""camera":"{sid}-CAM-{cam}","detail":"field of view changed""#),
        );
    }
    // HR: now and then a picker moves to receiving.
    if rng.chance(0.03) {
        let p = &site.people[rng.below(14) as usize];
        f.emit(
            4,
            site,
            local(&tz, date, 8, 0, 0),
            "hr.role_changed",
            &format!(r#""person":"{}","role":"receiver""#, p.id),
        );
    }
    // HR: now and then someone goes on leave and comes back a week later.
    if rng.chance(0.05) {
        let p = &site.people[rng.below(site.people.len() as u64) as usize];
        f.emit(4, site, local(&tz, date, 9, 0, 0), "hr.leave_started", &format!(r#""person":"{}""#, p.id));
        f.emit(
            4,
            site,
            local(&tz, date + Duration::days(7), 9, 0, 0),
            "hr.leave_ended",
            &format!(r#""person":"{}""#, p.id),
        );
    }
}

/// A stocked place: in the cage, or on the floor.
fn stocked(site: &Site, rng: &mut Rng, cage: bool) -> Option<(usize, usize)> {
    stocked_with(site, rng, cage, 1)
}

/// A place holding at least `min` units by the book, or failing that any stocked place.
fn stocked_with(site: &Site, rng: &mut Rng, cage: bool, min: i64) -> Option<(usize, usize)> {
    let places: Vec<usize> =
        if cage { (AISLES as usize..(AISLES + CAGE_BINS) as usize).collect() } else { (0..AISLES as usize).collect() };
    let offset = rng.below(places.len() as u64) as usize;
    let koff = rng.below(u64::from(SKUS)) as usize;
    let order = || {
        (0..places.len())
            .map(|i| places[(i + offset) % places.len()])
            .flat_map(|l| (0..SKUS as usize).map(move |j| (l, (j + koff) % SKUS as usize)))
    };
    order().find(|&(l, k)| site.stock[l][k] >= min).or_else(|| order().find(|&(l, k)| site.stock[l][k] > 0))
}

/// Someone of a role: (person, badge, account).
fn pick_role(site: &Site, rng: &mut Rng, role: &str) -> (String, String, String) {
    let of: Vec<&Person> = site.people.iter().filter(|p| p.role == role).collect();
    let p = of[rng.below(of.len() as u64) as usize];
    (p.id.clone(), p.badge.clone(), p.account.clone())
}

/// Puts `q` units of SKU `k` away from the dock to location `to`, by
/// `person` when the WMS records who.
fn put_away(site: &mut Site, f: &mut Feeds, at: DateTime<Utc>, k: usize, q: i64, to: usize, person: Option<&str>) {
    let dock_in = site.dock_in();
    let body = || {
        let by = person.map(|p| format!(r#","person":"{p}""#)).unwrap_or_default();
        format!(
            r#""sku":"{}","quantity":{q},"from_location":"{}","to_location":"{}"{by}"#,
            sku_id(k),
            site.locations[dock_in],
            site.locations[to]
        )
    };
    let m = Stock {
        step: "storing",
        kind: "inventory.put_away",
        k,
        q,
        at: to,
        source: Some(dock_in),
        destination: None,
        ndjson: &body,
    };
    f.stock(site, at, m);
    site.stock[to][k] += q;
}

/// A Saturday morning with a skeleton crew (a supervisor and three pickers
/// of the early shift): legitimate weekend work that a naive detector
/// mistakes for off-hours activity.
fn work_saturday(site: &mut Site, gone: &[usize], day: u32, date: NaiveDate, rng: &mut Rng, f: &mut Feeds) {
    let tz = site.tz;
    let sid = site.id.clone();
    let crew: Vec<usize> = (0..site.people.len())
        .filter(|&i| {
            let p = &site.people[i];
            p.shift == 0 && p.from_day <= day && !gone.contains(&i) && matches!(p.role, "supervisor" | "picker")
        })
        .collect();
    let supervisor = crew.iter().copied().filter(|&i| site.people[i].role == "supervisor").take(1);
    let pickers = crew.iter().copied().filter(|&i| site.people[i].role == "picker").take(3);
    let crew: Vec<usize> = supervisor.chain(pickers).collect();
    for &i in &crew {
        let p = &site.people[i];
        let arrive = local(&tz, date, 7, 45, 0) - Duration::seconds(rng.range(0, 900));
        f.badge(site, arrive, "MAIN", &p.badge, Some(&p.id), "in");
        let mfa = p.role == "supervisor";
        f.emit(3, site, arrive + Duration::seconds(rng.range(120, 600)), "identity.login", &format!(
            r#""system":"wms","account":"{}","result":"success","mfa":{mfa},"source_ip":"10.20.{}.{}","person":"{}""#,
            p.account, rng.range(1, 9), rng.range(10, 250), p.id));
        let leave = local(&tz, date, 12, 0, 0) + Duration::seconds(rng.range(0, 1800));
        f.badge(site, leave, "MAIN", &p.badge, Some(&p.id), "out");
    }
    f.emit(
        1,
        site,
        local(&tz, date, 7, 59, 0),
        "video.people_count",
        &format!(r#""camera":"{sid}-CAM-MAIN","door":"{sid}-D-MAIN","people":{},"direction":"in""#, crew.len()),
    );
    let pickers = crew.len().saturating_sub(1) as i64;
    pick_wave(site, date, 9, 9, pickers * 2 * PICK_LINES_PER_HOUR, rng, f);
}

/// One picking wave at `hour`: `lines` order lines picked to the pack
/// station, packed, and shipped two and a half hours later. Returns the
/// units shipped.
fn pick_wave(site: &mut Site, date: NaiveDate, wave: u32, hour: u32, lines: i64, rng: &mut Rng, f: &mut Feeds) -> i64 {
    let tz = site.tz;
    let sid = site.id.clone();
    let pack = site.pack();
    let mut shipped_units = 0;
    let order_base = format!("SO-{}-{}-{wave}", sid, date.format("%m%d"));
    for line in 0..lines {
        let loc = rng.below((AISLES + CAGE_BINS) as u64) as usize;
        let offset = rng.below(u64::from(SKUS)) as usize;
        let Some(k) =
            (0..SKUS as usize).map(|j| (j + offset) % SKUS as usize).take(16).find(|&k| site.physical(loc, k) > 0)
        else {
            continue;
        };
        let q = rng.range(1, 5).min(site.physical(loc, k)).min(site.stock[loc][k]);
        if q <= 0 {
            continue;
        }
        site.stock[loc][k] -= q;
        // Where the picker's scan says the units came from.
        let mut scanned = loc;
        if rng.chance(MISPICK_RATE) {
            let neighbour = if site.is_cage(loc) {
                AISLES as usize + (loc - AISLES as usize + 1) % CAGE_BINS as usize
            } else {
                (loc + 1) % AISLES as usize
            };
            if rng.chance(0.5) {
                // A mis-pick: the picker takes another SKU of the bin than the
                // one scanned, so two records drift from the shelf.
                if let Some(j) = (0..SKUS as usize).find(|&j| j != k && site.physical(loc, j) >= q) {
                    site.lost[loc][k] -= q;
                    site.lost[loc][j] += q;
                }
            } else if site.stock[neighbour][k] >= q {
                // A mis-scan: the units leave this bin, the scan books them
                // out of the next one; both drift from the shelf.
                site.stock[loc][k] += q;
                site.stock[neighbour][k] -= q;
                site.lost[loc][k] += q;
                site.lost[neighbour][k] -= q;
                scanned = neighbour;
            }
        }
        shipped_units += q;
        let order = format!("{order_base}-{:03}", line / 3);
        let picker = site
            .people
            .iter()
            .filter(|p| p.role == "picker" || (site.is_cage(loc) && p.role == "cage_operator"))
            .nth(rng.below(2) as usize)
            .map(|p| p.id.clone())
            .unwrap_or_default();
        let t = local(&tz, date, hour, rng.range(0, 59) as u32, rng.range(0, 59) as u32);
        let body = || {
            format!(
                r#""sku":"{}","quantity":{q},"from_location":"{}","to_location":"{}","order":"{order}","person":"{picker}""#,
                sku_id(k),
                site.locations[scanned],
                site.locations[pack]
            )
        };
        let m = Stock {
            step: "picking",
            kind: "inventory.picked",
            k,
            q,
            at: scanned,
            source: None,
            destination: Some(pack),
            ndjson: &body,
        };
        f.stock(site, t, m);
        let body = || {
            format!(r#""sku":"{}","quantity":{q},"location":"{}","order":"{order}""#, sku_id(k), site.locations[pack])
        };
        let m = Stock {
            step: "packing",
            kind: "inventory.packed",
            k,
            q,
            at: pack,
            source: None,
            destination: None,
            ndjson: &body,
        };
        f.stock(site, t + Duration::seconds(rng.range(300, 1800)), m);
        let carrier = if wave % 2 == 1 { "V-CARRIER-2" } else { "V-CARRIER-1" };
        let body = || {
            format!(
                r#""sku":"{}","quantity":{q},"from_location":"{}","order":"{order}","carrier":"{carrier}","door":"{sid}-D-DOCK1""#,
                sku_id(k),
                site.locations[pack]
            )
        };
        let m = Stock {
            step: "shipping",
            kind: "inventory.shipped",
            k,
            q,
            at: pack,
            source: None,
            destination: None,
            ndjson: &body,
        };
        f.stock(site, local(&tz, date, hour + 2, 30, 0) + Duration::seconds(line), m);
    }
    shipped_units
}

/// One instance to inject: which, with what parameters, its number, its day.
struct Injection<'a> {
    scenario: Scenario,
    params: &'a Params,
    n: usize,
    date: NaiveDate,
}

/// Injects one instance of a scenario; returns its truth.
fn inject(
    at: Injection<'_>,
    site: &mut Site,
    terminated: &mut Vec<usize>,
    rng: &mut Rng,
    f: &mut Feeds,
) -> Option<Instance> {
    let Injection { scenario, params: prm, n, date } = at;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    // Units: a parameter, or drawn from the usual range.
    let units = |rng: &mut Rng, lo: i64, hi: i64| prm.units.unwrap_or_else(|| rng.range(lo, hi));
    let tz = site.tz;
    let sid = site.id.clone();
    let mut events = Vec::new();
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    match scenario {
        Scenario::TerminatedBadgeInUse => {
            let candidates: Vec<usize> = (0..site.people.len())
                .filter(|i| site.people[*i].role == "picker" && !terminated.contains(i))
                .collect();
            let pi = *rng.pick(&candidates);
            terminated.push(pi);
            let p = &site.people[pi];
            let (pid, badge) = (p.id.clone(), p.badge.clone());
            // HR records the termination the day before; the badge is never revoked.
            let fired = local(&tz, date - Duration::days(i64::from(prm.days.unwrap_or(1))), 17, 0, 0);
            events.push(f.emit_ref(
                4,
                site,
                fired,
                "hr.terminated",
                &format!(r#""person":"{pid}","reason":"dismissal""#),
            ));
            let t = local(&tz, date, hour(23), rng.range(0, 30) as u32, 0);
            events.push(f.badge(site, t, "MAIN", &badge, None, "in"));
            events.push(f.badge(site, t + Duration::seconds(180), "DOCK1", &badge, None, "in"));
            events.push(f.badge(site, t + Duration::seconds(1500), "MAIN", &badge, None, "out"));
            actors = vec![pid];
            entities = vec![badge, format!("{sid}-D-MAIN")];
            start = fired;
            first_signal = t;
            end = t + Duration::seconds(1500);
        }
        Scenario::AfterHoursCageRemoval => {
            let ops: Vec<&Person> = site.people.iter().filter(|p| p.role == "cage_operator").collect();
            let p = *rng.pick(&ops);
            let (pid, badge) = (p.id.clone(), p.badge.clone());
            let t = local(&tz, date, hour(23), rng.range(0, 40) as u32, 0);
            events.push(f.badge(site, t, "CAGE", &badge, Some(&pid), "in"));
            events.push(f.emit_ref(
                1,
                site,
                t + Duration::seconds(20),
                "video.motion",
                &format!(r#""camera":"{sid}-CAM-CAGE","zone":"{sid}-CAGE""#),
            ));
            // Take what the cage holds of its most valuable SKU.
            let cage: Vec<usize> = (AISLES as usize..(AISLES + CAGE_BINS) as usize).collect();
            let (loc, k) = cage
                .iter()
                .flat_map(|&l| (0..SKUS as usize).map(move |k| (l, k)))
                .filter(|&(l, k)| site.stock[l][k] > 0)
                .max_by(|a, b| sku_value(a.1).0.total_cmp(&sku_value(b.1).0).then(b.cmp(a)))?;
            let q = site.stock[loc][k].min(units(rng, 3, 10));
            site.stock[loc][k] -= q;
            let dock_in = site.dock_in();
            site.stock[dock_in][k] += q;
            events.push(f.emit_ref(
                2,
                site,
                t + Duration::seconds(600),
                "inventory.moved",
                &format!(
                    r#""sku":"{}","quantity":{q},"from_location":"{}","to_location":"{}","person":"{pid}""#,
                    sku_id(k),
                    site.locations[loc],
                    site.locations[site.dock_in()]
                ),
            ));
            events.push(f.badge(site, t + Duration::seconds(900), "DOCK2", &badge, Some(&pid), "in"));
            actors = vec![pid];
            entities = vec![badge, format!("{sid}-CAGE"), sku_id(k)];
            start = t;
            first_signal = t;
            end = t + Duration::seconds(900);
        }
        Scenario::DockDoorHeldAtNight => {
            let t = local(&tz, date, hour(2), rng.range(0, 50) as u32, 0);
            let held = prm.minutes.map_or_else(|| rng.range(1500, 3000), |m| i64::from(m) * 60);
            events.push(f.emit_ref(
                0,
                site,
                t + Duration::seconds(held),
                "access.door_held_open",
                &format!(r#""door":"{sid}-D-DOCK2","duration_s":{held}"#),
            ));
            events.push(f.emit_ref(
                1,
                site,
                t + Duration::seconds(60),
                "video.motion",
                &format!(r#""camera":"{sid}-CAM-DOCK","zone":"{sid}-DOCK""#),
            ));
            actors = vec![];
            entities = vec![format!("{sid}-D-DOCK2"), format!("{sid}-DOCK")];
            start = t;
            first_signal = t + Duration::seconds(60);
            end = t + Duration::seconds(held);
        }
        Scenario::Tailgating => {
            let ops: Vec<&Person> = site.people.iter().filter(|p| p.role == "cage_operator").collect();
            let p = *rng.pick(&ops);
            let (pid, badge) = (p.id.clone(), p.badge.clone());
            let t = local(&tz, date, hour(10), rng.range(0, 59) as u32, 0);
            events.push(f.badge(site, t, "CAGE", &badge, Some(&pid), "in"));
            let people = prm.people.unwrap_or(2);
            events.push(f.emit_ref(
                1,
                site,
                t + Duration::seconds(4),
                "video.tailgating",
                &format!(r#""camera":"{sid}-CAM-CAGE","door":"{sid}-D-CAGE","people":{people},"badge":"{badge}""#),
            ));
            actors = vec![pid];
            entities = vec![badge, format!("{sid}-D-CAGE")];
            start = t;
            first_signal = t + Duration::seconds(4);
            end = t + Duration::seconds(4);
        }
        Scenario::AuthorisedAfterHoursMove => {
            let sups: Vec<&Person> = site.people.iter().filter(|p| p.role == "supervisor").collect();
            let p = *rng.pick(&sups);
            let (pid, badge) = (p.id.clone(), p.badge.clone());
            let t = local(&tz, date, hour(21), 30 + rng.range(0, 20) as u32, 0);
            events.push(f.badge(site, t, "CAGE", &badge, Some(&pid), "in"));
            let cage: Vec<usize> = (AISLES as usize..(AISLES + CAGE_BINS) as usize).collect();
            let (loc, k) = cage
                .iter()
                .flat_map(|&l| (0..SKUS as usize).map(move |k| (l, k)))
                .find(|&(l, k)| site.stock[l][k] > 0)?;
            let q = site.stock[loc][k].min(prm.units.unwrap_or(2));
            let to = (loc + 1 - AISLES as usize) % CAGE_BINS as usize + AISLES as usize;
            site.stock[loc][k] -= q;
            site.stock[to][k] += q;
            events.push(f.emit_ref(2, site, t + Duration::seconds(300), "inventory.moved", &format!(
                r#""sku":"{}","quantity":{q},"from_location":"{}","to_location":"{}","person":"{pid}","work_order":"WO-{n:05}""#,
                sku_id(k), site.locations[loc], site.locations[to])));
            actors = vec![pid];
            entities = vec![badge, format!("{sid}-CAGE")];
            start = t;
            first_signal = t;
            end = t + Duration::seconds(300);
        }

        Scenario::VendorOutsideWindow => {
            let t = local(&tz, date, hour(3), rng.range(0, 40) as u32, 0);
            let (pid, badge) = (format!("{sid}-V01"), format!("{sid}-VB01"));
            events.push(f.badge(site, t, "IT", &badge, Some(&pid), "in"));
            events.push(f.emit_ref(3, site, t + Duration::seconds(240), "identity.login", &format!(
                r#""system":"wms","account":"vendor-hvac","result":"success","mfa":false,"source_ip":"203.0.113.{}""#, rng.range(2, 250))));
            let (loc, k) = stocked(site, rng, false)?;
            let q = site.stock[loc][k].min(units(rng, 5, 20));
            site.stock[loc][k] -= q;
            events.push(f.emit_ref(
                2,
                site,
                t + Duration::seconds(900),
                "inventory.adjusted",
                &format!(
                    r#""sku":"{}","location":"{}","delta":-{q},"reason":"count correction","account":"vendor-hvac""#,
                    sku_id(k),
                    site.locations[loc]
                ),
            ));
            actors = vec![pid];
            entities = vec![badge, "V-HVAC".into(), format!("{sid}-D-IT"), sku_id(k)];
            (start, first_signal, end) = (t, t, t + Duration::seconds(900));
        }
        Scenario::CameraOfflineBeforeLoss => {
            let who = pick_role(site, rng, "cage_operator");
            let t = local(&tz, date, hour(22), rng.range(30, 50) as u32, 0);
            events.push(f.emit_ref(
                1,
                site,
                t,
                "video.camera_offline",
                &format!(r#""camera":"{sid}-CAM-CAGE","detail":"no video signal""#),
            ));
            // Into the cage `minutes` after the camera went dark (15 by default), out 400 s later.
            let gap = i64::from(prm.minutes.unwrap_or(15)) * 60;
            events.push(f.badge(site, t + Duration::seconds(gap), "CAGE", &who.1, Some(&who.0), "in"));
            let (loc, k) = stocked(site, rng, true)?;
            let q = site.stock[loc][k].min(units(rng, 2, 6));
            site.stock[loc][k] -= q;
            let dock_in = site.dock_in();
            site.stock[dock_in][k] += q;
            events.push(f.emit_ref(
                2,
                site,
                t + Duration::seconds(gap + 400),
                "inventory.moved",
                &format!(
                    r#""sku":"{}","quantity":{q},"from_location":"{}","to_location":"{}","person":"{}""#,
                    sku_id(k),
                    site.locations[loc],
                    site.locations[dock_in],
                    who.0
                ),
            ));
            entities = vec![format!("{sid}-CAM-CAGE"), who.1.clone(), sku_id(k)];
            actors = vec![who.0];
            (start, first_signal, end) = (t, t, t + Duration::seconds(gap + 400));
        }
        Scenario::BadgeSharing => {
            let who = pick_role(site, rng, "picker");
            let t = local(&tz, date, hour(11), rng.range(0, 50) as u32, 0);
            events.push(f.badge(site, t, "DOCK1", &who.1, Some(&who.0), "in"));
            // The same badge at the far end of the site seconds later: two people share it.
            let gap = Duration::seconds(i64::from(prm.seconds.unwrap_or(20)));
            events.push(f.badge(site, t + gap, "MAIN", &who.1, Some(&who.0), "in"));
            entities = vec![who.1.clone(), format!("{sid}-D-DOCK1"), format!("{sid}-D-MAIN")];
            actors = vec![who.0];
            (start, first_signal, end) = (t, t + gap, t + gap);
        }
        Scenario::PhantomReceipts => {
            let t = local(&tz, date, hour(4), rng.range(0, 50) as u32, 0);
            events.push(f.emit_ref(3, site, t, "identity.api_key_used", &format!(
                r#""system":"wms","api_key":"key-carrier2-edi","operation":"POST /receipts","source_ip":"198.51.100.{}","vendor":"V-CARRIER-2""#,
                rng.range(2, 250))));
            let k =
                (0..SKUS as usize).filter(|k| sku_value(*k).1 == "critical").nth(rng.below(10) as usize).unwrap_or(0);
            let q = units(rng, 50, 150);
            let dock_in = site.dock_in();
            site.stock[dock_in][k] += q;
            events.push(f.emit_ref(2, site, t + Duration::seconds(30), "inventory.received", &format!(
                r#""sku":"{}","quantity":{q},"to_location":"{}","reference":"ASN-X{n:05}","vendor":"V-CARRIER-2","account":"api:key-carrier2-edi""#,
                sku_id(k), site.locations[dock_in])));
            entities = vec!["key-carrier2-edi".into(), "V-CARRIER-2".into(), sku_id(k)];
            actors = vec![];
            (start, first_signal, end) = (t, t, t + Duration::seconds(30));
        }
        Scenario::RecordManipulation => {
            let who = pick_role(site, rng, "cage_operator");
            let t = local(&tz, date, hour(21), rng.range(40, 58) as u32, 0);
            let (loc, k) = stocked(site, rng, true)?;
            let q = site.stock[loc][k].min(units(rng, 2, 8));
            site.stock[loc][k] -= q;
            events.push(f.emit_ref(
                2,
                site,
                t,
                "inventory.adjusted",
                &format!(
                    r#""sku":"{}","location":"{}","delta":-{q},"reason":"damaged","person":"{}""#,
                    sku_id(k),
                    site.locations[loc],
                    who.0
                ),
            ));
            // The next morning's count agrees with the edited book: the loss is hidden.
            let counted = local(&tz, date + Duration::days(1), 6, 31, 0);
            events.push(f.emit_ref(
                2,
                site,
                counted,
                "inventory.counted",
                &format!(
                    r#""sku":"{}","location":"{}","quantity":{},"count_type":"cycle","person":"{}""#,
                    sku_id(k),
                    site.locations[loc],
                    site.stock[loc][k],
                    who.0
                ),
            ));
            entities = vec![site.locations[loc].clone(), sku_id(k)];
            actors = vec![who.0];
            (start, first_signal, end) = (t, t, counted);
        }
        Scenario::SlowSkimming => {
            let who = pick_role(site, rng, "picker");
            let per_day = prm.units.unwrap_or(1);
            let days = i64::from(prm.days.unwrap_or(8));
            let (loc, k) = stocked_with(site, rng, false, per_day * days)?;
            let t = local(&tz, date, hour(13), 50, 0);
            for day in 0..days {
                let q = site.stock[loc][k].min(per_day);
                if q <= 0 {
                    break;
                }
                site.stock[loc][k] -= q;
                events.push(f.emit_ref(
                    2,
                    site,
                    t + Duration::days(day) + Duration::seconds(rng.range(0, 300)),
                    "inventory.adjusted",
                    &format!(
                        r#""sku":"{}","location":"{}","delta":-{q},"reason":"count correction","person":"{}""#,
                        sku_id(k),
                        site.locations[loc],
                        who.0
                    ),
                ));
            }
            let last = t + Duration::days(events.len() as i64);
            entities = vec![site.locations[loc].clone(), sku_id(k)];
            actors = vec![who.0];
            (start, first_signal, end) = (t, t, last);
        }
        Scenario::DockCollusion => {
            let who = pick_role(site, rng, "shipper");
            let t = local(&tz, date, hour(19), rng.range(0, 50) as u32, 0);
            let (loc, k) = stocked(site, rng, false)?;
            let q = site.stock[loc][k].min(units(rng, 10, 40));
            site.stock[loc][k] -= q;
            events.push(f.emit_ref(2, site, t, "inventory.shipped", &format!(
                r#""sku":"{}","quantity":{q},"from_location":"{}","order":"SO-X{n:05}","carrier":"V-CARRIER-2","door":"{sid}-D-DOCK2","person":"{}""#,
                sku_id(k), site.locations[loc], who.0)));
            events.push(f.badge(site, t - Duration::seconds(120), "DOCK2", &who.1, Some(&who.0), "in"));
            entities = vec!["V-CARRIER-2".into(), format!("{sid}-D-DOCK2"), sku_id(k)];
            actors = vec![who.0];
            (start, first_signal, end) = (t - Duration::seconds(120), t, t);
        }
        Scenario::PrivilegeEscalation => {
            let who = pick_role(site, rng, "picker");
            let account = who.2.clone();
            let t = local(&tz, date, hour(2), rng.range(0, 40) as u32, 0);
            let failures = i64::from(prm.failures.unwrap_or(3));
            for i in 0..failures {
                events.push(f.emit_ref(3, site, t + Duration::seconds(i * 20), "identity.login", &format!(
                    r#""system":"wms","account":"{account}","result":"failure","mfa":false,"source_ip":"192.0.2.{}""#, 10 + i % 200)));
            }
            // The success comes 20 s after the last failure; privilege use and the adjustment follow.
            let ok = t + Duration::seconds(failures * 20 + 20);
            events.push(f.emit_ref(
                3,
                site,
                ok,
                "identity.login",
                &format!(
                    r#""system":"wms","account":"{account}","result":"success","mfa":false,"source_ip":"192.0.2.13""#
                ),
            ));
            events.push(f.emit_ref(
                3,
                site,
                ok + Duration::seconds(120),
                "identity.privilege_use",
                &format!(r#""system":"wms","account":"{account}","privilege":"admin""#),
            ));
            let (loc, k) = stocked(site, rng, true)?;
            let q = site.stock[loc][k].min(prm.units.unwrap_or(3));
            site.stock[loc][k] -= q;
            events.push(f.emit_ref(
                2,
                site,
                ok + Duration::seconds(320),
                "inventory.adjusted",
                &format!(
                    r#""sku":"{}","location":"{}","delta":-{q},"reason":"write-off","account":"{account}""#,
                    sku_id(k),
                    site.locations[loc]
                ),
            ));
            entities = vec![account, sku_id(k)];
            actors = vec![who.0];
            (start, first_signal, end) = (t, t, ok + Duration::seconds(320));
        }
        Scenario::ScheduledOvertime => {
            let who = pick_role(site, rng, "supervisor");
            let t = local(&tz, date, hour(22), rng.range(0, 30) as u32, 0);
            let shift = Duration::minutes(i64::from(prm.minutes.unwrap_or(120)));
            events.push(f.badge(site, t, "MAIN", &who.1, Some(&who.0), "in"));
            events.push(f.badge(site, t + shift, "MAIN", &who.1, Some(&who.0), "out"));
            entities = vec![who.1.clone()];
            actors = vec![who.0];
            (start, first_signal, end) = (t, t, t + shift);
        }
        Scenario::EmergencyDoorOpening => {
            let t = local(&tz, date, hour(14), rng.range(10, 40) as u32, 0);
            for door in ["MAIN", "DOCK1", "DOCK2"] {
                events.push(f.emit_ref(
                    0,
                    site,
                    t + Duration::seconds(5),
                    "access.door_forced",
                    &format!(r#""door":"{sid}-D-{door}""#),
                ));
            }
            events.push(f.emit_ref(
                1,
                site,
                t + Duration::seconds(60),
                "video.people_count",
                &format!(
                    r#""camera":"{sid}-CAM-MAIN","door":"{sid}-D-MAIN","people":{},"direction":"out""#,
                    prm.people.map_or_else(|| rng.range(15, 30), i64::from)
                ),
            ));
            entities = vec![format!("{sid}-D-MAIN"), format!("{sid}-D-DOCK1"), format!("{sid}-D-DOCK2")];
            actors = vec![];
            (start, first_signal, end) = (t, t + Duration::seconds(5), t + Duration::seconds(60));
        }
    }
    Some(Instance {
        id: format!("t-{n:05}"),
        scenario,
        benign: scenario.is_benign(),
        site: sid,
        actors,
        entities,
        start: fixed(start, &tz),
        end: fixed(end, &tz),
        first_signal: fixed(first_signal, &tz),
        events,
    })
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
            for e in mapping.read(rows.as_bytes()).unwrap() {
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

    /// With EPCIS delivery every document passes GS1's schema and every
    /// event maps to a book movement at a known place, counted in SKUs the
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
            let doc = stockade_epcis::validate(doc.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
            for (i, ev) in stockade_epcis::map_document(&doc, &dir, &source, None) {
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
        assert_eq!(truth.instances.len(), 30, "two of each of fifteen scenario types");
        assert_eq!(truth.instances.iter().filter(|i| i.benign).count(), 6);
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
