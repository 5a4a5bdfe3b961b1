//! Incremental runs: what a table's previous run leaves for the next one to reuse, and which
//! of its files the next run must read again.
//!
//! A run keeps, per table, its **basis** (a digest of everything that decides a row's verdict:
//! the compiled rules, the anomalous tuples of its set-based rules, the run date when a rule
//! reads it, the pack and its code lists, the qc binary) and, per source file, a
//! [`Fingerprint`] and that file's [`TableCounts`]. Its anomaly export is kept beside the run
//! history. A later run with the same basis reads only the files whose fingerprint changed or
//! that are new, adds the kept counts of the others, and carries their anomalous rows over
//! from the kept export: every figure and the export equal those of a full run.
//!
//! What it cannot vouch for it reads again: a table whose basis changed (a pack edit, a new
//! run date under `current_date()`, a duplicate that arrived in a new file and so changed a
//! `unique` rule's tuples, another build of qc) is read whole.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::counts::TableCounts;
use crate::error::{Error, Result};
use crate::plan::TablePlan;
use crate::plan::keyset::KeySet;

/// Bytes hashed at each end of a file for its [`Fingerprint`]: a Parquet file's footer (its
/// row groups' sizes and statistics) lies in the last ones, so a rewrite of any row group
/// changes them.
const ENDS: u64 = 64 * 1024;

/// What identifies a file's content without reading it whole: its size, modification time,
/// and a SHA-256 of its first and last 64 KiB (catching a rewrite in place that kept the
/// size and time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub size: u64,
    /// Modification time, nanoseconds since 1970 (0 when the system does not say).
    pub modified_ns: i64,
    /// SHA-256 of the first and the last 64 KiB, in hex.
    pub ends: String,
}

impl Fingerprint {
    /// The fingerprint of the file at `path` as it is now.
    pub fn of(path: &Path) -> Result<Fingerprint> {
        let io = |e| Error::io(path, e);
        let mut file = std::fs::File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        let size = meta.len();
        let modified_ns = modified_ns(&meta);
        let mut hash = Sha256::new();
        let mut buffer = vec![0u8; usize::try_from(ENDS.min(size)).unwrap_or(0)];
        file.read_exact(&mut buffer).map_err(io)?;
        hash.update(&buffer);
        if size > ENDS {
            let tail = ENDS.min(size - ENDS);
            file.seek(SeekFrom::End(-i64::try_from(tail).unwrap_or(0)))
                .map_err(io)?;
            buffer.resize(usize::try_from(tail).unwrap_or(0), 0);
            file.read_exact(&mut buffer).map_err(io)?;
            hash.update(&buffer);
        }
        Ok(Fingerprint {
            size,
            modified_ns,
            ends: crate::values::hex(&hash.finalize()),
        })
    }
}

/// A file's modification time in nanoseconds since 1970, 0 when the system does not say.
fn modified_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
        .unwrap_or(0)
}

/// Files' fingerprints by their scan names.
pub type Fingerprints = HashMap<String, Fingerprint>;

/// One source file's part of a table's audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilePart {
    /// The file as the scan names it (the anomaly export's `qc_source_file`).
    pub file: String,
    pub fingerprint: Fingerprint,
    pub counts: TableCounts,
    /// What the file holds under each `unique` rule (for the next run's set engine).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<FileKeys>,
}

/// A file's part of a `unique` rule: its sorted key hashes, kept in a file of their own, and
/// the tuples of its rows whose hash was seen more than once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileKeys {
    /// The rule's id.
    pub rule: String,
    /// The digest of the rule's key columns and applicability (its hashes hold under it).
    pub basis: String,
    /// The kept hash list's name in the kept folder's `keys/`.
    pub hashes: Option<String>,
    /// Per candidate hash: its tuples (the key set's row format, in hex) and the file's rows
    /// holding each.
    pub candidates: Vec<(u64, Vec<(String, u64)>)>,
}

/// What a table's run leaves for the next: the basis its verdicts hold under, its kept
/// anomaly export (with the export's own fingerprint), and each file's part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableState {
    pub basis: String,
    pub export: Option<(PathBuf, Fingerprint)>,
    pub files: Vec<FilePart>,
}

/// Why a table was read whole rather than in part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadWhole {
    /// The run history has no earlier run of the table to reuse.
    NoHistory,
    /// `qc run --full`.
    Forced,
    /// The rules, the pack, its code lists, the run date a rule reads, or qc itself changed.
    RulesChanged,
    /// A set-based rule's anomalous tuples changed (a new or changed file added or removed
    /// a duplicate or a dangling value): every row's verdict under it may have changed.
    SetsChanged,
    /// The kept anomaly export is missing or was changed.
    ExportMissing,
    /// A cluster run: executors report no per-file counts.
    Cluster,
}

/// What a table's run read and reused (`summary.json`'s `reuse`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reuse {
    pub files_read: u64,
    pub rows_read: u64,
    pub files_reused: u64,
    pub rows_reused: u64,
    /// Files of the previous run no longer in the source.
    pub files_dropped: u64,
    /// Why every file was read, when none was reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_whole: Option<ReadWhole>,
}

/// The basis of a table's verdicts, in two digests: of the rules (`seed`: the pack, its code
/// lists and the qc binary; the compiled plan; the run date when the plan reads it), and of
/// the set-based rules' anomalous tuples. Rules whose tuples are judged per file (`keyed`)
/// are left out of the second digest: their changes reach the pass as the files they touch.
pub fn basis(
    seed: &str,
    plan: &TablePlan,
    sets: &[Option<std::sync::Arc<KeySet>>],
    keyed: &[bool],
    as_of: i64,
) -> (String, String) {
    let rules = digest(
        seed,
        plan.projection
            .iter()
            .map(ToString::to_string)
            .chain(plan.needed.iter().cloned()),
        as_of,
    );
    let mut keys = Sha256::new();
    for (i, set) in sets.iter().enumerate() {
        if let Some(set) = set
            .as_ref()
            .filter(|_| !keyed.get(i).copied().unwrap_or(false))
        {
            keys.update((i as u64).to_le_bytes());
            for t in set.tuples() {
                keys.update((t.len() as u64).to_le_bytes());
                keys.update(t);
            }
        }
    }
    (rules, crate::values::hex(&keys.finalize()))
}

/// Whether an expression's text calls the run date or the clock.
fn reads_the_date(text: &str) -> bool {
    [
        "current_date(",
        "now(",
        "current_time(",
        "today(",
        "qc_as_of(",
    ]
    .iter()
    .any(|f| text.contains(f))
}

/// The seed of a pack's tables' bases: the pack (with what it includes), every file of its
/// `codelists/` folder, and the qc binary (its size and modification time: the built-in
/// code lists and functions are compiled in).
pub fn seed(pack_sha256: &str, pack_dir: &Path) -> String {
    let mut hash = Sha256::new();
    hash.update(pack_sha256.as_bytes());
    let lists = pack_dir.join("codelists");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&lists)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for f in files {
        hash.update(
            f.file_name()
                .map(std::ffi::OsStr::as_encoded_bytes)
                .unwrap_or_default(),
        );
        hash.update(std::fs::read(&f).unwrap_or_default());
    }
    if let Some(meta) = std::env::current_exe()
        .ok()
        .and_then(|exe| std::fs::metadata(exe).ok())
    {
        hash.update(meta.len().to_le_bytes());
        hash.update(modified_ns(&meta).to_le_bytes());
    }
    crate::values::hex(&hash.finalize())
}

/// How a table is to be read this run.
#[derive(Debug, Default)]
pub struct Plan {
    /// Files to read, in source order.
    pub read: Vec<PathBuf>,
    /// Files whose previous part holds.
    pub reused: Vec<FilePart>,
    /// Every current file's fingerprint, by its name in the scan.
    pub fingerprints: Fingerprints,
    /// The previous export to carry the reused files' anomalous rows from.
    pub carry: Option<PathBuf>,
    pub files_dropped: u64,
    pub read_whole: Option<ReadWhole>,
}

/// Decide which of `files` to read, given the previous state and this run's basis.
/// `touched`: files whose rows' verdicts under a `unique` rule changed.
pub fn plan(
    files: &[PathBuf],
    fingerprints: Fingerprints,
    previous: Option<&TableState>,
    basis: &(String, String),
    touched: &std::collections::BTreeSet<String>,
    full: bool,
) -> Plan {
    let mut plan = Plan {
        fingerprints,
        ..Plan::default()
    };
    let why = match previous {
        _ if full => Some(ReadWhole::Forced),
        None => Some(ReadWhole::NoHistory),
        Some(p) if !p.basis.starts_with(&basis.0) => Some(ReadWhole::RulesChanged),
        Some(p) if !p.basis.ends_with(&basis.1) => Some(ReadWhole::SetsChanged),
        Some(p) => match &p.export {
            Some((path, kept)) if Fingerprint::of(path).ok().as_ref() != Some(kept) => {
                Some(ReadWhole::ExportMissing)
            }
            _ => None,
        },
    };
    let previous = match (why, previous) {
        (None, Some(p)) => p,
        (why, _) => {
            plan.read = files.to_vec();
            plan.read_whole = why;
            return plan;
        }
    };
    let kept: BTreeMap<&str, &FilePart> = previous
        .files
        .iter()
        .map(|p| (p.file.as_str(), p))
        .collect();
    for f in files {
        let name = crate::scan::file_name(f);
        match kept.get(name.as_str()) {
            Some(part)
                if Some(&part.fingerprint) == plan.fingerprints.get(&name)
                    && !touched.contains(&name) =>
            {
                plan.reused.push((*part).clone());
            }
            _ => plan.read.push(f.clone()),
        }
    }
    plan.files_dropped = previous
        .files
        .iter()
        .filter(|p| !plan.fingerprints.contains_key(&p.file))
        .count() as u64;
    if !plan.reused.is_empty() {
        plan.carry = previous.export.as_ref().map(|(p, _)| p.clone());
    }
    plan
}

/// The fingerprint of each of `files`, by scan name.
pub fn fingerprints(files: &[PathBuf]) -> Result<Fingerprints> {
    files
        .iter()
        .map(|f| Ok((crate::scan::file_name(f), Fingerprint::of(f)?)))
        .collect()
}

/// A table's full basis as stored: the rules' digest then the tuples'.
pub fn joined(basis: &(String, String)) -> String {
    format!("{}{}", basis.0, basis.1)
}

/// A digest of `seed` and `texts`, with the run date when one of them reads it.
pub fn digest(seed: &str, texts: impl IntoIterator<Item = String>, as_of: i64) -> String {
    let mut hash = Sha256::new();
    hash.update(seed.as_bytes());
    let mut dated = false;
    for t in texts {
        dated |= reads_the_date(&t);
        hash.update((t.len() as u64).to_le_bytes());
        hash.update(t.as_bytes());
    }
    if dated {
        hash.update(as_of.to_le_bytes());
    }
    crate::values::hex(&hash.finalize())
}

/// What a run knows of a table before auditing it: the seed of its basis, the state its
/// previous run left, and whether `--full` was given.
#[derive(Debug, Clone, Default)]
pub struct Incremental {
    pub seed: String,
    pub previous: Option<TableState>,
    pub full: bool,
    /// The folder kept between runs beside the run history; `None` keeps nothing.
    pub dir: Option<PathBuf>,
}

/// Send the anomalous rows of `files` from the kept export at `path` to `tx`; the number of
/// rows sent. The export's schema must be `schema` (the same basis makes the same columns).
pub fn carry(
    path: &Path,
    files: &std::collections::HashSet<String, impl std::hash::BuildHasher>,
    schema: &arrow::datatypes::SchemaRef,
    tx: &super::export::AnomalySender,
) -> Result<u64> {
    use arrow::array::{AsArray, BooleanArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let damaged =
        |e: &dyn std::fmt::Display| Error::data(path, format!("kept anomaly export: {e}"));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| damaged(&e))?
        .build()
        .map_err(|e| damaged(&e))?;
    let at = schema
        .index_of(super::export::SOURCE_FILE)
        .map_err(|e| damaged(&e))?;
    let mut sent = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| damaged(&e))?;
        if batch.schema().fields() != schema.fields() {
            return Err(damaged(&"its columns differ from this run's export"));
        }
        let names = batch
            .column(at)
            .as_string_opt::<i32>()
            .ok_or_else(|| damaged(&format!("{} is not text", super::export::SOURCE_FILE)))?;
        let keep: BooleanArray = names
            .iter()
            .map(|n| Some(n.is_some_and(|n| files.contains(n))))
            .collect();
        let kept = arrow::compute::filter_record_batch(&batch, &keep).map_err(|e| damaged(&e))?;
        if kept.num_rows() == 0 {
            continue;
        }
        sent += kept.num_rows() as u64;
        let batch = arrow::record_batch::RecordBatch::try_new(
            std::sync::Arc::clone(schema),
            kept.columns().to_vec(),
        )
        .map_err(|e| damaged(&e))?;
        tx.blocking_send(batch)
            .map_err(|_| Error::Internal("anomaly writer stopped early".into()))?;
    }
    Ok(sent)
}
