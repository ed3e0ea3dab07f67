//! What the encoders are given: the model's own event bodies
//! (`stockade_model::EventBody`), built from the simulation's ids.

use super::*;

/// An event body, or the id that could not be one.
pub(super) type Body = Result<EventBody, IdError>;

/// The typed ids the simulation builds.
pub(super) trait Id: Sized {
    fn make(s: String) -> Result<Self, IdError>;
}

macro_rules! ids {
    ($($t:ty),*) => {$(
        impl Id for $t {
            fn make(s: String) -> Result<Self, IdError> {
                <$t>::new(s)
            }
        }
    )*};
}

ids!(
    stockade_model::DoorId,
    stockade_model::BadgeId,
    stockade_model::PersonId,
    stockade_model::CameraId,
    stockade_model::ZoneId,
    stockade_model::Sku,
    stockade_model::LocationId,
    stockade_model::VendorId,
    stockade_model::AccountId,
    stockade_model::SystemId,
    stockade_model::ApiKeyId,
    stockade_model::AssetId
);

/// A typed id from the simulation's text.
pub(super) fn id<T: Id>(s: impl Into<String>) -> Result<T, IdError> {
    T::make(s.into())
}

fn opt<T: Id>(s: Option<&str>) -> Result<Option<T>, IdError> {
    s.map(id).transpose()
}

// ---- inventory ----

/// Goods received into a location.
pub(super) fn received(
    sku: &str,
    quantity: i64,
    to: &str,
    reference: Option<&str>,
    vendor: Option<&str>,
    person: Option<&str>,
    account: Option<&str>,
) -> Body {
    Ok(EventBody::InventoryReceived(Receipt {
        sku: id(sku)?,
        quantity: quantity as f64,
        to_location: Some(id(to)?),
        reference: reference.map(str::to_owned),
        vendor: opt(vendor)?,
        person: opt(person)?,
        account: opt(account)?,
    }))
}

/// Goods a customer returned, into a location.
pub(super) fn returned(sku: &str, quantity: i64, to: &str, reference: Option<&str>) -> Body {
    let receipt = Receipt {
        sku: id(sku)?,
        quantity: quantity as f64,
        to_location: Some(id(to)?),
        reference: reference.map(str::to_owned),
        vendor: None,
        person: None,
        account: None,
    };
    Ok(EventBody::InventoryReturned(receipt))
}

/// Goods put away from receiving into storage.
pub(super) fn put_away_to(sku: &str, quantity: i64, from: &str, to: &str, person: Option<&str>) -> Body {
    let (quantity, person) = (quantity as f64, opt(person)?);
    let (from_location, to_location) = (Some(id(from)?), id(to)?);
    Ok(EventBody::InventoryPutAway(Transfer {
        sku: id(sku)?,
        quantity,
        from_location,
        to_location,
        person,
        account: None,
        work_order: None,
    }))
}

/// Goods moved between locations.
pub(super) fn moved(
    sku: &str,
    quantity: i64,
    from: &str,
    to: &str,
    work_order: Option<&str>,
    person: Option<&str>,
    account: Option<&str>,
) -> Body {
    let (from_location, to_location) = (Some(id(from)?), id(to)?);
    let work_order = work_order.map(str::to_owned);
    Ok(EventBody::InventoryMoved(Transfer {
        sku: id(sku)?,
        quantity: quantity as f64,
        from_location,
        to_location,
        person: opt(person)?,
        account: opt(account)?,
        work_order,
    }))
}

pub(super) fn picked(
    sku: &str,
    quantity: i64,
    from: &str,
    to: Option<&str>,
    order: Option<&str>,
    person: Option<&str>,
) -> Body {
    Ok(EventBody::InventoryPicked(Pick {
        sku: id(sku)?,
        quantity: quantity as f64,
        from_location: id(from)?,
        to_location: opt(to)?,
        order: order.map(str::to_owned),
        person: opt(person)?,
        account: None,
    }))
}

pub(super) fn packed(sku: &str, quantity: i64, location: Option<&str>, order: Option<&str>) -> Body {
    Ok(EventBody::InventoryPacked(Pack {
        sku: id(sku)?,
        quantity: quantity as f64,
        location: opt(location)?,
        order: order.map(str::to_owned),
        person: None,
    }))
}

pub(super) fn shipped(
    sku: &str,
    quantity: i64,
    from: &str,
    order: Option<&str>,
    carrier: Option<&str>,
    door: Option<&str>,
    person: Option<&str>,
) -> Body {
    Ok(EventBody::InventoryShipped(Shipment {
        sku: id(sku)?,
        quantity: quantity as f64,
        from_location: Some(id(from)?),
        order: order.map(str::to_owned),
        carrier: opt(carrier)?,
        door: opt(door)?,
        person: opt(person)?,
    }))
}

pub(super) fn adjusted(
    sku: &str,
    location: &str,
    delta: i64,
    reason: &str,
    approver: Option<&str>,
    person: Option<&str>,
    account: Option<&str>,
) -> Body {
    Ok(EventBody::InventoryAdjusted(Adjustment {
        sku: id(sku)?,
        location: id(location)?,
        delta: delta as f64,
        reason: reason.to_owned(),
        approver: opt(approver)?,
        person: opt(person)?,
        account: opt(account)?,
    }))
}

pub(super) fn counted_at(
    sku: &str,
    location: &str,
    quantity: i64,
    count_type: CountType,
    person: Option<&str>,
) -> Body {
    Ok(EventBody::InventoryCounted(Count {
        sku: id(sku)?,
        location: id(location)?,
        quantity: quantity as f64,
        count_type,
        person: opt(person)?,
    }))
}

// ---- access ----

fn badge_read(
    door: &str,
    badge: &str,
    person: Option<&str>,
    direction: Option<Direction>,
    reason: Option<&str>,
) -> Result<BadgeRead, IdError> {
    Ok(BadgeRead {
        door: id(door)?,
        badge: id(badge)?,
        reader: None,
        zone: None,
        person: opt(person)?,
        direction,
        reason: reason.map(str::to_owned),
    })
}

/// A badge read refused at a door, and why (as the controller logs it).
pub(super) fn denied(
    door: &str,
    badge: &str,
    person: Option<&str>,
    direction: Option<Direction>,
    reason: &str,
) -> Body {
    Ok(EventBody::AccessDenied(badge_read(door, badge, person, direction, Some(reason))?))
}

/// A badge read accepted at a door.
pub(super) fn granted(door: &str, badge: &str, person: Option<&str>, direction: Option<Direction>) -> Body {
    Ok(EventBody::AccessGranted(badge_read(door, badge, person, direction, None)?))
}

fn door_alarm(door: &str, duration_s: Option<i64>, person: Option<&str>) -> Result<DoorAlarm, IdError> {
    Ok(DoorAlarm { door: id(door)?, zone: None, duration_s: duration_s.map(|d| d as f64), person: opt(person)? })
}

pub(super) fn door_forced(door: &str) -> Body {
    Ok(EventBody::AccessDoorForced(door_alarm(door, None, None)?))
}

pub(super) fn door_held_open(door: &str, duration_s: i64) -> Body {
    Ok(EventBody::AccessDoorHeldOpen(door_alarm(door, Some(duration_s), None)?))
}

// ---- video ----

pub(super) fn people_count(camera: &str, door: Option<&str>, people: i64, direction: Option<Direction>) -> Body {
    Ok(EventBody::VideoPeopleCount(PeopleCount {
        camera: id(camera)?,
        door: opt(door)?,
        people: u32::try_from(people).unwrap_or(0),
        zone: None,
        direction,
    }))
}

pub(super) fn tailgating_body(camera: &str, door: &str, people: Option<i64>, badge: Option<&str>) -> Body {
    Ok(EventBody::VideoTailgating(Tailgating {
        camera: id(camera)?,
        door: id(door)?,
        people: people.map(|p| u32::try_from(p).unwrap_or(0)),
        badge: opt(badge)?,
    }))
}

pub(super) fn motion(camera: &str, zone: &str) -> Body {
    Ok(EventBody::VideoMotion(Motion { camera: id(camera)?, zone: id(zone)? }))
}

pub(super) fn camera_offline(camera: &str, detail: Option<&str>) -> Body {
    Ok(EventBody::VideoCameraOffline(CameraHealth { camera: id(camera)?, detail: detail.map(str::to_owned) }))
}

pub(super) fn camera_tamper(camera: &str, detail: Option<&str>) -> Body {
    Ok(EventBody::VideoCameraTamper(CameraHealth { camera: id(camera)?, detail: detail.map(str::to_owned) }))
}

// ---- identity ----

pub(super) fn login(
    system: &str,
    account: &str,
    result: Outcome,
    mfa: bool,
    source_ip: Option<IpAddr>,
    person: Option<&str>,
) -> Body {
    Ok(EventBody::IdentityLogin(Login {
        system: id(system)?,
        account: id(account)?,
        result,
        mfa,
        source_ip,
        person: opt(person)?,
    }))
}

pub(super) fn privilege_use(system: &str, account: &str, privilege: &str, person: Option<&str>) -> Body {
    Ok(EventBody::IdentityPrivilegeUse(PrivilegeUse {
        system: id(system)?,
        account: id(account)?,
        privilege: privilege.to_owned(),
        person: opt(person)?,
    }))
}

pub(super) fn api_key_used(
    system: &str,
    api_key: &str,
    operation: Option<&str>,
    source_ip: Option<IpAddr>,
    vendor: Option<&str>,
) -> Body {
    Ok(EventBody::IdentityApiKeyUsed(ApiKeyUse {
        system: id(system)?,
        api_key: id(api_key)?,
        operation: operation.map(str::to_owned),
        source_ip,
        vendor: opt(vendor)?,
    }))
}

pub(super) fn credential_issued(credential_type: CredentialType, credential: &str, person: Option<&str>) -> Body {
    Ok(EventBody::IdentityCredentialIssued(Credential {
        credential_type,
        credential: credential.to_owned(),
        person: opt(person)?,
        vendor: None,
        system: None,
    }))
}

// ---- HR ----

pub(super) fn hired(person: &str, role: &str) -> Body {
    Ok(EventBody::HrHired(Hire { person: id(person)?, role: role.to_owned(), manager: None }))
}

pub(super) fn role_changed(person: &str, role: &str) -> Body {
    Ok(EventBody::HrRoleChanged(RoleChange { person: id(person)?, role: role.to_owned(), previous_role: None }))
}

pub(super) fn terminated_body(person: &str, reason: Option<&str>) -> Body {
    Ok(EventBody::HrTerminated(Termination { person: id(person)?, reason: reason.map(str::to_owned) }))
}

pub(super) fn leave_started(person: &str) -> Body {
    Ok(EventBody::HrLeaveStarted(Leave { person: id(person)? }))
}

pub(super) fn leave_ended(person: &str) -> Body {
    Ok(EventBody::HrLeaveEnded(Leave { person: id(person)? }))
}

// ---- devices ----

pub(super) fn asset_seen(asset: &str, ip: Option<IpAddr>, network_segment: Option<&str>) -> Body {
    Ok(EventBody::AssetSeen(AssetSeen { asset: id(asset)?, ip, network_segment: network_segment.map(str::to_owned) }))
}

pub(super) fn firmware_reported(asset: &str, firmware_version: &str) -> Body {
    Ok(EventBody::AssetFirmwareReported(Firmware { asset: id(asset)?, firmware_version: firmware_version.to_owned() }))
}

pub(super) fn config_changed(asset: &str, summary: Option<&str>, person: Option<&str>, account: Option<&str>) -> Body {
    Ok(EventBody::AssetConfigChanged(ConfigChange {
        asset: id(asset)?,
        summary: summary.map(str::to_owned),
        person: opt(person)?,
        account: opt(account)?,
    }))
}

pub(super) fn asset_offline(asset: &str) -> Body {
    Ok(EventBody::AssetOffline(AssetOffline { asset: id(asset)? }))
}

/// An IPv4 address from its four parts.
pub(super) fn ip(a: i64, b: i64, c: i64, d: i64) -> Option<IpAddr> {
    let part = |x: i64| u8::try_from(x).unwrap_or(0);
    Some(IpAddr::V4(Ipv4Addr::new(part(a), part(b), part(c), part(d))))
}
