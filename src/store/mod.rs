//! The store: everything wirewatch remembers, behind one interface.
//!
//! The rest of the code speaks to a [`Store`], a cheap-to-clone handle on a [`Backend`]. The
//! backend is the interface, split by concern so that each part reads on its own:
//! - [`FeedStore`]: feed state (validators, schedule, errors), the entries each poll found and
//!   which of them are still pending, and the seed articles;
//! - [`JudgedStore`]: what the judge decided: items (one per canonical URL, with their
//!   decision and reasons), stories, alerts, and the transactions that write a decision
//!   together with everything that goes with it;
//! - [`DupStore`]: the durable half of the near-duplicate index (the judge keeps the lookup
//!   structure in memory);
//! - [`DeliveryStore`]: the outbox of webhook deliveries, finished and dead ones, the delivery
//!   journal, and the digests sent;
//! - [`TextStore`]: the extracted texts of judged items, kept for a window ([`texts`]).
//!
//! [`sled`] is the one backend for now (the embedded default); a second one only
//! adds an implementation of these traits, and the behaviour tests of this module
//! (`tests.rs`) run against every backend.
//!
//! ## What a backend must guarantee
//! - An item's record, its story, its alert and its outbox rows are written in one
//!   transaction ([`JudgedStore::commit_item`]), so an alert exists exactly when its item says
//!   so. Decisions that alert nobody may be written in groups, one transaction per group
//!   ([`JudgedStore::commit_decisions`]).
//! - A poll's entries and the feed's new validators are written in one transaction
//!   ([`FeedStore::record_poll`]): a new `ETag` kept while the entries it covered were lost
//!   would make the next poll a 304 and lose them for good.
//! - Entries are written `Pending` before any work is done on them, so a crash
//!   mid-processing leaves them to be processed on the next start.
//! - A crash (`kill -9`) may lose the last instants of work but never tears a record: each
//!   transaction is whole or absent after recovery. [`Store::flush`] makes everything so far
//!   durable; the pipeline calls it at the end of a cycle and at shutdown, the outbox before a
//!   delivery's first attempt, and a digest record is durable before it is reported sent.

mod items;
pub mod migrate;
pub mod postgres;
pub(crate) mod records;
pub mod retention;
pub mod sled;
#[cfg(test)]
pub(crate) mod tests;
pub mod texts;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use items::{
    AlertRecord, Decision, DeliveryRecord, DeliveryState, DigestRecord, Grounds, ItemRecord,
    StoryRecord, TermWeight, TextSource,
};
pub use records::{listing_hash, EntryRecord, EntryStatus, FeedState, FeedTexts, SeedRecord};

use crate::parse::Entry;

/// A feed's state read back, with an unreadable record (a disk error, a record of a future
/// version) as none, said once in the log: the feed starts afresh (its validators and backoff
/// are lost, its entries are kept) instead of failing every poll of it, or the daemon at
/// start. The next poll writes a good record.
pub(crate) fn readable_or_none<T>(r: Result<Option<T>>, feed_id: &str) -> Result<Option<T>> {
    match r {
        Err(e @ StoreError::Corrupt { .. }) => {
            tracing::warn!(feed = feed_id, error = %e, "unreadable feed state; the feed starts afresh");
            Ok(None)
        }
        other => other,
    }
}

/// A store failure, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed (I/O, corruption, full disk).
    #[error("store {context}: {source}")]
    Sled {
        /// What the store was doing.
        context: String,
        /// sled's error.
        source: ::sled::Error,
    },
    /// A record could not be decoded.
    #[error("store: corrupt {what} record: {message}")]
    Corrupt {
        /// Which record type.
        what: &'static str,
        /// The decoder's message.
        message: String,
    },
    /// The store was written by an incompatible version of wirewatch.
    #[error("store at {path} has schema version {found}, this wirewatch reads version {expected}; use a matching wirewatch or move the state directory aside")]
    Schema {
        /// Path of the database.
        path: String,
        /// What the store says.
        found: u32,
        /// What this build expects.
        expected: u32,
    },
    /// PostgreSQL refused a statement.
    #[error("store {context}: {source}")]
    Postgres {
        /// What the store was doing.
        context: String,
        /// The driver's error.
        source: tokio_postgres::Error,
    },
    /// The PostgreSQL server could not be reached for [`postgres::RETRY_FOR`].
    #[error("store {context}: PostgreSQL at {server} unreachable: {message}")]
    Unavailable {
        /// What the store was doing.
        context: String,
        /// The server (no password).
        server: String,
        /// The last failure.
        message: String,
    },
    /// The database's schema could not be brought to this build's (or is newer).
    #[error("store at {server}: schema migration failed: {message}; a newer wirewatch may have migrated it (run the same version on every worker)")]
    Migration {
        /// The server (no password).
        server: String,
        /// refinery's message.
        message: String,
    },
    /// The store's settings are wrong.
    #[error("{message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// Another process holds the store (the embedded store is one process's at a time).
    #[error("store at {path} is in use by another wirewatch process")]
    Busy {
        /// Path of the database.
        path: String,
    },
    /// The disk has too little free space for a compaction's copy of the store.
    #[error("store compaction: no room on the disk for the copy: it needs at least {:.1} MB free beside {path} (what the store keeps), and the disk has {:.1} MB; free some space or move the state directory to a larger disk; the store is unchanged", *needed as f64 / 1e6, *free as f64 / 1e6)]
    NoRoom {
        /// Path of the database.
        path: String,
        /// Bytes the copy needs at least.
        needed: u64,
        /// Bytes free for this process on the disk.
        free: u64,
    },
}

/// Result alias of this module.
pub type Result<T> = std::result::Result<T, StoreError>;

/// A stable, short id for a feed URL (the first 16 hex digits of its SHA-256).
pub fn feed_id(url: &str) -> String {
    let d = Sha256::digest(url.as_bytes());
    hex::encode(&d[..8])
}

/// A pending entry's key, in [`FeedStore::pending_order`]: opaque to everyone but its backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingKey(pub(crate) Box<[u8]>);

/// How storing an entry changed the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryChange {
    /// Never seen before: stored as pending.
    New,
    /// Seen before, and the feed changed it (new `updated` date, title or content).
    Updated,
    /// Seen before, unchanged.
    Unchanged,
}

/// What recording one poll changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollChanges {
    /// Entries never seen before.
    pub new: usize,
    /// Entries the feed changed in place.
    pub updated: usize,
}

/// Counts of what the store holds, for summaries and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    /// Feeds with state.
    pub feeds: usize,
    /// Entries stored.
    pub entries: usize,
    /// Entries not yet processed.
    pub pending: usize,
    /// Seed articles stored.
    pub seeds: usize,
    /// Items (distinct canonical URLs) decided.
    pub items: usize,
    /// Stories.
    pub stories: usize,
    /// Alerts decided.
    pub alerts: usize,
    /// Deliveries waiting in the outbox.
    pub outbox: usize,
    /// Dead letters.
    pub dead: usize,
    /// Bytes of the texts kept for re-judging ([`TextStore`]).
    pub texts_bytes: u64,
    /// Bytes of the embedded database on disk (0 on PostgreSQL, which manages its own):
    /// what `wirewatch store compact` would shrink.
    #[serde(default)]
    pub db_bytes: u64,
}

/// What the dedup stage indexes for one text: the store keeps the bytes without reading them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DupEntry {
    /// The text's doc id.
    pub id: u64,
    /// What it is: `seed:NAME` or `item:URL`.
    pub key: String,
    /// The dedup stage's record of the text, opaque to the store.
    pub record: Vec<u8>,
}

/// Everything one item's decision writes, committed in one transaction.
#[derive(Clone, Debug)]
pub struct ItemCommit<'a> {
    /// The entry that was processed (its status is set to done).
    pub entry: Option<&'a EntryRecord>,
    /// The item record.
    pub item: &'a ItemRecord,
    /// Index the item's text for later duplicate checks.
    pub dup: Option<&'a DupEntry>,
    /// The story it joined or started.
    pub story: Option<&'a StoryRecord>,
    /// The alert, if it alerts.
    pub alert: Option<&'a AlertRecord>,
    /// Endpoints the alert is queued for.
    pub endpoints: &'a [String],
}

/// Feeds, their entries, and the seed articles.
pub trait FeedStore {
    /// The state of a feed, if it was ever polled.
    fn feed_state(&self, feed_id: &str) -> Result<Option<FeedState>>;
    /// Saves the state of a feed.
    fn put_feed_state(&self, feed_id: &str, state: &FeedState) -> Result<()>;
    /// All feed states, by feed id.
    fn feed_states(&self) -> Result<Vec<(String, FeedState)>>;
    /// Stores an entry of a feed under its stable id. A new entry is stored `Pending`; an
    /// entry the feed changed in place is updated and set `Pending` again, so the pipeline
    /// looks at the new version (and decides itself whether it deserves a second alert); an
    /// unchanged one is left alone. Atomic per entry.
    fn upsert_entry(
        &self,
        feed_id: &str,
        id: &str,
        entry: &Entry,
        now: DateTime<Utc>,
    ) -> Result<EntryChange>;
    /// Records one successful poll: every entry it found (as [`FeedStore::upsert_entry`]) and
    /// the feed's new state, in one transaction (see the module doc). `state.entries_new` is
    /// increased by the new entries.
    fn record_poll(
        &self,
        feed_id: &str,
        found: &[(String, &Entry)],
        now: DateTime<Utc>,
        state: &FeedState,
    ) -> Result<PollChanges>;
    /// One stored entry.
    fn entry(&self, feed_id: &str, id: &str) -> Result<Option<EntryRecord>>;
    /// Writes back an entry record the pipeline read; its status says whether it is still
    /// pending. Left alone when a poll stored a newer version meanwhile
    /// (`records::revision_marker`).
    fn put_entry(&self, rec: &EntryRecord) -> Result<()>;
    /// Writes an entry record as it is, whatever the stored one: a store copy ([`migrate`]),
    /// where the source is the truth.
    fn copy_entry(&self, rec: &EntryRecord) -> Result<()>;
    /// All stored entries, in key order (feed, then id). Processed ones may be in a slim form
    /// (their feed text replaced by [`EntryRecord::body_hash`]).
    fn entries(&self) -> Result<Vec<EntryRecord>>;
    /// Every stored entry, one at a time, in key order: a large store's entries need not fit
    /// in memory at once (retention reads them all). Unreadable records are skipped; returns
    /// how many.
    fn for_each_entry(&self, f: &mut dyn FnMut(EntryRecord)) -> Result<usize> {
        for e in self.entries()? {
            f(e);
        }
        Ok(0)
    }
    /// Forgets entries (feed id, entry id) that are not pending; one that a poll made pending
    /// again meanwhile is kept. Returns how many were removed.
    fn forget_entries(&self, keys: &[(String, String)]) -> Result<usize>;
    /// The pending entries' keys in processing order (oldest first: publication time, else
    /// first-seen time, then first-seen time), without loading the records: a cycle over a
    /// large feed list has hundreds of thousands of pending entries.
    fn pending_order(&self) -> Result<Vec<PendingKey>>;
    /// A pending entry's record; `None` when it is gone or no longer pending.
    fn pending_entry(&self, key: &PendingKey) -> Result<Option<EntryRecord>>;
    /// Number of pending entries.
    fn pending_len(&self) -> usize;
    /// How long the oldest and the newest pending entry have waited since they were stored,
    /// on a shared store (the judge's quiet period); `None` when nothing is pending or the
    /// backend does not keep it (the embedded store's daemon batches its own polls).
    fn pending_ages(&self) -> Result<Option<(std::time::Duration, std::time::Duration)>> {
        Ok(None)
    }
    /// Entries still waiting for processing, in processing order.
    fn pending_entries(&self) -> Result<Vec<EntryRecord>> {
        let mut out = Vec::new();
        for key in self.pending_order()? {
            if let Some(rec) = self.pending_entry(&key)? {
                out.push(rec);
            }
        }
        Ok(out)
    }
    /// Stores a seed; returns true when it was new or changed.
    fn put_seed(&self, seed: &SeedRecord) -> Result<bool>;
    /// One seed by file name.
    fn seed(&self, name: &str) -> Result<Option<SeedRecord>>;
    /// All seeds.
    fn seeds(&self) -> Result<Vec<SeedRecord>>;
    /// Removes seeds whose files are gone; returns how many.
    fn retain_seeds(&self, keep: &[String]) -> Result<usize>;
}

/// Items, stories and alerts: what the judge decided.
pub trait JudgedStore {
    /// One item by canonical URL.
    fn item(&self, url: &str) -> Result<Option<ItemRecord>>;
    /// Saves an item record alone (updates that add no decision).
    fn put_item(&self, item: &ItemRecord) -> Result<()>;
    /// All items.
    fn items(&self) -> Result<Vec<ItemRecord>>;
    /// Every item, one at a time (see [`FeedStore::for_each_entry`]); returns how many
    /// records were unreadable and skipped.
    fn for_each_item(&self, f: &mut dyn FnMut(ItemRecord)) -> Result<usize> {
        for i in self.items()? {
            f(i);
        }
        Ok(0)
    }
    /// Forgets items by canonical URL; returns how many were removed.
    fn forget_items(&self, urls: &[String]) -> Result<usize>;
    /// The item whose doc id is `id` (used for explanations only; may scan).
    fn item_by_doc(&self, id: u64) -> Result<Option<ItemRecord>> {
        Ok(self.items()?.into_iter().find(|i| i.doc_id == id))
    }
    /// Prepares fast lookups of unknown item keys before judging starts (a backend may keep
    /// them in memory); returns how many items are known.
    fn index_item_keys(&self) -> Result<usize>;
    /// All stories (of every topic).
    fn stories(&self) -> Result<Vec<StoryRecord>>;
    /// Saves a story record alone (adopting old records; the judge writes stories with
    /// their items).
    fn put_story(&self, story: &StoryRecord) -> Result<()>;
    /// Saves an alert record alone (adopting old records).
    fn put_alert(&self, alert: &AlertRecord) -> Result<()>;
    /// Deletes a story (`topics prune`).
    fn remove_story(&self, id: &str) -> Result<()>;
    /// Deletes an alert (`topics prune`; its deliveries are finished first).
    fn remove_alert(&self, id: &str) -> Result<()>;
    /// One story.
    fn story(&self, id: &str) -> Result<Option<StoryRecord>>;
    /// All alerts, oldest first.
    fn alerts(&self) -> Result<Vec<AlertRecord>>;
    /// One alert.
    fn alert(&self, id: &str) -> Result<Option<AlertRecord>>;
    /// Writes an item's decision and everything that goes with it in one transaction: the
    /// item, its story, its alert with one outbox row per endpoint, and the entry's done
    /// status; the text's index record just before.
    fn commit_item(&self, c: &ItemCommit<'_>) -> Result<()>;
    /// Writes many decisions that alert nobody (off-topic, copies, unreadable, known URLs) in
    /// one transaction: their items (and the originals their copies updated) and their
    /// entries' done status, after their texts' index records. A crash loses the group whole;
    /// its entries, still pending, are judged again.
    fn commit_decisions(
        &self,
        entries: &[EntryRecord],
        items: &[&ItemRecord],
        dups: &[DupEntry],
    ) -> Result<()>;
}

/// The durable half of the near-duplicate index.
pub trait DupStore {
    /// Stores a text's index record (idempotent). No transaction needed: the record is
    /// written before its decision, and an item whose decision was not committed is judged
    /// again with its own earlier record ignored by doc id.
    fn index_text(&self, d: &DupEntry) -> Result<()>;
    /// Removes the index records of off-topic items, once per store (the judge indexes only
    /// texts that could alert). Returns how many were removed.
    fn drop_off_topic_texts(&self) -> Result<usize>;
    /// Calls `f` with every stored index record (doc id, record), one at a time.
    fn for_each_dup_record(&self, f: &mut dyn FnMut(u64, &[u8])) -> Result<()>;
    /// One index record.
    fn dup_record(&self, id: u64) -> Result<Option<Vec<u8>>>;
    /// Number of index records.
    fn dup_len(&self) -> usize;
    /// What a doc id is: `seed:NAME` or `item:URL`.
    fn doc_key(&self, id: u64) -> Result<Option<String>>;
}

/// Webhook deliveries and digests.
pub trait DeliveryStore {
    /// Records that a receiver answered 2xx, as cheaply and as soon as possible (see the
    /// outbox): a crash right after must not make wirewatch send the alert again.
    fn journal_delivered(&self, alert: &str, endpoint: &str) -> Result<()>;
    /// Housekeeping of what [`DeliveryStore::journal_delivered`] wrote, once the delivery is
    /// recorded for good.
    fn compact_journal(&self) -> Result<()>;
    /// Pending deliveries of one endpoint, in alert order.
    fn outbox_for(&self, endpoint: &str, limit: usize) -> Result<Vec<DeliveryRecord>>;
    /// All pending deliveries.
    fn outbox(&self) -> Result<Vec<DeliveryRecord>>;
    /// Updates a pending delivery (attempts, next try, last error).
    fn update_delivery(&self, d: &DeliveryRecord) -> Result<()>;
    /// Moves a delivery out of the outbox into the delivered or dead ones, atomically.
    fn finish_delivery(&self, d: &DeliveryRecord) -> Result<()>;
    /// Whether an alert was delivered to an endpoint.
    fn was_delivered(&self, alert: &str, endpoint: &str) -> Result<bool>;
    /// Dead letters.
    fn dead_letters(&self) -> Result<Vec<DeliveryRecord>>;
    /// Puts every dead letter back in the outbox, due now. Returns how many.
    fn requeue_dead(&self, now: DateTime<Utc>) -> Result<usize>;
    /// The record of a sent digest.
    fn digest(&self, day: &str) -> Result<Option<DigestRecord>>;
    /// The most recent digest sent.
    fn last_digest(&self) -> Result<Option<DigestRecord>>;
    /// Records a sent digest, durably (a digest must never be sent twice).
    fn put_digest(&self, d: &DigestRecord) -> Result<()>;
    /// Every digest sent, oldest first (`store migrate`).
    fn digests(&self) -> Result<Vec<DigestRecord>>;
    /// Every finished delivery, delivered or dead (`store migrate`).
    fn finished_deliveries(&self) -> Result<Vec<DeliveryRecord>>;
    /// Stores a delivery as it is: pending in the outbox, else finished (`store migrate`).
    fn put_delivery(&self, d: &DeliveryRecord) -> Result<()>;
}

/// What [`TextStore::for_each_kept_text`] calls with each text: URL, when it was kept, packed
/// text.
pub type KeptTextVisitor<'a> = dyn FnMut(&str, DateTime<Utc>, &[u8]) + 'a;

/// The extracted texts of judged items, kept for a window (see [`texts`]).
pub trait TextStore {
    /// Keeps an item's text (as [`texts::pack`] made it), replacing any kept before.
    fn keep_text(&self, url: &str, at: DateTime<Utc>, packed: &[u8]) -> Result<()>;
    /// An item's kept text (the latest kept). May scan: for the reader's commands.
    fn kept_text(&self, url: &str) -> Result<Option<String>>;
    /// The kept texts of several items, by URL (those found): what the judge reads after a
    /// pass, its near misses for a late rescue. The default reads each in turn; a backend
    /// whose single read scans (the embedded store's segment files) reads them all in one
    /// scan.
    fn kept_texts(&self, urls: &[&str]) -> Result<std::collections::HashMap<String, String>> {
        let mut out = std::collections::HashMap::new();
        for url in urls {
            if let Some(t) = self.kept_text(url)? {
                out.insert((*url).to_string(), t);
            }
        }
        Ok(out)
    }
    /// Calls `f` with every text kept since `since` (URL, when, packed text), oldest first; a
    /// URL kept twice comes twice, the latest last.
    fn for_each_kept_text(&self, since: DateTime<Utc>, f: &mut KeptTextVisitor<'_>) -> Result<()>;
    /// The URLs of the texts kept since `since`, each with the earliest time it was kept
    /// since then: which items a re-judge can read. A backend that can list them without
    /// reading the texts does (PostgreSQL: a week of texts is tens of megabytes to send for a
    /// list of URLs).
    fn kept_text_urls(
        &self,
        since: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<String, DateTime<Utc>>> {
        let mut out: std::collections::HashMap<String, DateTime<Utc>> =
            std::collections::HashMap::new();
        self.for_each_kept_text(since, &mut |url, at, _| {
            let first = out.entry(url.to_string()).or_insert(at);
            *first = (*first).min(at);
        })?;
        Ok(out)
    }
    /// Drops texts kept before `before` (a backend may drop them in batches, keeping some a
    /// little longer); returns how many batches or texts went.
    fn prune_texts(&self, before: DateTime<Utc>) -> Result<usize>;
    /// The bytes the kept texts take.
    fn kept_texts_bytes(&self) -> Result<u64>;
}

/// A whole store: every concern, plus what spans them.
pub trait Backend:
    FeedStore + JudgedStore + DupStore + DeliveryStore + TextStore + Send + Sync
{
    /// Makes everything written so far durable (blocking; see [`Store::flush`]).
    fn flush_blocking(&self) -> Result<()>;
    /// A small JSON value kept under a name (learned site templates, one-time migrations).
    fn get_meta(&self, name: &str) -> Result<Option<serde_json::Value>>;
    /// Saves a JSON value under a name.
    fn put_meta(&self, name: &str, v: &serde_json::Value) -> Result<()>;
    /// Deletes a named value.
    fn delete_meta(&self, name: &str) -> Result<()>;
    /// Every named value (`store migrate`).
    fn metas(&self) -> Result<Vec<(String, serde_json::Value)>>;
    /// The named values whose name starts with `prefix`, by name (a topic's reader's marks,
    /// one value each, so that two processes marking at once never overwrite each other).
    fn metas_under(&self, prefix: &str) -> Result<Vec<(String, serde_json::Value)>>;
    /// Deletes the named values whose name starts with `prefix` (a journal, once what it
    /// holds is stored whole); returns how many.
    fn delete_metas_under(&self, prefix: &str) -> Result<usize> {
        let names = self.metas_under(prefix)?;
        for (name, _) in &names {
            self.delete_meta(name)?;
        }
        Ok(names.len())
    }
    /// Counts of what is stored.
    fn stats(&self) -> Result<StoreStats>;

    // Coordination of several processes over one store (PostgreSQL). The embedded store is
    // one process's: every answer below is "yours".

    /// Whether other processes may share this store.
    fn is_shared(&self) -> bool {
        false
    }
    /// Claims the poll of a feed for `lease` (its interval): `None` when this process may
    /// poll it now (the lease is its own until then), `Some(until)` when another worker
    /// holds it.
    fn claim_feed(
        &self,
        _feed_id: &str,
        _lease: std::time::Duration,
    ) -> Result<Option<DateTime<Utc>>> {
        Ok(None)
    }
    /// Takes the next turn to send a request to `host`, turns being `spacing` apart across
    /// every process on the store: how long to wait before sending it. (The embedded
    /// store's one process spaces its requests itself: no wait.)
    fn host_turn(&self, _host: &str, _spacing: std::time::Duration) -> Result<std::time::Duration> {
        Ok(std::time::Duration::ZERO)
    }
    /// Whether this process judges now: `Some(epoch)` when it holds the judge lease (the
    /// epoch changes each time it takes the lease anew: what it holds in memory of earlier
    /// decisions must then be read again), `None` when another worker holds it.
    fn judge_lease(&self) -> Result<Option<u64>> {
        Ok(Some(0))
    }
    /// Claims a pending delivery for `lease`: whether this process may attempt it now.
    fn claim_delivery(
        &self,
        _alert: &str,
        _endpoint: &str,
        _lease: std::time::Duration,
    ) -> Result<bool> {
        Ok(true)
    }
    /// Claims the sending of a day's digest for `lease`: whether this process sends it.
    fn claim_digest(&self, _day: &str, _lease: std::time::Duration) -> Result<bool> {
        Ok(true)
    }
    /// Records this process alive, with what it did since it started.
    fn heartbeat(&self, _work: &WorkerCounts) -> Result<()> {
        Ok(())
    }
    /// The processes working on this store (seen in the last minute), and their leases.
    fn workers(&self) -> Result<Vec<WorkerInfo>> {
        Ok(Vec::new())
    }
}

/// What this process did since it started, for [`Backend::heartbeat`] (process-wide: it
/// outlives the pipelines a reload replaces).
pub mod work {
    use std::sync::atomic::{AtomicU64, Ordering};

    static POLLS: AtomicU64 = AtomicU64::new(0);
    static ENTRIES: AtomicU64 = AtomicU64::new(0);
    static DELIVERIES: AtomicU64 = AtomicU64::new(0);

    /// A feed was polled.
    pub fn polled() {
        POLLS.fetch_add(1, Ordering::Relaxed);
    }
    /// Entries were decided.
    pub fn decided(n: usize) {
        ENTRIES.fetch_add(n as u64, Ordering::Relaxed);
    }
    /// A delivery was made.
    pub fn delivered() {
        DELIVERIES.fetch_add(1, Ordering::Relaxed);
    }
    /// The counts so far.
    pub fn counts() -> super::WorkerCounts {
        super::WorkerCounts {
            polls: POLLS.load(Ordering::Relaxed),
            entries: ENTRIES.load(Ordering::Relaxed),
            deliveries: DELIVERIES.load(Ordering::Relaxed),
        }
    }
}

/// What one worker did since it started (see [`Backend::heartbeat`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct WorkerCounts {
    /// Feeds polled.
    pub polls: u64,
    /// Entries decided.
    pub entries: u64,
    /// Deliveries made.
    pub deliveries: u64,
}

/// A worker sharing the store.
#[derive(Clone, Debug, Serialize)]
pub struct WorkerInfo {
    /// Its id (host, pid and a random part).
    pub worker: String,
    /// Its host.
    pub host: String,
    /// Its process id.
    pub pid: i32,
    /// When it started.
    pub started: DateTime<Utc>,
    /// When it last said it was alive.
    pub seen: DateTime<Utc>,
    /// Feed leases it holds now.
    pub leases: i64,
    /// Whether it holds the judge lease.
    pub judging: bool,
    /// What it did since it started.
    pub counts: WorkerCounts,
}

/// Where the store names the topic that owns the records of a single-topic version.
const SINGLE_TOPIC_OWNER: &str = "single_topic_owner";

/// Gives the records a single-topic version of wirewatch wrote (item decisions, stories,
/// alerts: none of them named a topic) to the topic `id` (named `name`): the config's first
/// topic when the store is first opened by a version that has topics. Once per store; the
/// owner is remembered ([`single_topic_owner`]: the duplicate-index records of those
/// versions are its too). An interrupted run starts over, and finishes what it left.
pub fn adopt_single_topic(store: &Store, id: &str, name: &str) -> Result<()> {
    if store.get_meta(SINGLE_TOPIC_OWNER)?.is_some() {
        return Ok(());
    }
    let mut adopted = 0usize;
    for mut item in store.items()? {
        if let Some(d) = item.legacy_decision.take() {
            item.decisions.entry(id.to_string()).or_insert(d);
            store.put_item(&item)?;
            adopted += 1;
        }
    }
    for mut story in store.stories()? {
        if story.topic.is_empty() {
            story.topic = id.to_string();
            store.put_story(&story)?;
        }
    }
    for mut alert in store.alerts()? {
        if alert.topic.is_empty() {
            alert.topic = id.to_string();
            alert.topic_name = name.to_string();
            store.put_alert(&alert)?;
        }
    }
    store.put_meta(
        SINGLE_TOPIC_OWNER,
        &serde_json::Value::String(id.to_string()),
    )?;
    store.flush_blocking()?;
    if adopted > 0 {
        tracing::info!(
            topic = id,
            items = adopted,
            "records of a single-topic store given to the first topic"
        );
    }
    Ok(())
}

/// The topic that owns the records of a single-topic version ([`adopt_single_topic`]).
pub fn single_topic_owner(store: &Store) -> Result<Option<String>> {
    Ok(store
        .get_meta(SINGLE_TOPIC_OWNER)?
        .and_then(|v| v.as_str().map(str::to_string)))
}

/// A handle on the store: cheap to clone, shared by every stage. Its methods are the
/// [`Backend`]'s (through `Deref`), plus [`Store::flush`].
#[derive(Clone)]
pub struct Store(Arc<dyn Backend>);

impl std::ops::Deref for Store {
    type Target = dyn Backend;
    fn deref(&self) -> &(dyn Backend + 'static) {
        &*self.0
    }
}

impl Store {
    /// Opens (creating if needed) the embedded store at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        Ok(Store(Arc::new(sled::SledStore::open(path)?)))
    }

    /// A store over any backend.
    pub fn from_backend(backend: Arc<dyn Backend>) -> Store {
        Store(backend)
    }

    /// Makes everything written so far durable, on tokio's blocking pool (a flush is an fsync).
    pub async fn flush(&self) -> Result<()> {
        self.blocking("flushing", |s| s.flush_blocking()).await
    }

    /// Runs `work` on the store on tokio's blocking pool (an fsync, a scan of every record),
    /// so that it does not hold up the runtime's workers; `context` names it should the task
    /// itself fail.
    pub async fn blocking<T: Send + 'static>(
        &self,
        context: &str,
        work: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let me = self.clone();
        match tokio::task::spawn_blocking(move || work(&me)).await {
            Ok(r) => r,
            Err(e) => Err(StoreError::Sled {
                context: context.into(),
                source: ::sled::Error::Io(std::io::Error::other(format!("task failed: {e}"))),
            }),
        }
    }
}
