//! Parquet sources: every file's footer is checked up front (so a corrupt or mismatched file
//! is named before any work starts). The audit's pass reads the row groups in parallel, only
//! the columns the plan uses, each row with its file and row number ([`located_provider`]);
//! whole-table SQL (set-based rules) reads through DataFusion's listing scan ([`provider`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
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

/// What one partition reads of one file: contiguous whole row groups, or a slice of one
/// group larger than a partition's share of the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RowGroups {
    file: PathBuf,
    groups: Vec<usize>,
    /// The file's row number (0-based) of the first row read.
    first_row: u64,
    /// Of a cut group: the rows skipped at its start and the rows read.
    slice: Option<(usize, usize)>,
}

/// Row groups with at most this many rows are read whole: a slice costs its reader a footer
/// read and a skip over the rows before it.
const MIN_SLICE_ROWS: u64 = 65_536;

/// Split the files' row groups into at most `partitions` lists of runs with about equal rows,
/// in file order. Groups stay whole unless one holds more than a partition's share and more
/// than `min_slice` rows: such a group is cut so that every core decodes part of it (a file
/// written as one huge row group would otherwise be read by one core).
fn split_row_groups(
    files: &[PathBuf],
    partitions: usize,
    min_slice: u64,
) -> Result<Vec<Vec<RowGroups>>> {
    let mut groups: Vec<(usize, usize, u64, u64)> = Vec::new(); // (file, group, first row, rows)
    for (f, path) in files.iter().enumerate() {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| Error::data(path, format!("not a readable Parquet file: {e}")))?;
        let mut first = 0u64;
        for (g, rg) in builder.metadata().row_groups().iter().enumerate() {
            let rows = u64::try_from(rg.num_rows()).unwrap_or(0);
            groups.push((f, g, first, rows));
            first += rows;
        }
    }
    let total: u64 = groups.iter().map(|g| g.3).sum();
    let per_partition = total.div_ceil(partitions.max(1) as u64).max(1);
    // A partition is closed once it holds its share, so there are at most `partitions`.
    let mut out: Vec<Vec<RowGroups>> = vec![Vec::new()];
    let mut filled = 0u64;
    let next = |out: &mut Vec<Vec<RowGroups>>, filled: &mut u64| {
        if *filled >= per_partition {
            out.push(Vec::new());
            *filled = 0;
        }
    };
    for (f, g, first, rows) in groups {
        if rows <= per_partition.max(min_slice) {
            next(&mut out, &mut filled);
            let current = out.last_mut().expect("one partition at least");
            match current.last_mut() {
                Some(run) if run.file == files[f] && run.slice.is_none() => run.groups.push(g),
                _ => current.push(RowGroups {
                    file: files[f].clone(),
                    groups: vec![g],
                    first_row: first,
                    slice: None,
                }),
            }
            filled += rows;
            continue;
        }
        // Top up the current partition, then a share per partition.
        let mut at = 0u64;
        while at < rows {
            next(&mut out, &mut filled);
            let take = (per_partition - filled).min(rows - at);
            let (skip, read) = (usize::try_from(at), usize::try_from(take));
            let (Ok(skip), Ok(read)) = (skip, read) else {
                return Err(Error::data(&files[f], "a row group too large to address"));
            };
            out.last_mut()
                .expect("one partition at least")
                .push(RowGroups {
                    file: files[f].clone(),
                    groups: vec![g],
                    first_row: first + at,
                    slice: Some((skip, read)),
                });
            filled += take;
            at += take;
        }
    }
    Ok(out)
}

/// The schema of [`located_provider`]: the table's columns, then the file and the 1-based
/// row number of each row (the CSV scan's [`super::META_FILE`] and [`super::META_LINE`]).
pub fn located_schema(table: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<arrow::datatypes::FieldRef> = table.fields().iter().cloned().collect();
    fields.push(Arc::new(arrow::datatypes::Field::new(
        super::META_FILE,
        arrow::datatypes::DataType::Dictionary(
            Box::new(arrow::datatypes::DataType::Int32),
            Box::new(arrow::datatypes::DataType::Utf8),
        ),
        false,
    )));
    fields.push(Arc::new(arrow::datatypes::Field::new(
        super::META_LINE,
        arrow::datatypes::DataType::UInt64,
        false,
    )));
    Arc::new(arrow::datatypes::Schema::new(fields))
}

/// The audit pass's scan of Parquet files: every row's `needed` columns (the others NULL),
/// its file and its 1-based row number in that file, which DataFusion 55's Parquet scan
/// cannot give. Row groups are split into up to `partitions` runs of about equal rows, each
/// partition decoded by the engine thread that polls it; a run reads its groups whole and in
/// order, so row numbers are counted, not looked up.
/// Returns the provider and its number of partitions.
pub fn located_provider(
    table: &super::TableSource<'_>,
    needed: &[String],
    partitions: usize,
    batch_size: usize,
) -> Result<(Arc<dyn TableProvider>, usize)> {
    let schema = located_schema(table.schema);
    let needed: Arc<Vec<String>> = Arc::new(needed.to_vec());
    let streams: Vec<Arc<dyn datafusion::physical_plan::streaming::PartitionStream>> =
        split_row_groups(&table.source.files, partitions, MIN_SLICE_ROWS)?
            .into_iter()
            .map(|runs| {
                Arc::new(LocatedPartition {
                    runs,
                    needed: Arc::clone(&needed),
                    table: Arc::clone(table.schema),
                    schema: Arc::clone(&schema),
                    batch_size: batch_size.max(1),
                }) as Arc<dyn datafusion::physical_plan::streaming::PartitionStream>
            })
            .collect();
    let n = streams.len();
    let t = datafusion::catalog::streaming::StreamingTable::try_new(schema, streams)
        .map_err(|e| Error::engine(format!("opening {}", table.table), e))?;
    Ok((Arc::new(t), n))
}

#[derive(Debug)]
struct LocatedPartition {
    runs: Vec<RowGroups>,
    needed: Arc<Vec<String>>,
    /// The table's schema (types as the plan expects them).
    table: SchemaRef,
    schema: SchemaRef,
    batch_size: usize,
}

impl datafusion::physical_plan::streaming::PartitionStream for LocatedPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The partition's batches, each decoded on the engine's thread when it is polled for:
    /// with `--threads N` the scan and the rules share N threads.
    fn execute(
        &self,
        _ctx: Arc<datafusion::execution::TaskContext>,
    ) -> datafusion::execution::SendableRecordBatchStream {
        let runs = Runs {
            left: self.runs.clone().into_iter(),
            open: None,
            needed: Arc::clone(&self.needed),
            table: Arc::clone(&self.table),
            schema: Arc::clone(&self.schema),
            batch_size: self.batch_size,
        };
        let batches = futures::stream::unfold(runs, |mut runs| async move {
            // A batch's decoding is the engine's work: let other tasks of this thread run.
            tokio::task::yield_now().await;
            let next = runs
                .next_batch()
                .map(|r| r.map_err(|e| datafusion::error::DataFusionError::External(Box::new(e))));
            next.map(|batch| (batch, runs))
        });
        Box::pin(
            datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                Arc::clone(&self.schema),
                batches,
            ),
        )
    }
}

/// A partition's runs of row groups read one after the other, a batch at a time.
struct Runs {
    left: std::vec::IntoIter<RowGroups>,
    /// The run being read.
    open: Option<Run>,
    needed: Arc<Vec<String>>,
    table: SchemaRef,
    schema: SchemaRef,
    batch_size: usize,
}

/// A run being read: its reader, its file's name as a one-value dictionary, and the file's
/// 1-based number of the next row.
struct Run {
    path: PathBuf,
    reader: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    file_name: arrow::array::ArrayRef,
    next_row: u64,
}

impl Runs {
    /// The next batch of the located schema, an error (after which the partition ends), or
    /// `None` when every run is read.
    fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        loop {
            if self.open.is_none() {
                let run = self.left.next()?;
                match open_run(&run, &self.needed, &self.table, self.batch_size) {
                    Ok(open) => self.open = Some(open),
                    Err(e) => return Some(self.fail(e)),
                }
            }
            let run = self.open.as_mut()?;
            match run.reader.next() {
                None => self.open = None,
                Some(Err(e)) => {
                    let e = damaged(&run.path, &e);
                    return Some(self.fail(e));
                }
                Some(Ok(batch)) => {
                    return Some(
                        locate(&batch, run, &self.table, &self.schema).or_else(|e| self.fail(e)),
                    );
                }
            }
        }
    }

    /// `e` as the partition's last item.
    fn fail(&mut self, e: Error) -> Result<RecordBatch> {
        self.open = None;
        self.left = Vec::new().into_iter();
        Err(e)
    }
}

fn damaged(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::data(path, format!("damaged Parquet data: {e}"))
}

/// A reader of one run's `needed` columns, each read straight into the table's type (text as
/// views) where the reader can; [`locate`] casts any other difference.
fn open_run(
    run: &RowGroups,
    needed: &[String],
    table: &SchemaRef,
    batch_size: usize,
) -> Result<Run> {
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::arrow_reader::{ArrowReaderOptions, RowSelection, RowSelector};

    let path = &run.file;
    let open = || std::fs::File::open(path).map_err(|e| Error::io(path, e));
    let plain = ParquetRecordBatchReaderBuilder::try_new(open()?).map_err(|e| damaged(path, &e))?;
    let hinted: Vec<arrow::datatypes::FieldRef> = plain
        .schema()
        .fields()
        .iter()
        .map(|f| match table.field_with_name(f.name()) {
            Ok(t) if needed.contains(f.name()) => {
                Arc::new(f.as_ref().clone().with_data_type(t.data_type().clone()))
            }
            _ => Arc::clone(f),
        })
        .collect();
    let hint = Arc::new(arrow::datatypes::Schema::new(hinted));
    let builder = match ParquetRecordBatchReaderBuilder::try_new_with_options(
        open()?,
        ArrowReaderOptions::new().with_schema(hint),
    ) {
        Ok(b) => b,
        Err(_) => plain,
    };
    let roots: Vec<usize> = needed
        .iter()
        .filter_map(|n| builder.schema().index_of(n).ok())
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let mut builder = builder
        .with_projection(mask)
        .with_row_groups(run.groups.clone())
        .with_batch_size(batch_size);
    if let Some((skip, read)) = run.slice {
        builder = builder.with_row_selection(RowSelection::from(vec![
            RowSelector::skip(skip),
            RowSelector::select(read),
        ]));
    }
    Ok(Run {
        path: path.clone(),
        reader: builder.build().map_err(|e| damaged(path, &e))?,
        file_name: Arc::new(arrow::array::StringArray::from(vec![super::file_name(
            path,
        )])),
        next_row: run.first_row + 1,
    })
}

/// `batch` as read from `run`, in the located schema: the table's columns (absent ones NULL),
/// then the file and each row's number in it.
fn locate(
    batch: &RecordBatch,
    run: &mut Run,
    table: &SchemaRef,
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    use arrow::array::{ArrayRef, DictionaryArray, UInt64Array};

    let n = batch.num_rows();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in table.fields() {
        let column = match batch.column_by_name(field.name()) {
            Some(c) if c.data_type() == field.data_type() => Arc::clone(c),
            Some(c) => {
                arrow::compute::cast(c, field.data_type()).map_err(|e| damaged(&run.path, &e))?
            }
            None => arrow::array::new_null_array(field.data_type(), n),
        };
        columns.push(column);
    }
    let keys = arrow::array::Int32Array::from(vec![0; n]);
    let files =
        DictionaryArray::<arrow::datatypes::Int32Type>::try_new(keys, Arc::clone(&run.file_name))
            .map_err(|e| Error::Internal(format!("file column: {e}")))?;
    columns.push(Arc::new(files));
    columns.push(Arc::new(UInt64Array::from_iter_values(
        run.next_row..run.next_row + n as u64,
    )));
    run.next_row += n as u64;
    RecordBatch::try_new(Arc::clone(schema), columns)
        .map_err(|e| Error::Internal(format!("Parquet batch: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files of 3 groups of 4 rows, and of groups of 4 and 1 rows (groups hold 4 at most).
    fn files(dir: &Path) -> Vec<PathBuf> {
        write(
            dir,
            &[("a.parquet", vec![4, 4, 4], 4), ("b.parquet", vec![5], 4)],
        )
    }

    /// Parquet files of one `n` column counting from 0, written in `groups` batches each
    /// flushed, in row groups of at most the given rows.
    fn write(dir: &Path, files: &[(&str, Vec<i64>, usize)]) -> Vec<PathBuf> {
        use arrow::array::Int64Array;
        use parquet::arrow::ArrowWriter;
        use parquet::file::properties::WriterProperties;
        let mut out = Vec::new();
        for (name, groups, max_rows) in files {
            let path = dir.join(name);
            let schema = Arc::new(arrow::datatypes::Schema::new(vec![
                arrow::datatypes::Field::new("n", arrow::datatypes::DataType::Int64, false),
            ]));
            let props = WriterProperties::builder()
                .set_max_row_group_row_count(Some(*max_rows))
                .build();
            let mut w = ArrowWriter::try_new(
                std::fs::File::create(&path).unwrap(),
                Arc::clone(&schema),
                Some(props),
            )
            .unwrap();
            let mut v = 0;
            for &rows in groups {
                let batch = RecordBatch::try_new(
                    Arc::clone(&schema),
                    vec![Arc::new(Int64Array::from_iter_values(v..v + rows))],
                )
                .unwrap();
                w.write(&batch).unwrap();
                w.flush().unwrap();
                v += rows;
            }
            w.close().unwrap();
            out.push(path);
        }
        out
    }

    #[test]
    fn row_groups_split_into_runs_that_know_their_first_row() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path());
        let split = split_row_groups(&f, 2, u64::MAX).unwrap();
        let shape: Vec<Vec<(String, Vec<usize>, u64)>> = split
            .iter()
            .map(|p| {
                p.iter()
                    .map(|r| {
                        let name = r.file.file_name().unwrap().to_string_lossy().into_owned();
                        (name, r.groups.clone(), r.first_row)
                    })
                    .collect()
            })
            .collect();
        // 17 rows over 2 partitions: 9 each at most, in whole groups.
        assert_eq!(
            shape,
            [
                vec![("a.parquet".to_string(), vec![0, 1, 2], 0)],
                vec![("b.parquet".to_string(), vec![0, 1], 0)],
            ]
        );
        let one = split_row_groups(&f, 8, u64::MAX).unwrap();
        assert_eq!(one.len(), 5, "one group per partition at most: {one:?}");
        assert_eq!(one[2][0].first_row, 8);
        assert_eq!(
            (one[4][0].groups.as_slice(), one[4][0].first_row),
            (&[1][..], 4)
        );
    }

    /// A row group holding more than a partition's share is cut; each slice reads exactly its
    /// rows and numbers them as the file does.
    #[test]
    fn a_large_row_group_is_cut_into_slices_that_read_their_own_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = files(dir.path());
        f.extend(write(dir.path(), &[("c.parquet", vec![10], 10)]));
        let split = split_row_groups(&f, 3, 0).unwrap();
        let run = |file: usize, groups: Vec<usize>, first_row, slice| RowGroups {
            file: f[file].clone(),
            groups,
            first_row,
            slice,
        };
        // 27 rows, 9 per partition: c's one group of 10 tops up the second partition.
        assert_eq!(
            split,
            [
                vec![run(0, vec![0, 1, 2], 0, None)],
                vec![
                    run(1, vec![0, 1], 0, None),
                    run(2, vec![0], 0, Some((0, 4)))
                ],
                vec![run(2, vec![0], 4, Some((4, 6)))],
            ]
        );
        // Groups no larger than `min_slice` stay whole.
        let whole = split_row_groups(&f, 3, 10).unwrap();
        assert!(
            whole.iter().flatten().all(|r| r.slice.is_none()),
            "{whole:?}"
        );

        let table = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("n", arrow::datatypes::DataType::Int64, false),
        ]));
        let schema = located_schema(&table);
        let needed = ["n".to_string()];
        let mut read = Vec::new();
        for r in &split[1..] {
            let mut runs = Runs {
                left: r
                    .iter()
                    .filter(|r| r.slice.is_some())
                    .cloned()
                    .collect::<Vec<_>>()
                    .into_iter(),
                open: None,
                needed: Arc::new(needed.to_vec()),
                table: Arc::clone(&table),
                schema: Arc::clone(&schema),
                batch_size: 3,
            };
            while let Some(b) = runs.next_batch() {
                let b = b.unwrap();
                let n = b
                    .column(0)
                    .as_any()
                    .downcast_ref::<arrow::array::Int64Array>();
                let at = b
                    .column(2)
                    .as_any()
                    .downcast_ref::<arrow::array::UInt64Array>();
                read.extend(
                    n.unwrap()
                        .values()
                        .iter()
                        .zip(at.unwrap().values())
                        .map(|(n, r)| (*n, *r)),
                );
            }
        }
        let expected: Vec<(i64, u64)> = (0..10)
            .map(|n| (n, u64::try_from(n).unwrap() + 1))
            .collect();
        assert_eq!(read, expected);
    }
}
