//! The outbox, finished and dead deliveries, the delivery journal and digests on sled (see
//! [`DeliveryStore`]).

use chrono::{DateTime, Utc};
use sled::Transactional;

use super::codec::{
    all_recs, decode, encode, finished_key, get_rec, outbox_key, Ctx, TxExt, TxResult,
};
use super::SledStore;
use crate::store::{
    DeliveryRecord, DeliveryState, DeliveryStore, DigestRecord, Result, StoreError,
};

impl DeliveryStore for SledStore {
    /// cut; sled's own record follows at once.
    fn journal_delivered(&self, alert: &str, endpoint: &str) -> Result<()> {
        self.journal
            .append(alert, endpoint)
            .map_err(|e| StoreError::Sled {
                context: "writing the delivery journal".into(),
                source: sled::Error::Io(e),
            })
    }

    /// Empties the journal once sled holds everything in it (after a flush).
    fn compact_journal(&self) -> Result<()> {
        if self.journal.len() < 1024 {
            return Ok(());
        }
        self.db
            .flush()
            .ctx("flushing before compacting the journal")?;
        self.journal.clear().map_err(|e| StoreError::Sled {
            context: "clearing the delivery journal".into(),
            source: sled::Error::Io(e),
        })
    }

    /// Writes everything buffered to disk (see the module doc for when this is called).
    ///
    /// sled 0.34's `flush_async` deadlocks when several tasks await it at once (sled issue
    /// #1308; `wirewatch once` over 10 feeds hung forever), so the blocking flush runs on
    /// Pending deliveries of one endpoint, in alert order.
    fn outbox_for(&self, endpoint: &str, limit: usize) -> Result<Vec<DeliveryRecord>> {
        let mut prefix = endpoint.as_bytes().to_vec();
        prefix.push(0);
        crate::store::records::decode_readable(
            "delivery",
            self.outbox
                .scan_prefix(prefix)
                .take(limit)
                .map(|kv| kv.ctx("reading outbox").map(|(_, v)| v)),
        )
    }

    /// All pending deliveries.
    fn outbox(&self) -> Result<Vec<DeliveryRecord>> {
        all_recs(&self.outbox, "delivery", "reading outbox")
    }

    /// Updates a pending delivery (attempts, next try, last error).
    fn update_delivery(&self, d: &DeliveryRecord) -> Result<()> {
        let key = outbox_key(&d.endpoint, d.created, &d.alert);
        self.outbox.insert(key, encode(d)).ctx("writing delivery")?;
        Ok(())
    }

    /// Moves a delivery out of the outbox into `delivered` or `dead`, atomically.
    fn finish_delivery(&self, d: &DeliveryRecord) -> Result<()> {
        let key = outbox_key(&d.endpoint, d.created, &d.alert);
        let fkey = finished_key(&d.alert, &d.endpoint);
        let value = encode(d);
        let dead = d.state == DeliveryState::Dead;
        (&self.outbox, &self.delivered, &self.dead)
            .transaction(|(outbox, delivered, dead_tree)| -> TxResult {
                outbox.remove(key.as_slice())?;
                if dead {
                    dead_tree.insert(fkey.as_slice(), value.as_slice())?;
                } else {
                    delivered.insert(fkey.as_slice(), value.as_slice())?;
                }
                Ok(())
            })
            .tx("finishing delivery")
    }

    /// Whether an alert was delivered to an endpoint.
    fn was_delivered(&self, alert: &str, endpoint: &str) -> Result<bool> {
        if self.journal.contains(alert, endpoint) {
            return Ok(true);
        }
        self.delivered
            .contains_key(finished_key(alert, endpoint))
            .ctx("reading delivered")
    }

    /// Dead letters.
    fn dead_letters(&self) -> Result<Vec<DeliveryRecord>> {
        all_recs(&self.dead, "delivery", "reading dead letters")
    }

    /// Puts every dead letter back in the outbox, due now. Returns how many.
    fn requeue_dead(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut n = 0;
        for mut d in self.dead_letters()? {
            let fkey = finished_key(&d.alert, &d.endpoint);
            d.state = DeliveryState::Pending;
            d.attempts = 0;
            d.next_try = now;
            d.finished = None;
            let key = outbox_key(&d.endpoint, d.created, &d.alert);
            let value = encode(&d);
            (&self.outbox, &self.dead)
                .transaction(|(outbox, dead)| -> TxResult {
                    dead.remove(fkey.as_slice())?;
                    outbox.insert(key.as_slice(), value.as_slice())?;
                    Ok(())
                })
                .tx("requeueing dead letter")?;
            n += 1;
        }
        Ok(n)
    }

    /// The record of a sent digest.
    fn digest(&self, day: &str) -> Result<Option<DigestRecord>> {
        get_rec(&self.digests, day.as_bytes(), "digest", "reading digest")
    }

    /// The most recent digest sent.
    fn last_digest(&self) -> Result<Option<DigestRecord>> {
        self.digests
            .last()
            .ctx("reading digests")?
            .map(|(_, v)| decode("digest", &v))
            .transpose()
    }

    fn digests(&self) -> Result<Vec<DigestRecord>> {
        all_recs(&self.digests, "digest", "reading digests")
    }

    fn finished_deliveries(&self) -> Result<Vec<DeliveryRecord>> {
        let mut out: Vec<DeliveryRecord> =
            all_recs(&self.delivered, "delivery", "reading deliveries")?;
        out.extend(self.dead_letters()?);
        Ok(out)
    }

    fn put_delivery(&self, d: &DeliveryRecord) -> Result<()> {
        match d.state {
            DeliveryState::Pending => self.update_delivery(d),
            DeliveryState::Delivered => {
                self.delivered
                    .insert(finished_key(&d.alert, &d.endpoint), encode(d))
                    .ctx("writing delivery")?;
                Ok(())
            }
            DeliveryState::Dead => {
                self.dead
                    .insert(finished_key(&d.alert, &d.endpoint), encode(d))
                    .ctx("writing delivery")?;
                Ok(())
            }
        }
    }

    /// Records a sent digest (flushes: a digest must never be sent twice).
    fn put_digest(&self, d: &DigestRecord) -> Result<()> {
        self.digests
            .insert(d.day.as_bytes(), encode(d))
            .ctx("writing digest")?;
        self.db.flush().ctx("flushing digest record")?;
        Ok(())
    }
}
