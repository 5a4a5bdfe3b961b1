//! A progress bar per table (rows/s, ETA), drawn on stderr only when it is a terminal, the
//! format is text and `--quiet` is off. Redrawn at most 5 times a second from counters the
//! executor publishes; the executor knows nothing of terminals.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::execute::{TableProgress, Workload};

pub struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Whether bars should be drawn at all.
pub fn enabled(quiet: bool, json: bool) -> bool {
    !quiet && !json && std::io::stderr().is_terminal()
}

/// Start a bar for one table; `None` when bars are off.
pub fn start(
    label: String,
    workload: Workload,
    progress: &Arc<TableProgress>,
    on: bool,
) -> Option<Ticker> {
    if !on {
        return None;
    }
    let (len, template) = match workload {
        Workload::Rows(n) => (
            n,
            "{prefix} [{bar:30}] {human_pos}/{human_len} rows · {per_sec} · ETA {eta}{msg}",
        ),
        Workload::Bytes(n) => (
            n,
            "{prefix} [{bar:30}] {bytes}/{total_bytes} · {bytes_per_sec} · ETA {eta}{msg}",
        ),
    };
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr_with_hz(5));
    if let Ok(style) = ProgressStyle::with_template(template) {
        let style = style.progress_chars("=> ").with_key(
            "rows_per_sec",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a display rate
                let rate = state.per_sec() as u64;
                let _ = write!(w, "{} rows/s", crate::text::thousands(rate));
            },
        );
        bar.set_style(style);
    }
    bar.set_prefix(label);
    let stop = Arc::new(AtomicBool::new(false));
    let (stop2, progress) = (Arc::clone(&stop), Arc::clone(progress));
    let thread = std::thread::spawn(move || {
        loop {
            let pos = match workload {
                Workload::Rows(_) => progress.rows.load(Ordering::Relaxed),
                Workload::Bytes(_) => progress.bytes.load(Ordering::Relaxed),
            };
            bar.set_position(pos);
            let reused = progress.files_reused.load(Ordering::Relaxed);
            if reused > 0 {
                // An incremental run: how many files it reuses and reads.
                bar.set_message(format!(
                    " · {} files reused, {} read",
                    crate::text::thousands(reused),
                    crate::text::thousands(progress.files_read.load(Ordering::Relaxed))
                ));
            }
            if stop2.load(Ordering::Relaxed) {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        bar.finish_and_clear();
    });
    Some(Ticker {
        stop,
        thread: Some(thread),
    })
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
