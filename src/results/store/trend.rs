//! A trend check's history: its metric in the earlier complete runs of the table that were
//! not excluded. Rows and rule failure rates come from the counts every run records (so the
//! history reaches back before the check was written); a column's null rate, distinct count
//! or mean from the values earlier runs of a trend check over the same metric recorded.

use std::collections::HashMap;

use rusqlite::params;

use super::{Store, db_err};
use crate::checks::table::Measured;
use crate::checks::trend::{PastRun, Trend, TrendMetric};
use crate::error::Result;

impl Store {
    /// The trend's values in the runs of `library.table` dated before `as_of` (or on it,
    /// started no later than `started_at`), newest first.
    pub fn trend_history(
        &self,
        library: &str,
        table: &str,
        trend: &Trend,
        as_of: &str,
        started_at: &str,
    ) -> Result<Vec<PastRun>> {
        let e = |e: rusqlite::Error| db_err(&self.path, &e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.id, r.as_of FROM run_table t JOIN run r ON r.id = t.run_id \
                 LEFT JOIN run_mark m ON m.run_id = r.id \
                 WHERE r.status = 'complete' AND m.excluded IS NULL \
                   AND t.library = ?1 AND t.table_name = ?2 \
                   AND (r.as_of < ?3 OR (r.as_of = ?3 AND r.started_at <= ?4)) \
                 ORDER BY r.as_of DESC, r.started_at DESC, r.rowid DESC",
            )
            .map_err(e)?;
        let runs: Vec<(String, String)> = stmt
            .query_map(params![library, table, as_of, started_at], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(e)?
            .collect::<std::result::Result<_, _>>()
            .map_err(e)?;
        let per_provider = trend.per_provider();
        let mut values: HashMap<String, Vec<(Option<String>, f64)>> = HashMap::new();
        let counted =
            |sql: &str, extra: Option<&str>| -> Result<Vec<(String, Option<String>, f64)>> {
                let mut stmt = self.conn.prepare(sql).map_err(e)?;
                let rows = match extra {
                    Some(x) => stmt.query_map(params![library, table, x], row_value),
                    None => stmt.query_map(params![library, table], row_value),
                };
                rows.map_err(e)?
                    .collect::<std::result::Result<_, _>>()
                    .map_err(e)
            };
        let found = match (&trend.metric, per_provider) {
            (TrendMetric::Rows, false) => counted(
                "SELECT run_id, NULL, rows FROM run_table WHERE library = ?1 AND table_name = ?2",
                None,
            )?,
            (TrendMetric::Rows, true) => counted(
                "SELECT run_id, provider, rows FROM run_provider \
                 WHERE library = ?1 AND table_name = ?2",
                None,
            )?,
            (TrendMetric::FailedRate(id), false) => counted(
                "SELECT run_id, NULL, CAST(failed_rows AS REAL) / applicable_rows FROM run_rule \
                 WHERE library = ?1 AND table_name = ?2 AND rule_id = ?3 AND applicable_rows > 0",
                Some(&id.value),
            )?,
            (TrendMetric::FailedRate(id), true) => counted(
                "SELECT run_id, provider, CAST(failed_rows AS REAL) / applicable_rows \
                 FROM run_provider_rule WHERE library = ?1 AND table_name = ?2 AND rule_id = ?3 \
                   AND applicable_rows > 0",
                Some(&id.value),
            )?,
            _ => self.recorded_trend_values(library, table, trend)?,
        };
        for (run, group, value) in found {
            values.entry(run).or_default().push((group, value));
        }
        let rows = matches!(trend.metric, TrendMetric::Rows);
        Ok(runs
            .into_iter()
            .filter_map(|(run_id, as_of)| {
                let mut v = values.remove(&run_id).unwrap_or_default();
                // A run without the metric (the rule or check did not exist yet) is no
                // history; a run without rows of a provider delivered 0 of them.
                if v.is_empty() && !rows {
                    return None;
                }
                v.sort_by(|a, b| a.0.cmp(&b.0));
                Some(PastRun {
                    run_id,
                    as_of,
                    values: v,
                })
            })
            .collect())
    }

    /// The values earlier trend checks over the same metric recorded (run, group, value).
    fn recorded_trend_values(
        &self,
        library: &str,
        table: &str,
        trend: &Trend,
    ) -> Result<Vec<(String, Option<String>, f64)>> {
        let e = |e: rusqlite::Error| db_err(&self.path, &e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT run_id, measured FROM run_table_check \
                 WHERE library = ?1 AND table_name = ?2 AND measured LIKE '{\"kind\":\"trend\"%'",
            )
            .map_err(e)?;
        let rows: Vec<(String, String)> = stmt
            .query_map(params![library, table], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(e)?
            .collect::<std::result::Result<_, _>>()
            .map_err(e)?;
        let label = trend.metric.label();
        let mut out = Vec::new();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (run, measured) in rows {
            let Ok(Measured::Trend(t)) = serde_json::from_str::<Measured>(&measured) else {
                continue;
            };
            // Two checks of a run over the same metric recorded the same values: one counts.
            if t.metric != label
                || t.per_provider != trend.per_provider()
                || !seen.insert(run.clone())
            {
                continue;
            }
            out.extend(t.current.into_iter().map(|(g, v)| (run.clone(), g, v)));
        }
        Ok(out)
    }
}

fn row_value(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, Option<String>, f64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}
