//! What incremental runs reuse: each table's [`TableState`] from its last complete local run,
//! and the anomaly exports kept for them beside the store.

use std::path::PathBuf;

use rusqlite::{OptionalExtension, params};

use super::{Store, db_err};
use crate::error::{Error, Result};
use crate::execute::reuse::TableState;

impl Store {
    /// The state the last complete run of `library.table` left, if any.
    pub fn reuse_state(&self, library: &str, table: &str) -> Result<Option<TableState>> {
        let e = |e: rusqlite::Error| db_err(&self.path, &e);
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT state FROM reuse_state WHERE library = ?1 AND table_name = ?2",
                params![library, table],
                |r| r.get(0),
            )
            .optional()
            .map_err(e)?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|err| {
                Error::data(
                    &self.path,
                    format!("reuse state of {library}.{table} does not read back: {err}"),
                )
            })
        })
        .transpose()
    }

    /// The folder where the anomaly exports that incremental runs carry rows from are kept:
    /// beside the store, named after it (`qc.db` → `qc.reuse/`).
    pub fn kept_exports_dir(&self) -> PathBuf {
        self.path.with_extension("reuse")
    }

    /// Remove the kept exports no table's state refers to (those of earlier runs, or of a
    /// run killed before its commit).
    pub fn prune_kept_exports(&self) -> Result<()> {
        let e = |e: rusqlite::Error| db_err(&self.path, &e);
        let mut stmt = self
            .conn
            .prepare("SELECT state FROM reuse_state")
            .map_err(e)?;
        // Every kept export lives in the one folder: its name says which it is.
        let referenced: Vec<std::ffi::OsString> = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(e)?
            .filter_map(|t| t.ok())
            .filter_map(|t| serde_json::from_str::<TableState>(&t).ok())
            .filter_map(|s| {
                s.export
                    .and_then(|(p, _)| p.file_name().map(ToOwned::to_owned))
            })
            .collect();
        let dir = self.kept_exports_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !referenced.contains(&entry.file_name()) {
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
        Ok(())
    }
}
