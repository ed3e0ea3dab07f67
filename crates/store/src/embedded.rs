//! The embedded default: events in the [`Journal`]; reference data, tokens,
//! records and the derived-state stage's snapshots in SQLite.
//!
//! Invariants:
//! - An append is durable when the journal's `fdatasync` returns.
//! - The store keeps no derived state of its own (the inventory book is the
//!   derived-state stage's, in `stockade-app`, which replays the journal
//!   after its last snapshot on start).

use crate::journal::Journal;
use crate::*;
use async_trait::async_trait;
use std::path::Path;
use std::sync::Arc;

pub struct EmbeddedStore {
    /// Held while open: one process per data directory.
    _lock: std::fs::File,
    journal: Arc<Journal>,
    sql: SqlStore,
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in a data directory.
    pub async fn open_dir(dir: &Path) -> Result<EmbeddedStore> {
        EmbeddedStore::open_in(&crate::DataDir::new(dir)).await
    }

    /// [`EmbeddedStore::open_dir`], with the layout the data directory gives.
    pub(crate) async fn open_in(dir: &crate::DataDir) -> Result<EmbeddedStore> {
        let lock = dir.lock()?;
        let sql = SqlStore::open_file(&dir.database_path()).await?;
        let jdir = dir.journal_path();
        let journal = Arc::new(blocking(|| Journal::open(&jdir))?);
        Ok(EmbeddedStore { _lock: lock, journal, sql })
    }

    /// Tests: the journal, for fault injection.
    #[cfg(test)]
    pub(crate) fn journal(&self) -> &Journal {
        &self.journal
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn close(&self) {
        self.sql.close_pools().await;
    }

    async fn append(&self, batch: &[NewEvent]) -> Result<Vec<Appended>> {
        blocking(|| self.journal.append(batch))
    }

    async fn events(&self, q: &EventQuery) -> Result<Vec<StoredEvent>> {
        let journal = self.journal.clone();
        let q = q.clone();
        tokio::task::spawn_blocking(move || journal.scan(&q)).await?
    }

    async fn event_times(&self, q: &EventQuery) -> Result<Vec<(i64, i64)>> {
        let journal = self.journal.clone();
        let q = q.clone();
        tokio::task::spawn_blocking(move || journal.scan_times(&q)).await?
    }

    async fn event_count(&self) -> Result<i64> {
        Ok(self.journal.len() as i64)
    }

    async fn put_reference(&self, rows: &[RecordRow], now_us: i64) -> Result<usize> {
        self.sql.put_reference(rows, now_us).await
    }

    async fn reference(&self, kind: Option<RecordKind>) -> Result<Vec<RecordRow>> {
        self.sql.reference(kind).await
    }

    async fn load_book(&self) -> Result<(stockade_model::book::InventoryBook, i64)> {
        self.sql.load_book().await
    }

    async fn save_book(
        &self,
        places: &[(stockade_model::book::Place, stockade_model::book::PlaceState)],
        through: i64,
    ) -> Result<()> {
        self.sql.save_book(places, through).await
    }

    async fn clear_book(&self) -> Result<()> {
        self.sql.clear_book().await
    }

    async fn put_token(&self, t: &TokenRecord) -> Result<()> {
        self.sql.put_token(t).await
    }

    async fn token_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<TokenRecord>> {
        self.sql.token_by_hash(secret_hash).await
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        self.sql.tokens().await
    }

    async fn put_user(&self, u: &UserRecord) -> Result<()> {
        self.sql.put_user(u).await
    }

    async fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        self.sql.user(name).await
    }

    async fn users(&self) -> Result<Vec<UserRecord>> {
        self.sql.users().await
    }

    async fn put_session(&self, s: &SessionRecord) -> Result<()> {
        self.sql.put_session(s).await
    }

    async fn session_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<SessionRecord>> {
        self.sql.session_by_hash(secret_hash).await
    }

    async fn end_sessions(&self, user: &str, now_us: i64) -> Result<u64> {
        self.sql.end_sessions(user, now_us).await
    }

    async fn add_evidence(&self, e: &StoredEvidence, first: &StoredCustody) -> Result<()> {
        self.sql.add_evidence(e, first).await
    }

    async fn evidence(&self, id: &str) -> Result<Option<StoredEvidence>> {
        self.sql.evidence(id).await
    }

    async fn incident_evidence(&self, incident: &str) -> Result<Vec<StoredEvidence>> {
        self.sql.incident_evidence(incident).await
    }

    async fn add_custody(&self, c: &StoredCustody) -> Result<()> {
        self.sql.add_custody(c).await
    }

    async fn live_evidence_with_file(&self, sha256: &str) -> Result<u64> {
        self.sql.live_evidence_with_file(sha256).await
    }

    async fn add_audit(&self, a: &StoredAudit) -> Result<()> {
        self.sql.add_audit(a).await
    }

    async fn audit(&self, after: u64, limit: u32) -> Result<Vec<StoredAudit>> {
        self.sql.audit(after, limit).await
    }

    async fn evidence_due(&self, now_us: i64) -> Result<Vec<StoredEvidence>> {
        self.sql.evidence_due(now_us).await
    }

    async fn custody(&self, evidence: &str) -> Result<Vec<StoredCustody>> {
        self.sql.custody(evidence).await
    }

    async fn has_events(&self, keys: &[(&str, &str)]) -> Result<Vec<bool>> {
        blocking(|| self.journal.contains(keys))
    }

    async fn add_incident(&self, i: &IncidentRecord) -> Result<()> {
        self.sql.add_incident(i).await
    }

    async fn incident(&self, id: &str) -> Result<Option<IncidentRecord>> {
        self.sql.incident(id).await
    }

    async fn incidents(&self, q: &IncidentQuery) -> Result<Vec<IncidentRecord>> {
        self.sql.incidents(q).await
    }

    async fn last_incident(&self) -> Result<u64> {
        self.sql.last_incident().await
    }

    async fn add_timeline(&self, e: &StoredEntry) -> Result<()> {
        self.sql.add_timeline(e).await
    }

    async fn timelines(&self, first: u64, last: u64) -> Result<Vec<StoredEntry>> {
        self.sql.timelines(first, last).await
    }

    async fn add_delivery(&self, d: &Delivery) -> Result<()> {
        self.sql.add_delivery(d).await
    }

    async fn update_delivery(&self, d: &Delivery) -> Result<()> {
        self.sql.update_delivery(d).await
    }

    async fn deliveries(&self, q: &DeliveryQuery) -> Result<Vec<Delivery>> {
        self.sql.deliveries(q).await
    }

    async fn load_state(&self, name: &str) -> Result<Option<(i64, String)>> {
        self.sql.load_state(name).await
    }

    async fn save_state(&self, name: &str, cursor: i64, state: &str) -> Result<()> {
        self.sql.save_state(name, cursor, state).await
    }

    async fn add_alerts(&self, alerts: &[StoredAlert], cases: &[(u64, String)]) -> Result<()> {
        self.sql.add_alerts(alerts, cases).await
    }

    async fn alerts(&self, q: &AlertQuery) -> Result<Vec<(StoredAlert, Option<String>)>> {
        self.sql.alerts(q).await
    }

    async fn last_alert(&self) -> Result<u64> {
        self.sql.last_alert().await
    }

    async fn put_triage(&self, t: &AlertTriage) -> Result<()> {
        self.sql.put_triage(t).await
    }

    async fn triage(&self, first: u64, last: u64) -> Result<Vec<AlertTriage>> {
        self.sql.triage(first, last).await
    }

    async fn last_audit(&self) -> Result<u64> {
        self.sql.last_audit().await
    }
}
