//! A table's anomaly export, `anomalies/<library>.<table>.parquet`: its column names and
//! schema, the sink the partitions push anomalous rows into (written by a writer thread), and
//! the reader later stages use.
//!
//! The file is written under a temporary name and renamed only when complete; a table with no
//! anomaly leaves no file at all.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};
use crate::plan::TablePlan;

/// Anomaly export columns added by qc (the data columns keep their source names).
pub const FAILED_RULES: &str = "qc_failed_rules";
pub const SOURCE_FILE: &str = "qc_source_file";
/// CSV: the line a record starts on (1-based, the header is line 1).
pub const SOURCE_LINE: &str = "qc_source_line";
/// Parquet: the row's number in its file (1-based).
pub const SOURCE_ROW: &str = "qc_source_row";
pub const PARSE_ERROR: &str = "qc_parse_error";
pub const RAW_RECORD: &str = "qc_raw_record";
/// Prefix of the columns holding what a rule says of a failing row after its reason (its
/// `explain`, or its kind's default): `qc_explain_<RULE-ID>`.
pub const EXPLAIN_PREFIX: &str = "qc_explain_";
/// Prefix of the columns holding a failing row's whole reason (the rule's `message`):
/// `qc_message_<RULE-ID>`.
pub const MESSAGE_PREFIX: &str = "qc_message_";

/// The export column of what `rule` says of a failing row.
pub fn explain_column(rule: &crate::bind::BoundRule) -> String {
    let prefix = if rule.explain_is_reason {
        MESSAGE_PREFIX
    } else {
        EXPLAIN_PREFIX
    };
    format!("{prefix}{}", rule.id)
}

/// The schema of a table's anomaly export, given the fused projection's schema.
pub fn anomaly_schema(projected: &Schema, plan: &TablePlan) -> SchemaRef {
    let layout = &plan.layout;
    let mut fields: Vec<Field> = layout
        .data
        .iter()
        .enumerate()
        .map(|(i, _)| projected.field(i).clone().with_nullable(true))
        .collect();
    fields.push(Field::new(
        FAILED_RULES,
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        false,
    ));
    if let Some(at) = layout.location {
        fields.push(Field::new(SOURCE_FILE, DataType::Utf8, false));
        let position = if at.is_line { SOURCE_LINE } else { SOURCE_ROW };
        fields.push(Field::new(position, DataType::UInt64, false));
    }
    if layout.parse.is_some() {
        fields.push(Field::new(PARSE_ERROR, DataType::Utf8, true));
        fields.push(Field::new(RAW_RECORD, DataType::Utf8, true));
    }
    for &(i, _) in &layout.explain {
        fields.push(Field::new(
            explain_column(&plan.rules[i]),
            DataType::Utf8,
            true,
        ));
    }
    Arc::new(Schema::new(fields))
}

/// Rows per row group of an anomaly export.
const ANOMALY_ROW_GROUP: usize = 65_536;

pub struct AnomalySink {
    tx: Option<tokio::sync::mpsc::Sender<RecordBatch>>,
    writer: Option<std::thread::JoinHandle<Result<u64>>>,
    path: PathBuf,
    /// Set when the table's audit failed: the writer deletes its temporary file instead of
    /// renaming it into place.
    abandoned: Arc<std::sync::atomic::AtomicBool>,
}

/// Where anomalies are pushed from the partitions' tasks.
pub type AnomalySender = tokio::sync::mpsc::Sender<RecordBatch>;

impl AnomalySink {
    /// Start a writer for `path` with `schema`; nothing is created until the first batch.
    pub fn start(path: PathBuf, schema: SchemaRef) -> Result<AnomalySink> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<RecordBatch>(16);
        let target = path.clone();
        let abandoned = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let abandon = Arc::clone(&abandoned);
        let writer = std::thread::Builder::new()
            .name("qc-anomalies".into())
            .spawn(move || -> Result<u64> {
                let mut out: Option<(ArrowWriter<File>, PathBuf)> = None;
                let mut rows = 0u64;
                let mut failure = None;
                while let Some(batch) = rx.blocking_recv() {
                    if batch.num_rows() == 0 || failure.is_some() {
                        continue;
                    }
                    if out.is_none() {
                        match open(&target, &schema) {
                            Ok(o) => out = Some(o),
                            Err(e) => failure = Some(e),
                        }
                    }
                    if let Some((w, tmp)) = out.as_mut()
                        && let Err(e) = w.write(&batch)
                    {
                        failure = Some(write_error(tmp, &e));
                    }
                    rows += batch.num_rows() as u64;
                }
                let Some((w, tmp)) = out else {
                    return failure.map_or(Ok(rows), Err);
                };
                let abandoned = abandon.load(std::sync::atomic::Ordering::Acquire);
                let closed = match failure {
                    Some(e) => Err(e),
                    None if abandoned => Ok(()),
                    None => w.close().map(|_| ()).map_err(|e| write_error(&tmp, &e)),
                };
                if abandoned || closed.is_err() {
                    // Never leave a partial export behind, under any name.
                    let _ = std::fs::remove_file(&tmp);
                    return closed.map(|()| 0);
                }
                std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
                Ok(rows)
            })
            .map_err(|e| Error::io(&path, e))?;
        Ok(AnomalySink {
            tx: Some(tx),
            writer: Some(writer),
            path,
            abandoned,
        })
    }

    pub fn sender(&self) -> AnomalySender {
        match &self.tx {
            Some(tx) => tx.clone(),
            None => unreachable!("sender() is called before finish()"),
        }
    }

    /// The table's audit failed: stop, and delete what was written.
    pub fn abandon(self) {
        self.abandoned
            .store(true, std::sync::atomic::Ordering::Release);
        let _ = self.finish();
    }

    /// Close the sink and wait for the file. Returns its path and row count, or `None` when
    /// there was no anomaly.
    pub fn finish(mut self) -> Result<Option<(PathBuf, u64)>> {
        drop(self.tx.take());
        let handle = self.writer.take();
        let rows = match handle.map(std::thread::JoinHandle::join) {
            Some(Ok(r)) => r?,
            Some(Err(_)) => return Err(Error::Internal("anomaly writer thread panicked".into())),
            None => 0,
        };
        Ok((rows > 0).then(|| (self.path.clone(), rows)))
    }
}

impl Drop for AnomalySink {
    /// A sink dropped without [`AnomalySink::finish`] (an early return, a cancelled run)
    /// publishes nothing: the writer deletes its temporary file once the last sender is gone.
    /// It is not waited for, as senders may belong to tasks still being cancelled.
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            self.abandoned
                .store(true, std::sync::atomic::Ordering::Release);
        }
    }
}

fn open(target: &Path, schema: &SchemaRef) -> Result<(ArrowWriter<File>, PathBuf)> {
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = target.with_extension("parquet.partial");
    let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    // Small row groups: the writer buffers one row group, so this bounds the sink's memory
    // however many rows are anomalous.
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ANOMALY_ROW_GROUP))
        .build();
    let w = ArrowWriter::try_new(file, Arc::clone(schema), Some(props))
        .map_err(|e| write_error(&tmp, &e))?;
    Ok((w, tmp))
}

fn write_error(path: &Path, e: &parquet::errors::ParquetError) -> Error {
    Error::io(path, std::io::Error::other(e.to_string()))
}

/// One row of an anomaly export, as text.
#[derive(Debug, Clone)]
pub struct ExportedRow {
    /// The data columns (source names) and their values; NULL as `None`.
    pub values: Vec<(String, Option<String>)>,
    /// Ids of the rules the row failed.
    pub failed_rules: Vec<String>,
    /// Where the row is (CSV always; Parquet from the embedded engine), and for a malformed
    /// CSV record what is wrong and its text.
    pub origin: Option<Origin>,
    /// What rules say of the row beyond their reason.
    pub explanations: Vec<Explanation>,
}

impl ExportedRow {
    /// The value of data column `column` (`None`: NULL, or no such column).
    pub fn value(&self, column: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| n == column)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// What a rule says of one failing row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub rule: String,
    pub text: String,
    /// The row's whole reason (a `message`), rather than said after the rule's reason.
    pub is_reason: bool,
}

/// Where an exported row came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub at: Position,
    /// CSV: what is wrong with a malformed record (English), else `None`.
    pub parse_error: Option<String>,
    /// CSV: a malformed record's text as read.
    pub raw: Option<String>,
}

/// A row's place in its file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// A CSV record's first line (the header is line 1).
    Line(u64),
    /// A Parquet row's number.
    Row(u64),
}

/// Read an anomaly export row by row; `f` returns false to stop early.
pub fn read_export(path: &Path, mut f: impl FnMut(ExportedRow) -> bool) -> Result<()> {
    use arrow::array::{Array, AsArray};
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let bad = |e: &dyn std::fmt::Display| Error::data(path, format!("anomaly export: {e}"));
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| bad(&e))?
        .build()
        .map_err(|e| bad(&e))?;
    for batch in reader {
        let batch = batch.map_err(|e| bad(&e))?;
        let schema = batch.schema();
        let failed_at = schema.index_of(FAILED_RULES).map_err(|e| bad(&e))?;
        // Data columns come before qc's own columns.
        let data: Vec<usize> = (0..failed_at).collect();
        let options = FormatOptions::default();
        let formatters: Vec<ArrayFormatter<'_>> = data
            .iter()
            .map(|&i| ArrayFormatter::try_new(batch.column(i).as_ref(), &options))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| bad(&e))?;
        let failed = batch.column(failed_at).as_list::<i32>();
        let text_at = |name: &str| {
            schema
                .index_of(name)
                .ok()
                .map(|i| batch.column(i).as_string::<i32>())
        };
        let position = |name: &str| {
            schema.index_of(name).ok().map(|i| {
                batch
                    .column(i)
                    .as_primitive::<arrow::datatypes::UInt64Type>()
            })
        };
        let located = match (
            text_at(SOURCE_FILE),
            position(SOURCE_LINE),
            position(SOURCE_ROW),
        ) {
            (Some(file), Some(line), _) => Some((file, line, true)),
            (Some(file), None, Some(row)) => Some((file, row, false)),
            _ => None,
        };
        let parse_columns = text_at(PARSE_ERROR).zip(text_at(RAW_RECORD));
        let explain_columns: Vec<(String, bool, &arrow::array::StringArray)> = schema
            .fields()
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                let (id, is_reason) = match f.name().strip_prefix(MESSAGE_PREFIX) {
                    Some(id) => (id, true),
                    None => (f.name().strip_prefix(EXPLAIN_PREFIX)?, false),
                };
                Some((
                    id.to_string(),
                    is_reason,
                    batch.column(i).as_string_opt::<i32>()?,
                ))
            })
            .collect();
        for row in 0..batch.num_rows() {
            let values = data
                .iter()
                .zip(&formatters)
                .map(|(&i, fmt)| {
                    let value = batch
                        .column(i)
                        .is_valid(row)
                        .then(|| fmt.value(row).to_string());
                    (schema.field(i).name().clone(), value)
                })
                .collect();
            let ids = failed.value(row);
            let ids = ids.as_string::<i32>();
            let failed_rules = (0..ids.len()).map(|j| ids.value(j).to_string()).collect();
            let text =
                |a: &arrow::array::StringArray| a.is_valid(row).then(|| a.value(row).to_string());
            let origin = located.map(|(file, at, is_line)| Origin {
                file: file.value(row).to_string(),
                at: if is_line {
                    Position::Line(at.value(row))
                } else {
                    Position::Row(at.value(row))
                },
                parse_error: parse_columns.and_then(|(error, _)| text(error)),
                raw: parse_columns.and_then(|(_, raw)| text(raw)),
            });
            let explanations = explain_columns
                .iter()
                .filter_map(|(id, is_reason, a)| {
                    Some(Explanation {
                        rule: id.clone(),
                        text: text(a)?,
                        is_reason: *is_reason,
                    })
                })
                .collect();
            if !f(ExportedRow {
                values,
                failed_rules,
                origin,
                explanations,
            }) {
                return Ok(());
            }
        }
    }
    Ok(())
}
