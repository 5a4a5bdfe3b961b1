//! Problems in the run history: their status moved on in a run's commit transaction, and
//! read back by `qc problems` (`results::problems` says what a problem and its statuses are).

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::{RunExtras, Store, db_err};
use crate::error::Result;
use crate::results::problems::{KEY_SEPARATOR, ProblemIndex, ProblemRef, Status, place_file};
use crate::results::summary::RunSummary;

/// One problem as `qc problems` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemRow {
    pub id: i64,
    pub library: String,
    pub table: String,
    pub rule: String,
    /// The record's key values joined by ` / `, or its place (`@file:line`, `@file#row`).
    pub record: String,
    /// The record's key as stored (values joined by U+001F).
    #[serde(skip)]
    pub key: String,
    pub provider: Option<String>,
    pub status: Status,
    /// The run date (`--as-of`) of the run that first saw it failing, and of the last.
    pub first_seen: String,
    pub last_seen: String,
    pub first_run: String,
    pub last_run: String,
    /// Days from its first run's date to the newest run's date.
    pub age_days: i64,
    /// The provider's latest reply (`fixed`, `correct`, `cannot_fix`) and its note.
    pub reply: Option<(String, String)>,
}

/// A problem as stored, for checking a provider's reply against it.
#[derive(Debug, Clone)]
pub struct StoredProblem {
    pub rule: String,
    pub key: String,
    pub provider: Option<String>,
    /// Whether it failed in the run asked about (between its first and last failing runs);
    /// `None` when that run is not in the history.
    pub failed_in_run: Option<bool>,
}

/// What `qc problems` selects; every field set must match.
#[derive(Debug, Clone, Default)]
pub struct ProblemFilter {
    pub library: Option<String>,
    pub table: Option<String>,
    pub rule: Option<String>,
    pub provider: Option<String>,
    /// Any of these statuses (all when empty).
    pub statuses: Vec<Status>,
    /// First seen more than this many days before the newest run's date.
    pub older_than_days: Option<i64>,
    /// Only these problems (all when `None`).
    pub ids: Option<Vec<i64>>,
}

/// A problem's history up to a run, as a report counts it.
#[derive(Debug, Clone, Default)]
pub struct ProblemHistory {
    pub id: i64,
    pub provider: Option<String>,
    /// The run (`run_seq`) that first saw it failing.
    pub first_seen: i64,
    /// Its statuses in run order.
    pub statuses: Vec<(i64, Status)>,
}

impl Store {
    /// The keys of `library.table`'s problems a run judges again when they do not fail
    /// (new, open, and gone: a record delivered again may pass), places left out.
    pub fn open_problem_keys(&self, library: &str, table: &str) -> Result<BTreeSet<String>> {
        let e = |e: rusqlite::Error| db_err(&self.path, &e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT p.record_key FROM problem p JOIN problem_rule r ON r.id = p.rule \
                 WHERE r.library = ?1 AND r.table_name = ?2 AND p.status IN ('new', 'open', 'gone')",
            )
            .map_err(e)?;
        let keys = stmt
            .query_map([library, table], |r| r.get::<_, String>(0))
            .map_err(e)?
            .collect::<std::result::Result<BTreeSet<String>, _>>()
            .map_err(e)?;
        Ok(keys
            .into_iter()
            .filter(|k| place_file(k).is_none())
            .collect())
    }

    /// A run's number in commit order; `None` for a run recorded before problems were kept.
    pub fn run_seq(&self, run: &str) -> Result<Option<i64>> {
        self.conn
            .query_row("SELECT seq FROM run_seq WHERE run_id = ?1", [run], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// Every problem of the libraries in `until` seen by that library's run (by `run_seq`),
    /// with its statuses up to that run, one at a time in id order with its library (the
    /// store is read as a stream, once for all libraries).
    pub fn problem_histories(
        &self,
        until: &BTreeMap<String, i64>,
        mut each: impl FnMut(&str, &ProblemHistory),
    ) -> Result<()> {
        let e = |e: rusqlite::Error| db_err(&self.path, &e);
        let Some(latest) = until.values().max().copied() else {
            return Ok(());
        };
        let providers: std::collections::HashMap<i64, String> = self
            .conn
            .prepare("SELECT id, name FROM problem_provider")
            .map_err(e)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(e)?
            .collect::<std::result::Result<_, _>>()
            .map_err(e)?;
        // Rule → its library and the run that library's section counts up to.
        let mut rules: std::collections::HashMap<i64, (String, i64)> =
            std::collections::HashMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT id, library FROM problem_rule")
            .map_err(e)?;
        let mut rows = stmt.query([]).map_err(e)?;
        while let Some(r) = rows.next().map_err(e)? {
            let library: String = r.get(1).map_err(e)?;
            if let Some(up_to) = until.get(&library) {
                rules.insert(r.get(0).map_err(e)?, (library, *up_to));
            }
        }
        // One sequential pass over the problems in id order, each problem's statuses looked
        // up in key order: no sort. At 10M problems that is 2.5x as fast as reaching one
        // library's problems through the rule index (SQLite then sorts them into a temporary
        // B-tree), and a report of several libraries reads the store once.
        let mut stmt = self
            .conn
            .prepare(
                "SELECT p.id, p.rule, p.provider, p.first_seen, e.seq, e.status \
                 FROM problem p JOIN problem_event e ON e.problem = p.id \
                 WHERE e.seq <= ?1 ORDER BY p.id, e.seq",
            )
            .map_err(e)?;
        let mut rows = stmt.query([latest]).map_err(e)?;
        let mut current = ProblemHistory::default();
        let mut library: Option<&(String, i64)> = None;
        while let Some(r) = rows.next().map_err(e)? {
            let id: i64 = r.get(0).map_err(e)?;
            if id != current.id {
                if let Some((name, _)) = library.filter(|_| !current.statuses.is_empty()) {
                    each(name, &current);
                }
                library = rules.get(&r.get::<_, i64>(1).map_err(e)?);
                current = ProblemHistory {
                    id,
                    provider: r
                        .get::<_, Option<i64>>(2)
                        .map_err(e)?
                        .and_then(|p| providers.get(&p).cloned()),
                    first_seen: r.get(3).map_err(e)?,
                    statuses: Vec::new(),
                };
            }
            let Some((_, up_to)) = library else {
                continue;
            };
            let seq: i64 = r.get(4).map_err(e)?;
            if seq > *up_to {
                continue;
            }
            let status: String = r.get(5).map_err(e)?;
            current
                .statuses
                .push((seq, Status::parse(&status).unwrap_or(Status::Open)));
        }
        if let Some((name, _)) = library.filter(|_| !current.statuses.is_empty()) {
            each(name, &current);
        }
        Ok(())
    }

    /// The latest reply to each problem of `library` that answers the feedback of run
    /// `until` (by `run_seq`) or an earlier one: problem → answer (`fixed`, `correct`,
    /// `cannot_fix`) and the number of the run it answers.
    pub fn replies_until(
        &self,
        library: &str,
        until: i64,
    ) -> Result<std::collections::HashMap<i64, (String, i64)>> {
        let e = |e: rusqlite::Error| db_err(&self.path, &e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT q.problem, q.answer, s.seq FROM problem_reply q \
                 JOIN run_seq s ON s.run_id = q.run_id \
                 JOIN problem p ON p.id = q.problem JOIN problem_rule r ON r.id = p.rule \
                 WHERE r.library = ?1 AND s.seq <= ?2 ORDER BY q.rowid",
            )
            .map_err(e)?;
        let rows = stmt
            .query_map(params![library, until], |r| {
                Ok((r.get::<_, i64>(0)?, (r.get(1)?, r.get(2)?)))
            })
            .map_err(e)?;
        // In import order, so a later reply replaces an earlier one.
        rows.collect::<std::result::Result<_, _>>().map_err(e)
    }

    /// The problems of `library.table`, by rule and record key, as they stand now.
    pub fn problem_index(&self, library: &str, table: &str) -> Result<ProblemIndex> {
        let e = |e: rusqlite::Error| db_err(&self.path, &e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.rule_id, p.record_key, p.id, p.status, f.as_of \
                 FROM problem p JOIN problem_rule r ON r.id = p.rule \
                 JOIN run_seq fs ON fs.seq = p.first_seen JOIN run f ON f.id = fs.run_id \
                 WHERE r.library = ?1 AND r.table_name = ?2",
            )
            .map_err(e)?;
        let rows = stmt
            .query_map([library, table], |r| {
                let status: String = r.get(3)?;
                Ok((
                    (library.to_string(), table.to_string(), r.get(0)?, r.get(1)?),
                    ProblemRef {
                        id: r.get(2)?,
                        status: Status::parse(&status).unwrap_or(Status::Open),
                        first_seen: r.get(4)?,
                    },
                ))
            })
            .map_err(e)?
            .collect::<std::result::Result<ProblemIndex, _>>()
            .map_err(e)?;
        Ok(rows)
    }

    /// Accept the provider's explanation of problems `ids` (new or open ones): each becomes
    /// an exemption of its record from its rule in later runs. Nothing is changed unless
    /// every id can be accepted.
    pub fn accept(&mut self, ids: &[i64], reason: &str) -> Result<()> {
        let path = self.path.clone();
        let e = |e: rusqlite::Error| db_err(&path, &e);
        let tx = self.write()?;
        for id in ids {
            let status: Option<String> = tx
                .query_row("SELECT status FROM problem WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(e)?;
            match status.as_deref().and_then(Status::parse) {
                Some(s) if s.is_open() => {}
                Some(s) => {
                    return Err(crate::error::Error::Usage(format!(
                        "problem {id} is {}: only new or open problems can be accepted",
                        s.name()
                    )));
                }
                None => {
                    return Err(crate::error::Error::Usage(format!(
                        "{}: no problem {id}",
                        path.display()
                    )));
                }
            }
            tx.execute(
                "UPDATE problem SET status = 'accepted', reason = ?2 WHERE id = ?1",
                params![id, reason],
            )
            .map_err(e)?;
            tx.execute(
                "INSERT OR REPLACE INTO problem_event (problem, seq, status) \
                 VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM run_seq), 'accepted')",
                [id],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)
    }

    /// The accepted problems' record keys: `library.table` → rule → keys.
    pub fn accepted(&self) -> Result<BTreeMap<String, BTreeMap<String, Vec<String>>>> {
        let e = |e: rusqlite::Error| db_err(&self.path, &e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.library, r.table_name, r.rule_id, p.record_key FROM problem p \
                 JOIN problem_rule r ON r.id = p.rule WHERE p.status = 'accepted' ORDER BY p.id",
            )
            .map_err(e)?;
        let mut out: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    format!("{}.{}", r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(e)?;
        for row in rows {
            let (table, rule, key) = row.map_err(e)?;
            out.entry(table)
                .or_default()
                .entry(rule)
                .or_default()
                .push(key);
        }
        Ok(out)
    }

    /// One problem by id: its rule, record key (as stored), provider, and whether it
    /// failed in run `at` (by `run_seq`; `None`: no such run in the history): seen failing
    /// by then and not since, and new or open after that run.
    pub fn problem(&self, id: i64, at: Option<i64>) -> Result<Option<StoredProblem>> {
        self.conn
            .query_row(
                "SELECT r.rule_id, p.record_key, pv.name, p.first_seen, p.last_seen, \
                 (SELECT e.status FROM problem_event e WHERE e.problem = p.id \
                  AND e.seq <= ?2 ORDER BY e.seq DESC LIMIT 1) \
                 FROM problem p JOIN problem_rule r ON r.id = p.rule \
                 LEFT JOIN problem_provider pv ON pv.id = p.provider WHERE p.id = ?1",
                params![id, at],
                |r| {
                    let (first, last): (i64, i64) = (r.get(3)?, r.get(4)?);
                    let then = r
                        .get::<_, Option<String>>(5)?
                        .as_deref()
                        .and_then(Status::parse);
                    Ok(StoredProblem {
                        rule: r.get(0)?,
                        key: r.get(1)?,
                        provider: r.get(2)?,
                        failed_in_run: at.map(|at| {
                            first <= at && at <= last && then.is_some_and(Status::is_open)
                        }),
                    })
                },
            )
            .optional()
            .map_err(|e| db_err(&self.path, &e))
    }

    /// Record providers' replies, all of them or none: (problem, answer, note, the run the
    /// feedback file was for, the file).
    pub fn record_replies(&mut self, replies: &[(i64, &str, &str, &str, &str)]) -> Result<()> {
        let path = self.path.clone();
        let e = |e: rusqlite::Error| db_err(&path, &e);
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let tx = self.write()?;
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO problem_reply VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(e)?;
            for (problem, answer, note, run, file) in replies {
                insert
                    .execute(params![problem, answer, note, run, file, now])
                    .map_err(e)?;
            }
        }
        tx.commit().map_err(e)
    }

    /// Problems matching `filter`, oldest first.
    pub fn problems(&self, filter: &ProblemFilter) -> Result<Vec<ProblemRow>> {
        let e = |e: rusqlite::Error| db_err(&self.path, &e);
        let newest: Option<String> = self
            .conn
            .query_row("SELECT max(as_of) FROM run", [], |r| r.get(0))
            .optional()
            .map_err(e)?
            .flatten();
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let newest = newest.as_deref().and_then(day);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT p.id, r.library, r.table_name, r.rule_id, p.record_key, pv.name, \
                 p.status, f.as_of, l.as_of, fs.run_id, ls.run_id, \
                 (SELECT answer || char(31) || note FROM problem_reply q WHERE q.problem = p.id \
                  ORDER BY q.rowid DESC LIMIT 1) \
                 FROM problem p JOIN problem_rule r ON r.id = p.rule \
                 LEFT JOIN problem_provider pv ON pv.id = p.provider \
                 JOIN run_seq fs ON fs.seq = p.first_seen JOIN run f ON f.id = fs.run_id \
                 JOIN run_seq ls ON ls.seq = p.last_seen JOIN run l ON l.id = ls.run_id \
                 WHERE (?1 IS NULL OR r.library = ?1) AND (?2 IS NULL OR r.table_name = ?2) \
                 AND (?3 IS NULL OR r.rule_id = ?3) AND (?4 IS NULL OR pv.name = ?4) \
                 AND (?5 IS NULL OR p.id IN (SELECT value FROM json_each(?5))) \
                 ORDER BY f.as_of, p.id",
            )
            .map_err(e)?;
        let rows = stmt
            .query_map(
                params![
                    filter.library,
                    filter.table,
                    filter.rule,
                    filter.provider,
                    filter
                        .ids
                        .as_ref()
                        .map(|ids| serde_json::to_string(ids).unwrap_or_default())
                ],
                |r| {
                    let status: String = r.get(6)?;
                    let first_seen: String = r.get(7)?;
                    let age_days = day(&first_seen)
                        .zip(newest)
                        .map_or(0, |(f, n)| (n - f).num_days());
                    Ok(ProblemRow {
                        id: r.get(0)?,
                        library: r.get(1)?,
                        table: r.get(2)?,
                        rule: r.get(3)?,
                        record: r.get::<_, String>(4)?.replace(KEY_SEPARATOR, " / "),
                        key: r.get(4)?,
                        provider: r.get(5)?,
                        status: Status::parse(&status).unwrap_or(Status::Open),
                        first_seen,
                        last_seen: r.get(8)?,
                        first_run: r.get(9)?,
                        last_run: r.get(10)?,
                        age_days,
                        reply: r.get::<_, Option<String>>(11)?.map(|a| {
                            let (answer, note) = a.split_once('\u{1f}').unwrap_or((&a, ""));
                            (answer.to_string(), note.to_string())
                        }),
                    })
                },
            )
            .map_err(e)?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(e)?;
        Ok(rows
            .into_iter()
            .filter(|p| filter.statuses.is_empty() || filter.statuses.contains(&p.status))
            .filter(|p| filter.older_than_days.is_none_or(|d| p.age_days > d))
            .collect())
    }
}

/// Move every problem of the run's audited tables on: the records failing now are new or
/// open again (accepted ones stay accepted); a new, open or gone problem that did not fail
/// again is fixed when its record was delivered, gone when it was not, and left as it is
/// when the run did not ask (a problem recorded by a run that committed meanwhile, or any
/// in a cluster run) or could not tell (a table with files left out as unreadable: only
/// fixed problems are judged there). `run` is the run's number in commit order (`run_seq`).
pub(super) fn record(
    tx: &Transaction<'_>,
    summary: &RunSummary,
    extras: &RunExtras,
    run: i64,
) -> rusqlite::Result<()> {
    for t in &summary.tables {
        let qualified = format!("{}.{}", t.library, t.name);
        let Some(observed) = extras.problems.get(&qualified) else {
            continue;
        };
        let mut rule_ids: BTreeMap<String, i64> = BTreeMap::new();
        let mut rule_id = |rule: &str| {
            interned(&mut rule_ids, rule, || {
                tx.query_row(
                    "INSERT INTO problem_rule (library, table_name, rule_id) VALUES (?1, ?2, ?3) \
                     ON CONFLICT DO UPDATE SET rule_id = excluded.rule_id RETURNING id",
                    params![t.library, t.name, rule],
                    |r| r.get(0),
                )
            })
        };
        let mut upsert = tx.prepare_cached(
            "INSERT INTO problem (rule, record_key, provider, status, first_seen, last_seen, changed) \
             VALUES (?1, ?2, ?3, 'new', ?4, ?4, ?4) \
             ON CONFLICT (rule, record_key) DO UPDATE SET \
               last_seen = excluded.last_seen, provider = excluded.provider, \
               changed = CASE WHEN status IN ('accepted', 'open') THEN changed ELSE excluded.changed END, \
               status = CASE WHEN status = 'accepted' THEN 'accepted' ELSE 'open' END \
             RETURNING id, status, changed",
        )?;
        let mut event = tx.prepare_cached(
            "INSERT OR REPLACE INTO problem_event (problem, seq, status) VALUES (?1, ?2, ?3)",
        )?;
        let mut provider_ids: BTreeMap<String, i64> = BTreeMap::new();
        let mut provider_id = |name: &str| {
            interned(&mut provider_ids, name, || {
                tx.query_row(
                    "INSERT INTO problem_provider (name) VALUES (?1) \
                     ON CONFLICT DO UPDATE SET name = excluded.name RETURNING id",
                    [name],
                    |r| r.get(0),
                )
            })
        };
        let mut seen_keys: BTreeSet<&str> = BTreeSet::new();
        for o in observed {
            let id = rule_id(&o.rule)?;
            let provider = o.provider.as_deref().map(&mut provider_id).transpose()?;
            let (problem, status, changed): (i64, String, i64) = upsert
                .query_row(params![id, o.key, provider, run], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
            if changed == run {
                event.execute(params![problem, run, status])?;
            }
            seen_keys.insert(&o.key);
        }
        let asked = extras.presence.asked.get(&qualified);
        let found = extras.presence.found.get(&qualified);
        let delivered = |key: &str| -> Option<bool> {
            if seen_keys.contains(key) {
                return Some(true);
            }
            if let Some(file) = place_file(key) {
                return Some(t.files.iter().any(|f| f == file));
            }
            asked
                .is_some_and(|a| a.contains(key))
                .then(|| found.is_some_and(|f| f.contains(key)))
        };
        let mut waiting = tx.prepare_cached(
            "SELECT p.id, p.record_key FROM problem p JOIN problem_rule r ON r.id = p.rule \
             WHERE r.library = ?1 AND r.table_name = ?2 AND r.rule_id = ?3 \
             AND p.status IN ('new', 'open', 'gone') AND p.last_seen <> ?4",
        )?;
        let mut resolve =
            tx.prepare_cached("UPDATE problem SET status = ?1, changed = ?2 WHERE id = ?3")?;
        for rule in &t.rules {
            let stale: Vec<(i64, String)> = waiting
                .query_map(params![t.library, t.name, rule.id, run], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            for (id, key) in stale {
                let status = match delivered(&key) {
                    Some(true) => Status::Fixed,
                    // A file left out unreadable may hold the record: not judged gone.
                    Some(false) if t.left_out_files.is_empty() => Status::Gone,
                    _ => continue,
                };
                resolve.execute(params![status.name(), run, id])?;
                event.execute(params![id, run, status.name()])?;
            }
        }
    }
    Ok(())
}

/// The id of `name` in a table of names: from `cache`, else from `insert` (which inserts the
/// name when new and returns its id), then kept in `cache`.
fn interned(
    cache: &mut BTreeMap<String, i64>,
    name: &str,
    insert: impl FnOnce() -> rusqlite::Result<i64>,
) -> rusqlite::Result<i64> {
    if let Some(id) = cache.get(name) {
        return Ok(*id);
    }
    let id = insert()?;
    cache.insert(name.to_string(), id);
    Ok(id)
}
