//! Stage 1b, BIND: rule packs in, bound packs out. Reads schemas, never data.
//!
//! - [`parse`]: YAML text → [`Pack`], every value keeping its line and column;
//! - [`load`]: the `--rules` arguments → every pack parsed and bound;
//! - this module: [`Pack`] + the sources' schemas → [`BoundPack`]: every name resolved, every
//!   type checked, every rule compiled to a DataFusion expression ([`table`], [`source`]);
//!   set-based rules bind in a second stage, once every table of the run is known ([`sets`]).
//!
//! All problems are collected as [`Diagnostic`]s; none stops the others from being found.

pub mod dated;
pub mod exemptions;
pub mod load;
pub mod parse;
pub mod sets;
pub mod source;
pub mod table;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use arrow::datatypes::SchemaRef;
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;

pub use load::load;
pub use parse::Pack;

/// The files a path or glob names, sorted (folders passed over); `Err` says why the glob is
/// unreadable.
pub fn expand_source(pattern: &str) -> Result<Vec<std::path::PathBuf>, String> {
    source::expand(pattern, false)
}

use crate::checks::set::SetCheck;
use crate::checks::table::TableCheckKind;
use crate::diagnostic::{Code, Diagnostic, Span};
use crate::rules::codelists::CodeLists;
use crate::rules::scoring::ScoringModel;
use crate::rules::source::{BoundSource, LeftOutFile};
use crate::rules::{BoundColumn, Dimension, Severity, TableRef, Threshold};
use crate::scan::TableSource;

/// A pack whose every table and rule is resolved and compiled.
#[derive(Debug)]
pub struct BoundPack {
    pub path: PathBuf,
    /// SHA-256 of the pack file, in hex (recorded with each run).
    pub sha256: String,
    pub library: Library,
    pub tables: Vec<BoundTable>,
    /// How the library's scores are computed.
    pub scoring: ScoringModel,
}

/// A library (专题库): its id (also its schema in SQL) and its Chinese name.
#[derive(Debug, Clone)]
pub struct Library {
    pub id: String,
    pub name: String,
}

/// A table whose source, columns, key, rules and table checks are resolved.
#[derive(Debug)]
pub struct BoundTable {
    pub library: Library,
    pub name: String,
    /// The pack's table entry it was bound from: its name, or the entry's `…{file}…` name
    /// for one of the tables an entry stands for.
    pub entry: String,
    /// Chinese title (falls back to the name).
    pub title: String,
    pub source: BoundSource,
    /// The columns as the engine will see them (declared, or all of a Parquet file's).
    /// Every column: the files' columns, then the partition columns (`source.partitions`).
    pub columns: Vec<BoundColumn>,
    /// The table's schema as rule SQL sees it: the scan's (with qc's CSV metadata columns),
    /// then the partition columns.
    pub schema: SchemaRef,
    /// The files' schema as scanned (no partition columns).
    pub scan_schema: SchemaRef,
    pub key: Vec<String>,
    pub provider: Option<String>,
    pub rules: Vec<BoundRule>,
    pub table_checks: Vec<BoundTableCheck>,
    /// Rules left out of this run, with the reason (e.g. their other library is not in it).
    pub skipped: Vec<SkippedRule>,
    /// Rules that run without a part that reads a table not in the run (a `history`'s
    /// `ends`).
    pub partial: Vec<SkippedRule>,
    /// The table's exemptions, folded into its rules' `when`.
    pub exemptions: Vec<exemptions::Exemption>,
}

/// A rule left out of the run, or run without a part, because a table it reads is not in it.
#[derive(Debug, Clone)]
pub struct SkippedRule {
    pub id: String,
    pub name: String,
    /// The table (`library.table`) it reads that is not in the run.
    pub reads: String,
    /// The pack that declares that table.
    pub pack: String,
}

/// A bound table-level check.
#[derive(Debug, Clone)]
pub struct BoundTableCheck {
    pub id: String,
    pub name: String,
    pub dimension: Dimension,
    pub severity: Severity,
    pub kind: TableCheckKind,
}

impl BoundTable {
    /// The table's name in the run (`library.table`).
    pub fn table_ref(&self) -> TableRef {
        TableRef::new(&self.library.id, &self.name)
    }

    /// `library.table`, the name used in summaries, exports and `--data`.
    pub fn qualified_name(&self) -> String {
        self.table_ref().to_string()
    }

    /// Whether a user's `name` (`table` or `library.table`, as `--data`, `--table` and
    /// `--expand` take it) names this table.
    pub fn is_named(&self, name: &str) -> bool {
        self.name == name || self.qualified_name() == name
    }

    /// What the scan needs to read the table: the partition columns come last.
    pub fn source_view(&self) -> TableSource<'_> {
        let (files, partitions) = self
            .columns
            .split_at(self.columns.len() - self.source.partitions.len());
        TableSource {
            table: self.table_ref(),
            columns: files,
            schema: &self.scan_schema,
            source: &self.source,
            partitions,
        }
    }
}

/// A rule compiled against its table.
#[derive(Debug, Clone)]
pub struct BoundRule {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub dimension: Dimension,
    pub severity: Severity,
    /// Check kind (`not_null`, `pattern`, …; `parse` for qc's built-in CSV parse rules).
    pub kind: &'static str,
    /// Precondition: the rule applies where this is true.
    pub when: Option<Expr>,
    pub check: RuleCheck,
    /// Columns the rule reads (exported with anomalies).
    pub columns: Vec<String>,
    pub threshold: Threshold,
    /// True for qc's built-in rules (CSV parse rules).
    pub builtin: bool,
    /// Why a row fails: Chinese, English.
    pub reason: (String, String),
    /// Row rules: text saying what is wrong with a failing row: the rule's `message`, its
    /// `explain`, or its kind's default (an ID number's encoded birth date, say).
    pub explain: Option<Expr>,
    /// Whether `explain` is the row's whole reason (a `message`) rather than said after it.
    pub explain_is_reason: bool,
    /// For a rule's warning band (`<id>.warn`): the rule's id.
    pub band_of: Option<String>,
    /// For a rule bound from a template: the template's id (the rule's id too).
    pub template: Option<String>,
}

/// What decides a rule's verdict on a row.
#[derive(Debug, Clone)]
pub enum RuleCheck {
    /// True where the row passes.
    Row(Expr),
    /// Set-based: bound once every table of the run is known (`None` until then).
    Set(Option<Box<SetCheck>>),
}

/// Where tables are read from and what a damaged file does to the run.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// `--data TABLE=PATH[;options]` overrides, keyed by `table` or `library.table`.
    pub overrides: HashMap<String, crate::rules::source::DataOverride>,
    /// `--keep-going`: leave a damaged file out (see [`BoundSource::left_out`]) instead of
    /// failing the run.
    pub keep_going: bool,
    /// Files found damaged while scanning in an earlier attempt of this run: left out.
    pub damaged: Vec<LeftOutFile>,
    /// Accepted problems from the run history (`qc problems accept`): `library.table` →
    /// rule → record keys, each exempt from its rule.
    pub accepted:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, Vec<String>>>,
}

/// Bind every table of a pack. Returns the bound pack only if no error was found; the
/// diagnostics (errors and warnings) are returned in either case.
pub async fn bind(
    pack: &Pack,
    state: &SessionState,
    sources: &SourceOptions,
) -> (Option<BoundPack>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let library = Library {
        id: pack.doc.library.id.value.clone(),
        name: pack.doc.library.name.clone(),
    };
    if !is_identifier(&library.id) {
        diags.push(
            Diagnostic::error(
                Code::InvalidName,
                format!("library id `{}` is not an identifier", library.id),
            )
            .at(pack.span(&pack.doc.library.id))
            .help("use lower-case letters, digits and `_`, starting with a letter"),
        );
    }
    let codelists = CodeLists::beside(pack.dir());

    let mut seen_tables: HashSet<&str> = HashSet::new();
    // Names of tables written once for a folder of files, and of the others.
    let mut generated: HashSet<String> = pack
        .doc
        .tables
        .iter()
        .filter(|t| !t.name.value.contains(source::EACH_FILE))
        .map(|t| t.name.value.clone())
        .collect();
    let mut tables = Vec::new();
    for t in &pack.doc.tables {
        if !t.name.value.contains(source::EACH_FILE) && !seen_tables.insert(t.name.value.as_str()) {
            diags.push(
                Diagnostic::error(
                    Code::DuplicateTable,
                    format!("table `{}` is declared twice", t.name.value),
                )
                .at(pack.span(&t.name)),
            );
            continue;
        }
        // A rule is known by (rule id, table): ids are unique within a table, and a template
        // used by many tables keeps its id in each.
        let mut seen_rules: HashMap<&str, Span> = HashMap::new();
        let ids = t
            .rules
            .iter()
            .map(|r| &r.id)
            .chain(t.table_checks.iter().map(|c| &c.id))
            .chain(t.uses.iter().map(|u| &u.template));
        for id in ids {
            let span = pack.span(id);
            if let Some(first) = seen_rules.get(id.value.as_str()) {
                diags.push(
                    Diagnostic::error(
                        Code::DuplicateRuleId,
                        format!("rule id `{}` is used twice", id.value),
                    )
                    .at(span)
                    .help(format!(
                        "first used at {}:{}:{}",
                        first.file.path.display(),
                        first.line,
                        first.column
                    )),
                );
            } else {
                seen_rules.insert(id.value.as_str(), span);
            }
        }
        // A table written once for a folder of files is one table per file.
        let each = if t.name.value.contains(source::EACH_FILE) {
            match source::each_file(pack, t) {
                Ok(files) => files.into_iter().map(Some).collect(),
                Err(message) => {
                    diags.push(
                        Diagnostic::error(Code::SourceNotFound, message)
                            .at(pack.span(&t.source.path)),
                    );
                    continue;
                }
            }
        } else {
            vec![None]
        };
        for one in &each {
            if let Some((name, _)) = one
                && !generated.insert(name.clone())
            {
                diags.push(
                    Diagnostic::error(
                        Code::DuplicateTable,
                        format!("table `{name}` is declared twice (two files of the same name?)"),
                    )
                    .at(pack.span(&t.name)),
                );
                continue;
            }
            if let Some(bt) = table::bind_table(
                pack,
                t,
                one.as_ref(),
                &library,
                state,
                sources,
                &codelists,
                &mut diags,
            )
            .await
            {
                tables.push(bt);
            }
        }
    }
    let ok = !diags.iter().any(Diagnostic::is_error);
    let scoring = pack.doc.scoring.clone().unwrap_or_default();
    if let Some(problem) = scoring.invalid() {
        diags.push(Diagnostic::error(Code::InvalidScoring, problem).in_file(&pack.file.path));
    }
    let ok = ok && scoring.invalid().is_none();
    let bound = ok.then(|| BoundPack {
        path: pack.file.path.clone(),
        sha256: pack.sha256(),
        library,
        tables,
        scoring,
    });
    (bound, diags)
}

/// Whether `s` may name a library or table in SQL (ASCII letter first, then letters, digits, `_`).
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(is_identifier("marriage_2"));
        assert!(!is_identifier("2x"));
        assert!(!is_identifier("婚姻"));
    }
}
