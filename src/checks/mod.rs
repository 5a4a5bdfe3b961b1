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
pub mod dates;
pub mod expr;
pub mod id_number;
pub mod length;
pub mod not_null;
pub mod order;
pub mod pattern;
pub mod query;
pub mod range;
pub mod reference;
pub mod region;
pub mod set;
pub mod table;
pub mod udf;
pub mod unique;

use datafusion::logical_expr::Expr;
use serde::Deserialize;

use crate::rules::bind::{BindCx, BoundColumn};
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
            CheckDoc::Unique(_) | CheckDoc::Reference(_) | CheckDoc::Query(_) => {
                cx.report(crate::diagnostic::Diagnostic::error(
                    "internal",
                    format!(
                        "set-based kind `{}` bound as a row check (a qc bug)",
                        self.kind()
                    ),
                ));
                None
            }
        }
    }

    /// Why a row fails, in Chinese and English, naming the columns involved (feedback
    /// files and reports).
    pub fn reason(&self) -> (String, String) {
        let list = |cols: &[Spanned<String>]| {
            cols.iter()
                .map(|c| c.value.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            CheckDoc::NotNull(c) => (
                format!("{} 为空", c.column.value),
                format!("{} is empty", c.column.value),
            ),
            CheckDoc::Pattern(c) => (
                format!("{} 格式不符合要求", c.column.value),
                format!("{} does not have the required format", c.column.value),
            ),
            CheckDoc::Allowed(c) => (
                format!("{} 不在允许的取值中", c.column.value),
                format!("{} is not an allowed value", c.column.value),
            ),
            CheckDoc::Range(c) => (
                format!("{} 超出允许范围", c.column.value),
                format!("{} is out of range", c.column.value),
            ),
            CheckDoc::Length(c) => (
                format!("{} 长度不符合要求", c.column.value),
                format!("{} has the wrong length", c.column.value),
            ),
            CheckDoc::Order(c) => (
                format!("{} 与 {} 的先后关系不符", c.left.value, c.right.value),
                format!("{} and {} are out of order", c.left.value, c.right.value),
            ),
            CheckDoc::Expr(sql) => {
                let sql = sql.value.split_whitespace().collect::<Vec<_>>().join(" ");
                (
                    format!("不满足条件：{sql}"),
                    format!("condition does not hold: {sql}"),
                )
            }
            CheckDoc::IdNumber(c) => (
                format!("{} 身份证号校验不通过", c.column.value),
                format!("{} fails the ID-number check", c.column.value),
            ),
            CheckDoc::AdminCode(c) => (
                format!("{} 不是有效的行政区划代码", c.column.value),
                format!("{} is not a valid division code", c.column.value),
            ),
            CheckDoc::WithinRegion(c) => (
                format!(
                    "坐标（{}, {}）不在 {} 所填区范围内",
                    c.longitude.value, c.latitude.value, c.district.value
                ),
                format!(
                    "point ({}, {}) lies outside the district in {}",
                    c.longitude.value, c.latitude.value, c.district.value
                ),
            ),
            CheckDoc::Unique(c) => (
                format!("{} 重复", list(&c.columns)),
                format!("duplicate {}", list(&c.columns)),
            ),
            CheckDoc::Reference(c) => (
                format!("{} 在 {} 中不存在", list(&c.columns), c.table.value),
                format!("{} not found in {}", list(&c.columns), c.table.value),
            ),
            CheckDoc::Query(_) => (
                "命中规则查询（见规则说明）".to_string(),
                "returned by the rule's query (see the rule's description)".to_string(),
            ),
        }
    }

    /// Whether the kind is set-based (its verdict on a row depends on other rows).
    pub fn is_set(&self) -> bool {
        matches!(
            self,
            CheckDoc::Unique(_) | CheckDoc::Reference(_) | CheckDoc::Query(_)
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
            _ => return None,
        })
    }
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
                crate::scan::values::parse_date(t.trim(), None)
                    .ok_or_else(|| format!("{}; write dates as YYYY-MM-DD", bad()))?,
            )),
            (ColumnType::Timestamp, Scalar::Text(t)) => ScalarValue::TimestampMicrosecond(
                Some(
                    crate::scan::values::parse_timestamp(t.trim(), None).ok_or_else(|| {
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
}

/// Every kind's documentation, in the order of the catalogue.
pub const DOCS: [KindDoc; 14] = [
    KindDoc {
        kind: "not_null",
        text: not_null::DOC,
    },
    KindDoc {
        kind: "pattern",
        text: pattern::DOC,
    },
    KindDoc {
        kind: "allowed",
        text: allowed::DOC,
    },
    KindDoc {
        kind: "range",
        text: range::DOC,
    },
    KindDoc {
        kind: "length",
        text: length::DOC,
    },
    KindDoc {
        kind: "order",
        text: order::DOC,
    },
    KindDoc {
        kind: "expr",
        text: expr::DOC,
    },
    KindDoc {
        kind: "id_number",
        text: id_number::kind_check::DOC,
    },
    KindDoc {
        kind: "admin_code",
        text: admin_code::kind_check::DOC,
    },
    KindDoc {
        kind: "within_region",
        text: region::kind_check::DOC,
    },
    KindDoc {
        kind: "unique",
        text: unique::DOC,
    },
    KindDoc {
        kind: "reference",
        text: reference::DOC,
    },
    KindDoc {
        kind: "query",
        text: query::DOC,
    },
    KindDoc {
        kind: "table_checks",
        text: table::DOC,
    },
];

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
        }
    }
}
