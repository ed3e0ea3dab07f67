//! An event's members read from the typed event in place: what its
//! canonical JSON object holds under each top-level name, without building
//! that object. Detection reads events this way (every rule, every event),
//! so a stored event is parsed once, into the model, and never into a JSON
//! tree as well.
//!
//! Invariant: for every event, [`Event::each_member`] names exactly the
//! members of `serde_json::to_value(event)`, and each [`Member`] converts
//! ([`Member::to_json`]) to the value that object holds (the tests hold
//! every kind, every optional member set, to this). Objects and lists
//! (`epcis`, `flags`, a load's `runs`) are [`Member::Structured`]: a
//! reader that needs their insides serialises the event.

use super::body::*;
use super::*;

/// One top-level member of an event's canonical JSON object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Member<'a> {
    /// Text (ids, reasons, enumerations by their wire names).
    Text(&'a str),
    /// A whole number (quantities that are whole are written as integers).
    Int(i64),
    Float(f64),
    Bool(bool),
    /// An IP address, written as text.
    Ip(IpAddr),
    /// A time with its offset (`occurred_at`), written as RFC 3339.
    Time(&'a DateTime<FixedOffset>),
    /// A time in UTC (`received_at`), written as RFC 3339 with `Z`.
    Utc(&'a DateTime<Utc>),
    /// An object or a list: read it from the serialised event.
    Structured,
}

impl Member<'_> {
    /// The member as its JSON value (None for [`Member::Structured`]).
    pub fn to_json(&self) -> Option<serde_json::Value> {
        use chrono::SecondsFormat;
        Some(match *self {
            Member::Text(s) => serde_json::Value::String(s.to_owned()),
            Member::Int(n) => serde_json::Value::from(n),
            Member::Float(x) => serde_json::Value::from(x),
            Member::Bool(b) => serde_json::Value::Bool(b),
            Member::Ip(ip) => serde_json::Value::String(ip.to_string()),
            Member::Time(t) => serde_json::Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, false)),
            Member::Utc(t) => serde_json::Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Member::Structured => return None,
        })
    }

    /// The member as text, as its JSON value reads when printed (strings
    /// without quotes); None for [`Member::Structured`].
    pub fn to_text(&self) -> Option<String> {
        match self {
            Member::Text(s) => Some((*s).to_owned()),
            Member::Int(n) => Some(n.to_string()),
            Member::Bool(b) => Some(b.to_string()),
            other => other.to_json().map(|v| match v {
                serde_json::Value::String(s) => s,
                v => v.to_string(),
            }),
        }
    }
}

/// How a field's value appears as a member (None: left out, as an absent
/// optional field is).
pub(crate) trait AsMember {
    fn as_member(&self) -> Option<Member<'_>>;
}

impl AsMember for String {
    fn as_member(&self) -> Option<Member<'_>> {
        Some(Member::Text(self))
    }
}

impl AsMember for bool {
    fn as_member(&self) -> Option<Member<'_>> {
        Some(Member::Bool(*self))
    }
}

/// As `whole::number` writes it: whole numbers as integers.
impl AsMember for f64 {
    fn as_member(&self) -> Option<Member<'_>> {
        const EXACT: f64 = 9_007_199_254_740_992.0;
        Some(if self.fract() == 0.0 && self.abs() <= EXACT { Member::Int(*self as i64) } else { Member::Float(*self) })
    }
}

impl AsMember for u32 {
    fn as_member(&self) -> Option<Member<'_>> {
        Some(Member::Int(i64::from(*self)))
    }
}

impl AsMember for i64 {
    fn as_member(&self) -> Option<Member<'_>> {
        Some(Member::Int(*self))
    }
}

impl AsMember for u64 {
    fn as_member(&self) -> Option<Member<'_>> {
        // Beyond i64, JSON holds an unsigned number: read from the JSON form.
        Some(i64::try_from(*self).map_or(Member::Structured, Member::Int))
    }
}

impl AsMember for IpAddr {
    fn as_member(&self) -> Option<Member<'_>> {
        Some(Member::Ip(*self))
    }
}

impl<T: AsMember> AsMember for Option<T> {
    fn as_member(&self) -> Option<Member<'_>> {
        self.as_ref().and_then(T::as_member)
    }
}

/// Lists are left out when empty (the only list a body has, a load's
/// runs, is).
impl<T> AsMember for Vec<T> {
    fn as_member(&self) -> Option<Member<'_>> {
        (!self.is_empty()).then_some(Member::Structured)
    }
}

macro_rules! id_members {
    ($($t:ty),* $(,)?) => {$(
        impl AsMember for $t {
            fn as_member(&self) -> Option<Member<'_>> {
                Some(Member::Text(self.as_str()))
            }
        }
    )*};
}

id_members!(
    Sku, LocationId, VendorId, PersonId, AccountId, DoorId, BadgeId, ReaderId, ZoneId, CameraId, SystemId, ApiKeyId,
    AssetId, SourceId, EventId, SiteId,
);

/// Enumerations, by the names serde writes (held to them by the tests).
macro_rules! named_members {
    ($($t:ty { $($v:ident => $name:literal),* $(,)? })*) => {$(
        impl AsMember for $t {
            fn as_member(&self) -> Option<Member<'_>> {
                Some(Member::Text(match self { $(<$t>::$v => $name,)* }))
            }
        }
    )*};
}

named_members! {
    CountType { Cycle => "cycle", Full => "full", Opening => "opening" }
    Direction { In => "in", Out => "out" }
    Outcome { Success => "success", Failure => "failure" }
    CredentialType { Badge => "badge", Account => "account", ApiKey => "api_key", Certificate => "certificate" }
}

impl AsMember for ContainmentAction {
    fn as_member(&self) -> Option<Member<'_>> {
        Some(Member::Text(self.as_str()))
    }
}

/// A body's members by name, and all of them in order.
pub(crate) trait Members {
    /// The names a body of this type can carry.
    const NAMES: &'static [&'static str];
    fn member(&self, name: &str) -> Option<Member<'_>>;
    fn each_member<'a>(&'a self, f: &mut dyn FnMut(&'static str, Member<'a>));
}

/// A field as a member: as its type says, or (`flag`) a truth value
/// written only when true.
macro_rules! member_of {
    ($v:expr) => {
        $v.as_member()
    };
    ($v:expr, flag) => {
        $v.then_some(Member::Bool(true))
    };
}

macro_rules! body_members {
    ($($t:ty { $($field:ident $(: $how:ident)?),* $(,)? })*) => {$(
        impl Members for $t {
            const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];

            fn member(&self, name: &str) -> Option<Member<'_>> {
                match name {
                    $(stringify!($field) => member_of!(self.$field $(, $how)?),)*
                    _ => None,
                }
            }

            fn each_member<'a>(&'a self, f: &mut dyn FnMut(&'static str, Member<'a>)) {
                $(if let Some(m) = member_of!(self.$field $(, $how)?) { f(stringify!($field), m); })*
            }
        }
    )*};
}

body_members! {
    Receipt { sku, quantity, to_location, reference, vendor, person, account }
    Transfer { sku, quantity, from_location, to_location, person, account, work_order }
    Pick { sku, quantity, from_location, to_location, order, person, account }
    Pack { sku, quantity, location, order, person }
    Shipment { sku, quantity, from_location, order, carrier, door, person }
    Adjustment { sku, location, delta, reason, approver, person, account }
    Count { sku, location, quantity, count_type, person }
    Scrap { sku, quantity, from_location, reason, approver, person }
    Sighting { sku, quantity, location, detail }
    BadgeRead { door, badge, reader, zone, person, direction, reason }
    DoorAlarm { door, zone, duration_s, person }
    PeopleCount { camera, door, people, zone, direction }
    Tailgating { camera, door, people, badge }
    Loitering { camera, duration_s, zone, door }
    Motion { camera, zone }
    CameraHealth { camera, detail }
    Login { system, account, result, mfa, source_ip, person }
    PrivilegeUse { system, account, privilege, person }
    ApiKeyUse { system, api_key, operation, source_ip, vendor }
    Credential { credential_type, credential, person, vendor, system }
    Hire { person, role, manager }
    RoleChange { person, role, previous_role }
    Termination { person, reason }
    Leave { person }
    AssetSeen { asset, ip, network_segment }
    Firmware { asset, firmware_version }
    ConfigChange { asset, summary, person, account }
    AssetOffline { asset }
    Load { file, sha256, mapping, mapping_sha256, accepted, runs }
    Containment { action, target, incident, lifted: flag, reason }
    Retraction { retracted_seq, retracted_source, retracted_id, retracted_hash, reason, load }
}

/// The envelope's members, in the order the canonical form writes them.
const ENVELOPE: &[&str] = &["id", "source", "site", "occurred_at", "received_at", "revision", "epcis", "flags"];

impl Event {
    /// The member of the event's canonical JSON object named `name` (a
    /// top-level name: no dots), None where the object has none.
    pub fn member(&self, name: &str) -> Option<Member<'_>> {
        match name {
            "id" => self.id.as_member(),
            "source" => self.source.as_member(),
            "site" => self.site.as_member(),
            "occurred_at" => Some(Member::Time(&self.occurred_at)),
            "received_at" => self.received_at.as_ref().map(Member::Utc),
            "revision" => self.revision.as_member(),
            "epcis" => self.epcis.as_ref().map(|_| Member::Structured),
            "flags" => (!self.flags.is_empty()).then_some(Member::Structured),
            "kind" => Some(Member::Text(self.body.kind().as_str())),
            other => self.body.member(other),
        }
    }

    /// Every member of the event's canonical JSON object, the envelope's
    /// first, then `kind`, then the body's.
    pub fn each_member<'a>(&'a self, f: &mut dyn FnMut(&'static str, Member<'a>)) {
        for name in ENVELOPE {
            if let Some(m) = self.member(name) {
                f(name, m);
            }
        }
        f("kind", Member::Text(self.body.kind().as_str()));
        self.body.each_member(f);
    }
}

impl EventKind {
    /// The names of the members a body of this kind can carry (the
    /// envelope's and `kind` aside).
    pub fn member_names(self) -> &'static [&'static str] {
        self.body_member_names()
    }
}
