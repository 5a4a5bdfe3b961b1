//! Stage 2b, PLAN: a bound table → one [`TablePlan`]: a single fused projection computing,
//! for every row, one nullable boolean per rule (NULL: not applicable; true: passed;
//! false: failed) next to the columns anomaly exports need.
//!
//! The plan uses only DataFusion expressions, literals and `IN` lists (no in-memory tables),
//! so it can be shipped to a Ballista cluster unchanged.

pub mod row;

pub use row::{Layout, TablePlan, compile};
