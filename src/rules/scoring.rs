//! A library's scoring model as its pack declares it (`scoring:`): the weights of dimensions
//! and severities. The scores themselves are computed from a run's counts in
//! `results::score`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Dimension, Severity};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringModel {
    /// Dimension (Chinese or English name) → weight; unlisted dimensions weigh 1.
    #[serde(default)]
    pub dimensions: BTreeMap<String, f64>,
    #[serde(default)]
    pub severity: SeverityWeights,
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

impl ScoringModel {
    /// A problem with the model, if any.
    pub fn invalid(&self) -> Option<String> {
        for (name, w) in &self.dimensions {
            if Dimension::parse(name).is_none() {
                return Some(format!("scoring: unknown dimension `{name}`"));
            }
            if !w.is_finite() || *w < 0.0 {
                return Some(format!(
                    "scoring: weight of `{name}` must be a non-negative number"
                ));
            }
        }
        let s = self.severity;
        if !(s.error.is_finite() && s.warn.is_finite() && s.error >= 0.0 && s.warn >= 0.0) {
            return Some("scoring: severity weights must be non-negative numbers".into());
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
        match severity {
            Severity::Error => self.severity.error,
            Severity::Warn => self.severity.warn,
        }
    }
}
