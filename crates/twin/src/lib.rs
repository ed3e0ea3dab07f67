//! The warehouse digital twin: what really happened in a simulated network
//! (`truth.json`: every injected theft or misuse instance, and the benign
//! look-alikes), the incidents a detector raised (`incidents.json`), and
//! the scoring of one against the other.
//!
//! Invariants: pure (bytes in, scores out); the scorer treats every
//! detector alike, Stockade's own or any other that writes the incidents
//! format; the same inputs always give the same scores.
#![forbid(unsafe_code)]

pub mod customer;
pub mod score;
pub mod sim;
pub mod truth;

pub use score::{Scores, score};
pub use truth::{EventRef, Incident, Incidents, Instance, Scenario, Truth};
