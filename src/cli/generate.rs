//! `qc gen LIBRARY --rows N --out FILE`: a synthetic table with anomalies at known rows, and
//! its truth file (`<stem>.truth.json`) beside it.

use std::path::PathBuf;

use clap::Args;

use super::output;
use crate::error::{ExitStatus, Result};
use crate::generate::{GenEncoding, GenFormat, GenSpec};
use crate::text::thousands;

#[derive(Debug, Args)]
pub struct GenArgs {
    /// Library to generate (spatial).
    pub library: String,
    /// Rows to generate.
    #[arg(long, default_value_t = 10_000)]
    pub rows: u64,
    /// Random seed: the same seed gives the same table and truth.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of rows with one injected row-level defect.
    #[arg(long, default_value_t = 0.005)]
    pub anomaly_rate: f64,
    /// CSV only: share of records damaged (wrong field count, bad quote, bad bytes, bad date).
    #[arg(long, default_value_t = 0.0)]
    pub parse_damage_rate: f64,
    #[arg(long, value_enum, default_value_t = GenFormat::Parquet)]
    pub format: GenFormat,
    /// CSV only.
    #[arg(long, value_enum, default_value_t = GenEncoding::Utf8)]
    pub encoding: GenEncoding,
    /// Data file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn generate(args: &GenArgs) -> Result<ExitStatus> {
    for (name, rate) in [
        ("--anomaly-rate", args.anomaly_rate),
        ("--parse-damage-rate", args.parse_damage_rate),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            return Err(crate::error::Error::Usage(format!(
                "{name} must be between 0 and 1"
            )));
        }
    }
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(super::threads(args.threads))
        .build_global();
    let spec = GenSpec {
        rows: args.rows,
        seed: args.seed,
        anomaly_rate: args.anomaly_rate,
        parse_damage_rate: args.parse_damage_rate,
        format: args.format,
        encoding: args.encoding,
        out: args.out.clone(),
    };
    let truth = crate::generate::table(&args.library, &spec)?;
    output::stderr(&format!(
        "{}: {} rows, {} anomalous; truth: {}\n",
        spec.out.display(),
        thousands(truth.rows),
        thousands(truth.anomalous_rows),
        spec.truth_path().display()
    ));
    Ok(ExitStatus::Passed)
}
