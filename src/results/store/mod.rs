//! The run history: an embedded SQLite file (default `qc.db` beside the output folder).
//!
//! A run is written in **one transaction** after its outputs are complete, so a run that fails
//! or is interrupted leaves no record at all, never a partial one. Concurrent runs wait for
//! each other's transaction (WAL journal, busy timeout). The schema is versioned with
//! `PRAGMA user_version`; [`MIGRATIONS`] bring any older file up to date.

mod load;
mod problems;
mod profiles;
mod reuse;
mod save;
mod schema;
mod trend;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::results::summary::TableSummary;
use crate::rules::pii::Pii;
pub use problems::{ProblemFilter, ProblemHistory, ProblemRow, StoredProblem};

/// The store's file name in the default output root `out/`.
pub const DEFAULT_FILE: &str = "qc.db";

/// The environment variable naming the run history when `--store` is not given.
pub const STORE_ENV: &str = "QC_STORE";

/// Where the run history is, the same for every subcommand: `--store` when given, else
/// `$QC_STORE`, else `out/qc.db` under the current folder (beside `qc run`'s default output
/// folders, wherever `--out` puts a run's files).
pub fn location(explicit: Option<&Path>) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_path_buf();
    }
    match std::env::var_os(STORE_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from("out").join(DEFAULT_FILE),
    }
}

/// The schema version this qc writes.
pub const SCHEMA_VERSION: usize = schema::MIGRATIONS.len();

/// What a run leaves in the store besides its summary.
#[derive(Debug, Clone, Default)]
pub struct RunExtras {
    /// The run date (`YYYY-MM-DD`): the month a report files the run under.
    pub as_of: String,
    pub out_dir: String,
    /// Per pack path: the file's SHA-256 and the library's scoring model (JSON).
    pub packs: BTreeMap<String, (String, String)>,
    /// Per `library.table` and rule id: the reason in Chinese and English, and the columns
    /// the rule reads.
    pub rules: BTreeMap<(String, String), RuleText>,
    /// A few anomalous records per `library.table` and rule.
    pub samples: Vec<Sample>,
    /// Per `library.table`: its key columns and its personal-data columns.
    pub tables: BTreeMap<String, TableText>,
    /// Per `library.table` audited: every record failing a rule, from its anomaly export.
    pub problems: crate::results::problems::Observations,
    /// Which records of the problems that did not fail again were delivered.
    pub presence: crate::results::problems::Presence,
    /// Per (library, table) audited: what the next run may reuse, or `None` to forget
    /// what an earlier run left.
    pub reuse: BTreeMap<(String, String), Option<crate::execute::reuse::TableState>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TableText {
    pub key: Vec<String>,
    /// The provider column, if the table has one.
    #[serde(default)]
    pub provider: Option<String>,
    pub pii: BTreeMap<String, Pii>,
}

impl TableText {
    /// A record's key as people see it: its key columns' `values` in order, joined by ` / `
    /// (`∅` for a missing one), each masked by its column's kind of personal data when
    /// `mask` is on.
    pub fn shown_key<'a>(
        &self,
        values: impl IntoIterator<Item = Option<&'a str>>,
        mask: bool,
    ) -> String {
        values
            .into_iter()
            .enumerate()
            .map(
                |(i, v)| match (v, self.key.get(i).and_then(|c| self.pii.get(c))) {
                    (None, _) => "∅".to_string(),
                    (Some(v), Some(kind)) if mask => kind.mask(v),
                    (Some(v), _) => v.to_string(),
                },
            )
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RuleText {
    pub reason_zh: String,
    pub reason_en: String,
    pub columns: Vec<String>,
}

/// One anomalous record kept as an example: its key and the values the rule read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub library: String,
    pub table: String,
    pub rule_id: String,
    pub provider: Option<String>,
    /// Column → value (as text; NULL as `None`), key columns first.
    pub record: Vec<(String, Option<String>)>,
}

/// One line of `qc runs`.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    pub id: String,
    pub started_at: String,
    pub finished_at: String,
    pub as_of: String,
    pub status: String,
    pub exit_code: u8,
    pub tables: u64,
    pub rows: u64,
    pub anomalous_rows: u64,
    /// The libraries the run audited, comma-separated.
    pub libraries: String,
    pub out_dir: String,
    pub label: Option<String>,
    /// Why the run was excluded from reports and feedback; `None` while it counts.
    pub excluded: Option<String>,
    pub official: bool,
}

/// What a person says of a run ([`Store::mark`]).
#[derive(Debug, Clone)]
pub enum Mark {
    Label(String),
    Exclude {
        reason: String,
    },
    /// Counted again after an exclusion.
    Include,
    Official,
}

/// A run as the store holds it: its tables (as in `summary.json`), scoring models and samples.
#[derive(Debug, Clone)]
pub struct StoredRun {
    pub id: String,
    pub started_at: String,
    pub as_of: String,
    pub out_dir: String,
    pub tables: Vec<TableSummary>,
    /// Library → scoring model (JSON as stored).
    pub scoring: BTreeMap<String, String>,
    /// `(library, table, rule id)` → reason and columns.
    pub rules: BTreeMap<(String, String, String), RuleText>,
    /// `library.table` → key and personal-data columns.
    pub table_texts: BTreeMap<String, TableText>,
    pub samples: Vec<Sample>,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

fn db_err(path: &Path, e: &rusqlite::Error) -> Error {
    Error::io(path, std::io::Error::other(format!("run history: {e}")))
}

/// A count or position as SQLite's integer.
fn int<T: TryInto<i64>>(n: T) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// A count as SQLite returns it (stored from a `u64`).
fn count(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, i64>(i)?.unsigned_abs())
}

/// The name serde gives a unit variant (`Verdict::Pass` → `pass`): how the store writes
/// verdicts, dimensions and severities, as `summary.json` does.
fn name_of<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Column `i` read as the variant serde names by its text ([`name_of`]'s inverse).
fn named<T: DeserializeOwned>(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    serde_json::from_value(serde_json::Value::String(text)).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

impl Store {
    /// A write transaction that takes the file's write lock at once (`IMMEDIATE`): a
    /// concurrent writer waits for it instead of failing half-way.
    fn write(&mut self) -> Result<rusqlite::Transaction<'_>> {
        self.conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| db_err(&self.path, &e))
    }

    /// Open (creating and migrating as needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let conn = Connection::open(path).map_err(|e| db_err(path, &e))?;
        conn.busy_timeout(Duration::from_mins(1))
            .map_err(|e| db_err(path, &e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| db_err(path, &e))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| db_err(path, &e))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the file.
    pub fn version(&self) -> Result<usize> {
        let v: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| db_err(&self.path, &e))?;
        Ok(usize::try_from(v).unwrap_or(0))
    }
}
