//! What a command prints on stdout, written so that a reader that stops early is not an error.
//!
//! `println!` panics when stdout cannot be written: `wirewatch alerts | head -1` ended in a
//! panic (exit 101, a backtrace with `RUST_BACKTRACE` set) as soon as `head` had its line.
//! Here a reader that has gone away (a broken pipe) silently ends the output: the command
//! finishes its work (exiting on the spot would skip the store's last flush) and exits as it
//! would have (one that would only fetch more to print, `extract`, stops: [`closed`]). Any
//! other write error (a full disk under `> file`) is reported once on stderr
//! and makes the command exit 1 ([`failed`]).
//!
//! Why by hand: the usual alternative, restoring `SIGPIPE`'s default action so the process
//! dies as C tools do, would also kill the daemon on a write to a closed socket.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU8, Ordering};

const OPEN: u8 = 0;
const CLOSED: u8 = 1;
const FAILED: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(OPEN);

/// Writes formatted output to stdout (see the module doc). Use [`out!`] and [`outln!`].
pub(crate) fn write(args: fmt::Arguments<'_>) {
    if STATE.load(Ordering::Relaxed) != OPEN {
        return;
    }
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        note(&e);
    }
}

/// Records a failed write: a closed reader ends the output quietly, anything else is said.
fn note(e: &io::Error) {
    if e.kind() == io::ErrorKind::BrokenPipe {
        STATE.store(CLOSED, Ordering::Relaxed);
    } else if STATE.swap(FAILED, Ordering::Relaxed) != FAILED {
        let _ = writeln!(io::stderr(), "error: cannot write the output: {e}");
    }
}

/// Whether the reader has gone: a command with more to fetch and print may stop early.
pub(crate) fn closed() -> bool {
    STATE.load(Ordering::Relaxed) == CLOSED
}

/// Whether some output could not be written for another reason than a closed reader.
pub(crate) fn failed() -> bool {
    STATE.load(Ordering::Relaxed) == FAILED
}

/// `print!` that a closed reader does not turn into a panic (see the module doc).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::write(format_args!($($arg)*))
    };
}

/// `println!` that a closed reader does not turn into a panic (see the module doc).
macro_rules! outln {
    () => {
        $crate::cli::output::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_reader_is_quiet_and_a_full_disk_is_a_failure() {
        STATE.store(OPEN, Ordering::Relaxed);
        note(&io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(!failed(), "a reader that stopped reading is not a failure");
        assert_eq!(STATE.load(Ordering::Relaxed), CLOSED);
        STATE.store(OPEN, Ordering::Relaxed);
        note(&io::Error::from(io::ErrorKind::StorageFull));
        assert!(failed());
        STATE.store(OPEN, Ordering::Relaxed);
    }
}
