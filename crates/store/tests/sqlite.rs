//! The conformance suite on the embedded SQLite driver, plus what only the
//! embedded store promises (data survives a reopen).

use std::sync::Arc;
use stockade_store::{GroupCommit, SqlStore, Store, conformance};

#[tokio::test]
async fn sqlite_passes_conformance() {
    let dirs = std::sync::Mutex::new(Vec::new());
    conformance::run_all(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        dirs.lock().unwrap().push(dir);
        async move { Box::new(SqlStore::open_file(&path.join("test.db")).await.unwrap()) as Box<dyn Store> }
    })
    .await;
}

#[tokio::test]
async fn events_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SqlStore::open_file(&dir.path().join("test.db")).await.unwrap();
        conformance::append_preserves_order_and_payload(&s).await;
        s.close().await;
    }
    let s = SqlStore::open_file(&dir.path().join("test.db")).await.unwrap();
    assert_eq!(s.event_count().await.unwrap(), 5);
}

#[tokio::test]
async fn group_commit_answers_each_caller() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqlStore::open_file(&dir.path().join("test.db")).await.unwrap());
    let gc = GroupCommit::start(store.clone(), 10_000);
    let mut tasks = Vec::new();
    for t in 0..8 {
        let gc = gc.clone();
        tasks.push(tokio::spawn(async move {
            let batch = (0..50)
                .map(|i| {
                    let mut e = stockade_store::NewEvent {
                        source: "s".into(),
                        // Callers overlap on half their ids.
                        event_id: format!("{}", (t % 2) * 1000 + i),
                        kind: "access.granted",
                        site: "S".into(),
                        occurred_us: i,
                        offset_s: 0,
                        received_us: i,
                        hash: [0; 32],
                        payload: "{}".into(),
                        movements: vec![],
                        observation: None,
                        epcis_hash: None,
                    };
                    e.hash[0] = t as u8;
                    e
                })
                .collect();
            gc.append(batch).await.unwrap()
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.len(), 50);
        accepted += r.iter().filter(|a| matches!(a, stockade_store::Appended::Accepted(_))).count();
    }
    assert_eq!(accepted, 100, "two distinct id sets of 50");
    assert_eq!(store.event_count().await.unwrap(), 100);
}

#[tokio::test]
async fn unsupported_database_urls_are_refused_by_name() {
    let err = SqlStore::open("mysql://localhost/stockade").await.unwrap_err().to_string();
    assert!(err.contains("unsupported database URL \"mysql://localhost/stockade\""), "{err}");
}

#[tokio::test]
async fn an_unwritable_data_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = SqlStore::open_file(&file.join("data/test.db")).await.unwrap_err().chain();
    assert!(err.contains("cannot create data directory"), "{err}");
}
