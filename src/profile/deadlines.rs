//! Deadlines in working days that hold for one value of a column of few values (an
//! electronic certificate reported within 5 working days of issue, a paper one within 15),
//! counted in the profile's pass. For each pair of date columns whose sample gaps are short
//! and in order, and each value of each column of few values, rows are counted by the
//! working days from the first date to the second (`qc_workdays_between`, on qc's built-in
//! calendar), so that the draft rule `qc_workdays_between(a, b) <= m` for those rows fails
//! exactly the rows counted beyond `m`.
//!
//! A deadline shows as a cliff: the gaps fill every working day up to it, then almost
//! none. It is drafted for a value only where it is tighter than the cliff over all rows of
//! the pair, so a deadline common to every row is left to the date-order rules.

use std::sync::Arc;

use arrow::array::{BooleanArray, RecordBatch};
use serde::{Deserialize, Serialize};

use super::read::{days, role_values, texts};
use crate::checks::workdays::Calendar;
use crate::rules::BoundColumn;

/// At most this many date pairs and columns of few values are counted.
const MAX_PAIRS: usize = 8;
const MAX_KEYS: usize = 8;
/// A column of few values has at most this many distinct values in the sample.
const MAX_VALUES: usize = 8;
/// A pair of dates takes part when this share of the sample's rows with both has the
/// second on or after the first, within a year.
const IN_ORDER: f64 = 0.99;
/// Gaps of up to this many working days are counted one by one.
const MAX_GAP: usize = 64;
/// A day of gaps belongs to the bulk when it holds at least this share of the fullest day.
const CLIFF: f64 = 0.05;
/// A deadline must hold in this share of its rows (its late rows are sparse by the cliff:
/// a small group with a few late rows still shows it).
const HOLDS: f64 = 0.98;
/// A value's deadline is drafted when it is at most this share of the deadline over all
/// rows of the pair (a day or two less is the noise of a smaller group).
const TIGHTER: f64 = 0.75;
/// A deadline judged on fewer rows proves nothing.
const MIN_COMPARED: u64 = 100;

/// One value's deadline (`profile.json`'s relations, kind `deadline`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// The working days within which the second date follows the first.
    pub within: u64,
    /// The same over all rows of the pair, where the gaps show a cliff at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_rows: Option<u64>,
    /// Rows of the value with both dates inside the calendar, and those later than
    /// `within`.
    pub compared: u64,
    pub late: u64,
    /// The first and last day of the calendar (`YYYY-MM-DD`): dates outside are not judged.
    pub calendar: (String, String),
}

/// Rows by working days from the first date to the second: `0..=MAX_GAP`, then beyond;
/// a second date before the first counts at 0 (the rule passes it).
#[derive(Debug, Clone)]
struct Gaps([u64; MAX_GAP + 2]);

impl Gaps {
    fn add(&mut self, gap: i64) {
        self.0[usize::try_from(gap).unwrap_or(0).min(MAX_GAP + 1)] += 1;
    }

    fn merge(&mut self, other: &Gaps) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// The last day of the bulk (from the fullest day on, the days holding at least
    /// [`CLIFF`] of it), with the rows counted and those beyond it.
    fn cliff(&self) -> Option<(u64, u64, u64)> {
        let n: u64 = self.0.iter().sum();
        let (top, most) = self
            .0
            .iter()
            .enumerate()
            .max_by_key(|&(i, c)| (c, std::cmp::Reverse(i)))?;
        if *most == 0 {
            return None;
        }
        let bulk = (*most as f64 * CLIFF).ceil() as u64;
        let last = top + self.0[top..].iter().take_while(|&&c| c >= bulk).count() - 1;
        if last > MAX_GAP - 1 {
            return None;
        }
        let late: u64 = self.0[last + 1..].iter().sum();
        Some((last as u64, n, late))
    }
}

/// The date pairs and the columns of few values with their sample values, chosen from a
/// sample (indexes into the table's columns).
#[derive(Debug, Clone, Default)]
pub struct DeadlineRoles {
    pairs: Vec<(usize, usize)>,
    keys: Vec<(usize, Vec<String>)>,
    /// The calendar's first and last day.
    covers: (i32, i32),
}

impl DeadlineRoles {
    pub fn from_sample(
        columns: &[BoundColumn],
        sample: &RecordBatch,
        well_formed: &[usize],
    ) -> DeadlineRoles {
        let calendar = Calendar::builtin();
        let covers = calendar.covers();
        let column = |i: usize| sample.column_by_name(&columns[i].name);
        let dates: Vec<(usize, Vec<Option<i32>>)> = (0..columns.len())
            .filter_map(|i| Some((i, column(i).and_then(days)?)))
            .filter(|(_, d)| well_formed.iter().any(|&r| d[r].is_some()))
            .collect();
        let mut pairs = Vec::new();
        for (a, x) in &dates {
            for (b, y) in dates.iter().filter(|(b, _)| b != a) {
                let gaps: Vec<i32> = well_formed
                    .iter()
                    .filter_map(|&r| Some(y[r]? - x[r]?))
                    .collect();
                let in_order = gaps.iter().filter(|&&g| (0..=366).contains(&g)).count();
                if !gaps.is_empty()
                    && in_order as f64 >= IN_ORDER * gaps.len() as f64
                    && pairs.len() < MAX_PAIRS
                {
                    pairs.push((*a, *b));
                }
            }
        }
        let mut keys = Vec::new();
        for i in 0..columns.len() {
            let Some(text) = column(i).and_then(texts) else {
                continue;
            };
            let mut values: Vec<String> = Vec::new();
            for v in well_formed.iter().filter_map(|&r| text[r]) {
                if !values.iter().any(|x| x == v) {
                    values.push(v.to_string());
                    if values.len() > MAX_VALUES {
                        break;
                    }
                }
            }
            if (2..=MAX_VALUES).contains(&values.len()) && keys.len() < MAX_KEYS {
                values.sort();
                keys.push((i, values));
            }
        }
        if pairs.is_empty() {
            keys.clear();
        }
        DeadlineRoles {
            pairs,
            keys,
            covers,
        }
    }

    /// Counters per pair: all rows, then each key's values in order.
    fn slots(&self) -> usize {
        1 + self.keys.iter().map(|(_, v)| v.len()).sum::<usize>()
    }
}

/// The counts so far, in one worker.
#[derive(Debug, Clone)]
pub struct DeadlineAcc {
    roles: DeadlineRoles,
    calendar: Arc<Calendar>,
    /// Per pair, [`DeadlineRoles::slots`] gap counts (pair-major).
    gaps: Vec<Gaps>,
}

impl DeadlineAcc {
    pub fn new(roles: DeadlineRoles) -> DeadlineAcc {
        DeadlineAcc {
            gaps: vec![Gaps([0; MAX_GAP + 2]); roles.pairs.len() * roles.slots()],
            calendar: Calendar::builtin(),
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
        // Each key's value per row, as the slot it counts in (within its key's block).
        let key_columns: Vec<usize> = r.keys.iter().map(|(i, _)| *i).collect();
        let keys: Vec<Vec<Option<usize>>> = role_values(batch, columns, &key_columns, texts)
            .iter()
            .zip(&r.keys)
            .map(|(text, (_, values))| {
                text.iter()
                    .map(|v| values.iter().position(|x| Some(x.as_str()) == *v))
                    .collect()
            })
            .collect();
        let slots = r.slots();
        let (first, last) = r.covers;
        let inside = |d: Option<i32>| d.filter(|d| (first..=last).contains(d));
        // Each date column read once, however many pairs it is in.
        let mut date_columns: Vec<usize> = r.pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
        date_columns.sort_unstable();
        date_columns.dedup();
        let dates = role_values(batch, columns, &date_columns, days);
        let date = |i: usize| date_columns.binary_search(&i).map(|k| &dates[k]);
        for (p, &(a, b)) in r.pairs.iter().enumerate() {
            let (Ok(x), Ok(y)) = (date(a), date(b)) else {
                continue;
            };
            for row in (0..batch.num_rows()).filter(|&row| keep.is_none_or(|k| k.value(row))) {
                let (Some(from), Some(to)) = (inside(x[row]), inside(y[row])) else {
                    continue;
                };
                let Ok(gap) = self.calendar.between(from, to) else {
                    continue;
                };
                let at = p * slots;
                self.gaps[at].add(gap);
                let mut block = at + 1;
                for (k, (_, values)) in keys.iter().zip(&r.keys) {
                    if let Some(v) = k[row] {
                        self.gaps[block + v].add(gap);
                    }
                    block += values.len();
                }
            }
        }
    }

    pub fn merge(&mut self, other: &DeadlineAcc) {
        for (a, b) in self.gaps.iter_mut().zip(&other.gaps) {
            a.merge(b);
        }
    }

    /// Per column of few values and value, the tightest deadline over the date pairs that
    /// holds and is tighter than over all rows of its pair: (first date, second date,
    /// column, value, deadline).
    pub fn finish(
        self,
        columns: &[BoundColumn],
    ) -> Vec<(String, String, String, String, Deadline)> {
        let r = &self.roles;
        let name = |i: usize| columns[i].name.clone();
        let day = |d: i32| crate::values::from_days(d).map_or_else(String::new, |d| d.to_string());
        let calendar = (day(r.covers.0), day(r.covers.1));
        let slots = r.slots();
        let mut out = Vec::new();
        let mut block = 1;
        for (key, values) in &r.keys {
            for (v, value) in values.iter().enumerate() {
                let best = r
                    .pairs
                    .iter()
                    .enumerate()
                    .filter_map(|(p, &(a, b))| {
                        let all_rows = self.gaps[p * slots].cliff().map(|c| c.0);
                        let (within, compared, late) = self.gaps[p * slots + block + v].cliff()?;
                        let holds = (compared - late) as f64 >= HOLDS * compared as f64;
                        (compared >= MIN_COMPARED
                            && holds
                            && all_rows.is_none_or(|m| within as f64 <= TIGHTER * m as f64))
                        .then_some((
                            a,
                            b,
                            Deadline {
                                within,
                                all_rows,
                                compared,
                                late,
                                calendar: calendar.clone(),
                            },
                        ))
                    })
                    .min_by_key(|(_, _, d)| (d.within, d.late));
                if let Some((a, b, d)) = best {
                    out.push((name(a), name(b), name(*key), value.clone(), d));
                }
            }
            block += values.len();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_is_the_end_of_the_bulk() {
        let mut g = Gaps([0; MAX_GAP + 2]);
        for gap in 0..=5 {
            for _ in 0..100 {
                g.add(gap);
            }
        }
        // Two late rows, and a second date before the first (counted at 0).
        g.add(7);
        g.add(12);
        g.add(-3);
        assert_eq!(g.cliff(), Some((5, 603, 2)));
        // A tail that thins out slowly ends where it falls below 5 % of the fullest day.
        let mut t = Gaps([0; MAX_GAP + 2]);
        for (gap, n) in [
            (0, 1000),
            (1, 500),
            (2, 250),
            (3, 120),
            (4, 60),
            (5, 30),
            (6, 15),
        ] {
            for _ in 0..n {
                t.add(gap);
            }
        }
        assert_eq!(t.cliff(), Some((4, 1975, 45)));
    }
}
