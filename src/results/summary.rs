//! The run summary: what `qc run` prints and writes to `summary.json` (schema documented in
//! README, versioned by `schema_version`). Field names are English and stable; only the
//! terminal rendering is localized.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use unicode_width::UnicodeWidthStr;

use crate::rules::bind::{BoundRule, BoundTable, RuleCheck};
use crate::rules::{Severity, Threshold};
use crate::text::{Lang, Text, percent_ceil, percent_floor, thousands};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
    /// A table check that could not be evaluated (e.g. no earlier run to compare with).
    Skipped,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub schema_version: u32,
    pub run_id: String,
    pub qc_version: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: String,
    pub threads: usize,
    /// `passed`, `threshold_failed`, or `partial` (damaged files were left out under
    /// `--keep-going`; exit code 3). A summary exists only for a run that finished.
    pub status: String,
    pub exit_code: u8,
    pub packs: Vec<PackSummary>,
    pub tables: Vec<TableSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackSummary {
    pub path: String,
    pub library: String,
    pub library_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableSummary {
    pub library: String,
    pub library_name: String,
    pub name: String,
    pub title: String,
    pub format: String,
    pub files: Vec<String>,
    pub rows: u64,
    pub anomalous_rows: u64,
    pub passed_rows: u64,
    /// passed_rows / rows (1.0 for an empty table).
    pub pass_rate: f64,
    pub verdict: Verdict,
    /// Table-level checks (row count, freshness, completeness).
    pub table_checks: Vec<TableCheckSummary>,
    /// Rules left out of this run, with the reason.
    pub skipped_rules: Vec<SkippedRuleSummary>,
    /// Damaged files left out under `--keep-going` (the run is then `partial`).
    #[serde(default)]
    pub left_out_files: Vec<crate::rules::bind::LeftOutFile>,
    /// The anomaly export, relative to the output folder (absent when there is no anomaly).
    pub anomalies_file: Option<String>,
    pub elapsed_ms: u64,
    pub rules: Vec<RuleSummary>,
    pub providers: Vec<ProviderSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleSummary {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// English dimension name (`conformity`, `completeness`, …).
    pub dimension: String,
    pub severity: String,
    pub builtin: bool,
    pub applicable_rows: u64,
    pub failed_rows: u64,
    /// failed_rows / applicable_rows (0.0 when nothing applied).
    pub failed_rate: f64,
    pub threshold: Threshold,
    pub verdict: Verdict,
    /// Set-based rules: the number of anomalous tuples (duplicated groups, dangling values,
    /// keys returned by a query).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomalous_keys: Option<AnomalousKeys>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnomalousKeys {
    /// `duplicated_groups`, `dangling_values` or `returned_keys`.
    pub unit: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableCheckSummary {
    pub id: String,
    pub name: String,
    pub dimension: String,
    pub severity: String,
    /// What was measured and expected, tagged by the check's `kind`.
    pub measured: crate::checks::table::Measured,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SkippedRuleSummary {
    pub id: String,
    pub name: String,
    /// The table (`library.table`) the rule reads that is not in the run.
    pub reads: String,
    /// The pack that declares it.
    pub pack: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderSummary {
    /// The provider column's value; null for rows without one.
    pub provider: Option<String>,
    pub rows: u64,
    pub anomalous_rows: u64,
    pub passed_rows: u64,
    /// Every rule that applied to at least one of this provider's rows (for its scores).
    pub rules: Vec<ProviderRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderRule {
    pub id: String,
    pub applicable_rows: u64,
    pub failed_rows: u64,
}

/// `passed / rows`, 1.0 for an empty table.
pub fn pass_rate(passed: u64, rows: u64) -> f64 {
    if rows == 0 { 1.0 } else { rate(passed, rows) }
}

#[allow(clippy::cast_precision_loss)] // rates are for display and scoring, counts stay exact
pub fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

pub fn rule_verdict(rule: &BoundRule, failed: u64, applicable: u64) -> Verdict {
    severity_verdict(rule.threshold.is_met(failed, applicable), rule.severity)
}

fn severity_verdict(passed: bool, severity: Severity) -> Verdict {
    if passed {
        Verdict::Pass
    } else if severity == Severity::Warn {
        Verdict::Warn
    } else {
        Verdict::Fail
    }
}

fn severity_name(s: Severity) -> String {
    match s {
        Severity::Error => "error".into(),
        Severity::Warn => "warn".into(),
    }
}

/// Summarize one audited table.
pub fn table_summary(
    table: &BoundTable,
    outcome: &crate::execute::TableOutcome,
    anomalies_file: Option<String>,
) -> TableSummary {
    let counts = &outcome.counts;
    let elapsed_ms = u64::try_from(outcome.elapsed.as_millis()).unwrap_or(u64::MAX);
    let rules: Vec<RuleSummary> = table
        .rules
        .iter()
        .zip(&counts.rules)
        .zip(&outcome.set_keys)
        .map(|((r, c), keys)| RuleSummary {
            id: r.id.clone(),
            name: r.name.clone(),
            kind: r.kind.to_string(),
            dimension: r.dimension.en().to_string(),
            severity: severity_name(r.severity),
            builtin: r.builtin,
            applicable_rows: c.applicable,
            failed_rows: c.failed,
            failed_rate: rate(c.failed, c.applicable),
            threshold: r.threshold,
            verdict: rule_verdict(r, c.failed, c.applicable),
            anomalous_keys: match (&r.check, keys) {
                (RuleCheck::Set(Some(check)), Some(n)) => Some(AnomalousKeys {
                    unit: check.unit.en().to_string(),
                    count: *n,
                }),
                _ => None,
            },
        })
        .collect();
    let table_checks: Vec<TableCheckSummary> = table
        .table_checks
        .iter()
        .map(|c| {
            let measured = c.kind.measure(&outcome.facts);
            TableCheckSummary {
                id: c.id.clone(),
                name: c.name.clone(),
                dimension: c.dimension.en().to_string(),
                severity: severity_name(c.severity),
                verdict: measured
                    .passed()
                    .map_or(Verdict::Skipped, |p| severity_verdict(p, c.severity)),
                measured,
            }
        })
        .collect();
    let verdicts = || {
        rules
            .iter()
            .map(|r| r.verdict)
            .chain(table_checks.iter().map(|c| c.verdict))
    };
    let verdict = if verdicts().any(|v| v == Verdict::Fail) {
        Verdict::Fail
    } else if verdicts().any(|v| v == Verdict::Warn) {
        Verdict::Warn
    } else {
        Verdict::Pass
    };
    let providers = counts
        .providers
        .iter()
        .map(|(name, p)| ProviderSummary {
            provider: name.clone(),
            rows: p.rows,
            anomalous_rows: p.anomalous,
            passed_rows: p.rows - p.anomalous,
            rules: table
                .rules
                .iter()
                .zip(&p.rules)
                .filter(|(_, c)| c.applicable > 0)
                .map(|(r, c)| ProviderRule {
                    id: r.id.clone(),
                    applicable_rows: c.applicable,
                    failed_rows: c.failed,
                })
                .collect(),
        })
        .collect();
    TableSummary {
        library: table.library.id.clone(),
        library_name: table.library.name.clone(),
        name: table.name.clone(),
        title: table.title.clone(),
        format: match table.source.format {
            crate::scan::SourceFormat::Parquet => "parquet".into(),
            crate::scan::SourceFormat::Csv(_) => "csv".into(),
        },
        files: table
            .source
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect(),
        rows: counts.rows,
        anomalous_rows: counts.anomalous,
        passed_rows: counts.passed(),
        pass_rate: pass_rate(counts.passed(), counts.rows),
        verdict,
        table_checks,
        left_out_files: table.source.left_out.clone(),
        skipped_rules: table
            .skipped
            .iter()
            .map(|r| SkippedRuleSummary {
                id: r.id.clone(),
                name: r.name.clone(),
                reads: r.reads.clone(),
                pack: r.pack.clone(),
            })
            .collect(),
        anomalies_file,
        elapsed_ms,
        rules,
        providers,
    }
}

/// Pad `s` with spaces to `width` terminal columns (CJK characters are two columns wide).
fn pad(s: &str, width: usize) -> String {
    let w = UnicodeWidthStr::width(s);
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

fn pad_left(s: &str, width: usize) -> String {
    let w = UnicodeWidthStr::width(s);
    format!("{}{s}", " ".repeat(width.saturating_sub(w)))
}

/// The terminal summary of one table: headline, then one line per rule.
pub fn render_table(t: &TableSummary, lang: Lang) -> String {
    let text = Text::new(lang);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · {} ({}.{})",
        t.library_name, t.title, t.library, t.name
    );
    let _ = writeln!(
        out,
        "{}",
        text.headline(
            &thousands(t.rows),
            &thousands(t.anomalous_rows),
            &thousands(t.passed_rows),
            &percent_floor(t.passed_rows, t.rows)
        )
    );
    let header = text.rule_header();
    let rows: Vec<[String; 6]> = t
        .rules
        .iter()
        .map(|r| {
            let dim = crate::rules::Dimension::parse(&r.dimension)
                .map_or(r.dimension.clone(), |d| text.dimension(d).to_string());
            [
                r.id.clone(),
                r.name.clone(),
                dim,
                match &r.anomalous_keys {
                    Some(v) => format!(
                        "{} ({})",
                        thousands(r.failed_rows),
                        text.anomalous_keys(
                            crate::checks::set::KeyUnit::parse(&v.unit)
                                .unwrap_or(crate::checks::set::KeyUnit::ReturnedKey),
                            &thousands(v.count)
                        )
                    ),
                    None => thousands(r.failed_rows),
                },
                percent_ceil(r.failed_rows, r.applicable_rows),
                text.verdict(r.verdict).to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(UnicodeWidthStr::width);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(UnicodeWidthStr::width(cell.as_str()));
        }
    }
    let line = |cells: [&str; 6]| {
        format!(
            "  {}  {}  {}  {}  {}  {}",
            pad(cells[0], widths[0]),
            pad(cells[1], widths[1]),
            pad(cells[2], widths[2]),
            pad_left(cells[3], widths[3]),
            pad_left(cells[4], widths[4]),
            cells[5]
        )
        .trim_end()
        .to_string()
    };
    let _ = writeln!(out, "{}", line(header));
    for r in &rows {
        let _ = writeln!(out, "{}", line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]));
    }
    if !t.table_checks.is_empty() {
        let header = text.table_check_header();
        let rows: Vec<[String; 5]> = t
            .table_checks
            .iter()
            .map(|c| {
                [
                    c.id.clone(),
                    c.name.clone(),
                    text.observed(&c.measured),
                    text.expected(&c.measured),
                    text.verdict(c.verdict).to_string(),
                ]
            })
            .collect();
        let mut widths = header.map(UnicodeWidthStr::width);
        for r in &rows {
            for (w, cell) in widths.iter_mut().zip(r) {
                *w = (*w).max(UnicodeWidthStr::width(cell.as_str()));
            }
        }
        let line = |cells: [&str; 5]| {
            let padded: Vec<String> = cells[..4]
                .iter()
                .zip(widths)
                .map(|(c, w)| pad(c, w))
                .collect();
            format!("  {}  {}", padded.join("  "), cells[4])
                .trim_end()
                .to_string()
        };
        let _ = writeln!(out, "{}", line(header));
        for r in &rows {
            let _ = writeln!(out, "{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
        }
    }
    for r in &t.skipped_rules {
        let _ = writeln!(out, "  {}", text.rule_skipped(r));
    }
    for f in &t.left_out_files {
        let _ = writeln!(out, "  {}", text.file_left_out(&f.reason));
    }
    out
}

/// The whole terminal summary.
pub fn render(summary: &RunSummary, out_dir: &str, seconds: f64, lang: Lang) -> String {
    let text = Text::new(lang);
    let mut out = String::new();
    for t in &summary.tables {
        out.push_str(&render_table(t, lang));
        if let Some(f) = &t.anomalies_file {
            let path = format!("{out_dir}/{f}");
            let _ = writeln!(
                out,
                "  {}",
                text.anomalies_written(&path, &thousands(t.anomalous_rows))
            );
        }
        out.push('\n');
    }
    let failed = summary
        .tables
        .iter()
        .filter(|t| t.verdict == Verdict::Fail)
        .count();
    let _ = writeln!(
        out,
        "{}",
        text.run_footer(summary.tables.len(), failed, out_dir, seconds)
    );
    let left_out: usize = summary.tables.iter().map(|t| t.left_out_files.len()).sum();
    if left_out > 0 {
        let _ = writeln!(out, "{}", text.run_partial(left_out));
    }
    out
}
