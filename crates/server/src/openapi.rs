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
    document_refusals(&mut doc);
    doc
}

/// The refusals every operation of a kind can answer, documented where an
/// annotation left them out, so the document says exactly what the server
/// does: 401 and 403 where a token is needed (and on `/tlog/`, open only
/// with `--public-tlog`); 400 for malformed parameters; 400, 408, 413, 415
/// and 503 where a body is read (`crate::body`).
fn document_refusals(doc: &mut Value) {
    let refusal = |description: &str| {
        serde_json::json!({
            "description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        })
    };
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, op) in item.iter_mut() {
            if !["get", "put", "post", "delete", "patch", "head", "options"].contains(&method.as_str()) {
                continue;
            }
            let Some(op) = op.as_object_mut() else { continue };
            let secured = op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty())
                || path.starts_with("/tlog/");
            let has_params = op.get("parameters").and_then(Value::as_array).is_some_and(|p| !p.is_empty());
            let has_body = op.contains_key("requestBody");
            let mut wanted: Vec<(&str, &str)> = Vec::new();
            if secured {
                wanted.push(("401", "no token, or one that is unknown, revoked or expired"));
                wanted.push(("403", "the token's role does not allow this"));
            }
            if has_params || has_body {
                wanted.push(("400", "a malformed parameter or body"));
            }
            if has_body {
                wanted.push(("408", "the body arrived too slowly"));
                wanted.push(("413", "the body is larger than the server accepts"));
                wanted.push(("415", "the body's content type is not accepted here"));
                wanted.push(("503", "too many large bodies at once; retry after the time in Retry-After"));
            }
            let Some(responses) = op.entry("responses").or_insert_with(|| serde_json::json!({})).as_object_mut() else {
                continue;
            };
            for (status, description) in wanted {
                responses.entry(status).or_insert_with(|| refusal(description));
            }
        }
    }
}
