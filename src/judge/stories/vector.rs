//! Term vectors: how the stories stage sees an item.
//!
//! An item becomes a sparse vector of its [`ITEM_TERMS`] strongest terms ([`item_vector`]):
//! content words, lightly stemmed ([`stem`]) so that "breach" and "breached" are one term,
//! and figures other than years and one-digit numbers. A term weighs `(1 + ln tf) × idf`, the
//! idf from the shipped English background (capped, so that rare names do not outweigh the
//! words that say what happened), times what the topic discount leaves of it. News is written
//! as an inverted pyramid: the headline and the lede say what happened, later paragraphs
//! recap earlier events, so headline and lede terms count more. Stories compare vectors by
//! [`cosine`].

use std::collections::HashMap;

use crate::relevance::background::Background;
use crate::relevance::prose;

/// Sparse term vector (term -> weight), L2-normalised.
pub type TermVector = HashMap<String, f32>;

/// Weight of headline terms (the headline names the sub-event).
pub const TITLE_WEIGHT: f32 = 3.0;
/// Words of prose counted as the lede.
pub const LEDE_WORDS: usize = 60;
/// Weight of lede terms.
pub const LEDE_WEIGHT: f32 = 2.0;
/// Terms kept in an item vector (the strongest).
pub const ITEM_TERMS: usize = 48;

/// Byte offset just after the `n`th whitespace-separated word of `s` (or its length).
fn nth_word_boundary(s: &str, n: usize) -> usize {
    let mut words = 0;
    let mut in_word = false;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            if in_word {
                words += 1;
                if words >= n {
                    return i;
                }
            }
            in_word = false;
        } else {
            in_word = true;
        }
    }
    s.len()
}

/// The cosine of an item vector with a (not necessarily normalised) sparse vector.
pub fn cosine(a: &TermVector, b: &[(String, f32)]) -> f32 {
    let nb: f32 = b.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if nb == 0.0 {
        return 0.0;
    }
    let dot: f32 = b.iter().filter_map(|(t, w)| a.get(t).map(|x| x * w)).sum();
    dot / nb
}
/// The term vector of an item: its [`ITEM_TERMS`] strongest terms, weighted by
/// `(1 + ln tf) × idf × d`, where `d` is 1 minus `strength` times what the topic `discount`
/// takes from the term (0: no discount, 1: in full), L2-normalised. The headline's terms
/// count [`TITLE_WEIGHT`] times, the lede's (first [`LEDE_WORDS`] words of the prose)
/// [`LEDE_WEIGHT`] times.
pub fn item_vector(
    discount: &HashMap<String, f32>,
    title: &str,
    text: &str,
    strength: f32,
) -> TermVector {
    let bg = Background::english();
    // stem -> (weighted count, idf × discount of the first surface form seen)
    let mut tf: HashMap<String, (f32, f32)> = HashMap::new();
    let mut add = |s: &str, times: f32| {
        let toks = crate::text::tokens(s);
        for t in toks.iter().take(crate::relevance::MAX_TOKENS) {
            if bg.is_function_word(t) || is_year_or_small_number(t) {
                continue;
            }
            let st = stem(t);
            let d = 1.0 - strength * (1.0 - discount.get(t.as_str()).copied().unwrap_or(1.0));
            let e = tf.entry(st.clone()).or_insert((0.0, idf(bg, t) * d));
            e.0 += times;
        }
    };
    // Inverted pyramid: the headline and the lede say what happened; later paragraphs
    // recap earlier events of the topic.
    add(title, TITLE_WEIGHT);
    let body = prose(text);
    let lede_end = nth_word_boundary(&body, LEDE_WORDS);
    add(&body[..lede_end], LEDE_WEIGHT);
    add(&body[lede_end..], 1.0);
    let v: HashMap<String, f32> = tf
        .into_iter()
        .map(|(t, (f, w))| (t, (1.0 + f.ln()) * w))
        .collect();
    // Sorted, so that the norm is summed in a fixed order (results reproducible to the bit).
    let top = top_terms(v, ITEM_TERMS);
    let norm: f32 = top.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
    top.into_iter().map(|(t, w)| (t, w * scale)).collect()
}

/// A sparse vector as the sorted (term, weight) pairs (a fixed order, so sums are
/// reproducible to the bit).
pub(crate) fn sorted(v: &TermVector) -> Vec<(String, f32)> {
    let mut p: Vec<(String, f32)> = v.iter().map(|(t, w)| (t.clone(), *w)).collect();
    p.sort_by(|a, b| a.0.cmp(&b.0));
    p
}

fn idf(bg: &Background, t: &str) -> f32 {
    // -log10 p, i.e. 9 - zipf: 2 for "the"-like words; capped so that names and rare words
    // (zipf < 3.5: analysts' and lawyers' names, a newspaper's nickname for a company) do not
    // outweigh the words that name the event.
    (9.0 - bg.zipf(t)).clamp(0.5, 5.5)
}

/// Years and one-digit numbers say nothing about a particular event; other figures
/// ("3.2" per cent, "30"-day, "250" billion) often do.
fn is_year_or_small_number(t: &str) -> bool {
    if !t
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return false;
    }
    t.len() < 2 || (t.len() == 4 && (t.starts_with("19") || t.starts_with("20")))
}

/// A light suffix stripper so that "breach", "breached" and "breaching", or "estimate" and
/// "estimates", count as one term. Deliberately crude (no dictionary): it only has to map
/// inflections of one word together, not produce linguistic stems.
pub fn stem(t: &str) -> String {
    let n = t.chars().count();
    for (suf, min) in [
        ("ings", 6),
        ("ing", 6),
        ("ies", 5),
        ("ied", 5),
        ("es", 5),
        ("ed", 5),
        ("s", 4),
    ] {
        if n >= min && t.ends_with(suf) && !t.ends_with("ss") {
            let base = &t[..t.len() - suf.len()];
            return match suf {
                "ies" | "ied" => format!("{base}y"),
                _ => base.trim_end_matches('e').to_string(),
            };
        }
    }
    t.trim_end_matches('e').to_string()
}

pub(super) fn top_terms(v: HashMap<String, f32>, n: usize) -> Vec<(String, f32)> {
    let mut t: Vec<(String, f32)> = v.into_iter().collect();
    t.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    t.truncate(n);
    t
}
