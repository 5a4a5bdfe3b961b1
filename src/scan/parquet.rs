//! Parquet sources: every file's footer is checked up front (so a corrupt or mismatched file
//! is named before any work starts), then DataFusion's listing scan reads the row groups in
//! parallel, only the columns the plan uses.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::SessionState;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Error, Result};
use crate::rules::ColumnType;

/// Read one file's footer: its Arrow schema and row count.
pub fn footer(path: &Path) -> Result<(SchemaRef, u64), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| format!("{}: not a readable Parquet file: {e}", path.display()))?;
    let rows = builder.metadata().file_metadata().num_rows();
    Ok((
        Arc::clone(builder.schema()),
        u64::try_from(rows).unwrap_or(0),
    ))
}

/// Split `files` into those whose footer reads and whose columns fit, and the damaged ones
/// with what is wrong. A file fits when it has every `declared` column in its declared type
/// family; with no declared columns, when it agrees with the first readable file. When no
/// readable file fits the declared columns, the pack rather than the files is wrong: every
/// readable file is kept, for binding to report the columns.
pub fn check_files(
    files: &[PathBuf],
    declared: &[(String, ColumnType)],
) -> super::FileCheck<SchemaRef> {
    let mut check = super::FileCheck::default();
    let mut readable = Vec::new();
    for f in files {
        match footer(f) {
            Ok((schema, _)) => readable.push((f.clone(), schema)),
            Err(message) => check.damaged.push((f.clone(), message)),
        }
    }
    let expected: Vec<(String, Option<ColumnType>)> = if declared.is_empty() {
        readable.first().map_or_else(Vec::new, |(_, s)| {
            s.fields()
                .iter()
                .map(|f| (f.name().clone(), ColumnType::of_arrow(f.data_type())))
                .collect()
        })
    } else {
        declared
            .iter()
            .map(|(n, t)| (n.clone(), Some(*t)))
            .collect()
    };
    let misfit = |schema: &SchemaRef| -> Option<String> {
        expected
            .iter()
            .find_map(|(name, ty)| match schema.field_with_name(name) {
                Ok(f) if ColumnType::of_arrow(f.data_type()) == *ty => None,
                Ok(f) => Some(format!(
                    "column `{name}` holds {}, expected {}",
                    f.data_type(),
                    ty.map_or_else(|| "an unsupported type".to_string(), |t| t.to_string())
                )),
                Err(_) => Some(format!("column `{name}` is missing")),
            })
    };
    let misfits: Vec<Option<String>> = readable.iter().map(|(_, s)| misfit(s)).collect();
    let none_fit = !declared.is_empty() && misfits.iter().all(Option::is_some);
    for ((file, schema), problem) in readable.into_iter().zip(misfits) {
        match problem {
            Some(p) if !none_fit => check
                .damaged
                .push((file.clone(), format!("{}: {p}", file.display()))),
            _ => check.good.push((file, schema)),
        }
    }
    check
}

/// The schema DataFusion scans `files` with (their footers already checked).
pub async fn schema(state: &SessionState, files: &[PathBuf]) -> Result<SchemaRef, String> {
    let config = listing_config(files).map_err(|e| e.to_string())?;
    let config = config
        .infer_schema(state)
        .await
        .map_err(|e| e.to_string())?;
    config
        .file_schema
        .ok_or_else(|| "no schema could be read".to_string())
}

fn listing_config(files: &[PathBuf]) -> Result<ListingTableConfig> {
    let mut urls = Vec::with_capacity(files.len());
    for f in files {
        let abs = std::path::absolute(f).map_err(|e| Error::io(f, e))?;
        let url = ListingTableUrl::parse(abs.to_string_lossy())
            .map_err(|e| Error::engine(format!("reading {}", f.display()), e))?;
        urls.push(url);
    }
    let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension("");
    Ok(ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options))
}

/// DataFusion's listing table over exactly the bound files, with the bound schema.
pub fn provider(table: &super::TableSource<'_>) -> Result<Arc<dyn TableProvider>> {
    let config = listing_config(&table.source.files)?.with_schema(Arc::clone(table.schema));
    let t = ListingTable::try_new(config)
        .map_err(|e| Error::engine(format!("opening {}", table.table), e))?;
    Ok(Arc::new(t))
}

/// Decode every page of `path`, all columns, in batches: `Err` names the file and the damage.
/// Used after a scan failed, to say which file is damaged (DataFusion's error does not).
pub fn verify(path: &Path) -> Result<(), String> {
    let damaged =
        |e: &dyn std::fmt::Display| format!("{}: damaged Parquet data: {e}", path.display());
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(ParquetRecordBatchReaderBuilder::build)
        .map_err(|e| damaged(&e))?;
    for batch in reader {
        batch.map_err(|e| damaged(&e))?;
    }
    Ok(())
}

/// Total rows in the files' footers (for the progress bar's ETA).
pub fn total_rows(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .filter_map(|f| footer(f).ok())
        .map(|(_, n)| n)
        .sum()
}
