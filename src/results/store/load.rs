//! Reading runs back: the list of runs, the baselines of table checks, and everything the
//! store holds about one run (for reports and feedback).

use std::collections::BTreeMap;
use std::path::PathBuf;

use rusqlite::{OptionalExtension, params};

use super::{RuleText, RunRow, Sample, Store, StoredRun, TableText, count, db_err, int, named};
use crate::error::{Error, Result};
use crate::results::summary::{
    ProviderRule, ProviderSummary, RuleSummary, TableCheckSummary, TableSummary, Verdict,
};
use crate::rules::{Dimension, Severity, TableRef, Threshold};

impl Store {
    /// Complete runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRow>> {
        let e = |e: rusqlite::Error| db_err(&self.path, &e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.id, r.started_at, r.finished_at, r.as_of, r.status, r.exit_code, \
                 count(t.table_name), coalesce(sum(t.rows), 0), coalesce(sum(t.anomalous_rows), 0), \
                 coalesce(group_concat(DISTINCT t.library), ''), r.out_dir, \
                 m.label, m.excluded, m.official_at IS NOT NULL \
                 FROM run r LEFT JOIN run_table t ON t.run_id = r.id \
                 LEFT JOIN run_mark m ON m.run_id = r.id \
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
                    tables: count(r, 6)?,
                    rows: count(r, 7)?,
                    anomalous_rows: count(r, 8)?,
                    libraries: r.get(9)?,
                    out_dir: r.get(10)?,
                    label: r.get(11)?,
                    excluded: r.get(12)?,
                    official: r.get(13)?,
                })
            })
            .map_err(e)?;
        rows.collect::<std::result::Result<_, _>>().map_err(e)
    }

    /// Rows of `library.table` in the latest complete run dated before `as_of` (or on it,
    /// started no later than `started_at`: the asking run is not stored yet, so a run
    /// stored within the same second is an earlier one; of runs started in one second, the
    /// one stored last).
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
                 ORDER BY r.as_of DESC, r.started_at DESC, r.rowid DESC LIMIT 1",
                params![library, table, as_of, started_at],
                |r| count(r, 0),
            )
            .optional()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// The run feedback uses by default, and whether it is official: the newest official
    /// run, else the newest complete run that is not excluded.
    pub fn default_run(&self) -> Result<Option<(String, bool)>> {
        self.conn
            .query_row(
                "SELECT r.id, m.official_at IS NOT NULL FROM run r \
                 LEFT JOIN run_mark m ON m.run_id = r.id \
                 WHERE r.status = 'complete' AND m.excluded IS NULL \
                 ORDER BY m.official_at IS NOT NULL DESC, m.official_at DESC, \
                          r.started_at DESC, r.rowid DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// Per library: the id of its run dated within `[from, to]` (`YYYY-MM-DD`) that a report
    /// uses: the newest official one, else the latest complete one; excluded runs never.
    pub fn latest_per_library(&self, from: &str, to: &str) -> Result<BTreeMap<String, String>> {
        let e = |e: rusqlite::Error| db_err(&self.path, &e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT t.library, r.id, m.official_at IS NOT NULL, m.official_at, \
                        r.as_of, r.started_at, r.rowid \
                 FROM run r JOIN run_table t ON t.run_id = r.id \
                 LEFT JOIN run_mark m ON m.run_id = r.id \
                 WHERE r.status = 'complete' AND m.excluded IS NULL \
                   AND r.as_of >= ?1 AND r.as_of <= ?2 \
                 ORDER BY m.official_at IS NOT NULL, m.official_at, r.as_of, r.started_at, r.rowid",
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
                 verdict, anomalies_file, elapsed_ms, key_columns, pii, files FROM run_table \
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
                    TableRef::new(r.get::<_, String>(0)?, r.get::<_, String>(2)?).to_string(),
                    text,
                );
                let rows = count(r, 5)?;
                let anomalous = count(r, 6)?;
                Ok(TableSummary {
                    library: r.get(0)?,
                    library_name: r.get(1)?,
                    name: r.get(2)?,
                    title: r.get(3)?,
                    format: r.get(4)?,
                    files: r
                        .get::<_, Option<String>>(12)?
                        .and_then(|f| serde_json::from_str(&f).ok())
                        .unwrap_or_default(),
                    rows,
                    anomalous_rows: anomalous,
                    passed_rows: rows - anomalous.min(rows),
                    pass_rate: crate::results::summary::pass_rate(rows - anomalous.min(rows), rows),
                    verdict: named(r, 7)?,
                    table_checks: Vec::new(),
                    skipped_rules: Vec::new(),
                    partial_rules: Vec::new(),
                    exemptions: Vec::new(),
                    left_out_files: Vec::new(),
                    anomalies_file: r.get(8)?,
                    reuse: None,
                    elapsed_ms: count(r, 9)?,
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
                    Ok(crate::rules::source::LeftOutFile {
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
                    "SELECT exemption FROM run_exemption \
                     WHERE run_id = ?1 AND library = ?2 AND table_name = ?3 ORDER BY position",
                )
                .map_err(e)?;
            let exemptions: Vec<String> = stmt
                .query_map([id, &t.library, &t.name], |r| r.get(0))
                .map_err(e)?
                .collect::<std::result::Result<_, _>>()
                .map_err(e)?;
            t.exemptions = exemptions
                .iter()
                .filter_map(|x| serde_json::from_str(x).ok())
                .collect();
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT rule_id, name, kind, dimension, severity, builtin, applicable_rows, \
                     failed_rows, threshold, verdict, reason_zh, reason_en, columns, template \
                     FROM run_rule WHERE run_id = ?1 AND library = ?2 AND table_name = ?3 \
                     ORDER BY position",
                )
                .map_err(e)?;
            for row in stmt
                .query_map(params![id, t.library, t.name], |r| {
                    let applicable = count(r, 6)?;
                    let failed = count(r, 7)?;
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
                            dimension: named(r, 3)?,
                            severity: named(r, 4)?,
                            builtin: r.get(5)?,
                            applicable_rows: applicable,
                            failed_rows: failed,
                            failed_rate: crate::results::summary::rate(failed, applicable),
                            threshold: serde_json::from_str::<Threshold>(&threshold)
                                .unwrap_or_default(),
                            verdict: named(r, 9)?,
                            anomalous_keys: None,
                            cost_seconds: None,
                            template: r.get(13)?,
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
                    Ok((r.get(0)?, count(r, 1)?, count(r, 2)?))
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
                            applicable_rows: count(r, 1)?,
                            failed_rows: count(r, 2)?,
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
                        named(r, 2)?,
                        named(r, 3)?,
                        r.get::<_, String>(4)?,
                        named(r, 5)?,
                    ))
                })
                .map_err(e)?
            {
                let (cid, name, dimension, severity, measured, verdict): (
                    String,
                    String,
                    Dimension,
                    Severity,
                    String,
                    Verdict,
                ) = row.map_err(e)?;
                if let Ok(measured) = serde_json::from_str(&measured) {
                    t.table_checks.push(TableCheckSummary {
                        id: cid,
                        name,
                        dimension,
                        severity,
                        measured,
                        verdict,
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

#[cfg(test)]
mod tests {
    use super::super::Store;
    use rusqlite::params;

    #[test]
    fn of_runs_started_in_one_second_the_one_stored_last_is_the_previous() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("qc.db")).unwrap();
        let second = "2026-11-30T10:00:00+00:00";
        for (id, rows) in [("run-1", 12000), ("run-2", 10500)] {
            store
                .conn
                .execute(
                    "INSERT INTO run VALUES (?1, ?2, ?2, '2026-11-30', '0.1.0', 2, 'complete', 0, '')",
                    params![id, second],
                )
                .unwrap();
            store
                .conn
                .execute(
                    "INSERT INTO run_table (run_id, library, library_name, table_name, title, \
                     format, rows, anomalous_rows, verdict, elapsed_ms, key_columns, pii) \
                     VALUES (?1, 'marriage', '', 'registration', '', 'parquet', ?2, 0, 'pass', \
                     0, '[]', '[]')",
                    params![id, rows],
                )
                .unwrap();
        }
        let previous = store
            .previous_rows("marriage", "registration", "2026-11-30", second)
            .unwrap();
        assert_eq!(previous, Some(10500));
    }
}
