//! Stage 3, EXECUTE: run a table's fused plan once, every partition on its own task, counting
//! exactly and streaming anomalous rows to the sink. Memory stays flat: each partition holds
//! one batch at a time, and counts are per provider, not per row.

#[cfg(feature = "cluster")]
pub mod cluster;
pub mod local;
pub mod sets;
pub mod table_checks;
pub mod tally;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use std::time::{Duration, Instant};

use datafusion::common::TableReference;
use datafusion::logical_expr::Partitioning;
use datafusion::physical_plan::{ExecutionPlan, execute_stream_partitioned};
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::error::{Error, Result};
use crate::plan::{self, TablePlan};
use crate::results::anomalies::AnomalySink;
use crate::results::counts::TableCounts;
use crate::rules::bind::{BoundTable, LeftOutFile};
use crate::scan::{self, ScanProgress, SourceFormat};

/// Where a run's tables are audited: the embedded engine, or a Ballista cluster.
#[derive(Clone)]
pub struct Engine {
    /// Plans rule SQL and runs (locally) or submits (cluster) every query.
    pub ctx: SessionContext,
    /// The cluster's `df://host:port`, when not local.
    pub cluster: Option<String>,
}

impl Engine {
    /// The embedded engine with `threads` partitions and `memory_limit` bytes for operators.
    pub fn local(threads: usize, memory_limit: u64) -> Engine {
        Engine {
            ctx: local::session_with_limit(threads, memory_limit),
            cluster: None,
        }
    }

    /// A client of the cluster at `url`, planning `partitions` partitions per stage.
    #[cfg(feature = "cluster")]
    pub async fn cluster(url: &str, partitions: usize) -> Result<Engine> {
        Ok(Engine {
            ctx: cluster::session(url, partitions).await?,
            cluster: Some(url.to_string()),
        })
    }

    #[cfg(not(feature = "cluster"))]
    #[allow(clippy::unused_async)] // same signature as with the feature
    pub async fn cluster(url: &str, _partitions: usize) -> Result<Engine> {
        Err(Error::Usage(format!(
            "--cluster {url}: this qc was built without cluster support \
             (build it with `cargo build --release --features cluster`)"
        )))
    }

    /// The first of `tables` the engine cannot audit, as an error naming it. A cluster reads
    /// Parquet only: qc's CSV reader (GBK decoding, malformed records counted and exported)
    /// runs inside qc, so a CSV table is refused rather than read differently.
    pub fn check_sources<'a>(
        &self,
        tables: impl IntoIterator<Item = &'a BoundTable>,
    ) -> Result<()> {
        if self.cluster.is_none() {
            return Ok(());
        }
        match tables
            .into_iter()
            .find(|t| matches!(t.source.format, SourceFormat::Csv(_)))
        {
            Some(t) => Err(Error::Cluster(format!(
                "table {} reads CSV files, which a cluster does not read: qc's CSV reader \
                 (GBK decoding, malformed records counted and exported) runs inside qc. \
                 Convert the table to Parquet for the cluster, or audit it without --cluster",
                t.qualified_name()
            ))),
            None => Ok(()),
        }
    }

    /// Audit one table (see [`audit_table`]).
    pub async fn audit_table(
        &self,
        table: &BoundTable,
        out_dir: &Path,
        progress: &Arc<TableProgress>,
        as_of: i64,
    ) -> Result<TableOutcome> {
        self.check_sources([table])?;
        #[cfg(feature = "cluster")]
        if let Some(url) = &self.cluster {
            return cluster::audit_table(&self.ctx, url, table, out_dir, progress, as_of).await;
        }
        audit_table(&self.ctx, table, out_dir, progress, as_of).await
    }
}

/// What a progress display can read while a table runs.
#[derive(Debug, Default)]
pub struct TableProgress {
    /// Rows audited so far.
    pub rows: AtomicU64,
    /// Bytes read so far (CSV sources).
    pub bytes: ScanProgress,
}

/// How much work a table is, known before it runs (for the ETA).
#[derive(Debug, Clone, Copy)]
pub enum Workload {
    Rows(u64),
    Bytes(u64),
}

pub fn workload(table: &BoundTable) -> Workload {
    match table.source.format {
        SourceFormat::Parquet => Workload::Rows(scan::parquet::total_rows(&table.source.files)),
        SourceFormat::Csv(_) => Workload::Bytes(
            table
                .source
                .files
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum(),
        ),
    }
}

/// The result of auditing one table.
#[derive(Debug)]
pub struct TableOutcome {
    pub counts: TableCounts,
    /// Per rule: the number of anomalous tuples of a set-based rule.
    pub set_keys: Vec<Option<u64>>,
    /// What the table-level checks are judged on.
    pub facts: crate::checks::table::TableFacts,
    /// The anomaly export and its row count, when the table has anomalies.
    pub anomalies: Option<(std::path::PathBuf, u64)>,
    pub elapsed: Duration,
}

/// The physical plan of a table's audit: its scan, registered as `library.table`, under one
/// fused projection.
pub async fn physical_plan(
    ctx: &SessionContext,
    table: &BoundTable,
    plan: &TablePlan,
    progress: &TableProgress,
) -> Result<Arc<dyn ExecutionPlan>> {
    let what = || format!("planning {}", table.qualified_name());
    let state = ctx.state();
    let provider = scan::provider(&state, table, &plan.needed, &progress.bytes)?;
    local::ensure_library_schema(ctx, &table.library.id)?;
    let reference =
        TableReference::full(local::CATALOG, table.library.id.clone(), table.name.clone());
    ctx.deregister_table(reference.clone())
        .map_err(|e| Error::engine(what(), e))?;
    ctx.register_table(reference.clone(), provider)
        .map_err(|e| Error::engine(what(), e))?;

    let mut df = ctx
        .table(reference)
        .await
        .map_err(|e| Error::engine(what(), e))?;
    let threads = state.config().target_partitions();
    if matches!(table.source.format, SourceFormat::Csv(_)) && threads > 1 {
        // One CSV file is one partition: spread its rows so all cores evaluate rules.
        df = df
            .repartition(Partitioning::RoundRobinBatch(threads))
            .map_err(|e| Error::engine(what(), e))?;
    }
    df.select(plan.projection.clone())
        .map_err(|e| Error::engine(what(), e))?
        .create_physical_plan()
        .await
        .map_err(|e| Error::engine(what(), e))
}

/// The files to blame for `error`, raised while auditing the table named `failed`: the
/// file a CSV or I/O error names, else every Parquet file that does not decode — those of
/// `failed` first, then, if none is damaged, those of the other tables (set-based rules read
/// them too). Empty when no file is to blame.
pub fn damaged_files<'a>(
    tables: impl Iterator<Item = &'a BoundTable> + Clone,
    failed: &str,
    error: &Error,
) -> Vec<LeftOutFile> {
    if let Error::Data { path, .. } | Error::Io { path, .. } = error
        && tables.clone().any(|t| t.source.files.contains(path))
    {
        return vec![LeftOutFile {
            file: path.clone(),
            reason: error.to_string(),
        }];
    }
    let check = |t: &BoundTable| -> Vec<LeftOutFile> {
        if !matches!(t.source.format, SourceFormat::Parquet) {
            return Vec::new();
        }
        t.source
            .files
            .iter()
            .filter_map(|f| {
                scan::parquet::verify(f).err().map(|reason| LeftOutFile {
                    file: f.clone(),
                    reason,
                })
            })
            .collect()
    };
    let (own, others): (Vec<&BoundTable>, Vec<&BoundTable>) =
        tables.partition(|t| t.qualified_name() == failed);
    let damaged: Vec<LeftOutFile> = own.into_iter().flat_map(check).collect();
    if !damaged.is_empty() {
        return damaged;
    }
    others.into_iter().flat_map(check).collect()
}

/// Audit one table: set-based rules' anomalous tuples first, then one scan for all rules,
/// exact counts, anomalies to `out_dir/anomalies/`, then the table-level checks' facts.
/// `as_of` is the run date (days since 1970-01-01).
pub async fn audit_table(
    ctx: &SessionContext,
    table: &BoundTable,
    out_dir: &Path,
    progress: &Arc<TableProgress>,
    as_of: i64,
) -> Result<TableOutcome> {
    let started = Instant::now();
    let what = || format!("auditing {}", table.qualified_name());
    let sets = sets::compute(ctx, table).await?;
    let set_keys = sets
        .iter()
        .map(|s| s.as_ref().map(|s| s.len() as u64))
        .collect();
    let plan = plan::compile(table, &plan::keyset::in_sets(table, &sets))?;
    let physical = physical_plan(ctx, table, &plan, progress).await?;
    let anomaly_schema = tally::anomaly_schema(physical.schema().as_ref(), &plan.layout);
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
    let facts = table_checks::facts(ctx, table, counts.rows, as_of).await?;
    Ok(TableOutcome {
        counts,
        set_keys,
        facts,
        anomalies,
        elapsed: started.elapsed(),
    })
}
