//! Exact counts of one table's audit: rows, anomalous rows, and per rule and per provider the
//! applicable and failed rows. Counts from separate partitions [`merge`](TableCounts::merge)
//! into the counts of the whole, in any order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCounts {
    /// Rows the rule applied to (its `when` held, and the record was well formed).
    pub applicable: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderCounts {
    pub rows: u64,
    pub anomalous: u64,
    /// Per rule (same order as the table's rules): applicable and failed rows.
    pub rules: Vec<RuleCounts>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCounts {
    pub rows: u64,
    /// Rows failing at least one rule (each counted once).
    pub anomalous: u64,
    pub rules: Vec<RuleCounts>,
    /// Keyed by provider value; `None` for rows whose provider is NULL (or no provider column).
    /// Stored as a list of pairs (JSON keys are text only).
    #[serde(with = "as_pairs")]
    pub providers: BTreeMap<Option<String>, ProviderCounts>,
}

/// A map with `Option<String>` keys as a list of `[key, value]` pairs.
mod as_pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serializer};

    use super::ProviderCounts;

    type Map = BTreeMap<Option<String>, ProviderCounts>;

    pub fn serialize<S: Serializer>(map: &Map, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Map, D::Error> {
        Vec::<(Option<String>, ProviderCounts)>::deserialize(d)
            .map(|pairs| pairs.into_iter().collect())
    }
}

impl TableCounts {
    pub fn new(rules: usize) -> TableCounts {
        TableCounts {
            rules: vec![RuleCounts::default(); rules],
            ..TableCounts::default()
        }
    }

    pub fn passed(&self) -> u64 {
        self.rows - self.anomalous
    }

    /// The provider's counts, created on first use.
    pub fn provider_mut(&mut self, provider: Option<&str>) -> &mut ProviderCounts {
        let n = self.rules.len();
        self.providers
            .entry(provider.map(str::to_string))
            .or_insert_with(|| ProviderCounts {
                rules: vec![RuleCounts::default(); n],
                ..ProviderCounts::default()
            })
    }

    /// Add `other` (counts of another part of the same table) into `self`.
    pub fn merge(&mut self, other: &TableCounts) {
        self.rows += other.rows;
        self.anomalous += other.anomalous;
        add_rules(&mut self.rules, &other.rules);
        for (name, p) in &other.providers {
            let mine = self.provider_mut(name.as_deref());
            mine.rows += p.rows;
            mine.anomalous += p.anomalous;
            add_rules(&mut mine.rules, &p.rules);
        }
    }
}

fn add_rules(into: &mut [RuleCounts], from: &[RuleCounts]) {
    for (a, b) in into.iter_mut().zip(from) {
        a.applicable += b.applicable;
        a.failed += b.failed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(rows: u64, anomalous: u64, provider: &str, failed: u64) -> TableCounts {
        let mut t = TableCounts::new(1);
        t.rows = rows;
        t.anomalous = anomalous;
        t.rules[0] = RuleCounts {
            applicable: rows,
            failed,
        };
        let p = t.provider_mut(Some(provider));
        p.rows = rows;
        p.anomalous = anomalous;
        p.rules[0] = RuleCounts {
            applicable: rows,
            failed,
        };
        t
    }

    #[test]
    fn merge_is_order_independent_and_sums() {
        let parts = [
            part(10, 2, "黄浦区", 2),
            part(5, 1, "徐汇区", 1),
            part(7, 0, "黄浦区", 0),
        ];
        let mut a = TableCounts::new(1);
        for p in &parts {
            a.merge(p);
        }
        let mut b = TableCounts::new(1);
        for p in parts.iter().rev() {
            b.merge(p);
        }
        assert_eq!(a, b);
        assert_eq!((a.rows, a.anomalous, a.rules[0].failed), (22, 3, 3));
        assert_eq!(a.providers[&Some("黄浦区".to_string())].rows, 17);
    }
}
