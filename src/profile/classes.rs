//! What a value looks like: its shape (integer, decimal, date text, …), the semantic classes
//! of Chinese registry data it belongs to (citizen ID number, division code, phone, name,
//! address …) and whether it is a placeholder for a missing value. Each value is classified
//! as written, by the same functions the rules use, so a class's count is what a rule on
//! that class would pass.

use serde::{Deserialize, Serialize};

use crate::checks::{address, admin_code, certificate, codes, id_number};

/// A semantic class of registry values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Shaped as a citizen's ID number (18 characters or the 15-digit legacy form).
    CitizenId,
    /// A valid citizen's ID number, as `id_number` (aspect `valid`) judges it.
    CitizenIdValid,
    /// Hong Kong, Macau and Taiwan residents' numbers (81/82/83… residence permits, H/M passes).
    HkMoTwId,
    /// Foreigners' permanent residence numbers (18 characters from 9, or 3 letters + 12 digits).
    ForeignPermanentId,
    /// A current Shanghai district code (6 digits).
    DivisionDistrict,
    /// A current Shanghai street-level code (9 digits).
    DivisionStreet,
    /// A current Shanghai community-level code (12 digits).
    DivisionCommunity,
    /// A retired Shanghai district code (310103 卢湾区 …).
    DivisionRetired,
    /// A 6-digit code of another province (its first two digits name one).
    DivisionElsewhere,
    /// A marriage certificate number (J110101-2010-000001).
    CertificateNo,
    /// A mainland mobile number.
    Mobile,
    /// A landline number with its area code.
    Landline,
    /// A postcode (6 digits of an allocated region), other than a Shanghai division code
    /// (Shanghai's district codes 31xxxx read as Hangzhou's postcodes).
    Postcode,
    /// A Shanghai postcode: 6 digits `20[0-2]xxx` (all of Shanghai's begin with 20).
    PostcodeSh,
    /// A Chinese personal name (a common surname and one to three more characters, or a
    /// transliterated name with ·).
    PersonName,
    /// Address text: the address grammar finds a road, lane, number or street in it.
    Address,
    /// Address text the grammar reads completely.
    AddressParsed,
    /// Address text with a road and a house or lane number, read as the `qc_addr_*`
    /// functions read it (full-width digits as ASCII ones).
    AddressNumbered,
    /// Text holding full-width digits, Latin letters or hyphens (`qc_has_fullwidth`).
    FullWidth,
    /// A house number and nothing else, as `qc_addr_number` reads it (12号, 12-1号, 12号甲).
    HouseNumber,
    /// A number within Shanghai's longitudes ([`SH_LONGITUDE`]).
    LongitudeSh,
    /// A number within Shanghai's latitudes ([`SH_LATITUDE`]).
    LatitudeSh,
    /// A date written as text in one of [`DATE_FORMATS`].
    DateText,
    /// A unified social credit code (统一社会信用代码) with its check character.
    Uscc,
}

/// The written form of a Chinese personal name: 2–4 Chinese characters, or two or three
/// parts of Chinese characters joined by `·` (U+00B7). A `pattern` regex (qc anchors it).
pub const NAME_FORM: &str = r"\p{Han}{2,4}|\p{Han}{1,6}(?:·\p{Han}{1,6}){1,2}";

/// Whether `s` is written as [`NAME_FORM`] says, whatever else it is (a placeholder such
/// as 不详 is written like a name).
pub fn is_name_form(s: &str) -> bool {
    // At most 20 characters of three bytes: longer text is no name; ASCII is never Han.
    if s.len() > 60 || s.bytes().any(|b| b.is_ascii()) {
        return false;
    }
    // Most names are written in the common ideograph blocks, all of them Han: judged here
    // without the regex, which this runs for every value of every text column.
    let common = |c: char| matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}');
    if !s.chars().all(|c| common(c) || c == '·') {
        return NAME_FORM_RE.is_match(s);
    }
    let parts: Vec<usize> = s.split('·').map(|p| p.chars().count()).collect();
    match parts.as_slice() {
        [n] => (2..=4).contains(n),
        [_, _] | [_, _, _] => parts.iter().all(|n| (1..=6).contains(n)),
        _ => false,
    }
}

static NAME_FORM_RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(&crate::checks::pattern::anchored(NAME_FORM))
        .expect("NAME_FORM is a valid regex")
});

impl Class {
    pub const ALL: [Class; 24] = [
        Class::CitizenId,
        Class::CitizenIdValid,
        Class::HkMoTwId,
        Class::ForeignPermanentId,
        Class::DivisionDistrict,
        Class::DivisionStreet,
        Class::DivisionCommunity,
        Class::DivisionRetired,
        Class::DivisionElsewhere,
        Class::CertificateNo,
        Class::Mobile,
        Class::Landline,
        Class::Postcode,
        Class::PostcodeSh,
        Class::PersonName,
        Class::Address,
        Class::AddressParsed,
        Class::AddressNumbered,
        Class::FullWidth,
        Class::HouseNumber,
        Class::LongitudeSh,
        Class::LatitudeSh,
        Class::DateText,
        Class::Uscc,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The class's name in Chinese and English.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Class::CitizenId => ("公民身份号码（形式）", "citizen ID number (shape)"),
            Class::CitizenIdValid => ("有效的公民身份号码", "valid citizen ID number"),
            Class::HkMoTwId => ("港澳台居民证件号码", "HK/Macau/Taiwan resident number"),
            Class::ForeignPermanentId => (
                "外国人永久居留身份证号码",
                "foreign permanent residence number",
            ),
            Class::DivisionDistrict => (
                "上海区级区划代码（现行）",
                "Shanghai district code (current)",
            ),
            Class::DivisionStreet => (
                "上海街镇级区划代码（现行）",
                "Shanghai street code (current)",
            ),
            Class::DivisionCommunity => (
                "上海居村级区划代码（现行）",
                "Shanghai community code (current)",
            ),
            Class::DivisionRetired => ("已撤销的上海区划代码", "retired Shanghai district code"),
            Class::DivisionElsewhere => ("外省市区划代码", "division code outside Shanghai"),
            Class::CertificateNo => ("婚姻登记证件字号", "marriage certificate number"),
            Class::Mobile => ("手机号码", "mobile number"),
            Class::Landline => ("固定电话号码", "landline number"),
            Class::Postcode => ("邮政编码", "postcode"),
            Class::PostcodeSh => ("上海邮政编码（20 开头）", "Shanghai postcode (20…)"),
            Class::PersonName => ("中文姓名", "Chinese personal name"),
            Class::Address => ("地址文本", "address text"),
            Class::AddressParsed => ("可按地址语法完整解析", "address the grammar reads whole"),
            Class::AddressNumbered => (
                "含路名和门牌号（或弄号）的地址",
                "address with a road and a house or lane number",
            ),
            Class::FullWidth => (
                "含全角数字、字母或连字符",
                "holding full-width digits, letters or hyphens",
            ),
            Class::HouseNumber => ("门牌号", "house number"),
            Class::LongitudeSh => ("上海范围内的经度", "longitude within Shanghai"),
            Class::LatitudeSh => ("上海范围内的纬度", "latitude within Shanghai"),
            Class::DateText => ("文本日期", "date written as text"),
            Class::Uscc => ("统一社会信用代码", "unified social credit code"),
        }
    }
}

/// Shanghai's longitudes, with a margin (the spatial pack's bounds): (min, max).
pub const SH_LONGITUDE: (f64, f64) = (120.85, 122.25);
/// Shanghai's latitudes, with a margin: (min, max).
pub const SH_LATITUDE: (f64, f64) = (30.65, 31.90);

/// A set of classes, one bit per [`Class::index`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Classes(u32);

impl Classes {
    fn with(mut self, c: Class, yes: bool) -> Classes {
        if yes {
            self.0 |= 1 << c.index();
        }
        self
    }

    /// With the coordinate classes of the number `x`.
    pub fn with_coordinates(self, x: f64) -> Classes {
        let within = |(min, max): (f64, f64)| (min..=max).contains(&x);
        self.with(Class::LongitudeSh, within(SH_LONGITUDE))
            .with(Class::LatitudeSh, within(SH_LATITUDE))
    }

    pub fn contains(self, c: Class) -> bool {
        self.0 & (1 << c.index()) != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Class> {
        Class::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

/// Date formats recognized in text, as written in the profile.
pub const DATE_FORMATS: [&str; 5] = [
    "YYYY-MM-DD",
    "YYYY/MM/DD",
    "YYYYMMDD",
    "YYYY年MM月DD日",
    "YYYY.MM.DD",
];

/// The shape of a present text value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// An integer as a number would be written (no leading zero, at most 15 digits).
    Integer(i64),
    /// Digits a number would not be written with: a leading zero or more than 15 digits
    /// (codes, ID numbers).
    Digits,
    Decimal(f64),
    /// A date (days since 1970-01-01) in the format [`DATE_FORMATS`]`[i]`, with a time of
    /// day when the flag is set.
    Date(i32, usize, bool),
    Boolean,
    Text,
}

/// Placeholders written for a missing value (compared trimmed).
pub const PLACEHOLDERS: [&str; 22] = [
    "无", "不详", "未知", "暂无", "空", "待定", "不明", "/", "\\", "-", "--", "—", "?", "？",
    "NULL", "null", "None", "none", "N/A", "n/a", "NA", "#N/A",
];

/// Whether `trimmed` stands for a missing value: a [`PLACEHOLDERS`] entry, or two or more
/// zeros (with separators: 000000, 0000-00-00).
pub fn is_placeholder(trimmed: &str) -> bool {
    PLACEHOLDERS.contains(&trimmed)
        || (trimmed.len() >= 2
            && trimmed.bytes().any(|b| b == b'0')
            && trimmed
                .bytes()
                .all(|b| matches!(b, b'0' | b'-' | b'/' | b':' | b' ' | b'.')))
}

/// The shape of a present (non-blank) value.
#[allow(clippy::many_single_char_names)] // s, t, b, d, f: value, trimmed, bytes, day, format
pub fn shape(s: &str) -> Shape {
    let t = s.trim();
    let b = t.as_bytes();
    let unsigned = b
        .strip_prefix(b"-")
        .or_else(|| b.strip_prefix(b"+"))
        .unwrap_or(b);
    if !unsigned.is_empty() && unsigned.iter().all(u8::is_ascii_digit) {
        if (unsigned.len() > 1 && unsigned[0] == b'0') || unsigned.len() > 15 {
            return match date(t) {
                Some((d, f, time)) => Shape::Date(d, f, time),
                None => Shape::Digits,
            };
        }
        if unsigned.len() == 8
            && let Some((d, f, time)) = date(t)
        {
            return Shape::Date(d, f, time);
        }
        return t.parse().map_or(Shape::Text, Shape::Integer);
    }
    if let Some((d, f, time)) = date(t) {
        return Shape::Date(d, f, time);
    }
    if b.iter().any(u8::is_ascii_digit)
        && b.iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'e' | b'E'))
        && let Ok(x) = t.parse::<f64>()
        && x.is_finite()
    {
        return Shape::Decimal(x);
    }
    if matches!(
        t,
        "true" | "false" | "TRUE" | "FALSE" | "True" | "False" | "是" | "否"
    ) {
        return Shape::Boolean;
    }
    Shape::Text
}

/// A date in one of [`DATE_FORMATS`], optionally followed by a time of day
/// (`HH:MM[:SS]` after a space or `T`): (days since 1970-01-01, format, has a time).
pub fn date(s: &str) -> Option<(i32, usize, bool)> {
    let (day, time) = match s.find([' ', 'T']) {
        Some(i) if s.len() > 10 => (&s[..i], Some(s[i + 1..].trim())),
        _ => (s, None),
    };
    if let Some(t) = time
        && !is_time(t)
    {
        return None;
    }
    let num = |t: &str, n: usize| {
        (t.len() == n && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<u32>().ok())
            .flatten()
    };
    let (y, m, d, format) = if let Some(rest) = day.strip_suffix('日') {
        let (y, rest) = rest.split_once('年')?;
        let (m, d) = rest.split_once('月')?;
        let two = |t: &str| num(t, 1).or_else(|| num(t, 2));
        (num(y, 4)?, two(m)?, two(d)?, 3)
    } else if day.len() == 8 && day.bytes().all(|b| b.is_ascii_digit()) {
        (
            num(&day[..4], 4)?,
            num(&day[4..6], 2)?,
            num(&day[6..], 2)?,
            2,
        )
    } else {
        let sep = day.bytes().find(|b| matches!(b, b'-' | b'/' | b'.'))?;
        let mut parts = day.split(char::from(sep));
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let two = |t: &str| num(t, 2).or_else(|| num(t, 1));
        let format = match sep {
            b'-' => 0,
            b'/' => 1,
            _ => 4,
        };
        (num(y, 4)?, two(m)?, two(d)?, format)
    };
    let year = i32::try_from(y).ok()?;
    crate::values::is_real_date(year, m, d).then(|| {
        (
            crate::values::days_from_civil(year, m, d),
            format,
            time.is_some(),
        )
    })
}

fn is_time(t: &str) -> bool {
    let mut parts = t.split(':');
    let ok = |p: Option<&str>, max: u32| {
        p.is_some_and(|p| p.len() == 2 && p.parse::<u32>().is_ok_and(|v| v <= max))
    };
    ok(parts.next(), 23)
        && ok(parts.next(), 59)
        && parts
            .next()
            .is_none_or(|s| ok(Some(&s[..s.len().min(2)]), 60))
}

/// The semantic classes of a present text value, as written.
pub fn classify(s: &str) -> Classes {
    describe(s).0
}

/// A present text value's classes and shape, worked out together (a date is parsed once).
pub fn describe(s: &str) -> (Classes, Shape) {
    let shape = shape(s);
    let dated = matches!(shape, Shape::Date(..));
    (classes_of(s, dated), shape)
}

/// The classes of `s`, told whether it reads as a date.
fn classes_of(s: &str, dated: bool) -> Classes {
    let b = s.as_bytes();
    let c = Classes::default();
    if b.is_empty() {
        return c;
    }
    let digits = b.iter().all(u8::is_ascii_digit);
    if b.is_ascii() {
        let c = match id_number::kind(s) {
            id_number::IdKind::Citizen | id_number::IdKind::Legacy => c
                .with(Class::CitizenId, true)
                .with(Class::CitizenIdValid, id_number::is_valid_citizen(s)),
            id_number::IdKind::HkMacauTaiwan => c.with(Class::HkMoTwId, true),
            id_number::IdKind::ForeignPermanent => c.with(Class::ForeignPermanentId, true),
            id_number::IdKind::Malformed => c
                .with(Class::HkMoTwId, is_hk_mo_pass(b))
                .with(Class::ForeignPermanentId, is_old_foreign(b)),
        };
        let c = if digits {
            let current = admin_code::is_current(s);
            c.with(Class::DivisionDistrict, current && b.len() == 6)
                .with(Class::DivisionStreet, current && b.len() == 9)
                .with(Class::DivisionCommunity, current && b.len() == 12)
                .with(
                    Class::DivisionRetired,
                    b.len() == 6 && !current && admin_code::is_known_district(s),
                )
                .with(
                    Class::DivisionElsewhere,
                    b.len() == 6 && !s.starts_with("31") && admin_code::province_name(s).is_some(),
                )
                .with(
                    Class::Postcode,
                    b.len() == 6
                        && codes::postcode_valid(s)
                        && !current
                        && !admin_code::is_known_district(s),
                )
                .with(
                    Class::PostcodeSh,
                    b.len() == 6 && s.starts_with("20") && matches!(b[2], b'0'..=b'2'),
                )
                .with(Class::Mobile, b.len() == 11 && codes::mobile_valid(s))
                .with(
                    Class::Landline,
                    b.len() >= 10 && b[0] == b'0' && codes::landline_valid(s),
                )
        } else {
            c.with(Class::Landline, b[0] == b'0' && codes::landline_valid(s))
                .with(Class::CertificateNo, certificate::parts(s).is_some())
                .with(Class::Uscc, b.len() == 18 && codes::uscc_valid(s))
        };
        let c = c.with(Class::DateText, dated);
        return match s.parse::<f64>() {
            Ok(x) if !digits || b.len() <= 3 => c.with_coordinates(x),
            _ => c,
        };
    }
    let wide = address::has_wide(s);
    let c = c
        .with(Class::PersonName, is_person_name(s))
        .with(Class::DateText, dated)
        .with(Class::FullWidth, wide);
    // Read as the `qc_addr_*` functions read it. Without digits there is no number to find,
    // and text as short as a name is no address: neither is parsed.
    let has_digits = wide || b.iter().any(u8::is_ascii_digit);
    if b.len() >= 9 || has_digits {
        let normal = address::normalized(s);
        let parts = address::parse(&normal);
        let [_, street, zone, road, _, lane, number, ..] = parts;
        let c = c
            .with(
                Class::AddressNumbered,
                road.is_some() && (number.is_some() || lane.is_some()),
            )
            .with(Class::HouseNumber, number == Some(s));
        if b.len() < 9 {
            return c;
        }
        let found = road.is_some() || lane.is_some() || number.is_some() || street.is_some();
        let whole = parts[9].is_none_or(str::is_empty);
        return c
            .with(Class::Address, found || zone.is_some())
            .with(Class::AddressParsed, (found || zone.is_some()) && whole);
    }
    c
}

/// The longest value whose code shape is taken.
pub const CODE_SHAPE_LEN: usize = 32;

/// The shape of a code value: upper-case letters as `A`, lower-case as `a`, digits as `9`,
/// other characters as written (`I21.9` → `A99.9`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodeShape {
    len: u8,
    bytes: [u8; CODE_SHAPE_LEN],
}

impl CodeShape {
    /// The shape of an ASCII value of 1 to [`CODE_SHAPE_LEN`] characters.
    pub fn of(s: &str) -> Option<CodeShape> {
        let b = s.as_bytes();
        if b.is_empty() || b.len() > CODE_SHAPE_LEN || !b.is_ascii() {
            return None;
        }
        let mut bytes = [0; CODE_SHAPE_LEN];
        for (to, &c) in bytes.iter_mut().zip(b) {
            *to = match c {
                b'A'..=b'Z' => b'A',
                b'a'..=b'z' => b'a',
                b'0'..=b'9' => b'9',
                c => c,
            };
        }
        Some(CodeShape {
            len: b.len() as u8,
            bytes,
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

/// 港澳居民来往内地通行证: H or M and 8 or 10 digits.
fn is_hk_mo_pass(b: &[u8]) -> bool {
    matches!(b.first(), Some(b'H' | b'M'))
        && matches!(b.len(), 9 | 11)
        && b[1..].iter().all(u8::is_ascii_digit)
}

/// The 2004 foreigners' permanent residence number: 3 letters (nationality) and 12 digits.
fn is_old_foreign(b: &[u8]) -> bool {
    b.len() == 15
        && b[..3].iter().all(u8::is_ascii_uppercase)
        && b[3..].iter().all(u8::is_ascii_digit)
}

/// Common Chinese surnames (one character), most frequent first.
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由";
/// Two-character surnames.
const COMPOUND_SURNAMES: [&str; 16] = [
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯", "长孙",
    "宇文", "司徒", "端木", "呼延",
];

fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{20000}'..='\u{2FFFF}')
}

/// A common surname and one to three more Chinese characters (a compound surname and one or
/// two), or Chinese characters joined by · (transliterated names, 3 to 20 characters).
fn is_person_name(s: &str) -> bool {
    let n = s.chars().count();
    if s.contains(['·', '•']) {
        return (3..=20).contains(&n)
            && s.chars().all(|c| is_han(c) || c == '·' || c == '•')
            && !s.starts_with(['·', '•'])
            && !s.ends_with(['·', '•']);
    }
    if !(2..=4).contains(&n) || !s.chars().all(is_han) {
        return false;
    }
    let mut chars = s.chars();
    let first = chars.next().unwrap_or(' ');
    (COMPOUND_SURNAMES.iter().any(|c| s.starts_with(c)) && n >= 3) || SURNAMES.contains(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(s: &str) -> Vec<Class> {
        classify(s).iter().collect()
    }

    #[test]
    fn registry_values_fall_in_their_classes() {
        assert_eq!(
            classes("11010519491231002X"),
            [Class::CitizenId, Class::CitizenIdValid]
        );
        assert_eq!(classes("110105194912310021"), [Class::CitizenId]);
        assert_eq!(classes("810000199001011234"), [Class::HkMoTwId]);
        assert_eq!(classes("H12345678"), [Class::HkMoTwId]);
        assert_eq!(classes("USA123456789012"), [Class::ForeignPermanentId]);
        assert!(classify("310115").contains(Class::DivisionDistrict));
        assert!(classify("310103").contains(Class::DivisionRetired));
        assert!(classify("320102").contains(Class::DivisionElsewhere));
        assert!(classify("200120").contains(Class::Postcode));
        assert_eq!(classes("13912345678"), [Class::Mobile]);
        assert!(classify("021-62345678").contains(Class::Landline));
        assert_eq!(classes("J310101-2010-000001"), [Class::CertificateNo]);
        assert_eq!(classes("张伟"), [Class::PersonName]);
        assert_eq!(classes("欧阳娜娜"), [Class::PersonName]);
        assert_eq!(classes("阿依古丽·买买提"), [Class::PersonName]);
        assert!(classes("结婚").is_empty(), "not a surname");
        // Written as a name: another dot reads as a name but is not written as registries
        // write it; a placeholder of two characters is written like one.
        for (value, written) in [
            ("张伟", true),
            ("张三·李四·王五", true),
            ("张·李·王·赵", false),
            ("阿依古丽买买提", false),
            ("张伟1", false),
            // Outside the common blocks: judged by the regex (𠀀 is Han, ㄅ is not).
            ("𠀀伟", true),
            ("ㄅ伟", false),
            ("阿依古丽·买买提", true),
            ("阿依古丽•买买提", false),
            ("张", false),
            ("不详", true),
            ("zhang", false),
        ] {
            assert_eq!(is_name_form(value), written, "{value}");
        }
        assert_eq!(
            classes("上海市浦东新区张杨路100弄5号"),
            [Class::Address, Class::AddressParsed, Class::AddressNumbered]
        );
        // Full-width digits read as ASCII ones for the parts, and flagged.
        assert_eq!(
            classes("上海市浦东新区张杨路１００弄"),
            [
                Class::Address,
                Class::AddressParsed,
                Class::AddressNumbered,
                Class::FullWidth
            ]
        );
        assert_eq!(
            classes("上海市浦东新区张杨路"),
            [Class::Address, Class::AddressParsed]
        );
        for (value, house) in [
            ("12号", true),
            ("12-1号", true),
            ("12号甲", true),
            ("甲12号", false),
        ] {
            assert_eq!(
                classes(value).contains(&Class::HouseNumber),
                house,
                "{value}"
            );
        }
        assert!(classify("200120").contains(Class::PostcodeSh));
        assert!(!classify("100001").contains(Class::PostcodeSh));
        assert!(!classify("203001").contains(Class::PostcodeSh));
        assert_eq!(classes("121.47"), [Class::LongitudeSh]);
        assert_eq!(classes("31.23"), [Class::LatitudeSh]);
        assert_eq!(classes("2024年3月5日"), [Class::DateText]);
        assert!(
            classify("2024-02-30").iter().next().is_none(),
            "no such day"
        );
    }

    #[test]
    fn shapes_and_placeholders() {
        assert_eq!(shape("42"), Shape::Integer(42));
        assert_eq!(shape("-7"), Shape::Integer(-7));
        assert_eq!(shape("007"), Shape::Digits);
        assert_eq!(shape("110105194912310021"), Shape::Digits);
        assert_eq!(shape("3.5"), Shape::Decimal(3.5));
        assert_eq!(shape("2024-03-05"), Shape::Date(19787, 0, false));
        assert_eq!(shape("2024/3/5 08:30"), Shape::Date(19787, 1, true));
        assert_eq!(shape("20240305"), Shape::Date(19787, 2, false));
        assert_eq!(shape("2024.03.05"), Shape::Date(19787, 4, false));
        assert_eq!(shape("是"), Shape::Boolean);
        assert_eq!(shape("浦东"), Shape::Text);
        for p in ["无", "不详", "/", "000000", "0000-00-00", "N/A"] {
            assert!(is_placeholder(p), "{p}");
        }
        for v in ["0", "10", "张三", "2024-01-01"] {
            assert!(!is_placeholder(v), "{v}");
        }
    }
}
