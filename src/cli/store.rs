//! `wirewatch status` (what the store holds, and on a shared store the workers at work),
//! `wirewatch store migrate --to postgres://...` (moving a store into PostgreSQL) and
//! `wirewatch store forget` (retention now, rather than at the daily run) and
//! `wirewatch store compact` (giving the space forgotten records held back to the disk).

use crate::cli::output::outln;
use crate::config::Config;
use crate::store::migrate::copy_all;
use crate::store::postgres::{PgOptions, PgStore};
use crate::store::Store;

/// Copies the config's store into the PostgreSQL database at `to` (the config's `[store]`
/// password settings apply), in `schema` when given. The source must not be in use.
pub fn migrate(config: &Config, to: &str, schema: Option<&str>) -> anyhow::Result<()> {
    // Said of `--to`, not of the config's `[store] url` (which the store's own error names).
    if let Err(e) = to.parse::<tokio_postgres::Config>() {
        anyhow::bail!("--to {to:?}: not a PostgreSQL URL (postgres://user@host:port/db): {e}");
    }
    let from = crate::control::open_store_alone(config, "stop it before migrating its store")?;
    let password = crate::config::read_secret(
        config.store.password_env.as_deref(),
        config.store.password_file.as_deref(),
        "[store] password",
    )?;
    let target = PgStore::open(&PgOptions {
        url: to.to_string(),
        password,
        schema: schema.map(str::to_string),
    })?;
    let label = target.label().to_string();
    let to_store = Store::from_backend(std::sync::Arc::new(target));
    let n = copy_all(&from, &to_store)?;
    outln!(
        "copied to {label}: {} feeds, {} entries, {} seeds, {} items, {} index records, {} stories, {} alerts, {} deliveries, {} digests, {} named values, {} kept texts",
        n.feeds, n.entries, n.seeds, n.items, n.dup_records, n.stories, n.alerts, n.deliveries, n.digests, n.meta, n.texts
    );
    outln!(
        "now set [store] url = \"{to}\"{} in the config, and start the workers",
        schema
            .map(|s| format!(" and schema = \"{s}\""))
            .unwrap_or_default()
    );
    Ok(())
}

/// Runs retention now ([`crate::store::retention::run_now`]) and says what it forgot.
pub fn forget(config: &Config) -> anyhow::Result<()> {
    let retain = config.store.retain;
    if retain.0.is_zero() {
        anyhow::bail!(
            "[store] retain is \"0s\": the store keeps everything; set a window (for example \"90d\") to forget what is older"
        );
    }
    let store = crate::control::open_store_alone(
        config,
        "stop it first, or let it forget on its own (it does once a day)",
    )?;
    crate::daemon::stall::watch_store(
        &store,
        "run `wirewatch store forget` again: what it forgot stays forgotten",
    );
    let feeds = crate::pipeline::FeedIndex::new(config);
    let f = crate::store::retention::run_now(&store, retain.0, &|id| feeds.index(id).is_some())?;
    store.flush_blocking()?;
    outln!(
        "forgot {} and {} older than {retain} that nothing needs (the store reuses their space as it grows again; `wirewatch store compact` gives it back to the disk now)",
        crate::report::status::entries(f.entries),
        crate::report::status::plural(f.items, "item")
    );
    Ok(())
}

/// Compacts the embedded store ([`crate::store::sled::compact`]) and says how much smaller
/// it is. PostgreSQL manages its own space: said, and nothing done.
pub fn compact(config: &Config) -> anyhow::Result<()> {
    if config.store.postgres()?.is_some() {
        anyhow::bail!(
            "[store] url is a PostgreSQL database, which reuses the space of deleted rows itself (autovacuum); to give it back to the file system, run VACUUM FULL on wirewatch's tables (it locks each table while it runs)"
        );
    }
    let db = config.db_path();
    if !db.exists() {
        anyhow::bail!("no store at {}: nothing to compact", db.display());
    }
    let c = crate::store::sled::compact::compact(&db).map_err(|e| {
        crate::control::held_elsewhere(config, e, "stop it before compacting its store")
    })?;
    let mb = |b: u64| b as f64 / 1e6;
    outln!(
        "compacted the store in {}: {:.2} MB before, {:.2} MB after",
        db.display(),
        mb(c.before),
        mb(c.after)
    );
    Ok(())
}
