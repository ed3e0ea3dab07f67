//! The simulated network: sites, zones, doors, cameras, devices, people,
//! badges, SKUs and storage locations, and the reference data file
//! (`reference.yaml`) that describes them.

use super::*;

pub(super) const ZONES: [(&str, &str, &str); 5] = [
    ("LOBBY", "Lobby", "public"),
    ("FLOOR", "Warehouse floor", "general"),
    ("DOCK", "Dock", "dock"),
    ("CAGE", "High-value cage", "high_value_cage"),
    ("IT", "Server room", "it_ot_room"),
];
/// (door, name, from zone, to zone, dock)
pub(super) const DOORS: [(&str, &str, &str, &str, bool); 5] = [
    ("MAIN", "Main entrance", "LOBBY", "FLOOR", false),
    ("CAGE", "Cage door", "FLOOR", "CAGE", false),
    ("DOCK1", "Dock door 1", "FLOOR", "DOCK", true),
    ("DOCK2", "Dock door 2", "FLOOR", "DOCK", true),
    ("IT", "Server room door", "FLOOR", "IT", false),
];
/// Each site's IoT/OT devices: (id suffix, kind, name, maintaining vendor, zone).
/// The nightly network scan sees every one of them.
pub(super) const DEVICES: [(&str, &str, &str, Option<&str>, &str); 16] = [
    ("CAM-MAIN", "camera", "Main entrance camera", Some("V-SECSYS"), "LOBBY"),
    ("CAM-CAGE", "camera", "Cage camera", Some("V-SECSYS"), "CAGE"),
    ("CAM-DOCK", "camera", "Dock camera", Some("V-SECSYS"), "DOCK"),
    ("R-MAIN", "reader", "Main entrance reader", Some("V-SECSYS"), "LOBBY"),
    ("R-CAGE", "reader", "Cage door reader", Some("V-SECSYS"), "FLOOR"),
    ("R-DOCK1", "reader", "Dock door 1 reader", Some("V-SECSYS"), "FLOOR"),
    ("R-DOCK2", "reader", "Dock door 2 reader", Some("V-SECSYS"), "FLOOR"),
    ("R-IT", "reader", "Server room reader", Some("V-SECSYS"), "FLOOR"),
    ("ACP-1", "controller", "Access-control panel", None, "IT"),
    ("HVAC-1", "hvac", "Server room HVAC controller", Some("V-HVAC"), "IT"),
    ("PLC-SORTER", "plc", "Sorter PLC", None, "FLOOR"),
    ("PRN-PACK", "printer", "Pack station label printer", None, "FLOOR"),
    ("HH-01", "scanner", "Handheld scanner 1", None, "FLOOR"),
    ("HH-02", "scanner", "Handheld scanner 2", None, "FLOOR"),
    ("HH-03", "scanner", "Handheld scanner 3", None, "FLOOR"),
    ("SW-CORE", "network", "Core switch", None, "IT"),
];
pub(super) const TIMEZONES: [&str; 6] =
    ["Europe/Paris", "America/Chicago", "Asia/Tokyo", "Europe/London", "America/New_York", "Australia/Sydney"];
/// (role, people per site, zones beyond the floor)
pub(super) const ROLES: [(&str, u32, &[&str]); 8] = [
    ("picker", 14, &["DOCK"]),
    ("receiver", 4, &["DOCK"]),
    ("shipper", 4, &["DOCK"]),
    ("cage_operator", 2, &["DOCK", "CAGE"]),
    ("supervisor", 2, &["DOCK", "CAGE"]),
    ("it_admin", 1, &["IT"]),
    ("site_manager", 1, &["DOCK", "CAGE", "IT"]),
    ("security", 2, &["DOCK", "CAGE", "IT"]),
];
pub(super) const SKUS: u32 = 200;
/// The day (from 0) each site's new hire starts.
pub(super) const HIRE_DAY: u32 = 2;
pub(super) const AISLES: u32 = 40;
/// People HR hires during the period, per site and role (`picker`,
/// `cage_operator`), for the scenarios about a new hire's first week.
pub(super) const RECRUITS: u32 = 4;
pub(super) const CAGE_BINS: u32 = 6;

pub(super) struct Person {
    pub(super) id: String,
    pub(super) badge: String,
    pub(super) account: String,
    pub(super) role: &'static str,
    /// 0 day shift (06-14), 1 late shift (14-22).
    pub(super) shift: u32,
    /// First simulated day they work (a new hire's start).
    pub(super) from_day: u32,
}

pub(super) struct Site {
    pub(super) id: String,
    /// 1-based number (in SGLNs).
    pub(super) num: u32,
    /// Source-system names (`acs-s01`...), in [`SOURCES`] order.
    pub(super) sources: [String; 6],
    pub(super) tz: Tz,
    pub(super) people: Vec<Person>,
    /// The book: stock[location][sku], as the recorded events say.
    pub(super) stock: Vec<Vec<i64>>,
    /// Units the book shows that are not physically there (unrecorded
    /// process losses, mis-picks): physical = stock - lost.
    pub(super) lost: Vec<Vec<i64>>,
    /// Location ids: aisles, then cage bins, then the overflow shelf (no
    /// count plan covers it), then DOCK-IN, then PACK.
    pub(super) locations: Vec<String>,
    /// People not yet hired: scenarios hire them (and they then work).
    pub(super) recruits: Vec<Person>,
    /// Places (location, SKU) whose line the weekly full count leaves out,
    /// how many more times, and whether it is counted straight after (a
    /// deferred line).
    pub(super) skip: Vec<(usize, usize, u32, bool)>,
    /// Sites in the network.
    pub(super) sites: u32,
    /// A picker whose lines drift to the cage's stock: (index in `people`,
    /// first day, day it stops).
    pub(super) drift: Option<(usize, NaiveDate, NaiveDate)>,
    /// People on leave: (index in `people`, first day away, day back).
    pub(super) away: Vec<(usize, NaiveDate, NaiveDate)>,
}

impl Site {
    /// Who does not come in on `date`: the terminated, and those on leave.
    pub(super) fn absent(&self, terminated: &[usize], date: NaiveDate) -> Vec<usize> {
        let away = self.away.iter().filter(|a| a.1 <= date && date < a.2).map(|a| a.0);
        terminated.iter().copied().chain(away).collect()
    }

    pub(super) fn physical(&self, loc: usize, k: usize) -> i64 {
        self.stock[loc][k] - self.lost[loc][k]
    }

    pub(super) fn dock_in(&self) -> usize {
        self.locations.len() - 2
    }
    /// The overflow shelf: no count plan covers it.
    pub(super) fn overflow(&self) -> usize {
        self.locations.len() - 3
    }
    pub(super) fn pack(&self) -> usize {
        self.locations.len() - 1
    }
    pub(super) fn is_cage(&self, loc: usize) -> bool {
        (AISLES as usize..(AISLES + CAGE_BINS) as usize).contains(&loc)
    }
}

/// Site `num`'s own network (a /19 of 10/8: up to 2,048 sites), as
/// reference data lists it, and an address in it (`host` from 0 to 8,191).
pub(super) fn site_network(num: u32) -> String {
    format!("10.{}.{}.0/19", num >> 3, (num & 7) << 5)
}

pub(super) fn site_address(num: u32, host: i64) -> Option<std::net::IpAddr> {
    let host = host.clamp(1, 8190);
    ip(10, i64::from(num >> 3), i64::from((num & 7) << 5) + host / 256, host % 256)
}

pub(super) fn sku_id(k: usize) -> String {
    format!("SKU-{k:04}")
}

/// Unit value and tier of SKU `k`: a few critical, some high, most low.
pub(super) fn sku_value(k: usize) -> (f64, &'static str) {
    match k % 20 {
        0 => (900.0 + (k % 7) as f64 * 50.0, "critical"),
        1 | 2 => (250.0 + (k % 5) as f64 * 30.0, "high"),
        3..=7 => (40.0 + (k % 9) as f64 * 5.0, "medium"),
        _ => (3.0 + (k % 11) as f64, "low"),
    }
}

/// Builds the network of a configuration and its reference data (YAML).
pub(super) fn build(cfg: &Config) -> Result<(Vec<Site>, String), ConfigError> {
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
        let _ = writeln!(
            s_sites,
            "  - {{ id: {id}, name: \"Site {}\", timezone: {tzname}, networks: [\"{}\"] }}",
            i + 1,
            site_network(i + 1)
        );
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
        // The maintenance vendor's window: Wednesday mornings (its visits).
        let _ = writeln!(
            s_shifts,
            "  - {{ id: {id}-MAINT, site: {id}, name: Maintenance window, start: \"09:00\", end: \"13:00\", weekdays: [3] }}"
        );
        // The security integrator's window for cameras and readers: Sunday
        // nights. The reporting partner's nightly sync: every night.
        let _ = writeln!(
            s_shifts,
            "  - {{ id: {id}-SECMAINT, site: {id}, name: Security systems maintenance, start: \"01:00\", end: \"04:00\", weekdays: [7] }}"
        );
        let _ = writeln!(
            s_shifts,
            "  - {{ id: {id}-SYNC, site: {id}, name: Reporting sync, start: \"00:00\", end: \"02:00\", weekdays: [1, 2, 3, 4, 5, 6, 7] }}"
        );
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
        // People HR will hire during the period (scenarios hire them). The
        // pickers' badges were cut from a cage operator's profile: more reach
        // than a picker needs, as happens when access is copied.
        let mut recruits = Vec::new();
        for (role, zones) in
            [("picker", "FLOOR, {id}-DOCK, {id}-CAGE"), ("cage_operator", "FLOOR, {id}-DOCK, {id}-CAGE")]
        {
            for _ in 0..RECRUITS {
                n += 1;
                let (pid, badge) = (format!("{id}-P{n:03}"), format!("{id}-B{n:03}"));
                let account = format!("{}p{n:03}", id.to_ascii_lowercase());
                let _ = writeln!(
                    s_people,
                    "  - {{ id: {pid}, name: \"Person {n} of {id}\", role: {role}, manager: {id}-P029, status: active, site: {id} }}"
                );
                let zones = zones.replace("{id}", &id);
                let _ =
                    writeln!(s_badges, "  - {{ id: {badge}, person: {pid}, status: active, zones: [{id}-{zones}] }}");
                recruits.push(Person { id: pid, badge, account, role, shift: 0, from_day: u32::MAX });
            }
        }
        // The security integrator's technician (cameras and readers).
        let _ = writeln!(
            s_people,
            "  - {{ id: {id}-V02, name: \"Security technician of {id}\", role: technician, status: active, site: {id}, vendor: V-SECSYS }}"
        );
        let mut locations = Vec::new();
        for a in 0..AISLES {
            locations.push(format!("{id}-A-{a:03}"));
        }
        for c in 0..CAGE_BINS {
            locations.push(format!("{id}-CAGE-{c:02}"));
        }
        locations.push(format!("{id}-OVF"));
        locations.push(format!("{id}-DOCK-IN"));
        locations.push(format!("{id}-PACK"));
        for (li, l) in locations.iter().enumerate() {
            let zone = if li < AISLES as usize || l.ends_with("PACK") || l.ends_with("OVF") {
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
        sites.push(Site {
            id,
            num: i + 1,
            sources,
            tz,
            people,
            stock,
            lost,
            locations,
            recruits,
            skip: Vec::new(),
            sites: cfg.sites,
            away: Vec::new(),
            drift: None,
        });
    }
    let windows = |suffix: &str| sites.iter().map(|s| format!("{}-{suffix}", s.id)).collect::<Vec<_>>().join(", ");
    let _ = writeln!(
        sec[5],
        "  - {{ id: V-HVAC, name: \"CoolAir Maintenance\", service: maintenance, windows: [{}] }}",
        windows("MAINT")
    );
    let _ = writeln!(
        sec[5],
        "  - {{ id: V-SECSYS, name: \"Sentinel Security Systems\", service: security systems, windows: [{}] }}",
        windows("SECMAINT")
    );
    let _ = writeln!(
        sec[5],
        "  - {{ id: V-BI, name: \"Ledgerline Analytics\", service: reporting, windows: [{}] }}",
        windows("SYNC")
    );
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
    Ok((sites, yaml))
}

/// A GTIN-14 with a valid check digit for SKU `k`.
pub(super) fn gtin(k: usize) -> String {
    // Indicator 1, company prefix 0614141, item reference k: what
    // `urn:epc:class:lgtin:0614141.1kkkkk.LOT` carries.
    let body = format!("10614141{:05}", k);
    let sum: u32 =
        body.bytes().rev().enumerate().map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 }).sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}
