//! Shutdown and reload signals, the way tokio's mini-redis keeps its `Shutdown` in a file of
//! its own: one token the whole daemon watches, cancelled by SIGTERM or SIGINT. Every task
//! runs under a child of it, so that a reload can stop one config's tasks without stopping
//! the daemon, and a shutdown stops them all. SIGHUP only asks for a reload.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

/// How long in-flight work may take to finish after a shutdown signal.
pub const GRACE: Duration = Duration::from_secs(10);

/// How long a sender (a webhook POST, a digest mail) in mid-send may take to finish after a
/// shutdown signal: longer than [`GRACE`], at least the default send timeouts (15 s for a
/// webhook, 30 s for SMTP), since a send cut off is recorded as not sent and goes out again
/// after the restart. The units' `TimeoutStopSec=45s` leaves room for it after
/// the polls' grace.
pub const SEND_GRACE: Duration = Duration::from_secs(30);

/// What the signals say.
#[derive(Clone)]
pub struct Signals {
    /// Cancelled on SIGTERM or SIGINT.
    pub shutdown: CancellationToken,
    /// Notified on SIGHUP.
    pub reload: Arc<Notify>,
}

impl Signals {
    /// Installs the handlers. Call first: a SIGTERM during start-up must stop cleanly, not
    /// kill the process.
    pub fn listen() -> Signals {
        let signals = Signals {
            shutdown: CancellationToken::new(),
            reload: Arc::new(Notify::new()),
        };
        let (token, reload) = (signals.shutdown.clone(), signals.reload.clone());
        tokio::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let (mut term, mut int, mut hup) = match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
                signal(SignalKind::hangup()),
            ) {
                (Ok(t), Ok(i), Ok(h)) => (t, i, h),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                    error!(error = %e, "cannot install signal handlers; stop with SIGKILL");
                    return;
                }
            };
            loop {
                tokio::select! {
                    _ = term.recv() => { info!("SIGTERM received; shutting down"); break; }
                    _ = int.recv() => { info!("SIGINT received; shutting down"); break; }
                    _ = hup.recv() => { info!("SIGHUP received; reloading the config"); reload.notify_one(); }
                }
            }
            token.cancel();
        });
        signals
    }
}

/// A task under a child of the shutdown token, stoppable on its own.
pub struct Task {
    name: &'static str,
    token: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

impl Task {
    /// Spawns `run` with a child token of `parent`; `run` must return once that token is
    /// cancelled.
    pub fn spawn<F>(
        name: &'static str,
        parent: &CancellationToken,
        run: impl FnOnce(CancellationToken) -> F,
    ) -> Task
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let token = parent.child_token();
        let handle = tokio::spawn(run(token.clone()));
        Task {
            name,
            token,
            handle,
        }
    }

    /// Wraps a task already running under `token`.
    pub fn from_parts(
        name: &'static str,
        token: CancellationToken,
        handle: tokio::task::JoinHandle<()>,
    ) -> Task {
        Task {
            name,
            token,
            handle,
        }
    }

    /// Cancels the task and waits for it, at most [`GRACE`] (work in flight, such as a
    /// delivery, finishes so that its outcome is recorded).
    pub async fn stop(self) {
        self.stop_within(GRACE).await;
    }

    /// [`Task::stop`] with another bound on the wait.
    pub async fn stop_within(self, grace: Duration) {
        self.token.cancel();
        if tokio::time::timeout(grace, self.handle).await.is_err() {
            tracing::warn!(task = self.name, "task did not stop in time; abandoning it");
        }
    }

    /// Cancels the task and waits for it to end however long that takes, saying so every
    /// [`GRACE`]: for what must not overlap what comes next (a reload builds the new judges
    /// from the store only once the running pass has stopped; abandoned, a pass caught in a
    /// long synchronous step would go on deciding beside them). A shutdown signal meanwhile
    /// bounds the wait to one more [`GRACE`], as [`Task::stop`] does. `alive` is called at
    /// every warning (the daemon's watchdog ping: the wait may outlast it).
    pub async fn stop_and_wait(
        self,
        shutdown: &CancellationToken,
        alive: &(dyn Fn() + Send + Sync),
    ) {
        self.token.cancel();
        let mut handle = self.handle;
        loop {
            tokio::select! {
                _ = &mut handle => return,
                _ = tokio::time::sleep(GRACE) => {
                    tracing::warn!(task = self.name, "task still stopping; waiting for it to end");
                    alive();
                }
                _ = shutdown.cancelled() => break,
            }
        }
        if tokio::time::timeout(GRACE, handle).await.is_err() {
            tracing::warn!(task = self.name, "task did not stop in time; abandoning it");
        }
    }
}

/// Calls `alive` every `every` from a task of its own until dropped: the daemon's watchdog
/// ping and heartbeat while the loop that usually sends them is busy with a long step (a
/// reload building the judges from a large store, a backfill judging days of kept texts),
/// synchronous parts included, since the task runs on another worker thread.
pub struct KeepAlive(tokio::task::JoinHandle<()>);

impl KeepAlive {
    /// Starts the pings (the first after `every`).
    pub fn start(alive: Arc<dyn Fn() + Send + Sync>, every: Duration) -> KeepAlive {
        KeepAlive(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tick.tick().await;
                alive();
            }
        }))
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How long a reload may keep the daemon alive in the watchdog's eyes: far beyond the
/// longest reload seen (building judges and a day's backfill on a large store), far short of
/// a daemon that stays stuck unnoticed.
pub const RELOAD_AT_MOST: Duration = Duration::from_secs(30 * 60);

/// `alive` for `at_most` from now, then nothing (said once): a step that hangs for good must
/// not keep the daemon alive in the watchdog's eyes ([`KeepAlive`], [`Task::stop_and_wait`]),
/// so that systemd kills and restarts it.
pub fn for_at_most(
    alive: Arc<dyn Fn() + Send + Sync>,
    at_most: Duration,
) -> Arc<dyn Fn() + Send + Sync> {
    let start = std::time::Instant::now();
    let said = std::sync::atomic::AtomicBool::new(false);
    Arc::new(move || {
        if start.elapsed() <= at_most {
            alive();
        } else if !said.swap(true, std::sync::atomic::Ordering::SeqCst) {
            tracing::error!(
                after_s = at_most.as_secs(),
                "a step is still running; no longer telling the watchdog the daemon is alive"
            );
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;

    /// The pings go on while the caller's thread is blocked in a synchronous step, and stop
    /// when the guard is dropped.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_keep_alive_pings_through_a_blocking_step() {
        let pings = Arc::new(AtomicUsize::new(0));
        let counter = pings.clone();
        let guard = KeepAlive::start(
            Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
            Duration::from_millis(50),
        );
        std::thread::sleep(Duration::from_millis(600));
        let during = pings.load(Ordering::SeqCst);
        assert!(during >= 3, "{during} pings in 600 ms of blocking");
        drop(guard);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let after = pings.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(pings.load(Ordering::SeqCst), after, "pinged after the drop");
    }

    /// A step that hangs for good is not kept alive for ever: the pings stop after the limit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_keep_alive_gives_up_after_its_limit() {
        let pings = Arc::new(AtomicUsize::new(0));
        let counter = pings.clone();
        let alive = for_at_most(
            Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
            Duration::from_millis(300),
        );
        let _guard = KeepAlive::start(alive, Duration::from_millis(50));
        std::thread::sleep(Duration::from_millis(250));
        let within = pings.load(Ordering::SeqCst);
        assert!(within >= 1, "{within} pings within the limit");
        tokio::time::sleep(Duration::from_millis(150)).await;
        let after = pings.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            pings.load(Ordering::SeqCst),
            after,
            "pinged on after the limit"
        );
    }

    /// A task that ignores its token and ends after `long`, setting the flag.
    fn stubborn(parent: &CancellationToken, long: Duration) -> (Task, Arc<AtomicBool>) {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let task = Task::spawn("stubborn", parent, move |_token| async move {
            tokio::time::sleep(long).await;
            flag.store(true, Ordering::SeqCst);
        });
        (task, done)
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_before_a_reload_waits_for_the_task_to_end() {
        let root = CancellationToken::new();
        // `stop` gives up after the grace period, the task still running...
        let (task, done) = stubborn(&root, GRACE * 3);
        task.stop().await;
        assert!(!done.load(Ordering::SeqCst));
        // ... `stop_and_wait` returns once it has ended.
        let (task, done) = stubborn(&root, GRACE * 3);
        let pings = std::sync::atomic::AtomicUsize::new(0);
        task.stop_and_wait(&root, &|| {
            pings.fetch_add(1, Ordering::SeqCst);
        })
        .await;
        assert!(done.load(Ordering::SeqCst));
        // Kept alive while waiting (the watchdog would kill a silent daemon).
        assert!(pings.load(Ordering::SeqCst) >= 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_shutdown_bounds_the_wait_before_a_reload() {
        let root = CancellationToken::new();
        let (task, done) = stubborn(&root, GRACE * 100);
        let shutdown = root.clone();
        tokio::spawn(async move {
            tokio::time::sleep(GRACE * 2).await;
            shutdown.cancel();
        });
        let started = tokio::time::Instant::now();
        task.stop_and_wait(&root, &|| {}).await;
        assert!(!done.load(Ordering::SeqCst));
        assert!(started.elapsed() <= GRACE * 4, "{:?}", started.elapsed());
    }
}
