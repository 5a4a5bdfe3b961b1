//! A set-based rule's DataFusion key plan, run on every core.
//!
//! Aggregates and sorts spill to disk under the run's memory limit. Joins are first planned as
//! hash joins (fast, but their build side must fit in memory); a plan that exhausts the memory
//! limit is run again with sort-merge joins, which spill. The result is the same either way.
//! Repartitioning runs as DataFusion plans it: the pool never makes a repartition spill
//! ([`crate::execute::memory`]), which is where DataFusion 55 could deadlock.

use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionState;
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use super::{Watchdog, held_set};
use crate::checks::set::SetCheck;
use crate::error::{Error, Result};
use crate::execute::session;
use crate::plan::keyset::KeySet;

/// The anomalous tuples of `check`, from its key plan (`what` names the rule in errors).
pub async fn anomalous(
    ctx: &SessionContext,
    check: &SetCheck,
    what: &str,
    watchdog: &Watchdog,
) -> Result<(
    KeySet,
    datafusion::execution::memory_pool::MemoryReservation,
)> {
    let state = ctx.state();
    match collect(&state, check, what, watchdog).await {
        // DataFusion plans sort-merge joins only on hash-repartitioned inputs.
        Err(Error::Engine { error, .. }) if is_memory_exhausted(&error) => {
            collect(&session::sort_merge_joins(&state), check, what, watchdog).await
        }
        other => other,
    }
}

async fn collect(
    state: &SessionState,
    check: &SetCheck,
    what: &str,
    watchdog: &Watchdog,
) -> Result<(
    KeySet,
    datafusion::execution::memory_pool::MemoryReservation,
)> {
    watchdog.plan_started();
    let mut held = held_set(state, &check.on, what)?;
    let run = async {
        let mut stream = DataFrame::new(state.clone(), check.keys.clone())
            .execute_stream()
            .await
            .map_err(|e| Error::engine(what, e))?;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| Error::engine(what, e))?;
            watchdog.progress();
            held.extend(&batch)?;
        }
        Ok::<_, Error>(())
    };
    watchdog.watch(what, run).await?;
    Ok(held.into_parts())
}

fn is_memory_exhausted(e: &DataFusionError) -> bool {
    matches!(e.find_root(), DataFusionError::ResourcesExhausted(_))
}
