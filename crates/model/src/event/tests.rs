//! Tests of the canonical event: its wire form, reading, checks and entities.

use super::*;

/// An event read from a built object is the event read from its JSON
/// text, and a value refused is refused for the same reason (less the
/// text's position): the example feed, and each way of getting one
/// wrong.
#[test]
fn an_object_reads_as_its_json_text_does() {
    let text = include_str!("../../../../examples/events.ndjson");
    let mut values: Vec<serde_json::Value> =
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(values.len() >= 10);
    let first = values[0].clone();
    let with = |k: &str, v: serde_json::Value| {
        let mut e = first.clone();
        e[k] = v;
        e
    };
    let refused = [
        with("kind", "access.teleported".into()),
        with("occurred_at", "2026-11-02 08:00:00".into()),
        with("occurred_at", "1900-01-01T00:00:00Z".into()),
        with("site", "".into()),
        with("site", 3.into()),
        with("quantity", (-1).into()),
        with("quantity", "forty".into()),
        with("revision", "second".into()),
        with("flags", 3.into()),
        with("epcis", serde_json::json!({"event_type": "ObjectEvent"})),
        {
            let mut e = first.clone();
            e.as_object_mut().unwrap().remove("id");
            e
        },
    ];
    // A member no event has is let through, by both.
    values.push(with("unheard_of", "x".into()));
    // Every member of the envelope that Stockade sets, read back.
    let mut stored = first.clone();
    stored["received_at"] = "2026-11-02T07:00:01.5Z".into();
    stored["revision"] = 2.into();
    stored["flags"] = serde_json::json!(["unknown_door"]);
    stored["epcis"] = serde_json::json!({"event_type": "ObjectEvent", "event_id": "urn:uuid:1",
        "event_hash": "ni:///sha-256;00?ver=CBV2.0", "biz_step": "shipping"});
    values.push(stored);
    values.extend(refused);
    let mut failures = 0;
    for v in &values {
        // The text read directly is read as the derived reading reads it.
        let bytes = serde_json::to_vec(v).unwrap();
        match (serde_json::from_slice::<Event>(&bytes), Event::read_json(&bytes)) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b);
                assert_eq!(Event::read_text_direct(&bytes).as_ref(), Some(&a), "{v}");
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{v}"),
            (a, b) => panic!("{v}: derived {a:?}, direct {b:?}"),
        }
        let from_text = Event::from_json(&bytes);
        let from_fields = Event::from_fields(v.as_object().expect("an event is an object"));
        match (from_text, from_fields) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b);
                // Read the direct way, not through the derived reading.
                assert_eq!(Event::read_direct(v.as_object().unwrap()).as_ref(), Some(&a), "{v}");
            }
            (Err(a), Err(b)) => {
                failures += 1;
                let without_position = |e: EventError| {
                    let s = e.to_string();
                    s.find(" at line ").map_or(s.clone(), |i| s[..i].to_owned())
                };
                assert_eq!(without_position(a), without_position(b), "{v}");
            }
            (a, b) => panic!("{v}: from text {a:?}, from fields {b:?}"),
        }
    }
    assert_eq!(failures, 11);
}

/// Whole quantities are written as integers, others as the shortest
/// decimal; both forms read back to the same value.
#[test]
fn quantities_are_written_as_people_write_them() {
    let ev = |q: &str| {
        format!(
            r#"{{"id":"1","source":"w","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"inventory.adjusted","sku":"K","location":"A","delta":{q},"reason":"r"}}"#
        )
    };
    for (given, written) in
        [("3", "3"), ("3.0", "3"), ("-2", "-2"), ("2.5", "2.5"), ("0.1", "0.1"), ("1e300", "1e+300")]
    {
        let e = Event::from_json(ev(given).as_bytes()).unwrap();
        let canon = String::from_utf8(e.canonical_bytes()).unwrap();
        assert!(canon.contains(&format!(r#""delta":{written},"#)), "{given}: {canon}");
        let back = Event::from_json(canon.as_bytes()).unwrap();
        assert_eq!(back, e, "{given}");
    }
}

/// The fast `received_at` writer spells every precision exactly as
/// chrono's own `Serialize` does, so canonical bytes do not change.
#[test]
fn received_at_is_written_as_chrono_writes_it() {
    for nanos in [0u32, 1_000_000, 120_000_000, 123_456_000, 123_456_789, 1, 999_999_999] {
        let t = DateTime::from_timestamp(1_764_162_000, nanos).unwrap();
        let chrono_json = serde_json::to_string(&t).unwrap();
        let mut e = Event::from_json(br#"{"id":"a","source":"s","site":"S","occurred_at":"2026-11-02T22:14:07+01:00","kind":"access.granted","door":"D","badge":"B"}"#).unwrap();
        e.received_at = Some(t);
        let bytes = String::from_utf8(e.canonical_bytes()).unwrap();
        assert!(bytes.contains(&format!("\"received_at\":{chrono_json}")), "{bytes} vs {chrono_json}");
    }
}

fn line(s: &str) -> Result<Event, EventError> {
    Event::from_json(s.as_bytes())
}

const GRANTED: &str = r#"{"id":"a1","source":"acs","site":"LYS","occurred_at":"2026-11-02T22:14:07.250+01:00","kind":"access.granted","door":"D1","badge":"B1","direction":"in"}"#;

#[test]
fn parses_and_keeps_offset() {
    let ev = line(GRANTED).unwrap();
    assert_eq!(ev.kind(), EventKind::AccessGranted);
    assert_eq!(ev.offset_s(), 3600);
    assert_eq!(ev.occurred_us(), 1_793_654_047_250_000);
    let back = String::from_utf8(ev.canonical_bytes()).unwrap();
    assert!(back.contains(r#""occurred_at":"2026-11-02T22:14:07.250+01:00""#), "{back}");
    assert_eq!(line(&back).unwrap(), ev);
}

#[test]
fn time_without_offset_is_rejected_with_a_hint() {
    let bad = GRANTED.replace("+01:00", "");
    let err = line(&bad).unwrap_err().to_string();
    assert!(err.contains("has no UTC offset"), "{err}");
}

#[test]
fn unknown_kind_names_the_kind() {
    let bad = GRANTED.replace("access.granted", "access.teleported");
    let err = line(&bad).unwrap_err().to_string();
    assert!(err.contains("unknown kind `access.teleported`"), "{err}");
    // Another field's unknown value is not an unknown kind.
    let bad = GRANTED.replace(r#""direction":"in""#, r#""direction":"sideways""#);
    assert_ne!(bad, GRANTED);
    let err = line(&bad).unwrap_err().to_string();
    assert!(err.contains("unknown variant `sideways`") && !err.contains("unknown kind"), "{err}");
}

#[test]
fn missing_field_is_named() {
    let bad = GRANTED.replace(r#""badge":"B1","#, "");
    let err = line(&bad).unwrap_err().to_string();
    assert!(err.contains("missing field `badge`"), "{err}");
}

#[test]
fn wrong_type_is_named() {
    let bad = r#"{"id":"x","source":"wms","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"inventory.received","sku":"K","quantity":"ten","to_location":"L"}"#;
    let err = line(bad).unwrap_err().to_string();
    assert!(err.contains("invalid type"), "{err}");
}

#[test]
fn malformed_json_is_a_syntax_error() {
    assert!(matches!(line("{\"id\":"), Err(EventError::Syntax(_))));
}

#[test]
fn semantic_checks() {
    let zero = r#"{"id":"x","source":"wms","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"inventory.received","sku":"K","quantity":0,"to_location":"L"}"#;
    assert!(line(zero).unwrap_err().to_string().contains("field `quantity`"));
    let adj = r#"{"id":"x","source":"wms","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"inventory.adjusted","sku":"K","location":"L","delta":0,"reason":"x"}"#;
    assert!(line(adj).unwrap_err().to_string().contains("field `delta`"));
    let empty_id = GRANTED.replace(r#""id":"a1""#, r#""id":"""#);
    assert!(line(&empty_id).unwrap_err().to_string().contains("EventId is empty"));
}

#[test]
fn every_kind_round_trips_its_name() {
    for k in EventKind::ALL {
        assert_eq!(EventKind::parse(k.as_str()), Some(*k));
        assert!(k.as_str().starts_with(k.family().as_str()));
    }
    assert_eq!(EventKind::ALL.len(), 42);
}

#[test]
fn containments_name_their_target_and_what_breaches_them() {
    let e = |reason: &str| {
        Event::from_json(
            format!(
                r#"{{"id":"c1","source":"stockade","site":"S1","occurred_at":"2026-03-02T10:00:00Z","kind":"record.containment","action":"quarantine_sku","target":"SKU-1","incident":"INC-2","reason":"{reason}"}}"#
            )
            .as_bytes(),
        )
    };
    let ok = e("shortage").unwrap();
    assert!(ok.validate().is_ok());
    assert_eq!(ok.entity_ids()[1], (EntityType::Sku, "SKU-1"));
    assert!(e(" ").unwrap_err().to_string().contains("reason"), "a containment says why");
    use ContainmentAction as A;
    assert!(A::QuarantineSku.breached_by(EventKind::InventoryShipped));
    assert!(!A::QuarantineSku.breached_by(EventKind::InventoryCounted));
    assert!(A::RevokeBadge.breached_by(EventKind::AccessDenied));
    assert!(!A::RevokeBadge.breached_by(EventKind::IdentityCredentialRevoked));
    assert!(!A::LockDoor.breached_by(EventKind::AccessDenied), "a refusal is the lock working");
    assert!(!A::EndVendorGrant.breached_by(EventKind::RecordContainment));
    assert_eq!(A::ALL.iter().filter(|a| a.target() == EntityType::Location).count(), 2);
}

/// Every value a property of the events' JSON Schema can take that the
/// tests below exercise: each enumeration's every name, one of anything
/// else (`i` picks among an enumeration's names).
fn sample_value(name: &str, prop: &serde_json::Value, defs: &serde_json::Value, i: usize) -> serde_json::Value {
    use serde_json::json;
    let prop = prop.get("anyOf").and_then(|a| a.get(0)).unwrap_or(prop);
    if let Some(r) = prop.get("$ref").and_then(|r| r.as_str()) {
        let def = &defs[r.trim_start_matches("#/$defs/")];
        let mut names: Vec<serde_json::Value> = Vec::new();
        for choice in def.get("oneOf").and_then(|o| o.as_array()).map_or(std::slice::from_ref(def), Vec::as_slice) {
            names.extend(choice.get("enum").and_then(|e| e.as_array()).into_iter().flatten().cloned());
            names.extend(choice.get("const").cloned());
        }
        if !names.is_empty() {
            return names[i % names.len()].clone();
        }
        return json!(format!("{name}-{i}"));
    }
    if name.ends_with("ip") {
        return json!(if i.is_multiple_of(2) { "10.1.2.3" } else { "2001:db8::7" });
    }
    let ty = match &prop["type"] {
        serde_json::Value::Array(a) => a[0].as_str().unwrap_or("string").to_owned(),
        t => t.as_str().unwrap_or("string").to_owned(),
    };
    match ty.as_str() {
        "integer" => json!(3 + i),
        "number" => json!(if i.is_multiple_of(2) { 2.5 } else { 7.0 }),
        "boolean" => json!(i.is_multiple_of(2)),
        "array" if i % 3 == 2 => json!([]),
        "array" => json!([[1, 4], [9, 9]]),
        _ => json!(format!("{name} {i}")),
    }
}

/// An event's members read in place are its JSON object's: every kind,
/// with every optional member set and every enumeration's every name, and
/// with the envelope's own members; the example feed too.
#[test]
fn members_read_in_place_are_the_json_objects() {
    let schema = crate::schema::events_schema();
    let defs = &schema["$defs"];
    let mut events: Vec<Event> = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    for variant in schema["oneOf"].as_array().unwrap() {
        let kind = variant["properties"]["kind"]["const"].as_str().unwrap();
        let body = &defs[variant["$ref"].as_str().unwrap().trim_start_matches("#/$defs/")];
        let props = body["properties"].as_object().unwrap();
        let names: Vec<&str> = props.keys().map(String::as_str).collect();
        let mut known: Vec<&str> = EventKind::parse(kind).unwrap().member_names().to_vec();
        known.sort_unstable();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(known, sorted, "{kind}: the members read in place are the schema's");
        kinds.insert(kind);
        for i in 0..9 {
            let mut v = serde_json::json!({"id": format!("e-{i}"), "source": "s", "site": "S1",
                "occurred_at": "2026-11-02T22:14:07.250+01:00", "kind": kind});
            for (name, prop) in props {
                v[name] = sample_value(name, prop, defs, i);
            }
            if i % 3 == 1 {
                v["received_at"] = "2026-11-02T21:15:00.5Z".into();
                v["revision"] = 2.into();
                v["flags"] = serde_json::json!(["unknown_door"]);
                v["epcis"] = serde_json::json!({"event_type": "ObjectEvent", "event_id": "urn:uuid:1",
                    "event_hash": "ni:///sha-256;00?ver=CBV2.0", "biz_step": "shipping"});
            }
            let e: Event = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{v}: {e}"));
            assert_eq!(Event::read_text_direct(v.to_string().as_bytes()).as_ref(), Some(&e), "{v}");
            events.push(e);
        }
    }
    assert_eq!(kinds.len(), EventKind::ALL.len(), "every kind");
    let text = include_str!("../../../../examples/events.ndjson");
    events.extend(text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str::<Event>(l).unwrap()));
    for e in &events {
        let json = serde_json::to_value(e).unwrap();
        let object = json.as_object().unwrap();
        let mut seen = Vec::new();
        e.each_member(&mut |name, m| seen.push((name, m)));
        let names: Vec<&str> = seen.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, object.keys().map(String::as_str).collect::<Vec<_>>(), "{json}");
        for (name, m) in &seen {
            assert_eq!(e.member(name).as_ref(), Some(m), "{name} of {json}");
            match m.to_json() {
                Some(v) => {
                    assert_eq!(&v, &object[*name], "{name} of {json}");
                    let text = m.to_text().unwrap();
                    assert_eq!(text, v.as_str().map_or_else(|| v.to_string(), str::to_owned));
                }
                None => assert!(object[*name].is_object() || object[*name].is_array(), "{name} of {json}"),
            }
        }
        assert_eq!(e.member("no_such_member"), None);
    }
}

/// Text the direct reading takes apart as the derived reading would: the
/// kind anywhere, member names with escapes; a second `kind` is left to
/// the derived reading (which refuses it).
#[test]
fn text_read_directly_reads_as_the_derived_reading() {
    let kind_last = r#"{"id":"a","source":"s","site":"S","occurred_at":"2026-11-02T08:00:00Z","door":"D","badge":"B","kind":"access.granted"}"#;
    let escaped = r#"{"id":"a","source":"s","site":"S","occurred_at":"2026-11-02T08:00:00Z","kind":"access.granted","d\u006for":"D","badge":"B\u00e9"}"#;
    let twice = r#"{"id":"a","source":"s","site":"S","occurred_at":"2026-11-02T08:00:00Z","kind":"access.granted","kind":"access.denied","door":"D","badge":"B"}"#;
    for text in [kind_last, escaped] {
        let derived: Event = serde_json::from_str(text).unwrap();
        assert_eq!(Event::read_text_direct(text.as_bytes()).as_ref(), Some(&derived), "{text}");
    }
    assert_eq!(Event::read_text_direct(twice.as_bytes()), None);
    let derived = serde_json::from_str::<Event>(twice).map_err(|e| e.to_string());
    assert_eq!(Event::read_json(twice.as_bytes()).map_err(|e| e.to_string()), derived);
    assert!(derived.is_err(), "a second kind is refused");
}
