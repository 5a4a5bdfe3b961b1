//! Rule SQL (`expr` checks and `when` preconditions): accepted as a boolean expression over
//! one row of one table, and nothing else.
//!
//! Rejected: statements of any kind (DDL, DML, COPY, CREATE EXTERNAL TABLE, SET, …),
//! subqueries (the only way an expression could name another table or a table function),
//! aggregate and window functions (a row rule sees one row), placeholders, aliases.
//! DataFusion's scalar functions read no files and reach no network, so an expression that
//! passes these checks can only compute over the row's own values.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{DFSchema, DataFusionError, SchemaError};
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Expr, ExprSchemable};
use datafusion::sql::parser::DFParser;

use crate::diagnostic::{Code, position};
use datafusion::sql::sqlparser::ast::{
    self, Spanned as _, visit_expressions, visit_expressions_mut,
};
use std::ops::ControlFlow;

/// The catalogue rule SQL names tables in: each library is a schema of it, so a table is
/// `library.table` in SQL (`qc.library.table` in full).
pub const CATALOG: &str = "qc";

/// Why rule SQL was refused, with the position inside the SQL text when known.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlProblem {
    pub code: Code,
    pub message: String,
    pub help: Option<String>,
    /// 1-based (line, column) inside the SQL text.
    pub position: Option<(usize, usize)>,
    /// The unknown column, for `unknown-column`.
    pub column: Option<String>,
}

impl SqlProblem {
    fn new(code: Code, message: impl Into<String>) -> Self {
        SqlProblem {
            code,
            message: message.into(),
            help: None,
            position: None,
            column: None,
        }
    }
}

const STATEMENT_KEYWORDS: [&str; 22] = [
    "SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER", "TRUNCATE",
    "COPY", "SET", "RESET", "SHOW", "EXPLAIN", "DESCRIBE", "ATTACH", "DETACH", "INSTALL", "LOAD",
    "PRAGMA", "GRANT",
];

/// `sql` with each identifier that names a role (a template's column name, see
/// [`crate::bind`]) replaced by the table's column for it; `sql` as it is when it does not
/// parse (compiling it reports why) or names no role.
pub fn with_roles(sql: &str, roles: &std::collections::BTreeMap<String, String>) -> String {
    if roles.is_empty() {
        return sql.to_string();
    }
    let Ok(mut parsed) = DFParser::parse_sql_into_expr(sql) else {
        return sql.to_string();
    };
    let mut renamed = false;
    let _ = visit_expressions_mut(&mut parsed.expr, |e| {
        if let ast::Expr::Identifier(id) = e
            && let Some(column) = roles.get(&id.value)
        {
            *id = ast::Ident::with_quote('"', column.clone());
            renamed = true;
        }
        ControlFlow::<()>::Continue(())
    });
    if renamed {
        parsed.expr.to_string()
    } else {
        sql.to_string()
    }
}

/// Compile `sql` into a boolean expression over `schema`. Returns the expression and the
/// columns it reads.
pub fn compile_row_expr(
    sql: &str,
    state: &SessionState,
    schema: &DFSchema,
) -> Result<(Expr, Vec<String>), SqlProblem> {
    let (expr, columns, ty) = compile(sql, state, schema, false)?;
    match ty {
        arrow::datatypes::DataType::Boolean | arrow::datatypes::DataType::Null => {
            Ok((expr, columns))
        }
        other => Err(SqlProblem::new(
            Code::TypeMismatch,
            format!("rule SQL must be a boolean condition, but this expression is of type {other}"),
        )),
    }
}

/// Compile `sql` into an expression of any type over `schema` (a rule's `explain`). Returns
/// the expression and the columns it reads.
pub fn compile_row_value(
    sql: &str,
    state: &SessionState,
    schema: &DFSchema,
) -> Result<(Expr, Vec<String>), SqlProblem> {
    compile(sql, state, schema, false).map(|(expr, columns, _)| (expr, columns))
}

/// Compile `sql` into a number aggregated over a group of rows (a `metric`'s value): it
/// must aggregate (`count(*)`, `avg(…)`, …), and read other columns only as `group_by`
/// columns, outside its aggregates.
pub fn compile_group_value(
    sql: &str,
    state: &SessionState,
    schema: &DFSchema,
    group_by: &[String],
) -> Result<Expr, SqlProblem> {
    let (expr, outside, ty) = compile(sql, state, schema, true)?;
    let mut aggregates = false;
    let _ = expr.apply(|e| {
        aggregates |= matches!(e, Expr::AggregateFunction(_));
        Ok(if aggregates {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    if !aggregates {
        return Err(SqlProblem::new(
            Code::InvalidSql,
            "a metric's value aggregates the rows of a group: use count(*), sum, avg, min, max, …",
        ));
    }
    if let Some(c) = outside.iter().find(|c| !group_by.contains(c)) {
        return Err(SqlProblem {
            help: Some(format!(
                "aggregate it (e.g. max({c})), or add it to `group_by`"
            )),
            ..SqlProblem::new(
                Code::InvalidSql,
                format!("`{c}` is read outside an aggregate but is not a `group_by` column"),
            )
        });
    }
    if !(ty.is_numeric() || ty == arrow::datatypes::DataType::Null) {
        return Err(SqlProblem::new(
            Code::TypeMismatch,
            format!("a metric's value must be a number, but this expression is of type {ty}"),
        ));
    }
    Ok(expr)
}

/// Compile `sql` over `schema`: the expression, the columns it reads (outside aggregate
/// functions, which only `aggregates` allows) and its type.
fn compile(
    sql: &str,
    state: &SessionState,
    schema: &DFSchema,
    aggregates: bool,
) -> Result<(Expr, Vec<String>, arrow::datatypes::DataType), SqlProblem> {
    let trimmed = sql.trim_start();
    let first_word: String = trimmed
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_uppercase();
    if trimmed.contains(';') || STATEMENT_KEYWORDS.contains(&first_word.as_str()) {
        return Err(SqlProblem {
            help: Some(
                "write a condition on the row's columns, e.g. `death_date >= birth_date`".into(),
            ),
            ..SqlProblem::new(
                Code::ForbiddenSql,
                "rule SQL must be one boolean expression over the row, not a statement",
            )
        });
    }
    let parsed = DFParser::parse_sql_into_expr(sql).map_err(|e| sql_problem(&e))?;
    // Subqueries are refused on the syntax tree, before planning looks any table up.
    let mut subquery = None;
    let _ = visit_expressions(&parsed.expr, |e| {
        if matches!(
            e,
            ast::Expr::Subquery(_) | ast::Expr::Exists { .. } | ast::Expr::InSubquery { .. }
        ) {
            subquery = Some(e.span());
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    if let Some(span) = subquery {
        return Err(SqlProblem {
            position: (span.start.line > 0).then_some(position(span.start.line, span.start.column)),
            ..SqlProblem::new(
                Code::ForbiddenSql,
                "rule SQL may not use a subquery: a rule sees one row of its own table",
            )
        });
    }
    if parsed.alias.is_some() {
        return Err(SqlProblem::new(
            Code::ForbiddenSql,
            "rule SQL may not name an alias (`AS`)",
        ));
    }
    let expr = state
        .create_logical_expr_from_sql_expr(parsed, schema)
        .map_err(|e| sql_problem(&e))?;

    let mut problem = None;
    let mut columns = Vec::new();
    let _ = expr.apply(|e| {
        let forbidden = match e {
            Expr::ScalarSubquery(_)
            | Expr::Exists(_)
            | Expr::InSubquery(_)
            | Expr::SetComparison(_) => Some("a subquery"),
            Expr::AggregateFunction(_) if aggregates => return Ok(TreeNodeRecursion::Jump),
            Expr::AggregateFunction(_) => Some("an aggregate function"),
            Expr::WindowFunction(_) => Some("a window function"),
            Expr::Placeholder(_) => Some("a placeholder"),
            Expr::OuterReferenceColumn(..) => Some("an outer reference"),
            #[allow(deprecated)]
            Expr::Wildcard { .. } => Some("`*`"),
            Expr::Unnest(_) => Some("UNNEST"),
            Expr::ScalarVariable(..) => Some("a session variable"),
            Expr::GroupingSet(_) => Some("a grouping set"),
            Expr::Column(c) => {
                if !columns.contains(&c.name) {
                    columns.push(c.name.clone());
                }
                None
            }
            _ => None,
        };
        if let Some(what) = forbidden {
            problem = Some(SqlProblem::new(
                Code::ForbiddenSql,
                format!("rule SQL may not use {what}: a rule sees one row of its own table"),
            ));
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    if let Some(p) = problem {
        return Err(p);
    }
    match expr.get_type(schema) {
        Ok(ty) => Ok((expr, columns, ty)),
        Err(e) => Err(sql_problem(&e)),
    }
}

fn sql_problem(e: &DataFusionError) -> SqlProblem {
    let position = e
        .diagnostic()
        .and_then(|d| d.span)
        .and_then(|s| (s.start.line > 0).then_some(position(s.start.line, s.start.column)));
    if let DataFusionError::SchemaError(err, _) = e.find_root()
        && let SchemaError::FieldNotFound { field, .. } = err.as_ref()
    {
        return SqlProblem {
            position,
            column: Some(field.name.clone()),
            ..SqlProblem::new(
                Code::UnknownColumn,
                format!("unknown column `{}`", field.name),
            )
        };
    }
    let message = e.find_root().strip_backtrace();
    let message = message
        .trim_start_matches("SQL error: ")
        .trim_start_matches("Error during planning: ")
        .trim_start_matches("ParserError(\"")
        .trim_end_matches("\")")
        .to_string();
    // sqlparser puts the position in the message: point there instead of repeating it.
    let (message, position) = match message.rfind(" at Line: ") {
        Some(i) if position.is_none() => {
            let nums: Vec<usize> = message[i..]
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse().ok())
                .collect();
            let pos = (nums.len() == 2).then(|| (nums[0], nums[1]));
            (message[..i].to_string(), pos)
        }
        _ => (message, position),
    };
    SqlProblem {
        position,
        ..SqlProblem::new(Code::InvalidSql, format!("invalid SQL: {message}"))
    }
}
