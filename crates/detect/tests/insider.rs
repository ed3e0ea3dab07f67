//! The built-in pack and models on hand-made events of the insider
//! scenarios: one account at two sites, a device reconfigured outside its
//! maintainer's window, write-downs split under the approval threshold,
//! stock moved where no count looks, a new hire in the cage, an API key
//! pulling in bulk, a count line skipped, picks drifting from the peers'.
//! Each with its look-alike, which must stay quiet.

use stockade_detect::{Alert, Detector};
use stockade_model::Event;
use stockade_model::reference::ReferenceData;

mod common;
use common::pack;

fn reference() -> ReferenceData {
    serde_yaml_ng::from_str(
        r#"
sites:
  - { id: S1, name: "Site 1", timezone: Europe/Paris, networks: ["10.1.0.0/19"] }
  - { id: S2, name: "Site 2", timezone: Europe/Paris, networks: ["10.2.0.0/19"] }
zones:
  - { id: S1-FLOOR, site: S1, name: Floor, tier: general }
  - { id: S1-CAGE, site: S1, name: Cage, tier: high_value_cage }
doors:
  - { id: S1-D-CAGE, site: S1, name: Cage, from_zone: S1-FLOOR, to_zone: S1-CAGE }
vendors:
  - { id: V-SEC, name: "Security integrator", windows: [S1-SECMAINT] }
  - { id: V-BI, name: "Reporting", windows: [S1-SYNC] }
people:
  - { id: P1, name: "Picker", role: picker, status: active, site: S1 }
  - { id: P2, name: "Operator", role: cage_operator, status: active, site: S1 }
  - { id: P3, name: "Admin", role: it_admin, status: active, site: S1 }
  - { id: T1, name: "Technician", role: technician, status: active, site: S1, vendor: V-SEC }
  - { id: Q1, name: "Picker 2", role: picker, status: active, site: S1 }
  - { id: Q2, name: "Picker 3", role: picker, status: active, site: S1 }
badges:
  - { id: B1, person: P1, status: active, zones: [S1-FLOOR, S1-CAGE] }
  - { id: B2, person: P2, status: active, zones: [S1-FLOOR, S1-CAGE] }
skus:
  - { id: HI, description: "Valuable", unit_value: 400, value_tier: high }
  - { id: LO, description: "Cheap", unit_value: 5, value_tier: low }
locations:
  - { id: S1-A-01, site: S1, zone: S1-FLOOR }
  - { id: S1-A-02, site: S1, zone: S1-FLOOR }
  - { id: S1-OVF, site: S1, zone: S1-FLOOR }
  - { id: S1-CAGE-01, site: S1, zone: S1-CAGE }
  - { id: S1-PACK, site: S1, zone: S1-FLOOR }
shifts:
  - { id: S1-DAY, site: S1, name: Day, start: "06:00", end: "14:00", weekdays: [1, 2, 3, 4, 5] }
  - { id: S1-LATE, site: S1, name: Late, start: "14:00", end: "22:00", weekdays: [1, 2, 3, 4, 5] }
  - { id: S1-SECMAINT, site: S1, name: Security maintenance, start: "01:00", end: "04:00", weekdays: [7] }
  - { id: S1-SYNC, site: S1, name: Sync, start: "00:00", end: "02:00", weekdays: [1, 2, 3, 4, 5, 6, 7] }
assets:
  - { id: S1-CAM-CAGE, site: S1, kind: camera, name: "Cage camera", vendor: V-SEC, zone: S1-CAGE }
"#,
    )
    .unwrap()
}

fn ev(json: String) -> Event {
    serde_json::from_str(&json).unwrap()
}

/// Runs events through a fresh detector; the alerts' rule names, in order.
fn rules_of(events: &[Event]) -> Vec<String> {
    alerts_of(events).into_iter().map(|a| a.rule).collect()
}

fn alerts_of(events: &[Event]) -> Vec<Alert> {
    let mut d = Detector::new(pack(), &reference());
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        out.extend(d.observe(i as i64 + 1, e).alerts.into_iter().map(|(a, _)| a));
    }
    out
}

fn login(id: &str, at: &str, ip: &str) -> Event {
    ev(format!(
        r#"{{"id":"{id}","source":"iam","site":"S1","occurred_at":"{at}","kind":"identity.login","system":"wms","account":"u1","result":"success","mfa":false,"source_ip":"{ip}","person":"P1"}}"#
    ))
}

#[test]
fn one_account_at_two_sites_within_half_an_hour_but_not_hours_apart() {
    let shared =
        [login("l1", "2026-11-03T10:00:00+01:00", "10.1.1.5"), login("l2", "2026-11-03T10:12:00+01:00", "10.2.1.9")];
    assert_eq!(rules_of(&shared), ["identity-account-two-sites"]);
    let travelled =
        [login("l1", "2026-11-03T07:00:00+01:00", "10.1.1.5"), login("l2", "2026-11-03T10:00:00+01:00", "10.2.1.9")];
    assert!(rules_of(&travelled).is_empty());
    // Two terminals of one site: one network.
    let roaming =
        [login("l1", "2026-11-03T10:00:00+01:00", "10.1.1.5"), login("l2", "2026-11-03T10:05:00+01:00", "10.1.9.7")];
    assert!(rules_of(&roaming).is_empty());
}

fn config(id: &str, at: &str, person: &str) -> Event {
    ev(format!(
        r#"{{"id":"{id}","source":"nac","site":"S1","occurred_at":"{at}","kind":"asset.config_changed","asset":"S1-CAM-CAGE","summary":"recording off","person":"{person}"}}"#
    ))
}

#[test]
fn a_device_reconfigured_at_night_alerts_unless_its_maintainer_window_covers_it() {
    // Tuesday 23:30: nobody's shift, not the integrator's window.
    assert!(rules_of(&[config("c1", "2026-11-03T23:30:00+01:00", "P3")]).contains(&"asset-config-after-hours".into()));
    // Sunday 02:00: the integrator's window.
    assert!(rules_of(&[config("c1", "2026-11-08T02:00:00+01:00", "T1")]).is_empty());
    // Tuesday 11:00: working hours.
    assert!(rules_of(&[config("c1", "2026-11-03T11:00:00+01:00", "P3")]).is_empty());
}

fn writedown(id: &str, at: &str, sku: &str, delta: i64) -> Event {
    ev(format!(
        r#"{{"id":"{id}","source":"wms","site":"S1","occurred_at":"{at}","kind":"inventory.adjusted","sku":"{sku}","location":"S1-A-01","delta":{delta},"reason":"damaged","person":"P1"}}"#
    ))
}

#[test]
fn write_downs_of_one_sku_adding_up_past_the_threshold_alert() {
    // 6 units of 400 each time: 2,400, under 2,500; the second passes it.
    let split = [
        writedown("w1", "2026-11-03T15:00:00+01:00", "HI", -6),
        writedown("w2", "2026-11-03T15:20:00+01:00", "HI", -6),
    ];
    assert_eq!(rules_of(&split), ["inventory-writedowns-split"]);
    // Several SKUs, each small: a fallen pallet.
    let pallet = [
        writedown("w1", "2026-11-03T11:00:00+01:00", "HI", -5),
        writedown("w2", "2026-11-03T11:01:00+01:00", "LO", -3),
    ];
    assert!(rules_of(&pallet).is_empty());
}

fn counted(id: &str, at: &str, location: &str, sku: &str, q: i64, kind: &str) -> Event {
    ev(format!(
        r#"{{"id":"{id}","source":"wms","site":"S1","occurred_at":"{at}","kind":"inventory.counted","sku":"{sku}","location":"{location}","quantity":{q},"count_type":"{kind}","person":"P2"}}"#
    ))
}

fn moved(id: &str, at: &str, to: &str, q: i64, work_order: Option<&str>) -> Event {
    let wo = work_order.map(|w| format!(r#","work_order":"{w}""#)).unwrap_or_default();
    ev(format!(
        r#"{{"id":"{id}","source":"wms","site":"S1","occurred_at":"{at}","kind":"inventory.moved","sku":"HI","quantity":{q},"from_location":"S1-A-01","to_location":"{to}","person":"P1"{wo}}}"#
    ))
}

#[test]
fn valuable_stock_moved_where_no_count_looks_alerts_unless_a_work_order_says_so() {
    let opening = counted("o1", "2026-11-02T05:00:00+01:00", "S1-A-01", "HI", 50, "opening");
    let hidden = [opening.clone(), moved("m1", "2026-11-03T16:00:00+01:00", "S1-OVF", 10, None)];
    assert_eq!(rules_of(&hidden), ["inventory-moved-uncounted"]);
    let ordered = [opening.clone(), moved("m1", "2026-11-03T10:00:00+01:00", "S1-OVF", 10, Some("WO-1"))];
    assert!(rules_of(&ordered).is_empty());
    // A counted place, or too little value: nothing.
    let counted_place = [opening.clone(), moved("m1", "2026-11-03T10:00:00+01:00", "S1-A-01", 10, None)];
    assert!(rules_of(&counted_place).is_empty());
    assert!(rules_of(&[opening, moved("m1", "2026-11-03T16:00:00+01:00", "S1-OVF", 2, None)]).is_empty());
}

fn hired(person: &str, role: &str, at: &str) -> Event {
    ev(format!(
        r#"{{"id":"h-{person}","source":"hr","site":"S1","occurred_at":"{at}","kind":"hr.hired","person":"{person}","role":"{role}"}}"#
    ))
}

fn cage(id: &str, badge: &str, at: &str) -> Event {
    ev(format!(
        r#"{{"id":"{id}","source":"acs","site":"S1","occurred_at":"{at}","kind":"access.granted","door":"S1-D-CAGE","badge":"{badge}","direction":"in"}}"#
    ))
}

#[test]
fn a_new_hire_in_the_cage_alerts_when_the_role_has_no_business_there() {
    let picker = [hired("P1", "picker", "2026-11-03T05:00:00+01:00"), cage("a1", "B1", "2026-11-03T10:00:00+01:00")];
    assert_eq!(rules_of(&picker), ["access-cage-new-hire"]);
    let operator =
        [hired("P2", "cage_operator", "2026-11-03T05:00:00+01:00"), cage("a1", "B2", "2026-11-03T10:00:00+01:00")];
    assert!(rules_of(&operator).is_empty());
    // Three weeks in: no longer new.
    let settled = [hired("P1", "picker", "2026-11-03T05:00:00+01:00"), cage("a1", "B1", "2026-11-24T10:00:00+01:00")];
    assert!(rules_of(&settled).is_empty());
}

fn calls(from: &str, n: usize) -> Vec<Event> {
    let t0 = chrono::DateTime::parse_from_rfc3339(from).unwrap();
    (0..n)
        .map(|i| {
            let at = (t0 + chrono::Duration::seconds(i as i64 * 3)).to_rfc3339();
            ev(format!(
                r#"{{"id":"k{i}","source":"iam","site":"S1","occurred_at":"{at}","kind":"identity.api_key_used","system":"wms","api_key":"key-bi","operation":"GET /inventory/items","source_ip":"198.51.100.77","vendor":"V-BI"}}"#
            ))
        })
        .collect()
}

#[test]
fn an_api_key_pulling_in_bulk_outside_its_window_alerts_once() {
    let bulk = |rules: Vec<String>| rules.iter().filter(|r| *r == "identity-api-key-bulk").count();
    // Each call outside the window is also a vendor outside its window.
    let afternoon = rules_of(&calls("2026-11-03T14:00:00+01:00", 150));
    assert_eq!(bulk(afternoon.clone()), 1, "at the hundredth call, once");
    assert!(afternoon.iter().all(|r| r == "identity-api-key-bulk" || r == "identity-vendor-outside-window"));
    assert!(rules_of(&calls("2026-11-03T00:30:00+01:00", 150)).is_empty(), "inside the window");
    assert_eq!(bulk(rules_of(&calls("2026-11-03T14:00:00+01:00", 60))), 0, "a normal volume");
}

#[test]
fn a_line_a_full_count_leaves_out_is_reported_once_unless_made_up() {
    let opening = [
        counted("o1", "2026-11-02T05:00:00+01:00", "S1-CAGE-01", "HI", 30, "opening"),
        counted("o2", "2026-11-02T05:00:00+01:00", "S1-CAGE-01", "LO", 30, "opening"),
    ];
    // Monday's full count of the cage counts LO and leaves HI out; later
    // events carry the clock past the sweep and the 12 hours after it.
    let later = |id: &str, at: &str| cage(id, "B2", at);
    let mut skipped = opening.to_vec();
    skipped.push(counted("f1", "2026-11-09T05:30:00+01:00", "S1-CAGE-01", "LO", 30, "full"));
    skipped.push(later("x1", "2026-11-09T08:00:00+01:00"));
    skipped.push(later("x2", "2026-11-09T18:00:00+01:00"));
    skipped.push(later("x3", "2026-11-10T09:00:00+01:00"));
    let alerts = alerts_of(&skipped);
    let skips: Vec<&Alert> = alerts.iter().filter(|a| a.rule == "inventory-count-skipped").collect();
    assert_eq!(skips.len(), 1, "{alerts:?}");
    let a = skips[0];
    assert_eq!(a.level, "high", "30 units of 400 is 12,000");
    assert!(a.entities.iter().any(|e| e.kind == "sku" && e.id == "HI"));
    assert!(a.reason.contains("left out HI at S1-CAGE-01"), "{}", a.reason);
    assert_eq!(a.at.to_rfc3339(), "2026-11-09T17:30:00+01:00", "dated when the wait for a make-up ended");
    // Counted twenty minutes after the sweep: made up, nothing to report.
    let mut deferred = opening.to_vec();
    deferred.push(counted("f1", "2026-11-09T05:30:00+01:00", "S1-CAGE-01", "LO", 30, "full"));
    deferred.push(counted("c1", "2026-11-09T05:50:00+01:00", "S1-CAGE-01", "HI", 30, "cycle"));
    deferred.push(later("x1", "2026-11-09T08:00:00+01:00"));
    deferred.push(later("x2", "2026-11-10T09:00:00+01:00"));
    assert!(!rules_of(&deferred).contains(&"inventory-count-skipped".into()));
}

fn pick(i: usize, at: &str, person: &str, sku: &str) -> Event {
    ev(format!(
        r#"{{"id":"p{i}","source":"wms","site":"S1","occurred_at":"{at}","kind":"inventory.picked","sku":"{sku}","quantity":1,"from_location":"S1-A-02","to_location":"S1-PACK","order":"SO-{i}","person":"{person}"}}"#
    ))
}

/// A week of picks by three pickers; `share(person, day)` is the chance,
/// in tenths, that a pick of theirs is of the valuable SKU.
fn week_of_picks(share: impl Fn(&str, usize) -> usize) -> Vec<Event> {
    let mut out = Vec::new();
    let mut i = 0;
    for day in 0..7 {
        for n in 0..60 {
            for person in ["P1", "Q1", "Q2"] {
                i += 1;
                let at = format!("2026-11-{:02}T{:02}:{:02}:00+01:00", 2 + day, 7 + n / 10, (n % 10) * 5);
                let sku = if n % 10 < share(person, day) { "HI" } else { "LO" };
                out.push(pick(i, &at, person, sku));
            }
        }
    }
    out
}

#[test]
fn a_picker_drifting_from_the_peers_is_reported_once_and_a_team_shift_is_not() {
    // P1 goes from one pick in ten to five in ten over the week; the peers stay at one.
    let drifting = week_of_picks(|p, day| if p == "P1" { 1 + day * 4 / 6 } else { 1 });
    let alerts = alerts_of(&drifting);
    let drift: Vec<&Alert> = alerts.iter().filter(|a| a.rule == "picks-high-value-drift").collect();
    assert_eq!(drift.len(), 1, "once per episode");
    assert_eq!(drift[0].entities[0].id, "P1");
    assert!(drift[0].reason.contains("other people with role picker"), "{}", drift[0].reason);
    // Everyone moves to the valuable stock together: the work changed, nobody stands out.
    let team = week_of_picks(|_, day| 1 + day * 4 / 6);
    assert!(!rules_of(&team).contains(&"picks-high-value-drift".into()));
}

#[test]
fn baselines_survive_a_restart() {
    let events = week_of_picks(|p, day| if p == "P1" { 1 + day * 4 / 6 } else { 1 });
    let (first, rest) = events.split_at(events.len() / 2);
    let mut d = Detector::new(pack(), &reference());
    let mut found = Vec::new();
    for (i, e) in first.iter().enumerate() {
        found.extend(d.observe(i as i64 + 1, e).alerts.into_iter().map(|(a, _)| a.rule));
    }
    // Saved as JSON, as the stage saves it, and resumed.
    let saved = serde_json::to_string(&d.state()).unwrap();
    let mut d = Detector::resume(pack(), &reference(), serde_json::from_str(&saved).unwrap());
    for (i, e) in rest.iter().enumerate() {
        found.extend(d.observe((first.len() + i) as i64 + 1, e).alerts.into_iter().map(|(a, _)| a.rule));
    }
    let straight = rules_of(&events);
    assert_eq!(found, straight, "a restart changes nothing");
    assert!(found.contains(&"picks-high-value-drift".into()));
}

#[test]
fn a_secure_zone_at_an_hour_this_person_never_keeps_alerts_once_the_profile_is_full() {
    // Nine weeks of working days, an entry at 10:00 each (45 entries).
    let mut events = Vec::new();
    let start = chrono::NaiveDate::from_ymd_opt(2026, 9, 7).unwrap();
    for d in 0..63 {
        let date = start + chrono::Duration::days(d);
        if chrono::Datelike::weekday(&date).num_days_from_monday() < 5 {
            events.push(cage(&format!("a{d}"), "B2", &format!("{date}T10:00:00+02:00")));
        }
    }
    assert!(rules_of(&events).is_empty(), "the profile fills quietly");
    let mut evening = events.clone();
    evening.push(cage("late", "B2", "2026-11-10T19:00:00+01:00"));
    assert_eq!(rules_of(&evening), ["access-secure-unusual-hour"]);
    let mut usual = events;
    usual.push(cage("usual", "B2", "2026-11-10T10:40:00+01:00"));
    assert!(rules_of(&usual).is_empty());
}
