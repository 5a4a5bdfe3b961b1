//! The run history: an embedded SQLite file (default `qc.db` beside the output folder).
//!
//! A run is written in **one transaction** after its outputs are complete, so a run that fails
//! or is interrupted leaves no record at all, never a partial one. Concurrent runs wait for
//! each other's transaction (WAL journal, busy timeout). The schema is versioned with
//! `PRAGMA user_version`; [`MIGRATIONS`] bring any older file up to date.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::results::mask::Pii;
use crate::results::summary::{
    ProviderRule, ProviderSummary, RuleSummary, RunSummary, TableCheckSummary, TableSummary,
    Verdict,
};
use crate::rules::Threshold;

/// The store's file name when `--store` is not given: beside the output folder.
pub const DEFAULT_FILE: &str = "qc.db";

/// The schema version this qc writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Schema migrations, in order; migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: [&str; 3] = [
    r"
CREATE TABLE run (
    id          TEXT PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    as_of       TEXT NOT NULL,
    qc_version  TEXT NOT NULL,
    threads     INTEGER NOT NULL,
    status      TEXT NOT NULL,
    exit_code   INTEGER NOT NULL,
    out_dir     TEXT NOT NULL
);
CREATE TABLE run_pack (
    run_id       TEXT NOT NULL REFERENCES run(id),
    path         TEXT NOT NULL,
    library      TEXT NOT NULL,
    library_name TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    scoring      TEXT NOT NULL
);
CREATE TABLE run_table (
    run_id         TEXT NOT NULL REFERENCES run(id),
    library        TEXT NOT NULL,
    library_name   TEXT NOT NULL,
    table_name     TEXT NOT NULL,
    title          TEXT NOT NULL,
    format         TEXT NOT NULL,
    rows           INTEGER NOT NULL,
    anomalous_rows INTEGER NOT NULL,
    verdict        TEXT NOT NULL,
    anomalies_file TEXT,
    elapsed_ms     INTEGER NOT NULL,
    key_columns    TEXT NOT NULL, -- [key columns, provider column]
    pii            TEXT NOT NULL,
    PRIMARY KEY (run_id, library, table_name)
);
CREATE TABLE run_rule (
    run_id          TEXT NOT NULL REFERENCES run(id),
    library         TEXT NOT NULL,
    table_name      TEXT NOT NULL,
    position        INTEGER NOT NULL,
    rule_id         TEXT NOT NULL,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    dimension       TEXT NOT NULL,
    severity        TEXT NOT NULL,
    builtin         INTEGER NOT NULL,
    applicable_rows INTEGER NOT NULL,
    failed_rows     INTEGER NOT NULL,
    threshold       TEXT NOT NULL,
    verdict         TEXT NOT NULL,
    reason_zh       TEXT NOT NULL,
    reason_en       TEXT NOT NULL,
    columns         TEXT NOT NULL,
    PRIMARY KEY (run_id, library, table_name, rule_id)
);
CREATE TABLE run_provider (
    run_id         TEXT NOT NULL REFERENCES run(id),
    library        TEXT NOT NULL,
    table_name     TEXT NOT NULL,
    provider       TEXT,
    rows           INTEGER NOT NULL,
    anomalous_rows INTEGER NOT NULL
);
CREATE TABLE run_provider_rule (
    run_id          TEXT NOT NULL REFERENCES run(id),
    library         TEXT NOT NULL,
    table_name      TEXT NOT NULL,
    provider        TEXT,
    rule_id         TEXT NOT NULL,
    applicable_rows INTEGER NOT NULL,
    failed_rows     INTEGER NOT NULL
);
CREATE TABLE run_table_check (
    run_id     TEXT NOT NULL REFERENCES run(id),
    library    TEXT NOT NULL,
    table_name TEXT NOT NULL,
    position   INTEGER NOT NULL,
    check_id   TEXT NOT NULL,
    name       TEXT NOT NULL,
    dimension  TEXT NOT NULL,
    severity   TEXT NOT NULL,
    measured   TEXT NOT NULL,
    verdict    TEXT NOT NULL
);
CREATE TABLE run_sample (
    run_id     TEXT NOT NULL REFERENCES run(id),
    library    TEXT NOT NULL,
    table_name TEXT NOT NULL,
    rule_id    TEXT NOT NULL,
    provider   TEXT,
    record     TEXT NOT NULL
);
CREATE INDEX run_as_of ON run(as_of);
CREATE INDEX run_table_by_name ON run_table(library, table_name);
",
    // 2: scores recorded with each run.
    r"
CREATE TABLE run_score (
    run_id     TEXT NOT NULL REFERENCES run(id),
    scope      TEXT NOT NULL,  -- library | table | provider
    library    TEXT NOT NULL,
    table_name TEXT,           -- scope table
    provider   TEXT,           -- scope provider (over the library's tables)
    dimension  TEXT NOT NULL,  -- English dimension name, or total
    score      REAL NOT NULL
);
",
    // 3: runs with damaged files left out under --keep-going (run.status 'partial').
    r"
CREATE TABLE run_left_out (
    run_id     TEXT NOT NULL REFERENCES run(id),
    library    TEXT NOT NULL,
    table_name TEXT NOT NULL,
    file       TEXT NOT NULL,
    reason     TEXT NOT NULL
);
",
];

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
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TableText {
    pub key: Vec<String>,
    /// The provider column, if the table has one.
    #[serde(default)]
    pub provider: Option<String>,
    pub pii: BTreeMap<String, Pii>,
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

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Warn => "warn",
        Verdict::Fail => "fail",
        Verdict::Skipped => "skipped",
    }
}

fn verdict_of(s: &str) -> Verdict {
    match s {
        "warn" => Verdict::Warn,
        "fail" => Verdict::Fail,
        "skipped" => Verdict::Skipped,
        _ => Verdict::Pass,
    }
}

impl Store {
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

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| db_err(&path, &e))?;
        let current: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| db_err(&path, &e))?;
        let current = usize::try_from(current).unwrap_or(0);
        if current > MIGRATIONS.len() {
            return Err(Error::Usage(format!(
                "{}: run history schema version {current} is newer than this qc knows ({}); use a newer qc",
                path.display(),
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
            tx.execute_batch(sql).map_err(|e| db_err(&path, &e))?;
            tx.pragma_update(
                None,
                "user_version",
                i64::try_from(i + 1).unwrap_or(i64::MAX),
            )
            .map_err(|e| db_err(&path, &e))?;
        }
        tx.commit().map_err(|e| db_err(&path, &e))
    }

    /// Record a complete run, in one transaction.
    pub fn save(&mut self, summary: &RunSummary, extras: &RunExtras) -> Result<()> {
        let path = self.path.clone();
        let e = |e: rusqlite::Error| db_err(&path, &e);
        let json = |v: &dyn erased::Json| v.json();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(e)?;
        tx.execute(
            "INSERT INTO run (id, started_at, finished_at, as_of, qc_version, threads, status, \
             exit_code, out_dir) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                summary.run_id,
                summary.started_at,
                summary.finished_at,
                extras.as_of,
                summary.qc_version,
                int(summary.threads),
                if summary.status == "partial" {
                    "partial"
                } else {
                    "complete"
                },
                summary.exit_code,
                extras.out_dir
            ],
        )
        .map_err(e)?;
        for p in &summary.packs {
            let (sha, scoring) = extras.packs.get(&p.path).cloned().unwrap_or_default();
            tx.execute(
                "INSERT INTO run_pack VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    summary.run_id,
                    p.path,
                    p.library,
                    p.library_name,
                    sha,
                    scoring
                ],
            )
            .map_err(e)?;
        }
        for t in &summary.tables {
            let qualified = format!("{}.{}", t.library, t.name);
            let table_text = extras.tables.get(&qualified).cloned().unwrap_or_default();
            tx.execute(
                "INSERT INTO run_table VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    summary.run_id,
                    t.library,
                    t.library_name,
                    t.name,
                    t.title,
                    t.format,
                    int(t.rows),
                    int(t.anomalous_rows),
                    verdict_name(t.verdict),
                    t.anomalies_file,
                    int(t.elapsed_ms),
                    json(&(&table_text.key, &table_text.provider)),
                    json(&table_text.pii)
                ],
            )
            .map_err(e)?;
            for f in &t.left_out_files {
                tx.execute(
                    "INSERT INTO run_left_out VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        summary.run_id,
                        t.library,
                        t.name,
                        f.file.to_string_lossy(),
                        f.reason
                    ],
                )
                .map_err(e)?;
            }
            for (i, r) in t.rules.iter().enumerate() {
                let text = extras
                    .rules
                    .get(&(qualified.clone(), r.id.clone()))
                    .cloned()
                    .unwrap_or_default();
                tx.execute(
                    "INSERT INTO run_rule VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, \
                     ?12, ?13, ?14, ?15, ?16, ?17)",
                    params![
                        summary.run_id,
                        t.library,
                        t.name,
                        int(i),
                        r.id,
                        r.name,
                        r.kind,
                        r.dimension,
                        r.severity,
                        r.builtin,
                        int(r.applicable_rows),
                        int(r.failed_rows),
                        json(&r.threshold),
                        verdict_name(r.verdict),
                        text.reason_zh,
                        text.reason_en,
                        json(&text.columns)
                    ],
                )
                .map_err(e)?;
            }
            for p in &t.providers {
                tx.execute(
                    "INSERT INTO run_provider VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        summary.run_id,
                        t.library,
                        t.name,
                        p.provider,
                        int(p.rows),
                        int(p.anomalous_rows)
                    ],
                )
                .map_err(e)?;
                for r in &p.rules {
                    tx.execute(
                        "INSERT INTO run_provider_rule VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![
                            summary.run_id,
                            t.library,
                            t.name,
                            p.provider,
                            r.id,
                            int(r.applicable_rows),
                            int(r.failed_rows)
                        ],
                    )
                    .map_err(e)?;
                }
            }
            for (i, c) in t.table_checks.iter().enumerate() {
                tx.execute(
                    "INSERT INTO run_table_check VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        summary.run_id,
                        t.library,
                        t.name,
                        int(i),
                        c.id,
                        c.name,
                        c.dimension,
                        c.severity,
                        json(&c.measured),
                        verdict_name(c.verdict)
                    ],
                )
                .map_err(e)?;
            }
        }
        for (scope, library, table, provider, dimension, score) in scores(summary, extras) {
            tx.execute(
                "INSERT INTO run_score VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    summary.run_id,
                    scope,
                    library,
                    table,
                    provider,
                    dimension,
                    score
                ],
            )
            .map_err(e)?;
        }
        for s in &extras.samples {
            tx.execute(
                "INSERT INTO run_sample VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    summary.run_id,
                    s.library,
                    s.table,
                    s.rule_id,
                    s.provider,
                    json(&s.record)
                ],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)
    }

    /// Complete runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRow>> {
        let e = |e: rusqlite::Error| db_err(&self.path, &e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.id, r.started_at, r.finished_at, r.as_of, r.status, r.exit_code, \
                 count(t.table_name), coalesce(sum(t.rows), 0), coalesce(sum(t.anomalous_rows), 0) \
                 FROM run r LEFT JOIN run_table t ON t.run_id = r.id \
                 WHERE r.status IN ('complete', 'partial') GROUP BY r.id \
                 ORDER BY r.started_at DESC, r.rowid DESC LIMIT ?1",
            )
            .map_err(e)?;
        let rows = stmt
            .query_map([int(limit)], |r| {
                Ok(RunRow {
                    id: r.get(0)?,
                    started_at: r.get(1)?,
                    finished_at: r.get(2)?,
                    as_of: r.get(3)?,
                    status: r.get(4)?,
                    exit_code: r.get(5)?,
                    tables: r.get::<_, i64>(6)?.unsigned_abs(),
                    rows: r.get::<_, i64>(7)?.unsigned_abs(),
                    anomalous_rows: r.get::<_, i64>(8)?.unsigned_abs(),
                })
            })
            .map_err(e)?;
        rows.collect::<std::result::Result<_, _>>().map_err(e)
    }

    /// Rows of `library.table` in the latest complete run dated before `as_of` (or on it,
    /// started no later than `started_at`: the asking run is not stored yet, so a run
    /// stored within the same second is an earlier one).
    pub fn previous_rows(
        &self,
        library: &str,
        table: &str,
        as_of: &str,
        started_at: &str,
    ) -> Result<Option<u64>> {
        self.conn
            .query_row(
                "SELECT t.rows FROM run_table t JOIN run r ON r.id = t.run_id \
                 WHERE r.status = 'complete' AND t.library = ?1 AND t.table_name = ?2 \
                   AND (r.as_of < ?3 OR (r.as_of = ?3 AND r.started_at <= ?4)) \
                 ORDER BY r.as_of DESC, r.started_at DESC LIMIT 1",
                params![library, table, as_of, started_at],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|v| v.map(i64::unsigned_abs))
            .map_err(|e| db_err(&self.path, &e))
    }

    /// The id of the newest complete run.
    pub fn latest_run(&self) -> Result<Option<String>> {
        Ok(self.runs(1)?.into_iter().next().map(|r| r.id))
    }

    /// Per library: the id of its latest complete run dated within `[from, to]`
    /// (`YYYY-MM-DD`).
    pub fn latest_per_library(&self, from: &str, to: &str) -> Result<BTreeMap<String, String>> {
        let e = |e: rusqlite::Error| db_err(&self.path, &e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT t.library, r.id, r.as_of, r.started_at, r.rowid \
                 FROM run r JOIN run_table t ON t.run_id = r.id \
                 WHERE r.status = 'complete' AND r.as_of >= ?1 AND r.as_of <= ?2 \
                 ORDER BY r.as_of, r.started_at, r.rowid",
            )
            .map_err(e)?;
        let rows = stmt
            .query_map(params![from, to], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(e)?;
        let mut latest = BTreeMap::new();
        for row in rows {
            let (library, id) = row.map_err(e)?;
            // Oldest first: the last one seen is the latest.
            latest.insert(library, id);
        }
        Ok(latest)
    }

    /// Everything the store holds about run `id`.
    pub fn load(&self, id: &str) -> Result<StoredRun> {
        let e = |e: rusqlite::Error| db_err(&self.path, &e);
        let (started_at, as_of, out_dir): (String, String, String) = self
            .conn
            .query_row(
                "SELECT started_at, as_of, out_dir FROM run \
                 WHERE id = ?1 AND status IN ('complete', 'partial')",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(e)?
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{}: no complete run `{id}` (see `qc runs`)",
                    self.path.display()
                ))
            })?;
        let mut scoring = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT library, scoring FROM run_pack WHERE run_id = ?1")
            .map_err(e)?;
        for row in stmt
            .query_map([id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(e)?
        {
            let (l, s) = row.map_err(e)?;
            scoring.insert(l, s);
        }
        let mut tables = Vec::new();
        let mut rules_text = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT library, library_name, table_name, title, format, rows, anomalous_rows, \
                 verdict, anomalies_file, elapsed_ms, key_columns, pii FROM run_table \
                 WHERE run_id = ?1 ORDER BY rowid",
            )
            .map_err(e)?;
        let mut table_texts = BTreeMap::new();
        let heads: Vec<TableSummary> = stmt
            .query_map([id], |r| {
                let (key, provider): (Vec<String>, Option<String>) =
                    serde_json::from_str(&r.get::<_, String>(10)?).unwrap_or_default();
                let text = TableText {
                    key,
                    provider,
                    pii: serde_json::from_str(&r.get::<_, String>(11)?).unwrap_or_default(),
                };
                table_texts.insert(
                    format!("{}.{}", r.get::<_, String>(0)?, r.get::<_, String>(2)?),
                    text,
                );
                let rows = r.get::<_, i64>(5)?.unsigned_abs();
                let anomalous = r.get::<_, i64>(6)?.unsigned_abs();
                Ok(TableSummary {
                    library: r.get(0)?,
                    library_name: r.get(1)?,
                    name: r.get(2)?,
                    title: r.get(3)?,
                    format: r.get(4)?,
                    files: Vec::new(),
                    rows,
                    anomalous_rows: anomalous,
                    passed_rows: rows - anomalous.min(rows),
                    pass_rate: crate::results::summary::pass_rate(rows - anomalous.min(rows), rows),
                    verdict: verdict_of(&r.get::<_, String>(7)?),
                    table_checks: Vec::new(),
                    skipped_rules: Vec::new(),
                    left_out_files: Vec::new(),
                    anomalies_file: r.get(8)?,
                    elapsed_ms: r.get::<_, i64>(9)?.unsigned_abs(),
                    rules: Vec::new(),
                    providers: Vec::new(),
                })
            })
            .map_err(e)?
            .collect::<std::result::Result<_, _>>()
            .map_err(e)?;
        for mut t in heads {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT file, reason FROM run_left_out \
                     WHERE run_id = ?1 AND library = ?2 AND table_name = ?3 ORDER BY rowid",
                )
                .map_err(e)?;
            t.left_out_files = stmt
                .query_map([id, &t.library, &t.name], |r| {
                    Ok(crate::rules::bind::LeftOutFile {
                        file: PathBuf::from(r.get::<_, String>(0)?),
                        reason: r.get(1)?,
                    })
                })
                .map_err(e)?
                .collect::<std::result::Result<_, _>>()
                .map_err(e)?;
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT rule_id, name, kind, dimension, severity, builtin, applicable_rows, \
                     failed_rows, threshold, verdict, reason_zh, reason_en, columns \
                     FROM run_rule WHERE run_id = ?1 AND library = ?2 AND table_name = ?3 \
                     ORDER BY position",
                )
                .map_err(e)?;
            for row in stmt
                .query_map(params![id, t.library, t.name], |r| {
                    let applicable = r.get::<_, i64>(6)?.unsigned_abs();
                    let failed = r.get::<_, i64>(7)?.unsigned_abs();
                    let threshold: String = r.get(8)?;
                    let text = RuleText {
                        reason_zh: r.get(10)?,
                        reason_en: r.get(11)?,
                        columns: serde_json::from_str(&r.get::<_, String>(12)?).unwrap_or_default(),
                    };
                    Ok((
                        RuleSummary {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            kind: r.get(2)?,
                            dimension: r.get(3)?,
                            severity: r.get(4)?,
                            builtin: r.get(5)?,
                            applicable_rows: applicable,
                            failed_rows: failed,
                            failed_rate: crate::results::summary::rate(failed, applicable),
                            threshold: serde_json::from_str::<Threshold>(&threshold)
                                .unwrap_or_default(),
                            verdict: verdict_of(&r.get::<_, String>(9)?),
                            anomalous_keys: None,
                        },
                        text,
                    ))
                })
                .map_err(e)?
            {
                let (rule, text) = row.map_err(e)?;
                rules_text.insert((t.library.clone(), t.name.clone(), rule.id.clone()), text);
                t.rules.push(rule);
            }
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT provider, rows, anomalous_rows FROM run_provider \
                     WHERE run_id = ?1 AND library = ?2 AND table_name = ?3 ORDER BY rowid",
                )
                .map_err(e)?;
            let providers: Vec<(Option<String>, u64, u64)> = stmt
                .query_map(params![id, t.library, t.name], |r| {
                    Ok((
                        r.get(0)?,
                        r.get::<_, i64>(1)?.unsigned_abs(),
                        r.get::<_, i64>(2)?.unsigned_abs(),
                    ))
                })
                .map_err(e)?
                .collect::<std::result::Result<_, _>>()
                .map_err(e)?;
            for (provider, rows, anomalous) in providers {
                let mut stmt = self
                    .conn
                    .prepare(
                        "SELECT rule_id, applicable_rows, failed_rows FROM run_provider_rule \
                         WHERE run_id = ?1 AND library = ?2 AND table_name = ?3 \
                           AND provider IS ?4 ORDER BY rowid",
                    )
                    .map_err(e)?;
                let rules = stmt
                    .query_map(params![id, t.library, t.name, provider], |r| {
                        Ok(ProviderRule {
                            id: r.get(0)?,
                            applicable_rows: r.get::<_, i64>(1)?.unsigned_abs(),
                            failed_rows: r.get::<_, i64>(2)?.unsigned_abs(),
                        })
                    })
                    .map_err(e)?
                    .collect::<std::result::Result<_, _>>()
                    .map_err(e)?;
                t.providers.push(ProviderSummary {
                    provider,
                    rows,
                    anomalous_rows: anomalous,
                    passed_rows: rows - anomalous.min(rows),
                    rules,
                });
            }
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT check_id, name, dimension, severity, measured, verdict \
                     FROM run_table_check WHERE run_id = ?1 AND library = ?2 AND table_name = ?3 \
                     ORDER BY position",
                )
                .map_err(e)?;
            for row in stmt
                .query_map(params![id, t.library, t.name], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                })
                .map_err(e)?
            {
                let (cid, name, dimension, severity, measured, verdict) = row.map_err(e)?;
                if let Ok(measured) = serde_json::from_str(&measured) {
                    t.table_checks.push(TableCheckSummary {
                        id: cid,
                        name,
                        dimension,
                        severity,
                        measured,
                        verdict: verdict_of(&verdict),
                    });
                }
            }
            tables.push(t);
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT library, table_name, rule_id, provider, record FROM run_sample \
                 WHERE run_id = ?1 ORDER BY rowid",
            )
            .map_err(e)?;
        let samples = stmt
            .query_map([id], |r| {
                Ok(Sample {
                    library: r.get(0)?,
                    table: r.get(1)?,
                    rule_id: r.get(2)?,
                    provider: r.get(3)?,
                    record: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default(),
                })
            })
            .map_err(e)?
            .collect::<std::result::Result<_, _>>()
            .map_err(e)?;
        Ok(StoredRun {
            id: id.to_string(),
            started_at,
            as_of,
            out_dir,
            tables,
            scoring,
            rules: rules_text,
            table_texts,
            samples,
        })
    }
}

/// JSON text of a serializable value, for the store's JSON columns.
mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }

    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

/// One stored score: scope, library, table, provider, dimension (or `total`), score.
type ScoreRow = (
    &'static str,
    String,
    Option<String>,
    Option<String>,
    String,
    f64,
);

/// Every score of the run, by the library's scoring model (recorded with the run, so these
/// can be recomputed from the store's counts).
fn scores(summary: &RunSummary, extras: &RunExtras) -> Vec<ScoreRow> {
    use crate::results::score::{Score, ScoringModel, library_score, provider_scores, table_score};
    let mut out = Vec::new();
    let mut push =
        |scope, library: &str, table: Option<&str>, provider: Option<&str>, s: &Score| {
            let row = |dimension: String, score: f64| {
                (
                    scope,
                    library.to_string(),
                    table.map(str::to_string),
                    provider.map(str::to_string),
                    dimension,
                    score,
                )
            };
            if let Some(total) = s.total {
                out.push(row("total".into(), total));
            }
            for (d, v) in &s.dimensions {
                out.push(row(d.clone(), *v));
            }
        };
    for p in &summary.packs {
        let model: ScoringModel = extras
            .packs
            .get(&p.path)
            .and_then(|(_, m)| serde_json::from_str(m).ok())
            .unwrap_or_default();
        let tables: Vec<&TableSummary> = summary
            .tables
            .iter()
            .filter(|t| t.library == p.library)
            .collect();
        push(
            "library",
            &p.library,
            None,
            None,
            &library_score(&model, &tables),
        );
        for t in &tables {
            push(
                "table",
                &p.library,
                Some(&t.name),
                None,
                &table_score(&model, t),
            );
        }
        for (provider, (_, _, s)) in provider_scores(&model, &tables) {
            push("provider", &p.library, None, provider.as_deref(), &s);
        }
    }
    out
}

/// Samples kept per rule and table.
pub const SAMPLES_PER_RULE: usize = 3;

impl RunExtras {
    /// What the store keeps besides the summary, from the bound packs and the run's outputs.
    pub fn collect(
        packs: &[crate::rules::bind::BoundPack],
        summary: &RunSummary,
        out_dir: &Path,
        as_of: &str,
    ) -> Result<RunExtras> {
        use sha2::{Digest, Sha256};
        let mut extras = RunExtras {
            as_of: as_of.to_string(),
            out_dir: out_dir.display().to_string(),
            ..RunExtras::default()
        };
        for p in packs {
            let bytes = std::fs::read(&p.path).map_err(|e| Error::io(&p.path, e))?;
            let sha =
                Sha256::digest(&bytes)
                    .iter()
                    .fold(String::with_capacity(64), |mut hex, b| {
                        use std::fmt::Write as _;
                        let _ = write!(hex, "{b:02x}");
                        hex
                    });
            let scoring = serde_json::to_string(&p.scoring).unwrap_or_default();
            extras
                .packs
                .insert(p.path.display().to_string(), (sha, scoring));
            for t in &p.tables {
                let qualified = t.qualified_name();
                for r in &t.rules {
                    extras.rules.insert(
                        (qualified.clone(), r.id.clone()),
                        RuleText {
                            reason_zh: r.reason.0.clone(),
                            reason_en: r.reason.1.clone(),
                            columns: r.columns.clone(),
                        },
                    );
                }
                extras.tables.insert(
                    qualified.clone(),
                    TableText {
                        key: t.key.clone(),
                        provider: t.provider.clone(),
                        pii: t
                            .columns
                            .iter()
                            .filter_map(|c| c.pii.map(|p| (c.name.clone(), p)))
                            .collect(),
                    },
                );
                let Some(file) = summary
                    .tables
                    .iter()
                    .find(|s| s.library == t.library.id && s.name == t.name)
                    .and_then(|s| s.anomalies_file.as_ref())
                else {
                    continue;
                };
                extras
                    .samples
                    .extend(samples(t, &out_dir.join(file), SAMPLES_PER_RULE)?);
            }
        }
        Ok(extras)
    }
}

/// Up to `per_rule` anomalous records per rule of `table`, from its anomaly export: the key
/// columns and the columns the rule reads.
fn samples(
    table: &crate::rules::bind::BoundTable,
    export: &Path,
    per_rule: usize,
) -> Result<Vec<Sample>> {
    let mut taken: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    crate::results::anomalies::read_export(export, |row| {
        for id in &row.failed_rules {
            let Some(rule) = table.rules.iter().find(|r| r.id == *id) else {
                continue;
            };
            let n = taken.entry(rule.id.as_str()).or_default();
            if *n >= per_rule {
                continue;
            }
            *n += 1;
            let wanted =
                |c: &str| table.key.iter().any(|k| k == c) || rule.columns.iter().any(|r| r == c);
            out.push(Sample {
                library: table.library.id.clone(),
                table: table.name.clone(),
                rule_id: rule.id.clone(),
                provider: table.provider.as_ref().and_then(|p| {
                    row.values
                        .iter()
                        .find(|(c, _)| c == p)
                        .and_then(|(_, v)| v.clone())
                }),
                record: row
                    .values
                    .iter()
                    .filter(|(c, _)| wanted(c))
                    .cloned()
                    .collect(),
            });
        }
        // Stop once every rule of the table has its samples.
        taken.len() < table.rules.len() || taken.values().any(|n| *n < per_rule)
    })?;
    Ok(out)
}
