//! Writing a run: one transaction over every table of the store, or nothing.

use rusqlite::params;

use super::{Mark, RunExtras, Store, db_err, int, name_of};
use crate::error::{Error, Result};
use crate::results::summary::{RunStatus, RunSummary, TableSummary};
use crate::rules::TableRef;

impl Store {
    /// Record what a person says of run `id`: a label, an exclusion from reports and
    /// feedback (with its reason), its inclusion again, or that it is official (which
    /// includes it). One transaction.
    pub fn mark(&mut self, id: &str, mark: &Mark) -> Result<()> {
        let path = self.path.clone();
        let e = |e: rusqlite::Error| db_err(&path, &e);
        let tx = self.write()?;
        let known: i64 = tx
            .query_row(
                "SELECT count(*) FROM run WHERE id = ?1 AND status IN ('complete', 'partial')",
                [id],
                |r| r.get(0),
            )
            .map_err(e)?;
        if known == 0 {
            return Err(Error::Usage(format!(
                "{}: no finished run `{id}` (`qc runs` lists them)",
                path.display()
            )));
        }
        tx.execute("INSERT OR IGNORE INTO run_mark (run_id) VALUES (?1)", [id])
            .map_err(e)?;
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        match mark {
            Mark::Label(text) => tx.execute(
                "UPDATE run_mark SET label = ?2 WHERE run_id = ?1",
                params![id, text],
            ),
            Mark::Exclude { reason } => tx.execute(
                "UPDATE run_mark SET excluded = ?2, official_at = NULL WHERE run_id = ?1",
                params![id, reason],
            ),
            Mark::Include => tx.execute(
                "UPDATE run_mark SET excluded = NULL WHERE run_id = ?1",
                params![id],
            ),
            Mark::Official => tx.execute(
                "UPDATE run_mark SET official_at = ?2, excluded = NULL WHERE run_id = ?1",
                params![id, now],
            ),
        }
        .map_err(e)?;
        tx.commit().map_err(e)
    }

    /// Record a complete run, in one transaction.
    pub fn save(&mut self, summary: &RunSummary, extras: &RunExtras) -> Result<()> {
        let path = self.path.clone();
        let e = |e: rusqlite::Error| db_err(&path, &e);
        let tx = self.write()?;
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
                if summary.status == RunStatus::Partial {
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
            let qualified = TableRef::new(&t.library, &t.name).to_string();
            let table_text = extras.tables.get(&qualified).cloned().unwrap_or_default();
            tx.execute(
                "INSERT INTO run_table VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    summary.run_id,
                    t.library,
                    t.library_name,
                    t.name,
                    t.title,
                    t.format,
                    int(t.rows),
                    int(t.anomalous_rows),
                    name_of(&t.verdict),
                    t.anomalies_file,
                    int(t.elapsed_ms),
                    json(&(&table_text.key, &table_text.provider)),
                    json(&table_text.pii),
                    json(&t.files)
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
            for (i, x) in t.exemptions.iter().enumerate() {
                tx.execute(
                    "INSERT INTO run_exemption VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![summary.run_id, t.library, t.name, int(i), json(x)],
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
                     ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                    params![
                        summary.run_id,
                        t.library,
                        t.name,
                        int(i),
                        r.id,
                        r.name,
                        r.kind,
                        name_of(&r.dimension),
                        name_of(&r.severity),
                        r.builtin,
                        int(r.applicable_rows),
                        int(r.failed_rows),
                        json(&r.threshold),
                        name_of(&r.verdict),
                        text.reason_zh,
                        text.reason_en,
                        json(&text.columns),
                        r.template
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
                        name_of(&c.dimension),
                        name_of(&c.severity),
                        json(&c.measured),
                        name_of(&c.verdict)
                    ],
                )
                .map_err(e)?;
            }
        }
        tx.execute(
            "INSERT INTO run_seq (run_id) VALUES (?1)",
            [&summary.run_id],
        )
        .map_err(e)?;
        let seq = tx.last_insert_rowid();
        super::problems::record(&tx, summary, extras, seq).map_err(e)?;
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
        for ((library, table), state) in &extras.reuse {
            tx.execute(
                "DELETE FROM reuse_state WHERE library = ?1 AND table_name = ?2",
                params![library, table],
            )
            .map_err(e)?;
            if let Some(state) = state {
                tx.execute(
                    "INSERT INTO reuse_state VALUES (?1, ?2, ?3, ?4)",
                    params![library, table, summary.run_id, json(state)],
                )
                .map_err(e)?;
            }
        }
        tx.commit().map_err(e)
    }
}

/// JSON text of a value, for the store's JSON columns.
fn json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
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
    use crate::results::score::{Score, library_score, provider_scores, table_score};
    use crate::rules::scoring::ScoringModel;
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
