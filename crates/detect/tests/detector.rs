//! The detector end to end on hand-made events: rules, context, absence,
//! correlation and cases, through the same calls the stage consumer makes.

use stockade_detect::{Detector, Pack, RuleFile};
use stockade_model::Event;
use stockade_model::reference::ReferenceData;

fn pack() -> Pack {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let mut files = Vec::new();
    for e in std::fs::read_dir(&root).unwrap() {
        let p = e.unwrap().path();
        files.push(RuleFile { path: p.display().to_string(), text: std::fs::read_to_string(&p).unwrap() });
    }
    let (pack, errors) = Pack::parse(&files);
    assert!(errors.is_empty(), "{errors:?}");
    pack
}

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
