//! Process metrics, rendered in the Prometheus text format at `/metrics`.
//!
//! Counters and histograms live in memory (they restart at zero with the process, as
//! Prometheus expects); gauges that the store already knows (outbox depth, dead letters,
//! per-feed state) are read from it at scrape time.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Label of a per-feed metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeedLabel {
    /// The feed's display name.
    pub feed: String,
}

/// Label of a per-decision metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabel {
    /// The topic's id.
    pub topic: String,
    /// seed_duplicate, repeat, off_topic, alert, unreadable, known_url.
    pub decision: String,
}

/// Label of a per-outcome delivery metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// delivered, retry, dead.
    pub outcome: String,
}

/// The process's metrics. Cheap to clone (shared handles).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    polls: Family<FeedLabel, Counter>,
    poll_errors: Family<FeedLabel, Counter>,
    items: Family<DecisionLabel, Counter>,
    deliveries: Family<OutcomeLabel, Counter>,
    fetch_seconds: Histogram,
    extract_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Metrics {
        let mut r = Registry::with_prefix("wirewatch");
        let polls = Family::<FeedLabel, Counter>::default();
        let poll_errors = Family::<FeedLabel, Counter>::default();
        let items = Family::<DecisionLabel, Counter>::default();
        let deliveries = Family::<OutcomeLabel, Counter>::default();
        let fetch_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 14));
        let extract_seconds = Histogram::new(exponential_buckets(0.0002, 2.0, 14));
        r.register("feed_polls", "Feed polls made", polls.clone());
        r.register(
            "feed_poll_errors",
            "Feed polls that failed",
            poll_errors.clone(),
        );
        r.register("items", "Items decided, by decision", items.clone());
        r.register(
            "webhook_deliveries",
            "Webhook delivery attempts, by outcome",
            deliveries.clone(),
        );
        r.register(
            "fetch_duration_seconds",
            "Duration of feed and page requests",
            fetch_seconds.clone(),
        );
        r.register(
            "extract_duration_seconds",
            "Duration of article extraction",
            extract_seconds.clone(),
        );
        Metrics {
            registry: Arc::new(r),
            polls,
            poll_errors,
            items,
            deliveries,
            fetch_seconds,
            extract_seconds,
        }
    }

    /// Counts a feed poll.
    pub fn count_poll(&self, feed: &str, failed: bool) {
        let l = FeedLabel {
            feed: feed.to_string(),
        };
        self.polls.get_or_create(&l).inc();
        // Created at the first poll either way, so a healthy feed shows 0 errors.
        let errors = self.poll_errors.get_or_create(&l);
        if failed {
            errors.inc();
        }
    }

    /// The counter of a topic's decisions of one kind (a handle: a judge keeps its own).
    pub fn decision_counter(&self, topic: &str, decision: &str) -> Counter {
        self.items
            .get_or_create(&DecisionLabel {
                topic: topic.to_string(),
                decision: decision.to_string(),
            })
            .clone()
    }

    /// Counts an item decision of a topic.
    pub fn count_decision(&self, topic: &str, decision: &str) {
        self.items
            .get_or_create(&DecisionLabel {
                topic: topic.to_string(),
                decision: decision.to_string(),
            })
            .inc();
    }

    /// Counts a delivery attempt's outcome.
    pub fn count_delivery(&self, outcome: &str) {
        self.deliveries
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Records a request's duration.
    pub fn observe_fetch(&self, d: Duration) {
        self.fetch_seconds.observe(d.as_secs_f64());
    }

    /// Records an extraction's duration.
    pub fn observe_extract(&self, d: Duration) {
        self.extract_seconds.observe(d.as_secs_f64());
    }

    /// The in-memory metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode_registry(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
