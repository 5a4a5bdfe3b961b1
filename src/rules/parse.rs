//! YAML text → [`Pack`]: the typed document plus the file it came from, so that every later
//! problem can point at `file:line:column`.
//!
//! YAML syntax and shape errors stop parsing of that file (the document has no meaning past
//! them); semantic problems are collected later by [`super::bind`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, SourceFile, Span, position};
use crate::error::{Error, Result};

use super::{PackDoc, Spanned};

/// A parsed rule pack.
#[derive(Debug)]
pub struct Pack {
    pub file: Arc<SourceFile>,
    pub doc: PackDoc,
}

impl Pack {
    /// The span of a spanned YAML value in this pack.
    pub fn span<T>(&self, v: &Spanned<T>) -> Span {
        let loc = v.referenced;
        let (line, column) = position(loc.line(), loc.column());
        Span::at_token(&self.file, line, column)
    }

    /// The folder relative source paths are resolved against.
    pub fn dir(&self) -> &Path {
        self.file.path.parent().unwrap_or(Path::new("."))
    }
}

/// Parse one pack from text (the path is used in diagnostics and to resolve relative paths).
pub fn parse_str(path: &Path, text: String) -> Result<Pack, Box<Diagnostic>> {
    let file = Arc::new(SourceFile {
        path: path.to_path_buf(),
        text,
    });
    match serde_saphyr::from_str::<PackDoc>(&file.text) {
        Ok(doc) => Ok(Pack { file, doc }),
        Err(e) => {
            let mut d = Diagnostic::error("invalid-pack", clean_yaml_message(&e));
            match e.location() {
                Some(loc) if loc.line() > 0 => {
                    let (line, column) = position(loc.line(), loc.column());
                    d = d.at(Span::at_token(&file, line, column));
                }
                _ => d = d.in_file(path),
            }
            Err(Box::new(d))
        }
    }
}

/// serde-saphyr's message without its own location suffix or rendered snippet (qc renders
/// its own pointer).
fn clean_yaml_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // Drop a leading "line N column M: " (qc prints the location itself).
    let first = match first.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") && head.contains(" column ") => rest,
        _ => first,
    };
    // …and a trailing " at line N, column M".
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    }
}

/// Read and parse one pack file.
pub fn parse_file(path: &Path) -> Result<Result<Pack, Box<Diagnostic>>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(parse_str(path, text))
}

/// The pack files named by the arguments: files as given, folders expanded to the `*.yaml`
/// and `*.yml` files directly inside them (sorted).
pub fn pack_paths(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for arg in args {
        let meta = std::fs::metadata(arg).map_err(|e| Error::io(arg, e))?;
        if meta.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(arg)
                .map_err(|e| Error::io(arg, e))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .is_some_and(|x| x.eq_ignore_ascii_case("yaml") || x == "yml")
                })
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(Error::Usage(format!(
                    "{}: folder holds no rule pack (*.yaml)",
                    arg.display()
                )));
            }
            out.extend(found);
        } else {
            out.push(arg.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_at_values() {
        let text = "library:\n  id: spatial\n  name: 地名地址专题库\ntables: []\n";
        let pack = parse_str(Path::new("p.yaml"), text.into()).unwrap();
        let span = pack.span(&pack.doc.library.id);
        assert_eq!((span.line, span.column, span.len), (2, 7, 7));
    }

    #[test]
    fn unknown_field_is_located() {
        let text = "library:\n  id: x\n  name: y\n  colour: red\ntables: []\n";
        let d = parse_str(Path::new("p.yaml"), text.into()).unwrap_err();
        assert_eq!(d.code, "invalid-pack");
        assert!(d.message.contains("colour"), "{}", d.message);
        assert_eq!(d.span.as_ref().map(|s| s.line), Some(4));
    }
}
