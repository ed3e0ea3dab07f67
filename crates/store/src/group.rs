//! Group commit: many concurrent appends, one transaction, one fsync.
//!
//! Callers hand a batch to [`GroupCommit::append`] and wait. A single writer
//! task takes every batch waiting in its queue (up to a limit), stores them in
//! one [`Store::append`] call and answers each caller with its own outcomes.
//! While one transaction commits, the next group gathers, so the cost of the
//! fsync is shared by everything that arrived meanwhile.
//!
//! With a [`Ledger`], the writer takes from each stored group only what its
//! leaves need (seq, time, hashes; the payloads are freed), and a second
//! stage makes the records (salts, commitments, leaf hashes, batched),
//! writes them (one write for every group waiting) and adds them to the
//! tree, and only then answers: an event is acknowledged when it is durable
//! and its leaf is in the log. The records get no `fdatasync` of their own:
//! the store's sync of the group is their write-ahead log, and the next
//! checkpoint syncs them (the ledger module says why that is enough).
//! The writer is ingest's one serial step, so the ledger's
//! hashing runs beside it, not in it (docs/BENCHMARKS.md measures the gain).
//! The stages overlap (the store writes group N+1 while the ledger records
//! group N) and the ledger stage takes groups in order, so leaves follow `seq`.
//! If the ledger fails, every later append is refused until a restart, whose
//! [`Ledger::catch_up`] gives the stored events their leaves: the log never
//! skips an event.

use crate::ledger::Prepared;
use crate::{Appended, BookEffect, CommitSink, Committed, Ledger, NewEvent, Result, Store, StoreError, blocking};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// A group's outcome, shared by every appender in it.
type Outcome = std::result::Result<Vec<Appended>, Arc<StoreError>>;

type Reply = oneshot::Sender<Outcome>;

struct Job {
    events: Vec<NewEvent>,
    reply: Reply,
}

/// A stored group waiting for its leaves: what its accepted events' records
/// are made of, taken by the writer (the events themselves are freed once stored).
struct Stored {
    prepared: Prepared,
    /// How many events the group held (accepted or not), for the replies.
    total: usize,
    outcome: Outcome,
    replies: Vec<(usize, Reply)>,
    /// What the group committed, for the sink, once its leaves are in.
    committed: Option<Committed>,
}

/// Emptied record batches, handed back by the ledger stage for the writer
/// to refill: a fresh batch per group cost page faults (each is megabytes).
#[derive(Clone, Default)]
struct Spares(Arc<Mutex<Vec<Prepared>>>);

impl Spares {
    /// At most this many batches wait for reuse: about as many as groups can
    /// be in flight (the ledger stage's queue of 4, plus the groups it is
    /// writing). Each keeps room for at most 65,536 records and the events
    /// they are made of (`Batch::reset`, `Prepared::take_events`), about
    /// 12 MB, so the spares hold at most about 100 MB after a burst of the
    /// largest groups (a few MB at the group sizes a busy server sees).
    const KEEP: usize = 8;

    fn take(&self) -> Prepared {
        self.0.lock().ok().and_then(|mut spare| spare.pop()).unwrap_or_default()
    }

    fn give_back(&self, p: Prepared) {
        if let Ok(mut spare) = self.0.lock()
            && spare.len() < Self::KEEP
        {
            spare.push(p);
        }
    }
}

/// Handle to the writer task. Cheap to clone.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the writer task. `max_group` bounds the events per transaction.
    pub fn start(store: Arc<dyn Store>, max_group: usize) -> GroupCommit {
        GroupCommit::start_with_ledger(store, None, max_group)
    }

    /// Starts the writer, and the ledger stage when there is a ledger.
    pub fn start_with_ledger(store: Arc<dyn Store>, ledger: Option<Arc<Ledger>>, max_group: usize) -> GroupCommit {
        GroupCommit::start_with_sink(store, ledger, None, max_group)
    }

    /// [`GroupCommit::start_with_ledger`], handing each group's [`Committed`]
    /// to `sink` in commit order, once durable (and logged), before the
    /// appenders are answered.
    pub fn start_with_sink(
        store: Arc<dyn Store>,
        ledger: Option<Arc<Ledger>>,
        sink: Option<CommitSink>,
        max_group: usize,
    ) -> GroupCommit {
        let (queue, rx) = mpsc::channel::<Job>(1024);
        let failed = Arc::new(AtomicBool::new(false));
        let spares = Spares::default();
        let next = ledger.map(|ledger| {
            let (tx, stored) = mpsc::channel::<Stored>(4);
            tokio::spawn(ledger_stage(ledger.clone(), stored, failed.clone(), spares.clone(), sink.clone()));
            (ledger, tx)
        });
        tokio::spawn(writer(store, rx, max_group.max(1), next, failed, spares, sink));
        GroupCommit { queue }
    }

    /// Appends a batch; returns when it is durable.
    pub async fn append(&self, events: Vec<NewEvent>) -> Result<Vec<Appended>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.queue.send(Job { events, reply }).await.map_err(|_| StoreError::Closed)?;
        match answer.await {
            Ok(Ok(v)) => Ok(v),
            // The ledger's refusals speak for themselves; a store's failure is the group commit's.
            Ok(Err(e)) => match &*e {
                StoreError::LedgerFailed(_) | StoreError::LedgerStopped => Err(unshare(e)),
                _ => Err(StoreError::Commit(e)),
            },
            Err(_) => Err(StoreError::Closed),
        }
    }
}

/// What a stored group committed: its accepted seqs and the book effects
/// of those that move or count stock (moved out of the events, which are
/// not needed for them any more).
fn committed_of(events: &mut [NewEvent], outcome: &[Appended]) -> Option<Committed> {
    let mut c = Committed { first: i64::MAX, last: i64::MIN, book: Vec::new() };
    for (e, a) in events.iter_mut().zip(outcome) {
        let Appended::Accepted(seq) = *a else { continue };
        c.first = c.first.min(seq);
        c.last = c.last.max(seq);
        if !e.movements.is_empty() || e.observation.is_some() {
            c.book.push(BookEffect {
                seq,
                occurred_us: e.occurred_us,
                movements: std::mem::take(&mut e.movements),
                observation: e.observation.take(),
            });
        }
    }
    (c.first <= c.last).then_some(c)
}

fn hand_over(sink: &Option<CommitSink>, committed: Option<Committed>) {
    if let (Some(sink), Some(c)) = (sink, committed) {
        sink(c);
    }
}

/// The error of a shared outcome, as the one appender that holds it last
/// sees it (its own copy when others still hold it).
fn unshare(e: Arc<StoreError>) -> StoreError {
    match Arc::try_unwrap(e) {
        Ok(e) => e,
        Err(shared) => match &*shared {
            StoreError::LedgerStopped => StoreError::LedgerStopped,
            StoreError::LedgerFailed(cause) => StoreError::LedgerFailed(cause.clone()),
            _ => StoreError::Commit(shared),
        },
    }
}

fn answer(outcome: &Outcome, replies: Vec<(usize, Reply)>, total: usize) {
    let ends: Vec<usize> = replies.iter().skip(1).map(|(s, _)| *s).chain([total]).collect();
    for ((start, reply), end) in replies.into_iter().zip(ends) {
        let part = match outcome {
            Ok(v) => Ok(v[start..end].to_vec()),
            Err(e) => Err(e.clone()),
        };
        let _ = reply.send(part);
    }
}

async fn writer(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Job>,
    max_group: usize,
    ledger: Option<(Arc<Ledger>, mpsc::Sender<Stored>)>,
    failed: Arc<AtomicBool>,
    spares: Spares,
    sink: Option<CommitSink>,
) {
    while let Some(job) = rx.recv().await {
        let mut jobs = vec![job];
        let mut total = jobs[0].events.len();
        while total < max_group {
            match rx.try_recv() {
                Ok(j) => {
                    total += j.events.len();
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        let mut replies = Vec::with_capacity(jobs.len());
        // One job keeps its own vector; several are moved into one sized for
        // all (growing the first job's vector reallocated and copied it over
        // and over: a tenth of ingest's page faults).
        let mut events = match <[Job; 1]>::try_from(jobs) {
            Ok([j]) => {
                replies.push((0, j.reply));
                j.events
            }
            Err(jobs) => {
                let mut events = Vec::with_capacity(total);
                for j in jobs {
                    replies.push((events.len(), j.reply));
                    events.extend(j.events);
                }
                events
            }
        };
        if failed.load(Ordering::Acquire) {
            answer(&Err(Arc::new(StoreError::LedgerStopped)), replies, events.len());
            continue;
        }
        let started = std::time::Instant::now();
        let outcome = store.append(&events).await.map_err(Arc::new);
        tracing::debug!(
            events = events.len(),
            groups = replies.len(),
            ms = started.elapsed().as_millis() as u64,
            "group commit"
        );
        let committed = match (&sink, &outcome) {
            (Some(_), Ok(stored)) => committed_of(&mut events, stored),
            _ => None,
        };
        match (&ledger, &outcome) {
            (Some((_, next)), Ok(stored)) => {
                // The writer only takes what the leaves need; the ledger
                // stage hashes and writes them, beside the next group's store.
                let mut prepared = spares.take();
                prepared.take_events(&mut events, stored);
                let stored = Stored { prepared, total: events.len(), outcome, replies, committed };
                drop(events);
                if let Err(mpsc::error::SendError(s)) = next.send(stored).await {
                    answer(&Err(Arc::new(StoreError::LedgerStopped)), s.replies, s.total);
                }
            }
            _ => {
                hand_over(&sink, committed);
                answer(&outcome, replies, events.len())
            }
        }
    }
}

async fn ledger_stage(
    ledger: Arc<Ledger>,
    mut rx: mpsc::Receiver<Stored>,
    failed: Arc<AtomicBool>,
    spares: Spares,
    sink: Option<CommitSink>,
) {
    while let Some(first) = rx.recv().await {
        // Groups that stored while the last ones were recorded share this one's write.
        let mut groups = vec![first];
        while groups.len() < 8 {
            match rx.try_recv() {
                Ok(g) => groups.push(g),
                Err(_) => break,
            }
        }
        if failed.load(Ordering::Acquire) {
            for g in groups {
                answer(&Err(Arc::new(StoreError::LedgerStopped)), g.replies, g.total);
            }
            continue;
        }
        let mut prepared: Vec<&mut Prepared> = groups.iter_mut().map(|g| &mut g.prepared).collect();
        let result = blocking(|| {
            for p in prepared.iter_mut() {
                ledger.prepare(p)?;
            }
            prepared.retain(|p| !p.is_empty());
            if prepared.is_empty() { Ok(0) } else { ledger.commit_prepared(&mut prepared) }
        });
        for g in &mut groups {
            spares.give_back(std::mem::take(&mut g.prepared));
        }
        match result {
            Ok(_) => {
                for g in groups {
                    hand_over(&sink, g.committed);
                    answer(&g.outcome, g.replies, g.total);
                }
            }
            Err(e) => {
                failed.store(true, Ordering::Release);
                tracing::error!(error = %e.chain(), "the evidence ledger failed; refusing appends until restart");
                let failed = Arc::new(StoreError::LedgerFailed(Arc::new(e)));
                for g in groups {
                    answer(&Err(failed.clone()), g.replies, g.total);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmbeddedStore;
    use crate::ledger::Fault;

    fn ev(i: i64) -> NewEvent {
        let payload = format!(r#"{{"id":"e{i}"}}"#);
        NewEvent {
            source: "acs".into(),
            event_id: format!("e{i}"),
            kind: "access.granted",
            site: "S".into(),
            occurred_us: i,
            offset_s: 0,
            received_us: i,
            hash: stockade_model::Event::digest(payload.as_bytes()),
            payload,
            movements: vec![],
            observation: None,
            epcis_hash: None,
        }
    }

    /// A fresh embedded store and ledger in a temporary directory, and a
    /// group commit over both.
    async fn with_ledger() -> (tempfile::TempDir, Arc<dyn Store>, Arc<Ledger>, GroupCommit) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open_dir(dir.path()).await.unwrap());
        let ledger = Arc::new(Ledger::open(&dir.path().join("ledger"), "stockade.test/l").unwrap());
        let gc = GroupCommit::start_with_ledger(store.clone(), Some(ledger.clone()), 1000);
        (dir, store, ledger, gc)
    }

    /// The ledger failing under a group: the group is stored but not
    /// acknowledged, later appends are refused (nothing is stored without
    /// its leaf), and a restart's catch-up gives the stored events leaves.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_ledger_failure_refuses_appends_until_the_restart_catches_up() {
        let (dir, store, ledger, gc) = with_ledger().await;
        gc.append((1..=2).map(ev).collect()).await.unwrap();

        ledger.fail_next_write(Fault { bytes: 30, cut_fails: false });
        let err = gc.append((3..=4).map(ev).collect()).await.unwrap_err();
        assert!(err.to_string().contains("stored, but the evidence ledger failed"), "{err}");
        let err = gc.append((5..=6).map(ev).collect()).await.unwrap_err();
        assert!(err.to_string().contains("restart to let it catch up"), "{err}");
        assert_eq!(store.event_count().await.unwrap(), 4, "the refused group was not stored");
        assert_eq!((ledger.size(), ledger.last_event_seq()), (2, 2));
        drop(gc);

        let ledger = Ledger::open(&dir.path().join("ledger"), "ignored").unwrap();
        assert_eq!(ledger.catch_up(&*store).await.unwrap(), 2);
        assert_eq!((ledger.event_leaf(3), ledger.event_leaf(4)), (Some(2), Some(3)));
        let gc = GroupCommit::start_with_ledger(store.clone(), Some(Arc::new(ledger)), 1000);
        assert_eq!(gc.append((5..=6).map(ev).collect()).await.unwrap(), [Appended::Accepted(5), Appended::Accepted(6)]);
    }

    /// A full disk under the group commit says so, through every layer: the
    /// appender is told the group failed and why, nothing of it is stored,
    /// and a retry stores it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_disk_says_so_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let embedded = Arc::new(EmbeddedStore::open_dir(dir.path()).await.unwrap());
        let store: Arc<dyn Store> = embedded.clone();
        let gc = GroupCommit::start(store.clone(), 1000);
        gc.append(vec![ev(1)]).await.unwrap();
        embedded.journal().fail_next_write(std::io::ErrorKind::StorageFull);
        let err = gc.append((2..=3).map(ev).collect()).await.unwrap_err();
        assert!(matches!(err, StoreError::Commit(_)), "{err:?}");
        let chain = err.chain();
        assert!(
            chain.starts_with("the group commit failed; nothing of the batch was acknowledged: journal "),
            "{chain}"
        );
        assert!(chain.contains(": the disk is full"), "{chain}");
        assert!(!chain.contains("corrupt"), "{chain}");
        assert_eq!(store.event_count().await.unwrap(), 1);
        assert_eq!(gc.append((2..=3).map(ev).collect()).await.unwrap(), [Appended::Accepted(2), Appended::Accepted(3)]);
        let denied = StoreError::file("vault", std::path::Path::new("/v"), std::io::ErrorKind::PermissionDenied.into());
        assert!(denied.to_string().contains("vault /v: permission denied"), "{denied}");
    }

    /// A group whose records cannot be made (here a CBV hash that is not
    /// one, which intake never produces) fails in the ledger stage like a
    /// failed write: stored, not acknowledged, later appends refused.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_that_cannot_be_made_fail_the_group_and_stop_appends() {
        let (_dir, store, ledger, gc) = with_ledger().await;
        let mut bad = ev(1);
        bad.epcis_hash = Some("ni:///sha-256;not-hex?ver=CBV2.0".into());
        let err = gc.append(vec![bad]).await.unwrap_err();
        assert!(err.to_string().contains("stored, but the evidence ledger failed"), "{err}");
        let err = gc.append(vec![ev(2)]).await.unwrap_err();
        assert!(err.to_string().contains("restart to let it catch up"), "{err}");
        assert_eq!((store.event_count().await.unwrap(), ledger.size()), (1, 0));
    }
}
