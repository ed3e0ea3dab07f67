//! Validation of EPCIS 2.0 JSON documents against GS1's JSON Schema.
//!
//! We validate with format checks on (`date-time`, `uri`), which is what
//! makes the schema enforce the CBV vocabularies: a business step must be a
//! CBV word (`shipping`) or a URI, so `transforming` is refused.
//!
//! Errata applied to the 2023-05 schema (each needed by a valid document of
//! the OpenEPCIS conformance set, and each allowed by EPCIS 2.0 / CBV 2.0):
//! 1. `persistentDisposition` is allowed on Aggregation and Association
//!    events (EPCIS 2.0 §7.4.1 lists it for every event type);
//! 2. a `sensorReport` needs `type` *or* `exception` (EPCIS 2.0 §7.3.8.2:
//!    an exception report has no measurement type);
//! 3. measurement types added to the GS1 Web Vocabulary after the schema
//!    (`Molar_concentration`, `EffectiveDoseRate`) are accepted.

use serde_json::Value;
use std::sync::OnceLock;

/// GS1's schema with the errata below applied (`schema/SOURCE.txt`; a unit
/// test rebuilds it from GS1's file and fails if they differ).
const SCHEMA: &str = include_str!("../schema/EPCIS-JSON-Schema.errata.json");

/// The same schema compiled into Rust at build time: the check every
/// document takes. The run-time validator built from it ([`validator`])
/// lists the errors of a document this one refuses, and validates XML.
#[jsonschema::validator(
    path = "schema/EPCIS-JSON-Schema.errata.json",
    draft = Draft7,
    validate_formats = true,
    methods = { is_valid = true, validate = false, iter_errors = false }
)]
struct Compiled;

/// The same schema's rule for one member of an event list, compiled: what
/// the one-pass capture checks each event with ([`event_is_valid`]).
#[jsonschema::validator(
    schema = r#"{"$ref": "https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json#/definitions/EPCIS-Document-Event"}"#,
    resources = { "https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json" => { path = "schema/EPCIS-JSON-Schema.errata.json" } },
    draft = Draft7,
    validate_formats = true,
    methods = { is_valid = true, validate = false, iter_errors = false }
)]
struct CompiledEvent;

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DocumentError {
    #[error("malformed JSON: {0}")]
    Json(String),
    #[error("not a valid EPCIS 2.0 document:\n  {}", .0.join("\n  "))]
    Invalid(Vec<String>),
    #[error("the EPCIS schema could not be loaded: {0}")]
    Schema(String),
}

/// The XML binding (its XSD) has no uniqueness constraint on lists, so a
/// converted XML document is not held to JSON's `uniqueItems`.
fn drop_unique_items(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("uniqueItems");
            m.values_mut().for_each(drop_unique_items);
        }
        Value::Array(a) => a.iter_mut().for_each(drop_unique_items),
        _ => {}
    }
}

fn build(for_xml: bool) -> Result<jsonschema::Validator, String> {
    let mut schema: Value = serde_json::from_str(SCHEMA).map_err(|e| e.to_string())?;
    if for_xml {
        drop_unique_items(&mut schema);
    }
    jsonschema::draft7::options().should_validate_formats(true).build(&schema).map_err(|e| e.to_string())
}

fn validator(for_xml: bool) -> Result<&'static jsonschema::Validator, DocumentError> {
    static JSON: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    static XML: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    let cell = if for_xml { &XML } else { &JSON };
    cell.get_or_init(|| build(for_xml)).as_ref().map_err(|e| DocumentError::Schema(e.clone()))
}

/// At most this many errors are listed for one document.
const MAX_ERRORS: usize = 20;

/// Parses and validates a JSON / JSON-LD capture document. Errors name the
/// JSON pointer of the offending value (`/epcisBody/eventList/1/bizStep`).
pub fn validate(bytes: &[u8]) -> Result<Value, DocumentError> {
    let doc = crate::json::parse(bytes).map_err(|e| DocumentError::Json(e.to_string()))?;
    validate_value(doc, Vec::new(), false)
}

/// Validates a JSON document already parsed (as [`validate`] does after parsing).
pub fn validate_parsed(doc: Value) -> Result<Value, DocumentError> {
    validate_value(doc, Vec::new(), false)
}

/// Parses an XML capture document, converts it to its JSON-LD form
/// ([`crate::xml`]) and validates that, so both syntaxes obey one set of rules.
/// Errors point into the JSON form (`/epcisBody/eventList/0/action`).
pub fn validate_xml(bytes: &[u8]) -> Result<Value, DocumentError> {
    let (doc, problems) = crate::xml::to_json_checked(bytes)?;
    validate_value(doc, problems, true)
}

fn validate_value(doc: Value, mut errors: Vec<String>, for_xml: bool) -> Result<Value, DocumentError> {
    // Valid documents (nearly all) take the fast check; only an invalid one
    // pays for collecting where and why.
    let valid = if for_xml { validator(true)?.is_valid(&doc) } else { Compiled::is_valid(&doc) };
    if !valid {
        let v = validator(for_xml)?;
        let before = errors.len();
        errors.extend(v.iter_errors(&doc).take(MAX_ERRORS).map(|e| {
            let at = e.instance_path().to_string();
            format!("{}: {}", if at.is_empty() { "/" } else { &at }, short(&e.to_string()))
        }));
        // The two validators implement one schema and agree on every
        // conformance document (tests); should they ever disagree, the
        // document is refused, never let through.
        if errors.len() == before {
            errors.push("/: not valid under the EPCIS 2.0 JSON Schema".to_owned());
        }
    }
    // RFC 3339 is stricter than what `date-time` lets through in places (a
    // leap second, lowercase `t`); the canonical model needs RFC 3339.
    for (i, ev) in crate::event_list(&doc).iter().enumerate() {
        if let Some(t) = ev.get("eventTime").and_then(Value::as_str)
            && let Err(e) = stockade_model::event::rfc3339::parse(t)
        {
            errors.push(format!("/epcisBody/eventList/{i}/eventTime: {e}"));
        }
    }
    if errors.is_empty() { Ok(doc) } else { Err(DocumentError::Invalid(errors)) }
}

/// Whether an event is valid as a member of a document's event list, and
/// its `eventTime` RFC 3339 (as [`validate`] checks). GS1's schema checks
/// each member of `eventList` on its own (`items`, nothing else looks into
/// the list), so a document is valid exactly when it is with its event lists
/// emptied ([`header_is_valid`]) and each of its events is valid here; the
/// tests hold the two routes to one verdict on the conformance corpus
/// ([`valid_by_parts`]).
pub(crate) fn event_is_valid(ev: &Value) -> bool {
    CompiledEvent::is_valid(ev)
        && ev.get("eventTime").and_then(Value::as_str).is_none_or(|t| stockade_model::event::rfc3339::parse(t).is_ok())
}

/// Whether a document whose event lists were emptied is valid (see [`event_is_valid`]).
pub(crate) fn header_is_valid(doc: &Value) -> bool {
    Compiled::is_valid(doc)
}

/// A document's verdict taken by parts, as the one-pass capture takes it:
/// the document with its event lists emptied, then each event (tests).
#[doc(hidden)]
pub fn valid_by_parts(doc: &Value) -> bool {
    let mut header = doc.clone();
    let mut events = Vec::new();
    for p in ["/epcisBody/eventList", "/epcisBody/queryResults/resultsBody/eventList"] {
        if let Some(Value::Array(items)) = header.pointer_mut(p) {
            events.append(items);
        }
    }
    header_is_valid(&header) && events.iter().all(event_is_valid)
}

/// Keeps schema messages readable: a whole event echoed back is cut.
fn short(msg: &str) -> String {
    if msg.len() > 300 {
        format!("{}...", &msg[..msg.char_indices().nth(300).map_or(msg.len(), |(i, _)| i)])
    } else {
        msg.to_owned()
    }
}

/// Whether the compiled and the run-time validator give one verdict on a
/// JSON document (tests hold them to it on the conformance corpus).
#[doc(hidden)]
pub fn validators_agree(doc: &Value) -> Result<bool, DocumentError> {
    Ok(Compiled::is_valid(doc) == validator(false)?.is_valid(doc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The errata, applied to GS1's schema as published.
    fn errata(schema: &mut Value) {
        for ev in ["AggregationEvent", "AssociationEvent"] {
            let p = format!("/definitions/{ev}/allOf/1/propertyNames/anyOf/1/enum");
            if let Some(Value::Array(names)) = schema.pointer_mut(&p)
                && !names.contains(&json!("persistentDisposition"))
            {
                names.push(json!("persistentDisposition"));
            }
        }
        if let Some(report) = schema.pointer_mut("/definitions/sensorReport").and_then(Value::as_object_mut)
            && report.remove("required").is_some()
        {
            report.insert("anyOf".into(), json!([{"required": ["type"]}, {"required": ["exception"]}]));
        }
        if let Some(Value::Array(kinds)) = schema.pointer_mut("/definitions/measurementType/anyOf/1/enum") {
            for k in ["Molar_concentration", "EffectiveDoseRate"] {
                if !kinds.contains(&json!(k)) {
                    kinds.push(json!(k));
                }
            }
        }
    }

    #[test]
    fn the_schema_used_is_gs1s_with_the_three_errata_and_nothing_else() {
        let mut from_gs1: Value = serde_json::from_str(include_str!("../schema/EPCIS-JSON-Schema.json")).unwrap();
        let unpatched = from_gs1.clone();
        errata(&mut from_gs1);
        let used: Value = serde_json::from_str(SCHEMA).unwrap();
        assert_ne!(unpatched, used, "the errata are applied");
        assert_eq!(
            from_gs1, used,
            "schema/EPCIS-JSON-Schema.errata.json must be GS1's schema with `errata` applied: regenerate it"
        );
    }
}
