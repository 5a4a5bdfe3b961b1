//! Generator for the 婚姻 library's `registration` table (`rules/marriage.yaml`).
//!
//! Clean rows: registrations of 2017–2025 at the 16 district offices; certificate numbers
//! built from business type, office code, year and a serial; both parties with plausible
//! names, ID numbers consistent with their birth date and sex (70% Shanghai address codes),
//! ages at least a year past the legal minimum; divorces accepted 31–60 days before
//! registration. Defect `k` breaks rule `RULES[k]` and no other.

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, NaiveDate};
use rand::Rng as _;
use rand::rngs::StdRng;

use super::people::{DISTRICTS, Party, SURNAMES, date, person, years_before};
use super::table::{TableGen, date_column, text_column};
use crate::error::{Error, Result};

pub const TABLE: &str = "registration";

/// The rules of `rules/marriage.yaml`, in order; defect `k` breaks `RULES[k]`.
const RULES: [&str; 20] = [
    "MAR-001", "MAR-002", "MAR-003", "MAR-004", "MAR-005", "MAR-006", "MAR-007", "MAR-008",
    "MAR-009", "MAR-010", "MAR-011", "MAR-012", "MAR-013", "MAR-014", "MAR-015", "MAR-016",
    "MAR-017", "MAR-018", "MAR-019", "MAR-020",
];

/// One registration.
#[derive(Debug, Clone)]
pub struct Row {
    reg_id: Option<String>,
    business: String,
    cert_kind: &'static str,
    cert_organ: &'static str,
    cert_year: i32,
    serial: u32,
    cert_override: Option<String>,
    reg_date: NaiveDate,
    application: Option<NaiveDate>,
    organ: &'static str,
    provider: String,
    male: Party,
    female: Party,
}

fn kind_of(business: &str) -> &'static str {
    match business {
        "离婚" => "L",
        "补领结婚证" => "BJ",
        "补领离婚证" => "BL",
        _ => "J",
    }
}

/// A party to a registration at `reg`, at least two years past `min_age`.
fn party(rng: &mut StdRng, reg: NaiveDate, min_age: i32, sex: &'static str) -> Party {
    let age = rng.random_range(min_age + 2..min_age + 30);
    let birth = NaiveDate::from_ymd_opt(
        reg.year() - age,
        rng.random_range(1..=12),
        rng.random_range(1..=28),
    )
    .unwrap_or(reg);
    person(rng, birth, sex)
}

/// The `registration` table of `rules/marriage.yaml`.
pub struct Registration;

impl Registration {
    fn recertify(row: &mut Row) {
        row.cert_kind = kind_of(&row.business);
        row.cert_organ = row.organ;
        row.cert_year = row.reg_date.year();
    }
}

impl TableGen for Registration {
    type Row = Row;

    fn name(&self) -> &'static str {
        TABLE
    }

    fn rules(&self) -> &'static [&'static str] {
        &RULES
    }

    fn clean_row(&self, rng: &mut StdRng, index: u64) -> Row {
        let business = match rng.random_range(0..100) {
            0..65 => "结婚",
            65..90 => "离婚",
            90..96 => "补领结婚证",
            _ => "补领离婚证",
        };
        let reg_date = date(rng.random_range(17_167..=20_453)); // 2017-01-01 ..= 2025-12-31
        let (organ, name) = DISTRICTS[rng.random_range(0..DISTRICTS.len())];
        let application = (business == "离婚")
            .then(|| reg_date - chrono::Duration::days(rng.random_range(31..=60)));
        let mut row = Row {
            reg_id: Some(format!("MR{index:010}")),
            business: business.to_string(),
            cert_kind: "J",
            cert_organ: organ,
            cert_year: 0,
            serial: rng.random_range(1..1_000_000),
            cert_override: None,
            reg_date,
            application,
            organ,
            provider: format!("{name}民政局婚姻登记处"),
            male: party(rng, reg_date, 22, "1"),
            female: party(rng, reg_date, 20, "2"),
        };
        Registration::recertify(&mut row);
        row
    }

    fn apply(&self, row: &mut Row, k: usize, rng: &mut StdRng) {
        match k {
            0 => row.reg_id = None,
            1 => row.business = "结 婚".into(),
            2 => {
                row.cert_override = Some(format!(
                    "{}{}-{}-{:05}",
                    row.cert_kind,
                    row.cert_organ,
                    row.cert_year,
                    row.serial % 100_000
                ));
            }
            3 => row.cert_year -= 1,
            4 => {
                row.cert_kind = match row.cert_kind {
                    "J" => "L",
                    "L" => "J",
                    "BJ" => "BL",
                    _ => "BJ",
                };
            }
            5 => {
                row.cert_organ = loop {
                    let other = DISTRICTS[rng.random_range(0..DISTRICTS.len())].0;
                    if other != row.organ {
                        break other;
                    }
                };
            }
            6 => row.male.bad_check = true,
            7 => row.female.bad_check = true,
            8 | 9 => {
                let p = if k == 8 {
                    &mut row.male
                } else {
                    &mut row.female
                };
                p.id_birth = Some(p.birth);
                p.birth = p.birth.succ_opt().unwrap_or(p.birth);
            }
            10 => row.male.seq_for("2"),
            11 => row.female.seq_for("1"),
            12 | 13 => {
                row.business = "结婚".into();
                row.application = None;
                Registration::recertify(row);
                if k == 12 {
                    row.male.birth = years_before(row.reg_date, 20);
                } else {
                    row.female.birth = years_before(row.reg_date, 19);
                }
            }
            14 => {
                row.reg_date = date(47_300); // 2099-07-02
                if let Some(app) = &mut row.application {
                    *app = row.reg_date - chrono::Duration::days(40);
                }
                Registration::recertify(row);
            }
            15 => {
                row.business = "补领结婚证".into();
                row.application = None;
                row.reg_date = date(-7_519); // 1949-05-31
                Registration::recertify(row);
            }
            16 => {
                row.male.sex = "2";
                row.male.seq_for("2");
            }
            17 => {
                row.business = "离婚".into();
                if row.reg_date < date(18_687) {
                    row.reg_date = date(19_144); // 2022-06-01
                }
                row.application = Some(row.reg_date - chrono::Duration::days(10));
                Registration::recertify(row);
            }
            18 => row.male.name = format!("{}3", SURNAMES[rng.random_range(0..SURNAMES.len())]),
            _ => {
                row.business = "补领结婚证".into();
                row.application = None;
                row.organ = "310103";
                row.reg_date = date(16_587); // 2015-06-01
                Registration::recertify(row);
            }
        }
    }

    fn provider<'a>(&self, row: &'a Row) -> &'a str {
        &row.provider
    }

    fn schema(&self) -> SchemaRef {
        let s = |n: &str| Field::new(n, DataType::Utf8, true);
        let d = |n: &str| Field::new(n, DataType::Date32, true);
        // The provider comes second: a CSV record that loses its last fields keeps it.
        Arc::new(Schema::new(vec![
            s("reg_id"),
            s("provider"),
            s("business_type"),
            s("cert_no"),
            d("reg_date"),
            d("application_date"),
            s("organ_code"),
            s("male_name"),
            s("male_id"),
            d("male_birth"),
            s("male_sex"),
            s("female_name"),
            s("female_id"),
            d("female_birth"),
            s("female_sex"),
        ]))
    }

    fn batch(&self, rows: &[Row]) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            text_column(rows, |r| r.reg_id.clone()),
            text_column(rows, |r| Some(r.provider.clone())),
            text_column(rows, |r| Some(r.business.clone())),
            text_column(rows, |r| {
                Some(r.cert_override.clone().unwrap_or_else(|| {
                    format!(
                        "{}{}-{}-{:06}",
                        r.cert_kind, r.cert_organ, r.cert_year, r.serial
                    )
                }))
            }),
            date_column(rows, |r| Some(r.reg_date)),
            date_column(rows, |r| r.application),
            text_column(rows, |r| Some(r.organ.to_string())),
            text_column(rows, |r| Some(r.male.name.clone())),
            text_column(rows, |r| Some(r.male.id())),
            date_column(rows, |r| Some(r.male.birth)),
            text_column(rows, |r| Some(r.male.sex.to_string())),
            text_column(rows, |r| Some(r.female.name.clone())),
            text_column(rows, |r| Some(r.female.id())),
            date_column(rows, |r| Some(r.female.birth)),
            text_column(rows, |r| Some(r.female.sex.to_string())),
        ];
        RecordBatch::try_new(self.schema(), columns)
            .map_err(|e| Error::Internal(format!("generated batch: {e}")))
    }

    fn damage_columns(&self) -> (usize, usize) {
        (7, 4) // male_name, reg_date
    }
}
