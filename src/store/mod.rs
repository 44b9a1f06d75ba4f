//! The store: the one module that touches sled.
//!
//! Every other stage sees typed records and typed operations; the trees, key layouts and the
//! record encoding live here, so a newcomer changes persistence in one place.
//!
//! Trees:
//! - `meta`: `schema_version` (big-endian u32), checked when the store opens; the extractor's
//!   learned site templates; `dup_index_relevant_only`, set once off-topic texts' index
//!   records were dropped ([`Store::drop_off_topic_texts`]);
//! - `feeds`: feed id → [`FeedState`];
//! - `entries`: feed id ‖ 0x00 ‖ entry id → [`EntryRecord`]; once processed, slimmed to what
//!   noticing an in-place change needs (its feed text replaced by a hash);
//! - `pending`: the keys of entries not yet processed, each with its processing order (an
//!   index, written in the same transaction as the entry);
//! - `seeds`: seed file name → [`SeedRecord`];
//! - `items`: canonical URL → [`ItemRecord`] (text, decision and reasons);
//! - `dup_doc` (doc id → the dedup stage's opaque record of a text: fingerprint, band keys,
//!   sketch) and `dup_key` (doc id → `seed:NAME` / `item:URL`): the near-duplicate index's
//!   durable half (the pipeline keeps its lookup structure in memory, loaded from `dup_doc`);
//! - `stories`: story id → [`StoryRecord`];
//! - `alerts`: alert id → [`AlertRecord`];
//! - `outbox`: endpoint ‖ 0x00 ‖ created (µs, big-endian) ‖ alert id → [`DeliveryRecord`],
//!   pending deliveries in alert order per endpoint; `delivered` and `dead` hold the finished
//!   ones by alert id ‖ 0x00 ‖ endpoint;
//! - `digests`: local date → [`DigestRecord`].
//!
//! An item's record, its story, its alert and its outbox rows are written in one transaction
//! ([`Store::commit_item`]), so an alert exists exactly when its item says so; its text's index
//! entries are written just before, outside it ([`Store::index_text`] says why that is safe).
//! Decisions that alert nobody are written in groups, one transaction per group
//! ([`Store::commit_decisions`]).
//!
//! ## Durability, and where we flush
//! sled keeps recent writes in memory and writes them to its log in the background (every
//! 500 ms by default); after a crash it recovers a consistent state, each transaction whole or
//! absent. A `kill -9` can therefore lose the last instants of work but never tears a record.
//! What must not happen is that a feed's new `ETag` survives while the entries that poll found
//! are lost: the next poll would be a 304 and lose them for good. So a poll's entries and the
//! feed's validators are written in one transaction ([`Store::record_poll`]); the pipeline
//! flushes at the end of a cycle and at shutdown. Entries are written `Pending` before any
//! work is done on them, so a crash mid-processing leaves them to be processed on the next
//! start.

mod items;
mod journal;
mod records;

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sled::Transactional;

pub use items::{
    AlertRecord, Decision, DeliveryRecord, DeliveryState, DigestRecord, ItemRecord, StoryRecord,
    TermWeight, TextSource,
};
pub use records::{EntryRecord, EntryStatus, FeedState, SeedRecord};

use crate::parse::Entry;

/// The on-disk schema this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// The version byte in front of every record.
const RECORD_VERSION: u8 = 1;

/// A store failure, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed (I/O, corruption, full disk).
    #[error("store {context}: {source}")]
    Sled {
        /// What the store was doing.
        context: String,
        /// sled's error.
        source: sled::Error,
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
}

/// Result alias of this module.
pub type Result<T> = std::result::Result<T, StoreError>;

trait Ctx<T> {
    fn ctx(self, context: impl Into<String>) -> Result<T>;
}

impl<T> Ctx<T> for std::result::Result<T, sled::Error> {
    fn ctx(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|source| StoreError::Sled {
            context: context.into(),
            source,
        })
    }
}

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = vec![RECORD_VERSION];
    // Serialising plain data structs to JSON cannot fail (no maps with non-string keys).
    if serde_json::to_writer(&mut out, v).is_err() {
        out.truncate(1);
        out.extend_from_slice(b"null");
    }
    out
}

/// The in-memory hash of an item key.
fn key_hash(url: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(url)
}

/// A pending entry's key, in [`Store::pending_order`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingKey(Box<[u8]>);

/// Processing order of a pending entry, kept as the pending tree's value: (publication time
/// or else first-seen time, first-seen time), each as seconds (big-endian i64) and
/// nanoseconds (big-endian u32).
fn pending_order_key(rec: &EntryRecord) -> [u8; 24] {
    let when = rec.entry.published.unwrap_or(rec.first_seen);
    let mut out = [0u8; 24];
    out[..8].copy_from_slice(&when.timestamp().to_be_bytes());
    out[8..12].copy_from_slice(&when.timestamp_subsec_nanos().to_be_bytes());
    out[12..20].copy_from_slice(&rec.first_seen.timestamp().to_be_bytes());
    out[20..].copy_from_slice(&rec.first_seen.timestamp_subsec_nanos().to_be_bytes());
    out
}

/// The order tuple of a pending value; `None` for the empty values of older stores.
fn decode_order_key(v: &[u8]) -> Option<(i64, u32, i64, u32)> {
    let v: &[u8; 24] = v.try_into().ok()?;
    let i = |r: std::ops::Range<usize>| -> Option<i64> {
        Some(i64::from_be_bytes(v[r].try_into().ok()?))
    };
    let u = |r: std::ops::Range<usize>| -> Option<u32> {
        Some(u32::from_be_bytes(v[r].try_into().ok()?))
    };
    Some((i(0..8)?, u(8..12)?, i(12..20)?, u(20..24)?))
}

fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T> {
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

/// Reads and decodes one record.
fn get_rec<T: DeserializeOwned>(
    tree: &sled::Tree,
    key: impl AsRef<[u8]>,
    what: &'static str,
    context: &str,
) -> Result<Option<T>> {
    tree.get(key)
        .ctx(context)?
        .map(|v| decode(what, &v))
        .transpose()
}

/// Reads and decodes every record of a tree, in key order.
fn all_recs<T: DeserializeOwned>(
    tree: &sled::Tree,
    what: &'static str,
    context: &str,
) -> Result<Vec<T>> {
    tree.iter()
        .map(|kv| decode(what, &kv.ctx(context)?.1))
        .collect()
}

/// sled's page cache size: `$WIREWATCH_CACHE_MB` MiB, default 16 MiB. sled's memory grows
/// well past this figure with the amount written (its page table and paged-out page stubs,
/// sled issues #986 and #1093), but the figure still moves it: measured on a 10,000-feed
/// cycle (`benches/README.md`), 64 MiB peaked at 640 MB RSS and 16 MiB at 390 MB, and ran
/// faster (less cache upkeep). The hot lookups (duplicates) are in memory anyway.
fn cache_bytes() -> u64 {
    std::env::var("WIREWATCH_CACHE_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(16)
        << 20
}

/// A stable, short id for a feed URL (the first 16 hex digits of its SHA-256).
pub fn feed_id(url: &str) -> String {
    let d = Sha256::digest(url.as_bytes());
    hex::encode(&d[..8])
}

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
}

/// The sled database and its typed trees.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    journal: std::sync::Arc<journal::Journal>,
    feeds: sled::Tree,
    entries: sled::Tree,
    pending: sled::Tree,
    seeds: sled::Tree,
    items: sled::Tree,
    /// Hashes of every key of `items`, once [`Store::index_item_keys`] has run: a lookup of a
    /// URL never seen (nearly every lookup while judging new entries) is then a hash probe, not
    /// a B-tree descent that pulls pages from disk. Every write to `items` adds its key
    /// first; a hash collision only costs a tree read.
    item_keys: std::sync::Arc<std::sync::RwLock<Option<rustc_hash::FxHashSet<u64>>>>,
    dup_doc: sled::Tree,
    dup_key: sled::Tree,
    meta: sled::Tree,
    stories: sled::Tree,
    alerts: sled::Tree,
    outbox: sled::Tree,
    delivered: sled::Tree,
    dead: sled::Tree,
    digests: sled::Tree,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and checks its schema version.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| StoreError::Sled {
                    context: format!("creating {}", parent.display()),
                    source: sled::Error::Io(e),
                })?;
            }
        }
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes())
            .flush_every_ms(Some(500))
            .open()
            .map_err(|e| {
                let busy = matches!(&e, sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock);
                StoreError::Sled {
                    context: if busy {
                        format!(
                            "opening {} (another wirewatch process is using this state directory)",
                            path.display()
                        )
                    } else {
                        format!("opening {}", path.display())
                    },
                    source: e,
                }
            })?;
        let meta = db.open_tree("meta").ctx("opening tree meta")?;
        match meta.get("schema_version").ctx("reading schema version")? {
            Some(v) => {
                let found = <[u8; 4]>::try_from(v.as_ref())
                    .map(u32::from_be_bytes)
                    .unwrap_or(0);
                if found != SCHEMA_VERSION {
                    return Err(StoreError::Schema {
                        path: path.display().to_string(),
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
            }
            None => {
                meta.insert("schema_version", &SCHEMA_VERSION.to_be_bytes())
                    .ctx("writing schema version")?;
                db.flush().ctx("flushing new store")?;
            }
        }
        let journal =
            journal::Journal::open(&path.with_extension("delivered.journal")).map_err(|e| {
                StoreError::Sled {
                    context: "opening the delivery journal".into(),
                    source: sled::Error::Io(e),
                }
            })?;
        let store = Store {
            journal: std::sync::Arc::new(journal),
            feeds: db.open_tree("feeds").ctx("opening tree feeds")?,
            entries: db.open_tree("entries").ctx("opening tree entries")?,
            pending: db.open_tree("pending").ctx("opening tree pending")?,
            seeds: db.open_tree("seeds").ctx("opening tree seeds")?,
            items: db.open_tree("items").ctx("opening tree items")?,
            item_keys: Default::default(),
            dup_doc: db.open_tree("dup_doc").ctx("opening tree dup_doc")?,
            dup_key: db.open_tree("dup_key").ctx("opening tree dup_key")?,
            meta: meta.clone(),
            stories: db.open_tree("stories").ctx("opening tree stories")?,
            alerts: db.open_tree("alerts").ctx("opening tree alerts")?,
            outbox: db.open_tree("outbox").ctx("opening tree outbox")?,
            delivered: db.open_tree("delivered").ctx("opening tree delivered")?,
            dead: db.open_tree("dead").ctx("opening tree dead")?,
            digests: db.open_tree("digests").ctx("opening tree digests")?,
            db,
        };
        store.apply_journal()?;
        Ok(store)
    }

    /// Moves the deliveries the journal says were answered 2xx (by a run that died before
    /// recording them in sled) out of the outbox, then empties the journal.
    fn apply_journal(&self) -> Result<()> {
        let done = self.journal.entries();
        if done.is_empty() {
            return Ok(());
        }
        for d in self.outbox()? {
            if done.contains(&(d.alert.clone(), d.endpoint.clone())) {
                let mut d = d;
                d.state = DeliveryState::Delivered;
                d.finished = Some(Utc::now());
                self.finish_delivery(&d)?;
            }
        }
        self.db.flush().ctx("flushing journalled deliveries")?;
        self.journal.clear().map_err(|e| StoreError::Sled {
            context: "clearing the delivery journal".into(),
            source: sled::Error::Io(e),
        })
    }

    /// Records, in one small append to the delivery journal, that a receiver answered 2xx.
    /// This is the first thing done after the answer: far cheaper than a sled flush, it
    /// shrinks the window in which a crash could make wirewatch send the alert again to the
    /// time of one `write` call. Survives a process crash (the OS has the bytes), not a power
    /// cut; sled's own record follows at once.
    pub fn journal_delivered(&self, alert: &str, endpoint: &str) -> Result<()> {
        self.journal
            .append(alert, endpoint)
            .map_err(|e| StoreError::Sled {
                context: "writing the delivery journal".into(),
                source: sled::Error::Io(e),
            })
    }

    /// Empties the journal once sled holds everything in it (after a flush).
    pub fn compact_journal(&self) -> Result<()> {
        if self.journal.len() < 1024 {
            return Ok(());
        }
        self.db
            .flush()
            .ctx("flushing before compacting the journal")?;
        self.journal.clear().map_err(|e| StoreError::Sled {
            context: "clearing the delivery journal".into(),
            source: sled::Error::Io(e),
        })
    }

    /// Writes everything buffered to disk (see the module doc for when this is called).
    ///
    /// sled 0.34's `flush_async` deadlocks when several tasks await it at once (sled issue
    /// #1308; `wirewatch once` over 10 feeds hung forever), so the blocking flush runs on
    /// tokio's blocking pool instead; concurrent blocking flushes are safe.
    pub async fn flush(&self) -> Result<()> {
        let db = self.db.clone();
        match tokio::task::spawn_blocking(move || db.flush()).await {
            Ok(r) => {
                r.ctx("flushing")?;
            }
            Err(e) => {
                return Err(StoreError::Sled {
                    context: "flushing".into(),
                    source: sled::Error::Io(std::io::Error::other(format!(
                        "flush task failed: {e}"
                    ))),
                })
            }
        }
        Ok(())
    }

    /// Writes everything buffered to disk, blocking.
    pub fn flush_blocking(&self) -> Result<()> {
        self.db.flush().ctx("flushing")?;
        Ok(())
    }

    /// The state of a feed, if it was ever polled.
    pub fn feed_state(&self, feed_id: &str) -> Result<Option<FeedState>> {
        get_rec(&self.feeds, feed_id, "feed", "reading feed state")
    }

    /// Saves the state of a feed.
    pub fn put_feed_state(&self, feed_id: &str, state: &FeedState) -> Result<()> {
        self.feeds
            .insert(feed_id, encode(state))
            .ctx("writing feed state")?;
        Ok(())
    }

    /// All feed states, by feed id.
    pub fn feed_states(&self) -> Result<Vec<(String, FeedState)>> {
        let mut out = Vec::new();
        for kv in self.feeds.iter() {
            let (k, v) = kv.ctx("reading feeds")?;
            out.push((
                String::from_utf8_lossy(&k).into_owned(),
                decode("feed", &v)?,
            ));
        }
        Ok(out)
    }

    fn entry_key(feed_id: &str, id: &str) -> Vec<u8> {
        let mut k = Vec::with_capacity(feed_id.len() + 1 + id.len());
        k.extend_from_slice(feed_id.as_bytes());
        k.push(0);
        k.extend_from_slice(id.as_bytes());
        k
    }

    /// Stores an entry of a feed under its stable id. A new entry is stored `Pending`; an
    /// entry the feed changed in place is updated and set `Pending` again, so the pipeline
    /// looks at the new version (and decides itself whether it deserves a second alert);
    /// an unchanged one is left alone. Atomic per entry.
    pub fn upsert_entry(
        &self,
        feed_id: &str,
        id: &str,
        entry: &Entry,
        now: DateTime<Utc>,
    ) -> Result<EntryChange> {
        let res = (&self.entries, &self.pending)
            .transaction(|(entries, pending)| upsert_in(entries, pending, feed_id, id, entry, now));
        unwrap_tx(res, "writing entry")
    }

    /// Records one successful poll: every entry it found (see [`Store::upsert_entry`]) and the
    /// feed's new state, in one transaction. One transaction per poll instead of one per entry
    /// is cheaper, and it makes "validators saved, entries lost" impossible without a flush:
    /// storing a new `ETag` while losing the entries that poll found would make the next poll a
    /// 304 and lose them for good. `state.entries_new` is increased by the new entries.
    ///
    /// A very large feed is written in chunks, each flushed before the next, the state last.
    pub fn record_poll(
        &self,
        feed_id: &str,
        found: &[(String, &Entry)],
        now: DateTime<Utc>,
        state: &FeedState,
    ) -> Result<PollChanges> {
        const CHUNK: usize = 512;
        let mut total = PollChanges::default();
        let mut chunks = found.chunks(CHUNK).peekable();
        if chunks.peek().is_none() {
            self.put_feed_state(feed_id, state)?;
            return Ok(total);
        }
        while let Some(chunk) = chunks.next() {
            let last = chunks.peek().is_none();
            let res = (&self.entries, &self.pending, &self.feeds).transaction(
                |(entries, pending, feeds)| {
                    let mut c = PollChanges::default();
                    for (id, entry) in chunk {
                        match upsert_in(entries, pending, feed_id, id, entry, now)? {
                            EntryChange::New => c.new += 1,
                            EntryChange::Updated => c.updated += 1,
                            EntryChange::Unchanged => {}
                        }
                    }
                    if last {
                        let mut st = state.clone();
                        st.entries_new += (total.new + c.new) as u64;
                        feeds.insert(feed_id.as_bytes(), encode(&st))?;
                    }
                    Ok(c)
                },
            );
            let c = unwrap_tx(res, "writing a poll's entries")?;
            total.new += c.new;
            total.updated += c.updated;
            if !last {
                self.flush_blocking()?;
            }
        }
        Ok(total)
    }

    /// One stored entry.
    pub fn entry(&self, feed_id: &str, id: &str) -> Result<Option<EntryRecord>> {
        get_rec(
            &self.entries,
            Self::entry_key(feed_id, id),
            "entry",
            "reading entry",
        )
    }

    /// Replaces a stored entry record (after processing).
    pub fn put_entry(&self, rec: &EntryRecord) -> Result<()> {
        let key = Self::entry_key(&rec.feed_id, &rec.id);
        let value = encode_entry(rec);
        let order = pending_order_key(rec);
        let done = rec.status == EntryStatus::Done;
        (&self.entries, &self.pending)
            .transaction(|(entries, pending)| {
                entries.insert(key.as_slice(), value.as_slice())?;
                if done {
                    pending.remove(key.as_slice())?;
                } else {
                    pending.insert(key.as_slice(), &order)?;
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| tx_err("writing entry", e))
    }

    /// All stored entries, in key order (feed, then id). Processed ones are in their slim
    /// form (see [`EntryRecord::body_hash`]).
    pub fn entries(&self) -> Result<Vec<EntryRecord>> {
        all_recs(&self.entries, "entry", "reading entries")
    }

    /// Entries still waiting for processing.
    pub fn pending_entries(&self) -> Result<Vec<EntryRecord>> {
        let mut out = Vec::new();
        for key in self.pending_order()? {
            if let Some(rec) = self.pending_entry(&key)? {
                out.push(rec);
            }
        }
        Ok(out)
    }

    /// The pending entries' keys in processing order (oldest first: publication time, else
    /// first-seen time, then first-seen time), without loading the records: a cycle over a
    /// large feed list has hundreds of thousands of pending entries, and holding them all
    /// decoded at once cost more memory than everything else together.
    pub fn pending_order(&self) -> Result<Vec<PendingKey>> {
        let mut keyed = Vec::with_capacity(self.pending.len());
        for kv in self.pending.iter() {
            let (k, v) = kv.ctx("reading pending entries")?;
            let order = match decode_order_key(&v) {
                Some(o) => o,
                // Written before the order was kept in the pending tree: read the entry.
                None => match self.entries.get(&k).ctx("reading entry")? {
                    Some(e) => decode_order_key(&pending_order_key(&decode("entry", &e)?))
                        .unwrap_or_default(),
                    None => continue,
                },
            };
            keyed.push((order, PendingKey(k.to_vec().into_boxed_slice())));
        }
        // Stable: equal times keep the tree's (key) order.
        keyed.sort_by_key(|(o, _)| *o);
        Ok(keyed.into_iter().map(|(_, k)| k).collect())
    }

    /// A pending entry's record; `None` when it is gone or no longer pending. The record's
    /// own status says so (every write keeps it and the pending tree in step, in one
    /// transaction), which saves a second tree lookup per entry.
    pub fn pending_entry(&self, key: &PendingKey) -> Result<Option<EntryRecord>> {
        match self.entries.get(&key.0).ctx("reading entry")? {
            Some(v) => {
                let rec: EntryRecord = decode("entry", &v)?;
                Ok((rec.status == EntryStatus::Pending).then_some(rec))
            }
            None => Ok(None),
        }
    }

    /// Number of pending entries.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Stores a seed; returns true when it was new or changed.
    pub fn put_seed(&self, seed: &SeedRecord) -> Result<bool> {
        if let Some(old) = self.seed(&seed.name)? {
            if old == *seed {
                return Ok(false);
            }
        }
        self.seeds
            .insert(seed.name.as_bytes(), encode(seed))
            .ctx("writing seed")?;
        Ok(true)
    }

    /// One seed by file name.
    pub fn seed(&self, name: &str) -> Result<Option<SeedRecord>> {
        get_rec(&self.seeds, name.as_bytes(), "seed", "reading seed")
    }

    /// All seeds.
    pub fn seeds(&self) -> Result<Vec<SeedRecord>> {
        all_recs(&self.seeds, "seed", "reading seeds")
    }

    /// Removes seeds whose files are gone.
    pub fn retain_seeds(&self, keep: &[String]) -> Result<usize> {
        let mut removed = 0;
        for seed in self.seeds()? {
            if !keep.contains(&seed.name) {
                self.seeds
                    .remove(seed.name.as_bytes())
                    .ctx("removing seed")?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Counts of what is stored.
    pub fn stats(&self) -> Result<StoreStats> {
        Ok(StoreStats {
            feeds: self.feeds.len(),
            pending: self.pending.len(),
            entries: self.entries.len(),
            seeds: self.seeds.len(),
            items: self.items.len(),
            stories: self.stories.len(),
            alerts: self.alerts.len(),
            outbox: self.outbox.len(),
            dead: self.dead.len(),
        })
    }
}

/// Whether a feed changed an entry in a way worth looking at again. Dates or text, not the
/// order of authors or whitespace.
fn entry_changed(old: &EntryRecord, new: &Entry) -> bool {
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
fn encode_entry(rec: &EntryRecord) -> Vec<u8> {
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

/// The upsert of one entry inside a transaction (see [`Store::upsert_entry`]).
fn upsert_in(
    entries: &sled::transaction::TransactionalTree,
    pending: &sled::transaction::TransactionalTree,
    feed_id: &str,
    id: &str,
    entry: &Entry,
    now: DateTime<Utc>,
) -> std::result::Result<EntryChange, sled::transaction::ConflictableTransactionError<StoreError>> {
    use sled::transaction::ConflictableTransactionError;
    let key = Store::entry_key(feed_id, id);
    let stored = entries
        .get(&key)?
        .map(|v| decode::<EntryRecord>("entry", &v));
    let (rec, change) = match stored {
        None => (
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
                body_hash: None,
            },
            EntryChange::New,
        ),
        Some(rec) => {
            let mut rec = rec.map_err(ConflictableTransactionError::Abort)?;
            if !entry_changed(&rec, entry) {
                return Ok(EntryChange::Unchanged);
            }
            rec.entry = entry.clone();
            rec.body_hash = None;
            rec.changed_at = now;
            rec.revisions += 1;
            rec.status = EntryStatus::Pending;
            rec.attempts = 0;
            (rec, EntryChange::Updated)
        }
    };
    entries.insert(key.as_slice(), encode(&rec))?;
    pending.insert(key.as_slice(), &pending_order_key(&rec))?;
    Ok(change)
}

fn unwrap_tx<T>(
    res: std::result::Result<T, sled::transaction::TransactionError<StoreError>>,
    context: &str,
) -> Result<T> {
    match res {
        Ok(v) => Ok(v),
        Err(sled::transaction::TransactionError::Abort(e)) => Err(e),
        Err(sled::transaction::TransactionError::Storage(source)) => Err(StoreError::Sled {
            context: context.into(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(title: &str) -> Entry {
        Entry {
            guid: Some("g1".into()),
            link: Some("https://example.org/a".into()),
            title: Some(title.into()),
            ..Entry::default()
        }
    }

    fn temp_store() -> Result<(tempfile::TempDir, Store)> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Sled {
            context: "tempdir".into(),
            source: sled::Error::Io(e),
        })?;
        let store = Store::open(&dir.path().join("db"))?;
        Ok((dir, store))
    }

    #[test]
    fn off_topic_texts_leave_the_duplicate_index_once() -> Result<()> {
        let (_dir, store) = temp_store()?;
        let now = Utc::now();
        let item = |url: &str, decision: Decision| ItemRecord {
            url: url.into(),
            doc_id: 0,
            links: Vec::new(),
            feeds: Vec::new(),
            source: "s".into(),
            title: "t".into(),
            byline: None,
            published: None,
            first_seen: now,
            decided_at: now,
            revisions: 0,
            text_source: TextSource::Page,
            text_note: None,
            text: String::new(),
            words: 0,
            decision,
            duplicates: Vec::new(),
        };
        let off = Decision::OffTopic {
            score: 0.1,
            threshold: 0.3,
            terms: Vec::new(),
            query: None,
        };
        let kept = Decision::Unreadable { reason: "r".into() };
        store.put_item(&item("http://a/off", off.clone()))?;
        store.put_item(&item("http://a/kept", kept))?;
        for (id, key) in [
            (1u64, "item:http://a/off"),
            (2, "item:http://a/kept"),
            (3, "seed:s"),
        ] {
            store.index_text(&DupEntry {
                id,
                key: key.into(),
                record: vec![1, 2, 3],
            })?;
        }
        assert_eq!(store.drop_off_topic_texts()?, 1);
        assert_eq!(store.dup_len(), 2);
        assert_eq!(store.doc_key(1)?, None);
        assert_eq!(store.doc_key(2)?.as_deref(), Some("item:http://a/kept"));
        assert_eq!(store.doc_key(3)?.as_deref(), Some("seed:s"));
        // Once per store: a later off-topic record (there are none in new stores) stays.
        store.put_item(&item("http://a/off2", off))?;
        store.index_text(&DupEntry {
            id: 4,
            key: "item:http://a/off2".into(),
            record: vec![1],
        })?;
        assert_eq!(store.drop_off_topic_texts()?, 0);
        assert_eq!(store.dup_len(), 3);
        Ok(())
    }

    #[test]
    fn upsert_is_idempotent_and_sees_updates() -> Result<()> {
        let (_dir, store) = temp_store()?;
        let now = Utc::now();
        assert_eq!(
            store.upsert_entry("f", "g1", &entry("a"), now)?,
            EntryChange::New
        );
        assert_eq!(
            store.upsert_entry("f", "g1", &entry("a"), now)?,
            EntryChange::Unchanged
        );
        assert_eq!(
            store.upsert_entry("f", "g1", &entry("a (updated)"), now)?,
            EntryChange::Updated
        );
        let rec = store.entry("f", "g1")?.ok_or(StoreError::Corrupt {
            what: "entry",
            message: "missing".into(),
        })?;
        assert_eq!(rec.revisions, 1);
        assert_eq!(store.stats()?.entries, 1);
        Ok(())
    }

    fn missing(what: &'static str) -> StoreError {
        StoreError::Corrupt {
            what,
            message: "missing".into(),
        }
    }

    #[test]
    fn a_poll_is_recorded_whole_with_the_feed_state_and_in_chunks_when_huge() -> Result<()> {
        let (_dir, store) = temp_store()?;
        let now = Utc::now();
        let entries: Vec<Entry> = (0..1300).map(|i| entry(&format!("t{i}"))).collect();
        let found: Vec<(String, &Entry)> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (format!("g{i}"), e))
            .collect();
        let state = FeedState {
            url: "https://example.org/feed".into(),
            etag: Some("\"v1\"".into()),
            entries_new: 5,
            ..FeedState::default()
        };
        // 1300 entries: three chunks, the state written with the last.
        let c = store.record_poll("f", &found, now, &state)?;
        assert_eq!((c.new, c.updated), (1300, 0));
        let saved = store.feed_state("f")?.ok_or(missing("feed"))?;
        assert_eq!(saved.etag.as_deref(), Some("\"v1\""));
        assert_eq!(saved.entries_new, 1305, "increased by the new entries");
        assert_eq!(store.pending_len(), 1300);
        // Seen again, one changed: only that one is pending again.
        let changed = entry("t7 (updated)");
        let mut again = found.clone();
        again[7].1 = &changed;
        for e in store.pending_entries()? {
            let mut done = e;
            done.status = EntryStatus::Done;
            store.put_entry(&done)?;
        }
        let c = store.record_poll("f", &again[..20], now, &saved)?;
        assert_eq!((c.new, c.updated), (0, 1));
        assert_eq!(store.pending_len(), 1);
        assert_eq!(
            store.feed_state("f")?.ok_or(missing("feed"))?.entries_new,
            1305
        );
        Ok(())
    }

    #[test]
    fn processed_entries_keep_a_hash_of_their_text_and_still_notice_changes() -> Result<()> {
        let (_dir, store) = temp_store()?;
        let now = Utc::now();
        let mut e = entry("a");
        e.summary = Some("<p>The summary,   as given.</p>".into());
        e.content_html = Some("<p>A long body.</p>".repeat(50));
        store.upsert_entry("f", "g1", &e, now)?;
        let mut rec = store.entry("f", "g1")?.ok_or(missing("entry"))?;
        assert!(rec.entry.content_html.is_some(), "pending keeps the text");
        let keys = store.pending_order()?;
        assert_eq!(keys.len(), 1);
        assert!(store.pending_entry(&keys[0])?.is_some());
        rec.status = EntryStatus::Done;
        store.put_entry(&rec)?;
        assert!(
            store.pending_entry(&keys[0])?.is_none(),
            "done: no longer pending"
        );
        let slim = store.entry("f", "g1")?.ok_or(missing("entry"))?;
        assert_eq!(slim.entry.content_html, None);
        assert_eq!(slim.entry.summary, None);
        assert!(slim.body_hash.is_some());
        assert_eq!(slim.entry.title.as_deref(), Some("a"));
        // Whitespace alone is no change; a new summary or body is.
        let mut same = e.clone();
        same.summary = Some("<p>The summary, as   given.</p>".into());
        assert_eq!(
            store.upsert_entry("f", "g1", &same, now)?,
            EntryChange::Unchanged
        );
        let mut edited = e.clone();
        edited.content_html = Some("<p>A longer body.</p>".repeat(50));
        assert_eq!(
            store.upsert_entry("f", "g1", &edited, now)?,
            EntryChange::Updated
        );
        let back = store.entry("f", "g1")?.ok_or(missing("entry"))?;
        assert_eq!(back.body_hash, None, "pending again, with its full text");
        assert_eq!(back.entry.content_html, edited.content_html);
        Ok(())
    }

    #[test]
    fn pending_order_is_oldest_first_and_reads_older_stores() -> Result<()> {
        let (_dir, store) = temp_store()?;
        let now = Utc::now();
        let at = |days: i64| Entry {
            published: Some(now - chrono::Duration::days(days)),
            ..entry("x")
        };
        // Keys sort a < b < c; publication order is c (oldest), a, b (undated: first seen).
        store.upsert_entry("f", "a", &at(2), now)?;
        store.upsert_entry("f", "b", &entry("undated"), now)?;
        store.upsert_entry("f", "c", &at(3), now)?;
        // A pending marker as older versions wrote it (empty value): read from the entry.
        store
            .pending
            .insert(Store::entry_key("f", "a"), &[])
            .ctx("test")?;
        let ids: Vec<String> = store
            .pending_order()?
            .iter()
            .filter_map(|k| store.pending_entry(k).ok().flatten())
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["c", "a", "b"]);
        assert_eq!(store.pending_len(), 3);
        Ok(())
    }

    #[test]
    fn schema_mismatch_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        {
            let db = sled::open(&path).expect("open");
            let meta = db.open_tree("meta").expect("tree");
            meta.insert("schema_version", &99u32.to_be_bytes())
                .expect("insert");
            db.flush().expect("flush");
        }
        let err = Store::open(&path).err().expect("must fail");
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }

    #[test]
    fn corrupt_record_is_an_error_not_a_panic() {
        assert!(decode::<FeedState>("feed", b"").is_err());
        assert!(decode::<FeedState>("feed", b"\x07{}").is_err());
        assert!(decode::<FeedState>("feed", b"\x01{not json").is_err());
        assert!(decode::<FeedState>("feed", b"\x01{}").is_ok());
    }
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

fn outbox_key(endpoint: &str, created: DateTime<Utc>, alert: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(endpoint.len() + 1 + 8 + alert.len());
    k.extend_from_slice(endpoint.as_bytes());
    k.push(0);
    k.extend_from_slice(&created.timestamp_micros().to_be_bytes());
    k.extend_from_slice(alert.as_bytes());
    k
}

fn finished_key(alert: &str, endpoint: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(alert.len() + 1 + endpoint.len());
    k.extend_from_slice(alert.as_bytes());
    k.push(0);
    k.extend_from_slice(endpoint.as_bytes());
    k
}

fn tx_err(context: &str, e: sled::transaction::TransactionError<()>) -> StoreError {
    StoreError::Sled {
        context: context.to_string(),
        source: match e {
            sled::transaction::TransactionError::Storage(s) => s,
            sled::transaction::TransactionError::Abort(()) => {
                sled::Error::Unsupported("transaction aborted".into())
            }
        },
    }
}

type TxResult = std::result::Result<(), sled::transaction::ConflictableTransactionError<()>>;

impl Store {
    /// Writes an item's decision and everything that goes with it in one transaction: the item,
    /// its story, its alert with one outbox row per endpoint, and the entry's done status. A
    /// crash leaves either all of it or none. The text's index entries are written just before.
    pub fn commit_item(&self, c: &ItemCommit<'_>) -> Result<()> {
        // The text's index entries go first, outside the transaction (see `index_text`).
        if let Some(d) = c.dup {
            self.index_text(d)?;
        }
        let item_v = encode(c.item);
        let entry_kv = c
            .entry
            .map(|e| (Self::entry_key(&e.feed_id, &e.id), encode_entry(e)));
        let story_kv = c.story.map(|s| (s.id.clone(), encode(s)));
        let mut outbox_rows = Vec::new();
        if let Some(a) = c.alert {
            for ep in c.endpoints {
                let rec = DeliveryRecord {
                    alert: a.id.clone(),
                    endpoint: ep.clone(),
                    created: a.created,
                    attempts: 0,
                    next_try: a.created,
                    last_error: None,
                    state: DeliveryState::Pending,
                    finished: None,
                };
                outbox_rows.push((outbox_key(ep, a.created, &a.id), encode(&rec)));
            }
        }
        let alert_kv = c.alert.map(|a| (a.id.clone(), encode(a)));
        self.note_item_key(&c.item.url);
        (
            &self.items,
            &self.entries,
            &self.pending,
            &self.stories,
            &self.alerts,
            &self.outbox,
        )
            .transaction(
                |(items, entries, pending, stories, alerts, outbox)| -> TxResult {
                    items.insert(c.item.url.as_bytes(), item_v.as_slice())?;
                    if let Some((k, v)) = &entry_kv {
                        entries.insert(k.as_slice(), v.as_slice())?;
                        pending.remove(k.as_slice())?;
                    }
                    if let Some((k, v)) = &story_kv {
                        stories.insert(k.as_bytes(), v.as_slice())?;
                    }
                    if let Some((k, v)) = &alert_kv {
                        alerts.insert(k.as_bytes(), v.as_slice())?;
                    }
                    for (k, v) in &outbox_rows {
                        outbox.insert(k.as_slice(), v.as_slice())?;
                    }
                    Ok(())
                },
            )
            .map_err(|e| tx_err("committing item", e))
    }

    /// Writes many decisions that alert nobody (off-topic, copies, unreadable, known URLs) in
    /// one transaction: their items (and the originals their copies updated), their entries'
    /// done status, after their texts' index entries. The pipeline groups them because one
    /// transaction per item cost more than the writes themselves; a crash loses the group
    /// whole, and its entries, still pending, are judged again.
    pub fn commit_decisions(
        &self,
        entries: &[EntryRecord],
        items: &[&ItemRecord],
        dups: &[DupEntry],
    ) -> Result<()> {
        for d in dups {
            self.index_text(d)?;
        }
        let entry_kvs: Vec<(Vec<u8>, Vec<u8>)> = entries
            .iter()
            .map(|e| (Self::entry_key(&e.feed_id, &e.id), encode_entry(e)))
            .collect();
        let item_kvs: Vec<(&[u8], Vec<u8>)> = items
            .iter()
            .map(|i| (i.url.as_bytes(), encode(*i)))
            .collect();
        for i in items {
            self.note_item_key(&i.url);
        }
        (&self.items, &self.entries, &self.pending)
            .transaction(|(it, en, pe)| -> TxResult {
                for (k, v) in &item_kvs {
                    it.insert(*k, v.as_slice())?;
                }
                for (k, v) in &entry_kvs {
                    en.insert(k.as_slice(), v.as_slice())?;
                    pe.remove(k.as_slice())?;
                }
                Ok(())
            })
            .map_err(|e| tx_err("committing decisions", e))
    }

    /// Stores a text's duplicate-index record (idempotent): two plain inserts, no transaction
    /// needed — the record is written last, and an item whose decision was not committed is
    /// processed again with its own earlier record ignored by doc id.
    pub fn index_text(&self, d: &DupEntry) -> Result<()> {
        let id = d.id.to_be_bytes();
        self.dup_key
            .insert(&id[..], d.key.as_bytes())
            .ctx("writing dup_key")?;
        self.dup_doc
            .insert(&id[..], d.record.as_slice())
            .ctx("writing dup_doc")?;
        Ok(())
    }

    /// Removes the duplicate-index records of off-topic items, once per store (a `meta` flag
    /// records that it ran). Since the judge indexes only texts that could alert, these are
    /// dead weight: about 260 bytes of memory each once loaded, and most of the index of a
    /// store from before the change. Returns how many were removed. Safe to interrupt: each
    /// record goes in one transaction, and an interrupted run starts over next time.
    pub fn drop_off_topic_texts(&self) -> Result<usize> {
        const DONE: &str = "dup_index_relevant_only";
        if self.get_meta(DONE)?.is_some() {
            return Ok(0);
        }
        let mut removed = 0;
        for kv in self.dup_key.iter() {
            let (id, key) = kv.ctx("reading dup_key")?;
            let Some(url) = key.strip_prefix(b"item:") else {
                continue;
            };
            let off_topic = match std::str::from_utf8(url) {
                Ok(url) => matches!(
                    self.item(url)?,
                    Some(ItemRecord {
                        decision: Decision::OffTopic { .. },
                        ..
                    })
                ),
                Err(_) => false,
            };
            if off_topic {
                (&self.dup_doc, &self.dup_key)
                    .transaction(|(doc, key)| {
                        doc.remove(&id)?;
                        key.remove(&id)?;
                        Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
                    })
                    .map_err(|e| tx_err("removing an off-topic text's index record", e))?;
                removed += 1;
            }
        }
        self.put_meta(DONE, &serde_json::Value::Bool(true))?;
        Ok(removed)
    }

    /// Calls `f` with every stored duplicate-index record (doc id, record), one at a time.
    pub fn for_each_dup_record(&self, mut f: impl FnMut(u64, &[u8])) -> Result<()> {
        for kv in self.dup_doc.iter() {
            let (k, v) = kv.ctx("reading dup_doc")?;
            if let Ok(id) = <[u8; 8]>::try_from(k.as_ref()) {
                f(u64::from_be_bytes(id), &v);
            }
        }
        Ok(())
    }

    /// One duplicate-index record.
    pub fn dup_record(&self, id: u64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .dup_doc
            .get(id.to_be_bytes())
            .ctx("reading dup_doc")?
            .map(|v| v.to_vec()))
    }

    /// Number of duplicate-index records.
    pub fn dup_len(&self) -> usize {
        self.dup_doc.len()
    }

    /// What a doc id is: `seed:NAME` or `item:URL`.
    pub fn doc_key(&self, id: u64) -> Result<Option<String>> {
        Ok(self
            .dup_key
            .get(id.to_be_bytes())
            .ctx("reading dup_key")?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// A small JSON value kept under a name in `meta` (learned site templates, ...).
    pub fn get_meta(&self, name: &str) -> Result<Option<serde_json::Value>> {
        get_rec(&self.meta, name.as_bytes(), "meta", "reading meta")
    }

    /// Saves a JSON value under a name in `meta`.
    pub fn put_meta(&self, name: &str, v: &serde_json::Value) -> Result<()> {
        self.meta
            .insert(name.as_bytes(), encode(v))
            .ctx("writing meta")?;
        Ok(())
    }

    /// One item by canonical URL.
    pub fn item(&self, url: &str) -> Result<Option<ItemRecord>> {
        let known = self
            .item_keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|set| set.contains(&key_hash(url)));
        if known == Some(false) {
            return Ok(None);
        }
        get_rec(&self.items, url.as_bytes(), "item", "reading item")
    }

    /// Builds the in-memory set of item keys (see the field's doc), once; returns its size.
    /// Called by the pipeline before it starts judging.
    pub fn index_item_keys(&self) -> Result<usize> {
        let mut guard = self.item_keys.write().unwrap_or_else(|p| p.into_inner());
        if let Some(set) = guard.as_ref() {
            return Ok(set.len());
        }
        let mut set = rustc_hash::FxHashSet::default();
        for k in self.items.iter().keys() {
            let k = k.ctx("reading item keys")?;
            set.insert(key_hash(&String::from_utf8_lossy(&k)));
        }
        let n = set.len();
        *guard = Some(set);
        Ok(n)
    }

    /// Adds an item key to the in-memory set, before the key is written.
    fn note_item_key(&self, url: &str) {
        if let Some(set) = self
            .item_keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            set.insert(key_hash(url));
        }
    }

    /// Saves an item record alone (updates that add no decision).
    pub fn put_item(&self, item: &ItemRecord) -> Result<()> {
        self.note_item_key(&item.url);
        self.items
            .insert(item.url.as_bytes(), encode(item))
            .ctx("writing item")?;
        Ok(())
    }

    /// All items.
    pub fn items(&self) -> Result<Vec<ItemRecord>> {
        all_recs(&self.items, "item", "reading items")
    }

    /// The item whose doc id is `id` (linear scan; used for explanations only).
    pub fn item_by_doc(&self, id: u64) -> Result<Option<ItemRecord>> {
        Ok(self.items()?.into_iter().find(|i| i.doc_id == id))
    }

    /// All stories.
    pub fn stories(&self) -> Result<Vec<StoryRecord>> {
        all_recs(&self.stories, "story", "reading stories")
    }

    /// One story.
    pub fn story(&self, id: &str) -> Result<Option<StoryRecord>> {
        get_rec(&self.stories, id.as_bytes(), "story", "reading story")
    }

    /// All alerts, oldest first.
    pub fn alerts(&self) -> Result<Vec<AlertRecord>> {
        let mut v: Vec<AlertRecord> = self
            .alerts
            .iter()
            .map(|kv| decode("alert", &kv.ctx("reading alerts")?.1))
            .collect::<Result<_>>()?;
        v.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        Ok(v)
    }

    /// One alert.
    pub fn alert(&self, id: &str) -> Result<Option<AlertRecord>> {
        get_rec(&self.alerts, id.as_bytes(), "alert", "reading alert")
    }

    /// Pending deliveries of one endpoint, in alert order.
    pub fn outbox_for(&self, endpoint: &str, limit: usize) -> Result<Vec<DeliveryRecord>> {
        let mut prefix = endpoint.as_bytes().to_vec();
        prefix.push(0);
        self.outbox
            .scan_prefix(prefix)
            .take(limit)
            .map(|kv| decode("delivery", &kv.ctx("reading outbox")?.1))
            .collect()
    }

    /// All pending deliveries.
    pub fn outbox(&self) -> Result<Vec<DeliveryRecord>> {
        all_recs(&self.outbox, "delivery", "reading outbox")
    }

    /// Updates a pending delivery (attempts, next try, last error).
    pub fn update_delivery(&self, d: &DeliveryRecord) -> Result<()> {
        let key = outbox_key(&d.endpoint, d.created, &d.alert);
        self.outbox.insert(key, encode(d)).ctx("writing delivery")?;
        Ok(())
    }

    /// Moves a delivery out of the outbox into `delivered` or `dead`, atomically.
    pub fn finish_delivery(&self, d: &DeliveryRecord) -> Result<()> {
        let key = outbox_key(&d.endpoint, d.created, &d.alert);
        let fkey = finished_key(&d.alert, &d.endpoint);
        let value = encode(d);
        let dead = d.state == DeliveryState::Dead;
        (&self.outbox, &self.delivered, &self.dead)
            .transaction(|(outbox, delivered, dead_tree)| -> TxResult {
                outbox.remove(key.as_slice())?;
                if dead {
                    dead_tree.insert(fkey.as_slice(), value.as_slice())?;
                } else {
                    delivered.insert(fkey.as_slice(), value.as_slice())?;
                }
                Ok(())
            })
            .map_err(|e| tx_err("finishing delivery", e))
    }

    /// Whether an alert was delivered to an endpoint.
    pub fn was_delivered(&self, alert: &str, endpoint: &str) -> Result<bool> {
        if self.journal.contains(alert, endpoint) {
            return Ok(true);
        }
        self.delivered
            .contains_key(finished_key(alert, endpoint))
            .ctx("reading delivered")
    }

    /// Dead letters.
    pub fn dead_letters(&self) -> Result<Vec<DeliveryRecord>> {
        all_recs(&self.dead, "delivery", "reading dead letters")
    }

    /// Puts every dead letter back in the outbox, due now. Returns how many.
    pub fn requeue_dead(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut n = 0;
        for mut d in self.dead_letters()? {
            let fkey = finished_key(&d.alert, &d.endpoint);
            d.state = DeliveryState::Pending;
            d.attempts = 0;
            d.next_try = now;
            d.finished = None;
            let key = outbox_key(&d.endpoint, d.created, &d.alert);
            let value = encode(&d);
            (&self.outbox, &self.dead)
                .transaction(|(outbox, dead)| -> TxResult {
                    dead.remove(fkey.as_slice())?;
                    outbox.insert(key.as_slice(), value.as_slice())?;
                    Ok(())
                })
                .map_err(|e| tx_err("requeueing dead letter", e))?;
            n += 1;
        }
        Ok(n)
    }

    /// The record of a sent digest.
    pub fn digest(&self, day: &str) -> Result<Option<DigestRecord>> {
        get_rec(&self.digests, day.as_bytes(), "digest", "reading digest")
    }

    /// The most recent digest sent.
    pub fn last_digest(&self) -> Result<Option<DigestRecord>> {
        self.digests
            .last()
            .ctx("reading digests")?
            .map(|(_, v)| decode("digest", &v))
            .transpose()
    }

    /// Records a sent digest (flushes: a digest must never be sent twice).
    pub fn put_digest(&self, d: &DigestRecord) -> Result<()> {
        self.digests
            .insert(d.day.as_bytes(), encode(d))
            .ctx("writing digest")?;
        self.db.flush().ctx("flushing digest record")?;
        Ok(())
    }
}
