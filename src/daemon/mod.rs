//! The daemon: a thin shell around the pipeline that decides when each feed is polled, and
//! stops cleanly.
//!
//! - [`shutdown`]: SIGTERM/SIGINT cancel one token that every task watches (the fan-out
//!   pattern of tokio's mini-redis); SIGHUP asks for a reload.
//! - [`scheduler`]: the loop that polls each feed when it is due.
//! - [`tasks`]: the loops of one config: delivery, digest, processing, the status page.
//! - [`stall`]: exits for a restart when the embedded store stops taking writes (a sled
//!   deadlock), rather than hang while pinging the watchdog.
//! - the control socket ([`crate::control::server`]): the CLI's store commands run here while
//!   the daemon holds the store.
//!
//! On shutdown, in-flight polls get a grace period and are then dropped, which is safe because
//! the store's write order makes any cut point recoverable; the store is flushed last. A
//! reload re-reads the config: feeds added, removed or changed take effect at once; a bad
//! config is logged and the running one kept.

mod scheduler;
pub mod shutdown;
pub mod stall;
mod tasks;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;
use tracing::{error, info, warn};

use shutdown::{Signals, Task};
use tasks::{Plan, Tasks};

use crate::config::Config;
use crate::control::{self, Context};
use crate::http::Heartbeat;
use crate::pipeline::Pipeline;

/// The running daemon's state: the pipeline of the running config and its tasks.
struct Daemon {
    config_path: PathBuf,
    pipeline: Pipeline,
    tasks: Option<Tasks>,
    heartbeat: Heartbeat,
    watchdog: bool,
    /// What the control socket runs commands against (swapped on reload).
    control: watch::Sender<Context>,
    /// The running config's HTTP token, as read when its tasks were planned.
    token: Option<String>,
}

impl Daemon {
    /// Wakes the processor of the running tasks.
    fn wake_processor(&self) {
        if let Some(t) = &self.tasks {
            t.wake.notify_one();
        }
    }

    /// Re-reads the config. On success the new pipeline and its tasks replace the running
    /// ones and true is returned; otherwise the error is logged and the running config kept.
    async fn reload(&mut self, signals: &Signals) -> bool {
        let new = match Config::load(&self.config_path) {
            Ok(c) => Arc::new(c),
            Err(e) => {
                error!(error = %e, "new config rejected; keeping the running one");
                return false;
            }
        };
        if new.state_dir != self.pipeline.config().state_dir {
            warn!("state_dir cannot change on reload; restart to move the store");
        }
        // Checked before the running tasks stop: an unusable token (a rotation that left
        // spaces, an unreadable file) keeps the running config without a pause.
        let new_token = match tasks::read_token(&new) {
            Ok(t) => t,
            Err(e) => {
                error!(error = %e, "new config unusable; keeping the running one");
                return false;
            }
        };
        // The running tasks stop first, so that the new judges are built from the store as
        // the last pass left it: built beside a pass still running, they would miss what it
        // decided next (its stories, the copies to catch, what the topics learned). A stopped
        // pass stores what its judges keep; its undecided entries stay pending.
        // The reload can be long (waiting for the running pass, building the judges from a
        // large store, a backfill): the daemon is alive meanwhile, and says so to systemd's
        // watchdog and the status page as the scheduler loop would.
        let (heartbeat, watchdog) = (self.heartbeat.clone(), self.watchdog);
        let alive: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
            heartbeat.beat();
            if watchdog {
                notify(&[sd_notify::NotifyState::Watchdog]);
            }
        });
        // Each step (stopping the running tasks; then building and starting the new ones)
        // has its own limit: a long wait for the running pass does not eat into the time
        // the new config's judges and backfill are given.
        let stopping = shutdown::for_at_most(alive.clone(), shutdown::RELOAD_AT_MOST);
        let keep_alive = shutdown::KeepAlive::start(stopping.clone(), shutdown::GRACE);
        if let Some(old) = self.tasks.take() {
            old.stop_for_reload(&signals.shutdown, &*stopping).await;
        }
        drop(keep_alive);
        let alive = shutdown::for_at_most(alive, shutdown::RELOAD_AT_MOST);
        let _alive = shutdown::KeepAlive::start(alive.clone(), shutdown::GRACE);
        if signals.shutdown.is_cancelled() {
            // Stopping: no new tasks beside a pass that may still be running.
            return false;
        }
        let built = match Pipeline::with_metrics(
            new.clone(),
            self.pipeline.store().clone(),
            self.pipeline.metrics().clone(),
        ) {
            Ok(p) => {
                let p = p.succeeding(&self.pipeline);
                match Plan::with_token(&p, new_token) {
                    Ok(plan) => Ok((p, plan)),
                    Err(e) => {
                        error!(error = %e, "new config unusable; keeping the running one");
                        Err(())
                    }
                }
            }
            Err(e) => {
                error!(error = %e, "new config rejected; keeping the running one");
                Err(())
            }
        };
        let (pipeline, plan, config) = match built {
            Ok((p, plan)) => (p, plan, Some(new.clone())),
            Err(()) => {
                // The running config's tasks start again, on its own judges (which decided
                // everything the store holds).
                match Plan::with_token(&self.pipeline, self.token.clone()) {
                    Ok(plan) => (self.pipeline.clone(), plan, None),
                    Err(e) => {
                        error!(error = %e, "the running config's tasks cannot start again");
                        return false;
                    }
                }
            }
        };
        let accepted = config.is_some();
        let token = plan.token().cloned();
        let context = Context {
            config: config.unwrap_or_else(|| self.control.borrow().config.clone()),
            store: pipeline.store().clone(),
            deliverer: Some(plan.deliverer().clone()),
            pipeline: Some(pipeline.clone()),
        };
        match Tasks::start(plan, &self.heartbeat, &signals.shutdown, false).await {
            Ok(t) => self.tasks = Some(t),
            Err(e) => {
                // Only the HTTP server can fail here, and it is logged and skipped.
                error!(error = %e, "tasks of the new config did not start");
                return false;
            }
        }
        // The control socket runs `alerts --retry` beside the running delivery loop, with
        // the tasks' own deliverer, the restarted old config's as well.
        self.control.send_replace(context);
        if !accepted {
            return false;
        }
        self.pipeline = pipeline;
        self.token = token;
        // A topic added by this reload starts with its backfill, if it asks for one.
        if let Err(e) = self.pipeline.backfill_topics().await {
            error!(error = %e, "backfill of new topics failed");
        }
        info!(
            feeds = new.feeds.len(),
            seeds_changed = self.pipeline.seeds_changed(),
            "config reloaded"
        );
        notify(&[sd_notify::NotifyState::Status(&format!(
            "config reloaded; polling {} feeds",
            new.feeds.len()
        ))]);
        true
    }
}

/// Runs the daemon until SIGTERM or SIGINT. SIGHUP re-reads the config at `config_path`.
pub async fn run(config_path: PathBuf, config: Arc<Config>) -> anyhow::Result<()> {
    // Signals first: a SIGTERM during start-up must stop cleanly, not kill the process.
    let signals = Signals::listen();
    let store = control::open_store_alone(&config, "one daemon per state directory")?;
    // On a shared store every worker is one of many: no pid file or control socket (those
    // guard the embedded store, one process's at a time; commands open a shared one
    // themselves), and only the worker holding the judge lease backfills new topics.
    let shared = store.is_shared();
    let pid_file = if shared {
        None
    } else {
        Some(PidFile::write(&config.state_dir)?)
    };
    warn_if_open(&config);
    let judging = !shared || store.judge_lease()?.is_some();
    let pipeline = Pipeline::new(config.clone(), store)?;
    stall::watch_store(
        pipeline.store(),
        "the service manager starts wirewatch again",
    );
    info!(
        seeds = pipeline.store().seeds()?.len(),
        changed = pipeline.seeds_changed(),
        "seed set loaded"
    );
    if judging {
        pipeline.backfill_topics().await?;
    }
    let heartbeat = Heartbeat::default();
    heartbeat.beat();
    let plan = Plan::new(&pipeline)?;
    let token = plan.token().cloned();
    let (control, control_rx) = watch::channel(Context {
        config: config.clone(),
        store: pipeline.store().clone(),
        deliverer: Some(plan.deliverer().clone()),
        pipeline: Some(pipeline.clone()),
    });
    let control_server = if shared {
        None
    } else {
        let socket = control::socket_path(&config);
        let control_token = signals.shutdown.child_token();
        let server = control::server::serve(socket.clone(), control_rx, control_token.clone())
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", socket.display()))?;
        Some(Task::from_parts("control", control_token, server))
    };
    let tasks = Tasks::start(plan, &heartbeat, &signals.shutdown, true).await?;
    let mut watchdog_usec = 0u64;
    let watchdog = sd_notify::watchdog_enabled(false, &mut watchdog_usec);
    if watchdog {
        info!(usec = watchdog_usec, "systemd watchdog enabled");
    }
    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(&format!("polling {} feeds", config.feeds.len())),
    ]);
    info!(feeds = config.feeds.len(), "daemon running");
    let mut daemon = Daemon {
        config_path,
        pipeline,
        tasks: Some(tasks),
        heartbeat,
        watchdog,
        control,
        token,
    };
    let result = scheduler::run(&mut daemon, &signals).await;
    notify(&[sd_notify::NotifyState::Stopping]);
    if let Some(t) = daemon.tasks.take() {
        t.stop().await;
    }
    if let Some(c) = control_server {
        c.stop().await;
    }
    if let Err(e) = daemon.pipeline.store().flush().await {
        error!(error = %e, "final flush failed");
    }
    drop(pid_file);
    info!("stopped");
    result
}

/// Warns loudly when the status page listens beyond loopback without a token: it shows
/// everything the topic has found, and its feedback will write.
pub fn warn_if_open(config: &Config) {
    let http = &config.http;
    if http.enabled
        && !http.listen.ip().is_loopback()
        && http.token_env.is_none()
        && http.token_file.is_none()
    {
        warn!(
            listen = %http.listen,
            "the status page and API listen on a non-loopback address WITHOUT a token: anyone who can reach {} can read everything found; set [http] token_env or token_file, or listen on 127.0.0.1",
            http.listen
        );
    }
}

/// Tells systemd (a no-op outside systemd, where `NOTIFY_SOCKET` is unset).
fn notify(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        warn!(error = %e, "sd_notify failed");
    }
}

/// The daemon's pid in its state directory, removed when the daemon stops. Written after the
/// store is open (its lock says no other daemon runs here), so a stale file is only ever one
/// a killed daemon left, and it is overwritten.
struct PidFile(PathBuf);

impl PidFile {
    fn write(state_dir: &Path) -> anyhow::Result<PidFile> {
        let path = state_dir.join(control::PID_FILE);
        std::fs::write(&path, format!("{}\n", std::process::id()))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        Ok(PidFile(path))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0) {
            warn!(error = %e, path = %self.0.display(), "could not remove the pid file");
        }
    }
}
