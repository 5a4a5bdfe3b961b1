//! The embedded engine's audit of a table: set-based rules' anomalous tuples first, then the
//! table's fused plan run once, every partition on its own task, counted exactly, anomalous
//! rows streamed to the export.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use datafusion::physical_plan::{ExecutionPlan, execute_stream_partitioned};
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use super::counts::TableCounts;
use super::export::{self, AnomalySink};
use super::reuse::{self, FilePart, Incremental, Reuse, TableState};
use super::sets::Keyed;
use super::{AuditOptions, Pass, TableOutcome, TableProgress, costs, sets, tally};
use crate::bind::BoundTable;
use crate::error::{Error, Result};
use crate::plan::{self, TablePlan};
use crate::rules::source::{BoundSource, SourceFormat};
use crate::scan::{self, TableSource};

/// The physical plan of a table's audit: its scan of `source` (the table's files, or those
/// an incremental run reads) under one fused projection.
pub async fn physical_plan(
    ctx: &SessionContext,
    source: &TableSource<'_>,
    plan: &TablePlan,
    progress: &TableProgress,
) -> Result<Arc<dyn ExecutionPlan>> {
    let what = || format!("planning {}", source.table);
    scan::located_rows(ctx, source, &plan.needed, &progress.bytes)?
        .select(plan.projection.clone())
        .map_err(|e| Error::engine(what(), e))?
        .create_physical_plan()
        .await
        .map_err(|e| Error::engine(what(), e))
}

/// Audit one table: set-based rules' anomalous tuples first, then one scan for all rules,
/// exact counts, anomalies to `out_dir/anomalies/`, then the table-level checks' facts. With
/// `incremental`, only the files its previous run cannot vouch for are scanned (see
/// [`reuse`]).
pub async fn audit_table(
    ctx: &SessionContext,
    table: &BoundTable,
    out_dir: &Path,
    progress: &Arc<TableProgress>,
    options: &AuditOptions,
    incremental: &Incremental,
) -> Result<TableOutcome> {
    let started = Instant::now();
    let what = || format!("auditing {}", table.qualified_name());
    let fingerprints = reuse::fingerprints(&table.source.files)?;
    let previous = incremental.previous.as_ref().filter(|_| !incremental.full);
    let kept = sets::hashed::Kept {
        fingerprints: &fingerprints,
        previous,
        dir: incremental.dir.as_deref(),
        seed: &incremental.seed,
        as_of: options.as_of,
    };
    let mut sets = sets::compute(ctx, table, options.stall, &kept).await?;
    let set_keys = sets
        .keys
        .iter()
        .map(|s| s.as_ref().map(|s| s.len() as u64))
        .collect();
    let plan = plan::compile(table, &plan::keyset::in_sets(table, &sets.keys), true)?;
    let keyed: Vec<bool> = sets.keyed.iter().map(Option::is_some).collect();
    let basis = reuse::basis(&incremental.seed, &plan, &sets.keys, &keyed, options.as_of);
    let touched: BTreeSet<String> = sets
        .keyed
        .iter()
        .flatten()
        .flat_map(|k| k.touched.iter().cloned())
        .collect();
    let keys: Vec<Keyed> = sets.keyed.iter_mut().filter_map(Option::take).collect();
    let mut to_read = reuse::plan(
        &table.source.files,
        fingerprints,
        incremental.previous.as_ref(),
        &basis,
        &touched,
        incremental.full,
    );
    let subset = BoundSource {
        files: to_read.read.clone(),
        ..table.source.clone()
    };
    let source = TableSource {
        source: &subset,
        ..table.source_view()
    };
    let physical = physical_plan(ctx, &source, &plan, progress).await?;
    let anomaly_schema = export::anomaly_schema(physical.schema().as_ref(), &plan);
    let file = out_dir
        .join("anomalies")
        .join(format!("{}.parquet", table.qualified_name()));
    let sink = AnomalySink::start(file, Arc::clone(&anomaly_schema))?;

    // What the previous run vouches for: its counts, and its anomalous rows carried over.
    let mut per_file: HashMap<String, TableCounts> = HashMap::new();
    let mut carried = None;
    progress
        .files_read
        .store(to_read.read.len() as u64, Ordering::Relaxed);
    progress
        .files_reused
        .store(to_read.reused.len() as u64, Ordering::Relaxed);
    if !to_read.reused.is_empty() {
        let reused_rows: u64 = to_read.reused.iter().map(|p| p.counts.rows).sum();
        progress.rows.fetch_add(reused_rows, Ordering::Relaxed);
        if matches!(table.source.format, SourceFormat::Csv(_)) {
            let bytes: u64 = to_read.reused.iter().map(|p| p.fingerprint.size).sum();
            progress.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        if let Some(kept) = to_read.carry.take() {
            let names: HashSet<String> = to_read.reused.iter().map(|p| p.file.clone()).collect();
            let (schema, tx) = (Arc::clone(&anomaly_schema), sink.sender());
            carried = Some(tokio::task::spawn_blocking(move || {
                reuse::carry(&kept, &names, &schema, &tx)
            }));
        }
    }

    let streams = if to_read.read.is_empty() {
        Vec::new()
    } else {
        execute_stream_partitioned(physical, ctx.task_ctx())
            .map_err(|e| Error::engine(what(), e))?
    };
    let plan = Arc::new(plan);
    // Dropping the set (the run cancelled by Ctrl-C) aborts the partitions' tasks.
    let mut tasks = tokio::task::JoinSet::new();
    for mut stream in streams {
        let plan = Arc::clone(&plan);
        let schema = Arc::clone(&anomaly_schema);
        let tx = sink.sender();
        let progress = Arc::clone(progress);
        tasks.spawn(async move {
            let mut per_file: HashMap<String, TableCounts> = HashMap::new();
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| Error::engine("reading", e))?;
                for (file, rows) in tally::by_file(&batch, plan.layout.location.map(|l| l.file))? {
                    let counts = per_file
                        .entry(file)
                        .or_insert_with(|| TableCounts::new(plan.rules.len()));
                    if let Some(anomalies) = tally::tally(&rows, &plan, &schema, counts)? {
                        tx.send(anomalies)
                            .await
                            .map_err(|_| Error::Internal("anomaly writer stopped early".into()))?;
                    }
                }
                progress
                    .rows
                    .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            }
            Ok::<_, Error>(per_file)
        });
    }
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(files)) => {
                for (file, c) in files {
                    per_file
                        .entry(file)
                        .or_insert_with(|| TableCounts::new(plan.rules.len()))
                        .merge(&c);
                }
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(join) => {
                first_error
                    .get_or_insert(Error::Internal(format!("partition task failed: {join}")));
            }
        }
    }
    if let Some(carried) = carried {
        match carried.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(join) => {
                first_error.get_or_insert(Error::Internal(format!(
                    "carrying anomalies failed: {join}"
                )));
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
    let (counts, state, reuse) = assemble(table, &plan, per_file, to_read, &basis, &keys)?;
    let anomalies = sink.finish()?;
    let costs = if options.rule_costs {
        let rows = scan::located_rows(
            ctx,
            &table.source_view(),
            &plan.needed,
            &scan::ScanProgress::default(),
        )?;
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
        state,
        reuse: Some(reuse),
    };
    TableOutcome::assemble(ctx, table, pass, options.as_of, started).await
}

/// The table's counts from this run's files and the reused ones, the state to keep for the
/// next run (none when the scan did not name each row's file), and what was reused.
fn assemble(
    table: &BoundTable,
    plan: &TablePlan,
    mut read: HashMap<String, TableCounts>,
    to_read: reuse::Plan,
    basis: &(String, String),
    keys: &[Keyed],
) -> Result<(TableCounts, Option<TableState>, Reuse)> {
    let mut counts = TableCounts::new(plan.rules.len());
    let mut files = Vec::with_capacity(table.source.files.len());
    let mut reuse = Reuse {
        files_read: to_read.read.len() as u64,
        files_reused: to_read.reused.len() as u64,
        files_dropped: to_read.files_dropped,
        read_whole: to_read.read_whole,
        ..Reuse::default()
    };
    for part in &to_read.reused {
        counts.merge(&part.counts);
        reuse.rows_reused += part.counts.rows;
    }
    for f in &to_read.read {
        let name = scan::file_name(f);
        // A file without rows sends no batch.
        let c = read
            .remove(&name)
            .unwrap_or_else(|| TableCounts::new(plan.rules.len()));
        counts.merge(&c);
        reuse.rows_read += c.rows;
        let fingerprint = to_read
            .fingerprints
            .get(&name)
            .cloned()
            .ok_or_else(|| Error::Internal(format!("{name}: no fingerprint")))?;
        files.push(FilePart {
            file: name,
            fingerprint,
            counts: c,
            keys: Vec::new(),
        });
    }
    // Rows the scan did not name (no location) or named otherwise: counted, but no state is
    // kept, as no file's part would hold them.
    let unnamed = !read.is_empty();
    for c in read.values() {
        counts.merge(c);
        reuse.rows_read += c.rows;
    }
    files.extend(to_read.reused);
    for part in &mut files {
        part.keys = keys
            .iter()
            .filter_map(|k| k.files.get(&part.file).cloned())
            .collect();
    }
    let state = (!unnamed).then(|| TableState {
        basis: reuse::joined(basis),
        export: None,
        files,
    });
    Ok((counts, state, reuse))
}
