//! One big CSV file on every core: the file is cut into byte ranges that begin where a record
//! begins, each range read by its own partition, with exact line numbers.
//!
//! Where records begin is found by one pass of the same CSV state machine the readers use
//! (csv-core, same dialect) over the file's **raw bytes**, without decoding: the pass only
//! publishes a cut once the machine has ended a record at or after the cut's target offset,
//! so a quoted field holding line breaks is never cut. The raw bytes give the same record
//! ends as the decoded text the readers parse, because the bytes that steer the machine —
//! the quote, the delimiter, CR and LF — are ASCII, and in every encoding qc reads an ASCII
//! byte stands for itself and nothing else: in UTF-8 every byte of a multi-byte character is
//! ≥ 0x80; in GBK a trail byte is 0x40–0xFE (0x7F excluded), so it may be a letter or `@`
//! but never `"` (0x22), `,` (0x2C), TAB, CR or LF, nor any delimiter qc accepts that lies
//! below 0x40; in GB18030's four-byte form the second and fourth bytes are the digits
//! 0x30–0x39. A malformed sequence that swallows an ASCII byte is not possible either: the
//! WHATWG decoders give an ASCII byte that cannot continue a sequence back to the stream.
//! So the decoded text holds the same steering characters in the same order as the bytes, and
//! the machine, fed either, ends records at the same places. A delimiter that is a letter or
//! `@`…`~` (GBK trail range) is not split on: such a file is read whole, as before.
//!
//! Cuts fall after a record's line break, past any blank lines, so every range starts in the
//! machine's start state; a range's first line number is one plus the line breaks before
//! its first byte, counted as the readers count them.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use csv_core::{ReadRecordResult, ReaderBuilder, Terminator};

use crate::error::{Error, Result};
use crate::rules::source::CsvOptions;

/// Files smaller than this are read whole: a cut costs a pass over the file.
pub const MIN_SPLIT_BYTES: u64 = 16 << 20;

/// Where a range starts: its byte offset and the line number of that byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    pub offset: u64,
    pub line: u64,
}

/// The cuts of one file into `parts` ranges, found by a pass that runs on its own thread and
/// publishes each cut as soon as it is known. Range `k` is `[cut k, cut k+1)`; the last ends
/// at the end of the file.
#[derive(Debug)]
pub struct Splitter {
    path: PathBuf,
    opts: CsvOptions,
    /// What every range after the first decodes with (the first sniffs the BOM itself).
    pub encoding: &'static encoding_rs::Encoding,
    size: u64,
    parts: usize,
    state: Mutex<Found>,
    ready: Condvar,
}

#[derive(Debug, Default)]
struct Found {
    started: bool,
    cuts: Vec<Option<Cut>>,
    error: Option<String>,
}

impl Splitter {
    /// A splitter for `path` into `parts` ranges, or `None` when the file is read whole: too
    /// small, a single part, or a delimiter or quote a GBK trail byte could equal.
    pub fn new(path: &Path, opts: &CsvOptions, parts: usize) -> Option<Arc<Splitter>> {
        Self::at_least(path, opts, parts, MIN_SPLIT_BYTES)
    }

    /// [`Splitter::new`] for files of at least `min_bytes`.
    pub fn at_least(
        path: &Path,
        opts: &CsvOptions,
        parts: usize,
        min_bytes: u64,
    ) -> Option<Arc<Splitter>> {
        let size = std::fs::metadata(path).ok()?.len();
        let steering_safe = |b: u8| b < 0x40 || b == 0x7F;
        if parts < 2
            || size < min_bytes
            || !steering_safe(opts.delimiter)
            || !steering_safe(opts.quote)
        {
            return None;
        }
        // A byte-order mark decides the encoding for the whole file, as the first range's
        // decoder sniffs it; UTF-16 (NUL bytes between ASCII ones) is not cut.
        let mut head = [0u8; 3];
        let n = File::open(path).and_then(|mut f| f.read(&mut head)).ok()?;
        let encoding = match encoding_rs::Encoding::for_bom(&head[..n]) {
            Some((e, _)) if e == encoding_rs::UTF_8 => e,
            Some(_) => return None,
            None => opts.encoding,
        };
        let mut cuts = vec![None; parts + 1];
        cuts[0] = Some(Cut { offset: 0, line: 1 });
        cuts[parts] = Some(Cut {
            offset: size,
            line: 0, // the end of the last range starts nothing
        });
        Some(Arc::new(Splitter {
            path: path.to_path_buf(),
            opts: opts.clone(),
            encoding,
            size,
            parts,
            state: Mutex::new(Found {
                started: false,
                cuts,
                error: None,
            }),
            ready: Condvar::new(),
        }))
    }

    pub fn parts(&self) -> usize {
        self.parts
    }

    /// Range `k`: its start cut and its end offset, once the pass has found them (the first
    /// caller starts the pass). `Err` when the pass failed.
    pub fn range(self: &Arc<Self>, k: usize) -> Result<(Cut, u64)> {
        let mut found = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !found.started {
            found.started = true;
            let me = Arc::clone(self);
            std::thread::Builder::new()
                .name("qc-csv-cuts".into())
                .spawn(move || me.find_cuts())
                .map_err(|e| Error::Internal(format!("starting the CSV cut finder: {e}")))?;
        }
        loop {
            if let Some(e) = &found.error {
                return Err(Error::data(&self.path, e.clone()));
            }
            if let (Some(start), Some(end)) = (found.cuts[k], found.cuts[k + 1]) {
                return Ok((start, end.offset));
            }
            found = self
                .ready
                .wait(found)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The pass: run the record machine over the raw bytes, publishing cut `k` at the first
    /// record boundary at or after `k · size / parts`.
    fn find_cuts(&self) {
        let result = self.scan(|k, cut| {
            let mut found = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            found.cuts[k] = Some(cut);
            self.ready.notify_all();
        });
        let mut found = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = result {
            found.error = Some(e);
        }
        // Cuts the pass did not reach (a quoted field running to the end) start empty ranges
        // at the end of the file.
        for k in 1..self.parts {
            if found.cuts[k].is_none() {
                found.cuts[k] = Some(Cut {
                    offset: self.size,
                    line: 0,
                });
            }
        }
        self.ready.notify_all();
    }

    fn scan(&self, mut publish: impl FnMut(usize, Cut)) -> Result<(), String> {
        let mut file =
            File::open(&self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
        let mut csv = record_machine(&self.opts).map_err(|e| e.to_string())?;
        // `size · k / parts` without overflow (k < parts, so it fits a u64).
        let target = |k: usize| {
            let t = u128::from(self.size) * k as u128 / self.parts as u128;
            u64::try_from(t).unwrap_or(self.size)
        };
        let mut next = 1; // the cut being looked for
        let mut buf = vec![0u8; 1 << 20];
        let mut out = vec![0u8; 1 << 16];
        let mut ends = vec![0usize; 1 << 10];
        let mut base = 0u64; // file offset of buf[0]
        let mut lines = 1u64; // line number at buf[0]
        let mut after_cr = false; // the bytes before buf[0] ended with CR
        // A record ended at or after the target: the cut is the first byte after it that is
        // no line break (it may lie in a later buffer).
        let mut pending = false;
        // The machine is at a record's start (in its start state).
        let mut at_start = true;
        while next < self.parts {
            let n = loop {
                match file.read(&mut buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(format!("{}: {e}", self.path.display())),
                }
            };
            if n == 0 {
                return Ok(());
            }
            let bytes = &buf[..n];
            // The file's UTF-8 byte-order mark is no data (the first range's decoder drops
            // it): a quote right after it opens a quoted field.
            let mut at = if base == 0 && bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
                3
            } else {
                0
            };
            while at <= n && next < self.parts {
                if pending {
                    match bytes[at..].iter().position(|b| *b != b'\n' && *b != b'\r') {
                        Some(skip) => {
                            let offset = at + skip;
                            let cut = Cut {
                                offset: base + offset as u64,
                                line: lines + line_breaks(after_cr, &bytes[..offset]),
                            };
                            // One record may reach past several targets.
                            while next < self.parts && cut.offset >= target(next) {
                                publish(next, cut);
                                next += 1;
                            }
                            pending = false;
                            at = offset;
                        }
                        None => break, // the line breaks go on into the next buffer
                    }
                    if next >= self.parts {
                        break;
                    }
                }
                if at == n {
                    break;
                }
                if at_start {
                    // At a record's start, up to the next quote every line break ends a
                    // record (or a blank line): the machine need not read those bytes. The
                    // cut is after the first line break past the target, or the machine
                    // resumes after the last line break before the quote.
                    let rest = &bytes[at..];
                    let clear =
                        &rest[..memchr::memchr(self.opts.quote, rest).unwrap_or(rest.len())];
                    let from = usize::try_from(target(next).saturating_sub(base + at as u64 + 1))
                        .unwrap_or(usize::MAX)
                        .min(clear.len());
                    let end = memchr::memchr2(b'\n', b'\r', &clear[from..])
                        .map(|e| from + e)
                        .or_else(|| memchr::memrchr2(b'\n', b'\r', clear));
                    if let Some(e) = end {
                        at += e + 1;
                        pending = base + at as u64 >= target(next);
                        restart(&mut csv).map_err(|e| e.to_string())?;
                        continue;
                    }
                }
                let (res, nin, _, _) = csv.read_record(&bytes[at..], &mut out, &mut ends);
                at += nin;
                at_start = matches!(res, ReadRecordResult::Record);
                match res {
                    ReadRecordResult::Record => {
                        pending = base + at as u64 >= target(next);
                    }
                    // Field text and field ends are not kept: only where records end.
                    ReadRecordResult::InputEmpty
                    | ReadRecordResult::OutputFull
                    | ReadRecordResult::OutputEndsFull => {}
                    ReadRecordResult::End => return Ok(()),
                }
            }
            lines += line_breaks(after_cr, bytes);
            after_cr = bytes.last() == Some(&b'\r');
            base += n as u64;
        }
        Ok(())
    }
}

/// The record machine of qc's CSV dialect (csv-core), at a record's start.
pub(super) fn record_machine(opts: &CsvOptions) -> Result<csv_core::Reader> {
    let mut csv = ReaderBuilder::new()
        .delimiter(opts.delimiter)
        .quote(opts.quote)
        .double_quote(true)
        .terminator(Terminator::CRLF)
        .build();
    restart(&mut csv)?;
    Ok(csv)
}

/// Put `csv` back at a record's start, taking the next bytes it is given as data: csv-core
/// drops a byte-order mark at the start of what it is first given, so a blank line is read
/// first (skipped as any blank line is).
fn restart(csv: &mut csv_core::Reader) -> Result<()> {
    csv.reset();
    let (res, nin, _, _) = csv.read_record(b"\n", &mut [0; 1], &mut [0; 1]);
    if !matches!(res, ReadRecordResult::InputEmpty) || nin != 1 {
        return Err(Error::Internal(format!(
            "priming the CSV parser: {res:?} after {nin} bytes"
        )));
    }
    Ok(())
}

/// Line breaks in `s` (LF, CR or CRLF, mixed freely); `after_cr`: the text before `s` ended
/// with CR, so a LF opening `s` completes that break.
pub(super) fn line_breaks(after_cr: bool, s: &[u8]) -> u64 {
    let lf = memchr_count(b'\n', s);
    let joined = u64::from(after_cr && s.first() == Some(&b'\n'));
    if memchr::memchr(b'\r', s).is_none() {
        return lf - joined;
    }
    let crlf = memchr::memmem::find_iter(s, b"\r\n").count() as u64;
    lf + memchr_count(b'\r', s) - crlf - joined
}

/// How often `needle` occurs in `hay`.
pub(super) fn memchr_count(needle: u8, hay: &[u8]) -> u64 {
    memchr::memchr_iter(needle, hay).count() as u64
}
