//! The topic's names: who and where the topic is about, learned from how the seeds write them.
//!
//! A *name* is a word the seeds' text (not their headlines, often in Title Case) writes
//! capitalised in mid-sentence at least half the time (`Lohan`, `SeaMicro`, `Klitschko`,
//! `FTC`), that is not a calendar word and not common in general English. Names are what tells one event from another of the same kind: two
//! acquisitions by one company, two rehab stays, two patches of one browser share nearly all
//! their vocabulary and differ in who, where and what exactly.
//!
//! **Groups.** Seeds that share a name in their headline or lede (first [`LEDE_TOKENS`]
//! tokens), or two names anywhere, report the same event; connected seeds form a group. A
//! topic of one event has one group; a broad topic (four acquisitions) has one group per
//! event, and an item needs to match only one of them.
//!
//! **Primary names** of a group are the ones most of its seeds name in their headline (in at
//! least three quarters of its seeds, and in the headline of at least half), at most
//! [`MAX_PRIMARY`]: the event's protagonists (when the headlines agree on nobody, the names
//! every seed of the group uses, which then count as one: their mean presence). The other
//! names used by at least two of the group's seeds are *secondary* (a lawyer, a clinic, a
//! venue): supporting evidence. An abbreviation of common words the seeds also write out
//! ("DUI") is not a name at all.
//!
//! **Coverage** of an item for a group ([`coverage`]): each primary name counts by how present
//! it is ([`presence`]: fully in the headline or lede, less further down, where a recap or a
//! comparison names it); a missing one multiplies the coverage by [`MISSING_PRIMARY`] when
//! every seed headline names it, by less when fewer do (the square of their share), so that
//! no single missing name zeroes a score and an item without the event's protagonists (the
//! same kind of news about someone else) stays low. An item whose headline names someone the
//! seeds never name, while a protagonist is missing up front, is the same kind of news about
//! that someone: [`FOREIGN_HEADLINE`]. A protagonist that is a region (a state, a country:
//! [`super::regions`]) is where the event happened, and is not missing from an item that
//! names the event's other protagonists, unless the item names another region up front.
//! Secondary names lift coverage from [`SECONDARY_BASE`] to 1 in proportion to their weight.
//! The item's coverage is its best group's. A topic whose seeds name nobody has coverage 1
//! (density alone decides).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::background::Background;
use super::regions;
use super::Term;

/// Tokens of a seed's body read as its lede.
pub const LEDE_TOKENS: usize = 40;
/// Most primary names per group.
pub const MAX_PRIMARY: usize = 3;
/// Most secondary names per group (learned ones included).
pub const MAX_SECONDARY: usize = 16;
/// How an item's names count ([`presence`], [`coverage`]); the defaults are the constants
/// below. Exposed so that experiments can vary them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NameParams {
    /// Tokens of an item's text read as its lede (with the headline, what it is about).
    pub lede_tokens: usize,
    /// What a name counts that the item mentions in two windows but not up front.
    pub in_body: f32,
    /// What a name counts that the item mentions once, not up front.
    pub one_mention: f32,
    /// Factor of a missing primary name that every seed headline names.
    pub missing_primary: f32,
    /// Coverage of a group whose primaries are all present but none of its secondary names.
    pub secondary_base: f32,
    /// Factor of an item whose headline names someone the seeds never name while a
    /// protagonist is missing up front: the same kind of news about someone else.
    pub foreign_headline: f32,
    /// How a protagonist's absence scales with its share of seed headlines (the exponent).
    pub essential_exp: f32,
}

impl Default for NameParams {
    fn default() -> Self {
        NameParams {
            lede_tokens: ITEM_LEDE_TOKENS,
            in_body: IN_BODY,
            one_mention: ONE_MENTION,
            missing_primary: MISSING_PRIMARY,
            secondary_base: SECONDARY_BASE,
            foreign_headline: FOREIGN_HEADLINE,
            essential_exp: 1.0,
        }
    }
}

/// Tokens of an item's text read as its lede (with the headline, what it is about): about two
/// sentences. A protagonist is someone the seeds name first ([`LEDE_TOKENS`]); a report of
/// the event names them up front too, but not always in its first sentence ("An overnight
/// fire badly damaged a church in Wasilla. Gov. Sarah Palin has attended it since..."). On
/// the ECB+ dev set (with protagonists weighing [`super::PROTAGONIST_WEIGHT`] of the score)
/// 60 rather than 40 took narrow recall from 0.903 to 0.930 at the same precision, gained
/// in seven runs and in both halves of the topics; 80 let an off-topic item of our scenario
/// alert.
pub const ITEM_LEDE_TOKENS: usize = 60;
/// What a name counts that the item mentions in two windows but not up front.
pub const IN_BODY: f32 = 0.5;
/// What a name counts that the item mentions once, not up front.
pub const ONE_MENTION: f32 = 0.25;
/// Factor of an item whose headline names someone the seeds never name while a protagonist
/// is missing up front: the same kind of news about someone else.
pub const FOREIGN_HEADLINE: f32 = 0.5;
/// Factor of a missing primary name.
pub const MISSING_PRIMARY: f32 = 0.2;
/// Coverage of a group whose primaries are all present but none of whose secondary names is.
pub const SECONDARY_BASE: f32 = 0.7;
/// Words at least this common in general English (Zipf) are not names even when capitalised
/// (sentence-initial habits, titles such as "President").
const MAX_NAME_ZIPF: f32 = 5.0;

/// Capitalised in mid-sentence, but not names: calendar words, and the abbreviated titles and
/// suffixes written beside a name ("Gov. Sarah Palin", "Joseph Comeaux Jr."), which say what
/// someone is, not who: an item that writes "the governor" or "Palin" still names her.
const NOT_NAMES: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "mr",
    "mrs",
    "ms",
    "dr",
    "gov",
    "sen",
    "rep",
    "rev",
    "gen",
    "lt",
    "sgt",
    "col",
    "capt",
    "cpl",
    "prof",
    "hon",
    "jr",
    "sr",
];

/// One of the topic's names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Name {
    /// The normalised token.
    pub text: String,
    /// Its weight (for secondary names; the model's term weight).
    pub weight: f32,
    /// The group (of seeds) it belongs to.
    pub group: u16,
    /// A protagonist of its group.
    pub primary: bool,
    /// For a protagonist, the share of its group's seed headlines that name it: how much its
    /// absence counts ([`coverage`]).
    #[serde(default = "one")]
    pub essential: f32,
    /// Learned from confident alerts rather than read from the seeds.
    pub learned: bool,
    /// One of the protagonists chosen because every seed uses them while the headlines agree
    /// on nobody: these count together, by their mean presence ([`coverage`]).
    #[serde(default)]
    pub any_of: bool,
}

fn one() -> f32 {
    1.0
}

/// Counts how a text writes each token in mid-sentence: (capitalised, all). The first word
/// of a sentence says nothing either way and is not counted; nor should headlines be passed
/// here (they are often in Title Case).
pub fn capitalisation(text: &str, caps: &mut HashMap<String, (u32, u32)>) {
    for line in text.lines() {
        // A line in Title Case (a heading, a headline repeated on the page, a menu) says
        // nothing about which words are names.
        let words: Vec<&str> = line.split_whitespace().collect();
        let capitalised = words
            .iter()
            .filter(|w| {
                w.chars()
                    .find(|c| c.is_alphabetic())
                    .is_some_and(char::is_uppercase)
            })
            .count();
        if words.len() >= 3 && capitalised * 10 >= words.len() * 7 {
            continue;
        }
        let mut sentence_start = true;
        for raw in line.split_whitespace() {
            let first = raw.chars().find(|c| c.is_alphanumeric());
            if !sentence_start {
                for t in crate::text::tokens(raw).into_iter().take(1) {
                    let e = caps.entry(t).or_default();
                    e.1 += 1;
                    if first.is_some_and(char::is_uppercase) {
                        e.0 += 1;
                    }
                }
            }
            sentence_start = raw.ends_with(['.', '!', '?', ':']) || raw.ends_with(".\"");
        }
    }
}

/// Whether a token written with these capitalisation counts is a name.
pub fn is_name(bg: &Background, t: &str, caps: &HashMap<String, (u32, u32)>) -> bool {
    t.chars().count() >= 2
        && t.chars().any(char::is_alphabetic)
        && !NOT_NAMES.contains(&t)
        && bg.zipf(t) < MAX_NAME_ZIPF
        && caps
            .get(t)
            .is_some_and(|&(c, all)| all > 0 && c as f32 >= 0.5 * all as f32)
}

/// The names of the seeds, grouped (see the module doc). `seeds` are (headline, body) pairs.
pub fn from_seeds(bg: &Background, seeds: &[(String, String)], terms: &[Term]) -> Vec<Name> {
    let mut caps: HashMap<String, (u32, u32)> = HashMap::new();
    for (_, b) in seeds {
        capitalisation(b, &mut caps);
    }
    let weight: HashMap<&str, f32> = terms.iter().map(|t| (t.text.as_str(), t.weight)).collect();
    // Per seed: the names it uses anywhere, those of its headline and lede (which link seeds
    // into groups), and those of its headline (which make protagonists). A seed without a
    // headline has its first sentence for one.
    let mut all_names: Vec<HashSet<String>> = Vec::new();
    let mut head_names: Vec<HashSet<String>> = Vec::new();
    let mut title_names: Vec<HashSet<String>> = Vec::new();
    for (h, b) in seeds {
        let mut all = HashSet::new();
        let mut head = HashSet::new();
        let mut title = HashSet::new();
        let headline = if h.trim().is_empty() {
            b.split_inclusive(['.', '!', '?']).next().unwrap_or("")
        } else {
            h.as_str()
        };
        for t in crate::text::tokens(headline) {
            if is_name(bg, &t, &caps) {
                title.insert(t.clone());
                head.insert(t.clone());
                all.insert(t);
            }
        }
        for (i, t) in crate::text::tokens(b).into_iter().enumerate() {
            if is_name(bg, &t, &caps) {
                if i < LEDE_TOKENS {
                    head.insert(t.clone());
                }
                all.insert(t);
            }
        }
        all_names.push(all);
        head_names.push(head);
        title_names.push(title);
    }
    // First names: a name nearly always followed by another ("Lindsay" Lohan) is the other's
    // first name; the surname is the protagonist, the first name only supporting evidence.
    let mut follows: HashMap<String, (u32, HashMap<String, u32>)> = HashMap::new();
    for (_, b) in seeds {
        let toks = crate::text::tokens(b);
        for (i, t) in toks.iter().enumerate() {
            if !is_name(bg, t, &caps) {
                continue;
            }
            let e = follows.entry(t.clone()).or_default();
            e.0 += 1;
            if let Some(next) = toks.get(i + 1).filter(|n| is_name(bg, n, &caps)) {
                *e.1.entry(next.clone()).or_default() += 1;
            }
        }
    }
    let first_name = |t: &str| {
        follows
            .get(t)
            .is_some_and(|(n, next)| *n >= 2 && next.values().any(|&c| c as f32 >= 0.8 * *n as f32))
    };
    // "DUI" is what happened, not who: never a name (ECB+ n-35, both halves: recall 5/6 and
    // 6/7 -> all, no other run moved).
    let abbreviations = common_abbreviations(bg, seeds, &caps);
    // Groups: seeds linked by a shared headline/lede name or two shared names.
    let n = seeds.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for i in 0..n {
        for j in i + 1..n {
            let head = head_names[i].intersection(&head_names[j]).next().is_some();
            let shared = all_names[i].intersection(&all_names[j]).count();
            if head || shared >= 2 {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a] = b;
            }
        }
    }
    let mut group_of: HashMap<usize, u16> = HashMap::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        let g = *group_of.entry(r).or_insert_with(|| {
            members.push(Vec::new());
            (members.len() - 1) as u16
        });
        members[g as usize].push(i);
    }
    let mut out = Vec::new();
    for (g, seeds_of) in members.iter().enumerate() {
        let size = seeds_of.len();
        let mut df: HashMap<&str, usize> = HashMap::new();
        let mut head: HashMap<&str, usize> = HashMap::new();
        for &s in seeds_of {
            for t in &all_names[s] {
                *df.entry(t).or_default() += 1;
            }
            for t in &title_names[s] {
                *head.entry(t).or_default() += 1;
            }
        }
        let min_df = if size == 1 { 1 } else { 2 };
        let mut cands: Vec<(&str, usize, usize, f32)> = df
            .iter()
            .filter(|(_, &d)| d >= min_df)
            .filter(|(t, _)| !abbreviations.contains(**t))
            .map(|(&t, &d)| {
                let w = weight.get(t).copied().unwrap_or(0.0);
                (t, head.get(t).copied().unwrap_or(0), d, w)
            })
            .collect();
        // In most headlines first, then in most seeds, then the heaviest.
        cands.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then(b.2.cmp(&a.2))
                .then(b.3.total_cmp(&a.3))
                .then(a.0.cmp(b.0))
        });
        let need_df = (size * 3).div_ceil(4).max(1);
        let need_head = size.div_ceil(2).max(1);
        let mut primaries = 0;
        let mut secondaries = 0;
        // Headlines that agree on nobody, while the name in most headlines is in every seed.
        let fallback = !cands.iter().any(|c| c.2 >= need_df && c.1 >= need_head)
            && cands.first().is_some_and(|c| c.2 >= size);
        // Headlines that name nobody: every name all the seeds use (up to [`MAX_PRIMARY`]) is a
        // protagonist, and they count together (`any_of`): which of them the event is about,
        // the headlines do not say. Picking one (the rarest) made a hometown ("Spiro")
        // essential and an article naming the accused and the victim but not the town scored
        // as someone else's news (ECB+ n-45: recall 6/8 -> 8/8, no other run moved).
        for (t, h, d, w) in cands {
            let primary = primaries < MAX_PRIMARY
                && !first_name(t)
                && ((d >= need_df && h >= need_head) || (fallback && d >= size));
            if primary {
                primaries += 1;
            } else if secondaries < MAX_SECONDARY {
                secondaries += 1;
            } else {
                continue;
            }
            out.push(Name {
                text: t.to_string(),
                weight: w.max(0.1),
                group: g as u16,
                primary,
                essential: if fallback {
                    1.0
                } else {
                    h as f32 / size as f32
                },
                learned: false,
                any_of: fallback && primary,
            });
        }
    }
    out
}

/// Words an acronym skips ("driving under *the* influence").
const ACRONYM_SKIPS: &[&str] = &[
    "the", "of", "and", "a", "an", "for", "in", "on", "to", "at", "by",
];

/// The capitalised words of the seeds that abbreviate a phrase of common words the seeds
/// also write out, in at least two of them: "DUI" beside "driving under the influence".
/// Such a word says what happened, not who or where; as a protagonist it made a report that
/// writes "drunken driving" read as someone else's news. Names that abbreviate names
/// ("NFL", "National Football League") stay names.
fn common_abbreviations(
    bg: &Background,
    seeds: &[(String, String)],
    caps: &HashMap<String, (u32, u32)>,
) -> HashSet<String> {
    let cands: HashSet<String> = caps
        .keys()
        .filter(|t| (3..=6).contains(&t.len()) && t.chars().all(|c| c.is_ascii_lowercase()))
        .filter(|t| is_name(bg, t, caps))
        .cloned()
        .collect();
    // For each candidate and phrase of its initials: the seeds that write the phrase out, and
    // the words around it each time. Seeds often share a wire report's sentences, and a
    // phrase that spells a name by chance ("alert five people", AFP) then recurs, always
    // between the same words; a written-out term recurs in sentences of its own.
    type Seen = (HashSet<usize>, HashSet<(String, String)>);
    let mut seen: HashMap<String, HashMap<String, Seen>> = HashMap::new();
    for (k, (_, b)) in seeds.iter().enumerate() {
        let words: Vec<String> = crate::text::tokens(b)
            .into_iter()
            .filter(|t| !ACRONYM_SKIPS.contains(&t.as_str()))
            .collect();
        for t in &cands {
            let n = t.len();
            for (i, w) in words.windows(n).enumerate() {
                let spelled = w
                    .iter()
                    .zip(t.chars())
                    .all(|(word, c)| word.starts_with(c) && word.len() > 1);
                if spelled && !w.iter().any(|word| word == t || is_name(bg, word, caps)) {
                    let around = (
                        i.checked_sub(1)
                            .map(|j| words[j].clone())
                            .unwrap_or_default(),
                        words.get(i + n).cloned().unwrap_or_default(),
                    );
                    let e = seen
                        .entry(t.clone())
                        .or_default()
                        .entry(w.join(" "))
                        .or_default();
                    e.0.insert(k);
                    e.1.insert(around);
                }
            }
        }
    }
    seen.into_iter()
        .filter(|(_, phrases)| {
            phrases
                .values()
                .any(|(seeds, around)| seeds.len() >= 2 && around.len() >= 2)
        })
        .map(|(t, _)| t)
        .collect()
}

/// Every name any of the seeds uses (once is enough), sorted.
pub fn all_names(bg: &Background, seeds: &[(String, String)]) -> Vec<String> {
    let mut caps: HashMap<String, (u32, u32)> = HashMap::new();
    for (_, b) in seeds {
        capitalisation(b, &mut caps);
    }
    let mut out: Vec<String> = caps
        .keys()
        .filter(|t| is_name(bg, t, &caps))
        .cloned()
        .collect();
    out.sort();
    out
}

/// How present each name is in an item: 1 in its headline or lede (what the item is about),
/// [`IN_BODY`] in two windows of the rest, [`ONE_MENTION`] in one (a recap, a comparison),
/// 0 when absent.
pub fn presence(p: &NameParams, windows: u32, in_head: bool) -> f32 {
    if in_head {
        1.0
    } else if windows >= 2 {
        p.in_body
    } else if windows == 1 {
        p.one_mention
    } else {
        0.0
    }
}

/// An item's name coverage (see the module doc) and the group it matches best (`None` when
/// the topic has no names). `present[i]` is [`presence`] of `names[i]`.
/// A region among the protagonists that the item does not name is not missing when a
/// protagonist that is not a region is present ([`super::regions`]).
pub fn coverage(p: &NameParams, names: &[Name], present: &[f32]) -> (f32, Option<u16>) {
    coverage_placed(p, names, present, false)
}

/// [`coverage`] of an item that names, up front, a region the topic does not (`elsewhere`):
/// then a region among the protagonists counts as missing when the item does not name it,
/// whoever else it names (the same kind of news in another place; see [`super::regions`]).
pub fn coverage_placed(
    p: &NameParams,
    names: &[Name],
    present: &[f32],
    elsewhere: bool,
) -> (f32, Option<u16>) {
    if names.is_empty() {
        return (1.0, None);
    }
    let groups = names.iter().map(|n| n.group).max().unwrap_or(0) as usize + 1;
    let mut best: (f32, Option<u16>) = (0.0, None);
    for g in 0..groups {
        let (mut pf, mut any_primary) = (1.0f32, false);
        let (mut got, mut total) = (0.0f32, 0.0f32);
        // The `any_of` protagonists: (summed presence, how many).
        let mut alt: Option<(f32, f32)> = None;
        // The presence of the group's best protagonist that is not a region: a region it
        // does not name is not missing when it names that one (see [`super::regions`]).
        let anchor = names
            .iter()
            .zip(present)
            .filter(|(n, _)| n.group as usize == g && n.primary && !regions::is_region(&n.text))
            .map(|(_, &m)| m)
            .fold(0.0f32, f32::max);
        for (n, &m) in names.iter().zip(present) {
            if n.group as usize != g {
                continue;
            }
            let m = if n.primary && !elsewhere && regions::is_region(&n.text) {
                m.max(anchor)
            } else {
                m
            };
            if n.primary && n.any_of {
                any_primary = true;
                let (sum, k) = alt.unwrap_or((0.0, 0.0));
                alt = Some((sum + m, k + 1.0));
            } else if n.primary {
                any_primary = true;
                pf *=
                    1.0 - (1.0 - p.missing_primary) * n.essential.powf(p.essential_exp) * (1.0 - m);
            } else {
                got += n.weight * m;
                total += n.weight;
            }
        }
        // Their mean presence, as one protagonist: an item naming one of three is lowered less
        // than one naming none, and more than one naming all.
        if let Some((sum, k)) = alt {
            pf *= 1.0 - (1.0 - p.missing_primary) * (1.0 - sum / k);
        }
        let c = match (any_primary, total > 0.0) {
            (true, true) => pf * (p.secondary_base + (1.0 - p.secondary_base) * got / total),
            (true, false) => pf,
            // A group without protagonists: its secondary names only.
            (false, true) => p.missing_primary + (1.0 - p.missing_primary) * got / total,
            (false, false) => p.missing_primary,
        };
        if best.1.is_none() || c > best.0 {
            best = (c, Some(g as u16));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(h, b)| (h.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn one_event_is_one_group_with_its_protagonists_primary() {
        let bg = Background::english();
        let s = seeds(&[
            ("Lindsay Lohan checks into rehab", "The actress Lindsay Lohan checked into Morningside Recovery on Thursday, her lawyer Mark Heller said."),
            ("Lawyer: Lohan in rehab", "Lindsay Lohan is at Morningside Recovery, said Heller, her lawyer."),
            ("Lohan leaves rehab", "Hours later Lindsay Lohan left, and Heller told the judge she would return."),
            ("Lohan rehires Holley", "Lindsay Lohan rehired Shawn Holley after Heller's hearing."),
        ]);
        let names = from_seeds(bg, &s, &[]);
        let primary: Vec<&str> = names
            .iter()
            .filter(|n| n.primary)
            .map(|n| n.text.as_str())
            .collect();
        assert!(primary.contains(&"lohan"), "{names:?}");
        assert!(names.iter().all(|n| n.group == 0), "{names:?}");
        assert!(!names.iter().any(|n| n.text == "thursday"));
        assert!(
            names.iter().any(|n| n.text == "heller" && !n.primary),
            "{names:?}"
        );
        // The protagonist in the headline: full coverage without the secondary names.
        let present: Vec<f32> = names
            .iter()
            .map(|n| if n.primary { 1.0 } else { 0.0 })
            .collect();
        let (c, g) = coverage(&NameParams::default(), &names, &present);
        assert_eq!(g, Some(0));
        assert!(c >= SECONDARY_BASE - 1e-6, "{c}");
        // Someone else's rehab: no protagonist, low but not zero.
        let (c, _) = coverage(&NameParams::default(), &names, &vec![0.0; names.len()]);
        assert!(c > 0.0 && c <= MISSING_PRIMARY, "{c}");
    }

    #[test]
    fn headlines_naming_nobody_make_every_shared_name_count_together() {
        let bg = Background::english();
        // Every seed names the accused (Simpson) and his town (Spiro); the headlines agree on
        // no one.
        let s = seeds(&[
            ("Man pleads not guilty in deaths", "An Oklahoma man, Kenyon Simpson of Spiro, pleaded not guilty to murder on Monday."),
            ("Jury: Simpson guilty of killing", "A jury found Kenyon Simpson guilty of murder; the victim lived near Spiro, prosecutors said."),
            ("Spiro man convicted", "Jurors convicted Kenyon Simpson after seven hours, the prosecutor in Spiro said."),
            ("Guilty verdict in murder of pregnant woman", "Prosecutors said Kenyon Simpson shot her near Spiro in April."),
        ]);
        let names = from_seeds(bg, &s, &[]);
        let primary: Vec<&Name> = names.iter().filter(|n| n.primary).collect();
        for t in ["simpson", "spiro"] {
            assert!(
                primary.iter().any(|n| n.text == t && n.any_of),
                "{t}: {names:?}"
            );
        }
        let p = NameParams::default();
        let with = |on: &[&str]| {
            let present: Vec<f32> = names
                .iter()
                .map(|n| {
                    if on.contains(&n.text.as_str()) {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            coverage(&p, &names, &present).0
        };
        let (both, accused, none) = (with(&["simpson", "spiro"]), with(&["simpson"]), with(&[]));
        // Naming the accused but not his town is not someone else's news...
        assert!(accused > 2.0 * none, "{accused} vs {none}");
        // ...but less than naming both, and naming none stays at the floor.
        assert!(both > accused, "{both} vs {accused}");
        assert!(none <= MISSING_PRIMARY + 1e-6, "{none}");
    }

    #[test]
    fn an_abbreviation_of_common_words_is_not_a_name() {
        let bg = Background::english();
        let s = seeds(&[
            ("Chargers' Williams arrested on DUI suspicion", "Chargers tackle Jamal Williams was arrested on suspicion of driving under the influence, the Highway Patrol said. The DUI arrest is the team's second."),
            ("Williams faces DUI charges", "The Chargers said Williams, stopped for speeding, faces DUI charges. Another player was arrested on a DUI charge in January."),
            ("Another DUI arrest for the Chargers", "The team has a program to keep players from driving under the influence. Williams is the second Charger arrested for DUI this month."),
            // Two seeds share a wire sentence whose words spell a name by chance.
            ("Quake off Sumatra", "Officials issued an alert five people were hurt, said AFP. Later AFP added nothing."),
            ("Sumatra quake", "Officials issued an alert five people were hurt, the agency AFP reported, quoting a spokesman."),
        ]);
        let names = from_seeds(bg, &s, &[]);
        let texts: Vec<&str> = names.iter().map(|n| n.text.as_str()).collect();
        assert!(!texts.contains(&"dui"), "{names:?}");
        assert!(texts.contains(&"williams"), "{names:?}");
        assert!(texts.contains(&"afp"), "{names:?}");
    }

    #[test]
    fn titles_written_beside_a_name_are_not_names() {
        let bg = Background::english();
        let s = seeds(&[
            ("Fire at Palin's church in Wasilla", "An arsonist set fire to the church of Gov. Sarah Palin in Wasilla on Friday, said Gov. Palin's office."),
            ("Palin's church burned", "Investigators said Gov. Sarah Palin was not at the church; Joseph Kroon Jr. said the fire began at the entrance."),
            ("Palin apologises after church fire", "Gov. Palin said sorry to the members of Wasilla Bible Church, whose pastor Larry Kroon Jr. thanked firefighters."),
        ]);
        let names = from_seeds(bg, &s, &[]);
        assert!(
            names.iter().any(|n| n.text == "palin" && n.primary),
            "{names:?}"
        );
        assert!(
            !names.iter().any(|n| n.text == "gov" || n.text == "jr"),
            "{names:?}"
        );
    }

    #[test]
    fn different_events_are_different_groups() {
        let bg = Background::english();
        let s = seeds(&[
            (
                "Klitschko retains belts",
                "Wladimir Klitschko stopped Tony Thompson in Berne.",
            ),
            (
                "Klitschko stops Thompson",
                "Wladimir Klitschko beat Thompson again.",
            ),
            (
                "Colts clinch playoff berth",
                "The Colts beat the Chiefs in Kansas City.",
            ),
            (
                "Colts beat Chiefs",
                "Indianapolis and the Colts won against the Chiefs.",
            ),
        ]);
        let names = from_seeds(bg, &s, &[]);
        let group = |t: &str| names.iter().find(|n| n.text == t).map(|n| n.group);
        assert_ne!(group("klitschko"), group("colts"), "{names:?}");
        assert_eq!(group("klitschko"), group("thompson"));
        // An item on the Colts matches the Colts' group fully.
        let present: Vec<f32> = names
            .iter()
            .map(|n| {
                if n.text == "colts" || n.text == "chiefs" {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        let (c, g) = coverage(&NameParams::default(), &names, &present);
        assert_eq!(g, group("colts"));
        assert!(c > 0.6, "{c}");
    }
}
