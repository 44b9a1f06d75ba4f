//! `wirewatch topics`: the topics of a config and what the store holds of them, and pruning
//! what a removed topic left behind.
//!
//! Removing a topic from the config stops it from judging anything new; its alerts stay
//! readable (`alerts --topic ID`, the digest's history) until `topics prune ID` deletes them:
//! nothing a reader may still want is dropped by an edit of the config alone.

use std::collections::BTreeMap;

use chrono::Utc;

use crate::config::{Config, TopicConfig};
use crate::store::{DeliveryState, Store};

/// The seed files of a topic's seed directory (plain files, not hidden); an error naming the
/// topic when there are none or the directory cannot be read.
pub fn seed_files(t: &TopicConfig) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let rd = std::fs::read_dir(&t.seeds).map_err(|e| {
        anyhow::anyhow!(
            "topic {:?} ({}): cannot read its seed directory {}: {e}",
            t.name,
            t.id(),
            t.seeds.display()
        )
    })?;
    let files: Vec<_> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    if files.is_empty() {
        anyhow::bail!(
            "topic {:?} ({}): its seed directory {} holds no seed article",
            t.name,
            t.id(),
            t.seeds.display()
        );
    }
    Ok(files)
}

/// Alerts per topic id in a store.
fn alerts_by_topic(store: &Store) -> anyhow::Result<BTreeMap<String, usize>> {
    let mut n = BTreeMap::new();
    for a in store.alerts()? {
        *n.entry(a.topic).or_insert(0) += 1;
    }
    Ok(n)
}

/// `wirewatch topics list`.
pub fn list(config: &Config) -> anyhow::Result<()> {
    let store = crate::control::open_store_alone(config, "stop it to list the topics")?;
    let mut alerts = alerts_by_topic(&store)?;
    for t in &config.topics {
        let id = t.id();
        println!(
            "{id}  {}  ({} seeds in {}, {} alerts{})",
            t.name,
            seed_files(t).map(|f| f.len()).unwrap_or(0),
            t.seeds.display(),
            alerts.remove(&id).unwrap_or(0),
            match &t.webhooks {
                Some(w) => format!(", webhooks {}", w.join(", ")),
                None => String::new(),
            }
        );
    }
    for (id, n) in alerts {
        println!("{id}  (not in the config: {n} alerts kept; `wirewatch topics prune {id}` deletes them)");
    }
    Ok(())
}

/// `wirewatch topics prune ID`: deletes what a topic no longer configured left in the store.
pub fn prune(config: &Config, id: &str) -> anyhow::Result<()> {
    if config.topic_by_id(id).is_some() {
        anyhow::bail!("topic {id} is in the config; remove it from the config first");
    }
    let store = crate::control::open_store_alone(config, "stop it to prune a topic")?;
    let counts = prune_topic(&store, id)?;
    println!(
        "topic {id} pruned: {} alerts, {} stories, {} decisions, {} pending deliveries",
        counts.0, counts.1, counts.2, counts.3
    );
    Ok(())
}

/// Deletes a topic's alerts (their pending deliveries finished as dead first), stories,
/// decisions and what it learned. Returns (alerts, stories, decisions, deliveries).
pub fn prune_topic(store: &Store, id: &str) -> anyhow::Result<(usize, usize, usize, usize)> {
    let alerts: Vec<String> = store
        .alerts()?
        .into_iter()
        .filter(|a| a.topic == id)
        .map(|a| a.id)
        .collect();
    let mut deliveries = 0;
    for mut d in store.outbox()? {
        if alerts.contains(&d.alert) {
            d.state = DeliveryState::Dead;
            d.finished = Some(Utc::now());
            d.last_error = Some(format!("topic {id} pruned"));
            store.finish_delivery(&d)?;
            deliveries += 1;
        }
    }
    for a in &alerts {
        store.remove_alert(a)?;
    }
    let mut stories = 0;
    for s in store.stories()? {
        if s.topic == id {
            store.remove_story(&s.id)?;
            stories += 1;
        }
    }
    let mut decisions = 0;
    for mut item in store.items()? {
        if item.decisions.remove(id).is_some() {
            store.put_item(&item)?;
            decisions += 1;
        }
    }
    for key in ["evidence", "near_misses", "backfilled", "marks_moved"] {
        store.delete_meta(&format!("{key}:{id}"))?;
    }
    store.delete_meta(&format!("evidence:{id}.unreadable"))?;
    store.delete_meta(&crate::judge::neighbours::neighbours_key(id))?;
    let [queued, answered] = crate::pipeline::feedback::rejudge_prefixes(id);
    for prefix in [
        crate::judge::mark_key(id, ""),
        crate::judge::lessons_prefix(id),
        queued,
        answered,
    ] {
        for (key, _) in store.metas_under(&prefix)? {
            store.delete_meta(&key)?;
        }
    }
    store.flush_blocking()?;
    Ok((alerts.len(), stories, decisions, deliveries))
}
