//! The scorer's lookup tables and token buffer: what makes [`super::TopicModel::score`] cheap
//! enough to run on every item (it is called once per fetched article, tens of thousands of
//! times per cycle on a large feed list).
//!
//! The straightforward way (a `String` per token, a `HashSet<String>` of each window's terms
//! with a `format!` per bigram, SipHash lookups) spent most of its time allocating and
//! hashing (profiled: 28 % of a whole `wirewatch once` cycle). Here each token is looked up
//! once, in one table, with a fast non-cryptographic hasher (the keys are our own term list,
//! not attacker-chosen map keys), and bigrams are matched as pairs of word ids, so scoring
//! a text allocates a handful of vectors instead of one string per token and term. The
//! results are the same as the straightforward way's (a unit test keeps both).

use rustc_hash::FxHashMap;

use super::background::Background;
use super::{Term, MIN_TAIL, WINDOW};

/// "None" in the packed u32 fields below.
const NONE: u32 = u32::MAX;

/// What the model knows of one word.
#[derive(Debug, Clone, Copy)]
pub(super) struct WordInfo {
    /// Index of the unigram term, or [`NONE`].
    pub term: u32,
    /// Word id for bigram matching (the word is part of some bigram term), or [`NONE`].
    pub word: u32,
    /// The name slot (one per distinct name text; see [`TermIndex::name_slots`]), or
    /// [`NONE`].
    pub entity: u32,
}

impl WordInfo {
    /// The name this word is, if any.
    pub fn entity(&self) -> Option<usize> {
        (self.entity != NONE).then_some(self.entity as usize)
    }
}

/// Term lookup tables derived from the model's terms and names.
#[derive(Debug, Clone, Default)]
pub(super) struct TermIndex {
    words: FxHashMap<String, WordInfo>,
    bigrams: FxHashMap<(u32, u32), u32>,
    /// Weight of each term, by term index.
    pub weights: Vec<f32>,
    /// The slot of each of the model's names: a name text used by two groups has one slot.
    pub name_slots: Vec<usize>,
    /// Number of slots.
    pub slots: usize,
}

impl TermIndex {
    /// Builds the tables.
    pub fn build(terms: &[Term], names: &[super::Name]) -> TermIndex {
        let mut ix = TermIndex {
            weights: terms.iter().map(|t| t.weight).collect(),
            ..TermIndex::default()
        };
        let blank = WordInfo {
            term: NONE,
            word: NONE,
            entity: NONE,
        };
        let mut next_word = 0u32;
        for (i, t) in terms.iter().enumerate() {
            match t.text.split_once(' ') {
                None => ix.words.entry(t.text.clone()).or_insert(blank).term = i as u32,
                Some((a, b)) => {
                    let mut id = |w: &str| {
                        let info = ix.words.entry(w.to_string()).or_insert(blank);
                        if info.word == NONE {
                            info.word = next_word;
                            next_word += 1;
                        }
                        info.word
                    };
                    let key = (id(a), id(b));
                    ix.bigrams.entry(key).or_insert(i as u32);
                }
            }
        }
        for n in names {
            let next = ix.slots as u32;
            let info = ix.words.entry(n.text.clone()).or_insert(blank);
            if info.entity == NONE {
                info.entity = next;
                ix.slots += 1;
            }
            ix.name_slots.push(info.entity as usize);
        }
        ix
    }

    pub(super) fn info(&self, t: &str) -> Option<WordInfo> {
        self.words.get(t).copied()
    }
}

/// The tokens of a text in one buffer: one allocation for all of them, not one per token.
#[derive(Debug, Default)]
pub(super) struct Tokens {
    buf: String,
    ends: Vec<u32>,
}

impl Tokens {
    /// A buffer for about `bytes` bytes of text (tokens are at most as long as the text, and
    /// average more than four bytes): grown once, not doubled per token.
    pub fn with_capacity(bytes: usize) -> Tokens {
        Tokens {
            buf: String::with_capacity(bytes),
            ends: Vec::with_capacity(bytes / 4 + 1),
        }
    }

    /// Appends a token.
    pub fn push(&mut self, t: &str) {
        self.buf.push_str(t);
        self.ends.push(self.buf.len() as u32);
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Token `i`.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.buf[start..self.ends[i] as usize]
    }
}

/// Window bounds `[start, end)` over `n` tokens starting at `offset`: chunks of [`WINDOW`],
/// a last chunk shorter than [`MIN_TAIL`] merged into the one before.
pub(super) fn window_bounds(offset: usize, n: usize, out: &mut Vec<(usize, usize)>) {
    let first = out.len();
    let mut s = 0;
    while s < n {
        let e = (s + WINDOW).min(n);
        out.push((offset + s, offset + e));
        s = e;
    }
    if out.len() - first >= 2 && out.last().is_some_and(|&(a, b)| b - a < MIN_TAIL) {
        if let Some((_, end)) = out.pop() {
            if let Some(prev) = out.last_mut() {
                prev.1 = end;
            }
        }
    }
}

/// Per-token facts, looked up once per token.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fact {
    /// A function word or a one-letter token: no term, breaks bigrams.
    pub function: bool,
    /// Every character alphabetic (counts towards the English share).
    pub alpha: bool,
    /// In the English background list.
    pub known: bool,
    /// The model's knowledge of the word.
    pub info: Option<WordInfo>,
}

/// A token's facts from the English background, the same for every topic.
#[derive(Debug, Clone, Copy)]
pub(super) struct BgFact {
    /// See [`Fact::function`].
    pub function: bool,
    /// See [`Fact::alpha`].
    pub alpha: bool,
    /// See [`Fact::known`].
    pub known: bool,
}

/// Looks up every token once in the background.
pub(super) fn bg_facts(bg: &Background, toks: &Tokens) -> Vec<BgFact> {
    (0..toks.len())
        .map(|i| {
            let t = toks.get(i);
            let z = bg.lookup(t);
            BgFact {
                function: bg.is_function_zipf(t, z),
                alpha: t.chars().all(char::is_alphabetic),
                known: z.is_some(),
            }
        })
        .collect()
}

/// The distinct terms of a window (indices into the term list), sorted, in `out`.
pub(super) fn window_terms(ix: &TermIndex, facts: &[Fact], out: &mut Vec<u32>) {
    out.clear();
    let mut prev: Option<u32> = None;
    for f in facts {
        if f.function {
            prev = None;
            continue;
        }
        let Some(info) = f.info else {
            prev = None;
            continue;
        };
        if info.term != NONE {
            out.push(info.term);
        }
        let word = (info.word != NONE).then_some(info.word);
        if let (Some(p), Some(w)) = (prev, word) {
            if let Some(&b) = ix.bigrams.get(&(p, w)) {
                out.push(b);
            }
        }
        prev = word;
    }
    out.sort_unstable();
    out.dedup();
}

/// Counts, per name, the windows it occurs in (`counts[e]`), over `bounds`.
pub(super) fn entity_windows(facts: &[Fact], bounds: &[(usize, usize)], counts: &mut [u32]) {
    let mut last = vec![usize::MAX; counts.len()];
    for (wi, &(a, b)) in bounds.iter().enumerate() {
        for f in &facts[a..b] {
            let Some(info) = f.info else { continue };
            let e = info.entity as usize;
            if info.entity != NONE && e < counts.len() && last[e] != wi {
                last[e] = wi;
                counts[e] += 1;
            }
        }
    }
}
