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

/// Every field a canonical event can carry (the envelope's and every
/// kind's), from its JSON Schema: one source for what a field is called.
pub fn event_fields() -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    properties(&events_schema(), &mut out);
    out
}

/// Every field a reference record can carry, from its JSON Schema.
pub fn reference_fields() -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    properties(&reference_schema(), &mut out);
    out
}

/// Collects every `properties` key of a JSON Schema.
fn properties(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::Object(props)) = m.get("properties") {
                out.extend(props.keys().cloned());
            }
            m.values().for_each(|x| properties(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| properties(x, out)),
        _ => {}
    }
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
