//! `qc gen --library L[,L…] --rows N --out DIR`: libraries' tables with anomalies at known
//! rows, one file per table (`<table>.parquet` or `<table>.csv`), and `truth.json` beside
//! them. Several libraries go to `DIR/<library>/` and refer to each other.

use std::path::PathBuf;

use clap::Args;

use super::output;
use crate::error::{Error, ExitStatus, Result};
use crate::generate::{GenEncoding, GenFormat, GenSpec};
use crate::text::thousands;

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("how_many").args(["anomalies", "anomaly_rate"]))]
pub struct GenArgs {
    /// Libraries to generate (building, death, marriage, spatial; or estate on its own),
    /// comma-separated or
    /// repeated. Libraries generated together refer to each other (marriage × death,
    /// building → spatial), so the cross-library rules have exact truths.
    #[arg(long, required = true, value_delimiter = ',')]
    pub library: Vec<String>,
    /// Rows of each library's main table.
    #[arg(long, default_value_t = 10_000)]
    pub rows: u64,
    /// Random seed: the same seed gives byte-identical files and truth.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Exactly this many anomalous rows per library (plus, for death generated with marriage,
    /// one appended record per marriage after death).
    #[arg(long)]
    pub anomalies: Option<u64>,
    /// Or this share of the rows (rounded to a whole number of rows) [default: 0.005].
    #[arg(long)]
    pub anomaly_rate: Option<f64>,
    #[arg(long, value_enum, default_value_t = GenFormat::Parquet)]
    pub format: GenFormat,
    /// CSV only.
    #[arg(long, value_enum, default_value_t = GenEncoding::Utf8)]
    pub encoding: GenEncoding,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Parquet only: write each table as this many files of consecutive rows,
    /// `<table>/part-NNN.parquet` (deliveries of a folder).
    #[arg(long, default_value_t = 1)]
    pub files: u64,
    /// Parquet only: rows per row group at most (as many as `--rows` writes one row group
    /// per file, the layout some exports use).
    #[arg(long, default_value_t = crate::generate::ROW_GROUP_ROWS)]
    pub row_group_rows: u64,
    /// `estate` only: how many tables (one CSV file each, over six departments).
    #[arg(long, default_value_t = 200)]
    pub tables: usize,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn generate(args: &GenArgs) -> Result<ExitStatus> {
    let anomalies = match (args.anomalies, args.anomaly_rate) {
        (Some(k), _) => k,
        (None, rate) => {
            let rate = rate.unwrap_or(0.005);
            if !(0.0..=1.0).contains(&rate) {
                return Err(Error::Usage(
                    "--anomaly-rate must be between 0 and 1".into(),
                ));
            }
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let k = (rate * args.rows as f64).round() as u64;
            k
        }
    };
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(super::threads(args.threads))
        .build_global();
    let spec = GenSpec {
        rows: args.rows,
        seed: args.seed,
        anomalies,
        format: args.format,
        encoding: args.encoding,
        out: args.out.clone(),
        files: args.files,
        row_group_rows: args.row_group_rows.max(1),
    };
    if args.library.iter().any(|l| l == "estate") {
        if args.library.len() > 1 {
            return Err(Error::Usage(
                "the estate library is generated on its own (--library estate)".into(),
            ));
        }
        std::fs::create_dir_all(&spec.out).map_err(|e| Error::io(&spec.out, e))?;
        let truth = crate::generate::estate::generate(&spec, args.tables)?;
        output::stderr(&format!(
            "estate: {} tables, {} rows, {} anomalous\n",
            truth.tables.len(),
            thousands(truth.tables.values().map(|t| t.rows).sum()),
            thousands(truth.tables.values().map(|t| t.anomalous_rows).sum()),
        ));
        return Ok(ExitStatus::Passed);
    }
    for truth in crate::generate::libraries(&args.library, &spec)? {
        for (table, t) in &truth.tables {
            output::stderr(&format!(
                "{}.{table}: {} rows, {} anomalous\n",
                truth.library,
                thousands(t.rows),
                thousands(t.anomalous_rows),
            ));
        }
    }
    Ok(ExitStatus::Passed)
}
