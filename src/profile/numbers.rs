//! Ranges of number and date columns, and the order of two number columns, counted in the
//! profile's pass. A column's fences are drawn from the sample (the scan's first rows), as
//! a day gap's are: a quarter of the 1st–99th percentile spread beyond each percentile,
//! rounded outward to a round number (dates: to whole years), and not below zero for a
//! column the sample never has negative; every well-formed row is then counted exactly
//! against them, below and above apart, so that a draft `range` rule keeps only a side
//! that few rows cross and fails exactly the rows counted.

use arrow::array::{ArrayRef, BooleanArray, RecordBatch};
use arrow::datatypes::DataType;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::classes::{SH_LATITUDE, SH_LONGITUDE};
use super::read::{self, days, floats, texts};
use crate::rules::BoundColumn;
use crate::values;

/// A column needs this many present values in the sample to earn fences.
const MIN_SAMPLE: usize = 100;
/// Values this rare in the sample (zeros, negatives) are taken for errors, not for the
/// column's range.
const RARE: f64 = 0.001;
/// At most this many number columns are compared pairwise (their pairs grow as the square).
const MAX_ORDERED: usize = 12;

/// A number or date column's fences and the rows beyond them (`profile.json`'s relations,
/// kind `range`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fences {
    /// Whether the column holds dates (fences written `YYYY-MM-DD`) rather than numbers.
    pub date: bool,
    /// The sample's 1st and 99th percentiles, as written in a rule.
    pub p01: String,
    pub p99: String,
    /// The lower fence, as written in a rule, and whether a value may equal it (`min`) or
    /// must lie above it (`above`: the zero of a column never negative in the sample).
    pub low: String,
    pub low_inclusive: bool,
    /// The upper fence (inclusive).
    pub high: String,
    /// Rows below the lower fence, above the upper one.
    pub below: u64,
    pub above: u64,
}

/// A column taking part: its index, whether it holds dates, its fences as numbers (days for
/// dates) and its sample's 1st and 99th percentiles.
#[derive(Debug, Clone)]
struct Column {
    index: usize,
    date: bool,
    low: f64,
    low_inclusive: bool,
    high: f64,
    written: (String, String, String, String),
    sample: (f64, f64),
}

/// The columns and pairs counted, chosen from a sample.
#[derive(Debug, Clone, Default)]
pub struct NumberRoles {
    columns: Vec<Column>,
    /// Pairs (indexes into `columns`) of number columns of one type whose sample ranges (1st
    /// to 99th percentile) overlap: where one is never more than the other, that says something about the rows
    /// (a footprint within its building's area), not about their units.
    pairs: Vec<(usize, usize)>,
}

impl NumberRoles {
    pub fn from_sample(
        columns: &[BoundColumn],
        sample: &RecordBatch,
        well_formed: &[usize],
    ) -> NumberRoles {
        let mut roles = NumberRoles::default();
        for (index, c) in columns.iter().enumerate() {
            let Some(array) = sample.column_by_name(&c.name) else {
                continue;
            };
            let Some((date, values)) = values_of(array) else {
                continue;
            };
            let mut seen: Vec<f64> = well_formed.iter().filter_map(|&r| values[r]).collect();
            if seen.len() < MIN_SAMPLE {
                continue;
            }
            seen.sort_by(f64::total_cmp);
            let at = |q: f64| seen[((seen.len() - 1) as f64 * q).round() as usize];
            let (p01, p99) = (at(0.01), at(0.99));
            let within = |(lo, hi): (f64, f64)| lo <= p01 && p99 <= hi;
            // Coordinates have Shanghai's own ranges (suggested per column).
            if p99 <= p01 || (!date && (within(SH_LONGITUDE) || within(SH_LATITUDE))) {
                continue;
            }
            let reach = (p99 - p01) / 4.0;
            let integral = date || seen.iter().all(|v| v.fract() == 0.0);
            let (low, high, written_low, written_high) = if date {
                let year = |d: f64| values::from_days(d.floor() as i32).map(|d| d.year());
                let (Some(a), Some(b)) = (year(p01 - reach), year(p99 + reach)) else {
                    continue;
                };
                let (Some(first), Some(last)) = (
                    NaiveDate::from_ymd_opt(a, 1, 1),
                    NaiveDate::from_ymd_opt(b, 12, 31),
                ) else {
                    continue;
                };
                (
                    f64::from(values::days(first)),
                    f64::from(values::days(last)),
                    first.to_string(),
                    last.to_string(),
                )
            } else {
                let step = 10f64.powf(reach.log10().floor());
                let step = if integral { step.max(1.0) } else { step };
                let decimals = (-step.log10()).max(0.0) as usize;
                let round = |v: f64| {
                    let text = format!("{v:.decimals$}");
                    let back: f64 = text.parse().unwrap_or(v);
                    (back, text)
                };
                let (low, wl) = round(((p01 - reach) / step).floor() * step);
                let (high, wh) = round(((p99 + reach) / step).ceil() * step);
                (low, high, wl, wh)
            };
            // A column (almost) never negative in the sample is not fenced below zero: its
            // zero is a bound of its own, which values may equal unless (almost) none does
            // (a count from zero, an area above it).
            let zeros = seen.iter().filter(|&&v| v == 0.0).count();
            let rare = |n: usize| n as f64 <= RARE * seen.len() as f64;
            let (low, low_inclusive, written_low) = if !date && p01 >= 0.0 && low < 0.0 {
                (0.0, !rare(zeros), "0".to_string())
            } else {
                (low, true, written_low)
            };
            let show = |v: f64| {
                if date {
                    values::from_days(v as i32).map_or_else(String::new, |d| d.to_string())
                } else {
                    format!("{v}")
                }
            };
            roles.columns.push(Column {
                index,
                date,
                low,
                low_inclusive,
                high,
                written: (show(p01), show(p99), written_low, written_high),
                sample: (p01, p99),
            });
        }
        let numbers: Vec<usize> = (0..roles.columns.len())
            .filter(|&i| !roles.columns[i].date)
            .take(MAX_ORDERED)
            .collect();
        for (k, &a) in numbers.iter().enumerate() {
            for &b in &numbers[k + 1..] {
                let (x, y) = (&roles.columns[a], &roles.columns[b]);
                let same_type = columns[x.index].arrow == columns[y.index].arrow;
                let overlap = x.sample.0 <= y.sample.1 && y.sample.0 <= x.sample.1;
                if same_type && overlap {
                    roles.pairs.push((a, b));
                }
            }
        }
        roles
    }
}

/// A column's values as numbers (dates as days), and whether they are dates; `None` for a
/// column of neither. Text reads as integers (a CSV column the draft types `int`) or dates
/// where every present value does.
fn values_of(a: &ArrayRef) -> Option<(bool, Vec<Option<f64>>)> {
    let date = match a.data_type() {
        t if t.is_numeric() => false,
        DataType::Date32 | DataType::Date64 => true,
        _ => {
            // Text: as integers, else as dates, where every present value reads as one.
            let present = texts(a)?.into_iter().flatten().count();
            if present == 0 {
                return None;
            }
            return [false, true].into_iter().find_map(|date| {
                let values = read_as(a, date)?;
                (values.iter().flatten().count() == present).then_some((date, values))
            });
        }
    };
    Some((date, read_as(a, date)?))
}

/// The counts so far, in one worker.
#[derive(Debug, Clone)]
pub struct NumbersAcc {
    roles: NumberRoles,
    /// `[compared, below, above]` per column.
    fenced: Vec<[u64; 3]>,
    /// `[less, equal, greater]` per pair.
    order: Vec<[u64; 3]>,
}

impl NumbersAcc {
    pub fn new(roles: NumberRoles) -> NumbersAcc {
        NumbersAcc {
            fenced: vec![[0; 3]; roles.columns.len()],
            order: vec![[0; 3]; roles.pairs.len()],
            roles,
        }
    }

    pub fn update(
        &mut self,
        columns: &[BoundColumn],
        batch: &RecordBatch,
        keep: Option<&BooleanArray>,
    ) {
        if self.roles.columns.is_empty() {
            return;
        }
        let kept = |r: usize| keep.is_none_or(|k| k.value(r));
        let values: Vec<Vec<Option<f64>>> = self
            .roles
            .columns
            .iter()
            .map(|c| {
                batch
                    .column_by_name(&columns[c.index].name)
                    .and_then(|a| read_as(a, c.date))
                    .unwrap_or_else(|| vec![None; batch.num_rows()])
            })
            .collect();
        for (c, (col, vals)) in self.roles.columns.iter().zip(&values).enumerate() {
            let counts = &mut self.fenced[c];
            for (r, v) in vals.iter().enumerate() {
                let Some(v) = *v else { continue };
                if !kept(r) {
                    continue;
                }
                counts[0] += 1;
                let below = if col.low_inclusive {
                    v < col.low
                } else {
                    v <= col.low
                };
                counts[1] += u64::from(below);
                counts[2] += u64::from(v > col.high);
            }
        }
        for (p, &(a, b)) in self.roles.pairs.iter().enumerate() {
            let counts = &mut self.order[p];
            for (r, (x, y)) in values[a].iter().zip(&values[b]).enumerate() {
                if let (Some(x), Some(y)) = (x, y)
                    && kept(r)
                {
                    counts[usize::from(x >= y) + usize::from(x > y)] += 1;
                }
            }
        }
    }

    pub fn merge(&mut self, other: &NumbersAcc) {
        for (a, b) in self
            .fenced
            .iter_mut()
            .chain(self.order.iter_mut())
            .zip(other.fenced.iter().chain(&other.order))
        {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }

    /// Per column its fences and counts (`compared` first); per pair `[less, equal,
    /// greater]`.
    #[allow(clippy::type_complexity)]
    pub fn finish(
        self,
        columns: &[BoundColumn],
    ) -> (Vec<(String, u64, Fences)>, Vec<(String, String, [u64; 3])>) {
        let name = |c: &Column| columns[c.index].name.clone();
        let cols = &self.roles.columns;
        let fenced = cols
            .iter()
            .zip(&self.fenced)
            .map(|(c, &[compared, below, above])| {
                let (p01, p99, low, high) = c.written.clone();
                (
                    name(c),
                    compared,
                    Fences {
                        date: c.date,
                        p01,
                        p99,
                        low,
                        low_inclusive: c.low_inclusive,
                        high,
                        below,
                        above,
                    },
                )
            })
            .collect();
        let ordered = self
            .roles
            .pairs
            .iter()
            .zip(&self.order)
            .map(|(&(a, b), &counts)| (name(&cols[a]), name(&cols[b]), counts))
            .collect();
        (fenced, ordered)
    }
}

/// A batch column read as in the sample: numbers (text as integers), or dates as days.
fn read_as(a: &ArrayRef, date: bool) -> Option<Vec<Option<f64>>> {
    if date {
        return days(a).map(|d| d.into_iter().map(|d| d.map(f64::from)).collect());
    }
    if let Some(f) = floats(a) {
        return Some(f);
    }
    read::ints(a).map(|n| n.into_iter().map(|v| v.map(|n| n as f64)).collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Date32Array, Float64Array, Int64Array};
    use arrow::datatypes::{Field, Schema};

    use super::*;
    use crate::rules::ColumnType;

    /// Build years 1900–2024 (a digit dropped in two), floors 1–60 (one typed 250), areas with
    /// a footprint within them but once, update days of 2005–2025 (one in 1995).
    fn batch(rows: usize) -> (Vec<BoundColumn>, RecordBatch) {
        let columns = vec![
            BoundColumn::plain("build_year", ColumnType::Int),
            BoundColumn::plain("floors", ColumnType::Int),
            BoundColumn::plain("footprint", ColumnType::Float),
            BoundColumn::plain("area", ColumnType::Float),
            BoundColumn::plain("updated_on", ColumnType::Date),
        ];
        let year: Vec<i64> = (0..rows)
            .map(|i| match i {
                7 => 199,
                8 => 2090,
                _ => 1900 + (i % 125) as i64,
            })
            .collect();
        let floors: Vec<i64> = (0..rows)
            .map(|i| if i == 9 { 250 } else { 1 + (i % 60) as i64 })
            .collect();
        let footprint: Vec<f64> = (0..rows).map(|i| 20.0 + (i % 100) as f64).collect();
        let area: Vec<f64> = (0..rows)
            .map(|i| if i == 11 { 5.0 } else { footprint[i] * 2.0 })
            .collect();
        let first = values::iso_day("2005-01-01").unwrap();
        let updated: Vec<i32> = (0..rows)
            .map(|i| {
                if i == 12 {
                    values::iso_day("1995-06-01").unwrap()
                } else {
                    first + (i * 7 % 7670) as i32
                }
            })
            .collect();
        let schema = Arc::new(Schema::new(vec![
            Field::new("build_year", DataType::Int64, true),
            Field::new("floors", DataType::Int64, true),
            Field::new("footprint", DataType::Float64, true),
            Field::new("area", DataType::Float64, true),
            Field::new("updated_on", DataType::Date32, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(year)),
                Arc::new(Int64Array::from(floors)),
                Arc::new(Float64Array::from(footprint)),
                Arc::new(Float64Array::from(area)),
                Arc::new(Date32Array::from(updated)),
            ],
        )
        .unwrap();
        (columns, batch)
    }

    #[test]
    fn fences_from_the_sample_count_the_rows_beyond_them() {
        let (columns, batch) = batch(2000);
        let all: Vec<usize> = (0..batch.num_rows()).collect();
        let roles = NumberRoles::from_sample(&columns, &batch, &all);
        let mut acc = NumbersAcc::new(roles.clone());
        acc.update(&columns, &batch, None);
        let mut other = NumbersAcc::new(roles);
        other.update(&columns, &batch.slice(0, 20), None);
        acc.merge(&other);
        let (fenced, ordered) = acc.finish(&columns);
        let of = |name: &str| fenced.iter().find(|f| f.0 == name).unwrap();
        // Years: 1st–99th percentile 1901–2023, a quarter of the spread (30.5) beyond,
        // rounded outward to tens.
        let (_, compared, years) = of("build_year");
        assert_eq!(*compared, 2020);
        assert_eq!((years.low.as_str(), years.high.as_str()), ("1870", "2060"));
        assert_eq!((years.below, years.above), (2, 2));
        // Floors never below 1 in the sample: fenced above zero, not below it.
        let (_, _, floors) = of("floors");
        assert_eq!((floors.low.as_str(), floors.low_inclusive), ("0", false));
        assert_eq!((floors.below, floors.above), (0, 2));
        // Dates: to whole years.
        let (_, _, days) = of("updated_on");
        assert!(days.date);
        assert_eq!(days.low.as_str(), "2000-01-01");
        assert_eq!(days.below, 2);
        // Footprint and area overlap: their order is counted; floors and years do not.
        assert_eq!(
            ordered,
            vec![("footprint".to_string(), "area".to_string(), [2018, 0, 2])]
        );
    }
}
