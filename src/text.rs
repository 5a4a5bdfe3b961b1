//! The phrases of qc's terminal output, report and feedback files, in Chinese (default) and
//! English. Words that belong to one thing live with it: a dimension's names in `rules`, a
//! check kind's anomaly reason in its file, a report's labels in `report::render`.

use crate::rules::Dimension;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

/// Phrases of the run summary and the `check` report.
pub struct Text {
    pub lang: Lang,
}

impl Text {
    pub fn new(lang: Lang) -> Text {
        Text { lang }
    }

    fn pick(&self, zh: &'static str, en: &'static str) -> &'static str {
        match self.lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    pub fn dimension(&self, d: Dimension) -> &'static str {
        match self.lang {
            Lang::Zh => d.zh(),
            Lang::En => d.en(),
        }
    }

    /// The headline of a table: `N rows audited · A anomalous · P passed (R%)`.
    pub fn headline(&self, rows: &str, anomalous: &str, passed: &str, rate: &str) -> String {
        match self.lang {
            Lang::Zh => format!(
                "已稽核 {rows} 行 · 异常 {anomalous} 行 · 通过 {passed} 行（通过率 {rate}）"
            ),
            Lang::En => {
                format!("{rows} rows audited · {anomalous} anomalous · {passed} passed ({rate})")
            }
        }
    }

    pub fn rule_header(&self) -> [&'static str; 7] {
        match self.lang {
            Lang::Zh => ["规则", "名称", "维度", "异常行数", "异常率", "阈值", "结论"],
            Lang::En => [
                "rule",
                "name",
                "dimension",
                "failed",
                "rate",
                "allowed",
                "verdict",
            ],
        }
    }

    /// A rule's threshold as the terminal shows it: `≤0.1%`, `≤5 行`, both, or `0` (none
    /// tolerated).
    pub fn threshold(&self, t: &crate::rules::Threshold) -> String {
        let rate = t.max_rate.map(|r| {
            let text = format!("{:.4}", r * 100.0);
            format!("≤{}%", text.trim_end_matches('0').trim_end_matches('.'))
        });
        let count = t
            .max_count
            .map(|c| format!("≤{}{}", thousands(c), self.pick(" 行", "")));
        let limit = match (count, rate) {
            (Some(c), Some(r)) => format!("{c}, {r}"),
            (Some(c), None) => c,
            (None, Some(r)) => r,
            (None, None) => "0".to_string(),
        };
        if t.per_provider() {
            let n = t.providers.len();
            match self.lang {
                Lang::Zh => format!("{limit}（各提供单位，{n} 家另定）"),
                Lang::En => format!("{limit} (per provider, {n} set apart)"),
            }
        } else {
            limit
        }
    }

    /// The verdict of a rule that applied to no row.
    pub fn not_evaluated(&self) -> &'static str {
        self.pick("未评估（无适用行）", "not evaluated (no row applied)")
    }

    /// A table's verdict line: how many rules failed their thresholds and how many warned.
    pub fn table_verdict(
        &self,
        v: crate::results::summary::Verdict,
        failed: usize,
        warned: usize,
    ) -> String {
        let verdict = self.verdict(v);
        match self.lang {
            Lang::Zh => {
                format!("结论：{verdict}（{failed} 条规则或表级检查未达阈值，{warned} 条警告）")
            }
            Lang::En => format!(
                "verdict: {verdict} ({failed} rule(s) or table check(s) over their thresholds, {warned} warning(s))"
            ),
        }
    }

    pub fn verdict(&self, v: crate::results::summary::Verdict) -> &'static str {
        use crate::results::summary::Verdict;
        match v {
            Verdict::Pass => self.pick("通过", "pass"),
            Verdict::Warn => self.pick("警告", "warn"),
            Verdict::Fail => self.pick("不通过", "fail"),
            Verdict::Skipped => self.pick("跳过", "skipped"),
        }
    }

    /// Header of the table-level checks' lines.
    pub fn table_check_header(&self) -> [&'static str; 5] {
        match self.lang {
            Lang::Zh => ["表级检查", "名称", "实测", "要求", "结论"],
            Lang::En => ["table check", "name", "observed", "expected", "verdict"],
        }
    }

    /// A rule left out of the run, and why.
    pub fn rule_skipped(&self, r: &crate::results::summary::SkippedRuleSummary) -> String {
        let (id, name, table, pack) = (&r.id, &r.name, &r.reads, &r.pack);
        match self.lang {
            Lang::Zh => format!(
                "已跳过 {id} {name}：需读取 {table}，其规则包 {pack} 未纳入本次稽核（用 --rules 一并加入）"
            ),
            Lang::En => format!(
                "skipped {id} {name}: it reads {table}, whose pack {pack} is not in this run (add it with --rules)"
            ),
        }
    }

    /// A rule that ran without the part reading a table not in the run.
    pub fn rule_partial(&self, r: &crate::results::summary::SkippedRuleSummary) -> String {
        let (id, name, table, pack) = (&r.id, &r.name, &r.reads, &r.pack);
        match self.lang {
            Lang::Zh => format!(
                "{id} {name} 未完整执行：需读取 {table} 的部分未执行（其规则包 {pack} 未纳入本次稽核，用 --rules 一并加入），结果中含本应排除的记录"
            ),
            Lang::En => format!(
                "{id} {name} ran in part: the part reading {table} did not run (its pack {pack} is not in this run; add it with --rules), so its findings include records that part would excuse"
            ),
        }
    }

    /// What a table check measured.
    pub fn observed(&self, m: &crate::checks::table::Measured) -> String {
        use crate::checks::table::{Measured, change_percent};
        match m {
            Measured::RowCount { rows, .. } => thousands(*rows),
            Measured::RowCountChange {
                rows,
                previous: Some(p),
                ..
            } => self.with_detail(
                &format!("{:+.2}%", change_percent(*p, *rows)),
                &format!("{} → {}", thousands(*p), thousands(*rows)),
            ),
            Measured::RowCountChange { previous: None, .. } => {
                self.pick("无历史记录", "no earlier run").to_string()
            }
            Measured::Freshness {
                latest: Some(latest),
                age_days: Some(age),
                ..
            } => match self.lang {
                Lang::Zh => self.with_detail(&format!("{age} 天"), &format!("最近 {latest}")),
                Lang::En => self.with_detail(&format!("{age} days"), &format!("latest {latest}")),
            },
            Measured::Freshness { .. } => self.pick("无日期", "no date").to_string(),
            Measured::Completeness { present, rows, .. } => self.with_detail(
                &percent_floor(*present, *rows),
                &format!("{}/{}", thousands(*present), thousands(*rows)),
            ),
            Measured::Metric {
                group_by, findings, ..
            } if group_by.is_empty() => match findings.first() {
                Some(f) => number(f.value),
                None => self.pick("在范围内", "within bounds").to_string(),
            },
            Measured::Trend(t) => self.trend_observed(t),
            Measured::Metric {
                groups, findings, ..
            } => match self.lang {
                Lang::Zh => format!("{} 组超出（共 {} 组）", findings.len(), thousands(*groups)),
                Lang::En => format!("{} of {} groups beyond", findings.len(), thousands(*groups)),
            },
        }
    }

    /// `value (detail)`, with full-width parentheses in Chinese.
    fn with_detail(&self, value: &str, detail: &str) -> String {
        match self.lang {
            Lang::Zh => format!("{value}（{detail}）"),
            Lang::En => format!("{value} ({detail})"),
        }
    }

    /// What a table check expected.
    pub fn expected(&self, m: &crate::checks::table::Measured) -> String {
        use crate::checks::table::Measured;
        match m {
            Measured::RowCount { min, max, .. } => bounds(min.map(thousands), max.map(thousands)),
            Measured::RowCountChange { max_percent, .. } => format!("±{max_percent}%"),
            Measured::Freshness { max_age_days, .. } => match self.lang {
                Lang::Zh => format!("≤ {max_age_days} 天"),
                Lang::En => format!("≤ {max_age_days} days"),
            },
            Measured::Completeness { min_rate, .. } => format!("≥ {}%", min_rate * 100.0),
            Measured::Metric { min, max, .. } => bounds(min.map(number), max.map(number)),
            Measured::Trend(t) => self.trend_expected(t),
        }
    }

    /// The line listing a metric's findings: `M-NULL 超出范围：乙医院：0.25；…（共 7 组）`.
    pub fn metric_findings(&self, id: &str, shown: &[String], total: usize) -> String {
        let more = total > shown.len();
        match self.lang {
            Lang::Zh => {
                let tail = if more {
                    format!("；…（共 {total} 组）")
                } else {
                    String::new()
                };
                format!("{id} 超出范围：{}{tail}", shown.join("；"))
            }
            Lang::En => {
                let tail = if more {
                    format!("; … ({total} groups)")
                } else {
                    String::new()
                };
                format!("{id} beyond bounds: {}{tail}", shown.join("; "))
            }
        }
    }

    /// Why a group is a metric's finding: `该组指标为 0.25，要求 ≤ 0.2` (the check's name
    /// says what the metric is; its SQL is the pack's business).
    pub fn metric_reason(&self, m: &crate::checks::table::Measured, value: f64) -> String {
        let expected = self.expected(m);
        match self.lang {
            Lang::Zh => format!("该组指标为 {}，要求 {expected}", number(value)),
            Lang::En => format!(
                "the group's metric is {}, expected {expected}",
                number(value)
            ),
        }
    }

    /// Where a metric's finding is: a group of rows, not a row.
    pub fn group_location(&self) -> &'static str {
        self.pick("整组记录（分组指标）", "a group of records (group metric)")
    }

    /// What a trend check found: this run's value (the table's), how many providers are
    /// outside their band, or what history it lacks.
    fn trend_observed(&self, t: &crate::checks::trend::TrendMeasured) -> String {
        use crate::checks::trend::TrendSkip;
        match (&t.skipped, self.lang) {
            (Some(TrendSkip::TooFewRuns { needed, found }), Lang::Zh) => {
                format!("历史不足（需 {needed} 次运行，现有 {found} 次）")
            }
            (Some(TrendSkip::TooFewRuns { needed, found }), Lang::En) => {
                format!("too little history ({needed} runs needed, {found} found)")
            }
            (Some(TrendSkip::NoRunIn { month }), Lang::Zh) => format!("无 {month} 的运行可比"),
            (Some(TrendSkip::NoRunIn { month }), Lang::En) => {
                format!("no run in {month} to compare with")
            }
            (None, _) if t.per_provider => match self.lang {
                Lang::Zh => format!("{} 家超出（共 {} 家）", t.findings.len(), t.groups),
                Lang::En => format!("{} of {} providers beyond", t.findings.len(), t.groups),
            },
            (None, _) => {
                let now = t
                    .current
                    .first()
                    .map_or_else(|| "∅".to_string(), |(_, v)| number(*v));
                match t.findings.first() {
                    Some(f) => self.with_detail(
                        &now,
                        &format!("{} {}", self.pick("基线", "baseline"), number(f.baseline)),
                    ),
                    None => now,
                }
            }
        }
    }

    /// What a trend check compares with: `上次运行 ±20%`, `近 12 次运行中位数 ± 3·MAD`.
    fn trend_expected(&self, t: &crate::checks::trend::TrendMeasured) -> String {
        use crate::checks::trend::Against;
        let percent = t
            .max_percent
            .map_or_else(String::new, |p| format!(" ±{}%", number(p)));
        let k =
            t.k.map_or_else(String::new, |k| format!(" ± {}·MAD", number(k)));
        match (t.against, self.lang) {
            (Against::Previous, Lang::Zh) => format!("上次运行{percent}"),
            (Against::Previous, Lang::En) => format!("previous run{percent}"),
            (Against::SameMonthLastYear, Lang::Zh) => format!("去年同月{percent}"),
            (Against::SameMonthLastYear, Lang::En) => format!("same month last year{percent}"),
            (Against::MeanOfLast(n), Lang::Zh) => format!("近 {n} 次运行均值{percent}"),
            (Against::MeanOfLast(n), Lang::En) => format!("mean of last {n} runs{percent}"),
            (Against::MedianOfLast(n), Lang::Zh) => format!("近 {n} 次运行中位数{k}"),
            (Against::MedianOfLast(n), Lang::En) => format!("median of last {n} runs{k}"),
        }
    }

    /// A trend's finding: `黄浦区：120（基线 200，范围 140–260）`.
    pub fn trend_finding(&self, f: &crate::checks::trend::TrendFinding) -> String {
        let name = f
            .group
            .clone()
            .unwrap_or_else(|| self.pick("全表", "whole table").to_string());
        match self.lang {
            Lang::Zh => format!(
                "{name}：{}（基线 {}，范围 {}–{}）",
                number(f.value),
                number(f.baseline),
                number(f.low),
                number(f.high)
            ),
            Lang::En => format!(
                "{name}: {} (baseline {}, band {}–{})",
                number(f.value),
                number(f.baseline),
                number(f.low),
                number(f.high)
            ),
        }
    }

    /// A metric's finding: its group's values and its value, e.g. `甲医院：0.0833`.
    pub fn group_finding(&self, f: &crate::checks::table::GroupFinding) -> String {
        let group: Vec<&str> = f
            .group
            .iter()
            .map(|g| g.as_deref().unwrap_or("∅"))
            .collect();
        let name = if group.is_empty() {
            self.pick("全表", "whole table").to_string()
        } else {
            group.join(" · ")
        };
        match self.lang {
            Lang::Zh => format!("{name}：{}", number(f.value)),
            Lang::En => format!("{name}: {}", number(f.value)),
        }
    }

    /// The anomalous tuples of a set-based rule, e.g. `重复组 3`.
    pub fn anomalous_keys(&self, unit: crate::checks::set::KeyUnit, count: &str) -> String {
        match self.lang {
            Lang::Zh => format!("{} {count}", unit.zh()),
            Lang::En => format!("{}: {count}", unit.en()),
        }
    }

    pub fn table_label(&self) -> &'static str {
        self.pick("表", "table")
    }

    pub fn anomalies_written(&self, path: &str, rows: &str) -> String {
        match self.lang {
            Lang::Zh => format!("异常数据 {rows} 行已导出：{path}"),
            Lang::En => format!("{rows} anomalous rows exported: {path}"),
        }
    }

    /// A damaged file left out under `--keep-going`; `reason` names the file.
    /// What an incremental run reused of a table, or why it read every file again; `None`
    /// when there is nothing to say (a first run, `--full`, a cluster run).
    pub fn reuse(&self, r: &crate::execute::reuse::Reuse) -> Option<String> {
        use crate::execute::reuse::ReadWhole;
        let zh = self.lang == Lang::Zh;
        let n = thousands;
        if r.files_reused > 0 {
            return Some(if zh {
                format!(
                    "增量稽核：复用 {} 个文件（{} 行），读取 {} 个文件（{} 行），移除 {} 个文件",
                    n(r.files_reused),
                    n(r.rows_reused),
                    n(r.files_read),
                    n(r.rows_read),
                    n(r.files_dropped)
                )
            } else {
                format!(
                    "incremental: reused {} files ({} rows), read {} files ({} rows), dropped {} files",
                    n(r.files_reused),
                    n(r.rows_reused),
                    n(r.files_read),
                    n(r.rows_read),
                    n(r.files_dropped)
                )
            });
        }
        let why = match (r.read_whole?, zh) {
            (ReadWhole::NoHistory | ReadWhole::Forced | ReadWhole::Cluster, _) => return None,
            (ReadWhole::RulesChanged, true) => "规则、代码表、稽核日期或 qc 版本有变",
            (ReadWhole::RulesChanged, false) => {
                "the rules, code lists, run date or qc build changed"
            }
            (ReadWhole::SetsChanged, true) => "集合类规则（唯一性、引用等）的异常键值有变",
            (ReadWhole::SetsChanged, false) => "a set-based rule's anomalous tuples changed",
            (ReadWhole::ExportMissing, true) => "上次保留的异常数据导出缺失或被改动",
            (ReadWhole::ExportMissing, false) => "the kept anomaly export is missing or changed",
        };
        Some(if zh {
            format!("全部重读 {} 个文件：{why}", n(r.files_read))
        } else {
            format!("read all {} files again: {why}", n(r.files_read))
        })
    }

    pub fn file_left_out(&self, reason: &str) -> String {
        match self.lang {
            Lang::Zh => format!("已略过损坏文件（--keep-going）：{reason}"),
            Lang::En => format!("left out a damaged file (--keep-going): {reason}"),
        }
    }

    /// An exemption of a table: what it covers, why, until when; or that it has expired.
    pub fn exemption(&self, e: &crate::bind::exemptions::Exemption) -> String {
        let zh = self.lang == Lang::Zh;
        let mut what = Vec::new();
        if let Some(p) = &e.provider {
            what.push(if zh {
                format!("提供单位 {p}")
            } else {
                format!("provider {p}")
            });
        }
        if e.keys > 0 {
            what.push(if zh {
                format!("{} 条记录", e.keys)
            } else {
                format!("{} record(s)", e.keys)
            });
        }
        if let Some(w) = &e.condition {
            what.push(if zh {
                format!("满足 {w} 的记录")
            } else {
                format!("rows where {w}")
            });
        }
        let rules = if e.rules.is_empty() {
            if zh {
                "全部规则".to_string()
            } else {
                "every rule".to_string()
            }
        } else {
            e.rules.join(", ")
        };
        let what = what.join(if zh { "、" } else { ", " });
        match (zh, e.expired) {
            // Accepted problems: no end date.
            (true, false) if e.until.is_empty() => format!("豁免：{what}，{rules}（{}）", e.reason),
            (false, false) if e.until.is_empty() => {
                format!("exempt: {what}, {rules} ({})", e.reason)
            }
            (true, false) => format!("豁免至 {}：{what}，{rules}（{}）", e.until, e.reason),
            (true, true) => format!(
                "豁免已于 {} 到期，不再生效：{what}，{rules}（{}）",
                e.until, e.reason
            ),
            (false, false) => format!("exempt until {}: {what}, {rules} ({})", e.until, e.reason),
            (false, true) => format!(
                "exemption expired on {}, no longer applied: {what}, {rules} ({})",
                e.until, e.reason
            ),
        }
    }

    pub fn failed_on_warnings(&self) -> String {
        match self.lang {
            Lang::Zh => "按 --fail-on warn，有警告的表也判为不通过（退出码 1）".to_string(),
            Lang::En => {
                "--fail-on warn: a table with warnings fails the run (exit code 1)".to_string()
            }
        }
    }

    pub fn run_partial(&self, files: usize) -> String {
        match self.lang {
            Lang::Zh => format!("本次稽核不完整：{files} 个损坏文件未稽核，结果仅覆盖其余文件"),
            Lang::En => format!(
                "this run is partial: {files} damaged file(s) were not audited; the results cover the other files only"
            ),
        }
    }

    pub fn run_footer(&self, tables: usize, failed: usize, out: &str, seconds: f64) -> String {
        match self.lang {
            Lang::Zh => format!(
                "共 {tables} 张表，{failed} 张未达阈值；用时 {seconds:.1} 秒；结果目录：{out}"
            ),
            Lang::En => format!(
                "{tables} table(s), {failed} failed a threshold; {seconds:.1} s; output: {out}"
            ),
        }
    }

    pub fn check_ok(&self, packs: usize, tables: usize, rules: usize) -> String {
        match self.lang {
            Lang::Zh => format!("检查通过：{packs} 个规则包，{tables} 张表，{rules} 条规则"),
            Lang::En => format!("ok: {packs} pack(s), {tables} table(s), {rules} rule(s)"),
        }
    }

    pub fn check_failed(&self, errors: usize, warnings: usize) -> String {
        match self.lang {
            Lang::Zh => format!("检查未通过：{errors} 个错误，{warnings} 个警告"),
            Lang::En => format!("check failed: {errors} error(s), {warnings} warning(s)"),
        }
    }

    pub fn provider_unknown(&self) -> &'static str {
        self.pick("（未知）", "(unknown)")
    }
}

/// `31411241` → `31,411,241`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `part / whole` as a percentage with 4 decimals, rounded **down**, so 1 anomaly in 10^7 rows
/// never shows a 100.0000% pass rate.
pub fn percent_floor(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "—".to_string();
    }
    let scaled = u128::from(part) * 1_000_000 / u128::from(whole);
    format!("{}.{:04}%", scaled / 10_000, scaled % 10_000)
}

/// `part / whole` as a percentage with 4 decimals, rounded **up**, so a rule with one failure
/// never shows 0.0000%.
pub fn percent_ceil(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "—".to_string();
    }
    let (p, w) = (u128::from(part), u128::from(whole));
    let scaled = (p * 1_000_000).div_ceil(w);
    format!("{}.{:04}%", scaled / 10_000, scaled % 10_000)
}

/// Bounds, each already written: `A–B`, `≥ A` or `≤ B`.
pub fn bounds(min: Option<String>, max: Option<String>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("{a}–{b}"),
        (Some(a), None) => format!("≥ {a}"),
        (None, Some(b)) => format!("≤ {b}"),
        (None, None) => String::new(),
    }
}

/// A measured number: whole numbers as integers with separators, others to 4 significant
/// decimals (`0.0833`).
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        #[allow(clippy::cast_possible_truncation)] // whole and below 1e15
        let n = x as i64;
        if n < 0 {
            format!("-{}", thousands(n.unsigned_abs()))
        } else {
            thousands(n.unsigned_abs())
        }
    } else {
        let text = format!("{x:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_of_the_municipal_report() {
        assert_eq!(thousands(31_411_241), "31,411,241");
        assert_eq!(thousands(1_336), "1,336");
        assert_eq!(thousands(999), "999");
        assert_eq!(percent_floor(31_409_905, 31_411_241), "99.9957%");
        assert_eq!(percent_ceil(1_336, 31_411_241), "0.0043%");
        assert_eq!(percent_floor(9_999_999, 10_000_000), "99.9999%");
        assert_eq!(percent_ceil(1, 10_000_000), "0.0001%");
        assert_eq!(percent_floor(5, 5), "100.0000%");
    }
}
