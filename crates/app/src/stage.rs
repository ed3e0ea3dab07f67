//! The derived-state stage: committed events flow, in commit order, to the
//! consumers that derive state from them (the inventory book today;
//! detection, baselines and KPIs next), each with its own state and a
//! durable cursor.
//!
//! How events arrive: the group commit hands each group's [`Committed`] to
//! the stage's queue once it is durable and logged, before it answers the
//! appenders. Anything the queue did not bring (events another process
//! stored, a group stored but never acknowledged, the journal after a
//! consumer's last snapshot on start) is read back from the store: before a
//! group that does not follow the cursor, and at every barrier.
//!
//! Contract (also in ARCHITECTURE.md):
//! - A consumer sees events in seq order, and is idempotent by seq: an event
//!   at or below its cursor changes nothing. So replays may overlap, and a
//!   crash at any point shows nothing twice.
//! - A consumer's state and cursor are saved together; after a crash it
//!   resumes from its last saved cursor by reading the store after it.
//! - A read through the stage first passes a barrier: every group
//!   acknowledged before the read, and everything the store holds, is
//!   applied before the read is answered (read your writes).
//! - `rebuild` forgets a consumer's state and applies every stored event
//!   again from zero; the result equals the state kept live.

use crate::book::{Book, BookLine, BookQuery, CountLine};
use std::sync::{Arc, Mutex};
use stockade_store::{BookEffect, CommitSink, Committed, EventQuery, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Events applied between two snapshots of a consumer's state.
const SNAPSHOT_EVERY: i64 = 500_000;

/// Events read back from the store per query while catching up.
const PAGE: u32 = 50_000;

/// The consumers a rebuild can name.
pub const CONSUMERS: [&str; 1] = [Book::NAME];

/// Why the stage could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the derived-state stage stopped: {0}")]
    Stopped(String),
    #[error("no consumer {name:?} in the derived-state stage (consumers: {})", CONSUMERS.join(", "))]
    UnknownConsumer { name: String },
    #[error("detection: {0}")]
    Detection(String),
    #[error("the inventory book's lock is poisoned (a panic while applying events); restart to rebuild it")]
    Poisoned,
}

enum Msg {
    Committed(Committed),
    Barrier(oneshot::Sender<Result<(), String>>),
}

/// What the stage's task and its handles share. (The queue's sender is not
/// in it: the task ends when the last handle and sink are gone.)
struct Inner {
    store: Arc<dyn Store>,
    book: Mutex<Book>,
    /// One snapshot written at a time.
    snapshotting: tokio::sync::Mutex<()>,
    /// A background snapshot is on its way.
    saving: std::sync::atomic::AtomicBool,
}

/// The stage and its consumers. Cheap to clone.
#[derive(Clone)]
pub struct Stage {
    inner: Arc<Inner>,
    queue: mpsc::UnboundedSender<Msg>,
    /// Detection, once started: woken by each committed group, closed with the stage.
    detection: Arc<std::sync::OnceLock<crate::detection::Detection>>,
}

impl Stage {
    /// Loads each consumer's saved state, brings it up to what the store
    /// holds, and starts taking committed groups.
    pub async fn start(store: Arc<dyn Store>) -> Result<Stage, StageError> {
        let mut book = Book::load(&*store).await?;
        // Counts caught up below are applied under the sites' policies.
        let rows = store.reference(Some(stockade_model::RecordKind::Site)).await?;
        let sites = stockade_model::ReferenceData::from_rows(rows)
            .map_err(|e| StoreError::Corrupt(format!("stored site: {e}")))?
            .sites;
        book.set_count_policies(&sites);
        let retractions = crate::records::retractions(&*store).await?;
        book.set_retracted(retractions.iter().map(|(_, r)| r.retracted_seq));
        if retractions.iter().any(|(own, r)| *own > book.applied() && r.retracted_seq <= book.applied()) {
            // A retraction stored after the snapshot (a stop before the
            // rebuild that follows one): the saved book still holds what it
            // withdrew, so it is rebuilt from zero.
            tracing::info!("a retraction is newer than the saved book: rebuilding it");
            store.clear_book().await?;
            book.reset();
        }
        let (queue, rx) = mpsc::unbounded_channel();
        let stage = Stage {
            inner: Arc::new(Inner {
                store,
                book: Mutex::new(book),
                snapshotting: tokio::sync::Mutex::new(()),
                saving: std::sync::atomic::AtomicBool::new(false),
            }),
            queue,
            detection: Arc::default(),
        };
        let from = stage.book_applied()?;
        tokio::spawn(run(stage.inner.clone(), rx));
        stage.barrier().await?;
        let to = stage.book_applied()?;
        if to > from {
            tracing::info!(from, to, "the inventory book caught up with the stored events");
        }
        Ok(stage)
    }

    /// What the group commit hands committed groups to.
    pub fn sink(&self) -> CommitSink {
        let queue = self.queue.clone();
        let detection = self.detection.clone();
        Arc::new(move |c: Committed| {
            // The stage reads back from the store whatever it did not get.
            let _ = queue.send(Msg::Committed(c));
            if let Some(d) = detection.get() {
                d.wake();
            }
        })
    }

    /// Adds detection to the stage's consumers (once; later calls are refused
    /// with the detection already running).
    pub fn attach_detection(&self, d: crate::detection::Detection) -> Result<(), crate::detection::Detection> {
        self.detection.set(d)
    }

    /// Detection, if attached.
    pub fn detection(&self) -> Option<&crate::detection::Detection> {
        self.detection.get()
    }

    /// Waits until everything acknowledged before this call, and everything
    /// the store holds, is applied.
    pub async fn barrier(&self) -> Result<(), StageError> {
        let (tx, rx) = oneshot::channel();
        self.queue.send(Msg::Barrier(tx)).map_err(|_| StageError::Stopped("its task has ended".into()))?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StageError::Stopped(e)),
            Err(_) => Err(StageError::Stopped("its task has ended".into())),
        }
    }

    fn with_book<T>(&self, f: impl FnOnce(&mut Book) -> T) -> Result<T, StageError> {
        self.inner.with_book(f)
    }

    /// The sites' count-correction policies, for the counts applied from now
    /// on (a rebuild applies them to the past, from each policy's start).
    pub fn set_count_policies(&self, sites: &[stockade_model::Site]) -> Result<(), StageError> {
        self.with_book(|b| b.set_count_policies(sites))
    }

    /// The seq through which the book reflects the stored events.
    pub fn book_applied(&self) -> Result<i64, StageError> {
        self.with_book(|b| b.applied())
    }

    /// The perpetual book, current with every acknowledged event.
    pub async fn book(&self, q: &BookQuery) -> Result<Vec<BookLine>, StageError> {
        self.barrier().await?;
        self.with_book(|b| b.lines(q))
    }

    /// The latest count per place with the book as of its time, current
    /// with every acknowledged event.
    pub async fn counts(&self, q: &BookQuery) -> Result<Vec<CountLine>, StageError> {
        self.barrier().await?;
        self.with_book(|b| b.counts(q))
    }

    /// Saves every consumer's state and cursor.
    pub async fn save(&self) -> Result<(), StageError> {
        self.inner.save().await
    }

    /// Applies what is pending and saves every consumer, so that the next
    /// start need not read the store again. Call before the store closes.
    pub async fn close(&self) -> Result<(), StageError> {
        self.barrier().await?;
        self.save().await?;
        if let Some(d) = self.detection.get() {
            d.close().await.map_err(|e| StageError::Detection(e.to_string()))?;
        }
        Ok(())
    }

    /// Forgets the state of one consumer (`only`) or all of them, applies
    /// every stored event again from zero, and saves the result.
    pub async fn rebuild(&self, only: Option<&str>) -> Result<(), StageError> {
        if let Some(name) = only
            && !CONSUMERS.contains(&name)
        {
            return Err(StageError::UnknownConsumer { name: name.to_owned() });
        }
        {
            let _one = self.inner.snapshotting.lock().await;
            let retracted = crate::records::retractions(&*self.inner.store).await?;
            self.inner.store.clear_book().await?;
            self.with_book(|b| {
                b.reset();
                b.set_retracted(retracted.iter().map(|(_, r)| r.retracted_seq));
            })?;
        }
        self.barrier().await?;
        self.save().await
    }
}

impl Inner {
    fn with_book<T>(&self, f: impl FnOnce(&mut Book) -> T) -> Result<T, StageError> {
        let mut book = self.book.lock().map_err(|_| StageError::Poisoned)?;
        Ok(f(&mut book))
    }

    fn book_applied(&self) -> Result<i64, StageError> {
        self.with_book(|b| b.applied())
    }

    async fn save(&self) -> Result<(), StageError> {
        let _one = self.snapshotting.lock().await;
        let (places, slots, through, previous) = self.with_book(|b| {
            let previous = b.saved();
            let (places, slots, through) = b.take_snapshot();
            (places, slots, through, previous)
        })?;
        if let Err(e) = self.store.save_book(&places, through).await {
            self.with_book(|b| b.unsave(slots, previous))?;
            return Err(e.into());
        }
        Ok(())
    }
}

/// Reads back and applies what the store holds after the book's cursor, up
/// to `upto` (or all of it).
async fn catch_up(stage: &Inner, upto: Option<i64>) -> Result<(), StageError> {
    loop {
        let after = stage.book_applied()?;
        if upto.is_some_and(|u| after >= u) {
            return Ok(());
        }
        let q = EventQuery { after_seq: Some(after), limit: PAGE, ..Default::default() };
        let page = stage.store.events(&q).await?;
        let Some(last) = page.last().map(|e| e.seq) else { return Ok(()) };
        let last = upto.map_or(last, |u| last.min(u));
        let mut effects = Vec::new();
        for e in page.iter().filter(|e| e.seq <= last) {
            effects.extend(BookEffect::of_stored(e)?);
        }
        stage.with_book(|b| b.apply(&effects, last))?;
        if page.len() < PAGE as usize {
            return Ok(());
        }
    }
}

async fn run(stage: Arc<Inner>, mut rx: mpsc::UnboundedReceiver<Msg>) {
    while let Some(msg) = rx.recv().await {
        let done = match msg {
            Msg::Committed(c) => {
                let follows = stage.book_applied().map(|a| c.first <= a + 1);
                match follows {
                    Ok(true) => stage.with_book(|b| b.apply(&c.book, c.last)),
                    // A gap: what the queue did not bring is in the store.
                    Ok(false) => match catch_up(&stage, Some(c.first - 1)).await {
                        Ok(()) => stage.with_book(|b| b.apply(&c.book, c.last)),
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                }
            }
            Msg::Barrier(reply) => {
                let caught = catch_up(&stage, None).await;
                let _ = reply.send(caught.as_ref().map(|_| ()).map_err(|e| e.to_string()));
                caught
            }
        };
        if let Err(e) = done {
            tracing::error!(error = %e, "the derived-state stage could not apply events; reads will retry");
            continue;
        }
        use std::sync::atomic::Ordering;
        if stage.with_book(|b| b.unsaved()).is_ok_and(|n| n >= SNAPSHOT_EVERY)
            && !stage.saving.swap(true, Ordering::AcqRel)
        {
            // Written beside the stage: applying does not wait for it.
            let s = stage.clone();
            tokio::spawn(async move {
                if let Err(e) = s.save().await {
                    tracing::warn!(error = %e, "book snapshot failed; the stored events will be read again from the previous one");
                }
                s.saving.store(false, Ordering::Release);
            });
        }
    }
}
