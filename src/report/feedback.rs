//! Feedback files (问题数据反馈): for one run, a file per data provider listing each of its
//! anomalous records once per rule it fails — library, table, record key, rule id, rule name,
//! reason, the values involved, and the problem's id, status and first-seen date in the run
//! history (`results::problems`) — as xlsx and as UTF-8-with-BOM CSV (which Excel opens
//! with the right encoding). ID numbers and names are masked unless asked otherwise.
//!
//! Each file is written under a temporary name and renamed when complete.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::checks::table::Measured;
use crate::error::{Error, Result};
use crate::execute::export::{Origin, Position, read_export};
use crate::results::problems::{ProblemIndex, ProblemRef, problem_key};
use crate::results::store::StoredRun;
use crate::rules::TableRef;
use crate::text::{Lang, Text};

/// One line of a feedback file.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackLine {
    pub library: String,
    pub table: String,
    pub key: String,
    pub rule_id: String,
    pub rule_name: String,
    pub reason: String,
    pub values: String,
    /// Where the record is in the delivered files (file and line or row number); empty when
    /// the run could not say (a Parquet table audited on a cluster).
    pub location: String,
    /// The problem in the run history (none for a metric's group).
    pub problem: Option<ProblemRef>,
}

pub(super) fn header(lang: Lang) -> [&'static str; 11] {
    match lang {
        Lang::Zh => [
            "专题库",
            "表",
            "记录标识",
            "来源位置",
            "规则编号",
            "规则名称",
            "问题说明",
            "问题数据",
            "问题编号",
            "问题状态",
            "首次发现",
        ],
        Lang::En => [
            "library",
            "table",
            "record key",
            "source location",
            "rule id",
            "rule name",
            "reason",
            "values",
            "problem id",
            "status",
            "first seen",
        ],
    }
}

/// The xlsx's columns a provider fills in (its reply: 处理结果 and 说明), and the answers
/// 处理结果 takes.
pub(super) fn reply_columns(lang: Lang) -> ([&'static str; 2], [&'static str; 3]) {
    match lang {
        Lang::Zh => (["处理结果", "说明"], ["已整改", "确认无误", "无法整改"]),
        Lang::En => (
            ["reply", "explanation"],
            ["fixed", "correct as is", "cannot fix"],
        ),
    }
}

/// What a provider's feedback file is about: the run, its audit date and the provider.
#[derive(Debug, Clone)]
pub struct FeedbackHead<'a> {
    pub run_id: &'a str,
    pub as_of: &'a str,
    pub provider: &'a str,
}

/// The lines of `run`'s anomalies, grouped by provider (`None`: rows without one), each
/// with its problem from `problems` (its status as it stands now).
pub fn lines(
    run: &StoredRun,
    problems: &ProblemIndex,
    mask: bool,
    lang: Lang,
) -> Result<BTreeMap<Option<String>, Vec<FeedbackLine>>> {
    let mut by_provider: BTreeMap<Option<String>, Vec<FeedbackLine>> = BTreeMap::new();
    for t in &run.tables {
        // Groups of a provider's rows beyond a metric's bounds: findings without a row.
        for c in &t.table_checks {
            let Measured::Metric {
                group_by, findings, ..
            } = &c.measured
            else {
                continue;
            };
            for f in findings {
                let Some(provider) = &f.provider else {
                    continue;
                };
                let group = group_by
                    .iter()
                    .zip(&f.group)
                    .map(|(c, v)| format!("{c}={}", v.as_deref().unwrap_or("∅")))
                    .collect::<Vec<_>>()
                    .join("; ");
                by_provider
                    .entry(Some(provider.clone()))
                    .or_default()
                    .push(FeedbackLine {
                        library: t.library_name.clone(),
                        table: t.title.clone(),
                        key: group.clone(),
                        rule_id: c.id.clone(),
                        rule_name: c.name.clone(),
                        reason: Text::new(lang).metric_reason(&c.measured, f.value),
                        values: group,
                        location: Text::new(lang).group_location().to_string(),
                        problem: None,
                    });
            }
        }
        let Some(file) = &t.anomalies_file else {
            continue;
        };
        let qualified = TableRef::new(&t.library, &t.name).to_string();
        let text = run.table_texts.get(&qualified).cloned().unwrap_or_default();
        let provider_column = text.provider.clone();
        let export = Path::new(&run.out_dir).join(file);
        read_export(&export, |row| {
            let value_of = |c: &str| row.value(c).map(str::to_string);
            let shown = |c: &str, v: &str| match text.pii.get(c) {
                Some(kind) if mask => kind.mask(v),
                _ => v.to_string(),
            };
            let key = text.shown_key(text.key.iter().map(|k| row.value(k)), mask);
            // A provider name that did not decode (a file read in the wrong encoding) names
            // no one: its lines go to one file that says so.
            let provider = provider_column.as_deref().and_then(value_of).map(|p| {
                if p.contains(char::REPLACEMENT_CHARACTER) {
                    undecodable(lang).to_string()
                } else {
                    p
                }
            });
            let problem_key = problem_key(&text.key, &row);
            for id in &row.failed_rules {
                let problem = problem_key.as_ref().and_then(|k| {
                    problems
                        .get(&(t.library.clone(), t.name.clone(), id.clone(), k.clone()))
                        .cloned()
                });
                let rule = run
                    .rules
                    .get(&(t.library.clone(), t.name.clone(), id.clone()));
                let name = t
                    .rules
                    .iter()
                    .find(|r| &r.id == id)
                    .map_or_else(String::new, |r| r.name.clone());
                let (reason, columns) = rule.map_or_else(
                    || (String::new(), Vec::new()),
                    |r| {
                        (
                            match lang {
                                Lang::Zh => r.reason_zh.clone(),
                                Lang::En => r.reason_en.clone(),
                            },
                            r.columns.clone(),
                        )
                    },
                );
                // What the rule says of this row: its whole reason, or said after it.
                let reason = match row.explanations.iter().find(|e| &e.rule == id) {
                    Some(e) if e.is_reason => e.text.clone(),
                    Some(e) => match lang {
                        Lang::Zh => format!("{reason}（{}）", e.text),
                        Lang::En => format!("{reason} ({})", e.text),
                    },
                    None => reason,
                };
                let parse = t.rules.iter().any(|r| &r.id == id && r.builtin);
                // A malformed record: what is wrong and its text; otherwise the values read.
                let (reason, values) = match &row.origin {
                    Some(origin) if parse => (
                        parse_reason(&reason, origin, lang),
                        raw_record(origin, mask && !text.pii.is_empty()),
                    ),
                    _ => (
                        reason,
                        columns
                            .iter()
                            .map(|c| {
                                format!(
                                    "{c}={}",
                                    value_of(c).map_or_else(|| "∅".to_string(), |v| shown(c, &v))
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                };
                by_provider
                    .entry(provider.clone())
                    .or_default()
                    .push(FeedbackLine {
                        library: t.library_name.clone(),
                        table: t.title.clone(),
                        key: key.clone(),
                        rule_id: id.clone(),
                        rule_name: name,
                        reason,
                        values,
                        location: row
                            .origin
                            .as_ref()
                            .map_or_else(String::new, |o| location(o, lang)),
                        problem,
                    });
            }
            true
        })?;
    }
    Ok(by_provider)
}

/// Where a record is, for people: `a.csv 第 12 行`, `b.parquet 第 7 条记录`.
pub fn location(origin: &Origin, lang: Lang) -> String {
    let file = &origin.file;
    match (origin.at, lang) {
        (Position::Line(n), Lang::Zh) => format!("{file} 第 {n} 行"),
        (Position::Row(n), Lang::Zh) => format!("{file} 第 {n} 条记录"),
        (Position::Line(n), Lang::En) => format!("{file} line {n}"),
        (Position::Row(n), Lang::En) => format!("{file} row {n}"),
    }
}

/// A malformed record's reason: what is wrong with it (where it is has its own column).
fn parse_reason(reason: &str, origin: &Origin, lang: Lang) -> String {
    let detail = origin.parse_error.as_deref().unwrap_or_default();
    match lang {
        Lang::Zh => format!("{reason}（{detail}）"),
        Lang::En => format!("{reason} ({detail})"),
    }
}

/// A malformed record's text for a provider to find it by. Where the table holds personal
/// data and masking is on, the text is withheld (its fields cannot be told apart reliably);
/// the reason still gives the file and line.
fn raw_record(origin: &Origin, withhold: bool) -> String {
    match &origin.raw {
        Some(_) if withhold => "…".to_string(),
        // Control characters (a NUL byte, say) shown as escapes: spreadsheets drop them.
        Some(raw) => raw
            .chars()
            .map(|c| {
                if c.is_control() && c != '\t' {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
        None => String::new(),
    }
}

/// The provider of lines whose provider name did not decode.
pub fn undecodable(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "提供单位名称无法解码（请检查文件编码）",
        Lang::En => "provider name not decodable (check the file's encoding)",
    }
}

/// File stems for providers, in order: [`file_stem`], with `-2`, `-3`… added where two
/// providers' names clean to the same stem, so no provider's file replaces another's.
pub fn file_stems<'a>(
    providers: impl IntoIterator<Item = Option<&'a str>>,
    lang: Lang,
) -> Vec<String> {
    let mut used = std::collections::BTreeSet::new();
    providers
        .into_iter()
        .map(|p| {
            let stem = file_stem(p, lang);
            let mut unique = stem.clone();
            let mut n = 1;
            while !used.insert(unique.clone()) {
                n += 1;
                unique = format!("{stem}-{n}");
            }
            unique
        })
        .collect()
}

/// What the feedback of records without a provider is named by: its file and the provider
/// on its summary sheet.
pub fn unnamed(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "未标明提供单位",
        Lang::En => "no-provider",
    }
}

/// A file name for a provider: its name with path separators and control characters
/// replaced.
pub fn file_stem(provider: Option<&str>, lang: Lang) -> String {
    let name = provider.unwrap_or(unnamed(lang));
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim().trim_matches('.');
    if trimmed.is_empty() {
        "_".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Write one provider's lines as `<stem>.xlsx` (a summary sheet — run, audit date, problems
/// per rule — then the lines) and `<stem>.csv` (the lines) into `dir`; return the paths.
pub fn write(
    dir: &Path,
    stem: &str,
    about: &FeedbackHead<'_>,
    lines: &[FeedbackLine],
    lang: Lang,
) -> Result<[PathBuf; 2]> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let head = header(lang);
    let problems: Vec<[String; 3]> = lines
        .iter()
        .map(|l| {
            l.problem.as_ref().map_or_else(Default::default, |p| {
                let status = match lang {
                    Lang::Zh => p.status.zh(),
                    Lang::En => p.status.name(),
                };
                [p.id.to_string(), status.to_string(), p.first_seen.clone()]
            })
        })
        .collect();
    let rows = lines.iter().zip(&problems).map(|(l, p)| {
        [
            l.library.as_str(),
            l.table.as_str(),
            l.key.as_str(),
            l.location.as_str(),
            l.rule_id.as_str(),
            l.rule_name.as_str(),
            l.reason.as_str(),
            l.values.as_str(),
            p[0].as_str(),
            p[1].as_str(),
            p[2].as_str(),
        ]
    });

    let csv_path = dir.join(format!("{stem}.csv"));
    let tmp = dir.join(format!(".{stem}.csv.partial"));
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?);
    let io = |e| Error::io(&tmp, e);
    out.write_all("\u{FEFF}".as_bytes()).map_err(io)?;
    let record = |cells: &[&str]| -> String {
        cells
            .iter()
            .map(|c| csv_field(c))
            .collect::<Vec<_>>()
            .join(",")
            + "\r\n"
    };
    out.write_all(record(&head).as_bytes()).map_err(io)?;
    for r in rows.clone() {
        out.write_all(record(&r).as_bytes()).map_err(io)?;
    }
    out.into_inner()
        .map_err(|e| Error::io(&tmp, e.into_error()))?
        .sync_all()
        .map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &csv_path).map_err(|e| Error::io(&csv_path, e))?;

    let xlsx_path = dir.join(format!("{stem}.xlsx"));
    let tmp = dir.join(format!(".{stem}.xlsx.partial"));
    let xerr =
        |e: rust_xlsxwriter::XlsxError| Error::io(&xlsx_path, std::io::Error::other(e.to_string()));
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    summary_sheet(book.add_worksheet(), about, lines, lang, &bold).map_err(xerr)?;
    let sheet = book.add_worksheet();
    sheet
        .set_name(match lang {
            Lang::Zh => "问题明细",
            Lang::En => "problems",
        })
        .map_err(xerr)?;
    let (reply, answers) = reply_columns(lang);
    for (c, h) in head.iter().chain(&reply).enumerate() {
        let c = u16::try_from(c).unwrap_or(u16::MAX);
        sheet
            .write_string_with_format(0, c, *h, &bold)
            .map_err(xerr)?;
    }
    // The provider answers each line by choosing one of the answers, then says why.
    if !lines.is_empty() {
        let answer_column = u16::try_from(head.len()).unwrap_or(u16::MAX);
        let last = u32::try_from(lines.len()).unwrap_or(u32::MAX);
        let choose = rust_xlsxwriter::DataValidation::new()
            .allow_list_strings(&answers)
            .map_err(xerr)?;
        sheet
            .add_data_validation(1, answer_column, last, answer_column, &choose)
            .map_err(xerr)?;
    }
    for (i, r) in rows.enumerate() {
        let row = u32::try_from(i + 1).map_err(|_| {
            Error::data(
                &xlsx_path,
                "more rows than an xlsx sheet holds; use the CSV file",
            )
        })?;
        for (c, v) in r.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            sheet
                .write_string(row, c, fit_cell(v, lang).as_ref())
                .map_err(xerr)?;
        }
    }
    sheet.set_column_width(2, 24).map_err(xerr)?;
    sheet.set_column_width(3, 30).map_err(xerr)?;
    sheet.set_column_width(5, 30).map_err(xerr)?;
    sheet.set_column_width(6, 36).map_err(xerr)?;
    sheet.set_column_width(7, 60).map_err(xerr)?;
    if let Err(e) = book.save(&tmp) {
        // Nothing half-written is left behind.
        let _ = std::fs::remove_file(&tmp);
        return Err(xerr(e));
    }
    std::fs::rename(&tmp, &xlsx_path).map_err(|e| Error::io(&xlsx_path, e))?;
    Ok([xlsx_path, csv_path])
}

/// The first sheet of a provider's workbook: which run and provider, how many problems, and
/// how many per table and rule.
fn summary_sheet(
    sheet: &mut rust_xlsxwriter::Worksheet,
    about: &FeedbackHead<'_>,
    lines: &[FeedbackLine],
    lang: Lang,
    bold: &rust_xlsxwriter::Format,
) -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
    let zh = lang == Lang::Zh;
    sheet.set_name(if zh { "汇总" } else { "summary" })?;
    let facts = [
        (
            if zh { "提供单位" } else { "provider" },
            about.provider.to_string(),
        ),
        (
            if zh { "稽核运行" } else { "run" },
            about.run_id.to_string(),
        ),
        (
            if zh { "稽核日期" } else { "audit date" },
            about.as_of.to_string(),
        ),
        (
            if zh { "问题条数" } else { "problems" },
            lines.len().to_string(),
        ),
    ];
    let mut row = 0u32;
    for (name, value) in facts {
        sheet.write_string_with_format(row, 0, name, bold)?;
        sheet.write_string(row, 1, value)?;
        row += 1;
    }
    row += 1;
    let head: [&str; 5] = if zh {
        ["专题库", "表", "规则编号", "规则名称", "问题条数"]
    } else {
        ["library", "table", "rule id", "rule name", "problems"]
    };
    for (c, h) in (0u16..).zip(head) {
        sheet.write_string_with_format(row, c, h, bold)?;
    }
    let mut per_rule: BTreeMap<(&str, &str, &str, &str), u64> = BTreeMap::new();
    for l in lines {
        *per_rule
            .entry((&l.library, &l.table, &l.rule_id, &l.rule_name))
            .or_default() += 1;
    }
    for ((library, table, id, name), n) in per_rule {
        row += 1;
        for (c, v) in (0u16..).zip([library, table, id, name]) {
            sheet.write_string(row, c, v)?;
        }
        #[allow(clippy::cast_precision_loss)] // a count of lines fits a double exactly
        sheet.write_number(row, 4, n as f64)?;
    }
    sheet.set_column_width(0, 16)?;
    sheet.set_column_width(1, 28)?;
    sheet.set_column_width(3, 36)?;
    Ok(())
}

/// Characters an xlsx cell holds (Excel's limit).
const CELL_CHARS: usize = 32_767;

/// `value` as an xlsx cell: whole when it fits, else cut with a marker saying the CSV file
/// holds it whole.
fn fit_cell(value: &str, lang: Lang) -> std::borrow::Cow<'_, str> {
    if value.chars().count() <= CELL_CHARS {
        return std::borrow::Cow::Borrowed(value);
    }
    let marker = match lang {
        Lang::Zh => "……（超出 xlsx 单元格上限，已截断；CSV 文件中为全文）",
        Lang::En => "… (cut at the xlsx cell limit; the CSV file holds the whole value)",
    };
    let keep = CELL_CHARS - marker.chars().count();
    let cut: String = value.chars().take(keep).collect();
    std::borrow::Cow::Owned(cut + marker)
}

/// A CSV field, quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or
/// `@` is prefixed with `'` so spreadsheets show it as text, not a formula.
pub fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_longer_than_an_xlsx_cell_is_cut_there_and_whole_in_the_csv() {
        use calamine::Reader as _;
        let dir = tempfile::tempdir().unwrap();
        let long = "长".repeat(40_000);
        let line = FeedbackLine {
            library: "civil".into(),
            table: "registration".into(),
            key: "R1".into(),
            rule_id: "R-001".into(),
            rule_name: "示例".into(),
            reason: "太长".into(),
            values: long.clone(),
            location: "a.csv 第 2 行".into(),
            problem: None,
        };
        let about = FeedbackHead {
            run_id: "20261130T000000Z-0001",
            as_of: "2026-11-30",
            provider: "黄浦区",
        };
        let [xlsx, csv] = write(
            dir.path(),
            "p",
            &about,
            std::slice::from_ref(&line),
            Lang::Zh,
        )
        .unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        assert!(text.contains(&long), "the CSV holds the whole value");
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
        // The summary sheet first: the run, the provider, the count per rule.
        let summary = book.worksheet_range("汇总").unwrap();
        assert_eq!(summary.get((0, 1)).unwrap().to_string(), "黄浦区");
        assert_eq!(summary.get((1, 1)).unwrap().to_string(), about.run_id);
        assert_eq!(summary.get((3, 1)).unwrap().to_string(), "1");
        assert_eq!(summary.get((6, 2)).unwrap().to_string(), "R-001");
        assert_eq!(summary.get((6, 4)).unwrap().to_string(), "1");
        let range = book.worksheet_range("问题明细").unwrap();
        assert_eq!(range.get((1, 3)).unwrap().to_string(), "a.csv 第 2 行");
        let cell = range.get((1, 7)).unwrap().to_string();
        assert_eq!(cell.chars().count(), CELL_CHARS);
        assert!(
            cell.starts_with("长长长") && cell.ends_with("CSV 文件中为全文）"),
            "{cell}"
        );
        assert_eq!(range.get((1, 2)).unwrap().to_string(), "R1");
    }

    #[test]
    fn csv_fields_and_file_names() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(file_stem(Some("黄浦区/民政局"), Lang::Zh), "黄浦区_民政局");
        assert_eq!(file_stem(None, Lang::Zh), "未标明提供单位");
        assert_eq!(file_stem(Some(".."), Lang::Zh), "_");
        assert_eq!(
            file_stems(
                [Some("黄浦区/民政局"), Some("黄浦区_民政局"), None],
                Lang::Zh
            ),
            ["黄浦区_民政局", "黄浦区_民政局-2", "未标明提供单位"]
        );
    }
}
