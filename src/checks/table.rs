//! Table-level checks (`table_checks:`): properties of a table as a whole — its row count,
//! the change of that count since the previous run, how recent its latest date is, and how
//! complete a column is. Each has a verdict; none has anomalous rows.

use serde::Deserialize;

use crate::rules::{ColumnType, Spanned};

pub const DOC: &str = "\
# table_checks

## What it checks
Properties of the whole table, listed under a table's `table_checks:` (not `rules:`):
- `row_count: { min: N, max: N }` — the number of rows audited is within the bounds (either
  may be left out);
- `row_count_change: { max_percent: P }` — the row count differs by at most P% from the
  previous complete run of the same table in the run history; skipped, with a notice, when
  there is no history to compare with;
- `freshness: { column: C, max_age_days: N }` — the latest value of date/timestamp column C
  not after the run date is at most N days before it (`qc run --as-of DATE`, default
  today); dates after the run date are left to the rules that check them;
- `completeness: { column: C, min_rate: R }` — at least the share R (0–1) of rows have a
  value in C.

## NULL
`freshness` ignores NULL dates; a column with no date up to the run date fails. `completeness` counts
NULL as missing.

## Parameters
See above. Every table check has `id`, `name`, `dimension`, and optional `severity`
(`error` by default, or `warn`) and `description`.

## Example
```yaml
table_checks:
  - id: MAR-T01
    name: 当期登记数据已更新
    dimension: 时效性
    severity: warn
    check: { freshness: { column: reg_date, max_age_days: 31 } }
```

## Anomaly reason
None: a table check reports an observed value, the expectation and a verdict.
";

/// A table check as written: the kind is the single key of the mapping.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableCheckKind {
    RowCount(RowCount),
    RowCountChange(RowCountChange),
    Freshness(Freshness),
    Completeness(Completeness),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowCount {
    #[serde(default)]
    pub min: Option<u64>,
    #[serde(default)]
    pub max: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowCountChange {
    pub max_percent: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Freshness {
    pub column: Spanned<String>,
    pub max_age_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Completeness {
    pub column: Spanned<String>,
    pub min_rate: f64,
}

impl TableCheckKind {
    pub fn kind(&self) -> &'static str {
        match self {
            TableCheckKind::RowCount(_) => "row_count",
            TableCheckKind::RowCountChange(_) => "row_count_change",
            TableCheckKind::Freshness(_) => "freshness",
            TableCheckKind::Completeness(_) => "completeness",
        }
    }

    /// The column the check reads, if any.
    pub fn column(&self) -> Option<&Spanned<String>> {
        match self {
            TableCheckKind::Freshness(f) => Some(&f.column),
            TableCheckKind::Completeness(c) => Some(&c.column),
            _ => None,
        }
    }

    /// Column types the check accepts (for checks that read a column).
    pub fn column_types(&self) -> &'static [ColumnType] {
        match self {
            TableCheckKind::Freshness(_) => &[ColumnType::Date, ColumnType::Timestamp],
            _ => &[
                ColumnType::String,
                ColumnType::Int,
                ColumnType::Float,
                ColumnType::Date,
                ColumnType::Timestamp,
                ColumnType::Bool,
            ],
        }
    }

    /// A problem with the parameters themselves, if any.
    pub fn invalid(&self) -> Option<String> {
        match self {
            TableCheckKind::RowCount(r) => match (r.min, r.max) {
                (None, None) => Some("row_count needs `min`, `max` or both".into()),
                (Some(a), Some(b)) if a > b => Some(format!("row_count min {a} exceeds max {b}")),
                _ => None,
            },
            TableCheckKind::RowCountChange(c) => (!c.max_percent.is_finite()
                || c.max_percent < 0.0)
                .then(|| "max_percent must be a non-negative number".into()),
            TableCheckKind::Completeness(c) => (!(0.0..=1.0).contains(&c.min_rate))
                .then(|| "min_rate must be between 0 and 1".into()),
            TableCheckKind::Freshness(_) => None,
        }
    }
}

/// What the engine measured for a table's checks.
#[derive(Debug, Clone, Default)]
pub struct TableFacts {
    pub rows: u64,
    /// Latest date (days since 1970-01-01) per freshness column; `None`: no date at all.
    pub latest: Vec<(String, Option<i64>)>,
    /// Non-NULL values per completeness column.
    pub present: Vec<(String, u64)>,
    /// Rows of the previous complete run of this table, when the history has one.
    pub previous_rows: Option<u64>,
    /// The run date, days since 1970-01-01.
    pub as_of: i64,
}

/// The outcome of one table check.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `None`: the check could not be evaluated (see `observed`).
    pub passed: Option<bool>,
    /// What was measured, in words (English, stable; summaries localize around it).
    pub observed: String,
    pub expected: String,
}

impl TableCheckKind {
    /// Judge the check against what was measured.
    #[allow(clippy::cast_precision_loss)] // rates and percentages are compared, not counted
    pub fn evaluate(&self, facts: &TableFacts) -> Outcome {
        match self {
            TableCheckKind::RowCount(r) => {
                let ok = r.min.is_none_or(|m| facts.rows >= m) && r.max.is_none_or(|m| facts.rows <= m);
                let expected = match (r.min, r.max) {
                    (Some(a), Some(b)) => format!("{a}..={b}"),
                    (Some(a), None) => format!(">= {a}"),
                    (None, Some(b)) => format!("<= {b}"),
                    (None, None) => String::new(),
                };
                Outcome {
                    passed: Some(ok),
                    observed: facts.rows.to_string(),
                    expected,
                }
            }
            TableCheckKind::RowCountChange(c) => {
                let expected = format!("±{}%", c.max_percent);
                match facts.previous_rows {
                    None => Outcome {
                        passed: None,
                        observed: "no previous run".into(),
                        expected,
                    },
                    Some(prev) => {
                        let change = if prev == 0 {
                            if facts.rows == 0 { 0.0 } else { f64::INFINITY }
                        } else {
                            (facts.rows as f64 - prev as f64) / prev as f64 * 100.0
                        };
                        Outcome {
                            passed: Some(change.abs() <= c.max_percent),
                            observed: format!("{change:+.2}% ({prev} → {})", facts.rows),
                            expected,
                        }
                    }
                }
            }
            TableCheckKind::Freshness(f) => {
                let latest = facts
                    .latest
                    .iter()
                    .find(|(c, _)| *c == f.column.value)
                    .and_then(|(_, d)| *d);
                let expected = format!("<= {} days", f.max_age_days);
                match latest {
                    None => Outcome {
                        passed: Some(false),
                        observed: "no date".into(),
                        expected,
                    },
                    Some(days) => {
                        let age = facts.as_of - days;
                        let date = i32::try_from(days)
                            .ok()
                            .and_then(super::dates::from_days)
                            .map_or_else(|| days.to_string(), |d| d.to_string());
                        Outcome {
                            passed: Some(age <= i64::from(f.max_age_days)),
                            observed: format!("{age} days (latest {date})"),
                            expected,
                        }
                    }
                }
            }
            TableCheckKind::Completeness(c) => {
                let present = facts
                    .present
                    .iter()
                    .find(|(n, _)| *n == c.column.value)
                    .map_or(0, |(_, n)| *n);
                let rate = if facts.rows == 0 {
                    1.0
                } else {
                    present as f64 / facts.rows as f64
                };
                Outcome {
                    passed: Some(rate >= c.min_rate),
                    observed: format!("{:.4} ({present}/{})", rate, facts.rows),
                    expected: format!(">= {}", c.min_rate),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spanned(s: &str) -> Spanned<String> {
        serde_saphyr::from_str::<Spanned<String>>(s).unwrap()
    }

    #[test]
    fn row_count_bounds_and_change() {
        let facts = TableFacts {
            rows: 100,
            previous_rows: Some(80),
            ..TableFacts::default()
        };
        let bounds = TableCheckKind::RowCount(RowCount {
            min: Some(100),
            max: Some(200),
        });
        assert_eq!(bounds.evaluate(&facts).passed, Some(true));
        let change = TableCheckKind::RowCountChange(RowCountChange { max_percent: 20.0 });
        // +25% is beyond ±20%.
        assert_eq!(change.evaluate(&facts).passed, Some(false));
        let no_history = TableFacts {
            previous_rows: None,
            ..facts
        };
        assert_eq!(change.evaluate(&no_history).passed, None);
    }

    #[test]
    fn freshness_and_completeness() {
        let facts = TableFacts {
            rows: 4,
            latest: vec![("d".into(), Some(20_000))],
            present: vec![("c".into(), 3)],
            previous_rows: None,
            as_of: 20_031,
        };
        let fresh = |n| {
            TableCheckKind::Freshness(Freshness {
                column: spanned("d"),
                max_age_days: n,
            })
        };
        assert_eq!(fresh(31).evaluate(&facts).passed, Some(true));
        assert_eq!(fresh(30).evaluate(&facts).passed, Some(false));
        let complete = |r| {
            TableCheckKind::Completeness(Completeness {
                column: spanned("c"),
                min_rate: r,
            })
        };
        assert_eq!(complete(0.75).evaluate(&facts).passed, Some(true));
        assert_eq!(complete(0.76).evaluate(&facts).passed, Some(false));
    }
}
