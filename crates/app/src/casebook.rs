//! The casebook: opening incidents. An incident is checked (its site is
//! known, every event it cites is stored), numbered, recorded in the audit
//! trail (and so in the evidence ledger) and then stored.
//!
//! Invariants:
//! - Numbers run from 1 without gaps, one opening at a time in this process
//!   (the casebook is held for every act on incidents: `response`).
//! - When the instance keeps a ledger, an incident's `incident_opened` audit
//!   record (carrying the whole incident) is durable before the incident is
//!   stored: nothing is on the books that the ledger does not commit to.

use std::sync::Arc;
use stockade_incident::{EventRef, IncidentRecord, Invalid, NewIncident};
use stockade_model::RecordKind;
use stockade_model::clock::Clock;
use stockade_store::{Ledger, Store, StoreError};

/// Why an incident was not opened.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opens incidents in one store, one at a time.
pub struct Casebook {
    one_at_a_time: tokio::sync::Mutex<()>,
    /// The playbooks incidents are opened with.
    playbooks: std::sync::RwLock<Arc<stockade_respond::Pack>>,
    /// Where playbooks' `preserve_evidence` steps put what they keep.
    custodian: std::sync::RwLock<Option<Arc<crate::custody::Custodian>>>,
    /// The systems containment is sent to.
    webhooks: std::sync::RwLock<Arc<Vec<stockade_respond::webhook::Target>>>,
    /// The communication templates.
    templates: Arc<stockade_respond::comms::Templates>,
    /// Writes containment records into the log (set by the intake).
    recorder: std::sync::OnceLock<crate::records::Recorder>,
}

impl Default for Casebook {
    /// A casebook with the built-in playbook pack.
    fn default() -> Casebook {
        let pack = crate::response::builtin_playbooks().unwrap_or_else(|errors| {
            for e in errors {
                tracing::error!(%e, "built-in playbook refused");
            }
            Default::default()
        });
        Casebook {
            one_at_a_time: Default::default(),
            playbooks: std::sync::RwLock::new(Arc::new(pack)),
            custodian: Default::default(),
            webhooks: Default::default(),
            templates: Arc::new(crate::communications::builtin().unwrap_or_else(|errors| {
                for e in errors {
                    tracing::error!(%e, "built-in communication template refused");
                }
                Default::default()
            })),
            recorder: Default::default(),
        }
    }
}

impl Casebook {
    /// Opens an incident as `actor`.
    pub async fn open(
        &self,
        store: &dyn Store,
        ledger: Option<&Arc<Ledger>>,
        clock: &dyn Clock,
        actor: &str,
        incident: NewIncident,
    ) -> Result<IncidentRecord, CaseError> {
        self.open_seen(store, ledger, clock, actor, incident, &Default::default()).await
    }

    /// Opens an incident as `actor`, knowing the seq of the cited events a
    /// detector saw stored (for its evidence snapshot).
    pub async fn open_seen(
        &self,
        store: &dyn Store,
        ledger: Option<&Arc<Ledger>>,
        clock: &dyn Clock,
        actor: &str,
        incident: NewIncident,
        seen: &std::collections::HashMap<(String, String), i64>,
    ) -> Result<IncidentRecord, CaseError> {
        check(store, &incident).await?;
        let _one = self.one_at_a_time.lock().await;
        let record = open_held(store, ledger, clock, actor, incident).await?;
        let mut w = crate::response::Worked {
            response: stockade_respond::Response::opened(&record),
            record,
            timeline: Vec::new(),
        };
        crate::response::instantiate(self, store, ledger, clock, &mut w, seen).await?;
        Ok(w.record)
    }

    /// Lets the casebook write Stockade's records (containment) into the
    /// log through `r` (the first call takes).
    pub(crate) fn set_recorder(&self, r: crate::records::Recorder) {
        let _ = self.recorder.set(r);
    }

    pub(crate) fn recorder(&self) -> Option<&crate::records::Recorder> {
        self.recorder.get()
    }

    /// The playbook pack incidents open with.
    pub fn playbooks(&self) -> Arc<stockade_respond::Pack> {
        self.playbooks.read().map(|p| p.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The custodian that preserves evidence for playbooks, if any.
    pub fn custodian(&self) -> Option<Arc<crate::custody::Custodian>> {
        self.custodian.read().map(|c| c.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Lets playbooks preserve evidence through this custodian.
    pub fn set_custodian(&self, c: Arc<crate::custody::Custodian>) {
        match self.custodian.write() {
            Ok(mut g) => *g = Some(c),
            Err(p) => *p.into_inner() = Some(c),
        }
    }

    /// The communication templates.
    pub fn templates(&self) -> &stockade_respond::comms::Templates {
        &self.templates
    }

    /// The systems containment is sent to.
    pub fn webhooks(&self) -> Arc<Vec<stockade_respond::webhook::Target>> {
        self.webhooks.read().map(|w| w.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Sends containment to these systems from now on.
    pub fn set_webhooks(&self, targets: Vec<stockade_respond::webhook::Target>) {
        let targets = Arc::new(targets);
        match self.webhooks.write() {
            Ok(mut g) => *g = targets,
            Err(p) => *p.into_inner() = targets,
        }
    }

    /// Replaces the playbook pack (incidents already open keep theirs).
    pub fn set_playbooks(&self, pack: stockade_respond::Pack) {
        let pack = Arc::new(pack);
        match self.playbooks.write() {
            Ok(mut p) => *p = pack,
            Err(p) => *p.into_inner() = pack,
        }
    }

    /// Holds the casebook for one act at a time (an opening, an entry, a
    /// merge or a split).
    pub(crate) async fn hold(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.one_at_a_time.lock().await
    }
}

/// Checks an incident: its own rules, its site in the reference data, every
/// event it cites stored.
pub(crate) async fn check(store: &dyn Store, incident: &NewIncident) -> Result<(), CaseError> {
    incident.check()?;
    let sites = store.reference(Some(RecordKind::Site)).await?;
    if !sites.iter().any(|s| s.id == incident.site) {
        return Err(Invalid {
            field: "site".into(),
            reason: format!("no site {:?} in the reference data", incident.site),
        }
        .into());
    }
    if let Some(i) = first_unstored(store, &incident.events).await? {
        let e = &incident.events[i];
        return Err(Invalid {
            field: format!("events/{i}"),
            reason: format!("no event {:?} from source {:?} is stored", e.id, e.source),
        }
        .into());
    }
    Ok(())
}

/// The position of the first of `events` not stored, if one is not.
pub(crate) async fn first_unstored(store: &dyn Store, events: &[EventRef]) -> Result<Option<usize>, StoreError> {
    let keys: Vec<(&str, &str)> = events.iter().map(|e| (e.source.as_str(), e.id.as_str())).collect();
    Ok(store.has_events(&keys).await?.iter().position(|f| !f))
}

/// Numbers, audits and stores a checked incident; the caller holds the
/// casebook.
pub(crate) async fn open_held(
    store: &dyn Store,
    ledger: Option<&Arc<Ledger>>,
    clock: &dyn Clock,
    actor: &str,
    incident: NewIncident,
) -> Result<IncidentRecord, CaseError> {
    let n = store.last_incident().await? + 1;
    let record = incident.open(n, clock.now().fixed_offset(), actor)?;
    if let Some(ledger) = ledger {
        crate::audit::record(store, ledger, clock, stockade_evidence::package::INCIDENT_OPENED, actor, &record).await?;
    }
    store.add_incident(&record).await?;
    Ok(record)
}
