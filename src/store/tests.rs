//! Behaviour tests of the store interface. Each runs against every backend ([`backends`]),
//! through [`Store`] only, so a second backend is tested by adding it there.

use chrono::Utc;

use super::*;
use crate::parse::Entry;

/// One fresh store of each backend, with what keeps it alive (its directory).
fn backends() -> Vec<(&'static str, tempfile::TempDir, Store)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db")).expect("open sled store");
    vec![("sled", dir, store)]
}

fn entry(title: &str) -> Entry {
    Entry {
        guid: Some("g1".into()),
        link: Some("https://example.org/a".into()),
        title: Some(title.into()),
        ..Entry::default()
    }
}

#[test]
fn off_topic_texts_leave_the_duplicate_index_once() -> Result<()> {
    for (_backend, _dir, store) in backends() {
        let now = Utc::now();
        let item = |url: &str, decision: Decision| ItemRecord {
            url: url.into(),
            doc_id: 0,
            links: Vec::new(),
            feeds: Vec::new(),
            source: "s".into(),
            title: "t".into(),
            byline: None,
            published: None,
            first_seen: now,
            decided_at: now,
            revisions: 0,
            text_source: TextSource::Page,
            text_note: None,
            text: String::new(),
            words: 0,
            lang: None,
            decisions: [("t".to_string(), decision)].into_iter().collect(),
            legacy_decision: None,
            duplicates: Vec::new(),
        };
        let off = Decision::OffTopic {
            score: 0.1,
            threshold: 0.3,
            terms: Vec::new(),
            query: None,
            grounds: Grounds::default(),
        };
        let kept = Decision::Unreadable { reason: "r".into() };
        store.put_item(&item("http://a/off", off.clone()))?;
        store.put_item(&item("http://a/kept", kept))?;
        for (id, key) in [
            (1u64, "item:http://a/off"),
            (2, "item:http://a/kept"),
            (3, "seed:s"),
        ] {
            store.index_text(&DupEntry {
                id,
                key: key.into(),
                record: vec![1, 2, 3],
            })?;
        }
        assert_eq!(store.drop_off_topic_texts()?, 1);
        assert_eq!(store.dup_len(), 2);
        assert_eq!(store.doc_key(1)?, None);
        assert_eq!(store.doc_key(2)?.as_deref(), Some("item:http://a/kept"));
        assert_eq!(store.doc_key(3)?.as_deref(), Some("seed:s"));
        // Once per store: a later off-topic record (there are none in new stores) stays.
        store.put_item(&item("http://a/off2", off))?;
        store.index_text(&DupEntry {
            id: 4,
            key: "item:http://a/off2".into(),
            record: vec![1],
        })?;
        assert_eq!(store.drop_off_topic_texts()?, 0);
        assert_eq!(store.dup_len(), 3);
    }
    Ok(())
}

#[test]
fn upsert_is_idempotent_and_sees_updates() -> Result<()> {
    for (_backend, _dir, store) in backends() {
        let now = Utc::now();
        assert_eq!(
            store.upsert_entry("f", "g1", &entry("a"), now)?,
            EntryChange::New
        );
        assert_eq!(
            store.upsert_entry("f", "g1", &entry("a"), now)?,
            EntryChange::Unchanged
        );
        assert_eq!(
            store.upsert_entry("f", "g1", &entry("a (updated)"), now)?,
            EntryChange::Updated
        );
        let rec = store.entry("f", "g1")?.ok_or(StoreError::Corrupt {
            what: "entry",
            message: "missing".into(),
        })?;
        assert_eq!(rec.revisions, 1);
        assert_eq!(store.stats()?.entries, 1);
    }
    Ok(())
}

fn missing(what: &'static str) -> StoreError {
    StoreError::Corrupt {
        what,
        message: "missing".into(),
    }
}

#[test]
fn a_poll_is_recorded_whole_with_the_feed_state_and_in_chunks_when_huge() -> Result<()> {
    for (_backend, _dir, store) in backends() {
        let now = Utc::now();
        let entries: Vec<Entry> = (0..1300).map(|i| entry(&format!("t{i}"))).collect();
        let found: Vec<(String, &Entry)> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (format!("g{i}"), e))
            .collect();
        let state = FeedState {
            url: "https://example.org/feed".into(),
            etag: Some("\"v1\"".into()),
            entries_new: 5,
            ..FeedState::default()
        };
        // 1300 entries: three chunks, the state written with the last.
        let c = store.record_poll("f", &found, now, &state)?;
        assert_eq!((c.new, c.updated), (1300, 0));
        let saved = store.feed_state("f")?.ok_or(missing("feed"))?;
        assert_eq!(saved.etag.as_deref(), Some("\"v1\""));
        assert_eq!(saved.entries_new, 1305, "increased by the new entries");
        assert_eq!(store.pending_len(), 1300);
        // Seen again, one changed: only that one is pending again.
        let changed = entry("t7 (updated)");
        let mut again = found.clone();
        again[7].1 = &changed;
        for e in store.pending_entries()? {
            let mut done = e;
            done.status = EntryStatus::Done;
            store.put_entry(&done)?;
        }
        let c = store.record_poll("f", &again[..20], now, &saved)?;
        assert_eq!((c.new, c.updated), (0, 1));
        assert_eq!(store.pending_len(), 1);
        assert_eq!(
            store.feed_state("f")?.ok_or(missing("feed"))?.entries_new,
            1305
        );
    }
    Ok(())
}

#[test]
fn processed_entries_keep_a_hash_of_their_text_and_still_notice_changes() -> Result<()> {
    for (_backend, _dir, store) in backends() {
        let now = Utc::now();
        let mut e = entry("a");
        e.summary = Some("<p>The summary,   as given.</p>".into());
        e.content_html = Some("<p>A long body.</p>".repeat(50));
        store.upsert_entry("f", "g1", &e, now)?;
        let mut rec = store.entry("f", "g1")?.ok_or(missing("entry"))?;
        assert!(rec.entry.content_html.is_some(), "pending keeps the text");
        let keys = store.pending_order()?;
        assert_eq!(keys.len(), 1);
        assert!(store.pending_entry(&keys[0])?.is_some());
        rec.status = EntryStatus::Done;
        store.put_entry(&rec)?;
        assert!(
            store.pending_entry(&keys[0])?.is_none(),
            "done: no longer pending"
        );
        let slim = store.entry("f", "g1")?.ok_or(missing("entry"))?;
        assert_eq!(slim.entry.content_html, None);
        assert_eq!(slim.entry.summary, None);
        assert!(slim.body_hash.is_some());
        assert_eq!(slim.entry.title.as_deref(), Some("a"));
        // Whitespace alone is no change; a new summary or body is.
        let mut same = e.clone();
        same.summary = Some("<p>The summary, as   given.</p>".into());
        assert_eq!(
            store.upsert_entry("f", "g1", &same, now)?,
            EntryChange::Unchanged
        );
        let mut edited = e.clone();
        edited.content_html = Some("<p>A longer body.</p>".repeat(50));
        assert_eq!(
            store.upsert_entry("f", "g1", &edited, now)?,
            EntryChange::Updated
        );
        let back = store.entry("f", "g1")?.ok_or(missing("entry"))?;
        assert_eq!(back.body_hash, None, "pending again, with its full text");
        assert_eq!(back.entry.content_html, edited.content_html);
    }
    Ok(())
}

#[test]
fn pending_order_is_oldest_first() -> Result<()> {
    for (_backend, _dir, store) in backends() {
        let now = Utc::now();
        let at = |days: i64| Entry {
            published: Some(now - chrono::Duration::days(days)),
            ..entry("x")
        };
        // Keys sort a < b < c; publication order is c (oldest), a, b (undated: first seen).
        store.upsert_entry("f", "a", &at(2), now)?;
        store.upsert_entry("f", "b", &entry("undated"), now)?;
        store.upsert_entry("f", "c", &at(3), now)?;
        let ids: Vec<String> = store
            .pending_order()?
            .iter()
            .filter_map(|k| store.pending_entry(k).ok().flatten())
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["c", "a", "b"]);
        assert_eq!(store.pending_len(), 3);
    }
    Ok(())
}

#[test]
fn kept_texts_are_read_back_replaced_and_pruned() -> Result<()> {
    for (_backend, _dir, store) in backends() {
        let now = Utc::now();
        let day = chrono::Duration::days(1);
        let old = "An old report. ".repeat(30);
        let new = "A new report. ".repeat(30);
        store.keep_text("https://a.example/1", now - day * 9, &texts::pack(&old))?;
        store.keep_text("https://a.example/2", now - day * 2, &texts::pack(&new))?;
        // Kept again (re-judged): the newer time counts.
        store.keep_text("https://a.example/3", now - day * 9, &texts::pack(&old))?;
        store.keep_text("https://a.example/3", now, &texts::pack(&new))?;
        assert_eq!(
            store.kept_text("https://a.example/1")?.as_deref(),
            Some(old.as_str())
        );
        assert_eq!(
            store.kept_text("https://a.example/3")?.as_deref(),
            Some(new.as_str())
        );
        assert_eq!(store.kept_text("https://a.example/none")?, None);
        let bytes = store.kept_texts_bytes()?;
        assert!(
            bytes > 0 && bytes < (old.len() * 3) as u64 / 4,
            "{bytes} bytes stored"
        );
        let mut seen = Vec::new();
        store.for_each_kept_text(now - day * 3, &mut |url, _, packed| {
            seen.push((url.to_string(), texts::unpack(packed)));
        })?;
        assert_eq!(
            seen,
            [
                ("https://a.example/2".to_string(), Some(new.clone())),
                ("https://a.example/3".to_string(), Some(new.clone()))
            ]
        );

        assert!(store.prune_texts(now - day * 7)? >= 1, "the 9-day-old ones");
        assert_eq!(store.kept_text("https://a.example/1")?, None);
        assert_eq!(
            store.kept_text("https://a.example/3")?.as_deref(),
            Some(new.as_str())
        );
        assert!(store.kept_text("https://a.example/2")?.is_some());
        assert!(store.stats()?.texts_bytes > 0);
        assert_eq!(store.prune_texts(now - day * 7)?, 0);
    }
    Ok(())
}
