//! # qc — 数据质量稽核
//!
//! A single-pass data-quality audit engine for the thematic libraries (专题库) of a municipal
//! big-data center. The module tree is the pipeline:
//!
//! ```text
//! rules/*.yaml ─parse─▶ Pack ─bind (schemas)─▶ BoundPack        rules/   (+ checks/)
//!                                     │ compile
//!                                     ▼
//! Parquet / CSV ──scan──▶ one fused projection per table        scan/, plan/
//!                                     │ execute on all cores
//!                                     ▼
//!               TableCounts + anomalous rows                    execute/
//!                                     │
//!                                     ▼
//!     RunSummary (terminal, summary.json) + anomaly exports     results/
//!        + run history (SQLite) ─▶ feedback files (xlsx, CSV)
//!                                     │
//!                                     ▼
//!     MonthlyReport (HTML, Markdown, JSON), from the history    report/
//! ```
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
//!   (`unique`, `reference`, `query`); its **anomalous keys** are computed before the pass.
//! - **table check**: a property of a whole table (row count, freshness, completeness).
//! - **store**: the run history; **feedback**: per-provider files of anomalous records;
//!   **report**: the monthly quality report with **scores** out of 100.

pub mod checks;
pub mod cli;
pub mod diagnostic;
pub mod error;
pub mod execute;
pub mod generate;
pub mod plan;
pub mod report;
pub mod results;
pub mod rules;
pub mod scan;
pub mod text;
