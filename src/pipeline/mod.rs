//! The pipeline: the stages wired together, data flowing one way.
//!
//! ```text
//! fetch → parse (poll.rs)  →  store: entries pending
//! pending entries → text.rs (fetch the page, extract; else the feed's text)
//!                 → judge (identity → relevance → copies → story → alert)  →  store
//!                 → notify (the outbox delivers; the digest reads the alerts)
//! ```
//!
//! [`poll`]: one feed poll, and [`Polls`], the bounded fan-out of many. [`text`]: an entry's
//! text. [`feedback`]: the reader's marks, and re-judging a window with them. The judge is its own stage ([`crate::judge`]); the pipeline runs the texts of many
//! entries concurrently (each in its own task, where the judge's [`Judge::features`] are
//! computed too) and hands them to the judge one at a time, oldest first.
//!
//! The pipeline owns no loop and no signals: the daemon decides *when* to poll, the CLI's
//! `once` polls everything one time; both call [`Pipeline::poll_feed`] (through [`Polls`]) and
//! [`Pipeline::process_pending`]. State that must survive a crash goes to the store in an
//! order that makes a crash at any point safe (see the store's module doc).

pub mod feedback;
mod poll;
mod text;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn, Instrument};
use url::Url;

pub use feedback::FeedbackError;
pub use poll::{entry_id, feed_backoff, FeedReport, PollDone, Polls};

use crate::config::{Config, FeedConfig};
use crate::extract::Extractor;
use crate::fetch::{FetchError, Fetcher};
use crate::judge::{item_title, Judge, Panel, Prepared, Tally, Unwritten};
use crate::metrics::Metrics;
use crate::notify::{DeliveryReport, Endpoint};
use crate::relevance::query::Query;
use crate::relevance::TopicModel;
use crate::store::{self, SeedRecord, Store};

/// How many entries' texts are obtained ahead of the judge, in multiples of the fetch
/// concurrency. The fetcher bounds the requests in flight; the margin keeps them all busy
/// while the oldest entry, which the judge waits for, is still being fetched (10,000 feeds:
/// 1.50 cores used instead of 1.45 with a margin of one).
const AHEAD: usize = 4;

/// On a shared store, the judge's daemon pass waits until no entry was stored for this long
/// ([`Pipeline::process_settled`]) ...
const SHARED_QUIET: std::time::Duration = std::time::Duration::from_secs(4);
/// ... unless the oldest pending entry has waited this long.
const SHARED_MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Why the pipeline could not run at all (as opposed to one feed failing).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Fetch(#[from] FetchError),
    /// A seed file or the seed directory could not be read.
    #[error("seeds: cannot read {}: {source}", path.display())]
    Seeds {
        /// The directory or file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A topic's seed directory holds no seed article.
    #[error("topic {topic}: no seed articles in {}", dir.display())]
    NoSeeds {
        /// The topic's id.
        topic: String,
        /// Its seed directory.
        dir: std::path::PathBuf,
    },
    /// A site rule cannot be compiled.
    #[error("config: {0}")]
    Sites(#[from] crate::extract::ExtractError),
    /// A topic's query does not parse.
    #[error("config: topic {topic}: query: {error}")]
    TopicQuery {
        /// The topic's id.
        topic: String,
        /// The parser's message (in the message itself, not a separate cause).
        error: crate::relevance::query::QueryError,
    },
    /// A webhook's signing secret cannot be read.
    #[error(transparent)]
    Secret(#[from] crate::config::SecretError),
    /// The reader's feedback could not be applied.
    #[error(transparent)]
    Feedback(#[from] FeedbackError),
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
    /// What processing the new entries decided: one decision per topic and entry.
    pub decided: Tally,
    /// The topics the entries were judged for.
    pub topics: usize,
    /// What the delivery pass after the cycle did.
    pub delivery: DeliveryReport,
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
        if self.topics > 1 {
            s.push_str(&format!(
                "\n           (decisions are counted once per topic: {} topics)",
                self.topics
            ));
        }
        for f in &self.feeds {
            if let Some(e) = &f.error {
                s.push_str(&format!("\n  failed: {}: {}", f.name, e));
            }
        }
        s
    }
}

/// The configured feeds by id: built once per config, used by the pipeline (a feed's
/// settings while processing its entries) and the daemon's scheduler. Looking a feed up by
/// hashing every configured URL was quadratic in the number of feeds (it dominated
/// 10,000-feed cycles).
#[derive(Debug, Default)]
pub struct FeedIndex {
    /// Feed ids by config index.
    ids: Vec<String>,
    /// Config index by feed id (the first feed of an id, should two URLs hash alike).
    by_id: HashMap<String, usize>,
}

impl FeedIndex {
    /// The index of a config's feeds.
    pub fn new(config: &Config) -> FeedIndex {
        let ids: Vec<String> = config
            .feeds
            .iter()
            .map(|f| store::feed_id(f.url.as_str()))
            .collect();
        let mut by_id = HashMap::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            by_id.entry(id.clone()).or_insert(i);
        }
        FeedIndex { ids, by_id }
    }

    /// The id of the feed at a config index.
    pub fn id(&self, index: usize) -> Option<&str> {
        self.ids.get(index).map(String::as_str)
    }

    /// The config index of a feed id, if it is configured.
    pub fn index(&self, feed_id: &str) -> Option<usize> {
        self.by_id.get(feed_id).copied()
    }

    /// The config of a feed by its id, if it is still configured.
    pub fn config<'a>(&self, config: &'a Config, feed_id: &str) -> Option<&'a FeedConfig> {
        self.index(feed_id).and_then(|i| config.feeds.get(i))
    }
}

/// The stages wired together, with their shared state.
#[derive(Clone)]
pub struct Pipeline {
    config: Arc<Config>,
    feeds: Arc<FeedIndex>,
    store: Store,
    fetcher: Arc<Fetcher>,
    extractor: Arc<Extractor>,
    /// Every topic's judge.
    panel: Arc<Panel>,
    endpoints: Arc<Vec<Endpoint>>,
    /// Seed files new or changed when this pipeline was built.
    seeds_changed: usize,
    processing: Arc<tokio::sync::Mutex<()>>,
    /// On a shared store, the judge lease's epoch the last pass judged under (see
    /// [`Pipeline::save_pass_state`]).
    judging_epoch: Arc<std::sync::atomic::AtomicU64>,
    /// Whether this process looked at the near misses once already ([`Pipeline::process_pending`]).
    late_rescues_looked: Arc<std::sync::atomic::AtomicBool>,
    /// The fetcher's [`Fetcher::pause_count`] when its host pauses were last stored.
    pauses_saved: Arc<std::sync::atomic::AtomicU64>,
    delivery_wake: Arc<tokio::sync::Notify>,
    /// One delivery pass at a time, for every deliverer of the process ([`Pipeline::delivery_pass`]).
    delivery_pass: Arc<tokio::sync::Mutex<()>>,
    /// Google News ids looked up already ([`text`]), for the life of the process.
    google_ids: Arc<std::sync::Mutex<std::collections::HashMap<String, Url>>>,
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
        // Hosts that asked an earlier process (or another worker) to pause stay paused.
        fetcher.adopt_pauses(&stored_host_pauses(&store));
        let extractor = Extractor::new(&config.sites)?;
        if let Some(state) = store.get_meta("extract_templates")? {
            if let Err(e) = extractor.load_templates_state(&state) {
                warn!(error = %e, "stored site templates unreadable; learning them anew");
            }
        }
        let endpoints = Arc::new(crate::notify::outbox::endpoints(&config)?);
        let mut judges = Vec::with_capacity(config.topics.len());
        let mut seeds_changed = 0;
        let mut seed_names = Vec::new();
        for t in &config.topics {
            let id = t.id();
            let span = tracing::info_span!("topic", topic = %id);
            let _g = span.enter();
            let query = match t.query.as_deref().map(str::trim) {
                Some(q) if !q.is_empty() => {
                    Some(Query::parse(q).map_err(|e| PipelineError::TopicQuery {
                        topic: id.clone(),
                        error: e,
                    })?)
                }
                _ => None,
            };
            let (seeds, changed) = load_seeds(t, &extractor, &store)?;
            seeds_changed += changed;
            seed_names.extend(seeds.iter().map(|s| s.name.clone()));
            let texts: Vec<String> = seeds
                .iter()
                .map(|s| format!("{}\n\n{}", s.title, s.text))
                .collect();
            let topic = TopicModel::from_seeds(&texts).with_query(query);
            let min_score = t.min_score.unwrap_or(crate::relevance::DEFAULT_MIN_SCORE);
            let seed_texts: Vec<(String, String)> = seeds
                .iter()
                .map(|s| (s.title.clone(), s.text.clone()))
                .collect();
            let mut judge = Judge::new(
                store.clone(),
                (&id, &t.name),
                topic,
                &seed_texts,
                min_score,
                endpoints.clone(),
                metrics.clone(),
            )?
            .following_languages(&t.languages);
            if t.webhooks.is_some() {
                judge = judge.routed_to(
                    endpoints
                        .iter()
                        .filter(|e| t.routes_to(&e.name))
                        .map(|e| e.id.clone())
                        .collect(),
                );
            }
            for s in &seeds {
                judge.index_seed(&s.name, &s.text)?;
            }
            judges.push(judge);
        }
        store.retain_seeds(&seed_names)?;
        let panel = Panel::new(store.clone(), judges, config.store.keep_text.0);
        Ok(Pipeline {
            feeds: Arc::new(FeedIndex::new(&config)),
            config,
            store,
            fetcher,
            extractor: Arc::new(extractor),
            panel: Arc::new(panel),
            endpoints,
            seeds_changed,
            processing: Arc::new(tokio::sync::Mutex::new(())),
            judging_epoch: Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX)),
            late_rescues_looked: Arc::default(),
            pauses_saved: Arc::default(),
            delivery_wake: Arc::new(tokio::sync::Notify::new()),
            delivery_pass: Arc::default(),
            google_ids: Arc::default(),
            metrics,
        })
    }

    /// The same pipeline built again from the store: what a worker that takes the judge
    /// lease anew does, since other workers decided meanwhile what its judges hold in memory
    /// (stories, the duplicate index, what the topics learned).
    pub fn rebuilt(&self) -> Result<Pipeline, PipelineError> {
        Ok(Pipeline::with_metrics(
            self.config.clone(),
            self.store.clone(),
            self.metrics.clone(),
        )?
        .succeeding(self))
    }

    /// This pipeline as the successor of `previous` in the same process (a reload, a judge
    /// lease taken anew): it shares its locks and wake-ups, so that work the previous one
    /// still runs (a re-judge or an `alerts --retry` the control socket started with it)
    /// never runs beside the same work of this one: two judges deciding at once, or the
    /// same outbox row sent twice.
    pub fn succeeding(mut self, previous: &Pipeline) -> Pipeline {
        self.processing = previous.processing.clone();
        self.delivery_wake = previous.delivery_wake.clone();
        self.delivery_pass = previous.delivery_pass.clone();
        self
    }

    /// The lock that keeps the process's delivery passes one at a time (see
    /// [`crate::notify::Deliverer::sharing_passes`]).
    pub fn delivery_pass(&self) -> Arc<tokio::sync::Mutex<()>> {
        self.delivery_pass.clone()
    }

    /// Stores what the judges keep between passes (near misses, remembered texts, what the
    /// topics learned), as the end of a pass does: for a pass stopped in mid-course (SIGTERM,
    /// a reload). On a shared store, only while this worker holds the judge lease it judged
    /// the pass under: a worker that lost it meanwhile (even if it took it again since) must
    /// not overwrite what another holder stored.
    pub fn save_pass_state(&self) -> Result<(), PipelineError> {
        if self.store.is_shared() {
            let judged_under = self.judging_epoch.load(std::sync::atomic::Ordering::SeqCst);
            if self.store.judge_lease()? != Some(judged_under) {
                return Ok(());
            }
        }
        self.panel.end_pass()?;
        Ok(())
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Woken whenever new alerts are committed (the delivery loop waits on it).
    pub fn delivery_wake(&self) -> Arc<tokio::sync::Notify> {
        self.delivery_wake.clone()
    }

    /// Every topic's judge.
    pub fn panel(&self) -> &Panel {
        &self.panel
    }

    /// The webhook endpoints of this config, with their secrets read (built once).
    pub fn endpoints(&self) -> Arc<Vec<Endpoint>> {
        self.endpoints.clone()
    }

    /// The configured feeds by id.
    pub fn feeds(&self) -> &FeedIndex {
        &self.feeds
    }

    /// How many seed files were new or changed when this pipeline was built (loaded once,
    /// at start and at each reload).
    pub fn seeds_changed(&self) -> usize {
        self.seeds_changed
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The display name of a feed by id (configured name, else its title, else its host).
    fn source_name(&self, feed_id: &str) -> String {
        if let Some(f) = self.feeds.config(&self.config, feed_id) {
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
        let mut order = self.config.feed_poll_order().into_iter();
        let mut reports: Vec<Option<FeedReport>> = vec![None; self.config.feeds.len()];
        let mut polls = Polls::new(self);
        loop {
            polls.fill(|| order.next());
            let Some(done) = polls.next().await else {
                break;
            };
            let done = done?;
            let slot = self
                .feeds
                .index(&done.feed_id)
                .and_then(|i| reports.get_mut(i));
            if let (Some(r), Some(slot)) = (done.report, slot) {
                observe(CycleEvent::FeedDone(&r));
                *slot = Some(r);
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
            topics: self.config.topics.len(),
            delivery: Default::default(),
        })
    }

    /// Stores the hosts' pauses when one was asked for since the last time (a 429), merged
    /// with those stored, so that a restarted process or another worker does not ask a paused
    /// host again. Cheap when there is nothing new. A store failure costs only that: a
    /// warning, and the pause kept in this process.
    pub(crate) fn remember_host_pauses(&self) {
        use std::sync::atomic::Ordering;
        let n = self.fetcher.pause_count();
        if self.pauses_saved.swap(n, Ordering::SeqCst) == n {
            return;
        }
        let now = chrono::Utc::now();
        let mut all: std::collections::BTreeMap<String, chrono::DateTime<chrono::Utc>> =
            stored_host_pauses(&self.store)
                .into_iter()
                .filter(|(_, until)| *until > now)
                .collect();
        for (host, until) in self.fetcher.pauses() {
            let e = all.entry(host).or_insert(until);
            *e = (*e).max(until);
        }
        let value = serde_json::to_value(&all).unwrap_or_default();
        if let Err(e) = self.store.put_meta(HOST_PAUSES, &value) {
            warn!(error = %e, "could not store the hosts' pauses; a restart may ask them again");
        }
    }

    /// On a shared store, pauses the hosts another worker was asked to pause since this
    /// process started (its own are adopted when it starts): a 429 that one worker got keeps
    /// every worker away from the host. One small read; the embedded store has no other
    /// process to learn from.
    pub(crate) fn adopt_stored_pauses(&self) {
        if self.store.is_shared() {
            self.fetcher.adopt_pauses(&stored_host_pauses(&self.store));
        }
    }

    /// Judges the near misses again against the stories as they are now
    /// ([`Panel::late_rescues`]). A late-rescued item counts once more, as the alert it
    /// became.
    fn late_rescues(
        &self,
        unwritten: &mut Unwritten,
        tally: &mut Tally,
    ) -> Result<(), PipelineError> {
        let late = self.panel.late_rescues(unwritten)?;
        if late.alerts > 0 {
            info!(
                alerts = late.alerts,
                "near misses rescued by a story started since"
            );
        }
        tally.alerts += late.alerts;
        tally.repeats += late.repeats;
        tally.seed_duplicates += late.seed_duplicates;
        Ok(())
    }

    /// Adds one pass's counts of where a feed's texts came from to its stored ones. They are
    /// statistics for `feeds` and the status page: a record that cannot be read starts over
    /// from this pass, and one that cannot be written is skipped, each with a warning, rather
    /// than failing a pass whose decisions are already committed.
    fn count_texts(&self, feed_id: &str, pass: &store::FeedTexts) {
        let key = store::FeedTexts::key(feed_id);
        let mut all = match self.store.get_meta(&key) {
            Ok(None) => store::FeedTexts::default(),
            Ok(Some(v)) => serde_json::from_value(v).unwrap_or_else(|e| {
                warn!(feed = %feed_id, error = %e, "unreadable text counts; counting again from this pass");
                store::FeedTexts::default()
            }),
            Err(e) => {
                warn!(feed = %feed_id, error = %e, "could not read text counts; this pass's are not added");
                return;
            }
        };
        all.page += pass.page;
        all.feed += pass.feed;
        all.none += pass.none;
        let saved = serde_json::to_value(&all)
            .map_err(|e| e.to_string())
            .and_then(|v| self.store.put_meta(&key, &v).map_err(|e| e.to_string()));
        if let Err(e) = saved {
            warn!(feed = %feed_id, error = %e, "could not save text counts");
        }
    }

    /// Processes every pending entry (new, or changed by its feed, since it was last
    /// processed), oldest first. Returns what was decided.
    pub async fn process_pending(&self) -> Result<Tally, PipelineError> {
        self.process(false).await
    }

    /// The daemon's pass: [`Pipeline::process_pending`], except that on a shared store it
    /// waits while entries are still arriving (one stored in the last [`SHARED_QUIET`], for
    /// at most [`SHARED_MAX_WAIT`]): the workers poll feeds at different instants, and the
    /// entries of one news moment are judged together, in publication order (an original
    /// before its re-posts, a story's first report before its follow-ups), as one process
    /// polling them all would.
    pub async fn process_settled(&self) -> Result<Tally, PipelineError> {
        self.process(self.store.is_shared()).await
    }

    async fn process(&self, settle: bool) -> Result<Tally, PipelineError> {
        let _one_at_a_time = self.processing.lock().await;
        // On a shared store only the holder of the judge lease judges (`once` beside running
        // workers leaves the entries to their judge).
        if self.store.is_shared() {
            match self.store.judge_lease()? {
                Some(epoch) => self
                    .judging_epoch
                    .store(epoch, std::sync::atomic::Ordering::SeqCst),
                None => {
                    debug!("another worker judges; entries left to it");
                    return Ok(Tally::default());
                }
            }
        }
        if settle {
            if let Some((oldest, newest)) = self.store.pending_ages()? {
                if newest < SHARED_QUIET && oldest < SHARED_MAX_WAIT {
                    debug!("entries still arriving; judging them together once quiet");
                    return Ok(Tally::default());
                }
            }
        }
        // The reader's marks as the store holds them: another process (a CLI or a status page
        // against a shared store) may have made or undone one since the last pass.
        for judge in self.panel.judges() {
            judge.refresh_marks()?;
        }
        // Keys only, in order; each record is read when its turn comes, so memory holds the
        // entries in flight, not every pending entry of a large cycle.
        let order = self.store.pending_order()?;
        let mut tally = Tally::default();
        // What the reader asked to judge again from elsewhere (see `feedback`).
        if self.store.is_shared() {
            let rejudged = self.queued_rejudges().await?;
            tally.alerts += rejudged.alerts;
            tally.off_topic += rejudged.off_topic;
        }
        if !self
            .late_rescues_looked
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            // The first pass of a process looks at the near misses once whatever it decides:
            // a process killed after a pass grew a story, before it looked, would otherwise
            // leave them unrescued for good.
            self.late_rescues(&mut Unwritten::default(), &mut tally)?;
        }
        // Once a day, what is older than `[store] retain` is forgotten (on a shared store by
        // the judge lease's holder alone, as this whole pass). A store error is the pass's.
        let retain = self.config.store.retain.0;
        let feeds = Arc::clone(&self.feeds);
        self.store
            .blocking("retention", move |s| {
                store::retention::run_if_due(s, retain, &|id| feeds.index(id).is_some())
            })
            .await?;
        if order.is_empty() {
            return Ok(tally);
        }
        // Texts are obtained concurrently, in order, each in its own task, so that extraction
        // (CPU) runs on every worker thread, not only on the one polling this stream
        // (profiled: that single thread set the cycle's pace). Everything that does not
        // depend on earlier decisions happens there: reading the record, fetching and
        // extracting the text, the judge's features. The judge, which must see the decisions
        // before it, runs in order on this task.
        let prepared = stream::iter(order.into_iter().map(|key| {
            let me = self.clone();
            async move { tokio::spawn(async move { me.prepare(&key).await }).await }
        }))
        .buffered(AHEAD * self.config.fetch.concurrency.max(1));
        tokio::pin!(prepared);
        let mut unwritten = Unwritten::default();
        // Where each feed's texts came from in this pass (feed health, `/api/feeds`).
        let mut texts: std::collections::HashMap<String, store::FeedTexts> =
            std::collections::HashMap::new();
        while let Some(joined) = prepared.next().await {
            let p = match joined {
                Ok(Ok(Some(p))) => p,
                Ok(Ok(None)) => continue,
                Ok(Err(e)) => return Err(e.into()),
                Err(e) => {
                    // The entry stays pending (its record was moved into the failed task);
                    // the next cycle tries it again.
                    warn!(error = %e, "text task failed");
                    tally.count(crate::judge::Verdict::Deferred);
                    continue;
                }
            };
            if let Ok(t) = &p.text {
                let c = texts.entry(p.rec.feed_id.clone()).or_default();
                match t.source {
                    store::TextSource::Page => c.page += 1,
                    store::TextSource::FeedContent | store::TextSource::FeedSummary => c.feed += 1,
                    store::TextSource::None => c.none += 1,
                }
            }
            let span = tracing::info_span!("item", feed = %p.rec.feed_id, id = %p.rec.id);
            let _g = span.enter();
            for v in self.panel.judge(p, &mut unwritten)? {
                tally.count(v);
            }
            if unwritten.is_full() {
                unwritten.write(&self.store)?;
            }
        }
        unwritten.write(&self.store)?;
        // Pages asked for pauses too.
        self.remember_host_pauses();
        if tally.alerts > 0 {
            // A story started (or grew) in this pass: near misses judged before it may report
            // it.
            self.late_rescues(&mut unwritten, &mut tally)?;
        }
        self.save_pass_state()?;
        for (feed_id, pass) in texts {
            self.count_texts(&feed_id, &pass);
        }
        if let Err(e) = self
            .store
            .put_meta("extract_templates", &self.extractor.templates_state())
        {
            warn!(error = %e, "could not save learned site templates");
        }
        if tally.alerts > 0 {
            self.delivery_wake.notify_one();
        }
        Ok(tally)
    }

    /// One pending entry made ready for the judge: its record, its text and the judge's
    /// features of that text. `None` when it is no longer pending.
    async fn prepare(
        &self,
        key: &store::PendingKey,
    ) -> Result<Option<Prepared>, store::StoreError> {
        let Some(rec) = self.store.pending_entry(key)? else {
            return Ok(None);
        };
        if rec.retry_at.is_some_and(|t| t > chrono::Utc::now()) {
            // Its page is tried again later; it stays pending until then.
            return Ok(None);
        }
        let span = tracing::info_span!("item", feed = %rec.feed_id, id = %rec.id);
        let text = self.obtain_text(&rec).instrument(span).await;
        let features = text.as_ref().ok().and_then(|t| {
            (!t.article.text.trim().is_empty()).then(|| {
                self.panel
                    .features(&item_title(&rec, &t.article), &t.article.text)
            })
        });
        // The outlet the feed names (an aggregator's `<source>`), else the feed itself.
        let source = match rec.entry.source.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => self.source_name(&rec.feed_id),
        };
        Ok(Some(Prepared {
            rec,
            text,
            source,
            features,
        }))
    }
}

/// Loads the seed articles from the topic's seed directory into the store, cleaned of their
/// boilerplate (idempotent: unchanged files are left alone, removed files are dropped).
/// Returns the seeds and how many were new or changed.
fn load_seeds(
    topic: &crate::config::TopicConfig,
    extractor: &Extractor,
    store: &Store,
) -> Result<(Vec<SeedRecord>, usize), PipelineError> {
    let dir = &topic.seeds;
    let id = topic.id();
    let rd = std::fs::read_dir(dir).map_err(|source| PipelineError::Seeds {
        path: dir.clone(),
        source,
    })?;
    let mut seeds = Vec::new();
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
        let bytes = std::fs::read(&path).map_err(|source| PipelineError::Seeds {
            path: path.clone(),
            source,
        })?;
        // Stored as `TOPIC/FILE`: two topics' seed directories may hold files of one name.
        let seed = seed_record(&format!("{id}/{name}"), &bytes, extractor);
        if seed.text.trim().is_empty() {
            warn!(seed = %name, "seed file has no text; skipped");
            continue;
        }
        if store.put_seed(&seed)? {
            changed += 1;
        }
        seeds.push(seed);
    }
    if seeds.is_empty() {
        return Err(PipelineError::NoSeeds {
            topic: id,
            dir: dir.clone(),
        });
    }
    Ok((seeds, changed))
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
/// Records of a single-topic version are given to the config's first topic
/// ([`store::adopt_single_topic`]).
pub fn open_store(config: &Config) -> Result<Store, store::StoreError> {
    let store = match config
        .store
        .postgres()
        .map_err(|e| store::StoreError::Config {
            message: e.to_string(),
        })? {
        Some(opts) => Store::from_backend(Arc::new(store::postgres::PgStore::open(&opts)?)),
        None => Store::open(&config.db_path())?,
    };
    let first = config.first_topic();
    store::adopt_single_topic(&store, &first.id(), &first.name)?;
    Ok(store)
}

/// Resolves the config path: the flag, else `$WIREWATCH_CONFIG`, else the default.
pub fn config_path(flag: Option<&Path>) -> std::path::PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("WIREWATCH_CONFIG").map(Into::into))
        .unwrap_or_else(|| crate::config::DEFAULT_CONFIG_PATH.into())
}

/// The meta value holding the hosts' pauses: `{"host:port": "end (RFC 3339)"}`.
const HOST_PAUSES: &str = "host_pauses";

/// The hosts' pauses as stored; none when unreadable (said in the log): a pause is a
/// courtesy, not worth failing a start for.
fn stored_host_pauses(store: &crate::store::Store) -> Vec<crate::fetch::HostPause> {
    match store.get_meta(HOST_PAUSES) {
        Ok(Some(v)) => serde_json::from_value::<
            std::collections::BTreeMap<String, chrono::DateTime<chrono::Utc>>,
        >(v)
        .map(|m| m.into_iter().collect())
        .unwrap_or_else(|e| {
            warn!(error = %e, "stored host pauses unreadable; ignored");
            Vec::new()
        }),
        Ok(None) => Vec::new(),
        Err(e) => {
            warn!(error = %e, "stored host pauses unreadable; ignored");
            Vec::new()
        }
    }
}
