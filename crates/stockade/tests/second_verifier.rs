//! The second verifier (`verifiers/python/`, written from
//! docs/EVIDENCE-FORMAT.md alone) against `stockade verify` and `stockade
//! ledger check-proof`, on what the binary makes: every good package and
//! proof both accept, every tampered one both refuse. A disagreement is a
//! bug in the specification or in one of the two.
//!
//! The Python verifier runs in a virtual environment under `target/` with
//! the one package it needs (`verifiers/python/requirements.txt`), made on
//! first use from PyPI.

mod common;
use common::{listening, root, run, text};
use std::path::PathBuf;
use std::process::Command;
use stockade_evidence::package::{Part, write_archive};
use stockade_ledger::checkpoint::LogKey;

/// The virtual environment's python (`target/second-verifier`).
fn python() -> PathBuf {
    common::python_venv("second-verifier", &root().join("verifiers/python/requirements.txt"))
}

/// The Python verifier's exit code and output.
fn python_verifies(args: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(python()).arg(root().join("verifiers/python/stockade_verify.py")).args(args).output().unwrap();
    (o.status.code(), text(&o))
}

/// The parts of a tar archive, in order.
fn parts(tar_bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut out = Vec::new();
    for e in tar::Archive::new(tar_bytes).entries().unwrap() {
        let mut e = e.unwrap();
        let mut b = Vec::new();
        e.read_to_end(&mut b).unwrap();
        out.push((e.path().unwrap().to_string_lossy().into_owned(), b));
    }
    out
}

fn archive(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    write_archive(Vec::new(), parts.iter().map(|(p, b)| Part::bytes(p.clone(), b))).unwrap()
}

/// `pkg` with manifest.json rewritten by `edit` and signed again by the
/// log's own key: what a lying operator could make.
fn resigned(pkg: &[u8], key: &LogKey, edit: impl Fn(String) -> String) -> Vec<u8> {
    let mut p = parts(pkg);
    let json = edit(String::from_utf8(p[1].1.clone()).unwrap());
    assert_ne!(json.as_bytes(), p[1].1, "the edit changed nothing");
    let format = serde_json::from_str::<serde_json::Value>(&json)
        .ok()
        .and_then(|v| v["format"].as_str().map(str::to_owned))
        .unwrap_or_else(|| stockade_evidence::package::FORMAT.to_owned());
    let signed = stockade_evidence::package::signed_text(&format, json.as_bytes(), &p[0].1);
    p[2].1 = key.sign_note(&signed).unwrap();
    p[1].1 = json.into_bytes();
    archive(&p)
}

/// The first byte of `needle` in `hay`, after `from`.
fn at(hay: &[u8], needle: &[u8], from: usize) -> usize {
    from + hay[from..].windows(needle.len()).position(|w| w == needle).unwrap_or_else(|| {
        panic!("{:?} not found", String::from_utf8_lossy(needle));
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_written_from_the_specification_agrees_on_every_package_and_proof() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let d = d.to_str().unwrap();
    let o = run(&["token", "create", "--role", "admin", "--data", d]);
    let token = String::from_utf8(o.stdout).unwrap().lines().last().unwrap().to_owned();
    let key = String::from_utf8(run(&["ledger", "key", "--data", d]).stdout).unwrap().trim().to_owned();
    let log_key =
        LogKey::from_private(std::fs::read_to_string(dir.path().join("data/ledger/log.key")).unwrap().trim()).unwrap();
    // Two witnesses, as an insurer and an auditor would run them.
    let mut witnesses = Vec::new();
    for name in ["witness.test/a", "witness.test/b"] {
        let w = dir.path().join(name.replace('/', "-"));
        let o = run(&["witness", "init", "--dir", w.to_str().unwrap(), "--name", name]);
        let wkey = String::from_utf8(o.stdout).unwrap().trim().to_owned();
        witnesses.push((listening(&["witness", "serve", "--dir", w.to_str().unwrap(), "--log", &key]), wkey));
    }
    let o = run(&["witness", "init", "--dir", dir.path().join("c").to_str().unwrap(), "--name", "witness.test/c"]);
    let stranger = String::from_utf8(o.stdout).unwrap().trim().to_owned();
    let (wa, wb) = (witnesses[0].1.clone(), witnesses[1].1.clone());
    let reference = root().join("examples/reference.yaml");
    assert!(run(&["import", reference.to_str().unwrap(), "--data", d]).status.success());
    let mut args = vec!["serve", "--data", d];
    let flags: Vec<String> = witnesses.iter().map(|(r, k)| format!("{}={k}", r.1)).collect();
    for f in &flags {
        args.extend(["--witness", f.as_str()]);
    }
    let server = listening(&args);
    let url = server.1.clone();
    let client = reqwest::Client::new();
    let post = |path: &str, content_type: &str, body: Vec<u8>| {
        client.post(format!("{url}{path}")).bearer_auth(&token).header("content-type", content_type).body(body).send()
    };
    let case = r#"{"site":"LYS","title":"cage stock missing \u2014 \"A\" aisle","from":"2026-11-02T20:00:00+01:00","to":"2026-11-02T23:59:00+01:00"}"#;
    assert_eq!(post("/api/v1/incidents", "application/json", case.into()).await.unwrap().status(), 201);
    let events = std::fs::read(root().join("examples/events.ndjson")).unwrap();
    assert!(post("/api/v1/events", "application/x-ndjson", events).await.unwrap().status().is_success());
    // A checkpoint an insurer keeps from before the evidence arrives.
    assert_eq!(post("/api/v1/ledger/checkpoint", "text/plain", Vec::new()).await.unwrap().status(), 200);
    let held = client.get(format!("{url}/tlog/checkpoint")).bearer_auth(&token).send().await.unwrap();
    let held = held.bytes().await.unwrap().to_vec();
    let held_file = dir.path().join("held.checkpoint");
    std::fs::write(&held_file, &held).unwrap();
    let r = post(
        "/api/v1/evidence?incident=INC-1&class=photo&collected_from=camera:LYS-CAM-CAGE&reason=review",
        "image/jpeg",
        vec![0xff, 0xd8, 0xff, 0xe0, 7, 7, 7],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let item: serde_json::Value = r.json().await.unwrap();
    let id = item["record"]["id"].as_str().unwrap().to_owned();
    let remote = ["--server", url.as_str(), "--token", token.as_str()];
    let mut act =
        vec!["evidence", "act", &id, "transferred", "--party", "Insurer — claims desk", "--reason", "claim 7"];
    act.extend(remote);
    assert!(run(&act).status.success());
    let mut act = vec!["evidence", "act", &id, "hold_set", "--reason", "lawsuit"];
    act.extend(remote);
    assert!(run(&act).status.success());
    let package = |name: &str, extra: &[&str]| -> Vec<u8> {
        let out = dir.path().join(name);
        let mut args = vec!["evidence", "package", "INC-1", "--out", out.to_str().unwrap(), "--reason", "claim"];
        args.extend(["--events", "1,5"]);
        args.extend(extra);
        args.extend(remote);
        let o = run(&args);
        assert!(o.status.success(), "{}", text(&o));
        std::fs::read(out).unwrap()
    };
    let pkg = package("INC-1.tar", &[]);
    let grown = package("INC-1-since.tar", &["--since", held_file.to_str().unwrap()]);
    let proof = |path: String| {
        let client = client.clone();
        let (url, token) = (url.clone(), token.clone());
        async move {
            let r = client.get(format!("{url}/api/v1/ledger/{path}?format=tlog-proof")).bearer_auth(&token);
            let r = r.send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap().to_vec()
        }
    };
    let event_proof = proof("events/5/proof".into()).await;
    let evidence_proof = proof(format!("evidence/{id}/proof")).await;
    drop(server);

    let manifest: serde_json::Value = serde_json::from_slice(&parts(&pkg)[1].1).unwrap();
    assert_eq!(manifest["format"], "stockade-evidence-package/3");
    let custody = manifest["custody"].as_array().unwrap();
    assert!(custody.iter().any(|c| c["record"]["party"] == "Insurer — claims desk"), "{manifest}");

    // Both verifiers, on one package or proof: the exit codes must agree
    // and be the expected one.
    let n = std::sync::atomic::AtomicUsize::new(0);
    let both = |what: &str, bytes: &[u8], extra: &[&str], accept: bool, case: &str| {
        let file = dir.path().join(format!("case-{}", n.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
        std::fs::write(&file, bytes).unwrap();
        let f = file.to_str().unwrap();
        let mut rust_args = if what == "package" { vec!["verify", f] } else { vec!["ledger", "check-proof", f] };
        rust_args.extend(["--key", key.as_str()]);
        rust_args.extend(extra);
        let rust = run(&rust_args);
        let mut py_args = vec![what, f, "--key", key.as_str()];
        py_args.extend(extra);
        let (code, py) = python_verifies(&py_args);
        let expected = if accept { 0 } else { 1 };
        assert_eq!(rust.status.code(), Some(expected), "{case}: stockade says\n{}", text(&rust));
        assert_eq!(code, Some(expected), "{case}: the Python verifier says\n{py}\nstockade says\n{}", text(&rust));
        // A verdict, not a crash: the last line says it.
        let said = |t: &str| {
            let last = t.lines().last().unwrap_or_default();
            if accept { last == "VERIFIED" } else { last.starts_with("NOT VERIFIED") }
        };
        assert!(said(&py) && said(&text(&rust)), "{case}:\n{py}\n{}", text(&rust));
        (text(&rust), py)
    };

    // Good packages and proofs: both accept.
    let (_, py) = both("package", &pkg, &[], true, "the package");
    assert!(py.contains("ok    evidence/") && py.ends_with("VERIFIED\n"), "{py}");
    both("package", &pkg, &["--witness", &wa, "--witness", &wb], true, "cosigned by both witnesses");
    both("package", &pkg, &["--witness", &wa, "--witness", &stranger, "--quorum", "1"], true, "a quorum of one");
    both("package", &grown, &["--since", held_file.to_str().unwrap()], true, "grown from the held checkpoint");
    both("tlog-proof", &event_proof, &[], true, "an event's tlog-proof");
    let (rust, py) = both("tlog-proof", &evidence_proof, &["--witness", &wa, "--witness", &wb], true, "evidence's");
    let entry = |t: &str| {
        t.lines().find(|l| l.contains("entry stockade/")).map(|l| l.split("entry ").nth(1).map(str::to_owned))
    };
    assert_eq!(entry(&rust), entry(&py), "both describe the entry alike");
    assert!(py.contains(" canon=jcs commit="), "{py}");

    // Trust that is not there: both refuse.
    let (other, _) = LogKey::generate("stockade.local/ledger").unwrap();
    for (bytes, what) in [(&pkg, "package"), (&event_proof, "tlog-proof")] {
        let file = dir.path().join("other-key");
        std::fs::write(&file, bytes).unwrap();
        let f = file.to_str().unwrap();
        let mut args = if what == "package" { vec!["verify", f] } else { vec!["ledger", "check-proof", f] };
        args.extend(["--key", other.verifier_key()]);
        let rust = run(&args);
        assert_eq!(rust.status.code(), Some(1), "{what} under another key: {}", text(&rust));
        let (code, py) = python_verifies(&[what, f, "--key", other.verifier_key()]);
        assert_eq!(code, Some(1), "{what} under another key: {py}");
    }
    both("package", &pkg, &["--witness", &wa, "--witness", &stranger], false, "a witness that never cosigned");
    both("tlog-proof", &event_proof, &["--witness", &wa, "--witness", &stranger], false, "proof, stranger witness");
    let forked = dir.path().join("forked.checkpoint");
    let held_size: u64 = String::from_utf8_lossy(&held).lines().nth(1).unwrap().parse().unwrap();
    let origin = String::from_utf8_lossy(&held).lines().next().unwrap().to_owned();
    std::fs::write(&forked, log_key.sign(&origin, held_size, stockade_ledger::Hash([9; 32])).unwrap()).unwrap();
    both("package", &grown, &["--since", forked.to_str().unwrap()], false, "a held checkpoint of a fork");
    both("package", &pkg, &["--since", held_file.to_str().unwrap()], false, "no consistency proof from it");

    // Tampered archives: both refuse.
    let p = parts(&pkg);
    let names: Vec<&str> = p.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[..3], ["MANIFEST.txt", "manifest.json", "manifest.sig"]);
    let ev = names.iter().position(|n| n.starts_with("evidence/")).unwrap();
    let flip = |part: usize, offset: usize| {
        let mut q = p.clone();
        q[part].1[offset] ^= 0x01;
        archive(&q)
    };
    both("package", &flip(ev, 3), &[], false, "the evidence file");
    both("package", &flip(3, 2), &[], false, "an event's bytes");
    both("package", &flip(0, 10), &[], false, "MANIFEST.txt");
    let json_at = at(&p[1].1, b"\"reason\": \"", 0) + 12;
    both("package", &flip(1, json_at), &[], false, "manifest.json");
    let sig_at = at(&p[2].1, "\u{2014} ".as_bytes(), 0) + 40;
    both("package", &flip(2, sig_at), &[], false, "manifest.sig");
    let mut q = p.clone();
    q.remove(ev);
    both("package", &archive(&q), &[], false, "the evidence file removed");
    let mut q = p.clone();
    q.push(("notes.txt".into(), b"unsigned".to_vec()));
    both("package", &archive(&q), &[], false, "a part the manifest does not describe");
    let mut q = p.clone();
    q.insert(4, q[3].clone());
    both("package", &archive(&q), &[], false, "an event twice");
    let mut q = p.clone();
    q.swap(3, 4);
    both("package", &archive(&q), &[], false, "events out of order");
    let mut q = p.clone();
    q.swap(0, 1);
    both("package", &archive(&q), &[], false, "manifests out of order");
    both("package", &pkg[..pkg.len() / 2], &[], false, "truncated");
    let mut longer = pkg.clone();
    longer.extend_from_slice(&[0u8; 512]);
    both("package", &longer, &[], false, "a third end block");
    // A header that tar readers accept (checksum mended) but is not canonical.
    let mut odd = pkg.clone();
    let h = at(&odd, b"events/", 0);
    odd[h + 100..h + 108].copy_from_slice(b"0000664\0");
    let sum: u32 =
        odd[h..h + 512].iter().enumerate().map(|(i, b)| if (148..156).contains(&i) { 32 } else { u32::from(*b) }).sum();
    odd[h + 148..h + 156].copy_from_slice(format!("{sum:07o}\0").as_bytes());
    both("package", &odd, &[], false, "a header's mode");
    let mut padded = pkg.clone();
    let pad = 512 + p[0].1.len().div_ceil(512) * 512 - 1;
    assert_eq!(padded[pad], 0, "a padding byte");
    padded[pad] = b' ';
    both("package", &padded, &[], false, "padding");

    // Manifests a lying operator signs again with the log's own key: each
    // breaks a rule of the specification, and both refuse it.
    let salt = manifest["custody"][0]["salt"].as_str().unwrap().to_owned();
    let hash = manifest["custody"][0]["proof"][0].as_str().unwrap().to_owned();
    let mut respelled: Vec<char> = hash.chars().collect();
    let last = respelled.len() - 2;
    respelled[last] = if respelled[last] == 'B' { 'C' } else { 'B' };
    let respelled: String = respelled.into_iter().collect();
    let sha = manifest["evidence"][0]["record"]["sha256"].as_str().unwrap().to_owned();
    let leaf = manifest["custody"][0]["leaf_index"].as_u64().unwrap();
    type Lie = Box<dyn Fn(String) -> String>;
    let lies: Vec<(&str, Lie)> = vec![
        ("a custody reason", Box::new(|j| j.replacen("\"reason\": \"review\"", "\"reason\": \"routine\"", 1))),
        ("canon jcs to compact", Box::new(|j| j.replacen("\"canon\": \"jcs\"", "\"canon\": \"compact\"", 1))),
        ("canon left out", Box::new(|j| j.replacen("\"canon\": \"jcs\",", "", 1))),
        ("canon unknown", Box::new(|j| j.replacen("\"canon\": \"jcs\"", "\"canon\": \"cbor\"", 1))),
        (
            "a member twice",
            Box::new(|j| {
                j.replacen("\"incident\": \"INC-1\",", "\"incident\": \"INC-1\", \"incident\": \"INC-2\",", 1)
            }),
        ),
        ("a member twice in a record", Box::new(|j| j.replacen("\"actor\": ", "\"actor\": \"x\", \"actor\": ", 1))),
        ("a salt in capitals", Box::new(move |j| j.replacen(&salt, &salt.to_uppercase(), 1))),
        ("a proof hash in another base64 spelling", Box::new(move |j| j.replacen(&hash, &respelled, 1))),
        ("a file hash in capitals", Box::new(move |j| j.replace(&sha, &sha.to_uppercase()))),
        (
            "a member records do not have",
            Box::new(|j| j.replacen("\"reason\": \"review\"", "\"reason\": \"review\", \"note\": 1", 1)),
        ),
        (
            "null for an absent member",
            Box::new(|j| j.replacen("\"reason\": \"review\"", "\"reason\": \"review\", \"party\": null", 1)),
        ),
        ("an integer as a fraction", Box::new(|j| j.replacen("\"size\": 7,", "\"size\": 7.0,", 1))),
        ("an integer beyond 2^53", Box::new(|j| j.replacen("\"size\": 7,", "\"size\": 9007199254740993,", 1))),
        (
            "an unknown format",
            Box::new(|j| j.replacen("stockade-evidence-package/3", "stockade-evidence-package/9", 1)),
        ),
        (
            "format 2 with canon",
            Box::new(|j| j.replacen("stockade-evidence-package/3", "stockade-evidence-package/2", 1)),
        ),
        (
            "another leaf index",
            Box::new(move |j| {
                j.replacen(&format!("\"leaf_index\": {leaf},"), &format!("\"leaf_index\": {},", leaf + 1), 1)
            }),
        ),
        (
            "an EPCIS hash added",
            Box::new(|j| {
                j.replacen("\"file\": \"events/", "\"epcis\": \"ni:///sha-256;0000000000000000000000000000000000000000000000000000000000000000?ver=CBV2.0\", \"file\": \"events/", 1)
            }),
        ),
        ("the incident renamed", Box::new(|j| j.replacen("\"incident\": \"INC-1\",", "\"incident\": \"INC-9\",", 1))),
        (
            "a lone surrogate in a string",
            Box::new(|j| j.replacen("\"reason\": \"review\"", "\"reason\": \"review\\ud800\"", 1)),
        ),
        (
            "a custody action unknown",
            Box::new(|j| j.replacen("\"action\": \"hold_set\"", "\"action\": \"shredded\"", 1)),
        ),
    ];
    for (case, lie) in &lies {
        both("package", &resigned(&pkg, &log_key, lie), &[], false, case);
    }
    // A faithful re-signing (nothing changed but the layout) still verifies:
    // the refusals above are the rules', not the signature's.
    let relaid = resigned(&pkg, &log_key, |j| {
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&j).unwrap()).unwrap()
    });
    both("package", &relaid, &[], true, "manifest.json re-laid out and signed again");

    // Tampered tlog-proofs, and an entry of a type no Stockade log writes.
    let first_line = event_proof.iter().position(|&b| b == b'\n').unwrap();
    let mut bad = event_proof.clone();
    bad[first_line + 12] = if bad[first_line + 12] == b'A' { b'B' } else { b'A' };
    both("tlog-proof", &bad, &[], false, "the entry");
    let text_proof = String::from_utf8(event_proof.clone()).unwrap();
    let index_line = text_proof.lines().nth(2).unwrap().to_owned();
    let idx: u64 = index_line.trim_start_matches("index ").parse().unwrap();
    let moved = text_proof.replacen(&index_line, &format!("index {}", idx + 1), 1);
    both("tlog-proof", moved.as_bytes(), &[], false, "another index");
    let hash_line = text_proof.lines().nth(3).unwrap().to_owned();
    let swapped = text_proof.replacen(&hash_line, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 1);
    both("tlog-proof", swapped.as_bytes(), &[], false, "a proof hash");
    let bare: String = text_proof.lines().enumerate().filter(|(i, _)| *i != 1).map(|(_, l)| format!("{l}\n")).collect();
    both("tlog-proof", bare.as_bytes(), &[], false, "no entry");
    let strange = b"stockade/witness n=1 commit=00";
    let leaf = stockade_ledger::leaf_hash(strange);
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let forged = format!(
        "c2sp.org/tlog-proof@v1\nextra {}\nindex 0\n\n{}",
        b64.encode(strange),
        String::from_utf8(log_key.sign(&origin, 1, leaf).unwrap()).unwrap()
    );
    let (rust, py) = both("tlog-proof", forged.as_bytes(), &[], false, "an unknown entry type");
    assert!(rust.contains("unknown entry type") && py.contains("unknown entry type"), "{rust}\n{py}");

    // RFC 8785: the two implementations write the same bytes for the same
    // values, numbers above all (ECMAScript's shortest round trip).
    let mut values =
        vec![serde_json::json!({"\u{20ac}": 1, "\r": 2, "\u{fb33}": 3, "1": 4, "\u{1f600}": 5, "\u{80}": 6, "ö": 7})];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..3000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let f = match i % 3 {
            0 => f64::from_bits(x),
            1 => (x % 10_000_000) as f64 / 10f64.powi((x % 25) as i32) - 1e3,
            _ => (x as i64 >> (x % 60)) as f64,
        };
        if let Some(n) = serde_json::Number::from_f64(f) {
            values.push(serde_json::Value::Number(n));
        }
        values.push(serde_json::Value::String(format!(
            "s{}\u{1}\u{7f}\u{2028}\"\\/{}",
            char::from_u32((x % 0xd7ff) as u32).unwrap_or('x'),
            i
        )));
    }
    let doc = serde_json::Value::Array(values);
    let rust = stockade_evidence::content(&doc, stockade_evidence::Canon::Jcs).unwrap();
    let input = dir.path().join("values.json");
    std::fs::write(&input, serde_json::to_vec(&doc).unwrap()).unwrap();
    let o = Command::new(python())
        .arg(root().join("verifiers/python/stockade_verify.py"))
        .args(["jcs", input.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    if o.stdout != rust {
        let (a, b) = (String::from_utf8_lossy(&rust), String::from_utf8_lossy(&o.stdout));
        let (a, b): (Vec<&str>, Vec<&str>) = (a.split(',').collect(), b.split(',').collect());
        let first = a.iter().zip(&b).position(|(x, y)| x != y);
        panic!("RFC 8785 differs at {first:?}: rust {:?}, python {:?}", first.map(|i| a[i]), first.map(|i| b[i]));
    }
}

/// Packages made by earlier versions (tests/data/evidence/SOURCE.txt) keep
/// verifying, with both verifiers: a format 2 package, and a format 3 one
/// whose records from before format 3 keep their compact rule. A changed
/// byte of the format 2 package's unsigned MANIFEST.txt is still refused
/// (by its rendering).
#[test]
fn packages_of_earlier_versions_keep_verifying_with_both_verifiers() {
    let data = root().join("tests/data/evidence");
    let key = std::fs::read_to_string(data.join("log.key.pub")).unwrap().trim().to_owned();
    let dir = tempfile::tempdir().unwrap();
    for (name, compact, jcs) in [("format-2.tar", 0, 0), ("format-3-with-format-2-records.tar", 9, 2)] {
        let pkg = std::fs::read(data.join(name)).unwrap();
        let manifest = String::from_utf8(parts(&pkg)[1].1.clone()).unwrap();
        assert_eq!(manifest.matches("\"canon\": \"compact\"").count(), compact, "{name}");
        assert_eq!(manifest.matches("\"canon\": \"jcs\"").count(), jcs, "{name}");
        let mut altered = parts(&pkg);
        let at = at(&altered[0].1, b"Insurer", 0);
        altered[0].1[at] = b'i';
        for (bytes, accept) in [(pkg.clone(), true), (archive(&altered), false)] {
            let file = dir.path().join(name);
            std::fs::write(&file, bytes).unwrap();
            let f = file.to_str().unwrap();
            let rust = run(&["verify", f, "--key", &key]);
            let (code, py) = python_verifies(&["package", f, "--key", &key]);
            let expected = Some(if accept { 0 } else { 1 });
            assert_eq!(rust.status.code(), expected, "{name}: {}", text(&rust));
            assert_eq!(code, expected, "{name}: {py}");
        }
    }
}
