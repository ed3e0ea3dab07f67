//! EPCIS 2.0 XML documents as their JSON-LD equivalent (EPCIS 2.0 §10 and
//! the JSON-LD binding), so that XML capture, validation, mapping and the
//! CBV event hash share one path. Also reads EPCIS 1.2-style `extension` /
//! `baseExtension` wrappers, which 2.0 documents still carry.
//!
//! Written on top of quick-xml (a streaming parser); the conversion rules are
//! ours because no crate implements this binding.

use crate::validate::DocumentError;
use quick_xml::events::Event as X;
use serde_json::{Map, Number, Value, json};

/// A parsed element: qualified name, attributes, text, children.
#[derive(Debug, Default)]
struct Element {
    /// Qualified name; the EPCIS namespaces' own prefixes are dropped, so a
    /// standard field is `action` whether written `<action>` or `<epcis:action>`.
    name: String,
    /// `xsi:nil="true"`: the element stands for an absent value.
    nil: bool,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn local(&self) -> &str {
        self.name.rsplit(':').next().unwrap_or(&self.name)
    }

    fn text(&self) -> String {
        self.text.trim().to_owned()
    }
}

/// CBV URNs as the JSON binding's bare words (`urn:epcglobal:cbv:bizstep:shipping`
/// is `shipping`); other values are kept. Whether the word is a CBV word is
/// for validation to say.
fn bare(v: String) -> String {
    for prefix in [
        "urn:epcglobal:cbv:bizstep:",
        "urn:epcglobal:cbv:disp:",
        "urn:epcglobal:cbv:btt:",
        "urn:epcglobal:cbv:sdt:",
        "urn:epcglobal:cbv:er:",
    ] {
        if let Some(w) = v.strip_prefix(prefix) {
            return w.to_owned();
        }
    }
    v
}

/// `gs1:Temperature` as `Temperature` (sensor types and exceptions).
fn bare_gs1(v: &str) -> String {
    v.strip_prefix("gs1:").unwrap_or(v).to_owned()
}

fn err(m: impl Into<String>) -> DocumentError {
    DocumentError::Json(format!("XML: {}", m.into()))
}

/// Parses XML into elements, collecting every `xmlns:prefix` declaration.
fn parse(bytes: &[u8]) -> Result<(Element, Map<String, Value>), DocumentError> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut stack: Vec<Element> = Vec::new();
    let mut namespaces = Map::new();
    let mut root = None;
    let mut buf = Vec::new();
    let start =
        |e: &quick_xml::events::BytesStart<'_>, ns: &mut Map<String, Value>| -> Result<Element, DocumentError> {
            let mut name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
            let mut attrs = Vec::new();
            let mut nil = false;
            for a in e.attributes() {
                let a = a.map_err(|x| err(x.to_string()))?;
                let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                let value = a.unescape_value().map_err(|x| err(x.to_string()))?.into_owned();
                if let Some(prefix) = key.strip_prefix("xmlns:") {
                    ns.insert(prefix.to_owned(), Value::String(value));
                } else if key == "xsi:nil" {
                    nil = value == "true" || value == "1";
                } else if key != "xmlns" && !key.starts_with("xsi:") {
                    attrs.push((key, value));
                }
            }
            if let Some((prefix, local)) = name.split_once(':')
                && ns.get(prefix).and_then(Value::as_str).is_some_and(|u| u.starts_with("urn:epcglobal:epcis"))
            {
                name = local.to_owned();
            }
            Ok(Element { name, nil, attrs, ..Default::default() })
        };
    loop {
        let ev =
            reader.read_event_into(&mut buf).map_err(|e| err(format!("at byte {}: {e}", reader.buffer_position())))?;
        match ev {
            X::Start(e) => stack.push(start(&e, &mut namespaces)?),
            X::Empty(e) => {
                let el = start(&e, &mut namespaces)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            X::End(_) => {
                let el = stack.pop().ok_or_else(|| err("unbalanced end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            X::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().map_err(|e| err(e.to_string()))?);
                }
            }
            X::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            X::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    let c = match r.resolve_char_ref().map_err(|e| err(e.to_string()))? {
                        Some(c) => c.to_string(),
                        None => match &*String::from_utf8_lossy(&r) {
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "amp" => "&".into(),
                            "quot" => "\"".into(),
                            "apos" => "'".into(),
                            other => return Err(err(format!("unknown entity &{other};"))),
                        },
                    };
                    top.text.push_str(&c);
                }
            }
            X::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(err("the document ends inside an element"));
    }
    Ok((root.ok_or_else(|| err("no root element"))?, namespaces))
}

fn number(s: &str) -> Value {
    if let Ok(i) = s.parse::<i64>() {
        return Value::Number(i.into());
    }
    s.parse::<f64>().ok().and_then(Number::from_f64).map_or_else(|| Value::String(s.to_owned()), Value::Number)
}

const NUMERIC_ATTRS: [&str; 7] = ["value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue"];

/// Attributes (of sensor elements) as JSON fields.
fn attrs_object(e: &Element) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in &e.attrs {
        let value = if NUMERIC_ATTRS.contains(&k.as_str()) {
            number(v)
        } else if k == "booleanValue" {
            Value::Bool(v == "true" || v == "1")
        } else if k == "type" || k == "exception" {
            Value::String(bare_gs1(v))
        } else {
            Value::String(v.clone())
        };
        m.insert(k.clone(), value);
    }
    m
}

/// Adds a field, turning repeated names into arrays.
fn put(m: &mut Map<String, Value>, k: &str, v: Value) {
    match m.get_mut(k) {
        Some(Value::Array(a)) if k != "epcList" => a.push(v),
        Some(old) => {
            let prev = old.take();
            *old = Value::Array(vec![prev, v]);
        }
        None => {
            m.insert(k.to_owned(), v);
        }
    }
}

/// A user extension (or ILMD) element: text, or an object of its children.
fn generic(e: &Element) -> Value {
    if e.children.is_empty() && e.attrs.is_empty() {
        return Value::String(e.text());
    }
    let mut m = attrs_object(e);
    for c in &e.children {
        put(&mut m, &c.name, generic(c));
    }
    if !e.text().is_empty() {
        m.insert("#text".into(), Value::String(e.text()));
    }
    Value::Object(m)
}

fn quantity(e: &Element) -> Value {
    let mut m = Map::new();
    for c in e.children.iter().filter(|c| !c.nil) {
        match c.local() {
            "quantity" => m.insert("quantity".into(), number(&c.text())),
            other => m.insert(other.to_owned(), Value::String(c.text())),
        };
    }
    Value::Object(m)
}

fn typed(e: &Element, field: &str) -> Value {
    let mut m = Map::new();
    if let Some((_, t)) = e.attrs.iter().find(|(k, _)| k == "type") {
        m.insert("type".into(), Value::String(bare(t.clone())));
    }
    m.insert(field.into(), Value::String(e.text()));
    Value::Object(m)
}

fn sensor_element(e: &Element) -> Value {
    let mut m = Map::new();
    let mut reports = Vec::new();
    for c in &e.children {
        match c.local() {
            "sensorMetadata" => {
                m.insert("sensorMetadata".into(), Value::Object(attrs_object(c)));
            }
            "sensorReport" => reports.push(Value::Object(attrs_object(c))),
            _ => put(&mut m, &c.name, generic(c)),
        }
    }
    m.insert("sensorReport".into(), Value::Array(reports));
    Value::Object(m)
}

/// The fields of an event (or of an `extension` wrapper, merged into it).
fn event_fields(e: &Element, m: &mut Map<String, Value>) {
    for c in e.children.iter().filter(|c| !c.nil) {
        let k = c.local();
        let prefixed = c.name.contains(':');
        if prefixed {
            put(m, &c.name, generic(c));
            continue;
        }
        match k {
            "extension" | "baseExtension" => event_fields(c, m),
            "epcList" | "childEPCs" | "inputEPCList" | "outputEPCList" => {
                m.insert(k.into(), Value::Array(c.children.iter().map(|x| Value::String(x.text())).collect()));
            }
            "quantityList" | "childQuantityList" | "inputQuantityList" | "outputQuantityList" => {
                m.insert(k.into(), Value::Array(c.children.iter().map(quantity).collect()));
            }
            "bizTransactionList" => {
                m.insert(k.into(), Value::Array(c.children.iter().map(|x| typed(x, "bizTransaction")).collect()));
            }
            "sourceList" => {
                m.insert(k.into(), Value::Array(c.children.iter().map(|x| typed(x, "source")).collect()));
            }
            "destinationList" => {
                m.insert(k.into(), Value::Array(c.children.iter().map(|x| typed(x, "destination")).collect()));
            }
            "sensorElementList" => {
                m.insert(k.into(), Value::Array(c.children.iter().map(sensor_element).collect()));
            }
            "readPoint" | "bizLocation" => {
                let mut o = Map::new();
                for x in &c.children {
                    if x.local() == "extension" {
                        for y in &x.children {
                            put(&mut o, &y.name, generic(y));
                        }
                    } else if x.name.contains(':') {
                        put(&mut o, &x.name, generic(x));
                    } else {
                        o.insert(x.local().to_owned(), Value::String(x.text()));
                    }
                }
                m.insert(k.into(), Value::Object(o));
            }
            "persistentDisposition" => {
                let mut o = Map::new();
                for x in &c.children {
                    let list = o.entry(x.local().to_owned()).or_insert_with(|| json!([]));
                    if let Value::Array(a) = list {
                        a.push(Value::String(bare(x.text())));
                    }
                }
                m.insert(k.into(), Value::Object(o));
            }
            "errorDeclaration" => {
                let mut o = Map::new();
                for x in &c.children {
                    match x.local() {
                        "correctiveEventIDs" => {
                            o.insert(
                                "correctiveEventIDs".into(),
                                Value::Array(x.children.iter().map(|y| Value::String(y.text())).collect()),
                            );
                        }
                        "extension" => x.children.iter().for_each(|y| put(&mut o, &y.name, generic(y))),
                        _ if x.name.contains(':') => put(&mut o, &x.name, generic(x)),
                        "reason" => {
                            o.insert("reason".into(), Value::String(bare(x.text())));
                        }
                        other => {
                            o.insert(other.to_owned(), Value::String(x.text()));
                        }
                    }
                }
                m.insert(k.into(), Value::Object(o));
            }
            "ilmd" => {
                let mut o = Map::new();
                for x in &c.children {
                    if x.local() == "extension" {
                        x.children.iter().for_each(|y| put(&mut o, &y.name, generic(y)));
                    } else {
                        put(&mut o, &x.name, generic(x));
                    }
                }
                m.insert(k.into(), Value::Object(o));
            }
            "certificationInfo" => put(m, k, Value::String(c.text())),
            "bizStep" | "disposition" => {
                m.insert(k.to_owned(), Value::String(bare(c.text())));
            }
            _ => {
                m.insert(k.to_owned(), Value::String(c.text()));
            }
        }
    }
}

/// Fields every event type starts with (EPCISEventType in EPCglobal-epcis-2_0.xsd).
const BASE_SEQUENCE: [&str; 7] = [
    "eventTime",
    "recordTime",
    "eventTimeZoneOffset",
    "eventID",
    "errorDeclaration",
    "certificationInfo",
    "baseExtension",
];

/// The XSD sequence of each event type's own fields, after [`BASE_SEQUENCE`].
fn sequence(event_type: &str) -> Option<&'static [&'static str]> {
    Some(match event_type {
        "ObjectEvent" => &[
            "epcList",
            "action",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "bizTransactionList",
            "quantityList",
            "sourceList",
            "destinationList",
            "sensorElementList",
            "persistentDisposition",
            "ilmd",
            "extension",
        ],
        "AggregationEvent" => &[
            "parentID",
            "childEPCs",
            "action",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "bizTransactionList",
            "childQuantityList",
            "sourceList",
            "destinationList",
            "sensorElementList",
            "persistentDisposition",
            "extension",
        ],
        "TransactionEvent" => &[
            "bizTransactionList",
            "parentID",
            "epcList",
            "action",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "quantityList",
            "sourceList",
            "destinationList",
            "sensorElementList",
            "persistentDisposition",
            "extension",
        ],
        "TransformationEvent" => &[
            "inputEPCList",
            "inputQuantityList",
            "outputEPCList",
            "outputQuantityList",
            "transformationID",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "bizTransactionList",
            "sourceList",
            "destinationList",
            "sensorElementList",
            "persistentDisposition",
            "ilmd",
            "extension",
        ],
        "AssociationEvent" => &[
            "parentID",
            "childEPCs",
            "childQuantityList",
            "action",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "bizTransactionList",
            "sourceList",
            "destinationList",
            "sensorElementList",
            "persistentDisposition",
            "extension",
        ],
        _ => return None,
    })
}

/// XML fixes the order of an event's standard fields (EPCglobal-epcis-2_0.xsd);
/// JSON does not, so the JSON schema cannot check it.
fn check_order(index: usize, e: &Element, problems: &mut Vec<String>) {
    let Some(own) = sequence(e.local()) else {
        problems.push(format!("/epcisBody/eventList/{index}: unknown event type <{}>", e.name));
        return;
    };
    let seq: Vec<&str> = BASE_SEQUENCE.iter().chain(own).copied().collect();
    let mut at = 0;
    for c in e.children.iter().filter(|c| !c.name.contains(':')) {
        match seq[at..].iter().position(|s| *s == c.name) {
            Some(p) => at += p,
            None if seq.contains(&c.name.as_str()) => problems.push(format!(
                "/epcisBody/eventList/{index}: <{}> is out of order; {} fields go in this order: {}",
                c.name,
                e.local(),
                seq.join(", ")
            )),
            None => {
                problems.push(format!("/epcisBody/eventList/{index}: <{}> is not a field of {}", c.name, e.local()))
            }
        }
    }
}

fn event(e: &Element) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), Value::String(e.local().to_owned()));
    event_fields(e, &mut m);
    Value::Object(m)
}

fn find<'a>(e: &'a Element, local: &str) -> Option<&'a Element> {
    if e.local() == local {
        return Some(e);
    }
    e.children.iter().find_map(|c| find(c, local))
}

/// Converts an EPCIS 2.0 XML capture or query document to its JSON-LD form.
pub fn to_json(bytes: &[u8]) -> Result<Value, DocumentError> {
    to_json_checked(bytes).map(|(v, _)| v)
}

/// [`to_json`], plus what the XML says that the JSON form cannot show (the
/// order of fields).
pub(crate) fn to_json_checked(bytes: &[u8]) -> Result<(Value, Vec<String>), DocumentError> {
    let (root, namespaces) = parse(bytes)?;
    let mut problems = Vec::new();
    if let Some(list) = find(&root, "EventList") {
        for (i, e) in list.children.iter().enumerate() {
            check_order(i, e, &mut problems);
        }
    }
    let kind = root.local().to_owned();
    if kind != "EPCISDocument" && kind != "EPCISQueryDocument" {
        return Err(err(format!("root element is <{}>, not an EPCISDocument", root.name)));
    }
    let events: Vec<Value> =
        find(&root, "EventList").map(|l| l.children.iter().map(event).collect()).unwrap_or_default();
    let mut doc = Map::new();
    let mut context = vec![Value::String("https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld".into())];
    let user_ns: Map<String, Value> = namespaces
        .into_iter()
        .filter(|(p, _)| !matches!(p.as_str(), "epcis" | "epcisq" | "xsi" | "sbdh" | "xsd"))
        .collect();
    if !user_ns.is_empty() {
        context.push(Value::Object(user_ns));
    }
    doc.insert("@context".into(), Value::Array(context));
    doc.insert("type".into(), Value::String(kind.clone()));
    for (k, v) in &root.attrs {
        doc.insert(k.clone(), Value::String(v.clone()));
    }
    // Repository fields to ignore in the event hash (`prefix:ignoreFields`).
    for c in root.children.iter().filter(|c| c.local() == "ignoreFields" && c.name.contains(':')) {
        doc.insert(c.name.clone(), Value::Array(c.children.iter().map(|x| Value::String(x.name.clone())).collect()));
    }
    let body = if kind == "EPCISQueryDocument" {
        let query = find(&root, "queryName").map(Element::text).unwrap_or_default();
        json!({"queryResults": {"queryName": query, "resultsBody": {"eventList": events}}})
    } else {
        json!({"eventList": events})
    };
    doc.insert("epcisBody".into(), body);
    Ok((Value::Object(doc), problems))
}
