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
        self.token.cancel();
        if tokio::time::timeout(GRACE, self.handle).await.is_err() {
            tracing::warn!(task = self.name, "task did not stop in time; abandoning it");
        }
    }
}
