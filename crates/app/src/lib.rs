//! The use cases of Stockade, as plain Rust APIs that the HTTP server and
//! the command line both call: what detection found ([`alerts`]), ingest ([`intake`]), evidence custody
//! ([`custody`]), incidents ([`casebook`]), the audit trail ([`audit`]) and
//! API tokens ([`tokens`]), and the derived-state stage ([`stage`]) whose
//! consumers keep state derived from committed events (the inventory book,
//! [`book`]). Detection runs, the incident lifecycle and reports join them here.
//!
//! Invariants:
//! - Knows no HTTP and no command line: no status codes, no request types,
//!   no terminal output. Errors are typed per use case; the server maps them
//!   to problems, the binary to messages and exit codes.
//! - Every administrative act is recorded in the audit trail (and so in the
//!   evidence ledger) before it takes effect.
//! - Time comes from the `Clock` the caller passes in.
#![forbid(unsafe_code)]

pub mod alerts;
pub mod audit;
pub mod book;
pub mod casebook;
pub mod communications;
pub mod containment;
pub mod custody;
pub mod detection;
pub mod exercises;
pub mod intake;
pub mod records;
pub mod response;
pub mod scorecard;
pub mod stage;
pub mod tokens;
pub mod users;

pub use intake::{IngestReport, Intake, LineResult, Lines};
