//! What the types cannot check: numbers in range, non-empty text, a sane year.

use super::*;
use chrono::Datelike;

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
}
