//! A column that repeats another column's ID number as its person key (a death
//! certificate numbered by the deceased's ID number), counted in the profile's pass day by
//! day of each date column: numbering schemes change on a stated day, so the draft can say
//! from which day on the rule holds. Rows count where both values are present and the ID
//! column's person key (`qc_id_canonical`) is read; a row whose value differs from that key
//! fails the draft rule `"copy" = qc_id_canonical("id")` (from the cut day on).

use std::borrow::Cow;

use arrow::array::{BooleanArray, RecordBatch};
use serde::{Deserialize, Serialize};

use super::read::{days, role_values, texts};
use crate::checks::id_number as id;
use crate::rules::BoundColumn;
use crate::values;

/// At most this many (copy, ID) column pairs are counted.
const MAX_PAIRS: usize = 8;
/// A column may repeat ID numbers when this share of its sample's values is written as a
/// document number: ASCII letters and digits, 8 to 32 of them.
const SHAPE_SHARE: f64 = 0.8;
/// The rule must hold in this share of the rows it judges (from its cut day on), and
/// before the cut day the columns must differ in as large a share.
const HOLDS: f64 = 0.99;
/// A rule judged on fewer rows proves nothing.
const MIN_COMPARED: u64 = 100;
/// Days counted one by one: 1900-01-01 up to 2100-01-01 (days since 1970-01-01); a date
/// outside counts at the nearest end.
const FIRST_DAY: i32 = -25_567;
const DAYS: usize = 73_049;

/// The counts behind one drafted rule (`profile.json`'s relations, kind `copy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copied {
    /// The date column and the first day from which the rule holds; none when it holds on
    /// every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<(String, String)>,
    /// Rows judged from that day on (or on every row), and those differing.
    pub compared: u64,
    pub differ: u64,
    /// Rows judged before that day, and those where the values were equal all the same.
    pub before: u64,
    pub before_equal: u64,
}

/// Whether `s` is written as a document number.
fn is_number(s: &str) -> bool {
    (8..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The pairs counted and the date columns they are counted by (indexes into the table's
/// columns), chosen from a sample.
#[derive(Debug, Clone, Default)]
pub struct CopyRoles {
    /// (copy, ID number) pairs.
    pairs: Vec<(usize, usize)>,
    dates: Vec<usize>,
}

impl CopyRoles {
    /// Pairs of each ID column in `ids` with every other column written as document numbers
    /// in the sample, counted by the date columns `dates`.
    pub fn from_sample(
        columns: &[BoundColumn],
        sample: &RecordBatch,
        well_formed: &[usize],
        ids: &[usize],
        dates: &[usize],
    ) -> CopyRoles {
        let mut pairs = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            let Some(text) = sample.column_by_name(&c.name).and_then(texts) else {
                continue;
            };
            let present: Vec<&str> = well_formed.iter().filter_map(|&r| text[r]).collect();
            let numbers = present.iter().filter(|s| is_number(s)).count();
            if present.is_empty() || (numbers as f64) < SHAPE_SHARE * present.len() as f64 {
                continue;
            }
            for &of in ids.iter().filter(|&&of| of != i) {
                if pairs.len() < MAX_PAIRS {
                    pairs.push((i, of));
                }
            }
        }
        CopyRoles {
            pairs,
            dates: dates.to_vec(),
        }
    }
}

/// `[judged, equal]` rows by day of one date column (allocated at the first row).
#[derive(Debug, Clone, Default)]
struct ByDay(Vec<[u64; 2]>);

impl ByDay {
    fn add(&mut self, day: i32, equal: bool) {
        if self.0.is_empty() {
            self.0 = vec![[0; 2]; DAYS];
        }
        let at = (i64::from(day) - i64::from(FIRST_DAY)).clamp(0, DAYS as i64 - 1) as usize;
        self.0[at][0] += 1;
        self.0[at][1] += u64::from(equal);
    }

    fn merge(&mut self, other: &ByDay) {
        if self.0.is_empty() {
            self.0.clone_from(&other.0);
        } else {
            for (a, b) in self.0.iter_mut().zip(&other.0) {
                a[0] += b[0];
                a[1] += b[1];
            }
        }
    }

    /// The day from which the values are equal in at least [`HOLDS`] of the rows judged,
    /// having differed before in as large a share, with the counts after and before it:
    /// the cut that leaves the fewest rows on the wrong side, moved back to the first of
    /// its month or year when no row lies between.
    fn cut(&self) -> Option<(i32, Copied)> {
        let days = &self.0;
        let (all, all_equal) = days.iter().fold((0, 0), |(n, e), d| (n + d[0], e + d[1]));
        // Rows before the cut that are equal, and rows from it on that differ.
        let (mut before, mut before_equal) = (0u64, 0u64);
        let mut best: Option<(u64, usize, u64, u64)> = None;
        for (at, d) in days.iter().enumerate() {
            if d[0] == 0 {
                continue;
            }
            if before > 0 {
                let wrong = before_equal + (all - before) - (all_equal - before_equal);
                if best.is_none_or(|b| wrong < b.0) {
                    best = Some((wrong, at, before, before_equal));
                }
            }
            before += d[0];
            before_equal += d[1];
        }
        let (_, at, before, before_equal) = best?;
        let (compared, equal) = (all - before, all_equal - before_equal);
        let holds = |n: u64, k: u64| k as f64 >= HOLDS * n as f64;
        if compared < MIN_COMPARED
            || !holds(compared, equal)
            || !holds(before, before - before_equal)
        {
            return None;
        }
        // The last day with rows before the cut; the cut moves back to the first of the
        // year or of the month after it, if that is no later.
        let last = days[..at].iter().rposition(|d| d[0] > 0)?;
        let day = |at: usize| FIRST_DAY + at as i32;
        let mut from = day(at);
        if let (Some(cut), Some(prev)) = (values::from_days(from), values::from_days(day(last))) {
            use chrono::{Datelike, NaiveDate};
            let round = [
                NaiveDate::from_ymd_opt(cut.year(), 1, 1),
                NaiveDate::from_ymd_opt(cut.year(), cut.month(), 1),
            ];
            if let Some(r) = round.into_iter().flatten().find(|r| *r > prev) {
                from = values::days(r);
            }
        }
        Some((
            from,
            Copied {
                since: None,
                compared,
                differ: compared - equal,
                before,
                before_equal,
            },
        ))
    }
}

/// The counts so far, in one worker.
#[derive(Debug, Clone)]
pub struct CopyAcc {
    roles: CopyRoles,
    /// `[judged, equal]` per pair.
    all: Vec<[u64; 2]>,
    /// Per pair, per date column (pair-major).
    by_day: Vec<ByDay>,
}

impl CopyAcc {
    pub fn new(roles: CopyRoles) -> CopyAcc {
        CopyAcc {
            all: vec![[0; 2]; roles.pairs.len()],
            by_day: vec![ByDay::default(); roles.pairs.len() * roles.dates.len()],
            roles,
        }
    }

    pub fn update(
        &mut self,
        columns: &[BoundColumn],
        batch: &RecordBatch,
        keep: Option<&BooleanArray>,
    ) {
        let r = &self.roles;
        if r.pairs.is_empty() {
            return;
        }
        let rows = batch.num_rows();
        let dates = role_values(batch, columns, &r.dates, days);
        // Each ID column's person keys, read once however many pairs use it.
        let mut ids: Vec<usize> = r.pairs.iter().map(|&(_, of)| of).collect();
        ids.sort_unstable();
        ids.dedup();
        let keys: Vec<Vec<Option<String>>> = role_values(batch, columns, &ids, texts)
            .into_iter()
            .map(|text| {
                text.into_iter()
                    .enumerate()
                    .map(|(row, v)| {
                        v.filter(|_| keep.is_none_or(|k| k.value(row)))
                            .and_then(|v| id::canonical(v).map(Cow::into_owned))
                    })
                    .collect()
            })
            .collect();
        for (p, &(copy, of)) in r.pairs.iter().enumerate() {
            let Ok(k) = ids.binary_search(&of) else {
                continue;
            };
            let key = &keys[k];
            let values = &role_values(batch, columns, &[copy], texts)[0];
            for row in 0..rows {
                let (Some(v), Some(k)) = (values[row], key[row].as_deref()) else {
                    continue;
                };
                let equal = v == k;
                self.all[p][0] += 1;
                self.all[p][1] += u64::from(equal);
                for (d, date) in dates.iter().enumerate() {
                    if let Some(day) = date[row] {
                        self.by_day[p * dates.len() + d].add(day, equal);
                    }
                }
            }
        }
    }

    pub fn merge(&mut self, other: &CopyAcc) {
        for (a, b) in self.all.iter_mut().zip(&other.all) {
            a[0] += b[0];
            a[1] += b[1];
        }
        for (a, b) in self.by_day.iter_mut().zip(&other.by_day) {
            a.merge(b);
        }
    }

    /// Per pair where a rule holds: the copy column, the ID column and the counts, on every
    /// row or from the cut day of the date column that leaves fewest rows on the wrong side.
    pub fn finish(self, columns: &[BoundColumn]) -> Vec<(String, String, Copied)> {
        let r = &self.roles;
        let name = |i: usize| columns[i].name.clone();
        let mut out = Vec::new();
        for (p, &(copy, of)) in r.pairs.iter().enumerate() {
            let [judged, equal] = self.all[p];
            if judged >= MIN_COMPARED && equal as f64 >= HOLDS * judged as f64 {
                out.push((
                    name(copy),
                    name(of),
                    Copied {
                        since: None,
                        compared: judged,
                        differ: judged - equal,
                        before: 0,
                        before_equal: 0,
                    },
                ));
                continue;
            }
            let wrong = |c: &Copied| c.differ + c.before_equal;
            let best = (0..r.dates.len())
                .filter_map(|d| {
                    let (from, counts) = self.by_day[p * r.dates.len() + d].cut()?;
                    let day = values::from_days(from)?.to_string();
                    Some(Copied {
                        since: Some((name(r.dates[d]), day)),
                        ..counts
                    })
                })
                .min_by_key(wrong);
            if let Some(best) = best {
                out.push((name(copy), name(of), best));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cut_leaves_fewest_rows_on_the_wrong_side_and_moves_to_the_first_of_the_month() {
        let mut d = ByDay::default();
        let june_30 = values::days(chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap());
        // Before July 1: 200 rows, numbered otherwise; from July 3 (a Friday, say): 300
        // rows, 2 numbered the old way.
        for i in 0..200 {
            d.add(june_30 - (i % 30), false);
        }
        for i in 0..300 {
            d.add(june_30 + 3 + (i % 20), i >= 2);
        }
        let (from, c) = d.cut().unwrap();
        assert_eq!(values::from_days(from).unwrap().to_string(), "2026-07-01");
        assert_eq!(
            (c.compared, c.differ, c.before, c.before_equal),
            (300, 2, 200, 0)
        );
        // Equal as often before the cut: no cut.
        let mut mixed = ByDay::default();
        for i in 0..500 {
            mixed.add(june_30 - 100 + i, i % 2 == 0);
        }
        assert!(mixed.cut().is_none());
        assert!(is_number("310101198001011234"));
        assert!(is_number("DR0000000123"));
        assert!(!is_number("J310101-2020-000001"));
    }
}
