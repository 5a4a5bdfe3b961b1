//! A table's source as bound: the files to read, their format and, for CSV, how to read
//! them; and the damaged files a run left out.

use std::path::{Path, PathBuf};

/// Where a table is read from, resolved: the files a path or glob names, and their format.
#[derive(Debug, Clone)]
pub struct BoundSource {
    /// The path or glob as written (or as given by `--data`).
    pub pattern: String,
    pub files: Vec<PathBuf>,
    pub format: SourceFormat,
    /// Damaged files left out of the audit under `--keep-going`.
    pub left_out: Vec<LeftOutFile>,
    /// Hive-style partition keys: folders named `key=value` above every file, in path order.
    /// Each is a column of the table, its value per file read from the file's path.
    pub partitions: Vec<String>,
}

/// The value of a Hive partition folder that stands for NULL.
pub const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";

/// The Hive-style partition folders above a file, in order: `dt=2026-11-28/provider=310101/
/// part-0.parquet` → `[(dt, 2026-11-28), (provider, 310101)]`.
pub fn hive_values(path: &Path) -> Vec<(String, String)> {
    let Some(parent) = path.parent() else {
        return Vec::new();
    };
    parent
        .components()
        .filter_map(|c| {
            let text = c.as_os_str().to_str()?;
            let (key, value) = text.split_once('=')?;
            (!key.is_empty()).then(|| (key.to_string(), value.to_string()))
        })
        .collect()
}

/// The keys that every one of `files` has a partition folder for, in the first file's order.
pub fn common_partitions(files: &[PathBuf]) -> Vec<String> {
    let Some(first) = files.first() else {
        return Vec::new();
    };
    let mut keys: Vec<String> = Vec::new();
    for (k, _) in hive_values(first) {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.retain(|k| {
        files[1..]
            .iter()
            .all(|f| hive_values(f).iter().any(|(key, _)| key == k))
    });
    keys
}

impl BoundSource {
    /// `file`'s value for partition `key` as written (the innermost folder naming the key),
    /// `None` for Hive's NULL.
    pub fn partition_value(&self, file: &Path, key: &str) -> Option<String> {
        hive_values(file)
            .into_iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .filter(|v| v != HIVE_NULL)
    }
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
    fn partition_folders_are_read_from_paths() {
        let files = [
            PathBuf::from("landing/dt=2026-11-28/provider=310101/part-0.parquet"),
            PathBuf::from("landing/dt=2026-11-29/provider=__HIVE_DEFAULT_PARTITION__/x.parquet"),
            PathBuf::from("landing/dt=2026-11-29/batch=2/provider=310104/y.parquet"),
        ];
        assert_eq!(
            hive_values(&files[0]),
            vec![
                ("dt".to_string(), "2026-11-28".to_string()),
                ("provider".to_string(), "310101".to_string())
            ]
        );
        // `batch` is not above every file: not a partition of the table.
        assert_eq!(common_partitions(&files), vec!["dt", "provider"]);
        let source = BoundSource {
            pattern: "landing".into(),
            files: files.to_vec(),
            format: SourceFormat::Parquet,
            left_out: Vec::new(),
            partitions: common_partitions(&files),
        };
        assert_eq!(source.partition_value(&files[1], "provider"), None);
        assert_eq!(
            source.partition_value(&files[2], "provider").as_deref(),
            Some("310104")
        );
        assert!(hive_values(Path::new("plain.parquet")).is_empty());
    }

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
