//! The stall detector: the daemon (and `once`, and `store forget`) exits when its embedded
//! store stops taking writes.
//!
//! sled 0.34 can deadlock under heavy writes that free space at the end of its file. Freeing
//! a segment there queues a file truncation on sled's I/O thread pool; the writer that next
//! needs a segment waits for that truncation while holding the lock that every busy I/O
//! thread is waiting for, and the pool grows only when more than seven tasks queue up. Seen
//! here in the retention bench (`benches/retention.rs`, bulk loads between forgetting runs):
//! the main thread in sled's `bump_tip` waiting on the truncation, seven `sled-io` threads in
//! `sa_stabilize`, no CPU and no I/O, for good. Nothing in the process can undo it: every
//! later write waits for ever, while the scheduler, untouched, would go on pinging the
//! systemd watchdog.
//!
//! So a thread writes a small value every [`PROBE_EVERY`]. When one write has not returned
//! after [`STALL_LIMIT`], the process says why in its log and exits with a failure status:
//! systemd (`Restart=on-failure`) starts it again, sled recovers from its log, and what was
//! not yet durable is done again, as after a kill (entries stay pending until judged, alerts
//! stay in the outbox until delivered). A write that fails (a full disk) is not a stall: it
//! returns, and the stage that writes says so. A shared store (PostgreSQL) is not watched:
//! there a long wait is a database outage, which the workers wait out.

use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::Duration;

use tracing::error;

use crate::store::Store;

/// How often the store is asked to take a write.
pub const PROBE_EVERY: Duration = Duration::from_secs(30);

/// How long a write may take before the store counts as stalled: far beyond what a slow
/// disk costs one small write (sled does not sync on writes), short enough that a stalled
/// daemon is back within minutes.
pub const STALL_LIMIT: Duration = Duration::from_secs(300);

/// The exit status of a daemon that stopped for a stalled store (`EX_SOFTWARE`).
pub const EXIT_STALLED: i32 = 70;

/// The value the probe writes: when it last wrote.
const PROBE_KEY: &str = "daemon:store_probe";

/// Watches the embedded store of a daemon or a bulk command (see the module doc): exits the
/// process when a probe write stalls, saying `then` (what happens next, or what to do). Does
/// nothing for a shared store.
pub fn watch_store(store: &Store, then: &'static str) {
    if store.is_shared() {
        return;
    }
    let store = store.clone();
    watch(
        move || {
            // Its failure is a full disk or the like, which the stages report.
            let _ = store.put_meta(
                PROBE_KEY,
                &serde_json::Value::String(chrono::Utc::now().to_rfc3339()),
            );
        },
        PROBE_EVERY,
        STALL_LIMIT,
        move || {
            error!(
                limit_s = STALL_LIMIT.as_secs(),
                "the store has not taken a write for {} s (sled deadlocked); exiting: {then}",
                STALL_LIMIT.as_secs()
            );
            std::process::exit(EXIT_STALLED)
        },
    );
}

/// Runs `probe` every `every` on a thread of its own, and `on_stall` once, on the watching
/// thread, when one run has not returned after `limit`; the watch ends there.
pub fn watch<P, S>(probe: P, every: Duration, limit: Duration, on_stall: S)
where
    P: Fn() + Send + Sync + 'static,
    S: FnOnce() + Send + 'static,
{
    let probe = std::sync::Arc::new(probe);
    let spawned = std::thread::Builder::new()
        .name("store-watch".into())
        .spawn(move || loop {
            std::thread::sleep(every);
            let (done, finished) = channel();
            let run = probe.clone();
            let started = std::thread::Builder::new()
                .name("store-probe".into())
                .spawn(move || {
                    run();
                    let _ = done.send(());
                });
            if started.is_err() {
                // No thread to probe with (a process at its limit): try again next time.
                continue;
            }
            match finished.recv_timeout(limit) {
                Err(RecvTimeoutError::Timeout) => {
                    on_stall();
                    return;
                }
                Ok(()) | Err(RecvTimeoutError::Disconnected) => {}
            }
        });
    if let Err(e) = spawned {
        error!(error = %e, "could not start the store's stall detector");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_probe_that_returns_is_no_stall_and_one_that_hangs_is() {
        let (runs, stalled) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let (r, s) = (runs.clone(), stalled.clone());
        watch(
            move || {
                r.fetch_add(1, Ordering::SeqCst);
            },
            Duration::from_millis(10),
            Duration::from_millis(200),
            move || s.store(true, Ordering::SeqCst),
        );
        std::thread::sleep(Duration::from_millis(500));
        assert!(runs.load(Ordering::SeqCst) >= 5);
        assert!(!stalled.load(Ordering::SeqCst));

        // The third write never returns (a lock nobody releases).
        let gate = Arc::new(std::sync::Mutex::new(()));
        let held = gate.lock().expect("lock");
        let (runs, stalled) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let (r, s, g) = (runs.clone(), stalled.clone(), gate.clone());
        watch(
            move || {
                if r.fetch_add(1, Ordering::SeqCst) == 2 {
                    let _wait = g.lock();
                }
            },
            Duration::from_millis(10),
            Duration::from_millis(200),
            move || s.store(true, Ordering::SeqCst),
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !stalled.load(Ordering::SeqCst) {
            assert!(
                std::time::Instant::now() < deadline,
                "the stall went unseen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // The watch ended with the stall: no probe after the stalled one.
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        drop(held);
    }
}
