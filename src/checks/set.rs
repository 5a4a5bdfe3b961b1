//! Set-based checks (`unique`, `reference`, `query`): a row's verdict depends on other rows
//! of its table or of other tables.
//!
//! Each compiles to a **key plan**: a plan whose result is the distinct tuples of
//! the table's `on` columns that fail the rule. The engine runs it before the table's
//! single pass (DataFusion's spilling aggregates and joins, under the run's memory limit),
//! holds the tuples as a hash set, and the fused pass marks every row whose `on` values are
//! in the set as failed. So set-based failures join the same anomaly export and the same
//! once-per-row anomalous count as row-level ones, whatever the partitioning.
//!
//! Rows with a NULL in any `on` column are not applicable (like SQL's UNIQUE and foreign
//! keys), nor are rows where the rule's `when` is not true.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::{Expr, LogicalPlan, ident};
use datafusion::prelude::SessionContext;

use crate::diagnostic::{Code, Diagnostic, SourceFile, Span, did_you_mean};
use crate::rules::{BoundColumn, ColumnType, Spanned, TableRef};

/// What one anomalous tuple of a set-based rule is (`summary.json` names it in English).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KeyUnit {
    /// A value (combination) held by more than one row.
    #[serde(rename = "duplicated_groups")]
    DuplicatedGroup,
    /// A value (combination) with no match in the target table.
    #[serde(rename = "dangling_values")]
    DanglingValue,
    /// A key returned by a `query` rule.
    #[serde(rename = "returned_keys")]
    ReturnedKey,
    /// A later copy of a duplicated group (`unique` with `keep: first`), by its record key.
    #[serde(rename = "later_copies")]
    LaterCopy,
}

impl KeyUnit {
    /// English words for people (the terminal summary).
    pub fn en(self) -> &'static str {
        match self {
            KeyUnit::DuplicatedGroup => "duplicated groups",
            KeyUnit::DanglingValue => "dangling values",
            KeyUnit::ReturnedKey => "returned keys",
            KeyUnit::LaterCopy => "later copies",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            KeyUnit::DuplicatedGroup => "重复组",
            KeyUnit::DanglingValue => "无匹配值",
            KeyUnit::ReturnedKey => "命中键",
            KeyUnit::LaterCopy => "后续重复记录",
        }
    }
}

/// A bound set-based check.
#[derive(Debug, Clone)]
pub struct SetCheck {
    /// The table's columns a tuple is matched on.
    pub on: Vec<BoundColumn>,
    /// Distinct tuples of `on` values that fail the rule, as a DataFusion plan: what runs,
    /// locally or on a cluster, when the check has no [`Native`] form.
    pub keys: LogicalPlan,
    /// The same answer, computed by qc's own set engine (on a cluster, by plans that work
    /// as it does).
    pub native: Option<Native>,
    pub unit: KeyUnit,
    /// Tables the check reads besides its own.
    pub reads: Vec<TableRef>,
    /// A table the check would read whose pack is not in the run: it runs without the part
    /// that reads it (a `history`'s `ends`).
    pub partial: Option<Absent>,
}

/// A set-based check qc computes itself (`execute::sets`), faster and in less memory than
/// the equivalent DataFusion plan, which stays the reference.
#[derive(Debug, Clone)]
pub enum Native {
    /// Tuples of `on` held by more than one row where `applicable` is true.
    Duplicates { applicable: Expr },
    /// Records judged against their people's other records ([`super::history`]).
    History(Box<HistoryCheck>),
}

/// Which records of a history are anomalous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Find {
    NotLatest,
    Overlap,
    CloseWithoutOpen,
}

impl Find {
    pub const NAMES: [(&'static str, Find); 3] = [
        ("not_latest", Find::NotLatest),
        ("overlap", Find::Overlap),
        ("close_without_open", Find::CloseWithoutOpen),
    ];

    /// The name a pack writes.
    pub fn name(self) -> &'static str {
        Find::NAMES
            .into_iter()
            .find(|(_, f)| *f == self)
            .map_or("", |(n, _)| n)
    }

    pub fn parse(s: &str) -> Option<Find> {
        Find::NAMES
            .into_iter()
            .find(|(n, _)| *n == s.trim())
            .map(|(_, f)| f)
    }
}

/// A bound `history` check, as qc's set engine runs it.
#[derive(Debug, Clone)]
pub struct HistoryCheck {
    pub of: Vec<BoundColumn>,
    pub pair: Vec<BoundColumn>,
    pub date: BoundColumn,
    pub opens: Option<Expr>,
    pub closes: Option<Expr>,
    pub find: Find,
    pub ends: Option<EndsCheck>,
}

/// A `history`'s `ends`: events of another table that end a person's opening records.
#[derive(Debug, Clone)]
pub struct EndsCheck {
    pub table: TableRef,
    pub person: BoundColumn,
    pub date: BoundColumn,
}

/// The tables of a run, for resolving the tables set-based rules name.
#[derive(Debug, Default)]
pub struct RunTables {
    /// `library.table` → its columns.
    pub tables: BTreeMap<String, Vec<BoundColumn>>,
    /// Libraries whose packs sit beside the run's packs but are not in the run (id → pack).
    pub elsewhere: BTreeMap<String, PathBuf>,
}

impl RunTables {
    pub fn libraries(&self) -> BTreeSet<&str> {
        self.tables
            .keys()
            .filter_map(|t| t.split_once('.').map(|(library, _)| library))
            .collect()
    }
}

/// How binding a set-based rule ended.
pub enum SetOutcome {
    Bound(Box<SetCheck>),
    /// The rule reads a library whose pack is not in this run: it is skipped.
    Skipped(Absent),
    /// Problems were reported.
    Failed,
}

/// Everything a set-based check needs while it binds.
pub struct SetCx<'a> {
    /// The pack file the rule is written in (diagnostics point into it).
    pub file: &'a Arc<SourceFile>,
    pub ctx: &'a SessionContext,
    /// The rule's own table and its columns.
    pub table: &'a TableRef,
    pub columns: &'a [BoundColumn],
    /// The table's record key (what a `query` returns by default).
    pub key: &'a [String],
    /// The rule's precondition, already bound.
    pub when: Option<Expr>,
    pub run: &'a RunTables,
    pub diagnostics: &'a mut Vec<Diagnostic>,
    /// For a rule bound from a template: the table's column for each role.
    pub roles: &'a std::collections::BTreeMap<String, String>,
}

/// A table a rule reads that is not in the run, and the pack that declares it.
#[derive(Debug, Clone)]
pub struct Absent {
    /// `library.table`.
    pub table: String,
    pub pack: PathBuf,
}

/// Either a problem was reported, or the rule is skipped (it reads a table not in the run).
pub enum Stop {
    Reported,
    Skip(Absent),
}

impl From<Stop> for SetOutcome {
    fn from(s: Stop) -> SetOutcome {
        match s {
            Stop::Reported => SetOutcome::Failed,
            Stop::Skip(absent) => SetOutcome::Skipped(absent),
        }
    }
}

impl SetCx<'_> {
    pub fn span<T>(&self, v: &Spanned<T>) -> Span {
        Span::of(self.file, v)
    }

    pub fn error<T>(&mut self, code: Code, at: &Spanned<T>, message: impl Into<String>) {
        let d = Diagnostic::error(code, message).at(self.span(at));
        self.diagnostics.push(d);
    }

    /// The rule's own table's columns named by `names` (reported when unknown).
    /// The columns of the table's record key (declared and checked when the table bound).
    pub fn key_columns(&self) -> Vec<BoundColumn> {
        self.key
            .iter()
            .filter_map(|k| self.columns.iter().find(|c| c.name == *k).cloned())
            .collect()
    }

    pub fn own_columns(&mut self, names: &[Spanned<String>]) -> Option<Vec<BoundColumn>> {
        let mut out = Vec::new();
        for n in names {
            let wanted = self.roles.get(&n.value).unwrap_or(&n.value);
            if let Some(c) = self.columns.iter().find(|c| c.name == *wanted) {
                out.push(c.clone());
            } else {
                let d = super::cx::unknown_column(&n.value, self.columns, self.span(n));
                self.diagnostics.push(d);
            }
        }
        (out.len() == names.len()).then_some(out)
    }

    /// Resolve a table named `library.table` in this run. A library whose pack is beside
    /// this one but not in the run skips the rule; anything else unknown is an error.
    pub fn resolve_table<T>(
        &mut self,
        name: &str,
        at: &Spanned<T>,
    ) -> Result<(TableRef, Vec<BoundColumn>), Stop> {
        let Some(TableRef { library, table }) = TableRef::parse(name) else {
            self.error(
                Code::UnknownTable,
                at,
                format!(
                    "`{name}` is not a table of this run: write tables as `library.table` \
                     (table functions and file paths are refused)"
                ),
            );
            return Err(Stop::Reported);
        };
        if let Some(columns) = self.run.tables.get(name) {
            return Ok((TableRef::new(library, table), columns.clone()));
        }
        if !self.run.libraries().contains(library.as_str()) {
            if let Some(pack) = self.run.elsewhere.get(&library) {
                return Err(Stop::Skip(Absent {
                    table: name.to_string(),
                    pack: pack.clone(),
                }));
            }
            let libraries: Vec<&str> = self.run.libraries().into_iter().collect();
            self.error(
                Code::UnknownTable,
                at,
                format!(
                    "no pack in this run or beside this one declares library `{library}` (the run has: {})",
                    libraries.join(", ")
                ),
            );
            return Err(Stop::Reported);
        }
        let mut d = Diagnostic::error(
            Code::UnknownTable,
            format!("library `{library}` has no table `{table}`"),
        )
        .at(self.span(at));
        if let Some(best) = did_you_mean(name, self.run.tables.keys().map(String::as_str)) {
            d = d.help(format!("did you mean `{best}`?"));
        }
        self.diagnostics.push(d);
        Err(Stop::Reported)
    }

    /// A table of the run as a DataFrame.
    pub async fn frame(&mut self, table: &TableRef) -> Result<DataFrame, Stop> {
        match self.ctx.table(table.reference()).await {
            Ok(df) => Ok(df),
            Err(e) => {
                self.diagnostics.push(Diagnostic::error(
                    Code::Internal,
                    format!("table {table} is not registered: {e}"),
                ));
                Err(Stop::Reported)
            }
        }
    }

    /// Report a DataFusion error while building the key plan.
    pub fn engine_error<T>(
        &mut self,
        at: &Spanned<T>,
        e: &datafusion::error::DataFusionError,
    ) -> Stop {
        let message = e.strip_backtrace();
        self.error(
            Code::InvalidRule,
            at,
            message.lines().next().unwrap_or_default().to_string(),
        );
        Stop::Reported
    }

    /// The rows of this rule's table it applies to: `on` columns all present, `when` true.
    pub fn applicable_rows(&self, on: &[BoundColumn]) -> Expr {
        applicable(on, self.when.as_ref())
    }
}

/// `on` columns all present (non-NULL, no `null_like` placeholder), and `when` true.
pub fn applicable(on: &[BoundColumn], when: Option<&Expr>) -> Expr {
    let mut cond = on
        .iter()
        .map(|c| {
            let present = ident(&c.name).is_not_null();
            match super::placeholder(c) {
                Some(p) => present.and(Expr::Not(Box::new(p))),
                None => present,
            }
        })
        .reduce(Expr::and)
        .unwrap_or_else(|| datafusion::logical_expr::lit(true));
    if let Some(w) = when {
        cond = cond.and(w.clone().is_true());
    }
    cond
}

/// Whether two column types can be matched by equality.
pub fn comparable(a: ColumnType, b: ColumnType) -> bool {
    a == b || (a.is_numeric() && b.is_numeric())
}
