//! `qc gen`: synthetic tables of a thematic library with anomalies injected at known rows,
//! and `truth.json` saying exactly what an audit with the shipped pack must find.
//!
//! The truth is known **by construction**: exactly K rows are anomalous, chosen up front;
//! each carries one injected defect, and each defect kind lists the rules it breaks. Defects
//! take turns, so they spread evenly over the pack's rules. Nothing here evaluates a rule.
//! Rows are generated in chunks on rayon's pool; row `i` has its own random generator seeded
//! from `(seed, i)`, so the output is byte-identical whatever the thread count, and a row can
//! be made again on its own when another row or library refers to it.

pub mod building;
pub mod death;
pub mod estate;
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
    /// Parquet: write each table as this many files, `<table>/part-NNN.parquet`.
    pub files: u64,
    /// Parquet: rows per row group at most.
    pub row_group_rows: u64,
}

/// Rows per Parquet row group unless asked otherwise: two chunks, small enough that a
/// reader's memory does not depend on the file's size, large enough to compress well.
pub const ROW_GROUP_ROWS: u64 = 2 * CHUNK_ROWS;

/// Rows per generated chunk (one rayon task, one output batch).
pub const CHUNK_ROWS: u64 = 65_536;

/// Row `i`'s own random generator: any row can be made again on its own (a scenario that
/// spans rows or libraries rebuilds the rows it refers to), whatever the thread count.
pub fn row_rng(seed: u64, i: u64) -> rand::rngs::StdRng {
    use rand::SeedableRng as _;
    rand::rngs::StdRng::seed_from_u64(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17))
}

/// The anomalous rows: `k` distinct indices of `0..n`, sorted (Floyd's sampling, so memory is
/// proportional to `k`, not `n`).
pub fn anomalous_rows(n: u64, k: u64, seed: u64) -> Result<Vec<u64>> {
    if k > n {
        return Err(Error::Usage(format!(
            "--anomalies {k} is more than --rows {n}"
        )));
    }
    let mut rng = row_rng(seed, u64::MAX);
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

/// The libraries `qc gen` can make.
pub const LIBRARIES: [&str; 4] = ["building", "death", "marriage", "spatial"];

/// A library's own seed: libraries generated together draw independent rows.
pub fn library_seed(seed: u64, library: &str) -> u64 {
    // FNV-1a of the name.
    let hash = library.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    seed ^ hash
}

/// Generate `libraries` together. One library is written into `spec.out`; several into
/// `spec.out/<library>/`. Libraries generated together refer to each other, so that the
/// cross-library rules have exact truths: marriages and deaths share people (and husbands
/// who marry after their recorded death), buildings stand on the addresses of the spatial
/// library (and some on addresses it lacks).
pub fn libraries(libraries: &[String], spec: &GenSpec) -> Result<Vec<truth::Truth>> {
    for l in libraries {
        if !LIBRARIES.contains(&l.as_str()) {
            return Err(Error::Usage(format!(
                "no generator for library `{l}`; available: {}",
                LIBRARIES.join(", ")
            )));
        }
    }
    let has = |l: &str| libraries.iter().any(|x| x == l);
    let spec_of = |library: &str| GenSpec {
        seed: library_seed(spec.seed, library),
        out: if libraries.len() == 1 {
            spec.out.clone()
        } else {
            spec.out.join(library)
        },
        ..spec.clone()
    };
    let csv = spec.format == GenFormat::Csv;
    // Marriages and deaths generated together: the deaths the death library records for
    // marriage scenarios (married after death; a first wife who died before her widower
    // remarried), worked out once for both libraries.
    let marriage_deaths = if has("marriage") && has("death") {
        let m = spec_of("marriage");
        let anomalous = anomalous_rows(m.rows, m.anomalies, m.seed)?;
        let cx = table::RowCx {
            seed: m.seed,
            rows: m.rows,
            anomalous: &anomalous,
            csv,
        };
        let g = marriage::Registration { with_death: true };
        Some((g.deaths_to_record(&cx), g.widowed_to_record(&cx)))
    } else {
        None
    };
    let mut out = Vec::new();
    for library in libraries {
        let lib = spec_of(library);
        std::fs::create_dir_all(&lib.out).map_err(|e| Error::io(&lib.out, e))?;
        let tables = match library.as_str() {
            "spatial" => vec![(spatial::TABLE, table::write(&spatial::Address, &lib)?)],
            "building" => {
                let spatial = if has("spatial") {
                    let s = spec_of("spatial");
                    Some(building::SpatialLink {
                        anomalous: anomalous_rows(s.rows, s.anomalies, s.seed)?,
                        seed: s.seed,
                        rows: s.rows,
                        csv,
                    })
                } else {
                    None
                };
                let g = building::Building { spatial };
                vec![(building::TABLE, table::write(&g, &lib)?)]
            }
            "death" => {
                let (before_marriage, widowed) = marriage_deaths.clone().unwrap_or_default();
                let g = death::Record {
                    before_marriage,
                    widowed,
                };
                vec![(death::TABLE, table::write(&g, &lib)?)]
            }
            _ => {
                let g = marriage::Registration {
                    with_death: has("death"),
                };
                let mut truth = table::write(&g, &lib)?;
                if let Some((_, widowed)) = &marriage_deaths {
                    truth.without.insert(
                        "death".to_string(),
                        [("MAR-023".to_string(), widowed.len() as u64)].into(),
                    );
                }
                vec![(marriage::TABLE, truth)]
            }
        };
        let truth = truth::Truth {
            library: library.clone(),
            seed: spec.seed,
            generated_with: libraries
                .iter()
                .filter(|l| *l != library)
                .cloned()
                .collect(),
            tables: tables
                .into_iter()
                .map(|(n, t)| (n.to_string(), t))
                .collect(),
        };
        let json =
            serde_json::to_string_pretty(&truth).map_err(|e| Error::Internal(e.to_string()))?;
        let path = lib.out.join(truth::TRUTH_FILE);
        std::fs::write(&path, json + "\n").map_err(|e| Error::io(&path, e))?;
        out.push(truth);
    }
    Ok(out)
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
