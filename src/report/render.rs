//! The monthly report as HTML (one self-contained file: CSS inline, charts as inline SVG drawn
//! by plotters, no script, no external font or CDN; every data value HTML-escaped by the
//! template engine), Markdown (table cells escaped) and JSON (the [`MonthlyReport`] itself).

use askama::Template;
use plotters::prelude::*;

use super::{LibraryReport, MonthlyReport};
use crate::error::{Error, Result};
use crate::rules::Dimension;
use crate::text::{Lang, number, thousands};

/// Words of the report in one language.
struct Labels {
    title: &'static str,
    month: &'static str,
    masked: &'static str,
    unmasked: &'static str,
    run: &'static str,
    score: &'static str,
    change: &'static str,
    rows_change: &'static str,
    no_previous: &'static str,
    trend: &'static str,
    dimensions: &'static str,
    tables: &'static str,
    providers: &'static str,
    rules: &'static str,
    table: &'static str,
    provider: &'static str,
    rank: &'static str,
    rows: &'static str,
    anomalous: &'static str,
    pass_rate: &'static str,
    verdict: &'static str,
    rule: &'static str,
    name: &'static str,
    dimension: &'static str,
    failed: &'static str,
    reason: &'static str,
    samples: &'static str,
    none: &'static str,
    no_provider: &'static str,
    overview: &'static str,
    library: &'static str,
    findings: &'static str,
    exemptions: &'static str,
    templates: &'static str,
    used_by: &'static str,
    previous_rate: &'static str,
    group: &'static str,
    observed: &'static str,
    expected: &'static str,
    /// Said under the provider ranking when a provider ranks above one with a higher pass
    /// rate: `{better}` and `{worse}` are their ranks.
    rank_note: &'static str,
    /// A dimension no rule of the library applied to.
    not_assessed: &'static str,
    /// The scoring models, described: `{error}`, `{warn}`, `{zero_at}`, `{zero_rate}` are the
    /// model's parameters.
    pass_rate_model: &'static str,
    threshold_model: &'static str,
    deduction_model: &'static str,
    /// `{met}` of `{providers}` providers (`{share}`) reach `{min}` in `{what}`.
    target: &'static str,
    total_score: &'static str,
    rectification: &'static str,
    /// What the section compares: `{since}` is the previous month's run.
    rect_since: &'static str,
    rect_no_since: &'static str,
    rect_columns: [&'static str; 11],
    total: &'static str,
    oldest: &'static str,
    oldest_columns: [&'static str; 6],
    rect_trend: &'static str,
    /// Providers over libraries, and how their score is combined.
    provider_overview: &'static str,
    provider_overview_note: &'static str,
    libraries_scored: &'static str,
}

const ZH: Labels = Labels {
    title: "公共数据质量报告",
    month: "报告月份",
    masked: "样例数据中的身份证号、姓名已脱敏。",
    unmasked: "样例数据未脱敏，请按敏感数据管理。",
    run: "数据来源：稽核运行",
    score: "质量得分",
    change: "环比",
    rows_change: "稽核量环比",
    no_previous: "上月无数据",
    trend: "近 12 个月质量得分",
    dimensions: "各维度得分",
    tables: "各表",
    providers: "数据提供单位排名",
    rules: "问题最多的规则",
    table: "表",
    provider: "提供单位",
    rank: "排名",
    rows: "稽核行数",
    anomalous: "异常行数",
    pass_rate: "通过率",
    verdict: "结论",
    rule: "规则",
    name: "名称",
    dimension: "维度",
    failed: "异常行数",
    reason: "问题说明",
    samples: "样例",
    none: "—",
    no_provider: "（未标明）",
    overview: "总览",
    library: "专题库",
    findings: "分组指标发现（超出范围的组）",
    exemptions: "豁免（不计入判定的记录）",
    templates: "按规则模板汇总",
    used_by: "使用表数（有异常）",
    previous_rate: "上月异常率",
    group: "分组",
    observed: "实测",
    expected: "要求",
    rank_note: "排名依据质量得分（按上述评分模型），而非记录通过率（无任何问题的记录占比）：\
一条记录违反的规则越多、规则越重要，得分扣得越多，所以两者的排序可以不同——如第 {better} 名的通过率低于第 {worse} 名。",
    not_assessed: "未评估",
    pass_rate_model: "评分模型：通过率制——每条规则得其通过率，维度内按严重程度加权（错误 {error}、警告 {warn}），总分按维度加权。",
    threshold_model: "评分模型：阈值制——规则异常率在阈值以内得满分，超出后按超出部分线性扣减，\
至阈值的 {zero_at} 倍（不容许异常的规则至异常率 {zero_rate}）为零分；维度内按严重程度加权，总分按维度加权。",
    deduction_model: "评分模型：扣分制——满分 100 分，每条超出阈值的规则扣分（错误 {error} 分、警告 {warn} 分，\
乘以所在维度的权重），最低 0 分。",
    target: "达标情况：{providers} 个提供单位中有 {met} 个（{share}）{what}达到 {min} 分。",
    total_score: "总分",
    rectification: "整改情况",
    rect_since: "上月反馈的问题（稽核运行 {since} 后未整改的问题）本月的去向，及本月新增的问题；整改率 = 已整改 ÷ 上月反馈。",
    rect_no_since: "上月无稽核运行，没有可对比的反馈：以下只列当前未整改的问题。",
    rect_columns: [
        "上月反馈",
        "已整改",
        "已消失",
        "已认可",
        "仍未整改",
        "本月新增",
        "当前未整改",
        "整改率",
        "待认可答复",
        "称已整改仍异常",
        "答复无法整改",
    ],
    total: "合计",
    oldest: "最久未整改的问题",
    oldest_columns: ["问题编号", "表", "规则", "记录", "首次发现", "已持续（天）"],
    rect_trend: "近 12 个月整改率（当月未整改问题数）",
    provider_overview: "提供单位综合排名（跨专题库）",
    provider_overview_note: "综合得分为提供单位在各专题库得分按其稽核行数加权的平均；未标明提供单位的记录不计。",
    libraries_scored: "各专题库得分（稽核行数）",
};

const EN: Labels = Labels {
    title: "Public data quality report",
    month: "Month",
    masked: "ID numbers and names in samples are masked.",
    unmasked: "Samples are NOT masked: handle as personal data.",
    run: "From run",
    score: "Quality score",
    change: "month over month",
    rows_change: "rows audited, month over month",
    no_previous: "no previous month",
    trend: "Quality score, last 12 months",
    dimensions: "Scores by dimension",
    tables: "Tables",
    providers: "Providers ranked",
    rules: "Top failing rules",
    table: "table",
    provider: "provider",
    rank: "rank",
    rows: "rows audited",
    anomalous: "anomalous",
    pass_rate: "pass rate",
    verdict: "verdict",
    rule: "rule",
    name: "name",
    dimension: "dimension",
    failed: "failed rows",
    reason: "reason",
    samples: "samples",
    none: "—",
    no_provider: "(none)",
    overview: "Overview",
    library: "library",
    findings: "Group metrics: groups beyond bounds",
    exemptions: "Exemptions (rows not judged)",
    templates: "Rule templates, pooled over their tables",
    used_by: "tables (failing)",
    previous_rate: "last month's rate",
    group: "group",
    observed: "observed",
    expected: "expected",
    rank_note: "Ranked by quality score (by the scoring model above), not by \
the share of rows without any problem: a row that fails more rules, or more important ones, costs \
more score, so the two orders can differ — rank {better} has a lower pass rate than rank {worse}.",
    not_assessed: "not assessed",
    pass_rate_model: "Scoring model: pass rate — each rule earns its pass rate, weighted by severity \
within its dimension (error {error}, warn {warn}); the total weighs the dimensions.",
    threshold_model: "Scoring model: threshold — a rule within its threshold earns full marks; beyond \
it, marks fall linearly with the excess, to zero at {zero_at} times the threshold (at a failed share of \
{zero_rate} for a rule that tolerates none); weighted by severity, then by dimension.",
    deduction_model: "Scoring model: deduction — 100 points, minus {error} per error rule and {warn} per \
warn rule beyond its threshold (times its dimension's weight), floor 0.",
    target: "Target: {met} of {providers} providers ({share}) reach {min} in {what}.",
    total_score: "the total score",
    rectification: "Rectification",
    rect_since: "What became of the problems last month's feedback reported (open after run {since}), \
and the problems new this month; rectification rate = fixed / reported.",
    rect_no_since: "No run last month, so no feedback to compare with: only the problems open now are counted.",
    rect_columns: [
        "reported",
        "fixed",
        "gone",
        "accepted",
        "still open",
        "new",
        "open now",
        "rate",
        "awaiting acceptance",
        "said fixed, failing",
        "cannot fix",
    ],
    total: "total",
    oldest: "Oldest open problems",
    oldest_columns: [
        "problem",
        "table",
        "rule",
        "record",
        "first seen",
        "days open",
    ],
    rect_trend: "Rectification rate, last 12 months (problems open that month)",
    provider_overview: "Providers over all libraries",
    provider_overview_note: "A provider's score here is the mean of its library scores weighted by the rows it \
delivered to each; rows without a provider are no one's.",
    libraries_scored: "score per library (rows)",
};

fn labels(lang: Lang) -> &'static Labels {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

/// Everything the templates print, as text.
struct LibView {
    name: String,
    id: String,
    run: String,
    headline: String,
    /// The overview's figures: rows, anomalous rows, pass rate, the worst table verdict.
    rows: String,
    anomalous: String,
    pass_rate: String,
    verdict: String,
    score: String,
    change: String,
    rows_change: String,
    chart: String,
    dimensions: Vec<(String, String)>,
    /// The scoring model, described.
    model: String,
    /// The share of providers at the model's target (empty without a target).
    target: String,
    tables: Vec<[String; 6]>,
    providers: Vec<ProviderView>,
    /// Why the ranking differs from the pass rates' order, when it does (else empty).
    rank_note: String,
    rules: Vec<RuleView>,
    /// A metric's findings: check id, name, table, group, observed, expected.
    findings: Vec<[String; 6]>,
    /// Templates pooled: id, name, tables (failing), failed rows (rate), last month's rate.
    templates: Vec<[String; 5]>,
    /// Exemptions, one line each: `table: what, until when, why` (expired ones say so).
    exemptions: Vec<String>,
    rectification: Option<RectView>,
}

/// The rectification section as text.
struct RectView {
    note: String,
    /// Per provider, then the total: name and the figures of `Labels::rect_columns`.
    rows: Vec<(String, [String; 11])>,
    /// Per provider, its oldest open problems: provider and `Labels::oldest_columns`.
    oldest: Vec<(String, [String; 6])>,
    /// The trend's months, and per provider its cells.
    months: Vec<String>,
    trend: Vec<(String, Vec<String>)>,
}

struct ProviderView {
    rank: usize,
    name: String,
    rows: String,
    anomalous: String,
    pass_rate: String,
    score: String,
    change: String,
    /// Width of the score bar, percent.
    bar: u32,
}

struct RuleView {
    id: String,
    name: String,
    table: String,
    dimension: String,
    failed: String,
    rate: String,
    reason: String,
    samples: Vec<String>,
}

/// `part / whole` as a percentage with one decimal, rounded down ("—" when `whole` is 0).
fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "—".to_string();
    }
    let tenths = u128::from(part) * 1000 / u128::from(whole);
    format!("{}.{}%", tenths / 10, tenths % 10)
}

fn rect_view(
    r: &super::rectification::RectificationReport,
    lang: Lang,
    escape: fn(&str) -> String,
) -> RectView {
    use crate::results::problems::Movement;
    let l = labels(lang);
    let figures = |m: &Movement, replies: [u64; 3]| -> [String; 11] {
        [
            thousands(m.reported),
            thousands(m.fixed),
            thousands(m.gone),
            thousands(m.accepted),
            thousands(m.still_open),
            thousands(m.new),
            thousands(m.open),
            share(m.fixed, m.reported),
            thousands(replies[0]),
            thousands(replies[1]),
            thousands(replies[2]),
        ]
    };
    let name = |p: &Option<String>| escape(p.as_deref().unwrap_or(l.no_provider));
    let mut rows: Vec<(String, [String; 11])> = r
        .providers
        .iter()
        .map(|p| {
            let replies = [
                p.awaiting_acceptance,
                p.claimed_fixed_still_failing,
                p.cannot_fix,
            ];
            (name(&p.provider), figures(&p.movement, replies))
        })
        .collect();
    let sum = |f: fn(&super::rectification::ProviderRectification) -> u64| {
        r.providers.iter().map(f).sum::<u64>()
    };
    rows.push((
        l.total.to_string(),
        figures(
            &r.total,
            [
                sum(|p| p.awaiting_acceptance),
                sum(|p| p.claimed_fixed_still_failing),
                sum(|p| p.cannot_fix),
            ],
        ),
    ));
    RectView {
        note: r.since_run.as_ref().map_or_else(
            || l.rect_no_since.to_string(),
            |since| l.rect_since.replace("{since}", &escape(since)),
        ),
        rows,
        oldest: r
            .providers
            .iter()
            .flat_map(|p| {
                p.oldest.iter().map(|o| {
                    (
                        name(&p.provider),
                        [
                            o.id.to_string(),
                            escape(&o.table),
                            escape(&o.rule),
                            escape(&o.record),
                            o.first_seen.clone(),
                            o.age_days.to_string(),
                        ],
                    )
                })
            })
            .collect(),
        months: r
            .providers
            .first()
            .map(|p| p.trend.iter().map(|t| t.month.clone()).collect())
            .unwrap_or_default(),
        trend: r
            .providers
            .iter()
            .map(|p| {
                let cells = p
                    .trend
                    .iter()
                    .map(|t| match &t.movement {
                        None => l.none.to_string(),
                        Some(m) => {
                            format!("{}（{}）", share(m.fixed, m.reported), thousands(m.open))
                        }
                    })
                    .collect();
                (name(&p.provider), cells)
            })
            .collect(),
    }
}

fn score_text(s: Option<f64>) -> String {
    s.map_or_else(|| "—".to_string(), |s| format!("{s:.2}"))
}

fn signed(v: Option<f64>, unit: &str, none: &str) -> String {
    v.map_or_else(|| none.to_string(), |v| format!("{v:+.2}{unit}"))
}

fn percent(rate: f64) -> String {
    format!("{:.4}%", rate * 100.0)
}

fn dimension_name(en: &str, lang: Lang) -> String {
    Dimension::parse(en).map_or_else(
        || en.to_string(),
        |d| match lang {
            Lang::Zh => d.zh().to_string(),
            Lang::En => d.en().to_string(),
        },
    )
}

/// The dimensions' scores: the six of GB/T 36344 always (those no rule applied to are
/// marked not assessed), uniqueness when scored.
fn dimension_scores(score: &crate::results::score::Score, lang: Lang) -> Vec<(String, String)> {
    Dimension::ALL
        .iter()
        .filter_map(|d| {
            let scored = score.dimensions.get(d.en());
            if scored.is_none() && *d == Dimension::Uniqueness {
                return None;
            }
            let text = scored.map_or_else(
                || labels(lang).not_assessed.to_string(),
                |s| format!("{s:.2}"),
            );
            Some((dimension_name(d.en(), lang), text))
        })
        .collect()
}

fn model_text(m: &crate::rules::scoring::ScoringModel, lang: Lang) -> String {
    use crate::rules::scoring::ModelKind;
    let l = labels(lang);
    let (text, weights) = match m.model {
        ModelKind::PassRate => (l.pass_rate_model, m.severity),
        ModelKind::Threshold => (l.threshold_model, m.severity),
        ModelKind::Deduction => (l.deduction_model, m.deduction),
    };
    text.replace("{error}", &number(weights.error))
        .replace("{warn}", &number(weights.warn))
        .replace("{zero_at}", &number(m.threshold.zero_at))
        .replace(
            "{zero_rate}",
            &format!("{}%", number(m.threshold.zero_rate * 100.0)),
        )
}

fn target_text(t: &super::TargetReport, lang: Lang) -> String {
    let l = labels(lang);
    let what = t
        .dimension
        .as_deref()
        .map_or_else(|| l.total_score.to_string(), |d| dimension_name(d, lang));
    // "—" when no provider was scored.
    let share = crate::text::percent_floor(t.met as u64, t.providers as u64);
    l.target
        .replace("{met}", &t.met.to_string())
        .replace("{providers}", &t.providers.to_string())
        .replace("{share}", &share)
        .replace("{min}", &number(t.min))
        .replace("{what}", &what)
}

/// `cell` made safe for a Markdown table cell.
fn md_cell(cell: &str) -> String {
    cell.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}

fn view(lib: &LibraryReport, lang: Lang, escape: fn(&str) -> String) -> Result<LibView> {
    let l = labels(lang);
    let text = crate::text::Text::new(lang);
    Ok(LibView {
        name: escape(&lib.library_name),
        id: escape(&lib.library),
        run: format!("{} {} ({})", l.run, lib.run_id, lib.as_of),
        headline: text.headline(
            &thousands(lib.rows),
            &thousands(lib.anomalous_rows),
            &thousands(lib.passed_rows),
            &crate::text::percent_floor(lib.passed_rows, lib.rows),
        ),
        rows: thousands(lib.rows),
        anomalous: thousands(lib.anomalous_rows),
        pass_rate: percent(lib.pass_rate),
        verdict: text
            .verdict(crate::results::summary::Verdict::worst(
                lib.tables.iter().map(|t| t.verdict),
            ))
            .to_string(),
        score: score_text(lib.score.total),
        change: signed(lib.score_change, "", l.no_previous),
        rows_change: signed(lib.rows_change_percent, "%", l.no_previous),
        chart: trend_chart(lib)?,
        dimensions: dimension_scores(&lib.score, lang),
        model: model_text(&lib.scoring, lang),
        target: lib
            .target
            .as_ref()
            .map_or_else(String::new, |t| target_text(t, lang)),
        tables: lib
            .tables
            .iter()
            .map(|t| {
                [
                    escape(&format!("{} ({})", t.title, t.name)),
                    thousands(t.rows),
                    thousands(t.anomalous_rows),
                    percent(t.pass_rate),
                    score_text(t.score.total),
                    text.verdict(t.verdict).to_string(),
                ]
            })
            .collect(),
        rank_note: rank_inversion(&lib.providers).map_or_else(String::new, |(better, worse)| {
            l.rank_note
                .replace("{better}", &better.to_string())
                .replace("{worse}", &worse.to_string())
        }),
        providers: lib
            .providers
            .iter()
            .map(|p| ProviderView {
                rank: p.rank,
                name: escape(p.provider.as_deref().unwrap_or(l.no_provider)),
                rows: thousands(p.rows),
                anomalous: thousands(p.anomalous_rows),
                pass_rate: percent(p.pass_rate),
                score: score_text(p.score.total),
                change: signed(p.score_change, "", l.none),
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                bar: p
                    .score
                    .total
                    .map_or(0, |s| s.clamp(0.0, 100.0).round() as u32),
            })
            .collect(),
        templates: lib
            .templates
            .iter()
            .map(|t| {
                [
                    escape(&t.id),
                    escape(&t.name),
                    format!("{}（{}）", t.tables, t.failing_tables),
                    format!("{}（{}）", thousands(t.failed_rows), percent(t.failed_rate)),
                    t.previous_failed_rate
                        .map_or_else(|| l.no_previous.to_string(), percent),
                ]
            })
            .collect(),
        exemptions: lib
            .exemptions
            .iter()
            .map(|x| escape(&format!("{}：{}", x.table, text.exemption(&x.exemption))))
            .collect(),
        rectification: lib
            .rectification
            .as_ref()
            .map(|r| rect_view(r, lang, escape)),
        findings: lib
            .group_findings
            .iter()
            .map(|f| {
                let group = f
                    .group
                    .iter()
                    .map(|(c, v)| format!("{c}={}", v.as_deref().unwrap_or("∅")))
                    .collect::<Vec<_>>()
                    .join("; ");
                [
                    escape(&f.id),
                    escape(&f.name),
                    escape(&f.table),
                    escape(if group.is_empty() { l.none } else { &group }),
                    crate::text::number(f.value),
                    crate::text::bounds(f.min.map(number), f.max.map(number)),
                ]
            })
            .collect(),
        rules: lib
            .top_rules
            .iter()
            .map(|r| RuleView {
                id: escape(&r.id),
                name: escape(&r.name),
                table: escape(&r.table),
                dimension: crate::text::Text::new(lang)
                    .dimension(r.dimension)
                    .to_string(),
                failed: thousands(r.failed_rows),
                rate: percent(r.failed_rate),
                reason: escape(match lang {
                    Lang::Zh => &r.reason_zh,
                    Lang::En => &r.reason_en,
                }),
                samples: r
                    .samples
                    .iter()
                    .map(|s| {
                        escape(
                            &s.iter()
                                .map(|(c, v)| format!("{c}={}", v.as_deref().unwrap_or("∅")))
                                .collect::<Vec<_>>()
                                .join("; "),
                        )
                    })
                    .collect(),
            })
            .collect(),
    })
}

/// The 12-month score trend as an SVG line chart (plotters; its text is XML-escaped).
fn trend_chart(lib: &LibraryReport) -> Result<String> {
    let err = |e: &dyn std::fmt::Display| Error::Internal(format!("trend chart: {e}"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 220)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let n = i32::try_from(lib.trend.len()).unwrap_or(12).max(2);
        // From just below the lowest score to 100, so month-to-month changes show.
        let low = lib
            .trend
            .iter()
            .filter_map(|p| p.score)
            .fold(100f64, f64::min);
        let floor = ((low - 0.5).floor()).clamp(0.0, 99.0);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(48)
            .build_cartesian_2d(0..n - 1, floor..100f64)
            .map_err(|e| err(&e))?;
        let months: Vec<String> = lib.trend.iter().map(|p| p.month.clone()).collect();
        chart
            .configure_mesh()
            .x_labels(12)
            .y_labels(6)
            .x_label_formatter(&|i| {
                usize::try_from(*i)
                    .ok()
                    .and_then(|i| months.get(i))
                    .map_or_else(String::new, |m| m.get(2..).unwrap_or(m).to_string())
            })
            .draw()
            .map_err(|e| err(&e))?;
        let points: Vec<(i32, f64)> = lib
            .trend
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((i32::try_from(i).ok()?, p.score?)))
            .collect();
        let colour = RGBColor(31, 90, 160);
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 3, colour.filled())))
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

#[derive(Template)]
#[template(path = "report.html")]
struct Html<'a> {
    l: &'a Labels,
    lang: &'a str,
    month: &'a str,
    note: &'a str,
    libraries: Vec<LibView>,
    providers: Vec<[String; 6]>,
}

/// The providers over libraries: rank, name, rows, anomalous rows, score, per library.
fn overview_rows(
    report: &MonthlyReport,
    lang: Lang,
    escape: fn(&str) -> String,
) -> Vec<[String; 6]> {
    let name_of = |id: &str| -> String {
        report
            .libraries
            .iter()
            .find(|l| l.library == id)
            .map_or_else(|| id.to_string(), |l| l.library_name.clone())
    };
    let l = labels(lang);
    report
        .providers
        .iter()
        .map(|p| {
            let per_library = p
                .libraries
                .iter()
                .map(|(id, score, rows)| {
                    format!(
                        "{} {}（{}）",
                        name_of(id),
                        score_text(*score),
                        thousands(*rows)
                    )
                })
                .collect::<Vec<_>>()
                .join(if lang == Lang::Zh { "；" } else { "; " });
            [
                p.rank.to_string(),
                escape(&p.provider),
                thousands(p.rows),
                thousands(p.anomalous_rows),
                p.score
                    .map_or_else(|| l.none.to_string(), |s| format!("{s:.2}")),
                escape(&per_library),
            ]
        })
        .collect()
}

#[derive(Template)]
#[template(path = "report.md")]
struct Markdown<'a> {
    l: &'a Labels,
    month: &'a str,
    note: &'a str,
    libraries: Vec<LibView>,
    providers: Vec<[String; 6]>,
}

fn note(report: &MonthlyReport, l: &Labels) -> &'static str {
    if report.masked { l.masked } else { l.unmasked }
}

fn render_err(e: &askama::Error) -> Error {
    Error::Internal(format!("report template: {e}"))
}

/// The report as one self-contained HTML page.
pub fn html(report: &MonthlyReport, lang: Lang) -> Result<String> {
    let l = labels(lang);
    let libraries = report
        .libraries
        .iter()
        .map(|lib| view(lib, lang, str::to_string))
        .collect::<Result<_>>()?;
    Html {
        l,
        lang: match lang {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        },
        month: &report.month,
        note: note(report, l),
        libraries,
        providers: overview_rows(report, lang, str::to_string),
    }
    .render()
    .map_err(|e| render_err(&e))
}

/// The report as Markdown.
pub fn markdown(report: &MonthlyReport, lang: Lang) -> Result<String> {
    let l = labels(lang);
    let libraries = report
        .libraries
        .iter()
        .map(|lib| view(lib, lang, md_cell))
        .collect::<Result<_>>()?;
    Markdown {
        l,
        month: &report.month,
        note: note(report, l),
        libraries,
        providers: overview_rows(report, lang, md_cell),
    }
    .render()
    .map_err(|e| render_err(&e))
}

/// The report as JSON (the report's own structure; field names in English).
pub fn json(report: &MonthlyReport) -> Result<String> {
    serde_json::to_string_pretty(report)
        .map(|s| s + "\n")
        .map_err(|e| Error::Internal(e.to_string()))
}

/// The first pair of providers (their ranks) where the one ranked higher by score has the
/// lower pass rate, if any.
fn rank_inversion(providers: &[super::ProviderReport]) -> Option<(usize, usize)> {
    providers.iter().enumerate().find_map(|(i, a)| {
        providers[i + 1..]
            .iter()
            .find(|b| b.pass_rate > a.pass_rate)
            .map(|b| (a.rank, b.rank))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(rank: usize, pass_rate: f64, score: f64) -> super::super::ProviderReport {
        super::super::ProviderReport {
            rank,
            provider: Some(format!("p{rank}")),
            rows: 100,
            anomalous_rows: 0,
            pass_rate,
            score: crate::results::score::Score {
                total: Some(score),
                dimensions: std::collections::BTreeMap::new(),
            },
            previous_score: None,
            score_change: None,
        }
    }

    #[test]
    fn the_ranking_says_why_when_pass_rates_disagree() {
        let agree = [provider(1, 0.99, 98.0), provider(2, 0.95, 97.0)];
        assert_eq!(rank_inversion(&agree), None);
        // Rank 2 fails more rows than rank 3, but rows that fail fewer rules.
        let disagree = [
            provider(1, 0.99, 98.0),
            provider(2, 0.90, 96.0),
            provider(3, 0.93, 95.0),
        ];
        assert_eq!(rank_inversion(&disagree), Some((2, 3)));
    }
}
