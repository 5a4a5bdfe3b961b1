//! Working days in China: weekdays, minus the statutory holidays, plus the make-up working
//! days (调休) of the State Council's yearly notices. The calendar is a CSV file of ranges
//! (`kind,first,last,holiday`; `kind` is `off` or `work`): `rules/codelists/cn_workdays.csv`
//! is compiled into qc, and a pack folder's own `codelists/cn_workdays.csv` replaces it for
//! the packs of that folder, so next year's notice is added without rebuilding qc.
//!
//! The calendar covers whole years, from the first to the last year holding an `off` row.
//! Outside them a function fails with an error naming the date: a day it cannot judge is
//! never guessed from the weekday alone.
//!
//! SQL functions: `qc_is_workday(d)`, `qc_add_workdays(d, n)` (the n-th working day after
//! `d`, before it when n < 0, `d` itself when n = 0) and `qc_workdays_between(a, b)` (the
//! working days after `a` up to and including `b`; negative when `b` is before `a`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use arrow::compute::kernels::arity::try_binary;
use arrow::datatypes::{DataType, Date32Type, Int64Type};
use arrow::error::ArrowError;
use chrono::{Datelike, NaiveDate};
use datafusion::common::{DataFusionError, exec_err};
use datafusion::error::Result;
use datafusion::execution::registry::FunctionRegistry;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

use crate::values::{days, days_from_civil, from_days};

/// The calendar's file name in a `codelists/` folder.
pub const FILE_NAME: &str = "cn_workdays.csv";

const BUILTIN_TEXT: &str = include_str!("../../rules/codelists/cn_workdays.csv");
const BUILTIN_ORIGIN: &str = "rules/codelists/cn_workdays.csv (built into qc)";

/// A working-day calendar over whole years.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Calendar {
    /// Where the calendar was read from, for messages.
    origin: String,
    first_year: i32,
    last_year: i32,
    /// Days since 1970-01-01 of 1 January of `first_year`.
    start: i32,
    /// Working days strictly before each day of the covered years, and one entry past the
    /// end: `before[i + 1] - before[i]` is 1 when day `start + i` is a working day.
    before: Vec<u32>,
}

impl Calendar {
    /// The calendar compiled into qc.
    ///
    /// # Panics
    /// Never at run time: the compiled-in file is parsed by the unit tests.
    pub fn builtin() -> Arc<Calendar> {
        static BUILTIN: OnceLock<Arc<Calendar>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                Arc::new(
                    Calendar::parse(BUILTIN_TEXT, BUILTIN_ORIGIN)
                        .expect("the built-in working-day calendar parses (tested)"),
                )
            })
            .clone()
    }

    /// The calendar for the packs of `pack_dir`: its `codelists/cn_workdays.csv` when there
    /// is one, else the built-in one.
    pub fn beside(pack_dir: &Path) -> std::result::Result<Arc<Calendar>, String> {
        let path: PathBuf = pack_dir.join("codelists").join(FILE_NAME);
        if !path.is_file() {
            return Ok(Calendar::builtin());
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let calendar = Calendar::parse(&text, &path.display().to_string())?;
        // The shipped file beside the shipped packs is the built-in one: share it.
        let builtin = Calendar::builtin();
        Ok(if calendar.same_days(&builtin) {
            builtin
        } else {
            Arc::new(calendar)
        })
    }

    /// Parse calendar `text` (see the module documentation); `origin` names it in errors,
    /// which give the line and what was expected.
    pub fn parse(text: &str, origin: &str) -> std::result::Result<Calendar, String> {
        let mut ranges = Vec::new();
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, header))
                if header
                    .trim_start_matches('\u{feff}')
                    .starts_with("kind,first,last") => {}
            _ => {
                return Err(format!(
                    "{origin}:1: expected the header `kind,first,last,holiday`"
                ));
            }
        }
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let at = |what: &str| format!("{origin}:{}: {what}: `{line}`", i + 1);
            let mut fields = line.split(',').map(str::trim);
            let work = match fields.next() {
                Some("off") => false,
                Some("work") => true,
                _ => return Err(at("expected `off` or `work` in the first column")),
            };
            let mut date = || {
                fields
                    .next()
                    .and_then(|f| NaiveDate::parse_from_str(f, "%Y-%m-%d").ok())
            };
            let (Some(first), Some(last)) = (date(), date()) else {
                return Err(at("expected two dates YYYY-MM-DD (first, last)"));
            };
            if last < first {
                return Err(at("the last day is before the first"));
            }
            ranges.push((work, first, last));
        }
        let off_years = ranges
            .iter()
            .filter(|r| !r.0)
            .flat_map(|r| [r.1.year(), r.2.year()]);
        let (Some(first_year), Some(last_year)) = (off_years.clone().min(), off_years.max()) else {
            return Err(format!("{origin}: the calendar holds no `off` row"));
        };
        let start = days_from_civil(first_year, 1, 1);
        let end = days_from_civil(last_year + 1, 1, 1);
        let len = usize::try_from(end - start).unwrap_or(0);
        let mut work: Vec<bool> = (start..end)
            .map(|d| from_days(d).is_some_and(|d| d.weekday().number_from_monday() <= 5))
            .collect();
        for (is_work, first, last) in ranges {
            for d in days(first)..=days(last) {
                if let Some(slot) = usize::try_from(d - start)
                    .ok()
                    .and_then(|i| work.get_mut(i))
                {
                    *slot = is_work;
                }
            }
        }
        let mut before = Vec::with_capacity(len + 1);
        let mut count = 0u32;
        before.push(0);
        for w in work {
            count += u32::from(w);
            before.push(count);
        }
        Ok(Calendar {
            origin: origin.to_string(),
            first_year,
            last_year,
            start,
            before,
        })
    }

    /// Whether both calendars judge every day alike.
    pub fn same_days(&self, other: &Calendar) -> bool {
        (self.first_year, self.last_year, &self.before)
            == (other.first_year, other.last_year, &other.before)
    }

    /// Whether this is the calendar compiled into qc.
    pub fn is_builtin(&self) -> bool {
        self.origin == BUILTIN_ORIGIN
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    fn outside(&self, day: i32) -> String {
        let shown = from_days(day).map_or_else(|| day.to_string(), |d| d.to_string());
        format!(
            "{shown} is outside the working-day calendar ({}–{}, {}): add the State Council's \
             holiday notice for its year to the calendar file",
            self.first_year, self.last_year, self.origin
        )
    }

    fn index(&self, day: i32) -> std::result::Result<usize, String> {
        usize::try_from(day - self.start)
            .ok()
            .filter(|&i| i + 1 < self.before.len())
            .ok_or_else(|| self.outside(day))
    }

    /// The first and last day the calendar covers (days since 1970-01-01).
    pub fn covers(&self) -> (i32, i32) {
        (self.start, days_from_civil(self.last_year + 1, 1, 1) - 1)
    }

    /// Whether `day` (days since 1970-01-01) is a working day.
    pub fn is_workday(&self, day: i32) -> std::result::Result<bool, String> {
        let i = self.index(day)?;
        Ok(self.before[i + 1] > self.before[i])
    }

    /// The working days after `a` up to and including `b`; negative when `b` is before `a`.
    pub fn between(&self, a: i32, b: i32) -> std::result::Result<i64, String> {
        let (i, j) = (self.index(a)?, self.index(b)?);
        Ok(i64::from(self.before[j + 1]) - i64::from(self.before[i + 1]))
    }

    /// The `n`-th working day after `day` (before it when `n` < 0; `day` when `n` = 0).
    pub fn add(&self, day: i32, n: i64) -> std::result::Result<i32, String> {
        let i = self.index(day)?;
        if n == 0 {
            return Ok(day);
        }
        // The ordinal (1-based, over the calendar) of the working day wanted: `n` after the
        // working days up to and including `day`, or `-n` before those strictly before it.
        let wanted = if n > 0 {
            i64::from(self.before[i + 1]) + n
        } else {
            i64::from(self.before[i]) + n + 1
        };
        let reachable = u32::try_from(wanted).ok().filter(|&w| w >= 1);
        let k = reachable.and_then(|w| {
            let k = self.before.partition_point(|&c| c < w);
            (k >= 1 && k < self.before.len()).then_some(k - 1)
        });
        match k {
            Some(k) => Ok(self.start + i32::try_from(k).unwrap_or(i32::MAX)),
            None => Err(format!(
                "{n} working days from {} leave {}",
                from_days(day).map_or_else(|| day.to_string(), |d| d.to_string()),
                self.outside(if n > 0 {
                    days_from_civil(self.last_year + 1, 1, 1)
                } else {
                    self.start - 1
                })
            )),
        }
    }
}

/// The three working-day functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkdayQuery {
    IsWorkday,
    Add,
    Between,
}

/// A working-day function over one calendar.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct WorkdayFn {
    query: WorkdayQuery,
    calendar: Arc<Calendar>,
    signature: Signature,
}

impl WorkdayFn {
    pub fn new(query: WorkdayQuery, calendar: Arc<Calendar>) -> WorkdayFn {
        let args = match query {
            WorkdayQuery::IsWorkday => vec![DataType::Date32],
            WorkdayQuery::Add => vec![DataType::Date32, DataType::Int64],
            WorkdayQuery::Between => vec![DataType::Date32, DataType::Date32],
        };
        WorkdayFn {
            query,
            calendar,
            signature: Signature::exact(args, Volatility::Immutable),
        }
    }

    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }
}

/// The calendar's own message inside an arrow error.
fn message(e: ArrowError) -> String {
    match e {
        ArrowError::ComputeError(m) => m,
        other => other.to_string(),
    }
}

fn fail(name: &str, message: &str) -> DataFusionError {
    DataFusionError::Execution(format!("{name}: {message}"))
}

impl ScalarUDFImpl for WorkdayFn {
    fn name(&self) -> &'static str {
        match self.query {
            WorkdayQuery::IsWorkday => "qc_is_workday",
            WorkdayQuery::Add => "qc_add_workdays",
            WorkdayQuery::Between => "qc_workdays_between",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.query {
            WorkdayQuery::IsWorkday => DataType::Boolean,
            WorkdayQuery::Add => DataType::Date32,
            WorkdayQuery::Between => DataType::Int64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let cal = &self.calendar;
        let n = args.number_rows;
        let out: ArrayRef = match (self.query, arrays.as_slice()) {
            (WorkdayQuery::IsWorkday, [d]) => {
                let d = d.as_primitive::<Date32Type>();
                let v: BooleanArray = (0..n)
                    .map(|i| {
                        (!d.is_null(i))
                            .then(|| cal.is_workday(d.value(i)))
                            .transpose()
                    })
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|e| fail(name, &e))?;
                Arc::new(v)
            }
            // Both arguments present: `try_binary` calls the calendar on those rows only.
            (WorkdayQuery::Add, [d, k]) => Arc::new(
                try_binary::<_, _, _, Date32Type>(
                    d.as_primitive::<Date32Type>(),
                    k.as_primitive::<Int64Type>(),
                    |d, k| cal.add(d, k).map_err(ArrowError::ComputeError),
                )
                .map_err(|e| fail(name, &message(e)))?,
            ),
            (WorkdayQuery::Between, [a, b]) => Arc::new(
                try_binary::<_, _, _, Int64Type>(
                    a.as_primitive::<Date32Type>(),
                    b.as_primitive::<Date32Type>(),
                    |a, b| cal.between(a, b).map_err(ArrowError::ComputeError),
                )
                .map_err(|e| fail(name, &message(e)))?,
            ),
            _ => return exec_err!("{name}: wrong number of arguments"),
        };
        super::dates::columnar(&args, out)
    }
}

/// The working-day functions over `calendar`.
pub fn functions(calendar: &Arc<Calendar>) -> Vec<ScalarUDF> {
    [
        WorkdayQuery::IsWorkday,
        WorkdayQuery::Add,
        WorkdayQuery::Between,
    ]
    .into_iter()
    .map(|q| ScalarUDF::new_from_impl(WorkdayFn::new(q, calendar.clone())))
    .collect()
}

/// Make rule SQL planned on `ctx` use `calendar`.
pub fn register(ctx: &SessionContext, calendar: &Arc<Calendar>) {
    for f in functions(calendar) {
        ctx.register_udf(f);
    }
}

/// The calendar rule SQL planned on `ctx` uses.
pub fn registered(ctx: &SessionContext) -> Option<Arc<Calendar>> {
    let udf = ctx.udf("qc_is_workday").ok()?;
    let f = udf.inner().downcast_ref::<WorkdayFn>()?;
    Some(f.calendar.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> i32 {
        days(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    fn show(d: i32) -> String {
        from_days(d).unwrap().to_string()
    }

    #[test]
    fn builtin_calendar_covers_2010_to_2026_with_make_up_days() {
        let cal = Calendar::builtin();
        assert_eq!((cal.first_year, cal.last_year), (2010, 2026));
        // A 调休 Saturday is a working day; a holiday Monday is not.
        assert_eq!(cal.is_workday(day("2026-02-14")), Ok(true)); // Saturday, 春节 make-up
        assert_eq!(cal.is_workday(day("2026-02-23")), Ok(false)); // Monday, 春节
        assert_eq!(cal.is_workday(day("2026-11-28")), Ok(false)); // plain Saturday
        assert_eq!(cal.is_workday(day("2026-11-27")), Ok(true)); // plain Friday
        assert_eq!(cal.is_workday(day("2015-09-03")), Ok(false)); // 70th anniversary
        assert_eq!(cal.is_workday(day("2015-09-06")), Ok(true)); // its make-up Sunday
        assert_eq!(cal.is_workday(day("2020-01-31")), Ok(false)); // 2020 extension
        // Working days in 2026, counted by hand from the notice: 365 days, 104 weekend days;
        // weekday holidays 元旦 2 (1 Jan Thu, 2 Jan Fri), 春节 6 (16–20, 23 Feb), 清明 1 (6 Apr),
        // 劳动 3 (1, 4, 5 May), 端午 1 (19 Jun), 中秋 1 (25 Sep), 国庆 5 (1, 2, 5, 6, 7 Oct)
        // = 19 weekday holidays; make-up days 4 Jan, 14 Feb, 28 Feb, 9 May, 20 Sep, 10 Oct = 6.
        assert_eq!(
            cal.between(day("2025-12-31"), day("2026-12-31")),
            Ok(365 - 104 - 19 + 6)
        );
    }

    #[test]
    fn adding_and_counting_working_days_agree() {
        let cal = Calendar::builtin();
        // Issued on Tuesday 29 Sep 2026: 30 Sep (Wed) is a working day, 1–7 Oct are off,
        // 10 Oct (Sat) is a make-up day.
        let issued = day("2026-09-29");
        assert_eq!(show(cal.add(issued, 1).unwrap()), "2026-09-30");
        assert_eq!(show(cal.add(issued, 2).unwrap()), "2026-10-08");
        assert_eq!(show(cal.add(issued, 4).unwrap()), "2026-10-10");
        assert_eq!(show(cal.add(issued, 5).unwrap()), "2026-10-12");
        assert_eq!(show(cal.add(issued, 0).unwrap()), "2026-09-29");
        assert_eq!(show(cal.add(day("2026-10-08"), -1).unwrap()), "2026-09-30");
        // From a day off, the first working day after it is the next working day.
        assert_eq!(show(cal.add(day("2026-10-03"), 1).unwrap()), "2026-10-08");
        assert_eq!(show(cal.add(day("2026-10-03"), -1).unwrap()), "2026-09-30");
        for start in [
            issued,
            day("2026-10-03"),
            day("2010-01-01"),
            day("2026-02-14"),
        ] {
            for n in -20..=20 {
                let Ok(end) = cal.add(start, n) else { continue };
                // Counting back from a day off starts at the working day before it.
                if n > 0 || cal.is_workday(start) == Ok(true) {
                    assert_eq!(cal.between(start, end), Ok(n), "{} {n}", show(start));
                }
                if n != 0 {
                    assert_eq!(cal.is_workday(end), Ok(true));
                }
            }
        }
        assert_eq!(cal.between(day("2026-10-12"), issued), Ok(-5));
    }

    #[test]
    fn dates_outside_the_calendar_are_errors_naming_the_date() {
        let cal = Calendar::builtin();
        let e = cal.is_workday(day("2027-01-04")).unwrap_err();
        assert!(e.contains("2027-01-04") && e.contains("2010–2026"), "{e}");
        assert!(cal.is_workday(day("2009-12-31")).is_err());
        let e = cal.add(day("2026-12-30"), 5).unwrap_err();
        assert!(e.contains("2026-12-30"), "{e}");
        assert!(cal.add(day("2010-01-05"), -5).is_err());
    }

    #[test]
    fn malformed_calendar_files_name_the_line() {
        let e = Calendar::parse("kind,first,last,holiday\noff,2026-01-01,x,元旦\n", "c.csv")
            .unwrap_err();
        assert!(e.starts_with("c.csv:2:"), "{e}");
        let e = Calendar::parse("a,b\n", "c.csv").unwrap_err();
        assert!(e.starts_with("c.csv:1:"), "{e}");
        let e =
            Calendar::parse("kind,first,last\nrest,2026-01-01,2026-01-02\n", "c.csv").unwrap_err();
        assert!(e.contains("`off` or `work`"), "{e}");
        assert!(Calendar::parse("kind,first,last\nwork,2026-01-04,2026-01-04\n", "c").is_err());
    }

    #[test]
    fn a_pack_folder_calendar_extends_the_years() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("codelists")).unwrap();
        let text = format!("{BUILTIN_TEXT}off,2027-01-01,2027-01-01,元旦\n");
        std::fs::write(dir.path().join("codelists").join(FILE_NAME), text).unwrap();
        let cal = Calendar::beside(dir.path()).unwrap();
        assert!(!cal.is_builtin());
        assert_eq!(cal.last_year, 2027);
        assert_eq!(cal.is_workday(day("2027-01-01")), Ok(false));
        assert_eq!(cal.is_workday(day("2027-01-04")), Ok(true));
        let shipped = Calendar::beside(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("rules")
                .as_path(),
        )
        .unwrap();
        assert!(shipped.is_builtin());
    }
}
