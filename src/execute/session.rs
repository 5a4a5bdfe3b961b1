//! Engine sessions: qc's SQL settings, shared by the embedded engine and a cluster's client,
//! and the embedded engine's session sized to the machine (or `--threads`) with its memory
//! pool.

use std::sync::Arc;

use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::rules::sql::CATALOG;

/// Rows per batch. Rule evaluation pays a fixed cost per batch and expression; 32K rows
/// beat DataFusion's default 8K by 11 % on the 12-rule marriage audit and 5 % on the
/// spatial pack at 10M rows (2.75 → 2.45 s, 6.27 → 5.95 s, medians of 3), for 12 MiB more
/// peak memory; 64K and 128K were slower again.
pub const BATCH_ROWS: usize = 32 * 1024;

/// A session with `threads` partitions, qc's SQL settings, an empty catalog, and the
/// default memory limit ([`default_memory_limit`]).
pub fn session(threads: usize) -> SessionContext {
    session_with_limit(threads, default_memory_limit())
}

/// The default memory limit of the engine's operators: a sixteenth of the machine's memory,
/// at least 512 MiB and at most 4 GiB (1 GiB when it cannot be read). Set-based rules on
/// 50M rows ran faster under 1 GiB than under 12 GiB (sorted spills beat huge hash tables;
/// `benches/memory.sh`), so more is not better.
pub fn default_memory_limit() -> u64 {
    total_memory().map_or(1 << 30, |m| (m / 16).clamp(512 << 20, 4 << 30))
}

/// Physical memory in bytes, from `/proc/meminfo` (Linux).
fn total_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `config` with qc's settings: `partitions` partitions, batches of [`BATCH_ROWS`], qc's
/// catalogue as the default, column names as written in packs, positions kept in rule SQL.
/// Every session that plans rule SQL, local or a cluster's client, is configured here.
pub fn configure(config: SessionConfig, partitions: usize) -> SessionConfig {
    let mut config = config
        .with_target_partitions(partitions.max(1))
        .with_batch_size(BATCH_ROWS)
        .with_default_catalog_and_schema(CATALOG, "public")
        .with_create_default_catalog_and_schema(true)
        .with_information_schema(false);
    let options = config.options_mut();
    // Column names are used as written in packs (no lower-casing of identifiers).
    options.sql_parser.enable_ident_normalization = false;
    // Positions inside rule SQL, for diagnostics that point at the spot.
    options.sql_parser.collect_spans = true;
    config
}

/// A local session whose sorts, aggregates and joins share `memory_limit` bytes and spill to
/// the system's temporary folder beyond it.
pub fn session_with_limit(threads: usize, memory_limit: u64) -> SessionContext {
    let config = configure(SessionConfig::new(), threads);
    let pool = super::memory::QcPool::new(usize::try_from(memory_limit).unwrap_or(usize::MAX));
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(pool))
        .build_arc()
        .unwrap_or_default();
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .build();
    let ctx = SessionContext::new_with_state(state);
    crate::plan::register_functions(&ctx);
    crate::plan::register_run_date(&ctx, crate::values::days(chrono::Local::now().date_naive()));
    ctx
}

/// The heartbeat of `ctx`'s memory pool, when it is qc's ([`super::memory::QcPool`]).
pub fn heartbeat(ctx: &SessionContext) -> Option<Arc<super::memory::Heartbeat>> {
    ctx.runtime_env()
        .memory_pool
        .as_ref()
        .downcast_ref::<super::memory::QcPool>()
        .map(super::memory::QcPool::heartbeat)
}

/// `state` with joins planned as sort-merge joins, which spill to disk under the memory limit
/// (hash joins hold their build side in memory and cannot).
pub fn sort_merge_joins(
    state: &datafusion::execution::SessionState,
) -> datafusion::execution::SessionState {
    let mut config = state.config().clone();
    config.options_mut().optimizer.prefer_hash_join = false;
    SessionStateBuilder::new_from_existing(state.clone())
        .with_config(config)
        .build()
}
