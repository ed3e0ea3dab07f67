//! The rule pack is Sigma as the Sigma tools read it: pySigma (the
//! reference implementation, what sigma-cli runs; pinned in
//! `tests/sigma/requirements.txt`, installed into `target/pysigma` from
//! PyPI on first use) parses every document of the built-in pack as it is,
//! resolves its correlations' references and finds nothing to report with
//! its own validators (`tests/sigma/check_pack.py` says which it leaves
//! out and why); and it reads the same rules Stockade loads: the same
//! names, ids, kinds, correlation types and logsources. A rule that one
//! refuses, the other refuses too.

mod common;
use common::{root, run, text};
use std::collections::BTreeMap;
use std::process::{Command, Output};

/// `check_pack.py` over a rule directory.
fn pysigma(dir: &std::path::Path) -> Output {
    let python = common::python_venv("pysigma", &root().join("tests/sigma/requirements.txt"));
    Command::new(python).arg(root().join("tests/sigma/check_pack.py")).arg(dir).output().unwrap()
}

type Rules = BTreeMap<String, (String, String, Option<String>, Option<String>)>;

#[test]
fn pysigma_reads_the_built_in_pack_as_stockade_does() {
    let o = pysigma(&root().join("rules"));
    assert!(o.status.success(), "pySigma refuses the pack or reports on it:\n{}", text(&o));
    let mut theirs = Rules::new();
    for line in String::from_utf8(o.stdout).unwrap().lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        let s = |k: &str| r[k].as_str().map(str::to_owned);
        let name = s("name").unwrap_or_else(|| panic!("a rule without a name: {line}"));
        theirs.insert(name, (s("id").unwrap(), s("kind").unwrap(), s("correlation_type"), s("category")));
    }
    let (pack, errors, _) = stockade_app::detection::RuleSource::Builtin.load().unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let correlation_type: BTreeMap<String, String> = pack
        .collection
        .correlations
        .iter()
        .map(|c| (c.name.clone().unwrap_or_default(), c.correlation_type.as_str().to_owned()))
        .collect();
    let category: BTreeMap<String, String> =
        pack.collection.rules.iter().filter_map(|r| Some((r.name.clone()?, r.logsource.category.clone()?))).collect();
    let ours: Rules = pack
        .rules
        .values()
        .map(|i| {
            let kind = if i.correlation { "correlation" } else { "detection" };
            let value =
                (i.uuid.clone(), kind.to_owned(), correlation_type.get(&i.id).cloned(), category.get(&i.id).cloned());
            (i.id.clone(), value)
        })
        .collect();
    assert!(ours.len() >= 40, "{}", ours.len());
    assert_eq!(theirs, ours);
}

#[test]
fn a_rule_pysigma_refuses_stockade_refuses_too() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "title: Bad modifier
id: 3f0c2d4e-8a11-4c55-9a57-0d7b6d2a6a09
name: test-bad-modifier
logsource:
  product: stockade
  category: access
detection:
  selection:
    kind|notamodifier: access.granted
  condition: selection
level: low
";
    std::fs::write(dir.path().join("bad.yml"), rule).unwrap();
    let o = pysigma(dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("bad.yml") && text(&o).contains("notamodifier"), "{}", text(&o));
    let o = run(&["rules", dir.path().to_str().unwrap()]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("bad.yml:") && text(&o).contains("notamodifier"), "{}", text(&o));
}
