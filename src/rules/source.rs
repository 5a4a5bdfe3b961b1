//! A table's source as bound: the files to read, their format and, for CSV, how to read
//! them; and the damaged files a run left out.

use std::path::PathBuf;

/// Where a table is read from, resolved: the files a path or glob names, and their format.
#[derive(Debug, Clone)]
pub struct BoundSource {
    /// The path or glob as written (or as given by `--data`).
    pub pattern: String,
    pub files: Vec<PathBuf>,
    pub format: SourceFormat,
    /// Damaged files left out of the audit under `--keep-going`.
    pub left_out: Vec<LeftOutFile>,
}

/// A damaged file left out of a run, and what was wrong with it (naming the file).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeftOutFile {
    pub file: PathBuf,
    pub reason: String,
}

/// How a table's files are read.
#[derive(Debug, Clone)]
pub enum SourceFormat {
    Parquet,
    Csv(CsvOptions),
}

/// How a CSV source is read (the pack's `source:` options, validated).
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// The bytes' encoding: UTF-8, GBK or GB18030.
    pub encoding: &'static encoding_rs::Encoding,
    pub delimiter: u8,
    pub quote: u8,
    /// Whether the first record names the columns.
    pub header: bool,
    /// Field texts read as NULL.
    pub null_values: Vec<String>,
}
