//! GS1 EPCIS 2.0 capture: validation of JSON / JSON-LD documents and their
//! mapping onto Stockade's canonical inventory events.
//!
//! Invariants:
//! - A document is captured whole or not at all: [`validate`] runs first and
//!   any error refuses the document, naming the event and the field.
//! - Validation is GS1's own JSON Schema (with format checks, so CBV words
//!   and URIs are enforced) plus three errata documented in [`validate`].
//! - Mapping is pure: reference data comes in as a [`Directory`], the
//!   receive time is not read here, and every EPCIS event yields at least one
//!   canonical event (an `inventory.observed` when it moves nothing the book
//!   tracks), so nothing captured is silently dropped.
#![forbid(unsafe_code)]

pub mod capture;
pub mod hash;
pub mod json;
/// GS1 keys inside EPCs (the model's `gs1`, where reference data uses them too).
pub use stockade_model::gs1 as keys;
pub mod map;
pub mod validate;
pub mod xml;

pub use capture::capture_json;
pub use map::{Directory, UNKNOWN_SITE, UNRESOLVED_SITE, map_document};
pub use validate::{DocumentError, validate, validate_xml};

/// The events of an EPCIS document or query document, in order.
pub fn event_list(doc: &serde_json::Value) -> &[serde_json::Value] {
    let body = &doc["epcisBody"];
    body.get("eventList")
        .or_else(|| body.pointer("/queryResults/resultsBody/eventList"))
        .and_then(|v| v.as_array())
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The members of an event that the hash and the mapping read, found in
/// one pass (a lookup by name hashes the name each time; an event is read
/// twice per capture).
#[derive(Default)]
pub(crate) struct Members<'a> {
    pub event_type: Option<&'a serde_json::Value>,
    pub event_time: Option<&'a serde_json::Value>,
    pub offset: Option<&'a serde_json::Value>,
    pub event_id: Option<&'a serde_json::Value>,
    pub epc_list: Option<&'a serde_json::Value>,
    pub child_epcs: Option<&'a serde_json::Value>,
    pub quantity_list: Option<&'a serde_json::Value>,
    pub child_quantity_list: Option<&'a serde_json::Value>,
    pub action: Option<&'a serde_json::Value>,
    pub biz_step: Option<&'a serde_json::Value>,
    pub disposition: Option<&'a serde_json::Value>,
    pub read_point: Option<&'a serde_json::Value>,
    pub biz_location: Option<&'a serde_json::Value>,
    pub transactions: Option<&'a serde_json::Value>,
    pub sources: Option<&'a serde_json::Value>,
    pub destinations: Option<&'a serde_json::Value>,
    /// Names of the other members, in document order.
    pub others: Vec<&'a str>,
}

impl<'a> Members<'a> {
    /// None for an event that is not a JSON object.
    pub fn of(ev: &'a serde_json::Value) -> Option<Members<'a>> {
        let mut m = Members::default();
        for (k, v) in ev.as_object()? {
            let slot = match k.as_str() {
                "type" => &mut m.event_type,
                "eventTime" => &mut m.event_time,
                "eventTimeZoneOffset" => &mut m.offset,
                "eventID" => &mut m.event_id,
                "epcList" => &mut m.epc_list,
                "childEPCs" => &mut m.child_epcs,
                "quantityList" => &mut m.quantity_list,
                "childQuantityList" => &mut m.child_quantity_list,
                "action" => &mut m.action,
                "bizStep" => &mut m.biz_step,
                "disposition" => &mut m.disposition,
                "readPoint" => &mut m.read_point,
                "bizLocation" => &mut m.biz_location,
                "bizTransactionList" => &mut m.transactions,
                "sourceList" => &mut m.sources,
                "destinationList" => &mut m.destinations,
                other => {
                    m.others.push(other);
                    continue;
                }
            };
            *slot = Some(v);
        }
        Some(m)
    }
}
