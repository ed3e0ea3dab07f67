//! The canonical event: one envelope, one body per kind.
//!
//! Wire form (NDJSON line, JSON body, JSON Schema in `docs/events.schema.json`):
//!
//! ```json
//! {"id":"acs-991","source":"lenel-lyon","site":"LYS","occurred_at":"2026-11-02T22:14:07+01:00",
//!  "kind":"access.granted","door":"LYS-D-CAGE","badge":"B-1042","direction":"in"}
//! ```
//!
//! `kind` is `family.kind`. Fields a kind requires are plain fields of its body
//! struct, so a missing one is a deserialization error naming it. Checks that
//! types cannot express (positive quantities, finite numbers) live in
//! [`Event::validate`].
//!
//! Here: the envelope, the kinds and reading and writing an event; in
//! `body` each kind's fields, in `check` the validation, in `entity` the
//! entities an event names.

use crate::ids::*;
use chrono::{DateTime, FixedOffset, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// One canonical event. Accepted events are immutable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    /// Producer-assigned id, unique per `source`: the idempotency key.
    pub id: EventId,
    /// The system that produced the event.
    pub source: SourceId,
    /// The site the event happened at.
    pub site: SiteId,
    /// When it happened: RFC 3339 with an explicit UTC offset, which is kept.
    #[serde(with = "rfc3339")]
    #[schemars(with = "String", regex(pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"))]
    pub occurred_at: DateTime<FixedOffset>,
    /// When Stockade accepted it (UTC). Set by Stockade; ignored on input.
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "received::serialize")]
    pub received_at: Option<DateTime<Utc>>,
    /// The how-manyth load of this source and id after retractions (absent:
    /// the first): an event whose earlier loads were all retracted is stored
    /// again under its own id. Set by Stockade; ignored on input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    /// Where the event came from when it was captured as GS1 EPCIS.
    // Boxed: it is rare, and events move through the pipeline by value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epcis: Option<Box<EpcisOrigin>>,
    /// Quality flags Stockade attached on acceptance (for example an unknown door).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// The kind and its fields.
    #[serde(flatten)]
    pub body: EventBody,
}

/// Provenance of an event captured through the EPCIS interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EpcisOrigin {
    /// `ObjectEvent`, `AggregationEvent`, `TransactionEvent`, `TransformationEvent`, `AssociationEvent`.
    pub event_type: String,
    /// The EPCIS `eventID`, when the producer gave one and it is not the
    /// event's own id: an event is stored under its `eventID`, so the
    /// origin repeats it only for an EPCIS event booked as several events
    /// (`eventID#SKU`). [`Event::epcis_event_id`] reads it either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// CBV 2.0 event hash ID (`ni:///sha-256;…?ver=CBV2.0`): the same for
    /// every serialisation of the event, and its id when it has no `eventID`.
    pub event_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biz_step: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_point: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biz_location: Option<String>,
    /// Instance-level identifiers (EPCs) the event counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub epcs: Vec<String>,
}

/// `received_at` written as chrono writes a UTC time (`…T…[.fraction]Z`),
/// without chrono's character-at-a-time `Display` path, which cost 5% of
/// ingest (every event is serialized once).
mod received {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            None => s.serialize_none(),
        }
    }
}

/// Serde for `DateTime<FixedOffset>` that insists on an explicit offset and
/// says so in its error.
pub mod rfc3339 {
    use chrono::{DateTime, FixedOffset, SecondsFormat};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }

    /// Parses RFC 3339; a time without an offset gets an error that says so.
    pub fn parse(s: &str) -> Result<DateTime<FixedOffset>, String> {
        DateTime::parse_from_rfc3339(s).map_err(|e| {
            let has_offset =
                s.ends_with('Z') || s.ends_with('z') || s.len() > 6 && matches!(s.as_bytes()[s.len() - 6], b'+' | b'-');
            if has_offset {
                format!("time {s:?} is not RFC 3339 ({e})")
            } else {
                format!(
                    "time {s:?} has no UTC offset; write it as RFC 3339 with an offset, e.g. 2026-11-25T08:00:00+01:00"
                )
            }
        })
    }
}

/// Event families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Inventory,
    Access,
    Video,
    Identity,
    Hr,
    Asset,
    /// Stockade's own records about the log (loads, retractions): written
    /// by Stockade only, never accepted from a source.
    Record,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Inventory => "inventory",
            Family::Access => "access",
            Family::Video => "video",
            Family::Identity => "identity",
            Family::Hr => "hr",
            Family::Asset => "asset",
            Family::Record => "record",
        }
    }
}

macro_rules! event_kinds {
    ($( $variant:ident ( $body:ty ) = $family:ident, $name:literal, $doc:literal; )*) => {
        /// The kind and the fields of an event. Serialized with a `kind` tag
        /// (`family.kind`) beside the envelope fields.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "kind")]
        pub enum EventBody {
            $(
                #[doc = $doc]
                #[serde(rename = $name)]
                $variant($body),
            )*
        }

        /// The kind of an event without its fields.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventKind {
            $( $variant, )*
        }

        impl EventKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];

            /// The wire name, `family.kind`.
            pub fn as_str(self) -> &'static str {
                match self { $( EventKind::$variant => $name, )* }
            }

            pub fn family(self) -> Family {
                match self { $( EventKind::$variant => Family::$family, )* }
            }

            /// Parses a wire name.
            pub fn parse(s: &str) -> Option<EventKind> {
                match s { $( $name => Some(EventKind::$variant), )* _ => None }
            }

            fn body_member_names(self) -> &'static [&'static str] {
                use members::Members;
                match self { $( EventKind::$variant => <$body as Members>::NAMES, )* }
            }
        }

        impl EventBody {
            pub fn kind(&self) -> EventKind {
                match self { $( EventBody::$variant(_) => EventKind::$variant, )* }
            }

            /// The body's member named `name` ([`Event::member`]).
            fn member(&self, name: &str) -> Option<members::Member<'_>> {
                use members::Members;
                match self { $( EventBody::$variant(b) => b.member(name), )* }
            }

            /// The body's members, in order ([`Event::each_member`]).
            fn each_member<'a>(&'a self, f: &mut dyn FnMut(&'static str, members::Member<'a>)) {
                use members::Members;
                match self { $( EventBody::$variant(b) => b.each_member(f), )* }
            }

            /// The body of kind `kind` read from an event's object (the
            /// envelope's members are ignored as unknown); None for a name
            /// that is no kind.
            fn of_fields<'de, D: serde::Deserializer<'de>>(
                kind: &str,
                fields: D,
            ) -> Option<Result<EventBody, D::Error>> {
                match kind {
                    $( $name => Some(<$body>::deserialize(fields).map(EventBody::$variant)), )*
                    _ => None,
                }
            }
        }
    };
}

event_kinds! {
    InventoryReceived(Receipt) = Inventory, "inventory.received", "Goods received into a location (dock, receiving lane).";
    InventoryPutAway(Transfer) = Inventory, "inventory.put_away", "Goods moved from receiving into storage.";
    InventoryMoved(Transfer) = Inventory, "inventory.moved", "Goods moved between storage locations.";
    InventoryPicked(Pick) = Inventory, "inventory.picked", "Goods picked from storage for an order.";
    InventoryPacked(Pack) = Inventory, "inventory.packed", "Goods packed for an order (no change of location unless given).";
    InventoryShipped(Shipment) = Inventory, "inventory.shipped", "Goods shipped out of the site.";
    InventoryReturned(Receipt) = Inventory, "inventory.returned", "Goods returned into a location.";
    InventoryAdjusted(Adjustment) = Inventory, "inventory.adjusted", "A book adjustment with its reason and approver.";
    InventoryCounted(Count) = Inventory, "inventory.counted", "A physical count of a location and SKU (cycle or full).";
    InventoryScrapped(Scrap) = Inventory, "inventory.scrapped", "Goods written off and destroyed.";
    InventoryObserved(Sighting) = Inventory, "inventory.observed", "Goods seen (an EPCIS event with no book effect: inspecting, commissioning...).";
    AccessGranted(BadgeRead) = Access, "access.granted", "A badge was accepted at a door.";
    AccessDenied(BadgeRead) = Access, "access.denied", "A badge was refused at a door.";
    AccessDoorForced(DoorAlarm) = Access, "access.door_forced", "A door opened without a grant.";
    AccessDoorHeldOpen(DoorAlarm) = Access, "access.door_held_open", "A door stayed open past its limit.";
    AccessDoorUnlockedManually(DoorAlarm) = Access, "access.door_unlocked_manually", "A door was unlocked by an operator or key override.";
    AccessDoorOpened(DoorAlarm) = Access, "access.door_opened", "A door's contact reported it open.";
    AccessDoorClosed(DoorAlarm) = Access, "access.door_closed", "A door's contact reported it closed (`duration_s`: how long it was open).";
    VideoPeopleCount(PeopleCount) = Video, "video.people_count", "People counted crossing a line at a door or entering a zone.";
    VideoTailgating(Tailgating) = Video, "video.tailgating", "More people passed a door than were granted.";
    VideoLoitering(Loitering) = Video, "video.loitering", "Someone stayed in an area longer than expected.";
    VideoMotion(Motion) = Video, "video.motion", "Motion in a zone.";
    VideoCameraOffline(CameraHealth) = Video, "video.camera_offline", "A camera stopped delivering video.";
    VideoCameraTamper(CameraHealth) = Video, "video.camera_tamper", "A camera was covered, moved or defocused.";
    IdentityLogin(Login) = Identity, "identity.login", "A login attempt to a system.";
    IdentityPrivilegeUse(PrivilegeUse) = Identity, "identity.privilege_use", "An account used an elevated privilege.";
    IdentityApiKeyUsed(ApiKeyUse) = Identity, "identity.api_key_used", "An API key was used.";
    IdentityCredentialIssued(Credential) = Identity, "identity.credential_issued", "A credential (badge, account, API key, certificate) was issued.";
    IdentityCredentialRevoked(Credential) = Identity, "identity.credential_revoked", "A credential was revoked.";
    IdentityCredentialExpired(Credential) = Identity, "identity.credential_expired", "A credential expired.";
    HrHired(Hire) = Hr, "hr.hired", "A person joined.";
    HrRoleChanged(RoleChange) = Hr, "hr.role_changed", "A person's role changed.";
    HrTerminated(Termination) = Hr, "hr.terminated", "A person left or was dismissed.";
    HrLeaveStarted(Leave) = Hr, "hr.leave_started", "A person went on leave.";
    HrLeaveEnded(Leave) = Hr, "hr.leave_ended", "A person came back from leave.";
    AssetSeen(AssetSeen) = Asset, "asset.seen", "A device was seen on the network.";
    AssetFirmwareReported(Firmware) = Asset, "asset.firmware_reported", "A device reported its firmware version.";
    AssetConfigChanged(ConfigChange) = Asset, "asset.config_changed", "A device's configuration changed.";
    AssetOffline(AssetOffline) = Asset, "asset.offline", "A device stopped reporting.";
    RecordLoaded(Load) = Record, "record.loaded", "Stockade loaded a file: its name and digest, and the events it added (written by Stockade only).";
    RecordRetracted(Retraction) = Record, "record.retracted", "Stockade withdrew an accepted event: it stays in the log, derived state leaves it out, and its source and id can be loaded again (written by Stockade only).";
    RecordContainment(Containment) = Record, "record.containment", "Stockade contained an entity for an incident (a badge revoked, a door locked, a SKU quarantined...) or lifted it; later use of a contained entity is an alert (written by Stockade only).";
}

/// The envelope's members, as [`Event`] reads them (for the direct ways
/// of reading an event).
#[derive(Deserialize)]
struct Envelope {
    id: EventId,
    source: SourceId,
    site: SiteId,
    #[serde(with = "rfc3339")]
    occurred_at: DateTime<FixedOffset>,
    #[serde(default)]
    received_at: Option<DateTime<Utc>>,
    #[serde(default)]
    revision: Option<u32>,
    #[serde(default)]
    epcis: Option<Box<EpcisOrigin>>,
    #[serde(default)]
    flags: Vec<String>,
}

impl Envelope {
    fn with(self, body: EventBody) -> Event {
        Event {
            id: self.id,
            source: self.source,
            site: self.site,
            occurred_at: self.occurred_at,
            received_at: self.received_at,
            revision: self.revision,
            epcis: self.epcis,
            flags: self.flags,
            body,
        }
    }
}

/// A JSON object's members in order, each value's text borrowed unparsed.
struct RawMembers<'a>(Vec<(std::borrow::Cow<'a, str>, &'a serde_json::value::RawValue)>);

impl<'de> Deserialize<'de> for RawMembers<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawMembers<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an event object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(16);
                while let Some(member) = map.next_entry::<MemberName<'de>, &'de serde_json::value::RawValue>()? {
                    members.push((member.0.0, member.1));
                }
                Ok(RawMembers(members))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// A member's name, borrowed from the text unless it holds an escape.
struct MemberName<'a>(std::borrow::Cow<'a, str>);

impl<'de> Deserialize<'de> for MemberName<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = MemberName<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MemberName(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MemberName(std::borrow::Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(Visitor)
    }
}

mod body;
mod check;
mod entity;
mod members;
#[cfg(test)]
mod tests;

pub use body::*;
pub use check::InvalidEvent;
pub use entity::{EntityRef, EntityType};
pub use members::Member;

impl Event {
    pub fn kind(&self) -> EventKind {
        self.body.kind()
    }

    /// Parses one JSON event and validates it.
    pub fn from_json(bytes: &[u8]) -> Result<Event, EventError> {
        let ev = Event::read_json(bytes).map_err(EventError::from_json)?;
        ev.validate()?;
        Ok(ev)
    }

    /// As [`Event::from_json`], from a JSON object already built (a mapped
    /// CSV row), without writing it out and reading it back.
    pub fn from_fields(fields: &serde_json::Map<String, serde_json::Value>) -> Result<Event, EventError> {
        let ev = Event::read_fields(fields).map_err(EventError::from_json)?;
        ev.validate()?;
        Ok(ev)
    }

    /// `Event::deserialize(fields)`, without validation, read the direct
    /// way: the envelope, then the body its `kind` names, each from the
    /// object as it is (the derived reading buffers the whole object a
    /// second time to find the kind, a fifth of detection's time over
    /// stored events). Gives what the derived reading gives, errors
    /// included: any object the direct way refuses is read again the
    /// derived way for its error.
    pub fn read_fields(fields: &serde_json::Map<String, serde_json::Value>) -> Result<Event, serde_json::Error> {
        match Event::read_direct(fields) {
            Some(ev) => Ok(ev),
            None => Event::deserialize(fields),
        }
    }

    /// [`Event::read_fields`]'s direct way: None where it refuses.
    fn read_direct(fields: &serde_json::Map<String, serde_json::Value>) -> Option<Event> {
        let kind = fields.get("kind").and_then(serde_json::Value::as_str)?;
        let body = EventBody::of_fields(kind, fields).and_then(Result::ok)?;
        Envelope::deserialize(fields).ok().map(|e| e.with(body))
    }

    /// `serde_json::from_slice::<Event>(bytes)`, without validation, read
    /// the direct way: the object's members are first found in the text
    /// (borrowed, not parsed), then the envelope and the body its `kind`
    /// names are read from them, each member once (the derived reading
    /// buffers every member in a tree of its own first to find the kind).
    /// Gives what the derived reading gives, errors included: text the
    /// direct way refuses is read again the derived way for its error.
    pub fn read_json(bytes: &[u8]) -> Result<Event, serde_json::Error> {
        match Event::read_text_direct(bytes) {
            Some(ev) => Ok(ev),
            None => serde_json::from_slice(bytes),
        }
    }

    /// [`Event::read_json`]'s direct way: None where it refuses.
    fn read_text_direct(bytes: &[u8]) -> Option<Event> {
        use serde::de::value::MapDeserializer;
        let RawMembers(members) = serde_json::from_slice(bytes).ok()?;
        // One `kind` (a second is for the derived reading to judge).
        let mut kinds = members.iter().filter(|(k, _)| k == "kind").map(|(_, v)| *v);
        let (Some(kind), None) = (kinds.next(), kinds.next()) else { return None };
        let kind: std::borrow::Cow<'_, str> = serde_json::from_str(kind.get()).ok()?;
        let of = || MapDeserializer::<_, serde_json::Error>::new(members.iter().map(|(k, v)| (k.as_ref(), *v)));
        let body = EventBody::of_fields(&kind, of()).and_then(Result::ok)?;
        Envelope::deserialize(of()).ok().map(|e| e.with(body))
    }

    /// The event as stored and hashed: compact JSON in declaration order,
    /// whole quantities written as integers (`3`, not `3.0`).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Room for a typical event up front, instead of growing from 8 bytes
        // (one captured from EPCIS carries its origin, about 300 bytes more).
        let mut out = Vec::with_capacity(if self.epcis.is_some() { 768 } else { 384 });
        // Serializing plain structs, enums, strings and numbers cannot fail.
        if serde_json::to_writer(&mut out, self).is_err() {
            out.clear();
        }
        out
    }

    /// The EPCIS `eventID` of an event captured from EPCIS, when its
    /// producer gave one: the origin's, else the event's own id unless that
    /// is the CBV hash ID (the id of an event given none).
    pub fn epcis_event_id(&self) -> Option<&str> {
        let origin = self.epcis.as_deref()?;
        match &origin.event_id {
            Some(id) => Some(id),
            None => (self.id.as_str() != origin.event_hash).then_some(self.id.as_str()),
        }
    }

    /// SHA-256 of [`Event::canonical_bytes`].
    pub fn digest(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    /// Time it happened, UTC, as microseconds since the Unix epoch.
    pub fn occurred_us(&self) -> i64 {
        self.occurred_at.timestamp_micros()
    }

    /// Offset of the original time, in seconds east of UTC.
    pub fn offset_s(&self) -> i32 {
        self.occurred_at.offset().local_minus_utc()
    }
}

/// Why a line or body could not become an event.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventError {
    #[error("malformed JSON: {0}")]
    Syntax(String),
    #[error("{0}")]
    Data(String),
    #[error("{0}")]
    Invalid(#[from] InvalidEvent),
}

impl EventError {
    fn from_json(e: serde_json::Error) -> EventError {
        use serde_json::error::Category;
        let msg = e.to_string();
        // serde_json appends " at line L column C"; for a one-line event the
        // column is what helps.
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => EventError::Syntax(msg),
            Category::Data => {
                if let Some(k) = unknown_kind(&msg) {
                    EventError::Data(k)
                } else {
                    EventError::Data(msg)
                }
            }
        }
    }
}

/// Rewrites serde's long "unknown variant" message into a short one, when
/// the variant it could not place is the event's kind (its list of expected
/// variants is the kinds), not another field's value (`direction`).
fn unknown_kind(msg: &str) -> Option<String> {
    if !msg.contains("`inventory.received`") {
        return None;
    }
    let rest = msg.strip_prefix("unknown variant `")?;
    let end = rest.find('`')?;
    Some(format!("field `kind`: unknown kind `{}`; see GET /api/v1/schema/events for the list", &rest[..end]))
}
