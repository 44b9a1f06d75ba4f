//! Kept texts on sled (see [`TextStore`]): `texts` holds URL → kept-at (µs, big-endian) ‖
//! deflated text; `texts_by_time` holds kept-at ‖ URL → nothing, so that pruning reads only
//! what it removes.

use chrono::{DateTime, Utc};
use sled::Transactional;

use super::codec::{Ctx, TxExt, TxResult};
use super::SledStore;
use crate::store::{Result, StoreError, TextStore};

fn time_key(at: i64, url: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + url.len());
    k.extend_from_slice(&at.to_be_bytes());
    k.extend_from_slice(url.as_bytes());
    k
}

impl TextStore for SledStore {
    fn keep_text(&self, url: &str, at: DateTime<Utc>, packed: &[u8]) -> Result<()> {
        let at = at.timestamp_micros();
        let mut v = Vec::with_capacity(8 + packed.len());
        v.extend_from_slice(&at.to_be_bytes());
        v.extend_from_slice(packed);
        (&self.texts, &self.texts_by_time)
            .transaction(|(texts, by_time)| -> TxResult {
                // A text kept again (a re-judged item) replaces the old one and its time key.
                if let Some(old) = texts.insert(url.as_bytes(), v.as_slice())? {
                    if let Some(t) = old.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                        by_time.remove(time_key(i64::from_be_bytes(t), url))?;
                    }
                }
                by_time.insert(time_key(at, url), &[])?;
                Ok(())
            })
            .tx("keeping a text")
    }

    fn kept_text(&self, url: &str) -> Result<Option<String>> {
        let Some(v) = self.texts.get(url.as_bytes()).ctx("reading a kept text")? else {
            return Ok(None);
        };
        match v.get(8..).and_then(crate::store::texts::unpack) {
            Some(t) => Ok(Some(t)),
            None => Err(StoreError::Corrupt {
                what: "kept text",
                message: format!("the text kept for {url} does not inflate"),
            }),
        }
    }

    fn prune_texts(&self, before: DateTime<Utc>) -> Result<usize> {
        let end = before.timestamp_micros().to_be_bytes();
        let mut removed = 0;
        for kv in self.texts_by_time.range(..&end[..]) {
            let (k, _) = kv.ctx("reading texts_by_time")?;
            let url = k.get(8..).unwrap_or_default().to_vec();
            (&self.texts, &self.texts_by_time)
                .transaction(|(texts, by_time)| -> TxResult {
                    // The URL's text may have been kept again since: only this time's goes.
                    if texts.get(&url)?.is_some_and(|v| v.get(..8) == k.get(..8)) {
                        texts.remove(url.as_slice())?;
                    }
                    by_time.remove(&k)?;
                    Ok(())
                })
                .tx("pruning a kept text")?;
            removed += 1;
        }
        Ok(removed)
    }

    fn kept_texts(&self) -> Result<(usize, u64)> {
        let mut bytes = 0u64;
        for kv in self.texts.iter() {
            let (_, v) = kv.ctx("reading texts")?;
            bytes += v.len() as u64;
        }
        Ok((self.texts.len(), bytes))
    }
}
