//! Stockade's own records about the log: which file loaded which events
//! (`record.loaded`), and which accepted events were withdrawn
//! (`record.retracted`), so that a corrected export can be loaded again
//! without a new data directory.
//!
//! Invariants:
//! - Nothing is deleted: a retraction is an event of its own (and a ledger
//!   leaf), naming the withdrawn event's seq, source, id and payload hash;
//!   the withdrawn event stays in the log and in its proofs.
//! - Derived state leaves withdrawn events out: the book is rebuilt after a
//!   retraction, and every later rebuild or catch-up skips them.
//! - An event is withdrawn at most once: its retraction's id is
//!   `retraction:<seq>`, so retracting again stores nothing new.
//! - After `n` retractions of a (source, id), the next load of it is stored
//!   as revision `n` (its store key is the id and the revision; the event
//!   keeps its id), and loading the same file again without retracting
//!   stores nothing new.
//! - `record.*` events are written here only: ingest refuses them from any
//!   source.

use crate::intake::Intake;
use crate::stage::StageError;
use std::collections::BTreeSet;
use std::sync::Arc;
use stockade_model::{Event, EventBody, EventId, Load, NewEvent, Retraction, SiteId, SourceId};
use stockade_store::{Appended, EventQuery, Store, StoreError, StoredEvent};

/// The source of Stockade's own records.
pub const RECORD_SOURCE: &str = "stockade";

/// Writes Stockade's own records into the log through the pipeline's
/// group commit, without the rest of the intake: what the casebook holds
/// to act in the log (a playbook's automatic containment). Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    commit: stockade_store::GroupCommit,
    clock: Arc<dyn stockade_model::clock::Clock>,
    reference: Arc<std::sync::RwLock<Arc<crate::intake::ReferenceView>>>,
}

impl Recorder {
    /// Appends the records (bypassing the refusal of `record.*` from
    /// sources), durably; returns how many were new.
    pub(crate) async fn append(&self, events: Vec<Event>) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let ready: Vec<NewEvent> = events.into_iter().map(|e| NewEvent::prepare(e, now)).collect();
        let outcomes = self.commit.append(ready).await?;
        Ok(outcomes.iter().filter(|o| matches!(o, Appended::Accepted(_))).count())
    }

    /// A record of Stockade's, stamped now.
    pub(crate) fn record(&self, id: String, site: &str, body: EventBody) -> Result<Event, StoreError> {
        let bad = |e: stockade_model::IdError| StoreError::Corrupt(format!("record id: {e}"));
        let event = Event {
            id: EventId::new(id).map_err(bad)?,
            source: SourceId::new(RECORD_SOURCE).map_err(bad)?,
            site: SiteId::new(site).map_err(bad)?,
            occurred_at: self.clock.now().fixed_offset(),
            received_at: None,
            revision: None,
            epcis: None,
            flags: Vec::new(),
            body,
        };
        event.validate().map_err(|e| StoreError::Corrupt(format!("record: {e}")))?;
        Ok(event)
    }

    /// The reference data as it stands.
    pub(crate) fn reference(&self) -> Arc<crate::intake::ReferenceView> {
        self.reference.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// The site of a record that concerns no one site (a load).
pub const NO_SITE: &str = "*";

/// Why a retraction could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RetractError {
    #[error("no load of {file:?} is recorded{}", known_files(.known))]
    UnknownFile { file: String, known: Vec<String> },
    #[error("a retraction needs a reason (what was wrong with the load)")]
    NoReason,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Stage(#[from] StageError),
}

fn known_files(known: &[String]) -> String {
    if known.is_empty() {
        "; nothing was loaded from a file yet".into()
    } else {
        format!("; loaded files: {}", known.join(", "))
    }
}

/// What a retraction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetractReport {
    /// Loads of the file found.
    pub loads: usize,
    /// Events withdrawn now.
    pub retracted: usize,
    /// Events of those loads withdrawn before.
    pub already: usize,
}

/// Every stored event of one kind, in seq order.
async fn all_of_kind(store: &dyn Store, kind: &str) -> Result<Vec<StoredEvent>, StoreError> {
    all_matching(store, EventQuery { kind: Some(kind.into()), ..Default::default() }).await
}

/// Every stored event `q` selects (its `after_seq` and `limit` aside), in
/// seq order, read a page at a time.
pub(crate) async fn all_matching(store: &dyn Store, mut q: EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
    const PAGE: u32 = 10_000;
    let mut out = Vec::new();
    q.limit = PAGE;
    q.after_seq = None;
    loop {
        let page = store.events(&q).await?;
        let Some(last) = page.last() else { break };
        q.after_seq = Some(last.seq);
        let full = page.len() == PAGE as usize;
        out.extend(page);
        if !full {
            break;
        }
    }
    Ok(out)
}

pub(crate) fn parse(e: &StoredEvent) -> Result<Event, StoreError> {
    Event::from_json(e.payload.as_bytes()).map_err(|err| StoreError::Corrupt(format!("stored event {}: {err}", e.seq)))
}

/// The stored retractions: (the retraction's seq, what it withdrew).
pub async fn retractions(store: &dyn Store) -> Result<Vec<(i64, Retraction)>, StoreError> {
    let mut out = Vec::new();
    for e in all_of_kind(store, "record.retracted").await? {
        if let EventBody::RecordRetracted(r) = parse(&e)?.body {
            out.push((e.seq, r));
        }
    }
    Ok(out)
}

/// The stored loads: (the load record's id, the load).
pub async fn loads(store: &dyn Store) -> Result<Vec<(String, Load)>, StoreError> {
    let mut out = Vec::new();
    for e in all_of_kind(store, "record.loaded").await? {
        let ev = parse(&e)?;
        if let EventBody::RecordLoaded(l) = ev.body {
            out.push((ev.id.into_string(), l));
        }
    }
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Intake {
    /// Re-reads the retractions: which (source, id) the next load stores as a revision.
    pub async fn reload_revisions(&self) -> Result<(), StoreError> {
        let mut revisions = crate::intake::Revisions::new();
        for (_, r) in retractions(&**self.store()).await? {
            *revisions.entry((r.retracted_source.into_string(), r.retracted_id.into_string())).or_default() += 1;
        }
        *self.revisions.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(revisions);
        Ok(())
    }

    /// Appends Stockade's own records (bypassing the refusal of `record.*`
    /// from sources); returns how many were new.
    pub(crate) async fn append_records(&self, events: Vec<Event>) -> Result<usize, StoreError> {
        self.recorder().append(events).await
    }

    pub(crate) fn record(&self, id: String, site: &str, body: EventBody) -> Result<Event, StoreError> {
        self.recorder().record(id, site, body)
    }

    /// What writes Stockade's own records into this pipeline's log.
    pub(crate) fn recorder(&self) -> Recorder {
        Recorder { commit: self.commit().clone(), clock: self.clock().clone(), reference: self.reference_cell() }
    }

    /// Records that a file was loaded and which events it added.
    pub async fn record_load(&self, load: Load) -> Result<(), StoreError> {
        // The same file, through the same mapping, adding the same events:
        // one record, however often it is loaded (a load adding nothing is
        // recorded once per file and mapping).
        let runs = load.runs.first().map_or("none".to_owned(), |r| format!("{}-{}", r[0], r[1]));
        let id = format!("load:{}:{}:{runs}", load.sha256, load.mapping_sha256.as_deref().unwrap_or("-"));
        let event = self.record(id, NO_SITE, EventBody::RecordLoaded(load))?;
        self.append_records(vec![event]).await?;
        Ok(())
    }

    /// Withdraws every event the loads of a file added (matched by the
    /// name it was loaded under, or its file name alone), records each
    /// withdrawal, and rebuilds the book without them. The file can then be
    /// loaded again (a corrected export, a fixed mapping).
    pub async fn retract_file(&self, file: &str, reason: &str) -> Result<RetractReport, RetractError> {
        if reason.trim().is_empty() {
            return Err(RetractError::NoReason);
        }
        let base = |f: &str| std::path::Path::new(f).file_name().map(|n| n.to_string_lossy().into_owned());
        let all = loads(&**self.store()).await?;
        let matching: Vec<&(String, Load)> = all
            .iter()
            .filter(|(_, l)| l.file == file || base(&l.file).is_some_and(|b| Some(b) == base(file)))
            .collect();
        if matching.is_empty() {
            let known: BTreeSet<String> = all.iter().map(|(_, l)| l.file.clone()).collect();
            return Err(RetractError::UnknownFile { file: file.to_owned(), known: known.into_iter().collect() });
        }
        let done: BTreeSet<i64> =
            retractions(&**self.store()).await?.into_iter().map(|(_, r)| r.retracted_seq).collect();
        let mut report = RetractReport { loads: matching.len(), ..Default::default() };
        let mut batch = Vec::new();
        for (load_id, load) in &matching {
            for [first, last] in &load.runs {
                let mut after = first - 1;
                while after < *last {
                    let page = self
                        .store()
                        .events(&EventQuery { after_seq: Some(after), limit: 10_000, ..Default::default() })
                        .await?;
                    let Some(end) = page.last().map(|e| e.seq) else { break };
                    for e in page.into_iter().filter(|e| e.seq <= *last) {
                        if done.contains(&e.seq) || e.source == RECORD_SOURCE {
                            report.already += usize::from(e.source != RECORD_SOURCE);
                            continue;
                        }
                        let ev = parse(&e)?;
                        let body = EventBody::RecordRetracted(Retraction {
                            retracted_seq: e.seq,
                            retracted_source: ev.source.clone(),
                            retracted_id: ev.id.clone(),
                            retracted_hash: hex(&e.hash),
                            reason: reason.to_owned(),
                            load: Some(load_id.clone()),
                        });
                        batch.push(self.record(format!("retraction:{}", e.seq), ev.site.as_str(), body)?);
                    }
                    after = end;
                }
            }
        }
        for chunk in batch.chunks(8192) {
            report.retracted += self.append_records(chunk.to_vec()).await?;
        }
        self.reload_revisions().await?;
        self.stage().rebuild(Some(crate::book::Book::NAME)).await?;
        Ok(report)
    }
}
