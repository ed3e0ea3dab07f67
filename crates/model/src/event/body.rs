//! The body of each event kind: the fields it carries.

use super::*;

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
