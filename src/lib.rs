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
//! - **feedback**, **store**, **report**: per-provider files, run history and monthly report
//!   (later stages).

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
