//! The shared store on PostgreSQL: several wirewatch processes, on one machine or many, over
//! one database (`[store] url = "postgres://..."`).
//!
//! Tables (the schema is `migrations/`, applied in order by refinery when a process opens
//! the store): `feeds`, `entries` (a `pending` flag and the processing order beside each
//! record), `seeds`, `items`, `dup_docs`, `stories`, `alerts`, `outbox`, `finished` (delivered
//! and dead deliveries), `digests`, `texts`, `meta`; and what the workers coordinate by:
//! `feed_leases`, `digest_claims`, the outbox's claim columns, `workers`. Records are stored
//! as the embedded store stores them ([`crate::store::records`]: a version byte, then JSON),
//! so one decoder reads both and `store migrate` copies them as they are.
//!
//! ## Calls from synchronous code
//! The store's interface is synchronous (sled's is, and the judge calls it from inside its
//! own locks). tokio-postgres is asynchronous and must not be driven from inside another
//! runtime's thread by `block_on`, so this backend owns a small runtime of its own: each call
//! is spawned there and the caller waits for its answer on a channel. The caller's thread
//! blocks as it would on sled's disk I/O.
//!
//! ## When the server goes away
//! A call that fails because the server cannot be reached (refused, reset, restarted) is
//! retried, with a growing pause, for up to [`RETRY_FOR`]: a restarted server or a network
//! blip costs a wait, not the cycle. Every write is an upsert or runs in a transaction that
//! either committed or did not, so a retried call never does its work twice. Past the limit
//! the error goes up like any store error: the daemon logs it and tries again next cycle,
//! the entries still pending and the deliveries still in the outbox.

mod delivery;
mod feeds;
mod judged;
mod texts;
mod workers;

use std::future::Future;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::{Backend, Result, StoreError, StoreStats};

mod embedded {
    refinery::embed_migrations!("src/store/postgres/migrations");
}

/// How long a call waits for an unreachable server before it fails.
pub const RETRY_FOR: Duration = Duration::from_secs(90);

/// Connections the pool keeps.
const POOL_SIZE: usize = 8;

/// Parameters of one statement, owned (the statement runs on the store's own runtime).
pub(crate) type Params = Vec<Box<dyn ToSql + Sync + Send>>;

/// Builds [`Params`] from values.
macro_rules! params {
    ($($e:expr),* $(,)?) => {
        vec![$(Box::new($e) as Box<dyn tokio_postgres::types::ToSql + Sync + Send>),*]
    };
}
pub(crate) use params;

/// The PostgreSQL store.
pub struct PgStore {
    /// The runtime the driver runs on (always `Some` until dropped).
    rt: Option<tokio::runtime::Runtime>,
    pool: Pool,
    /// The server and database, without the password (for messages).
    label: String,
    /// How to open the connection that holds the judge lease.
    cfg: tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    /// This process among the workers (host, pid, a random part).
    worker: String,
    started: chrono::DateTime<chrono::Utc>,
    /// The first key of this store's advisory locks: one per schema, so that stores in
    /// different schemas of one database never share a lock.
    lock_key: i32,
    /// The judge lease, when this process holds it.
    judge: std::sync::Mutex<JudgeLease>,
    /// The workers alive, as last read (see `workers.rs`), and when.
    alive: std::sync::Mutex<Option<(std::time::Instant, Vec<String>)>>,
}

/// The judge lease: a session advisory lock held on a connection of its own.
#[derive(Default)]
struct JudgeLease {
    /// The connection and its server process id, while the lease is held.
    held: Option<(tokio_postgres::Client, i32)>,
    /// How many times this process took the lease.
    epoch: u64,
}

/// Where to connect: a URL, its password (from `password_env` / `password_file`) and the
/// schema to use (each test uses its own).
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// `postgres://user@host:port/db?sslmode=...`
    pub url: String,
    /// The password, when not in the URL.
    pub password: Option<Vec<u8>>,
    /// The schema the tables live in (created when absent); `None`: the server's default.
    pub schema: Option<String>,
}

fn pg_err(context: &str, source: tokio_postgres::Error) -> StoreError {
    StoreError::Postgres {
        context: context.to_string(),
        source,
    }
}

/// Whether a failure is the server being unreachable (worth waiting for), rather than a
/// statement the server refused.
fn unreachable(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_none_or(|db| {
        // The server is shutting down or starting up.
        db.code().code().starts_with("57P") || db.code().code().starts_with("08")
    })
}

impl PgStore {
    /// Connects, applies the schema migrations this build knows (one process at a time:
    /// others wait), and refuses a database whose schema is newer than this build.
    pub fn open(opts: &PgOptions) -> Result<PgStore> {
        let mut cfg: tokio_postgres::Config = opts.url.parse().map_err(|e| StoreError::Config {
            message: format!("[store] url: {e}"),
        })?;
        if let Some(pw) = &opts.password {
            cfg.password(pw.clone());
        }
        if let Some(schema) = &opts.schema {
            if !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(StoreError::Config {
                    message: format!("[store] schema {schema:?}: letters, digits and _ only"),
                });
            }
            cfg.options(format!("-c search_path={schema}"));
        }
        let ports = cfg.get_ports();
        let label = format!(
            "postgres://{}/{}",
            cfg.get_hosts()
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let host = match h {
                        tokio_postgres::config::Host::Tcp(h) => h.clone(),
                        tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                    };
                    // One port for all hosts, or one each (libpq's rules).
                    match ports.get(i).or(ports.first()) {
                        Some(p) => format!("{host}:{p}"),
                        None => host,
                    }
                })
                .collect::<Vec<_>>()
                .join(","),
            cfg.get_dbname().unwrap_or("")
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("wirewatch-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Config {
                message: format!("starting the PostgreSQL client: {e}"),
            })?;
        // TLS when the URL asks for it (`sslmode=require`), verified against the web's root
        // certificates. libpq's default ("prefer": TLS if offered, never verified) would
        // fail on the self-signed certificates local servers offer, so it means plain here.
        if cfg.get_ssl_mode() != tokio_postgres::config::SslMode::Require {
            cfg.ssl_mode(tokio_postgres::config::SslMode::Disable);
        }
        let tls = tls_connector()?;
        let mgr = Manager::from_config(
            cfg.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| StoreError::Config {
                message: format!("PostgreSQL pool: {e}"),
            })?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        let lock_key = {
            use sha2::Digest;
            let d = sha2::Sha256::digest(opts.schema.as_deref().unwrap_or("").as_bytes());
            i32::from_be_bytes([d[0], d[1], d[2], d[3]])
        };
        let store = PgStore {
            rt: Some(rt),
            pool,
            label,
            cfg: cfg.clone(),
            tls: tls.clone(),
            worker: format!(
                "{host}-{}-{:04x}",
                std::process::id(),
                rand::random::<u16>()
            ),
            started: chrono::Utc::now(),
            lock_key,
            judge: Default::default(),
            alive: Default::default(),
        };
        store.migrate(&cfg, tls, opts.schema.clone())?;
        Ok(store)
    }

    /// The server and database, without the password.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Creates the schema if asked for one, then applies the migrations under an advisory
    /// lock, so that of several workers starting at once one migrates and the others wait.
    fn migrate(
        &self,
        cfg: &tokio_postgres::Config,
        tls: tokio_postgres_rustls::MakeRustlsConnect,
        schema: Option<String>,
    ) -> Result<()> {
        let cfg = cfg.clone();
        let label = self.label.clone();
        let res: std::result::Result<(), StoreError> = self.block(async move {
            let (mut client, conn) = cfg
                .connect(tls)
                .await
                .map_err(|e| pg_err(&format!("connecting to {label}"), e))?;
            let conn_task = tokio::spawn(conn);
            // The lock first: two `CREATE SCHEMA IF NOT EXISTS` at once can still collide.
            client
                .batch_execute("SELECT pg_advisory_lock(7720411)")
                .await
                .map_err(|e| pg_err("waiting for the migration lock", e))?;
            if let Some(s) = &schema {
                client
                    .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {s}"))
                    .await
                    .map_err(|e| pg_err("creating the schema", e))?;
            }
            let report = embedded::migrations::runner()
                .set_abort_divergent(true)
                .set_abort_missing(true)
                .run_async(&mut client)
                .await;
            let _ = client
                .batch_execute("SELECT pg_advisory_unlock(7720411)")
                .await;
            drop(client);
            let _ = conn_task.await;
            match report {
                Ok(r) => {
                    for m in r.applied_migrations() {
                        tracing::info!(
                            version = m.version(),
                            name = m.name(),
                            "schema migration applied"
                        );
                    }
                    Ok(())
                }
                // Among others: the database holds migrations this build does not know
                // (a newer wirewatch migrated it), which must stop this one.
                Err(e) => Err(StoreError::Migration {
                    server: label,
                    message: e.to_string(),
                }),
            }
        });
        res
    }

    /// Runs a future on the store's runtime and waits for it.
    fn block<T: Send + 'static>(
        &self,
        fut: impl Future<Output = std::result::Result<T, StoreError>> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        if let Some(rt) = &self.rt {
            rt.spawn(async move {
                let _ = tx.send(fut.await);
            });
        }
        rx.recv().unwrap_or_else(|_| {
            Err(StoreError::Config {
                message: "the PostgreSQL client stopped".into(),
            })
        })
    }

    /// Runs `f` on a pooled connection, retrying for up to [`RETRY_FOR`] while the server
    /// cannot be reached (see the module doc). `f` must be safe to run again after a failure
    /// (an upsert, or a transaction).
    pub(crate) fn run<T, F, Fut>(&self, context: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(deadpool_postgres::Object) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<T, tokio_postgres::Error>> + Send,
    {
        let pool = self.pool.clone();
        let label = self.label.clone();
        self.block(async move {
            let start = tokio::time::Instant::now();
            let mut pause = Duration::from_millis(100);
            let mut warned = false;
            loop {
                let failure = match pool.get().await {
                    Ok(client) => match f(client).await {
                        Ok(v) => {
                            if warned {
                                tracing::info!(server = %label, "PostgreSQL reachable again");
                            }
                            return Ok(v);
                        }
                        Err(e) if unreachable(&e) => e.to_string(),
                        Err(e) => return Err(pg_err(context, e)),
                    },
                    Err(e) => e.to_string(),
                };
                if start.elapsed() >= RETRY_FOR {
                    return Err(StoreError::Unavailable {
                        context: context.to_string(),
                        server: label,
                        message: failure,
                    });
                }
                if !warned {
                    tracing::warn!(server = %label, error = %failure, "PostgreSQL unreachable; waiting for it");
                    warned = true;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        })
    }

    /// Rows of one query.
    pub(crate) fn query(
        &self,
        context: &'static str,
        sql: &'static str,
        params: Params,
    ) -> Result<Vec<Row>> {
        let params = std::sync::Arc::new(params);
        self.run(context, move |c| {
            let params = params.clone();
            async move {
                let st = c.prepare_cached(sql).await?;
                c.query(&st, &refs(&params)).await
            }
        })
    }

    /// Runs one statement; the rows it changed.
    pub(crate) fn execute(
        &self,
        context: &'static str,
        sql: &'static str,
        params: Params,
    ) -> Result<u64> {
        let params = std::sync::Arc::new(params);
        self.run(context, move |c| {
            let params = params.clone();
            async move {
                let st = c.prepare_cached(sql).await?;
                c.execute(&st, &refs(&params)).await
            }
        })
    }

    /// Runs statements in one transaction.
    pub(crate) fn transaction(
        &self,
        context: &'static str,
        statements: Vec<(&'static str, Params)>,
    ) -> Result<()> {
        let statements = std::sync::Arc::new(statements);
        self.run(context, move |mut c| {
            let statements = statements.clone();
            async move {
                let tx = c.transaction().await?;
                for (sql, params) in statements.iter() {
                    let st = tx.prepare_cached(sql).await?;
                    tx.execute(&st, &refs(params)).await?;
                }
                tx.commit().await
            }
        })
    }

    /// The first column of the first row, decoded as a record.
    pub(crate) fn record<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        context: &'static str,
        sql: &'static str,
        params: Params,
    ) -> Result<Option<T>> {
        match self.query(context, sql, params)?.first() {
            Some(row) => Ok(Some(super::records::decode(what, row.get::<_, &[u8]>(0))?)),
            None => Ok(None),
        }
    }

    /// Every row's first column, decoded as records (unreadable ones skipped with a warning:
    /// [`super::records::decode_readable`]).
    pub(crate) fn records<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        context: &'static str,
        sql: &'static str,
        params: Params,
    ) -> Result<Vec<T>> {
        let rows = self.query(context, sql, params)?;
        super::records::decode_readable(what, rows.iter().map(|row| Ok(row.get::<_, &[u8]>(0))))
    }

    /// A count (the first column of the first row, a bigint).
    pub(crate) fn count(&self, context: &'static str, sql: &'static str) -> Result<i64> {
        Ok(self
            .query(context, sql, params![])?
            .first()
            .map(|r| r.get::<_, i64>(0))
            .unwrap_or(0))
    }
}

/// The parameters as the driver takes them.
pub(crate) fn refs(params: &Params) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// TLS for servers whose URL asks for it (`sslmode=require`), with the web's root
/// certificates (webpki-roots), so that a managed database works with nothing installed.
fn tls_connector() -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Config {
            message: format!("TLS for PostgreSQL: {e}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// A doc id as PostgreSQL stores it (bigint): the same 64 bits.
pub(crate) fn doc_i64(id: u64) -> i64 {
    i64::from_ne_bytes(id.to_ne_bytes())
}

/// A stored doc id back.
pub(crate) fn doc_u64(id: i64) -> u64 {
    u64::from_ne_bytes(id.to_ne_bytes())
}

impl Backend for PgStore {
    /// Every write is committed when its call returns: nothing to do.
    fn flush_blocking(&self) -> Result<()> {
        Ok(())
    }

    fn get_meta(&self, name: &str) -> Result<Option<serde_json::Value>> {
        Ok(self
            .query(
                "reading meta",
                "SELECT value FROM meta WHERE name = $1",
                params![name.to_string()],
            )?
            .first()
            .map(|r| r.get::<_, serde_json::Value>(0)))
    }

    fn put_meta(&self, name: &str, v: &serde_json::Value) -> Result<()> {
        self.execute(
            "writing meta",
            "INSERT INTO meta (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            params![name.to_string(), v.clone()],
        )?;
        Ok(())
    }

    fn delete_meta(&self, name: &str) -> Result<()> {
        self.execute(
            "deleting meta",
            "DELETE FROM meta WHERE name = $1",
            params![name.to_string()],
        )?;
        Ok(())
    }

    fn metas(&self) -> Result<Vec<(String, serde_json::Value)>> {
        Ok(self
            .query(
                "reading meta",
                "SELECT name, value FROM meta ORDER BY name",
                params![],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn metas_under(&self, prefix: &str) -> Result<Vec<(String, serde_json::Value)>> {
        // `left(..) =` rather than LIKE: the prefix is data, and `%` or `_` in it are literal.
        Ok(self
            .query(
                "reading meta",
                "SELECT name, value FROM meta WHERE left(name, length($1)) = $1 ORDER BY name",
                params![prefix.to_string()],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn delete_metas_under(&self, prefix: &str) -> Result<usize> {
        // One statement rather than a read and a delete per name.
        let n = self.execute(
            "deleting meta",
            "DELETE FROM meta WHERE left(name, length($1)) = $1",
            params![prefix.to_string()],
        )?;
        Ok(n as usize)
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn claim_feed(
        &self,
        feed_id: &str,
        lease: Duration,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        self.pg_claim_feed(feed_id, lease)
    }

    fn judge_lease(&self) -> Result<Option<u64>> {
        self.pg_judge_lease()
    }

    fn host_turn(&self, host: &str, spacing: Duration) -> Result<Duration> {
        self.pg_host_turn(host, spacing)
    }

    fn claim_delivery(&self, alert: &str, endpoint: &str, lease: Duration) -> Result<bool> {
        self.pg_claim_delivery(alert, endpoint, lease)
    }

    fn claim_digest(&self, day: &str, lease: Duration) -> Result<bool> {
        self.pg_claim_digest(day, lease)
    }

    fn heartbeat(&self, work: &super::WorkerCounts) -> Result<()> {
        self.pg_heartbeat(work)
    }

    fn workers(&self) -> Result<Vec<super::WorkerInfo>> {
        self.pg_workers()
    }

    fn stats(&self) -> Result<StoreStats> {
        let rows = self.query(
            "counting",
            "SELECT (SELECT count(*) FROM feeds), (SELECT count(*) FROM entries),
                    (SELECT count(*) FROM entries WHERE pending), (SELECT count(*) FROM seeds),
                    (SELECT count(*) FROM items), (SELECT count(*) FROM stories),
                    (SELECT count(*) FROM alerts), (SELECT count(*) FROM outbox),
                    (SELECT count(*) FROM finished WHERE dead),
                    (SELECT coalesce(sum(octet_length(packed)), 0)::bigint FROM texts)",
            params![],
        )?;
        let Some(r) = rows.first() else {
            return Ok(StoreStats::default());
        };
        let n = |i: usize| r.get::<_, i64>(i).max(0) as usize;
        Ok(StoreStats {
            feeds: n(0),
            entries: n(1),
            pending: n(2),
            seeds: n(3),
            items: n(4),
            stories: n(5),
            alerts: n(6),
            outbox: n(7),
            dead: n(8),
            texts_bytes: n(9) as u64,
            db_bytes: 0,
        })
    }
}

impl Drop for PgStore {
    /// Lets the runtime go without waiting for it: a store may be dropped inside another
    /// runtime's task, where waiting is not allowed.
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl PgStore {
    /// Drops a schema and everything in it (tests' scratch schemas; `store migrate` tests).
    pub fn drop_schema(&self, schema: &str) -> Result<()> {
        let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
        let sql = std::sync::Arc::new(sql);
        self.run("dropping a schema", move |c| {
            let sql = sql.clone();
            async move { c.batch_execute(&sql).await }
        })
    }
}

/// A scratch schema on the test server, dropped with the guard: what every test that needs
/// PostgreSQL uses, so that tests never see each other's rows nor the shared database's.
pub mod scratch {
    use super::{PgOptions, PgStore};

    /// The server the tests use: `$WIREWATCH_TEST_PG`, else the machine's own on loopback.
    pub fn url() -> String {
        std::env::var("WIREWATCH_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
    }

    /// Whether the test server answers on its port (a quick check, so that a machine
    /// without one skips in a moment instead of waiting for the store's retries).
    pub fn reachable() -> bool {
        let Ok(cfg) = url().parse::<tokio_postgres::Config>() else {
            return false;
        };
        let host = match cfg.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => return false,
        };
        let port = cfg.get_ports().first().copied().unwrap_or(5432);
        use std::net::ToSocketAddrs;
        let Ok(mut addrs) = (host.as_str(), port).to_socket_addrs() else {
            return false;
        };
        addrs.next().is_some_and(|a| {
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)).is_ok()
        })
    }

    /// Whether PostgreSQL tests must run (CI, or `WIREWATCH_REQUIRE_PG`): then a missing
    /// server fails them instead of skipping them.
    pub fn required() -> bool {
        std::env::var_os("CI").is_some() || std::env::var_os("WIREWATCH_REQUIRE_PG").is_some()
    }

    /// A fresh schema name.
    pub fn schema_name() -> String {
        format!("wt_{:016x}", rand::random::<u64>())
    }

    /// Whether to run a PostgreSQL test: true when the server answers; false (with a note)
    /// when it does not and the tests are not required; a panic when they are.
    pub fn available(test: &str) -> bool {
        if reachable() {
            return true;
        }
        if required() {
            panic!(
                "{test}: no PostgreSQL at {} (CI requires one: tests/run.sh starts it)",
                url()
            );
        }
        eprintln!(
            "{test}: PostgreSQL tests skipped: no server at {} (tests/run.sh starts one)",
            url()
        );
        false
    }

    /// A store on a fresh schema, dropped with the guard.
    pub struct Scratch {
        /// The store.
        pub store: std::sync::Arc<PgStore>,
        /// Its schema.
        pub schema: String,
    }

    impl Scratch {
        /// Opens a store on a fresh schema of the test server.
        pub fn new() -> super::Result<Scratch> {
            let schema = schema_name();
            let store = PgStore::open(&PgOptions {
                url: url(),
                password: None,
                schema: Some(schema.clone()),
            })?;
            Ok(Scratch {
                store: std::sync::Arc::new(store),
                schema,
            })
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            if let Err(e) = self.store.drop_schema(&self.schema) {
                eprintln!("dropping test schema {}: {e}", self.schema);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::scratch::{available, Scratch};
    use super::*;
    use crate::store::Backend;

    /// A second worker on a scratch store's schema.
    fn second(s: &Scratch) -> PgStore {
        PgStore::open(&PgOptions {
            url: scratch::url(),
            password: None,
            schema: Some(s.schema.clone()),
        })
        .expect("second worker")
    }

    #[test]
    fn a_schema_newer_than_this_build_is_refused() -> Result<()> {
        if !available("newer schema test") {
            return Ok(());
        }
        let s = Scratch::new()?;
        // A later wirewatch migrated the database to a version this build does not know.
        s.store.execute(
            "faking a newer schema",
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum)
             VALUES (999, 'from_the_future', '2030-01-01T00:00:00Z', '0')",
            params![],
        )?;
        match PgStore::open(&PgOptions {
            url: scratch::url(),
            password: None,
            schema: Some(s.schema.clone()),
        }) {
            Err(StoreError::Migration { message, .. }) => {
                assert!(message.contains("999"), "{message}");
            }
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("a newer schema must be refused"),
        }
        Ok(())
    }

    #[test]
    fn an_unreadable_entry_neither_fails_its_feed_nor_holds_up_the_queue() -> Result<()> {
        use crate::store::{FeedState, Store};
        if !available("unreadable entry test") {
            return Ok(());
        }
        let s = Scratch::new()?;
        let store = Store::from_backend(s.store.clone());
        let now = chrono::Utc::now();
        let e = |title: &str| crate::parse::Entry {
            guid: Some(title.into()),
            title: Some(title.into()),
            published: Some(now),
            ..crate::parse::Entry::default()
        };
        let (a, b) = (e("a"), e("b"));
        let found = [("a".to_string(), &a), ("b".to_string(), &b)];
        store.record_poll("f", &found, now, &FeedState::default())?;
        s.store.execute(
            "corrupting an entry",
            "UPDATE entries SET rec = '\\x017b6e6f74'::bytea WHERE entry_id = 'a'",
            params![],
        )?;
        let mut read = Vec::new();
        for k in store.pending_order()? {
            read.extend(store.pending_entry(&k)?.map(|r| r.id));
        }
        assert_eq!(read, ["b"]);
        assert_eq!(store.pending_order()?.len(), 1);
        store.record_poll("f", &found[..1], now, &FeedState::default())?;
        assert_eq!(store.pending_order()?.len(), 2);
        Ok(())
    }

    #[test]
    fn leases_and_claims_belong_to_one_worker_at_a_time() -> Result<()> {
        if !available("leases test") {
            return Ok(());
        }
        let s = Scratch::new()?;
        let (a, b) = (&*s.store, second(&s));
        let lease = Duration::from_secs(60);
        assert_eq!(a.claim_feed("f1", lease)?, None, "a takes f1");
        assert_eq!(a.claim_feed("f1", lease)?, None, "and renews it");
        let until = b.claim_feed("f1", lease)?.expect("b must not take f1");
        assert!(until > chrono::Utc::now() + chrono::Duration::seconds(50));
        assert_eq!(b.claim_feed("f2", lease)?, None, "b takes another feed");
        // An expired lease goes to whoever claims it next.
        assert_eq!(a.claim_feed("f3", Duration::ZERO)?, None);
        assert_eq!(b.claim_feed("f3", lease)?, None);

        // Turns at one host are spaced across the workers.
        let spacing = Duration::from_secs(2);
        assert_eq!(a.host_turn("h.example", spacing)?, Duration::ZERO);
        let second = b.host_turn("h.example", spacing)?;
        let third = a.host_turn("h.example", spacing)?;
        assert!(
            second > Duration::from_millis(1500) && second <= spacing,
            "{second:?}"
        );
        assert!(third > Duration::from_millis(3500), "{third:?}");
        assert_eq!(b.host_turn("other.example", spacing)?, Duration::ZERO);

        assert!(a.claim_digest("2026-12-01", lease)?);
        assert!(!b.claim_digest("2026-12-01", lease)?);

        assert_eq!(a.judge_lease()?, Some(1));
        assert_eq!(b.judge_lease()?, None, "one judge at a time");
        assert_eq!(a.judge_lease()?, Some(1), "held, same epoch");
        a.heartbeat(&crate::store::WorkerCounts {
            polls: 3,
            entries: 2,
            deliveries: 1,
        })?;
        b.heartbeat(&Default::default())?;
        let workers = b.workers()?;
        assert_eq!(workers.len(), 2, "{workers:?}");
        let wa = workers
            .iter()
            .find(|w| w.worker == a.worker())
            .expect("a listed");
        assert!(
            wa.judging && wa.leases == 1 && wa.counts.polls == 3,
            "{wa:?}"
        );

        // The judge's connection cut (a network failure, the server restarted): its commits
        // are refused, and another worker takes the lease.
        let pid = a
            .judge
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .held
            .as_ref()
            .map(|h| h.1)
            .expect("held");
        b.execute(
            "cutting the judge's connection",
            "SELECT pg_terminate_backend($1)",
            params![pid],
        )?;
        // The server process ends a moment later, and its locks with it.
        for _ in 0..100 {
            let gone = b
                .query(
                    "watching the judge's connection end",
                    "SELECT 1 FROM pg_stat_activity WHERE pid = $1",
                    params![pid],
                )?
                .is_empty();
            if gone {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let item = crate::store::ItemRecord {
            url: "https://example.org/x".into(),
            ..serde_json::from_value(serde_json::json!({
                "url": "u", "doc_id": 1, "source": "s", "title": "t",
                "first_seen": "2026-12-01T00:00:00Z", "decided_at": "2026-12-01T00:00:00Z",
                "text_source": "page", "words": 0
            }))
            .expect("item")
        };
        let refused = crate::store::JudgedStore::commit_item(
            a,
            &crate::store::ItemCommit {
                entry: None,
                item: &item,
                dup: None,
                story: None,
                alert: None,
                endpoints: &[],
            },
        );
        assert!(refused.is_err(), "a commit without the lease must fail");
        let mut took = None;
        for _ in 0..50 {
            took = b.judge_lease()?;
            if took.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(took, Some(1), "b judges now");
        assert_eq!(a.judge_lease()?, None, "a sees it lost the lease");
        Ok(())
    }
}
