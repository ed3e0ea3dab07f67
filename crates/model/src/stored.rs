//! An event made ready to store: the one place an [`Event`] becomes bytes.
//!
//! Invariant: [`NewEvent::prepare`] is the only way an [`Event`] becomes a
//! [`NewEvent`]; it stamps the receive time, serialises canonically
//! ([`Event::canonical_bytes`]), hashes those bytes and derives the event's
//! book effects, so every adapter and every store sees the same encoding.

use crate::Event;
use crate::book::{self, Movement, Observation};

/// An event ready to store: validated, serialised, hashed, its book effects derived.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub source: String,
    /// The store's idempotency key with `source`: the event's id, and for a
    /// revision (an event loaded again after its earlier loads were
    /// retracted) the id, a unit separator and the revision, which no
    /// producer id can spell (ids hold no control character).
    pub event_id: String,
    pub kind: &'static str,
    pub site: String,
    pub occurred_us: i64,
    pub offset_s: i32,
    pub received_us: i64,
    /// SHA-256 of `payload`.
    pub hash: [u8; 32],
    /// Canonical JSON of the event.
    pub payload: String,
    pub movements: Vec<Movement>,
    pub observation: Option<Observation>,
    /// The CBV 2.0 event hash of an event captured from EPCIS (its ledger
    /// leaf carries it, so partners can find the event by it).
    pub epcis_hash: Option<String>,
}

impl NewEvent {
    /// Turns an accepted event into a storable one, stamped with its receive time.
    pub fn prepare(mut ev: Event, received_at: chrono::DateTime<chrono::Utc>) -> NewEvent {
        ev.received_at = Some(received_at);
        let payload = ev.canonical_bytes();
        let hash = Event::digest(&payload);
        let (movements, observation) = (book::movements(&ev), book::observation(&ev));
        let (kind, occurred_us, offset_s) = (ev.kind().as_str(), ev.occurred_us(), ev.offset_s());
        let epcis_hash = ev.epcis.take().map(|o| o.event_hash);
        let event_id = match ev.revision {
            Some(r) => format!("{}\x1f{r}", ev.id.as_str()),
            None => ev.id.into_string(),
        };
        NewEvent {
            // Moved, not copied: the event is not needed any more.
            source: ev.source.into_string(),
            event_id,
            kind,
            site: ev.site.into_string(),
            occurred_us,
            offset_s,
            received_us: received_at.timestamp_micros(),
            hash,
            movements,
            observation,
            epcis_hash,
            // Canonical bytes come from serde_json, which writes UTF-8 (a lossy
            // conversion cannot change them).
            payload: String::from_utf8(payload).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"{"id":"a1","source":"acs","site":"LYS","occurred_at":"2026-11-02T22:14:07+01:00","kind":"access.granted","door":"D1","badge":"B1"}"#;

    #[test]
    fn prepare_hashes_canonical_bytes_and_keeps_offset() {
        let t = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let n = NewEvent::prepare(Event::from_json(OK.as_bytes()).unwrap(), t);
        assert_eq!(n.offset_s, 3600);
        assert_eq!(n.received_us, 1_800_000_000_000_000);
        assert_eq!(n.hash, Event::digest(n.payload.as_bytes()));
        assert!(n.payload.contains(r#""received_at":"2027-01-15T08:00:00Z""#), "{}", n.payload);
        // The stored payload parses back to the same event.
        let back = Event::from_json(n.payload.as_bytes()).unwrap();
        assert_eq!(back.received_at, Some(t));
    }
}
