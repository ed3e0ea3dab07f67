//! The vocabulary of Stockade: canonical events, reference data and typed ids.
//!
//! Every adapter (NDJSON, EPCIS, CSV, SCIM, bus) produces [`Event`]s; every
//! detector, the inventory book and the ledger consume them. This crate is
//! pure: it does no I/O, reads no clock and depends on no other Stockade crate.
//!
//! Invariants:
//! - An [`Event`] that passed [`Event::validate`] has every field its kind
//!   requires, a time with an explicit UTC offset and a non-empty id.
//! - [`Event::canonical_bytes`] is deterministic: the same event always gives
//!   the same bytes (field order is the declaration order, maps are sorted).
//! - Quantities in the book are derived only through [`book::movements`].
//! - [`NewEvent::prepare`] is the only way an event becomes storable bytes.
#![forbid(unsafe_code)]

pub mod book;
pub mod clock;
pub mod event;
pub mod gs1;
pub mod ids;
pub mod reference;
pub mod schema;
pub mod stored;

pub use event::*;
pub use ids::*;
pub use reference::*;
pub use stored::NewEvent;
