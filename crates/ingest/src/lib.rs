//! Adapters from what customers' systems send to canonical events.
//!
//! Everything here is pure: bytes in, events or per-line errors out. Nothing
//! is stored here and no clock is read (the receive time is passed in).
//!
//! Invariants:
//! - One bad line never hides another: every line gets its own outcome.
//! - A rejection names the line and, where known, the field.
//! - Nothing here knows storage: an accepted event is made storable by
//!   `stockade_model::NewEvent::prepare`.
#![forbid(unsafe_code)]

pub mod csv_map;
pub mod reference_files;

use serde::Serialize;
use stockade_model::{Event, EventError, ReferenceIndex};

/// Why one line was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// 1-based line (NDJSON, CSV data row counting the header) or event number.
    pub line: usize,
    /// The field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "line {}: field `{field}`: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

impl LineError {
    pub fn new(line: usize, field: Option<&str>, reason: impl Into<String>) -> LineError {
        LineError { line, field: field.map(str::to_owned), reason: reason.into() }
    }

    fn from_event_error(line: usize, e: EventError) -> LineError {
        match e {
            EventError::Invalid(i) => LineError::new(line, Some(i.field), i.reason),
            EventError::Syntax(m) => LineError::new(line, None, format!("malformed JSON: {m}")),
            EventError::Data(m) => {
                let field = field_of(&m);
                LineError::new(line, field.as_deref(), m)
            }
        }
    }
}

/// Pulls the field name out of serde messages such as "missing field `door`".
fn field_of(msg: &str) -> Option<String> {
    for prefix in ["missing field `", "field `", "duplicate field `"] {
        if let Some(i) = msg.find(prefix) {
            let rest = &msg[i + prefix.len()..];
            return rest.find('`').map(|j| rest[..j].to_owned());
        }
    }
    None
}

/// What to do with events that name entities the reference data does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownEntities {
    /// Accept, and flag the event (`unknown_door:D-7`) for data-quality review.
    #[default]
    Flag,
    /// Reject the event.
    Reject,
}

/// Parses one NDJSON line (1-based `line` for messages).
pub fn parse_line(line: usize, bytes: &[u8]) -> Result<Event, LineError> {
    Event::from_json(bytes).map_err(|e| LineError::from_json_line(line, e))
}

impl LineError {
    fn from_json_line(line: usize, e: EventError) -> LineError {
        // serde_json counts lines within the one line we gave it: drop its
        // "at line 1" so only our line number shows.
        let mut err = LineError::from_event_error(line, e);
        if let Some(i) = err.reason.find(" at line 1 column ") {
            let col = err.reason[i + " at line 1 column ".len()..].to_owned();
            err.reason.truncate(i);
            err.reason.push_str(&format!(" (column {col})"));
        }
        err
    }
}

/// Splits an NDJSON body into (1-based line number, bytes), skipping blank lines.
pub fn ndjson_lines(body: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    body.split(|b| *b == b'\n').enumerate().filter_map(|(i, l)| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        if l.iter().all(u8::is_ascii_whitespace) { None } else { Some((i + 1, l)) }
    })
}

/// Parses every line of an NDJSON body; line numbers start at `first`.
/// The vector is sized up front: growing a vector of parsed events copied
/// each of them twice.
pub fn parse_ndjson(body: &[u8], first: usize) -> Vec<(usize, Result<Event, LineError>)> {
    let mut out = Vec::with_capacity(body.iter().filter(|&&b| b == b'\n').count() + 1);
    out.extend(ndjson_lines(body).map(|(i, l)| {
        let n = first + i - 1;
        (n, parse_line(n, l))
    }));
    out
}

/// Applies the unknown-entity policy to a parsed event.
pub fn check_references(
    line: usize,
    mut ev: Event,
    known: &ReferenceIndex,
    policy: UnknownEntities,
) -> Result<Event, LineError> {
    // An account or badge the reference data knows names its person.
    ev.fill_person(known);
    // Borrowed ids: the common case (everything known) allocates nothing.
    let unknown: Vec<(stockade_model::EntityType, String)> = ev
        .entity_ids()
        .into_iter()
        .filter(|(t, id)| !known.contains_id(*t, id))
        .map(|(t, id)| (t, id.to_owned()))
        .collect();
    if unknown.is_empty() {
        return Ok(ev);
    }
    match policy {
        UnknownEntities::Reject => {
            let (t, id) = &unknown[0];
            Err(LineError::new(
                line,
                Some(t.as_str()),
                format!(
                    "unknown {} {id:?}: load it as reference data first (stockade import) or accept unknown entities with --unknown-entities flag",
                    t.as_str()
                ),
            ))
        }
        UnknownEntities::Flag => {
            for (t, id) in unknown {
                let flag = format!("unknown_{}:{id}", t.as_str());
                if !ev.flags.contains(&flag) {
                    ev.flags.push(flag);
                }
            }
            Ok(ev)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockade_model::ReferenceData;

    const OK: &str = r#"{"id":"a1","source":"acs","site":"LYS","occurred_at":"2026-11-02T22:14:07+01:00","kind":"access.granted","door":"D1","badge":"B1"}"#;

    #[test]
    fn lines_are_numbered_from_one_and_blank_lines_skipped() {
        let body = format!("{OK}\n\n  \r\n{OK}\r\n");
        let lines: Vec<_> = ndjson_lines(body.as_bytes()).map(|(n, _)| n).collect();
        assert_eq!(lines, [1, 4]);
    }

    /// An account or badge the reference data knows names its person; a
    /// person the event names is kept; an unknown account names no one.
    #[test]
    fn accounts_and_badges_name_their_person() {
        let data: ReferenceData = serde_json::from_value(serde_json::json!({
            "people": [{"id": "P-3", "name": "Lea", "role": "picker", "status": "active", "accounts": ["lmorel"]}],
            "badges": [{"id": "B1", "person": "P-3", "status": "active"}]
        }))
        .unwrap();
        let known = ReferenceIndex::new(&data);
        let person = |json: &str| {
            let ev =
                check_references(1, parse_line(1, json.as_bytes()).unwrap(), &known, UnknownEntities::Flag).unwrap();
            serde_json::to_value(&ev).unwrap()["person"].as_str().map(str::to_owned)
        };
        let adj = r#"{"id":"1","source":"wms","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"inventory.adjusted","sku":"K","location":"A","delta":-3,"reason":"damaged","account":"lmorel"}"#;
        assert_eq!(person(adj).as_deref(), Some("P-3"));
        assert_eq!(person(&adj.replace("lmorel", "someone")), None, "an account nobody owns");
        assert_eq!(
            person(&adj.replace(r#""account":"lmorel""#, r#""account":"lmorel","person":"P-9""#)).as_deref(),
            Some("P-9")
        );
        assert_eq!(person(OK).as_deref(), Some("P-3"), "badge B1 is Lea's");
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = parse_line(7, OK.replace(r#","badge":"B1""#, "").as_bytes()).unwrap_err();
        assert_eq!(e.line, 7);
        assert_eq!(e.field.as_deref(), Some("badge"));
        assert!(e.to_string().starts_with("line 7: field `badge`: missing field"), "{e}");
        assert!(!e.reason.contains("at line 1"), "{e}");
        let e = parse_line(3, b"{nope").unwrap_err();
        assert!(e.reason.starts_with("malformed JSON"), "{e}");
        let e = parse_line(3, OK.replace("+01:00", "").as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), None);
        assert!(e.reason.contains("no UTC offset"), "{e}");
    }

    #[test]
    fn unknown_entities_flag_or_reject() {
        let ev = parse_line(1, OK.as_bytes()).unwrap();
        let empty = ReferenceIndex::new(&ReferenceData::default());
        let flagged = check_references(1, ev.clone(), &empty, UnknownEntities::Flag).unwrap();
        assert!(flagged.flags.contains(&"unknown_door:D1".to_string()), "{:?}", flagged.flags);
        assert!(flagged.flags.contains(&"unknown_site:LYS".to_string()));
        let rejected = check_references(1, ev, &empty, UnknownEntities::Reject).unwrap_err();
        assert_eq!(rejected.field.as_deref(), Some("site"));
        assert!(rejected.reason.contains("unknown site \"LYS\""), "{rejected}");
    }
}
