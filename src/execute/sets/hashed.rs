//! qc's own engine for duplicated tuples (`unique`), all of a table's rules at once:
//!
//! 1. **Hash.** One read of the key columns, on every core: each applicable row's tuple is
//!    hashed to 64 bits. Sorting the hashes (in parallel) finds those seen more than once:
//!    the candidate groups. Equal tuples have equal hashes, so every duplicated tuple is a
//!    candidate; a collision of different tuples can only add a candidate.
//! 2. **Verify.** Only when there are candidates: a second read keeps the rows whose hash is
//!    a candidate and counts their actual tuples. A tuple counted more than once is
//!    anomalous: the answer is exact, whatever the hash.
//!
//! Memory is 8 bytes per applicable row and rule while hashing (reserved in the run's pool)
//! plus the candidates' tuples; a table whose hashes do not fit the pool is computed by the
//! rules' DataFusion plans instead (which spill). A DataFusion hash aggregate holds every
//! distinct tuple: at 10M distinct ID numbers that was about 1 GB.

use std::collections::HashMap;

// hashbrown with foldhash: the candidates are looked up once per row.
use datafusion::common::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use arrow::compute::filter;
use arrow::record_batch::RecordBatch;
use datafusion::common::hash_utils::create_hashes;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::logical_expr::{Expr, ident};
use datafusion::physical_plan::execute_stream_partitioned;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use rayon::slice::ParallelSliceMut;

use super::{HASH, HeldSet, Watchdog, held_set};
use crate::error::{Error, Result};
use crate::plan::keyset::KeySet;
use crate::rules::{BoundColumn, TableRef};

/// A `unique` rule: tuples of `on` held by more than one row where `applicable` is true.
#[derive(Debug, Clone, Copy)]
pub struct Duplicates<'a> {
    /// The rule's position in its table.
    pub rule: usize,
    pub on: &'a [BoundColumn],
    pub applicable: &'a Expr,
}

/// Where a rule's columns sit in the batches read.
struct Layout {
    on: Vec<usize>,
    applies: usize,
}

/// Per rule of `rules`: its duplicated tuples and their share of the pool. `None` when the
/// hashes do not fit the memory pool (the caller then runs the rules' plans).
pub async fn duplicates(
    ctx: &SessionContext,
    table: &TableRef,
    rules: &[Duplicates<'_>],
    names: &[String],
    watchdog: &Watchdog,
) -> Result<Option<Vec<(KeySet, MemoryReservation)>>> {
    let what = names.join(", ");
    let work = async {
        let candidates = match hash_all(ctx, table, rules, &what, watchdog).await {
            Ok(c) => c,
            Err(Error::Memory { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let state = ctx.state();
        let mut held: Vec<HeldSet> = rules
            .iter()
            .zip(names)
            .map(|(r, name)| held_set(&state, r.on, name))
            .collect::<Result<_>>()?;
        if candidates.iter().any(|c| !c.is_empty()) {
            let counts = count_candidates(ctx, table, rules, &candidates, &what, watchdog).await?;
            for (held, counts) in held.iter_mut().zip(counts) {
                for (row, n) in counts {
                    if n > 1 {
                        held.insert(&row)?;
                    }
                }
            }
        }
        Ok(Some(held.into_iter().map(HeldSet::into_parts).collect()))
    };
    watchdog.watch(&what, work).await
}

/// The columns both reads select: every rule's `on` columns (each once), then each rule's
/// applicability; and where each rule finds its own.
fn selection(rules: &[Duplicates<'_>]) -> (Vec<Expr>, Vec<Layout>) {
    let mut columns: Vec<String> = Vec::new();
    for r in rules {
        for c in r.on {
            if !columns.contains(&c.name) {
                columns.push(c.name.clone());
            }
        }
    }
    let mut exprs: Vec<Expr> = columns.iter().map(ident).collect();
    let layouts = rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            exprs.push(r.applicable.clone().alias(format!("__qc_applies_{i}")));
            Layout {
                on: r
                    .on
                    .iter()
                    .filter_map(|c| columns.iter().position(|n| *n == c.name))
                    .collect(),
                applies: columns.len() + i,
            }
        })
        .collect();
    (exprs, layouts)
}

/// The table's `exprs`, one stream per partition (a file's row groups split across cores).
async fn read(
    ctx: &SessionContext,
    table: &TableRef,
    exprs: Vec<Expr>,
    what: &str,
) -> Result<Vec<datafusion::execution::SendableRecordBatchStream>> {
    let plan = ctx
        .table(table.reference())
        .await
        .and_then(|f| f.select(exprs))
        .map_err(|e| Error::engine(what, e))?
        .create_physical_plan()
        .await
        .map_err(|e| Error::engine(what, e))?;
    execute_stream_partitioned(plan, ctx.task_ctx()).map_err(|e| Error::engine(what, e))
}

/// Hashes of one rule's applicable rows of `batch`, and the rows' mask.
fn hashes(batch: &RecordBatch, layout: &Layout, buffer: &mut Vec<u64>) -> Result<BooleanArray> {
    let applies = batch.column(layout.applies).as_boolean().clone();
    let on: Vec<&ArrayRef> = layout.on.iter().map(|&c| batch.column(c)).collect();
    buffer.clear();
    buffer.resize(batch.num_rows(), 0);
    create_hashes(on, &HASH, buffer).map_err(|e| Error::engine("hashing key columns", e))?;
    Ok(applies)
}

/// Read 1: per rule, the hashes seen more than once.
async fn hash_all(
    ctx: &SessionContext,
    table: &TableRef,
    rules: &[Duplicates<'_>],
    what: &str,
    watchdog: &Watchdog,
) -> Result<Vec<HashSet<u64>>> {
    let (exprs, layouts) = selection(rules);
    let layouts = Arc::new(layouts);
    let pool = Arc::clone(&ctx.state().runtime_env().memory_pool);
    let mut tasks = tokio::task::JoinSet::new();
    watchdog.read_started();
    for mut stream in read(ctx, table, exprs, what).await? {
        let layouts = Arc::clone(&layouts);
        let progress = watchdog.counter();
        let reservation = MemoryConsumer::new(format!("qc key hashes ({what})")).register(&pool);
        let what = what.to_string();
        tasks.spawn(async move {
            let mut per_rule: Vec<Vec<u64>> = vec![Vec::new(); layouts.len()];
            let mut buffer = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| Error::engine(&what, e))?;
                progress.fetch_add(1, Ordering::Relaxed);
                for (layout, out) in layouts.iter().zip(&mut per_rule) {
                    let applies = hashes(&batch, layout, &mut buffer)?;
                    let before = out.len();
                    out.extend(
                        buffer
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| applies.is_valid(*i) && applies.value(*i))
                            .map(|(_, h)| *h),
                    );
                    let added = (out.len() - before) * std::mem::size_of::<u64>();
                    reservation.try_grow(added).map_err(|_| Error::Memory {
                        what: what.clone(),
                        message: "its key hashes do not fit --memory-limit".into(),
                    })?;
                }
            }
            Ok::<_, Error>((per_rule, reservation))
        });
    }
    let mut all: Vec<Vec<u64>> = vec![Vec::new(); rules.len()];
    let mut reservations = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (per_rule, reservation) =
            joined.map_err(|e| Error::Internal(format!("hashing task failed: {e}")))??;
        for (all, part) in all.iter_mut().zip(per_rule) {
            all.extend(part);
        }
        reservations.push(reservation);
    }
    // Sorting on rayon's threads, off the async runtime.
    let candidates = tokio::task::spawn_blocking(move || {
        all.into_iter()
            .map(|mut hashes| {
                hashes.par_sort_unstable();
                hashes
                    .windows(2)
                    .filter(|w| w[0] == w[1])
                    .map(|w| w[0])
                    .collect::<HashSet<u64>>()
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| Error::Internal(format!("sorting key hashes failed: {e}")))?;
    drop(reservations);
    Ok(candidates)
}

/// Read 2: per rule, the candidates' actual tuples (in the key set's row format) and how many
/// applicable rows hold each.
async fn count_candidates(
    ctx: &SessionContext,
    table: &TableRef,
    rules: &[Duplicates<'_>],
    candidates: &[HashSet<u64>],
    what: &str,
    watchdog: &Watchdog,
) -> Result<Vec<HashMap<Box<[u8]>, u64>>> {
    let (exprs, layouts) = selection(rules);
    let layouts = Arc::new(layouts);
    let candidates = Arc::new(candidates.to_vec());
    let on: Arc<Vec<Vec<BoundColumn>>> = Arc::new(rules.iter().map(|r| r.on.to_vec()).collect());
    let mut tasks = tokio::task::JoinSet::new();
    watchdog.read_started();
    for mut stream in read(ctx, table, exprs, what).await? {
        let (layouts, candidates, on) = (
            Arc::clone(&layouts),
            Arc::clone(&candidates),
            Arc::clone(&on),
        );
        let progress = watchdog.counter();
        let what = what.to_string();
        tasks.spawn(async move {
            let converters: Vec<KeySet> =
                on.iter().map(|c| KeySet::new(c)).collect::<Result<_>>()?;
            let mut counts: Vec<HashMap<Box<[u8]>, u64>> = vec![HashMap::new(); layouts.len()];
            let mut buffer = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| Error::engine(&what, e))?;
                progress.fetch_add(1, Ordering::Relaxed);
                for (r, layout) in layouts.iter().enumerate() {
                    if candidates[r].is_empty() {
                        continue;
                    }
                    let applies = hashes(&batch, layout, &mut buffer)?;
                    let keep: BooleanArray = buffer
                        .iter()
                        .enumerate()
                        .map(|(i, h)| {
                            Some(
                                applies.is_valid(i)
                                    && applies.value(i)
                                    && candidates[r].contains(h),
                            )
                        })
                        .collect();
                    if keep.true_count() == 0 {
                        continue;
                    }
                    let kept: Vec<ArrayRef> = layout
                        .on
                        .iter()
                        .map(|&c| filter(batch.column(c), &keep))
                        .collect::<std::result::Result<_, _>>()
                        .map_err(|e| Error::Internal(format!("filtering candidates: {e}")))?;
                    let rows = converters[r].rows(&kept)?;
                    for row in &rows {
                        *counts[r].entry(row.as_ref().into()).or_default() += 1;
                    }
                }
            }
            Ok::<_, Error>(counts)
        });
    }
    let mut all: Vec<HashMap<Box<[u8]>, u64>> = vec![HashMap::new(); rules.len()];
    while let Some(joined) = tasks.join_next().await {
        let counts =
            joined.map_err(|e| Error::Internal(format!("counting task failed: {e}")))??;
        for (all, part) in all.iter_mut().zip(counts) {
            for (row, n) in part {
                *all.entry(row).or_default() += n;
            }
        }
    }
    Ok(all)
}
