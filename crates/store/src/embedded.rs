//! The embedded default: events in the [`Journal`]; the inventory book in
//! memory ([`InventoryBook`]), snapshotted to SQLite; reference data and
//! tokens in SQLite.
//!
//! Why the book lives in memory: updating it row by row in SQLite costs three
//! random B-tree writes per movement (book, movement, movement index), which
//! measured 43k events/s with a fifth of events moving stock. In memory the
//! book costs a hash lookup, and a snapshot of the places that changed is
//! written every [`SNAPSHOT_EVERY`] events and on close.
//!
//! Invariants:
//! - An append is durable when the journal's `fdatasync` returns; the book
//!   already includes it when the append returns.
//! - The book always equals the journal's contents: opening the store loads
//!   the last snapshot and replays the journal after it, so a crash loses no
//!   book effect and applies none twice.

use crate::journal::Journal;
use crate::*;
use async_trait::async_trait;
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use stockade_model::book::{InventoryBook, Place};
use stockade_model::{Event, book};

/// Events between two snapshots of the book.
const SNAPSHOT_EVERY: i64 = 500_000;

struct BookState {
    book: InventoryBook,
    /// Slots of the places changed since the last snapshot.
    dirty: HashSet<usize>,
    /// Journal position the in-memory book reflects.
    through: i64,
    /// Journal position of the last snapshot.
    saved: i64,
}

pub struct EmbeddedStore {
    /// Held while open: one process per data directory.
    _lock: std::fs::File,
    journal: Arc<Journal>,
    sql: SqlStore,
    book: Arc<Mutex<BookState>>,
    /// Held while a snapshot is written; one at a time.
    snapshotting: Arc<tokio::sync::Mutex<()>>,
}

fn poisoned() -> StoreError {
    StoreError::Corrupt("the inventory book lock is poisoned".into())
}

fn matches(p: &Place, q: &BookQuery) -> bool {
    q.site.as_deref().is_none_or(|s| s == p.site)
        && q.location.as_deref().is_none_or(|l| l == p.location)
        && q.sku.as_deref().is_none_or(|k| k == p.sku)
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in a data directory: loads the
    /// book snapshot and replays the journal after it.
    pub async fn open_dir(dir: &Path) -> Result<EmbeddedStore> {
        EmbeddedStore::open_in(&crate::DataDir::new(dir)).await
    }

    /// [`EmbeddedStore::open_dir`], with the layout the data directory gives.
    pub(crate) async fn open_in(dir: &crate::DataDir) -> Result<EmbeddedStore> {
        let lock = dir.lock()?;
        let sql = SqlStore::open_file(&dir.database_path()).await?;
        let jdir = dir.journal_path();
        let journal = Arc::new(blocking(|| Journal::open(&jdir))?);
        let (mut book, saved) = sql.load_book().await?;
        let mut dirty = HashSet::new();
        let mut from = saved;
        let last = journal.len() as i64;
        if from < last {
            tracing::info!(from, to = last, "replaying the journal into the inventory book");
        }
        while from < last {
            let page =
                blocking(|| journal.scan(&EventQuery { after_seq: Some(from), limit: 50_000, ..Default::default() }))?;
            let Some(end) = page.last().map(|e| e.seq) else { break };
            for e in page.iter().filter(|e| e.kind.starts_with("inventory.")) {
                let ev = Event::from_json(e.payload.as_bytes())
                    .map_err(|err| StoreError::Corrupt(format!("journal event {}: {err}", e.seq)))?;
                let obs = book::observation(&ev);
                dirty.extend(book.apply(e.seq, e.occurred_us, &book::movements(&ev), obs.as_ref()));
            }
            from = end;
        }
        let state = BookState { book, dirty, through: from, saved };
        Ok(EmbeddedStore {
            _lock: lock,
            journal,
            sql,
            book: Arc::new(Mutex::new(state)),
            snapshotting: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// Writes the places changed since the last snapshot.
    pub async fn snapshot(&self) -> Result<()> {
        write_snapshot(&self.sql, &self.book, &self.snapshotting).await
    }
}

/// Takes the changed places and writes them with the journal position they
/// reflect. On failure the places are marked changed again, so the next
/// snapshot includes them; the saved position never runs ahead of the data.
async fn write_snapshot(sql: &SqlStore, book: &Mutex<BookState>, one_at_a_time: &tokio::sync::Mutex<()>) -> Result<()> {
    let _one = one_at_a_time.lock().await;
    let (places, slots, through) = {
        let mut st = book.lock().map_err(|_| poisoned())?;
        let dirty: Vec<usize> = std::mem::take(&mut st.dirty).into_iter().collect();
        let places: Vec<(Place, _)> =
            dirty.iter().filter_map(|&slot| st.book.at(slot).map(|(p, s)| (p.clone(), s.clone()))).collect();
        (places, dirty, st.through)
    };
    if let Err(e) = sql.save_book(&places, through).await {
        if let Ok(mut st) = book.lock() {
            st.dirty.extend(slots);
        }
        return Err(e);
    }
    Ok(())
}

#[async_trait]
impl Store for EmbeddedStore {
    /// Snapshots the book and closes the database.
    async fn close(&self) {
        if let Err(e) = self.snapshot().await {
            tracing::warn!(error = %e, "could not snapshot the book on close; it will be replayed from the journal");
        }
        self.sql.close_pools().await;
    }

    async fn append(&self, batch: &[NewEvent]) -> Result<Vec<Appended>> {
        let out = blocking(|| self.journal.append(batch))?;
        let due = {
            let mut st = self.book.lock().map_err(|_| poisoned())?;
            for (e, a) in batch.iter().zip(&out) {
                if let Appended::Accepted(seq) = a {
                    if !e.movements.is_empty() || e.observation.is_some() {
                        let touched = st.book.apply(*seq, e.occurred_us, &e.movements, e.observation.as_ref());
                        st.dirty.extend(touched);
                    }
                    st.through = *seq;
                }
            }
            let due = st.through - st.saved >= SNAPSHOT_EVERY;
            if due {
                // Counted as saved now so that one snapshot is started, not one per append.
                st.saved = st.through;
            }
            due
        };
        if due {
            // Written in the background: appends do not wait for it.
            let (sql, book, lock) = (self.sql.clone(), self.book.clone(), self.snapshotting.clone());
            tokio::spawn(async move {
                if let Err(e) = write_snapshot(&sql, &book, &lock).await {
                    tracing::warn!(error = %e, "book snapshot failed; the journal will be replayed from the previous one");
                }
            });
        }
        Ok(out)
    }

    async fn events(&self, q: &EventQuery) -> Result<Vec<StoredEvent>> {
        let journal = self.journal.clone();
        let q = q.clone();
        tokio::task::spawn_blocking(move || journal.scan(&q)).await.map_err(|e| StoreError::Io(e.to_string()))?
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

    async fn book(&self, q: &BookQuery) -> Result<Vec<BookLine>> {
        let st = self.book.lock().map_err(|_| poisoned())?;
        Ok(st
            .book
            .places()
            .into_iter()
            .filter(|(p, _)| matches(p, q))
            .map(|(p, s)| BookLine {
                site: p.site.clone(),
                location: p.location.clone(),
                sku: p.sku.clone(),
                quantity: s.quantity,
            })
            .collect())
    }

    async fn counts(&self, q: &BookQuery) -> Result<Vec<CountLine>> {
        let st = self.book.lock().map_err(|_| poisoned())?;
        Ok(st
            .book
            .places()
            .into_iter()
            .filter(|(p, _)| matches(p, q))
            .filter_map(|(p, s)| {
                s.count.as_ref().map(|c| CountLine {
                    site: p.site.clone(),
                    location: p.location.clone(),
                    sku: p.sku.clone(),
                    counted_us: c.occurred_us,
                    counted: c.counted,
                    book: c.book_at,
                })
            })
            .collect())
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

    async fn last_audit(&self) -> Result<u64> {
        self.sql.last_audit().await
    }
}
