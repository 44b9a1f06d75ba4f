//! How records are laid out in sled: one version byte, then JSON (see `records.rs` for why),
//! typed reads of one record or a whole tree, the keys that need an order, and the one helper
//! that turns sled's errors (plain and transactional) into [`StoreError`]s with context.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use crate::store::{EntryRecord, Result, StoreError};

pub(super) use crate::store::records::{decode, encode};

pub(super) trait Ctx<T> {
    fn ctx(self, context: impl Into<String>) -> Result<T>;
}

impl<T> Ctx<T> for std::result::Result<T, sled::Error> {
    fn ctx(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|source| StoreError::Sled {
            context: context.into(),
            source,
        })
    }
}

/// Reads and decodes one record.
pub(super) fn get_rec<T: DeserializeOwned>(
    tree: &sled::Tree,
    key: impl AsRef<[u8]>,
    what: &'static str,
    context: &str,
) -> Result<Option<T>> {
    tree.get(key)
        .ctx(context)?
        .map(|v| decode(what, &v))
        .transpose()
}

/// Reads and decodes every readable record of a tree, in key order (an unreadable one is
/// skipped with a warning: [`crate::store::records::decode_readable`]).
pub(super) fn all_recs<T: DeserializeOwned>(
    tree: &sled::Tree,
    what: &'static str,
    context: &str,
) -> Result<Vec<T>> {
    crate::store::records::decode_readable(
        what,
        tree.iter().map(|kv| kv.ctx(context).map(|(_, v)| v)),
    )
}

/// The result of a sled transaction whose closure aborts with a [`StoreError`]: the abort as
/// it was, a storage failure with `context`. The one transaction-error helper of the store.
pub(super) fn tx<T>(
    res: std::result::Result<T, sled::transaction::TransactionError<StoreError>>,
    context: &str,
) -> Result<T> {
    match res {
        Ok(v) => Ok(v),
        Err(sled::transaction::TransactionError::Abort(e)) => Err(e),
        Err(sled::transaction::TransactionError::Storage(source)) => Err(StoreError::Sled {
            context: context.into(),
            source,
        }),
    }
}

/// An I/O failure outside sled (the journal, the state directory), as a store error.
pub(super) fn io_err(context: &str, e: std::io::Error) -> StoreError {
    StoreError::Sled {
        context: context.into(),
        source: sled::Error::Io(e),
    }
}

/// `.tx(context)` on a transaction's result: [`tx`] as a method.
pub(super) trait TxExt<T> {
    fn tx(self, context: &str) -> Result<T>;
}

impl<T> TxExt<T> for std::result::Result<T, sled::transaction::TransactionError<StoreError>> {
    fn tx(self, context: &str) -> Result<T> {
        tx(self, context)
    }
}

/// What a transaction closure returns.
pub(super) type TxResult<T = ()> =
    std::result::Result<T, sled::transaction::ConflictableTransactionError<StoreError>>;

/// The in-memory hash of an item key.
/// Whether the entries tree holds, under `key`, a newer version of `rec` than the one being
/// written back (a poll stored it meanwhile; see `records::revision_marker`): read inside the
/// writing transaction, so the answer holds for the write.
pub(super) fn newer_stored(
    entries: &sled::transaction::TransactionalTree,
    key: &[u8],
    rec: &EntryRecord,
) -> std::result::Result<bool, sled::transaction::UnabortableTransactionError> {
    Ok(entries
        .get(key)?
        .is_some_and(|cur| !crate::store::records::same_revision(&cur, rec)))
}

pub(super) fn key_hash(url: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(url)
}

/// Processing order of a pending entry, kept as the pending tree's value: (publication time
/// or else first-seen time, first-seen time), each as seconds (big-endian i64) and
/// nanoseconds (big-endian u32).
pub(super) fn pending_order_key(rec: &EntryRecord) -> [u8; 24] {
    let when = rec.entry.published.unwrap_or(rec.first_seen);
    let mut out = [0u8; 24];
    out[..8].copy_from_slice(&when.timestamp().to_be_bytes());
    out[8..12].copy_from_slice(&when.timestamp_subsec_nanos().to_be_bytes());
    out[12..20].copy_from_slice(&rec.first_seen.timestamp().to_be_bytes());
    out[20..].copy_from_slice(&rec.first_seen.timestamp_subsec_nanos().to_be_bytes());
    out
}

/// The order tuple of a pending value; `None` for the empty values of older stores.
pub(super) fn decode_order_key(v: &[u8]) -> Option<(i64, u32, i64, u32)> {
    let v: &[u8; 24] = v.try_into().ok()?;
    let i = |r: std::ops::Range<usize>| -> Option<i64> {
        Some(i64::from_be_bytes(v[r].try_into().ok()?))
    };
    let u = |r: std::ops::Range<usize>| -> Option<u32> {
        Some(u32::from_be_bytes(v[r].try_into().ok()?))
    };
    Some((i(0..8)?, u(8..12)?, i(12..20)?, u(20..24)?))
}

/// An entry's key: feed id ‖ 0x00 ‖ entry id.
pub(super) fn entry_key(feed_id: &str, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(feed_id.len() + 1 + id.len());
    k.extend_from_slice(feed_id.as_bytes());
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    k
}

pub(super) fn outbox_key(endpoint: &str, created: DateTime<Utc>, alert: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(endpoint.len() + 1 + 8 + alert.len());
    k.extend_from_slice(endpoint.as_bytes());
    k.push(0);
    k.extend_from_slice(&created.timestamp_micros().to_be_bytes());
    k.extend_from_slice(alert.as_bytes());
    k
}

pub(super) fn finished_key(alert: &str, endpoint: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(alert.len() + 1 + endpoint.len());
    k.extend_from_slice(alert.as_bytes());
    k.push(0);
    k.extend_from_slice(endpoint.as_bytes());
    k
}
