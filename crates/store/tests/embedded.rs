//! The conformance suite on the embedded store (journal + SQLite), and what
//! only it promises: the book converges to the journal after a crash.

use stockade_model::book::Movement;
use stockade_model::{LocationId, SiteId, Sku};
use stockade_store::journal::Journal;
use stockade_store::{BookQuery, EmbeddedStore, NewEvent, Store, conformance};

#[tokio::test]
async fn embedded_passes_conformance() {
    let dirs = std::sync::Mutex::new(Vec::new());
    conformance::run_all(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        dirs.lock().unwrap().push(dir);
        async move { Box::new(EmbeddedStore::open_dir(&path).await.unwrap()) as Box<dyn Store> }
    })
    .await;
}

fn receipt(i: usize, qty: f64) -> NewEvent {
    NewEvent {
        source: "wms".into(),
        event_id: format!("r{i}"),
        kind: "inventory.received",
        site: "S".into(),
        occurred_us: i as i64,
        offset_s: 0,
        received_us: 0,
        hash: [0; 32],
        payload: format!(
            r#"{{"id":"r{i}","source":"wms","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"inventory.received","sku":"K","quantity":{qty},"to_location":"BIN"}}"#
        ),
        movements: vec![Movement {
            site: SiteId::new("S").unwrap(),
            location: LocationId::new("BIN").unwrap(),
            sku: Sku::new("K").unwrap(),
            delta: qty,
        }],
        observation: None,
        epcis_hash: None,
    }
}

#[tokio::test]
async fn the_book_catches_up_with_the_journal_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = EmbeddedStore::open_dir(dir.path()).await.unwrap();
        s.append(&[receipt(1, 5.0)]).await.unwrap();
        s.close().await;
    }
    // Events that reached the journal but not the book (a crash between the
    // two writes).
    {
        let j = Journal::open(&dir.path().join("journal")).unwrap();
        j.append(&[receipt(2, 3.0), receipt(3, 2.0)]).unwrap();
    }
    let s = EmbeddedStore::open_dir(dir.path()).await.unwrap();
    assert_eq!(s.event_count().await.unwrap(), 3);
    let book = s.book(&BookQuery::default()).await.unwrap();
    assert_eq!(book.len(), 1);
    assert_eq!(book[0].quantity, 10.0, "5 projected before, 3 + 2 replayed on open");
    // Replaying again changes nothing.
    s.close().await;
    drop(s);
    let s = EmbeddedStore::open_dir(dir.path()).await.unwrap();
    assert_eq!(s.book(&BookQuery::default()).await.unwrap()[0].quantity, 10.0);
}

#[tokio::test]
async fn a_crash_before_any_snapshot_loses_no_book_effect() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = EmbeddedStore::open_dir(dir.path()).await.unwrap();
        s.append(&[receipt(1, 5.0), receipt(2, 1.0)]).await.unwrap();
        // Dropped without close: no snapshot was written.
    }
    let s = EmbeddedStore::open_dir(dir.path()).await.unwrap();
    assert_eq!(s.book(&BookQuery::default()).await.unwrap()[0].quantity, 6.0);
    assert_eq!(s.append(&[receipt(1, 5.0)]).await.unwrap(), vec![stockade_store::Appended::Duplicate]);
    assert_eq!(s.book(&BookQuery::default()).await.unwrap()[0].quantity, 6.0, "a duplicate moves nothing");
}

#[tokio::test]
async fn one_process_per_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let first = EmbeddedStore::open_dir(dir.path()).await.unwrap();
    let second = EmbeddedStore::open_dir(dir.path()).await;
    let err = second.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("in use by another stockade process"), "{err}");
    drop(first);
    assert!(EmbeddedStore::open_dir(dir.path()).await.is_ok(), "the lock goes with the store");
}

#[tokio::test]
async fn a_new_data_directory_is_its_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    let s = EmbeddedStore::open_dir(&dir).await.unwrap();
    s.close().await;
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
}
