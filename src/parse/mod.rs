//! The parse stage (placeholder until the lenient parser lands): feed bytes → entries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One entry as the feed states it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The feed's own id for the entry.
    pub guid: Option<String>,
    /// Absolute URL of the article.
    pub link: Option<String>,
    /// Plain-text title.
    pub title: Option<String>,
    /// Summary as given (may be HTML).
    pub summary: Option<String>,
    /// Full content as given (HTML).
    pub content_html: Option<String>,
    /// Publication time.
    pub published: Option<DateTime<Utc>>,
    /// Last update time.
    pub updated: Option<DateTime<Utc>>,
    /// Authors' names.
    pub authors: Vec<String>,
}

/// A parsed feed.
#[derive(Debug, Clone)]
pub struct ParsedFeed {
    /// The feed's title.
    pub title: Option<String>,
    /// Its entries, in document order.
    pub entries: Vec<Entry>,
    /// What the lenient pre-pass repaired.
    pub repairs: Vec<String>,
}

/// Why a feed could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// feed-rs refused it.
    #[error("not a parseable feed: {0}")]
    Invalid(String),
}

/// Parses feed bytes.
pub fn parse_feed(
    body: &[u8],
    _content_type: Option<&str>,
    feed_url: Option<&url::Url>,
) -> Result<ParsedFeed, ParseError> {
    let base = feed_url.map(|u| u.as_str());
    let feed = feed_rs::parser::Builder::new()
        .base_uri(base)
        .build()
        .parse(body)
        .map_err(|e| ParseError::Invalid(e.to_string()))?;
    Ok(ParsedFeed {
        title: feed.title.map(|t| t.content),
        repairs: Vec::new(),
        entries: feed
            .entries
            .into_iter()
            .map(|e| Entry {
                guid: Some(e.id).filter(|s| !s.is_empty()),
                link: e.links.first().map(|l| l.href.clone()),
                title: e.title.map(|t| t.content),
                summary: e.summary.map(|t| t.content),
                content_html: e.content.and_then(|c| c.body),
                published: e.published,
                updated: e.updated,
                authors: e.authors.into_iter().filter_map(|a| a.name).collect(),
            })
            .collect(),
    })
}
