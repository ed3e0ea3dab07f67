//! `stockade ledger verify`: re-checks a data directory's evidence ledger
//! and store against the latest signed checkpoint, and says what fails.
//! `stockade verify`: checks an evidence package offline.

use anyhow::{Result, bail};
use std::process::ExitCode;
use stockade_ledger::entry::Entry;
use stockade_store::ledger::event_entry;
use stockade_store::{EventQuery, Ledger};

pub async fn verify(data: &std::path::Path) -> Result<ExitCode> {
    let dir = data.join("ledger");
    if !dir.join("log.key").exists() {
        bail!("{} holds no evidence ledger (no ledger/log.key)", data.display());
    }
    // Opening checks every entry's checksum and encoding, rebuilds the tree,
    // and checks the signed checkpoint's signature and root against it.
    let ledger = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || Ledger::open(&dir, "")).await??
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
    let store = crate::open_store(data).await?;
    let mut failures = Vec::new();
    let (mut checked, mut unlogged, mut after) = (0u64, 0u64, 0i64);
    loop {
        let page = store.events(&EventQuery { after_seq: Some(after), limit: 50_000, ..Default::default() }).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            let seq = e.seq as u64;
            if stockade_model::Event::digest(e.payload.as_bytes()) != e.hash {
                failures.push(format!("event {seq}: its stored bytes do not hash to its recorded hash"));
                continue;
            }
            let Some(leaf) = ledger.event_leaf(seq) else {
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
            let actual = ledger.entries(leaf, 1)?.pop().unwrap_or_default();
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
    let leaves_without_event = ledger.last_event_seq().saturating_sub(after.max(0) as u64);
    if leaves_without_event > 0 {
        failures.push(format!("{leaves_without_event} event leaves name events the store does not hold"));
    }
    println!("events: {checked} match their leaves");
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

/// `stockade verify PACKAGE --key KEY`.
pub fn verify_package(path: &std::path::Path, key: &str) -> Result<ExitCode> {
    if !path.is_file() {
        bail!("{} is not a file", path.display());
    }
    if stockade_ledger::checkpoint::verify_note(b"x\n", key).is_err_and(|e| e.to_string().starts_with("key")) {
        bail!("{key:?} is not a verifier key (origin+keyid+base64; `stockade ledger key` prints it)");
    }
    let report = stockade_evidence::package::verify(|| std::fs::File::open(path).map(std::io::BufReader::new), key);
    println!("package {} (incident {:?}, log size {})", path.display(), report.incident, report.tree_size);
    for c in &report.checked {
        println!("ok    {c}");
    }
    for (part, what) in &report.failures {
        println!("FAIL  {part}: {what}");
    }
    if report.ok() {
        println!("VERIFIED");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("NOT VERIFIED: {} problem(s)", report.failures.len());
        Ok(ExitCode::FAILURE)
    }
}
