//! The evidence ledger beside the store: every acknowledged event has its
//! leaf, and a crash before the ledger's records reach the disk loses none
//! (the journal is their write-ahead log).

use base64::Engine;
use std::sync::Arc;
use stockade_ledger::entry::Entry;
use stockade_store::{Appended, EmbeddedStore, GroupCommit, Ledger, NewEvent, Store};

/// Every tenth event came from EPCIS: its payload names its CBV hash, as the
/// pipeline's do, so that a leaf rebuilt from the stored event is the same.
fn ev(i: usize) -> NewEvent {
    let epcis_hash = i.is_multiple_of(10).then(|| format!("ni:///sha-256;{i:064x}?ver=CBV2.0"));
    let origin = match &epcis_hash {
        Some(h) => format!(r#","epcis":{{"event_type":"ObjectEvent","event_hash":"{h}"}}"#),
        None => String::new(),
    };
    let payload = format!(
        r#"{{"id":"e{i}","source":"acs","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"inventory.observed"{origin}}}"#
    );
    NewEvent {
        source: "acs".into(),
        event_id: format!("e{i}"),
        kind: "access.granted",
        site: "S".into(),
        occurred_us: i as i64,
        offset_s: 0,
        received_us: 1_000 + i as i64,
        hash: stockade_model::Event::digest(payload.as_bytes()),
        payload,
        movements: vec![],
        observation: None,
        epcis_hash,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_have_leaves_and_a_crash_loses_none() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open_dir(dir.path()).await.unwrap());
    let ledger = Arc::new(Ledger::open(&dir.path().join("ledger"), "stockade.test/l").unwrap());
    let gc = GroupCommit::start_with_ledger(store.clone(), Some(ledger.clone()), 1000);
    // Two rounds of four concurrent clients, a checkpoint between them.
    for round in 0..2 {
        let mut tasks = Vec::new();
        for c in 0..4 {
            let gc = gc.clone();
            let first = round * 100 + c * 25;
            tasks.push(tokio::spawn(async move { gc.append((first..first + 25).map(ev).collect()).await.unwrap() }));
        }
        for t in tasks {
            let out = t.await.unwrap();
            for a in out {
                let Appended::Accepted(seq) = a else { panic!("{a:?}") };
                // Acknowledged means its leaf is in the log.
                assert!(ledger.event_leaf(seq as u64).is_some(), "event {seq} acknowledged without a leaf");
            }
        }
        if round == 0 {
            assert_eq!(ledger.sign_checkpoint().unwrap().size, 100);
        }
    }
    // Duplicates get no second leaf.
    let again = gc.append((0..10).map(ev).collect()).await.unwrap();
    assert!(again.iter().all(|a| *a == Appended::Duplicate));
    assert_eq!(ledger.size(), 200);
    let root = ledger.with_tree(|t| t.root(200)).unwrap();
    // Leaves are in seq order, and EPCIS hashes are carried.
    let entries = ledger.entries(0, 200).unwrap();
    for (i, e) in entries.iter().enumerate() {
        let Entry::Event { seq, .. } = Entry::decode(e).unwrap() else { panic!() };
        assert_eq!(seq, i as u64 + 1);
    }
    let carried = entries.iter().filter_map(|e| match Entry::decode(e) {
        Ok(Entry::Event { epcis: Some(h), .. }) => Some(h),
        _ => None,
    });
    assert_eq!(carried.filter(|h| h.starts_with("ni:///sha-256;")).count(), 20);
    drop(gc);
    drop(ledger);

    // Crashes before the ledger's next sync: the records of the 100 leaves
    // written since the checkpoint's are torn or holed, as a power cut can
    // leave them (written back in part, out of order).
    let path = dir.path().join("ledger/entries");
    let bytes = std::fs::read(&path).unwrap();
    let offset = |leaf: usize| -> usize { entries[..leaf].iter().map(|e| 8 + e.len()).sum() };
    let torn = bytes[..offset(170) + 3].to_vec();
    let mut holed = bytes.clone();
    holed[offset(150)..offset(160)].fill(0);
    let mut flipped = bytes.clone();
    flipped[offset(120) + 20] ^= 1;
    for (crash, damaged, kept) in [("torn", torn, 170), ("holed", holed, 150), ("flipped", flipped, 120)] {
        std::fs::write(&path, &damaged).unwrap();
        let ledger = Ledger::open(&dir.path().join("ledger"), "ignored").unwrap();
        assert_eq!(ledger.size(), kept, "{crash}: cut at the first damaged record");
        assert_eq!(ledger.catch_up(&*store).await.unwrap(), 200 - kept, "{crash}");
        assert_eq!(ledger.with_tree(|t| t.root(200)).unwrap(), root, "{crash}: the same leaves, rebuilt");
        assert_eq!(ledger.catch_up(&*store).await.unwrap(), 0);
        drop(ledger);
        assert!(std::fs::read(&path).unwrap() == bytes, "{crash}: the same records, byte for byte");
    }

    // Damage the signed checkpoint covers is not a crash's: refused.
    let mut covered = bytes.clone();
    covered[offset(50) + 20] ^= 1;
    std::fs::write(&path, &covered).unwrap();
    let err = Ledger::open(&dir.path().join("ledger"), "ignored").err().unwrap();
    assert!(err.to_string().contains("checksum mismatch in entry 50, which the signed checkpoint covers"), "{err}");
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Checkpoints, proofs and tiles verify with an independent implementation
/// of the same specs: Go's golang.org/x/mod/sumdb/note and sumdb/tlog (its
/// tile reader mirrors the log from C2SP tlog-tiles)
/// (`tests/interop/verify.go`; `cargo xtask ci` installs Go and x/mod).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_and_proofs_verify_with_go_sumdb() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open_dir(dir.path()).await.unwrap());
    let ledger = Arc::new(Ledger::open(&dir.path().join("ledger"), "stockade.test/interop").unwrap());
    let gc = GroupCommit::start_with_ledger(store.clone(), Some(ledger.clone()), 1000);
    gc.append((0..300).map(ev).collect()).await.unwrap();
    let old = ledger.sign_checkpoint().unwrap();
    gc.append((300..1000).map(ev).collect()).await.unwrap();
    let cp = ledger.sign_checkpoint().unwrap();
    let size = cp.size;
    assert_eq!(size, 1000);
    let mut inclusion = Vec::new();
    for index in [0u64, 1, 255, 256, 299, 511, 998, 999] {
        let entry = ledger.entries(index, 1).unwrap().remove(0);
        let proof: Vec<String> =
            ledger.with_tree(|t| t.inclusion_proof(index, size)).unwrap().iter().map(|h| b64(&h.0)).collect();
        inclusion.push(serde_json::json!({"index": index, "entry_b64": b64(&entry), "proof": proof, "expect": true}));
        // The same proof for a different entry must fail there too.
        let mut forged = entry.clone();
        forged[entry.len() - 1] ^= 1;
        inclusion.push(serde_json::json!({"index": index, "entry_b64": b64(&forged), "proof": proof, "expect": false}));
    }
    let proof: Vec<String> =
        ledger.with_tree(|t| t.consistency_proof(old.size, size)).unwrap().iter().map(|h| b64(&h.0)).collect();
    let consistency = serde_json::json!([
        {"old": old.size, "old_root": b64(&old.root.0), "proof": proof, "expect": true},
        {"old": old.size, "old_root": b64(&cp.root.0), "proof": proof, "expect": false},
    ]);
    // Every tile of the log at this size, as `/tlog/tile/` serves them (the
    // same calls), for Go's tile reader to mirror and authenticate.
    use stockade_ledger::tiles::{TILE_WIDTH, TilePath, encode_bundle};
    let mut tiles = serde_json::Map::new();
    let spans = |n: u64| {
        let w = u64::from(TILE_WIDTH);
        (0..n.div_ceil(w)).map(move |i| (i, (n - i * w).min(w) as u32))
    };
    for level in 0u8.. {
        let hashes = size >> (8 * u32::from(level));
        if hashes == 0 {
            break;
        }
        for (index, width) in spans(hashes) {
            let tile = ledger.with_tree(|t| t.hash_tile(level, index, width)).unwrap();
            tiles.insert(TilePath::Hashes { level, index, width }.path(), b64(&tile).into());
        }
    }
    for (index, width) in spans(size) {
        let entries = ledger.entries(index * u64::from(TILE_WIDTH), u64::from(width)).unwrap();
        let bundle = encode_bundle(entries.iter().map(Vec::as_slice));
        tiles.insert(TilePath::Entries { index, width }.path(), b64(&bundle).into());
    }
    // C2SP tlog-proof files, read by Go's own parser (the format has no
    // library there either); a changed entry or index must fail.
    let tlog_proof = |index: u64, entry: Vec<u8>| {
        let proof = ledger.with_tree(|t| t.inclusion_proof(index, size)).unwrap();
        let text = stockade_ledger::proof::TlogProof { extra: Some(entry), index, proof, checkpoint: cp.note.clone() };
        String::from_utf8(text.encode()).unwrap()
    };
    let entry = |i: u64| ledger.entries(i, 1).unwrap().remove(0);
    let mut changed = entry(511);
    changed[20] ^= 1;
    let tlog_proofs = serde_json::json!([
        {"text": tlog_proof(0, entry(0)), "expect": true},
        {"text": tlog_proof(511, entry(511)), "expect": true},
        {"text": tlog_proof(999, entry(999)), "expect": true},
        {"text": tlog_proof(511, changed), "expect": false},
        {"text": tlog_proof(511, entry(510)), "expect": false},
    ]);
    let input = serde_json::json!({
        "vkey": ledger.verifier_key(),
        "note": String::from_utf8(cp.note.clone()).unwrap(),
        "inclusion": inclusion,
        "consistency": consistency,
        "tiles": tiles,
        "tlog_proofs": tlog_proofs,
    });
    let out = go_verify(&input);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("checkpoint ok: origin stockade.test/interop, size 1000"), "{stdout}");
    assert_eq!(stdout.matches("verified=true expected=true").count(), 9 + 3, "{stdout}");
    assert_eq!(stdout.matches("verified=false expected=false").count(), 9 + 2, "{stdout}");
    assert_eq!(stdout.matches("tlog-proof ").count(), 5, "{stdout}");
    // 1000 leaves: level-0 tiles 000-002 and 003.p/232, level 1 000.p/3, four bundles.
    assert!(stdout.contains("tiles ok: 9 tiles"), "{stdout}");

    // A tile or bundle altered in transit is caught by Go's reader.
    for path in ["0/001", "1/000.p/3", "entries/003.p/232"] {
        let mut bad = input.clone();
        let tile = bad["tiles"][path].as_str().unwrap().to_owned();
        let mut bytes = base64::engine::general_purpose::STANDARD.decode(tile).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        bad["tiles"][path] = b64(&bytes).into();
        let out = go_verify(&bad);
        assert!(!out.status.success(), "tile {path} altered");
        assert!(String::from_utf8_lossy(&out.stdout).contains("tiles: "), "{}", String::from_utf8_lossy(&out.stdout));
    }

    // A checkpoint signed by another key does not open with this log's key.
    let mut forged = input.clone();
    let (other, _) = stockade_ledger::checkpoint::LogKey::generate("stockade.test/interop").unwrap();
    forged["note"] = String::from_utf8(other.sign("stockade.test/interop", size, cp.root).unwrap()).unwrap().into();
    let out = go_verify(&forged);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("checkpoint:"));

    // Cosigned by two witnesses (C2SP tlog-cosignature lines after the
    // log's): Go's note still opens it with the log's key alone, the
    // witnesses' lines set aside as signatures it does not know.
    let body = stockade_ledger::cosign::body(&cp.note).unwrap();
    let lines: Vec<Vec<u8>> = ["witness.test/a", "witness.test/b"]
        .iter()
        .map(|n| stockade_ledger::cosign::Cosigner::generate(n).unwrap().0.cosign(&body, 1_700_000_000).unwrap())
        .collect();
    let cosigned = ledger.add_cosignatures(size, &lines).unwrap().unwrap();
    assert_eq!(String::from_utf8_lossy(&cosigned.note).matches('\u{2014}').count(), 3);
    let mut witnessed = input.clone();
    witnessed["note"] = String::from_utf8(cosigned.note).unwrap().into();
    let out = go_verify(&witnessed);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("checkpoint ok: origin stockade.test/interop, size 1000"));
}

fn go_verify(input: &serde_json::Value) -> std::process::Output {
    use std::io::Write;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cache = std::env::temp_dir().join("stockade-go-cache");
    let mut child = std::process::Command::new("go")
        .args(["run", "tests/interop/verify.go"])
        .current_dir(&root)
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOCACHE", &cache)
        .env("GOFLAGS", "")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("Go is needed for the interop test: `cargo xtask ci` installs golang-go and golang-golang-x-mod-dev");
    child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}
