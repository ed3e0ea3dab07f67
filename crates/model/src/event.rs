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

use crate::ids::*;
use chrono::{DateTime, Datelike, FixedOffset, Utc};
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
        }

        impl EventBody {
            pub fn kind(&self) -> EventKind {
                match self { $( EventBody::$variant(_) => EventKind::$variant, )* }
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

// ---- inventory ----

/// Goods arriving at a location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Receipt {
    pub sku: Sku,
    /// Units (or the SKU's unit of measure); positive.
    #[serde(serialize_with = "whole::number")]
    pub quantity: f64,
    /// Where the goods are put; absent: the site's *received, not yet put
    /// away* state (`docs/BOOK.md`), which a put-away empties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_location: Option<LocationId>,
    /// Advance shipping notice, purchase order or return authorisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<VendorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
}

/// Goods moving from one location to another inside the site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Transfer {
    pub sku: Sku,
    #[serde(serialize_with = "whole::number")]
    pub quantity: f64,
    /// Where the goods come from. Required for `inventory.moved`; a put-away
    /// without it takes them from the site's *received, not yet put away*
    /// state (`docs/BOOK.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_location: Option<LocationId>,
    pub to_location: LocationId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
    /// Work order that authorised the move, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_order: Option<String>,
}

/// Goods picked from storage for an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Pick {
    pub sku: Sku,
    #[serde(serialize_with = "whole::number")]
    pub quantity: f64,
    pub from_location: LocationId,
    /// Staging or packing location the goods go to; absent: the site's
    /// *picked, not yet shipped* state (`docs/BOOK.md`), which a shipment empties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_location: Option<LocationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
}

/// Goods packed for an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Pack {
    pub sku: Sku,
    #[serde(serialize_with = "whole::number")]
    pub quantity: f64,
    /// Packing station; packing moves nothing in the book.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
}

/// Goods leaving the site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Shipment {
    pub sku: Sku,
    #[serde(serialize_with = "whole::number")]
    pub quantity: f64,
    /// Where the goods leave from. The shipment takes them from there as far
    /// as the book holds them there, then from the site's *picked, not yet
    /// shipped* state; absent: from that state (`docs/BOOK.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_location: Option<LocationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// The carrier (a vendor) taking the goods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<VendorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<DoorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
}

/// A change of the book that no movement explains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Adjustment {
    pub sku: Sku,
    pub location: LocationId,
    /// Signed change in units; not zero.
    #[serde(serialize_with = "whole::number")]
    pub delta: f64,
    /// Why (damage, found, count correction, ...).
    pub reason: String,
    /// Who approved it; absent means unapproved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<PersonId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
}

/// Cycle count or full (wall-to-wall) count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CountType {
    Cycle,
    Full,
    /// An opening balance (a snapshot of the stock when Stockade starts):
    /// sets the book at its time, with no variance.
    Opening,
}

/// A physical count of one SKU at one location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Count {
    pub sku: Sku,
    pub location: LocationId,
    /// Units found; zero or more.
    #[serde(serialize_with = "whole::number")]
    pub quantity: f64,
    pub count_type: CountType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
}

/// Goods written off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Scrap {
    pub sku: Sku,
    #[serde(serialize_with = "whole::number")]
    pub quantity: f64,
    pub from_location: LocationId,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<PersonId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
}

/// Goods seen without a movement the book tracks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sighting {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "whole::option")]
    pub quantity: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationId>,
    /// What happened, in the source's words (an EPCIS business step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

// ---- access ----

/// Direction of travel through a door or across a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

/// A badge presented at a reader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BadgeRead {
    pub door: DoorId,
    pub badge: BadgeId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader: Option<ReaderId>,
    /// The zone entered (or left); derived from the door when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<ZoneId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Why a read was denied (expired, no right, anti-passback...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A door's sensor report: an alarm, an override, or its contact opening or closing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DoorAlarm {
    pub door: DoorId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<ZoneId>,
    /// How long the door stayed open, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "whole::option")]
    pub duration_s: Option<f64>,
    /// Who unlocked it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
}

// ---- video ----

/// People counted by a camera's line crossing or zone counter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PeopleCount {
    pub camera: CameraId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<DoorId>,
    pub people: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<ZoneId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
}

/// More people through a door than badges granted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tailgating {
    pub camera: CameraId,
    pub door: DoorId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub people: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub badge: Option<BadgeId>,
}

/// Someone lingering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Loitering {
    pub camera: CameraId,
    #[serde(serialize_with = "whole::number")]
    pub duration_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<ZoneId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<DoorId>,
}

/// Motion in a zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Motion {
    pub camera: CameraId,
    pub zone: ZoneId,
}

/// A camera's health changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CameraHealth {
    pub camera: CameraId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

// ---- identity ----

/// Result of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

/// A login attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Login {
    pub system: SystemId,
    pub account: AccountId,
    pub result: Outcome,
    /// Whether a second factor was used.
    pub mfa: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub source_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
}

/// Use of an elevated privilege.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PrivilegeUse {
    pub system: SystemId,
    pub account: AccountId,
    /// The privilege or role used (`admin`, `inventory.adjust`...).
    pub privilege: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
}

/// An API key was used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApiKeyUse {
    pub system: SystemId,
    pub api_key: ApiKeyId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub source_ip: Option<IpAddr>,
    /// The vendor that holds the key, if it is a vendor key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<VendorId>,
}

/// What kind of credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialType {
    Badge,
    Account,
    ApiKey,
    Certificate,
}

/// A credential's life-cycle step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Credential {
    pub credential_type: CredentialType,
    /// The credential's public identifier (badge number, account, key id).
    pub credential: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<VendorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemId>,
}

// ---- HR ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Hire {
    pub person: PersonId,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<PersonId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoleChange {
    pub person: PersonId,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Termination {
    pub person: PersonId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Leave {
    pub person: PersonId,
}

// ---- assets ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AssetSeen {
    pub asset: AssetId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_segment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Firmware {
    pub asset: AssetId,
    pub firmware_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigChange {
    pub asset: AssetId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AssetOffline {
    pub asset: AssetId,
}

// ---- Stockade's records about the log ----

/// A file loaded by `stockade ingest`: the events it added are the stored
/// events whose seqs `runs` names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Load {
    /// The file's name as given on the command line.
    pub file: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// The mapping it was read through, if any, and its SHA-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping_sha256: Option<String>,
    /// Events accepted (duplicates and rejected lines are not stored).
    pub accepted: u64,
    /// Their seqs, as inclusive `[first, last]` runs in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<[i64; 2]>,
}

/// What a containment does, and to which kind of entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContainmentAction {
    /// A badge (its id): no door should open for it.
    RevokeBadge,
    /// An account: no login or privileged use.
    DisableAccount,
    /// An API key: no call.
    RevokeApiKey,
    /// A vendor's access: none of its people, accounts or keys.
    EndVendorGrant,
    /// A door: no grant, opening or override.
    LockDoor,
    /// A zone: no grant or opening into it.
    LockZone,
    /// A dock (its location): no goods out through it.
    HoldDock,
    /// A location: no stock in or out.
    QuarantineLocation,
    /// A SKU: no stock of it moves.
    QuarantineSku,
}

impl ContainmentAction {
    pub const ALL: [ContainmentAction; 9] = [
        ContainmentAction::RevokeBadge,
        ContainmentAction::DisableAccount,
        ContainmentAction::RevokeApiKey,
        ContainmentAction::EndVendorGrant,
        ContainmentAction::LockDoor,
        ContainmentAction::LockZone,
        ContainmentAction::HoldDock,
        ContainmentAction::QuarantineLocation,
        ContainmentAction::QuarantineSku,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContainmentAction::RevokeBadge => "revoke_badge",
            ContainmentAction::DisableAccount => "disable_account",
            ContainmentAction::RevokeApiKey => "revoke_api_key",
            ContainmentAction::EndVendorGrant => "end_vendor_grant",
            ContainmentAction::LockDoor => "lock_door",
            ContainmentAction::LockZone => "lock_zone",
            ContainmentAction::HoldDock => "hold_dock",
            ContainmentAction::QuarantineLocation => "quarantine_location",
            ContainmentAction::QuarantineSku => "quarantine_sku",
        }
    }

    /// The kind of entity its target is.
    pub fn target(self) -> EntityType {
        match self {
            ContainmentAction::RevokeBadge => EntityType::Badge,
            ContainmentAction::DisableAccount => EntityType::Account,
            ContainmentAction::RevokeApiKey => EntityType::ApiKey,
            ContainmentAction::EndVendorGrant => EntityType::Vendor,
            ContainmentAction::LockDoor => EntityType::Door,
            ContainmentAction::LockZone => EntityType::Zone,
            ContainmentAction::HoldDock | ContainmentAction::QuarantineLocation => EntityType::Location,
            ContainmentAction::QuarantineSku => EntityType::Sku,
        }
    }

    /// Whether an event of `kind` naming the target uses what this
    /// containment closed (a count of a quarantined SKU does not; a
    /// shipment of it does).
    pub fn breached_by(self, kind: EventKind) -> bool {
        use EventKind as K;
        if kind.family() == Family::Record || kind.family() == Family::Hr {
            return false;
        }
        match self {
            ContainmentAction::RevokeBadge
            | ContainmentAction::DisableAccount
            | ContainmentAction::RevokeApiKey
            | ContainmentAction::EndVendorGrant => !matches!(
                kind,
                K::IdentityCredentialIssued | K::IdentityCredentialRevoked | K::IdentityCredentialExpired
            ),
            ContainmentAction::LockDoor | ContainmentAction::LockZone => matches!(
                kind,
                K::AccessGranted
                    | K::AccessDoorForced
                    | K::AccessDoorHeldOpen
                    | K::AccessDoorUnlockedManually
                    | K::AccessDoorOpened
                    | K::VideoTailgating
            ),
            ContainmentAction::HoldDock => matches!(kind, K::InventoryShipped | K::InventoryPicked | K::InventoryMoved),
            ContainmentAction::QuarantineLocation | ContainmentAction::QuarantineSku => {
                kind.family() == Family::Inventory && !matches!(kind, K::InventoryCounted | K::InventoryObserved)
            }
        }
    }
}

/// A containment Stockade applied for an incident, or lifted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Containment {
    pub action: ContainmentAction,
    /// The id of what it applies to (a badge, account, API key, vendor,
    /// door, zone, location or SKU, as `action` says).
    pub target: String,
    /// The incident it was taken for (`INC-<n>`).
    pub incident: String,
    /// Set when this lifts the containment.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lifted: bool,
    pub reason: String,
}

/// An accepted event withdrawn (`stockade retract`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Retraction {
    /// The withdrawn event's place in the log, source, id and payload hash.
    pub retracted_seq: i64,
    pub retracted_source: SourceId,
    pub retracted_id: EventId,
    /// SHA-256 of the withdrawn event's stored payload, hex.
    pub retracted_hash: String,
    /// Why (a wrong mapping, a file loaded twice under other ids...).
    pub reason: String,
    /// The load it came from (the `record.loaded` event's id), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<String>,
}

// ---- entity references ----

/// A typed reference from an event to an entity it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum EntityRef {
    Site(SiteId),
    Zone(ZoneId),
    Door(DoorId),
    Reader(ReaderId),
    Camera(CameraId),
    Person(PersonId),
    Badge(BadgeId),
    Vendor(VendorId),
    Sku(Sku),
    Location(LocationId),
    Account(AccountId),
    System(SystemId),
    ApiKey(ApiKeyId),
    Asset(AssetId),
}

/// The type of an entity reference, without its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityType {
    Site,
    Zone,
    Door,
    Reader,
    Camera,
    Person,
    Badge,
    Vendor,
    Sku,
    Location,
    Account,
    System,
    ApiKey,
    Asset,
}

impl EntityType {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::Site => "site",
            EntityType::Zone => "zone",
            EntityType::Door => "door",
            EntityType::Reader => "reader",
            EntityType::Camera => "camera",
            EntityType::Person => "person",
            EntityType::Badge => "badge",
            EntityType::Vendor => "vendor",
            EntityType::Sku => "sku",
            EntityType::Location => "location",
            EntityType::Account => "account",
            EntityType::System => "system",
            EntityType::ApiKey => "api_key",
            EntityType::Asset => "asset",
        }
    }
}

impl EntityRef {
    /// A typed reference from a type and an id (None if the id is not a valid id).
    pub fn of(t: EntityType, id: &str) -> Option<EntityRef> {
        use EntityType as T;
        Some(match t {
            T::Site => EntityRef::Site(SiteId::new(id).ok()?),
            T::Zone => EntityRef::Zone(ZoneId::new(id).ok()?),
            T::Door => EntityRef::Door(DoorId::new(id).ok()?),
            T::Reader => EntityRef::Reader(ReaderId::new(id).ok()?),
            T::Camera => EntityRef::Camera(CameraId::new(id).ok()?),
            T::Person => EntityRef::Person(PersonId::new(id).ok()?),
            T::Badge => EntityRef::Badge(BadgeId::new(id).ok()?),
            T::Vendor => EntityRef::Vendor(VendorId::new(id).ok()?),
            T::Sku => EntityRef::Sku(Sku::new(id).ok()?),
            T::Location => EntityRef::Location(LocationId::new(id).ok()?),
            T::Account => EntityRef::Account(AccountId::new(id).ok()?),
            T::System => EntityRef::System(SystemId::new(id).ok()?),
            T::ApiKey => EntityRef::ApiKey(ApiKeyId::new(id).ok()?),
            T::Asset => EntityRef::Asset(AssetId::new(id).ok()?),
        })
    }

    /// The entity's type.
    pub fn entity_type(&self) -> EntityType {
        use EntityType as T;
        match self {
            EntityRef::Site(_) => T::Site,
            EntityRef::Zone(_) => T::Zone,
            EntityRef::Door(_) => T::Door,
            EntityRef::Reader(_) => T::Reader,
            EntityRef::Camera(_) => T::Camera,
            EntityRef::Person(_) => T::Person,
            EntityRef::Badge(_) => T::Badge,
            EntityRef::Vendor(_) => T::Vendor,
            EntityRef::Sku(_) => T::Sku,
            EntityRef::Location(_) => T::Location,
            EntityRef::Account(_) => T::Account,
            EntityRef::System(_) => T::System,
            EntityRef::ApiKey(_) => T::ApiKey,
            EntityRef::Asset(_) => T::Asset,
        }
    }

    /// The entity type's name, as used in flags and errors.
    pub fn type_name(&self) -> &'static str {
        self.entity_type().as_str()
    }

    pub fn id(&self) -> &str {
        match self {
            EntityRef::Site(x) => x.as_str(),
            EntityRef::Zone(x) => x.as_str(),
            EntityRef::Door(x) => x.as_str(),
            EntityRef::Reader(x) => x.as_str(),
            EntityRef::Camera(x) => x.as_str(),
            EntityRef::Person(x) => x.as_str(),
            EntityRef::Badge(x) => x.as_str(),
            EntityRef::Vendor(x) => x.as_str(),
            EntityRef::Sku(x) => x.as_str(),
            EntityRef::Location(x) => x.as_str(),
            EntityRef::Account(x) => x.as_str(),
            EntityRef::System(x) => x.as_str(),
            EntityRef::ApiKey(x) => x.as_str(),
            EntityRef::Asset(x) => x.as_str(),
        }
    }
}

/// Why an event that parsed is still not acceptable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("field `{field}`: {reason}")]
pub struct InvalidEvent {
    pub field: &'static str,
    pub reason: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> InvalidEvent {
    InvalidEvent { field, reason: reason.into() }
}

fn positive(field: &'static str, q: f64) -> Result<(), InvalidEvent> {
    if q.is_finite() && q > 0.0 { Ok(()) } else { Err(invalid(field, format!("must be a positive number, got {q}"))) }
}

fn non_negative(field: &'static str, q: f64) -> Result<(), InvalidEvent> {
    if q.is_finite() && q >= 0.0 { Ok(()) } else { Err(invalid(field, format!("must be zero or more, got {q}"))) }
}

fn text(field: &'static str, s: &str) -> Result<(), InvalidEvent> {
    if s.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if s.len() > 2000 {
        return Err(invalid(field, "must be at most 2000 bytes"));
    }
    Ok(())
}

impl Event {
    pub fn kind(&self) -> EventKind {
        self.body.kind()
    }

    /// Parses one JSON event and validates it.
    pub fn from_json(bytes: &[u8]) -> Result<Event, EventError> {
        let ev: Event = serde_json::from_slice(bytes).map_err(EventError::from_json)?;
        ev.validate()?;
        Ok(ev)
    }

    /// As [`Event::from_json`], from a JSON value already built (a mapped
    /// CSV row), without writing it out and reading it back.
    pub fn from_value(v: &serde_json::Value) -> Result<Event, EventError> {
        let ev = Event::deserialize(v).map_err(EventError::from_json)?;
        ev.validate()?;
        Ok(ev)
    }

    /// Checks what the types cannot: numbers in range, non-empty text, a sane year.
    pub fn validate(&self) -> Result<(), InvalidEvent> {
        let year = self.occurred_at.year();
        if !(1970..=2200).contains(&year) {
            return Err(invalid("occurred_at", format!("year {year} is out of range 1970..=2200")));
        }
        match &self.body {
            EventBody::InventoryReceived(r) | EventBody::InventoryReturned(r) => positive("quantity", r.quantity),
            EventBody::InventoryPutAway(t) | EventBody::InventoryMoved(t) => {
                positive("quantity", t.quantity)?;
                if t.from_location.is_none() && matches!(self.body, EventBody::InventoryMoved(_)) {
                    return Err(invalid("from_location", "is required for inventory.moved"));
                }
                if t.from_location.as_ref() == Some(&t.to_location) {
                    return Err(invalid("to_location", "must differ from from_location"));
                }
                Ok(())
            }
            EventBody::InventoryPicked(p) => positive("quantity", p.quantity),
            EventBody::InventoryPacked(p) => positive("quantity", p.quantity),
            EventBody::InventoryShipped(s) => positive("quantity", s.quantity),
            EventBody::InventoryAdjusted(a) => {
                if !a.delta.is_finite() || a.delta == 0.0 {
                    return Err(invalid("delta", format!("must be a non-zero number, got {}", a.delta)));
                }
                text("reason", &a.reason)
            }
            EventBody::InventoryCounted(c) => non_negative("quantity", c.quantity),
            EventBody::InventoryObserved(o) => o.quantity.map_or(Ok(()), |q| non_negative("quantity", q)),
            EventBody::InventoryScrapped(s) => {
                positive("quantity", s.quantity)?;
                text("reason", &s.reason)
            }
            EventBody::AccessDoorForced(d)
            | EventBody::AccessDoorHeldOpen(d)
            | EventBody::AccessDoorUnlockedManually(d)
            | EventBody::AccessDoorOpened(d)
            | EventBody::AccessDoorClosed(d) => d.duration_s.map_or(Ok(()), |s| non_negative("duration_s", s)),
            EventBody::VideoLoitering(l) => non_negative("duration_s", l.duration_s),
            EventBody::IdentityPrivilegeUse(p) => text("privilege", &p.privilege),
            EventBody::IdentityCredentialIssued(c)
            | EventBody::IdentityCredentialRevoked(c)
            | EventBody::IdentityCredentialExpired(c) => text("credential", &c.credential),
            EventBody::HrHired(h) => text("role", &h.role),
            EventBody::HrRoleChanged(r) => text("role", &r.role),
            EventBody::AssetFirmwareReported(f) => text("firmware_version", &f.firmware_version),
            EventBody::RecordRetracted(r) => text("reason", &r.reason),
            EventBody::RecordLoaded(l) => text("file", &l.file),
            EventBody::RecordContainment(c) => {
                text("target", &c.target)?;
                text("incident", &c.incident)?;
                text("reason", &c.reason)
            }
            _ => Ok(()),
        }
    }

    /// The entities this event concerns, site first.
    pub fn entities(&self) -> Vec<EntityRef> {
        self.entity_ids().into_iter().filter_map(|(t, id)| EntityRef::of(t, id)).collect()
    }

    /// The entities this event concerns, site first, borrowed: (type, id).
    pub fn entity_ids<'a>(&'a self) -> Vec<(EntityType, &'a str)> {
        use EntityType as E;
        let mut out = vec![(E::Site, self.site.as_str())];
        let opt = |out: &mut Vec<(EntityType, &'a str)>, e: Option<(EntityType, &'a str)>| {
            if let Some(e) = e {
                out.push(e);
            }
        };
        match &self.body {
            EventBody::InventoryReceived(r) | EventBody::InventoryReturned(r) => {
                out.push((E::Sku, r.sku.as_str()));
                opt(&mut out, r.to_location.as_ref().map(|v| (E::Location, v.as_str())));
                opt(&mut out, r.vendor.as_ref().map(|v| (E::Vendor, v.as_str())));
                opt(&mut out, r.person.as_ref().map(|v| (E::Person, v.as_str())));
                opt(&mut out, r.account.as_ref().map(|v| (E::Account, v.as_str())));
            }
            EventBody::InventoryPutAway(t) | EventBody::InventoryMoved(t) => {
                out.push((E::Sku, t.sku.as_str()));
                opt(&mut out, t.from_location.as_ref().map(|v| (E::Location, v.as_str())));
                out.push((E::Location, t.to_location.as_str()));
                opt(&mut out, t.person.as_ref().map(|v| (E::Person, v.as_str())));
                opt(&mut out, t.account.as_ref().map(|v| (E::Account, v.as_str())));
            }
            EventBody::InventoryPicked(p) => {
                out.push((E::Sku, p.sku.as_str()));
                out.push((E::Location, p.from_location.as_str()));
                opt(&mut out, p.to_location.as_ref().map(|v| (E::Location, v.as_str())));
                opt(&mut out, p.person.as_ref().map(|v| (E::Person, v.as_str())));
                opt(&mut out, p.account.as_ref().map(|v| (E::Account, v.as_str())));
            }
            EventBody::InventoryPacked(p) => {
                out.push((E::Sku, p.sku.as_str()));
                opt(&mut out, p.location.as_ref().map(|v| (E::Location, v.as_str())));
                opt(&mut out, p.person.as_ref().map(|v| (E::Person, v.as_str())));
            }
            EventBody::InventoryShipped(s) => {
                out.push((E::Sku, s.sku.as_str()));
                opt(&mut out, s.from_location.as_ref().map(|v| (E::Location, v.as_str())));
                opt(&mut out, s.carrier.as_ref().map(|v| (E::Vendor, v.as_str())));
                opt(&mut out, s.door.as_ref().map(|v| (E::Door, v.as_str())));
                opt(&mut out, s.person.as_ref().map(|v| (E::Person, v.as_str())));
            }
            EventBody::InventoryAdjusted(a) => {
                out.push((E::Sku, a.sku.as_str()));
                out.push((E::Location, a.location.as_str()));
                opt(&mut out, a.approver.as_ref().map(|v| (E::Person, v.as_str())));
                opt(&mut out, a.person.as_ref().map(|v| (E::Person, v.as_str())));
                opt(&mut out, a.account.as_ref().map(|v| (E::Account, v.as_str())));
            }
            EventBody::InventoryCounted(c) => {
                out.push((E::Sku, c.sku.as_str()));
                out.push((E::Location, c.location.as_str()));
                opt(&mut out, c.person.as_ref().map(|v| (E::Person, v.as_str())));
            }
            EventBody::InventoryScrapped(s) => {
                out.push((E::Sku, s.sku.as_str()));
                out.push((E::Location, s.from_location.as_str()));
                opt(&mut out, s.approver.as_ref().map(|v| (E::Person, v.as_str())));
                opt(&mut out, s.person.as_ref().map(|v| (E::Person, v.as_str())));
            }
            EventBody::InventoryObserved(o) => {
                opt(&mut out, o.sku.as_ref().map(|v| (E::Sku, v.as_str())));
                opt(&mut out, o.location.as_ref().map(|v| (E::Location, v.as_str())));
            }
            EventBody::AccessGranted(b) | EventBody::AccessDenied(b) => {
                out.push((E::Door, b.door.as_str()));
                out.push((E::Badge, b.badge.as_str()));
                opt(&mut out, b.reader.as_ref().map(|v| (E::Reader, v.as_str())));
                opt(&mut out, b.zone.as_ref().map(|v| (E::Zone, v.as_str())));
                opt(&mut out, b.person.as_ref().map(|v| (E::Person, v.as_str())));
            }
            EventBody::AccessDoorForced(d)
            | EventBody::AccessDoorHeldOpen(d)
            | EventBody::AccessDoorUnlockedManually(d)
            | EventBody::AccessDoorOpened(d)
            | EventBody::AccessDoorClosed(d) => {
                out.push((E::Door, d.door.as_str()));
                opt(&mut out, d.zone.as_ref().map(|v| (E::Zone, v.as_str())));
                opt(&mut out, d.person.as_ref().map(|v| (E::Person, v.as_str())));
            }
            EventBody::VideoPeopleCount(p) => {
                out.push((E::Camera, p.camera.as_str()));
                opt(&mut out, p.door.as_ref().map(|v| (E::Door, v.as_str())));
                opt(&mut out, p.zone.as_ref().map(|v| (E::Zone, v.as_str())));
            }
            EventBody::VideoTailgating(t) => {
                out.push((E::Camera, t.camera.as_str()));
                out.push((E::Door, t.door.as_str()));
                opt(&mut out, t.badge.as_ref().map(|v| (E::Badge, v.as_str())));
            }
            EventBody::VideoLoitering(l) => {
                out.push((E::Camera, l.camera.as_str()));
                opt(&mut out, l.zone.as_ref().map(|v| (E::Zone, v.as_str())));
                opt(&mut out, l.door.as_ref().map(|v| (E::Door, v.as_str())));
            }
            EventBody::VideoMotion(m) => {
                out.push((E::Camera, m.camera.as_str()));
                out.push((E::Zone, m.zone.as_str()));
            }
            EventBody::VideoCameraOffline(c) | EventBody::VideoCameraTamper(c) => {
                out.push((E::Camera, c.camera.as_str()))
            }
            EventBody::IdentityLogin(l) => {
                out.push((E::System, l.system.as_str()));
                out.push((E::Account, l.account.as_str()));
                opt(&mut out, l.person.as_ref().map(|v| (E::Person, v.as_str())));
            }
            EventBody::IdentityPrivilegeUse(p) => {
                out.push((E::System, p.system.as_str()));
                out.push((E::Account, p.account.as_str()));
                opt(&mut out, p.person.as_ref().map(|v| (E::Person, v.as_str())));
            }
            EventBody::IdentityApiKeyUsed(k) => {
                out.push((E::System, k.system.as_str()));
                out.push((E::ApiKey, k.api_key.as_str()));
                opt(&mut out, k.vendor.as_ref().map(|v| (E::Vendor, v.as_str())));
            }
            EventBody::IdentityCredentialIssued(c)
            | EventBody::IdentityCredentialRevoked(c)
            | EventBody::IdentityCredentialExpired(c) => {
                opt(&mut out, c.person.as_ref().map(|v| (E::Person, v.as_str())));
                opt(&mut out, c.vendor.as_ref().map(|v| (E::Vendor, v.as_str())));
                opt(&mut out, c.system.as_ref().map(|v| (E::System, v.as_str())));
                if c.credential_type == CredentialType::Badge {
                    opt(&mut out, Some((E::Badge, c.credential.as_str())));
                }
            }
            EventBody::HrHired(h) => {
                out.push((E::Person, h.person.as_str()));
                opt(&mut out, h.manager.as_ref().map(|v| (E::Person, v.as_str())));
            }
            EventBody::HrRoleChanged(r) => out.push((E::Person, r.person.as_str())),
            EventBody::HrTerminated(t) => out.push((E::Person, t.person.as_str())),
            EventBody::HrLeaveStarted(l) | EventBody::HrLeaveEnded(l) => out.push((E::Person, l.person.as_str())),
            EventBody::AssetSeen(a) => out.push((E::Asset, a.asset.as_str())),
            EventBody::AssetFirmwareReported(f) => out.push((E::Asset, f.asset.as_str())),
            EventBody::AssetConfigChanged(c) => {
                out.push((E::Asset, c.asset.as_str()));
                opt(&mut out, c.person.as_ref().map(|v| (E::Person, v.as_str())));
                opt(&mut out, c.account.as_ref().map(|v| (E::Account, v.as_str())));
            }
            EventBody::AssetOffline(a) => out.push((E::Asset, a.asset.as_str())),
            EventBody::RecordLoaded(_) | EventBody::RecordRetracted(_) => {}
            EventBody::RecordContainment(c) => out.push((c.action.target(), c.target.as_str())),
        }
        out
    }

    /// Names the person an event's account or badge belongs to, when the
    /// event names none and the reference data knows whose it is (exports
    /// name accounts like `u_wh_a_p028`, not people). Returns whether it did.
    pub fn fill_person(&mut self, known: &crate::ReferenceIndex) -> bool {
        use EventBody as B;
        let (person, by_account, by_badge) = match &mut self.body {
            B::InventoryReceived(r) | B::InventoryReturned(r) => (&mut r.person, r.account.as_ref(), None),
            B::InventoryPutAway(t) | B::InventoryMoved(t) => (&mut t.person, t.account.as_ref(), None),
            B::InventoryPicked(p) => (&mut p.person, p.account.as_ref(), None),
            B::InventoryAdjusted(a) => (&mut a.person, a.account.as_ref(), None),
            B::AccessGranted(b) | B::AccessDenied(b) => (&mut b.person, None, Some(&b.badge)),
            B::IdentityLogin(l) => (&mut l.person, Some(&l.account), None),
            B::IdentityPrivilegeUse(p) => (&mut p.person, Some(&p.account), None),
            B::AssetConfigChanged(c) => (&mut c.person, c.account.as_ref(), None),
            _ => return false,
        };
        if person.is_some() {
            return false;
        }
        let found = by_account
            .and_then(|a| known.person_of_account(a.as_str()))
            .or_else(|| by_badge.and_then(|b| known.person_of_badge(b.as_str())));
        match found {
            Some(p) => {
                *person = Some(p.clone());
                true
            }
            None => false,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An event read from a built value is the event read from its JSON
    /// text, and a value refused is refused for the same reason (less the
    /// text's position): the example feed, and each way of getting one
    /// wrong.
    #[test]
    fn a_value_reads_as_its_json_text_does() {
        let text = include_str!("../../../examples/events.ndjson");
        let mut values: Vec<serde_json::Value> =
            text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect();
        assert!(values.len() >= 10);
        let first = values[0].clone();
        let with = |k: &str, v: serde_json::Value| {
            let mut e = first.clone();
            e[k] = v;
            e
        };
        let refused = [
            with("kind", "access.teleported".into()),
            with("occurred_at", "2026-11-02 08:00:00".into()),
            with("occurred_at", "1900-01-01T00:00:00Z".into()),
            with("site", "".into()),
            with("site", 3.into()),
            with("quantity", (-1).into()),
            with("quantity", "forty".into()),
        ];
        // A member no event has is let through, by both.
        values.push(with("unheard_of", "x".into()));
        values.extend(refused);
        let mut failures = 0;
        for v in &values {
            let from_text = Event::from_json(&serde_json::to_vec(v).unwrap());
            let from_value = Event::from_value(v);
            match (from_text, from_value) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => {
                    failures += 1;
                    let without_position = |e: EventError| {
                        let s = e.to_string();
                        s.find(" at line ").map_or(s.clone(), |i| s[..i].to_owned())
                    };
                    assert_eq!(without_position(a), without_position(b), "{v}");
                }
                (a, b) => panic!("{v}: from text {a:?}, from value {b:?}"),
            }
        }
        assert_eq!(failures, 7);
    }

    /// Whole quantities are written as integers, others as the shortest
    /// decimal; both forms read back to the same value.
    #[test]
    fn quantities_are_written_as_people_write_them() {
        let ev = |q: &str| {
            format!(
                r#"{{"id":"1","source":"w","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"inventory.adjusted","sku":"K","location":"A","delta":{q},"reason":"r"}}"#
            )
        };
        for (given, written) in
            [("3", "3"), ("3.0", "3"), ("-2", "-2"), ("2.5", "2.5"), ("0.1", "0.1"), ("1e300", "1e+300")]
        {
            let e = Event::from_json(ev(given).as_bytes()).unwrap();
            let canon = String::from_utf8(e.canonical_bytes()).unwrap();
            assert!(canon.contains(&format!(r#""delta":{written},"#)), "{given}: {canon}");
            let back = Event::from_json(canon.as_bytes()).unwrap();
            assert_eq!(back, e, "{given}");
        }
    }

    /// The fast `received_at` writer spells every precision exactly as
    /// chrono's own `Serialize` does, so canonical bytes do not change.
    #[test]
    fn received_at_is_written_as_chrono_writes_it() {
        for nanos in [0u32, 1_000_000, 120_000_000, 123_456_000, 123_456_789, 1, 999_999_999] {
            let t = DateTime::from_timestamp(1_764_162_000, nanos).unwrap();
            let chrono_json = serde_json::to_string(&t).unwrap();
            let mut e = Event::from_json(br#"{"id":"a","source":"s","site":"S","occurred_at":"2026-11-02T22:14:07+01:00","kind":"access.granted","door":"D","badge":"B"}"#).unwrap();
            e.received_at = Some(t);
            let bytes = String::from_utf8(e.canonical_bytes()).unwrap();
            assert!(bytes.contains(&format!("\"received_at\":{chrono_json}")), "{bytes} vs {chrono_json}");
        }
    }

    fn line(s: &str) -> Result<Event, EventError> {
        Event::from_json(s.as_bytes())
    }

    const GRANTED: &str = r#"{"id":"a1","source":"acs","site":"LYS","occurred_at":"2026-11-02T22:14:07.250+01:00","kind":"access.granted","door":"D1","badge":"B1","direction":"in"}"#;

    #[test]
    fn parses_and_keeps_offset() {
        let ev = line(GRANTED).unwrap();
        assert_eq!(ev.kind(), EventKind::AccessGranted);
        assert_eq!(ev.offset_s(), 3600);
        assert_eq!(ev.occurred_us(), 1_793_654_047_250_000);
        let back = String::from_utf8(ev.canonical_bytes()).unwrap();
        assert!(back.contains(r#""occurred_at":"2026-11-02T22:14:07.250+01:00""#), "{back}");
        assert_eq!(line(&back).unwrap(), ev);
    }

    #[test]
    fn time_without_offset_is_rejected_with_a_hint() {
        let bad = GRANTED.replace("+01:00", "");
        let err = line(&bad).unwrap_err().to_string();
        assert!(err.contains("has no UTC offset"), "{err}");
    }

    #[test]
    fn unknown_kind_names_the_kind() {
        let bad = GRANTED.replace("access.granted", "access.teleported");
        let err = line(&bad).unwrap_err().to_string();
        assert!(err.contains("unknown kind `access.teleported`"), "{err}");
        // Another field's unknown value is not an unknown kind.
        let bad = GRANTED.replace(r#""direction":"in""#, r#""direction":"sideways""#);
        assert_ne!(bad, GRANTED);
        let err = line(&bad).unwrap_err().to_string();
        assert!(err.contains("unknown variant `sideways`") && !err.contains("unknown kind"), "{err}");
    }

    #[test]
    fn missing_field_is_named() {
        let bad = GRANTED.replace(r#""badge":"B1","#, "");
        let err = line(&bad).unwrap_err().to_string();
        assert!(err.contains("missing field `badge`"), "{err}");
    }

    #[test]
    fn wrong_type_is_named() {
        let bad = r#"{"id":"x","source":"wms","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"inventory.received","sku":"K","quantity":"ten","to_location":"L"}"#;
        let err = line(bad).unwrap_err().to_string();
        assert!(err.contains("invalid type"), "{err}");
    }

    #[test]
    fn malformed_json_is_a_syntax_error() {
        assert!(matches!(line("{\"id\":"), Err(EventError::Syntax(_))));
    }

    #[test]
    fn semantic_checks() {
        let zero = r#"{"id":"x","source":"wms","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"inventory.received","sku":"K","quantity":0,"to_location":"L"}"#;
        assert!(line(zero).unwrap_err().to_string().contains("field `quantity`"));
        let adj = r#"{"id":"x","source":"wms","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"inventory.adjusted","sku":"K","location":"L","delta":0,"reason":"x"}"#;
        assert!(line(adj).unwrap_err().to_string().contains("field `delta`"));
        let empty_id = GRANTED.replace(r#""id":"a1""#, r#""id":"""#);
        assert!(line(&empty_id).unwrap_err().to_string().contains("EventId is empty"));
    }

    #[test]
    fn every_kind_round_trips_its_name() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(*k));
            assert!(k.as_str().starts_with(k.family().as_str()));
        }
        assert_eq!(EventKind::ALL.len(), 42);
    }

    #[test]
    fn containments_name_their_target_and_what_breaches_them() {
        let e = |reason: &str| {
            Event::from_json(
                format!(
                    r#"{{"id":"c1","source":"stockade","site":"S1","occurred_at":"2026-03-02T10:00:00Z","kind":"record.containment","action":"quarantine_sku","target":"SKU-1","incident":"INC-2","reason":"{reason}"}}"#
                )
                .as_bytes(),
            )
        };
        let ok = e("shortage").unwrap();
        assert!(ok.validate().is_ok());
        assert_eq!(ok.entity_ids()[1], (EntityType::Sku, "SKU-1"));
        assert!(e(" ").unwrap_err().to_string().contains("reason"), "a containment says why");
        use ContainmentAction as A;
        assert!(A::QuarantineSku.breached_by(EventKind::InventoryShipped));
        assert!(!A::QuarantineSku.breached_by(EventKind::InventoryCounted));
        assert!(A::RevokeBadge.breached_by(EventKind::AccessDenied));
        assert!(!A::RevokeBadge.breached_by(EventKind::IdentityCredentialRevoked));
        assert!(!A::LockDoor.breached_by(EventKind::AccessDenied), "a refusal is the lock working");
        assert!(!A::EndVendorGrant.breached_by(EventKind::RecordContainment));
        assert_eq!(A::ALL.iter().filter(|a| a.target() == EntityType::Location).count(), 2);
    }
}

/// Quantities as JSON numbers: a whole number is written as an integer
/// (`3`, as sources and people write it, and as RFC 8785 writes it), any
/// other as the shortest decimal that reads back the same. Reading accepts
/// both.
mod whole {
    use serde::Serializer;

    /// Whole numbers up to 2^53 are exact in both forms.
    const EXACT: f64 = 9_007_199_254_740_992.0;

    pub fn number<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.fract() == 0.0 && v.abs() <= EXACT { s.serialize_i64(*v as i64) } else { s.serialize_f64(*v) }
    }

    pub fn option<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => number(v, s),
            None => s.serialize_none(),
        }
    }
}
