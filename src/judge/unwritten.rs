//! Decisions judged but not written yet.
//!
//! The decisions that alert nobody (off-topic, copies, unreadable, known URLs) are written
//! together in one transaction ([`JudgedStore::commit_decisions`]) once [`GROUP`] have gathered,
//! before any alert (whose outbox rows must be durable before delivery), and at the end of a
//! pass. One transaction per item cost more than the item's own writes. The judge reads its
//! own unwritten decisions from here first, so it decides exactly as if each had been written.
//! A crash loses the group whole; its entries are still pending and are judged again.
//!
//! [`JudgedStore::commit_decisions`]: crate::store::JudgedStore::commit_decisions

use crate::store::{DupEntry, EntryRecord, ItemRecord, Store, StoreError};

/// Decisions that alert nobody are written in groups of at most this many.
pub const GROUP: usize = 128;

/// The unwritten group.
#[derive(Default)]
pub struct Unwritten {
    /// The processed entries, done.
    entries: Vec<EntryRecord>,
    /// The latest version of each item written: the decided ones, and the originals their
    /// copies were added to.
    items: rustc_hash::FxHashMap<String, ItemRecord>,
    /// The decided texts' index records (already in the in-memory index).
    dups: Vec<DupEntry>,
    /// Named values to store before the group (a topic's near misses: see
    /// [`Unwritten::stage_meta`]), the latest per name.
    metas: Vec<(String, serde_json::Value)>,
}

impl Unwritten {
    /// An item by key: an unwritten version, else the stored one.
    pub fn item(&self, store: &Store, key: &str) -> Result<Option<ItemRecord>, StoreError> {
        match self.items.get(key) {
            Some(i) => Ok(Some(i.clone())),
            None => store.item(key),
        }
    }

    /// Takes an unwritten item out of the group, else reads the stored one: the panel hands
    /// one entry's item from topic to topic, each adding its decision and staging it again,
    /// without copying it per topic.
    pub fn take_item(
        &mut self,
        store: &Store,
        key: &str,
    ) -> Result<Option<ItemRecord>, StoreError> {
        match self.items.remove(key) {
            Some(i) => Ok(Some(i)),
            None => store.item(key),
        }
    }

    /// What a doc id is (`seed:NAME` / `item:URL`): an unwritten record's, else the stored one.
    pub fn doc_key(&self, store: &Store, id: u64) -> Result<Option<String>, StoreError> {
        match self.dups.iter().rev().find(|d| d.id == id) {
            Some(d) => Ok(Some(d.key.clone())),
            None => store.doc_key(id),
        }
    }

    /// The unwritten texts' index records.
    pub fn dups(&self) -> &[DupEntry] {
        &self.dups
    }

    /// Adds a decided entry (none for an item judged again), its item, its text's index
    /// record and the original a copy updated.
    pub fn stage(
        &mut self,
        rec: Option<EntryRecord>,
        item: ItemRecord,
        dup: Option<DupEntry>,
        original: Option<ItemRecord>,
    ) {
        if let Some(d) = dup {
            self.dups.push(d);
        }
        if let Some(o) = original {
            self.items.insert(o.url.clone(), o);
        }
        self.items.insert(item.url.clone(), item);
        self.entries.extend(rec);
    }

    /// Stores a named value before the group's decisions (replacing one staged under the
    /// same name): what must be durable no later than the decisions, such as a near miss,
    /// whose late rescue a crash after its decision would otherwise lose for good.
    pub fn stage_meta(&mut self, name: String, value: serde_json::Value) {
        self.metas.retain(|(n, _)| *n != name);
        self.metas.push((name, value));
    }

    /// Whether the group is full and should be written.
    pub fn is_full(&self) -> bool {
        self.entries.len().max(self.items.len()) >= GROUP
    }

    /// Writes the group, and empties it.
    pub fn write(&mut self, store: &Store) -> Result<(), StoreError> {
        for (name, value) in &self.metas {
            store.put_meta(name, value)?;
        }
        self.metas.clear();
        if self.entries.is_empty() && self.items.is_empty() {
            return Ok(());
        }
        let items: Vec<&ItemRecord> = self.items.values().collect();
        store.commit_decisions(&self.entries, &items, &self.dups)?;
        *self = Unwritten::default();
        Ok(())
    }
}
