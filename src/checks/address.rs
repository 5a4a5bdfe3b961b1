//! Shanghai address text split into its parts, by this grammar (each part optional, in order;
//! `Han` is a Chinese character):
//!
//! ```text
//! address  = [city] [district] [street] [zone] [road] [lane] [number] [building] [room] rest
//! city     = "上海市" | "上海"
//! district = Han{1,5} ("新区" | "区" | "县")              黄浦区 浦东新区 崇明县
//! street   = Han{1,8} ("镇街道" | "街道" | "镇" | "乡")    南京东路街道 真如镇街道 七宝镇 横沙乡
//! zone     = (Han|"（"|"）"){1,30} ("开发区" | "工业区" | "园区" | "新区" | "农场" | "林场"
//!            | "度假区" | "加工区" | "旅游区" | "试验区") ["（" Han+ "）"]
//!                                                          张江高科技园区 前卫农场
//!                                                          中国（上海）自由贸易试验区（保税片区）
//! road     = (Han|digit){1,20} ("公路" | "大道" | "路" | "街" | "巷" | "新村" | "村")
//!                                                          四川北路 沪南公路 曹杨二村
//! lane     = digits "弄"                                   1746弄
//! number   = digits ["-" digits] "号" [甲乙丙丁]           45号 12-1号 12号甲
//! building = digits ("幢" | "栋" | "号楼")                 3号楼
//! room     = digits "室"                                   601室
//! rest     = anything left (unparsed)
//! ```
//!
//! Each part is the shortest text that ends with its suffix, so 南京东路街道 is a street and
//! the road comes after it. An address the grammar cannot read gives NULL parts (and `rest`).

use std::sync::LazyLock;

use regex::Regex;

static GRAMMAR: LazyLock<Regex> = LazyLock::new(|| {
    let pattern = concat!(
        r"^(?:上海市|上海)?",
        r"(?P<district>\p{Han}{1,5}?(?:新区|区|县))?",
        // "真如镇街道" is one street: the longer suffix is tried first.
        r"(?P<street>\p{Han}{1,8}?(?:镇街道|街道|镇|乡))?",
        r"(?P<zone>[\p{Han}（）()]{1,30}?(?:开发区|工业区|园区|新区|农场|林场|度假区|加工区|旅游区|试验区)(?:[（(]\p{Han}+[）)])?)?",
        r"(?P<road>[\p{Han}\d]{1,20}?(?:公路|大道|路|街|巷|新村|村))?",
        r"(?P<lane>\d+弄)?",
        // "3号楼" is a building, not number 3 followed by 楼.
        r"(?:(?P<tower>\d+号楼)|(?P<number>\d+(?:-\d+)?号[甲乙丙丁]?)?(?P<building>\d+(?:幢|栋|号楼))?)",
        r"(?P<room>\d+室)?",
        r"(?P<rest>.*)$",
    );
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("the address grammar compiles: {e}"))
});

/// The parts of an address, by name.
pub const PARTS: [&str; 9] = [
    "district", "street", "zone", "road", "lane", "number", "building", "room", "rest",
];

/// One part of `address` (see [`PARTS`]), or `None` when absent.
pub fn part<'a>(address: &'a str, name: &str) -> Option<&'a str> {
    let caps = GRAMMAR.captures(address.trim())?;
    let found = match name {
        "building" => caps.name("tower").or_else(|| caps.name("building")),
        other => caps.name(other),
    };
    found.map(|m| m.as_str()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(a: &str) -> Vec<Option<&str>> {
        PARTS.iter().map(|p| part(a, p)).collect()
    }

    #[test]
    fn addresses_of_the_domain_brief() {
        assert_eq!(
            parts("上海市黄浦区南京东路街道四川中路100弄5号601室"),
            vec![
                Some("黄浦区"),
                Some("南京东路街道"),
                None,
                Some("四川中路"),
                Some("100弄"),
                Some("5号"),
                None,
                Some("601室"),
                None
            ]
        );
        assert_eq!(
            parts("上海市浦东新区沪南公路28弄3号楼"),
            vec![
                Some("浦东新区"),
                None,
                None,
                Some("沪南公路"),
                Some("28弄"),
                None,
                Some("3号楼"),
                None,
                None
            ]
        );
        assert_eq!(part("曹杨二村68号101室", "road"), Some("曹杨二村"));
        assert_eq!(
            part("上海市普陀区真如镇街道江场路8弄255号", "street"),
            Some("真如镇街道")
        );
        assert_eq!(
            part("上海市普陀区真如镇街道江场路8弄255号", "road"),
            Some("江场路")
        );
        assert_eq!(part("曹杨二村68号101室", "number"), Some("68号"));
        assert_eq!(
            part("上海市闵行区七宝镇羽山路12-1号", "number"),
            Some("12-1号")
        );
        assert_eq!(
            part("上海市崇明县横沙乡丰乐村12号甲", "number"),
            Some("12号甲")
        );
        assert_eq!(
            part("上海市崇明县横沙乡丰乐村12号甲", "district"),
            Some("崇明县")
        );
        assert_eq!(part("上海市黄浦区长乐路甲12号", "number"), None);
        assert_eq!(part("上海市黄浦区长乐路甲12号", "rest"), Some("甲12号"));
        let ftz = "上海市浦东新区中国（上海）自由贸易试验区（保税片区）四川北路147弄756号";
        assert_eq!(
            part(ftz, "zone"),
            Some("中国（上海）自由贸易试验区（保税片区）")
        );
        assert_eq!(part(ftz, "road"), Some("四川北路"));
        assert_eq!(
            part("上海市崇明区前卫农场长乐路3号", "zone"),
            Some("前卫农场")
        );
    }
}
