//! Detection's pure core: no I/O of its own, no clock; state in, state out.
//!
//! - [`pack`]: Sigma rule packs, checked document by document (file, line,
//!   reason), with Stockade's `absence` extension;
//! - [`context`]: what rules know beyond the event (`ctx.*`: reference data
//!   in the site's time zone, what earlier events taught);
//! - [`detector`]: events in seq order to alerts, through `rsigma-eval`;
//! - [`cases`]: alerts grouped into cases, opened as incidents at a risk bar;
//! - [`reconcile`]: the detector's own book; count shortages beyond
//!   tolerance attributed to people, credentials, doors and hours;
//! - [`risk`]: decaying risk per entity, from its alerts;
//! - [`contained`]: what response contained (`record.containment`), and an
//!   alert when a later event uses it;
//! - [`series`]: the streaming anomaly score over any numeric series
//!   (`stockade series-detect`).
#![forbid(unsafe_code)]

pub mod alert;
pub mod cases;
pub mod contained;
pub mod context;
pub mod detector;
pub mod pack;
pub mod peers;
pub mod reconcile;
pub mod risk;
pub mod series;
pub mod volume;

pub use alert::{Alert, Entity, EventKey};
pub use cases::{Cases, Opening};
pub use detector::{Detector, Output, State};
pub use pack::{Pack, RuleError, RuleFile};
