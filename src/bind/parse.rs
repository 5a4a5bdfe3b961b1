//! YAML text → [`Pack`]: the typed document plus the file it came from, so that every later
//! problem can point at `file:line:column`.
//!
//! YAML syntax and shape errors stop parsing of that file (the document has no meaning past
//! them); semantic problems are collected later by [`super::bind`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::checks::CheckDoc;
use crate::checks::table::TableCheckKind;
use crate::diagnostic::{Code, Diagnostic, SourceFile, Span, position};
use crate::error::{Error, Result};
use crate::rules::scoring::ScoringModel;
use crate::rules::{Spanned, Threshold};

/// A rule pack as written: one thematic library (专题库) and its tables and rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackDoc {
    pub library: LibraryDoc,
    /// Files of rule templates shared by several packs (paths relative to the pack's folder).
    #[serde(default)]
    pub include: Vec<Spanned<String>>,
    /// Rules written once for columns named by role, which tables `use`.
    #[serde(default)]
    pub templates: Vec<RuleDoc>,
    pub tables: Vec<TableDoc>,
    /// How the library's scores weigh dimensions and severities (default: equal dimensions,
    /// warnings half an error).
    #[serde(default)]
    pub scoring: Option<ScoringModel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibraryDoc {
    /// Stable identifier, also the SQL schema name of the library's tables (e.g. `marriage`).
    pub id: Spanned<String>,
    /// Chinese name shown in summaries and reports (e.g. `婚姻专题库`).
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableDoc {
    pub name: Spanned<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub source: SourceDoc,
    /// Declared columns; required for CSV, optional for Parquet (taken from the file).
    #[serde(default)]
    pub columns: Vec<ColumnDoc>,
    /// Key column(s) identifying a record in anomaly exports and feedback.
    pub key: Vec<Spanned<String>>,
    /// Column naming the data provider (department or district) of each row.
    #[serde(default)]
    pub provider: Option<Spanned<String>>,
    #[serde(default)]
    pub rules: Vec<RuleDoc>,
    /// Checks of the table as a whole (row count, freshness, completeness rate).
    #[serde(default)]
    pub table_checks: Vec<TableCheckDoc>,
    /// Records the center has agreed rules do not apply to, until a date.
    #[serde(default)]
    pub exemptions: Vec<super::exemptions::ExemptionDoc>,
    /// The table's column for each role its templates read (role → column).
    #[serde(default)]
    pub roles: std::collections::BTreeMap<String, Spanned<String>>,
    /// The templates the table uses, each with its overrides.
    #[serde(default, rename = "use")]
    pub uses: Vec<UseDoc>,
}

/// A template a table uses, and what the table changes in it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UseDoc {
    pub template: Spanned<String>,
    #[serde(default)]
    pub severity: Option<Spanned<String>>,
    #[serde(default)]
    pub threshold: Option<Threshold>,
    /// A further precondition, for this table only (ANDed with the template's `when`).
    #[serde(default)]
    pub when: Option<Spanned<String>>,
}

/// A file of templates, shared through `include:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncludeDoc {
    pub templates: Vec<RuleDoc>,
}

/// The templates of an included file, with the file (their diagnostics point into it).
#[derive(Debug)]
pub struct Included {
    pub file: Arc<SourceFile>,
    pub templates: Vec<RuleDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDoc {
    /// File path, folder or glob, or a list of them; relative paths are resolved against the
    /// pack file's folder. A folder stands for every file under it (Hive-style partition
    /// folders such as `dt=2026-11-28/provider=310101/`).
    pub path: Spanned<Paths>,
    /// `parquet` or `csv`; defaults from the file extension.
    #[serde(default)]
    pub format: Option<Spanned<String>>,
    /// CSV only: `utf-8` (default), `gbk` or `gb18030`.
    #[serde(default)]
    pub encoding: Option<Spanned<String>>,
    /// CSV only: one ASCII character; default `,`.
    #[serde(default)]
    pub delimiter: Option<Spanned<String>>,
    /// CSV only: whether the first record names the columns; default true.
    #[serde(default)]
    pub header: Option<bool>,
    /// CSV only: one ASCII character; default `"`.
    #[serde(default)]
    pub quote: Option<Spanned<String>>,
    /// CSV only: field texts read as NULL; default `[""]`.
    #[serde(default)]
    pub null_values: Option<Vec<String>>,
}

/// A source's path or glob, or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Paths {
    One(String),
    Many(Vec<String>),
}

impl Paths {
    pub fn list(&self) -> &[String] {
        match self {
            Paths::One(p) => std::slice::from_ref(p),
            Paths::Many(ps) => ps,
        }
    }
}

/// A column's date formats: one chrono format, or several tried in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Formats {
    One(String),
    Many(Vec<String>),
}

impl Formats {
    pub fn list(&self) -> &[String] {
        match self {
            Formats::One(f) => std::slice::from_ref(f),
            Formats::Many(fs) => fs,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDoc {
    pub name: Spanned<String>,
    #[serde(rename = "type")]
    pub data_type: Spanned<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// CSV only, for date and timestamp columns: a chrono format such as `%Y%m%d`, or a list
    /// of them tried in order.
    #[serde(default)]
    pub format: Option<Spanned<Formats>>,
    /// Personal data, masked in reports and feedback: `id_number` or `name`.
    #[serde(default)]
    pub pii: Option<Spanned<String>>,
    /// Text columns: placeholder values (无, 不详, `/`, 0000-00-00) that count as missing.
    #[serde(default)]
    pub null_like: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDoc {
    pub id: Spanned<String>,
    /// Chinese name, shown in summaries, reports and feedback.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub dimension: Spanned<String>,
    #[serde(default)]
    pub severity: Option<Spanned<String>>,
    /// Precondition (SQL boolean over the row): the rule applies only where it is true.
    #[serde(default)]
    pub when: Option<Spanned<String>>,
    #[serde(default)]
    pub threshold: Option<Threshold>,
    pub check: Spanned<CheckDoc>,
    /// SQL text over a failing row that says what is wrong with it, shown after the reason
    /// in exports and feedback (e.g. the district a point actually lies in).
    #[serde(default)]
    pub explain: Option<Spanned<String>>,
    /// The reason a failing row gets, with `{SQL}` placeholders (replaces the kind's reason).
    #[serde(default)]
    pub message: Option<Spanned<String>>,
    /// The date column a record is dated by: `valid_from` / `valid_to` and dated code lists
    /// are judged on it.
    #[serde(default)]
    pub record_date: Option<Spanned<String>>,
    /// The first record date the rule applies to, `YYYY-MM-DD`.
    #[serde(default)]
    pub valid_from: Option<Spanned<String>>,
    /// The last record date the rule applies to, `YYYY-MM-DD`.
    #[serde(default)]
    pub valid_to: Option<Spanned<String>>,
    /// A warning band: rows that pass the rule (its error band) but fail this check are
    /// warnings, reported as rule `<id>.warn`.
    #[serde(default)]
    pub warning: Option<Spanned<BandDoc>>,
    /// Templates only: the roles (column names each table maps to its own) the rule reads.
    #[serde(default)]
    pub roles: Option<Spanned<Vec<String>>>,
}

/// A rule's warning band: a second check over the rows that pass the rule itself.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandDoc {
    /// Chinese name (default: the rule's name followed by （预警）).
    #[serde(default)]
    pub name: Option<String>,
    pub check: Spanned<CheckDoc>,
    #[serde(default)]
    pub threshold: Option<Threshold>,
    /// The reason a row in the band gets, with `{SQL}` placeholders.
    #[serde(default)]
    pub message: Option<Spanned<String>>,
}

/// A check of a table as a whole: it has a verdict but no anomalous rows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableCheckDoc {
    pub id: Spanned<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub dimension: Spanned<String>,
    #[serde(default)]
    pub severity: Option<Spanned<String>>,
    pub check: Spanned<TableCheckKind>,
}

/// A parsed rule pack, with the template files it includes.
#[derive(Debug)]
pub struct Pack {
    pub file: Arc<SourceFile>,
    pub doc: PackDoc,
    pub included: Vec<Included>,
}

impl Pack {
    /// The span of a spanned YAML value in this pack.
    pub fn span<T>(&self, v: &Spanned<T>) -> Span {
        Span::of(&self.file, v)
    }

    /// SHA-256 of the pack file's bytes and those of the files it includes, in hex.
    pub fn sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(self.file.text.as_bytes());
        for i in &self.included {
            hash.update(i.file.text.as_bytes());
        }
        crate::values::hex(&hash.finalize())
    }

    /// The templates the pack's tables can use: its own, then those of the files it
    /// includes, each with the file it is written in.
    pub fn templates(&self) -> impl Iterator<Item = (&Arc<SourceFile>, &RuleDoc)> {
        self.doc.templates.iter().map(|r| (&self.file, r)).chain(
            self.included
                .iter()
                .flat_map(|i| i.templates.iter().map(move |r| (&i.file, r))),
        )
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
    let doc = parse_yaml::<PackDoc>(&file)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut included = Vec::new();
    for inc in &doc.include {
        let at = dir.join(&inc.value);
        let text = std::fs::read_to_string(&at).map_err(|e| {
            Box::new(
                Diagnostic::error(
                    Code::InvalidPack,
                    format!("cannot read included file {}: {e}", at.display()),
                )
                .at(Span::of(&file, inc)),
            )
        })?;
        let inc_file = Arc::new(SourceFile { path: at, text });
        let inc_doc = parse_yaml::<IncludeDoc>(&inc_file)?;
        included.push(Included {
            file: inc_file,
            templates: inc_doc.templates,
        });
    }
    Ok(Pack {
        file,
        doc,
        included,
    })
}

/// Parse `file` as YAML of shape `T`, a problem located in it.
fn parse_yaml<T: serde::de::DeserializeOwned>(
    file: &Arc<SourceFile>,
) -> Result<T, Box<Diagnostic>> {
    serde_saphyr::from_str::<T>(&file.text).map_err(|e| {
        let mut d = Diagnostic::error(Code::InvalidPack, clean_yaml_message(&e));
        match e.location() {
            Some(loc) if loc.line() > 0 => {
                let (line, column) = position(loc.line(), loc.column());
                d = d.at(Span::at_token(file, line, column));
            }
            _ => d = d.in_file(&file.path),
        }
        Box::new(d)
    })
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
        assert_eq!(d.code, Code::InvalidPack);
        assert!(d.message.contains("colour"), "{}", d.message);
        assert_eq!(d.span.as_ref().map(|s| s.line), Some(4));
    }
}
