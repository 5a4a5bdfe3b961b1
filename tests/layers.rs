//! The module tree reads as the pipeline: every `crate::` path in `src/` (outside test code
//! and comments) points to a lower layer of `qc::LAYERS` than the file it is written in, and
//! modules of one layer do not import each other.

use std::path::{Path, PathBuf};

/// An import of another top-level module: where it is written and what it names.
#[derive(Debug)]
struct Import {
    file: PathBuf,
    line: usize,
    from: String,
    to: String,
}

#[test]
fn no_import_runs_back_up_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layer = |module: &str| qc::LAYERS.iter().position(|l| l.contains(&module));
    let mut problems = Vec::new();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "src/ has too few files: {}", files.len());
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap_or(file);
        let top = top_module(relative);
        if top == "lib" || top == "main" {
            continue;
        }
        let Some(own) = layer(&top) else {
            problems.push(format!(
                "{}: module `{top}` is in no layer of qc::LAYERS (src/lib.rs)",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("source file reads");
        for import in imports(relative, &text) {
            let Some(theirs) = layer(&import.to) else {
                continue; // not a top-level module (e.g. a macro or type at the root)
            };
            if theirs >= own {
                problems.push(format!(
                    "src/{}:{}: `{}` (layer {own}) imports `{}` (layer {theirs}); imports must \
                     point to a lower layer",
                    import.file.display(),
                    import.line,
                    import.from,
                    import.to
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_scanner_sees_every_form_of_import() {
    let text = "\
use crate::rules::Threshold;
use crate::{bind::BoundTable, plan};
use crate::{
    execute::{self, Engine},
    results,
};
// use crate::cli;
fn f() { crate::text::thousands(1); super::super::report::x(); }
#[cfg(test)]
mod tests {
    use crate::generate;
}
";
    let found: Vec<(usize, String)> = imports(Path::new("checks/x.rs"), text)
        .into_iter()
        .map(|i| (i.line, i.to))
        .collect();
    let want: Vec<(usize, String)> = [
        (1, "rules"),
        (2, "bind"),
        (2, "plan"),
        (3, "execute"),
        (3, "results"),
        (8, "text"),
        (8, "report"),
    ]
    .into_iter()
    .map(|(l, m)| (l, m.to_string()))
    .collect();
    assert_eq!(found, want);
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ reads").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
}

/// `checks/set.rs` → `checks`; `error.rs` → `error`.
fn top_module(relative: &Path) -> String {
    let first = relative
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    first.trim_end_matches(".rs").to_string()
}

/// The module path of a file below `src/`: `checks/set.rs` → [checks, set];
/// `checks/mod.rs` → [checks].
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" {
            parts.push(stem.to_string());
        }
    }
    parts
}

/// The top-level modules `text` names through `crate::` (or enough `super::` to reach the
/// crate's root), outside comments and `#[cfg(test)]` items.
fn imports(relative: &Path, text: &str) -> Vec<Import> {
    let from = top_module(relative);
    let depth = module_path(relative).len();
    let code = code_only(text);
    let mut out = Vec::new();
    let mut push = |offset: usize, to: &str| {
        if !to.is_empty() && to != from && to != "self" {
            out.push(Import {
                file: relative.to_path_buf(),
                line: code[..offset].matches('\n').count() + 1,
                from: from.clone(),
                to: to.to_string(),
            });
        }
    };
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &code[i..];
        let prefix_len = if rest.starts_with("crate::") && !preceded_by_ident(bytes, i) {
            "crate::".len()
        } else if rest.starts_with("super::") && !preceded_by_ident(bytes, i) {
            let mut supers = 0;
            while code[i + supers * "super::".len()..].starts_with("super::") {
                supers += 1;
            }
            if supers < depth {
                // Still inside the file's own top-level module.
                i += "super::".len() * supers;
                continue;
            }
            "super::".len() * supers
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let after = &code[i + prefix_len..];
        if let Some(group) = after.strip_prefix('{') {
            for name in group_heads(group) {
                push(i, name);
            }
        } else {
            push(i, ident(after));
        }
        i += prefix_len;
    }
    out
}

fn preceded_by_ident(bytes: &[u8], i: usize) -> bool {
    i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':')
}

fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first segment of each path in a `{a::b, c, d::{e, f}}` group (after its `{`).
fn group_heads(group: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut at_start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_start = true,
            c if at_start && (c.is_ascii_alphabetic() || c == '_') => {
                heads.push(ident(&group[i..]));
                at_start = false;
            }
            _ => {}
        }
    }
    heads
}

/// `text` with comments and `#[cfg(test)]` items blanked out (newlines kept, so offsets still
/// give line numbers).
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut skipping_test_item = false;
    let mut depth = 0i32;
    let mut opened = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let blank = || {
            line.chars()
                .map(|c| if c == '\n' { '\n' } else { ' ' })
                .collect::<String>()
        };
        if !skipping_test_item && trimmed.starts_with("#[cfg(test)]") {
            skipping_test_item = true;
            depth = 0;
            opened = false;
            out.push_str(&blank());
            continue;
        }
        if skipping_test_item {
            for c in line.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            // An item without a body (`use …;`) ends at its semicolon.
            if (opened && depth <= 0) || (!opened && trimmed.trim_end().ends_with(';')) {
                skipping_test_item = false;
            }
            out.push_str(&blank());
            continue;
        }
        let code = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        out.push_str(code);
        if code.len() < line.len() && line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}
