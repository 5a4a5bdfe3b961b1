//! The run summary: what `qc run` writes to `summary.json` (schema documented in README,
//! versioned by `schema_version`) and prints (rendered by `cli::summary`). Field names are
//! English and stable.

use serde::{Deserialize, Serialize};

use crate::bind::{BoundRule, BoundTable, RuleCheck};
use crate::checks::set::KeyUnit;
use crate::rules::{Dimension, Severity, Threshold};

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

/// Which table verdict fails a run (`qc run --fail-on`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum FailOn {
    /// A table whose verdict is `fail` (an `error` rule beyond its threshold).
    #[default]
    Error,
    /// A table whose verdict is `warn` or `fail`.
    Warn,
}

impl FailOn {
    /// Whether a run whose worst table verdict is `worst` fails.
    pub fn fails(self, worst: Verdict) -> bool {
        match self {
            FailOn::Error => worst == Verdict::Fail,
            FailOn::Warn => matches!(worst, Verdict::Fail | Verdict::Warn),
        }
    }
}

impl Verdict {
    fn pass() -> Verdict {
        Verdict::Pass
    }

    /// The verdict of a whole made of parts: fail if one fails, else warn if one warns,
    /// else pass.
    pub fn worst(parts: impl IntoIterator<Item = Verdict>) -> Verdict {
        parts
            .into_iter()
            .fold(Verdict::Pass, |worst, v| match (worst, v) {
                (Verdict::Fail, _) | (_, Verdict::Fail) => Verdict::Fail,
                (Verdict::Warn, _) | (_, Verdict::Warn) => Verdict::Warn,
                _ => Verdict::Pass,
            })
    }
}

/// How a run that finished ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every table met its thresholds (exit code 0).
    Passed,
    /// Some table failed a rule or table check — or, under `--fail-on warn`, warned
    /// (exit code 1).
    ThresholdFailed,
    /// Damaged files were left out under `--keep-going` (exit code 3).
    Partial,
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
    pub status: RunStatus,
    pub exit_code: u8,
    /// The worst table verdict: `fail`, else `warn`, else `pass` (what a scheduler blocks on
    /// with `exit_code`).
    #[serde(default = "Verdict::pass")]
    pub verdict: Verdict,
    /// The verdict that fails the run: `error` (a table failed) or `warn` (a table warned or
    /// failed), from `qc run --fail-on`.
    #[serde(default)]
    pub fail_on: FailOn,
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
    /// Rules that ran without a part reading a table not in the run (a `history`'s `ends`):
    /// their findings include what that part would have excused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partial_rules: Vec<SkippedRuleSummary>,
    /// The table's exemptions, each marked expired when the run date is after its `until`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exemptions: Vec<crate::bind::exemptions::Exemption>,
    /// Damaged files left out under `--keep-going` (the run is then `partial`).
    #[serde(default)]
    pub left_out_files: Vec<crate::rules::source::LeftOutFile>,
    /// The anomaly export, relative to the output folder (absent when there is no anomaly).
    pub anomalies_file: Option<String>,
    /// Which files this run read and which it reused from the previous run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reuse: Option<crate::execute::reuse::Reuse>,
    pub elapsed_ms: u64,
    pub rules: Vec<RuleSummary>,
    pub providers: Vec<ProviderSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleSummary {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// Serialized by its English name (`conformity`, `completeness`, …).
    pub dimension: Dimension,
    pub severity: Severity,
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
    /// With `--rule-costs`: the seconds the rule cost (`execute::costs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_seconds: Option<f64>,
    /// The template the rule was bound from, if any (its id is the rule's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnomalousKeys {
    /// `duplicated_groups`, `dangling_values`, `returned_keys` or `later_copies`.
    pub unit: KeyUnit,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableCheckSummary {
    pub id: String,
    pub name: String,
    pub dimension: Dimension,
    pub severity: Severity,
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

impl SkippedRuleSummary {
    fn of(r: &crate::bind::SkippedRule) -> SkippedRuleSummary {
        SkippedRuleSummary {
            id: r.id.clone(),
            name: r.name.clone(),
            reads: r.reads.clone(),
            pack: r.pack.clone(),
        }
    }
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

/// A rule's verdict from its counts: the table's, or, for a threshold per provider, each
/// provider's against its own limit (the rule fails when one provider does).
pub fn rule_verdict(
    rule: &BoundRule,
    counts: &crate::execute::counts::RuleCounts,
    providers: &[(Option<&str>, crate::execute::counts::RuleCounts)],
) -> Verdict {
    let met = if rule.threshold.per_provider() {
        providers.iter().all(|(p, c)| {
            rule.threshold
                .for_provider(*p)
                .is_met(c.failed, c.applicable)
        })
    } else {
        rule.threshold.is_met(counts.failed, counts.applicable)
    };
    severity_verdict(met, rule.severity)
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
        .enumerate()
        .map(|(i, ((r, c), keys))| RuleSummary {
            cost_seconds: outcome
                .costs
                .as_ref()
                .and_then(|costs| costs.get(i))
                .map(std::time::Duration::as_secs_f64),
            id: r.id.clone(),
            name: r.name.clone(),
            kind: r.kind.to_string(),
            template: r.template.clone(),
            dimension: r.dimension,
            severity: r.severity,
            builtin: r.builtin,
            applicable_rows: c.applicable,
            failed_rows: c.failed,
            failed_rate: rate(c.failed, c.applicable),
            threshold: r.threshold.clone(),
            verdict: rule_verdict(
                r,
                c,
                &counts
                    .providers
                    .iter()
                    .map(|(p, pc)| (p.as_deref(), pc.rules.get(i).copied().unwrap_or_default()))
                    .collect::<Vec<_>>(),
            ),
            anomalous_keys: match (&r.check, keys) {
                (RuleCheck::Set(Some(check)), Some(n)) => Some(AnomalousKeys {
                    unit: check.unit,
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
                dimension: c.dimension,
                severity: c.severity,
                verdict: measured
                    .passed()
                    .map_or(Verdict::Skipped, |p| severity_verdict(p, c.severity)),
                measured,
            }
        })
        .collect();
    let verdict = Verdict::worst(
        rules
            .iter()
            .map(|r| r.verdict)
            .chain(table_checks.iter().map(|c| c.verdict)),
    );
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
            crate::rules::source::SourceFormat::Parquet => "parquet".into(),
            crate::rules::source::SourceFormat::Csv(_) => "csv".into(),
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
        skipped_rules: table.skipped.iter().map(SkippedRuleSummary::of).collect(),
        partial_rules: table.partial.iter().map(SkippedRuleSummary::of).collect(),
        exemptions: table
            .exemptions
            .iter()
            .map(|e| crate::bind::exemptions::Exemption {
                expired: chrono::NaiveDate::parse_from_str(&e.until, "%Y-%m-%d")
                    .is_ok_and(|u| i64::from(crate::values::days(u)) < outcome.facts.as_of),
                ..e.clone()
            })
            .collect(),
        anomalies_file,
        reuse: outcome.reuse.clone(),
        elapsed_ms,
        rules,
        providers,
    }
}

#[cfg(test)]
mod tests {
    use super::Verdict::{Fail, Pass, Skipped, Warn};
    use super::*;

    #[test]
    fn the_worst_part_decides() {
        assert_eq!(Verdict::worst([]), Pass);
        assert_eq!(Verdict::worst([Pass, Skipped]), Pass);
        assert_eq!(Verdict::worst([Skipped, Warn, Pass]), Warn);
        assert_eq!(Verdict::worst([Warn, Fail, Skipped]), Fail);
    }
}
