//! The terminal summary of a run: per table a headline, one line per rule (aligned, CJK
//! characters counted two columns wide), the table checks, and a footer.

use std::fmt::Write as _;

use unicode_width::UnicodeWidthStr;

use crate::checks::table::Measured;
use crate::results::summary::{RunSummary, TableSummary, Verdict};
use crate::text::{Lang, Text, percent_ceil, percent_floor, thousands};

/// How many of a metric's findings the terminal lists (`summary.json` has all).
const FINDINGS_SHOWN: usize = 5;

/// Pad `s` with spaces to `width` terminal columns (CJK characters are two columns wide).
pub(super) fn pad(s: &str, width: usize) -> String {
    let w = UnicodeWidthStr::width(s);
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

pub(super) fn pad_left(s: &str, width: usize) -> String {
    let w = UnicodeWidthStr::width(s);
    format!("{}{s}", " ".repeat(width.saturating_sub(w)))
}

/// `s` cut to `width` terminal columns, ending with `…` when cut.
pub(super) fn fit(s: &str, width: usize) -> String {
    if UnicodeWidthStr::width(s) <= width {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out + "…"
}

/// Terminal columns the summary is laid out for: `$COLUMNS` when set, else 100.
pub fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&c: &usize| c >= 40)
        .unwrap_or(100)
}

/// The terminal summary of one table: headline, one line per rule (names shortened so a
/// line fits `columns`; summary.json and reports have them whole), table checks, verdict.
pub fn render_table(t: &TableSummary, lang: Lang, columns: usize) -> String {
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
    let mut rows: Vec<[String; 7]> = t
        .rules
        .iter()
        .map(|r| {
            let dim = text.dimension(r.dimension).to_string();
            [
                r.id.clone(),
                r.name.clone(),
                dim,
                match &r.anomalous_keys {
                    Some(v) => format!(
                        "{} ({})",
                        thousands(r.failed_rows),
                        text.anomalous_keys(v.unit, &thousands(v.count))
                    ),
                    None => thousands(r.failed_rows),
                },
                percent_ceil(r.failed_rows, r.applicable_rows),
                text.threshold(&r.threshold),
                if r.applicable_rows == 0 {
                    text.not_evaluated().to_string()
                } else {
                    text.verdict(r.verdict).to_string()
                },
            ]
        })
        .collect();
    let mut widths = header.map(UnicodeWidthStr::width);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(UnicodeWidthStr::width(cell.as_str()));
        }
    }
    // The name gives way so that a line fits: two spaces before each of the 7 cells.
    let others: usize = widths
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, w)| w)
        .sum();
    let room = columns.saturating_sub(others + 14).max(8);
    if widths[1] > room {
        widths[1] = room.max(UnicodeWidthStr::width(header[1]));
        for r in &mut rows {
            r[1] = fit(&r[1], widths[1]);
        }
    }
    let line = |cells: [&str; 7]| {
        format!(
            "  {}  {}  {}  {}  {}  {}  {}",
            pad(cells[0], widths[0]),
            pad(cells[1], widths[1]),
            pad(cells[2], widths[2]),
            pad_left(cells[3], widths[3]),
            pad_left(cells[4], widths[4]),
            pad_left(cells[5], widths[5]),
            cells[6]
        )
        .trim_end()
        .to_string()
    };
    let _ = writeln!(out, "{}", line(header));
    for r in &rows {
        let _ = writeln!(
            out,
            "{}",
            line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6]])
        );
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
        // A metric's or trend's groups beyond its bounds, the first few of each.
        for c in &t.table_checks {
            let found: Vec<String> = match &c.measured {
                Measured::Metric {
                    group_by, findings, ..
                } if !group_by.is_empty() => {
                    findings.iter().map(|f| text.group_finding(f)).collect()
                }
                Measured::Trend(tr) if tr.per_provider => {
                    tr.findings.iter().map(|f| text.trend_finding(f)).collect()
                }
                _ => Vec::new(),
            };
            if !found.is_empty() {
                let shown = &found[..found.len().min(FINDINGS_SHOWN)];
                let _ = writeln!(out, "  {}", text.metric_findings(&c.id, shown, found.len()));
            }
        }
    }
    let count = |v: Verdict| {
        t.rules.iter().filter(|r| r.verdict == v).count()
            + t.table_checks.iter().filter(|c| c.verdict == v).count()
    };
    let _ = writeln!(
        out,
        "  {}",
        text.table_verdict(t.verdict, count(Verdict::Fail), count(Verdict::Warn))
    );
    for r in &t.partial_rules {
        let _ = writeln!(out, "  {}", text.rule_partial(r));
    }
    for e in &t.exemptions {
        let _ = writeln!(out, "  {}", text.exemption(e));
    }
    for r in &t.skipped_rules {
        let _ = writeln!(out, "  {}", text.rule_skipped(r));
    }
    for f in &t.left_out_files {
        let _ = writeln!(out, "  {}", text.file_left_out(&f.reason));
    }
    if let Some(line) = t.reuse.as_ref().and_then(|r| text.reuse(r)) {
        let _ = writeln!(out, "  {line}");
    }
    out
}

/// The whole terminal summary, laid out for `columns` terminal columns.
pub fn render(
    summary: &RunSummary,
    out_dir: &str,
    seconds: f64,
    lang: Lang,
    columns: usize,
) -> String {
    let text = Text::new(lang);
    let mut out = String::new();
    for t in &summary.tables {
        out.push_str(&render_table(t, lang, columns));
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
    // Under `--fail-on warn` a run whose tables only warned fails too: say why.
    if summary.fail_on == crate::results::summary::FailOn::Warn && summary.verdict == Verdict::Warn
    {
        let _ = writeln!(out, "{}", text.failed_on_warnings());
    }
    let left_out: usize = summary.tables.iter().map(|t| t.left_out_files.len()).sum();
    if left_out > 0 {
        let _ = writeln!(out, "{}", text.run_partial(left_out));
    }
    out
}
