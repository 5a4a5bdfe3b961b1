//! `truth.json`: what an audit of a generated library must report, exactly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const TRUTH_FILE: &str = "truth.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderTruth {
    pub rows: u64,
    pub anomalous_rows: u64,
    /// Failed rows per rule id (rules with no failure are absent).
    pub rules: BTreeMap<String, u64>,
}

/// One table's expected counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableTruth {
    pub rows: u64,
    pub anomalous_rows: u64,
    /// Failed rows per rule id, every rule of the pack listed (0 included).
    pub rules: BTreeMap<String, u64>,
    pub providers: BTreeMap<String, ProviderTruth>,
    /// Rows that fail a rule only when a library generated with this one is left out of the
    /// run (the rule then runs without the part that reads it, e.g. MAR-023 without the
    /// deaths that excuse a widower's remarriage): library → rule → rows, all clean rows
    /// otherwise.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub without: BTreeMap<String, BTreeMap<String, u64>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    pub library: String,
    pub seed: u64,
    /// The libraries generated together with this one (cross-library rules see them).
    #[serde(default)]
    pub generated_with: Vec<String>,
    pub tables: BTreeMap<String, TableTruth>,
}

impl TableTruth {
    /// Record one generated row: its provider and the rules it breaks (empty: a clean row).
    pub fn add_row(&mut self, provider: &str, broken: &[&str]) {
        self.rows += 1;
        let p = self.providers.entry(provider.to_string()).or_default();
        p.rows += 1;
        if !broken.is_empty() {
            self.anomalous_rows += 1;
            p.anomalous_rows += 1;
        }
        for rule in broken {
            *self.rules.entry((*rule).to_string()).or_default() += 1;
            *p.rules.entry((*rule).to_string()).or_default() += 1;
        }
    }

    /// Add another chunk's truth.
    pub fn merge(&mut self, other: &TableTruth) {
        self.rows += other.rows;
        self.anomalous_rows += other.anomalous_rows;
        for (r, n) in &other.rules {
            *self.rules.entry(r.clone()).or_default() += n;
        }
        for (name, p) in &other.providers {
            let mine = self.providers.entry(name.clone()).or_default();
            mine.rows += p.rows;
            mine.anomalous_rows += p.anomalous_rows;
            for (r, n) in &p.rules {
                *mine.rules.entry(r.clone()).or_default() += n;
            }
        }
    }
}
