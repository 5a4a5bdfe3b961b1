//! The embedded engine's audit of a table: set-based rules' anomalous tuples first, then the
//! table's fused plan run once, every partition on its own task, counted exactly, anomalous
//! rows streamed to the export.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::Partitioning;
use datafusion::physical_plan::{ExecutionPlan, execute_stream_partitioned};
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use super::counts::TableCounts;
use super::export::{self, AnomalySink};
use super::{AuditOptions, Pass, TableOutcome, TableProgress, costs, sets, tally};
use crate::bind::BoundTable;
use crate::error::{Error, Result};
use crate::plan::{self, TablePlan};
use crate::rules::source::SourceFormat;
use crate::scan;

/// The table's rows as the pass reads them: only the columns `plan` needs, spread across
/// cores. Not registered under the table's name, which keeps naming the whole table for the
/// rule SQL of tables audited after this one.
fn pass_rows(
    ctx: &SessionContext,
    table: &BoundTable,
    plan: &TablePlan,
    progress: &TableProgress,
) -> Result<DataFrame> {
    let what = || format!("planning {}", table.qualified_name());
    let state = ctx.state();
    let threads = state.config().target_partitions();
    let (provider, partitions) = match &table.source.format {
        // Parquet rows with their file and row number, row groups spread across cores.
        SourceFormat::Parquet => scan::parquet::located_provider(
            &table.source_view(),
            &plan.needed,
            threads,
            state.config().batch_size(),
        )?,
        // A CSV file, or a range of a big one, per partition.
        SourceFormat::Csv(opts) => scan::csv::provider(
            &table.source_view(),
            opts,
            &plan.needed,
            &progress.bytes,
            &state,
        ),
    };
    let mut df = ctx
        .read_table(provider)
        .map_err(|e| Error::engine(what(), e))?;
    if partitions < threads {
        // Fewer partitions than cores (a small CSV file, one big row group): spread the
        // rows so all cores evaluate rules.
        df = df
            .repartition(Partitioning::RoundRobinBatch(threads))
            .map_err(|e| Error::engine(what(), e))?;
    }
    Ok(df)
}

/// The physical plan of a table's audit: its scan under one fused projection.
pub async fn physical_plan(
    ctx: &SessionContext,
    table: &BoundTable,
    plan: &TablePlan,
    progress: &TableProgress,
) -> Result<Arc<dyn ExecutionPlan>> {
    let what = || format!("planning {}", table.qualified_name());
    pass_rows(ctx, table, plan, progress)?
        .select(plan.projection.clone())
        .map_err(|e| Error::engine(what(), e))?
        .create_physical_plan()
        .await
        .map_err(|e| Error::engine(what(), e))
}

/// Audit one table: set-based rules' anomalous tuples first, then one scan for all rules,
/// exact counts, anomalies to `out_dir/anomalies/`, then the table-level checks' facts.
pub async fn audit_table(
    ctx: &SessionContext,
    table: &BoundTable,
    out_dir: &Path,
    progress: &Arc<TableProgress>,
    options: &AuditOptions,
) -> Result<TableOutcome> {
    let started = Instant::now();
    let what = || format!("auditing {}", table.qualified_name());
    let sets = sets::compute(ctx, table, options.stall).await?;
    let set_keys = sets
        .keys
        .iter()
        .map(|s| s.as_ref().map(|s| s.len() as u64))
        .collect();
    let plan = plan::compile(table, &plan::keyset::in_sets(table, &sets.keys), true)?;
    let physical = physical_plan(ctx, table, &plan, progress).await?;
    let anomaly_schema = export::anomaly_schema(physical.schema().as_ref(), &plan);
    let file = out_dir
        .join("anomalies")
        .join(format!("{}.parquet", table.qualified_name()));
    let sink = AnomalySink::start(file, Arc::clone(&anomaly_schema))?;

    let streams = execute_stream_partitioned(physical, ctx.task_ctx())
        .map_err(|e| Error::engine(what(), e))?;
    let plan = Arc::new(plan);
    // Dropping the set (the run cancelled by Ctrl-C) aborts the partitions' tasks.
    let mut tasks = tokio::task::JoinSet::new();
    for mut stream in streams {
        let plan = Arc::clone(&plan);
        let schema = Arc::clone(&anomaly_schema);
        let tx = sink.sender();
        let progress = Arc::clone(progress);
        tasks.spawn(async move {
            let mut counts = TableCounts::new(plan.rules.len());
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| Error::engine("reading", e))?;
                if let Some(anomalies) = tally::tally(&batch, &plan, &schema, &mut counts)? {
                    tx.send(anomalies)
                        .await
                        .map_err(|_| Error::Internal("anomaly writer stopped early".into()))?;
                }
                progress
                    .rows
                    .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            }
            Ok::<_, Error>(counts)
        });
    }
    let mut counts = TableCounts::new(plan.rules.len());
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(c)) => counts.merge(&c),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(join) => {
                first_error
                    .get_or_insert(Error::Internal(format!("partition task failed: {join}")));
            }
        }
    }
    if let Some(e) = first_error {
        sink.abandon();
        return Err(match e {
            Error::Engine { context, error } => {
                Error::engine(format!("{}: {context}", what()), *error)
            }
            other => other,
        });
    }
    let anomalies = sink.finish()?;
    let costs = if options.rule_costs {
        let rows = pass_rows(ctx, table, &plan, &TableProgress::default())?;
        let row_costs = costs::row_rule_costs(rows, &plan, counts.rows).await?;
        Some(
            row_costs
                .into_iter()
                .zip(&sets.elapsed)
                .map(|(row, set)| row + set.unwrap_or_default())
                .collect(),
        )
    } else {
        None
    };
    drop(sets);
    let pass = Pass {
        counts,
        set_keys,
        costs,
        anomalies,
    };
    TableOutcome::assemble(ctx, table, pass, options.as_of, started).await
}
