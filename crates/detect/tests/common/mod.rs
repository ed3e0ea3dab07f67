//! What the detector's tests share: the repository's rule pack, loaded whole.

use stockade_detect::{Pack, RuleFile};

/// The pack of `rules/`, every file of it; a refused rule fails the test.
pub fn pack() -> Pack {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let mut files = Vec::new();
    for e in std::fs::read_dir(&root).unwrap() {
        let p = e.unwrap().path();
        files.push(RuleFile { path: p.display().to_string(), text: std::fs::read_to_string(&p).unwrap() });
    }
    let (pack, errors) = Pack::parse(&files);
    assert!(errors.is_empty(), "{errors:?}");
    pack
}
