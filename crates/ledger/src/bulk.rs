//! SHA-256 of many short, independent messages at once: the ledger's
//! ingest path hashes four or five one- or two-block messages per event
//! (a salt pair, a commitment, a leaf, an RFC 6962 node), each of which
//! `sha2` runs through one SHA-256 unit and waits on its latency.
//!
//! `tape-sha256` runs independent messages in lockstep (several SHA-NI
//! streams, or one message per AVX-512 lane): 2.0-2.4 times the throughput
//! of `sha2` for these shapes, measured on an AVX-512 machine of this kind
//! (docs/BENCHMARKS.md). It is young and made of SIMD `unsafe`, and the
//! ledger's hashes are evidence, so it is not trusted blindly: the first
//! use in a process compares it with `sha2` on every length the ledger
//! uses, on the backend this CPU selects; on any disagreement it falls back
//! to `sha2` for the life of the process ([`lockstep_ok`] and [`backend`]
//! say so; the store warns when it opens a ledger). The differential
//! property tests below run the same comparison on random input.
//!
//! Invariant: every function here returns exactly what SHA-256 of the
//! concatenated message returns, whichever way it was computed.

use crate::Hash;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use tape_sha256::Message;

/// Below this many messages the lockstep kernels leave lanes idle and
/// cost more than `sha2` one by one.
const MIN_BATCH: usize = 4;

/// Whether the lockstep kernels agree with `sha2` on this CPU (checked
/// once); when not, every function here hashes through `sha2`.
pub fn lockstep_ok() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(self_check)
}

/// Compares the lockstep kernels with `sha2` on messages of every length
/// from 0 to 200 bytes (one to four blocks, every padding case), with and
/// without a prefix, in batches that fill and part-fill the lanes.
fn self_check() -> bool {
    let bytes: Vec<u8> = (0..256u32).map(|i| (i.wrapping_mul(167) ^ (i >> 3)) as u8).collect();
    let prefixes: [&[u8]; 3] = [&[0x00], &[0x01], &bytes[..38]];
    for prefix in prefixes {
        for count in [MIN_BATCH, 33, 70] {
            let bodies: Vec<&[u8]> = (0..=200usize).cycle().take(201.max(count)).map(|len| &bytes[..len]).collect();
            let msgs: Vec<Message> = bodies.iter().map(|b| Message::prefixed(prefix, b)).collect();
            let mut out = vec![[0u8; 32]; msgs.len()];
            tape_sha256::hash_messages(&msgs, &mut out);
            for (b, o) in bodies.iter().zip(&out) {
                if serial(prefix, b, &[]) != *o {
                    return false;
                }
            }
            let mut pairs = vec![[0u8; 32]; count];
            let left: Vec<&[u8]> = (0..count).map(|i| &bytes[i..i + 32]).collect();
            let right: Vec<&[u8]> = (0..count).map(|i| &bytes[i + 32..i + 64]).collect();
            tape_sha256::hash_pairs(prefix, &left, &right, &mut pairs);
            for ((l, r), o) in left.iter().zip(&right).zip(&pairs) {
                if serial(prefix, l, r) != *o {
                    return false;
                }
            }
        }
    }
    true
}

fn serial(a: &[u8], b: &[u8], c: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(a);
    h.update(b);
    h.update(c);
    h.finalize().into()
}

/// Which implementation hashes batches in this process: the lockstep
/// kernel's name, or `sha2` when it failed its self-check.
pub fn backend() -> &'static str {
    if lockstep_ok() { tape_sha256::backend() } else { "sha2 (lockstep kernel failed its self-check)" }
}

/// Messages are hashed this many at a time, their descriptions and digests
/// on the stack (a heap buffer per call cost page faults in big groups);
/// four rounds of the widest kernel's 32 lanes. Callers that stage their
/// own inputs (salts, record slices) stage them this many at a time too.
pub const CHUNK: usize = 128;

/// Hashes message `msg(i)` for every `i < count`, giving each digest to
/// `out(i, digest)`: through the lockstep kernel, `CHUNK` at a time, or one
/// by one through `sha2` for a batch too small to fill its lanes or when
/// the kernel failed its self-check. Every function below is this.
fn hash_each<'a>(count: usize, msg: impl Fn(usize) -> Message<'a>, mut out: impl FnMut(usize, [u8; 32])) {
    if count < MIN_BATCH || !lockstep_ok() {
        for i in 0..count {
            let m = msg(i);
            out(i, serial(m.prefix, m.body, m.tail));
        }
        return;
    }
    let mut msgs = [Message::new(&[]); CHUNK];
    let mut digests = [[0u8; 32]; CHUNK];
    for first in (0..count).step_by(CHUNK) {
        let n = CHUNK.min(count - first);
        for (i, slot) in msgs[..n].iter_mut().enumerate() {
            *slot = msg(first + i);
        }
        tape_sha256::hash_messages(&msgs[..n], &mut digests[..n]);
        for (i, d) in digests[..n].iter().enumerate() {
            out(first + i, *d);
        }
    }
}

/// `out[i] = SHA-256(prefixes[i] ‖ bodies[i])`.
///
/// # Panics
/// If the three slices differ in length (a programming error, not input).
pub fn hash_prefixed(prefixes: &[&[u8]], bodies: &[&[u8]], out: &mut [[u8; 32]]) {
    assert!(prefixes.len() == bodies.len() && bodies.len() == out.len(), "one prefix and one output per body");
    hash_each(bodies.len(), |i| Message::prefixed(prefixes[i], bodies[i]), |i, d| out[i] = d);
}

/// `out[i] = SHA-256(prefix ‖ bodies[i])`.
///
/// # Panics
/// If the slices differ in length (a programming error, not input).
pub fn hash_with_prefix(prefix: &[u8], bodies: &[&[u8]], out: &mut [[u8; 32]]) {
    assert_eq!(bodies.len(), out.len(), "one output per body");
    hash_each(bodies.len(), |i| Message::prefixed(prefix, bodies[i]), |i, d| out[i] = d);
}

/// RFC 6962 leaf hashes, `SHA-256(0x00 ‖ entry)`, of many entries, appended to `out`.
pub fn leaf_hashes(entries: &[&[u8]], out: &mut Vec<Hash>) {
    out.reserve(entries.len());
    hash_each(entries.len(), |i| Message::prefixed(&[0x00], entries[i]), |_, d| out.push(Hash(d)));
}

/// RFC 6962 node hashes, `SHA-256(0x01 ‖ left ‖ right)`, of many pairs, appended to `out`.
///
/// # Panics
/// If the slices differ in length (a programming error, not input).
pub fn node_hashes(left: &[Hash], right: &[Hash], out: &mut Vec<Hash>) {
    assert_eq!(left.len(), right.len(), "nodes hash pairs");
    let start = out.len();
    out.resize(start + left.len(), crate::EMPTY_HASH);
    node_hashes_into(|i| (&left[i], &right[i]), &mut out[start..]);
}

/// RFC 6962 node hashes into `out`, `out[i]` that of pair `pair(i)` (left,
/// right): for a caller whose pairs are already laid out somewhere (a tree
/// level), without copying them into two lists.
pub fn node_hashes_into<'a>(pair: impl Fn(usize) -> (&'a Hash, &'a Hash), out: &mut [Hash]) {
    hash_each(
        out.len(),
        |i| {
            let (left, right) = pair(i);
            Message::pair(&[0x01], &left.0, &right.0)
        },
        |i, d| out[i] = Hash(d),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_lockstep_kernel_passes_its_self_check_here() {
        // If this fails, the ledger still hashes correctly (through sha2), but
        // the CPU's kernel is wrong and the crate should be reported or pinned.
        assert!(lockstep_ok(), "tape-sha256 ({}) disagrees with sha2 on this CPU", tape_sha256::backend());
        assert!(!backend().starts_with("sha2"));
    }

    #[test]
    fn leaves_and_nodes_are_rfc_6962() {
        // More than one chunk of messages, of every length to 300 bytes.
        let entries: Vec<Vec<u8>> = (0..300usize).map(|i| vec![i as u8; i]).collect();
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let mut leaves = Vec::new();
        leaf_hashes(&refs, &mut leaves);
        for (e, l) in refs.iter().zip(&leaves) {
            assert_eq!(*l, crate::leaf_hash(e));
        }
        let mut nodes = Vec::new();
        node_hashes(&leaves[..150], &leaves[150..], &mut nodes);
        assert_eq!(nodes.len(), 150);
        for (i, n) in nodes.iter().enumerate() {
            assert_eq!(*n, crate::node_hash(leaves[i], leaves[150 + i]));
        }
        // The one-prefix form, across chunks.
        let mut out = vec![[0u8; 32]; refs.len()];
        hash_with_prefix(b"p", &refs, &mut out);
        for (e, o) in refs.iter().zip(&out) {
            assert_eq!(*o, serial(b"p", e, &[]));
        }
    }

    proptest! {
        /// Any batch, of any lengths and prefixes, hashes as sha2 does one by one.
        #[test]
        fn batches_hash_as_sha2_does(msgs in prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 0..70), prop::collection::vec(any::<u8>(), 0..300)), 0..300)) {
            let prefixes: Vec<&[u8]> = msgs.iter().map(|(p, _)| p.as_slice()).collect();
            let bodies: Vec<&[u8]> = msgs.iter().map(|(_, b)| b.as_slice()).collect();
            let mut out = vec![[0u8; 32]; msgs.len()];
            hash_prefixed(&prefixes, &bodies, &mut out);
            for ((p, b), o) in msgs.iter().zip(&out) {
                prop_assert_eq!(serial(p, b, &[]), *o);
            }
        }

        #[test]
        fn node_batches_hash_as_sha2_does(pairs in prop::collection::vec((any::<[u8; 32]>(), any::<[u8; 32]>()), 0..300)) {
            let left: Vec<Hash> = pairs.iter().map(|p| Hash(p.0)).collect();
            let right: Vec<Hash> = pairs.iter().map(|p| Hash(p.1)).collect();
            let mut out = Vec::new();
            node_hashes(&left, &right, &mut out);
            prop_assert_eq!(out.len(), pairs.len());
            for (i, o) in out.iter().enumerate() {
                prop_assert_eq!(*o, crate::node_hash(left[i], right[i]));
            }
        }
    }
}
