//! Retention (`[store] retain`) on the embedded store, against the same store without it, in
//! one run. Both get N entries (default 100,000) that their feeds list now, each with its
//! judged item; then, each round (default 5), N more entries and items that are 200 days
//! old and that no feed lists any more. After each round one store runs retention
//! ([`forget_before`]), the other keeps everything. Printed:
//! - each round, both stores' size on disk: the one with retention must level off while the
//!   other grows by the whole load;
//! - the time of the retention runs against their peer, one plain read of every entry and
//!   item (`entries()` + `items()`) of the same store, summed over the rounds;
//! - what it forgot is checked to be exactly each round's old load;
//! - then the store with retention is compacted (`wirewatch store compact`:
//!   [`wirewatch::store::sled::compact`]): its size after, and the time it took against the
//!   same peer, one plain read of every entry and item of that store.
//!
//! Run: `cargo bench --bench retention` (`WW_BENCH_N=20000` for a quicker run).
//!
//! With `WW_BENCH_PG=1` the two stores are PostgreSQL schemas on the test server
//! (`$WIREWATCH_TEST_PG`, else `postgres://postgres@127.0.0.1:5432/test`) instead: sizes are
//! the schemas' tables with their indexes and TOAST (`pg_total_relation_size`), a plain
//! `VACUUM` after each retention run stands for autovacuum (which makes the forgotten rows'
//! space reusable), and `VACUUM FULL` stands for compaction.

use std::time::Instant;

use chrono::{Duration, Utc};
use wirewatch::parse::Entry;
use wirewatch::store::postgres::{scratch, PgOptions, PgStore};
use wirewatch::store::retention::forget_before;
use wirewatch::store::sled::compact::{compact, dir_bytes};
use wirewatch::store::{
    listing_hash, Decision, EntryStatus, FeedState, Grounds, ItemRecord, Store, TextSource,
};

const PER_FEED: usize = 40;

fn dir_mb(path: &std::path::Path) -> f64 {
    dir_bytes(path) as f64 / 1e6
}

/// Runs one statement with `psql` on the test server, returning what it printed.
fn psql(sql: &str) -> Result<String, Box<dyn std::error::Error>> {
    let out = std::process::Command::new("psql")
        .args([scratch::url().as_str(), "-Atqc", sql])
        .output()?;
    if !out.status.success() {
        return Err(format!("psql {sql}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A bench store: an embedded one in a temporary folder, or a PostgreSQL schema.
enum Bench {
    Sled(tempfile::TempDir),
    Pg(String),
}

impl Bench {
    fn open(&self) -> Result<Store, Box<dyn std::error::Error>> {
        Ok(match self {
            Bench::Sled(dir) => Store::open(&dir.path().join("db"))?,
            Bench::Pg(schema) => {
                Store::from_backend(std::sync::Arc::new(PgStore::open(&PgOptions {
                    url: scratch::url(),
                    password: None,
                    schema: Some(schema.clone()),
                })?))
            }
        })
    }

    /// Size on disk, in MB.
    fn mb(&self) -> Result<f64, Box<dyn std::error::Error>> {
        Ok(match self {
            Bench::Sled(dir) => dir_mb(dir.path()),
            Bench::Pg(schema) => {
                let bytes = psql(&format!(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = '{schema}' AND c.relkind = 'r'"
                ))?;
                bytes.parse::<f64>()? / 1e6
            }
        })
    }

    /// What the server's autovacuum does in time (PostgreSQL); nothing for sled.
    fn vacuum(&self, full: bool) -> Result<(), Box<dyn std::error::Error>> {
        if let Bench::Pg(schema) = self {
            let tables = psql(&format!(
                "SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') \
                 FROM pg_tables WHERE schemaname = '{schema}'"
            ))?;
            psql(&format!(
                "VACUUM {} {tables}",
                if full { "FULL" } else { "" }
            ))?;
        }
        Ok(())
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        if let Bench::Pg(schema) = self {
            let _ = psql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

fn item(url: &str, doc_id: u64, at: chrono::DateTime<Utc>) -> ItemRecord {
    let mut decisions = std::collections::BTreeMap::new();
    decisions.insert(
        "t".to_string(),
        Decision::OffTopic {
            score: 0.01,
            threshold: 0.45,
            terms: Vec::new(),
            query: None,
            grounds: Grounds::default(),
        },
    );
    ItemRecord {
        url: url.to_string(),
        doc_id,
        links: vec![url.to_string()],
        feeds: vec!["f".into()],
        source: "Bench feed".into(),
        title: format!("An unrelated headline number {doc_id}"),
        byline: None,
        published: Some(at),
        first_seen: at,
        decided_at: at,
        revisions: 0,
        text_source: TextSource::Page,
        text_note: None,
        text: String::new(),
        words: 600,
        lang: Some("en".into()),
        decisions,
        legacy_decision: None,
        duplicates: Vec::new(),
    }
}

/// Stores `feeds` feeds of PER_FEED entries (feed ids from `first`), polled at `at`; each
/// feed lists none of them any more when `unlisted`, else all of them.
fn load(
    store: &Store,
    first: usize,
    feeds: usize,
    at: chrono::DateTime<Utc>,
    unlisted: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    for f in first..first + feeds {
        let feed = format!("feed{f:06}");
        let entries: Vec<(String, Entry)> = (0..PER_FEED)
            .map(|i| {
                let link = format!("https://news{}.example/{f}/{i}", f % 97);
                (
                    format!("urn:{f}:{i}"),
                    Entry {
                        guid: Some(format!("urn:{f}:{i}")),
                        link: Some(link),
                        title: Some(format!("Headline {f} {i}")),
                        summary: Some("A summary of the article.".into()),
                        ..Entry::default()
                    },
                )
            })
            .collect();
        let found: Vec<(String, &Entry)> = entries.iter().map(|(i, e)| (i.clone(), e)).collect();
        let listed = if unlisted { &found[..0] } else { &found[..] };
        let state = FeedState {
            url: format!("https://feeds.example/{feed}"),
            listed: Some(listed.iter().map(|(i, _)| listing_hash(i)).collect()),
            ..FeedState::default()
        };
        store.record_poll(&feed, &found, at, &state)?;
        for (i, (id, e)) in entries.iter().enumerate() {
            if let Some(mut rec) = store.entry(&feed, id)? {
                rec.status = EntryStatus::Done;
                rec.body_hash = Some(i as u64);
                store.put_entry(&rec)?;
            }
            let url = e.link.clone().unwrap_or_default();
            store.put_item(&item(&url, (f * PER_FEED + i) as u64, at))?;
        }
    }
    store.flush_blocking()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::var("WW_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rounds: usize = std::env::var("WW_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let batch = (n / PER_FEED).max(1);
    let pg = std::env::var_os("WW_BENCH_PG").is_some();
    let bench = || -> Result<Bench, Box<dyn std::error::Error>> {
        Ok(if pg {
            Bench::Pg(scratch::schema_name())
        } else {
            Bench::Sled(tempfile::tempdir()?)
        })
    };
    let (a, b) = (bench()?, bench()?);
    let kept = a.open()?;
    let all = b.open()?;
    println!("retention store={}", if pg { "postgres" } else { "sled" });
    let now = Utc::now();
    let cutoff = now - Duration::days(180);
    // What the feeds list now, in both stores.
    for s in [&kept, &all] {
        load(s, 0, batch, now, false)?;
    }
    let (mut forget_s, mut read_s) = (0.0, 0.0);
    for round in 1..=rounds {
        // A batch as old as retention forgets, that no feed lists any more.
        let first = round * batch;
        for s in [&kept, &all] {
            load(s, first, batch, now - Duration::days(200), true)?;
        }
        let t = Instant::now();
        let (entries, items) = (kept.entries()?.len(), kept.items()?.len());
        read_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let f = forget_before(&kept, cutoff, &|_| true)?;
        kept.flush_blocking()?;
        forget_s += t.elapsed().as_secs_f64();
        a.vacuum(false)?;
        b.vacuum(false)?;
        let old = batch * PER_FEED;
        assert_eq!((f.entries, f.items), (old, old), "exactly the old batch");
        assert_eq!((entries, items), (2 * old, 2 * old));
        println!(
            "retention round={round} entries_each_round={old} store_mb={:.0} without_retention_mb={:.0}",
            a.mb()?,
            b.mb()?,
        );
    }
    let (store_mb, without_mb) = (a.mb()?, b.mb()?);
    let (entries, items) = (kept.entries()?.len(), kept.items()?.len());
    let t = Instant::now();
    let _ = (kept.entries()?.len(), kept.items()?.len());
    let read_once_s = t.elapsed().as_secs_f64();
    drop(kept);
    let t = Instant::now();
    let compacted_mb = match &a {
        Bench::Sled(dir) => compact(&dir.path().join("db"))?.after as f64 / 1e6,
        Bench::Pg(_) => {
            a.vacuum(true)?;
            a.mb()?
        }
    };
    let compact_s = t.elapsed().as_secs_f64();
    let kept = a.open()?;
    assert_eq!(
        (kept.entries()?.len(), kept.items()?.len()),
        (entries, items),
        "compaction keeps every record"
    );
    drop(kept);
    println!(
        "retention{} n={} rounds={rounds} forget_s={forget_s:.2} read_all_s={read_s:.2} ratio={:.2} \
         store_mb={:.0} without_retention_mb={:.0} size_ratio={:.2} \
         compacted_mb={:.0} compact_s={compact_s:.2} read_once_s={read_once_s:.2} compact_ratio={:.2}",
        if pg { " pg" } else { "" },
        batch * PER_FEED,
        forget_s / read_s.max(1e-9),
        store_mb,
        without_mb,
        store_mb / without_mb.max(1e-9),
        compacted_mb,
        compact_s / read_once_s.max(1e-9),
    );
    Ok(())
}
