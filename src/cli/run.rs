//! `qc run --rules PACK...`: the flags, the progress bars and the printed summary around
//! [`crate::run::run`], which does the work.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;

use super::OutputArgs;
use super::output::{self, Format};
use crate::bind::BoundTable;
use crate::diagnostic::Diagnostic;
use crate::error::{ExitStatus, Result};
use crate::execute::{TableProgress, Workload};
use crate::results::summary::FailOn;
use crate::rules::source::DataOverride;
use crate::run::{Outcome, Request};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Rule packs, or folders of packs (every *.yaml inside).
    #[arg(long = "rules", required = true, num_args = 1.., value_name = "PACK")]
    pub rules: Vec<PathBuf>,
    /// Output folder [default: out/<run-id>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Read a table from another file or glob: `TABLE=PATH` (TABLE as `table` or
    /// `library.table`), with source options after `;` replacing the pack's:
    /// `address=landing/*.csv;encoding=gbk;delimiter=|;header=true;format=csv`.
    #[arg(long = "data", value_name = "TABLE=PATH[;KEY=VALUE…]", value_parser = DataOverride::parse)]
    pub data: Vec<(String, DataOverride)>,
    /// Cores to use: threads that read and evaluate, about N cores busy [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Memory for sorts, aggregates and joins of set-based rules, e.g. `1GiB`, `512MB`;
    /// beyond it they spill to disk [default: 1/16 of physical memory, 512 MiB to 4 GiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<u64>,
    /// The run date freshness checks measure against, and the month reports file the run
    /// under, `YYYY-MM-DD` [default: today].
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<chrono::NaiveDate>,
    /// Leave damaged files out (named in the summary) instead of stopping; the run is then
    /// marked partial and exits with 3.
    #[arg(long)]
    pub keep_going: bool,
    /// Run history file [default: $QC_STORE, else out/qc.db under the current folder].
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Audit on the Ballista cluster whose scheduler is at `df://HOST:PORT` (started with
    /// `qc scheduler` and `qc executor`; Parquet tables, paths every executor can read).
    /// --threads then sets the partitions per stage.
    #[arg(long, value_name = "df://HOST:PORT")]
    pub cluster: Option<String>,
    /// Measure what each rule costs (seconds, in `summary.json` and the summary): set-based
    /// rules' plans are timed, row rules' expressions are timed one by one on the first
    /// million rows and scaled to the table.
    #[arg(long)]
    pub rule_costs: bool,
    /// Stop a set-based rule that makes no progress for this many seconds, with an error
    /// naming it [default: 600].
    #[arg(long, value_name = "SECONDS")]
    pub stall_timeout: Option<u64>,
    /// The table verdict that fails the run (exit code 1, status `threshold_failed`):
    /// `error` (a table failed) or `warn` (a table warned or failed).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Read every file again. Without it, a table whose rules, code lists and set-based
    /// rules' findings are as at its last complete run in the same --store reads only its new
    /// and changed files and reuses the others' results.
    #[arg(long)]
    pub full: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `1GiB`, `512MB`, `2g`, `1073741824` → bytes.
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    s.trim()
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("invalid size `{s}`: {e}"))
}

pub fn run(args: &RunArgs) -> Result<ExitStatus> {
    let threads = super::threads(args.threads);
    // Rayon does CPU work outside DataFusion's executor; size it like the engine.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    let rt = super::runtime(threads)?;
    let request = Request {
        rules: args.rules.clone(),
        out: args.out.clone(),
        data: args.data.clone(),
        threads,
        memory_limit: args.memory_limit,
        as_of: args.as_of,
        keep_going: args.keep_going,
        store: args.store.clone(),
        cluster: args.cluster.clone(),
        stall_timeout: args.stall_timeout.map(std::time::Duration::from_secs),
        rule_costs: args.rule_costs,
        fail_on: args.fail_on,
        full: args.full,
    };
    let json = args.output.format == Format::Json;
    let mut shown = Shown {
        quiet: args.output.quiet,
        bars: super::progress::enabled(args.output.quiet, json),
    };
    let started = Instant::now();
    let cancel = async {
        // No signal handler (an unusual host) means no Ctrl-C: never cancel.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let result = rt.block_on(crate::run::run(&request, &mut shown, cancel));
    // After Ctrl-C, engine tasks may still be winding down: do not wait for them.
    rt.shutdown_background();
    let done = match result? {
        Outcome::Rejected(status) => return Ok(status),
        Outcome::Completed(done) => done,
    };
    if json {
        output::stdout(&done.document);
    } else if !args.output.quiet {
        output::stdout(&super::summary::render(
            &done.summary,
            &done.out_dir.display().to_string(),
            started.elapsed().as_secs_f64(),
            args.output.lang,
            super::summary::terminal_width(),
        ));
    }
    Ok(done.status)
}

/// What `qc run` shows while it runs: diagnostics on stderr, a progress bar per table.
struct Shown {
    quiet: bool,
    bars: bool,
}

impl crate::run::Observer for Shown {
    fn diagnostics(&mut self, found: &[Diagnostic], errors: bool) {
        if errors || !self.quiet {
            let text: String = found.iter().map(|d| d.render() + "\n\n").collect();
            output::stderr(&text);
        }
    }

    fn table_started(
        &mut self,
        table: &BoundTable,
        workload: Workload,
        progress: &Arc<TableProgress>,
    ) -> Option<Box<dyn Send>> {
        let ticker = super::progress::start(table.qualified_name(), workload, progress, self.bars)?;
        Some(Box::new(ticker))
    }
}
