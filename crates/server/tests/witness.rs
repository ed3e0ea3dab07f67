//! The witness over HTTP (C2SP tlog-witness): statuses and bodies as the
//! protocol gives them.

use base64::Engine;
use reqwest::StatusCode;
use std::sync::Arc;
use stockade_ledger::checkpoint::LogKey;
use stockade_ledger::{Tree, leaf_hash};
use stockade_model::clock::SystemClock;
use stockade_witness::Witness;

const ORIGIN: &str = "stockade.test/http-witnessed";

fn tree(n: u64) -> Tree {
    let mut t = Tree::new();
    for i in 0..n {
        t.push(leaf_hash(&i.to_be_bytes()));
    }
    t
}

fn body(key: &LogKey, t: &Tree, old: u64, size: u64) -> Vec<u8> {
    let mut b = format!("old {old}\n").into_bytes();
    if old > 0 && old < size {
        for h in t.consistency_proof(old, size).unwrap() {
            b.extend(format!("{}\n", base64::engine::general_purpose::STANDARD.encode(h.0)).into_bytes());
        }
    }
    b.push(b'\n');
    b.extend(key.sign(ORIGIN, size, t.root(size).unwrap()).unwrap());
    b
}

#[tokio::test]
async fn add_checkpoint_answers_as_tlog_witness_says() {
    let dir = tempfile::tempdir().unwrap();
    let me = Witness::init(dir.path(), "witness.test/http").unwrap();
    let (log, _) = LogKey::generate(ORIGIN).unwrap();
    let w = Arc::new(Witness::open(dir.path(), &[log.verifier_key().to_owned()]).unwrap());
    let app = stockade_server::witness::witness_app(w, Arc::new(SystemClock));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();
    let post = |b: Vec<u8>| client.post(format!("{url}/add-checkpoint")).body(b).send();
    let t = tree(12);

    let r = post(body(&log, &t, 0, 6)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let line = r.text().await.unwrap();
    assert!(line.starts_with("\u{2014} witness.test/http ") && line.ends_with('\n'), "{line}");
    // Appended to the checkpoint, it verifies with the witness's key.
    let mut note = log.sign(ORIGIN, 6, t.root(6).unwrap()).unwrap();
    note.extend(line.as_bytes());
    stockade_ledger::cosign::verify_witnessed(&note, log.verifier_key(), &[me.verifier_key().to_owned()], 1).unwrap();

    // A stale old size: 409, text/x.tlog.size, the latest size.
    let r = post(body(&log, &t, 0, 12)).await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(r.headers()["content-type"], "text/x.tlog.size");
    assert_eq!(r.text().await.unwrap(), "6\n");
    assert_eq!(post(body(&log, &t, 6, 12)).await.unwrap().status(), StatusCode::OK);
    // An unknown log, a forged signature, a malformed body, a bad proof, too large.
    let (other, _) = LogKey::generate("stockade.test/other").unwrap();
    let mut unknown = b"old 0\n\n".to_vec();
    unknown.extend(other.sign("stockade.test/other", 3, t.root(3).unwrap()).unwrap());
    assert_eq!(post(unknown).await.unwrap().status(), StatusCode::NOT_FOUND);
    let (impostor, _) = LogKey::generate(ORIGIN).unwrap();
    assert_eq!(post(body(&impostor, &t, 12, 12)).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(post(b"hello".to_vec()).await.unwrap().status(), StatusCode::BAD_REQUEST);
    let bigger = tree(20);
    let mut wrong = b"old 12\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n".to_vec();
    wrong.extend(log.sign(ORIGIN, 20, bigger.root(20).unwrap()).unwrap());
    assert_eq!(post(wrong).await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(post(vec![b'x'; 100_000]).await.unwrap().status(), StatusCode::PAYLOAD_TOO_LARGE);
    // What it has cosigned, for its operator.
    let about = client.get(format!("{url}/")).send().await.unwrap().text().await.unwrap();
    assert!(
        about.contains(me.verifier_key()) && about.contains(&format!("log {ORIGIN} cosigned at size 12")),
        "{about}"
    );
}
