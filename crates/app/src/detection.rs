//! Detection as a consumer of the derived-state stage: it reads committed
//! events in seq order (the same path live, as groups commit, and in batch,
//! `stockade detect`), runs the detector of `stockade-detect`, stores its
//! alerts, and opens the incidents its cases reach through the casebook
//! (numbered, audited in the ledger), as `stockade-detect`.
//!
//! Incidents are opened (and alerts joining them recorded) by an incident
//! desk on its own task, in the order detection hands them over, so that
//! detection goes on while one opens; [`Detection::catch_up`] and
//! [`Detection::replay`] wait for it.
//!
//! Contract (the stage's): idempotent by seq; state and cursor saved
//! together (every [`SAVE_EVERY`] events and on close, once the desk has
//! opened every incident handed over before); after a crash it resumes from the saved cursor, and since the
//! detector is deterministic the replay raises the same alerts (numbered
//! alike: those already stored are not stored again) and reaches the same
//! cases (a case that already opened its incident opens none again).

use crate::casebook::Casebook;
use crate::intake::ReferenceView;
use std::sync::{Arc, RwLock};
use stockade_detect::{Detector, Opening, Pack, RuleError, RuleFile};
use stockade_incident::{EventRef, NewIncident, Severity};
use stockade_model::clock::Clock;
use stockade_store::{AlertQuery, EventQuery, Ledger, Store, StoreError, StoredAlert};
use tokio::sync::mpsc;

/// The consumer's name in the store.
pub const NAME: &str = "detect";
/// Who opens the incidents detection finds (in the audit trail).
pub const ACTOR: &str = "stockade-detect";
/// Events applied between two saves of the detector's state.
pub const SAVE_EVERY: i64 = 250_000;
const PAGE: u32 = 20_000;

/// The rule pack built into the binary (`rules/` in the repository).
pub const BUILTIN_RULES: &[(&str, &str)] = &[
    ("rules/access.yml", include_str!("../../../rules/access.yml")),
    ("rules/video.yml", include_str!("../../../rules/video.yml")),
    ("rules/inventory.yml", include_str!("../../../rules/inventory.yml")),
    ("rules/identity.yml", include_str!("../../../rules/identity.yml")),
    ("rules/asset.yml", include_str!("../../../rules/asset.yml")),
];

/// Reads every `*.yml` / `*.yaml` file under `dir` (sorted, recursively).
pub fn read_rules(dir: &std::path::Path) -> std::io::Result<Vec<RuleFile>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                out.push(RuleFile { path: p.display().to_string(), text: std::fs::read_to_string(&p)? });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Where the rules come from: read at start and again at each reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSource {
    /// The pack built into the binary.
    Builtin,
    /// Every `*.yml` / `*.yaml` file under a directory.
    Dir(std::path::PathBuf),
}

impl RuleSource {
    /// Reads and checks the pack: the rules that load, and each refusal.
    pub fn load(&self) -> Result<(Pack, Vec<RuleError>, String), DetectError> {
        let files: Vec<RuleFile> = match self {
            RuleSource::Builtin => {
                BUILTIN_RULES.iter().map(|(p, t)| RuleFile { path: (*p).to_owned(), text: (*t).to_owned() }).collect()
            }
            RuleSource::Dir(d) => read_rules(d).map_err(|e| DetectError::ReadRules(format!("{}: {e}", d.display())))?,
        };
        let digest = pack_digest(&files);
        let (pack, errors) = Pack::parse(&files);
        Ok((pack, errors, digest))
    }

    /// The pack whole, with its digest, or every refusal: a pack with any
    /// refused rule never runs (checked before a load stores anything).
    pub fn load_whole(&self) -> Result<(Pack, String), DetectError> {
        let (pack, errors, digest) = self.load()?;
        if !errors.is_empty() {
            return Err(DetectError::Refused(errors));
        }
        Ok((pack, digest))
    }
}

impl std::fmt::Display for RuleSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuleSource::Builtin => f.write_str("the built-in rule pack"),
            RuleSource::Dir(d) => write!(f, "the rule pack {}", d.display()),
        }
    }
}

/// SHA-256 over the pack's files (each path and text, length-prefixed), hex:
/// which rules were in force, as the audit trail records it.
fn pack_digest(files: &[RuleFile]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for f in files {
        for part in [f.path.as_bytes(), f.text.as_bytes()] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
    }
    hex::encode(h.finalize())
}

/// What a reload put in force.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reloaded {
    /// Where the rules were read.
    pub source: String,
    /// Rules in force now.
    pub rules: usize,
    /// SHA-256 of the pack's files.
    pub sha256: String,
}

/// Why detection could not go on.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("reading rules: {0}")]
    ReadRules(String),
    #[error("{} rule(s) refused:\n{}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Refused(Vec<RuleError>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("opening an incident: {0}")]
    Case(#[from] crate::casebook::CaseError),
    #[error("the detector's saved state cannot be read ({0}): it is damaged or from another version of Stockade")]
    State(String),
    #[error("{0}")]
    Period(String),
}

/// Events applied per chunk: their alerts are stored when the chunk is done.
const READY_CHUNK: usize = 256;

/// A stored event read back for the detector (None: it does not parse, and
/// is skipped with a warning).
struct Ready {
    seq: i64,
    received_us: i64,
    event: Option<stockade_model::Event>,
}

impl Ready {
    /// The stored form is the model's serialisation of the event: read
    /// straight into the event (rules read its members in place), not
    /// into a JSON tree first.
    fn of(stored: &stockade_store::StoredEvent) -> Ready {
        let event = match stockade_model::Event::read_json(stored.payload.as_bytes()) {
            Ok(event) => Some(event),
            Err(e) => {
                tracing::warn!(seq = stored.seq, error = %e, "a stored event does not parse; detection skips it");
                None
            }
        };
        Ready { seq: stored.seq, received_us: stored.received_us, event }
    }
}

/// What applying events gathers before it is stored.
#[derive(Default)]
struct Batch {
    rows: Vec<StoredAlert>,
    /// Receipt times of the live events applied, and whether each raised an alert.
    live: Vec<(i64, bool)>,
    /// For the desk, in order: openings, and alerts joining cases that
    /// have an incident (or will have, by the openings before them).
    jobs: Vec<Job>,
}

struct Running {
    detector: Detector,
    cursor: i64,
    /// Where a bounded replay stopped, if one did (saved with the state).
    held: Option<Held>,
    /// Alerts numbered so far.
    alerts: u64,
    /// The last alert number the store holds (a replay skips those).
    stored_alerts: u64,
    unsaved: i64,
    /// The save under way behind the detector, if any.
    saving: Option<tokio::task::JoinHandle<Result<(), DetectError>>>,
    reference: Arc<ReferenceView>,
    /// Whether each case has an incident (opened, or handed to the desk to
    /// open), as far as looked up; read back from the store after a restart.
    has_incident: std::collections::HashMap<u64, bool>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    alerts: u64,
    detector: stockade_detect::State,
    /// Where a replay bounded in event time stopped, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    held: Option<Held>,
}

/// Where a replay bounded in event time (`stockade detect --to`) stopped:
/// of the stored events after the cursor, those through seq `upto` that
/// happened before `before_us` have been examined, and no other. The next
/// replay that is not bounded goes on from there in event-time order;
/// until then, events that commit wait (they come after the bound in event
/// time, or are examined as late ones when it goes on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Held {
    upto: i64,
    before_us: i64,
}

impl Held {
    /// Whether a stored event after the cursor has been examined.
    fn examined(held: Option<Held>, seq: i64, occurred_us: i64) -> bool {
        held.is_some_and(|h| seq <= h.upto && occurred_us < h.before_us)
    }
}

/// Which stored events a replay examines, by event time (µs): events
/// before `from_us` are learned from (context, the book, baselines,
/// correlation windows) but raise nothing; events from `to_us` on are left
/// for a later replay. Unbounded: every stored event not yet examined,
/// each judged in full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    pub from_us: Option<i64>,
    pub to_us: Option<i64>,
}

struct Inner {
    source: RuleSource,
    store: Arc<dyn Store>,
    ledger: Option<Arc<Ledger>>,
    clock: Arc<dyn Clock>,
    reference: Arc<RwLock<Arc<ReferenceView>>>,
    running: tokio::sync::Mutex<Running>,
    /// The cursor as last published by the desk (incidents included): read
    /// without waiting for a catch-up.
    through: Arc<std::sync::atomic::AtomicI64>,
    /// When this stage started (µs, the clock's): events received since are
    /// live, and their event-to-alert latency is measured.
    started_us: i64,
    /// Where incidents are opened and joined, behind detection.
    desk: mpsc::UnboundedSender<Job>,
}

/// Work for the incident desk, done in the order handed over.
enum Job {
    /// Open the incident of a case that reached the bar (unless it has one).
    Open(Box<Opening>),
    /// Record alerts that joined case's incident (its alerts are stored).
    Join(u64, Vec<crate::response::JoinedAlert>),
    /// Detection has applied the stored events through this seq: published
    /// once the jobs handed over before it are done, so that a reader of
    /// [`Detection::through`] finds their incidents open.
    Through(i64),
    /// Everything handed over before is done: how many incidents the desk
    /// has opened, and its first error since the last settle.
    Settle(tokio::sync::oneshot::Sender<(u64, Option<DetectError>)>),
}

/// The incident desk: opens the incidents detection's cases reach and
/// records the alerts that join them, on its own task, in the order
/// handed over, so that detection goes on meanwhile (opening one is an
/// audited ledger entry, an evidence snapshot and a playbook: tens of
/// milliseconds). Its alerts are stored before a job is handed over; a
/// save of the detector's state waits for every job handed over before it
/// (a state saved never runs ahead of the incidents its cases opened).
struct Desk {
    store: Arc<dyn Store>,
    ledger: Option<Arc<Ledger>>,
    clock: Arc<dyn Clock>,
    casebook: Arc<Casebook>,
    /// Where [`Job::Through`] is published.
    through: Arc<std::sync::atomic::AtomicI64>,
    /// The incident each case opened, as far as known.
    incident_of_case: std::collections::HashMap<u64, String>,
    /// Incidents opened since it started.
    opened: u64,
    error: Option<DetectError>,
}

impl Desk {
    fn start(
        store: Arc<dyn Store>,
        ledger: Option<Arc<Ledger>>,
        clock: Arc<dyn Clock>,
        casebook: Arc<Casebook>,
        through: Arc<std::sync::atomic::AtomicI64>,
    ) -> mpsc::UnboundedSender<Job> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let mut desk = Desk {
            store,
            ledger,
            clock,
            casebook,
            through,
            incident_of_case: std::collections::HashMap::new(),
            opened: 0,
            error: None,
        };
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                let done = match job {
                    Job::Open(o) => desk.open(*o).await,
                    Job::Join(case, alerts) => desk.join(case, alerts).await,
                    Job::Through(seq) => {
                        desk.through.fetch_max(seq, std::sync::atomic::Ordering::AcqRel);
                        Ok(())
                    }
                    Job::Settle(reply) => {
                        let _ = reply.send((desk.opened, desk.error.take()));
                        Ok(())
                    }
                };
                if let Err(e) = done {
                    tracing::error!(error = %e, "detection's incident desk failed a job");
                    desk.error.get_or_insert(e);
                }
            }
        });
        tx
    }

    async fn open(&mut self, o: Opening) -> Result<(), DetectError> {
        if self.incident(o.case).await?.is_some() {
            return Ok(());
        }
        let seen = o.events.iter().filter_map(|e| Some(((e.source.clone(), e.id.clone()), e.seq?))).collect();
        let record = self
            .casebook
            .open_seen(&*self.store, self.ledger.as_ref(), &*self.clock, ACTOR, incident_of(&o), &seen)
            .await?;
        tracing::info!(incident = %record.id, case = o.case, title = %o.title, "detection opened an incident");
        self.opened += 1;
        // The case's link: its alerts, stored and to come, name the incident.
        self.store.add_alerts(&[], &[(o.case, record.id.clone())]).await?;
        self.incident_of_case.insert(o.case, record.id);
        Ok(())
    }

    async fn join(&mut self, case: u64, alerts: Vec<crate::response::JoinedAlert>) -> Result<(), DetectError> {
        let Some(id) = self.incident(case).await? else {
            return Err(DetectError::Store(StoreError::Corrupt(format!(
                "alerts joined case {case}, which has no incident"
            ))));
        };
        self.casebook.joined(&*self.store, self.ledger.as_ref(), &*self.clock, ACTOR, &id, &alerts).await.map_err(|e| {
            match e {
                crate::response::ResponseError::Store(s) => DetectError::Store(s),
                other => DetectError::Store(StoreError::Corrupt(format!("alerts joining {id}: {other}"))),
            }
        })
    }

    /// The incident case `case` opened, if it has.
    async fn incident(&mut self, case: u64) -> Result<Option<String>, DetectError> {
        if let Some(id) = self.incident_of_case.get(&case) {
            return Ok(Some(id.clone()));
        }
        if self.incident_of_case.len() > 100_000 {
            self.incident_of_case.clear();
        }
        let q = AlertQuery { case: Some(case), limit: 1, ..Default::default() };
        let id = self.store.alerts(&q).await?.into_iter().find_map(|(_, inc)| inc);
        if let Some(id) = &id {
            self.incident_of_case.insert(case, id.clone());
        }
        Ok(id)
    }
}

/// What one catch-up did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub events: u64,
    /// Of those, events before a period's start: learned from, raising nothing.
    pub learned: u64,
    pub alerts: u64,
    pub incidents: u64,
}

/// How far a replay has come, for whoever shows it
/// ([`Detection::replay_watched`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replaying {
    /// The events the replay examines in event-time order (as stored when
    /// it started; what commits meanwhile comes after).
    pub total: u64,
    /// Of those, examined so far.
    pub done: u64,
    /// The event time reached (µs).
    pub at_us: i64,
    /// Alerts raised so far.
    pub alerts: u64,
}

/// A rule in force, as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleInForce {
    pub name: String,
    /// Its Sigma `id` (a UUID).
    pub id: String,
    pub title: String,
    pub level: &'static str,
    /// Where it was read.
    pub file: String,
    pub line: usize,
    /// `detection`, `correlation` or `absence`.
    pub kind: &'static str,
    /// Feeds correlations and absences only; raises no alert of its own.
    pub building_block: bool,
}

/// An instant (µs) in RFC 3339, UTC.
fn rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us).map_or_else(|| us.to_string(), |t| t.to_rfc3339())
}

fn clock_now_us(clock: &dyn Clock) -> i64 {
    clock.now().timestamp_micros()
}

/// Seconds from an event's receipt (its commit's clock) to when detection
/// had applied it and stored its alerts (an incident its case opens
/// follows; the alert names it once it has): for every
/// live event (`stockade_event_detected_seconds`), and for those that
/// raised an alert (`stockade_event_to_alert_seconds`). Prometheus
/// summaries on `GET /metrics` (p50, p90, p99...).
pub const DETECTED_SECONDS: &str = "stockade_event_detected_seconds";
pub const ALERT_SECONDS: &str = "stockade_event_to_alert_seconds";

/// The detection consumer. Cheap to clone.
#[derive(Clone)]
pub struct Detection {
    inner: Arc<Inner>,
    wake: mpsc::UnboundedSender<()>,
}

fn severity(level: &str) -> Severity {
    match level {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "low" | "informational" => Severity::Low,
        _ => Severity::Medium,
    }
}

fn incident_of(o: &Opening) -> NewIncident {
    let mut summary = o.summary.clone();
    if summary.len() > 9_000 {
        let mut cut = 9_000;
        while !summary.is_char_boundary(cut) {
            cut -= 1;
        }
        summary.truncate(cut);
        summary.push_str("\n(more alerts: GET /api/v1/alerts?case=...)");
    }
    let mut title = o.title.clone();
    if title.chars().count() > 200 {
        title = title.chars().take(200).collect();
    }
    NewIncident {
        site: o.site.clone(),
        title,
        severity: severity(&o.level),
        scenario: None,
        summary,
        from: o.from,
        to: o.to,
        entities: o.entities.iter().take(stockade_incident::MAX_ENTITIES).cloned().collect(),
        events: o
            .events
            .iter()
            .take(stockade_incident::MAX_EVENTS)
            .map(|e| EventRef { source: e.source.clone(), id: e.id.clone() })
            .collect(),
        rules: o.rules.iter().take(100).cloned().collect(),
        detected_at: Some(o.detected_at),
    }
}

impl Detection {
    /// Loads the rules (refusing a pack with any refused rule) and the saved
    /// state (or starts empty), and starts the task that follows commits.
    /// Call [`Detection::wake`] when events commit.
    pub async fn start(
        store: Arc<dyn Store>,
        ledger: Option<Arc<Ledger>>,
        clock: Arc<dyn Clock>,
        casebook: Arc<Casebook>,
        reference: Arc<RwLock<Arc<ReferenceView>>>,
        source: RuleSource,
    ) -> Result<Detection, DetectError> {
        let (pack, _) = source.load_whole()?;
        let view = reference.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let (detector, cursor, alerts, held) = match store.load_state(NAME).await? {
            Some((cursor, json)) => {
                let saved: Saved = serde_json::from_str(&json).map_err(|e| DetectError::State(e.to_string()))?;
                (Detector::resume(pack, &view.data, saved.detector), cursor, saved.alerts, saved.held)
            }
            None => (Detector::new(pack, &view.data), 0, 0, None),
        };
        let stored_alerts = store.last_alert().await?;
        let started_us = clock_now_us(&*clock);
        let through = Arc::new(std::sync::atomic::AtomicI64::new(cursor));
        let desk = Desk::start(store.clone(), ledger.clone(), clock.clone(), casebook, through.clone());
        let inner = Arc::new(Inner {
            source,
            store,
            ledger,
            clock,
            reference,
            running: tokio::sync::Mutex::new(Running {
                detector,
                cursor,
                held,
                alerts,
                stored_alerts,
                unsaved: 0,
                saving: None,
                reference: view,
                has_incident: std::collections::HashMap::new(),
            }),
            through,
            started_us,
            desk,
        });
        let (wake, mut rx) = mpsc::unbounded_channel::<()>();
        let task = inner.clone();
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                // Many wake-ups while busy are one catch-up.
                while rx.try_recv().is_ok() {}
                if let Err(e) = task.catch_up().await {
                    tracing::error!(error = %e, "detection could not apply events; it retries on the next commit");
                }
            }
        });
        Ok(Detection { inner, wake })
    }

    /// The seq through which detection has applied the stored events and
    /// opened the incidents they call for (read without waiting for a
    /// catch-up under way).
    pub fn through(&self) -> i64 {
        self.inner.through.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Events were committed: detection reads them soon.
    pub fn wake(&self) {
        let _ = self.wake.send(());
    }

    /// Applies every stored event after the cursor now, and waits for the
    /// incidents it opens.
    pub async fn catch_up(&self) -> Result<Progress, DetectError> {
        let before = self.inner.settle().await?;
        let mut p = self.inner.catch_up().await?;
        p.incidents = self.inner.settle().await? - before;
        Ok(p)
    }

    /// Replays history: every stored event not yet examined (all of them
    /// on a first start, a load's, what a bounded replay left) in
    /// event-time order (a day at a time, ties by seq), as a live run that
    /// received each event when it happened would have seen them, whatever
    /// order files were loaded in; then what committed meanwhile, in seq
    /// order.
    pub async fn replay(&self) -> Result<Progress, DetectError> {
        self.replay_period(Period::default()).await
    }

    /// [`Detection::replay`] over a period of event time
    /// (`stockade detect --from --to`): the stored events not yet examined
    /// that happened before `to_us` (all of them without it), in event-time
    /// order, those before `from_us` learned from only. What happened from
    /// `to_us` on is left for the next replay, which goes on from there (a
    /// bound earlier than one a replay already reached is refused); events
    /// that commit meanwhile wait for it.
    pub async fn replay_period(&self, period: Period) -> Result<Progress, DetectError> {
        self.replay_watched(period, None).await
    }

    /// [`Detection::replay_period`], telling `watch` how far it has come
    /// as each chunk of events is applied (a progress bar's figures).
    pub async fn replay_watched(
        &self,
        period: Period,
        watch: Option<&tokio::sync::watch::Sender<Replaying>>,
    ) -> Result<Progress, DetectError> {
        if let (Some(f), Some(t)) = (period.from_us, period.to_us)
            && f >= t
        {
            return Err(DetectError::Period("the period's end must be after its start".into()));
        }
        let before = self.inner.settle().await?;
        let mut p = self.inner.replay(period, watch).await?;
        p.incidents = self.inner.settle().await? - before;
        Ok(p)
    }

    /// Where a replay bounded in event time stopped (µs), if detection is
    /// held there.
    pub async fn held_at(&self) -> Option<i64> {
        self.inner.running.lock().await.held.map(|h| h.before_us)
    }

    /// Reads the rules again from where they came from and puts them in
    /// force from the next event on, keeping what detection learned, its
    /// open cases and the correlation windows of rules that kept their id.
    /// A pack with any refused rule changes nothing (the rules in force keep
    /// running) and comes back as [`DetectError::Refused`], each refusal
    /// with its file, line and reason. A reload that takes is recorded in
    /// the audit trail as `rules_reloaded` by `actor`.
    pub async fn reload(&self, actor: &str) -> Result<Reloaded, DetectError> {
        let inner = &self.inner;
        let (pack, sha256) = inner.source.load_whole().inspect_err(|e| {
            tracing::warn!(error = %e, "rule reload refused; the rules in force keep running");
        })?;
        let reloaded = Reloaded { source: inner.source.to_string(), rules: pack.rules.len(), sha256 };
        let mut r = inner.running.lock().await;
        if let Some(ledger) = &inner.ledger {
            crate::audit::record(&*inner.store, ledger, &*inner.clock, "rules_reloaded", actor, &reloaded).await?;
        }
        let reference = r.reference.clone();
        r.detector.reload(pack, &reference.data);
        tracing::info!(rules = reloaded.rules, source = %reloaded.source, "rules reloaded");
        Ok(reloaded)
    }

    /// The rules in force: each rule's name, title, level and whether it is
    /// a correlation, an absence or a building block.
    pub async fn rules(&self) -> Vec<RuleInForce> {
        let r = self.inner.running.lock().await;
        r.detector
            .pack()
            .rules
            .values()
            .map(|i| RuleInForce {
                name: i.id.clone(),
                id: i.uuid.clone(),
                title: i.title.clone(),
                level: stockade_detect::detector::level_name(i.level),
                file: i.file.clone(),
                line: i.line,
                kind: if i.correlation {
                    "correlation"
                } else if i.absence.is_some() {
                    "absence"
                } else {
                    "detection"
                },
                building_block: i.building_block,
            })
            .collect()
    }

    /// Catches up and saves the state. Call before the store closes.
    pub async fn close(&self) -> Result<(), DetectError> {
        self.inner.catch_up().await?;
        let mut r = self.inner.running.lock().await;
        if r.unsaved == 0 {
            // Nothing applied since the last save (a replay saves as it
            // ends): that save, once done, is the state.
            self.inner.saved(&mut r).await?;
            return self.inner.settle().await.map(|_| ());
        }
        self.inner.save(&mut r).await
    }
}

impl Inner {
    async fn save(&self, r: &mut Running) -> Result<(), DetectError> {
        self.saved(r).await?;
        let saving = self.save_behind(r);
        saving.await.map_err(|e| DetectError::State(format!("saving: {e}")))?
    }

    /// Starts saving the state as it is now, behind the detector: the
    /// state is copied here, then written out (JSON, hundreds of
    /// milliseconds for a month of learning) and stored on other threads,
    /// so that events keep flowing meanwhile. One save at a time, in order:
    /// the previous one is waited for first ([`Inner::saved`]).
    fn save_behind(&self, r: &mut Running) -> tokio::task::JoinHandle<Result<(), DetectError>> {
        let saved = Saved { alerts: r.alerts, detector: r.detector.state(), held: r.held };
        let (store, cursor) = (self.store.clone(), r.cursor);
        r.unsaved = 0;
        // The incidents its cases opened are opened before it is stored.
        let (settle, settled) = tokio::sync::oneshot::channel();
        let handed = self.desk.send(Job::Settle(settle)).is_ok();
        tokio::spawn(async move {
            let desk = if handed { settled.await.ok() } else { None };
            match desk {
                Some((_, None)) => {}
                Some((_, Some(e))) => return Err(e),
                None => return Err(DetectError::State("the incident desk has stopped".into())),
            }
            let json = tokio::task::spawn_blocking(move || serde_json::to_string(&saved))
                .await
                .map_err(|e| DetectError::State(format!("saving: {e}")))?
                .map_err(|e| DetectError::State(e.to_string()))?;
            store.save_state(NAME, cursor, &json).await?;
            Ok(())
        })
    }

    /// Waits for the save under way, if any.
    async fn saved(&self, r: &mut Running) -> Result<(), DetectError> {
        match r.saving.take() {
            Some(saving) => saving.await.map_err(|e| DetectError::State(format!("saving: {e}")))?,
            None => Ok(()),
        }
    }

    async fn replay(
        &self,
        period: Period,
        watch: Option<&tokio::sync::watch::Sender<Replaying>>,
    ) -> Result<Progress, DetectError> {
        let mut r = self.running.lock().await;
        let mut progress = self.replay_locked(&mut r, period, watch).await?;
        if period.to_us.is_none() {
            let rest = self.catch_up_locked(&mut r).await?;
            progress.events += rest.events;
            progress.alerts += rest.alerts;
        }
        Ok(progress)
    }

    /// The stored events not yet examined (all of them on a first start; a
    /// file load's; what a bounded replay left) that happened before the
    /// period's end, in event-time order (ties by seq).
    async fn replay_locked(
        &self,
        r: &mut Running,
        period: Period,
        watch: Option<&tokio::sync::watch::Sender<Replaying>>,
    ) -> Result<Progress, DetectError> {
        let held = r.held;
        if let (Some(h), Some(to)) = (held, period.to_us)
            && to < h.before_us
        {
            return Err(DetectError::Period(format!(
                "detection has already examined the stored events that happened before {}: a period cannot end \
                 earlier",
                rfc3339(h.before_us)
            )));
        }
        self.fresh_reference(r);
        let cursor = r.cursor;
        let to = period.to_us.unwrap_or(i64::MAX);
        // The span of event time to read, the last seq, how many events
        // the replay examines, and whether any is left for later, in one pass.
        let (mut first, mut last, mut upto, mut left) = (i64::MAX, i64::MIN, cursor, false);
        let mut total = 0u64;
        loop {
            let q = EventQuery { after_seq: Some(upto), limit: PAGE * 5, ..Default::default() };
            // Their times only: this pass plans what the replay reads.
            let page = self.store.event_times(&q).await?;
            for &(_, occurred_us) in page.iter().filter(|(seq, us)| !Held::examined(held, *seq, *us)) {
                if occurred_us >= to {
                    left = true;
                } else {
                    total += 1;
                    first = first.min(occurred_us);
                    last = last.max(occurred_us);
                }
            }
            let Some(l) = page.last().map(|e| e.0) else { break };
            upto = l;
            if page.len() < (PAGE * 5) as usize {
                break;
            }
        }
        let mut progress = Progress::default();
        const DAY: i64 = 86_400_000_000;
        // A day is read (on other threads) while the day before is applied.
        let read_day = |from: i64| {
            let store = self.store.clone();
            tokio::spawn(async move {
                // After the cursor: a load into a long history reads its
                // own events back, not every day's whole history.
                let q = EventQuery {
                    after_seq: Some(cursor),
                    from_us: Some(from),
                    to_us: Some(from + DAY),
                    limit: u32::MAX,
                    ..Default::default()
                };
                let mut day: Vec<stockade_store::StoredEvent> = store
                    .events(&q)
                    .await?
                    .into_iter()
                    .filter(|e| e.seq <= upto && e.occurred_us < to && !Held::examined(held, e.seq, e.occurred_us))
                    .collect();
                day.sort_by_key(|e| (e.occurred_us, e.seq));
                // Read back here too, beside the detector (which has a
                // core of its own while a replay reads ahead).
                tokio::task::spawn_blocking(move || day.iter().map(Ready::of).collect::<Vec<Ready>>())
                    .await
                    .map_err(|e| StoreError::Corrupt(format!("reading events back: {e}")))
            })
        };
        let mut from = first;
        let mut next = (first <= last).then(|| read_day(from));
        while let Some(reading) = next.take() {
            let day = reading.await.map_err(|e| DetectError::State(format!("reading events: {e}")))??;
            from += DAY;
            if from <= last {
                next = Some(read_day(from));
            }
            // A day's alerts are stored together (a chunk's at a time, a
            // month's replay stored hundreds of small transactions).
            let mut batch = Batch::default();
            for chunk in day.chunks(READY_CHUNK) {
                let at_us = chunk.last().and_then(|e| e.event.as_ref()).map(|e| e.occurred_at.timestamp_micros());
                self.gather(r, chunk.iter(), &mut progress, period.from_us, &mut batch).await?;
                if let (Some(w), Some(at_us)) = (watch, at_us) {
                    w.send_replace(Replaying { total, done: progress.events, at_us, alerts: progress.alerts });
                }
            }
            self.store_batch(r, batch).await?;
            // Freed off the detector's core, as the day was read (the
            // seed-41 month's replay about 5% faster).
            drop(tokio::task::spawn_blocking(move || drop(day)));
        }
        if left {
            r.held = Some(Held { upto, before_us: to });
        } else {
            r.cursor = r.cursor.max(upto);
            r.held = None;
        }
        self.publish(r.cursor);
        // Saved unless nothing changed (a replay with nothing to examine).
        if r.unsaved > 0 || r.held != held || r.cursor != cursor {
            self.save(r).await?;
        }
        Ok(progress)
    }

    /// The reference data as it is now, if it changed.
    fn fresh_reference(&self, r: &mut Running) {
        let view = self.reference.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        if !Arc::ptr_eq(&view, &r.reference) {
            r.detector.set_reference(&view.data);
            r.reference = view;
        }
    }

    async fn catch_up(&self) -> Result<Progress, DetectError> {
        let mut r = self.running.lock().await;
        self.catch_up_locked(&mut r).await
    }

    /// The stored events after the cursor, in seq order; nothing while a
    /// bounded replay holds detection (the next replay goes on).
    async fn catch_up_locked(&self, r: &mut Running) -> Result<Progress, DetectError> {
        let mut progress = Progress::default();
        if r.held.is_some() {
            return Ok(progress);
        }
        self.fresh_reference(r);
        loop {
            let q = EventQuery { after_seq: Some(r.cursor), limit: PAGE, ..Default::default() };
            let page = self.store.events(&q).await?;
            let Some(last) = page.last().map(|e| e.seq) else { break };
            self.apply_stored(r, &page, &mut progress, None).await?;
            r.cursor = last;
            self.publish(last);
            if r.unsaved >= SAVE_EVERY {
                self.saved(r).await?;
                r.saving = Some(self.save_behind(r));
            }
            if page.len() < PAGE as usize {
                break;
            }
        }
        Ok(progress)
    }

    /// [`Inner::apply`] over stored events, a chunk at a time, so that the
    /// alerts of a long catch-up are stored (and their latency measured) as
    /// each chunk is done, not when the whole page is. (Reading the chunk
    /// ahead on another thread was tried for a catch-up: no faster, more
    /// CPU, the events and their fields freed across threads. A replay's
    /// days are read back ahead, a whole day on the thread that reads it:
    /// a month's replay 11% faster.)
    async fn apply_stored(
        &self,
        r: &mut Running,
        events: &[stockade_store::StoredEvent],
        progress: &mut Progress,
        learn_before: Option<i64>,
    ) -> Result<(), DetectError> {
        for chunk in events.chunks(READY_CHUNK) {
            // Read back as each is applied, not the chunk first: a chunk
            // of events read ahead no longer fits in the cache.
            self.apply(r, chunk.iter().map(Ready::of), progress, learn_before).await?;
        }
        Ok(())
    }

    /// Runs events through the detector, stores their alerts, and hands the
    /// incidents its cases reach (and the alerts joining open ones) to the
    /// incident desk. Events that happened before `learn_before` are
    /// learned from and raise nothing ([`Detector::learn`]).
    async fn apply(
        &self,
        r: &mut Running,
        events: impl Iterator<Item = impl std::borrow::Borrow<Ready> + Send> + Send,
        progress: &mut Progress,
        learn_before: Option<i64>,
    ) -> Result<(), DetectError> {
        let mut batch = Batch::default();
        self.gather(r, events, progress, learn_before, &mut batch).await?;
        self.store_batch(r, batch).await
    }

    /// [`Inner::apply`] without storing: the alerts and the desk's work
    /// gather in `batch` (a replay stores a day's at a time).
    async fn gather(
        &self,
        r: &mut Running,
        events: impl Iterator<Item = impl std::borrow::Borrow<Ready> + Send> + Send,
        progress: &mut Progress,
        learn_before: Option<i64>,
        batch: &mut Batch,
    ) -> Result<(), DetectError> {
        let Batch { rows, live, jobs } = batch;
        if r.has_incident.len() > 100_000 {
            r.has_incident.clear();
        }
        for stored in events {
            let stored: &Ready = stored.borrow();
            progress.events += 1;
            r.unsaved += 1;
            let Some(event) = &stored.event else { continue };
            // Stockade's own records about the log are not signals (its
            // containments are: what they close is watched).
            if event.body.kind().family() == stockade_model::event::Family::Record
                && event.body.kind() != stockade_model::EventKind::RecordContainment
            {
                continue;
            }
            let out = if learn_before.is_some_and(|f| event.occurred_at.timestamp_micros() < f) {
                progress.learned += 1;
                r.detector.learn(stored.seq, event)
            } else {
                r.detector.observe(stored.seq, event)
            };
            if stored.received_us >= self.started_us {
                live.push((stored.received_us, !out.alerts.is_empty()));
            }
            for (alert, case) in out.alerts {
                r.alerts += 1;
                if r.alerts <= r.stored_alerts {
                    continue;
                }
                progress.alerts += 1;
                if self.has_incident(r, case).await? {
                    let joined = crate::response::JoinedAlert {
                        n: r.alerts,
                        rule: alert.rule.clone(),
                        entities: alert.entities.iter().map(|e| e.id.clone()).collect(),
                        events: std::iter::once(&alert.event)
                            .chain(&alert.related)
                            .map(|e| EventRef { source: e.source.clone(), id: e.id.clone() })
                            .collect(),
                    };
                    let same = jobs.iter_mut().rev().find_map(|j| match j {
                        Job::Join(c, list) if *c == case => Some(list),
                        _ => None,
                    });
                    match same {
                        Some(list) => list.push(joined),
                        None => jobs.push(Job::Join(case, vec![joined])),
                    }
                }
                rows.push(StoredAlert {
                    n: r.alerts,
                    seq: alert.seq,
                    site: alert.site.clone(),
                    rule: alert.rule.clone(),
                    at_us: alert.at.timestamp_micros(),
                    case_n: case,
                    record: serde_json::to_string(&alert).map_err(|e| DetectError::State(e.to_string()))?,
                    entities: alert.entities.iter().map(|e| (e.kind.clone(), e.id.clone())).collect(),
                });
            }
            for o in out.openings {
                if self.has_incident(r, o.case).await? {
                    continue;
                }
                r.has_incident.insert(o.case, true);
                jobs.push(Job::Open(Box::new(o)));
            }
        }
        Ok(())
    }

    /// Stores a batch's alerts, then hands its work to the desk.
    async fn store_batch(&self, r: &mut Running, mut batch: Batch) -> Result<(), DetectError> {
        if !batch.rows.is_empty() {
            self.store.add_alerts(&batch.rows, &[]).await?;
        }
        r.stored_alerts = r.stored_alerts.max(r.alerts);
        self.published(&mut batch.live);
        // Stored first: each job names alerts the store holds.
        for job in batch.jobs {
            self.desk.send(job).map_err(|_| DetectError::State("the incident desk has stopped".into()))?;
        }
        Ok(())
    }

    /// Detection has applied the stored events through `seq`: the desk
    /// publishes it once the incidents they call for are open.
    fn publish(&self, seq: i64) {
        if self.desk.send(Job::Through(seq)).is_err() {
            tracing::error!("the incident desk has stopped; detection's progress is not published");
        }
    }

    /// Waits until the desk has done every job handed over so far: the
    /// number of incidents it has opened, or its first error since the
    /// last settle.
    async fn settle(&self) -> Result<u64, DetectError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.desk.send(Job::Settle(tx)).map_err(|_| DetectError::State("the incident desk has stopped".into()))?;
        let (opened, error) = rx.await.map_err(|_| DetectError::State("the incident desk has stopped".into()))?;
        match error {
            Some(e) => Err(e),
            None => Ok(opened),
        }
    }

    /// Records the latency of live events whose alerts are now stored
    /// (receipt times, and whether each raised an alert), and forgets them.
    fn published(&self, live: &mut Vec<(i64, bool)>) {
        if live.is_empty() {
            return;
        }
        let now = clock_now_us(&*self.clock);
        let (detected, alerted) = (metrics::histogram!(DETECTED_SECONDS), metrics::histogram!(ALERT_SECONDS));
        for (received, raised) in live.drain(..) {
            let seconds = (now - received).max(0) as f64 / 1e6;
            detected.record(seconds);
            if raised {
                alerted.record(seconds);
            }
        }
    }

    /// Whether case `case` has an incident, opened or handed to the desk
    /// (looked up once).
    async fn has_incident(&self, r: &mut Running, case: u64) -> Result<bool, DetectError> {
        if let Some(known) = r.has_incident.get(&case) {
            return Ok(*known);
        }
        let q = AlertQuery { case: Some(case), limit: 1, ..Default::default() };
        let has = self.store.alerts(&q).await?.into_iter().any(|(_, inc)| inc.is_some());
        // Not opened yet: set when an opening is handed over.
        r.has_incident.insert(case, has);
        Ok(has)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The desk's refusals reach whoever settles next, once: an alert
    /// joining a case that has no incident, and an opening the casebook
    /// refuses (a site nobody imported); nothing is counted as opened, and
    /// the desk keeps taking jobs after them, publishing progress.
    #[tokio::test]
    async fn the_desks_failures_come_back_at_the_next_settle() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(stockade_store::SqlStore::open_file(&dir.path().join("desk.db")).await.unwrap());
        let clock: Arc<dyn Clock> = Arc::new(stockade_model::clock::SystemClock);
        let through = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let desk = Desk::start(store, None, clock, Arc::new(Casebook::default()), through.clone());
        let settle = || async {
            let (tx, rx) = tokio::sync::oneshot::channel();
            desk.send(Job::Settle(tx)).unwrap();
            rx.await.unwrap()
        };
        desk.send(Job::Join(7, vec![])).unwrap();
        let (opened, error) = settle().await;
        assert_eq!(opened, 0);
        assert!(error.unwrap().to_string().contains("case 7, which has no incident"));
        assert!(settle().await.1.is_none(), "an error is reported once");
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-02T22:00:00+01:00").unwrap();
        let opening = Opening {
            case: 1,
            site: "NOWHERE".into(),
            title: "Cage entered after hours".into(),
            level: "high".into(),
            summary: "one badge, one door".into(),
            from: at,
            to: at,
            detected_at: at,
            entities: vec!["B1".into()],
            events: vec![],
            rules: vec!["cage-after-hours".into()],
        };
        desk.send(Job::Open(Box::new(opening))).unwrap();
        let (opened, error) = settle().await;
        assert_eq!(opened, 0);
        let error = error.expect("the casebook refuses an unknown site").to_string();
        assert!(error.contains("NOWHERE"), "{error}");
        // Progress is published in the desk's order, and never goes back.
        desk.send(Job::Through(9)).unwrap();
        desk.send(Job::Through(4)).unwrap();
        settle().await;
        assert_eq!(through.load(std::sync::atomic::Ordering::Acquire), 9);
    }

    /// Detection reads events straight from their stored form, and rules
    /// read their members in place: on every event of a simulated week
    /// (EPCIS documents included) the event read back must be the event
    /// stored, and its members the stored JSON object's.
    #[test]
    fn events_read_back_are_the_events_stored() {
        let cfg = stockade_twin::sim::Config {
            sites: 1,
            days: 7,
            seed: 5,
            start: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            per_scenario: 1,
            epcis: true,
            csv: false,
            scenarios: Vec::new(),
        };
        let sim = stockade_twin::sim::simulate(&cfg).unwrap();
        let mut events: Vec<stockade_model::Event> = sim
            .feeds
            .iter()
            .flat_map(|(_, feed)| stockade_ingest::parse_ndjson(feed.as_bytes(), 1))
            .map(|(_, r)| r.unwrap())
            .collect();
        let reference = stockade_ingest::reference_files::from_yaml(&sim.reference_yaml).unwrap();
        let view = stockade_epcis::Directory::new(&reference);
        for (_, doc) in &sim.epcis {
            let parsed = stockade_epcis::validate(doc.as_bytes()).unwrap();
            let source = stockade_model::SourceId::new("epcis").unwrap();
            events.extend(
                stockade_epcis::map_document(&parsed, &view, &source, None).into_iter().map(|(_, r)| r.unwrap()),
            );
        }
        assert!(events.len() > 1_000 && events.iter().any(|e| e.epcis.is_some()), "{}", events.len());
        let now = chrono::Utc::now();
        for (seq, event) in events.into_iter().enumerate() {
            let stored = stockade_model::NewEvent::prepare(event, now);
            let ready = super::Ready::of(&stockade_store::StoredEvent {
                seq: seq as i64 + 1,
                source: stored.source.clone(),
                event_id: stored.event_id.clone(),
                kind: stored.kind.to_owned(),
                site: stored.site.clone(),
                occurred_us: stored.occurred_us,
                offset_s: stored.offset_s,
                received_us: stored.received_us,
                hash: stored.hash,
                payload: stored.payload.clone(),
            });
            let event = ready.event.expect("every stored event reads back");
            assert_eq!(event, serde_json::from_str::<stockade_model::Event>(&stored.payload).unwrap());
            let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&stored.payload).unwrap();
            let mut members = Vec::new();
            event.each_member(&mut |name, m| members.push((name, m.to_json())));
            assert_eq!(members.len(), object.len(), "{}", stored.payload);
            for (name, value) in members {
                match value {
                    Some(v) => assert_eq!(object.get(name), Some(&v), "{name}: {}", stored.payload),
                    None => assert!(object.get(name).is_some_and(|v| v.is_object() || v.is_array())),
                }
            }
        }
    }

    #[test]
    fn the_builtin_pack_loads_whole() {
        let (pack, errors, _) = super::RuleSource::Builtin.load().unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert!(pack.rules.len() >= 40, "{}", pack.rules.len());
        // Every kind of Sigma correlation the issue names is used, and absence.
        let types: std::collections::BTreeSet<&str> =
            pack.collection.correlations.iter().map(|c| c.correlation_type.as_str()).collect();
        for t in ["event_count", "value_count", "temporal_ordered"] {
            assert!(types.contains(t), "{t} missing: {types:?}");
        }
        assert!(pack.rules.values().any(|r| r.absence.is_some()));
    }

    #[test]
    fn a_pack_directory_reports_each_refusal_and_loads_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let good = super::BUILTIN_RULES[0].1;
        std::fs::write(dir.path().join("a.yml"), good).unwrap();
        std::fs::create_dir(dir.path().join("more")).unwrap();
        std::fs::write(
            dir.path().join("more/b.yaml"),
            "title: bad\nid: 00000000-0000-4000-8000-000000000001\nname: bad\nlogsource:\n  product: stockade\n  category: access\ndetection:\n  s:\n    portal: x\n  condition: s\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a rule").unwrap();
        let files = super::read_rules(dir.path()).unwrap();
        assert_eq!(files.len(), 2);
        let (pack, errors) = stockade_detect::Pack::parse(&files);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].file.ends_with("more/b.yaml") && errors[0].line == 9, "{}", errors[0]);
        assert!(pack.rules.contains_key("access-terminated-person"));
    }
}
