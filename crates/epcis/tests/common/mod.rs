//! What the integration tests share: the conformance corpus on disk.
//! Data: tests/data/epcis (see the SOURCE.txt files there).

use std::path::{Path, PathBuf};

/// A path under tests/data/epcis.
pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/epcis").join(rel)
}

/// Every file under a directory with one of these extensions, sorted.
pub fn files_with(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_with(&p, extensions));
        } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| extensions.contains(&e)) {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Every JSON / JSON-LD document under a directory, sorted.
pub fn json_documents(dir: &Path) -> Vec<PathBuf> {
    files_with(dir, &["json", "jsonld"])
}

/// Every JSON document of the corpus (GS1's examples and hash vectors,
/// OpenEPCIS's captures, valid or not).
#[allow(dead_code)] // not every test file reads the whole corpus
pub fn corpus() -> Vec<PathBuf> {
    json_documents(&data(""))
}
