//! The embedded store on sled: one process, no server, the default.
//!
//! Trees:
//! - `meta`: `schema_version` (big-endian u32), checked when the store opens; the extractor's
//!   learned site templates; `dup_index_relevant_only`, set once off-topic texts' index
//!   records were dropped;
//! - `feeds`: feed id → [`FeedState`](crate::store::FeedState);
//! - `entries`: feed id ‖ 0x00 ‖ entry id → [`EntryRecord`](crate::store::EntryRecord); once
//!   processed, slimmed to what noticing an in-place change needs (its feed text replaced by
//!   a hash);
//! - `pending`: the keys of entries not yet processed, each with its processing order (an
//!   index, written in the same transaction as the entry);
//! - `seeds`: seed file name → [`SeedRecord`](crate::store::SeedRecord);
//! - `items`: canonical URL → [`ItemRecord`](crate::store::ItemRecord) (decision and reasons);
//! - `dup_doc` (doc id → the dedup stage's opaque record of a text) and `dup_key` (doc id →
//!   `seed:NAME` / `item:URL`);
//! - `stories`, `alerts`: by id;
//! - `outbox`: endpoint ‖ 0x00 ‖ created (µs, big-endian) ‖ alert id → delivery, pending
//!   deliveries in alert order per endpoint; `delivered` and `dead` hold the finished ones by
//!   alert id ‖ 0x00 ‖ endpoint;
//! - `digests`: local date → digest record;
//!
//! Beside the database: the delivery journal ([`journal`]) and the kept texts, in day segment
//! files ([`texts`]).
//!
//! One file per concern: [`feeds`], [`judged`], [`dups`], [`delivery`], [`texts`]; [`codec`] is the
//! record and key layout, [`journal`] the delivery journal beside the database, [`compact`]
//! the copy that gives forgotten space back to the file system (`wirewatch store compact`).
//!
//! ## Durability
//! sled keeps recent writes in memory and writes them to its log in the background (every
//! 500 ms); after a crash it recovers a consistent state, each transaction whole or absent.
//! `flush_blocking` is sled's flush (an fsync).

mod codec;
pub mod compact;
mod delivery;
mod dups;
mod feeds;
mod journal;
mod judged;
mod texts;

use std::path::Path;

use chrono::Utc;
use codec::{encode, get_rec, Ctx};

use super::{Backend, DeliveryState, Result, StoreError, StoreStats};
use crate::store::DeliveryStore;

/// The on-disk schema this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

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

/// The sled database and its typed trees.
pub struct SledStore {
    db: sled::Db,
    /// Where it is (its directory).
    path: std::path::PathBuf,
    journal: journal::Journal,
    feeds: sled::Tree,
    entries: sled::Tree,
    pending: sled::Tree,
    seeds: sled::Tree,
    items: sled::Tree,
    /// Hashes of every key of `items`, once [`JudgedStore::index_item_keys`] has run: a lookup
    /// of a URL never seen (nearly every lookup while judging new entries) is then a hash
    /// probe, not a B-tree descent that pulls pages from disk. Every write to `items` adds its
    /// key first; a hash collision only costs a tree read.
    ///
    /// [`JudgedStore::index_item_keys`]: crate::store::JudgedStore::index_item_keys
    item_keys: std::sync::RwLock<Option<rustc_hash::FxHashSet<u64>>>,
    dup_doc: sled::Tree,
    dup_key: sled::Tree,
    meta: sled::Tree,
    stories: sled::Tree,
    alerts: sled::Tree,
    outbox: sled::Tree,
    delivered: sled::Tree,
    dead: sled::Tree,
    digests: sled::Tree,
    /// The kept texts' directory and the day segment being appended to ([`texts`]).
    texts_dir: std::path::PathBuf,
    texts: std::sync::Mutex<Option<texts::Appender>>,
}

/// Paths this process opened a store at: a store dropped a moment ago may still be held by
/// sled's flusher thread (it lets go within its flush interval), so opening it again from
/// this process waits for that a little instead of failing as "in use".
static OPENED_HERE: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Opens the sled database at `path`; [`StoreError::Busy`] when another process holds it.
fn open_db(path: &Path) -> Result<sled::Db> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let opened = sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes())
            .flush_every_ms(Some(500))
            .open()
            .map_err(|e| {
                // sled reports the lock another process holds as an I/O error of kind `Other`
                // whose message says so (sled 0.34, `Config::open_file`).
                if matches!(&e, sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock
                    || io.to_string().contains("could not acquire lock"))
                {
                    StoreError::Busy {
                        path: path.display().to_string(),
                    }
                } else {
                    StoreError::Sled {
                        context: format!("opening {}", path.display()),
                        source: e,
                    }
                }
            });
        let mut here = OPENED_HERE.lock().unwrap_or_else(|p| p.into_inner());
        match opened {
            Ok(db) => {
                if !here.iter().any(|p| p == path) {
                    here.push(path.to_path_buf());
                }
                return Ok(db);
            }
            Err(StoreError::Busy { .. })
                if here.iter().any(|p| p == path) && std::time::Instant::now() < deadline =>
            {
                drop(here);
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(e),
        }
    }
}

impl SledStore {
    /// Opens (creating if needed) the store at `path` and checks its schema version.
    pub fn open(path: &Path) -> Result<SledStore> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                // Private, as the systemd units make it (StateDirectoryMode=0700): the store
                // holds the texts read and the alerts sent. An existing directory keeps its
                // mode.
                let mut dir = std::fs::DirBuilder::new();
                dir.recursive(true);
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
                dir.create(parent)
                    .map_err(|e| codec::io_err(&format!("creating {}", parent.display()), e))?;
            }
        }
        compact::finish(path)?;
        Self::open_in_place(path)
    }

    /// Opens the store at `path` as it lies, without looking for an interrupted compaction
    /// (a compaction itself, which holds the lock [`compact::finish`] takes).
    fn open_in_place(path: &Path) -> Result<SledStore> {
        let db = open_db(path)?;
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
        let journal = journal::Journal::open(&path.with_extension("delivered.journal"))
            .map_err(|e| codec::io_err("opening the delivery journal", e))?;
        let store = SledStore {
            journal,
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
            texts_dir: texts::dir_of(path),
            path: path.to_path_buf(),
            texts: Default::default(),
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
        self.journal
            .clear()
            .map_err(|e| codec::io_err("clearing the delivery journal", e))
    }
}

impl Backend for SledStore {
    fn flush_blocking(&self) -> Result<()> {
        self.flush_texts()?;
        self.db.flush().ctx("flushing")?;
        Ok(())
    }

    /// A small JSON value kept under a name in `meta` (learned site templates, ...).
    fn get_meta(&self, name: &str) -> Result<Option<serde_json::Value>> {
        get_rec(&self.meta, name.as_bytes(), "meta", "reading meta")
    }

    /// Saves a JSON value under a name in `meta`.
    fn put_meta(&self, name: &str, v: &serde_json::Value) -> Result<()> {
        self.meta
            .insert(name.as_bytes(), encode(v))
            .ctx("writing meta")?;
        Ok(())
    }

    /// Deletes a named value from `meta`.
    fn delete_meta(&self, name: &str) -> Result<()> {
        self.meta.remove(name.as_bytes()).ctx("deleting meta")?;
        Ok(())
    }

    fn metas(&self) -> Result<Vec<(String, serde_json::Value)>> {
        let mut out = Vec::new();
        for kv in self.meta.iter() {
            let (k, v) = kv.ctx("reading meta")?;
            // `schema_version` is sled's own (not JSON).
            if k.as_ref() == b"schema_version" {
                continue;
            }
            out.push((
                String::from_utf8_lossy(&k).into_owned(),
                codec::decode("meta", &v)?,
            ));
        }
        Ok(out)
    }

    fn metas_under(&self, prefix: &str) -> Result<Vec<(String, serde_json::Value)>> {
        let mut out = Vec::new();
        for kv in self.meta.scan_prefix(prefix.as_bytes()) {
            let (k, v) = kv.ctx("reading meta")?;
            out.push((
                String::from_utf8_lossy(&k).into_owned(),
                codec::decode("meta", &v)?,
            ));
        }
        Ok(out)
    }

    /// Counts of what is stored.
    fn stats(&self) -> Result<StoreStats> {
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
            texts_bytes: compact::dir_bytes(&self.texts_dir),
            db_bytes: compact::dir_bytes(&self.path),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::codec::{decode, entry_key};
    use super::*;
    use crate::parse::Entry;
    use crate::store::{FeedState, FeedStore, Store};

    #[test]
    fn schema_mismatch_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        {
            let db = open_db(&path).expect("open");
            let meta = db.open_tree("meta").expect("tree");
            meta.insert("schema_version", &99u32.to_be_bytes())
                .expect("insert");
            db.flush().expect("flush");
        }
        let err = Store::open(&path).err().expect("must fail");
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_new_state_directory_is_private_and_an_existing_one_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        let state = dir.path().join("new/state");
        drop(Store::open(&state.join("db")).expect("open"));
        assert_eq!(mode(&state), 0o700);
        assert_eq!(mode(&dir.path().join("new")), 0o700);
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).expect("mkdir");
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o750)).expect("chmod");
        drop(Store::open(&shared.join("db")).expect("open"));
        assert_eq!(mode(&shared), 0o750);
    }

    #[test]
    fn corrupt_record_is_an_error_not_a_panic() {
        assert!(decode::<FeedState>("feed", b"").is_err());
        assert!(decode::<FeedState>("feed", b"\x07{}").is_err());
        assert!(decode::<FeedState>("feed", b"\x01{not json").is_err());
        assert!(decode::<FeedState>("feed", b"\x01{}").is_ok());
    }

    #[test]
    fn an_unreadable_entry_neither_fails_its_feed_nor_holds_up_the_queue() -> Result<()> {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(&dir.path().join("db"))?;
        let now = chrono::Utc::now();
        let e = |title: &str| Entry {
            guid: Some(title.into()),
            title: Some(title.into()),
            published: Some(now),
            ..Entry::default()
        };
        store.upsert_entry("f", "a", &e("a"), now)?;
        store.upsert_entry("f", "b", &e("b"), now)?;
        store
            .entries
            .insert(entry_key("f", "a"), b"\x01{not json".as_slice())
            .ctx("test")?;
        let store = Store::from_backend(std::sync::Arc::new(store));
        // The queue goes on past it: "a" is set aside, "b" is read.
        let keys = store.pending_order()?;
        let read: Vec<Option<String>> = keys
            .iter()
            .map(|k| store.pending_entry(k).map(|r| r.map(|r| r.id)))
            .collect::<Result<_>>()?;
        assert_eq!(read.iter().flatten().collect::<Vec<_>>(), ["b"]);
        assert_eq!(store.pending_order()?.len(), 1);
        // The feed's next listing stores it afresh, pending again.
        let found = [("a".to_string(), &e("a"))];
        store.record_poll("f", &found, now, &FeedState::default())?;
        let ids = crate::store::tests::pending_ids(&store)?;
        assert_eq!(ids.len(), 2, "{ids:?}");
        Ok(())
    }

    #[test]
    fn a_text_too_large_to_keep_does_not_cut_off_the_texts_after_it() -> Result<()> {
        use crate::store::{texts, TextStore};
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(&dir.path().join("db"))?;
        let now = chrono::Utc::now();
        let text = "A report. ".repeat(20);
        // Cut at 64 KiB, this URL would end inside a character: an unreadable record.
        let long = format!("https://a.example/{}", "é".repeat(40_000));
        store.keep_text("https://a.example/1", now, &texts::pack(&text))?;
        store.keep_text(&long, now, &texts::pack(&text))?;
        store.keep_text("https://a.example/2", now, &texts::pack(&text))?;
        drop(store);
        let store = SledStore::open(&dir.path().join("db"))?;
        store.keep_text("https://a.example/3", now, &texts::pack(&text))?;
        for u in [
            "https://a.example/1",
            "https://a.example/2",
            "https://a.example/3",
        ] {
            assert_eq!(store.kept_text(u)?.as_deref(), Some(text.as_str()), "{u}");
        }
        assert_eq!(store.kept_text(&long)?, None);
        Ok(())
    }

    #[test]
    fn pending_markers_of_older_stores_are_read() -> Result<()> {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(&dir.path().join("db"))?;
        let now = chrono::Utc::now();
        let e = |days: i64, title: &str| Entry {
            guid: Some(title.into()),
            title: Some(title.into()),
            published: Some(now - chrono::Duration::days(days)),
            ..Entry::default()
        };
        store.upsert_entry("f", "a", &e(2, "a"), now)?;
        store.upsert_entry("f", "c", &e(3, "c"), now)?;
        // A pending marker as older versions wrote it (empty value): read from the entry.
        store.pending.insert(entry_key("f", "a"), &[]).ctx("test")?;
        let store = Store::from_backend(std::sync::Arc::new(store));
        let ids = crate::store::tests::pending_ids(&store)?;
        assert_eq!(ids, ["c", "a"]);
        Ok(())
    }

    #[test]
    fn records_of_a_single_topic_version_go_to_the_first_topic() -> Result<()> {
        use crate::store::{adopt_single_topic, single_topic_owner, Decision};
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(&dir.path().join("db"))?;
        // An item, its story and its alert as a single-topic version wrote them: no topic.
        let raw =
            |json: &str| encode(&serde_json::from_str::<serde_json::Value>(json).expect("json"));
        let t = "2026-01-01T00:00:00Z";
        store.items.insert(
            "https://a.example/1",
            raw(&format!(r#"{{"url":"https://a.example/1","doc_id":1,"source":"s","title":"t","first_seen":"{t}","decided_at":"{t}","decision":{{"kind":"alert","alert":"al_1","story":"st_1","story_title":"T","new_story":true,"score":0.9,"terms":[]}}}}"#)),
        ).ctx("test")?;
        store.stories.insert(
            "st_1",
            raw(&format!(r#"{{"id":"st_1","title":"T","first_seen":"{t}","last_seen":"{t}","items":["https://a.example/1"]}}"#)),
        ).ctx("test")?;
        store.alerts.insert(
            "al_1",
            raw(&format!(r#"{{"id":"al_1","created":"{t}","url":"https://a.example/1","title":"t","source":"s","published":null,"story":"st_1","story_title":"T","new_story":true,"score":0.9,"excerpt":""}}"#)),
        ).ctx("test")?;
        let store = Store::from_backend(std::sync::Arc::new(store));
        for _ in 0..2 {
            // Twice: the second time changes nothing.
            adopt_single_topic(&store, "dispute", "The dispute")?;
            let item = store.item("https://a.example/1")?.expect("item");
            assert!(matches!(
                item.decision("dispute"),
                Some(Decision::Alert { .. })
            ));
            assert_eq!(item.decisions.len(), 1);
            assert_eq!(store.story("st_1")?.expect("story").topic, "dispute");
            let alert = store.alert("al_1")?.expect("alert");
            assert_eq!(
                (alert.topic.as_str(), alert.topic_name.as_str()),
                ("dispute", "The dispute")
            );
            assert_eq!(single_topic_owner(&store)?.as_deref(), Some("dispute"));
        }
        Ok(())
    }

    #[test]
    fn a_torn_kept_text_is_cut_off_and_appends_go_on() -> Result<()> {
        use super::texts::dir_of as texts_dir_of;
        use crate::store::{texts, TextStore};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        let now = chrono::Utc::now();
        {
            let store = SledStore::open(&path)?;
            store.keep_text("https://a.example/1", now, &texts::pack("first text"))?;
            store.flush_blocking()?;
        }
        // A crash mid-append: half a record at the end of the day's file.
        let seg = std::fs::read_dir(texts_dir_of(&path))
            .expect("segments")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .next()
            .expect("a segment");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&seg)
            .expect("open");
        std::io::Write::write_all(&mut f, &[200, 0, 0, 0, 1, 2, 3]).expect("torn");
        drop(f);
        let store = SledStore::open(&path)?;
        assert_eq!(
            store.kept_text("https://a.example/1")?.as_deref(),
            Some("first text")
        );
        store.keep_text("https://a.example/2", now, &texts::pack("second text"))?;
        assert_eq!(
            store.kept_text("https://a.example/2")?.as_deref(),
            Some("second text")
        );
        assert_eq!(
            store.kept_text("https://a.example/1")?.as_deref(),
            Some("first text")
        );
        Ok(())
    }
}
