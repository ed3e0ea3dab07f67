//! `docs/ONBOARDING.md`, run as a new user would: every file it shows is
//! written, every command it runs is run (from a fresh directory, with the
//! default data directory), and the book that results is compared with the
//! answer key of the exports' generator (`truth-book.json`), line for line.

use std::path::Path;
use std::process::Command;

/// The doc's files (`<!-- file: PATH -->` before a fenced block) and
/// commands (`<!-- run -->` before a fenced block), in order.
enum Step {
    File(String, String),
    Run(Vec<String>),
}

fn steps(doc: &str) -> Vec<Step> {
    let mut out = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let marker = line.trim();
        let file = marker.strip_prefix("<!-- file: ").and_then(|r| r.strip_suffix(" -->"));
        if file.is_none() && marker != "<!-- run -->" {
            continue;
        }
        let fence = lines.next().unwrap_or_default();
        assert!(fence.starts_with("```"), "a marker must be followed by a fenced block: {marker}");
        let block: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
        match file {
            Some(path) => out.push(Step::File(path.to_owned(), block.join("\n") + "\n")),
            None => out.extend(
                block
                    .iter()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| Step::Run(l.split_whitespace().map(str::to_owned).collect())),
            ),
        }
    }
    out
}

/// Expands `dir/*.ext` as a shell would (sorted).
fn expand(arg: &str, cwd: &Path) -> Vec<String> {
    let Some((dir, pattern)) = arg.rsplit_once('/').filter(|(_, p)| p.contains('*')) else {
        return vec![arg.to_owned()];
    };
    let (prefix, suffix) = pattern.split_once('*').unwrap();
    let mut names: Vec<String> = std::fs::read_dir(cwd.join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && n.ends_with(suffix))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "{arg} matches nothing");
    names
}

#[test]
fn the_onboarding_walkthrough_gives_the_true_book() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ONBOARDING.md");
    let doc = std::fs::read_to_string(root).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let mut outputs: Vec<(Vec<String>, String)> = Vec::new();
    let steps = steps(&doc);
    assert!(steps.iter().filter(|s| matches!(s, Step::Run(_))).count() >= 12, "the walkthrough runs its commands");
    for step in steps {
        match step {
            Step::File(path, text) => {
                let at = cwd.join(&path);
                std::fs::create_dir_all(at.parent().unwrap()).unwrap();
                std::fs::write(at, text).unwrap();
            }
            Step::Run(words) => {
                assert_eq!(words[0], "stockade", "the walkthrough runs stockade only: {words:?}");
                let args: Vec<String> = words[1..].iter().flat_map(|w| expand(w, cwd)).collect();
                let o = Command::new(env!("CARGO_BIN_EXE_stockade"))
                    .args(&args)
                    .current_dir(cwd)
                    .env("RUST_LOG", "warn")
                    .env_remove("STOCKADE_DATA")
                    .output()
                    .unwrap();
                let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
                assert!(o.status.success(), "{words:?} failed:\n{text}");
                outputs.push((words, text));
            }
        }
    }
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cwd.join("exports/truth-book.json")).unwrap()).unwrap();

    // Every CSV export loaded whole: its events accepted, its non-events skipped, nothing flagged.
    for (words, text) in outputs.iter().filter(|(w, _)| w[1] == "ingest") {
        assert!(!text.contains("flagged"), "{words:?}: {text}");
        assert!(text.contains(" 0 duplicates, 0 rejected"), "{words:?}: {text}");
        if let Some(file) = words.get(2).filter(|f| f.ends_with(".csv")) {
            let name = file.rsplit('/').next().unwrap();
            let f = &truth["files"][name];
            let (rows, skipped) = (f["rows"].as_u64().unwrap(), f["not_events"].as_u64().unwrap());
            let want =
                format!("{} accepted, 0 duplicates, 0 rejected, {skipped} skipped by the mapping", rows - skipped);
            assert!(text.contains(&want), "{words:?}: want {want:?} in\n{text}");
        }
    }
    let epcis: u64 = outputs
        .iter()
        .filter(|(w, _)| w[1] == "ingest" && w[2].ends_with(".jsonld"))
        .flat_map(|(_, t)| {
            t.lines().filter_map(|l| l.split(": ").nth(1)?.split(" accepted").next()?.parse::<u64>().ok())
        })
        .sum();
    assert_eq!(epcis, truth["epcis_events"].as_u64().unwrap(), "every EPCIS event stored once");

    // The book, line for line, and every latest count against it.
    let o = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(["book", "--json"])
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(o.status.success());
    let book: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let key = |v: &serde_json::Value| {
        (
            v["site"].as_str().unwrap().to_owned(),
            v["location"].as_str().unwrap().to_owned(),
            v["sku"].as_str().unwrap().to_owned(),
        )
    };
    let lines = |v: &serde_json::Value| -> Vec<((String, String, String), f64)> {
        let mut out: Vec<_> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (key(l), l["quantity"].as_f64().unwrap()))
            .filter(|(_, q)| *q != 0.0)
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    };
    assert_eq!(lines(&book["lines"]), lines(&truth["lines"]), "the book is the WMS's own book");
    let counts = |v: &serde_json::Value| -> Vec<((String, String, String), f64, f64)> {
        let mut out: Vec<_> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (key(c), c["counted"].as_f64().unwrap(), c["book"].as_f64().unwrap()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    };
    assert_eq!(counts(&book["counts"]), counts(&truth["counts"]), "each latest count against the book as of it");
    let summary = &book["summary"];
    assert_eq!(summary["negative_lines"], 0);
    assert_eq!(summary["record_accuracy"].as_f64(), truth["record_accuracy"].as_f64());
    let accuracy = summary["record_accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.5 && accuracy < 1.0, "shrink and miscounts show, and most counts agree: {accuracy}");
    // The order exports are loaded in does not change the book: the same
    // commands with the event exports in reverse order, in another data
    // directory, give the same lines and counts.
    let mut reversed: Vec<&Vec<String>> = outputs.iter().map(|(w, _)| w).filter(|w| w[1] == "import").collect();
    reversed.extend(outputs.iter().map(|(w, _)| w).filter(|w| w[1] == "ingest").rev());
    for words in reversed {
        let mut args: Vec<String> = words[1..].iter().flat_map(|w| expand(w, cwd)).collect();
        args.extend(["--data".into(), "reversed".into()]);
        let o = Command::new(env!("CARGO_BIN_EXE_stockade"))
            .args(&args)
            .current_dir(cwd)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let o = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(["book", "--json", "--data", "reversed"])
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let other: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(lines(&other["lines"]), lines(&book["lines"]), "loaded in reverse order");
    assert_eq!(counts(&other["counts"]), counts(&book["counts"]), "loaded in reverse order");

    // The table a user reads says the same.
    let (_, table) = outputs.iter().rev().find(|(w, _)| w[1] == "book").unwrap();
    assert!(table.contains("(0 negative)"), "{table}");
    assert!(table.contains("(picked, in transit)") && table.contains("(received, in transit)"), "{table}");
}
