//! The scheduler: which feeds are due, and the loop that polls them.
//!
//! One loop wakes when the next feed is due (or at least every few seconds, to ping the systemd
//! watchdog), starts a poll for each due feed that is not already in flight (through the
//! pipeline's bounded [`Polls`]), and wakes the processor when a poll stored something. It
//! returns on shutdown, after the polls in flight had their grace period.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::shutdown::{Signals, GRACE};
use super::{notify, Daemon};
use crate::pipeline::{FeedIndex, Polls};
use crate::store::Store;

/// The scheduler never sleeps longer than this.
const MAX_SLEEP: Duration = Duration::from_secs(5);
/// The longest new entries wait for the polls in flight before they are judged.
const JUDGE_WITHIN: Duration = Duration::from_secs(10);
/// How often a worker on a shared store records itself alive (`wirewatch status`).
const ALIVE_EVERY: Duration = Duration::from_secs(5);
/// Entries left pending by a transient page failure are retried this often.
const PENDING_RETRY: Duration = Duration::from_secs(60);

/// When each configured feed is next due, kept in memory. Reading every feed's state from the
/// store on every scheduler pass (that is, after every finished poll) made a cycle cost
/// feeds x feeds store reads: nothing at a hundred feeds, minutes of CPU at ten thousand.
/// Here a feed's state is read once after each of its polls.
struct Due {
    /// Feed URLs by config index (a stored state of another URL is stale).
    urls: Vec<String>,
    /// Poll intervals by config index, as the config now says.
    intervals: Vec<Duration>,
    /// Next poll time by config index: `None` until read from the store; `Some(None)` when
    /// the feed has no schedule yet (due now).
    next: Vec<Option<Option<DateTime<Utc>>>>,
    /// Config indices in polling order ([`crate::config::Config::feed_poll_order`]).
    order: Vec<usize>,
    /// Due feeds not yet started.
    queue: VecDeque<usize>,
    queued: Vec<bool>,
    /// Feeds being polled, by config index.
    busy: Vec<bool>,
}

impl Due {
    fn new(config: &crate::config::Config) -> Due {
        let n = config.feeds.len();
        Due {
            urls: config.feeds.iter().map(|f| f.url.to_string()).collect(),
            intervals: config
                .feeds
                .iter()
                .map(|f| config.feed_interval(f))
                .collect(),
            order: config.feed_poll_order(),
            next: vec![None; n],
            queued: vec![false; n],
            queue: VecDeque::new(),
            busy: vec![false; n],
        }
    }

    /// Queues every due feed that is neither queued nor busy; returns the earliest future due
    /// time (or `now + MAX_SLEEP` when none is sooner).
    fn scan(
        &mut self,
        feeds: &FeedIndex,
        store: &Store,
        now: DateTime<Utc>,
    ) -> anyhow::Result<DateTime<Utc>> {
        let mut next_due = now + chrono::Duration::from_std(MAX_SLEEP).unwrap_or_default();
        for k in 0..self.order.len() {
            let i = self.order[k];
            if self.queued[i] || self.busy[i] {
                continue;
            }
            let when = match self.next[i] {
                Some(w) => w,
                None => {
                    let state = match feeds.id(i) {
                        Some(id) => store.feed_state(id)?,
                        None => None,
                    };
                    let w = match state {
                        // A healthy feed is due an interval after its last poll at the
                        // latest, the interval the config says now: a stored time set by a
                        // longer interval (a feed parked with "1000y", a "1d" now "15m")
                        // must not outlast a reload. A failing feed keeps its backoff.
                        Some(st) if st.url == self.urls[i] => match (st.next_poll, st.last_attempt)
                        {
                            (Some(next), Some(last)) if st.consecutive_failures == 0 => {
                                let by_interval = chrono::Duration::from_std(self.intervals[i])
                                    .ok()
                                    .and_then(|d| last.checked_add_signed(d));
                                Some(by_interval.map_or(next, |t| next.min(t)))
                            }
                            (next, _) => next,
                        },
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

    /// The next queued feed to start; it is busy from now on.
    fn start_next(&mut self) -> Option<usize> {
        let i = self.queue.pop_front()?;
        self.queued[i] = false;
        if let Some(b) = self.busy.get_mut(i) {
            *b = true;
        }
        Some(i)
    }

    /// A feed's poll finished: its new schedule is read at the next scan, unless another
    /// worker polls it (`elsewhere`: look again then).
    fn polled(&mut self, i: usize, elsewhere: Option<DateTime<Utc>>) {
        if let Some(b) = self.busy.get_mut(i) {
            *b = false;
        }
        if let Some(n) = self.next.get_mut(i) {
            *n = elsewhere.map(Some);
        }
    }
}

/// Runs the scheduler until shutdown (see the module doc), reloading the config on SIGHUP.
pub(super) async fn run(daemon: &mut Daemon, signals: &Signals) -> anyhow::Result<()> {
    let mut polls = Polls::new(&daemon.pipeline);
    let mut due = Due::new(daemon.pipeline.config());
    let (mut count, mut failures) = (0u64, 0u64);
    let mut last_pending_retry = tokio::time::Instant::now();
    let mut last_alive = tokio::time::Instant::now() - ALIVE_EVERY;
    // What a previous run left pending is judged with the first polls' entries.
    let mut stored_since =
        (daemon.pipeline.store().pending_len() > 0).then(tokio::time::Instant::now);
    loop {
        if signals.shutdown.is_cancelled() {
            break;
        }
        let now = Utc::now();
        let mut next_due = now + chrono::Duration::from_std(MAX_SLEEP).unwrap_or_default();
        if due.queue.is_empty() {
            next_due =
                next_due.min(due.scan(daemon.pipeline.feeds(), daemon.pipeline.store(), now)?);
            if !due.queue.is_empty() {
                // Before polling: a host another worker was told to leave alone.
                daemon.pipeline.adopt_stored_pauses();
            }
        }
        polls.fill(|| due.start_next());
        // New entries are judged once the polls due together are all done, so that one
        // moment's entries are judged together in publication order (an original before its
        // re-posts, a story's first report before its follow-ups), whatever order the feeds
        // answered in; at the latest JUDGE_WITHIN after the first was stored, so that a feed
        // list always busy polling is still judged as it goes.
        if stored_since.is_some_and(|t| polls.is_empty() || t.elapsed() >= JUDGE_WITHIN) {
            stored_since = None;
            daemon.wake_processor();
        }
        if last_pending_retry.elapsed() >= PENDING_RETRY {
            last_pending_retry = tokio::time::Instant::now();
            if daemon.pipeline.store().pending_len() > 0 {
                daemon.wake_processor();
            }
        }
        let sleep = (next_due - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(MAX_SLEEP);
        daemon.heartbeat.beat();
        if daemon.pipeline.store().is_shared() && last_alive.elapsed() >= ALIVE_EVERY {
            last_alive = tokio::time::Instant::now();
            if let Err(e) = daemon
                .pipeline
                .store()
                .heartbeat(&crate::store::work::counts())
            {
                tracing::warn!(error = %e, "recording this worker alive failed");
            }
        }
        if daemon.watchdog {
            notify(&[sd_notify::NotifyState::Watchdog]);
        }
        tokio::select! {
            _ = signals.shutdown.cancelled() => break,
            _ = signals.reload.notified() => {
                if daemon.reload(signals).await {
                    stored_since.get_or_insert_with(tokio::time::Instant::now);
                    // Polls in flight finish as they started; the new config polls the rest,
                    // and not those again until they are done.
                    polls.set_pipeline(&daemon.pipeline);
                    due = Due::new(daemon.pipeline.config());
                    for id in polls.polling() {
                        if let Some(i) = daemon.pipeline.feeds().index(id) {
                            due.busy[i] = true;
                        }
                    }
                }
            }
            _ = tokio::time::sleep(sleep) => {}
            Some(done) = polls.next(), if !polls.is_empty() => {
                // A poll fails only when the store does. That ends the daemon, on purpose:
                // sled, after an I/O error (a full disk), fails every later call until it is
                // opened again, so a clean exit and systemd's restart (`Restart=on-failure`)
                // is the recovery; PostgreSQL waits out an outage inside the store instead.
                let done = done?;
                if let Some(i) = daemon.pipeline.feeds().index(&done.feed_id) {
                    let elsewhere = done
                        .report
                        .as_ref()
                        .filter(|r| r.elsewhere)
                        .and_then(|r| r.next_poll);
                    due.polled(i, elsewhere);
                }
                if let Some(report) = done.report.filter(|r| !r.elsewhere) {
                    count += 1;
                    if report.error.is_some() {
                        failures += 1;
                    }
                    if report.entries_new + report.entries_updated > 0 {
                        stored_since.get_or_insert_with(tokio::time::Instant::now);
                    }
                    notify(&[sd_notify::NotifyState::Status(&format!(
                        "{} feeds; {count} polls, {failures} failed",
                        daemon.pipeline.config().feeds.len()
                    ))]);
                }
            }
        }
    }
    polls.finish(GRACE).await;
    Ok(())
}
