//! `qc run --rules PACK...`: bind the packs, audit every table in one pass each, print the
//! summary, write anomalies and `summary.json` (last) to the output folder.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;

use super::OutputArgs;
use super::output::{self, Format};
use crate::error::{Error, ExitStatus, Result};
use crate::execute::{self, TableProgress, local};
use crate::results::store::{RunExtras, Store};
use crate::results::summary::{self, PackSummary, RunSummary, Verdict};
use crate::results::{OutputDir, SUMMARY_FILE};
use std::collections::HashSet;

use crate::rules::bind::{BoundPack, BoundTable, LeftOutFile, SourceOptions};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Rule packs, or folders of packs (every *.yaml inside).
    #[arg(long = "rules", required = true, num_args = 1.., value_name = "PACK")]
    pub rules: Vec<PathBuf>,
    /// Output folder [default: out/<run-id>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Read a table from another file or glob: `TABLE=PATH` (TABLE as `table` or `library.table`).
    #[arg(long = "data", value_name = "TABLE=PATH", value_parser = parse_data_override)]
    pub data: Vec<(String, PathBuf)>,
    /// Worker threads [default: all cores].
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
    /// Run history file [default: qc.db beside the output folder].
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Audit on the Ballista cluster whose scheduler is at `df://HOST:PORT` (started with
    /// `qc scheduler` and `qc executor`; Parquet tables, paths every executor can read).
    /// --threads then sets the partitions per stage.
    #[arg(long, value_name = "df://HOST:PORT")]
    pub cluster: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `TABLE=PATH` → (`TABLE`, `PATH`).
pub fn parse_data_override(s: &str) -> std::result::Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((t, p)) if !t.trim().is_empty() && !p.trim().is_empty() => {
            Ok((t.trim().to_string(), PathBuf::from(p.trim())))
        }
        _ => Err(format!("expected TABLE=PATH, got `{s}`")),
    }
}

/// `1GiB`, `512MB`, `2g`, `1073741824` → bytes.
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    s.trim()
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("invalid size `{s}`: {e}"))
}

/// The run history beside an output folder: `qc.db` in its parent folder.
pub fn default_store(out: &std::path::Path) -> PathBuf {
    out.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
        .join(crate::results::store::DEFAULT_FILE)
}

/// A new run id: UTC time plus a random suffix, e.g. `20261125T231100Z-3f2a`.
pub fn new_run_id(now: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "{}-{:04x}",
        now.format("%Y%m%dT%H%M%SZ"),
        rand::random::<u16>()
    )
}

pub fn run(args: &RunArgs) -> Result<ExitStatus> {
    let threads = super::threads(args.threads);
    // Rayon does CPU work outside DataFusion's executor; size it like the engine.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    let rt = super::runtime(threads)?;
    let result = rt.block_on(run_async(args, threads));
    // After Ctrl-C, engine tasks may still be winding down: do not wait for them.
    rt.shutdown_background();
    result
}

async fn run_async(args: &RunArgs, threads: usize) -> Result<ExitStatus> {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let run_id = new_run_id(started_at);
    let json = args.output.format == Format::Json;
    let engine = match &args.cluster {
        Some(url) => execute::Engine::cluster(url, threads).await?,
        None => execute::Engine::local(
            threads,
            args.memory_limit
                .unwrap_or_else(local::default_memory_limit),
        ),
    };
    let ctx = &engine.ctx;
    let as_of_date = args
        .as_of
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let as_of = i64::from(crate::checks::id_number::days(as_of_date));
    let as_of_text = as_of_date.format("%Y-%m-%d").to_string();
    // Claim the output folder first: whatever happens next, no earlier summary.json remains
    // there to pass for this run's result.
    let out_path = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&run_id));
    let out = OutputDir::prepare(&out_path)?;
    // Whatever fails from here on, Ctrl-C included, no output that looks complete is left
    // behind.
    let audit = async {
        let store_path = args
            .store
            .clone()
            .unwrap_or_else(|| default_store(&out.path));
        let mut store = Store::open(&store_path)?;
        let started_text = started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

        let mut sources = SourceOptions {
            overrides: args.data.iter().cloned().collect(),
            keep_going: args.keep_going,
            damaged: Vec::new(),
        };
        let mut shown = HashSet::new();
        // Bind, then audit every table. A file found damaged only while scanning is left out by
        // binding again without it (under --keep-going): set-based rules' plans read it too.
        let (packs, tables) = loop {
            let (packs, diagnostics) = crate::rules::load(&args.rules, ctx, &sources).await?;
            let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
            let text: String = diagnostics
                .iter()
                .map(|d| d.render() + "\n\n")
                .filter(|t| shown.insert(t.clone()))
                .collect();
            if !text.is_empty() && (!errors.is_empty() || !args.output.quiet) {
                output::stderr(&text);
            }
            if !errors.is_empty() {
                // Unreadable or missing data is a data error (3); anything else in a pack is 2.
                return Ok(if errors.iter().all(|d| d.code.starts_with("source-")) {
                    ExitStatus::RuntimeError
                } else {
                    ExitStatus::RuleError
                });
            }
            check_overrides(&sources, &packs)?;
            engine.check_sources(packs.iter().flat_map(|p| &p.tables))?;
            match audit_tables(
                args,
                &engine,
                &packs,
                &out,
                &store,
                as_of,
                &as_of_text,
                &started_text,
            )
            .await
            {
                Ok(tables) => break (packs, tables),
                Err((failed, error)) => {
                    let all = packs.iter().flat_map(|p| &p.tables);
                    let damaged: Vec<LeftOutFile> = execute::damaged_files(all, &failed, &error)
                        .into_iter()
                        .filter(|d| !sources.damaged.contains(d))
                        .collect();
                    match damaged.first() {
                        None => return Err(error),
                        Some(first) if !args.keep_going => return Err(Error::damaged(first)),
                        Some(_) => sources.damaged.extend(damaged),
                    }
                }
            }
        };

        let failed = tables.iter().any(|t| t.verdict == Verdict::Fail);
        let partial = tables.iter().any(|t| !t.left_out_files.is_empty());
        let (status, status_name) = if partial {
            (ExitStatus::RuntimeError, "partial")
        } else if failed {
            (ExitStatus::ThresholdFailed, "threshold_failed")
        } else {
            (ExitStatus::Passed, "passed")
        };
        let summary = RunSummary {
            schema_version: summary::SCHEMA_VERSION,
            run_id,
            qc_version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: started_text.clone(),
            finished_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            threads,
            status: status_name.to_string(),
            exit_code: status.code(),
            packs: packs
                .iter()
                .map(|p| PackSummary {
                    path: p.path.display().to_string(),
                    library: p.library.id.clone(),
                    library_name: p.library.name.clone(),
                })
                .collect(),
            tables,
        };
        let doc = serde_json::to_string_pretty(&summary)
            .map_err(|e| Error::Internal(e.to_string()))?
            + "\n";
        // The commit point of a run is the store's transaction. The summary, the folder's mark
        // of a complete run, is written before it under a temporary name and renamed after
        // it: killed at any moment, no summary.json exists for a run the history lacks.
        let staged = out.stage(SUMMARY_FILE, doc.as_bytes())?;
        RunExtras::collect(&packs, &summary, &out.path, &as_of_text)
            .and_then(|extras| store.save(&summary, &extras))?;
        staged.publish()?;
        if json {
            output::stdout(&doc);
        } else if !args.output.quiet {
            let text = summary::render(
                &summary,
                &out.path.display().to_string(),
                started.elapsed().as_secs_f64(),
                args.output.lang,
            );
            output::stdout(&text);
        }
        Ok(status)
    };
    let result = tokio::select! {
        r = audit => r,
        _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
    };
    if !out.path.join(SUMMARY_FILE).exists() {
        out.discard();
    }
    result
}

/// Every `--data` override must name a table of the run.
fn check_overrides(sources: &SourceOptions, packs: &[BoundPack]) -> Result<()> {
    let tables = || packs.iter().flat_map(|p| &p.tables);
    for key in sources.overrides.keys() {
        if !tables().any(|t| t.name == *key || t.qualified_name() == *key) {
            let names: Vec<String> = tables().map(BoundTable::qualified_name).collect();
            return Err(Error::Usage(format!(
                "--data names no table `{key}`; the tables are: {}",
                names.join(", ")
            )));
        }
    }
    Ok(())
}

/// Audit every table of the run in turn. On failure, the table being audited and the error.
#[allow(clippy::too_many_arguments)]
async fn audit_tables(
    args: &RunArgs,
    engine: &execute::Engine,
    packs: &[BoundPack],
    out: &OutputDir,
    store: &Store,
    as_of: i64,
    as_of_text: &str,
    started_text: &str,
) -> std::result::Result<Vec<summary::TableSummary>, (String, Error)> {
    let json = args.output.format == Format::Json;
    let bars = super::progress::enabled(args.output.quiet, json);
    let mut tables = Vec::new();
    for table in packs.iter().flat_map(|p| &p.tables) {
        let progress = Arc::new(TableProgress::default());
        let ticker = super::progress::start(
            table.qualified_name(),
            execute::workload(table),
            &progress,
            bars,
        );
        let outcome = engine.audit_table(table, &out.path, &progress, as_of).await;
        drop(ticker);
        let fail = |e| (table.qualified_name(), e);
        let mut outcome = outcome.map_err(fail)?;
        outcome.facts.previous_rows = store
            .previous_rows(&table.library.id, &table.name, as_of_text, started_text)
            .map_err(fail)?;
        let anomalies_file = outcome.anomalies.as_ref().and_then(|(p, _)| {
            p.strip_prefix(&out.path)
                .ok()
                .map(|r| r.display().to_string())
        });
        tables.push(summary::table_summary(table, &outcome, anomalies_file));
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_override_parsing() {
        assert_eq!(
            parse_data_override("marriage.registration=/tmp/x.parquet"),
            Ok((
                "marriage.registration".into(),
                PathBuf::from("/tmp/x.parquet")
            ))
        );
        assert!(parse_data_override("nopath").is_err());
        assert!(parse_data_override("=x").is_err());
    }

    #[test]
    fn run_ids_sort_by_time() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-25T23:11:00Z")
            .unwrap()
            .to_utc();
        assert!(new_run_id(t).starts_with("20261125T231100Z-"));
    }
}
