//! Generator for the 死亡 library's `record` table (`rules/death.yaml`).
//!
//! Clean rows: deaths of 2017–2025, ages skewed to 60–100 with some younger, the age field
//! exact by construction (birth between age+1 years and age years before death, never on the
//! boundary), an ID number consistent with birth and sex, a common underlying cause fitting
//! the sex, certificates issued 0–2 days after death and reported within 14 days, cremation
//! 1–10 days after death (or not recorded). Each defect breaks exactly one rule.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, Duration, NaiveDate};
use rand::Rng as _;
use rand::rngs::StdRng;

use super::people::{DISTRICTS, Party, date, person, years_before};
use super::table::{TableGen, date_column, text_column};
use crate::error::{Error, Result};

pub const TABLE: &str = "record";

const RULES: [&str; 16] = [
    "DEA-001", "DEA-002", "DEA-003", "DEA-004", "DEA-005", "DEA-006", "DEA-007", "DEA-008",
    "DEA-009", "DEA-010", "DEA-011", "DEA-012", "DEA-013", "DEA-014", "DEA-015", "DEA-016",
];

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
}

/// A birth date that makes the age at `death` exactly `age` full years: 1–300 days before
/// the `age`-th birthday would fall on `death`.
fn birth_for(rng: &mut StdRng, death: NaiveDate, age: i32) -> NaiveDate {
    years_before(death, age) - Duration::days(rng.random_range(1..=300))
}

/// The `record` table of `rules/death.yaml`.
pub struct Record;

impl TableGen for Record {
    type Row = Row;

    fn name(&self) -> &'static str {
        TABLE
    }

    fn rules(&self) -> &'static [&'static str] {
        &RULES
    }

    fn clean_row(&self, rng: &mut StdRng, index: u64) -> Row {
        let death = date(rng.random_range(17_167..=20_453)); // 2017-01-01 ..= 2025-12-31
        let age = if rng.random_bool(0.85) {
            rng.random_range(60..101)
        } else {
            rng.random_range(1..60)
        };
        let sex = if rng.random_bool(0.5) { "1" } else { "2" };
        let birth = birth_for(rng, death, age);
        let person = person(rng, birth, sex);
        let issue = death + Duration::days(rng.random_range(0..=2));
        let (code, name) = DISTRICTS[rng.random_range(0..DISTRICTS.len())];
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
            age: i64::from(age),
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
            district: code,
        }
    }

    fn apply(&self, row: &mut Row, k: usize, rng: &mut StdRng) {
        let p = &mut row.person;
        match k {
            0 => row.record_id = None,
            1 => p.bad_check = true,
            2 => {
                // The column moves a day later; the ID keeps the real date (age unchanged:
                // the birth stays at least a day before the birthday boundary).
                p.id_birth = Some(p.birth);
                p.birth = p.birth.succ_opt().unwrap_or(p.birth);
            }
            3 => {
                let other = if p.sex == "1" { "2" } else { "1" };
                p.seq_for(other);
            }
            4 => {
                // Every date 80 years later: only "not in the future" breaks.
                let shift = |d: NaiveDate| {
                    NaiveDate::from_ymd_opt(d.year() + 80, d.month(), d.day().min(28)).unwrap_or(d)
                };
                let age = i32::try_from(row.age).unwrap_or(0);
                row.death = shift(row.death);
                row.issue = row.death;
                row.report = row.death;
                row.cremation = row.cremation.map(|_| row.death + Duration::days(1));
                p.birth = birth_for(rng, row.death, age);
            }
            5 => row.age += 1,
            6 => {
                row.age = 130;
                p.birth = birth_for(rng, row.death, 130);
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
            14 => row.district = "310103", // 卢湾区, retired 2011; deaths are 2017+
            _ => {
                row.issue = row.death - Duration::days(2);
                row.report = row.issue + Duration::days(1);
            }
        }
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
        ];
        RecordBatch::try_new(self.schema(), columns)
            .map_err(|e| Error::Internal(format!("generated batch: {e}")))
    }

    fn damage_columns(&self) -> (usize, usize) {
        (2, 6) // name, death_date
    }
}
