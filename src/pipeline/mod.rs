//! The pipeline: one feed poll and the processing of each new entry, as plain calls from stage
//! to stage (`fetch → parse → extract → dedup → relevance → stories → outbox → notify`).
//! One exception to that order, in the judge: an item's relevance is decided before it is
//! checked for copies, so that only texts that could alert are indexed (`item.rs` says why).
//!
//! The pipeline owns no loop and no signals: the daemon decides *when* to poll, the CLI's
//! `once` polls everything one time; both call [`Pipeline::poll_feed`] and
//! [`Pipeline::process_pending`]. State that must survive a crash goes to the store in an
//! order that makes a crash at any point safe (see the store's module doc).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn, Instrument};
use url::Url;

mod dupindex;
mod item;

pub use dupindex::{dup_entry, DupIndex};
pub use item::{doc_id_of, excerpt, Tally};

use crate::config::{Config, FeedConfig};
use crate::dedup::{DupParams, Origin, Signature};
use crate::extract::{Extractor, SiteRule};
use crate::fetch::{FetchError, Fetcher, Kind, Request};
use crate::metrics::Metrics;
use crate::notify::outbox::Endpoint;
use crate::parse::{self, Entry};
use crate::relevance::query::Query;
use crate::relevance::TopicModel;
use crate::store::{self, FeedState, SeedRecord, Store};
use crate::stories::{StoryIndex, StoryParams, StorySummary};

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

/// Retries inside one poll for transient failures whose wait is this short or shorter
/// (a 503 with `Retry-After: 2`, a dropped connection); longer waits become backoff.
const IN_POLL_RETRY_MAX_WAIT: Duration = Duration::from_secs(10);
/// At most this many extra attempts inside one poll.
const IN_POLL_RETRIES: u32 = 2;

/// Why the pipeline could not run at all (as opposed to one feed failing).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Fetch(#[from] FetchError),
    /// The seed directory could not be read.
    #[error("seeds: {0}")]
    Seeds(String),
    /// A setting the stages cannot use (site rule, query).
    #[error("config: {0}")]
    Config(String),
    /// A webhook's signing secret cannot be read.
    #[error(transparent)]
    Secret(#[from] crate::config::SecretError),
}

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
}

/// Progress of one cycle, for [`Pipeline::poll_once_observed`].
#[derive(Clone, Copy, Debug)]
pub enum CycleEvent<'a> {
    /// A feed's poll ended.
    FeedDone(&'a FeedReport),
    /// Every feed is polled; this many entries are about to be processed.
    Processing {
        /// Entries waiting.
        pending: usize,
    },
}

/// What one cycle over all feeds did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CycleReport {
    /// Per-feed reports, in config order.
    pub feeds: Vec<FeedReport>,
    /// What processing the new entries decided.
    pub decided: Tally,
    /// What the delivery pass after the cycle did.
    pub delivery: crate::notify::outbox::DeliveryReport,
}

impl CycleReport {
    /// Feeds polled.
    pub fn polled(&self) -> usize {
        self.feeds.len()
    }
    /// Feeds answered 304.
    pub fn not_modified(&self) -> usize {
        self.feeds.iter().filter(|f| f.not_modified).count()
    }
    /// Feeds that failed.
    pub fn failed(&self) -> usize {
        self.feeds.iter().filter(|f| f.error.is_some()).count()
    }
    /// New entries over all feeds.
    pub fn new_entries(&self) -> usize {
        self.feeds.iter().map(|f| f.entries_new).sum()
    }
    /// Updated entries over all feeds.
    pub fn updated_entries(&self) -> usize {
        self.feeds.iter().map(|f| f.entries_updated).sum()
    }
    /// A short human summary, for the terminal and the log.
    pub fn summary(&self) -> String {
        let d = &self.decided;
        let mut s = format!(
            "feeds      polled {:>5}   not modified {:>5}   failed {:>5}\n\
             entries    new    {:>5}   updated      {:>5}\n\
             decided    alerts {:>5}   seed copies  {:>5}   repeats {:>5}   off-topic {:>5}   known URL {:>5}   unreadable {:>5}   deferred {:>5}\n\
             delivered  {:>5}   retrying {:>5}   dead {:>5}",
            self.polled(),
            self.not_modified(),
            self.failed(),
            self.new_entries(),
            self.updated_entries(),
            d.alerts,
            d.seed_duplicates,
            d.repeats,
            d.off_topic,
            d.known_url,
            d.unreadable,
            d.deferred,
            self.delivery.delivered,
            self.delivery.retrying,
            self.delivery.dead
        );
        for f in &self.feeds {
            if let Some(e) = &f.error {
                s.push_str(&format!("\n  failed: {}: {}", f.name, e));
            }
        }
        s
    }
}

/// The stages wired together, with their shared state (store, HTTP client, the topic model
/// and the story index).
#[derive(Clone)]
pub struct Pipeline {
    config: Arc<Config>,
    /// Index of each configured feed by its id: looking a feed up by hashing every
    /// configured URL was quadratic in the number of feeds (it dominated 10,000-feed cycles).
    feed_index: Arc<std::collections::HashMap<String, usize>>,
    store: Store,
    fetcher: Arc<Fetcher>,
    extractor: Arc<Extractor>,
    topic: Arc<TopicModel>,
    stories: Arc<std::sync::Mutex<StoryIndex>>,
    dup_params: DupParams,
    dup_index: Arc<std::sync::RwLock<DupIndex>>,
    min_score: f32,
    endpoints: Arc<Vec<Endpoint>>,
    processing: Arc<tokio::sync::Mutex<()>>,
    delivery_wake: Arc<tokio::sync::Notify>,
    metrics: Metrics,
}

impl Pipeline {
    /// Builds the pipeline for a config over an open store: loads the seed set (cleaned and
    /// indexed for duplicate checks) and learns the topic model from it.
    pub fn new(config: Arc<Config>, store: Store) -> Result<Pipeline, PipelineError> {
        Self::with_metrics(config, store, Metrics::new())
    }

    /// Like [`Pipeline::new`], sharing an existing metrics registry (on reload).
    pub fn with_metrics(
        config: Arc<Config>,
        store: Store,
        metrics: Metrics,
    ) -> Result<Pipeline, PipelineError> {
        let fetcher = Arc::new(Fetcher::new(&config.fetch)?);
        let rules = site_rules(&config);
        let extractor = Extractor::new(&rules).map_err(|e| PipelineError::Config(e.to_string()))?;
        if let Some(state) = store.get_meta("extract_templates")? {
            if let Err(e) = extractor.load_templates_state(&state) {
                warn!(error = %e, "stored site templates unreadable; learning them anew");
            }
        }
        let query = match config.topic.query.as_deref().map(str::trim) {
            Some(q) if !q.is_empty() => Some(
                Query::parse(q).map_err(|e| PipelineError::Config(format!("topic.query: {e}")))?,
            ),
            _ => None,
        };
        let endpoints = crate::notify::outbox::endpoints(&config)?;
        let feed_index = Arc::new(
            config
                .feeds
                .iter()
                .enumerate()
                .rev()
                .map(|(i, f)| (store::feed_id(f.url.as_str()), i))
                .collect(),
        );
        let mut p = Pipeline {
            feed_index,
            min_score: config
                .topic
                .min_score
                .unwrap_or(crate::relevance::DEFAULT_MIN_SCORE),
            config,
            store,
            fetcher,
            extractor: Arc::new(extractor),
            topic: Arc::new(TopicModel::from_seeds::<&str>(&[])),
            stories: Arc::new(std::sync::Mutex::new(StoryIndex::new(
                &TopicModel::from_seeds::<&str>(&[]),
                StoryParams::default(),
            ))),
            dup_params: DupParams::default(),
            dup_index: Arc::new(std::sync::RwLock::new(DupIndex::default())),
            endpoints: Arc::new(endpoints),
            processing: Arc::new(tokio::sync::Mutex::new(())),
            delivery_wake: Arc::new(tokio::sync::Notify::new()),
            metrics,
        };
        let dropped = p.store.drop_off_topic_texts()?;
        if dropped > 0 {
            info!(
                dropped,
                "off-topic texts removed from the duplicate index (only texts that could alert are indexed now)"
            );
        }
        let (index, unreadable) = DupIndex::load(&p.store)?;
        if unreadable > 0 {
            warn!(unreadable, "unreadable duplicate-index records skipped");
        }
        p.dup_index = Arc::new(std::sync::RwLock::new(index));
        p.store.index_item_keys()?;
        p.load_seeds()?;
        let seeds: Vec<String> = p
            .store
            .seeds()?
            .into_iter()
            .map(|s| format!("{}\n\n{}", s.title, s.text))
            .collect();
        let topic = TopicModel::from_seeds(&seeds).with_query(query);
        let summaries: Vec<StorySummary> = p
            .store
            .stories()?
            .into_iter()
            .filter_map(|s| serde_json::from_value(s.summary).ok())
            .collect();
        p.stories = Arc::new(std::sync::Mutex::new(StoryIndex::from_summaries(
            &topic,
            StoryParams::default(),
            summaries,
        )));
        p.topic = Arc::new(topic);
        Ok(p)
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Woken whenever new alerts are committed (the delivery loop waits on it).
    pub fn delivery_wake(&self) -> Arc<tokio::sync::Notify> {
        self.delivery_wake.clone()
    }

    /// The webhook endpoints of this config, with their secrets read (built once).
    pub fn endpoints(&self) -> Arc<Vec<Endpoint>> {
        self.endpoints.clone()
    }

    /// The config of a feed by its id, if it is still configured.
    fn feed_config(&self, feed_id: &str) -> Option<&FeedConfig> {
        self.feed_index
            .get(feed_id)
            .and_then(|&i| self.config.feeds.get(i))
    }

    /// The display name of a feed by id (configured name, else its title, else its host).
    fn source_name(&self, feed_id: &str) -> String {
        if let Some(f) = self.feed_config(feed_id) {
            if f.name.is_some() {
                return f.display_name();
            }
        }
        if let Ok(Some(st)) = self.store.feed_state(feed_id) {
            if let Some(t) = st.title.filter(|t| !t.trim().is_empty()) {
                return t;
            }
            if let Some(h) = Url::parse(&st.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
            {
                return h;
            }
        }
        feed_id.to_string()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Loads the seed articles from the topic's seed directory into the store, cleaned of
    /// their boilerplate and indexed for duplicate checks (idempotent: unchanged files are
    /// left alone, removed files are dropped). Returns how many changed.
    pub fn load_seeds(&self) -> Result<usize, PipelineError> {
        let dir = &self.config.topic.seeds;
        let rd = std::fs::read_dir(dir)
            .map_err(|e| PipelineError::Seeds(format!("cannot read {}: {e}", dir.display())))?;
        let mut names = Vec::new();
        let mut changed = 0;
        let mut files: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for path in files {
            if !path.is_file()
                || path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            let bytes = std::fs::read(&path).map_err(|e| {
                PipelineError::Seeds(format!("cannot read {}: {e}", path.display()))
            })?;
            let seed = seed_record(&name, &bytes, &self.extractor);
            if seed.text.trim().is_empty() {
                warn!(seed = %name, "seed file has no text; skipped");
                continue;
            }
            let sig = Signature::from_text(&seed.text);
            let key = format!("seed:{name}");
            self.dup_index
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .store_and_insert(&self.store, item::doc_id_of(&key), key, &sig, Origin::Seed)?;
            names.push(name);
            if self.store.put_seed(&seed)? {
                changed += 1;
            }
        }
        if names.is_empty() {
            return Err(PipelineError::Seeds(format!(
                "no seed articles in {}",
                dir.display()
            )));
        }
        self.store.retain_seeds(&names)?;
        Ok(changed)
    }

    /// Polls every configured feed once, concurrently (bounded by the fetcher's limits), then
    /// processes every pending entry.
    pub async fn poll_once(&self) -> Result<CycleReport, PipelineError> {
        self.poll_once_observed(&|_| {}).await
    }

    /// [`Pipeline::poll_once`], telling `observe` as each feed's poll ends and when the
    /// processing of new entries starts (for a progress display).
    pub async fn poll_once_observed(
        &self,
        observe: &(dyn Fn(CycleEvent<'_>) + Sync),
    ) -> Result<CycleReport, PipelineError> {
        let t0 = std::time::Instant::now();
        let mut set = tokio::task::JoinSet::new();
        // A bounded number of poll tasks at a time (the fetcher limits the requests anyway):
        // spawning one task per feed up front held every feed's future in memory at once,
        // hundreds of megabytes at ten thousand feeds.
        let max_in_flight = self.config.max_polls_in_flight();
        let mut feeds = self
            .config
            .feed_poll_order()
            .into_iter()
            .filter_map(|i| Some((i, self.config.feeds.get(i)?.clone())));
        let mut reports: Vec<Option<FeedReport>> = vec![None; self.config.feeds.len()];
        loop {
            while set.len() < max_in_flight {
                let Some((i, feed)) = feeds.next() else { break };
                let me = self.clone();
                set.spawn(async move { (i, me.poll_feed(&feed).await) });
            }
            let Some(joined) = set.join_next().await else {
                break;
            };
            match joined {
                Ok((i, Ok(r))) => {
                    observe(CycleEvent::FeedDone(&r));
                    reports[i] = Some(r);
                }
                Ok((_, Err(e))) => return Err(e),
                Err(e) => warn!(error = %e, "feed poll task failed"),
            }
        }
        observe(CycleEvent::Processing {
            pending: self.store.pending_len(),
        });
        debug!(secs = t0.elapsed().as_secs_f32(), "feeds polled");
        let decided = self.process_pending().await?;
        debug!(
            secs = t0.elapsed().as_secs_f32(),
            "pending entries processed"
        );
        self.store.flush().await?;
        Ok(CycleReport {
            feeds: reports.into_iter().flatten().collect(),
            decided,
            delivery: Default::default(),
        })
    }

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
        self.metrics.count_poll(&name, report.error.is_some());
        Ok(report)
    }

    async fn poll_feed_inner(
        &self,
        feed: &FeedConfig,
        name: String,
    ) -> Result<FeedReport, PipelineError> {
        let id = store::feed_id(feed.url.as_str());
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

        let started_fetch = std::time::Instant::now();
        let fetched = self.fetch_feed(&target, &state).await;
        self.metrics.observe_fetch(started_fetch.elapsed());
        let interval = self.config.feed_interval(feed);
        match fetched {
            Ok(resp) => {
                if let Some(moved) = &resp.moved_permanently {
                    info!(to = %moved, "feed moved permanently; polling the new address from now on");
                    state.moved_to = Some(moved.to_string());
                }
                if resp.not_modified {
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
                            state.etag = resp.etag.clone();
                            state.last_modified = resp.last_modified.clone();
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
                            let msg = format!("unparseable feed: {e}");
                            self.record_failure(&mut state, &mut report, msg, None, interval);
                            self.metrics.count_poll(&name, true);
                            self.store.put_feed_state(&id, &state)?;
                            return Ok(report);
                        }
                    }
                }
                self.record_success(&mut state, &mut report, interval);
                log_polled(&report);
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
            }
        }
        self.store.put_feed_state(&id, &state)?;
        Ok(report)
    }

    /// The feed request, retried inside the poll when the wait is short.
    async fn fetch_feed(
        &self,
        url: &Url,
        state: &FeedState,
    ) -> Result<crate::fetch::Response, FetchError> {
        let mut attempt = 0;
        loop {
            let res = self
                .fetcher
                .get(Request {
                    url,
                    kind: Kind::Feed,
                    etag: state.etag.as_deref(),
                    last_modified: state.last_modified.as_deref(),
                })
                .await;
            match res {
                // A timeout is not retried at once: a slow host gets its backoff instead.
                Err(e)
                    if e.is_transient()
                        && !matches!(e, FetchError::Timeout(_))
                        && attempt < IN_POLL_RETRIES =>
                {
                    let wait = e.retry_after().unwrap_or(Duration::from_secs(1 << attempt));
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

/// The extract stage's rules from the config's `[[sites]]`.
pub fn site_rules(config: &Config) -> Vec<SiteRule> {
    config
        .sites
        .iter()
        .map(|s| SiteRule {
            host: s.host.clone(),
            drop: s.drop.clone(),
            cut_after: s.cut_after.clone(),
        })
        .collect()
}

/// The stable id of an entry within its feed: the guid, else the link, else a hash of the
/// title and date (some feeds give neither guid nor link).
pub fn entry_id(entry: &Entry) -> Option<String> {
    if let Some(g) = entry
        .guid
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty())
    {
        return Some(g.to_string());
    }
    if let Some(l) = entry
        .link
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        return Some(l.to_string());
    }
    let title = entry
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())?;
    let mut h = Sha256::new();
    h.update(title.as_bytes());
    if let Some(p) = entry.published {
        h.update(p.to_rfc3339().as_bytes());
    }
    Some(format!("title:{}", hex::encode(&h.finalize()[..12])))
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

fn chrono_dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(1))
}

/// Builds a seed record from a seed file (first line the headline, then the article as
/// published, boilerplate included), cleaned by the extract stage.
fn seed_record(name: &str, bytes: &[u8], extractor: &Extractor) -> SeedRecord {
    let raw = String::from_utf8_lossy(bytes);
    let first = raw.lines().next().unwrap_or("").trim().to_string();
    let art = extractor.clean_plain_text(&raw, None);
    SeedRecord {
        name: name.to_string(),
        title: art.title.clone().filter(|t| !t.is_empty()).unwrap_or(first),
        text: art.text,
        file_sha256: hex::encode(Sha256::digest(bytes)),
    }
}

/// Opens the store of a config, creating the state directory.
pub fn open_store(config: &Config) -> Result<Store, store::StoreError> {
    Store::open(&config.db_path())
}

/// Resolves the config path: the flag, else `$WIREWATCH_CONFIG`, else the default.
pub fn config_path(flag: Option<&Path>) -> std::path::PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("WIREWATCH_CONFIG").map(Into::into))
        .unwrap_or_else(|| crate::config::DEFAULT_CONFIG_PATH.into())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
