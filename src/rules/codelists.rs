//! Named code lists shipped beside the packs: `<pack folder>/codelists/<name>.csv`, UTF-8,
//! a header row, the code in the first column (further columns, such as the name, are
//! documentation). A rule refers to one by name: `allowed: { column: sex, code_list: gb2261_sex }`.
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

    /// The codes of list `name`, in file order. `Err` says why the list cannot be used.
    pub fn load(&self, name: &str) -> Result<Vec<String>, String> {
        if name.is_empty() || name.contains(['/', '\\', '.']) {
            return Err(format!("`{name}` is not a code-list name"));
        }
        let path = self.path(name);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut codes = Vec::new();
        for (i, line) in text.lines().enumerate().skip(1) {
            let code = line.split(',').next().unwrap_or("").trim();
            if code.is_empty() {
                return Err(format!("{}:{}: empty code", path.display(), i + 1));
            }
            codes.push(code.to_string());
        }
        if codes.is_empty() {
            return Err(format!("{}: the list holds no code", path.display()));
        }
        Ok(codes)
    }
}
