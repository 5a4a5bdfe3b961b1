//! Stage 2b, PLAN: a bound table → one [`TablePlan`]: a single fused projection computing,
//! for every row, one nullable boolean per rule (NULL: not applicable; true: passed;
//! false: failed) next to the columns anomaly exports need.
//!
//! Row rules use only DataFusion expressions, literals and `IN` lists. A set-based rule
//! enters the projection as a membership test against its anomalous tuples ([`keyset`]),
//! computed before the pass.

pub mod keyset;
pub mod row;

pub use row::{Layout, TablePlan, compile};
