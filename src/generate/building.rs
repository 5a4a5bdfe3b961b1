//! Generator for the 建筑房屋 library's `building` table (`rules/building.yaml`).
//!
//! Clean rows: a building on a standard address (a committee from the 2023 code list, a road
//! and number), a point inside its district's boundary, a 28-character real-estate unit code
//! starting with the district code, 1–60 floors, built 1900–2024, a building area at least
//! its footprint. Each defect breaks exactly one rule — and, when the spatial library is
//! generated too, the buildings stand on its clean addresses (same code, committee and
//! district), so a defect that damages the address code also leaves it without a match.
//! Scenarios: two rows sharing one building id, and (with the spatial library) an address
//! code no address has.

use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use rand::Rng as _;
use rand::rngs::StdRng;

use super::spatial::{DATE_MAX, DATE_MIN, REFERENCE, ROADS, point_far_from, point_in};
use super::table::{RowCx, TableGen, row_at, text_column};
use crate::error::{Error, Result};

pub const TABLE: &str = "building";

static RULES: [&str; 23] = [
    "BLD-001", "BLD-002", "BLD-003", "BLD-004", "BLD-005", "BLD-006", "BLD-007", "BLD-008",
    "BLD-009", "BLD-010", "BLD-011", "BLD-012", "BLD-013", "BLD-014", "BLD-015", "BLD-016",
    "BLD-017", "BLD-018", "BLD-019", "BLD-020", "BLD-021", "BLD-022", "BLD-023",
];
/// Rules the two copies of a building recorded twice break: its id and its unit code are
/// each held twice.
static DUPLICATE_RULES: [&str; 2] = ["BLD-019", "BLD-023"];
/// Row defects, one per row-level rule; then the scenarios.
const ROW_DEFECTS: usize = 18;
const DUPLICATE_FIRST: usize = ROW_DEFECTS;
const DUPLICATE_SECOND: usize = ROW_DEFECTS + 1;
const DANGLING: usize = ROW_DEFECTS + 2;
/// 房屋结构, the six classes of GB/T 17986.1.
const STRUCTURES: [&str; 6] = [
    "钢结构",
    "钢和钢筋混凝土结构",
    "钢筋混凝土结构",
    "混合结构",
    "砖木结构",
    "其它结构",
];
const USAGES: [&str; 6] = ["住宅", "商业", "办公", "工业", "公共服务", "其他"];
const PROVIDERS: [&str; 2] = ["市规划资源局", "市住房城乡建设管理委"];

/// One building.
#[derive(Debug, Clone)]
pub struct Row {
    building_id: Option<String>,
    provider: String,
    unit_code: String,
    address: Option<String>,
    address_code: String,
    district_code: String,
    longitude: f64,
    latitude: f64,
    floors: i64,
    build_year: i64,
    building_area: f64,
    footprint_area: f64,
    structure: String,
    usage: String,
    updated_on: i32,
}

fn other_district(rng: &mut StdRng, not: &str) -> String {
    let r = &*REFERENCE;
    loop {
        let d = &r.districts[rng.random_range(0..r.districts.len())];
        if d != not {
            return d.clone();
        }
    }
}

/// The spatial library generated with the buildings: its table, and how it was made.
pub struct SpatialLink {
    pub seed: u64,
    pub rows: u64,
    pub anomalous: Vec<u64>,
    pub csv: bool,
}

impl SpatialLink {
    fn cx(&self) -> RowCx<'_> {
        RowCx {
            seed: self.seed,
            rows: self.rows,
            anomalous: &self.anomalous,
            csv: self.csv,
        }
    }

    /// The clean address building `index` stands on.
    fn address_for(&self, index: u64) -> Option<super::spatial::Row> {
        let cx = self.cx();
        let start = index.wrapping_mul(7_919) % self.rows.max(1);
        (0..self.rows)
            .map(|step| (start + step) % self.rows)
            .find(|&j| !cx.is_anomalous(j))
            .map(|j| row_at(&super::spatial::Address, &cx, j).0)
    }

    /// An address code under `community` that no address of the table has.
    fn missing_code(&self, community: &str, ordinal: usize) -> String {
        let cx = self.cx();
        let mut suffix = (self.rows + ordinal as u64) % 1_000_000;
        loop {
            let code = format!("{community}{suffix:06}");
            let taken = (suffix..self.rows)
                .step_by(1_000_000)
                .any(|j| row_at(&super::spatial::Address, &cx, j).0.address_code() == Some(&code));
            if !taken {
                return code;
            }
            suffix = (suffix + 1) % 1_000_000;
        }
    }
}

/// The `building` table of `rules/building.yaml`.
pub struct Building {
    pub spatial: Option<SpatialLink>,
}

impl TableGen for Building {
    type Row = Row;
    type Serials = ();

    fn name(&self) -> &'static str {
        TABLE
    }

    fn rules(&self) -> &'static [&'static str] {
        &RULES
    }

    fn defects(&self) -> usize {
        if self.spatial.is_some() {
            DANGLING + 1
        } else {
            DANGLING
        }
    }

    fn clean_row(&self, _cx: &RowCx<'_>, rng: &mut StdRng, index: u64) -> Row {
        let r = &*REFERENCE;
        let (community, _, district) = &r.communities[rng.random_range(0..r.communities.len())];
        let (district, address_code) =
            match self.spatial.as_ref().and_then(|s| s.address_for(index)) {
                Some(address) => (
                    address.district_code().to_string(),
                    address.address_code().unwrap_or_default().to_string(),
                ),
                None => (
                    district.clone(),
                    format!("{community}{:06}", index % 1_000_000),
                ),
            };
        let district = &district;
        let district_name = &r.district_names[district];
        let (longitude, latitude) = point_in(rng, district, None);
        let floors = rng.random_range(1..=60);
        let footprint: f64 = (rng.random_range(20.0..2000.0_f64) * 100.0).round() / 100.0;
        let building_area =
            (footprint * f64::from(floors) * rng.random_range(0.6..1.0_f64) * 100.0).round()
                / 100.0;
        let provider = if rng.random_bool(0.7) {
            district_name.clone()
        } else {
            PROVIDERS[rng.random_range(0..PROVIDERS.len())].to_string()
        };
        Row {
            building_id: Some(format!("BD{index:012}")),
            provider,
            unit_code: format!(
                "{district}{:03}{:03}G{}{:05}F{:08}",
                rng.random_range(1..1000),
                rng.random_range(1..1000),
                ["A", "B", "S"][rng.random_range(0..3)],
                rng.random_range(1..100_000),
                // The unit's number is the row's: every unit code is distinct (up to 10⁸ rows).
                index % 100_000_000
            ),
            address: Some(format!(
                "上海市{district_name}{}{}号",
                ROADS[rng.random_range(0..ROADS.len())],
                rng.random_range(1..2000)
            )),
            address_code,
            district_code: district.clone(),
            longitude,
            latitude,
            floors: i64::from(floors),
            build_year: rng.random_range(1900..=2024),
            building_area: building_area.max(footprint),
            footprint_area: footprint,
            structure: STRUCTURES[rng.random_range(0..STRUCTURES.len())].to_string(),
            usage: USAGES[rng.random_range(0..USAGES.len())].to_string(),
            updated_on: rng.random_range(DATE_MIN..=DATE_MAX),
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
        match k {
            DUPLICATE_FIRST if ordinal + 1 < cx.anomalous.len() => {
                row.building_id = Some(format!("BDDUP{ordinal:010}"));
                return &DUPLICATE_RULES;
            }
            DUPLICATE_FIRST => {
                // The last anomalous row has no partner to share an id with.
                row.building_id = None;
                return &RULES[0..1];
            }
            // The same building recorded again: every field the first copy's.
            DUPLICATE_SECOND => {
                *row = row_at(self, cx, cx.anomalous[ordinal - 1]).0;
                return &DUPLICATE_RULES;
            }
            DANGLING => {
                if let Some(link) = &self.spatial {
                    let community = row.address_code[..12].to_string();
                    row.address_code = link.missing_code(&community, ordinal);
                }
                return &RULES[19..20];
            }
            _ => {}
        }
        let linked = self.spatial.is_some();
        match k {
            0 => row.building_id = None,
            1 => {
                row.unit_code.pop(); // 27 characters
            }
            2 => {
                let other = other_district(rng, &row.district_code);
                row.unit_code.replace_range(0..6, &other);
            }
            3 => row.district_code = format!("{}000", row.district_code),
            4 => {
                row.address_code.pop(); // 17 digits
            }
            5 => {
                let other = other_district(rng, &row.district_code);
                row.address_code.replace_range(0..6, &other);
            }
            6 => row.longitude = 116.397_128,
            7 => row.latitude = 39.916_527,
            8 => {
                let other = other_district(rng, &row.district_code);
                (row.longitude, row.latitude) = point_far_from(rng, &other, &row.district_code);
            }
            9 => row.floors = 250,
            // A year typed with a digit missing: before 1000, so before 1840 too.
            10 => row.build_year = rng.random_range(190..1000),
            11 => row.build_year = 2090,
            12 => {
                row.building_area = 0.0;
                row.footprint_area = 0.0;
            }
            13 => row.building_area = row.footprint_area - 10.0,
            // A colloquial name, not a class of the code list.
            14 => row.structure = "砖混结构".into(),
            15 => row.usage = "仓储".into(),
            16 => row.address = None,
            _ => row.updated_on = 47_482, // 2099-12-31
        }
        match k {
            // A damaged address code has no address to refer to.
            4 if linked => &["BLD-005", "BLD-020"],
            5 if linked => &["BLD-006", "BLD-020"],
            // More than a kilometre outside its district: the error tier breaks too.
            8 => &["BLD-009", "BLD-021"],
            10 => &["BLD-011", "BLD-022"],
            _ => &RULES[k..=k],
        }
    }

    fn provider<'a>(&self, row: &'a Row) -> &'a str {
        &row.provider
    }

    fn schema(&self) -> SchemaRef {
        let s = |n: &str| Field::new(n, DataType::Utf8, true);
        let f = |n: &str| Field::new(n, DataType::Float64, true);
        let i = |n: &str| Field::new(n, DataType::Int64, true);
        Arc::new(Schema::new(vec![
            s("building_id"),
            s("provider"),
            s("unit_code"),
            s("address"),
            s("address_code"),
            s("district_code"),
            f("longitude"),
            f("latitude"),
            i("floors"),
            i("build_year"),
            f("building_area"),
            f("footprint_area"),
            s("structure"),
            s("usage"),
            Field::new("updated_on", DataType::Date32, true),
        ]))
    }

    fn batch(&self, rows: &[Row]) -> Result<RecordBatch> {
        let float = |f: &dyn Fn(&Row) -> f64| -> ArrayRef {
            Arc::new(rows.iter().map(|r| Some(f(r))).collect::<Float64Array>())
        };
        let int = |f: &dyn Fn(&Row) -> i64| -> ArrayRef {
            Arc::new(rows.iter().map(|r| Some(f(r))).collect::<Int64Array>())
        };
        let columns: Vec<ArrayRef> = vec![
            text_column(rows, |r| r.building_id.clone()),
            text_column(rows, |r| Some(r.provider.clone())),
            text_column(rows, |r| Some(r.unit_code.clone())),
            text_column(rows, |r| r.address.clone()),
            text_column(rows, |r| Some(r.address_code.clone())),
            text_column(rows, |r| Some(r.district_code.clone())),
            float(&|r| r.longitude),
            float(&|r| r.latitude),
            int(&|r| r.floors),
            int(&|r| r.build_year),
            float(&|r| r.building_area),
            float(&|r| r.footprint_area),
            text_column(rows, |r| Some(r.structure.clone())),
            text_column(rows, |r| Some(r.usage.clone())),
            Arc::new(
                rows.iter()
                    .map(|r| Some(r.updated_on))
                    .collect::<Date32Array>(),
            ),
        ];
        RecordBatch::try_new(self.schema(), columns)
            .map_err(|e| Error::Internal(format!("generated batch: {e}")))
    }

    fn damage_columns(&self) -> (usize, usize) {
        (3, 14) // address, updated_on
    }
}
