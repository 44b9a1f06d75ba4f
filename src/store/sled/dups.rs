//! The durable half of the near-duplicate index on sled (see [`DupStore`]).

use sled::Transactional;

use super::codec::{Ctx, TxExt};
use super::SledStore;
use crate::store::{
    Backend, Decision, DupEntry, DupStore, ItemRecord, JudgedStore, Result, StoreError,
};

impl DupStore for SledStore {
    /// processed again with its own earlier record ignored by doc id.
    fn index_text(&self, d: &DupEntry) -> Result<()> {
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
    fn drop_off_topic_texts(&self) -> Result<usize> {
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
                Ok(url) => self.item(url)?.is_some_and(|i: ItemRecord| {
                    i.all_decisions().next().is_some()
                        && i.all_decisions()
                            .all(|d| matches!(d, Decision::OffTopic { .. }))
                }),
                Err(_) => false,
            };
            if off_topic {
                (&self.dup_doc, &self.dup_key)
                    .transaction(|(doc, key)| {
                        doc.remove(&id)?;
                        key.remove(&id)?;
                        Ok::<_, sled::transaction::ConflictableTransactionError<StoreError>>(())
                    })
                    .tx("removing an off-topic text's index record")?;
                removed += 1;
            }
        }
        self.put_meta(DONE, &serde_json::Value::Bool(true))?;
        Ok(removed)
    }

    /// Calls `f` with every stored duplicate-index record (doc id, record), one at a time.
    fn for_each_dup_record(&self, f: &mut dyn FnMut(u64, &[u8])) -> Result<()> {
        for kv in self.dup_doc.iter() {
            let (k, v) = kv.ctx("reading dup_doc")?;
            if let Ok(id) = <[u8; 8]>::try_from(k.as_ref()) {
                f(u64::from_be_bytes(id), &v);
            }
        }
        Ok(())
    }

    /// One duplicate-index record.
    fn dup_record(&self, id: u64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .dup_doc
            .get(id.to_be_bytes())
            .ctx("reading dup_doc")?
            .map(|v| v.to_vec()))
    }

    /// Number of duplicate-index records.
    fn dup_len(&self) -> usize {
        self.dup_doc.len()
    }

    /// What a doc id is: `seed:NAME` or `item:URL`.
    fn doc_key(&self, id: u64) -> Result<Option<String>> {
        Ok(self
            .dup_key
            .get(id.to_be_bytes())
            .ctx("reading dup_key")?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }
}
