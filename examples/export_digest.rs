//! The benchmarks' check that two anomaly exports hold the same rows: prints a Parquet
//! file's row count and a SHA-256 of its rows, each rendered as text, in sorted order (an
//! export's row order depends on how its partitions interleaved).
//!
//! `cargo run --release --example export_digest -- FILE...`

// Its output is its answer.
#![allow(clippy::print_stdout)]

use std::fs::File;

use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for path in std::env::args().skip(1) {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path)?)?.build()?;
        let mut rows = Vec::new();
        let options = FormatOptions::default().with_null("∅");
        for batch in reader {
            let batch = batch?;
            let columns = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()?;
            for i in 0..batch.num_rows() {
                let cells: Vec<String> = columns.iter().map(|c| c.value(i).to_string()).collect();
                rows.push(cells.join("\u{1f}"));
            }
        }
        rows.sort_unstable();
        let mut hash = Sha256::new();
        for r in &rows {
            hash.update(r.as_bytes());
            hash.update(b"\n");
        }
        let digest = qc::values::hex(&hash.finalize());
        println!("{path}\t{}\t{digest}", rows.len());
    }
    Ok(())
}
