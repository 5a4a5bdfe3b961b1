//! Masking of personal data (ID numbers, names) in what people read: report samples and
//! feedback files. Columns are marked in the pack (`pii: id_number` or `pii: name`).

use serde::{Deserialize, Serialize};

/// What kind of personal data a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pii {
    IdNumber,
    Name,
}

impl Pii {
    pub fn parse(s: &str) -> Option<Pii> {
        match s.trim() {
            "id_number" => Some(Pii::IdNumber),
            "name" => Some(Pii::Name),
            _ => None,
        }
    }

    /// The value with its identifying part hidden: an ID number keeps its address code and
    /// its last four characters (`310101********123X`), a name its first character (`张*`).
    pub fn mask(self, value: &str) -> String {
        let chars: Vec<char> = value.trim().chars().collect();
        let n = chars.len();
        let (head, tail) = match self {
            Pii::IdNumber if n >= 12 => (6, 4),
            Pii::IdNumber => (n.min(2), 0),
            Pii::Name => (n.min(1), 0),
        };
        let mut out: String = chars[..head].iter().collect();
        out.extend(std::iter::repeat_n('*', n - head - tail));
        out.extend(&chars[n - tail..]);
        if out.is_empty() && !value.is_empty() {
            out.push('*');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_what_identifies_nobody() {
        assert_eq!(
            Pii::IdNumber.mask("11010519491231002X"),
            "110105********002X"
        );
        assert_eq!(Pii::IdNumber.mask("310101800101001"), "310101*****1001");
        assert_eq!(Pii::IdNumber.mask("12345"), "12***");
        assert_eq!(Pii::Name.mask("张三"), "张*");
        assert_eq!(Pii::Name.mask("欧阳娜娜"), "欧***");
        assert_eq!(Pii::Name.mask(""), "");
    }
}
