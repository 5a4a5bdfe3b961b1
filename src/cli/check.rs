//! `qc check PACK_OR_DIR...`: parse and bind packs against their sources' schemas, report
//! every problem, audit nothing. Exit 2 when any error is found.

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
    Ok(if errors > 0 {
        crate::diagnostic::exit_status(diagnostics.iter().filter(|d| d.is_error()))
    } else {
        ExitStatus::Passed
    })
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
