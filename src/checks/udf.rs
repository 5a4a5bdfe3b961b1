//! qc's domain functions as DataFusion scalar UDFs (`qc_*`), usable in rule SQL and compiled
//! into plans by the domain check kinds.
//!
//! Every function takes one text argument (Utf8, LargeUtf8 or Utf8View: Ballista disables
//! view types) and maps each value on its own: NULL in, NULL out. They are plain scalar UDFs,
//! registered by name, so a Ballista executor with [`register`] called can run the same plans.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Int64Array, StringArrayType,
    StringBuilder, StringViewBuilder,
};
use arrow::datatypes::DataType;
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use super::{address, admin_code as admin, certificate as cert, codes, id_number, region};

/// What a text function returns per value.
#[derive(Debug, Clone, Copy)]
pub enum TextFn {
    Bool(fn(&str) -> Option<bool>),
    /// Days since 1970-01-01.
    Date(fn(&str) -> Option<i32>),
    Int(fn(&str) -> Option<i64>),
    /// Borrowed from the value or static where it can be: no allocation per row.
    Text(for<'a> fn(&'a str) -> Option<Cow<'a, str>>),
    /// One part of an address text (see [`CutColumn`]: a column is cut once for all parts).
    AddressPart(address::Part),
}

/// A one-argument text function. Functions are identified by name (names are unique).
#[derive(Debug)]
pub struct TextUdf {
    name: &'static str,
    f: TextFn,
    signature: Signature,
}

impl PartialEq for TextUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TextUdf {}

impl std::hash::Hash for TextUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl TextUdf {
    pub fn new(name: &'static str, f: TextFn) -> TextUdf {
        let text = [DataType::Utf8, DataType::LargeUtf8, DataType::Utf8View];
        TextUdf {
            name,
            f,
            signature: Signature::new(
                TypeSignature::OneOf(
                    text.into_iter()
                        .map(|t| TypeSignature::Exact(vec![t]))
                        .collect(),
                ),
                Volatility::Immutable,
            ),
        }
    }

    /// Map each value of `column` (read as `texts`); text results come back in the
    /// argument's string type (a view array for a view argument, so comparing with another
    /// column of the scan needs no cast).
    fn map_values<'a, S: StringArrayType<'a>>(
        &self,
        column: &ArrayRef,
        texts: &S,
        views: bool,
    ) -> ArrayRef {
        let values = texts.iter();
        match self.f {
            TextFn::Bool(f) => Arc::new(values.map(|v| v.and_then(f)).collect::<BooleanArray>()),
            TextFn::Date(f) => Arc::new(values.map(|v| v.and_then(f)).collect::<Date32Array>()),
            TextFn::Int(f) => Arc::new(values.map(|v| v.and_then(f)).collect::<Int64Array>()),
            TextFn::Text(f) => remembered(self.name, column, || {
                // Most values come back as they are (an ID number already in normal form):
                // the rows before the first one changed are not mapped again, and a column
                // with none changed is returned itself, without a copy.
                let unchanged = |v: Option<&str>| {
                    v.is_none_or(|s| matches!(f(s), Some(Cow::Borrowed(b)) if std::ptr::eq(b, s)))
                };
                let changed = texts.iter().position(|v| !unchanged(v));
                let same_type = !matches!(column.data_type(), DataType::LargeUtf8);
                match changed {
                    None if same_type => Arc::clone(column),
                    changed => {
                        let at = changed.unwrap_or(texts.len());
                        let kept = texts.iter().take(at).map(|v| v.map(Cow::Borrowed));
                        let rest = texts.iter().skip(at).map(|v| v.and_then(f));
                        text_array(kept.chain(rest), views)
                    }
                }
            }),
            TextFn::AddressPart(part) => {
                let cut = cut_column(column, texts);
                let parts = values.zip(&cut.rows).map(|(v, row)| {
                    let (cuts, normalized) = row.as_ref()?;
                    address::cut_part(normalized.as_deref().or(v)?, cuts, part)
                });
                text_array(parts, views)
            }
        }
    }

    fn scalar(&self, v: Option<&str>, views: bool) -> ScalarValue {
        let text = |t: Option<Cow<'_, str>>| {
            let t = t.map(Cow::into_owned);
            if views {
                ScalarValue::Utf8View(t)
            } else {
                ScalarValue::Utf8(t)
            }
        };
        match self.f {
            TextFn::Bool(f) => ScalarValue::Boolean(v.and_then(f)),
            TextFn::Date(f) => ScalarValue::Date32(v.and_then(f)),
            TextFn::Int(f) => ScalarValue::Int64(v.and_then(f)),
            TextFn::Text(f) => text(v.and_then(f)),
            TextFn::AddressPart(part) => text(v.and_then(|v| address::part(v, part))),
        }
    }
}

/// Text values as a string array, a view array when `views`.
fn text_array<T: AsRef<str>>(values: impl Iterator<Item = Option<T>>, views: bool) -> ArrayRef {
    if views {
        let mut out = StringViewBuilder::with_capacity(values.size_hint().0);
        for v in values {
            out.append_option(v);
        }
        Arc::new(out.finish())
    } else {
        let mut out = StringBuilder::with_capacity(values.size_hint().0, 0);
        for v in values {
            out.append_option(v);
        }
        Arc::new(out.finish())
    }
}

/// An address column cut into its parts once for every `qc_addr_*` function called on it: a
/// rule reading the road, the number and the lane of one column (ADR-016) cuts each address
/// once, not three times.
struct CutColumn {
    /// The column cut. Holding it keeps its allocation from being reused while it is
    /// remembered, so an array at the same address is the same column.
    column: ArrayRef,
    /// Per row (`None` for NULL): the cuts, and the text cut when normalizing changed it.
    rows: Vec<Option<(address::Cuts, Option<Box<str>>)>>,
}

/// How many text functions' results a thread remembers ([`remembered`]).
const REMEMBERED: usize = 4;

thread_local! {
    /// The last results of text functions on this thread: (function, argument, result).
    static LAST_TEXT: RefCell<Vec<(&'static str, ArrayRef, ArrayRef)>> =
        const { RefCell::new(Vec::new()) };
}

/// `name`'s result on `column`, remembered: six ID-number rules that judge two columns in
/// normal form (MAR-007…012) normalize each column once per batch, not three times. Holding
/// the argument keeps its allocation from being reused while it is remembered, so an array at
/// the same address is the same column (as for [`CutColumn`]).
fn remembered(
    name: &'static str,
    column: &ArrayRef,
    compute: impl FnOnce() -> ArrayRef,
) -> ArrayRef {
    let known = LAST_TEXT.with_borrow(|last| {
        last.iter()
            .find(|(n, c, _)| *n == name && Arc::ptr_eq(c, column))
            .map(|(_, _, out)| Arc::clone(out))
    });
    if let Some(out) = known {
        return out;
    }
    let out = compute();
    LAST_TEXT.with_borrow_mut(|last| {
        if last.len() == REMEMBERED {
            last.remove(0);
        }
        last.push((name, Arc::clone(column), Arc::clone(&out)));
    });
    out
}

thread_local! {
    /// The last address column cut on this thread. The expressions of a projection are
    /// evaluated one after another on the thread that holds the batch, so the functions of
    /// one batch find its cuts here.
    static LAST_CUT: RefCell<Option<Rc<CutColumn>>> = const { RefCell::new(None) };
}

/// `column` (read as `texts`) cut into address parts, or the cuts remembered for it.
fn cut_column<'a, S: StringArrayType<'a>>(column: &ArrayRef, texts: &S) -> Rc<CutColumn> {
    LAST_CUT.with_borrow_mut(|last| {
        if let Some(cut) = last.as_ref().filter(|c| Arc::ptr_eq(&c.column, column)) {
            return Rc::clone(cut);
        }
        let rows = texts
            .iter()
            .map(|v| v.map(address::cut_normalized))
            .collect();
        let cut = Rc::new(CutColumn {
            column: Arc::clone(column),
            rows,
        });
        *last = Some(Rc::clone(&cut));
        cut
    })
}

impl ScalarUDFImpl for TextUdf {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match self.f {
            TextFn::Bool(_) => DataType::Boolean,
            TextFn::Date(_) => DataType::Date32,
            TextFn::Int(_) => DataType::Int64,
            TextFn::Text(_) | TextFn::AddressPart(_)
                if args.first() == Some(&DataType::Utf8View) =>
            {
                DataType::Utf8View
            }
            TextFn::Text(_) | TextFn::AddressPart(_) => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [arg] = args.args.as_slice() else {
            return exec_err!("{} takes one argument", self.name);
        };
        match arg {
            ColumnarValue::Array(a) => Ok(ColumnarValue::Array(match a.data_type() {
                DataType::Utf8 => self.map_values(a, &a.as_string::<i32>(), false),
                DataType::LargeUtf8 => self.map_values(a, &a.as_string::<i64>(), false),
                DataType::Utf8View => self.map_values(a, &a.as_string_view(), true),
                other => return exec_err!("{} takes text, not {other}", self.name),
            })),
            ColumnarValue::Scalar(s) => match s {
                ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) => {
                    Ok(ColumnarValue::Scalar(self.scalar(v.as_deref(), false)))
                }
                ScalarValue::Utf8View(v) => {
                    Ok(ColumnarValue::Scalar(self.scalar(v.as_deref(), true)))
                }
                other => exec_err!("{} takes text, not {}", self.name, other.data_type()),
            },
        }
    }
}

/// Every qc function, with a one-line description (README's function reference).
pub fn functions() -> Vec<(TextUdf, &'static str)> {
    use id_number as id;
    vec![
        (
            TextUdf::new(
                "qc_id_valid",
                TextFn::Bool(|s| Some(id::is_valid_citizen(s))),
            ),
            "citizen ID (18 or 15 digits) well formed: shape, real birth date ≥ 1880, check character",
        ),
        (
            TextUdf::new("qc_id_checksum_ok", TextFn::Bool(id::checksum_ok)),
            "18-character number: the MOD 11-2 check character matches (NULL for other shapes)",
        ),
        (
            TextUdf::new(
                "qc_id_normalized",
                TextFn::Bool(|s| Some(id::is_normalized(s))),
            ),
            "written in normal form: 18 chars (digits + digit/X) or 15 digits, nothing else",
        ),
        (
            TextUdf::new("qc_id_normalize", TextFn::Text(id::normalize)),
            "normal form of a number written with spaces, full-width digits or lower-case x",
        ),
        (
            TextUdf::new("qc_id_canonical", TextFn::Text(id::canonical)),
            "the person key: an ID number in normal form, 15 digits upgraded to 18 ('310103800101123' → '310103198001011232'); another number (a passport's) trimmed and upper-cased",
        ),
        (
            TextUdf::new(
                "qc_id_kind",
                TextFn::Text(|s| Some(Cow::Borrowed(id::kind(s).code()))),
            ),
            "citizen, legacy15, hk_mo_tw (81/82/83), foreign (9…) or malformed",
        ),
        (
            TextUdf::new("qc_id_birth_date", TextFn::Date(id::birth_days)),
            "birth date encoded in the number (15 digits: 19YY)",
        ),
        (
            TextUdf::new("qc_id_sex", TextFn::Text(|s| id::sex(s).map(Cow::Borrowed))),
            "'1' male (odd sequence digit) or '2' female (even), GB/T 2261.1",
        ),
        (
            TextUdf::new("qc_id_address_known", TextFn::Bool(id::address_known)),
            "address code known: a current or retired Shanghai code, or a valid province elsewhere",
        ),
        (
            TextUdf::new(
                "qc_id_upgrade",
                TextFn::Text(|s| id::upgrade(s).map(Cow::Owned)),
            ),
            "18-character form of a 15-digit number",
        ),
        (
            TextUdf::new(
                "qc_admin_current",
                TextFn::Bool(|s| Some(admin::is_current(s))),
            ),
            "a current Shanghai division code: district (6), street/town (9) or community (12 digits)",
        ),
        (
            TextUdf::new(
                "qc_district_known",
                TextFn::Bool(|s| Some(admin::is_known_district(s))),
            ),
            "a current or retired (since 1980) Shanghai district code",
        ),
        (
            TextUdf::new(
                "qc_district_name",
                TextFn::Text(|s| admin::district_name(s).map(Cow::Borrowed)),
            ),
            "name of a current or retired district code (310103 → 卢湾区)",
        ),
        (
            TextUdf::new("qc_district_retired_on", TextFn::Date(admin::retired_on)),
            "the first day a retired district code was no longer in use (310103 → 2011-06-08); NULL if current",
        ),
        (
            TextUdf::new("qc_district_valid_from", TextFn::Date(admin::valid_from)),
            "the first day a district code was in use (310151 → 2016-07-22); NULL if in use since 1980",
        ),
        (
            TextUdf::new(
                "qc_province_name",
                TextFn::Text(|s| admin::province_name(s).map(Cow::Borrowed)),
            ),
            "the province of a division code by its first two digits (320102 → 江苏省)",
        ),
        (
            TextUdf::new(
                "qc_admin_parent",
                TextFn::Text(|s| admin::parent(s).map(Cow::Borrowed)),
            ),
            "the enclosing division: 12-digit community → 9-digit street, 9-digit street → district",
        ),
        (
            TextUdf::new(
                "qc_addr_district",
                TextFn::AddressPart(address::Part::District),
            ),
            "district part of an address text (黄浦区), per the address grammar in README",
        ),
        (
            TextUdf::new("qc_addr_street", TextFn::AddressPart(address::Part::Street)),
            "street/town part (南京东路街道, 七宝镇)",
        ),
        (
            TextUdf::new("qc_addr_zone", TextFn::AddressPart(address::Part::Zone)),
            "development zone, park or farm standing for a street (张江高科技园区, 前卫农场)",
        ),
        (
            TextUdf::new("qc_addr_road", TextFn::AddressPart(address::Part::Road)),
            "road part (四川北路, 沪南公路, 曹杨二村)",
        ),
        (
            TextUdf::new(
                "qc_uscc_valid",
                TextFn::Bool(|s| Some(codes::uscc_valid(s))),
            ),
            "a unified social credit code (统一社会信用代码, GB 32100-2015) with the right check characters",
        ),
        (
            TextUdf::new(
                "qc_orgcode_valid",
                TextFn::Bool(|s| Some(codes::orgcode_valid(s))),
            ),
            "an organization code (组织机构代码, GB 11714-1997), `79965505-8` or `799655058`, with the right check character",
        ),
        (
            TextUdf::new(
                "qc_postcode_valid",
                TextFn::Bool(|s| Some(codes::postcode_valid(s))),
            ),
            "a mainland postcode: 6 digits whose first two are a province-level region's (Shanghai 200000–202199)",
        ),
        (
            TextUdf::new(
                "qc_postcode_region",
                TextFn::Text(|s| codes::postcode_region(s).map(Cow::Borrowed)),
            ),
            "the province-level region a postcode is allocated to (上海市, 北京市, 广东省 …; NULL if none)",
        ),
        (
            TextUdf::new(
                "qc_mask_id",
                TextFn::Text(|s| Some(Cow::Owned(crate::rules::pii::Pii::IdNumber.mask(s)))),
            ),
            "an ID number masked as in feedback files: address code and last four kept (310101********123X)",
        ),
        (
            TextUdf::new(
                "qc_mask_name",
                TextFn::Text(|s| Some(Cow::Owned(crate::rules::pii::Pii::Name.mask(s)))),
            ),
            "a name masked as in feedback files: its first character kept (张*)",
        ),
        (
            TextUdf::new(
                "qc_mobile_valid",
                TextFn::Bool(|s| Some(codes::mobile_valid(s))),
            ),
            "a mainland mobile number: 11 digits, 13x–19x, no country code or separators",
        ),
        (
            TextUdf::new(
                "qc_landline_valid",
                TextFn::Bool(|s| Some(codes::landline_valid(s))),
            ),
            "a landline number with its area code (021-62345678, 02162345678, 0512-68123456)",
        ),
        (
            TextUdf::new(
                "qc_is_blank",
                TextFn::Bool(|s| Some(s.chars().all(super::not_null::is_blank_char))),
            ),
            "empty or only spaces, tabs, line breaks or U+3000 (what `not_null` calls empty), without trimming a copy",
        ),
        (
            TextUdf::new(
                "qc_has_fullwidth",
                TextFn::Bool(|s| Some(address::has_wide(s))),
            ),
            "whether the text holds full-width digits, Latin letters or hyphens (１２号, Ａ座)",
        ),
        (
            TextUdf::new("qc_addr_group", TextFn::AddressPart(address::Part::Group)),
            "villagers' group part (3组, 村民小组)",
        ),
        (
            TextUdf::new("qc_addr_lane", TextFn::AddressPart(address::Part::Lane)),
            "lane part (1746弄, 100弄3支弄)",
        ),
        (
            TextUdf::new("qc_addr_number", TextFn::AddressPart(address::Part::Number)),
            "house number part (45号, 12-1号, 12号甲)",
        ),
        (
            TextUdf::new(
                "qc_addr_building",
                TextFn::AddressPart(address::Part::Building),
            ),
            "building part (3号楼, 5幢)",
        ),
        (
            TextUdf::new("qc_addr_room", TextFn::AddressPart(address::Part::Room)),
            "room part (601室)",
        ),
        (
            TextUdf::new(
                "qc_cert_type",
                TextFn::Text(|s| cert::parts(s).map(|p| Cow::Borrowed(p.0))),
            ),
            "certificate number's type: J, L, BJ or BL (NULL if malformed)",
        ),
        (
            TextUdf::new(
                "qc_cert_business",
                TextFn::Text(|s| {
                    cert::parts(s)
                        .and_then(|p| cert::business_type(p.0))
                        .map(Cow::Borrowed)
                }),
            ),
            "business type its type letter stands for: 结婚, 离婚, 补领结婚证, 补领离婚证",
        ),
        (
            TextUdf::new(
                "qc_cert_organ",
                TextFn::Text(|s| cert::parts(s).map(|p| Cow::Borrowed(p.1))),
            ),
            "certificate number's registering-organ division code",
        ),
        (
            TextUdf::new(
                "qc_cert_year",
                TextFn::Int(|s| cert::parts(s).map(|p| i64::from(p.2))),
            ),
            "certificate number's year",
        ),
    ]
}

/// Every function rule SQL may call.
pub fn all() -> Vec<ScalarUDF> {
    let mut all: Vec<ScalarUDF> = functions()
        .into_iter()
        .map(|(f, _)| ScalarUDF::new_from_impl(f))
        .collect();
    for point in [
        region::PointQuery::InDistrict,
        region::PointQuery::DistrictAt,
        region::PointQuery::DistanceToDistrict,
    ] {
        all.push(ScalarUDF::new_from_impl(region::PointFn::new(point)));
    }
    all.push(ScalarUDF::new_from_impl(super::dates::AgeYears::default()));
    all.extend(super::workdays::functions(
        &super::workdays::Calendar::builtin(),
    ));
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    #[test]
    fn functions_run_in_sql_over_every_text_type() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let ctx = SessionContext::new();
            for f in all() {
                ctx.register_udf(f);
            }
            let sql = "SELECT qc_id_valid(a), qc_id_sex(arrow_cast(a, 'Utf8View')), \
                       qc_id_birth_date(arrow_cast(a, 'LargeUtf8')), qc_id_upgrade('310103800101123') \
                       FROM (VALUES ('11010519491231002X'), ('310115199003071235'), (NULL)) AS t(a)";
            let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
            let text = arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
            assert!(text.contains("| true "), "{text}");
            assert!(text.contains("| false "), "{text}");
            assert!(text.contains("1949-12-31"), "{text}");
            assert!(text.contains("310103198001011232"), "{text}");
        });
    }

    /// A text function called again on the same column gives back its remembered result;
    /// on another column, or as another function, its own.
    #[test]
    fn text_results_are_remembered_per_function_and_column() {
        let normalize = TextUdf::new("qc_id_normalize", TextFn::Text(id_number::normalize));
        let upgrade = TextUdf::new(
            "qc_id_upgrade",
            TextFn::Text(|s| id_number::upgrade(s).map(Cow::Owned)),
        );
        let call = |f: &TextUdf, a: &ArrayRef| -> ArrayRef {
            let args = ScalarFunctionArgs {
                args: vec![ColumnarValue::Array(Arc::clone(a))],
                arg_fields: vec![Arc::new(arrow::datatypes::Field::new(
                    "a",
                    DataType::Utf8,
                    true,
                ))],
                number_rows: a.len(),
                return_field: Arc::new(arrow::datatypes::Field::new("r", DataType::Utf8, true)),
                config_options: Arc::default(),
            };
            match f.invoke_with_args(args).unwrap() {
                ColumnarValue::Array(out) => out,
                ColumnarValue::Scalar(_) => panic!("an array in, an array out"),
            }
        };
        let text = |out: &ArrayRef| -> Vec<Option<String>> {
            out.as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect()
        };
        let male: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![
            Some("11010519491231002x"),
            None,
        ]));
        let female: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![
            Some("310103800101123"),
            Some(" 310115199003071239"),
        ]));
        let first = call(&normalize, &male);
        assert_eq!(text(&first), vec![Some("11010519491231002X".into()), None]);
        assert!(Arc::ptr_eq(&first, &call(&normalize, &male)), "remembered");
        assert_eq!(
            text(&call(&normalize, &female)),
            vec![
                Some("310103800101123".into()),
                Some("310115199003071239".into())
            ]
        );
        assert_eq!(
            text(&call(&upgrade, &female)),
            vec![Some("310103198001011232".into()), None]
        );
        assert_eq!(text(&call(&normalize, &male)), text(&first));
    }

    /// Parts of two address columns read in turn, over every text type: each column's cuts
    /// are its own (the last column cut is remembered, never taken for another).
    #[test]
    fn address_parts_of_interleaved_columns_are_their_own() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let ctx = SessionContext::new();
            for f in all() {
                ctx.register_udf(f);
            }
            for cast in ["Utf8", "LargeUtf8", "Utf8View"] {
                let sql = format!(
                    "SELECT qc_addr_road(x) AS r1, qc_addr_number(y) AS n2, qc_addr_lane(x) AS l1, \
                     qc_addr_road(y) AS r2, qc_addr_number(x) AS n1 FROM (SELECT arrow_cast(a, '{cast}') AS x, \
                     arrow_cast(b, '{cast}') AS y FROM (VALUES \
                     ('上海市黄浦区四川中路１００弄５号', '上海市普陀区新村路123号'), \
                     (NULL, '曹杨二村68号101室'), \
                     ('上海市浦东新区花木路100弄', NULL)) AS t(a, b))"
                );
                let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
                let text = arrow::util::pretty::pretty_format_batches(&batches)
                    .unwrap()
                    .to_string();
                let rows: Vec<Vec<&str>> = text
                    .lines()
                    .filter(|l| l.starts_with('|'))
                    .skip(1)
                    .map(|l| l.split('|').map(str::trim).filter(|c| !c.is_empty()).collect())
                    .collect();
                assert_eq!(
                    rows,
                    vec![
                        vec!["四川中路", "123号", "100弄", "新村路", "5号"],
                        vec!["68号", "曹杨二村"],
                        vec!["花木路", "100弄"],
                    ],
                    "{cast}: {text}"
                );
            }
        });
    }
}
