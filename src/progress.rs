//! The progress bar of `wirewatch once`: feeds polled out of all, then a spinner while new
//! entries are judged. Drawn on standard error only when it is a terminal; a pipe, a file or
//! the journal get nothing (indicatif hides itself there, and we do not even create it).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use crate::pipeline::CycleEvent;

/// A progress display, or nothing when standard error is not a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar over `feeds` feeds when standard error is a terminal; otherwise a no-op.
    pub fn for_stderr(feeds: usize) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::new(feeds as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} polling {bar:30} {pos}/{len} feeds  {msg}")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress { bar: Some(bar) }
    }

    /// Whether anything is drawn.
    pub fn is_visible(&self) -> bool {
        self.bar.is_some()
    }

    /// Advances the display for one cycle event.
    pub fn event(&self, e: CycleEvent<'_>) {
        let Some(bar) = &self.bar else { return };
        match e {
            CycleEvent::FeedDone(r) => {
                bar.inc(1);
                bar.set_message(r.name.clone());
            }
            CycleEvent::Processing { pending } => {
                if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
                    bar.set_style(style);
                }
                bar.set_message(format!("judging {pending} new entries"));
            }
        }
    }

    /// Removes the display (before the summary is printed).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
