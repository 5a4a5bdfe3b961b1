//! A table's `source:` → [`BoundSource`]: the path or glob (or its `--data` override)
//! resolved to files, the format told from the extension when not written, the CSV options
//! validated, damaged files left out or reported.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::parse::{Pack, TableDoc};
use crate::diagnostic::{Code, Diagnostic};
use crate::rules::Spanned;
use crate::rules::source::{
    BoundSource, CsvOptions, DataOverride, LeftOutFile, SourceFormat, encoding_named,
    one_ascii_byte,
};

pub(super) fn bind_source(
    pack: &Pack,
    t: &TableDoc,
    data: Option<&DataOverride>,
    diags: &mut Vec<Diagnostic>,
) -> Option<BoundSource> {
    let src = &t.source;
    let at = pack.span(&src.path);
    let override_path = data.map(|d| &d.path);
    let patterns: Vec<String> = match override_path {
        Some(p) => vec![p.to_string_lossy().into_owned()],
        None => src
            .path
            .value
            .list()
            .iter()
            .map(|p| resolve(pack.dir(), p))
            .collect(),
    };
    let pattern = patterns.join(", ");
    let expanded: Result<Vec<PathBuf>, String> =
        patterns.iter().try_fold(Vec::new(), |mut all, p| {
            for f in expand(p, false)? {
                if !all.contains(&f) {
                    all.push(f);
                }
            }
            Ok(all)
        });
    let files = match expanded {
        Ok(files) if !files.is_empty() => files,
        Ok(_) => {
            let what = if override_path.is_some() {
                "--data path"
            } else {
                "source"
            };
            diags.push(
                Diagnostic::error(
                    Code::SourceNotFound,
                    format!("{what} `{pattern}` matches no file"),
                )
                .at(at),
            );
            return None;
        }
        Err(message) => {
            diags.push(Diagnostic::error(Code::SourceNotFound, message).at(at));
            return None;
        }
    };
    let format_name = if let Some(f) = data.and_then(|d| d.format.clone()) {
        f
    } else if let Some(f) = &src.format {
        f.value.to_ascii_lowercase()
    } else {
        let ext = files[0]
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if ext == "parquet" || ext == "csv" {
            ext
        } else {
            diags.push(
                Diagnostic::error(
                    Code::MissingFormat,
                    format!("cannot tell the format of `{pattern}` from its extension"),
                )
                .at(at)
                .help("add `format: csv` or `format: parquet` to the source"),
            );
            return None;
        }
    };
    let csv_only: [(&str, bool); 5] = [
        ("encoding", src.encoding.is_some()),
        ("delimiter", src.delimiter.is_some()),
        ("quote", src.quote.is_some()),
        ("header", src.header.is_some()),
        ("null_values", src.null_values.is_some()),
    ];
    let format = match format_name.as_str() {
        "parquet" => {
            if let Some((opt, _)) = csv_only.iter().find(|(_, set)| *set) {
                diags.push(
                    Diagnostic::error(
                        Code::InvalidOption,
                        format!("`{opt}` applies to CSV sources only"),
                    )
                    .at(at.clone()),
                );
            }
            SourceFormat::Parquet
        }
        "csv" => {
            let mut opts = bind_csv_options(pack, t, diags)?;
            // `--data` options replace the pack's.
            if let Some(d) = data {
                opts.encoding = d.encoding.unwrap_or(opts.encoding);
                opts.delimiter = d.delimiter.unwrap_or(opts.delimiter);
                opts.header = d.header.unwrap_or(opts.header);
            }
            SourceFormat::Csv(opts)
        }
        other => {
            let f = src.format.as_ref()?;
            diags.push(
                Diagnostic::error(
                    Code::UnknownFormat,
                    format!("unknown source format `{other}`"),
                )
                .at(pack.span(f))
                .help("the formats are: csv, parquet"),
            );
            return None;
        }
    };
    Some(BoundSource {
        pattern,
        partitions: crate::rules::source::common_partitions(&files),
        files,
        format,
        left_out: Vec::new(),
    })
}

fn bind_csv_options(pack: &Pack, t: &TableDoc, diags: &mut Vec<Diagnostic>) -> Option<CsvOptions> {
    let src = &t.source;
    let mut ok = true;
    let encoding = match &src.encoding {
        None => encoding_rs::UTF_8,
        Some(e) => encoding_named(&e.value).unwrap_or_else(|| {
            diags.push(
                Diagnostic::error(
                    Code::UnknownEncoding,
                    format!("unknown encoding `{}`", e.value),
                )
                .at(pack.span(e))
                .help("the encodings are: utf-8, gbk, gb18030"),
            );
            ok = false;
            encoding_rs::UTF_8
        }),
    };
    let mut one_byte = |v: &Option<Spanned<String>>, what: &str, default: u8| -> u8 {
        let Some(s) = v else { return default };
        one_ascii_byte(&s.value).unwrap_or_else(|| {
            diags.push(
                Diagnostic::error(
                    Code::InvalidOption,
                    format!("{what} must be one ASCII character"),
                )
                .at(pack.span(s)),
            );
            ok = false;
            default
        })
    };
    let delimiter = one_byte(&src.delimiter, "delimiter", b',');
    let quote = one_byte(&src.quote, "quote", b'"');
    if delimiter == quote {
        diags.push(
            Diagnostic::error(Code::InvalidOption, "delimiter and quote must differ")
                .at(pack.span(&src.path)),
        );
        ok = false;
    }
    ok.then(|| CsvOptions {
        encoding,
        delimiter,
        quote,
        header: src.header.unwrap_or(true),
        null_values: src
            .null_values
            .clone()
            .unwrap_or_else(|| vec![String::new()]),
    })
}

/// Take damaged files out of `source`: under `keep_going` each is recorded in
/// [`BoundSource::left_out`] with a warning, otherwise each is an error. Returns whether a
/// file is left to audit.
pub(super) fn leave_out_damaged(
    pack: &Pack,
    t: &TableDoc,
    source: &mut BoundSource,
    damaged: Vec<(PathBuf, String)>,
    keep_going: bool,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let at = pack.span(&t.source.path);
    for (file, reason) in damaged {
        source.files.retain(|f| *f != file);
        if keep_going {
            diags.push(
                Diagnostic::warning(
                    Code::SourceLeftOut,
                    format!("{reason}; the file is left out"),
                )
                .at(at.clone()),
            );
            source.left_out.push(LeftOutFile { file, reason });
        } else {
            diags.push(
                Diagnostic::error(Code::SourceUnreadable, reason)
                    .at(at.clone())
                    .help("`qc run --keep-going` audits the other files and marks the run partial"),
            );
        }
    }
    if source.files.is_empty() {
        if keep_going {
            diags.push(
                Diagnostic::error(
                    Code::SourceUnreadable,
                    format!("no readable file is left of `{}`", source.pattern),
                )
                .at(at),
            );
        }
        return false;
    }
    true
}

/// The tables of an entry written once for many (`name: "…{file}…"`): one per file its
/// source glob matches, named by the file's stem, and one per folder it matches, named by the
/// folder and reading every file inside it (`dt=…/part-0.parquet` deliveries). Names are in
/// lower case; the second element is the path (or glob) each reads.
pub(super) fn each_file(pack: &Pack, t: &TableDoc) -> Result<Vec<(String, PathBuf)>, String> {
    let mut found = Vec::new();
    for p in t.source.path.value.list() {
        let pattern = resolve(pack.dir(), p);
        let matched = expand(&pattern, true)?;
        if matched.is_empty() {
            return Err(format!("source `{pattern}` matches no file or folder"));
        }
        found.extend(matched);
    }
    Ok(found
        .into_iter()
        .map(|f| {
            let named = if f.ends_with("*") {
                f.parent().and_then(Path::file_name)
            } else {
                f.file_stem()
            };
            // `dt=2026-11-28` names table `dt_2026_11_28`.
            let stem = named
                .map(|s| {
                    s.to_string_lossy()
                        .to_lowercase()
                        .replace(['-', '=', '.', ' '], "_")
                })
                .unwrap_or_default();
            (t.name.value.replace(EACH_FILE, &stem), f)
        })
        .collect())
}

/// Every file under `dir`, recursively, but those whose name starts with `.` or `_`.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(['.', '_']) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// What a table's name holds to stand for one table per file (or folder) of its source.
pub const EACH_FILE: &str = "{file}";

/// A source path resolved against the pack's folder (absolute paths stay as they are).
fn resolve(dir: &Path, path: &str) -> String {
    let p = Path::new(path);
    if p.is_absolute() {
        path.to_string()
    } else {
        dir.join(p).to_string_lossy().into_owned()
    }
}

/// The files a path or glob names, sorted. A folder named by a path stands, with `folders`,
/// for its files (as `folder/*`), otherwise for every file under it (partition folders
/// included; names starting with `.` or `_`, such as `_SUCCESS`, passed over); folders a glob
/// matches are passed over.
pub(super) fn expand(pattern: &str, folders: bool) -> Result<Vec<PathBuf>, String> {
    let is_glob = pattern.contains(['*', '?', '[']);
    if !is_glob {
        let p = PathBuf::from(pattern);
        return match (p.exists(), p.is_dir(), folders) {
            (true, true, true) => Ok(vec![p.join("*")]),
            (true, true, false) => {
                let mut files = Vec::new();
                walk(&p, &mut files)?;
                files.sort();
                Ok(files)
            }
            (true, false, _) => Ok(vec![p]),
            (false, _, _) => Ok(Vec::new()),
        };
    }
    let paths = glob::glob(pattern).map_err(|e| format!("invalid glob `{pattern}`: {e}"))?;
    let mut files = BTreeSet::new();
    for entry in paths {
        match entry {
            // Anything but a folder: a file that cannot be opened (a dangling link, no
            // permission) is then reported by name, not silently passed over.
            Ok(p) if !p.is_dir() => {
                files.insert(p);
            }
            Ok(p) if folders => {
                files.insert(p.join("*"));
            }
            Ok(_) => {}
            Err(e) => return Err(format!("{}: {}", e.path().display(), e.error())),
        }
    }
    Ok(files.into_iter().collect())
}
