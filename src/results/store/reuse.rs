//! What incremental runs reuse: each table's [`TableState`] from its last complete local run,
//! and the anomaly exports kept for them beside the store.

use std::collections::HashSet;
use std::ffi::OsString;
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

    /// The folder of what incremental runs reuse besides the store's rows: the anomaly
    /// exports they carry rows from, and `keys/`, the key hashes of `unique` rules per file.
    /// Beside the store, named after it (`qc.db` → `qc.reuse/`).
    pub fn kept_dir(&self) -> PathBuf {
        self.path.with_extension("reuse")
    }

    /// Remove the kept files no table's state refers to (those of earlier runs, or of a run
    /// killed before its commit).
    pub fn prune_kept(&self) -> Result<()> {
        let e = |e: rusqlite::Error| db_err(&self.path, &e);
        let mut stmt = self
            .conn
            .prepare("SELECT state FROM reuse_state")
            .map_err(e)?;
        // Every kept file lives in one of the two folders: its name says which it is.
        let mut referenced: HashSet<OsString> = HashSet::new();
        for state in stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(e)?
            .filter_map(std::result::Result::ok)
            .filter_map(|t| serde_json::from_str::<TableState>(&t).ok())
        {
            if let Some(name) = state.export.as_ref().and_then(|(p, _)| p.file_name()) {
                referenced.insert(name.to_owned());
            }
            for part in &state.files {
                referenced.extend(
                    part.keys
                        .iter()
                        .filter_map(|k| k.hashes.clone().map(OsString::from)),
                );
            }
        }
        let dir = self.kept_dir();
        for folder in [dir.clone(), dir.join("keys")] {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_file() && !referenced.contains(&entry.file_name()) {
                    std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                }
            }
        }
        Ok(())
    }
}
