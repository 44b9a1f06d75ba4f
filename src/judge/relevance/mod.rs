//! Relevance: does an item cover the topic defined by the seed articles?
//!
//! **Topic model** ([`TopicModel::from_seeds`]). Every content word and every adjacent pair of
//! content words (bigram) of the seeds is a candidate term. A term's weight is
//! `coverage × ln(1 + p_seed / p_background)`: how much more often the seeds use it than
//! general English ([`background::Background`], shipped with the project), scaled by the
//! share of seeds that use it at all (`coverage`), so that a word one seed happens to repeat
//! counts less than one every seed uses. Terms used by fewer than [`MIN_SEED_DF`] seeds are
//! dropped; the top [`MAX_TERMS`] are kept. Bigrams weigh half the mean of their words: a
//! shared phrase ("stateful runtime", "third party cloud", "50 billion") is extra evidence on
//! top of the words.
//!
//! **Entities.** The model's strongest terms that the seeds write as names (capitalised
//! mid-sentence at least half the time), used by at least 80% of the seeds, 3+ characters:
//! on the dev seeds `openai, azure, microsoft, aws, frontier, amazon`.
//!
//! **Score** ([`TopicModel::score`]), 0..1. Only the text's prose is read ([`prose`]: lines
//! that end like sentences), so that a "Related" list of on-topic headlines left on an
//! off-topic page by extraction does not count. The prose is cut into windows of [`WINDOW`]
//! tokens (the title is one more window).
//! - *density*: a window's strength is the summed weight of the distinct topic terms in it,
//!   divided by the strength of a typical (median) seed window and capped at 1; density is
//!   the mean over windows, the share of the text that reads like the seeds;
//! - *entity coverage*: the share of the entities that occur in at least two windows (one
//!   window counts half): the topic is the co-occurrence of its names, and news about one
//!   or two of the companies (an Azure outage, a model launch, another lawsuit) covers only a
//!   part of them;
//! - score = sqrt(density × coverage).
//!
//! Spreading the evidence over windows is deliberate: a passing mention lights up one window
//! among many, an article about the topic is strong throughout.
//!
//! **Query** ([`query::Query`]). An optional boolean filter from config; reported
//! separately so the caller can require it ([`Relevance::is_relevant`]).

pub mod background;
mod index;
pub mod query;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::text::for_each_token;
use background::Background;
use index::{TermIndex, Tokens};
use query::Query;

/// Tokens per scoring window (~2-3 sentences).
pub const WINDOW: usize = 60;
/// A trailing window shorter than this is merged into the previous one.
pub const MIN_TAIL: usize = 20;
/// A term must occur in at least this many seeds (or in every seed if there are fewer).
pub const MIN_SEED_DF: usize = 2;
/// Terms kept in the model.
pub const MAX_TERMS: usize = 400;
/// Tokens read from an item (longer texts are cut; the score is a mean, so this only bounds
/// work).
pub const MAX_TOKENS: usize = 20_000;
/// Texts with fewer tokens than this are scored but flagged as too short to judge reliably.
pub const MIN_TOKENS: usize = 25;
/// Below this share of words found in the English background list, a text is treated as
/// not English and scored 0.
pub const MIN_ENGLISH: f32 = 0.5;
/// Default `min_score`. The score is the geometric mean of *density* (mean window strength)
/// and *entity coverage*, so 0.45 means for example "half of the text reads like the seeds
/// and 40% of the topic's names recur", or "a third of the text, and two thirds of the
/// names". The seeds score 0.84-0.95 and the dev set's new articles 0.50-0.85; articles
/// about one or two of the companies but not the dispute (an Azure outage, a model launch,
/// another lawsuit, an Oracle earnings report naming OpenAI, AWS and Azure once each) score
/// 0.0-0.41, because they miss most names or mention them in one paragraph only. An article
/// with one paragraph on the dispute among five may land on either side.
pub const DEFAULT_MIN_SCORE: f32 = 0.45;

/// Share of seeds a name must appear in to count as one of the topic's entities.
pub const ENTITY_SEED_SHARE: f32 = 0.8;
/// Smallest term weight of an entity (a name 150 times more frequent in the seeds than in
/// general English has weight ~5): keeps incidental names (a newspaper cited once per seed)
/// out.
pub const ENTITY_MIN_WEIGHT: f32 = 5.0;

/// A learned topic term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Term {
    /// One token, or two separated by a space.
    pub text: String,
    /// Weight (natural-log ratio scaled by seed coverage).
    pub weight: f32,
    /// Number of seeds containing the term.
    pub seed_df: u32,
}

/// The topic model learned from the seeds. Serialisable (the term lookup is rebuilt on
/// deserialisation), though learning it from the seeds takes milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "TopicModelData")]
pub struct TopicModel {
    terms: Vec<Term>,
    #[serde(skip)]
    index: TermIndex,
    /// Strength of a typical seed window (median), the normaliser of window scores.
    window_ref: f32,
    /// The topic's recurring names (token, weight): see [`ENTITY_SEED_SHARE`].
    entities: Vec<(String, f32)>,
    query: Option<Query>,
}

/// The relevance judgement of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relevance {
    /// 0..1: share of the text that reads like the seed coverage.
    pub score: f32,
    /// The topic terms found, with their summed contribution, strongest first (top 12).
    pub terms: Vec<(String, f32)>,
    /// The config query's verdict, if a query is configured.
    pub query: Option<bool>,
    /// Share of the text's words found in the English background list.
    pub english: f32,
    /// Why the text could not be judged normally (empty, too short, not English, cut).
    pub note: Option<String>,
}

impl Relevance {
    /// The decision: score at or above `min_score` and the query (if any) matching.
    pub fn is_relevant(&self, min_score: f32) -> bool {
        self.score >= min_score && self.query != Some(false)
    }

    /// One line for `wirewatch explain`.
    pub fn reason(&self, min_score: f32) -> String {
        let terms: Vec<String> = self
            .terms
            .iter()
            .take(8)
            .map(|(t, w)| format!("{t} {w:.1}"))
            .collect();
        let q = match self.query {
            Some(true) => ", query matched",
            Some(false) => ", query did not match",
            None => "",
        };
        let note = self
            .note
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        format!(
            "score {:.2} {} threshold {:.2}{q}{note}; terms: {}",
            self.score,
            if self.score >= min_score { ">=" } else { "<" },
            min_score,
            terms.join(", ")
        )
    }
}

/// Tokens of one text split into windows ([`index::window_bounds`]).
fn windows_of(text: &str, max_tokens: usize) -> (Vec<Vec<String>>, bool) {
    let mut toks = Vec::new();
    let cut = for_each_token(text, max_tokens, |t| toks.push(t.to_string()));
    let mut bounds = Vec::new();
    index::window_bounds(0, toks.len(), &mut bounds);
    let wins = bounds.iter().map(|&(a, b)| toks[a..b].to_vec()).collect();
    (wins, cut)
}

/// The prose of a text: lines that end like a sentence (`.`, `!`, `?`, `:` or `;`, possibly
/// followed by a closing quote or bracket) or that are long (40+ words). Headline lists,
/// navigation, bylines and other furniture that extraction may leave behind (a "Related" box
/// of on-topic headlines on an off-topic page) are short lines without final punctuation.
/// If less than a third of the text is prose by this rule, the text is not line-structured
/// and is used whole.
pub fn prose(text: &str) -> String {
    let mut kept = String::with_capacity(text.len() + 1);
    let (mut kept_words, mut all_words) = (0usize, 0usize);
    for line in text.lines() {
        let words = line.split_whitespace().count();
        all_words += words;
        let end = line
            .trim_end()
            .trim_end_matches(['"', '\'', '\u{201D}', '\u{2019}', ')', ']', '*', '_']);
        if words >= 40 || end.ends_with(['.', '!', '?', ':', ';', '\u{2026}']) {
            kept.push_str(line);
            kept.push('\n');
            kept_words += words;
        }
    }
    if kept_words * 3 < all_words {
        return text.to_string();
    }
    kept
}

/// Distinct terms (content unigrams and bigrams) of a token window: the straightforward
/// form, kept as the reference the fast scorer (`index.rs`) is tested against.
#[cfg(test)]
fn window_terms(bg: &Background, win: &[String]) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut prev: Option<&str> = None;
    for t in win {
        if bg.is_function_word(t) {
            prev = None;
            continue;
        }
        out.insert(t.clone());
        if let Some(p) = prev {
            out.insert(format!("{p} {t}"));
        }
        prev = Some(t);
    }
    out
}

/// Counts, per normalised token, how often it is written capitalised in the middle of a
/// sentence (a name) and how often in total, in raw text.
fn capitalisation(text: &str, caps: &mut HashMap<String, (u32, u32)>) {
    for line in text.lines() {
        let mut sentence_start = true;
        for raw in line.split_whitespace() {
            let first = raw.chars().find(|c| c.is_alphanumeric());
            for t in crate::text::tokens(raw).into_iter().take(1) {
                let e = caps.entry(t).or_default();
                e.1 += 1;
                if !sentence_start && first.is_some_and(char::is_uppercase) {
                    e.0 += 1;
                }
            }
            sentence_start = raw.ends_with(['.', '!', '?', ':']) || raw.ends_with(".\"");
        }
    }
}

/// Serialised form of [`TopicModel`] (everything but the derived lookup).
#[derive(Deserialize)]
struct TopicModelData {
    terms: Vec<Term>,
    window_ref: f32,
    entities: Vec<(String, f32)>,
    query: Option<Query>,
}

impl From<TopicModelData> for TopicModel {
    fn from(d: TopicModelData) -> TopicModel {
        let mut m = TopicModel {
            terms: d.terms,
            index: TermIndex::default(),
            window_ref: d.window_ref,
            entities: d.entities,
            query: d.query,
        };
        m.rebuild_lookup();
        m
    }
}

impl TopicModel {
    /// Learns the model from seed texts against the embedded English background.
    pub fn from_seeds<S: AsRef<str>>(seeds: &[S]) -> TopicModel {
        Self::from_seeds_with(seeds, Background::english())
    }

    /// Learns the model against a given background.
    pub fn from_seeds_with<S: AsRef<str>>(seeds: &[S], bg: &Background) -> TopicModel {
        let n = seeds.len().max(1);
        let min_df = MIN_SEED_DF.min(n);
        let mut tf: HashMap<String, u32> = HashMap::new();
        let mut df: HashMap<String, u32> = HashMap::new();
        let mut total: u64 = 0;
        for s in seeds {
            let (wins, _) = windows_of(&prose(s.as_ref()), MAX_TOKENS);
            let mut seen: HashSet<String> = HashSet::new();
            for w in &wins {
                let mut prev: Option<&str> = None;
                for t in w {
                    total += 1;
                    if bg.is_function_word(t) {
                        prev = None;
                        continue;
                    }
                    *tf.entry(t.clone()).or_default() += 1;
                    seen.insert(t.clone());
                    if let Some(p) = prev {
                        let b = format!("{p} {t}");
                        *tf.entry(b.clone()).or_default() += 1;
                        seen.insert(b);
                    }
                    prev = Some(t);
                }
            }
            for t in seen {
                *df.entry(t).or_default() += 1;
            }
        }
        let total = total.max(1) as f64;
        let uni_weight = |t: &str, f: u32, d: u32| -> f32 {
            let p_seed = f64::from(f) / total;
            let ratio = p_seed / bg.prob(t);
            let cov = f64::from(d) / n as f64;
            (cov * (1.0 + ratio).ln()) as f32
        };
        let mut weights: HashMap<String, (f32, u32)> = HashMap::new();
        for (t, &f) in &tf {
            let d = df.get(t).copied().unwrap_or(0);
            if (d as usize) < min_df || t.contains(' ') {
                continue;
            }
            weights.insert(t.clone(), (uni_weight(t, f, d), d));
        }
        for (t, &_f) in &tf {
            let d = df.get(t).copied().unwrap_or(0);
            if (d as usize) < min_df {
                continue;
            }
            let Some((a, b)) = t.split_once(' ') else {
                continue;
            };
            let wa = weights.get(a).map(|x| x.0).unwrap_or(0.0);
            let wb = weights.get(b).map(|x| x.0).unwrap_or(0.0);
            let cov = d as f32 / n as f32;
            let w = 0.5 * cov * (wa + wb) / 2.0;
            if w > 0.0 {
                weights.insert(t.clone(), (w, d));
            }
        }
        let mut terms: Vec<Term> = weights
            .into_iter()
            .map(|(text, (weight, seed_df))| Term {
                text,
                weight,
                seed_df,
            })
            .filter(|t| t.weight > 0.0)
            .collect();
        terms.sort_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then_with(|| a.text.cmp(&b.text))
        });
        terms.truncate(MAX_TERMS);
        let mut model = TopicModel {
            terms,
            index: TermIndex::default(),
            window_ref: 1.0,
            entities: Vec::new(),
            query: None,
        };
        model.rebuild_lookup();
        // Typical seed window strength (median of raw window sums).
        let mut raws: Vec<f32> = Vec::new();
        for s in seeds {
            let (wins, _) = windows_of(&prose(s.as_ref()), MAX_TOKENS);
            for w in wins {
                raws.push(model.raw_window(bg, &w));
            }
        }
        raws.sort_by(f32::total_cmp);
        model.window_ref = raws.get(raws.len() / 2).copied().unwrap_or(1.0).max(1e-3);
        // Entities: names (written capitalised mid-sentence most of the time) that most seeds
        // use and that the model weighs.
        let mut caps: HashMap<String, (u32, u32)> = HashMap::new();
        for s in seeds {
            capitalisation(s.as_ref(), &mut caps);
        }
        let min_ent_df = ((n as f32) * ENTITY_SEED_SHARE).ceil() as u32;
        model.entities = model
            .terms
            .iter()
            .filter(|t| {
                !t.text.contains(' ')
                    && t.text.chars().count() >= 3
                    && t.seed_df >= min_ent_df.max(1)
                    && t.weight >= ENTITY_MIN_WEIGHT
            })
            .filter(|t| {
                caps.get(&t.text)
                    .is_some_and(|&(c, all)| all > 0 && c as f32 >= 0.5 * all as f32)
            })
            .map(|t| (t.text.clone(), t.weight))
            .collect();
        model.rebuild_lookup();
        model
    }

    /// Adds (or replaces) the boolean query.
    pub fn with_query(mut self, q: Option<Query>) -> TopicModel {
        self.query = q;
        self
    }

    fn rebuild_lookup(&mut self) {
        self.index = TermIndex::build(&self.terms, &self.entities);
    }

    /// The topic's entities (recurring names in the seeds) with their weights.
    pub fn entities(&self) -> &[(String, f32)] {
        &self.entities
    }

    /// Share of the topic's entities that the text mentions in at least two windows (one
    /// window counts half). Each entity counts the same: the topic is the *co-occurrence* of
    /// its names (Microsoft and OpenAI and Amazon and Frontier ...), and news about one of
    /// them alone covers only a part.
    pub fn entity_coverage(&self, windows: &[Vec<String>]) -> f32 {
        if self.entities.is_empty() {
            return 1.0;
        }
        let mut got = 0.0;
        for (e, _) in &self.entities {
            let n = windows.iter().filter(|w| w.iter().any(|t| t == e)).count();
            got += n.min(2) as f32 / 2.0;
        }
        got / self.entities.len() as f32
    }

    /// The learned terms, strongest first.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Raw (unnormalised) strength of a window of tokens.
    fn raw_window(&self, bg: &Background, win: &[String]) -> f32 {
        let mut toks = Tokens::default();
        for t in win {
            toks.push(t);
        }
        let facts = index::facts(&self.index, bg, &toks);
        let mut terms = Vec::new();
        index::window_terms(&self.index, &facts, &mut terms);
        terms.iter().map(|&i| self.index.weights[i as usize]).sum()
    }

    /// Per-window strengths (raw / seed reference, uncapped) of a text, title first: the
    /// detail behind [`TopicModel::score`], for `explain` and tuning.
    pub fn window_strengths(&self, title: &str, text: &str) -> Vec<f32> {
        let bg = Background::english();
        let (wins, _) = windows_of(&prose(text), MAX_TOKENS);
        let (tw, _) = windows_of(title, WINDOW);
        tw.iter()
            .take(1)
            .chain(wins.iter())
            .map(|w| self.raw_window(bg, w) / self.window_ref)
            .collect()
    }

    /// Scores an item (see the module doc).
    pub fn score(&self, title: &str, text: &str) -> Relevance {
        let bg = Background::english();
        let body = prose(text);
        // One token buffer: the title's first window, then the body's prose.
        let mut toks = Tokens::with_capacity(title.len() + body.len().min(MAX_TOKENS * 8));
        for_each_token(title, WINDOW, |t| toks.push(t));
        let title_tokens = toks.len();
        let cut = for_each_token(&body, MAX_TOKENS, |t| toks.push(t));
        let body_tokens = toks.len() - title_tokens;
        let mut bounds = Vec::new();
        if title_tokens > 0 {
            bounds.push((0, title_tokens));
        }
        index::window_bounds(title_tokens, body_tokens, &mut bounds);
        // The query sees the whole text, not only its prose.
        let query = self.query.as_ref().map(|q| {
            let mut qt = crate::text::tokens(title);
            for_each_token(text, MAX_TOKENS, |t| qt.push(t.to_string()));
            q.matches(&qt)
        });
        let facts = index::facts(&self.index, bg, &toks);
        let alpha = facts.iter().filter(|f| f.alpha).count();
        let english = if alpha == 0 {
            0.0
        } else {
            facts.iter().filter(|f| f.alpha && f.known).count() as f32 / alpha as f32
        };
        let empty = |note: String| Relevance {
            score: 0.0,
            terms: Vec::new(),
            query,
            english,
            note: Some(note),
        };
        if toks.len() == 0 {
            return empty("empty text".into());
        }
        if toks.len() >= MIN_TOKENS && english < MIN_ENGLISH {
            return empty(format!(
                "not English: {:.0}% of words in the English word list",
                english * 100.0
            ));
        }
        let note = if body_tokens < MIN_TOKENS {
            Some(format!(
                "too short to judge reliably ({body_tokens} words of text)"
            ))
        } else if cut {
            Some(format!("text cut at {MAX_TOKENS} words"))
        } else {
            None
        };
        let mut sum = 0.0;
        let mut contrib = vec![0f32; self.terms.len()];
        let mut win_terms = Vec::new();
        for &(a, b) in &bounds {
            index::window_terms(&self.index, &facts[a..b], &mut win_terms);
            let mut raw = 0.0;
            for &i in &win_terms {
                let w = self.index.weights[i as usize];
                raw += w;
                contrib[i as usize] += w;
            }
            sum += (raw / self.window_ref).min(1.0);
        }
        let density = sum / bounds.len() as f32;
        let coverage = if self.entities.is_empty() {
            1.0
        } else {
            let mut counts = vec![0u32; self.entities.len()];
            index::entity_windows(&facts, &bounds, &mut counts);
            counts.iter().map(|&n| n.min(2) as f32 / 2.0).sum::<f32>() / counts.len() as f32
        };
        let score = (density * coverage).sqrt();
        let mut terms: Vec<(String, f32)> = contrib
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0.0)
            .map(|(i, &c)| (self.terms[i].text.clone(), c))
            .collect();
        terms.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        terms.truncate(12);
        Relevance {
            score,
            terms,
            query,
            english,
            note,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The straightforward scorer (one `String` per token, a `HashSet` of each window's terms):
    /// the reference for the table-driven [`TopicModel::score`].
    fn reference_score(m: &TopicModel, title: &str, text: &str) -> (f32, f32, Vec<String>) {
        let bg = Background::english();
        let lookup: HashMap<&str, f32> = m
            .terms
            .iter()
            .map(|t| (t.text.as_str(), t.weight))
            .collect();
        let (mut wins, _) = windows_of(&prose(text), MAX_TOKENS);
        let (tw, _) = windows_of(title, WINDOW);
        let mut windows: Vec<Vec<String>> = tw.into_iter().take(1).collect();
        windows.append(&mut wins);
        let all: Vec<&String> = windows.iter().flatten().collect();
        let alpha: Vec<&&String> = all
            .iter()
            .filter(|t| t.chars().all(char::is_alphabetic))
            .collect();
        let english = if alpha.is_empty() {
            0.0
        } else {
            alpha.iter().filter(|t| bg.knows(t)).count() as f32 / alpha.len() as f32
        };
        if all.is_empty() || (all.len() >= MIN_TOKENS && english < MIN_ENGLISH) {
            return (0.0, english, Vec::new());
        }
        let mut sum = 0.0;
        let mut contrib: HashMap<String, f32> = HashMap::new();
        for w in &windows {
            let mut raw = 0.0;
            for t in window_terms(bg, w) {
                if let Some(&wt) = lookup.get(t.as_str()) {
                    raw += wt;
                    *contrib.entry(t).or_default() += wt;
                }
            }
            sum += (raw / m.window_ref).min(1.0);
        }
        let density = sum / windows.len() as f32;
        let mut got = 0.0;
        for (e, _) in &m.entities {
            let n = windows.iter().filter(|w| w.iter().any(|t| t == e)).count();
            got += n.min(2) as f32 / 2.0;
        }
        let coverage = if m.entities.is_empty() {
            1.0
        } else {
            got / m.entities.len() as f32
        };
        let mut terms: Vec<(String, f32)> = contrib.into_iter().collect();
        terms.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        terms.truncate(12);
        (
            (density * coverage).sqrt(),
            english,
            terms.into_iter().map(|t| t.0).collect(),
        )
    }

    fn texts() -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                if let Ok(t) = std::fs::read_to_string(e.path()) {
                    out.push(t);
                }
            }
        }
        assert!(out.len() >= 5, "seeds not found in {}", dir.display());
        let mut cases: Vec<(String, String)> = Vec::new();
        for t in &out {
            let title = t.lines().next().unwrap_or("").to_string();
            cases.push((title.clone(), t.clone()));
            // Halves, a short fragment, a non-English text and an empty one.
            let half = t.len() / 2;
            let cut = (half..t.len())
                .find(|&i| t.is_char_boundary(i))
                .unwrap_or(0);
            cases.push((String::new(), t[cut..].to_string()));
            cases.push((title, t[..cut].to_string()));
        }
        cases.push(("Microsoft".into(), "OpenAI and Amazon.".into()));
        cases.push((
            "Le nuage".into(),
            "Le différend entre Microsoft et OpenAI porte sur le contrat d'Amazon. ".repeat(10),
        ));
        cases.push((String::new(), String::new()));
        cases.push((
            "Weather".into(),
            "It rained in the city again today, and the rain is expected to last. ".repeat(20),
        ));
        cases
    }

    #[test]
    fn fast_scorer_matches_the_reference() {
        let seeds: Vec<String> = texts()
            .into_iter()
            .step_by(3)
            .take(5)
            .map(|c| c.1)
            .collect();
        let m = TopicModel::from_seeds(&seeds);
        assert!(!m.entities.is_empty() && m.terms.len() > 50);
        for (title, text) in texts() {
            let fast = m.score(&title, &text);
            let (score, english, terms) = reference_score(&m, &title, &text);
            assert!(
                (fast.score - score).abs() < 1e-5 && (fast.english - english).abs() < 1e-6,
                "{title:?}: fast {} / {} vs reference {score} / {english}",
                fast.score,
                fast.english
            );
            let fast_terms: Vec<String> = fast.terms.into_iter().map(|t| t.0).collect();
            assert_eq!(fast_terms, terms, "{title:?}");
        }
    }
}
