//! Stories: grouping relevant, non-duplicate items into sub-events of the topic (a breach
//! notice, a product preview, a regulator's inquiry, ...).
//!
//! Every item becomes a sparse term vector ([`vector`]: headline and lede first, rarer words
//! over common ones), with the *topic discount* applied: the terms the seeds use throughout
//! (`openai`, `frontier`, `azure`, ...) lose most of their weight, because every item of the
//! topic carries them and they say nothing about *which* sub-event an item reports; what
//! separates "the FTC asks for documents" from "analysts cut Azure estimates" are the rarer
//! words (`ftc`, `documents`, `analysts`, `estimates`). A story keeps the centroid of its
//! items' vectors (top [`StoryParams::centroid_terms`] terms) and its first/last times.
//!
//! An item joins the most similar story (cosine with the centroid, discounted by the time
//! since the story's latest item, see [`StoryParams`]) when the similarity reaches
//! [`StoryParams::min_similarity`]; otherwise it starts a new story. The story id is derived
//! from the first item's canonical URL, so it is stable across restarts and re-runs; the title
//! is that item's cleaned headline.
//!
//! The seeds' own event is a story apart ([`seed`]): independent reports of one event, days
//! apart, in their own words, join it on bars set by the seeds themselves.
//!
//! Files: `mod.rs` the index and how an item is assigned; [`vector`] how an item becomes a
//! term vector; [`seed`] the seeds' own story.

pub mod seed;
pub mod vector;

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::relevance::TopicModel;
pub use seed::reference;
use vector::top_terms;
pub use vector::{
    cosine, item_vector, stem, TermVector, ITEM_TERMS, LEDE_WEIGHT, LEDE_WORDS, TITLE_WEIGHT,
};

/// Clustering parameters. An item joins the story with the highest
/// `cosine × exp(-gap_days / time_scale_days)` if that reaches `min_similarity`.
///
/// * `time_scale_days = 2`: coverage of one sub-event comes in a burst of a day or two;
///   the next sub-event (OpenAI's answer to Microsoft's notice, two days later) reuses the
///   previous one's words ("breach", "notice") because it recaps it. Preferring the recent
///   story is what keeps the two apart: on the dev items, answers to the notice have raw
///   cosine 0.26-0.33 with the notice story, as much as with their own.
/// * `min_similarity = 0.18`: same-story items on the dev set reach 0.20-0.33 after the time
///   factor (raw cosine 0.25-0.37 within a day), items of other sub-events at most 0.15.
///   The margin is small (±0.03); see the report.
/// * `max_gap_days = 14`: beyond two weeks an item never joins (the time factor is < 0.001
///   anyway; the cut-off only bounds the work).
/// * `centroid_terms = 64`: enough for several articles' key terms, small to store
///   (about 1.3 KB per story as JSON).
/// * `seed_similarity = 0.14`, `headline_coverage = 0.35`: the bars of the seeds' own story
///   ([`StoryIndex::seed`]). Measured together on the ECB+ dev set (narrow story pairwise F1
///   0.80 at 0.16, 0.83 at 0.14, 0.85 at 0.10, before the rule below) and on our scenario,
///   whose sub-events must stay out of the seeds' story (F1 0.93 down to 0.12, 0.70 at
///   0.10). A headline whose words in common with the seeds' are only the topic's names
///   never counts (our own topic's headlines nearly all name Microsoft, OpenAI and Amazon,
///   whatever happened): it costs 0.02 on ECB+ (0.80 at 0.14).
/// * `seed_tolerance = 0.10`, `seed_relative = 0.75`: an item also reports the seeds' event
///   when, on undiscounted vectors, its cosine with the seeds is at most 0.10 below how
///   close they are to one another, and at least 0.75 times that ([`StoryIndex::seed`]).
///   Seeds written by different outlets days apart (ECB+: mean closeness 0.35-0.78) set a
///   low bar, near-rewrites of one report (our topic's seeds: 0.73) a high one. On the ECB+
///   dev set, reports of the seeds' event that fall short of the other bars stand 0.06-0.25
///   below the seeds' closeness; on our scenario the other developments of the dispute
///   stand 0.17-0.31 below it. Narrow story F1 in the lab: 0.866 with the bar at 0.9 times
///   the closeness (the rule before), 0.880 at 0.10 below it, where both halves of the
///   topics gain and our scenario keeps 0.93 with a margin of 0.07 (it collapses from 0.18
///   below); a bar at 0.8 times gains as much but leaves the scenario a margin of 0.02. The
///   0.75 floor only binds below a closeness of 0.4, where the seeds hardly agree.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StoryParams {
    /// Smallest (time-adjusted) cosine to join a story.
    pub min_similarity: f32,
    /// Largest gap, in days, between a story's last item and a new one.
    pub max_gap_days: f32,
    /// Terms kept in a story centroid.
    pub centroid_terms: usize,
    /// Similarity decays as `exp(-gap / time_scale_days)` with the gap (days) to the story.
    pub time_scale_days: f32,
    /// How much of its weight a term every seed uses loses (see [`StoryIndex::new`]).
    #[serde(default = "default_core_discount")]
    pub core_discount: f32,
    /// Smallest raw cosine with the seeds for an item to start their story
    /// ([`StoryIndex::seed`]).
    #[serde(default = "default_seed_similarity")]
    pub seed_similarity: f32,
    /// Smallest cosine of two seeds, on undiscounted vectors, for them to report one event
    /// ([`StoryIndex::seed`]).
    #[serde(default = "default_seed_grouping")]
    pub seed_grouping: f32,
    /// Share of a headline's weight in the words of the seeds' headlines from which the item
    /// reports the seeds' event ([`StoryIndex::headline_coverage`]).
    #[serde(default = "default_headline_coverage")]
    pub headline_coverage: f32,
    /// Share of the seeds' own closeness to one another below which an item never reports
    /// their event by closeness ([`StoryIndex::seed`]); 0 turns the rule off.
    #[serde(default = "default_seed_relative")]
    pub seed_relative: f32,
    /// How far below the seeds' own closeness an item may stand and still report their
    /// event ([`StoryIndex::seed`]).
    #[serde(default = "default_seed_tolerance")]
    pub seed_tolerance: f32,
}

fn default_seed_relative() -> f32 {
    0.75
}

fn default_seed_tolerance() -> f32 {
    0.10
}

fn default_seed_similarity() -> f32 {
    0.14
}

fn default_seed_grouping() -> f32 {
    0.22
}

fn default_headline_coverage() -> f32 {
    0.35
}

fn default_core_discount() -> f32 {
    0.8
}

impl Default for StoryParams {
    fn default() -> Self {
        StoryParams {
            min_similarity: 0.18,
            max_gap_days: 14.0,
            centroid_terms: 64,
            time_scale_days: 2.0,
            core_discount: default_core_discount(),
            seed_similarity: default_seed_similarity(),
            seed_grouping: default_seed_grouping(),
            headline_coverage: default_headline_coverage(),
            seed_relative: default_seed_relative(),
            seed_tolerance: default_seed_tolerance(),
        }
    }
}

/// Compact stored state of one story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StorySummary {
    /// Stable id (`s` + 16 hex digits of SHA-256 of the first item's canonical URL).
    pub id: String,
    /// The first item's cleaned headline.
    pub title: String,
    /// Publication time of the first item (Unix seconds).
    pub first: i64,
    /// Publication time of the latest item (Unix seconds).
    pub last: i64,
    /// Number of items.
    pub items: u32,
    /// Sum of member vectors, truncated to the strongest terms (term, weight).
    pub centroid: Vec<(String, f32)>,
    /// The group of seeds this story started from ([`StoryIndex::seed`]), if it did.
    #[serde(default)]
    pub seed_group: Option<u16>,
    /// The terms of that group's headlines (see [`StoryIndex::headline_coverage`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headline_terms: Vec<String>,
    /// That group's centroid on undiscounted vectors, fixed to the seeds (see
    /// [`StoryIndex::seed`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference: Vec<(String, f32)>,
    /// How close the group's seeds are to one another on those vectors: the mean cosine of
    /// each with the others' centroid (0 for a group of one seed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reference_closeness: f32,
}

fn is_zero(x: &f32) -> bool {
    *x == 0.0
}

impl StorySummary {
    /// Adds an item's vector to the story: its centroid (the strongest `terms` of the sum),
    /// its count and its time span.
    fn absorb(&mut self, v: &TermVector, published: i64, terms: usize) {
        let mut sum: HashMap<String, f32> = self.centroid.drain(..).collect();
        for (t, w) in v {
            *sum.entry(t.clone()).or_default() += w;
        }
        self.centroid = top_terms(sum, terms);
        self.items += 1;
        self.last = self.last.max(published);
        self.first = self.first.min(published);
    }
}

/// Where an item went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// The story's id.
    pub story_id: String,
    /// The story's title.
    pub story_title: String,
    /// True when this item started the story.
    pub new_story: bool,
    /// Time-adjusted cosine with the story joined (1.0 for a new story).
    pub similarity: f32,
    /// Best similarity to an existing story when a new one was started (for `explain`).
    pub best_other: Option<(String, f32)>,
    /// When the item went to the seeds' story on its headline: the share of the headline's
    /// weight in the seeds' headlines ([`StoryIndex::headline_coverage`]).
    pub headline: Option<f32>,
    /// When the item went to the seeds' story for being about as close to the seeds as they
    /// are to one another ([`StoryParams::seed_tolerance`]): its undiscounted cosine with them,
    /// and theirs with one another.
    #[serde(default)]
    pub closeness: Option<(f32, f32)>,
}

/// The story state: all story summaries plus the topic discount learned from the seeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoryIndex {
    params: StoryParams,
    discount: HashMap<String, f32>,
    stories: Vec<StorySummary>,
    /// The seeds' own stories, one per group of seeds, waiting for their first item (see
    /// [`StoryIndex::seed`]).
    #[serde(default)]
    latent: Vec<StorySummary>,
    /// What new story ids are derived from besides their first item's URL: the topic's id,
    /// so that two topics' stories started by one article are two stories.
    #[serde(default)]
    salt: String,
    /// The topic's names, stemmed and sorted (see [`StoryIndex::headline_coverage`]).
    #[serde(default)]
    names: Vec<String>,
}

const DAY: f32 = 86_400.0;

/// Cleans a headline for use as a story title: whitespace collapsed, an "(updated)" /
/// "\[Update\]" marker and a trailing " | Site name" removed.
pub fn clean_title(t: &str) -> String {
    static MARKERS: OnceLock<Option<(Regex, Regex)>> = OnceLock::new();
    let mut s = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(i) = s.rfind(" | ") {
        if s[i + 3..].split_whitespace().count() <= 4 {
            s.truncate(i);
        }
    }
    let res = MARKERS.get_or_init(|| {
        Some((
            Regex::new(r"(?i)\s*[(\[]\s*updated?\s*[)\]]").ok()?,
            Regex::new(r"(?i)^\s*updated?\s*:\s*").ok()?,
        ))
    });
    if let Some((inline, prefix)) = res {
        s = inline.replace_all(&s, "").into_owned();
        s = prefix.replace(&s, "").into_owned();
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Stable story id from the first item's canonical URL.
pub fn story_id(canonical_url: &str) -> String {
    let d = Sha256::digest(canonical_url.as_bytes());
    let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("s{hex}")
}

impl StoryIndex {
    /// An empty index whose topic discount comes from the topic model's terms: a term the
    /// seeds all use keeps 20% of its weight, one used by a single seed of five keeps 84%.
    pub fn new(topic: &TopicModel, params: StoryParams) -> StoryIndex {
        let max_df = topic
            .terms()
            .iter()
            .map(|t| t.seed_df)
            .max()
            .unwrap_or(1)
            .max(1) as f32;
        let discount = topic
            .terms()
            .iter()
            .map(|t| {
                (
                    t.text.clone(),
                    1.0 - params.core_discount * t.seed_df as f32 / max_df,
                )
            })
            .collect();
        let mut names: Vec<String> = topic.names().iter().map(|n| stem(&n.text)).collect();
        names.sort_unstable();
        names.dedup();
        StoryIndex {
            params,
            discount,
            stories: Vec::new(),
            latent: Vec::new(),
            salt: String::new(),
            names,
        }
    }

    /// Restores an index from stored summaries (the discount is rebuilt from the topic).
    pub fn from_summaries(
        topic: &TopicModel,
        params: StoryParams,
        stories: Vec<StorySummary>,
    ) -> StoryIndex {
        let mut s = StoryIndex::new(topic, params);
        s.stories = stories;
        s
    }

    /// New story ids derived with `salt` too (the topic's id: see the field).
    pub fn salted(mut self, salt: &str) -> StoryIndex {
        self.salt = salt.to_string();
        self
    }

    /// The id of a story its first item (canonical URL) starts.
    fn new_id(&self, canonical_url: &str) -> String {
        if self.salt.is_empty() {
            story_id(canonical_url)
        } else {
            story_id(&format!("{}\n{canonical_url}", self.salt))
        }
    }

    /// All stories, oldest first.
    pub fn stories(&self) -> &[StorySummary] {
        &self.stories
    }

    /// The vector of a headline alone, with half the topic discount (see
    /// [`StoryIndex::headline_coverage`]).
    pub fn headline_vector(&self, title: &str) -> TermVector {
        self.vector_at(title, "", 0.5)
    }

    /// The term vector of an item (see the module doc).
    pub fn vector(&self, title: &str, text: &str) -> TermVector {
        self.vector_at(title, text, 1.0)
    }

    /// The term vector of an item with the topic discount applied at `strength` (0: none,
    /// 1: in full): [`vector::item_vector`] with this topic's discount.
    pub fn vector_at(&self, title: &str, text: &str, strength: f32) -> TermVector {
        item_vector(&self.discount, title, text, strength)
    }

    /// The story an item published at `published` is closest to among those started by then,
    /// with the time-adjusted similarity (cosine with its centroid, decayed as in
    /// [`StoryParams`]): how the judge tells whether a near miss reports a development already
    /// alerted on. A story started after the item was published is not one it could report
    /// when it came out: judged in order of publication it would not have been there (an item
    /// fetched late, a late rescue, `--rejudge`); on real news such rescues were mostly a
    /// sister event's reports (see [`crate::judge::Judge::late_rescues`]).
    pub fn closest(&self, title: &str, text: &str, published: i64) -> Option<(&StorySummary, f32)> {
        let v = self.vector(title, text);
        self.stories
            .iter()
            .filter(|s| s.first <= published)
            .map(|s| {
                let gap = (published - s.last).max(s.first - published).max(0) as f32 / DAY;
                (
                    s,
                    cosine(&v, &s.centroid) * (-gap / self.params.time_scale_days).exp(),
                )
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Raw cosine of a vector with every story centroid, with the gap in days (for tuning
    /// and `explain`).
    pub fn similarities(&self, v: &TermVector, published: i64) -> Vec<(String, f32, f32)> {
        self.stories
            .iter()
            .map(|s| {
                let gap = (published - s.last).max(s.first - published).max(0) as f32 / DAY;
                (s.id.clone(), cosine(v, &s.centroid), gap)
            })
            .collect()
    }

    /// Adds an item to a given story (used by tests with known stories, and by a caller that
    /// wants to override the clustering).
    pub fn add_to(&mut self, story_id: &str, title: &str, text: &str, published: i64) -> bool {
        let v = self.vector(title, text);
        let n = self.params.centroid_terms;
        let Some(s) = self.stories.iter_mut().find(|s| s.id == story_id) else {
            return false;
        };
        s.absorb(&v, published, n);
        true
    }

    /// Starts a story with an item regardless of similarity.
    pub fn start(
        &mut self,
        canonical_url: &str,
        title: &str,
        text: &str,
        published: i64,
    ) -> String {
        let v = self.vector(title, text);
        let id = self.new_id(canonical_url);
        let mut t = clean_title(title);
        if t.is_empty() {
            t = canonical_url.to_string();
        }
        self.stories.push(StorySummary {
            id: id.clone(),
            title: t,
            first: published,
            last: published,
            items: 1,
            centroid: top_terms(v, self.params.centroid_terms),
            seed_group: None,
            headline_terms: Vec::new(),
            reference: Vec::new(),
            reference_closeness: 0.0,
        });
        id
    }

    /// Best eligible story for an item (its vector `v` and headline vector `h`) at time
    /// `published`. A story of the seeds' own development is joined on similarity to its
    /// centroid alone, at [`StoryParams::seed_similarity`] (the seeds' event is the topic's,
    /// whenever its reports come), or on a headline made of the seeds' headline words
    /// ([`StoryParams::headline_coverage`]); any other at [`StoryParams::min_similarity`]
    /// after the time decay. The best is the one furthest above its own bar.
    fn best(
        &self,
        v: &TermVector,
        h: &TermVector,
        p: &TermVector,
        published: i64,
    ) -> Option<Candidate> {
        let mut best: Option<Candidate> = None;
        for (i, s) in self.stories.iter().enumerate() {
            let c = if s.seed_group.is_some() {
                self.seed_candidate(i, s, v, h, p)
            } else {
                let gap = (published - s.last).max(s.first - published).max(0) as f32 / DAY;
                if gap > self.params.max_gap_days {
                    continue;
                }
                let sim = cosine(v, &s.centroid) * (-gap / self.params.time_scale_days).exp();
                Candidate {
                    index: i,
                    similarity: sim,
                    rel: sim / self.params.min_similarity.max(1e-6),
                    headline: None,
                    closeness: None,
                }
            };
            if best.as_ref().is_none_or(|b| c.rel > b.rel) {
                best = Some(c);
            }
        }
        best
    }

    /// Assigns an item to a story (joining or starting one) and updates the state.
    /// `published` is Unix seconds (use the fetch time when the feed gives none).
    pub fn assign(
        &mut self,
        canonical_url: &str,
        title: &str,
        text: &str,
        published: i64,
    ) -> Assignment {
        let v = self.vector(title, text);
        let h = self.headline_vector(title);
        // The undiscounted vector only where a seeds' story keeps a reference to compare it
        // with (an empty one compares as 0).
        let p = if self.params.seed_relative > 0.0
            && self
                .stories
                .iter()
                .chain(&self.latent)
                .any(|s| s.reference_closeness > 0.0)
        {
            self.vector_at(title, text, 0.0)
        } else {
            TermVector::new()
        };
        let best = self.best(&v, &h, &p, published);
        let joins = best.as_ref().is_some_and(|c| c.rel >= 1.0);
        if let (false, Some(c)) = (joins || v.is_empty(), self.best_latent(&v, &h, &p)) {
            // The first report of the seeds' own development: its story starts here, with
            // the seeds' centroid, under this item's id and headline.
            let mut s = self.latent.remove(c.index);
            let mut title_clean = clean_title(title);
            if title_clean.is_empty() {
                title_clean = canonical_url.to_string();
            }
            s.id = self.new_id(canonical_url);
            s.title = title_clean.clone();
            s.first = published;
            s.last = published;
            s.absorb(&v, published, self.params.centroid_terms);
            let id = s.id.clone();
            self.stories.push(s);
            return Assignment {
                story_id: id,
                story_title: title_clean,
                new_story: true,
                similarity: c.similarity,
                best_other: None,
                headline: c.headline,
                closeness: c.closeness,
            };
        }
        if let Some(c) = best.as_ref().filter(|c| c.rel >= 1.0 && !v.is_empty()) {
            let n = self.params.centroid_terms;
            let s = &mut self.stories[c.index];
            s.absorb(&v, published, n);
            return Assignment {
                story_id: s.id.clone(),
                story_title: s.title.clone(),
                new_story: false,
                similarity: c.similarity,
                best_other: None,
                headline: c.headline,
                closeness: c.closeness,
            };
        }
        let mut title_clean = clean_title(title);
        if title_clean.is_empty() {
            title_clean = canonical_url.to_string();
        }
        let id = self.new_id(canonical_url);
        let summary = StorySummary {
            id: id.clone(),
            title: title_clean.clone(),
            first: published,
            last: published,
            items: 1,
            centroid: top_terms(v, self.params.centroid_terms),
            seed_group: None,
            headline_terms: Vec::new(),
            reference: Vec::new(),
            reference_closeness: 0.0,
        };
        let best_other = best.map(|c| (self.stories[c.index].id.clone(), c.similarity));
        self.stories.push(summary);
        Assignment {
            story_id: id,
            story_title: title_clean,
            new_story: true,
            similarity: 1.0,
            best_other,
            headline: None,
            closeness: None,
        }
    }
}

/// How an item stands to one story (see [`StoryIndex::best`]).
struct Candidate {
    /// The story's index.
    index: usize,
    /// Cosine with its centroid (time-adjusted for a story not of the seeds).
    similarity: f32,
    /// How far above its bar: 1.0 is the bar.
    rel: f32,
    /// The headline coverage, when that is what carried the item to the seeds' story.
    headline: Option<f32>,
    /// The undiscounted cosine with the seeds and their closeness to one another, when that
    /// is what carried the item to the seeds' story.
    closeness: Option<(f32, f32)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_cleaned() {
        assert_eq!(
            clean_title(
                "Microsoft sends OpenAI formal breach notice over AWS Frontier deal (updated)"
            ),
            "Microsoft sends OpenAI formal breach notice over AWS Frontier deal"
        );
        assert_eq!(
            clean_title("  A  headline | The Cloud Ledger "),
            "A headline"
        );
        assert_eq!(clean_title("Update: A | B"), "A");
        assert_eq!(
            clean_title("\u{130}stanbul [UPDATED] news"),
            "\u{130}stanbul news"
        );
        assert_eq!(story_id("https://x.test/a").len(), 17);
        assert_eq!(story_id("https://x.test/a"), story_id("https://x.test/a"));
    }
}
