//! Writing one generated table: rows made in chunks on rayon's pool, exactly K anomalous rows
//! (each with one injury), written in order as Parquet or CSV (UTF-8 or GBK), with the truth.
//! A library's generator only says how to make a clean row, how to break it, and how rows
//! become an Arrow batch ([`TableGen`]).

use std::fs::File;
use std::io::{BufWriter, Write as _};

use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, RecordBatch, StringArray};
use arrow::datatypes::SchemaRef;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::NaiveDate;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rand::rngs::StdRng;
use rayon::prelude::*;

use super::truth::TableTruth;
use super::{CHUNK_ROWS, GenEncoding, GenFormat, GenSpec, anomalous_rows, row_rng};
use crate::error::{Error, Result};
use crate::values::days;

/// How a library makes one of its tables.
pub trait TableGen: Sync {
    type Row: Send + Sync;
    /// What [`TableGen::number`] carries from one chunk to the next.
    type Serials: Default;

    /// The table's name in the pack (and the file's stem).
    fn name(&self) -> &'static str;
    /// Every rule id of the table in the pack, so the truth lists zeros too.
    fn rules(&self) -> &'static [&'static str];
    /// How many kinds of defect the table injects; the anomalous rows take them in turn.
    /// By default one per rule.
    fn defects(&self) -> usize {
        self.rules().len()
    }
    /// A clean row: it breaks no rule, alone or together with the table's other rows.
    fn clean_row(&self, cx: &RowCx<'_>, rng: &mut StdRng, index: u64) -> Self::Row;
    /// Inject defect `k` into the anomalous row of rank `ordinal` (among anomalous rows);
    /// return the rules the row then breaks — known by construction, never evaluated.
    fn apply(
        &self,
        cx: &RowCx<'_>,
        row: &mut Self::Row,
        k: usize,
        ordinal: usize,
        rng: &mut StdRng,
    ) -> &'static [&'static str];
    /// Rows written after the generated ones (scenarios that span libraries), each with the
    /// rules it breaks.
    fn appended(&self, _cx: &RowCx<'_>) -> Result<Vec<(Self::Row, &'static [&'static str])>> {
        Ok(Vec::new())
    }
    /// Numbers handed out in row order, as a registry does (a certificate serial per office
    /// and year): drawn per row, they would collide at scale. Called on every chunk in order,
    /// then on the appended rows, before they are encoded.
    fn number(&self, _rows: &mut [Self::Row], _serials: &mut Self::Serials) {}
    fn provider<'a>(&self, row: &'a Self::Row) -> &'a str;
    fn schema(&self) -> SchemaRef;
    fn batch(&self, rows: &[Self::Row]) -> Result<RecordBatch>;
    /// CSV damages: the index of a text column (for a stray quote) and of a date column.
    fn damage_columns(&self) -> (usize, usize);
}

/// What a generator knows about the other rows of its table: every row can be made again
/// on its own (each has its own random generator), and which rows are anomalous.
#[derive(Debug, Clone, Copy)]
pub struct RowCx<'a> {
    pub seed: u64,
    pub rows: u64,
    /// The anomalous rows, sorted.
    pub anomalous: &'a [u64],
    pub csv: bool,
}

impl RowCx<'_> {
    /// Row `i`'s own random generator.
    pub fn rng(&self, i: u64) -> StdRng {
        row_rng(self.seed, i)
    }

    /// The rank of row `i` among the anomalous rows, if it is one.
    pub fn ordinal(&self, i: u64) -> Option<usize> {
        self.anomalous.binary_search(&i).ok()
    }

    pub fn is_anomalous(&self, i: u64) -> bool {
        self.ordinal(i).is_some()
    }
}

/// Row `i` of table `g` exactly as it is written: clean, then injured when anomalous.
/// Returns the row, its CSV damage, and the rules it breaks.
pub fn row_at<T: TableGen>(
    g: &T,
    cx: &RowCx<'_>,
    i: u64,
) -> (T::Row, Option<Damage>, &'static [&'static str]) {
    let mut rng = cx.rng(i);
    let mut row = g.clean_row(cx, &mut rng, i);
    let Some(ordinal) = cx.ordinal(i) else {
        return (row, None, &[]);
    };
    match Injury::nth(ordinal as u64, g.defects(), cx.csv) {
        Injury::Defect(k) => {
            let broken = g.apply(cx, &mut row, k, ordinal, &mut rng);
            (row, None, broken)
        }
        Injury::Damage(d) => (row, Some(d), d.rules()),
    }
}

/// A text column of generated rows (for [`TableGen::batch`]).
pub fn text_column<R>(rows: &[R], f: impl Fn(&R) -> Option<String>) -> ArrayRef {
    Arc::new(rows.iter().map(f).collect::<StringArray>())
}

/// A date column of generated rows (for [`TableGen::batch`]).
pub fn date_column<R>(rows: &[R], f: impl Fn(&R) -> Option<NaiveDate>) -> ArrayRef {
    Arc::new(rows.iter().map(|r| f(r).map(days)).collect::<Date32Array>())
}

/// Record-level damage of CSV output, each counted by one built-in parse rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    MissingFields,
    UnbalancedQuote,
    InvalidBytes,
    BadDate,
}

impl Damage {
    pub const ALL: [Damage; 4] = [
        Damage::MissingFields,
        Damage::UnbalancedQuote,
        Damage::InvalidBytes,
        Damage::BadDate,
    ];

    /// The built-in parse rule the damage breaks.
    pub fn rules(self) -> &'static [&'static str] {
        match self {
            Damage::MissingFields | Damage::UnbalancedQuote => &["PARSE-STRUCTURE"],
            Damage::InvalidBytes => &["PARSE-ENCODING"],
            Damage::BadDate => &["PARSE-TYPE"],
        }
    }
}

/// What is done to the `i`-th anomalous row: defects (and, for CSV, damages) take turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Injury {
    Defect(usize),
    Damage(Damage),
}

impl Injury {
    fn nth(i: u64, defects: usize, csv: bool) -> Injury {
        let d = defects as u64;
        let all = if csv { d + Damage::ALL.len() as u64 } else { d };
        let k = usize::try_from(i % all).unwrap_or(0);
        if k < defects {
            Injury::Defect(k)
        } else {
            Injury::Damage(Damage::ALL[k - defects])
        }
    }
}

/// One chunk: its rows, the CSV damage of each, and its truth.
type Chunk<R> = (Vec<R>, Vec<Option<Damage>>, TableTruth);

fn chunk<T: TableGen>(g: &T, cx: &RowCx<'_>, c: u64) -> Chunk<T::Row> {
    let start = c * CHUNK_ROWS;
    let end = (start + CHUNK_ROWS).min(cx.rows);
    let len = usize::try_from(end - start).unwrap_or(0);
    let (mut rows, mut damages) = (Vec::with_capacity(len), Vec::with_capacity(len));
    let mut truth = TableTruth::default();
    for i in start..end {
        let (row, damage, broken) = row_at(g, cx, i);
        truth.add_row(g.provider(&row), broken);
        rows.push(row);
        damages.push(damage);
    }
    (rows, damages, truth)
}

/// CSV bytes of a batch (no header), with the given damages, encoded as asked.
fn csv_bytes(
    batch: &RecordBatch,
    damages: &[Option<Damage>],
    (quote_col, date_col): (usize, usize),
    encoding: GenEncoding,
) -> Result<Vec<u8>> {
    let opts = FormatOptions::default();
    let formatters: Vec<ArrayFormatter<'_>> = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Internal(format!("CSV formatting: {e}")))?;
    let mut out = Vec::with_capacity(batch.num_rows() * 160);
    for (row, damage) in damages.iter().enumerate() {
        let mut fields: Vec<String> = formatters
            .iter()
            .enumerate()
            .map(|(c, f)| {
                if batch.column(c).is_null(row) {
                    String::new()
                } else {
                    f.value(row).to_string()
                }
            })
            .collect();
        if let Some(bad) = fields.iter().find(|f| f.contains([',', '"', '\n', '\r'])) {
            return Err(Error::Internal(format!(
                "generated value needs quoting: {bad}"
            )));
        }
        match damage {
            Some(Damage::MissingFields) => fields.truncate(fields.len() - 2),
            Some(Damage::UnbalancedQuote) => fields[quote_col].push('"'),
            Some(Damage::BadDate) => fields[date_col] = "2021-13-45".into(),
            Some(Damage::InvalidBytes) | None => {}
        }
        let line = fields.join(",") + "\n";
        let mut bytes = match encoding {
            GenEncoding::Utf8 => line.into_bytes(),
            GenEncoding::Gbk => {
                let (b, _, unmappable) = encoding_rs::GBK.encode(&line);
                if unmappable {
                    return Err(Error::Internal(format!("not representable in GBK: {line}")));
                }
                b.into_owned()
            }
        };
        if *damage == Some(Damage::InvalidBytes) {
            // 0xFF starts no character in UTF-8 nor in GBK.
            bytes.insert(0, 0xFF);
        }
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

use arrow::array::Array as _;

/// Write table `g` into `spec.out` as `<name>.parquet` or `<name>.csv` (Parquet in
/// `spec.files` parts: `<name>/part-NNN.parquet`, consecutive rows in each); return its truth.
pub fn write<T: TableGen>(g: &T, spec: &GenSpec) -> Result<TableTruth> {
    let file_name = match spec.format {
        GenFormat::Parquet => format!("{}.parquet", g.name()),
        GenFormat::Csv => format!("{}.csv", g.name()),
    };
    let target = spec.out.join(file_name);
    let files = spec.files.max(1);
    if files > 1 && spec.format == GenFormat::Csv {
        return Err(Error::Usage("--files: Parquet only".into()));
    }
    let anomalous = anomalous_rows(spec.rows, spec.anomalies, spec.seed)?;
    let cx = RowCx {
        seed: spec.seed,
        rows: spec.rows,
        anomalous: &anomalous,
        csv: spec.format == GenFormat::Csv,
    };
    let tmp = target.with_extension("partial");
    let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let io = |e: std::io::Error| Error::io(&tmp, e);
    let pq =
        |e: parquet::errors::ParquetError| Error::io(&tmp, std::io::Error::other(e.to_string()));
    let mut parts = (files > 1).then(|| Parts {
        dir: spec.out.join(g.name()),
        props: writer_properties(spec),
        current: None,
    });
    let mut truth = TableTruth {
        rules: g.rules().iter().map(|r| ((*r).to_string(), 0)).collect(),
        ..TableTruth::default()
    };
    let mut parquet_writer = match spec.format {
        GenFormat::Parquet => Some(
            ArrowWriter::try_new(
                file.try_clone().map_err(io)?,
                g.schema(),
                Some(writer_properties(spec)),
            )
            .map_err(pq)?,
        ),
        GenFormat::Csv => None,
    };
    let mut csv_out = BufWriter::new(file);
    if spec.format == GenFormat::Csv {
        let names: Vec<String> = g
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        csv_out
            .write_all((names.join(",") + "\n").as_bytes())
            .map_err(io)?;
    }
    // Rows as a batch, and for CSV its bytes (with the rows' damages).
    let encode = |rows: &[T::Row], damages: &[Option<Damage>]| -> Result<(RecordBatch, Vec<u8>)> {
        let batch = g.batch(rows)?;
        let bytes = match spec.format {
            GenFormat::Parquet => Vec::new(),
            GenFormat::Csv => csv_bytes(&batch, damages, g.damage_columns(), spec.encoding)?,
        };
        Ok((batch, bytes))
    };
    let mut emit = |batch: &RecordBatch, bytes: &[u8], part: u64| -> Result<()> {
        if let Some(parts) = &mut parts {
            return parts.write(part, batch, &g.schema());
        }
        match &mut parquet_writer {
            Some(w) => w.write(batch).map_err(pq),
            None => csv_out.write_all(bytes).map_err(io),
        }
    };
    // Generate a window of chunks in parallel, number them in order, encode them in
    // parallel, write them in order.
    let chunks = spec.rows.div_ceil(CHUNK_ROWS);
    let window = (rayon::current_num_threads() * 2) as u64;
    let mut serials = T::Serials::default();
    let mut next = 0;
    while next < chunks {
        let ids: Vec<u64> = (next..(next + window).min(chunks)).collect();
        let mut parts: Vec<Chunk<T::Row>> = ids.par_iter().map(|&c| chunk(g, &cx, c)).collect();
        for (rows, _, _) in &mut parts {
            g.number(rows, &mut serials);
        }
        let encoded: Vec<Result<(RecordBatch, Vec<u8>)>> = parts
            .par_iter()
            .map(|(rows, damages, _)| encode(rows, damages))
            .collect();
        for ((c, (_, _, t)), part) in ids.iter().zip(&parts).zip(encoded) {
            let (batch, bytes) = part?;
            truth.merge(t);
            emit(&batch, &bytes, c * files / chunks)?;
        }
        next += window;
    }
    let appended = g.appended(&cx)?;
    if !appended.is_empty() {
        let mut rows = Vec::with_capacity(appended.len());
        for (row, broken) in appended {
            truth.add_row(g.provider(&row), broken);
            rows.push(row);
        }
        g.number(&mut rows, &mut serials);
        let (batch, bytes) = encode(&rows, &vec![None; rows.len()])?;
        emit(&batch, &bytes, files - 1)?;
    }
    if let Some(parts) = parts {
        // Written in parts: the single file's writer wrote nothing.
        drop(parquet_writer);
        drop(csv_out);
        let _ = std::fs::remove_file(&tmp);
        parts.finish()?;
        return Ok(truth);
    }
    match parquet_writer {
        Some(w) => {
            w.close().map_err(pq)?;
        }
        None => csv_out.flush().map_err(io)?,
    }
    std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
    Ok(truth)
}

/// How generated Parquet files are written: Snappy, row groups of `spec.row_group_rows`.
fn writer_properties(spec: &GenSpec) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(usize::try_from(spec.row_group_rows).ok())
        .build()
}

/// A table written as numbered Parquet parts in a folder, one after another.
struct Parts {
    dir: std::path::PathBuf,
    props: WriterProperties,
    current: Option<(u64, ArrowWriter<File>, std::path::PathBuf)>,
}

impl Parts {
    fn write(&mut self, part: u64, batch: &RecordBatch, schema: &SchemaRef) -> Result<()> {
        if self.current.as_ref().is_none_or(|(p, _, _)| *p != part) {
            self.finish_current()?;
            std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
            let target = self.dir.join(format!("part-{part:03}.parquet"));
            let tmp = target.with_extension("partial");
            let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            let w = ArrowWriter::try_new(file, Arc::clone(schema), Some(self.props.clone()))
                .map_err(|e| Error::io(&tmp, std::io::Error::other(e.to_string())))?;
            self.current = Some((part, w, target));
        }
        if let Some((_, w, target)) = &mut self.current {
            w.write(batch)
                .map_err(|e| Error::io(target.clone(), std::io::Error::other(e.to_string())))?;
        }
        Ok(())
    }

    fn finish_current(&mut self) -> Result<()> {
        if let Some((_, w, target)) = self.current.take() {
            w.close()
                .map_err(|e| Error::io(&target, std::io::Error::other(e.to_string())))?;
            let tmp = target.with_extension("partial");
            std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.finish_current()
    }
}
