//! CPU cost of the evidence ledger per ingested event, by step, in one
//! thread: `cargo bench -p stockade-store --bench ledger` (N events, default 1M).
use std::time::Instant;
use stockade_ledger::entry::{SaltKey, commitment};
use stockade_store::{Appended, Ledger, NewEvent};

fn event(i: usize) -> NewEvent {
    NewEvent {
        source: "acs".into(),
        event_id: format!("e{i}"),
        kind: "access.granted",
        site: "S01".into(),
        occurred_us: i as i64,
        offset_s: 0,
        received_us: 1_732_603_200_000_000 + i as i64,
        hash: [7; 32],
        payload: String::new(),
        movements: vec![],
        observation: None,
        epcis_hash: None,
    }
}
use stockade_store::ledger::event_entry;

fn per_event(label: &str, n: u64, started: Instant) {
    println!("{label:<36} {:>7.3} µs/event", started.elapsed().as_secs_f64() * 1e6 / n as f64);
}

fn main() {
    let n: u64 = std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let salt = SaltKey::generate().unwrap();
    let mut sink = 0u8;
    let t = Instant::now();
    for seq in 1..=n {
        sink ^= salt.event_salt(seq)[0];
    }
    per_event("salt (keyed SHA-256, one a call)", n, t);
    let t = Instant::now();
    for seq in 1..=n {
        sink ^= commitment(&[seq as u8; 16], &[1; 32])[0];
    }
    per_event("commitment", n, t);
    let t = Instant::now();
    let entries: Vec<_> = (1..=n).map(|seq| event_entry(&salt, seq, 1_732_603_200_000_000, &[7; 32], None)).collect();
    per_event("entry (salt + commitment)", n, t);
    let t = Instant::now();
    for e in &entries {
        sink ^= e.encode().map(|b| b[20]).unwrap_or(0);
    }
    per_event("encode", n, t);
    let t = Instant::now();
    for e in &entries {
        sink ^= e.encode().map(|b| stockade_ledger::leaf_hash(&b).0[0]).unwrap_or(0);
    }
    per_event("encode + leaf hash", n, t);
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path(), "bench.example/ledger").unwrap();
    let t = Instant::now();
    for chunk in entries.chunks(8192) {
        ledger.append(chunk).unwrap();
    }
    per_event("append entries (8192 a group, fsync)", n, t);
    // The ingest path: records prepared from stored events, then committed.
    let mut events: Vec<NewEvent> = (0..n).map(|i| event(i as usize)).collect();
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path(), "bench.example/ledger").unwrap();
    let mut prepared = stockade_store::ledger::Prepared::default();
    let t = Instant::now();
    for (c, chunk) in events.chunks_mut(8192).enumerate() {
        let outcome: Vec<_> = (0..chunk.len()).map(|i| Appended::Accepted((c * 8192 + i + 1) as i64)).collect();
        prepared.take_events(chunk, &outcome);
        ledger.prepare(&mut prepared).unwrap();
        ledger.commit_prepared(&mut [&mut prepared]).unwrap();
    }
    per_event("prepare + commit: the whole ingest cost", n, t);
    println!("entry size: {} bytes ({sink})", entries[0].encode().map(|b| b.len()).unwrap_or(0));
}
