//! Drift between two deliveries of a table (`qc profile --compare PREVIOUS.json`): columns
//! added, removed or retyped, and figures that moved beyond stated distances, as findings
//! with the previous and the current figure.
//!
//! The distances:
//! - rows: the row count changed by more than [`ROWS_PERCENT`] %;
//! - missing: the share of NULL, blank and placeholder values moved by more than
//!   [`MISSING_POINTS`] percentage points;
//! - classes: a semantic class's share moved by more than [`CLASS_POINTS`] points;
//! - values: the distributions of a column's top values (exact in both) are more than
//!   [`TOP_DISTANCE`] apart in total variation distance (half the sum of the shares'
//!   differences; 0 same, 1 disjoint);
//! - numbers: the median moved by more than [`MEDIAN_IQRS`] of the previous interquartile
//!   range (or, when that range is 0, at all);
//! - distinct: the distinct values per present value changed by more than half.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ColumnProfile, Profile};
use crate::text::thousands;

pub const ROWS_PERCENT: f64 = 30.0;
pub const MISSING_POINTS: f64 = 5.0;
pub const CLASS_POINTS: f64 = 10.0;
pub const TOP_DISTANCE: f64 = 0.2;
pub const MEDIAN_IQRS: f64 = 0.5;

/// One change between deliveries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// `rows`, `column_added`, `column_removed`, `column_retyped`, `missing`, `class`,
    /// `values`, `numbers` or `distinct`.
    pub kind: String,
    pub column: Option<String>,
    pub previous: String,
    pub current: String,
    pub zh: String,
    pub en: String,
}

fn finding(
    kind: &str,
    column: Option<&str>,
    previous: String,
    current: String,
    zh: String,
    en: String,
) -> Finding {
    Finding {
        kind: kind.to_string(),
        column: column.map(str::to_string),
        previous,
        current,
        zh,
        en,
    }
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// What changed from `prev` to `cur`.
pub fn compare(prev: &Profile, cur: &Profile) -> Vec<Finding> {
    let mut out = Vec::new();
    let change = if prev.rows == 0 {
        if cur.rows == 0 { 0.0 } else { f64::INFINITY }
    } else {
        (cur.rows as f64 - prev.rows as f64) * 100.0 / prev.rows as f64
    };
    if change.abs() > ROWS_PERCENT {
        out.push(finding(
            "rows",
            None,
            thousands(prev.rows),
            thousands(cur.rows),
            format!(
                "行数由 {} 变为 {}（{change:+.1}%）",
                thousands(prev.rows),
                thousands(cur.rows)
            ),
            format!(
                "rows went from {} to {} ({change:+.1}%)",
                thousands(prev.rows),
                thousands(cur.rows)
            ),
        ));
    }
    let before: BTreeMap<&str, &ColumnProfile> =
        prev.columns.iter().map(|c| (c.name.as_str(), c)).collect();
    let after: BTreeMap<&str, &ColumnProfile> =
        cur.columns.iter().map(|c| (c.name.as_str(), c)).collect();
    for name in before.keys().filter(|n| !after.contains_key(*n)) {
        out.push(finding(
            "column_removed",
            Some(name),
            (*name).to_string(),
            String::new(),
            format!("列「{name}」不再出现"),
            format!("column `{name}` is gone"),
        ));
    }
    for c in &cur.columns {
        let Some(p) = before.get(c.name.as_str()) else {
            out.push(finding(
                "column_added",
                Some(&c.name),
                String::new(),
                c.inferred_type.clone(),
                format!("新增列「{}」（{}）", c.name, c.inferred_type),
                format!("new column `{}` ({})", c.name, c.inferred_type),
            ));
            continue;
        };
        column(p, c, &mut out);
    }
    out
}

#[allow(clippy::many_single_char_names)] // p, c: the previous and current column; a, b: their figures
fn column(p: &ColumnProfile, c: &ColumnProfile, out: &mut Vec<Finding>) {
    let name = c.name.as_str();
    if p.physical_type != c.physical_type || p.inferred_type != c.inferred_type {
        let (a, b) = (
            format!("{} / {}", p.physical_type, p.inferred_type),
            format!("{} / {}", c.physical_type, c.inferred_type),
        );
        out.push(finding(
            "column_retyped",
            Some(name),
            a.clone(),
            b.clone(),
            format!("列「{name}」的类型由 {a} 变为 {b}"),
            format!("column `{name}` changed type from {a} to {b}"),
        ));
    }
    let missing = |x: &ColumnProfile| pct(x.nulls + x.blanks + x.placeholders, x.rows);
    let (a, b) = (missing(p), missing(c));
    if (b - a).abs() > MISSING_POINTS {
        out.push(finding(
            "missing",
            Some(name),
            format!("{a:.2}%"),
            format!("{b:.2}%"),
            format!("列「{name}」的缺失率由 {a:.2}% 变为 {b:.2}%"),
            format!("`{name}` missing values went from {a:.2}% to {b:.2}%"),
        ));
    }
    let classes: std::collections::BTreeSet<_> = p
        .classes
        .iter()
        .chain(&c.classes)
        .map(|s| s.class)
        .collect();
    for class in classes {
        let (a, b) = (p.class_share(class) * 100.0, c.class_share(class) * 100.0);
        if (b - a).abs() > CLASS_POINTS {
            let (zh, en) = class.label();
            out.push(finding(
                "class",
                Some(name),
                format!("{a:.1}%"),
                format!("{b:.1}%"),
                format!("列「{name}」中「{zh}」的占比由 {a:.1}% 变为 {b:.1}%"),
                format!("`{name}`: share of {en} went from {a:.1}% to {b:.1}%"),
            ));
        }
    }
    if p.top_exact
        && c.top_exact
        && p.distinct as usize == p.top.len()
        && c.distinct as usize == c.top.len()
    {
        let shares = |x: &ColumnProfile| -> BTreeMap<String, f64> {
            let n = (x.rows - x.nulls).max(1) as f64;
            x.top
                .iter()
                .map(|t| (t.value.clone(), t.count as f64 / n))
                .collect()
        };
        let (sa, sb) = (shares(p), shares(c));
        let keys: std::collections::BTreeSet<&String> = sa.keys().chain(sb.keys()).collect();
        let tvd: f64 = keys
            .iter()
            .map(|k| {
                (sa.get(*k).copied().unwrap_or(0.0) - sb.get(*k).copied().unwrap_or(0.0)).abs()
            })
            .sum::<f64>()
            / 2.0;
        if tvd > TOP_DISTANCE {
            out.push(finding(
                "values",
                Some(name),
                String::new(),
                format!("{tvd:.2}"),
                format!("列「{name}」的取值分布变化（总变差距离 {tvd:.2}）"),
                format!(
                    "`{name}`: the distribution of values moved (total variation distance {tvd:.2})"
                ),
            ));
        }
    }
    if let (Some(a), Some(b)) = (&p.numbers, &c.numbers)
        && a.unit == b.unit
    {
        let q = |n: &super::NumberStats, at: f64| {
            n.quantiles
                .iter()
                .find(|x| (x.q - at).abs() < 1e-9)
                .map(|x| x.value.value)
        };
        if let (Some(m0), Some(m1), Some(q1), Some(q3)) =
            (q(a, 0.5), q(b, 0.5), q(a, 0.25), q(a, 0.75))
        {
            let iqr = q3 - q1;
            let moved = if iqr > 0.0 {
                (m1 - m0).abs() > MEDIAN_IQRS * iqr
            } else {
                (m1 - m0).abs() > 0.0
            };
            if moved {
                let (t0, t1) = (median_text(a), median_text(b));
                out.push(finding(
                    "numbers",
                    Some(name),
                    t0.clone(),
                    t1.clone(),
                    format!("列「{name}」的中位数由 {t0} 变为 {t1}"),
                    format!("`{name}`: the median went from {t0} to {t1}"),
                ));
            }
        }
    }
    let ratio = |x: &ColumnProfile| x.distinct as f64 / (x.rows - x.nulls).max(1) as f64;
    let (a, b) = (ratio(p), ratio(c));
    if a > 0.0 && ((b / a) > 1.5 || (b / a) < 0.5) && p.distinct.max(c.distinct) > 10 {
        out.push(finding(
            "distinct",
            Some(name),
            thousands(p.distinct),
            thousands(c.distinct),
            format!(
                "列「{name}」的不同值由 {} 变为 {}",
                thousands(p.distinct),
                thousands(c.distinct)
            ),
            format!(
                "`{name}`: distinct values went from {} to {}",
                thousands(p.distinct),
                thousands(c.distinct)
            ),
        ));
    }
}

fn median_text(n: &super::NumberStats) -> String {
    n.quantiles
        .iter()
        .find(|x| (x.q - 0.5).abs() < 1e-9)
        .map(|x| x.value.text.clone())
        .unwrap_or_default()
}
