//! Stage 5, REPORT: the monthly quality report (公共数据质量报告), built from the run history
//! only, so it can be rebuilt at any time with the same figures.
//!
//! For the month, each library's figures come from its latest complete run dated in that
//! month (`qc run --as-of`, default the day it ran); the previous month's latest run gives the
//! change (环比), and the twelve months ending with this one the trend.
//!
//! Scores come from [`crate::results::score`].
//!
//! - [`render`]: HTML (self-contained, charts as inline SVG), Markdown and JSON.

pub mod feedback;
pub mod rectification;
pub mod render;
pub mod replies;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::results::score::{Score, library_score, provider_scores, table_score};
use crate::results::store::{Store, StoredRun};
use crate::results::summary::{TableSummary, Verdict, pass_rate};
use crate::rules::pii::Pii;
use crate::rules::scoring::ScoringModel;
use crate::rules::{Dimension, Severity, TableRef};

/// Rules listed as the library's top failing ones.
const TOP_RULES: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct MonthlyReport {
    /// `YYYY-MM`.
    pub month: String,
    pub previous_month: String,
    /// Whether ID numbers and names in samples are masked.
    pub masked: bool,
    pub libraries: Vec<LibraryReport>,
    /// Named providers over every library they deliver to, best first; empty when the
    /// report has one library (its ranking says it all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<ProviderOverview>,
}

/// A provider's figures over the libraries it delivers to this month.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderOverview {
    pub rank: usize,
    pub provider: String,
    pub rows: u64,
    pub anomalous_rows: u64,
    /// The mean of its library scores weighted by the rows it delivered to each; `None`
    /// when no library scored it.
    pub score: Option<f64>,
    /// Per library (id): its total score there and the rows it delivered.
    pub libraries: Vec<(String, Option<f64>, u64)>,
}

/// Named providers over the libraries they deliver to (library id, its providers), ranked by
/// their row-weighted score.
fn provider_overview<'a>(
    libraries: impl IntoIterator<Item = (&'a str, &'a [ProviderReport])>,
) -> Vec<ProviderOverview> {
    let mut by_name: BTreeMap<&str, ProviderOverview> = BTreeMap::new();
    for (library, providers) in libraries {
        for p in providers {
            let Some(name) = p.provider.as_deref() else {
                continue;
            };
            let o = by_name.entry(name).or_insert_with(|| ProviderOverview {
                rank: 0,
                provider: name.to_string(),
                rows: 0,
                anomalous_rows: 0,
                score: None,
                libraries: Vec::new(),
            });
            o.rows += p.rows;
            o.anomalous_rows += p.anomalous_rows;
            o.libraries
                .push((library.to_string(), p.score.total, p.rows));
        }
    }
    let mut out: Vec<ProviderOverview> = by_name
        .into_values()
        .map(|mut o| {
            #[allow(clippy::cast_precision_loss)] // row counts as weights
            let (sum, weight) = o
                .libraries
                .iter()
                .filter_map(|(_, score, rows)| score.map(|s| (s * *rows as f64, *rows as f64)))
                .fold((0.0, 0.0), |(a, b), (s, w)| (a + s, b + w));
            o.score = (weight > 0.0).then(|| sum / weight);
            o
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .unwrap_or(-1.0)
            .total_cmp(&a.score.unwrap_or(-1.0))
            .then_with(|| a.provider.cmp(&b.provider))
    });
    for (i, o) in out.iter_mut().enumerate() {
        o.rank = i + 1;
    }
    out
}

#[derive(Debug, Clone, Serialize)]
pub struct LibraryReport {
    pub library: String,
    pub library_name: String,
    /// The run the month's figures come from, and its date.
    pub run_id: String,
    pub as_of: String,
    pub rows: u64,
    pub anomalous_rows: u64,
    pub passed_rows: u64,
    pub pass_rate: f64,
    pub score: Score,
    pub previous: Option<PreviousMonth>,
    /// Score change from the previous month, in points.
    pub score_change: Option<f64>,
    /// Change of the rows audited from the previous month, in percent.
    pub rows_change_percent: Option<f64>,
    /// The twelve months ending with this one, oldest first.
    pub trend: Vec<TrendPoint>,
    pub tables: Vec<TableReport>,
    /// Ranked by score, best first.
    pub providers: Vec<ProviderReport>,
    /// The scoring model of the month's run.
    pub scoring: ScoringModel,
    /// How many providers reach the model's target, when it sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetReport>,
    pub top_rules: Vec<RuleReport>,
    /// Groups of rows beyond a `metric` table check's bounds, per table and check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_findings: Vec<GroupFindingReport>,
    /// Rules bound from templates, pooled per template over the tables that use it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<TemplateReport>,
    /// The exemptions the month's run applied (and those it found expired), per table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exemptions: Vec<ExemptionReport>,
    /// Rectification (整改) per provider, when the library has problems recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rectification: Option<rectification::RectificationReport>,
}

/// A template's rules pooled over the tables that use it.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateReport {
    pub id: String,
    pub name: String,
    pub tables: usize,
    /// Tables where it failed at least one row.
    pub failing_tables: usize,
    pub applicable_rows: u64,
    pub failed_rows: u64,
    pub failed_rate: f64,
    /// The same, pooled over the previous month's run (`None`: no such run, or not used).
    pub previous_failed_rate: Option<f64>,
}

/// Rules bound from templates, pooled per template over `tables`, most failed rows first.
fn pool_templates(tables: &[&TableSummary]) -> Vec<TemplateReport> {
    let mut pooled: BTreeMap<String, TemplateReport> = BTreeMap::new();
    for r in tables.iter().flat_map(|t| &t.rules) {
        let Some(template) = &r.template else {
            continue;
        };
        let p = pooled
            .entry(r.id.clone())
            .or_insert_with(|| TemplateReport {
                id: template.clone(),
                name: r.name.clone(),
                tables: 0,
                failing_tables: 0,
                applicable_rows: 0,
                failed_rows: 0,
                failed_rate: 0.0,
                previous_failed_rate: None,
            });
        p.tables += 1;
        p.failing_tables += usize::from(r.failed_rows > 0);
        p.applicable_rows += r.applicable_rows;
        p.failed_rows += r.failed_rows;
    }
    let mut templates: Vec<TemplateReport> = pooled
        .into_values()
        .map(|mut p| {
            p.failed_rate = crate::results::summary::rate(p.failed_rows, p.applicable_rows);
            p
        })
        .collect();
    templates.sort_by(|a, b| {
        b.failed_rows
            .cmp(&a.failed_rows)
            .then_with(|| a.id.cmp(&b.id))
    });
    templates
}

/// An exemption of a table, as the month's run listed it.
#[derive(Debug, Clone, Serialize)]
pub struct ExemptionReport {
    pub table: String,
    #[serde(flatten)]
    pub exemption: crate::bind::exemptions::Exemption,
}

/// A `metric`'s finding: a group of rows (a provider, a district, a month) beyond its bounds;
/// or a `trend`'s: a provider (or the table) outside the band learned from the history.
#[derive(Debug, Clone, Serialize)]
pub struct GroupFindingReport {
    pub table: String,
    pub id: String,
    pub name: String,
    /// `column=value` per `group_by` column; empty for the whole table.
    pub group: Vec<(String, Option<String>)>,
    pub value: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub provider: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PreviousMonth {
    pub run_id: String,
    pub rows: u64,
    pub anomalous_rows: u64,
    pub score: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrendPoint {
    pub month: String,
    pub score: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub name: String,
    pub title: String,
    pub rows: u64,
    pub anomalous_rows: u64,
    pub pass_rate: f64,
    pub score: Score,
    pub verdict: Verdict,
}

/// The providers (those named; rows without one are not a provider) that reach the scoring
/// model's target, of those scored in the target's dimension.
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    /// English dimension name; `None`: the total score.
    pub dimension: Option<String>,
    pub min: f64,
    pub met: usize,
    pub providers: usize,
}

impl TargetReport {
    fn of(target: &crate::rules::scoring::Target, providers: &[ProviderReport]) -> TargetReport {
        let dimension = target.dimension().map(|d| d.en().to_string());
        let scores: Vec<f64> = providers
            .iter()
            .filter(|p| p.provider.is_some())
            .filter_map(|p| match &dimension {
                Some(d) => p.score.dimensions.get(d).copied(),
                None => p.score.total,
            })
            .collect();
        TargetReport {
            met: scores.iter().filter(|s| **s >= target.min).count(),
            providers: scores.len(),
            dimension,
            min: target.min,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ProviderReport {
    pub rank: usize,
    /// `None` for rows without a provider.
    pub provider: Option<String>,
    pub rows: u64,
    pub anomalous_rows: u64,
    pub pass_rate: f64,
    pub score: Score,
    pub previous_score: Option<f64>,
    pub score_change: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    pub table: String,
    pub id: String,
    pub name: String,
    /// Serialized by its English name.
    pub dimension: Dimension,
    pub severity: Severity,
    pub applicable_rows: u64,
    pub failed_rows: u64,
    pub failed_rate: f64,
    pub reason_zh: String,
    pub reason_en: String,
    /// A few anomalous records: column → value (masked unless `--no-mask`).
    pub samples: Vec<Vec<(String, Option<String>)>>,
}

/// `YYYY-MM` → its first day.
pub fn parse_month(month: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{}-01", month.trim()), "%Y-%m-%d")
        .map_err(|_| Error::Usage(format!("--month expects YYYY-MM, got `{month}`")))
}

fn month_text(first: NaiveDate) -> String {
    first.format("%Y-%m").to_string()
}

/// The first day of the month `n` months before the one starting at `first`.
fn months_back(first: NaiveDate, n: u32) -> NaiveDate {
    first
        .checked_sub_months(chrono::Months::new(n))
        .unwrap_or(first)
}

fn last_day(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(first)
}

/// Reads runs from the store once each.
struct Runs<'a> {
    store: &'a Store,
    loaded: BTreeMap<String, StoredRun>,
}

impl Runs<'_> {
    fn get(&mut self, id: &str) -> Result<&StoredRun> {
        if !self.loaded.contains_key(id) {
            let run = self.store.load(id)?;
            self.loaded.insert(id.to_string(), run);
        }
        self.loaded
            .get(id)
            .ok_or_else(|| Error::Internal("run vanished from the cache".into()))
    }

    /// Per library: the id of its latest complete run dated in the month starting `first`
    /// (the store answers from its index; only runs the report uses are loaded).
    fn latest_per_library(&self, first: NaiveDate) -> Result<BTreeMap<String, String>> {
        self.store.latest_per_library(
            &first.format("%Y-%m-%d").to_string(),
            &last_day(first).format("%Y-%m-%d").to_string(),
        )
    }
}

fn model(run: &StoredRun, library: &str) -> ScoringModel {
    run.scoring
        .get(library)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

fn library_tables<'r>(run: &'r StoredRun, library: &str) -> Vec<&'r TableSummary> {
    run.tables.iter().filter(|t| t.library == library).collect()
}

/// The library's score in `run`.
fn run_library_score(run: &StoredRun, library: &str) -> Score {
    library_score(&model(run, library), &library_tables(run, library))
}

/// Per provider: rows, anomalous rows and score over the library's tables in `run`.
fn run_provider_scores(
    run: &StoredRun,
    library: &str,
) -> BTreeMap<Option<String>, (u64, u64, Score)> {
    provider_scores(&model(run, library), &library_tables(run, library))
}

#[allow(clippy::cast_precision_loss)] // a percentage for display
fn change_percent(previous: u64, now: u64) -> Option<f64> {
    (previous > 0).then(|| (now as f64 - previous as f64) / previous as f64 * 100.0)
}

/// Mask the personal-data columns of a sample record.
fn masked(
    record: &[(String, Option<String>)],
    pii: &BTreeMap<String, Pii>,
    mask: bool,
) -> Vec<(String, Option<String>)> {
    record
        .iter()
        .map(|(c, v)| {
            let v = match (v, pii.get(c)) {
                (Some(v), Some(kind)) if mask => Some(kind.mask(v)),
                (v, _) => v.clone(),
            };
            (c.clone(), v)
        })
        .collect()
}

/// Build the report of `month` (`YYYY-MM`) from the store: every library with a run that
/// month, or only `libraries` when given.
pub fn build(
    history: &Store,
    month: &str,
    libraries: &[String],
    mask: bool,
) -> Result<MonthlyReport> {
    let first = parse_month(month)?;
    let previous_first = months_back(first, 1);
    let mut runs = Runs {
        store: history,
        loaded: BTreeMap::new(),
    };
    let this_month = runs.latest_per_library(first)?;
    let previous_month = runs.latest_per_library(previous_first)?;
    // The twelve months of the trend, after the month before them (which rectification
    // counts the first month's reported problems from).
    let mut history_months = Vec::new();
    for back in (0..13).rev() {
        let m = months_back(first, back);
        history_months.push((month_text(m), runs.latest_per_library(m)?));
    }
    let trend_months = &history_months[1..];
    if let Some(missing) = libraries.iter().find(|l| !this_month.contains_key(*l)) {
        return Err(Error::Usage(format!(
            "{}: no complete run of library `{missing}` dated in {}",
            history.path().display(),
            month_text(first)
        )));
    }
    // Rectification: every library's problems counted in one pass over the store.
    let mut month_runs: BTreeMap<String, Vec<rectification::MonthRun>> = BTreeMap::new();
    for library in this_month.keys() {
        if !libraries.is_empty() && !libraries.contains(library) {
            continue;
        }
        let mut runs_by_month = Vec::new();
        for (m, latest) in &history_months {
            let at = match latest.get(library) {
                Some(id) => history.run_seq(id)?.map(|seq| (id.clone(), seq)),
                None => None,
            };
            runs_by_month.push((m.clone(), at));
        }
        month_runs.insert(library.clone(), runs_by_month);
    }
    let mut counted = rectification::count(history, month_runs)?;
    let mut out = Vec::new();
    for (library, run_id) in &this_month {
        if !libraries.is_empty() && !libraries.contains(library) {
            continue;
        }
        let run = runs.get(run_id)?.clone();
        let tables = library_tables(&run, library);
        let rows: u64 = tables.iter().map(|t| t.rows).sum();
        let anomalous: u64 = tables.iter().map(|t| t.anomalous_rows).sum();
        let score = run_library_score(&run, library);
        let previous = match previous_month.get(library) {
            Some(id) => {
                let prev = runs.get(id)?;
                let pt = library_tables(prev, library);
                Some((
                    PreviousMonth {
                        run_id: id.clone(),
                        rows: pt.iter().map(|t| t.rows).sum(),
                        anomalous_rows: pt.iter().map(|t| t.anomalous_rows).sum(),
                        score: run_library_score(prev, library).total,
                    },
                    run_provider_scores(prev, library),
                ))
            }
            None => None,
        };
        let mut trend = Vec::new();
        for (m, latest) in trend_months {
            let score = match latest.get(library) {
                Some(id) => run_library_score(runs.get(id)?, library).total,
                None => None,
            };
            trend.push(TrendPoint {
                month: m.clone(),
                score,
            });
        }
        let mut providers: Vec<ProviderReport> = run_provider_scores(&run, library)
            .into_iter()
            .map(|(provider, (rows, anomalous, score))| {
                let previous_score = previous
                    .as_ref()
                    .and_then(|(_, p)| p.get(&provider))
                    .and_then(|(_, _, s)| s.total);
                ProviderReport {
                    rank: 0,
                    score_change: score.total.zip(previous_score).map(|(a, b)| a - b),
                    provider,
                    rows,
                    anomalous_rows: anomalous,
                    pass_rate: pass_rate(rows - anomalous.min(rows), rows),
                    score,
                    previous_score,
                }
            })
            .collect();
        providers.sort_by(|a, b| {
            b.score
                .total
                .unwrap_or(-1.0)
                .total_cmp(&a.score.total.unwrap_or(-1.0))
                .then_with(|| a.provider.cmp(&b.provider))
        });
        for (i, p) in providers.iter_mut().enumerate() {
            p.rank = i + 1;
        }
        let mut top_rules: Vec<RuleReport> = tables
            .iter()
            .flat_map(|t| t.rules.iter().map(move |r| (t, r)))
            .filter(|(_, r)| r.failed_rows > 0)
            .map(|(t, r)| {
                let key = (t.library.clone(), t.name.clone(), r.id.clone());
                let text = run.rules.get(&key).cloned().unwrap_or_default();
                let pii = run
                    .table_texts
                    .get(&TableRef::new(&t.library, &t.name).to_string())
                    .map(|x| x.pii.clone())
                    .unwrap_or_default();
                RuleReport {
                    table: t.name.clone(),
                    id: r.id.clone(),
                    name: r.name.clone(),
                    dimension: r.dimension,
                    severity: r.severity,
                    applicable_rows: r.applicable_rows,
                    failed_rows: r.failed_rows,
                    failed_rate: r.failed_rate,
                    reason_zh: text.reason_zh,
                    reason_en: text.reason_en,
                    samples: run
                        .samples
                        .iter()
                        .filter(|s| {
                            s.library == t.library && s.table == t.name && s.rule_id == r.id
                        })
                        .map(|s| masked(&s.record, &pii, mask))
                        .collect(),
                }
            })
            .collect();
        top_rules.sort_by(|a, b| {
            b.failed_rows
                .cmp(&a.failed_rows)
                .then_with(|| a.id.cmp(&b.id))
        });
        top_rules.truncate(TOP_RULES);
        let group_findings = tables
            .iter()
            .flat_map(|t| t.table_checks.iter().map(move |c| (t, c)))
            .flat_map(|(t, c)| {
                use crate::checks::table::Measured;
                // A trend's finding: a provider (or the table) outside its learned band.
                if let Measured::Trend(tr) = &c.measured {
                    return tr
                        .findings
                        .iter()
                        .map(|f| GroupFindingReport {
                            table: t.name.clone(),
                            id: c.id.clone(),
                            name: c.name.clone(),
                            group: f
                                .group
                                .iter()
                                .map(|p| ("provider".to_string(), Some(p.clone())))
                                .collect(),
                            value: f.value,
                            min: Some(f.low),
                            max: Some(f.high),
                            provider: f.group.clone(),
                        })
                        .collect();
                }
                let Measured::Metric {
                    group_by,
                    findings,
                    min,
                    max,
                    ..
                } = &c.measured
                else {
                    return Vec::new();
                };
                findings
                    .iter()
                    .map(|f| GroupFindingReport {
                        table: t.name.clone(),
                        id: c.id.clone(),
                        name: c.name.clone(),
                        group: group_by
                            .iter()
                            .cloned()
                            .zip(f.group.iter().cloned())
                            .collect(),
                        value: f.value,
                        min: *min,
                        max: *max,
                        provider: f.provider.clone(),
                    })
                    .collect()
            })
            .collect();
        let mut templates = pool_templates(&tables);
        if let Some(prev) = previous_month.get(library) {
            let before = pool_templates(&library_tables(runs.get(prev)?, library));
            for t in &mut templates {
                t.previous_failed_rate =
                    before.iter().find(|b| b.id == t.id).map(|b| b.failed_rate);
            }
        }
        let exemptions = tables
            .iter()
            .flat_map(|t| {
                t.exemptions.iter().map(|x| ExemptionReport {
                    table: t.name.clone(),
                    exemption: x.clone(),
                })
            })
            .collect();
        let rectification = match counted.remove(library) {
            Some(c) => Some(rectification::finish(history, c, library, &run, mask)?),
            None => None,
        };
        let scoring = model(&run, library);
        out.push(LibraryReport {
            rectification,
            templates,
            exemptions,
            group_findings,
            library: library.clone(),
            library_name: tables
                .first()
                .map_or_else(|| library.clone(), |t| t.library_name.clone()),
            run_id: run.id.clone(),
            as_of: run.as_of.clone(),
            rows,
            anomalous_rows: anomalous,
            passed_rows: rows - anomalous.min(rows),
            pass_rate: pass_rate(rows - anomalous.min(rows), rows),
            score_change: score
                .total
                .zip(previous.as_ref().and_then(|(p, _)| p.score))
                .map(|(a, b)| a - b),
            rows_change_percent: previous
                .as_ref()
                .and_then(|(p, _)| change_percent(p.rows, rows)),
            score,
            previous: previous.map(|(p, _)| p),
            trend,
            tables: tables
                .iter()
                .map(|t| TableReport {
                    name: t.name.clone(),
                    title: t.title.clone(),
                    rows: t.rows,
                    anomalous_rows: t.anomalous_rows,
                    pass_rate: t.pass_rate,
                    score: table_score(&scoring, t),
                    verdict: t.verdict,
                })
                .collect(),
            target: scoring
                .target
                .as_ref()
                .map(|t| TargetReport::of(t, &providers)),
            scoring,
            providers,
            top_rules,
        });
    }
    if out.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no complete run dated in {} (runs are dated by `qc run --as-of`, default the day they ran)",
            history.path().display(),
            month_text(first)
        )));
    }
    Ok(MonthlyReport {
        month: month_text(first),
        previous_month: month_text(previous_first),
        masked: mask,
        providers: if out.len() > 1 {
            provider_overview(out.iter().map(|l| (l.library.as_str(), &l.providers[..])))
        } else {
            Vec::new()
        },
        libraries: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(name: Option<&str>, rows: u64, score: Option<f64>) -> ProviderReport {
        ProviderReport {
            rank: 0,
            provider: name.map(str::to_string),
            rows,
            anomalous_rows: rows / 10,
            pass_rate: 0.9,
            score: Score {
                total: score,
                dimensions: BTreeMap::new(),
            },
            previous_score: None,
            score_change: None,
        }
    }

    #[test]
    fn a_provider_over_libraries_is_scored_by_its_rows_in_each() {
        let marriage = [
            provider(Some("公安局"), 300, Some(80.0)),
            provider(Some("民政局"), 100, Some(90.0)),
            provider(None, 50, Some(10.0)),
        ];
        let death = [
            provider(Some("公安局"), 100, Some(60.0)),
            provider(Some("卫健委"), 10, None),
        ];
        let o = provider_overview([("marriage", &marriage[..]), ("death", &death[..])]);
        let got: Vec<(usize, &str, u64, u64, Option<f64>)> = o
            .iter()
            .map(|p| {
                (
                    p.rank,
                    p.provider.as_str(),
                    p.rows,
                    p.anomalous_rows,
                    p.score,
                )
            })
            .collect();
        // 公安局: (300 × 80 + 100 × 60) / 400 = 75; rows without a provider are no one's.
        assert_eq!(
            got,
            vec![
                (1, "民政局", 100, 10, Some(90.0)),
                (2, "公安局", 400, 40, Some(75.0)),
                (3, "卫健委", 10, 1, None),
            ]
        );
        assert_eq!(o[1].libraries.len(), 2);
    }
}
