//! Feeds, entries, pending entries and seeds on PostgreSQL (see [`FeedStore`]).

use chrono::{DateTime, Utc};

use super::{params, PgStore};
use crate::parse::Entry;
use crate::store::records::{decode, encode, encode_entry, upserted};
use crate::store::{
    EntryChange, EntryRecord, EntryStatus, FeedState, FeedStore, PendingKey, PollChanges, Result,
    SeedRecord, StoreError,
};

/// The processing order of an entry: publication time (else first seen), then first seen.
fn order_of(rec: &EntryRecord) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        rec.entry.published.unwrap_or(rec.first_seen),
        rec.first_seen,
    )
}

/// A pending key: feed id ‖ 0x00 ‖ entry id (as sled's, so both read alike).
fn pending_key(feed_id: &str, id: &str) -> PendingKey {
    let mut k = Vec::with_capacity(feed_id.len() + 1 + id.len());
    k.extend_from_slice(feed_id.as_bytes());
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    PendingKey(k.into_boxed_slice())
}

const UPSERT_ENTRY: &str =
    "INSERT INTO entries (feed_id, entry_id, rec, pending, order_at, first_seen)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (feed_id, entry_id) DO UPDATE SET rec = EXCLUDED.rec, pending = EXCLUDED.pending,
         order_at = EXCLUDED.order_at, first_seen = EXCLUDED.first_seen, stored_at = now()";

/// [`UPSERT_ENTRY`] for a record the pipeline read and writes back: only while the stored one
/// is at the same revision ($7: `records::revision_marker`).
const PUT_ENTRY: &str =
    "INSERT INTO entries (feed_id, entry_id, rec, pending, order_at, first_seen)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (feed_id, entry_id) DO UPDATE SET rec = EXCLUDED.rec, pending = EXCLUDED.pending,
         order_at = EXCLUDED.order_at, first_seen = EXCLUDED.first_seen, stored_at = now()
     WHERE position($7::bytea in entries.rec) > 0";

/// The upsert statement's parameters for a record.
fn entry_params(rec: &EntryRecord) -> super::Params {
    let (at, first) = order_of(rec);
    params![
        rec.feed_id.clone(),
        rec.id.clone(),
        encode_entry(rec),
        rec.status != EntryStatus::Done,
        at,
        first
    ]
}

impl PgStore {
    /// Stores the entries of one poll of a feed and, when given, the feed's state, in one
    /// transaction (the stored versions read under row locks, so two workers recording the
    /// same feed at once cannot both call an entry new).
    fn upsert_entries(
        &self,
        feed_id: &str,
        found: &[(String, &Entry)],
        now: DateTime<Utc>,
        state: Option<&FeedState>,
    ) -> Result<PollChanges> {
        let feed_id = feed_id.to_string();
        let found: Vec<(String, Entry)> = found
            .iter()
            .map(|(id, e)| (id.clone(), (*e).clone()))
            .collect();
        let ids: Vec<String> = found.iter().map(|(id, _)| id.clone()).collect();
        let state = state.cloned();
        let changes = self.run("writing a poll's entries", move |mut c| {
            let (feed_id, found, ids, state) =
                (feed_id.clone(), found.clone(), ids.clone(), state.clone());
            async move {
                let tx = c.transaction().await?;
                let rows = tx
                    .query(
                        "SELECT entry_id, rec FROM entries WHERE feed_id = $1 AND entry_id = ANY($2)
                         FOR UPDATE",
                        &[&feed_id, &ids],
                    )
                    .await?;
                let mut stored = std::collections::HashMap::new();
                for r in &rows {
                    stored.insert(r.get::<_, String>(0), r.get::<_, Vec<u8>>(1));
                }
                let st = tx.prepare_cached(UPSERT_ENTRY).await?;
                let mut c = PollChanges::default();
                for (id, entry) in &found {
                    // An unreadable stored version is replaced by the feed's.
                    let old = stored.get(id).and_then(|b| {
                        decode::<EntryRecord>("entry", b)
                            .map_err(|e| {
                                tracing::warn!(feed = %feed_id, entry = %id, error = %e, "unreadable stored entry replaced")
                            })
                            .ok()
                    });
                    let Some((rec, change)) = upserted(old, &feed_id, id, entry, now) else {
                        continue;
                    };
                    match change {
                        EntryChange::New => c.new += 1,
                        EntryChange::Updated => c.updated += 1,
                        EntryChange::Unchanged => {}
                    }
                    tx.execute(&st, &super::refs(&entry_params(&rec))).await?;
                }
                if let Some(mut st) = state {
                    st.entries_new += c.new as u64;
                    tx.execute(
                        "INSERT INTO feeds (feed_id, state) VALUES ($1, $2)
                         ON CONFLICT (feed_id) DO UPDATE SET state = EXCLUDED.state",
                        &[&feed_id, &encode(&st)],
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(c)
            }
        })?;
        Ok(changes)
    }
}

impl FeedStore for PgStore {
    fn feed_state(&self, feed_id: &str) -> Result<Option<FeedState>> {
        crate::store::readable_or_none(
            self.record(
                "feed",
                "reading feed state",
                "SELECT state FROM feeds WHERE feed_id = $1",
                params![feed_id.to_string()],
            ),
            feed_id,
        )
    }

    fn put_feed_state(&self, feed_id: &str, state: &FeedState) -> Result<()> {
        self.execute(
            "writing feed state",
            "INSERT INTO feeds (feed_id, state) VALUES ($1, $2)
             ON CONFLICT (feed_id) DO UPDATE SET state = EXCLUDED.state",
            params![feed_id.to_string(), encode(state)],
        )?;
        Ok(())
    }

    fn feed_states(&self) -> Result<Vec<(String, FeedState)>> {
        self.query(
            "reading feeds",
            "SELECT feed_id, state FROM feeds ORDER BY feed_id",
            params![],
        )?
        .iter()
        .filter_map(|r| {
            let id = r.get::<_, String>(0);
            let state = decode("feed", r.get::<_, &[u8]>(1)).map(Some);
            crate::store::readable_or_none(state, &id)
                .transpose()
                .map(|s| s.map(|s| (id, s)))
        })
        .collect()
    }

    fn upsert_entry(
        &self,
        feed_id: &str,
        id: &str,
        entry: &Entry,
        now: DateTime<Utc>,
    ) -> Result<EntryChange> {
        let c = self.upsert_entries(feed_id, &[(id.to_string(), entry)], now, None)?;
        Ok(if c.new > 0 {
            EntryChange::New
        } else if c.updated > 0 {
            EntryChange::Updated
        } else {
            EntryChange::Unchanged
        })
    }

    fn record_poll(
        &self,
        feed_id: &str,
        found: &[(String, &Entry)],
        now: DateTime<Utc>,
        state: &FeedState,
    ) -> Result<PollChanges> {
        self.upsert_entries(feed_id, found, now, Some(state))
    }

    fn entry(&self, feed_id: &str, id: &str) -> Result<Option<EntryRecord>> {
        self.record(
            "entry",
            "reading entry",
            "SELECT rec FROM entries WHERE feed_id = $1 AND entry_id = $2",
            params![feed_id.to_string(), id.to_string()],
        )
    }

    fn put_entry(&self, rec: &EntryRecord) -> Result<()> {
        // Not over a newer version a poll stored meanwhile (`records::revision_marker`).
        let mut p = entry_params(rec);
        p.push(Box::new(crate::store::records::revision_marker(rec)));
        self.execute("writing entry", PUT_ENTRY, p)?;
        Ok(())
    }

    fn copy_entry(&self, rec: &EntryRecord) -> Result<()> {
        self.execute("copying entry", UPSERT_ENTRY, entry_params(rec))?;
        Ok(())
    }

    fn entries(&self) -> Result<Vec<EntryRecord>> {
        self.records(
            "entry",
            "reading entries",
            "SELECT rec FROM entries ORDER BY feed_id, entry_id",
            params![],
        )
    }

    /// In pages of 2,000 by key (a keyset scan), so that no more is held at once.
    fn for_each_entry(&self, f: &mut dyn FnMut(EntryRecord)) -> Result<usize> {
        let (mut feed, mut id, mut first) = (String::new(), String::new(), true);
        let mut unreadable = 0;
        loop {
            let rows = self.query(
                "reading entries",
                "SELECT feed_id, entry_id, rec FROM entries
                 WHERE (feed_id, entry_id) > ($1, $2) OR $3
                 ORDER BY feed_id, entry_id LIMIT 2000",
                params![feed.clone(), id.clone(), first],
            )?;
            first = false;
            let Some(last) = rows.last() else {
                return Ok(unreadable);
            };
            feed = last.get(0);
            id = last.get(1);
            for r in &rows {
                match decode::<EntryRecord>("entry", r.get::<_, &[u8]>(2)) {
                    Ok(e) => f(e),
                    Err(_) => unreadable += 1,
                }
            }
            if rows.len() < 2000 {
                return Ok(unreadable);
            }
        }
    }

    /// In statements of 1,000 keys; a pending row is left alone.
    fn forget_entries(&self, keys: &[(String, String)]) -> Result<usize> {
        let mut n = 0;
        for chunk in keys.chunks(1000) {
            let feeds: Vec<String> = chunk.iter().map(|(f, _)| f.clone()).collect();
            let ids: Vec<String> = chunk.iter().map(|(_, i)| i.clone()).collect();
            n += self.execute(
                "forgetting entries",
                "DELETE FROM entries e USING unnest($1::text[], $2::text[]) AS k(feed_id, entry_id)
                 WHERE e.feed_id = k.feed_id AND e.entry_id = k.entry_id AND NOT e.pending",
                params![feeds, ids],
            )? as usize;
        }
        Ok(n)
    }

    fn pending_order(&self) -> Result<Vec<PendingKey>> {
        Ok(self
            .query(
                "reading pending entries",
                "SELECT feed_id, entry_id FROM entries WHERE pending
                 ORDER BY order_at, first_seen, feed_id, entry_id",
                params![],
            )?
            .iter()
            .map(|r| pending_key(r.get(0), r.get(1)))
            .collect())
    }

    fn pending_entry(&self, key: &PendingKey) -> Result<Option<EntryRecord>> {
        let Some(cut) = key.0.iter().position(|b| *b == 0) else {
            return Ok(None);
        };
        let feed_id = String::from_utf8_lossy(&key.0[..cut]).into_owned();
        let id = String::from_utf8_lossy(&key.0[cut + 1..]).into_owned();
        match self.record(
            "entry",
            "reading entry",
            "SELECT rec FROM entries WHERE feed_id = $1 AND entry_id = $2 AND pending",
            params![feed_id.clone(), id.clone()],
        ) {
            // An unreadable record must not hold up every entry behind it: it leaves the
            // queue, and the feed's next listing of the entry stores it afresh.
            Err(e @ StoreError::Corrupt { .. }) => {
                tracing::warn!(feed = %feed_id, entry = %id, error = %e, "unreadable pending entry set aside");
                self.execute(
                    "setting an unreadable entry aside",
                    "UPDATE entries SET pending = false WHERE feed_id = $1 AND entry_id = $2",
                    params![feed_id, id],
                )?;
                Ok(None)
            }
            other => other,
        }
    }

    fn pending_ages(&self) -> Result<Option<(std::time::Duration, std::time::Duration)>> {
        let rows = self.query(
            "reading pending ages",
            "SELECT extract(epoch FROM now() - min(stored_at))::float8,
                    extract(epoch FROM now() - max(stored_at))::float8
             FROM entries WHERE pending HAVING count(*) > 0",
            params![],
        )?;
        let secs = |v: f64| std::time::Duration::from_secs_f64(v.clamp(0.0, 1e9));
        Ok(rows
            .first()
            .map(|r| (secs(r.get::<_, f64>(0)), secs(r.get::<_, f64>(1)))))
    }

    fn pending_len(&self) -> usize {
        match self.count(
            "counting pending entries",
            "SELECT count(*) FROM entries WHERE pending",
        ) {
            Ok(n) => n.max(0) as usize,
            Err(e) => {
                tracing::warn!(error = %e, "counting pending entries failed");
                0
            }
        }
    }

    fn put_seed(&self, seed: &SeedRecord) -> Result<bool> {
        if self.seed(&seed.name)?.as_ref() == Some(seed) {
            return Ok(false);
        }
        self.execute(
            "writing seed",
            "INSERT INTO seeds (name, rec) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET rec = EXCLUDED.rec",
            params![seed.name.clone(), encode(seed)],
        )?;
        Ok(true)
    }

    fn seed(&self, name: &str) -> Result<Option<SeedRecord>> {
        self.record(
            "seed",
            "reading seed",
            "SELECT rec FROM seeds WHERE name = $1",
            params![name.to_string()],
        )
    }

    fn seeds(&self) -> Result<Vec<SeedRecord>> {
        self.records(
            "seed",
            "reading seeds",
            "SELECT rec FROM seeds ORDER BY name",
            params![],
        )
    }

    fn retain_seeds(&self, keep: &[String]) -> Result<usize> {
        Ok(self.execute(
            "removing seeds",
            "DELETE FROM seeds WHERE NOT (name = ANY($1))",
            params![keep.to_vec()],
        )? as usize)
    }
}
