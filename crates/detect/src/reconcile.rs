//! Inventory reconciliation and attribution: the detector keeps its own
//! perpetual book (the model's [`InventoryBook`], fed the same movements and
//! counts as the stored one), and when a count finds fewer units than the
//! book held by more than the tolerance, it names who and what could
//! explain the gap: the people and credentials who entered the count's zone
//! or took stock out of that place, the doors of the zone forced or held
//! open, and the hours that concentrate them, between the last good count
//! of that place and this one.
//!
//! Scoring (documented in docs/DETECTION.md): routine entries into the zone
//! (in working hours, or early arrivals on the floor) weigh `ln(1 + n)` for
//! `n` entries, and each after-hours entry into a secure zone (high-value
//! cage, IT/OT room) 4; taking the
//! counted SKU out of the counted place weighs 3 (6 after hours), an
//! unapproved write-down there 8 and an approved one 4; a door alarm into
//! the zone weighs 3 (6 after hours) for its door. Time windows are the
//! hours holding after-hours presence, alarms or stock taken out.
//!
//! Invariants: pure and deterministic (events in seq order in, the same
//! findings out); the book follows the model's rules exactly, so its
//! `book_at` is the stored book's; a finding cites only events of the
//! window it explains; state is bounded by [`HORIZON_S`] per zone.

use crate::alert::{Alert, Entity, EventKey};
use crate::context::{Enriched, Fact, Reference};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use stockade_model::book::{self, InventoryBook, Place, PlaceState};
use stockade_model::event::{EntityType, Event, EventBody};
use stockade_model::reference::ReferenceData;

/// The model's name, as alerts cite it in place of a rule.
pub const MODEL: &str = "inventory-count-shortage";
/// How far back presence is kept per zone (and the longest window explained).
pub const HORIZON_S: i64 = 14 * 86_400;
/// A shortage beyond tolerance: at least this many units...
pub const MIN_UNITS: f64 = 2.0;
/// ...and at least this share of what the book held.
pub const MIN_SHARE: f64 = 0.02;
/// The model's name for a line a full count left out and nobody made up.
pub const SKIP_MODEL: &str = "inventory-count-skipped";
/// A full count's sweep of a zone ends when no full count of it came for this long.
pub const SWEEP_GAP_S: i64 = 2 * 3600;
/// A line left out of a sweep and not counted within this long is reported.
pub const MAKE_UP_S: i64 = 12 * 3600;
/// A skipped line holding at least this value is high (else medium).
pub const SKIP_HIGH_VALUE: f64 = 5_000.0;
/// Suspects and windows reported per finding.
const TOP: usize = 5;
/// Events cited per suspect or window.
const CITED: usize = 8;

/// What an event tells about presence or stock leaving a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Act {
    /// A badge granted into the zone.
    Entry,
    /// A door of the zone forced, held open or unlocked by hand.
    DoorAlarm,
    /// Stock taken out of a place (picked, moved, put away, scrapped).
    Out,
    /// A write-down at a place.
    WriteDown { approved: bool },
}

/// One remembered act in a zone. (Tens of thousands are saved with the
/// state: what is absent, zero or false is left out of the saved form.)
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Trace {
    at: i64,
    act: Act,
    event: EventKey,
    /// Who: the person when known, else the credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    actor: Option<Entity>,
    /// The credential used, when it is not the actor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credential: Option<Entity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    door: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sku: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    units: f64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    after_hours: bool,
    /// The zone is secure (high-value cage, IT/OT room): presence there
    /// after hours is not routine, as arriving early on the floor is.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    secure: bool,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// Someone or something that could explain a shortage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suspect {
    /// `person`, `badge`, `account`, `api_key` or `door`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub score: f64,
    /// Credentials they used in the window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<Entity>,
    /// Why, in words.
    pub reasons: Vec<String>,
    /// Beyond routine: a secure zone entered or a door alarm after hours, or
    /// an unapproved write-down.
    pub stands_out: bool,
    /// The events behind it (the most telling first).
    pub events: Vec<EventKey>,
}

/// An hour that concentrates what could explain a shortage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub from: DateTime<FixedOffset>,
    pub to: DateTime<FixedOffset>,
    pub score: f64,
    pub events: Vec<EventKey>,
}

/// A shortage and who and what could explain it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    pub location: String,
    pub zone: Option<String>,
    pub sku: String,
    /// What the book held at the count's time.
    pub book: f64,
    pub counted: f64,
    /// Units missing.
    pub shortage: f64,
    /// Units missing times the SKU's unit value (0 when unknown).
    pub value: f64,
    /// The span explained: from the last good count of the place (or the
    /// horizon) to this count.
    pub since: DateTime<FixedOffset>,
    pub until: DateTime<FixedOffset>,
    /// Ranked, highest score first.
    pub suspects: Vec<Suspect>,
    pub windows: Vec<Window>,
    /// Something beyond routine stands out: a secure zone entered after
    /// hours, a door alarm after hours, or an unapproved write-down at the
    /// place.
    pub telling: bool,
}

/// The reconciler's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Reconciler {
    /// The book, saved as its places (rebuilt by [`Reconciler::thaw`]).
    places: Vec<(Place, PlaceState)>,
    #[serde(skip)]
    book: InventoryBook,
    /// Per `site\x1fzone`, acts in arrival order within [`HORIZON_S`].
    trails: BTreeMap<String, VecDeque<Trace>>,
    /// Per place key, the time of its last count within tolerance (or of
    /// its last shortage, which the next one is judged from).
    last_good: HashMap<String, i64>,
    /// Per place key, the shortage last reported (book, counted): a recount
    /// that finds the same gap before anything changed reports nothing new.
    reported: HashMap<String, (f64, f64)>,
    /// Per `site\x1fzone`, the full count under way.
    sweeps: BTreeMap<String, Sweep>,
    /// Per place key, a line a sweep left out, waiting to be made up.
    pending: BTreeMap<String, Pending>,
    /// Per place key, full counts in a row that left the line out.
    skipped_in_a_row: HashMap<String, u32>,
    /// Place keys reported as skipped and not counted since: reported once.
    skip_reported: std::collections::BTreeSet<String>,
    /// Lines reported since the last [`Reconciler::take_skipped`].
    #[serde(skip)]
    out: Vec<Skip>,
}

/// A full count of a zone under way: what the book held there when it
/// began, and what it has counted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Sweep {
    started: i64,
    last: i64,
    first_event: Option<EventKey>,
    last_event: Option<EventKey>,
    counter: Option<String>,
    /// (location, SKU) lines the book held in the zone.
    expected: Vec<(String, String)>,
    counted: std::collections::BTreeSet<(String, String)>,
}

/// A line left out of a sweep.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    site: String,
    zone: String,
    location: String,
    sku: String,
    units: f64,
    sweep_started: i64,
    due: i64,
    events: Vec<EventKey>,
    counter: Option<String>,
    in_a_row: u32,
}

/// A line of stock a full count left out, and nobody counted since.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skip {
    pub site: String,
    pub zone: String,
    pub location: String,
    pub sku: String,
    /// What the book holds there, and its value (0 when unknown).
    pub units: f64,
    pub value: f64,
    /// When the sweep that left it out began.
    pub sweep: DateTime<FixedOffset>,
    /// Full counts in a row that left it out.
    pub in_a_row: u32,
    /// When the wait for a make-up count ended: the detection time.
    pub due: DateTime<FixedOffset>,
    /// Who counted the rest of the zone.
    pub counter: Option<String>,
    /// The sweep's first and last counts.
    pub events: Vec<EventKey>,
}

fn key3(a: &str, b: &str, c: &str) -> String {
    format!("{a}\x1f{b}\x1f{c}")
}

fn ctx<'a>(enriched: &'a Enriched<'_>, name: &str) -> Option<&'a Fact<'a>> {
    enriched.facts().get(name)
}

fn at(us: i64, offset: FixedOffset) -> DateTime<FixedOffset> {
    DateTime::from_timestamp_micros(us).unwrap_or_default().with_timezone(&offset)
}

fn fmt_units(x: f64) -> String {
    if x.fract() == 0.0 { format!("{x:.0}") } else { format!("{x:.2}") }
}

impl Reconciler {
    /// Rebuilds the book from the saved places and applies the sites'
    /// count-correction policy (call after loading, and on new reference data).
    pub fn thaw(&mut self, reference: &ReferenceData) {
        if !self.places.is_empty() {
            let mut book = InventoryBook::default();
            for (p, s) in std::mem::take(&mut self.places) {
                book.restore(p, s);
            }
            self.book = book;
        }
        for s in &reference.sites {
            self.book.set_count_correction(s.id.as_str(), s.counts_correct_book_from.map(|t| t.timestamp_micros()));
        }
    }

    /// A copy to save: the book as its places.
    pub fn frozen(&self) -> Reconciler {
        Reconciler {
            places: self.book.places().into_iter().map(|(p, s)| (p.clone(), s.clone())).collect(),
            book: InventoryBook::default(),
            trails: self.trails.clone(),
            last_good: self.last_good.clone(),
            reported: self.reported.clone(),
            sweeps: self.sweeps.clone(),
            pending: self.pending.clone(),
            skipped_in_a_row: self.skipped_in_a_row.clone(),
            skip_reported: self.skip_reported.clone(),
            out: Vec::new(),
        }
    }

    /// Lines that full counts left out and nobody made up, since the last call.
    pub fn take_skipped(&mut self) -> Vec<Skip> {
        std::mem::take(&mut self.out)
    }

    /// Full-count coverage: opens a zone's sweep at its first full count,
    /// closes it after [`SWEEP_GAP_S`] without one, and reports each line
    /// the book held in the zone that it left out and that no count made up
    /// within [`MAKE_UP_S`] (once, until a count looks at the line again).
    fn cover(&mut self, seq: i64, event: &Event, reference: &Reference) {
        let now = event.occurred_at.timestamp_micros();
        let site = event.site.as_str();
        if let EventBody::InventoryCounted(c) = &event.body {
            let key = key3(site, c.location.as_str(), c.sku.as_str());
            self.pending.remove(&key);
            self.skip_reported.remove(&key);
            let full = c.count_type == stockade_model::event::CountType::Full;
            if let Some(zone) = reference.location_zone(c.location.as_str()) {
                let zkey = format!("{site}\x1f{zone}");
                // Any count during a sweep covers its line (a deferred line
                // counted straight after, by another kind of count).
                if !full {
                    if let Some(sw) = self.sweeps.get_mut(&zkey) {
                        sw.counted.insert((c.location.as_str().to_owned(), c.sku.as_str().to_owned()));
                    }
                } else if !self.sweeps.contains_key(&zkey) {
                    let expected = self
                        .book
                        .places()
                        .into_iter()
                        .filter(|(p, s)| {
                            p.site == site && s.quantity > 0.0 && reference.location_zone(&p.location) == Some(zone)
                        })
                        .map(|(p, _)| (p.location.clone(), p.sku.clone()))
                        .collect();
                    let sweep = Sweep { started: now, expected, ..Sweep::default() };
                    self.sweeps.insert(zkey.clone(), sweep);
                }
                if let (true, Some(sw)) = (full, self.sweeps.get_mut(&zkey)) {
                    sw.last = sw.last.max(now);
                    let k = EventKey::of(event, seq);
                    sw.first_event.get_or_insert_with(|| k.clone());
                    sw.last_event = Some(k);
                    if sw.counter.is_none() {
                        sw.counter = c.person.as_ref().map(|p| p.as_str().to_owned());
                    }
                    sw.counted.insert((c.location.as_str().to_owned(), c.sku.as_str().to_owned()));
                }
            }
        }
        // Most events come with no sweep under way and no line waiting.
        if self.sweeps.is_empty() && self.pending.is_empty() {
            return;
        }
        let prefix = format!("{site}\x1f");
        let ended: Vec<String> = self
            .sweeps
            .iter()
            .filter(|(k, s)| k.starts_with(&prefix) && now - s.last > SWEEP_GAP_S * 1_000_000)
            .map(|(k, _)| k.clone())
            .collect();
        for zkey in ended {
            let Some(sw) = self.sweeps.remove(&zkey) else { continue };
            let zone = zkey.split('\x1f').nth(1).unwrap_or_default().to_owned();
            let events: Vec<EventKey> = sw.first_event.iter().chain(sw.last_event.iter()).cloned().collect();
            for (location, sku) in &sw.expected {
                let key = key3(site, location, sku);
                if sw.counted.contains(&(location.clone(), sku.clone())) {
                    self.skipped_in_a_row.remove(&key);
                    continue;
                }
                let place = Place { site: site.to_owned(), location: location.clone(), sku: sku.clone() };
                let units = self.book.get(&place).map_or(0.0, |s| s.quantity);
                if units <= 0.0 {
                    continue;
                }
                let n = self.skipped_in_a_row.entry(key.clone()).or_default();
                *n += 1;
                let pending = Pending {
                    site: site.to_owned(),
                    zone: zone.clone(),
                    location: location.clone(),
                    sku: sku.clone(),
                    units,
                    sweep_started: sw.started,
                    due: sw.last + MAKE_UP_S * 1_000_000,
                    events: events.clone(),
                    counter: sw.counter.clone(),
                    in_a_row: *n,
                };
                self.pending.insert(key, pending);
            }
        }
        let due: Vec<String> = self
            .pending
            .iter()
            .filter(|(k, p)| k.starts_with(&prefix) && now >= p.due)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let Some(p) = self.pending.remove(&key) else { continue };
            // Once per line until a count looks at it again.
            if !self.skip_reported.insert(key) {
                continue;
            }
            let unit = reference.sku(&p.sku).map_or(0.0, |(v, _)| v);
            let offset = *event.occurred_at.offset();
            self.out.push(Skip {
                value: p.units * unit,
                sweep: at(p.sweep_started, offset),
                due: at(p.due, offset),
                site: p.site,
                zone: p.zone,
                location: p.location,
                sku: p.sku,
                units: p.units,
                in_a_row: p.in_a_row,
                counter: p.counter,
                events: p.events,
            });
        }
    }

    /// Applies one event (in seq order); a count short beyond tolerance
    /// comes back as its attribution.
    pub fn observe(
        &mut self,
        seq: i64,
        event: &Event,
        enriched: &Enriched<'_>,
        reference: &Reference,
    ) -> Option<Attribution> {
        let now = event.occurred_at.timestamp_micros();
        let moves = book::movements(event);
        let count = book::observation(event);
        if !moves.is_empty() || count.is_some() {
            self.book.apply(seq, now, &moves, count.as_ref());
        }
        self.remember(seq, event, &moves, enriched, reference);
        self.cover(seq, event, reference);
        let o = count?;
        let place = Place {
            site: o.site.as_str().to_owned(),
            location: o.location.as_str().to_owned(),
            sku: o.sku.as_str().to_owned(),
        };
        let c = self.book.get(&place)?.count.as_ref().filter(|c| c.seq == seq)?.clone();
        let key = key3(&place.site, &place.location, &place.sku);
        let shortage = c.book_at - c.counted;
        if o.opening || shortage < MIN_UNITS || shortage < MIN_SHARE * c.book_at {
            self.last_good.insert(key.clone(), now);
            self.reported.remove(&key);
            return None;
        }
        if self.reported.insert(key.clone(), (c.book_at, c.counted)) == Some((c.book_at, c.counted)) {
            return None;
        }
        let previous = self.last_good.insert(key, now);
        let since = previous.unwrap_or(i64::MIN).max(now - HORIZON_S * 1_000_000);
        let zone = reference.location_zone(&place.location).map(str::to_owned);
        let unit = reference.sku(&place.sku).map_or(0.0, |(v, _)| v);
        let offset = *event.occurred_at.offset();
        let (suspects, windows, telling) = self.explain(&place, zone.as_deref(), since, now, offset);
        Some(Attribution {
            location: place.location,
            zone,
            sku: place.sku,
            book: c.book_at,
            counted: c.counted,
            shortage,
            value: shortage * unit,
            since: at(since, offset),
            until: event.occurred_at,
            suspects,
            windows,
            telling,
        })
    }

    /// Keeps what an event says about presence in a zone or stock leaving a place.
    fn remember(
        &mut self,
        seq: i64,
        event: &Event,
        moves: &[book::Movement],
        enriched: &Enriched<'_>,
        reference: &Reference,
    ) {
        let (act, location, sku, units) = match &event.body {
            EventBody::AccessGranted(r) if r.direction != Some(stockade_model::event::Direction::Out) => {
                (Act::Entry, None, None, 0.0)
            }
            EventBody::AccessDoorForced(_)
            | EventBody::AccessDoorHeldOpen(_)
            | EventBody::AccessDoorUnlockedManually(_) => (Act::DoorAlarm, None, None, 0.0),
            EventBody::InventoryAdjusted(a) if a.delta < 0.0 => (
                Act::WriteDown { approved: a.approver.is_some() },
                Some(a.location.as_str().to_owned()),
                Some(a.sku.as_str().to_owned()),
                -a.delta,
            ),
            _ => match moves.iter().find(|m| m.delta < 0.0) {
                Some(m) => (Act::Out, Some(m.location.as_str().to_owned()), Some(m.sku.as_str().to_owned()), -m.delta),
                None => return,
            },
        };
        let zone = match &location {
            Some(l) => reference.location_zone(l).map(str::to_owned),
            None => ctx(enriched, "zone").and_then(Fact::as_str).map(str::to_owned),
        };
        let Some(zone) = zone else { return };
        let ids = event.entity_ids();
        let id_of = |t: EntityType| ids.iter().find(|(k, _)| *k == t).map(|(_, v)| (*v).to_owned());
        let credential = id_of(EntityType::Badge)
            .map(|id| Entity { kind: "badge".into(), id })
            .or_else(|| id_of(EntityType::Account).map(|id| Entity { kind: "account".into(), id }))
            .or_else(|| id_of(EntityType::ApiKey).map(|id| Entity { kind: "api_key".into(), id }));
        let person =
            ctx(enriched, "person").and_then(Fact::as_str).map(|id| Entity { kind: "person".into(), id: id.into() });
        let (actor, credential) = match person {
            Some(p) => (Some(p), credential),
            None => (credential, None),
        };
        if act != Act::DoorAlarm && actor.is_none() {
            return;
        }
        let now = event.occurred_at.timestamp_micros();
        let trail = self.trails.entry(format!("{}\x1f{zone}", event.site.as_str())).or_default();
        trail.push_back(Trace {
            at: now,
            act,
            event: EventKey::of(event, seq),
            actor,
            credential,
            door: id_of(EntityType::Door),
            location,
            sku,
            units,
            after_hours: ctx(enriched, "after_hours").and_then(Fact::as_bool).unwrap_or(false),
            secure: reference.zone_secure(&zone),
        });
        let floor = now - HORIZON_S * 1_000_000;
        while trail.front().is_some_and(|t| t.at < floor) {
            trail.pop_front();
        }
    }

    /// Ranks who and what could explain a shortage at `place` in (since, until].
    fn explain(
        &self,
        place: &Place,
        zone: Option<&str>,
        since: i64,
        until: i64,
        offset: FixedOffset,
    ) -> (Vec<Suspect>, Vec<Window>, bool) {
        #[derive(Default)]
        struct Tally {
            entries: u32,
            after: u32,
            out: (u32, f64),
            downs: u32,
            alarms: u32,
            score: f64,
            stands_out: bool,
            credentials: Vec<Entity>,
            events: Vec<(u8, i64, EventKey)>,
        }
        let traces: Vec<&Trace> = zone
            .and_then(|z| self.trails.get(&format!("{}\x1f{z}", place.site)))
            .into_iter()
            .flatten()
            .filter(|t| t.at > since && t.at <= until)
            .collect();
        let here = |t: &Trace| {
            t.location.as_deref() == Some(place.location.as_str()) && t.sku.as_deref() == Some(place.sku.as_str())
        };
        let mut by: BTreeMap<(String, String), Tally> = BTreeMap::new();
        let mut stands_out = false;
        let mut hours: BTreeMap<i64, (f64, Vec<EventKey>)> = BTreeMap::new();
        for t in &traces {
            // (weight, how telling: lower first) of this act for its suspect.
            let (who, weight, telling) = match t.act {
                Act::Entry if t.after_hours && t.secure => (t.actor.clone(), 4.0, 1),
                Act::Entry => (t.actor.clone(), 0.0, 5),
                Act::DoorAlarm => (
                    t.door.clone().map(|id| Entity { kind: "door".into(), id }),
                    if t.after_hours { 6.0 } else { 3.0 },
                    2,
                ),
                Act::Out if here(t) => (t.actor.clone(), if t.after_hours { 6.0 } else { 3.0 }, 3),
                Act::WriteDown { approved } if here(t) => (t.actor.clone(), if approved { 4.0 } else { 8.0 }, 0),
                _ => continue,
            };
            let Some(who) = who else { continue };
            // What stands out: presence in a secure zone or a door alarm
            // after hours, an unapproved write-down. (Stock taken out through
            // the WMS is on the record, whenever it happens.)
            let odd = t.after_hours && (t.act == Act::DoorAlarm || (t.act == Act::Entry && t.secure))
                || t.act == (Act::WriteDown { approved: false });
            stands_out |= odd;
            let tally = by.entry((who.kind.clone(), who.id.clone())).or_default();
            match t.act {
                Act::Entry if t.after_hours && t.secure => tally.after += 1,
                Act::Entry => tally.entries += 1,
                Act::DoorAlarm => tally.alarms += 1,
                Act::Out => {
                    tally.out.0 += 1;
                    tally.out.1 += t.units;
                }
                Act::WriteDown { .. } => tally.downs += 1,
            }
            tally.score += weight;
            tally.stands_out |= odd;
            if let Some(c) = &t.credential
                && !tally.credentials.contains(c)
            {
                tally.credentials.push(c.clone());
            }
            tally.events.push((telling, -t.at, t.event.clone()));
            if weight > 0.0 {
                let h = hours.entry(t.at.div_euclid(3_600_000_000)).or_default();
                h.0 += weight;
                h.1.push(t.event.clone());
            }
        }
        let mut suspects: Vec<Suspect> = by
            .into_iter()
            .map(|((kind, id), mut t)| {
                // Routine visits count with diminishing returns.
                t.score += f64::from(t.entries).ln_1p();
                let mut reasons = Vec::new();
                let zone = zone.unwrap_or("the zone");
                if t.after > 0 {
                    reasons.push(format!("entered {zone} {} time(s) after hours", t.after));
                }
                if t.entries > 0 {
                    reasons.push(format!("entered {zone} {} time(s) in working hours", t.entries));
                }
                if t.out.0 > 0 {
                    reasons.push(format!(
                        "took {} unit(s) of {} out of {} ({} movement(s))",
                        fmt_units(t.out.1),
                        place.sku,
                        place.location,
                        t.out.0
                    ));
                }
                if t.downs > 0 {
                    reasons.push(format!("wrote {} down at {} {} time(s)", place.sku, place.location, t.downs));
                }
                if t.alarms > 0 {
                    reasons.push(format!("door forced, held open or unlocked by hand {} time(s)", t.alarms));
                }
                t.events.sort();
                Suspect {
                    kind,
                    id,
                    score: (t.score * 100.0).round() / 100.0,
                    credentials: t.credentials,
                    reasons,
                    stands_out: t.stands_out,
                    events: t.events.into_iter().take(CITED).map(|(_, _, e)| e).collect(),
                }
            })
            .collect();
        suspects.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| (&a.kind, &a.id).cmp(&(&b.kind, &b.id))));
        suspects.truncate(TOP);
        let mut windows: Vec<Window> = hours
            .into_iter()
            .map(|(h, (score, mut events))| {
                events.truncate(CITED);
                Window { from: at(h * 3_600_000_000, offset), to: at((h + 1) * 3_600_000_000, offset), score, events }
            })
            .collect();
        windows.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.from.cmp(&b.from)));
        windows.truncate(TOP);
        (suspects, windows, stands_out)
    }
}

/// Sigma-style level of a shortage: by its value (units when the value is
/// unknown), raised when something telling stands out in its window. Routine
/// shrink (a few units gone with only routine presence around them) stays
/// low: it feeds risk and joins the cases of the people around it, but does
/// not open an incident alone.
pub fn level(a: &Attribution) -> &'static str {
    let value = if a.value > 0.0 { a.value } else { a.shortage * 100.0 };
    match (a.telling, value) {
        (true, v) if v >= 500.0 => "high",
        (true, _) => "medium",
        (false, v) if v >= 10_000.0 => "medium",
        (false, v) if v >= 2_000.0 => "low",
        _ => "informational",
    }
}

/// The alert of a shortage: it names the place, the SKU, the zone and the
/// leading suspects (the two highest of those whose acts stand out: after
/// hours, a door alarm, an unapproved write-down), and cites the count and
/// their events.
pub fn alert(a: &Attribution, event: &Event, seq: i64) -> Alert {
    let mut entities = vec![
        Entity { kind: "location".into(), id: a.location.clone() },
        Entity { kind: "sku".into(), id: a.sku.clone() },
    ];
    if let Some(z) = &a.zone {
        entities.push(Entity { kind: "zone".into(), id: z.clone() });
    }
    let leading: Vec<&Suspect> = a.suspects.iter().filter(|s| s.stands_out).take(2).collect();
    let mut related = Vec::new();
    for s in &leading {
        entities.push(Entity { kind: s.kind.clone(), id: s.id.clone() });
        for c in &s.credentials {
            if !entities.contains(c) {
                entities.push(c.clone());
            }
        }
        for e in &s.events {
            if !related.contains(e) {
                related.push(e.clone());
            }
        }
    }
    let ranked: Vec<String> = a
        .suspects
        .iter()
        .take(3)
        .map(|s| format!("{} {} (score {}: {})", s.kind, s.id, s.score, s.reasons.join("; ")))
        .collect();
    let value = if a.value > 0.0 { format!(", value {:.2}", a.value) } else { String::new() };
    let reason = format!(
        "A count found {} unit(s) of {} at {} where the book held {}: {} short{value}, since {}. {}",
        fmt_units(a.counted),
        a.sku,
        a.location,
        fmt_units(a.book),
        fmt_units(a.shortage),
        a.since.to_rfc3339(),
        if ranked.is_empty() {
            "Nobody entered the zone or took stock out of the place in that time.".to_owned()
        } else {
            format!("Ranked: {}.", ranked.join("; "))
        }
    );
    Alert {
        rule: MODEL.into(),
        title: format!("Count shortage: {} unit(s) of {} at {}", fmt_units(a.shortage), a.sku, a.location),
        level: level(a).into(),
        site: event.site.as_str().to_owned(),
        at: event.occurred_at,
        seq,
        event: EventKey::of(event, seq),
        related,
        entities,
        reason,
        attribution: Some(Box::new(a.clone())),
    }
}

/// The alert of a line a full count left out: it names the place, the SKU,
/// the zone and who counted the rest, and cites the sweep's first and last
/// counts. High when the line holds [`SKIP_HIGH_VALUE`] or more, or was
/// left out twice in a row.
pub fn skip_alert(s: &Skip, event: &Event, seq: i64) -> Alert {
    // The finding stands on the sweep's last count; an absence's wait ends at `due`.
    let (event_key, seq) = match s.events.last() {
        Some(k) => (k.clone(), k.seq.unwrap_or(seq)),
        None => (EventKey::of(event, seq), seq),
    };
    let mut entities = vec![
        Entity { kind: "location".into(), id: s.location.clone() },
        Entity { kind: "sku".into(), id: s.sku.clone() },
        Entity { kind: "zone".into(), id: s.zone.clone() },
    ];
    if let Some(p) = &s.counter {
        entities.push(Entity { kind: "person".into(), id: p.clone() });
    }
    let level = if s.value >= SKIP_HIGH_VALUE || s.in_a_row >= 2 { "high" } else { "medium" };
    let value = if s.value > 0.0 { format!(" (value {:.2})", s.value) } else { String::new() };
    let reason = format!(
        "The full count of zone {} that began {} left out {} at {}, where the book holds {} unit(s){value}; no count made it up within {} hours{}. Stock no count looks at can leave unnoticed.",
        s.zone,
        s.sweep.to_rfc3339(),
        s.sku,
        s.location,
        fmt_units(s.units),
        MAKE_UP_S / 3600,
        if s.in_a_row >= 2 { format!(", and {} full counts in a row left it out", s.in_a_row) } else { String::new() },
    );
    Alert {
        rule: SKIP_MODEL.into(),
        title: format!("Count line skipped: {} at {}", s.sku, s.location),
        level: level.into(),
        site: s.site.clone(),
        at: s.due,
        seq,
        related: s.events.iter().filter(|k| **k != event_key).cloned().collect(),
        event: event_key,
        entities,
        reason,
        attribution: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trace's saved form leaves out what is absent, zero or false, reads
    /// back whole, and the form saved before (every member written) still reads.
    #[test]
    fn traces_save_compactly_and_read_back_both_forms() {
        let entry = Trace {
            at: 7,
            act: Act::Entry,
            event: EventKey { source: "acs".into(), id: "e1".into(), seq: Some(3) },
            actor: Some(Entity { kind: "person".into(), id: "P1".into() }),
            credential: None,
            door: Some("D1".into()),
            location: None,
            sku: None,
            units: 0.0,
            after_hours: false,
            secure: true,
        };
        let saved = serde_json::to_value(&entry).unwrap();
        assert_eq!(
            saved,
            serde_json::json!({"at": 7, "act": "entry", "event": {"source": "acs", "id": "e1", "seq": 3},
                "actor": {"type": "person", "id": "P1"}, "door": "D1", "secure": true})
        );
        let back: Trace = serde_json::from_value(saved).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&entry).unwrap());
        let before = serde_json::json!({"at": 9, "act": "out", "event": {"source": "wms", "id": "w1", "seq": 4},
            "actor": {"type": "person", "id": "P2"}, "credential": null, "door": null, "location": "L1",
            "sku": "K1", "units": 2.0, "after_hours": true, "secure": false});
        let old: Trace = serde_json::from_value(before).unwrap();
        assert_eq!((old.units, old.after_hours, old.secure, old.door), (2.0, true, false, None));
        assert_eq!(old.location.as_deref(), Some("L1"));
    }
}
