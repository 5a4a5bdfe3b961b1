//! The command line: the only module that knows about terminals, flags and exit codes.
//! One file per subcommand, each thin: parse flags, call the pipeline, print.

pub mod check;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod generate;
pub mod history;
pub mod output;
pub mod profile;
pub mod progress;
pub mod run;
pub mod summary;

use clap::{Args, Parser, Subcommand};

use crate::error::{ExitStatus, Result};
use crate::text::Lang;

const EXIT_CODES: &str = "\
Exit codes / 退出码:
    0  all rule thresholds met / 全部规则达到阈值
    1  some table failed a rule threshold / 有表未达规则阈值
    2  usage or rule-pack error / 用法或规则包错误
    3  data or runtime error, or a partial run (--keep-going) / 数据或运行错误，或部分稽核（--keep-going）
  130  interrupted (Ctrl-C), nothing written / 已中断（Ctrl-C），未写入结果";

#[derive(Debug, Parser)]
#[command(
    name = "qc",
    version,
    about = "数据质量稽核 · data-quality audit of thematic public-data libraries",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit tables with rule packs in one pass; print the summary, export anomalies.
    Run(run::RunArgs),
    /// Validate rule packs against their sources without auditing.
    Check(check::CheckArgs),
    /// Generate a synthetic table with anomalies at known rows, and its truth file.
    Gen(generate::GenArgs),
    /// Profile a table in one pass (types, nulls, distinct values, semantic classes of
    /// registry data, candidate keys); optionally draft a rule pack for it.
    Profile(profile::ProfileArgs),
    /// List the runs in the run history.
    Runs(history::RunsArgs),
    /// Render the monthly quality report from the run history (HTML, Markdown, JSON).
    Report(history::ReportArgs),
    /// Write one feedback file per data provider (xlsx and CSV) for a run.
    Feedback(history::FeedbackArgs),
    /// List and count problems (a record failing a rule) by status: new, open, fixed,
    /// gone, accepted.
    Problems(history::ProblemsArgs),
    /// Start a Ballista scheduler that knows qc's functions (for `qc run --cluster`).
    #[cfg(feature = "cluster")]
    Scheduler(cluster::SchedulerArgs),
    /// Start a Ballista executor that knows qc's functions and join a scheduler.
    #[cfg(feature = "cluster")]
    Executor(cluster::ExecutorArgs),
}

/// Options shared by commands that print results.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Language of human-readable output.
    #[arg(long, value_enum, default_value_t = Lang::Zh, help_heading = "Output")]
    pub lang: Lang,
    /// `text` for people, `json` for machines.
    #[arg(long, value_enum, default_value_t = output::Format::Text, help_heading = "Output")]
    pub format: output::Format,
    /// Print nothing but errors (no summary, no progress).
    #[arg(long, short, help_heading = "Output")]
    pub quiet: bool,
}

/// Run the parsed command line.
pub fn main(cli: Cli) -> Result<ExitStatus> {
    match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Check(args) => check::check(&args),
        Command::Gen(args) => generate::generate(&args),
        Command::Profile(args) => profile::profile(&args),
        Command::Runs(args) => history::runs(&args),
        Command::Report(args) => history::report(&args),
        Command::Feedback(args) => history::feedback(&args),
        Command::Problems(args) => history::problems(&args),
        #[cfg(feature = "cluster")]
        Command::Scheduler(args) => cluster::scheduler(&args),
        #[cfg(feature = "cluster")]
        Command::Executor(args) => cluster::executor(&args),
    }
}

/// A runtime for DataFusion with `threads` workers.
pub fn runtime(threads: usize) -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name("qc-worker")
        // Time for the engine, I/O for the Ctrl-C signal.
        .enable_time()
        .enable_io()
        .build()
        .map_err(|e| crate::error::Error::io("tokio runtime", e))
}

/// Threads to use: `--threads`, else every core.
pub fn threads(requested: Option<usize>) -> usize {
    requested
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
}
