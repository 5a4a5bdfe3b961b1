//! The catalogue of built-in check kinds, one file per kind.
//!
//! Each kind owns its YAML parameters, its bind-time validation against the table's columns,
//! the DataFusion expression it compiles to, and its documentation (`qc check --explain KIND`).
//!
//! Every check compiles to a boolean expression that is **true when the row passes**. NULL
//! semantics, common to all kinds unless a kind says otherwise: a check whose value is NULL
//! *passes* (presence is `not_null`'s job), so one missing value is reported once, by the rule
//! meant for it.

pub mod address;
pub mod admin_code;
pub mod allowed;
pub mod certificate;
pub mod codes;
pub mod cx;
pub mod dates;
pub mod doc_zh;
pub mod expr;
pub mod history;
pub mod id_number;
pub mod length;
pub mod message;
pub mod not_null;
pub mod order;
pub mod pattern;
pub mod query;
pub mod range;
pub mod reference;
pub mod region;
pub mod set;
pub mod table;
pub mod trend;
pub mod udf;
pub mod unique;
pub mod workdays;

use datafusion::logical_expr::Expr;
use serde::Deserialize;

use crate::checks::cx::BindCx;
use crate::diagnostic::Code;
use crate::rules::BoundColumn;
use crate::rules::{ColumnType, Spanned};

/// A rule's `check:` as written: the kind is the single key of the mapping.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckDoc {
    NotNull(not_null::NotNull),
    Pattern(pattern::Pattern),
    Allowed(allowed::Allowed),
    Range(range::Range),
    Length(length::Length),
    Order(order::Order),
    Expr(Spanned<String>),
    IdNumber(id_number::kind_check::IdNumber),
    AdminCode(admin_code::kind_check::AdminCode),
    WithinRegion(region::kind_check::WithinRegion),
    Unique(unique::Unique),
    Reference(reference::Reference),
    Query(query::Query),
    History(history::History),
}

impl CheckDoc {
    /// The kind's name as written in packs and shown in summaries.
    pub fn kind(&self) -> &'static str {
        match self {
            CheckDoc::NotNull(_) => "not_null",
            CheckDoc::Pattern(_) => "pattern",
            CheckDoc::Allowed(_) => "allowed",
            CheckDoc::Range(_) => "range",
            CheckDoc::Length(_) => "length",
            CheckDoc::Order(_) => "order",
            CheckDoc::Expr(_) => "expr",
            CheckDoc::IdNumber(_) => "id_number",
            CheckDoc::AdminCode(_) => "admin_code",
            CheckDoc::WithinRegion(_) => "within_region",
            CheckDoc::Unique(_) => "unique",
            CheckDoc::Reference(_) => "reference",
            CheckDoc::Query(_) => "query",
            CheckDoc::History(_) => "history",
        }
    }

    /// Validate against the table and compile to a pass/fail expression. Problems go to
    /// `cx`'s diagnostics; `None` when the check cannot be compiled.
    pub fn bind(&self, cx: &mut BindCx<'_>) -> Option<Expr> {
        match self {
            CheckDoc::NotNull(c) => c.bind(cx),
            CheckDoc::Pattern(c) => c.bind(cx),
            CheckDoc::Allowed(c) => c.bind(cx),
            CheckDoc::Range(c) => c.bind(cx),
            CheckDoc::Length(c) => c.bind(cx),
            CheckDoc::Order(c) => c.bind(cx),
            CheckDoc::Expr(sql) => expr::bind(sql, cx),
            CheckDoc::IdNumber(c) => c.bind(cx),
            CheckDoc::AdminCode(c) => c.bind(cx),
            CheckDoc::WithinRegion(c) => c.bind(cx),
            CheckDoc::Unique(_)
            | CheckDoc::Reference(_)
            | CheckDoc::Query(_)
            | CheckDoc::History(_) => {
                cx.report(crate::diagnostic::Diagnostic::error(
                    Code::Internal,
                    format!(
                        "set-based kind `{}` bound as a row check (a qc bug)",
                        self.kind()
                    ),
                ));
                None
            }
        }
    }

    /// Why a row of the rule named `rule` fails, in Chinese and English, naming the columns
    /// involved (feedback files and reports). Each kind words it by its [`Reason`],
    /// documented with it.
    pub fn reason(&self, rule: &str) -> (String, String) {
        match self {
            CheckDoc::NotNull(c) => c.reason(),
            CheckDoc::Pattern(c) => c.reason(),
            CheckDoc::Allowed(c) => c.reason(),
            CheckDoc::Range(c) => c.reason(),
            CheckDoc::Length(c) => c.reason(),
            CheckDoc::Order(c) => c.reason(),
            CheckDoc::Expr(_) => expr::reason(rule),
            CheckDoc::IdNumber(c) => c.reason(),
            CheckDoc::AdminCode(c) => c.reason(),
            CheckDoc::WithinRegion(c) => c.reason(),
            CheckDoc::Unique(c) => c.reason(),
            CheckDoc::Reference(c) => c.reason(),
            CheckDoc::Query(c) => c.reason(),
            CheckDoc::History(c) => c.reason(),
        }
    }

    /// What the kind shows of a failing row after its reason when the rule has neither
    /// `message` nor `explain`: a value derived from the row that disagrees with another.
    pub fn row_explain(&self, cx: &mut cx::BindCx<'_>) -> Option<datafusion::logical_expr::Expr> {
        match self {
            CheckDoc::IdNumber(c) => c.row_explain(cx),
            _ => None,
        }
    }

    /// Whether the kind is set-based (its verdict on a row depends on other rows).
    pub fn is_set(&self) -> bool {
        matches!(
            self,
            CheckDoc::Unique(_)
                | CheckDoc::Reference(_)
                | CheckDoc::Query(_)
                | CheckDoc::History(_)
        )
    }

    /// Bind a set-based kind (see [`set`]); `None` for row kinds.
    pub async fn bind_set<T>(
        &self,
        at: &Spanned<T>,
        cx: &mut set::SetCx<'_>,
    ) -> Option<set::SetOutcome> {
        Some(match self {
            CheckDoc::Unique(c) => c.bind(at, cx).await,
            CheckDoc::Reference(c) => c.bind(at, cx).await,
            CheckDoc::Query(c) => c.bind(at, cx).await,
            CheckDoc::History(c) => c.bind(at, cx).await,
            _ => return None,
        })
    }
}

/// A kind's anomaly reason: templates in Chinese and English with `{name}` placeholders,
/// documented in the kind's [`KindDoc`] under "## Anomaly reason" as `zh: … · en: …`.
#[derive(Debug, Clone, Copy)]
pub struct Reason {
    pub zh: &'static str,
    pub en: &'static str,
}

impl Reason {
    /// Both templates with each `{name}` replaced by its value.
    pub fn render(&self, values: &[(&str, &str)]) -> (String, String) {
        self.render_each(values, values)
    }

    /// The templates filled with values of their own language.
    pub fn render_each(&self, zh: &[(&str, &str)], en: &[(&str, &str)]) -> (String, String) {
        (fill(self.zh, zh), fill(self.en, en))
    }

    /// How the kind's documentation states it.
    pub fn doc_line(&self) -> String {
        format!("zh: {} · en: {}", self.zh, self.en)
    }
}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_string(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

/// Column names as a reason lists them: `a, b`.
pub fn column_list(columns: &[Spanned<String>]) -> String {
    columns
        .iter()
        .map(|c| c.value.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value written in a pack (a list item or a bound), converted to the column's type.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Scalar {
    /// A literal of `column`'s type, or why the value does not fit it.
    pub fn literal_for(&self, column: &BoundColumn) -> Result<Expr, String> {
        use datafusion::common::ScalarValue;
        let bad = || {
            format!(
                "value `{self}` does not fit column `{}` of type {}",
                column.name, column.ty
            )
        };
        let value = match (column.ty, self) {
            (ColumnType::String, _) => ScalarValue::Utf8(Some(self.to_string())),
            (ColumnType::Int, Scalar::Int(i)) => ScalarValue::Int64(Some(*i)),
            (ColumnType::Int, Scalar::Text(t)) => {
                ScalarValue::Int64(Some(t.trim().parse().map_err(|_| bad())?))
            }
            #[allow(clippy::cast_precision_loss)] // a bound written as an integer
            (ColumnType::Float, Scalar::Int(i)) => ScalarValue::Float64(Some(*i as f64)),
            (ColumnType::Float, Scalar::Float(f)) => ScalarValue::Float64(Some(*f)),
            (ColumnType::Float, Scalar::Text(t)) => {
                ScalarValue::Float64(Some(t.trim().parse().map_err(|_| bad())?))
            }
            (ColumnType::Date, Scalar::Text(t)) => ScalarValue::Date32(Some(
                crate::values::parse_date(t.trim(), &[])
                    .ok_or_else(|| format!("{}; write dates as YYYY-MM-DD", bad()))?,
            )),
            (ColumnType::Timestamp, Scalar::Text(t)) => ScalarValue::TimestampMicrosecond(
                Some(
                    crate::values::parse_timestamp(t.trim(), &[]).ok_or_else(|| {
                        format!("{}; write timestamps as YYYY-MM-DD HH:MM:SS", bad())
                    })?,
                ),
                None,
            ),
            (ColumnType::Bool, Scalar::Bool(b)) => ScalarValue::Boolean(Some(*b)),
            _ => return Err(bad()),
        };
        Ok(Expr::Literal(value, None))
    }
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Text(t) => f.write_str(t),
        }
    }
}

/// Documentation of one kind, shown by `qc check --explain KIND`.
pub struct KindDoc {
    pub kind: &'static str,
    pub text: &'static str,
    /// The same in Chinese (shown by default).
    pub text_zh: &'static str,
    /// The anomaly reason of a row kind (table checks have verdicts, not anomalous rows).
    pub reason: Option<Reason>,
}

/// Every kind's documentation, in the order of the catalogue.
pub const DOCS: &[KindDoc] = &[
    KindDoc {
        kind: "not_null",
        text: not_null::DOC,
        text_zh: doc_zh::NOT_NULL,
        reason: Some(not_null::REASON),
    },
    KindDoc {
        kind: "pattern",
        text: pattern::DOC,
        text_zh: doc_zh::PATTERN,
        reason: Some(pattern::REASON),
    },
    KindDoc {
        kind: "allowed",
        text: allowed::DOC,
        text_zh: doc_zh::ALLOWED,
        reason: Some(allowed::REASON),
    },
    KindDoc {
        kind: "range",
        text: range::DOC,
        text_zh: doc_zh::RANGE,
        reason: Some(range::REASON),
    },
    KindDoc {
        kind: "length",
        text: length::DOC,
        text_zh: doc_zh::LENGTH,
        reason: Some(length::REASON),
    },
    KindDoc {
        kind: "order",
        text: order::DOC,
        text_zh: doc_zh::ORDER,
        reason: Some(order::REASON),
    },
    KindDoc {
        kind: "expr",
        text: expr::DOC,
        text_zh: doc_zh::EXPR,
        reason: Some(expr::REASON),
    },
    KindDoc {
        kind: "id_number",
        text: id_number::kind_check::DOC,
        text_zh: doc_zh::ID_NUMBER,
        reason: Some(id_number::kind_check::REASON),
    },
    KindDoc {
        kind: "admin_code",
        text: admin_code::kind_check::DOC,
        text_zh: doc_zh::ADMIN_CODE,
        reason: Some(admin_code::kind_check::REASON),
    },
    KindDoc {
        kind: "within_region",
        text: region::kind_check::DOC,
        text_zh: doc_zh::WITHIN_REGION,
        reason: Some(region::kind_check::REASON),
    },
    KindDoc {
        kind: "unique",
        text: unique::DOC,
        text_zh: doc_zh::UNIQUE,
        reason: Some(unique::REASON),
    },
    KindDoc {
        kind: "reference",
        text: reference::DOC,
        text_zh: doc_zh::REFERENCE,
        reason: Some(reference::REASON),
    },
    KindDoc {
        kind: "query",
        text: query::DOC,
        text_zh: doc_zh::QUERY,
        reason: Some(query::REASON),
    },
    KindDoc {
        kind: "history",
        text: history::DOC,
        text_zh: doc_zh::HISTORY,
        reason: Some(history::REASON),
    },
    KindDoc {
        kind: "table_checks",
        text: table::DOC,
        text_zh: doc_zh::TABLE_CHECKS,
        reason: None,
    },
];

/// Whether `c`'s value is one of its `null_like` placeholders (trimmed of blanks); `None`
/// when the column declares none.
pub fn placeholder(c: &BoundColumn) -> Option<Expr> {
    use datafusion::functions::string::expr_fn::btrim;
    use datafusion::logical_expr::{ident, lit};
    if c.null_like.is_empty() {
        return None;
    }
    let list = c.null_like.iter().map(|v| lit(v.as_str())).collect();
    Some(btrim(vec![ident(&c.name), lit(not_null::BLANK_CHARS)]).in_list(list, false))
}

/// `expr` reading every column that declares `null_like` placeholders as NULL where it holds
/// one: a placeholder is missing to every rule (`not_null` fails it, other checks pass it),
/// while exports still show the value as written.
pub fn placeholders_as_null(
    expr: Expr,
    columns: &[BoundColumn],
) -> datafusion::error::Result<Expr> {
    use datafusion::common::ScalarValue;
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::logical_expr::{lit, when};
    if columns.iter().all(|c| c.null_like.is_empty()) {
        return Ok(expr);
    }
    expr.transform(|e| {
        let Expr::Column(col) = &e else {
            return Ok(Transformed::no(e));
        };
        let Some(c) = columns.iter().find(|c| c.name == col.name) else {
            return Ok(Transformed::no(e));
        };
        let Some(is_placeholder) = placeholder(c) else {
            return Ok(Transformed::no(e));
        };
        let null = lit(ScalarValue::try_from(&c.arrow)?);
        Ok(Transformed::yes(when(is_placeholder, null).otherwise(e)?))
    })
    .map(|t| t.data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_documents_the_fixed_headings() {
        for doc in DOCS {
            for heading in [
                "## What it checks",
                "## NULL",
                "## Parameters",
                "## Example",
                "## Anomaly reason",
            ] {
                assert!(doc.text.contains(heading), "{} lacks {heading}", doc.kind);
            }
            for heading in [
                "## 检查内容",
                "## 空值",
                "## 参数",
                "## 示例",
                "## 问题说明",
            ] {
                assert!(
                    doc.text_zh.contains(heading),
                    "{} (zh) lacks {heading}",
                    doc.kind
                );
            }
        }
    }

    /// The Chinese text of a kind shows the English one's example, word for word, and words
    /// the anomaly reason as the code does.
    #[test]
    fn the_chinese_documentation_follows_the_english() {
        let example = |text: &str| {
            text.split("```yaml\n")
                .nth(1)
                .and_then(|rest| rest.split("```").next())
                .map(str::to_string)
        };
        for doc in DOCS {
            assert!(
                doc.text_zh.starts_with(&format!("# {}（", doc.kind)),
                "{}: the Chinese text is another kind's",
                doc.kind
            );
            assert_eq!(
                example(doc.text_zh),
                example(doc.text),
                "{}: the examples differ",
                doc.kind
            );
            if let Some(reason) = doc.reason {
                let section = doc
                    .text_zh
                    .split("## 问题说明\n")
                    .nth(1)
                    .unwrap_or_default();
                assert_eq!(
                    section.lines().next(),
                    Some(reason.zh),
                    "{}: the Chinese reason differs from the code's",
                    doc.kind
                );
            }
        }
    }

    /// The `check:` of a kind's documented example, parsed as a pack would parse it.
    fn example_check(doc: &KindDoc) -> CheckDoc {
        let example = doc
            .text
            .split("```yaml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .unwrap_or_else(|| panic!("{} has no YAML example", doc.kind));
        // `check:` on its own line, then the check; or `check: { … }` on one line.
        let after = example
            .split_once("check:")
            .map_or(example, |(_, c)| c)
            .trim_start_matches([' ', '\n']);
        let indent = after
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        let check = after
            .lines()
            .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
            .collect::<Vec<_>>()
            .join("\n");
        serde_saphyr::from_str(&check)
            .unwrap_or_else(|e| panic!("{}'s example does not parse: {e}\n{check}", doc.kind))
    }

    #[test]
    fn the_documented_reason_is_the_one_rendered() {
        for doc in DOCS.iter().filter(|d| d.kind != "table_checks") {
            let reason = doc
                .reason
                .unwrap_or_else(|| panic!("{} has no reason", doc.kind));
            let section = doc
                .text
                .split("## Anomaly reason\n")
                .nth(1)
                .unwrap_or_default();
            assert_eq!(
                section.lines().next(),
                Some(reason.doc_line().as_str()),
                "{}: documentation and code word the reason differently",
                doc.kind
            );
            let check = example_check(doc);
            assert_eq!(check.kind(), doc.kind);
            let (zh, en) = check.reason("示例规则");
            for (template, text) in [(reason.zh, &zh), (reason.en, &en)] {
                for name in template
                    .split('{')
                    .skip(1)
                    .filter_map(|s| s.split_once('}'))
                {
                    let placeholder = format!("{{{}}}", name.0);
                    assert!(
                        !text.contains(&placeholder),
                        "{}: {placeholder} is left unfilled in `{text}`",
                        doc.kind
                    );
                }
            }
            // The fixed words of each template survive rendering.
            for (template, text) in [(reason.zh, &zh), (reason.en, &en)] {
                for word in template.split(['{', '}']).step_by(2) {
                    assert!(
                        text.contains(word.trim()),
                        "{}: `{word}` not in `{text}`",
                        doc.kind
                    );
                }
            }
        }
    }
}
