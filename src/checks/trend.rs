//! `trend`: a table check that compares a metric of this run — the rows delivered, a rule's
//! failure rate, a column's null rate, distinct count or mean — for the table or for each
//! provider, with the same metric in the run history: the previous run, the mean of the last
//! N runs, the run of the same month last year, or a robust band (median ± k·MAD of the last
//! N runs). Until enough history exists it is skipped, saying what it lacks; each group
//! (the table, or a provider) outside the band is a finding.

use serde::{Deserialize, Serialize};

use crate::rules::Spanned;

/// A `trend` check as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trend {
    pub metric: TrendMetric,
    /// `table` (default) or `provider`: one value for the table, or one per provider.
    #[serde(default)]
    pub per: Option<Spanned<String>>,
    pub against: Against,
    /// For `previous`, `mean_of_last` and `same_month_last_year`: the largest change allowed,
    /// in percent of the baseline.
    #[serde(default)]
    pub max_percent: Option<f64>,
    /// For `median_of_last`: the band's half-width in MADs.
    #[serde(default)]
    pub k: Option<f64>,
}

/// What is compared.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrendMetric {
    /// Rows delivered (a provider absent from a run delivered 0).
    Rows,
    /// Failed / applicable rows of a rule of the table.
    FailedRate(Spanned<String>),
    /// Share of rows where the column is NULL.
    NullRate(Spanned<String>),
    /// Distinct non-NULL values of the column.
    Distinct(Spanned<String>),
    /// Mean of a numeric column.
    Mean(Spanned<String>),
}

/// What this run's value is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Against {
    Previous,
    SameMonthLastYear,
    MeanOfLast(u32),
    MedianOfLast(u32),
}

impl TrendMetric {
    /// The metric as the summary names it: `rows`, `failed_rate MAR-001`, `null_rate c`.
    pub fn label(&self) -> String {
        match self {
            TrendMetric::Rows => "rows".into(),
            TrendMetric::FailedRate(r) => format!("failed_rate {}", r.value),
            TrendMetric::NullRate(c) => format!("null_rate {}", c.value),
            TrendMetric::Distinct(c) => format!("distinct {}", c.value),
            TrendMetric::Mean(c) => format!("mean {}", c.value),
        }
    }

    /// The column the metric reads, if any.
    pub fn column(&self) -> Option<&Spanned<String>> {
        match self {
            TrendMetric::NullRate(c) | TrendMetric::Distinct(c) | TrendMetric::Mean(c) => Some(c),
            TrendMetric::Rows | TrendMetric::FailedRate(_) => None,
        }
    }
}

impl Trend {
    pub fn per_provider(&self) -> bool {
        self.per.as_ref().is_some_and(|p| p.value == "provider")
    }

    /// What identifies the metric's values, in this run's facts and in the history.
    pub fn key(&self) -> String {
        let per = if self.per_provider() {
            "provider"
        } else {
            "table"
        };
        format!("{} per {per}", self.metric.label())
    }

    /// A problem with the parameters themselves, if any.
    pub fn invalid(&self) -> Option<String> {
        if let Some(p) = &self.per
            && p.value != "table"
            && p.value != "provider"
        {
            return Some(format!("`per` is `table` or `provider`, not `{}`", p.value));
        }
        let percent = self.max_percent.is_some_and(|p| p.is_finite() && p >= 0.0);
        let k = self.k.is_some_and(|k| k.is_finite() && k >= 0.0);
        match self.against {
            Against::MeanOfLast(0) | Against::MedianOfLast(0) => {
                Some("the number of runs to compare with must be at least 1".into())
            }
            Against::MedianOfLast(_) if !k || self.max_percent.is_some() => Some(
                "`median_of_last` takes `k` (the band's half-width in MADs), not `max_percent`"
                    .into(),
            ),
            Against::Previous | Against::SameMonthLastYear | Against::MeanOfLast(_)
                if !percent || self.k.is_some() =>
            {
                Some(
                    "`previous`, `mean_of_last` and `same_month_last_year` take `max_percent` \
                     (a non-negative number), not `k`"
                        .into(),
                )
            }
            _ => None,
        }
    }

    /// Judge this run's values against the history in `facts`.
    pub fn measure(&self, facts: &TrendFacts, as_of: i64) -> TrendMeasured {
        let mut m = TrendMeasured {
            metric: self.metric.label(),
            per_provider: self.per_provider(),
            against: self.against,
            max_percent: self.max_percent,
            k: self.k,
            current: facts.current.clone(),
            compared_with: Vec::new(),
            skipped: None,
            groups: 0,
            findings: Vec::new(),
        };
        let past = match self.select(&facts.past, as_of) {
            Ok(p) => p,
            Err(skip) => {
                m.skipped = Some(skip);
                return m;
            }
        };
        m.compared_with = past.iter().map(|p| p.run_id.clone()).collect();
        let rows = matches!(self.metric, TrendMetric::Rows);
        // The groups judged: this run's, and for rows those of the history too (a provider
        // that delivered nothing now delivered 0 rows).
        let mut groups: Vec<Option<String>> =
            facts.current.iter().map(|(g, _)| g.clone()).collect();
        if rows {
            for p in &past {
                groups.extend(p.values.iter().map(|(g, _)| g.clone()));
            }
        }
        groups.sort();
        groups.dedup();
        let value_in = |values: &[(Option<String>, f64)], g: &Option<String>| {
            values
                .iter()
                .find(|(v, _)| v == g)
                .map(|(_, x)| *x)
                .or(rows.then_some(0.0))
        };
        for g in groups {
            let Some(now) = value_in(&facts.current, &g) else {
                continue;
            };
            let history: Vec<f64> = past
                .iter()
                .filter_map(|p| value_in(&p.values, &g))
                .collect();
            if history.is_empty() {
                continue;
            }
            m.groups += 1;
            let (baseline, half) = if let Against::MedianOfLast(_) = self.against {
                let median = median_of(history.clone());
                let deviations: Vec<f64> = history.iter().map(|x| (x - median).abs()).collect();
                (median, self.k.unwrap_or(0.0) * median_of(deviations))
            } else {
                #[allow(clippy::cast_precision_loss)] // a mean of a few runs
                let mean = history.iter().sum::<f64>() / history.len() as f64;
                (mean, mean.abs() * self.max_percent.unwrap_or(0.0) / 100.0)
            };
            let (low, high) = (baseline - half, baseline + half);
            if now < low || now > high {
                m.findings.push(TrendFinding {
                    group: g,
                    value: now,
                    baseline,
                    low,
                    high,
                });
            }
        }
        m
    }

    /// The past runs the check compares with, newest first, or why it cannot compare yet.
    fn select<'a>(&self, past: &'a [PastRun], as_of: i64) -> Result<Vec<&'a PastRun>, TrendSkip> {
        let last = |n: u32| {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if past.len() < n {
                Err(TrendSkip::TooFewRuns {
                    needed: n,
                    found: past.len(),
                })
            } else {
                Ok(past.iter().take(n).collect())
            }
        };
        match self.against {
            Against::Previous => last(1),
            Against::MeanOfLast(n) | Against::MedianOfLast(n) => last(n),
            Against::SameMonthLastYear => {
                let month = month_a_year_before(as_of);
                past.iter()
                    .find(|p| p.as_of.get(..7) == Some(month.as_str()))
                    .map(|p| vec![p])
                    .ok_or(TrendSkip::NoRunIn { month })
            }
        }
    }
}

/// `YYYY-MM` twelve months before the month of `as_of` (days since 1970-01-01).
fn month_a_year_before(as_of: i64) -> String {
    use chrono::Datelike as _;
    let day = i32::try_from(as_of)
        .ok()
        .and_then(crate::values::from_days)
        .unwrap_or_default();
    format!("{:04}-{:02}", day.year() - 1, day.month())
}

fn median_of(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        f64::midpoint(values[n / 2 - 1], values[n / 2])
    }
}

/// This run's values of a trend metric, and the history's.
#[derive(Debug, Clone, Default)]
pub struct TrendFacts {
    pub key: String,
    /// Per group (`None`: the table, or rows without a provider): this run's value.
    pub current: Vec<(Option<String>, f64)>,
    /// Earlier complete runs that were not excluded, newest first.
    pub past: Vec<PastRun>,
}

/// A metric's values in an earlier run.
#[derive(Debug, Clone, PartialEq)]
pub struct PastRun {
    pub run_id: String,
    /// `YYYY-MM-DD`.
    pub as_of: String,
    pub values: Vec<(Option<String>, f64)>,
}

/// What a trend check measured and compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendMeasured {
    pub metric: String,
    pub per_provider: bool,
    pub against: Against,
    pub max_percent: Option<f64>,
    pub k: Option<f64>,
    /// This run's value per group (`None`: the table), kept so later runs can compare.
    pub current: Vec<(Option<String>, f64)>,
    /// The runs compared with, newest first.
    pub compared_with: Vec<String>,
    /// Why it was not judged (too little history).
    pub skipped: Option<TrendSkip>,
    /// Groups judged.
    pub groups: u64,
    pub findings: Vec<TrendFinding>,
}

/// Why a trend check could not compare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum TrendSkip {
    TooFewRuns { needed: usize, found: usize },
    NoRunIn { month: String },
}

/// A group outside the band: its value, the baseline and the band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendFinding {
    /// The provider (`None`: the table, or rows without a provider).
    pub group: Option<String>,
    pub value: f64,
    pub baseline: f64,
    pub low: f64,
    pub high: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn past(id: &str, as_of: &str, values: &[(&str, f64)]) -> PastRun {
        PastRun {
            run_id: id.into(),
            as_of: as_of.into(),
            values: values
                .iter()
                .map(|(g, v)| (Some((*g).to_string()), *v))
                .collect(),
        }
    }

    fn trend(against: Against, max_percent: Option<f64>, k: Option<f64>) -> Trend {
        Trend {
            metric: TrendMetric::Rows,
            per: Some(serde_saphyr::from_str("provider").unwrap()),
            against,
            max_percent,
            k,
        }
    }

    #[test]
    fn bands_by_hand() {
        let day = |y, m, d| i64::from(crate::values::days_from_civil(y, m, d));
        let facts = TrendFacts {
            key: String::new(),
            current: vec![(Some("a".into()), 100.0), (Some("b".into()), 50.0)],
            past: vec![
                past("r3", "2026-10-31", &[("a", 90.0), ("b", 80.0), ("c", 10.0)]),
                past("r2", "2026-09-30", &[("a", 110.0), ("b", 40.0)]),
                past("r1", "2025-11-30", &[("a", 200.0), ("b", 50.0)]),
            ],
        };
        let as_of = day(2026, 11, 30);
        // Previous (r3), ±20%: a 100 in [72, 108]; b 50 < 64; c delivered nothing (0 < 8).
        let m = trend(Against::Previous, Some(20.0), None).measure(&facts, as_of);
        let found: Vec<(Option<&str>, f64)> = m
            .findings
            .iter()
            .map(|f| (f.group.as_deref(), f.value))
            .collect();
        assert_eq!(found, [(Some("b"), 50.0), (Some("c"), 0.0)]);
        assert_eq!(
            (m.groups, m.compared_with.clone()),
            (3, vec!["r3".to_string()])
        );
        // Mean of the last two (r3, r2): a 100 in 100 ± 10%; b 60 ± 6 → 50 is out.
        let m = trend(Against::MeanOfLast(2), Some(10.0), None).measure(&facts, as_of);
        assert_eq!(m.findings.len(), 2, "{m:?}"); // b, and c (0 against a mean of 10)
        // Same month last year (r1, 2025-11), ±30%: a 100 < 140.
        let m = trend(Against::SameMonthLastYear, Some(30.0), None).measure(&facts, as_of);
        assert_eq!(m.compared_with, ["r1"]);
        assert_eq!(
            m.findings
                .iter()
                .map(|f| f.group.clone())
                .collect::<Vec<_>>(),
            [Some("a".to_string())]
        );
        // Median of the last three for a: 90, 110, 200 → median 110, MAD median(20, 0, 90)
        // = 20; k 0.4 → [102, 118]: 100 is out. b: 80, 40, 50 → 50, MAD 10 → [46, 54]: in.
        let m = trend(Against::MedianOfLast(3), None, Some(0.4)).measure(&facts, as_of);
        let a = m
            .findings
            .iter()
            .find(|f| f.group.as_deref() == Some("a"))
            .unwrap();
        assert_eq!((a.baseline, a.low, a.high), (110.0, 102.0, 118.0));
        assert!(m.findings.iter().all(|f| f.group.as_deref() != Some("b")));
        // Not enough history: skipped, saying what it lacks.
        let m = trend(Against::MeanOfLast(7), Some(10.0), None).measure(&facts, as_of);
        assert_eq!(
            m.skipped,
            Some(TrendSkip::TooFewRuns {
                needed: 7,
                found: 3
            })
        );
        let m =
            trend(Against::SameMonthLastYear, Some(10.0), None).measure(&facts, day(2026, 12, 31));
        assert_eq!(
            m.skipped,
            Some(TrendSkip::NoRunIn {
                month: "2025-12".into()
            })
        );
    }
}
