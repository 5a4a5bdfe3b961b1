//! Named code lists shipped beside the packs: `<pack folder>/codelists/<name>.csv`, UTF-8,
//! the code in the first column (further columns, such as the name, are documentation). A
//! rule refers to one by name: `allowed: { column: sex, code_list: gb2261_sex }`. The first
//! line is a header unless the rule says `header: false`; a list whose first line looks like
//! one of its codes is refused unless the rule says which it is.
//!
//! A list with a header may date its codes: columns named `valid_from` and `valid_to`
//! (`YYYY-MM-DD`, both days included, empty for open) say when each code was in use; a rule
//! reading such a list judges each row's value on the row's `record_date`.
//!
//! Lists are compiled into the plan as `IN (...)` lists, so a plan never depends on an
//! in-memory table (it must serialize to a Ballista cluster).

use std::path::{Path, PathBuf};

pub struct CodeLists {
    dir: PathBuf,
}

impl CodeLists {
    pub fn beside(pack_dir: &Path) -> CodeLists {
        CodeLists {
            dir: pack_dir.join("codelists"),
        }
    }

    /// Names of the lists available to the pack.
    pub fn names(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let p = e.path();
                if p.extension()? != "csv" {
                    return None;
                }
                Some(p.file_stem()?.to_string_lossy().into_owned())
            })
            .collect();
        names.sort();
        names
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.csv"))
    }

    /// The codes of list `name`, in file order, with their dates when the list has them.
    /// `header`: whether the first line is a header (`None`: it is, unless it looks like one
    /// of the codes, which is refused).
    pub fn load(&self, name: &str, header: Option<bool>) -> Result<Vec<ListCode>, ListProblem> {
        if name.is_empty() || name.contains(['/', '\\', '.']) {
            return Err(ListProblem::Missing(format!(
                "`{name}` is not a code-list name"
            )));
        }
        let path = self.path(name);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ListProblem::Missing(format!("{}: {e}", path.display())))?;
        let invalid = |m: String| ListProblem::Invalid(m);
        let skip = usize::from(header != Some(false));
        // Where the dates are, when the header names them.
        let dated = if skip == 1 {
            let head: Vec<&str> = text.lines().next().unwrap_or("").split(',').collect();
            let at = |n: &str| head.iter().position(|h| h.trim() == n);
            (at("valid_from"), at("valid_to"))
        } else {
            (None, None)
        };
        let mut codes = Vec::new();
        for (i, line) in text.lines().enumerate().skip(skip) {
            let fields: Vec<&str> = line.split(',').collect();
            let code = fields.first().copied().unwrap_or("").trim();
            if code.is_empty() {
                return Err(invalid(format!("{}:{}: empty code", path.display(), i + 1)));
            }
            let date = |at: Option<usize>, what: &str| -> Result<Option<i32>, ListProblem> {
                let Some(text) = at.and_then(|a| fields.get(a)).map(|f| f.trim()) else {
                    return Ok(None);
                };
                if text.is_empty() {
                    return Ok(None);
                }
                crate::values::iso_day(text).map(Some).ok_or_else(|| {
                    invalid(format!(
                        "{}:{}: {what} `{text}` is not a date written YYYY-MM-DD",
                        path.display(),
                        i + 1
                    ))
                })
            };
            let from = date(dated.0, "valid_from")?;
            let to = date(dated.1, "valid_to")?;
            if let (Some(f), Some(t)) = (from, to)
                && f > t
            {
                return Err(invalid(format!(
                    "{}:{}: valid_from is after valid_to",
                    path.display(),
                    i + 1
                )));
            }
            codes.push(ListCode {
                code: code.to_string(),
                from,
                to,
            });
        }
        if codes.is_empty() {
            return Err(invalid(format!(
                "{}: the list holds no code",
                path.display()
            )));
        }
        if header.is_none() {
            let first = text.lines().next().unwrap_or("");
            let head = first.split(',').next().unwrap_or("").trim();
            let like_head = codes
                .iter()
                .filter(|c| shape(&c.code) == shape(head))
                .count();
            if codes.len() >= 2 && like_head * 10 >= codes.len() * 9 {
                return Err(invalid(format!(
                    "{}:1: `{head}` looks like a code, not a header: say `header: false` in the \
                     rule if the list has no header line (its first line is a code), or \
                     `header: true` if `{head}` is the header",
                    path.display()
                )));
            }
        }
        Ok(codes)
    }
}

/// A code of a list and, when the list dates its codes, the days it was in use (days since
/// 1970-01-01, both included; `None`: open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCode {
    pub code: String,
    pub from: Option<i32>,
    pub to: Option<i32>,
}

impl ListCode {
    /// Whether the code is in use on some days only.
    pub fn is_dated(&self) -> bool {
        self.from.is_some() || self.to.is_some()
    }
}

/// Why a code list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListProblem {
    /// No list of that name.
    Missing(String),
    /// The list exists but cannot be read as one.
    Invalid(String),
}

/// What a code looks like: its length in characters, and whether it is all ASCII digits,
/// all ASCII letters and digits, or other text.
fn shape(code: &str) -> (usize, u8) {
    let kind = if code.bytes().all(|b| b.is_ascii_digit()) {
        0
    } else if code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        1
    } else {
        2
    };
    (code.chars().count(), kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_without_a_header_is_refused_not_shortened() {
        let dir = tempfile::tempdir().unwrap();
        let lists = dir.path().join("codelists");
        std::fs::create_dir_all(&lists).unwrap();
        std::fs::write(lists.join("bare.csv"), "310101\n310104\n310105\n").unwrap();
        std::fs::write(
            lists.join("headed.csv"),
            "code,name\n310101,黄浦区\n310104,徐汇区\n",
        )
        .unwrap();
        std::fs::write(lists.join("zh.csv"), "代码,名称\n1,男\n2,女\n").unwrap();
        let c = CodeLists::beside(dir.path());
        let Err(ListProblem::Invalid(err)) = c.load("bare", None) else {
            panic!("a headerless-looking list is refused");
        };
        assert!(
            err.contains("bare.csv:1: `310101` looks like a code") && err.contains("header: false"),
            "{err}"
        );
        // Said explicitly, either way.
        let codes = |name: &str, header: Option<bool>| -> Vec<String> {
            let list = c.load(name, header).unwrap();
            assert!(list.iter().all(|c| !c.is_dated()), "{name} has no dates");
            list.into_iter().map(|c| c.code).collect()
        };
        assert_eq!(codes("bare", Some(false)), ["310101", "310104", "310105"]);
        assert_eq!(codes("bare", Some(true)), ["310104", "310105"]);
        assert_eq!(codes("headed", None), ["310101", "310104"]);
        assert_eq!(codes("zh", None), ["1", "2"]);
        assert!(matches!(c.load("none", None), Err(ListProblem::Missing(_))));
    }

    #[test]
    fn a_dated_list_reads_its_days_and_refuses_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let lists = dir.path().join("codelists");
        std::fs::create_dir_all(&lists).unwrap();
        std::fs::write(
            lists.join("dated.csv"),
            "code,name,valid_to,valid_from\n310103,卢湾区,2011-06-07,\n310151,崇明区,,2016-07-22\n310101,黄浦区,,\n",
        )
        .unwrap();
        std::fs::write(
            lists.join("bad.csv"),
            "code,valid_from\n310101,2016/07/22\n",
        )
        .unwrap();
        let c = CodeLists::beside(dir.path());
        let day = |y, m, d| crate::values::days_from_civil(y, m, d);
        assert_eq!(
            c.load("dated", None).unwrap(),
            [
                ListCode {
                    code: "310103".into(),
                    from: None,
                    to: Some(day(2011, 6, 7))
                },
                ListCode {
                    code: "310151".into(),
                    from: Some(day(2016, 7, 22)),
                    to: None
                },
                ListCode {
                    code: "310101".into(),
                    from: None,
                    to: None
                },
            ]
        );
        let Err(ListProblem::Invalid(err)) = c.load("bad", None) else {
            panic!("a date not written YYYY-MM-DD is refused");
        };
        assert!(err.contains("bad.csv:2: valid_from `2016/07/22`"), "{err}");
    }
}
