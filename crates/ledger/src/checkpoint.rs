//! Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed notes,
//! signed with Ed25519 (`signed_note` and `tlog_tiles` from Cloudflare's azul,
//! ports of Go's golang.org/x/mod/sumdb/note, so Go's verifiers accept ours).
//!
//! A checkpoint says: the log `origin` had `size` leaves with root `hash`.
//! Anyone holding the verifier key (`origin+keyid+base64`) can check it
//! offline.

use crate::Hash;
use base64::Engine;
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
pub use tlog_tiles::checkpoint::Checkpoint;

/// Why a checkpoint could not be made or opened.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("key: {0}")]
    Key(String),
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    #[error("signature: {0}")]
    Signature(String),
}

/// A log's signing key.
pub struct LogKey {
    signer: StandardSigner,
    verifier_key: String,
}

impl LogKey {
    /// A new Ed25519 key for the log `origin`; returns the key and its
    /// private encoding (`PRIVATE+KEY+origin+keyid+base64`), to be kept secret.
    pub fn generate(origin: &str) -> Result<(LogKey, String), CheckpointError> {
        let seed: [u8; 32] = rand::random();
        let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
        let public = [&[1u8][..], sk.verifying_key().as_bytes()].concat();
        let private = [&[1u8][..], &seed[..]].concat();
        let encoded = format!(
            "PRIVATE+KEY+{origin}+{:08x}+{}",
            signed_note::key_id(origin, &public),
            base64::engine::general_purpose::STANDARD.encode(private)
        );
        Ok((LogKey::from_private(&encoded)?, encoded))
    }

    /// Loads a key from its private encoding.
    pub fn from_private(encoded: &str) -> Result<LogKey, CheckpointError> {
        let signer = StandardSigner::new(encoded.trim()).map_err(|e| CheckpointError::Key(format!("{e:?}")))?;
        let mut parts = encoded.trim().splitn(5, '+').skip(2);
        let origin = parts.next().unwrap_or_default();
        let key = parts.nth(1).unwrap_or_default();
        let raw =
            base64::engine::general_purpose::STANDARD.decode(key).map_err(|e| CheckpointError::Key(e.to_string()))?;
        let seed: [u8; 32] = raw
            .get(1..)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| CheckpointError::Key("not an Ed25519 key".into()))?;
        let vk = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        Ok(LogKey { signer, verifier_key: signed_note::new_ed25519_verifier_key(origin, &vk) })
    }

    /// The verifier key in signed-note form (`origin+keyid+base64`), to publish.
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// Signs any text as a C2SP signed note (the text must end in a newline).
    pub fn sign_note(&self, text: &str) -> Result<Vec<u8>, CheckpointError> {
        let mut note = Note::new(text.as_bytes(), &[]).map_err(|e| CheckpointError::Malformed(format!("{e:?}")))?;
        note.add_sigs(&[&self.signer]).map_err(|e| CheckpointError::Signature(format!("{e:?}")))?;
        Ok(note.to_bytes())
    }

    /// Signs the checkpoint for a tree of `size` leaves with root `hash`.
    pub fn sign(&self, origin: &str, size: u64, hash: Hash) -> Result<Vec<u8>, CheckpointError> {
        let cp = Checkpoint::new(origin, size, hash, "").map_err(|e| CheckpointError::Malformed(e.to_string()))?;
        let mut note = Note::new(&cp.to_bytes(), &[]).map_err(|e| CheckpointError::Malformed(format!("{e:?}")))?;
        note.add_sigs(&[&self.signer]).map_err(|e| CheckpointError::Signature(format!("{e:?}")))?;
        Ok(note.to_bytes())
    }
}

/// The name (a log's origin) a verifier key `name+id+key` is for, once the
/// key is checked to be a well-formed Ed25519 signed-note key.
pub fn key_name(verifier_key: &str) -> Result<String, CheckpointError> {
    let v = StandardVerifier::new(verifier_key.trim()).map_err(|e| CheckpointError::Key(format!("{e:?}")))?;
    Ok(signed_note::Verifier::name(&v).to_owned())
}

/// Verifies a signed note with the verifier key and returns its text.
pub fn verify_note(note: &[u8], verifier_key: &str) -> Result<Vec<u8>, CheckpointError> {
    let verifier = StandardVerifier::new(verifier_key.trim()).map_err(|e| CheckpointError::Key(format!("{e:?}")))?;
    let note = Note::from_bytes(note).map_err(|e| CheckpointError::Malformed(format!("{e:?}")))?;
    note.verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|e| CheckpointError::Signature(format!("{e:?}")))?;
    Ok(note.text().to_vec())
}

/// Verifies a signed checkpoint and parses it.
pub fn open(note: &[u8], verifier_key: &str) -> Result<Checkpoint, CheckpointError> {
    let text = verify_note(note, verifier_key)?;
    Checkpoint::from_bytes(&text).map_err(|e| CheckpointError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Tree, leaf_hash};

    /// C2SP signed-note.md, "Verifier keys / Example" (tests/data/merkle/c2sp).
    const EXAMPLE_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const EXAMPLE_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    #[test]
    fn the_c2sp_example_note_verifies_and_tampering_does_not() {
        assert_eq!(verify_note(EXAMPLE_NOTE.as_bytes(), EXAMPLE_VKEY).unwrap(), b"This is an example message.\n");
        let tampered = EXAMPLE_NOTE.replace("example message", "exemple message");
        assert!(matches!(verify_note(tampered.as_bytes(), EXAMPLE_VKEY), Err(CheckpointError::Signature(_))));
        let other = LogKey::generate("example.com/foo").unwrap().0;
        assert!(verify_note(EXAMPLE_NOTE.as_bytes(), other.verifier_key()).is_err(), "a different key");
    }

    #[test]
    fn checkpoints_round_trip_in_c2sp_form() {
        let (key, private) = LogKey::generate("stockade.example/ledger").unwrap();
        let mut t = Tree::new();
        for i in 0u64..20 {
            t.push(leaf_hash(&i.to_le_bytes()));
        }
        let root = t.root(20).unwrap();
        let note = key.sign("stockade.example/ledger", 20, root).unwrap();
        let text = String::from_utf8(note.clone()).unwrap();
        // tlog-checkpoint: origin, decimal size, base64 root, then the signature block.
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("stockade.example/ledger"));
        assert_eq!(lines.next(), Some("20"));
        assert_eq!(lines.next(), Some(root.to_string().as_str()));
        assert_eq!(lines.next(), Some(""));
        assert!(lines.next().unwrap().starts_with("\u{2014} stockade.example/ledger "));
        let cp = open(&note, key.verifier_key()).unwrap();
        assert_eq!((cp.origin(), cp.size(), *cp.hash()), ("stockade.example/ledger", 20, root));
        // The key reloads from its private form and verifies the same way.
        let again = LogKey::from_private(&private).unwrap();
        assert_eq!(again.verifier_key(), key.verifier_key());
        // Any flipped byte of the note fails.
        for i in 0..note.len() {
            let mut bad = note.clone();
            bad[i] ^= 0x01;
            assert!(open(&bad, key.verifier_key()).is_err(), "byte {i} flipped still verifies");
        }
    }

    /// The constants above are the spec's own text.
    #[test]
    fn the_example_is_the_spec_text() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/merkle/c2sp/extracted_examples.txt");
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains(&format!("vkey: {EXAMPLE_VKEY}")));
        assert!(text.contains(EXAMPLE_NOTE.trim_end()));
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(LogKey::from_private("PRIVATE+KEY+x+00000000+AAAA").is_err());
        assert!(verify_note(EXAMPLE_NOTE.as_bytes(), "not a key").is_err());
    }
}
