//! Content fingerprints: an exact fingerprint of the normalised text and a near-duplicate
//! signature.
//!
//! * **Exact**: SHA-256 of the normalised token stream (see [`crate::text`]), first
//!   16 bytes. Equal for copies that differ only in case, quotes, dashes, whitespace,
//!   punctuation or paragraph breaks.
//! * **Near-duplicate**: the text becomes a set of overlapping word 4-grams ("shingles"),
//!   each hashed to 64 bits. Two structures are derived from that set:
//!   - *LSH band keys* for candidate lookup: one-permutation MinHash (each shingle falls in
//!     one of [`BANDS`]`*`[`ROWS`] bins by its hash; the bin keeps its minimum; empty bins
//!     borrow from the next non-empty bin) cut into [`BANDS`] bands of [`ROWS`] rows, each
//!     band hashed to a `u64` key. Two texts with Jaccard similarity `J` share at least one
//!     band key with probability about `1 - (1 - J^ROWS)^BANDS`: 0.99 at J = 0.5,
//!     0.94 at J = 0.4, 0.78 at J = 0.3, 0.04 at J = 0.05.
//!   - A *sample* for verification ([`Sketch`]): every shingle whose hash is 0 mod
//!     [`SAMPLE_MOD`] (Broder's mod-m sampling), or all shingles of a short text. Unlike a
//!     MinHash sketch, a mod-m sample estimates *containment* (how much of one text is inside
//!     the other) without bias even when the texts differ a lot in length, which is what a
//!     copy with a dropped paragraph, an appended update or leftover boilerplate looks like.
//!
//! The stored part ([`Sketch`]) is a few hundred bytes per article; see [`Sketch::to_bytes`].

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::text::{for_each_token, hash64, mix64};

/// Words per shingle. 4 keeps shared stock phrases of same-story articles ("weighing legal
/// action against OpenAI") from making distinct articles look alike, while a reworded sentence
/// still leaves most shingles of its neighbours intact.
pub const SHINGLE: usize = 4;
/// Number of LSH bands (= band keys stored per item).
pub const BANDS: usize = 16;
/// Rows (MinHash values) per band.
pub const ROWS: usize = 2;
/// Sampling modulus of the verification sample: one shingle in 8 is kept.
pub const SAMPLE_MOD: u32 = 8;
/// Texts with at most this many shingles keep all of them in the sample.
pub const FULL_BELOW: usize = 96;
/// Fewer tokens than this: no near-duplicate check (too little text to tell copies apart).
pub const MIN_TOKENS: usize = 12;
/// Tokens beyond this are ignored (a 100k-word "article" is not an article; this bounds work).
pub const MAX_TOKENS: usize = 100_000;

/// Exact fingerprint: first 16 bytes of SHA-256 over the normalised token stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Fingerprint(pub [u8; 16]);

impl Fingerprint {
    /// Lowercase hex, for logs and `explain`.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// One LSH band key. The store maps band key -> ids of the items that have it.
pub type BandKey = u64;

/// The stored, comparable part of a text's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sketch {
    /// Number of distinct shingles of the text.
    pub shingles: u32,
    /// True when `sample` holds every shingle (short text), not only the mod-m sample.
    pub full: bool,
    /// Sorted, distinct 32-bit shingle hashes (the high half of the 64-bit hash).
    pub sample: Vec<u32>,
}

/// Everything computed from one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Exact fingerprint of the normalised text.
    pub exact: Fingerprint,
    /// Number of tokens (words) read.
    pub tokens: usize,
    /// True when the text was longer than [`MAX_TOKENS`] and was cut.
    pub truncated: bool,
    /// LSH band keys ([`BANDS`] of them; empty when the text is too short).
    pub bands: Vec<BandKey>,
    /// The verification sample.
    pub sketch: Sketch,
}

impl Signature {
    /// Every shingle of `text`, as a full sketch ([`Sketch::full`]): what a verdict reached
    /// on samples is checked against, when both texts are at hand.
    pub fn full_sketch(text: &str) -> Sketch {
        let mut token_hashes: Vec<u64> = Vec::with_capacity(text.len() / 5);
        for_each_token(text, MAX_TOKENS, |t| {
            token_hashes.push(hash64(t.as_bytes()))
        });
        let sh = distinct_shingles(&token_hashes);
        Sketch {
            shingles: u32::try_from(sh.len()).unwrap_or(u32::MAX),
            full: true,
            sample: sample_of(&sh, true),
        }
    }

    /// Computes the signature of `text` (article body without headline).
    pub fn from_text(text: &str) -> Signature {
        let mut normalised = String::with_capacity(text.len());
        let mut token_hashes: Vec<u64> = Vec::with_capacity(text.len() / 5);
        let truncated = for_each_token(text, MAX_TOKENS, |t| {
            if !token_hashes.is_empty() {
                normalised.push(' ');
            }
            normalised.push_str(t);
            token_hashes.push(hash64(t.as_bytes()));
        });
        let digest = Sha256::digest(normalised.as_bytes());
        let mut exact = [0u8; 16];
        exact.copy_from_slice(&digest[..16]);
        let tokens = token_hashes.len();

        let sh = distinct_shingles(&token_hashes);
        let bands = if tokens >= MIN_TOKENS {
            band_keys(&sh)
        } else {
            Vec::new()
        };
        let full = sh.len() <= FULL_BELOW;
        let sample = sample_of(&sh, full);
        Signature {
            exact: Fingerprint(exact),
            tokens,
            truncated,
            bands,
            sketch: Sketch {
                shingles: u32::try_from(sh.len()).unwrap_or(u32::MAX),
                full,
                sample,
            },
        }
    }

    /// True when the text is long enough for a near-duplicate check.
    pub fn checkable(&self) -> bool {
        self.tokens >= MIN_TOKENS
    }
}

/// Hashes of all word shingles; a text shorter than a shingle gives one shingle of all its
/// words (so that very short texts still have something to compare).
/// The distinct shingle hashes of a text's tokens, sorted.
fn distinct_shingles(tok: &[u64]) -> Vec<u64> {
    let mut sh = shingle_hashes(tok);
    sh.sort_unstable();
    sh.dedup();
    sh
}

/// The verification sample of distinct shingles: all of them (`full`), or those whose upper
/// half is a multiple of [`SAMPLE_MOD`]; sorted.
fn sample_of(sh: &[u64], full: bool) -> Vec<u32> {
    let mut sample: Vec<u32> = sh
        .iter()
        .map(|&h| (h >> 32) as u32)
        .filter(|&v| full || v.is_multiple_of(SAMPLE_MOD))
        .collect();
    sample.sort_unstable();
    sample.dedup();
    sample
}

fn shingle_hashes(tok: &[u64]) -> Vec<u64> {
    if tok.is_empty() {
        return Vec::new();
    }
    if tok.len() < SHINGLE {
        return vec![combine(tok)];
    }
    tok.windows(SHINGLE).map(combine).collect()
}

/// Order-sensitive combination of the token hashes of one shingle (rotations make
/// "a b c d" differ from "b a c d"; one final mix spreads the bits).
fn combine(w: &[u64]) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
    for (i, &t) in w.iter().enumerate() {
        h ^= t.rotate_left(17 * i as u32);
    }
    mix64(h)
}

/// One-permutation MinHash with densification, cut into bands.
fn band_keys(shingles: &[u64]) -> Vec<BandKey> {
    const K: usize = BANDS * ROWS;
    if shingles.is_empty() {
        return Vec::new();
    }
    let mut bins = [u64::MAX; K];
    let mut filled = [false; K];
    for &h in shingles {
        // Bin from the high bits (fast range reduction), value from a re-mix so that the
        // minimum inside a bin is independent of the bin choice.
        let bin = ((u128::from(h) * K as u128) >> 64) as usize;
        let v = mix64(h ^ 0x5851_f42d_4c95_7f2d);
        if v < bins[bin] {
            bins[bin] = v;
        }
        filled[bin] = true;
    }
    // Densification: an empty bin takes the value of the next non-empty bin to its right
    // (circularly), mixed with the distance so that borrowed values differ per bin.
    let mut dense = [0u64; K];
    for i in 0..K {
        if filled[i] {
            dense[i] = bins[i];
            continue;
        }
        let mut d = 1;
        while d < K && !filled[(i + d) % K] {
            d += 1;
        }
        dense[i] = mix64(bins[(i + d) % K] ^ (d as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    }
    (0..BANDS)
        .map(|b| {
            let mut h = mix64(b as u64 + 1);
            for r in 0..ROWS {
                h = mix64(h ^ dense[b * ROWS + r]);
            }
            h
        })
        .collect()
}

/// Overlap between two sketches, estimated from their samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Overlap {
    /// Estimated Jaccard similarity of the two shingle sets.
    pub jaccard: f32,
    /// Estimated share of the first text's shingles found in the second (|A∩B| / |A|).
    pub a_in_b: f32,
    /// Estimated share of the second text's shingles found in the first (|A∩B| / |B|).
    pub b_in_a: f32,
    /// Sample elements compared on the smaller side (how much evidence the estimate has).
    pub evidence: u32,
}

/// Compares two sketches. When both hold all shingles the figures are exact (up to 32-bit
/// hash collisions); otherwise both samples are reduced to the common mod-m sample first.
pub fn compare(a: &Sketch, b: &Sketch) -> Overlap {
    let both_full = a.full && b.full;
    let keep = |v: &u32| both_full || v.is_multiple_of(SAMPLE_MOD);
    let sa = a.sample.iter().filter(|v| keep(v));
    let sb: Vec<u32> = b.sample.iter().copied().filter(|v| keep(v)).collect();
    let mut na = 0u32;
    let mut inter = 0u32;
    for v in sa {
        na += 1;
        if sb.binary_search(v).is_ok() {
            inter += 1;
        }
    }
    let nb = sb.len() as u32;
    let union = na + nb - inter;
    let ratio = |x: u32, y: u32| if y == 0 { 0.0 } else { x as f32 / y as f32 };
    Overlap {
        jaccard: ratio(inter, union),
        a_in_b: ratio(inter, na),
        b_in_a: ratio(inter, nb),
        evidence: na.min(nb),
    }
}

/// Error decoding a stored sketch.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SketchDecodeError {
    /// The byte string ended early or had a wrong length.
    #[error("stored sketch has a bad length ({0} bytes)")]
    Length(usize),
    /// The format version byte is unknown.
    #[error("stored sketch has unknown version {0}")]
    Version(u8),
}

impl Sketch {
    /// Compact binary encoding for the store: version byte, flags byte, shingle count (u32 LE),
    /// then the sample as u32 LE values. 6 + 4·n bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(6 + 4 * self.sample.len());
        out.push(1u8);
        out.push(u8::from(self.full));
        out.extend_from_slice(&self.shingles.to_le_bytes());
        for v in &self.sample {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Decodes [`Sketch::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Sketch, SketchDecodeError> {
        if b.len() < 6 || !(b.len() - 6).is_multiple_of(4) {
            return Err(SketchDecodeError::Length(b.len()));
        }
        if b[0] != 1 {
            return Err(SketchDecodeError::Version(b[0]));
        }
        let full = b[1] != 0;
        let shingles = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
        let sample = b[6..]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Sketch {
            shingles,
            full,
            sample,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_ignores_typography_and_breaks() {
        let a = Signature::from_text(
            "OpenAI\u{2019}s \u{201C}rift\u{201D}\n\nwith Microsoft \u{2014} deepens.",
        );
        let b = Signature::from_text("openai's \"RIFT\" with   microsoft - deepens");
        assert_eq!(a.exact, b.exact);
        let c = Signature::from_text("openai's rift with microsoft widens");
        assert_ne!(a.exact, c.exact);
    }

    #[test]
    fn copies_are_found_in_any_script() {
        let texts = [
            (
                "Die Bundesregierung hat am Dienstag die Rentenreform beschlossen, die im Juni dem Parlament vorgelegt werden soll. Die Opposition kritisierte, dass die Finanzierung unklar bleibe. Gewerkschaften kündigten Proteste an. ",
                "Der Stadtrat stimmte für den Neubau der alten Straßenbahnlinie bis 2030, sagte die Bürgermeisterin nach jahrelanger Debatte über Kosten und Strecke. ",
            ),
            (
                "政府は火曜日、新しい年金改革を発表し、六月に国会に提出すると述べた。野党は財源の説明が不十分だと批判している。労働組合は抗議を予告した。",
                "市議会は二〇三〇年までに古い路面電車の路線を再建することを決めたと市長が述べた。費用と経路をめぐる議論は長年続いていた。",
            ),
            (
                "أعلنت الحكومة يوم الثلاثاء عن إصلاح جديد لنظام التقاعد سيقدم إلى البرلمان في يونيو. وانتقدت المعارضة غياب التفاصيل حول التمويل. وأعلنت النقابات عن احتجاجات. ",
                "صوت مجلس المدينة على إعادة بناء خط الترام القديم بحلول عام ألفين وثلاثين بعد سنوات من الجدل حول التكلفة والمسار. ",
            ),
        ];
        for (text, other) in texts {
            let a = Signature::from_text(&text.repeat(3));
            // A copy with a paragraph added.
            let b = Signature::from_text(&format!("{}\n\n{other}", text.repeat(3)));
            let c = Signature::from_text(&other.repeat(3));
            assert!(a.checkable(), "{text}");
            assert!(compare(&a.sketch, &b.sketch).a_in_b > 0.9, "{text}");
            assert!(compare(&a.sketch, &c.sketch).jaccard < 0.1, "{text}");
        }
    }

    #[test]
    fn empty_and_short_texts() {
        let e = Signature::from_text("");
        assert_eq!(e.tokens, 0);
        assert!(e.bands.is_empty());
        assert!(!e.checkable());
        let one = Signature::from_text("Microsoft");
        assert_eq!(one.sketch.shingles, 1);
        assert!(!one.checkable());
        let o = compare(&e.sketch, &one.sketch);
        assert_eq!(o.jaccard, 0.0);
    }

    #[test]
    fn sketch_roundtrip() {
        let s = Signature::from_text(&"word ".repeat(50)).sketch;
        let b = s.to_bytes();
        assert_eq!(Sketch::from_bytes(&b), Ok(s));
        assert_eq!(
            Sketch::from_bytes(&b[..5]),
            Err(SketchDecodeError::Length(5))
        );
        assert_eq!(
            Sketch::from_bytes(&[9, 0, 0, 0, 0, 0]),
            Err(SketchDecodeError::Version(9))
        );
    }
}
