//! Feeds, entries, pending entries and seeds on sled (see [`FeedStore`]).

use chrono::{DateTime, Utc};
use sled::Transactional;

use super::codec::{
    all_recs, decode, decode_order_key, encode, entry_key, get_rec, newer_stored,
    pending_order_key, tx, Ctx, TxExt,
};
use super::SledStore;
use crate::parse::Entry;
use crate::store::records::{encode_entry, upserted};
use crate::store::{
    Backend, EntryChange, EntryRecord, EntryStatus, FeedState, FeedStore, PendingKey, PollChanges,
    Result, SeedRecord, StoreError,
};

impl FeedStore for SledStore {
    /// The state of a feed, if it was ever polled.
    fn feed_state(&self, feed_id: &str) -> Result<Option<FeedState>> {
        super::super::readable_or_none(
            get_rec(&self.feeds, feed_id, "feed", "reading feed state"),
            feed_id,
        )
    }

    /// Saves the state of a feed.
    fn put_feed_state(&self, feed_id: &str, state: &FeedState) -> Result<()> {
        self.feeds
            .insert(feed_id, encode(state))
            .ctx("writing feed state")?;
        Ok(())
    }

    /// All feed states, by feed id.
    fn feed_states(&self) -> Result<Vec<(String, FeedState)>> {
        let mut out = Vec::new();
        for kv in self.feeds.iter() {
            let (k, v) = kv.ctx("reading feeds")?;
            let id = String::from_utf8_lossy(&k).into_owned();
            if let Some(state) = super::super::readable_or_none(decode("feed", &v).map(Some), &id)?
            {
                out.push((id, state));
            }
        }
        Ok(out)
    }

    /// Stores an entry of a feed under its stable id. A new entry is stored `Pending`; an
    /// entry the feed changed in place is updated and set `Pending` again, so the pipeline
    /// looks at the new version (and decides itself whether it deserves a second alert);
    /// an unchanged one is left alone. Atomic per entry.
    fn upsert_entry(
        &self,
        feed_id: &str,
        id: &str,
        entry: &Entry,
        now: DateTime<Utc>,
    ) -> Result<EntryChange> {
        let res = (&self.entries, &self.pending)
            .transaction(|(entries, pending)| upsert_in(entries, pending, feed_id, id, entry, now));
        tx(res, "writing entry")
    }

    /// Records one successful poll: every entry it found (see [`FeedStore::upsert_entry`]) and the
    /// feed's new state, in one transaction. One transaction per poll instead of one per entry
    /// is cheaper, and it makes "validators saved, entries lost" impossible without a flush:
    /// storing a new `ETag` while losing the entries that poll found would make the next poll a
    /// 304 and lose them for good. `state.entries_new` is increased by the new entries.
    ///
    /// A very large feed is written in chunks, each flushed before the next, the state last.
    fn record_poll(
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
            let c = tx(res, "writing a poll's entries")?;
            total.new += c.new;
            total.updated += c.updated;
            if !last {
                self.flush_blocking()?;
            }
        }
        Ok(total)
    }

    /// One stored entry.
    fn entry(&self, feed_id: &str, id: &str) -> Result<Option<EntryRecord>> {
        get_rec(
            &self.entries,
            entry_key(feed_id, id),
            "entry",
            "reading entry",
        )
    }

    /// Replaces a stored entry record (after processing).
    fn put_entry(&self, rec: &EntryRecord) -> Result<()> {
        self.write_entry(rec, true)
    }

    fn copy_entry(&self, rec: &EntryRecord) -> Result<()> {
        self.write_entry(rec, false)
    }

    /// All stored entries, in key order (feed, then id). Processed ones are in their slim
    /// form (see [`EntryRecord::body_hash`]).
    fn entries(&self) -> Result<Vec<EntryRecord>> {
        all_recs(&self.entries, "entry", "reading entries")
    }

    fn for_each_entry(&self, f: &mut dyn FnMut(EntryRecord)) -> Result<usize> {
        let mut unreadable = 0;
        for kv in self.entries.iter() {
            let (_, v) = kv.ctx("reading entries")?;
            match decode::<EntryRecord>("entry", &v) {
                Ok(e) => f(e),
                Err(_) => unreadable += 1,
            }
        }
        Ok(unreadable)
    }

    /// One transaction per 512 keys, each checking the pending tree (which every write keeps
    /// in step with the entry) so that an entry a poll just made pending stays.
    fn forget_entries(&self, keys: &[(String, String)]) -> Result<usize> {
        let mut n = 0;
        for chunk in keys.chunks(512) {
            let res = (&self.entries, &self.pending).transaction(|(entries, pending)| {
                let mut c = 0;
                for (feed, id) in chunk {
                    let k = entry_key(feed, id);
                    if pending.get(&k)?.is_none() && entries.remove(k)?.is_some() {
                        c += 1;
                    }
                }
                Ok::<usize, sled::transaction::ConflictableTransactionError<StoreError>>(c)
            });
            n += tx(res, "forgetting entries")?;
        }
        Ok(n)
    }

    /// The pending entries' keys in processing order (oldest first: publication time, else
    /// first-seen time, then first-seen time), without loading the records: a cycle over a
    /// large feed list has hundreds of thousands of pending entries, and holding them all
    /// decoded at once cost more memory than everything else together.
    fn pending_order(&self) -> Result<Vec<PendingKey>> {
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
    fn pending_entry(&self, key: &PendingKey) -> Result<Option<EntryRecord>> {
        match self.entries.get(&key.0).ctx("reading entry")? {
            Some(v) => match decode::<EntryRecord>("entry", &v) {
                Ok(rec) => Ok((rec.status == EntryStatus::Pending).then_some(rec)),
                // An unreadable record must not hold up every entry behind it: it leaves the
                // queue, and the feed's next listing of the entry stores it afresh
                // ([`upsert_in`]).
                Err(e) => {
                    tracing::warn!(error = %e, "unreadable pending entry set aside");
                    self.pending.remove(&key.0).ctx("removing pending entry")?;
                    Ok(None)
                }
            },
            None => Ok(None),
        }
    }

    /// Number of pending entries.
    fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Stores a seed; returns true when it was new or changed.
    fn put_seed(&self, seed: &SeedRecord) -> Result<bool> {
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
    fn seed(&self, name: &str) -> Result<Option<SeedRecord>> {
        get_rec(&self.seeds, name.as_bytes(), "seed", "reading seed")
    }

    /// All seeds.
    fn seeds(&self) -> Result<Vec<SeedRecord>> {
        all_recs(&self.seeds, "seed", "reading seeds")
    }

    /// Removes seeds whose files are gone.
    fn retain_seeds(&self, keep: &[String]) -> Result<usize> {
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
}

impl SledStore {
    /// Writes an entry record and its place in the pending queue; with `guarded`, only over a
    /// stored record at the same revision (see `revision_marker`).
    fn write_entry(&self, rec: &EntryRecord, guarded: bool) -> Result<()> {
        let key = entry_key(&rec.feed_id, &rec.id);
        let value = encode_entry(rec);
        let order = pending_order_key(rec);
        let done = rec.status == EntryStatus::Done;
        (&self.entries, &self.pending)
            .transaction(|(entries, pending)| {
                // A newer version stored by a poll meanwhile stays.
                if guarded && newer_stored(entries, &key, rec)? {
                    return Ok(());
                }
                entries.insert(key.as_slice(), value.as_slice())?;
                if done {
                    pending.remove(key.as_slice())?;
                } else {
                    pending.insert(key.as_slice(), &order)?;
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<StoreError>>(())
            })
            .tx("writing entry")
    }
}

/// The upsert of one entry inside a transaction (see [`FeedStore::upsert_entry`]).
fn upsert_in(
    entries: &sled::transaction::TransactionalTree,
    pending: &sled::transaction::TransactionalTree,
    feed_id: &str,
    id: &str,
    entry: &Entry,
    now: DateTime<Utc>,
) -> std::result::Result<EntryChange, sled::transaction::ConflictableTransactionError<StoreError>> {
    let key = entry_key(feed_id, id);
    // An unreadable stored version is replaced by the feed's (as on PostgreSQL): one bad
    // record must not fail every poll of its feed.
    let stored = entries
        .get(&key)?
        .and_then(|v| match decode::<EntryRecord>("entry", &v) {
            Ok(rec) => Some(rec),
            Err(e) => {
                tracing::warn!(feed = feed_id, entry = id, error = %e, "unreadable stored entry replaced");
                None
            }
        });
    let Some((rec, change)) = upserted(stored, feed_id, id, entry, now) else {
        return Ok(EntryChange::Unchanged);
    };
    entries.insert(key.as_slice(), encode(&rec))?;
    pending.insert(key.as_slice(), &pending_order_key(&rec))?;
    Ok(change)
}
