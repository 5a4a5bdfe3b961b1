//! One table of a pack → [`BoundTable`], in steps a reader can follow: its name and source,
//! its columns (as declared, checked against the Parquet footers or the CSV headers), its key
//! and provider, its rules and its table checks.
//!
//! Every step reports what it finds and goes as far as it can, so one `qc check` shows every
//! problem; the table binds when no step reported an error. A step that leaves nothing to
//! bind against (no file found, no readable file left, a CSV table without columns) ends the
//! table there.

use std::collections::HashSet;
use std::path::PathBuf;

use arrow::datatypes::SchemaRef;
use datafusion::common::DFSchema;
use datafusion::execution::SessionState;
use datafusion::logical_expr::{ident, lit};

use super::parse::{BandDoc, ColumnDoc, Pack, RuleDoc, TableCheckDoc, TableDoc};
use super::source::{bind_source, leave_out_damaged};
use super::{
    BoundRule, BoundTable, BoundTableCheck, Library, RuleCheck, SourceOptions, is_identifier,
};
use crate::checks::cx::{BindCx, unknown_column};
use crate::checks::table::TableCheckKind;
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::rules::codelists::CodeLists;
use crate::rules::pii::Pii;
use crate::rules::source::{BoundSource, CsvOptions, SourceFormat};
use crate::rules::{BoundColumn, ColumnType, Dimension, Severity, Spanned, TableRef, Threshold};
use crate::scan::{self, csv::ParseError};

/// Bind one table of `pack` (see the module documentation). `None` when any step reported an
/// error.
/// `each`: for a table written once for many files, this file's table (its name and file).
#[allow(clippy::too_many_arguments)] // the pack, the table and what binding reads
pub(super) async fn bind_table(
    pack: &Pack,
    t: &TableDoc,
    each: Option<&(String, PathBuf)>,
    library: &Library,
    state: &SessionState,
    sources: &SourceOptions,
    codelists: &CodeLists,
    diags: &mut Vec<Diagnostic>,
) -> Option<BoundTable> {
    let errors_before = error_count(diags);
    let name = each.map_or_else(|| t.name.value.clone(), |(n, _)| n.clone());
    if !is_identifier(&name) {
        diags.push(
            Diagnostic::error(
                Code::InvalidName,
                format!("table name `{name}` is not an identifier"),
            )
            .at(pack.span(&t.name)),
        );
    }
    let qualified = TableRef::new(&library.id, &name).to_string();
    let own_file = each.map(|(_, f)| crate::rules::source::DataOverride::path(f));
    let data = sources
        .overrides
        .get(&qualified)
        .or(sources.overrides.get(&name))
        .or(own_file.as_ref());
    let mut source = bind_source(pack, t, data, diags)?;
    // Files an earlier attempt of this run found damaged while scanning.
    let known: Vec<(PathBuf, String)> = sources
        .damaged
        .iter()
        .filter(|d| source.files.contains(&d.file))
        .map(|d| (d.file.clone(), d.reason.clone()))
        .collect();
    if !leave_out_damaged(pack, t, &mut source, known, sources.keep_going, diags) {
        return None;
    }

    let declared = declared_columns(pack, t, diags);
    // Columns named by partition folders are read from the files' paths, not the files.
    let (in_paths, in_files): (Vec<_>, Vec<_>) = declared
        .into_iter()
        .partition(|(c, _)| source.partitions.contains(&c.name.value));
    let (mut columns, scan_schema) = match source.format.clone() {
        SourceFormat::Parquet => {
            parquet_columns(pack, t, &in_files, &mut source, state, sources, diags).await?
        }
        SourceFormat::Csv(opts) => {
            csv_columns(pack, t, &in_files, &mut source, &opts, sources, diags)?
        }
    };
    let schema = partition_columns(
        pack,
        t,
        &in_paths,
        &source,
        &mut columns,
        &scan_schema,
        diags,
    )?;
    let key = key_columns(pack, t, &columns, diags);
    let provider = provider_column(pack, t, &columns, diags);

    let df_schema = match DFSchema::try_from(schema.as_ref().clone()) {
        Ok(s) => s,
        Err(e) => {
            diags.push(
                Diagnostic::error(Code::SourceUnreadable, e.to_string()).at(pack.span(&t.name)),
            );
            return None;
        }
    };
    let mut rules = Vec::new();
    if matches!(source.format, SourceFormat::Csv(_)) {
        rules.extend(parse_rules());
    }
    // One context for every rule and table check of the table; `read` is taken per rule.
    let mut cx = BindCx {
        file: &pack.file,
        columns: &columns,
        df_schema: &df_schema,
        state,
        codelists,
        diagnostics: diags,
        read: Vec::new(),
        record_date: None,
        roles: std::collections::BTreeMap::new(),
    };
    for r in &t.rules {
        if let Some(roles) = &r.roles {
            cx.error(
                Code::InvalidOption,
                roles,
                "`roles` belongs to a template; a table's own rule names its columns",
            );
        }
        if let Some((rule, band)) = bind_rule_and_band(&mut cx, r) {
            rules.push(rule);
            rules.extend(band);
        }
    }
    rules.extend(bind_uses(pack, t, &mut cx));
    if provider.is_none() {
        for r in t.rules.iter().filter(|r| {
            r.threshold
                .as_ref()
                .is_some_and(crate::rules::Threshold::per_provider)
        }) {
            cx.error(
                Code::InvalidThreshold,
                &r.id,
                "a threshold per provider needs the table's `provider` column",
            );
        }
    }
    let mut exemptions = super::exemptions::apply(
        &t.exemptions,
        &key,
        provider.as_deref(),
        &mut rules,
        &mut cx,
    );
    exemptions.extend(super::exemptions::accept(
        sources.accepted.get(&qualified),
        &key,
        &mut rules,
    ));
    let table_checks: Vec<BoundTableCheck> = t
        .table_checks
        .iter()
        .filter_map(|c| bind_table_check(&mut cx, c))
        .collect();
    // A trend per provider needs the provider column; a rule's failure rate, the rule.
    for c in &t.table_checks {
        let TableCheckKind::Trend(trend) = &c.check.value else {
            continue;
        };
        if let (Some(per), None) = (
            trend.per.as_ref().filter(|_| trend.per_provider()),
            &provider,
        ) {
            cx.error(
                Code::InvalidOption,
                per,
                "a trend per provider needs the table's `provider` column",
            );
        }
        if let crate::checks::trend::TrendMetric::FailedRate(id) = &trend.metric
            && !rules.iter().any(|r| r.id == id.value)
        {
            cx.unknown_rule("the trend", id, rules.iter().map(|r| r.id.as_str()));
        }
    }

    (error_count(diags) == errors_before).then(|| BoundTable {
        entry: t.name.value.clone(),
        library: library.clone(),
        title: t.title.clone().unwrap_or_else(|| name.clone()),
        name,
        source,
        columns,
        schema,
        scan_schema,
        key,
        provider,
        rules,
        table_checks,
        skipped: Vec::new(),
        partial: Vec::new(),
        exemptions,
    })
}

fn error_count(diags: &[Diagnostic]) -> usize {
    diags.iter().filter(|d| d.is_error()).count()
}

/// The columns the pack declares, each with its parsed type; problems reported, and the
/// column left out, per column.
fn declared_columns<'t>(
    pack: &Pack,
    t: &'t TableDoc,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(&'t ColumnDoc, ColumnType)> {
    let mut declared = Vec::new();
    let mut seen = HashSet::new();
    for c in &t.columns {
        if c.name.value.starts_with(scan::META_PREFIX) {
            diags.push(
                Diagnostic::error(
                    Code::InvalidName,
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
                    Code::DuplicateColumn,
                    format!("column `{}` is declared twice", c.name.value),
                )
                .at(pack.span(&c.name)),
            );
            continue;
        }
        let Some(ty) = ColumnType::parse(&c.data_type.value) else {
            let d = Diagnostic::error(
                Code::UnknownType,
                format!("unknown column type `{}`", c.data_type.value),
            )
            .at(pack.span(&c.data_type))
            .help(match did_you_mean(&c.data_type.value, ColumnType::NAMES) {
                Some(best) => format!("did you mean `{best}`?"),
                None => format!("the types are: {}", ColumnType::NAMES.join(", ")),
            });
            diags.push(d);
            continue;
        };
        if let Some(n) = &c.null_like
            && ty != ColumnType::String
        {
            diags.push(
                Diagnostic::error(
                    Code::InvalidOption,
                    format!(
                        "`null_like` applies to text columns; `{}` is {ty}",
                        c.name.value
                    ),
                )
                .at(pack.span(n))
                .help("a typed column cannot hold a placeholder in Parquet; in CSV, list it in the source's `null_values`"),
            );
        }
        if let Some(p) = &c.pii
            && Pii::parse(&p.value).is_none()
        {
            diags.push(
                Diagnostic::error(
                    Code::InvalidOption,
                    format!("unknown personal-data kind `{}`", p.value),
                )
                .at(pack.span(p))
                .help("the kinds are: id_number, name"),
            );
        }
        if let Some(format) = &c.format {
            if !ty.is_temporal() {
                diags.push(
                    Diagnostic::error(
                        Code::InvalidOption,
                        "`format` applies to date and timestamp columns only",
                    )
                    .at(pack.span(format)),
                );
            }
            for f in format.value.list() {
                let broken = chrono::format::StrftimeItems::new(f)
                    .any(|i| matches!(i, chrono::format::Item::Error));
                if broken || f.is_empty() {
                    diags.push(
                        Diagnostic::error(
                            Code::InvalidOption,
                            format!("`{f}` is not a date format (chrono's strftime syntax, e.g. `%Y/%m/%d`)"),
                        )
                        .at(pack.span(format)),
                    );
                }
            }
        }
        declared.push((c, ty));
    }
    declared
}

/// The partition columns (`source.partitions`) appended to `columns`, typed as declared
/// (text when not declared), each file's folder checked to read as its type; the table's
/// schema with them. A partition key that is also a column of the files is an error.
fn partition_columns(
    pack: &Pack,
    t: &TableDoc,
    declared: &[(&ColumnDoc, ColumnType)],
    source: &BoundSource,
    columns: &mut Vec<BoundColumn>,
    scan_schema: &SchemaRef,
    diags: &mut Vec<Diagnostic>,
) -> Option<SchemaRef> {
    if source.partitions.is_empty() {
        return Some(std::sync::Arc::clone(scan_schema));
    }
    let mut ok = true;
    let mut fields: Vec<arrow::datatypes::FieldRef> =
        scan_schema.fields().iter().cloned().collect();
    for key in &source.partitions {
        let doc = declared.iter().find(|(c, _)| c.name.value == *key);
        if scan_schema.field_with_name(key).is_ok() {
            diags.push(
                Diagnostic::error(
                    Code::InvalidOption,
                    format!(
                        "`{key}` is both a partition folder (`{key}=…/`) and a column of the files"
                    ),
                )
                .at(pack.span(&t.source.path))
                .help("rename the folders or the column: a row would have two values"),
            );
            ok = false;
            continue;
        }
        let column = match doc {
            Some((c, ty)) => declared_column(c, *ty),
            None => BoundColumn::plain(key, ColumnType::String),
        };
        if let Err((file, message)) = scan::partition::values(source, &column) {
            let mut d = Diagnostic::error(
                Code::TypeMismatch,
                format!("partition folder of {}: {message}", file.display()),
            );
            d = match doc {
                Some((c, _)) => d.at(pack.span(&c.data_type)),
                None => d.at(pack.span(&t.source.path)),
            };
            diags.push(d);
            ok = false;
            continue;
        }
        fields.push(std::sync::Arc::new(arrow::datatypes::Field::new(
            key,
            column.arrow.clone(),
            true,
        )));
        columns.push(column);
    }
    ok.then(|| std::sync::Arc::new(arrow::datatypes::Schema::new(fields)))
}

/// A Parquet table's columns: as declared (each checked against the files' schema), or
/// every column of the files when none is declared. Damaged files are left out first.
async fn parquet_columns(
    pack: &Pack,
    t: &TableDoc,
    declared: &[(&ColumnDoc, ColumnType)],
    source: &mut BoundSource,
    state: &SessionState,
    sources: &SourceOptions,
    diags: &mut Vec<Diagnostic>,
) -> Option<(Vec<BoundColumn>, SchemaRef)> {
    let expected: Vec<(String, ColumnType)> = declared
        .iter()
        .map(|(c, ty)| (c.name.value.clone(), *ty))
        .collect();
    let check = scan::parquet::check_files(&source.files, &expected);
    if !leave_out_damaged(pack, t, source, check.damaged, sources.keep_going, diags) {
        return None;
    }
    let file_schema = match scan::parquet::schema(state, &source.files).await {
        Ok(s) => s,
        Err(message) => {
            diags.push(
                Diagnostic::error(Code::SourceUnreadable, message).at(pack.span(&t.source.path)),
            );
            return None;
        }
    };
    let mut columns = Vec::new();
    if declared.is_empty() {
        for f in file_schema.fields() {
            if let Some(ty) = ColumnType::of_arrow(f.data_type()) {
                columns.push(BoundColumn {
                    arrow: f.data_type().clone(),
                    ..BoundColumn::plain(f.name(), ty)
                });
            }
        }
    }
    for (c, ty) in declared {
        let Ok(f) = file_schema.field_with_name(&c.name.value) else {
            let mut d = Diagnostic::error(
                Code::SourceMissingColumn,
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
            continue;
        };
        if ColumnType::of_arrow(f.data_type()) != Some(*ty) {
            diags.push(
                Diagnostic::error(
                    Code::TypeMismatch,
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
            format: Vec::new(),
            pii: c.pii.as_ref().and_then(|p| Pii::parse(&p.value)),
            null_like: null_like(c),
        });
    }
    Some((columns, file_schema))
}

/// A column as declared, of its declared type (what a CSV file or a partition folder holds).
fn declared_column(c: &ColumnDoc, ty: ColumnType) -> BoundColumn {
    BoundColumn {
        name: c.name.value.clone(),
        ty,
        arrow: ty.arrow_type(),
        title: c.title.clone(),
        format: c
            .format
            .as_ref()
            .map(|f| f.value.list().to_vec())
            .unwrap_or_default(),
        pii: c.pii.as_ref().and_then(|p| Pii::parse(&p.value)),
        null_like: null_like(c),
    }
}

/// The placeholders a declared column counts as missing, trimmed like blanks are.
fn null_like(c: &ColumnDoc) -> Vec<String> {
    c.null_like.as_ref().map_or_else(Vec::new, |n| {
        n.value
            .iter()
            .map(|v| {
                v.trim_matches(crate::checks::not_null::is_blank_char)
                    .to_string()
            })
            .collect()
    })
}

/// A CSV table's columns: as declared (CSV has no schema of its own), each checked against
/// the files' headers. Damaged files are left out.
fn csv_columns(
    pack: &Pack,
    t: &TableDoc,
    declared: &[(&ColumnDoc, ColumnType)],
    source: &mut BoundSource,
    opts: &CsvOptions,
    sources: &SourceOptions,
    diags: &mut Vec<Diagnostic>,
) -> Option<(Vec<BoundColumn>, SchemaRef)> {
    if declared.is_empty() {
        diags.push(
            Diagnostic::error(
                Code::MissingColumns,
                format!(
                    "CSV table `{}` must declare its columns and their types",
                    t.name.value
                ),
            )
            .at(pack.span(&t.name)),
        );
        return None;
    }
    let columns: Vec<BoundColumn> = declared
        .iter()
        .map(|(c, ty)| declared_column(c, *ty))
        .collect();
    let check = scan::csv::check_files(&source.files, opts, &columns);
    for (file, _) in &check.good {
        if let Some(looks) = scan::csv::encoding_hint(file, opts.encoding) {
            let declare = if looks == encoding_rs::UTF_8 {
                "utf-8"
            } else {
                "gbk"
            };
            diags.push(
                Diagnostic::warning(
                    Code::EncodingMismatch,
                    format!(
                        "{} does not read as {} (the declared encoding) but reads as {}: its \
                         records will fail as PARSE-ENCODING",
                        file.display(),
                        opts.encoding.name(),
                        if declare == "gbk" {
                            "GBK/GB18030"
                        } else {
                            "UTF-8"
                        },
                    ),
                )
                .at(pack.span(&t.name))
                .help(format!(
                    "declare `encoding: {declare}` in the table's `source`"
                )),
            );
        }
    }
    // Files left after the check lack a column only when all of them do: the pack's columns
    // are wrong, reported at each column.
    for (file, header) in check.good.iter().filter(|_| opts.header) {
        for ((c, _), bound) in declared.iter().zip(&columns) {
            if scan::csv::header_position(header, bound).is_some() {
                continue;
            }
            let mut d = Diagnostic::error(
                Code::SourceMissingColumn,
                format!(
                    "column `{}` is not in the header of {}",
                    c.name.value,
                    file.display()
                ),
            )
            .at(pack.span(&c.name));
            if let Some(best) = did_you_mean(&c.name.value, header.iter().map(String::as_str)) {
                d = d.help(format!("the header has `{best}`"));
            }
            diags.push(d);
        }
    }
    if !leave_out_damaged(pack, t, source, check.damaged, sources.keep_going, diags) {
        return None;
    }
    let schema = scan::csv::table_schema(&columns);
    Some((columns, schema))
}

/// The key columns (at least one, each a column of the table).
fn key_columns(
    pack: &Pack,
    t: &TableDoc,
    columns: &[BoundColumn],
    diags: &mut Vec<Diagnostic>,
) -> Vec<String> {
    if t.key.is_empty() {
        diags.push(
            Diagnostic::error(
                Code::MissingKey,
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

/// The provider column, if the table names one (it must be a column of the table).
fn provider_column(
    pack: &Pack,
    t: &TableDoc,
    columns: &[BoundColumn],
    diags: &mut Vec<Diagnostic>,
) -> Option<String> {
    let p = t.provider.as_ref()?;
    if columns.iter().any(|c| c.name == p.value) {
        Some(p.value.clone())
    } else {
        diags.push(unknown_column(&p.value, columns, pack.span(p)));
        None
    }
}

/// One rule: its dimension, severity, threshold, precondition and check. A set-based check
/// is only marked here; it binds once every table of the run is known ([`super::sets`]).
fn bind_rule(cx: &mut BindCx<'_>, r: &RuleDoc) -> Option<BoundRule> {
    let head = bind_head(cx, &r.dimension, r.severity.as_ref());
    check_threshold(cx, r.threshold.as_ref(), &r.id);
    let when = r
        .when
        .as_ref()
        .and_then(|w| crate::checks::expr::bind_boolean(w, "when", cx));
    let validity = super::dated::validity(r, cx);
    // The text a failing row gets: the rule's `message` (its whole reason), its `explain`
    // (said after the reason), or what its kind says of a row by default.
    let (explain, explain_is_reason) = match (&r.message, &r.explain) {
        (Some(_), Some(e)) => {
            cx.error(
                Code::InvalidOption,
                e,
                "a rule has `message` or `explain`, not both: write the explanation into the \
                 message's placeholders",
            );
            (None, true)
        }
        (Some(m), None) => (crate::checks::message::bind(m, cx), true),
        (None, Some(e)) => (crate::checks::expr::bind_text(e, cx), false),
        (None, None) => (r.check.value.row_explain(cx), false),
    };
    let written = r.message.as_ref().or(r.explain.as_ref());
    let check = if r.check.value.is_set() {
        Some(RuleCheck::Set(None))
    } else {
        r.check.value.bind(cx).map(RuleCheck::Row)
    };
    let read = std::mem::take(&mut cx.read);
    let ((dimension, severity), check, validity) = (head?, check?, validity?);
    let missing = |e, cx: &mut BindCx<'_>| as_missing(e, cx, &r.id);
    let when = match when {
        Some(w) => Some(missing(w, cx)?),
        None => None,
    };
    // A rule in force on some record dates only is not applicable to the others.
    let when = match (when, validity) {
        (Some(w), Some(v)) => Some(v.and(w)),
        (w, v) => w.or(v),
    };
    let check = match check {
        RuleCheck::Row(e) => RuleCheck::Row(missing(e, cx)?),
        set @ RuleCheck::Set(_) => set,
    };
    let explain = match explain {
        Some(e) => Some(missing(e, cx)?),
        None => None,
    };
    if (r.when.is_some() && when.is_none()) || (written.is_some() && explain.is_none()) {
        return None;
    }
    if let (Some(at), RuleCheck::Set(_)) = (written, &check) {
        cx.error(
            Code::InvalidOption,
            at,
            "`message` and `explain` describe a failing row of a row rule; a set-based rule's \
             rows fail by their group (its reason names the columns it matches)",
        );
        return None;
    }
    Some(BoundRule {
        id: r.id.value.clone(),
        name: r.name.clone(),
        description: r.description.clone(),
        dimension,
        severity,
        kind: r.check.value.kind(),
        when,
        check,
        columns: read,
        threshold: r.threshold.clone().unwrap_or_default(),
        builtin: false,
        reason: match (&r.message, &r.check.value) {
            (Some(m), _) => {
                let text = crate::checks::message::as_reason(&m.value);
                (text.clone(), text)
            }
            (None, check) => check.reason(&r.name),
        },
        explain,
        explain_is_reason,
        band_of: None,
        template: None,
    })
}

/// A rule and its warning band, if it has one. The rule's record date (`cx.record_date`)
/// holds while both bind: the band's dated code lists are judged on it.
fn bind_rule_and_band(cx: &mut BindCx<'_>, r: &RuleDoc) -> Option<(BoundRule, Option<BoundRule>)> {
    let bound = bind_rule(cx, r).map(|rule| {
        let band = r.warning.as_ref().and_then(|b| bind_band(cx, r, &rule, b));
        (rule, band)
    });
    cx.record_date = None;
    bound
}

/// The templates `t` uses, each bound with the table's roles and overrides. A template's
/// problems are reported at its own lines (in the pack or the file that holds it), a use's
/// at the table's.
fn bind_uses<'a>(pack: &'a Pack, t: &'a TableDoc, cx: &mut BindCx<'a>) -> Vec<BoundRule> {
    let mut out = Vec::new();
    let mut roles = std::collections::BTreeMap::new();
    for (role, column) in &t.roles {
        if cx.columns.iter().any(|c| c.name == column.value) {
            roles.insert(role.clone(), column.value.clone());
        } else {
            let d = unknown_column(&column.value, cx.columns, cx.span(column));
            cx.report(d);
        }
    }
    let templates: Vec<_> = pack.templates().collect();
    for u in &t.uses {
        let Some(&(file, template)) = templates
            .iter()
            .find(|(_, r)| r.id.value == u.template.value)
        else {
            let mut d = Diagnostic::error(
                Code::InvalidOption,
                format!("unknown template `{}`", u.template.value),
            )
            .at(cx.span(&u.template));
            let known = templates.iter().map(|(_, r)| r.id.value.as_str());
            if let Some(best) = did_you_mean(&u.template.value, known) {
                d = d.help(format!("did you mean `{best}`?"));
            }
            cx.report(d);
            continue;
        };
        let missing: Vec<&str> = template
            .roles
            .iter()
            .flat_map(|r| r.value.iter())
            .filter(|r| !t.roles.contains_key(*r))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            cx.error(
                Code::InvalidOption,
                &u.template,
                format!(
                    "template `{}` reads the role(s) {}: map each to a column of table `{}` \
                     under its `roles:`",
                    template.id.value,
                    missing.join(", "),
                    t.name.value
                ),
            );
            continue;
        }
        if matches!(
            template.check.value,
            crate::checks::CheckDoc::Reference(_) | crate::checks::CheckDoc::Query(_)
        ) {
            cx.error(
                Code::InvalidOption,
                &u.template,
                format!(
                    "template `{}` is a `{}` rule, which reads other tables by name; only row \
                     checks, `unique` and `history` can be templates: write the rule in the table",
                    template.id.value,
                    template.check.value.kind()
                ),
            );
            continue;
        }
        // The template binds at its own lines, with the table's columns for its roles.
        let own_file = cx.file;
        cx.file = file;
        cx.roles.clone_from(&roles);
        let bound = bind_rule_and_band(cx, template);
        cx.file = own_file;
        let Some((mut rule, mut band)) = bound else {
            cx.roles.clear();
            continue;
        };
        // The table's overrides, at its own lines.
        if let Some(parsed) = u.severity.as_ref().and_then(|s| parse_severity(cx, s)) {
            rule.severity = parsed;
        }
        if let Some(th) = &u.threshold {
            check_threshold(cx, Some(th), &u.template);
            rule.threshold = th.clone();
        }
        if let Some(w) = &u.when {
            let extra = crate::checks::expr::bind_boolean(w, "when", cx)
                .and_then(|e| as_missing(e, cx, &u.template));
            for c in std::mem::take(&mut cx.read) {
                if !rule.columns.contains(&c) {
                    rule.columns.push(c);
                }
            }
            if let Some(extra) = extra {
                rule.when = Some(match rule.when.take() {
                    Some(w) => w.and(extra),
                    None => extra,
                });
            }
        }
        cx.roles.clear();
        for r in std::iter::once(&mut rule).chain(band.as_mut()) {
            // Reasons name the table's columns, not the roles.
            for (role, column) in &roles {
                for text in [&mut r.reason.0, &mut r.reason.1] {
                    *text = replace_name(text, role, column);
                }
            }
            r.template = Some(template.id.value.clone());
        }
        out.push(rule);
        out.extend(band);
    }
    out
}

/// `text` with each occurrence of the name `from` that stands as a whole identifier (not
/// inside a longer one) replaced by `to`.
fn replace_name(text: &str, from: &str, to: &str) -> String {
    let part = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let before = if at > 0 {
            rest[..at].chars().last()
        } else {
            out.chars().last()
        };
        let after = rest[at + from.len()..].chars().next();
        out.push_str(&rest[..at]);
        out.push_str(if part(before) || part(after) {
            from
        } else {
            to
        });
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

/// `e` with placeholders (`null_like`) read as NULL: they are missing to every row rule and
/// every `when`.
fn as_missing(
    e: datafusion::logical_expr::Expr,
    cx: &mut BindCx<'_>,
    id: &Spanned<String>,
) -> Option<datafusion::logical_expr::Expr> {
    match crate::checks::placeholders_as_null(e, cx.columns) {
        Ok(e) => Some(e),
        Err(err) => {
            cx.error(Code::Internal, id, format!("placeholders: {err}"));
            None
        }
    }
}

/// A threshold's rates are shares (0–1); others are reported at the rule's id.
fn check_threshold(cx: &mut BindCx<'_>, th: Option<&Threshold>, id: &Spanned<String>) {
    let Some(th) = th else { return };
    let rates = std::iter::once(th.max_rate).chain(th.providers.values().map(|l| l.max_rate));
    if rates.flatten().any(|x| !(0.0..=1.0).contains(&x)) {
        cx.error(
            Code::InvalidThreshold,
            id,
            "threshold max_rate must be between 0 and 1",
        );
    }
}

/// The warning band of `rule` (bound from `r`): a rule `<id>.warn` of severity `warn` over
/// the rows that pass `rule` — a row in the error band is not in the warning band, so no row
/// is counted twice.
fn bind_band(
    cx: &mut BindCx<'_>,
    r: &RuleDoc,
    rule: &BoundRule,
    band: &Spanned<BandDoc>,
) -> Option<BoundRule> {
    let b = &band.value;
    let RuleCheck::Row(error_band) = &rule.check else {
        cx.error(
            Code::InvalidOption,
            band,
            "a warning band divides the rows of a row rule; a set-based rule's rows fail by \
             their group",
        );
        return None;
    };
    if rule.severity != Severity::Error {
        cx.error(
            Code::InvalidOption,
            band,
            "a rule with a warning band is its error band: leave its severity at `error`",
        );
        return None;
    }
    if b.check.value.is_set() {
        cx.error(
            Code::InvalidOption,
            &b.check,
            "a warning band is a row check (not_null, range, order, expr, …)",
        );
        return None;
    }
    check_threshold(cx, b.threshold.as_ref(), &r.id);
    let explain = match &b.message {
        Some(m) => crate::checks::message::bind(m, cx),
        None => b.check.value.row_explain(cx),
    };
    let check = b.check.value.bind(cx);
    let mut read = std::mem::take(&mut cx.read);
    let check = as_missing(check?, cx, &r.id)?;
    let explain = match explain {
        Some(e) => Some(as_missing(e, cx, &r.id)?),
        None if b.message.is_some() => return None,
        None => None,
    };
    for c in &rule.columns {
        if !read.contains(c) {
            read.push(c.clone());
        }
    }
    let outside_error_band = error_band.clone().is_not_false();
    let name = b
        .name
        .clone()
        .unwrap_or_else(|| format!("{}（预警）", rule.name));
    Some(BoundRule {
        id: format!("{}{}", rule.id, BAND_SUFFIX),
        reason: match &b.message {
            Some(m) => {
                let text = crate::checks::message::as_reason(&m.value);
                (text.clone(), text)
            }
            None => b.check.value.reason(&name),
        },
        name,
        description: rule.description.clone(),
        dimension: rule.dimension,
        severity: Severity::Warn,
        kind: b.check.value.kind(),
        when: Some(match &rule.when {
            Some(w) => w.clone().and(outside_error_band),
            None => outside_error_band,
        }),
        check: RuleCheck::Row(check),
        columns: read,
        threshold: b.threshold.clone().unwrap_or_default(),
        builtin: false,
        explain_is_reason: b.message.is_some(),
        explain,
        band_of: Some(rule.id.clone()),
        template: rule.template.clone(),
    })
}

/// The id of a rule's warning band: the rule's id followed by this.
pub const BAND_SUFFIX: &str = ".warn";

/// One table check: its dimension, severity, options and the column it reads.
fn bind_table_check(cx: &mut BindCx<'_>, c: &TableCheckDoc) -> Option<BoundTableCheck> {
    let head = bind_head(cx, &c.dimension, c.severity.as_ref());
    let kind = &c.check.value;
    let mut ok = true;
    if let Some(problem) = kind.invalid() {
        cx.error(Code::InvalidOption, &c.check, problem);
        ok = false;
    }
    if let TableCheckKind::Metric(m) = kind {
        let mut group_by = Vec::new();
        for g in &m.group_by {
            match cx.column(g) {
                Some(c) => group_by.push(c.name),
                None => ok = false,
            }
        }
        ok &= ok && crate::checks::expr::bind_group_value(&m.value, &group_by, cx).is_some();
    }
    if let Some(name) = kind.column() {
        ok &= cx
            .column_of(name, kind.kind(), kind.column_types())
            .is_some();
    }
    let (dimension, severity) = head?;
    ok.then(|| BoundTableCheck {
        id: c.id.value.clone(),
        name: c.name.clone(),
        dimension,
        severity,
        kind: kind.clone(),
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
                Code::UnknownDimension,
                format!("unknown quality dimension `{}`", dimension.value),
            )
            .at(cx.span(dimension))
            .help(format!("the dimensions are: {}", names.join(", "))),
        );
    }
    let severity = match severity {
        None => Some(Severity::Error),
        Some(s) => parse_severity(cx, s),
    };
    Some((parsed?, severity?))
}

/// A written severity, `unknown-severity` reported when it is neither.
fn parse_severity(cx: &mut BindCx<'_>, s: &Spanned<String>) -> Option<Severity> {
    let parsed = Severity::parse(&s.value);
    if parsed.is_none() {
        cx.error(
            Code::UnknownSeverity,
            s,
            format!("unknown severity `{}` (expected error or warn)", s.value),
        );
    }
    parsed
}

/// The built-in rules that count a CSV table's malformed records, one per kind of damage the
/// scan flags in its [`scan::META_ERROR`] column.
fn parse_rules() -> Vec<BoundRule> {
    ParseError::ALL
        .iter()
        .map(|e| BoundRule {
            id: e.rule_id().to_string(),
            name: e.rule_name().to_string(),
            description: None,
            dimension: e.dimension(),
            severity: Severity::Error,
            kind: "parse",
            when: None,
            // NULL (a well-formed record) passes, as every check's NULL does.
            check: RuleCheck::Row(ident(scan::META_ERROR).not_eq(lit(e.code()))),
            columns: Vec::new(),
            threshold: Threshold::default(),
            builtin: true,
            reason: (e.rule_name().to_string(), e.rule_name_en().to_string()),
            explain: None,
            explain_is_reason: false,
            band_of: None,
            template: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::replace_name;

    #[test]
    fn a_role_is_replaced_only_as_a_whole_name() {
        assert_eq!(
            replace_name(
                "「citizen_id」、citizen_id 重复；citizen_ids",
                "citizen_id",
                "sfzh"
            ),
            "「sfzh」、sfzh 重复；citizen_ids"
        );
        assert_eq!(
            replace_name("my_date, date", "date", "djrq"),
            "my_date, djrq"
        );
    }
}
