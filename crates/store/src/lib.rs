//! Storage for Stockade: one interface ([`Store`]), drivers behind it, and the
//! group commit that makes durable ingestion fast.
//!
//! Invariants:
//! - An event is in the store exactly once per (source, id): re-sending it is
//!   reported as a duplicate and changes nothing.
//! - Stored events are never updated or deleted through this interface.
//! - [`Store::append`] returns only after the batch is durable (the journal's
//!   `fdatasync`, or an SQL commit with `synchronous=FULL`). The store keeps
//!   no derived state of its own: the inventory book (and every later
//!   projection) is kept by the derived-state stage (`stockade-app`), which
//!   saves its snapshots and cursors here.
//! - The interface carries no driver types: the same conformance suite
//!   ([`conformance`]) runs against every driver.
// One `unsafe` block, in `hashes.rs` (a read-only file map; its comment says
// why it is sound and docs/BENCHMARKS.md why it is needed); none elsewhere.
#![deny(unsafe_code)]

pub mod conformance;
mod datadir;
mod embedded;
mod group;
pub mod hashes;
pub mod journal;
pub mod ledger;
mod sql;
pub mod vault;

pub use datadir::{DataDir, Opened};
pub use embedded::EmbeddedStore;
pub use group::GroupCommit;
pub use ledger::{Ledger, SignedCheckpoint};
pub use sql::SqlStore;

use async_trait::async_trait;
use stockade_incident::IncidentRecord;
use stockade_model::{RecordKind, RecordRow};

/// Errors from a store. Each keeps its cause (`source()`); a file that
/// could not be read or written says which, and why in plain words (a full
/// disk, a permission, a read-only file system).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// Stored data that does not read back as it was written.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A file of the data directory could not be read or written.
    #[error("{what} {}: {}", .path.display(), plain(.source))]
    File {
        /// What the file belongs to: the journal, the ledger, the vault, the data directory.
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A secret (the ledger's keys) that others than its owner may read.
    #[error(
        "{} is open to other users (mode {mode:03o}); `chmod 600` it, and replace the key if others may have read it",
        .path.display()
    )]
    SecretExposed { path: std::path::PathBuf, mode: u32 },
    #[error(
        "the data directory {} is in use by another stockade process (stop it, or send to it with --server)",
        .0.display()
    )]
    Locked(std::path::PathBuf),
    /// A lock whose holder panicked: what it guards may be half-changed.
    #[error("the {0} lock is poisoned (a thread panicked while holding it); restart the process")]
    Poisoned(&'static str),
    /// Something too large to store.
    #[error("{0}")]
    TooLarge(String),
    #[error("ledger origin {0:?} must be a schema-less URL without spaces or '+'")]
    InvalidOrigin(String),
    /// A blocking task of the store panicked or was cancelled.
    #[error("a background task of the store failed")]
    Task(#[from] tokio::task::JoinError),
    /// A group commit failed: every appender of the group gets this.
    #[error("the group commit failed; nothing of the batch was acknowledged")]
    Commit(#[source] std::sync::Arc<StoreError>),
    /// A group was stored but its ledger leaves could not be made or written.
    #[error("stored, but the evidence ledger failed")]
    LedgerFailed(#[source] std::sync::Arc<StoreError>),
    /// An earlier ledger failure stops appends until a restart catches up.
    #[error("the evidence ledger could not record earlier events; restart to let it catch up")]
    LedgerStopped,
    #[error("the store is shutting down")]
    Closed,
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
}

/// An I/O error's kind in plain words, for the ones an operator can act on.
fn plain(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::StorageFull => "the disk is full",
        ErrorKind::QuotaExceeded => "the disk quota is exceeded",
        ErrorKind::PermissionDenied => "permission denied (check the owner and mode of the data directory)",
        ErrorKind::ReadOnlyFilesystem => "the file system is read-only",
        ErrorKind::NotFound => "not found",
        ErrorKind::AlreadyExists => "already exists",
        _ => "input/output error",
    }
}

impl StoreError {
    /// A file error, with what the file belongs to.
    pub fn file(what: &'static str, path: &std::path::Path, source: std::io::Error) -> StoreError {
        StoreError::File { what, path: path.to_owned(), source }
    }

    /// The whole chain of causes, for logs and messages that show one line.
    pub fn chain(&self) -> String {
        error_chain(self)
    }
}

/// An error and all its causes on one line (`outer: cause: root cause`).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Runs blocking work (file I/O, fsync) without stalling the async runtime.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

pub use stockade_model::NewEvent;

/// What happened to one event of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored now, with this sequence number.
    Accepted(i64),
    /// The same (source, id) was stored before (or earlier in the batch).
    Duplicate,
}

/// A stored event, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: i64,
    pub source: String,
    pub event_id: String,
    pub kind: String,
    pub site: String,
    pub occurred_us: i64,
    pub offset_s: i32,
    pub received_us: i64,
    pub hash: [u8; 32],
    pub payload: String,
}

/// Filter for listing events.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub site: Option<String>,
    pub kind: Option<String>,
    pub from_us: Option<i64>,
    pub to_us: Option<i64>,
    /// Only events with `seq` greater than this (for paging).
    pub after_seq: Option<i64>,
    pub limit: u32,
}

/// The book effects of one committed event: what the inventory book stage
/// applies, in commit order.
#[derive(Debug, Clone, PartialEq)]
pub struct BookEffect {
    pub seq: i64,
    pub occurred_us: i64,
    pub movements: Vec<stockade_model::book::Movement>,
    pub observation: Option<stockade_model::book::Observation>,
}

impl BookEffect {
    /// The effects of a stored event, read back from its canonical payload
    /// (catch-up and rebuilds; live events bring theirs from ingest).
    pub fn of_stored(e: &StoredEvent) -> Result<Option<BookEffect>> {
        if !e.kind.starts_with("inventory.") {
            return Ok(None);
        }
        let ev = stockade_model::Event::from_json(e.payload.as_bytes())
            .map_err(|err| StoreError::Corrupt(format!("stored event {}: {err}", e.seq)))?;
        let (movements, observation) = (stockade_model::book::movements(&ev), stockade_model::book::observation(&ev));
        Ok((!movements.is_empty() || observation.is_some()).then_some(BookEffect {
            seq: e.seq,
            occurred_us: e.occurred_us,
            movements,
            observation,
        }))
    }
}

/// Events a group commit made durable (and logged, with a ledger), in commit
/// order: the accepted seqs run from `first` to `last` (a driver may skip
/// numbers); `book` holds the effects of those that move or count stock.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Committed {
    pub first: i64,
    pub last: i64,
    pub book: Vec<BookEffect>,
}

/// Where a group commit hands what it committed, in commit order, before it
/// answers the appenders (so a reader that waits on the sink sees its own writes).
pub type CommitSink = std::sync::Arc<dyn Fn(Committed) + Send + Sync>;

/// Roles a token or a user can carry. Deny by default: a role grants only
/// what `docs/PERMISSIONS.md` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// An integration: sends events, reference data and evidence files.
    Ingest,
    /// A security analyst: reads, works incidents, contains, handles evidence.
    Analyst,
    /// Everything, including tokens, users and configuration.
    Admin,
    /// Reads, works incidents, collects and handles evidence; does not contain.
    Investigator,
    /// Reads, works incidents and contains at their sites; collects evidence.
    SiteManager,
    /// Reads and works the tasks of incidents (people's side).
    Hr,
    /// Reads and works the tasks of incidents (vendors' side).
    VendorManager,
    /// Reads everything, the audit trail and evidence included; changes nothing.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::Analyst,
        Role::Investigator,
        Role::SiteManager,
        Role::Hr,
        Role::VendorManager,
        Role::Auditor,
        Role::Ingest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
            Role::Investigator => "investigator",
            Role::SiteManager => "site_manager",
            Role::Hr => "hr",
            Role::VendorManager => "vendor_manager",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The role names, for messages.
    pub fn names() -> String {
        Role::ALL.map(Role::as_str).join(", ")
    }
}

/// An API token as stored: only the SHA-256 of its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub id: String,
    pub secret_hash: [u8; 32],
    pub role: Role,
    pub name: String,
    pub created_us: i64,
    pub revoked_us: Option<i64>,
    /// When it stops working by itself, if ever.
    pub expires_us: Option<i64>,
    /// The sites it is limited to; empty: every site.
    pub sites: Vec<String>,
}

impl TokenRecord {
    /// Whether it works at `now_us`: not revoked, and not yet expired.
    pub fn live_at(&self, now_us: i64) -> bool {
        self.revoked_us.is_none() && self.expires_us.is_none_or(|at| now_us < at)
    }
}

/// A person who signs in to the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    /// Argon2id, as a PHC string; the password itself is never stored.
    pub password_hash: String,
    pub role: Role,
    /// The sites the user is limited to; empty: every site.
    pub sites: Vec<String>,
    pub created_us: i64,
    /// Disabled users cannot sign in, and their sessions end.
    pub disabled_us: Option<i64>,
}

/// A signed-in session: only the SHA-256 of its cookie's secret is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    pub secret_hash: [u8; 32],
    pub user: String,
    pub created_us: i64,
    pub expires_us: i64,
    pub revoked_us: Option<i64>,
}

impl SessionRecord {
    /// Whether it works at `now_us`: not ended, and not yet expired.
    pub fn live_at(&self, now_us: i64) -> bool {
        self.revoked_us.is_none() && now_us < self.expires_us
    }
}

/// The storage interface. Every driver passes [`conformance`].
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a batch in one transaction and returns one outcome per input,
    /// in input order. Durable when it returns.
    async fn append(&self, batch: &[NewEvent]) -> Result<Vec<Appended>>;

    /// Reads events in sequence order.
    async fn events(&self, q: &EventQuery) -> Result<Vec<StoredEvent>>;

    /// The sequence number and event time (µs) of the events `q` matches,
    /// in sequence order: what [`Store::events`] returns, without the
    /// events (a pass that only plans what to read, such as a replay's).
    async fn event_times(&self, q: &EventQuery) -> Result<Vec<(i64, i64)>> {
        Ok(self.events(q).await?.into_iter().map(|e| (e.seq, e.occurred_us)).collect())
    }

    /// Closes the store's connections. Call once, last, before the process
    /// exits (after the derived-state stage has saved its state); never
    /// needed for durability (an append is durable when it returns).
    async fn close(&self) {}

    /// Number of stored events.
    async fn event_count(&self) -> Result<i64>;

    /// Inserts or replaces reference records; returns how many were written.
    async fn put_reference(&self, rows: &[RecordRow], now_us: i64) -> Result<usize>;

    /// Every reference record, or those of one kind.
    async fn reference(&self, kind: Option<RecordKind>) -> Result<Vec<RecordRow>>;

    /// The last saved snapshot of the inventory book and the seq through
    /// which it reflects the events (0 and an empty book when none).
    async fn load_book(&self) -> Result<(stockade_model::book::InventoryBook, i64)>;

    /// Saves places of the inventory book and the seq through which the
    /// book reflects the events, in one transaction (places not given keep
    /// their saved state).
    async fn save_book(
        &self,
        places: &[(stockade_model::book::Place, stockade_model::book::PlaceState)],
        through: i64,
    ) -> Result<()>;

    /// Forgets the saved book (a rebuild from zero starts here).
    async fn clear_book(&self) -> Result<()>;

    async fn put_token(&self, t: &TokenRecord) -> Result<()>;

    /// The token with this secret hash, unless revoked. (Expiry is the
    /// caller's to check: it depends on the clock.)
    async fn token_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<TokenRecord>>;

    /// Every token, revoked ones included, oldest first. (A record holds its
    /// secret's hash only; revoking is `put_token` with `revoked_us` set.)
    async fn tokens(&self) -> Result<Vec<TokenRecord>>;

    /// Creates a user, or replaces its password hash, role, sites and
    /// disabled time (never its creation time).
    async fn put_user(&self, u: &UserRecord) -> Result<()>;

    async fn user(&self, name: &str) -> Result<Option<UserRecord>>;

    /// Every user, by name.
    async fn users(&self) -> Result<Vec<UserRecord>>;

    /// Stores a session, or records that it ended (`revoked_us`).
    async fn put_session(&self, s: &SessionRecord) -> Result<()>;

    /// The session whose secret hashes to this, if not ended (it may have
    /// expired: the caller checks [`SessionRecord::live_at`]).
    async fn session_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<SessionRecord>>;

    /// Ends every session of `user` still open; how many.
    async fn end_sessions(&self, user: &str, now_us: i64) -> Result<u64>;

    /// Records a collected evidence item and the first entry of its custody
    /// chain (`collected`), with their ledger leaves, in one transaction.
    async fn add_evidence(&self, e: &StoredEvidence, first: &StoredCustody) -> Result<()>;

    /// One evidence item.
    async fn evidence(&self, id: &str) -> Result<Option<StoredEvidence>>;

    /// The evidence items of an incident, oldest first.
    async fn incident_evidence(&self, incident: &str) -> Result<Vec<StoredEvidence>>;

    /// Appends audit record `n`; [`StoreError::Conflict`] if `n` exists.
    async fn add_audit(&self, a: &StoredAudit) -> Result<()>;

    /// Audit records after `after`, in order.
    async fn audit(&self, after: u64, limit: u32) -> Result<Vec<StoredAudit>>;

    /// The number of the last audit record (0 when there is none).
    async fn last_audit(&self) -> Result<u64>;

    /// How many unexpired items have this file (files are shared by content).
    async fn live_evidence_with_file(&self, sha256: &str) -> Result<u64>;

    /// Unexpired items whose retention window ended at or before `now_us`.
    async fn evidence_due(&self, now_us: i64) -> Result<Vec<StoredEvidence>>;

    /// Appends a custody entry. Refused with [`StoreError::Conflict`] when
    /// entry `n` exists already (someone else acted first). An `expired`
    /// entry also marks the item expired.
    async fn add_custody(&self, c: &StoredCustody) -> Result<()>;

    /// An item's chain of custody, in order.
    async fn custody(&self, evidence: &str) -> Result<Vec<StoredCustody>>;

    /// Which of these events, by (source, id), are stored; one answer per key.
    async fn has_events(&self, keys: &[(&str, &str)]) -> Result<Vec<bool>>;

    /// Records incident `n`; [`StoreError::Conflict`] if `n` exists.
    async fn add_incident(&self, i: &IncidentRecord) -> Result<()>;

    /// One incident, by id.
    async fn incident(&self, id: &str) -> Result<Option<IncidentRecord>>;

    /// Incidents numbered after `q.after`, in order.
    async fn incidents(&self, q: &IncidentQuery) -> Result<Vec<IncidentRecord>>;

    /// The number of the last incident (0 when there is none).
    async fn last_incident(&self) -> Result<u64>;

    /// Records an entry of an incident's timeline; [`StoreError::Conflict`]
    /// if the incident already has an entry with its number.
    async fn add_timeline(&self, e: &StoredEntry) -> Result<()>;

    /// The timelines of incidents `first..=last`, by incident then entry.
    async fn timelines(&self, first: u64, last: u64) -> Result<Vec<StoredEntry>>;

    /// Queues a webhook delivery; [`StoreError::Conflict`] if its id, or its
    /// idempotency key to its endpoint, exists.
    async fn add_delivery(&self, d: &Delivery) -> Result<()>;

    /// Replaces a delivery's state (by id); [`StoreError::NotFound`] if none.
    async fn update_delivery(&self, d: &Delivery) -> Result<()>;

    /// Deliveries that pass `q`, soonest `next_us` first.
    async fn deliveries(&self, q: &DeliveryQuery) -> Result<Vec<Delivery>>;

    /// A stage consumer's saved state and the seq through which it
    /// reflects the events, if it saved any.
    async fn load_state(&self, name: &str) -> Result<Option<(i64, String)>>;

    /// Saves a stage consumer's state and cursor together (replacing the last).
    async fn save_state(&self, name: &str, cursor: i64, state: &str) -> Result<()>;

    /// Records alerts and the incidents their cases opened, in one
    /// transaction; [`StoreError::Conflict`] if an alert's `n` exists.
    async fn add_alerts(&self, alerts: &[StoredAlert], cases: &[(u64, String)]) -> Result<()>;

    /// Alerts numbered after `q.after` that pass the filter, in order, each
    /// with the incident its case opened (if it has).
    async fn alerts(&self, q: &AlertQuery) -> Result<Vec<(StoredAlert, Option<String>)>>;

    /// The number of the last alert (0 when there is none).
    async fn last_alert(&self) -> Result<u64>;

    /// Records what an analyst made of alert `t.n` (replacing what was).
    async fn put_triage(&self, t: &AlertTriage) -> Result<()>;

    /// The triage of the alerts numbered `first..=last` that have one, by number.
    async fn triage(&self, first: u64, last: u64) -> Result<Vec<AlertTriage>>;
}

/// Where an alert stands with the analysts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriageStatus {
    /// Someone is looking at it.
    Taken,
    /// Judged not worth an incident, with a reason.
    Dismissed,
    /// Back in the queue.
    Reopened,
    /// Made into an incident by an analyst.
    Escalated,
}

impl TriageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TriageStatus::Taken => "taken",
            TriageStatus::Dismissed => "dismissed",
            TriageStatus::Reopened => "reopened",
            TriageStatus::Escalated => "escalated",
        }
    }

    pub fn parse(s: &str) -> Option<TriageStatus> {
        [TriageStatus::Taken, TriageStatus::Dismissed, TriageStatus::Reopened, TriageStatus::Escalated]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// An alert's triage: the latest act on it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AlertTriage {
    pub n: u64,
    pub status: TriageStatus,
    /// Who has it (taken).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub actor: String,
    pub at_us: i64,
    /// The incident it was escalated into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
}

/// An alert as stored: numbered, with its case; `record` is its JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    pub n: u64,
    pub seq: i64,
    pub site: String,
    pub rule: String,
    pub at_us: i64,
    pub case_n: u64,
    pub record: String,
    /// Who and what it names, as (kind, id): `person`, `badge`, `door`...
    pub entities: Vec<(String, String)>,
}

/// Filter for listing alerts.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    pub site: Option<String>,
    pub rule: Option<String>,
    pub from_us: Option<i64>,
    pub to_us: Option<i64>,
    pub case: Option<u64>,
    /// Only alerts that name this entity, as (kind, id).
    pub entity: Option<(String, String)>,
    /// Only alerts whose case opened this incident.
    pub incident: Option<String>,
    /// Only alerts numbered after this (for paging).
    pub after: u64,
    pub limit: u32,
}

/// Filter for listing incidents.
#[derive(Debug, Clone, Default)]
pub struct IncidentQuery {
    pub site: Option<String>,
    /// Only incidents numbered after this (for paging).
    pub after: u64,
    pub limit: u32,
}

/// An evidence record as stored, with its leaf.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvidence {
    pub record: stockade_evidence::EvidenceRecord,
    pub leaf_index: u64,
    pub expired_us: Option<i64>,
}

/// An audit record as stored, with its leaf.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAudit {
    pub record: stockade_evidence::AuditRecord,
    pub leaf_index: u64,
}

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Out of attempts: on the dead-letter list until an operator replays it.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }
}

/// A webhook delivery: what is sent where, and how it went.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Delivery {
    pub id: String,
    pub endpoint: String,
    /// The same across retries and replays: receivers deduplicate on it.
    pub idempotency_key: String,
    /// The incident it acts for.
    pub incident: String,
    /// The JSON body sent, byte for byte.
    pub body: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// Next attempt (pending), else when it was settled (µs).
    pub next_us: i64,
    pub created_us: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it was delivered (µs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_us: Option<i64>,
}

/// Filter for listing deliveries.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    pub status: Option<DeliveryStatus>,
    /// Only those whose `next_us` is at or before this.
    pub due_by_us: Option<i64>,
    pub id: Option<String>,
    pub limit: u32,
}

/// An entry of an incident's timeline as stored, with the leaf of the
/// audit record that commits to it (none when the instance keeps no ledger).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    /// The incident's number.
    pub incident: u64,
    pub entry: stockade_respond::Entry,
    pub leaf_index: Option<u64>,
}

/// A custody record as stored, with its leaf.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCustody {
    pub record: stockade_evidence::CustodyRecord,
    pub leaf_index: u64,
}
