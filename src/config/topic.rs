//! `[topic]` / `[[topics]]`: what to watch. One `[topic]` table is one topic; `[[topics]]`
//! tables are many, each with its own seeds, threshold and routes (which webhooks and digest
//! recipients receive it).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A topic: its name, the seed articles that define it, and where its alerts go.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    /// A human name, shown in alerts and the digest.
    pub name: String,
    /// A stable id (URLs, routing, the store's keys); derived from the name when absent.
    /// Keep it when renaming a topic: what the topic learned and its alerts are kept under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
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
    /// The `[[webhooks]]` (by name) that receive this topic's alerts. Absent: all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<Vec<String>>,
    /// The digest recipients of this topic. Absent: `[digest] to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_to: Option<Vec<String>>,
    /// When the topic is new to the store, judge the items stored from this long ago for it
    /// (from their kept texts), once, so that it starts with the recent coverage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill: Option<super::Dur>,
}

fn default_seeds() -> PathBuf {
    PathBuf::from("seeds")
}

impl TopicConfig {
    /// The seed files of a topic's seed directory (plain files, not hidden); an error naming the
    /// topic when there are none or the directory cannot be read.
    pub fn seed_files(&self) -> anyhow::Result<Vec<std::path::PathBuf>> {
        let rd = std::fs::read_dir(&self.seeds).map_err(|e| {
            anyhow::anyhow!(
                "topic {:?} ({}): cannot read its seed directory {}: {e}",
                self.name,
                self.id(),
                self.seeds.display()
            )
        })?;
        let files: Vec<_> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        if files.is_empty() {
            anyhow::bail!(
                "topic {:?} ({}): its seed directory {} holds no seed article",
                self.name,
                self.id(),
                self.seeds.display()
            );
        }
        Ok(files)
    }

    /// The topic's stable id: its name in lower case, runs of anything but letters and digits
    /// as one `-` ("Microsoft vs OpenAI" → `microsoft-vs-openai`).
    pub fn id(&self) -> String {
        match self.id.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => slug(&self.name),
        }
    }

    /// Whether a webhook (by its name) receives this topic.
    pub fn routes_to(&self, webhook: &str) -> bool {
        self.webhooks
            .as_ref()
            .is_none_or(|w| w.iter().any(|n| n == webhook))
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
