//! People shared by the generators: plausible names, Shanghai and other address codes, and
//! resident ID numbers consistent with birth date and sex (or deliberately not).

use chrono::{Datelike, NaiveDate};
use rand::Rng as _;
use rand::rngs::StdRng;

use crate::checks::id_number::check_char;

pub const SURNAMES: [&str; 24] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋",
];
pub const GIVEN: [&str; 24] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华",
];
pub const DISTRICTS: [(&str, &str); 16] = [
    ("310101", "黄浦区"),
    ("310104", "徐汇区"),
    ("310105", "长宁区"),
    ("310106", "静安区"),
    ("310107", "普陀区"),
    ("310109", "虹口区"),
    ("310110", "杨浦区"),
    ("310112", "闵行区"),
    ("310113", "宝山区"),
    ("310114", "嘉定区"),
    ("310115", "浦东新区"),
    ("310116", "金山区"),
    ("310117", "松江区"),
    ("310118", "青浦区"),
    ("310120", "奉贤区"),
    ("310151", "崇明区"),
];
/// Address codes of parties from elsewhere (南京, 杭州, 合肥, 北京, 广州).
pub const ELSEWHERE: [&str; 5] = ["320102", "330106", "340104", "110105", "440106"];

/// The identity document a person registers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doc {
    /// 居民身份证: the citizen number.
    Citizen,
    /// 港澳台居民居住证: 810000 + birth date + sequence + check character.
    HkResident,
    /// 外国人永久居留身份证 (2023 form): 9, province 31, nationality 840, birth date,
    /// sequence, check character.
    ForeignPermanent,
    /// 护照: P and ten digits (address, birth date, sequence).
    Passport,
}

impl Doc {
    /// The document of the people with address code `address`: the last three codes of
    /// [`ELSEWHERE`] stand for residents who are not citizens, so their numbers stay as
    /// distinct as the citizens' (one address code: distinct birth date and sequence).
    fn of_address(address: &str) -> Doc {
        match ELSEWHERE.iter().position(|a| *a == address) {
            Some(2) => Doc::HkResident,
            Some(3) => Doc::ForeignPermanent,
            Some(4) => Doc::Passport,
            _ => Doc::Citizen,
        }
    }

    /// Its name in the marriage library (证件类型).
    pub fn name(self) -> &'static str {
        match self {
            Doc::Citizen => "居民身份证",
            Doc::HkResident => "港澳台居民居住证",
            Doc::ForeignPermanent => "外国人永久居留身份证",
            Doc::Passport => "护照",
        }
    }

    /// Its code on the death certificate (有效身份证件类别, 2014 form: 1 身份证, 3 护照,
    /// 9 其他).
    pub fn death_code(self) -> &'static str {
        match self {
            Doc::Citizen => "1",
            Doc::Passport => "3",
            Doc::HkResident | Doc::ForeignPermanent => "9",
        }
    }
}

/// How an ID number is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Normal,
    /// Recoverable: a lower-case x, a leading space or full-width digits (by sequence).
    Loose,
}

/// A person with an ID number.
#[derive(Debug, Clone)]
pub struct Party {
    pub name: String,
    pub address: &'static str,
    pub doc: Doc,
    pub written: Written,
    pub birth: NaiveDate,
    pub seq: u32,
    pub sex: &'static str,
    /// A deliberately wrong check character, when injected.
    pub bad_check: bool,
    /// The birth date the ID number encodes, when injected to differ from `birth`.
    pub id_birth: Option<NaiveDate>,
}

impl Party {
    pub fn id(&self) -> String {
        let birth = self.id_birth.unwrap_or(self.birth);
        let prefix = match self.doc {
            // Address, birth date and sequence tell people apart, as in a citizen number
            // (a defect may give a passport to a person of any address).
            Doc::Passport => {
                let at = DISTRICTS
                    .iter()
                    .map(|d| d.0)
                    .chain(ELSEWHERE)
                    .position(|a| a == self.address)
                    .unwrap_or(0);
                let day = (crate::values::days(birth) + 30_000).unsigned_abs();
                return format!("P{at:02}{day:05}{:03}", self.seq % 1000);
            }
            Doc::Citizen => self.address,
            Doc::HkResident => "810000",
            Doc::ForeignPermanent => "931840",
        };
        let body = format!("{prefix}{}{:03}", birth.format("%Y%m%d"), self.seq);
        let good = check_char(body.as_bytes()).map_or('0', char::from);
        let check = if self.bad_check {
            let all = "0123456789X";
            let i = all.find(good).unwrap_or(0);
            all.chars().nth((i + 1) % 11).unwrap_or('0')
        } else {
            good
        };
        let id = format!("{body}{check}");
        match self.written {
            Written::Normal => id,
            Written::Loose => loosely(&id, self.seq),
        }
    }

    /// Make the person a citizen (an injured row's own party, whose ID number a defect breaks).
    pub fn as_citizen(&mut self) {
        self.doc = Doc::Citizen;
    }

    /// Give the sequence number the parity of `sex` ('1' odd, '2' even) by flipping its
    /// lowest bit: the number stays unique, since the twin number is the other sex's of the
    /// same identity slot.
    pub fn seq_for(&mut self, sex: &str) {
        let odd = sex == "1";
        if (self.seq % 2 == 1) != odd {
            self.seq ^= 1;
        }
    }
}

/// Days since 1970-01-01 → date.
pub fn date(days_since_epoch: i32) -> NaiveDate {
    crate::values::from_days(days_since_epoch).unwrap_or_default()
}

/// The same day `years` earlier (the 28th for 29 February).
pub fn years_before(d: NaiveDate, years: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year() - years, d.month(), d.day().min(28)).unwrap_or(d)
}

/// A population whose people have distinct ID numbers by construction.
///
/// Identity slot `n` of a space maps one-to-one (a multiplicative permutation, so neighbouring
/// slots spread over the whole range) to a birth date in the space's window, one of the 21
/// address codes, and one of 150 sequence pairs; the sex picks the pair's odd (male) or even
/// (female) number. Slots past one round of those take the space's next sequence range.
/// Spaces use disjoint sequence ranges, so a marriage party and a deceased person never share
/// an ID number unless a generator makes them the same person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// Parties to marriages: born 1963–1992, sequence numbers 000–299, then 600–899.
    Marriage,
    /// The deceased: born 1917–2016, sequence numbers 300–599.
    Death,
}

const SEQ_PAIRS: u64 = 150;

impl Space {
    fn window(self) -> (i32, u64) {
        match self {
            // 1963-01-01, 30 years
            Space::Marriage => (-2_557, 10_957),
            // 1917-01-01, 100 years
            Space::Death => (-19_358, 36_524),
        }
    }

    /// The first sequence number of each round of the space.
    fn seq_bases(self) -> &'static [u32] {
        match self {
            Space::Marriage => &[0, 600],
            Space::Death => &[300],
        }
    }

    /// How many people (of each sex) one round of sequence numbers holds.
    fn round_capacity(self) -> u64 {
        self.window().1 * SEQ_PAIRS * (DISTRICTS.len() + ELSEWHERE.len()) as u64
    }

    /// How many people (of each sex) the space holds.
    pub fn capacity(self) -> u64 {
        self.round_capacity() * self.seq_bases().len() as u64
    }
}

/// The person of identity slot `slot` of `space` with sex `sex` ('1' male, '2' female); slots
/// at or past [`Space::capacity`] wrap around (callers check the capacity first).
pub fn identity(space: Space, slot: u64, sex: &'static str) -> Party {
    use rand::SeedableRng as _;
    let capacity = space.round_capacity();
    let slot = slot % space.capacity();
    let seq_base = space.seq_bases()[usize::try_from(slot / capacity).unwrap_or(0)];
    // A prime that divides no capacity: multiplying by it permutes 0..capacity.
    let n = u64::try_from((u128::from(slot % capacity) * 1_000_000_007) % u128::from(capacity))
        .unwrap_or(0);
    let addresses = (DISTRICTS.len() + ELSEWHERE.len()) as u64;
    let address_index = usize::try_from(n % addresses).unwrap_or(0);
    let rest = n / addresses;
    let pair = u32::try_from(rest % SEQ_PAIRS).unwrap_or(0);
    let (first_day, _) = space.window();
    let day = i32::try_from(rest / SEQ_PAIRS).unwrap_or(0);
    let address = if address_index < DISTRICTS.len() {
        DISTRICTS[address_index].0
    } else {
        ELSEWHERE[address_index - DISTRICTS.len()]
    };
    let mut rng = StdRng::seed_from_u64(n ^ (u64::from(seq_base) << 48));
    let given: String = (0..rng.random_range(1..=2))
        .map(|_| GIVEN[rng.random_range(0..GIVEN.len())])
        .collect();
    Party {
        name: format!("{}{given}", SURNAMES[rng.random_range(0..SURNAMES.len())]),
        address,
        birth: date(first_day + day),
        seq: seq_base + 2 * pair + u32::from(sex == "1"),
        sex,
        bad_check: false,
        id_birth: None,
        doc: Doc::of_address(address),
        written: Written::Normal,
    }
}

/// `id` written loosely but recoverably: a lower-case x for a final X, else (by `seq`) a
/// leading space or full-width digits.
fn loosely(id: &str, seq: u32) -> String {
    if id.ends_with('X') {
        return id.to_lowercase();
    }
    if seq.is_multiple_of(2) {
        return format!(" {id}");
    }
    id.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(u32::from('０') + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn identities_are_distinct_within_and_across_spaces() {
        let mut seen = HashSet::new();
        for space in [Space::Marriage, Space::Death] {
            for slot in 0..20_000 {
                for sex in ["1", "2"] {
                    let p = identity(space, slot, sex);
                    assert!(seen.insert(p.id()), "{space:?} slot {slot} sex {sex}");
                }
            }
        }
        // The first slots of the marriage space's second round of sequence numbers.
        let round = Space::Marriage.round_capacity();
        for slot in round..round + 20_000 {
            for sex in ["1", "2"] {
                let p = identity(Space::Marriage, slot, sex);
                assert!((600..900).contains(&p.seq), "{slot}: {}", p.seq);
                assert!(seen.insert(p.id()), "marriage slot {slot} sex {sex}");
            }
        }
        // A defect may hand anyone a passport: it still names one person.
        for slot in 0..20_000 {
            let mut p = identity(Space::Marriage, slot, "1");
            if p.doc != Doc::Passport {
                p.doc = Doc::Passport;
                assert!(seen.insert(p.id()), "passport of marriage slot {slot}");
            }
        }
        let p = identity(Space::Marriage, 7, "1");
        assert!(p.birth >= date(-2_557) && p.birth < date(8_400));
        assert_eq!(p.seq % 2, 1);
        assert!(Space::Marriage.capacity() > 60_000_000);
    }
}
