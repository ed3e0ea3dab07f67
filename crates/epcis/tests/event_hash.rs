//! CBV 2.0 event hash IDs reproduce GS1's reference vectors exactly.
//! Data: tests/data/epcis/event-hash (see SOURCE.txt there).

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
