//! `wirewatch topics`: the topics of a config and what the store holds of them, and pruning
//! what a removed topic left behind.
//!
//! Removing a topic from the config stops it from judging anything new; its alerts stay
//! readable (`alerts --topic ID`, the digest's history) until `topics prune ID` deletes them:
//! nothing a reader may still want is dropped by an edit of the config alone.

use crate::cli::output::outln;

use chrono::Utc;

use crate::config::Config;
use crate::store::{DeliveryState, Store};

/// `wirewatch topics prune ID`: deletes what a topic no longer configured left in the store.
pub fn prune(config: &Config, id: &str) -> anyhow::Result<()> {
    if config.topic_by_id(id).is_some() {
        anyhow::bail!("topic {id} is in the config; remove it from the config first");
    }
    let store = crate::control::open_store_alone(config, "stop it to prune a topic")?;
    // A mistyped id must not look like a success; asked before anything is deleted.
    if !holds_topic(&store, id)? {
        anyhow::bail!(
            "the store holds nothing of a topic {id:?}: is the id right? (`wirewatch topics list` shows the topics it holds alerts of)"
        );
    }
    let counts = prune_topic(&store, id)?;
    outln!(
        "topic {id} pruned: {} alerts, {} stories, {} decisions, {} pending deliveries",
        counts.0,
        counts.1,
        counts.2,
        counts.3
    );
    Ok(())
}

/// Whether the store holds anything of a topic: alerts, stories, what it learned, the
/// reader's marks or journaled lessons, or (the one full scan, last) decisions on items.
fn holds_topic(store: &Store, id: &str) -> anyhow::Result<bool> {
    if store.alerts()?.iter().any(|a| a.topic == id)
        || store.stories()?.iter().any(|s| s.topic == id)
    {
        return Ok(true);
    }
    for key in ["evidence", "near_misses", "backfilled", "marks_moved"] {
        if store.get_meta(&format!("{key}:{id}"))?.is_some() {
            return Ok(true);
        }
    }
    if store
        .get_meta(&crate::judge::neighbours::neighbours_key(id))?
        .is_some()
    {
        return Ok(true);
    }
    for prefix in [
        crate::judge::mark_key(id, ""),
        crate::judge::lessons_prefix(id),
        crate::judge::neighbours::journal_prefix(id),
    ] {
        if !store.metas_under(&prefix)?.is_empty() {
            return Ok(true);
        }
    }
    Ok(store.items()?.iter().any(|i| i.decisions.contains_key(id)))
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
        crate::judge::neighbours::journal_prefix(id),
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
