//! The one-pass capture of JSON documents ([`stockade_epcis::capture_json`])
//! gives what validating the whole tree and mapping it give
//! ([`validate`] then [`map_document`]): the same events and the same
//! refusals, on every document of the conformance corpus, and on documents
//! built to take each detour to the whole-tree route.
//! Data: tests/data/epcis (see the SOURCE.txt files there).

use serde_json::{Map, Value, json};
mod common;
use common::corpus;
use std::path::Path;
use stockade_epcis::capture::{Mapped, takes_one_pass};
use stockade_epcis::{Directory, DocumentError, capture_json, map_document, validate};
use stockade_model::SourceId;

fn whole_tree(bytes: &[u8]) -> Result<Mapped, DocumentError> {
    let doc = validate(bytes)?;
    Ok(map_document(&doc, &Directory::default(), &SourceId::new("epcis").unwrap(), None))
}

fn one_pass(bytes: &[u8]) -> Result<Mapped, DocumentError> {
    capture_json(bytes, &Directory::default(), &SourceId::new("epcis").unwrap(), None)
}

#[test]
fn every_conformance_document_captures_as_the_whole_tree_route_does() {
    let (mut fast, mut refused, mut events) = (0, 0, 0);
    for p in corpus() {
        let bytes = std::fs::read(&p).unwrap();
        let expected = whole_tree(&bytes);
        assert_eq!(one_pass(&bytes), expected, "{}", p.display());
        match expected {
            Ok(mapped) => events += mapped.len(),
            Err(_) => refused += 1,
        }
        // The fast route never accepts what the whole tree refuses.
        if takes_one_pass(&bytes) {
            assert!(validate(&bytes).is_ok(), "{} took one pass but is invalid", p.display());
            fast += 1;
        }
    }
    assert!(fast > 50 && refused > 10 && events > 150, "one pass {fast}, refused {refused}, events {events}");
}

/// The schema's verdict taken by parts (the document with its event lists
/// emptied, then each event alone) is the verdict on the whole document.
#[test]
fn a_documents_verdict_by_parts_is_its_verdict_whole() {
    let (mut valid, mut invalid) = (0, 0);
    for p in corpus() {
        let Ok(doc) = serde_json::from_slice::<Value>(&std::fs::read(&p).unwrap()) else { continue };
        let whole = stockade_epcis::validate::validate_parsed(doc.clone()).is_ok();
        assert_eq!(stockade_epcis::validate::valid_by_parts(&doc), whole, "{}", p.display());
        if whole { valid += 1 } else { invalid += 1 }
    }
    assert!(valid > 50 && invalid > 10, "valid {valid}, invalid {invalid}");
}

/// GS1's query document whose results list fields to ignore in the hash.
fn ignore_fields_document() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/epcis/event-hash/tests/examples/epcisQueryDocHavingEventWithIgnoreFields.jsonld");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The object with `name` moved to the end (members keep their order).
fn moved_last(v: &Value, name: &str) -> Value {
    let m = v.as_object().unwrap();
    let mut out: Map<String, Value> =
        m.iter().filter(|(k, _)| *k != name).map(|(k, v)| (k.clone(), v.clone())).collect();
    out.insert(name.to_owned(), m[name].clone());
    Value::Object(out)
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

#[test]
fn a_document_in_the_common_shape_takes_one_pass() {
    let doc = ignore_fields_document();
    // The ignored fields are listed before the results: one pass, and the
    // hashes leave those fields out as the whole tree does.
    assert!(takes_one_pass(&bytes(&doc)));
    let mapped = one_pass(&bytes(&doc)).unwrap();
    assert_eq!(Ok(mapped.clone()), whole_tree(&bytes(&doc)));
    assert!(!mapped.is_empty());
}

#[test]
fn members_the_hash_reads_after_the_events_send_the_document_the_whole_tree_way() {
    let doc = ignore_fields_document();
    let listed_late = {
        let mut d = doc.clone();
        let qr = moved_last(&d["epcisBody"]["queryResults"], "repository-x:ignoreFields");
        d["epcisBody"]["queryResults"] = qr;
        d
    };
    let context_late = moved_last(&doc, "@context");
    for (what, d) in [("ignoreFields after the events", listed_late), ("@context after the body", context_late)] {
        let b = bytes(&d);
        assert!(!takes_one_pass(&b), "{what}");
        let expected = whole_tree(&b);
        assert_eq!(one_pass(&b), expected, "{what}");
        // The late members count: the hashes are the document's own.
        assert_eq!(expected, whole_tree(&bytes(&doc)), "{what}");
    }
}

/// A body holding two event lists, or an event list that is not an array,
/// is the whole tree's to judge.
#[test]
fn odd_event_lists_send_the_document_the_whole_tree_way() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/epcis/event-hash/tests/examples/epcisDocWithVariousEventTypes.jsonld");
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert!(takes_one_pass(&bytes(&doc)));
    let text = String::from_utf8(bytes(&doc)).unwrap();
    let events = serde_json::to_string(stockade_epcis::event_list(&doc)).unwrap();
    let cases = [
        // Two lists in one body: the last one is the document's.
        ("two lists", text.replacen("\"eventList\":", "\"eventList\":[],\"eventList\":", 1)),
        ("a list, then query results", {
            let mut d = json!({
                "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-01-01T00:00:00Z",
                "epcisBody": {}
            });
            d["epcisBody"]["eventList"] = serde_json::from_str(&events).unwrap();
            d["epcisBody"]["queryResults"] = json!({"resultsBody": {"eventList": []}});
            String::from_utf8(bytes(&d)).unwrap()
        }),
        (
            "a list that is an object",
            text.replacen("\"eventList\":[", "\"eventList\":{\"x\":[", 1).replacen("]}", "]}}", 1),
        ),
        ("a list that is null", {
            let mut d = doc.clone();
            if let Some(body) = d["epcisBody"].as_object_mut() {
                body.insert("eventList".into(), Value::Null);
            }
            String::from_utf8(bytes(&d)).unwrap()
        }),
    ];
    for (what, text) in cases {
        let b = text.as_bytes();
        assert!(!takes_one_pass(b), "{what}");
        assert_eq!(one_pass(b), whole_tree(b), "{what}");
    }
}

/// Refusals are the whole tree's, errors listed and pointed as it lists
/// them: malformed JSON, an invalid header, an invalid event.
#[test]
fn refusals_are_the_whole_trees() {
    let doc = ignore_fields_document();
    let mut bad_event = doc.clone();
    bad_event["epcisBody"]["queryResults"]["resultsBody"]["eventList"][1]["bizStep"] = json!("transforming");
    let mut bad_time = doc.clone();
    bad_time["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["eventTime"] = json!("2019-10-21T14:45:60Z");
    let mut bad_header = doc.clone();
    bad_header["schemaVersion"] = json!(2);
    let text = String::from_utf8(bytes(&doc)).unwrap();
    for (what, b) in [
        ("an invalid event", bytes(&bad_event)),
        ("a leap second", bytes(&bad_time)),
        ("an invalid header", bytes(&bad_header)),
        ("malformed JSON", text.as_bytes()[..text.len() / 2].to_vec()),
        ("not JSON", b"EPCIS".to_vec()),
    ] {
        assert!(!takes_one_pass(&b), "{what}");
        let refused = one_pass(&b).unwrap_err();
        assert_eq!(Err(refused.clone()), whole_tree(&b), "{what}");
        if what == "an invalid event" {
            assert!(
                refused.to_string().contains("/epcisBody/queryResults/resultsBody/eventList/1/bizStep"),
                "{refused}"
            );
        }
    }
}

/// A receiving `ObjectEvent` of two units of each class given (GTIN
/// 0614141.NNNNNN), with its `eventID` if given.
fn receipt(id: Option<&str>, classes: &[&str]) -> String {
    let quantities: Vec<String> = classes
        .iter()
        .map(|c| format!(r#"{{"epcClass":"urn:epc:class:lgtin:0614141.{c}.L1","quantity":2}}"#))
        .collect();
    let id = id.map(|id| format!(r#""eventID":"{id}","#)).unwrap_or_default();
    format!(
        r#"{{"type":"ObjectEvent",{id}"action":"OBSERVE","bizStep":"receiving",
            "eventTime":"2026-11-02T08:00:00Z","eventTimeZoneOffset":"+00:00",
            "quantityList":[{}],"bizLocation":{{"id":"urn:epc:id:sgln:0614141.00001.0"}}}}"#,
        quantities.join(",")
    )
}

/// A capture document of these events.
fn receipts(events: &[String]) -> String {
    format!(
        r#"{{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument",
            "schemaVersion":"2.0","creationDate":"2026-11-02T08:00:00Z","epcisBody":{{"eventList":[{}]}}}}"#,
        events.join(",")
    )
}

/// An event the schema takes but the mapping cannot (its id, with the SKU
/// appended for each class it counts, is longer than an id may be) is
/// refused on its own, with the reason, by both routes; the events beside
/// it map.
#[test]
fn an_event_that_cannot_map_is_refused_alone_by_both_routes() {
    let long_id = format!("urn:example:{}", "e".repeat(185));
    let doc = receipts(&[
        receipt(Some("urn:example:1"), &["100001"]),
        receipt(Some(&long_id), &["100001", "100002"]),
        receipt(Some("urn:example:3"), &["100001", "100002"]),
    ]);
    let b = doc.as_bytes();
    assert!(takes_one_pass(b));
    let mapped = one_pass(b).unwrap();
    assert_eq!(Ok(mapped.clone()), whole_tree(b));
    let of = |i: usize| mapped.iter().filter(|(n, _)| *n == i).map(|(_, r)| r).collect::<Vec<_>>();
    assert!(matches!(of(0).as_slice(), [Ok(_)]), "{:?}", of(0));
    match of(1).as_slice() {
        [Err(reason)] => assert!(reason.contains("eventID"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(of(2).as_slice(), [Ok(_), Ok(_)]), "{:?}", of(2));
}

/// An event is stored under its EPCIS `eventID`, which its origin then
/// does not repeat; the origin keeps it where the id is not the eventID
/// itself (an EPCIS event booked as one event per SKU), and
/// `Event::epcis_event_id` reads it in every case, by both routes.
#[test]
fn the_event_id_is_stored_once_and_read_back_in_every_case() {
    let doc = receipts(&[
        receipt(Some("urn:example:one#1"), &["100001"]),
        receipt(Some("urn:example:two#2"), &["100001", "100002"]),
        receipt(None, &["100001"]),
    ]);
    let b = doc.as_bytes();
    assert!(takes_one_pass(b));
    let mapped = one_pass(b).unwrap();
    assert_eq!(Ok(mapped.clone()), whole_tree(b));
    let events: Vec<(usize, stockade_model::Event)> =
        mapped.into_iter().map(|(i, r)| (i, r.expect("every event maps"))).collect();
    assert_eq!(events.len(), 4, "{events:?}");
    for (i, ev) in &events {
        let origin = ev.epcis.as_deref().expect("an EPCIS origin");
        let stored = String::from_utf8(ev.canonical_bytes()).unwrap();
        match i {
            0 => {
                assert_eq!(ev.id.as_str(), "urn:example:one#1");
                assert_eq!(origin.event_id, None, "not repeated: {stored}");
                assert_eq!(stored.matches("urn:example:one#1").count(), 1, "{stored}");
                assert_eq!(ev.epcis_event_id(), Some("urn:example:one#1"));
            }
            1 => {
                assert!(ev.id.as_str().starts_with("urn:example:two#2#"), "{}", ev.id.as_str());
                assert_eq!(origin.event_id.as_deref(), Some("urn:example:two#2"));
                assert_eq!(ev.epcis_event_id(), Some("urn:example:two#2"));
            }
            _ => {
                assert_eq!(ev.id.as_str(), origin.event_hash);
                assert_eq!(origin.event_id, None);
                assert_eq!(ev.epcis_event_id(), None, "the producer gave none");
            }
        }
        // What is stored reads back the same.
        let back = stockade_model::Event::from_json(stored.as_bytes()).unwrap();
        assert_eq!(back.epcis_event_id(), ev.epcis_event_id());
    }
}
