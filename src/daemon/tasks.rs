//! The daemon's long-running tasks for one config, each a small loop of its stage under the
//! shutdown token: delivering the outbox, sending the daily digest, processing stored
//! entries, serving the status page. A reload stops one set and starts the next.

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::shutdown::{Task, SEND_GRACE};
use crate::config::Config;
use crate::http::{AppState, Heartbeat};
use crate::notify::{Deliverer, Digester};
use crate::pipeline::Pipeline;

/// What a config's tasks are made from: built (and so checked) before the tasks start; on a
/// reload, once the running tasks stopped, and when the new config's webhooks or digest are
/// unusable the running config's plan is built again and its tasks restarted.
pub struct Plan {
    pipeline: Pipeline,
    deliverer: Deliverer,
    digester: Option<Digester>,
    token: Option<String>,
}

impl Plan {
    /// Checks what `pipeline`'s config needs: the deliverer of its webhooks, its digest
    /// settings, its HTTP token.
    pub fn new(pipeline: &Pipeline) -> anyhow::Result<Plan> {
        Plan::with_token(pipeline, read_token(pipeline.config())?)
    }

    /// [`Plan::new`] with the HTTP token already read: a reload that falls back to the
    /// running config reuses the running token rather than reading its file again, which
    /// may have changed meanwhile (a rotation gone wrong would leave no tasks at all).
    pub fn with_token(pipeline: &Pipeline, token: Option<String>) -> anyhow::Result<Plan> {
        let config = pipeline.config();
        let deliverer = Deliverer::new(config, pipeline.store().clone(), pipeline.endpoints())?
            .sharing_passes(pipeline.delivery_pass());
        let digester = match config.digest {
            Some(_) => Some(Digester::new(config, pipeline.store().clone())?),
            None => None,
        };
        Ok(Plan {
            pipeline: pipeline.clone(),
            deliverer,
            digester,
            token,
        })
    }

    /// The HTTP token the plan's status page asks for.
    pub fn token(&self) -> Option<&String> {
        self.token.as_ref()
    }

    /// The deliverer (shared with the control socket's `alerts --retry`).
    pub fn deliverer(&self) -> &Deliverer {
        &self.deliverer
    }
}

/// The HTTP token of `config` (when its status page is on), read and checked: a token no
/// request could present would lock the page and the API for good.
pub fn read_token(config: &Config) -> anyhow::Result<Option<String>> {
    if !config.http.enabled {
        return Ok(None);
    }
    let token = crate::config::read_secret(
        config.http.token_env.as_deref(),
        config.http.token_file.as_deref(),
        "http token",
    )?
    .map(|t| String::from_utf8_lossy(&t).into_owned());
    if let Some(t) = &token {
        if t.trim().is_empty() {
            anyhow::bail!("[http] token is empty: put the token in the file (or variable), or remove token_file/token_env");
        }
        if t.trim() != t {
            anyhow::bail!("[http] token has spaces at its start or end: remove them (a request's token is read trimmed)");
        }
    }
    Ok(token)
}

/// The running tasks of one config.
pub struct Tasks {
    delivery: Task,
    digest: Option<Task>,
    processor: Task,
    /// Wakes the processor (after polls that stored something, or to retry pending entries).
    pub wake: Arc<Notify>,
    http: Option<Task>,
}

impl Tasks {
    /// Starts a plan's tasks. A port that cannot be bound is an error at start-up (the user
    /// asked for it, `first` is true) and logged on reload (the old server is already gone).
    pub async fn start(
        plan: Plan,
        heartbeat: &Heartbeat,
        shutdown: &CancellationToken,
        first: bool,
    ) -> anyhow::Result<Tasks> {
        let Plan {
            pipeline,
            deliverer,
            digester,
            token,
        } = plan;
        let wake_delivery = pipeline.delivery_wake();
        let delivery = Task::spawn("delivery", shutdown, |t| deliverer.run(wake_delivery, t));
        let digest = digester.map(|d| Task::spawn("digest", shutdown, |t| d.run(t)));
        // The scheduler wakes the processor: for what a previous run left pending, with the
        // first polls' entries.
        let wake = Arc::new(Notify::new());
        let (p, w) = (pipeline.clone(), wake.clone());
        let processor = Task::spawn("processor", shutdown, |t| process(p, w, t));
        let http = match start_http(&pipeline, token, heartbeat, shutdown).await {
            Ok(h) => h,
            Err(e) if first => return Err(e),
            Err(e) => {
                error!(error = %e, "HTTP server not restarted after reload");
                None
            }
        };
        Ok(Tasks {
            delivery,
            digest,
            processor,
            wake,
            http,
        })
    }

    /// Stops every task (the processor first: its unfinished entries stay pending).
    pub async fn stop(self) {
        self.stop_with(None).await;
    }

    /// [`Tasks::stop`] before a reload: the processor is waited for until it ends (see
    /// [`Task::stop_and_wait`], `alive` called as it waits), unless `shutdown` comes meanwhile.
    pub async fn stop_for_reload(
        self,
        shutdown: &CancellationToken,
        alive: &(dyn Fn() + Send + Sync),
    ) {
        self.stop_with(Some((shutdown, alive))).await;
    }

    async fn stop_with(self, reload: Option<(&CancellationToken, &(dyn Fn() + Send + Sync))>) {
        match reload {
            Some((shutdown, alive)) => {
                // Before a reload every sender ends too: abandoned in mid-send (a slow webhook,
                // a mail server taking its time), it would go on beside the new one, which
                // reads the same head row of the outbox and sends it again.
                self.processor.stop_and_wait(shutdown, alive).await;
                self.delivery.stop_and_wait(shutdown, alive).await;
                if let Some(d) = self.digest {
                    d.stop_and_wait(shutdown, alive).await;
                }
            }
            None => {
                // All at once (their tokens are children of the shutdown token, cancelled
                // already), so that the waits do not add up; a sender in mid-send gets the
                // time to finish it and record it (see `SEND_GRACE`).
                let digest = async {
                    if let Some(d) = self.digest {
                        d.stop_within(SEND_GRACE).await;
                    }
                };
                tokio::join!(
                    self.processor.stop(),
                    self.delivery.stop_within(SEND_GRACE),
                    digest
                );
            }
        }
        if let Some(h) = self.http {
            h.stop().await;
        }
    }
}

/// How often a worker on a shared store looks for entries to judge.
const SHARED_PASS: std::time::Duration = std::time::Duration::from_secs(1);

/// The processor: a pass over the pending entries whenever woken. Cancelling mid-pass is safe:
/// unfinished entries stay pending.
///
/// On a shared store only the worker holding the judge lease processes (the others poll and
/// deliver), looking every [`SHARED_PASS`] for what any worker stored; a worker that takes
/// the lease anew rebuilds its pipeline from the store first.
async fn process(mut pipeline: Pipeline, wake: Arc<Notify>, token: CancellationToken) {
    let shared = pipeline.store().is_shared();
    let mut epoch: Option<u64> = None;
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(SHARED_PASS), if shared => {}
        }
        if shared {
            match pipeline.store().judge_lease() {
                Ok(None) => {
                    epoch = None;
                    continue;
                }
                Ok(Some(e)) if epoch != Some(e) => match pipeline.rebuilt() {
                    Ok(p) => {
                        pipeline = p;
                        epoch = Some(e);
                    }
                    Err(err) => {
                        error!(error = %err, "rebuilding the judges failed; will retry");
                        continue;
                    }
                },
                Ok(Some(_)) => {}
                Err(e) => {
                    error!(error = %e, "judge lease unavailable; will retry");
                    continue;
                }
            }
        }
        tokio::select! {
            _ = token.cancelled() => {
                // Stopped in mid-pass: the decisions written so far stay (those staged since
                // stay pending and are judged again), and what the judges keep for the next
                // pass (near misses, remembered texts) is stored too.
                if let Err(e) = pipeline.save_pass_state() {
                    warn!(error = %e, "could not store what the judges kept of the pass");
                }
                return;
            }
            r = pipeline.process_settled() => match r {
                Ok(tally) if tally.decided() > 0 => {
                    crate::store::work::decided(tally.decided());
                    info!(
                        alerts = tally.alerts,
                        seed_copies = tally.seed_duplicates,
                        repeats = tally.repeats,
                        off_topic = tally.off_topic,
                        unreadable = tally.unreadable,
                        known_url = tally.known_url,
                        deferred = tally.deferred,
                        "entries processed"
                    )
                }
                Ok(_) => {}
                Err(e) => error!(error = %e, "processing entries failed; will retry"),
            }
        }
    }
}

/// Starts the HTTP server of a config, if enabled.
async fn start_http(
    pipeline: &Pipeline,
    token: Option<String>,
    heartbeat: &Heartbeat,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<Task>> {
    let config: Arc<Config> = Arc::new(pipeline.config().clone());
    if !config.http.enabled {
        return Ok(None);
    }
    let state = AppState {
        store: pipeline.store().clone(),
        config: config.clone(),
        metrics: pipeline.metrics().clone(),
        heartbeat: heartbeat.clone(),
        token,
        pipeline: Some(pipeline.clone()),
    };
    let child = shutdown.child_token();
    let (addr, handle) = crate::http::serve(config.http.listen, state, child.clone())
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.http.listen))?;
    info!(url = %format!("http://{addr}/"), "status page");
    Ok(Some(Task::from_parts("http", child, handle)))
}
