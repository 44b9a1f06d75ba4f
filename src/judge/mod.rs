//! The judge: what becomes of one entry once its text is in hand. A sequence of named steps,
//! each calling into its stage:
//!
//! 1. [`identify`] — URL identity: the canonical URL of the link, or the
//!    page's declared canonical; an entry whose URL is already an item (a cross-post, a
//!    tracking variant, an update in place) is [`Verdict::KnownUrl`], never a second alert;
//! 2. [`relevance`](Judge::relevance) — on topic? (the relevance stage scored the text once,
//!    in [`Judge::features`]; a near miss that reports a story already alerted on is
//!    rescued, [`rescue`]); one that would alert is held back when the texts most like it
//!    were judged off-topic ([`neighbours`]);
//! 3. [`copies`](Judge::copies) — a copy of a seed or of an earlier relevant item? (the dedup
//!    stage, through the in-memory [`DupIndex`]);
//! 4. [`story`](Judge::story) — which story it joins or starts (the stories stage);
//! 5. [`alert`](Judge::alert) — the alert and its outbox rows, written with the decision in
//!    one transaction.
//!
//! Relevance comes before the copy check, and only texts that could alert are indexed for
//! copies: the index exists to stop a second alert for the same article, and an off-topic text
//! never alerted. Its copies are off-topic in their turn (the score is a function of title and
//! text), and a copy that scores on topic where its original did not alerts as the first
//! relevant version. Most of any feed list is off-topic, so this keeps the index (memory, a
//! record written per text) to the texts that matter.
//!
//! Entries are judged one at a time, oldest first: the copy check needs each decision to see
//! the ones before it, and an original should be judged before its re-posts. What does not
//! depend on earlier decisions ([`Judge::features`]: the relevance score and the copy
//! signature) is computed before, in the entry's own task. Decisions that alert nobody are
//! written in groups ([`Unwritten`]).

pub mod dedup;
mod dupindex;
pub mod feedback;
pub mod neighbours;
mod panel;
pub mod relevance;
pub mod rescue;
pub mod stories;
#[cfg(test)]
mod tests;
mod unwritten;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn};
use url::Url;

pub use dupindex::{dup_entry, topic_tag, DupIndex};
pub use panel::Panel;
pub use rescue::{
    decide, stored_near_misses, NearMiss, Relevant, Rescue, LATE_RESCUE_WINDOW, NEAR_MISSES,
    RESCUE_COVERAGE, RESCUE_FROM, RESCUE_SIMILARITY,
};
pub use unwritten::Unwritten;

use crate::extract::Article;
use crate::metrics::Metrics;
use crate::notify::Endpoint;
use crate::store::{
    AlertRecord, Decision, DupEntry, EntryRecord, Grounds, ItemCommit, ItemRecord, Store,
    StoreError, StoryRecord, TextSource,
};
use dedup::{DupParams, DupVerdict, Origin, Signature};
use feedback::{Feedback, Moved};
use neighbours::{Neighbourhood, NEIGHBOUR_FLOOR};
use relevance::{Evidence, Mark, Relevance, TopicModel};
use stories::{StoryIndex, StoryParams, StorySummary};

/// What became of one entry: the judge's verdict, matched exhaustively by the [`Tally`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// New coverage: alerted.
    Alert,
    /// A copy of a seed article.
    SeedDuplicate,
    /// A copy of an earlier relevant item.
    Repeat,
    /// Not about the topic.
    OffTopic,
    /// No text to judge.
    Unreadable,
    /// Its URL was already an item (cross-post, tracking variant, update in place).
    KnownUrl,
    /// Left pending after a transient page failure; judged again next cycle.
    Deferred,
}

/// What one processing pass decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// New coverage, alerted.
    pub alerts: usize,
    /// Copies of seed articles.
    pub seed_duplicates: usize,
    /// Copies of earlier relevant items (off-topic texts are not checked for copies).
    pub repeats: usize,
    /// Off-topic items.
    pub off_topic: usize,
    /// Items without any text.
    pub unreadable: usize,
    /// Entries whose URL was already an item (cross-posts, tracking variants, updates).
    pub known_url: usize,
    /// Entries left pending after a transient failure.
    pub deferred: usize,
}

impl std::ops::AddAssign for Tally {
    /// Adds up two passes' (or topics', or windows') decisions.
    fn add_assign(&mut self, o: Tally) {
        self.alerts += o.alerts;
        self.seed_duplicates += o.seed_duplicates;
        self.repeats += o.repeats;
        self.off_topic += o.off_topic;
        self.unreadable += o.unreadable;
        self.known_url += o.known_url;
        self.deferred += o.deferred;
    }
}

impl Tally {
    /// Counts one verdict.
    pub fn count(&mut self, v: Verdict) {
        match v {
            Verdict::Alert => self.alerts += 1,
            Verdict::SeedDuplicate => self.seed_duplicates += 1,
            Verdict::Repeat => self.repeats += 1,
            Verdict::OffTopic => self.off_topic += 1,
            Verdict::Unreadable => self.unreadable += 1,
            Verdict::KnownUrl => self.known_url += 1,
            Verdict::Deferred => self.deferred += 1,
        }
    }

    /// Entries decided.
    pub fn decided(&self) -> usize {
        self.alerts
            + self.seed_duplicates
            + self.repeats
            + self.off_topic
            + self.unreadable
            + self.known_url
    }
}

/// The text an entry yielded (the pipeline's text step: page, else feed content or summary).
#[derive(Debug, Default)]
pub struct Text {
    /// The extracted article.
    pub article: Article,
    /// Where the text came from.
    pub source: TextSource,
    /// Why the page was not used, when it was not.
    pub note: Option<String>,
    /// The URL the page was finally fetched from.
    pub final_url: Option<Url>,
}

/// Why an entry's text must wait for a later cycle: its page (or the Google News lookup
/// before it) failed in a way worth another try (the host may come back), how long to leave
/// it before that try, and which of its attempts this spends.
#[derive(Debug, thiserror::Error)]
#[error("page fetch failed: {0}")]
pub struct Deferred(
    pub crate::fetch::FetchError,
    pub std::time::Duration,
    pub Attempt,
);

/// Which of an entry's attempts a deferral spends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// None: no request was made (its host asked this process to pause).
    Free,
    /// One of the article page's.
    Page,
    /// One of the Google News lookup's.
    Lookup,
}

/// What the judges compute from a text alone, once per entry, before judging in order: it
/// does not depend on earlier decisions, and it is the costliest part of judging. The
/// per-entry work (copy signature, language, packed text) is done once for every topic; each
/// topic scores relevance on its own ([`TopicFeatures`]).
#[derive(Debug)]
pub struct Features {
    /// The item's title (the entry's, else the page's).
    pub title: String,
    /// Each topic's relevance, in the order of the [`Panel`]'s judges.
    pub topics: Vec<TopicFeatures>,
    /// The copy-detection signature, present exactly when the text could alert for some
    /// topic: only such a text is checked for copies (most of a feed list is off-topic, and
    /// its signature was a sixth of the work per item).
    pub signature: Option<Signature>,
    /// The text as the store keeps it ([`crate::store::texts`]), when texts are kept.
    pub packed: Option<Vec<u8>>,
    /// The text's language, when it can be told.
    pub lang: Option<crate::text::lang::Language>,
}

/// One topic's view of a text: its relevance.
#[derive(Debug, Clone)]
pub struct TopicFeatures {
    /// The relevance score and its reasons.
    pub relevance: Relevance,
    /// Where the reader's marks moved the score ([`feedback`]); the relevance's score is the
    /// moved one.
    pub moved: Option<Moved>,
    /// Whether the text could alert for this topic: relevant, or a near miss the story step
    /// may rescue.
    pub could_alert: bool,
}

/// A text scored again for `explain` ([`Judge::rescore`]).
#[derive(Debug, Clone)]
pub struct Rescored {
    /// The score now.
    pub score: f32,
    /// The topic's threshold.
    pub threshold: f32,
    /// The terms behind the score, strongest first.
    pub terms: Vec<(String, f32)>,
    /// What the score rested on.
    pub grounds: Grounds,
}

/// One entry, ready to be judged.
pub struct Prepared {
    /// The stored entry.
    pub rec: EntryRecord,
    /// Its text, or why it must wait.
    pub text: Result<Text, Deferred>,
    /// The outlet's display name.
    pub source: String,
    /// Computed from the text ([`Judge::features`]); `None` without a text.
    pub features: Option<Features>,
}

/// Where an entry's URL points.
struct Identity {
    /// The item key: the canonical URL (declared or of the link), else an URN of the entry.
    key: String,
    /// The link's own canonical form (an item may be known under it too).
    link_canon: Option<String>,
    /// Every URL the entry was seen under.
    seen_under: Vec<String>,
}

/// The longest URL an item is keyed by ([`identify`]); browsers and servers stop near 2,000
/// characters too.
pub const MAX_ITEM_KEY: usize = 2048;

/// Step 1 (for every topic at once, by the [`Panel`]): the item key of an entry (the page's declared canonical URL, else its link's
/// canonical form, else an URN of the entry) and every URL it was seen under.
fn identify(rec: &EntryRecord, text: &Text) -> Identity {
    let link = rec.entry.link.clone();
    let fetched = link.as_deref().and_then(|l| Url::parse(l).ok());
    let link_canon = fetched.as_ref().map(dedup::url::canonicalize);
    let page_url = text.final_url.clone().or_else(|| fetched.clone());
    let declared = page_url
        .as_ref()
        .map(|p| dedup::url::prefer_declared(p, text.article.canonical_url.as_deref()));
    // A URL no index can hold (PostgreSQL's refuses keys of about 2.7 KB) would fail the
    // write of every item in its batch, pass after pass: such an item is keyed by its entry.
    let key = declared
        .as_ref()
        .or(link_canon.as_ref())
        .map(|u| u.to_string())
        .filter(|k| k.len() <= MAX_ITEM_KEY)
        .unwrap_or_else(|| format!("urn:wirewatch:{}:{}", rec.feed_id, rec.id));
    let mut seen_under: Vec<String> = Vec::new();
    // The aggregator's link it came through, too ([`crate::parse::Entry::via`]).
    for u in [
        link,
        link_canon.as_ref().map(|u| u.to_string()),
        rec.entry.via.clone(),
    ]
    .into_iter()
    .flatten()
    {
        if !seen_under.contains(&u) {
            seen_under.push(u);
        }
    }
    Identity {
        key,
        link_canon: link_canon.map(|u| u.to_string()),
        seen_under,
    }
}

/// The judge of one topic, with the state its steps keep between entries.
pub struct Judge {
    store: Store,
    /// The topic's id (the key of what it learned in the store, and of its decisions).
    topic_id: String,
    /// The topic's name, as alerts show it.
    topic_name: String,
    /// The tag of the topic's texts in the duplicate index ([`dupindex::topic_tag`]).
    tag: u64,
    /// The webhooks this topic's alerts go to (by endpoint id); `None`: every one.
    routes: Option<Vec<String>>,
    /// The model learned from the seeds (and the query).
    base: TopicModel,
    /// The model that scores: the base with what the topic learned, rebuilt between passes
    /// ([`Judge::end_pass`]), so that one pass scores every entry with the same model.
    model: RwLock<Arc<TopicModel>>,
    /// What the topic learned ([`relevance::evidence`]), in the store under
    /// `evidence:<topic id>`.
    evidence: Mutex<Evidence>,
    /// Evidence changed since the scoring model was last rebuilt from it.
    evidence_dirty: std::sync::atomic::AtomicBool,
    /// The reader's marks, ready to compare items with (rebuilt with the evidence).
    feedback: RwLock<Arc<Feedback>>,
    /// An index without stories: its item vectors are the ones marks are compared with.
    vectoriser: StoryIndex,
    /// The seeds' vectors (what the marks are weighed against).
    seed_vectors: Vec<stories::TermVector>,
    /// The languages followed (ISO 639-1 where there is a code); empty: all.
    languages: Vec<&'static str>,
    /// The latest near misses, newest last (for the status page and late rescues), and
    /// whether they changed.
    near_misses: Mutex<(std::collections::VecDeque<NearMiss>, bool)>,
    /// Whether the store keeps every judged text (`[store] keep_text`): a near miss's text
    /// is then read from there for a late rescue rather than kept with it.
    texts_kept: bool,
    /// The texts of the topic an alert must agree with ([`neighbours`]).
    neighbours: Mutex<Neighbourhood>,
    min_score: f32,
    stories: Mutex<StoryIndex>,
    dup_params: DupParams,
    dup_index: RwLock<DupIndex>,
    /// The seeds' texts by name, to check a copy verdict reached on samples (see
    /// [`Judge::copies`]).
    seed_texts: RwLock<HashMap<String, String>>,
    endpoints: Arc<Vec<Endpoint>>,
    /// The topic's decision counters by label (made once: counting is per item and topic).
    counters: Vec<(&'static str, prometheus_client::metrics::counter::Counter)>,
}

impl Judge {
    /// A judge over `store`: the duplicate index loaded from it (off-topic texts dropped from
    /// stores of older versions), the topic model learned from the seeds (`topic`, with what
    /// the topic learned since, from the store), the stories as stored plus the seeds' own
    /// (`seeds`: headline and text of each, see [`StoryIndex::seed`]).
    pub fn new(
        store: Store,
        (topic_id, topic_name): (&str, &str),
        topic: TopicModel,
        seeds: &[(String, String)],
        min_score: f32,
        endpoints: Arc<Vec<Endpoint>>,
        metrics: Metrics,
    ) -> Result<Judge, StoreError> {
        let dropped = store.drop_off_topic_texts()?;
        if dropped > 0 {
            info!(
                dropped,
                "off-topic texts removed from the duplicate index (only texts that could alert are indexed now)"
            );
        }
        let tag = dupindex::topic_tag(topic_id);
        let owner = crate::store::single_topic_owner(&store)?;
        let (index, unreadable) =
            DupIndex::load(&store, tag, owner.as_deref().is_none_or(|o| o == topic_id))?;
        if unreadable > 0 {
            warn!(unreadable, "unreadable duplicate-index records skipped");
        }
        store.index_item_keys()?;
        let mut unreadable_stories = 0usize;
        let summaries: Vec<StorySummary> = store
            .stories()?
            .into_iter()
            .filter(|s| s.topic == topic_id)
            .filter_map(|s| {
                serde_json::from_value(s.summary)
                    .map_err(|_| unreadable_stories += 1)
                    .ok()
            })
            .collect();
        if unreadable_stories > 0 {
            warn!(
                unreadable = unreadable_stories,
                "unreadable stories skipped: their next reports start new stories"
            );
        }
        let mut stories =
            StoryIndex::from_summaries(&topic, StoryParams::default(), summaries).salted(topic_id);
        stories.seed(seeds);
        let (evidence, journaled) = load_evidence(&store, topic_id)?;
        let model = Arc::new(topic.with_evidence(&evidence));
        let vectoriser = StoryIndex::new(&topic, StoryParams::default());
        let seed_vectors: Vec<stories::TermVector> =
            seeds.iter().map(|(t, x)| vectoriser.vector(t, x)).collect();
        let feedback = Arc::new(Feedback::new(&evidence.marks, &seed_vectors));
        let near_misses = stored_near_misses(&store, topic_id)?.into();
        let mut neighbours = Neighbourhood::new(
            &seed_vectors,
            stored_meta(&store, &neighbours::neighbours_key(topic_id))?,
        );
        neighbours.dirty = neighbours.replay(stored_journal(
            &store,
            &neighbours::journal_prefix(topic_id),
        )?);
        neighbours.set_marks(
            evidence
                .marks
                .values()
                .map(|m| (m.url.as_str(), m.relevant)),
        );
        Ok(Judge {
            store,
            topic_id: topic_id.to_string(),
            topic_name: topic_name.to_string(),
            tag,
            routes: None,
            vectoriser,
            seed_vectors,
            base: topic,
            model: RwLock::new(model),
            evidence: Mutex::new(evidence),
            // Lessons replayed from the journal are stored (and it is cleared) at the end of
            // the first pass.
            evidence_dirty: std::sync::atomic::AtomicBool::new(journaled),
            feedback: RwLock::new(feedback),
            languages: Vec::new(),
            near_misses: Mutex::new((near_misses, false)),
            texts_kept: false,
            neighbours: Mutex::new(neighbours),
            min_score,
            stories: Mutex::new(stories),
            dup_params: DupParams::default(),
            dup_index: RwLock::new(index),
            seed_texts: RwLock::new(HashMap::new()),
            endpoints,
            counters: [
                "seed_duplicate",
                "repeat",
                "off_topic",
                "alert",
                "unreadable",
                "other_language",
            ]
            .into_iter()
            .map(|l| (l, metrics.decision_counter(topic_id, l)))
            .collect(),
        })
    }

    /// Follows only texts in these languages (codes as [`crate::text::lang::normalise`] takes
    /// them; unknown ones are ignored, the config refuses them first). Empty: every language.
    pub fn following_languages(mut self, languages: &[String]) -> Judge {
        self.languages = languages
            .iter()
            .filter_map(|l| crate::text::lang::normalise(l))
            .collect();
        self
    }

    /// Whether the store keeps every judged text (the [`Panel`] says so when it keeps them).
    pub(crate) fn keeping_texts(mut self, kept: bool) -> Judge {
        self.texts_kept = kept;
        self
    }

    /// Sends this topic's alerts to these endpoints only (ids, as [`Endpoint::id`]).
    pub fn routed_to(mut self, endpoint_ids: Vec<String>) -> Judge {
        self.routes = Some(endpoint_ids);
        self
    }

    /// The topic's id.
    pub fn topic_id(&self) -> &str {
        &self.topic_id
    }

    /// The topic's name.
    pub fn topic_name(&self) -> &str {
        &self.topic_name
    }

    /// The doc id of this topic's record of an item's text ("item:URL") or a seed's
    /// ("seed:NAME") in the duplicate index: each topic indexes its own.
    fn doc_id(&self, key: &str) -> u64 {
        doc_id_of(&format!("{}\u{1f}{key}", self.topic_id))
    }

    /// The text behind a duplicate-index key ("seed:NAME", "item:URL"), when it is at hand:
    /// a seed's, or an item's kept text. A store that cannot give it is logged: the verdict
    /// on samples then stands.
    fn stored_text(&self, target: &str) -> Option<String> {
        if let Some(name) = target.strip_prefix("seed:") {
            return self
                .seed_texts
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(name)
                .cloned();
        }
        let url = target.strip_prefix("item:")?;
        match self.store.kept_text(url) {
            Ok(t) => t,
            Err(e) => {
                warn!(error = %e, url, "kept text unreadable; the copy verdict rests on samples");
                None
            }
        }
    }

    /// Indexes a seed text for the copy check (idempotent).
    pub fn index_seed(&self, name: &str, text: &str) -> Result<(), StoreError> {
        self.seed_texts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), text.to_string());
        let key = format!("seed:{name}");
        self.dup_index
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .store_and_insert(
                &self.store,
                self.doc_id(&key),
                key,
                &Signature::from_text(text),
                Origin::Seed,
                self.tag,
            )
    }

    /// This topic's view of a text: its relevance, moved by the reader's marks. The one
    /// place relevance is scored, with the model of the current pass; the pipeline runs it in
    /// each entry's own task ([`Panel::features`]).
    pub fn topic_features(
        &self,
        title: &str,
        text: &str,
        st: &relevance::ScoringText,
    ) -> TopicFeatures {
        let model = self.model.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut relevance = model.score_prepared(title, text, st);
        let feedback = self
            .feedback
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let moved = if feedback.is_empty() {
            None
        } else {
            feedback.adjust(
                &self.vectoriser.vector(title, text),
                relevance.score,
                self.min_score,
            )
        };
        if let Some(m) = &moved {
            relevance.score = m.to;
        }
        let could_alert =
            relevance.query != Some(false) && relevance.score >= RESCUE_FROM * self.min_score;
        TopicFeatures {
            relevance,
            moved,
            could_alert,
        }
    }

    /// Everything judging a text for this topic alone needs ([`Judge::rejudge`]).
    pub fn features(&self, title: &str, text: &str) -> Features {
        let tf = self.topic_features(title, text, &relevance::ScoringText::new(title, text));
        let could_alert = tf.could_alert;
        Features {
            title: title.to_string(),
            signature: could_alert.then(|| Signature::from_text(text)),
            topics: vec![tf],
            // A text judged again is kept already, from its first judgement.
            packed: None,
            lang: (!self.languages.is_empty() || could_alert)
                .then(|| crate::text::lang::detect(text))
                .flatten(),
        }
    }

    /// A text scored now, with the topic as it stands (what it learned since, the reader's
    /// marks) and everything [`Judge::grounds`] records: for `explain` on an item decided
    /// far below the threshold, whose decision keeps only its score (see
    /// [`Decision::OffTopic`]). Nothing is stored.
    pub fn rescore(&self, title: &str, text: &str) -> Rescored {
        let tf = self.topic_features(title, text, &relevance::ScoringText::new(title, text));
        let mut grounds = self.grounds(&tf.relevance);
        grounds.feedback = tf.moved.as_ref().map(|m| m.to_string());
        Rescored {
            score: tf.relevance.score,
            threshold: self.min_score,
            terms: tf.relevance.terms.iter().take(12).cloned().collect(),
            grounds,
        }
    }

    /// The end of a processing pass (or of one stopped in mid-course): the model that scores
    /// the next pass is rebuilt with what the topic learned during this one, and that
    /// evidence, the near misses and the remembered texts are stored.
    pub fn end_pass(&self) -> Result<(), StoreError> {
        {
            let mut near = self.near_misses.lock().unwrap_or_else(|p| p.into_inner());
            if near.1 {
                self.save_near_misses(&mut near)?;
            }
        }
        self.save_neighbours()?;
        if !self
            .evidence_dirty
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Ok(());
        }
        self.relearn()
    }

    /// Stores the topic's remembered texts ([`neighbours`]) when they changed: at the end of
    /// every pass, and when the daemon stops or reloads in mid-pass ([`Judge::end_pass`] is
    /// called then too), then clears the journal. Each text is journaled on its own with the
    /// decisions of its group ([`neighbours::journal_prefix`]), and a judge replays the journal
    /// when it starts: a kill in mid-pass used to forget that pass's texts while keeping their
    /// decisions, so a report of a story alerted on in that pass could be held back by the
    /// off-topic texts remembered before (found by `tests/crash.rs`: one report of 18 missed).
    fn save_neighbours(&self) -> Result<(), StoreError> {
        let mut near = self.neighbours.lock().unwrap_or_else(|p| p.into_inner());
        if !near.dirty {
            return Ok(());
        }
        self.store.put_meta(
            &neighbours::neighbours_key(&self.topic_id),
            &serde_json::to_value(&near.items).unwrap_or_default(),
        )?;
        near.dirty = false;
        // A record staged but not yet written when this runs is written after: replayed, it
        // says what the stored list says already.
        self.store
            .delete_metas_under(&neighbours::journal_prefix(&self.topic_id))?;
        Ok(())
    }

    /// Learns from a confident alert (used from the next pass on): the lesson is journaled
    /// at once, a small record, and the whole evidence stored at the end of the pass
    /// ([`Judge::relearn`]); a judge started after a crash replays the journal.
    fn learn_from(&self, url: &str, title: &str, text: &str, group: u16) -> Result<(), StoreError> {
        let lesson = relevance::Lesson::of(url, title, text, group);
        let mut ev = self.evidence.lock().unwrap_or_else(|p| p.into_inner());
        // Journaled first: a write that fails leaves the evidence in memory as it was.
        let n = ev.lessons + 1;
        self.store.put_meta(
            &lesson_key(&self.topic_id, n),
            &serde_json::to_value(&lesson).unwrap_or_default(),
        )?;
        ev.apply(&lesson);
        ev.lessons = n;
        drop(ev);
        self.evidence_dirty
            .store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Rebuilds the scoring model and the marks' exemplars from the evidence, and stores
    /// what was learned from alerts (the marks are stored one by one, as they are made).
    fn relearn(&self) -> Result<(), StoreError> {
        self.rebuild();
        let ev = self.evidence.lock().unwrap_or_else(|p| p.into_inner());
        put_learned(&self.store, &self.topic_id, &ev)?;
        // The journaled lessons it holds are in the evidence stored now.
        let prefix = lessons_prefix(&self.topic_id);
        for (name, _) in self.store.metas_under(&prefix)? {
            if lesson_number(&prefix, &name).is_some_and(|n| n <= ev.lessons) {
                self.store.delete_meta(&name)?;
            }
        }
        Ok(())
    }

    /// Rebuilds the scoring model and the marks' exemplars from the evidence in memory.
    fn rebuild(&self) {
        let ev = self
            .evidence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let model = Arc::new(self.base.with_evidence(&ev));
        *self.model.write().unwrap_or_else(|p| p.into_inner()) = model;
        *self.feedback.write().unwrap_or_else(|p| p.into_inner()) =
            Arc::new(Feedback::new(&ev.marks, &self.seed_vectors));
        self.neighbours
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .set_marks(ev.marks.values().map(|m| (m.url.as_str(), m.relevant)));
    }

    /// Takes up the reader's marks as the store holds them, when another process (a CLI
    /// against a shared store, another worker's status page) made or undid one since this
    /// judge last looked: called at the start of every processing pass. Whether they
    /// changed.
    pub fn refresh_marks(&self) -> Result<bool, StoreError> {
        let stored = marks_in(&self.store, &self.topic_id, false)?;
        {
            let mut ev = self.evidence.lock().unwrap_or_else(|p| p.into_inner());
            if ev.marks == stored {
                return Ok(false);
            }
            ev.marks = stored;
        }
        info!(topic = %self.topic_id, "the reader's marks changed in the store; taken up");
        self.rebuild();
        Ok(true)
    }

    /// Records the reader's mark on an item whose text is `text` (see [`feedback`]): it
    /// applies to everything judged from now on, and is stored at once.
    pub fn mark(&self, item: &ItemRecord, text: &str, relevant: bool) -> Result<Mark, StoreError> {
        let (words, names) = relevance::evidence::headline_words(&item.title, text);
        let group = self.base.score(&item.title, text).group;
        let mut vector: Vec<(String, f32)> = self
            .vectoriser
            .vector(&item.title, text)
            .into_iter()
            .collect();
        vector.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mark = Mark {
            url: item.url.clone(),
            relevant,
            at: Utc::now().to_rfc3339(),
            title: item.title.clone(),
            words,
            names,
            group,
            vector,
        };
        self.store.put_meta(
            &mark_key(&self.topic_id, &mark.url),
            &serde_json::to_value(&mark).unwrap_or_default(),
        )?;
        self.evidence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .mark(mark.clone());
        self.rebuild();
        Ok(mark)
    }

    /// Undoes the reader's mark on an item URL; whether there was one.
    pub fn clear_mark(&self, url: &str) -> Result<bool, StoreError> {
        let key = mark_key(&self.topic_id, url);
        let stored = self.store.get_meta(&key)?.is_some();
        if stored {
            self.store.delete_meta(&key)?;
        }
        let had = self
            .evidence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear(url);
        if had || stored {
            self.rebuild();
        }
        Ok(had || stored)
    }

    /// What the topic learned so far.
    pub fn evidence(&self) -> Evidence {
        self.evidence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Judges an entry's item for this topic (steps 2 to 5; the [`Panel`] did step 1 for
    /// every topic): unreadable without a text, "other language" when the topic does not
    /// follow the text's, else relevance, copies, story and alert. `rec` is the entry, given
    /// to the last topic to judge it (whose decision marks it done).
    fn judge_item(
        &self,
        rec: Option<EntryRecord>,
        mut item: ItemRecord,
        text: &Text,
        features: Option<(&Features, TopicFeatures)>,
        unwritten: &mut Unwritten,
    ) -> Result<Verdict, StoreError> {
        let Some((features, tf)) = features.filter(|_| !text.article.text.trim().is_empty()) else {
            item.decisions.insert(
                self.topic_id.clone(),
                Decision::Unreadable {
                    reason: text.note.clone().unwrap_or_else(|| "no text".into()),
                },
            );
            info!(url = %item.url, topic = %self.topic_id, "unreadable; no alert");
            self.stage(unwritten, rec, item, None, None);
            return Ok(Verdict::Unreadable);
        };
        // A text surely in a language the topic does not follow is not scored (counted with
        // the off-topic ones).
        if let Some(lang) = features
            .lang
            .as_ref()
            .filter(|l| l.reliable && !self.languages.is_empty())
            .map(|l| l.code)
            .filter(|code| !self.languages.contains(code))
        {
            item.decisions.insert(
                self.topic_id.clone(),
                Decision::OtherLanguage {
                    lang: lang.to_string(),
                },
            );
            info!(url = %item.url, topic = %self.topic_id, lang, "in another language; no alert");
            self.stage(unwritten, rec, item, None, None);
            return Ok(Verdict::OffTopic);
        }
        let signature = if tf.could_alert {
            features.signature.clone()
        } else {
            None
        };
        self.conclude(
            rec,
            item,
            &text.article.text,
            (&features.title, tf, signature),
            unwritten,
        )
    }

    /// Judges again an item judged before that did not alert, from its kept text (the
    /// reader's `feedback --rejudge`): steps 2 to 5, with the marks and what the topic learned
    /// since. It may alert now; otherwise its record gets the new score and grounds.
    pub fn rejudge(
        &self,
        item: ItemRecord,
        text: String,
        unwritten: &mut Unwritten,
    ) -> Result<Verdict, StoreError> {
        let mut features = self.features(&item.title, &text);
        let tf = features.topics.remove(0);
        let signature = features.signature.take();
        self.conclude(
            None,
            item,
            &text,
            (&features.title, tf, signature),
            unwritten,
        )
    }

    /// Steps 2 to 5 for an item with a text: relevance, copies, story, alert. `rec` is the
    /// entry being processed (none when re-judging a stored item); `features` the title, this
    /// topic's relevance and the text's copy signature (when it could alert here).
    fn conclude(
        &self,
        rec: Option<EntryRecord>,
        mut item: ItemRecord,
        body: &str,
        (title, features, signature): (&str, TopicFeatures, Option<Signature>),
        unwritten: &mut Unwritten,
    ) -> Result<Verdict, StoreError> {
        let now = Utc::now();
        let key = item.url.clone();
        let doc_id = self.doc_id(&format!("item:{key}"));
        let title = title.to_string();
        let published = item.published;

        // 2. Relevance.
        let rel = features.relevance;
        // Without a feed date, when it was first seen (a re-judged item: not today).
        let ts = published.unwrap_or(item.first_seen).timestamp();
        // Without a signature the text cannot alert here: off-topic, far below the threshold,
        // and its decision is kept small (see the decision), so its grounds are not gathered
        // (unless a reader's mark moved its score: explain shows where).
        let full = signature.is_some() || features.moved.is_some();
        let (terms, mut grounds): (Vec<(String, f32)>, Grounds) = if full {
            (
                rel.terms.iter().take(12).cloned().collect(),
                self.grounds(&rel),
            )
        } else {
            (
                Vec::new(),
                Grounds {
                    note: rel.note.clone(),
                    ..Grounds::default()
                },
            )
        };
        grounds.feedback = features.moved.as_ref().map(|m| m.to_string());
        // A near miss an off-topic mark pulled down is not rescued by a story: the marked
        // alert's story is likely the very one it resembles.
        let rescuable = features.moved.as_ref().is_none_or(|m| m.relevant);
        let mut outcome = self.relevance(&rel, &title, body, ts, signature, rescuable);
        // 2b. Neighbours: an item that would alert is held back when the texts most like it
        // were judged off-topic (unless the reader marked it relevant, or a relevant mark
        // lifted its score over the threshold: a mark that only nudged an item already over
        // it does not exempt it). Every text that scored at least the floor (or the
        // threshold, when a config sets it lower) is remembered with its verdict.
        if rel.score >= NEIGHBOUR_FLOOR.min(self.min_score) && rel.query != Some(false) {
            let v = self.vectoriser.vector(&title, body);
            let mut near = self.neighbours.lock().unwrap_or_else(|p| p.into_inner());
            let lifted = features
                .moved
                .as_ref()
                .is_some_and(|m| m.relevant && m.from < self.min_score);
            if outcome.is_ok() && !lifted {
                if let Some(held) = near.check(&key, &v, now) {
                    info!(url = %key, score = rel.score, share = held.share, "held back by its neighbours");
                    grounds.held_back = Some(held.to_string());
                    outcome = outcome.and_then(|(sig, _)| Err(Some(sig)));
                }
            }
            near.remember(&key, (now, published), outcome.is_ok(), &v);
            // Durable with the decision (the group is written before an alert): see
            // `save_neighbours`.
            if let Some(entry) = near.journal_entry(&key) {
                unwritten.stage_meta(
                    format!("{}{key}", neighbours::journal_prefix(&self.topic_id)),
                    entry,
                );
            }
        }
        let sig = match outcome {
            Ok((sig, rescued_by)) => {
                grounds.rescued_by = rescued_by;
                sig
            }
            Err(near_miss) => {
                let decision = Decision::OffTopic {
                    score: rel.score,
                    threshold: self.min_score,
                    terms,
                    query: rel.query,
                    grounds,
                };
                item.decisions.insert(self.topic_id.clone(), decision);
                // A near miss is indexed for copies: a later copy of it, scored alike, could
                // otherwise be rescued by a story started since and alert for an article
                // already decided.
                let dup = near_miss.map(|sig| {
                    let d = dup_entry(doc_id, format!("item:{key}"), &sig, Origin::Item, self.tag);
                    (d, sig)
                });
                let dup_ref = dup.as_ref().map(|(d, sig)| (d.clone(), sig));
                if dup_ref.is_some() {
                    self.note_near_miss(&item, rel.score, body, unwritten);
                }
                self.stage(unwritten, rec, item, dup_ref, None);
                info!(url = %key, score = rel.score, "off-topic; no alert");
                return Ok(Verdict::OffTopic);
            }
        };

        // 3. Copies.
        let dup = dup_entry(doc_id, format!("item:{key}"), &sig, Origin::Item, self.tag);
        if let Some((decision, original, verdict)) = self.copies(
            &key,
            doc_id,
            (body, &sig),
            (grounds.rescued_by.is_none(), item.arrival_order()),
            unwritten,
        )? {
            item.decisions.insert(self.topic_id.clone(), decision);
            self.stage(unwritten, rec, item, Some((dup, &sig)), original);
            return Ok(verdict);
        }

        // 4. Story. What was judged before is written first: the story and alert are written
        // (and the alert delivered) at once, and read the store.
        unwritten.write(&self.store)?;
        let (story, new_story, why) = self.story(&key, &title, body, published, now)?;
        grounds.story = Some(why);

        // 5. Alert.
        let alert = AlertRecord {
            id: alert_id(&format!("{}\u{1f}{key}", self.topic_id), now),
            topic: self.topic_id.clone(),
            topic_name: self.topic_name.clone(),
            created: now,
            url: key.clone(),
            title: title.clone(),
            source: item.source.clone(),
            published,
            story: story.id.clone(),
            story_title: story.title.clone(),
            new_story,
            score: rel.score,
            excerpt: excerpt(body, crate::notify::EXCERPT_CHARS),
            duplicates: Vec::new(),
        };
        // What a confident alert teaches the topic (used from the next pass on). Not one the
        // reader's marks moved: what they teach is derived from the marks themselves.
        if let (true, Some(group)) = (
            grounds.rescued_by.is_none()
                && features.moved.is_none()
                && self.base.is_confident(&rel, self.min_score),
            rel.group,
        ) {
            // Before the alert is committed: a crash after the commit must not lose the
            // lesson (the alert is never judged again, so it would never be relearned), while
            // a crash before it only learns the same alert twice when it is judged again.
            self.learn_from(&key, &title, body, group)?;
        }
        item.text = body.to_string();
        let decision = Decision::Alert {
            alert: alert.id.clone(),
            story: story.id.clone(),
            story_title: story.title.clone(),
            new_story,
            score: rel.score,
            terms,
            grounds,
        };
        item.decisions.insert(self.topic_id.clone(), decision);
        self.alert(rec.as_ref(), &item, (&dup, &sig), &story, &alert)?;
        info!(
            url = %key,
            score = rel.score,
            story = %story.id,
            new_story,
            "ALERT"
        );
        Ok(Verdict::Alert)
    }

    /// Step 2: relevant (the score reaches the threshold and the query, if any, matches), or
    /// a near miss that reports a story already alerted on ([`RESCUE_FROM`]); then the text's
    /// copy signature (see [`Features::signature`]) and, for a rescue, the story that rescued
    /// it. `Err` for off-topic, with the signature of a near miss (to index it for copies).
    fn relevance(
        &self,
        rel: &Relevance,
        title: &str,
        text: &str,
        published: i64,
        signature: Option<Signature>,
        rescuable: bool,
    ) -> Result<(Signature, Option<Rescue>), Option<Signature>> {
        let sig = signature.ok_or(None)?;
        let stories = self.stories.lock().unwrap_or_else(|p| p.into_inner());
        match decide(rel, self.min_score, &stories, title, text, published) {
            Relevant::Yes => Ok((sig, None)),
            Relevant::Rescued(id, t, sim) if rescuable => Ok((sig, Some((id, t, sim)))),
            Relevant::Rescued(..) | Relevant::No => Err(Some(sig)),
        }
    }

    /// What a judgement rested on, for `explain` (see [`Grounds`]).
    fn grounds(&self, rel: &Relevance) -> Grounds {
        let model = self.model.read().unwrap_or_else(|p| p.into_inner()).clone();
        let learned = rel
            .terms
            .iter()
            .map(|(t, _)| t.as_str())
            .chain(rel.names.iter().map(String::as_str))
            .filter(|t| model.is_learned(t))
            .map(str::to_string)
            .collect();
        Grounds {
            density: rel.density,
            coverage: rel.coverage,
            names: rel.names.clone(),
            protagonists: rel.protagonists,
            learned,
            rescued_by: None,
            story: None,
            feedback: None,
            note: rel.note.clone(),
            held_back: None,
        }
    }

    /// Step 3: `None` when the text is new, else the copy decision, the original it repeats
    /// (updated with this copy) and the verdict.
    ///
    /// A copy of an off-topic near miss (indexed so that a copy is never *rescued*: see
    /// [`Judge::relevance`]), or of a repeat of one, that is relevant on its own (`relevant`)
    /// is not a repeat of it: it alerts as the first relevant version of its text, as before
    /// near misses were indexed. Nor is a rescued item whose off-topic copy comes after it
    /// in publication order (`order`: [`ItemRecord::arrival_order`]), as judging in that
    /// order would have it (a late rescue or `--rejudge` looks at both again; two copies
    /// rescued together would otherwise each be a repeat of the other, and neither alert).
    /// In both cases the next candidate is tried: an alerted copy of the text makes it a
    /// repeat all the same.
    ///
    /// The index decides on samples of the texts' shingles (one in eight), which can err near
    /// the bars of [`DupParams`]; a copy verdict is checked on every shingle of both texts
    /// when the other text is at hand (a seed's, or an item's kept text, `[store]
    /// keep_text`), and stands only if the full texts agree.
    fn copies(
        &self,
        key: &str,
        doc_id: u64,
        (text, sig): (&str, &Signature),
        (relevant, order): (bool, (DateTime<Utc>, DateTime<Utc>)),
        unwritten: &Unwritten,
    ) -> Result<Option<(Decision, Option<ItemRecord>, Verdict)>, StoreError> {
        // This text's full sketch, made for the first candidate that needs it.
        let mut full: Option<dedup::Sketch> = None;
        let confirm = |id: u64| -> Option<Option<dedup::Overlap>> {
            let target = match unwritten.doc_key(&self.store, id) {
                Ok(t) => t?,
                Err(e) => {
                    warn!(error = %e, "index key unreadable; the copy verdict rests on samples");
                    return None;
                }
            };
            // An off-topic near miss this item need not repeat (see above), nor a copy that
            // repeats it or this item: the next candidate is tried (an alerted copy of the
            // same text, say).
            if let Some(url) = target.strip_prefix("item:") {
                if let Ok(Some(o)) = unwritten.item(&self.store, url) {
                    let off_topic = match o.decision(&self.topic_id) {
                        Some(Decision::OffTopic { .. }) => true,
                        Some(Decision::Repeat { of, .. }) if of == key => return Some(None),
                        Some(Decision::Repeat { of, .. }) => {
                            matches!(
                                unwritten
                                    .item(&self.store, of)
                                    .ok()
                                    .flatten()
                                    .and_then(|r| r.decision(&self.topic_id).cloned()),
                                Some(Decision::OffTopic { .. })
                            )
                        }
                        _ => false,
                    };
                    if off_topic && (relevant || o.arrival_order() > order) {
                        return Some(None);
                    }
                }
            }
            let other = self.stored_text(&target)?;
            let full = full.get_or_insert_with(|| Signature::full_sketch(text));
            let exact = dedup::confirm(full, &other, &self.dup_params);
            if exact.is_none() {
                debug!(url = %key, of = %target, "a copy on samples, not on the full texts");
            }
            Some(exact)
        };
        let verdict = self
            .dup_index
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .judge_confirmed(
                &self.store,
                unwritten.dups(),
                sig,
                Some(doc_id),
                &self.dup_params,
                confirm,
            )?;
        let DupVerdict::Duplicate {
            of,
            origin,
            similarity,
            contained,
            contains,
            exact,
        } = verdict
        else {
            return Ok(None);
        };
        let target = unwritten.doc_key(&self.store, of)?.unwrap_or_default();
        Ok(Some(match origin {
            Origin::Seed => {
                let seed = target.strip_prefix("seed:").unwrap_or(&target).to_string();
                info!(url = %key, seed = %seed, similarity, "copy of a seed; no alert");
                (
                    Decision::SeedDuplicate {
                        seed,
                        similarity,
                        contained,
                        contains: Some(contains),
                        exact,
                    },
                    None,
                    Verdict::SeedDuplicate,
                )
            }
            Origin::Item => {
                let of_url = target.strip_prefix("item:").unwrap_or(&target).to_string();
                let original = unwritten.item(&self.store, &of_url)?;
                if original.as_ref().is_some_and(|o| {
                    matches!(o.decision(&self.topic_id), Some(Decision::OffTopic { .. }))
                        && (relevant || o.arrival_order() > order)
                }) {
                    return Ok(None);
                }
                let original = original.map(|mut o| {
                    if !o.duplicates.iter().any(|d| d == key) {
                        o.duplicates.push(key.to_string());
                    }
                    o
                });
                info!(url = %key, of = %of_url, similarity, "repeat of an earlier item; no alert");
                (
                    Decision::Repeat {
                        of: of_url,
                        reason: dedup::likeness(
                            similarity,
                            contained,
                            contains,
                            exact,
                            "the earlier item",
                        ),
                        similarity,
                    },
                    original,
                    Verdict::Repeat,
                )
            }
        }))
    }

    /// Step 4: the story the item joins or starts (as it will be stored), whether it is new,
    /// and why.
    fn story(
        &self,
        key: &str,
        title: &str,
        text: &str,
        published: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(StoryRecord, bool, String), StoreError> {
        let ts = published.unwrap_or(now).timestamp();
        let (assignment, summary) = {
            let mut stories = self.stories.lock().unwrap_or_else(|p| p.into_inner());
            let a = stories.assign(key, title, text, ts);
            let summary = stories
                .stories()
                .iter()
                .find(|s| s.id == a.story_id)
                .cloned();
            (a, summary)
        };
        let mut story = self
            .store
            .story(&assignment.story_id)?
            .unwrap_or(StoryRecord {
                id: assignment.story_id.clone(),
                topic: self.topic_id.clone(),
                title: assignment.story_title.clone(),
                first_seen: now,
                last_seen: now,
                items: Vec::new(),
                summary: serde_json::Value::Null,
            });
        story.last_seen = now;
        if !story.items.iter().any(|i| i == key) {
            story.items.push(key.to_string());
        }
        if let Some(s) = &summary {
            story.summary = serde_json::to_value(s).unwrap_or_default();
        }
        let why = match (&assignment.new_story, &assignment.best_other, &summary) {
            (new, _, _) if let Some(coverage) = assignment.headline => format!(
                "{} the story the seeds report: {:.0}% of its headline's weight is in the \
                 seeds' headlines (similarity {:.2} to the story)",
                if *new { "starts" } else { "joins" },
                coverage * 100.0,
                assignment.similarity
            ),
            (new, _, _) if let Some((plain, seeds)) = assignment.closeness => format!(
                "{} the story the seeds report: about as close to the seeds ({plain:.2} on all their \
                 words) as they are to one another ({seeds:.2})",
                if *new { "starts" } else { "joins" },
            ),
            (false, _, _) => format!(
                "joins: similarity {:.2} to the story's reports",
                assignment.similarity
            ),
            (true, _, Some(s)) if s.seed_group.is_some() => format!(
                "starts the story the seeds report (similarity {:.2} to them)",
                assignment.similarity
            ),
            (true, Some((other, sim)), _) => {
                format!("starts a new story: closest was {other} at {sim:.2}, below the bar")
            }
            (true, None, _) => "starts the topic's first story".to_string(),
        };
        Ok((story, assignment.new_story, why))
    }

    /// Step 5: writes an alert at once, with its item, story and outbox rows, in one
    /// transaction (the unwritten group went first), and indexes its text for copies.
    fn alert(
        &self,
        rec: Option<&EntryRecord>,
        item: &ItemRecord,
        (dup, sig): (&DupEntry, &Signature),
        story: &StoryRecord,
        alert: &AlertRecord,
    ) -> Result<(), StoreError> {
        let endpoints: Vec<String> = crate::notify::outbox::route(alert, &self.endpoints)
            .into_iter()
            .filter(|id| self.routes.as_ref().is_none_or(|r| r.contains(id)))
            .collect();
        self.store.commit_item(&ItemCommit {
            entry: rec,
            item,
            dup: Some(dup),
            story: Some(story),
            alert: Some(alert),
            endpoints: &endpoints,
        })?;
        self.dup_index
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(dup.id, sig);
        self.count("alert");
        Ok(())
    }

    /// Counts a decision in the metrics.
    fn count(&self, label: &str) {
        if let Some((_, c)) = self.counters.iter().find(|(l, _)| *l == label) {
            c.inc();
        }
    }

    /// Adds a decision that alerts nobody to the unwritten group; its text joins the
    /// in-memory duplicate index at once.
    fn stage(
        &self,
        unwritten: &mut Unwritten,
        rec: Option<EntryRecord>,
        item: ItemRecord,
        dup: Option<(DupEntry, &Signature)>,
        original: Option<ItemRecord>,
    ) {
        if let Some((d, sig)) = &dup {
            self.dup_index
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(d.id, sig);
        }
        if let Some(d) = item.decision(&self.topic_id) {
            self.count(d.label());
        }
        unwritten.stage(rec, item, dup.map(|(d, _)| d), original);
    }
}

/// What a topic learned, as stored (empty when nothing was): from its confident alerts,
/// and the reader's marks.
pub fn stored_evidence(store: &Store, topic_id: &str) -> Result<Evidence, StoreError> {
    let mut ev: Evidence = stored_meta(store, &evidence_key(topic_id))?;
    // Marks inside the evidence record are an older version's, moved out when a judge first
    // opened the store (see `load_evidence`): the records are the marks.
    ev.marks = stored_marks(store, topic_id)?;
    replay_lessons(store, topic_id, &mut ev)?;
    Ok(ev)
}

/// Applies the journaled lessons (see [`relevance::Lesson`]) that the stored evidence does
/// not hold yet, in order: those of a pass that stopped (a crash, a kill) before it stored
/// the whole evidence, numbered past the last one it holds ([`Evidence::lessons`]). The
/// evidence then holds every lesson journaled, readable or not, and the next is numbered
/// past them all. Returns whether the journal had any (the judge then stores the evidence at
/// the end of its next pass, which clears the journal).
fn replay_lessons(store: &Store, topic_id: &str, ev: &mut Evidence) -> Result<bool, StoreError> {
    let prefix = lessons_prefix(topic_id);
    let held = ev.lessons;
    let mut any = false;
    for (name, v) in store.metas_under(&prefix)? {
        let Some(n) = lesson_number(&prefix, &name) else {
            continue;
        };
        any = true;
        if n <= held {
            // Stored in the evidence; the journal was not cleared (a crash in between).
            continue;
        }
        match serde_json::from_value::<relevance::Lesson>(v) {
            Ok(lesson) => ev.apply(&lesson),
            Err(e) => warn!(error = %e, name, "a lesson of the topic unreadable; skipped"),
        }
        ev.lessons = ev.lessons.max(n);
    }
    Ok(any)
}

/// Where a topic's lessons are journaled: `lessons:<topic>` and a newline (a topic id may
/// hold a colon, not a newline), then the lesson's number zero-padded, so that the store
/// lists them in order.
pub fn lessons_prefix(topic_id: &str) -> String {
    format!("lessons:{topic_id}\n")
}

fn lesson_key(topic_id: &str, n: u32) -> String {
    format!("{}{n:010}", lessons_prefix(topic_id))
}

fn lesson_number(prefix: &str, name: &str) -> Option<u32> {
    name.strip_prefix(prefix)?.parse().ok()
}

/// The evidence a judge starts from. Earlier versions kept the reader's marks inside the
/// evidence record, which the judge rewrote from memory after every confident alert: a mark
/// made by another process (a CLI or a status page against a shared store) was lost at the
/// next one. Marks now have a record each, which only marking and clearing write. A store of
/// the old shape has its marks copied out once (`marks_moved:<topic>` says it was done, so a
/// mark cleared since never comes back); the old copy inside the evidence is ignored, and
/// goes with the judge's next lesson.
fn load_evidence(store: &Store, topic_id: &str) -> Result<(Evidence, bool), StoreError> {
    let mut ev: Evidence = match store.get_meta(&evidence_key(topic_id))? {
        Some(v) => match serde_json::from_value(v.clone()) {
            Ok(ev) => ev,
            Err(e) => {
                // Kept aside rather than overwritten by the next lesson: nothing is lost.
                let aside = format!("{}.unreadable", evidence_key(topic_id));
                store.put_meta(&aside, &v)?;
                warn!(error = %e, kept_as = %aside, "stored evidence of the topic unreadable; learning anew");
                Evidence::default()
            }
        },
        None => Evidence::default(),
    };
    let moved = format!("marks_moved:{topic_id}");
    if !ev.marks.is_empty() && store.get_meta(&moved)?.is_none() {
        let known = stored_marks(store, topic_id)?;
        for (url, m) in &ev.marks {
            if !known.contains_key(url) {
                store.put_meta(
                    &mark_key(topic_id, url),
                    &serde_json::to_value(m).unwrap_or_default(),
                )?;
            }
        }
        store.put_meta(&moved, &serde_json::Value::String(Utc::now().to_rfc3339()))?;
        info!(topic = %topic_id, marks = ev.marks.len(), "the reader's marks moved to records of their own");
    }
    ev.marks = stored_marks(store, topic_id)?;
    let journaled = replay_lessons(store, topic_id, &mut ev)?;
    Ok((ev, journaled))
}

/// Stores what a topic learned from its alerts (its marks are not part of it).
fn put_learned(store: &Store, topic_id: &str, ev: &Evidence) -> Result<(), StoreError> {
    store.put_meta(
        &evidence_key(topic_id),
        &serde_json::to_value(ev.learned_part()).unwrap_or_default(),
    )
}

/// The reader's marks of a topic, as stored, by item URL (an unreadable one is skipped, and
/// said).
pub fn stored_marks(
    store: &Store,
    topic_id: &str,
) -> Result<std::collections::BTreeMap<String, Mark>, StoreError> {
    marks_in(store, topic_id, true)
}

/// [`stored_marks`], saying so of an unreadable one only when `loud` (the judge reads the
/// marks at every pass: once at its start is enough).
fn marks_in(
    store: &Store,
    topic_id: &str,
    loud: bool,
) -> Result<std::collections::BTreeMap<String, Mark>, StoreError> {
    let mut out = std::collections::BTreeMap::new();
    for (name, v) in store.metas_under(&mark_key(topic_id, ""))? {
        match serde_json::from_value::<Mark>(v) {
            Ok(m) => {
                out.insert(m.url.clone(), m);
            }
            Err(e) if loud => warn!(record = %name, error = %e, "unreadable mark skipped"),
            Err(e) => debug!(record = %name, error = %e, "unreadable mark skipped"),
        }
    }
    Ok(out)
}

/// Where the reader's mark on an item URL is kept in the store's meta values (the topic's
/// marks are those under `mark_key(topic, "")`).
pub fn mark_key(topic_id: &str, url: &str) -> String {
    format!("mark:{topic_id}\n{url}")
}

/// A value the judge keeps in the store's meta values; the default when there is none (or
/// one an older version wrote in another shape).
/// The values stored under a prefix (a journal), those unreadable skipped and said.
fn stored_journal<T: serde::de::DeserializeOwned>(
    store: &Store,
    prefix: &str,
) -> Result<Vec<T>, StoreError> {
    Ok(store
        .metas_under(prefix)?
        .into_iter()
        .filter_map(|(name, v)| {
            serde_json::from_value(v)
                .map_err(
                    |e| warn!(record = %name, error = %e, "journaled value unreadable; skipped"),
                )
                .ok()
        })
        .collect())
}

fn stored_meta<T: serde::de::DeserializeOwned + Default>(
    store: &Store,
    key: &str,
) -> Result<T, StoreError> {
    Ok(match store.get_meta(key)? {
        Some(v) => serde_json::from_value(v).unwrap_or_else(|e| {
            warn!(record = %key, error = %e, "stored value unreadable; read as empty");
            T::default()
        }),
        None => T::default(),
    })
}

/// Where a topic's evidence is kept in the store's meta values.
fn evidence_key(topic_id: &str) -> String {
    format!("evidence:{topic_id}")
}

/// A stable doc id for an item or seed key ("item:URL" / "seed:NAME" hashed).
pub fn doc_id_of(key: &str) -> u64 {
    let d = Sha256::digest(key.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b)
}

fn alert_id(url: &str, now: DateTime<Utc>) -> String {
    let d = Sha256::digest(format!("{url}|{}", now.timestamp_micros()).as_bytes());
    format!("al_{}", hex::encode(&d[..10]))
}

/// The title of an item: the entry's, else the page's.
pub fn item_title(rec: &EntryRecord, art: &Article) -> String {
    rec.entry
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .or_else(|| art.title.clone())
        .unwrap_or_else(|| "(untitled)".into())
}

/// The first `max` characters of a text, cut at a word boundary, with an ellipsis.
pub fn excerpt(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    let end = cut.rfind(' ').unwrap_or(cut.len());
    format!(
        "{}…",
        cut[..end].trim_end_matches([',', ';', ':', '.', ' '])
    )
}
