//! Before a table's pass: run each set-based rule's key plan and hold its anomalous
//! tuples as a [`KeySet`].
//!
//! Aggregates and sorts spill to disk under the run's memory limit. Joins are first planned as
//! hash joins (fast, but their build side must fit in memory); a plan that exhausts the memory
//! limit is run again with sort-merge joins, which spill. The result is the same either way.
//! Key plans run first without repartitioning (see [`super::session::without_repartitioning`]);
//! the sort-merge retry needs it.

use std::sync::Arc;

use datafusion::dataframe::DataFrame;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::SessionState;
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::bind::{BoundTable, RuleCheck};
use crate::checks::set::SetCheck;
use crate::error::{Error, Result};
use crate::plan::keyset::KeySet;

/// Per rule of `table` (same order): its anomalous tuples when it is set-based.
pub async fn compute(ctx: &SessionContext, table: &BoundTable) -> Result<Vec<Option<Arc<KeySet>>>> {
    let mut out = Vec::with_capacity(table.rules.len());
    for rule in &table.rules {
        let RuleCheck::Set(Some(check)) = &rule.check else {
            out.push(None);
            continue;
        };
        let what = || format!("rule {} of {}", rule.id, table.qualified_name());
        let state = ctx.state();
        let set = match collect(&super::session::without_repartitioning(&state), check).await {
            // DataFusion plans sort-merge joins only on hash-repartitioned inputs.
            Err(e) if is_memory_exhausted(&e) => {
                collect(&super::session::sort_merge_joins(&state), check).await
            }
            other => other,
        }
        .map_err(|e| Error::engine(what(), e))?;
        out.push(Some(Arc::new(set)));
    }
    Ok(out)
}

async fn collect(state: &SessionState, check: &SetCheck) -> DfResult<KeySet> {
    let mut set = KeySet::new(&check.on).map_err(|e| DataFusionError::External(Box::new(e)))?;
    let mut stream = DataFrame::new(state.clone(), check.keys.clone())
        .execute_stream()
        .await?;
    while let Some(batch) = stream.next().await {
        set.extend(&batch?)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
    }
    Ok(set)
}

fn is_memory_exhausted(e: &DataFusionError) -> bool {
    matches!(e.find_root(), DataFusionError::ResourcesExhausted(_))
}
