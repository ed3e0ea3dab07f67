//! Group commit: many concurrent appends, one transaction, one fsync.
//!
//! Callers hand a batch to [`GroupCommit::append`] and wait. A single writer
//! task takes every batch waiting in its queue (up to a limit), stores them in
//! one [`Store::append`] call and answers each caller with its own outcomes.
//! While one transaction commits, the next group gathers, so the cost of the
//! fsync is shared by everything that arrived meanwhile.

use crate::{Appended, NewEvent, Result, Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

type Reply = oneshot::Sender<std::result::Result<Vec<Appended>, String>>;

struct Job {
    events: Vec<NewEvent>,
    reply: Reply,
}

/// Handle to the writer task. Cheap to clone.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the writer task. `max_group` bounds the events per transaction.
    pub fn start(store: Arc<dyn Store>, max_group: usize) -> GroupCommit {
        let (queue, rx) = mpsc::channel::<Job>(1024);
        tokio::spawn(writer(store, rx, max_group.max(1)));
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
            Ok(Err(msg)) => Err(StoreError::Corrupt(format!("group commit failed: {msg}"))),
            Err(_) => Err(StoreError::Closed),
        }
    }
}

async fn writer(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Job>, max_group: usize) {
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
        let (events, replies): (Vec<_>, Vec<_>) = if jobs.len() == 1 {
            let j = jobs.pop().map(|j| (j.events, vec![(0usize, j.reply)]));
            match j {
                Some((ev, r)) => (ev, r),
                None => continue,
            }
        } else {
            let mut all = Vec::with_capacity(total);
            let mut replies = Vec::with_capacity(jobs.len());
            for j in jobs {
                replies.push((all.len(), j.reply));
                all.extend(j.events);
            }
            (all, replies)
        };
        let started = std::time::Instant::now();
        let result = store.append(&events).await;
        tracing::debug!(
            events = events.len(),
            groups = replies.len(),
            ms = started.elapsed().as_millis() as u64,
            "group commit"
        );
        let ends: Vec<usize> = replies.iter().skip(1).map(|(s, _)| *s).chain([events.len()]).collect();
        for ((start, reply), end) in replies.into_iter().zip(ends) {
            let part = match &result {
                Ok(v) => Ok(v[start..end].to_vec()),
                Err(e) => Err(e.to_string()),
            };
            let _ = reply.send(part);
        }
    }
}
