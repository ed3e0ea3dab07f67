//! Inventory book maths: how each inventory event moves quantities.
//!
//! The book is perpetual: the quantity at (site, location, SKU) is the sum of
//! the movements there. Besides its storage locations, each site has two
//! *in-transit states*, kept as book lines at reserved locations
//! ([`Pool::Received`] `@received`, [`Pool::Picked`] `@picked`): units
//! received and not yet put away, units picked and not yet shipped. A
//! receipt lands units in the first, a pick in the second; a put-away or a
//! shipment takes them from the place it names as far as the book holds
//! them there, then from the state's places, and a pick from a bin the book
//! never saw takes them from the received state, so that no unit is counted
//! twice whatever locations a feed names (see [`Flow`]).
//!
//! Counts do not move stock; they are observations that the book is
//! compared against (see [`Observation`]), and the variance of a count is
//! `counted - book as of the count's time`, with two exceptions that set the
//! book instead: an opening count ([`CountType::Opening`](crate::CountType)),
//! and the first count of a place where nothing moved before it. Under a site's
//! count-correction policy a count also corrects the book, recorded on the
//! count as its own derived adjustment. Only adjustments (approved or not)
//! change the book without a physical movement. `docs/BOOK.md` states the
//! rules.

use crate::event::{CountType, Event, EventBody};
use crate::ids::{LocationId, SiteId, Sku};

/// A site's in-transit states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pool {
    /// Received, not yet put away.
    Received,
    /// Picked, not yet shipped.
    Picked,
}

impl Pool {
    /// The reserved location of the state's own book line.
    pub const fn location(self) -> &'static str {
        match self {
            Pool::Received => "@received",
            Pool::Picked => "@picked",
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Pool::Received => "received",
            Pool::Picked => "picked",
        }
    }

    pub fn from_name(s: &str) -> Option<Pool> {
        match s {
            "received" => Some(Pool::Received),
            "picked" => Some(Pool::Picked),
            _ => None,
        }
    }

    fn location_id(self) -> LocationId {
        LocationId::new(self.location()).unwrap_or_else(|_| unreachable!("reserved ids are valid"))
    }
}

/// How a movement meets the in-transit states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flow {
    /// Exactly at the place named.
    #[default]
    Exact,
    /// Units land in the state at the place named (a receipt, a pick): the
    /// place is one of the state's places from then on.
    Lands(Pool),
    /// A withdrawal (negative delta) taken from the place named as far as
    /// the book holds the SKU there, then from the state's places (its own
    /// line first, then the places units landed in, by location id); what
    /// none of them holds is booked at the place named (the line goes
    /// negative, showing that more left than the book saw arrive, until the
    /// arrival the book has not seen yet settles it). A shipment never takes
    /// from the received state: a shipment that arrives before its pick
    /// would take the wrong goods.
    Draws(Pool),
    /// A withdrawal (a pick) booked exactly at the place named when the book
    /// has seen that place (it goes negative rather than guess, and a late
    /// movement there sets it right whatever the arrival order); a place the
    /// book never saw (a feed that sends no put-away) draws from the state
    /// as [`Flow::Draws`] does.
    FromKnown(Pool),
}

/// A change of quantity at one place.
#[derive(Debug, Clone, PartialEq)]
pub struct Movement {
    pub site: SiteId,
    pub location: LocationId,
    pub sku: Sku,
    pub delta: f64,
    pub flow: Flow,
}

/// A count: what was found at one place.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub site: SiteId,
    pub location: LocationId,
    pub sku: Sku,
    pub counted: f64,
    /// An opening balance: sets the book at its time, with no variance.
    pub opening: bool,
}

/// The movements an event makes in the book (none for non-inventory events).
pub fn movements(ev: &Event) -> Vec<Movement> {
    let m = |location: LocationId, sku: &Sku, delta: f64, flow: Flow| Movement {
        site: ev.site.clone(),
        location,
        sku: sku.clone(),
        delta,
        flow,
    };
    let or_pool = |l: &Option<LocationId>, pool: Pool| l.clone().unwrap_or_else(|| pool.location_id());
    match &ev.body {
        EventBody::InventoryReceived(r) | EventBody::InventoryReturned(r) => {
            vec![m(or_pool(&r.to_location, Pool::Received), &r.sku, r.quantity, Flow::Lands(Pool::Received))]
        }
        EventBody::InventoryPutAway(t) => vec![
            m(or_pool(&t.from_location, Pool::Received), &t.sku, -t.quantity, Flow::Draws(Pool::Received)),
            m(t.to_location.clone(), &t.sku, t.quantity, Flow::Exact),
        ],
        EventBody::InventoryMoved(t) => vec![
            m(or_pool(&t.from_location, Pool::Received), &t.sku, -t.quantity, Flow::Exact),
            m(t.to_location.clone(), &t.sku, t.quantity, Flow::Exact),
        ],
        EventBody::InventoryPicked(p) => vec![
            m(p.from_location.clone(), &p.sku, -p.quantity, Flow::FromKnown(Pool::Received)),
            m(or_pool(&p.to_location, Pool::Picked), &p.sku, p.quantity, Flow::Lands(Pool::Picked)),
        ],
        EventBody::InventoryShipped(s) => {
            vec![m(or_pool(&s.from_location, Pool::Picked), &s.sku, -s.quantity, Flow::Draws(Pool::Picked))]
        }
        EventBody::InventoryAdjusted(a) => vec![m(a.location.clone(), &a.sku, a.delta, Flow::Exact)],
        EventBody::InventoryScrapped(s) => vec![m(s.from_location.clone(), &s.sku, -s.quantity, Flow::Exact)],
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
            opening: c.count_type == CountType::Opening,
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Place {
    pub site: String,
    pub location: String,
    pub sku: String,
}

/// The latest count at a place and the book as of the count's time.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// Under the site's count-correction policy, the derived adjustment
    /// this count made to the book (`counted - book_at`; the variance is
    /// kept as it was). None: the count only reports.
    pub correction: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlaceState {
    pub quantity: f64,
    /// Movements within the horizon: (occurred_us, delta), unordered.
    pub recent: Vec<(i64, f64)>,
    pub count: Option<CountState>,
    /// When an opening balance was set here (an opening count, or the
    /// first count of a place where nothing moved before it), that count's
    /// time: movements that occurred at or before it (arriving late) are
    /// already in it and move nothing.
    pub opened_us: Option<i64>,
    /// The time of the latest count that corrected the book here (under the
    /// site's policy) before the current count: a movement that occurred at
    /// or before it (arriving late) is in what that count found, so it
    /// moves nothing and that count's correction, in `corrected`, shrinks
    /// by it.
    pub settled_us: Option<i64>,
    /// The in-transit state this place holds units of: its own line, or a
    /// place named by a receipt or pick.
    pub holds: Option<Pool>,
    /// The sum of the derived adjustments counts made here under the
    /// site's count-correction policy.
    pub corrected: f64,
    /// The earliest time of a movement applied here: a count before it (or
    /// at a place with none) opens the place, whatever the arrival order.
    pub first_us: Option<i64>,
}

/// The perpetual inventory book, kept in memory and fed in acceptance order.
///
/// Invariants: `quantity` is the sum of every movement applied at a place
/// (and of the derived corrections, and reset by opening balances); a
/// count's `book_at` is the sum of the movements that occurred at or before
/// its time, for movements within `horizon_us` of the newest time seen at
/// that place (late and early arrivals both handled; another place's later
/// events do not shorten it). Movements older than the horizon are folded
/// into `quantity` and forgotten individually. Draws from the
/// in-transit states see the book as it stands when the event is applied,
/// so the result depends only on the commit order (a rebuild gives the same
/// book).
#[derive(Debug, Clone)]
pub struct InventoryBook {
    /// Place key (`site\x1flocation\x1fsku`) to slot: looked up with a
    /// reused buffer, so a known place costs no allocation.
    slots: std::collections::HashMap<String, usize>,
    places: Vec<Place>,
    states: Vec<PlaceState>,
    /// Per slot, the newest movement time seen there (the newest of its
    /// `recent`, which is always kept): the place's horizon starts from it.
    newest: Vec<i64>,
    key: String,
    /// (site, SKU, state) to the slots holding units of that state, the
    /// state's own line first, then by location id.
    pools: std::collections::HashMap<(String, String, Pool), Vec<usize>>,
    /// Sites whose counts correct the book, from that time (microseconds).
    corrects_from: std::collections::HashMap<String, i64>,
    horizon_us: i64,
}

/// Default horizon for late events: 7 days.
pub const DEFAULT_HORIZON_US: i64 = 7 * 24 * 3600 * 1_000_000;

/// Quantities below this are nothing (whole units are the norm; this keeps
/// float residue from leaving a draw half-done).
const NOTHING: f64 = 1e-9;

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
            newest: Vec::new(),
            key: String::new(),
            pools: Default::default(),
            corrects_from: Default::default(),
            horizon_us,
        }
    }

    /// A site's count-correction policy: from `from_us` on, a count that
    /// disagrees with the book also corrects it (as WMSs do), recorded on
    /// the count as a derived adjustment; None: counts only report.
    pub fn set_count_correction(&mut self, site: &str, from_us: Option<i64>) {
        match from_us {
            Some(t) => self.corrects_from.insert(site.to_owned(), t),
            None => self.corrects_from.remove(site),
        };
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

    /// The slot of a place the book has seen (a movement or a count).
    fn find(&mut self, site: &str, location: &str, sku: &str) -> Option<usize> {
        self.fill_key(site, location, sku);
        self.slots.get(self.key.as_str()).copied()
    }

    /// The slot of a place, created if new.
    fn slot(&mut self, site: &str, location: &str, sku: &str) -> usize {
        if let Some(slot) = self.find(site, location, sku) {
            return slot;
        }
        let slot = self.places.len();
        self.slots.insert(self.key.clone(), slot);
        self.places.push(Place { site: site.to_owned(), location: location.to_owned(), sku: sku.to_owned() });
        self.states.push(PlaceState::default());
        self.newest.push(i64::MIN);
        slot
    }

    /// Makes a place one of the places holding units of a state.
    fn join(&mut self, slot: usize, pool: Pool) {
        if self.states[slot].holds == Some(pool) {
            return;
        }
        if let Some(old) = self.states[slot].holds.replace(pool) {
            let p = &self.places[slot];
            if let Some(v) = self.pools.get_mut(&(p.site.clone(), p.sku.clone(), old)) {
                v.retain(|&s| s != slot);
            }
        }
        self.index(slot, pool);
    }

    fn index(&mut self, slot: usize, pool: Pool) {
        let order = |p: &Place| (p.location != pool.location(), p.location.clone());
        let p = &self.places[slot];
        let key = order(p);
        let list = self.pools.entry((p.site.clone(), p.sku.clone(), pool)).or_default();
        let at = list.partition_point(|&s| order(&self.places[s]) < key);
        if list.get(at) != Some(&slot) {
            list.insert(at, slot);
        }
    }

    /// Books one movement at a slot.
    fn book(&mut self, slot: usize, occurred_us: i64, delta: f64) {
        let horizon = self.horizon_us;
        let st = &mut self.states[slot];
        if st.opened_us.is_some_and(|opened| occurred_us <= opened) {
            // Already in the opening balance.
            return;
        }
        if st.settled_us.is_some_and(|settled| occurred_us <= settled) {
            // Already in what a correcting count found.
            st.corrected -= delta;
            return;
        }
        if let Some(c) = &mut st.count
            && occurred_us <= c.occurred_us
        {
            // A movement from before the count that arrived after it.
            c.book_at += delta;
            if let Some(v) = &mut c.correction {
                // The count set the book; this movement is already in what
                // it found, so its correction absorbs it.
                *v -= delta;
                st.corrected -= delta;
                return;
            }
        }
        st.quantity += delta;
        st.first_us = Some(st.first_us.map_or(occurred_us, |t| t.min(occurred_us)));
        // The horizon is the place's own: movements within it of the newest
        // one seen here are kept one by one (another place's later events
        // do not push this one's out).
        let newest = &mut self.newest[slot];
        *newest = (*newest).max(occurred_us);
        let floor = newest.saturating_sub(horizon);
        if occurred_us >= floor {
            st.recent.push((occurred_us, delta));
        }
        if st.recent.len() > 64 && st.recent.len().is_power_of_two() {
            st.recent.retain(|(t, _)| *t >= floor);
        }
    }

    /// What a slot can give to a draw at a time.
    fn available(&self, slot: usize, occurred_us: i64) -> f64 {
        let st = &self.states[slot];
        if st.opened_us.max(st.settled_us).is_some_and(|t| occurred_us <= t) {
            return 0.0;
        }
        st.quantity.max(0.0)
    }

    /// A withdrawal that may come from an in-transit state (see [`Flow::Draws`]).
    fn draw(&mut self, m: &Movement, pool: Pool, occurred_us: i64, touched: &mut Vec<usize>) {
        let (site, location, sku) = (m.site.as_str(), m.location.as_str(), m.sku.as_str());
        let mut left = -m.delta;
        let named = self.find(site, location, sku);
        let mut candidates: Vec<usize> = named.into_iter().collect();
        if let Some(list) = self.pools.get(&(site.to_owned(), sku.to_owned(), pool)) {
            candidates.extend(list.iter().filter(|s| Some(**s) != named));
        }
        for slot in candidates {
            if left <= NOTHING {
                break;
            }
            let take = left.min(self.available(slot, occurred_us));
            if take > NOTHING {
                self.book(slot, occurred_us, -take);
                touched.push(slot);
                left -= take;
            }
        }
        if left > NOTHING {
            let slot = self.slot(site, location, sku);
            if location == pool.location() {
                self.join(slot, pool);
            }
            self.book(slot, occurred_us, -left);
            touched.push(slot);
        }
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
        let mut touched = Vec::with_capacity(movements.len() + 1);
        for m in movements {
            match m.flow {
                Flow::Draws(pool) if m.delta < 0.0 => self.draw(m, pool, occurred_us, &mut touched),
                Flow::FromKnown(pool)
                    if m.delta < 0.0 && self.find(m.site.as_str(), m.location.as_str(), m.sku.as_str()).is_none() =>
                {
                    self.draw(m, pool, occurred_us, &mut touched)
                }
                flow => {
                    let slot = self.slot(m.site.as_str(), m.location.as_str(), m.sku.as_str());
                    if let Flow::Lands(pool) = flow {
                        self.join(slot, pool);
                    }
                    self.book(slot, occurred_us, m.delta);
                    touched.push(slot);
                }
            }
        }
        if let Some(o) = observation {
            let corrects = self.corrects_from.get(o.site.as_str()).is_some_and(|&from| occurred_us >= from);
            let slot = self.slot(o.site.as_str(), o.location.as_str(), o.sku.as_str());
            let st = &mut self.states[slot];
            // Movements that happened after the count but arrived before it.
            let after: f64 = st.recent.iter().filter(|(t, _)| *t > occurred_us).map(|(_, d)| d).sum();
            let newer = st.count.as_ref().is_none_or(|c| (occurred_us, seq) > (c.occurred_us, c.seq));
            // The first count of a place where nothing moved before it (the
            // place never seen, or seen only through movements after the
            // count that arrived first) opens it.
            let first = st.count.is_none() && st.opened_us.is_none() && st.first_us.is_none_or(|t| t > occurred_us);
            if o.opening || first {
                // An opening balance: the book takes it, with no variance.
                // Everything applied here so far came after a first count.
                st.quantity = o.counted + if first { st.quantity } else { after };
                st.opened_us = Some(st.opened_us.map_or(occurred_us, |t| t.max(occurred_us)));
                if newer {
                    st.count = Some(CountState {
                        seq,
                        occurred_us,
                        counted: o.counted,
                        book_at: o.counted,
                        approximate: false,
                        correction: None,
                    });
                }
            } else if newer {
                if let Some(old) = st.count.as_ref().filter(|c| c.correction.is_some()) {
                    // The count this one replaces set the book: what occurred
                    // at or before it is in what it found, for good (a late
                    // movement from then changes neither this count's book nor
                    // the book).
                    st.settled_us = Some(st.settled_us.map_or(old.occurred_us, |t| t.max(old.occurred_us)));
                }
                let book_at = st.quantity - after;
                let floor_here = self.newest[slot].saturating_sub(self.horizon_us);
                let correction = corrects.then_some(o.counted - book_at);
                if let Some(v) = correction {
                    st.quantity += v;
                    st.corrected += v;
                }
                st.count = Some(CountState {
                    seq,
                    occurred_us,
                    counted: o.counted,
                    book_at,
                    approximate: occurred_us < floor_here,
                    correction,
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
        let slot = self.slot(&place.site, &place.location, &place.sku);
        self.newest[slot] = state.recent.iter().map(|(t, _)| *t).max().unwrap_or(i64::MIN);
        let holds = state.holds;
        self.states[slot] = state;
        if let Some(pool) = holds {
            self.index(slot, pool);
        }
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
            flow: Flow::Exact,
        }
    }

    fn count(n: f64) -> Observation {
        Observation {
            site: SiteId::new("S").unwrap(),
            location: LocationId::new("BIN").unwrap(),
            sku: Sku::new("K").unwrap(),
            counted: n,
            opening: false,
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
            let count_at = order.iter().position(|&k| k == moves.len()).unwrap();
            let opened = order[..count_at].iter().all(|&k| moves[k].0 > t);
            if opened {
                // Nothing that occurred at or before the count arrived before
                // it: it opened the place. Its book is the count; only what
                // occurred after it moves the book.
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

/// The stock-flow model: each row of the table in `docs/BOOK.md`, held.
#[cfg(test)]
mod flow_tests {
    use super::*;

    /// Applies canonical events (the `kind` and body fields of each) in order.
    fn run(book: &mut InventoryBook, events: &[(i64, &str)]) {
        for (i, (at, body)) in events.iter().enumerate() {
            let json = format!(
                r#"{{"id":"e{i}","source":"wms","site":"S","occurred_at":"{}","sku":"K",{body}}}"#,
                chrono::DateTime::from_timestamp(*at, 0).unwrap().to_rfc3339()
            );
            let ev = Event::from_json(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"));
            book.apply(i as i64 + 1, ev.occurred_us(), &movements(&ev), observation(&ev).as_ref());
        }
    }

    fn lines(book: &InventoryBook) -> Vec<(String, f64)> {
        book.places()
            .into_iter()
            .filter(|(_, s)| s.quantity != 0.0)
            .map(|(p, s)| (p.location.clone(), s.quantity))
            .collect()
    }

    fn book_of(events: &[(i64, &str)]) -> Vec<(String, f64)> {
        let mut b = InventoryBook::default();
        run(&mut b, events);
        lines(&b)
    }

    const RECEIVE_AT_SITE: &str = r#""kind":"inventory.received","quantity":10"#;
    const RECEIVE_AT_DOCK: &str = r#""kind":"inventory.received","quantity":10,"to_location":"DOCK""#;
    const PUT_AWAY: &str = r#""kind":"inventory.put_away","quantity":10,"to_location":"BIN""#;
    const PUT_AWAY_FROM_DOCK: &str =
        r#""kind":"inventory.put_away","quantity":10,"from_location":"DOCK","to_location":"BIN""#;
    const PICK: &str = r#""kind":"inventory.picked","quantity":4,"from_location":"BIN""#;
    const PICK_TO_PACK: &str = r#""kind":"inventory.picked","quantity":4,"from_location":"BIN","to_location":"PACK""#;
    const SHIP: &str = r#""kind":"inventory.shipped","quantity":4"#;
    const SHIP_FROM_DOCK: &str = r#""kind":"inventory.shipped","quantity":4,"from_location":"DOCK""#;
    const SHIP_FROM_BIN: &str = r#""kind":"inventory.shipped","quantity":4,"from_location":"BIN""#;

    fn at(v: &[(&str, f64)]) -> Vec<(String, f64)> {
        v.iter().map(|(l, q)| (l.to_string(), *q)).collect()
    }

    #[test]
    fn receipts_land_in_the_received_state_or_the_place_named() {
        assert_eq!(book_of(&[(1, RECEIVE_AT_SITE)]), at(&[("@received", 10.0)]));
        assert_eq!(book_of(&[(1, RECEIVE_AT_DOCK)]), at(&[("DOCK", 10.0)]));
    }

    #[test]
    fn put_away_without_a_source_empties_the_received_state() {
        assert_eq!(book_of(&[(1, RECEIVE_AT_SITE), (2, PUT_AWAY)]), at(&[("BIN", 10.0)]));
        // Received at a named dock: the dock is one of the state's places.
        assert_eq!(book_of(&[(1, RECEIVE_AT_DOCK), (2, PUT_AWAY)]), at(&[("BIN", 10.0)]));
        // With its source, from the source.
        assert_eq!(book_of(&[(1, RECEIVE_AT_DOCK), (2, PUT_AWAY_FROM_DOCK)]), at(&[("BIN", 10.0)]));
        // A source that does not hold the goods (received at site level): the state gives them.
        assert_eq!(book_of(&[(1, RECEIVE_AT_SITE), (2, PUT_AWAY_FROM_DOCK)]), at(&[("BIN", 10.0)]));
    }

    #[test]
    fn picks_go_to_the_picked_state_and_shipments_take_from_it_once() {
        let flow = [(1, RECEIVE_AT_SITE), (2, PUT_AWAY), (3, PICK)];
        assert_eq!(book_of(&flow), at(&[("@picked", 4.0), ("BIN", 6.0)]));
        // Shipped from the dock with nothing booked there, or with no location: from picked.
        for ship in [SHIP, SHIP_FROM_DOCK] {
            let mut b = flow.to_vec();
            b.push((4, ship));
            assert_eq!(book_of(&b), at(&[("BIN", 6.0)]), "{ship}");
        }
        // Picked to a named pack station: the shipment finds them there.
        assert_eq!(
            book_of(&[(1, RECEIVE_AT_SITE), (2, PUT_AWAY), (3, PICK_TO_PACK), (4, SHIP_FROM_DOCK)]),
            at(&[("BIN", 6.0)])
        );
    }

    #[test]
    fn shipments_with_no_pick_take_from_the_bin_named_and_never_from_receiving() {
        assert_eq!(book_of(&[(1, RECEIVE_AT_SITE), (2, PUT_AWAY), (3, SHIP_FROM_BIN)]), at(&[("BIN", 6.0)]));
        // Shipped with no pick and nothing at the place named: the book does
        // not guess from receiving (a shipment that arrives before its pick
        // would take the wrong goods); it shows the shortfall, and the
        // received goods still waiting.
        assert_eq!(book_of(&[(1, RECEIVE_AT_SITE), (2, SHIP)]), at(&[("@picked", -4.0), ("@received", 10.0)]));
        // The pick arriving after the shipment settles it.
        assert_eq!(book_of(&[(1, RECEIVE_AT_SITE), (2, PUT_AWAY), (4, SHIP), (3, PICK)]), at(&[("BIN", 6.0)]));
        // A pick from a bin the book has nothing in takes what is still in receiving.
        assert_eq!(book_of(&[(1, RECEIVE_AT_SITE), (2, PICK), (3, SHIP)]), at(&[("@received", 6.0)]));
    }

    #[test]
    fn what_left_without_arriving_shows_as_a_negative_line() {
        assert_eq!(book_of(&[(1, SHIP_FROM_DOCK)]), at(&[("DOCK", -4.0)]));
        assert_eq!(book_of(&[(1, SHIP)]), at(&[("@picked", -4.0)]));
        // Partly covered: what the picked state holds, then the rest at the place named.
        assert_eq!(
            book_of(&[(1, r#""kind":"inventory.picked","quantity":3,"from_location":"BIN""#), (2, SHIP_FROM_DOCK)]),
            at(&[("BIN", -3.0), ("DOCK", -1.0)])
        );
    }

    #[test]
    fn the_total_on_site_is_receipts_minus_shipments_whatever_the_combination() {
        let receipts = [RECEIVE_AT_SITE, RECEIVE_AT_DOCK];
        let puts = [None, Some(PUT_AWAY), Some(PUT_AWAY_FROM_DOCK)];
        let picks = [None, Some(PICK), Some(PICK_TO_PACK)];
        let ships = [SHIP, SHIP_FROM_DOCK, SHIP_FROM_BIN];
        for r in receipts {
            for p in puts {
                for k in picks {
                    for s in ships {
                        let mut ev = vec![(1, r)];
                        ev.extend(p.map(|p| (2, p)));
                        ev.extend(k.map(|k| (3, k)));
                        ev.push((4, s));
                        let b = book_of(&ev);
                        assert_eq!(b.iter().map(|(_, q)| q).sum::<f64>(), 6.0, "{ev:?}: {b:?}");
                        let negative: Vec<_> = b.iter().filter(|(_, q)| *q < 0.0).collect();
                        // Never picked: a shipment takes from the place it
                        // names as far as it holds the goods, and shows the
                        // rest there (the book does not guess where from).
                        let short = match (k, s) {
                            (Some(_), _) => None,
                            (None, s) if s == SHIP_FROM_BIN => p.is_none().then_some("BIN"),
                            (None, s) if s == SHIP_FROM_DOCK => {
                                (!(r == RECEIVE_AT_DOCK && p.is_none())).then_some("DOCK")
                            }
                            (None, _) => Some("@picked"),
                        };
                        if let Some(from) = short {
                            assert_eq!(negative, [&(from.to_string(), -4.0)], "{ev:?}");
                        } else {
                            assert!(negative.is_empty(), "no negative line: {ev:?}: {b:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_restored_book_draws_as_the_live_one_does() {
        let first = [(1, RECEIVE_AT_DOCK), (2, r#""kind":"inventory.received","quantity":5,"to_location":"ADOCK""#)];
        let mut live = InventoryBook::default();
        run(&mut live, &first);
        let mut restored = InventoryBook::default();
        for (p, s) in live.places().into_iter().rev() {
            restored.restore(p.clone(), s.clone());
        }
        for b in [&mut live, &mut restored] {
            run(b, &[(3, r#""kind":"inventory.put_away","quantity":7,"to_location":"BIN""#)]);
        }
        assert_eq!(lines(&live), lines(&restored));
        assert_eq!(lines(&live), at(&[("BIN", 7.0), ("DOCK", 8.0)]), "by location id: ADOCK first");
    }

    /// Exports loaded in any order give the same book: a stock-take loaded
    /// after the adjustments that followed it still opens the bins, and a
    /// pick that relied on stock found later is set right when the finding
    /// arrives.
    #[test]
    fn the_load_order_of_exports_does_not_change_the_book() {
        let stock_take = r#""kind":"inventory.counted","quantity":10,"location":"BIN","count_type":"full""#;
        let found = r#""kind":"inventory.adjusted","delta":3,"reason":"found","location":"BIN""#;
        let pick = r#""kind":"inventory.picked","quantity":12,"from_location":"BIN""#;
        let in_time_order = book_of(&[(1, stock_take), (2, found), (3, pick)]);
        assert_eq!(in_time_order, at(&[("@picked", 12.0), ("BIN", 1.0)]));
        for order in [[(2, found), (1, stock_take), (3, pick)], [(1, stock_take), (3, pick), (2, found)]] {
            assert_eq!(book_of(&order), in_time_order, "{order:?}");
        }
        let mut b = InventoryBook::default();
        run(&mut b, &[(2, found), (1, stock_take)]);
        let st = b.get(&Place { site: "S".into(), location: "BIN".into(), sku: "K".into() }).unwrap().clone();
        let c = st.count.unwrap();
        assert_eq!((c.counted, c.book_at, st.quantity), (10.0, 10.0, 13.0), "the stock-take opened the bin");
    }

    #[test]
    fn an_opening_count_sets_the_book_whatever_it_held() {
        let opening = r#""kind":"inventory.counted","quantity":50,"location":"BIN","count_type":"opening""#;
        let mut b = InventoryBook::default();
        run(&mut b, &[(1, RECEIVE_AT_SITE), (2, PUT_AWAY), (5, opening), (6, PICK)]);
        let st = b.get(&Place { site: "S".into(), location: "BIN".into(), sku: "K".into() }).unwrap().clone();
        assert_eq!(st.quantity, 46.0);
        let c = st.count.unwrap();
        assert_eq!((c.counted, c.book_at, c.correction), (50.0, 50.0, None), "no variance");
        // A movement from before it, arriving late, is already in it.
        run(&mut b, &[(3, r#""kind":"inventory.adjusted","delta":-5,"reason":"damage","location":"BIN""#)]);
        assert_eq!(b.get(&Place { site: "S".into(), location: "BIN".into(), sku: "K".into() }).unwrap().quantity, 46.0);
    }

    #[test]
    fn under_a_correction_policy_a_count_corrects_the_book_and_keeps_its_variance() {
        let count = r#""kind":"inventory.counted","quantity":7,"location":"BIN","count_type":"cycle""#;
        let bin = Place { site: "S".into(), location: "BIN".into(), sku: "K".into() };
        let mut b = InventoryBook::default();
        b.set_count_correction("S", Some(3_000_000));
        run(&mut b, &[(1, RECEIVE_AT_SITE), (2, PUT_AWAY), (4, count)]);
        let st = b.get(&bin).unwrap().clone();
        let c = st.count.clone().unwrap();
        assert_eq!((c.counted, c.book_at, c.correction), (7.0, 10.0, Some(-3.0)), "variance -3 kept");
        assert_eq!((st.quantity, st.corrected), (7.0, -3.0));
        // A movement from before the count arriving late: the count found
        // what it left, so the book stays at the count and the correction shrinks.
        run(&mut b, &[(3, r#""kind":"inventory.adjusted","delta":-2,"reason":"damage","location":"BIN""#)]);
        let st = b.get(&bin).unwrap().clone();
        assert_eq!((st.quantity, st.corrected, st.count.unwrap().correction), (7.0, -1.0, Some(-1.0)));
        // A second correcting count: a movement from before the first, or
        // between the two, arriving late, is in what they found.
        let recount = r#""kind":"inventory.counted","quantity":9,"location":"BIN","count_type":"cycle""#;
        run(
            &mut b,
            &[(6, recount), (3, r#""kind":"inventory.adjusted","delta":-1,"reason":"damage","location":"BIN""#)],
        );
        let st = b.get(&bin).unwrap().clone();
        let c = st.count.clone().unwrap();
        assert_eq!((st.quantity, c.book_at, c.correction), (9.0, 7.0, Some(2.0)), "the earlier count absorbed it");
        assert_eq!(st.corrected, 2.0, "-3 + 1 (the first count absorbed -2, then -1) + 2");
        run(&mut b, &[(5, r#""kind":"inventory.adjusted","delta":1,"reason":"found","location":"BIN""#)]);
        let st = b.get(&bin).unwrap().clone();
        let c = st.count.clone().unwrap();
        assert_eq!((st.quantity, c.book_at, c.correction), (9.0, 8.0, Some(1.0)), "between the two: this count's");
        assert_eq!(st.corrected, 1.0);
        // Before the policy's start, counts only report.
        let mut b = InventoryBook::default();
        b.set_count_correction("S", Some(10_000_000));
        run(&mut b, &[(1, RECEIVE_AT_SITE), (2, PUT_AWAY), (4, count)]);
        let st = b.get(&bin).unwrap().clone();
        assert_eq!((st.quantity, st.corrected, st.count.unwrap().correction), (10.0, 0.0, None));
    }
}
