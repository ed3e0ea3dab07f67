//! CBV 2.0 event hash IDs reproduce GS1's reference vectors exactly.
//! Data: tests/data/epcis/event-hash (see SOURCE.txt there).

mod common;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/epcis/event-hash/tests/examples")
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p).unwrap().lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect()
}

/// Checks every vector whose input has extension `ext`: the hashes file is
/// `X.hashes` or `X.ext.hashes` (likewise pre-hashes, shown on failure).
fn check_vectors(ext: &str, read: fn(&[u8]) -> serde_json::Value) -> usize {
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir()).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries.into_iter().filter(|p| p.extension().and_then(|e| e.to_str()) == Some(ext)) {
        let stem = path.with_extension("");
        let sibling = |kind: &str| {
            [path.with_extension(format!("{ext}.{kind}")), stem.with_extension(kind)].into_iter().find(|p| p.exists())
        };
        let Some(hashes) = sibling("hashes") else { continue };
        let doc = read(&std::fs::read(&path).unwrap());
        let want = lines(&hashes);
        let got = stockade_epcis::hash::document_hashes(&doc);
        let pre = stockade_epcis::hash::document_prehashes(&doc);
        let want_pre = sibling("prehashes").map(|p| lines(&p)).unwrap_or_default();
        for (i, w) in want.iter().enumerate() {
            checked += 1;
            if got.get(i) != Some(w) {
                failures.push(format!(
                    "{} event {i}:\n  got  {}\n  want {}",
                    path.file_name().unwrap().to_string_lossy(),
                    pre.get(i).map(String::as_str).unwrap_or("-"),
                    want_pre.get(i).map(String::as_str).unwrap_or("(no pre-hash)")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {checked} differ:\n{}", failures.len(), failures.join("\n"));
    checked
}

#[test]
fn every_json_vector_hashes_exactly() {
    let checked = check_vectors("jsonld", |b| serde_json::from_slice(b).unwrap());
    assert!(checked >= 40, "only {checked} vectors");
}

#[test]
fn every_xml_vector_hashes_exactly() {
    let checked = check_vectors("xml", |b| stockade_epcis::xml::to_json(b).unwrap());
    assert!(checked >= 30, "only {checked} vectors");
}

/// Different serialisations of the same event hash equal.
#[test]
fn equal_events_hash_equal() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/epcis/event-hash/tests/expected_equal/ReferenceEventHashAlgorithm.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let hashes = stockade_epcis::hash::document_hashes(&doc);
    assert_eq!(hashes.len(), 2);
    assert_eq!(hashes[0], hashes[1], "{:#?}", stockade_epcis::hash::document_prehashes(&doc));
    // And a change of any value changes the hash.
    let mut changed = doc.clone();
    changed["epcisBody"]["eventList"][0]["action"] = "ADD".into();
    assert_ne!(stockade_epcis::hash::document_hashes(&changed)[0], hashes[0]);
}

#[test]
fn keys_normalise_to_canonical_digital_links() {
    use stockade_epcis::hash::normalise_key as n;
    assert_eq!(
        n("urn:epc:id:sgtin:0614141.107346.2017").as_deref(),
        Some("https://id.gs1.org/01/10614141073464/21/2017")
    );
    assert_eq!(
        n("https://example.com/01/10614141073464/22/ABC/10/L1/21/S1?x=1").as_deref(),
        Some("https://id.gs1.org/01/10614141073464/21/S1")
    );
    assert_eq!(
        n("https://id.gs1.org/01/10614141073464/10/L1").as_deref(),
        Some("https://id.gs1.org/01/10614141073464/10/L1")
    );
    assert_eq!(n("urn:epc:id:sgln:0614141.07346.0").as_deref(), Some("https://id.gs1.org/414/0614141073467"));
    assert_eq!(n("http://transaction.acme.com/po/12345678"), None, "not a GS1 key");
    assert_eq!(n("urn:epc:id:sgtin:061414.107346.2017"), None, "wrong digit count");
}

#[test]
fn xml_representations_of_one_event_hash_equal() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/epcis/event-hash/tests/expected_equal");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("xml") {
            continue;
        }
        let doc = stockade_epcis::xml::to_json(&std::fs::read(&path).unwrap()).unwrap();
        let hashes = stockade_epcis::hash::document_hashes(&doc);
        assert!(hashes.len() >= 2, "{}", path.display());
        assert!(
            hashes.iter().all(|h| *h == hashes[0]),
            "{}: {:#?}",
            path.display(),
            stockade_epcis::hash::document_prehashes(&doc)
        );
    }
}

/// The direct renderer of common event shapes gives the general tree's
/// pre-hash on every document of the conformance corpus (GS1's examples and
/// vectors, OpenEPCIS's captures, valid or not), and on variations of a
/// common event: empty values, CURIEs, bare words, URNs, extra fields.
#[test]
fn the_direct_rendering_equals_the_general_one() {
    let paths = common::corpus();
    let (mut compared, mut direct) = (0, 0);
    for p in &paths {
        let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&std::fs::read(p).unwrap()) else { continue };
        let (fast, general) =
            (stockade_epcis::hash::document_prehashes(&doc), stockade_epcis::hash::document_prehashes_general(&doc));
        assert_eq!(fast, general, "{}", p.display());
        compared += fast.len();
        direct += stockade_epcis::hash::rendered_directly(&doc);
    }
    assert!(compared > 150 && direct > 30, "compared {compared} events, {direct} rendered directly");
    let base = serde_json::json!({
        "type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-11-02T08:00:00.1234+08:00",
        "eventTimeZoneOffset": "+08:00", "bizStep": "receiving", "disposition": "cbv:Disp-in_progress",
        "readPoint": {"id": "urn:epc:id:sgln:9521234.00001.DOCK-IN"}, "bizLocation": {"id": "urn:epc:id:sgln:9521234.00001.0"},
        "epcList": ["urn:epc:id:sgtin:9521234.010001.1", " urn:epc:id:sgtin:9521234.010001.2 ", ""],
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:9521234.010001.L1", "quantity": 5.0, "uom": "KGM"},
                         {"epcClass": "https://id.gs1.org/01/09521234100011/10/L2", "quantity": 2}],
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:9521234000013:PO1"}],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:9521234.00001"}, {"type": "location", "source": ""}],
        "destinationList": [{"type": "urn:epcglobal:cbv:sdt:location", "destination": "urn:epc:id:sgln:9521234.00002.0"}],
        "eventID": "ni:///sha-256;abc?ver=CBV2.0", "recordTime": "2026-11-02T09:00:00Z"
    });
    type Variation = Box<dyn Fn(&mut serde_json::Value)>;
    let variations: Vec<Variation> = vec![
        Box::new(|_| {}),
        Box::new(|e| e["bizStep"] = "".into()),
        Box::new(|e| e["disposition"] = "https://ref.gs1.org/cbv/Disp-active".into()),
        Box::new(|e| e["readPoint"] = serde_json::json!({})),
        Box::new(|e| e["readPoint"]["id"] = "".into()),
        Box::new(|e| e["quantityList"] = serde_json::json!([])),
        Box::new(|e| e["epcList"] = serde_json::json!([])),
        Box::new(|e| e["bizTransactionList"] = serde_json::json!([])),
        Box::new(|e| e["action"] = serde_json::Value::Null),
        Box::new(|e| e["bizStep"] = serde_json::json!(["a", "b"])),
        Box::new(|e| e["quantityList"][0]["example:extra"] = "x".into()),
        Box::new(|e| e["readPoint"]["example:extra"] = "x".into()),
        Box::new(|e| e["example:field"] = "x".into()),
        Box::new(|e| e["ilmd"] = serde_json::json!({"example:lot": "L"})),
        Box::new(|e| e["sourceList"][0]["example:x"] = "y".into()),
        Box::new(|e| e["epcList"] = "urn:epc:id:sgtin:9521234.010001.9".into()),
        Box::new(|e| {
            e.as_object_mut().unwrap().remove("eventTime");
        }),
        Box::new(|e| e["eventTime"] = "not a time".into()),
        Box::new(|e| e["quantityList"][0]["quantity"] = "3.50".into()),
    ];
    for (i, vary) in variations.iter().enumerate() {
        let mut ev = base.clone();
        vary(&mut ev);
        let doc = serde_json::json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"example": "https://ns.example.com/epcis/"}],
            "type": "EPCISDocument", "epcisBody": {"eventList": [ev]}
        });
        assert_eq!(
            stockade_epcis::hash::document_prehashes(&doc),
            stockade_epcis::hash::document_prehashes_general(&doc),
            "variation {i}"
        );
        if i < 8 {
            assert_eq!(stockade_epcis::hash::rendered_directly(&doc), 1, "variation {i} is a common shape");
        }
    }
}
