//! Named code lists shipped beside the packs: `<pack folder>/codelists/<name>.csv`, UTF-8,
//! the code in the first column (further columns, such as the name, are documentation). A
//! rule refers to one by name: `allowed: { column: sex, code_list: gb2261_sex }`. The first
//! line is a header unless the rule says `header: false`; a list whose first line looks like
//! one of its codes is refused unless the rule says which it is.
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

    /// The codes of list `name`, in file order. `header`: whether the first line is a header
    /// (`None`: it is, unless it looks like one of the codes, which is refused).
    pub fn load(&self, name: &str, header: Option<bool>) -> Result<Vec<String>, ListProblem> {
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
        let mut codes = Vec::new();
        for (i, line) in text.lines().enumerate().skip(skip) {
            let code = line.split(',').next().unwrap_or("").trim();
            if code.is_empty() {
                return Err(invalid(format!("{}:{}: empty code", path.display(), i + 1)));
            }
            codes.push(code.to_string());
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
            let like_head = codes.iter().filter(|c| shape(c) == shape(head)).count();
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
        assert_eq!(
            c.load("bare", Some(false)).unwrap(),
            ["310101", "310104", "310105"]
        );
        assert_eq!(c.load("bare", Some(true)).unwrap(), ["310104", "310105"]);
        assert_eq!(c.load("headed", None).unwrap(), ["310101", "310104"]);
        assert_eq!(c.load("zh", None).unwrap(), ["1", "2"]);
        assert!(matches!(c.load("none", None), Err(ListProblem::Missing(_))));
    }
}
