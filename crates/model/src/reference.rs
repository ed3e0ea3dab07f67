//! Reference data: the sites, zones, doors, people and goods events refer to.
//!
//! Loaded from YAML or CSV (`stockade import`) or through the API. Every record
//! has a typed id; records refer to each other by id and [`ReferenceData::check`]
//! says which references dangle.

use crate::event::EntityRef;
use crate::ids::*;
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// A warehouse, DC or hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Site {
    pub id: SiteId,
    pub name: String,
    /// IANA time zone (`Europe/Paris`), so that "after hours" means the site's hours.
    #[serde(with = "tz")]
    #[schemars(with = "String")]
    pub timezone: Tz,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The site's GS1 Global Location Number (13 digits): EPCIS events whose
    /// location (an SGLN of this GLN, any extension) is not registered as a
    /// location are placed at this site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gln: Option<String>,
    /// The site's count-correction policy: from this time on (RFC 3339), a
    /// count that disagrees with the book also corrects it, as WMSs do; the
    /// correction is recorded on the count as a derived adjustment and the
    /// variance is kept. Absent: counts only report (`docs/BOOK.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub counts_correct_book_from: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The site's own networks (CIDR: `10.1.0.0/19`): a login or key use from
    /// an address in them happened at this site (`ctx.ip_site` in rules).
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "cidr::deserialize")]
    #[schemars(with = "Vec<String>")]
    pub networks: Vec<ipnet::IpNet>,
    /// How the site keeps customers served while an incident disrupts it:
    /// shown on every incident that affects it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuity: Option<Continuity>,
}

/// A site's continuity plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Continuity {
    /// Where orders are fulfilled while the site is disrupted (another site,
    /// a third-party warehouse, drop-shipping by a supplier...).
    pub backup_fulfilment: String,
    /// SKUs to restore first, most important first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovery: Vec<Sku>,
    /// Who runs the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

mod cidr {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ipnet::IpNet>, D::Error> {
        Vec::<String>::deserialize(d)?
            .into_iter()
            .map(|s| {
                s.trim().parse::<ipnet::IpNet>().map_err(|_| {
                    serde::de::Error::custom(format!("network {s:?} is not a CIDR block (e.g. 10.1.0.0/19)"))
                })
            })
            .collect()
    }
}

mod tz {
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(t: &Tz, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.name())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Tz>()
            .map_err(|_| serde::de::Error::custom(format!("unknown IANA time zone {s:?} (e.g. Europe/Paris)")))
    }
}

/// Security tier of a zone, from least to most sensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecurityTier {
    Public,
    General,
    Dock,
    HighValueCage,
    ItOtRoom,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Zone {
    pub id: ZoneId,
    pub site: SiteId,
    pub name: String,
    pub tier: SecurityTier,
}

/// A door joins two zones; `to_zone` is the side a grant lets you into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Door {
    pub id: DoorId,
    pub site: SiteId,
    pub name: String,
    /// The door's number or code in its site's access-control system
    /// (`MAIN`, `DOCK1`): exports number doors per site, and a mapping finds
    /// the door by it (`lookup: { records: doors, by: code, within_site: true }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_zone: Option<ZoneId>,
    pub to_zone: ZoneId,
    /// A dock door (trucks), as opposed to a personnel door.
    #[serde(default)]
    pub dock: bool,
    /// The shifts during which the door is in scheduled use (a dock door
    /// during receiving hours): an opening outside them is unscheduled.
    /// None listed: no schedule is known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<ShiftId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reader {
    pub id: ReaderId,
    pub door: DoorId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<crate::event::Direction>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Camera {
    pub id: CameraId,
    pub site: SiteId,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub doors: Vec<DoorId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<ZoneId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmploymentStatus {
    Active,
    OnLeave,
    Terminated,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Person {
    pub id: PersonId,
    /// Optional: exports often carry ids only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<PersonId>,
    pub status: EmploymentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteId>,
    /// Set for contractors and vendor staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<VendorId>,
    /// The person's accounts in the systems that log (WMS, IdP...): an event
    /// that names one of them and no person is given this person on ingest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountId>,
    /// The shifts the person works (`shifts` records): when they are
    /// expected on site, in the site's own time zone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shifts: Vec<ShiftId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BadgeStatus {
    Active,
    Suspended,
    Revoked,
    Lost,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Badge {
    pub id: BadgeId,
    pub person: PersonId,
    pub status: BadgeStatus,
    /// Zones this badge may open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<ZoneId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Vendor {
    pub id: VendorId,
    pub name: String,
    /// What the vendor does for us (carrier, maintenance, security, IT...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The vendor's maintenance windows: shifts (at any of its sites) when its
    /// people and accounts are expected. Detection rules see whether an event
    /// falls in one (`ctx.vendor_window`); a vendor without windows has none to keep.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<ShiftId>,
}

/// Value tier of a SKU: theft risk grows with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValueTier {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SkuRecord {
    pub id: Sku,
    /// Optional: exports often carry ids only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Value of one unit, in the operator's currency.
    pub unit_value: f64,
    pub value_tier: ValueTier,
    /// GS1 GTIN, so that EPCIS SGTINs and LGTINs map to this SKU: 8, 12, 13
    /// or 14 digits, or an SGTIN/LGTIN URN or Digital Link URI to take it
    /// from (kept as the GTIN-14 on import).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StorageLocation {
    pub id: LocationId,
    pub site: SiteId,
    pub zone: ZoneId,
    /// The GS1 SGLN used as EPCIS readPoint/bizLocation
    /// (`urn:epc:id:sgln:0614141.07346.1234`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sgln: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Shift {
    pub id: ShiftId,
    pub site: SiteId,
    pub name: String,
    /// Local start time at the site, `HH:MM`.
    pub start: String,
    /// Local end time at the site, `HH:MM`; before `start` means it ends the next day.
    pub end: String,
    /// ISO weekdays (1 = Monday ... 7 = Sunday) the shift runs.
    pub weekdays: Vec<u8>,
}

/// A whole reference data set, as in a YAML import file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferenceData {
    #[serde(default)]
    pub sites: Vec<Site>,
    #[serde(default)]
    pub zones: Vec<Zone>,
    #[serde(default)]
    pub doors: Vec<Door>,
    #[serde(default)]
    pub readers: Vec<Reader>,
    #[serde(default)]
    pub cameras: Vec<Camera>,
    #[serde(default)]
    pub people: Vec<Person>,
    #[serde(default)]
    pub badges: Vec<Badge>,
    #[serde(default)]
    pub vendors: Vec<Vendor>,
    #[serde(default)]
    pub skus: Vec<SkuRecord>,
    #[serde(default)]
    pub locations: Vec<StorageLocation>,
    #[serde(default)]
    pub shifts: Vec<Shift>,
    #[serde(default)]
    pub assets: Vec<Asset>,
}

/// What kind of device an IoT/OT asset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    Camera,
    Reader,
    /// Access-control panel or door controller.
    Controller,
    /// PLC of a conveyor, sorter or dock leveller.
    Plc,
    Hvac,
    /// Handheld or mounted barcode/RFID scanner.
    Scanner,
    Printer,
    Sensor,
    Server,
    Network,
    Other,
}

/// An IoT/OT device on a site's network: what device telemetry (`asset.*`
/// events) refers to. Cameras and readers appear here too, as devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Asset {
    pub id: AssetId,
    pub site: SiteId,
    pub kind: AssetKind,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Who maintains it (a vendor with remote access, for example).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<VendorId>,
    /// The network segment it belongs on (`ot-S01`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_segment: Option<String>,
    /// Where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<ZoneId>,
}

/// The kinds of reference records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
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
    Shift,
    Asset,
}

impl RecordKind {
    pub const ALL: [RecordKind; 12] = [
        RecordKind::Site,
        RecordKind::Zone,
        RecordKind::Door,
        RecordKind::Reader,
        RecordKind::Camera,
        RecordKind::Person,
        RecordKind::Badge,
        RecordKind::Vendor,
        RecordKind::Sku,
        RecordKind::Location,
        RecordKind::Shift,
        RecordKind::Asset,
    ];

    /// Singular name, as in `EntityRef` and the API path (`/api/v1/reference/doors`).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Site => "site",
            RecordKind::Zone => "zone",
            RecordKind::Door => "door",
            RecordKind::Reader => "reader",
            RecordKind::Camera => "camera",
            RecordKind::Person => "person",
            RecordKind::Badge => "badge",
            RecordKind::Vendor => "vendor",
            RecordKind::Sku => "sku",
            RecordKind::Location => "location",
            RecordKind::Shift => "shift",
            RecordKind::Asset => "asset",
        }
    }

    /// Plural name, as the YAML section and the CSV file name (`doors.csv`).
    pub fn plural(self) -> &'static str {
        match self {
            RecordKind::Site => "sites",
            RecordKind::Zone => "zones",
            RecordKind::Door => "doors",
            RecordKind::Reader => "readers",
            RecordKind::Camera => "cameras",
            RecordKind::Person => "people",
            RecordKind::Badge => "badges",
            RecordKind::Vendor => "vendors",
            RecordKind::Sku => "skus",
            RecordKind::Location => "locations",
            RecordKind::Shift => "shifts",
            RecordKind::Asset => "assets",
        }
    }

    pub fn parse(s: &str) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|k| k.as_str() == s || k.plural() == s)
    }
}

/// One reference record as stored: its kind, id, site (when it has one) and JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    pub kind: RecordKind,
    pub id: String,
    pub site: Option<String>,
    pub json: serde_json::Value,
}

impl ReferenceData {
    pub fn len(&self) -> usize {
        self.rows().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends another set. (Destructured without `..`: a new kind of record
    /// that is not appended here does not compile.)
    pub fn extend(&mut self, other: ReferenceData) {
        let ReferenceData {
            sites,
            zones,
            doors,
            readers,
            cameras,
            people,
            badges,
            vendors,
            skus,
            locations,
            shifts,
            assets,
        } = other;
        self.sites.extend(sites);
        self.zones.extend(zones);
        self.doors.extend(doors);
        self.readers.extend(readers);
        self.cameras.extend(cameras);
        self.people.extend(people);
        self.badges.extend(badges);
        self.vendors.extend(vendors);
        self.skus.extend(skus);
        self.locations.extend(locations);
        self.shifts.extend(shifts);
        self.assets.extend(assets);
    }

    /// Flattens the set into storable rows.
    pub fn rows(&self) -> Vec<RecordRow> {
        fn push<T: Serialize>(out: &mut Vec<RecordRow>, kind: RecordKind, id: &str, site: Option<&str>, r: &T) {
            out.push(RecordRow {
                kind,
                id: id.to_owned(),
                site: site.map(str::to_owned),
                json: serde_json::to_value(r).unwrap_or_default(),
            });
        }
        let mut out = Vec::new();
        for r in &self.sites {
            push(&mut out, RecordKind::Site, r.id.as_str(), Some(r.id.as_str()), r);
        }
        for r in &self.zones {
            push(&mut out, RecordKind::Zone, r.id.as_str(), Some(r.site.as_str()), r);
        }
        for r in &self.doors {
            push(&mut out, RecordKind::Door, r.id.as_str(), Some(r.site.as_str()), r);
        }
        for r in &self.readers {
            push(&mut out, RecordKind::Reader, r.id.as_str(), None, r);
        }
        for r in &self.cameras {
            push(&mut out, RecordKind::Camera, r.id.as_str(), Some(r.site.as_str()), r);
        }
        for r in &self.people {
            push(&mut out, RecordKind::Person, r.id.as_str(), r.site.as_ref().map(|s| s.as_str()), r);
        }
        for r in &self.badges {
            push(&mut out, RecordKind::Badge, r.id.as_str(), None, r);
        }
        for r in &self.vendors {
            push(&mut out, RecordKind::Vendor, r.id.as_str(), None, r);
        }
        for r in &self.skus {
            push(&mut out, RecordKind::Sku, r.id.as_str(), None, r);
        }
        for r in &self.locations {
            push(&mut out, RecordKind::Location, r.id.as_str(), Some(r.site.as_str()), r);
        }
        for r in &self.shifts {
            push(&mut out, RecordKind::Shift, r.id.as_str(), Some(r.site.as_str()), r);
        }
        for r in &self.assets {
            push(&mut out, RecordKind::Asset, r.id.as_str(), Some(r.site.as_str()), r);
        }
        out
    }

    /// Rebuilds a set from stored rows.
    pub fn from_rows(rows: impl IntoIterator<Item = RecordRow>) -> Result<ReferenceData, serde_json::Error> {
        let mut d = ReferenceData::default();
        for r in rows {
            let j = r.json;
            match r.kind {
                RecordKind::Site => d.sites.push(serde_json::from_value(j)?),
                RecordKind::Zone => d.zones.push(serde_json::from_value(j)?),
                RecordKind::Door => d.doors.push(serde_json::from_value(j)?),
                RecordKind::Reader => d.readers.push(serde_json::from_value(j)?),
                RecordKind::Camera => d.cameras.push(serde_json::from_value(j)?),
                RecordKind::Person => d.people.push(serde_json::from_value(j)?),
                RecordKind::Badge => d.badges.push(serde_json::from_value(j)?),
                RecordKind::Vendor => d.vendors.push(serde_json::from_value(j)?),
                RecordKind::Sku => d.skus.push(serde_json::from_value(j)?),
                RecordKind::Location => d.locations.push(serde_json::from_value(j)?),
                RecordKind::Shift => d.shifts.push(serde_json::from_value(j)?),
                RecordKind::Asset => d.assets.push(serde_json::from_value(j)?),
            }
        }
        Ok(d)
    }

    /// Puts what a reference file may spell several ways in one form: a
    /// SKU's GTIN given as an EPC (SGTIN, LGTIN, Digital Link) or with fewer
    /// digits becomes its GTIN-14. Values that are none are left for
    /// [`ReferenceData::check`] to refuse.
    pub fn normalize(&mut self) {
        for sku in &mut self.skus {
            if let Some(g) = sku.gtin.as_deref().and_then(crate::gs1::gtin14) {
                sku.gtin = Some(g);
            }
        }
    }

    /// Checks the set on its own terms, with `known` holding what is already
    /// stored: references that dangle, duplicate ids, bad shift times.
    /// Returns one message per problem.
    pub fn check(&self, known: &ReferenceIndex) -> Vec<String> {
        let mut idx = known.clone();
        idx.add(self);
        let mut problems = Vec::new();
        for sku in &self.skus {
            if let Some(g) = sku.gtin.as_deref().filter(|g| crate::gs1::gtin14(g).is_none()) {
                problems.push(format!(
                    "sku {}: gtin {g:?} is neither a GTIN (8-14 digits with a valid check digit) nor an EPC carrying one",
                    sku.id
                ));
            }
        }
        for site in &self.sites {
            if let Some(gln) = site.gln.as_deref().filter(|g| !crate::is_gln(g)) {
                problems
                    .push(format!("site {}: gln {gln:?} is not a GLN (13 digits with a valid check digit)", site.id));
            }
            if site.continuity.as_ref().is_some_and(|c| c.backup_fulfilment.trim().is_empty()) {
                problems.push(format!("site {}: continuity needs a `backup_fulfilment`", site.id));
            }
        }
        let mut need = |what: &str, e: EntityRef| {
            if !idx.contains(&e) {
                problems.push(format!("{what} refers to unknown {} {:?}", e.type_name(), e.id()));
            }
        };
        for z in &self.zones {
            need(&format!("zone {}", z.id), EntityRef::Site(z.site.clone()));
        }
        for d in &self.doors {
            let w = format!("door {}", d.id);
            need(&w, EntityRef::Site(d.site.clone()));
            need(&w, EntityRef::Zone(d.to_zone.clone()));
            if let Some(z) = &d.from_zone {
                need(&w, EntityRef::Zone(z.clone()));
            }
        }
        for r in &self.readers {
            need(&format!("reader {}", r.id), EntityRef::Door(r.door.clone()));
        }
        for c in &self.cameras {
            let w = format!("camera {}", c.id);
            need(&w, EntityRef::Site(c.site.clone()));
            c.doors.iter().for_each(|d| need(&w, EntityRef::Door(d.clone())));
            c.zones.iter().for_each(|z| need(&w, EntityRef::Zone(z.clone())));
        }
        for p in &self.people {
            let w = format!("person {}", p.id);
            if let Some(m) = &p.manager {
                need(&w, EntityRef::Person(m.clone()));
            }
            if let Some(s) = &p.site {
                need(&w, EntityRef::Site(s.clone()));
            }
            if let Some(v) = &p.vendor {
                need(&w, EntityRef::Vendor(v.clone()));
            }
        }
        for b in &self.badges {
            let w = format!("badge {}", b.id);
            need(&w, EntityRef::Person(b.person.clone()));
            b.zones.iter().for_each(|z| need(&w, EntityRef::Zone(z.clone())));
        }
        for l in &self.locations {
            let w = format!("location {}", l.id);
            need(&w, EntityRef::Site(l.site.clone()));
            need(&w, EntityRef::Zone(l.zone.clone()));
        }
        for s in &self.shifts {
            need(&format!("shift {}", s.id), EntityRef::Site(s.site.clone()));
        }
        for site in &self.sites {
            for k in site.continuity.iter().flat_map(|c| &c.recovery) {
                need(&format!("site {} continuity", site.id), EntityRef::Sku(k.clone()));
            }
        }
        for a in &self.assets {
            let w = format!("asset {}", a.id);
            need(&w, EntityRef::Site(a.site.clone()));
            if let Some(v) = &a.vendor {
                need(&w, EntityRef::Vendor(v.clone()));
            }
            if let Some(z) = &a.zone {
                need(&w, EntityRef::Zone(z.clone()));
            }
        }
        for s in &self.skus {
            if !(s.unit_value.is_finite() && s.unit_value >= 0.0) {
                problems.push(format!("sku {}: unit_value must be zero or more", s.id));
            }
        }
        for s in &self.shifts {
            for (f, v) in [("start", &s.start), ("end", &s.end)] {
                if chrono::NaiveTime::parse_from_str(v, "%H:%M").is_err() {
                    problems.push(format!("shift {}: {f} {v:?} is not HH:MM", s.id));
                }
            }
            if s.weekdays.iter().any(|d| !(1..=7).contains(d)) {
                problems.push(format!("shift {}: weekdays must be 1 (Monday) to 7 (Sunday)", s.id));
            }
        }
        let shift_refs = self
            .people
            .iter()
            .flat_map(|p| p.shifts.iter().map(move |s| (format!("person {}", p.id), s)))
            .chain(self.doors.iter().flat_map(|d| d.schedule.iter().map(move |s| (format!("door {}", d.id), s))))
            .chain(self.vendors.iter().flat_map(|v| v.windows.iter().map(move |s| (format!("vendor {}", v.id), s))));
        for (what, shift) in shift_refs {
            if !idx.has(RecordKind::Shift, shift.as_str()) {
                problems.push(format!("{what} refers to unknown shift {:?}", shift.as_str()));
            }
        }
        let mut seen = HashSet::new();
        for r in self.rows() {
            if !seen.insert((r.kind, r.id.clone())) {
                problems.push(format!("{} {:?} appears twice", r.kind.as_str(), r.id));
            }
        }
        problems
    }
}

/// Which entities exist, for fast checks of event references.
#[derive(Debug, Clone, Default)]
pub struct ReferenceIndex {
    known: std::collections::HashMap<RecordKind, HashSet<String>>,
    /// Whose account or badge it is.
    person_of_account: std::collections::HashMap<String, PersonId>,
    person_of_badge: std::collections::HashMap<String, PersonId>,
}

impl ReferenceIndex {
    pub fn new(data: &ReferenceData) -> Self {
        let mut idx = ReferenceIndex::default();
        idx.add(data);
        idx
    }

    pub fn add(&mut self, data: &ReferenceData) {
        for r in data.rows() {
            self.known.entry(r.kind).or_default().insert(r.id);
        }
        for p in &data.people {
            for a in &p.accounts {
                self.person_of_account.insert(a.as_str().to_owned(), p.id.clone());
            }
        }
        for b in &data.badges {
            self.person_of_badge.insert(b.id.as_str().to_owned(), b.person.clone());
        }
    }

    /// The person an account belongs to, if the reference data says.
    pub fn person_of_account(&self, account: &str) -> Option<&PersonId> {
        self.person_of_account.get(account)
    }

    /// The person a badge was issued to, if the reference data says.
    pub fn person_of_badge(&self, badge: &str) -> Option<&PersonId> {
        self.person_of_badge.get(badge)
    }

    /// Whether Stockade keeps reference data for this entity type at all.
    pub fn tracks(t: crate::event::EntityType) -> Option<RecordKind> {
        use crate::event::EntityType as T;
        Some(match t {
            T::Site => RecordKind::Site,
            T::Zone => RecordKind::Zone,
            T::Door => RecordKind::Door,
            T::Reader => RecordKind::Reader,
            T::Camera => RecordKind::Camera,
            T::Person => RecordKind::Person,
            T::Badge => RecordKind::Badge,
            T::Vendor => RecordKind::Vendor,
            T::Sku => RecordKind::Sku,
            T::Location => RecordKind::Location,
            T::Asset => RecordKind::Asset,
            T::Account | T::System | T::ApiKey => return None,
        })
    }

    /// True if an entity of this type and id is known, or of a type without reference data.
    /// Whether a record of this kind and id is known.
    pub fn has(&self, kind: RecordKind, id: &str) -> bool {
        self.known.get(&kind).is_some_and(|ids| ids.contains(id))
    }

    pub fn contains_id(&self, t: crate::event::EntityType, id: &str) -> bool {
        match Self::tracks(t) {
            Some(kind) => self.known.get(&kind).is_some_and(|ids| ids.contains(id)),
            None => true,
        }
    }

    /// True if the entity is known, or of a type without reference data.
    pub fn contains(&self, e: &EntityRef) -> bool {
        self.contains_id(e.entity_type(), e.id())
    }

    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }
}
