//! # qc — 数据质量稽核
//!
//! A single-pass data-quality audit engine for the thematic libraries (专题库) of a municipal
//! big-data center. The module tree is the pipeline:
//!
//! ```text
//! rules/*.yaml ─parse─▶ Pack ─bind (schemas)─▶ BoundPack         bind/   (rules/, checks/, scan/)
//!                                     │ compile
//!                                     ▼
//! Parquet / CSV ──scan──▶ one fused projection per table         scan/, plan/
//!                                     │ execute on all cores
//!                                     ▼
//!               TableCounts + anomaly exports                    execute/
//!                                     │
//!                                     ▼
//!     RunSummary (summary.json) + run history (SQLite)           results/
//!                                     │ one run, bind to commit
//!                                     ▼
//!     terminal summary, monthly report, feedback files           run.rs, text.rs, report/, cli/
//! ```
//!
//! ## Layers
//! Each module imports only modules of lower layers ([`LAYERS`], ground first); modules of
//! one layer do not import each other. `tests/layers.rs` reads `src/` and fails on any import
//! that runs back up.
//!
//! | layer | modules | what they are |
//! |---|---|---|
//! | 0 | `error` | the one error type and exit statuses |
//! | 1 | `diagnostic`, `values` | pack diagnostics and their codes; the calendar and text → value parsing |
//! | 2 | `rules` | the rule language's vocabulary: thresholds, dimensions, severities, column types, table names, sources, scoring model, personal-data kinds, rule SQL, code lists |
//! | 3 | `checks`, `scan` | the catalogue of check kinds; Parquet and CSV sources |
//! | 4 | `bind` | packs parsed and bound to their sources' schemas |
//! | 5 | `plan` | a bound table → one fused projection |
//! | 6 | `execute` | the pass: counts, anomaly exports, table-check facts (embedded or on a cluster) |
//! | 7 | `results` | the run summary, scores and the run history |
//! | 8 | `run`, `text` | one run from packs to commit; every user-facing phrase |
//! | 9 | `report`, `generate`, `profile` | monthly reports and feedback files; synthetic libraries with their truth; profiles of new tables and draft packs |
//! | 10 | `cli` | flags, terminal output, exit codes |
//!
//! ## Glossary
//! - **pack**: one YAML file of rules for one **library** (专题库, e.g. 婚姻), holding
//!   **tables** (a source: Parquet or CSV files) and their **rules**.
//! - **rule**: an id, a Chinese name, a quality **dimension** (GB/T 36344), a severity, an
//!   optional precondition and threshold, and a **check** (a built-in kind or SQL).
//! - **provider**: the department or district (委办局/区) that supplied a row.
//! - **anomaly**: a row failing at least one rule; **anomalous rows** count each row once.
//! - **run**: one execution of `qc run`; its **summary** is written last.
//! - **set-based rule**: a rule whose verdict on a row depends on other rows or tables
//!   (`unique`, `reference`, `query`); its **anomalous tuples** are computed before the pass.
//! - **table check**: a property of a whole table (row count, freshness, completeness).
//! - **store**: the run history; **feedback**: per-provider files of anomalous records;
//!   **report**: the monthly quality report with **scores** out of 100.

pub mod bind;
pub mod checks;
pub mod cli;
pub mod diagnostic;
pub mod error;
pub mod execute;
pub mod generate;
pub mod plan;
pub mod profile;
pub mod report;
pub mod results;
pub mod rules;
pub mod run;
pub mod scan;
pub mod text;
pub mod values;

/// The layers of the module tree, ground first (see "Layers" above).
pub const LAYERS: &[&[&str]] = &[
    &["error"],
    &["diagnostic", "values"],
    &["rules"],
    &["checks", "scan"],
    &["bind"],
    &["plan"],
    &["execute"],
    &["results"],
    &["run", "text"],
    &["report", "generate", "profile"],
    &["cli"],
];
