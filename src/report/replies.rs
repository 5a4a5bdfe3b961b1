//! Providers' replies to their feedback files (`qc feedback import`): the xlsx's 处理结果 and
//! 说明 columns, read back with calamine and checked line by line against the run history.
//! A reply is untrusted input: a workbook that is not one of qc's feedback files, holds a
//! formula, is too big, answers one problem twice, or has a line that is not its provider's
//! problem in that run (or whose rule or record key cells were edited) is refused with every
//! reason, file and row named, and nothing of it is recorded.

use std::collections::BTreeSet;
use std::path::Path;

use calamine::{Data, Reader, Xlsx, open_workbook};

use super::feedback::{header, reply_columns, unnamed};
use crate::results::problems::{KEY_SEPARATOR, place_file};
use crate::results::store::Store;
use crate::text::Lang;

/// The largest reply workbook read (qc's own files of a million lines stay well below).
pub const MAX_BYTES: u64 = 64 << 20;

/// One answered line: the problem, the answer (`fixed`, `correct`, `cannot_fix`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub problem: i64,
    pub answer: &'static str,
    pub note: String,
}

/// A feedback file's replies, the file, and the run it was written for.
#[derive(Debug, Clone)]
pub struct Replies {
    pub file: String,
    pub run: String,
    pub replies: Vec<Reply>,
}

/// The replies in `path`, or every reason it is refused (each naming the file and row).
pub fn read(path: &Path, store: &Store) -> Result<Replies, Vec<String>> {
    let at = |row: Option<usize>, what: String| match row {
        Some(r) => format!("{} row {r}: {what}", path.display()),
        None => format!("{}: {what}", path.display()),
    };
    let size = std::fs::metadata(path)
        .map_err(|e| vec![at(None, e.to_string())])?
        .len();
    if size > MAX_BYTES {
        return Err(vec![at(
            None,
            format!("{size} bytes; a reply workbook may hold at most {MAX_BYTES}"),
        )]);
    }
    let mut book: Xlsx<_> =
        open_workbook(path).map_err(|e| vec![at(None, format!("not an xlsx workbook: {e}"))])?;
    let names = book.sheet_names();
    let lang = if names.iter().any(|n| n == "问题明细") {
        Lang::Zh
    } else if names.iter().any(|n| n == "problems") {
        Lang::En
    } else {
        return Err(vec![at(
            None,
            "no sheet 问题明细 (or problems): not a qc feedback file".into(),
        )]);
    };
    let (summary_name, detail_name) = match lang {
        Lang::Zh => ("汇总", "问题明细"),
        Lang::En => ("summary", "problems"),
    };
    for name in &names {
        let formulas = book
            .worksheet_formula(name)
            .map_err(|e| vec![at(None, format!("sheet {name}: {e}"))])?;
        if let Some((r, c, f)) = formulas.cells().find(|(_, _, f)| !f.is_empty()) {
            let (row, _) = formulas.start().unwrap_or((0, 0));
            return Err(vec![at(
                Some(row as usize + r + 1),
                format!(
                    "sheet {name}, column {}, holds the formula `{f}`: replies must be values",
                    c + 1
                ),
            )]);
        }
    }
    let summary = book
        .worksheet_range(summary_name)
        .map_err(|e| vec![at(None, format!("no sheet {summary_name}: {e}"))])?;
    let fact = |row: u32| {
        summary
            .get_value((row, 1))
            .map(Data::to_string)
            .unwrap_or_default()
    };
    let (provider, run) = (fact(0), fact(1));
    let detail = book
        .worksheet_range(detail_name)
        .map_err(|e| vec![at(None, format!("sheet {detail_name}: {e}"))])?;
    let mut rows = detail.rows();
    let (reply_head, answers) = reply_columns(lang);
    let expected: Vec<&str> = header(lang).iter().chain(&reply_head).copied().collect();
    let head: Vec<String> = rows
        .next()
        .map(|r| r.iter().map(Data::to_string).collect())
        .unwrap_or_default();
    if head != expected {
        return Err(vec![at(
            Some(1),
            format!("the header was changed; expected: {}", expected.join(", ")),
        )]);
    }
    // The file's run, by its number in the history (`None`: not in it).
    let at_run = store.run_seq(&run).map_err(|e| vec![e.to_string()])?;
    let codes = ["fixed", "correct", "cannot_fix"];
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    let mut replies = Vec::new();
    for (i, row) in rows.enumerate() {
        let line = Some(i + 2);
        let cell = |c: usize| row.get(c).map(Data::to_string).unwrap_or_default();
        let (answer, note) = (cell(11), cell(12));
        if answer.trim().is_empty() {
            continue;
        }
        let Some(code) = answers
            .iter()
            .position(|a| *a == answer.trim())
            .map(|k| codes[k])
        else {
            errors.push(at(
                line,
                format!(
                    "{} `{answer}` is none of: {}",
                    reply_head[0],
                    answers.join(", ")
                ),
            ));
            continue;
        };
        let Ok(id) = cell(8).trim().parse::<i64>() else {
            errors.push(at(
                line,
                format!("problem id `{}` is not a number", cell(8)),
            ));
            continue;
        };
        if !seen.insert(id) {
            errors.push(at(line, format!("problem {id} is answered twice")));
            continue;
        }
        let problem = match store.problem(id, at_run) {
            Ok(Some(p)) => p,
            Ok(None) => {
                errors.push(at(line, format!("no problem {id} in the run history")));
                continue;
            }
            Err(e) => return Err(vec![e.to_string()]),
        };
        let owner = problem.provider.as_deref().unwrap_or(unnamed(lang));
        if owner != provider {
            errors.push(at(
                line,
                format!("problem {id} is {owner}'s, not {provider}'s"),
            ));
            continue;
        }
        let wrong_run = match problem.failed_in_run {
            Some(true) => None,
            Some(false) => Some(format!(
                "problem {id} did not fail in run {run}, which this file is for"
            )),
            None => Some(format!(
                "run {run}, which this file is for, is not in the run history"
            )),
        };
        if let Some(why) = wrong_run {
            errors.push(at(line, why));
            continue;
        }
        if cell(4) != problem.rule {
            errors.push(at(
                line,
                format!(
                    "the rule cell says {}, problem {id} is of rule {}",
                    cell(4),
                    problem.rule
                ),
            ));
            continue;
        }
        let shown = cell(2);
        if place_file(&problem.key).is_none() && !same_key(&problem.key, &shown) {
            errors.push(at(
                line,
                format!("the record key cell `{shown}` was edited (problem {id})"),
            ));
            continue;
        }
        replies.push(Reply {
            problem: id,
            answer: code,
            note,
        });
    }
    if errors.is_empty() {
        Ok(Replies {
            file: path.display().to_string(),
            run,
            replies,
        })
    } else {
        Err(errors)
    }
}

/// Whether a key cell shows `key`: its values joined by ` / `, characters a mask hid as `*`.
fn same_key(key: &str, shown: &str) -> bool {
    let plain = key.replace(KEY_SEPARATOR, " / ");
    plain.chars().count() == shown.chars().count()
        && plain
            .chars()
            .zip(shown.chars())
            .all(|(a, b)| a == b || b == '*')
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_masked_key_matches_its_record_and_an_edited_one_does_not() {
        assert!(super::same_key("310101199001011234", "310101********1234"));
        assert!(super::same_key("a\u{1f}7", "a / 7"));
        assert!(!super::same_key("310101199001011234", "310101********1235"));
        assert!(!super::same_key("张三", "张三丰"));
    }
}
