//! The daemon: a thin shell around the pipeline that decides when each feed is polled, and
//! stops cleanly.
//!
//! One scheduler loop wakes when the next feed is due (or at least every few seconds, to ping
//! the systemd watchdog), starts a poll task for each due feed that is not already in flight,
//! and processes the entries those polls stored. SIGTERM or SIGINT cancels one token that the
//! loop watches (the fan-out pattern of tokio's mini-redis); in-flight polls get a grace
//! period to finish and are then dropped, which is safe because the store's write order makes
//! any cut point recoverable; the store is flushed last. SIGHUP re-reads the config: feeds
//! added, removed or changed take effect at once; a bad config is logged and the running one
//! kept.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::http::{AppState, Heartbeat};
use crate::notify::outbox::Deliverer;
use crate::notify::Digester;
use crate::pipeline::{FeedReport, Pipeline, PipelineError};
use crate::store;

/// How long in-flight work may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// The scheduler never sleeps longer than this.
const MAX_SLEEP: Duration = Duration::from_secs(5);
/// Entries left pending by a transient page failure are retried this often.
const PENDING_RETRY: Duration = Duration::from_secs(60);

/// Runs the daemon until SIGTERM or SIGINT. SIGHUP re-reads the config at `config_path`.
pub async fn run(config_path: PathBuf, config: Arc<Config>) -> anyhow::Result<()> {
    // Signals first: a SIGTERM during start-up must stop cleanly, not kill the process.
    let shutdown = CancellationToken::new();
    let reload = Arc::new(Notify::new());
    spawn_signal_listener(shutdown.clone(), reload.clone());
    let store = crate::pipeline::open_store(&config)?;
    let pipeline = Pipeline::new(config.clone(), store)?;
    info!(
        seeds = pipeline.store().seeds()?.len(),
        changed = pipeline.seeds_changed(),
        "seed set loaded"
    );
    let result = schedule(pipeline.clone(), &config_path, &shutdown, &reload).await;
    notify(&[sd_notify::NotifyState::Stopping]);
    if let Err(e) = pipeline.store().flush().await {
        error!(error = %e, "final flush failed");
    }
    info!("stopped");
    result
}

fn spawn_signal_listener(token: CancellationToken, reload: Arc<Notify>) {
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
}

/// Re-reads the config; on success returns a pipeline over the same store, else logs the
/// error and keeps the running one.
fn reload_config(path: &Path, current: &Pipeline) -> Option<Pipeline> {
    let new = match Config::load(path) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            error!(error = %e, "new config rejected; keeping the running one");
            return None;
        }
    };
    if new.state_dir != current.config().state_dir {
        warn!("state_dir cannot change on reload; restart to move the store");
    }
    match Pipeline::with_metrics(
        new.clone(),
        current.store().clone(),
        current.metrics().clone(),
    ) {
        Ok(p) => {
            info!(
                feeds = new.feeds.len(),
                seeds_changed = p.seeds_changed(),
                "config reloaded"
            );
            Some(p)
        }
        Err(e) => {
            error!(error = %e, "new config rejected; keeping the running one");
            None
        }
    }
}

fn notify(states: &[sd_notify::NotifyState<'_>]) {
    // Outside systemd NOTIFY_SOCKET is unset and this is a no-op.
    if let Err(e) = sd_notify::notify(false, states) {
        warn!(error = %e, "sd_notify failed");
    }
}

/// When each configured feed is next due, kept in memory. Reading every feed's state from
/// the store on every scheduler pass (that is, after every finished poll) made a cycle cost
/// feeds x feeds store reads: nothing at a hundred feeds, minutes of CPU at ten thousand.
/// Here a feed's state is read once after each of its polls.
struct Due {
    /// Feed ids by config index.
    ids: Vec<String>,
    /// Feed URLs by config index (a stored state of another URL is stale).
    urls: Vec<String>,
    /// Config index by feed id.
    index: HashMap<String, usize>,
    /// Next poll time by config index: `None` until read from the store; `Some(None)` when
    /// the feed has no schedule yet (due now).
    next: Vec<Option<Option<chrono::DateTime<Utc>>>>,
    /// Config indices in polling order ([`Config::feed_poll_order`]).
    order: Vec<usize>,
    /// Due feeds not yet started.
    queue: std::collections::VecDeque<usize>,
    queued: Vec<bool>,
    /// Feeds being polled.
    busy: std::collections::HashSet<String>,
}

impl Due {
    fn new(config: &Config) -> Due {
        let ids: Vec<String> = config
            .feeds
            .iter()
            .map(|f| store::feed_id(f.url.as_str()))
            .collect();
        Due {
            urls: config.feeds.iter().map(|f| f.url.to_string()).collect(),
            order: config.feed_poll_order(),
            index: ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), i))
                .collect(),
            next: vec![None; ids.len()],
            queued: vec![false; ids.len()],
            queue: Default::default(),
            busy: Default::default(),
            ids,
        }
    }

    /// Queues every due feed that is neither queued nor busy; returns the earliest future due
    /// time (or `now + MAX_SLEEP` when none is sooner).
    fn scan(
        &mut self,
        store: &store::Store,
        now: chrono::DateTime<Utc>,
    ) -> anyhow::Result<chrono::DateTime<Utc>> {
        let mut next_due = now + chrono::Duration::from_std(MAX_SLEEP).unwrap_or_default();
        for k in 0..self.order.len() {
            let i = self.order[k];
            if self.queued[i] || self.busy.contains(&self.ids[i]) {
                continue;
            }
            let when = match self.next[i] {
                Some(w) => w,
                None => {
                    let w = match store.feed_state(&self.ids[i])? {
                        Some(st) if st.url == self.urls[i] => st.next_poll,
                        _ => None,
                    };
                    self.next[i] = Some(w);
                    w
                }
            };
            match when {
                Some(t) if t > now => next_due = next_due.min(t),
                _ => {
                    self.queued[i] = true;
                    self.queue.push_back(i);
                }
            }
        }
        Ok(next_due)
    }

    /// A feed's poll finished: its new schedule is read at the next scan.
    fn polled(&mut self, feed_id: &str) {
        self.busy.remove(feed_id);
        if let Some(&i) = self.index.get(feed_id) {
            self.next[i] = None;
        }
    }
}

async fn schedule(
    mut pipeline: Pipeline,
    config_path: &Path,
    shutdown: &CancellationToken,
    reload: &Notify,
) -> anyhow::Result<()> {
    let mut config = Arc::new(pipeline.config().clone());
    let mut delivery = Delivery::start(&pipeline, shutdown)?;
    let mut digest = DigestTask::start(&pipeline, shutdown)?;
    let heartbeat = Heartbeat::default();
    heartbeat.beat();
    let mut http = start_http(&pipeline, config.clone(), &heartbeat, shutdown).await?;
    // Entries are processed by their own task, so a long batch of page fetches never holds up
    // the scheduler (or its watchdog pings). It starts with what a previous run left pending.
    let mut processor = Processor::start(&pipeline, shutdown);
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

    // Feed ids in flight, by the id of the task polling them.
    let mut in_flight: HashMap<tokio::task::Id, String> = HashMap::new();
    let mut tasks: JoinSet<(String, Result<FeedReport, PipelineError>)> = JoinSet::new();
    let mut polls: u64 = 0;
    let mut failures: u64 = 0;
    let mut last_pending_retry = tokio::time::Instant::now();
    // Polls in flight at once: enough to keep the fetcher's own limits busy, few enough that
    // a long feed list is not one task (and one future's worth of memory) per feed at once.
    let mut max_in_flight = config.max_polls_in_flight();
    let mut due = Due::new(&config);
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        let now = Utc::now();
        let mut next_due = now + chrono::Duration::from_std(MAX_SLEEP).unwrap_or_default();
        if due.queue.is_empty() {
            next_due = next_due.min(due.scan(pipeline.store(), now)?);
        }
        while tasks.len() < max_in_flight {
            let Some(i) = due.queue.pop_front() else {
                break;
            };
            due.queued[i] = false;
            let Some(feed) = config.feeds.get(i).cloned() else {
                continue;
            };
            let id = due.ids[i].clone();
            due.busy.insert(id.clone());
            let p = pipeline.clone();
            let task_feed = id.clone();
            let handle = tasks.spawn(async move {
                let r = p.poll_feed(&feed).await;
                (task_feed, r)
            });
            in_flight.insert(handle.id(), id);
        }
        if last_pending_retry.elapsed() >= PENDING_RETRY {
            last_pending_retry = tokio::time::Instant::now();
            if pipeline.store().pending_len() > 0 {
                processor.wake.notify_one();
            }
        }
        let sleep = (next_due - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(MAX_SLEEP);
        heartbeat.beat();
        if watchdog {
            notify(&[sd_notify::NotifyState::Watchdog]);
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = reload.notified() => {
                if let Some(p) = reload_config(config_path, &pipeline) {
                    let new_delivery = match Delivery::start(&p, shutdown) {
                        Ok(d) => d,
                        Err(e) => {
                            error!(error = %e, "new webhooks unusable; keeping the running config");
                            continue;
                        }
                    };
                    let new_digest = match DigestTask::start(&p, shutdown) {
                        Ok(g) => g,
                        Err(e) => {
                            new_delivery.stop().await;
                            error!(error = %e, "new digest settings unusable; keeping the running config");
                            continue;
                        }
                    };
                    std::mem::replace(&mut delivery, new_delivery).stop().await;
                    processor.worker.stop().await;
                    processor = Processor::start(&p, shutdown);
                    if let Some(old) = digest.replace_with(new_digest) {
                        old.stop().await;
                    }
                    pipeline = p;
                    config = Arc::new(pipeline.config().clone());
                    max_in_flight = config.max_polls_in_flight();
                    due = Due::new(&config);
                    due.busy = in_flight.values().cloned().collect();
                    if let Some((token, task)) = http.take() {
                        token.cancel();
                        let _ = task.await;
                    }
                    http = match start_http(&pipeline, config.clone(), &heartbeat, shutdown).await {
                        Ok(h) => h,
                        Err(e) => {
                            error!(error = %e, "HTTP server not restarted after reload");
                            None
                        }
                    };
                    notify(&[sd_notify::NotifyState::Status(&format!(
                        "config reloaded; polling {} feeds",
                        config.feeds.len()
                    ))]);
                }
            }
            _ = tokio::time::sleep(sleep) => {}
            Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                match joined {
                    Ok((task, (feed, Ok(report)))) => {
                        in_flight.remove(&task);
                        due.polled(&feed);
                        polls += 1;
                        if report.error.is_some() {
                            failures += 1;
                        }
                        if report.entries_new + report.entries_updated > 0 {
                            processor.wake.notify_one();
                        }
                        notify(&[sd_notify::NotifyState::Status(&format!(
                            "{} feeds; {polls} polls, {failures} failed",
                            config.feeds.len()
                        ))]);
                    }
                    Ok((_, (_, Err(e)))) => return Err(e.into()),
                    Err(e) => {
                        // A poll task panicked: the feed is retried on its schedule and the
                        // daemon goes on.
                        let feed = in_flight.remove(&e.id());
                        if let Some(f) = &feed {
                            due.polled(f);
                        }
                        error!(error = %e, ?feed, "feed poll task failed");
                    }
                }
            }
        }
    }
    processor.worker.stop().await;
    delivery.stop().await;
    if let Some(d) = digest.0.take() {
        d.stop().await;
    }
    if let Some((token, task)) = http.take() {
        token.cancel();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, task).await;
    }
    info!(in_flight = tasks.len(), "finishing in-flight polls");
    let drain = async {
        while let Some(joined) = tasks.join_next().await {
            if let Ok((_, Err(e))) = joined {
                warn!(error = %e, "poll failed during shutdown");
            }
        }
    };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        warn!(abandoned = tasks.len(), "grace period over; abandoning in-flight polls (their entries stay pending or unfetched, nothing is lost)");
        tasks.shutdown().await;
    }
    Ok(())
}

type HttpTask = Option<(CancellationToken, tokio::task::JoinHandle<()>)>;

/// Starts the HTTP server of a config, if enabled. A port that cannot be bound is an error at
/// start-up (the user asked for it) and logged on reload (the old server is already gone).
async fn start_http(
    pipeline: &Pipeline,
    config: Arc<Config>,
    heartbeat: &Heartbeat,
    shutdown: &CancellationToken,
) -> anyhow::Result<HttpTask> {
    if !config.http.enabled {
        return Ok(None);
    }
    let token = crate::config::read_secret(
        config.http.token_env.as_deref(),
        config.http.token_file.as_deref(),
        "http token",
    )?
    .map(|t| String::from_utf8_lossy(&t).into_owned());
    let state = AppState {
        store: pipeline.store().clone(),
        config: config.clone(),
        metrics: pipeline.metrics().clone(),
        heartbeat: heartbeat.clone(),
        token,
    };
    let child = shutdown.child_token();
    let (addr, task) = crate::http::serve(config.http.listen, state, child.clone())
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.http.listen))?;
    info!(url = %format!("http://{addr}/"), "status page");
    Ok(Some((child, task)))
}

/// The webhook delivery loop of one config, stoppable on its own (reload) or with the daemon.
struct Delivery {
    token: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Delivery {
    fn start(pipeline: &Pipeline, shutdown: &CancellationToken) -> anyhow::Result<Delivery> {
        let deliverer = Deliverer::new(
            pipeline.config(),
            pipeline.store().clone(),
            pipeline.endpoints(),
        )?;
        let token = shutdown.child_token();
        let task = tokio::spawn(deliverer.run(pipeline.delivery_wake(), token.clone()));
        Ok(Delivery { token, task })
    }

    async fn stop(self) {
        self.token.cancel();
        // A delivery in flight finishes (bounded by its timeout) so its outcome is recorded.
        if tokio::time::timeout(SHUTDOWN_GRACE, self.task)
            .await
            .is_err()
        {
            warn!("delivery loop did not stop in time; pending deliveries stay in the outbox");
        }
    }
}

/// The digest loop of one config (absent when the config has no `[digest]`).
struct DigestTask(Option<Delivery>);

impl DigestTask {
    fn start(pipeline: &Pipeline, shutdown: &CancellationToken) -> anyhow::Result<DigestTask> {
        if pipeline.config().digest.is_none() {
            return Ok(DigestTask(None));
        }
        let digester = Digester::new(pipeline.config(), pipeline.store().clone())?;
        let token = shutdown.child_token();
        let task = tokio::spawn(digester.run(token.clone()));
        Ok(DigestTask(Some(Delivery { token, task })))
    }

    /// Swaps in a new task, returning the old one to stop.
    fn replace_with(&mut self, new: DigestTask) -> Option<Delivery> {
        std::mem::replace(&mut self.0, new.0)
    }
}

/// The task that processes stored entries, woken after polls that stored something.
struct Processor {
    wake: Arc<Notify>,
    worker: Delivery,
}

impl Processor {
    fn start(pipeline: &Pipeline, shutdown: &CancellationToken) -> Processor {
        let wake = Arc::new(Notify::new());
        // Start with one pass: whatever a previous run left pending.
        wake.notify_one();
        let token = shutdown.child_token();
        let (p, w, t) = (pipeline.clone(), wake.clone(), token.clone());
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = t.cancelled() => return,
                    _ = w.notified() => {}
                }
                // Cancelling mid-pass is safe: unfinished entries stay pending.
                tokio::select! {
                    _ = t.cancelled() => return,
                    r = p.process_pending() => match r {
                        Ok(tally) if tally.decided() > 0 => {
                            info!(?tally, "entries processed");
                        }
                        Ok(_) => {}
                        Err(e) => error!(error = %e, "processing entries failed; will retry"),
                    }
                }
            }
        });
        Processor {
            wake,
            worker: Delivery { token, task },
        }
    }
}
