//! What several workers on one database coordinate by (see [`Backend`](crate::store::Backend)'s coordination
//! methods): feed leases, the judge lease, delivery and digest claims, and the workers'
//! heartbeats.
//!
//! Feeds are spread over the workers alive by rendezvous hashing: each feed prefers the
//! worker whose hash with it is highest, so that every worker polls its share, a worker that
//! joins takes a share from each, and one that dies leaves its share to the others. The
//! preference only decides who claims; the lease decides who polls, so that a feed changing
//! hands while the workers' views of who is alive differ is still polled by one at a time.
//!
//! Per-host politeness holds across workers: before a feed poll, a worker takes the host's
//! next turn (`host_turns`: one row per host, the time the next request may go out, moved
//! on by `[fetch] per_host_interval` at each turn) and waits for it.
//!
//! Leases and claims are rows with an owner and an end, taken with one conditional upsert
//! (`... ON CONFLICT DO UPDATE ... WHERE the lease ended or is mine`): the row lock makes
//! two workers' claims of one feed serial, and the loser sees the winner's lease. Times are
//! the server's (`now()`), so the workers' clocks need not agree. The judge lease is a
//! session advisory lock on a connection of its own: it goes when the process dies or its
//! connection is cut, and every commit of decisions checks it still holds it
//! (`judge_fence`, in the schema).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{params, JudgeLease, Params, PgStore};
use crate::store::{Result, WorkerCounts, WorkerInfo};

/// A worker not seen for this long is taken for dead: its feeds go to the others (workers
/// record themselves alive every 5 s).
pub const ALIVE_FOR: Duration = Duration::from_secs(15);
/// How long a lapsed lease of another worker's share waits for that worker before any worker
/// takes the feed over.
const TAKEOVER_GRACE: Duration = Duration::from_secs(2);
/// How often a worker reads who is alive.
const ALIVE_READ: Duration = Duration::from_secs(5);

impl PgStore {
    /// This worker's id.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// The statement that makes a transaction fail unless this process still holds the
    /// judge lease; `None` when it does not hold it (a command run beside the workers).
    pub(crate) fn fence(&self) -> Option<(&'static str, Params)> {
        let g = self.judge.lock().unwrap_or_else(|p| p.into_inner());
        g.held
            .as_ref()
            .map(|(_, pid)| ("SELECT judge_fence($1, $2)", params![self.lock_key, *pid]))
    }

    /// The workers seen alive lately (this one always among them), read at most every few
    /// seconds.
    fn alive(&self) -> Result<Vec<String>> {
        let mut g = self.alive.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, list)) = g.as_ref() {
            if at.elapsed() < ALIVE_READ {
                return Ok(list.clone());
            }
        }
        let mut list: Vec<String> = self
            .query(
                "reading the workers alive",
                "SELECT worker FROM workers WHERE seen > now() - make_interval(secs => $1)",
                params![ALIVE_FOR.as_secs_f64()],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if !list.contains(&self.worker) {
            list.push(self.worker.clone());
        }
        *g = Some((std::time::Instant::now(), list.clone()));
        Ok(list)
    }

    /// Whether this worker is the one a feed prefers among those alive (rendezvous hashing).
    fn preferred(&self, feed_id: &str) -> Result<bool> {
        use sha2::Digest;
        let score = |w: &str| {
            let d = sha2::Sha256::digest(format!("{w}\u{1f}{feed_id}").as_bytes());
            u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
        };
        let alive = self.alive()?;
        let best = alive.iter().max_by_key(|w| score(w));
        Ok(best.is_none_or(|w| *w == self.worker))
    }

    pub(crate) fn pg_claim_feed(
        &self,
        feed_id: &str,
        lease: Duration,
    ) -> Result<Option<DateTime<Utc>>> {
        let preferred = self.preferred(feed_id)?;
        let rows = if preferred {
            self.query(
                "claiming a feed",
                "INSERT INTO feed_leases (feed_id, worker, until)
                 VALUES ($1, $2, now() + make_interval(secs => $3))
                 ON CONFLICT (feed_id) DO UPDATE SET worker = EXCLUDED.worker, until = EXCLUDED.until
                 WHERE feed_leases.until <= now() OR feed_leases.worker = EXCLUDED.worker
                 RETURNING worker",
                params![
                    feed_id.to_string(),
                    self.worker.clone(),
                    lease.as_secs_f64()
                ],
            )?
        } else {
            // Another worker's share. Taken over only once its lease has lapsed for a while:
            // its worker died (the others see that within ALIVE_FOR) or gave the feed up;
            // never renewed, so that the feed goes back to the worker it prefers.
            self.query(
                "taking a feed over",
                "UPDATE feed_leases SET worker = $2, until = now() + make_interval(secs => $3)
                 WHERE feed_id = $1 AND until <= now() - make_interval(secs => $4)
                 RETURNING worker",
                params![
                    feed_id.to_string(),
                    self.worker.clone(),
                    lease.as_secs_f64(),
                    TAKEOVER_GRACE.as_secs_f64()
                ],
            )?
        };
        if !rows.is_empty() {
            return Ok(None);
        }
        let until = self
            .query(
                "reading a feed lease",
                "SELECT until FROM feed_leases WHERE feed_id = $1",
                params![feed_id.to_string()],
            )?
            .first()
            .map(|r| r.get::<_, DateTime<Utc>>(0));
        // When to look again: when the lease lapses (for another worker's share, and its
        // grace), never sooner than in a moment; no lease yet (another worker's share that
        // it has not polled yet): after the next look at who is alive.
        let soon = Utc::now() + chrono::Duration::milliseconds(500);
        let grace = if preferred {
            chrono::Duration::zero()
        } else {
            chrono::Duration::from_std(TAKEOVER_GRACE).unwrap_or_default()
        };
        Ok(Some(match until {
            Some(u) => (u + grace).max(soon),
            None => Utc::now() + chrono::Duration::from_std(ALIVE_READ).unwrap_or_default(),
        }))
    }

    pub(crate) fn pg_host_turn(&self, host: &str, spacing: Duration) -> Result<Duration> {
        let wait = self
            .query(
                "taking a turn at a host",
                "INSERT INTO host_turns (host, next_at) VALUES ($1, now() + make_interval(secs => $2))
                 ON CONFLICT (host) DO UPDATE
                     SET next_at = greatest(host_turns.next_at, now()) + make_interval(secs => $2)
                 RETURNING extract(epoch FROM next_at - now())::float8 - $2",
                params![host.to_string(), spacing.as_secs_f64()],
            )?
            .first()
            .map(|r| r.get::<_, f64>(0))
            .unwrap_or(0.0);
        Ok(Duration::from_secs_f64(wait.clamp(0.0, 3600.0)))
    }

    pub(crate) fn pg_judge_lease(&self) -> Result<Option<u64>> {
        let mut g = self.judge.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((client, _)) = &g.held {
            if !client.is_closed() {
                return Ok(Some(g.epoch));
            }
            tracing::warn!(server = %self.label, "judge lease lost with its connection");
            g.held = None;
        }
        let (cfg, tls, key) = (self.cfg.clone(), self.tls.clone(), self.lock_key);
        let got = self.block(async move {
            let (client, conn) = cfg
                .connect(tls)
                .await
                .map_err(|e| super::pg_err("connecting for the judge lease", e))?;
            tokio::spawn(conn);
            let row = client
                .query_one(
                    "SELECT pg_try_advisory_lock($1, 1), pg_backend_pid()",
                    &[&key],
                )
                .await
                .map_err(|e| super::pg_err("taking the judge lease", e))?;
            Ok(row
                .get::<_, bool>(0)
                .then(|| (client, row.get::<_, i32>(1))))
        })?;
        let Some(held) = got else {
            return Ok(None);
        };
        let JudgeLease { held: slot, epoch } = &mut *g;
        *slot = Some(held);
        *epoch += 1;
        let epoch = *epoch;
        drop(g);
        tracing::info!(worker = %self.worker, epoch, "this worker judges now (judge lease taken)");
        self.execute(
            "recording the judge",
            "INSERT INTO meta (name, value) VALUES ('judge_holder', to_jsonb($1::text))
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            params![self.worker.clone()],
        )?;
        Ok(Some(epoch))
    }

    pub(crate) fn pg_claim_delivery(
        &self,
        alert: &str,
        endpoint: &str,
        lease: Duration,
    ) -> Result<bool> {
        Ok(self.execute(
            "claiming a delivery",
            "UPDATE outbox SET claimed_by = $3, claimed_until = now() + make_interval(secs => $4)
             WHERE alert = $1 AND endpoint = $2
               AND (claimed_until IS NULL OR claimed_until <= now() OR claimed_by = $3)",
            params![
                alert.to_string(),
                endpoint.to_string(),
                self.worker.clone(),
                lease.as_secs_f64()
            ],
        )? == 1)
    }

    pub(crate) fn pg_claim_digest(&self, day: &str, lease: Duration) -> Result<bool> {
        Ok(!self
            .query(
                "claiming a digest",
                "INSERT INTO digest_claims (day, worker, until)
                 VALUES ($1, $2, now() + make_interval(secs => $3))
                 ON CONFLICT (day) DO UPDATE SET worker = EXCLUDED.worker, until = EXCLUDED.until
                 WHERE digest_claims.until <= now() OR digest_claims.worker = EXCLUDED.worker
                 RETURNING worker",
                params![day.to_string(), self.worker.clone(), lease.as_secs_f64()],
            )?
            .is_empty())
    }

    pub(crate) fn pg_heartbeat(&self, work: &WorkerCounts) -> Result<()> {
        let clamp = |n: u64| n.min(i64::MAX as u64) as i64;
        let host = self.worker.rsplitn(3, '-').nth(2).unwrap_or("").to_string();
        self.execute(
            "recording this worker alive",
            "INSERT INTO workers (worker, host, pid, started, seen, polls, entries, deliveries)
             VALUES ($1, $2, $3, $4, now(), $5, $6, $7)
             ON CONFLICT (worker) DO UPDATE SET seen = now(), polls = EXCLUDED.polls,
                 entries = EXCLUDED.entries, deliveries = EXCLUDED.deliveries",
            params![
                self.worker.clone(),
                host,
                std::process::id() as i32,
                self.started,
                clamp(work.polls),
                clamp(work.entries),
                clamp(work.deliveries)
            ],
        )?;
        Ok(())
    }

    pub(crate) fn pg_workers(&self) -> Result<Vec<WorkerInfo>> {
        let rows = self.query(
            "reading workers",
            "SELECT w.worker, w.host, w.pid, w.started, w.seen, w.polls, w.entries, w.deliveries,
                    (SELECT count(*) FROM feed_leases l WHERE l.worker = w.worker AND l.until > now()),
                    coalesce((SELECT value #>> '{}' FROM meta WHERE name = 'judge_holder'), '') = w.worker
             FROM workers w WHERE w.seen > now() - interval '1 minute' ORDER BY w.worker",
            params![],
        )?;
        Ok(rows
            .iter()
            .map(|r| WorkerInfo {
                worker: r.get(0),
                host: r.get(1),
                pid: r.get(2),
                started: r.get(3),
                seen: r.get(4),
                counts: WorkerCounts {
                    polls: r.get::<_, i64>(5).max(0) as u64,
                    entries: r.get::<_, i64>(6).max(0) as u64,
                    deliveries: r.get::<_, i64>(7).max(0) as u64,
                },
                leases: r.get(8),
                judging: r.get(9),
            })
            .collect())
    }
}
