//! EPCIS 2.0 conformance: every GS1 example and every valid OpenEPCIS capture
//! document is accepted and maps; every invalid one is refused with a reason.
//! Data: tests/data/epcis (see the SOURCE.txt files there).

mod common;
use common::{data, json_documents as files};
use std::path::{Path, PathBuf};
use stockade_epcis::{Directory, DocumentError, map_document, validate};
use stockade_model::{EventBody, SourceId};

#[test]
fn every_valid_document_is_accepted_and_mapped() {
    let source = SourceId::new("epcis").unwrap();
    let mut docs = files(&data("gs1/JSON"));
    docs.extend(files(&data("openepcis/2.0/EPCIS/JSON/Capture/Documents")));
    assert!(docs.len() >= 60, "found {} documents", docs.len());
    let mut events = 0;
    for path in &docs {
        let bytes = std::fs::read(path).unwrap();
        let doc = validate(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let n = stockade_epcis::event_list(&doc).len();
        assert!(n > 0, "{}: no events", path.display());
        let mapped = map_document(&doc, &Directory::default(), &source, None);
        for (i, r) in &mapped {
            assert!(r.is_ok(), "{} event {i}: {:?}", path.display(), r);
        }
        // Every EPCIS event yields at least one canonical event.
        let covered: std::collections::BTreeSet<usize> = mapped.iter().map(|(i, _)| *i).collect();
        assert_eq!(covered.len(), n, "{}", path.display());
        events += mapped.len();
    }
    assert!(events > 100);
}

#[test]
fn every_invalid_document_is_refused_with_a_reason() {
    let docs = files(&data("openepcis/2.0/EPCIS/JSON/Capture/Invalid"));
    assert_eq!(docs.len(), 15);
    for path in docs {
        let bytes = std::fs::read(&path).unwrap();
        match validate(&bytes) {
            Ok(_) => panic!("{} was accepted", path.display()),
            Err(DocumentError::Invalid(errors)) => {
                assert!(!errors.is_empty());
                assert!(errors.iter().all(|e| e.starts_with('/')), "{}: {errors:?}", path.display());
            }
            Err(e) => panic!("{}: unexpected {e}", path.display()),
        }
    }
}

#[test]
fn reasons_name_the_field() {
    let read = |f: &str| std::fs::read(data(&format!("openepcis/2.0/EPCIS/JSON/Capture/Invalid/{f}"))).unwrap();
    let msg = validate(&read("ObjectEvent_with_non_standard_bizStep.json")).unwrap_err().to_string();
    assert!(msg.contains("/epcisBody/eventList/0/bizStep"), "{msg}");
    let msg = validate(&read("ObjectEvent_with_invalid_eventTime_format.json")).unwrap_err().to_string();
    assert!(msg.contains("eventTime"), "{msg}");
    let msg = validate(&read("EPCISDocument_without_context.json")).unwrap_err().to_string();
    assert!(msg.contains("@context"), "{msg}");
    assert!(matches!(validate(b"{\"type\":"), Err(DocumentError::Json(_))));
}

/// Reference data with the phone SKU (GTIN 10614141073464) and LYS
/// locations registered by SGLN: (id, sgln).
fn phone_at(locations: &[(&str, &str)]) -> stockade_model::ReferenceData {
    stockade_model::ReferenceData {
        skus: vec![stockade_model::SkuRecord {
            id: stockade_model::Sku::new("PHONE").unwrap(),
            description: "phone".into(),
            unit_value: 100.0,
            value_tier: stockade_model::ValueTier::High,
            gtin: Some("10614141073464".into()),
        }],
        locations: locations
            .iter()
            .map(|(id, sgln)| stockade_model::StorageLocation {
                id: stockade_model::LocationId::new(*id).unwrap(),
                site: stockade_model::SiteId::new("LYS").unwrap(),
                zone: stockade_model::ZoneId::new("Z").unwrap(),
                sgln: Some((*sgln).into()),
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn book_kinds_need_known_places_and_count_instances_and_classes() {
    let reference = phone_at(&[("DOCK", "urn:epc:id:sgln:0012345.11111.0")]);
    let dir = Directory::new(&reference);
    let bytes = std::fs::read(data("gs1/JSON/EPCISQueryDocument.jsonld")).unwrap();
    let doc = validate(&bytes).unwrap();
    let mapped = map_document(&doc, &dir, &SourceId::new("epcis").unwrap(), None);
    // Event 0: shipping read at a location of no known site: observed.
    let (_, first) = &mapped[0];
    let first = first.as_ref().unwrap();
    assert!(matches!(first.body, EventBody::InventoryObserved(_)), "{first:?}");
    assert_eq!(first.site.as_str(), "epcis-unknown-site");
    // Event 1: receiving one SGTIN at a known bizLocation: received, 1 unit of PHONE at DOCK.
    let (_, second) = &mapped[1];
    let second = second.as_ref().unwrap();
    match &second.body {
        EventBody::InventoryReceived(r) => {
            assert_eq!(
                (r.sku.as_str(), r.quantity, r.to_location.as_ref().map(|l| l.as_str())),
                ("PHONE", 1.0, Some("DOCK"))
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(second.site.as_str(), "LYS");
    assert_eq!(second.offset_s(), -6 * 3600, "the producer's offset is kept");
    assert!(second.id.as_str().starts_with("ni:///sha-256;"), "the EPCIS eventID is the id");
}

#[test]
fn events_without_an_event_id_are_keyed_by_their_cbv_hash() {
    let bytes = std::fs::read(data("event-hash/tests/examples/epcisDocWithSingleEvent.jsonld")).unwrap();
    let doc = validate(&bytes).unwrap();
    let mapped = map_document(&doc, &Directory::default(), &SourceId::new("epcis").unwrap(), None);
    let ev = mapped[0].1.as_ref().unwrap();
    let want = "ni:///sha-256;ffa491b16867e34a7791a8d5389d826afc24e63a121026b6a4004ace38631b4b?ver=CBV2.0";
    assert_eq!(ev.id.as_str(), want);
    assert_eq!(ev.epcis.as_ref().unwrap().event_hash, want);
}

fn xml_files(dir: &Path) -> Vec<PathBuf> {
    common::files_with(dir, &["xml"])
}

#[test]
fn every_valid_xml_capture_document_is_accepted_and_mapped() {
    let source = SourceId::new("epcis").unwrap();
    // JumbledFieldsOrder.xml breaks the field order that EPCglobal-epcis-2_0.xsd
    // fixes (xsd:sequence), and the OpenEPCIS set itself rejects
    // ObjectEvent_with_wrong_element_order.xml for the same fault; we follow
    // the XSD (see `jumbled_xml_is_refused_for_its_order`).
    let mut docs: Vec<PathBuf> = xml_files(&data("openepcis/2.0/EPCIS/XML/Capture/Documents"))
        .into_iter()
        .filter(|p| !p.ends_with("JumbledFieldsOrder.xml"))
        .collect();
    docs.extend(xml_files(&data("gs1/XML")).into_iter().filter(|p| {
        // Master-data-only and capture-job examples carry no events to capture.
        let text = std::fs::read_to_string(p).unwrap();
        text.contains("<EventList")
    }));
    let mut failures = Vec::new();
    for path in &docs {
        let bytes = std::fs::read(path).unwrap();
        match stockade_epcis::validate_xml(&bytes) {
            Ok(doc) => {
                let mapped = map_document(&doc, &Directory::default(), &source, None);
                let events = stockade_epcis::event_list(&doc).len();
                let covered: std::collections::BTreeSet<usize> = mapped.iter().map(|(i, _)| *i).collect();
                if covered.len() != events || mapped.iter().any(|(_, r)| r.is_err()) {
                    failures.push(format!("{}: mapping {:?}", path.display(), mapped.iter().find(|(_, r)| r.is_err())));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(docs.len() >= 40, "{}", docs.len());
    assert!(failures.is_empty(), "{} of {}:\n{}", failures.len(), docs.len(), failures.join("\n"));
}

#[test]
fn every_invalid_xml_capture_document_is_refused() {
    let docs = xml_files(&data("openepcis/2.0/EPCIS/XML/Capture/Invalid"));
    assert!(!docs.is_empty());
    for path in docs {
        let bytes = std::fs::read(&path).unwrap();
        assert!(stockade_epcis::validate_xml(&bytes).is_err(), "{} was accepted", path.display());
    }
}

#[test]
fn jumbled_xml_is_refused_for_its_order() {
    let bytes = std::fs::read(data("openepcis/2.0/EPCIS/XML/Capture/Documents/JumbledFieldsOrder.xml")).unwrap();
    let err = stockade_epcis::validate_xml(&bytes).unwrap_err().to_string();
    assert!(err.contains("is out of order"), "{err}");
    // Its JSON twin, where order carries no meaning, is accepted.
    let json = std::fs::read(data("openepcis/2.0/EPCIS/JSON/Capture/Documents/JumbledFieldsOrder.json")).unwrap();
    assert!(validate(&json).is_ok());
}

/// CBV `storing` with a source location is a put-away; `picking` with a
/// destination location moves the goods there.
#[test]
fn storing_and_picking_move_between_listed_locations() {
    let reference = phone_at(&[
        ("DOCK", "urn:epc:id:sgln:0012345.11111.0"),
        ("A1", "urn:epc:id:sgln:0012345.11111.101"),
        ("PACK", "urn:epc:id:sgln:0012345.11111.900"),
    ]);
    let event = |step: &str, at: &str, extra: &str| {
        format!(
            r#"{{"type":"ObjectEvent","action":"OBSERVE","bizStep":"{step}","eventTime":"2026-11-02T08:00:00+01:00","eventTimeZoneOffset":"+01:00",
              "quantityList":[{{"epcClass":"urn:epc:class:lgtin:0614141.107346.LOT1","quantity":5}}],
              "bizLocation":{{"id":"urn:epc:id:sgln:0012345.11111.{at}"}}{extra}}}"#
        )
    };
    let doc = format!(
        r#"{{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",
            "creationDate":"2026-11-02T08:00:00Z","epcisBody":{{"eventList":[{},{},{}]}}}}"#,
        event("storing", "101", r#","sourceList":[{"type":"location","source":"urn:epc:id:sgln:0012345.11111.0"}]"#),
        event(
            "picking",
            "101",
            r#","destinationList":[{"type":"location","destination":"urn:epc:id:sgln:0012345.11111.900"}]"#
        ),
        event("storing", "101", ""),
    );
    let doc = validate(doc.as_bytes()).unwrap();
    let mapped = map_document(&doc, &Directory::new(&reference), &SourceId::new("epcis").unwrap(), None);
    let body = |i: usize| mapped[i].1.as_ref().unwrap().body.clone();
    match body(0) {
        EventBody::InventoryPutAway(t) => {
            assert_eq!(
                (t.from_location.as_ref().map(|l| l.as_str()), t.to_location.as_str(), t.quantity),
                (Some("DOCK"), "A1", 5.0)
            )
        }
        other => panic!("{other:?}"),
    }
    match body(1) {
        EventBody::InventoryPicked(p) => {
            assert_eq!((p.from_location.as_str(), p.to_location.as_ref().map(|l| l.as_str())), ("A1", Some("PACK")))
        }
        other => panic!("{other:?}"),
    }
    match body(2) {
        // No sourceList: from the site's received state (docs/BOOK.md).
        EventBody::InventoryPutAway(t) => assert_eq!((t.from_location, t.to_location.as_str()), (None, "A1")),
        other => panic!("{other:?}"),
    }
}

/// Each event finds its own site: a registered location's, else the site
/// whose GLN the SGLN carries (any extension), else `--site`; an event that
/// finds none is kept, at no site, and flagged with its location.
#[test]
fn each_event_finds_its_site_by_location_or_gln() {
    let site = |id: &str, gln: Option<&str>| stockade_model::Site {
        id: stockade_model::SiteId::new(id).unwrap(),
        name: id.into(),
        timezone: "Europe/Paris".parse().unwrap(),
        country: None,
        gln: gln.map(str::to_owned),
        counts_correct_book_from: None,
        networks: Vec::new(),
        continuity: None,
    };
    let reference = stockade_model::ReferenceData {
        sites: vec![site("LYS", Some("0012345111112")), site("NTE", Some("0012345222221"))],
        locations: vec![stockade_model::StorageLocation {
            id: stockade_model::LocationId::new("LYS-DOCK").unwrap(),
            site: stockade_model::SiteId::new("LYS").unwrap(),
            zone: stockade_model::ZoneId::new("Z").unwrap(),
            sgln: Some("urn:epc:id:sgln:0012345.11111.7".into()),
        }],
        ..Default::default()
    };
    let event = |sgln: &str| {
        format!(
            r#"{{"type":"ObjectEvent","action":"OBSERVE","bizStep":"inspecting","eventTime":"2026-11-02T08:00:00+01:00","eventTimeZoneOffset":"+01:00",
              "quantityList":[{{"epcClass":"urn:epc:class:lgtin:0614141.107346.LOT1","quantity":5}}],
              "bizLocation":{{"id":"{sgln}"}}}}"#
        )
    };
    let doc = format!(
        r#"{{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",
            "creationDate":"2026-11-02T08:00:00Z","epcisBody":{{"eventList":[{},{},{},{}]}}}}"#,
        event("urn:epc:id:sgln:0012345.11111.7"),
        event("urn:epc:id:sgln:0012345.11111.0"),
        event("urn:epc:id:sgln:0012345.22222.404"),
        event("urn:epc:id:sgln:0099999.33333.0"),
    );
    assert!(stockade_model::is_gln("0012345111112") && stockade_model::is_gln("0012345222221"));
    let doc = validate(doc.as_bytes()).unwrap();
    let dir = Directory::new(&reference);
    let mapped = map_document(&doc, &dir, &SourceId::new("epcis").unwrap(), None);
    let ev = |i: usize| mapped[i].1.as_ref().unwrap().clone();
    assert_eq!(ev(0).site.as_str(), "LYS", "a registered location");
    assert_eq!(ev(1).site.as_str(), "LYS", "the site's own GLN");
    assert_eq!(ev(2).site.as_str(), "NTE", "an unregistered SGLN of NTE's GLN: one document, two sites");
    assert_eq!(ev(3).site.as_str(), "epcis-unknown-site");
    assert_eq!(ev(3).flags, ["unresolved_site:urn:epc:id:sgln:0099999.33333.0"]);
    assert!(ev(0).flags.is_empty() && ev(2).flags.is_empty());
    let nte = stockade_model::SiteId::new("NTE").unwrap();
    let mapped = map_document(&doc, &dir, &SourceId::new("epcis").unwrap(), Some(&nte));
    let last = mapped[3].1.as_ref().unwrap();
    assert_eq!((last.site.as_str(), last.flags.len()), ("NTE", 0), "--site for what nothing else places");
    assert_eq!(mapped[0].1.as_ref().unwrap().site.as_str(), "LYS", "--site does not override what is known");
}

/// A count of zero units is a count, not a sighting: the empty bin is the
/// strongest sign of a loss.
#[test]
fn a_count_of_zero_is_a_count() {
    let reference = phone_at(&[("CAGE-1", "urn:epc:id:sgln:0012345.11111.5")]);
    let doc = r#"{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",
        "creationDate":"2026-11-02T08:00:00Z","epcisBody":{"eventList":[
        {"type":"ObjectEvent","action":"OBSERVE","bizStep":"cycle_counting","eventTime":"2026-11-02T08:00:00+01:00","eventTimeZoneOffset":"+01:00",
         "quantityList":[{"epcClass":"urn:epc:class:lgtin:0614141.107346.LOT1","quantity":0}],
         "bizLocation":{"id":"urn:epc:id:sgln:0012345.11111.5"}},
        {"type":"ObjectEvent","action":"OBSERVE","bizStep":"receiving","eventTime":"2026-11-02T08:00:00+01:00","eventTimeZoneOffset":"+01:00",
         "quantityList":[{"epcClass":"urn:epc:class:lgtin:0614141.107346.LOT1","quantity":0}],
         "bizLocation":{"id":"urn:epc:id:sgln:0012345.11111.5"}}]}}"#;
    let doc = validate(doc.as_bytes()).unwrap();
    let mapped = map_document(&doc, &Directory::new(&reference), &SourceId::new("epcis").unwrap(), None);
    match &mapped[0].1.as_ref().unwrap().body {
        EventBody::InventoryCounted(c) => assert_eq!((c.location.as_str(), c.quantity), ("CAGE-1", 0.0)),
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(mapped[1].1.as_ref().unwrap().body, EventBody::InventoryObserved(_)),
        "receiving nothing moves nothing"
    );
}

/// Event `i` of a document, to change.
fn event_at(d: &mut serde_json::Value, i: usize) -> Option<&mut serde_json::Map<String, serde_json::Value>> {
    let body = d.get_mut("epcisBody")?;
    let list = if body.get("eventList").is_some() {
        body.get_mut("eventList")
    } else {
        body.pointer_mut("/queryResults/resultsBody/eventList")
    }?;
    list.get_mut(i)?.as_object_mut()
}

/// Every member of every event, changed in ways a producer gets wrong.
fn mutations(doc: &serde_json::Value) -> Vec<serde_json::Value> {
    use serde_json::json;
    let mut out = Vec::new();
    let events = stockade_epcis::event_list(doc).len();
    for i in 0..events.min(5) {
        let Some(keys) = event_at(&mut doc.clone(), i).map(|e| e.keys().cloned().collect::<Vec<_>>()) else { continue };
        for key in keys {
            for value in
                [json!(null), json!(7), json!("not a uri"), json!("urn:x:1"), json!([]), json!({}), json!(["a", "a"])]
            {
                let mut d = doc.clone();
                if let Some(e) = event_at(&mut d, i) {
                    e.insert(key.clone(), value);
                }
                out.push(d);
            }
            let mut d = doc.clone();
            if let Some(e) = event_at(&mut d, i) {
                e.remove(&key);
            }
            out.push(d);
            // A list with an item repeated (JSON's `uniqueItems`).
            let mut d = doc.clone();
            if let Some(serde_json::Value::Array(items)) = event_at(&mut d, i).and_then(|e| e.get_mut(&key))
                && let Some(first) = items.first().cloned()
            {
                items.push(first);
                out.push(d);
            }
        }
        for (key, value) in [
            ("bizStep", json!("transforming")),
            ("bizStep", json!("urn:epcglobal:cbv:bizstep:shipping")),
            ("disposition", json!("in_progress")),
            ("action", json!("MOVE")),
            ("eventTime", json!("2026-11-02T05:00:05")),
            ("eventTimeZoneOffset", json!("+25:00")),
            ("type", json!("NoSuchEvent")),
            ("example:ext", json!("x")),
            ("unknownMember", json!(1)),
        ] {
            let mut d = doc.clone();
            if let Some(e) = event_at(&mut d, i) {
                e.insert(key.to_owned(), value);
            }
            out.push(d);
        }
    }
    out
}

/// The schema compiled into the binary and the one built at run time are
/// one schema: the same verdict on every conformance document, valid or
/// not, and on thousands of their mutations.
#[test]
fn the_compiled_and_run_time_validators_agree() {
    let mut docs = files(&data("gs1/JSON"));
    docs.extend(files(&data("openepcis/2.0/EPCIS/JSON")));
    let (mut checked, mut refused) = (0, 0);
    for path in docs {
        let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&std::fs::read(&path).unwrap()) else { continue };
        for d in std::iter::once(doc.clone()).chain(mutations(&doc)) {
            assert!(stockade_epcis::validate::validators_agree(&d).unwrap(), "{}: {d}", path.display());
            checked += 1;
            refused += usize::from(stockade_epcis::validate::validate_parsed(d).is_err());
        }
    }
    assert!(checked > 2_000, "{checked} documents checked");
    assert!(refused > checked / 3, "the mutations are mostly invalid: {refused} of {checked} refused");
}
