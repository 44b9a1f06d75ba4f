//! The reader's feedback, applied to the running pipeline: marks ([`crate::judge::feedback`])
//! and re-judging a window with them.
//!
//! A mark needs the item's text: an alerted item keeps its own, the others' are kept for
//! `[store] keep_text`. Marking and re-judging hold the pipeline's processing lock, so they
//! never interleave with a pass over pending entries: the judge sees one decision at a time.
//!
//! On a shared store only the worker holding the judge lease judges, and only through the
//! pipeline its processing loop holds: a re-judge asked anywhere else (a CLI, any worker's
//! status page) is *queued* in the store ([`Pipeline::queue_rejudge`]) and run by that loop at
//! its next pass ([`Pipeline::run_queued_rejudges`]), which leaves the result for the asker to
//! read ([`Pipeline::rejudge_result`]). A CLI with no worker running takes the lease and runs
//! the queue itself.

use chrono::{DateTime, Utc};
use tracing::{error, info, warn};

use super::{Pipeline, PipelineError};
use crate::judge::{Judge, Tally, Unwritten};
use crate::relevance::Mark;
use crate::store::{Decision, ItemRecord};

/// Why a mark could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    /// No item was seen under the URL.
    #[error("{0}")]
    UnknownItem(String),
    /// No topic has that id.
    #[error("no topic has the id {0:?} (see `wirewatch check`)")]
    UnknownTopic(String),
    /// The item's text is not kept any more (or it never had one).
    #[error("no text of {url} is kept ({why}); it cannot be marked")]
    NoText {
        /// The item.
        url: String,
        /// Why, in words.
        why: String,
    },
}

/// The instant `window` ago, or the earliest representable one for a window longer than the
/// calendar (`--rejudge 1000000y` means "everything", not a panic in date arithmetic).
pub fn window_start(window: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(window)
        .ok()
        .and_then(|d| Utc::now().checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A re-judge asked of the worker that judges (on a shared store), as kept in the store:
/// one record per request (`rejudge:<topic>\n<ticket>`), so that two askers never overwrite
/// each other and a request made while the worker runs others is not cleared with them.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct QueuedRejudge {
    /// Judge again the items decided since then.
    since: DateTime<Utc>,
}

/// The answer to one request (`rejudged:<topic>\n<ticket>`), read and removed by the asker.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct RejudgeDone {
    /// The window that was judged (the widest of the requests run together).
    since: DateTime<Utc>,
    /// What it decided...
    #[serde(default)]
    tally: Tally,
    /// ...or why it failed.
    #[serde(default)]
    error: Option<String>,
    /// When it was answered (an answer nobody read is removed after a day).
    at: DateTime<Utc>,
}

/// The answer to a queued re-judge: the window judged, and what it decided or why it failed.
pub type RejudgeAnswer = (DateTime<Utc>, Result<Tally, String>);

fn queue_key(topic: &str, ticket: &str) -> String {
    format!("rejudge:{topic}\n{ticket}")
}

fn done_key(topic: &str, ticket: &str) -> String {
    format!("rejudged:{topic}\n{ticket}")
}

/// How long an answer nobody read is kept.
const ANSWER_KEPT: chrono::Duration = chrono::Duration::days(1);

/// The records of the re-judge queue and its answers a topic leaves in the store (for
/// `topics prune`).
pub fn rejudge_prefixes(topic: &str) -> [String; 2] {
    [queue_key(topic, ""), done_key(topic, "")]
}

impl Pipeline {
    /// The judge of a topic by id; `None`: the first topic.
    pub fn judge_of(&self, topic: Option<&str>) -> Result<&Judge, FeedbackError> {
        match topic {
            None => self
                .panel
                .judges()
                .first()
                .ok_or_else(|| FeedbackError::UnknownTopic(String::new())),
            Some(t) => self
                .panel
                .judge_of(t)
                .ok_or_else(|| FeedbackError::UnknownTopic(t.to_string())),
        }
    }

    /// Records the reader's verdict, for a topic (`None`: the first), on the item seen under
    /// `url`; returns the item and the mark.
    pub async fn mark(
        &self,
        url: &str,
        relevant: bool,
        topic: Option<&str>,
    ) -> Result<(ItemRecord, Mark), PipelineError> {
        let judge = self.judge_of(topic)?;
        let _one_at_a_time = self.processing.lock().await;
        let item = crate::report::lookup(&self.store, url)?.map_err(FeedbackError::UnknownItem)?;
        let text = if item.text.trim().is_empty() {
            self.store.kept_text(&item.url)?
        } else {
            Some(item.text.clone())
        };
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            let why = if matches!(
                item.decision(judge.topic_id()),
                Some(Decision::Unreadable { .. })
            ) {
                "it had none: it was unreadable".to_string()
            } else if self.config.store.keep_text.0.is_zero() {
                "[store] keep_text is off".to_string()
            } else {
                format!("texts are kept for {}", self.config.store.keep_text)
            };
            return Err(FeedbackError::NoText {
                url: item.url.clone(),
                why,
            }
            .into());
        };
        let mark = judge.mark(&item, &text, relevant)?;
        self.store.flush().await?;
        info!(url = %item.url, relevant, "reader's mark recorded");
        Ok((item, mark))
    }

    /// Undoes the reader's mark on the item seen under `url` (or on `url` itself); whether
    /// there was one.
    pub async fn clear_mark(&self, url: &str, topic: Option<&str>) -> Result<bool, PipelineError> {
        let judge = self.judge_of(topic)?;
        let _one_at_a_time = self.processing.lock().await;
        let key = match crate::report::lookup(&self.store, url)? {
            Ok(item) => item.url,
            Err(_) => url.trim().to_string(),
        };
        let had = judge.clear_mark(&key)?;
        self.store.flush().await?;
        Ok(had)
    }

    /// An item scored again for a topic, from its kept text, with the topic as it stands
    /// now ([`Judge::rescore`]): what `explain` shows for an item decided far below the
    /// threshold, whose decision kept only its score. `None` when its text is no longer kept.
    pub fn rescore(
        &self,
        item: &ItemRecord,
        topic: &str,
    ) -> Result<Option<crate::judge::Rescored>, PipelineError> {
        let judge = self.judge_of(Some(topic))?;
        let text = if item.text.trim().is_empty() {
            self.store.kept_text(&item.url)?
        } else {
            Some(item.text.clone())
        };
        Ok(text
            .filter(|t| !t.trim().is_empty())
            .map(|t| judge.rescore(&item.title, &t)))
    }

    /// The reader's marks of a topic (`None`: the first), oldest first, as the store holds
    /// them.
    pub fn marks(&self, topic: Option<&str>) -> Result<Vec<Mark>, PipelineError> {
        let judge = self.judge_of(topic)?;
        let mut marks: Vec<Mark> = crate::judge::stored_marks(&self.store, judge.topic_id())?
            .into_values()
            .collect();
        marks.sort_by(|a, b| a.at.cmp(&b.at));
        Ok(marks)
    }

    /// Judges again for a topic (`None`: the first), oldest first, every item decided since
    /// `since` that was decided off-topic, from its kept text: newly relevant ones alert as
    /// usual (and are delivered); alerts already sent stay sent. Returns what was decided.
    /// On a shared store, see [`Pipeline::queue_rejudge`] instead.
    pub async fn rejudge(
        &self,
        since: DateTime<Utc>,
        topic: Option<&str>,
    ) -> Result<Tally, PipelineError> {
        let judge = self.judge_of(topic)?;
        let _one_at_a_time = self.processing.lock().await;
        self.rejudge_locked(judge, since).await
    }

    async fn rejudge_locked(
        &self,
        judge: &Judge,
        since: DateTime<Utc>,
    ) -> Result<Tally, PipelineError> {
        let id = judge.topic_id().to_string();
        self.judge_window(judge, since, &|i: &ItemRecord| {
            matches!(i.decision(&id), Some(Decision::OffTopic { .. }))
        })
        .await
    }

    /// Asks the worker that judges (shared store) to judge a topic's window again: the
    /// request is kept in the store, and the ticket to find its answer returned
    /// ([`Pipeline::rejudge_result`]).
    pub fn queue_rejudge(
        &self,
        since: DateTime<Utc>,
        topic: Option<&str>,
    ) -> Result<String, PipelineError> {
        let id = self.judge_of(topic)?.topic_id().to_string();
        let ticket = format!(
            "{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        self.store.put_meta(
            &queue_key(&id, &ticket),
            &serde_json::to_value(QueuedRejudge { since }).unwrap_or_default(),
        )?;
        info!(topic = %id, %since, "re-judge queued for the worker that judges");
        Ok(ticket)
    }

    /// The answer to the queued re-judge of `ticket`, once the worker that judges ran it:
    /// the window judged and what it decided, or why it failed. Read once (the record is
    /// removed).
    pub fn rejudge_result(
        &self,
        ticket: &str,
        topic: Option<&str>,
    ) -> Result<Option<RejudgeAnswer>, PipelineError> {
        let id = self.judge_of(topic)?.topic_id().to_string();
        let key = done_key(&id, ticket);
        let Some(v) = self.store.get_meta(&key)? else {
            return Ok(None);
        };
        self.store.delete_meta(&key)?;
        let done: RejudgeDone =
            serde_json::from_value(v).map_err(|e| crate::store::StoreError::Corrupt {
                what: "re-judge answer",
                message: e.to_string(),
            })?;
        Ok(Some((
            done.since,
            match done.error {
                Some(e) => Err(e),
                None => Ok(done.tally),
            },
        )))
    }

    /// Runs the queued re-judges, if this process may judge (it holds, or can take, the judge
    /// lease); for a process whose processing loop does not run (a CLI), which must have
    /// built its pipeline after taking the lease (see `feedback` in `control`). Returns what
    /// was decided.
    pub async fn run_queued_rejudges(&self) -> Result<Tally, PipelineError> {
        let _one_at_a_time = self.processing.lock().await;
        if self.store.is_shared() && self.store.judge_lease()?.is_none() {
            return Ok(Tally::default());
        }
        self.queued_rejudges().await
    }

    /// Runs every topic's queued re-judges (the caller holds the processing lock and may
    /// judge) as one, over the widest window asked, and answers each request. A re-judge
    /// that fails is answered with its error (and logged): the pass goes on.
    pub(super) async fn queued_rejudges(&self) -> Result<Tally, PipelineError> {
        let mut all = Tally::default();
        // Requests for a topic this worker's config does not have (the workers' configs
        // differ): nobody would ever run them, so they are answered with why.
        let prefix = queue_key("", "");
        let prefix = prefix.trim_end_matches('\n');
        for (name, _) in self.store.metas_under(prefix)? {
            let Some((topic, ticket)) = name.get(prefix.len()..).and_then(|r| r.split_once('\n'))
            else {
                continue;
            };
            if self.panel.judges().iter().any(|j| j.topic_id() == topic) {
                continue;
            }
            let now = Utc::now();
            warn!(
                topic,
                "a re-judge was asked for a topic this worker does not judge; answered as failed"
            );
            let done = RejudgeDone {
                since: now,
                tally: Tally::default(),
                error: Some(format!(
                    "the worker that judges has no topic {topic} in its config"
                )),
                at: now,
            };
            self.store.put_meta(
                &done_key(topic, ticket),
                &serde_json::to_value(&done).unwrap_or_default(),
            )?;
            self.store.delete_meta(&name)?;
        }
        for judge in self.panel.judges() {
            let id = judge.topic_id();
            let queued = self.store.metas_under(&queue_key(id, ""))?;
            if queued.is_empty() {
                continue;
            }
            let prefix_len = queue_key(id, "").len();
            let mut tickets = Vec::with_capacity(queued.len());
            let mut since: Option<DateTime<Utc>> = None;
            for (name, v) in queued {
                let ticket = name.get(prefix_len..).unwrap_or_default().to_string();
                match serde_json::from_value::<QueuedRejudge>(v) {
                    Ok(q) => since = Some(since.map_or(q.since, |s| s.min(q.since))),
                    Err(e) => {
                        warn!(record = %name, error = %e, "unreadable re-judge request; answered as failed")
                    }
                }
                tickets.push((name, ticket));
            }
            let now = Utc::now();
            let done = match since {
                Some(since) => match self.rejudge_locked(judge, since).await {
                    Ok(tally) => {
                        all += tally;
                        RejudgeDone {
                            since,
                            tally,
                            error: None,
                            at: now,
                        }
                    }
                    Err(e) => {
                        error!(topic = %id, error = %e, "a queued re-judge failed; answered with the error");
                        RejudgeDone {
                            since,
                            tally: Tally::default(),
                            error: Some(e.to_string()),
                            at: now,
                        }
                    }
                },
                None => RejudgeDone {
                    since: now,
                    tally: Tally::default(),
                    error: Some("the request could not be read".into()),
                    at: now,
                },
            };
            let answer = serde_json::to_value(&done).unwrap_or_default();
            for (name, ticket) in &tickets {
                self.store.put_meta(&done_key(id, ticket), &answer)?;
                self.store.delete_meta(name)?;
            }
        }
        // Answers nobody came for (the asker gave up waiting, or died), of every topic.
        let now = Utc::now();
        let answers = done_key("", "");
        for (name, v) in self.store.metas_under(answers.trim_end_matches('\n'))? {
            let stale =
                serde_json::from_value::<RejudgeDone>(v).map_or(true, |d| now - d.at > ANSWER_KEPT);
            if stale {
                self.store.delete_meta(&name)?;
            }
        }
        Ok(all)
    }

    /// Judges for a topic new to the store (`backfill` in its table) the items decided since
    /// `since` for other topics, from their kept texts, once: the topic starts with the
    /// recent coverage. Returns what was decided, `None` when it had been done already.
    pub async fn backfill(
        &self,
        topic: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<Tally>, PipelineError> {
        let judge = self.judge_of(Some(topic))?;
        let done_key = format!("backfilled:{topic}");
        if self.store.get_meta(&done_key)?.is_some() {
            return Ok(None);
        }
        let _one_at_a_time = self.processing.lock().await;
        let tally = self
            .judge_window(judge, since, &|i: &ItemRecord| i.decision(topic).is_none())
            .await?;
        self.store.put_meta(
            &done_key,
            &serde_json::Value::String(Utc::now().to_rfc3339()),
        )?;
        self.store.flush().await?;
        info!(
            topic,
            judged = tally.decided(),
            alerts = tally.alerts,
            "topic backfilled"
        );
        Ok(Some(tally))
    }

    /// Backfills every topic whose table asks for it (`backfill = "48h"`) and that was not
    /// backfilled before ([`Pipeline::backfill`]); at start and after a reload. Returns what
    /// was decided.
    pub async fn backfill_topics(&self) -> Result<Tally, PipelineError> {
        let mut all = Tally::default();
        for t in &self.config.topics {
            let Some(window) = t.backfill else {
                continue;
            };
            let since = window_start(window.0);
            if let Some(tally) = self.backfill(&t.id(), since).await? {
                all += tally;
            }
        }
        if all.alerts > 0 {
            self.delivery_wake.notify_one();
        }
        Ok(all)
    }

    /// Judges for `judge`'s topic, oldest first, the items decided since `since` that `pick`
    /// chooses, from their kept texts (the caller holds the processing lock).
    async fn judge_window(
        &self,
        judge: &Judge,
        since: DateTime<Utc>,
        pick: &(dyn Fn(&ItemRecord) -> bool + Sync),
    ) -> Result<Tally, PipelineError> {
        judge.refresh_marks()?;
        // The candidates: every item whose text is still kept (a text is kept when its item
        // is first judged), read one by one, rather than every item the store ever held;
        // then those decided in the window that `pick` chooses.
        let horizon = window_start(self.config.store.keep_text.0).min(since);
        if since < window_start(self.config.store.keep_text.0) {
            warn!(
                keep_text = %self.config.store.keep_text,
                "the window reaches back beyond the texts kept: older items are not judged again"
            );
        }
        let kept = self.store.kept_text_urls(horizon)?;
        let mut items = Vec::new();
        let mut oldest_text: Option<DateTime<Utc>> = None;
        for (url, at) in &kept {
            if let Some(i) = self.store.item(url)? {
                if i.decided_at >= since && pick(&i) {
                    oldest_text = Some(oldest_text.map_or(*at, |o| o.min(*at)));
                    items.push(i);
                }
            }
        }
        // Oldest first (the URL breaks ties: the order, and so the decisions, are the same
        // every time).
        items.sort_by(|a, b| {
            a.arrival_order()
                .cmp(&b.arrival_order())
                .then_with(|| a.url.cmp(&b.url))
        });
        // Their texts, in one pass over the texts kept since the oldest of them.
        let mut texts: std::collections::HashMap<String, Option<String>> =
            items.iter().map(|i| (i.url.clone(), None)).collect();
        if let Some(oldest) = oldest_text {
            self.store
                .for_each_kept_text(oldest, &mut |url, _, packed| {
                    if let Some(slot) = texts.get_mut(url) {
                        // A copy that does not inflate leaves an older good one in place.
                        if let Some(text) = crate::store::texts::unpack(packed) {
                            *slot = Some(text);
                        }
                    }
                })?;
        }
        let mut tally = Tally::default();
        let mut unwritten = Unwritten::default();
        let mut without_text = 0usize;
        for item in items {
            let Some(text) = texts.remove(&item.url).flatten() else {
                without_text += 1;
                continue;
            };
            // As it stands now: judging an earlier one again may have updated it (a copy's
            // list) or decided it (a repeat of it), in this group or already written.
            let Some(item) = unwritten.item(&self.store, &item.url)? else {
                continue;
            };
            if !pick(&item) {
                continue;
            }
            let span = tracing::info_span!("rejudge", url = %item.url);
            let _g = span.enter();
            tally.count(judge.rejudge(item, text, &mut unwritten)?);
            if unwritten.is_full() {
                unwritten.write(&self.store)?;
            }
        }
        unwritten.write(&self.store)?;
        judge.end_pass()?;
        self.store.flush().await?;
        if tally.alerts > 0 {
            self.delivery_wake.notify_one();
        }
        info!(
            judged = tally.decided(),
            alerts = tally.alerts,
            "window judged again"
        );
        if without_text > 0 {
            warn!(
                items = without_text,
                "items of the window were not judged again: their kept text does not read"
            );
        }
        Ok(tally)
    }
}
