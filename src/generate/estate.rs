//! The `estate` library: many small tables of six departments, each department naming a
//! citizen ID, a district code and a record date in its own way — what a data center's estate
//! looks like to a pack of templates bound by role (`rules/estate/`). One CSV file per table,
//! `<department>/tNNN.csv`; table `i` (from 1) belongs to department `(i − 1) mod 6`.
//!
//! Each table has exactly `spec.anomalies` anomalous rows, each with one defect; defects take
//! turns over the tables' rows, so every template has failures:
//! - a wrong check character in the ID number → `T-ID`;
//! - 卢湾区's code 310103, retired on 2011-06-08, on a record dated 2012 or later → `T-DIST`;
//! - a record date before 1950 (with 黄浦区's code, in use since before then) → `T-DATE`.

use std::fmt::Write as _;
use std::io::Write as _;

use chrono::NaiveDate;
use rand::Rng as _;

use super::truth::{TableTruth, Truth};
use super::{GenSpec, anomalous_rows, row_rng};
use crate::error::{Error, Result};

/// The departments: folder, and their column names for the key, the citizen ID, the district
/// code and the record date.
pub const DEPARTMENTS: [(&str, [&str; 4]); 6] = [
    ("gaj", ["id", "sfzh", "qxdm", "djrq"]),
    ("mzj", ["id", "id_card", "district_code", "reg_date"]),
    ("wjw", ["id", "zjhm", "xzqh", "rq"]),
    ("rsj", ["id", "gmsfhm", "qx", "ywrq"]),
    ("fgj", ["id", "cert_no", "area_code", "record_date"]),
    ("ghj", ["id", "idno", "adcode", "event_date"]),
];

/// District codes in use over the whole generated period (2015–2025).
const DISTRICTS: [&str; 15] = [
    "310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112", "310113",
    "310114", "310115", "310116", "310117", "310118", "310120",
];

/// The defects, in turn, and the template each breaks.
const DEFECTS: [&str; 3] = ["T-ID", "T-DIST", "T-DATE"];

/// Write `tables` tables of `spec.rows` rows under `spec.out`, and `truth.json`.
pub fn generate(spec: &GenSpec, tables: usize) -> Result<Truth> {
    let mut truth = Truth {
        library: "estate".into(),
        seed: spec.seed,
        ..Truth::default()
    };
    for i in 1..=tables {
        let (dept, names) = DEPARTMENTS[(i - 1) % DEPARTMENTS.len()];
        let dir = spec.out.join(dept);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let name = format!("t{i:03}");
        let path = dir.join(format!("{name}.csv"));
        let seed = spec.seed ^ (i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D);
        let anomalous = anomalous_rows(spec.rows, spec.anomalies, seed)?;
        let mut t = TableTruth::default();
        for rule in DEFECTS {
            t.rules.insert(rule.to_string(), 0);
        }
        let mut text = names.join(",") + "\n";
        for row in 0..spec.rows {
            let mut rng = row_rng(seed, row);
            let mut id = citizen_id(&mut rng);
            let mut district = DISTRICTS[rng.random_range(0..DISTRICTS.len())];
            let mut date = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap_or_default()
                + chrono::Days::new(rng.random_range(0..4017));
            let broken: Vec<&str> = match anomalous.binary_search(&row) {
                Ok(ordinal) => {
                    let defect = DEFECTS[(ordinal + i) % DEFECTS.len()];
                    match defect {
                        "T-ID" => id = wrong_check_char(&id),
                        "T-DIST" => {
                            district = "310103";
                            date = NaiveDate::from_ymd_opt(2012, 1, 1).unwrap_or_default()
                                + chrono::Days::new(rng.random_range(0..4000));
                        }
                        // 黄浦区's code has no first day: the early date breaks T-DATE alone.
                        _ => {
                            district = "310101";
                            date = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
                        }
                    }
                    vec![defect]
                }
                Err(_) => Vec::new(),
            };
            t.add_row("", &broken);
            let _ = writeln!(text, "{},{id},{district},{date}", row + 1);
        }
        t.providers.clear();
        let mut f = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        f.write_all(text.as_bytes())
            .map_err(|e| Error::io(&path, e))?;
        truth.tables.insert(name, t);
    }
    let json = serde_json::to_string_pretty(&truth).map_err(|e| Error::Internal(e.to_string()))?;
    let path = spec.out.join(super::truth::TRUTH_FILE);
    std::fs::write(&path, json + "\n").map_err(|e| Error::io(&path, e))?;
    Ok(truth)
}

/// A valid 18-digit citizen ID number: a district of Shanghai, a birth date, a sequence and
/// its check character.
fn citizen_id(rng: &mut impl rand::Rng) -> String {
    let birth = NaiveDate::from_ymd_opt(1940, 1, 1).unwrap_or_default()
        + chrono::Days::new(rng.random_range(0..25_000));
    let body = format!(
        "{}{}{:03}",
        DISTRICTS[rng.random_range(0..DISTRICTS.len())],
        birth.format("%Y%m%d"),
        rng.random_range(0..1000)
    );
    let check = crate::checks::id_number::check_char(body.as_bytes()).unwrap_or(b'0');
    format!("{body}{}", char::from(check))
}

/// `id` with another check character.
fn wrong_check_char(id: &str) -> String {
    let (body, check) = id.split_at(17);
    let wrong = if check == "1" { '2' } else { '1' };
    format!("{body}{wrong}")
}
