//! What a check kind sees while it binds: the table's columns, the SQL context, the code
//! lists, and where to report problems.

use std::sync::Arc;

use datafusion::common::DFSchema;
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;

use crate::diagnostic::{Code, Diagnostic, SourceFile, Span, did_you_mean};
use crate::rules::codelists::CodeLists;
use crate::rules::{BoundColumn, ColumnType, Spanned};

/// Everything a check needs while it binds: the table's columns, the SQL context, the code
/// lists, and the diagnostics sink.
pub struct BindCx<'a> {
    /// The pack file the check is written in (diagnostics point into it).
    pub file: &'a Arc<SourceFile>,
    pub columns: &'a [BoundColumn],
    pub df_schema: &'a DFSchema,
    pub state: &'a SessionState,
    pub codelists: &'a CodeLists,
    pub diagnostics: &'a mut Vec<Diagnostic>,
    /// Columns read by the rule being bound.
    pub read: Vec<String>,
    /// The record date of the rule being bound (its `record_date`), on which dated code
    /// lists are judged.
    pub record_date: Option<BoundColumn>,
    /// While a template binds: the table's column for each role (role → column). A role
    /// stands for its column wherever the template names a column, in parameters and SQL.
    pub roles: std::collections::BTreeMap<String, String>,
}

impl BindCx<'_> {
    pub fn span<T>(&self, v: &Spanned<T>) -> Span {
        Span::of(self.file, v)
    }

    pub fn report(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    pub fn error<T>(&mut self, code: Code, at: &Spanned<T>, message: impl Into<String>) {
        let d = Diagnostic::error(code, message).at(self.span(at));
        self.diagnostics.push(d);
    }

    /// Look a column up by name, reporting `unknown-column` (with a suggestion) when absent.
    pub fn column(&mut self, name: &Spanned<String>) -> Option<BoundColumn> {
        let wanted = self.roles.get(&name.value).unwrap_or(&name.value);
        if let Some(c) = self.columns.iter().find(|c| c.name == *wanted) {
            if !self.read.contains(&c.name) {
                self.read.push(c.name.clone());
            }
            Some(c.clone())
        } else {
            let d = unknown_column(&name.value, self.columns, self.span(name));
            self.diagnostics.push(d);
            None
        }
    }

    /// Look a column up and require one of `types`, reporting `type-mismatch` for `kind`.
    pub fn column_of(
        &mut self,
        name: &Spanned<String>,
        kind: &str,
        types: &[ColumnType],
    ) -> Option<BoundColumn> {
        let c = self.column(name)?;
        if types.contains(&c.ty) {
            return Some(c);
        }
        let wanted: Vec<String> = types.iter().map(ToString::to_string).collect();
        self.error(
            Code::TypeMismatch,
            name,
            format!(
                "`{kind}` needs a column of type {}; `{}` is {}",
                wanted.join(", "),
                c.name,
                c.ty
            ),
        );
        None
    }

    /// A call of one of qc's registered functions (`qc_*`). A missing one is a qc bug,
    /// reported rather than letting the rule vanish.
    pub fn call(&mut self, function: &str, args: Vec<Expr>) -> Option<Expr> {
        if let Some(f) = self.state.scalar_functions().get(function) {
            return Some(f.call(args));
        }
        self.diagnostics.push(Diagnostic::error(
            Code::Internal,
            format!("qc function `{function}` is not registered (a qc bug)"),
        ));
        None
    }

    /// A date the pack writes `YYYY-MM-DD` under the option `what`, as days since 1970-01-01;
    /// `invalid-option` reported when it is not one.
    pub fn pack_date(&mut self, what: &str, date: &Spanned<String>) -> Option<i32> {
        let day = crate::values::iso_day(&date.value);
        if day.is_none() {
            self.error(
                Code::InvalidOption,
                date,
                format!("`{what}` `{}` is not a date written YYYY-MM-DD", date.value),
            );
        }
        day
    }

    /// Report that `what` (e.g. `the trend`) names rule `id`, which is not among `known`
    /// (the table's rule ids), with the nearest id as a suggestion.
    pub fn unknown_rule<'k>(
        &mut self,
        what: &str,
        id: &Spanned<String>,
        known: impl Iterator<Item = &'k str>,
    ) {
        let mut d = Diagnostic::error(
            Code::InvalidOption,
            format!(
                "{what} names rule `{}`, which the table does not have",
                id.value
            ),
        )
        .at(self.span(id));
        if let Some(best) = did_you_mean(&id.value, known) {
            d = d.help(format!("did you mean `{best}`?"));
        }
        self.report(d);
    }

    /// Record that the rule reads `name` (for columns found through SQL).
    pub fn note_read(&mut self, name: &str) {
        if !self.read.iter().any(|r| r == name) {
            self.read.push(name.to_string());
        }
    }
}

pub fn unknown_column(name: &str, columns: &[BoundColumn], span: Span) -> Diagnostic {
    let mut d = Diagnostic::error(Code::UnknownColumn, format!("unknown column `{name}`")).at(span);
    if let Some(best) = did_you_mean(name, columns.iter().map(|c| c.name.as_str())) {
        d = d.help(format!("did you mean `{best}`?"));
    } else {
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        d = d.help(format!("the table's columns are: {}", names.join(", ")));
    }
    d
}
