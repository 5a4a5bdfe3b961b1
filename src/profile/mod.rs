//! `qc profile`: a table never audited before, known in one streaming pass on every core:
//! per column its nulls, blanks and placeholders, distinct values, numbers, dates, lengths,
//! top values and the semantic classes of Chinese registry data its values fall in; the
//! table's candidate keys and, for CSV, its malformed records. The [`Profile`] is written as
//! `profile.json` (its schema is this module's types; README "Profiling a new table"), drawn
//! as one HTML page ([`page`]), turned into a draft rule pack ([`suggest`]) and compared
//! with an earlier delivery's ([`compare`]).
//!
//! Memory stays bounded whatever the table's size: each worker keeps fixed-size sketches
//! per column ([`sketch`]); only the key check keeps a hash per value, within a budget.

// A profile's figures are statistics: counts become shares, numbers are summarized as f64,
// and estimates are rounded back to counts; what these casts can lose is far below the
// precision the figures state.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

pub mod classes;
pub mod column;
pub mod compare;
pub mod copies;
pub mod deadlines;
pub mod implied;
pub mod numbers;
pub mod page;
pub mod places;
pub mod prefixes;
pub mod read;
pub mod relations;
pub mod sketch;
pub mod suggest;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rules::pii::Pii;
use crate::rules::source::{BoundSource, CsvOptions, SourceFormat};
use crate::rules::{BoundColumn, ColumnType, TableRef};
use crate::scan::{self, META_DETAIL, META_ERROR, META_FILE, META_LINE, ScanProgress, TableSource};
use classes::Class;
use column::{ColumnAcc, Kind};
use relations::{Relation, RelationsAcc, Roles};
use sketch::{Budget, KeyHashes, KeyState};

/// The version of `profile.json`'s layout.
pub const FORMAT_VERSION: u32 = 1;
/// Malformed records kept as examples.
const MALFORMED_SAMPLES: usize = 20;
/// Rows read first to choose the columns related in the pass.
const SAMPLE_ROWS: usize = 10_000;

/// A table's profile (`profile.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    pub format_version: u32,
    pub qc_version: String,
    /// When the profile was made (local time, RFC 3339).
    pub profiled_at: String,
    pub table: String,
    pub source: SourceInfo,
    /// Records read, well-formed and malformed.
    pub rows: u64,
    pub malformed: Malformed,
    pub columns: Vec<ColumnProfile>,
    /// Columns that have no NULLs and whose values are all different, checked exactly (by
    /// 64-bit hashes); when there is none, pairs of columns whose values together are all
    /// different (pairs of the three columns of most distinct values in the first rows).
    pub candidate_keys: Vec<Vec<String>>,
    /// Whether personal data (ID numbers, names) is masked in values shown.
    pub masked: bool,
    /// Relations between columns (ID number and birth date or sex, order of dates, age and
    /// dates, dates after the day of the profile), exact over all well-formed rows.
    #[serde(default)]
    pub relations: Vec<Relation>,
}

/// Where the profiled table was read from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceInfo {
    pub pattern: String,
    pub files: Vec<String>,
    /// `csv` or `parquet`.
    pub format: String,
    /// CSV only: UTF-8, GBK or GB18030.
    pub encoding: Option<String>,
}

/// CSV records that could not be read as rows (kept out of the column figures).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Malformed {
    pub total: u64,
    /// By kind: `structure` (wrong number of fields), `encoding` (undecodable bytes).
    pub by_kind: BTreeMap<String, u64>,
    pub samples: Vec<MalformedSample>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MalformedSample {
    pub file: String,
    pub line: u64,
    pub kind: String,
    pub detail: String,
}

/// One column's profile. Counts are exact unless a field says otherwise (`distinct_exact`,
/// `top_exact`, `numbers.exact`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnProfile {
    pub name: String,
    /// The Arrow type read (CSV columns are read as text).
    pub physical_type: String,
    /// `integer`, `decimal`, `digits` (digit strings a number is not written as: codes),
    /// `date`, `timestamp`, `boolean`, `text` or `other`: what at least 90 % of the present
    /// values are.
    pub inferred_type: String,
    /// The share of present values of the inferred type.
    pub inferred_share: f64,
    /// Well-formed rows.
    pub rows: u64,
    pub nulls: u64,
    /// Text of nothing but spaces (empty text is NULL in CSV).
    pub blanks: u64,
    /// Placeholders for a missing value (无, 不详, `/`, 000000 …), in all.
    pub placeholders: u64,
    pub placeholder_values: BTreeMap<String, u64>,
    /// Values with spaces around them.
    pub padded: u64,
    /// Values neither NULL, blank nor a placeholder: what classes and lengths describe.
    pub present: u64,
    /// Distinct non-NULL values: exact up to 65,536, else HyperLogLog (standard error 0.81 %).
    pub distinct: u64,
    pub distinct_exact: bool,
    pub min: Option<String>,
    pub max: Option<String>,
    /// Numbers or dates (of numeric and date columns, and of text that reads as such).
    pub numbers: Option<NumberStats>,
    pub lengths: Option<LengthProfile>,
    /// The most frequent non-NULL values (blanks and placeholders included).
    pub top: Vec<TopValue>,
    /// Whether `top`'s counts are exact; if not, each may be up to `top_error` too low.
    pub top_exact: bool,
    pub top_error: u64,
    /// Every distinct value of a text column of at most 30, with exact counts (empty for
    /// other columns, and for masked ones).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<TopValue>,
    /// Semantic classes of the present values (classes no value has are left out).
    pub classes: Vec<ClassShare>,
    /// Date formats of text dates, with their counts.
    pub date_formats: Vec<(String, u64)>,
    /// Non-NULL values written as a Chinese name is written ([`classes::NAME_FORM`]: 2–4
    /// Chinese characters, or parts joined by `·`), blanks and placeholders included.
    #[serde(default)]
    pub name_forms: u64,
    /// Shapes of non-NULL text values written as codes (upper-case letters `A`, lower-case
    /// `a`, digits `9`, other characters as written: `I21.9` → `A99.9`), most frequent
    /// first, with their counts (blanks and placeholders included: what a `pattern` rule
    /// matches); empty when there are more than 64 shapes or more than 1 % of the values are
    /// not ASCII codes of at most 32 characters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_shapes: Vec<(String, u64)>,
    pub key: KeyCheck,
    /// Personal data the column holds (declared in a pack, or recognized by its classes).
    pub pii: Option<Pii>,
    /// Whether its values are masked in this profile.
    pub masked: bool,
}

impl ColumnProfile {
    /// The count of present values in `class`.
    pub fn class_count(&self, class: Class) -> u64 {
        self.classes
            .iter()
            .find(|c| c.class == class)
            .map_or(0, |c| c.count)
    }

    /// The share of present values in `class`.
    pub fn class_share(&self, class: Class) -> f64 {
        if self.present == 0 {
            0.0
        } else {
            self.class_count(class) as f64 / self.present as f64
        }
    }

    /// NULLs and blanks: values a `not_null` rule fails (placeholders pass it unless the
    /// pack declares them `null_like`).
    pub fn missing(&self) -> u64 {
        self.nulls + self.blanks
    }
}

/// A figure with its value as a number (dates as days since 1970-01-01, timestamps as seconds)
/// and as text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stat {
    pub value: f64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NumberStats {
    /// `number`, `date` or `timestamp`.
    pub unit: String,
    pub count: u64,
    pub min: Stat,
    pub max: Stat,
    pub mean: Option<Stat>,
    /// At 1, 5, 25, 50, 75, 95 and 99 %: exact (nearest rank) up to 65,536 values, else a
    /// t-digest estimate.
    pub quantiles: Vec<Quantile>,
    pub exact: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Quantile {
    pub q: f64,
    pub value: Stat,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LengthProfile {
    pub min: usize,
    pub max: usize,
    pub mean: f64,
    /// (length in characters, values); lengths of 64 and more are counted at 64.
    pub histogram: Vec<(usize, u64)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopValue {
    pub value: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassShare {
    pub class: Class,
    /// The class's name in Chinese.
    pub label: String,
    pub count: u64,
    /// Of the present values.
    pub share: f64,
}

/// Whether a column's values repeat, counted exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum KeyCheck {
    /// Rows whose value another row shares, and how many values repeat.
    Checked {
        duplicate_rows: u64,
        duplicate_groups: u64,
    },
    /// Fewer distinct values than half the rows of a batch: not counted.
    NotKeyLike,
    /// The key-check memory budget ran out before the column was read.
    OverBudget,
}

/// A table to profile: its name, source and columns.
#[derive(Debug, Clone)]
pub struct Input {
    pub table: TableRef,
    pub source: BoundSource,
    pub columns: Vec<BoundColumn>,
    pub schema: SchemaRef,
}

impl Input {
    /// The files `pattern` names, read as `format` (told from the extension when `None`);
    /// every column of a CSV header is read as text, a Parquet file's as stored.
    pub fn from_path(
        ctx: &SessionContext,
        rt: &tokio::runtime::Runtime,
        pattern: &str,
        format: Option<&str>,
        csv: CsvOptions,
    ) -> Result<Input> {
        let files = crate::bind::expand_source(pattern)
            .map_err(|e| Error::Usage(format!("--data {pattern}: {e}")))?;
        let Some(first) = files.first() else {
            return Err(Error::Usage(format!("--data {pattern}: no file matches")));
        };
        let format = match format {
            Some(f) => f.to_ascii_lowercase(),
            None => first
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .unwrap_or_default(),
        };
        let name = table_name(pattern, first);
        let table = TableRef::new("profile", name);
        match format.as_str() {
            "csv" | "txt" | "tsv" => {
                let header =
                    scan::csv::read_header(first, &csv).map_err(|e| Error::data(first, e))?;
                let columns: Vec<BoundColumn> = header
                    .iter()
                    .enumerate()
                    .map(|(i, h)| {
                        let name = if h.is_empty() {
                            format!("column_{}", i + 1)
                        } else {
                            h.clone()
                        };
                        BoundColumn::plain(&name, ColumnType::String)
                    })
                    .collect();
                let check = scan::csv::check_files(&files, &csv, &columns);
                if let Some((file, reason)) = check.damaged.first() {
                    return Err(Error::data(file, reason.clone()));
                }
                let schema = scan::csv::table_schema(&columns);
                Ok(Input {
                    table,
                    source: BoundSource {
                        pattern: pattern.to_string(),
                        files,
                        format: SourceFormat::Csv(csv),
                        left_out: Vec::new(),
                        // A profile reads the files' own columns.
                        partitions: Vec::new(),
                    },
                    columns,
                    schema,
                })
            }
            "parquet" | "pq" => {
                let state = ctx.state();
                let schema = rt
                    .block_on(scan::parquet::schema(&state, &files))
                    .map_err(|e| Error::data(first, e))?;
                let columns = schema
                    .fields()
                    .iter()
                    .map(|f| BoundColumn {
                        arrow: f.data_type().clone(),
                        ..BoundColumn::plain(
                            f.name(),
                            ColumnType::of_arrow(f.data_type()).unwrap_or(ColumnType::String),
                        )
                    })
                    .collect();
                Ok(Input {
                    table,
                    source: BoundSource {
                        pattern: pattern.to_string(),
                        files,
                        format: SourceFormat::Parquet,
                        left_out: Vec::new(),
                        partitions: Vec::new(),
                    },
                    columns,
                    schema,
                })
            }
            other => Err(Error::Usage(format!(
                "--data {pattern}: cannot tell the format of `{}` (extension `{other}`); say --format csv or --format parquet",
                first.display()
            ))),
        }
    }
}

/// A table's name from its pattern: the file's stem, or the folder's name for a glob.
fn table_name(pattern: &str, first: &Path) -> String {
    let is_glob = pattern.contains(['*', '?', '[']);
    let path = if is_glob {
        first.parent().unwrap_or(first)
    } else {
        first
    };
    let stem = if is_glob {
        path.file_name()
    } else {
        path.file_stem()
    };
    stem.and_then(|s| s.to_str()).unwrap_or("table").to_string()
}

/// How a profile is made.
#[derive(Debug, Clone)]
pub struct Options {
    pub threads: usize,
    /// Mask personal data in values shown.
    pub mask: bool,
    /// Memory for the exact key check (hashes of key-like columns' values).
    pub key_memory: u64,
}

/// One worker's figures.
struct TableAcc {
    columns: Vec<ColumnAcc>,
    relations: RelationsAcc,
    /// Pairs of columns checked as keys, with their value hashes.
    pair_keys: Vec<((usize, usize), KeyHashes)>,
    malformed: Malformed,
}

impl TableAcc {
    fn new(
        input: &Input,
        budget: &Budget,
        states: &[KeyState],
        roles: &Roles,
        pairs: &[((usize, usize), KeyState)],
    ) -> TableAcc {
        TableAcc {
            columns: input
                .columns
                .iter()
                .zip(states)
                .map(|(c, s)| {
                    ColumnAcc::new(
                        Kind::of(&c.arrow),
                        KeyHashes::new(budget.clone(), Arc::clone(s)),
                    )
                })
                .collect(),
            relations: RelationsAcc::new(roles.clone()),
            pair_keys: pairs
                .iter()
                .map(|(p, s)| (*p, KeyHashes::new(budget.clone(), Arc::clone(s))))
                .collect(),
            malformed: Malformed::default(),
        }
    }

    fn update(&mut self, input: &Input, batch: &RecordBatch) {
        let keep = batch.column_by_name(META_ERROR).map(|e| {
            let errors = e.as_string::<i32>();
            for i in 0..errors.len() {
                if errors.is_valid(i) {
                    self.malformed(batch, i, errors.value(i));
                }
            }
            arrow::compute::is_null(e)
                .unwrap_or_else(|_| arrow::array::BooleanArray::from(vec![true; e.len()]))
        });
        for (acc, c) in self.columns.iter_mut().zip(&input.columns) {
            if let Some(array) = batch.column_by_name(&c.name) {
                acc.update(array, keep.as_ref());
            }
        }
        self.relations.update(&input.columns, batch, keep.as_ref());
        // Each column of a pair hashed once per batch, however many pairs it is in.
        let mut hashed: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
        for &((a, b), _) in &self.pair_keys {
            for i in [a, b] {
                if let Some(array) = batch.column_by_name(&input.columns[i].name) {
                    hashed.entry(i).or_insert_with(|| value_hashes(array));
                }
            }
        }
        for ((a, b), hashes) in &mut self.pair_keys {
            let (Some(x), Some(y)) = (hashed.get(a), hashed.get(b)) else {
                continue;
            };
            for (r, (&hx, &hy)) in x.iter().zip(y).enumerate() {
                if keep.as_ref().is_none_or(|k| k.value(r)) {
                    hashes.add(pair_hash(hx, hy));
                }
            }
        }
    }

    fn malformed(&mut self, batch: &RecordBatch, i: usize, kind: &str) {
        let m = &mut self.malformed;
        m.total += 1;
        *m.by_kind.entry(kind.to_string()).or_insert(0) += 1;
        if m.samples.len() < MALFORMED_SAMPLES {
            let text = |name: &str| {
                batch
                    .column_by_name(name)
                    .and_then(|a| arrow::compute::cast(a, &DataType::Utf8).ok())
                    .map(|a| a.as_string::<i32>().value(i).to_string())
                    .unwrap_or_default()
            };
            let line = batch
                .column_by_name(META_LINE)
                .and_then(|a| {
                    a.as_primitive_opt::<arrow::datatypes::UInt64Type>()
                        .map(|a| a.value(i))
                })
                .unwrap_or(0);
            m.samples.push(MalformedSample {
                file: text(META_FILE),
                line,
                kind: kind.to_string(),
                detail: text(META_DETAIL),
            });
        }
    }

    fn merge(&mut self, other: TableAcc) {
        for (a, b) in self.columns.iter_mut().zip(other.columns) {
            a.merge(b);
        }
        self.relations.merge(other.relations);
        for ((_, mine), (_, theirs)) in self.pair_keys.iter_mut().zip(other.pair_keys) {
            mine.merge(theirs);
        }
        let m = &mut self.malformed;
        m.total += other.malformed.total;
        for (k, v) in other.malformed.by_kind {
            *m.by_kind.entry(k).or_insert(0) += v;
        }
        m.samples.extend(other.malformed.samples);
        m.samples
            .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        m.samples.truncate(MALFORMED_SAMPLES);
    }
}

/// Profile `input` in one pass: `threads` workers take the scan's partitions (files, a big
/// CSV file's ranges, Parquet row groups) in turn, each folding batches into its own figures,
/// merged at the end.
pub async fn profile(
    ctx: &SessionContext,
    input: &Input,
    options: &Options,
    progress: &ScanProgress,
) -> Result<Profile> {
    let what = || format!("profiling {}", input.source.pattern);
    let state = ctx.state();
    let names: Vec<String> = input.columns.iter().map(|c| c.name.clone()).collect();
    let source = TableSource {
        table: input.table.clone(),
        columns: &input.columns,
        schema: &input.schema,
        source: &input.source,
        partitions: &[],
    };
    let provider = scan::provider(&state, &source, &names, progress)?;
    // Planned through the optimizer, which splits a big Parquet file's row groups into one
    // range per core (a bare provider scan would be one partition per file).
    let plan = ctx
        .read_table(provider)
        .map_err(|e| Error::engine(what(), e))?
        .create_physical_plan()
        .await
        .map_err(|e| Error::engine(what(), e))?;
    let partitions = plan.properties().output_partitioning().partition_count();
    // The sample is read by a provider of its own, which counts nothing into `progress`.
    let sampled = scan::provider(&state, &source, &names, &ScanProgress::default())?;
    let sample = sample(ctx, sampled)
        .await
        .map_err(|e| Error::engine(what(), e))?;
    let today = crate::values::days(chrono::Local::now().date_naive());
    let (roles, pairs) = sample.map_or_else(
        || (Roles::default(), Vec::new()),
        |s| {
            let well_formed = read::well_formed(&s);
            (
                Roles::from_sample(&input.columns, &s, &well_formed, today),
                key_pairs(&input.columns, &s, &well_formed),
            )
        },
    );
    let next = Arc::new(AtomicUsize::new(0));
    let budget = Budget::new(options.key_memory);
    let states: Vec<KeyState> = input.columns.iter().map(|_| KeyState::default()).collect();
    let pairs: Vec<((usize, usize), KeyState)> = pairs
        .into_iter()
        .map(|p| (p, KeyState::default()))
        .collect();
    let mut workers = Vec::new();
    for _ in 0..options.threads.clamp(1, partitions.max(1)) {
        let plan = Arc::clone(&plan);
        let next = Arc::clone(&next);
        let task = ctx.task_ctx();
        let input = input.clone();
        let mut acc = TableAcc::new(&input, &budget, &states, &roles, &pairs);
        workers.push(tokio::spawn(async move {
            loop {
                let p = next.fetch_add(1, Ordering::Relaxed);
                if p >= partitions {
                    return Ok::<_, datafusion::error::DataFusionError>(acc);
                }
                let mut stream = plan.execute(p, Arc::clone(&task))?;
                while let Some(batch) = stream.next().await {
                    acc.update(&input, &batch?);
                }
            }
        }));
    }
    let mut total: Option<TableAcc> = None;
    for w in workers {
        let acc = w
            .await
            .map_err(|e| Error::Internal(format!("a profiling worker failed: {e}")))?
            .map_err(|e| Error::engine(what(), e))?;
        match &mut total {
            Some(t) => t.merge(acc),
            None => total = Some(acc),
        }
    }
    let total = total.unwrap_or_else(|| TableAcc::new(input, &budget, &states, &roles, &pairs));
    let malformed = total.malformed;
    let relations = total.relations.finish(&input.columns);
    let pair_keys = total.pair_keys;
    let columns: Vec<ColumnProfile> = total
        .columns
        .into_iter()
        .zip(&input.columns)
        .map(|(acc, c)| acc.finish(&c.name, &c.arrow, c.pii, options.mask))
        .collect();
    let well_formed = columns.first().map_or(0, |c| c.rows);
    let candidate_keys = columns
        .iter()
        .filter(|c| {
            c.nulls == 0
                && c.rows > 1
                && matches!(
                    c.key,
                    KeyCheck::Checked {
                        duplicate_rows: 0,
                        ..
                    }
                )
        })
        .map(|c| vec![c.name.clone()])
        .collect::<Vec<_>>();
    // Pairs count only where no single column is a key.
    let candidate_keys = if candidate_keys.is_empty() {
        pair_keys
            .into_iter()
            .filter(|&((a, b), _)| columns[a].nulls == 0 && columns[b].nulls == 0)
            .filter_map(|((a, b), hashes)| {
                let d = hashes.duplicates().ok()?;
                (d.rows == 0).then(|| vec![columns[a].name.clone(), columns[b].name.clone()])
            })
            .collect()
    } else {
        candidate_keys
    };
    let (format, encoding) = match &input.source.format {
        SourceFormat::Parquet => ("parquet", None),
        SourceFormat::Csv(o) => ("csv", Some(o.encoding.name().to_string())),
    };
    Ok(Profile {
        format_version: FORMAT_VERSION,
        qc_version: env!("CARGO_PKG_VERSION").to_string(),
        profiled_at: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        table: input.table.table.clone(),
        source: SourceInfo {
            pattern: input.source.pattern.clone(),
            files: input
                .source
                .files
                .iter()
                .map(|f| f.display().to_string())
                .collect(),
            format: format.to_string(),
            encoding,
        },
        rows: well_formed + malformed.total,
        malformed,
        columns,
        candidate_keys,
        masked: options.mask,
        relations,
    })
}

/// The table's first rows, read by a plan of their own before the pass (a scan plan's
/// partitions are executed once): what decides which columns every worker relates and which
/// pairs it checks as keys. `None` for an empty table.
async fn sample(
    ctx: &SessionContext,
    provider: Arc<dyn datafusion::catalog::TableProvider>,
) -> datafusion::error::Result<Option<RecordBatch>> {
    let batches = ctx
        .read_table(provider)?
        .limit(0, Some(SAMPLE_ROWS))?
        .collect()
        .await?;
    let Some(schema) = batches.first().map(RecordBatch::schema) else {
        return Ok(None);
    };
    Ok(Some(arrow::compute::concat_batches(&schema, &batches)?))
}

/// Pairs of columns to check as keys, when the sample shows no column without NULLs or
/// duplicates: pairs of the [`KEY_PAIR_COLUMNS`] columns of most distinct values (at least
/// half as many as rows) whose values together are all different in the sample.
fn key_pairs(
    columns: &[BoundColumn],
    sample: &RecordBatch,
    well_formed: &[usize],
) -> Vec<(usize, usize)> {
    let n = well_formed.len();
    if n < 2 {
        return Vec::new();
    }
    let hashes: Vec<Option<Vec<u64>>> = columns
        .iter()
        .map(|c| {
            let a = sample.column_by_name(&c.name)?;
            (a.null_count() == 0).then(|| value_hashes(a))
        })
        .collect();
    let distinct =
        |h: &mut dyn Iterator<Item = u64>| h.collect::<std::collections::HashSet<u64>>().len();
    let mut ranked: Vec<(usize, usize)> = Vec::new();
    for (i, h) in hashes.iter().enumerate() {
        if let Some(h) = h {
            ranked.push((i, distinct(&mut well_formed.iter().map(|&r| h[r]))));
        }
    }
    if ranked.iter().any(|&(_, d)| d == n) {
        return Vec::new();
    }
    ranked.retain(|&(_, d)| d * 2 >= n);
    ranked.sort_by_key(|&(i, d)| (std::cmp::Reverse(d), i));
    ranked.truncate(KEY_PAIR_COLUMNS);
    let mut pairs = Vec::new();
    for (x, &(a, _)) in ranked.iter().enumerate() {
        for &(b, _) in &ranked[x + 1..] {
            let (ha, hb) = (hashes[a].as_ref(), hashes[b].as_ref());
            let (Some(ha), Some(hb)) = (ha, hb) else {
                continue;
            };
            let together = distinct(&mut well_formed.iter().map(|&r| pair_hash(ha[r], hb[r])));
            if together == n {
                pairs.push((a.min(b), a.max(b)));
            }
        }
    }
    pairs
}

/// Columns whose pairs are checked as keys, at most.
const KEY_PAIR_COLUMNS: usize = 3;

/// A hash per row of a column's values as text (NULL hashes as nothing written).
fn value_hashes(a: &ArrayRef) -> Vec<u64> {
    let cast = match a.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => None,
        _ => arrow::compute::cast(a, &DataType::Utf8View).ok(),
    };
    read::texts(cast.as_ref().unwrap_or(a)).map_or_else(
        || vec![0; a.len()],
        |t| {
            t.into_iter()
                .map(|v| sketch::hash(v.unwrap_or("").as_bytes()))
                .collect()
        },
    )
}

/// One hash of two values' hashes.
fn pair_hash(a: u64, b: u64) -> u64 {
    let mut bytes = [0; 16];
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..].copy_from_slice(&b.to_le_bytes());
    sketch::hash(&bytes)
}
/// `profile` as `profile.json`'s text.
pub fn to_json(profile: &Profile) -> Result<String> {
    serde_json::to_string_pretty(profile)
        .map_err(|e| Error::Internal(format!("profile as JSON: {e}")))
}

/// Read a `profile.json` written by `qc profile`.
pub fn read_json(path: &Path) -> Result<Profile> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    from_json(&text, path)
}

/// A profile from `profile.json`'s text (read from `origin`, for the error).
pub fn from_json(text: &str, origin: &Path) -> Result<Profile> {
    serde_json::from_str(text)
        .map_err(|e| Error::data(origin, format!("not a qc profile.json: {e}")))
}
