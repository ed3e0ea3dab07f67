//! `stockade ledger verify`: re-checks a data directory's evidence ledger
//! and store against the latest signed checkpoint, and says what fails.
//! `stockade verify`: checks an evidence package offline.

use anyhow::{Context, Result, bail};
use std::process::ExitCode;
use stockade_ledger::entry::Entry;
use stockade_store::ledger::event_entry;
use stockade_store::{EventQuery, Ledger};

pub async fn verify(data: &std::path::Path) -> Result<ExitCode> {
    // Opening takes the directory's lock first (a running server's directory
    // is refused: opening the ledger cuts unsynced tails), checks every
    // entry's checksum and encoding and the signed checkpoint's signature
    // and root; rechecking rehashes every entry against the tree's stored
    // hashes (which opening trusts).
    let opened = stockade_store::DataDir::new(data).open_existing().await?;
    let (store, ledger, vault) = (opened.store.clone(), opened.ledger.clone(), opened.vault.clone());
    let rehashed = {
        let ledger = ledger.clone();
        tokio::task::spawn_blocking(move || ledger.recheck()).await?
    };
    let Some(cp) = ledger.checkpoint() else {
        bail!("the ledger has no signed checkpoint yet: serve the data directory, or sign one, first");
    };
    println!("ledger {}: {} leaves", ledger.origin(), ledger.size());
    println!(
        "checkpoint: {} leaves, root {} — signature and root verified with {}",
        cp.size,
        cp.root,
        ledger.verifier_key()
    );
    let mut failures = Vec::new();
    match rehashed {
        Ok(n) => println!("tree: {n} entries rehashed; every stored hash is theirs"),
        Err(e) => failures.push(format!("tree: {e}")),
    }
    let (mut checked, mut unlogged, mut after) = (0u64, 0u64, 0i64);
    loop {
        let page = store.events(&EventQuery { after_seq: Some(after), limit: 50_000, ..Default::default() }).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        // The page's entries, read run by run (a group commit's events are
        // consecutive leaves), not one read per event.
        let leaves: Vec<Option<u64>> = page.iter().map(|e| ledger.event_leaf(e.seq as u64)).collect();
        let mut entries = std::collections::HashMap::new();
        let mut known = leaves.iter().flatten().copied().peekable();
        while let Some(first) = known.next() {
            let mut n = 1;
            while known.next_if_eq(&(first + n)).is_some() {
                n += 1;
            }
            for (i, entry) in ledger.entries(first, n)?.into_iter().enumerate() {
                entries.insert(first + i as u64, entry);
            }
        }
        for (e, leaf) in page.iter().zip(leaves) {
            let seq = e.seq as u64;
            if stockade_model::Event::digest(e.payload.as_bytes()) != e.hash {
                failures.push(format!("event {seq}: its stored bytes do not hash to its recorded hash"));
                continue;
            }
            let Some(leaf) = leaf else {
                unlogged += 1;
                continue;
            };
            let epcis = match stockade_model::Event::from_json(e.payload.as_bytes()) {
                Ok(ev) => ev.epcis.map(|o| o.event_hash),
                Err(err) => {
                    failures.push(format!("event {seq}: stored payload does not parse: {err}"));
                    continue;
                }
            };
            let expected = event_entry(ledger.salt_key(), seq, e.received_us, &e.hash, epcis).encode()?;
            let actual = entries.remove(&leaf).unwrap_or_default();
            if actual != expected {
                let what = match Entry::decode(&actual) {
                    Ok(Entry::Event { seq: s, .. }) if s != seq => format!("leaf {leaf} is event {s}'s"),
                    Ok(_) => "its leaf commits to other content".to_owned(),
                    Err(err) => err.to_string(),
                };
                failures.push(format!("event {seq} (leaf {leaf}): {what}"));
            }
            checked += 1;
        }
    }
    let (evidence, custody, audits) = check_evidence(&ledger, &*store, &vault, &mut failures).await?;
    let tokens = check_tokens(&*store, &mut failures).await?;
    let leaves_without_event = ledger.last_event_seq().saturating_sub(after.max(0) as u64);
    if leaves_without_event > 0 {
        failures.push(format!("{leaves_without_event} event leaves name events the store does not hold"));
    }
    println!("events: {checked} match their leaves");
    println!("evidence: {evidence} items match their leaves and their files; {custody} custody entries match theirs");
    println!("audit: {audits} records match their leaves");
    println!("tokens: {tokens} created, and revoked if they are, as the audit trail says");
    if unlogged > 0 {
        println!(
            "events: {unlogged} stored but not yet in the log (a crash before the ledger's sync); they get their \
             leaves when the directory is next served"
        );
    }
    if failures.is_empty() {
        println!("OK");
        Ok(ExitCode::SUCCESS)
    } else {
        for f in failures.iter().take(50) {
            println!("FAIL {f}");
        }
        if failures.len() > 50 {
            println!("... and {} more", failures.len() - 50);
        }
        Ok(ExitCode::FAILURE)
    }
}

/// Checks the store's API tokens against the audit trail (whose records
/// the ledger has just vouched for): a token nobody created through
/// Stockade, or one the trail says was revoked but that works again, is
/// a door someone opened behind its back. Returns how many tokens agree.
async fn check_tokens(store: &dyn stockade_store::Store, failures: &mut Vec<String>) -> Result<u64> {
    let (mut created, mut revoked) = (std::collections::HashSet::new(), std::collections::HashSet::new());
    let mut after = 0;
    loop {
        let page = store.audit(after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.record.n;
        for a in page {
            let token = a.record.detail.get("token").and_then(|t| t.as_str()).map(str::to_owned);
            match (a.record.action.as_str(), token) {
                ("token_created", Some(t)) => created.insert(t),
                ("token_revoked", Some(t)) => revoked.insert(t),
                _ => false,
            };
        }
    }
    let mut agreeing = 0;
    for t in store.tokens().await? {
        let (id, role, name) = (&t.id, t.role.as_str(), &t.name);
        if !created.contains(id) {
            failures.push(format!("token {id} ({role}, {name:?}) has no creation record in the audit trail"));
        } else if revoked.contains(id) && t.revoked_us.is_none() {
            failures
                .push(format!("token {id} ({role}, {name:?}) was revoked in the audit trail but works in the store"));
        } else if !revoked.contains(id) && t.revoked_us.is_some() {
            failures.push(format!("token {id} ({role}, {name:?}) is revoked in the store without a record of it"));
        } else {
            agreeing += 1;
        }
    }
    Ok(agreeing)
}

/// Checks every evidence and custody leaf against the store's records, and
/// every live evidence file against its SHA-256.
async fn check_evidence(
    ledger: &Ledger,
    store: &dyn stockade_store::Store,
    vault: &stockade_store::vault::Vault,
    failures: &mut Vec<String>,
) -> Result<(u64, u64, u64)> {
    let salts = ledger.salt_key();
    let (mut items, mut entries, mut audits) = (0u64, 0u64, 0u64);
    let size = ledger.size();
    let mut start = 0u64;
    while start < size {
        let n = (size - start).min(50_000);
        for (i, bytes) in ledger.entries(start, n)?.into_iter().enumerate() {
            let leaf = start + i as u64;
            // A record is rebuilt by the rule its leaf names (`canon=jcs`, or
            // format 2's compact JSON for records committed before).
            match Entry::decode(&bytes)? {
                Entry::Event { .. } => {}
                Entry::Evidence { id, canon, .. } => {
                    let Some(e) = store.evidence(&id).await? else {
                        failures.push(format!("leaf {leaf}: evidence {id} has no record in the store"));
                        continue;
                    };
                    if e.leaf_index != leaf || e.record.entry(&e.record.salt(salts), canon)?.encode()? != bytes {
                        failures
                            .push(format!("evidence {id} (leaf {leaf}): its record is not what the leaf commits to"));
                        continue;
                    }
                    if e.expired_us.is_none() {
                        let mut file = vault.open_object(&e.record.sha256).await?;
                        let mut h = <sha2::Sha256 as sha2::Digest>::new();
                        let mut buf = vec![0u8; 1 << 20];
                        loop {
                            use tokio::io::AsyncReadExt;
                            let k = file.read(&mut buf).await?;
                            if k == 0 {
                                break;
                            }
                            sha2::Digest::update(&mut h, &buf[..k]);
                        }
                        if hex::encode(sha2::Digest::finalize(h)) != e.record.sha256 {
                            failures
                                .push(format!("evidence {id}: its file in the vault no longer matches its SHA-256"));
                            continue;
                        }
                    }
                    items += 1;
                }
                Entry::Audit { n, canon, .. } => match store.audit(n.saturating_sub(1), 1).await?.pop() {
                    Some(a)
                        if a.record.n == n
                            && a.leaf_index == leaf
                            && a.record.entry(&a.record.salt(salts), canon)?.encode()? == bytes =>
                    {
                        audits += 1
                    }
                    Some(_) => {
                        failures.push(format!("audit #{n} (leaf {leaf}): its record is not what the leaf commits to"))
                    }
                    None => failures.push(format!("leaf {leaf}: audit #{n} has no record in the store")),
                },
                Entry::Custody { evidence, n, canon, .. } => {
                    let chain = store.custody(&evidence).await?;
                    match chain.iter().find(|c| c.record.n == n) {
                        Some(c)
                            if c.leaf_index == leaf
                                && c.record.entry(&c.record.salt(salts), canon)?.encode()? == bytes =>
                        {
                            entries += 1
                        }
                        Some(_) => failures.push(format!(
                            "custody {evidence}#{n} (leaf {leaf}): its record is not what the leaf commits to"
                        )),
                        None => {
                            failures.push(format!("leaf {leaf}: custody {evidence}#{n} has no record in the store"))
                        }
                    }
                }
            }
        }
        start += n;
    }
    Ok((items, entries, audits))
}

/// `stockade verify PACKAGE --key KEY`.
/// Refuses a string that is not a verifier key, before anything is checked with it.
fn check_key(key: &str) -> Result<()> {
    if stockade_ledger::checkpoint::verify_note(b"x\n", key).is_err_and(|e| e.to_string().starts_with("key")) {
        bail!("{key:?} is not a verifier key (origin+keyid+base64; `stockade ledger key` prints it)");
    }
    Ok(())
}

/// `stockade ledger check-proof`: a C2SP tlog-proof, offline.
/// The witness keys and quorum a verifying command was given: each a
/// cosignature/v1 key, the quorum no more than the keys named.
fn check_witnesses(witnesses: &[String], quorum: usize) -> Result<()> {
    for w in witnesses {
        stockade_ledger::cosign::CosignatureVerifier::new(w).map_err(|e| anyhow::anyhow!("--witness: {e}"))?;
    }
    if quorum > witnesses.len() {
        bail!("--quorum {quorum} is more than the {} witnesses named", witnesses.len());
    }
    Ok(())
}

pub fn check_proof(path: &std::path::Path, key: &str, witnesses: &[String], quorum: usize) -> Result<ExitCode> {
    check_key(key)?;
    check_witnesses(witnesses, quorum)?;
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let verdict = stockade_ledger::proof::TlogProof::parse(&bytes).and_then(|p| {
        let (cp, entry) = p.verify_entry(key)?;
        let cosigned = if quorum > 0 {
            stockade_ledger::cosign::verify_witnessed(&p.checkpoint, key, witnesses, quorum)?.cosigned
        } else {
            Vec::new()
        };
        Ok((p.index, cp, entry.to_vec(), cosigned))
    });
    match verdict {
        Ok((index, cp, entry, cosigned)) => {
            // Proven in the log, but not an entry a Stockade log writes: nothing to rely on.
            let described = match Entry::decode(&entry) {
                Ok(e) => e.describe(),
                Err(e) => {
                    println!("FAIL  {}: leaf {index} is in the log, but {e}", path.display());
                    println!("NOT VERIFIED");
                    return Ok(ExitCode::FAILURE);
                }
            };
            println!("ok    checkpoint of {} at size {}, signed by the key given", cp.origin(), cp.size());
            if !cosigned.is_empty() {
                let names: Vec<&str> = cosigned.iter().map(|(n, _)| n.as_str()).collect();
                println!(
                    "ok    cosigned by {} of the {} witnesses named: {}",
                    cosigned.len(),
                    witnesses.len(),
                    names.join(", ")
                );
            }
            println!("ok    leaf {index} is in that tree");
            println!("entry {described}");
            println!("VERIFIED");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("FAIL  {}: {e}", path.display());
            println!("NOT VERIFIED");
            Ok(ExitCode::FAILURE)
        }
    }
}

pub fn verify_package(
    path: &std::path::Path,
    key: &str,
    witnesses: &[String],
    quorum: usize,
    since: Option<&[u8]>,
) -> Result<ExitCode> {
    if !path.is_file() {
        bail!("{} is not a file", path.display());
    }
    check_key(key)?;
    check_witnesses(witnesses, quorum)?;
    let trust = stockade_evidence::package::Trust { key, witnesses, quorum, since };
    let report =
        stockade_evidence::package::verify_with(|| std::fs::File::open(path).map(std::io::BufReader::new), &trust);
    println!("package {} (incident {:?}, log size {})", path.display(), report.incident, report.tree_size);
    for c in &report.checked {
        println!("ok    {c}");
    }
    for (part, what) in &report.failures {
        println!("FAIL  {part}: {what}");
    }
    for n in &report.notes {
        println!("note  {n}");
    }
    if report.ok() {
        println!("what this proves:");
        for p in &report.proved {
            println!("  - {p}");
        }
        println!("what it does not prove:");
        for p in &report.not_proved {
            println!("  - {p}");
        }
        println!("VERIFIED");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("NOT VERIFIED: {} problem(s)", report.failures.len());
        Ok(ExitCode::FAILURE)
    }
}
