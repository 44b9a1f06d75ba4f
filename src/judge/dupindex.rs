//! The near-duplicate index as the pipeline runs it: the lookup tables in memory (the dedup
//! stage's [`Postings`]: exact fingerprints and band keys), each text's record (and so its
//! verification sketch) in the store, read back only for the few candidates a lookup finds.
//!
//! Why not look up in sled directly: each lookup reads sixteen band postings and each insert
//! writes them; measured, that ran two orders of magnitude slower than the same index in memory
//! (see `benches/dedup.rs`). Why not keep the sketches in memory too (the dedup stage's
//! [`MemIndex`]): they are more than half of its memory (about a kilobyte per text all told),
//! and almost every lookup finds no candidate, so the verification reads are rare. The store
//! keeps one compact record per text, enough to rebuild the tables at start-up.

use crate::dedup::{self, DocId, DupParams, DupStore, DupVerdict, Fingerprint, Origin, Postings};
use crate::dedup::{Signature, Sketch, Stored};
use crate::store::{DupEntry, Store, StoreError};

#[cfg(doc)]
use crate::dedup::MemIndex;

/// Version byte of a stored record of single-topic versions (no topic tag: the records of the
/// topic that adopted the store, [`crate::store::single_topic_owner`]).
const RECORD_V1: u8 = 1;
/// Version byte of a stored record with its topic's tag ([`topic_tag`]).
const RECORD_V2: u8 = 2;

/// The tag of a topic in its texts' records: each topic has its own index (a copy of one
/// topic's seed is that topic's seed copy only), and the records of all topics share the
/// store.
pub fn topic_tag(topic_id: &str) -> u64 {
    crate::judge::doc_id_of(&format!("topic:{topic_id}"))
}

/// The in-memory lookup tables over every indexed text: the seeds and the relevant items
/// (off-topic texts are not indexed; see the judge).
#[derive(Default)]
pub struct DupIndex {
    postings: Postings,
}

impl DupIndex {
    /// Loads a topic's stored records (tagged `tag`, and the untagged ones of single-topic
    /// versions when `untagged`), one at a time. Unreadable records are skipped (and counted
    /// in the result).
    pub fn load(store: &Store, tag: u64, untagged: bool) -> Result<(DupIndex, usize), StoreError> {
        let mut postings = Postings::default();
        let mut bad = 0;
        store.for_each_dup_record(&mut |id, rec| match decode_record(rec) {
            Some((_, sig, t)) => {
                if t.map_or(untagged, |t| t == tag) {
                    postings.insert(id, &sig)
                }
            }
            None => bad += 1,
        })?;
        Ok((DupIndex { postings }, bad))
    }

    /// Texts indexed.
    pub fn len(&self) -> usize {
        self.postings.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.postings.is_empty()
    }

    /// Whether `sig` duplicates an indexed text other than `exclude` (the item's own earlier
    /// record, left by a run that died before committing its decision). Candidates' sketches
    /// are read from `unwritten` (texts indexed in memory whose records are waiting to be
    /// written with their decisions), else from `store`. Each candidate that is a copy on
    /// the samples is put to `confirm`
    /// ([`dedup::judge_confirmed`]; `|_| None` leaves the verdict to the samples).
    pub fn judge_confirmed(
        &self,
        store: &Store,
        unwritten: &[DupEntry],
        sig: &Signature,
        exclude: Option<DocId>,
        params: &DupParams,
        confirm: impl FnMut(DocId) -> Option<Option<dedup::Overlap>>,
    ) -> Result<DupVerdict, StoreError> {
        let view = View {
            postings: &self.postings,
            store,
            unwritten,
            exclude,
        };
        dedup::judge_confirmed(&view, sig, params, confirm)
    }

    /// Adds a text to the in-memory tables (after its record is stored).
    pub fn insert(&mut self, id: DocId, sig: &Signature) {
        self.postings.insert(id, sig);
    }

    /// Stores a text's record and indexes it.
    pub fn store_and_insert(
        &mut self,
        store: &Store,
        id: DocId,
        key: String,
        sig: &Signature,
        origin: Origin,
        tag: u64,
    ) -> Result<(), StoreError> {
        store.index_text(&dup_entry(id, key, sig, origin, tag))?;
        self.insert(id, sig);
        Ok(())
    }
}

/// The postings minus one doc, with sketches read from the store.
struct View<'a> {
    postings: &'a Postings,
    store: &'a Store,
    unwritten: &'a [DupEntry],
    exclude: Option<DocId>,
}

impl DupStore for View<'_> {
    type Error = StoreError;

    fn find_exact(&self, fp: &Fingerprint) -> Result<Option<DocId>, Self::Error> {
        Ok(self
            .postings
            .find_exact(fp)
            .filter(|id| Some(*id) != self.exclude))
    }

    fn band_members(
        &self,
        key: dedup::BandKey,
        limit: usize,
        out: &mut Vec<DocId>,
    ) -> Result<(), Self::Error> {
        let start = out.len();
        self.postings.band_members(key, limit, out);
        if let Some(x) = self.exclude {
            let mut i = start;
            while i < out.len() {
                if out[i] == x {
                    out.swap_remove(i);
                } else {
                    i += 1;
                }
            }
        }
        Ok(())
    }

    fn stored(&self, id: DocId) -> Result<Option<Stored>, Self::Error> {
        let record = match self.unwritten.iter().rev().find(|d| d.id == id) {
            Some(d) => Some(d.record.clone()),
            None => self.store.dup_record(id)?,
        };
        Ok(record
            .and_then(|r| decode_record(&r))
            .map(|(origin, sig, _)| Stored {
                origin,
                sketch: sig.sketch,
            }))
    }

    fn put(&mut self, _id: DocId, _sig: &Signature, _origin: Origin) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// The store entry of a text: its record is `[version, topic tag (8), origin, checkable,
/// fingerprint (16), band count, band keys (8 each), sketch]`.
pub fn dup_entry(id: DocId, key: String, sig: &Signature, origin: Origin, tag: u64) -> DupEntry {
    let sketch = sig.sketch.to_bytes();
    let mut r = Vec::with_capacity(28 + 8 * sig.bands.len() + sketch.len());
    r.push(RECORD_V2);
    r.extend_from_slice(&tag.to_be_bytes());
    r.push(match origin {
        Origin::Seed => 0,
        Origin::Item => 1,
    });
    r.push(u8::from(sig.checkable()));
    r.extend_from_slice(&sig.exact.0);
    r.push(u8::try_from(sig.bands.len()).unwrap_or(0));
    for b in sig.bands.iter().take(255) {
        r.extend_from_slice(&b.to_be_bytes());
    }
    r.extend_from_slice(&sketch);
    DupEntry { id, key, record: r }
}

/// Reads a record back into what the index needs, with its topic tag (none in records of
/// single-topic versions).
fn decode_record(r: &[u8]) -> Option<(Origin, Signature, Option<u64>)> {
    let (&v, r) = r.split_first()?;
    let (tag, r) = match v {
        RECORD_V1 => (None, r),
        RECORD_V2 if r.len() >= 8 => {
            let (t, rest) = r.split_at(8);
            (Some(u64::from_be_bytes(t.try_into().ok()?)), rest)
        }
        _ => return None,
    };
    if r.len() < 19 {
        return None;
    }
    let origin = if r[0] == 0 {
        Origin::Seed
    } else {
        Origin::Item
    };
    let checkable = r[1] == 1;
    let exact: [u8; 16] = r[2..18].try_into().ok()?;
    let n = r[18] as usize;
    let rest = &r[19..];
    if rest.len() < 8 * n {
        return None;
    }
    let bands = rest[..8 * n]
        .chunks_exact(8)
        .filter_map(|c| <[u8; 8]>::try_from(c).ok().map(u64::from_be_bytes))
        .collect();
    let sketch = Sketch::from_bytes(&rest[8 * n..]).ok()?;
    Some((
        origin,
        Signature {
            exact: Fingerprint(exact),
            tokens: if checkable {
                crate::dedup::fingerprint::MIN_TOKENS
            } else {
                0
            },
            truncated: false,
            bands,
            sketch,
        },
        tag,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let sig = Signature::from_text(
            "Microsoft is weighing legal action against OpenAI over a fifty billion dollar \
             cloud agreement with Amazon that could redraw the balance of power.",
        );
        let e = dup_entry(7, "item:x".into(), &sig, Origin::Item, topic_tag("t"));
        let (origin, back, tag) = decode_record(&e.record).expect("decodes");
        assert_eq!(tag, Some(topic_tag("t")));
        assert_eq!(origin, Origin::Item);
        assert_eq!(back.exact, sig.exact);
        assert_eq!(back.bands, sig.bands);
        assert_eq!(back.sketch, sig.sketch);
        assert!(back.checkable());
        assert!(decode_record(&e.record[..10]).is_none());
        assert!(decode_record(&[]).is_none());
    }
}
