//! Inventory book maths: how each inventory event moves quantities.
//!
//! The book is perpetual: the quantity at (site, location, SKU) is the sum of
//! the movements there. Counts do not move stock; they are observations that
//! the book is compared against (see [`Observation`]), and the variance of a
//! count is `counted - book as of the count's time`. Only adjustments (approved
//! or not) change the book without a physical movement.

use crate::event::{Event, EventBody};
use crate::ids::{LocationId, SiteId, Sku};

/// A change of quantity at one place.
#[derive(Debug, Clone, PartialEq)]
pub struct Movement {
    pub site: SiteId,
    pub location: LocationId,
    pub sku: Sku,
    pub delta: f64,
}

/// A count: what was found at one place.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub site: SiteId,
    pub location: LocationId,
    pub sku: Sku,
    pub counted: f64,
}

/// The movements an event makes in the book (none for non-inventory events).
pub fn movements(ev: &Event) -> Vec<Movement> {
    let m = |location: &LocationId, sku: &Sku, delta: f64| Movement {
        site: ev.site.clone(),
        location: location.clone(),
        sku: sku.clone(),
        delta,
    };
    match &ev.body {
        EventBody::InventoryReceived(r) | EventBody::InventoryReturned(r) => {
            vec![m(&r.to_location, &r.sku, r.quantity)]
        }
        EventBody::InventoryPutAway(t) | EventBody::InventoryMoved(t) => {
            vec![m(&t.from_location, &t.sku, -t.quantity), m(&t.to_location, &t.sku, t.quantity)]
        }
        EventBody::InventoryPicked(p) => {
            let mut v = vec![m(&p.from_location, &p.sku, -p.quantity)];
            if let Some(to) = &p.to_location {
                v.push(m(to, &p.sku, p.quantity));
            }
            v
        }
        EventBody::InventoryShipped(s) => vec![m(&s.from_location, &s.sku, -s.quantity)],
        EventBody::InventoryAdjusted(a) => vec![m(&a.location, &a.sku, a.delta)],
        EventBody::InventoryScrapped(s) => vec![m(&s.from_location, &s.sku, -s.quantity)],
        _ => Vec::new(),
    }
}

/// The count an event records, if it is a count.
pub fn observation(ev: &Event) -> Option<Observation> {
    match &ev.body {
        EventBody::InventoryCounted(c) => Some(Observation {
            site: ev.site.clone(),
            location: c.location.clone(),
            sku: c.sku.clone(),
            counted: c.quantity,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ev(json: &str) -> Event {
        Event::from_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn transfer_conserves_stock() {
        let e = ev(
            r#"{"id":"1","source":"wms","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"inventory.moved","sku":"K","quantity":3,"from_location":"A","to_location":"B"}"#,
        );
        let mv = movements(&e);
        assert_eq!(mv.len(), 2);
        assert_eq!(mv.iter().map(|m| m.delta).sum::<f64>(), 0.0);
        assert_eq!(mv[0].location.as_str(), "A");
        assert_eq!(mv[0].delta, -3.0);
    }

    #[test]
    fn counts_do_not_move_stock() {
        let e = ev(
            r#"{"id":"1","source":"wms","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"inventory.counted","sku":"K","quantity":7,"location":"A","count_type":"cycle"}"#,
        );
        assert!(movements(&e).is_empty());
        assert_eq!(observation(&e).unwrap().counted, 7.0);
    }

    proptest! {
        /// Receiving q, moving m <= q and shipping s <= m leaves q - s on the site.
        #[test]
        fn book_equals_sum_of_movements(q in 1u32..1000, m_frac in 0.0f64..1.0, s_frac in 0.0f64..1.0) {
            let q = f64::from(q);
            let m = (q * m_frac).floor().max(1.0).min(q);
            let s = (m * s_frac).floor().max(1.0).min(m);
            let lines = [
                format!(r#"{{"id":"r","source":"w","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"inventory.received","sku":"K","quantity":{q},"to_location":"DOCK"}}"#),
                format!(r#"{{"id":"m","source":"w","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"inventory.put_away","sku":"K","quantity":{m},"from_location":"DOCK","to_location":"BIN"}}"#),
                format!(r#"{{"id":"s","source":"w","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"inventory.shipped","sku":"K","quantity":{s},"from_location":"BIN"}}"#),
            ];
            let all: Vec<Movement> = lines.iter().flat_map(|l| movements(&ev(l))).collect();
            let at = |loc: &str| all.iter().filter(|x| x.location.as_str() == loc).map(|x| x.delta).sum::<f64>();
            prop_assert_eq!(at("DOCK"), q - m);
            prop_assert_eq!(at("BIN"), m - s);
            prop_assert_eq!(all.iter().map(|x| x.delta).sum::<f64>(), q - s);
        }
    }
}
