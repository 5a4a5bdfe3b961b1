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
use crate::rules::bind::BoundTable;

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

/// The table's schema as DataFusion scans it, after checking that every file's footer is
/// readable and that all files agree on the columns' types (by qc's type families).
pub async fn schema(state: &SessionState, files: &[PathBuf]) -> Result<SchemaRef, String> {
    let mut first: Option<(PathBuf, SchemaRef)> = None;
    for f in files {
        let (s, _) = footer(f)?;
        match &first {
            None => first = Some((f.clone(), s)),
            Some((p0, s0)) => {
                for field in s0.fields() {
                    match s.field_with_name(field.name()) {
                        Ok(g)
                            if ColumnType::of_arrow(g.data_type())
                                == ColumnType::of_arrow(field.data_type()) => {}
                        Ok(g) => {
                            return Err(format!(
                                "{}: column `{}` is {} but {} has {}",
                                f.display(),
                                field.name(),
                                g.data_type(),
                                p0.display(),
                                field.data_type()
                            ));
                        }
                        Err(_) => {
                            return Err(format!(
                                "{}: column `{}` is missing (it is in {})",
                                f.display(),
                                field.name(),
                                p0.display()
                            ));
                        }
                    }
                }
            }
        }
    }
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
pub fn provider(table: &BoundTable) -> Result<Arc<dyn TableProvider>> {
    let config = listing_config(&table.source.files)?.with_schema(Arc::clone(&table.schema));
    let t = ListingTable::try_new(config)
        .map_err(|e| Error::engine(format!("opening {}", table.qualified_name()), e))?;
    Ok(Arc::new(t))
}

/// Total rows in the files' footers (for the progress bar's ETA).
pub fn total_rows(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .filter_map(|f| footer(f).ok())
        .map(|(_, n)| n)
        .sum()
}
