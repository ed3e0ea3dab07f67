//! The detector end to end on hand-made events: rules, context, absence,
//! correlation and cases, through the same calls the stage consumer makes.

use stockade_detect::{Detector, Pack, RuleFile};
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
  - { id: S1-DOCK, site: S1, name: Dock, tier: dock }
doors:
  - { id: S1-D-CAGE, site: S1, name: Cage, to_zone: S1-CAGE }
  - { id: S1-D-MAIN, site: S1, name: Main, to_zone: S1-FLOOR }
  - { id: S1-D-DOCK2, site: S1, name: Dock 2, to_zone: S1-DOCK, dock: true }
people:
  - { id: P1, name: "One", role: cage_operator, status: active, site: S1 }
badges:
  - { id: B1, person: P1, status: active, zones: [S1-FLOOR, S1-CAGE] }
shifts:
  - { id: S1-DAY, site: S1, name: Day, start: "06:00", end: "14:00", weekdays: [1, 2, 3, 4, 5] }
  - { id: S1-LATE, site: S1, name: Late, start: "14:00", end: "22:00", weekdays: [1, 2, 3, 4, 5] }
locations:
  - { id: S1-CAGE-01, site: S1, zone: S1-CAGE }
  - { id: S1-PACK, site: S1, zone: S1-DOCK }
"#,
    )
    .unwrap()
}

fn ev(json: &str) -> Event {
    serde_json::from_str(json).unwrap()
}

#[test]
fn shipments_need_a_pick_of_their_order_before_them() {
    let mut d = Detector::new(pack(), &reference());
    let pick = ev(
        r#"{"id":"p1","source":"wms","site":"S1","occurred_at":"2026-11-02T10:00:00+01:00","kind":"inventory.picked","sku":"K1","quantity":2,"from_location":"S1-CAGE-01","to_location":"S1-PACK","order":"SO-1"}"#,
    );
    let ship = |id: &str, order: &str| {
        ev(&format!(
            r#"{{"id":"{id}","source":"wms","site":"S1","occurred_at":"2026-11-02T11:00:00+01:00","kind":"inventory.shipped","sku":"K1","quantity":2,"from_location":"S1-PACK","order":"{order}"}}"#
        ))
    };
    assert!(d.observe(1, &pick).alerts.is_empty());
    assert!(d.observe(2, &ship("s1", "SO-1")).alerts.is_empty(), "picked before: no alert");
    let out = d.observe(3, &ship("s2", "SO-X9"));
    assert_eq!(out.alerts.len(), 1);
    assert_eq!(out.alerts[0].0.rule, "inventory-shipped-unpicked");
    assert_eq!(out.openings.len(), 1, "a high alert opens its case");
}

#[test]
fn after_hours_cage_entry_alerts_and_in_hours_does_not() {
    let mut d = Detector::new(pack(), &reference());
    let badge = |id: &str, at: &str| {
        ev(&format!(
            r#"{{"id":"{id}","source":"acs","site":"S1","occurred_at":"{at}","kind":"access.granted","door":"S1-D-CAGE","badge":"B1"}}"#
        ))
    };
    assert!(d.observe(1, &badge("a1", "2026-11-02T21:30:00+01:00")).alerts.is_empty());
    let out = d.observe(2, &badge("a2", "2026-11-02T23:05:00+01:00"));
    assert_eq!(out.alerts.len(), 1, "{:?}", out.alerts);
    let (a, _) = &out.alerts[0];
    assert_eq!(a.rule, "access-cage-after-hours");
    assert!(a.entities.iter().any(|e| e.kind == "person" && e.id == "P1"), "the badge's holder is named");
}

/// A small pack of its own: A is a dock door opening, B a receipt, T 30 minutes after.
fn awaiting_pack(look: &str) -> Pack {
    let text = format!(
        "title: receipt\nid: 0b6f2f0e-1111-4c1e-8a4e-000000000001\nname: received\nlogsource:\n  product: stockade\n  category: inventory\ndetection:\n  s:\n    kind: inventory.received\n  condition: s\nlevel: informational\n---\ntitle: dock opened and nothing received\nid: 0b6f2f0e-1111-4c1e-8a4e-000000000002\nname: opened-unreceived\nlogsource:\n  product: stockade\n  category: access\ndetection:\n  s:\n    kind: access.door_opened\n  condition: s\nabsence:\n  rules: [received]\n  within: 30m\n  look: {look}\nlevel: high\n"
    );
    let (pack, errors) = Pack::parse(&[RuleFile { path: "t.yml".into(), text }]);
    assert!(errors.is_empty(), "{errors:?}");
    pack
}

fn opened(id: &str, at: &str) -> Event {
    ev(&format!(
        r#"{{"id":"{id}","source":"acs","site":"S1","occurred_at":"2026-11-02T{at}:00+01:00","kind":"access.door_opened","door":"S1-D-DOCK2"}}"#
    ))
}

fn received(id: &str, at: &str) -> Event {
    ev(&format!(
        r#"{{"id":"{id}","source":"acs","site":"S1","occurred_at":"2026-11-02T{at}:00+01:00","kind":"inventory.received","sku":"K1","quantity":5,"to_location":"S1-PACK"}}"#
    ))
}

fn badge_at(id: &str, at: &str, source: &str) -> Event {
    ev(&format!(
        r#"{{"id":"{id}","source":"{source}","site":"S1","occurred_at":"2026-11-02T{at}:00+01:00","kind":"access.granted","door":"S1-D-MAIN","badge":"B1"}}"#
    ))
}

#[test]
fn an_absence_waits_for_its_deadline_by_its_own_sources_clock() {
    let mut d = Detector::new(awaiting_pack("after"), &reference());
    assert!(d.observe(1, &opened("o1", "01:00")).alerts.is_empty(), "A waits");
    // Another source's clock, however late, does not end the wait.
    assert!(d.observe(2, &badge_at("x", "09:00", "other")).alerts.is_empty());
    // Its own source past the deadline but inside the reorder window: still waiting.
    assert!(d.observe(3, &badge_at("b1", "01:33", "acs")).alerts.is_empty());
    let out = d.observe(4, &badge_at("b2", "01:36", "acs"));
    assert_eq!(out.alerts.len(), 1, "{:?}", out.alerts);
    let a = &out.alerts[0].0;
    assert_eq!(a.rule, "opened-unreceived");
    assert_eq!(a.at.to_rfc3339(), "2026-11-02T01:30:00+01:00", "dated at the deadline");
    assert_eq!(a.event.id, "o1");
    assert!(a.reason.contains("nothing awaited came within 1800s"), "{}", a.reason);

    // B within T cancels the wait.
    let mut d = Detector::new(awaiting_pack("after"), &reference());
    d.observe(1, &opened("o1", "01:00"));
    d.observe(2, &received("r1", "01:20"));
    assert!(d.observe(3, &badge_at("b2", "02:00", "acs")).alerts.is_empty());

    // `around` takes a B before A too; `before` alerts at once without one.
    let mut d = Detector::new(awaiting_pack("around"), &reference());
    d.observe(1, &received("r1", "00:45"));
    d.observe(2, &opened("o1", "01:00"));
    assert!(d.observe(3, &badge_at("b2", "02:00", "acs")).alerts.is_empty());
    let mut d = Detector::new(awaiting_pack("before"), &reference());
    assert_eq!(d.observe(1, &opened("o1", "01:00")).alerts.len(), 1);
}

fn failed_login(id: &str, at: &str) -> Event {
    ev(&format!(
        r#"{{"id":"{id}","source":"iam","site":"S1","occurred_at":"2026-11-02T{at}:00+01:00","kind":"identity.login","system":"wms","account":"acc1","result":"failure","mfa":false}}"#
    ))
}

#[test]
fn a_correlation_names_the_events_behind_it() {
    let mut d = Detector::new(pack(), &reference());
    assert!(d.observe(1, &failed_login("f1", "10:00")).alerts.is_empty());
    assert!(d.observe(2, &failed_login("f2", "10:01")).alerts.is_empty());
    let out = d.observe(3, &failed_login("f3", "10:02"));
    let alerts: Vec<_> = out.alerts.iter().map(|(a, _)| a).filter(|a| a.rule == "identity-login-failures").collect();
    assert_eq!(alerts.len(), 1, "{:?}", out.alerts);
    let related: Vec<&str> = alerts[0].related.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(related, vec!["f1", "f2"]);
    assert!(alerts[0].reason.contains("event_count 3"), "{}", alerts[0].reason);
}

#[test]
fn a_saved_state_resumes_where_it_stopped() {
    let events = [
        failed_login("f1", "10:00"),
        failed_login("f2", "10:01"),
        badge_at("g1", "23:00", "acs"),
        failed_login("f3", "10:02"),
        ev(
            r#"{"id":"c1","source":"acs","site":"S1","occurred_at":"2026-11-02T23:30:00+01:00","kind":"access.granted","door":"S1-D-CAGE","badge":"B1"}"#,
        ),
    ];
    let run = |d: &mut Detector, from: usize, to: usize| {
        let mut out = Vec::new();
        for (i, e) in events.iter().enumerate().take(to).skip(from) {
            let o = d.observe(i as i64 + 1, e);
            out.extend(o.alerts.into_iter().map(|(a, n)| (a.rule, a.event.id, n)));
            out.extend(o.openings.into_iter().map(|o| ("opening".to_owned(), o.title, o.case)));
        }
        out
    };
    let mut whole = Detector::new(pack(), &reference());
    let straight = run(&mut whole, 0, events.len());
    assert!(straight.iter().any(|(r, _, _)| r == "identity-login-failures"), "{straight:?}");
    assert!(straight.iter().any(|(r, _, _)| r == "opening"), "{straight:?}");

    let mut first = Detector::new(pack(), &reference());
    let mut resumed = run(&mut first, 0, 2);
    let saved = serde_json::to_string(&first.state()).unwrap();
    let mut second = Detector::resume(pack(), &reference(), serde_json::from_str(&saved).unwrap());
    resumed.extend(run(&mut second, 2, events.len()));
    assert_eq!(resumed, straight);
}

/// The picks an absence remembers are forgotten once no shipment can ask
/// about them any more (its source's clock a day, the reorder window and a
/// sweep period past them), each source by its own clock.
#[test]
fn remembered_picks_are_forgotten_when_no_shipment_can_ask() {
    let mut d = Detector::new(pack(), &reference());
    let pick = |id: &str, source: &str, at: &str, order: &str| {
        ev(&format!(
            r#"{{"id":"{id}","source":"{source}","site":"S1","occurred_at":"{at}","kind":"inventory.picked","sku":"K1","quantity":2,"from_location":"S1-CAGE-01","to_location":"S1-PACK","order":"{order}"}}"#
        ))
    };
    let seen = |d: &Detector| serde_json::to_value(d.state()).unwrap()["seen"].as_object().unwrap().len();
    d.observe(1, &pick("p1", "wms", "2026-11-02T10:00:00+01:00", "SO-1"));
    d.observe(2, &pick("p2", "wms-b", "2026-11-02T10:00:00+01:00", "SO-2"));
    assert_eq!(seen(&d), 2);
    // Within the day on the first source's clock, the pick is kept.
    d.observe(3, &pick("p3", "wms", "2026-11-03T09:00:00+01:00", "SO-3"));
    assert_eq!(seen(&d), 3);
    // Thirty hours on (past the day, the window and a sweep period of six
    // hours), SO-1's pick is gone; the other source's clock has not moved.
    d.observe(4, &pick("p4", "wms", "2026-11-03T16:00:00+01:00", "SO-4"));
    assert_eq!(seen(&d), 3, "SO-2, SO-3, SO-4");
    d.observe(5, &pick("p5", "wms-b", "2026-11-04T17:00:00+01:00", "SO-5"));
    assert_eq!(seen(&d), 3, "SO-2's pick goes by its own source's clock");
}
