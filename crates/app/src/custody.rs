//! The custodian: collects evidence into the vault, records every custody
//! action (in the store and as a ledger leaf), enforces legal holds and
//! retention, and builds evidence packages.
//!
//! Invariants:
//! - An action is recorded (store row and durable leaf) before its effect:
//!   a download's custody entry exists before the first byte is sent.
//! - Actions on evidence are serialised, so a chain never forks.
//! - Every read of a file re-hashes it; a package is refused if a file no
//!   longer matches the SHA-256 recorded at collection.

use futures::Stream;
use std::sync::Arc;
use stockade_evidence::package::{
    self, EventItem, EvidenceItem, LogRef, Manifest, ManifestParts, OpeningItem, Part, Proof,
};
use stockade_evidence::{
    Action, Canon, CustodyRecord, CustodyState, EvidenceRecord, Refusal, RetentionPolicy, may_expire,
};
use stockade_model::RecordKind;
use stockade_model::clock::Clock;
use stockade_store::vault::{Expect, UploadError, Vault};
use stockade_store::{EventQuery, Ledger, Store, StoreError, StoredAudit, StoredCustody, StoredEvidence};

/// Why a custody operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CustodyError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no evidence {0}")]
    Unknown(String),
    #[error("no incident {0} is open in Stockade (open it first: POST /api/v1/incidents)")]
    NoIncident(String),
    #[error(
        "`collected_from`: no {kind} {id:?} in the reference data (register it, or name a source Stockade does not \
         register as external:…)"
    )]
    UnknownSource { kind: String, id: String },
    #[error("{0}")]
    Integrity(String),
    /// A `since` that no checkpoint of this log can have.
    #[error("{0}")]
    Since(String),
    #[error("writing the evidence package to a temporary file failed")]
    Package(#[source] std::io::Error),
}

/// What a collector says about an upload.
#[derive(Debug, Clone, Default)]
pub struct Collect {
    pub incident: String,
    pub class: String,
    pub media_type: String,
    pub collected_from: String,
    pub original_from: Option<String>,
    pub original_to: Option<String>,
    pub description: String,
    pub reason: String,
}

pub struct Custodian {
    store: Arc<dyn Store>,
    ledger: Arc<Ledger>,
    vault: Vault,
    policy: RetentionPolicy,
    clock: Arc<dyn Clock>,
    max_bytes: u64,
    one_at_a_time: tokio::sync::Mutex<()>,
    witnesses: Option<Arc<dyn Cosigning>>,
}

/// Who gathers witnesses' cosignatures on the ledger's latest checkpoint
/// (the server, over HTTP: `docs/WITNESS.md`). Without one, packages carry
/// the log's signature alone.
#[async_trait::async_trait]
pub trait Cosigning: Send + Sync {
    /// Asks the witnesses to cosign the latest checkpoint and adds the
    /// cosignatures that verify; a witness that fails is logged, never fatal.
    async fn cosign_latest(&self, ledger: &Arc<Ledger>);
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f).await?
}

fn word(name: &str, v: &str) -> Result<(), Refusal> {
    if v.is_empty() || v.len() > 200 || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Refusal::Invalid(format!("`{name}` must be 1-200 printable characters without spaces, got {v:?}")));
    }
    Ok(())
}

/// The sources evidence can be collected from, `kind:id`, and the reference
/// data that must hold the id (none: a source Stockade does not register).
const SOURCES: [(&str, Option<RecordKind>); 6] = [
    ("camera", Some(RecordKind::Camera)),
    ("reader", Some(RecordKind::Reader)),
    ("device", Some(RecordKind::Asset)),
    ("person", Some(RecordKind::Person)),
    ("system", None),
    ("external", None),
];

impl Custodian {
    /// Checks where evidence says it came from: a package names its source,
    /// so a camera, reader, device (asset registry) or person must be one
    /// the reference data holds; `system:` (a WMS export) and `external:` (a
    /// neighbour's CCTV, a police body camera) are free names.
    async fn check_source(&self, from: &str) -> Result<(), CustodyError> {
        let kinds = || SOURCES.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ");
        let (kind, id) = from.split_once(':').filter(|(k, id)| !k.is_empty() && !id.is_empty()).ok_or_else(|| {
            Refusal::Invalid(format!("`collected_from` must be kind:id, the kind one of {}; got {from:?}", kinds()))
        })?;
        let Some((_, registered)) = SOURCES.iter().find(|(k, _)| *k == kind) else {
            return Err(Refusal::Invalid(format!("`collected_from`: {kind:?} is not one of {}", kinds())).into());
        };
        let Some(registered) = registered else { return Ok(()) };
        if self.store.reference(Some(*registered)).await?.iter().any(|r| r.id == id) {
            Ok(())
        } else {
            Err(CustodyError::UnknownSource { kind: kind.to_owned(), id: id.to_owned() })
        }
    }

    pub fn new(
        store: Arc<dyn Store>,
        ledger: Arc<Ledger>,
        vault: Vault,
        policy: RetentionPolicy,
        clock: Arc<dyn Clock>,
        max_bytes: u64,
    ) -> Custodian {
        Custodian {
            store,
            ledger,
            vault,
            policy,
            clock,
            max_bytes,
            one_at_a_time: tokio::sync::Mutex::new(()),
            witnesses: None,
        }
    }

    /// Packages wait for these witnesses' cosignatures on their checkpoint.
    pub fn with_witnesses(mut self, witnesses: Arc<dyn Cosigning>) -> Custodian {
        self.witnesses = Some(witnesses);
        self
    }

    async fn record(&self, entries: Vec<stockade_ledger::entry::Entry>) -> Result<u64, StoreError> {
        let ledger = self.ledger.clone();
        blocking(move || ledger.append(&entries)).await
    }

    /// Streams a file into the vault and records its collection.
    pub async fn collect<S, E>(
        &self,
        c: Collect,
        actor: &str,
        body: S,
        declared_sha256: Option<[u8; 32]>,
        declared_size: Option<u64>,
    ) -> Result<(StoredEvidence, StoredCustody), CustodyError>
    where
        S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let (e, mut chain) = self.collect_held(c, actor, body, declared_sha256, declared_size, None).await?;
        let first = chain.swap_remove(0);
        Ok((e, first))
    }

    /// [`Custodian::collect`], and when `hold` gives a reason, a legal hold
    /// set on the item in the same ledger append (its chain: collected,
    /// hold set).
    async fn collect_held<S, E>(
        &self,
        c: Collect,
        actor: &str,
        body: S,
        declared_sha256: Option<[u8; 32]>,
        declared_size: Option<u64>,
        hold: Option<&str>,
    ) -> Result<(StoredEvidence, Vec<StoredCustody>), CustodyError>
    where
        S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        // Everything that can be refused is refused before a byte is stored.
        word("incident", &c.incident)?;
        word("collected_from", &c.collected_from)?;
        if c.reason.trim().is_empty() {
            return Err(Refusal::Invalid("a `reason` for collecting is required".into()).into());
        }
        let mut span = [None, None];
        for (at, (name, t)) in
            [("original_from", &c.original_from), ("original_to", &c.original_to)].into_iter().enumerate()
        {
            if let Some(t) = t {
                let parsed =
                    stockade_model::event::rfc3339::parse(t).map_err(|e| Refusal::Invalid(format!("`{name}`: {e}")))?;
                span[at] = Some(parsed);
            }
        }
        if let [Some(from), Some(to)] = span
            && from > to
        {
            return Err(Refusal::Invalid("`original_from` is after `original_to`".into()).into());
        }
        self.check_source(&c.collected_from).await?;
        let now = self.clock.now().timestamp_micros();
        let retain_until_us = self.policy.retain_until(&c.class, now)?;
        // Evidence belongs to an incident Stockade holds: a mistyped id would
        // leave the item out of that incident's package.
        if self.store.incident(&c.incident).await?.is_none() {
            return Err(CustodyError::NoIncident(c.incident));
        }
        let expect = Expect { sha256: declared_sha256, size: declared_size, max_bytes: self.max_bytes };
        let (digest, size) = self.vault.put(body, &expect).await?;
        let record = EvidenceRecord {
            id: format!("ev_{}", hex::encode(rand::random::<[u8; 8]>())),
            incident: c.incident,
            class: c.class,
            sha256: hex::encode(digest),
            size,
            media_type: c.media_type,
            collected_by: actor.to_owned(),
            collected_from: c.collected_from,
            original_from: c.original_from,
            original_to: c.original_to,
            description: c.description,
            collected_us: now,
            retain_until_us,
        };
        let first = CustodyRecord {
            evidence: record.id.clone(),
            n: 0,
            action: Action::Collected,
            actor: actor.to_owned(),
            at_us: now,
            reason: c.reason,
            party: None,
        };
        let held = hold.map(|reason| CustodyRecord {
            evidence: record.id.clone(),
            n: 1,
            action: Action::HoldSet,
            actor: actor.to_owned(),
            at_us: now,
            reason: reason.to_owned(),
            party: None,
        });
        let salts = self.ledger.salt_key();
        let mut entries =
            vec![record.entry(&record.salt(salts), Canon::Jcs)?, first.entry(&first.salt(salts), Canon::Jcs)?];
        if let Some(h) = &held {
            entries.push(h.entry(&h.salt(salts), Canon::Jcs)?);
        }
        let leaf = self.record(entries).await?;
        let e = StoredEvidence { record, leaf_index: leaf, expired_us: None };
        let f = StoredCustody { record: first, leaf_index: leaf + 1 };
        self.store.add_evidence(&e, &f).await?;
        let mut chain = vec![f];
        if let Some(h) = held {
            let h = StoredCustody { record: h, leaf_index: leaf + 2 };
            self.store.add_custody(&h).await?;
            chain.push(h);
        }
        metrics::counter!("stockade_evidence_collected_total").increment(1);
        Ok((e, chain))
    }

    /// An item and its chain.
    pub async fn item(&self, id: &str) -> Result<(StoredEvidence, Vec<StoredCustody>), CustodyError> {
        let e = self.store.evidence(id).await?.ok_or_else(|| CustodyError::Unknown(id.to_owned()))?;
        let chain = self.store.custody(id).await?;
        Ok((e, chain))
    }

    /// The evidence items of an incident Stockade holds, oldest first.
    pub async fn incident_evidence(&self, incident: &str) -> Result<Vec<StoredEvidence>, CustodyError> {
        if self.store.incident(incident).await?.is_none() {
            return Err(StoreError::NotFound(format!("incident {incident}")).into());
        }
        Ok(self.store.incident_evidence(incident).await?)
    }

    /// The audit record that opened an incident (the trail is short: people's
    /// acts, not events).
    async fn opening(&self, incident: &str) -> Result<StoredAudit, CustodyError> {
        let mut after = 0;
        loop {
            let page = self.store.audit(after, 1000).await?;
            let Some(last) = page.last() else {
                return Err(Refusal::Conflict(format!(
                    "incident {incident} has no opening record in the audit trail (it was opened without the evidence ledger), so no package can prove it"
                ))
                .into());
            };
            after = last.record.n;
            if let Some(found) = page.into_iter().find(|a| {
                a.record.action == package::INCIDENT_OPENED
                    && a.record.detail.get("id").and_then(|v| v.as_str()) == Some(incident)
            }) {
                return Ok(found);
            }
        }
    }

    /// Records an action on an item, if its chain allows it now.
    pub async fn act(
        &self,
        id: &str,
        action: Action,
        actor: &str,
        reason: &str,
        party: Option<String>,
    ) -> Result<StoredCustody, CustodyError> {
        if reason.trim().is_empty() {
            return Err(Refusal::Invalid("a `reason` is required for every custody action".into()).into());
        }
        if action == Action::Collected {
            return Err(Refusal::Invalid("evidence is collected by uploading it".into()).into());
        }
        if action == Action::Transferred && party.as_deref().is_none_or(|p| p.trim().is_empty()) {
            return Err(Refusal::Invalid("a transfer names the receiving `party`".into()).into());
        }
        let _one = self.one_at_a_time.lock().await;
        let (e, chain) = self.item(id).await?;
        let records: Vec<CustodyRecord> = chain.iter().map(|c| c.record.clone()).collect();
        let state = CustodyState::of(&records)?;
        let now = self.clock.now().timestamp_micros();
        if action == Action::Expired {
            may_expire(&e.record, &state, now)?;
        } else {
            state.allows(action, id)?;
        }
        let rec = CustodyRecord {
            evidence: id.to_owned(),
            n: state.next,
            action,
            actor: actor.to_owned(),
            at_us: now,
            reason: reason.to_owned(),
            party,
        };
        let leaf = self.record(vec![rec.entry(&rec.salt(self.ledger.salt_key()), Canon::Jcs)?]).await?;
        let c = StoredCustody { record: rec, leaf_index: leaf };
        self.store.add_custody(&c).await?;
        if action == Action::Expired && self.store.live_evidence_with_file(&e.record.sha256).await? == 0 {
            self.vault.remove(&e.record.sha256).await?;
        }
        Ok(c)
    }

    /// Records a view or download, then opens the file; the caller streams
    /// it through [`HashCheck`].
    pub async fn open(
        &self,
        id: &str,
        action: Action,
        actor: &str,
        reason: &str,
    ) -> Result<(EvidenceRecord, tokio::fs::File), CustodyError> {
        if !matches!(action, Action::Viewed | Action::Downloaded) {
            return Err(Refusal::Invalid("content is opened to view or to download".into()).into());
        }
        self.act(id, action, actor, reason, None).await?;
        let (e, _) = self.item(id).await?;
        let file = self.vault.open_object(&e.record.sha256).await?;
        Ok((e.record, file))
    }

    /// Expires every item whose window is over and that no hold protects.
    pub async fn sweep(&self, actor: &str) -> Result<Vec<String>, CustodyError> {
        let now = self.clock.now().timestamp_micros();
        let mut expired = Vec::new();
        for e in self.store.evidence_due(now).await? {
            match self.act(&e.record.id, Action::Expired, actor, "retention window ended", None).await {
                Ok(_) => expired.push(e.record.id),
                Err(CustodyError::Refused(Refusal::Conflict(why))) => tracing::info!(id = e.record.id, why, "kept"),
                Err(err) => return Err(err),
            }
        }
        Ok(expired)
    }

    /// Builds the evidence package of an incident (its evidence, their
    /// chains, the given events) into an anonymous temporary file. Each live
    /// item gets an `exported` custody entry first, so the package shows its
    /// own export.
    pub async fn package(
        &self,
        incident: &str,
        event_seqs: &[u64],
        actor: &str,
        reason: &str,
        since: Option<u64>,
    ) -> Result<std::fs::File, CustodyError> {
        if since == Some(0) || since.is_some_and(|s| s > self.ledger.size()) {
            return Err(CustodyError::Since(format!(
                "`since` {} is not the size of a checkpoint of this log (1 to {})",
                since.unwrap_or(0),
                self.ledger.size()
            )));
        }
        let items = self.incident_evidence(incident).await?;
        if items.is_empty() && event_seqs.is_empty() {
            return Err(CustodyError::Unknown(format!("for incident {incident}, and no events were named")));
        }
        for e in items.iter().filter(|e| e.expired_us.is_none()) {
            self.act(&e.record.id, Action::Exported, actor, reason, None).await?;
        }
        let ledger = self.ledger.clone();
        let mut cp = blocking(move || ledger.sign_checkpoint()).await?;
        if let Some(w) = &self.witnesses {
            w.cosign_latest(&self.ledger).await;
            // The same checkpoint, now with the witnesses' lines (unless a
            // newer one was signed meanwhile: then the package keeps its own).
            if let Some(cosigned) = self.ledger.checkpoint().filter(|c| c.size == cp.size) {
                cp = cosigned;
            }
        }
        let size = cp.size;
        let consistency = match since {
            Some(from) => {
                let (path, from_root) =
                    self.ledger.with_tree(|t| Ok((t.consistency_proof(from, size)?, t.root(from)?)))?;
                Some(stockade_evidence::package::Consistency {
                    from_size: from,
                    from_root: base64_of(&from_root.0),
                    proof: path.iter().map(|h| base64_of(&h.0)).collect(),
                })
            }
            None => None,
        };
        let proof = |leaf: u64, salt: &[u8]| -> Result<Proof, CustodyError> {
            let path = self.ledger.with_tree(|t| t.inclusion_proof(leaf, size))?;
            Ok(Proof {
                salt: hex::encode(salt),
                leaf_index: leaf,
                proof: path.iter().map(|h| base64_of(&h.0)).collect(),
            })
        };
        // Each record's leaf names the rule it was committed by (records
        // from before format 3 keep theirs); the manifest repeats it.
        let canon = |leaf: u64| -> Result<Option<package::RecordCanon>, CustodyError> {
            let bytes = self.ledger.entries(leaf, 1)?.pop().unwrap_or_default();
            match stockade_ledger::entry::Entry::decode(&bytes) {
                Ok(
                    stockade_ledger::entry::Entry::Evidence { canon, .. }
                    | stockade_ledger::entry::Entry::Custody { canon, .. }
                    | stockade_ledger::entry::Entry::Audit { canon, .. },
                ) => Ok(Some(canon.into())),
                _ => Err(CustodyError::Integrity(format!("leaf {leaf} is not the record the store says it is"))),
            }
        };
        let salts = self.ledger.salt_key();
        let opening = self.opening(incident).await?;
        let mut evidence = Vec::new();
        let mut custody = Vec::new();
        for e in &items {
            let chain = self.store.custody(&e.record.id).await?;
            evidence.push(EvidenceItem {
                canon: canon(e.leaf_index)?,
                file: e.expired_us.is_none().then(|| format!("evidence/{}", e.record.id)),
                proof: proof(e.leaf_index, &e.record.salt(salts))?,
                record: e.record.clone(),
            });
            for c in chain {
                custody.push(package::CustodyItem {
                    canon: canon(c.leaf_index)?,
                    proof: proof(c.leaf_index, &c.record.salt(salts))?,
                    record: c.record,
                });
            }
        }
        let mut events = Vec::new();
        let mut payloads = Vec::new();
        for &seq in event_seqs {
            let q = EventQuery { after_seq: Some(seq as i64 - 1), limit: 1, ..Default::default() };
            let stored = self.store.events(&q).await?.into_iter().find(|e| e.seq as u64 == seq);
            let stored = stored.ok_or_else(|| CustodyError::Unknown(format!("event with seq {seq}")))?;
            if stockade_model::Event::digest(stored.payload.as_bytes()) != stored.hash {
                return Err(CustodyError::Integrity(format!("event {seq}'s stored bytes no longer match their hash")));
            }
            let leaf = self
                .ledger
                .event_leaf(seq)
                .filter(|l| *l < size)
                .ok_or_else(|| CustodyError::Integrity(format!("event {seq} has no leaf in the signed log yet")))?;
            let epcis = stockade_model::Event::from_json(stored.payload.as_bytes())
                .map_err(|e| CustodyError::Integrity(format!("event {seq}: {e}")))?
                .epcis
                .map(|o| o.event_hash);
            events.push(EventItem {
                seq,
                received_us: stored.received_us,
                sha256: hex::encode(stored.hash),
                epcis,
                file: format!("events/{seq}.json"),
                proof: proof(leaf, &salts.event_salt(seq))?,
            });
            payloads.push(stored.payload.into_bytes());
        }
        let manifest = Manifest {
            format: package::FORMAT.into(),
            incident: incident.to_owned(),
            created_us: self.clock.now().timestamp_micros(),
            created_by: actor.to_owned(),
            log: LogRef {
                origin: self.ledger.origin().to_owned(),
                tree_size: size,
                root: base64_of(&cp.root.0),
                checkpoint: String::from_utf8_lossy(&cp.note).into_owned(),
            },
            opened: Some(OpeningItem {
                canon: canon(opening.leaf_index)?,
                proof: proof(opening.leaf_index, &opening.record.salt(salts))?,
                record: opening.record,
            }),
            evidence,
            custody,
            events,
            consistency,
        };
        let mp = ManifestParts::new(&manifest, |t| self.ledger.sign_note(t).map_err(|e| e.to_string()))
            .map_err(CustodyError::Integrity)?;
        let mut files = Vec::new();
        for item in manifest.evidence.iter().filter(|i| i.file.is_some()) {
            let f = self.vault.open_object(&item.record.sha256).await?.into_std().await;
            files.push((item.record.clone(), f));
        }
        tokio::task::spawn_blocking(move || -> Result<std::fs::File, CustodyError> {
            let io = |e: std::io::Error| CustodyError::Package(e);
            let out = tempfile::tempfile().map_err(io)?;
            let mut parts = mp.parts();
            for (m, p) in manifest.events.iter().zip(&payloads) {
                parts.push(Part::bytes(m.file.clone(), p));
            }
            let checks: Vec<_> = files
                .iter()
                .map(|(r, _)| {
                    (r.id.clone(), r.sha256.clone(), Arc::new(std::sync::Mutex::new(sha2::Sha256::default())))
                })
                .collect();
            for ((r, f), (_, _, hasher)) in files.into_iter().zip(&checks) {
                parts.push(Part {
                    path: format!("evidence/{}", r.id),
                    size: r.size,
                    content: Box::new(HashingReader { inner: f, hasher: hasher.clone() }),
                });
            }
            let mut out = package::write_archive(out, parts).map_err(io)?;
            // Every read re-checks the hash: a file that changed in the vault fails the package.
            for (id, sha, hasher) in checks {
                let got = hasher.lock().map(|h| hex::encode(sha2::Digest::finalize(h.clone()))).unwrap_or_default();
                if got != sha {
                    tracing::error!(id, "evidence file no longer matches its SHA-256");
                    return Err(CustodyError::Integrity(format!("evidence {id}'s file no longer matches its SHA-256")));
                }
            }
            use std::io::Seek;
            out.rewind().map_err(io)?;
            Ok(out)
        })
        .await
        .map_err(|e| CustodyError::Store(StoreError::from(e)))?
    }
}

/// The format of an incident's evidence snapshot.
pub const SNAPSHOT: &str = "stockade-snapshot/1";

/// The most events a snapshot reads looking for the cited ones a detector
/// did not place.
const MAX_SNAPSHOT_SCAN: usize = 200_000;

/// What preserving an incident's evidence did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preserved {
    pub evidence: String,
    /// Cited events snapshotted, with their proofs.
    pub events: usize,
    /// Cited events not found where the incident says they happened.
    pub missing: usize,
    /// Cameras, readers and devices referenced.
    pub references: usize,
    pub tree_size: u64,
}

impl Custodian {
    /// Snapshots an incident's cited events (their stored bytes, hashes and
    /// inclusion proofs against the latest signed checkpoint that covers them) and the cameras,
    /// readers and devices of the places it names into one JSON evidence
    /// item of the incident (`stockade-snapshot/1`, class `export`), and
    /// places a legal hold on it. `known` gives the seq of cited events a
    /// detector saw stored; the others are looked for at the incident's site
    /// within its span.
    pub async fn preserve(
        &self,
        incident: &stockade_incident::IncidentRecord,
        known: &std::collections::HashMap<(String, String), i64>,
        actor: &str,
        reason: &str,
    ) -> Result<Preserved, CustodyError> {
        let i = &incident.incident;
        let mut seqs: Vec<Option<i64>> =
            i.events.iter().map(|e| known.get(&(e.source.clone(), e.id.clone())).copied()).collect();
        let mut cited: std::collections::HashMap<(&str, &str), Vec<usize>> = Default::default();
        for (k, e) in i.events.iter().enumerate() {
            cited.entry((e.source.as_str(), e.id.as_str())).or_default().push(k);
        }
        // The others at its site: within its span first, then from a week
        // before it (a receipt the theft followed) to a day after, paged.
        for (from, to) in [(i.from, i.to), (i.from - chrono::Duration::days(7), i.to + chrono::Duration::days(1))] {
            let mut after_seq = None;
            let mut scanned = 0;
            while seqs.iter().any(Option::is_none) && scanned < MAX_SNAPSHOT_SCAN {
                let q = EventQuery {
                    site: Some(i.site.clone()),
                    from_us: Some(from.timestamp_micros()),
                    to_us: Some(to.timestamp_micros() + 1),
                    after_seq,
                    limit: 10_000,
                    ..Default::default()
                };
                let page = self.store.events(&q).await?;
                let Some(last) = page.last() else { break };
                after_seq = Some(last.seq);
                scanned += page.len();
                for e in page {
                    if let Some(at) = cited.get(&(e.source.as_str(), e.event_id.as_str())) {
                        for &k in at {
                            seqs[k] = Some(e.seq);
                        }
                    }
                }
            }
        }
        // Proofs against the latest signed checkpoint when it covers every
        // cited event (it usually does: the server signs every few seconds);
        // else against one signed now.
        let newest = seqs.iter().flatten().filter_map(|seq| self.ledger.event_leaf(*seq as u64)).max();
        let cp = match self.ledger.checkpoint() {
            Some(cp) if newest.is_none_or(|leaf| leaf < cp.size) => cp,
            _ => {
                let ledger = self.ledger.clone();
                blocking(move || ledger.sign_checkpoint()).await?
            }
        };
        let size = cp.size;
        let salts = self.ledger.salt_key();
        let mut events = Vec::new();
        let mut missing = Vec::new();
        for (e, seq) in i.events.iter().zip(&seqs) {
            let stored = match seq {
                Some(seq) => {
                    let q = EventQuery { after_seq: Some(seq - 1), limit: 1, ..Default::default() };
                    self.store.events(&q).await?.into_iter().find(|x| x.seq == *seq)
                }
                None => None,
            };
            let Some(stored) = stored else {
                missing.push(serde_json::json!({"source": e.source, "id": e.id}));
                continue;
            };
            let leaf = self.ledger.event_leaf(stored.seq as u64).filter(|l| *l < size);
            let proof = match leaf {
                Some(leaf) => {
                    let path = self.ledger.with_tree(|t| t.inclusion_proof(leaf, size))?;
                    serde_json::json!({
                        "salt": hex::encode(salts.event_salt(stored.seq as u64)),
                        "leaf_index": leaf,
                        "proof": path.iter().map(|h| base64_of(&h.0)).collect::<Vec<_>>(),
                    })
                }
                None => serde_json::Value::Null,
            };
            let payload: serde_json::Value = serde_json::from_str(&stored.payload)
                .map_err(|x| CustodyError::Integrity(format!("event {}: {x}", stored.seq)))?;
            events.push(serde_json::json!({
                "seq": stored.seq,
                "sha256": hex::encode(stored.hash),
                "received_us": stored.received_us,
                "inclusion": proof,
                "event": payload,
            }));
        }
        let named: std::collections::BTreeSet<&str> = i.entities.iter().map(String::as_str).collect();
        let rows = self.store.reference(None).await?;
        let reference =
            stockade_model::ReferenceData::from_rows(rows).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut references = Vec::new();
        for c in &reference.cameras {
            let at = named.contains(c.id.as_str())
                || c.doors.iter().any(|d| named.contains(d.as_str()))
                || c.zones.iter().any(|z| named.contains(z.as_str()));
            if at && c.site.as_str() == i.site {
                references.push(serde_json::json!({"kind": "camera", "id": c.id, "doors": c.doors, "zones": c.zones}));
            }
        }
        for r in &reference.readers {
            if named.contains(r.id.as_str()) || named.contains(r.door.as_str()) {
                references.push(serde_json::json!({"kind": "reader", "id": r.id, "door": r.door}));
            }
        }
        for a in &reference.assets {
            let at = named.contains(a.id.as_str()) || a.zone.as_ref().is_some_and(|z| named.contains(z.as_str()));
            if at && a.site.as_str() == i.site {
                references.push(serde_json::json!({"kind": "device", "id": a.id, "zone": a.zone, "vendor": a.vendor}));
            }
        }
        let snapshot = serde_json::json!({
            "format": SNAPSHOT,
            "incident": incident.id,
            "taken_us": self.clock.now().timestamp_micros(),
            "log": {
                "origin": self.ledger.origin(),
                "tree_size": size,
                "root": base64_of(&cp.root.0),
                "checkpoint": String::from_utf8_lossy(&cp.note),
            },
            "events": events,
            "missing": missing,
            "references": references,
        });
        let bytes = serde_json::to_vec_pretty(&snapshot).map_err(|e| CustodyError::Integrity(e.to_string()))?;
        let digest: [u8; 32] = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&bytes)).into();
        let (n_events, n_missing, n_refs) = (events.len(), missing.len(), references.len());
        let size_bytes = bytes.len() as u64;
        let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
        let collect = Collect {
            incident: incident.id.clone(),
            class: "export".into(),
            media_type: "application/json".into(),
            collected_from: "system:stockade".into(),
            original_from: Some(i.from.to_rfc3339()),
            original_to: Some(i.to.to_rfc3339()),
            description: format!(
                "{SNAPSHOT}: {n_events} cited events with inclusion proofs at tree size {size}, {n_refs} camera, reader and device references"
            ),
            reason: reason.to_owned(),
        };
        // Collected and held in one ledger append.
        let hold = format!("legal hold on opening: {reason}");
        let (e, _) = self.collect_held(collect, actor, body, Some(digest), Some(size_bytes), Some(&hold)).await?;
        Ok(Preserved {
            evidence: e.record.id,
            events: n_events,
            missing: n_missing,
            references: n_refs,
            tree_size: size,
        })
    }
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A reader that hashes what passes through it.
struct HashingReader<R> {
    inner: R,
    hasher: Arc<std::sync::Mutex<sha2::Sha256>>,
}

impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut h) = self.hasher.lock() {
            sha2::Digest::update(&mut *h, &buf[..n]);
        }
        Ok(n)
    }
}
