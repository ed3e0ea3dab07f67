//! Count shortages through the detector: its own book, the tolerance, and
//! the attribution that ranks who and what could explain a gap, as the
//! stage consumer calls it; state saved mid-way resumes to the same finding.

use stockade_detect::{Alert, Detector, State};
use stockade_model::Event;
use stockade_model::reference::ReferenceData;

mod common;
use common::pack;

fn reference() -> ReferenceData {
    serde_yaml_ng::from_str(
        r#"
sites: [{ id: S1, name: "Site 1", timezone: Europe/Paris }]
zones:
  - { id: S1-FLOOR, site: S1, name: Floor, tier: general }
  - { id: S1-CAGE, site: S1, name: Cage, tier: high_value_cage }
doors:
  - { id: S1-D-CAGE, site: S1, name: Cage, from_zone: S1-FLOOR, to_zone: S1-CAGE }
people:
  - { id: P1, name: "One", role: cage_operator, status: active, site: S1 }
  - { id: P2, name: "Two", role: picker, status: active, site: S1 }
badges:
  - { id: B1, person: P1, status: active, zones: [S1-FLOOR, S1-CAGE] }
  - { id: B2, person: P2, status: active, zones: [S1-FLOOR, S1-CAGE] }
shifts:
  - { id: S1-DAY, site: S1, name: Day, start: "06:00", end: "14:00", weekdays: [1, 2, 3, 4, 5] }
skus:
  - { id: K1, description: Phone, unit_value: 300, value_tier: critical }
locations:
  - { id: S1-CAGE-01, site: S1, zone: S1-CAGE }
"#,
    )
    .unwrap()
}

fn ev(json: String) -> Event {
    serde_json::from_str(&json).unwrap()
}

fn count(id: &str, at: &str, q: u32, count_type: &str) -> Event {
    ev(format!(
        r#"{{"id":"{id}","source":"wms","site":"S1","occurred_at":"2026-11-{at}+01:00","kind":"inventory.counted","sku":"K1","location":"S1-CAGE-01","quantity":{q},"count_type":"{count_type}"}}"#
    ))
}

fn badge(id: &str, at: &str, b: &str) -> Event {
    ev(format!(
        r#"{{"id":"{id}","source":"acs","site":"S1","occurred_at":"2026-11-{at}+01:00","kind":"access.granted","door":"S1-D-CAGE","badge":"{b}","direction":"in"}}"#
    ))
}

/// The week up to the shortage: an opening balance of 50, a picker's
/// daytime visit and pick of 5, and the cage operator's visit at night.
fn before() -> Vec<Event> {
    vec![
        count("c0", "02T05:00:00", 50, "opening"),
        badge("a1", "02T09:55:00", "B2"),
        ev(r#"{"id":"p1","source":"wms","site":"S1","occurred_at":"2026-11-02T10:00:00+01:00","kind":"inventory.picked","sku":"K1","quantity":5,"from_location":"S1-CAGE-01","to_location":"S1-PACK","person":"P2"}"#.into()),
        badge("a2", "02T23:10:00", "B1"),
    ]
}

fn shortages(out: &[(Alert, u64)]) -> Vec<&Alert> {
    out.iter().map(|(a, _)| a).filter(|a| a.rule == "inventory-count-shortage").collect()
}

#[test]
fn a_shortage_is_attributed_to_who_and_what_could_explain_it() {
    let mut d = Detector::new(pack(), &reference());
    for (i, e) in before().iter().enumerate() {
        assert!(shortages(&d.observe(i as i64 + 1, e).alerts).is_empty());
    }
    // The book holds 45; the morning count finds 41.
    let out = d.observe(5, &count("c1", "03T05:45:00", 41, "cycle"));
    let found = shortages(&out.alerts);
    assert_eq!(found.len(), 1, "{:?}", out.alerts);
    let a = found[0];
    let at = a.attribution.as_ref().unwrap();
    assert_eq!((at.book, at.counted, at.shortage, at.value), (45.0, 41.0, 4.0, 1200.0));
    assert_eq!(at.since.to_rfc3339(), "2026-11-02T05:00:00+01:00", "from the opening balance");
    // The night visit to the cage ranks above the daytime picker.
    let ranked: Vec<&str> = at.suspects.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ranked, ["P1", "P2"], "{:?}", at.suspects);
    assert!(at.suspects[0].stands_out && !at.suspects[1].stands_out);
    assert!(at.suspects[0].reasons[0].contains("after hours"), "{:?}", at.suspects[0].reasons);
    assert!(at.suspects[1].reasons.iter().any(|r| r.contains("took 5 unit(s)")), "{:?}", at.suspects[1].reasons);
    assert_eq!(at.suspects[0].credentials[0].id, "B1");
    assert_eq!(at.suspects[0].events[0].id, "a2");
    assert_eq!(at.windows[0].from.to_rfc3339(), "2026-11-02T23:00:00+01:00");
    // The alert: high (a telling shortage worth 1,200), naming the place,
    // the SKU, the zone and the one who stands out, citing the count and
    // the night visit, with the ranking in words.
    assert_eq!(a.level, "high");
    let names: Vec<&str> = a.entities.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(names, ["S1-CAGE-01", "K1", "S1-CAGE", "P1", "B1"]);
    assert_eq!(a.event.id, "c1");
    assert_eq!(a.related.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["a2"]);
    assert!(a.reason.contains("where the book held 45: 4 short") && a.reason.contains("person P1"), "{}", a.reason);

    // A recount that finds the same gap reports nothing new; after the
    // approved correction, a count that agrees is good, and so is one a
    // unit short (within tolerance).
    assert!(shortages(&d.observe(6, &count("c2", "03T05:46:00", 41, "cycle")).alerts).is_empty());
    let fix = ev(r#"{"id":"x1","source":"wms","site":"S1","occurred_at":"2026-11-03T05:55:00+01:00","kind":"inventory.adjusted","sku":"K1","location":"S1-CAGE-01","delta":-4,"reason":"count correction","approver":"P2"}"#.into());
    assert!(shortages(&d.observe(7, &fix).alerts).is_empty());
    assert!(shortages(&d.observe(8, &count("c3", "04T05:45:00", 41, "cycle")).alerts).is_empty());
    assert!(shortages(&d.observe(9, &count("c4", "05T05:45:00", 40, "cycle")).alerts).is_empty());
}

#[test]
fn routine_shrink_is_recorded_without_raising_an_incident() {
    let mut d = Detector::new(pack(), &reference());
    // Only the daytime picker was there, and the cage door was held open
    // in working hours: 3 units gone is routine shrink.
    for (i, e) in before().iter().take(3).enumerate() {
        d.observe(i as i64 + 1, e);
    }
    let held = ev(r#"{"id":"h1","source":"acs","site":"S1","occurred_at":"2026-11-02T11:00:00+01:00","kind":"access.door_held_open","door":"S1-D-CAGE","duration_s":90}"#.into());
    d.observe(4, &held);
    let out = d.observe(5, &count("c1", "03T05:45:00", 42, "cycle"));
    let a = shortages(&out.alerts)[0];
    let at = a.attribution.as_ref().unwrap();
    assert!(!at.telling);
    assert!(at.suspects.iter().any(|s| s.kind == "door" && !s.stands_out), "{:?}", at.suspects);
    assert_eq!(a.level, "informational", "900 of shrink with nothing telling");
    assert!(out.openings.is_empty());
    assert!(!a.entities.iter().any(|e| e.kind == "person"), "nobody is named without cause: {:?}", a.entities);
}

#[test]
fn a_saved_state_resumes_to_the_same_finding() {
    let events = before();
    let shortage = count("c1", "03T05:45:00", 41, "cycle");
    let mut straight = Detector::new(pack(), &reference());
    for (i, e) in events.iter().enumerate() {
        straight.observe(i as i64 + 1, e);
    }
    let expected = straight.observe(5, &shortage).alerts;

    let mut first = Detector::new(pack(), &reference());
    for (i, e) in events.iter().enumerate() {
        first.observe(i as i64 + 1, e);
    }
    let saved = serde_json::to_string(&first.state()).unwrap();
    let state: State = serde_json::from_str(&saved).unwrap();
    let mut resumed = Detector::resume(pack(), &reference(), state);
    let got = resumed.observe(5, &shortage).alerts;
    assert_eq!(shortages(&got), shortages(&expected));
    assert_eq!(shortages(&got).len(), 1);
}
