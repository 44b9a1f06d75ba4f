//! The reader's feedback, applied to the running pipeline: marks ([`crate::judge::feedback`])
//! and re-judging a window with them.
//!
//! A mark needs the item's text: an alerted item keeps its own, the others' are kept for
//! `[store] keep_text`. Marking and re-judging hold the pipeline's processing lock, so they
//! never interleave with a pass over pending entries: the judge sees one decision at a time.

use chrono::{DateTime, Utc};
use tracing::info;

use super::{Pipeline, PipelineError};
use crate::judge::{Tally, Unwritten};
use crate::relevance::Mark;
use crate::store::{Decision, ItemRecord};

/// Why a mark could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    /// No item was seen under the URL.
    #[error("{0}")]
    UnknownItem(String),
    /// The item's text is not kept any more (or it never had one).
    #[error("no text of {url} is kept ({why}); it cannot be marked")]
    NoText {
        /// The item.
        url: String,
        /// Why, in words.
        why: String,
    },
}

impl Pipeline {
    /// Records the reader's verdict on the item seen under `url`; returns the item and the mark.
    pub async fn mark(
        &self,
        url: &str,
        relevant: bool,
    ) -> Result<(ItemRecord, Mark), PipelineError> {
        let _one_at_a_time = self.processing.lock().await;
        let item = crate::report::lookup(&self.store, url)?.map_err(FeedbackError::UnknownItem)?;
        let text = if item.text.trim().is_empty() {
            self.store.kept_text(&item.url)?
        } else {
            Some(item.text.clone())
        };
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            let why = if matches!(item.decision, Decision::Unreadable { .. }) {
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
        let mark = self.judge.mark(&item, &text, relevant)?;
        self.store.flush().await?;
        info!(url = %item.url, relevant, "reader's mark recorded");
        Ok((item, mark))
    }

    /// Undoes the reader's mark on the item seen under `url` (or on `url` itself); whether
    /// there was one.
    pub async fn clear_mark(&self, url: &str) -> Result<bool, PipelineError> {
        let _one_at_a_time = self.processing.lock().await;
        let key = match crate::report::lookup(&self.store, url)? {
            Ok(item) => item.url,
            Err(_) => url.trim().to_string(),
        };
        let had = self.judge.clear_mark(&key)?;
        self.store.flush().await?;
        Ok(had)
    }

    /// The reader's marks, oldest first.
    pub fn marks(&self) -> Vec<Mark> {
        let mut marks: Vec<Mark> = self.judge.evidence().marks.into_values().collect();
        marks.sort_by(|a, b| a.at.cmp(&b.at));
        marks
    }

    /// Judges again, oldest first, every item decided since `since` that did not alert and
    /// was not a copy, from its kept text: newly relevant ones alert as usual (and are
    /// delivered); alerts already sent stay sent. Returns what was decided.
    pub async fn rejudge(&self, since: DateTime<Utc>) -> Result<Tally, PipelineError> {
        let _one_at_a_time = self.processing.lock().await;
        let mut items: Vec<ItemRecord> = self
            .store
            .items()?
            .into_iter()
            .filter(|i| i.decided_at >= since && matches!(i.decision, Decision::OffTopic { .. }))
            .collect();
        items.sort_by_key(|i| (i.published.unwrap_or(i.first_seen), i.first_seen));
        // Their texts, in one pass over the texts kept since the oldest of them.
        let mut texts: std::collections::HashMap<String, Option<String>> =
            items.iter().map(|i| (i.url.clone(), None)).collect();
        if let Some(oldest) = items.iter().map(|i| i.decided_at).min() {
            // A text is kept when its item is judged, an instant after `decided_at`... or
            // before it: a minute's slack either way.
            self.store.for_each_kept_text(
                oldest - chrono::Duration::minutes(1),
                &mut |url, _, packed| {
                    if let Some(slot) = texts.get_mut(url) {
                        *slot = crate::store::texts::unpack(packed);
                    }
                },
            )?;
        }
        let mut tally = Tally::default();
        let mut unwritten = Unwritten::default();
        for item in items {
            let Some(text) = texts.remove(&item.url).flatten() else {
                continue;
            };
            let span = tracing::info_span!("rejudge", url = %item.url);
            let _g = span.enter();
            tally.count(self.judge.rejudge(item, text, &mut unwritten)?);
            if unwritten.is_full() {
                unwritten.write(&self.store)?;
            }
        }
        unwritten.write(&self.store)?;
        self.judge.end_pass()?;
        self.store.flush().await?;
        if tally.alerts > 0 {
            self.delivery_wake.notify_one();
        }
        info!(
            judged = tally.decided(),
            alerts = tally.alerts,
            "window judged again"
        );
        Ok(tally)
    }
}
