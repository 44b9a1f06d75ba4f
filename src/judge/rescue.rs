//! Rescue: the near misses of a topic, and the second chance a story gives them.
//!
//! An item that scores just under the threshold ([`RESCUE_FROM`] of it) is a *near miss*.
//! Other outlets report one development in their own words, and some name the topic's
//! protagonists less up front than the seeds do: such a report scores a little low, yet it
//! is as close to a story already alerted on as that story's own reports are. [`decide`]
//! lets it alert when it is ([`RESCUE_SIMILARITY`]) and names the protagonists
//! ([`RESCUE_COVERAGE`]: without them, the closeness is that of an event of the same kind).
//!
//! The judge remembers the near misses ([`NearMiss`], in the store): those of the last
//! [`LATE_RESCUE_WINDOW`] (at most [`NEAR_MISSES_KEPT`]), and the latest [`NEAR_MISSES`]
//! whatever their age. The status page lists the latest for a reader looking for a missed
//! article, and [`Judge::late_rescues`] looks at those of the window again when a story starts
//! after they were judged (feeds are polled in no set order), so that the decision is the one
//! judging in order of publication gives. Their texts are read from the texts the store keeps
//! (`[store] keep_text`), or kept with them when the store keeps none.

use chrono::{DateTime, Utc};
use tracing::debug;

use super::stories::StoryIndex;
use super::{Judge, Tally, Unwritten, Verdict};
use crate::relevance::Relevance;
use crate::store::{Decision, ItemRecord, Store, StoreError};

/// A near miss (a score at least this share of the threshold) that reports a story already
/// alerted on ([`RESCUE_SIMILARITY`]) alerts: reports of one development by other outlets, in
/// other words, that name the protagonists less up front.
pub const RESCUE_FROM: f32 = 0.8;
/// How close (time-adjusted story similarity) a near miss must be to a started story.
pub const RESCUE_SIMILARITY: f32 = 0.22;

/// The smallest name coverage ([`Relevance::coverage`]) of a near miss a story may rescue.
/// A near miss dense in the topic's words that lacks its protagonists is, on real news,
/// mostly a report of a *similar* event (the other coach fired, the other IE patch): of the
/// 34 rescues on the ECB+ dev set, 22 were below this bar and 20 of those were false (the
/// sister event's reports); of the 12 above, 9 were right. Our scenario world's one rescue
/// (the hands-on review of the Bedrock preview) has 0.41.
pub const RESCUE_COVERAGE: f32 = 0.35;

/// A near miss's rescue: the story it reports (id, title, similarity).
pub type Rescue = (String, String, f32);

/// The relevance step's verdict ([`decide`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Relevant {
    /// The score reaches the threshold and the query, if any, matches.
    Yes,
    /// A near miss that reports a started story: (story id, story title, similarity).
    Rescued(String, String, f32),
    /// Off-topic.
    No,
}

/// The relevance step, pure: relevant, or a near miss (at least [`RESCUE_FROM`] of the
/// threshold, the query matching, the protagonists named: [`RESCUE_COVERAGE`]) that reports
/// a story already alerted on (time-adjusted similarity at least [`RESCUE_SIMILARITY`] to a
/// started story: another outlet's report of a development, in other words), or off-topic.
/// The judge runs it with its stories; tests and experiments with theirs.
pub fn decide(
    rel: &Relevance,
    min_score: f32,
    stories: &StoryIndex,
    title: &str,
    text: &str,
    published: i64,
) -> Relevant {
    if rel.is_relevant(min_score) {
        return Relevant::Yes;
    }
    if rel.query == Some(false)
        || rel.score < RESCUE_FROM * min_score
        || rel.coverage < RESCUE_COVERAGE
    {
        return Relevant::No;
    }
    match stories.closest(title, text, published) {
        Some((s, sim)) if sim >= RESCUE_SIMILARITY => {
            Relevant::Rescued(s.id.clone(), s.title.clone(), sim)
        }
        _ => Relevant::No,
    }
}

impl Judge {
    /// Remembers a near miss for the status page, where the reader can mark it relevant, and
    /// for a late rescue ([`Judge::late_rescues`]), with its text. Stored with the group of
    /// decisions the item's belongs to, before them: a crash after the decision would
    /// otherwise lose the chance of a rescue for good (the item is never judged again).
    pub(super) fn note_near_miss(
        &self,
        item: &ItemRecord,
        score: f32,
        text: &str,
        unwritten: &mut Unwritten,
    ) {
        let mut near = self.near_misses.lock().unwrap_or_else(|p| p.into_inner());
        near.0.retain(|n| n.url != item.url);
        near.0.push_back(NearMiss {
            url: item.url.clone(),
            title: item.title.clone(),
            source: item.source.clone(),
            score,
            at: item.decided_at,
            published: item.published,
            // The store keeps every judged text (read back for a late rescue): a copy here
            // would be rewritten with the whole list at every near miss.
            text: if self.texts_kept {
                String::new()
            } else {
                text.to_string()
            },
        });
        // Those of the rescue window (at most NEAR_MISSES_KEPT), and the latest NEAR_MISSES
        // whatever their age (for the status page).
        let since = chrono::Utc::now() - LATE_RESCUE_WINDOW;
        let latest_from = near.0.len().saturating_sub(NEAR_MISSES);
        let mut i = 0;
        near.0.retain(|m| {
            let latest = i >= latest_from;
            i += 1;
            latest || m.at >= since
        });
        // With their texts in the list (a store that keeps none), the latest only.
        let bound = if self.texts_kept {
            NEAR_MISSES_KEPT
        } else {
            NEAR_MISSES
        };
        while near.0.len() > bound {
            near.0.pop_front();
        }
        near.1 = false;
        unwritten.stage_meta(
            near_misses_key(&self.topic_id),
            serde_json::to_value(&near.0).unwrap_or_default(),
        );
    }

    /// Stores the topic's near misses (the flag says they changed since).
    pub(super) fn save_near_misses(
        &self,
        near: &mut (std::collections::VecDeque<NearMiss>, bool),
    ) -> Result<(), StoreError> {
        self.store.put_meta(
            &near_misses_key(&self.topic_id),
            &serde_json::to_value(&near.0).unwrap_or_default(),
        )?;
        near.1 = false;
        Ok(())
    }

    /// Near misses that report a story started after they were judged alert now: the
    /// rescue ([`decide`]) of a near miss that arrived before the article that started its
    /// story, though published after it (feeds are polled in no set order, and a restart can
    /// change it). Without this, whether such an item alerted depended on the order it was
    /// fetched in; with it, the decision is the one judging in order of publication gives.
    /// The remembered near misses of the last [`LATE_RESCUE_WINDOW`] are looked at (after a
    /// pass that alerted; the ones of this pass once its decisions are written); each one
    /// the stories now rescue is judged again ([`Judge::rejudge`]), so copies and marks
    /// still apply.
    pub fn late_rescues(&self, unwritten: &mut Unwritten) -> Result<Tally, StoreError> {
        let mut tally = Tally::default();
        let since = Utc::now() - LATE_RESCUE_WINDOW;
        let mut candidates: Vec<NearMiss> = self
            .near_misses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .iter()
            .filter(|n| n.at >= since)
            .cloned()
            .collect();
        // In publication order, as judging in order would have met them (of two copies, the
        // first is the original; the URL breaks ties, so the order is the same every time).
        candidates.sort_by(|a, b| {
            let key = |n: &NearMiss| (n.published.unwrap_or(n.at), n.at);
            key(a).cmp(&key(b)).then_with(|| a.url.cmp(&b.url))
        });
        if candidates.is_empty() {
            return Ok(tally);
        }
        unwritten.write(&self.store)?;
        // Kept by the store (see the module doc), read together; gone once `keep_text` is past.
        let wanted: Vec<&str> = candidates
            .iter()
            .filter(|n| n.text.is_empty())
            .map(|n| n.url.as_str())
            .collect();
        let mut kept = if wanted.is_empty() {
            Default::default()
        } else {
            self.store.kept_texts(&wanted)?
        };
        for mut n in candidates {
            if n.text.is_empty() {
                match kept.remove(&n.url) {
                    Some(t) => n.text = t,
                    None => continue,
                }
            }
            let published = n.published.unwrap_or(n.at).timestamp();
            let closest = self
                .stories
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .closest(&n.title, &n.text, published)
                .map(|(s, sim)| (s.id.clone(), sim));
            debug!(url = %n.url, ?closest, "near miss looked at again");
            // Only a story that had started when the near miss was published (`closest`
            // looks at no other): the decision it would have had, judged in order of
            // publication. (Rescuing earlier reports into a later story as well was tried: on
            // real news it mostly spread false alerts of a sister event, 29 of 42 rescues
            // false on the realnews dev set.)
            if !closest.is_some_and(|(_, sim)| sim >= RESCUE_SIMILARITY) {
                continue;
            }
            // As staged: an earlier rescue of this pass may have updated it (a copy's list).
            let Some(item) = unwritten.item(&self.store, &n.url)? else {
                continue;
            };
            if !matches!(
                item.decision(&self.topic_id),
                Some(Decision::OffTopic { .. })
            ) {
                continue;
            }
            let span = tracing::info_span!("late_rescue", url = %n.url);
            let _g = span.enter();
            let verdict = self.rejudge(item, n.text, unwritten)?;
            if verdict != Verdict::OffTopic {
                let mut near = self.near_misses.lock().unwrap_or_else(|p| p.into_inner());
                near.0.retain(|m| m.url != n.url);
                near.1 = true;
            }
            tally.count(verdict);
        }
        unwritten.write(&self.store)?;
        Ok(tally)
    }
}

/// How many of the latest near misses are remembered whatever their age (the status page
/// lists them).
pub const NEAR_MISSES: usize = 20;
/// How many near misses of the [`LATE_RESCUE_WINDOW`] are remembered at most (for a late
/// rescue; the oldest go first), when the store keeps their texts; when it keeps none, the
/// texts go with the list and only the latest [`NEAR_MISSES`] are kept.
pub const NEAR_MISSES_KEPT: usize = 500;

/// An item that scored close to the threshold without alerting ([`RESCUE_FROM`]): what a
/// reader looks through for a missed article.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NearMiss {
    /// Its canonical URL.
    pub url: String,
    /// Its headline.
    pub title: String,
    /// Its outlet.
    pub source: String,
    /// Its score.
    pub score: f32,
    /// When it was judged.
    pub at: DateTime<Utc>,
    /// When it was published, if its feed said.
    #[serde(default)]
    pub published: Option<DateTime<Utc>>,
    /// Its text, when the store keeps none (for a late rescue: [`Judge::late_rescues`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
}

/// How long a near miss can still be rescued by a story that started after it was judged.
pub const LATE_RESCUE_WINDOW: chrono::Duration = chrono::Duration::days(3);

/// A topic's latest near misses, oldest first, as stored.
pub fn stored_near_misses(store: &Store, topic_id: &str) -> Result<Vec<NearMiss>, StoreError> {
    super::stored_meta(store, &near_misses_key(topic_id))
}

/// Where a topic's near misses are stored (a meta value).
fn near_misses_key(topic_id: &str) -> String {
    format!("near_misses:{topic_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relevance::{TopicModel, DEFAULT_MIN_SCORE};
    use crate::stories::StoryParams;

    /// A near miss close to a started story is rescued only when it names the topic's
    /// protagonists: without them, the closeness is that of an event of the same kind.
    #[test]
    fn a_near_miss_without_the_protagonists_is_not_rescued() {
        let seed = "Acme recalls 40,000 kettles over fire risk\n\nAcme Appliances is recalling \
                    40,000 electric kettles sold since March after reports that the base can \
                    overheat and catch fire, the company said on Monday.";
        let topic = TopicModel::from_seeds(&[seed]);
        let mut stories = StoryIndex::new(&topic, StoryParams::default());
        let (title, text) = (
            "Kettle recall widens as more overheating reports come in",
            "The recall of electric kettles that can overheat and catch fire widened on \
             Tuesday, after more reports of kettles whose base overheated.",
        );
        stories.start("https://a.test/1", title, text, 0);
        let near_miss = |coverage: f32| Relevance {
            score: 0.9 * DEFAULT_MIN_SCORE,
            terms: Vec::new(),
            query: None,
            english: 1.0,
            note: None,
            density: 0.6,
            coverage,
            names: Vec::new(),
            protagonists: coverage >= 1.0,
            group: None,
        };
        let named = decide(
            &near_miss(0.6),
            DEFAULT_MIN_SCORE,
            &stories,
            title,
            text,
            3600,
        );
        assert!(matches!(named, Relevant::Rescued(..)), "{named:?}");
        let unnamed = decide(
            &near_miss(RESCUE_COVERAGE - 0.05),
            DEFAULT_MIN_SCORE,
            &stories,
            title,
            text,
            3600,
        );
        assert_eq!(unnamed, Relevant::No);
    }
}
