//! The panel: every topic's judge, over one stream of entries.
//!
//! Each entry is fetched and extracted once, and what can be computed from its text once is
//! (the copy signature, the language, the text the store keeps: [`Features`]); each topic then
//! scores the text with its own model ([`Judge::topic_features`]). In order, one entry at a
//! time, the panel does step 1 (URL identity) for every topic, then hands the item to each
//! topic's judge for steps 2 to 5. One item record holds every topic's decision: an item
//! relevant to two topics alerts in both, each alert naming its topic, and a topic that has
//! decided an item never decides it again (a cross-post, a re-run after a crash). Copies are
//! found per topic, in the topic's own index: a copy of one topic's seed is that topic's seed
//! copy only.

use chrono::{DateTime, Utc};
use tracing::{debug, warn};

use super::{identify, Features, Judge, Prepared, Tally, Unwritten, Verdict};
use crate::store::{EntryStatus, ItemRecord, Store, StoreError};

/// Every topic's judge.
pub struct Panel {
    store: Store,
    judges: Vec<Judge>,
    /// How long every judged item's text is kept (zero: none).
    keep_text: std::time::Duration,
}

impl Panel {
    /// A panel of judges (one per topic, in config order) over `store`, keeping every judged
    /// text for `keep_text`.
    pub fn new(store: Store, judges: Vec<Judge>, keep_text: std::time::Duration) -> Panel {
        let judges = judges
            .into_iter()
            .map(|j| j.keeping_texts(!keep_text.is_zero()))
            .collect();
        Panel {
            store,
            judges,
            keep_text,
        }
    }

    /// The judges, in config order.
    pub fn judges(&self) -> &[Judge] {
        &self.judges
    }

    /// A topic's judge by id.
    pub fn judge_of(&self, topic: &str) -> Option<&Judge> {
        self.judges.iter().find(|j| j.topic_id() == topic)
    }

    /// What the judges need from a text alone (see [`Features`]): each topic's relevance,
    /// and the per-entry work once.
    pub fn features(&self, title: &str, text: &str) -> Features {
        let st = crate::relevance::ScoringText::new(title, text);
        let topics: Vec<_> = self
            .judges
            .iter()
            .map(|j| j.topic_features(title, text, &st))
            .collect();
        let could_alert = topics.iter().any(|t| t.could_alert);
        // The language is told where it decides something or a reader will look: every
        // text when a topic follows some languages only, else the texts that could alert
        // (detection costs tens of microseconds a text, a few per cent of a cycle over texts
        // nobody reads).
        let lang = (could_alert || self.judges.iter().any(|j| !j.languages.is_empty()))
            .then(|| crate::text::lang::detect(text))
            .flatten();
        Features {
            title: title.to_string(),
            topics,
            signature: could_alert.then(|| super::Signature::from_text(text)),
            packed: (!self.keep_text.is_zero()).then(|| crate::store::texts::pack(text)),
            lang,
        }
    }

    /// Judges one entry for every topic (see the module doc). Returns each topic's verdict,
    /// in the judges' order. Decisions that alert nobody join `unwritten`; an alert writes
    /// `unwritten` first, then itself. The entry is marked done with the last decision, so
    /// a crash between two topics' decisions leaves it pending, and the next pass judges it
    /// for the topics that had not.
    pub fn judge(
        &self,
        p: Prepared,
        unwritten: &mut Unwritten,
    ) -> Result<Vec<Verdict>, StoreError> {
        let Prepared {
            mut rec,
            text,
            source,
            mut features,
        } = p;
        let text = match text {
            Ok(t) => t,
            Err(why) => {
                match why.2 {
                    super::Attempt::Page => rec.attempts += 1,
                    super::Attempt::Lookup => rec.lookup_attempts += 1,
                    super::Attempt::Free => {}
                }
                rec.note = Some(why.to_string());
                rec.retry_at =
                    Some(Utc::now() + chrono::Duration::from_std(why.1).unwrap_or_default());
                self.store.put_entry(&rec)?;
                warn!(reason = %why, attempt = rec.attempts.max(rec.lookup_attempts), retry_in_s = why.1.as_secs(), "deferred to a later pass");
                return Ok(vec![Verdict::Deferred; self.judges.len()]);
            }
        };
        rec.status = EntryStatus::Done;
        rec.retry_at = None;
        rec.note = text.note.clone();

        // 1. URL identity.
        let id = identify(&rec, &text);
        let known = match unwritten.item(&self.store, &id.key)? {
            Some(i) => Some(i),
            None => match &id.link_canon {
                Some(c) => unwritten.item(&self.store, c)?,
                None => None,
            },
        };
        let now = Utc::now();
        let item = match known {
            Some(item) => known_url(&rec, item, &text, id.seen_under, &source),
            None => {
                let published = rec.entry.published.or_else(|| {
                    text.article
                        .published
                        .as_deref()
                        .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
                        .map(|d| d.with_timezone(&Utc))
                });
                ItemRecord {
                    url: id.key.clone(),
                    doc_id: super::doc_id_of(&format!("item:{}", id.key)),
                    links: id.seen_under,
                    feeds: vec![rec.feed_id.clone()],
                    source: source.clone(),
                    title: features
                        .as_ref()
                        .map(|f| f.title.clone())
                        .unwrap_or_else(|| super::item_title(&rec, &text.article)),
                    byline: text.article.byline.clone(),
                    published,
                    first_seen: rec.first_seen,
                    decided_at: now,
                    revisions: 0,
                    text_source: text.source,
                    text_note: text.note.clone(),
                    // The text itself is kept for alerted items only (by the judge): for the
                    // rest (most of any feed list) it was most of the bytes written per item,
                    // and only its length is ever shown again.
                    text: String::new(),
                    words: text.article.text.split_whitespace().count() as u32,
                    lang: features
                        .as_ref()
                        .and_then(|f| f.lang.as_ref())
                        .map(|l| l.code.to_string()),
                    decisions: Default::default(),
                    legacy_decision: None,
                    duplicates: Vec::new(),
                }
            }
        };
        let key = item.url.clone();
        // The topics that have not decided this item yet: all of them for a new one; for a
        // known one, none, or those that came after it (or after a crash between topics).
        let todo: Vec<usize> = (0..self.judges.len())
            .filter(|&t| item.decision(self.judges[t].topic_id()).is_none())
            .collect();
        let mut verdicts = vec![Verdict::KnownUrl; self.judges.len()];
        if todo.is_empty() {
            unwritten.stage(Some(rec), item, None, None);
            return Ok(verdicts);
        }
        // Kept once for every topic. Keeping it is a service to the reader's feedback, not
        // part of the decision: a text that cannot be kept (a full disk) is logged, and
        // judging goes on.
        if let Some(packed) = features.as_ref().and_then(|f| f.packed.as_ref()) {
            if let Err(e) = self.store.keep_text(&key, now, packed) {
                warn!(error = %e, "text not kept");
            }
        }
        // Each topic's relevance, moved out to its judge (not copied).
        let mut per_topic: Vec<Option<super::TopicFeatures>> = features
            .as_mut()
            .map(|f| {
                std::mem::take(&mut f.topics)
                    .into_iter()
                    .map(Some)
                    .collect()
            })
            .unwrap_or_default();
        let mut rec = Some(rec);
        let mut item = Some(item);
        for (k, &t) in todo.iter().enumerate() {
            let judge = &self.judges[t];
            let span = tracing::debug_span!("topic", topic = %judge.topic_id());
            let _g = span.enter();
            // The item as the previous topic left it (staged, or written with an alert).
            let current = match item.take() {
                Some(i) => i,
                None => match unwritten.take_item(&self.store, &key)? {
                    Some(i) => i,
                    None => {
                        warn!(url = %key, "item decided by an earlier topic not found; not judged for this topic");
                        continue;
                    }
                },
            };
            let entry = if k + 1 == todo.len() {
                rec.take()
            } else {
                None
            };
            let tf = per_topic.get_mut(t).and_then(Option::take);
            verdicts[t] =
                judge.judge_item(entry, current, &text, features.as_ref().zip(tf), unwritten)?;
        }
        // Only when the last topic found no item to decide: the entry is done all the same.
        if let Some(rec) = rec {
            self.store.put_entry(&rec)?;
        }
        Ok(verdicts)
    }

    /// The end of a processing pass: each topic relearns what it learned; kept texts older
    /// than their window are dropped.
    pub fn end_pass(&self) -> Result<(), StoreError> {
        if !self.keep_text.is_zero() {
            let window =
                chrono::Duration::from_std(self.keep_text).unwrap_or(chrono::Duration::MAX);
            let pruned = self.store.prune_texts(
                Utc::now()
                    .checked_sub_signed(window)
                    .unwrap_or(DateTime::<Utc>::MIN_UTC),
            )?;
            if pruned > 0 {
                debug!(pruned, "kept texts older than their window dropped");
            }
        }
        for j in &self.judges {
            j.end_pass()?;
        }
        Ok(())
    }

    /// Every topic's late rescues ([`Judge::late_rescues`]), added up.
    pub fn late_rescues(&self, unwritten: &mut Unwritten) -> Result<Tally, StoreError> {
        let mut all = Tally::default();
        for j in &self.judges {
            all += j.late_rescues(unwritten)?;
        }
        Ok(all)
    }
}

/// An entry whose URL is already an item: a cross-post, a tracking variant, or the feed
/// updating the article in place. Never a second alert for the same article (for a topic
/// that decided it).
fn known_url(
    rec: &crate::store::EntryRecord,
    mut item: ItemRecord,
    text: &super::Text,
    seen_under: Vec<String>,
    source: &str,
) -> ItemRecord {
    for u in seen_under {
        if !item.links.contains(&u) {
            item.links.push(u);
        }
    }
    let same_feed = item.feeds.contains(&rec.feed_id);
    if !same_feed {
        item.feeds.push(rec.feed_id.clone());
    }
    if rec.revisions > 0 && same_feed {
        item.revisions += 1;
        if !text.article.text.trim().is_empty() && item.alerted() {
            item.text = text.article.text.clone();
        }
        debug!(url = %item.url, revisions = item.revisions, "in-place update of a known item; no second alert");
    } else {
        debug!(url = %item.url, from = %source, "already known under this URL (cross-post or variant); no alert");
    }
    item
}
