//! Rule-pack diagnostics: a stable code, a message, the spot in the pack (file:line:column)
//! and, where qc can compute one, a hint such as "did you mean `reg_date`?".
//!
//! Rendered rustc-style by `annotate-snippets`: the source line with a `^^^` pointer.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::ExitStatus;

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

/// A pack file's path and text, shared by every diagnostic that points into it.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// A place in a pack file.
#[derive(Debug, Clone)]
pub struct Span {
    pub file: Arc<SourceFile>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Length of the highlighted text, in characters (at least 1).
    pub len: usize,
}

impl Span {
    /// A span starting at `line:column` that covers the YAML token found there.
    pub fn at_token(file: &Arc<SourceFile>, line: usize, column: usize) -> Span {
        let len = file
            .text
            .lines()
            .nth(line.saturating_sub(1))
            .map_or(1, |l| token_len(l.chars().skip(column.saturating_sub(1))));
        Span {
            file: Arc::clone(file),
            line,
            column,
            len,
        }
    }

    /// The span of a YAML value parsed with its location (its token in `file`).
    pub fn of<T>(file: &Arc<SourceFile>, value: &serde_saphyr::Spanned<T>) -> Span {
        let loc = value.referenced;
        let (line, column) = position(loc.line(), loc.column());
        Span::at_token(file, line, column)
    }

    /// The same line, `chars` characters further right (for pointing inside a scalar).
    pub fn shifted(&self, chars: usize, len: usize) -> Span {
        Span {
            file: Arc::clone(&self.file),
            line: self.line,
            column: self.column + chars,
            len: len.max(1),
        }
    }

    fn byte_range(&self) -> std::ops::Range<usize> {
        let text = &self.file.text;
        let mut start = 0;
        for (i, l) in text.split_inclusive('\n').enumerate() {
            if i + 1 == self.line {
                let col_off: usize = l
                    .chars()
                    .take(self.column.saturating_sub(1))
                    .map(char::len_utf8)
                    .sum();
                let s = start + col_off;
                let rest = &text[s..];
                let len_bytes: usize = rest
                    .chars()
                    .take_while(|c| *c != '\n')
                    .take(self.len)
                    .map(char::len_utf8)
                    .sum();
                return s..s + len_bytes.max(usize::from(!rest.is_empty()));
            }
            start += l.len();
        }
        text.len()..text.len()
    }
}

/// Length in characters of the YAML token a line's remainder starts with.
fn token_len(mut rest: impl Iterator<Item = char>) -> usize {
    let Some(first) = rest.next() else { return 1 };
    if first == '"' || first == '\'' {
        let mut n = 1;
        let mut escaped = false;
        for c in rest {
            n += 1;
            if c == first && !escaped {
                return n;
            }
            escaped = first == '"' && c == '\\' && !escaped;
        }
        return n;
    }
    let mut text: String = std::iter::once(first).chain(rest).collect();
    if let Some(i) = text.find(" #") {
        text.truncate(i);
    }
    // A flow collection ends the token at `,` `}` `]`; a mapping key at `: `.
    if let Some(i) = text.find([',', '}', ']']) {
        text.truncate(i);
    }
    if let Some(i) = text.find(": ") {
        text.truncate(i);
    }
    text.trim_end().chars().count().max(1)
}

/// Whose problem a diagnostic is: it decides the exit status, the same under `qc check` and
/// `qc run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// The pack is wrong (exit status 2).
    Pack,
    /// The data's sources are missing or damaged (exit status 3).
    Source,
    /// qc itself is wrong (exit status 3).
    Internal,
}

/// Every diagnostic code qc reports. Each has a stable kebab-case name (shown in brackets and
/// in `qc check --format json`), a one-line meaning and a [`Group`]; each has a fixture and a
/// snapshot under `testdata/diagnostics/` (tests/diagnostics.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    InvalidPack,
    DuplicateLibrary,
    DuplicateTable,
    DuplicateRuleId,
    DuplicateColumn,
    InvalidName,
    MissingKey,
    MissingColumns,
    MissingFormat,
    UnknownFormat,
    UnknownEncoding,
    UnknownType,
    UnknownDimension,
    UnknownSeverity,
    UnknownColumn,
    UnknownTable,
    UnknownCodeList,
    InvalidCalendar,
    TypeMismatch,
    InvalidOption,
    InvalidThreshold,
    InvalidScoring,
    InvalidRegex,
    InvalidSql,
    ForbiddenSql,
    InvalidRule,
    QueryShape,
    RuleSkipped,
    RulePartial,
    SourceNotFound,
    SourceUnreadable,
    SourceMissingColumn,
    SourceLeftOut,
    EncodingMismatch,
    Internal,
}

impl Code {
    pub const ALL: [Code; 35] = [
        Code::InvalidPack,
        Code::DuplicateLibrary,
        Code::DuplicateTable,
        Code::DuplicateRuleId,
        Code::DuplicateColumn,
        Code::InvalidName,
        Code::MissingKey,
        Code::MissingColumns,
        Code::MissingFormat,
        Code::UnknownFormat,
        Code::UnknownEncoding,
        Code::UnknownType,
        Code::UnknownDimension,
        Code::UnknownSeverity,
        Code::UnknownColumn,
        Code::UnknownTable,
        Code::UnknownCodeList,
        Code::InvalidCalendar,
        Code::TypeMismatch,
        Code::InvalidOption,
        Code::InvalidThreshold,
        Code::InvalidScoring,
        Code::InvalidRegex,
        Code::InvalidSql,
        Code::ForbiddenSql,
        Code::InvalidRule,
        Code::QueryShape,
        Code::RuleSkipped,
        Code::RulePartial,
        Code::SourceNotFound,
        Code::SourceUnreadable,
        Code::SourceMissingColumn,
        Code::SourceLeftOut,
        Code::EncodingMismatch,
        Code::Internal,
    ];

    fn entry(self) -> (&'static str, Group, &'static str) {
        match self {
            Code::InvalidPack => (
                "invalid-pack",
                Group::Pack,
                "the file is not a valid pack: YAML syntax, an unknown or missing field, a value of the wrong shape",
            ),
            Code::DuplicateLibrary => (
                "duplicate-library",
                Group::Pack,
                "two packs of the run declare the same library id",
            ),
            Code::DuplicateTable => (
                "duplicate-table",
                Group::Pack,
                "a pack declares the same table twice",
            ),
            Code::DuplicateRuleId => (
                "duplicate-rule-id",
                Group::Pack,
                "a rule or table-check id is used twice in one pack",
            ),
            Code::DuplicateColumn => (
                "duplicate-column",
                Group::Pack,
                "a table declares the same column twice",
            ),
            Code::InvalidName => (
                "invalid-name",
                Group::Pack,
                "a library, table or column name is not usable (not an identifier, or reserved for qc)",
            ),
            Code::MissingKey => ("missing-key", Group::Pack, "a table declares no key column"),
            Code::MissingColumns => (
                "missing-columns",
                Group::Pack,
                "a CSV table does not declare its columns and their types",
            ),
            Code::MissingFormat => (
                "missing-format",
                Group::Pack,
                "a source's format cannot be told from its file extension",
            ),
            Code::UnknownFormat => (
                "unknown-format",
                Group::Pack,
                "a source's `format` is neither csv nor parquet",
            ),
            Code::UnknownEncoding => (
                "unknown-encoding",
                Group::Pack,
                "a CSV source's `encoding` is not utf-8, gbk or gb18030",
            ),
            Code::UnknownType => (
                "unknown-type",
                Group::Pack,
                "a column's `type` is not one of qc's column types",
            ),
            Code::UnknownDimension => (
                "unknown-dimension",
                Group::Pack,
                "a rule's `dimension` is not a quality dimension",
            ),
            Code::UnknownSeverity => (
                "unknown-severity",
                Group::Pack,
                "a rule's `severity` is neither error nor warn",
            ),
            Code::UnknownColumn => (
                "unknown-column",
                Group::Pack,
                "a rule, key or provider names a column the table does not have",
            ),
            Code::UnknownTable => (
                "unknown-table",
                Group::Pack,
                "a set-based rule names a table that is not in the run",
            ),
            Code::UnknownCodeList => (
                "unknown-code-list",
                Group::Pack,
                "an `allowed` rule names a code list that is not beside the pack",
            ),
            Code::InvalidCalendar => (
                "invalid-calendar",
                Group::Pack,
                "the working-day calendar beside a pack (`codelists/cn_workdays.csv`) is malformed, or two packs of one run bring different calendars",
            ),
            Code::TypeMismatch => (
                "type-mismatch",
                Group::Pack,
                "a column's type does not fit the check, the comparison, or the type declared for it",
            ),
            Code::InvalidOption => (
                "invalid-option",
                Group::Pack,
                "a check's or source's option has a value it cannot take",
            ),
            Code::InvalidThreshold => (
                "invalid-threshold",
                Group::Pack,
                "a rule's `threshold` is out of range (max_rate must be between 0 and 1)",
            ),
            Code::InvalidScoring => (
                "invalid-scoring",
                Group::Pack,
                "the pack's `scoring` model names an unknown dimension or a negative weight",
            ),
            Code::InvalidRegex => (
                "invalid-regex",
                Group::Pack,
                "a `pattern` rule's regular expression does not compile",
            ),
            Code::InvalidSql => (
                "invalid-sql",
                Group::Pack,
                "rule SQL does not parse, or does not plan against the table",
            ),
            Code::ForbiddenSql => (
                "forbidden-sql",
                Group::Pack,
                "rule SQL does something a rule may not: statements, subqueries, aggregates, other tables",
            ),
            Code::InvalidRule => (
                "invalid-rule",
                Group::Pack,
                "a set-based rule's plan cannot be built against the tables it reads",
            ),
            Code::QueryShape => (
                "query-shape",
                Group::Pack,
                "a `query` rule does not return the columns it is matched on",
            ),
            Code::RuleSkipped => (
                "rule-skipped",
                Group::Pack,
                "a rule reads a table whose pack is not in the run; it is left out (a warning)",
            ),
            Code::RulePartial => (
                "rule-partial",
                Group::Pack,
                "a rule runs without a part that reads a table whose pack is not in the run (a warning)",
            ),
            Code::SourceNotFound => (
                "source-not-found",
                Group::Source,
                "a source path or glob (or a `--data` path) matches no file",
            ),
            Code::SourceUnreadable => (
                "source-unreadable",
                Group::Source,
                "a source file cannot be read: damaged, unreadable, or not of its format",
            ),
            Code::SourceMissingColumn => (
                "source-missing-column",
                Group::Source,
                "a declared column is not in a source file (Parquet schema or CSV header)",
            ),
            Code::SourceLeftOut => (
                "source-left-out",
                Group::Source,
                "a damaged file is left out of the run under `--keep-going` (a warning)",
            ),
            Code::EncodingMismatch => (
                "encoding-mismatch",
                Group::Source,
                "a CSV file's bytes read as another encoding than the declared one (a warning)",
            ),
            Code::Internal => (
                "internal",
                Group::Internal,
                "an invariant of qc did not hold (a qc bug)",
            ),
        }
    }

    /// The stable name, e.g. `unknown-column`.
    pub fn name(self) -> &'static str {
        self.entry().0
    }

    pub fn group(self) -> Group {
        self.entry().1
    }

    /// What the code means, in one line.
    pub fn meaning(self) -> &'static str {
        self.entry().2
    }

    /// The code named `name`.
    pub fn parse(name: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The exit status for a pack load that found `errors`: 2 when any is the pack's fault, else 3
/// (every error is about the data's sources, or qc's own).
pub fn exit_status<'a>(errors: impl IntoIterator<Item = &'a Diagnostic>) -> ExitStatus {
    if errors.into_iter().any(|d| d.code.group() == Group::Pack) {
        ExitStatus::RuleError
    } else {
        ExitStatus::RuntimeError
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub span: Option<Span>,
    /// Without a span: the file the problem is in.
    pub file: Option<PathBuf>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span: None,
            file: None,
            help: None,
        }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn in_file(mut self, path: &Path) -> Self {
        self.file = Some(path.to_path_buf());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:column` of the spot, or the file alone.
    pub fn location(&self) -> Option<String> {
        match (&self.span, &self.file) {
            (Some(s), _) => Some(format!("{}:{}:{}", s.file.path.display(), s.line, s.column)),
            (None, Some(f)) => Some(f.display().to_string()),
            (None, None) => None,
        }
    }

    /// Plain-text rendering (no colour): header, `--> file:line:col`, source line, pointer, help.
    pub fn render(&self) -> String {
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let title = level
            .primary_title(self.message.as_str())
            .id(self.code.name());
        let path_text;
        let mut groups = Vec::new();
        match &self.span {
            Some(span) => {
                path_text = span.file.path.display().to_string();
                groups.push(
                    title.element(
                        Snippet::source(span.file.text.as_str())
                            .path(path_text.as_str())
                            .annotation(AnnotationKind::Primary.span(span.byte_range())),
                    ),
                );
            }
            None => groups.push(annotate_snippets::Group::with_title(title)),
        }
        if let Some(help) = &self.help {
            groups.push(annotate_snippets::Group::with_title(
                Level::HELP.secondary_title(help.as_str()),
            ));
        }
        let mut out = Renderer::plain().render(&groups).clone();
        if self.span.is_none()
            && let Some(f) = &self.file
        {
            let _ = write!(out, "\n  --> {}", f.display());
        }
        out
    }
}

/// A 1-based (line, column) from a parser's `u64` pair.
pub fn position(line: u64, column: u64) -> (usize, usize) {
    let at = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    (at(line), at(column))
}

/// The closest of `candidates` to `name`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            path: PathBuf::from("rules/x.yaml"),
            text: text.to_string(),
        })
    }

    #[test]
    fn token_length_covers_quoted_and_plain_scalars() {
        let f = file("a: reg_dat # note\nb: \"x y\", c\n");
        assert_eq!(Span::at_token(&f, 1, 4).len, 7);
        assert_eq!(Span::at_token(&f, 2, 4).len, 5);
    }

    #[test]
    fn render_points_at_the_span() {
        let f = file("tables:\n  - name: 婚姻登记\n    key: reg_idd\n");
        let d = Diagnostic::error(Code::UnknownColumn, "unknown column `reg_idd`")
            .at(Span::at_token(&f, 3, 10))
            .help("did you mean `reg_id`?");
        let text = d.render();
        assert!(text.contains("rules/x.yaml:3:10"), "{text}");
        assert!(text.contains("^^^^^^^"), "{text}");
        assert!(text.contains("did you mean `reg_id`?"), "{text}");
    }

    #[test]
    fn did_you_mean_picks_close_names_only() {
        let cols = ["reg_date", "birth_date", "provider"];
        assert_eq!(did_you_mean("reg_dat", cols), Some("reg_date"));
        assert_eq!(did_you_mean("zzz", cols), None);
    }
}
