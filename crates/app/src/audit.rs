//! The audit trail: administrative acts (a token created or revoked,
//! reference data imported, an incident opened) as records in the store and
//! leaves in the evidence ledger.
//! Evidence access is audited by its chain of custody (`custody`).
//!
//! Invariant: records are numbered from 1 without gaps, one at a time in
//! this process, and a record's leaf is durable before its row is written.

use serde::Serialize;
use std::sync::Arc;
use stockade_evidence::{AuditRecord, Canon};
use stockade_model::clock::Clock;
use stockade_store::{Ledger, Store, StoreError, StoredAudit};

/// One writer of the trail at a time.
static TRAIL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Records an act: the next record of the trail and its leaf.
pub async fn record(
    store: &dyn Store,
    ledger: &Arc<Ledger>,
    clock: &dyn Clock,
    action: &str,
    actor: &str,
    detail: impl Serialize,
) -> Result<StoredAudit, StoreError> {
    let detail = serde_json::to_value(detail).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    record_many(store, ledger, clock, action, actor, vec![detail])
        .await?
        .pop()
        .ok_or_else(|| StoreError::Corrupt("an audit record was not written".into()))
}

/// Records several acts of one actor at once: consecutive records of the
/// trail whose leaves go to the ledger in one append (one sync and one
/// checkpoint for all of them), then their rows in order.
pub async fn record_many(
    store: &dyn Store,
    ledger: &Arc<Ledger>,
    clock: &dyn Clock,
    action: &str,
    actor: &str,
    details: Vec<serde_json::Value>,
) -> Result<Vec<StoredAudit>, StoreError> {
    if details.is_empty() {
        return Ok(Vec::new());
    }
    let _one = TRAIL.lock().await;
    let last = store.last_audit().await?;
    let at_us = clock.now().timestamp_micros();
    let records: Vec<AuditRecord> = details
        .into_iter()
        .enumerate()
        .map(|(i, detail)| AuditRecord {
            n: last + 1 + i as u64,
            action: action.to_owned(),
            actor: actor.to_owned(),
            at_us,
            detail,
        })
        .collect();
    // Committed by RFC 8785 (evidence-package format 3); a detail holding an
    // integer no double can carry is refused before anything is written.
    let entries = records
        .iter()
        .map(|r| r.entry(&r.salt(ledger.salt_key()), Canon::Jcs))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::TooLarge(format!("audit record: {e}")))?;
    let l = ledger.clone();
    let first = tokio::task::spawn_blocking(move || l.append(&entries)).await??;
    let mut out = Vec::with_capacity(records.len());
    for (i, record) in records.into_iter().enumerate() {
        let stored = StoredAudit { record, leaf_index: first + i as u64 };
        store.add_audit(&stored).await?;
        out.push(stored);
    }
    Ok(out)
}
