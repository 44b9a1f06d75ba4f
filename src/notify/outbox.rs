//! The outbox stage: durable, ordered, at-least-once delivery of decided alerts to webhooks.
//!
//! An alert and one outbox row per matching endpoint are written in the same transaction as
//! the item's decision (see the store), so an alert is never lost between deciding and
//! sending. Delivery reads the rows back: per endpoint strictly in alert order (a failing head
//! blocks the rows behind it, so a receiver never sees alerts out of order), endpoints
//! concurrently (one slow receiver does not hold up another). A 2xx moves the row to
//! `delivered`: first in the store's delivery journal (one append, microseconds after the
//! answer), then in sled, flushed before the next row is tried. So a receiver that answered 2xx
//! is not sent the same alert again; only a crash in the microseconds between its answer and
//! the journal append could repeat one, and the stable `X-Wirewatch-Delivery` id lets
//! receivers drop that too.
//! Transient failures back off exponentially (honouring Retry-After) until the endpoint's
//! `max_age`, then become dead letters; permanent ones (4xx other than 408/429) die at once.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn, Instrument};

use crate::config::{Config, WebhookConfig};
use crate::notify::{self, AlertPayload, DeliveryOutcome};
use crate::store::{AlertRecord, DeliveryRecord, DeliveryState, Store, StoreError};

/// First retry delay of a failed delivery; doubles per attempt.
const RETRY_BASE: Duration = Duration::from_secs(5);
/// Longest delay between two attempts of our own choosing.
const RETRY_CAP: Duration = Duration::from_secs(3600);
/// Longest delay a receiver's `Retry-After` can ask for.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(6 * 3600);

/// A configured endpoint, ready to send to.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Its id in the outbox.
    pub id: String,
    /// Name for logs.
    pub name: String,
    /// The config.
    pub cfg: WebhookConfig,
    secret: Option<Vec<u8>>,
}

impl Endpoint {
    /// Whether an alert goes to this endpoint (its filters).
    pub fn wants(&self, alert: &AlertRecord) -> bool {
        (!self.cfg.new_stories_only || alert.new_story) && alert.score >= self.cfg.min_score
    }
}

/// Why the outbox cannot deliver with a config.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// A webhook's signing secret cannot be read.
    #[error(transparent)]
    Secret(#[from] crate::config::SecretError),
    /// The HTTP client could not be built.
    #[error("building the webhook client: {0}")]
    Client(#[from] reqwest::Error),
}

/// The endpoints of a config, with their secrets read: built once per loaded config and shared
/// by the judge (which queues alerts for them) and the deliverer. A missing secret is an
/// error: sending unsigned where the user asked for signatures would be worse than not sending.
pub fn endpoints(config: &Config) -> Result<Vec<Endpoint>, crate::config::SecretError> {
    config
        .webhooks
        .iter()
        .map(|w| {
            Ok(Endpoint {
                id: w.endpoint_id(),
                name: w.display_name(),
                secret: w.secret()?,
                cfg: w.clone(),
            })
        })
        .collect()
}

/// The endpoint ids an alert is queued for.
pub fn route(alert: &AlertRecord, endpoints: &[Endpoint]) -> Vec<String> {
    endpoints
        .iter()
        .filter(|e| e.wants(alert))
        .map(|e| e.id.clone())
        .collect()
}

/// The payload every sender renders.
pub fn payload(a: &AlertRecord) -> AlertPayload {
    AlertPayload {
        id: a.id.clone(),
        url: a.url.clone(),
        title: a.title.clone(),
        source: a.source.clone(),
        published: a.published,
        story: a.story.clone(),
        story_title: a.story_title.clone(),
        new_story: a.new_story,
        score: a.score,
        excerpt: a.excerpt.clone(),
        duplicates: a.duplicates.clone(),
        topic: a.topic.clone(),
        topic_name: a.topic_name.clone(),
    }
}

/// What a delivery pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryReport {
    /// Deliveries answered 2xx.
    pub delivered: usize,
    /// Attempts that failed and will be retried.
    pub retrying: usize,
    /// Deliveries given up (dead letters).
    pub dead: usize,
}

impl DeliveryReport {
    fn add(&mut self, o: DeliveryReport) {
        self.delivered += o.delivered;
        self.retrying += o.retrying;
        self.dead += o.dead;
    }
}

/// Sends what the outbox holds. Clones share one pass at a time: the daemon's delivery loop
/// and a `wirewatch alerts --retry` sent to the daemon never deliver the same row at once;
/// so do deliverers given the same lock ([`Deliverer::sharing_passes`]: the next config's,
/// after a reload, while a retry the old one started still runs).
#[derive(Clone)]
pub struct Deliverer {
    pass: Arc<tokio::sync::Mutex<()>>,
    store: Store,
    client: reqwest::Client,
    endpoints: Arc<Vec<Endpoint>>,
    /// The name of the first topic: what alerts of single-topic versions name.
    topic: String,
    user_agent: String,
    /// Cancelled when the daemon stops or reloads: a pass ends after the row in flight (its
    /// outcome recorded) instead of draining the whole backlog first.
    stop: CancellationToken,
}

impl Deliverer {
    /// This deliverer, running one pass at a time with every holder of `pass`.
    pub fn sharing_passes(mut self, pass: Arc<tokio::sync::Mutex<()>>) -> Deliverer {
        self.pass = pass;
        self
    }

    /// Builds a deliverer for a config's endpoints (see [`endpoints`]).
    pub fn new(
        config: &Config,
        store: Store,
        endpoints: Arc<Vec<Endpoint>>,
    ) -> Result<Deliverer, OutboxError> {
        let client = reqwest::Client::builder()
            .user_agent(config.fetch.user_agent.clone())
            .redirect(notify::redirect_policy())
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Ok(Deliverer {
            pass: Arc::new(tokio::sync::Mutex::new(())),
            store,
            client,
            endpoints,
            topic: config.first_topic().name.clone(),
            user_agent: config.fetch.user_agent.clone(),
            stop: CancellationToken::new(),
        })
    }

    /// The endpoints.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// One pass: every endpoint concurrently, each sending its due rows in order until one
    /// fails or is not yet due. Returns when the pass is done.
    pub async fn deliver_due(&self) -> Result<DeliveryReport, StoreError> {
        let _one_pass_at_a_time = self.pass.lock().await;
        let mut set = tokio::task::JoinSet::new();
        for ep in self.endpoints.iter().cloned() {
            let me = self.clone();
            let span = tracing::info_span!("webhook", endpoint = %ep.name);
            set.spawn(async move { me.deliver_endpoint(&ep).await }.instrument(span));
        }
        // One endpoint's store error must not cut the others short: every task runs to its
        // end (dropping the set would abort them mid-request), then the first error is told.
        let mut total = DeliveryReport::default();
        let mut first_error = None;
        while let Some(r) = set.join_next().await {
            match r {
                Ok(Ok(rep)) => total.add(rep),
                Ok(Err(e)) => {
                    error!(error = %e, "delivery to one endpoint stopped");
                    first_error.get_or_insert(e);
                }
                Err(e) => error!(error = %e, "delivery task failed"),
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }

    /// Sends one endpoint's due rows in order. Stops at the first row that is not due or fails
    /// transiently (order is kept); returns what it did.
    async fn deliver_endpoint(&self, ep: &Endpoint) -> Result<DeliveryReport, StoreError> {
        let mut rep = DeliveryReport::default();
        loop {
            let batch = self.store.outbox_for(&ep.id, 64)?;
            if batch.is_empty() {
                return Ok(rep);
            }
            for d in batch {
                if d.next_try > Utc::now() || self.stop.is_cancelled() {
                    return Ok(rep);
                }
                // Of several workers on one store, one delivers an endpoint's next row; the
                // others leave the endpoint to it (its order is kept).
                if !self
                    .store
                    .claim_delivery(&d.alert, &d.endpoint, DELIVERY_CLAIM)?
                {
                    return Ok(rep);
                }
                match self.attempt(ep, d).await? {
                    Step::Delivered => {
                        crate::store::work::delivered();
                        rep.delivered += 1
                    }
                    Step::Dead => rep.dead += 1,
                    Step::Retry => {
                        rep.retrying += 1;
                        return Ok(rep);
                    }
                }
            }
        }
    }

    async fn attempt(&self, ep: &Endpoint, mut d: DeliveryRecord) -> Result<Step, StoreError> {
        let now = Utc::now();
        // A row whose alert is gone or unreadable can never be sent: a dead letter that says
        // why, not an error that would stop this endpoint's queue at the same row every pass.
        let alert = match self.store.alert(&d.alert) {
            Ok(Some(alert)) => alert,
            Ok(None) => return self.dead_row(d, "alert record missing".into()),
            Err(e @ StoreError::Corrupt { .. }) => {
                return self.dead_row(d, format!("alert record unreadable: {e}"))
            }
            Err(e) => return Err(e),
        };
        if self.store.was_delivered(&d.alert, &d.endpoint)? {
            // Already delivered (a crash between the 2xx and removing the row): finish it.
            d.state = DeliveryState::Delivered;
            d.finished = Some(now);
            self.store.finish_delivery(&d)?;
            return Ok(Step::Delivered);
        }
        let req = notify::render_webhook(
            ep.cfg.format,
            &ep.cfg.url,
            &payload(&alert),
            if alert.topic_name.is_empty() {
                &self.topic
            } else {
                &alert.topic_name
            },
            ep.secret.as_deref(),
            &self.user_agent,
        );
        if d.attempts == 0 {
            // The alert and this row may still be only in memory (the item's commit is not
            // flushed on its own). Make them durable before anything leaves: otherwise a crash
            // after the receiver's 2xx could lose the alert, and its re-decision would send the
            // same article again under a new alert id that no receiver could recognise.
            self.store.flush().await?;
        }
        d.attempts += 1;
        let outcome = notify::post_webhook(&self.client, &req, ep.cfg.timeout.0).await;
        let now = Utc::now();
        match outcome {
            DeliveryOutcome::Delivered { status } => {
                // First the journal (microseconds), then sled (a flush): see the store.
                self.store.journal_delivered(&d.alert, &d.endpoint)?;
                d.state = DeliveryState::Delivered;
                d.finished = Some(now);
                d.last_error = None;
                self.store.finish_delivery(&d)?;
                self.store.flush().await?;
                self.store.compact_journal()?;
                info!(alert = %d.alert, status, attempts = d.attempts, "delivered");
                Ok(Step::Delivered)
            }
            DeliveryOutcome::Permanent { reason } => {
                d.state = DeliveryState::Dead;
                d.finished = Some(now);
                d.last_error = Some(reason.clone());
                self.store.finish_delivery(&d)?;
                error!(alert = %d.alert, error = %reason, "permanent failure; dead letter (wirewatch alerts --failed, --retry)");
                Ok(Step::Dead)
            }
            DeliveryOutcome::Retry { after, reason } => {
                let age = (now - d.created).to_std().unwrap_or_default();
                d.last_error = Some(reason.clone());
                if age >= ep.cfg.max_age.0 {
                    d.state = DeliveryState::Dead;
                    d.finished = Some(now);
                    self.store.finish_delivery(&d)?;
                    error!(alert = %d.alert, error = %reason, attempts = d.attempts, "gave up after max_age; dead letter");
                    return Ok(Step::Dead);
                }
                let delay = retry_delay(d.attempts, after);
                d.next_try = now + chrono::Duration::from_std(delay).unwrap_or_default();
                self.store.update_delivery(&d)?;
                // One line per attempt; attempts back off exponentially, so log volume stays low.
                warn!(alert = %d.alert, error = %reason, attempts = d.attempts, retry_in_s = delay.as_secs(), "delivery failed; will retry");
                Ok(Step::Retry)
            }
        }
    }

    /// Finishes a row that can never be delivered as a dead letter with its reason.
    fn dead_row(&self, mut d: DeliveryRecord, reason: String) -> Result<Step, StoreError> {
        warn!(alert = %d.alert, error = %reason, "outbox row cannot be delivered; dead letter");
        d.state = DeliveryState::Dead;
        d.last_error = Some(reason);
        d.finished = Some(Utc::now());
        self.store.finish_delivery(&d)?;
        Ok(Step::Dead)
    }

    /// The daemon's delivery loop: a pass whenever new alerts are decided (`wake`), or when
    /// the earliest retry is due, until shutdown.
    pub async fn run(self, wake: Arc<Notify>, shutdown: CancellationToken) {
        let me = Deliverer {
            stop: shutdown.clone(),
            ..self
        };
        me.run_until(wake, shutdown).await
    }

    async fn run_until(self, wake: Arc<Notify>, shutdown: CancellationToken) {
        loop {
            if let Err(e) = self.deliver_due().await {
                error!(error = %e, "delivery pass failed");
            }
            let mut sleep = self.next_due_in().unwrap_or(Duration::from_secs(60));
            if self.store.is_shared() {
                // Other workers decide alerts too (nobody wakes this one for them), and a
                // row claimed by another is due yet not ours.
                sleep = sleep.clamp(Duration::from_millis(500), Duration::from_secs(2));
            }
            debug!(sleep_s = sleep.as_secs_f32(), "delivery loop sleeping");
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
            }
        }
    }

    /// Time until the earliest pending row of a configured endpoint is due.
    fn next_due_in(&self) -> Option<Duration> {
        let now = Utc::now();
        let mut best: Option<Duration> = None;
        for ep in self.endpoints.iter() {
            if let Ok(rows) = self.store.outbox_for(&ep.id, 1) {
                if let Some(d) = rows.first() {
                    let wait = (d.next_try - now).to_std().unwrap_or(Duration::ZERO);
                    best = Some(best.map_or(wait, |b| b.min(wait)));
                }
            }
        }
        best.map(|d| d.max(Duration::from_millis(50)))
    }
}

/// How long a worker holds a delivery it attempts (several workers on one store): longer
/// than any webhook request may take.
const DELIVERY_CLAIM: Duration = Duration::from_secs(120);

enum Step {
    Delivered,
    Retry,
    Dead,
}

/// Delay before the next attempt. The receiver's `Retry-After`, when it sent one, is the
/// time it asked for, and that is when it gets the next try (at most 6 hours away, at least
/// 5 s: a `Retry-After: 0`, or a date already past on a skewed clock, would otherwise have
/// the endpoint hammered every few milliseconds until `max_age`); without one,
/// [`crate::backoff`]: 5 s doubling per attempt, capped at an hour, ±20 % jitter.
pub fn retry_delay(attempts: u32, retry_after: Option<Duration>) -> Duration {
    match retry_after {
        Some(ra) => ra.clamp(RETRY_BASE, RETRY_AFTER_MAX),
        None => crate::backoff::backoff(RETRY_BASE, attempts, RETRY_CAP),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_grows_and_honours_retry_after() {
        assert!(retry_delay(1, None) <= Duration::from_secs(6));
        assert!(retry_delay(5, None) >= Duration::from_secs(64));
        assert!(retry_delay(30, None) <= Duration::from_secs(4320));
        assert_eq!(
            retry_delay(1, Some(Duration::from_secs(120))),
            Duration::from_secs(120)
        );
        // The time the receiver asked for, even when our own backoff would wait longer.
        assert_eq!(
            retry_delay(8, Some(Duration::from_secs(9))),
            Duration::from_secs(9)
        );
        // Never sooner than the first backoff step: "Retry-After: 0" is not a busy loop.
        assert_eq!(retry_delay(8, Some(Duration::ZERO)), RETRY_BASE);
        assert_eq!(retry_delay(1, Some(Duration::from_secs(2))), RETRY_BASE);
        assert_eq!(
            retry_delay(1, Some(Duration::from_secs(86_400))),
            RETRY_AFTER_MAX
        );
    }
}
