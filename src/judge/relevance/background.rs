//! The background English model: how common each word is in general English, so that the
//! topic model can tell "Frontier", "stateful" or "Azure" (rare in general text, frequent in
//! the seeds) from "said" or "company" (frequent everywhere).
//!
//! Data: `data/background_en.txt`, the 40,000 most frequent English words with their Zipf
//! frequency (log10 of frequency per billion words), derived from the `wordfreq` 3.1.1
//! package by Robyn Speer; data licence CC BY-SA 4.0 (attribution in the file header;
//! regenerated, byte for byte, by `data/make_background.py` beside it). 485 KB, embedded with
//! `include_str!`.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

/// The embedded word list (see the module doc for source and licence).
const DATA: &str = include_str!("data/background_en.txt");

/// Zipf value assumed for a word that is not in the list: the list ends at about 2.7, so an
/// unlisted word is rarer than that; 2.0 is "about once per 100 million words".
pub const UNKNOWN_ZIPF: f32 = 2.0;
/// Zipf value assumed for numbers (`2025`, `3.2`, `50`): common in news, mildly informative.
pub const NUMBER_ZIPF: f32 = 4.0;
/// Words at least this frequent are function words ("the", "which", "would"): they carry
/// no topic and are skipped when learning terms and bigrams.
pub const FUNCTION_ZIPF: f32 = 5.6;

/// Longest word (in bytes) kept inline as a table key (with its length in the 16th byte);
/// the few longer listed words (about 50 of 40,000) are kept as strings in a second table.
const INLINE: usize = 15;

/// Word -> Zipf frequency.
///
/// The table is looked up for every token of every article scored (profiled: a tenth of a
/// whole cycle's CPU when keyed by `String`, most of it waiting for memory). Words up to
/// `INLINE` (15) bytes are keyed by their bytes and length packed into a `u128`, so a lookup
/// hashes two machine words and compares in place, with no pointer to a heap string to
/// follow, and the table holds 40,000 fewer allocations. Exact, not a hash of the word.
#[derive(Debug, Clone)]
pub struct Background {
    // Fx hashing: the keys are the shipped word list, not attacker-chosen (see `index.rs`).
    short: FxHashMap<u128, f32>,
    long: FxHashMap<String, f32>,
}

/// `word` packed into a table key (bytes, then the length in the last byte), when it fits.
fn inline_key(word: &str) -> Option<u128> {
    let b = word.as_bytes();
    if b.len() > INLINE {
        return None;
    }
    let mut k = [0u8; 16];
    k[..b.len()].copy_from_slice(b);
    k[15] = b.len() as u8;
    Some(u128::from_le_bytes(k))
}

impl Background {
    /// The embedded English model, parsed once per process.
    pub fn english() -> &'static Background {
        static BG: OnceLock<Background> = OnceLock::new();
        BG.get_or_init(|| Background::parse(DATA))
    }

    /// Parses `word<TAB>zipf*100` lines; `#` lines and malformed lines are skipped.
    pub fn parse(data: &str) -> Background {
        let mut bg = Background {
            short: FxHashMap::default(),
            long: FxHashMap::default(),
        };
        bg.short.reserve(40_000);
        for line in data.lines() {
            if line.starts_with('#') {
                continue;
            }
            let Some((w, z)) = line.split_once('\t') else {
                continue;
            };
            let Ok(z) = z.trim().parse::<u32>() else {
                continue;
            };
            let z = z as f32 / 100.0;
            match inline_key(w) {
                Some(k) => bg.short.insert(k, z),
                None => bg.long.insert(w.to_string(), z),
            };
        }
        bg
    }

    /// Number of words in the model.
    pub fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    /// True when the model has no words.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the word is in the list.
    pub fn knows(&self, word: &str) -> bool {
        self.lookup(word).is_some()
    }

    /// Zipf frequency of a listed word; `None` for a word not in the list.
    pub fn lookup(&self, word: &str) -> Option<f32> {
        match inline_key(word) {
            Some(k) => self.short.get(&k).copied(),
            None => self.long.get(word).copied(),
        }
    }

    /// [`Background::is_function_word`] given the word's [`Background::lookup`] result
    /// (saves a second lookup).
    pub fn is_function_zipf(&self, word: &str, zipf: Option<f32>) -> bool {
        // Unlisted words get UNKNOWN_ZIPF or NUMBER_ZIPF, both below FUNCTION_ZIPF.
        word.chars().nth(1).is_none() || zipf.is_some_and(|z| z >= FUNCTION_ZIPF)
    }

    /// Zipf frequency of a (normalised) token.
    pub fn zipf(&self, word: &str) -> f32 {
        if let Some(z) = self.lookup(word) {
            return z;
        }
        if word.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            return NUMBER_ZIPF;
        }
        UNKNOWN_ZIPF
    }

    /// Probability of the token in general English text.
    pub fn prob(&self, word: &str) -> f64 {
        10f64.powf(f64::from(self.zipf(word)) - 9.0)
    }

    /// True for function words (see [`FUNCTION_ZIPF`]) and one-letter tokens.
    pub fn is_function_word(&self, word: &str) -> bool {
        self.is_function_zipf(word, self.lookup(word))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_model_loads() {
        let bg = Background::english();
        assert!(bg.len() > 39_000);
        assert!(bg.zipf("the") > 7.0);
        assert!(bg.zipf("microsoft") > 4.0);
        assert_eq!(bg.zipf("trainium"), UNKNOWN_ZIPF);
        assert!(bg.is_function_word("the"));
        assert!(!bg.is_function_word("frontier"));
        // Inline keys (up to 15 bytes) and the longer words both answer, and only for
        // the exact word.
        assert!(bg.knows("representatives") && !bg.knows("representative2"));
        assert!(bg.knows("interdisciplinary") && bg.knows("telecommunication"));
        assert!(!bg.knows("interdisciplinar") && !bg.knows("telecommunications2"));
        assert!(bg.knows("microsoft") && !bg.knows("microsof") && !bg.knows("microsoft\0"));
        assert_eq!(bg.lookup(""), None);
    }
}
