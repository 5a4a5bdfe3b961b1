//! Marriage-registration certificate numbers (证件字号): `<type><6-digit division code>-<year>-
//! <6-digit serial>`, type `J` 结婚, `L` 离婚, `BJ` 补领结婚证, `BL` 补领离婚证
//! (e.g. `J110101-2010-000001`). Functions return NULL for a value not of that shape, so the
//! shape itself is one rule (`pattern`) and each part's consistency another.

/// The parts of a certificate number: (type, division code, year, serial).
pub fn parts(s: &str) -> Option<(&str, &str, i32, u32)> {
    let type_len = s.bytes().take_while(u8::is_ascii_uppercase).count();
    let (kind, rest) = s.split_at(type_len);
    if !matches!(kind, "J" | "L" | "BJ" | "BL") {
        return None;
    }
    let mut fields = rest.split('-');
    let (organ, year, serial) = (fields.next()?, fields.next()?, fields.next()?);
    let digits = |t: &str, n: usize| t.len() == n && t.bytes().all(|b| b.is_ascii_digit());
    if fields.next().is_some() || !digits(organ, 6) || !digits(year, 4) || !digits(serial, 6) {
        return None;
    }
    Some((kind, organ, year.parse().ok()?, serial.parse().ok()?))
}

/// The business type (业务类型) a certificate type letter stands for.
pub fn business_type(kind: &str) -> Option<&'static str> {
    match kind {
        "J" => Some("结婚"),
        "L" => Some("离婚"),
        "BJ" => Some("补领结婚证"),
        "BL" => Some("补领离婚证"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_numbers() {
        assert_eq!(parts("J110101-2010-000001"), Some(("J", "110101", 2010, 1)));
        assert_eq!(
            parts("BL310115-2023-000120"),
            Some(("BL", "310115", 2023, 120))
        );
        assert_eq!(parts("J310115-2023-00012"), None);
        assert_eq!(parts("X310115-2023-000012"), None);
        assert_eq!(parts("J310115-2023-000012-1"), None);
        assert_eq!(business_type("BJ"), Some("补领结婚证"));
    }
}
