//! Inventory book maths: how each inventory event moves quantities.
//!
//! The book is perpetual: the quantity at (site, location, SKU) is the sum of
//! the movements there. Counts do not move stock; they are observations that
//! the book is compared against (see [`Observation`]), and the variance of a
//! count is `counted - book as of the count's time`, with one exception: the
//! first count of a place the book has never seen is its opening balance (the
//! book takes it, with no variance, and movements that occurred before it are
//! already in it). Only adjustments (approved or not) change the book without
//! a physical movement. `docs/BOOK.md` states the rules.

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

/// Where stock is: one (site, location, SKU).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Place {
    pub site: String,
    pub location: String,
    pub sku: String,
}

/// The latest count at a place and the book as of the count's time.
#[derive(Debug, Clone, PartialEq)]
pub struct CountState {
    pub seq: i64,
    pub occurred_us: i64,
    pub counted: f64,
    /// The book at `occurred_us`: movements that happened at or before it,
    /// whenever they arrived.
    pub book_at: f64,
    /// The count arrived more than the horizon after movements it should be
    /// compared with were forgotten: `book_at` may miss some of them.
    pub approximate: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlaceState {
    pub quantity: f64,
    /// Movements within the horizon: (occurred_us, delta), unordered.
    pub recent: Vec<(i64, f64)>,
    pub count: Option<CountState>,
    /// When the place was first seen by a count, that count's time: the
    /// count set its opening balance, so movements that occurred at or
    /// before it (arriving late) are already in it and move nothing.
    pub opened_us: Option<i64>,
}

/// The perpetual inventory book, kept in memory and fed in acceptance order.
///
/// Invariants: `quantity` is the sum of every movement applied at a place;
/// a count's `book_at` is the sum of the movements that occurred at or before
/// its time, for movements within `horizon_us` of the newest time seen (late
/// and early arrivals both handled). Movements older than the horizon are
/// folded into `quantity` and forgotten individually.
#[derive(Debug, Clone)]
pub struct InventoryBook {
    /// Place key (`site\x1flocation\x1fsku`) to slot: looked up with a
    /// reused buffer, so a known place costs no allocation.
    slots: std::collections::HashMap<String, usize>,
    places: Vec<Place>,
    states: Vec<PlaceState>,
    key: String,
    horizon_us: i64,
    newest_us: i64,
}

/// Default horizon for late events: 7 days.
pub const DEFAULT_HORIZON_US: i64 = 7 * 24 * 3600 * 1_000_000;

impl Default for InventoryBook {
    fn default() -> Self {
        InventoryBook::new(DEFAULT_HORIZON_US)
    }
}

impl InventoryBook {
    pub fn new(horizon_us: i64) -> InventoryBook {
        InventoryBook {
            slots: Default::default(),
            places: Vec::new(),
            states: Vec::new(),
            key: String::new(),
            horizon_us,
            newest_us: i64::MIN,
        }
    }

    /// Puts a place's lookup key in the reused buffer.
    fn fill_key(&mut self, site: &str, location: &str, sku: &str) {
        self.key.clear();
        for (i, part) in [site, location, sku].into_iter().enumerate() {
            if i > 0 {
                // A control character: ids never contain one (see `ids`).
                self.key.push('\x1f');
            }
            self.key.push_str(part);
        }
    }

    /// Whether the book has seen this place (a movement or a count).
    fn knows(&mut self, site: &str, location: &str, sku: &str) -> bool {
        self.fill_key(site, location, sku);
        self.slots.contains_key(self.key.as_str())
    }

    /// The slot of a place, created if new.
    fn slot(&mut self, site: &str, location: &str, sku: &str) -> usize {
        self.fill_key(site, location, sku);
        if let Some(&slot) = self.slots.get(self.key.as_str()) {
            return slot;
        }
        let slot = self.places.len();
        self.slots.insert(self.key.clone(), slot);
        self.places.push(Place { site: site.to_owned(), location: location.to_owned(), sku: sku.to_owned() });
        self.states.push(PlaceState::default());
        slot
    }

    /// Applies one accepted event's effects. Returns the slots of the places
    /// it changed (see [`InventoryBook::at`]).
    pub fn apply(
        &mut self,
        seq: i64,
        occurred_us: i64,
        movements: &[Movement],
        observation: Option<&Observation>,
    ) -> Vec<usize> {
        self.newest_us = self.newest_us.max(occurred_us);
        let floor = self.newest_us.saturating_sub(self.horizon_us);
        let mut touched = Vec::with_capacity(movements.len() + 1);
        for m in movements {
            let slot = self.slot(m.site.as_str(), m.location.as_str(), m.sku.as_str());
            let st = &mut self.states[slot];
            if st.opened_us.is_some_and(|opened| occurred_us <= opened) {
                // Already in the opening count.
                touched.push(slot);
                continue;
            }
            st.quantity += m.delta;
            if let Some(c) = &mut st.count
                && occurred_us <= c.occurred_us
            {
                // A movement from before the count that arrived after it.
                c.book_at += m.delta;
            }
            if occurred_us >= floor {
                st.recent.push((occurred_us, m.delta));
            }
            if st.recent.len() > 64 && st.recent.len().is_power_of_two() {
                st.recent.retain(|(t, _)| *t >= floor);
            }
            touched.push(slot);
        }
        if let Some(o) = observation {
            let first_sight = !self.knows(o.site.as_str(), o.location.as_str(), o.sku.as_str());
            let slot = self.slot(o.site.as_str(), o.location.as_str(), o.sku.as_str());
            let st = &mut self.states[slot];
            if first_sight {
                // The first count of a place the book has never seen is its
                // opening balance: the book takes it, with no variance.
                st.quantity = o.counted;
                st.opened_us = Some(occurred_us);
                st.count =
                    Some(CountState { seq, occurred_us, counted: o.counted, book_at: o.counted, approximate: false });
                touched.push(slot);
                return touched;
            }
            let newer = st.count.as_ref().is_none_or(|c| (occurred_us, seq) > (c.occurred_us, c.seq));
            if newer {
                // Movements that happened after the count but arrived before it.
                let after: f64 = st.recent.iter().filter(|(t, _)| *t > occurred_us).map(|(_, d)| d).sum();
                st.count = Some(CountState {
                    seq,
                    occurred_us,
                    counted: o.counted,
                    book_at: st.quantity - after,
                    approximate: occurred_us < floor,
                });
            }
            touched.push(slot);
        }
        touched
    }

    /// The place in a slot returned by [`InventoryBook::apply`].
    pub fn at(&self, slot: usize) -> Option<(&Place, &PlaceState)> {
        Some((self.places.get(slot)?, self.states.get(slot)?))
    }

    pub fn get(&self, place: &Place) -> Option<&PlaceState> {
        let key = format!("{}\x1f{}\x1f{}", place.site, place.location, place.sku);
        self.slots.get(&key).and_then(|&s| self.states.get(s))
    }

    /// Every place, sorted.
    pub fn places(&self) -> Vec<(&Place, &PlaceState)> {
        let mut v: Vec<_> = self.places.iter().zip(&self.states).collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// Restores a place from a snapshot.
    pub fn restore(&mut self, place: Place, state: PlaceState) {
        for (t, _) in &state.recent {
            self.newest_us = self.newest_us.max(*t);
        }
        let slot = self.slot(&place.site, &place.location, &place.sku);
        self.states[slot] = state;
    }

    pub fn len(&self) -> usize {
        self.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }
}

#[cfg(test)]
mod book_tests {
    use super::*;

    fn mv(delta: f64) -> Movement {
        Movement {
            site: SiteId::new("S").unwrap(),
            location: LocationId::new("BIN").unwrap(),
            sku: Sku::new("K").unwrap(),
            delta,
        }
    }

    fn count(n: f64) -> Observation {
        Observation {
            site: SiteId::new("S").unwrap(),
            location: LocationId::new("BIN").unwrap(),
            sku: Sku::new("K").unwrap(),
            counted: n,
        }
    }

    fn place() -> Place {
        Place { site: "S".into(), location: "BIN".into(), sku: "K".into() }
    }

    /// The first count of a place never seen opens it: the book takes the
    /// count (no variance); movements that occurred before it, arriving
    /// late, are already in it; later ones move the book; the next count is
    /// compared as any count is. A count of zero is a count.
    #[test]
    fn a_first_count_opens_the_place() {
        let mut b = InventoryBook::default();
        b.apply(1, 500, &[], Some(&count(12.0)));
        let st = b.get(&place()).unwrap();
        assert_eq!((st.quantity, st.opened_us), (12.0, Some(500)));
        let c = st.count.as_ref().unwrap();
        assert_eq!((c.counted, c.book_at), (12.0, 12.0), "no variance");
        b.apply(2, 400, &[mv(5.0)], None); // before the count, arriving after it
        assert_eq!(b.get(&place()).unwrap().quantity, 12.0, "already in the opening count");
        b.apply(3, 600, &[mv(-2.0)], None);
        assert_eq!(b.get(&place()).unwrap().quantity, 10.0);
        b.apply(4, 700, &[], Some(&count(0.0)));
        let c = b.get(&place()).unwrap().count.clone().unwrap();
        assert_eq!((c.counted, c.book_at), (0.0, 10.0), "an empty bin: a shortage of 10");
        // A place first seen by a movement is not opened by a later count.
        let mut b = InventoryBook::default();
        b.apply(1, 100, &[mv(3.0)], None);
        b.apply(2, 200, &[], Some(&count(5.0)));
        let st = b.get(&place()).unwrap();
        assert_eq!((st.quantity, st.opened_us, st.count.as_ref().unwrap().book_at), (3.0, None, 3.0));
    }

    #[test]
    fn counts_see_the_book_as_of_their_time_whatever_the_arrival_order() {
        let mut b = InventoryBook::default();
        b.apply(1, 100, &[mv(10.0)], None);
        b.apply(2, 400, &[mv(-1.0)], None); // after the count, arrives before it
        b.apply(3, 300, &[], Some(&count(7.0)));
        b.apply(4, 200, &[mv(-2.0)], None); // before the count, arrives after it
        let st = b.get(&place()).unwrap();
        assert_eq!(st.quantity, 7.0);
        let c = st.count.as_ref().unwrap();
        assert_eq!(c.book_at, 8.0, "10 - 2, not counting the move at 400");
        assert!(!c.approximate);
        // An older count arriving late does not replace the newer one.
        b.apply(5, 250, &[], Some(&count(99.0)));
        assert_eq!(b.get(&place()).unwrap().count.as_ref().unwrap().seq, 3);
    }

    proptest::proptest! {
        /// Whatever the arrival order, book_at equals the sum of the
        /// movements that occurred at or before the count.
        #[test]
        fn book_at_is_order_independent(moves in proptest::collection::vec((0i64..1000, -5i32..6), 1..40), t in 0i64..1000, shuffle in proptest::collection::vec(0usize..1000, 40)) {
            let mut order: Vec<usize> = (0..=moves.len()).collect();
            for (i, s) in shuffle.iter().enumerate().take(order.len()) {
                let j = s % order.len();
                order.swap(i, j);
            }
            let mut b = InventoryBook::default();
            for (seq, &k) in order.iter().enumerate() {
                if k == moves.len() {
                    b.apply(seq as i64, t, &[], Some(&count(0.0)));
                } else {
                    let (at, d) = moves[k];
                    b.apply(seq as i64, at, &[mv(f64::from(d))], None);
                }
            }
            let st = b.get(&place()).unwrap();
            let after: f64 = moves.iter().filter(|(at, _)| *at > t).map(|(_, d)| f64::from(*d)).sum();
            if order[0] == moves.len() {
                // The count came first: it opened the place. Its book is the
                // count; only what occurred after it moves the book.
                proptest::prop_assert_eq!(st.count.as_ref().unwrap().book_at, 0.0);
                proptest::prop_assert_eq!(st.quantity, after);
            } else {
                let want: f64 = moves.iter().filter(|(at, _)| *at <= t).map(|(_, d)| f64::from(*d)).sum();
                proptest::prop_assert_eq!(st.count.as_ref().unwrap().book_at, want);
                proptest::prop_assert_eq!(st.quantity, moves.iter().map(|(_, d)| f64::from(*d)).sum::<f64>());
            }
        }
    }
}
