//! `stockade ledger monitor`: what an insurer, court or regulator runs to
//! check a Stockade log without trusting its operator. It reads the log
//! only through the public C2SP tlog-tiles API (`/tlog/checkpoint`,
//! `/tlog/tile/entries/…`), checks the checkpoint's signature with the key
//! it was given (not one the server offers), rebuilds the Merkle tree from
//! every entry and compares the root, and, with `--state`, checks that the
//! log it saw last time is a prefix of today's: a log that was rewritten,
//! forked or shrunk since is caught.
//!
//! The state file holds the last verified checkpoint (origin, size, root),
//! written only after a run verified everything.

use anyhow::{Context, Result, bail};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::ExitCode;
use stockade_ledger::entry::Entry;
use stockade_ledger::tiles::{TILE_WIDTH, TilePath, decode_bundle};
use stockade_ledger::{Hash, Tree, leaf_hash};

/// The last checkpoint a monitor verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub origin: String,
    pub size: u64,
    /// The root, base64 (as in the checkpoint).
    pub root: String,
}

/// What the entries of a log are, by kind.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Census {
    pub events: u64,
    pub evidence: u64,
    pub custody: u64,
    pub audit: u64,
}

/// Rebuilds a tree from entry bundles (in order), checking that each entry
/// is well formed; `size` entries in all.
pub fn rebuild(bundles: &[Vec<u8>], size: u64) -> Result<(Tree, Census)> {
    let mut tree = Tree::new();
    let mut census = Census::default();
    for (i, b) in bundles.iter().enumerate() {
        let entries = decode_bundle(b).with_context(|| format!("entry bundle {i}"))?;
        for e in entries {
            let index = tree.size();
            match Entry::decode(e).with_context(|| format!("entry {index} is not a Stockade ledger entry"))? {
                Entry::Event { .. } => census.events += 1,
                Entry::Evidence { .. } => census.evidence += 1,
                Entry::Custody { .. } => census.custody += 1,
                Entry::Audit { .. } => census.audit += 1,
            }
            tree.push(leaf_hash(e));
        }
    }
    if tree.size() != size {
        bail!("the entry bundles hold {} entries, the checkpoint says {size}", tree.size());
    }
    Ok((tree, census))
}

/// Checks that the log seen before is a prefix of `tree`.
pub fn consistent(before: &Seen, origin: &str, tree: &Tree) -> Result<(), String> {
    if before.origin != origin {
        return Err(format!("the log's origin is {origin}, but the state is of {}", before.origin));
    }
    if before.size > tree.size() {
        return Err(format!("the log shrank: it had {} entries, it now has {}", before.size, tree.size()));
    }
    let root = tree.root(before.size).map_err(|e| e.to_string())?;
    if b64(&root) != before.root {
        return Err(format!(
            "the log was rewritten: its first {} entries no longer have the root seen before ({})",
            before.size, before.root
        ));
    }
    Ok(())
}

fn b64(h: &Hash) -> String {
    base64::engine::general_purpose::STANDARD.encode(h.0)
}

async fn get(client: &reqwest::Client, url: &str, token: Option<&str>) -> Result<Vec<u8>> {
    let mut req = client.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.with_context(|| format!("reaching {url}"))?;
    let status = r.status();
    let body = r.bytes().await.with_context(|| format!("reading {url}"))?;
    if !status.is_success() {
        bail!("{url}: {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(body.to_vec())
}

/// `stockade ledger monitor --server URL --key KEY [--state FILE] [--token T]`.
pub async fn run(server: &str, key: &str, state: Option<&Path>, token: Option<&str>) -> Result<ExitCode> {
    if stockade_ledger::checkpoint::verify_note(b"x\n", key).is_err_and(|e| e.to_string().starts_with("key")) {
        bail!("{key:?} is not a verifier key (origin+keyid+base64; `stockade ledger key` prints it)");
    }
    let before: Option<Seen> = match state {
        Some(p) if p.exists() => {
            let text = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            Some(serde_json::from_slice(&text).with_context(|| format!("{} is not a monitor state", p.display()))?)
        }
        _ => None,
    };
    let base = server.trim_end_matches('/');
    let client = reqwest::Client::new();
    let note = get(&client, &format!("{base}/tlog/checkpoint"), token).await?;
    let cp = match stockade_ledger::checkpoint::open(&note, key) {
        Ok(cp) => cp,
        Err(e) => {
            println!("FAIL  checkpoint: does not verify with the given key: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let (origin, size, root) = (cp.origin().to_owned(), cp.size(), *cp.hash());
    println!("ok    checkpoint: {origin} at {size} entries, signature verified");
    let width = u64::from(TILE_WIDTH);
    let mut bundles = Vec::new();
    for index in 0..size.div_ceil(width) {
        let w = (size - index * width).min(width) as u32;
        let path = TilePath::Entries { index, width: w }.path();
        bundles.push(get(&client, &format!("{base}/tlog/tile/{path}"), token).await?);
    }
    let (tree, census) = match rebuild(&bundles, size) {
        Ok(t) => t,
        Err(e) => {
            println!("FAIL  entries: {e:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if tree.root(size).ok() != Some(root) {
        println!("FAIL  entries: the tree they make does not have the checkpoint's root");
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "ok    entries: {size} fetched in {} bundles, the tree they make has the signed root ({} events, {} evidence items, {} custody actions, {} audit records)",
        bundles.len(),
        census.events,
        census.evidence,
        census.custody,
        census.audit
    );
    if let Some(before) = &before {
        if let Err(e) = consistent(before, &origin, &tree) {
            println!("FAIL  consistency: {e}");
            println!("NOT VERIFIED");
            return Ok(ExitCode::FAILURE);
        }
        println!("ok    consistency: the {} entries seen before are unchanged at the start of the log", before.size);
    }
    if let Some(p) = state {
        let seen = Seen { origin, size, root: b64(&root) };
        let tmp = p.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&seen)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, p).with_context(|| format!("writing {}", p.display()))?;
    }
    println!("VERIFIED");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockade_ledger::tiles::encode_bundle;

    fn entry(n: u64) -> Vec<u8> {
        Entry::Audit { n, action: "token_created".into(), at_us: n as i64, commit: [n as u8; 32] }.encode().unwrap()
    }

    fn bundles(n: u64) -> Vec<Vec<u8>> {
        let all: Vec<Vec<u8>> = (1..=n).map(entry).collect();
        all.chunks(TILE_WIDTH as usize).map(|c| encode_bundle(c.iter().map(Vec::as_slice))).collect()
    }

    #[test]
    fn a_log_rebuilds_and_a_rewritten_or_shrunk_one_is_caught() {
        let (tree, census) = rebuild(&bundles(300), 300).unwrap();
        assert_eq!(census, Census { audit: 300, ..Census::default() });
        let seen = Seen { origin: "o".into(), size: 100, root: b64(&tree.root(100).unwrap()) };
        // Grown: consistent.
        let (grown, _) = rebuild(&bundles(600), 600).unwrap();
        assert_eq!(consistent(&seen, "o", &grown), Ok(()));
        // Rewritten: entry 50 differs.
        let mut all: Vec<Vec<u8>> = (1..=300).map(entry).collect();
        all[50] = entry(9999);
        let forked = vec![
            encode_bundle(all[..256].iter().map(Vec::as_slice)),
            encode_bundle(all[256..].iter().map(Vec::as_slice)),
        ];
        let (forked, _) = rebuild(&forked, 300).unwrap();
        assert!(consistent(&seen, "o", &forked).unwrap_err().contains("rewritten"));
        // Shrunk, or another log.
        let (small, _) = rebuild(&bundles(50), 50).unwrap();
        assert!(consistent(&seen, "o", &small).unwrap_err().contains("shrank"));
        assert!(consistent(&seen, "other", &grown).unwrap_err().contains("origin"));
        // Bundles that hold fewer entries than the checkpoint says, or garbage.
        assert!(rebuild(&bundles(300), 301).is_err());
        assert!(
            rebuild(&[vec![0, 3, b'a', b'b', b'c']], 1)
                .unwrap_err()
                .to_string()
                .contains("not a Stockade ledger entry")
        );
        assert!(rebuild(&[vec![0, 9, b'a']], 1).is_err());
    }
}
