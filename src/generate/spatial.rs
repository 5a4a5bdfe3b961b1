//! Generator for the 地名地址 library's `address` table (`rules/spatial.yaml`).
//!
//! Clean rows are consistent by construction: a committee drawn from the 2023 code list gives
//! the street and district; the address text names the district; coordinates fall inside
//! Shanghai; dates lie in 2005–2025. Each anomalous row then gets exactly one [`Injury`]: a
//! [`Defect`] breaking exactly one rule of `spatial.yaml`, or (CSV only) a record [`Damage`]
//! counted by one built-in `PARSE-*` rule. Injuries take turns, so every rule gets its share.

use std::sync::{Arc, LazyLock};

use arrow::array::{ArrayRef, Date32Array, Float64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use rand::Rng as _;
use rand::rngs::StdRng;

use super::table::{RowCx, TableGen, row_at};
use crate::checks::region;
use crate::error::{Error, Result};

const COMMUNITIES: &str = include_str!("../../rules/codelists/shanghai_communities.csv");
const STREETS: &str = include_str!("../../rules/codelists/shanghai_streets.csv");
const DISTRICTS: &str = include_str!("../../rules/codelists/shanghai_districts.csv");

/// Municipal departments that also supply addresses (the rest come from the districts).
const DEPARTMENTS: [&str; 3] = ["市规划资源局", "市公安局", "市民政局"];
/// Road names that contain no district name (so address texts stay unambiguous).
pub(crate) const ROADS: [&str; 12] = [
    "长乐路",
    "复兴中路",
    "淮海西路",
    "四川北路",
    "羽山路",
    "花园石桥路",
    "沪南公路",
    "曹杨路",
    "江场路",
    "金沙江路",
    "虹梅路",
    "云台路",
];

/// A first-of-file date bound: 2005-01-01 and 2025-12-31 as days since 1970-01-01.
pub(crate) const DATE_MIN: i32 = 12_784;
pub(crate) const DATE_MAX: i32 = 20_453;

pub(crate) struct Reference {
    /// (community code, street code, district code)
    pub(crate) communities: Vec<(String, String, String)>,
    street_names: std::collections::HashMap<String, String>,
    pub(crate) district_names: std::collections::HashMap<String, String>,
    pub(crate) districts: Vec<String>,
}

pub(crate) static REFERENCE: LazyLock<Reference> = LazyLock::new(|| {
    let rows = |text: &'static str| {
        text.lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    let communities = rows(COMMUNITIES)
        .into_iter()
        .map(|r| (r[0].clone(), r[2].clone(), r[2][..6].to_string()))
        .collect();
    let street_names = rows(STREETS)
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let d = rows(DISTRICTS);
    Reference {
        communities,
        street_names,
        district_names: d.iter().map(|r| (r[0].clone(), r[1].clone())).collect(),
        districts: d.iter().map(|r| r[0].clone()).collect(),
    }
});

/// The generated table's name in `spatial.yaml`.
pub const TABLE: &str = "address";

/// Row-level defects, each breaking exactly the rule it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    NullCode,
    MalformedCode,
    NullAddress,
    PaddedDistrictCode,
    UnknownStreet,
    StreetOfOtherDistrict,
    CommunityOfOtherStreet,
    LongitudeOutside,
    LatitudeOutside,
    BadPostcode,
    OtherDistrictInAddress,
    BadHouseNumber,
    FutureUpdate,
    AncientUpdate,
    PointInOtherDistrict,
    AddressWithoutNumber,
    /// The address text's digits written full-width (１２号): readable, not standard.
    WideDigits,
    /// An address recorded twice: the first copy, then the second (every field the same).
    DuplicateFirst,
    DuplicateSecond,
}

impl Defect {
    pub const ALL: [Defect; 19] = [
        Defect::NullCode,
        Defect::MalformedCode,
        Defect::NullAddress,
        Defect::PaddedDistrictCode,
        Defect::UnknownStreet,
        Defect::StreetOfOtherDistrict,
        Defect::CommunityOfOtherStreet,
        Defect::LongitudeOutside,
        Defect::LatitudeOutside,
        Defect::BadPostcode,
        Defect::OtherDistrictInAddress,
        Defect::BadHouseNumber,
        Defect::FutureUpdate,
        Defect::AncientUpdate,
        Defect::PointInOtherDistrict,
        Defect::AddressWithoutNumber,
        Defect::WideDigits,
        Defect::DuplicateFirst,
        Defect::DuplicateSecond,
    ];

    /// The rule of `rules/spatial.yaml` a row with this defect fails (and no other).
    pub fn breaks(self) -> &'static str {
        match self {
            Defect::NullCode => "ADR-001",
            Defect::MalformedCode => "ADR-002",
            Defect::NullAddress => "ADR-003",
            // A 6-digit code padded to 9 digits: not a district code, same 6-digit prefix.
            Defect::PaddedDistrictCode => "ADR-004",
            Defect::UnknownStreet => "ADR-005",
            Defect::StreetOfOtherDistrict => "ADR-006",
            Defect::CommunityOfOtherStreet => "ADR-007",
            Defect::LongitudeOutside => "ADR-008",
            Defect::LatitudeOutside => "ADR-009",
            Defect::BadPostcode => "ADR-010",
            Defect::OtherDistrictInAddress => "ADR-011",
            Defect::BadHouseNumber => "ADR-012",
            Defect::FutureUpdate => "ADR-013",
            Defect::AncientUpdate => "ADR-014",
            Defect::PointInOtherDistrict => "ADR-015",
            Defect::AddressWithoutNumber => "ADR-016",
            Defect::WideDigits => "ADR-018",
            Defect::DuplicateFirst | Defect::DuplicateSecond => "ADR-019",
        }
    }
}

/// Every rule id of `rules/spatial.yaml`, so the truth lists zeros too.
pub static RULES: [&str; 20] = [
    "ADR-001", "ADR-002", "ADR-003", "ADR-004", "ADR-005", "ADR-006", "ADR-007", "ADR-008",
    "ADR-009", "ADR-010", "ADR-011", "ADR-012", "ADR-013", "ADR-014", "ADR-015", "ADR-016",
    "ADR-018", "ADR-017", "ADR-019", "ADR-020",
];

#[derive(Debug, Clone)]
/// One generated address.
pub struct Row {
    address_code: Option<String>,
    provider: String,
    address: Option<String>,
    district_code: String,
    district_name: String,
    street_code: String,
    community_code: String,
    road: String,
    house_number: String,
    longitude: f64,
    latitude: f64,
    postcode: String,
    updated_on: i32,
}

impl Row {
    pub fn address_code(&self) -> Option<&str> {
        self.address_code.as_deref()
    }

    pub fn community_code(&self) -> &str {
        &self.community_code
    }

    pub fn district_code(&self) -> &str {
        &self.district_code
    }
}

/// The community of address `index`, spread evenly: the code's last six digits are the
/// index's, and addresses whose indexes share them lie in different communities, so every
/// address code is distinct (up to communities × 10⁶ addresses).
fn community_of(index: u64, communities: usize) -> usize {
    let n = communities as u64;
    let mut h = (index % 1_000_000).wrapping_add(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    usize::try_from((h % n + index / 1_000_000) % n).unwrap_or(0)
}

fn clean_row(rng: &mut StdRng, index: u64) -> Row {
    let r = &*REFERENCE;
    let (community, street, district) = &r.communities[community_of(index, r.communities.len())];
    let district_name = r.district_names[district].clone();
    let street_name = r.street_names.get(street).cloned().unwrap_or_default();
    let road = ROADS[rng.random_range(0..ROADS.len())].to_string();
    let number: u32 = rng.random_range(1..1000);
    let house_number = match rng.random_range(0..10) {
        0 => format!("{number}号甲"),
        1 => format!("{number}-{}号", rng.random_range(1..9)),
        _ => format!("{number}号"),
    };
    let lane = if rng.random_bool(0.5) {
        format!("{}弄", rng.random_range(1..300))
    } else {
        String::new()
    };
    let provider = if rng.random_bool(0.85) {
        district_name.clone()
    } else {
        DEPARTMENTS[rng.random_range(0..DEPARTMENTS.len())].to_string()
    };
    let (longitude, latitude) = point_in(rng, district, None);
    Row {
        address_code: Some(format!("{community}{:06}", index % 1_000_000)),
        provider,
        address: Some(format!(
            "上海市{district_name}{street_name}{road}{lane}{house_number}"
        )),
        district_code: district.clone(),
        district_name,
        street_code: street.clone(),
        community_code: community.clone(),
        road,
        house_number,
        longitude,
        latitude,
        postcode: format!(
            "20{}{:03}",
            rng.random_range(0..3),
            rng.random_range(0..1000)
        ),
        updated_on: rng.random_range(DATE_MIN..=DATE_MAX),
    }
}

/// A point inside district `code`'s boundary (and, with `not_in`, outside that district's),
/// rounded to 6 decimals as written.
pub(crate) fn point_in(rng: &mut StdRng, code: &str, not_in: Option<&str>) -> (f64, f64) {
    let districts = &*region::DISTRICTS;
    let Some(d) = districts.iter().find(|d| d.code == code) else {
        unreachable!("generated districts come from the boundary file's code list")
    };
    let other = not_in.and_then(|c| districts.iter().find(|d| d.code == c));
    loop {
        let lon = round6(rng.random_range(d.bbox.min().x..d.bbox.max().x));
        let lat = round6(rng.random_range(d.bbox.min().y..d.bbox.max().y));
        if d.contains(lon, lat) && other.is_none_or(|o| !o.contains(lon, lat)) {
            return (lon, lat);
        }
    }
}

/// Tiers of the point rules: farther than this from the district filled in is an error.
pub(crate) const FAR_METRES: f64 = 1000.0;

/// A point inside district `code` more than [`FAR_METRES`] from district `not_near`.
pub(crate) fn point_far_from(rng: &mut StdRng, code: &str, not_near: &str) -> (f64, f64) {
    loop {
        let (lon, lat) = point_in(rng, code, Some(not_near));
        if region::distance_to_district(lon, lat, not_near).is_some_and(|m| m > FAR_METRES) {
            return (lon, lat);
        }
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn apply(row: &mut Row, defect: Defect, rng: &mut StdRng) {
    let r = &*REFERENCE;
    match defect {
        Defect::NullCode => row.address_code = None,
        Defect::MalformedCode => {
            if let Some(code) = &mut row.address_code {
                code.pop(); // 17 digits
            }
        }
        Defect::NullAddress => row.address = None,
        Defect::PaddedDistrictCode => row.district_code = format!("{}000", row.district_code),
        Defect::UnknownStreet => {
            row.street_code = format!("{}9{:02}", row.district_code, rng.random_range(0..100));
            row.community_code = format!("{}001", row.street_code);
        }
        Defect::StreetOfOtherDistrict => {
            let (community, street, _) = loop {
                let c = &r.communities[rng.random_range(0..r.communities.len())];
                if c.2 != row.district_code {
                    break c;
                }
            };
            row.street_code.clone_from(street);
            row.community_code.clone_from(community);
        }
        Defect::CommunityOfOtherStreet => {
            let (community, _, _) = loop {
                let c = &r.communities[rng.random_range(0..r.communities.len())];
                if c.1 != row.street_code {
                    break c;
                }
            };
            row.community_code.clone_from(community);
        }
        Defect::LongitudeOutside => {
            row.longitude = if rng.random_bool(0.5) {
                116.397_128
            } else {
                0.0
            }
        }
        Defect::LatitudeOutside => {
            row.latitude = if rng.random_bool(0.5) {
                39.916_527
            } else {
                0.0
            }
        }
        Defect::BadPostcode => row.postcode = "100001".into(),
        Defect::OtherDistrictInAddress => {
            let other = loop {
                let d = &r.districts[rng.random_range(0..r.districts.len())];
                if *d != row.district_code {
                    break r.district_names[d].clone();
                }
            };
            row.address = Some(format!("上海市{other}{}{}", row.road, row.house_number));
        }
        Defect::BadHouseNumber => row.house_number = format!("甲{}号", rng.random_range(1..100)),
        Defect::FutureUpdate => row.updated_on = 47_482, // 2099-12-31
        Defect::AncientUpdate => row.updated_on = rng.random_range(9_000..10_957), // 1994–1999
        Defect::PointInOtherDistrict => {
            let other = loop {
                let d = &r.districts[rng.random_range(0..r.districts.len())];
                if *d != row.district_code {
                    break d;
                }
            };
            (row.longitude, row.latitude) = point_far_from(rng, other, &row.district_code);
        }
        Defect::AddressWithoutNumber => {
            row.address = Some(format!("上海市{}{}", row.district_name, row.road));
        }
        // Copies, made where the row's ordinal is known (`Address::apply`).
        Defect::DuplicateFirst | Defect::DuplicateSecond => {}
        Defect::WideDigits => {
            row.address = row.address.as_ref().map(|a| {
                a.chars()
                    .map(|c| match c {
                        '0'..='9' => char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c),
                        c => c,
                    })
                    .collect()
            });
        }
    }
}

fn schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        s("address_code"),
        s("provider"),
        s("address"),
        s("district_code"),
        s("district_name"),
        s("street_code"),
        s("community_code"),
        s("road"),
        s("house_number"),
        Field::new("longitude", DataType::Float64, true),
        Field::new("latitude", DataType::Float64, true),
        s("postcode"),
        Field::new("updated_on", DataType::Date32, true),
    ]))
}

fn batch(rows: &[Row]) -> Result<RecordBatch> {
    let text = |f: &dyn Fn(&Row) -> Option<&str>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let columns: Vec<ArrayRef> = vec![
        text(&|r| r.address_code.as_deref()),
        text(&|r| Some(&r.provider)),
        text(&|r| r.address.as_deref()),
        text(&|r| Some(&r.district_code)),
        text(&|r| Some(&r.district_name)),
        text(&|r| Some(&r.street_code)),
        text(&|r| Some(&r.community_code)),
        text(&|r| Some(&r.road)),
        text(&|r| Some(&r.house_number)),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.longitude))
                .collect::<Float64Array>(),
        ),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.latitude))
                .collect::<Float64Array>(),
        ),
        text(&|r| Some(&r.postcode)),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.updated_on))
                .collect::<Date32Array>(),
        ),
    ];
    RecordBatch::try_new(schema(), columns)
        .map_err(|e| Error::Internal(format!("generated batch: {e}")))
}

/// Rule `id` of [`RULES`] as a one-rule list (none if it is not one).
fn rule(id: &str) -> &'static [&'static str] {
    RULES
        .iter()
        .position(|r| *r == id)
        .map_or(&[], |i| &RULES[i..=i])
}

/// The `address` table of `rules/spatial.yaml`.
pub struct Address;

impl TableGen for Address {
    type Row = Row;
    type Serials = ();

    fn name(&self) -> &'static str {
        TABLE
    }

    fn rules(&self) -> &'static [&'static str] {
        &RULES
    }

    fn defects(&self) -> usize {
        Defect::ALL.len()
    }

    fn clean_row(&self, _cx: &RowCx<'_>, rng: &mut StdRng, index: u64) -> Row {
        clean_row(rng, index)
    }

    fn apply(
        &self,
        cx: &RowCx<'_>,
        row: &mut Row,
        k: usize,
        ordinal: usize,
        rng: &mut StdRng,
    ) -> &'static [&'static str] {
        let defect = Defect::ALL[k];
        apply(row, defect, rng);
        match defect {
            // Placed more than a kilometre outside its district: the error tier breaks too.
            Defect::PointInOtherDistrict => &["ADR-015", "ADR-017"],
            // The community under an unknown street is not in the code list either.
            Defect::UnknownStreet => &["ADR-005", "ADR-020"],
            // The last anomalous row has no second copy: its code is left empty instead.
            Defect::DuplicateFirst if ordinal + 1 == cx.anomalous.len() => {
                apply(row, Defect::NullCode, rng);
                &RULES[0..1]
            }
            Defect::DuplicateSecond => {
                *row = row_at(self, cx, cx.anomalous[ordinal - 1]).0;
                &["ADR-019"]
            }
            _ => rule(defect.breaks()),
        }
    }

    fn provider<'a>(&self, row: &'a Row) -> &'a str {
        &row.provider
    }

    fn schema(&self) -> SchemaRef {
        schema()
    }

    fn batch(&self, rows: &[Row]) -> Result<RecordBatch> {
        batch(rows)
    }

    fn damage_columns(&self) -> (usize, usize) {
        (8, 12) // house_number, updated_on
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_defect_names_a_rule_and_each_rule_has_a_defect() {
        for d in Defect::ALL {
            assert_eq!(rule(d.breaks()), [d.breaks()], "{d:?}");
        }
        for r in RULES {
            // ADR-017 (the error tier of ADR-015) breaks with PointInOtherDistrict, ADR-020
            // (the community list) with UnknownStreet.
            let broken =
                ["ADR-017", "ADR-020"].contains(&r) || Defect::ALL.iter().any(|d| d.breaks() == r);
            assert!(broken, "{r} has no defect");
        }
    }
}
