//! The CBV 2.0 EPCIS event hash ID (`ni:///sha-256;…?ver=CBV2.0`), CBV 2.0
//! §8.9, as specified and exemplified by GS1's reference implementation
//! (RalphTro/epcis-event-hash-generator): a canonical "pre-hash" string of the
//! event, hashed with SHA-256.
//!
//! Written by hand because no Rust crate implements it. The rules, in order:
//! fields in the canonical property order ([`ORDER`]), each `name=value`,
//! concatenated without separators; repeated elements and unordered leftovers
//! (extensions, ILMD, business transactions, sources, destinations) sorted by
//! their rendered strings; times in UTC with milliseconds; numbers without
//! trailing zeros; CBV words, URNs and CURIEs expanded to GS1 web URIs; EPCs
//! as constrained canonical GS1 Digital Link URIs; extension names as
//! `{namespace}local`. `eventID`, `recordTime` and comments are ignored, as
//! are the fields a document lists under a `…:ignoreFields` key.

use crate::keys::check_digit;
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// The hash ID of every event of a document, in `eventList` order.
pub fn document_hashes(doc: &Value) -> Vec<String> {
    let ctx = Context::of(doc);
    crate::event_list(doc).iter().map(|ev| hash_id(&prehash_any(ev, &ctx))).collect()
}

/// The pre-hash string: rendered directly for the common event shapes
/// ([`direct`]), else through the general tree ([`prehash_with`]).
fn prehash_any(ev: &Value, ctx: &Context) -> String {
    direct(ev, ctx).unwrap_or_else(|| prehash_with(ev, ctx))
}

/// How many of a document's events the direct renderer takes (tests).
#[doc(hidden)]
pub fn rendered_directly(doc: &Value) -> usize {
    let ctx = Context::of(doc);
    crate::event_list(doc).iter().filter(|ev| direct(ev, &ctx).is_some()).count()
}

/// The pre-hash strings of a document's events through the general tree
/// alone (tests compare the direct renderer with it).
#[doc(hidden)]
pub fn document_prehashes_general(doc: &Value) -> Vec<String> {
    let ctx = Context::of(doc);
    crate::event_list(doc).iter().map(|ev| prehash_with(ev, &ctx)).collect()
}

/// `ni:///sha-256;{hex}?ver=CBV2.0` of a pre-hash string.
pub fn hash_id(prehash: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(prehash.as_bytes());
    let mut id = String::with_capacity(89);
    id.push_str("ni:///sha-256;");
    for b in digest {
        id.push(char::from(HEX[usize::from(b >> 4)]));
        id.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    id.push_str("?ver=CBV2.0");
    id
}

/// The pre-hash strings of a document's events.
pub fn document_prehashes(doc: &Value) -> Vec<String> {
    let ctx = Context::of(doc);
    crate::event_list(doc).iter().map(|ev| prehash_any(ev, &ctx)).collect()
}

/// A member naming fields a repository added, which the hash leaves out
/// (`repo:ignoreFields`).
pub(crate) fn is_ignore_list(name: &str) -> bool {
    name.contains(':') && name.rsplit(':').next() == Some("ignoreFields")
}

/// Values and their canonical forms.
type Canonical = foldhash::HashMap<String, String>;

/// Namespaces and ignored fields, from the document.
pub(crate) struct Context {
    namespaces: foldhash::HashMap<String, String>,
    ignored: Vec<String>,
    /// Identifiers in canonical form, remembered for the document (its
    /// events name the same read points, locations and classes again and
    /// again, and canonicalising a GS1 key costs more than a lookup).
    keys: std::cell::RefCell<Canonical>,
    /// Other values in canonical form, by field ([`Field::slot`]) and value.
    scalars: std::cell::RefCell<[Canonical; DIRECT_FIELDS.len()]>,
}

impl Context {
    fn of(doc: &Value) -> Context {
        let levels = [doc, &doc["epcisBody"], &doc["epcisBody"]["queryResults"]].map(Value::as_object);
        Context::from_parts(doc.get("@context"), levels.into_iter().flatten())
    }

    /// The context of a document from its parts: its `@context` and the
    /// members of the levels that may list ignored fields (the document, its
    /// body, the body's query results).
    pub(crate) fn from_parts<'m>(
        at_context: Option<&Value>,
        levels: impl IntoIterator<Item = &'m Map<String, Value>>,
    ) -> Context {
        let mut namespaces: foldhash::HashMap<String, String> = [
            ("gs1", "https://gs1.org/voc/"),
            ("cbv", "https://ref.gs1.org/cbv/"),
            ("epcis", "https://ref.gs1.org/epcis/"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut add = |m: &Map<String, Value>| {
            for (k, v) in m {
                if let Some(uri) = v.as_str() {
                    namespaces.insert(k.clone(), uri.to_owned());
                }
            }
        };
        match at_context {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).for_each(&mut add),
            Some(Value::Object(m)) => add(m),
            _ => {}
        }
        // A repository may list fields it adds (`repo:ignoreFields`) at the
        // document, body or query-results level.
        let ignored = levels
            .into_iter()
            .flatten()
            .filter(|(k, _)| is_ignore_list(k))
            .flat_map(|(_, v)| v.as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        Context {
            namespaces,
            ignored,
            keys: Default::default(),
            scalars: std::cell::RefCell::new(std::array::from_fn(|_| Canonical::default())),
        }
    }

    /// The hash ID of one event of the document.
    pub(crate) fn hash(&self, ev: &Value) -> String {
        hash_id(&prehash_any(ev, self))
    }

    /// `prefix:local` as `{namespace}local` when the prefix is declared.
    fn key<'a>(&self, k: &'a str) -> Cow<'a, str> {
        if let Some((p, local)) = k.split_once(':')
            && let Some(ns) = self.namespaces.get(p)
        {
            return Cow::Owned(format!("{{{ns}}}{local}"));
        }
        Cow::Borrowed(k)
    }

    /// CURIE values are expanded only for GS1's own vocabularies.
    fn curie_value(&self, v: &str) -> Option<String> {
        let (p, local) = v.split_once(':')?;
        let ns = self.namespaces.get(p)?;
        (ns.starts_with("https://ref.gs1.org") || ns.starts_with("https://gs1.org")).then(|| format!("{ns}{local}"))
    }
}

/// One element of the event tree: a name, a text value, children
/// (borrowed from the document where they need no rewriting).
#[derive(Debug, Clone)]
struct Node<'a> {
    name: Cow<'a, str>,
    value: Cow<'a, str>,
    children: Vec<Node<'a>>,
}

/// Never part of the hash: the hash itself, capture bookkeeping, comments,
/// and error declarations (a declared error must not change the event's id).
const IGNORED: [&str; 6] = ["eventID", "recordTime", "errorDeclaration", "comment", "rdfs:comment", "#text"];

/// Where a bare CBV word's vocabulary lives, by the field it is in.
fn bare_word_vocabulary(parent: &str, field: &str) -> Option<&'static str> {
    Some(match (parent, field) {
        (_, "bizStep") => "https://ref.gs1.org/cbv/BizStep-",
        (_, "disposition") | ("persistentDisposition", "set" | "unset") => "https://ref.gs1.org/cbv/Disp-",
        ("bizTransactionList", "type") => "https://ref.gs1.org/cbv/BTT-",
        ("sourceList" | "destinationList", "type") => "https://ref.gs1.org/cbv/SDT-",
        ("errorDeclaration", "reason") => "https://ref.gs1.org/cbv/ER-",
        ("sensorReport", "type" | "exception") => "https://gs1.org/voc/",
        ("sensorReport", "component") => "https://ref.gs1.org/cbv/Comp-",
        _ => return None,
    })
}

fn scalar(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s.trim()),
        Value::Bool(b) => Cow::Owned(b.to_string()),
        Value::Number(n) => Cow::Owned(n.to_string()),
        _ => Cow::Borrowed(""),
    }
}

/// Builds the tree of one field. Arrays become repeated elements of the same name.
fn build<'a>(ctx: &Context, parent: &str, raw_key: &'a str, v: &'a Value, out: &mut Vec<Node<'a>>) {
    if IGNORED.contains(&raw_key) || ctx.ignored.iter().any(|f| f == raw_key) {
        return;
    }
    let name = ctx.key(raw_key);
    match v {
        Value::Array(items) => {
            for it in items {
                build(ctx, parent, raw_key, it, out);
            }
        }
        Value::Object(m) => {
            let mut children = Vec::new();
            for (k, x) in m {
                build(ctx, raw_key, k, x, &mut children);
            }
            out.push(Node { name, value: Cow::Borrowed(""), children });
        }
        other => {
            let mut value = match scalar(other) {
                Cow::Owned(v) => Cow::Owned(v.trim().to_owned()),
                borrowed => borrowed,
            };
            if !value.contains(':')
                && !value.is_empty()
                && let Some(vocab) = bare_word_vocabulary(parent, raw_key)
            {
                value = Cow::Owned(format!("{vocab}{value}"));
            } else if let Some(expanded) = ctx.curie_value(&value) {
                value = Cow::Owned(expanded);
            }
            out.push(Node { name, value, children: Vec::new() });
        }
    }
}

/// Sub-orders of the canonical property order (CBV 2.0 §8.9.2).
const QTY: &[(&str, ())] = &[("epcClass", ()), ("quantity", ()), ("uom", ())];
const META: &[(&str, ())] = &[
    ("time", ()),
    ("startTime", ()),
    ("endTime", ()),
    ("deviceID", ()),
    ("deviceMetadata", ()),
    ("rawData", ()),
    ("dataProcessingMethod", ()),
    ("bizRules", ()),
];
const REPORT: &[(&str, ())] = &[
    ("type", ()),
    ("exception", ()),
    ("deviceID", ()),
    ("deviceMetadata", ()),
    ("rawData", ()),
    ("dataProcessingMethod", ()),
    ("time", ()),
    ("microorganism", ()),
    ("chemicalSubstance", ()),
    ("value", ()),
    ("component", ()),
    ("stringValue", ()),
    ("booleanValue", ()),
    ("hexBinaryValue", ()),
    ("uriValue", ()),
    ("minValue", ()),
    ("maxValue", ()),
    ("meanValue", ()),
    ("sDev", ()),
    ("percRank", ()),
    ("percValue", ()),
    ("uom", ()),
    ("coordinateReferenceSystem", ()),
];

/// Event-level fields in canonical order; lists are handled in [`render_field`].
const ORDER: &[&str] = &[
    "eventTime",
    "eventTimeZoneOffset",
    "certificationInfo",
    "epcList",
    "parentID",
    "inputEPCList",
    "childEPCs",
    "quantityList",
    "childQuantityList",
    "inputQuantityList",
    "outputEPCList",
    "outputQuantityList",
    "action",
    "transformationID",
    "bizStep",
    "disposition",
    "persistentDisposition",
    "readPoint",
    "bizLocation",
    "sensorElementList",
];

fn is_time(name: &str) -> bool {
    // Case-insensitive, without allocating (it runs for every value).
    let has = |word: &[u8]| name.as_bytes().windows(word.len()).any(|w| w.eq_ignore_ascii_case(word));
    has(b"time") && !has(b"offset")
}

/// Canonical form of a value: time, CBV URN, number, GS1 key.
fn canon(name: &str, v: &str) -> String {
    canon_as(is_time(name), v)
}

/// [`canon`] for a field already known to hold a time or not.
fn canon_as(time: bool, v: &str) -> String {
    let v = v.trim();
    if time && let Some(t) = canon_time(v) {
        return t;
    }
    let v = cbv_urn(v);
    if let Some(n) = canon_number(&v) {
        return n;
    }
    normalise_key(&v).unwrap_or(v)
}

fn cbv_urn(v: &str) -> String {
    if !v.starts_with("urn:epcglobal:cbv:") {
        return v.to_owned();
    }
    for (urn, web) in [
        ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
        ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
        ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
        ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
        ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
    ] {
        if let Some(rest) = v.strip_prefix(urn) {
            return format!("{web}{rest}");
        }
    }
    v.to_owned()
}

/// UTC with millisecond precision; digits beyond the third round half up.
fn canon_time(v: &str) -> Option<String> {
    let t: DateTime<Utc> = match DateTime::parse_from_rfc3339(v) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f").ok()?.and_utc(),
    };
    let rest = t.timestamp_subsec_nanos() % 1_000_000;
    let t = t - chrono::Duration::nanoseconds(i64::from(rest));
    let t = if rest >= 500_000 { t + chrono::Duration::milliseconds(1) } else { t };
    Some(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Numbers without trailing zeros (`1.0` → `1`, `12.10` → `12.1`).
fn canon_number(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let numeric = !b.is_empty()
        && b.iter().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'e' | b'E'))
        && b.iter().any(u8::is_ascii_digit);
    if !numeric {
        return None;
    }
    let f: f64 = v.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    // Integral values print as the exact integer the double holds (as the
    // reference implementation does: 1.1110000111100001e23 prints as
    // 111100001111000003641344).
    if f.fract() == 0.0 && f.abs() < 1e38 {
        return Some(format!("{}", f as i128));
    }
    Some(format!("{f}"))
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn with_check(body: &str) -> Option<String> {
    Some(format!("{body}{}", check_digit(body)?))
}

/// GS1 Digital Link percent-encoding of characters EPC URIs allow but DL does not.
fn dl_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '!' => out.push_str("%21"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '*' => out.push_str("%2A"),
            '+' => out.push_str("%2B"),
            ',' => out.push_str("%2C"),
            ':' => out.push_str("%3A"),
            c => out.push(c),
        }
    }
    out
}

const DL: &str = "https://id.gs1.org";

/// An EPC URI, EPC class/pattern URI or GS1 Digital Link URI as a
/// constrained canonical GS1 Digital Link URI (CBV 2.0 rules 17-18); None if
/// the value is not a GS1 key.
pub fn normalise_key(v: &str) -> Option<String> {
    if let Some(rest) = v.strip_prefix("urn:epc:") {
        return epc_urn(rest);
    }
    digital_link(v)
}

fn epc_urn(rest: &str) -> Option<String> {
    let (scheme, body) = rest.split_once(':').and_then(|(kind, rest)| {
        let (scheme, body) = rest.split_once(':')?;
        Some((format!("{kind}:{scheme}"), body))
    })?;
    let p: Vec<&str> = body.split('.').collect();
    let gtin = |cp: &str, ir: &str| -> Option<String> {
        (all_digits(cp) && all_digits(ir) && cp.len() + ir.len() == 13)
            .then(|| with_check(&format!("{}{cp}{}", &ir[..1], &ir[1..])))?
    };
    // Company prefix and reference make 12 digits (the reference may be
    // empty when the prefix has 12 digits).
    let twelve = |cp: &str, r: &str| -> Option<String> {
        (all_digits(cp) && (r.is_empty() || all_digits(r)) && cp.len() + r.len() == 12)
            .then(|| with_check(&format!("{cp}{r}")))?
    };
    let tail = |from: usize| p[from..].join(".");
    match (scheme.as_str(), p.len()) {
        ("id:sgtin", 3..) => Some(format!("{DL}/01/{}/21/{}", gtin(p[0], p[1])?, dl_escape(&tail(2)))),
        ("id:sscc", 2) => {
            let (cp, sr) = (p[0], p[1]);
            (all_digits(cp) && all_digits(sr) && cp.len() + sr.len() == 17)
                .then(|| with_check(&format!("{}{cp}{}", &sr[..1], &sr[1..])))?
                .map(|s| format!("{DL}/00/{s}"))
        }
        ("id:sgln", 3..) => {
            let gln = twelve(p[0], p[1])?;
            let ext = tail(2);
            Some(if ext == "0" { format!("{DL}/414/{gln}") } else { format!("{DL}/414/{gln}/254/{}", dl_escape(&ext)) })
        }
        ("id:grai", 3..) => Some(format!("{DL}/8003/0{}{}", twelve(p[0], p[1])?, dl_escape(&tail(2)))),
        ("id:giai", 2..) => Some(format!("{DL}/8004/{}{}", p[0], dl_escape(&tail(1)))),
        ("id:gsrn", 2) => Some(format!("{DL}/8018/{}", with_check(&format!("{}{}", p[0], p[1]))?)),
        ("id:gsrnp", 2) => Some(format!("{DL}/8017/{}", with_check(&format!("{}{}", p[0], p[1]))?)),
        ("id:gdti", 3..) => Some(format!("{DL}/253/{}{}", twelve(p[0], p[1])?, dl_escape(&tail(2)))),
        ("id:cpi", 3..) => {
            let serial = p[p.len() - 1];
            let cpr = p[1..p.len() - 1].join(".");
            Some(format!("{DL}/8010/{}{}/8011/{serial}", p[0], dl_escape(&cpr)))
        }
        ("id:sgcn", 3) => Some(format!("{DL}/255/{}{}", twelve(p[0], p[1])?, p[2])),
        ("id:ginc", 2..) => Some(format!("{DL}/401/{}{}", p[0], dl_escape(&tail(1)))),
        ("id:gsin", 2) => Some(format!("{DL}/402/{}", with_check(&format!("{}{}", p[0], p[1]))?)),
        ("id:itip", 5..) => Some(format!("{DL}/8006/{}{}{}/21/{}", gtin(p[0], p[1])?, p[2], p[3], dl_escape(&tail(4)))),
        ("id:upui", 3..) => Some(format!("{DL}/01/{}/235/{}", gtin(p[0], p[1])?, dl_escape(&tail(2)))),
        ("id:pgln", 2) => Some(format!("{DL}/417/{}", twelve(p[0], p[1])?)),
        ("class:lgtin", 3..) => Some(format!("{DL}/01/{}/10/{}", gtin(p[0], p[1])?, dl_escape(&tail(2)))),
        ("idpat:sgtin", 3) if p[2] == "*" => Some(format!("{DL}/01/{}", gtin(p[0], p[1])?)),
        ("idpat:grai", 3) if p[2] == "*" => Some(format!("{DL}/8003/0{}", twelve(p[0], p[1])?)),
        ("idpat:gdti", 3) if p[2] == "*" => Some(format!("{DL}/253/{}", twelve(p[0], p[1])?)),
        ("idpat:sgcn", 3) if p[2] == "*" => Some(format!("{DL}/255/{}", twelve(p[0], p[1])?)),
        ("idpat:cpi", 3) if p[2] == "*" => Some(format!("{DL}/8010/{}{}", p[0], dl_escape(p[1]))),
        ("idpat:itip", 5) if p[4] == "*" => Some(format!("{DL}/8006/{}{}{}", gtin(p[0], p[1])?, p[2], p[3])),
        _ => None,
    }
}

/// Primary keys and the qualifiers kept at the finest level of identification.
const KEYS: &[(&str, &[&str])] = &[
    ("01", &["21", "10", "235"]),
    ("00", &[]),
    ("253", &[]),
    ("255", &[]),
    ("401", &[]),
    ("402", &[]),
    ("414", &["254"]),
    ("417", &[]),
    ("8003", &[]),
    ("8004", &[]),
    ("8006", &["21", "10"]),
    ("8010", &["8011"]),
    ("8017", &[]),
    ("8018", &[]),
];

fn short_name(s: &str) -> &str {
    match s {
        "gtin" => "01",
        "sscc" => "00",
        "gln" => "414",
        "party" => "417",
        "grai" => "8003",
        "giai" => "8004",
        "gsrn" => "8018",
        "gsrnp" => "8017",
        "gdti" => "253",
        "gcn" => "255",
        "ginc" => "401",
        "gsin" => "402",
        "itip" => "8006",
        "cpid" => "8010",
        "cpsn" => "8011",
        "lot" => "10",
        "ser" => "21",
        "exten" => "254",
        other => other,
    }
}

fn digital_link(v: &str) -> Option<String> {
    let rest = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://"))?;
    let rest = rest.split(['?', '#']).next()?;
    // Short names (GS1 Digital Link 1.2 §4.7) become numeric AIs.
    let segs: Vec<&str> = rest.split('/').skip(1).map(short_name).collect();
    // The first AI that is a primary key starts the GS1 part of the path.
    let start = segs.iter().position(|s| KEYS.iter().any(|(k, _)| k == s))?;
    let (key, qualifiers) = KEYS.iter().find(|(k, _)| *k == segs[start])?;
    let value = segs.get(start + 1).filter(|s| !s.is_empty())?;
    let value = if *key == "01" { format!("{value:0>14}") } else { (*value).to_owned() };
    let pairs: Vec<(&str, &str)> = segs[start + 2..].chunks(2).filter(|c| c.len() == 2).map(|c| (c[0], c[1])).collect();
    let mut out = format!("{DL}/{key}/{value}");
    // Keep only the finest qualifier level present, in the order the key lists them.
    if let Some(q) = qualifiers.iter().find(|q| pairs.iter().any(|(a, _)| a == *q))
        && let Some((_, qv)) = pairs.iter().find(|(a, _)| a == q)
    {
        out.push_str(&format!("/{q}/{qv}"));
    }
    Some(out)
}

/// Renders a node with everything below it, leftovers sorted.
fn generic(n: &Node<'_>) -> String {
    let mut s = n.name.clone().into_owned();
    if !n.value.is_empty() {
        s.push('=');
        s.push_str(&canon(&n.name, &n.value));
    }
    s.push_str(&generic_list(&n.children));
    s
}

fn generic_list(nodes: &[Node<'_>]) -> String {
    let mut parts: Vec<String> = nodes.iter().map(generic).collect();
    parts.sort();
    parts.concat()
}

/// Takes the nodes named `name` out of `nodes`.
fn take<'a>(nodes: &mut Vec<Node<'a>>, name: &str) -> Vec<Node<'a>> {
    // Most names of the canonical order are absent from a given event.
    if !nodes.iter().any(|n| n.name == name) {
        return Vec::new();
    }
    let (hit, rest): (Vec<Node<'a>>, Vec<Node<'a>>) = std::mem::take(nodes).into_iter().partition(|n| n.name == name);
    *nodes = rest;
    hit
}

/// Renders ordered sub-fields, then the user extensions (`{ns}name`) sorted.
/// Other unexpected fields are returned: the reference implementation renders
/// them at the end of the event, under their full path.
fn ordered<'a>(mut children: Vec<Node<'a>>, order: &[(&str, ())]) -> (String, Vec<Node<'a>>) {
    let mut s = String::new();
    for (name, ()) in order {
        let mut parts: Vec<String> = take(&mut children, name).iter().map(generic).collect();
        parts.sort();
        s.push_str(&parts.concat());
    }
    let (extensions, stray): (Vec<Node<'a>>, Vec<Node<'a>>) =
        children.into_iter().partition(|n| n.name.starts_with('{'));
    (s + &generic_list(&extensions), stray)
}

/// Wraps stray fields in the path of the element they were found in.
fn wrap<'a>(name: &str, stray: Vec<Node<'a>>) -> Option<Node<'a>> {
    (!stray.is_empty()).then(|| Node { name: Cow::Owned(name.to_owned()), value: Cow::Borrowed(""), children: stray })
}

/// A list of identifiers: `epcList` + sorted `epc=…`.
fn epc_list(name: &str, items: Vec<Node<'_>>) -> String {
    let mut parts: Vec<String> =
        items.iter().filter(|n| !n.value.is_empty()).map(|n| format!("epc={}", canon("epc", &n.value))).collect();
    if parts.is_empty() {
        return String::new();
    }
    parts.sort();
    format!("{name}{}", parts.concat())
}

fn quantity_list<'a>(name: &str, items: Vec<Node<'a>>, stray: &mut Vec<Node<'a>>) -> String {
    let mut strays = Vec::new();
    let mut parts: Vec<String> = items
        .into_iter()
        .map(|n| {
            let (s, left) = ordered(n.children, QTY);
            strays.extend(wrap("quantityElement", left));
            format!("quantityElement{s}")
        })
        .collect();
    stray.extend(wrap(name, strays));
    if parts.is_empty() {
        return String::new();
    }
    parts.sort();
    format!("{name}{}", parts.concat())
}

/// Business transactions, sources, destinations: `type=…` then the value.
fn typed_list(name: &str, field: &str, items: Vec<Node<'_>>) -> String {
    let mut parts: Vec<String> = items
        .into_iter()
        .map(|mut n| {
            let ty = take(&mut n.children, "type");
            let val = take(&mut n.children, field);
            let mut s = String::new();
            for t in ty.iter().filter(|t| !t.value.is_empty()) {
                s.push_str(&format!("type={}", canon("type", &t.value)));
            }
            for v in val.iter().filter(|v| !v.value.is_empty()) {
                s.push_str(&format!("{field}={}", canon(field, &v.value)));
            }
            s + &generic_list(&n.children)
        })
        .collect();
    parts.sort();
    format!("{name}{}", parts.concat())
}

fn sensor_list<'a>(items: Vec<Node<'a>>, stray: &mut Vec<Node<'a>>) -> String {
    let mut element_strays = Vec::new();
    let mut parts: Vec<String> = items
        .into_iter()
        .map(|mut el| {
            let mut inner = Vec::new();
            let mut s = String::from("sensorElement");
            for (name, order) in [("sensorMetadata", META), ("sensorReport", REPORT)] {
                let mut rendered: Vec<String> = take(&mut el.children, name)
                    .into_iter()
                    .map(|m| {
                        let (r, left) = ordered(m.children, order);
                        inner.extend(wrap(name, left));
                        format!("{name}{r}")
                    })
                    .collect();
                rendered.sort();
                s.push_str(&rendered.concat());
            }
            let (extensions, left): (Vec<Node<'a>>, Vec<Node<'a>>) =
                std::mem::take(&mut el.children).into_iter().partition(|n| n.name.starts_with('{'));
            inner.extend(left);
            element_strays.extend(wrap("sensorElement", inner));
            s + &generic_list(&extensions)
        })
        .collect();
    stray.extend(wrap("sensorElementList", element_strays));
    parts.sort();
    format!("sensorElementList{}", parts.concat())
}

/// The pre-hash string of one event, with the namespaces of its document.
fn prehash_with(ev: &Value, ctx: &Context) -> String {
    let event_type = ev.get("type").and_then(Value::as_str).unwrap_or_default();
    let mut nodes = Vec::new();
    for (k, v) in ev.as_object().into_iter().flatten() {
        if k != "type" {
            build(ctx, "", k, v, &mut nodes);
        }
    }
    let mut s = format!("eventType={event_type}");
    let mut stray = Vec::new();
    for name in ORDER {
        let items = take(&mut nodes, name);
        if items.is_empty() {
            continue;
        }
        s.push_str(&match *name {
            "epcList" | "inputEPCList" | "outputEPCList" | "childEPCs" => epc_list(name, items),
            "quantityList" | "childQuantityList" | "inputQuantityList" | "outputQuantityList" => {
                quantity_list(name, items, &mut stray)
            }
            "persistentDisposition" | "readPoint" | "bizLocation" => {
                let order: &[(&str, ())] =
                    if *name == "persistentDisposition" { &[("set", ()), ("unset", ())] } else { &[("id", ())] };
                items
                    .into_iter()
                    .map(|n| {
                        let (r, left) = ordered(n.children, order);
                        stray.extend(wrap(name, left));
                        format!("{name}{r}")
                    })
                    .collect()
            }
            "sensorElementList" => sensor_list(items, &mut stray),
            _ => {
                let mut parts: Vec<String> = items.iter().map(generic).collect();
                parts.sort();
                parts.concat()
            }
        });
    }
    // Everything else, sorted as rendered: business transactions, sources and
    // destinations, ILMD, error declarations, user extensions.
    let mut rest: Vec<String> = Vec::new();
    for (list, field) in
        [("bizTransactionList", "bizTransaction"), ("sourceList", "source"), ("destinationList", "destination")]
    {
        let items = take(&mut nodes, list);
        if !items.is_empty() {
            rest.push(typed_list(list, field, items));
        }
    }
    rest.extend(nodes.iter().chain(&stray).map(generic));
    rest.sort();
    s + &rest.concat()
}

/// The pre-hash string of one event, outside any document (default namespaces).
pub fn prehash(ev: &Value) -> String {
    prehash_with(ev, &Context::of(&Value::Null))
}

/// The fields the direct renderer writes, as (parent, name).
const DIRECT_FIELDS: [(&str, &str); 16] = [
    ("", "eventTime"),
    ("", "eventTimeZoneOffset"),
    ("", "action"),
    ("", "bizStep"),
    ("", "disposition"),
    ("readPoint", "id"),
    ("bizLocation", "id"),
    ("quantityList", "epcClass"),
    ("quantityList", "quantity"),
    ("quantityList", "uom"),
    ("bizTransactionList", "type"),
    ("bizTransactionList", "bizTransaction"),
    ("sourceList", "type"),
    ("sourceList", "source"),
    ("destinationList", "type"),
    ("destinationList", "destination"),
];

/// Indices into [`DIRECT_FIELDS`].
mod field {
    pub const EVENT_TIME: usize = 0;
    pub const OFFSET: usize = 1;
    pub const ACTION: usize = 2;
    pub const BIZ_STEP: usize = 3;
    pub const DISPOSITION: usize = 4;
    pub const READ_POINT: usize = 5;
    pub const BIZ_LOCATION: usize = 6;
    pub const QUANTITY_LIST: usize = 7;
    pub const TRANSACTIONS: usize = 10;
    pub const SOURCES: usize = 12;
    pub const DESTINATIONS: usize = 14;
}

/// A field the direct renderer writes, and what its canonical form
/// depends on, worked out once from its names (the general tree asks the
/// same questions of every value).
struct Field {
    key: &'static str,
    /// An identifier field: no bare-word vocabulary, not a time, so its
    /// canonical form depends on the value alone.
    identifier: bool,
    time: bool,
    vocabulary: Option<&'static str>,
    /// Its cache in [`Context::scalars`].
    slot: usize,
}

static FIELDS: std::sync::LazyLock<Vec<Field>> = std::sync::LazyLock::new(|| {
    DIRECT_FIELDS
        .iter()
        .enumerate()
        .map(|(slot, &(parent, key))| Field {
            key,
            identifier: matches!(key, "id" | "epcClass" | "source" | "destination" | "bizTransaction"),
            time: is_time(key),
            vocabulary: bare_word_vocabulary(parent, key),
            slot,
        })
        .collect()
});

/// A scalar as the tree holds it: trimmed, a bare CBV word or a GS1 CURIE
/// expanded (as [`build`] does), then in canonical form (as [`generic`]
/// renders it). None for a value the tree would not hold as one scalar.
fn direct_scalar(ctx: &Context, f: &Field, v: &Value, out: impl FnOnce(&str)) -> Option<()> {
    if f.identifier
        && let Value::String(raw) = v
    {
        let raw = raw.trim();
        if let Some(c) = ctx.keys.borrow().get(raw) {
            out(c);
            return Some(());
        }
        let expanded = ctx.curie_value(raw);
        let c = canon_as(f.time, expanded.as_deref().unwrap_or(raw));
        out(&c);
        ctx.keys.borrow_mut().insert(raw.to_owned(), c);
        return Some(());
    }
    let raw = match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => scalar(v),
        _ => return None,
    };
    let raw = raw.trim();
    // Other values repeat too (offsets, actions, steps, quantities), but
    // their form depends on the field: remembered per field. Times are
    // nearly all distinct, and not remembered.
    let remembered = !f.time;
    if remembered && let Some(c) = ctx.scalars.borrow()[f.slot].get(raw) {
        out(c);
        return Some(());
    }
    let value: Cow<'_, str> = if !raw.contains(':')
        && !raw.is_empty()
        && let Some(vocab) = f.vocabulary
    {
        Cow::Owned(format!("{vocab}{raw}"))
    } else if let Some(expanded) = ctx.curie_value(raw) {
        Cow::Owned(expanded)
    } else {
        Cow::Borrowed(raw)
    };
    let c = canon_as(f.time, &value);
    out(&c);
    if remembered {
        ctx.scalars.borrow_mut()[f.slot].insert(raw.to_owned(), c);
    }
    Some(())
}

/// The pre-hash string of an event of a common shape, rendered straight
/// from the document: an object, aggregation-free event whose fields are
/// among the ones below, each in its plain form. Anything else (extensions,
/// ILMD, sensors, parent ids, ignored-field lists, a field in an unusual
/// form) is None, and the general tree renders it. Equal to the general
/// rendering by construction and by test (`tests/event_hash.rs` compares the
/// two on every conformance document and on generated feeds).
fn direct(ev: &Value, ctx: &Context) -> Option<String> {
    if !ctx.ignored.is_empty() {
        return None;
    }
    // One pass over the event's members; a member this renderer does not
    // take (child lists, extensions...) sends the event to the general tree.
    let f = crate::Members::of(ev)?;
    if f.child_epcs.is_some() || f.child_quantity_list.is_some() || f.others.iter().any(|k| !IGNORED.contains(k)) {
        return None;
    }
    let mut s = String::with_capacity(512);
    s.push_str("eventType=");
    s.push_str(f.event_type?.as_str()?);
    let fields = &*FIELDS;
    // `name=value`, or the name alone for an empty value (as `generic`).
    let named = |s: &mut String, f: &Field, v: &Value| -> Option<()> {
        s.push_str(f.key);
        direct_scalar(ctx, f, v, |value| {
            if !value.is_empty() {
                s.push('=');
                s.push_str(value);
            }
        })
    };
    let field = |s: &mut String, at: usize, v: Option<&Value>| -> Option<()> {
        if let Some(v) = v {
            named(s, &fields[at], v)?;
        }
        Some(())
    };
    field(&mut s, field::EVENT_TIME, f.event_time)?;
    field(&mut s, field::OFFSET, f.offset)?;
    if let Some(v) = f.epc_list {
        let mut parts = Vec::new();
        for e in v.as_array()? {
            // As epc_list renders the tree: non-empty values, CURIEs
            // expanded, in canonical form under the name `epc`.
            let Value::String(raw) = e else { return None };
            let raw = raw.trim();
            if !raw.is_empty() {
                let expanded = ctx.curie_value(raw);
                parts.push(format!("epc={}", canon("epc", expanded.as_deref().unwrap_or(raw))));
            }
        }
        if !parts.is_empty() {
            parts.sort();
            s.push_str("epcList");
            s.push_str(&parts.concat());
        }
    }
    if let Some(v) = f.quantity_list {
        let mut parts = Vec::new();
        for q in v.as_array()? {
            let q = q.as_object()?;
            // Its members in canonical order, found in one pass; any other
            // member is the general tree's.
            let mut members: [Option<&Value>; 3] = [None; 3];
            for (k, x) in q {
                let at = match k.as_str() {
                    "epcClass" => 0,
                    "quantity" => 1,
                    "uom" => 2,
                    _ => return None,
                };
                members[at] = Some(x);
            }
            let mut p = String::from("quantityElement");
            for (n, x) in members.into_iter().enumerate() {
                if let Some(x) = x {
                    named(&mut p, &fields[field::QUANTITY_LIST + n], x)?;
                }
            }
            parts.push(p);
        }
        if !parts.is_empty() {
            parts.sort();
            s.push_str("quantityList");
            s.push_str(&parts.concat());
        }
    }
    field(&mut s, field::ACTION, f.action)?;
    field(&mut s, field::BIZ_STEP, f.biz_step)?;
    field(&mut s, field::DISPOSITION, f.disposition)?;
    for (key, at, v) in
        [("readPoint", field::READ_POINT, f.read_point), ("bizLocation", field::BIZ_LOCATION, f.biz_location)]
    {
        if let Some(v) = v {
            let mut id = None;
            for (k, x) in v.as_object()? {
                if k != "id" {
                    return None;
                }
                id = Some(x);
            }
            s.push_str(key);
            if let Some(id) = id {
                named(&mut s, &fields[at], id)?;
            }
        }
    }
    let mut rest = Vec::new();
    for (list, at, v) in [
        ("bizTransactionList", field::TRANSACTIONS, f.transactions),
        ("sourceList", field::SOURCES, f.sources),
        ("destinationList", field::DESTINATIONS, f.destinations),
    ] {
        let Some(v) = v else { continue };
        let items = v.as_array()?;
        if items.is_empty() {
            continue;
        }
        // `type`, then the item's own field (`source`...).
        let pair = [&fields[at], &fields[at + 1]];
        let mut parts = Vec::new();
        for it in items {
            let mut members: [Option<&Value>; 2] = [None; 2];
            for (k, x) in it.as_object()? {
                let n = pair.iter().position(|f| f.key == k)?;
                members[n] = Some(x);
            }
            let mut p = String::new();
            for (f, x) in pair.into_iter().zip(members) {
                if let Some(x) = x {
                    direct_scalar(ctx, f, x, |value| {
                        if !value.is_empty() {
                            p.push_str(f.key);
                            p.push('=');
                            p.push_str(value);
                        }
                    })?;
                }
            }
            parts.push(p);
        }
        parts.sort();
        rest.push(format!("{list}{}", parts.concat()));
    }
    rest.sort();
    s.push_str(&rest.concat());
    Some(s)
}
