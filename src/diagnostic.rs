//! Rule-pack diagnostics: a stable code, a message, the spot in the pack (file:line:column)
//! and, where qc can compute one, a hint such as "did you mean `reg_date`?".
//!
//! Rendered rustc-style by `annotate-snippets`: the source line with a `^^^` pointer.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Stable kebab-case code, e.g. `unknown-column`.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub span: Option<Span>,
    /// Without a span: the file the problem is in.
    pub file: Option<PathBuf>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span: None,
            file: None,
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
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
        let title = level.primary_title(self.message.as_str()).id(self.code);
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
            None => groups.push(Group::with_title(title)),
        }
        if let Some(help) = &self.help {
            groups.push(Group::with_title(
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
        let d = Diagnostic::error("unknown-column", "unknown column `reg_idd`")
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
