//! `stockade ledger monitor`: what an insurer, court or regulator runs to
//! check a Stockade log without trusting its operator. It reads the log
//! only through the public C2SP tlog-tiles API (`/tlog/checkpoint`,
//! `/tlog/tile/entries/…`), checks the checkpoint's signature with the key
//! it was given (not one the server offers), rebuilds the Merkle tree from
//! every entry and compares the root, and, with `--state`, checks that the
//! log it saw last time is a prefix of today's: a log that was rewritten,
//! forked or shrunk since is caught.
//!
//! The state file holds the last verified checkpoint (origin, size, root)
//! and the right edge of its tree (the roots of its complete subtrees, one
//! per set bit of the size), written only after a run verified everything.
//! With it, a run fetches only the entries added since and checks that they
//! extend the old tree to the new signed root: that is both the new entries'
//! check and the proof that the old log is unchanged (a consistency proof
//! the monitor computes itself). When they do not, it fetches the whole log
//! to say why.

use anyhow::{Context, Result, bail};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::ExitCode;
use stockade_ledger::entry::Entry;
use stockade_ledger::tiles::{TILE_WIDTH, TilePath, decode_bundle};
use stockade_ledger::{Edge, Hash, Tree, leaf_hash};

/// The last checkpoint a monitor verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub origin: String,
    pub size: u64,
    /// The root, base64 (as in the checkpoint).
    pub root: String,
    /// The tree's right edge: its complete subtrees' roots, largest first, base64.
    #[serde(default)]
    pub frontier: Vec<String>,
}

impl Seen {
    /// The right edge this state remembers, if it is whole and makes its root.
    fn edge(&self) -> Option<Edge> {
        let roots: Option<Vec<Hash>> = self
            .frontier
            .iter()
            .map(|h| {
                base64::engine::general_purpose::STANDARD
                    .decode(h)
                    .ok()
                    .and_then(|b| stockade_ledger::hash_from(&b).ok())
            })
            .collect();
        Edge::from_roots(self.size, roots?).filter(|e| b64(&e.root()) == self.root)
    }

    fn of(origin: String, root: Hash, edge: &Edge) -> Seen {
        Seen { origin, size: edge.size(), root: b64(&root), frontier: edge.roots().iter().map(b64).collect() }
    }
}

/// What the entries of a log are, by kind.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Census {
    pub events: u64,
    pub evidence: u64,
    pub custody: u64,
    pub audit: u64,
}

impl std::fmt::Display for Census {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} events, {} evidence items, {} custody actions, {} audit records",
            self.events, self.evidence, self.custody, self.audit
        )
    }
}

/// Hands the leaf hashes of the entries of `bundles` (in order, the first
/// `skip` of the first bundle left out) to `grow`, checking each entry is
/// well formed and that there are `count` of them; entry indexes in errors
/// start at `first`.
fn extend(bundles: &[Vec<u8>], skip: usize, first: u64, count: u64, mut grow: impl FnMut(Hash)) -> Result<Census> {
    let mut census = Census::default();
    let mut index = first;
    for (i, b) in bundles.iter().enumerate() {
        let entries = decode_bundle(b).with_context(|| format!("entry bundle {i}"))?;
        for e in entries.into_iter().skip(if i == 0 { skip } else { 0 }) {
            match Entry::decode(e).with_context(|| format!("entry {index} is not a Stockade ledger entry"))? {
                Entry::Event { .. } => census.events += 1,
                Entry::Evidence { .. } => census.evidence += 1,
                Entry::Custody { .. } => census.custody += 1,
                Entry::Audit { .. } => census.audit += 1,
            }
            grow(leaf_hash(e));
            index += 1;
        }
    }
    if index != first + count {
        bail!("the entry bundles hold {} entries, the checkpoint says {}", index, first + count);
    }
    Ok(census)
}

/// Rebuilds a tree from entry bundles, `size` entries in all.
pub fn rebuild(bundles: &[Vec<u8>], size: u64) -> Result<(Tree, Census)> {
    let mut tree = Tree::new();
    let census = extend(bundles, 0, 0, size, |h| {
        tree.push(h);
    })?;
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
    let client = crate::http_client()?;
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
    // Only what was added since, when the state remembers a prefix of this log.
    if let Some(b) = &before
        && b.origin == origin
        && b.size <= size
        && let Some(mut edge) = b.edge()
    {
        let bundles = fetch(&client, base, token, b.size, size).await?;
        let skip = (b.size % u64::from(TILE_WIDTH)) as usize;
        match extend(&bundles, skip, b.size, size - b.size, |h| edge.push(h, |_| {})) {
            Ok(census) if edge.root() == root => {
                println!(
                    "ok    entries: {} new fetched in {} bundles; with the {} seen before they make the signed root ({census})",
                    size - b.size,
                    bundles.len(),
                    b.size
                );
                println!("ok    consistency: the {} entries seen before are unchanged at the start of the log", b.size);
                return save(state, Seen::of(origin, root, &edge));
            }
            Ok(_) => println!(
                "note  the new entries do not extend the log seen before to the signed root; fetching the whole log to say why"
            ),
            Err(e) => {
                println!("FAIL  entries: {e:#}");
                println!("NOT VERIFIED");
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    let bundles = fetch(&client, base, token, 0, size).await?;
    let (tree, census) = match rebuild(&bundles, size) {
        Ok(t) => t,
        Err(e) => {
            println!("FAIL  entries: {e:#}");
            println!("NOT VERIFIED");
            return Ok(ExitCode::FAILURE);
        }
    };
    if tree.root(size).ok() != Some(root) {
        println!("FAIL  entries: the tree they make does not have the checkpoint's root");
        println!("NOT VERIFIED");
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "ok    entries: {size} fetched in {} bundles, the tree they make has the signed root ({census})",
        bundles.len()
    );
    if let Some(before) = &before {
        if let Err(e) = consistent(before, &origin, &tree) {
            println!("FAIL  consistency: {e}");
            println!("NOT VERIFIED");
            return Ok(ExitCode::FAILURE);
        }
        println!("ok    consistency: the {} entries seen before are unchanged at the start of the log", before.size);
    }
    save(state, Seen::of(origin, root, tree.edge()))
}

/// The entry bundles holding entries `from..size`.
async fn fetch(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    from: u64,
    size: u64,
) -> Result<Vec<Vec<u8>>> {
    use futures::{StreamExt, TryStreamExt};
    // A few requests in flight: a remote auditor's fetch is bound by round trips.
    const IN_FLIGHT: usize = 8;
    let width = u64::from(TILE_WIDTH);
    futures::stream::iter(from / width..size.div_ceil(width))
        .map(|index| {
            let w = (size - index * width).min(width) as u32;
            let url = format!("{base}/tlog/tile/{}", TilePath::Entries { index, width: w }.path());
            async move { get(client, &url, token).await }
        })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await
}

/// Remembers a verified checkpoint (when asked to) and reports success.
fn save(state: Option<&Path>, seen: Seen) -> Result<ExitCode> {
    if let Some(p) = state {
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
        Entry::Audit {
            n,
            action: "token_created".into(),
            at_us: n as i64,
            canon: stockade_ledger::entry::Canon::Jcs,
            commit: [n as u8; 32],
        }
        .encode()
        .unwrap()
    }

    fn bundles(n: u64) -> Vec<Vec<u8>> {
        let all: Vec<Vec<u8>> = (1..=n).map(entry).collect();
        all.chunks(TILE_WIDTH as usize).map(|c| encode_bundle(c.iter().map(Vec::as_slice))).collect()
    }

    #[test]
    fn a_state_resumes_from_its_edge_and_a_damaged_one_is_not_trusted() {
        let (tree, _) = rebuild(&bundles(300), 300).unwrap();
        let seen = Seen::of("o".into(), tree.root(300).unwrap(), tree.edge());
        let mut resumed = seen.edge().unwrap();
        // Bundles from the one holding entry 300: the first 300 % 256 are skipped.
        let later = bundles(700);
        let census = extend(&later[1..], 300 - 256, 300, 400, |h| resumed.push(h, |_| {})).unwrap();
        assert_eq!(census.audit, 400);
        let (whole, _) = rebuild(&later, 700).unwrap();
        assert_eq!(resumed.root(), whole.root(700).unwrap());
        // Fewer entries than the checkpoint says.
        assert!(extend(&later[1..], 300 - 256, 300, 401, |_| {}).is_err());
        // A state whose edge does not make its root, or is cut, is not used.
        let mut bad = seen.clone();
        bad.root = b64(&leaf_hash(b"x"));
        assert!(bad.edge().is_none());
        let mut cut = seen.clone();
        cut.frontier.pop();
        assert!(cut.edge().is_none());
    }

    #[test]
    fn a_log_rebuilds_and_a_rewritten_or_shrunk_one_is_caught() {
        let (tree, census) = rebuild(&bundles(300), 300).unwrap();
        assert_eq!(census, Census { audit: 300, ..Census::default() });
        let seen = Seen { origin: "o".into(), size: 100, root: b64(&tree.root(100).unwrap()), frontier: vec![] };
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
        let garbage = rebuild(&[vec![0, 3, b'a', b'b', b'c']], 1).unwrap_err();
        assert!(format!("{garbage:#}").contains("not a Stockade ledger entry"), "{garbage:#}");
        assert!(rebuild(&[vec![0, 9, b'a']], 1).is_err());
    }
}
