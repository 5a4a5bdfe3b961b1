//! Scores out of 100 per table, provider and library, computed from the exact counts the
//! store keeps by the scoring model recorded with the run — so any score can be recomputed
//! from the store. A pack chooses the model (`scoring.model`); every model leaves out rules
//! that applied to no row, and a dimension with no such rule is not assessed (the report
//! says so) rather than scored.
//!
//! **`pass_rate`** (default). Rule `r` with `N_r` applicable and `F_r` failed rows earns
//! `m_r = 1 − F_r / N_r`; dimension `d` scores `S_d = Σ w_r m_r / Σ w_r` over its rules, `w_r`
//! the weight of the rule's severity (default: error 1, warn 0.5); the total is
//! `S = Σ W_d S_d / Σ W_d` over the assessed dimensions, `W_d` the dimension's weight
//! (default 1); shown × 100. Real registries fail few rows, so scores land at 99.x.
//!
//! **`threshold`**. A rule within its threshold (its verdict passes) earns `m_r = 1`; beyond
//! it, with failed share `f` and tolerated share `t`, `m_r = 1 − (f − t) / (z − t)` clamped
//! to 0–1, where `z = t × zero_at` (default 10) or, for a rule that tolerates nothing,
//! `z = zero_rate` (default 1 %). Dimensions and total as above. Example: a rule with
//! `max_rate: 0.001` failing 0.4 % of its rows earns `1 − 0.003 / 0.009 = 0.667`; a rule
//! with no threshold failing 0.25 % earns `1 − 0.0025 / 0.01 = 0.75`.
//!
//! **`deduction`**. Every rule beyond its threshold costs points by severity (default: error
//! 10, warn 5) times its dimension's weight: `S = max(0, 100 − Σ W_d P_r)`; a dimension
//! scores `max(0, 100 − Σ P_r)` over its own rules. Example: two error rules and one warn
//! rule failing → 100 − 10 − 10 − 5 = 75.
//!
//! Besides rules, a table is judged on:
//! - its table checks, in their dimensions: a `metric` as a rule whose applicable and failed
//!   units are its judged groups and its groups beyond the bounds (per provider: the
//!   provider's groups, when the metric groups by the provider column); any other check as
//!   one unit that passes or not (a check that could not be evaluated is left out);
//! - its delivery, under 可访问性 (accessibility): its files as units, each one left out as
//!   unreadable a failure (table and library scores; files are not tied to providers).
//!
//! ```yaml
//! scoring:
//!   model: threshold                     # pass_rate | threshold | deduction
//!   dimensions: { 完整性: 2, 准确性: 2 }  # unlisted dimensions weigh 1
//!   severity: { error: 1, warn: 0.5 }
//!   threshold: { zero_at: 10, zero_rate: 0.01 }
//!   deduction: { error: 10, warn: 5 }
//!   target: { dimension: 准确性, min: 70 }   # the report gives the share of providers at it
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checks::table::Measured;
use crate::results::summary::{TableSummary, Verdict, rate};
use crate::rules::scoring::{ModelKind, ScoringModel};
use crate::rules::{Dimension, Limit, Severity};

impl ScoringModel {
    /// The score of a set of rule counts.
    pub fn score(&self, rules: impl IntoIterator<Item = RuleCount>) -> Score {
        let applied = rules.into_iter().filter(|r| r.applicable > 0);
        match self.model {
            ModelKind::Deduction => self.deduct(applied),
            ModelKind::PassRate | ModelKind::Threshold => self.weigh(applied),
        }
    }

    /// The marks, 0 to 1, of one rule that applied to some row (pass-rate and threshold
    /// models).
    pub fn marks(&self, r: &RuleCount) -> f64 {
        let failed = rate(r.failed, r.applicable);
        match self.model {
            ModelKind::Threshold if r.met => 1.0,
            ModelKind::Threshold => {
                let allowed = r.limit.allowed_rate(r.applicable);
                let zero = if allowed > 0.0 {
                    allowed * self.threshold.zero_at
                } else {
                    self.threshold.zero_rate
                };
                if zero <= allowed {
                    return 0.0;
                }
                (1.0 - (failed - allowed) / (zero - allowed)).clamp(0.0, 1.0)
            }
            ModelKind::PassRate | ModelKind::Deduction => 1.0 - failed,
        }
    }

    /// Weighted means of marks: per dimension by severity, in total by dimension.
    fn weigh(&self, rules: impl Iterator<Item = RuleCount>) -> Score {
        // Per dimension: Σ w_r m_r and Σ w_r.
        let mut sums: BTreeMap<Dimension, (f64, f64)> = BTreeMap::new();
        for r in rules {
            let w = self.severity_weight(r.severity);
            let e = sums.entry(r.dimension).or_default();
            e.0 += w * self.marks(&r);
            e.1 += w;
        }
        let dimensions: Vec<(Dimension, f64)> = sums
            .into_iter()
            .filter(|(_, (_, w))| *w > 0.0)
            .map(|(d, (sum, w))| (d, 100.0 * sum / w))
            .collect();
        let (weighted, weights) = dimensions.iter().fold((0.0, 0.0), |(s, w), (d, score)| {
            let wd = self.dimension_weight(*d);
            (s + wd * score, w + wd)
        });
        Score {
            total: (weights > 0.0).then(|| weighted / weights),
            dimensions: dimensions
                .into_iter()
                .map(|(d, s)| (d.en().to_string(), s))
                .collect(),
        }
    }

    /// 100 minus the points of the rules beyond their thresholds, floor 0.
    fn deduct(&self, rules: impl Iterator<Item = RuleCount>) -> Score {
        let mut lost: BTreeMap<Dimension, f64> = BTreeMap::new();
        for r in rules {
            let e = lost.entry(r.dimension).or_default();
            if !r.met {
                *e += self.deduction_points(r.severity);
            }
        }
        let total: f64 = lost
            .iter()
            .map(|(d, points)| self.dimension_weight(*d) * points)
            .sum();
        Score {
            total: (!lost.is_empty()).then(|| (100.0 - total).max(0.0)),
            dimensions: lost
                .into_iter()
                .map(|(d, points)| (d.en().to_string(), (100.0 - points).max(0.0)))
                .collect(),
        }
    }
}

/// A table's score.
pub fn table_score(model: &ScoringModel, t: &TableSummary) -> Score {
    model.score(table_rules(t))
}

/// A library's score: the rules of all its tables pooled.
pub fn library_score(model: &ScoringModel, tables: &[&TableSummary]) -> Score {
    model.score(tables.iter().flat_map(|t| table_rules(t)))
}

/// Per provider (`None`: rows without one): rows, anomalous rows and score over `tables`.
pub fn provider_scores(
    model: &ScoringModel,
    tables: &[&TableSummary],
) -> BTreeMap<Option<String>, (u64, u64, Score)> {
    let mut counts: BTreeMap<Option<String>, (u64, u64, Vec<RuleCount>)> = BTreeMap::new();
    for t in tables {
        for p in &t.providers {
            let e = counts.entry(p.provider.clone()).or_default();
            e.0 += p.rows;
            e.1 += p.anomalous_rows;
            for pr in &p.rules {
                if let Some(r) = t.rules.iter().find(|r| r.id == pr.id) {
                    let limit = r.threshold.for_provider(p.provider.as_deref());
                    e.2.push(RuleCount::judged(
                        r.dimension,
                        r.severity,
                        pr.applicable_rows,
                        pr.failed_rows,
                        limit,
                    ));
                }
            }
        }
        // Metrics grouped by provider count for the providers of their groups — those that
        // sent no row too (a group the metric expected).
        for c in &t.table_checks {
            let Measured::Metric {
                findings,
                provider_groups,
                ..
            } = &c.measured
            else {
                continue;
            };
            for (p, groups) in provider_groups {
                let failed = findings
                    .iter()
                    .filter(|f| f.provider.as_ref() == Some(p))
                    .count() as u64;
                counts
                    .entry(Some(p.clone()))
                    .or_default()
                    .2
                    .push(RuleCount::judged(
                        c.dimension,
                        c.severity,
                        *groups,
                        failed,
                        Limit::default(),
                    ));
            }
        }
    }
    counts
        .into_iter()
        .map(|(p, (rows, anomalous, rules))| (p, (rows, anomalous, model.score(rules))))
        .collect()
}

/// What a table is judged on: its rules, its table checks and its delivery.
fn table_rules(t: &TableSummary) -> impl Iterator<Item = RuleCount> + '_ {
    let rules = t.rules.iter().map(|r| RuleCount {
        dimension: r.dimension,
        severity: r.severity,
        applicable: r.applicable_rows,
        failed: r.failed_rows,
        limit: r.threshold.limit(),
        // Per-provider thresholds judge the rule provider by provider: its verdict says.
        met: r.verdict == Verdict::Pass,
    });
    let checks = t.table_checks.iter().filter_map(|c| {
        let (applicable, failed) = match &c.measured {
            Measured::Metric {
                groups, findings, ..
            } => (*groups, findings.len() as u64),
            _ if c.verdict == Verdict::Skipped => return None,
            _ => (1, u64::from(c.verdict != Verdict::Pass)),
        };
        Some(RuleCount {
            dimension: c.dimension,
            severity: c.severity,
            applicable,
            failed,
            limit: Limit::default(),
            met: c.verdict == Verdict::Pass,
        })
    });
    let left_out = t.left_out_files.len() as u64;
    let delivery = RuleCount::judged(
        Dimension::Accessibility,
        Severity::Error,
        t.files.len() as u64 + left_out,
        left_out,
        Limit::default(),
    );
    rules.chain(checks).chain(std::iter::once(delivery))
}

/// One rule's counts, as the models read them.
#[derive(Debug, Clone, Copy)]
pub struct RuleCount {
    pub dimension: Dimension,
    pub severity: Severity,
    pub applicable: u64,
    pub failed: u64,
    /// The failed rows it tolerates.
    pub limit: Limit,
    /// Whether it stayed within its limit (its verdict passed).
    pub met: bool,
}

impl RuleCount {
    /// Counts judged by `limit` alone.
    pub fn judged(
        dimension: Dimension,
        severity: Severity,
        applicable: u64,
        failed: u64,
        limit: Limit,
    ) -> RuleCount {
        RuleCount {
            dimension,
            severity,
            applicable,
            failed,
            limit,
            met: limit.is_met(failed, applicable),
        }
    }
}

/// A score out of 100, total and per dimension (English dimension name → score).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// `None` when no rule applied to any row.
    pub total: Option<f64>,
    pub dimensions: BTreeMap<String, f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rc(dimension: &str, severity: &str, applicable: u64, failed: u64) -> RuleCount {
        limited(dimension, severity, applicable, failed, Limit::default())
    }

    fn limited(
        dimension: &str,
        severity: &str,
        applicable: u64,
        failed: u64,
        limit: Limit,
    ) -> RuleCount {
        RuleCount::judged(
            Dimension::parse(dimension).unwrap(),
            Severity::parse(severity).unwrap(),
            applicable,
            failed,
            limit,
        )
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    fn rate_limit(max_rate: f64) -> Limit {
        Limit {
            max_count: None,
            max_rate: Some(max_rate),
        }
    }

    /// The README's worked example of the threshold model, by hand.
    #[test]
    fn threshold_model_gives_full_marks_within_and_falls_linearly_beyond() {
        let model = ScoringModel {
            model: ModelKind::Threshold,
            ..ScoringModel::default()
        };
        let rules = [
            // 0.4 % failed, 0.1 % tolerated: 1 − 0.003 / (0.01 − 0.001) = 0.6667.
            limited("accuracy", "error", 1000, 4, rate_limit(0.001)),
            // Within its threshold: full marks though rows failed.
            limited("accuracy", "error", 1000, 1, rate_limit(0.001)),
            // Nothing tolerated, 0.25 % failed: 1 − 0.0025 / 0.01 = 0.75.
            rc("completeness", "error", 2000, 5),
            // Nothing tolerated, 2 % failed: past zero_rate, no marks.
            rc("completeness", "warn", 100, 2),
            // max_count 10 of 1000 tolerates 1 %; 3 % failed → 1 − 0.02 / 0.09 = 0.7778.
            limited(
                "consistency",
                "error",
                1000,
                30,
                Limit {
                    max_count: Some(10),
                    max_rate: None,
                },
            ),
        ];
        let m: Vec<f64> = rules.iter().map(|r| model.marks(r)).collect();
        for (got, want) in m.iter().zip([2.0 / 3.0, 1.0, 0.75, 0.0, 7.0 / 9.0]) {
            assert!(close(*got, want), "{m:?}");
        }
        let s = model.score(rules);
        // accuracy (0.6667 + 1) / 2; completeness (1 × 0.75 + 0.5 × 0) / 1.5; consistency 0.7778.
        assert!(close(s.dimensions["accuracy"], 250.0 / 3.0));
        assert!(close(s.dimensions["completeness"], 50.0));
        assert!(close(s.dimensions["consistency"], 700.0 / 9.0));
        let total = (250.0 / 3.0 + 50.0 + 700.0 / 9.0) / 3.0;
        assert!(close(s.total.unwrap(), total), "{s:?}");
        // The pass-rate model scores the same counts at 98.6: it barely ranks.
        let p = ScoringModel::default().score(rules).total.unwrap();
        assert!(close(p, (99.75 + (99.75 + 49.0) / 1.5 + 97.0) / 3.0), "{p}");
    }

    /// The README's worked example of the deduction model, by hand.
    #[test]
    fn deduction_model_takes_points_per_failing_rule() {
        let model = ScoringModel {
            model: ModelKind::Deduction,
            ..ScoringModel::default()
        };
        let rules = [
            rc("accuracy", "error", 100, 1),                        // −10
            rc("accuracy", "error", 100, 0),                        // passes
            limited("accuracy", "error", 100, 1, rate_limit(0.05)), // within: passes
            rc("completeness", "error", 100, 3),                    // −10
            rc("completeness", "warn", 100, 3),                     // −5
            rc("timeliness", "error", 0, 0),                        // applied to no row: left out
        ];
        let s = model.score(rules);
        assert!(close(s.total.unwrap(), 75.0), "{s:?}");
        assert!(close(s.dimensions["accuracy"], 90.0));
        assert!(close(s.dimensions["completeness"], 85.0));
        assert!(!s.dimensions.contains_key("timeliness"));
        // Dimension weights scale the points; the floor is 0.
        let heavy = ScoringModel {
            dimensions: [("完整性".to_string(), 8.0)].into_iter().collect(),
            ..model.clone()
        };
        assert!(close(heavy.score(rules).total.unwrap(), 0.0));
        assert_eq!(model.score([]).total, None);
    }

    #[test]
    fn invalid_models_are_named() {
        let bad = |f: fn(&mut ScoringModel)| {
            let mut m = ScoringModel::default();
            f(&mut m);
            m.invalid()
        };
        assert!(
            bad(|m| m.threshold.zero_at = 1.0)
                .unwrap()
                .contains("zero_at")
        );
        assert!(
            bad(|m| m.threshold.zero_rate = 0.0)
                .unwrap()
                .contains("zero_rate")
        );
        assert!(
            bad(|m| m.deduction.warn = -1.0)
                .unwrap()
                .contains("deduction")
        );
        assert!(
            bad(|m| {
                m.target = Some(crate::rules::scoring::Target {
                    dimension: Some("速度".into()),
                    min: 70.0,
                });
            })
            .unwrap()
            .contains("速度")
        );
        assert_eq!(bad(|_| {}), None);
    }

    #[test]
    fn hand_computed_scores() {
        let rules = [
            rc("completeness", "error", 100, 10), // p = 0.9
            rc("completeness", "warn", 100, 50),  // p = 0.5, weight 0.5
            rc("accuracy", "error", 200, 20),     // p = 0.9
            rc("accuracy", "error", 0, 0),        // not applicable: left out
        ];
        let s = ScoringModel::default().score(rules);
        // completeness: (1×0.9 + 0.5×0.5) / 1.5 = 0.766666…; accuracy 0.9
        let c = s.dimensions["completeness"];
        assert!((c - 76.666_666_666).abs() < 1e-6, "{c}");
        assert!((s.dimensions["accuracy"] - 90.0).abs() < 1e-9);
        // equal dimension weights: (76.666… + 90) / 2 = 83.333…
        assert!((s.total.unwrap() - 83.333_333_333).abs() < 1e-6);

        let model = ScoringModel {
            dimensions: [("准确性".to_string(), 3.0)].into_iter().collect(),
            ..ScoringModel::default()
        };
        // (1 × 76.666… + 3 × 90) / 4 = 86.666…
        let t = model.score(rules).total.unwrap();
        assert!((t - 86.666_666_666).abs() < 1e-6, "{t}");

        assert_eq!(ScoringModel::default().score([]).total, None);
        assert!(
            ScoringModel {
                dimensions: [("质量".to_string(), 1.0)].into_iter().collect(),
                ..ScoringModel::default()
            }
            .invalid()
            .is_some()
        );
    }
}
