//! Before a table's pass: run each set-based rule's violation plan (aggregates and joins that
//! spill under the run's memory limit) and hold its violating tuples as a [`KeySet`].

use std::sync::Arc;

use datafusion::dataframe::DataFrame;
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::error::{Error, Result};
use crate::plan::keyset::KeySet;
use crate::rules::bind::{BoundTable, RuleCheck};

/// Per rule of `table` (same order): its violating tuples when it is set-based.
pub async fn compute(ctx: &SessionContext, table: &BoundTable) -> Result<Vec<Option<Arc<KeySet>>>> {
    let mut out = Vec::with_capacity(table.rules.len());
    for rule in &table.rules {
        let RuleCheck::Set(Some(check)) = &rule.check else {
            out.push(None);
            continue;
        };
        let what = || format!("rule {} of {}", rule.id, table.qualified_name());
        let mut set = KeySet::new(&check.on)?;
        let mut stream = DataFrame::new(ctx.state(), check.violations.clone())
            .execute_stream()
            .await
            .map_err(|e| Error::engine(what(), e))?;
        while let Some(batch) = stream.next().await {
            set.extend(&batch.map_err(|e| Error::engine(what(), e))?)?;
        }
        out.push(Some(Arc::new(set)));
    }
    Ok(out)
}
