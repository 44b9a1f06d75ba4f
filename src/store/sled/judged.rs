//! Items, stories and alerts on sled (see [`JudgedStore`]).

use sled::Transactional;

use super::codec::{
    all_recs, encode, entry_key, get_rec, key_hash, newer_stored, outbox_key, Ctx, TxExt, TxResult,
};
use super::SledStore;
use crate::store::records::encode_entry;
use crate::store::{
    AlertRecord, DeliveryRecord, DupEntry, DupStore, EntryRecord, ItemCommit, ItemRecord,
    JudgedStore, Result, StoryRecord,
};

impl JudgedStore for SledStore {
    /// Writes an item's decision and everything that goes with it in one transaction: the item,
    /// its story, its alert with one outbox row per endpoint, and the entry's done status. A
    /// crash leaves either all of it or none. The text's index entries are written just before.
    fn commit_item(&self, c: &ItemCommit<'_>) -> Result<()> {
        // The text's index entries go first, outside the transaction (see `index_text`).
        if let Some(d) = c.dup {
            self.index_text(d)?;
        }
        let item_v = encode(c.item);
        let entry_kv = c
            .entry
            .map(|e| (entry_key(&e.feed_id, &e.id), encode_entry(e), e));
        let story_kv = c.story.map(|s| (s.id.clone(), encode(s)));
        let mut outbox_rows = Vec::new();
        if let Some(a) = c.alert {
            for ep in c.endpoints {
                let rec = DeliveryRecord::pending(a, ep);
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
                    if let Some((k, v, e)) = &entry_kv {
                        // Not over a newer version a poll stored meanwhile (see
                        // `revision_marker`): that one stays pending.
                        if !newer_stored(entries, k, e)? {
                            entries.insert(k.as_slice(), v.as_slice())?;
                            pending.remove(k.as_slice())?;
                        }
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
            .tx("committing item")
    }

    /// Writes many decisions that alert nobody (off-topic, copies, unreadable, known URLs) in
    /// one transaction: their items (and the originals their copies updated), their entries'
    /// done status, after their texts' index entries. The pipeline groups them because one
    /// transaction per item cost more than the writes themselves; a crash loses the group
    /// whole, and its entries, still pending, are judged again.
    fn commit_decisions(
        &self,
        entries: &[EntryRecord],
        items: &[&ItemRecord],
        dups: &[DupEntry],
    ) -> Result<()> {
        for d in dups {
            self.index_text(d)?;
        }
        let entry_kvs: Vec<(Vec<u8>, Vec<u8>, &EntryRecord)> = entries
            .iter()
            .map(|e| (entry_key(&e.feed_id, &e.id), encode_entry(e), e))
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
                for (k, v, e) in &entry_kvs {
                    // As in `commit_item`: a newer version stays pending.
                    if newer_stored(en, k, e)? {
                        continue;
                    }
                    en.insert(k.as_slice(), v.as_slice())?;
                    pe.remove(k.as_slice())?;
                }
                Ok(())
            })
            .tx("committing decisions")
    }

    /// Stores a text's duplicate-index record (idempotent): two plain inserts, no transaction
    /// needed — the record is written last, and an item whose decision was not committed is
    /// One item by canonical URL.
    fn item(&self, url: &str) -> Result<Option<ItemRecord>> {
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
    fn index_item_keys(&self) -> Result<usize> {
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
    /// Saves an item record alone (updates that add no decision).
    fn put_item(&self, item: &ItemRecord) -> Result<()> {
        self.note_item_key(&item.url);
        self.items
            .insert(item.url.as_bytes(), encode(item))
            .ctx("writing item")?;
        Ok(())
    }

    /// All items.
    fn items(&self) -> Result<Vec<ItemRecord>> {
        all_recs(&self.items, "item", "reading items")
    }

    fn for_each_item(&self, f: &mut dyn FnMut(ItemRecord)) -> Result<usize> {
        let mut unreadable = 0;
        for kv in self.items.iter() {
            let (_, v) = kv.ctx("reading items")?;
            match crate::store::records::decode::<ItemRecord>("item", &v) {
                Ok(i) => f(i),
                Err(_) => unreadable += 1,
            }
        }
        Ok(unreadable)
    }

    fn forget_items(&self, urls: &[String]) -> Result<usize> {
        let mut n = 0;
        for url in urls {
            if self
                .items
                .remove(url.as_bytes())
                .ctx("forgetting item")?
                .is_some()
            {
                n += 1;
            }
            // 64-bit hashes of the keys: a collision that this removal would hide is far
            // less likely than a disk error.
            if let Some(set) = self
                .item_keys
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .as_mut()
            {
                set.remove(&key_hash(url));
            }
        }
        Ok(n)
    }

    /// The item whose doc id is `id` (linear scan; used for explanations only).
    fn item_by_doc(&self, id: u64) -> Result<Option<ItemRecord>> {
        Ok(self.items()?.into_iter().find(|i| i.doc_id == id))
    }

    /// All stories.
    fn stories(&self) -> Result<Vec<StoryRecord>> {
        all_recs(&self.stories, "story", "reading stories")
    }

    /// Saves a story record alone.
    fn put_story(&self, story: &StoryRecord) -> Result<()> {
        self.stories
            .insert(story.id.as_bytes(), encode(story))
            .ctx("writing story")?;
        Ok(())
    }

    /// Saves an alert record alone.
    fn put_alert(&self, alert: &AlertRecord) -> Result<()> {
        self.alerts
            .insert(alert.id.as_bytes(), encode(alert))
            .ctx("writing alert")?;
        Ok(())
    }

    /// Deletes a story.
    fn remove_story(&self, id: &str) -> Result<()> {
        self.stories.remove(id.as_bytes()).ctx("removing story")?;
        Ok(())
    }

    /// Deletes an alert.
    fn remove_alert(&self, id: &str) -> Result<()> {
        self.alerts.remove(id.as_bytes()).ctx("removing alert")?;
        Ok(())
    }

    /// One story.
    fn story(&self, id: &str) -> Result<Option<StoryRecord>> {
        get_rec(&self.stories, id.as_bytes(), "story", "reading story")
    }

    /// All alerts, oldest first.
    fn alerts(&self) -> Result<Vec<AlertRecord>> {
        let mut v: Vec<AlertRecord> = all_recs(&self.alerts, "alert", "reading alerts")?;
        v.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        Ok(v)
    }

    /// One alert.
    fn alert(&self, id: &str) -> Result<Option<AlertRecord>> {
        get_rec(&self.alerts, id.as_bytes(), "alert", "reading alert")
    }
}

impl SledStore {
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
}
