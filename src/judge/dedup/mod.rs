//! Duplicate detection: is this item a copy of a seed article or of an earlier item?
//!
//! Three layers, cheapest first:
//! 1. [`url`]: the canonical URL (tracking parameters, AMP variants, declared canonical) —
//!    the item's identity; the lead's store keys items by it.
//! 2. [`fingerprint::Fingerprint`]: exact match on the normalised text.
//! 3. Near-duplicates: LSH band keys find candidates, mod-m shingle samples verify them
//!    ([`fingerprint`] explains both). A candidate is a duplicate when the texts are similar
//!    (Jaccard) **or** when one is largely contained in the other (a dropped last paragraph,
//!    an appended update, leftover boilerplate, a summary-only page that is a copy). One
//!    shingle in eight can err near a bar: [`judge_confirmed`] puts each copy found on the
//!    samples to the caller, who checks it on the full texts ([`confirm`]) where both are at
//!    hand (the judge keeps the seeds' texts and every item's text for `[store] keep_text`).
//!
//! Storage is abstracted by [`DupStore`], a key-value view (exact fingerprint -> id,
//! band key -> ids, id -> [`Stored`]). The pipeline keeps the lookup half ([`Postings`]) in
//! memory and reads [`Stored`] records from sled for the few candidates; [`MemIndex`] keeps
//! both halves in memory, the reference implementation used by tests and the benchmark.
//! [`judge`] decides, [`DupStore::put`] records.

pub mod fingerprint;

pub mod url;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

pub use fingerprint::{compare, BandKey, Fingerprint, Overlap, Signature, Sketch};

/// Identifier of a stored text (a seed or an item); assigned by the caller.
pub type DocId = u64;

/// Where a stored text came from: suppressed copies of seeds and repeats of earlier items
/// are reported differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Origin {
    /// One of the seed articles that define the topic.
    Seed,
    /// An item seen earlier by the pipeline.
    Item,
}

/// The per-id record a store keeps: origin and verification sketch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// Seed or item.
    pub origin: Origin,
    /// Verification sample.
    pub sketch: Sketch,
}

impl Stored {
    /// Compact binary encoding: origin byte followed by [`Sketch::to_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![match self.origin {
            Origin::Seed => 0u8,
            Origin::Item => 1u8,
        }];
        v.extend_from_slice(&self.sketch.to_bytes());
        v
    }

    /// Decodes [`Stored::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Stored, fingerprint::SketchDecodeError> {
        let (first, rest) = b
            .split_first()
            .ok_or(fingerprint::SketchDecodeError::Length(0))?;
        let origin = if *first == 0 {
            Origin::Seed
        } else {
            Origin::Item
        };
        Ok(Stored {
            origin,
            sketch: Sketch::from_bytes(rest)?,
        })
    }
}

/// Thresholds of the near-duplicate decision. The defaults and their reasons:
///
/// * `min_jaccard = 0.5`: distinct articles about the same event share stock phrases but
///   rarely more than a few per cent of their 4-word shingles (the 32 distinct dev articles:
///   at most 0.03, containment at most 0.07); copies with a changed headline, an update
///   paragraph, a reworded lede or re-paragraphing stay at 0.8-1.0 against a clean original.
///   Against an original that carries outlet furniture (the raw NextFin seeds with their AI
///   summary and "Insights" questions) a clean copy falls to 0.52-0.77: the containment
///   rule catches those.
/// * `min_containment = 0.7`: share of the *smaller* text found in the larger one. A copy
///   with a dropped paragraph or extra boilerplate has most of one side inside the other
///   (0.87-1.0 on the dev copies) even when the Jaccard is low; quoting a few sentences of
///   another article gives well under 0.3. Note that LSH finds a candidate with
///   probability 0.94 at Jaccard 0.4 but only 0.78 at 0.3, so containment cases with a
///   length ratio beyond ~2.5 are not reliably found.
/// * `max_length_ratio = 4.0`: the containment rule applies only when the longer text is at
///   most 4x the shorter one (in shingles), so that a long roundup that quotes one short
///   brief in full is not suppressed as a copy of it, while a copy with boilerplate up to
///   3x its size still is.
/// * `min_own_share = 0.5`: when the new text is the longer one, the containment rule also
///   needs at least half of it to be the stored text. An update that adds a paragraph or
///   two, or a copy with leftover furniture, is still mostly the original (the dev set's
///   leaky NextFin repost: above 0.85); a full report that reprints a short first report and
///   then goes on for as long again is a new article. On the real news of ECB+ such reports
///   (half to two thirds new, the earlier text 0.7-0.9 inside them) were suppressed as
///   copies; with the rule, 5 of them alert as what they are, and every republication is
///   still caught.
/// * `min_evidence = 6`: containment needs at least 6 compared sample shingles on the smaller
///   side; with fewer, only the Jaccard rule applies (a handful of sampled shingles is too
///   noisy to call a copy).
/// * `max_candidates = 256`: band postings read per query; a band key shared by more items
///   than that is boilerplate, not a copy signal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DupParams {
    /// Jaccard at or above which two texts are near-duplicates.
    pub min_jaccard: f32,
    /// Containment (of the smaller text in the larger) at or above which they are.
    pub min_containment: f32,
    /// Largest size ratio for which the containment rule applies.
    pub max_length_ratio: f32,
    /// Smallest number of compared sample shingles for the containment rule.
    pub min_evidence: u32,
    /// Share of a longer new text that must be the stored text it holds for the
    /// containment rule to make it a copy.
    #[serde(default = "default_min_own_share")]
    pub min_own_share: f32,
    /// Postings read per band key.
    pub max_candidates: usize,
}

impl Default for DupParams {
    fn default() -> Self {
        DupParams {
            min_jaccard: 0.5,
            min_containment: 0.7,
            max_length_ratio: 4.0,
            min_evidence: 6,
            min_own_share: default_min_own_share(),
            max_candidates: 256,
        }
    }
}

fn default_min_own_share() -> f32 {
    0.5
}

/// The dedup decision for one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DupVerdict {
    /// No stored text is a copy.
    Unique,
    /// A copy of a stored text.
    Duplicate {
        /// The stored text it copies (a seed is preferred when several match).
        of: DocId,
        /// Seed duplicate or repeat.
        origin: Origin,
        /// Estimated Jaccard similarity of the shingle sets.
        similarity: f32,
        /// Estimated share of this text found in the stored one.
        contained: f32,
        /// Estimated share of the stored text found in this one.
        contains: f32,
        /// True when the normalised texts are identical.
        exact: bool,
    },
    /// Too little text to judge by content (fewer than [`fingerprint::MIN_TOKENS`] words);
    /// only URL identity applies.
    TooShort {
        /// Words in the text.
        tokens: usize,
    },
}

impl DupVerdict {
    /// True for [`DupVerdict::Duplicate`].
    pub fn is_duplicate(&self) -> bool {
        matches!(self, DupVerdict::Duplicate { .. })
    }

    /// One line for `wirewatch explain`.
    pub fn reason(&self) -> String {
        match self {
            DupVerdict::Unique => "no stored text is a near-duplicate".to_string(),
            DupVerdict::TooShort { tokens } => format!(
                "text too short for content dedup ({tokens} words < {}); URL identity only",
                fingerprint::MIN_TOKENS
            ),
            DupVerdict::Duplicate {
                of,
                origin,
                similarity,
                contained,
                contains,
                exact,
            } => {
                let what = match origin {
                    Origin::Seed => "seed duplicate",
                    Origin::Item => "repeat",
                };
                if *exact {
                    format!("{what}: identical normalised text to #{of}")
                } else {
                    format!(
                        "{what} of #{of}: jaccard {similarity:.2}, {:.0}% of this text in it, {:.0}% of it in this text",
                        contained * 100.0,
                        contains * 100.0
                    )
                }
            }
        }
    }
}

/// What made a text a copy of `of` ("the seed", "the earlier item"), in words for `explain`:
/// which rule of [`DupParams`] holds, with its figure. `contained` is the share of this text
/// found in the stored one, `contains` the share of the stored text found in this one.
pub fn likeness(similarity: f32, contained: f32, contains: f32, exact: bool, of: &str) -> String {
    if exact {
        "identical text".to_string()
    } else if similarity >= DupParams::default().min_jaccard {
        "near-identical text".to_string()
    } else if contained >= contains {
        format!(
            "{:.0}% of this text is in {of}: a shortened or re-edited copy",
            contained * 100.0
        )
    } else {
        format!(
            "it holds {:.0}% of {of}, with additions: an update, or the same text with page \
             furniture",
            contains * 100.0
        )
    }
}

/// Storage needed by [`judge`]: three key-value maps. With sled: tree `dup_exact`
/// (16-byte fingerprint -> id), tree `dup_band` (8-byte big-endian band key ++ 8-byte id ->
/// empty, read with a prefix scan, so inserts never rewrite a list), tree `dup_doc`
/// (id -> [`Stored::to_bytes`]).
pub trait DupStore {
    /// Storage error.
    type Error;
    /// The id stored under an exact fingerprint, if any.
    fn find_exact(&self, fp: &Fingerprint) -> Result<Option<DocId>, Self::Error>;
    /// Appends to `out` up to `limit` ids stored under a band key.
    fn band_members(
        &self,
        key: BandKey,
        limit: usize,
        out: &mut Vec<DocId>,
    ) -> Result<(), Self::Error>;
    /// The stored record of an id.
    fn stored(&self, id: DocId) -> Result<Option<Stored>, Self::Error>;
    /// Records a text: its exact fingerprint, band keys and record.
    fn put(&mut self, id: DocId, sig: &Signature, origin: Origin) -> Result<(), Self::Error>;
}

/// Decides whether `sig` duplicates a stored text. Does not modify the store.
pub fn judge<S: DupStore + ?Sized>(
    store: &S,
    sig: &Signature,
    params: &DupParams,
) -> Result<DupVerdict, S::Error> {
    judge_confirmed(store, sig, params, |_| None)
}

/// [`judge`], with each candidate that is a copy on the samples put to `confirm`, best first
/// (seeds before items, then the strongest): `None` when its text is not at hand (the
/// samples decide), `Some(None)` when the full texts are not near-duplicates (the next
/// candidate is tried), `Some(Some(overlap))` when they are (the verdict carries the exact
/// figures).
pub fn judge_confirmed<S, F>(
    store: &S,
    sig: &Signature,
    params: &DupParams,
    mut confirm: F,
) -> Result<DupVerdict, S::Error>
where
    S: DupStore + ?Sized,
    F: FnMut(DocId) -> Option<Option<Overlap>>,
{
    if !sig.checkable() {
        return Ok(DupVerdict::TooShort { tokens: sig.tokens });
    }
    if let Some(id) = store.find_exact(&sig.exact)? {
        if let Some(st) = store.stored(id)? {
            return Ok(DupVerdict::Duplicate {
                of: id,
                origin: st.origin,
                similarity: 1.0,
                contained: 1.0,
                contains: 1.0,
                exact: true,
            });
        }
    }
    let mut cands: Vec<DocId> = Vec::new();
    for &k in &sig.bands {
        store.band_members(k, params.max_candidates, &mut cands)?;
    }
    cands.sort_unstable();
    cands.dedup();
    let mut copies: Vec<(bool, f32, DocId, Origin, Overlap)> = Vec::new();
    for id in cands {
        let Some(st) = store.stored(id)? else {
            continue;
        };
        let o = compare(&sig.sketch, &st.sketch);
        if !is_near_duplicate(&o, &sig.sketch, &st.sketch, params) {
            continue;
        }
        let strength = o.jaccard.max(o.a_in_b).max(o.b_in_a);
        copies.push((st.origin == Origin::Seed, strength, id, st.origin, o));
    }
    // Seeds first, then the strongest, then the lowest id (a stable order).
    copies.sort_by(|a, b| {
        (b.0, b.1)
            .partial_cmp(&(a.0, a.1))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.2.cmp(&b.2))
    });
    for (_, _, of, origin, sampled) in copies {
        let o = match confirm(of) {
            None => sampled,
            Some(Some(exact)) => exact,
            Some(None) => continue,
        };
        return Ok(DupVerdict::Duplicate {
            of,
            origin,
            similarity: o.jaccard,
            contained: o.a_in_b,
            contains: o.b_in_a,
            exact: false,
        });
    }
    Ok(DupVerdict::Unique)
}

/// Checks a copy verdict reached on samples against every shingle of both texts: `Some`
/// with the exact overlap when the new text (`full`: its [`Signature::full_sketch`]) and
/// `other` (the stored one) are near-duplicates, `None` when they are not.
pub fn confirm(full: &Sketch, other: &str, p: &DupParams) -> Option<Overlap> {
    let b = Signature::full_sketch(other);
    let o = compare(full, &b);
    is_near_duplicate(&o, full, &b, p).then_some(o)
}

/// The near-duplicate rule of [`DupParams`] applied to one comparison.
pub fn is_near_duplicate(o: &Overlap, a: &Sketch, b: &Sketch, p: &DupParams) -> bool {
    if o.jaccard >= p.min_jaccard {
        return true;
    }
    if o.evidence < p.min_evidence {
        return false;
    }
    let (small, large) = if a.shingles <= b.shingles {
        (a.shingles, b.shingles)
    } else {
        (b.shingles, a.shingles)
    };
    if small == 0 || large as f32 > p.max_length_ratio * small as f32 {
        return false;
    }
    // Containment of the smaller text in the larger.
    let c = if a.shingles <= b.shingles {
        o.a_in_b
    } else {
        o.b_in_a
    };
    // A longer new text that holds the stored one must itself be mostly that text.
    c >= p.min_containment && (a.shingles <= b.shingles || o.a_in_b >= p.min_own_share)
}

/// Pass-through hasher for keys that are already uniformly distributed hashes (band keys,
/// fingerprints, ids mixed on the way in); avoids SipHash on the hot path of [`MemIndex`].
#[derive(Default, Clone, Copy)]
pub struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
        self.0 = crate::text::mix64(self.0);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 ^= v;
    }
    fn write_u32(&mut self, v: u32) {
        // A folded hash: spread it over all 64 bits (the table uses the top bits too).
        self.0 ^= u64::from(v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<PreHashed>>;

/// The lookup half of an index, in memory: exact fingerprints and LSH band postings, no
/// sketches. Band postings are kept as one inline slot plus an overflow list, because almost
/// every band key belongs to a single text, and under a 32-bit fold of the band key: half the
/// memory of full keys, and a fold collision only adds a candidate that verification against
/// its sketch then rejects (at a million texts, about one lookup in a hundred gets one).
/// About 260 bytes per text (measured: `benches/dedup.rs`).
#[derive(Default)]
pub struct Postings {
    exact: FastMap<Fingerprint, u32>,
    band_first: FastMap<u32, u32>,
    band_more: FastMap<u32, Vec<u32>>,
    ids: Vec<DocId>,
}

/// A band key folded to the 32 bits the postings keep.
fn fold(key: BandKey) -> u32 {
    (key ^ (key >> 32)) as u32
}

impl Postings {
    /// Empty postings with room for `n` texts.
    pub fn with_capacity(n: usize) -> Postings {
        let mut p = Postings::default();
        p.exact.reserve(n);
        p.band_first.reserve(n * fingerprint::BANDS);
        p.ids.reserve(n);
        p
    }

    /// Number of texts.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The id first stored under an exact fingerprint.
    pub fn find_exact(&self, fp: &Fingerprint) -> Option<DocId> {
        self.exact.get(fp).map(|&s| self.ids[s as usize])
    }

    /// Appends to `out` up to `limit` ids stored under a band key (or a key with the same
    /// 32-bit fold).
    pub fn band_members(&self, key: BandKey, limit: usize, out: &mut Vec<DocId>) {
        let key = fold(key);
        if let Some(&s) = self.band_first.get(&key) {
            out.push(self.ids[s as usize]);
            if let Some(more) = self.band_more.get(&key) {
                out.extend(
                    more.iter()
                        .take(limit.saturating_sub(1))
                        .map(|&s| self.ids[s as usize]),
                );
            }
        }
    }

    /// Adds a text's fingerprint and band keys (when it is long enough to be checked).
    pub fn insert(&mut self, id: DocId, sig: &Signature) {
        let slot = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        self.ids.push(id);
        if sig.checkable() {
            self.exact.entry(sig.exact).or_insert(slot);
            for &b in &sig.bands {
                match self.band_first.entry(fold(b)) {
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(slot);
                    }
                    std::collections::hash_map::Entry::Occupied(_) => {
                        self.band_more.entry(fold(b)).or_default().push(slot);
                    }
                }
            }
        }
    }
}

/// In-memory [`DupStore`]: [`Postings`] plus every text's sketch. The reference
/// implementation for tests and benchmarks; the daemon keeps the sketches on disk instead
/// (`pipeline::dupindex`).
#[derive(Default)]
pub struct MemIndex {
    postings: Postings,
    docs: Vec<Stored>,
    slot_of: FastMap<u64, u32>,
}

impl MemIndex {
    /// An empty index.
    pub fn new() -> MemIndex {
        MemIndex::default()
    }

    /// An empty index with room for `n` texts.
    pub fn with_capacity(n: usize) -> MemIndex {
        let mut m = MemIndex {
            postings: Postings::with_capacity(n),
            ..MemIndex::default()
        };
        m.docs.reserve(n);
        m.slot_of.reserve(n);
        m
    }

    /// Number of stored texts.
    pub fn len(&self) -> usize {
        self.postings.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.postings.is_empty()
    }

    /// [`judge`] against this index.
    pub fn query(&self, sig: &Signature, params: &DupParams) -> DupVerdict {
        match judge(self, sig, params) {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// [`DupStore::put`] without a `Result`.
    pub fn insert(&mut self, id: DocId, sig: &Signature, origin: Origin) {
        match self.put(id, sig, origin) {
            Ok(()) => {}
            Err(never) => match never {},
        }
    }
}

impl DupStore for MemIndex {
    type Error = std::convert::Infallible;

    fn find_exact(&self, fp: &Fingerprint) -> Result<Option<DocId>, Self::Error> {
        Ok(self.postings.find_exact(fp))
    }

    fn band_members(
        &self,
        key: BandKey,
        limit: usize,
        out: &mut Vec<DocId>,
    ) -> Result<(), Self::Error> {
        self.postings.band_members(key, limit, out);
        Ok(())
    }

    fn stored(&self, id: DocId) -> Result<Option<Stored>, Self::Error> {
        Ok(self
            .slot_of
            .get(&crate::text::mix64(id))
            .map(|&s| self.docs[s as usize].clone()))
    }

    fn put(&mut self, id: DocId, sig: &Signature, origin: Origin) -> Result<(), Self::Error> {
        let key = crate::text::mix64(id);
        if self.slot_of.contains_key(&key) {
            return Ok(());
        }
        let slot = u32::try_from(self.docs.len()).unwrap_or(u32::MAX);
        self.docs.push(Stored {
            origin,
            sketch: sig.sketch.clone(),
        });
        self.slot_of.insert(key, slot);
        self.postings.insert(id, sig);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn likeness_names_the_rule_that_holds() {
        assert_eq!(likeness(1.0, 1.0, 1.0, true, "the seed"), "identical text");
        assert_eq!(
            likeness(0.8, 0.9, 0.9, false, "the seed"),
            "near-identical text"
        );
        let shorter = likeness(0.3, 0.9, 0.3, false, "the seed");
        assert!(
            shorter.starts_with("90% of this text is in the seed"),
            "{shorter}"
        );
        let longer = likeness(0.42, 0.51, 0.72, false, "the earlier item");
        assert!(
            longer.starts_with("it holds 72% of the earlier item, with additions"),
            "{longer}"
        );
    }
}
