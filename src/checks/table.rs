//! Table-level checks (`table_checks:`): properties of a table as a whole — its row count,
//! the change of that count since the previous run, how recent its latest date is, how
//! complete a column is — and of groups of its rows (`metric`: an aggregate per provider,
//! district or month, each group beyond the bounds a finding). Each has a verdict; none has
//! anomalous rows.

use serde::{Deserialize, Serialize};

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
  value in C;
- `metric: { value: SQL, group_by: [C, …], min: A, max: B, expect: [V, …] }` — the aggregate
  SQL expression `value` (count, sum, avg, min, max, … over the rows; other columns only
  as `group_by` columns) lies within the bounds for the table, or for each group of rows with
  the same `group_by` values; every group beyond them is a finding, named by its values. With
  one `group_by` column, `expect` lists values that must be present: a missing one is judged
  on no rows (`count(*)` is then 0). A group whose value is NULL (an average of no value) is
  not judged. The check passes when no group is beyond the bounds;
- `trend: { metric: M, per: table|provider, against: A, max_percent: P | k: K }` — this run's
  metric M (`rows`, `{ failed_rate: RULE }`, `{ null_rate: C }`, `{ distinct: C }`,
  `{ mean: C }`), for the table or each provider, lies in the band learned from the run
  history: A is `previous`, `{ mean_of_last: N }` or `same_month_last_year` (baseline ± P%),
  or `{ median_of_last: N }` (median ± K·MAD). Skipped while the history lacks the runs A
  needs.

## NULL
`freshness` ignores NULL dates; a column with no date up to the run date fails. `completeness` counts
NULL as missing. `metric`: NULL `group_by` values form a group of their own (shown as ∅);
the aggregate treats NULL as SQL does (`count(col)` skips it, `count(*)` does not).

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
  - id: DEA-T05
    name: 各医院死因不明比例不超过 5%
    dimension: 准确性
    check:
      metric:
        value: \"avg(CASE WHEN underlying_cause LIKE 'R%' THEN 1.0 ELSE 0.0 END)\"
        group_by: [hospital]
        max: 0.05
```

## Anomaly reason
None: a table check reports an observed value, the expectation and a verdict; a `metric`'s
groups beyond its bounds are listed in the summary and, grouped by provider, go into that
provider's feedback file.
";

/// A table check as written: the kind is the single key of the mapping.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableCheckKind {
    RowCount(RowCount),
    RowCountChange(RowCountChange),
    Freshness(Freshness),
    Completeness(Completeness),
    Metric(Metric),
    Trend(super::trend::Trend),
}

/// An aggregate over the table or each group of its rows, with bounds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// Aggregate SQL over a group's rows (`count(*)`, `avg(…)`, `sum(a) / count(*)`, …).
    pub value: Spanned<String>,
    #[serde(default)]
    pub group_by: Vec<Spanned<String>>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// Values of the one `group_by` column that must be present.
    #[serde(default)]
    pub expect: Option<Spanned<Vec<String>>>,
}

impl Metric {
    /// What identifies the metric's measurements among a table's facts.
    pub fn key(&self) -> String {
        let by: Vec<&str> = self.group_by.iter().map(|g| g.value.as_str()).collect();
        format!("{} BY {}", self.value.value, by.join(","))
    }

    /// Whether `value` lies within the bounds.
    fn within(&self, value: f64) -> bool {
        self.min.is_none_or(|m| value >= m) && self.max.is_none_or(|m| value <= m)
    }
}

/// Per group: its `group_by` values as text (`None`: NULL) and its value (`None`: NULL).
pub type GroupValues = Vec<(Vec<Option<String>>, Option<f64>)>;

/// What a metric measured on its groups.
#[derive(Debug, Clone, Default)]
pub struct MetricFacts {
    pub key: String,
    pub groups: GroupValues,
    /// Where the table's provider column is among the `group_by` columns, if it is.
    pub provider_at: Option<usize>,
}

/// A group beyond a metric's bounds: a finding without a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupFinding {
    /// Its `group_by` values (`None`: NULL); empty for the whole table.
    pub group: Vec<Option<String>>,
    pub value: f64,
    /// The provider the group belongs to, when the metric groups by the provider column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
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
            TableCheckKind::Metric(_) => "metric",
            TableCheckKind::Trend(_) => "trend",
        }
    }

    /// The column the check reads, if any.
    pub fn column(&self) -> Option<&Spanned<String>> {
        match self {
            TableCheckKind::Freshness(f) => Some(&f.column),
            TableCheckKind::Completeness(c) => Some(&c.column),
            TableCheckKind::Trend(t) => t.metric.column(),
            _ => None,
        }
    }

    /// Column types the check accepts (for checks that read a column).
    pub fn column_types(&self) -> &'static [ColumnType] {
        match self {
            TableCheckKind::Freshness(_) => &[ColumnType::Date, ColumnType::Timestamp],
            TableCheckKind::Trend(t) if matches!(t.metric, super::trend::TrendMetric::Mean(_)) => {
                &[ColumnType::Int, ColumnType::Float]
            }
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
            TableCheckKind::Metric(m) => match (m.min, m.max) {
                (None, None) => Some("metric needs `min`, `max` or both".into()),
                (Some(a), Some(b)) if a > b => Some(format!("metric min {a} exceeds max {b}")),
                _ if m.expect.is_some() && m.group_by.len() != 1 => {
                    Some("`expect` lists values of the one `group_by` column".into())
                }
                _ => None,
            },
            TableCheckKind::Trend(t) => t.invalid(),
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
    /// What each `metric` measured.
    pub metrics: Vec<MetricFacts>,
    /// Each `trend`'s values, this run's and the history's.
    pub trends: Vec<super::trend::TrendFacts>,
}

/// What one table check measured, with what it expected: `summary.json` keeps it as is,
/// summaries and reports word it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Measured {
    RowCount {
        rows: u64,
        min: Option<u64>,
        max: Option<u64>,
    },
    RowCountChange {
        rows: u64,
        /// Rows of the previous complete run; `None`: no history to compare with.
        previous: Option<u64>,
        max_percent: f64,
    },
    Freshness {
        column: String,
        /// The latest date not after the run date (`YYYY-MM-DD`); `None`: no such date.
        latest: Option<String>,
        /// Days from `latest` to the run date.
        age_days: Option<i64>,
        max_age_days: u32,
    },
    Completeness {
        column: String,
        present: u64,
        rows: u64,
        min_rate: f64,
    },
    Metric {
        value: String,
        group_by: Vec<String>,
        min: Option<f64>,
        max: Option<f64>,
        /// Groups judged (those whose value is not NULL).
        groups: u64,
        /// The groups beyond the bounds.
        findings: Vec<GroupFinding>,
        /// Groups judged per provider, when the metric groups by the provider column.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        provider_groups: std::collections::BTreeMap<String, u64>,
    },
    Trend(super::trend::TrendMeasured),
}

impl Measured {
    /// Whether the expectation holds; `None` when it could not be evaluated.
    #[allow(clippy::cast_precision_loss)] // rates and percentages are compared, not counted
    pub fn passed(&self) -> Option<bool> {
        match self {
            Measured::RowCount { rows, min, max } => {
                Some(min.is_none_or(|m| *rows >= m) && max.is_none_or(|m| *rows <= m))
            }
            Measured::RowCountChange {
                rows,
                previous,
                max_percent,
            } => previous.map(|p| change_percent(p, *rows).abs() <= *max_percent),
            Measured::Freshness {
                age_days,
                max_age_days,
                ..
            } => Some(age_days.is_some_and(|a| a <= i64::from(*max_age_days))),
            Measured::Completeness {
                present,
                rows,
                min_rate,
                ..
            } => Some(*rows == 0 || *present as f64 >= min_rate * *rows as f64),
            Measured::Metric { findings, .. } => Some(findings.is_empty()),
            Measured::Trend(t) => t.skipped.is_none().then_some(t.findings.is_empty()),
        }
    }
}

/// Change from `previous` to `rows`, in percent of `previous`.
#[allow(clippy::cast_precision_loss)]
pub fn change_percent(previous: u64, rows: u64) -> f64 {
    if previous == 0 {
        if rows == 0 { 0.0 } else { f64::INFINITY }
    } else {
        (rows as f64 - previous as f64) / previous as f64 * 100.0
    }
}

impl TableCheckKind {
    /// Measure the check on what the engine found.
    pub fn measure(&self, facts: &TableFacts) -> Measured {
        match self {
            TableCheckKind::RowCount(r) => Measured::RowCount {
                rows: facts.rows,
                min: r.min,
                max: r.max,
            },
            TableCheckKind::RowCountChange(c) => Measured::RowCountChange {
                rows: facts.rows,
                previous: facts.previous_rows,
                max_percent: c.max_percent,
            },
            TableCheckKind::Freshness(f) => {
                let latest = facts
                    .latest
                    .iter()
                    .find(|(c, _)| *c == f.column.value)
                    .and_then(|(_, d)| *d);
                Measured::Freshness {
                    column: f.column.value.clone(),
                    latest: latest.and_then(|d| {
                        i32::try_from(d)
                            .ok()
                            .and_then(crate::values::from_days)
                            .map(|d| d.to_string())
                    }),
                    age_days: latest.map(|d| facts.as_of - d),
                    max_age_days: f.max_age_days,
                }
            }
            TableCheckKind::Completeness(c) => Measured::Completeness {
                column: c.column.value.clone(),
                present: facts
                    .present
                    .iter()
                    .find(|(n, _)| *n == c.column.value)
                    .map_or(0, |(_, n)| *n),
                rows: facts.rows,
                min_rate: c.min_rate,
            },
            TableCheckKind::Metric(m) => {
                let key = m.key();
                let empty = MetricFacts::default();
                let measured = facts
                    .metrics
                    .iter()
                    .find(|f| f.key == key)
                    .unwrap_or(&empty);
                let mut groups = 0;
                let mut findings = Vec::new();
                let mut provider_groups = std::collections::BTreeMap::new();
                for (group, value) in &measured.groups {
                    let Some(value) = *value else { continue };
                    groups += 1;
                    let provider = measured
                        .provider_at
                        .and_then(|i| group.get(i).cloned().flatten());
                    if let Some(p) = &provider {
                        *provider_groups.entry(p.clone()).or_insert(0) += 1;
                    }
                    if !m.within(value) {
                        findings.push(GroupFinding {
                            group: group.clone(),
                            value,
                            provider,
                        });
                    }
                }
                Measured::Metric {
                    value: m.value.value.clone(),
                    group_by: m.group_by.iter().map(|g| g.value.clone()).collect(),
                    min: m.min,
                    max: m.max,
                    groups,
                    findings,
                    provider_groups,
                }
            }
            TableCheckKind::Trend(t) => {
                let key = t.key();
                let empty = super::trend::TrendFacts::default();
                let found = facts.trends.iter().find(|f| f.key == key).unwrap_or(&empty);
                Measured::Trend(t.measure(found, facts.as_of))
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
        assert_eq!(bounds.measure(&facts).passed(), Some(true));
        let change = TableCheckKind::RowCountChange(RowCountChange { max_percent: 20.0 });
        // +25% is beyond ±20%.
        assert_eq!(change.measure(&facts).passed(), Some(false));
        let no_history = TableFacts {
            previous_rows: None,
            ..facts
        };
        assert_eq!(change.measure(&no_history).passed(), None);
    }

    #[test]
    fn freshness_and_completeness() {
        let facts = TableFacts {
            rows: 4,
            latest: vec![("d".into(), Some(20_000))],
            present: vec![("c".into(), 3)],
            previous_rows: None,
            as_of: 20_031,
            metrics: Vec::new(),
            trends: Vec::new(),
        };
        let fresh = |n| {
            TableCheckKind::Freshness(Freshness {
                column: spanned("d"),
                max_age_days: n,
            })
        };
        assert_eq!(fresh(31).measure(&facts).passed(), Some(true));
        assert_eq!(fresh(30).measure(&facts).passed(), Some(false));
        let complete = |r| {
            TableCheckKind::Completeness(Completeness {
                column: spanned("c"),
                min_rate: r,
            })
        };
        assert_eq!(complete(0.75).measure(&facts).passed(), Some(true));
        assert_eq!(complete(0.76).measure(&facts).passed(), Some(false));
    }
}
