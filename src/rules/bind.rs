//! [`Pack`] + the sources' schemas → [`BoundPack`]: every name resolved, every type checked,
//! every rule compiled to a DataFusion expression. All problems are collected, none stops
//! the others from being found.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::DFSchema;
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;

use crate::checks::set::{RunTables, SetCheck, SetCx, SetOutcome};
use crate::checks::table::TableCheckKind;
use crate::diagnostic::{Diagnostic, Span, did_you_mean};
use crate::results::mask::Pii;
use crate::results::score::ScoringModel;
use crate::rules::codelists::CodeLists;
use crate::rules::parse::Pack;
use crate::rules::{ColumnType, Dimension, Severity, Spanned, TableDoc, Threshold};
use crate::scan::{self, CsvOptions, SourceFormat};

/// A pack whose every table and rule is resolved and compiled.
#[derive(Debug)]
pub struct BoundPack {
    pub path: PathBuf,
    pub library: Library,
    pub tables: Vec<BoundTable>,
    /// How the library's scores are computed.
    pub scoring: ScoringModel,
}

#[derive(Debug, Clone)]
pub struct Library {
    pub id: String,
    pub name: String,
}

#[derive(Debug)]
pub struct BoundTable {
    pub library: Library,
    pub name: String,
    /// Chinese title (falls back to the name).
    pub title: String,
    pub source: BoundSource,
    /// The columns as the engine will see them (declared, or all of a Parquet file's).
    pub columns: Vec<BoundColumn>,
    /// The scan's full schema, including qc's CSV metadata columns.
    pub schema: SchemaRef,
    pub key: Vec<String>,
    pub provider: Option<String>,
    pub rules: Vec<BoundRule>,
    pub table_checks: Vec<BoundTableCheck>,
    /// Rules left out of this run, with the reason (e.g. their other library is not in it).
    pub skipped: Vec<SkippedRule>,
}

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
    /// `library.table`, the name used in SQL, summaries and `--data`.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.library.id, self.name)
    }
}

#[derive(Debug, Clone)]
pub struct BoundColumn {
    pub name: String,
    pub ty: ColumnType,
    pub arrow: DataType,
    pub title: Option<String>,
    /// CSV date/timestamp format (chrono), if declared.
    pub format: Option<String>,
    /// Personal data kind, if declared (masked in reports and feedback).
    pub pii: Option<Pii>,
}

#[derive(Debug, Clone)]
pub struct BoundSource {
    /// The path or glob as written (or as given by `--data`).
    pub pattern: String,
    pub files: Vec<PathBuf>,
    pub format: SourceFormat,
    /// Damaged files left out of the audit under `--keep-going`.
    pub left_out: Vec<LeftOutFile>,
}

/// A damaged file left out of a run, and what was wrong with it (naming the file).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeftOutFile {
    pub file: PathBuf,
    pub reason: String,
}

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
}

/// What decides a rule's verdict on a row.
#[derive(Debug, Clone)]
pub enum RuleCheck {
    /// True where the row passes.
    Row(Expr),
    /// Set-based: bound once every table of the run is known (`None` until then).
    Set(Option<Box<SetCheck>>),
}

/// Everything a check needs while it binds: the table's columns, the SQL context, the code
/// lists, and the diagnostics sink.
pub struct BindCx<'a> {
    pub pack: &'a Pack,
    pub columns: &'a [BoundColumn],
    pub df_schema: &'a DFSchema,
    pub state: &'a SessionState,
    pub codelists: &'a CodeLists,
    pub diagnostics: &'a mut Vec<Diagnostic>,
    /// Columns read by the rule being bound.
    pub read: Vec<String>,
}

impl BindCx<'_> {
    pub fn span<T>(&self, v: &Spanned<T>) -> Span {
        self.pack.span(v)
    }

    pub fn report(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    pub fn error<T>(&mut self, code: &'static str, at: &Spanned<T>, message: impl Into<String>) {
        let d = Diagnostic::error(code, message).at(self.span(at));
        self.diagnostics.push(d);
    }

    /// Look a column up by name, reporting `unknown-column` (with a suggestion) when absent.
    pub fn column(&mut self, name: &Spanned<String>) -> Option<BoundColumn> {
        if let Some(c) = self.columns.iter().find(|c| c.name == name.value) {
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
            "type-mismatch",
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
            "internal",
            format!("qc function `{function}` is not registered (a qc bug)"),
        ));
        None
    }

    /// Record that the rule reads `name` (for columns found through SQL).
    pub fn note_read(&mut self, name: &str) {
        if !self.read.iter().any(|r| r == name) {
            self.read.push(name.to_string());
        }
    }
}

pub fn unknown_column(name: &str, columns: &[BoundColumn], span: Span) -> Diagnostic {
    let mut d = Diagnostic::error("unknown-column", format!("unknown column `{name}`")).at(span);
    if let Some(best) = did_you_mean(name, columns.iter().map(|c| c.name.as_str())) {
        d = d.help(format!("did you mean `{best}`?"));
    } else {
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        d = d.help(format!("the table's columns are: {}", names.join(", ")));
    }
    d
}

/// Where tables are read from and what a damaged file does to the run.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// `--data TABLE=PATH` overrides, keyed by `table` or `library.table`.
    pub overrides: HashMap<String, PathBuf>,
    /// `--keep-going`: leave a damaged file out (see [`BoundSource::left_out`]) instead of
    /// failing the run.
    pub keep_going: bool,
    /// Files found damaged while scanning in an earlier attempt of this run: left out.
    pub damaged: Vec<LeftOutFile>,
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
                "invalid-name",
                format!("library id `{}` is not an identifier", library.id),
            )
            .at(pack.span(&pack.doc.library.id))
            .help("use lower-case letters, digits and `_`, starting with a letter"),
        );
    }
    let codelists = CodeLists::beside(pack.dir());

    let mut seen_tables: HashSet<&str> = HashSet::new();
    let mut seen_rules: HashMap<&str, Span> = HashMap::new();
    let mut tables = Vec::new();
    for t in &pack.doc.tables {
        if !seen_tables.insert(t.name.value.as_str()) {
            diags.push(
                Diagnostic::error(
                    "duplicate-table",
                    format!("table `{}` is declared twice", t.name.value),
                )
                .at(pack.span(&t.name)),
            );
            continue;
        }
        let ids = t
            .rules
            .iter()
            .map(|r| &r.id)
            .chain(t.table_checks.iter().map(|c| &c.id));
        for id in ids {
            let span = pack.span(id);
            if let Some(first) = seen_rules.get(id.value.as_str()) {
                diags.push(
                    Diagnostic::error(
                        "duplicate-rule-id",
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
        if let Some(bt) =
            bind_table(pack, t, &library, state, sources, &codelists, &mut diags).await
        {
            tables.push(bt);
        }
    }
    let ok = !diags.iter().any(Diagnostic::is_error);
    let scoring = pack.doc.scoring.clone().unwrap_or_default();
    if let Some(problem) = scoring.invalid() {
        diags.push(Diagnostic::error("invalid-scoring", problem).in_file(&pack.file.path));
    }
    let ok = ok && scoring.invalid().is_none();
    let bound = ok.then(|| BoundPack {
        path: pack.file.path.clone(),
        library,
        tables,
        scoring,
    });
    (bound, diags)
}

/// Stage two of binding: register every table of the run in `ctx`, then bind the set-based
/// rules, which may read any of them. A rule whose other library's pack sits beside the run's
/// packs but is not in the run is skipped, with a warning and a note in the summary.
pub async fn bind_set_rules(
    packs: &mut [(Pack, BoundPack)],
    ctx: &SessionContext,
    elsewhere: std::collections::BTreeMap<String, PathBuf>,
    diags: &mut Vec<Diagnostic>,
) -> crate::error::Result<()> {
    let mut run = RunTables {
        tables: std::collections::BTreeMap::new(),
        elsewhere,
    };
    for (_, bound) in packs.iter() {
        for table in &bound.tables {
            scan::register(ctx, table)?;
            run.tables
                .insert(table.qualified_name(), table.columns.clone());
        }
    }
    for (pack, bound) in packs.iter_mut() {
        for (doc, table) in pack.doc.tables.iter().zip(bound.tables.iter_mut()) {
            let mut keep = Vec::with_capacity(table.rules.len());
            for mut rule in std::mem::take(&mut table.rules) {
                if !matches!(rule.check, RuleCheck::Set(None)) {
                    keep.push(rule);
                    continue;
                }
                let Some(rdoc) = doc.rules.iter().find(|r| r.id.value == rule.id) else {
                    continue;
                };
                let mut cx = SetCx {
                    pack,
                    ctx,
                    table,
                    when: rule.when.clone(),
                    run: &run,
                    diagnostics: diags,
                };
                match rdoc.check.value.bind_set(&rdoc.check, &mut cx).await {
                    Some(SetOutcome::Bound(check)) => {
                        for c in &check.on {
                            if !rule.columns.contains(&c.name) {
                                rule.columns.push(c.name.clone());
                            }
                        }
                        rule.check = RuleCheck::Set(Some(Box::new(check)));
                        keep.push(rule);
                    }
                    Some(SetOutcome::Skipped(absent)) => {
                        diags.push(
                            Diagnostic::warning(
                                "rule-skipped",
                                format!(
                                    "rule {} is skipped: it reads `{}`, whose pack {} is not in this run",
                                    rule.id,
                                    absent.table,
                                    absent.pack.display()
                                ),
                            )
                            .at(pack.span(&rdoc.id))
                            .help("pass that pack with --rules too (or --rules with the packs' folder)"),
                        );
                        table.skipped.push(SkippedRule {
                            id: rule.id.clone(),
                            name: rule.name.clone(),
                            reads: absent.table,
                            pack: absent.pack.display().to_string(),
                        });
                    }
                    Some(SetOutcome::Failed) | None => {}
                }
            }
            table.rules = keep;
        }
    }
    Ok(())
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

async fn bind_table(
    pack: &Pack,
    t: &TableDoc,
    library: &Library,
    state: &SessionState,
    sources: &SourceOptions,
    codelists: &CodeLists,
    diags: &mut Vec<Diagnostic>,
) -> Option<BoundTable> {
    let errors_before = diags.iter().filter(|d| d.is_error()).count();
    let name = t.name.value.clone();
    if !is_identifier(&name) {
        diags.push(
            Diagnostic::error(
                "invalid-name",
                format!("table name `{name}` is not an identifier"),
            )
            .at(pack.span(&t.name)),
        );
    }
    let qualified = format!("{}.{}", library.id, name);
    let mut source = bind_source(
        pack,
        t,
        sources
            .overrides
            .get(&qualified)
            .or(sources.overrides.get(&name)),
        diags,
    )?;

    let known: Vec<(PathBuf, String)> = sources
        .damaged
        .iter()
        .filter(|d| source.files.contains(&d.file))
        .map(|d| (d.file.clone(), d.reason.clone()))
        .collect();
    leave_out_damaged(pack, t, &mut source, known, sources.keep_going, diags)?;

    // Columns: as declared (checked against the files), or all of a Parquet file's.
    let mut declared = Vec::new();
    let mut seen = HashSet::new();
    for c in &t.columns {
        if c.name.value.starts_with(scan::META_PREFIX) {
            diags.push(
                Diagnostic::error(
                    "invalid-name",
                    format!(
                        "column names starting with `{}` are reserved for qc",
                        scan::META_PREFIX
                    ),
                )
                .at(pack.span(&c.name)),
            );
            continue;
        }
        if !seen.insert(c.name.value.clone()) {
            diags.push(
                Diagnostic::error(
                    "duplicate-column",
                    format!("column `{}` is declared twice", c.name.value),
                )
                .at(pack.span(&c.name)),
            );
            continue;
        }
        let Some(ty) = ColumnType::parse(&c.data_type.value) else {
            let mut d = Diagnostic::error(
                "unknown-type",
                format!("unknown column type `{}`", c.data_type.value),
            )
            .at(pack.span(&c.data_type));
            d = d.help(match did_you_mean(&c.data_type.value, ColumnType::NAMES) {
                Some(best) => format!("did you mean `{best}`?"),
                None => format!("the types are: {}", ColumnType::NAMES.join(", ")),
            });
            diags.push(d);
            continue;
        };
        if let Some(p) = &c.pii
            && Pii::parse(&p.value).is_none()
        {
            diags.push(
                Diagnostic::error(
                    "invalid-option",
                    format!("unknown personal-data kind `{}`", p.value),
                )
                .at(pack.span(p))
                .help("the kinds are: id_number, name"),
            );
        }
        if c.format.is_some() && !ty.is_temporal() {
            diags.push(
                Diagnostic::error(
                    "invalid-option",
                    "`format` applies to date and timestamp columns only",
                )
                .at(pack.span(c.format.as_ref()?)),
            );
        }
        declared.push((c, ty));
    }

    let (columns, schema) = match &source.format {
        SourceFormat::Parquet => {
            let expected: Vec<(String, ColumnType)> = declared
                .iter()
                .map(|(c, ty)| (c.name.value.clone(), *ty))
                .collect();
            let check = scan::parquet::check_files(&source.files, &expected);
            leave_out_damaged(
                pack,
                t,
                &mut source,
                check.damaged,
                sources.keep_going,
                diags,
            )?;
            let file_schema = match scan::parquet::schema(state, &source.files).await {
                Ok(s) => s,
                Err(message) => {
                    diags.push(
                        Diagnostic::error("source-unreadable", message)
                            .at(pack.span(&t.source.path)),
                    );
                    return None;
                }
            };
            let mut columns = Vec::new();
            if declared.is_empty() {
                for f in file_schema.fields() {
                    if let Some(ty) = ColumnType::of_arrow(f.data_type()) {
                        columns.push(BoundColumn {
                            name: f.name().clone(),
                            ty,
                            arrow: f.data_type().clone(),
                            title: None,
                            format: None,
                            pii: None,
                        });
                    }
                }
            }
            for (c, ty) in &declared {
                if let Ok(f) = file_schema.field_with_name(&c.name.value) {
                    let found = ColumnType::of_arrow(f.data_type());
                    if found != Some(*ty) {
                        diags.push(
                            Diagnostic::error(
                                "type-mismatch",
                                format!(
                                    "column `{}` is declared {} but the Parquet source holds {}",
                                    c.name.value,
                                    ty,
                                    f.data_type()
                                ),
                            )
                            .at(pack.span(&c.data_type)),
                        );
                    }
                    columns.push(BoundColumn {
                        name: c.name.value.clone(),
                        ty: *ty,
                        arrow: f.data_type().clone(),
                        title: c.title.clone(),
                        format: None,
                        pii: c.pii.as_ref().and_then(|p| Pii::parse(&p.value)),
                    });
                } else {
                    let mut d = Diagnostic::error(
                        "source-missing-column",
                        format!(
                            "column `{}` is not in the Parquet source {}",
                            c.name.value,
                            source.files[0].display()
                        ),
                    )
                    .at(pack.span(&c.name));
                    if let Some(best) = did_you_mean(
                        &c.name.value,
                        file_schema.fields().iter().map(|f| f.name().as_str()),
                    ) {
                        d = d.help(format!("the file has `{best}`"));
                    }
                    diags.push(d);
                }
            }
            (columns, file_schema)
        }
        SourceFormat::Csv(opts) => {
            if declared.is_empty() {
                diags.push(
                    Diagnostic::error(
                        "missing-columns",
                        format!("CSV table `{name}` must declare its columns and their types"),
                    )
                    .at(pack.span(&t.name)),
                );
                return None;
            }
            let columns: Vec<BoundColumn> = declared
                .iter()
                .map(|(c, ty)| BoundColumn {
                    name: c.name.value.clone(),
                    ty: *ty,
                    arrow: ty.arrow_type(),
                    title: c.title.clone(),
                    format: c.format.as_ref().map(|f| f.value.clone()),
                    pii: c.pii.as_ref().and_then(|p| Pii::parse(&p.value)),
                })
                .collect();
            let names: Vec<String> = declared.iter().map(|(c, _)| c.name.value.clone()).collect();
            let check = scan::csv::check_files(&source.files, opts, &names);
            // Files left after the check lack a column only when all of them do: the pack's
            // columns are wrong, reported at each column.
            for (file, header) in check.good.iter().filter(|_| opts.header) {
                for (c, _) in &declared {
                    if !header.iter().any(|h| h == &c.name.value) {
                        let mut d = Diagnostic::error(
                            "source-missing-column",
                            format!(
                                "column `{}` is not in the header of {}",
                                c.name.value,
                                file.display()
                            ),
                        )
                        .at(pack.span(&c.name));
                        if let Some(best) =
                            did_you_mean(&c.name.value, header.iter().map(String::as_str))
                        {
                            d = d.help(format!("the header has `{best}`"));
                        }
                        diags.push(d);
                    }
                }
            }
            leave_out_damaged(
                pack,
                t,
                &mut source,
                check.damaged,
                sources.keep_going,
                diags,
            )?;
            let schema = scan::csv::table_schema(&columns);
            (columns, schema)
        }
    };

    let key = bind_key_columns(pack, t, &columns, diags);
    let provider = t.provider.as_ref().and_then(|p| {
        if columns.iter().any(|c| c.name == p.value) {
            Some(p.value.clone())
        } else {
            diags.push(unknown_column(&p.value, &columns, pack.span(p)));
            None
        }
    });

    let df_schema = match DFSchema::try_from(schema.as_ref().clone()) {
        Ok(s) => s,
        Err(e) => {
            diags
                .push(Diagnostic::error("source-unreadable", e.to_string()).at(pack.span(&t.name)));
            return None;
        }
    };
    let mut rules = Vec::new();
    if matches!(source.format, SourceFormat::Csv(_)) {
        rules.extend(scan::csv::parse_rules());
    }
    // One context for every rule and table check of the table; `read` is taken per rule.
    let mut cx = BindCx {
        pack,
        columns: &columns,
        df_schema: &df_schema,
        state,
        codelists,
        diagnostics: diags,
        read: Vec::new(),
    };
    for r in &t.rules {
        let head = bind_head(&mut cx, &r.dimension, r.severity.as_ref());
        if let Some(th) = &r.threshold
            && th.max_rate.is_some_and(|x| !(0.0..=1.0).contains(&x))
        {
            cx.error(
                "invalid-threshold",
                &r.id,
                "threshold max_rate must be between 0 and 1",
            );
        }
        let when = r
            .when
            .as_ref()
            .and_then(|w| crate::checks::expr::bind_boolean(w, "when", &mut cx));
        let check = if r.check.value.is_set() {
            Some(RuleCheck::Set(None))
        } else {
            r.check.value.bind(&mut cx).map(RuleCheck::Row)
        };
        let read = std::mem::take(&mut cx.read);
        if let (Some((dimension, severity)), Some(check)) = (head, check)
            && (r.when.is_none() || when.is_some())
        {
            rules.push(BoundRule {
                id: r.id.value.clone(),
                name: r.name.clone(),
                description: r.description.clone(),
                dimension,
                severity,
                kind: r.check.value.kind(),
                when,
                check,
                columns: read,
                threshold: r.threshold.unwrap_or_default(),
                builtin: false,
                reason: r.check.value.reason(),
            });
        }
    }
    let mut table_checks = Vec::new();
    for c in &t.table_checks {
        let head = bind_head(&mut cx, &c.dimension, c.severity.as_ref());
        let kind = &c.check.value;
        let mut ok = true;
        if let Some(problem) = kind.invalid() {
            cx.error("invalid-option", &c.check, problem);
            ok = false;
        }
        if let Some(name) = kind.column() {
            ok &= cx
                .column_of(name, kind.kind(), kind.column_types())
                .is_some();
        }
        if let (Some((dimension, severity)), true) = (head, ok) {
            table_checks.push(BoundTableCheck {
                id: c.id.value.clone(),
                name: c.name.clone(),
                dimension,
                severity,
                kind: kind.clone(),
            });
        }
    }
    let errors_after = diags.iter().filter(|d| d.is_error()).count();
    (errors_after == errors_before).then(|| BoundTable {
        library: library.clone(),
        title: t.title.clone().unwrap_or_else(|| name.clone()),
        name,
        source,
        columns,
        schema,
        key,
        provider,
        rules,
        table_checks,
        skipped: Vec::new(),
    })
}

/// A rule's or table check's dimension and severity (problems reported).
fn bind_head(
    cx: &mut BindCx<'_>,
    dimension: &Spanned<String>,
    severity: Option<&Spanned<String>>,
) -> Option<(Dimension, Severity)> {
    let parsed = Dimension::parse(&dimension.value);
    if parsed.is_none() {
        let names: Vec<String> = Dimension::ALL
            .iter()
            .map(|d| format!("{} ({})", d.zh(), d.en()))
            .collect();
        cx.report(
            Diagnostic::error(
                "unknown-dimension",
                format!("unknown quality dimension `{}`", dimension.value),
            )
            .at(cx.span(dimension))
            .help(format!("the dimensions are: {}", names.join(", "))),
        );
    }
    let severity = match severity {
        None => Some(Severity::Error),
        Some(s) => {
            let parsed = Severity::parse(&s.value);
            if parsed.is_none() {
                cx.error(
                    "unknown-severity",
                    s,
                    format!("unknown severity `{}` (expected error or warn)", s.value),
                );
            }
            parsed
        }
    };
    Some((parsed?, severity?))
}

fn bind_key_columns(
    pack: &Pack,
    t: &TableDoc,
    columns: &[BoundColumn],
    diags: &mut Vec<Diagnostic>,
) -> Vec<String> {
    if t.key.is_empty() {
        diags.push(
            Diagnostic::error(
                "missing-key",
                format!("table `{}` declares no key column", t.name.value),
            )
            .at(pack.span(&t.name)),
        );
    }
    let mut key = Vec::new();
    for k in &t.key {
        if columns.iter().any(|c| c.name == k.value) {
            key.push(k.value.clone());
        } else {
            diags.push(unknown_column(&k.value, columns, pack.span(k)));
        }
    }
    key
}

fn bind_source(
    pack: &Pack,
    t: &TableDoc,
    override_path: Option<&PathBuf>,
    diags: &mut Vec<Diagnostic>,
) -> Option<BoundSource> {
    let src = &t.source;
    let at = pack.span(&src.path);
    let pattern = match override_path {
        Some(p) => p.to_string_lossy().into_owned(),
        None => resolve(pack.dir(), &src.path.value),
    };
    let files = match expand(&pattern) {
        Ok(files) if !files.is_empty() => files,
        Ok(_) => {
            let what = if override_path.is_some() {
                "--data path"
            } else {
                "source"
            };
            diags.push(
                Diagnostic::error(
                    "source-not-found",
                    format!("{what} `{pattern}` matches no file"),
                )
                .at(at),
            );
            return None;
        }
        Err(message) => {
            diags.push(Diagnostic::error("source-not-found", message).at(at));
            return None;
        }
    };
    let format_name = if let Some(f) = &src.format {
        f.value.to_ascii_lowercase()
    } else {
        let ext = files[0]
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if ext == "parquet" || ext == "csv" {
            ext
        } else {
            diags.push(
                Diagnostic::error(
                    "missing-format",
                    format!("cannot tell the format of `{pattern}` from its extension"),
                )
                .at(at)
                .help("add `format: csv` or `format: parquet` to the source"),
            );
            return None;
        }
    };
    let csv_only: [(&str, bool); 5] = [
        ("encoding", src.encoding.is_some()),
        ("delimiter", src.delimiter.is_some()),
        ("quote", src.quote.is_some()),
        ("header", src.header.is_some()),
        ("null_values", src.null_values.is_some()),
    ];
    let format = match format_name.as_str() {
        "parquet" => {
            if let Some((opt, _)) = csv_only.iter().find(|(_, set)| *set) {
                diags.push(
                    Diagnostic::error(
                        "invalid-option",
                        format!("`{opt}` applies to CSV sources only"),
                    )
                    .at(at.clone()),
                );
            }
            SourceFormat::Parquet
        }
        "csv" => SourceFormat::Csv(bind_csv_options(pack, t, diags)?),
        other => {
            let f = src.format.as_ref()?;
            diags.push(
                Diagnostic::error("unknown-format", format!("unknown source format `{other}`"))
                    .at(pack.span(f))
                    .help("the formats are: csv, parquet"),
            );
            return None;
        }
    };
    Some(BoundSource {
        pattern,
        files,
        format,
        left_out: Vec::new(),
    })
}

fn bind_csv_options(pack: &Pack, t: &TableDoc, diags: &mut Vec<Diagnostic>) -> Option<CsvOptions> {
    let src = &t.source;
    let mut ok = true;
    let encoding = match &src.encoding {
        None => encoding_rs::UTF_8,
        Some(e) => match e.value.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => encoding_rs::UTF_8,
            "gbk" => encoding_rs::GBK,
            "gb18030" => encoding_rs::GB18030,
            _ => {
                diags.push(
                    Diagnostic::error(
                        "unknown-encoding",
                        format!("unknown encoding `{}`", e.value),
                    )
                    .at(pack.span(e))
                    .help("the encodings are: utf-8, gbk, gb18030"),
                );
                ok = false;
                encoding_rs::UTF_8
            }
        },
    };
    let mut one_byte = |v: &Option<Spanned<String>>, what: &str, default: u8| -> u8 {
        match v {
            None => default,
            Some(s) => {
                let text = if s.value == "\\t" {
                    "\t"
                } else {
                    s.value.as_str()
                };
                match text.as_bytes() {
                    [b] if b.is_ascii() && *b != b'\n' && *b != b'\r' => *b,
                    _ => {
                        diags.push(
                            Diagnostic::error(
                                "invalid-option",
                                format!("{what} must be one ASCII character"),
                            )
                            .at(pack.span(s)),
                        );
                        ok = false;
                        default
                    }
                }
            }
        }
    };
    let delimiter = one_byte(&src.delimiter, "delimiter", b',');
    let quote = one_byte(&src.quote, "quote", b'"');
    if delimiter == quote {
        diags.push(
            Diagnostic::error("invalid-option", "delimiter and quote must differ")
                .at(pack.span(&src.path)),
        );
        ok = false;
    }
    ok.then(|| CsvOptions {
        encoding,
        delimiter,
        quote,
        header: src.header.unwrap_or(true),
        null_values: src
            .null_values
            .clone()
            .unwrap_or_else(|| vec![String::new()]),
    })
}

/// Take damaged files out of `source`: under `keep_going` each is recorded in
/// [`BoundSource::left_out`] with a warning, otherwise each is an error. `None` when no file
/// is left to audit.
fn leave_out_damaged(
    pack: &Pack,
    t: &TableDoc,
    source: &mut BoundSource,
    damaged: Vec<(PathBuf, String)>,
    keep_going: bool,
    diags: &mut Vec<Diagnostic>,
) -> Option<()> {
    let at = pack.span(&t.source.path);
    for (file, reason) in damaged {
        source.files.retain(|f| *f != file);
        if keep_going {
            diags.push(
                Diagnostic::warning("source-left-out", format!("{reason}; the file is left out"))
                    .at(at.clone()),
            );
            source.left_out.push(LeftOutFile { file, reason });
        } else {
            diags.push(
                Diagnostic::error("source-unreadable", reason)
                    .at(at.clone())
                    .help("`qc run --keep-going` audits the other files and marks the run partial"),
            );
        }
    }
    if source.files.is_empty() {
        if keep_going {
            diags.push(
                Diagnostic::error(
                    "source-unreadable",
                    format!("no readable file is left of `{}`", source.pattern),
                )
                .at(at),
            );
        }
        return None;
    }
    Some(())
}

/// A source path resolved against the pack's folder (absolute paths stay as they are).
fn resolve(dir: &Path, path: &str) -> String {
    let p = Path::new(path);
    if p.is_absolute() {
        path.to_string()
    } else {
        dir.join(p).to_string_lossy().into_owned()
    }
}

/// The files a path or glob names, sorted.
fn expand(pattern: &str) -> Result<Vec<PathBuf>, String> {
    let is_glob = pattern.contains(['*', '?', '[']);
    if !is_glob {
        let p = PathBuf::from(pattern);
        return Ok(if p.exists() { vec![p] } else { Vec::new() });
    }
    let paths = glob::glob(pattern).map_err(|e| format!("invalid glob `{pattern}`: {e}"))?;
    let mut files = BTreeSet::new();
    for entry in paths {
        match entry {
            // Anything but a folder: a file that cannot be opened (a dangling link, no
            // permission) is then reported by name, not silently passed over.
            Ok(p) if !p.is_dir() => {
                files.insert(p);
            }
            Ok(_) => {}
            Err(e) => return Err(format!("{}: {}", e.path().display(), e.error())),
        }
    }
    Ok(files.into_iter().collect())
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
