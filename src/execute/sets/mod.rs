//! Before a table's pass: every set-based rule's anomalous tuples, held as a [`KeySet`] that
//! the pass tests each row against.
//!
//! - Rules with a [`Native`] form are computed by qc's own engine: `unique` ([`hashed`], all of
//!   a table's together) and `history` ([`history`]). Both hash the columns they need on
//!   every core, take as candidates the hashes seen more than once, and judge only the
//!   candidates, on their actual values, in a second read. Their hashing is one read of the
//!   table for all of them ([`shared`]).
//! - The others run their DataFusion key plan ([`plans`]), on every core.
//!
//! Every computation is watched: a plan that makes no progress for the stall timeout is
//! stopped with an error naming the rule, never left hanging. The anomalous tuples are held
//! in the run's memory pool: a set that does not fit `--memory-limit` is an error naming the
//! rule, not an out-of-memory kill.

pub mod hashed;
pub mod history;
pub mod plans;
pub mod shared;
pub mod spill;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use datafusion::execution::SessionState;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::prelude::SessionContext;

use super::memory::Heartbeat;
use crate::bind::{BoundTable, RuleCheck};
use crate::checks::set::{HistoryCheck, Native};
use crate::error::{Error, Result};
use crate::plan::keyset::KeySet;
use crate::rules::BoundColumn;

/// The hash of key values in both reads of qc's set engine (any fixed seed: a collision only
/// adds a candidate).
const HASH: datafusion::common::hash_utils::RandomState =
    datafusion::common::hash_utils::RandomState::with_seed(0x5e7_5e7);

/// How long a set-based rule may make no progress before it is stopped (`--stall-timeout`).
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_mins(10);

/// The anomalous tuples of a table's set-based rules.
#[derive(Debug, Default)]
pub struct Sets {
    /// Per rule (the table's order): its anomalous tuples, when it is set-based.
    pub keys: Vec<Option<Arc<KeySet>>>,
    /// Per rule: the time its tuples took (rules computed together share their time).
    pub elapsed: Vec<Option<Duration>>,
    /// The tuples' share of the memory pool, held until the pass is done.
    pub reservations: Vec<MemoryReservation>,
    /// How often qc's set engine read the table (each read: the columns it needs, once).
    pub reads: u64,
    /// How many DataFusion key plans ran.
    pub plans: u64,
    /// In how many chunks `history` rules judged their candidates (one per group of rules
    /// sharing their reads, more when the candidates' records do not fit the pool at once).
    pub chunks: u64,
    /// Per rule: what a `unique` rule judged per file holds in each file, and the files
    /// whose flagged rows changed since the previous run.
    pub keyed: Vec<Option<Keyed>>,
}

/// A rule's tuples judged per file (see [`hashed`]).
#[derive(Debug, Default)]
pub struct Keyed {
    pub files: BTreeMap<String, crate::execute::reuse::FileKeys>,
    pub touched: BTreeSet<String>,
}

/// Compute the anomalous tuples of every set-based rule of `table`; `kept`: what `unique`
/// rules reuse of the previous run.
pub async fn compute(
    ctx: &SessionContext,
    table: &BoundTable,
    stall: Duration,
    kept: &hashed::Kept<'_>,
) -> Result<Sets> {
    let n = table.rules.len();
    let mut sets = Sets {
        keys: vec![None; n],
        elapsed: vec![None; n],
        reservations: Vec::new(),
        reads: 0,
        plans: 0,
        chunks: 0,
        keyed: (0..n).map(|_| None).collect(),
    };
    let watchdog = Watchdog::new(ctx, stall);
    let what = |i: usize| format!("rule {} of {}", table.rules[i].id, table.qualified_name());

    let native: Vec<hashed::Duplicates<'_>> = table
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, rule)| match &rule.check {
            RuleCheck::Set(Some(check)) => match &check.native {
                Some(Native::Duplicates { applicable }) => Some(hashed::Duplicates {
                    rule: i,
                    on: &check.on,
                    applicable,
                }),
                _ => None,
            },
            _ => None,
        })
        .collect();
    // History rules reading the same columns share their reads.
    let histories: Vec<(usize, &crate::checks::set::SetCheck, &HistoryCheck)> = table
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, rule)| match &rule.check {
            RuleCheck::Set(Some(check)) => match &check.native {
                Some(Native::History(h)) => Some((i, &**check, &**h)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let mut grouped: Vec<Vec<usize>> = Vec::new();
    for (j, (_, _, h)) in histories.iter().enumerate() {
        match grouped
            .iter_mut()
            .find(|g| history::same_reads(histories[g[0]].2, h))
        {
            Some(g) => g.push(j),
            None => grouped.push(vec![j]),
        }
    }
    let groups: Vec<HistoryGroup<'_>> = grouped
        .iter()
        .map(|g| HistoryGroup {
            rules: g.iter().map(|&j| histories[j].0).collect(),
            checks: g.iter().map(|&j| histories[j].2).collect(),
            names: g.iter().map(|&j| what(histories[j].0)).collect(),
            on: &histories[g[0]].1.on,
        })
        .collect();

    // Read 1, shared: the `unique` rules hash their keys (in the files whose hashes are not
    // kept) and each group of history rules its people, in one read of the table.
    let started = Instant::now();
    let pending = if native.is_empty() {
        None
    } else {
        let names: Vec<String> = native.iter().map(|d| what(d.rule)).collect();
        // `None`: the kept hashes do not fit the pool; the rules' plans below compute them.
        hashed::Pending::new(ctx, table, &native, &names, kept)?
    };
    let mut stages = Vec::new();
    let unique_hashes = match pending.as_ref().and_then(hashed::Pending::stage) {
        Some((stage, hashes)) => {
            stages.push(stage);
            Some(hashes)
        }
        None => None,
    };
    let mut group_hashes = Vec::new();
    for group in &groups {
        if let Some((stage, hashes)) =
            history::hash_stage(ctx, &group.checks, &group.names.join(", "))
        {
            stages.push(stage);
            group_hashes.push(hashes);
        }
    }
    let mut completed = vec![true; stages.len()];
    if !stages.is_empty() {
        // History rules read every file; `unique` rules alone only the files they hash.
        let files = match (&pending, groups.is_empty()) {
            (Some(p), true) => p.to_hash.clone(),
            _ => table.source.files.clone(),
        };
        let mut names: Vec<String> = pending.iter().map(|p| p.what.clone()).collect();
        names.extend(groups.iter().flat_map(|g| g.names.iter().cloned()));
        let names = names.join(", ");
        let read = shared::read(ctx, table, &files, &stages, &names, &watchdog);
        completed = watchdog.watch(&names, read).await?;
    }
    let read_time = started.elapsed();
    let mut completed = completed.into_iter();
    let unique_read = unique_hashes.map(|h| (completed.next().unwrap_or(false), h));
    let groups_read: Vec<(bool, Arc<history::PeopleHashes>)> = group_hashes
        .into_iter()
        .map(|h| (completed.next().unwrap_or(false), h))
        .collect();

    // The stages the shared read completed are judged first. A stage that ran out of memory
    // there (the other stages' hashes held the pool) then reads again alone, as it would
    // have without sharing; only if that fails too do its rules' plans run (below).
    let mut unique_alone = None;
    if let Some(pending) = pending {
        let started = Instant::now();
        let found = match unique_read {
            None => pending.finish(ctx, table, Vec::new(), &watchdog).await?,
            Some((true, hashes)) => pending.finish(ctx, table, hashes.take(), &watchdog).await?,
            Some((false, _)) => {
                unique_alone = Some(pending);
                None
            }
        };
        keep_unique(&mut sets, &native, found, read_time + started.elapsed());
    }
    let mut groups_alone = Vec::new();
    for (group, (done, hashes)) in groups.iter().zip(groups_read) {
        if !done {
            groups_alone.push(group);
            continue;
        }
        let started = Instant::now();
        let found = history::judged(
            ctx,
            &table.table_ref(),
            group.on,
            &group.checks,
            &group.names,
            &watchdog,
            &hashes,
        )
        .await?;
        keep_history(
            &mut sets,
            &group.rules,
            found,
            read_time + started.elapsed(),
        );
    }
    if let Some(pending) = unique_alone {
        let started = Instant::now();
        let found = pending.read_alone(ctx, table, &watchdog).await?;
        keep_unique(&mut sets, &native, found, read_time + started.elapsed());
    }
    for group in groups_alone {
        let started = Instant::now();
        let found =
            history::anomalous(ctx, table, group.on, &group.checks, &group.names, &watchdog)
                .await?;
        keep_history(
            &mut sets,
            &group.rules,
            found,
            read_time + started.elapsed(),
        );
    }

    for (i, rule) in table.rules.iter().enumerate() {
        let RuleCheck::Set(Some(check)) = &rule.check else {
            continue;
        };
        if sets.keys[i].is_some() {
            continue;
        }
        let started = Instant::now();
        let (set, reservation) = plans::anomalous(ctx, check, &what(i), &watchdog).await?;
        sets.keys[i] = Some(Arc::new(set));
        sets.elapsed[i] = Some(started.elapsed());
        sets.reservations.push(reservation);
    }
    sets.reads = watchdog.reads.load(Ordering::Relaxed);
    sets.plans = watchdog.plans.load(Ordering::Relaxed);
    sets.chunks = watchdog.chunks.load(Ordering::Relaxed);
    Ok(sets)
}

/// `history` rules of a table that share their reads ([`history::same_reads`]).
struct HistoryGroup<'t> {
    /// Their positions in the table.
    rules: Vec<usize>,
    checks: Vec<&'t HistoryCheck>,
    names: Vec<String>,
    /// The key of their anomalous tuples.
    on: &'t [BoundColumn],
}

/// The findings of a table's `unique` rules; `None` (they do not fit the pool) leaves them
/// to their plans.
fn keep_unique(
    sets: &mut Sets,
    rules: &[hashed::Duplicates<'_>],
    found: Option<Vec<hashed::Found>>,
    elapsed: Duration,
) {
    for (d, f) in rules.iter().zip(found.into_iter().flatten()) {
        sets.keys[d.rule] = Some(Arc::new(f.set));
        sets.elapsed[d.rule] = Some(elapsed);
        sets.reservations.push(f.reservation);
        sets.keyed[d.rule] = Some(Keyed {
            files: f.files,
            touched: f.touched,
        });
    }
}

/// The findings of a group of `history` rules (at `rules` of the table); `None` (they do not
/// fit the pool) leaves them to their plans.
fn keep_history(
    sets: &mut Sets,
    rules: &[usize],
    found: Option<Vec<(KeySet, MemoryReservation)>>,
    elapsed: Duration,
) {
    for (&i, (set, reservation)) in rules.iter().zip(found.into_iter().flatten()) {
        sets.keys[i] = Some(Arc::new(set));
        sets.elapsed[i] = Some(elapsed);
        sets.reservations.push(reservation);
    }
}

/// Stops a computation that makes no progress: neither the memory pool's reservations
/// change (operators that work grow, spill and shrink them) nor a batch arrives.
pub struct Watchdog {
    heartbeat: Option<Arc<Heartbeat>>,
    batches: Arc<AtomicU64>,
    stall: Duration,
    /// Reads of a table by qc's set engine, and DataFusion key plans run (see [`Sets`]).
    reads: AtomicU64,
    plans: AtomicU64,
    /// Chunks judged by `history` rules (see [`Sets::chunks`]).
    chunks: AtomicU64,
}

impl Watchdog {
    pub fn new(ctx: &SessionContext, stall: Duration) -> Watchdog {
        Watchdog {
            heartbeat: super::session::heartbeat(ctx),
            batches: Arc::default(),
            stall,
            reads: AtomicU64::new(0),
            plans: AtomicU64::new(0),
            chunks: AtomicU64::new(0),
        }
    }

    /// Record that a batch arrived.
    pub fn progress(&self) {
        self.batches.fetch_add(1, Ordering::Relaxed);
    }

    /// Record that qc's set engine starts reading a table.
    pub fn read_started(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    /// Record that a key plan starts.
    pub fn plan_started(&self) {
        self.plans.fetch_add(1, Ordering::Relaxed);
    }

    /// A counter tasks add their batches to.
    pub fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.batches)
    }

    fn pulse(&self) -> (u64, u64) {
        (
            self.heartbeat.as_ref().map_or(0, |h| h.count()),
            self.batches.load(Ordering::Relaxed),
        )
    }

    /// Run `work`; fail with an error naming `what` if it makes no progress for the stall
    /// timeout.
    pub async fn watch<T>(&self, what: &str, work: impl Future<Output = Result<T>>) -> Result<T> {
        let mut work = std::pin::pin!(work);
        let tick = (self.stall / 10).clamp(Duration::from_millis(10), Duration::from_secs(1));
        let mut last = self.pulse();
        let mut quiet_since = Instant::now();
        loop {
            tokio::select! {
                done = &mut work => return done,
                () = tokio::time::sleep(tick) => {
                    let now = self.pulse();
                    if now != last {
                        last = now;
                        quiet_since = Instant::now();
                    } else if quiet_since.elapsed() >= self.stall {
                        return Err(Error::Stalled(format!(
                            "{what} made no progress for {} s and was stopped (a stall in the \
                             query engine, likely under memory pressure); raise --memory-limit, \
                             or --stall-timeout if the rule is only slow",
                            self.stall.as_secs()
                        )));
                    }
                }
            }
        }
    }
}

/// A rule's anomalous tuples as they are gathered, with their share of the memory pool.
pub struct HeldSet {
    set: KeySet,
    reservation: MemoryReservation,
    what: String,
}

/// An empty [`HeldSet`] for tuples of `on`, reserving from `state`'s pool.
pub fn held_set(state: &SessionState, on: &[BoundColumn], what: &str) -> Result<HeldSet> {
    let reservation = MemoryConsumer::new(format!("qc anomalous tuples ({what})"))
        .register(&state.runtime_env().memory_pool);
    Ok(HeldSet {
        set: KeySet::new(on)?,
        reservation,
        what: what.to_string(),
    })
}

impl HeldSet {
    /// Add a batch of anomalous tuples.
    pub fn extend(&mut self, batch: &arrow::record_batch::RecordBatch) -> Result<()> {
        self.set.extend(batch)?;
        self.account()
    }

    /// Add one tuple in the set's row format.
    pub fn insert(&mut self, row: &[u8]) -> Result<()> {
        self.set.insert(row);
        self.account()
    }

    pub fn key_set(&self) -> &KeySet {
        &self.set
    }

    /// Keep the reservation equal to the set's size; a set beyond the pool is an error.
    fn account(&mut self) -> Result<()> {
        let size = self.set.size();
        let held = self.reservation.size();
        if size <= held {
            return Ok(());
        }
        self.reservation
            .try_grow(size - held)
            .map_err(|_| Error::Memory {
                what: self.what.clone(),
                message: format!(
                    "its anomalous tuples ({} so far, about {} MiB) do not fit --memory-limit; \
                     raise the limit or narrow the rule",
                    self.set.len(),
                    size >> 20
                ),
            })
    }

    pub fn into_parts(self) -> (KeySet, MemoryReservation) {
        (self.set, self.reservation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_computation_without_progress_is_stopped_naming_the_rule() {
        let ctx = crate::execute::session::session(1);
        let watchdog = Watchdog::new(&ctx, Duration::from_millis(100));
        let started = Instant::now();
        let stalled = watchdog
            .watch("rule X-1 of t.t", std::future::pending::<Result<()>>())
            .await;
        assert!(
            matches!(&stalled, Err(Error::Stalled(m)) if m.contains("rule X-1 of t.t")),
            "{stalled:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_slow_computation_that_progresses_is_left_alone() {
        let ctx = crate::execute::session::session(1);
        let watchdog = Watchdog::new(&ctx, Duration::from_millis(100));
        let slow = async {
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_millis(40)).await;
                watchdog.progress();
            }
            Ok(7)
        };
        assert_eq!(watchdog.watch("rule X-2", slow).await.unwrap(), 7);
    }
}
