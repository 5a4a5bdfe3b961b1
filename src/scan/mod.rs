//! Stage 2a, SOURCES: Parquet and CSV tables as DataFusion table providers, streamed in
//! batches, never loaded whole.
//!
//! - [`parquet`]: DataFusion's own Parquet scan (row groups split across cores);
//! - [`csv`]: qc's CSV scan: UTF-8, GBK and GB18030 decoded while streaming; a malformed
//!   record is kept as a row flagged in qc's metadata columns (never dropped, never fatal);

pub mod csv;
pub mod parquet;
pub mod partition;
pub mod split;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::catalog::view::ViewTable;
use datafusion::catalog::{MemorySchemaProvider, TableProvider};
use datafusion::dataframe::DataFrame;
use datafusion::datasource::provider_as_source;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::SessionState;
use datafusion::logical_expr::Partitioning;
use datafusion::logical_expr::{LogicalPlanBuilder, ident};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;

use crate::error::{Error, Result};
use crate::rules::source::{BoundSource, SourceFormat};
use crate::rules::sql::CATALOG;
use crate::rules::{BoundColumn, TableRef};

/// Prefix of qc's own columns; user columns may not start with it.
pub const META_PREFIX: &str = "__qc_";
/// CSV scan: the file a row came from.
pub const META_FILE: &str = "__qc_file";
/// CSV scan: the 1-based line where the row's record starts.
pub const META_LINE: &str = "__qc_line";
/// CSV scan: `structure`, `encoding` or `type` when the record is malformed, else NULL.
pub const META_ERROR: &str = "__qc_error";
/// CSV scan: what was wrong, in English (e.g. `expected 8 fields, found 7`).
pub const META_DETAIL: &str = "__qc_error_detail";
/// CSV scan: the record's text as read (malformed records only).
pub const META_RAW: &str = "__qc_raw";

/// A partition's batches from `read`, a push-style reader (the CSV scan's), run on a thread
/// of its own; `read` gets a sink that returns false once the stream is dropped, and its
/// error ends the stream.
///
/// The thread reads a batch only when the stream is polled for one, and waits while the
/// engine works on it: reading and evaluating a partition take turns, so a run with
/// `--threads N` keeps about N cores busy (N partitions, each on one engine thread or its
/// reader), not 2N.
pub fn on_own_thread(
    name: &str,
    schema: SchemaRef,
    read: impl FnOnce(&mut dyn FnMut(RecordBatch) -> bool) -> Result<()> + Send + 'static,
) -> SendableRecordBatchStream {
    // One request for a batch at a time, one batch (or the error) in answer.
    let (ask, asked) = std::sync::mpsc::sync_channel::<()>(1);
    let (tx, rx) = tokio::sync::mpsc::channel::<datafusion::error::Result<RecordBatch>>(1);
    let spawned = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            if asked.recv().is_err() {
                return; // dropped before the first poll
            }
            let result =
                read(&mut |batch| tx.blocking_send(Ok(batch)).is_ok() && asked.recv().is_ok());
            if let Err(e) = result {
                let _ = tx.blocking_send(Err(DataFusionError::External(Box::new(e))));
            }
        });
    let stream = futures::stream::unfold((ask, rx), |(ask, mut rx)| async move {
        // The reader waits for this request; it has ended when it can take none.
        let _ = ask.try_send(());
        rx.recv().await.map(|b| (b, (ask, rx)))
    });
    match spawned {
        Ok(_) => Box::pin(RecordBatchStreamAdapter::new(schema, stream)),
        Err(e) => {
            let err = DataFusionError::External(Box::new(Error::Internal(format!(
                "starting a reader thread: {e}"
            ))));
            Box::pin(RecordBatchStreamAdapter::new(
                schema,
                futures::stream::once(async move { Err(err) }),
            ))
        }
    }
}

/// A table's files sorted into readable ones (with what was read of each) and damaged ones
/// (with the reason, naming the file).
#[derive(Debug)]
pub struct FileCheck<T> {
    pub good: Vec<(PathBuf, T)>,
    pub damaged: Vec<(PathBuf, String)>,
}

impl<T> Default for FileCheck<T> {
    fn default() -> Self {
        FileCheck {
            good: Vec::new(),
            damaged: Vec::new(),
        }
    }
}

/// Bytes (CSV) or rows (Parquet) read so far, for the progress bar.
pub type ScanProgress = Arc<AtomicU64>;

/// What a scan needs to know of a table: its name, its columns and schema, and its files.
#[derive(Debug, Clone)]
pub struct TableSource<'a> {
    pub table: TableRef,
    /// The columns the files hold, as the engine will see them.
    pub columns: &'a [BoundColumn],
    /// The files' schema as scanned, including qc's CSV metadata columns.
    pub schema: &'a SchemaRef,
    pub source: &'a BoundSource,
    /// The partition columns, read from the folders above each file ([`partition`]).
    pub partitions: &'a [BoundColumn],
}

/// A file's name in the scans' `__qc_file` and in anomaly exports.
pub fn file_name(path: &std::path::Path) -> String {
    path.display().to_string()
}

/// The one file a batch's `__qc_file` column names, when the scan gave it as a one-value
/// dictionary (as qc's scans do for every batch); `None` otherwise.
pub fn single_file(column: &arrow::array::ArrayRef) -> Option<&str> {
    use arrow::array::{Array, AsArray};
    let d = column.as_dictionary_opt::<arrow::datatypes::Int32Type>()?;
    let names = d.values().as_string_opt::<i32>()?;
    (names.len() == 1 && d.null_count() == 0).then(|| names.value(0))
}

/// The rows of `source` as [`located_rows`] reads them, without a CSV source's malformed
/// records: what set-based rules and rule SQL read as the table.
pub fn located_records(
    ctx: &SessionContext,
    source: &TableSource<'_>,
    needed: &[String],
) -> Result<DataFrame> {
    let df = located_rows(ctx, source, needed, &ScanProgress::default())?;
    if !matches!(source.source.format, SourceFormat::Csv(_)) {
        return Ok(df);
    }
    df.filter(ident(META_ERROR).is_null())
        .map_err(|e| Error::engine(format!("planning {}", source.table), e))
}

/// The provider that scans `table`, building only `columns` (CSV; Parquet projects itself).
pub fn provider(
    state: &SessionState,
    table: &TableSource<'_>,
    columns: &[String],
    progress: &ScanProgress,
) -> Result<Arc<dyn TableProvider>> {
    match &table.source.format {
        SourceFormat::Parquet => parquet::provider(table),
        SourceFormat::Csv(opts) => Ok(csv::provider(table, opts, columns, progress, state).0),
    }
}

/// The rows of `source` with only the `needed` columns, each with its file and place in it
/// (qc's metadata columns; a CSV source's malformed records included), spread across cores.
/// Not registered under the table's name, which keeps naming the whole table for rule SQL.
pub fn located_rows(
    ctx: &SessionContext,
    source: &TableSource<'_>,
    needed: &[String],
    progress: &ScanProgress,
) -> Result<DataFrame> {
    let what = || format!("planning {}", source.table);
    let state = ctx.state();
    let threads = state.config().target_partitions();
    let (from_paths, from_files): (Vec<&BoundColumn>, Vec<String>) = (
        source
            .partitions
            .iter()
            .filter(|p| needed.contains(&p.name))
            .collect(),
        needed
            .iter()
            .filter(|n| !source.partitions.iter().any(|p| p.name == **n))
            .cloned()
            .collect(),
    );
    let needed = &from_files;
    let (provider, partitions) = match &source.source.format {
        // Parquet rows with their file and row number, row groups spread across cores.
        SourceFormat::Parquet => {
            parquet::located_provider(source, needed, threads, state.config().batch_size())?
        }
        // A CSV file, or a range of a big one, per partition.
        SourceFormat::Csv(opts) => csv::provider(source, opts, needed, progress, &state),
    };
    let mut df = ctx
        .read_table(provider)
        .map_err(|e| Error::engine(what(), e))?;
    for p in from_paths {
        df = df
            .with_column(&p.name, partition::column(source.source, p)?)
            .map_err(|e| Error::engine(what(), e))?;
    }
    if partitions < threads {
        // Fewer partitions than cores (a small CSV file, one big row group): spread the
        // rows so all cores do the work.
        df = df
            .repartition(Partitioning::RoundRobinBatch(threads))
            .map_err(|e| Error::engine(what(), e))?;
    }
    Ok(df)
}

/// Register `table` as `qc.<library>.<table>` with all its columns, for rule SQL that reads
/// whole tables (set-based rules). A CSV table is registered as a view of its well-formed
/// records and declared columns: malformed records are the parse rules' business, not data.
pub fn register(ctx: &SessionContext, table: &TableSource<'_>) -> Result<()> {
    let state = ctx.state();
    let columns: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    if !table.partitions.is_empty() {
        // Partition columns come from the files' paths: through qc's own scan.
        let all: Vec<String> = columns
            .iter()
            .cloned()
            .chain(table.partitions.iter().map(|p| p.name.clone()))
            .collect();
        let what = || format!("registering {}", table.table);
        let plan = located_records(ctx, table, &all)?
            .select(all.iter().map(ident).collect::<Vec<_>>())
            .map_err(|e| Error::engine(what(), e))?
            .into_unoptimized_plan();
        return register_provider(ctx, &table.table, Arc::new(ViewTable::new(plan, None)));
    }
    let raw = provider(&state, table, &columns, &ScanProgress::default())?;
    let registered: Arc<dyn TableProvider> = match &table.source.format {
        SourceFormat::Parquet => raw,
        SourceFormat::Csv(_) => {
            let plan =
                LogicalPlanBuilder::scan(table.table.reference(), provider_as_source(raw), None)
                    .and_then(|b| b.filter(ident(META_ERROR).is_null()))
                    .and_then(|b| b.project(columns.iter().map(ident)))
                    .and_then(LogicalPlanBuilder::build)
                    .map_err(|e| Error::engine(format!("registering {}", table.table), e))?;
            Arc::new(ViewTable::new(plan, None))
        }
    };
    register_provider(ctx, &table.table, registered)
}

/// Register `provider` as `qc.<library>.<table>`, replacing what was registered under that
/// name (a run registers a table's full view for set-based rules, then its projected scan).
pub fn register_provider(
    ctx: &SessionContext,
    table: &TableRef,
    provider: Arc<dyn TableProvider>,
) -> Result<()> {
    let what = || format!("registering {table}");
    let catalog = ctx
        .catalog(CATALOG)
        .ok_or_else(|| Error::Internal("qc catalog missing".into()))?;
    if catalog.schema(&table.library).is_none() {
        catalog
            .register_schema(&table.library, Arc::new(MemorySchemaProvider::new()))
            .map_err(|e| Error::engine(what(), e))?;
    }
    let reference = table.reference();
    ctx.deregister_table(reference.clone())
        .map_err(|e| Error::engine(what(), e))?;
    ctx.register_table(reference, provider)
        .map_err(|e| Error::engine(what(), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::sync::atomic::Ordering;

    fn one_row() -> RecordBatch {
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("n", arrow::datatypes::DataType::Int64, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![Arc::new(arrow::array::Int64Array::from(vec![1]))],
        )
        .unwrap()
    }

    /// The reader reads a batch only when one is asked for, and stops once the stream is
    /// dropped.
    #[tokio::test]
    async fn a_reader_thread_reads_only_what_is_asked_for() {
        let batch = one_row();
        let read = Arc::new(AtomicU64::new(0));
        let (ended_tx, ended_rx) = std::sync::mpsc::channel();
        let mut stream = on_own_thread("qc-test", batch.schema(), {
            let read = Arc::clone(&read);
            move |emit| {
                for _ in 0..100 {
                    read.fetch_add(1, Ordering::SeqCst);
                    if !emit(batch.clone()) {
                        break;
                    }
                }
                ended_tx.send(()).unwrap();
                Ok(())
            }
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(read.load(Ordering::SeqCst), 0, "read before the first poll");
        for asked in 1..=3 {
            assert!(stream.next().await.unwrap().is_ok());
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert_eq!(
                read.load(Ordering::SeqCst),
                asked,
                "read ahead of the engine"
            );
        }
        drop(stream);
        ended_rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the reader stops once its stream is dropped");
        assert_eq!(read.load(Ordering::SeqCst), 3);
    }

    /// A reader's error ends its stream after the batches before it.
    #[tokio::test]
    async fn a_reader_error_ends_the_stream() {
        let batch = one_row();
        let stream = on_own_thread("qc-test", batch.schema(), move |emit| {
            emit(batch.clone());
            Err(Error::Internal("damaged".into()))
        });
        let got: Vec<_> = stream.collect().await;
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok());
        assert!(got[1].as_ref().unwrap_err().to_string().contains("damaged"));
    }
}
