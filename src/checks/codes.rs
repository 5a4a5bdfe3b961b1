//! Common Chinese codes besides the ID number: the unified social credit code
//! (统一社会信用代码, GB 32100-2015), the organization code it embeds (组织机构代码,
//! GB 11714-1997), telephone numbers and postcodes. Each is judged on the value as written (trimmed):
//! a code with lower-case letters or inner spaces is not valid.

/// The 31 characters of GB 32100 (digits and capital letters without I, O, Z, S, V), in the
/// order of their values 0–30.
const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// The value of a GB 32100 character.
fn uscc_value(c: u8) -> Option<u32> {
    USCC_CHARS
        .iter()
        .position(|&x| x == c)
        .and_then(|v| u32::try_from(v).ok())
}

/// Whether `s` is a unified social credit code: 18 characters of GB 32100's set;
/// characters 3–8 digits (the registering authority's division code); characters 9–17 an
/// organization code whose own check character is right; and character 18 the check
/// character: with weights 3^(i−1) mod 31, `31 − (Σ value·weight mod 31)`, 31 written as 0.
/// The first two characters (registration authority, kind of body) are not judged beyond the
/// character set: their code tables have grown since 2015.
pub fn uscc_valid(s: &str) -> bool {
    let b = s.trim().as_bytes();
    if b.len() != 18 {
        return false;
    }
    if !b[2..8].iter().all(u8::is_ascii_digit) || !orgcode_body_valid(&b[8..17]) {
        return false;
    }
    let mut sum = 0;
    let mut weight = 1;
    for &c in &b[..17] {
        let Some(v) = uscc_value(c) else {
            return false;
        };
        sum += v * weight;
        weight = weight * 3 % 31;
    }
    let check = (31 - sum % 31) % 31;
    uscc_value(b[17]) == Some(check)
}

/// Whether `s` is an organization code: eight digits or capital letters, then its check
/// character, with or without a hyphen before it (`79965505-8`): with weights
/// 3, 7, 9, 10, 5, 8, 4, 2 and letters valued A = 10 … Z = 35, `11 − (Σ mod 11)`, written
/// `X` for 10 and `0` for 11.
pub fn orgcode_valid(s: &str) -> bool {
    let s = s.trim();
    let b = s.as_bytes();
    match b.len() {
        9 => orgcode_body_valid(b),
        10 if b[8] == b'-' => orgcode_body_valid(&[&b[..8], &b[9..]].concat()),
        _ => false,
    }
}

/// Nine characters: an organization code's body and its check character.
fn orgcode_body_valid(b: &[u8]) -> bool {
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    if b.len() != 9 {
        return false;
    }
    let mut sum = 0;
    for (&c, w) in b[..8].iter().zip(WEIGHTS) {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        sum += v * w;
    }
    let check = match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        d => b'0' + u8::try_from(d).unwrap_or(0),
    };
    b[8] == check
}

/// Whether `s` is a mainland mobile number: 11 digits, `1` then `3`–`9` (the 13x–19x
/// segments), written without a country code or separators.
pub fn mobile_valid(s: &str) -> bool {
    let b = s.trim().as_bytes();
    b.len() == 11 && b.iter().all(u8::is_ascii_digit) && b[0] == b'1' && b[1] >= b'3'
}

/// Whether `s` is a landline number with its area code: `0` and two or three more digits
/// (010, 021, 0512), an optional hyphen, then a local number of 7 or 8 digits that does not
/// start with 0 or 1 (those start area codes and special services).
pub fn landline_valid(s: &str) -> bool {
    let s = s.trim();
    let (area, local) = match s.split_once('-') {
        Some((a, l)) => (a, l),
        // Without a hyphen, 021 and 010 areas have 3-digit codes, the rest 4.
        None if s.starts_with("01") || s.starts_with("02") => s.split_at(s.len().min(3)),
        None => s.split_at(s.len().min(4)),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let area_ok = (3..=4).contains(&area.len()) && area.starts_with('0') && digits(area);
    let local_ok = (7..=8).contains(&local.len())
        && digits(local)
        && !local.starts_with('0')
        && !local.starts_with('1');
    area_ok && local_ok
}

/// Province-level regions by the first two digits of a postcode (China Post's allocation:
/// 20 上海 from 200000 to 202199; the others recalled from the national postcode list, one
/// check of each against a capital's or large city's code, e.g. 100000 北京, 510000 广州).
/// Unlisted prefixes (00, 08, 09, 14, 17–19, 28, 29, 37–39, 48–50, 58–60, 68–70, 76–80, 82,
/// 86–99) are allocated to no region.
const POSTCODE_REGIONS: [(&str, &[u8]); 31] = [
    ("北京市", &[10]),
    ("天津市", &[30]),
    ("河北省", &[5, 6, 7]),
    ("山西省", &[3, 4]),
    ("内蒙古自治区", &[1, 2]),
    ("辽宁省", &[11, 12]),
    ("吉林省", &[13]),
    ("黑龙江省", &[15, 16]),
    ("上海市", &[20]),
    ("江苏省", &[21, 22]),
    ("浙江省", &[31, 32]),
    ("安徽省", &[23, 24]),
    ("福建省", &[35, 36]),
    ("江西省", &[33, 34]),
    ("山东省", &[25, 26, 27]),
    ("河南省", &[45, 46, 47]),
    ("湖北省", &[43, 44]),
    ("湖南省", &[41, 42]),
    ("广东省", &[51, 52]),
    ("广西壮族自治区", &[53, 54]),
    ("海南省", &[57]),
    ("重庆市", &[40]),
    ("四川省", &[61, 62, 63, 64]),
    ("贵州省", &[55, 56]),
    ("云南省", &[65, 66, 67]),
    ("西藏自治区", &[85]),
    ("陕西省", &[71, 72]),
    ("甘肃省", &[73, 74]),
    ("青海省", &[81]),
    ("宁夏回族自治区", &[75]),
    ("新疆维吾尔自治区", &[83, 84]),
];

/// The province-level region a postcode is allocated to: six digits whose first two are a
/// region's (see [`POSTCODE_REGIONS`]); Shanghai's codes further run from 200000 to 202199.
/// `None` for anything else.
pub fn postcode_region(s: &str) -> Option<&'static str> {
    let b = s.trim().as_bytes();
    if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let prefix = (b[0] - b'0') * 10 + (b[1] - b'0');
    let (region, _) = POSTCODE_REGIONS
        .iter()
        .find(|(_, prefixes)| prefixes.contains(&prefix))?;
    if prefix == 20 && b[2] > b'2' {
        return None;
    }
    Some(region)
}

/// Whether `s` is a mainland postcode: see [`postcode_region`].
pub fn postcode_valid(s: &str) -> bool {
    postcode_region(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published codes of well-known companies (each one's business licence), and the
    /// organization codes inside them.
    const USCC: [&str; 3] = [
        "91330100799655058B", // 阿里巴巴（中国）有限公司
        "91440300708461136T", // 深圳市腾讯计算机系统有限公司
        "914403001922038216", // 华为技术有限公司
    ];

    #[test]
    fn postcodes_by_region() {
        for (code, region) in [
            ("100000", "北京市"),
            ("200001", "上海市"),
            ("201900", "上海市"),
            ("202150", "上海市"), // 崇明
            ("510000", "广东省"),
            ("310000", "浙江省"),
            ("400000", "重庆市"),
            ("830000", "新疆维吾尔自治区"),
            (" 210000 ", "江苏省"),
        ] {
            assert_eq!(postcode_region(code), Some(region), "{code}");
        }
        for bad in [
            "20000", "2000011", "20000A", "203000", "000000", "990000", "140000", "",
        ] {
            assert!(!postcode_valid(bad), "{bad}");
        }
    }

    #[test]
    fn unified_social_credit_codes() {
        for code in USCC {
            assert!(uscc_valid(code), "{code}");
            assert!(orgcode_valid(&code[8..17]), "{}", &code[8..17]);
            // Any other check character is wrong.
            for &c in USCC_CHARS.iter().filter(|&&c| c != code.as_bytes()[17]) {
                let other = format!("{}{}", &code[..17], c as char);
                assert!(!uscc_valid(&other), "{other}");
            }
        }
        assert!(!uscc_valid("91330100799655058b"), "lower case");
        assert!(!uscc_valid("91330100799655058"), "17 characters");
        assert!(!uscc_valid("9133010079965505OB"), "O is not in the set");
        // A swapped pair of digits breaks the check character.
        assert!(!uscc_valid("91331000799655058B"));
        assert!(uscc_valid(" 91330100799655058B "), "trimmed");
    }

    #[test]
    fn organization_codes() {
        assert!(orgcode_valid("79965505-8"));
        assert!(orgcode_valid("799655058"));
        assert!(!orgcode_valid("79965505-7"));
        assert!(!orgcode_valid("7996550-58"));
        // A check value of 10 is written X, of 11 written 0: find one of each by search.
        let with = |check: u8| {
            (0..100_000_000u32)
                .map(|n| format!("{n:08}"))
                .find(|body| orgcode_valid(&format!("{body}{}", check as char)))
        };
        let x = with(b'X').unwrap();
        assert!(!orgcode_valid(&format!("{x}0")));
        assert!(with(b'0').is_some());
    }

    #[test]
    fn telephone_numbers() {
        for ok in ["13800138000", "19912345678", " 15012345678 "] {
            assert!(mobile_valid(ok), "{ok}");
        }
        for bad in [
            "12800138000",
            "1380013800",
            "+8613800138000",
            "138-0013-8000",
        ] {
            assert!(!mobile_valid(bad), "{bad}");
        }
        for ok in [
            "021-62345678",
            "02162345678",
            "010-6552345",
            "0512-68123456",
        ] {
            assert!(landline_valid(ok), "{ok}");
        }
        for bad in [
            "62345678",
            "021-02345678",
            "21-62345678",
            "021-623456789",
            "0512-1234567",
        ] {
            assert!(!landline_valid(bad), "{bad}");
        }
    }
}
