//! Codes that share their leading characters, counted in the profile's pass: a street code
//! begins with its district's code, a committee's with its street's, an address or a
//! real-estate unit code with its division's. For each pair of code columns (chosen from the
//! sample: mostly letters and digits, led by six digits) the rows are counted by how many
//! leading characters the two values share, so that the draft rule `substr(a, 1, k) =
//! substr(b, 1, k)` for any `k` fails exactly the rows counted below `k`. The same is
//! counted for each value against another row's (half a batch away): a prefix nearly every
//! pair of values shares by chance (`31…` of Shanghai's codes) says nothing about the row.

use arrow::array::{BooleanArray, RecordBatch};
use serde::{Deserialize, Serialize};

use super::read::{self, texts};
use crate::rules::BoundColumn;

/// At most this many code columns are paired.
const MAX_CODES: usize = 8;
/// A column is a code column when this share of its sample's values is one.
const CODE_SHARE: f64 = 0.8;
/// Leading characters are counted up to this many.
pub const MAX_SHARED: usize = 32;
/// Codes sharing fewer leading characters than this are not taken as related.
pub const MIN_LEVEL: usize = 4;
/// Leading characters shared by more than this share of other rows' value pairs are shared
/// by chance.
const MAX_CHANCE: f64 = 0.9;

/// How many leading characters two code columns share, row by row (`profile.json`'s
/// relations, kind `prefix`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shared {
    /// Rows where both values are present and equal.
    pub equal: u64,
    /// `rows[k]`: rows where both are present and differ, sharing exactly `k` leading
    /// characters (up to [`MAX_SHARED`]).
    pub rows: Vec<u64>,
    /// The same for a value against another row's value of the other column (equal values
    /// counted at [`MAX_SHARED`]): what the columns share by chance.
    pub chance: Vec<u64>,
}

impl Shared {
    /// Rows compared, and those whose values agree in their first `k` characters.
    pub fn agree(&self, k: usize) -> (u64, u64) {
        let compared = self.equal + self.rows.iter().sum::<u64>();
        (compared, self.equal + self.rows.iter().skip(k).sum::<u64>())
    }

    /// The share of other rows' value pairs that agree in their first `k` characters.
    pub fn by_chance(&self, k: usize) -> f64 {
        let all: u64 = self.chance.iter().sum();
        self.chance.iter().skip(k).sum::<u64>() as f64 / all.max(1) as f64
    }

    /// The most leading characters, at least [`MIN_LEVEL`], the values agree in within at
    /// least `share` of the rows compared, where other rows' values do in at most 90 %.
    pub fn level(&self, share: f64) -> Option<usize> {
        (MIN_LEVEL..=MAX_SHARED).rev().find(|&k| {
            let (compared, agree) = self.agree(k);
            compared > 0
                && agree as f64 >= share * compared as f64
                && self.by_chance(k) <= MAX_CHANCE
        })
    }
}

/// Whether `s` is written as a code: ASCII letters and digits, 6 to [`MAX_SHARED`] of
/// them, the first six digits.
fn is_code(s: &str) -> bool {
    let b = s.as_bytes();
    (6..=MAX_SHARED).contains(&b.len())
        && b[..6].iter().all(u8::is_ascii_digit)
        && b.iter().all(u8::is_ascii_alphanumeric)
}

/// The code columns (indexes into the table's columns), chosen from a sample.
#[derive(Debug, Clone, Default)]
pub struct CodeRoles {
    codes: Vec<usize>,
}

impl CodeRoles {
    pub fn from_sample(
        columns: &[BoundColumn],
        sample: &RecordBatch,
        well_formed: &[usize],
    ) -> CodeRoles {
        let mut codes = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            let Some(text) = sample.column_by_name(&c.name).and_then(texts) else {
                continue;
            };
            let present: Vec<&str> = well_formed.iter().filter_map(|&r| text[r]).collect();
            let written_as_code = present.iter().filter(|s| is_code(s)).count();
            if !present.is_empty()
                && written_as_code as f64 >= CODE_SHARE * present.len() as f64
                && codes.len() < MAX_CODES
            {
                codes.push(i);
            }
        }
        CodeRoles { codes }
    }
}

/// Leading characters `a` and `b` share, up to [`MAX_SHARED`].
fn shared(a: &str, b: &str) -> usize {
    a.chars()
        .zip(b.chars())
        .take(MAX_SHARED)
        .take_while(|(x, y)| x == y)
        .count()
}

/// The counts so far, in one worker.
#[derive(Debug, Clone)]
pub struct PrefixAcc {
    roles: CodeRoles,
    /// Per pair `a < b` (of `roles.codes`, row-major): `[equal, shared 0..=MAX_SHARED]`,
    /// then the chance counts.
    counts: Vec<([u64; MAX_SHARED + 2], [u64; MAX_SHARED + 1])>,
}

impl PrefixAcc {
    pub fn new(roles: CodeRoles) -> PrefixAcc {
        let n = roles.codes.len();
        PrefixAcc {
            counts: vec![([0; MAX_SHARED + 2], [0; MAX_SHARED + 1]); n * n.saturating_sub(1) / 2],
            roles,
        }
    }

    pub fn update(
        &mut self,
        columns: &[BoundColumn],
        batch: &RecordBatch,
        keep: Option<&BooleanArray>,
    ) {
        let codes = &self.roles.codes;
        if codes.len() < 2 {
            return;
        }
        let rows = batch.num_rows();
        let kept = |r: usize| keep.is_none_or(|k| k.value(r));
        let values: Vec<Vec<Option<&str>>> = codes
            .iter()
            .map(|&i| {
                batch
                    .column_by_name(&columns[i].name)
                    .and_then(read::texts)
                    .unwrap_or_else(|| vec![None; rows])
            })
            .collect();
        let mut pair = 0;
        for a in 0..codes.len() {
            for b in a + 1..codes.len() {
                let (own, chance) = &mut self.counts[pair];
                pair += 1;
                for r in (0..rows).filter(|&r| kept(r)) {
                    if let (Some(x), Some(y)) = (values[a][r], values[b][r]) {
                        if x == y {
                            own[0] += 1;
                        } else {
                            own[1 + shared(x, y)] += 1;
                        }
                    }
                    let other = (r + rows / 2) % rows;
                    if let (Some(x), Some(y)) = (values[a][r], values[b][other])
                        && kept(other)
                    {
                        chance[if x == y { MAX_SHARED } else { shared(x, y) }] += 1;
                    }
                }
            }
        }
    }

    pub fn merge(&mut self, other: &PrefixAcc) {
        for ((a, b), (x, y)) in self.counts.iter_mut().zip(&other.counts) {
            for (m, n) in a.iter_mut().zip(x) {
                *m += n;
            }
            for (m, n) in b.iter_mut().zip(y) {
                *m += n;
            }
        }
    }

    /// Per pair of code columns, the rows by leading characters shared.
    pub fn finish(self, columns: &[BoundColumn]) -> Vec<(String, String, Shared)> {
        let codes = &self.roles.codes;
        let trimmed = |v: &[u64]| {
            let end = v.iter().rposition(|&n| n > 0).map_or(0, |i| i + 1);
            v[..end].to_vec()
        };
        let mut out = Vec::new();
        let mut pair = 0;
        for a in 0..codes.len() {
            for b in a + 1..codes.len() {
                let (own, chance) = &self.counts[pair];
                pair += 1;
                out.push((
                    columns[codes[a]].name.clone(),
                    columns[codes[b]].name.clone(),
                    Shared {
                        equal: own[0],
                        rows: trimmed(&own[1..]),
                        chance: trimmed(chance),
                    },
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_shared_characters() {
        assert!(is_code("310101"));
        assert!(is_code("310101001001GB00001F00010001"));
        assert!(!is_code("31010"));
        assert!(!is_code("J310101-2020-000001"));
        assert!(!is_code("3101A1001"));
        assert_eq!(shared("310101001", "310101"), 6);
        assert_eq!(shared("310101001", "310104002"), 5);
        assert_eq!(shared("无", "310101"), 0);
        let s = Shared {
            equal: 2,
            rows: vec![1, 0, 0, 0, 0, 3, 10],
            chance: vec![10, 0, 0, 0, 1, 1],
        };
        assert_eq!(s.agree(6), (16, 12));
        assert_eq!(s.agree(5), (16, 15));
        assert!((s.by_chance(5) - 1.0 / 12.0).abs() < 1e-12);
    }
}
