//! The detector: events in (in seq order), alerts and incident openings out.
//!
//! Per event: enrich it ([`crate::context`]), run the Sigma engine
//! (`rsigma-eval`, correlations at event time), turn matches into alerts
//! (building blocks feed correlations and absences only), keep the
//! absences' books, then group the alerts into cases ([`crate::cases`]).
//!
//! Absence ("A without B within T"): with `look: before`, A alerts at once
//! when no B with the same `match` values was seen in the T before it; with
//! `look: after`, A waits until event time passes its deadline plus the
//! reorder window [`REORDER_S`] and alerts (dated at the deadline) unless a
//! B came; `around` asks both.
//!
//! Invariants: the output depends only on the pack, the reference data and
//! the events in seq order (never on the wall clock), so a live run and a
//! batch replay give the same alerts and openings; the state saved by
//! [`Detector::state`] and given back to [`Detector::resume`] continues
//! exactly where it stopped.

use crate::alert::{Alert, Entity, EventKey};
use crate::cases::{Cases, Opening};
use crate::context::{Context, Enriched, Learned};
use crate::pack::{Look, Pack};
use crate::reconcile::Reconciler;
use chrono::{DateTime, FixedOffset};
use rsigma_eval::{CorrelationConfig, CorrelationEngine, CorrelationEventMode, CorrelationSnapshot, TimestampFallback};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use stockade_model::event::Event;
use stockade_model::reference::ReferenceData;

/// How late (in event time) an awaited event may arrive and still cancel an absence.
pub const REORDER_S: i64 = 300;

/// Events a rule named by some correlation matched, remembered for naming
/// a correlation's contributors (no other event can be one).
const RECENT: usize = 50_000;

/// An A waiting for its B.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pending {
    rule: String,
    key: String,
    /// The source of A: its wait ends by that source's clock.
    source: String,
    since: i64,
    deadline: i64,
    alert: Alert,
}

/// Everything the detector carries from one event to the next. (Fields a
/// saved state lacks start empty.)
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    learned: Learned,
    correlation: Option<CorrelationSnapshot>,
    /// Last time (µs) each absence's B was seen, by absence rule and key,
    /// with B's source.
    seen: HashMap<String, (i64, String)>,
    pending: Vec<Pending>,
    cases: Cases,
    /// The latest event time seen (µs) per source: sources deliver at their
    /// own pace (a day's export after another system's month), so each
    /// source's clock ends the waits of its own events.
    watermarks: BTreeMap<String, i64>,
    /// Which sweep period of each source's clock its last sweep of `seen`
    /// fell in (the detector's `sweep_every`).
    swept: BTreeMap<String, i64>,
    /// The book and the presence that explains its shortages.
    reconcile: Reconciler,
    /// Each person's picks against their peers'.
    #[serde(default)]
    peers: crate::peers::Peers,
    /// Each entity's daily counts against its own days before.
    #[serde(default)]
    volume: crate::volume::Volume,
    /// What response contained, and since when.
    #[serde(default)]
    contained: crate::contained::Contained,
}

/// What one event led to.
#[derive(Debug, Default)]
pub struct Output {
    /// Each alert with the number of the case it joined.
    pub alerts: Vec<(Alert, u64)>,
    pub openings: Vec<Opening>,
}

pub struct Detector {
    pack: Pack,
    engine: CorrelationEngine,
    ctx: Context,
    /// For each rule that is some absence's B: those absences.
    awaited_by: HashMap<String, Vec<String>>,
    /// Everything saved, but what was learned (in `ctx`) and the
    /// correlation windows (in `engine`).
    state: State,
    /// Recent events a correlation's rules matched, by id, to name its
    /// contributors. Not saved (kept across a reload): after a restart,
    /// windows that straddle it name fewer events.
    recent: VecDeque<(String, EventKey, Vec<Entity>)>,
    recent_ids: HashMap<String, usize>,
    recent_base: usize,
    /// Each event family's Sigma logsource, as the engine's extractor would
    /// read it from the enriched event (`ctx.family`; events carry no
    /// `product` or `service`), worked out once instead of per event.
    logsources: Vec<(stockade_model::event::Family, rsigma_parser::LogSource)>,
    /// The longest wait of the pack's absences (s).
    longest_absence: i64,
    /// How far (µs) a source's clock moves between its sweeps of `seen`:
    /// an hour, or a quarter of the longest absence if longer (a B is
    /// forgotten within a quarter more than it can be asked about).
    sweep_every: i64,
    /// The sources that have delivered some absence's B (the only ones
    /// that can have anything in `seen` to sweep).
    b_sources: std::collections::HashSet<String>,
}

/// The logsource of an event of `family`: what the engine's extractor
/// (product, service, `ctx.family`) reads from its enriched form.
fn logsource_of(family: stockade_model::event::Family) -> rsigma_parser::LogSource {
    rsigma_parser::LogSource { category: Some(family.as_str().to_owned()), ..Default::default() }
}

fn micros(at: &DateTime<FixedOffset>) -> i64 {
    at.timestamp_micros()
}

fn at_micros(us: i64, offset: FixedOffset) -> DateTime<FixedOffset> {
    DateTime::from_timestamp_micros(us).unwrap_or_default().with_timezone(&offset)
}

/// A Sigma level as its rule files spell it.
pub fn level_name(l: rsigma_parser::Level) -> &'static str {
    use rsigma_parser::Level as L;
    match l {
        L::Informational => "informational",
        L::Low => "low",
        L::Medium => "medium",
        L::High => "high",
        L::Critical => "critical",
    }
}

/// The event's entities, worked out the first time they are asked for.
fn entities_once<'a>(slot: &'a mut Option<Vec<Entity>>, event: &Event, enriched: &Enriched<'_>) -> &'a Vec<Entity> {
    slot.get_or_insert_with(|| entities(event, enriched))
}

fn entities(event: &Event, enriched: &Enriched<'_>) -> Vec<Entity> {
    let mut out: Vec<Entity> = event
        .entity_ids()
        .into_iter()
        .filter(|(t, _)| !matches!(t, stockade_model::event::EntityType::Site))
        .map(|(t, id)| Entity { kind: t.as_str().to_owned(), id: id.to_owned() })
        .collect();
    for (kind, path) in [("person", "ctx.person"), ("zone", "ctx.zone")] {
        if let Some(id) = enriched.text(path) {
            let e = Entity { kind: kind.into(), id };
            if !out.contains(&e) {
                out.push(e);
            }
        }
    }
    out
}

impl Detector {
    /// A detector with empty state.
    pub fn new(pack: Pack, reference: &ReferenceData) -> Detector {
        Self::resume(pack, reference, State::default())
    }

    /// A detector that carries on from a saved state.
    pub fn resume(pack: Pack, reference: &ReferenceData, mut state: State) -> Detector {
        let config = CorrelationConfig {
            timestamp_fields: vec!["occurred_at".into()],
            timestamp_fallback: TimestampFallback::Skip,
            correlation_event_mode: CorrelationEventMode::Refs,
            max_correlation_events: 20,
            // A correlation fires once per window, not on every later event.
            action_on_match: rsigma_eval::CorrelationAction::Reset,
            ..CorrelationConfig::default()
        };
        let mut engine = CorrelationEngine::new(config);
        engine.set_logsource_extractor(Some(rsigma_eval::LogSourceExtractor::new().with_field_names(
            "product",
            "service",
            "ctx.family",
        )));
        // The pack was checked whole: a rule the engine still refuses is
        // left out of it (and named in the log by the caller's pack load).
        for r in &pack.collection.rules {
            let _ = engine.add_rule(r);
        }
        for c in &pack.collection.correlations {
            let _ = engine.add_correlation(c);
        }
        if let Some(snap) = state.correlation.take() {
            engine.import_state(snap);
        }
        state.reconcile.thaw(reference);
        state.cases.set_broad(broad_zones(reference));
        let mut awaited_by: HashMap<String, Vec<String>> = HashMap::new();
        for info in pack.rules.values() {
            if let Some(a) = &info.absence {
                for b in &a.rules {
                    awaited_by.entry(b.clone()).or_default().push(info.id.clone());
                }
            }
        }
        let longest_absence =
            pack.rules.values().filter_map(|i| i.absence.as_ref()).map(|a| a.within).max().unwrap_or(0);
        let b_sources = state.seen.values().map(|(_, source)| source.clone()).collect();
        let learned = std::mem::take(&mut state.learned);
        let ctx = Context { reference: std::sync::Arc::new(crate::context::Reference::new(reference)), learned };
        Detector {
            pack,
            engine,
            ctx,
            awaited_by,
            state,
            recent: VecDeque::new(),
            recent_ids: HashMap::new(),
            recent_base: 0,
            logsources: Vec::new(),
            longest_absence,
            sweep_every: (longest_absence * 1_000_000 / 4).max(3_600_000_000),
            b_sources,
        }
    }

    /// A new rule pack, from the next event on, keeping what was learned and
    /// the open cases: correlation windows of rules that kept their id carry
    /// over, waits of absences the new pack no longer has are dropped.
    pub fn reload(&mut self, pack: Pack, reference: &ReferenceData) {
        let mut state = self.state();
        state.pending.retain(|p| pack.rules.get(&p.rule).is_some_and(|r| r.absence.is_some()));
        let recent = std::mem::take(&mut self.recent);
        *self = Detector::resume(pack, reference, state);
        self.recent_ids = recent.iter().enumerate().map(|(i, (id, _, _))| (id.clone(), i)).collect();
        self.recent = recent;
    }

    /// New reference data (an import): rules see it from the next event on.
    pub fn set_reference(&mut self, reference: &ReferenceData) {
        self.ctx.reference = std::sync::Arc::new(crate::context::Reference::new(reference));
        self.state.reconcile.thaw(reference);
        self.state.cases.set_broad(broad_zones(reference));
    }

    /// The rules in force.
    pub fn pack(&self) -> &Pack {
        &self.pack
    }

    /// Everything needed to resume.
    pub fn state(&self) -> State {
        // Field by field: each copied once (a save copies it under the
        // detector's lock, and a month of learning is tens of megabytes).
        let s = &self.state;
        State {
            learned: self.ctx.learned.clone(),
            correlation: Some(self.engine.export_state()),
            seen: s.seen.clone(),
            pending: s.pending.clone(),
            cases: s.cases.clone(),
            watermarks: s.watermarks.clone(),
            swept: s.swept.clone(),
            reconcile: s.reconcile.frozen(),
            peers: s.peers.clone(),
            volume: s.volume.clone(),
            contained: s.contained.clone(),
        }
    }

    fn remember(&mut self, event: &Event, seq: i64, ents: &[Entity]) {
        let key = EventKey::of(event, seq);
        self.recent.push_back((key.id.clone(), key, ents.to_vec()));
        self.recent_ids.insert(event.id.as_str().to_owned(), self.recent_base + self.recent.len() - 1);
        while self.recent.len() > RECENT {
            if let Some((id, _, _)) = self.recent.pop_front() {
                if self.recent_ids.get(&id) == Some(&self.recent_base) {
                    self.recent_ids.remove(&id);
                }
                self.recent_base += 1;
            }
        }
    }

    fn recalled(&self, id: &str) -> Option<&(String, EventKey, Vec<Entity>)> {
        let i = self.recent_ids.get(id)?.checked_sub(self.recent_base)?;
        self.recent.get(i)
    }

    /// An alert of rule `id` on the event at hand.
    fn alert(&self, id: &str, event: &Event, seq: i64, entities: Vec<Entity>, reason: String) -> Alert {
        let info = &self.pack.rules[id];
        Alert {
            rule: id.to_owned(),
            title: info.title.clone(),
            level: level_name(info.level).into(),
            site: event.site.as_str().to_owned(),
            at: event.occurred_at,
            seq,
            event: EventKey::of(event, seq),
            related: vec![],
            entities,
            reason,
            attribution: None,
        }
    }

    /// Applies one event (call in seq order).
    pub fn observe(&mut self, seq: i64, event: &Event) -> Output {
        self.take(seq, event, true)
    }

    /// Learns from one event as [`Detector::observe`] does (what context,
    /// the book, baselines, peers, correlation windows and absences' Bs
    /// carry to the events after it) but raises nothing of its own: no
    /// alert, no wait for an absence's B, no case. For history before a
    /// period's start (`stockade detect --from`): the period's events are
    /// then judged as they would have been after all of it. (Waits that
    /// events observed before it started still end, and raise.)
    pub fn learn(&mut self, seq: i64, event: &Event) -> Output {
        self.take(seq, event, false)
    }

    fn take(&mut self, seq: i64, event: &Event, raise: bool) -> Output {
        // Stockade's own records: a containment changes what is watched,
        // and is no signal itself.
        if event.body.kind().family() == stockade_model::event::Family::Record {
            self.state.contained.observe(event);
            return Output::default();
        }
        let reference = self.ctx.reference.clone();
        let facts = self.ctx.enrich(&reference, event);
        let enriched = Enriched::new(event, facts);
        let family = event.body.kind().family();
        let at = match self.logsources.iter().position(|(f, _)| *f == family) {
            Some(at) => at,
            None => {
                self.logsources.push((family, logsource_of(family)));
                self.logsources.len() - 1
            }
        };
        let matches = self.engine.engine().evaluate_pruned(&enriched, &self.logsources[at].1);
        self.apply(seq, event, &enriched, &reference, matches, raise)
    }

    /// One event, enriched and matched (a signal, not a record), through
    /// what carries state from event to event: correlations, absences, the
    /// book, baselines, cases.
    fn apply(
        &mut self,
        seq: i64,
        event: &Event,
        enriched: &Enriched<'_>,
        reference: &crate::context::Reference,
        matches: Vec<rsigma_eval::EvaluationResult>,
        raise: bool,
    ) -> Output {
        let mut out = Output::default();
        let at = event.occurred_at;
        let now = micros(&at);
        let source = event.source.as_str();
        // The entities are worked out once, for an event that raises an
        // alert or that a correlation may name later (one matched by a rule
        // some correlation names: only those are remembered).
        let mut ents: Option<Vec<Entity>> = None;
        let correlated = matches.iter().any(|m| {
            let rule = m.header.rule_id.as_deref().and_then(|uuid| self.pack.names.get(uuid));
            rule.and_then(|id| self.pack.rules.get(id)).is_some_and(|info| info.correlated)
        });
        if correlated {
            let e = entities(event, enriched);
            self.remember(event, seq, &e);
            ents = Some(e);
        }
        let shortage = self.state.reconcile.observe(seq, event, enriched, reference);
        let results = self.engine.process_with_detections(enriched, matches, at.timestamp());
        let mut alerts: Vec<Alert> = shortage.iter().map(|a| crate::reconcile::alert(a, event, seq)).collect();
        for s in self.state.reconcile.take_skipped() {
            alerts.push(crate::reconcile::skip_alert(&s, event, seq));
        }
        if let Some(d) = self.state.peers.observe(event, enriched.facts()) {
            alerts.push(crate::peers::alert(&d, event, seq));
        }
        let ctx_str = |k: &str| enriched.facts().str(k);
        for b in self.state.volume.observe(event, ctx_str("person"), ctx_str("zone")) {
            alerts.push(crate::volume::alert(&b, event, seq));
        }
        for b in self.state.contained.observe(event) {
            alerts.push(crate::contained::alert(&b, event, seq, entities_once(&mut ents, event, enriched).clone()));
        }
        if !raise {
            alerts.clear();
        }
        let is_this = |k: &EventKey| k.seq == Some(seq) && k.id == event.id.as_str() && k.source == source;
        for r in &results {
            let Some(uuid) = r.header.rule_id.as_deref() else { continue };
            let Some(id) = self.pack.names.get(uuid).cloned() else { continue };
            let Some(info) = self.pack.rules.get(&id) else { continue };
            if let Some(c) = r.as_correlation() {
                if !raise {
                    continue;
                }
                let mut related = Vec::new();
                let mut all = entities_once(&mut ents, event, enriched).clone();
                for er in c.event_refs.iter().flatten() {
                    if let Some((_, k, e)) = er.id.as_deref().and_then(|i| self.recalled(i)) {
                        if !is_this(k) && !related.contains(k) {
                            related.push(k.clone());
                        }
                        for x in e {
                            if !all.contains(x) {
                                all.push(x.clone());
                            }
                        }
                    }
                }
                let group: Vec<String> = c.group_key.iter().map(|(f, v)| format!("{f}={v}")).collect();
                let reason = format!(
                    "{} ({} {} within {}s for {})",
                    info.description.trim(),
                    c.correlation_type.as_str(),
                    c.aggregated_value,
                    c.timespan_secs,
                    group.join(", ")
                );
                let mut alert = self.alert(&id, event, seq, all, reason);
                alert.related = related;
                alerts.push(alert);
                continue;
            }
            let Some(d) = r.as_detection() else { continue };
            // This rule is some absence's B: it cancels waits and is remembered.
            for absence in self.awaited_by.get(&id).into_iter().flatten() {
                let Some(a) = self.pack.rules.get(absence).and_then(|i| i.absence.as_ref()) else { continue };
                let k = absence_key(absence, event.site.as_str(), &a.matching, enriched);
                self.state.pending.retain(|p| !(p.key == k && now >= p.since && now <= p.deadline));
                match self.state.seen.get_mut(&k) {
                    Some(slot) => slot.0 = slot.0.max(now),
                    None => {
                        self.state.seen.insert(k, (now, source.to_owned()));
                        if !self.b_sources.contains(source) {
                            self.b_sources.insert(source.to_owned());
                        }
                    }
                }
            }
            if !raise {
                continue;
            }
            // What the match leads to, before its alert is built: an
            // absence's A whose B came before raises nothing, nor does a
            // building block of its own.
            let wait = match &info.absence {
                Some(a) => {
                    let k = absence_key(&id, event.site.as_str(), &a.matching, enriched);
                    let within = a.within * 1_000_000;
                    let before = self.state.seen.get(&k).is_some_and(|(t, _)| *t <= now && now - *t <= within);
                    match a.look {
                        Look::Before if !before => None,
                        Look::After | Look::Around if !(a.look == Look::Around && before) => Some((k, within)),
                        _ => continue,
                    }
                }
                None if info.building_block => continue,
                None => None,
            };
            let matched: Vec<String> = d.matched_fields.iter().map(|m| format!("{}={}", m.field, m.value)).collect();
            let reason = if matched.is_empty() {
                info.description.trim().to_owned()
            } else {
                format!("{} ({})", info.description.trim(), matched.join(", "))
            };
            let alert = self.alert(&id, event, seq, entities_once(&mut ents, event, enriched).clone(), reason);
            match wait {
                Some((key, within)) => self.state.pending.push(Pending {
                    rule: id.clone(),
                    key,
                    source: source.to_owned(),
                    since: now,
                    deadline: now + within,
                    alert,
                }),
                None => alerts.push(alert),
            }
        }
        match self.state.watermarks.get_mut(source) {
            Some(mark) => *mark = (*mark).max(now),
            None => {
                self.state.watermarks.insert(source.to_owned(), now);
            }
        }
        alerts.extend(self.expire(source));
        for a in alerts {
            let (n, opening) = self.state.cases.add(&a);
            out.alerts.push((a, n));
            out.openings.extend(opening);
        }
        out
    }

    /// Absences of `source` whose wait is over (its clock past their
    /// deadline plus the reorder window).
    fn expire(&mut self, source: &str) -> Vec<Alert> {
        let watermark = self.state.watermarks.get(source).copied().unwrap_or(i64::MIN);
        let mark = watermark.saturating_sub(REORDER_S * 1_000_000);
        // Taken out in order, the rest left in order; most events find none
        // due, and then the waits are only read (not moved).
        let is_due = |p: &Pending| p.source == source && p.deadline <= mark;
        let due: Vec<Pending> = if self.state.pending.iter().any(is_due) {
            self.state.pending.extract_if(.., |p| is_due(p)).collect()
        } else {
            Vec::new()
        };
        // Forget this source's Bs that no absence can still ask about (once
        // a sweep period of its clock: the sweep walks every remembered B).
        if !self.b_sources.contains(source) {
            return self.fire(due);
        }
        let period = watermark / self.sweep_every;
        if self.state.swept.get(source) == Some(&period) {
            return self.fire(due);
        }
        self.state.swept.insert(source.to_owned(), period);
        let horizon = watermark.saturating_sub((self.longest_absence + REORDER_S) * 1_000_000);
        self.state.seen.retain(|_, (t, s)| *t >= horizon || s != source);
        self.fire(due)
    }

    fn fire(&self, due: Vec<Pending>) -> Vec<Alert> {
        due.into_iter()
            .map(|p| {
                let mut a = p.alert;
                let waited = (p.deadline - p.since) / 1_000_000;
                a.related.push(a.event.clone());
                a.at = at_micros(p.deadline, *a.at.offset());
                a.reason = format!("{} (nothing awaited came within {waited}s)", a.reason);
                a
            })
            .collect()
    }
}

fn absence_key(rule: &str, site: &str, fields: &[String], v: &Enriched<'_>) -> String {
    let mut k = format!("{rule}\u{1f}{site}");
    for f in fields {
        k.push('\u{1f}');
        k.push_str(&v.text(f).unwrap_or_default());
    }
    k
}

/// Zones too wide to join alerts into one case (public and general areas:
/// the whole floor is one zone at many sites).
fn broad_zones(reference: &ReferenceData) -> std::collections::BTreeSet<String> {
    use stockade_model::reference::SecurityTier;
    reference
        .zones
        .iter()
        .filter(|z| matches!(z.tier, SecurityTier::Public | SecurityTier::General))
        .map(|z| z.id.as_str().to_owned())
        .collect()
}
