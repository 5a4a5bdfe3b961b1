//! A place against the district code stated beside it, counted in the profile's pass. Where a
//! table has a longitude and a latitude within Shanghai and a district code (chosen from the
//! sample): the rows whose point lies outside that district's boundary, and those more than a
//! kilometre from it, as `within_region` and `qc_distance_to_district` judge them. Where it
//! has address text and a district code: the rows whose address names another district, as
//! `qc_addr_district` and `qc_district_name` read them.

use arrow::array::{BooleanArray, RecordBatch};
use serde::{Deserialize, Serialize};

use super::classes::{self as classes, Class};
use super::classes::{SH_LATITUDE, SH_LONGITUDE};
use super::read::{floats, texts};
use crate::checks::{address, admin_code, region};
use crate::rules::BoundColumn;

/// A column takes a role when this share of its sample's non-NULL values fits it.
const ROLE_SHARE: f64 = 0.8;
/// Farther than this from the district stated, a point is far off (metres).
pub const FAR_METRES: f64 = 1000.0;

/// The rows judged, those outside the district stated and those far from it
/// (`profile.json`'s relations, kind `point`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placed {
    /// Rows with both coordinates and a current district's code.
    pub compared: u64,
    /// Of them, points outside that district's boundary.
    pub outside: u64,
    /// Of them, points more than [`FAR_METRES`] from it.
    pub far: u64,
}

/// The columns taking part (indexes into the table's columns).
#[derive(Debug, Clone, Copy, Default)]
pub struct PlaceRoles {
    /// Longitude, latitude, district code.
    point: Option<(usize, usize, usize)>,
    /// Address text, district code.
    address: Option<(usize, usize)>,
}

impl PlaceRoles {
    pub fn from_sample(
        columns: &[BoundColumn],
        sample: &RecordBatch,
        well_formed: &[usize],
    ) -> PlaceRoles {
        let numbers = |i: usize| sample.column_by_name(&columns[i].name).and_then(floats);
        // Whether ROLE_SHARE of the judgements (one per present value) say yes.
        let fits = |judged: Vec<bool>| {
            !judged.is_empty()
                && judged.iter().filter(|&&b| b).count() as f64 >= ROLE_SHARE * judged.len() as f64
        };
        let within = |(lo, hi): (f64, f64)| {
            (0..columns.len()).find(|&i| {
                numbers(i).is_some_and(|v| {
                    fits(
                        well_formed
                            .iter()
                            .filter_map(|&r| v[r])
                            .map(|x| (lo..=hi).contains(&x))
                            .collect(),
                    )
                })
            })
        };
        let text = |test: &dyn Fn(&str) -> bool| {
            (0..columns.len()).find(|&i| {
                sample
                    .column_by_name(&columns[i].name)
                    .and_then(texts)
                    .is_some_and(|t| {
                        fits(well_formed.iter().filter_map(|&r| t[r]).map(test).collect())
                    })
            })
        };
        let district = text(&|s| s.len() == 6 && admin_code::is_current(s));
        let addresses = text(&|s| classes::classify(s).contains(Class::Address));
        PlaceRoles {
            point: within(SH_LONGITUDE)
                .zip(within(SH_LATITUDE))
                .zip(district)
                .map(|((lon, lat), d)| (lon, lat, d)),
            address: addresses.zip(district),
        }
    }
}

/// Address rows whose text names a district and whose code is a district's: those compared,
/// and those naming another district (`profile.json`'s relations, kind `address_district`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub compared: u64,
    pub differ: u64,
}

/// The counts so far, in one worker.
#[derive(Debug, Clone)]
pub struct PlacesAcc {
    roles: PlaceRoles,
    points: Placed,
    named: Named,
}

impl PlacesAcc {
    pub fn new(roles: PlaceRoles) -> PlacesAcc {
        PlacesAcc {
            roles,
            points: Placed::default(),
            named: Named::default(),
        }
    }

    pub fn update(
        &mut self,
        columns: &[BoundColumn],
        batch: &RecordBatch,
        keep: Option<&BooleanArray>,
    ) {
        let kept = |r: usize| keep.is_none_or(|k| k.value(r));
        if let Some((address, district)) = self.roles.address {
            let read = |i: usize| batch.column_by_name(&columns[i].name).and_then(texts);
            if let (Some(a), Some(d)) = (read(address), read(district)) {
                for r in (0..batch.num_rows()).filter(|&r| kept(r)) {
                    let named = a[r].and_then(|a| address::part(a, address::Part::District));
                    let coded = d[r].and_then(admin_code::district_name);
                    if let (Some(named), Some(coded)) = (named, coded) {
                        self.named.compared += 1;
                        self.named.differ += u64::from(named != coded);
                    }
                }
            }
        }
        let Some((lon, lat, district)) = self.roles.point else {
            return;
        };
        let number = |i: usize| batch.column_by_name(&columns[i].name).and_then(floats);
        let (Some(x), Some(y), Some(code)) = (
            number(lon),
            number(lat),
            batch
                .column_by_name(&columns[district].name)
                .and_then(texts),
        ) else {
            return;
        };
        let c = &mut self.points;
        for r in (0..batch.num_rows()).filter(|&r| kept(r)) {
            let (Some(x), Some(y), Some(code)) = (x[r], y[r], code[r]) else {
                continue;
            };
            let Some(inside) = region::in_district(x, y, code) else {
                continue;
            };
            c.compared += 1;
            if !inside {
                c.outside += 1;
                let far = region::distance_to_district(x, y, code).is_some_and(|m| m > FAR_METRES);
                c.far += u64::from(far);
            }
        }
    }

    pub fn merge(&mut self, other: &PlacesAcc) {
        self.points.compared += other.points.compared;
        self.points.outside += other.points.outside;
        self.points.far += other.points.far;
        self.named.compared += other.named.compared;
        self.named.differ += other.named.differ;
    }

    /// The longitude, latitude and district columns with their counts, and the address and
    /// district columns with theirs, where the table has them.
    #[allow(clippy::type_complexity)]
    pub fn finish(
        self,
        columns: &[BoundColumn],
    ) -> (
        Option<(String, String, String, Placed)>,
        Option<(String, String, Named)>,
    ) {
        let name = |i: usize| columns[i].name.clone();
        (
            self.roles
                .point
                .map(|(lon, lat, d)| (name(lon), name(lat), name(d), self.points)),
            self.roles
                .address
                .map(|(a, d)| (name(a), name(d), self.named)),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::rules::ColumnType;

    #[test]
    fn points_and_addresses_against_their_district() {
        let columns = vec![
            BoundColumn::plain("address", ColumnType::String),
            BoundColumn::plain("district_code", ColumnType::String),
            BoundColumn::plain("longitude", ColumnType::Float),
            BoundColumn::plain("latitude", ColumnType::Float),
        ];
        // People's Square (黄浦区) four times, then in 浦东新区 near the river, then far off in
        // 嘉定区; one address naming 静安区, one naming no district, one unknown code.
        let rows: [(&str, &str, f64, f64); 7] = [
            ("上海市黄浦区人民大道200号", "310101", 121.4737, 31.2304),
            ("上海市黄浦区南京东路1号", "310101", 121.4737, 31.2304),
            ("上海市静安区南京西路1号", "310101", 121.4737, 31.2304),
            ("南京东路2号", "310101", 121.4737, 31.2304),
            ("上海市黄浦区中山南路1号", "310101", 121.5058, 31.2200),
            ("上海市黄浦区外马路1号", "310101", 121.25, 31.38),
            ("上海市黄浦区外马路2号", "999999", 121.4737, 31.2304),
        ];
        let schema = Arc::new(Schema::new(vec![
            Field::new("address", DataType::Utf8, true),
            Field::new("district_code", DataType::Utf8, true),
            Field::new("longitude", DataType::Float64, true),
            Field::new("latitude", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.2))),
                Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.3))),
            ],
        )
        .unwrap();
        let all: Vec<usize> = (0..rows.len()).collect();
        let roles = PlaceRoles::from_sample(&columns, &batch, &all);
        assert_eq!(roles.point, Some((2, 3, 1)));
        assert_eq!(roles.address, Some((0, 1)));
        let mut acc = PlacesAcc::new(roles);
        acc.update(&columns, &batch, None);
        let (point, address) = acc.finish(&columns);
        let expect_out = |lon: f64, lat: f64| !region::in_district(lon, lat, "310101").unwrap();
        let far = |lon: f64, lat: f64| {
            region::distance_to_district(lon, lat, "310101").is_some_and(|m| m > FAR_METRES)
        };
        let judged = &rows[..6];
        let placed = point.unwrap().3;
        assert_eq!(placed.compared, 6);
        assert_eq!(
            placed.outside,
            judged.iter().filter(|r| expect_out(r.2, r.3)).count() as u64
        );
        assert_eq!(
            placed.far,
            judged.iter().filter(|r| far(r.2, r.3)).count() as u64
        );
        assert!(placed.far >= 1, "嘉定 is far from 黄浦");
        // Five name a district against a known code; one names another.
        assert_eq!(
            address.unwrap().2,
            Named {
                compared: 5,
                differ: 1
            }
        );
    }
}
