//! What an event concerns: typed references to the entities it names.

use super::*;

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

impl Event {
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
}
