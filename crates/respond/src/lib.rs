//! Incident response as data: the lifecycle (`lifecycle`), the timeline
//! an incident's response is replayed from (`timeline`), playbooks and the
//! tasks they give an incident (`playbook`), and the response-time KPIs
//! computed from it all (`kpi`). `docs/RESPONSE.md` and
//! `docs/KPI.md` describe them for users.
//!
//! Pure: no I/O, no clock (the caller says what time it is). `app::response`
//! records each act as a ledger leaf and a timeline row, then folds it in.
//!
//! Invariants:
//! - An incident's state is its opening record with its timeline folded in,
//!   in order; nothing else changes it. `Response::of` on the stored
//!   entries gives the state the recorder saw.
//! - Every act is checked against the state it follows (`decide`): an
//!   illegal transition, a duplicate assignment, a link adding nothing, an
//!   act on a merged incident are refused with the reason; `apply` refuses
//!   an entry out of order or one that does not follow the state.
//! - Effective times never run backwards within a timeline, and never lie
//!   in the future of their recording.
#![forbid(unsafe_code)]

pub mod comms;
pub mod exercise;
pub mod kpi;
pub mod lifecycle;
pub mod offer;
pub mod playbook;
pub mod timeline;
pub mod webhook;

pub use kpi::{Clocked, Every, Figures, Point, Spread, figures, trend};
pub use lifecycle::Status;
pub use offer::{Named, Offer, offers};
pub use playbook::{Auto, Pack, PackError, Playbook, PlaybookFile, Role, Task};
pub use timeline::{Act, ContainmentState, Entry, PlaybookRef, Refused, Request, Response, TaskState, TaskStatus};

#[cfg(test)]
mod tests;
