//! Containment kept: the entities Stockade contained for an incident (a
//! badge revoked, a door locked, a SKU quarantined), from the
//! `record.containment` events in the log, and an alert whenever a later
//! event uses one (`containment-breached`).
//!
//! Invariant: state comes from the log alone, in event order: a replay
//! contains and lifts exactly as the live run did.

use crate::alert::{Alert, Entity, EventKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use stockade_model::{ContainmentAction, Event, EventBody};

/// The rule name of its alerts.
pub const MODEL: &str = "containment-breached";

/// One containment in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    pub action: ContainmentAction,
    pub incident: String,
    /// When it took effect (event time, µs).
    pub since_us: i64,
    pub reason: String,
}

/// The containments in force, by `type:id` of their target (one entity may
/// be held by several actions: a door locked and a dock held).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contained {
    held: BTreeMap<String, Vec<Hold>>,
}

/// A contained entity used.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    pub hold: Hold,
    pub entity: Entity,
}

impl Contained {
    /// Applies one event: a containment or its lifting changes what is held;
    /// any other event that uses something held is a breach.
    pub fn observe(&mut self, event: &Event) -> Vec<Breach> {
        let at = event.occurred_at.timestamp_micros();
        if let EventBody::RecordContainment(c) = &event.body {
            let key = format!("{}:{}", c.action.target().as_str(), c.target);
            let holds = self.held.entry(key.clone()).or_default();
            holds.retain(|h| h.action != c.action);
            if !c.lifted {
                holds.push(Hold {
                    action: c.action,
                    incident: c.incident.clone(),
                    since_us: at,
                    reason: c.reason.clone(),
                });
            }
            if holds.is_empty() {
                self.held.remove(&key);
            }
            return Vec::new();
        }
        if self.held.is_empty() {
            return Vec::new();
        }
        let kind = event.kind();
        let mut out = Vec::new();
        for (t, id) in event.entity_ids() {
            let key = format!("{}:{id}", t.as_str());
            for h in self.held.get(&key).into_iter().flatten() {
                if h.since_us <= at && h.action.breached_by(kind) {
                    out.push(Breach { hold: h.clone(), entity: Entity { kind: t.as_str().into(), id: id.to_owned() } });
                }
            }
        }
        out
    }

    /// How many entities are held.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

/// The alert of a breach.
pub fn alert(b: &Breach, event: &Event, seq: i64, entities: Vec<Entity>) -> Alert {
    let since = chrono::DateTime::from_timestamp_micros(b.hold.since_us).map(|t| t.to_rfc3339()).unwrap_or_default();
    Alert {
        rule: MODEL.into(),
        title: format!("Contained {} {} used", b.entity.kind.replace('_', " "), b.entity.id),
        level: "critical".into(),
        site: event.site.as_str().to_owned(),
        at: event.occurred_at,
        seq,
        event: EventKey::of(event, seq),
        related: Vec::new(),
        entities,
        reason: format!(
            "{} {} was contained ({}) for {} at {since} ({}); this {} used it after.",
            b.entity.kind.replace('_', " "),
            b.entity.id,
            b.hold.action.as_str(),
            b.hold.incident,
            b.hold.reason,
            event.kind().as_str()
        ),
        attribution: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(json: serde_json::Value) -> Event {
        Event::from_json(json.to_string().as_bytes()).unwrap()
    }

    fn contain(at: &str, action: &str, target: &str, lifted: bool) -> Event {
        ev(serde_json::json!({"id": format!("c-{at}-{lifted}"), "source": "stockade", "site": "S1", "occurred_at": at,
            "kind": "record.containment", "action": action, "target": target, "incident": "INC-4",
            "lifted": lifted, "reason": "night access"}))
    }

    fn access(at: &str, badge: &str, kind: &str) -> Event {
        ev(serde_json::json!({"id": format!("a-{at}"), "source": "acs", "site": "S1", "occurred_at": at,
            "kind": kind, "door": "D-CAGE", "badge": badge}))
    }

    fn moved(at: &str, kind: &str) -> Event {
        let mut v = serde_json::json!({"id": format!("w-{at}-{kind}"), "source": "wms", "site": "S1", "occurred_at": at,
            "kind": kind, "sku": "SKU-1", "quantity": 2});
        match kind {
            "inventory.counted" => {
                v["location"] = "L1".into();
                v["counted"] = 3.into();
                v["count_type"] = "cycle".into();
            }
            _ => {
                v["from_location"] = "L1".into();
                v["to_location"] = "L2".into();
            }
        }
        ev(v)
    }

    #[test]
    fn a_held_entity_used_after_it_was_held_is_a_breach_until_lifted() {
        let mut c = Contained::default();
        assert!(c.observe(&contain("2026-03-02T10:00:00Z", "revoke_badge", "B-7", false)).is_empty());
        assert_eq!(c.len(), 1);
        assert!(
            c.observe(&access("2026-03-02T09:59:00Z", "B-7", "access.granted")).is_empty(),
            "late event from before"
        );
        let b = c.observe(&access("2026-03-02T10:05:00Z", "B-7", "access.denied"));
        assert_eq!(b.len(), 1, "a refused try is a use of a revoked badge");
        assert_eq!(
            (b[0].entity.kind.as_str(), b[0].entity.id.as_str(), b[0].hold.incident.as_str()),
            ("badge", "B-7", "INC-4")
        );
        let e = access("2026-03-02T10:05:00Z", "B-7", "access.granted");
        let a = alert(&b[0], &e, 9, vec![b[0].entity.clone()]);
        assert_eq!((a.rule.as_str(), a.level.as_str()), (MODEL, "critical"));
        assert!(
            a.reason.starts_with("badge B-7 was contained (revoke_badge) for INC-4 at 2026-03-02T10:00:00"),
            "{}",
            a.reason
        );
        assert!(c.observe(&access("2026-03-02T10:06:00Z", "B-8", "access.granted")).is_empty());
        c.observe(&contain("2026-03-02T11:00:00Z", "revoke_badge", "B-7", true));
        assert!(c.is_empty());
        assert!(c.observe(&access("2026-03-02T11:05:00Z", "B-7", "access.granted")).is_empty());
    }

    #[test]
    fn a_quarantined_sku_may_be_counted_but_not_moved() {
        let mut c = Contained::default();
        c.observe(&contain("2026-03-02T10:00:00Z", "quarantine_sku", "SKU-1", false));
        assert!(c.observe(&moved("2026-03-02T10:10:00Z", "inventory.counted")).is_empty());
        assert_eq!(c.observe(&moved("2026-03-02T10:20:00Z", "inventory.moved")).len(), 1);
        // A door locked: a denied badge is the lock working; a grant is not.
        c.observe(&contain("2026-03-02T10:00:00Z", "lock_door", "D-CAGE", false));
        assert!(c.observe(&access("2026-03-02T10:30:00Z", "B-1", "access.denied")).is_empty());
        assert_eq!(c.observe(&access("2026-03-02T10:31:00Z", "B-1", "access.granted")).len(), 1);
    }
}
