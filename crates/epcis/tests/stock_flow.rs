//! The stock-flow table of `docs/BOOK.md`, held: for each business step and
//! each combination of `readPoint`, `bizLocation`, `sourceList` and
//! `destinationList` a feed uses, the canonical event an EPCIS event becomes
//! and what it does to the book. The table in the doc is rendered from these
//! rows; a test fails when the two disagree.

use stockade_epcis::{Directory, keys, map_document, validate};
use stockade_model::book::{Flow, Pool, movements};
use stockade_model::{Event, EventBody, ReferenceData, SiteId, SourceId, StorageLocation as Location};

/// A location as a row names it.
#[derive(Clone, Copy)]
enum At {
    None,
    /// The site's own SGLN (extension 0): the site, no place in it.
    Site,
    /// A registered location: `BIN`, `DOCK`, `PACK`, `STAGE`.
    Place(&'static str),
}

struct Row {
    step: &'static str,
    read_point: At,
    biz_location: At,
    source: At,
    destination: At,
    quantity: u32,
    /// The canonical event, as [`event_summary`] writes it.
    event: &'static str,
}

const fn row(
    step: &'static str,
    read_point: At,
    biz_location: At,
    source: At,
    destination: At,
    event: &'static str,
) -> Row {
    Row { step, read_point, biz_location, source, destination, quantity: 5, event }
}

use At::{None as No, Place as P, Site as S};

const ROWS: &[Row] = &[
    row("receiving", P("DOCK"), S, No, No, "inventory.received to the received state"),
    row("receiving", P("DOCK"), No, No, No, "inventory.received to DOCK"),
    row("receiving", P("DOCK"), P("DOCK"), No, No, "inventory.received to DOCK"),
    row("receiving", P("DOCK"), S, No, P("STAGE"), "inventory.received to STAGE"),
    row("receiving/returned", P("DOCK"), S, No, No, "inventory.returned to the received state"),
    row("storing", P("BIN"), P("BIN"), No, No, "inventory.put_away from the received state to BIN"),
    row("storing", P("BIN"), S, No, No, "inventory.put_away from the received state to BIN"),
    row("storing", P("BIN"), P("BIN"), P("DOCK"), No, "inventory.put_away from DOCK to BIN"),
    row("storing", S, S, No, P("BIN"), "inventory.put_away from the received state to BIN"),
    row("storing", S, S, No, No, "inventory.observed, flagged unresolved_location"),
    row("picking", P("BIN"), S, No, No, "inventory.picked from BIN to the picked state"),
    row("picking", P("BIN"), P("BIN"), No, No, "inventory.picked from BIN to the picked state"),
    row("picking", P("BIN"), P("STAGE"), No, No, "inventory.picked from BIN to STAGE"),
    row("picking", S, S, P("BIN"), P("PACK"), "inventory.picked from BIN to PACK"),
    row("picking", S, S, No, No, "inventory.observed, flagged unresolved_location"),
    row("packing", P("PACK"), S, No, No, "inventory.packed at PACK"),
    row("shipping", P("DOCK"), No, No, No, "inventory.shipped from DOCK"),
    row("shipping", S, No, No, No, "inventory.shipped from the picked state"),
    row("shipping", P("DOCK"), No, P("PACK"), No, "inventory.shipped from PACK"),
    row("departing", P("DOCK"), No, No, No, "inventory.shipped from DOCK"),
    row("cycle_counting", P("BIN"), P("BIN"), No, No, "inventory.counted (cycle) at BIN"),
    row("cycle_counting", P("BIN"), S, No, No, "inventory.counted (cycle) at BIN"),
    Row { quantity: 0, ..row("cycle_counting", P("BIN"), P("BIN"), No, No, "inventory.counted (cycle) at BIN") },
    row("stock_taking", P("BIN"), P("BIN"), No, No, "inventory.counted (full) at BIN"),
    row("cycle_counting", S, S, No, No, "inventory.observed, flagged unresolved_location"),
    row("destroying", P("BIN"), S, No, No, "inventory.scrapped from BIN"),
    row("decommissioning", P("BIN"), No, No, No, "inventory.scrapped from BIN"),
    row("inspecting", P("BIN"), P("BIN"), No, No, "inventory.observed"),
];

const COMPANY: &str = "0012345";
const LOCATION_REF: &str = "11111";
const CLASS: &str = "urn:epc:class:lgtin:0614141.107346.LOT1";

fn sgln(at: At) -> Option<String> {
    match at {
        At::None => None,
        At::Site => Some(format!("urn:epc:id:sgln:{COMPANY}.{LOCATION_REF}.0")),
        At::Place(p) => Some(format!("urn:epc:id:sgln:{COMPANY}.{LOCATION_REF}.{p}")),
    }
}

fn reference() -> ReferenceData {
    let site_gln = keys::location_key(&sgln(At::Site).unwrap()).unwrap();
    let json = serde_json::json!({
        "sites": [{"id": "LYS", "name": "Lyon", "timezone": "Europe/Paris", "gln": site_gln}],
        "zones": [{"id": "Z", "site": "LYS", "name": "Floor", "tier": "general"}],
        "skus": [{"id": "PHONE", "unit_value": 500.0, "value_tier": "high", "gtin": "10614141073464"}],
    });
    let mut data: ReferenceData = serde_json::from_value(json).unwrap();
    for id in ["BIN", "DOCK", "PACK", "STAGE"] {
        data.locations.push(Location {
            id: stockade_model::LocationId::new(id).unwrap(),
            site: SiteId::new("LYS").unwrap(),
            zone: stockade_model::ZoneId::new("Z").unwrap(),
            sgln: sgln(At::Place(id)),
        });
    }
    data
}

fn document(r: &Row) -> String {
    let (step, disposition) = r.step.split_once('/').map_or((r.step, None), |(s, d)| (s, Some(d)));
    let mut ev = serde_json::json!({
        "type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-11-02T08:00:00Z",
        "eventTimeZoneOffset": "+00:00", "bizStep": step,
        "quantityList": [{"epcClass": CLASS, "quantity": r.quantity}],
    });
    if let Some(d) = disposition {
        ev["disposition"] = d.into();
    }
    if let Some(l) = sgln(r.read_point) {
        ev["readPoint"] = serde_json::json!({"id": l});
    }
    if let Some(l) = sgln(r.biz_location) {
        ev["bizLocation"] = serde_json::json!({"id": l});
    }
    if let Some(l) = sgln(r.source) {
        ev["sourceList"] = serde_json::json!([{"type": "location", "source": l}]);
    }
    if let Some(l) = sgln(r.destination) {
        ev["destinationList"] = serde_json::json!([{"type": "location", "destination": l}]);
    }
    serde_json::json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-11-02T08:00:00Z",
        "epcisBody": {"eventList": [ev]},
    })
    .to_string()
}

fn map(r: &Row) -> Event {
    let doc = validate(document(r).as_bytes()).unwrap_or_else(|e| panic!("{}: {e}", r.step));
    let mut mapped = map_document(&doc, &Directory::new(&reference()), &SourceId::new("wms").unwrap(), None);
    assert_eq!(mapped.len(), 1);
    mapped.remove(0).1.unwrap_or_else(|e| panic!("{}: {e}", r.step))
}

fn state(loc: Option<&stockade_model::LocationId>, pool: &str) -> String {
    loc.map_or(format!("the {pool} state"), |l| l.to_string())
}

/// The canonical event in a few words.
fn event_summary(ev: &Event) -> String {
    let kind = ev.kind().as_str();
    match &ev.body {
        EventBody::InventoryReceived(r) | EventBody::InventoryReturned(r) => {
            format!("{kind} to {}", state(r.to_location.as_ref(), "received"))
        }
        EventBody::InventoryPutAway(t) => {
            format!("{kind} from {} to {}", state(t.from_location.as_ref(), "received"), t.to_location)
        }
        EventBody::InventoryPicked(p) => {
            format!("{kind} from {} to {}", p.from_location, state(p.to_location.as_ref(), "picked"))
        }
        EventBody::InventoryPacked(p) => format!("{kind} at {}", state(p.location.as_ref(), "no")),
        EventBody::InventoryShipped(s) => format!("{kind} from {}", state(s.from_location.as_ref(), "picked")),
        EventBody::InventoryCounted(c) => {
            let ty = serde_json::to_value(c.count_type).unwrap();
            format!("{kind} ({}) at {}", ty.as_str().unwrap(), c.location)
        }
        EventBody::InventoryScrapped(s) => format!("{kind} from {}", s.from_location),
        _ if ev.flags.is_empty() => kind.to_string(),
        _ => {
            let reasons: Vec<&str> = ev.flags.iter().map(|f| f.split(':').next().unwrap_or(f)).collect();
            format!("{kind}, flagged {}", reasons.join(", "))
        }
    }
}

/// What the event does to the book, in a few words.
fn book_summary(ev: &Event) -> String {
    let counted = match &ev.body {
        EventBody::InventoryCounted(c) => Some(format!("compared with the book at {}", c.location)),
        _ => None,
    };
    let mut parts: Vec<String> = movements(ev)
        .iter()
        .map(|m| {
            let place = match m.location.as_str() {
                l if l == Pool::Received.location() => "the received state".to_string(),
                l if l == Pool::Picked.location() => "the picked state".to_string(),
                l => l.to_string(),
            };
            let sign = if m.delta < 0.0 { "−q" } else { "+q" };
            match m.flow {
                Flow::Draws(Pool::Received) if m.location.as_str() == Pool::Received.location() => {
                    format!("{sign} {place}")
                }
                Flow::Draws(Pool::Received) => format!("{sign} {place}, else the received state"),
                Flow::Draws(Pool::Picked) if m.location.as_str() == Pool::Picked.location() => {
                    format!("{sign} {place}")
                }
                Flow::Draws(Pool::Picked) => format!("{sign} {place}, else the picked state"),
                Flow::FromKnown(_) => format!("{sign} {place} (the received state if the book never saw {place})"),
                _ => format!("{sign} {place}"),
            }
        })
        .collect();
    parts.extend(counted);
    if parts.is_empty() { "nothing".into() } else { parts.join("; ") }
}

fn cell(at: At) -> &'static str {
    match at {
        At::None => "",
        At::Site => "site",
        At::Place(p) => p,
    }
}

/// The table as `docs/BOOK.md` shows it.
fn table() -> String {
    let mut out = String::from(
        "| business step | readPoint | bizLocation | sourceList | destinationList | event | the book |\n|---|---|---|---|---|---|---|\n",
    );
    for r in ROWS {
        let ev = map(r);
        let step = if r.quantity == 0 { format!("{} (0 units)", r.step) } else { r.step.to_string() };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            step.replace('/', ", disposition "),
            cell(r.read_point),
            cell(r.biz_location),
            cell(r.source),
            cell(r.destination),
            event_summary(&ev),
            book_summary(&ev)
        ));
    }
    out
}

#[test]
fn each_step_and_combination_books_as_the_table_says() {
    for r in ROWS {
        let ev = map(r);
        assert_eq!(event_summary(&ev), r.event, "{} {}", r.step, document(r));
        assert_eq!(ev.site.as_str(), "LYS");
        if r.quantity == 0 {
            assert!(
                matches!(ev.body, EventBody::InventoryCounted(ref c) if c.quantity == 0.0),
                "a zero count is a count"
            );
        }
    }
}

#[test]
fn the_doc_shows_the_table_the_code_follows() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/BOOK.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let want = table();
    assert!(
        doc.contains(&want),
        "docs/BOOK.md does not show the stock-flow table the code follows; it should hold:\n\n{want}"
    );
}

/// An SGLN of the site's GLN with an extension nobody registered is a place
/// of that site from first sight, flagged until it is registered.
#[test]
fn an_unregistered_location_of_a_known_site_is_used_and_flagged() {
    let r = row("cycle_counting", P("A-07"), P("A-07"), No, No, "");
    let mut reference = reference();
    reference.locations.retain(|l| l.id.as_str() != "A-07");
    let doc = validate(document(&r).as_bytes()).unwrap();
    let mapped = map_document(&doc, &Directory::new(&reference), &SourceId::new("wms").unwrap(), None);
    let ev = mapped[0].1.as_ref().unwrap();
    assert_eq!(event_summary(ev), "inventory.counted (cycle) at A-07");
    assert_eq!(ev.flags, vec!["unconfirmed_location:LYS/A-07".to_string()]);
    // Registered (by id, with no SGLN), it is confirmed.
    reference.locations.push(Location {
        id: stockade_model::LocationId::new("A-07").unwrap(),
        site: SiteId::new("LYS").unwrap(),
        zone: stockade_model::ZoneId::new("Z").unwrap(),
        sgln: None,
    });
    let mapped = map_document(&doc, &Directory::new(&reference), &SourceId::new("wms").unwrap(), None);
    assert!(mapped[0].1.as_ref().unwrap().flags.is_empty());
}
