//! `expr`: a boolean SQL expression over the row must hold (DataFusion's SQL dialect).
//! The same compiler serves rules' `when` preconditions.

use datafusion::logical_expr::Expr;

use super::cx::{BindCx, unknown_column};
use crate::checks::Reason;
use crate::diagnostic::Diagnostic;
use crate::rules::Spanned;
use crate::rules::sql::compile_row_expr;

pub const DOC: &str = "\
# expr

## What it checks
A boolean SQL expression over the row's columns holds (DataFusion's SQL dialect: comparisons,
`AND`/`OR`/`NOT`, `CASE`, `IN`, `LIKE`, string, date and math functions). It is an
expression, not a query: statements (DDL, DML, COPY, …), subqueries, table functions,
aggregate and window functions are refused by `qc check`.

## NULL
Like a SQL CHECK constraint: an expression that evaluates to NULL passes; only FALSE fails.
Write `x IS NOT NULL AND …` to make NULL fail.

## Parameters
The SQL text itself: `expr: \"<condition>\"`.

## Example
```yaml
check:
  expr: \"death_date >= birth_date OR birth_date IS NULL\"
```

## Anomaly reason
zh: 不满足「{name}」 · en: does not hold: {name}
The rule's name, not its SQL: feedback files go to data providers, who do not read SQL.
Give the rule a `message` to say, per row, which values disagree.
";

/// Why a row fails (documented above under "Anomaly reason").
pub const REASON: Reason = Reason {
    zh: "不满足「{name}」",
    en: "does not hold: {name}",
};

/// Why a row of the rule named `name` fails, in Chinese and English.
pub fn reason(name: &str) -> (String, String) {
    REASON.render(&[("name", name)])
}

pub fn bind(sql: &Spanned<String>, cx: &mut BindCx<'_>) -> Option<Expr> {
    bind_boolean(sql, "expr", cx)
}

/// Compile rule SQL (`expr` or `when`), reporting problems at their spot in the pack.
pub fn bind_boolean(sql: &Spanned<String>, what: &str, cx: &mut BindCx<'_>) -> Option<Expr> {
    bind_sql(sql, what, cx, compile_row_expr)
}

/// Compile a rule's `explain` (SQL of any type, shown as text), reporting problems at their
/// spot in the pack.
pub fn bind_text(sql: &Spanned<String>, cx: &mut BindCx<'_>) -> Option<Expr> {
    bind_sql(sql, "explain", cx, crate::rules::sql::compile_row_value)
        .map(|e| datafusion::logical_expr::cast(e, arrow::datatypes::DataType::Utf8))
}

/// Compile a `metric`'s value (aggregate SQL over a group of rows), reporting problems at
/// their spot in the pack.
pub fn bind_group_value(
    sql: &Spanned<String>,
    group_by: &[String],
    cx: &mut BindCx<'_>,
) -> Option<Expr> {
    bind_sql(sql, "value", cx, |text, state, schema| {
        crate::rules::sql::compile_group_value(text, state, schema, group_by)
            .map(|e| (e, Vec::new()))
    })
}

fn bind_sql(
    sql: &Spanned<String>,
    what: &str,
    cx: &mut BindCx<'_>,
    compile: impl FnOnce(
        &str,
        &datafusion::execution::SessionState,
        &datafusion::common::DFSchema,
    ) -> Result<(Expr, Vec<String>), crate::rules::sql::SqlProblem>,
) -> Option<Expr> {
    let text = crate::rules::sql::with_roles(&sql.value, &cx.roles);
    match compile(&text, cx.state, cx.df_schema) {
        Ok((expr, columns)) => {
            for c in &columns {
                cx.note_read(c);
            }
            Some(expr)
        }
        Err(p) => {
            let base = cx.span(sql);
            // Point inside the SQL when it sits on the YAML line itself (plain or quoted scalar).
            let span = match p.position {
                Some((1, col)) if !sql.value.contains('\n') => {
                    let quoted = base.len > sql.value.chars().count();
                    let width = p.column.as_ref().map_or(1, |c| c.chars().count());
                    base.shifted(col - 1 + usize::from(quoted), width)
                }
                _ => base,
            };
            report_problem(p, what, span, cx);
            None
        }
    }
}

/// Report a problem of rule SQL (`what`: where the SQL stands, e.g. `when`) at `span`: an
/// unknown column with its suggestion, anything else with its help.
pub fn report_problem(
    p: crate::rules::sql::SqlProblem,
    what: &str,
    span: crate::diagnostic::Span,
    cx: &mut BindCx<'_>,
) {
    let d = if let Some(name) = &p.column {
        unknown_column(name, cx.columns, span)
    } else {
        let mut d = Diagnostic::error(p.code, format!("{what}: {}", p.message)).at(span);
        if let Some(h) = p.help {
            d = d.help(h);
        }
        d
    };
    cx.report(d);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_is_named_by_its_rule() {
        let (zh, en) = reason("离婚登记在申请受理后 60 日内");
        assert_eq!(zh, "不满足「离婚登记在申请受理后 60 日内」");
        assert_eq!(en, "does not hold: 离婚登记在申请受理后 60 日内");
    }
}
