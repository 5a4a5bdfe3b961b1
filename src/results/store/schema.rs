//! The store's SQLite schema, as migrations applied in order (`PRAGMA user_version` holds how
//! many have been applied).

use super::{Store, db_err};
use crate::error::{Error, Result};

/// Schema migrations, in order; migration `i` takes the schema from version `i` to `i + 1`.
pub(super) const MIGRATIONS: [&str; 11] = [
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
    // 4: what people say of a run: a label, an exclusion (with its reason), official.
    r"
CREATE TABLE run_mark (
    run_id      TEXT PRIMARY KEY REFERENCES run(id),
    label       TEXT,
    excluded    TEXT,  -- the reason; NULL while the run counts
    official_at TEXT   -- when it was made official; NULL if it is not
);
",
    // 5: each table's exemptions as the run applied them (for the monthly report).
    r"
CREATE TABLE run_exemption (
    run_id     TEXT NOT NULL REFERENCES run(id),
    library    TEXT NOT NULL,
    table_name TEXT NOT NULL,
    position   INTEGER NOT NULL,
    exemption  TEXT NOT NULL  -- JSON, as in summary.json
);
",
    // 6: the template a rule was bound from (pooled per template in the monthly report).
    r"
ALTER TABLE run_rule ADD COLUMN template TEXT;
",
    // 7: tables' profiles (`qc profile`), for comparing a delivery with the last one.
    r"
CREATE TABLE table_profile (
    id          INTEGER PRIMARY KEY,
    table_name  TEXT NOT NULL,
    profiled_at TEXT NOT NULL,
    profile     TEXT NOT NULL  -- profile.json
);
CREATE INDEX table_profile_by_table ON table_profile (table_name, id);
",
    // 8: the files each table was read from (JSON list; NULL in runs recorded before), which
    // the score's 可访问性 counts with the files left out.
    r"
ALTER TABLE run_table ADD COLUMN files TEXT;
",
    // 9: problems with identities (`results::problems`): one row per record and rule that
    // ever failed, with its status after the latest run that judged it.
    r"
CREATE TABLE run_seq (           -- runs numbered in commit order (ids sort by second only)
    seq    INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE REFERENCES run(id)
);
CREATE TABLE problem_rule (
    id         INTEGER PRIMARY KEY,
    library    TEXT NOT NULL,
    table_name TEXT NOT NULL,
    rule_id    TEXT NOT NULL,
    UNIQUE (library, table_name, rule_id)
);
CREATE TABLE problem_provider (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE problem (
    id         INTEGER PRIMARY KEY,
    rule       INTEGER NOT NULL REFERENCES problem_rule(id),
    record_key TEXT NOT NULL,
    provider   INTEGER REFERENCES problem_provider(id),
    status     TEXT NOT NULL,                   -- new | open | fixed | gone | accepted
    first_seen INTEGER NOT NULL REFERENCES run_seq(seq),
    last_seen  INTEGER NOT NULL REFERENCES run_seq(seq), -- the last run it failed in
    changed    INTEGER NOT NULL REFERENCES run_seq(seq), -- the run that set its status
    reason     TEXT,                            -- accepted: why, as the center gave it
    UNIQUE (rule, record_key)
);
CREATE INDEX problem_by_status ON problem (status);
CREATE TABLE problem_reply (
    problem     INTEGER NOT NULL REFERENCES problem(id),
    answer      TEXT NOT NULL,  -- fixed | correct | cannot_fix
    note        TEXT NOT NULL,
    run_id      TEXT NOT NULL,  -- the run of the feedback file it answers
    file        TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE INDEX problem_reply_by_problem ON problem_reply (problem);
",
    // 10: every status a problem took, by the run after which it held (`run_seq`), so that a
    // report rebuilt later counts a month's rectification exactly as it stood. Acceptance
    // (`qc problems accept`) holds from the next run on: it is recorded at the newest run's
    // number plus one. Problems recorded before this version get their first sighting and
    // their status now (when it differs), which is all the history they kept.
    r"
CREATE TABLE problem_event (
    problem INTEGER NOT NULL REFERENCES problem(id),
    seq     INTEGER NOT NULL,   -- run_seq after which the status held
    status  TEXT NOT NULL,      -- new | open | fixed | gone | accepted
    PRIMARY KEY (problem, seq)
) WITHOUT ROWID;
INSERT INTO problem_event SELECT id, first_seen, 'new' FROM problem;
INSERT OR REPLACE INTO problem_event
    SELECT id, changed, status FROM problem WHERE status NOT IN ('new', 'accepted');
INSERT OR REPLACE INTO problem_event
    SELECT id, (SELECT coalesce(max(seq), 0) + 1 FROM run_seq), 'accepted'
    FROM problem WHERE status = 'accepted';
",
    // 11: what an incremental run reuses of a table's last complete local run: the basis
    // of its verdicts, its kept anomaly export, and each source file's fingerprint and
    // counts (`execute::reuse::TableState`, as JSON).
    r"
CREATE TABLE reuse_state (
    library    TEXT NOT NULL,
    table_name TEXT NOT NULL,
    run_id     TEXT NOT NULL REFERENCES run(id),
    state      TEXT NOT NULL,
    PRIMARY KEY (library, table_name)
);
",
];

impl Store {
    /// Bring the file's schema up to [`super::SCHEMA_VERSION`], in one transaction; a file
    /// written by a newer qc is refused.
    pub(super) fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let tx = self.write()?;
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
}
