//! `[topic]`: what to watch.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The topic: its name and the seed articles that define it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    /// A human name, shown in alerts and the digest.
    pub name: String,
    /// Directory of seed articles (plain text, first line the headline).
    #[serde(default = "default_seeds")]
    pub seeds: PathBuf,
    /// Optional boolean query every alerted item must also match, e.g.
    /// `(microsoft OR azure) AND openai AND (amazon OR aws OR frontier)`.
    #[serde(default)]
    pub query: Option<String>,
    /// Relevance threshold; items scoring below are off-topic. Default: the relevance stage's.
    #[serde(default)]
    pub min_score: Option<f32>,
    /// The languages followed (ISO 639-1 or 639-3 codes, `["en", "de"]`): a text surely in
    /// another is decided "other language" without being scored. Empty: every language.
    #[serde(default)]
    pub languages: Vec<String>,
}

fn default_seeds() -> PathBuf {
    PathBuf::from("seeds")
}

impl TopicConfig {
    /// The topic's stable id: its name in lower case, runs of anything but letters and digits
    /// as one `-` ("Microsoft vs OpenAI" → `microsoft-vs-openai`).
    pub fn id(&self) -> String {
        slug(&self.name)
    }
}

/// Lower case letters and digits, other runs as one `-`, none at either end.
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}
