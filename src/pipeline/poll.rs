//! One feed poll: conditional GET (retried inside the poll when the wait is short), parse,
//! store new and changed entries with the feed's new validators and schedule, or record the
//! failure and back off. And [`Polls`], the bounded fan-out of many polls that both the daemon
//! and `wirewatch once` drive.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn, Instrument};
use url::Url;

use super::{Pipeline, PipelineError};
use crate::config::FeedConfig;
use crate::fetch::{FetchError, Kind, Request};
use crate::parse::{self, Entry};
use crate::store::{self, FeedState};

/// Retries inside one poll for transient failures whose wait is this short or shorter
/// (a 503 with `Retry-After: 2`, a dropped connection); longer waits become backoff.
const IN_POLL_RETRY_MAX_WAIT: Duration = Duration::from_secs(10);
/// At most this many extra attempts inside one poll.
const IN_POLL_RETRIES: u32 = 2;

/// What one feed poll did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FeedReport {
    /// The feed's display name.
    pub name: String,
    /// The feed's id in the store.
    pub feed_id: String,
    /// Answered 304 Not Modified.
    pub not_modified: bool,
    /// The failure, if the poll failed.
    pub error: Option<String>,
    /// Entries in the document.
    pub entries_seen: usize,
    /// Entries stored for the first time.
    pub entries_new: usize,
    /// Entries the feed changed in place.
    pub entries_updated: usize,
    /// Repairs the lenient parser had to make.
    pub repairs: Vec<String>,
    /// When the feed is due again.
    pub next_poll: Option<DateTime<Utc>>,
    /// Not polled: another worker on the shared store holds its lease (until `next_poll`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub elsewhere: bool,
}

/// The one log line of a poll that got an answer.
fn log_polled(report: &FeedReport) {
    info!(
        new = report.entries_new,
        updated = report.entries_updated,
        seen = report.entries_seen,
        not_modified = report.not_modified,
        "polled"
    );
}

/// Keeps a response's validators for the next poll, with the URL that gave them when a
/// temporary redirect led there from `polled` (they are sent on the hop to that URL).
fn remember_validators(state: &mut FeedState, resp: &crate::fetch::Response, polled: &Url) {
    state.etag = resp.etag.clone();
    state.last_modified = resp.last_modified.clone();
    state.validators_from = (resp.final_url != *polled && resp.moved_permanently.is_none())
        .then(|| resp.final_url.to_string());
}

/// Failures in a row at a feed's new address (a permanent redirect followed) before the
/// configured address is tried again.
const MOVED_FAILURES: u32 = 3;

impl Pipeline {
    /// Polls one feed: conditional GET, parse, store new and changed entries, then save the
    /// feed's validators and schedule. A failing feed is recorded (error, backoff) and
    /// reported, not returned as an error; only a store failure is an error.
    pub async fn poll_feed(&self, feed: &FeedConfig) -> Result<FeedReport, PipelineError> {
        let name = feed.display_name();
        let span = tracing::info_span!("feed", feed = %name, url = %feed.url);
        let report = self
            .poll_feed_inner(feed, name.clone())
            .instrument(span)
            .await?;
        self.remember_host_pauses();
        if !report.elsewhere {
            self.metrics.count_poll(&name, report.error.is_some());
            crate::store::work::polled();
        }
        Ok(report)
    }

    /// On a shared store: `None` when this worker takes the feed's poll (its lease is this
    /// worker's for an interval and a half, renewed at each poll, so the feed stays with one
    /// worker until it dies), else when to look again: another worker holds the lease, or
    /// polled the feed within its interval.
    fn polled_elsewhere(
        &self,
        feed: &FeedConfig,
        id: &str,
    ) -> Result<Option<DateTime<Utc>>, PipelineError> {
        let interval = self.config.feed_interval(feed);
        let lease = interval + (interval / 2).min(std::time::Duration::from_secs(300));
        if let Some(until) = self.store.claim_feed(id, lease)? {
            return Ok(Some(until));
        }
        let next = self.store.feed_state(id)?.and_then(|st| st.next_poll);
        Ok(next.filter(|n| *n > Utc::now() + chrono::Duration::seconds(1)))
    }

    async fn poll_feed_inner(
        &self,
        feed: &FeedConfig,
        name: String,
    ) -> Result<FeedReport, PipelineError> {
        let id = store::feed_id(feed.url.as_str());
        if self.store.is_shared() {
            if let Some(until) = self.polled_elsewhere(feed, &id)? {
                debug!(%until, "another worker polls this feed");
                return Ok(FeedReport {
                    name,
                    feed_id: id,
                    next_poll: Some(until),
                    elsewhere: true,
                    ..FeedReport::default()
                });
            }
        }
        let mut state = self.store.feed_state(&id)?.unwrap_or_default();
        if state.url != feed.url.as_str() {
            // New feed, or the config now names another URL: start clean.
            state = FeedState {
                url: feed.url.to_string(),
                ..FeedState::default()
            };
        }
        let started = Utc::now();
        state.last_attempt = Some(started);
        state.first_poll.get_or_insert(started);
        state.polls += 1;
        let mut report = FeedReport {
            name: name.clone(),
            feed_id: id.clone(),
            ..FeedReport::default()
        };
        let target = state
            .moved_to
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
            .unwrap_or_else(|| feed.url.clone());

        if self.store.is_shared() && !self.config.fetch.per_host_interval.0.is_zero() {
            // Politeness across the workers: this host's next turn among all of them.
            if let Some(host) = target.host_str() {
                let wait = self
                    .store
                    .host_turn(host, self.config.fetch.per_host_interval.0)?;
                if !wait.is_zero() {
                    debug!(wait_s = wait.as_secs_f32(), "waiting for the host's turn");
                    tokio::time::sleep(wait).await;
                }
            }
        }
        let started_fetch = std::time::Instant::now();
        let fetched = self.fetch_feed(&target, &state).await;
        self.metrics.observe_fetch(started_fetch.elapsed());
        let interval = self.config.feed_interval(feed);
        match fetched {
            Ok(resp) => {
                // A permanent redirect is followed from then on only once the new address
                // gave a feed: a lapsed domain or a site in maintenance answers 301 to a
                // parking or home page, and adopting that would lose the feed for good.
                let adopt = |state: &mut FeedState| {
                    if let Some(moved) = &resp.moved_permanently {
                        info!(to = %moved, "feed moved permanently; polling the new address from now on");
                        state.moved_to = Some(moved.to_string());
                    }
                };
                if resp.not_modified {
                    adopt(&mut state);
                    // A 304 may carry updated validators.
                    if resp.etag.is_some() || resp.last_modified.is_some() {
                        remember_validators(&mut state, &resp, &target);
                    }
                    debug!("not modified");
                    report.not_modified = true;
                    state.not_modified += 1;
                } else {
                    match parse::parse_feed(
                        &resp.body,
                        resp.content_type.as_deref(),
                        Some(&resp.final_url),
                    ) {
                        Ok(parsed) => {
                            adopt(&mut state);
                            if !parsed.repairs.is_empty() {
                                warn!(feed = %name, repairs = ?parsed.repairs, "ill-formed feed recovered");
                            }
                            report.repairs = parsed.repairs.clone();
                            report.entries_seen = parsed.entries.len();
                            state.title = parsed.title.clone().or(state.title.take());
                            let now = Utc::now();
                            let mut found = Vec::with_capacity(parsed.entries.len());
                            for entry in &parsed.entries {
                                let Some(eid) = entry_id(entry) else {
                                    warn!(feed = %name, title = ?entry.title, "entry without guid, link or title; skipped");
                                    continue;
                                };
                                found.push((eid, entry));
                            }
                            let shared = unique_entry_ids(&mut found);
                            if shared > 0 {
                                warn!(feed = %name, shared, "entries share ids; each told apart by its link");
                            }
                            remember_validators(&mut state, &resp, &target);
                            state.listed = Some(
                                found
                                    .iter()
                                    .map(|(id, _)| crate::store::listing_hash(id))
                                    .collect(),
                            );
                            self.record_success(&mut state, &mut report, interval);
                            // Entries and validators in one transaction: see the store's
                            // module doc.
                            let changes = self.store.record_poll(&id, &found, now, &state)?;
                            report.entries_new = changes.new;
                            report.entries_updated = changes.updated;
                            log_polled(&report);
                            return Ok(report);
                        }
                        Err(e) => {
                            let mut msg = format!("unparseable feed: {e}");
                            if let Some(moved) = &resp.moved_permanently {
                                msg.push_str(&format!(
                                    " (at {moved}, where {target} redirects permanently; not followed until it gives a feed)"
                                ));
                            }
                            self.record_failure(&mut state, &mut report, msg, None, interval);
                            self.forget_failing_move(&mut state, feed);
                            self.store.put_feed_state(&id, &state)?;
                            return Ok(report);
                        }
                    }
                }
                self.record_success(&mut state, &mut report, interval);
                log_polled(&report);
            }
            Err(e @ FetchError::HostPaused { .. }) => {
                // Not asked: its host asked this process to pause (another feed or page of
                // it got a 429). No failure of the feed: its backoff does not grow.
                let wait = e.retry_after().unwrap_or_default() + Duration::from_secs(1);
                let next = Utc::now() + chrono_dur(wait);
                state.next_poll = Some(next);
                report.next_poll = Some(next);
                report.error = Some(e.to_string());
                info!(feed = %report.name, retry_in_s = wait.as_secs(), "host paused; not polled");
            }
            Err(e) => {
                let retry_after = e.retry_after();
                self.record_failure(
                    &mut state,
                    &mut report,
                    e.to_string(),
                    retry_after,
                    interval,
                );
                self.forget_failing_move(&mut state, feed);
            }
        }
        self.store.put_feed_state(&id, &state)?;
        Ok(report)
    }

    /// After [`MOVED_FAILURES`] failures in a row at the address a feed moved to, the next
    /// poll tries the configured address again (and follows its redirect anew, if it still
    /// gives one to a feed): a move is not for ever when the new home goes away.
    fn forget_failing_move(&self, state: &mut FeedState, feed: &FeedConfig) {
        if state.consecutive_failures >= MOVED_FAILURES {
            if let Some(moved) = state.moved_to.take() {
                warn!(moved_to = %moved, configured = %feed.url,
                    "the feed's new address keeps failing; trying the configured address again");
            }
        }
    }

    /// The feed request, retried inside the poll when the wait is short.
    async fn fetch_feed(
        &self,
        url: &Url,
        state: &FeedState,
    ) -> Result<crate::fetch::Response, FetchError> {
        let validators_for = state
            .validators_from
            .as_deref()
            .and_then(|u| Url::parse(u).ok());
        let mut attempt = 0;
        loop {
            let res = self
                .fetcher
                .get(Request {
                    url,
                    kind: Kind::Feed,
                    etag: state.etag.as_deref(),
                    last_modified: state.last_modified.as_deref(),
                    form: None,
                    validators_for: validators_for.as_ref(),
                })
                .await;
            match res {
                // A timeout is not retried at once: a slow host gets its backoff instead.
                Err(e)
                    if e.is_transient()
                        && !matches!(e, FetchError::Timeout(_))
                        && attempt < IN_POLL_RETRIES =>
                {
                    let wait = match (&e, e.retry_after()) {
                        // The fetcher paused the host for a minute: not asked in this poll.
                        (FetchError::Status { status: 429, .. }, None) => return Err(e),
                        (_, Some(w)) => w,
                        _ => Duration::from_secs(1 << attempt),
                    };
                    if wait > IN_POLL_RETRY_MAX_WAIT {
                        return Err(e);
                    }
                    attempt += 1;
                    info!(error = %e, wait_s = wait.as_secs_f32(), attempt, "transient failure; retrying");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// Marks a poll that got an answer (new content or not modified) as a success and
    /// schedules the next one.
    fn record_success(&self, state: &mut FeedState, report: &mut FeedReport, interval: Duration) {
        state.last_success = Some(Utc::now());
        state.consecutive_failures = 0;
        state.last_error = None;
        let next = Utc::now() + chrono_dur(interval);
        state.next_poll = Some(next);
        report.next_poll = Some(next);
    }

    fn record_failure(
        &self,
        state: &mut FeedState,
        report: &mut FeedReport,
        msg: String,
        retry_after: Option<Duration>,
        interval: Duration,
    ) {
        state.consecutive_failures = state.consecutive_failures.saturating_add(1);
        state.errors += 1;
        let now = Utc::now();
        state.last_error = Some(msg.clone());
        state.last_error_at = Some(now);
        let delay = feed_backoff(
            interval,
            state.consecutive_failures,
            self.config.fetch.max_backoff.0,
            retry_after,
        );
        let next = now + chrono_dur(delay);
        state.next_poll = Some(next);
        report.next_poll = Some(next);
        report.error = Some(msg.clone());
        warn!(
            feed = %report.name,
            error = %msg,
            failures = state.consecutive_failures,
            retry_in_s = delay.as_secs(),
            "poll failed"
        );
    }
}

/// Polls in flight at once, started from a queue of feed indices and reaped as they end: the
/// one fan-out of feed polls, driven by the daemon's scheduler and by `wirewatch once`.
/// Bounded so that a long feed list is not one task (and one future's worth of memory) per
/// feed at once: spawning them all up front held hundreds of megabytes at ten thousand feeds.
/// The bound is the config's [`max_polls_in_flight`](crate::config::Config::max_polls_in_flight):
/// enough to keep the fetcher's own limits busy. Polls are known by feed id, which outlives a
/// reload (config indices do not).
pub struct Polls {
    pipeline: Pipeline,
    set: JoinSet<(String, Result<FeedReport, PipelineError>)>,
    /// Feed id of each task in flight, by task id (to know which feed a panicked task was
    /// polling).
    in_flight: HashMap<tokio::task::Id, String>,
    max: usize,
}

/// One poll that ended.
pub struct PollDone {
    /// The feed's id.
    pub feed_id: String,
    /// Its report; `None` when the poll task panicked (the feed is retried on its schedule).
    pub report: Option<FeedReport>,
}

impl Polls {
    /// No polls yet, over `pipeline`'s config.
    pub fn new(pipeline: &Pipeline) -> Polls {
        Polls {
            max: pipeline.config.max_polls_in_flight(),
            pipeline: pipeline.clone(),
            set: JoinSet::new(),
            in_flight: HashMap::new(),
        }
    }

    /// New polls use `pipeline` (a reloaded config); those in flight finish as they started.
    pub fn set_pipeline(&mut self, pipeline: &Pipeline) {
        self.max = pipeline.config.max_polls_in_flight();
        self.pipeline = pipeline.clone();
    }

    /// True when none is in flight.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// The ids of the feeds being polled.
    pub fn polling(&self) -> impl Iterator<Item = &str> + '_ {
        self.in_flight.values().map(String::as_str)
    }

    /// Starts polls of the feeds `next` yields (config indices) while there is room.
    pub fn fill(&mut self, mut next: impl FnMut() -> Option<usize>) {
        while self.set.len() < self.max {
            let Some(i) = next() else { break };
            let (Some(feed), Some(id)) = (
                self.pipeline.config.feeds.get(i).cloned(),
                self.pipeline.feeds.id(i).map(str::to_string),
            ) else {
                continue;
            };
            let p = self.pipeline.clone();
            let task_id = id.clone();
            let handle = self
                .set
                .spawn(async move { (task_id, p.poll_feed(&feed).await) });
            self.in_flight.insert(handle.id(), id);
        }
    }

    /// The next poll to end; `None` when none is in flight. A store failure is an error.
    pub async fn next(&mut self) -> Option<Result<PollDone, PipelineError>> {
        let joined = self.set.join_next_with_id().await?;
        Some(match joined {
            Ok((task, (feed_id, Ok(report)))) => {
                self.in_flight.remove(&task);
                Ok(PollDone {
                    feed_id,
                    report: Some(report),
                })
            }
            Ok((task, (_, Err(e)))) => {
                self.in_flight.remove(&task);
                Err(e)
            }
            Err(e) => {
                let feed_id = self.in_flight.remove(&e.id()).unwrap_or_default();
                error!(error = %e, feed = %feed_id, "feed poll task failed");
                Ok(PollDone {
                    feed_id,
                    report: None,
                })
            }
        })
    }

    /// Waits up to `grace` for the polls in flight, then abandons the rest (their entries stay
    /// pending or unfetched: nothing is lost).
    pub async fn finish(mut self, grace: Duration) {
        info!(in_flight = self.set.len(), "finishing in-flight polls");
        let drain = async {
            while let Some(joined) = self.set.join_next().await {
                if let Ok((_, Err(e))) = joined {
                    warn!(error = %e, "poll failed during shutdown");
                }
            }
        };
        if tokio::time::timeout(grace, drain).await.is_err() {
            warn!(abandoned = self.set.len(), "grace period over; abandoning in-flight polls (their entries stay pending or unfetched, nothing is lost)");
            self.set.shutdown().await;
        }
    }
}

/// The longest entry id stored as the feed gives it ([`entry_id`]).
pub const MAX_ENTRY_ID: usize = 512;

/// The stable id of an entry within its feed: the guid, else the link, else a hash of the
/// title and date (some feeds give neither guid nor link).
///
/// An id with control characters (PostgreSQL refuses a NUL in text) or longer than
/// [`MAX_ENTRY_ID`] bytes (too long for an index) is replaced by its SHA-256, stable from one
/// poll to the next.
pub fn entry_id(entry: &Entry) -> Option<String> {
    let storable = storable_id;
    if let Some(g) = entry
        .guid
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty())
    {
        return Some(storable(g));
    }
    if let Some(l) = entry
        .link
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        return Some(storable(l));
    }
    entry
        .title
        .as_deref()
        .is_some_and(|t| !t.trim().is_empty())
        .then(|| title_id(entry))
}

/// An id from an entry's title and date (for entries with neither guid nor link).
fn title_id(entry: &Entry) -> String {
    let mut h = Sha256::new();
    h.update(entry.title.as_deref().unwrap_or_default().trim().as_bytes());
    if let Some(p) = entry.published {
        h.update(p.to_rfc3339().as_bytes());
    }
    format!("title:{}", hex::encode(&h.finalize()[..12]))
}

/// An id as the store can index it: itself, or its SHA-256 when too long or not printable.
fn storable_id(id: &str) -> String {
    if id.len() <= MAX_ENTRY_ID && !id.chars().any(char::is_control) {
        id.to_string()
    } else {
        format!("sha256:{}", hex::encode(Sha256::digest(id.as_bytes())))
    }
}

/// Makes the ids of one document's entries unique. A feed that gives several different
/// entries one id (every `<guid>` the site's home page, one guid for all, no guid or link and
/// titles without dates) would have the store keep only the last of them: the others would
/// never be judged. Each entry of such a group gets the shared id qualified by its own link
/// (or, without one, its title and date), which stays the same from poll to poll while the feed
/// keeps sharing the id. Entries that are the same item listed twice stay one (the first).
/// Returns how many ids were shared.
pub fn unique_entry_ids(found: &mut Vec<(String, &Entry)>) -> usize {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for (id, _) in found.iter() {
        *count.entry(id.as_str()).or_default() += 1;
    }
    let shared: std::collections::HashSet<String> = count
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, _)| id.to_string())
        .collect();
    if shared.is_empty() {
        return 0;
    }
    let own_key = |e: &Entry| -> String {
        match e.link.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            Some(link) => link.to_string(),
            None => title_id(e),
        }
    };
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(found.len());
    for (id, entry) in found.drain(..) {
        if !shared.contains(&id) {
            out.push((id, entry));
            continue;
        }
        let qualified = storable_id(&format!("{id}#{}", own_key(entry)));
        if seen.insert(qualified.clone()) {
            out.push((qualified, entry));
        }
    }
    *found = out;
    shared.len()
}

/// When a failing feed is polled again: [`crate::backoff`] from its interval (held between 30 s
/// and 5 min), capped at `cap`, and never sooner than the server's Retry-After.
pub fn feed_backoff(
    interval: Duration,
    failures: u32,
    cap: Duration,
    retry_after: Option<Duration>,
) -> Duration {
    let base = interval
        .min(Duration::from_secs(300))
        .max(Duration::from_secs(30));
    let d = crate::backoff::backoff(base, failures, cap);
    match retry_after {
        Some(ra) if ra > d => ra,
        _ => d,
    }
}

/// `d` as a chrono duration, at most a century: an interval set far out to park a feed
/// ("1000000y") would otherwise overflow the date it is added to.
fn chrono_dur(d: Duration) -> chrono::Duration {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
    chrono::Duration::from_std(d.min(CENTURY)).unwrap_or(chrono::Duration::days(36_500))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        let iv = Duration::from_secs(900);
        let cap = Duration::from_secs(6 * 3600);
        let b1 = feed_backoff(iv, 1, cap, None);
        let b4 = feed_backoff(iv, 4, cap, None);
        assert!(
            b1 >= Duration::from_secs(240) && b1 <= Duration::from_secs(360),
            "{b1:?}"
        );
        assert!(
            b4 >= Duration::from_secs(1920) && b4 <= Duration::from_secs(2880),
            "{b4:?}"
        );
        let b30 = feed_backoff(iv, 30, cap, None);
        assert!(b30 <= cap.mul_f64(1.2), "{b30:?}");
        let ra = feed_backoff(iv, 1, cap, Some(Duration::from_secs(7200)));
        assert_eq!(ra, Duration::from_secs(7200));
    }

    #[test]
    fn a_parked_feed_is_due_in_a_century_not_an_overflow() {
        let far = Duration::from_secs(u64::MAX / 4);
        let next = Utc::now() + chrono_dur(far);
        assert!(next.year() > 2100 && next.year() < 2200, "{next}");
    }

    #[test]
    fn shared_ids_are_told_apart_by_link_and_repeats_stay_one() {
        let e = |guid: &str, link: &str| Entry {
            guid: Some(guid.into()),
            link: Some(link.into()),
            title: Some(format!("about {link}")),
            ..Entry::default()
        };
        let entries = [
            e("https://site.example/", "https://site.example/a"),
            e("https://site.example/", "https://site.example/b"),
            e("own", "https://site.example/c"),
            e("https://site.example/", "https://site.example/a"),
        ];
        let ids = |entries: &[Entry]| {
            let mut found: Vec<(String, &Entry)> = entries
                .iter()
                .filter_map(|e| Some((entry_id(e)?, e)))
                .collect();
            let shared = unique_entry_ids(&mut found);
            (
                shared,
                found.into_iter().map(|(id, _)| id).collect::<Vec<_>>(),
            )
        };
        let (shared, got) = ids(&entries);
        assert_eq!(shared, 1);
        assert_eq!(
            got,
            [
                "https://site.example/#https://site.example/a",
                "https://site.example/#https://site.example/b",
                "own",
            ]
        );
        // The same ids on the next poll, whatever the order; unique ids are left alone.
        let mut reversed = entries.clone();
        reversed.reverse();
        let (_, again) = ids(&reversed);
        for id in &got {
            assert!(again.contains(id), "{id} stable: {again:?}");
        }
        assert_eq!(ids(&entries[2..3]), (0, vec!["own".to_string()]));
    }

    #[test]
    fn entry_ids_prefer_guid_then_link_then_title() {
        let mut e = Entry {
            guid: Some(" g ".into()),
            link: Some("https://x.org/a".into()),
            title: Some("T".into()),
            ..Entry::default()
        };
        assert_eq!(entry_id(&e).as_deref(), Some("g"));
        e.guid = Some("".into());
        assert_eq!(entry_id(&e).as_deref(), Some("https://x.org/a"));
        e.link = None;
        assert!(entry_id(&e).is_some_and(|s| s.starts_with("title:")));
        e.title = None;
        assert_eq!(entry_id(&e), None);
        // Ids no store can index are replaced by a stable digest.
        for bad in ["a\u{0}b".to_string(), "x".repeat(MAX_ENTRY_ID + 1)] {
            e.guid = Some(bad);
            let id = entry_id(&e);
            assert!(id
                .as_deref()
                .is_some_and(|s| s.starts_with("sha256:") && s.len() == 71));
            assert_eq!(id, entry_id(&e));
        }
    }
}
