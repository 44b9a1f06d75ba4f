//! What a topic learns from its own confident alerts, and from its reader.
//!
//! A story develops: a second clinic, a new lawyer, a court, a regulator. The seeds never
//! name them, so an article that reports the development in its own words reads less like
//! the seeds than the first reports did. [`Evidence`] collects, from each *confident* alert
//! (every protagonist named, score at least [`CONFIDENT_MARGIN`] above the threshold), the
//! names and the distinctive words of its headline and lede. A name or word that recurs in
//! at least [`MIN_ALERTS`] such alerts, and in at least [`MIN_SHARE`] of them, is *learned*
//! ([`Evidence::learned`]) and joins the topic model ([`super::TopicModel::with_evidence`]):
//! a name as a secondary name of its group (never a protagonist), a word as a term whose
//! weight is capped below the seeds' median. The bounds keep the model on its story: only
//! alerts that name the protagonists teach, so the same kind of news about someone else
//! (the neighbouring event) never does, and nothing learned can stand in for a protagonist.
//!
//! The reader's marks (`wirewatch feedback`) live here too: a relevant mark teaches like
//! [`MARK_WEIGHT`] confident alerts; every mark also keeps an exemplar that moves the scores
//! of items like it ([`crate::judge::feedback`]).
//!
//! Evidence is kept per topic in the store and survives restarts; it is bounded
//! ([`MAX_CANDIDATES`] candidates, [`MAX_LEARNED_NAMES`] names, [`MAX_LEARNED_TERMS`] words).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::background::Background;
use super::names::{capitalisation, is_name};

/// How far above the threshold an alert's score must be for the model to learn from it.
pub const CONFIDENT_MARGIN: f32 = 0.1;
/// A candidate must come from at least this many confident alerts to be learned...
pub const MIN_ALERTS: u32 = 2;
/// ...and from at least this share of them.
pub const MIN_SHARE: f32 = 0.25;
/// Candidates kept (the rarest are dropped beyond this).
pub const MAX_CANDIDATES: usize = 2000;
/// Learned names at most.
pub const MAX_LEARNED_NAMES: usize = 8;
/// Learned words at most.
pub const MAX_LEARNED_TERMS: usize = 40;
/// Tokens of an alert's text read as its lede.
const LEDE_TOKENS: usize = 60;
/// Words at least this common in general English are not learned.
const MAX_TERM_ZIPF: f32 = 4.5;
/// Alerts named as a candidate's sources, at most.
const MAX_SOURCES: usize = 3;
/// A relevant mark teaches like this many confident alerts.
pub const MARK_WEIGHT: u32 = 2;

/// A name or word seen in confident alerts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    /// Confident alerts (and relevant marks, counted twice) it appeared in.
    pub count: u32,
    /// The group of seeds those alerts matched (the first one's).
    pub group: u16,
    /// The first alerts it came from (their URLs).
    pub from: Vec<String>,
}

/// A reader's verdict on an item (see [`crate::judge::feedback`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// The item's canonical URL.
    pub url: String,
    /// Relevant (true) or off-topic (false).
    pub relevant: bool,
    /// When it was marked (RFC 3339).
    pub at: String,
    /// The item's headline.
    #[serde(default)]
    pub title: String,
    /// The distinctive words of its headline and lede ([`headline_words`]).
    pub words: Vec<String>,
    /// The names among them.
    #[serde(default)]
    pub names: Vec<String>,
    /// The group of seeds the item matched best.
    #[serde(default)]
    pub group: Option<u16>,
    /// Its exemplar: the item's term vector, as the stories stage builds it.
    #[serde(default)]
    pub vector: Vec<(String, f32)>,
}

/// What one topic learned (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Confident alerts learned from (relevant marks count twice).
    pub alerts: u32,
    /// Candidate names.
    pub names: BTreeMap<String, Seen>,
    /// Candidate words.
    pub terms: BTreeMap<String, Seen>,
    /// The reader's marks, by item URL.
    #[serde(default)]
    pub marks: BTreeMap<String, Mark>,
    /// The number of the last journaled lesson this evidence holds (see [`Lesson`]).
    #[serde(default)]
    pub lessons: u32,
}

/// What was learned, as the model uses it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Learned {
    /// (name, group, share of confident alerts naming it).
    pub names: Vec<(String, u16, f32)>,
    /// (word, share of confident alerts using it).
    pub terms: Vec<(String, f32)>,
}

/// The distinctive words of a text's headline and lede, and the names among them.
pub fn headline_words(title: &str, text: &str) -> (Vec<String>, Vec<String>) {
    let bg = Background::english();
    let mut caps = std::collections::HashMap::new();
    capitalisation(text, &mut caps);
    let mut words = Vec::new();
    let mut names = Vec::new();
    let toks = crate::text::tokens(title)
        .into_iter()
        .chain(crate::text::tokens(text).into_iter().take(LEDE_TOKENS));
    for t in toks {
        if words.contains(&t) || names.contains(&t) || bg.is_function_word(&t) {
            continue;
        }
        if t.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        {
            continue;
        }
        if is_name(bg, &t, &caps) {
            names.push(t);
        } else if bg.zipf(&t) < MAX_TERM_ZIPF && t.chars().count() >= 3 {
            words.push(t);
        }
    }
    (words, names)
}

/// What one confident alert teaches: its URL, the protagonists' group it matched, and the
/// distinctive words and names of its headline and lede ([`headline_words`]). The judge
/// journals each as it learns it (a few hundred bytes, numbered one past
/// [`Evidence::lessons`]), and stores the whole evidence once a pass, with the number of the
/// last lesson it holds:
/// rewriting the whole evidence (up to some hundreds of kilobytes) at every confident alert
/// cost 1.8% of the CPU of a 10,000-feed cycle (`benches/e2e.sh`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lesson {
    /// The alert's URL.
    pub url: String,
    /// The group of protagonists it matched.
    pub group: u16,
    /// Its distinctive words.
    pub words: Vec<String>,
    /// Its names.
    pub names: Vec<String>,
}

impl Lesson {
    /// The lesson of an alert with this headline and text.
    pub fn of(url: &str, title: &str, text: &str, group: u16) -> Lesson {
        let (words, names) = headline_words(title, text);
        Lesson {
            url: url.to_string(),
            group,
            words,
            names,
        }
    }
}

/// The part of [`Evidence`] learned from alerts, as the store keeps it: the reader's marks
/// have a record each (see `crate::judge::stored_marks`). Reads back as an [`Evidence`]
/// without marks.
#[derive(Serialize)]
pub struct LearnedPart<'a> {
    alerts: u32,
    names: &'a BTreeMap<String, Seen>,
    terms: &'a BTreeMap<String, Seen>,
    lessons: u32,
}

impl Evidence {
    /// What was learned from alerts, to be stored apart from the marks.
    pub fn learned_part(&self) -> LearnedPart<'_> {
        LearnedPart {
            alerts: self.alerts,
            names: &self.names,
            terms: &self.terms,
            lessons: self.lessons,
        }
    }

    /// Learns from one confident alert (the caller decides it is one): its headline and
    /// lede's names and distinctive words, matched to `group`.
    pub fn learn(&mut self, url: &str, title: &str, text: &str, group: u16) {
        self.apply(&Lesson::of(url, title, text, group));
    }

    /// Learns one lesson ([`Lesson::of`]): what [`Evidence::learn`] does once the words are
    /// picked. A lesson read back from the store's journal is applied the same way.
    pub fn apply(&mut self, lesson: &Lesson) {
        let Lesson {
            url,
            group,
            words,
            names,
        } = lesson;
        let (url, group) = (url.as_str(), *group);
        self.alerts += 1;
        for (map, list) in [(&mut self.names, names), (&mut self.terms, words)] {
            for t in list {
                let e = map.entry(t.clone()).or_insert_with(|| Seen {
                    group,
                    ..Seen::default()
                });
                e.count += 1;
                if e.from.len() < MAX_SOURCES && !e.from.iter().any(|f| f == url) {
                    e.from.push(url.to_string());
                }
            }
            if map.len() > MAX_CANDIDATES {
                // Drop the rarest (ties: the last in order) down to the bound.
                let mut counts: Vec<(u32, String)> =
                    map.iter().map(|(k, v)| (v.count, k.clone())).collect();
                counts.sort();
                for (_, k) in counts.into_iter().take(map.len() - MAX_CANDIDATES) {
                    map.remove(&k);
                }
            }
        }
    }

    /// The candidates that qualify (see the module doc), strongest first: those of the
    /// confident alerts, with each relevant mark counted as [`MARK_WEIGHT`] more alerts.
    pub fn learned(&self) -> Learned {
        let (names, terms, alerts) = self.with_marks();
        let qualifies =
            |s: &Seen| s.count >= MIN_ALERTS && s.count as f32 >= MIN_SHARE * alerts.max(1) as f32;
        let share = |s: &Seen| (s.count as f32 / alerts.max(1) as f32).min(1.0);
        let mut names: Vec<(String, u16, f32)> = names
            .iter()
            .filter(|(_, s)| qualifies(s))
            .map(|(t, s)| (t.clone(), s.group, share(s)))
            .collect();
        names.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        names.truncate(MAX_LEARNED_NAMES);
        let mut terms: Vec<(String, f32)> = terms
            .iter()
            .filter(|(_, s)| qualifies(s))
            .map(|(t, s)| (t.clone(), share(s)))
            .collect();
        terms.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        terms.truncate(MAX_LEARNED_TERMS);
        Learned { names, terms }
    }

    /// The candidates with the relevant marks' names and words added (as [`MARK_WEIGHT`]
    /// alerts each), and the number of alerts that makes. Derived anew each time, so that
    /// clearing a mark undoes what it taught.
    fn with_marks(&self) -> (BTreeMap<String, Seen>, BTreeMap<String, Seen>, u32) {
        let mut names = self.names.clone();
        let mut terms = self.terms.clone();
        let mut alerts = self.alerts;
        for m in self.marks.values().filter(|m| m.relevant) {
            alerts += MARK_WEIGHT;
            let group = m.group.unwrap_or(0);
            for (map, list) in [(&mut names, &m.names), (&mut terms, &m.words)] {
                for t in list {
                    map.entry(t.clone())
                        .or_insert_with(|| Seen {
                            group,
                            ..Seen::default()
                        })
                        .count += MARK_WEIGHT;
                }
            }
        }
        (names, terms, alerts)
    }

    /// Where a learned name or word came from, in words (for `explain`).
    pub fn origin(&self, t: &str) -> Option<String> {
        let marks: Vec<&str> = self
            .marks
            .values()
            .filter(|m| m.relevant && m.words.iter().chain(&m.names).any(|w| w == t))
            .map(|m| m.url.as_str())
            .collect();
        let alerts = self.names.get(t).or_else(|| self.terms.get(t)).map(|seen| {
            format!(
                "learned from {} confident alert(s), e.g. {}",
                seen.count,
                seen.from.join(", ")
            )
        });
        let marked = (!marks.is_empty()).then(|| {
            format!(
                "taught by the reader's relevant mark on {}",
                marks.join(", ")
            )
        });
        match (alerts, marked) {
            (Some(a), Some(m)) => Some(format!("{a}; {m}")),
            (a, m) => a.or(m),
        }
    }

    /// Records the reader's mark on an item, replacing an earlier one on the same URL.
    pub fn mark(&mut self, m: Mark) {
        self.marks.insert(m.url.clone(), m);
    }

    /// Undoes the mark on a URL; whether there was one.
    pub fn clear(&mut self, url: &str) -> bool {
        self.marks.remove(url).is_some()
    }
}
