//! The store's reports that are read-only and cheap: `wirewatch status` (what the store holds,
//! and on a shared store the workers at work) and `wirewatch topics list` (the topics and
//! their alerts). They run on the store directly, or through the running daemon when it
//! holds the store ([`crate::control::Request::Status`], [`crate::control::Request::Topics`]),
//! like `alerts`.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::config::Config;
use crate::store::Store;

/// The store's counts and, on a shared store, the workers alive with their leases and what
/// each did; one JSON object with `json`.
pub fn status(config: &Config, store: &Store, json: bool) -> anyhow::Result<String> {
    let stats = store.stats()?;
    let workers = store.workers()?;
    let digest = store.last_digest()?;
    let retention = crate::store::retention::last_run(store)?;
    let mut out = String::new();
    if json {
        writeln!(
            out,
            "{}",
            serde_json::json!({ "store": stats, "shared": store.is_shared(), "workers": workers,
                "last_digest": digest, "retention": {
                    "retain_s": config.store.retain.0.as_secs(), "last_run": retention } })
        )?;
        return Ok(out);
    }
    writeln!(
        out,
        "store      {}",
        match &config.store.url {
            Some(_) => "PostgreSQL (shared)".to_string(),
            None => format!("embedded, {}", config.db_path().display()),
        }
    )?;
    if !store.is_shared() {
        let mb = |b: u64| b as f64 / 1e6;
        writeln!(
            out,
            "disk       {:.1} MB, and {:.1} MB of kept texts",
            mb(stats.db_bytes),
            mb(stats.texts_bytes)
        )?;
    }
    writeln!(
        out,
        "holds      {} feeds, {} entries ({} pending), {} items, {} stories, {} alerts, {} deliveries waiting, {} dead",
        stats.feeds, stats.entries, stats.pending, stats.items, stats.stories, stats.alerts, stats.outbox, stats.dead
    )?;
    writeln!(
        out,
        "retention  {}",
        match (&retention, config.store.retain.0.is_zero()) {
            (_, true) => "off: everything is kept ([store] retain = \"0s\")".to_string(),
            (None, false) => format!(
                "forgets after {}; not run yet (it runs once a day)",
                config.store.retain
            ),
            (Some(r), false) => format!(
                "forgets after {}; last run {}: {} and {} forgotten",
                config.store.retain,
                r.at.format("%Y-%m-%d %H:%M UTC"),
                entries(r.forgotten.entries),
                plural(r.forgotten.items, "item")
            ),
        }
    )?;
    if let Some(d) = &digest {
        writeln!(
            out,
            "digest     last for {}, sent {}, {}",
            d.day,
            d.sent_at.format("%Y-%m-%d %H:%M UTC"),
            plural(d.alerts, "alert")
        )?;
        for u in &d.undelivered {
            writeln!(out, "  not delivered (the mail server refused it): {u}")?;
        }
    }
    if store.is_shared() {
        writeln!(
            out,
            "workers    {} alive (seen in the last minute)",
            workers.len()
        )?;
        for w in &workers {
            writeln!(
        out,
                "  {}{}  feed leases {:>5}  polls {:>7}  entries {:>7}  deliveries {:>6}  up since {}  seen {}",
                w.worker,
                if w.judging { " (judging)" } else { "" },
                w.leases,
                w.counts.polls,
                w.counts.entries,
                w.counts.deliveries,
                w.started.format("%Y-%m-%d %H:%M:%S"),
                w.seen.format("%H:%M:%S")
            )?;
        }
    }
    Ok(out)
}

/// The config's topics with their seeds and alerts, then the topics the store still holds
/// alerts of that the config no longer names.
pub fn topics(config: &Config, store: &Store) -> anyhow::Result<String> {
    let mut alerts: BTreeMap<String, usize> = BTreeMap::new();
    for a in store.alerts()? {
        *alerts.entry(a.topic).or_insert(0) += 1;
    }
    let mut out = String::new();
    for t in &config.topics {
        let id = t.id();
        let seeds = t.seed_files().map(|f| f.len()).unwrap_or(0);
        writeln!(
            out,
            "{id}  {}  ({}, {}{})",
            t.name,
            plural(seeds, "seed") + &format!(" in {}", t.seeds.display()),
            plural(alerts.remove(&id).unwrap_or(0), "alert"),
            match &t.webhooks {
                Some(w) => format!(", webhooks {}", w.join(", ")),
                None => String::new(),
            }
        )?;
    }
    for (id, n) in alerts {
        writeln!(
            out,
            "{id}  (not in the config: {} kept; `wirewatch topics prune {id}` deletes them)",
            plural(n, "alert")
        )?;
    }
    Ok(out)
}

/// "1 alert", "2 alerts".
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// "1 entry", "2 entries".
pub fn entries(n: usize) -> String {
    match n {
        1 => "1 entry".to_string(),
        n => format!("{n} entries"),
    }
}
