//! The scoring model: a score out of 100 per table, provider and library, computed from the
//! exact counts the store keeps — so any score can be recomputed from the store.
//!
//! - rule `r` (per table) with `N_r` applicable and `F_r` failed rows: pass rate
//!   `p_r = 1 − F_r / N_r` (rules applicable to no row are left out);
//! - dimension `d`: `S_d = Σ w_r p_r / Σ w_r` over its rules, `w_r` the weight of the rule's
//!   severity (default: error 1, warn 0.5);
//! - total: `S = Σ W_d S_d / Σ W_d` over the dimensions that have rules, `W_d` the dimension's
//!   weight (default: 1 each); shown × 100.
//!
//! A `metric` table check counts as a rule whose applicable and failed units are its judged
//! groups and its groups beyond the bounds (per provider: the provider's groups, when the
//! metric groups by the provider column). A provider's score uses the same rules with its own
//! rows' counts; a library's pools the rules of all its tables. A pack may set the weights:
//!
//! ```yaml
//! scoring:
//!   dimensions: { 完整性: 2, 准确性: 2, 一致性: 1 }   # unlisted dimensions weigh 1
//!   severity: { error: 1, warn: 0.5 }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checks::table::Measured;
use crate::results::summary::TableSummary;
use crate::rules::scoring::ScoringModel;
use crate::rules::{Dimension, Severity};

impl ScoringModel {
    /// The score of a set of rule counts.
    pub fn score(&self, rules: impl IntoIterator<Item = RuleCount>) -> Score {
        // Per dimension: Σ w_r p_r and Σ w_r.
        let mut sums: BTreeMap<Dimension, (f64, f64)> = BTreeMap::new();
        for r in rules {
            let d = r.dimension;
            if r.applicable == 0 {
                continue;
            }
            #[allow(clippy::cast_precision_loss)] // a rate, not a count
            let pass = 1.0 - r.failed as f64 / r.applicable as f64;
            let w = self.severity_weight(r.severity);
            let e = sums.entry(d).or_default();
            e.0 += w * pass;
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
                    e.2.push(RuleCount {
                        dimension: r.dimension,
                        severity: r.severity,
                        applicable: pr.applicable_rows,
                        failed: pr.failed_rows,
                    });
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
                    .push(RuleCount {
                        dimension: c.dimension,
                        severity: c.severity,
                        applicable: *groups,
                        failed,
                    });
            }
        }
    }
    counts
        .into_iter()
        .map(|(p, (rows, anomalous, rules))| (p, (rows, anomalous, model.score(rules))))
        .collect()
}

fn table_rules(t: &TableSummary) -> impl Iterator<Item = RuleCount> + '_ {
    let rules = t.rules.iter().map(|r| RuleCount {
        dimension: r.dimension,
        severity: r.severity,
        applicable: r.applicable_rows,
        failed: r.failed_rows,
    });
    let metrics = t.table_checks.iter().filter_map(|c| match &c.measured {
        Measured::Metric {
            groups, findings, ..
        } => Some(RuleCount {
            dimension: c.dimension,
            severity: c.severity,
            applicable: *groups,
            failed: findings.len() as u64,
        }),
        _ => None,
    });
    rules.chain(metrics)
}

/// One rule's counts, as the model reads them.
#[derive(Debug, Clone, Copy)]
pub struct RuleCount {
    pub dimension: Dimension,
    pub severity: Severity,
    pub applicable: u64,
    pub failed: u64,
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
        RuleCount {
            dimension: Dimension::parse(dimension).unwrap(),
            severity: Severity::parse(severity).unwrap(),
            applicable,
            failed,
        }
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
