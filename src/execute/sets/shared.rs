//! One read of a table for several stages of qc's set engine. A table's `unique` rules hash
//! their keys, and each group of its `history` rules hashes its people, from the same read:
//! each stage selects its own columns and sees every batch of the files it wants, on every
//! core. So the first read of the set engine is one read of the table, however many kinds of
//! set-based rule it has.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arrow::record_batch::RecordBatch;
use datafusion::common::HashSet;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::expr_rewriter::unnormalize_col;
use datafusion::logical_expr::{Expr, ident};
use datafusion::physical_plan::execute_stream_partitioned;
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use super::Watchdog;
use crate::bind::BoundTable;
use crate::error::{Error, Result};
use crate::rules::source::BoundSource;
use crate::scan::{self, TableSource};

/// A stage's work on one partition of the read.
pub trait Consumer: Send {
    /// One batch of `file`, holding the stage's selection in its order.
    fn batch(&mut self, file: &str, batch: &RecordBatch) -> Result<()>;
    /// The partition is read: hand what was gathered to the stage.
    fn finish(self: Box<Self>);
}

/// What a stage's consumers hand over when their partitions are read, one part each.
pub struct Handed<T>(Mutex<Vec<T>>);

impl<T> Default for Handed<T> {
    fn default() -> Self {
        Handed(Mutex::new(Vec::new()))
    }
}

impl<T> Handed<T> {
    pub fn hand(&self, part: T) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(part);
    }

    /// Every part handed over so far.
    pub fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The partitions' parts as one: the largest takes in the others, each freed as soon as it is
/// appended. Appending every part to a new, empty one held everything twice at once, outside
/// the pool (at 50M rows under 1 GiB, peak RSS 380 MB above the limit). `None` for no parts.
pub fn into_largest<T>(
    mut parts: Vec<T>,
    size: impl Fn(&T) -> usize,
    mut append: impl FnMut(&mut T, T),
) -> Option<T> {
    let largest = (0..parts.len()).max_by_key(|&i| size(&parts[i]))?;
    let mut all = parts.swap_remove(largest);
    for part in parts {
        append(&mut all, part);
    }
    Some(all)
}

/// The partitions' hash lists as one list ([`into_largest`]), grown once, by exactly the
/// others' length; in no order (each caller sorts).
pub fn concat(parts: Vec<Vec<u64>>) -> Vec<u64> {
    concat_in_steps(parts, 1 << 20)
}

/// [`concat`], moving `step` hashes at a time from the end of each part and giving back
/// the part's memory behind them, so that a part is never held twice: appended whole, the
/// last 200 MB part of a 400 MB list (50M rows, two partitions) was, for a moment, at
/// 50M rows under 1 GiB.
fn concat_in_steps(parts: Vec<Vec<u64>>, step: usize) -> Vec<u64> {
    let total: usize = parts.iter().map(Vec::len).sum();
    into_largest(parts, Vec::len, |all, mut part| {
        // A no-op after the first part: the capacity is then the total.
        all.reserve_exact(total - all.len());
        while !part.is_empty() {
            let rest = part.len().saturating_sub(step);
            all.extend_from_slice(&part[rest..]);
            part.truncate(rest);
            part.shrink_to_fit();
        }
    })
    .unwrap_or_default()
}

/// A stage of a shared read: what it selects, which files' rows it wants, and a consumer per
/// partition.
pub struct Stage {
    pub exprs: Vec<Expr>,
    /// `None`: every file read.
    pub files: Option<HashSet<String>>,
    pub consumer: Box<dyn Fn() -> Box<dyn Consumer> + Send + Sync>,
}

/// Read `files` of `table` once for all `stages`. Per stage: whether it completed; `false`
/// when it ran out of memory (a consumer's [`Error::Memory`]), after which it saw no more
/// batches and nothing of it was finished. Other errors end the read.
pub async fn read(
    ctx: &SessionContext,
    table: &BoundTable,
    files: &[PathBuf],
    stages: &[Stage],
    what: &str,
    watchdog: &Watchdog,
) -> Result<Vec<bool>> {
    let mut exprs = Vec::new();
    let mut ranges: Vec<Range<usize>> = Vec::new();
    for (s, stage) in stages.iter().enumerate() {
        let start = exprs.len();
        // Stages may select the same column: each selection gets names of its own. Columns
        // bound against the registered table lose its name: the read is not registered.
        exprs.extend(
            stage
                .exprs
                .iter()
                .enumerate()
                .map(|(i, e)| unnormalize_col(e.clone()).alias(format!("__qc_stage{s}_{i}"))),
        );
        ranges.push(start..exprs.len());
    }
    watchdog.read_started();
    let (streams, file_at) = streams(ctx, table, files, exprs, what).await?;
    let ranges = Arc::new(ranges);
    let wants: Arc<Vec<Option<HashSet<String>>>> =
        Arc::new(stages.iter().map(|s| s.files.clone()).collect());
    let failed: Arc<Vec<AtomicBool>> =
        Arc::new(stages.iter().map(|_| AtomicBool::new(false)).collect());
    let mut tasks = tokio::task::JoinSet::new();
    for mut stream in streams {
        let mut consumers: Vec<Option<Box<dyn Consumer>>> =
            stages.iter().map(|s| Some((s.consumer)())).collect();
        let (ranges, wants, failed) =
            (Arc::clone(&ranges), Arc::clone(&wants), Arc::clone(&failed));
        let (progress, what) = (watchdog.counter(), what.to_string());
        tasks.spawn(async move {
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| Error::engine(&what, e))?;
                progress.fetch_add(1, Ordering::Relaxed);
                for (file, batch) in crate::execute::tally::by_file(&batch, Some(file_at))? {
                    for (s, consumer) in consumers.iter_mut().enumerate() {
                        if failed[s].load(Ordering::Relaxed) {
                            *consumer = None;
                        }
                        let Some(c) = consumer else { continue };
                        if wants[s].as_ref().is_some_and(|w| !w.contains(&file)) {
                            continue;
                        }
                        let own = batch
                            .project(&ranges[s].clone().collect::<Vec<_>>())
                            .map_err(|e| Error::Internal(format!("{what}: {e}")))?;
                        match c.batch(&file, &own) {
                            Ok(()) => {}
                            Err(Error::Memory { .. }) => {
                                failed[s].store(true, Ordering::Relaxed);
                                *consumer = None;
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
            Ok::<_, Error>(consumers)
        });
    }
    let mut done = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        done.push(
            joined.map_err(|e| Error::Internal(format!("{what}: a read task failed: {e}")))??,
        );
    }
    let completed: Vec<bool> = failed.iter().map(|f| !f.load(Ordering::Relaxed)).collect();
    for consumers in done {
        for (s, consumer) in consumers.into_iter().enumerate() {
            if let (true, Some(c)) = (completed[s], consumer) {
                c.finish();
            }
        }
    }
    Ok(completed)
}

/// `files` of `table` read for `exprs` (a CSV source's well-formed records only), with each
/// row's file last; one stream per partition.
pub async fn streams(
    ctx: &SessionContext,
    table: &BoundTable,
    files: &[PathBuf],
    mut exprs: Vec<Expr>,
    what: &str,
) -> Result<(Vec<SendableRecordBatchStream>, usize)> {
    let subset = BoundSource {
        files: files.to_vec(),
        ..table.source.clone()
    };
    let source = TableSource {
        source: &subset,
        ..table.source_view()
    };
    let mut needed: Vec<String> = Vec::new();
    for e in &exprs {
        for c in e.column_refs() {
            if !needed.contains(&c.name) {
                needed.push(c.name.clone());
            }
        }
    }
    let file_at = exprs.len();
    exprs.push(ident(scan::META_FILE));
    let plan = scan::located_records(ctx, &source, &needed)?
        .select(exprs)
        .map_err(|e| Error::engine(what, e))?
        .create_physical_plan()
        .await
        .map_err(|e| Error::engine(what, e))?;
    let streams =
        execute_stream_partitioned(plan, ctx.task_ctx()).map_err(|e| Error::engine(what, e))?;
    Ok((streams, file_at))
}

#[cfg(test)]
mod tests {
    use super::concat_in_steps;

    #[test]
    fn concat_keeps_every_hash_of_every_part() {
        for step in [1, 2, 1 << 20] {
            let parts = vec![
                vec![5, 1],
                Vec::new(),
                vec![9, 9, 2],
                vec![7],
                vec![3, 4, 5],
            ];
            let mut want: Vec<u64> = parts.iter().flatten().copied().collect();
            let mut got = concat_in_steps(parts, step);
            assert_eq!(got.len(), want.len());
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "steps of {step}");
            assert!(concat_in_steps(Vec::new(), step).is_empty());
            assert!(concat_in_steps(vec![Vec::new(), Vec::new()], step).is_empty());
        }
    }
}
