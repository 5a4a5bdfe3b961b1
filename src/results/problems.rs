//! Problems with identities (整改跟踪): a problem is one record failing one rule, named by
//! (library, table, rule, record key), so that runs can tell which problems are new, which
//! persist, which were fixed and which vanished with their record.
//!
//! - A record's key is its key columns' values joined by U+001F. A record with a key value
//!   missing has no key to follow across deliveries; it is named by its place instead
//!   (`@file:line` for CSV, `@file#row` for Parquet).
//! - After a run, a problem is `new` (first failing now), `open` (failing again), `fixed`
//!   (its record was delivered and passes the rule now), `gone` (its record was not
//!   delivered) or `accepted` (the center accepted the provider's explanation; it stays so).
//! - Which records were delivered is asked of the data only for the keys of problems that
//!   were new, open or gone and did not fail again ([`Presence`]); a problem named by its
//!   place counts as delivered while its file is. A gone problem whose record comes back
//!   passing is fixed; failing, open again.
//!
//! The transitions are applied in the run's commit transaction (`store::problems`), never
//! from a partial run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bind::BoundTable;
use crate::error::Result;
use crate::execute::export::{ExportedRow, Position, read_export};

pub use crate::rules::KEY_SEPARATOR;

/// A problem's status after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Open,
    Fixed,
    Gone,
    Accepted,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::New,
        Status::Open,
        Status::Fixed,
        Status::Gone,
        Status::Accepted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::Fixed => "fixed",
            Status::Gone => "gone",
            Status::Accepted => "accepted",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.name() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Status::New => "新增",
            Status::Open => "未整改",
            Status::Fixed => "已整改",
            Status::Gone => "已消失",
            Status::Accepted => "已认可",
        }
    }

    /// Whether the problem still waits for its provider (new or open).
    pub fn is_open(self) -> bool {
        matches!(self, Status::New | Status::Open)
    }
}

/// One record failing one rule in a run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Observed {
    pub rule: String,
    pub key: String,
    pub provider: Option<String>,
}

/// A table's problems observed in a run: `library.table` → problems.
pub type Observations = BTreeMap<String, Vec<Observed>>;

/// Which records of the problems that did not fail again were delivered, per
/// `library.table`: the keys that were asked about, and of those, the ones found.
#[derive(Debug, Clone, Default)]
pub struct Presence {
    pub asked: BTreeMap<String, BTreeSet<String>>,
    pub found: BTreeMap<String, BTreeSet<String>>,
}

/// The key of a record from its key columns' values; `None` when a value is missing.
pub fn record_key<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> Option<String> {
    let mut key = String::new();
    for (i, v) in values.into_iter().enumerate() {
        let v = v.filter(|v| !v.trim().is_empty())?;
        if i > 0 {
            key.push(KEY_SEPARATOR);
        }
        key.push_str(v);
    }
    Some(key)
}

/// The name of a record without a key: its place.
pub fn place_key(file: &str, at: Position) -> String {
    match at {
        Position::Line(n) => format!("@{file}:{n}"),
        Position::Row(n) => format!("@{file}#{n}"),
    }
}

/// The file a place key names, if it is one.
pub fn place_file(key: &str) -> Option<&str> {
    let rest = key.strip_prefix('@')?;
    let end = rest.rfind([':', '#'])?;
    Some(&rest[..end])
}

/// The name of an exported row's record: its key, else its place.
pub fn problem_key(key_columns: &[String], row: &ExportedRow) -> Option<String> {
    record_key(key_columns.iter().map(|k| row.value(k)))
        .or_else(|| row.origin.as_ref().map(|o| place_key(&o.file, o.at)))
}

/// A problem as a feedback line names it: its id, status and the date it was first seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemRef {
    pub id: i64,
    pub status: Status,
    pub first_seen: String,
}

/// Problems by (library, table, rule, record key).
pub type ProblemIndex = std::collections::HashMap<(String, String, String, String), ProblemRef>;

/// A problem's statuses in run order: (the `run_seq` after which it held, status).
pub type Statuses = [(i64, Status)];

/// A problem's status after run `at` (by `run_seq`); `None` when it was not seen by then.
pub fn status_at(statuses: &Statuses, at: i64) -> Option<Status> {
    statuses
        .iter()
        .take_while(|(seq, _)| *seq <= at)
        .last()
        .map(|(_, s)| *s)
}

/// How problems moved between an earlier run and a later one (整改): those the earlier run
/// left open (its feedback reported them) and what became of them, and those newly open.
/// `fixed + gone + accepted + still_open == reported`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Movement {
    /// Open (new or open) after the earlier run.
    pub reported: u64,
    /// Of those, after the later run: fixed, no longer delivered, accepted, still open.
    pub fixed: u64,
    pub gone: u64,
    pub accepted: u64,
    pub still_open: u64,
    /// Open after the later run and first seen after the earlier one.
    pub new: u64,
    /// Open after the later run.
    pub open: u64,
}

impl Movement {
    /// Count one problem first seen after run `first_seen`, between runs `before` (0: none)
    /// and `now`.
    pub fn add(&mut self, statuses: &Statuses, first_seen: i64, before: i64, now: i64) {
        let now_open = status_at(statuses, now).is_some_and(Status::is_open);
        self.open += u64::from(now_open);
        self.new += u64::from(now_open && first_seen > before);
        if !status_at(statuses, before).is_some_and(Status::is_open) {
            return;
        }
        self.reported += 1;
        match status_at(statuses, now) {
            Some(Status::Fixed) => self.fixed += 1,
            Some(Status::Gone) => self.gone += 1,
            Some(Status::Accepted) => self.accepted += 1,
            _ => self.still_open += 1,
        }
    }

    /// Add another provider's or table's counts.
    pub fn merge(&mut self, other: &Movement) {
        self.reported += other.reported;
        self.fixed += other.fixed;
        self.gone += other.gone;
        self.accepted += other.accepted;
        self.still_open += other.still_open;
        self.new += other.new;
        self.open += other.open;
    }

    /// 整改率: the share of the reported problems fixed since; `None` when none was reported.
    #[allow(clippy::cast_precision_loss)] // a share for display
    pub fn rate(&self) -> Option<f64> {
        (self.reported > 0).then(|| self.fixed as f64 / self.reported as f64)
    }
}

/// Every (rule, record) pair the table's anomaly export holds. A record that has neither
/// a key nor a place (a cluster export of a row with a key value missing) cannot be
/// followed and is left out.
pub fn observe(table: &BoundTable, export: &Path) -> Result<Vec<Observed>> {
    let mut out = Vec::new();
    read_export(export, |row| {
        let Some(key) = problem_key(&table.key, &row) else {
            return true;
        };
        let provider = table
            .provider
            .as_deref()
            .and_then(|p| row.value(p))
            .map(str::to_string);
        for rule in &row.failed_rules {
            out.push(Observed {
                rule: rule.clone(),
                key: key.clone(),
                provider: provider.clone(),
            });
        }
        true
    })?;
    out.sort();
    out.dedup_by(|a, b| a.rule == b.rule && a.key == b.key);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_join_their_values_and_places_name_their_file() {
        assert_eq!(
            record_key([Some("a"), Some("1")]).as_deref(),
            Some("a\u{1f}1")
        );
        assert_eq!(record_key([Some("a"), None]), None);
        assert_eq!(record_key([Some(" ")]), None);
        let k = place_key("/d/x:y.csv", Position::Line(7));
        assert_eq!(k, "@/d/x:y.csv:7");
        assert_eq!(place_file(&k), Some("/d/x:y.csv"));
        assert_eq!(
            place_file(&place_key("a.parquet", Position::Row(3))),
            Some("a.parquet")
        );
        assert_eq!(place_file("plain"), None);
        for s in Status::ALL {
            assert_eq!(Status::parse(s.name()), Some(s));
        }
    }

    #[test]
    fn movements_count_what_became_of_the_problems_an_earlier_run_left_open() {
        use Status::{Accepted, Fixed, Gone, New, Open};
        // (statuses, first seen) of seven problems, judged between runs 2 and 4.
        let problems: [(&Statuses, i64); 7] = [
            (&[(1, New), (2, Open), (4, Fixed)], 1),
            (&[(2, New), (3, Gone)], 2),
            (&[(1, New), (3, Accepted)], 1),
            (&[(2, New), (3, Fixed), (4, Open)], 2),
            (&[(3, New)], 3),
            (&[(1, New), (2, Fixed)], 1),
            (&[(5, New)], 5),
        ];
        let mut m = Movement::default();
        for (statuses, first) in problems {
            m.add(statuses, first, 2, 4);
        }
        assert_eq!(
            m,
            Movement {
                reported: 4,
                fixed: 1,
                gone: 1,
                accepted: 1,
                still_open: 1,
                new: 1,
                open: 2,
            }
        );
        assert_eq!(m.rate(), Some(0.25));
        assert_eq!(status_at(problems[0].0, 0), None);
        assert_eq!(status_at(problems[0].0, 3), Some(Open));
        // Without an earlier run nothing was reported: every open problem is new.
        let mut first = Movement::default();
        for (statuses, seen) in problems {
            first.add(statuses, seen, 0, 4);
        }
        assert_eq!((first.reported, first.new, first.open), (0, 2, 2));
        assert_eq!(first.rate(), None);
    }
}
