//! Record batches split into parts on disk: one read of a table writes each part's rows to a
//! file of its own (an Arrow IPC stream in the temporary folder DataFusion spills to), and
//! each part is read back on its own. `history` rules judge their candidates in parts this
//! way when the candidates do not fit the memory pool at once, instead of reading the table
//! once per part.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray};
use arrow::datatypes::DataType;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;
use datafusion::execution::{DiskManager, SpillFile, SpillWriter};

use crate::error::{Error, Result};

/// One part's rows as a read wrote them.
#[derive(Clone)]
pub struct Spilled {
    /// Which part.
    pub part: u64,
    /// Held so that the file lives while a handle does (it is deleted with the last one).
    _file: Arc<dyn SpillFile>,
    path: PathBuf,
}

impl Spilled {
    /// Hand each batch of the file to `each`.
    pub fn read(&self, mut each: impl FnMut(RecordBatch) -> Result<()>) -> Result<()> {
        let path = &self.path;
        let file = std::fs::File::open(path).map_err(|e| failed(path, e))?;
        let reader = StreamReader::try_new(std::io::BufReader::new(file), None)
            .map_err(|e| failed(path, e))?;
        for batch in reader {
            each(batch.map_err(|e| failed(path, e))?)?;
        }
        Ok(())
    }
}

type Stream = StreamWriter<std::io::BufWriter<Box<dyn SpillWriter>>>;

/// The files one task of a read writes: one per part that has rows, opened at its first.
pub struct Parts {
    disk: Arc<DiskManager>,
    what: &'static str,
    writers: Vec<Option<(Spilled, Stream)>>,
}

impl Parts {
    /// `parts` parts, their files made by `disk` and described as `what`.
    pub fn new(disk: &Arc<DiskManager>, parts: u64, what: &'static str) -> Parts {
        Parts {
            disk: Arc::clone(disk),
            what,
            writers: (0..parts).map(|_| None).collect(),
        }
    }

    /// How many parts.
    pub fn count(&self) -> usize {
        self.writers.len()
    }

    /// Append `batch`'s rows to part `part`.
    pub fn write(&mut self, part: u64, batch: &RecordBatch) -> Result<()> {
        let at = usize::try_from(part).unwrap_or(usize::MAX);
        let Some(slot) = self.writers.get_mut(at) else {
            return Err(Error::Internal(format!("{}: no part {part}", self.what)));
        };
        let batch = compact(batch)?;
        if slot.is_none() {
            let file = self
                .disk
                .create_tmp_file(self.what)
                .map_err(|e| Error::engine(format!("writing {} to disk", self.what), e))?;
            let path = file.path().map(Path::to_path_buf).ok_or_else(|| {
                Error::Internal(format!("{}: the temporary file is not local", self.what))
            })?;
            let out = file.open_writer().map_err(|e| failed(&path, e))?;
            let stream = StreamWriter::try_new(std::io::BufWriter::new(out), &batch.schema())
                .map_err(|e| failed(&path, e))?;
            let spilled = Spilled {
                part,
                _file: file,
                path,
            };
            *slot = Some((spilled, stream));
        }
        if let Some((spilled, stream)) = slot {
            stream.write(&batch).map_err(|e| failed(&spilled.path, e))?;
        }
        Ok(())
    }

    /// Close every file; the parts written.
    pub fn finish(self) -> Result<Vec<Spilled>> {
        let mut files = Vec::new();
        for (spilled, mut stream) in self.writers.into_iter().flatten() {
            let path = &spilled.path;
            stream.finish().map_err(|e| failed(path, e))?;
            let out = stream.into_inner().map_err(|e| failed(path, e))?;
            let mut writer = out.into_inner().map_err(|e| failed(path, e.into_error()))?;
            writer.finish().map_err(|e| failed(path, e))?;
            files.push(spilled);
        }
        Ok(files)
    }
}

/// `batch` with its text and binary views holding only their own bytes: rows taken from a
/// batch of views still point into the whole batch's buffers, which a file would repeat for
/// every part (30 GB for 2 GB of rows at 50M rows).
fn compact(batch: &RecordBatch) -> Result<RecordBatch> {
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::Utf8View => Arc::new(c.as_string_view().gc()) as ArrayRef,
            DataType::BinaryView => Arc::new(c.as_binary_view().gc()) as ArrayRef,
            _ => Arc::clone(c),
        })
        .collect();
    RecordBatch::try_new(batch.schema(), columns)
        .map_err(|e| Error::Internal(format!("compacting a batch to write: {e}")))
}

/// A spill file that cannot be written or read (a full disk, most often), named.
fn failed(path: &Path, e: impl Into<Failure>) -> Error {
    let error = match e.into() {
        Failure::Io(e)
        | Failure::Arrow(arrow::error::ArrowError::IoError(_, e))
        | Failure::Engine(datafusion::error::DataFusionError::IoError(e)) => e,
        Failure::Arrow(e) => std::io::Error::other(e),
        Failure::Engine(e) => std::io::Error::other(e),
    };
    Error::io(path, error)
}

/// What writing or reading a spill file can fail with.
enum Failure {
    Io(std::io::Error),
    Arrow(arrow::error::ArrowError),
    Engine(datafusion::error::DataFusionError),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e)
    }
}

impl From<arrow::error::ArrowError> for Failure {
    fn from(e: arrow::error::ArrowError) -> Self {
        Failure::Arrow(e)
    }
}

impl From<datafusion::error::DataFusionError> for Failure {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        Failure::Engine(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Int64Array, StringViewArray, UInt32Array};
    use arrow::datatypes::{Field, Schema};

    /// Rows written to parts read back as written, part by part; a part's file holds its own
    /// rows' text, not the whole batch's.
    #[test]
    fn parts_read_back_as_written() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("t", DataType::Utf8View, true),
        ]));
        let long = |i: i64| format!("a value long enough not to be inlined in its view, {i}");
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int64Array::from_iter_values(0..1000)),
                Arc::new(
                    (0..1000)
                        .map(|i| (i % 7 != 0).then(|| long(i)))
                        .collect::<StringViewArray>(),
                ),
            ],
        )
        .unwrap();
        let disk = Arc::new(DiskManager::builder().build().unwrap());
        let mut parts = Parts::new(&disk, 3, "test rows");
        for part in 0..3u64 {
            let rows: Vec<u32> = (0..1000).filter(|i| u64::from(*i) % 3 == part).collect();
            let taken =
                arrow::compute::take_record_batch(&batch, &UInt32Array::from(rows)).unwrap();
            parts.write(part, &taken).unwrap();
        }
        let files = parts.finish().unwrap();
        assert_eq!(files.len(), 3);
        for file in &files {
            let size = std::fs::metadata(&file.path).unwrap().len();
            assert!(size < 40_000, "part {}: {size} bytes", file.part);
            let mut seen = Vec::new();
            file.read(|b| {
                let n = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                let t = b.column(1).as_string_view();
                for i in 0..b.num_rows() {
                    seen.push((n.value(i), t.is_valid(i).then(|| t.value(i).to_string())));
                }
                Ok(())
            })
            .unwrap();
            let want: Vec<(i64, Option<String>)> = (0..1000i64)
                .filter(|i| i.cast_unsigned() % 3 == file.part)
                .map(|i| (i, (i % 7 != 0).then(|| long(i))))
                .collect();
            assert_eq!(seen, want, "part {}", file.part);
        }
        let path = files[0].path.clone();
        drop(files);
        assert!(
            !path.exists(),
            "a part's file is deleted with its last handle"
        );
    }
}
