//! Detection's pure core: no I/O of its own, no clock; state in, state out.
//!
//! Today: [`series`], the streaming anomaly detector that scores any numeric
//! series online (`stockade series-detect`), the building block of the
//! behavioural baselines (count surprise for picks, adjustments, receipts
//! and accesses).
#![forbid(unsafe_code)]

pub mod series;
