//! A customer's own exports, as a new user brings them: a generator written
//! apart from the simulator (`sim`), with other ids, shapes and habits, so
//! that onboarding is tested on data Stockade's own generator did not shape.
//!
//! Two distribution centres in Malaysia and Singapore (+08:00), a WMS that
//! sends GS1 EPCIS 2.0 documents the way many do (receipts read at the dock
//! with the site as `bizLocation`, put-away at the bin with no
//! `sourceList`, picks with the site as `bizLocation`, shipments read at
//! the dock with no `bizLocation`, an opening stock-take before the first
//! day), and CSV exports with CRLF line ends: the WMS's item and location
//! masters and adjustments (by login), the HR staff list, the PACS's doors
//! (numbered per site, with a global key), cards and events (local times
//! with no offset, facility names), door contacts (with heartbeats) and
//! logins (epoch milliseconds).
//!
//! Ground truth ([`BookTruth`]): the WMS's own book (recorded movements; a
//! count corrects it at the site whose policy says so), what physically
//! happened besides (theft, shrink, miscounts), and so what each latest
//! count should show against the book. Deterministic: a seed gives the same
//! bytes.

use crate::sim::rng::Rng;
use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    pub days: u32,
    pub seed: u64,
    /// The first day; the opening stock-take is the evening before.
    pub start: NaiveDate,
}

impl Default for Config {
    fn default() -> Self {
        Config { days: 28, seed: 7, start: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default() }
    }
}

/// One book line the WMS's own records imply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthLine {
    pub site: String,
    /// A location id, or `@received` / `@picked` for goods in transit.
    pub location: String,
    pub sku: String,
    pub quantity: f64,
}

/// A place's latest count and the WMS's book as of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthCount {
    pub site: String,
    pub location: String,
    pub sku: String,
    pub counted: f64,
    pub book: f64,
}

/// What the exports should load as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookTruth {
    /// Non-zero lines of the book.
    pub lines: Vec<TruthLine>,
    pub counts: Vec<TruthCount>,
    /// Latest counts that match the book as of their time, over all.
    pub record_accuracy: f64,
    /// Per CSV export: its data rows and those that are not events (heartbeats).
    pub files: BTreeMap<String, FileTruth>,
    /// EPCIS events in all documents.
    pub epcis_events: usize,
    /// Units stolen (no record of it anywhere).
    pub stolen_units: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileTruth {
    pub rows: usize,
    pub not_events: usize,
}

/// The exports (path under the output directory, bytes) and their truth.
pub struct Sample {
    pub files: Vec<(String, Vec<u8>)>,
    pub truth: BookTruth,
}

const COMPANY: &str = "9521234";

struct SiteDef {
    code: &'static str,
    facility: &'static str,
    location_ref: &'static str,
    area: &'static str,
    /// The WMS sets its book to what a count finds.
    counts_correct: bool,
}

const SITES: [SiteDef; 2] = [
    SiteDef { code: "SIN", facility: "Tuas DC", location_ref: "00001", area: "TUAS", counts_correct: false },
    SiteDef { code: "KUL", facility: "Shah Alam DC", location_ref: "00002", area: "SHAH", counts_correct: true },
];

struct Item {
    code: &'static str,
    description: &'static str,
    item_ref: &'static str,
    cost: f64,
    class: &'static str,
    cage: bool,
}

const ITEMS: [Item; 6] = [
    Item {
        code: "MX-1001",
        description: "Smartphone X 128GB",
        item_ref: "010001",
        cost: 699.0,
        class: "A",
        cage: true,
    },
    Item { code: "MX-1002", description: "Tablet T10", item_ref: "010002", cost: 449.0, class: "A", cage: true },
    Item { code: "MX-2001", description: "USB-C cable 2m", item_ref: "020001", cost: 9.5, class: "C", cage: false },
    Item { code: "MX-2002", description: "", item_ref: "020002", cost: 14.0, class: "C", cage: false },
    Item { code: "MX-3001", description: "Wireless earbuds", item_ref: "030001", cost: 129.0, class: "B", cage: false },
    Item { code: "MX-3002", description: "Power bank 20k", item_ref: "030002", cost: 39.0, class: "B", cage: false },
];

const FLOOR_BINS: [&str; 6] = ["A-01", "A-02", "A-03", "A-04", "B-01", "B-02"];
const CAGE_BINS: [&str; 2] = ["C-01", "C-02"];

fn sgln(site: &SiteDef, ext: &str) -> String {
    format!("urn:epc:id:sgln:{COMPANY}.{}.{ext}", site.location_ref)
}

fn epc_class(item: &Item) -> String {
    format!("urn:epc:class:lgtin:{COMPANY}.{}.L2611", item.item_ref)
}

fn location_id(site: &SiteDef, bin: &str) -> String {
    format!("{}-{bin}", site.code)
}

/// CSV with CRLF line ends, as the customer's systems write it.
#[derive(Default)]
struct Csv(String, usize);

impl Csv {
    fn new(header: &str) -> Csv {
        Csv(format!("{header}\r\n"), 0)
    }
    fn row(&mut self, cells: &[&str]) {
        self.0.push_str(&cells.join(","));
        self.0.push_str("\r\n");
        self.1 += 1;
    }
}

/// The WMS's state for one site.
struct Stock {
    /// (bin, item index) to (system book, physically there).
    bins: BTreeMap<(String, usize), (i64, i64)>,
    received: BTreeMap<usize, i64>,
    picked: BTreeMap<usize, i64>,
    /// (bin, item) to the latest count: (time, counted, book as of it).
    counts: BTreeMap<(String, usize), (NaiveDateTime, i64, i64)>,
}

struct Person {
    employee: String,
    name: &'static str,
    title: &'static str,
    login: String,
    card: String,
    terminated: bool,
}

const NAMES: [&str; 8] =
    ["Aisyah Rahman", "", "Wei Jie Tan", "Priya Nair", "Hafiz Ismail", "", "Mei Ling Goh", "Ravi Kumar"];
const TITLES: [&str; 8] =
    ["Receiver", "Picker", "Picker", "Supervisor", "Picker", "Inventory Controller", "Receiver", "Security"];

fn people(site_no: usize) -> Vec<Person> {
    (0..8)
        .map(|i| {
            let n = site_no * 100 + i + 1;
            Person {
                employee: format!("E{n:04}"),
                name: NAMES[i],
                title: TITLES[i],
                login: format!("u_{}_e{n:04}", SITES[site_no].code.to_lowercase()),
                card: format!("{:06X}", 0x0A_1000 + n * 37),
                terminated: i == 7,
            }
        })
        .collect()
}

/// Writes the exports.
pub fn generate(cfg: &Config) -> Sample {
    let mut rng = Rng::new(cfg.seed);
    let tz = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("+08:00 is an offset"));
    let iso = |t: NaiveDateTime| tz.from_local_datetime(&t).single().map(|t| t.to_rfc3339()).unwrap_or_default();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut truth_files = BTreeMap::new();
    let mut items = Csv::new("ItemCode,Description,SampleEPC,UnitCost,Class");
    for (i, it) in ITEMS.iter().enumerate() {
        let epc = format!("urn:epc:id:sgtin:{COMPANY}.{}.{}", it.item_ref, 1000 + i);
        items.row(&[it.code, it.description, &epc, &format!("{:.2}", it.cost), it.class]);
    }
    let mut locations = Csv::new("Warehouse,Bin,Area,SGLN");
    let mut doors = Csv::new("DoorKey,Facility,DoorNo,Description,FromArea,ToArea,Dock");
    let mut staff = Csv::new("EmployeeNo,Name,Title,Status,Warehouse,Logins");
    let mut cards = Csv::new("CardNo,EmployeeNo,CardStatus,AccessAreas");
    let mut access = Csv::new("EventTime,Facility,DoorNo,CardNo,Result,Dir");
    let mut contacts = Csv::new("ts,facility,door,state,open_s");
    let mut adjustments = Csv::new("AdjTime,Warehouse,Bin,Item,Qty,Reason,User,ApprovedBy,AdjNo");
    let mut logins = Csv::new("epoch_ms,system,login,src_ip,outcome,mfa,warehouse");
    let (mut lines, mut counts) = (Vec::new(), Vec::new());
    let (mut epcis_events, mut stolen) = (0, 0i64);
    let mut adj_no = 0;
    for (s, site) in SITES.iter().enumerate() {
        for bin in FLOOR_BINS.iter().chain(&CAGE_BINS) {
            let area = if bin.starts_with('C') { "CAGE" } else { "GEN" };
            locations.row(&[site.code, bin, &format!("{}-{area}", site.area), &sgln(site, bin)]);
        }
        for dock in ["DOCK-IN", "DOCK-OUT"] {
            locations.row(&[site.code, dock, &format!("{}-DOCK", site.area), &sgln(site, dock)]);
        }
        let door_defs = [
            ("MAIN", "Main entrance", "", "GEN", "N"),
            ("DOCK1", "Dock door 1", "GEN", "DOCK", "Y"),
            ("CAGE", "High-value cage", "GEN", "CAGE", "N"),
        ];
        for (d, (no, desc, from, to, dock)) in door_defs.iter().enumerate() {
            let from = if from.is_empty() { String::new() } else { format!("{}-{from}", site.area) };
            let key = format!("{}", 10_200 + s * 10 + d);
            doors.row(&[&key, site.facility, no, desc, &from, &format!("{}-{to}", site.area), dock]);
        }
        let staff_here = people(s);
        for p in &staff_here {
            let status = if p.terminated { "TERMINATED" } else { "ACTIVE" };
            staff.row(&[&p.employee, p.name, p.title, status, site.code, &p.login]);
            let card_status = if p.terminated { "Revoked" } else { "Active" };
            let cage = if p.title == "Supervisor" || p.title == "Inventory Controller" { ";CAGE" } else { "" };
            let areas = format!("GEN;DOCK{cage}").split(';').map(|a| format!("{}-{a}", site.area)).collect::<Vec<_>>();
            cards.row(&[&p.card, &p.employee, card_status, &areas.join(";")]);
        }

        // The assortment: each item in one or two bins of its kind.
        let mut stock = Stock {
            bins: BTreeMap::new(),
            received: BTreeMap::new(),
            picked: BTreeMap::new(),
            counts: BTreeMap::new(),
        };
        for (k, it) in ITEMS.iter().enumerate() {
            let bins: &[&str] = if it.cage { &CAGE_BINS } else { &FLOOR_BINS };
            let first = rng.below(bins.len() as u64) as usize;
            let mut chosen = vec![bins[first]];
            if !it.cage && rng.chance(0.5) {
                chosen.push(bins[(first + 1) % bins.len()]);
            }
            for b in chosen {
                let q = if it.cage { rng.range(0, 12) } else { rng.range(0, 40) };
                stock.bins.insert((b.to_owned(), k), (q, q));
            }
        }
        let opening_at = cfg.start.and_hms_opt(22, 0, 0).unwrap_or_default() - Duration::days(1);
        let mut docs: BTreeMap<u32, Vec<(NaiveDateTime, serde_json::Value)>> = BTreeMap::new();
        let quantity = |it: &Item, q: i64| serde_json::json!([{"epcClass": epc_class(it), "quantity": q}]);
        let event = |step: &str, t: NaiveDateTime, read: &str, biz: Option<&str>, q: serde_json::Value| {
            let mut e = serde_json::json!({
                "type": "ObjectEvent", "action": "OBSERVE", "eventTime": iso(t), "eventTimeZoneOffset": "+08:00",
                "bizStep": step, "readPoint": {"id": read}, "quantityList": q,
            });
            if let Some(b) = biz {
                e["bizLocation"] = serde_json::json!({"id": b});
            }
            e
        };
        for ((bin, k), (q, _)) in &stock.bins {
            let ev =
                event("stock_taking", opening_at, &sgln(site, bin), Some(&sgln(site, bin)), quantity(&ITEMS[*k], *q));
            docs.entry(0).or_default().push((opening_at, ev));
            stock.counts.insert((bin.clone(), *k), (opening_at, *q, *q));
        }
        let site_sgln = sgln(site, "0");
        let theft_day = cfg.days.saturating_sub(3);
        for day in 0..cfg.days {
            let date = cfg.start + Duration::days(i64::from(day));
            let at = |h: u32, m: u32| date.and_hms_opt(h, m, 0).unwrap_or_default();
            let week = day / 7;
            let last = day + 1 == cfg.days;
            // Receipts, put away within the hour (the last evening's stays in receiving).
            for r in 0..rng.range(1, 3) {
                let k = rng.below(ITEMS.len() as u64) as usize;
                let q = rng.range(12, 36);
                let t = at(8 + r as u32, rng.range(0, 50) as u32);
                docs.entry(week)
                    .or_default()
                    .push((t, event("receiving", t, &sgln(site, "DOCK-IN"), Some(&site_sgln), quantity(&ITEMS[k], q))));
                *stock.received.entry(k).or_default() += q;
                let bins: Vec<String> = stock.bins.keys().filter(|(_, i)| *i == k).map(|(b, _)| b.clone()).collect();
                let bin = bins[rng.below(bins.len() as u64) as usize].clone();
                let t = t + Duration::minutes(40);
                let b = sgln(site, &bin);
                docs.entry(week).or_default().push((t, event("storing", t, &b, Some(&b), quantity(&ITEMS[k], q))));
                *stock.received.entry(k).or_default() -= q;
                let e = stock.bins.entry((bin, k)).or_default();
                e.0 += q;
                e.1 += q;
            }
            if last {
                let k = rng.below(ITEMS.len() as u64) as usize;
                let t = at(18, 30);
                docs.entry(week).or_default().push((
                    t,
                    event("receiving", t, &sgln(site, "DOCK-IN"), Some(&site_sgln), quantity(&ITEMS[k], 20)),
                ));
                *stock.received.entry(k).or_default() += 20;
            }
            // Picks, shipped two hours later (the last afternoon's wait for the truck).
            for p in 0..rng.range(2, 4) {
                let candidates: Vec<(String, usize, i64)> = stock
                    .bins
                    .iter()
                    .filter(|(_, (sys, phys))| *sys > 0 && *phys > 0)
                    .map(|((b, k), (sys, phys))| (b.clone(), *k, (*sys).min(*phys)))
                    .collect();
                if candidates.is_empty() {
                    break;
                }
                let (bin, k, most) = candidates[rng.below(candidates.len() as u64) as usize].clone();
                let q = rng.range(1, most.min(8));
                let t = at(12 + p as u32, rng.range(0, 50) as u32);
                let b = sgln(site, &bin);
                docs.entry(week)
                    .or_default()
                    .push((t, event("picking", t, &b, Some(&site_sgln), quantity(&ITEMS[k], q))));
                let e = stock.bins.entry((bin, k)).or_default();
                e.0 -= q;
                e.1 -= q;
                if last && p > 0 {
                    *stock.picked.entry(k).or_default() += q;
                } else {
                    let t = t + Duration::hours(2);
                    docs.entry(week)
                        .or_default()
                        .push((t, event("shipping", t, &sgln(site, "DOCK-OUT"), None, quantity(&ITEMS[k], q))));
                }
            }
            // Adjustments keyed in the WMS by login: damage, and stock found.
            let staff_logins: Vec<&Person> = staff_here.iter().filter(|p| !p.terminated).collect();
            for (reason, delta, chance) in [("DMG", -1i64, 0.4), ("FND", 1, 0.15)] {
                if !rng.chance(chance) {
                    continue;
                }
                let options: Vec<(String, usize)> = stock
                    .bins
                    .iter()
                    .filter(|(_, (sys, phys))| *sys > 0 && *phys > 0)
                    .map(|(k, _)| k.clone())
                    .collect();
                if options.is_empty() {
                    continue;
                }
                let (bin, k) = options[rng.below(options.len() as u64) as usize].clone();
                let e = stock.bins.entry((bin.clone(), k)).or_default();
                e.0 += delta;
                e.1 += delta;
                adj_no += 1;
                let who = staff_logins[rng.below(staff_logins.len() as u64) as usize];
                let approver = if delta < 0 { staff_here[3].employee.as_str() } else { "" };
                adjustments.row(&[
                    &iso(at(17, rng.range(0, 59) as u32)),
                    site.code,
                    &bin,
                    ITEMS[k].code,
                    &delta.to_string(),
                    reason,
                    &who.login,
                    approver,
                    &format!("ADJ{adj_no:06}"),
                ]);
            }
            // What no record shows: a unit gone here and there, and on one
            // night at one site, the cage emptied of phones.
            if rng.chance(0.15) {
                let options: Vec<(String, usize)> =
                    stock.bins.iter().filter(|(_, (_, phys))| *phys > 0).map(|(k, _)| k.clone()).collect();
                if !options.is_empty() {
                    let key = options[rng.below(options.len() as u64) as usize].clone();
                    if let Some(e) = stock.bins.get_mut(&key) {
                        e.1 -= 1;
                        stolen += 1;
                    }
                }
            }
            let mut to_count: Vec<(String, usize)> = Vec::new();
            if s == 0 && day == theft_day {
                for ((bin, k), e) in stock.bins.iter_mut() {
                    if ITEMS[*k].code == "MX-1001" {
                        stolen += e.1;
                        e.1 = 0;
                        to_count.push((bin.clone(), *k));
                    }
                }
            }
            // Evening cycle counts: what is there, sometimes miscounted.
            let keys: Vec<(String, usize)> = stock.bins.keys().cloned().collect();
            for _ in 0..2 {
                to_count.push(keys[rng.below(keys.len() as u64) as usize].clone());
            }
            to_count.sort();
            to_count.dedup();
            for (n, (bin, k)) in to_count.into_iter().enumerate() {
                let t = at(19, 10 * n as u32);
                let Some(e) = stock.bins.get_mut(&(bin.clone(), k)) else { continue };
                let counted = if rng.chance(0.1) { (e.1 + rng.range(-1, 1)).max(0) } else { e.1 };
                let b = sgln(site, &bin);
                docs.entry(week)
                    .or_default()
                    .push((t, event("cycle_counting", t, &b, Some(&b), quantity(&ITEMS[k], counted))));
                stock.counts.insert((bin.clone(), k), (t, counted, e.0));
                if site.counts_correct {
                    e.0 = counted;
                }
            }
            // People: in at the main door each morning, out each evening;
            // the cage for those whose card opens it; a refused card now and then.
            for p in staff_here.iter().filter(|p| !p.terminated) {
                let fac = site.facility;
                let local = |t: NaiveDateTime| t.format("%d/%m/%Y %H:%M:%S").to_string();
                access.row(&[&local(at(7, rng.range(30, 59) as u32)), fac, "MAIN", &p.card, "Access Granted", "In"]);
                if p.title == "Supervisor" || p.title == "Inventory Controller" {
                    access.row(&[
                        &local(at(10, rng.range(0, 59) as u32)),
                        fac,
                        "CAGE",
                        &p.card,
                        "Access Granted",
                        "In",
                    ]);
                } else if rng.chance(0.05) {
                    access.row(&[&local(at(10, rng.range(0, 59) as u32)), fac, "CAGE", &p.card, "Access Denied", "In"]);
                }
                access.row(&[&local(at(18, rng.range(0, 29) as u32)), fac, "MAIN", &p.card, "Access Granted", "Out"]);
                let ms = tz
                    .from_local_datetime(&at(8, rng.range(0, 59) as u32))
                    .single()
                    .map_or(0, |t| t.timestamp_millis());
                let ok = rng.chance(0.95);
                logins.row(&[
                    &ms.to_string(),
                    "WMS",
                    &p.login,
                    &format!("10.{}.0.{}", s + 1, rng.range(10, 200)),
                    if ok { "SUCCESS" } else { "FAIL" },
                    if ok { "Y" } else { "N" },
                    site.code,
                ]);
            }
            // The dock door: open for each receipt, and the contact's heartbeat every six hours.
            for h in [0, 6, 12, 18] {
                contacts.row(&[&iso(at(h, 0)), site.facility, "DOCK1", "HEARTBEAT", ""]);
            }
            let opened = rng.range(5, 40);
            contacts.row(&[&iso(at(8, 0)), site.facility, "DOCK1", "OPEN", ""]);
            contacts.row(&[
                &iso(at(8, 0) + Duration::minutes(opened)),
                site.facility,
                "DOCK1",
                "CLOSED",
                &(opened * 60).to_string(),
            ]);
        }
        for (week, mut events) in docs {
            events.sort_by_key(|(t, _)| *t);
            epcis_events += events.len();
            let doc = serde_json::json!({
                "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                "type": "EPCISDocument", "schemaVersion": "2.0",
                "creationDate": iso(cfg.start.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::days(7 * i64::from(week) + 7)),
                "epcisBody": {"eventList": events.into_iter().map(|(_, e)| e).collect::<Vec<_>>()},
            });
            let bytes = serde_json::to_vec_pretty(&doc).unwrap_or_default();
            files.push((format!("epcis/{}-week{}.jsonld", site.area.to_lowercase(), week + 1), bytes));
        }
        for ((bin, k), (sys, _)) in &stock.bins {
            lines.push(TruthLine {
                site: site.code.into(),
                location: location_id(site, bin),
                sku: ITEMS[*k].code.into(),
                quantity: *sys as f64,
            });
        }
        for (pool, held) in [("@received", &stock.received), ("@picked", &stock.picked)] {
            for (k, q) in held {
                lines.push(TruthLine {
                    site: site.code.into(),
                    location: pool.into(),
                    sku: ITEMS[*k].code.into(),
                    quantity: *q as f64,
                });
            }
        }
        for ((bin, k), (_, counted, book)) in &stock.counts {
            counts.push(TruthCount {
                site: site.code.into(),
                location: location_id(site, bin),
                sku: ITEMS[*k].code.into(),
                counted: *counted as f64,
                book: *book as f64,
            });
        }
    }
    lines.retain(|l| l.quantity != 0.0);
    lines.sort_by(|a, b| (&a.site, &a.location, &a.sku).cmp(&(&b.site, &b.location, &b.sku)));
    counts.sort_by(|a, b| (&a.site, &a.location, &a.sku).cmp(&(&b.site, &b.location, &b.sku)));
    let accurate = counts.iter().filter(|c| c.counted == c.book).count();
    let heartbeats = contacts.0.matches("HEARTBEAT").count();
    for (name, csv, not_events) in [
        ("wms_items.csv", items, 0),
        ("wms_locations.csv", locations, 0),
        ("pacs_doors.csv", doors, 0),
        ("hr_staff.csv", staff, 0),
        ("pacs_cards.csv", cards, 0),
        ("pacs_events.csv", access, 0),
        ("door_contacts.csv", contacts, heartbeats),
        ("wms_adjustments.csv", adjustments, 0),
        ("wms_logins.csv", logins, 0),
    ] {
        truth_files.insert(name.to_owned(), FileTruth { rows: csv.1, not_events });
        files.push((name.to_owned(), csv.0.into_bytes()));
    }
    let mut readme = String::new();
    let _ = writeln!(
        readme,
        "Exports of two distribution centres over {} days from {} (generated by `stockade sample-exports`, seed {}).\r\nSee docs/ONBOARDING.md.\r",
        cfg.days, cfg.start, cfg.seed
    );
    files.push(("README.txt".into(), readme.into_bytes()));
    let record_accuracy = if counts.is_empty() { 0.0 } else { accurate as f64 / counts.len() as f64 };
    Sample {
        files,
        truth: BookTruth { lines, counts, record_accuracy, files: truth_files, epcis_events, stolen_units: stolen },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_the_wms_book_never_goes_negative() {
        let cfg = Config { days: 10, ..Config::default() };
        let (a, b) = (generate(&cfg), generate(&cfg));
        assert_eq!(a.files, b.files);
        assert!(a.truth.lines.iter().all(|l| l.quantity > 0.0), "{:?}", a.truth.lines);
        assert!(a.truth.stolen_units > 0);
        let phones = |c: &&TruthCount| c.site == "SIN" && c.sku == "MX-1001";
        assert!(a.truth.counts.iter().filter(phones).any(|c| c.counted < c.book), "the emptied cage is counted short");
        assert!(a.truth.record_accuracy > 0.0 && a.truth.record_accuracy < 1.0, "{}", a.truth.record_accuracy);
        for (name, bytes) in &a.files {
            if name.ends_with(".csv") {
                let text = String::from_utf8(bytes.clone()).unwrap();
                assert!(text.split_terminator('\n').all(|l| l.ends_with('\r')), "{name} is CRLF");
            }
        }
    }
}
