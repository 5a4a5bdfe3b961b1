//! Stage 5, RUN: one audit from the packs to the store's commit. Bind every pack, audit every
//! table (set-based rules, the single pass, table checks), summarize, then commit: the summary
//! staged, the run saved in the history in one transaction, the summary published.
//!
//! Under `--keep-going`, a file found damaged only while scanning is left out by binding
//! again without it and auditing again (set-based rules of other tables read it too).
//!
//! Whatever stops a run (an error, or `cancel` resolving, e.g. on Ctrl-C) leaves no output
//! that looks complete: the output folder's exports and staged files are removed.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;

use crate::bind::{self, BoundPack, BoundTable, SourceOptions};
use crate::checks::table::TableCheckKind;
use crate::diagnostic::Diagnostic;
use crate::error::{Error, ExitStatus, Result};
use crate::execute::reuse::{self, Incremental, TableState};
use crate::execute::{self, AuditOptions, Engine, TableProgress, Workload};
use crate::results::problems::Presence;
use crate::results::store::{self, Store};
use crate::results::summary::{self, PackSummary, RunStatus, RunSummary, TableSummary, Verdict};
use crate::results::{OutputDir, SUMMARY_FILE, extras};
use crate::rules::source::LeftOutFile;

/// What to audit, where the results go, and how.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Rule packs, or folders of packs.
    pub rules: Vec<PathBuf>,
    /// Output folder; `out/<run-id>/` when `None`.
    pub out: Option<PathBuf>,
    /// `--data TABLE=PATH` overrides.
    pub data: Vec<(String, crate::rules::source::DataOverride)>,
    /// Partitions (local threads, or partitions per stage on a cluster).
    pub threads: usize,
    /// Memory for the engine's operators; the engine's default when `None`.
    pub memory_limit: Option<u64>,
    /// The run date; today when `None`.
    pub as_of: Option<NaiveDate>,
    /// Leave damaged files out instead of failing.
    pub keep_going: bool,
    /// The run history file; `qc.db` beside the output folder when `None`.
    pub store: Option<PathBuf>,
    /// A Ballista scheduler's `df://host:port`; embedded when `None`.
    pub cluster: Option<String>,
    /// How long a set-based rule may make no progress; the default when `None`.
    pub stall_timeout: Option<std::time::Duration>,
    /// Measure what each rule costs.
    pub rule_costs: bool,
    /// Which table verdict fails the run.
    pub fail_on: crate::results::summary::FailOn,
    /// Read every file, reusing nothing of earlier runs (`--full`).
    pub full: bool,
}

/// What a caller sees while a run goes on.
pub trait Observer {
    /// Diagnostics found while binding, each shown once however often binding is retried;
    /// `errors` when any of them is an error (the run then audits nothing).
    fn diagnostics(&mut self, found: &[Diagnostic], errors: bool);

    /// A table's audit starts; what is returned lives until it ends (e.g. a progress bar
    /// reading `progress`).
    fn table_started(
        &mut self,
        table: &BoundTable,
        workload: Workload,
        progress: &Arc<TableProgress>,
    ) -> Option<Box<dyn Send>>;
}

/// How a run ended, when it did not fail.
#[derive(Debug)]
pub enum Outcome {
    /// The packs had errors: nothing was audited. The status says whose (2: the packs',
    /// 3: every error is about the data's sources).
    Rejected(ExitStatus),
    /// The run is complete and committed.
    Completed(Box<Completed>),
}

#[derive(Debug)]
pub struct Completed {
    pub summary: RunSummary,
    /// `summary.json` as written.
    pub document: String,
    pub out_dir: PathBuf,
    pub status: ExitStatus,
}

/// A new run id: UTC time plus a random suffix, e.g. `20261125T231100Z-3f2a`.
pub fn new_run_id(now: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "{}-{:04x}",
        now.format("%Y%m%dT%H%M%SZ"),
        rand::random::<u16>()
    )
}

/// Run one audit (see the module documentation). When `cancel` resolves first, the run
/// stops with [`Error::Interrupted`] and leaves nothing behind.
pub async fn run(
    request: &Request,
    observer: &mut dyn Observer,
    cancel: impl Future<Output = ()>,
) -> Result<Outcome> {
    let started_at = chrono::Utc::now();
    let run_id = new_run_id(started_at);
    let as_of = request
        .as_of
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let engine = match &request.cluster {
        Some(url) => Engine::cluster(url, request.threads).await?,
        None => Engine::local(
            request.threads,
            request
                .memory_limit
                .unwrap_or_else(execute::session::default_memory_limit),
        ),
    };
    crate::plan::register_run_date(&engine.ctx, crate::values::days(as_of));
    // Claim the output folder first: whatever happens next, no earlier summary.json remains
    // there to pass for this run's result.
    let out_path = request
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&run_id));
    let out = OutputDir::prepare(&out_path)?;
    let clock = Clock {
        run_id,
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        as_of_text: as_of.format("%Y-%m-%d").to_string(),
        audit: AuditOptions {
            as_of: i64::from(crate::values::days(as_of)),
            stall: request
                .stall_timeout
                .unwrap_or(execute::sets::DEFAULT_STALL_TIMEOUT),
            rule_costs: request.rule_costs,
        },
    };
    let result = tokio::select! {
        r = audit(request, &engine, &out, &clock, observer) => r,
        () = cancel => Err(Error::Interrupted),
    };
    if !out.path.join(SUMMARY_FILE).exists() {
        out.discard();
    }
    result
}

/// When the run happens (its id, start and run date), and how its tables are audited.
struct Clock {
    run_id: String,
    started_at: String,
    as_of_text: String,
    audit: AuditOptions,
}

async fn audit(
    request: &Request,
    engine: &Engine,
    out: &OutputDir,
    clock: &Clock,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let store_path = store::location(request.store.as_deref());
    let mut store = Store::open(&store_path)?;
    let mut sources = SourceOptions {
        accepted: store.accepted()?,
        overrides: request.data.iter().cloned().collect(),
        keep_going: request.keep_going,
        damaged: Vec::new(),
    };
    let mut shown = HashSet::new();
    let (packs, (tables, reuse)) = loop {
        let (packs, diagnostics) = bind::load(&request.rules, &engine.ctx, &sources).await?;
        let fresh: Vec<Diagnostic> = diagnostics
            .iter()
            .filter(|d| shown.insert(d.render()))
            .cloned()
            .collect();
        let errors: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).collect();
        if !fresh.is_empty() || !errors.is_empty() {
            observer.diagnostics(&fresh, !errors.is_empty());
        }
        if !errors.is_empty() {
            return Ok(Outcome::Rejected(crate::diagnostic::exit_status(errors)));
        }
        check_overrides(&sources, &packs)?;
        if request.cluster.is_some() {
            check_cluster_calendar(&engine.ctx)?;
        }
        engine.check_sources(packs.iter().flat_map(|p| &p.tables))?;
        match audit_tables(engine, &packs, out, &store, clock, request.full, observer).await {
            Ok(tables) => break (packs, tables),
            Err((failed, error)) => {
                let all = packs.iter().flat_map(|p| &p.tables);
                let damaged: Vec<LeftOutFile> = execute::damaged_files(all, &failed, &error)
                    .into_iter()
                    .filter(|d| !sources.damaged.contains(d))
                    .collect();
                match damaged.first() {
                    None => return Err(error),
                    Some(first) if !request.keep_going => {
                        return Err(Error::damaged(&first.file, &first.reason));
                    }
                    Some(_) => sources.damaged.extend(damaged),
                }
            }
        }
    };

    let summary = run_summary(clock, request, &packs, tables);
    let status = exit_status(summary.status);
    let document =
        serde_json::to_string_pretty(&summary).map_err(|e| Error::Internal(e.to_string()))? + "\n";
    // The commit point of a run is the store's transaction. The summary, the folder's mark of
    // a complete run, is written before it under a temporary name and renamed after it:
    // killed at any moment, no summary.json exists for a run the history lacks.
    let staged = out.stage(SUMMARY_FILE, document.as_bytes())?;
    let mut extras = extras::collect(&packs, &summary, &out.path, &clock.as_of_text)?;
    if request.cluster.is_none() {
        extras.presence = presence(engine, &packs, &store, &extras).await?;
    }
    extras.reuse = reuse;
    store.save(&summary, &extras)?;
    staged.publish()?;
    // Kept files of earlier runs are no longer referred to. Failing to remove one loses
    // nothing: the next run tries again.
    let _ = store.prune_kept();
    Ok(Outcome::Completed(Box::new(Completed {
        summary,
        document,
        out_dir: out.path.clone(),
        status,
    })))
}

/// Which records of the problems still open that did not fail in this run were delivered
/// (asked of the data by key; a cluster run does not ask, and leaves those problems as
/// they were).
async fn presence(
    engine: &Engine,
    packs: &[BoundPack],
    store: &Store,
    extras: &store::RunExtras,
) -> Result<Presence> {
    let mut presence = Presence::default();
    for t in packs.iter().flat_map(|p| &p.tables) {
        let qualified = t.qualified_name();
        let Some(observed) = extras.problems.get(&qualified) else {
            continue;
        };
        let seen: HashSet<&str> = observed.iter().map(|o| o.key.as_str()).collect();
        let asked: BTreeSet<String> = store
            .open_problem_keys(&t.library.id, &t.name)?
            .into_iter()
            .filter(|k| !seen.contains(k.as_str()))
            .collect();
        if asked.is_empty() {
            continue;
        }
        let found = execute::presence::delivered_keys(&engine.ctx, t, &asked).await?;
        presence.asked.insert(qualified.clone(), asked);
        presence.found.insert(qualified, found);
    }
    Ok(presence)
}

/// A cluster's executors know only the working-day calendar built into qc: a pack that
/// brings its own cannot run there with the same answers.
fn check_cluster_calendar(ctx: &datafusion::prelude::SessionContext) -> Result<()> {
    match crate::checks::workdays::registered(ctx) {
        Some(calendar) if !calendar.is_builtin() => Err(Error::Cluster(format!(
            "the packs use their own working-day calendar ({}); a cluster's executors know \
             only the one built into qc: run without --cluster, or build qc with this calendar \
             as rules/codelists/cn_workdays.csv",
            calendar.origin()
        ))),
        _ => Ok(()),
    }
}

/// The summary of a run whose tables are all audited.
fn run_summary(
    clock: &Clock,
    request: &Request,
    packs: &[BoundPack],
    tables: Vec<TableSummary>,
) -> RunSummary {
    let verdict = Verdict::worst(tables.iter().map(|t| t.verdict));
    let status = if tables.iter().any(|t| !t.left_out_files.is_empty()) {
        RunStatus::Partial
    } else if request.fail_on.fails(verdict) {
        RunStatus::ThresholdFailed
    } else {
        RunStatus::Passed
    };
    RunSummary {
        schema_version: summary::SCHEMA_VERSION,
        run_id: clock.run_id.clone(),
        qc_version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: clock.started_at.clone(),
        finished_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        threads: request.threads,
        status,
        exit_code: exit_status(status).code(),
        verdict,
        fail_on: request.fail_on,
        packs: packs
            .iter()
            .map(|p| PackSummary {
                path: p.path.display().to_string(),
                library: p.library.id.clone(),
                library_name: p.library.name.clone(),
            })
            .collect(),
        tables,
    }
}

/// The process's exit status for a finished run.
pub fn exit_status(status: RunStatus) -> ExitStatus {
    match status {
        RunStatus::Passed => ExitStatus::Passed,
        RunStatus::ThresholdFailed => ExitStatus::ThresholdFailed,
        RunStatus::Partial => ExitStatus::RuntimeError,
    }
}

/// Every `--data` override must name a table of the run.
pub fn check_overrides(sources: &SourceOptions, packs: &[BoundPack]) -> Result<()> {
    let tables = || packs.iter().flat_map(|p| &p.tables);
    for key in sources.overrides.keys() {
        if !tables().any(|t| t.is_named(key)) {
            let names: Vec<String> = tables().map(BoundTable::qualified_name).collect();
            return Err(Error::Usage(format!(
                "--data names no table `{key}`; the tables are: {}",
                names.join(", ")
            )));
        }
    }
    Ok(())
}

/// What each audited table leaves for the next run: per (library, table), its state, or
/// `None` to forget an earlier one.
type Kept = BTreeMap<(String, String), Option<TableState>>;

/// Audit every table of the run in turn, reusing what earlier runs left unless `full`. On
/// failure, the table being audited and the error.
async fn audit_tables(
    engine: &Engine,
    packs: &[BoundPack],
    out: &OutputDir,
    store: &Store,
    clock: &Clock,
    full: bool,
    observer: &mut dyn Observer,
) -> std::result::Result<(Vec<TableSummary>, Kept), (String, Error)> {
    let mut tables = Vec::new();
    let mut kept = Kept::new();
    for pack in packs {
        let seed = reuse::seed(
            &pack.sha256,
            pack.path.parent().unwrap_or(std::path::Path::new(".")),
        );
        for table in &pack.tables {
            let fail = |e| (table.qualified_name(), e);
            let incremental = Incremental {
                seed: seed.clone(),
                previous: store
                    .reuse_state(&table.library.id, &table.name)
                    .map_err(fail)?,
                full,
                dir: Some(store.kept_dir()),
            };
            let progress = Arc::new(TableProgress::default());
            let shown = observer.table_started(table, execute::workload(table), &progress);
            let outcome = engine
                .audit_table(table, &out.path, &progress, &clock.audit, &incremental)
                .await;
            drop(shown);
            let mut outcome = outcome.map_err(fail)?;
            outcome.facts.previous_rows = store
                .previous_rows(
                    &table.library.id,
                    &table.name,
                    &clock.as_of_text,
                    &clock.started_at,
                )
                .map_err(fail)?;
            for c in &table.table_checks {
                if let TableCheckKind::Trend(t) = &c.kind
                    && let Some(facts) = outcome.facts.trends.iter_mut().find(|f| f.key == t.key())
                    && facts.past.is_empty()
                {
                    facts.past = store
                        .trend_history(
                            &table.library.id,
                            &table.name,
                            t,
                            &clock.as_of_text,
                            &clock.started_at,
                        )
                        .map_err(fail)?;
                }
            }
            let anomalies_file = outcome.anomalies.as_ref().and_then(|(p, _)| {
                p.strip_prefix(&out.path)
                    .ok()
                    .map(|r| r.display().to_string())
            });
            let state = match outcome.state.take() {
                Some(state) => Some(
                    keep_export(store, clock, table, state, outcome.anomalies.as_ref())
                        .map_err(fail)?,
                ),
                None => None,
            };
            kept.insert((table.library.id.clone(), table.name.clone()), state);
            tables.push(summary::table_summary(table, &outcome, anomalies_file));
        }
    }
    Ok((tables, kept))
}

/// Keep the table's anomaly export beside the store for the next run to carry rows from
/// (a hard link where the file system allows, else a copy), and note it in `state`.
fn keep_export(
    store: &Store,
    clock: &Clock,
    table: &BoundTable,
    mut state: TableState,
    anomalies: Option<&(PathBuf, u64)>,
) -> Result<TableState> {
    let Some((export, _)) = anomalies else {
        return Ok(state);
    };
    let dir = store.kept_dir();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let dir = std::fs::canonicalize(&dir).map_err(|e| Error::io(&dir, e))?;
    let kept = dir.join(format!(
        "{}.{}.parquet",
        clock.run_id,
        table.qualified_name()
    ));
    if std::fs::hard_link(export, &kept).is_err() {
        std::fs::copy(export, &kept).map_err(|e| Error::io(&kept, e))?;
    }
    let fingerprint = reuse::Fingerprint::of(&kept)?;
    state.export = Some((kept, fingerprint));
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_by_time() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-25T23:11:00Z")
            .unwrap()
            .to_utc();
        assert!(new_run_id(t).starts_with("20261125T231100Z-"));
    }
}
