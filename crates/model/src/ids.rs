//! Typed identifiers. A `DoorId` cannot be passed where a `BadgeId` is meant.
//!
//! Ids are the customer's own (badge numbers, SKU codes, SGLNs...), so they are
//! opaque strings; we only require them to be non-empty, at most 200 bytes and
//! free of control characters, which keeps logs, CSV and URLs safe.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Longest id we accept, in bytes.
pub const MAX_ID_LEN: usize = 200;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("is empty")]
    Empty,
    #[error("is longer than {MAX_ID_LEN} bytes")]
    TooLong,
    #[error("contains a control character")]
    ControlCharacter,
}

/// Checks the shape every id must have.
pub fn check_id(s: &str) -> Result<(), IdError> {
    if s.trim().is_empty() {
        return Err(IdError::Empty);
    }
    if s.len() > MAX_ID_LEN {
        return Err(IdError::TooLong);
    }
    if s.chars().any(char::is_control) {
        return Err(IdError::ControlCharacter);
    }
    Ok(())
}

macro_rules! typed_id {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
        #[serde(transparent)]
        #[schemars(transparent)]
        pub struct $name(String);

        impl $name {
            /// Builds the id after checking its shape.
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                check_id(&s)?;
                Ok(Self(s))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as a plain string, without copying it.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::new(s).map_err(|e| serde::de::Error::custom(format!("{} {e}", stringify!($name))))
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }
    )*};
}

typed_id! {
    /// Producer-assigned event id: the idempotency key, unique per source.
    EventId,
    /// The system that produced an event (an access-control server, a WMS...).
    SourceId,
    /// A warehouse, distribution centre or hub.
    SiteId,
    /// An area of a site with one security tier.
    ZoneId,
    /// A door, gate or dock door.
    DoorId,
    /// A badge reader on a door.
    ReaderId,
    /// A camera.
    CameraId,
    /// A person: employee, contractor or vendor staff.
    PersonId,
    /// A physical access badge.
    BadgeId,
    /// A vendor or contractor company.
    VendorId,
    /// A stock-keeping unit.
    Sku,
    /// A storage location (bin, rack slot, dock lane, cage).
    LocationId,
    /// A work shift.
    ShiftId,
    /// An account in an IT system (WMS, ERP, VPN...).
    AccountId,
    /// An IT system (WMS, ERP, IdP, VPN...).
    SystemId,
    /// An API key's public identifier (never the secret).
    ApiKeyId,
    /// A device: scanner, camera, PLC, gateway, controller.
    AssetId,
}

/// The GS1 check digit (mod 10, weights 3 and 1 from the right) of a key's
/// digits without it: GTIN, GLN, SSCC all use it.
pub fn gs1_check_digit(digits: &str) -> Option<u32> {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let d = c.to_digit(10)?;
        sum += if i % 2 == 0 { d * 3 } else { d };
    }
    Some((10 - sum % 10) % 10)
}

/// Whether `gln` is a GS1 Global Location Number: 13 digits, the last the
/// check digit of the others.
pub fn is_gln(gln: &str) -> bool {
    gln.len() == 13
        && gln.bytes().all(|b| b.is_ascii_digit())
        && gs1_check_digit(&gln[..12]).is_some_and(|d| gln[12..].parse::<u32>().is_ok_and(|last| last == d))
}
