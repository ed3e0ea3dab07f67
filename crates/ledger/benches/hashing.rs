//! SHA-256 of the ledger's short messages, one at a time through `sha2`
//! against many at once through `stockade_ledger::bulk`, per message:
//! `cargo bench -p stockade-ledger --bench hashing` (ROUNDS, default 9; medians).
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::time::Instant;
use stockade_ledger::{Hash, bulk, node_hash};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Nanoseconds per message of `f`, which hashes `n` messages, over `rounds` rounds.
fn per_message(rounds: usize, n: usize, mut f: impl FnMut()) -> f64 {
    let reps = (1_000_000 / n).max(1);
    median(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..reps {
                    f();
                }
                t.elapsed().as_nanos() as f64 / (reps * n) as f64
            })
            .collect(),
    )
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(9);
    println!("batch kernel: {}", bulk::backend());
    println!("| message | batch | sha2, one at a time | bulk, many at once |");
    println!("|---|---|---|---|");
    for n in [64usize, 4096] {
        let salts: Vec<[u8; 16]> = (0..n).map(|i| [i as u8; 16]).collect();
        let digests: Vec<[u8; 32]> = (0..n).map(|i| [(i * 3) as u8; 32]).collect();
        let entries: Vec<[u8; 49]> = (0..n).map(|i| [(i * 5) as u8; 49]).collect();
        let hashes: Vec<Hash> = digests.iter().map(|d| Hash(*d)).collect();
        let salt_refs: Vec<&[u8]> = salts.iter().map(|s| &s[..]).collect();
        let digest_refs: Vec<&[u8]> = digests.iter().map(|d| &d[..]).collect();
        let entry_refs: Vec<&[u8]> = entries.iter().map(|e| &e[..]).collect();
        let mut out = vec![[0u8; 32]; n];
        let mut hashed: Vec<Hash> = Vec::with_capacity(n);

        let one = per_message(rounds, n, || {
            for (s, d) in salts.iter().zip(&digests) {
                let mut h = Sha256::new();
                h.update(s);
                h.update(d);
                black_box(h.finalize());
            }
        });
        let many = per_message(rounds, n, || {
            bulk::hash_prefixed(&salt_refs, &digest_refs, &mut out);
            black_box(&out);
        });
        println!("| commitment (16 + 32 bytes) | {n} | {one:.1} ns | {many:.1} ns |");

        let one = per_message(rounds, n, || {
            for e in &entries {
                black_box(stockade_ledger::leaf_hash(e));
            }
        });
        let many = per_message(rounds, n, || {
            hashed.clear();
            bulk::leaf_hashes(&entry_refs, &mut hashed);
            black_box(&hashed);
        });
        println!("| leaf (0x00 + 49 bytes) | {n} | {one:.1} ns | {many:.1} ns |");

        let one = per_message(rounds, n, || {
            for (l, r) in hashes.iter().zip(hashes.iter().rev()) {
                black_box(node_hash(*l, *r));
            }
        });
        let reversed: Vec<Hash> = hashes.iter().rev().copied().collect();
        let many = per_message(rounds, n, || {
            hashed.clear();
            bulk::node_hashes(&hashes, &reversed, &mut hashed);
            black_box(&hashed);
        });
        println!("| node (0x01 + 32 + 32 bytes) | {n} | {one:.1} ns | {many:.1} ns |");
    }
}
