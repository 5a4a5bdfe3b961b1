//! `qc check PACK_OR_DIR...`: parse and bind packs against their sources' schemas, report
//! every problem, audit nothing. Exit 2 when any error is found.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::OutputArgs;
use super::output::{self, Format};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, ExitStatus, Result};
use crate::execute::session;
use crate::rules::source::DataOverride;
use crate::text::{Lang, Text};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Rule packs, or folders of packs (every *.yaml inside).
    #[arg(required_unless_present = "explain")]
    pub packs: Vec<PathBuf>,
    /// Print the documentation of a check kind.
    #[arg(
        long,
        value_name = "KIND",
        value_parser = clap::builder::PossibleValuesParser::new(
            crate::checks::DOCS.iter().map(|d| d.kind)
        )
    )]
    pub explain: Option<String>,
    /// Check the packs against other data, as `qc run --data` reads it:
    /// `TABLE=PATH[;KEY=VALUE…]`.
    #[arg(long = "data", value_name = "TABLE=PATH[;KEY=VALUE…]", value_parser = DataOverride::parse)]
    pub data: Vec<(String, DataOverride)>,
    /// Print the rules a table is audited with, as bound: its own, those of the templates it
    /// uses (with its roles and overrides) and their warning bands (`table` or
    /// `library.table`).
    #[arg(long, value_name = "TABLE")]
    pub expand: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    severity: &'a str,
    message: &'a str,
    location: Option<String>,
    help: Option<&'a str>,
}

pub fn check(args: &CheckArgs) -> Result<ExitStatus> {
    if let Some(kind) = &args.explain {
        return explain(kind, args.output.lang);
    }
    let rt = super::runtime(1)?;
    let ctx = session::session(1);
    let sources = crate::bind::SourceOptions {
        overrides: args.data.iter().cloned().collect(),
        ..crate::bind::SourceOptions::default()
    };
    let (packs, diagnostics) = rt.block_on(crate::bind::load(&args.packs, &ctx, &sources))?;
    crate::run::check_overrides(&sources, &packs)?;
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let text = Text::new(args.output.lang);
    match args.output.format {
        Format::Json => {
            let list: Vec<JsonDiagnostic<'_>> = diagnostics.iter().map(json).collect();
            let doc =
                serde_json::json!({ "errors": errors, "warnings": warnings, "diagnostics": list });
            output::stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).map_err(|e| Error::Internal(e.to_string()))?
            ));
        }
        Format::Text if !args.output.quiet || errors > 0 => {
            let mut out = String::new();
            for d in &diagnostics {
                out.push_str(&d.render());
                out.push_str("\n\n");
            }
            if errors > 0 {
                out.push_str(&text.check_failed(errors, warnings));
            } else {
                let tables: usize = packs.iter().map(|p| p.tables.len()).sum();
                let rules: usize = packs
                    .iter()
                    .flat_map(|p| &p.tables)
                    .map(|t| t.rules.iter().filter(|r| !r.builtin).count())
                    .sum();
                out.push_str(&text.check_ok(packs.len(), tables, rules));
            }
            out.push('\n');
            output::stdout(&out);
        }
        Format::Text => {}
    }
    if let (Some(name), 0) = (&args.expand, errors) {
        let table = packs
            .iter()
            .flat_map(|p| &p.tables)
            .find(|t| t.is_named(name))
            .ok_or_else(|| Error::Usage(format!("--expand: no table `{name}` in the packs")))?;
        output::stdout(&expand(table, args.output.format));
    }
    Ok(if errors > 0 {
        crate::diagnostic::exit_status(diagnostics.iter().filter(|d| d.is_error()))
    } else {
        ExitStatus::Passed
    })
}

/// One bound rule as `--expand` shows it.
#[derive(Serialize)]
struct ExpandedRule {
    id: String,
    name: String,
    kind: &'static str,
    dimension: &'static str,
    severity: &'static str,
    /// The template the rule comes from, if any.
    template: Option<String>,
    /// The row check, as the engine evaluates it (set-based rules: none).
    check: Option<String>,
    when: Option<String>,
    columns: Vec<String>,
    threshold: crate::rules::Threshold,
}

/// The rules `table` is audited with, as text or JSON.
fn expand(table: &crate::bind::BoundTable, format: Format) -> String {
    let rules: Vec<ExpandedRule> = table
        .rules
        .iter()
        .filter(|r| !r.builtin)
        .map(|r| ExpandedRule {
            id: r.id.clone(),
            name: r.name.clone(),
            kind: r.kind,
            dimension: r.dimension.en(),
            severity: match r.severity {
                crate::rules::Severity::Error => "error",
                crate::rules::Severity::Warn => "warn",
            },
            template: r.template.clone(),
            check: match &r.check {
                crate::bind::RuleCheck::Row(e) => Some(shown(e)),
                crate::bind::RuleCheck::Set(_) => None,
            },
            when: r.when.as_ref().map(shown),
            columns: r.columns.clone(),
            threshold: r.threshold.clone(),
        })
        .collect();
    if format == Format::Json {
        let doc = serde_json::json!({ "table": table.qualified_name(), "rules": rules });
        return serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
    }
    let mut out = format!("{}\n", table.qualified_name());
    for r in &rules {
        let from = r
            .template
            .as_ref()
            .map_or_else(String::new, |t| format!(" (template {t})"));
        let _ = writeln!(
            out,
            "  {} {} [{}, {}, {}]{from}",
            r.id, r.name, r.kind, r.dimension, r.severity
        );
        if let Some(c) = &r.check {
            let _ = writeln!(out, "    check: {c}");
        }
        if let Some(w) = &r.when {
            let _ = writeln!(out, "    when: {w}");
        }
        let _ = writeln!(out, "    columns: {}", r.columns.join(", "));
        let th = &r.threshold;
        if th.max_count.is_some() || th.max_rate.is_some() || th.per_provider() {
            let _ = writeln!(
                out,
                "    threshold: {}",
                serde_json::to_string(th).unwrap_or_default()
            );
        }
    }
    out
}

/// An engine expression as text, cut at 300 characters (code lists make long `IN` lists).
fn shown(e: &datafusion::logical_expr::Expr) -> String {
    let text = e.to_string();
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

fn json(d: &Diagnostic) -> JsonDiagnostic<'_> {
    JsonDiagnostic {
        code: d.code.name(),
        severity: if d.is_error() { "error" } else { "warning" },
        message: &d.message,
        location: d.location(),
        help: d.help.as_deref(),
    }
}

fn explain(kind: &str, lang: Lang) -> Result<ExitStatus> {
    // clap accepts only the kinds of `DOCS`.
    let doc = crate::checks::DOCS
        .iter()
        .find(|d| d.kind == kind)
        .ok_or_else(|| Error::Internal(format!("no documentation for kind `{kind}`")))?;
    output::stdout(match lang {
        Lang::Zh => doc.text_zh,
        Lang::En => doc.text,
    });
    Ok(ExitStatus::Passed)
}
