//! Tables' profiles (`qc profile`), kept as their `profile.json` text so that a new delivery
//! can be compared with the last one of the same table.

use rusqlite::OptionalExtension;

use super::{Store, db_err};
use crate::error::Result;

impl Store {
    /// Keep `profile` (a `profile.json`) as the latest profile of `table`.
    pub fn save_profile(&mut self, table: &str, profiled_at: &str, profile: &str) -> Result<()> {
        let path = self.path.clone();
        let tx = self.write()?;
        tx.execute(
            "INSERT INTO table_profile (table_name, profiled_at, profile) VALUES (?1, ?2, ?3)",
            (table, profiled_at, profile),
        )
        .map_err(|e| db_err(&path, &e))?;
        tx.commit().map_err(|e| db_err(&path, &e))
    }

    /// The `profile.json` of `table`'s latest profile, if it was ever profiled.
    pub fn last_profile(&self, table: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT profile FROM table_profile WHERE table_name = ?1 ORDER BY id DESC LIMIT 1",
                [table],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| db_err(&self.path, &e))
    }
}
