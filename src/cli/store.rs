//! `wirewatch status` (what the store holds, and on a shared store the workers at work) and
//! `wirewatch store migrate --to postgres://...` (moving a store into PostgreSQL).

use crate::config::Config;
use crate::store::migrate::copy_all;
use crate::store::postgres::{PgOptions, PgStore};
use crate::store::Store;

/// Prints the store's counts and, on a shared store, the workers alive with their leases
/// and what each did.
pub fn status(config: &Config, json: bool) -> anyhow::Result<()> {
    let store =
        crate::control::open_store_alone(config, "its status page shows the same (`/status`)")?;
    let stats = store.stats()?;
    let workers = store.workers()?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "store": stats, "shared": store.is_shared(), "workers": workers })
        );
        return Ok(());
    }
    println!(
        "store      {}",
        match &config.store.url {
            Some(_) => "PostgreSQL (shared)".to_string(),
            None => format!("embedded, {}", config.db_path().display()),
        }
    );
    println!(
        "holds      {} feeds, {} entries ({} pending), {} items, {} stories, {} alerts, {} deliveries waiting, {} dead",
        stats.feeds, stats.entries, stats.pending, stats.items, stats.stories, stats.alerts, stats.outbox, stats.dead
    );
    if store.is_shared() {
        println!(
            "workers    {} alive (seen in the last minute)",
            workers.len()
        );
        for w in &workers {
            println!(
                "  {}{}  feed leases {:>5}  polls {:>7}  entries {:>7}  deliveries {:>6}  up since {}  seen {}",
                w.worker,
                if w.judging { " (judging)" } else { "" },
                w.leases,
                w.counts.polls,
                w.counts.entries,
                w.counts.deliveries,
                w.started.format("%Y-%m-%d %H:%M:%S"),
                w.seen.format("%H:%M:%S")
            );
        }
    }
    Ok(())
}

/// Copies the config's store into the PostgreSQL database at `to` (the config's `[store]`
/// password settings apply), in `schema` when given. The source must not be in use.
pub fn migrate(config: &Config, to: &str, schema: Option<&str>) -> anyhow::Result<()> {
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
    println!(
        "copied to {label}: {} feeds, {} entries, {} seeds, {} items, {} index records, {} stories, {} alerts, {} deliveries, {} digests, {} named values, {} kept texts",
        n.feeds, n.entries, n.seeds, n.items, n.dup_records, n.stories, n.alerts, n.deliveries, n.digests, n.meta, n.texts
    );
    println!(
        "now set [store] url = \"{to}\"{} in the config, and start the workers",
        schema
            .map(|s| format!(" and schema = \"{s}\""))
            .unwrap_or_default()
    );
    Ok(())
}
