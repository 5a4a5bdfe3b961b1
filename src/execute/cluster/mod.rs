//! Stage 3 on an Apache DataFusion Ballista cluster (`qc run --cluster df://host:port`): the
//! same bound tables and rule expressions as the embedded engine, run by the cluster's
//! executors.
//!
//! What differs from [`super::audit_table`], and why:
//! - set-based rules' anomalous tuples are not collected into the client: the executors
//!   compute them as qc's own set engine does ([`sets`]: one aggregation per group of
//!   `unique` rules, `history` rules judged per person), write them once, and the plan joins
//!   the table with them (a left join on the rules' columns, each tuple once, so every row
//!   stays one row);
//! - the counts are one aggregate query grouped by provider (the client receives one row
//!   per provider, not the rows);
//! - anomalous rows are written by the executors into the output folder, then gathered into
//!   the same single export file a local run writes.
//!
//! Tables must be Parquet ([`super::Engine::check_sources`]).

pub mod serve;
pub mod sets;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::common::JoinType;
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::functions_aggregate::expr_fn::{count, sum};
use datafusion::logical_expr::{Expr, cast as cast_expr, col, ident, lit};
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{AuditOptions, Pass, TableOutcome, TableProgress, export};
use crate::bind::BoundTable;
use crate::error::{Error, Result};
use crate::execute::counts::{RuleCounts, TableCounts};
use crate::execute::export::{AnomalySink, FAILED_RULES};
use crate::plan::{self, TablePlan};
use crate::scan;

/// A client session of the cluster at `url` (`df://host:port`), planning with `partitions`
/// partitions per stage. Nothing is contacted until the first query.
pub async fn session(url: &str, partitions: usize) -> Result<SessionContext> {
    let mut config = super::session::configure(SessionConfig::new_with_ballista(), partitions);
    let options = config.options_mut();
    // A rule without a condition (`x IS NOT FALSE`) is non-nullable to DataFusion 55's logical
    // planner and nullable to its physical one; the aggregate over the fused projection
    // would fail the planner's schema comparison on that difference alone. The setting is
    // DataFusion's documented way around such planner disagreements.
    options.execution.skip_physical_aggregate_schema_check = true;
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    let ctx = SessionContext::remote_with_state(url, state)
        .await
        .map_err(|e| Error::Cluster(format!("cluster {url}: {e}")))?;
    // The client plans rule SQL too: it needs the functions' signatures.
    plan::register_functions(&ctx);
    Ok(ctx)
}

/// Audit one table on the cluster: counts exactly as [`super::audit_table`] does, anomalies
/// to `out_dir/anomalies/`.
pub async fn audit_table(
    ctx: &SessionContext,
    url: &str,
    table: &BoundTable,
    out_dir: &Path,
    progress: &TableProgress,
    options: &AuditOptions,
) -> Result<TableOutcome> {
    let started = Instant::now();
    let what = |doing: &str| format!("{doing} {} on the cluster {url}", table.qualified_name());
    scan::register(ctx, &table.source_view())?;
    let mut frame = ctx
        .table(table.table_ref().reference())
        .await
        .map_err(|e| Error::engine(what("reading"), e))?;

    // Files the executors write for this table (anomalous tuples, anomaly rows); removed
    // whatever happens.
    let scratch = Scratch::new(out_dir, table)?;

    // Set-based rules: their distinct anomalous tuples are computed by the executors
    // ([`sets`]), written once, counted, and joined to the table from the files (whose
    // statistics let the planner broadcast them rather than shuffle the table).
    let mut set_keys = vec![None; table.rules.len()];
    let mut anomalous = vec![None; table.rules.len()];
    for (s, source) in sets::sources(ctx, table).await?.into_iter().enumerate() {
        let rules_what = || {
            let ids: Vec<&str> = source
                .rules
                .iter()
                .map(|&i| table.rules[i].id.as_str())
                .collect();
            format!(
                "rule {} of {} on the cluster {url}",
                ids.join(", "),
                table.qualified_name()
            )
        };
        let dir = scratch.folder(&format!("keys_{s}"))?;
        source
            .frame
            .write_parquet(&folder_url(&dir), DataFrameWriteOptions::new(), None)
            .await
            .map_err(|e| cluster_error(rules_what(), e))?;
        let files = parquet_files(&dir)?;
        let counts = matches(&files, &source.rules)?;
        for (&i, &n) in source.rules.iter().zip(&counts) {
            set_keys[i] = Some(n);
            anomalous[i] = Some(lit(false));
        }
        if counts.iter().all(|&n| n == 0) {
            continue;
        }
        let keys = ctx
            .read_parquet(
                files
                    .iter()
                    .map(|f| f.to_string_lossy().into_owned())
                    .collect::<Vec<_>>(),
                ParquetReadOptions::default(),
            )
            .await
            .map_err(|e| Error::engine(rules_what(), e))?;
        let on: Vec<Expr> = source
            .on
            .iter()
            .enumerate()
            .map(|(j, c)| {
                cast_expr(ident(&c.name), c.ty.arrow_type()).eq(col(sets::key_column(s, j)))
            })
            .collect();
        frame = frame
            .join_on(keys, JoinType::Left, on)
            .map_err(|e| Error::engine(rules_what(), e))?;
        for &i in &source.rules {
            anomalous[i] = Some(col(sets::match_column(i)).is_true());
        }
    }

    let plan = plan::compile(table, &anomalous, false)?;
    let fused = frame
        .select(plan.projection.clone())
        .map_err(|e| Error::engine(what("planning"), e))?;
    let counts = count_rows(fused.clone(), &plan)
        .await
        .map_err(|e| cluster_error(what("auditing"), e))?;
    progress.rows.store(counts.rows, Ordering::Relaxed);

    let anomalies = if counts.anomalous > 0 {
        export_anomalies(fused, &plan, table, out_dir, &scratch).await?
    } else {
        None
    };
    let rows_read = counts.rows;
    // Rule costs are measured by the embedded engine only.
    let pass = Pass {
        counts,
        set_keys,
        costs: None,
        anomalies,
        state: None,
        reuse: Some(super::reuse::Reuse {
            files_read: table.source.files.len() as u64,
            rows_read,
            read_whole: Some(super::reuse::ReadWhole::Cluster),
            ..super::reuse::Reuse::default()
        }),
    };
    TableOutcome::assemble(ctx, table, pass, options.as_of, started)
        .await
        .map_err(|e| match e {
            Error::Engine { context, error } => cluster_error(context, *error),
            other => other,
        })
}

/// Rule `i` failed on the row (false, not NULL).
fn failed(i: usize) -> Expr {
    col(plan::row::rule_column(i)).is_false()
}

fn any_failed(plan: &TablePlan) -> Expr {
    (0..plan.rules.len())
        .map(failed)
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false))
}

fn as_count(e: Expr) -> Expr {
    cast_expr(e, DataType::Int64)
}

/// The table's counts: one aggregate over the fused projection, grouped by provider.
async fn count_rows(
    fused: DataFrame,
    plan: &TablePlan,
) -> std::result::Result<TableCounts, DataFusionError> {
    let layout = &plan.layout;
    let group: Vec<Expr> = layout
        .provider
        .map(|p| vec![cast_expr(ident(&layout.data[p]), DataType::Utf8).alias("provider")])
        .unwrap_or_default();
    let mut aggregates = vec![
        count(lit(1)).alias("rows"),
        sum(as_count(any_failed(plan))).alias("anomalous"),
    ];
    for i in 0..plan.rules.len() {
        aggregates.push(count(col(plan::row::rule_column(i))).alias(format!("applicable_{i}")));
        aggregates.push(sum(as_count(failed(i))).alias(format!("failed_{i}")));
    }
    let batches = fused
        .aggregate(group.clone(), aggregates)?
        .collect()
        .await?;
    let mut counts = TableCounts::new(plan.rules.len());
    let skip = group.len();
    for batch in &batches {
        let number = |c: usize, row: usize| -> u64 {
            let a = batch.column(skip + c).as_primitive::<Int64Type>();
            if a.is_valid(row) {
                a.value(row).unsigned_abs()
            } else {
                0
            }
        };
        for row in 0..batch.num_rows() {
            let rows = number(0, row);
            if rows == 0 {
                continue;
            }
            let name = (skip > 0)
                .then(|| batch.column(0).as_string::<i32>())
                .and_then(|a| a.is_valid(row).then(|| a.value(row).to_string()));
            let rules: Vec<RuleCounts> = (0..plan.rules.len())
                .map(|i| RuleCounts {
                    applicable: number(2 + 2 * i, row),
                    failed: number(3 + 2 * i, row),
                })
                .collect();
            let part = TableCounts {
                rows,
                anomalous: number(1, row),
                rules: rules.clone(),
                providers: [(
                    name,
                    crate::execute::counts::ProviderCounts {
                        rows,
                        anomalous: number(1, row),
                        rules,
                    },
                )]
                .into(),
            };
            counts.merge(&part);
        }
    }
    Ok(counts)
}

/// Anomalous rows, written by the executors as part files into the table's scratch folder,
/// then gathered into `anomalies/<library>.<table>.parquet`.
async fn export_anomalies(
    fused: DataFrame,
    plan: &TablePlan,
    table: &BoundTable,
    out_dir: &Path,
    scratch: &Scratch,
) -> Result<Option<(PathBuf, u64)>> {
    let what = || format!("exporting the anomalies of {}", table.qualified_name());
    let parts = scratch.folder("anomalies")?;
    let mut columns: Vec<Expr> = plan.layout.data.iter().map(ident).collect();
    columns.push(
        plan::failed::failed_rules(
            plan.rules
                .iter()
                .enumerate()
                .map(|(i, r)| (r.id.as_str(), col(plan::row::rule_column(i)))),
        )
        .alias(FAILED_RULES),
    );
    for &(i, _) in &plan.layout.explain {
        columns
            .push(col(plan::row::explain_column(i)).alias(export::explain_column(&plan.rules[i])));
    }
    let rows = fused
        .filter(any_failed(plan))
        .and_then(|f| f.select(columns))
        .map_err(|e| Error::engine(what(), e))?;
    let schema = export::anomaly_schema(rows.schema().as_arrow(), plan);
    rows.write_parquet(&folder_url(&parts), DataFrameWriteOptions::new(), None)
        .await
        .map_err(|e| cluster_error(what(), e))?;
    let files = parquet_files(&parts)?;
    let sink = AnomalySink::start(
        out_dir
            .join("anomalies")
            .join(format!("{}.parquet", table.qualified_name())),
        Arc::clone(&schema),
    )?;
    let tx = sink.sender();
    for f in &files {
        for batch in batches_of(f)? {
            let batch = conform(&batch?, &schema).map_err(|e| Error::data(f, e))?;
            if tx.send(batch).await.is_err() {
                break;
            }
        }
    }
    drop(tx);
    sink.finish()
}

/// The batches of a Parquet file the executors wrote.
fn batches_of(f: &Path) -> Result<impl Iterator<Item = Result<RecordBatch>> + '_> {
    let file = std::fs::File::open(f).map_err(|e| Error::io(f, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(ParquetRecordBatchReaderBuilder::build)
        .map_err(|e| Error::data(f, e.to_string()))?;
    Ok(reader.map(move |b| b.map_err(|e| Error::data(f, e.to_string()))))
}

/// Per rule of `rules`: how many of the tuples in `files` are anomalous for it (its
/// [`sets::match_column`] is true).
fn matches(files: &[PathBuf], rules: &[usize]) -> Result<Vec<u64>> {
    let mut counts = vec![0; rules.len()];
    for f in files {
        for batch in batches_of(f)? {
            let batch = batch?;
            for (n, &i) in counts.iter_mut().zip(rules) {
                let Some(matched) = batch
                    .column_by_name(&sets::match_column(i))
                    .and_then(|c| c.as_boolean_opt())
                else {
                    return Err(Error::data(
                        f,
                        format!("no boolean column {}", sets::match_column(i)),
                    ));
                };
                *n += matched.true_count() as u64;
            }
        }
    }
    Ok(counts)
}

/// A table's folder for what the executors write (`<out>/.cluster/<library>.<table>/`, an
/// absolute path, as executors resolve it), removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(out_dir: &Path, table: &BoundTable) -> Result<Scratch> {
        let dir = out_dir.join(".cluster").join(table.qualified_name());
        let dir = std::path::absolute(&dir).map_err(|e| Error::io(&dir, e))?;
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Scratch(dir))
    }

    /// A new empty subfolder.
    fn folder(&self, name: &str) -> Result<PathBuf> {
        let dir = self.0.join(name);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        // `.cluster` itself, once no table uses it.
        if let Some(parent) = self.0.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// `dir` as a folder to write into (the trailing slash makes DataFusion write part files
/// inside it).
fn folder_url(dir: &Path) -> String {
    format!("{}/", dir.display())
}

/// The Parquet files the executors wrote into `dir`, sorted.
fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    Ok(files)
}

/// `batch` with its columns cast to `schema` (the executors' writer may choose other
/// string and list representations).
fn conform(
    batch: &RecordBatch,
    schema: &arrow::datatypes::SchemaRef,
) -> std::result::Result<RecordBatch, String> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(Arc::clone(c))
            } else {
                cast(c, f.data_type())
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| e.to_string())
}

/// A cluster failure as qc's error: an unreachable scheduler, or a function the cluster does
/// not know, is said plainly, with the way to fix it.
fn cluster_error(context: String, e: DataFusionError) -> Error {
    let text = e.to_string();
    if text.contains("tcp connect error") || text.contains("transport error") {
        return Error::Cluster(format!(
            "{context}: cannot reach the cluster's scheduler ({}): is `qc scheduler` running \
             at that address?",
            if text.contains("Connection refused") {
                "connection refused"
            } else {
                text.as_str()
            }
        ));
    }
    if let Some(name) = unknown_function(&text) {
        return Error::Cluster(format!(
            "{context}: the cluster does not know qc's function `{name}`: start its scheduler \
             and every executor with `qc scheduler` and `qc executor` (qc {}), not stock \
             Ballista binaries",
            env!("CARGO_PKG_VERSION")
        ));
    }
    Error::engine(context, e)
}

/// The function name in a message saying a function is unknown: DataFusion's "There is no
/// UDF named ..." or Ballista's "... not provided for scalar function ...".
fn unknown_function(text: &str) -> Option<&str> {
    let (at, marker) = ["UDF named", "scalar function"]
        .into_iter()
        .find_map(|m| text.find(m).map(|at| (at, m)))?;
    let rest = &text[at + marker.len()..];
    let rest = rest.trim_start().trim_start_matches(['"', '\'', '`', '\\']);
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

#[cfg(test)]
mod tests {
    #[test]
    fn unknown_function_is_read_from_the_message() {
        assert_eq!(
            super::unknown_function(
                "Internal error: There is no UDF named \"qc_id_valid\" in the registry"
            ),
            Some("qc_id_valid")
        );
        assert_eq!(
            super::unknown_function(
                "NotImplemented(\\\"LogicalExtensionCodec is not provided for scalar function \
                 qc_admin_current\\\")"
            ),
            Some("qc_admin_current")
        );
        assert_eq!(super::unknown_function("something else"), None);
    }
}
