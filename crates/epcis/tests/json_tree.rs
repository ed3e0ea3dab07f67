//! The capture path's JSON tree ([`stockade_epcis::json::parse`]) is
//! serde_json's own, member order included, on every document of the
//! conformance corpus (GS1's examples and vectors, OpenEPCIS's captures,
//! valid or not), and refuses what serde_json refuses with its message.

mod common;

#[test]
fn every_conformance_document_parses_to_serde_jsons_tree() {
    let paths = common::corpus();
    let (mut parsed, mut refused) = (0, 0);
    for p in &paths {
        let bytes = std::fs::read(p).unwrap();
        match (stockade_epcis::json::parse(&bytes), serde_json::from_slice::<serde_json::Value>(&bytes)) {
            (Ok(ours), Ok(theirs)) => {
                assert_eq!(ours, theirs, "{}", p.display());
                assert_eq!(
                    serde_json::to_vec(&ours).unwrap(),
                    serde_json::to_vec(&theirs).unwrap(),
                    "member order, {}",
                    p.display()
                );
                parsed += 1;
            }
            (Err(ours), Err(theirs)) => {
                assert_eq!(ours.to_string(), theirs.to_string(), "{}", p.display());
                refused += 1;
            }
            (ours, theirs) => panic!("{}: ours {:?}, serde_json's {:?}", p.display(), ours.is_ok(), theirs.is_ok()),
        }
    }
    assert!(parsed > 50, "parsed {parsed} documents, refused {refused}");
    // Truncated documents: the same refusal, at the same place.
    let sample = paths.iter().find(|p| std::fs::metadata(p).unwrap().len() > 2000).unwrap();
    let bytes = std::fs::read(sample).unwrap();
    let bytes = bytes.trim_ascii_end();
    for cut in [1, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        let ours = stockade_epcis::json::parse(&bytes[..cut]).unwrap_err();
        let theirs = serde_json::from_slice::<serde_json::Value>(&bytes[..cut]).unwrap_err();
        assert_eq!(ours.to_string(), theirs.to_string(), "{} cut at {cut}", sample.display());
    }
}
