//! A library's scoring model as its pack declares it (`scoring:`): which model turns rule
//! counts into marks, the weights of dimensions and severities, the model's own parameters,
//! and the target providers are held to. The scores themselves are computed from a run's
//! counts in `results::score`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Dimension, Severity};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringModel {
    /// How a rule's counts become marks (default: its pass rate).
    #[serde(default)]
    pub model: ModelKind,
    /// Dimension (Chinese or English name) → weight; unlisted dimensions weigh 1.
    #[serde(default)]
    pub dimensions: BTreeMap<String, f64>,
    /// The weight of a rule by severity within its dimension (pass-rate and threshold models).
    #[serde(default)]
    pub severity: SeverityWeights,
    /// Threshold model: where a rule's marks reach zero.
    #[serde(default)]
    pub threshold: ThresholdMarks,
    /// Deduction model: the points a rule beyond its threshold costs, by severity.
    #[serde(default = "default_deductions")]
    pub deduction: SeverityWeights,
    /// The score providers are held to; the report gives the share that meets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
}

impl Default for ScoringModel {
    fn default() -> Self {
        ScoringModel {
            model: ModelKind::default(),
            dimensions: BTreeMap::new(),
            severity: SeverityWeights::default(),
            threshold: ThresholdMarks::default(),
            deduction: default_deductions(),
            target: None,
        }
    }
}

/// How a rule's counts become marks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// A rule earns the share of its applicable rows that pass.
    #[default]
    PassRate,
    /// A rule within its threshold earns full marks; beyond it, marks fall linearly with the
    /// excess, to zero at `threshold.zero_at` times the threshold.
    Threshold,
    /// 100 minus points for every rule beyond its threshold, floor 0.
    Deduction,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityWeights {
    pub error: f64,
    pub warn: f64,
}

impl Default for SeverityWeights {
    fn default() -> Self {
        SeverityWeights {
            error: 1.0,
            warn: 0.5,
        }
    }
}

impl SeverityWeights {
    /// The figure for `severity`.
    pub fn of(self, severity: Severity) -> f64 {
        match severity {
            Severity::Error => self.error,
            Severity::Warn => self.warn,
        }
    }
}

fn default_deductions() -> SeverityWeights {
    SeverityWeights {
        error: 10.0,
        warn: 5.0,
    }
}

/// The threshold model's slope: a rule's marks reach zero when its failed share is
/// `zero_at` times its threshold, or `zero_rate` for a rule that tolerates no failed row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThresholdMarks {
    pub zero_at: f64,
    pub zero_rate: f64,
}

impl Default for ThresholdMarks {
    fn default() -> Self {
        ThresholdMarks {
            zero_at: 10.0,
            zero_rate: 0.01,
        }
    }
}

/// A score a provider should reach: in one dimension, or in total when none is named.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
    pub min: f64,
}

impl Target {
    /// The dimension the target reads (`None`: the total score).
    pub fn dimension(&self) -> Option<Dimension> {
        self.dimension.as_deref().and_then(Dimension::parse)
    }
}

impl ScoringModel {
    /// A problem with the model, if any.
    pub fn invalid(&self) -> Option<String> {
        let weight = |w: f64| w.is_finite() && w >= 0.0;
        for (name, w) in &self.dimensions {
            if Dimension::parse(name).is_none() {
                return Some(format!("scoring: unknown dimension `{name}`"));
            }
            if !weight(*w) {
                return Some(format!(
                    "scoring: weight of `{name}` must be a non-negative number"
                ));
            }
        }
        let s = self.severity;
        if !(weight(s.error) && weight(s.warn)) {
            return Some("scoring: severity weights must be non-negative numbers".into());
        }
        let d = self.deduction;
        if !(weight(d.error) && weight(d.warn)) {
            return Some("scoring: deduction points must be non-negative numbers".into());
        }
        let t = self.threshold;
        if !(t.zero_at.is_finite() && t.zero_at > 1.0) {
            return Some("scoring: threshold.zero_at must be a number above 1".into());
        }
        if !(t.zero_rate > 0.0 && t.zero_rate <= 1.0) {
            return Some("scoring: threshold.zero_rate must be a share in (0, 1]".into());
        }
        if let Some(target) = &self.target {
            if let Some(name) = &target.dimension
                && Dimension::parse(name).is_none()
            {
                return Some(format!("scoring: target names unknown dimension `{name}`"));
            }
            if !(0.0..=100.0).contains(&target.min) {
                return Some("scoring: target.min must be a score from 0 to 100".into());
            }
        }
        None
    }

    /// The weight of dimension `d` (1 unless the pack says otherwise).
    pub fn dimension_weight(&self, d: Dimension) -> f64 {
        self.dimensions
            .iter()
            .find(|(name, _)| Dimension::parse(name) == Some(d))
            .map_or(1.0, |(_, w)| *w)
    }

    /// The weight of a rule of `severity`.
    pub fn severity_weight(&self, severity: Severity) -> f64 {
        self.severity.of(severity)
    }

    /// The points a rule of `severity` beyond its threshold costs (deduction model).
    pub fn deduction_points(&self, severity: Severity) -> f64 {
        self.deduction.of(severity)
    }
}
