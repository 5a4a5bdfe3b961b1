//! qc's CSV scan: the files providers really send (UTF-8 with or without BOM, GBK, GB18030),
//! decoded while streaming, parsed per RFC 4180 by `csv-core`, converted to the declared
//! column types.
//!
//! Policy for damage (README "Guarantees"):
//! - **record-level** damage never stops the scan and never drops a row. The row is kept,
//!   flagged in [`META_ERROR`](super::META_ERROR) (`structure`: wrong field count or
//!   unbalanced quotes; `encoding`: bytes invalid in the declared encoding, or a NUL byte;
//!   `type`: a value that does not parse as its column's type), with its file, line and raw
//!   text. Line breaks may be LF, CRLF or CR, mixed; fields have no size limit. The
//!   built-in `PARSE-*` rules count these rows; no other rule is evaluated on them. Values
//!   that could be read are kept (best effort, so the provider column usually survives).
//! - **file-level** damage (missing, unreadable, empty with a header expected, a declared
//!   column absent from the header) is an error naming the file; under `--keep-going` the
//!   file is left out and the run is marked partial.
//!
//! The files (and the ranges a big file is cut into) are shared out into at most `--threads`
//! partitions, each reading its files in turn on a thread of its own that reads a batch when
//! the engine asks for one; with fewer partitions than cores the plan spreads the rows after
//! the scan.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, DictionaryArray, Float64Builder, Int64Builder,
    StringArray, StringBuilder, TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use csv_core::ReadRecordResult;
use datafusion::catalog::TableProvider;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::execution::{SendableRecordBatchStream, SessionState, TaskContext};
use datafusion::physical_plan::streaming::PartitionStream;

use super::split::{line_breaks, memchr_count, record_machine};
use super::{META_DETAIL, META_ERROR, META_FILE, META_LINE, META_RAW, ScanProgress};
use crate::error::Error;
use crate::rules::BoundColumn;
use crate::rules::ColumnType;
use crate::rules::source::CsvOptions;
use crate::values::{parse_bool, parse_date, parse_timestamp};

const READ_CHUNK: usize = 1 << 20;

/// Kinds of record-level damage, as stored in [`META_ERROR`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    Structure,
    Encoding,
    Type,
}

impl ParseError {
    pub const ALL: [ParseError; 3] = [
        ParseError::Structure,
        ParseError::Encoding,
        ParseError::Type,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ParseError::Structure => "structure",
            ParseError::Encoding => "encoding",
            ParseError::Type => "type",
        }
    }

    /// The dimension its built-in rule counts in: a record that cannot be read (broken
    /// structure or encoding) is a delivery fact, 可访问性; a value of the wrong type, 规范性.
    pub fn dimension(self) -> crate::rules::Dimension {
        match self {
            ParseError::Structure | ParseError::Encoding => crate::rules::Dimension::Accessibility,
            ParseError::Type => crate::rules::Dimension::Conformity,
        }
    }

    pub fn rule_id(self) -> &'static str {
        match self {
            ParseError::Structure => "PARSE-STRUCTURE",
            ParseError::Encoding => "PARSE-ENCODING",
            ParseError::Type => "PARSE-TYPE",
        }
    }

    /// The built-in rule's Chinese name, also its anomaly reason.
    pub fn rule_name(self) -> &'static str {
        match self {
            ParseError::Structure => "记录结构错误（字段数不符或引号不配对）",
            ParseError::Encoding => "字符编码错误（含声明编码下无效的字节）",
            ParseError::Type => "字段类型错误（值无法解析为声明的类型）",
        }
    }

    /// The built-in rule's English name.
    pub fn rule_name_en(self) -> &'static str {
        match self {
            ParseError::Structure => "malformed record (field count or unbalanced quotes)",
            ParseError::Encoding => "bytes invalid in the declared encoding",
            ParseError::Type => "a value does not parse as its column's type",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The scan's schema: the declared columns, then qc's metadata columns.
pub fn table_schema(columns: &[BoundColumn]) -> SchemaRef {
    let mut fields: Vec<Field> = columns
        .iter()
        .map(|c| Field::new(&c.name, c.arrow.clone(), true))
        .collect();
    fields.extend(meta_fields());
    Arc::new(Schema::new(fields))
}

fn meta_fields() -> [Field; 5] {
    [
        Field::new(
            META_FILE,
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            false,
        ),
        Field::new(META_LINE, DataType::UInt64, false),
        Field::new(META_ERROR, DataType::Utf8, true),
        Field::new(META_DETAIL, DataType::Utf8, true),
        Field::new(META_RAW, DataType::Utf8, true),
    ]
}

/// The header record of a CSV file (decoded, trimmed, BOM removed).
pub fn read_header(path: &Path, opts: &CsvOptions) -> Result<Vec<String>, String> {
    let mut reader = RecordReader::open(path, opts).map_err(|e| e.to_string())?;
    let Some(header) = reader.next_record().map_err(|e| e.to_string())? else {
        return Err(format!(
            "{}: the file is empty; expected a header line",
            path.display()
        ));
    };
    Ok((0..header.fields())
        .map(|i| header.field(i).trim().to_string())
        .collect())
}

/// Bytes of a file's head read to guess its encoding.
const SNIFF_BYTES: usize = 1 << 20;

/// The encoding a CSV file's bytes look like when they do not look like `declared`: among
/// the lines of its first MiB that hold non-ASCII bytes, at least half are invalid in
/// `declared` and at most a quarter in the other one (GB18030 for UTF-8, UTF-8 for GBK and
/// GB18030). `None` when the file reads as declared, is ASCII, or fits neither.
pub fn encoding_hint(
    path: &Path,
    declared: &'static encoding_rs::Encoding,
) -> Option<&'static encoding_rs::Encoding> {
    use std::io::Read as _;
    let other = if declared == encoding_rs::UTF_8 {
        encoding_rs::GB18030
    } else {
        encoding_rs::UTF_8
    };
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    std::fs::File::open(path)
        .ok()?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .ok()?;
    if head.len() == SNIFF_BYTES {
        // The last line may be cut inside a character.
        let end = head.iter().rposition(|&b| b == b'\n')?;
        head.truncate(end);
    }
    let invalid = |e: &'static encoding_rs::Encoding, line: &[u8]| {
        e.decode_without_bom_handling_and_without_replacement(line)
            .is_none()
    };
    let (mut lines, mut bad_declared, mut bad_other) = (0usize, 0usize, 0usize);
    for line in head
        .split(|&b| b == b'\n')
        .filter(|l| l.iter().any(|&b| b >= 0x80))
    {
        lines += 1;
        bad_declared += usize::from(invalid(declared, line));
        bad_other += usize::from(invalid(other, line));
    }
    (lines > 0 && bad_declared * 2 >= lines && bad_other * 4 <= lines).then_some(other)
}

/// The field of `header` that holds `column`: the one named as the column, else the one
/// named with its `title` (a Chinese header such as 标准地址编码 for `address_code`).
pub fn header_position(header: &[String], column: &BoundColumn) -> Option<usize> {
    header.iter().position(|h| *h == column.name).or_else(|| {
        let title = column.title.as_deref()?;
        header.iter().position(|h| h == title)
    })
}

/// Split `files` by their header: damaged when it cannot be read or lacks a `declared`
/// column that other files have. When no file has all of them, the pack rather than the
/// files is wrong: every readable file is kept, for binding to report the columns.
pub fn check_files(
    files: &[PathBuf],
    opts: &CsvOptions,
    declared: &[BoundColumn],
) -> super::FileCheck<Vec<String>> {
    let mut check = super::FileCheck::default();
    let mut readable = Vec::new();
    for f in files {
        if !opts.header {
            // Without a header only opening the file can fail.
            match RecordReader::open(f, opts) {
                Ok(_) => check.good.push((f.clone(), Vec::new())),
                Err(e) => check.damaged.push((f.clone(), e.to_string())),
            }
            continue;
        }
        match read_header(f, opts) {
            Ok(header) => readable.push((f.clone(), header)),
            Err(message) => check.damaged.push((f.clone(), message)),
        }
    }
    let missing = |header: &[String]| {
        declared
            .iter()
            .find(|c| header_position(header, c).is_none())
            .map(|c| &c.name)
    };
    let none_fit = readable.iter().all(|(_, h)| missing(h).is_some());
    for (file, header) in readable {
        match missing(&header) {
            Some(c) if !none_fit => {
                let message = format!("{}: the header has no column `{c}`", file.display());
                check.damaged.push((file, message));
            }
            _ => check.good.push((file, header)),
        }
    }
    check
}

/// A streaming table of at most `threads` partitions (the session's target partitions), each
/// reading its files — or ranges of a big file cut for several cores ([`super::split`]) — one
/// after the other, building only `needed` columns; and its number of partitions.
pub fn provider(
    table: &super::TableSource<'_>,
    opts: &CsvOptions,
    needed: &[String],
    progress: &ScanProgress,
    state: &SessionState,
) -> (Arc<dyn TableProvider>, usize) {
    let schema = Arc::clone(table.schema);
    let batch_size = state.config().batch_size();
    let columns: Vec<Option<BoundColumn>> = table
        .columns
        .iter()
        .map(|c| needed.contains(&c.name).then(|| c.clone()))
        .collect();
    let threads = state.config().target_partitions();
    // Each job with its size in bytes, for sharing the jobs out evenly.
    let mut jobs: Vec<(CsvJob, u64)> = Vec::new();
    for f in &table.source.files {
        let bytes = std::fs::metadata(f).map_or(0, |m| m.len());
        let job = CsvJob {
            file: f.clone(),
            opts: opts.clone(),
            all_columns: table.columns.to_vec(),
            columns: columns.clone(),
            schema: Arc::clone(&schema),
            batch_size,
            progress: Arc::clone(progress),
            range: None,
        };
        // A big file is cut at record boundaries into one range per core.
        match super::split::Splitter::new(f, opts, threads) {
            Some(splitter) => {
                let parts = splitter.parts();
                for k in 0..parts {
                    let range = Some((Arc::clone(&splitter), k));
                    jobs.push((
                        CsvJob {
                            range,
                            ..job.clone()
                        },
                        bytes / parts as u64,
                    ));
                }
            }
            None => jobs.push((job, bytes)),
        }
    }
    let partitions: Vec<Arc<dyn PartitionStream>> = share_out(jobs, threads)
        .into_iter()
        .map(|jobs| {
            Arc::new(CsvPartition {
                jobs,
                schema: Arc::clone(&schema),
            }) as Arc<dyn PartitionStream>
        })
        .collect();
    let n = partitions.len();
    // The partitions' schema equals the table's, so construction cannot fail.
    match StreamingTable::try_new(Arc::clone(&schema), partitions) {
        Ok(t) => (Arc::new(t), n),
        Err(e) => unreachable!("CSV partitions share the table schema: {e}"),
    }
}

/// `jobs` (each with its size) shared out into at most `parts` groups of about equal size:
/// the largest job first, each to the group with the least so far (of equal sizes, the one
/// with fewer jobs, so jobs of no size spread too); a group keeps its jobs in their listed
/// order. With no more jobs than parts, a group per job.
fn share_out<T>(jobs: Vec<(T, u64)>, parts: usize) -> Vec<Vec<T>> {
    let parts = parts.max(1);
    if jobs.len() <= parts {
        return jobs.into_iter().map(|(job, _)| vec![job]).collect();
    }
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].1));
    // Per group: its bytes and its jobs so far.
    let mut loads = vec![(0u64, 0usize); parts];
    let mut group_of = vec![0usize; jobs.len()];
    for i in order {
        let g = (0..parts).min_by_key(|&g| (loads[g], g)).unwrap_or(0);
        loads[g].0 += jobs[i].1;
        loads[g].1 += 1;
        group_of[i] = g;
    }
    let mut groups: Vec<Vec<T>> = (0..parts).map(|_| Vec::new()).collect();
    for ((job, _), g) in jobs.into_iter().zip(group_of) {
        groups[g].push(job);
    }
    groups
}

/// Read one CSV file into batches of every column in `columns` plus qc's metadata columns,
/// as the table scan does; `emit` returns false to stop. `Err` is file-level damage.
pub fn read_file(
    file: &Path,
    opts: &CsvOptions,
    columns: &[BoundColumn],
    batch_size: usize,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<(), Error> {
    CsvJob {
        file: file.to_path_buf(),
        opts: opts.clone(),
        all_columns: columns.to_vec(),
        columns: columns.iter().cloned().map(Some).collect(),
        schema: table_schema(columns),
        batch_size: batch_size.max(1),
        progress: ScanProgress::default(),
        range: None,
    }
    .run(emit)
}

/// One file's scan: what to read and how to build its batches.
#[derive(Debug, Clone)]
struct CsvJob {
    file: PathBuf,
    opts: CsvOptions,
    all_columns: Vec<BoundColumn>,
    /// Per declared column: `Some` when the plan needs it built, `None` to fill with NULLs.
    columns: Vec<Option<BoundColumn>>,
    schema: SchemaRef,
    batch_size: usize,
    progress: ScanProgress,
    /// A range of a file cut for several cores: its splitter and its index; `None` reads the
    /// whole file.
    range: Option<(Arc<super::split::Splitter>, usize)>,
}

/// Files (or ranges of one) as a DataFusion partition: each execution reads them one after
/// the other on a thread of its own.
#[derive(Debug)]
struct CsvPartition {
    jobs: Vec<CsvJob>,
    schema: SchemaRef,
}

impl PartitionStream for CsvPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let jobs = self.jobs.clone();
        super::on_own_thread("qc-csv", Arc::clone(&self.schema), move |emit| {
            for job in jobs {
                let mut stopped = false;
                job.run(&mut |batch| {
                    stopped = !emit(batch);
                    !stopped
                })?;
                if stopped {
                    break;
                }
            }
            Ok(())
        })
    }
}

impl CsvJob {
    fn run(self, emit: &mut dyn FnMut(RecordBatch) -> bool) -> Result<(), Error> {
        let (mut reader, first) = match &self.range {
            None => (RecordReader::open(&self.file, &self.opts)?, true),
            Some((splitter, k)) => {
                let (start, end) = splitter.range(*k)?;
                if start.offset >= end {
                    return Ok(()); // an empty range
                }
                let mut reader = RecordReader::open(&self.file, &self.opts)?;
                reader.limit(start, end, (*k > 0).then_some(splitter.encoding))?;
                (reader, *k == 0)
            }
        };
        // Field index of each declared column in the file's records.
        let positions: Vec<usize> = if self.opts.header {
            // A later range of a cut file reads the header from the file's start.
            let (names, line) = if first {
                let Some(header) = reader.next_record()? else {
                    return Ok(()); // empty file: no header, no rows
                };
                let names = (0..header.fields())
                    .map(|i| header.field(i).trim().to_string())
                    .collect();
                (names, header.line)
            } else {
                let names =
                    read_header(&self.file, &self.opts).map_err(|e| Error::data(&self.file, e))?;
                (names, 1)
            };
            let mut positions = Vec::with_capacity(self.all_columns.len());
            for c in &self.all_columns {
                match header_position(&names, c) {
                    Some(p) => positions.push(p),
                    None => {
                        return Err(Error::data(
                            &self.file,
                            format!("line {line}: the header has no column `{}`", c.name),
                        ));
                    }
                }
            }
            reader.expected_fields = Some(names.len());
            positions
        } else {
            reader.expected_fields = Some(self.all_columns.len());
            (0..self.all_columns.len()).collect()
        };

        let file_name = super::file_name(&self.file);
        let mut batch = BatchBuilder::new(&self.columns, self.batch_size);
        // Bytes read, added to the table's progress as they go (several files or ranges
        // share it).
        let mut reported = 0;
        let mut report = |read: u64| {
            self.progress.fetch_add(read - reported, Ordering::Relaxed);
            reported = read;
        };
        while let Some(rec) = reader.next_record()? {
            batch.push(&rec, &positions, &self.opts.null_values);
            if batch.len() >= self.batch_size {
                let b = batch.finish(&self.schema, &file_name)?;
                report(reader.bytes_read);
                if !emit(b) {
                    return Ok(()); // the consumer stopped
                }
            }
        }
        if batch.len() > 0 {
            let b = batch.finish(&self.schema, &file_name)?;
            emit(b);
        }
        report(reader.bytes_read);
        Ok(())
    }
}

/// One parsed record: its fields (decoded UTF-8), where it starts, and any damage found.
pub struct Record<'a> {
    text: &'a str,
    ends: &'a [usize],
    raw: &'a [u8],
    pub line: u64,
    pub error: Option<(ParseError, String)>,
}

impl Record<'_> {
    pub fn fields(&self) -> usize {
        self.ends.len()
    }

    pub fn field(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        // csv-core splits only at ASCII bytes, so fields start and end on char boundaries.
        self.text.get(start..self.ends[i]).unwrap_or("\u{FFFD}")
    }

    pub fn raw(&self) -> String {
        String::from_utf8_lossy(self.raw).into_owned()
    }
}

/// Decodes a file to UTF-8 chunk by chunk and splits it into records.
struct RecordReader {
    path: PathBuf,
    file: File,
    decoder: encoding_rs::Decoder,
    csv: csv_core::Reader,
    /// The machine is at a record's start: a record without quotes may be read without it.
    at_start: bool,
    quote: u8,
    delimiter: u8,
    raw_chunk: Vec<u8>,
    /// Scratch output of the decoder (see `fill`).
    decoded: Vec<u8>,
    eof: bool,
    /// Decoded text not yet consumed; `buf[0]` is at `buf_base` in the decoded stream.
    buf: Vec<u8>,
    buf_base: u64,
    pos: usize,
    /// Decoded-stream offsets of replacement characters the decoder inserted.
    malformed: std::collections::VecDeque<u64>,
    /// Line number at `buf[pos]` when `pos` is at a record boundary.
    line: u64,
    /// The text consumed so far ended with CR: a LF right after it ends no further line.
    after_cr: bool,
    fields: Vec<u8>,
    ends: Vec<usize>,
    pub bytes_read: u64,
    pub expected_fields: Option<usize>,
    /// Bytes of the file left to read (a range of a cut file ends before the file does).
    remaining: u64,
}

impl RecordReader {
    /// Read only `[start, end)` of the file, `start` being where a record begins (see
    /// [`super::split`]), numbering lines from `start.line`; `encoding`: decode with it and
    /// no BOM sniffing (a range after the first).
    fn limit(
        &mut self,
        start: super::split::Cut,
        end: u64,
        encoding: Option<&'static encoding_rs::Encoding>,
    ) -> Result<(), Error> {
        use std::io::{Seek, SeekFrom};
        self.file
            .seek(SeekFrom::Start(start.offset))
            .map_err(|e| Error::io(&self.path, e))?;
        self.remaining = end - start.offset;
        self.line = start.line;
        if let Some(e) = encoding {
            self.decoder = e.new_decoder_without_bom_handling();
        }
        Ok(())
    }

    fn open(path: &Path, opts: &CsvOptions) -> Result<RecordReader, Error> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(Error::data(path, "is a folder, not a CSV file"));
        }
        // The decoder drops the file's byte-order mark; the machine keeps what it is given
        // (a U+FEFF that is data, in a range that starts mid-file or after a doubled mark).
        let csv = record_machine(opts)?;
        Ok(RecordReader {
            path: path.to_path_buf(),
            file,
            decoder: opts.encoding.new_decoder(),
            csv,
            at_start: true,
            quote: opts.quote,
            delimiter: opts.delimiter,
            raw_chunk: vec![0; READ_CHUNK],
            decoded: Vec::new(),
            eof: false,
            buf: Vec::with_capacity(READ_CHUNK * 2),
            buf_base: 0,
            pos: 0,
            malformed: std::collections::VecDeque::new(),
            line: 1,
            after_cr: false,
            fields: vec![0; 4096],
            ends: vec![0; 64],
            bytes_read: 0,
            expected_fields: None,
            remaining: u64::MAX,
        })
    }

    /// Drop `buf[..keep_from]`, then read and decode the next chunk, appending to `buf`.
    /// Returns false at end of file.
    fn fill(&mut self, keep_from: usize) -> Result<bool, Error> {
        // Drop what no record needs any more.
        self.buf.drain(..keep_from);
        self.buf_base += keep_from as u64;
        self.pos -= keep_from;
        if self.eof {
            return Ok(false);
        }
        let want = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(self.raw_chunk.len());
        let n = loop {
            match self.file.read(&mut self.raw_chunk[..want]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(&self.path, e)),
            }
        };
        self.bytes_read += n as u64;
        self.remaining -= n as u64;
        let last = n == 0;
        let mut src = &self.raw_chunk[..n];
        loop {
            // Decode into the scratch buffer, sized once: a chunk full of undecodable bytes
            // (GBK read as UTF-8) stops the decoder at each one, and must not cost a new
            // zero-filled buffer per stop.
            let need = self
                .decoder
                .max_utf8_buffer_length_without_replacement(src.len())
                .unwrap_or(src.len() * 3 + 16)
                .max(4);
            if self.decoded.len() < need {
                self.decoded.resize(need, 0);
            }
            let (result, read, written) =
                self.decoder
                    .decode_to_utf8_without_replacement(src, &mut self.decoded, last);
            self.buf.extend_from_slice(&self.decoded[..written]);
            src = &src[read..];
            match result {
                encoding_rs::DecoderResult::InputEmpty => break,
                encoding_rs::DecoderResult::OutputFull => {}
                encoding_rs::DecoderResult::Malformed(_, _) => {
                    self.malformed
                        .push_back(self.buf_base + self.buf.len() as u64);
                    self.buf.extend_from_slice("\u{FFFD}".as_bytes());
                }
            }
        }
        if last {
            self.eof = true;
        }
        Ok(true)
    }

    /// The next non-empty record, or `None` at end of file.
    fn next_record(&mut self) -> Result<Option<Record<'_>>, Error> {
        let Some(found) = self.advance()? else {
            return Ok(None);
        };
        // The decoder emits UTF-8: one check per record, not one per field.
        let text = simdutf8::basic::from_utf8(&self.fields[..found.nfields]).unwrap_or("");
        Ok(Some(Record {
            text,
            ends: &self.ends[..found.nends],
            raw: &self.buf[found.raw.clone()],
            line: found.line,
            error: found.error,
        }))
    }

    /// At a record's start, a record whose line holds no quote, read without the machine:
    /// its fields split at the delimiter and the record ended by the first CR or LF are what
    /// the machine gives such a line (memchr's vector search is several times faster than the
    /// machine's byte steps, and most records hold no quote). `None`: the machine reads it.
    fn plain_record(&mut self) -> Option<Plain> {
        let rest = &self.buf[self.pos..];
        let end = memchr::memchr2(b'\n', b'\r', rest)?;
        if end == 0 {
            return Some(Plain::BlankLine);
        }
        let line = &rest[..end];
        if memchr::memchr(self.quote, line).is_some() {
            return None;
        }
        if self.fields.len() < line.len() {
            self.fields.resize(line.len(), 0);
        }
        let (mut nfields, mut nends, mut from) = (0, 0, 0);
        for to in memchr::memchr_iter(self.delimiter, line).chain([line.len()]) {
            let field = &line[from..to];
            self.fields[nfields..nfields + field.len()].copy_from_slice(field);
            nfields += field.len();
            if nends == self.ends.len() {
                self.ends.resize(nends * 2 + 1, 0);
            }
            self.ends[nends] = nfields;
            nends += 1;
            from = to + 1;
        }
        Some(Plain::Record {
            nin: end + 1,
            nfields,
            nends,
        })
    }

    /// Parse up to the end of the next non-empty record; say where its parts are.
    fn advance(&mut self) -> Result<Option<Found>, Error> {
        let mut start = self.pos;
        let mut nfields = 0;
        let mut nends = 0;
        // The record was read without the machine, so it holds no quote.
        let mut quote_free = false;
        loop {
            // csv-core reads empty input as the end of the file: refill before that.
            while self.pos >= self.buf.len() && !self.eof {
                self.fill(start)?;
                start = 0;
            }
            let res = match self.at_start.then(|| self.plain_record()).flatten() {
                Some(Plain::BlankLine) => {
                    self.pos += 1;
                    continue;
                }
                Some(Plain::Record {
                    nin,
                    nfields: f,
                    nends: e,
                }) => {
                    (self.pos, nfields, nends) = (self.pos + nin, f, e);
                    quote_free = true;
                    ReadRecordResult::Record
                }
                None => {
                    let input = &self.buf[self.pos..];
                    let (res, nin, nout, nend) = self.csv.read_record(
                        input,
                        &mut self.fields[nfields..],
                        &mut self.ends[nends..],
                    );
                    self.pos += nin;
                    nfields += nout;
                    nends += nend;
                    self.at_start = matches!(res, ReadRecordResult::Record);
                    res
                }
            };
            match res {
                ReadRecordResult::InputEmpty => {
                    // At end of file the next call, with empty input, flushes the record.
                    self.fill(start)?;
                    start = 0;
                }
                ReadRecordResult::OutputFull => {
                    let n = self.fields.len() * 2;
                    self.fields.resize(n, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                ReadRecordResult::Record => {
                    let raw_all = &self.buf[start..self.pos];
                    let line_at_start = self.line;
                    let after_cr = self.after_cr;
                    self.line += line_breaks(after_cr, raw_all);
                    self.after_cr = raw_all.last() == Some(&b'\r');
                    // Leading line breaks (blank lines) belong to no record.
                    let lead = raw_all
                        .iter()
                        .take_while(|b| **b == b'\n' || **b == b'\r')
                        .count();
                    let line = line_at_start + line_breaks(after_cr, &raw_all[..lead]);
                    let raw_len = trim_line_end(&raw_all[lead..]).len();
                    let raw = start + lead..start + lead + raw_len;
                    if raw_len == 0 {
                        start = self.pos;
                        nfields = 0;
                        nends = 0;
                        continue;
                    }
                    let abs_start = self.buf_base + raw.start as u64;
                    let abs_end = self.buf_base + self.pos as u64;
                    while self.malformed.front().is_some_and(|o| *o < abs_start) {
                        self.malformed.pop_front();
                    }
                    let error = if self.malformed.front().is_some_and(|o| *o < abs_end) {
                        Some((
                            ParseError::Encoding,
                            "bytes invalid in the declared encoding".to_string(),
                        ))
                    } else if memchr::memchr(0, &self.buf[raw.clone()]).is_some() {
                        Some((
                            ParseError::Encoding,
                            "NUL byte (0x00) in the record".to_string(),
                        ))
                    } else if !quote_free
                        && memchr_count(self.quote, &self.buf[raw.clone()]) % 2 == 1
                    {
                        Some((ParseError::Structure, "unbalanced quotes".to_string()))
                    } else {
                        self.expected_fields
                            .filter(|e| *e != nends)
                            .map(|expected| {
                                (
                                    ParseError::Structure,
                                    format!("expected {expected} fields, found {nends}"),
                                )
                            })
                    };
                    return Ok(Some(Found {
                        raw,
                        nfields,
                        nends,
                        line,
                        error,
                    }));
                }
                ReadRecordResult::End => return Ok(None),
            }
        }
    }
}

/// What [`RecordReader::plain_record`] found.
enum Plain {
    /// A line break at a record's start: the machine skips it.
    BlankLine,
    /// A record of `nin` bytes (its line break included); its field text and ends are the
    /// first `nfields` and `nends` of the reader's buffers.
    Record {
        nin: usize,
        nfields: usize,
        nends: usize,
    },
}

/// Where the parts of a parsed record are in the reader's buffers.
struct Found {
    raw: std::ops::Range<usize>,
    nfields: usize,
    nends: usize,
    line: u64,
    error: Option<(ParseError, String)>,
}

fn trim_line_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = s {
        s = rest;
    }
    s
}

enum ColumnBuilder {
    Skip,
    Str(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Date(Date32Builder, Vec<String>),
    Ts(TimestampMicrosecondBuilder, Vec<String>),
    Bool(BooleanBuilder),
}

impl ColumnBuilder {
    fn new(c: Option<&BoundColumn>, cap: usize) -> ColumnBuilder {
        let Some(c) = c else {
            return ColumnBuilder::Skip;
        };
        match c.ty {
            ColumnType::String => ColumnBuilder::Str(StringBuilder::with_capacity(cap, cap * 16)),
            ColumnType::Int => ColumnBuilder::Int(Int64Builder::with_capacity(cap)),
            ColumnType::Float => ColumnBuilder::Float(Float64Builder::with_capacity(cap)),
            ColumnType::Date => {
                ColumnBuilder::Date(Date32Builder::with_capacity(cap), c.format.clone())
            }
            ColumnType::Timestamp => ColumnBuilder::Ts(
                TimestampMicrosecondBuilder::with_capacity(cap),
                c.format.clone(),
            ),
            ColumnType::Bool => ColumnBuilder::Bool(BooleanBuilder::with_capacity(cap)),
        }
    }

    fn append_null(&mut self) {
        match self {
            ColumnBuilder::Skip => {}
            ColumnBuilder::Str(b) => b.append_null(),
            ColumnBuilder::Int(b) => b.append_null(),
            ColumnBuilder::Float(b) => b.append_null(),
            ColumnBuilder::Date(b, _) => b.append_null(),
            ColumnBuilder::Ts(b, _) => b.append_null(),
            ColumnBuilder::Bool(b) => b.append_null(),
        }
    }

    /// Append a non-null text value; false (and a NULL appended) when it does not parse.
    fn append(&mut self, text: &str) -> bool {
        // Text is kept as written; other types are read without surrounding blanks.
        let t = || text.trim();
        let ok = match self {
            ColumnBuilder::Skip => return true,
            ColumnBuilder::Str(b) => {
                b.append_value(text);
                return true;
            }
            ColumnBuilder::Int(b) => t().parse::<i64>().map(|v| b.append_value(v)).is_ok(),
            ColumnBuilder::Float(b) => t().parse::<f64>().map(|v| b.append_value(v)).is_ok(),
            ColumnBuilder::Date(b, f) => parse_date(t(), f).map(|v| b.append_value(v)).is_some(),
            ColumnBuilder::Ts(b, f) => parse_timestamp(t(), f).map(|v| b.append_value(v)).is_some(),
            ColumnBuilder::Bool(b) => parse_bool(t()).map(|v| b.append_value(v)).is_some(),
        };
        if !ok {
            self.append_null();
        }
        ok
    }

    fn finish(&mut self, len: usize, dt: &DataType) -> ArrayRef {
        match self {
            ColumnBuilder::Skip => arrow::array::new_null_array(dt, len),
            ColumnBuilder::Str(b) => Arc::new(b.finish()),
            ColumnBuilder::Int(b) => Arc::new(b.finish()),
            ColumnBuilder::Float(b) => Arc::new(b.finish()),
            ColumnBuilder::Date(b, _) => Arc::new(b.finish()),
            ColumnBuilder::Ts(b, _) => Arc::new(b.finish()),
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
        }
    }
}

struct BatchBuilder {
    columns: Vec<ColumnBuilder>,
    names: Vec<String>,
    line: UInt64Builder,
    error: StringBuilder,
    detail: StringBuilder,
    raw: StringBuilder,
    len: usize,
}

impl BatchBuilder {
    fn new(columns: &[Option<BoundColumn>], cap: usize) -> BatchBuilder {
        BatchBuilder {
            columns: columns
                .iter()
                .map(|c| ColumnBuilder::new(c.as_ref(), cap))
                .collect(),
            names: columns
                .iter()
                .map(|c| c.as_ref().map(|c| c.name.clone()).unwrap_or_default())
                .collect(),
            line: UInt64Builder::with_capacity(cap),
            error: StringBuilder::new(),
            detail: StringBuilder::new(),
            raw: StringBuilder::new(),
            len: 0,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn push(&mut self, rec: &Record<'_>, positions: &[usize], nulls: &[String]) {
        let mut error = rec.error.clone();
        for (i, col) in self.columns.iter_mut().enumerate() {
            let p = positions[i];
            if matches!(col, ColumnBuilder::Skip) {
                continue;
            }
            if p >= rec.fields() {
                col.append_null();
                continue;
            }
            let text = rec.field(p);
            if nulls.iter().any(|n| n.as_str() == text) {
                col.append_null();
            } else if !col.append(text) && error.is_none() {
                error = Some((
                    ParseError::Type,
                    format!(
                        "column `{}`: `{}` does not parse as its declared type",
                        self.names[i], text
                    ),
                ));
            }
        }
        self.line.append_value(rec.line);
        if let Some((kind, detail)) = error {
            self.error.append_value(kind.code());
            self.detail.append_value(detail);
            self.raw.append_value(rec.raw());
        } else {
            self.error.append_null();
            self.detail.append_null();
            self.raw.append_null();
        }
        self.len += 1;
    }

    fn finish(&mut self, schema: &SchemaRef, file: &str) -> Result<RecordBatch, Error> {
        let len = std::mem::take(&mut self.len);
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for (b, f) in self.columns.iter_mut().zip(schema.fields().iter()) {
            arrays.push(b.finish(len, f.data_type()));
        }
        let keys = arrow::array::Int32Array::from(vec![0; len]);
        let values = Arc::new(StringArray::from(vec![file]));
        let files = DictionaryArray::<Int32Type>::try_new(keys, values)
            .map_err(|e| Error::Internal(format!("file column: {e}")))?;
        arrays.push(Arc::new(files));
        arrays.push(Arc::new(self.line.finish()));
        arrays.push(Arc::new(self.error.finish()));
        arrays.push(Arc::new(self.detail.finish()));
        arrays.push(Arc::new(self.raw.finish()));
        RecordBatch::try_new(Arc::clone(schema), arrays)
            .map_err(|e| Error::Internal(format!("CSV batch: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jobs are shared out by size, largest first, each group keeping the listed order.
    #[test]
    fn jobs_are_shared_out_evenly_in_their_order() {
        let jobs = vec![('a', 5), ('b', 1), ('c', 1), ('d', 1), ('e', 4), ('f', 2)];
        assert_eq!(
            share_out(jobs.clone(), 2),
            [vec!['a', 'b', 'c'], vec!['d', 'e', 'f']]
        );
        assert_eq!(share_out(jobs[..2].to_vec(), 3), [vec!['a'], vec!['b']]);
        let one: Vec<char> = share_out(jobs.clone(), 1).concat();
        assert_eq!(one, ['a', 'b', 'c', 'd', 'e', 'f']);
        // Files of no size (or whose size could not be read) spread over the groups too.
        let empty = vec![('a', 0), ('b', 0), ('c', 0)];
        assert_eq!(share_out(empty, 2), [vec!['a', 'c'], vec!['b']]);
    }

    fn opts(encoding: &'static encoding_rs::Encoding) -> CsvOptions {
        CsvOptions {
            encoding,
            delimiter: b',',
            quote: b'"',
            header: true,
            null_values: vec![String::new()],
        }
    }

    fn records(bytes: &[u8], o: &CsvOptions) -> Vec<Read> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, bytes).unwrap();
        drain(RecordReader::open(&p, o).unwrap(), 2)
    }

    type Read = (u64, Vec<String>, Option<ParseError>, String);

    /// Every record `r` reads, expecting `fields` fields: line, fields, damage, text.
    fn drain(mut r: RecordReader, fields: usize) -> Vec<Read> {
        r.expected_fields = Some(fields);
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            let fields = (0..rec.fields())
                .map(|i| rec.field(i).to_string())
                .collect();
            out.push((rec.line, fields, rec.error.as_ref().map(|e| e.0), rec.raw()));
        }
        out
    }

    /// The fields of every record csv-core's machine reads in `text`, on its own.
    fn machine_fields(text: &str) -> Vec<Vec<String>> {
        let mut csv = super::super::split::record_machine(&opts(encoding_rs::UTF_8)).unwrap();
        let mut input = text.as_bytes();
        let (mut out, mut ends) = (vec![0u8; text.len() + 1], vec![0usize; text.len() + 1]);
        let (mut nout, mut nend) = (0, 0);
        let mut records = Vec::new();
        loop {
            let (res, nin, o, e) = csv.read_record(input, &mut out[nout..], &mut ends[nend..]);
            input = &input[nin..];
            (nout, nend) = (nout + o, nend + e);
            match res {
                ReadRecordResult::Record => {
                    let mut from = 0;
                    let fields = ends[..nend]
                        .iter()
                        .map(|&to| {
                            let f = String::from_utf8_lossy(&out[from..to]).into_owned();
                            from = to;
                            f
                        })
                        .collect();
                    records.push(fields);
                    (nout, nend) = (0, 0);
                }
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::End => return records,
                other => panic!("{other:?} with buffers the size of the text"),
            }
        }
    }

    /// The records of `path`, or of range `k` of its cut by `splitter`.
    fn read_records(
        path: &Path,
        o: &CsvOptions,
        range: Option<(&Arc<super::super::split::Splitter>, usize)>,
    ) -> Vec<Read> {
        let mut r = RecordReader::open(path, o).unwrap();
        if let Some((splitter, k)) = range {
            let (start, end) = splitter.range(k).unwrap();
            if start.offset >= end {
                return Vec::new();
            }
            r.limit(start, end, (k > 0).then_some(splitter.encoding))
                .unwrap();
        }
        drain(r, 3)
    }

    /// The records of `path` cut into `parts` ranges, read range after range.
    fn read_cut(path: &Path, o: &CsvOptions, parts: usize) -> Vec<Read> {
        let splitter = super::super::split::Splitter::at_least(path, o, parts, 0).unwrap();
        (0..parts)
            .flat_map(|k| read_records(path, o, Some((&splitter, k))))
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]
        /// A file cut into ranges reads, range after range, exactly as it reads whole —
        /// quoted line breaks, doubled and stray quotes, CR, LF and CRLF, blank lines, a
        /// BOM, GBK text and undecodable bytes included.
        #[test]
        fn cut_ranges_read_as_the_whole_file(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "a", "12", "中文", "\"", "\"\"", ",", "\n", "\r\n", "\r", "\"x\ny\"",
                    "\"q,\r\n\"", "黄浦区", "\u{FEFF}", "\u{FFFD}", "€", "𠀀",
                ]),
                0..400,
            ),
            parts in 2usize..6,
            gbk in proptest::bool::ANY,
            // GB18030 rather than GBK (four-byte sequences hold ASCII digits).
            gb18030 in proptest::bool::ANY,
            bom in proptest::bool::ANY,
        ) {
            let text: String = pieces.concat();
            let (encoding, mut bytes) = if gbk {
                let encoding = if gb18030 { encoding_rs::GB18030 } else { encoding_rs::GBK };
                let (b, _, _) = encoding.encode(&text);
                // An undecodable pair now and then.
                let mut b = b.into_owned();
                if text.len().is_multiple_of(3) {
                    b.extend_from_slice(b"a\xFF\xFE,z\n");
                }
                (encoding, b)
            } else {
                (encoding_rs::UTF_8, text.into_bytes())
            };
            if bom && !gbk {
                bytes.splice(0..0, [0xEF, 0xBB, 0xBF]);
            }
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("t.csv");
            std::fs::write(&p, &bytes).unwrap();
            let o = opts(encoding);
            let whole = read_records(&p, &o, None);
            // Records without quotes are split without the machine: the fields are the
            // machine's own.
            let (decoded, _, _) = encoding.decode(&bytes);
            let fields: Vec<Vec<String>> = whole.iter().map(|r| r.1.clone()).collect();
            proptest::prop_assert_eq!(fields, machine_fields(&decoded));
            proptest::prop_assert_eq!(read_cut(&p, &o, parts), whole);
        }
    }

    /// Files larger than the cut finder's 1 MiB buffer, mostly without quotes (where the
    /// finder skips ahead to line breaks) with quoted line breaks, CRLF and blank lines here
    /// and there: every cut reads as the whole file.
    #[test]
    fn long_quote_free_stretches_are_cut_where_records_end() {
        let text: String = (0..60_000u32)
            .map(|i| match i % 997 {
                0 => format!("{i},\"多行\n地址{i}\r\n\",x\n"),
                1 => "\r\n\n".to_string(),
                2 => format!("{i},\"a,\"\"b\"\"\",y\r\n"),
                _ => format!("{i},上海市黄浦区四川中路{i}号,z\n"),
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        for (name, encoding) in [("u.csv", encoding_rs::UTF_8), ("g.csv", encoding_rs::GBK)] {
            let (bytes, _, _) = encoding.encode(&text);
            assert!(bytes.len() > 2 << 20, "longer than two buffers");
            let p = dir.path().join(name);
            std::fs::write(&p, &bytes).unwrap();
            let o = opts(encoding);
            let whole = read_records(&p, &o, None);
            for parts in [2, 3, 7] {
                assert!(read_cut(&p, &o, parts) == whole, "{name} in {parts} parts");
            }
        }
    }

    #[test]
    fn lines_quotes_and_blank_lines() {
        let data = b"\xEF\xBB\xBFa,b\r\n1,\"x\ny\"\n\n3,4\n5\n6,\"7\n";
        let recs = records(data, &opts(encoding_rs::UTF_8));
        let lines: Vec<u64> = recs.iter().map(|r| r.0).collect();
        assert_eq!(lines, vec![1, 2, 5, 6, 7]);
        assert_eq!(recs[0].1, vec!["a", "b"]);
        assert_eq!(recs[1].1, vec!["1", "x\ny"]);
        assert_eq!(recs[3].2, Some(ParseError::Structure));
        assert_eq!(recs[4].2, Some(ParseError::Structure));
        assert_eq!(recs[4].3, "6,\"7");
    }

    #[test]
    fn gbk_decodes_and_flags_invalid_bytes() {
        let (gbk, _, _) = encoding_rs::GBK.encode("名称,区\n黄浦,上海\n");
        let mut data = gbk.into_owned();
        data.extend_from_slice(b"\xFF\xFF,x\n");
        let recs = records(&data, &opts(encoding_rs::GBK));
        assert_eq!(recs[1].1, vec!["黄浦", "上海"]);
        assert_eq!(recs[1].2, None);
        assert_eq!(recs[2].2, Some(ParseError::Encoding));
        assert_eq!(recs[2].0, 3);
    }

    #[test]
    fn a_file_in_another_encoding_is_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let text = "名称,区\n黄浦,上海\n静安,上海\n";
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let gbk = write("gbk.csv", &gbk);
        let utf8 = write("utf8.csv", text.as_bytes());
        let ascii = write("ascii.csv", b"a,b\n1,2\n");
        assert_eq!(
            encoding_hint(&gbk, encoding_rs::UTF_8),
            Some(encoding_rs::GB18030)
        );
        assert_eq!(encoding_hint(&gbk, encoding_rs::GBK), None);
        assert_eq!(encoding_hint(&utf8, encoding_rs::UTF_8), None);
        assert_eq!(encoding_hint(&ascii, encoding_rs::UTF_8), None);
    }

    #[test]
    fn invalid_utf8_is_an_encoding_error() {
        let recs = records(b"a,b\n\xC4\xE3,1\nok,2\n", &opts(encoding_rs::UTF_8));
        assert_eq!(recs[1].2, Some(ParseError::Encoding));
        assert_eq!(recs[2].2, None);
    }
}
