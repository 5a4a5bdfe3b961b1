//! Relations between columns, counted in the profile's pass: the birth date and sex an ID
//! number encodes against a date column and a sex-code column, the order of two date
//! columns, an age against the full years between two dates, and dates later than the day
//! of the profile. Which columns take part is decided once, from a sample (the scan's first
//! rows), so that every worker counts the same relations; the counts are exact over all
//! well-formed rows, and count exactly the rows the rules [`super::suggest`] writes for them
//! fail.

use arrow::array::{BooleanArray, RecordBatch};
use serde::{Deserialize, Serialize};

use chrono::Datelike;

use super::copies::{Copied, CopyAcc, CopyRoles};
use super::deadlines::{Deadline, DeadlineAcc, DeadlineRoles};
use super::implied::{self, Feature, Implication, ImpliedAcc, Part};
use super::numbers::{Fences, NumberRoles, NumbersAcc};
use super::places::{Named, PlaceRoles, Placed, PlacesAcc};
use super::prefixes::{CodeRoles, MIN_LEVEL, PrefixAcc, Shared};
use super::read::{self, days, ints, texts};
use crate::checks::certificate as cert;
use crate::checks::dates::age_years;
use crate::checks::id_number as id;
use crate::rules::BoundColumn;
use crate::values;

/// At most this many columns take each role (their pairs grow as the square).
const MAX_PER_ROLE: usize = 8;
/// A role needs this share of a sample column's non-NULL values.
const ROLE_SHARE: f64 = 0.8;
/// The oldest age a value of an age column may read as.
const MAX_AGE: i64 = 150;
/// The business types a certificate's type letters stand for.
const BUSINESSES: [&str; 4] = ["结婚", "离婚", "补领结婚证", "补领离婚证"];

/// One relation's counts (`profile.json`'s `relations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Relation {
    /// The birth date of the ID number in `id` (in normal form) against the date column:
    /// rows where both are read, and those where they differ.
    IdBirthDate {
        id: String,
        date: String,
        compared: u64,
        differ: u64,
    },
    /// The sex of the ID number (`1` odd sequence digit, `2` even) against the text of a
    /// sex-code column: rows where both are present, and those where they differ.
    IdSex {
        id: String,
        sex: String,
        compared: u64,
        differ: u64,
    },
    /// Two date columns of one row, where both are present: how often `left` is earlier
    /// than, equal to or later than `right`.
    Order {
        left: String,
        right: String,
        less: u64,
        equal: u64,
        greater: u64,
        /// The days from `left` to `right`, where they span a narrow range.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        days: Option<DayGap>,
        /// Two number columns rather than dates.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        numbers: bool,
    },
    /// A number or date column against fences drawn from the sample: values present, and
    /// those below or above the fences.
    Range {
        column: String,
        compared: u64,
        fences: Fences,
    },
    /// Two code columns: rows by how many leading characters their values share.
    Prefix {
        left: String,
        right: String,
        shared: Shared,
    },
    /// A point (longitude, latitude) against the district code beside it.
    Point {
        longitude: String,
        latitude: String,
        district: String,
        placed: Placed,
    },
    /// The district an address text names against the district code beside it.
    AddressDistrict {
        address: String,
        district: String,
        named: Named,
    },
    /// An integer column against the full years from one date to another (`qc_age_years`):
    /// rows where all three are present, and those where they differ.
    Age {
        age: String,
        from: String,
        to: String,
        compared: u64,
        differ: u64,
    },
    /// A part of a marriage certificate number (`year`, `organ`: the division code,
    /// `business`: the business type its type letters stand for) against another column
    /// (a date's year, a code, a business type): rows where both are read, those differing.
    CertPart {
        cert: String,
        part: String,
        column: String,
        compared: u64,
        differ: u64,
    },
    /// Values of `from` (or of its first character, or its presence) that go with one value
    /// of `to` (or its presence) in at least 99 % of their rows where `to` is known, while
    /// that value is at most 90 % of `to`'s values overall.
    Implies {
        from: String,
        from_part: Part,
        to: String,
        to_part: Part,
        implications: Vec<Implication>,
    },
    /// A column repeating the person key of the ID number in `of` (`qc_id_canonical`), on
    /// every row or from a day on.
    Copy {
        column: String,
        of: String,
        copied: Copied,
    },
    /// The working days from one date to another where a column of few values holds one
    /// value, with a deadline tighter than over all rows.
    Deadline {
        from: String,
        to: String,
        column: String,
        value: String,
        deadline: Deadline,
    },
    /// A date column against the day of the profile: dates present, and those later.
    Later {
        column: String,
        day: String,
        compared: u64,
        later: u64,
    },
}

/// The days from one date to another in the rows with both, where most of them lie within
/// a year: percentiles, the range they span without far outliers, and the rows outside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayGap {
    /// The 1st and 99th percentiles.
    pub p01: i64,
    pub p99: i64,
    /// The smallest and largest gaps within the fences (a quarter of the 1–99 percentile
    /// spread beyond each percentile, not across zero unless the percentiles are): the
    /// range the gaps span without far outliers.
    pub min: i64,
    pub max: i64,
    /// Rows whose gap lies outside `min..=max`.
    pub outside: u64,
}

/// The share of rows a relation holds in for the page to list it.
pub const PAGE_SHARE: f64 = 0.95;

/// Gaps of up to this many days either way are counted one by one.
const GAP_WINDOW: i64 = 4096;
/// Gaps are reported for a pair whose 1–99 percentile spread is at most this many days.
const GAP_SPREAD: i64 = 366;

/// The days between two date columns, counted exactly within ±[`GAP_WINDOW`].
#[derive(Debug, Clone)]
struct Gaps {
    /// Rows by gap + `GAP_WINDOW` (allocated at the first gap).
    counts: Vec<u64>,
    below: u64,
    above: u64,
}

impl Gaps {
    fn new() -> Gaps {
        Gaps {
            counts: Vec::new(),
            below: 0,
            above: 0,
        }
    }

    fn add(&mut self, gap: i64) {
        if gap < -GAP_WINDOW {
            self.below += 1;
        } else if gap >= GAP_WINDOW {
            self.above += 1;
        } else {
            if self.counts.is_empty() {
                self.counts = vec![0; 2 * GAP_WINDOW as usize];
            }
            self.counts[(gap + GAP_WINDOW) as usize] += 1;
        }
    }

    fn merge(&mut self, other: Gaps) {
        self.below += other.below;
        self.above += other.above;
        if self.counts.is_empty() {
            self.counts = other.counts;
        } else {
            for (a, b) in self.counts.iter_mut().zip(other.counts) {
                *a += b;
            }
        }
    }

    /// The gap summary, if the 1st to 99th percentiles lie within [`GAP_SPREAD`] days and
    /// inside the window (so that every gap beyond the window is beyond the fences too).
    fn finish(&self) -> Option<DayGap> {
        let n: u64 = self.below + self.above + self.counts.iter().sum::<u64>();
        if n == 0 {
            return None;
        }
        let gap = |i: usize| i as i64 - GAP_WINDOW;
        // The gap at rank `k` (0-based) among the counted ones; `None` outside the window.
        let at_rank = |k: u64| {
            let mut seen = self.below;
            if k < seen {
                return None;
            }
            for (i, c) in self.counts.iter().enumerate() {
                seen += c;
                if k < seen {
                    return Some(gap(i));
                }
            }
            None
        };
        let p01 = at_rank(n / 100)?;
        let p99 = at_rank((n * 99).div_ceil(100).saturating_sub(1))?;
        let spread = p99 - p01;
        if spread > GAP_SPREAD {
            return None;
        }
        // Fences a quarter of the spread beyond the percentiles, never across zero when the
        // bulk keeps to one side of it (dates in order stay in order).
        let mut low = p01 - spread / 4 - 1;
        let mut high = p99 + spread / 4 + 1;
        if p01 >= 0 {
            low = low.max(0);
        }
        if p99 <= 0 {
            high = high.min(0);
        }
        let within = |i: &usize| (low..=high).contains(&gap(*i));
        let present = |i: &usize| self.counts[*i] > 0;
        let min = (0..self.counts.len())
            .filter(present)
            .find(within)
            .map(gap)?;
        let max = (0..self.counts.len())
            .rev()
            .filter(present)
            .find(within)
            .map(gap)?;
        let inside: u64 = self.counts[(min + GAP_WINDOW) as usize..=(max + GAP_WINDOW) as usize]
            .iter()
            .sum();
        Some(DayGap {
            p01,
            p99,
            min,
            max,
            outside: n - inside,
        })
    }
}

/// The columns taking each role (indexes into the table's columns), chosen from a sample.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    ids: Vec<usize>,
    dates: Vec<usize>,
    sexes: Vec<usize>,
    ages: Vec<usize>,
    /// Marriage certificate numbers.
    certs: Vec<usize>,
    /// Six-digit codes (a certificate's division code is compared with them).
    codes: Vec<usize>,
    /// Business types (结婚, 离婚, 补领结婚证, 补领离婚证).
    businesses: Vec<usize>,
    /// Columns of few values (and code columns' first characters) whose values may imply
    /// each other's.
    features: Vec<Feature>,
    /// Number and date columns with their fences, and pairs of number columns.
    numbers: NumberRoles,
    /// Code columns whose leading characters are compared pairwise.
    prefixes: CodeRoles,
    /// Coordinates and address text against a district code.
    places: PlaceRoles,
    /// Columns that may repeat an ID column's person key.
    copies: CopyRoles,
    /// Date pairs and columns of few values whose values may set a deadline.
    deadlines: DeadlineRoles,
    /// The day of the profile, days since 1970-01-01.
    today: i32,
}

impl Roles {
    /// The roles the well-formed rows `well_formed` of `sample` support.
    pub fn from_sample(
        columns: &[BoundColumn],
        sample: &RecordBatch,
        well_formed: &[usize],
        today: i32,
    ) -> Roles {
        let mut roles = Roles {
            today,
            features: implied::features(columns, sample, well_formed),
            numbers: NumberRoles::from_sample(columns, sample, well_formed),
            prefixes: CodeRoles::from_sample(columns, sample, well_formed),
            places: PlaceRoles::from_sample(columns, sample, well_formed),
            deadlines: DeadlineRoles::from_sample(columns, sample, well_formed),
            ..Roles::default()
        };
        for (i, c) in columns.iter().enumerate() {
            let Some(array) = sample.column_by_name(&c.name) else {
                continue;
            };
            let present = read::present(array, well_formed);
            // The share of the sample's non-NULL values `test` accepts.
            let share = |test: &dyn Fn(usize) -> bool| {
                if present.is_empty() {
                    return 0.0;
                }
                present.iter().filter(|&&r| test(r)).count() as f64 / present.len() as f64
            };
            let text = texts(array);
            let at = |r: usize| text.as_ref().and_then(|t| t[r]).unwrap_or("");
            let days = days(array);
            let ints = ints(array);
            let is_code = |r: usize| at(r).len() == 6 && at(r).bytes().all(|b| b.is_ascii_digit());
            if text.is_some() && share(&|r| id_parts(at(r)).0.is_some()) >= ROLE_SHARE {
                push(&mut roles.ids, i);
            } else if text.is_some() && share(&|r| cert::parts(at(r)).is_some()) >= ROLE_SHARE {
                push(&mut roles.certs, i);
            } else if text.is_some() && share(&is_code) >= ROLE_SHARE {
                push(&mut roles.codes, i);
            } else if text.is_some() && share(&|r| BUSINESSES.contains(&at(r))) >= ROLE_SHARE {
                push(&mut roles.businesses, i);
            } else if text.is_some() && share(&|r| matches!(at(r), "1" | "2")) >= ROLE_SHARE {
                push(&mut roles.sexes, i);
            } else if days
                .as_ref()
                .is_some_and(|d| share(&|r| d[r].is_some()) >= ROLE_SHARE)
            {
                push(&mut roles.dates, i);
            } else if ints.as_ref().is_some_and(|n| {
                share(&|r| n[r].is_some_and(|n| (0..=MAX_AGE).contains(&n))) >= ROLE_SHARE
            }) {
                push(&mut roles.ages, i);
            }
        }
        roles.copies =
            CopyRoles::from_sample(columns, sample, well_formed, &roles.ids, &roles.dates);
        roles
    }

    /// Ordered pairs of different date columns (index pairs into `dates`).
    fn date_pairs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let n = self.dates.len();
        (0..n).flat_map(move |a| (0..n).filter(move |&b| b != a).map(move |b| (a, b)))
    }
}

fn push(role: &mut Vec<usize>, column: usize) {
    if role.len() < MAX_PER_ROLE {
        role.push(column);
    }
}

/// The relations' counts so far, in one worker.
#[derive(Debug, Clone)]
pub struct RelationsAcc {
    roles: Roles,
    /// `[compared, differ]` per (id, date), id-major.
    id_birth: Vec<[u64; 2]>,
    /// `[compared, differ]` per (id, sex), id-major.
    id_sex: Vec<[u64; 2]>,
    /// `[less, equal, greater]` per pair of dates `a < b`.
    order: Vec<[u64; 3]>,
    /// Days from `a` to `b` per pair of dates `a < b`.
    gaps: Vec<Gaps>,
    /// `[compared, differ]` per (age, ordered date pair), age-major.
    age: Vec<[u64; 2]>,
    /// `[compared, later]` per date.
    later: Vec<[u64; 2]>,
    /// `[compared, differ]` per (certificate, date), (certificate, code) and (certificate,
    /// business type), certificate-major.
    cert_year: Vec<[u64; 2]>,
    cert_organ: Vec<[u64; 2]>,
    cert_business: Vec<[u64; 2]>,
    implied: ImpliedAcc,
    numbers: NumbersAcc,
    prefixes: PrefixAcc,
    places: PlacesAcc,
    copies: CopyAcc,
    deadlines: DeadlineAcc,
}

impl RelationsAcc {
    pub fn new(roles: Roles) -> RelationsAcc {
        let (i, d, s, a) = (
            roles.ids.len(),
            roles.dates.len(),
            roles.sexes.len(),
            roles.ages.len(),
        );
        RelationsAcc {
            id_birth: vec![[0; 2]; i * d],
            id_sex: vec![[0; 2]; i * s],
            order: vec![[0; 3]; d * d.saturating_sub(1) / 2],
            gaps: vec![Gaps::new(); d * d.saturating_sub(1) / 2],
            age: vec![[0; 2]; a * d * d.saturating_sub(1)],
            later: vec![[0; 2]; d],
            cert_year: vec![[0; 2]; roles.certs.len() * d],
            cert_organ: vec![[0; 2]; roles.certs.len() * roles.codes.len()],
            cert_business: vec![[0; 2]; roles.certs.len() * roles.businesses.len()],
            implied: ImpliedAcc::new(roles.features.clone()),
            numbers: NumbersAcc::new(roles.numbers.clone()),
            prefixes: PrefixAcc::new(roles.prefixes.clone()),
            places: PlacesAcc::new(roles.places),
            copies: CopyAcc::new(roles.copies.clone()),
            deadlines: DeadlineAcc::new(roles.deadlines.clone()),
            roles,
        }
    }

    /// Count `batch`'s rows that `keep` marks well-formed (all rows without it).
    pub fn update(
        &mut self,
        columns: &[BoundColumn],
        batch: &RecordBatch,
        keep: Option<&BooleanArray>,
    ) {
        self.implied.update(columns, batch, keep);
        self.numbers.update(columns, batch, keep);
        self.prefixes.update(columns, batch, keep);
        self.places.update(columns, batch, keep);
        self.copies.update(columns, batch, keep);
        self.deadlines.update(columns, batch, keep);
        let r = &self.roles;
        if r.dates.is_empty() && (r.ids.is_empty() || r.sexes.is_empty()) && r.certs.is_empty() {
            return;
        }
        let rows = batch.num_rows();
        let id_values = read::role_values(batch, columns, &r.ids, |a| {
            texts(a).map(|t| {
                t.iter()
                    .map(|v| Some(v.map_or((None, None), id_parts)))
                    .collect()
            })
        });
        let dates = read::role_values(batch, columns, &r.dates, days);
        let sexes = read::role_values(batch, columns, &r.sexes, texts);
        let ages = read::role_values(batch, columns, &r.ages, ints);
        let certs = read::role_values(batch, columns, &r.certs, |a| {
            texts(a).map(|t| t.into_iter().map(|v| v.and_then(cert::parts)).collect())
        });
        let codes = read::role_values(batch, columns, &r.codes, texts);
        let businesses = read::role_values(batch, columns, &r.businesses, texts);
        let pairs: Vec<(usize, usize)> = r.date_pairs().collect();
        let today = r.today;
        for row in 0..rows {
            if keep.is_some_and(|k| !k.value(row)) {
                continue;
            }
            for (k, ids) in id_values.iter().enumerate() {
                let (birth, sex) = ids[row].unwrap_or((None, None));
                if let Some(birth) = birth {
                    for (d, date) in dates.iter().enumerate() {
                        if let Some(date) = date[row] {
                            let c = &mut self.id_birth[k * dates.len() + d];
                            c[0] += 1;
                            c[1] += u64::from(birth != date);
                        }
                    }
                }
                if let Some(sex) = sex {
                    for (s, stated) in sexes.iter().enumerate() {
                        if let Some(stated) = stated[row] {
                            let c = &mut self.id_sex[k * sexes.len() + s];
                            c[0] += 1;
                            c[1] += u64::from(sex != stated);
                        }
                    }
                }
            }
            let mut pair = 0;
            #[allow(clippy::needless_range_loop)] // `a` also counts the pairs skipped
            for a in 0..dates.len() {
                let Some(x) = dates[a][row] else {
                    pair += dates.len() - a - 1;
                    continue;
                };
                let later = &mut self.later[a];
                later[0] += 1;
                later[1] += u64::from(x > today);
                for date in &dates[a + 1..] {
                    if let Some(y) = date[row] {
                        self.order[pair][usize::from(x >= y) + usize::from(x > y)] += 1;
                        self.gaps[pair].add(i64::from(y) - i64::from(x));
                    }
                    pair += 1;
                }
            }
            for (k, cert) in certs.iter().enumerate() {
                let Some((kind, organ, year, _)) = cert[row] else {
                    continue;
                };
                let count = |into: &mut [u64; 2], differ: bool| {
                    into[0] += 1;
                    into[1] += u64::from(differ);
                };
                for (d, date) in dates.iter().enumerate() {
                    if let Some(day) = date[row].and_then(values::from_days) {
                        count(&mut self.cert_year[k * dates.len() + d], day.year() != year);
                    }
                }
                for (c, code) in codes.iter().enumerate() {
                    if let Some(code) = code[row] {
                        count(&mut self.cert_organ[k * codes.len() + c], code != organ);
                    }
                }
                let business = cert::business_type(kind);
                for (b, stated) in businesses.iter().enumerate() {
                    if let Some(stated) = stated[row] {
                        count(
                            &mut self.cert_business[k * businesses.len() + b],
                            business != Some(stated),
                        );
                    }
                }
            }
            for (k, age) in ages.iter().enumerate() {
                let Some(age) = age[row] else { continue };
                for (p, &(a, b)) in pairs.iter().enumerate() {
                    if let (Some(from), Some(to)) = (dates[a][row], dates[b][row]) {
                        let c = &mut self.age[k * pairs.len() + p];
                        c[0] += 1;
                        c[1] += u64::from(Some(age) != years(from, to));
                    }
                }
            }
        }
    }

    pub fn merge(&mut self, other: RelationsAcc) {
        fn add<const N: usize>(into: &mut [[u64; N]], from: Vec<[u64; N]>) {
            for (a, b) in into.iter_mut().zip(from) {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
            }
        }
        add(&mut self.id_birth, other.id_birth);
        add(&mut self.id_sex, other.id_sex);
        add(&mut self.order, other.order);
        for (a, b) in self.gaps.iter_mut().zip(other.gaps) {
            a.merge(b);
        }
        add(&mut self.age, other.age);
        add(&mut self.later, other.later);
        add(&mut self.cert_year, other.cert_year);
        add(&mut self.cert_organ, other.cert_organ);
        add(&mut self.cert_business, other.cert_business);
        self.implied.merge(&other.implied);
        self.numbers.merge(&other.numbers);
        self.prefixes.merge(&other.prefixes);
        self.places.merge(&other.places);
        self.copies.merge(&other.copies);
        self.deadlines.merge(&other.deadlines);
    }

    /// The relations with their counts; those never compared are left out.
    pub fn finish(self, columns: &[BoundColumn]) -> Vec<Relation> {
        let r = &self.roles;
        let name = |i: usize| columns[i].name.clone();
        let mut out = Vec::new();
        for (k, &i) in r.ids.iter().enumerate() {
            for (d, &j) in r.dates.iter().enumerate() {
                let [compared, differ] = self.id_birth[k * r.dates.len() + d];
                out.push(Relation::IdBirthDate {
                    id: name(i),
                    date: name(j),
                    compared,
                    differ,
                });
            }
            for (s, &j) in r.sexes.iter().enumerate() {
                let [compared, differ] = self.id_sex[k * r.sexes.len() + s];
                out.push(Relation::IdSex {
                    id: name(i),
                    sex: name(j),
                    compared,
                    differ,
                });
            }
        }
        let mut pair = 0;
        for a in 0..r.dates.len() {
            for b in a + 1..r.dates.len() {
                let [less, equal, greater] = self.order[pair];
                out.push(Relation::Order {
                    left: name(r.dates[a]),
                    right: name(r.dates[b]),
                    less,
                    equal,
                    greater,
                    days: self.gaps[pair].finish(),
                    numbers: false,
                });
                pair += 1;
            }
        }
        let pairs: Vec<(usize, usize)> = r.date_pairs().collect();
        for (k, &i) in r.ages.iter().enumerate() {
            for (p, &(a, b)) in pairs.iter().enumerate() {
                let [compared, differ] = self.age[k * pairs.len() + p];
                out.push(Relation::Age {
                    age: name(i),
                    from: name(r.dates[a]),
                    to: name(r.dates[b]),
                    compared,
                    differ,
                });
            }
        }
        for (k, &i) in r.certs.iter().enumerate() {
            for (part, columns, counts) in [
                ("year", &r.dates, &self.cert_year),
                ("organ", &r.codes, &self.cert_organ),
                ("business", &r.businesses, &self.cert_business),
            ] {
                for (c, &j) in columns.iter().enumerate() {
                    let [compared, differ] = counts[k * columns.len() + c];
                    out.push(Relation::CertPart {
                        cert: name(i),
                        part: part.to_string(),
                        column: name(j),
                        compared,
                        differ,
                    });
                }
            }
        }
        for ((from, from_part), (to, to_part), implications) in self.implied.finish(columns) {
            out.push(Relation::Implies {
                from,
                from_part,
                to,
                to_part,
                implications,
            });
        }
        let (fenced, ordered) = self.numbers.finish(columns);
        for (column, compared, fences) in fenced {
            out.push(Relation::Range {
                column,
                compared,
                fences,
            });
        }
        for (left, right, [less, equal, greater]) in ordered {
            out.push(Relation::Order {
                left,
                right,
                less,
                equal,
                greater,
                days: None,
                numbers: true,
            });
        }
        for (left, right, shared) in self.prefixes.finish(columns) {
            out.push(Relation::Prefix {
                left,
                right,
                shared,
            });
        }
        let (point, address) = self.places.finish(columns);
        if let Some((longitude, latitude, district, placed)) = point {
            out.push(Relation::Point {
                longitude,
                latitude,
                district,
                placed,
            });
        }
        if let Some((address, district, named)) = address {
            out.push(Relation::AddressDistrict {
                address,
                district,
                named,
            });
        }
        for (column, of, copied) in self.copies.finish(columns) {
            out.push(Relation::Copy { column, of, copied });
        }
        for (from, to, column, value, deadline) in self.deadlines.finish(columns) {
            out.push(Relation::Deadline {
                from,
                to,
                column,
                value,
                deadline,
            });
        }
        let day = values::from_days(r.today).map_or_else(String::new, |d| d.to_string());
        for (d, &i) in r.dates.iter().enumerate() {
            let [compared, later] = self.later[d];
            out.push(Relation::Later {
                column: name(i),
                day: day.clone(),
                compared,
                later,
            });
        }
        out.retain(|r| r.holds().0 > 0);
        out
    }
}

impl Relation {
    /// Rows where the relation could be judged, and rows where it holds (for an order, the
    /// usual way round).
    pub fn holds(&self) -> (u64, u64) {
        match self {
            Relation::IdBirthDate {
                compared, differ, ..
            }
            | Relation::IdSex {
                compared, differ, ..
            }
            | Relation::Age {
                compared, differ, ..
            }
            | Relation::CertPart {
                compared, differ, ..
            } => (*compared, compared - differ),
            Relation::Order {
                less,
                equal,
                greater,
                ..
            } => {
                let n = less + equal + greater;
                (n, n - less.min(greater))
            }
            Relation::Implies { implications, .. } => (
                implications.iter().map(|i| i.rows).sum(),
                implications.iter().map(|i| i.agree).sum(),
            ),
            Relation::Later {
                compared, later, ..
            } => (*compared, compared - later),
            Relation::Range {
                compared, fences, ..
            } => (*compared, compared - fences.below - fences.above),
            Relation::Prefix { shared, .. } => {
                shared.agree(shared.level(PAGE_SHARE).unwrap_or(MIN_LEVEL))
            }
            Relation::Point { placed, .. } => (placed.compared, placed.compared - placed.outside),
            Relation::AddressDistrict { named, .. } => {
                (named.compared, named.compared - named.differ)
            }
            Relation::Copy { copied, .. } => (copied.compared, copied.compared - copied.differ),
            Relation::Deadline { deadline: d, .. } => (d.compared, d.compared - d.late),
        }
    }

    /// The columns it relates.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Relation::IdBirthDate { id, date, .. } => vec![id, date],
            Relation::IdSex { id, sex, .. } => vec![id, sex],
            Relation::Order { left, right, .. } | Relation::Prefix { left, right, .. } => {
                vec![left, right]
            }
            Relation::Age { age, from, to, .. } => vec![age, from, to],
            Relation::CertPart { cert, column, .. } => vec![cert, column],
            Relation::Copy { column, of, copied } => match &copied.since {
                Some((date, _)) => vec![column, of, date],
                None => vec![column, of],
            },
            Relation::Deadline {
                from, to, column, ..
            } => vec![from, to, column],
            Relation::Implies { from, to, .. } => vec![from, to],
            Relation::Later { column, .. } | Relation::Range { column, .. } => vec![column],
            Relation::Point {
                longitude,
                latitude,
                district,
                ..
            } => vec![longitude, latitude, district],
            Relation::AddressDistrict {
                address, district, ..
            } => vec![address, district],
        }
    }

    /// What it says, in Chinese or English.
    pub fn describe(&self, zh: bool) -> String {
        let pick = |a: String, b: String| if zh { a } else { b };
        match self {
            Relation::IdBirthDate { id, date, .. } => pick(
                format!("{id} 中的出生日期等于 {date}"),
                format!("the birth date in {id} equals {date}"),
            ),
            Relation::IdSex { id, sex, .. } => pick(
                format!("{id} 的性别位与 {sex} 一致"),
                format!("the sex digit of {id} agrees with {sex}"),
            ),
            Relation::Order {
                left,
                right,
                less,
                greater,
                days,
                numbers,
                ..
            } => {
                let (a, b) = if greater <= less {
                    (left, right)
                } else {
                    (right, left)
                };
                let gap = days.as_ref().map_or(String::new(), |d| {
                    pick(
                        format!("（相差 {}–{} 天）", d.min, d.max),
                        format!(" ({} to {} days apart)", d.min, d.max),
                    )
                });
                match numbers {
                    true => pick(format!("{a} 不大于 {b}"), format!("{a} is at most {b}")),
                    false => pick(
                        format!("{a} 不晚于 {b}{gap}"),
                        format!("{a} is not after {b}{gap}"),
                    ),
                }
            }
            Relation::Age { age, from, to, .. } => pick(
                format!("{age} 等于 {from} 至 {to} 的周岁数"),
                format!("{age} equals the full years from {from} to {to}"),
            ),
            Relation::CertPart {
                cert, part, column, ..
            } => pick(
                format!("{cert} 的 {part} 部分与 {column} 一致"),
                format!("the {part} in {cert} agrees with {column}"),
            ),
            Relation::Implies {
                from,
                from_part,
                to,
                to_part,
                implications,
            } => {
                let of = |part: &Part| match (part, zh) {
                    (Part::Value, _) => "",
                    (Part::First, true) => "首字符",
                    (Part::First, false) => " (first character)",
                    (Part::Presence, true) => "是否填写",
                    (Part::Presence, false) => " (filled or not)",
                    (Part::Valid, true) => "是否为有效身份号码",
                    (Part::Valid, false) => " (a valid citizen ID or not)",
                    (Part::Kind, true) => "的号码类型",
                    (Part::Kind, false) => " (kind of ID number)",
                };
                let (f, t, n) = (of(from_part), of(to_part), implications.len());
                pick(
                    format!("{from}{f} 的 {n} 个值各对应 {to}{t} 的一个值"),
                    format!("{n} values of {from}{f} each go with one value of {to}{t}"),
                )
            }
            Relation::Later { column, day, .. } => pick(
                format!("{column} 不晚于 {day}"),
                format!("{column} is not after {day}"),
            ),
            Relation::Range { column, fences, .. } => {
                let low = if fences.low_inclusive { "[" } else { "(" };
                let (l, h) = (&fences.low, &fences.high);
                pick(
                    format!("{column} 在 {low}{l}, {h}] 内"),
                    format!("{column} lies within {low}{l}, {h}]"),
                )
            }
            Relation::Prefix {
                left,
                right,
                shared,
            } => {
                let k = shared.level(PAGE_SHARE).unwrap_or(MIN_LEVEL);
                pick(
                    format!("{left} 与 {right} 的前 {k} 位相同"),
                    format!("{left} and {right} share their first {k} characters"),
                )
            }
            Relation::Point {
                longitude,
                latitude,
                district,
                ..
            } => pick(
                format!("（{longitude}, {latitude}）落在 {district} 所填区内"),
                format!("({longitude}, {latitude}) lies inside the district in {district}"),
            ),
            Relation::AddressDistrict {
                address, district, ..
            } => pick(
                format!("{address} 中的区名与 {district} 一致"),
                format!("the district named in {address} agrees with {district}"),
            ),
            Relation::Copy { column, of, copied } => {
                let since = copied.since.as_ref().map_or(String::new(), |(d, day)| {
                    pick(
                        format!("（{d} 为 {day} 及以后）"),
                        format!(" (where {d} is {day} or later)"),
                    )
                });
                pick(
                    format!("{column} 等于 {of} 的规范号码{since}"),
                    format!("{column} equals the normal form of {of}{since}"),
                )
            }
            Relation::Deadline {
                from,
                to,
                column,
                value,
                deadline,
            } => {
                let n = deadline.within;
                pick(
                    format!("{column} 为 {value} 时，{to} 在 {from} 后 {n} 个工作日内"),
                    format!("where {column} is {value}, {to} is within {n} working days of {from}"),
                )
            }
        }
    }
}

/// The birth date (days) and sex an ID number encodes, judged in normal form as the
/// `id_number` check kind does with `normalize: true`.
fn id_parts(s: &str) -> (Option<i32>, Option<&'static str>) {
    if id::is_normalized(s) {
        return (id::birth_days(s), id::sex(s));
    }
    match id::normalize(s) {
        Some(n) => (id::birth_days(&n), id::sex(&n)),
        None => (None, None),
    }
}

/// Full years from `from` to `to` (days), as `qc_age_years` counts them.
fn years(from: i32, to: i32) -> Option<i64> {
    Some(age_years(values::from_days(from)?, values::from_days(to)?))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Date32Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::rules::ColumnType;

    fn day(s: &str) -> i32 {
        values::parse_date(s, &[]).unwrap()
    }

    #[test]
    fn gaps_span_the_bulk_and_count_the_far_outliers() {
        let mut gaps = Gaps::new();
        // 31 to 60 days, ten rows each; three far outliers; one beyond the window.
        for gap in 31..=60 {
            for _ in 0..10 {
                gaps.add(gap);
            }
        }
        for gap in [10, 10, 75, 9000] {
            gaps.add(gap);
        }
        let mut other = Gaps::new();
        other.add(45);
        gaps.merge(other);
        // 305 gaps: the 1st percentile is rank 3 (31), the 99th rank 301 (60); the fences
        // lie 8 days beyond them (23 and 68).
        assert_eq!(
            gaps.finish(),
            Some(DayGap {
                p01: 31,
                p99: 60,
                min: 31,
                max: 60,
                outside: 4
            })
        );
        // Decades apart: no narrow range.
        let mut wide = Gaps::new();
        for gap in (0..4000).step_by(10) {
            wide.add(gap);
        }
        assert_eq!(wide.finish(), None);
    }

    #[test]
    fn counts_follow_the_rules_semantics() {
        let columns = vec![
            BoundColumn::plain("id", ColumnType::String),
            BoundColumn::plain("sex", ColumnType::String),
            BoundColumn::plain("birth", ColumnType::Date),
            BoundColumn::plain("death", ColumnType::Date),
            BoundColumn::plain("age", ColumnType::Int),
        ];
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("sex", DataType::Utf8, true),
            Field::new("birth", DataType::Date32, true),
            Field::new("death", DataType::Date32, true),
            Field::new("age", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                // A valid number (born 1949-12-31, female); the same lower-case and padded;
                // one born 1980-01-01 (male); a passport; one born 1990-05-05 (female).
                Arc::new(StringArray::from(vec![
                    Some("11010519491231002X"),
                    Some(" 11010519491231002x"),
                    Some("310115198001011238"),
                    Some("E12345678"),
                    Some("110105199005050024"),
                ])),
                Arc::new(StringArray::from(vec![
                    Some("2"),
                    Some("1"),
                    Some("1"),
                    Some("2"),
                    Some("2"),
                ])),
                Arc::new(Date32Array::from(vec![
                    Some(day("1949-12-31")),
                    Some(day("1949-12-30")),
                    Some(day("1980-01-01")),
                    None,
                    Some(day("1990-05-05")),
                ])),
                Arc::new(Date32Array::from(vec![
                    Some(day("2020-12-30")),
                    Some(day("2020-12-31")),
                    Some(day("1979-12-31")),
                    Some(day("2999-01-01")),
                    Some(day("2020-05-05")),
                ])),
                Arc::new(Int64Array::from(vec![
                    Some(70),
                    Some(71),
                    Some(0),
                    Some(5),
                    None,
                ])),
            ],
        )
        .unwrap();
        let rows: Vec<usize> = (0..batch.num_rows()).collect();
        let roles = Roles::from_sample(&columns, &batch, &rows, day("2026-11-30"));
        assert_eq!(
            (
                roles.ids.clone(),
                roles.sexes.clone(),
                roles.dates.clone(),
                roles.ages.clone()
            ),
            (vec![0], vec![1], vec![2, 3], vec![4])
        );
        let mut acc = RelationsAcc::new(roles.clone());
        let keep = BooleanArray::from(vec![true, true, true, true, true]);
        acc.update(&columns, &batch, Some(&keep));
        let mut other = RelationsAcc::new(roles);
        other.update(&columns, &batch, Some(&BooleanArray::from(vec![false; 5])));
        acc.merge(other);
        let found = acc.finish(&columns);
        let get = |want: &dyn Fn(&Relation) -> bool| found.iter().find(|r| want(r)).cloned();
        // Birth: rows 0–2 and 4 have a readable number and a birth date; row 1's differs by
        // a day.
        assert_eq!(
            get(&|r| matches!(r, Relation::IdBirthDate { date, .. } if date == "birth")),
            Some(Relation::IdBirthDate {
                id: "id".into(),
                date: "birth".into(),
                compared: 4,
                differ: 1
            })
        );
        // Sex: rows 0–2 and 4; row 1 is a woman's number stated as 1.
        assert_eq!(
            get(&|r| matches!(r, Relation::IdSex { .. })),
            Some(Relation::IdSex {
                id: "id".into(),
                sex: "sex".into(),
                compared: 4,
                differ: 1
            })
        );
        // Order birth vs death over rows 0, 1, 2, 4: row 2 died before birth.
        assert_eq!(
            get(&|r| matches!(r, Relation::Order { .. })),
            Some(Relation::Order {
                left: "birth".into(),
                right: "death".into(),
                less: 3,
                equal: 0,
                greater: 1,
                // Decades apart: no narrow range of days.
                days: None,
                numbers: false,
            })
        );
        // Age from birth to death over rows 0–2: 70 right, 71 right (2020-12-31 is the
        // 71st birthday of 1949-12-30), 0 wrong (−1 years).
        assert_eq!(
            get(&|r| matches!(r, Relation::Age { from, .. } if from == "birth")),
            Some(Relation::Age {
                age: "age".into(),
                from: "birth".into(),
                to: "death".into(),
                compared: 3,
                differ: 1
            })
        );
        assert_eq!(
            get(&|r| matches!(r, Relation::Later { column, .. } if column == "death")),
            Some(Relation::Later {
                column: "death".into(),
                day: "2026-11-30".into(),
                compared: 5,
                later: 1
            })
        );
    }
}
