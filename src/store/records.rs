//! The persisted record types. Each is stored as one version byte followed by its JSON form:
//! JSON because records evolve (new optional fields read as their defaults) and a human can
//! read a dump; the version byte because a change JSON defaults cannot express needs a
//! migration, and the reader must know which shape it holds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::parse::Entry;
use crate::store::{Result, StoreError};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// The version byte in front of every record.
const RECORD_VERSION: u8 = 1;

/// A record as stored: the version byte, then its JSON form.
pub(crate) fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = vec![RECORD_VERSION];
    // Serialising plain data structs to JSON cannot fail (no maps with non-string keys).
    if serde_json::to_writer(&mut out, v).is_err() {
        out.truncate(1);
        out.extend_from_slice(b"null");
    }
    out
}

/// A stored record read back; a clear error when it is not one.
pub(crate) fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T> {
    match bytes.split_first() {
        Some((&RECORD_VERSION, rest)) => {
            serde_json::from_slice(rest).map_err(|e| StoreError::Corrupt {
                what,
                message: e.to_string(),
            })
        }
        Some((v, _)) => Err(StoreError::Corrupt {
            what,
            message: format!("unknown record version {v}"),
        }),
        None => Err(StoreError::Corrupt {
            what,
            message: "empty record".into(),
        }),
    }
}

/// Every record of a scan that can be read, in scan order; the unreadable ones are skipped
/// with one warning saying how many and why the first failed. One damaged record (a torn
/// write, a disk fault, a record of a newer wirewatch) must not stop everything that lists
/// records: the daily digest, the status page, the judge's start-up, `store migrate`. A
/// failure to *read* the store is still an error.
pub(crate) fn decode_readable<T, B>(
    what: &'static str,
    rows: impl IntoIterator<Item = Result<B>>,
) -> Result<Vec<T>>
where
    T: DeserializeOwned,
    B: AsRef<[u8]>,
{
    let mut out = Vec::new();
    let mut skipped = 0usize;
    let mut first: Option<StoreError> = None;
    for row in rows {
        match decode(what, row?.as_ref()) {
            Ok(v) => out.push(v),
            Err(e) => {
                skipped += 1;
                first.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first {
        tracing::warn!(what, skipped, first_error = %e, "unreadable records skipped");
    }
    Ok(out)
}

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
    /// The URL that gave the validators, when a temporary redirect led there (it gets them
    /// at the next poll); `None` when it was the URL polled.
    pub validators_from: Option<String>,
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
    /// The entries the last parsed document listed ([`listing_hash`] of each id): retention
    /// ([`crate::store::retention`]) never forgets an entry its feed still lists, or the next
    /// poll would find it new and judge it again. `None` in states of older versions: their
    /// entries are all kept until the next poll says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listed: Option<Vec<u64>>,
}

/// A short, stable hash of an entry id, for [`FeedState::listed`] (the first 8 bytes of its
/// SHA-256: the same in every process and version, unlike the standard library's hasher).
pub fn listing_hash(id: &str) -> u64 {
    let d = Sha256::digest(id.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b)
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
    /// Processing attempts deferred by transient failures of the article page.
    #[serde(default)]
    pub attempts: u32,
    /// The same for the Google News lookup before it (a budget of its own: a lookup Google
    /// was busy for must not leave the page it found a single try).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lookup_attempts: u32,
    /// Once processed, the stored record drops the feed's text (summary, content) and keeps
    /// this hash of it, enough to notice an in-place change. `None` while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_hash: Option<u64>,
    /// Not to be processed before this time: its page failed transiently and is tried again
    /// then (see `pipeline::text`), or the feed keeps changing it and it is looked at again
    /// then (see `revisit_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<DateTime<Utc>>,
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

/// Whether a feed changed an entry in a way worth looking at again. Dates or text, not the
/// order of authors or whitespace.
pub(crate) fn entry_changed(old: &EntryRecord, new: &Entry) -> bool {
    let o = &old.entry;
    o.updated != new.updated
        || o.title != new.title
        || o.link != new.link
        || match old.body_hash {
            Some(h) => h != body_hash(new),
            None => {
                norm(&o.content_html) != norm(&new.content_html)
                    || norm(&o.summary) != norm(&new.summary)
            }
        }
}

/// A hash of an entry's text (content and summary, whitespace-normalised): what a processed
/// entry keeps of it. SHA-256, so it is stable across builds and platforms.
fn body_hash(e: &Entry) -> u64 {
    let mut h = Sha256::new();
    h.update(norm(&e.content_html).as_bytes());
    h.update([0u8]);
    h.update(norm(&e.summary).as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b)
}

/// An entry record as stored. A processed (`Done`) entry is only ever read again to notice
/// in-place changes, so its feed text (summary, content: most of its bytes) is replaced by
/// [`body_hash`]; a pending one keeps it, since processing may fall back to it.
/// The bytes that show a stored entry record is at `rec`'s revision: `"revisions":N,` as our
/// encoder writes it (compact JSON, fields in declaration order, `status` after
/// `revisions`; a title quoting those words is escaped and cannot match).
///
/// A judge reads a pending entry, and writes it back done minutes later; a poll that stored a
/// changed version meanwhile (revision N+1, pending again) must not be overwritten by the older
/// one marked done, or the change is never judged. Both stores write an entry back only while
/// the stored record still carries this marker (or there is none), checked inside the write's
/// transaction; matching bytes rather than decoding keeps the check as cheap as the write.
pub(crate) fn revision_marker(rec: &EntryRecord) -> Vec<u8> {
    format!("\"revisions\":{},", rec.revisions).into_bytes()
}

/// Whether a stored entry record (as encoded) may be replaced by `rec`'s version: it is at
/// the same revision ([`revision_marker`]).
pub(crate) fn same_revision(stored: &[u8], rec: &EntryRecord) -> bool {
    memchr::memmem::find(stored, &revision_marker(rec)).is_some()
}

pub(crate) fn encode_entry(rec: &EntryRecord) -> Vec<u8> {
    if rec.status != EntryStatus::Done || rec.body_hash.is_some() {
        return encode(rec);
    }
    let mut slim = rec.clone();
    slim.body_hash = Some(body_hash(&rec.entry));
    slim.entry.summary = None;
    slim.entry.content_html = None;
    slim.entry.authors = Vec::new();
    encode(&slim)
}

fn norm(s: &Option<String>) -> String {
    s.as_deref()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What storing `entry` makes of the record stored under its key (`stored`): a new pending
/// record, the stored one revised and pending again when the feed changed it, or `None` when
/// it is unchanged. Every backend's upsert ([`crate::store::FeedStore::upsert_entry`]).
pub(crate) fn upserted(
    stored: Option<EntryRecord>,
    feed_id: &str,
    id: &str,
    entry: &Entry,
    now: DateTime<Utc>,
) -> Option<(EntryRecord, crate::store::EntryChange)> {
    use crate::store::EntryChange;
    match stored {
        None => Some((
            EntryRecord {
                feed_id: feed_id.to_string(),
                id: id.to_string(),
                entry: entry.clone(),
                first_seen: now,
                changed_at: now,
                revisions: 0,
                status: EntryStatus::Pending,
                note: None,
                attempts: 0,
                lookup_attempts: 0,
                body_hash: None,
                retry_at: None,
            },
            EntryChange::New,
        )),
        Some(mut rec) => {
            if !entry_changed(&rec, entry) {
                return None;
            }
            let (previous_change, waiting) = (
                rec.changed_at,
                // A pending entry keeps its time, due already or not: moved later at each
                // change, an entry changed at every poll could stay unjudged for good.
                rec.retry_at.filter(|_| rec.status == EntryStatus::Pending),
            );
            rec.entry = entry.clone();
            rec.body_hash = None;
            rec.changed_at = now;
            rec.revisions += 1;
            rec.status = EntryStatus::Pending;
            rec.attempts = 0;
            rec.lookup_attempts = 0;
            rec.retry_at = waiting.or_else(|| revisit_at(rec.revisions, previous_change, now));
            Some((rec, EntryChange::Updated))
        }
    }
}

/// When an entry the feed changed again is looked at: at once after its first change (an
/// article updated with news), but one changed again soon after a previous change is
/// volatile (a score or comment count in its summary, an `<updated>` set to the time of each
/// request) and waits: an hour after that change, doubling with each revision up to 6
/// hours, so that a feed listing it for days does not have its page fetched and judged
/// again at every poll.
fn revisit_at(
    revisions: u32,
    previous_change: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if revisions < 2 {
        return None;
    }
    let wait = chrono::Duration::hours(1 << (revisions - 2).min(3)).min(chrono::Duration::hours(6));
    let at = previous_change + wait;
    (at > now).then_some(at)
}

/// For serde: a zero count is not written.
fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_changed_at_every_poll_is_looked_at_less_often() {
        let t0 = DateTime::parse_from_rfc3339("2026-12-04T08:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("time");
        let poll = |k: i64| t0 + chrono::Duration::minutes(15 * k);
        let listing = |k: i64| Entry {
            title: Some("Show HN: a thing".into()),
            link: Some("https://example.org/thing".into()),
            summary: Some(format!("Points: {}", 10 * k)),
            ..Entry::default()
        };
        let (mut rec, _) = upserted(None, "f", "e", &listing(0), poll(0)).expect("new");
        let mut due = Vec::new();
        for k in 1..=12 {
            let (next, _) =
                upserted(Some(rec.clone()), "f", "e", &listing(k), poll(k)).expect("changed");
            rec = next;
            due.push(rec.retry_at);
            if rec.retry_at.is_none_or(|t| t <= poll(k)) {
                // Judged at this pass.
                rec.status = EntryStatus::Done;
            }
        }
        // The first change at once; the second waits an hour from the first; the waits grow.
        assert_eq!(due[0], None);
        assert_eq!(due[1], Some(poll(1) + chrono::Duration::hours(1)));
        let judged = due
            .iter()
            .enumerate()
            .filter(|(k, d)| d.is_none_or(|t| t <= poll(*k as i64 + 1)))
            .count();
        assert!(judged <= 3, "looked at {judged} times in 12 polls: {due:?}");
        // Due an hour after the first change (poll 5), it is looked at then, not pushed on.
        assert!(
            due[4].is_some_and(|t| t <= poll(5)),
            "the due entry was put off: {due:?}"
        );
        // A change long after the last one is looked at at once.
        let day_later = poll(12) + chrono::Duration::days(1);
        let (later, _) = upserted(Some(rec), "f", "e", &listing(99), day_later).expect("changed");
        assert!(
            later.retry_at.is_none_or(|t| t <= day_later),
            "{:?}",
            later.retry_at
        );
    }

    #[test]
    fn a_scan_skips_unreadable_records_but_not_a_failing_store() {
        let good = |n: u32| encode(&serde_json::json!({ "n": n }));
        let rows: Vec<Result<Vec<u8>>> = vec![
            Ok(good(1)),
            Ok(b"\xff\xfe not a record".to_vec()),
            Ok(vec![9, b'{', b'}']),
            Ok(Vec::new()),
            Ok(good(2)),
        ];
        let got: Vec<serde_json::Value> = decode_readable("test", rows).expect("readable");
        assert_eq!(
            got,
            vec![serde_json::json!({"n": 1}), serde_json::json!({"n": 2})]
        );
        let failing: Vec<Result<Vec<u8>>> = vec![
            Ok(good(1)),
            Err(StoreError::Corrupt {
                what: "test",
                message: "stand-in for a read error".into(),
            }),
        ];
        assert!(decode_readable::<serde_json::Value, _>("test", failing).is_err());
    }
}
