//! The conformance suite on the embedded store (journal + SQLite), and what
//! only it promises: one process per data directory, kept private.

use stockade_store::{EmbeddedStore, Store, conformance};

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
