//! `qc runs`, `qc report --month`, `qc feedback`, `qc problems`: what the run history holds,
//! read back.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::output::{self, Format};
use crate::error::{Error, ExitStatus, Result};
use crate::results::store::{Mark, Store};
use crate::text::{Lang, thousands};

/// `--store`: the run history file.
#[derive(Debug, Clone, Args)]
pub struct StoreArg {
    /// Run history file [default: $QC_STORE, else out/qc.db under the current folder].
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
}

impl StoreArg {
    /// The store, which must exist (reading commands never create one).
    fn open(&self) -> Result<Store> {
        let path = crate::results::store::location(self.store.as_deref());
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
#[command(args_conflicts_with_subcommands = true)]
pub struct RunsArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// How many runs, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Say something of one run instead of listing them.
    #[command(subcommand)]
    pub mark: Option<MarkCommand>,
}

/// What can be said of a run. Reports and feedback use, by default, the newest official
/// run, else the newest complete run that is not excluded.
#[derive(Debug, clap::Subcommand)]
pub enum MarkCommand {
    /// Give a run a label (shown by `qc runs`).
    Label {
        run: String,
        text: String,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Leave a run out of reports and feedback (an exploratory run, a wrongly read file).
    Exclude {
        run: String,
        /// Why (kept with the run, shown by `qc runs`).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Count an excluded run again.
    Include {
        run: String,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Make a run the official one: reports and feedback use it over later runs.
    Official {
        run: String,
        #[command(flatten)]
        store: StoreArg,
    },
}

pub fn runs(args: &RunsArgs) -> Result<ExitStatus> {
    if let Some(command) = &args.mark {
        let (run, store, mark) = match command {
            MarkCommand::Label { run, text, store } => (run, store, Mark::Label(text.clone())),
            MarkCommand::Exclude { run, reason, store } => (
                run,
                store,
                Mark::Exclude {
                    reason: reason.clone(),
                },
            ),
            MarkCommand::Include { run, store } => (run, store, Mark::Include),
            MarkCommand::Official { run, store } => (run, store, Mark::Official),
        };
        store.open()?.mark(run, &mark)?;
        return Ok(ExitStatus::Passed);
    }
    let store = args.store.open()?;
    let runs = store.runs(args.limit)?;
    match args.format {
        Format::Json => output::stdout(
            &(serde_json::to_string_pretty(&runs).map_err(|e| Error::Internal(e.to_string()))?
                + "\n"),
        ),
        Format::Text => {
            let mut text = String::from(
                "run\tas_of\tfinished_at\tstatus\texit\tlibraries\ttables\trows\tanomalous\tmark\tout\n",
            );
            for r in &runs {
                let mark = match (&r.excluded, r.official) {
                    (Some(reason), _) => format!("excluded: {reason}"),
                    (None, true) => "official".to_string(),
                    (None, false) => String::new(),
                };
                let mark = match &r.label {
                    Some(label) if mark.is_empty() => label.clone(),
                    Some(label) => format!("{label}; {mark}"),
                    None => mark,
                };
                let _ = writeln!(
                    text,
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    r.id,
                    r.as_of,
                    r.finished_at,
                    r.status,
                    r.exit_code,
                    r.libraries,
                    r.tables,
                    thousands(r.rows),
                    thousands(r.anomalous_rows),
                    mark,
                    r.out_dir
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
#[command(args_conflicts_with_subcommands = true)]
pub struct FeedbackArgs {
    /// Read providers' replies back instead of writing feedback files.
    #[command(subcommand)]
    pub action: Option<FeedbackCommand>,
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

/// What comes back from providers.
#[derive(Debug, clap::Subcommand)]
pub enum FeedbackCommand {
    /// Record the replies (处理结果, 说明) providers filled into their feedback xlsx files:
    /// every line is checked against the run history, and nothing is recorded unless every
    /// file is right.
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        store: StoreArg,
    },
}

fn import_replies(files: &[PathBuf], store: &StoreArg) -> Result<ExitStatus> {
    let mut store = store.open()?;
    let mut errors = Vec::new();
    let mut read = Vec::new();
    for f in files {
        match crate::report::replies::read(f, &store) {
            Ok(r) => read.push(r),
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Usage(format!(
            "no reply recorded; {} problem(s) found:\n  {}",
            errors.len(),
            errors.join("\n  ")
        )));
    }
    let rows: Vec<(i64, &str, &str, &str, &str)> = read
        .iter()
        .flat_map(|r| {
            r.replies.iter().map(move |x| {
                (
                    x.problem,
                    x.answer,
                    x.note.as_str(),
                    r.run.as_str(),
                    r.file.as_str(),
                )
            })
        })
        .collect();
    store.record_replies(&rows)?;
    output::stdout(&format!(
        "已记录 {} 条答复（{} 个文件）\n",
        thousands(rows.len() as u64),
        files.len()
    ));
    Ok(ExitStatus::Passed)
}

pub fn feedback(args: &FeedbackArgs) -> Result<ExitStatus> {
    if let Some(FeedbackCommand::Import { files, store }) = &args.action {
        return import_replies(files, store);
    }
    let store = args.store.open()?;
    let id = if let Some(id) = &args.run {
        id.clone()
    } else {
        let (id, official) = store.default_run()?.ok_or_else(|| {
            Error::Usage(format!(
                "{}: no complete run that is not excluded",
                store.path().display()
            ))
        })?;
        let why = match (args.lang, official) {
            (Lang::Zh, true) => "正式运行",
            (Lang::Zh, false) => "最新的未排除运行",
            (Lang::En, true) => "the official run",
            (Lang::En, false) => "the latest run not excluded",
        };
        output::stderr(&format!("{id} ({why})\n"));
        id
    };
    let run = store.load(&id)?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join("feedback").join(&id));
    let mut problems = crate::results::problems::ProblemIndex::new();
    for t in &run.tables {
        problems.extend(store.problem_index(&t.library, &t.name)?);
    }
    let by_provider = crate::report::feedback::lines(&run, &problems, !args.no_mask, args.lang)?;
    let mut text = String::new();
    let stems =
        crate::report::feedback::file_stems(by_provider.keys().map(Option::as_deref), args.lang);
    for ((provider, lines), stem) in by_provider.iter().zip(stems) {
        let about = crate::report::feedback::FeedbackHead {
            run_id: &run.id,
            as_of: &run.as_of,
            provider: provider
                .as_deref()
                .unwrap_or(crate::report::feedback::unnamed(args.lang)),
        };
        let [xlsx, csv] = crate::report::feedback::write(&dir, &stem, &about, lines, args.lang)?;
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

/// `qc problems --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProblemsFormat {
    Text,
    Json,
    Csv,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ProblemsArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Act on problems instead of listing them.
    #[command(subcommand)]
    pub action: Option<ProblemCommand>,
    #[arg(long)]
    pub library: Option<String>,
    #[arg(long)]
    pub table: Option<String>,
    #[arg(long)]
    pub rule: Option<String>,
    #[arg(long)]
    pub provider: Option<String>,
    /// new, open, fixed, gone, accepted (comma-separated or repeated) [default: all].
    #[arg(long, value_delimiter = ',')]
    pub status: Vec<String>,
    /// First seen more than this long before the newest run's date: `30d` or `30`.
    #[arg(long, value_name = "DAYS")]
    pub older_than: Option<String>,
    /// `text` lists the oldest `--limit` problems after the counts; `json` and `csv` hold
    /// every problem selected.
    #[arg(long, value_enum, default_value_t = ProblemsFormat::Text)]
    pub format: ProblemsFormat,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = Lang::Zh)]
    pub lang: Lang,
}

/// What the center can do with problems.
#[derive(Debug, clap::Subcommand)]
pub enum ProblemCommand {
    /// Accept the provider's explanation (确认无误) of new or open problems: each becomes an
    /// exemption of its record from its rule in later runs.
    Accept {
        /// Problem ids (`qc problems` lists them).
        #[arg(required = true)]
        ids: Vec<i64>,
        /// Why it was accepted (kept with the problem).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        store: StoreArg,
    },
}

/// Problems counted per provider and status.
#[derive(Debug, serde::Serialize)]
struct ProviderCounts {
    provider: Option<String>,
    counts: std::collections::BTreeMap<&'static str, usize>,
}

pub fn problems(args: &ProblemsArgs) -> Result<ExitStatus> {
    use crate::results::problems::Status;
    use crate::results::store::ProblemFilter;
    if let Some(ProblemCommand::Accept { ids, reason, store }) = &args.action {
        if reason.trim().is_empty() {
            return Err(Error::Usage(
                "--reason: say why the problems are accepted".into(),
            ));
        }
        store.open()?.accept(ids, reason)?;
        return Ok(ExitStatus::Passed);
    }
    let statuses = args
        .status
        .iter()
        .map(|s| {
            Status::parse(s.trim()).ok_or_else(|| {
                Error::Usage(format!(
                    "--status {s}: the statuses are new, open, fixed, gone, accepted"
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let older_than_days = args
        .older_than
        .as_deref()
        .map(|d| {
            d.trim()
                .trim_end_matches('d')
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| Error::Usage(format!("--older-than {d}: expected days, e.g. 30d")))
        })
        .transpose()?;
    let filter = ProblemFilter {
        library: args.library.clone(),
        table: args.table.clone(),
        rule: args.rule.clone(),
        provider: args.provider.clone(),
        statuses,
        older_than_days,
        ids: None,
    };
    let rows = args.store.open()?.problems(&filter)?;
    let mut by_status: std::collections::BTreeMap<&'static str, usize> =
        Status::ALL.iter().map(|s| (s.name(), 0)).collect();
    let mut by_provider: std::collections::BTreeMap<Option<String>, ProviderCounts> =
        std::collections::BTreeMap::new();
    for r in &rows {
        *by_status.entry(r.status.name()).or_default() += 1;
        let p = by_provider
            .entry(r.provider.clone())
            .or_insert_with(|| ProviderCounts {
                provider: r.provider.clone(),
                counts: Status::ALL.iter().map(|s| (s.name(), 0)).collect(),
            });
        *p.counts.entry(r.status.name()).or_default() += 1;
    }
    match args.format {
        ProblemsFormat::Json => {
            let doc = serde_json::json!({
                "total": rows.len(),
                "by_status": by_status,
                "by_provider": by_provider.values().collect::<Vec<_>>(),
                "problems": rows,
            });
            output::stdout(
                &(serde_json::to_string_pretty(&doc)
                    .map_err(|e| Error::Internal(e.to_string()))?
                    + "\n"),
            );
        }
        ProblemsFormat::Csv => {
            use crate::report::feedback::csv_field;
            let mut text = String::from(
                "id,library,table,rule,record,provider,status,first_seen,last_seen,age_days\n",
            );
            for r in &rows {
                let fields = [
                    r.id.to_string(),
                    r.library.clone(),
                    r.table.clone(),
                    r.rule.clone(),
                    r.record.clone(),
                    r.provider.clone().unwrap_or_default(),
                    r.status.name().to_string(),
                    r.first_seen.clone(),
                    r.last_seen.clone(),
                    r.age_days.to_string(),
                ];
                let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                let _ = writeln!(text, "{}", line.join(","));
            }
            output::stdout(&text);
        }
        ProblemsFormat::Text => {
            let zh = args.lang == Lang::Zh;
            let status_name = |s: Status| if zh { s.zh() } else { s.name() };
            let counts = |c: &std::collections::BTreeMap<&'static str, usize>| {
                Status::ALL
                    .iter()
                    .map(|s| format!("{} {}", status_name(*s), thousands(c[s.name()] as u64)))
                    .collect::<Vec<_>>()
                    .join(" · ")
            };
            let mut text = if zh {
                format!(
                    "问题 {} 个：{}\n",
                    thousands(rows.len() as u64),
                    counts(&by_status)
                )
            } else {
                format!(
                    "{} problems: {}\n",
                    thousands(rows.len() as u64),
                    counts(&by_status)
                )
            };
            for p in by_provider.values() {
                let name = p
                    .provider
                    .clone()
                    .unwrap_or_else(|| if zh { "（未标明）" } else { "(none)" }.to_string());
                let _ = writeln!(text, "  {name}：{}", counts(&p.counts));
            }
            if !rows.is_empty() {
                text.push_str(if zh {
                    "\n编号\t状态\t表\t规则\t记录\t提供单位\t首次发现\t最近发现\t天数\n"
                } else {
                    "\nid\tstatus\ttable\trule\trecord\tprovider\tfirst_seen\tlast_seen\tage_days\n"
                });
            }
            for r in rows.iter().take(args.limit) {
                let _ = writeln!(
                    text,
                    "{}\t{}\t{}.{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    r.id,
                    status_name(r.status),
                    r.library,
                    r.table,
                    r.rule,
                    r.record,
                    r.provider.as_deref().unwrap_or(""),
                    r.first_seen,
                    r.last_seen,
                    r.age_days
                );
            }
            if rows.len() > args.limit {
                let _ = writeln!(
                    text,
                    "{}",
                    if zh {
                        format!(
                            "……另有 {} 个（--limit 或 --format csv 查看全部）",
                            rows.len() - args.limit
                        )
                    } else {
                        format!(
                            "… {} more (--limit, or --format csv for all)",
                            rows.len() - args.limit
                        )
                    }
                );
            }
            output::stdout(&text);
        }
    }
    Ok(ExitStatus::Passed)
}
