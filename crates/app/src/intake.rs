//! The live ingest pipeline: parse, check references, prepare, group-commit,
//! and report per line. The HTTP API and `stockade ingest` both use it.

use crate::stage::{Stage, StageError};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};
use stockade_ingest::{LineError, UnknownEntities, check_references};
use stockade_model::clock::Clock;
use stockade_model::{Event, ReferenceData, ReferenceIndex, SiteId, SourceId};
use stockade_store::{Appended, GroupCommit, Ledger, Store, StoreError};

/// Outcome of one line or event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LineResult {
    Accepted {
        line: usize,
        seq: i64,
    },
    Duplicate {
        line: usize,
    },
    Rejected {
        line: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        field: Option<String>,
        reason: String,
    },
}

/// What happened to a batch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestReport {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// Accepted events flagged for data-quality review, by reason (the flag
    /// before its `:`, such as `unknown_door`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub flagged: std::collections::BTreeMap<String, usize>,
    pub results: Vec<LineResult>,
    /// The accepted events' seqs as inclusive runs, in order (what a load
    /// record names; not sent over HTTP).
    #[serde(skip)]
    pub runs: Vec<(i64, i64)>,
}

/// Adds a seq to inclusive runs, extending the last when it follows it.
pub(crate) fn add_to_runs(runs: &mut Vec<(i64, i64)>, seq: i64) {
    match runs.last_mut() {
        Some((_, last)) if *last + 1 == seq => *last = seq,
        _ => runs.push((seq, seq)),
    }
}

impl IngestReport {
    /// Adds another report's counts and only its rejections (what a summary
    /// of a large file needs; a million acceptances need not be kept).
    pub fn merge_rejections(&mut self, mut other: IngestReport) {
        other.results.retain(|r| matches!(r, LineResult::Rejected { .. }));
        self.merge(other);
    }

    /// Adds a report that follows this one (its lines after these).
    pub fn merge(&mut self, other: IngestReport) {
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        self.rejected += other.rejected;
        for (reason, n) in other.flagged {
            *self.flagged.entry(reason).or_default() += n;
        }
        for (first, last) in other.runs {
            match self.runs.last_mut() {
                Some((_, end)) if *end + 1 == first => *end = last,
                _ => self.runs.push((first, last)),
            }
        }
        self.results.extend(other.results);
    }
}

/// Parsed lines (or EPCIS events) by their number: an event or why there is none.
pub type Lines = Vec<(usize, Result<Event, LineError>)>;

/// A batch checked against reference data and made ready for the store
/// ([`Intake::prepare`]); [`Intake::commit_prepared`] stores it.
pub struct Prepared {
    /// Each line's result, the accepted ones' filled in by the commit.
    slots: Vec<Option<LineResult>>,
    ready: Vec<stockade_model::NewEvent>,
    /// Per ready event: its slot, its line and its flag reasons (bits over `reasons`).
    ready_lines: Vec<(usize, usize, u64)>,
    reasons: Vec<String>,
}

/// A document's events prepared in slices ([`Intake::prepare_document`]).
pub struct PreparedDocument {
    slices: Vec<Prepared>,
}

/// Events of a document stored together ([`Intake::ingest_document`]), and
/// how many such slices are in flight at once.
const DOCUMENT_SLICE: usize = 1024;
const SLICES_IN_FLIGHT: usize = 4;

/// Why an EPCIS capture failed.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(transparent)]
    Document(#[from] stockade_epcis::DocumentError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a reference import was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the reference data has problems; nothing was stored:\n  {}", .0.join("\n  "))]
    Problems(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Stage(#[from] StageError),
}

/// Reference data as the pipeline sees it: swapped whole on every import.
#[derive(Default)]
pub struct ReferenceView {
    pub data: ReferenceData,
    pub index: ReferenceIndex,
    /// GTIN and SGLN lookups for EPCIS capture.
    pub epcis: stockade_epcis::Directory,
}

/// Retractions per (source, id).
pub(crate) type Revisions = std::collections::HashMap<(String, String), u32>;

/// The pipeline. Cheap to clone.
#[derive(Clone)]
pub struct Intake {
    commit: GroupCommit,
    store: Arc<dyn Store>,
    ledger: Option<Arc<Ledger>>,
    reference: Arc<RwLock<Arc<ReferenceView>>>,
    policy: UnknownEntities,
    clock: Arc<dyn Clock>,
    stage: Stage,
    /// Retractions per (source, id): the revision the next load of that
    /// event is stored under (see [`crate::records`]).
    pub(crate) revisions: Arc<RwLock<Arc<Revisions>>>,
    /// Opens incidents (one opening at a time in this process, whoever opens).
    casebook: Arc<crate::casebook::Casebook>,
}

impl Intake {
    /// Starts the pipeline's writer over a store (and its evidence ledger,
    /// which first catches up with the store) and loads its reference data.
    pub async fn start(
        store: Arc<dyn Store>,
        ledger: Option<Arc<Ledger>>,
        clock: Arc<dyn Clock>,
        policy: UnknownEntities,
    ) -> Result<Intake, StartError> {
        if let Some(l) = &ledger {
            l.catch_up(&*store).await?;
        }
        let stage = Stage::start(store.clone()).await?;
        let intake = Intake {
            commit: GroupCommit::start_with_sink(store.clone(), ledger.clone(), Some(stage.sink()), 65_536),
            store,
            ledger,
            reference: Arc::default(),
            policy,
            clock,
            stage,
            revisions: Arc::default(),
            casebook: Arc::default(),
        };
        intake.reload_reference().await?;
        intake.reload_revisions().await?;
        intake.casebook.set_recorder(intake.recorder());
        Ok(intake)
    }

    /// The derived-state stage fed by this pipeline's commits.
    pub fn stage(&self) -> &Stage {
        &self.stage
    }

    /// The casebook incidents are opened through.
    pub fn casebook(&self) -> &Arc<crate::casebook::Casebook> {
        &self.casebook
    }

    /// Starts detection with the rules of `source` (refused whole if any
    /// rule is refused) as a consumer of the stage: it
    /// follows every commit from now on; what is stored already waits for
    /// [`crate::detection::Detection::replay`] (or the next commit).
    pub async fn start_detection(
        &self,
        source: crate::detection::RuleSource,
    ) -> Result<crate::detection::Detection, crate::detection::DetectError> {
        if let Some(d) = self.stage.detection() {
            return Ok(d.clone());
        }
        let d = crate::detection::Detection::start(
            self.store.clone(),
            self.ledger.clone(),
            self.clock.clone(),
            self.casebook.clone(),
            self.reference.clone(),
            source,
        )
        .await?;
        let _ = self.stage.attach_detection(d.clone());
        Ok(d)
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub(crate) fn commit(&self) -> &GroupCommit {
        &self.commit
    }

    /// Saves the derived state, so that the next start need not read the
    /// stored events again. Call before the store closes.
    pub async fn close(&self) -> Result<(), StageError> {
        self.stage.close().await
    }

    /// The evidence ledger events are recorded in, if any.
    pub fn ledger(&self) -> Option<&Arc<Ledger>> {
        self.ledger.as_ref()
    }

    /// The current reference data.
    pub(crate) fn reference_cell(&self) -> Arc<RwLock<Arc<ReferenceView>>> {
        self.reference.clone()
    }

    pub fn reference(&self) -> Arc<ReferenceView> {
        // The lock guards one pointer, swapped whole: a panic elsewhere
        // cannot leave it half-written, so a poisoned lock still holds the
        // last complete view (never an empty default).
        self.reference.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Re-reads reference data from the store.
    pub async fn reload_reference(&self) -> Result<(), StoreError> {
        let rows = self.store.reference(None).await?;
        let data = ReferenceData::from_rows(rows).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.stage.set_count_policies(&data.sites).map_err(|_| StoreError::Poisoned("the inventory book"))?;
        let view = Arc::new(ReferenceView {
            index: ReferenceIndex::new(&data),
            epcis: stockade_epcis::Directory::new(&data),
            data,
        });
        *self.reference.write().unwrap_or_else(std::sync::PoisonError::into_inner) = view;
        Ok(())
    }

    /// Checks a reference set against what is stored and stores it (insert or
    /// replace by kind and id). All or nothing: any problem rejects the whole set.
    pub async fn import_reference(&self, mut data: ReferenceData) -> Result<usize, ImportError> {
        data.normalize();
        let problems = data.check(&self.reference().index);
        if !problems.is_empty() {
            return Err(ImportError::Problems(problems));
        }
        let n = self.store.put_reference(&data.rows(), self.clock.now().timestamp_micros()).await?;
        self.reload_reference().await?;
        Ok(n)
    }

    /// Checks, stores and reports a batch of parsed lines. Nothing valid is
    /// dropped because of an invalid neighbour; the report follows input order.
    pub async fn ingest(&self, items: Lines) -> Result<IngestReport, StoreError> {
        let prepared = self.prepare(items);
        self.commit_prepared(prepared).await
    }

    /// What [`Intake::ingest`] does before the commit: checks each parsed
    /// line against reference data and prepares the accepted ones for the
    /// store (stamped with their receive time, serialised, hashed, their
    /// book effects derived). CPU work only, so a caller may run it on any
    /// thread, ahead of the commit ([`Intake::capture_epcis`] does).
    pub fn prepare(&self, items: impl IntoIterator<Item = (usize, Result<Event, LineError>)>) -> Prepared {
        let items = items.into_iter();
        let view = self.reference();
        let now = self.clock.now();
        let n = items.size_hint().0;
        let mut slots: Vec<Option<LineResult>> = Vec::with_capacity(n);
        let mut ready = Vec::with_capacity(n);
        let mut ready_lines = Vec::with_capacity(n);
        let mut reasons: Vec<String> = Vec::new();
        let revisions = self.revisions.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        for (line, item) in items {
            match item.and_then(|ev| check_references(line, ev, &view.index, self.policy)) {
                Ok(ev) if ev.kind().family() == stockade_model::Family::Record => {
                    slots.push(Some(LineResult::Rejected {
                        line,
                        field: Some("kind".into()),
                        reason: format!("{} events are written by Stockade only", ev.kind().as_str()),
                    }))
                }
                Ok(mut ev) => {
                    // Set here whatever the input said: a revision only
                    // follows a retraction.
                    ev.revision = if revisions.is_empty() {
                        None
                    } else {
                        revisions.get(&(ev.source.as_str().to_owned(), ev.id.as_str().to_owned())).copied()
                    };
                    // The event's flag reasons as bits over this batch's distinct
                    // reasons: no allocation per event (a flood of flagged
                    // events is what an onboarding load looks like).
                    let mut flags = 0u64;
                    for f in &ev.flags {
                        let reason = f.split(':').next().unwrap_or(f);
                        let bit = match reasons.iter().position(|r| r == reason) {
                            Some(i) => i,
                            None if reasons.len() < 63 => {
                                reasons.push(reason.to_owned());
                                reasons.len() - 1
                            }
                            None => 63,
                        };
                        flags |= 1 << bit;
                    }
                    ready.push(stockade_model::NewEvent::prepare(ev, now));
                    ready_lines.push((slots.len(), line, flags));
                    slots.push(None);
                }
                Err(e) => slots.push(Some(LineResult::Rejected { line: e.line, field: e.field, reason: e.reason })),
            }
        }
        Prepared { slots, ready, ready_lines, reasons }
    }

    /// Stores a prepared batch and reports it, lines in order.
    pub async fn commit_prepared(&self, prepared: Prepared) -> Result<IngestReport, StoreError> {
        let Prepared { mut slots, ready, ready_lines, reasons } = prepared;
        let mut report = IngestReport::default();
        let mut counted = [0u64; 64];
        let outcomes = self.commit.append(ready).await?;
        for ((slot, line, flags), outcome) in ready_lines.into_iter().zip(outcomes) {
            slots[slot] = Some(match outcome {
                Appended::Accepted(seq) => {
                    add_to_runs(&mut report.runs, seq);
                    for (bit, count) in counted.iter_mut().enumerate() {
                        *count += (flags >> bit) & 1;
                    }
                    LineResult::Accepted { line, seq }
                }
                Appended::Duplicate => LineResult::Duplicate { line },
            });
        }
        for (bit, &n) in counted.iter().enumerate().filter(|(_, n)| **n > 0) {
            let reason = reasons.get(bit).map_or("other", String::as_str);
            *report.flagged.entry(reason.to_owned()).or_default() += n as usize;
        }
        for r in slots.into_iter().flatten() {
            match r {
                LineResult::Accepted { .. } => report.accepted += 1,
                LineResult::Duplicate { .. } => report.duplicates += 1,
                LineResult::Rejected { .. } => report.rejected += 1,
            }
            report.results.push(r);
        }
        metrics::counter!("stockade_events_total", "outcome" => "accepted").increment(report.accepted as u64);
        metrics::counter!("stockade_events_total", "outcome" => "duplicate").increment(report.duplicates as u64);
        metrics::counter!("stockade_events_total", "outcome" => "rejected").increment(report.rejected as u64);
        Ok(report)
    }

    /// Validates an EPCIS 2.0 capture document (JSON-LD or XML) and ingests its events. The
    /// document is refused whole if it is not valid; after that each EPCIS
    /// event (numbered from 1 in `eventList`) gets its own results.
    pub async fn ingest_epcis(
        &self,
        bytes: Vec<u8>,
        source: &SourceId,
        default_site: Option<&SiteId>,
    ) -> Result<IngestReport, CaptureError> {
        let parsed = self.parse_epcis(bytes, source, default_site).await?;
        Ok(self.ingest_document(parsed).await?)
    }

    /// Ingests a whole document's events (an EPCIS capture) in slices, a
    /// few in flight, as a feed's batches are: one slice is prepared
    /// (serialised, hashed) while the group commit writes the one before,
    /// instead of preparing, writing and signing the whole document one
    /// stage after the other. The report is [`Intake::ingest`]'s, lines in
    /// order.
    pub async fn ingest_document(&self, items: Lines) -> Result<IngestReport, StoreError> {
        use futures::StreamExt;
        let one = futures::stream::iter([Ok::<_, StoreError>(((), self.prepare_document(items)))]);
        let mut reports = std::pin::pin!(self.ingest_documents(one));
        match reports.next().await {
            Some(r) => r.map(|((), report)| report),
            None => Ok(IngestReport::default()),
        }
    }

    /// Prepares a document's events for the store ([`Intake::prepare`]) in
    /// slices, each committed as one batch.
    pub fn prepare_document(&self, items: Lines) -> PreparedDocument {
        let mut slices = Vec::with_capacity(items.len().div_ceil(DOCUMENT_SLICE));
        let mut items = items.into_iter();
        while items.len() > 0 {
            slices.push(self.prepare(items.by_ref().take(DOCUMENT_SLICE)));
        }
        PreparedDocument { slices }
    }

    /// Ingests documents one after another, as [`Intake::ingest_document`]
    /// does each, but without draining between them: the next document's
    /// first slices are committed while the last ones of this document are
    /// written and signed. One task polls the slices in order and each
    /// queues for the group commit on its first poll, so the events commit
    /// in the order of the documents and of their lines. Each document's
    /// report comes out, in order, with the tag it went in with; an error
    /// (a document that could not be read, a store failure) comes out in
    /// its place.
    pub fn ingest_documents<'a, T, E>(
        &'a self,
        documents: impl futures::Stream<Item = Result<(T, PreparedDocument), E>> + 'a,
    ) -> impl futures::Stream<Item = Result<(T, IngestReport), E>> + 'a
    where
        T: 'a,
        E: From<StoreError> + 'a,
    {
        use futures::StreamExt;
        /// A slice of a document; the last carries the document's tag.
        struct Piece<T> {
            slice: Option<Prepared>,
            tag: Option<T>,
        }
        documents
            .flat_map(|doc| {
                let pieces: Vec<Result<Piece<T>, E>> = match doc {
                    Err(e) => vec![Err(e)],
                    Ok((tag, PreparedDocument { slices })) => {
                        let mut pieces: Vec<_> =
                            slices.into_iter().map(|slice| Ok(Piece { slice: Some(slice), tag: None })).collect();
                        match pieces.last_mut() {
                            Some(Ok(last)) => last.tag = Some(tag),
                            // An empty document has one piece, empty.
                            _ => pieces.push(Ok(Piece { slice: None, tag: Some(tag) })),
                        }
                        pieces
                    }
                };
                futures::stream::iter(pieces)
            })
            .map(move |piece| async move {
                let piece = piece?;
                let report = match piece.slice {
                    Some(slice) => self.commit_prepared(slice).await?,
                    None => IngestReport::default(),
                };
                Ok::<_, E>((piece.tag, report))
            })
            .buffered(SLICES_IN_FLIGHT)
            .scan(IngestReport::default(), |document, stored| {
                let out = match stored {
                    Err(e) => Some(Err(e)),
                    Ok((tag, report)) => {
                        document.merge(report);
                        tag.map(|tag| Ok((tag, std::mem::take(document))))
                    }
                };
                futures::future::ready(Some(out))
            })
            .filter_map(futures::future::ready)
    }

    /// Validates, maps and prepares an EPCIS 2.0 document for the store, on
    /// a blocking thread: [`Intake::parse_epcis`] then
    /// [`Intake::prepare_document`], so that a caller storing documents in
    /// order ([`Intake::ingest_documents`]) has the next ones ready, CPU
    /// work done, while the writer stores this one.
    pub async fn capture_epcis(
        &self,
        bytes: Vec<u8>,
        source: &SourceId,
        default_site: Option<&SiteId>,
    ) -> Result<PreparedDocument, CaptureError> {
        let (intake, source, site) = (self.clone(), source.clone(), default_site.cloned());
        tokio::task::spawn_blocking(move || -> Result<_, CaptureError> {
            let items = intake.map_epcis(&bytes, &source, site.as_ref())?;
            Ok(intake.prepare_document(items))
        })
        .await
        .map_err(StoreError::from)?
    }

    /// Validates and maps an EPCIS 2.0 document without storing it: its
    /// events, numbered from 1 in `eventList`, ready for [`Intake::ingest`]
    /// (so that a caller can parse the next document while this one is
    /// stored, and still store documents in order).
    pub async fn parse_epcis(
        &self,
        bytes: Vec<u8>,
        source: &SourceId,
        default_site: Option<&SiteId>,
    ) -> Result<Lines, CaptureError> {
        // Validating, hashing and mapping a document is CPU work of tens of
        // milliseconds: it runs on a blocking thread, beside the runtime's
        // workers (so documents parse in parallel, and HTTP keeps answering).
        let (intake, source, site) = (self.clone(), source.clone(), default_site.cloned());
        tokio::task::spawn_blocking(move || intake.map_epcis(&bytes, &source, site.as_ref()))
            .await
            .map_err(StoreError::from)?
            .map_err(CaptureError::from)
    }

    /// [`Intake::parse_epcis`] on the calling thread.
    fn map_epcis(
        &self,
        bytes: &[u8],
        source: &SourceId,
        site: Option<&SiteId>,
    ) -> Result<Lines, stockade_epcis::DocumentError> {
        let view = self.reference();
        // XML or JSON-LD, told by the first character. JSON is captured in
        // one pass (each event done as it is parsed).
        let mapped = if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<') {
            let doc = stockade_epcis::validate_xml(bytes)?;
            stockade_epcis::map_document(&doc, &view.epcis, source, site)
        } else {
            stockade_epcis::capture_json(bytes, &view.epcis, source, site)?
        };
        Ok(mapped.into_iter().map(|(i, r)| (i + 1, r.map_err(|reason| LineError::new(i + 1, None, reason)))).collect())
    }

    /// Parses and ingests an NDJSON body.
    pub async fn ingest_ndjson(&self, body: &[u8]) -> Result<IngestReport, StoreError> {
        let items = stockade_ingest::parse_ndjson(body, 1);
        self.ingest(items).await
    }
}

/// Parsed events held to the sites a caller may send for: an event of
/// another site becomes a rejection of its line (field `site`), the
/// others pass. No sites: every site.
pub fn within_sites(items: Lines, sites: &[String]) -> Lines {
    if sites.is_empty() {
        return items;
    }
    items
        .into_iter()
        .map(|(line, item)| match item {
            Ok(ev) if !sites.iter().any(|s| s == ev.site.as_str()) => {
                let reason = format!(
                    "site {:?} is outside the sites this caller may send events for ({})",
                    ev.site.as_str(),
                    sites.join(", ")
                );
                (line, Err(LineError::new(line, Some("site"), reason)))
            }
            other => (line, other),
        })
        .collect()
}
