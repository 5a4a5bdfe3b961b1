//! Stage 2b, PLAN: a bound table → one [`TablePlan`]: a single fused projection computing,
//! for every row, one nullable boolean per rule (NULL: not applicable; true: passed;
//! false: failed) next to the columns anomaly exports need.
//!
//! Row rules use only DataFusion expressions, literals and `IN` lists. A set-based rule
//! enters the projection as a membership test against its anomalous tuples ([`keyset`]),
//! computed before the pass.

pub mod failed;
pub mod history;
pub mod keyset;
pub mod row;

pub use row::{Layout, TablePlan, compile};

/// Every function qc's plans call: rule SQL's functions and the plans' own. Each process
/// that plans or executes them — the local engine, a cluster's scheduler and executors —
/// registers these.
pub fn functions() -> Vec<datafusion::logical_expr::ScalarUDF> {
    let mut all = crate::checks::udf::all();
    all.push(datafusion::logical_expr::ScalarUDF::new_from_impl(
        failed::FailedRules::default(),
    ));
    all.push(datafusion::logical_expr::ScalarUDF::new_from_impl(
        history::Verdicts::default(),
    ));
    all.push(datafusion::logical_expr::ScalarUDF::new_from_impl(
        history::Hash64::default(),
    ));
    all
}

/// Register [`functions`] on a session.
pub fn register_functions(ctx: &datafusion::prelude::SessionContext) {
    for f in functions() {
        ctx.register_udf(f);
    }
}

/// Make `current_date()` (and `today()`, `qc_as_of()`) in rule SQL planned on `ctx` mean
/// `day` (days since 1970-01-01), the run's `--as-of`. Plans carry the date as a literal,
/// so a cluster's executors need nothing registered for it.
pub fn register_run_date(ctx: &datafusion::prelude::SessionContext, day: i32) {
    ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
        crate::checks::dates::RunDate::new(day),
    ));
}
