//! `qc runs`, `qc report --month`, `qc feedback`: what the run history holds, read back.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::output::{self, Format};
use crate::error::{Error, ExitStatus, Result};
use crate::results::store::{DEFAULT_FILE, Store};
use crate::text::{Lang, thousands};

/// `--store`: the run history file.
#[derive(Debug, Clone, Args)]
pub struct StoreArg {
    /// Run history file [default: out/qc.db, beside `qc run`'s default output folders].
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
}

impl StoreArg {
    /// The store, which must exist (reading commands never create one).
    fn open(&self) -> Result<Store> {
        let path = self
            .store
            .clone()
            .unwrap_or_else(|| PathBuf::from("out").join(DEFAULT_FILE));
        if !path.exists() {
            return Err(Error::Usage(format!(
                "{}: no run history here (run `qc run` first, or give --store)",
                path.display()
            )));
        }
        Store::open(&path)
    }
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// How many runs, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn runs(args: &RunsArgs) -> Result<ExitStatus> {
    let store = args.store.open()?;
    let runs = store.runs(args.limit)?;
    match args.format {
        Format::Json => output::stdout(
            &(serde_json::to_string_pretty(&runs).map_err(|e| Error::Internal(e.to_string()))?
                + "\n"),
        ),
        Format::Text => {
            let mut text = String::new();
            for r in &runs {
                let _ = writeln!(
                    text,
                    "{}  {}  {}  {}  exit {}  {} tables  {} rows  {} anomalous",
                    r.id,
                    r.as_of,
                    r.finished_at,
                    r.status,
                    r.exit_code,
                    r.tables,
                    thousands(r.rows),
                    thousands(r.anomalous_rows)
                );
            }
            output::stdout(&text);
        }
    }
    Ok(ExitStatus::Passed)
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Html,
    Md,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The month, `YYYY-MM` (runs are dated by `qc run --as-of`, default the day they ran).
    #[arg(long, value_name = "YYYY-MM")]
    pub month: String,
    /// Only these libraries (repeat or comma-separate) [default: every library with a run].
    #[arg(long, value_delimiter = ',')]
    pub library: Vec<String>,
    /// Formats to write.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [ReportFormat::Html, ReportFormat::Md, ReportFormat::Json])]
    pub format: Vec<ReportFormat>,
    #[arg(long, value_enum, default_value_t = Lang::Zh)]
    pub lang: Lang,
    /// Output folder; files are `report-YYYY-MM.{html,md,json}`.
    #[arg(long, value_name = "DIR", default_value = "out/reports")]
    pub out: PathBuf,
    /// Show ID numbers and names in samples unmasked.
    #[arg(long)]
    pub no_mask: bool,
    #[command(flatten)]
    pub store: StoreArg,
}

pub fn report(args: &ReportArgs) -> Result<ExitStatus> {
    let store = args.store.open()?;
    let report = crate::report::build(&store, &args.month, &args.library, !args.no_mask)?;
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    let out = crate::results::OutputDir::existing(&args.out);
    let mut written = Vec::new();
    for f in &args.format {
        let (ext, text) = match f {
            ReportFormat::Html => ("html", crate::report::render::html(&report, args.lang)?),
            ReportFormat::Md => ("md", crate::report::render::markdown(&report, args.lang)?),
            ReportFormat::Json => ("json", crate::report::render::json(&report)?),
        };
        written.push(out.write_atomic(&format!("report-{}.{ext}", report.month), text.as_bytes())?);
    }
    for p in written {
        output::stdout(&format!("{}\n", p.display()));
    }
    Ok(ExitStatus::Passed)
}

#[derive(Debug, Args)]
pub struct FeedbackArgs {
    /// The run [default: the newest complete run].
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    /// Output folder; one `<provider>.xlsx` and `<provider>.csv` per provider
    /// [default: out/feedback/<run-id>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Show ID numbers and names unmasked.
    #[arg(long)]
    pub no_mask: bool,
    #[arg(long, value_enum, default_value_t = Lang::Zh)]
    pub lang: Lang,
    #[command(flatten)]
    pub store: StoreArg,
}

pub fn feedback(args: &FeedbackArgs) -> Result<ExitStatus> {
    let store = args.store.open()?;
    let id = match &args.run {
        Some(id) => id.clone(),
        None => store.latest_run()?.ok_or_else(|| {
            Error::Usage(format!("{}: no complete run yet", store.path().display()))
        })?,
    };
    let run = store.load(&id)?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join("feedback").join(&id));
    let by_provider = crate::report::feedback::lines(&run, !args.no_mask, args.lang)?;
    let mut text = String::new();
    for (provider, lines) in &by_provider {
        let stem = crate::report::feedback::file_stem(provider.as_deref(), args.lang);
        let [xlsx, csv] = crate::report::feedback::write(&dir, &stem, lines, args.lang)?;
        let _ = writeln!(
            text,
            "{}  {}  {}",
            thousands(lines.len() as u64),
            xlsx.display(),
            csv.display()
        );
    }
    output::stdout(&text);
    Ok(ExitStatus::Passed)
}
