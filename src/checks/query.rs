//! `query`: a read-only SELECT over the run's tables returns the keys of anomalous rows.
//! The general mechanism for cross-row and cross-library rules.

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SQLOptions;
use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::Statement;
use serde::Deserialize;

use super::set::{KeyUnit, SetCheck, SetCx, SetOutcome, Stop};
use crate::checks::Reason;
use crate::diagnostic::Code;
use crate::rules::Spanned;

pub const DOC: &str = "\
# query

## What it checks
A read-only SQL `SELECT` over the tables of the run (named `library.table`, tables of other
packs included) returns the key values of this table's anomalous rows: a row fails when its
`on` columns (default: the table's key) equal a returned tuple. The SELECT returns exactly
as many columns as `on` names, in that order. This is how cross-row rules (two marriages of
one person overlapping) and cross-library rules (a marriage registered after a party's
death) are written.

Only one SELECT (WITH allowed) is accepted: no DDL, DML, COPY, SET, CREATE EXTERNAL TABLE,
no table functions, and only tables declared in the run's packs. If a table's pack sits
beside this pack but is not part of the run, the rule is skipped with a notice.

## NULL
Rows with NULL in any `on` column are not applicable. NULL tuples returned by the query
match nothing.

## Parameters
- `sql`: the SELECT;
- `on`: the columns of this table its result is matched against (default: the table's key).

## Example
```yaml
check:
  query:
    on: [reg_id]
    sql: >-
      SELECT r.reg_id FROM marriage.registration r
      JOIN death.record d ON d.id_no = r.male_id
      WHERE d.death_date < r.reg_date
```

## Anomaly reason
zh: 命中规则查询（见规则说明） · en: returned by the rule's query (see the rule's description)
";

/// Why a row fails (documented above under "Anomaly reason").
pub const REASON: Reason = Reason {
    zh: "命中规则查询（见规则说明）",
    en: "returned by the rule's query (see the rule's description)",
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    pub sql: Spanned<String>,
    #[serde(default)]
    pub on: Option<Vec<Spanned<String>>>,
}

impl Query {
    /// Why a row fails, in Chinese and English.
    pub fn reason(&self) -> (String, String) {
        REASON.render(&[])
    }

    pub async fn bind<T>(&self, at: &Spanned<T>, cx: &mut SetCx<'_>) -> SetOutcome {
        match self.try_bind(at, cx).await {
            Ok(check) => SetOutcome::Bound(Box::new(check)),
            Err(stop) => stop.into(),
        }
    }

    async fn try_bind<T>(&self, at: &Spanned<T>, cx: &mut SetCx<'_>) -> Result<SetCheck, Stop> {
        let on = match &self.on {
            Some(names) => cx.own_columns(names).ok_or(Stop::Reported)?,
            None => cx.key_columns(),
        };
        let state = cx.ctx.state();
        let sql = &self.sql;
        if DFParser::parse_sql(&sql.value).is_ok_and(|statements| statements.len() > 1) {
            cx.error(
                Code::ForbiddenSql,
                sql,
                "a `query` rule must be one SELECT, not several statements",
            );
            return Err(Stop::Reported);
        }
        let statement =
            match state.sql_to_statement(&sql.value, &datafusion::config::Dialect::Generic) {
                Ok(s) => s,
                Err(e) => {
                    let message = e.strip_backtrace();
                    cx.error(
                        Code::InvalidSql,
                        sql,
                        message.lines().next().unwrap_or_default().to_string(),
                    );
                    return Err(Stop::Reported);
                }
            };
        if !matches!(&statement, DfStatement::Statement(s) if matches!(**s, Statement::Query(_))) {
            cx.error(
                Code::ForbiddenSql,
                sql,
                "a `query` rule must be one read-only SELECT (DDL, DML, COPY and other statements are refused)",
            );
            return Err(Stop::Reported);
        }
        let references = match state.resolve_table_references(&statement) {
            Ok(r) => r,
            Err(e) => {
                cx.error(Code::InvalidSql, sql, e.strip_backtrace());
                return Err(Stop::Reported);
            }
        };
        let mut reads = Vec::new();
        for r in references {
            let name = match (r.catalog(), r.schema()) {
                (Some(c), Some(s)) if c == crate::rules::sql::CATALOG => {
                    format!("{s}.{}", r.table())
                }
                (None, Some(s)) => format!("{s}.{}", r.table()),
                _ => r.to_string(),
            };
            let (resolved, _) = cx.resolve_table(&name, sql)?;
            if resolved != *cx.table && !reads.contains(&resolved) {
                reads.push(resolved);
            }
        }
        let plan = match state.statement_to_plan(statement).await {
            Ok(p) => p,
            Err(e) => return Err(cx.engine_error(sql, &e)),
        };
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        if let Err(e) = options.verify_plan(&plan) {
            cx.error(Code::ForbiddenSql, sql, e.strip_backtrace());
            return Err(Stop::Reported);
        }
        if let Some(scan) = foreign_scan(&plan, cx) {
            cx.error(
                Code::ForbiddenSql,
                sql,
                format!("`{scan}` is not a table of the run's packs (table functions are refused)"),
            );
            return Err(Stop::Reported);
        }
        let width = plan.schema().fields().len();
        if width != on.len() {
            let names: Vec<&str> = on.iter().map(|c| c.name.as_str()).collect();
            cx.error(
                Code::QueryShape,
                sql,
                format!(
                    "the query returns {width} column(s); it must return {} to match on [{}]",
                    on.len(),
                    names.join(", ")
                ),
            );
            return Err(Stop::Reported);
        }
        for (field, c) in plan.schema().fields().iter().zip(&on) {
            let target = c.ty.arrow_type();
            if !arrow::compute::can_cast_types(field.data_type(), &target) {
                cx.error(
                    Code::TypeMismatch,
                    sql,
                    format!(
                        "query column `{}` ({}) cannot be matched with `{}` ({})",
                        field.name(),
                        field.data_type(),
                        c.name,
                        c.ty
                    ),
                );
                return Err(Stop::Reported);
            }
        }
        let distinct = DataFrame::new(state, plan)
            .distinct()
            .map_err(|e| cx.engine_error(at, &e))?;
        Ok(SetCheck {
            native: None,
            on,
            keys: distinct.logical_plan().clone(),
            unit: KeyUnit::ReturnedKey,
            reads,
            partial: None,
        })
    }
}

/// The first table scan of `plan` that is not a table of the run, if any.
fn foreign_scan(plan: &LogicalPlan, cx: &SetCx<'_>) -> Option<String> {
    let mut found = None;
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            let name = match (scan.table_name.schema(), scan.table_name.table()) {
                (Some(s), t) => format!("{s}.{t}"),
                (None, t) => t.to_string(),
            };
            if !cx.run.tables.contains_key(&name) {
                found = Some(scan.table_name.to_string());
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}
