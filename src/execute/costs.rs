//! What each rule costs (`qc run --rule-costs`): so a pack author sees which rule makes an
//! audit slow and can rewrite it.
//!
//! - A set-based rule's anomalous tuples are computed by a plan of their own: its wall time
//!   is measured exactly.
//! - Row rules are evaluated together in the fused projection, where DataFusion does not time
//!   expressions one by one. After the pass, each rule's expression is evaluated on its own
//!   over the first [`SAMPLE_ROWS`] rows of the table and timed; the time is scaled to the
//!   table's rows. Rules evaluated on the same batches are comparable with each other; the
//!   figures estimate, and do not add up to, the pass's wall time (the scan, the counting and
//!   the export are not in them).

use std::time::{Duration, Instant};

use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::physical_plan::PhysicalExpr;
use futures::StreamExt;

use crate::error::{Error, Result};
use crate::plan::TablePlan;

/// Rows evaluated per rule to estimate its cost.
pub const SAMPLE_ROWS: u64 = 1_000_000;

/// Estimated evaluation time of each rule of `plan` over `rows` rows, measured on the first
/// [`SAMPLE_ROWS`] of `frame` (the table's rows as the pass reads them).
pub async fn row_rule_costs(
    frame: DataFrame,
    plan: &TablePlan,
    rows: u64,
) -> Result<Vec<Duration>> {
    let what = || "measuring rule costs".to_string();
    let schema = frame.schema().clone();
    let (state, _) = frame.clone().into_parts();
    let rule_exprs =
        &plan.projection[plan.layout.rules_start..plan.layout.rules_start + plan.rules.len()];
    // Simplified as the optimizer would (e.g. `current_date()` becomes a literal).
    let simplifier = ExprSimplifier::new(
        SimplifyContext::builder()
            .with_schema(std::sync::Arc::new(schema.clone()))
            .with_config_options(std::sync::Arc::clone(state.config_options()))
            .with_current_time()
            .build(),
    );
    let exprs: Vec<std::sync::Arc<dyn PhysicalExpr>> = rule_exprs
        .iter()
        .map(|e| {
            let simple = simplifier.simplify(e.clone())?;
            state.create_physical_expr(simple, &schema)
        })
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::engine(what(), e))?;
    let mut stream = frame
        .limit(0, usize::try_from(SAMPLE_ROWS).ok())
        .map_err(|e| Error::engine(what(), e))?
        .execute_stream()
        .await
        .map_err(|e| Error::engine(what(), e))?;
    let mut spent = vec![Duration::ZERO; exprs.len()];
    let mut sampled = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| Error::engine(what(), e))?;
        sampled += batch.num_rows() as u64;
        for (expr, spent) in exprs.iter().zip(&mut spent) {
            let started = Instant::now();
            expr.evaluate(&batch)
                .and_then(|v| v.into_array(batch.num_rows()))
                .map_err(|e| Error::engine(what(), e))?;
            *spent += started.elapsed();
        }
    }
    if sampled == 0 {
        return Ok(spent);
    }
    #[allow(clippy::cast_precision_loss)] // an estimate
    let scale = rows as f64 / sampled as f64;
    Ok(spent.into_iter().map(|d| d.mul_f64(scale)).collect())
}
