//! Generator for the 死亡 library's `record` table (`rules/death.yaml`).
//!
//! Clean rows: deaths of 2017–2025 of distinct people of [`Space::Death`] (born 1917–2016),
//! the age field exact by construction, an ID number consistent with birth and sex, a common
//! underlying cause fitting the sex, certificates issued 0–2 days after death and reported
//! within 14 days, cremation 1–10 days after death (or not recorded). Each defect breaks
//! exactly one rule, except that an impossible age typed into the age field also contradicts
//! the dates, and dates moved 80 years on may make the age exceed 122. Then
//! the set-based scenario: one person's death recorded twice, the second later; and, when
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

static RULES: [&str; 22] = [
    "DEA-001", "DEA-002", "DEA-003", "DEA-004", "DEA-005", "DEA-006", "DEA-007", "DEA-008",
    "DEA-009", "DEA-010", "DEA-011", "DEA-012", "DEA-013", "DEA-014", "DEA-015", "DEA-016",
    "DEA-017", "DEA-018", "DEA-019", "DEA-020", "DEA-021", "DEA-022",
];
/// Row defects: one per row-level rule of the first sixteen, a loosely written ID number
/// (DEA-022) and a document type that does not fit the number (DEA-021); then the
/// scenario's two rows.
const ROW_DEFECTS: usize = 18;
const TWICE_FIRST: usize = ROW_DEFECTS;
const TWICE_SECOND: usize = ROW_DEFECTS + 1;

/// Underlying causes for either sex (heart disease, stroke, lung cancer, COPD, diabetes, …).
const CAUSES: [&str; 10] = [
    "I21.9", "I63.9", "C34.9", "J44.9", "I25.1", "E11.9", "C16.9", "C22.0", "J18.9", "W19",
];
const PLACES: [&str; 5] = ["1", "2", "3", "4", "9"];
const HOSPITALS: [&str; 4] = ["市第一人民医院", "瑞金医院", "中山医院", "华山医院"];

/// One death record.
#[derive(Debug, Clone)]
pub struct Row {
    record_id: Option<String>,
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
}

impl Record {
    /// A clean record of `person`'s death on `death`.
    fn record(rng: &mut StdRng, index: u64, person: Party, death: NaiveDate) -> Row {
        let age = age_years(person.birth, death);
        let sex = person.sex;
        let issue = death + Duration::days(rng.random_range(0..=2));
        let (code, name) = DISTRICTS[rng.random_range(0..DISTRICTS.len())];
        // 户籍 where a citizen's ID number was issued, when that is outside Shanghai.
        let district = if person.address.starts_with("31") || person.doc != Doc::Citizen {
            code
        } else {
            person.address
        };
        let provider = if rng.random_bool(0.6) {
            HOSPITALS[rng.random_range(0..HOSPITALS.len())].to_string()
        } else {
            format!("{name}卫生健康委员会")
        };
        Row {
            record_id: Some(format!("DR{index:010}")),
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
            issue,
            report: issue + Duration::days(rng.random_range(0..=14)),
            cremation: rng
                .random_bool(0.7)
                .then(|| death + Duration::days(rng.random_range(1..=10))),
            district,
            doc_written: None,
        }
    }
}

impl TableGen for Record {
    type Row = Row;

    fn name(&self) -> &'static str {
        TABLE
    }

    fn rules(&self) -> &'static [&'static str] {
        &RULES
    }

    fn defects(&self) -> usize {
        TWICE_SECOND + 1
    }

    fn clean_row(&self, _cx: &RowCx<'_>, rng: &mut StdRng, index: u64) -> Row {
        let sex = if rng.random_bool(0.5) { "1" } else { "2" };
        let person = identity(Space::Death, index, sex);
        // A death in 2017-01-01 ..= 2025-12-31, after the person's first birthday.
        let first = crate::values::days(person.birth) + 366;
        let death = date(rng.random_range(first.max(17_167)..=20_453));
        Record::record(rng, index, person, death)
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
            TWICE_FIRST if ordinal + 1 < cx.anomalous.len() => return &RULES[16..18],
            TWICE_FIRST => {
                row.record_id = None;
                return &RULES[0..1];
            }
            TWICE_SECOND => {
                let first = cx.anomalous[ordinal - 1];
                let earlier = self.clean_row(cx, &mut cx.rng(first), first);
                let death = earlier.death + Duration::days(rng.random_range(1..=100));
                let index = cx.anomalous[ordinal];
                *row = Record::record(rng, index, earlier.person, death);
                return &RULES[16..17];
            }
            _ => {}
        }
        if (1..=3).contains(&k) {
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
            _ => {}
        }
        let p = &mut row.person;
        match k {
            0 => row.record_id = None,
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
            13 => row.report = row.issue + Duration::days(30),
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
        ]))
    }

    fn batch(&self, rows: &[Row]) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            text_column(rows, |r| r.record_id.clone()),
            text_column(rows, |r| Some(r.provider.clone())),
            text_column(rows, |r| Some(r.person.name.clone())),
            text_column(rows, |r| Some(r.person.id())),
            text_column(rows, |r| Some(r.person.sex.to_string())),
            date_column(rows, |r| Some(r.person.birth)),
            date_column(rows, |r| Some(r.death)),
            Arc::new(rows.iter().map(|r| Some(r.age)).collect::<Int64Array>()),
            text_column(rows, |r| Some(r.place.to_string())),
            text_column(rows, |r| r.pregnancy.map(str::to_string)),
            text_column(rows, |r| Some(r.icd10.clone())),
            date_column(rows, |r| Some(r.issue)),
            date_column(rows, |r| Some(r.report)),
            date_column(rows, |r| r.cremation),
            text_column(rows, |r| Some(r.district.to_string())),
            text_column(rows, |r| {
                Some(
                    r.doc_written
                        .unwrap_or(r.person.doc.death_code())
                        .to_string(),
                )
            }),
        ];
        RecordBatch::try_new(self.schema(), columns)
            .map_err(|e| Error::Internal(format!("generated batch: {e}")))
    }

    fn damage_columns(&self) -> (usize, usize) {
        (2, 6) // name, death_date
    }
}
