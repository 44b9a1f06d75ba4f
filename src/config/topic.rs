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
}

fn default_seeds() -> PathBuf {
    PathBuf::from("seeds")
}
