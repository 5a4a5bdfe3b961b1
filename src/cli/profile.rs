//! `qc profile --data PATH_OR_GLOB` (or `--rules PACK`): profile tables in one pass; write
//! `profile.json` and `profile.html`, print a compact table; optionally draft a rule pack
//! (`--suggest`) and compare with an earlier profile (`--compare`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use super::output;
use super::summary::{fit, pad, pad_left};
use crate::error::{Error, ExitStatus, Result};
use crate::execute::session;
use crate::profile::{self, Input, Options, Profile, compare, page, suggest};
use crate::results::OutputDir;
use crate::results::store::{Store, location};
use crate::rules::source::{CsvOptions, encoding_named, one_ascii_byte};
use crate::text::{Lang, thousands};

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["data", "rules"]))]
pub struct ProfileArgs {
    /// The table's file, folder glob or files glob (`landing/death/*.csv`).
    #[arg(long, value_name = "PATH_OR_GLOB")]
    pub data: Option<String>,
    /// Or profile the tables of rule packs (as their sources and columns declare them).
    #[arg(long, value_name = "PACK", num_args = 1..)]
    pub rules: Vec<PathBuf>,
    /// With --rules: only this table (`table` or `library.table`).
    #[arg(long, value_name = "TABLE")]
    pub table: Option<String>,
    /// `csv` or `parquet` [default: told from the file's extension].
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// CSV: `utf-8`, `gbk` or `gb18030`.
    #[arg(long, default_value = "utf-8")]
    pub encoding: String,
    /// CSV: the field delimiter (one ASCII character, `\t` for a tab).
    #[arg(long, default_value = ",")]
    pub delimiter: String,
    /// Output folder [default: out/profile/<table>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write a draft rule pack for the table to this file (one table only).
    #[arg(long, value_name = "PACK.yaml")]
    pub suggest: Option<PathBuf>,
    /// Compare with an earlier profile of the same table: a profile.json, or `last` for the
    /// table's last profile in the run history. Lists columns added, removed, retyped, and
    /// distributions that moved.
    #[arg(long, value_name = "PROFILE.json|last")]
    pub compare: Option<String>,
    /// With --data: the table's name [default: the file's stem, or the folder's for a glob].
    /// Deliveries profiled under one name are compared by `--compare last`.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Run history where profiles are kept [default: $QC_STORE, else out/qc.db].
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Show ID numbers and names unmasked.
    #[arg(long)]
    pub no_mask: bool,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Memory for the exact key check, e.g. `512MiB` [default: 1/4 of the engine's default
    /// memory limit]; a column that does not fit gets no duplicate count.
    #[arg(long, value_name = "SIZE", value_parser = super::run::parse_size)]
    pub key_memory: Option<u64>,
    /// Language of the terminal table and the page.
    #[arg(long, value_enum, default_value_t = Lang::Zh)]
    pub lang: Lang,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn profile(args: &ProfileArgs) -> Result<ExitStatus> {
    let threads = super::threads(args.threads);
    let rt = super::runtime(threads)?;
    let ctx = session::session(threads);
    let mut inputs = inputs(args, &ctx, &rt)?;
    if let (Some(name), Some(input)) = (&args.name, inputs.first_mut()) {
        input.table.table.clone_from(name);
    }
    if args.suggest.is_some() && inputs.len() != 1 {
        return Err(Error::Usage(format!(
            "--suggest drafts a pack for one table; these packs have {} (choose one with --table)",
            inputs.len()
        )));
    }
    let options = Options {
        threads,
        mask: !args.no_mask,
        key_memory: args
            .key_memory
            .unwrap_or(session::default_memory_limit() / 4),
    };
    let mut store = Store::open(&location(args.store.as_deref()))?;
    for input in &inputs {
        let p = rt.block_on(profile::profile(
            &ctx,
            input,
            &options,
            &std::sync::Arc::default(),
        ))?;
        let previous = match args.compare.as_deref() {
            None => None,
            Some("last") => {
                let Some(text) = store.last_profile(&p.table)? else {
                    return Err(Error::Usage(format!(
                        "--compare last: {} holds no earlier profile of `{}` (name deliveries alike with --name)",
                        store.path().display(),
                        p.table
                    )));
                };
                Some(profile::from_json(&text, store.path())?)
            }
            Some(path) => Some(profile::read_json(Path::new(path))?),
        };
        let drift = previous.as_ref().map(|prev| compare::compare(prev, &p));
        let dir = match &args.out {
            Some(d) if inputs.len() > 1 => d.join(&p.table),
            Some(d) => d.clone(),
            None => PathBuf::from("out/profile").join(&p.table),
        };
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let out = OutputDir::existing(&dir);
        let json = profile::to_json(&p)?;
        out.write_atomic("profile.json", json.as_bytes())?;
        store.save_profile(&p.table, &p.profiled_at, &json)?;
        out.write_atomic(
            "profile.html",
            page::render(&p, drift.as_deref(), args.lang)?.as_bytes(),
        )?;
        if let Some(d) = &drift {
            let text =
                serde_json::to_string_pretty(d).map_err(|e| Error::Internal(e.to_string()))?;
            out.write_atomic("drift.json", text.as_bytes())?;
        }
        if let Some(path) = &args.suggest {
            write_suggestion(path, &p, input)?;
        }
        if !args.quiet {
            output::stdout(&terminal(&p, drift.as_deref(), args.lang));
            output::stdout(&format!(
                "{}\n",
                written(&dir, args.suggest.as_deref(), args.lang)
            ));
        }
    }
    Ok(ExitStatus::Passed)
}

/// The tables to profile: the one `--data` names, or the packs' (all, or `--table`).
fn inputs(
    args: &ProfileArgs,
    ctx: &datafusion::prelude::SessionContext,
    rt: &tokio::runtime::Runtime,
) -> Result<Vec<Input>> {
    if let Some(data) = &args.data {
        let encoding = encoding_named(&args.encoding).ok_or_else(|| {
            Error::Usage(format!(
                "--encoding {}: the encodings are utf-8, gbk, gb18030",
                args.encoding
            ))
        })?;
        let delimiter = if args.delimiter == "\\t" {
            Some(b'\t')
        } else {
            one_ascii_byte(&args.delimiter)
        };
        let delimiter = delimiter.ok_or_else(|| {
            Error::Usage(format!(
                "--delimiter {}: one ASCII character",
                args.delimiter
            ))
        })?;
        let csv = CsvOptions {
            encoding,
            delimiter,
            quote: b'"',
            header: true,
            null_values: vec![String::new()],
        };
        return Ok(vec![Input::from_path(
            ctx,
            rt,
            data,
            args.format.as_deref(),
            csv,
        )?]);
    }
    let (packs, diagnostics) = rt.block_on(crate::bind::load(
        &args.rules,
        ctx,
        &crate::bind::SourceOptions::default(),
    ))?;
    let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
    if !errors.is_empty() {
        let text: String = errors.iter().map(|d| d.render() + "\n\n").collect();
        output::stderr(&text);
        return Err(Error::Usage(format!(
            "{} error(s) in the packs; `qc check` says more",
            errors.len()
        )));
    }
    let inputs: Vec<Input> = packs
        .iter()
        .flat_map(|p| &p.tables)
        .filter(|t| args.table.as_ref().is_none_or(|n| t.is_named(n)))
        .map(|t| Input {
            table: t.table_ref(),
            source: t.source.clone(),
            columns: t.columns.clone(),
            schema: t.schema.clone(),
        })
        .collect();
    if inputs.is_empty() {
        return Err(Error::Usage(match &args.table {
            Some(n) => format!("--table {n}: no such table in the packs"),
            None => "the packs have no table".into(),
        }));
    }
    Ok(inputs)
}

fn write_suggestion(path: &Path, p: &Profile, input: &Input) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::Usage(format!("--suggest {}: not a file name", path.display())))?;
    let text = suggest::pack(p, &input.source, &dir);
    OutputDir::existing(&dir).write_atomic(name, text.as_bytes())?;
    Ok(())
}

fn written(dir: &Path, suggested: Option<&Path>, lang: Lang) -> String {
    let mut s = match lang {
        Lang::Zh => format!("已写入 {}/profile.json、profile.html", dir.display()),
        Lang::En => format!("wrote {}/profile.json and profile.html", dir.display()),
    };
    if let Some(p) = suggested {
        let _ = match lang {
            Lang::Zh => write!(s, "；规则包草稿 {}", p.display()),
            Lang::En => write!(s, "; draft pack {}", p.display()),
        };
    }
    s
}

/// The compact terminal table: one line per column.
pub fn terminal(p: &Profile, drift: Option<&[compare::Finding]>, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · {} {} · {} {}",
        p.table,
        thousands(p.rows),
        if zh { "行" } else { "rows" },
        p.source.files.len(),
        if zh { "个文件" } else { "file(s)" },
    );
    if p.malformed.total > 0 {
        let _ = writeln!(
            out,
            "{} {}",
            if zh {
                "格式错误的记录："
            } else {
                "malformed records:"
            },
            thousands(p.malformed.total)
        );
    }
    let header: [&str; 7] = if zh {
        [
            "列",
            "推断类型",
            "空值",
            "空白/占位",
            "不同值",
            "主要类别",
            "最常见值",
        ]
    } else {
        [
            "column",
            "inferred",
            "nulls",
            "blank/placeh.",
            "distinct",
            "main class",
            "top value",
        ]
    };
    let rows: Vec<[String; 7]> = p
        .columns
        .iter()
        .map(|c| {
            let class = c
                .classes
                .iter()
                .fold(
                    None,
                    |best: Option<&crate::profile::ClassShare>, s| match best {
                        Some(b) if b.share >= s.share => Some(b),
                        _ => Some(s),
                    },
                )
                .filter(|s| s.share >= 0.5)
                .map(|s| {
                    let label = if zh {
                        s.class.label().0
                    } else {
                        s.class.label().1
                    };
                    format!("{label} {:.1}%", s.share * 100.0)
                })
                .unwrap_or_default();
            let top = c
                .top
                .first()
                .map(|t| format!("{} ×{}", t.value, thousands(t.count)))
                .unwrap_or_default();
            [
                c.name.clone(),
                c.inferred_type.clone(),
                thousands(c.nulls),
                thousands(c.blanks + c.placeholders),
                format!(
                    "{}{}",
                    if c.distinct_exact { "" } else { "≈" },
                    thousands(c.distinct)
                ),
                class,
                top,
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..7)
        .map(|i| {
            rows.iter()
                .map(|r| unicode_width::UnicodeWidthStr::width(r[i].as_str()))
                .chain([unicode_width::UnicodeWidthStr::width(header[i])])
                .max()
                .unwrap_or(0)
                .min(if i >= 5 { 28 } else { 24 })
        })
        .collect();
    let line = |cells: [&str; 7]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let cell = fit(cell, widths[i]);
            s.push_str(&if (2..=4).contains(&i) {
                pad_left(&cell, widths[i])
            } else {
                pad(&cell, widths[i])
            });
            s.push_str("  ");
        }
        s.trim_end().to_string() + "\n"
    };
    out.push_str(&line(header));
    for r in &rows {
        out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6]]));
    }
    if !p.candidate_keys.is_empty() {
        let keys: Vec<String> = p.candidate_keys.iter().map(|k| k.join("+")).collect();
        let _ = writeln!(
            out,
            "{} {}",
            if zh {
                "候选键："
            } else {
                "candidate keys:"
            },
            keys.join(", ")
        );
    }
    if let Some(findings) = drift {
        let _ = writeln!(
            out,
            "{} {}",
            if zh {
                "与上次画像相比的变化："
            } else {
                "changes since the previous profile:"
            },
            findings.len()
        );
        for f in findings {
            let _ = writeln!(out, "  · {}", if zh { &f.zh } else { &f.en });
        }
    }
    out
}
