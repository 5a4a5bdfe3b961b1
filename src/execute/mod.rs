//! Stage 3, EXECUTE: run a table's fused plan once, every partition on its own task, counting
//! exactly and streaming anomalous rows to the sink. Memory stays flat: each partition holds
//! one batch at a time, and counts are per provider, not per row.

#[cfg(feature = "cluster")]
pub mod cluster;
pub mod costs;
pub mod counts;
pub mod export;
pub mod local;
pub mod memory;
pub mod presence;
pub mod reuse;
pub mod session;
pub mod sets;
pub mod table_checks;
pub mod tally;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use std::time::{Duration, Instant};

use datafusion::prelude::SessionContext;

use crate::bind::BoundTable;
use crate::error::{Error, Result};
use crate::execute::counts::TableCounts;
use crate::rules::source::{LeftOutFile, SourceFormat};
use crate::scan::{self, ScanProgress};

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
            ctx: session::session_with_limit(threads, memory_limit),
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
        let tables: Vec<&BoundTable> = tables.into_iter().collect();
        if let Some(t) = tables.iter().find(|t| !t.source.partitions.is_empty()) {
            return Err(Error::Cluster(format!(
                "table {} reads partition folders ({}=…/), which qc's own scan reads: audit it \
                 without --cluster",
                t.qualified_name(),
                t.source.partitions.join("=…/, ")
            )));
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
        options: &AuditOptions,
        incremental: &reuse::Incremental,
    ) -> Result<TableOutcome> {
        self.check_sources([table])?;
        #[cfg(feature = "cluster")]
        if let Some(url) = &self.cluster {
            return cluster::audit_table(&self.ctx, url, table, out_dir, progress, options).await;
        }
        local::audit_table(&self.ctx, table, out_dir, progress, options, incremental).await
    }
}

/// How a table is audited: the run date, the stall timeout of set-based rules, and whether
/// each rule's cost is measured.
#[derive(Debug, Clone, Copy)]
pub struct AuditOptions {
    /// The run date, days since 1970-01-01.
    pub as_of: i64,
    /// How long a set-based rule may make no progress before it is stopped.
    pub stall: Duration,
    /// Measure what each rule costs (`--rule-costs`).
    pub rule_costs: bool,
}

impl AuditOptions {
    /// The options of a run dated `as_of`, with the defaults otherwise.
    pub fn dated(as_of: i64) -> AuditOptions {
        AuditOptions {
            as_of,
            stall: sets::DEFAULT_STALL_TIMEOUT,
            rule_costs: false,
        }
    }
}

/// What a progress display can read while a table runs.
#[derive(Debug, Default)]
pub struct TableProgress {
    /// Rows audited so far.
    pub rows: AtomicU64,
    /// Bytes read so far (CSV sources).
    pub bytes: ScanProgress,
    /// Files whose results an incremental run reuses, and files it reads (set once known).
    pub files_reused: AtomicU64,
    pub files_read: AtomicU64,
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

/// What a table's pass produced, whatever the engine: the counts, the number of anomalous
/// tuples of each set-based rule, and the anomaly export.
#[derive(Debug)]
pub struct Pass {
    pub counts: TableCounts,
    /// Per rule: the number of anomalous tuples of a set-based rule.
    pub set_keys: Vec<Option<u64>>,
    /// Per rule, with `--rule-costs`: the time it took (see [`costs`]).
    pub costs: Option<Vec<Duration>>,
    /// The anomaly export and its row count, when the table has anomalies.
    pub anomalies: Option<(std::path::PathBuf, u64)>,
    /// What the next run may reuse (a local run whose scan named each row's file).
    pub state: Option<reuse::TableState>,
    /// What this run read and reused.
    pub reuse: Option<reuse::Reuse>,
}

impl TableOutcome {
    /// The outcome of a table whose pass is done: its table checks' facts measured through
    /// `ctx` (the same for both engines), the time taken since `started`.
    pub async fn assemble(
        ctx: &SessionContext,
        table: &BoundTable,
        pass: Pass,
        as_of: i64,
        started: Instant,
    ) -> Result<TableOutcome> {
        let facts = table_checks::facts(ctx, table, &pass.counts, as_of).await?;
        Ok(TableOutcome {
            counts: pass.counts,
            set_keys: pass.set_keys,
            costs: pass.costs,
            facts,
            anomalies: pass.anomalies,
            state: pass.state,
            reuse: pass.reuse,
            elapsed: started.elapsed(),
        })
    }
}

/// The result of auditing one table.
#[derive(Debug)]
pub struct TableOutcome {
    pub counts: TableCounts,
    /// Per rule: the number of anomalous tuples of a set-based rule.
    pub set_keys: Vec<Option<u64>>,
    /// Per rule, with `--rule-costs`: the time it took (see [`costs`]).
    pub costs: Option<Vec<Duration>>,
    /// What the table-level checks are judged on.
    pub facts: crate::checks::table::TableFacts,
    /// The anomaly export and its row count, when the table has anomalies.
    pub anomalies: Option<(std::path::PathBuf, u64)>,
    /// What the next run may reuse.
    pub state: Option<reuse::TableState>,
    /// What this run read and reused.
    pub reuse: Option<reuse::Reuse>,
    pub elapsed: Duration,
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
