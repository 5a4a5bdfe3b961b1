//! A rule's `message`: the reason a failing row gets, written by the pack's author as text with
//! `{…}` placeholders, each a SQL expression over the row (a column name, or a call such as
//! `{qc_id_birth_date(id_no)}`). It compiles to one text expression evaluated on failing rows
//! only, like `explain`, and replaces the kind's reason in exports, feedback files and
//! reports. `{{` and `}}` stand for literal braces. A placeholder that is just a personal-data
//! column (`pii:`) shows the value masked; write an expression to show a part of it.

use datafusion::functions::string::expr_fn::concat;
use datafusion::logical_expr::{Expr, cast, lit};
use datafusion::prelude::coalesce;

use super::cx::BindCx;
use crate::diagnostic::Code;
use crate::rules::Spanned;
use crate::rules::pii::Pii;

/// Where a value is NULL, a message shows this.
pub const NULL_SHOWN: &str = "∅";

/// A piece of a message template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// A placeholder's SQL, as written between the braces.
    Value(String),
}

/// Split a template into text and placeholders; `Err` says what is malformed.
pub fn parts(template: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut sql = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{') => {
                            return Err(format!(
                                "placeholder `{{{sql}` holds a `{{`: placeholders do not nest"
                            ));
                        }
                        Some(c) => sql.push(c),
                        None => return Err(format!("placeholder `{{{sql}` has no closing `}}`")),
                    }
                }
                if sql.trim().is_empty() {
                    return Err(
                        "empty placeholder `{}`: name a column or write an expression \
                                (`{{` is a literal brace)"
                            .into(),
                    );
                }
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Value(sql));
            }
            '}' => return Err("a `}` without its `{` (write `}}` for a literal brace)".into()),
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Ok(parts)
}

/// The template as the reason of a whole rule (reports, the terminal), where there is no row
/// to fill it from: a placeholder naming a column shows the column as other reasons do
/// (「street_code」), an expression shows as `…`. A malformed template is shown as written
/// (`qc check` reports it).
pub fn as_reason(template: &str) -> String {
    let Ok(parts) = parts(template) else {
        return template.to_string();
    };
    let text: String = parts
        .iter()
        .map(|p| match p {
            Part::Text(t) => t.clone(),
            Part::Value(sql) => {
                let name = sql.trim();
                if name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    format!("「{name}」")
                } else {
                    "…".to_string()
                }
            }
        })
        .collect();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Compile `template` into a text expression over the row, reporting problems at the
/// message in the pack.
pub fn bind(template: &Spanned<String>, cx: &mut BindCx<'_>) -> Option<Expr> {
    let parts = match parts(&template.value) {
        Ok(p) => p,
        Err(problem) => {
            cx.error(Code::InvalidOption, template, format!("message: {problem}"));
            return None;
        }
    };
    let mut pieces = Vec::with_capacity(parts.len());
    let mut ok = true;
    for part in parts {
        match part {
            Part::Text(t) => pieces.push(lit(t)),
            Part::Value(sql) => match value(&sql, template, cx) {
                Some(e) => pieces.push(coalesce(vec![
                    cast(e, arrow::datatypes::DataType::Utf8),
                    lit(NULL_SHOWN),
                ])),
                None => ok = false,
            },
        }
    }
    ok.then(|| concat(pieces))
}

/// One placeholder compiled; a bare personal-data column is masked.
fn value(sql: &str, at: &Spanned<String>, cx: &mut BindCx<'_>) -> Option<Expr> {
    let name = sql.trim();
    let masked = cx
        .columns
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.pii)
        .map(|pii| match pii {
            Pii::IdNumber => format!("qc_mask_id({name})"),
            Pii::Name => format!("qc_mask_name({name})"),
        });
    let sql = masked.as_deref().unwrap_or(sql);
    let sql = crate::rules::sql::with_roles(sql, &cx.roles);
    match crate::rules::sql::compile_row_value(&sql, cx.state, cx.df_schema) {
        Ok((expr, columns)) => {
            for c in &columns {
                cx.note_read(c);
            }
            Some(expr)
        }
        Err(p) => {
            let span = cx.span(at);
            super::expr::report_problem(p, &format!("message placeholder `{{{sql}}}`"), span, cx);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_split_into_text_and_placeholders() {
        assert_eq!(
            parts("编码 {qc_id_birth_date(id_no)}，登记 {birth_date}").unwrap(),
            vec![
                Part::Text("编码 ".into()),
                Part::Value("qc_id_birth_date(id_no)".into()),
                Part::Text("，登记 ".into()),
                Part::Value("birth_date".into()),
            ]
        );
        assert_eq!(
            parts("{{literal}} {x}").unwrap(),
            vec![Part::Text("{literal} ".into()), Part::Value("x".into())]
        );
        assert!(parts("open {x").unwrap_err().contains("no closing"));
        assert!(parts("stray } here").unwrap_err().contains("without its"));
        assert!(
            parts("empty {} here")
                .unwrap_err()
                .contains("empty placeholder")
        );
        assert!(parts("{a{b}}").unwrap_err().contains("do not nest"));
    }

    #[test]
    fn a_rule_level_reason_names_columns_and_elides_expressions() {
        assert_eq!(
            as_reason("街道代码 {street_code} 不属于区 {substr(district_code, 1, 6)}"),
            "街道代码 「street_code」 不属于区 …"
        );
    }
}
