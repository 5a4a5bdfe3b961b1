//! `qc gen`: synthetic tables of a thematic library with anomalies injected at known rows,
//! and a truth file saying exactly what an audit with the shipped pack must find.
//!
//! The truth is known **by construction**: every anomalous row carries exactly one injected
//! defect, and each defect kind lists the rules it breaks. Nothing here evaluates a rule.
//! Rows are generated in chunks on rayon's pool; chunk `i` is seeded from `(seed, i)`, so the
//! output is identical whatever the thread count.

pub mod spatial;
pub mod truth;

use std::path::PathBuf;

use crate::error::Result;

/// Output format of generated tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GenFormat {
    Parquet,
    Csv,
}

/// Encoding of generated CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GenEncoding {
    Utf8,
    Gbk,
}

#[derive(Debug, Clone)]
pub struct GenSpec {
    pub rows: u64,
    pub seed: u64,
    /// Share of rows that get one row-level defect.
    pub anomaly_rate: f64,
    /// CSV only: share of rows whose record is damaged (PARSE rules).
    pub parse_damage_rate: f64,
    pub format: GenFormat,
    pub encoding: GenEncoding,
    /// Data file to write; the truth goes beside it as `<stem>.truth.json`.
    pub out: PathBuf,
}

impl GenSpec {
    pub fn truth_path(&self) -> PathBuf {
        let stem = self
            .out
            .file_stem()
            .map_or_else(|| "table".into(), |s| s.to_string_lossy().into_owned());
        self.out.with_file_name(format!("{stem}.truth.json"))
    }
}

/// Rows per generated chunk (one rayon task, one output batch).
pub const CHUNK_ROWS: u64 = 65_536;

/// A per-chunk random generator, independent of thread scheduling.
pub fn chunk_rng(seed: u64, chunk: u64) -> rand::rngs::StdRng {
    use rand::SeedableRng as _;
    rand::rngs::StdRng::seed_from_u64(
        seed ^ chunk.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17),
    )
}

/// Generate the spatial library's address table.
pub fn table(library: &str, spec: &GenSpec) -> Result<truth::Truth> {
    match library {
        "spatial" => spatial::generate(spec),
        other => Err(crate::error::Error::Usage(format!(
            "no generator for library `{other}`; available: spatial"
        ))),
    }
}
