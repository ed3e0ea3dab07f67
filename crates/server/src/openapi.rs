//! The OpenAPI 3.1 document: paths from the handlers' annotations, and the
//! event and reference schemas generated from the model's Rust types (the
//! same ones served at `/api/v1/schema/events`), so the two cannot drift.

use serde_json::Value;

/// Moves a JSON Schema's `$defs` into OpenAPI components and rewrites refs.
fn graft(components: &mut serde_json::Map<String, Value>, name: &str, mut schema: Value) {
    if let Some(obj) = schema.as_object_mut() {
        if let Some(Value::Object(defs)) = obj.remove("$defs") {
            for (k, v) in defs {
                components.insert(k, v);
            }
        }
        obj.remove("$schema");
        obj.remove("$id");
    }
    components.insert(name.to_owned(), schema);
}

fn rewrite_refs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "$ref" {
                    if let Value::String(s) = x
                        && let Some(rest) = s.strip_prefix("#/$defs/")
                    {
                        *s = format!("#/components/schemas/{rest}");
                    }
                } else {
                    rewrite_refs(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

/// The complete document as JSON.
pub fn document(api: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(api).unwrap_or_default();
    let mut events = stockade_model::schema::events_schema();
    let mut reference = stockade_model::schema::reference_schema();
    rewrite_refs(&mut events);
    rewrite_refs(&mut reference);
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        graft(schemas, "Event", events);
        graft(schemas, "ReferenceData", reference);
    }
    if let Some(o) = doc.as_object_mut() {
        o.insert("openapi".into(), "3.1.0".into());
    }
    doc
}
