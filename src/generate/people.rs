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

/// A person with an ID number.
#[derive(Debug, Clone)]
pub struct Party {
    pub name: String,
    pub address: &'static str,
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
        let body = format!("{}{}{:03}", self.address, birth.format("%Y%m%d"), self.seq);
        let good = check_char(body.as_bytes()).map_or('0', char::from);
        let check = if self.bad_check {
            let all = "0123456789X";
            let i = all.find(good).unwrap_or(0);
            all.chars().nth((i + 1) % 11).unwrap_or('0')
        } else {
            good
        };
        format!("{body}{check}")
    }

    /// Give the sequence number the parity of `sex` ('1' odd, '2' even).
    pub fn seq_for(&mut self, sex: &str) {
        let odd = sex == "1";
        if (self.seq % 2 == 1) != odd {
            self.seq = if self.seq == 999 { 998 } else { self.seq + 1 };
        }
    }
}

/// Days since 1970-01-01 → date.
pub fn date(days_since_epoch: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(days_since_epoch + 719_163).unwrap_or_default()
}

/// The same day `years` earlier (the 28th for 29 February).
pub fn years_before(d: NaiveDate, years: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year() - years, d.month(), d.day().min(28)).unwrap_or(d)
}

/// A random person born on `birth` with sex `sex` ('1' male, '2' female).
pub fn person(rng: &mut StdRng, birth: NaiveDate, sex: &'static str) -> Party {
    let address = if rng.random_bool(0.7) {
        DISTRICTS[rng.random_range(0..DISTRICTS.len())].0
    } else {
        ELSEWHERE[rng.random_range(0..ELSEWHERE.len())]
    };
    let given: String = (0..rng.random_range(1..=2))
        .map(|_| GIVEN[rng.random_range(0..GIVEN.len())])
        .collect();
    let mut p = Party {
        name: format!("{}{given}", SURNAMES[rng.random_range(0..SURNAMES.len())]),
        address,
        birth,
        seq: rng.random_range(0..1000),
        sex,
        bad_check: false,
        id_birth: None,
    };
    p.seq_for(sex);
    p
}
