//! The evidence ledger beside the store: every acknowledged event has its
//! leaf, and a crash between the journal's sync and the ledger's loses none.

use std::sync::Arc;
use stockade_ledger::entry::Entry;
use stockade_store::{Appended, EmbeddedStore, GroupCommit, Ledger, NewEvent, Store};

/// Every tenth event came from EPCIS: its payload names its CBV hash, as the
/// pipeline's do, so that a leaf rebuilt from the stored event is the same.
fn ev(i: usize) -> NewEvent {
    let epcis_hash = (i % 10 == 0).then(|| format!("ni:///sha-256;{i:064x}?ver=CBV2.0"));
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
    let mut tasks = Vec::new();
    for c in 0..4 {
        let gc = gc.clone();
        tasks.push(tokio::spawn(async move { gc.append((c * 50..c * 50 + 50).map(ev).collect()).await.unwrap() }));
    }
    for t in tasks {
        let out = t.await.unwrap();
        for a in out {
            let Appended::Accepted(seq) = a else { panic!("{a:?}") };
            // Acknowledged means its leaf is in the log.
            assert!(ledger.event_leaf(seq as u64).is_some(), "event {seq} acknowledged without a leaf");
        }
    }
    // Duplicates get no second leaf.
    let again = gc.append((0..10).map(ev).collect()).await.unwrap();
    assert!(again.iter().all(|a| *a == Appended::Duplicate));
    assert_eq!(ledger.size(), 200);
    let cp = ledger.sign_checkpoint().unwrap();
    let root = cp.root;
    // Leaves are in seq order, and EPCIS hashes are carried.
    let entries = ledger.entries(0, 200).unwrap();
    for (i, e) in entries.iter().enumerate() {
        let Entry::Event { seq, .. } = Entry::decode(e).unwrap() else { panic!() };
        assert_eq!(seq, i as u64 + 1);
    }
    assert_eq!(entries.iter().filter(|e| String::from_utf8_lossy(e).contains(" epcis=ni:///")).count(), 20);
    drop(gc);
    drop(ledger);

    // A crash after the journal's sync but before the ledger's: the last 30
    // leaves never reached the disk.
    let path = dir.path().join("ledger/entries");
    let bytes = std::fs::read(&path).unwrap();
    let keep: usize = entries[..170].iter().map(|e| 8 + e.len()).sum();
    std::fs::write(&path, &bytes[..keep]).unwrap();
    std::fs::remove_file(dir.path().join("ledger/checkpoint")).unwrap();
    let ledger = Ledger::open(&dir.path().join("ledger"), "ignored").unwrap();
    assert_eq!(ledger.size(), 170);
    assert_eq!(ledger.catch_up(&*store).await.unwrap(), 30);
    assert_eq!(ledger.with_tree(|t| t.root(200)).unwrap(), root, "the same leaves, rebuilt");
    assert_eq!(ledger.catch_up(&*store).await.unwrap(), 0);
}
