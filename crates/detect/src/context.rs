//! What a rule can know beyond the event: the reference data (zone tiers,
//! shifts in the site's own time zone, employment, vendor windows, SKU
//! values) and what earlier events taught (terminations, revocations, the
//! places and networks each person and credential has been seen in).
//!
//! [`Context::enrich`] works it out as [`Facts`], which rules read under
//! `ctx.*` beside the event's own fields ([`Enriched`], the event as the
//! Sigma engine sees it), so rules stay plain Sigma (a `ctx.after_hours:
//! true` selection is a field match to any Sigma tool). `docs/RULES.md`
//! lists every field.
//!
//! Invariant: enrichment of an event depends only on the reference data and
//! on events applied before it (in seq order), so a replay enriches alike.

use chrono::{DateTime, Datelike, NaiveTime, Timelike};
use chrono_tz::Tz;
use rsigma_eval::event::{EventValue, JsonEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use stockade_model::event::{Event, EventBody, Member};
use stockade_model::reference::{EmploymentStatus, ReferenceData};

/// Days of a site's history before `ctx.novel_*` fields may say `true`:
/// before that, everything is new.
pub const NOVELTY_WARMUP_DAYS: i64 = 7;

/// Every field [`Context::enrich`] may write, for rule validation.
pub const CONTEXT_FIELDS: &[&str] = &[
    "ctx.family",
    "ctx.local_time",
    "ctx.local_hour",
    "ctx.weekday",
    "ctx.after_hours",
    "ctx.zone",
    "ctx.zone_tier",
    "ctx.from_zone_tier",
    "ctx.door_dock",
    "ctx.door_scheduled",
    "ctx.person",
    "ctx.person_role",
    "ctx.person_status",
    "ctx.person_on_shift",
    "ctx.person_vendor",
    "ctx.vendor",
    "ctx.vendor_window",
    "ctx.badge_status",
    "ctx.badge_zone_allowed",
    "ctx.badge_jump",
    "ctx.credential_revoked",
    "ctx.sku_tier",
    "ctx.value_at_stake",
    "ctx.ip_internal",
    "ctx.novel_zone",
    "ctx.novel_network",
    "ctx.asset_maintainer",
    "ctx.maintainer_window",
    "ctx.by_maintainer",
    "ctx.ip_site",
    "ctx.to_location_counted",
    "ctx.person_tenure_days",
    "ctx.hour_share",
    "ctx.hour_history",
];

/// One `ctx.*` value: text (borrowed from the event or the reference data
/// where it can be), a number or a truth value.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A number that is not one (never made by the context's own sums).
    Null,
}

impl<'a> From<&'a str> for Fact<'a> {
    fn from(s: &'a str) -> Self {
        Fact::Str(Cow::Borrowed(s))
    }
}

impl From<String> for Fact<'_> {
    fn from(s: String) -> Self {
        Fact::Str(Cow::Owned(s))
    }
}

impl From<bool> for Fact<'_> {
    fn from(b: bool) -> Self {
        Fact::Bool(b)
    }
}

impl From<u32> for Fact<'_> {
    fn from(n: u32) -> Self {
        Fact::Int(i64::from(n))
    }
}

impl From<f64> for Fact<'_> {
    fn from(x: f64) -> Self {
        if x.is_finite() { Fact::Float(x) } else { Fact::Null }
    }
}

impl Fact<'_> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Fact::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Fact::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Fact::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        }
    }

    /// As JSON (a float as JSON numbers are: `1.0`, not `1`).
    pub fn to_json(&self) -> Value {
        match self {
            Fact::Str(s) => Value::String(s.as_ref().to_owned()),
            Fact::Int(n) => Value::from(*n),
            Fact::Float(x) => Value::from(*x),
            Fact::Bool(b) => Value::Bool(*b),
            Fact::Null => Value::Null,
        }
    }

    fn event_value(&self) -> EventValue<'_> {
        match self {
            Fact::Str(s) => EventValue::Str(Cow::Borrowed(s)),
            Fact::Int(n) => EventValue::Int(*n),
            Fact::Float(x) => EventValue::Float(*x),
            Fact::Bool(b) => EventValue::Bool(*b),
            Fact::Null => EventValue::Null,
        }
    }
}

/// An event's `ctx.*`, by name (each once), in the order worked out: a
/// few dozen at most, so a list read in order beats a hashed map that
/// allocates each name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts<'a> {
    members: Vec<(&'static str, Fact<'a>)>,
}

impl<'a> Facts<'a> {
    pub fn insert(&mut self, name: &'static str, value: impl Into<Fact<'a>>) {
        let value = value.into();
        match self.members.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.members.push((name, value)),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Fact<'a>> {
        self.members.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Fact::as_str)
    }

    /// As the JSON object rules read under `ctx`.
    pub fn to_json(&self) -> Value {
        Value::Object(self.members.iter().map(|(n, v)| ((*n).to_owned(), v.to_json())).collect())
    }
}

/// The event as rules see it: its own fields (the members of the model's
/// serialisation, a JSON object) with its [`Facts`] under `ctx`. What the
/// Sigma engine evaluates, read in place: `ctx.*` from the facts, the
/// event's top-level members from the typed event
/// ([`Event::member`]), and what lies inside an object or list member
/// (`epcis.biz_step`, `flags`) from the event's JSON form, made only when
/// a rule asks for it.
pub struct Enriched<'a> {
    event: &'a Event,
    facts: Facts<'a>,
    /// The event's JSON form, made on the first read that needs it.
    json: std::cell::OnceCell<Value>,
}

impl<'a> Enriched<'a> {
    pub fn new(event: &'a Event, facts: Facts<'a>) -> Enriched<'a> {
        Enriched { event, facts, json: std::cell::OnceCell::new() }
    }

    pub fn facts(&self) -> &Facts<'a> {
        &self.facts
    }

    fn json(&self) -> &Value {
        self.json.get_or_init(|| fields_of(self.event))
    }

    /// Whether a path reaches inside one of the event's object or list
    /// members (read from the JSON form).
    fn inside_structured(&self, path: &str) -> bool {
        let root = path.split(['.', '[']).next().unwrap_or(path);
        root.len() < path.len() && self.event.member(root) == Some(Member::Structured)
    }

    /// A dotted path's value as text: a `ctx.*` fact, else the event's
    /// member (or a value inside one), JSON for what is not text; None
    /// where absent or null.
    pub fn text(&self, path: &str) -> Option<String> {
        if let Some(name) = path.strip_prefix("ctx.") {
            return match self.facts.get(name)? {
                Fact::Str(s) => Some(s.as_ref().to_owned()),
                Fact::Null => None,
                other => Some(other.to_json().to_string()),
            };
        }
        let found = match self.event.member(path) {
            Some(Member::Structured) => self.json().get(path)?,
            Some(m) => return m.to_text(),
            None if self.inside_structured(path) => {
                let mut cur = self.json();
                for part in path.split('.') {
                    cur = cur.get(part)?;
                }
                cur
            }
            None => return None,
        };
        match found {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }
}

/// A member as the Sigma engine reads it (as `JsonEvent` reads the same
/// member of the JSON form).
fn member_value(m: Member<'_>) -> EventValue<'_> {
    match m {
        Member::Text(s) => EventValue::Str(Cow::Borrowed(s)),
        Member::Int(n) => EventValue::Int(n),
        Member::Float(x) => EventValue::Float(x),
        Member::Bool(b) => EventValue::Bool(b),
        other => match other.to_json() {
            Some(Value::String(s)) => EventValue::Str(Cow::Owned(s)),
            _ => EventValue::Null,
        },
    }
}

impl rsigma_eval::event::Event for Enriched<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        if let Some(name) = path.strip_prefix("ctx.") {
            return self.facts.get(name).map(Fact::event_value);
        }
        if path == "ctx" {
            return Some(EventValue::Map(
                self.facts.members.iter().map(|(n, v)| (Cow::Borrowed(*n), v.event_value())).collect(),
            ));
        }
        match self.event.member(path) {
            Some(Member::Structured) => self.json().get(path).map(EventValue::from),
            Some(m) => Some(member_value(m)),
            None if self.inside_structured(path) => JsonEvent::borrow(self.json()).get_field(path).map(owned_value),
            None => None,
        }
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        let mut found = false;
        self.visit_string_values(&mut |s| found = found || pred(s));
        found
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        let mut all = Vec::new();
        self.visit_string_values(&mut |s| all.push(Cow::Owned(s.to_owned())));
        all
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        let mut structured = false;
        self.event.each_member(&mut |_, m| match m {
            Member::Text(s) => visit(s),
            Member::Int(_) | Member::Float(_) | Member::Bool(_) => {}
            Member::Structured => structured = true,
            // Addresses and times, as the JSON form writes them.
            other => {
                if let Some(s) = other.to_text() {
                    visit(&s)
                }
            }
        });
        if structured && let Value::Object(members) = self.json() {
            for v in members.values().filter(|v| v.is_object() || v.is_array()) {
                JsonEvent::borrow(v).visit_string_values(visit);
            }
        }
        for s in self.facts.members.iter().filter_map(|(_, v)| v.as_str()) {
            visit(s);
        }
    }

    fn to_json(&self) -> Value {
        let mut v = self.json().clone();
        if let Value::Object(m) = &mut v {
            m.insert("ctx".into(), self.facts.to_json());
        }
        v
    }

    fn top_level_keys(&self) -> Option<Vec<Cow<'_, str>>> {
        let mut keys = Vec::new();
        self.event.each_member(&mut |name, _| keys.push(Cow::Borrowed(name)));
        keys.push(Cow::Borrowed("ctx"));
        Some(keys)
    }

    fn visit_top_level_keys(&self, visit: &mut dyn FnMut(&str)) -> bool {
        self.event.each_member(&mut |name, _| visit(name));
        visit("ctx");
        true
    }
}

/// A value found by `JsonEvent`'s path walk, owned (the walk's answer
/// borrows the walker, not the JSON form it walks).
fn owned_value(v: EventValue<'_>) -> EventValue<'static> {
    match v {
        EventValue::Str(s) => EventValue::Str(Cow::Owned(s.into_owned())),
        EventValue::Int(n) => EventValue::Int(n),
        EventValue::Float(x) => EventValue::Float(x),
        EventValue::Bool(b) => EventValue::Bool(b),
        EventValue::Null => EventValue::Null,
        EventValue::Array(a) => EventValue::Array(a.into_iter().map(owned_value).collect()),
        EventValue::Map(m) => {
            EventValue::Map(m.into_iter().map(|(k, v)| (Cow::Owned(k.into_owned()), owned_value(v))).collect())
        }
    }
}

/// A weekly window in a site's local time.
#[derive(Debug, Clone)]
struct Window {
    weekdays: Vec<u8>,
    start: NaiveTime,
    end: NaiveTime,
}

impl Window {
    fn contains(&self, local: &DateTime<Tz>) -> bool {
        let t = local.time();
        let day = local.weekday().number_from_monday() as u8;
        if self.start <= self.end {
            self.weekdays.contains(&day) && t >= self.start && t < self.end
        } else {
            // Past midnight: the part after midnight belongs to the day before.
            let yesterday = if day == 1 { 7 } else { day - 1 };
            (self.weekdays.contains(&day) && t >= self.start) || (self.weekdays.contains(&yesterday) && t < self.end)
        }
    }
}

#[derive(Debug, Clone, Default)]
struct SiteInfo {
    tz: Option<Tz>,
    /// Working shifts (vendor windows excluded).
    work: Vec<Window>,
}

#[derive(Debug, Clone)]
struct PersonInfo {
    role: String,
    status: EmploymentStatus,
    vendor: Option<String>,
    shifts: Vec<String>,
}

/// The reference data as rules see it. Built whole on each reload.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    sites: HashMap<String, SiteInfo>,
    shifts: HashMap<String, (String, Window)>,
    zones: HashMap<String, String>,
    doors: HashMap<String, (String, bool, Vec<String>)>,
    /// The zone each door leads from, when known.
    door_from: HashMap<String, String>,
    cameras: HashMap<String, String>,
    readers: HashMap<String, String>,
    locations: HashMap<String, String>,
    people: HashMap<String, PersonInfo>,
    badges: HashMap<String, (String, String, Vec<String>)>,
    accounts: HashMap<String, String>,
    vendors: HashMap<String, Vec<String>>,
    skus: HashMap<String, (f64, String)>,
    assets: HashMap<String, (Option<String>, Option<String>)>,
    /// Each site's own networks, as reference data lists them.
    networks: Vec<(ipnet::IpNet, String)>,
}

fn snake<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

impl Reference {
    /// A SKU's unit value and value tier, when reference data has it.
    pub fn sku(&self, sku: &str) -> Option<(f64, &str)> {
        self.skus.get(sku).map(|(v, t)| (*v, t.as_str()))
    }

    /// Whether a zone is secure: a high-value cage or an IT/OT room.
    pub fn zone_secure(&self, zone: &str) -> bool {
        self.zones.get(zone).is_some_and(|t| t == "high_value_cage" || t == "it_ot_room")
    }

    /// The zone a storage location is in.
    pub fn location_zone(&self, location: &str) -> Option<&str> {
        self.locations.get(location).map(String::as_str)
    }

    pub fn new(data: &ReferenceData) -> Reference {
        let mut r = Reference::default();
        let window_ids: BTreeSet<&str> =
            data.vendors.iter().flat_map(|v| v.windows.iter().map(|w| w.as_str())).collect();
        for s in &data.shifts {
            let (Ok(start), Ok(end)) =
                (NaiveTime::parse_from_str(&s.start, "%H:%M"), NaiveTime::parse_from_str(&s.end, "%H:%M"))
            else {
                continue;
            };
            let w = Window { weekdays: s.weekdays.clone(), start, end };
            if !window_ids.contains(s.id.as_str()) {
                r.sites.entry(s.site.as_str().to_owned()).or_default().work.push(w.clone());
            }
            r.shifts.insert(s.id.as_str().to_owned(), (s.site.as_str().to_owned(), w));
        }
        for s in &data.sites {
            r.sites.entry(s.id.as_str().to_owned()).or_default().tz = Some(s.timezone);
            r.networks.extend(s.networks.iter().map(|n| (*n, s.id.as_str().to_owned())));
        }
        // The most specific network first, so that a site's subnet wins over a wider one.
        r.networks.sort_by_key(|(n, _)| std::cmp::Reverse(n.prefix_len()));
        for z in &data.zones {
            r.zones.insert(z.id.as_str().to_owned(), snake(&z.tier));
        }
        for d in &data.doors {
            let schedule = d.schedule.iter().map(|s| s.as_str().to_owned()).collect();
            r.doors.insert(d.id.as_str().to_owned(), (d.to_zone.as_str().to_owned(), d.dock, schedule));
            if let Some(z) = &d.from_zone {
                r.door_from.insert(d.id.as_str().to_owned(), z.as_str().to_owned());
            }
        }
        for rd in &data.readers {
            r.readers.insert(rd.id.as_str().to_owned(), rd.door.as_str().to_owned());
        }
        for c in &data.cameras {
            if let Some(z) = c.zones.first() {
                r.cameras.insert(c.id.as_str().to_owned(), z.as_str().to_owned());
            }
        }
        for l in &data.locations {
            r.locations.insert(l.id.as_str().to_owned(), l.zone.as_str().to_owned());
        }
        for p in &data.people {
            for a in &p.accounts {
                r.accounts.insert(a.as_str().to_owned(), p.id.as_str().to_owned());
            }
            r.people.insert(
                p.id.as_str().to_owned(),
                PersonInfo {
                    role: p.role.clone(),
                    status: p.status,
                    vendor: p.vendor.as_ref().map(|v| v.as_str().to_owned()),
                    shifts: p.shifts.iter().map(|s| s.as_str().to_owned()).collect(),
                },
            );
        }
        for b in &data.badges {
            r.badges.insert(
                b.id.as_str().to_owned(),
                (
                    b.person.as_str().to_owned(),
                    snake(&b.status),
                    b.zones.iter().map(|z| z.as_str().to_owned()).collect(),
                ),
            );
        }
        for v in &data.vendors {
            r.vendors.insert(v.id.as_str().to_owned(), v.windows.iter().map(|w| w.as_str().to_owned()).collect());
        }
        for s in &data.skus {
            r.skus.insert(s.id.as_str().to_owned(), (s.unit_value, snake(&s.value_tier)));
        }
        for a in &data.assets {
            r.assets.insert(
                a.id.as_str().to_owned(),
                (a.vendor.as_ref().map(|v| v.as_str().to_owned()), a.zone.as_ref().map(|z| z.as_str().to_owned())),
            );
        }
        r
    }

    /// The site whose own networks hold an address.
    fn ip_site(&self, addr: std::net::IpAddr) -> Option<&str> {
        self.networks.iter().find(|(n, _)| n.contains(&addr)).map(|(_, s)| s.as_str())
    }

    fn in_shift(&self, id: &str, site: &str, local: &DateTime<Tz>) -> bool {
        self.shifts.get(id).is_some_and(|(s, w)| s == site && w.contains(local))
    }
}

/// What earlier events taught; saved with the detector's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Learned {
    /// Employment status by person from HR events, with the time (µs) each
    /// took effect: an event sees the status at its own time, whatever
    /// order sources deliver in (overrides reference data).
    status: BTreeMap<String, Vec<(i64, String)>>,
    /// Badges, accounts and API keys revoked (true) or issued again (false)
    /// by identity events, with the time each took effect.
    revoked: BTreeMap<String, Vec<(i64, bool)>>,
    /// The first event time (µs) seen per site: novelty waits for a history.
    site_since: BTreeMap<String, i64>,
    /// `person|zone` pairs seen.
    zones_seen: BTreeSet<String>,
    /// `credential|network` pairs seen (/24 of IPv4, /48 of IPv6).
    networks_seen: BTreeSet<String>,
    /// Each badge's last grant: door, time (µs), and the zone it led into
    /// when the read's direction says.
    last_grant: BTreeMap<String, (String, i64, Option<String>)>,
    /// `site|location` pairs some count has covered.
    #[serde(default)]
    counted: BTreeSet<String>,
    /// Sites whose opening stock-take has been seen: every place holding
    /// stock was counted then, so "never counted" means something at once.
    #[serde(default)]
    stocktaken: BTreeSet<String>,
    /// Per `family|person` (access grants, logins): events per local hour
    /// of the week, working days pooled (48: Monday to Friday 00:00-23:00,
    /// then Saturday and Sunday), the person's profile.
    #[serde(default)]
    hours: BTreeMap<String, Vec<u32>>,
    /// When each person was hired, from HR events.
    #[serde(default)]
    hired: BTreeMap<String, i64>,
}

/// Seconds within which two grants of one badge at doors with no zone in
/// common cannot be one person walking (`ctx.badge_jump`).
pub const JUMP_S: i64 = 60;

/// What a timeline says at `at`: its last entry at or before it.
fn as_of<T: Clone>(line: Option<&Vec<(i64, T)>>, at: i64) -> Option<T> {
    line?.iter().filter(|(t, _)| *t <= at).max_by_key(|(t, _)| *t).map(|(_, v)| v.clone())
}

fn record<T>(line: &mut Vec<(i64, T)>, at: i64, v: T) {
    line.push((at, v));
    line.sort_by_key(|(t, _)| *t);
}

/// The reference data and what was learned: everything `ctx.*` says.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Shared, so that what an event's facts borrow from it outlives a
    /// borrow of the context (the detector's state changes meanwhile).
    pub reference: Arc<Reference>,
    pub learned: Learned,
}

/// The members of an event's object the context reads, found in one pass
/// over it (instead of a hashed lookup per name, most of which miss): each
/// as text where it is text (ids are text), the quantities as they are.
#[derive(Debug, Default, Clone, Copy)]
struct Named<'a> {
    door: Option<&'a str>,
    reader: Option<&'a str>,
    zone: Option<&'a str>,
    camera: Option<&'a str>,
    location: Option<&'a str>,
    from_location: Option<&'a str>,
    to_location: Option<&'a str>,
    asset: Option<&'a str>,
    badge: Option<&'a str>,
    person: Option<&'a str>,
    account: Option<&'a str>,
    api_key: Option<&'a str>,
    vendor: Option<&'a str>,
    sku: Option<&'a str>,
    source_ip: Option<std::net::IpAddr>,
    quantity: Option<f64>,
    delta: Option<f64>,
}

impl<'a> Named<'a> {
    fn of(event: &'a Event) -> Named<'a> {
        let mut n = Named::default();
        event.each_member(&mut |k, v| {
            let number = || match v {
                Member::Int(i) => Some(i as f64),
                Member::Float(x) => Some(x),
                _ => None,
            };
            let slot = match k {
                "door" => &mut n.door,
                "reader" => &mut n.reader,
                "zone" => &mut n.zone,
                "camera" => &mut n.camera,
                "location" => &mut n.location,
                "from_location" => &mut n.from_location,
                "to_location" => &mut n.to_location,
                "asset" => &mut n.asset,
                "badge" => &mut n.badge,
                "person" => &mut n.person,
                "account" => &mut n.account,
                "api_key" => &mut n.api_key,
                "vendor" => &mut n.vendor,
                "sku" => &mut n.sku,
                "source_ip" => {
                    if let Member::Ip(ip) = v {
                        n.source_ip = Some(ip);
                    }
                    return;
                }
                "quantity" => {
                    n.quantity = number();
                    return;
                }
                "delta" => {
                    n.delta = number();
                    return;
                }
                _ => return,
            };
            if let Member::Text(t) = v {
                *slot = Some(t);
            }
        });
        n
    }
}

fn network(addr: std::net::IpAddr) -> Option<String> {
    Some(match addr {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    })
}

fn internal(addr: std::net::IpAddr) -> Option<bool> {
    Some(match addr {
        std::net::IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        std::net::IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    })
}

/// The events whose hours make a person's weekly profile: access grants
/// and logins that succeeded.
fn profiled(event: &Event) -> Option<&'static str> {
    match &event.body {
        EventBody::AccessGranted(_) => Some("access"),
        EventBody::IdentityLogin(l) if l.result == stockade_model::event::Outcome::Success => Some("login"),
        _ => None,
    }
}

/// The hour of the week of a local weekday (1 = Monday) and hour, working
/// days pooled: 0-23 Monday to Friday, 24-47 the weekend (a few weeks of
/// history fill these, where 168 separate hours would stay sparse for months).
fn hour_of_week(weekday: u32, hour: u32) -> usize {
    usize::from(weekday >= 6) * 24 + hour as usize
}

/// An event's own fields as rules see them: the model's serialisation.
pub fn fields_of(event: &Event) -> Value {
    serde_json::to_value(event).unwrap_or(Value::Null)
}

impl Context {
    pub fn new(data: &ReferenceData) -> Context {
        Context { reference: Arc::new(Reference::new(data)), learned: Learned::default() }
    }

    /// The event's `ctx.*`, from the reference data and what earlier
    /// events taught; then learns from it (call once per event, in seq
    /// order). `reference` is this context's (a clone of the `Arc`).
    pub fn enrich<'a>(&mut self, reference: &'a Reference, event: &'a Event) -> Facts<'a> {
        let (mut ctx, subject) = reference.context_of(event);
        self.learned.context_of(event, reference, &subject, &mut ctx);
        self.learned.learn(reference, event, &subject, &ctx);
        ctx
    }
}

/// Who, where and when an event is about, as the reference data resolves
/// them, and the members they were read from: what the learned part of the
/// context and the learning start from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Subject<'a> {
    named: Named<'a>,
    local: Option<DateTime<Tz>>,
    door: Option<&'a str>,
    zone: Option<&'a str>,
    person: Option<&'a str>,
    badge: Option<&'a str>,
    credential: Option<&'a str>,
    ip: Option<std::net::IpAddr>,
    to_location: Option<&'a str>,
}

impl Reference {
    /// The part of `ctx.*` that reference data alone gives, and the event's
    /// [`Subject`]. Reads nothing learned ([`Learned::context_of`] adds
    /// that, in seq order).
    pub(crate) fn context_of<'a>(&'a self, event: &'a Event) -> (Facts<'a>, Subject<'a>) {
        let r = self;
        // Sized for every ctx field: no growing as it fills.
        let mut c = Facts { members: Vec::with_capacity(CONTEXT_FIELDS.len()) };
        let site = event.site.as_str();
        c.insert("family", event.body.kind().family().as_str());
        let info = r.sites.get(site);
        let local = info.and_then(|s| s.tz).map(|tz| event.occurred_at.with_timezone(&tz));
        if let Some(l) = &local {
            c.insert("local_time", format!("{:02}:{:02}", l.hour(), l.minute()));
            c.insert("local_hour", l.hour());
            c.insert("weekday", l.weekday().number_from_monday());
            let working = info.is_some_and(|s| s.work.iter().any(|w| w.contains(l)));
            c.insert("after_hours", !working);
        }
        // The door, then the zone: named, or the door's, the camera's, the location's.
        let n = Named::of(event);
        let door = n.door.or_else(|| n.reader.and_then(|x| r.readers.get(x)).map(String::as_str));
        let door_info = door.and_then(|d| r.doors.get(d));
        if let Some((_, dock, schedule)) = door_info {
            c.insert("door_dock", *dock);
            if let (false, Some(l)) = (schedule.is_empty(), &local) {
                c.insert("door_scheduled", schedule.iter().any(|s| r.in_shift(s, site, l)));
            }
        }
        let zone = n
            .zone
            .or_else(|| door_info.map(|d| d.0.as_str()))
            .or_else(|| n.camera.and_then(|x| r.cameras.get(x)).map(String::as_str))
            .or_else(|| {
                [n.location, n.from_location, n.to_location]
                    .iter()
                    .find_map(|l| l.and_then(|x| r.locations.get(x)))
                    .map(String::as_str)
            })
            .or_else(|| n.asset.and_then(|x| r.assets.get(x)).and_then(|a| a.1.as_deref()));
        if let Some(z) = zone {
            c.insert("zone", z);
            if let Some(t) = r.zones.get(z) {
                c.insert("zone_tier", t.as_str());
            }
        }
        if let Some(t) = n.from_location.and_then(|x| r.locations.get(x)).and_then(|z| r.zones.get(z)) {
            c.insert("from_zone_tier", t.as_str());
        }
        // Who: named, or the badge's or account's holder.
        let badge = n.badge;
        let person = n
            .person
            .or_else(|| badge.and_then(|b| r.badges.get(b)).map(|b| b.0.as_str()))
            .or_else(|| n.account.and_then(|a| r.accounts.get(a)).map(String::as_str));
        let mut vendor = n.vendor;
        if let Some(p) = person {
            c.insert("person", p);
            if let Some(info) = r.people.get(p) {
                c.insert("person_role", info.role.as_str());
                if let Some(v) = &info.vendor {
                    c.insert("person_vendor", v.as_str());
                    vendor.get_or_insert(v.as_str());
                }
                if let (false, Some(l)) = (info.shifts.is_empty(), &local) {
                    c.insert("person_on_shift", info.shifts.iter().any(|s| r.in_shift(s, site, l)));
                }
            }
        }
        if let Some(v) = vendor {
            c.insert("vendor", v);
            if let (Some(windows), Some(l)) = (r.vendors.get(v), &local)
                && !windows.is_empty()
            {
                c.insert("vendor_window", windows.iter().any(|s| r.in_shift(s, site, l)));
            }
        }
        if let Some(b) = badge
            && let Some((_, status, zones)) = r.badges.get(b)
        {
            c.insert("badge_status", status.as_str());
            if let (false, Some(z)) = (zones.is_empty(), zone) {
                c.insert("badge_zone_allowed", zones.iter().any(|x| x == z));
            }
        }
        let credential = badge.or(n.account).or(n.api_key);
        if let Some((value, tier)) = n.sku.and_then(|s| r.skus.get(s)) {
            c.insert("sku_tier", tier.as_str());
            let units = n.quantity.or(n.delta).unwrap_or(0.0).abs();
            c.insert("value_at_stake", units * value);
        }
        let ip = n.source_ip;
        if let Some(ip) = ip
            && let Some(i) = internal(ip)
        {
            c.insert("ip_internal", i);
        }
        if let Some(ip) = ip
            && let Some(s) = r.ip_site(ip)
        {
            c.insert("ip_site", s);
        }
        if let Some(a) = n.asset
            && let Some((Some(v), _)) = r.assets.get(a)
        {
            c.insert("asset_maintainer", v.as_str());
            c.insert("by_maintainer", vendor == Some(v.as_str()));
            if let (Some(windows), Some(l)) = (r.vendors.get(v), &local)
                && !windows.is_empty()
            {
                c.insert("maintainer_window", windows.iter().any(|s| r.in_shift(s, site, l)));
            }
        }
        let to_location = n.to_location;
        (c, Subject { named: n, local, door, zone, person, badge, credential, ip, to_location })
    }
}

impl Learned {
    /// The part of `ctx.*` that earlier events taught, added to what
    /// [`Reference::context_of`] gave (call in seq order, before
    /// [`Learned::learn`] for the same event).
    pub(crate) fn context_of<'a>(&self, event: &Event, r: &'a Reference, s: &Subject<'a>, c: &mut Facts<'a>) {
        let site = event.site.as_str();
        let at = event.occurred_at.timestamp_micros();
        if let Some(p) = s.person {
            let status = as_of(self.status.get(p), at).or_else(|| r.people.get(p).map(|i| snake(&i.status)));
            if let Some(st) = status {
                c.insert("person_status", st);
            }
        }
        if let (Some(b), Some(d), EventBody::AccessGranted(read)) = (s.badge, s.door, &event.body)
            && let Some((prev, then, inside)) = self.last_grant.get(b)
        {
            let gap = (at - then).abs();
            // Where the holder must stand to badge here: the door's outer
            // side going in, its inner side going out.
            let stand = match read.direction {
                Some(stockade_model::event::Direction::In) => r.door_from.get(d),
                Some(stockade_model::event::Direction::Out) => r.doors.get(d).map(|x| &x.0),
                None => None,
            };
            let reachable = match (inside, stand) {
                (Some(was), Some(must)) => was == must,
                _ => {
                    let zones = |x: &str| [r.door_from.get(x), r.doors.get(x).map(|d| &d.0)];
                    zones(prev).iter().flatten().any(|z| zones(d).contains(&Some(*z)))
                }
            };
            let jump = prev != d && gap <= JUMP_S * 1_000_000 && !reachable;
            c.insert("badge_jump", jump);
        }
        if let Some(cred) = s.credential {
            let revoked = as_of(self.revoked.get(cred), at);
            c.insert("credential_revoked", revoked.unwrap_or(false));
        }
        if let (Some(p), Some(l), Some(fam)) = (s.person, &s.local, profiled(event)) {
            let profile = self.hours.get(&format!("{fam}|{p}"));
            let total: u32 = profile.map_or(0, |h| h.iter().sum());
            c.insert("hour_history", total);
            if let Some(h) = profile.filter(|_| total > 0) {
                let how = hour_of_week(l.weekday().number_from_monday(), l.hour());
                let near: u32 = [23, 0, 1].iter().map(|d| h[(how / 24) * 24 + (how % 24 + d) % 24]).sum();
                c.insert("hour_share", f64::from(near) / f64::from(total));
            }
        }
        if let Some(p) = s.person
            && let Some(h) = self.hired.get(p)
        {
            let days = (at - h) as f64 / 86_400e6;
            if days >= 0.0 {
                c.insert("person_tenure_days", days.floor());
            }
        }
        // Novelty, once the site has a history.
        let since = self.site_since.get(site).copied();
        let seasoned = since.is_some_and(|s| at - s >= NOVELTY_WARMUP_DAYS * 86_400_000_000);
        if let (Some(p), Some(z)) = (s.person, s.zone)
            && matches!(event.body, EventBody::AccessGranted(_))
        {
            c.insert("novel_zone", seasoned && !self.zones_seen.contains(&format!("{p}|{z}")));
        }
        if let (Some(cred), Some(net)) = (s.credential, s.ip.and_then(network)) {
            let key = format!("{cred}|{net}");
            c.insert("novel_network", seasoned && !self.networks_seen.contains(&key));
        }
        let known_plan = seasoned || self.stocktaken.contains(site);
        if let (true, Some(to)) = (known_plan, s.to_location)
            && matches!(event.body, EventBody::InventoryMoved(_) | EventBody::InventoryPutAway(_))
        {
            c.insert("to_location_counted", self.counted.contains(&format!("{site}|{to}")));
        }
    }

    /// Learns from an event, with its subject and the context it was given
    /// (`ctx`: who, and the local time), as [`Reference::context_of`] and
    /// [`Learned::context_of`] worked them out.
    pub(crate) fn learn(&mut self, r: &Reference, event: &Event, s: &Subject<'_>, ctx: &Facts<'_>) {
        let at = event.occurred_at.timestamp_micros();
        let n = &s.named;
        let num = |k: &str| ctx.get(k).and_then(Fact::as_u64).map(|n| n as u32);
        let person = ctx.str("person");
        if let (Some(p), Some(weekday), Some(hour), Some(fam)) =
            (person, num("weekday"), num("local_hour"), profiled(event))
        {
            let h = self.hours.entry(format!("{fam}|{p}")).or_insert_with(|| vec![0; 48]);
            if let Some(slot) = h.get_mut(hour_of_week(weekday, hour)) {
                *slot += 1;
            }
        }
        match self.site_since.get_mut(event.site.as_str()) {
            Some(since) => *since = (*since).min(at),
            None => {
                self.site_since.insert(event.site.as_str().to_owned(), at);
            }
        }
        let ctx_person =
            || n.person.map(str::to_owned).or_else(|| n.badge.and_then(|b| r.badges.get(b)).map(|b| b.0.clone()));
        match &event.body {
            EventBody::HrTerminated(t) => {
                record(self.status.entry(t.person.as_str().to_owned()).or_default(), at, "terminated".into());
            }
            EventBody::HrLeaveStarted(l) => {
                record(self.status.entry(l.person.as_str().to_owned()).or_default(), at, "on_leave".into());
            }
            EventBody::HrLeaveEnded(l) => {
                record(self.status.entry(l.person.as_str().to_owned()).or_default(), at, "active".into());
            }
            EventBody::HrHired(h) => {
                record(self.status.entry(h.person.as_str().to_owned()).or_default(), at, "active".into());
                self.hired.insert(h.person.as_str().to_owned(), at);
            }
            EventBody::InventoryCounted(c) => {
                self.counted.insert(format!("{}|{}", event.site.as_str(), c.location.as_str()));
                if c.count_type == stockade_model::event::CountType::Opening {
                    self.stocktaken.insert(event.site.as_str().to_owned());
                }
            }
            EventBody::IdentityCredentialRevoked(c) | EventBody::IdentityCredentialExpired(c) => {
                record(self.revoked.entry(c.credential.clone()).or_default(), at, true);
            }
            EventBody::IdentityCredentialIssued(c) => {
                record(self.revoked.entry(c.credential.clone()).or_default(), at, false);
            }
            EventBody::AccessGranted(b) => {
                let inside = match b.direction {
                    Some(stockade_model::event::Direction::In) => r.doors.get(b.door.as_str()).map(|d| d.0.clone()),
                    Some(stockade_model::event::Direction::Out) => r.door_from.get(b.door.as_str()).cloned(),
                    None => None,
                };
                self.last_grant.insert(b.badge.as_str().to_owned(), (b.door.as_str().to_owned(), at, inside));
                let zone = b
                    .zone
                    .as_ref()
                    .map(|z| z.as_str().to_owned())
                    .or_else(|| r.doors.get(b.door.as_str()).map(|d| d.0.clone()));
                if let (Some(p), Some(z)) = (ctx_person(), zone) {
                    self.zones_seen.insert(format!("{p}|{z}"));
                }
            }
            _ => {}
        }
        let credential = n.badge.or(n.account).or(n.api_key);
        if let (Some(cred), Some(net)) = (credential, n.source_ip.and_then(network)) {
            self.networks_seen.insert(format!("{cred}|{net}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsigma_eval::event::Event as _;
    use serde_json::json;

    #[test]
    fn rules_read_facts_under_ctx_and_the_event_beside_them() {
        let event: Event = serde_json::from_value(json!({"id": "e1", "source": "acs", "site": "S",
            "occurred_at": "2026-11-02T22:14:07.5+01:00", "kind": "access.granted", "door": "D-1", "badge": "B-1",
            "direction": "in", "flags": ["unknown_door"], "epcis": {"event_type": "ObjectEvent",
            "event_id": "urn:uuid:1", "event_hash": "ni:///sha-256;00?ver=CBV2.0", "biz_step": "shipping"}}))
        .unwrap();
        let mut facts = Facts::default();
        facts.insert("zone", "CAGE");
        facts.insert("local_hour", 23u32);
        facts.insert("hour_share", 0.5);
        facts.insert("after_hours", true);
        facts.insert("zone", "DOCK".to_owned());
        facts.insert("broken", f64::NAN);
        let e = Enriched::new(&event, facts);
        assert_eq!(e.get_field("ctx.zone"), Some(EventValue::Str("DOCK".into())), "inserted again: replaced");
        assert_eq!(e.get_field("ctx.local_hour"), Some(EventValue::Int(23)));
        assert_eq!(e.get_field("ctx.hour_share"), Some(EventValue::Float(0.5)));
        assert_eq!(e.get_field("ctx.broken"), Some(EventValue::Null));
        assert_eq!(e.get_field("ctx.missing"), None);
        // The event's own members read as the Sigma engine reads its JSON form.
        let fields = fields_of(&event);
        let as_json = JsonEvent::borrow(&fields);
        for path in [
            "badge",
            "door",
            "direction",
            "kind",
            "id",
            "site",
            "occurred_at",
            "flags",
            "epcis",
            "epcis.biz_step",
            "epcis.nothing",
            "flags[0]",
            "badge.x",
            "missing",
            "received_at",
            "zone",
        ] {
            assert_eq!(e.get_field(path), as_json.get_field(path), "{path}");
        }
        assert_eq!(e.get_field("badge"), Some(EventValue::Str("B-1".into())));
        assert_eq!(e.get_field("epcis.biz_step"), Some(EventValue::Str("shipping".into())));
        assert_eq!(e.get_field("occurred_at"), Some(EventValue::Str("2026-11-02T22:14:07.500+01:00".into())));
        assert!(e.any_string_value(&|s| s == "DOCK"), "keywords reach the facts");
        assert!(e.any_string_value(&|s| s == "B-1"), "and the members");
        assert!(e.any_string_value(&|s| s == "unknown_door"), "and inside lists and objects");
        assert!(!e.any_string_value(&|s| s == "CAGE"));
        let mut mine = e.all_string_values().into_iter().map(|s| s.into_owned()).collect::<Vec<_>>();
        let mut theirs = as_json.all_string_values().into_iter().map(|s| s.into_owned()).collect::<Vec<_>>();
        theirs.push("DOCK".into());
        mine.sort();
        theirs.sort();
        assert_eq!(mine, theirs);
        let mut keys = Vec::new();
        assert!(e.visit_top_level_keys(&mut |k| keys.push(k.to_owned())));
        assert_eq!(
            keys,
            ["id", "source", "site", "occurred_at", "epcis", "flags", "kind", "door", "badge", "direction", "ctx"]
        );
        let whole = e.to_json();
        assert_eq!(
            whole["ctx"],
            json!({"zone": "DOCK", "local_hour": 23, "hour_share": 0.5, "after_hours": true, "broken": null})
        );
        let mut without = whole.clone();
        without.as_object_mut().unwrap().shift_remove("ctx");
        assert_eq!(without, fields);
        assert_eq!(e.text("ctx.zone").as_deref(), Some("DOCK"));
        assert_eq!(e.text("ctx.after_hours").as_deref(), Some("true"));
        assert_eq!(e.text("ctx.hour_share").as_deref(), Some("0.5"));
        assert_eq!(e.text("ctx.broken"), None);
        assert_eq!(e.text("epcis.biz_step").as_deref(), Some("shipping"));
        assert_eq!(e.text("flags").as_deref(), Some(r#"["unknown_door"]"#));
        assert_eq!(e.text("badge").as_deref(), Some("B-1"));
        assert_eq!(e.text("missing"), None);
        let counted: Event = serde_json::from_value(json!({"id": "e2", "source": "wms", "site": "S",
            "occurred_at": "2026-11-02T22:14:07Z", "kind": "inventory.counted", "sku": "K", "location": "L",
            "quantity": 2.5, "count_type": "cycle"}))
        .unwrap();
        let e = Enriched::new(&counted, Facts::default());
        assert_eq!(e.get_field("quantity"), Some(EventValue::Float(2.5)));
        assert_eq!(e.text("quantity").as_deref(), Some("2.5"));
        assert_eq!(e.text("count_type").as_deref(), Some("cycle"));
    }
}
