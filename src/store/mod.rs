//! The store: the one module that touches sled.
//!
//! Every other stage sees typed records and typed operations; the trees, key layouts and the
//! record encoding live here, so a newcomer changes persistence in one place.
//!
//! Trees:
//! - `meta`: `schema_version` (big-endian u32), checked when the store opens;
//! - `feeds`: feed id → [`FeedState`];
//! - `entries`: feed id ‖ 0x00 ‖ entry id → [`EntryRecord`];
//! - `pending`: the keys of entries not yet processed (an index, written in the same
//!   transaction as the entry);
//! - `seeds`: seed file name → [`SeedRecord`].
//!
//! ## Durability, and where we flush
//! sled keeps recent writes in memory and writes them to its log in the background (every
//! 500 ms by default); after a crash it recovers a consistent prefix of the writes. A
//! `kill -9` can therefore lose the last instants of work but never tears a record. What must
//! not happen is that a *later* write survives while an earlier one it depends on is lost:
//! storing a feed's new `ETag` while losing the entries that poll found would make the next
//! poll a 304 and lose those entries for good. So the pipeline calls [`Store::flush`] after a
//! poll's entries are written and *before* the feed's validators are saved, and again at the
//! end of a cycle and at shutdown. Entries are written `Pending` before any work is done on
//! them, so a crash mid-processing leaves them to be processed on the next start.

mod records;

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sled::Transactional;

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
}

/// The sled database and its typed trees.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    feeds: sled::Tree,
    entries: sled::Tree,
    pending: sled::Tree,
    seeds: sled::Tree,
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
            .cache_capacity(64 << 20)
            .flush_every_ms(Some(500))
            .open()
            .ctx(format!("opening {}", path.display()))?;
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
        Ok(Store {
            feeds: db.open_tree("feeds").ctx("opening tree feeds")?,
            entries: db.open_tree("entries").ctx("opening tree entries")?,
            pending: db.open_tree("pending").ctx("opening tree pending")?,
            seeds: db.open_tree("seeds").ctx("opening tree seeds")?,
            db,
        })
    }

    /// Writes everything buffered to disk (see the module doc for when this is called).
    pub async fn flush(&self) -> Result<()> {
        self.db.flush_async().await.ctx("flushing")?;
        Ok(())
    }

    /// Writes everything buffered to disk, blocking.
    pub fn flush_blocking(&self) -> Result<()> {
        self.db.flush().ctx("flushing")?;
        Ok(())
    }

    /// The state of a feed, if it was ever polled.
    pub fn feed_state(&self, feed_id: &str) -> Result<Option<FeedState>> {
        self.feeds
            .get(feed_id)
            .ctx("reading feed state")?
            .map(|v| decode("feed", &v))
            .transpose()
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
    /// an unchanged one is left alone. Atomic per entry (compare-and-swap loop).
    pub fn upsert_entry(
        &self,
        feed_id: &str,
        id: &str,
        entry: &Entry,
        now: DateTime<Utc>,
    ) -> Result<EntryChange> {
        use sled::transaction::{ConflictableTransactionError, TransactionError};
        let key = Self::entry_key(feed_id, id);
        let res = (&self.entries, &self.pending).transaction(|(entries, pending)| {
            let (rec, change) = match entries.get(&key)? {
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
                    },
                    EntryChange::New,
                ),
                Some(bytes) => {
                    let mut rec: EntryRecord =
                        decode("entry", &bytes).map_err(ConflictableTransactionError::Abort)?;
                    if !entry_changed(&rec.entry, entry) {
                        return Ok(EntryChange::Unchanged);
                    }
                    rec.entry = entry.clone();
                    rec.changed_at = now;
                    rec.revisions += 1;
                    rec.status = EntryStatus::Pending;
                    (rec, EntryChange::Updated)
                }
            };
            entries.insert(key.as_slice(), encode(&rec))?;
            pending.insert(key.as_slice(), &[])?;
            Ok(change)
        });
        match res {
            Ok(change) => Ok(change),
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(source)) => Err(StoreError::Sled {
                context: "writing entry".into(),
                source,
            }),
        }
    }

    /// One stored entry.
    pub fn entry(&self, feed_id: &str, id: &str) -> Result<Option<EntryRecord>> {
        self.entries
            .get(Self::entry_key(feed_id, id))
            .ctx("reading entry")?
            .map(|v| decode("entry", &v))
            .transpose()
    }

    /// Replaces a stored entry record (after processing).
    pub fn put_entry(&self, rec: &EntryRecord) -> Result<()> {
        let key = Self::entry_key(&rec.feed_id, &rec.id);
        let value = encode(rec);
        let done = rec.status == EntryStatus::Done;
        (&self.entries, &self.pending)
            .transaction(|(entries, pending)| {
                entries.insert(key.as_slice(), value.as_slice())?;
                if done {
                    pending.remove(key.as_slice())?;
                } else {
                    pending.insert(key.as_slice(), &[])?;
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| StoreError::Sled {
                context: "writing entry".into(),
                source: match e {
                    sled::transaction::TransactionError::Storage(s) => s,
                    sled::transaction::TransactionError::Abort(()) => {
                        sled::Error::Unsupported("aborted".into())
                    }
                },
            })
    }

    /// All stored entries, in key order (feed, then id).
    pub fn entries(&self) -> Result<Vec<EntryRecord>> {
        self.entries
            .iter()
            .map(|kv| {
                let (_, v) = kv.ctx("reading entries")?;
                decode("entry", &v)
            })
            .collect()
    }

    /// Entries still waiting for processing.
    pub fn pending_entries(&self) -> Result<Vec<EntryRecord>> {
        let mut out = Vec::new();
        for kv in self.pending.iter() {
            let (k, _) = kv.ctx("reading pending entries")?;
            if let Some(v) = self.entries.get(&k).ctx("reading entry")? {
                out.push(decode("entry", &v)?);
            }
        }
        Ok(out)
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
        self.seeds
            .get(name.as_bytes())
            .ctx("reading seed")?
            .map(|v| decode("seed", &v))
            .transpose()
    }

    /// All seeds.
    pub fn seeds(&self) -> Result<Vec<SeedRecord>> {
        self.seeds
            .iter()
            .map(|kv| {
                let (_, v) = kv.ctx("reading seeds")?;
                decode("seed", &v)
            })
            .collect()
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
        })
    }
}

/// Whether a feed changed an entry in a way worth looking at again. Dates or text, not the
/// order of authors or whitespace.
fn entry_changed(old: &Entry, new: &Entry) -> bool {
    old.updated != new.updated
        || old.title != new.title
        || old.link != new.link
        || norm(&old.content_html) != norm(&new.content_html)
        || norm(&old.summary) != norm(&new.summary)
}

fn norm(s: &Option<String>) -> String {
    s.as_deref()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
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

    #[test]
    fn upsert_is_idempotent_and_sees_updates() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Sled {
            context: "tempdir".into(),
            source: sled::Error::Io(e),
        })?;
        let store = Store::open(&dir.path().join("db"))?;
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
