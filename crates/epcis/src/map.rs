//! EPCIS events onto canonical events.
//!
//! One EPCIS event becomes one canonical event per SKU it counts (instance
//! level `epcList`/`childEPCs`: one unit per EPC; class level `quantityList`:
//! the quantity given). The business step decides the kind:
//!
//! | CBV business step | kind | location used |
//! |---|---|---|
//! | receiving | `inventory.received` | to: bizLocation (else readPoint) |
//! | shipping, departing | `inventory.shipped` | from |
//! | storing | `inventory.put_away` | from: the `sourceList` location; to: bizLocation |
//! | picking | `inventory.picked` | from; to: the `destinationList` location, if any |
//! | packing | `inventory.packed` | at |
//! | cycle_counting, stock_taking | `inventory.counted` (count type `cycle`, `full`; zero counts too) | at |
//! | destroying, decommissioning | `inventory.scrapped` (reason: the step) | from |
//! | anything else, or no location | `inventory.observed` | at, if any |
//!
//! Transformation events (inputs consumed, outputs produced) and
//! Association events are recorded as `inventory.observed`: the book does not
//! model manufacturing or asset association.
//!
//! Ids: the EPCIS `eventID` when given, else its CBV 2.0 event hash ID, with
//! `#SKU` appended when an event counts several SKUs, so re-capturing a
//! document (in any serialisation) creates no duplicates.

use crate::keys;
use chrono::{DateTime, FixedOffset};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
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

    fn sku(&self, gtin: &str) -> Option<Sku> {
        self.skus_by_gtin.get(gtin).cloned().or_else(|| Sku::new(format!("gtin:{gtin}")).ok())
    }
}

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

/// The place named by a `sourceList` / `destinationList` entry of CBV type
/// `location` (bare, `cbv:SDT-`, `urn:epcglobal:cbv:sdt:` or the GS1 URI form).
fn listed_place(ev: &Value, list: &str, field: &str, dir: &Directory) -> Option<(SiteId, LocationId)> {
    ev.get(list)?.as_array()?.iter().find_map(|entry| {
        let ty = entry.get("type")?.as_str()?;
        let ty = ["https://ref.gs1.org/cbv/SDT-", "https://gs1.org/voc/SDT-", "urn:epcglobal:cbv:sdt:", "cbv:SDT-"]
            .iter()
            .find_map(|p| ty.strip_prefix(p))
            .unwrap_or(ty);
        if ty != "location" {
            return None;
        }
        let key = keys::location_key(entry.get(field)?.as_str()?)?;
        dir.locations.get(&key).cloned()
    })
}

/// Units counted per GTIN (None: identifiers that are not trade items).
fn counted(ev: &Value) -> BTreeMap<Option<String>, f64> {
    let mut out: BTreeMap<Option<String>, f64> = BTreeMap::new();
    for list in ["epcList", "childEPCs"] {
        for epc in ev.get(list).and_then(Value::as_array).into_iter().flatten() {
            if let Some(s) = epc.as_str() {
                *out.entry(keys::gtin(s)).or_default() += 1.0;
            }
        }
    }
    for list in ["quantityList", "childQuantityList"] {
        for q in ev.get(list).and_then(Value::as_array).into_iter().flatten() {
            let class = q.get("epcClass").and_then(Value::as_str).unwrap_or_default();
            let n = q.get("quantity").and_then(Value::as_f64).unwrap_or(1.0);
            *out.entry(keys::gtin(class)).or_default() += n;
        }
    }
    out
}

fn event_time(ev: &Value) -> Result<DateTime<FixedOffset>, String> {
    let t = ev.get("eventTime").and_then(Value::as_str).ok_or("eventTime is missing")?;
    let t = stockade_model::event::rfc3339::parse(t)?;
    // Keep the producer's declared offset when it parses.
    let offset = ev
        .get("eventTimeZoneOffset")
        .and_then(Value::as_str)
        .and_then(|o| DateTime::parse_from_rfc3339(&format!("2000-01-01T00:00:00{o}")).ok())
        .map(|d| *d.offset());
    Ok(offset.map_or(t, |o| t.with_timezone(&o)))
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
    for ((i, ev), hash) in crate::event_list(doc).iter().enumerate().zip(hashes) {
        match map_event(ev, hash, dir, source, default_site) {
            Ok(events) => out.extend(events.into_iter().map(|e| (i, Ok(e)))),
            Err(e) => out.push((i, Err(e))),
        }
    }
    out
}

fn map_event(
    ev: &Value,
    event_hash: String,
    dir: &Directory,
    source: &SourceId,
    default_site: Option<&SiteId>,
) -> Result<Vec<Event>, String> {
    let event_type = ev.get("type").and_then(Value::as_str).unwrap_or("Event").to_owned();
    let occurred_at = event_time(ev)?;
    let biz_step = ev.get("bizStep").and_then(Value::as_str).map(str::to_owned);
    let step = biz_step.as_deref().map(cbv_name).unwrap_or_default().to_owned();
    let read_point = ev.pointer("/readPoint/id").and_then(Value::as_str).map(str::to_owned);
    let biz_location = ev.pointer("/bizLocation/id").and_then(Value::as_str).map(str::to_owned);
    let place = biz_location
        .as_deref()
        .or(read_point.as_deref())
        .and_then(keys::location_key)
        .and_then(|k| dir.locations.get(&k).cloned());
    // Per event, so one document may cover several sites: the registered
    // location, else the site of the GLN of bizLocation, readPoint or a
    // listed source or destination, else --site; else no site, flagged.
    let listed = |list: &str, field: &str| -> Option<SiteId> {
        ev.get(list)?.as_array()?.iter().find_map(|e| dir.site_of(e.get(field)?.as_str()?))
    };
    let resolved = place
        .as_ref()
        .map(|(s, _)| s.clone())
        .or_else(|| biz_location.as_deref().and_then(|l| dir.site_of(l)))
        .or_else(|| read_point.as_deref().and_then(|l| dir.site_of(l)))
        .or_else(|| listed("sourceList", "source"))
        .or_else(|| listed("destinationList", "destination"))
        .or_else(|| default_site.cloned());
    let flags = if resolved.is_some() {
        Vec::new()
    } else {
        let at = biz_location.as_deref().or(read_point.as_deref()).unwrap_or("no location");
        vec![format!("{UNRESOLVED_SITE}:{at}")]
    };
    let site = resolved.map_or_else(|| SiteId::new(UNKNOWN_SITE), Ok).map_err(|e| e.to_string())?;
    let location = place.map(|(_, l)| l);
    let from_listed = listed_place(ev, "sourceList", "source", dir).map(|(_, l)| l);
    let to_listed = listed_place(ev, "destinationList", "destination", dir).map(|(_, l)| l);
    let event_id = ev.get("eventID").and_then(Value::as_str).map(str::to_owned);
    let base_id = event_id.clone().unwrap_or_else(|| event_hash.clone());
    let epcs: Vec<String> = ["epcList", "childEPCs"]
        .iter()
        .flat_map(|l| ev.get(*l).and_then(Value::as_array).into_iter().flatten())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let origin = EpcisOrigin {
        event_type: event_type.clone(),
        event_id: event_id.clone(),
        event_hash,
        biz_step: biz_step.clone(),
        disposition: ev.get("disposition").and_then(Value::as_str).map(str::to_owned),
        read_point,
        biz_location,
        epcs,
    };
    let books = matches!(event_type.as_str(), "ObjectEvent" | "AggregationEvent" | "TransactionEvent");
    let mut groups: Vec<(Option<Sku>, Option<f64>)> =
        counted(ev).into_iter().map(|(gtin, q)| (gtin.and_then(|g| dir.sku(&g)), Some(q))).collect();
    if groups.is_empty() || !books {
        // Nothing countable, or a kind the book does not model: one sighting.
        groups = vec![(None, None)];
    }
    let several = groups.len() > 1;
    let counting = matches!(step.as_str(), "cycle_counting" | "stock_taking");
    let mut out = Vec::with_capacity(groups.len());
    for (sku, quantity) in groups {
        let body = match (books, &sku, quantity, &location) {
            // A count of zero is a count (an empty bin is the strongest
            // sign of a loss); every other step moves a positive quantity.
            (true, Some(sku), Some(q), Some(loc)) if q > 0.0 || (q == 0.0 && counting) => match step.as_str() {
                "receiving" => Some(EventBody::InventoryReceived(Receipt {
                    sku: sku.clone(),
                    quantity: q,
                    to_location: loc.clone(),
                    reference: None,
                    vendor: None,
                    person: None,
                    account: None,
                })),
                "shipping" | "departing" => Some(EventBody::InventoryShipped(Shipment {
                    sku: sku.clone(),
                    quantity: q,
                    from_location: loc.clone(),
                    order: None,
                    carrier: None,
                    door: None,
                    person: None,
                })),
                "storing" => from_listed.as_ref().map(|from| {
                    EventBody::InventoryPutAway(Transfer {
                        sku: sku.clone(),
                        quantity: q,
                        from_location: from.clone(),
                        to_location: loc.clone(),
                        work_order: None,
                        person: None,
                        account: None,
                    })
                }),
                "picking" => Some(EventBody::InventoryPicked(Pick {
                    sku: sku.clone(),
                    quantity: q,
                    from_location: loc.clone(),
                    to_location: to_listed.clone(),
                    order: None,
                    person: None,
                    account: None,
                })),
                "packing" => Some(EventBody::InventoryPacked(Pack {
                    sku: sku.clone(),
                    quantity: q,
                    location: Some(loc.clone()),
                    order: None,
                    person: None,
                })),
                "cycle_counting" | "stock_taking" => Some(EventBody::InventoryCounted(Count {
                    sku: sku.clone(),
                    location: loc.clone(),
                    quantity: q,
                    count_type: if step == "stock_taking" { CountType::Full } else { CountType::Cycle },
                    person: None,
                })),
                "destroying" | "decommissioning" => Some(EventBody::InventoryScrapped(Scrap {
                    sku: sku.clone(),
                    quantity: q,
                    from_location: loc.clone(),
                    reason: step.clone(),
                    approver: None,
                    person: None,
                })),
                _ => None,
            },
            _ => None,
        };
        let body = body.unwrap_or_else(|| {
            EventBody::InventoryObserved(Sighting {
                sku: sku.clone(),
                quantity,
                location: location.clone(),
                detail: biz_step.clone().or_else(|| Some(event_type.clone())),
            })
        });
        let id = match (&sku, several) {
            (Some(s), true) => format!("{base_id}#{s}"),
            (None, true) => format!("{base_id}#other"),
            _ => base_id.clone(),
        };
        let event = Event {
            id: stockade_model::EventId::new(id).map_err(|e| format!("eventID {e}"))?,
            source: source.clone(),
            site: site.clone(),
            occurred_at,
            received_at: None,
            epcis: Some(Box::new(origin.clone())),
            flags: flags.clone(),
            body,
        };
        event.validate().map_err(|e| e.to_string())?;
        out.push(event);
    }
    Ok(out)
}
