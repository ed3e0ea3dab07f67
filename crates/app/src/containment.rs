//! Containment: an analyst (or a playbook) closes what an incident's
//! activity used: revokes a badge, disables an account or API key, ends a
//! vendor's grant, locks a door or zone, holds a dock, quarantines a
//! location or SKU; and lifts it again.
//!
//! Invariants:
//! - A containment takes effect in Stockade at once: it is a
//!   `record.containment` event in the log (a ledger leaf), so detection
//!   watches the target from that event on (a later use is a
//!   `containment-breached` alert) and a replay does the same.
//! - It is then recorded in the incident's timeline (`contain`, another
//!   leaf) naming that event; a refused containment records nothing.
//! - One entity is held once per action across all incidents: a badge
//!   revoked for INC-1 is not revoked again for INC-2 (the refusal says
//!   where it is held).

use crate::casebook::Casebook;
use crate::intake::Intake;
use crate::records::Recorder;
use crate::response::{ResponseError, Worked, worked};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use stockade_incident::EventRef;
use stockade_model::clock::Clock;
use stockade_model::{Containment, ContainmentAction, EventBody, EventKind, RecordKind};
use stockade_respond::{Act, Named, Offer, Refused, TaskStatus};
use stockade_store::{EventQuery, Ledger, Store, StoreError};

/// What a caller asks: apply (or lift) one containment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainRequest {
    pub action: ContainmentAction,
    /// The id of the badge, account, API key, vendor, door, zone, location
    /// or SKU.
    pub target: String,
    pub reason: String,
    /// Lift a containment this incident holds instead of applying one.
    #[serde(default)]
    pub lift: bool,
    /// The playbook task this carries out (one that offers the action):
    /// done once it offers nothing more.
    #[serde(default)]
    pub task: Option<String>,
}

/// A containment in force, from the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Held {
    pub action: ContainmentAction,
    pub target: String,
    pub incident: String,
    pub since: chrono::DateTime<chrono::FixedOffset>,
    pub reason: String,
}

/// Every containment in force, from the `record.containment` events.
pub async fn in_force(store: &dyn stockade_store::Store) -> Result<Vec<Held>, StoreError> {
    let mut held: Vec<Held> = Vec::new();
    let q = EventQuery { kind: Some(EventKind::RecordContainment.as_str().into()), ..Default::default() };
    for e in crate::records::all_matching(store, q).await? {
        let ev = crate::records::parse(&e)?;
        if let EventBody::RecordContainment(c) = ev.body {
            held.retain(|h| !(h.action == c.action && h.target == c.target));
            if !c.lifted {
                held.push(Held {
                    action: c.action,
                    target: c.target,
                    incident: c.incident,
                    since: ev.occurred_at,
                    reason: c.reason,
                });
            }
        }
    }
    Ok(held)
}

/// Whether the reference data or the incident knows `target` as the kind
/// of entity `action` applies to.
fn known(reference: &stockade_model::ReferenceData, w: &Worked, action: ContainmentAction, target: &str) -> bool {
    if w.response.entities.contains(target) {
        return true;
    }
    let has = |kind: RecordKind| reference.rows().iter().any(|r| r.kind == kind && r.id == target);
    match action {
        ContainmentAction::RevokeBadge => has(RecordKind::Badge),
        ContainmentAction::DisableAccount => {
            reference.people.iter().any(|p| p.accounts.iter().any(|a| a.as_str() == target))
        }
        // No registry of API keys: only those the incident names.
        ContainmentAction::RevokeApiKey => false,
        ContainmentAction::EndVendorGrant => has(RecordKind::Vendor),
        ContainmentAction::LockDoor => has(RecordKind::Door),
        ContainmentAction::LockZone => has(RecordKind::Zone),
        ContainmentAction::HoldDock | ContainmentAction::QuarantineLocation => has(RecordKind::Location),
        ContainmentAction::QuarantineSku => has(RecordKind::Sku),
    }
}

/// Where a containment is recorded: the store, its ledger, the clock, and
/// what writes Stockade's records into the log.
pub(crate) struct Env<'a> {
    pub store: &'a dyn Store,
    pub ledger: Option<&'a Arc<Ledger>>,
    pub clock: &'a dyn Clock,
    pub recorder: &'a Recorder,
}

impl Casebook {
    /// Applies (or lifts) a containment for incident `id`, as `actor`.
    /// Answers the incident as it now stands.
    pub async fn contain(
        &self,
        intake: &Intake,
        actor: &str,
        id: &str,
        request: ContainRequest,
    ) -> Result<Worked, ResponseError> {
        let recorder = intake.recorder();
        let env =
            Env { store: &**intake.store(), ledger: intake.ledger(), clock: &**intake.clock(), recorder: &recorder };
        let _one = self.hold().await;
        let mut w = worked(env.store, id).await?;
        self.contain_held(&env, actor, &mut w, request).await?;
        Ok(w)
    }

    /// The containments incident `w` may apply now, by task (the casebook
    /// held or not: a read).
    pub async fn offers(
        &self,
        store: &dyn Store,
        reference: &stockade_model::ReferenceData,
        w: &Worked,
    ) -> Result<Vec<Offer>, StoreError> {
        if !w.response.status.is_open()
            || w.response.merged_into.is_some()
            || !w.response.tasks.iter().any(|t| !t.task.contain.is_empty())
        {
            return Ok(Vec::new());
        }
        let held: Vec<(ContainmentAction, String)> =
            in_force(store).await?.into_iter().map(|h| (h.action, h.target)).collect();
        let api_keys = api_keys_named(store, w).await?;
        let named = Named { entities: &w.response.entities, api_keys: &api_keys };
        Ok(stockade_respond::offers(&w.response.tasks, named, reference, &held))
    }

    /// [`Casebook::contain`] with the casebook held and the incident read.
    pub(crate) async fn contain_held(
        &self,
        env: &Env<'_>,
        actor: &str,
        w: &mut Worked,
        request: ContainRequest,
    ) -> Result<(), ResponseError> {
        let (store, ledger, clock) = (env.store, env.ledger, env.clock);
        let id = w.record.id.clone();
        let target = request.target.trim().to_owned();
        if target.is_empty() || target.len() > 200 {
            return Err(Refused("`target` must name what to contain in 1-200 characters".into()).into());
        }
        if request.reason.trim().is_empty() {
            return Err(Refused("`reason` must say why".into()).into());
        }
        let action = request.action;
        w.response.check_contain(action.as_str(), &target, request.lift)?;
        let reference = env.recorder.reference();
        // The task it carries out: one that offers this action, still open.
        let offered = match &request.task {
            Some(task) => {
                let t = w.response.tasks.iter().find(|t| t.task.id == *task).ok_or_else(|| {
                    ResponseError::from(Refused(format!("{id} has no task {task:?} to carry out with it")))
                })?;
                if request.lift || !t.task.contain.contains(&action) || t.status != TaskStatus::Open {
                    return Err(Refused(format!(
                        "task {task:?} of {id} is {} and {}offers {}",
                        t.status.as_str(),
                        if t.task.contain.contains(&action) { "" } else { "never " },
                        action.as_str()
                    ))
                    .into());
                }
                Some(task.clone())
            }
            None => None,
        };
        if !request.lift {
            let kind = action.target().as_str().replace('_', " ");
            if !known(&reference.data, w, action, &target) {
                return Err(Refused(format!(
                    "no {kind} {target:?} in the reference data or among the entities {id} names"
                ))
                .into());
            }
            if let Some(h) = in_force(store).await?.into_iter().find(|h| h.action == action && h.target == target) {
                return Err(Refused(format!(
                    "{kind} {target:?} is already held ({}) for {} since {}",
                    action.as_str(),
                    h.incident,
                    h.since.to_rfc3339()
                ))
                .into());
            }
        }
        // In force in Stockade first: the event detection watches from.
        let n = w.response.entries + 1;
        let event_id = format!("containment:{id}:{n}");
        let body = EventBody::RecordContainment(Containment {
            action,
            target: target.clone(),
            incident: id.clone(),
            lifted: request.lift,
            reason: request.reason.clone(),
        });
        let site = w.record.incident.site.clone();
        let event = env.recorder.record(event_id.clone(), &site, body)?;
        env.recorder.append(vec![event]).await?;
        let reason = request.reason.clone();
        let mut acts = vec![Act::Contain {
            action: action.as_str().to_owned(),
            target: target.clone(),
            lifted: request.lift,
            reason: request.reason,
            event: EventRef { source: crate::records::RECORD_SOURCE.into(), id: event_id.clone() },
        }];
        // The task is done once it offers nothing more.
        if let Some(task) = offered {
            let mut after = w.response.clone();
            after.contained.push(stockade_respond::ContainmentState {
                action: action.as_str().to_owned(),
                target: target.clone(),
                since: clock.now().fixed_offset(),
                by: actor.to_owned(),
            });
            let rest = self.offers(store, &reference.data, &Worked { response: after, ..w.clone() }).await?;
            if !rest.iter().any(|o| o.task == task) {
                acts.push(Act::Task {
                    task,
                    to: TaskStatus::Done,
                    reason: format!(
                        "every containment it offers is in force (the last: {} on {target})",
                        action.as_str()
                    ),
                });
            }
        }
        crate::response::record_acts(store, ledger, clock, actor, w, acts).await?;
        // Then out to the systems that own the target, each delivery queued
        // durably before this answers.
        let body = serde_json::json!({
            "type": "containment",
            "action": action.as_str(),
            "target": target,
            "lifted": request.lift,
            "incident": w.record.id,
            "site": site,
            "reason": reason,
            "event": {"source": crate::records::RECORD_SOURCE, "id": event_id},
        });
        self.notify(store, clock, action.as_str(), &site, &w.record.id, &event_id, body).await?;
        tracing::info!(incident = %id, action = action.as_str(), %target, lifted = request.lift, by = %actor, "containment");
        metrics::counter!("stockade_containments_total", "action" => action.as_str()).increment(1);
        Ok(())
    }
}

/// The ids the incident's own events name as API keys (no registry holds
/// them): its cited `identity.api_key_used` events, read from its span.
async fn api_keys_named(store: &dyn Store, w: &Worked) -> Result<std::collections::BTreeSet<String>, StoreError> {
    let mut out = std::collections::BTreeSet::new();
    let i = &w.record.incident;
    let kind = EventKind::IdentityApiKeyUsed.as_str();
    if w.response.events.is_empty() {
        return Ok(out);
    }
    let q = EventQuery {
        kind: Some(kind.into()),
        from_us: Some(i.from.timestamp_micros()),
        to_us: Some(i.to.timestamp_micros().saturating_add(1)),
        ..Default::default()
    };
    for e in crate::records::all_matching(store, q).await? {
        if !w.response.events.iter().any(|r| r.source == e.source && r.id == e.event_id) {
            continue;
        }
        if let EventBody::IdentityApiKeyUsed(k) = crate::records::parse(&e)?.body {
            out.insert(k.api_key.as_str().to_owned());
        }
    }
    Ok(out)
}

/// Why a delivery could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no delivery {0:?}")]
    NotFound(String),
    #[error("delivery {0} is {1}: only dead deliveries are replayed")]
    NotDead(String, &'static str),
    #[error(transparent)]
    Response(#[from] ResponseError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Casebook {
    /// Queues one signed delivery of `body` (given its `id` and `at`) to
    /// every endpoint that wants `wanted` at `site`, durably; `key` makes
    /// the idempotency key (`<key>@<endpoint>`). How many were queued.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn notify(
        &self,
        store: &dyn Store,
        clock: &dyn Clock,
        wanted: &str,
        site: &str,
        incident: &str,
        key: &str,
        body: serde_json::Value,
    ) -> Result<usize, StoreError> {
        let now = clock.now();
        let mut queued = 0;
        for t in self.webhooks().iter().filter(|t| t.endpoint.wants(wanted, site)) {
            let id = format!("dlv_{}", hex::encode(rand::random::<[u8; 8]>()));
            let mut body = body.clone();
            if let Some(o) = body.as_object_mut() {
                o.insert("id".into(), id.clone().into());
                o.insert("at".into(), now.to_rfc3339().into());
            }
            let d = stockade_store::Delivery {
                idempotency_key: format!("{key}@{}", t.endpoint.name),
                endpoint: t.endpoint.name.clone(),
                incident: incident.to_owned(),
                body: body.to_string(),
                status: stockade_store::DeliveryStatus::Pending,
                attempts: 0,
                next_us: now.timestamp_micros(),
                created_us: now.timestamp_micros(),
                last_error: None,
                delivered_us: None,
                id,
            };
            store.add_delivery(&d).await?;
            queued += 1;
        }
        Ok(queued)
    }

    /// Records how a delivery settled (delivered or dead) in its incident's
    /// timeline, as Stockade.
    pub async fn settled(
        &self,
        store: &dyn stockade_store::Store,
        ledger: Option<&std::sync::Arc<stockade_store::Ledger>>,
        clock: &dyn stockade_model::clock::Clock,
        d: &stockade_store::Delivery,
    ) -> Result<(), ResponseError> {
        let _one = self.hold().await;
        let mut w = worked(store, &d.incident).await?;
        let act = Act::Delivery {
            delivery: d.id.clone(),
            endpoint: d.endpoint.clone(),
            outcome: d.status.as_str().to_owned(),
            attempts: d.attempts,
            error: d.last_error.clone(),
        };
        crate::response::record_act(store, ledger, clock, crate::response::SYSTEM, &mut w, act).await
    }

    /// Puts a dead delivery back in the queue (attempts from zero, same
    /// body and idempotency key), audited and recorded in its incident.
    pub async fn replay(
        &self,
        store: &dyn stockade_store::Store,
        ledger: Option<&std::sync::Arc<stockade_store::Ledger>>,
        clock: &dyn stockade_model::clock::Clock,
        actor: &str,
        id: &str,
    ) -> Result<stockade_store::Delivery, ReplayError> {
        let q = stockade_store::DeliveryQuery { id: Some(id.to_owned()), limit: 1, ..Default::default() };
        let mut d = store.deliveries(&q).await?.pop().ok_or_else(|| ReplayError::NotFound(id.to_owned()))?;
        if d.status != stockade_store::DeliveryStatus::Dead {
            return Err(ReplayError::NotDead(d.id, d.status.as_str()));
        }
        if let Some(l) = ledger {
            let detail = serde_json::json!({"delivery": d.id, "endpoint": d.endpoint, "incident": d.incident});
            crate::audit::record(store, l, clock, "webhook_replayed", actor, detail).await?;
        }
        d.status = stockade_store::DeliveryStatus::Pending;
        d.attempts = 0;
        d.next_us = clock.now().timestamp_micros();
        store.update_delivery(&d).await?;
        let _one = self.hold().await;
        let mut w = worked(store, &d.incident).await?;
        let act = Act::Delivery {
            delivery: d.id.clone(),
            endpoint: d.endpoint.clone(),
            outcome: "replayed".into(),
            attempts: 0,
            error: None,
        };
        crate::response::record_act(store, ledger, clock, actor, &mut w, act).await?;
        Ok(d)
    }
}
