//! The one printer: every byte qc writes to the terminal goes through here. Results go to
//! stdout, diagnostics and progress to stderr; a closed pipe (e.g. `qc run … | head`) is not
//! an error.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write as _;

/// `--format`: human text (localized) or the JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

pub fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

pub fn stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

/// An error line: `qc: <message>` then its causes, one per line.
pub fn error(e: &(dyn std::error::Error + 'static)) {
    use std::fmt::Write as _;
    let mut text = format!("qc: {e}\n");
    let mut source = e.source();
    while let Some(s) = source {
        let _ = writeln!(text, "  cause: {s}");
        source = s.source();
    }
    stderr(&text);
}
