//! The background English model: how common each word is in general English, so that the
//! topic model can tell "Frontier", "stateful" or "Azure" (rare in general text, frequent in
//! the seeds) from "said" or "company" (frequent everywhere).
//!
//! Data: `data/background_en.txt`, the 40,000 most frequent English words with their Zipf
//! frequency (log10 of frequency per billion words), derived from the `wordfreq` 3.1.1
//! package by Robyn Speer; data licence CC BY-SA 4.0 (attribution in the file header;
//! regenerate with `tools/make_background.py`). 485 KB, embedded with `include_str!`.

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

/// Word -> Zipf frequency.
#[derive(Debug, Clone)]
pub struct Background {
    // Fx hashing: the keys are the shipped word list, not attacker-chosen (see `index.rs`).
    zipf: FxHashMap<String, f32>,
}

impl Background {
    /// The embedded English model, parsed once per process.
    pub fn english() -> &'static Background {
        static BG: OnceLock<Background> = OnceLock::new();
        BG.get_or_init(|| Background::parse(DATA))
    }

    /// Parses `word<TAB>zipf*100` lines; `#` lines and malformed lines are skipped.
    pub fn parse(data: &str) -> Background {
        let mut zipf = FxHashMap::default();
        zipf.reserve(40_000);
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
            zipf.insert(w.to_string(), z as f32 / 100.0);
        }
        Background { zipf }
    }

    /// Number of words in the model.
    pub fn len(&self) -> usize {
        self.zipf.len()
    }

    /// True when the model has no words.
    pub fn is_empty(&self) -> bool {
        self.zipf.is_empty()
    }

    /// True when the word is in the list.
    pub fn knows(&self, word: &str) -> bool {
        self.zipf.contains_key(word)
    }

    /// Zipf frequency of a listed word; `None` for a word not in the list.
    pub fn lookup(&self, word: &str) -> Option<f32> {
        self.zipf.get(word).copied()
    }

    /// [`Background::is_function_word`] given the word's [`Background::lookup`] result
    /// (saves a second lookup).
    pub fn is_function_zipf(&self, word: &str, zipf: Option<f32>) -> bool {
        // Unlisted words get UNKNOWN_ZIPF or NUMBER_ZIPF, both below FUNCTION_ZIPF.
        word.chars().nth(1).is_none() || zipf.is_some_and(|z| z >= FUNCTION_ZIPF)
    }

    /// Zipf frequency of a (normalised) token.
    pub fn zipf(&self, word: &str) -> f32 {
        if let Some(&z) = self.zipf.get(word) {
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
    }
}
