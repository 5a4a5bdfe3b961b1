//! `qc gen`: synthetic tables of a thematic library with anomalies injected at known rows,
//! and `truth.json` saying exactly what an audit with the shipped pack must find.
//!
//! The truth is known **by construction**: exactly K rows are anomalous, chosen up front;
//! each carries one injected defect, and each defect kind lists the rules it breaks. Defects
//! take turns, so they spread evenly over the pack's rules. Nothing here evaluates a rule.
//! Rows are generated in chunks on rayon's pool; chunk `i` is seeded from `(seed, i)`, so the
//! output is byte-identical whatever the thread count.

pub mod building;
pub mod death;
pub mod marriage;
pub mod people;
pub mod spatial;
pub mod table;
pub mod truth;

use std::collections::HashSet;
use std::path::PathBuf;

use rand::Rng as _;

use crate::error::{Error, Result};

/// Output format of generated tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GenFormat {
    Parquet,
    Csv,
}

/// Encoding of generated CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GenEncoding {
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    Gbk,
}

#[derive(Debug, Clone)]
pub struct GenSpec {
    pub rows: u64,
    pub seed: u64,
    /// Exactly this many anomalous rows.
    pub anomalies: u64,
    pub format: GenFormat,
    pub encoding: GenEncoding,
    /// Output folder: one file per table (`<table>.parquet` / `<table>.csv`) and `truth.json`.
    pub out: PathBuf,
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

/// The anomalous rows: `k` distinct indices of `0..n`, sorted (Floyd's sampling, so memory is
/// proportional to `k`, not `n`).
pub fn anomalous_rows(n: u64, k: u64, seed: u64) -> Result<Vec<u64>> {
    if k > n {
        return Err(Error::Usage(format!(
            "--anomalies {k} is more than --rows {n}"
        )));
    }
    let mut rng = chunk_rng(seed, u64::MAX);
    let mut chosen: HashSet<u64> = HashSet::with_capacity(usize::try_from(k).unwrap_or(0));
    for j in n - k..n {
        let t = rng.random_range(0..=j);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    let mut rows: Vec<u64> = chosen.into_iter().collect();
    rows.sort_unstable();
    Ok(rows)
}

/// Generate a library's tables into `spec.out`.
pub fn library(library: &str, spec: &GenSpec) -> Result<truth::Truth> {
    std::fs::create_dir_all(&spec.out).map_err(|e| Error::io(&spec.out, e))?;
    let tables = match library {
        "spatial" => vec![(spatial::TABLE, table::write(&spatial::Address, spec)?)],
        "building" => vec![(building::TABLE, table::write(&building::Building, spec)?)],
        "death" => vec![(death::TABLE, table::write(&death::Record, spec)?)],
        "marriage" => vec![(
            marriage::TABLE,
            table::write(&marriage::Registration, spec)?,
        )],
        other => {
            return Err(Error::Usage(format!(
                "no generator for library `{other}`; available: building, death, marriage, spatial"
            )));
        }
    };
    let truth = truth::Truth {
        library: library.to_string(),
        seed: spec.seed,
        tables: tables
            .into_iter()
            .map(|(n, t)| (n.to_string(), t))
            .collect(),
    };
    let json = serde_json::to_string_pretty(&truth).map_err(|e| Error::Internal(e.to_string()))?;
    let path = spec.out.join(truth::TRUTH_FILE);
    std::fs::write(&path, json + "\n").map_err(|e| Error::io(&path, e))?;
    Ok(truth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_k_distinct_rows() {
        let rows = anomalous_rows(1000, 37, 9).unwrap();
        assert_eq!(rows.len(), 37);
        assert!(rows.windows(2).all(|w| w[0] < w[1]));
        assert!(rows.iter().all(|r| *r < 1000));
        assert_eq!(
            anomalous_rows(10, 10, 1).unwrap(),
            (0..10).collect::<Vec<_>>()
        );
        assert!(anomalous_rows(3, 4, 1).is_err());
    }
}
