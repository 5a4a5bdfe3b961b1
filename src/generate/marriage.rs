//! Generator for the 婚姻 library's `registration` table (`rules/marriage.yaml`).
//!
//! Clean rows come in blocks of ten, so the set-based rules hold on them: a marriage
//! (row 0), the same couple's divorce 90–1200 days later (row 1, accepted 31–60 days before),
//! the husband's remarriage 30–400 days after that (row 2), six other couples' marriages
//! (rows 3–8) and a certificate reissue (row 9). Registrations are at the 16 district
//! offices, certificate numbers are built from business type, office, year and a serial, and
//! every party is a distinct person of [`Space::Marriage`]. A row related to an anomalous
//! row is made a plain marriage of its own couple instead, so an injury never spreads.
//!
//! Row defect `k` < 20 breaks `RULES[k]` (underage parties keep their ID number, so the
//! birth-date rule breaks too; a divorce with too short a cooling-off has no marriage before
//! it). Then the set-based scenarios: two rows sharing one registration id, a marriage while
//! an earlier one is not dissolved, a divorce with no marriage, and — when the death library
//! is generated too — a marriage after a party's recorded death, and (clean, a trap for the
//! bigamy rule) a widower's remarriage after his first wife's recorded death.

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, NaiveDate};
use rand::Rng as _;
use rand::rngs::StdRng;

use super::people::{
    DISTRICTS, Doc, Party, SURNAMES, Space, Written, date, identity, years_before,
};
use super::table::{RowCx, TableGen, date_column, row_at, text_column};
use crate::error::{Error, Result};

pub const TABLE: &str = "registration";

/// The rules of `rules/marriage.yaml`, in order; row defect `k` < 20 breaks `RULES[k]`.
static RULES: [&str; 36] = [
    "MAR-001", "MAR-002", "MAR-003", "MAR-004", "MAR-005", "MAR-006", "MAR-007", "MAR-008",
    "MAR-009", "MAR-010", "MAR-011", "MAR-012", "MAR-013", "MAR-014", "MAR-015", "MAR-016",
    "MAR-017", "MAR-018", "MAR-019", "MAR-020", "MAR-021", "MAR-022", "MAR-023", "MAR-024",
    "MAR-025", "MAR-026", "MAR-027", "MAR-028", "MAR-029", "MAR-030", "MAR-031", "MAR-032",
    "MAR-033", "MAR-034", "MAR-035", "MAR-036",
];

/// Row defects: one per row-level rule of the first twenty, then a loosely written ID number
/// (MAR-027), a document type that does not fit the number (MAR-026), and the presence
/// rules MAR-028 to MAR-031 (no date; no ID number of either party; a divorce of 2021 on
/// with no application date), a divorce registered 75 days after the application
/// (MAR-032), a sex written 男 instead of its code (MAR-034), a minority name's separator
/// written ． (MAR-035), and an application date on a marriage (MAR-036).
const ROW_DEFECTS: usize = 30;

/// Set-based scenarios, after the row defects in the rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// This row and the next anomalous row share a registration id.
    DuplicateFirst,
    DuplicateSecond,
    /// A husband of one of the block's plain marriages marries again, undivorced.
    Overlap,
    /// A divorce of a couple never married.
    OrphanDivorce,
    /// The husband's death is recorded before this marriage (death library generated too).
    MarriedAfterDeath,
}

const SCENARIOS: [Scenario; 5] = [
    Scenario::DuplicateFirst,
    Scenario::DuplicateSecond,
    Scenario::Overlap,
    Scenario::OrphanDivorce,
    Scenario::MarriedAfterDeath,
];

/// Rows per block of related registrations.
const BLOCK: u64 = 10;

/// One block in this many (whose rows are all clean) holds a widower's remarriage, when the
/// death library is generated too.
const WIDOWED_EVERY: u64 = 20;

/// Marriages of the widowed scenario's first wife by this day (2022-06-30), so that her death
/// and the remarriage stay before the registrations' last day (2025-06-30).
const WIDOWED_FIRST_BY: i32 = 19_173;

/// Which copy of a registration recorded twice a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Twice {
    First,
    Second,
}

/// Rules the two copies of a registration recorded twice break: the registration id and the
/// certificate number are each held twice.
static DUPLICATE_RULES: [&str; 2] = ["MAR-021", "MAR-033"];

/// One registration.
#[derive(Debug, Clone)]
pub struct Row {
    reg_id: Option<String>,
    business: String,
    cert_kind: &'static str,
    cert_organ: &'static str,
    cert_year: i32,
    /// The certificate's serial, handed out in row order per office, kind and year
    /// ([`TableGen::number`]); the copy of a duplicated registration takes its first's.
    serial: u32,
    /// Digits the serial is written with (6; 7 for a malformed number).
    serial_digits: usize,
    duplicate: Option<Twice>,
    cert_override: Option<String>,
    reg_date: NaiveDate,
    application: Option<NaiveDate>,
    organ: &'static str,
    provider: String,
    male: Party,
    female: Party,
    /// The male party's document type as written, when it differs from his document's.
    male_doc_written: Option<&'static str>,
    /// Fields left empty by a defect: registration date, male and female ID numbers.
    missing: [bool; 3],
}

impl Row {
    pub fn reg_date(&self) -> NaiveDate {
        self.reg_date
    }

    pub fn male(&self) -> &Party {
        &self.male
    }
}

fn kind_of(business: &str) -> &'static str {
    match business {
        "离婚" => "L",
        "补领结婚证" => "BJ",
        "补领离婚证" => "BL",
        _ => "J",
    }
}

/// The `registration` table of `rules/marriage.yaml`.
pub struct Registration {
    /// Whether the death library is generated with it (married-after-death scenarios).
    pub with_death: bool,
}

impl Registration {
    fn recertify(row: &mut Row) {
        row.cert_kind = kind_of(&row.business);
        row.cert_organ = row.organ;
        row.cert_year = row.reg_date.year();
    }

    fn scenario(k: usize) -> Option<Scenario> {
        k.checked_sub(ROW_DEFECTS)
            .and_then(|s| SCENARIOS.get(s).copied())
    }

    /// A registration of `business` by the couple of identity slot `slot`, on `reg_date`.
    fn registration(
        rng: &mut StdRng,
        index: u64,
        business: &str,
        reg_date: NaiveDate,
        male: Party,
        female: Party,
    ) -> Row {
        let (organ, name) = DISTRICTS[rng.random_range(0..DISTRICTS.len())];
        let application = (business == "离婚")
            .then(|| reg_date - chrono::Duration::days(rng.random_range(31..=60)));
        let mut row = Row {
            reg_id: Some(format!("MR{index:010}")),
            business: business.to_string(),
            cert_kind: "J",
            cert_organ: organ,
            cert_year: 0,
            serial: 0,
            serial_digits: 6,
            duplicate: None,
            cert_override: None,
            reg_date,
            application,
            organ,
            provider: format!("{name}民政局婚姻登记处"),
            male,
            female,
            male_doc_written: None,
            missing: [false; 3],
        };
        Registration::recertify(&mut row);
        row
    }

    /// A marriage of row `index`'s own couple on a date of 2017-01-01 ..= 2025-06-30.
    fn own_marriage(rng: &mut StdRng, index: u64) -> Row {
        let reg_date = date(rng.random_range(17_167..=20_269));
        Registration::registration(
            rng,
            index,
            "结婚",
            reg_date,
            identity(Space::Marriage, index, "1"),
            identity(Space::Marriage, index, "2"),
        )
    }

    /// The clean row `j` (not anomalous) as generated.
    fn clean_at(&self, cx: &RowCx<'_>, j: u64) -> Row {
        self.clean_row(cx, &mut cx.rng(j), j)
    }

    /// Row defect `k` (< [`ROW_DEFECTS`]); returns the rules it breaks.
    fn defect(row: &mut Row, k: usize, rng: &mut StdRng) -> &'static [&'static str] {
        if (6..=13).contains(&k) {
            // These break the ID number itself: the parties carry 居民身份证.
            row.male.as_citizen();
            row.female.as_citizen();
        }
        match k {
            0 => row.reg_id = None,
            1 => row.business = "结 婚".into(),
            // A 7-digit serial: malformed, and still its own number.
            2 => row.serial_digits = 7,
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
                let (p, years) = if k == 12 {
                    (&mut row.male, 20)
                } else {
                    (&mut row.female, 19)
                };
                p.id_birth = Some(p.birth);
                p.birth = years_before(row.reg_date, years);
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
                // An office whose code was in use then, so only the date is wrong.
                row.organ = "310101";
                Registration::recertify(row);
            }
            16 => {
                row.male.sex = "2";
                row.male.seq_for("2");
            }
            17 => Registration::divorce_of_2021_on(row, Some(10)),
            18 => row.male.name = format!("{}3", SURNAMES[rng.random_range(0..SURNAMES.len())]),
            20 => {
                row.male.as_citizen();
                row.male.written = Written::Loose;
                return &["MAR-027"];
            }
            21 => {
                row.male.doc = Doc::Passport;
                row.male_doc_written = Some(Doc::HkResident.name());
                return &["MAR-026"];
            }
            22..=24 => {
                row.missing[k - 22] = true;
                return &RULES[k + 5..=k + 5];
            }
            25 => {
                // No application date (the couple has no marriage here either).
                Registration::divorce_of_2021_on(row, None);
                return &["MAR-031", "MAR-024"];
            }
            26 => {
                // Past the 60 days however a holiday extends them.
                Registration::divorce_of_2021_on(row, Some(75));
                return &["MAR-032", "MAR-024"];
            }
            27 => {
                // The sex written out, not coded: the rules that compare codes do not apply.
                row.male.sex = "男";
                return &["MAR-034"];
            }
            28 => {
                // A minority name whose separator is written ． instead of · (GBK has no •).
                row.female.name = "阿依古丽．买买提".into();
                return &["MAR-035"];
            }
            29 => {
                // A marriage carrying an application date (only divorces are applied for).
                row.business = "结婚".into();
                Registration::recertify(row);
                row.application = Some(row.reg_date - chrono::Duration::days(10));
                return &["MAR-036"];
            }
            _ => {
                row.business = "补领结婚证".into();
                row.application = None;
                row.organ = "310103";
                row.reg_date = date(16_587); // 2015-06-01
                Registration::recertify(row);
            }
        }
        match k {
            // The ID number keeps the true birth date: the birth-date rule breaks too.
            12 => &["MAR-009", "MAR-013"],
            13 => &["MAR-010", "MAR-014"],
            // A divorce of a couple with no marriage before it.
            17 => &["MAR-018", "MAR-024"],
            // 卢湾区 in 2015, past its grace year: the strict warning breaks too.
            19 => &["MAR-020", "MAR-025"],
            _ => &RULES[k..=k],
        }
    }

    /// Make `row` a divorce of its couple (never married here) registered from 2022-06-01
    /// (or its own date, from 2021-04-01), `days` (at most 90) after the application (none
    /// when `None`): the application is from 2021 on, under the cooling-off rules.
    fn divorce_of_2021_on(row: &mut Row, days: Option<i64>) {
        row.business = "离婚".into();
        if row.reg_date < date(18_718) {
            row.reg_date = date(19_144); // 2022-06-01
        }
        row.application = days.map(|d| row.reg_date - chrono::Duration::days(d));
        Registration::recertify(row);
    }

    /// Make `row` a divorce (with a lawful cooling-off) of its couple, never married.
    fn orphan_divorce(row: &mut Row) -> &'static [&'static str] {
        row.business = "离婚".into();
        row.application = Some(row.reg_date - chrono::Duration::days(40));
        Registration::recertify(row);
        &RULES[23..24]
    }

    /// For an overlap at row `i`: a plain marriage of the same block (rows 3–8), clean.
    fn overlap_partner(&self, cx: &RowCx<'_>, i: u64) -> Option<Row> {
        let block = i - i % BLOCK;
        (block + 3..block + 9)
            .filter(|&j| j != i && j < cx.rows && !cx.is_anomalous(j))
            .map(|j| self.clean_at(cx, j))
            .next()
    }

    /// For row `index`, the remarriage of a widower and his first wife's death date: the
    /// husband of the block's row 7 marries again after his wife died (recorded in the death
    /// library), in one block of [`WIDOWED_EVERY`] whose rows are all clean. Not bigamy:
    /// MAR-023 must not flag it when it reads the deaths.
    fn widowed_remarriage(&self, cx: &RowCx<'_>, index: u64) -> Option<(Row, Party, NaiveDate)> {
        let block = index - index % BLOCK;
        let chosen = self.with_death
            && index % BLOCK == 8
            && (block / BLOCK) % WIDOWED_EVERY == 7
            && block + BLOCK <= cx.rows
            && (block..block + BLOCK).all(|j| !cx.is_anomalous(j));
        if !chosen {
            return None;
        }
        let first = self.clean_at(cx, block + 7);
        if crate::values::days(first.reg_date) > WIDOWED_FIRST_BY {
            return None;
        }
        let mut rng = cx.rng(index);
        let died = first.reg_date + chrono::Duration::days(rng.random_range(60..=400));
        let reg_date = died + chrono::Duration::days(rng.random_range(60..=400));
        let row = Registration::registration(
            &mut rng,
            index,
            "结婚",
            reg_date,
            first.male,
            identity(Space::Marriage, index, "2"),
        );
        Some((row, first.female, died))
    }

    /// Wives whose death the death library records before their widower remarries, with the
    /// death's date (clean records).
    pub fn widowed_to_record(&self, cx: &RowCx<'_>) -> Vec<(Party, NaiveDate)> {
        (0..cx.rows / (BLOCK * WIDOWED_EVERY))
            .map(|n| (n * WIDOWED_EVERY + 7) * BLOCK + 8)
            .filter_map(|i| self.widowed_remarriage(cx, i))
            .map(|(_, wife, died)| (wife, died))
            .collect()
    }

    /// Husbands whose death the death library must record before their marriage, with the
    /// marriage's date: one per married-after-death scenario.
    pub fn deaths_to_record(&self, cx: &RowCx<'_>) -> Vec<(Party, NaiveDate)> {
        cx.anomalous
            .iter()
            .filter_map(|&i| {
                let (row, _, broken) = row_at(self, cx, i);
                (broken == [RULES[21]]).then_some((row.male, row.reg_date))
            })
            .collect()
    }
}

impl TableGen for Registration {
    type Row = Row;
    /// The next serial of each certificate office, kind and year, and the serial of the
    /// last duplicated registration's first copy.
    type Serials = (
        std::collections::HashMap<(&'static str, &'static str, i32), u32>,
        u32,
    );

    fn name(&self) -> &'static str {
        TABLE
    }

    fn rules(&self) -> &'static [&'static str] {
        &RULES
    }

    fn defects(&self) -> usize {
        ROW_DEFECTS + SCENARIOS.len() - usize::from(!self.with_death)
    }

    fn clean_row(&self, cx: &RowCx<'_>, rng: &mut StdRng, index: u64) -> Row {
        let block = index - index % BLOCK;
        let plain = |j: u64| j < cx.rows && !cx.is_anomalous(j);
        if !plain(index) {
            // An anomalous row is a plain marriage of its own couple before its injury.
            return Registration::own_marriage(rng, index);
        }
        if let Some((row, _, _)) = self.widowed_remarriage(cx, index) {
            return row;
        }
        match index % BLOCK {
            1 if plain(block) => {
                let married = self.clean_at(cx, block);
                let reg_date =
                    married.reg_date + chrono::Duration::days(rng.random_range(90..=1200));
                Registration::registration(
                    rng,
                    index,
                    "离婚",
                    reg_date,
                    married.male,
                    married.female,
                )
            }
            2 if plain(block) && plain(block + 1) => {
                let divorced = self.clean_at(cx, block + 1);
                let reg_date =
                    divorced.reg_date + chrono::Duration::days(rng.random_range(30..=400));
                Registration::registration(
                    rng,
                    index,
                    "结婚",
                    reg_date,
                    divorced.male,
                    identity(Space::Marriage, index, "2"),
                )
            }
            9 => {
                let mut row = Registration::own_marriage(rng, index);
                row.business = if (index / BLOCK).is_multiple_of(2) {
                    "补领结婚证"
                } else {
                    "补领离婚证"
                }
                .into();
                Registration::recertify(&mut row);
                row
            }
            // The first of a block marries by mid-2021: its divorce and the remarriage
            // that follow stay in the past.
            0 => {
                let mut row = Registration::own_marriage(rng, index);
                row.reg_date = date(rng.random_range(17_167..=18_808));
                Registration::recertify(&mut row);
                row
            }
            _ => Registration::own_marriage(rng, index),
        }
    }

    fn apply(
        &self,
        cx: &RowCx<'_>,
        row: &mut Row,
        k: usize,
        ordinal: usize,
        rng: &mut StdRng,
    ) -> &'static [&'static str] {
        let index = cx.anomalous[ordinal];
        match Registration::scenario(k) {
            None => Registration::defect(row, k, rng),
            Some(Scenario::DuplicateFirst) if ordinal + 1 < cx.anomalous.len() => {
                row.reg_id = Some(format!("MRDUP{ordinal:010}"));
                row.duplicate = Some(Twice::First);
                &DUPLICATE_RULES
            }
            // The last anomalous row has no partner to share an id with.
            Some(Scenario::DuplicateFirst) => Registration::defect(row, 0, rng),
            // The same registration recorded again: every field the first copy's.
            Some(Scenario::DuplicateSecond) => {
                *row = row_at(self, cx, cx.anomalous[ordinal - 1]).0;
                row.duplicate = Some(Twice::Second);
                &DUPLICATE_RULES
            }
            Some(Scenario::MarriedAfterDeath) => &RULES[21..22],
            Some(Scenario::Overlap) => match self.overlap_partner(cx, index) {
                Some(partner) => {
                    row.male = partner.male;
                    // Now and then on the partner's own day, when the partner's registration
                    // id sorts first (of one day's two, the greater key is the second).
                    let days = if partner.reg_id < row.reg_id && rng.random_bool(0.3) {
                        0
                    } else {
                        rng.random_range(30..=300)
                    };
                    row.reg_date = partner.reg_date + chrono::Duration::days(days);
                    Registration::recertify(row);
                    &RULES[22..23]
                }
                None => Registration::orphan_divorce(row),
            },
            Some(Scenario::OrphanDivorce) => Registration::orphan_divorce(row),
        }
    }

    fn number(&self, rows: &mut [Row], (next, first): &mut Self::Serials) {
        for row in rows {
            if row.duplicate == Some(Twice::Second) {
                row.serial = *first;
                continue;
            }
            let serial = next
                .entry((row.cert_kind, row.cert_organ, row.cert_year))
                .or_insert(0);
            *serial += 1;
            row.serial = *serial;
            if row.duplicate == Some(Twice::First) {
                *first = row.serial;
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
            s("male_id_type"),
            s("male_id"),
            d("male_birth"),
            s("male_sex"),
            s("female_name"),
            s("female_id_type"),
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
                        "{}{}-{}-{:0width$}",
                        r.cert_kind,
                        r.cert_organ,
                        r.cert_year,
                        r.serial,
                        width = r.serial_digits
                    )
                }))
            }),
            date_column(rows, |r| (!r.missing[0]).then_some(r.reg_date)),
            date_column(rows, |r| r.application),
            text_column(rows, |r| Some(r.organ.to_string())),
            text_column(rows, |r| Some(r.male.name.clone())),
            text_column(rows, |r| {
                Some(r.male_doc_written.unwrap_or(r.male.doc.name()).to_string())
            }),
            text_column(rows, |r| (!r.missing[1]).then(|| r.male.id())),
            date_column(rows, |r| Some(r.male.birth)),
            text_column(rows, |r| Some(r.male.sex.to_string())),
            text_column(rows, |r| Some(r.female.name.clone())),
            text_column(rows, |r| Some(r.female.doc.name().to_string())),
            text_column(rows, |r| (!r.missing[2]).then(|| r.female.id())),
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
