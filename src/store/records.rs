//! The persisted record types. Each is stored as one version byte followed by its JSON form:
//! JSON because records evolve (new optional fields read as their defaults) and a human can
//! read a dump; the version byte because a change JSON defaults cannot express needs a
//! migration, and the reader must know which shape it holds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::parse::Entry;

/// What wirewatch remembers about one feed between polls.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeedState {
    /// The URL as configured.
    pub url: String,
    /// Where a permanent redirect (301/308) sent us; polled instead of `url` from then on.
    pub moved_to: Option<String>,
    /// The feed's title, as it last said.
    pub title: Option<String>,
    /// `ETag` of the last 200 response.
    pub etag: Option<String>,
    /// `Last-Modified` of the last 200 response.
    pub last_modified: Option<String>,
    /// When the last poll started.
    pub last_attempt: Option<DateTime<Utc>>,
    /// When a poll last succeeded (200 or 304).
    pub last_success: Option<DateTime<Utc>>,
    /// The last failure, for humans.
    pub last_error: Option<String>,
    /// When the last failure happened.
    pub last_error_at: Option<DateTime<Utc>>,
    /// Failures since the last success; drives the backoff.
    pub consecutive_failures: u32,
    /// Earliest time of the next poll (interval, backoff or Retry-After).
    pub next_poll: Option<DateTime<Utc>>,
    /// Polls made.
    pub polls: u64,
    /// Polls answered 304 Not Modified.
    pub not_modified: u64,
    /// Polls that failed.
    pub errors: u64,
    /// Entries first stored from this feed.
    pub entries_new: u64,
    /// When it was first polled (for its entries per day).
    pub first_poll: Option<DateTime<Utc>>,
}

/// Where the texts of a feed's entries came from, counted as they are judged (kept apart from
/// [`FeedState`], which polls write, under meta `feed_texts:<feed id>`): a feed whose texts
/// come from its summaries only gives the judge little to go on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeedTexts {
    /// From the article page.
    pub page: u64,
    /// From the feed's content or summary.
    pub feed: u64,
    /// None at all.
    pub none: u64,
}

impl FeedTexts {
    /// The meta key of a feed's counts.
    pub fn key(feed_id: &str) -> String {
        format!("feed_texts:{feed_id}")
    }

    /// The share of texts from the page, once there are any.
    pub fn page_share(&self) -> Option<f64> {
        let all = self.page + self.feed + self.none;
        (all > 0).then(|| self.page as f64 / all as f64)
    }
}

/// Where an entry is in the pipeline. An entry is stored as `Pending` before any work is done
/// on it, so a crash in mid-processing leaves it to be picked up again, never lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// Stored, not yet processed.
    #[default]
    Pending,
    /// Processed; the item record holds the outcome.
    Done,
}

/// One feed entry as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntryRecord {
    /// The feed it came from (see [`crate::store::feed_id`]).
    pub feed_id: String,
    /// Its stable id within the feed: the guid, else the canonical link.
    pub id: String,
    /// What the feed said, as last seen.
    pub entry: Entry,
    /// When it was first stored.
    pub first_seen: DateTime<Utc>,
    /// When it was last seen changed.
    pub changed_at: DateTime<Utc>,
    /// How many times the feed changed it after the first sight (in-place updates).
    #[serde(default)]
    pub revisions: u32,
    /// Pipeline status.
    #[serde(default)]
    pub status: EntryStatus,
    /// Why processing was incomplete, when it was.
    #[serde(default)]
    pub note: Option<String>,
    /// Processing attempts deferred by transient failures (page fetches).
    #[serde(default)]
    pub attempts: u32,
    /// Once processed, the stored record drops the feed's text (summary, content) and keeps
    /// this hash of it, enough to notice an in-place change. `None` while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_hash: Option<u64>,
}

/// One seed article of the topic, cleaned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedRecord {
    /// File name in the seeds directory.
    pub name: String,
    /// Headline (the file's first line).
    pub title: String,
    /// The cleaned article text.
    pub text: String,
    /// SHA-256 of the file as read, to make loading idempotent and notice edits.
    pub file_sha256: String,
}
