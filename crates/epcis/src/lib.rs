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

pub mod hash;
/// GS1 keys inside EPCs (the model's `gs1`, where reference data uses them too).
pub use stockade_model::gs1 as keys;
pub mod map;
pub mod validate;
pub mod xml;

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
