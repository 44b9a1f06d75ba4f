//! The daily digest: once a day at a set local time, the alerts since the previous digest,
//! grouped by topic and story, by email. Each recipient gets one mail with a section per topic
//! routed to them (`[[topics]] digest_to`, else `[digest] to`).
//!
//! Exactly once per local day: the day's digest is recorded (and flushed) as soon as the mail
//! server accepted it, and a day already recorded is never sent again, so a restart never
//! sends twice. If the daemon was down at the set time, the day's digest goes out on start-up.
//! An SMTP failure is logged and retried with backoff; one recipient's failure does not hold
//! up the others, and a mail the server keeps refusing (a 5xx reply) is given up after
//! `[digest] give_up_after` and noted in `wirewatch status`. This module decides *what* and *when*;
//! [`render`] writes it, [`schedule`] computes the times, [`crate::notify::smtp`] sends it.

pub mod render;
pub mod schedule;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::{Config, DigestConfig, SmtpConfig};
use crate::notify::{self, DigestInput, DigestItem, DigestStory, RenderedDigest, SmtpSettings};
use crate::store::AlertRecord;
use crate::store::{Decision, DigestRecord, Store};

/// First retry delay after an SMTP failure; doubles up to [`RETRY_CAP`].
const RETRY_BASE: Duration = Duration::from_secs(15);
/// Longest wait between two send attempts.
const RETRY_CAP: Duration = Duration::from_secs(30 * 60);
/// How long after its `created` stamp an alert may become visible: the judge stamps it, then
/// writes it with its story in one transaction. A digest reads this far back past the end of
/// the previous one, less the alerts that one listed, so an alert committed just after a
/// digest read the store is in the next one instead of in neither.
fn settle() -> chrono::Duration {
    chrono::Duration::minutes(5)
}

/// The alerts a digest covers: created in `[since, until)`, less those an earlier digest
/// listed; the suppressed items it counts: decided in `[counted_from, until)`.
pub struct Window {
    /// The earliest `created` read.
    pub since: DateTime<Utc>,
    /// Where the previous digest ended (or `since`): items decided from here on are counted.
    pub counted_from: DateTime<Utc>,
    /// The end (exclusive).
    pub until: DateTime<Utc>,
    /// Alerts the previous digest listed that `[since, until)` holds again.
    pub listed: std::collections::HashSet<String>,
}

impl Window {
    /// Everything in `[since, until)`.
    pub fn between(since: DateTime<Utc>, until: DateTime<Utc>) -> Window {
        Window {
            since,
            counted_from: since,
            until,
            listed: Default::default(),
        }
    }
}

/// Meta keys of the mails of a digest in flight that are done (sent or given up), by day,
/// window and recipients.
const SENT: &str = "digest_sent:";
/// Meta keys of when the server first refused a mail of a digest in flight.
const REFUSED: &str = "digest_refused:";

/// Why a digest could not be built or sent.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// No `[digest]` / `[smtp]` in the config.
    #[error(
        "no [digest] section in the config (and [smtp] to send through): see config/wirewatch.toml"
    )]
    NotConfigured,
    /// A setting is unusable.
    #[error(transparent)]
    Setting(#[from] crate::config::InvalidSetting),
    /// The SMTP password cannot be read.
    #[error(transparent)]
    Secret(#[from] crate::config::SecretError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The mail could not be sent.
    #[error("sending the digest: {0}")]
    Send(String),
}

/// Builds and sends digests for one config.
#[derive(Clone)]
pub struct Digester {
    store: Store,
    /// The topics: id, name, recipients.
    topics: Vec<(String, String, Vec<String>)>,
    /// The name of the first topic (what alerts of single-topic versions belong to).
    first: String,
    digest: DigestConfig,
    smtp: Option<SmtpConfig>,
    tz: chrono_tz::Tz,
    at: chrono::NaiveTime,
}

/// How long a worker holds the sending of a day's digest (several workers on one store).
const DIGEST_CLAIM: Duration = Duration::from_secs(600);

impl Digester {
    /// The digester of a config, if it has a `[digest]` section.
    pub fn new(config: &Config, store: Store) -> Result<Digester, DigestError> {
        let digest = config.digest.clone().ok_or(DigestError::NotConfigured)?;
        Ok(Digester {
            tz: digest.tz()?,
            at: digest.time()?,
            digest,
            smtp: config.smtp.clone(),
            store,
            topics: config
                .topics
                .iter()
                .map(|t| {
                    (
                        t.id(),
                        t.name.clone(),
                        t.digest_to.clone().unwrap_or_else(|| {
                            config
                                .digest
                                .as_ref()
                                .map(|d| d.to.clone())
                                .unwrap_or_default()
                        }),
                    )
                })
                .collect(),
            first: config.first_topic().id(),
        })
    }

    /// The digester for `digest --preview`: the config's `[digest]`, or its defaults (08:00
    /// UTC) when there is none. A preview sends nothing, so it needs neither recipients nor
    /// SMTP: a reader can look at what the digest would say before setting up mail.
    pub fn for_preview(config: &Config, store: Store) -> Result<Digester, DigestError> {
        if config.digest.is_some() {
            return Digester::new(config, store);
        }
        let mut with_defaults = config.clone();
        with_defaults.digest = Some(DigestConfig {
            at: crate::config::notify::default_digest_at(),
            timezone: crate::config::notify::default_tz(),
            to: Vec::new(),
            from: "wirewatch@localhost".into(),
            send_empty: false,
            give_up_after: crate::config::notify::default_give_up_after(),
        });
        Digester::new(&with_defaults, store)
    }

    /// Only this topic's section (`digest --preview --topic ID`); every topic's for `None`.
    pub fn only_topic(mut self, topic: Option<String>) -> Digester {
        if let Some(t) = topic {
            self.topics.retain(|(id, _, _)| *id == t);
        }
        self
    }

    /// The recipients and the topics (indices) each gets, recipients with the same topics
    /// together: one mail each.
    fn mailings(&self) -> Vec<(Vec<String>, Vec<usize>)> {
        let mut by_recipient: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for (i, (_, _, to)) in self.topics.iter().enumerate() {
            for r in to {
                by_recipient.entry(r.as_str()).or_default().push(i);
            }
        }
        let mut out: Vec<(Vec<String>, Vec<usize>)> = Vec::new();
        for (r, topics) in by_recipient {
            match out.iter_mut().find(|(_, t)| *t == topics) {
                Some((to, _)) => to.push(r.to_string()),
                None => out.push((vec![r.to_string()], topics)),
            }
        }
        out
    }

    /// The local date `t` falls on in the digest's time zone.
    pub fn local_day(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// The digest of `day` covering the alerts of `window`: one section per topic, in config
    /// order, the number of alerts, and the ids of those created within [`SETTLE`] of its
    /// end (the next digest's [`Window::listed`]).
    pub fn build(
        &self,
        day: NaiveDate,
        window: &Window,
    ) -> Result<(Vec<DigestInput>, usize, Vec<String>), DigestError> {
        let in_window: Vec<AlertRecord> = self
            .store
            .alerts()?
            .into_iter()
            .filter(|a| a.created >= window.since && a.created < window.until)
            .collect();
        let tail = in_window
            .iter()
            .filter(|a| a.created >= window.until - settle())
            .map(|a| a.id.clone())
            .collect();
        let alerts: Vec<&AlertRecord> = in_window
            .iter()
            .filter(|a| !window.listed.contains(&a.id))
            .collect();
        let mut sections: Vec<DigestInput> = Vec::with_capacity(self.topics.len());
        let mut n = 0;
        for (id, name, _) in &self.topics {
            let mine: Vec<&AlertRecord> = alerts
                .iter()
                .copied()
                .filter(|a| a.topic == *id || (a.topic.is_empty() && *id == self.first))
                .collect();
            n += mine.len();
            sections.push(self.section(day, id, name, &mine)?);
        }
        for item in self.store.items()? {
            if item.decided_at < window.counted_from || item.decided_at >= window.until {
                continue;
            }
            for ((id, _, _), sec) in self.topics.iter().zip(sections.iter_mut()) {
                match item.decision(id) {
                    Some(Decision::SeedDuplicate { .. } | Decision::Repeat { .. }) => {
                        sec.suppressed_duplicates += 1
                    }
                    Some(Decision::OffTopic { .. }) => sec.suppressed_offtopic += 1,
                    _ => {}
                }
            }
        }
        Ok((sections, n, tail))
    }

    /// One topic's section: its alerts grouped by story, newest story first.
    fn section(
        &self,
        day: NaiveDate,
        topic_id: &str,
        topic: &str,
        alerts: &[&AlertRecord],
    ) -> Result<DigestInput, DigestError> {
        let marks = crate::judge::stored_evidence(&self.store, topic_id)?.marks;
        let mut by_story: HashMap<String, DigestStory> = HashMap::new();
        let mut newest: HashMap<String, DateTime<Utc>> = HashMap::new();
        for a in alerts {
            let t = a.published.unwrap_or(a.created);
            let e = newest.entry(a.story.clone()).or_insert(a.created);
            *e = (*e).max(a.created);
            by_story
                .entry(a.story.clone())
                .or_insert_with(|| DigestStory {
                    id: a.story.clone(),
                    title: a.story_title.clone(),
                    items: Vec::new(),
                })
                .items
                .push(DigestItem {
                    outlet: a.source.clone(),
                    title: a.title.clone(),
                    url: a.url.clone(),
                    time: t,
                    excerpt: a.excerpt.clone(),
                    marked_off_topic: marks.get(&a.url).is_some_and(|m| !m.relevant),
                });
        }
        let mut stories: Vec<DigestStory> = by_story.into_values().collect();
        for s in &mut stories {
            s.items.sort_by_key(|i| i.time);
        }
        stories.sort_by(|a, b| newest.get(&b.id).cmp(&newest.get(&a.id)));
        Ok(DigestInput {
            day,
            topic: topic.to_string(),
            stories,
            suppressed_duplicates: 0,
            suppressed_offtopic: 0,
            timezone: self.tz,
        })
    }

    /// The window of the digest of `day` sent at `until`: from where the last one ended,
    /// else from a day before the day's send time (or `until`, if earlier). Not a day before
    /// `until` itself: the window's start keys the mails already sent ([`Digester::send`]),
    /// and a first digest retried after a failure must find the mails it sent, not a new
    /// window each try that mails the recipients already served again.
    fn window(&self, day: NaiveDate, until: DateTime<Utc>) -> Result<Window, DigestError> {
        Ok(match self.store.last_digest()? {
            Some(d) if d.covered_until < until => Window {
                since: d.covered_until - settle(),
                counted_from: d.covered_until,
                until,
                listed: d.tail.into_iter().collect(),
            },
            _ => Window::between(
                self.send_time(day).min(until) - chrono::Duration::days(1),
                until,
            ),
        })
    }

    /// Renders a digest without sending or recording it: with no day, what the next digest
    /// would say now (everything since the last one); with a day, that day's digest (the 24
    /// hours before its send time).
    pub fn preview(&self, day: Option<NaiveDate>) -> Result<RenderedDigest, DigestError> {
        let now = Utc::now();
        let (day, window) = match day {
            None => {
                let day = self.local_day(now);
                (day, self.window(day, now)?)
            }
            Some(d) => {
                let until = self.send_time(d).min(now);
                (d, Window::between(until - chrono::Duration::days(1), until))
            }
        };
        let (sections, _, _) = self.build(day, &window)?;
        Ok(notify::render_digest_sections(&sections))
    }

    /// The instant the digest of `day` is due.
    pub fn send_time(&self, day: NaiveDate) -> DateTime<Utc> {
        let midnight = day
            .and_hms_opt(0, 0, 0)
            .and_then(|m| m.and_local_timezone(self.tz).earliest())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| day.and_time(chrono::NaiveTime::MIN).and_utc());
        let (_, t) =
            notify::next_digest_time(self.at, self.tz, midnight - chrono::Duration::seconds(1));
        t
    }

    /// Sends the digest of `day` now, covering everything since the last digest, and records
    /// it. Skips (and records) an empty one unless `send_empty` or `force` (an explicit
    /// `wirewatch digest --send`).
    ///
    /// Each recipient gets one mail with a section per topic routed to them; a topic with
    /// nothing new says so in one line, or is left out without `send_empty`. A mail sent is
    /// remembered at once (under the day and its recipients), so a retry after a failure
    /// sends only the mails that were not. One mail failing does not hold up the others: they
    /// are sent, then the failure is returned and the caller retries. A mail the server
    /// refuses outright (a 5xx reply) is tried again for `[digest] give_up_after`, then given
    /// up for this digest and noted in its record ([`DigestRecord::undelivered`]).
    pub async fn send(&self, day: NaiveDate, force: bool) -> Result<DigestRecord, DigestError> {
        let smtp = self.smtp.as_ref().ok_or(DigestError::NotConfigured)?;
        let until = Utc::now();
        let window = self.window(day, until)?;
        let (sections, n, tail) = self.build(day, &window)?;
        let send_empty = self.digest.send_empty || force;
        // Keyed by the window too: a retry of this digest skips what it sent, a later
        // `digest --send` (a new window) does not.
        let this_digest = format!("{day}:{}:", window.counted_from.timestamp_micros());
        let mut settings: Option<SmtpSettings> = None;
        let mut failed: Vec<String> = Vec::new();
        for (to, topics) in self.mailings() {
            let mine: Vec<DigestInput> = topics
                .iter()
                .filter_map(|&i| sections.get(i))
                .filter(|s| send_empty || !s.stories.is_empty())
                .cloned()
                .collect();
            if mine.is_empty() {
                info!(%day, to = ?to, "nothing new; digest skipped (send_empty = false)");
                continue;
            }
            let who = to.join(",");
            let sent_key = format!("{SENT}{this_digest}{who}");
            if self.store.get_meta(&sent_key)?.is_some() {
                continue;
            }
            let rendered = notify::render_digest_sections(&mine);
            if settings.is_none() {
                let password = crate::config::read_secret(
                    smtp.password_env.as_deref(),
                    smtp.password_file.as_deref(),
                    "smtp password",
                )?
                .map(|p| String::from_utf8_lossy(&p).into_owned());
                settings = Some(SmtpSettings {
                    host: smtp.host.clone(),
                    port: smtp.port,
                    security: smtp.security,
                    username: smtp.username.clone(),
                    password,
                    timeout: smtp.timeout.0,
                });
            }
            let Some(settings) = settings.as_ref() else {
                continue;
            };
            let Err(e) = notify::send_mail(settings, &self.digest.from, &to, &rendered).await
            else {
                self.mark_sent(&sent_key, serde_json::Value::String(until.to_rfc3339()))?;
                info!(%day, alerts = n, to = %who, topics = mine.len(), "digest sent");
                continue;
            };
            if e.is_transient()
                || !self.refused_long_enough(&format!("{REFUSED}{this_digest}{who}"))?
            {
                warn!(%day, to = %who, error = %e, "digest mail not sent");
                failed.push(format!("{who}: {e}"));
                continue;
            }
            error!(%day, to = %who, error = %e, give_up_after = %self.digest.give_up_after,
                "digest given up for these recipients: the mail server refused it all this time \
                 (`wirewatch status` notes it; `wirewatch alerts` lists the alerts)");
            self.mark_sent(
                &sent_key,
                serde_json::json!({ "undelivered": format!("{who}: {e}") }),
            )?;
        }
        if !failed.is_empty() {
            return Err(DigestError::Send(failed.join("; ")));
        }
        let undelivered = self
            .store
            .metas_under(&format!("{SENT}{this_digest}"))?
            .into_iter()
            .filter_map(|(_, v)| Some(v.get("undelivered")?.as_str()?.to_string()))
            .collect();
        let record = DigestRecord {
            day: day.to_string(),
            sent_at: until,
            alerts: n,
            covered_until: until,
            undelivered,
            tail,
        };
        self.store.put_digest(&record)?;
        // This digest's markers, and any an earlier day's left when it never completed (its
        // alerts went into a later day's window).
        for prefix in [SENT, REFUSED] {
            for (k, _) in self.store.metas_under(prefix)? {
                self.store.delete_meta(&k)?;
            }
        }
        Ok(record)
    }

    /// Remembers a mail of the digest in flight as done (sent, or given up), durably: a
    /// restart or a retry must not send it again.
    fn mark_sent(&self, key: &str, v: serde_json::Value) -> Result<(), DigestError> {
        self.store.put_meta(key, &v)?;
        self.store.flush_blocking()?;
        Ok(())
    }

    /// Whether a mail refused now (and remembered under `key` since its first refusal) has
    /// been refused for `[digest] give_up_after`.
    fn refused_long_enough(&self, key: &str) -> Result<bool, DigestError> {
        let now = Utc::now();
        let first = self
            .store
            .get_meta(key)?
            .and_then(|v| {
                v.as_str()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            })
            .map(|t| t.with_timezone(&Utc));
        let first = match first {
            Some(t) => t,
            None => {
                self.store
                    .put_meta(key, &serde_json::Value::String(now.to_rfc3339()))?;
                now
            }
        };
        Ok((now - first).to_std().unwrap_or_default() >= self.digest.give_up_after.0)
    }

    /// Sends today's digest if its time has passed and it was not sent yet. Returns the record
    /// when something was sent or skipped.
    pub async fn send_if_due(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<DigestRecord>, DigestError> {
        let Some(day) = notify::due_day(self.at, self.tz, now) else {
            return Ok(None);
        };
        if self.store.digest(&day.to_string())?.is_some() {
            return Ok(None);
        }
        // Of several workers on one store, the one that claims the day sends it; should it
        // die before recording it sent, the claim runs out and another sends it.
        if !self.store.claim_digest(&day.to_string(), DIGEST_CLAIM)? {
            return Ok(None);
        }
        self.send(day, false).await.map(Some)
    }

    /// The daemon's digest loop: sends each day's digest at its time (and a missed one at
    /// start-up), retrying failures with backoff, until shutdown.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut failures = 0u32;
        loop {
            let now = Utc::now();
            let wait = match self.send_if_due(now).await {
                Ok(_) => {
                    failures = 0;
                    let (_, next) = notify::next_digest_time(self.at, self.tz, now);
                    let wait = (next - Utc::now())
                        .to_std()
                        .unwrap_or(Duration::from_secs(1));
                    if self.store.is_shared() {
                        // Look again soon: the worker that claimed today's may die.
                        wait.min(DIGEST_CLAIM / 2)
                    } else {
                        wait
                    }
                }
                Err(e) => {
                    failures += 1;
                    let wait = crate::backoff::backoff(RETRY_BASE, failures, RETRY_CAP);
                    if failures == 1 || failures.is_power_of_two() {
                        error!(error = %e, failures, retry_in_s = wait.as_secs(), "digest not sent; will retry");
                    } else {
                        warn!(error = %e, failures, "digest still not sent");
                    }
                    wait
                }
            };
            // Wake at least hourly: a suspended machine's clock may jump.
            let wait = wait
                .min(Duration::from_secs(3600))
                .max(Duration::from_millis(200));
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AlertRecord;

    fn alert(id: &str, created: DateTime<Utc>) -> AlertRecord {
        AlertRecord::for_test(id, "", &format!("https://example.org/{id}"), created)
    }

    /// An alert stamped before a digest read the store but committed after it (the judge
    /// stamps, then writes) is in the next digest; one the digest listed is not listed again.
    #[test]
    fn an_alert_committed_late_is_in_the_next_digest_once() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let config = Config::parse(
            &format!(
                "state_dir = \"{}\"\n[[topics]]\nname = \"t\"\nseeds = \"{}\"\n\
                 [digest]\nto = [\"a@example.org\"]\nfrom = \"w@example.org\"\n\
                 [smtp]\nhost = \"127.0.0.1\"\n",
                dir.path().display(),
                dir.path().display()
            ),
            &dir.path().join("wirewatch.toml"),
        )?;
        let store = Store::open(&dir.path().join("db"))?;
        let d = Digester::new(&config, store.clone())?;
        let sent = Utc::now() - chrono::Duration::hours(1);
        let day = d.local_day(sent);
        store.put_alert(&alert("listed", sent - chrono::Duration::seconds(30)))?;
        let (_, n, tail) = d.build(day, &d.window(day, sent)?)?;
        assert_eq!((n, tail.clone()), (1, vec!["listed".to_string()]));
        store.put_digest(&DigestRecord {
            day: day.to_string(),
            sent_at: sent,
            alerts: n,
            covered_until: sent,
            undelivered: Vec::new(),
            tail,
        })?;
        // Committed after the read, stamped just before it.
        store.put_alert(&alert("late", sent - chrono::Duration::seconds(1)))?;
        store.put_alert(&alert("new", sent + chrono::Duration::minutes(10)))?;
        let (sections, n, _) = d.build(day, &d.window(day, Utc::now())?)?;
        let titles: Vec<&str> = sections
            .iter()
            .flat_map(|s| s.stories.iter())
            .flat_map(|s| s.items.iter())
            .map(|i| i.title.as_str())
            .collect();
        assert_eq!(n, 2, "{titles:?}");
        assert!(
            titles.contains(&"late") && titles.contains(&"new"),
            "{titles:?}"
        );
        Ok(())
    }
}
