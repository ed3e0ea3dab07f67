//! Count surprise: how many write-downs a person keys or a SKU takes,
//! receipts a site books, doors a badge opens, grants a door gives, entries
//! a zone sees, login attempts an account makes and calls an API key (or a
//! vendor's keys) make in a day, against that entity's own days before.
//!
//! Per key (what, site, entity) the model keeps today's count and, over the
//! days the entity was active, an exponentially weighted mean and mean
//! absolute deviation of its daily counts ([`crate::series::Ewm`], the
//! model `stockade series-detect` uses, learning robustly). Today's count is
//! judged as it grows, so a burst is reported while it happens, not at
//! midnight: once the entity has [`MIN_DAYS`] active days behind it, a count
//! of at least [`MIN_COUNT`] that is [`RATIO`] times its mean and [`Z`]
//! deviations above it raises `volume-surprise` (medium: a burst is worth a
//! look, and joins the case of whatever else the entity did). Once per key
//! and day. Days are UTC days.
//!
//! Invariants: pure and deterministic; bounded state (one small record per
//! key); saved with the detector's state, so a restart resumes it; a late
//! event of a day already closed counts for nothing.

use crate::alert::{Alert, Entity, EventKey};
use crate::series::Ewm;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use stockade_model::event::{Event, EventBody};

/// The model's name, as alerts cite it in place of a rule.
pub const MODEL: &str = "volume-surprise";
/// Active days an entity needs behind it before its counts are judged.
pub const MIN_DAYS: usize = 7;
/// The least count worth a look.
pub const MIN_COUNT: u64 = 10;
/// Times the entity's usual daily count...
pub const RATIO: f64 = 3.0;
/// ...and deviations above it.
pub const Z: f64 = 6.0;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Daily {
    day: i64,
    today: u64,
    usual: Ewm,
    reported: Option<i64>,
}

/// The baselines' state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Volume {
    keys: BTreeMap<String, Daily>,
}

/// A count far above its entity's usual.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    /// What is counted, in words.
    pub what: &'static str,
    pub entity: Entity,
    pub today: u64,
    pub usual: f64,
    pub z: f64,
}

/// What an event counts towards, and for whom: `person` and `zone` as the
/// context says.
fn counted(event: &Event, person: Option<&str>, zone: Option<&str>) -> Vec<(&'static str, Entity)> {
    let e = |kind: &str, id: &str| Entity { kind: kind.into(), id: id.into() };
    let mut out = Vec::new();
    match &event.body {
        EventBody::InventoryAdjusted(a) if a.delta < 0.0 => {
            if let Some(p) = person {
                out.push(("write-downs keyed", e("person", p)));
            }
            out.push(("write-downs", e("sku", a.sku.as_str())));
        }
        EventBody::InventoryReceived(_) => out.push(("receipts booked", e("site", event.site.as_str()))),
        EventBody::AccessGranted(r) => {
            out.push(("doors opened", e("badge", r.badge.as_str())));
            out.push(("grants", e("door", r.door.as_str())));
            if let Some(z) = zone {
                out.push(("entries", e("zone", z)));
            }
        }
        EventBody::IdentityLogin(l) => out.push(("login attempts", e("account", l.account.as_str()))),
        EventBody::IdentityApiKeyUsed(k) => {
            out.push(("API calls", e("api_key", k.api_key.as_str())));
            if let Some(v) = &k.vendor {
                out.push(("API calls", e("vendor", v.as_str())));
            }
        }
        _ => {}
    }
    out
}

impl Volume {
    /// Counts an event (`person`, `zone`: who did it and where, as the
    /// context says); counts that just became surprising come back.
    pub fn observe(&mut self, event: &Event, person: Option<&str>, zone: Option<&str>) -> Vec<Burst> {
        let day = event.occurred_at.timestamp().div_euclid(86_400);
        let mut out = Vec::new();
        for (what, entity) in counted(event, person, zone) {
            let key = format!("{what}\x1f{}\x1f{}:{}", event.site.as_str(), entity.kind, entity.id);
            let d = self.keys.entry(key).or_default();
            if day < d.day {
                continue;
            }
            if day > d.day {
                if d.today > 0 {
                    let floor = 1.0f64.max(0.1 * d.usual.mean);
                    d.usual.learn(d.today as f64, floor);
                }
                d.day = day;
                d.today = 0;
            }
            d.today += 1;
            if d.usual.n < MIN_DAYS || d.today < MIN_COUNT || d.reported == Some(day) {
                continue;
            }
            let floor = 1.0f64.max(0.1 * d.usual.mean);
            let z = d.usual.surprise(d.today as f64, floor);
            if z < Z || (d.today as f64) < RATIO * d.usual.mean {
                continue;
            }
            d.reported = Some(day);
            out.push(Burst { what, entity, today: d.today, usual: d.usual.mean, z });
        }
        out
    }
}

/// The alert of a burst, raised on the event that made it surprising.
pub fn alert(b: &Burst, event: &Event, seq: i64) -> Alert {
    Alert {
        rule: MODEL.into(),
        title: format!("Unusual volume: {} {} by {} {}", b.today, b.what, b.entity.kind, b.entity.id),
        level: "medium".into(),
        site: event.site.as_str().to_owned(),
        at: event.occurred_at,
        seq,
        event: EventKey::of(event, seq),
        related: Vec::new(),
        entities: vec![b.entity.clone()],
        reason: format!(
            "{} {} today by {} {}, where its active days average {:.1} ({:.1} deviations above); a burst worth a look.",
            b.today, b.what, b.entity.kind, b.entity.id, b.usual, b.z
        ),
        attribution: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(day: u32, i: u32) -> Event {
        serde_json::from_value(serde_json::json!({
            "id": format!("k{day}-{i}"), "source": "iam", "site": "S1",
            "occurred_at": format!("2026-11-{:02}T{:02}:{:02}:00Z", day, 8 + i / 60, i % 60),
            "kind": "identity.api_key_used", "system": "wms", "api_key": "key-1"
        }))
        .unwrap()
    }

    #[test]
    fn a_burst_above_the_usual_days_is_reported_once_while_it_happens() {
        let mut v = Volume::default();
        // Ten days of 20 to 29 calls.
        for day in 1..=10 {
            for i in 0..20 + day % 10 {
                assert!(v.observe(&call(day, i), None, None).is_empty(), "day {day}: usual");
            }
        }
        // Day 11: a burst, reported on the call that makes it surprising, once.
        let bursts: Vec<(u32, Burst)> =
            (0..300).filter_map(|i| v.observe(&call(11, i), None, None).pop().map(|b| (i, b))).collect();
        assert_eq!(bursts.len(), 1);
        let (i, b) = &bursts[0];
        assert!(*i < 120, "found at call {i}, while it happens");
        assert_eq!((b.entity.kind.as_str(), b.entity.id.as_str()), ("api_key", "key-1"));
        assert!(b.usual > 20.0 && b.usual < 30.0, "{}", b.usual);
        // A late call of a closed day counts for nothing.
        assert!(v.observe(&call(3, 900), None, None).is_empty());
    }

    #[test]
    fn too_little_history_or_volume_says_nothing() {
        let mut v = Volume::default();
        for day in 1..=3 {
            for i in 0..5 {
                v.observe(&call(day, i), None, None);
            }
        }
        assert!((0..300).all(|i| v.observe(&call(4, i), None, None).is_empty()), "three days are no baseline");
        let mut v = Volume::default();
        for day in 1..=10 {
            v.observe(&call(day, 0), None, None);
        }
        assert!((0..9).all(|i| v.observe(&call(11, i), None, None).is_empty()), "nine calls are below the least count");
    }
}
