//! Fuse all row-level rules of a table into one projection (scan sharing: one pass, however
//! many rules).

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, ident, lit, when};

use crate::bind::{BoundRule, BoundTable, RuleCheck};
use crate::error::{Error, Result};
use crate::rules::source::SourceFormat;
use crate::scan;

/// Name of rule `i`'s output column in the fused projection.
pub fn rule_column(i: usize) -> String {
    format!("{}rule_{i}", scan::META_PREFIX)
}

/// Name of rule `i`'s explanation column in the fused projection.
pub fn explain_column(i: usize) -> String {
    format!("{}explain_{i}", scan::META_PREFIX)
}

/// Where each part of a projected batch sits.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Data columns carried to anomaly exports: keys first, then the provider, then the
    /// columns the rules read (each once).
    pub data: Vec<String>,
    pub key: Vec<usize>,
    pub provider: Option<usize>,
    /// Where each row is, when the scan says: positions of its file and of its line (CSV)
    /// or row number (Parquet).
    pub location: Option<Location>,
    /// CSV only: positions of the parse error, its detail and the record's text.
    pub parse: Option<[usize; 3]>,
    /// Position of the first rule column; rule `i` is at `rules_start + i`.
    pub rules_start: usize,
    /// Rules with an `explain`: (rule index, position of its text, NULL where the row
    /// passes), after the rule columns.
    pub explain: Vec<(usize, usize)>,
}

/// Positions of a row's file and place in it.
#[derive(Debug, Clone, Copy)]
pub struct Location {
    pub file: usize,
    pub at: usize,
    /// Whether `at` is a CSV record's first line (else a Parquet row number).
    pub is_line: bool,
}

#[derive(Debug)]
pub struct TablePlan {
    pub rules: Vec<BoundRule>,
    pub projection: Vec<Expr>,
    pub layout: Layout,
    /// The source columns the scan must produce.
    pub needed: Vec<String>,
}

/// Compile a table's rules into one fused projection. `located`: the scan gives each Parquet
/// row's file and row number (the CSV scan always gives file and line). When rule `i` is set-based,
/// `anomalous[i]` is the row expression that is true when the row's tuple is one of the
/// rule's anomalous tuples (the engine's: a [`keyset::in_set`](super::keyset::in_set) test
/// locally, a join's match marker on a cluster).
pub fn compile(table: &BoundTable, anomalous: &[Option<Expr>], located: bool) -> Result<TablePlan> {
    let mut data: Vec<String> = Vec::new();
    let mut push = |name: &str| {
        if !data.iter().any(|d| d == name) {
            data.push(name.to_string());
        }
    };
    for k in &table.key {
        push(k);
    }
    if let Some(p) = &table.provider {
        push(p);
    }
    // Rule columns in table order, so exports read like the source.
    for c in &table.columns {
        if table.rules.iter().any(|r| r.columns.contains(&c.name)) {
            push(&c.name);
        }
    }
    let key = (0..table.key.len()).collect();
    let provider = table
        .provider
        .as_ref()
        .and_then(|p| data.iter().position(|d| d == p));

    let mut projection: Vec<Expr> = data.iter().map(ident).collect();
    let is_csv = matches!(table.source.format, SourceFormat::Csv(_));
    let location = (is_csv || located).then(|| {
        let file = projection.len();
        projection.push(ident(scan::META_FILE));
        projection.push(ident(scan::META_LINE));
        Location {
            file,
            at: file + 1,
            is_line: is_csv,
        }
    });
    let parse = is_csv.then(|| {
        let start = projection.len();
        for m in [scan::META_ERROR, scan::META_DETAIL, scan::META_RAW] {
            projection.push(ident(m));
        }
        [start, start + 1, start + 2]
    });
    let rules_start = projection.len();
    let mut explained = Vec::new();
    for (i, rule) in table.rules.iter().enumerate() {
        let (passed, condition) = match &rule.check {
            RuleCheck::Row(expr) => (
                expr.clone().is_not_false(),
                rule.when.as_ref().map(|w| w.clone().is_true()),
            ),
            RuleCheck::Set(Some(check)) => {
                let Some(Some(member)) = anomalous.get(i) else {
                    return Err(Error::Internal(format!(
                        "rule {}: anomalous tuples were not computed",
                        rule.id
                    )));
                };
                (
                    member.clone().is_not_true(),
                    Some(crate::checks::set::applicable(
                        &check.on,
                        rule.when.as_ref(),
                    )),
                )
            }
            RuleCheck::Set(None) => {
                return Err(Error::Internal(format!("rule {} is not bound", rule.id)));
            }
        };
        // A malformed CSV record is judged by the PARSE rules only.
        let mut applies: Option<Expr> =
            (is_csv && !rule.builtin).then(|| ident(scan::META_ERROR).is_null());
        if let Some(w) = condition {
            applies = Some(match applies {
                Some(a) => a.and(w),
                None => w,
            });
        }
        let value = match applies {
            None => passed,
            Some(cond) => when(cond, passed)
                .otherwise(lit(ScalarValue::Boolean(None)))
                .map_err(|e| Error::engine(format!("compiling rule {}", rule.id), e))?,
        };
        if let Some(text) = &rule.explain {
            explained.push((i, value.clone(), text.clone()));
        }
        projection.push(value.alias(rule_column(i)));
    }
    // Explanations of failing rows only: CASE evaluates the text where the rule failed.
    let mut explain = Vec::new();
    for (i, value, text) in explained {
        let expr = when(value.is_false(), text)
            .end()
            .map_err(|e| Error::engine(format!("compiling the explanation of rule {i}"), e))?;
        explain.push((i, projection.len()));
        projection.push(expr.alias(explain_column(i)));
    }
    let needed = data.clone();
    Ok(TablePlan {
        rules: table.rules.clone(),
        projection,
        layout: Layout {
            data,
            key,
            provider,
            location,
            parse,
            rules_start,
            explain,
        },
        needed,
    })
}
