//! qc's own engine for `history` rules (`checks::history`): a record judged against its
//! people's other records, without joining the table with itself.
//!
//! 1. **Hash.** One read of the people, pair, date and event columns, on every core (shared
//!    with the table's other set-based rules, [`super::shared`]). The
//!    candidates are the people with two or more relevant records (`not_latest`: records;
//!    `overlap`: opening records), found by sorting the hashes of their values; for
//!    `close_without_open`, the pairs that some closing record names.
//! 2. **Gather.** A second read keeps the records of candidate people (or pairs), in the
//!    key set's row format, and judges them exactly on their actual values, in date order.
//!
//! Most people have one record: they are hashed and never read again. A collision of
//! hashes can only add candidates; the judgement uses the values themselves.

use datafusion::common::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow::array::{Array, ArrayRef, AsArray, UInt32Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use arrow::record_batch::RecordBatch;
use datafusion::common::hash_utils::create_hashes;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::logical_expr::{Expr, cast as cast_expr, ident, lit};
use datafusion::physical_plan::execute_stream_partitioned;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use rayon::iter::{
    IndexedParallelIterator, IntoParallelIterator, IntoParallelRefIterator, ParallelIterator,
};
use rayon::slice::ParallelSliceMut;

use super::{HASH, HeldSet, Watchdog, held_set, shared, spill};
use crate::bind::BoundTable;
use crate::checks::history::{self as judgement, Events};
use crate::checks::set::{EndsCheck, Find, HistoryCheck};
use crate::error::{Error, Result};
use crate::plan::keyset::{KeySet, RowValues};
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

/// What a read selects: the key (the second read only), people, pair, the date as an
/// integer, and the two events.
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
    filter: Option<Expr>,
    exprs: Vec<Expr>,
    what: &str,
) -> Result<Vec<datafusion::execution::SendableRecordBatchStream>> {
    let plan = ctx
        .table(table.reference())
        .await
        .and_then(|f| match filter {
            Some(filter) => f.filter(filter),
            None => Ok(f),
        })
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
    events: Events,
}

impl<'b> Rows<'b> {
    fn new(batch: &'b RecordBatch, layout: &'b Layout) -> Rows<'b> {
        Rows {
            batch,
            layout,
            events: Events::new(
                batch
                    .column(layout.date)
                    .as_primitive::<Int64Type>()
                    .clone(),
                batch.column(layout.opens).as_boolean().clone(),
                batch.column(layout.closes).as_boolean().clone(),
            ),
        }
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

    /// The rows' values, and which rows have no NULL among them.
    fn encode(&self, batch: &RecordBatch) -> Result<RowValues> {
        let columns: Vec<ArrayRef> = self
            .at
            .iter()
            .map(|&c| cast_like(batch.column(c)))
            .collect::<Result<_>>()?;
        Ok(RowValues::new(self.set.rows(&columns)?, &columns))
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

/// A value's bytes in a [`Gathered`] arena.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    len: usize,
}

/// The records kept for judging: fixed-size fields per record, values' bytes in one arena.
#[derive(Debug, Default)]
struct Gathered {
    bytes: Vec<u8>,
    keys: Vec<Option<Span>>,
    pairs: Vec<Option<Span>>,
    dates: Vec<Option<i64>>,
    opens: Vec<bool>,
    closes: Vec<bool>,
    /// Per record, for each `of` column: the person's value and its hash.
    people: Vec<Option<(Span, u64)>>,
    /// Pair hashes, per record.
    pair_hashes: Vec<Option<u64>>,
    width: usize,
}

impl Gathered {
    fn new(width: usize) -> Gathered {
        Gathered {
            width,
            ..Gathered::default()
        }
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn store(&mut self, value: Option<&[u8]>) -> Option<Span> {
        value.map(|v| {
            let start = self.bytes.len();
            self.bytes.extend_from_slice(v);
            Span {
                start,
                len: v.len(),
            }
        })
    }

    fn value(&self, span: Span) -> &[u8] {
        &self.bytes[span.start..span.start + span.len]
    }

    fn person(&self, record: usize, role: usize) -> Option<(Span, u64)> {
        self.people[record * self.width + role]
    }

    /// Bytes held, roughly (for the memory pool).
    fn size(&self) -> usize {
        self.bytes.capacity() + self.len() * (64 + self.width * 32)
    }

    /// Append `other`'s records.
    fn append(&mut self, other: Gathered) {
        let shift = self.bytes.len();
        let moved = |s: Option<Span>| {
            s.map(|s| Span {
                start: s.start + shift,
                len: s.len,
            })
        };
        self.bytes.extend_from_slice(&other.bytes);
        self.keys.extend(other.keys.into_iter().map(moved));
        self.pairs.extend(other.pairs.into_iter().map(moved));
        self.people.extend(
            other
                .people
                .into_iter()
                .map(|p| p.map(|(s, h)| (moved(Some(s)).unwrap_or(s), h))),
        );
        self.dates.extend(other.dates);
        self.opens.extend(other.opens);
        self.closes.extend(other.closes);
        self.pair_hashes.extend(other.pair_hashes);
    }
}

/// Whether two `history` rules read the same columns and events, and can share their reads.
pub fn same_reads(a: &HistoryCheck, b: &HistoryCheck) -> bool {
    let names = |c: &[BoundColumn]| c.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    names(&a.of) == names(&b.of)
        && names(&a.pair) == names(&b.pair)
        && a.date.name == b.date.name
        && a.opens == b.opens
        && a.closes == b.closes
}

/// Whether two `ends` read the same events.
fn same_ends(a: &EndsCheck, b: &EndsCheck) -> bool {
    a.table == b.table && a.person.name == b.person.name && a.date.name == b.date.name
}

/// The anomalous keys of `history` rules that share their reads ([`same_reads`]), each with
/// its share of the pool. `None` when the hashes or records do not fit the pool (the caller
/// then runs the rules' plans). The set engine shares the hash read with other stages
/// ([`hash_stage`]); this is the read alone.
pub async fn anomalous(
    ctx: &SessionContext,
    table: &BoundTable,
    key: &[BoundColumn],
    checks: &[&HistoryCheck],
    names: &[String],
    watchdog: &Watchdog,
) -> Result<Option<Vec<(KeySet, MemoryReservation)>>> {
    let what = names.join(", ");
    let Some(stage) = hash_stage(ctx, checks, &what) else {
        return Ok(Some(Vec::new()));
    };
    let (stage, hashes) = stage;
    let stages = [stage];
    let read = shared::read(ctx, table, &table.source.files, &stages, &what, watchdog);
    if !watchdog.watch(&what, read).await?[0] {
        return Ok(None);
    }
    judged(
        ctx,
        &table.table_ref(),
        key,
        checks,
        names,
        watchdog,
        &hashes,
    )
    .await
}

/// What the hash read gathers for a group of `history` rules, partition by partition: per
/// find, the hashes of the people (or pairs) of its relevant records, with their share of
/// the pool.
pub type PeopleHashes = shared::Handed<(Vec<Vec<u64>>, MemoryReservation)>;

/// One partition's share of the hash read.
struct PeopleConsumer {
    layout: Arc<Layout>,
    finds: Arc<Vec<Find>>,
    hashes: Vec<Vec<u64>>,
    reservation: MemoryReservation,
    what: String,
    into: Arc<PeopleHashes>,
}

impl shared::Consumer for PeopleConsumer {
    fn batch(&mut self, _file: &str, batch: &RecordBatch) -> Result<()> {
        let rows = Rows::new(batch, &self.layout);
        let people = rows.people()?;
        let pairs = rows.hashes(&self.layout.pair)?;
        let mut added = 0;
        for (find, out) in self.finds.iter().zip(&mut self.hashes) {
            let before = out.len();
            match find {
                Find::NotLatest | Find::Overlap => {
                    for column in &people {
                        for (i, h) in column.iter().enumerate() {
                            let counts = rows.events.date(i).is_some()
                                && (*find == Find::NotLatest || rows.events.opens(i));
                            if let (true, Some(h)) = (counts, h) {
                                out.push(*h);
                            }
                        }
                    }
                }
                Find::CloseWithoutOpen => {
                    for (i, h) in pairs.iter().enumerate() {
                        if let (true, Some(h)) = (rows.events.closes(i), h) {
                            out.push(*h);
                        }
                    }
                }
            }
            added += out.len() - before;
        }
        self.reservation
            .try_grow(added * 8)
            .map_err(|_| Error::Memory {
                what: self.what.clone(),
                message: "its hashes do not fit --memory-limit".into(),
            })
    }

    fn finish(self: Box<Self>) {
        let me = *self;
        me.into.hand((me.hashes, me.reservation));
    }
}

/// Read 1's stage for `history` rules that share their reads ([`same_reads`]), and where
/// its hashes go; `None` without rules.
pub fn hash_stage(
    ctx: &SessionContext,
    checks: &[&HistoryCheck],
    what: &str,
) -> Option<(shared::Stage, Arc<PeopleHashes>)> {
    let check = checks.first()?;
    let (exprs, layout) = selection(&[], check);
    let finds: Arc<Vec<Find>> = Arc::new(checks.iter().map(|c| c.find).collect());
    let (layout, hashes) = (Arc::new(layout), Arc::new(PeopleHashes::default()));
    let into = Arc::clone(&hashes);
    let pool = Arc::clone(&ctx.state().runtime_env().memory_pool);
    let what = what.to_string();
    let stage = shared::Stage {
        exprs,
        files: None,
        consumer: Box::new(move || {
            Box::new(PeopleConsumer {
                layout: Arc::clone(&layout),
                hashes: vec![Vec::new(); finds.len()],
                finds: Arc::clone(&finds),
                reservation: MemoryConsumer::new(format!("qc history hashes ({what})"))
                    .register(&pool),
                what: what.clone(),
                into: Arc::clone(&into),
            })
        }),
    };
    Some((stage, hashes))
}

/// The anomalous keys of `checks` (see [`anomalous`]) from their hash read's `hashes`: the
/// candidates, then their records gathered and judged, chunk by chunk.
pub async fn judged(
    ctx: &SessionContext,
    table: &TableRef,
    key: &[BoundColumn],
    checks: &[&HistoryCheck],
    names: &[String],
    watchdog: &Watchdog,
    hashes: &PeopleHashes,
) -> Result<Option<Vec<(KeySet, MemoryReservation)>>> {
    let what = names.join(", ");
    let finds: Vec<Find> = checks.iter().map(|c| c.find).collect();
    let Some(check) = checks.first() else {
        return Ok(Some(Vec::new()));
    };
    let parts = hashes.take();
    let work = async {
        let candidates = candidates(parts, &finds).await?;
        let events = candidates.iter().map(|(_, e)| e).sum();
        let candidates: Arc<Vec<Candidates>> = Arc::new(
            candidates
                .into_iter()
                .map(|(c, _)| Candidates::new(c))
                .collect(),
        );
        let (exprs, layout) = selection(key, check);
        let state = ctx.state();
        let mut held: Vec<HeldSet> = names
            .iter()
            .map(|name| held_set(&state, key, name))
            .collect::<Result<_>>()?;
        let wanted = Wanted {
            layout: Arc::new(layout),
            finds: Arc::new(finds.clone()),
            candidates: Arc::clone(&candidates),
        };
        let of = chunks(ctx, events);
        watchdog.chunks.fetch_add(of, Ordering::Relaxed);
        // Several chunks: one read writes each chunk's records to a file of its own.
        let spilled = if of > 1 {
            partition(ctx, table, exprs.clone(), &wanted, of, &what, watchdog).await?
        } else {
            Vec::new()
        };
        for index in 0..of {
            let chunk = Chunk { index, of };
            let source = if of > 1 {
                Source::Spilled(&spilled)
            } else {
                Source::Table(table)
            };
            let gathered = gather(
                ctx,
                source,
                exprs.clone(),
                &wanted,
                (key, check),
                chunk,
                &what,
                watchdog,
            )
            .await;
            let (records, mut reservations) = match gathered {
                Ok(r) => r,
                Err(Error::Memory { .. }) => return Ok(None),
                Err(e) => return Err(e),
            };
            // Each check's ending events (one read per distinct `ends`).
            let mut ends: Vec<(EndsCheck, Arc<Ended>)> = Vec::new();
            let mut ended_of: Vec<Arc<Ended>> = Vec::with_capacity(checks.len());
            for c in checks {
                let Some(e) = &c.ends else {
                    ended_of.push(Arc::new(Ended::default()));
                    continue;
                };
                if let Some((_, read)) = ends.iter().find(|(other, _)| same_ends(e, other)) {
                    ended_of.push(Arc::clone(read));
                    continue;
                }
                let read = match ended(ctx, e, check, &records, &what, watchdog).await {
                    Ok((ended, reservation)) => {
                        reservations.push(reservation);
                        Arc::new(ended)
                    }
                    Err(Error::Memory { .. }) => return Ok(None),
                    Err(e) => return Err(e),
                };
                ends.push((e.clone(), Arc::clone(&read)));
                ended_of.push(read);
            }
            let (finds, candidates) = (finds.clone(), Arc::clone(&candidates));
            let (records, found) = tokio::task::spawn_blocking(move || {
                // The finds side by side, each on every core.
                let found: Vec<Vec<usize>> = finds
                    .par_iter()
                    .zip(candidates.par_iter())
                    .zip(ended_of.par_iter())
                    .map(|((find, candidates), ended)| {
                        judge(*find, &records, chunk, candidates, ended)
                    })
                    .collect();
                (records, found)
            })
            .await
            .map_err(|e| Error::Internal(format!("judging histories failed: {e}")))?;
            for (held, found) in held.iter_mut().zip(found) {
                for r in found {
                    if let Some(k) = records.keys[r] {
                        held.insert(records.value(k))?;
                    }
                }
            }
            drop(reservations);
        }
        Ok(Some(held.into_iter().map(HeldSet::into_parts).collect()))
    };
    watchdog.watch(&what, work).await
}

/// From read 1's hashes: per find, the hashes of the people (or pairs) whose records must
/// be judged, and about how many records that is.
async fn candidates(
    parts: Vec<(Vec<Vec<u64>>, MemoryReservation)>,
    finds: &[Find],
) -> Result<Vec<(HashSet<u64>, usize)>> {
    let finds = finds.to_vec();
    let mut per_find: Vec<Vec<Vec<u64>>> = vec![Vec::new(); finds.len()];
    let mut reservations = Vec::new();
    for (part, reservation) in parts {
        for (lists, part) in per_find.iter_mut().zip(part) {
            lists.push(part);
        }
        reservations.push(reservation);
    }
    let candidates = tokio::task::spawn_blocking(move || {
        per_find
            .into_iter()
            .map(super::shared::concat)
            .zip(finds.iter())
            .map(|(mut hashes, find)| {
                if *find == Find::CloseWithoutOpen {
                    // Each closing record, and about as many opening records of its pair.
                    let events = 2 * hashes.len();
                    return (hashes.into_iter().collect::<HashSet<u64>>(), events);
                }
                hashes.par_sort_unstable();
                let mut candidates = HashSet::new();
                let mut events = 0;
                for run in hashes.chunk_by(|a, b| a == b).filter(|run| run.len() > 1) {
                    candidates.insert(run[0]);
                    events += run.len();
                }
                (candidates, events)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| Error::Internal(format!("sorting history hashes failed: {e}")))?;
    drop(reservations);
    Ok(candidates)
}

/// One find's candidates (hashes of people or pairs), with a filter in front of them.
///
/// Read 2 asks for every row whether its people are candidates, and most are not (people
/// with one record). The hash set of millions of candidates is far larger than the CPU's
/// caches, so each such question cost a miss or two to memory: in a 10M-row marriage audit
/// these lookups were the largest cost of the history rules. The filter is a 64-bit word
/// per 4 candidates with two bits of each candidate's hash set in one word: a question reads
/// one word from a table an eighth the size of the set, and only a hash whose two bits are
/// both set (every candidate, and a few in a hundred others) is looked up in the set.
struct Candidates {
    set: HashSet<u64>,
    words: Vec<u64>,
}

impl Candidates {
    fn new(set: HashSet<u64>) -> Candidates {
        let mut words = vec![0u64; (set.len() / 4).max(1).next_power_of_two()];
        for &h in &set {
            let (word, bits) = slot(h, words.len());
            words[word] |= bits;
        }
        Candidates { set, words }
    }

    fn contains(&self, h: u64) -> bool {
        self.passes_filter(h) && self.set.contains(&h)
    }

    /// Whether `h` gets past the filter to the set: every candidate does, and a few others.
    fn passes_filter(&self, h: u64) -> bool {
        let (word, bits) = slot(h, self.words.len());
        self.words[word] & bits == bits
    }

    fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

/// The word (of `words`, a power of two) of hash `h` in a [`Candidates`] filter, chosen by
/// the hash's high half, and its two bits in it, chosen by bits 20–31.
fn slot(h: u64, words: usize) -> (usize, u64) {
    let word = usize::try_from(h >> 32).unwrap_or(0) & (words - 1);
    let bits = (1u64 << ((h >> 20) & 63)) | (1u64 << ((h >> 26) & 63));
    (word, bits)
}

/// Bytes a gathered record takes while it is judged (its values, fixed fields and sort
/// entries), a generous estimate.
const RECORD_BYTES: usize = 320;

/// In how many chunks the candidates are gathered and judged so that one chunk's records
/// fit half of what the pool has left: the people (or pairs) are split by their hash, and
/// each is judged whole in its own chunk.
fn chunks(ctx: &SessionContext, events: usize) -> u64 {
    let pool = Arc::clone(&ctx.state().runtime_env().memory_pool);
    let datafusion::execution::memory_pool::MemoryLimit::Finite(limit) = pool.memory_limit() else {
        return 1;
    };
    let budget = (limit.saturating_sub(pool.reserved()) / 2).max(1);
    u64::try_from((events * RECORD_BYTES).div_ceil(budget).max(1)).unwrap_or(u64::MAX)
}

/// One chunk of the candidates: those whose hash is `index` modulo `of`.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    index: u64,
    of: u64,
}

impl Chunk {
    /// The chunk (of `of`) of a person's or pair's hash.
    fn of_hash(hash: u64, of: u64) -> u64 {
        hash % of
    }

    fn holds(self, hash: u64) -> bool {
        Chunk::of_hash(hash, self.of) == self.index
    }
}

/// The chunks (of `of`) in which record `i` of `rows` is judged by `find`, pushed to `out`:
/// a candidate person's record in its person's chunk (`not_latest`, `overlap`; a record of
/// two candidates may be judged in two chunks); a closing record, or an opening record of a
/// candidate pair, in its pair's chunk (`close_without_open`; a closing record without a
/// pair goes to the first chunk).
#[allow(clippy::too_many_arguments)]
fn chunks_of(
    find: Find,
    rows: &Rows<'_>,
    people: &[Vec<Option<u64>>],
    pairs: &[Option<u64>],
    i: usize,
    of: u64,
    candidates: &Candidates,
    out: &mut Vec<u64>,
) {
    match find {
        Find::NotLatest | Find::Overlap => {
            for p in people {
                if let Some(h) = p[i].filter(|&h| candidates.contains(h)) {
                    out.push(Chunk::of_hash(h, of));
                }
            }
        }
        Find::CloseWithoutOpen => {
            if rows.events.closes(i)
                || (rows.events.opens(i) && pairs[i].is_some_and(|h| candidates.contains(h)))
            {
                out.push(pairs[i].map_or(0, |h| Chunk::of_hash(h, of)));
            }
        }
    }
}

/// What selects a chunk's records: the finds and their candidates.
#[derive(Clone)]
struct Wanted {
    layout: Arc<Layout>,
    finds: Arc<Vec<Find>>,
    candidates: Arc<Vec<Candidates>>,
}

/// A batch's hashes per row: each person column's, and the pair's.
struct Hashed {
    people: Vec<Vec<Option<u64>>>,
    pairs: Vec<Option<u64>>,
}

impl Wanted {
    fn hashed(&self, rows: &Rows<'_>) -> Result<Hashed> {
        Ok(Hashed {
            people: rows.people()?,
            pairs: rows.hashes(&self.layout.pair)?,
        })
    }

    /// Call `each(row, chunk)` for every row of `rows` (hashed as `hashed`) and every chunk
    /// (of `of`) that judges it, each pair once, rows in order.
    fn each(&self, rows: &Rows<'_>, hashed: &Hashed, of: u64, mut each: impl FnMut(usize, u64)) {
        let mut chunks = Vec::new();
        for i in 0..rows.batch.num_rows() {
            chunks.clear();
            for (find, c) in self.finds.iter().zip(self.candidates.iter()) {
                chunks_of(
                    *find,
                    rows,
                    &hashed.people,
                    &hashed.pairs,
                    i,
                    of,
                    c,
                    &mut chunks,
                );
            }
            chunks.sort_unstable();
            chunks.dedup();
            for &c in &chunks {
                each(i, c);
            }
        }
    }
}

/// Keeps, batch by batch, the records a chunk judges, in the key set's row format.
struct Keeper {
    wanted: Wanted,
    chunk: Chunk,
    key: Encoder,
    people: Vec<Encoder>,
    pair: Encoder,
    kept: Gathered,
    reservation: MemoryReservation,
    what: String,
}

impl Keeper {
    fn new(
        wanted: Wanted,
        chunk: Chunk,
        (key, check): (&[BoundColumn], &HistoryCheck),
        reservation: MemoryReservation,
        what: String,
    ) -> Result<Keeper> {
        let layout = &wanted.layout;
        let people = check
            .of
            .iter()
            .zip(&layout.of)
            .map(|(c, &at)| Encoder::new(std::slice::from_ref(c), vec![at]))
            .collect::<Result<_>>()?;
        Ok(Keeper {
            key: Encoder::new(key, layout.key.clone())?,
            people,
            pair: Encoder::new(&check.pair, layout.pair.clone())?,
            kept: Gathered::new(check.of.len()),
            chunk,
            wanted,
            reservation,
            what,
        })
    }

    /// Keep the rows of `batch` that the chunk judges.
    fn batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let layout = Arc::clone(&self.wanted.layout);
        let rows = Rows::new(batch, &layout);
        let hashed = self.wanted.hashed(&rows)?;
        let Chunk { index, of } = self.chunk;
        let mut picked: Vec<u32> = Vec::new();
        self.wanted.each(&rows, &hashed, of, |i, c| {
            if c == index {
                picked.push(u32::try_from(i).unwrap_or(u32::MAX));
            }
        });
        if picked.is_empty() {
            return Ok(());
        }
        // Only the wanted rows are encoded.
        let picked = UInt32Array::from(picked);
        let taken = arrow::compute::take_record_batch(batch, &picked)
            .map_err(|e| Error::Internal(format!("history: {e}")))?;
        self.keep(&rows, &hashed, &picked, &taken)
    }

    /// Keep every row of `batch`, a batch of the chunk's own file ([`partition`]): each of
    /// its rows was written there because the chunk judges it, so it is not looked up again.
    fn whole(&mut self, batch: &RecordBatch) -> Result<()> {
        let layout = Arc::clone(&self.wanted.layout);
        let rows = Rows::new(batch, &layout);
        let hashed = self.wanted.hashed(&rows)?;
        let n = u32::try_from(batch.num_rows()).unwrap_or(u32::MAX);
        let picked = UInt32Array::from_iter_values(0..n);
        self.keep(&rows, &hashed, &picked, batch)
    }

    /// Store rows `picked` of `rows` (hashed as `hashed`), whose columns `taken` holds in
    /// that order.
    fn keep(
        &mut self,
        rows: &Rows<'_>,
        hashed: &Hashed,
        picked: &UInt32Array,
        taken: &RecordBatch,
    ) -> Result<()> {
        let keys = self.key.encode(taken)?;
        let people_values: Vec<RowValues> = self
            .people
            .iter()
            .map(|e| e.encode(taken))
            .collect::<Result<_>>()?;
        let pairs = self.pair.encode(taken)?;
        let kept = &mut self.kept;
        let before = kept.size();
        for (j, &i) in picked.values().iter().enumerate() {
            let i = usize::try_from(i).unwrap_or(usize::MAX);
            let k = kept.store(keys.get(j));
            kept.keys.push(k);
            let p = kept.store(pairs.get(j));
            kept.pairs.push(p);
            kept.pair_hashes.push(hashed.pairs[i]);
            kept.dates.push(rows.events.date(i));
            kept.opens.push(rows.events.opens(i));
            kept.closes.push(rows.events.closes(i));
            for (values, hashes) in people_values.iter().zip(&hashed.people) {
                let span = kept.store(values.get(j));
                kept.people.push(span.zip(hashes[i]));
            }
        }
        self.reservation
            .try_grow(kept.size().saturating_sub(before))
            .map_err(|_| Error::Memory {
                what: self.what.clone(),
                message: "the records to judge do not fit --memory-limit".into(),
            })
    }

    fn done(self) -> (Gathered, MemoryReservation) {
        (self.kept, self.reservation)
    }
}

/// Where read 2 finds a chunk's records: the table itself (one chunk), or, when the
/// candidates are judged in several chunks, the files one read of the table wrote per chunk
/// ([`partition`]), so that the table is not read again for each chunk.
enum Source<'a> {
    Table(&'a TableRef),
    Spilled(&'a [spill::Spilled]),
}

/// Read 2: the records the finds judge in `chunk` (see [`chunks_of`]), read once for all of them.
#[allow(clippy::too_many_arguments)]
async fn gather(
    ctx: &SessionContext,
    source: Source<'_>,
    exprs: Vec<Expr>,
    wanted: &Wanted,
    columns: (&[BoundColumn], &HistoryCheck),
    chunk: Chunk,
    what: &str,
    watchdog: &Watchdog,
) -> Result<(Gathered, Vec<MemoryReservation>)> {
    let width = columns.1.of.len();
    let nothing = wanted
        .finds
        .iter()
        .zip(wanted.candidates.iter())
        .all(|(f, c)| c.is_empty() && *f != Find::CloseWithoutOpen);
    if nothing {
        return Ok((Gathered::new(width), Vec::new()));
    }
    let pool = Arc::clone(&ctx.state().runtime_env().memory_pool);
    let keeper = |what: &str| {
        let reservation =
            MemoryConsumer::new(format!("qc history records ({what})")).register(&pool);
        Keeper::new(
            wanted.clone(),
            chunk,
            columns,
            reservation,
            what.to_string(),
        )
    };
    let mut tasks = tokio::task::JoinSet::new();
    match source {
        Source::Table(table) => {
            watchdog.read_started();
            for mut stream in read(ctx, table, None, exprs, what).await? {
                let mut keeper = keeper(what)?;
                let (progress, what) = (watchdog.counter(), what.to_string());
                tasks.spawn(async move {
                    while let Some(batch) = stream.next().await {
                        let batch = batch.map_err(|e| Error::engine(&what, e))?;
                        progress.fetch_add(1, Ordering::Relaxed);
                        keeper.batch(&batch)?;
                    }
                    Ok::<_, Error>(keeper.done())
                });
            }
        }
        Source::Spilled(files) => {
            for file in files.iter().filter(|f| f.part == chunk.index) {
                let mut keeper = keeper(what)?;
                let (progress, file) = (watchdog.counter(), file.clone());
                tasks.spawn_blocking(move || {
                    file.read(|batch| {
                        progress.fetch_add(1, Ordering::Relaxed);
                        keeper.whole(&batch)
                    })?;
                    Ok::<_, Error>(keeper.done())
                });
            }
        }
    }
    let mut parts = Vec::new();
    let mut reservations = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (part, reservation) =
            joined.map_err(|e| Error::Internal(format!("history task failed: {e}")))??;
        parts.push(part);
        reservations.push(reservation);
    }
    let all = super::shared::into_largest(parts, Gathered::size, Gathered::append)
        .unwrap_or_else(|| Gathered::new(width));
    Ok((all, reservations))
}

/// One read of the table that writes each of `of` chunks' records (see [`chunks_of`]) to
/// files of their own, for [`gather`] to judge chunk by chunk.
async fn partition(
    ctx: &SessionContext,
    table: &TableRef,
    exprs: Vec<Expr>,
    wanted: &Wanted,
    of: u64,
    what: &str,
    watchdog: &Watchdog,
) -> Result<Vec<spill::Spilled>> {
    let disk = Arc::clone(&ctx.runtime_env().disk_manager);
    let mut tasks = tokio::task::JoinSet::new();
    watchdog.read_started();
    for mut stream in read(ctx, table, None, exprs, what).await? {
        let wanted = wanted.clone();
        let (progress, what) = (watchdog.counter(), what.to_string());
        let mut spilling = spill::Parts::new(&disk, of, "qc history records");
        tasks.spawn(async move {
            let mut rows: Vec<Vec<u32>> = vec![Vec::new(); spilling.count()];
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| Error::engine(&what, e))?;
                progress.fetch_add(1, Ordering::Relaxed);
                let read = Rows::new(&batch, &wanted.layout);
                wanted.each(&read, &wanted.hashed(&read)?, of, |i, c| {
                    let at = usize::try_from(c).unwrap_or(usize::MAX);
                    rows[at].push(u32::try_from(i).unwrap_or(u32::MAX));
                });
                for (c, rows) in rows.iter_mut().enumerate() {
                    if rows.is_empty() {
                        continue;
                    }
                    let taken = arrow::compute::take_record_batch(
                        &batch,
                        &UInt32Array::from(std::mem::take(rows)),
                    )
                    .map_err(|e| Error::Internal(format!("history: {e}")))?;
                    spilling.write(c as u64, &taken)?;
                }
            }
            spilling.finish()
        });
    }
    let mut files = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        files.extend(joined.map_err(|e| Error::Internal(format!("history task failed: {e}")))??);
    }
    Ok(files)
}

/// The earliest ending event (a death) of each person of the gathered opening records, by
/// the person's value in the key set's row format.
#[derive(Debug, Default)]
struct Ended(HashMap<Box<[u8]>, i64>);

impl Ended {
    /// Whether one of `record`'s people had an ending event on or before `to`.
    fn ends(&self, records: &Gathered, record: usize, to: i64) -> bool {
        !self.0.is_empty()
            && (0..records.width).any(|role| {
                records.person(record, role).is_some_and(|(span, _)| {
                    self.0
                        .get(records.value(span))
                        .is_some_and(|&date| date <= to)
                })
            })
    }
}

/// Read 3 (`ends` only): the ending events of the people of `records`' opening records,
/// read from the `ends` table once, on every core; each person's earliest.
async fn ended(
    ctx: &SessionContext,
    ends: &EndsCheck,
    check: &HistoryCheck,
    records: &Gathered,
    what: &str,
    watchdog: &Watchdog,
) -> Result<(Ended, MemoryReservation)> {
    let pool = Arc::clone(&ctx.state().runtime_env().memory_pool);
    let reservation = MemoryConsumer::new(format!("qc history ends ({what})")).register(&pool);
    let mut people: HashSet<&[u8]> = HashSet::new();
    for r in (0..records.len()).filter(|&r| records.opens[r]) {
        for role in 0..records.width {
            if let Some((span, _)) = records.person(r, role) {
                people.insert(records.value(span));
            }
        }
    }
    if people.is_empty() {
        return Ok((Ended::default(), reservation));
    }
    let wanted: Arc<HashSet<Box<[u8]>>> = Arc::new(people.into_iter().map(Box::from).collect());
    let bytes = |set: &HashSet<Box<[u8]>>| set.iter().map(|v| v.len() + 48).sum::<usize>();
    reservation
        .try_grow(bytes(&wanted))
        .map_err(|_| Error::Memory {
            what: what.to_string(),
            message: "the people whose ending events are looked up do not fit --memory-limit"
                .into(),
        })?;
    let filter = crate::checks::set::applicable(std::slice::from_ref(&ends.person), None)
        .and(ident(&ends.date.name).is_not_null());
    // The events' dates in the history date's unit (a timestamp read as its day when the
    // history is dated by day), so that the two compare as the reference SQL compares them.
    let exprs = vec![
        ident(&ends.person.name),
        cast_expr(
            cast_expr(ident(&ends.date.name), check.date.arrow.clone()),
            DataType::Int64,
        ),
    ];
    // Values encoded as the `of` columns' are, so that equal people have equal bytes.
    let like = check.of[0].clone();
    let mut tasks = tokio::task::JoinSet::new();
    watchdog.read_started();
    for mut stream in read(ctx, &ends.table, Some(filter), exprs, what).await? {
        let (wanted, like) = (Arc::clone(&wanted), like.clone());
        let (progress, what) = (watchdog.counter(), what.to_string());
        tasks.spawn(async move {
            let encoder = Encoder::new(std::slice::from_ref(&like), vec![0])?;
            let mut found: HashMap<Box<[u8]>, i64> = HashMap::new();
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| Error::engine(&what, e))?;
                progress.fetch_add(1, Ordering::Relaxed);
                let people = encoder.encode(&batch)?;
                let dates = batch.column(1).as_primitive::<Int64Type>();
                for i in 0..batch.num_rows() {
                    let (Some(person), true) = (people.get(i), dates.is_valid(i)) else {
                        continue;
                    };
                    if !wanted.contains(person) {
                        continue;
                    }
                    let date = dates.value(i);
                    found
                        .entry(Box::from(person))
                        .and_modify(|d| *d = (*d).min(date))
                        .or_insert(date);
                }
            }
            Ok::<_, Error>(found)
        });
    }
    let mut all: HashMap<Box<[u8]>, i64> = HashMap::new();
    while let Some(joined) = tasks.join_next().await {
        let part = joined.map_err(|e| Error::Internal(format!("history task failed: {e}")))??;
        for (person, date) in part {
            all.entry(person)
                .and_modify(|d| *d = (*d).min(date))
                .or_insert(date);
        }
    }
    // The people looked up are let go; the events found are held while judging.
    let held: usize = all.keys().map(|v| v.len() + 56).sum();
    reservation.resize(held);
    Ok((Ended(all), reservation))
}

/// A person's hash, one of their records, and their value.
type Entry = (u64, usize, Span);

/// The anomalous records among `records` (all of those of the chunk's people or pairs):
/// their indexes, each once. Records of people outside the chunk are there only as the
/// other party of a chunk's person: they are judged in their own chunk.
fn judge(
    find: Find,
    records: &Gathered,
    chunk: Chunk,
    candidates: &Candidates,
    ended: &Ended,
) -> Vec<usize> {
    let n = records.len();
    let mut anomalous = vec![false; n];
    match find {
        Find::NotLatest | Find::Overlap => {
            // (person hash, record, person value) for each record's people, grouped by hash.
            let mut entries: Vec<Entry> = Vec::new();
            for r in 0..n {
                let relevant = records.dates[r].is_some()
                    && (find == Find::NotLatest || records.opens[r] || records.closes[r]);
                if !relevant {
                    continue;
                }
                for role in 0..records.width {
                    // Only the find's own candidates: their records are all here.
                    if let Some((span, h)) = records.person(r, role)
                        && chunk.holds(h)
                        && candidates.contains(h)
                    {
                        entries.push((h, r, span));
                    }
                }
            }
            entries.par_sort_unstable_by_key(|e| e.0);
            // People are independent: slices of whole groups are judged on every core.
            let found: Vec<Vec<usize>> = group_slices(&entries, slices(), |e| e.0)
                .into_par_iter()
                .map(|slice| judge_people(find, records, slice, ended))
                .collect();
            for r in found.into_iter().flatten() {
                anomalous[r] = true;
            }
        }
        Find::CloseWithoutOpen => {
            // The chunk's pairs (records gathered for another find may hold others).
            let mut entries: Vec<(u64, usize)> = (0..n)
                .filter(|&r| records.opens[r] || records.closes[r])
                .filter_map(|r| records.pair_hashes[r].map(|h| (h, r)))
                .filter(|&(h, _)| chunk.holds(h))
                .collect();
            entries.par_sort_unstable_by_key(|e| e.0);
            // Pairs are independent: slices of whole groups are judged on every core.
            let opened: Vec<Vec<usize>> = group_slices(&entries, slices(), |e| e.0)
                .into_par_iter()
                .map(|slice| opened_closings(records, slice))
                .collect();
            let mut has_open = vec![false; n];
            for c in opened.into_iter().flatten() {
                has_open[c] = true;
            }
            let in_chunk =
                |r: usize| records.pair_hashes[r].map_or(chunk.index == 0, |h| chunk.holds(h));
            for r in (0..n).filter(|&r| records.closes[r] && in_chunk(r)) {
                anomalous[r] = !has_open[r];
            }
        }
    }
    (0..n).filter(|&r| anomalous[r]).collect()
}

/// The closing records among `entries` ((pair hash, record), sorted by hash, whole groups of
/// one hash) that an opening record of their own pair precedes or shares a date with.
fn opened_closings(records: &Gathered, entries: &[(u64, usize)]) -> Vec<usize> {
    let mut opened = Vec::new();
    let mut ids = Vec::new();
    for group in entries.chunk_by(|a, b| a.0 == b.0) {
        ids.clear();
        ids.extend(group.iter().map(|e| e.1));
        judgement::opened(records, &ids, &mut opened);
    }
    opened
}

/// How many slices a judgement is cut into: a few per core, so that one slice of large
/// groups does not leave the other cores idle.
fn slices() -> usize {
    4 * rayon::current_num_threads()
}

/// `entries` (sorted by `hash`) cut into about `parts` slices, never inside a group of one hash.
fn group_slices<T>(entries: &[T], parts: usize, hash: impl Fn(&T) -> u64) -> Vec<&[T]> {
    let target = entries.len().div_ceil(parts.max(1)).max(1);
    let mut slices = Vec::new();
    let mut rest = entries;
    while !rest.is_empty() {
        let mut end = target.min(rest.len());
        while end < rest.len() && hash(&rest[end]) == hash(&rest[end - 1]) {
            end += 1;
        }
        let (slice, tail) = rest.split_at(end);
        slices.push(slice);
        rest = tail;
    }
    slices
}

/// The anomalous records among the people of `entries` (whole groups of one hash each).
fn judge_people(find: Find, records: &Gathered, entries: &[Entry], ended: &Ended) -> Vec<usize> {
    let mut anomalous = Vec::new();
    let mut ids: Vec<usize> = Vec::new();
    let mut judge_person = |ids: &[usize]| match find {
        Find::NotLatest => judgement::not_latest(records, ids, &mut anomalous),
        _ => judgement::overlap(
            records,
            ids,
            |r, to| ended.ends(records, r, to),
            &mut anomalous,
        ),
    };
    for group in entries.chunk_by(|a, b| a.0 == b.0) {
        let first = records.value(group[0].2);
        if group.iter().all(|e| records.value(e.2) == first) {
            // One hash, one person: the usual case.
            ids.clear();
            ids.extend(group.iter().map(|e| e.1));
            judge_person(&ids);
            continue;
        }
        // Different people with one hash: split by the values themselves.
        let mut rest: Vec<&Entry> = group.iter().collect();
        while let Some(head) = rest.first() {
            let person = records.value(head.2);
            let (same, other): (Vec<&Entry>, Vec<&Entry>) =
                rest.into_iter().partition(|e| records.value(e.2) == person);
            ids.clear();
            ids.extend(same.iter().map(|e| e.1));
            judge_person(&ids);
            rest = other;
        }
    }
    anomalous
}

impl judgement::Records for Gathered {
    fn date(&self, r: usize) -> Option<i64> {
        self.dates[r]
    }

    fn opens(&self, r: usize) -> bool {
        self.opens[r]
    }

    fn closes(&self, r: usize) -> bool {
        self.closes[r]
    }

    fn pair(&self, r: usize) -> Option<&[u8]> {
        self.pairs[r].map(|s| self.value(s))
    }

    /// Keys are held in arrow's row format, whose bytes sort as the values do.
    fn key(&self, r: usize) -> Option<&[u8]> {
        self.keys[r].map(|s| self.value(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn candidates_answer_as_their_set_and_the_filter_turns_most_others_away() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let set: HashSet<u64> = (0..100_000).map(|_| rng.random()).collect();
        let candidates = Candidates::new(set.clone());
        assert!(set.iter().all(|&h| candidates.contains(h)));
        let others: Vec<u64> = (0..1_000_000)
            .map(|_| rng.random())
            .filter(|h| !set.contains(h))
            .collect();
        assert!(others.iter().all(|&h| !candidates.contains(h)));
        // Past the filter (to the set) go every candidate and few others.
        let passed = others
            .iter()
            .filter(|&&h| candidates.passes_filter(h))
            .count();
        assert!(
            passed < others.len() / 20,
            "{passed} of {} passed",
            others.len()
        );
        assert!(!Candidates::new(HashSet::new()).contains(0));
        assert!(Candidates::new(HashSet::new()).is_empty());
    }
}
