//! Generator for the 死亡 library's `record` table (`rules/death.yaml`).
//!
//! Clean rows: deaths from 2017-01-01 to 2026-10-31 of distinct people of [`Space::Death`]
//! (born 1917–2016), the age field exact by construction, an ID number consistent with birth
//! and sex, a common underlying cause fitting the sex, certificates issued 0–2 days after
//! death, cremation 1–10 days after death (or not recorded). Certificates issued before
//! 2026-07-01 are numbered by the issuer (`DR…`) and reported within 14 days; from that day
//! (国卫规划发〔2026〕5号) the certificate code is the deceased's document number, or, for the
//! rare unidentified body (name and document type 无), the issuer's 统一社会信用代码 and a
//! serial, and paper certificates are reported within 15 working days, electronic ones
//! (30 %) within 5. Each defect breaks
//! exactly one rule, except that an impossible age typed into the age field also contradicts
//! the dates, and dates moved 80 years on may make the age exceed 122. Then
//! the set-based scenarios: one person's death certified from 2026-07-01 and recorded twice,
//! the second 3–30 days later (DEA-018; both copies carry the person's number: DEA-027); one
//! death (person and date) reported twice before 2026-07-01 (DEA-017); and, when
//! the marriage library is generated too, records appended for husbands who marry after
//! their recorded death.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, Duration, NaiveDate};
use rand::Rng as _;
use rand::rngs::StdRng;

use super::people::{DISTRICTS, Doc, Party, Space, Written, date, identity};
use super::table::{RowCx, TableGen, date_column, text_column};
use crate::checks::dates::age_years;
use crate::error::{Error, Result};

pub const TABLE: &str = "record";

static RULES: [&str; 34] = [
    "DEA-001", "DEA-002", "DEA-003", "DEA-004", "DEA-005", "DEA-006", "DEA-007", "DEA-008",
    "DEA-009", "DEA-010", "DEA-011", "DEA-012", "DEA-013", "DEA-014", "DEA-015", "DEA-016",
    "DEA-017", "DEA-018", "DEA-019", "DEA-020", "DEA-021", "DEA-022", "DEA-023", "DEA-024",
    "DEA-025", "DEA-026", "DEA-028", "DEA-029", "DEA-027", "DEA-030", "DEA-031", "DEA-032",
    "DEA-033", "DEA-034",
];
/// Row defects: one per row-level rule of the first sixteen, a loosely written ID number
/// (DEA-022), a document type that does not fit the number (DEA-021), then one each for
/// DEA-023 to DEA-026, DEA-028 and DEA-029, the presence rules DEA-030 to DEA-033, and a
/// perinatal cause for someone past their first birthday (DEA-034); then the scenarios'
/// pairs of rows.
const ROW_DEFECTS: usize = 29;

/// 2026-07-01, when 国卫规划发〔2026〕5号 changed certificate codes and reporting windows.
const NEW_CERTIFICATE: i32 = 20_635;
/// 2017-01-01 and 2026-10-31, the first and last days of death.
const FIRST_DEATH: i32 = 17_167;
const LAST_DEATH: i32 = 20_757;
/// The last death of a row injected for a rule of certificates issued by the audit date
/// (DEA-024 to DEA-026, DEA-033): issued at most 2 days after death, by 2026-10-31, so that the
/// rows stay the rules' at every `--as-of` from 2026-10-31 (a death on 2026-10-31 issued on
/// 2026-11-02 is not issued by an audit as of 2026-11-01, and was counted in the truth).
const LAST_ISSUED_DEATH: i32 = LAST_DEATH - 2;
/// Synthetic 统一社会信用代码 of the issuers of unidentified bodies' certificates.
const ISSUER_CODE: &str = "12310000425006012K";
/// A person's death recorded twice with different dates (certified from 2026-07-01).
const TWICE_FIRST: usize = ROW_DEFECTS;
const TWICE_SECOND: usize = ROW_DEFECTS + 1;
/// A death reported twice: one person, one death date, two certificates (before 2026-07-01).
const SAME_FIRST: usize = ROW_DEFECTS + 2;
const SAME_SECOND: usize = ROW_DEFECTS + 3;

/// Underlying causes for either sex (heart disease, stroke, lung cancer, COPD, diabetes, …).
const CAUSES: [&str; 10] = [
    "I21.9", "I63.9", "C34.9", "J44.9", "I25.1", "E11.9", "C16.9", "C22.0", "J18.9", "W19",
];
const PLACES: [&str; 5] = ["1", "2", "3", "4", "9"];
const HOSPITALS: [&str; 4] = ["市第一人民医院", "瑞金医院", "中山医院", "华山医院"];

/// How a record's certificate is numbered (`record_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Numbering {
    /// Not recorded (a defect).
    Missing,
    /// The issuer's own number, `DR` and the row index (certificates before 2026-07-01).
    Issuer,
    /// The deceased's document number in normal form (from 2026-07-01).
    Document,
    /// An unidentified body: the issuer's credit code and a 4-digit serial.
    Institution(u32),
}

/// One death record.
#[derive(Debug, Clone)]
pub struct Row {
    index: u64,
    numbering: Numbering,
    /// 证明形式: 1 paper, 2 electronic.
    medium: &'static str,
    /// No name, document, birth date, age or 户籍 are known (name and document type 无).
    unidentified: bool,
    /// The age field, when recorded.
    age_written: bool,
    /// Fields left empty by a defect: death date, underlying cause, ID number, medium.
    missing: [bool; 4],
    provider: String,
    person: Party,
    death: NaiveDate,
    age: i64,
    place: &'static str,
    pregnancy: Option<&'static str>,
    icd10: String,
    issue: NaiveDate,
    report: NaiveDate,
    cremation: Option<NaiveDate>,
    district: &'static str,
    /// The document type as written, when it differs from the person's document's.
    doc_written: Option<&'static str>,
}

/// The `record` table of `rules/death.yaml`.
pub struct Record {
    /// People whose death must be recorded before the given date (a marriage of theirs).
    pub before_marriage: Vec<(Party, NaiveDate)>,
    /// Wives who died before their widower remarried, with the death's date (clean records).
    pub widowed: Vec<(Party, NaiveDate)>,
}

impl Record {
    /// A clean record of `person`'s death on `death`.
    fn record(rng: &mut StdRng, index: u64, person: Party, death: NaiveDate) -> Row {
        let sex = person.sex;
        let (code, name) = DISTRICTS[rng.random_range(0..DISTRICTS.len())];
        // 户籍 where a citizen's ID number was issued, when that is outside Shanghai.
        let district = if person.address.starts_with("31") || person.doc != Doc::Citizen {
            // 崇明区 from 2016-07-22; 崇明县 before (a death recorded before a marriage
            // may be that early).
            if code == "310151" && crate::values::days(death) < 17_004 {
                "310230"
            } else {
                code
            }
        } else {
            person.address
        };
        let provider = if rng.random_bool(0.6) {
            HOSPITALS[rng.random_range(0..HOSPITALS.len())].to_string()
        } else {
            format!("{name}卫生健康委员会")
        };
        let age = age_years(person.birth, death);
        let mut row = Row {
            index,
            numbering: Numbering::Issuer,
            medium: "1",
            unidentified: false,
            age_written: true,
            missing: [false; 4],
            provider,
            person,
            death,
            age,
            place: PLACES[rng.random_range(0..PLACES.len())],
            pregnancy: match (sex, age < 50, rng.random_range(0..100)) {
                ("2", true, 0..5) => Some("1"),
                ("2", _, 0..50) => Some("2"),
                _ => None,
            },
            icd10: CAUSES[rng.random_range(0..CAUSES.len())].to_string(),
            issue: death,
            report: death,
            cremation: rng.random_bool(0.7).then_some(death),
            district,
            doc_written: None,
        };
        redate(&mut row, rng, death);
        row
    }
}

/// Move `row`'s death to `death`, with its certificate dates, cremation and age, issued,
/// numbered and reported by the rules in force on the day of issue.
fn redate(row: &mut Row, rng: &mut StdRng, death: NaiveDate) {
    row.death = death;
    row.age = age_years(row.person.birth, death);
    row.issue = death + Duration::days(rng.random_range(0..=2));
    row.cremation = row
        .cremation
        .map(|_| death + Duration::days(rng.random_range(1..=10)));
    if crate::values::days(row.issue) < NEW_CERTIFICATE {
        row.numbering = Numbering::Issuer;
        row.medium = "1";
        row.report = row.issue + Duration::days(rng.random_range(0..=14));
    } else {
        row.numbering = Numbering::Document;
        row.medium = if rng.random_bool(0.3) { "2" } else { "1" };
        let most = if row.medium == "2" { 5 } else { 15 };
        row.report = working_days_after(row.issue, rng.random_range(0..=most));
    }
}

/// The `n`-th working day after `day` (the calendar covers every generated date).
fn working_days_after(day: NaiveDate, n: i64) -> NaiveDate {
    let calendar = crate::checks::workdays::Calendar::builtin();
    calendar
        .add(crate::values::days(day), n)
        .ok()
        .and_then(crate::values::from_days)
        .unwrap_or(day + Duration::days(n * 2))
}

/// A death date drawn from `first..=last` (days since 1970-01-01), after `person`'s first
/// birthday.
fn death_between(rng: &mut StdRng, person: &Party, first: i32, last: i32) -> NaiveDate {
    let born = crate::values::days(person.birth) + 366;
    date(rng.random_range(first.max(born)..=last.max(born)))
}

impl TableGen for Record {
    type Row = Row;
    type Serials = ();

    fn name(&self) -> &'static str {
        TABLE
    }

    fn rules(&self) -> &'static [&'static str] {
        &RULES
    }

    fn defects(&self) -> usize {
        SAME_SECOND + 1
    }

    fn clean_row(&self, cx: &RowCx<'_>, rng: &mut StdRng, index: u64) -> Row {
        let sex = if rng.random_bool(0.5) { "1" } else { "2" };
        let person = identity(Space::Death, index, sex);
        let death = death_between(rng, &person, FIRST_DEATH, LAST_DEATH);
        let mut row = Record::record(rng, index, person, death);
        // One clean body in 997 of those certified from 2026-07-01 is unidentified; the
        // serial (index / 997, below 10 000) keeps their codes distinct. Anomalous rows keep
        // their documents: every defect is about a person with one.
        let serial = u32::try_from(index / 997).unwrap_or(u32::MAX);
        if row.numbering == Numbering::Document
            && index.is_multiple_of(997)
            && serial < 10_000
            && !cx.is_anomalous(index)
        {
            row.unidentified = true;
            row.numbering = Numbering::Institution(serial);
        }
        row
    }

    fn appended(&self, cx: &RowCx<'_>) -> Result<Vec<(Row, &'static [&'static str])>> {
        Ok(self
            .before_marriage
            .iter()
            .enumerate()
            .map(|(n, (person, married))| {
                let index = cx.rows + n as u64;
                let mut rng = cx.rng(index);
                let death = *married - Duration::days(rng.random_range(10..=400));
                let row = Record::record(&mut rng, index, person.clone(), death);
                (row, &RULES[18..19])
            })
            .chain(self.widowed.iter().enumerate().map(|(n, (person, died))| {
                let index = cx.rows + (self.before_marriage.len() + n) as u64;
                let row = Record::record(&mut cx.rng(index), index, person.clone(), *died);
                (row, &[][..])
            }))
            .collect())
    }

    fn apply(
        &self,
        cx: &RowCx<'_>,
        row: &mut Row,
        k: usize,
        ordinal: usize,
        rng: &mut StdRng,
    ) -> &'static [&'static str] {
        match k {
            // The last anomalous row has no second record.
            TWICE_FIRST | SAME_FIRST if ordinal + 1 == cx.anomalous.len() => {
                row.numbering = Numbering::Missing;
                return &RULES[0..1];
            }
            TWICE_FIRST => {
                // Certified from 2026-07-01, so both copies carry the person's number
                // (DEA-027); a later record exists (DEA-018), dated otherwise (not DEA-017).
                let death = death_between(rng, &row.person, NEW_CERTIFICATE, LAST_DEATH - 30);
                redate(row, rng, death);
                return &["DEA-018", "DEA-027"];
            }
            SAME_FIRST => {
                // Certified before 2026-07-01: the two certificates carry the issuers' numbers.
                let death = death_between(rng, &row.person, FIRST_DEATH, NEW_CERTIFICATE - 30);
                redate(row, rng, death);
                return &["DEA-017"];
            }
            SAME_SECOND => {
                let first = cx.anomalous[ordinal - 1];
                let (earlier, _, _) = super::table::row_at(self, cx, first);
                let index = cx.anomalous[ordinal];
                *row = Record::record(rng, index, earlier.person, earlier.death);
                // Issued 1–3 days after the first and reported after it.
                row.issue = earlier.issue + Duration::days(rng.random_range(1..=3));
                row.report = (row.issue + Duration::days(rng.random_range(0..=12)))
                    .max(earlier.report + Duration::days(1));
                row.cremation = earlier.cremation;
                return &["DEA-017"];
            }
            TWICE_SECOND => {
                let first = cx.anomalous[ordinal - 1];
                let (earlier, _, _) = super::table::row_at(self, cx, first);
                // 3 to 30 days on: issued after the first (the key is code and issue date),
                // and no death after 2026-11-30.
                let death = earlier.death + Duration::days(rng.random_range(3..=30));
                let index = cx.anomalous[ordinal];
                *row = Record::record(rng, index, earlier.person, death);
                return &["DEA-027"];
            }
            _ => {}
        }
        if (1..=3).contains(&k) || k == 23 {
            // These break the ID number itself: the person carries 居民身份证.
            row.person.as_citizen();
        }
        match k {
            16 => {
                row.person.as_citizen();
                row.person.written = Written::Loose;
                return &["DEA-022"];
            }
            17 => {
                row.person.doc = Doc::Passport;
                row.doc_written = Some(Doc::HkResident.death_code());
                return &["DEA-021"];
            }
            18 => {
                row.report = row.issue - Duration::days(rng.random_range(1..=5));
                return &["DEA-023"];
            }
            19 | 20 => {
                // Certified from 2026-07-01 and reported late: paper after 15 working days,
                // electronic after 5.
                let death = death_between(rng, &row.person, NEW_CERTIFICATE, LAST_ISSUED_DEATH);
                redate(row, rng, death);
                let (medium, late, rule) = if k == 19 {
                    ("1", 16..=25, "DEA-024")
                } else {
                    ("2", 6..=12, "DEA-025")
                };
                row.medium = medium;
                row.report = working_days_after(row.issue, rng.random_range(late));
                return match rule {
                    "DEA-024" => &["DEA-024"],
                    _ => &["DEA-025"],
                };
            }
            21 => {
                // Certified from 2026-07-01 but numbered the old way.
                let death = death_between(rng, &row.person, NEW_CERTIFICATE, LAST_ISSUED_DEATH);
                redate(row, rng, death);
                row.numbering = Numbering::Issuer;
                return &["DEA-026"];
            }
            22 => {
                // A woman whose underlying cause is a male genital cancer (C61 prostate).
                row.person.sex = "2";
                row.person.seq_for("2");
                row.icd10 = "C61".into();
                return &["DEA-028"];
            }
            28 => {
                // Every generated death follows the first birthday.
                row.icd10 = "P07.3".into();
                return &["DEA-034"];
            }
            24..=27 => {
                if k == 27 && crate::values::days(row.issue) < NEW_CERTIFICATE {
                    // The medium is recorded from 2026-07-01.
                    let death = death_between(rng, &row.person, NEW_CERTIFICATE, LAST_ISSUED_DEATH);
                    redate(row, rng, death);
                }
                row.missing[k - 24] = true;
                return &RULES[k + 5..=k + 5];
            }
            23 => {
                // A birth date typed after the death date; the ID number keeps the real one,
                // and no age is recorded.
                let p = &mut row.person;
                p.id_birth = Some(p.birth);
                p.birth = row.death + Duration::days(rng.random_range(1..=30));
                row.age_written = false;
                return &["DEA-029", "DEA-003"];
            }
            _ => {}
        }
        let p = &mut row.person;
        match k {
            0 => row.numbering = Numbering::Missing,
            1 => p.bad_check = true,
            2 => {
                // The column moves a day later (the age with it); the ID keeps the real date.
                p.id_birth = Some(p.birth);
                p.birth = p.birth.succ_opt().unwrap_or(p.birth);
                row.age = age_years(p.birth, row.death);
            }
            3 => {
                let other = if p.sex == "1" { "2" } else { "1" };
                p.seq_for(other);
            }
            4 => {
                // Every event date 80 years later, the age with them.
                let d = row.death;
                row.death =
                    NaiveDate::from_ymd_opt(d.year() + 80, d.month(), d.day().min(28)).unwrap_or(d);
                row.issue = row.death;
                row.report = row.death;
                row.cremation = row.cremation.map(|_| row.death + Duration::days(1));
                row.age = age_years(p.birth, row.death);
                if row.age > 122 {
                    return &["DEA-005", "DEA-007"];
                }
            }
            5 => row.age += 1,
            6 => {
                // An age no one reaches, typed into the age field: it no longer matches the
                // dates either (moving the birth date would move the ID number too).
                row.age = 130;
                return &["DEA-006", "DEA-007"];
            }
            7 => row.cremation = Some(row.death - Duration::days(3)),
            8 => row.icd10 = "I2".into(),
            9 => row.icd10 = "S06.9".into(),
            10 => {
                p.sex = "1";
                p.seq_for("1");
                row.pregnancy = None;
                row.icd10 = "O72".into();
            }
            11 => {
                p.sex = "1";
                p.seq_for("1");
                row.pregnancy = Some("1");
                if row.icd10.starts_with('O') {
                    row.icd10 = "I21.9".into();
                }
            }
            12 => row.place = "7",
            13 => {
                // Certified before 2026-07-01 (15 calendar days then).
                if crate::values::days(row.issue) >= NEW_CERTIFICATE {
                    let death = death_between(rng, &row.person, FIRST_DEATH, NEW_CERTIFICATE - 30);
                    redate(row, rng, death);
                }
                row.report = row.issue + Duration::days(30);
            }
            14 => {
                // 卢湾区, retired 2011 (past its grace year too); deaths are 2017+.
                row.district = "310103";
                return &["DEA-015", "DEA-020"];
            }
            _ => {
                row.issue = row.death - Duration::days(2);
                row.report = row.issue + Duration::days(1);
            }
        }
        &RULES[k..=k]
    }

    fn provider<'a>(&self, row: &'a Row) -> &'a str {
        &row.provider
    }

    fn schema(&self) -> SchemaRef {
        let s = |n: &str| Field::new(n, DataType::Utf8, true);
        let d = |n: &str| Field::new(n, DataType::Date32, true);
        Arc::new(Schema::new(vec![
            s("record_id"),
            s("provider"),
            s("name"),
            s("id_no"),
            s("sex"),
            d("birth_date"),
            d("death_date"),
            Field::new("age", DataType::Int64, true),
            s("death_place"),
            s("pregnancy"),
            s("icd10"),
            d("issue_date"),
            d("report_date"),
            d("cremation_date"),
            s("district_code"),
            s("id_type"),
            s("cert_medium"),
        ]))
    }

    fn batch(&self, rows: &[Row]) -> Result<RecordBatch> {
        let known = |r: &Row| !r.unidentified;
        let columns: Vec<ArrayRef> = vec![
            text_column(rows, |r| match r.numbering {
                Numbering::Missing => None,
                Numbering::Issuer => Some(format!("DR{:010}", r.index)),
                Numbering::Document => {
                    let mut proper = r.person.clone();
                    proper.written = Written::Normal;
                    Some(proper.id())
                }
                Numbering::Institution(serial) => Some(format!("{ISSUER_CODE}{serial:04}")),
            }),
            text_column(rows, |r| Some(r.provider.clone())),
            text_column(rows, |r| {
                Some(if known(r) {
                    r.person.name.clone()
                } else {
                    "无".to_string()
                })
            }),
            text_column(rows, |r| (known(r) && !r.missing[2]).then(|| r.person.id())),
            text_column(rows, |r| Some(r.person.sex.to_string())),
            date_column(rows, |r| known(r).then_some(r.person.birth)),
            date_column(rows, |r| (!r.missing[0]).then_some(r.death)),
            Arc::new(
                rows.iter()
                    .map(|r| (known(r) && r.age_written).then_some(r.age))
                    .collect::<Int64Array>(),
            ),
            text_column(rows, |r| Some(r.place.to_string())),
            text_column(rows, |r| r.pregnancy.map(str::to_string)),
            text_column(rows, |r| (!r.missing[1]).then(|| r.icd10.clone())),
            date_column(rows, |r| Some(r.issue)),
            date_column(rows, |r| Some(r.report)),
            date_column(rows, |r| r.cremation),
            text_column(rows, |r| known(r).then(|| r.district.to_string())),
            text_column(rows, |r| {
                Some(if known(r) {
                    r.doc_written
                        .unwrap_or(r.person.doc.death_code())
                        .to_string()
                } else {
                    "无".to_string()
                })
            }),
            text_column(rows, |r| (!r.missing[3]).then(|| r.medium.to_string())),
        ];
        RecordBatch::try_new(self.schema(), columns)
            .map_err(|e| Error::Internal(format!("generated batch: {e}")))
    }

    fn damage_columns(&self) -> (usize, usize) {
        (2, 6) // name, death_date
    }
}
