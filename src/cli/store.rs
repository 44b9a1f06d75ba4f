//! `wirewatch status` (what the store holds, and on a shared store the workers at work) and
//! `wirewatch store migrate --to postgres://...` (moving a store into PostgreSQL).

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
