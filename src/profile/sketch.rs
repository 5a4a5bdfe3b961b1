//! Bounded-memory summaries of a column's values, each mergeable across workers:
//! - [`Distinct`]: exact up to [`EXACT_DISTINCT`] values, then HyperLogLog (2^14 registers,
//!   standard error 1.04/√16384 ≈ 0.81 %; DataFusion's own sketch is not public);
//! - [`TopK`]: heavy hitters by Misra–Gries with batched decrements: a value's count is
//!   exact while nothing was ever decremented, else low by at most [`TopK::error`];
//! - [`Numbers`]: count, min, max, mean exact; quantiles exact up to [`EXACT_NUMBERS`]
//!   values, then a t-digest (100 centroids);
//! - [`Lengths`]: the length distribution in characters, exact;
//! - [`KeyHashes`]: every value's 64-bit hash while a shared memory budget allows, to count
//!   duplicates exactly (two different values share a hash with probability n²/2⁶⁵: about
//!   3·10⁻⁵ at 31M rows).

use std::collections::{HashMap, HashSet};

/// Maps and sets of the sketches hash with ahash (std's SipHash costs several times more per
/// value, on every value of every column).
type Fast = ahash::RandomState;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};

use datafusion_functions_aggregate_common::tdigest::TDigest;

/// Distinct values counted exactly up to this many, per column.
pub const EXACT_DISTINCT: usize = 1 << 16;
/// Numbers kept for exact quantiles up to this many, per column.
pub const EXACT_NUMBERS: usize = 1 << 16;
/// Counters a [`TopK`] keeps before it decrements.
const TOP_COUNTERS: usize = 512;
/// t-digest centroids.
const DIGEST_SIZE: usize = 100;

/// The 64-bit hash of a value's bytes; the same in every worker and run.
pub fn hash(bytes: &[u8]) -> u64 {
    static STATE: std::sync::LazyLock<ahash::RandomState> = std::sync::LazyLock::new(|| {
        ahash::RandomState::with_seeds(
            0x5143_2d70_726f_6669,
            0x6c65_2d64_6973_7469,
            0x6e63_742d_6b65_7973,
            0x2d73_6861_6e67_6861,
        )
    });
    STATE.hash_one(bytes)
}

/// HyperLogLog registers (2^14) fed with [`hash`]es.
const HLL_BITS: u32 = 14;
const HLL_REGISTERS: usize = 1 << HLL_BITS;

/// A HyperLogLog sketch (Flajolet et al. 2007) over 64-bit hashes, with linear counting for
/// small cardinalities: standard error 1.04/√2^14 ≈ 0.81 %.
struct HyperLogLog {
    registers: Box<[u8; HLL_REGISTERS]>,
}

impl HyperLogLog {
    fn new() -> HyperLogLog {
        HyperLogLog {
            registers: Box::new([0; HLL_REGISTERS]),
        }
    }

    fn add(&mut self, h: u64) {
        let index = (h >> (64 - HLL_BITS)) as usize;
        // The position of the first 1 bit in the remaining 50 bits (a sentinel bit caps it).
        let rest = (h << HLL_BITS) | (1 << (HLL_BITS - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        let r = &mut self.registers[index];
        *r = (*r).max(rank);
    }

    fn merge(&mut self, other: &HyperLogLog) {
        for (a, b) in self.registers.iter_mut().zip(other.registers.iter()) {
            *a = (*a).max(*b);
        }
    }

    fn count(&self) -> u64 {
        let m = HLL_REGISTERS as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self.registers.iter().map(|r| (-f64::from(*r)).exp2()).sum();
        let raw = alpha * m * m / sum;
        let zeros = self
            .registers
            .iter()
            .map(|r| usize::from(*r == 0))
            .sum::<usize>();
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        estimate.round() as u64
    }
}

/// Distinct values: an exact set of hashes while small, HyperLogLog always.
pub struct Distinct {
    exact: Option<HashSet<u64, Fast>>,
    hll: HyperLogLog,
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct {
            exact: Some(HashSet::default()),
            hll: HyperLogLog::new(),
        }
    }
}

impl Distinct {
    pub fn add(&mut self, h: u64) {
        self.hll.add(h);
        if let Some(set) = &mut self.exact {
            set.insert(h);
            if set.len() > EXACT_DISTINCT {
                self.exact = None;
            }
        }
    }

    pub fn merge(&mut self, other: Distinct) {
        self.hll.merge(&other.hll);
        self.exact = match (self.exact.take(), other.exact) {
            (Some(mut a), Some(b)) => {
                a.extend(b);
                (a.len() <= EXACT_DISTINCT).then_some(a)
            }
            _ => None,
        };
    }

    /// The count, and whether it is exact.
    pub fn count(&self) -> (u64, bool) {
        match &self.exact {
            Some(set) => (set.len() as u64, true),
            None => (self.hll.count(), false),
        }
    }
}

/// Heavy hitters (Misra–Gries): up to [`TOP_COUNTERS`] counted values; when full, every
/// count drops by the median count and the values at or below it are forgotten.
pub struct TopK<K> {
    counts: HashMap<K, u64, Fast>,
    /// Sum of the decrements: each kept count is at most this much below the truth, and a
    /// forgotten value occurred at most this often.
    error: u64,
}

impl<K> Default for TopK<K> {
    fn default() -> Self {
        TopK {
            counts: HashMap::default(),
            error: 0,
        }
    }
}

impl<K: Hash + Eq + Clone + Ord> TopK<K> {
    /// Count one occurrence of `key` (borrowed, turned into a `K` only when new).
    pub fn add<Q>(&mut self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized + ToOwned<Owned = K>,
    {
        if let Some(c) = self.counts.get_mut(key) {
            *c += 1;
            return;
        }
        self.counts.insert(key.to_owned(), 1);
        if self.counts.len() > TOP_COUNTERS {
            self.purge();
        }
    }

    fn purge(&mut self) {
        while self.counts.len() > TOP_COUNTERS {
            let mut counts: Vec<u64> = self.counts.values().copied().collect();
            let mid = counts.len() / 2;
            let median = *counts.select_nth_unstable(mid).1;
            self.counts.retain(|_, c| {
                *c = c.saturating_sub(median);
                *c > 0
            });
            self.error += median;
        }
    }

    pub fn merge(&mut self, other: TopK<K>) {
        for (k, c) in other.counts {
            *self.counts.entry(k).or_insert(0) += c;
        }
        self.error += other.error;
        self.purge();
    }

    /// The `n` most frequent values, most frequent first (ties by value).
    pub fn top(&self, n: usize) -> Vec<(K, u64)> {
        let mut all: Vec<(K, u64)> = self.counts.iter().map(|(k, c)| (k.clone(), *c)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }

    /// Every counted value with its count: all values when [`TopK::error`] is 0.
    pub fn all(&self) -> impl Iterator<Item = (&K, u64)> {
        self.counts.iter().map(|(k, c)| (k, *c))
    }

    /// How far below the truth a count may be (0: counts are exact and complete).
    pub fn error(&self) -> u64 {
        self.error
    }
}

/// Numbers: exact count, min, max and sum; quantiles exact while few, else a t-digest.
pub struct Numbers {
    pub count: u64,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    buffer: Vec<f64>,
    digest: Option<TDigest>,
}

impl Default for Numbers {
    fn default() -> Self {
        Numbers {
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
            buffer: Vec::new(),
            digest: None,
        }
    }
}

impl Numbers {
    pub fn add(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        self.count += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self.sum += x;
        self.buffer.push(x);
        if self.buffer.len() >= EXACT_NUMBERS {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        let values = std::mem::take(&mut self.buffer);
        let digest = self
            .digest
            .take()
            .unwrap_or_else(|| TDigest::new(DIGEST_SIZE));
        self.digest = Some(digest.merge_unsorted_f64(values));
    }

    pub fn merge(&mut self, mut other: Numbers) {
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        if self.digest.is_none()
            && other.digest.is_none()
            && self.buffer.len() + other.buffer.len() < EXACT_NUMBERS
        {
            self.buffer.append(&mut other.buffer);
            return;
        }
        self.flush();
        other.flush();
        let digests: Vec<TDigest> = self.digest.take().into_iter().chain(other.digest).collect();
        self.digest = Some(TDigest::merge_digests(&digests));
    }

    /// The value at each of `qs` (0–1), and whether they are exact.
    pub fn quantiles(&mut self, qs: &[f64]) -> (Vec<f64>, bool) {
        if self.count == 0 {
            return (Vec::new(), true);
        }
        if let Some(digest) = &self.digest {
            let mut digest = digest.clone();
            if !self.buffer.is_empty() {
                digest = digest.merge_unsorted_f64(self.buffer.clone());
            }
            return (
                qs.iter().map(|q| digest.estimate_quantile(*q)).collect(),
                false,
            );
        }
        self.buffer.sort_by(f64::total_cmp);
        let n = self.buffer.len();
        let at = |q: f64| {
            // The lower value at rank ⌈q·n⌉ (nearest rank).
            let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
            self.buffer[rank - 1]
        };
        (qs.iter().map(|q| at(*q)).collect(), true)
    }

    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// Lengths in characters: exact counts per length up to [`Lengths::LONG`], longer ones
/// together.
pub struct Lengths {
    pub counts: [u64; Lengths::LONG + 1],
    pub min: usize,
    pub max: usize,
    pub total: u64,
}

impl Default for Lengths {
    fn default() -> Self {
        Lengths {
            counts: [0; Lengths::LONG + 1],
            min: usize::MAX,
            max: 0,
            total: 0,
        }
    }
}

impl Lengths {
    /// Lengths from this one up share a bucket.
    pub const LONG: usize = 64;

    pub fn add(&mut self, chars: usize) {
        self.counts[chars.min(Self::LONG)] += 1;
        self.min = self.min.min(chars);
        self.max = self.max.max(chars);
        self.total += chars as u64;
    }

    pub fn merge(&mut self, other: &Lengths) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.total += other.total;
    }
}

/// A memory budget shared by every worker's [`KeyHashes`].
#[derive(Debug, Clone)]
pub struct Budget(Arc<AtomicI64>);

impl Budget {
    pub fn new(bytes: u64) -> Budget {
        Budget(Arc::new(AtomicI64::new(
            i64::try_from(bytes).unwrap_or(i64::MAX),
        )))
    }

    /// Take `bytes` from the budget; false (and nothing taken) when it has not that much.
    fn take(&self, bytes: usize) -> bool {
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        if self.0.fetch_sub(bytes, Ordering::Relaxed) >= bytes {
            true
        } else {
            self.0.fetch_add(bytes, Ordering::Relaxed);
            false
        }
    }
}

/// Why a column's key check stopped (shared by every worker's [`KeyHashes`] of a column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaveUp {
    /// Still counting.
    No = 0,
    /// A batch held fewer distinct values than half its rows: not a key, not worth the memory.
    FewDistinct = 1,
    /// The shared memory budget ran out.
    Budget = 2,
}

/// The shared state of a column's key check.
pub type KeyState = Arc<AtomicU8>;

fn gave_up(state: &KeyState) -> GaveUp {
    match state.load(Ordering::Relaxed) {
        0 => GaveUp::No,
        1 => GaveUp::FewDistinct,
        _ => GaveUp::Budget,
    }
}

/// Every value's hash, for exact duplicate counts, while the budget lasts; when it runs out
/// (or a batch shows the column is no key) the check is given up in every worker.
pub struct KeyHashes {
    hashes: Vec<u64>,
    budget: Budget,
    state: KeyState,
}

/// Duplicates among a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duplicates {
    /// Values (rows) that share their value with another row.
    pub rows: u64,
    /// Distinct values that occur more than once.
    pub groups: u64,
}

impl KeyHashes {
    pub fn new(budget: Budget, state: KeyState) -> KeyHashes {
        KeyHashes {
            hashes: Vec::new(),
            budget,
            state,
        }
    }

    /// Stop the column's key check in every worker (the first reason given stays).
    pub fn give_up(&mut self, why: GaveUp) {
        let _ = self
            .state
            .compare_exchange(0, why as u8, Ordering::Relaxed, Ordering::Relaxed);
        self.hashes = Vec::new();
    }

    pub fn add(&mut self, h: u64) {
        if self.hashes.len() == self.hashes.capacity() {
            if gave_up(&self.state) != GaveUp::No {
                self.hashes = Vec::new();
                return;
            }
            let more = self.hashes.capacity().max(4096);
            if !self.budget.take(more * 8) {
                self.give_up(GaveUp::Budget);
                return;
            }
            self.hashes.reserve_exact(more);
        }
        self.hashes.push(h);
    }

    pub fn merge(&mut self, mut other: KeyHashes) {
        if gave_up(&self.state) != GaveUp::No {
            self.hashes = Vec::new();
            return;
        }
        if other.hashes.len() > self.hashes.len() {
            std::mem::swap(&mut self.hashes, &mut other.hashes);
        }
        self.hashes.extend_from_slice(&other.hashes);
    }

    /// The duplicates, or why they were not counted.
    pub fn duplicates(mut self) -> Result<Duplicates, GaveUp> {
        match gave_up(&self.state) {
            GaveUp::No => {}
            why => return Err(why),
        }
        self.hashes.sort_unstable();
        let mut d = Duplicates { rows: 0, groups: 0 };
        for run in self.hashes.chunk_by(|a, b| a == b) {
            if run.len() > 1 {
                d.rows += run.len() as u64;
                d.groups += 1;
            }
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_is_exact_while_small_and_close_after() {
        let mut a = Distinct::default();
        let mut b = Distinct::default();
        for i in 0..1000u64 {
            a.add(hash(&i.to_le_bytes()));
            b.add(hash(&(i + 500).to_le_bytes()));
        }
        a.merge(b);
        assert_eq!(a.count(), (1500, true));
        let mut big = Distinct::default();
        let n = 300_000u64;
        for i in 0..n {
            big.add(hash(&i.to_le_bytes()));
            big.add(hash(&i.to_le_bytes()));
        }
        let (estimate, exact) = big.count();
        assert!(!exact);
        // 4 standard errors (0.81 % each).
        let error = (estimate as f64 - n as f64).abs() / n as f64;
        assert!(error < 0.033, "estimate {estimate} of {n}");
    }

    #[test]
    fn top_values_are_exact_until_decremented_and_heavy_ones_survive() {
        let mut t: TopK<String> = TopK::default();
        for (v, n) in [("结婚", 50), ("离婚", 20), ("补领", 3)] {
            for _ in 0..n {
                t.add(v);
            }
        }
        assert_eq!(t.error(), 0);
        assert_eq!(
            t.top(2),
            vec![("结婚".to_string(), 50), ("离婚".to_string(), 20)]
        );
        // A value with a tenth of 100,000 rows among 90,000 distinct ones.
        let mut t: TopK<String> = TopK::default();
        for i in 0..100_000u32 {
            if i % 10 == 0 {
                t.add("heavy");
            } else {
                t.add(i.to_string().as_str());
            }
        }
        let top = t.top(1);
        assert_eq!(top[0].0, "heavy");
        assert!(top[0].1 <= 10_000 && top[0].1 + t.error() >= 10_000);
    }

    #[test]
    fn quantiles_exact_when_few_and_close_when_many() {
        let mut n = Numbers::default();
        for x in 1..=100 {
            n.add(f64::from(x));
        }
        assert_eq!(n.quantiles(&[0.5, 0.99]), (vec![50.0, 99.0], true));
        let mut parts = [Numbers::default(), Numbers::default()];
        for x in 0..200_000 {
            parts[x % 2].add(x as f64);
        }
        let [mut a, b] = parts;
        a.merge(b);
        let (q, exact) = a.quantiles(&[0.5]);
        assert!(!exact);
        assert!((q[0] - 100_000.0).abs() < 2_000.0, "median {}", q[0]);
        assert_eq!((a.min, a.max, a.count), (0.0, 199_999.0, 200_000));
    }

    #[test]
    fn duplicates_counted_across_workers_and_given_up_past_the_budget() {
        let budget = Budget::new(1 << 20);
        let state = KeyState::default();
        let mut a = KeyHashes::new(budget.clone(), Arc::clone(&state));
        let mut b = KeyHashes::new(budget, Arc::clone(&state));
        for v in ["a", "b", "c"] {
            a.add(hash(v.as_bytes()));
        }
        for v in ["c", "d", "d", "d"] {
            b.add(hash(v.as_bytes()));
        }
        a.merge(b);
        assert_eq!(a.duplicates(), Ok(Duplicates { rows: 5, groups: 2 }));
        let mut small = KeyHashes::new(Budget::new(1000), KeyState::default());
        for i in 0..10_000u64 {
            small.add(i);
        }
        assert_eq!(small.duplicates(), Err(GaveUp::Budget));
    }
}
