//! The process model: a normal working day at a site (shifts, badges,
//! logins, people counts, receiving, put-away, picking waves, packing,
//! shipping, cycle counts, benign noise), calibrated as docs/SIMULATOR.md says.

use super::*;

/// Order lines picked per picker-hour: WERC's DC Measures median, 30 lines
/// picked and shipped per hour (docs/SIMULATOR.md).
pub(super) const PICK_LINES_PER_HOUR: i64 = 30;
/// Share of pick lines picked wrong: WERC/DC Velocity's 2013 median order
/// picking accuracy, 99.5% (docs/SIMULATOR.md). Half take another SKU of
/// the bin (a mis-pick), half scan the neighbouring bin (a mis-scan).
pub(super) const MISPICK_RATE: f64 = 0.005;
/// Share of present workers who badge out for a break and back in.
pub(super) const BREAK_RATE: f64 = 0.4;
/// Share of arrivals refused once at the main door before the badge is
/// accepted (a card misread, a mistyped PIN, anti-passback after a missed
/// exit read): access-control logs carry a steady trickle of refusals.
pub(super) const MISREAD_RATE: f64 = 0.02;
/// Share of shifts in which someone without cage access tries the cage door.
pub(super) const WRONG_ZONE_RATE: f64 = 0.01;
/// Share of shifts in which a supervisor walks the cage and both dock doors
/// within a few minutes (three doors in five minutes, as rounds do).
pub(super) const ROUNDS_RATE: f64 = 0.5;
/// Share of Saturdays a site works with a skeleton crew.
pub(super) const SATURDAY_RATE: f64 = 0.5;
/// Units lost without a record, per unit shipped: NRF's 2023 survey puts
/// shrink at 1.6% of sales, 27% of it process and control failures.
pub(super) const UNRECORDED_LOSS_RATE: f64 = 0.016 * 0.27;
/// Share of counts off by one: keyed entry errs on about 3% of entries (docs/SIMULATOR.md).
pub(super) const MISCOUNT_RATE: f64 = 0.03;
/// Cycle counts per site per working day.
pub(super) const COUNTS_PER_DAY: u64 = 40;

/// One normal working day at a site: shifts, badges, logins, people counts,
/// receiving, put-away, picking waves, packing, shipping, cycle counts.
pub(super) fn operate_day(site: &mut Site, gone: &[usize], day: u32, date: NaiveDate, rng: &mut Rng, f: &mut Feeds) {
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
            f.emit(4, site, t, hired(&p.id, p.role));
            f.emit(
                3,
                site,
                t + Duration::seconds(600),
                credential_issued(CredentialType::Badge, &p.badge, Some(&p.id)),
            );
        }
        if gone.contains(&pi) || !rng.chance(0.95) {
            continue;
        }
        let (start_h, end_h) = if p.shift == 0 { (6, 14) } else { (14, 22) };
        let arrive = local(&tz, date, start_h, 0, 0) - Duration::seconds(rng.range(60, 900));
        let site_ref = &*site;
        if !rng.chance(0.005) {
            if rng.chance(MISREAD_RATE) {
                let why = ["card not read", "PIN mistyped", "anti-passback"][rng.below(3) as usize];
                let door = format!("{sid}-D-MAIN");
                let body = denied(&door, &p.badge, Some(&p.id), Some(Direction::In), why);
                f.emit(0, site_ref, arrive - Duration::seconds(rng.range(3, 20)), body);
            }
            f.badge(site_ref, arrive, "MAIN", &p.badge, Some(&p.id), Direction::In);
            if rng.chance(0.01) {
                // A duplicate read: the same swipe reported twice.
                f.badge(site_ref, arrive + Duration::seconds(1), "MAIN", &p.badge, Some(&p.id), Direction::In);
            }
        }
        let h = arrive.with_timezone(&tz).time().format("%H").to_string().parse::<usize>().unwrap_or(0);
        arrivals_per_hour[h % 24] += 1;
        let mfa = matches!(p.role, "it_admin" | "site_manager" | "supervisor");
        f.emit(3, site_ref, arrive + Duration::seconds(rng.range(120, 600)), staff_login(site.num, p, mfa, rng));
        if rng.chance(BREAK_RATE) {
            // A break: out through the main door mid-shift, back 15-30 minutes later.
            let out = local(&tz, date, start_h + 3, rng.range(0, 59) as u32, rng.range(0, 59) as u32);
            f.badge(site_ref, out, "MAIN", &p.badge, Some(&p.id), Direction::Out);
            f.badge(
                site_ref,
                out + Duration::seconds(rng.range(900, 1800)),
                "MAIN",
                &p.badge,
                Some(&p.id),
                Direction::In,
            );
        }
        if p.role == "picker" && rng.chance(WRONG_ZONE_RATE) {
            // A picker tries the cage door (no access): refused, walks on.
            let t = local(&tz, date, start_h + off_break(rng, 1), rng.range(0, 59) as u32, 0);
            let body = denied(&format!("{sid}-D-CAGE"), &p.badge, Some(&p.id), Some(Direction::In), "zone not allowed");
            f.emit(0, site_ref, t, body);
        }
        if p.role == "supervisor" && rng.chance(ROUNDS_RATE) {
            // Rounds: into the cage and out, out to the dock by one dock
            // door and back by the other, within about four minutes.
            let t = local(&tz, date, start_h + off_break(rng, 1), rng.range(0, 50) as u32, 0);
            let mut at = t;
            for (door, dir) in
                [("CAGE", Direction::In), ("CAGE", Direction::Out), ("DOCK1", Direction::In), ("DOCK2", Direction::Out)]
            {
                f.badge(site_ref, at, door, &p.badge, Some(&p.id), dir);
                at += Duration::seconds(rng.range(40, 70));
            }
        }
        if p.role == "cage_operator" || (p.role == "supervisor" && rng.chance(0.3)) {
            for _ in 0..rng.range(1, 3) {
                let t = local(&tz, date, start_h + off_break(rng, 0), rng.range(0, 59) as u32, 0);
                f.badge(site_ref, t, "CAGE", &p.badge, Some(&p.id), Direction::In);
            }
        }
        // Overtime now and then.
        let extra = if rng.chance(0.05) { rng.range(3600, 7200) } else { rng.range(0, 1200) };
        let leave = local(&tz, date, end_h, 0, 0) + Duration::seconds(extra);
        f.badge(site_ref, leave, "MAIN", &p.badge, Some(&p.id), Direction::Out);
    }
    for (h, &n) in arrivals_per_hour.iter().enumerate() {
        if n > 0 {
            // Cameras miscount a little.
            let counted = (i64::from(n) + if rng.chance(0.1) { rng.range(-1, 1) } else { 0 }).max(0);
            f.emit(
                1,
                site,
                local(&tz, date, h as u32, 59, 0),
                people_count(&format!("{sid}-CAM-MAIN"), Some(&format!("{sid}-D-MAIN")), counted, Some(Direction::In)),
            );
        }
    }
    let supervisor = site.people.iter().find(|p| p.role == "supervisor").map(|p| p.id.clone()).unwrap_or_default();
    // Weekly, Mondays: a full count of the cage before the first shift.
    if date.weekday() == Weekday::Mon {
        for loc in AISLES as usize..(AISLES + CAGE_BINS) as usize {
            for k in 0..SKUS as usize {
                if site.stock[loc][k] <= 0 {
                    continue;
                }
                if let Some(i) = site.skip.iter().position(|s| (s.0, s.1) == (loc, k)) {
                    site.skip[i].2 -= 1;
                    if site.skip[i].3 {
                        // Deferred: the line is counted twenty minutes after the sweep.
                        let counted = site.physical(loc, k).max(0);
                        let at = local(&tz, date, 5, 50, 0);
                        let body =
                            counted_at(&sku_id(k), &site.locations[loc], counted, CountType::Cycle, Some(&supervisor));
                        f.emit(2, site, at, body);
                    }
                    if site.skip[i].2 == 0 {
                        site.skip.remove(i);
                    }
                    continue;
                }
                let counted = site.physical(loc, k).max(0);
                let at = local(&tz, date, 5, 30, 0);
                let body = || counted_at(&sku_id(k), &site.locations[loc], counted, CountType::Full, Some(&supervisor));
                let m = Stock {
                    step: "stock_taking",
                    k,
                    q: counted,
                    at: loc,
                    source: None,
                    destination: None,
                    ndjson: &body,
                };
                f.stock(site, at, m);
                if counted != site.stock[loc][k] {
                    let delta = counted - site.stock[loc][k];
                    let body = adjusted(
                        &sku_id(k),
                        &site.locations[loc],
                        delta,
                        "count correction",
                        Some(&supervisor),
                        None,
                        None,
                    );
                    f.emit(2, site, at + Duration::seconds(900), body);
                    site.stock[loc][k] = counted;
                    site.lost[loc][k] = 0;
                }
            }
        }
    }
    // Cycle counts of stocked places, before the first shift moves anything
    // (so that what is found is what the day's events left before it): the
    // counter finds what is physically there (miscounting now and then); a
    // difference is corrected in the book by an approved "count
    // correction", as WMSs do.
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
        let at = local(&tz, date, 5, 45, c as u32);
        let body = || counted_at(&sku_id(k), &site.locations[loc], counted, CountType::Cycle, None);
        let m =
            Stock { step: "cycle_counting", k, q: counted, at: loc, source: None, destination: None, ndjson: &body };
        f.stock(site, at, m);
        if counted != book {
            f.emit(
                2,
                site,
                at + Duration::seconds(600),
                adjusted(
                    &sku_id(k),
                    &site.locations[loc],
                    counted - book,
                    "count correction",
                    Some(&supervisor),
                    None,
                    None,
                ),
            );
            site.stock[loc][k] = counted;
            site.lost[loc][k] = counted - physical;
        }
    }
    // Picking waves, packing and shipping: every two hours, as many lines
    // as the shift's pickers pick at WERC's median rate (see SIMULATOR.md).
    let pickers_per_shift = site.people.iter().filter(|p| p.role == "picker").count() as i64 / 2;
    let mut shipped_units = 0i64;
    for (wave, hour) in [(0u32, 7u32), (1, 9), (2, 11), (3, 15), (4, 17), (5, 19)] {
        let lines = pickers_per_shift * 2 * PICK_LINES_PER_HOUR;
        shipped_units += pick_wave(site, gone, date, (wave, hour), lines, rng, f);
    }
    // Receiving: trucks against advance shipping notices, then put-away
    // (after the picking waves here, so that no pick takes units put away
    // later in the day: what a wave picks was on the shelf before it).
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
        // The carrier's EDI confirms the arrival against its ASN, with its
        // API key, from its own network: normal API-key traffic.
        let (key, net) = if carrier == "V-CARRIER-1" { ("key-carrier1-edi", 10) } else { ("key-carrier2-edi", 20) };
        let edi = api_key_used("wms", key, Some("POST /asn/arrival"), ip(203, 0, 113, net), Some(carrier));
        f.emit(3, site, arrive + Duration::seconds(rng.range(60, 300)), edi);
        for line in 0..rng.range(15, 35) {
            let k = rng.below(u64::from(SKUS)) as usize;
            let q = rng.range(20, 100);
            let t = arrive + Duration::seconds(line * 40);
            let body =
                || received(&sku_id(k), q, &site.locations[dock_in], Some(&asn), Some(carrier), Some(&receiver), None);
            let m = Stock { step: "receiving", k, q, at: dock_in, source: None, destination: None, ndjson: &body };
            f.stock(site, t, m);
            let to = if sku_value(k).1 == "critical" || sku_value(k).1 == "high" {
                AISLES as usize + rng.below(u64::from(CAGE_BINS)) as usize
            } else {
                rng.below(u64::from(AISLES)) as usize
            };
            put_away(site, f, t + Duration::seconds(rng.range(1200, 3600)), k, q, to, Some(&receiver));
        }
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
            returned(
                &sku_id(k),
                q,
                &site.locations[dock_in],
                Some(&format!("RMA-{}-{}-{r}", sid, date.format("%m%d"))),
            ),
        );
        let to = rng.below(u64::from(AISLES)) as usize;
        put_away(site, f, t + Duration::seconds(1800), k, q, to, None);
    }
    // Every night in its window, the reporting partner's integration pulls
    // the day's stock snapshot page by page with its API key.
    let sync = local(&tz, date, 0, rng.range(5, 20) as u32, 0);
    for page in 0..rng.range(20, 40) {
        let call =
            api_key_used("wms", "key-bi-sync", Some("GET /inventory/snapshot"), ip(198, 51, 100, 77), Some("V-BI"));
        f.emit(3, site, sync + Duration::seconds(page * rng.range(5, 15)), call);
    }
    // Wednesdays: the maintenance vendor's scheduled visit to the server room.
    if date.weekday() == Weekday::Wed {
        let (pid, badge) = (format!("{sid}-V01"), format!("{sid}-VB01"));
        let t = local(&tz, date, 10, rng.range(0, 20) as u32, 0);
        for (door, dir, after) in
            [("MAIN", Direction::In, 0), ("IT", Direction::In, 300), ("MAIN", Direction::Out, 5400)]
        {
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
            asset_seen(
                d,
                ip(10, i64::from(site.num), 8, 10 + i as i64),
                Some(&format!("ot-{}", sid.to_ascii_lowercase())),
            ),
        );
        if date.weekday() == Weekday::Mon {
            f.emit(5, site, t + Duration::seconds(30), firmware_reported(d, &format!("4.2.{}", i % 3)));
        }
        if rng.chance(0.01) {
            f.emit(5, site, local(&tz, date, rng.range(0, 23) as u32, 0, 0), asset_offline(d));
        }
    }
    if rng.chance(0.1) {
        let admin = site.people.iter().find(|p| p.role == "it_admin").map(|p| (p.id.clone(), p.account.clone()));
        if let Some((pid, account)) = admin {
            let summary = "door held-open alarm delay 30s -> 45s";
            let body = config_changed(&format!("{sid}-R-DOCK1"), Some(summary), Some(&pid), Some(&account));
            f.emit(5, site, local(&tz, date, 11, 15, 0), body);
        }
    }
    // A camera reports tampering now and then: the cleaning crew bumped it.
    if rng.chance(0.02) {
        let cam = ["MAIN", "CAGE", "DOCK"][rng.below(3) as usize];
        f.emit(
            1,
            site,
            local(&tz, date, 21, rng.range(0, 59) as u32, 0),
            camera_tamper(&format!("{sid}-CAM-{cam}"), Some("field of view changed")),
        );
    }
    // HR: now and then a picker moves to receiving.
    if rng.chance(0.03) {
        let p = &site.people[rng.below(14) as usize];
        f.emit(4, site, local(&tz, date, 8, 0, 0), role_changed(&p.id, "receiver"));
    }
    // HR: now and then someone goes on leave from tomorrow and comes back a
    // week later; they stay away meanwhile.
    if rng.chance(0.05) {
        let i = rng.below(site.people.len() as u64) as usize;
        let (from, back) = (date + Duration::days(1), date + Duration::days(8));
        if !gone.contains(&i) && !site.away.iter().any(|a| a.0 == i && a.2 > date) {
            let p = &site.people[i];
            f.emit(4, site, local(&tz, from, 0, 30, 0), leave_started(&p.id));
            f.emit(4, site, local(&tz, back, 0, 30, 0), leave_ended(&p.id));
            site.away.push((i, from, back));
        }
    }
}

/// An hour of the shift (from its start, `lo` at the earliest) away from
/// the break, which starts in its fourth hour and lasts under half an hour:
/// nobody badges into the cage while outside on a break.
fn off_break(rng: &mut Rng, lo: i64) -> u32 {
    let h = rng.range(lo, 4);
    (if h >= 3 { h + 2 } else { h }) as u32
}

/// A member of staff logging in to the WMS from the office network.
pub(super) fn staff_login(num: u32, p: &Person, mfa: bool, rng: &mut Rng) -> Body {
    let from = site_address(num, rng.range(256, 2303));
    login("wms", &p.account, Outcome::Success, mfa, from, Some(&p.id))
}

/// A stocked place: in the cage, or on the floor.
pub(super) fn stocked(site: &Site, rng: &mut Rng, cage: bool) -> Option<(usize, usize)> {
    stocked_with(site, rng, cage, 1)
}

/// A place holding at least `min` units by the book, or failing that any stocked place.
pub(super) fn stocked_with(site: &Site, rng: &mut Rng, cage: bool, min: i64) -> Option<(usize, usize)> {
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
pub(super) fn pick_role(site: &Site, rng: &mut Rng, role: &str) -> (String, String, String) {
    let of: Vec<&Person> = site.people.iter().filter(|p| p.role == role).collect();
    let p = of[rng.below(of.len() as u64) as usize];
    (p.id.clone(), p.badge.clone(), p.account.clone())
}

/// Puts `q` units of SKU `k` away from the dock to location `to`, by
/// `person` when the WMS records who.
pub(super) fn put_away(
    site: &mut Site,
    f: &mut Feeds,
    at: DateTime<Utc>,
    k: usize,
    q: i64,
    to: usize,
    person: Option<&str>,
) {
    let dock_in = site.dock_in();
    let body = || put_away_to(&sku_id(k), q, &site.locations[dock_in], &site.locations[to], person);
    let m = Stock { step: "storing", k, q, at: to, source: Some(dock_in), destination: None, ndjson: &body };
    f.stock(site, at, m);
    site.stock[to][k] += q;
}

/// A Saturday morning with a skeleton crew (a supervisor and three pickers
/// of the early shift): legitimate weekend work that a naive detector
/// mistakes for off-hours activity.
pub(super) fn work_saturday(site: &mut Site, gone: &[usize], day: u32, date: NaiveDate, rng: &mut Rng, f: &mut Feeds) {
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
        f.badge(site, arrive, "MAIN", &p.badge, Some(&p.id), Direction::In);
        let mfa = p.role == "supervisor";
        f.emit(3, site, arrive + Duration::seconds(rng.range(120, 600)), staff_login(site.num, p, mfa, rng));
        let leave = local(&tz, date, 12, 0, 0) + Duration::seconds(rng.range(0, 1800));
        f.badge(site, leave, "MAIN", &p.badge, Some(&p.id), Direction::Out);
    }
    f.emit(
        1,
        site,
        local(&tz, date, 7, 59, 0),
        people_count(
            &format!("{sid}-CAM-MAIN"),
            Some(&format!("{sid}-D-MAIN")),
            crew.len() as i64,
            Some(Direction::In),
        ),
    );
    let pickers = crew.len().saturating_sub(1) as i64;
    pick_wave(site, gone, date, (9, 9), pickers * 2 * PICK_LINES_PER_HOUR, rng, f);
}

/// One picking wave at `hour`: `lines` order lines picked to the pack
/// station, packed, and shipped two and a half hours later. Returns the
/// units shipped.
pub(super) fn pick_wave(
    site: &mut Site,
    gone: &[usize],
    date: NaiveDate,
    (wave, hour): (u32, u32),
    lines: i64,
    rng: &mut Rng,
    f: &mut Feeds,
) -> i64 {
    let tz = site.tz;
    let sid = site.id.clone();
    let pack = site.pack();
    let mut shipped_units = 0;
    let order_base = format!("SO-{}-{}-{wave}", sid, date.format("%m%d"));
    // The wave's pickers: those of its shift who came in (the cage's own
    // operators pick what is in the cage).
    let shift = u32::from(hour >= 14);
    let crew = |role: &str| -> Vec<usize> {
        (0..site.people.len())
            .filter(|&i| site.people[i].role == role && site.people[i].shift == shift && !gone.contains(&i))
            .collect()
    };
    let (pickers, cage_ops) = (crew("picker"), crew("cage_operator"));
    let drift = site.drift.filter(|d| d.1 <= date && date < d.2);
    for line in 0..lines {
        let mut loc = rng.below((AISLES + CAGE_BINS) as u64) as usize;
        // A drifting picker steers more and more of their lines to the
        // cage's high-value stock as the days go by.
        let mut steered = false;
        let by = if pickers.is_empty() { None } else { Some(pickers[rng.below(pickers.len() as u64) as usize]) };
        if let (Some(d), Some(p)) = (drift, by)
            && p == d.0
            && !site.is_cage(loc)
        {
            let share = 0.6 * ((date - d.1).num_days() + 1) as f64 / (d.2 - d.1).num_days().max(1) as f64;
            if rng.chance(share) {
                loc = AISLES as usize + rng.below(u64::from(CAGE_BINS)) as usize;
                steered = true;
            }
        }
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
        if steered && rng.chance(0.3) && site.physical(loc, k) > q {
            // One more unit off the shelf than the scan says: pocketed.
            site.lost[loc][k] += 1;
        }
        shipped_units += q;
        let order = format!("{order_base}-{:03}", line / 3);
        let who = if site.is_cage(loc) && !steered && !cage_ops.is_empty() && rng.chance(0.5) {
            Some(cage_ops[rng.below(cage_ops.len() as u64) as usize])
        } else {
            by
        };
        let picker = who.map(|i| site.people[i].id.clone()).unwrap_or_default();
        let t = local(&tz, date, hour, rng.range(0, 59) as u32, rng.range(0, 59) as u32);
        let body = || {
            picked(&sku_id(k), q, &site.locations[scanned], Some(&site.locations[pack]), Some(&order), Some(&picker))
        };
        let m = Stock { step: "picking", k, q, at: scanned, source: None, destination: Some(pack), ndjson: &body };
        f.stock(site, t, m);
        let body = || packed(&sku_id(k), q, Some(&site.locations[pack]), Some(&order));
        let m = Stock { step: "packing", k, q, at: pack, source: None, destination: None, ndjson: &body };
        f.stock(site, t + Duration::seconds(rng.range(300, 1800)), m);
        let carrier = if wave % 2 == 1 { "V-CARRIER-2" } else { "V-CARRIER-1" };
        let door = format!("{sid}-D-DOCK1");
        let body = || shipped(&sku_id(k), q, &site.locations[pack], Some(&order), Some(carrier), Some(&door), None);
        let m = Stock { step: "shipping", k, q, at: pack, source: None, destination: None, ndjson: &body };
        f.stock(site, local(&tz, date, hour + 2, 30, 0) + Duration::seconds(line), m);
    }
    shipped_units
}
