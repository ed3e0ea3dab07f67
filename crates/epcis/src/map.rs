//! EPCIS events onto canonical events.
//!
//! One EPCIS event becomes one canonical event per SKU it counts (instance
//! level `epcList`/`childEPCs`: one unit per EPC; class level `quantityList`:
//! the quantity given). The business step decides the kind and which of
//! `readPoint`, `bizLocation`, `sourceList` and `destinationList` give the
//! places ([`Where::plan`]); `docs/BOOK.md` has the table, one test per row
//! (`tests/stock_flow.rs`). A location is a book place when it is
//! registered, or when it is an SGLN of a site's GLN with an extension (the
//! extension is the location id, flagged `unconfirmed_location` until it is
//! registered); a site-level SGLN names the site, not a place, which puts
//! received goods in the site's received state and takes shipped goods from
//! its picked state. A step that needs a place and is given none is kept as
//! `inventory.observed`, flagged `unresolved_location`.
//!
//! Transformation events (inputs consumed, outputs produced) and
//! Association events are recorded as `inventory.observed`: the book does not
//! model manufacturing or asset association.
//!
//! Ids: the EPCIS `eventID` when given, else its CBV 2.0 event hash ID, with
//! `#SKU` appended when an event counts several SKUs, so re-capturing a
//! document (in any serialisation) creates no duplicates.

use crate::{Members, keys};
use chrono::{DateTime, FixedOffset};
use serde_json::Value;
use smallvec::SmallVec;
use std::collections::HashMap;
use std::rc::Rc;
use stockade_model::{
    Count, CountType, EpcisOrigin, Event, EventBody, LocationId, Pack, Pick, Receipt, ReferenceData, Scrap, Shipment,
    Sighting, SiteId, Sku, SourceId, Transfer,
};

/// What the mapping needs from reference data.
#[derive(Debug, Default, Clone)]
pub struct Directory {
    skus_by_gtin: HashMap<String, Sku>,
    locations: HashMap<String, (SiteId, LocationId)>,
    /// Sites by their GLN: an unregistered SGLN of that GLN is at the site.
    sites_by_gln: HashMap<String, SiteId>,
    /// Registered location ids, per site.
    location_ids: std::collections::HashSet<(SiteId, LocationId)>,
}

impl Directory {
    pub fn new(data: &ReferenceData) -> Directory {
        let mut d = Directory::default();
        for s in &data.skus {
            if let Some(g) = &s.gtin {
                d.skus_by_gtin.insert(format!("{g:0>14}"), s.id.clone());
            }
        }
        for l in &data.locations {
            d.location_ids.insert((l.site.clone(), l.id.clone()));
            if let Some(key) = l.sgln.as_deref().and_then(keys::location_key) {
                d.locations.insert(key, (l.site.clone(), l.id.clone()));
            }
        }
        for site in &data.sites {
            if let Some(gln) = &site.gln {
                d.sites_by_gln.insert(gln.clone(), site.id.clone());
            }
        }
        d
    }

    /// The site of an EPCIS location id: its registered location's site, or
    /// the site whose GLN it is (the SGLN's company prefix and location
    /// reference, whatever its extension).
    fn site_of(&self, id: &str) -> Option<SiteId> {
        let key = keys::location_key(id)?;
        if let Some((site, _)) = self.locations.get(&key) {
            return Some(site.clone());
        }
        let gln = key.split('/').next().unwrap_or(&key);
        self.sites_by_gln.get(gln).cloned()
    }

    /// The book location an EPCIS location id names: its registered
    /// location, else, for an SGLN of a site's GLN with an extension, the
    /// extension as that site's location id (`first_sight`: not registered,
    /// so flagged until it is). None for a site-level or foreign location.
    fn place_of(&self, id: &str) -> Option<Place> {
        let key = keys::location_key(id)?;
        if let Some((site, loc)) = self.locations.get(&key) {
            return Some(Place::new(site.clone(), loc.clone(), false));
        }
        let (gln, ext) = key.split_once('/')?;
        let site = self.sites_by_gln.get(gln)?;
        let location = LocationId::new(ext).ok()?;
        let first_sight = !self.location_ids.contains(&(site.clone(), location.clone()));
        Some(Place::new(site.clone(), location, first_sight))
    }

    fn sku(&self, gtin: &str) -> Option<Sku> {
        self.skus_by_gtin.get(gtin).cloned().or_else(|| Sku::new(format!("gtin:{gtin}")).ok())
    }
}

/// A book location named by an EPCIS location, shared: a document's
/// events name the same few places, each looked up once ([`Memo`]) and
/// then passed around without copying its ids.
#[derive(Debug, Clone)]
struct Place(std::rc::Rc<PlaceData>);

#[derive(Debug)]
struct PlaceData {
    site: SiteId,
    location: LocationId,
    /// Not registered: known from an SGLN of the site's GLN.
    first_sight: bool,
}

impl Place {
    fn new(site: SiteId, location: LocationId, first_sight: bool) -> Place {
        Place(std::rc::Rc::new(PlaceData { site, location, first_sight }))
    }
}

impl std::ops::Deref for Place {
    type Target = PlaceData;

    fn deref(&self) -> &PlaceData {
        &self.0
    }
}

/// The flag on an event naming a location known only from its SGLN
/// (`unconfirmed_location:<site>/<location>`), until it is registered.
pub const UNCONFIRMED_LOCATION: &str = "unconfirmed_location";

/// The flag on an event whose step needs a location none of its locations
/// names (`unresolved_location:<its location>`): it is kept as an
/// observation and moves nothing.
pub const UNRESOLVED_LOCATION: &str = "unresolved_location";

/// The site of an event whose site could not be resolved.
pub const UNKNOWN_SITE: &str = "epcis-unknown-site";

/// The flag on such an event (`unresolved_site:<its location>`).
pub const UNRESOLVED_SITE: &str = "unresolved_site";

/// Short CBV name of a business step or disposition in any of its forms:
/// bare word, CURIE, URN or GS1 web URI.
pub fn cbv_name(v: &str) -> &str {
    for prefix in [
        "https://ref.gs1.org/cbv/BizStep-",
        "https://ref.gs1.org/cbv/Disp-",
        "https://gs1.org/voc/BizStep-",
        "https://gs1.org/voc/Disp-",
        "urn:epcglobal:cbv:bizstep:",
        "urn:epcglobal:cbv:disp:",
        "cbv:BizStep-",
        "cbv:Disp-",
    ] {
        if let Some(rest) = v.strip_prefix(prefix) {
            return rest;
        }
    }
    v
}

/// A document's lookups, remembered: its events name the same few
/// locations and classes over and over, and parsing a GS1 key costs more
/// than looking it up again.
struct Memo<'d> {
    dir: &'d Directory,
    places: std::cell::RefCell<foldhash::HashMap<String, Option<Place>>>,
    sites: std::cell::RefCell<foldhash::HashMap<String, Option<SiteId>>>,
    gtins: std::cell::RefCell<foldhash::HashMap<String, Option<Rc<str>>>>,
}

impl<'d> Memo<'d> {
    fn new(dir: &'d Directory) -> Memo<'d> {
        Memo { dir, places: Default::default(), sites: Default::default(), gtins: Default::default() }
    }

    fn remember<T: Clone>(
        cache: &std::cell::RefCell<foldhash::HashMap<String, T>>,
        key: &str,
        f: impl FnOnce() -> T,
    ) -> T {
        if let Some(v) = cache.borrow().get(key) {
            return v.clone();
        }
        let v = f();
        cache.borrow_mut().insert(key.to_owned(), v.clone());
        v
    }

    fn place_of(&self, id: &str) -> Option<Place> {
        Self::remember(&self.places, id, || self.dir.place_of(id))
    }

    fn site_of(&self, id: &str) -> Option<SiteId> {
        Self::remember(&self.sites, id, || self.dir.site_of(id))
    }

    fn gtin(&self, epc: &str) -> Option<Rc<str>> {
        Self::remember(&self.gtins, epc, || keys::gtin(epc).map(Rc::from))
    }
}

/// The place named by a `sourceList` / `destinationList` entry of CBV type
/// `location` (bare, `cbv:SDT-`, `urn:epcglobal:cbv:sdt:` or the GS1 URI form).
fn listed_place(list: Option<&Value>, field: &str, dir: &Memo<'_>) -> Option<Place> {
    list?.as_array()?.iter().find_map(|entry| {
        let ty = member(entry, "type")?.as_str()?;
        let ty = ["https://ref.gs1.org/cbv/SDT-", "https://gs1.org/voc/SDT-", "urn:epcglobal:cbv:sdt:", "cbv:SDT-"]
            .iter()
            .find_map(|p| ty.strip_prefix(p))
            .unwrap_or(ty);
        if ty != "location" {
            return None;
        }
        dir.place_of(member(entry, field)?.as_str()?)
    })
}

/// Units counted per GTIN (None: identifiers that are not trade items).
fn counted(f: &Members<'_>, memo: &Memo<'_>) -> SmallVec<[(Option<Rc<str>>, f64); 2]> {
    let mut out: SmallVec<[(Option<Rc<str>>, f64); 2]> = SmallVec::new();
    let mut add = |gtin: Option<Rc<str>>, n: f64| match out.iter_mut().find(|(g, _)| *g == gtin) {
        Some((_, total)) => *total += n,
        None => out.push((gtin, n)),
    };
    for list in [f.epc_list, f.child_epcs] {
        for epc in list.and_then(Value::as_array).into_iter().flatten() {
            if let Some(s) = epc.as_str() {
                add(memo.gtin(s), 1.0);
            }
        }
    }
    for list in [f.quantity_list, f.child_quantity_list] {
        for q in list.and_then(Value::as_array).into_iter().flatten() {
            let class = member(q, "epcClass").and_then(Value::as_str).unwrap_or_default();
            let n = member(q, "quantity").and_then(Value::as_f64).unwrap_or(1.0);
            add(memo.gtin(class), n);
        }
    }
    // In GTIN order (none first), whatever order the lists gave.
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A member of a small object (a location, a quantity, a source or
/// destination: one to three members), found by comparing names in order,
/// which costs less than hashing the name as `Value::get` does.
fn member<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    v.as_object()?.iter().find_map(|(k, v)| (k == name).then_some(v))
}

fn text(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

/// The `id` of a `readPoint` / `bizLocation`.
fn id_of(v: Option<&Value>) -> Option<&str> {
    v.and_then(|v| member(v, "id")).and_then(Value::as_str)
}

fn event_time(f: &Members<'_>) -> Result<DateTime<FixedOffset>, String> {
    let t = text(f.event_time).ok_or("eventTime is missing")?;
    let t = stockade_model::event::rfc3339::parse(t)?;
    // Keep the producer's declared offset when it parses.
    let offset = text(f.offset).and_then(utc_offset);
    Ok(offset.map_or(t, |o| t.with_timezone(&o)))
}

/// An `eventTimeZoneOffset` as RFC 3339 reads an offset: `±HH:MM` (the
/// schema's form) directly, anything else the long way.
fn utc_offset(o: &str) -> Option<FixedOffset> {
    let b = o.as_bytes();
    let digit = |i: usize| b[i].is_ascii_digit().then(|| i32::from(b[i] - b'0'));
    if let [sign @ (b'+' | b'-'), _, _, b':', _, _] = b {
        let (h, m) = (digit(1)? * 10 + digit(2)?, digit(4)? * 10 + digit(5)?);
        if h < 24 && m < 60 {
            let secs = (h * 60 + m) * 60;
            return FixedOffset::east_opt(if *sign == b'-' { -secs } else { secs });
        }
    }
    DateTime::parse_from_rfc3339(&format!("2000-01-01T00:00:00{o}")).ok().map(|d| *d.offset())
}

/// Maps every event of a validated document. Each result carries the event's
/// index in `eventList`.
pub fn map_document(
    doc: &Value,
    dir: &Directory,
    source: &SourceId,
    default_site: Option<&SiteId>,
) -> Vec<(usize, Result<Event, String>)> {
    let mut out = Vec::new();
    let hashes = crate::hash::document_hashes(doc);
    let mapping = Mapping::new(dir, source, default_site);
    for ((i, ev), hash) in crate::event_list(doc).iter().enumerate().zip(hashes) {
        mapping.event(i, ev, hash, &mut out);
    }
    out
}

/// What mapping a document's events needs: its lookups (remembered for the
/// document), the source its events are recorded under, and the site of
/// last resort.
pub(crate) struct Mapping<'a> {
    memo: Memo<'a>,
    source: &'a SourceId,
    default_site: Option<&'a SiteId>,
}

impl<'a> Mapping<'a> {
    pub(crate) fn new(dir: &'a Directory, source: &'a SourceId, default_site: Option<&'a SiteId>) -> Mapping<'a> {
        Mapping { memo: Memo::new(dir), source, default_site }
    }

    /// Maps the document's `i`th event onto `out`: its canonical events, or
    /// the reason it has none.
    pub(crate) fn event(
        &self,
        i: usize,
        ev: &Value,
        event_hash: String,
        out: &mut Vec<(usize, Result<Event, String>)>,
    ) {
        let before = out.len();
        if let Err(e) = self.onto(i, ev, event_hash, out) {
            // None of its events, only why.
            out.truncate(before);
            out.push((i, Err(e)));
        }
    }

    fn onto(
        &self,
        i: usize,
        ev: &Value,
        event_hash: String,
        out: &mut Vec<(usize, Result<Event, String>)>,
    ) -> Result<(), String> {
        let (dir, source, default_site) = (&self.memo, self.source, self.default_site);
        let f = Members::of(ev).unwrap_or_default();
        let event_type = text(f.event_type).unwrap_or("Event").to_owned();
        let occurred_at = event_time(&f)?;
        let biz_step = text(f.biz_step).map(str::to_owned);
        let step = text(f.biz_step).map(cbv_name).unwrap_or_default();
        let read_point = id_of(f.read_point).map(str::to_owned);
        let biz_location = id_of(f.biz_location).map(str::to_owned);
        let at_read_point = read_point.as_deref().and_then(|l| dir.place_of(l));
        let at_biz_location = biz_location.as_deref().and_then(|l| dir.place_of(l));
        let source_place = listed_place(f.sources, "source", dir);
        let destination_place = listed_place(f.destinations, "destination", dir);
        // Per event, so one document may cover several sites: a place's site,
        // else the site of the GLN of bizLocation, readPoint or a listed source
        // or destination, else --site; else no site, flagged.
        let listed = |list: Option<&Value>, field: &str| -> Option<SiteId> {
            list?.as_array()?.iter().find_map(|e| dir.site_of(member(e, field)?.as_str()?))
        };
        let resolved = at_biz_location
            .as_ref()
            .or(at_read_point.as_ref())
            .map(|p| p.site.clone())
            .or_else(|| biz_location.as_deref().and_then(|l| dir.site_of(l)))
            .or_else(|| read_point.as_deref().and_then(|l| dir.site_of(l)))
            .or_else(|| listed(f.sources, "source"))
            .or_else(|| listed(f.destinations, "destination"))
            .or_else(|| default_site.cloned());
        let mut flags = Vec::new();
        if resolved.is_none() {
            let at = biz_location.as_deref().or(read_point.as_deref()).unwrap_or("no location");
            flags.push(format!("{UNRESOLVED_SITE}:{at}"));
        }
        let site = resolved.map_or_else(|| SiteId::new(UNKNOWN_SITE), Ok).map_err(|e| e.to_string())?;
        // Only places of the event's own site are booked.
        let here = |p: Option<Place>| p.filter(|p| p.site == site);
        let (read_point_place, biz_place) = (here(at_read_point), here(at_biz_location));
        let where_ = Where {
            read_point: read_point_place,
            biz_location: biz_place,
            biz_location_given: biz_location.is_some(),
            source: here(source_place),
            destination: here(destination_place),
        };
        let disposition = text(f.disposition).map(cbv_name).unwrap_or_default();
        // An event at no site books nothing: it is kept as an observation.
        let plan = if flags.is_empty() { where_.plan(step, disposition) } else { Plan::Other };
        for p in plan.places() {
            if p.first_sight {
                flags.push(format!("{UNCONFIRMED_LOCATION}:{}/{}", p.site, p.location));
            }
        }
        if let Plan::Unplaced = plan
            && !step.is_empty()
        {
            let at = biz_location.as_deref().or(read_point.as_deref()).unwrap_or("no location");
            flags.push(format!("{UNRESOLVED_LOCATION}:{at}"));
        }
        let books = matches!(event_type.as_str(), "ObjectEvent" | "AggregationEvent" | "TransactionEvent");
        let mut groups: SmallVec<[(Option<Sku>, Option<f64>); 2]> =
            counted(&f, dir).into_iter().map(|(gtin, q)| (gtin.and_then(|g| dir.dir.sku(&g)), Some(q))).collect();
        if groups.is_empty() || !books {
            // Nothing countable, or a kind the book does not model: one sighting.
            groups = smallvec::smallvec![(None, None)];
        }
        let several = groups.len() > 1;
        let event_id = text(f.event_id);
        let mut base_id = event_id.map_or_else(|| event_hash.clone(), str::to_owned);
        let epcs: Vec<String> = [f.epc_list, f.child_epcs]
            .into_iter()
            .flat_map(|l| l.and_then(Value::as_array).into_iter().flatten())
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        let origin = EpcisOrigin {
            event_type: event_type.clone(),
            // Stored once: the event's id is the eventID, unless the EPCIS
            // event is booked as several (`eventID#SKU`).
            event_id: if several { event_id.map(str::to_owned) } else { None },
            event_hash,
            biz_step: biz_step.clone(),
            disposition: text(f.disposition).map(str::to_owned),
            read_point,
            biz_location,
            epcs,
        };
        let last = groups.len() - 1;
        let (mut origin, mut flags) = (Some(origin), Some(flags));
        for (n, (sku, quantity)) in groups.into_iter().enumerate() {
            let body = match (books, &sku, quantity) {
                // A count of zero is a count (an empty bin is the strongest
                // sign of a loss); every other step moves a positive quantity.
                (true, Some(sku), Some(q)) if q > 0.0 || (q == 0.0 && matches!(plan, Plan::Count { .. })) => {
                    plan.body(sku, q)
                }
                _ => None,
            };
            let body = body.unwrap_or_else(|| {
                EventBody::InventoryObserved(Sighting {
                    sku: sku.clone(),
                    quantity,
                    location: where_.biz_location.as_ref().or(where_.read_point.as_ref()).map(|p| p.location.clone()),
                    detail: biz_step.clone().or_else(|| Some(event_type.clone())),
                })
            });
            let id = match (&sku, several) {
                (Some(s), true) => format!("{base_id}#{s}"),
                (None, true) => format!("{base_id}#other"),
                // The one event of the EPCIS event takes its id.
                _ => std::mem::take(&mut base_id),
            };
            let event = Event {
                id: stockade_model::EventId::new(id).map_err(|e| format!("eventID {e}"))?,
                source: source.clone(),
                site: site.clone(),
                occurred_at,
                received_at: None,
                revision: None,
                // The last event takes what the others copy.
                epcis: if n == last { origin.take() } else { origin.clone() }.map(Box::new),
                flags: if n == last { flags.take() } else { flags.clone() }.unwrap_or_default(),
                body,
            };
            event.validate().map_err(|e| e.to_string())?;
            out.push((i, Ok(event)));
        }
        Ok(())
    }
}

/// The book places an EPCIS event names, each of the event's own site.
struct Where {
    read_point: Option<Place>,
    biz_location: Option<Place>,
    /// A bizLocation was given, whether or not it names a book place (the
    /// site's own GLN names none: the goods are somewhere on site).
    biz_location_given: bool,
    source: Option<Place>,
    destination: Option<Place>,
}

/// What an EPCIS event does to the book: the table in `docs/BOOK.md`.
#[derive(Debug, Clone)]
enum Plan {
    /// Into the place, or the site's received state.
    Receive {
        to: Option<Place>,
        returned: bool,
    },
    /// From the place (else the received state) to the place.
    PutAway {
        from: Option<Place>,
        to: Place,
    },
    /// From the bin, to the place (else the picked state).
    Pick {
        from: Place,
        to: Option<Place>,
    },
    Pack {
        at: Option<Place>,
    },
    /// From the place as far as it holds the goods, then the picked state.
    Ship {
        from: Option<Place>,
    },
    Count {
        at: Place,
        count_type: CountType,
    },
    Scrap {
        from: Place,
        reason: String,
    },
    /// The step needs a place the event does not name: an observation.
    Unplaced,
    /// A step the book does not model: an observation.
    Other,
}

impl Where {
    fn plan(&self, step: &str, disposition: &str) -> Plan {
        let pick = |a: &Option<Place>, b: &Option<Place>| a.clone().or_else(|| b.clone());
        // Where the event happened: the location read, else the business location.
        let here = pick(&self.read_point, &self.biz_location);
        match step {
            "receiving" => Plan::Receive {
                // CBV: bizLocation is where the goods are after the event;
                // a site-level one (or none, read at a dock not registered)
                // leaves them received, not yet put away.
                to: pick(&self.destination, &self.biz_location)
                    .or_else(|| if self.biz_location_given { None } else { self.read_point.clone() }),
                returned: disposition == "returned",
            },
            "storing" => match pick(&self.destination, &self.biz_location).or_else(|| self.read_point.clone()) {
                Some(to) => Plan::PutAway { from: self.source.clone().filter(|f| f.location != to.location), to },
                None => Plan::Unplaced,
            },
            "picking" => match pick(&self.source, &here) {
                Some(from) => {
                    let to = pick(&self.destination, &self.biz_location).filter(|t| t.location != from.location);
                    Plan::Pick { from, to }
                }
                None => Plan::Unplaced,
            },
            "packing" => Plan::Pack { at: pick(&self.biz_location, &self.read_point) },
            "shipping" | "departing" => Plan::Ship { from: pick(&self.source, &here) },
            "cycle_counting" | "stock_taking" => match pick(&self.biz_location, &self.read_point) {
                Some(at) => Plan::Count {
                    at,
                    count_type: if step == "stock_taking" { CountType::Full } else { CountType::Cycle },
                },
                None => Plan::Unplaced,
            },
            "destroying" | "decommissioning" => match pick(&self.source, &here) {
                Some(from) => Plan::Scrap { from, reason: step.to_owned() },
                None => Plan::Unplaced,
            },
            _ => Plan::Other,
        }
    }
}

impl Plan {
    /// The places the plan books at.
    fn places(&self) -> SmallVec<[&Place; 2]> {
        match self {
            Plan::Receive { to, .. } => to.iter().collect(),
            Plan::PutAway { from, to } => from.iter().chain([to]).collect(),
            Plan::Pick { from, to } => [from].into_iter().chain(to).collect(),
            Plan::Pack { at } | Plan::Ship { from: at } => at.iter().collect(),
            Plan::Count { at, .. } => smallvec::smallvec![at],
            Plan::Scrap { from, .. } => smallvec::smallvec![from],
            Plan::Unplaced | Plan::Other => SmallVec::new(),
        }
    }

    fn body(&self, sku: &Sku, quantity: f64) -> Option<EventBody> {
        let loc = |p: &Place| p.location.clone();
        let sku = sku.clone();
        Some(match self {
            Plan::Receive { to, returned } => {
                let r = Receipt {
                    sku,
                    quantity,
                    to_location: to.as_ref().map(loc),
                    reference: None,
                    vendor: None,
                    person: None,
                    account: None,
                };
                if *returned { EventBody::InventoryReturned(r) } else { EventBody::InventoryReceived(r) }
            }
            Plan::PutAway { from, to } => EventBody::InventoryPutAway(Transfer {
                sku,
                quantity,
                from_location: from.as_ref().map(loc),
                to_location: loc(to),
                work_order: None,
                person: None,
                account: None,
            }),
            Plan::Pick { from, to } => EventBody::InventoryPicked(Pick {
                sku,
                quantity,
                from_location: loc(from),
                to_location: to.as_ref().map(loc),
                order: None,
                person: None,
                account: None,
            }),
            Plan::Pack { at } => EventBody::InventoryPacked(Pack {
                sku,
                quantity,
                location: at.as_ref().map(loc),
                order: None,
                person: None,
            }),
            Plan::Ship { from } => EventBody::InventoryShipped(Shipment {
                sku,
                quantity,
                from_location: from.as_ref().map(loc),
                order: None,
                carrier: None,
                door: None,
                person: None,
            }),
            Plan::Count { at, count_type } => EventBody::InventoryCounted(Count {
                sku,
                location: loc(at),
                quantity,
                count_type: *count_type,
                person: None,
            }),
            Plan::Scrap { from, reason } => EventBody::InventoryScrapped(Scrap {
                sku,
                quantity,
                from_location: loc(from),
                reason: reason.clone(),
                approver: None,
                person: None,
            }),
            Plan::Unplaced | Plan::Other => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct reading of `±HH:MM` agrees with RFC 3339's on every
    /// offset of that shape, in range or not, and other shapes still take
    /// the long way.
    #[test]
    fn offsets_read_directly_as_rfc3339_reads_them() {
        let long_way =
            |o: &str| DateTime::parse_from_rfc3339(&format!("2000-01-01T00:00:00{o}")).ok().map(|d| *d.offset());
        let mut checked = 0;
        for sign in ['+', '-'] {
            for h in 0..30 {
                for m in 0..65 {
                    let o = format!("{sign}{h:02}:{m:02}");
                    assert_eq!(utc_offset(&o), long_way(&o), "{o}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 2 * 30 * 65);
        assert_eq!(utc_offset("+05:30"), FixedOffset::east_opt(5 * 3600 + 30 * 60));
        assert_eq!(utc_offset("-08:00"), FixedOffset::west_opt(8 * 3600));
        for o in ["Z", "z", "+0100", "+1:00", "+01:0x", "x01:00", "", "+01:00:00", "+ü1:00"] {
            assert_eq!(utc_offset(o), long_way(o), "{o:?}");
        }
    }

    #[test]
    fn a_member_is_found_by_name_in_an_object_only() {
        let v = serde_json::json!({"type": "location", "id": "urn:epc:id:sgln:0614141.00001.0"});
        assert_eq!(member(&v, "id").and_then(Value::as_str), Some("urn:epc:id:sgln:0614141.00001.0"));
        assert_eq!(member(&v, "type"), v.get("type"));
        assert_eq!(member(&v, "missing"), None);
        assert_eq!(member(&serde_json::json!(["id"]), "id"), None);
    }
}
