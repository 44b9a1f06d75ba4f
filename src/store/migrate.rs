//! Copying a whole store into another (`wirewatch store migrate --to postgres://...`): how a
//! user moves from the embedded store to the shared one without re-alerting anything.
//!
//! Everything goes through the [`Backend`](super::Backend) interface, so any backend copies
//! into any other (the tests go sled → PostgreSQL → sled and compare). Every write is an
//! upsert by the record's own key: running the copy twice, or again after an interruption,
//! leaves the target as one run would.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{DupEntry, Result, Store};

/// How many records of each kind were copied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Copied {
    /// Feed states (with their validators).
    pub feeds: usize,
    /// Entries (pending ones stay pending).
    pub entries: usize,
    /// Seed articles.
    pub seeds: usize,
    /// Items and their decisions.
    pub items: usize,
    /// Records of the duplicate index.
    pub dup_records: usize,
    /// Stories.
    pub stories: usize,
    /// Alerts.
    pub alerts: usize,
    /// Deliveries: pending, delivered and dead.
    pub deliveries: usize,
    /// Digests sent.
    pub digests: usize,
    /// Named values: learned site templates, each topic's evidence, marks and near misses.
    pub meta: usize,
    /// Kept texts.
    pub texts: usize,
}

/// Copies everything `from` holds into `to`.
pub fn copy_all(from: &Store, to: &Store) -> Result<Copied> {
    let mut n = Copied::default();
    for (id, st) in from.feed_states()? {
        to.put_feed_state(&id, &st)?;
        n.feeds += 1;
    }
    for e in from.entries()? {
        to.copy_entry(&e)?;
        n.entries += 1;
    }
    for s in from.seeds()? {
        to.put_seed(&s)?;
        n.seeds += 1;
    }
    for i in from.items()? {
        to.put_item(&i)?;
        n.items += 1;
    }
    // Streamed: a large store's index and texts need not fit in memory at once.
    let mut failed = None;
    from.for_each_dup_record(&mut |id, rec| {
        if failed.is_some() {
            return;
        }
        let copied = from.doc_key(id).and_then(|key| {
            to.index_text(&DupEntry {
                id,
                key: key.unwrap_or_default(),
                record: rec.to_vec(),
            })
        });
        match copied {
            Ok(()) => n.dup_records += 1,
            Err(e) => failed = Some(e),
        }
    })?;
    if let Some(e) = failed.take() {
        return Err(e);
    }
    for s in from.stories()? {
        to.put_story(&s)?;
        n.stories += 1;
    }
    for a in from.alerts()? {
        to.put_alert(&a)?;
        n.alerts += 1;
    }
    for d in from
        .outbox()?
        .into_iter()
        .chain(from.finished_deliveries()?)
    {
        to.put_delivery(&d)?;
        n.deliveries += 1;
    }
    for d in from.digests()? {
        to.put_digest(&d)?;
        n.digests += 1;
    }
    for (k, v) in from.metas()? {
        to.put_meta(&k, &v)?;
        n.meta += 1;
    }
    from.for_each_kept_text(DateTime::<Utc>::UNIX_EPOCH, &mut |url, at, packed| {
        if failed.is_none() {
            match to.keep_text(url, at, packed) {
                Ok(()) => n.texts += 1,
                Err(e) => failed = Some(e),
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    to.flush_blocking()?;
    Ok(n)
}
