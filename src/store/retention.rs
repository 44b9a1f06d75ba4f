//! Retention: what the store forgets once it is older than `[store] retain`, and what it
//! never forgets.
//!
//! A daemon that runs for years must not grow for years: at 10,000 feeds one day's entries
//! and judged items take over a gigabyte. Most of that is chaff: the entries of every feed
//! and the items judged off-topic or copies. Once a day, at the start of a judging pass
//! ([`run_if_due`]; on a shared store, by the judge lease's holder alone), the store forgets:
//! - **entries** that are done (not pending), first seen and last changed before the
//!   cutoff, and that their feed's last document no longer lists ([`FeedState::listed`]).
//!   An entry the feed still lists is kept however old it is: forgotten, it would be new to
//!   the next poll and be judged again. A feed whose state predates the listing keeps all
//!   its entries until its next poll says what it lists. A feed removed from the
//!   configuration and not polled since the cutoff lists nothing: its entries go like any
//!   other. A feed still configured keeps its listing however long ago it was polled (a
//!   daemon stopped for months, whose first pass after the restart has not reached every
//!   feed yet, must not forget what they list).
//! - **items** first seen and last decided before the cutoff that alerted for no topic, are
//!   not in the duplicate index, and are not the article of an entry still kept.
//!
//! It keeps, whatever their age: alerts, stories, deliveries and digests (a few a day, and
//! what the reader sees), the items that alerted and every text in the duplicate index (a
//! late copy of an old alert is still a copy), the seeds, and what the judge learned. Kept
//! texts have their own, shorter window (`[store] keep_text`).
//!
//! What is forgotten is gone for good: an article that a feed lists again after its entry
//! and item were forgotten (a feed that re-lists its archive, a feed removed and added back
//! later) is judged as new. That is why the default window is long (180 days), and `"0s"`
//! turns retention off.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use tracing::{info, warn};

use super::{listing_hash, EntryStatus, Result, Store};

/// The meta value holding when retention last ran.
const LAST_RUN: &str = "retention:last_run";

/// How often retention runs.
const EVERY: Duration = Duration::hours(24);

/// The meta value holding what the last run forgot ([`LastRun`]), for `wirewatch status`.
const LAST_RESULT: &str = "retention:last_result";

/// What one run forgot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Forgotten {
    /// Entries removed.
    pub entries: usize,
    /// Items removed.
    pub items: usize,
}

/// The last run of retention, as `wirewatch status` shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LastRun {
    /// When it ran.
    pub at: DateTime<Utc>,
    /// What it forgot.
    #[serde(flatten)]
    pub forgotten: Forgotten,
}

/// The last run of retention that finished, if any (an unreadable record reads as none).
pub fn last_run(store: &Store) -> Result<Option<LastRun>> {
    Ok(store
        .get_meta(LAST_RESULT)?
        .and_then(|v| serde_json::from_value(v).ok()))
}

/// Forgets what is older than `cutoff` and not kept for another reason (see the module doc).
/// `configured` tells whether a feed id is in the configuration.
pub fn forget_before(
    store: &Store,
    cutoff: DateTime<Utc>,
    configured: &dyn Fn(&str) -> bool,
) -> Result<Forgotten> {
    // What each feed lists now; a feed without a recorded listing keeps everything. A feed
    // removed from the configuration that nobody has polled since the cutoff lists nothing
    // any more: its last listing must not keep its entries for ever. Both conditions, so
    // that neither a configured feed not polled for long (the daemon was stopped) nor a
    // feed another worker's newer configuration polls loses its listing.
    let listings: HashMap<String, Option<HashSet<u64>>> = store
        .feed_states()?
        .into_iter()
        .map(|(id, st)| {
            let abandoned = !configured(&id) && st.last_attempt.is_some_and(|at| at < cutoff);
            let listed = if abandoned {
                Some(HashSet::new())
            } else {
                st.listed.map(|l| l.into_iter().collect())
            };
            (id, listed)
        })
        .collect();
    let mut old_entries = Vec::new();
    // The links of the entries kept (hashed: a large store has hundreds of thousands): their
    // items stay with them.
    let link_hash = |l: &str| std::hash::BuildHasher::hash_one(&rustc_hash::FxBuildHasher, l);
    let mut kept_links: HashSet<u64> = HashSet::new();
    let unreadable = store.for_each_entry(&mut |e| {
        let listed = match listings.get(&e.feed_id) {
            Some(Some(set)) => set.contains(&listing_hash(&e.id)),
            Some(None) => true,
            // A feed with no state at all (removed from the store): nothing lists it.
            None => false,
        };
        let old = e.first_seen < cutoff && e.changed_at < cutoff;
        if old && !listed && e.status != EntryStatus::Pending {
            old_entries.push((e.feed_id, e.id));
        } else if let Some(link) = &e.entry.link {
            kept_links.insert(link_hash(link));
        }
    })?;
    if unreadable > 0 {
        warn!(
            unreadable,
            "unreadable entries left alone by retention (their feed's next listing rewrites them)"
        );
    }
    let mut indexed: HashSet<u64> = HashSet::new();
    store.for_each_dup_record(&mut |id, _| {
        indexed.insert(id);
    })?;
    let mut old_items = Vec::new();
    store.for_each_item(&mut |i| {
        let old = i.first_seen < cutoff && i.decided_at < cutoff;
        let listed = kept_links.contains(&link_hash(&i.url))
            || i.links.iter().any(|l| kept_links.contains(&link_hash(l)));
        if old && !listed && !i.alerted() && !indexed.contains(&i.doc_id) {
            old_items.push(i.url);
        }
    })?;
    let entries = store.forget_entries(&old_entries)?;
    let items = store.forget_items(&old_items)?;
    Ok(Forgotten { entries, items })
}

/// When retention last started a run (an unreadable stamp reads as never).
fn previous_run(store: &Store) -> Result<Option<DateTime<Utc>>> {
    Ok(store
        .get_meta(LAST_RUN)?
        .and_then(|v| v.as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok())))
}

/// Runs [`forget_before`] with the cutoff `retain` before now, when a day has passed since
/// the last run (on a fresh store, the first run is a day after the first pass: nothing in
/// it can be old). `retain` zero: never. A failure is logged and tried again a day later:
/// retention must not stop the judging.
pub fn run_if_due(
    store: &Store,
    retain: std::time::Duration,
    configured: &dyn Fn(&str) -> bool,
) -> Result<Option<Forgotten>> {
    if retain.is_zero() {
        return Ok(None);
    }
    let now = Utc::now();
    match previous_run(store)? {
        Some(at) if now.signed_duration_since(at) < EVERY => return Ok(None),
        Some(_) => {}
        None => {
            store.put_meta(LAST_RUN, &serde_json::Value::String(now.to_rfc3339()))?;
            return Ok(None);
        }
    }
    match run_now(store, retain, configured) {
        Ok(f) => Ok(Some(f)),
        Err(e) => {
            warn!(error = %e, "retention failed; it is tried again in a day");
            Ok(None)
        }
    }
}

/// One run of retention now, whenever the last one was (`wirewatch store forget`, and the
/// daily run): forgets what is older than `retain` before now, and records the run for
/// `wirewatch status`. The run is stamped before it starts, so a run that fails waits a day
/// like one that worked.
pub fn run_now(
    store: &Store,
    retain: std::time::Duration,
    configured: &dyn Fn(&str) -> bool,
) -> Result<Forgotten> {
    let now = Utc::now();
    store.put_meta(LAST_RUN, &serde_json::Value::String(now.to_rfc3339()))?;
    let window = Duration::from_std(retain).unwrap_or(Duration::MAX);
    let cutoff = now
        .checked_sub_signed(window)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let f = forget_before(store, cutoff, configured)?;
    let last = LastRun {
        at: now,
        forgotten: f,
    };
    if let Err(e) = store.put_meta(
        LAST_RESULT,
        &serde_json::to_value(&last).unwrap_or_default(),
    ) {
        warn!(error = %e, "could not record retention's run for status");
    }
    info!(
        entries = f.entries,
        items = f.items,
        cutoff = %cutoff.format("%Y-%m-%d"),
        "retention: forgot what was older than [store] retain"
    );
    Ok(f)
}
