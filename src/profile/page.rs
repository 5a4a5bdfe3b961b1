//! The profile as one self-contained HTML page (`profile.html`): inline CSS, length histograms
//! as inline SVG, bars as styled spans, no script; every value escaped by the template engine
//! and personal data masked unless `--no-mask`.

use std::fmt::Write as _;

use askama::Template;

use super::compare::Finding;
use super::relations::Relation;
use super::{ColumnProfile, KeyCheck, Profile};
use crate::error::{Error, Result};
use crate::text::{Lang, thousands};

/// Words of the page in one language.
struct Labels {
    title: &'static str,
    drift: &'static str,
    kind: &'static str,
    column: &'static str,
    change: &'static str,
    malformed: &'static str,
    file: &'static str,
    line: &'static str,
    detail: &'static str,
    columns: &'static str,
    class: &'static str,
    share: &'static str,
    top: &'static str,
    count: &'static str,
    relations: &'static str,
    relation: &'static str,
    judged: &'static str,
    holds: &'static str,
}

const ZH: Labels = Labels {
    title: "数据画像",
    drift: "与上次画像相比的变化",
    kind: "类别",
    column: "列",
    change: "变化",
    malformed: "格式错误的记录（示例）",
    file: "文件",
    line: "行号",
    detail: "说明",
    columns: "各列画像",
    class: "语义类别",
    share: "占比",
    top: "最常见值",
    count: "次数",
    relations: "列间关系（成立比例不低于 95%）",
    relation: "关系",
    judged: "可判断的行",
    holds: "成立",
};

const EN: Labels = Labels {
    title: "Data profile",
    drift: "Changes since the previous profile",
    kind: "kind",
    column: "column",
    change: "change",
    malformed: "Malformed records (examples)",
    file: "file",
    line: "line",
    detail: "detail",
    columns: "Columns",
    class: "semantic class",
    share: "share",
    top: "most frequent values",
    count: "count",
    relations: "Relations between columns (holding in at least 95 % of rows)",
    relation: "relation",
    judged: "rows judged",
    holds: "holds",
};

struct ColumnView {
    name: String,
    types: String,
    facts: Vec<(&'static str, String)>,
    classes: Vec<(String, String, u32)>,
    top: Vec<(String, String, u32)>,
    top_note: String,
    histogram: String,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct Page<'a> {
    lang: &'static str,
    l: &'a Labels,
    table: &'a str,
    note: String,
    overview: Vec<(&'static str, String)>,
    drift: Vec<(String, String, String)>,
    malformed: Vec<(String, String, String, String)>,
    relations: Vec<(String, String, String)>,
    columns: Vec<ColumnView>,
}

/// The page of `p` (and of its drift from a previous profile, when compared).
pub fn render(p: &Profile, drift: Option<&[Finding]>, lang: Lang) -> Result<String> {
    let zh = lang == Lang::Zh;
    let l = if zh { &ZH } else { &EN };
    let pick = |a: &'static str, b: &'static str| if zh { a } else { b };
    let keys: Vec<String> = p.candidate_keys.iter().map(|k| k.join(" + ")).collect();
    let overview = vec![
        (pick("来源", "source"), p.source.pattern.clone()),
        (pick("文件数", "files"), p.source.files.len().to_string()),
        (
            pick("格式", "format"),
            match &p.source.encoding {
                Some(e) => format!("{} ({e})", p.source.format),
                None => p.source.format.clone(),
            },
        ),
        (pick("记录数", "records"), thousands(p.rows)),
        (
            pick("格式错误的记录", "malformed records"),
            thousands(p.malformed.total),
        ),
        (pick("列数", "columns"), p.columns.len().to_string()),
        (
            pick("候选键", "candidate keys"),
            if keys.is_empty() {
                pick("无", "none").into()
            } else {
                keys.join(", ")
            },
        ),
        (pick("画像时间", "profiled at"), p.profiled_at.clone()),
    ];
    let note = if p.masked {
        pick(
            "身份证件号码与姓名已脱敏。标有 ≈ 的数字为估计值：不同值超过 65,536 个时用 HyperLogLog（标准误差 0.81%），数值超过 65,536 个时分位数用 t-digest；最常见值的次数在注明时可能偏低。",
            "ID numbers and names are masked. Figures marked ≈ are estimates: distinct counts above 65,536 by HyperLogLog (standard error 0.81 %), quantiles of more than 65,536 numbers by t-digest; top-value counts may be low where noted.",
        )
    } else {
        pick(
            "未脱敏（--no-mask）。标有 ≈ 的数字为估计值。",
            "Not masked (--no-mask). Figures marked ≈ are estimates.",
        )
    }
    .to_string();
    let page = Page {
        lang: pick("zh-CN", "en"),
        l,
        table: &p.table,
        note,
        overview,
        drift: drift
            .unwrap_or_default()
            .iter()
            .map(|f| {
                (
                    f.kind.clone(),
                    f.column.clone().unwrap_or_default(),
                    if zh { f.zh.clone() } else { f.en.clone() },
                )
            })
            .collect(),
        malformed: p
            .malformed
            .samples
            .iter()
            .map(|m| {
                (
                    m.file.clone(),
                    m.line.to_string(),
                    m.kind.clone(),
                    m.detail.clone(),
                )
            })
            .collect(),
        relations: relations(p, zh),
        columns: p.columns.iter().map(|c| column(c, zh)).collect(),
    };
    page.render()
        .map_err(|e| Error::Internal(format!("rendering the profile page: {e}")))
}

/// The relations holding in at least 95 % of the rows judged: what, rows judged, share. Those
/// naming values of masked columns are left out.
fn relations(p: &Profile, zh: bool) -> Vec<(String, String, String)> {
    let masked = |name: &str| p.columns.iter().any(|c| c.name == name && c.masked);
    p.relations
        .iter()
        .filter(|r| !(matches!(r, Relation::Implies { .. }) && r.columns().into_iter().any(masked)))
        .filter_map(|r| {
            let (judged, holding) = r.holds();
            (judged > 0 && holding as f64 >= super::relations::PAGE_SHARE * judged as f64).then(
                || {
                    (
                        r.describe(zh),
                        thousands(judged),
                        format!("{:.2}%", holding as f64 * 100.0 / judged as f64),
                    )
                },
            )
        })
        .collect()
}

fn column(c: &ColumnProfile, zh: bool) -> ColumnView {
    let pick = |a: &'static str, b: &'static str| if zh { a } else { b };
    let share = |n: u64| {
        if c.rows == 0 {
            String::new()
        } else {
            format!("{:.2}%", n as f64 * 100.0 / c.rows as f64)
        }
    };
    let mut facts = vec![
        (pick("行数", "rows"), thousands(c.rows)),
        (
            pick("空值", "NULL"),
            format!("{} ({})", thousands(c.nulls), share(c.nulls)),
        ),
        (pick("空白", "blank"), thousands(c.blanks)),
        (pick("占位值", "placeholders"), placeholders(c)),
        (pick("首尾空格", "padded"), thousands(c.padded)),
        (
            pick("不同值", "distinct"),
            format!(
                "{}{}",
                if c.distinct_exact { "" } else { "≈" },
                thousands(c.distinct)
            ),
        ),
    ];
    if let Some(m) = &c.min {
        facts.push((pick("最小值", "min"), m.clone()));
    }
    if let Some(m) = &c.max {
        facts.push((pick("最大值", "max"), m.clone()));
    }
    if let Some(n) = &c.numbers {
        let approx = if n.exact { "" } else { "≈" };
        if let Some(mean) = &n.mean {
            facts.push((pick("平均值", "mean"), mean.text.clone()));
        }
        for q in &n.quantiles {
            let label = match (q.q * 100.0).round() as u32 {
                1 => "P1",
                5 => "P5",
                25 => "P25",
                50 => "P50",
                75 => "P75",
                95 => "P95",
                _ => "P99",
            };
            facts.push((label, format!("{approx}{}", q.value.text)));
        }
    }
    if let Some(len) = &c.lengths {
        facts.push((
            pick("长度", "length"),
            format!(
                "{}–{} ({} {:.1})",
                len.min,
                len.max,
                pick("平均", "mean"),
                len.mean
            ),
        ));
    }
    if !c.date_formats.is_empty() {
        let list: Vec<String> = c
            .date_formats
            .iter()
            .map(|(f, n)| format!("{f} ×{}", thousands(*n)))
            .collect();
        facts.push((pick("日期格式", "date formats"), list.join(", ")));
    }
    facts.push((
        pick("重复", "duplicates"),
        match c.key {
            KeyCheck::Checked {
                duplicate_rows,
                duplicate_groups,
            } => format!(
                "{} {} / {} {}",
                thousands(duplicate_rows),
                pick("行", "rows"),
                thousands(duplicate_groups),
                pick("个值", "values")
            ),
            KeyCheck::NotKeyLike => {
                pick("未计（取值重复多，非键）", "not counted (not key-like)").into()
            }
            KeyCheck::OverBudget => pick(
                "未计（超出内存预算）",
                "not counted (over the memory budget)",
            )
            .into(),
        },
    ));
    let max_top = c.top.iter().map(|t| t.count).max().unwrap_or(1).max(1);
    let top = c
        .top
        .iter()
        .map(|t| {
            (
                t.value.clone(),
                thousands(t.count),
                (t.count * 120 / max_top) as u32,
            )
        })
        .collect();
    let top_note = if c.top_exact {
        String::new()
    } else if zh {
        format!("次数为下限，每个最多偏低 {}。", thousands(c.top_error))
    } else {
        format!(
            "counts are lower bounds, each at most {} low.",
            thousands(c.top_error)
        )
    };
    ColumnView {
        name: c.name.clone(),
        types: format!(
            "{} · {} {} ({:.1}%){}",
            c.physical_type,
            pick("推断", "inferred"),
            c.inferred_type,
            c.inferred_share * 100.0,
            if c.masked {
                pick(" · 已脱敏", " · masked")
            } else {
                ""
            }
        ),
        facts,
        classes: c
            .classes
            .iter()
            .map(|s| {
                let label = if zh {
                    s.class.label().0
                } else {
                    s.class.label().1
                };
                (
                    label.to_string(),
                    format!("{:.2}% ({})", s.share * 100.0, thousands(s.count)),
                    (s.share * 120.0) as u32,
                )
            })
            .collect(),
        top,
        top_note,
        histogram: histogram(c),
    }
}

fn placeholders(c: &ColumnProfile) -> String {
    if c.placeholders == 0 {
        return "0".into();
    }
    let list: Vec<String> = c
        .placeholder_values
        .iter()
        .map(|(v, n)| format!("{v} ×{}", thousands(*n)))
        .collect();
    format!("{} ({})", thousands(c.placeholders), list.join(", "))
}

/// The length distribution as an inline SVG bar chart (numbers only, nothing to escape).
fn histogram(c: &ColumnProfile) -> String {
    let Some(len) = &c.lengths else {
        return String::new();
    };
    if len.histogram.len() < 2 {
        return String::new();
    }
    let max = len
        .histogram
        .iter()
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(1)
        .max(1);
    let (w, h) = (300u64, 60u64);
    let slot = w / len.histogram.len() as u64;
    let mut svg = format!(
        r#"<svg width="{w}" height="{}" viewBox="0 0 {w} {}" role="img" aria-label="length histogram">"#,
        h + 14,
        h + 14
    );
    for (i, (l, n)) in len.histogram.iter().enumerate() {
        let bh = (n * h / max).max(1);
        let x = i as u64 * slot;
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="{}" width="{}" height="{bh}" fill="#1f5aa0"><title>{l}: {n}</title></rect>"##,
            h - bh,
            slot.saturating_sub(1).max(1)
        );
        if len.histogram.len() <= 16 || i % 4 == 0 {
            let _ = write!(
                svg,
                r#"<text x="{x}" y="{}" font-size="9">{l}</text>"#,
                h + 11
            );
        }
    }
    svg.push_str("</svg>");
    svg
}
