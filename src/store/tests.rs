//! Behaviour tests of the store interface. Each runs against every backend ([`backends`]),
//! through [`Store`] only, so a second backend is tested by adding it there.

use chrono::Utc;

use super::*;
use crate::parse::Entry;

/// One fresh store of each backend, with what keeps it alive (sled's directory, PostgreSQL's
/// scratch schema, dropped after). PostgreSQL's is there when its server answers (always in
/// CI: see [`postgres::scratch::available`]).
pub(crate) fn backends() -> Vec<(&'static str, Box<dyn std::any::Any>, Store)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db")).expect("open sled store");
    let mut out: Vec<(&'static str, Box<dyn std::any::Any>, Store)> =
        vec![("sled", Box::new(dir), store)];
    if postgres::scratch::available("store tests") {
        let pg = postgres::scratch::Scratch::new().expect("open a PostgreSQL scratch store");
        let store = Store::from_backend(pg.store.clone());
        out.push(("postgres", Box::new(pg), store));
    }
    out
}

/// The ids of the pending entries, in the order they are processed.
pub(crate) fn pending_ids(store: &Store) -> Result<Vec<String>> {
    Ok(store
        .pending_order()?
        .iter()
        .filter_map(|k| store.pending_entry(k).ok().flatten())
        .map(|r| r.id)
        .collect())
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
fn named_values_are_listed_by_prefix_taken_literally() -> Result<()> {
    for (backend, _dir, store) in backends() {
        for name in [
            "mark:a\nx",
            "mark:a\ny",
            "mark:ab\nz",
            "mark:a%\nw",
            "evidence:a",
        ] {
            store.put_meta(name, &serde_json::json!({ "name": name }))?;
        }
        let names = |p: &str| -> Result<Vec<String>> {
            Ok(store.metas_under(p)?.into_iter().map(|(n, _)| n).collect())
        };
        assert_eq!(names("mark:a\n")?, ["mark:a\nx", "mark:a\ny"], "{backend}");
        // `%` and `_` are characters of the prefix, not patterns.
        assert_eq!(names("mark:a%")?, ["mark:a%\nw"], "{backend}");
        assert!(names("mark:_")?.is_empty(), "{backend}");
        let (_, v) = store
            .metas_under("mark:ab")?
            .pop()
            .ok_or_else(|| missing("mark:ab"))?;
        assert_eq!(v["name"], "mark:ab\nz", "{backend}");
        store.delete_meta("mark:a\nx")?;
        assert_eq!(names("mark:a\n")?, ["mark:a\ny"], "{backend}");
    }
    Ok(())
}

#[test]
fn off_topic_texts_leave_the_duplicate_index_once() -> Result<()> {
    for (_backend, _dir, store) in backends() {
        let now = Utc::now();
        let item = |url: &str, decision: Decision| test_item(url, decision, now);
        let off = off_topic();
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

/// A judge reads a pending entry and writes it back done (or deferred) later; a poll that
/// stored a changed version in between keeps it, pending, whichever way the judge writes.
#[test]
fn a_version_stored_while_the_judge_worked_is_not_overwritten() -> Result<()> {
    for (backend, _dir, store) in backends() {
        let now = Utc::now();
        let (v1, v2) = (entry("first version"), entry("second version"));
        let state = FeedState::default();
        store.record_poll("f", &[("g1".to_string(), &v1)], now, &state)?;
        let key = store.pending_order()?.pop().ok_or(missing("pending"))?;
        let read = store.pending_entry(&key)?.ok_or(missing("entry"))?;
        // The feed changes the entry while the judge works on the first version.
        let c = store.record_poll("f", &[("g1".to_string(), &v2)], now, &state)?;
        assert_eq!(c.updated, 1, "{backend}");
        let title = |store: &Store| -> Result<Option<String>> {
            Ok(store.entry("f", "g1")?.ok_or(missing("entry"))?.entry.title)
        };
        // Deferred: the newer version stays.
        let mut deferred = read.clone();
        deferred.attempts += 1;
        store.put_entry(&deferred)?;
        assert_eq!(
            title(&store)?.as_deref(),
            Some("second version"),
            "{backend}"
        );
        // Decided, alone or among others: the newer version stays, pending.
        let mut done = read.clone();
        done.status = EntryStatus::Done;
        store.commit_decisions(std::slice::from_ref(&done), &[], &[])?;
        let item = ItemRecord::for_test("https://example.org/a", now);
        store.commit_item(&ItemCommit {
            entry: Some(&done),
            item: &item,
            dup: None,
            story: None,
            alert: None,
            endpoints: &[],
        })?;
        assert_eq!(
            title(&store)?.as_deref(),
            Some("second version"),
            "{backend}"
        );
        assert_eq!(store.pending_len(), 1, "{backend}: judged next");
        // The judge's own version, once it is the stored one, is written as ever.
        let second = store.pending_entry(&key)?.ok_or(missing("entry"))?;
        let mut done = second.clone();
        done.status = EntryStatus::Done;
        store.commit_decisions(std::slice::from_ref(&done), &[], &[])?;
        assert_eq!(store.pending_len(), 0, "{backend}");
        assert_eq!(
            store.entry("f", "g1")?.ok_or(missing("entry"))?.status,
            EntryStatus::Done,
            "{backend}"
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
        let ids = pending_ids(&store)?;
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
        // Several at once: the latest of each, those found.
        let mut many: Vec<(String, String)> = store
            .kept_texts(&[
                "https://a.example/3",
                "https://a.example/none",
                "https://a.example/1",
            ])?
            .into_iter()
            .collect();
        many.sort();
        assert_eq!(
            many,
            [
                ("https://a.example/1".to_string(), old.clone()),
                ("https://a.example/3".to_string(), new.clone())
            ]
        );
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
        // The same window as URLs alone, with when each was kept.
        let mut urls: Vec<(String, i64)> = store
            .kept_text_urls(now - day * 3)?
            .into_iter()
            .map(|(u, at)| (u, at.timestamp()))
            .collect();
        urls.sort();
        assert_eq!(
            urls,
            [
                (
                    "https://a.example/2".to_string(),
                    (now - day * 2).timestamp()
                ),
                ("https://a.example/3".to_string(), now.timestamp())
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

/// An off-topic decision with nothing to explain.
fn off_topic() -> Decision {
    Decision::OffTopic {
        score: 0.1,
        threshold: 0.3,
        terms: Vec::new(),
        query: None,
        grounds: Grounds::default(),
    }
}

fn test_item(url: &str, decision: Decision, now: chrono::DateTime<Utc>) -> ItemRecord {
    let mut item = ItemRecord::for_test(url, now);
    item.decisions.insert("t".to_string(), decision);
    item
}

/// Everything a store holds, read back through the interface (kept texts' times to the
/// microsecond, as PostgreSQL keeps them).
fn contents(store: &Store) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let j = |v: &dyn erased::Dump| v.dump();
    out.push(j(&store.feed_states()?));
    out.push(j(&store.entries()?));
    out.push(j(&store.seeds()?));
    out.push(j(&store.items()?));
    out.push(j(&store.stories()?));
    out.push(j(&store.alerts()?));
    let mut outbox = store.outbox()?;
    outbox.sort_by(|a, b| (&a.alert, &a.endpoint).cmp(&(&b.alert, &b.endpoint)));
    out.push(j(&outbox));
    let mut fin = store.finished_deliveries()?;
    fin.sort_by(|a, b| (&a.alert, &a.endpoint).cmp(&(&b.alert, &b.endpoint)));
    out.push(j(&fin));
    out.push(j(&store.digests()?));
    let mut meta = store.metas()?;
    meta.sort_by(|a, b| a.0.cmp(&b.0));
    out.push(j(&meta));
    let mut dups = Vec::new();
    store.for_each_dup_record(&mut |id, rec| dups.push((id, rec.to_vec())))?;
    dups.sort();
    let dups: Vec<(u64, Vec<u8>, Option<String>)> = dups
        .into_iter()
        .map(|(id, r)| Ok((id, r, store.doc_key(id)?)))
        .collect::<Result<_>>()?;
    out.push(j(&dups));
    let mut texts = Vec::new();
    store.for_each_kept_text(
        chrono::DateTime::<Utc>::UNIX_EPOCH,
        &mut |url, at, packed| {
            texts.push((url.to_string(), at.timestamp_micros(), packed.to_vec()))
        },
    )?;
    texts.sort();
    out.push(j(&texts));
    Ok(out)
}

mod erased {
    /// Any serialisable value as JSON, for comparing stores.
    pub trait Dump {
        fn dump(&self) -> String;
    }
    impl<T: serde::Serialize> Dump for T {
        fn dump(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

/// Fills a store with one of everything.
fn fill(store: &Store) -> Result<()> {
    let now = Utc::now();
    store.upsert_entry("f", "g1", &entry("pending one"), now)?;
    store.upsert_entry("f", "g2", &entry("done one"), now)?;
    let mut done = store.entry("f", "g2")?.ok_or_else(|| missing("entry"))?;
    done.status = EntryStatus::Done;
    store.put_entry(&done)?;
    store.put_feed_state(
        "f",
        &FeedState {
            url: "https://example.org/feed".into(),
            etag: Some("\"v1\"".into()),
            ..FeedState::default()
        },
    )?;
    store.put_seed(&SeedRecord {
        name: "t/seed.txt".into(),
        title: "Seed".into(),
        text: "Seed text".into(),
        file_sha256: "ab".into(),
    })?;
    let off = Decision::OffTopic {
        score: 0.1,
        threshold: 0.3,
        terms: Vec::new(),
        query: None,
        grounds: Grounds::default(),
    };
    store.put_item(&test_item("https://example.org/off", off, now))?;
    let alerted = test_item(
        "https://example.org/hit",
        Decision::Unreadable { reason: "r".into() },
        now,
    );
    let story = StoryRecord {
        id: "s1".into(),
        topic: "t".into(),
        title: "A story".into(),
        first_seen: now,
        last_seen: now,
        items: vec![alerted.url.clone()],
        summary: serde_json::Value::Null,
    };
    let alert = AlertRecord::for_test("al_1", "t", &alerted.url, now);
    store.commit_item(&ItemCommit {
        entry: None,
        item: &alerted,
        dup: Some(&DupEntry {
            id: 42,
            key: "item:https://example.org/hit".into(),
            record: vec![1, 2, 3],
        }),
        story: Some(&story),
        alert: Some(&alert),
        endpoints: &["ep1".to_string(), "ep2".to_string()],
    })?;
    let mut dead = store
        .outbox_for("ep2", 1)?
        .pop()
        .ok_or_else(|| missing("delivery"))?;
    dead.state = DeliveryState::Dead;
    dead.last_error = Some("HTTP 410".into());
    store.finish_delivery(&dead)?;
    store.put_digest(&DigestRecord {
        day: "2026-11-30".into(),
        sent_at: now,
        alerts: 1,
        covered_until: now,
        undelivered: vec!["gone@example.org: 550 no such mailbox".into()],
        tail: vec!["a1".into()],
    })?;
    store.put_meta("evidence:t", &serde_json::json!({"alerts": 1}))?;
    store.keep_text("https://example.org/off", now, &texts::pack("kept text"))?;
    Ok(())
}

/// A copy run again after the source changed brings the change over: the copy writes the
/// source's records as they are (not through the pipeline's revision check).
#[test]
fn a_copy_again_after_a_change_takes_the_change() -> Result<()> {
    let dir = tempfile::tempdir().expect("tempdir");
    let from = Store::open(&dir.path().join("from"))?;
    let now = Utc::now();
    let state = FeedState::default();
    let poll = |title: &str| -> Result<()> {
        let e = entry(title);
        from.record_poll("f", &[("g1".to_string(), &e)], now, &state)?;
        Ok(())
    };
    for (backend, _keep, to) in backends() {
        poll("first version")?;
        migrate::copy_all(&from, &to)?;
        poll("second version")?;
        migrate::copy_all(&from, &to)?;
        let title = to.entry("f", "g1")?.ok_or(missing("entry"))?.entry.title;
        assert_eq!(title.as_deref(), Some("second version"), "{backend}");
    }
    Ok(())
}

#[test]
fn a_store_migrates_into_another_whole_and_twice_is_harmless() -> Result<()> {
    let backends = backends();
    let Some((_, _keep, pg)) = backends.iter().find(|b| b.0 == "postgres") else {
        return Ok(());
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let sled_a = Store::open(&dir.path().join("a"))?;
    fill(&sled_a)?;
    let first = migrate::copy_all(&sled_a, pg)?;
    assert_eq!(first.alerts, 1);
    assert_eq!(first.deliveries, 2);
    let again = migrate::copy_all(&sled_a, pg)?;
    assert_eq!(first, again);
    assert_eq!(pg.stats()?, {
        let mut s = sled_a.stats()?;
        s.texts_bytes = pg.stats()?.texts_bytes;
        s.db_bytes = 0;
        s
    });
    // And back: what comes out of PostgreSQL is what went in.
    let sled_b = Store::open(&dir.path().join("b"))?;
    migrate::copy_all(pg, &sled_b)?;
    let (a, b) = (contents(&sled_a)?, contents(&sled_b)?);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "part {i} differs after sled -> postgres -> sled");
    }
    assert_eq!(contents(pg)?, a);
    Ok(())
}

/// Retention forgets old chaff and keeps, however old, what must stay: entries a feed still
/// lists (or may list: a state without a listing), pending entries, items that alerted or
/// are in the duplicate index, the item of an entry kept; and anything recent.
#[test]
fn retention_forgets_old_chaff_and_keeps_what_must_stay() -> Result<()> {
    for (backend, _dir, store) in backends() {
        let now = Utc::now();
        let old = now - chrono::Duration::days(200);
        let cutoff = now - chrono::Duration::days(180);
        let e = |g: &str| Entry {
            guid: Some(g.into()),
            link: Some(format!("https://a.example/{g}")),
            title: Some(g.into()),
            ..Entry::default()
        };
        let (listed, gone, pending, recent) = (e("listed"), e("gone"), e("pending"), e("recent"));
        let found = |v: &[&Entry]| -> Vec<(String, Entry)> {
            v.iter()
                .map(|x| (x.guid.clone().unwrap_or_default(), (*x).clone()))
                .collect()
        };
        let poll = |feed: &str, at, v: &[&Entry], state: &FeedState| -> Result<()> {
            let f = found(v);
            let refs: Vec<(String, &Entry)> = f.iter().map(|(i, x)| (i.clone(), x)).collect();
            store.record_poll(feed, &refs, at, state)?;
            Ok(())
        };
        poll("f", old, &[&listed, &gone, &pending], &FeedState::default())?;
        poll("f", now, &[&recent], &FeedState::default())?;
        // A feed whose state predates listings, and entries of a feed with no state at all.
        poll("g", old, &[&e("unknown")], &FeedState::default())?;
        store.upsert_entry("h", "orphan", &e("orphan"), old)?;
        // A feed removed from the configuration: its last listing is as old as its last poll.
        poll("r", old, &[&e("removed")], &FeedState::default())?;
        for rec in store.pending_entries()? {
            if rec.id != "pending" {
                let mut done = rec;
                done.status = EntryStatus::Done;
                store.put_entry(&done)?;
            }
        }
        let listing = |ids: &[&str]| FeedState {
            listed: Some(ids.iter().map(|i| listing_hash(i)).collect()),
            ..FeedState::default()
        };
        store.put_feed_state("f", &listing(&["listed", "recent"]))?;
        store.put_feed_state(
            "r",
            &FeedState {
                last_attempt: Some(old),
                ..listing(&["removed"])
            },
        )?;
        let off = off_topic();
        let alert = Decision::Alert {
            alert: "a1".into(),
            story: "s1".into(),
            story_title: "S".into(),
            new_story: true,
            score: 0.9,
            terms: Vec::new(),
            grounds: Grounds::default(),
        };
        let item = |url: &str, d: &Decision, at| -> Result<()> {
            let mut i = test_item(url, d.clone(), at);
            i.doc_id = url.len() as u64 * 1000 + url.bytes().map(u64::from).sum::<u64>();
            if url.ends_with("indexed") {
                store.index_text(&DupEntry {
                    id: i.doc_id,
                    key: format!("item:{url}"),
                    record: vec![1],
                })?;
            }
            store.put_item(&i)
        };
        item("https://a.example/listed", &off, old)?;
        item("https://a.example/gone", &off, old)?;
        item("https://b.example/alerted", &alert, old)?;
        item("https://b.example/indexed", &off, old)?;
        item("https://b.example/recent", &off, now)?;
        item("https://b.example/old", &off, old)?;

        // A feed still configured keeps what it listed, however long ago it was polled (a
        // daemon stopped for longer than the window, before its first poll of that feed).
        let configured = |id: &str| id == "f" || id == "g" || id == "r";
        let f = retention::forget_before(&store, cutoff, &configured)?;
        assert_eq!((f.entries, f.items), (2, 2), "{backend}: {f:?}");
        assert!(
            store.entry("r", "removed")?.is_some(),
            "{backend}: a configured feed keeps its listing"
        );
        // Removed from the configuration: its entries go.
        let configured = |id: &str| id == "f" || id == "g";
        let f = retention::forget_before(&store, cutoff, &configured)?;
        assert_eq!((f.entries, f.items), (1, 0), "{backend}: {f:?}");
        let has = |feed: &str, id: &str| -> Result<bool> { Ok(store.entry(feed, id)?.is_some()) };
        assert!(has("f", "listed")? && has("f", "pending")? && has("f", "recent")?);
        assert!(
            has("g", "unknown")?,
            "{backend}: a feed without a listing keeps its entries"
        );
        assert!(!has("f", "gone")? && !has("h", "orphan")?, "{backend}");
        assert!(
            !has("r", "removed")?,
            "{backend}: a removed feed not polled since the cutoff lists nothing"
        );
        for (url, kept) in [
            ("https://a.example/listed", true),
            ("https://a.example/gone", false),
            ("https://b.example/alerted", true),
            ("https://b.example/indexed", true),
            ("https://b.example/recent", true),
            ("https://b.example/old", false),
        ] {
            assert_eq!(store.item(url)?.is_some(), kept, "{backend}: {url}");
        }
        // Again: nothing more to forget. A pending entry is never forgotten, even when asked.
        let f = retention::forget_before(&store, cutoff, &configured)?;
        assert_eq!((f.entries, f.items), (0, 0), "{backend}");
        assert_eq!(
            store.forget_entries(&[("f".into(), "pending".into())])?,
            0,
            "{backend}"
        );
        assert_eq!(pending_ids(&store)?, ["pending"], "{backend}");
    }
    Ok(())
}

/// Retention runs once a day: not on a store's first pass (nothing can be old yet), then a
/// day after its last run; never with `retain` zero.
#[test]
fn retention_runs_once_a_day() -> Result<()> {
    for (backend, _dir, store) in backends() {
        let day = std::time::Duration::from_secs(86_400);
        let retain = day * 180;
        assert_eq!(
            retention::run_if_due(&store, retain, &|_| true)?,
            None,
            "{backend}: first pass"
        );
        assert_eq!(
            retention::run_if_due(&store, retain, &|_| true)?,
            None,
            "{backend}: same day"
        );
        let yesterday = Utc::now() - chrono::Duration::hours(25);
        store.put_meta(
            "retention:last_run",
            &serde_json::Value::String(yesterday.to_rfc3339()),
        )?;
        assert_eq!(
            retention::run_if_due(&store, std::time::Duration::ZERO, &|_| true)?,
            None
        );
        assert_eq!(
            retention::run_if_due(&store, retain, &|_| true)?,
            Some(retention::Forgotten::default()),
            "{backend}: a day later"
        );
        assert_eq!(
            retention::run_if_due(&store, retain, &|_| true)?,
            None,
            "{backend}: done for the day"
        );
    }
    Ok(())
}
