//! C2SP tlog-proof@v1 (c2sp.org/tlog-proof): one text file that proves an
//! entry is in the log, offline: the entry's index, its RFC 6962 inclusion
//! proof, and the signed checkpoint the proof leads to, verbatim.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of the entry>
//! index 1234
//! <base64 hash, the leaf's sibling first, one a line>
//!
//! <the tlog-checkpoint signed note>
//! ```
//!
//! Stockade puts the logged entry itself in the `extra` line, which the spec
//! reserves for "additional data necessary to reconstruct the record hash":
//! with the log's verifier key, the file alone shows what was logged where.
//! Like the spec, a verifier trusts nothing in `extra` until the leaf hash
//! computed from it is proven included under the signed checkpoint.
//!
//! Written by hand: no crate reads or writes this format (`tlog_tiles` and
//! Go's x/mod stop at checkpoints and proofs). Parsing is strict: anything
//! the spec does not allow is refused, naming the line.

use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::{HASH_SIZE, Hash, ProofError, leaf_hash, verify_inclusion};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The first line of every tlog-proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A parsed (not yet verified) tlog-proof.
#[derive(Debug, Clone, PartialEq)]
pub struct TlogProof {
    /// Opaque data, not authenticated by itself (Stockade: the entry).
    pub extra: Option<Vec<u8>>,
    /// The entry's leaf index, from 0.
    pub index: u64,
    /// The inclusion proof, the leaf's sibling first.
    pub proof: Vec<Hash>,
    /// The signed checkpoint, verbatim.
    pub checkpoint: Vec<u8>,
}

/// Why a tlog-proof is refused.
#[derive(Debug, thiserror::Error)]
pub enum TlogProofError {
    #[error("line {line}: {reason}")]
    Format { line: usize, reason: String },
    #[error("the proof carries no entry (no `extra` line), so there is nothing to check it against")]
    NoEntry,
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("the entry is not leaf {index} of the checkpointed tree of {size} leaves: {reason}")]
    NotIncluded { index: u64, size: u64, reason: ProofError },
}

fn format(line: usize, reason: impl Into<String>) -> TlogProofError {
    TlogProofError::Format { line, reason: reason.into() }
}

impl TlogProof {
    /// The proof's text, as the spec lays it out.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", STANDARD.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            out.push_str(&STANDARD.encode(h.0));
            out.push('\n');
        }
        out.push('\n');
        let mut out = out.into_bytes();
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Parses a proof; line numbers in errors count from 1.
    pub fn parse(bytes: &[u8]) -> Result<TlogProof, TlogProofError> {
        let mut rest = bytes;
        let mut n = 0usize;
        let mut next_line = |what: &str| -> Result<(usize, &[u8]), TlogProofError> {
            n += 1;
            let end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| format(n, format!("ends before {what}")))?;
            let line = &rest[..end];
            rest = &rest[end + 1..];
            Ok((n, line))
        };
        let (at, first) = next_line("its first line")?;
        if first != HEADER.as_bytes() {
            return Err(format(at, format!("the first line must be {HEADER:?}")));
        }
        let (mut at, mut line) = next_line("the index line")?;
        let extra = match line.strip_prefix(b"extra ") {
            Some(b64) => {
                let extra =
                    STANDARD.decode(b64).map_err(|e| format(at, format!("`extra` is not standard base64: {e}")))?;
                (at, line) = next_line("the index line")?;
                Some(extra)
            }
            None => None,
        };
        let digits = line.strip_prefix(b"index ").ok_or_else(|| format(at, "expected `index N`"))?;
        let canonical =
            !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) && (digits == b"0" || digits[0] != b'0');
        let index = std::str::from_utf8(digits)
            .ok()
            .filter(|_| canonical)
            .and_then(|d| d.parse::<u64>().ok())
            .ok_or_else(|| format(at, "the index must be a decimal number without leading zeroes"))?;
        let mut proof = Vec::new();
        loop {
            let (at, line) = next_line("the empty line before the checkpoint")?;
            if line.is_empty() {
                break;
            }
            let h =
                STANDARD.decode(line).map_err(|e| format(at, format!("a proof hash is not standard base64: {e}")))?;
            let h: [u8; HASH_SIZE] = h
                .try_into()
                .map_err(|h: Vec<u8>| format(at, format!("a proof hash must be {HASH_SIZE} bytes, not {}", h.len())))?;
            proof.push(Hash(h));
        }
        if rest.is_empty() {
            return Err(format(n + 1, "the checkpoint is missing"));
        }
        Ok(TlogProof { extra, index, proof, checkpoint: rest.to_vec() })
    }

    /// Checks that the checkpoint is signed by `verifier_key` and that `leaf`
    /// is leaf `index` of the tree it names; returns the checkpoint.
    pub fn verify(&self, verifier_key: &str, leaf: Hash) -> Result<Checkpoint, TlogProofError> {
        let cp = checkpoint::open(&self.checkpoint, verifier_key)?;
        verify_inclusion(self.index, cp.size(), leaf, &self.proof, *cp.hash())
            .map_err(|reason| TlogProofError::NotIncluded { index: self.index, size: cp.size(), reason })?;
        Ok(cp)
    }

    /// [`TlogProof::verify`] for the entry the `extra` line carries (the
    /// RFC 6962 leaf hash of those bytes); returns the checkpoint and the entry.
    pub fn verify_entry(&self, verifier_key: &str) -> Result<(Checkpoint, &[u8]), TlogProofError> {
        let entry = self.extra.as_deref().ok_or(TlogProofError::NoEntry)?;
        Ok((self.verify(verifier_key, leaf_hash(entry))?, entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tree;
    use crate::checkpoint::LogKey;

    /// The example of the spec (tests/data/merkle/c2sp/tlog-proof.md); its
    /// signatures are elided there ("[...]"), so it parses but cannot verify.
    fn spec_example() -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/merkle/c2sp/tlog-proof.md");
        let md = std::fs::read_to_string(path).unwrap();
        let start = md.find("```\nc2sp.org/tlog-proof@v1").unwrap() + 4;
        let end = start + md[start..].find("```").unwrap();
        md[start..end].to_owned()
    }

    #[test]
    fn the_spec_example_parses_and_encodes_back_byte_for_byte() {
        let text = spec_example();
        let p = TlogProof::parse(text.as_bytes()).unwrap();
        assert_eq!(p.index, 73894);
        assert_eq!(p.proof.len(), 5);
        assert_eq!(STANDARD.encode(p.proof[0].0), "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=");
        assert_eq!(STANDARD.encode(p.extra.as_ref().unwrap()), "YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ");
        assert!(p.checkpoint.starts_with(b"example.com/fancylog\n109482\n"));
        assert_eq!(p.encode(), text.as_bytes());
        // Its signatures are elided: it must not verify.
        assert!(p.verify("example.com/fancylog+00000000+AAAA", Hash([0; 32])).is_err());
    }

    fn signed(size: u64) -> (LogKey, Tree, Vec<u8>) {
        let (key, _) = LogKey::generate("stockade.test/proofs").unwrap();
        let mut t = Tree::new();
        for i in 0..size {
            t.push(leaf_hash(format!("entry {i}").as_bytes()));
        }
        let note = key.sign("stockade.test/proofs", size, t.root(size).unwrap()).unwrap();
        (key, t, note)
    }

    fn proof_of(t: &Tree, note: &[u8], index: u64) -> TlogProof {
        TlogProof {
            extra: Some(format!("entry {index}").into_bytes()),
            index,
            proof: t.inclusion_proof(index, t.size()).unwrap(),
            checkpoint: note.to_vec(),
        }
    }

    #[test]
    fn proofs_round_trip_and_verify_and_any_flipped_byte_fails() {
        let (key, t, note) = signed(21);
        for index in [0, 7, 20] {
            let p = proof_of(&t, &note, index);
            let text = p.encode();
            let back = TlogProof::parse(&text).unwrap();
            assert_eq!(back, p);
            let (cp, entry) = back.verify_entry(key.verifier_key()).unwrap();
            assert_eq!((cp.size(), entry), (21, format!("entry {index}").as_bytes()));
            for i in 0..text.len() {
                let mut bad = text.clone();
                bad[i] ^= 0x01;
                let verdict = TlogProof::parse(&bad).and_then(|p| p.verify_entry(key.verifier_key()).map(|_| ()));
                assert!(verdict.is_err(), "byte {i} of the proof of leaf {index} flipped still verifies");
            }
        }
        // A one-leaf tree: no proof lines, the empty line straight after the index.
        let (key, t, note) = signed(1);
        let text = proof_of(&t, &note, 0).encode();
        assert!(String::from_utf8_lossy(&text).contains("index 0\n\nstockade.test/proofs\n1\n"));
        TlogProof::parse(&text).unwrap().verify_entry(key.verifier_key()).unwrap();
    }

    #[test]
    fn wrong_keys_entries_and_indexes_are_named() {
        let (key, t, note) = signed(5);
        let mut p = proof_of(&t, &note, 3);
        let other = LogKey::generate("stockade.test/proofs").unwrap().0;
        assert!(matches!(p.verify_entry(other.verifier_key()), Err(TlogProofError::Checkpoint(_))));
        p.index = 2;
        let err = p.verify_entry(key.verifier_key()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the entry is not leaf 2 of the checkpointed tree of 5 leaves: the proof does not verify"
        );
        p.extra = None;
        assert!(matches!(p.verify_entry(key.verifier_key()), Err(TlogProofError::NoEntry)));
    }

    proptest::proptest! {
        /// Outside input: any bytes give a proof or an error, never a panic.
        #[test]
        fn any_bytes_parse_or_are_refused(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = TlogProof::parse(&bytes);
        }

        /// Near-misses of a real proof (a line cut, doubled or emptied) too,
        /// and whatever parses encodes back to the bytes it came from.
        #[test]
        fn edited_proofs_parse_back_exactly_or_are_refused(line in 0usize..12, edit in 0u8..3) {
            let (_, t, note) = signed(9);
            let text = String::from_utf8(proof_of(&t, &note, 4).encode()).unwrap();
            let mut lines: Vec<&str> = text.split('\n').collect();
            let at = line % lines.len();
            match edit {
                0 => { lines.remove(at); }
                1 => { let l = lines[at]; lines.insert(at, l); }
                _ => lines[at] = "",
            }
            let edited = lines.join("\n");
            if let Ok(p) = TlogProof::parse(edited.as_bytes()) {
                proptest::prop_assert_eq!(p.encode(), edited.as_bytes());
            }
        }
    }

    #[test]
    fn malformed_proofs_are_refused_naming_the_line() {
        let (_, t, note) = signed(5);
        let good = String::from_utf8(proof_of(&t, &note, 3).encode()).unwrap();
        let h = STANDARD.encode(t.inclusion_proof(3, 5).unwrap()[0].0);
        let cases = [
            (good.replacen(HEADER, "c2sp.org/tlog-proof@v2", 1), "line 1: the first line must be"),
            (good.replacen("index 3", "index 03", 1), "line 3: the index must be a decimal"),
            (good.replacen("index 3", "index +3", 1), "line 3: the index must be a decimal"),
            (good.replacen("index 3", "index ", 1), "line 3: the index must be a decimal"),
            (good.replacen("index 3", "index 99999999999999999999", 1), "line 3: the index must be a decimal"),
            (good.replacen("index 3", "idx 3", 1), "line 3: expected `index N`"),
            (good.replacen("extra ", "extra !", 1), "line 2: `extra` is not standard base64"),
            (good.replacen(&h, &h[..h.len() - 4], 1), "line 4: a proof hash must be 32 bytes, not 30"),
            (good.replacen(&h, &h.replace('=', "-"), 1), "line 4: a proof hash is not standard base64"),
            (good[..good.find("\n\n").unwrap() + 1].to_owned(), "ends before the empty line"),
            (good[..good.find("\n\n").unwrap() + 2].to_owned(), "the checkpoint is missing"),
            (String::new(), "line 1: ends before its first line"),
        ];
        for (text, want) in cases {
            let err = TlogProof::parse(text.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should say {want:?}");
        }
    }
}
