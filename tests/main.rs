//! qc's integration tests: one test binary (faster to link than one per file).

/// Helpers: the built `qc` binary, temporary folders, snapshot filters.
mod util;

/// The module tree reads as the pipeline: no import runs back up a layer.
mod layers;

/// Hand-counted fixtures: every check kind, NULLs, malformed CSV, GBK.
mod cases;

/// `qc check`: every diagnostic, rendered (snapshots).
mod check;

/// Every diagnostic code: a fixture that reports it, its snapshot, its exit status.
mod diagnostics;

/// `qc run` output: text summary in zh and en, summary.json, exit codes (snapshots + counts).
mod run;

/// The shape of the physical plan: one scan, one fused projection.
mod plan;

/// Set-based rules, table checks, verdicts, rule SQL confinement (hand-counted fixtures).
mod sets;

/// Run history, monthly report (Markdown, JSON, HTML in a browser), feedback files.
mod history;

/// Incremental runs equal full runs after random changes and after a killed run.
mod incremental;

/// Generated tables against the generator's truth file; thread counts agree.
mod truth;

/// Damaged files and records: counted and exported, or named in a clear error; --keep-going.
mod bad_data;

/// Faults: SIGKILL at random points, Ctrl-C, full and read-only disks.
mod faults;

/// The fuzz targets' committed corpus and regressions, replayed.
mod fuzz_corpus;

/// `qc profile`: hand-counted profiles, suggested packs audited, drift, the page.
mod profile;

/// Personal data masked in every human-facing output.
mod masking;

/// `qc run --cluster`: a real scheduler and two executors; counts equal truth and local.
#[cfg(feature = "cluster")]
mod cluster;
