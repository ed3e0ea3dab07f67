//! Raw store append throughput (no parsing, no HTTP): `cargo bench -p stockade-store --bench append`.
use std::time::Instant;
use stockade_store::{EmbeddedStore, NewEvent, SqlStore, Store};

fn ev(i: usize) -> NewEvent {
    let payload = format!(
        r#"{{"id":"e{i:010}","source":"acs-bench","site":"S01","occurred_at":"2026-11-02T08:01:02.123+01:00","kind":"access.granted","door":"D-001","badge":"B-000001","direction":"in","received_at":"2026-11-25T16:40:49.901135Z"}}"#
    );
    NewEvent {
        source: "acs-bench".into(),
        event_id: format!("e{i:010}"),
        kind: "access.granted",
        site: format!("S{:02}", i % 16),
        occurred_us: 1_000_000 + i as i64 * 1000,
        offset_s: 3600,
        received_us: 5,
        hash: stockade_model::Event::digest(payload.as_bytes()),
        payload,
        movements: vec![],
        observation: None,
        epcis_hash: None,
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n: usize = std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let batch: usize = std::env::var("BATCH").ok().and_then(|v| v.parse().ok()).unwrap_or(8192);
    let events: Vec<NewEvent> = (0..n).map(ev).collect();
    for (name, store) in [
        (
            "embedded (journal)",
            Box::new(EmbeddedStore::open_dir(&tempfile::tempdir().unwrap().keep()).await.unwrap()) as Box<dyn Store>,
        ),
        (
            "sql (SQLite rows)",
            Box::new(SqlStore::open_file(&tempfile::tempdir().unwrap().keep().join("bench.db")).await.unwrap())
                as Box<dyn Store>,
        ),
    ] {
        let t = Instant::now();
        for chunk in events.chunks(batch) {
            store.append(chunk).await.unwrap();
        }
        let s = t.elapsed().as_secs_f64();
        println!("append {name}: {n} events in batches of {batch}: {:.0} events/s", n as f64 / s);
    }
}
