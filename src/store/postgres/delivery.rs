//! The outbox, finished and dead deliveries and the digests on PostgreSQL (see
//! [`DeliveryStore`]).

use chrono::{DateTime, Utc};

use super::{params, PgStore};
use crate::store::records::encode;
use crate::store::{DeliveryRecord, DeliveryState, DeliveryStore, DigestRecord, Result};

const FINISH: &str = "INSERT INTO finished (alert, endpoint, dead, rec) VALUES ($1, $2, $3, $4)
     ON CONFLICT (alert, endpoint) DO UPDATE SET dead = EXCLUDED.dead, rec = EXCLUDED.rec";
const UNQUEUE: &str = "DELETE FROM outbox WHERE alert = $1 AND endpoint = $2";

impl DeliveryStore for PgStore {
    /// The delivery is finished at once, in one transaction (the journal sled needs to make
    /// this cheap is PostgreSQL's own).
    fn journal_delivered(&self, alert: &str, endpoint: &str) -> Result<()> {
        let Some(mut d) = self
            .records::<DeliveryRecord>(
                "delivery",
                "reading a delivery",
                "SELECT rec FROM outbox WHERE alert = $1 AND endpoint = $2",
                params![alert.to_string(), endpoint.to_string()],
            )?
            .pop()
        else {
            return Ok(());
        };
        d.state = DeliveryState::Delivered;
        d.finished = Some(Utc::now());
        self.finish_delivery(&d)
    }

    fn compact_journal(&self) -> Result<()> {
        Ok(())
    }

    fn outbox_for(&self, endpoint: &str, limit: usize) -> Result<Vec<DeliveryRecord>> {
        self.records(
            "delivery",
            "reading outbox",
            "SELECT rec FROM outbox WHERE endpoint = $1 ORDER BY created, alert LIMIT $2",
            params![endpoint.to_string(), limit.min(i64::MAX as usize) as i64],
        )
    }

    fn outbox(&self) -> Result<Vec<DeliveryRecord>> {
        self.records(
            "delivery",
            "reading outbox",
            "SELECT rec FROM outbox ORDER BY endpoint, created, alert",
            params![],
        )
    }

    fn update_delivery(&self, d: &DeliveryRecord) -> Result<()> {
        self.execute(
            "writing delivery",
            "UPDATE outbox SET rec = $3 WHERE alert = $1 AND endpoint = $2",
            params![d.alert.clone(), d.endpoint.clone(), encode(d)],
        )?;
        Ok(())
    }

    fn finish_delivery(&self, d: &DeliveryRecord) -> Result<()> {
        self.transaction(
            "finishing delivery",
            vec![
                (
                    FINISH,
                    params![
                        d.alert.clone(),
                        d.endpoint.clone(),
                        d.state == DeliveryState::Dead,
                        encode(d)
                    ],
                ),
                (UNQUEUE, params![d.alert.clone(), d.endpoint.clone()]),
            ],
        )
    }

    fn was_delivered(&self, alert: &str, endpoint: &str) -> Result<bool> {
        Ok(!self
            .query(
                "reading delivered",
                "SELECT 1 FROM finished WHERE alert = $1 AND endpoint = $2 AND NOT dead",
                params![alert.to_string(), endpoint.to_string()],
            )?
            .is_empty())
    }

    fn dead_letters(&self) -> Result<Vec<DeliveryRecord>> {
        self.records(
            "delivery",
            "reading dead letters",
            "SELECT rec FROM finished WHERE dead ORDER BY alert, endpoint",
            params![],
        )
    }

    fn requeue_dead(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut n = 0;
        for mut d in self.dead_letters()? {
            d.state = DeliveryState::Pending;
            d.attempts = 0;
            d.next_try = now;
            d.finished = None;
            self.transaction(
                "requeueing dead letter",
                vec![
                    (
                        "DELETE FROM finished WHERE alert = $1 AND endpoint = $2",
                        params![d.alert.clone(), d.endpoint.clone()],
                    ),
                    (
                        "INSERT INTO outbox (alert, endpoint, created, rec) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (alert, endpoint) DO UPDATE SET rec = EXCLUDED.rec",
                        params![d.alert.clone(), d.endpoint.clone(), d.created, encode(&d)],
                    ),
                ],
            )?;
            n += 1;
        }
        Ok(n)
    }

    fn digest(&self, day: &str) -> Result<Option<DigestRecord>> {
        self.record(
            "digest",
            "reading digest",
            "SELECT rec FROM digests WHERE day = $1",
            params![day.to_string()],
        )
    }

    fn last_digest(&self) -> Result<Option<DigestRecord>> {
        self.record(
            "digest",
            "reading digests",
            "SELECT rec FROM digests ORDER BY day DESC LIMIT 1",
            params![],
        )
    }

    fn digests(&self) -> Result<Vec<DigestRecord>> {
        self.records(
            "digest",
            "reading digests",
            "SELECT rec FROM digests ORDER BY day",
            params![],
        )
    }

    fn finished_deliveries(&self) -> Result<Vec<DeliveryRecord>> {
        self.records(
            "delivery",
            "reading deliveries",
            "SELECT rec FROM finished ORDER BY alert, endpoint",
            params![],
        )
    }

    fn put_delivery(&self, d: &DeliveryRecord) -> Result<()> {
        if d.state == DeliveryState::Pending {
            self.execute(
                "writing delivery",
                "INSERT INTO outbox (alert, endpoint, created, rec) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (alert, endpoint) DO UPDATE SET rec = EXCLUDED.rec",
                params![d.alert.clone(), d.endpoint.clone(), d.created, encode(d)],
            )?;
            return Ok(());
        }
        self.finish_delivery(d)
    }

    fn put_digest(&self, d: &DigestRecord) -> Result<()> {
        self.execute(
            "writing digest",
            "INSERT INTO digests (day, rec) VALUES ($1, $2)
             ON CONFLICT (day) DO UPDATE SET rec = EXCLUDED.rec",
            params![d.day.clone(), encode(d)],
        )?;
        Ok(())
    }
}
