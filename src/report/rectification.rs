//! The report's rectification section (整改情况): per provider, what became of the problems
//! last month's feedback reported, what is new, the share fixed (整改率), the oldest problems
//! still open, the replies waiting for the center, and the same over twelve months.
//!
//! Counted from the problems' statuses after each month's run (`problem_event`), so a report
//! rebuilt later gives the same figures; replies are those imported by the time it is built.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::error::Result;
use crate::results::problems::{KEY_SEPARATOR, Movement, Status, place_file, status_at};
use crate::results::store::{ProblemFilter, Store, StoredRun};
use crate::rules::TableRef;
use crate::rules::pii::Pii;

/// Oldest open problems listed per provider.
const OLDEST: usize = 3;

/// A library's rectification section.
#[derive(Debug, Clone, Serialize)]
pub struct RectificationReport {
    /// The previous month's run the reported problems come from; `None`: there was none,
    /// so nothing counts as reported.
    pub since_run: Option<String>,
    /// Over all providers.
    pub total: Movement,
    pub rate: Option<f64>,
    /// Providers with any problem open now or reported last month, most open first.
    pub providers: Vec<ProviderRectification>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProviderRectification {
    /// `None` for records without a provider.
    pub provider: Option<String>,
    #[serde(flatten)]
    pub movement: Movement,
    /// 整改率: fixed / reported.
    pub rate: Option<f64>,
    /// Open problems whose latest reply says 确认无误 (the record is right), waiting for the
    /// center to accept or refuse it (`qc problems accept`).
    pub awaiting_acceptance: u64,
    /// Open problems whose latest reply says 已整改, failing again in a later run.
    pub claimed_fixed_still_failing: u64,
    /// Open problems whose latest reply says 无法整改.
    pub cannot_fix: u64,
    /// The oldest problems open now, oldest first.
    pub oldest: Vec<OldProblem>,
    /// The twelve months ending with this one, oldest first.
    pub trend: Vec<RectificationPoint>,
}

/// An open problem, as the section lists it.
#[derive(Debug, Clone, Serialize)]
pub struct OldProblem {
    pub id: i64,
    pub table: String,
    pub rule: String,
    /// The record's key values joined by ` / ` (masked as the report is), or its place.
    pub record: String,
    pub first_seen: String,
    /// Days from its first sighting to this month's run.
    pub age_days: i64,
}

/// A month of a provider's trend: how its problems moved from the month before's run to this
/// month's, and 整改率; `None` for a month without a run.
#[derive(Debug, Clone, Serialize)]
pub struct RectificationPoint {
    pub month: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub movement: Option<Movement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
}

/// A month and its run of the library: (`YYYY-MM`, run id and `run_seq`, if any).
pub type MonthRun = (String, Option<(String, i64)>);

/// A library's problems counted for its section: per provider, while they stream by.
pub struct Counted {
    months: Vec<MonthRun>,
    /// Per month after the first: (the run before, or 0, and the month's run).
    windows: Vec<Option<(i64, i64)>>,
    per_provider: BTreeMap<Option<String>, Tally>,
}

/// Count the problems of every library in `months` (per library, the thirteen months ending
/// with the report's, oldest first; the first only to count the second's reported problems)
/// in one pass over the store. A library without a run this month, or without a problem
/// recorded by it, has no entry.
pub fn count(
    store: &Store,
    months: BTreeMap<String, Vec<MonthRun>>,
) -> Result<BTreeMap<String, Counted>> {
    let mut counted: BTreeMap<String, Counted> = BTreeMap::new();
    let mut until: BTreeMap<String, i64> = BTreeMap::new();
    for (library, months) in months {
        let Some((_, Some((_, now)))) = months.last() else {
            continue;
        };
        until.insert(library.clone(), *now);
        let windows = months
            .windows(2)
            .map(|w| {
                w[1].1
                    .as_ref()
                    .map(|(_, at)| (w[0].1.as_ref().map_or(0, |(_, b)| *b), *at))
            })
            .collect();
        counted.insert(
            library,
            Counted {
                months,
                windows,
                per_provider: BTreeMap::new(),
            },
        );
    }
    let mut replies = BTreeMap::new();
    for (library, now) in &until {
        replies.insert(library.clone(), store.replies_until(library, *now)?);
    }
    store.problem_histories(&until, |library, p| {
        let (Some(c), Some(replies), Some(now)) = (
            counted.get_mut(library),
            replies.get(library),
            until.get(library),
        ) else {
            return;
        };
        let now = *now;
        if !c.per_provider.contains_key(&p.provider) {
            c.per_provider
                .insert(p.provider.clone(), Tally::new(c.windows.len()));
        }
        let Some(tally) = c.per_provider.get_mut(&p.provider) else {
            return;
        };
        for (i, w) in c.windows.iter().enumerate() {
            if let Some((before, at)) = w {
                tally.months[i].add(&p.statuses, p.first_seen, *before, *at);
            }
        }
        if !status_at(&p.statuses, now).is_some_and(Status::is_open) {
            return;
        }
        tally.oldest.insert((p.first_seen, p.id));
        if tally.oldest.len() > OLDEST {
            tally.oldest.pop_last();
        }
        match replies.get(&p.id) {
            Some((answer, _)) if answer == "correct" => tally.awaiting += 1,
            Some((answer, _)) if answer == "cannot_fix" => tally.cannot_fix += 1,
            // A reply to the feedback of an earlier run, and the problem failed again since.
            Some((answer, answered)) if answer == "fixed" && *answered < now => {
                tally.claimed_fixed += 1;
            }
            _ => {}
        }
    })?;
    counted.retain(|_, c| !c.per_provider.is_empty());
    Ok(counted)
}

/// The section for `library` of `run` from its counts: the oldest problems' details read,
/// their records masked as the report is.
pub fn finish(
    store: &Store,
    counted: Counted,
    library: &str,
    run: &StoredRun,
    mask: bool,
) -> Result<RectificationReport> {
    let Counted {
        months,
        windows,
        per_provider,
    } = counted;
    let this = windows.len().saturating_sub(1);
    let oldest_ids: Vec<i64> = per_provider
        .values()
        .flat_map(|t| t.oldest.iter().map(|(_, id)| *id))
        .collect();
    let details: BTreeMap<i64, crate::results::store::ProblemRow> = store
        .problems(&ProblemFilter {
            library: Some(library.to_string()),
            ids: Some(oldest_ids),
            ..ProblemFilter::default()
        })?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let mut total = Movement::default();
    let mut providers: Vec<ProviderRectification> = per_provider
        .into_iter()
        .map(|(provider, t)| {
            let movement = t.months.get(this).copied().unwrap_or_default();
            total.merge(&movement);
            ProviderRectification {
                provider,
                rate: movement.rate(),
                movement,
                awaiting_acceptance: t.awaiting,
                claimed_fixed_still_failing: t.claimed_fixed,
                cannot_fix: t.cannot_fix,
                oldest: t
                    .oldest
                    .iter()
                    .filter_map(|(_, id)| details.get(id))
                    .map(|p| OldProblem {
                        id: p.id,
                        table: p.table.clone(),
                        rule: p.rule.clone(),
                        record: shown_record(run, library, &p.table, &p.key, mask),
                        age_days: day(&p.first_seen)
                            .zip(day(&run.as_of))
                            .map_or(0, |(f, n)| (n - f).num_days()),
                        first_seen: p.first_seen.clone(),
                    })
                    .collect(),
                trend: months
                    .iter()
                    .skip(1)
                    .zip(&windows)
                    .zip(&t.months)
                    .map(|(((month, _), w), m)| RectificationPoint {
                        month: month.clone(),
                        movement: w.map(|_| *m),
                        rate: w.and_then(|_| m.rate()),
                    })
                    .collect(),
            }
        })
        .filter(|p| p.movement.open > 0 || p.movement.reported > 0)
        .collect();
    providers.sort_by(|a, b| {
        b.movement
            .open
            .cmp(&a.movement.open)
            .then_with(|| a.provider.cmp(&b.provider))
    });
    Ok(RectificationReport {
        since_run: months
            .len()
            .checked_sub(2)
            .and_then(|i| months[i].1.as_ref())
            .map(|(id, _)| id.clone()),
        rate: total.rate(),
        total,
        providers,
    })
}

/// A provider's counts while the problems stream by.
struct Tally {
    /// Per month of the trend.
    months: Vec<Movement>,
    /// (first seen, id) of the oldest open problems.
    oldest: BTreeSet<(i64, i64)>,
    awaiting: u64,
    claimed_fixed: u64,
    cannot_fix: u64,
}

impl Tally {
    fn new(months: usize) -> Tally {
        Tally {
            months: vec![Movement::default(); months],
            oldest: BTreeSet::new(),
            awaiting: 0,
            claimed_fixed: 0,
            cannot_fix: 0,
        }
    }
}

/// A problem's record as the report shows it: its key values joined by ` / `, each masked by
/// its column's kind of personal data when masking is on (every value, as an ID number,
/// when the run does not describe the table); a place is shown by its file's name.
fn shown_record(run: &StoredRun, library: &str, table: &str, key: &str, mask: bool) -> String {
    if let Some(file) = place_file(key) {
        // The file's name and the line or row; the folders are the center's own.
        let name = std::path::Path::new(file)
            .file_name()
            .map_or_else(|| file.into(), |n| n.to_string_lossy());
        return format!("{name}{}", &key[1 + file.len()..]);
    }
    let values = key.split(KEY_SEPARATOR).map(Some);
    match run
        .table_texts
        .get(&TableRef::new(library, table).to_string())
    {
        Some(text) => text.shown_key(values, mask),
        // A table the run does not describe: every value masked as an ID number.
        None if mask => values
            .flatten()
            .map(|v| Pii::IdNumber.mask(v))
            .collect::<Vec<_>>()
            .join(" / "),
        None => key.replace(KEY_SEPARATOR, " / "),
    }
}
