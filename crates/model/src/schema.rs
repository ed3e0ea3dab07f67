//! JSON Schema of the canonical event and of reference data, generated from
//! the Rust types so that documentation can never drift from the code.

use crate::event::Event;
use crate::reference::ReferenceData;

/// JSON Schema (draft 2020-12) of one canonical event.
pub fn events_schema() -> serde_json::Value {
    let mut s = serde_json::to_value(schemars::schema_for!(Event)).unwrap_or_default();
    if let Some(o) = s.as_object_mut() {
        o.insert("$id".into(), "https://stockade.dev/schema/events.json".into());
    }
    s
}

/// JSON Schema of a reference data set (the YAML import file).
pub fn reference_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ReferenceData)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_schema_lists_every_kind() {
        let s = super::events_schema().to_string();
        for k in crate::EventKind::ALL {
            assert!(s.contains(&format!("\"{}\"", k.as_str())), "{} missing", k.as_str());
        }
    }

    /// The checked-in copy in docs/ must match the types; regenerate with
    /// `cargo xtask schema`.
    #[test]
    fn checked_in_schema_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/events.schema.json");
        let on_disk = std::fs::read_to_string(path).expect("docs/events.schema.json exists");
        let current = serde_json::to_string_pretty(&super::events_schema()).unwrap() + "\n";
        assert!(on_disk == current, "docs/events.schema.json is stale: run `cargo xtask schema`");
    }
}
