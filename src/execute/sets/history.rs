//! qc's own engine for `history` rules (`checks::history`): a record judged against its
//! people's other records, without joining the table with itself.
//!
//! 1. **Hash.** One read of the people, pair, date and event columns, on every core. The
//!    candidates are the people with two or more relevant records (`not_latest`: records;
//!    `overlap`: opening records), found by sorting the hashes of their values; for
//!    `close_without_open`, the pairs that some closing record names.
//! 2. **Gather.** A second read keeps the records of candidate people (or pairs), in the
//!    key set's row format, and judges them exactly on their actual values, in date order.
//!
//! Most people have one record: they are hashed and never read again. A collision of
//! hashes can only add candidates; the judgement uses the values themselves.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use arrow::record_batch::RecordBatch;
use datafusion::common::hash_utils::create_hashes;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::logical_expr::{Expr, cast as cast_expr, ident, lit};
use datafusion::physical_plan::execute_stream_partitioned;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use rayon::slice::ParallelSliceMut;

use super::{HASH, Watchdog, held_set};
use crate::checks::history::{Find, HistoryCheck};
use crate::error::{Error, Result};
use crate::plan::keyset::KeySet;
use crate::rules::{BoundColumn, TableRef};

/// Positions of the selected columns in every batch read.
#[derive(Debug, Clone)]
struct Layout {
    key: Vec<usize>,
    of: Vec<usize>,
    pair: Vec<usize>,
    date: usize,
    opens: usize,
    closes: usize,
}

/// What both reads select: key, people, pair, the date as an integer, and the two events.
fn selection(key: &[BoundColumn], check: &HistoryCheck) -> (Vec<Expr>, Layout) {
    let mut names: Vec<String> = Vec::new();
    let mut at = |name: &str| -> usize {
        if let Some(i) = names.iter().position(|n| n == name) {
            return i;
        }
        names.push(name.to_string());
        names.len() - 1
    };
    let key_at: Vec<usize> = key.iter().map(|c| at(&c.name)).collect();
    let of_at: Vec<usize> = check.of.iter().map(|c| at(&c.name)).collect();
    let pair_at: Vec<usize> = check.pair.iter().map(|c| at(&c.name)).collect();
    let mut exprs: Vec<Expr> = names.iter().map(ident).collect();
    let date = exprs.len();
    exprs.push(cast_expr(ident(&check.date.name), DataType::Int64).alias("__qc_date"));
    let event = |e: &Option<Expr>| e.clone().map_or(lit(false), Expr::is_true);
    exprs.push(event(&check.opens).alias("__qc_opens"));
    exprs.push(event(&check.closes).alias("__qc_closes"));
    (
        exprs,
        Layout {
            key: key_at,
            of: of_at,
            pair: pair_at,
            date,
            opens: date + 1,
            closes: date + 2,
        },
    )
}

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

/// One batch, read for judging: dates, events and per-row hashes.
struct Rows<'b> {
    batch: &'b RecordBatch,
    layout: &'b Layout,
    dates: arrow::array::PrimitiveArray<Int64Type>,
    opens: BooleanArray,
    closes: BooleanArray,
}

impl<'b> Rows<'b> {
    fn new(batch: &'b RecordBatch, layout: &'b Layout) -> Rows<'b> {
        Rows {
            batch,
            layout,
            dates: batch
                .column(layout.date)
                .as_primitive::<Int64Type>()
                .clone(),
            opens: batch.column(layout.opens).as_boolean().clone(),
            closes: batch.column(layout.closes).as_boolean().clone(),
        }
    }

    fn date(&self, i: usize) -> Option<i64> {
        self.dates.is_valid(i).then(|| self.dates.value(i))
    }

    fn opens(&self, i: usize) -> bool {
        self.opens.is_valid(i) && self.opens.value(i)
    }

    fn closes(&self, i: usize) -> bool {
        self.closes.is_valid(i) && self.closes.value(i)
    }

    /// Hashes of the columns at `at` taken together (`None` where one is NULL).
    fn hashes(&self, at: &[usize]) -> Result<Vec<Option<u64>>> {
        let columns: Vec<&ArrayRef> = at.iter().map(|&c| self.batch.column(c)).collect();
        let mut out = vec![0; self.batch.num_rows()];
        create_hashes(columns.iter().copied(), &HASH, &mut out)
            .map_err(|e| Error::engine("hashing people", e))?;
        Ok(out
            .into_iter()
            .enumerate()
            .map(|(i, h)| columns.iter().all(|c| c.is_valid(i)).then_some(h))
            .collect())
    }

    /// Per person column: the hash of each row's person.
    fn people(&self) -> Result<Vec<Vec<Option<u64>>>> {
        self.layout
            .of
            .iter()
            .map(|&c| self.hashes(std::slice::from_ref(&c)))
            .collect()
    }
}

/// Values of the columns at `at`, in a key set's row format (`None` where one is NULL).
struct Encoder {
    set: KeySet,
    at: Vec<usize>,
}

impl Encoder {
    fn new(columns: &[BoundColumn], at: Vec<usize>) -> Result<Encoder> {
        Ok(Encoder {
            set: KeySet::new(columns)?,
            at,
        })
    }

    fn encode(&self, batch: &RecordBatch) -> Result<Vec<Option<Box<[u8]>>>> {
        let columns: Vec<ArrayRef> = self
            .at
            .iter()
            .map(|&c| cast_like(batch.column(c)))
            .collect::<Result<_>>()?;
        let rows = self.set.rows(&columns)?;
        Ok((0..batch.num_rows())
            .map(|i| {
                columns
                    .iter()
                    .all(|c| c.is_valid(i))
                    .then(|| rows.row(i).as_ref().into())
            })
            .collect())
    }
}

/// A column as read (dictionary-encoded text stays as it is: the key set casts).
fn cast_like(a: &ArrayRef) -> Result<ArrayRef> {
    match a.data_type() {
        DataType::Dictionary(_, v) => {
            cast(a, v).map_err(|e| Error::Internal(format!("history: {e}")))
        }
        _ => Ok(Arc::clone(a)),
    }
}

/// A record kept for judging.
#[derive(Debug, Clone)]
struct Record {
    key: Option<Box<[u8]>>,
    people: Vec<Option<Box<[u8]>>>,
    pair: Option<Box<[u8]>>,
    date: Option<i64>,
    opens: bool,
    closes: bool,
}

impl Record {
    fn size(&self) -> usize {
        let bytes = |b: &Option<Box<[u8]>>| b.as_ref().map_or(0, |b| b.len() + 16);
        96 + bytes(&self.key) + bytes(&self.pair) + self.people.iter().map(bytes).sum::<usize>()
    }
}

/// The anomalous keys of one `history` rule, with their share of the pool. `None` when the
/// rule's hashes or records do not fit the pool (the caller then runs its plan).
pub async fn anomalous(
    ctx: &SessionContext,
    table: &TableRef,
    key: &[BoundColumn],
    check: &HistoryCheck,
    what: &str,
    watchdog: &Watchdog,
) -> Result<Option<(KeySet, MemoryReservation)>> {
    let work = async {
        let (exprs, layout) = selection(key, check);
        let candidates = match candidates(ctx, table, &exprs, &layout, check, what, watchdog).await
        {
            Ok(c) => c,
            Err(Error::Memory { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let records = match gather(
            ctx,
            table,
            exprs,
            &layout,
            key,
            check,
            &candidates,
            what,
            watchdog,
        )
        .await
        {
            Ok(r) => r,
            Err(Error::Memory { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut held = held_set(&ctx.state(), key, what)?;
        for k in judge(check.find, &records).into_iter().flatten() {
            held.insert(k)?;
        }
        Ok(Some(held.into_parts()))
    };
    watchdog.watch(what, work).await
}

/// Read 1: the hashes of the people (or pairs) whose records must be judged.
async fn candidates(
    ctx: &SessionContext,
    table: &TableRef,
    exprs: &[Expr],
    layout: &Layout,
    check: &HistoryCheck,
    what: &str,
    watchdog: &Watchdog,
) -> Result<HashSet<u64>> {
    let pool = Arc::clone(&ctx.state().runtime_env().memory_pool);
    let layout = Arc::new(layout.clone());
    let find = check.find;
    let mut tasks = tokio::task::JoinSet::new();
    for mut stream in read(ctx, table, exprs.to_vec(), what).await? {
        let (layout, progress, what) = (Arc::clone(&layout), watchdog.counter(), what.to_string());
        let reservation =
            MemoryConsumer::new(format!("qc history hashes ({what})")).register(&pool);
        tasks.spawn(async move {
            let mut hashes: Vec<u64> = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| Error::engine(&what, e))?;
                progress.fetch_add(1, Ordering::Relaxed);
                let rows = Rows::new(&batch, &layout);
                let before = hashes.len();
                match find {
                    Find::NotLatest | Find::Overlap => {
                        for people in rows.people()? {
                            for (i, h) in people.into_iter().enumerate() {
                                let counts = rows.date(i).is_some()
                                    && (find == Find::NotLatest || rows.opens(i));
                                if let (true, Some(h)) = (counts, h) {
                                    hashes.push(h);
                                }
                            }
                        }
                    }
                    Find::CloseWithoutOpen => {
                        for (i, h) in rows.hashes(&layout.pair)?.into_iter().enumerate() {
                            if let (true, Some(h)) = (rows.closes(i), h) {
                                hashes.push(h);
                            }
                        }
                    }
                }
                reservation
                    .try_grow((hashes.len() - before) * 8)
                    .map_err(|_| Error::Memory {
                        what: what.clone(),
                        message: "its hashes do not fit --memory-limit".into(),
                    })?;
            }
            Ok::<_, Error>((hashes, reservation))
        });
    }
    let mut all = Vec::new();
    let mut reservations = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (part, reservation) =
            joined.map_err(|e| Error::Internal(format!("history task failed: {e}")))??;
        all.extend(part);
        reservations.push(reservation);
    }
    let twice_or_more = find != Find::CloseWithoutOpen;
    let candidates = tokio::task::spawn_blocking(move || {
        if !twice_or_more {
            return all.into_iter().collect::<HashSet<u64>>();
        }
        all.par_sort_unstable();
        all.windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .collect()
    })
    .await
    .map_err(|e| Error::Internal(format!("sorting history hashes failed: {e}")))?;
    drop(reservations);
    Ok(candidates)
}

/// Read 2: the records to judge: those of candidate people (for `close_without_open`: every
/// closing record, and the opening records of candidate pairs).
#[allow(clippy::too_many_arguments)]
async fn gather(
    ctx: &SessionContext,
    table: &TableRef,
    exprs: Vec<Expr>,
    layout: &Layout,
    key: &[BoundColumn],
    check: &HistoryCheck,
    candidates: &HashSet<u64>,
    what: &str,
    watchdog: &Watchdog,
) -> Result<Vec<Record>> {
    if candidates.is_empty() && check.find != Find::CloseWithoutOpen {
        return Ok(Vec::new());
    }
    let pool = Arc::clone(&ctx.state().runtime_env().memory_pool);
    let layout = Arc::new(layout.clone());
    let candidates = Arc::new(candidates.clone());
    let columns = Arc::new((key.to_vec(), check.of.clone(), check.pair.clone()));
    let find = check.find;
    let mut tasks = tokio::task::JoinSet::new();
    for mut stream in read(ctx, table, exprs, what).await? {
        let (layout, candidates, columns) = (
            Arc::clone(&layout),
            Arc::clone(&candidates),
            Arc::clone(&columns),
        );
        let (progress, what) = (watchdog.counter(), what.to_string());
        let reservation =
            MemoryConsumer::new(format!("qc history records ({what})")).register(&pool);
        tasks.spawn(async move {
            let (key, of, pair) = &*columns;
            let key_enc = Encoder::new(key, layout.key.clone())?;
            let people_enc: Vec<Encoder> = of
                .iter()
                .zip(&layout.of)
                .map(|(c, &at)| Encoder::new(std::slice::from_ref(c), vec![at]))
                .collect::<Result<_>>()?;
            let pair_enc = Encoder::new(pair, layout.pair.clone())?;
            let mut kept = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| Error::engine(&what, e))?;
                progress.fetch_add(1, Ordering::Relaxed);
                let rows = Rows::new(&batch, &layout);
                let wanted: Vec<bool> = match find {
                    Find::NotLatest | Find::Overlap => {
                        let people = rows.people()?;
                        (0..batch.num_rows())
                            .map(|i| {
                                people
                                    .iter()
                                    .any(|p| p[i].is_some_and(|h| candidates.contains(&h)))
                            })
                            .collect()
                    }
                    Find::CloseWithoutOpen => {
                        let pairs = rows.hashes(&layout.pair)?;
                        (0..batch.num_rows())
                            .map(|i| {
                                rows.closes(i)
                                    || (rows.opens(i)
                                        && pairs[i].is_some_and(|h| candidates.contains(&h)))
                            })
                            .collect()
                    }
                };
                if !wanted.iter().any(|w| *w) {
                    continue;
                }
                let keys = key_enc.encode(&batch)?;
                let people: Vec<Vec<Option<Box<[u8]>>>> = people_enc
                    .iter()
                    .map(|e| e.encode(&batch))
                    .collect::<Result<_>>()?;
                let pairs = pair_enc.encode(&batch)?;
                let mut added = 0;
                for i in (0..batch.num_rows()).filter(|&i| wanted[i]) {
                    let record = Record {
                        key: keys[i].clone(),
                        people: people.iter().map(|p| p[i].clone()).collect(),
                        pair: pairs[i].clone(),
                        date: rows.date(i),
                        opens: rows.opens(i),
                        closes: rows.closes(i),
                    };
                    added += record.size();
                    kept.push(record);
                }
                reservation.try_grow(added).map_err(|_| Error::Memory {
                    what: what.clone(),
                    message: "the records to judge do not fit --memory-limit".into(),
                })?;
            }
            Ok::<_, Error>((kept, reservation))
        });
    }
    let mut all = Vec::new();
    let mut reservations = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (part, reservation) =
            joined.map_err(|e| Error::Internal(format!("history task failed: {e}")))??;
        all.extend(part);
        reservations.push(reservation);
    }
    // The records' reservations are released when judged (a moment later).
    drop(reservations);
    Ok(all)
}

/// The keys of the anomalous records among `records` (all of the people or pairs concerned).
fn judge(find: Find, records: &[Record]) -> Vec<Option<&[u8]>> {
    fn key(r: &Record) -> Option<&[u8]> {
        r.key.as_deref()
    }
    match find {
        Find::NotLatest => {
            let mut last: HashMap<&[u8], i64> = HashMap::new();
            for r in records {
                let Some(d) = r.date else { continue };
                for p in r.people.iter().flatten() {
                    let e = last.entry(p.as_ref()).or_insert(d);
                    *e = (*e).max(d);
                }
            }
            records
                .iter()
                .filter(|r| {
                    r.date.is_some_and(|d| {
                        r.people
                            .iter()
                            .flatten()
                            .any(|p| last.get(p.as_ref()).is_some_and(|l| *l > d))
                    })
                })
                .map(key)
                .collect()
        }
        Find::Overlap => {
            // Closing dates per pair, sorted.
            let mut closes: HashMap<&[u8], Vec<i64>> = HashMap::new();
            for r in records.iter().filter(|r| r.closes) {
                if let (Some(p), Some(d)) = (&r.pair, r.date) {
                    closes.entry(p.as_ref()).or_default().push(d);
                }
            }
            for dates in closes.values_mut() {
                dates.sort_unstable();
            }
            let closed_between = |pair: Option<&[u8]>, from: i64, to: i64| {
                pair.and_then(|p| closes.get(p)).is_some_and(|dates| {
                    let first = dates.partition_point(|d| *d < from);
                    dates.get(first).is_some_and(|d| *d <= to)
                })
            };
            // Opening records per person.
            let mut opens: HashMap<&[u8], Vec<&Record>> = HashMap::new();
            for r in records.iter().filter(|r| r.opens && r.date.is_some()) {
                for p in r.people.iter().flatten() {
                    opens.entry(p.as_ref()).or_default().push(r);
                }
            }
            let mut out = Vec::new();
            for list in opens.values() {
                for later in list {
                    let Some(to) = later.date else { continue };
                    let overlapped = list.iter().any(|earlier| {
                        earlier.date.is_some_and(|from| {
                            from < to && !closed_between(earlier.pair.as_deref(), from, to)
                        })
                    });
                    if overlapped {
                        out.push(key(later));
                    }
                }
            }
            out
        }
        Find::CloseWithoutOpen => {
            let mut first_open: HashMap<&[u8], i64> = HashMap::new();
            for r in records.iter().filter(|r| r.opens) {
                if let (Some(p), Some(d)) = (&r.pair, r.date) {
                    let e = first_open.entry(p.as_ref()).or_insert(d);
                    *e = (*e).min(d);
                }
            }
            records
                .iter()
                .filter(|r| r.closes)
                .filter(|r| match (&r.pair, r.date) {
                    (Some(p), Some(d)) => first_open.get(p.as_ref()).is_none_or(|o| *o > d),
                    _ => true,
                })
                .map(key)
                .collect()
        }
    }
}
