//! Items, stories, alerts and the duplicate index's records on PostgreSQL (see
//! [`JudgedStore`], [`DupStore`]).

use super::{doc_i64, doc_u64, params, Params, PgStore};
use crate::store::records::{decode, encode};
use crate::store::{
    AlertRecord, Backend, Decision, DeliveryRecord, DupEntry, DupStore, EntryRecord, ItemCommit,
    ItemRecord, JudgedStore, Result, StoryRecord,
};

const UPSERT_ITEM: &str = "INSERT INTO items (url, doc_id, rec) VALUES ($1, $2, $3)
     ON CONFLICT (url) DO UPDATE SET doc_id = EXCLUDED.doc_id, rec = EXCLUDED.rec";
const UPSERT_STORY: &str = "INSERT INTO stories (id, rec) VALUES ($1, $2)
     ON CONFLICT (id) DO UPDATE SET rec = EXCLUDED.rec";
const UPSERT_ALERT: &str = "INSERT INTO alerts (id, created, rec) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET created = EXCLUDED.created, rec = EXCLUDED.rec";
const INSERT_DELIVERY: &str =
    "INSERT INTO outbox (alert, endpoint, created, rec) VALUES ($1, $2, $3, $4)
     ON CONFLICT (alert, endpoint) DO NOTHING";
const UPSERT_DUP: &str = "INSERT INTO dup_docs (doc_id, key, record) VALUES ($1, $2, $3)
     ON CONFLICT (doc_id) DO UPDATE SET key = EXCLUDED.key, record = EXCLUDED.record";
/// An entry's done status, written with its decision (its record slimmed as sled's is), unless
/// a poll stored a newer version meanwhile (`records::revision_marker`): that one stays pending.
const DONE_ENTRY: &str = "UPDATE entries SET rec = $3, pending = false
     WHERE feed_id = $1 AND entry_id = $2 AND position($4::bytea in rec) > 0";

fn item_params(i: &ItemRecord) -> Params {
    params![i.url.clone(), doc_i64(i.doc_id), encode(i)]
}

fn dup_params(d: &DupEntry) -> Params {
    params![doc_i64(d.id), d.key.clone(), d.record.clone()]
}

fn done_params(e: &EntryRecord) -> Params {
    params![
        e.feed_id.clone(),
        e.id.clone(),
        crate::store::records::encode_entry(e),
        crate::store::records::revision_marker(e)
    ]
}

impl JudgedStore for PgStore {
    fn item(&self, url: &str) -> Result<Option<ItemRecord>> {
        self.record(
            "item",
            "reading item",
            "SELECT rec FROM items WHERE url = $1",
            params![url.to_string()],
        )
    }

    fn put_item(&self, item: &ItemRecord) -> Result<()> {
        self.execute("writing item", UPSERT_ITEM, item_params(item))?;
        Ok(())
    }

    fn items(&self) -> Result<Vec<ItemRecord>> {
        self.records(
            "item",
            "reading items",
            "SELECT rec FROM items ORDER BY url",
            params![],
        )
    }

    /// In pages of 1,000 by URL (a keyset scan).
    fn for_each_item(&self, f: &mut dyn FnMut(ItemRecord)) -> Result<usize> {
        let (mut after, mut first) = (String::new(), true);
        let mut unreadable = 0;
        loop {
            let rows = self.query(
                "reading items",
                "SELECT url, rec FROM items WHERE url > $1 OR $2 ORDER BY url LIMIT 1000",
                params![after.clone(), first],
            )?;
            first = false;
            let Some(last) = rows.last() else {
                return Ok(unreadable);
            };
            after = last.get(0);
            for r in &rows {
                match decode::<ItemRecord>("item", r.get::<_, &[u8]>(1)) {
                    Ok(i) => f(i),
                    Err(_) => unreadable += 1,
                }
            }
            if rows.len() < 1000 {
                return Ok(unreadable);
            }
        }
    }

    fn forget_items(&self, urls: &[String]) -> Result<usize> {
        let mut n = 0;
        for chunk in urls.chunks(1000) {
            n += self.execute(
                "forgetting items",
                "DELETE FROM items WHERE url = ANY($1)",
                params![chunk.to_vec()],
            )? as usize;
        }
        Ok(n)
    }

    fn item_by_doc(&self, id: u64) -> Result<Option<ItemRecord>> {
        self.record(
            "item",
            "reading item",
            "SELECT rec FROM items WHERE doc_id = $1 LIMIT 1",
            params![doc_i64(id)],
        )
    }

    /// Lookups are the server's (an index); nothing to prepare.
    fn index_item_keys(&self) -> Result<usize> {
        Ok(self.count("counting items", "SELECT count(*) FROM items")? as usize)
    }

    fn stories(&self) -> Result<Vec<StoryRecord>> {
        self.records(
            "story",
            "reading stories",
            "SELECT rec FROM stories ORDER BY id",
            params![],
        )
    }

    fn put_story(&self, story: &StoryRecord) -> Result<()> {
        self.execute(
            "writing story",
            UPSERT_STORY,
            params![story.id.clone(), encode(story)],
        )?;
        Ok(())
    }

    fn put_alert(&self, alert: &AlertRecord) -> Result<()> {
        self.execute(
            "writing alert",
            UPSERT_ALERT,
            params![alert.id.clone(), alert.created, encode(alert)],
        )?;
        Ok(())
    }

    fn remove_story(&self, id: &str) -> Result<()> {
        self.execute(
            "removing story",
            "DELETE FROM stories WHERE id = $1",
            params![id.to_string()],
        )?;
        Ok(())
    }

    fn remove_alert(&self, id: &str) -> Result<()> {
        self.execute(
            "removing alert",
            "DELETE FROM alerts WHERE id = $1",
            params![id.to_string()],
        )?;
        Ok(())
    }

    fn story(&self, id: &str) -> Result<Option<StoryRecord>> {
        self.record(
            "story",
            "reading story",
            "SELECT rec FROM stories WHERE id = $1",
            params![id.to_string()],
        )
    }

    fn alerts(&self) -> Result<Vec<AlertRecord>> {
        self.records(
            "alert",
            "reading alerts",
            "SELECT rec FROM alerts ORDER BY created, id",
            params![],
        )
    }

    fn alert(&self, id: &str) -> Result<Option<AlertRecord>> {
        self.record(
            "alert",
            "reading alert",
            "SELECT rec FROM alerts WHERE id = $1",
            params![id.to_string()],
        )
    }

    /// One transaction: the text's index record, the item, its story, its alert with its
    /// outbox rows, the entry's done status.
    fn commit_item(&self, c: &ItemCommit<'_>) -> Result<()> {
        let mut st: Vec<(&'static str, Params)> = self.fence().into_iter().collect();
        if let Some(d) = c.dup {
            st.push((UPSERT_DUP, dup_params(d)));
        }
        st.push((UPSERT_ITEM, item_params(c.item)));
        if let Some(s) = c.story {
            st.push((UPSERT_STORY, params![s.id.clone(), encode(s)]));
        }
        if let Some(a) = c.alert {
            st.push((UPSERT_ALERT, params![a.id.clone(), a.created, encode(a)]));
            for ep in c.endpoints {
                let rec = DeliveryRecord::pending(a, ep);
                st.push((
                    INSERT_DELIVERY,
                    params![a.id.clone(), ep.clone(), a.created, encode(&rec)],
                ));
            }
        }
        if let Some(e) = c.entry {
            st.push((DONE_ENTRY, done_params(e)));
        }
        self.transaction("committing item", st)
    }

    fn commit_decisions(
        &self,
        entries: &[EntryRecord],
        items: &[&ItemRecord],
        dups: &[DupEntry],
    ) -> Result<()> {
        if entries.is_empty() && items.is_empty() && dups.is_empty() {
            return Ok(());
        }
        let mut st: Vec<(&'static str, Params)> = self.fence().into_iter().collect();
        st.extend(dups.iter().map(|d| (UPSERT_DUP, dup_params(d))));
        st.extend(items.iter().map(|i| (UPSERT_ITEM, item_params(i))));
        st.extend(entries.iter().map(|e| (DONE_ENTRY, done_params(e))));
        self.transaction("committing decisions", st)
    }
}

impl DupStore for PgStore {
    fn index_text(&self, d: &DupEntry) -> Result<()> {
        self.execute("writing an index record", UPSERT_DUP, dup_params(d))?;
        Ok(())
    }

    fn drop_off_topic_texts(&self) -> Result<usize> {
        const DONE: &str = "dup_index_relevant_only";
        if self.get_meta(DONE)?.is_some() {
            return Ok(0);
        }
        let rows = self.query(
            "reading index keys",
            "SELECT d.doc_id, i.rec FROM dup_docs d JOIN items i ON d.key = 'item:' || i.url",
            params![],
        )?;
        let mut gone = Vec::new();
        for r in &rows {
            let item: ItemRecord = decode("item", r.get::<_, &[u8]>(1))?;
            if item.all_decisions().next().is_some()
                && item
                    .all_decisions()
                    .all(|d| matches!(d, Decision::OffTopic { .. }))
            {
                gone.push(r.get::<_, i64>(0));
            }
        }
        let n = gone.len();
        if n > 0 {
            self.execute(
                "removing off-topic texts' index records",
                "DELETE FROM dup_docs WHERE doc_id = ANY($1)",
                params![gone],
            )?;
        }
        self.put_meta(DONE, &serde_json::Value::Bool(true))?;
        Ok(n)
    }

    /// Pages through the records in doc id order, so memory holds one page at a time.
    fn for_each_dup_record(&self, f: &mut dyn FnMut(u64, &[u8])) -> Result<()> {
        let mut after = i64::MIN;
        let mut first = true;
        loop {
            let rows = self.query(
                "reading index records",
                "SELECT doc_id, record FROM dup_docs WHERE doc_id > $1 OR $2
                 ORDER BY doc_id LIMIT 5000",
                params![after, first],
            )?;
            first = false;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            after = last.get::<_, i64>(0);
            for r in &rows {
                f(doc_u64(r.get::<_, i64>(0)), r.get::<_, &[u8]>(1));
            }
            if rows.len() < 5000 {
                return Ok(());
            }
        }
    }

    fn dup_record(&self, id: u64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .query(
                "reading an index record",
                "SELECT record FROM dup_docs WHERE doc_id = $1",
                params![doc_i64(id)],
            )?
            .first()
            .map(|r| r.get::<_, Vec<u8>>(0)))
    }

    fn dup_len(&self) -> usize {
        self.count("counting index records", "SELECT count(*) FROM dup_docs")
            .unwrap_or(0)
            .max(0) as usize
    }

    fn doc_key(&self, id: u64) -> Result<Option<String>> {
        Ok(self
            .query(
                "reading an index key",
                "SELECT key FROM dup_docs WHERE doc_id = $1",
                params![doc_i64(id)],
            )?
            .first()
            .map(|r| r.get::<_, String>(0)))
    }
}
