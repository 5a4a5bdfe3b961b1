//! Stage 4, RESULTS: everything a run leaves behind: exact [`counts`], the anomaly exports
//! ([`anomalies`]), and the [`summary`] (terminal and `summary.json`).
//!
//! A run's output folder is complete only when `summary.json` exists: it is written last,
//! atomically, and a run that fails first removes any stale one.

pub mod extras;
pub mod problems;
pub mod score;
pub mod store;
pub mod summary;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub const SUMMARY_FILE: &str = "summary.json";

/// The lock a run holds on its output folder (`<out>/.qc.lock`) while it writes there.
pub const LOCK_FILE: &str = ".qc.lock";

/// The output folder of one run.
pub struct OutputDir {
    pub path: PathBuf,
    /// Held while the run writes here (released when the folder is dropped, or when the
    /// process ends however it ends): a second run into the same folder is refused.
    _lock: Option<std::fs::File>,
}

impl OutputDir {
    /// Create (or reuse) the folder and lock it for this run, then remove a previous run's
    /// `summary.json` and anomaly exports so nothing stale can pass for this run's results.
    /// A folder another run is writing to is an error naming it.
    pub fn prepare(path: &Path) -> Result<OutputDir> {
        std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
        let lock_path = path.join(LOCK_FILE);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::data(
                    path,
                    format!(
                        "another qc run is writing to this folder (it holds {LOCK_FILE}); \
                         wait for it to finish, or give this run another --out"
                    ),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path, e)),
        }
        let summary = path.join(SUMMARY_FILE);
        if summary.exists() {
            std::fs::remove_file(&summary).map_err(|e| Error::io(&summary, e))?;
        }
        let anomalies = path.join("anomalies");
        if anomalies.exists() {
            std::fs::remove_dir_all(&anomalies).map_err(|e| Error::io(&anomalies, e))?;
        }
        Ok(OutputDir {
            path: path.to_path_buf(),
            _lock: Some(lock),
        })
    }

    /// An existing folder to write finished files into atomically (a report), unlocked.
    pub fn existing(path: &Path) -> OutputDir {
        OutputDir {
            path: path.to_path_buf(),
            _lock: None,
        }
    }

    /// Remove what a run that did not finish wrote: the anomaly exports and any temporary
    /// file. The folder itself stays (it may hold the user's other files).
    pub fn discard(&self) {
        let _ = std::fs::remove_dir_all(self.path.join("anomalies"));
        if let Ok(entries) = std::fs::read_dir(&self.path) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().ends_with(".partial") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }

    /// Write `bytes` to `name` inside the folder: temporary file, flush, rename.
    pub fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        self.stage(name, bytes)?.publish()
    }

    /// Write `bytes` under a temporary name beside `name`, flushed to disk; it appears as
    /// `name` only when [`Staged::publish`]ed.
    pub fn stage(&self, name: &str, bytes: &[u8]) -> Result<Staged> {
        use std::io::Write as _;
        let target = self.path.join(name);
        let tmp = self.path.join(format!(".{name}.partial"));
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        Ok(Staged { tmp, target })
    }
}

/// A file written under a temporary name, waiting to be renamed into place.
pub struct Staged {
    tmp: PathBuf,
    target: PathBuf,
}

impl Staged {
    pub fn publish(self) -> Result<PathBuf> {
        std::fs::rename(&self.tmp, &self.target).map_err(|e| Error::io(&self.target, e))?;
        Ok(self.target.clone())
    }
}
