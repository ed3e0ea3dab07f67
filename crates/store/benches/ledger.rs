//! CPU cost of the evidence ledger per ingested event, by step, in one
//! thread: `cargo bench -p stockade-store --bench ledger` (N events, default 1M).
use std::time::Instant;
use stockade_ledger::entry::{SaltKey, commitment};
use stockade_store::Ledger;
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
    per_event("salt (HMAC-SHA256)", n, t);
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
    per_event("append (8192 a group, with fsync)", n, t);
    println!("entry size: {} bytes ({sink})", entries[0].encode().map(|b| b.len()).unwrap_or(0));
}
