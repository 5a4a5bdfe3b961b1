//! A table's source as bound: the files to read, their format and, for CSV, how to read
//! them; and the damaged files a run left out.

use std::path::PathBuf;

/// Where a table is read from, resolved: the files a path or glob names, and their format.
#[derive(Debug, Clone)]
pub struct BoundSource {
    /// The path or glob as written (or as given by `--data`).
    pub pattern: String,
    pub files: Vec<PathBuf>,
    pub format: SourceFormat,
    /// Damaged files left out of the audit under `--keep-going`.
    pub left_out: Vec<LeftOutFile>,
}

/// A damaged file left out of a run, and what was wrong with it (naming the file).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeftOutFile {
    pub file: PathBuf,
    pub reason: String,
}

/// How a table's files are read.
#[derive(Debug, Clone)]
pub enum SourceFormat {
    Parquet,
    Csv(CsvOptions),
}

/// A `--data TABLE=PATH[;KEY=VALUE…]` override: a path or glob to read instead of the
/// pack's `source`, and source options that replace the pack's: `format` (csv, parquet),
/// `encoding` (utf-8, gbk, gb18030), `delimiter` (one ASCII character, `\t` for a tab) and
/// `header` (true, false).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataOverride {
    pub path: PathBuf,
    pub format: Option<String>,
    pub encoding: Option<&'static encoding_rs::Encoding>,
    pub delimiter: Option<u8>,
    pub header: Option<bool>,
}

impl DataOverride {
    /// An override of the path alone.
    pub fn path(path: impl Into<PathBuf>) -> DataOverride {
        DataOverride {
            path: path.into(),
            ..DataOverride::default()
        }
    }

    /// `TABLE=PATH[;KEY=VALUE…]` → (`TABLE`, the override); `Err` says what is wrong.
    pub fn parse(s: &str) -> Result<(String, DataOverride), String> {
        let Some((table, rest)) = s.split_once('=') else {
            return Err(format!("expected TABLE=PATH[;KEY=VALUE…], got `{s}`"));
        };
        let mut parts = rest.split(';');
        let path = parts.next().unwrap_or("").trim();
        if table.trim().is_empty() || path.is_empty() {
            return Err(format!("expected TABLE=PATH[;KEY=VALUE…], got `{s}`"));
        }
        let mut o = DataOverride::path(path);
        for option in parts.filter(|p| !p.trim().is_empty()) {
            let (key, value) = option
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| format!("`{option}`: expected KEY=VALUE"))?;
            match key {
                "format" => match value.to_ascii_lowercase().as_str() {
                    f @ ("csv" | "parquet") => o.format = Some(f.to_string()),
                    _ => return Err(format!("format `{value}`: the formats are csv, parquet")),
                },
                "encoding" => {
                    o.encoding = Some(encoding_named(value).ok_or_else(|| {
                        format!("encoding `{value}`: the encodings are utf-8, gbk, gb18030")
                    })?);
                }
                "delimiter" => {
                    o.delimiter = Some(one_ascii_byte(value).ok_or_else(|| {
                        format!("delimiter `{value}`: one ASCII character (\\t for a tab)")
                    })?);
                }
                "header" => {
                    o.header = Some(match value {
                        "true" => true,
                        "false" => false,
                        _ => return Err(format!("header `{value}`: true or false")),
                    });
                }
                _ => {
                    return Err(format!(
                        "unknown option `{key}`; the options are format, encoding, delimiter, header"
                    ));
                }
            }
        }
        Ok((table.trim().to_string(), o))
    }
}

/// The encoding a source names: `utf-8` (`utf8`), `gbk`, `gb18030`, any case, `_` for `-`.
pub fn encoding_named(name: &str) -> Option<&'static encoding_rs::Encoding> {
    match name.to_ascii_lowercase().replace('_', "-").as_str() {
        "utf-8" | "utf8" => Some(encoding_rs::UTF_8),
        "gbk" => Some(encoding_rs::GBK),
        "gb18030" => Some(encoding_rs::GB18030),
        _ => None,
    }
}

/// A delimiter or quote as written: one ASCII character other than a line break, `\t` for
/// a tab.
pub fn one_ascii_byte(text: &str) -> Option<u8> {
    let text = if text == "\\t" { "\t" } else { text };
    match text.as_bytes() {
        [b] if b.is_ascii() && *b != b'\n' && *b != b'\r' => Some(*b),
        _ => None,
    }
}

/// How a CSV source is read (the pack's `source:` options, validated).
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// The bytes' encoding: UTF-8, GBK or GB18030.
    pub encoding: &'static encoding_rs::Encoding,
    pub delimiter: u8,
    pub quote: u8,
    /// Whether the first record names the columns.
    pub header: bool,
    /// Field texts read as NULL.
    pub null_values: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_overrides_with_options() {
        let (table, o) =
            DataOverride::parse("address=landing/*.csv;encoding=GBK;delimiter=\\t;header=false")
                .unwrap();
        assert_eq!(table, "address");
        assert_eq!(o.path, PathBuf::from("landing/*.csv"));
        assert_eq!(o.encoding, Some(encoding_rs::GBK));
        assert_eq!(o.delimiter, Some(b'\t'));
        assert_eq!(o.header, Some(false));
        assert_eq!(
            DataOverride::parse("t=x.parquet").unwrap().1,
            DataOverride::path("x.parquet")
        );
        for (bad, says) in [
            ("x.csv", "expected TABLE=PATH"),
            (
                "t=x.csv;encoding=big5",
                "the encodings are utf-8, gbk, gb18030",
            ),
            ("t=x.csv;delimiter=||", "one ASCII character"),
            ("t=x.csv;header=yes", "true or false"),
            ("t=x.csv;quote='", "unknown option `quote`"),
            ("t=x.csv;format=xlsx", "the formats are csv, parquet"),
        ] {
            let err = DataOverride::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
