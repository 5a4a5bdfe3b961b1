//! Shanghai address text split into its parts, by this grammar (each part optional, in order;
//! `Han` is a Chinese character):
//!
//! ```text
//! address  = [city] [district] [street] [zone] [road] [group] [lane] [number] [building]
//!            [room] rest
//! city     = "上海市" | "上海"
//! district = Han{1,5} ("新区" | "区" | "县"), not ending as a zone does   黄浦区 浦东新区 崇明县
//! street   = Han{1,8} ("镇街道" | "街道" | "镇" | "乡")    南京东路街道 真如镇街道 七宝镇 横沙乡
//! zone     = (Han|"（"|"）"){1,30} ("开发区" | "工业区" | "园区" | "新区" | "农场" | "林场"
//!            | "度假区" | "加工区" | "旅游区" | "试验区") ["（" Han+ "）"]
//!                                                          张江高科技园区 前卫农场
//!                                                          中国（上海）自由贸易试验区（保税片区）
//! road     = (Han|digit){1,20} ("公路" | "大道" | "路" | "街" | "巷" | "新村" | "村")
//!                                                          四川北路 沪南公路 曹杨二村 新村路
//! group    = digits "组"                                   3组 (村民小组)
//! lane     = digits "弄" [digits "支弄"]                   1746弄 100弄3支弄
//! number   = digits ["-" digits] "号" [甲乙丙丁]           45号 12-1号 12号甲
//! building = digits ("幢" | "栋" | "号楼")                 3号楼
//! room     = digits "室"                                   601室
//! rest     = anything left (unparsed)
//! ```
//!
//! Full-width digits, letters and hyphens (`１００弄５号`) are read as their ASCII forms first
//! (the parts then hold the ASCII form). Each part is the shortest text that ends with its
//! suffix, so 南京东路街道 is a street and the road comes after it; a road is the shortest
//! that leaves a digit or nothing after it (新村路123号 is the road 新村路, not 新村 and
//! 路123号), else the shortest. A district may not end with a zone's suffix (漕河泾开发区 is a
//! zone). Parts are read left to right, each once. An address the grammar cannot read gives
//! NULL parts (and `rest`). Digits are ASCII 0–9.

use std::borrow::Cow;

/// A part of an address, in grammar order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    District,
    Street,
    Zone,
    Road,
    Group,
    Lane,
    Number,
    Building,
    Room,
    /// What is left after the last part read (unparsed).
    Rest,
}

impl Part {
    /// Every part, in grammar order.
    pub const ALL: [Part; 10] = [
        Part::District,
        Part::Street,
        Part::Zone,
        Part::Road,
        Part::Group,
        Part::Lane,
        Part::Number,
        Part::Building,
        Part::Room,
        Part::Rest,
    ];
}

/// Where an address's parts lie: part `p` is `text[cuts[p]..cuts[p + 1]]` (`p` as an index of
/// [`Part::ALL`]), absent when empty. Parts follow each other: each starts where the one
/// before it (present or not) ends.
pub type Cuts = [usize; 11];

/// Whether a district candidate (ending in 区, 新区 or 县) ends as a zone does instead: 开发区
/// 工业区 园区 度假区 加工区 旅游区 试验区 (农场 and 林场 cannot end a district candidate). No
/// district's name ends in those characters before 区.
fn ends_as_zone(candidate: &str) -> bool {
    let mut tail = candidate.chars().rev();
    tail.next() == Some('区')
        && tail
            .next()
            .is_some_and(|c| matches!(c, '发' | '业' | '园' | '假' | '工' | '游' | '验'))
}

/// A Chinese character (CJK unified ideographs, extensions and compatibility, 〇).
fn is_han(c: char) -> bool {
    matches!(c, '\u{3007}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FFFF}')
}

/// The shortest prefix of `s` made of 1..=`max` characters accepted by `body`, then one of
/// `suffixes` (the first that matches, in order), whose length in bytes `accept` takes.
fn first_end<const N: usize>(
    s: &str,
    max: usize,
    body: impl Fn(char) -> bool,
    suffixes: &[&str; N],
    accept: impl Fn(usize) -> bool,
) -> Option<usize> {
    // This runs per character of every address, and most characters start no suffix: the
    // character is compared with the suffixes' first characters (decoded once here) before
    // any suffix is compared whole.
    let firsts = suffixes.map(|x| x.chars().next().unwrap_or('\0'));
    let mut chars = s.char_indices().peekable();
    for _ in 0..max {
        let (_, c) = chars.next()?;
        if !body(c) {
            return None;
        }
        let (end, next) = chars.peek().copied()?;
        if !firsts.contains(&next) {
            continue;
        }
        if let Some(suffix) = suffixes
            .iter()
            .zip(firsts)
            .find(|&(x, first)| first == next && s[end..].starts_with(*x))
            .map(|(x, _)| x)
        {
            let n = end + suffix.len();
            if accept(n) {
                return Some(n);
            }
        }
    }
    None
}

/// The shortest prefix of `s` made of 1..=`max` characters accepted by `body`, then one of
/// `suffixes` (tried in order); its length in bytes.
fn shortest<const N: usize>(
    s: &str,
    max: usize,
    body: impl Fn(char) -> bool,
    suffixes: &[&str; N],
) -> Option<usize> {
    first_end(s, max, body, suffixes, |_| true)
}

/// Whether `s` starts with `prefix`, comparing the first byte before calling `memcmp`:
/// this runs several times per address, and most texts differ at once.
fn opens(s: &str, prefix: &str) -> bool {
    s.as_bytes().first() == prefix.as_bytes().first() && s.starts_with(prefix)
}

/// Length in bytes of the ASCII digits `s` starts with.
fn digits(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// `digits suffix` at the start of `s` (one of `suffixes`, in order).
fn numbered(s: &str, suffixes: &[&str]) -> Option<usize> {
    let n = digits(s);
    if n == 0 {
        return None;
    }
    suffixes
        .iter()
        .find(|x| opens(&s[n..], x))
        .map(|x| n + x.len())
}

/// `digits ["-" digits] "号" [甲乙丙丁]` at the start of `s`.
fn house_number(s: &str) -> Option<usize> {
    let mut n = digits(s);
    if n == 0 {
        return None;
    }
    if s[n..].starts_with('-') && digits(&s[n + 1..]) > 0 {
        n += 1 + digits(&s[n + 1..]);
    }
    if !s[n..].starts_with('号') {
        return None;
    }
    n += '号'.len_utf8();
    if let Some(c) = s[n..]
        .chars()
        .next()
        .filter(|c| matches!(c, '甲' | '乙' | '丙' | '丁'))
    {
        n += c.len_utf8();
    }
    Some(n)
}

/// A full-width digit, Latin letter or hyphen.
fn is_wide(c: char) -> bool {
    matches!(c, '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' | '－')
}

/// Whether `text` holds a full-width digit, Latin letter or hyphen (`１２号`).
pub fn has_wide(text: &str) -> bool {
    // Their UTF-8 forms all start with byte 0xEF, which Chinese characters never do: most
    // texts are ruled out by one byte scan.
    text.as_bytes().contains(&0xEF) && text.chars().any(is_wide)
}

/// `address` with full-width digits, Latin letters and hyphens in their ASCII forms
/// (borrowed when it has none).
pub fn normalized(address: &str) -> Cow<'_, str> {
    let wide = is_wide;
    if !has_wide(address) {
        return Cow::Borrowed(address);
    }
    Cow::Owned(
        address
            .chars()
            .map(|c| {
                if wide(c) {
                    char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c)
                } else {
                    c
                }
            })
            .collect(),
    )
}

/// An address being cut into its parts, left to right.
struct Cutter<'a> {
    /// The address up to its trailing blanks.
    text: &'a str,
    at: usize,
    cuts: Cuts,
    /// The next part to be cut.
    part: usize,
}

impl<'a> Cutter<'a> {
    /// What is left to read.
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    /// The next part is the first `len` bytes of the rest (absent when `None`).
    fn cut(&mut self, len: Option<usize>) {
        self.at += len.unwrap_or(0);
        self.part += 1;
        self.cuts[self.part] = self.at;
    }
}

/// Cut `address` (already [`normalized`]) into its parts, in grammar order.
pub fn cut(address: &str) -> Cuts {
    let start = address.len() - address.trim_start().len();
    let text = &address[..start + address.trim().len()];
    let mut at = start;
    for city in ["上海市", "上海"] {
        if text[at..].starts_with(city) {
            at += city.len();
            break;
        }
    }
    let mut c = Cutter {
        text,
        at,
        cuts: [at; 11],
        part: 0,
    };
    let s = c.rest();
    let district =
        shortest(s, 5, is_han, &["新区", "区", "县"]).filter(|&n| !ends_as_zone(&s[..n]));
    c.cut(district);
    // "真如镇街道" is one street: the longer suffix is tried first.
    c.cut(shortest(
        c.rest(),
        8,
        is_han,
        &["镇街道", "街道", "镇", "乡"],
    ));
    let zones = [
        "开发区",
        "工业区",
        "园区",
        "新区",
        "农场",
        "林场",
        "度假区",
        "加工区",
        "旅游区",
        "试验区",
    ];
    let han_or_paren = |c: char| is_han(c) || matches!(c, '（' | '）' | '(' | ')');
    let s = c.rest();
    let zone = shortest(s, 30, han_or_paren, &zones).map(|n| {
        // An optional parenthesised qualifier: 试验区（保税片区）.
        let rest = &s[n..];
        let open = rest.chars().next().filter(|c| matches!(c, '（' | '('));
        let close = open.and_then(|o| {
            let inner = &rest[o.len_utf8()..];
            let han: usize = inner
                .chars()
                .take_while(|c| is_han(*c))
                .map(char::len_utf8)
                .sum();
            let c = inner[han..]
                .chars()
                .next()
                .filter(|c| matches!(c, '）' | ')'))?;
            (han > 0).then(|| o.len_utf8() + han + c.len_utf8())
        });
        n + close.unwrap_or(0)
    });
    c.cut(zone);
    let roads = ["公路", "大道", "路", "街", "巷", "新村", "村"];
    // The shortest road after which a numbered part (or nothing) follows: a suffix
    // character inside a name (新村路) does not end the road.
    let road_char = |c: char| is_han(c) || c.is_ascii_digit();
    let s = c.rest();
    let numbered_after = |n: usize| s[n..].is_empty() || s.as_bytes()[n].is_ascii_digit();
    let road = first_end(s, 20, road_char, &roads, numbered_after)
        .or_else(|| shortest(s, 20, road_char, &roads));
    c.cut(road);
    c.cut(numbered(c.rest(), &["组"]));
    let s = c.rest();
    let lane = numbered(s, &["弄"]).map(|n| n + numbered(&s[n..], &["支弄"]).unwrap_or(0));
    c.cut(lane);
    // "3号楼" is a building, not number 3 followed by 楼.
    if let Some(n) = numbered(c.rest(), &["号楼"]) {
        c.cut(None);
        c.cut(Some(n));
    } else {
        c.cut(house_number(c.rest()));
        c.cut(numbered(c.rest(), &["幢", "栋", "号楼"]));
    }
    c.cut(numbered(c.rest(), &["室"]));
    let rest = c.rest().len();
    c.cut(Some(rest));
    c.cuts
}

/// Part `part` of an address cut at `cuts` ([`cut`]), or `None` when absent.
pub fn cut_part<'a>(text: &'a str, cuts: &Cuts, part: Part) -> Option<&'a str> {
    let i = part as usize;
    let (from, to) = (cuts[i], cuts[i + 1]);
    (to > from).then(|| &text[from..to])
}

/// Split `address` (already [`normalized`]) into the parts of [`Part::ALL`], in grammar
/// order; absent parts are `None`.
pub fn parse(address: &str) -> [Option<&str>; 10] {
    let cuts = cut(address);
    Part::ALL.map(|p| cut_part(address, &cuts, p))
}

/// `address` [`normalized`] and [`cut`]: the cuts, and the normalized text when it differs
/// from `address` (the cuts then lie in it).
pub fn cut_normalized(address: &str) -> (Cuts, Option<Box<str>>) {
    match normalized(address) {
        Cow::Borrowed(a) => (cut(a), None),
        Cow::Owned(a) => (cut(&a), Some(a.into_boxed_str())),
    }
}

/// One part of `address`, or `None` when absent. Borrowed from `address` unless it had
/// full-width characters to normalize.
pub fn part(address: &str, part: Part) -> Option<Cow<'_, str>> {
    match cut_normalized(address) {
        (cuts, None) => cut_part(address, &cuts, part).map(Cow::Borrowed),
        (cuts, Some(text)) => cut_part(&text, &cuts, part).map(|p| Cow::Owned(p.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(a: &str) -> Vec<Option<String>> {
        Part::ALL
            .iter()
            .map(|p| part(a, *p).map(Cow::into_owned))
            .collect()
    }

    fn one(a: &str, p: Part) -> Option<String> {
        part(a, p).map(Cow::into_owned)
    }

    #[test]
    fn addresses_of_the_domain_brief() {
        assert_eq!(
            parts("上海市黄浦区南京东路街道四川中路100弄5号601室"),
            vec![
                Some("黄浦区".into()),
                Some("南京东路街道".into()),
                None,
                Some("四川中路".into()),
                None,
                Some("100弄".into()),
                Some("5号".into()),
                None,
                Some("601室".into()),
                None
            ]
        );
        assert_eq!(
            parts("上海市浦东新区沪南公路28弄3号楼"),
            vec![
                Some("浦东新区".into()),
                None,
                None,
                Some("沪南公路".into()),
                None,
                Some("28弄".into()),
                None,
                Some("3号楼".into()),
                None,
                None
            ]
        );
        assert_eq!(
            one("曹杨二村68号101室", Part::Road),
            Some("曹杨二村".into())
        );
        assert_eq!(
            one("上海市普陀区真如镇街道江场路8弄255号", Part::Street),
            Some("真如镇街道".into())
        );
        assert_eq!(
            one("上海市普陀区真如镇街道江场路8弄255号", Part::Road),
            Some("江场路".into())
        );
        assert_eq!(one("曹杨二村68号101室", Part::Number), Some("68号".into()));
        assert_eq!(
            one("上海市闵行区七宝镇羽山路12-1号", Part::Number),
            Some("12-1号".into())
        );
        assert_eq!(
            one("上海市崇明县横沙乡丰乐村12号甲", Part::Number),
            Some("12号甲".into())
        );
        assert_eq!(
            one("上海市崇明县横沙乡丰乐村12号甲", Part::District),
            Some("崇明县".into())
        );
        assert_eq!(one("上海市黄浦区长乐路甲12号", Part::Number), None);
        assert_eq!(
            one("上海市黄浦区长乐路甲12号", Part::Rest),
            Some("甲12号".into())
        );
        let ftz = "上海市浦东新区中国（上海）自由贸易试验区（保税片区）四川北路147弄756号";
        assert_eq!(
            one(ftz, Part::Zone),
            Some("中国（上海）自由贸易试验区（保税片区）".into())
        );
        assert_eq!(one(ftz, Part::Road), Some("四川北路".into()));
        assert_eq!(
            one("上海市崇明区前卫农场长乐路3号", Part::Zone),
            Some("前卫农场".into())
        );
    }

    #[test]
    fn grammar_cases_of_the_domain_review() {
        // A suffix character inside a road's name does not end the road.
        assert_eq!(
            one("上海市普陀区新村路123号", Part::Road),
            Some("新村路".into())
        );
        assert_eq!(
            one("上海市普陀区新村路123号", Part::Number),
            Some("123号".into())
        );
        // 村民小组.
        let village = "上海市青浦区练塘镇东厍村3组12号";
        assert_eq!(one(village, Part::Road), Some("东厍村".into()));
        assert_eq!(one(village, Part::Group), Some("3组".into()));
        assert_eq!(one(village, Part::Number), Some("12号".into()));
        // 支弄.
        let branch = "上海市黄浦区长乐路100弄3支弄5号";
        assert_eq!(one(branch, Part::Lane), Some("100弄3支弄".into()));
        assert_eq!(one(branch, Part::Number), Some("5号".into()));
        assert_eq!(one(branch, Part::Rest), None);
        // A lane-only (estate-level) address: no number, nothing left over.
        let estate = "上海市浦东新区花木路100弄";
        assert_eq!(one(estate, Part::Lane), Some("100弄".into()));
        assert_eq!(one(estate, Part::Number), None);
        assert_eq!(one(estate, Part::Rest), None);
        // Full-width digits are read as ASCII.
        let wide = "上海市黄浦区四川中路１００弄５号";
        assert_eq!(one(wide, Part::Lane), Some("100弄".into()));
        assert_eq!(one(wide, Part::Number), Some("5号".into()));
        assert_eq!(
            one("上海市黄浦区四川中路１２－１号", Part::Number),
            Some("12-1号".into())
        );
        // A development zone is not a district.
        let zone = "上海市漕河泾开发区宜山路700号";
        assert_eq!(one(zone, Part::District), None);
        assert_eq!(one(zone, Part::Zone), Some("漕河泾开发区".into()));
        assert_eq!(one(zone, Part::Road), Some("宜山路".into()));
        // 浦东新区 stays a district (新区 ends districts and zones alike).
        assert_eq!(
            one("上海市浦东新区沪南公路28弄", Part::District),
            Some("浦东新区".into())
        );
    }
}
