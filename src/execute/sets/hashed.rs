//! qc's own engine for duplicated tuples (`unique`), all of a table's rules at once:
//!
//! 1. **Hash.** One read of the key columns, on every core (shared with the table's `history`
//!    rules, [`super::shared`]): each applicable row's tuple is hashed to 64 bits. Sorting
//!    the hashes (in parallel) finds those seen more than once: the candidate groups. Equal tuples have equal hashes, so every duplicated tuple is a
//!    candidate; a collision of different tuples can only add a candidate.
//! 2. **Verify.** Only when there are candidates: a second read keeps the rows whose hash is
//!    a candidate and counts their actual tuples. A tuple counted more than once is
//!    anomalous: the answer is exact, whatever the hash.
//!
//! Each file's sorted hashes are kept beside the run history (`keys/`, named by the rule and
//! the file's fingerprint) with the tuples of its candidates. A later run hashes only new and
//! changed files; candidates are then the hashes seen twice among them, those they share with
//! a kept file (a merge of sorted lists) and the last run's candidates that still are. Only
//! files holding a candidate whose tuples are not known are read again to count them. The
//! files whose flagged rows changed are reported, for the pass to read them again.
//!
//! Memory is 8 bytes per applicable row and rule while hashing (reserved in the run's pool)
//! plus the candidates' tuples; a table whose hashes do not fit the pool is computed by the
//! rules' DataFusion plans instead (which spill). A DataFusion hash aggregate holds every
//! distinct tuple: at 10M distinct ID numbers that was about 1 GB.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

// hashbrown with foldhash: the candidates are looked up once per row.
use datafusion::common::HashSet;
use std::sync::atomic::Ordering;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use arrow::compute::filter;
use arrow::record_batch::RecordBatch;
use datafusion::common::hash_utils::create_hashes;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::logical_expr::{Expr, ident};
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use rayon::slice::ParallelSliceMut;

use super::{HASH, Watchdog, held_set, shared};
use crate::bind::BoundTable;
use crate::error::{Error, Result};
use crate::execute::reuse::{self, FileKeys, FilePart, Fingerprint, Fingerprints, TableState};
use crate::plan::keyset::KeySet;
use crate::rules::BoundColumn;
use crate::scan;

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

/// What a table's `unique` rules reuse of its previous run, and where their hash lists are
/// kept for the next.
#[derive(Debug, Clone, Copy)]
pub struct Kept<'a> {
    /// Every current file's fingerprint, by its scan name.
    pub fingerprints: &'a Fingerprints,
    /// The previous run's state (`None` under `--full` or without one).
    pub previous: Option<&'a TableState>,
    /// The folder of kept hash lists; `None` keeps none.
    pub dir: Option<&'a Path>,
    /// The seed of every rule's basis (see [`reuse::seed`]), and the run date.
    pub seed: &'a str,
    pub as_of: i64,
}

impl Kept<'static> {
    /// Nothing reused, nothing kept (a one-off computation).
    pub fn nothing() -> Kept<'static> {
        static NONE: std::sync::LazyLock<Fingerprints> = std::sync::LazyLock::new(HashMap::new);
        Kept {
            fingerprints: &NONE,
            previous: None,
            dir: None,
            seed: "",
            as_of: 0,
        }
    }
}

/// A `unique` rule's findings: its duplicated tuples, their share of the pool, what each
/// file holds of it (for the next run), and the files the previous run vouched for whose
/// rows' verdicts under it changed.
pub struct Found {
    pub set: KeySet,
    pub reservation: MemoryReservation,
    pub files: BTreeMap<String, FileKeys>,
    pub touched: BTreeSet<String>,
}

/// A file's candidates under one rule: per hash, its tuples (row format) and rows of each.
type Info = HashMap<u64, Vec<(Box<[u8]>, u64)>>;

/// Per file: per candidate hash, the rows of each tuple (while counting).
type Counting = HashMap<String, HashMap<u64, HashMap<Box<[u8]>, u64>>>;

/// Per rule of `rules`: its duplicated tuples (see [`Found`]). The hashes of each file are
/// kept between runs: a file the previous run hashed, unchanged, is not read again unless it
/// holds a hash newly seen twice. `None` when the hashes do not fit the memory pool (the
/// caller then runs the rules' plans). The set engine shares the hash read with other
/// stages ([`Pending`]); this is the read alone.
pub async fn duplicates(
    ctx: &SessionContext,
    table: &BoundTable,
    rules: &[Duplicates<'_>],
    names: &[String],
    watchdog: &Watchdog,
    kept: &Kept<'_>,
) -> Result<Option<Vec<Found>>> {
    match Pending::new(ctx, table, rules, names, kept)? {
        Some(pending) => pending.read_alone(ctx, table, watchdog).await,
        None => Ok(None),
    }
}

/// A table's `unique` rules before their hash read: what the previous run left (kept lists
/// and candidates) and the files to hash now.
pub struct Pending<'a> {
    rules: Vec<Duplicates<'a>>,
    names: Vec<String>,
    /// The rules' names, for errors.
    pub what: String,
    kept: Kept<'a>,
    bases: Vec<String>,
    ids: Vec<String>,
    lists: Vec<BTreeMap<String, Arc<Vec<u64>>>>,
    infos: Vec<HashMap<String, Info>>,
    /// The files whose hashes are not kept: the hash read reads these.
    pub to_hash: Vec<PathBuf>,
    reservation: MemoryReservation,
}

/// What the hash read gathers for a table's `unique` rules, partition by partition.
pub type Hashes = shared::Handed<HashedPart>;

/// One partition's hashes: per rule, each file's, with their share of the pool.
pub type HashedPart = (Vec<HashMap<String, Vec<u64>>>, MemoryReservation);

/// One partition's share of the hash read.
struct HashConsumer {
    layouts: Arc<Vec<Layout>>,
    per_rule: Vec<HashMap<String, Vec<u64>>>,
    buffer: Vec<u64>,
    reservation: MemoryReservation,
    what: String,
    into: Arc<Hashes>,
}

impl shared::Consumer for HashConsumer {
    fn batch(&mut self, file: &str, batch: &RecordBatch) -> Result<()> {
        for (layout, out) in self.layouts.iter().zip(&mut self.per_rule) {
            let applies = hashes(batch, layout, &mut self.buffer)?;
            let out = out.entry(file.to_string()).or_default();
            let before = out.len();
            out.extend(
                self.buffer
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| applies.is_valid(*i) && applies.value(*i))
                    .map(|(_, h)| *h),
            );
            let added = (out.len() - before) * std::mem::size_of::<u64>();
            self.reservation
                .try_grow(added)
                .map_err(|_| Error::Memory {
                    what: self.what.clone(),
                    message: "its key hashes do not fit --memory-limit".into(),
                })?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) {
        let me = *self;
        me.into.hand((me.per_rule, me.reservation));
    }
}

impl<'a> Pending<'a> {
    /// The rules' kept state; `None` when the kept hashes do not fit the pool.
    pub fn new(
        ctx: &SessionContext,
        table: &BoundTable,
        rules: &[Duplicates<'a>],
        names: &[String],
        kept: &Kept<'a>,
    ) -> Result<Option<Pending<'a>>> {
        let what = names.join(", ");
        let bases: Vec<String> = rules
            .iter()
            .map(|r| {
                let on: Vec<&str> = r.on.iter().map(|c| c.name.as_str()).collect();
                reuse::digest(
                    kept.seed,
                    [on.join("\u{1}"), r.applicable.to_string()],
                    kept.as_of,
                )
            })
            .collect();
        let ids: Vec<String> = rules
            .iter()
            .map(|r| table.rules[r.rule].id.clone())
            .collect();
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let pool = Arc::clone(&ctx.state().runtime_env().memory_pool);
        let reservation = MemoryConsumer::new(format!("qc key hashes ({what})")).register(&pool);
        let (lists, infos, to_hash) = match load_kept(table, &id_refs, &bases, kept, &reservation) {
            Ok(k) => k,
            Err(Error::Memory { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(Pending {
            rules: rules.to_vec(),
            names: names.to_vec(),
            what,
            kept: *kept,
            bases,
            ids,
            lists,
            infos,
            to_hash,
            reservation,
        }))
    }

    /// The hash read's stage over [`Pending::to_hash`], and where its hashes go; `None` when
    /// every file's hashes are kept.
    pub fn stage(&self) -> Option<(shared::Stage, Arc<Hashes>)> {
        if self.to_hash.is_empty() {
            return None;
        }
        let (exprs, layouts) = selection(&self.rules);
        let (layouts, hashes) = (Arc::new(layouts), Arc::new(Hashes::default()));
        let (into, what) = (Arc::clone(&hashes), self.what.clone());
        let parent = self.reservation.new_empty();
        let n = self.rules.len();
        let stage = shared::Stage {
            exprs,
            files: Some(self.to_hash.iter().map(|f| scan::file_name(f)).collect()),
            consumer: Box::new(move || {
                Box::new(HashConsumer {
                    layouts: Arc::clone(&layouts),
                    per_rule: vec![HashMap::new(); n],
                    buffer: Vec::new(),
                    reservation: parent.new_empty(),
                    what: what.clone(),
                    into: Arc::clone(&into),
                })
            }),
        };
        Some((stage, hashes))
    }

    /// The rules' duplicated tuples, hashed in a read of their own (see [`duplicates`]).
    pub async fn read_alone(
        self,
        ctx: &SessionContext,
        table: &BoundTable,
        watchdog: &Watchdog,
    ) -> Result<Option<Vec<Found>>> {
        let hashed = match self.stage() {
            None => Some(Vec::new()),
            Some((stage, hashes)) => {
                let stages = [stage];
                let read = shared::read(ctx, table, &self.to_hash, &stages, &self.what, watchdog);
                let completed = watchdog.watch(&self.what, read).await?;
                completed[0].then(|| hashes.take())
            }
        };
        match hashed {
            Some(fresh) => self.finish(ctx, table, fresh, watchdog).await,
            None => Ok(None),
        }
    }

    /// The rules' duplicated tuples, from the hash read's `fresh` hashes (empty when no file
    /// was hashed): candidates, their count read where needed, and the lists kept for the
    /// next run. `None` when the hashes do not fit the pool.
    pub async fn finish(
        mut self,
        ctx: &SessionContext,
        table: &BoundTable,
        fresh: Vec<HashedPart>,
        watchdog: &Watchdog,
    ) -> Result<Option<Vec<Found>>> {
        let what = self.what.clone();
        let work = async {
            match sorted(
                fresh,
                &self.to_hash,
                self.rules.len(),
                &what,
                &self.reservation,
            )
            .await
            {
                Ok(sorted) => {
                    for (lists, sorted) in self.lists.iter_mut().zip(sorted) {
                        lists.extend(sorted);
                    }
                }
                Err(Error::Memory { .. }) => return Ok(None),
                Err(e) => return Err(e),
            }
            self.judge(ctx, table, watchdog).await.map(Some)
        };
        watchdog.watch(&what, work).await
    }

    /// Candidates, their count read, and the findings (see [`Pending::finish`]).
    async fn judge(
        self,
        ctx: &SessionContext,
        table: &BoundTable,
        watchdog: &Watchdog,
    ) -> Result<Vec<Found>> {
        let Pending {
            rules,
            names,
            what,
            kept,
            bases,
            ids,
            lists,
            infos,
            to_hash,
            reservation,
        } = self;
        let hashed: BTreeSet<String> = to_hash.iter().map(|f| scan::file_name(f)).collect();
        let candidates: Vec<HashSet<u64>> = lists
            .iter()
            .zip(&infos)
            .map(|(lists, infos)| candidates(lists, infos, &hashed))
            .collect();
        // Files whose candidates' tuples are not known: those hashed now, and kept ones that
        // hold a hash not a candidate last time.
        let mut to_count: BTreeSet<String> = BTreeSet::new();
        for ((lists, infos), candidates) in lists.iter().zip(&infos).zip(&candidates) {
            for (file, list) in lists {
                let known = infos.get(file);
                if candidates.iter().any(|h| {
                    list.binary_search(h).is_ok() && known.is_none_or(|k| !k.contains_key(h))
                }) {
                    to_count.insert(file.clone());
                }
            }
        }
        let counted = if to_count.is_empty() {
            vec![BTreeMap::new(); rules.len()]
        } else {
            let files: Vec<PathBuf> = table
                .source
                .files
                .iter()
                .filter(|f| to_count.contains(&scan::file_name(f)))
                .cloned()
                .collect();
            count_candidates(ctx, table, &rules, &files, &candidates, &what, watchdog).await?
        };
        let state = ctx.state();
        let mut found = Vec::with_capacity(rules.len());
        for (r, (((lists, infos), counted), candidates)) in lists
            .iter()
            .zip(infos)
            .zip(counted)
            .zip(&candidates)
            .enumerate()
        {
            let mut held = held_set(&state, rules[r].on, &names[r])?;
            // What each file holds of this run's candidates.
            let mut now: BTreeMap<String, Info> = BTreeMap::new();
            for file in lists.keys() {
                let info = match counted.get(file) {
                    Some(c) => c.clone(),
                    None => infos
                        .get(file)
                        .map(|i| {
                            i.iter()
                                .filter(|(h, _)| candidates.contains(*h))
                                .map(|(h, t)| (*h, t.clone()))
                                .collect()
                        })
                        .unwrap_or_default(),
                };
                now.insert(file.clone(), info);
            }
            let anomalous = duplicated(now.values());
            for row in &anomalous {
                held.insert(row)?;
            }
            let touched = touched(&kept, &ids[r], &bases[r], &now, &anomalous);
            let mut files = BTreeMap::new();
            for (file, list) in lists {
                let kept_list = match kept.dir {
                    Some(dir) => Some(keep_list(
                        dir,
                        &bases[r],
                        kept.fingerprints.get(file),
                        list,
                    )?),
                    None => None,
                };
                let info = now.remove(file).unwrap_or_default();
                files.insert(
                    file.clone(),
                    FileKeys {
                        rule: ids[r].clone(),
                        basis: bases[r].clone(),
                        hashes: kept_list,
                        candidates: encode(&info),
                    },
                );
            }
            let (set, reservation) = held.into_parts();
            found.push(Found {
                set,
                reservation,
                files,
                touched,
            });
        }
        drop(reservation);
        Ok(found)
    }
}

/// Per rule: the kept sorted hash lists of the files the previous run hashed (unchanged, under
/// the same rule) and their candidates; and the files to hash now.
#[allow(clippy::type_complexity)]
fn load_kept(
    table: &BoundTable,
    ids: &[&str],
    bases: &[String],
    kept: &Kept<'_>,
    reservation: &MemoryReservation,
) -> Result<(
    Vec<BTreeMap<String, Arc<Vec<u64>>>>,
    Vec<HashMap<String, Info>>,
    Vec<PathBuf>,
)> {
    let n = ids.len();
    let mut lists = vec![BTreeMap::new(); n];
    let mut infos = vec![HashMap::new(); n];
    let mut to_hash = Vec::new();
    let previous: HashMap<&str, &FilePart> = kept
        .previous
        .map(|p| p.files.iter().map(|f| (f.file.as_str(), f)).collect())
        .unwrap_or_default();
    for f in &table.source.files {
        let name = scan::file_name(f);
        let loaded = previous
            .get(name.as_str())
            .filter(|part| Some(&part.fingerprint) == kept.fingerprints.get(&name))
            .and_then(|part| {
                ids.iter()
                    .zip(bases)
                    .map(|(id, basis)| {
                        let k = part
                            .keys
                            .iter()
                            .find(|k| k.rule == *id && k.basis == *basis)?;
                        let list = load_list(kept.dir?, k.hashes.as_deref()?)?;
                        Some((list, decode(&k.candidates)?))
                    })
                    .collect::<Option<Vec<_>>>()
            });
        match loaded {
            Some(per_rule) => {
                for (r, (list, info)) in per_rule.into_iter().enumerate() {
                    reservation
                        .try_grow(list.len() * std::mem::size_of::<u64>())
                        .map_err(|_| Error::Memory {
                            what: ids.join(", "),
                            message: "its key hashes do not fit --memory-limit".into(),
                        })?;
                    lists[r].insert(name.clone(), Arc::new(list));
                    infos[r].insert(name.clone(), info);
                }
            }
            None => to_hash.push(f.clone()),
        }
    }
    Ok((lists, infos, to_hash))
}

/// The hashes seen more than once over all files: among the files hashed now, between them
/// and the kept ones, and the last run's candidates that still are. The files' sorted lists
/// are merged as they are: copying the fresh ones into one list to sort held a second copy of
/// every hash outside the pool (380 MB at 50M rows, above `--memory-limit`'s margin).
fn candidates(
    lists: &BTreeMap<String, Arc<Vec<u64>>>,
    infos: &HashMap<String, Info>,
    hashed: &BTreeSet<String>,
) -> HashSet<u64> {
    // Rows of the last run's candidates in kept files (a hash twice among kept files was a
    // candidate then).
    let mut seen: HashMap<u64, u64> = HashMap::new();
    for info in infos.values() {
        for (h, tuples) in info {
            *seen.entry(*h).or_default() += tuples.iter().map(|(_, n)| n).sum::<u64>();
        }
    }
    let mut found: HashSet<u64> = seen
        .iter()
        .filter(|(_, n)| **n >= 2)
        .map(|(h, _)| *h)
        .collect();
    let sources: Vec<(&[u64], bool)> = lists
        .iter()
        .map(|(file, list)| (list.as_slice(), hashed.contains(file)))
        .collect();
    merged_runs(&sources, |hash, fresh, all| {
        // A hash of a row read now, held by another row (read now or kept), or by one of the
        // last run's candidates' rows.
        if fresh > 0 && (all >= 2 || seen.get(&hash).is_some_and(|n| n + fresh >= 2)) {
            found.insert(hash);
        }
    });
    found
}

/// Each distinct value of the sorted `lists`, in order, with how many times it occurs in the
/// lists marked fresh and in all of them: `each(value, fresh, all)`. One list is walked as
/// it is; several are merged through a heap.
fn merged_runs(lists: &[(&[u64], bool)], mut each: impl FnMut(u64, u64, u64)) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    if let [(list, fresh)] = lists {
        for run in list.chunk_by(|a, b| a == b) {
            let n = run.len() as u64;
            each(run[0], if *fresh { n } else { 0 }, n);
        }
        return;
    }
    let mut heap: BinaryHeap<Reverse<(u64, usize, usize)>> = lists
        .iter()
        .enumerate()
        .filter_map(|(i, (list, _))| Some(Reverse((*list.first()?, i, 0))))
        .collect();
    let mut current: Option<(u64, u64, u64)> = None;
    while let Some(Reverse((value, i, at))) = heap.pop() {
        let (list, fresh) = lists[i];
        // The rest of this list's run of `value` at once.
        let end = at + list[at..].partition_point(|v| *v == value);
        let n = (end - at) as u64;
        let fresh_n = if fresh { n } else { 0 };
        current = match current {
            Some((v, f, a)) if v == value => Some((v, f + fresh_n, a + n)),
            Some((v, f, a)) => {
                each(v, f, a);
                Some((value, fresh_n, n))
            }
            None => Some((value, fresh_n, n)),
        };
        if let Some(&next) = list.get(end) {
            heap.push(Reverse((next, i, end)));
        }
    }
    if let Some((v, f, a)) = current {
        each(v, f, a);
    }
}

/// The tuples held by more than one row over all files' candidates.
fn duplicated<'a>(infos: impl Iterator<Item = &'a Info>) -> Vec<Box<[u8]>> {
    let mut totals: HashMap<&[u8], u64> = HashMap::new();
    for info in infos {
        for tuples in info.values() {
            for (t, n) in tuples {
                *totals.entry(t.as_ref()).or_default() += n;
            }
        }
    }
    let mut out: Vec<Box<[u8]>> = totals
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(t, _)| t.into())
        .collect();
    out.sort_unstable();
    out
}

/// The files the previous run vouched for (same fingerprint) whose rows flagged by this rule
/// differ now: the tuples of theirs that were duplicated then, and are now. A file whose
/// previous part says nothing of the rule is touched.
fn touched(
    kept: &Kept<'_>,
    id: &str,
    basis: &str,
    now: &BTreeMap<String, Info>,
    anomalous: &[Box<[u8]>],
) -> BTreeSet<String> {
    let Some(previous) = kept.previous else {
        return BTreeSet::new();
    };
    let then: Vec<(&FilePart, Option<Info>)> = previous
        .files
        .iter()
        .map(|p| {
            let info = p
                .keys
                .iter()
                .find(|k| k.rule == id && k.basis == basis)
                .and_then(|k| decode(&k.candidates));
            (p, info)
        })
        .collect();
    let anomalous_then = duplicated(then.iter().filter_map(|(_, i)| i.as_ref()));
    let flagged = |info: &Info, set: &[Box<[u8]>]| -> BTreeSet<Box<[u8]>> {
        info.values()
            .flatten()
            .filter(|(t, _)| set.binary_search(t).is_ok())
            .map(|(t, _)| t.clone())
            .collect()
    };
    then.iter()
        .filter(|(p, _)| kept.fingerprints.get(&p.file) == Some(&p.fingerprint))
        .filter(|(p, info)| match (info, now.get(&p.file)) {
            (Some(then), Some(now)) => flagged(then, &anomalous_then) != flagged(now, anomalous),
            _ => true,
        })
        .map(|(p, _)| p.file.clone())
        .collect()
}

/// A file's candidates as kept: hex tuples.
fn encode(info: &Info) -> Vec<(u64, Vec<(String, u64)>)> {
    let mut out: Vec<(u64, Vec<(String, u64)>)> = info
        .iter()
        .map(|(h, tuples)| {
            let mut t: Vec<(String, u64)> = tuples
                .iter()
                .map(|(t, n)| (crate::values::hex(t), *n))
                .collect();
            t.sort();
            (*h, t)
        })
        .collect();
    out.sort();
    out
}

fn decode(kept: &[(u64, Vec<(String, u64)>)]) -> Option<Info> {
    kept.iter()
        .map(|(h, tuples)| {
            let t = tuples
                .iter()
                .map(|(t, n)| crate::values::unhex(t).map(|b| (b.into_boxed_slice(), *n)))
                .collect::<Option<Vec<_>>>()?;
            Some((*h, t))
        })
        .collect()
}

/// The kept list `name` of `dir`'s `keys/` folder, or `None` when it is missing or damaged.
fn load_list(dir: &Path, name: &str) -> Option<Vec<u64>> {
    // Read in pieces: a list holds 8 bytes a row, and its bytes are not held twice.
    let file = std::fs::File::open(dir.join("keys").join(name)).ok()?;
    let size = usize::try_from(file.metadata().ok()?.len()).ok()?;
    if size % 8 != 0 {
        return None;
    }
    let mut list: Vec<u64> = Vec::with_capacity(size / 8);
    let mut reader = std::io::BufReader::with_capacity(LIST_IO_BYTES, file);
    let mut word = [0u8; 8];
    for _ in 0..size / 8 {
        std::io::Read::read_exact(&mut reader, &mut word).ok()?;
        list.push(u64::from_le_bytes(word));
    }
    list.is_sorted().then_some(list)
}

/// The buffer through which hash lists are read and written.
const LIST_IO_BYTES: usize = 1 << 20;

/// Keep a file's sorted hash list under a name made of the rule's basis and the file's
/// fingerprint (written once: an unchanged file's list is not written again); its name.
fn keep_list(
    dir: &Path,
    basis: &str,
    fingerprint: Option<&Fingerprint>,
    list: &[u64],
) -> Result<String> {
    let fingerprint =
        fingerprint.ok_or_else(|| Error::Internal("hashed a file without a fingerprint".into()))?;
    let name = format!(
        "{}.u64",
        reuse::digest(
            basis,
            [
                fingerprint.ends.clone(),
                fingerprint.size.to_string(),
                fingerprint.modified_ns.to_string()
            ],
            0
        )
    );
    let folder = dir.join("keys");
    let path = folder.join(&name);
    if path.exists() {
        return Ok(name);
    }
    std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
    let tmp = path.with_extension("partial");
    let write = || -> std::io::Result<()> {
        let mut out =
            std::io::BufWriter::with_capacity(LIST_IO_BYTES, std::fs::File::create(&tmp)?);
        for h in list {
            std::io::Write::write_all(&mut out, &h.to_le_bytes())?;
        }
        // On disk before it is named: after a power loss, a list under its name is whole
        // (a shorter list that is still sorted would be reused as the file's hashes).
        out.into_inner()
            .map_err(std::io::IntoInnerError::into_error)?
            .sync_all()
    };
    if let Err(e) = write() {
        // A list not written whole is not left behind (the disk may be full).
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    Ok(name)
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

/// Hashes of one rule's applicable rows of `batch`, and the rows' mask.
fn hashes(batch: &RecordBatch, layout: &Layout, buffer: &mut Vec<u64>) -> Result<BooleanArray> {
    let applies = batch.column(layout.applies).as_boolean().clone();
    let on: Vec<&ArrayRef> = layout.on.iter().map(|&c| batch.column(c)).collect();
    buffer.clear();
    buffer.resize(batch.num_rows(), 0);
    create_hashes(on, &HASH, buffer).map_err(|e| Error::engine("hashing key columns", e))?;
    Ok(applies)
}

/// Read 1's hashes, per rule and file of `files`, sorted; their memory moves to
/// `reservation` (held until the rules are judged).
async fn sorted(
    fresh: Vec<HashedPart>,
    files: &[PathBuf],
    rules: usize,
    what: &str,
    reservation: &MemoryReservation,
) -> Result<Vec<BTreeMap<String, Arc<Vec<u64>>>>> {
    let mut lists: Vec<HashMap<String, Vec<Vec<u64>>>> = vec![HashMap::new(); rules];
    let mut reservations = Vec::new();
    for (per_rule, part) in fresh {
        for (lists, per_rule) in lists.iter_mut().zip(per_rule) {
            for (file, hashes) in per_rule {
                lists.entry(file).or_default().push(hashes);
            }
        }
        reservations.push(part);
    }
    // A file without applicable rows still has its (empty) list.
    for lists in &mut lists {
        for f in files {
            lists.entry(scan::file_name(f)).or_default();
        }
    }
    // Joined and sorted on rayon's threads, off the async runtime.
    let sorted = tokio::task::spawn_blocking(move || {
        lists
            .into_iter()
            .map(|files| {
                files
                    .into_iter()
                    .map(|(file, parts)| {
                        let mut hashes = shared::concat(parts);
                        hashes.par_sort_unstable();
                        (file, Arc::new(hashes))
                    })
                    .collect::<BTreeMap<_, _>>()
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| Error::Internal(format!("sorting key hashes failed: {e}")))?;
    let held: usize = reservations.iter().map(MemoryReservation::size).sum();
    drop(reservations);
    reservation.try_grow(held).map_err(|_| Error::Memory {
        what: what.to_string(),
        message: "its key hashes do not fit --memory-limit".into(),
    })?;
    Ok(sorted)
}

/// Read 2: per rule and file of `files`, the candidates' actual tuples (in the key set's row
/// format) by hash, and how many applicable rows hold each.
async fn count_candidates(
    ctx: &SessionContext,
    table: &BoundTable,
    rules: &[Duplicates<'_>],
    files: &[PathBuf],
    candidates: &[HashSet<u64>],
    what: &str,
    watchdog: &Watchdog,
) -> Result<Vec<BTreeMap<String, Info>>> {
    let (exprs, layouts) = selection(rules);
    let layouts = Arc::new(layouts);
    let candidates = Arc::new(candidates.to_vec());
    let on: Arc<Vec<Vec<BoundColumn>>> = Arc::new(rules.iter().map(|r| r.on.to_vec()).collect());
    let mut tasks = tokio::task::JoinSet::new();
    watchdog.read_started();
    let (streams, file_at) = shared::streams(ctx, table, files, exprs, what).await?;
    for mut stream in streams {
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
            let mut counts: Vec<Counting> = vec![HashMap::new(); layouts.len()];
            let mut buffer = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| Error::engine(&what, e))?;
                progress.fetch_add(1, Ordering::Relaxed);
                for (file, batch) in super::super::tally::by_file(&batch, Some(file_at))? {
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
                        let kept_hashes: Vec<u64> = buffer
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| keep.value(*i))
                            .map(|(_, h)| *h)
                            .collect();
                        let kept: Vec<ArrayRef> = layout
                            .on
                            .iter()
                            .map(|&c| filter(batch.column(c), &keep))
                            .collect::<std::result::Result<_, _>>()
                            .map_err(|e| Error::Internal(format!("filtering candidates: {e}")))?;
                        let rows = converters[r].rows(&kept)?;
                        let file = counts[r].entry(file.clone()).or_default();
                        for (row, h) in rows.iter().zip(kept_hashes) {
                            *file
                                .entry(h)
                                .or_default()
                                .entry(row.as_ref().into())
                                .or_default() += 1;
                        }
                    }
                }
            }
            Ok::<_, Error>(counts)
        });
    }
    let mut all: Vec<Counting> = vec![HashMap::new(); rules.len()];
    while let Some(joined) = tasks.join_next().await {
        let counts =
            joined.map_err(|e| Error::Internal(format!("counting task failed: {e}")))??;
        for (all, part) in all.iter_mut().zip(counts) {
            for (file, hashes) in part {
                let mine = all.entry(file).or_default();
                for (h, tuples) in hashes {
                    let t = mine.entry(h).or_default();
                    for (row, n) in tuples {
                        *t.entry(row).or_default() += n;
                    }
                }
            }
        }
    }
    // Every file read has its (possibly empty) candidates.
    Ok(all
        .into_iter()
        .map(|mut per_file| {
            files
                .iter()
                .map(|f| {
                    let name = scan::file_name(f);
                    let info: Info = per_file
                        .remove(&name)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(h, t)| (h, t.into_iter().collect()))
                        .collect();
                    (name, info)
                })
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint() -> Fingerprint {
        Fingerprint {
            size: 10,
            modified_ns: 1,
            ends: "ab".into(),
        }
    }

    /// Every distinct value with its counts, counted naively.
    fn counted(lists: &[(Vec<u64>, bool)]) -> Vec<(u64, u64, u64)> {
        let mut all: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        for (list, fresh) in lists {
            for v in list {
                let e = all.entry(*v).or_default();
                e.0 += u64::from(*fresh);
                e.1 += 1;
            }
        }
        all.into_iter().map(|(v, (f, a))| (v, f, a)).collect()
    }

    #[test]
    fn merged_runs_count_each_value_over_every_list() {
        // Small values so that runs within and across lists are common.
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            seed >> 33
        };
        for case in 0..200 {
            let lists: Vec<(Vec<u64>, bool)> = (0..=(case % 5))
                .map(|_| {
                    let mut list: Vec<u64> = (0..next() % 30).map(|_| next() % 20).collect();
                    list.sort_unstable();
                    (list, next() % 2 == 0)
                })
                .collect();
            let slices: Vec<(&[u64], bool)> =
                lists.iter().map(|(l, f)| (l.as_slice(), *f)).collect();
            let mut got = Vec::new();
            merged_runs(&slices, |v, f, a| got.push((v, f, a)));
            assert_eq!(got, counted(&lists), "case {case}: {lists:?}");
        }
    }

    #[test]
    fn a_kept_list_reads_back_as_written_across_buffers() {
        let dir = tempfile::tempdir().unwrap();
        // More than one buffer's worth, not a whole number of buffers.
        let list: Vec<u64> = (0..(LIST_IO_BYTES as u64 / 8) * 2 + 3)
            .map(|i| i * 7919)
            .collect();
        let name = keep_list(dir.path(), "basis", Some(&fingerprint()), &list).unwrap();
        assert_eq!(load_list(dir.path(), &name), Some(list));
        // A damaged list (not whole words, or not sorted) is not reused.
        let path = dir.path().join("keys").join(&name);
        std::fs::write(&path, [1u8; 12]).unwrap();
        assert_eq!(load_list(dir.path(), &name), None);
        let unsorted: Vec<u8> = [2u64, 1].iter().flat_map(|h| h.to_le_bytes()).collect();
        std::fs::write(&path, unsorted).unwrap();
        assert_eq!(load_list(dir.path(), &name), None);
    }

    /// A disk that fills while a list is written: `/dev/full` in place of the partial file.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_list_that_cannot_be_written_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let name = keep_list(dir.path(), "basis", Some(&fingerprint()), &[1, 2]).unwrap();
        std::fs::remove_file(keys.join(&name)).unwrap();
        let partial = keys.join(&name).with_extension("partial");
        std::os::unix::fs::symlink("/dev/full", &partial).unwrap();
        let list: Vec<u64> = (0..1000).collect();
        let err = keep_list(dir.path(), "basis", Some(&fingerprint()), &list).unwrap_err();
        assert!(err.to_string().contains("partial"), "{err}");
        assert!(
            std::fs::symlink_metadata(&partial).is_err(),
            "partial file left"
        );
        assert!(!keys.join(&name).exists());
    }
}
