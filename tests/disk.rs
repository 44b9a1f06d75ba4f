//! The state directory read-only or full: a clear error, no corruption, and recovery once the
//! directory is writable or has space again. And a store that does not grow for ever:
//! retention forgets what is old and no feed lists.
//!
//! Both need a filesystem the test controls: a small tmpfs mounted over the state directory,
//! which takes root (CAP_SYS_ADMIN). Without it the tests say so on stderr and pass without
//! checking anything (root permissions cannot be dropped by chmod, so there is no other honest
//! way to make a directory read-only or full for the real binary).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

struct Mount(std::path::PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(dir).expect("mkdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then(|| Mount(dir.to_path_buf()))
    }

    fn remount(&self, mode: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.0)
            .status()
            .expect("mount");
        assert!(st.success(), "remount {mode}");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn once(env: &TestEnv) -> (bool, String, String) {
    let out = wirewatch(&["once", "--json", "-c", env.config_str()]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn entries(env: &TestEnv) -> usize {
    env.store().stats().expect("stats").entries
}

/// Fills what is left of the filesystem holding `filler` (a new file), but for `leave` bytes.
fn fill(filler: &Path, leave: u64) {
    use std::io::Write;
    let mut f = std::fs::File::create(filler).expect("filler");
    let block = vec![0u8; 1 << 16];
    while f.write_all(&block).is_ok() {}
    if leave > 0 {
        let len = f.metadata().expect("filler size").len();
        f.set_len(len.saturating_sub(leave)).expect("truncate");
    }
    let _ = f.sync_all();
}

/// What a compaction may leave beside the store in `state`: a copy, its marker, the old store.
fn compaction_leftovers(state: &Path) -> Vec<String> {
    std::fs::read_dir(state)
        .expect("state dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("db.compact"))
        .collect()
}

/// The lines of `wirewatch status` that say what the store holds (not its size).
fn holds(status: &str) -> Vec<String> {
    status
        .lines()
        .filter(|l| !l.contains("MB") && !l.contains("KB") && !l.contains("bytes"))
        .map(str::to_string)
        .collect()
}

#[test]
fn read_only_state_dir_fails_clearly_and_recovers() {
    let sc = Scenario::start(&["--faults", "none"]);
    let env = TestEnv::new("", &sc.feeds_toml());
    let Some(m) = Mount::tmpfs(&env.dir.path().join("state"), "64m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs (not root); read-only state dir untested");
        return;
    };
    let (ok, _, err) = once(&env);
    assert!(ok, "{err}");
    let before = entries(&env);
    assert!(before > 0);
    sc.get("/_round/2");
    m.remount("ro");
    let (ok, out, err) = once(&env);
    eprintln!("read-only state dir: exit ok={ok}, stderr: {}", err.trim());
    assert!(!ok, "a read-only store must fail the run: {out}");
    assert!(
        err.contains("Read-only") || err.contains("read-only"),
        "the error names the cause: {err}"
    );
    m.remount("rw");
    // No corruption: the store opens, holds what it held, and the next run completes round 2.
    assert_eq!(entries(&env), before);
    let (ok, _, err) = once(&env);
    assert!(ok, "recovery run: {err}");
    assert!(entries(&env) > before, "round 2 stored after recovery");
    assert_eq!(env.store().stats().expect("stats").pending, 0);
}

#[test]
fn full_state_dir_fails_clearly_and_recovers() {
    let sc = Scenario::start(&["--faults", "none"]);
    let env = TestEnv::new("", &sc.feeds_toml());
    let state = env.dir.path().join("state");
    let Some(_m) = Mount::tmpfs(&state, "16m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs (not root); full state dir untested");
        return;
    };
    let (ok, _, err) = once(&env);
    assert!(ok, "{err}");
    let before = entries(&env);
    sc.get("/_round/2");
    // Fill what is left of the filesystem.
    let filler = state.join("filler");
    fill(&filler, 0);
    let (ok, out, err) = once(&env);
    eprintln!(
        "full state dir: exit ok={ok}, stderr: {}",
        err.lines().rev().take(3).collect::<Vec<_>>().join(" | ")
    );
    if ok {
        // sled may fit a small write in space it had already claimed; then nothing was lost.
        eprintln!("full state dir: the run fit in preallocated space: {out}");
    } else {
        assert!(
            err.contains("No space") || err.contains("space"),
            "the error names the cause: {err}"
        );
    }
    std::fs::remove_file(&filler).expect("remove filler");
    // No corruption, and recovery once there is space.
    assert!(entries(&env) >= before);
    let (ok, _, err) = once(&env);
    assert!(ok, "recovery run: {err}");
    assert!(entries(&env) > before, "round 2 stored after recovery");
    let stats = env.store().stats().expect("stats");
    assert_eq!(stats.pending, 0, "{stats:?}");
}

/// A config with one feed whose document the test can change: `doc`'s text at each request.
fn feed_of(first: String) -> (std::sync::Arc<std::sync::Mutex<String>>, TestEnv) {
    let doc = std::sync::Arc::new(std::sync::Mutex::new(first));
    let served = doc.clone();
    let addr = serve(axum::Router::new().fallback(move || {
        let body = served.lock().map(|d| d.clone()).unwrap_or_default();
        async move { ([("content-type", "application/rss+xml")], body) }
    }));
    let env = TestEnv::new(
        "",
        &format!("[[feeds]]\nurl = \"http://{addr}/feed.xml\"\nfull_text = false\n"),
    );
    (doc, env)
}

/// Makes every entry (all done) and item of a store as old as `at`; returns the entries.
fn age(store: &wirewatch::Store, at: chrono::DateTime<chrono::Utc>) -> usize {
    let entries = store.entries().expect("entries");
    let n = entries.len();
    for mut e in entries {
        assert_ne!(e.status, wirewatch::store::EntryStatus::Pending, "{}", e.id);
        e.first_seen = at;
        e.changed_at = at;
        store.copy_entry(&e).expect("write entry");
    }
    for mut i in store.items().expect("items") {
        i.first_seen = at;
        i.decided_at = at;
        store.put_item(&i).expect("write item");
    }
    n
}

/// A daemon that runs for months must not grow for months. Once a day a pass forgets the done
/// entries and the judged items older than `[store] retain` that the feed no longer lists;
/// the entries it still lists stay however old, so they are not judged again.
#[test]
fn old_entries_no_feed_lists_are_forgotten_and_listed_ones_stay() {
    let (doc, env) = feed_of(rss("t", 0, 3));
    let (ok, _, err) = once(&env);
    assert!(ok, "{err}");
    // Six months pass: everything stored is made 200 days old, and retention last ran 2
    // days ago.
    let old = chrono::Utc::now() - chrono::Duration::days(200);
    {
        let store = env.store();
        assert_eq!(age(&store, old), 3);
        let two_days_ago = chrono::Utc::now() - chrono::Duration::days(2);
        store
            .put_meta(
                "retention:last_run",
                &serde_json::Value::String(two_days_ago.to_rfc3339()),
            )
            .expect("meta");
        store.flush_blocking().expect("flush");
    }
    // The feed now lists items 1 to 3: item 0 is gone from it, 3 is new.
    *doc.lock().expect("doc") = rss("t", 1, 3);
    let status = wirewatch_ok(&["status", "-c", env.config_str()]);
    assert!(
        status.contains("forgets after 180d; not run yet"),
        "{status}"
    );
    let (ok, _, err) = once(&env);
    assert!(ok, "{err}");
    let status = wirewatch_ok(&["status", "-c", env.config_str()]);
    assert!(status.contains("1 entry and 1 item forgotten"), "{status}");
    let store = env.store();
    let mut ids: Vec<String> = store
        .entries()
        .expect("entries")
        .into_iter()
        .map(|e| e.id)
        .collect();
    ids.sort();
    assert_eq!(ids, ["urn:test:1", "urn:test:2", "urn:test:3"]);
    let items = store.items().expect("items");
    let url = |i: usize| format!("http://example.org/a/{i}");
    assert!(items.iter().all(|i| i.url != url(0)), "item 0 forgotten");
    for n in [1, 2] {
        let i = items
            .iter()
            .find(|i| i.url == url(n))
            .expect("listed item kept");
        assert_eq!(i.decided_at, old, "item {n}: not judged again");
    }
    assert!(items.iter().any(|i| i.url == url(3)), "the new item judged");
    drop(store);

    // `store forget` runs it now, without waiting a day: the feed drops items 1 and 2 (still
    // 200 days old) and lists item 3 alone.
    *doc.lock().expect("doc") = rss("t", 3, 1);
    let (ok, _, err) = once(&env);
    assert!(ok, "{err}");
    let out = wirewatch_ok(&["store", "forget", "-c", env.config_str()]);
    assert!(
        out.contains("forgot 2 entries and 2 items older than 180d"),
        "{out}"
    );
    let store = env.store();
    let ids: Vec<String> = store
        .entries()
        .expect("entries")
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["urn:test:3"]);
    drop(store);
    // Off, it says so rather than doing nothing.
    let text = std::fs::read_to_string(&env.config).expect("config");
    std::fs::write(&env.config, format!("{text}\n[store]\nretain = \"0s\"\n")).expect("config");
    let out = wirewatch(&["store", "forget", "-c", env.config_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("retain is \"0s\""),
        "{err}"
    );
}

/// `store compact` gives back what retention forgot: the store is smaller, holds the same,
/// and the next cycle judges nothing again. It refuses, saying why, while another process
/// holds the store, and on PostgreSQL.
#[test]
fn compaction_shrinks_the_store_and_keeps_what_it_holds() {
    let (doc, env) = feed_of(rss("t", 0, 400));
    let (ok, _, err) = once(&env);
    assert!(ok, "{err}");
    // All 400 are made 200 days old, and the feed now lists the last one only: retention
    // forgets the other 399 and their items.
    let old = chrono::Utc::now() - chrono::Duration::days(200);
    {
        let store = env.store();
        assert_eq!(age(&store, old), 400);
        store.flush_blocking().expect("flush");
    }
    *doc.lock().expect("doc") = rss("t", 399, 1);
    let (ok, _, err) = once(&env);
    assert!(ok, "{err}");
    let out = wirewatch_ok(&["store", "forget", "-c", env.config_str()]);
    assert!(out.contains("forgot 399 entries and 399 items"), "{out}");
    let before = wirewatch_ok(&["status", "-c", env.config_str()]);

    // Held by another process: refused, and the store is untouched.
    {
        let _held = env.store();
        let out = wirewatch(&["store", "compact", "-c", env.config_str()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("another wirewatch process is using the store"),
            "{err}"
        );
    }
    let out = wirewatch_ok(&["store", "compact", "-c", env.config_str()]);
    let mb: Vec<f64> = out
        .split_whitespace()
        .filter_map(|w| w.parse::<f64>().ok())
        .collect();
    assert!(
        out.starts_with("compacted the store in") && mb.len() == 2 && mb[1] < mb[0],
        "{out}"
    );
    let db = env.db_path();
    let leftovers = compaction_leftovers(db.parent().expect("state dir"));
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let after = wirewatch_ok(&["status", "-c", env.config_str()]);
    assert_eq!(holds(&before), holds(&after));
    // `status` shows the store's size on disk: smaller now.
    let disk_mb = |s: &str| -> f64 {
        s.lines()
            .find_map(|l| l.strip_prefix("disk"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no disk line in {s}"))
    };
    assert!(disk_mb(&after) < disk_mb(&before), "{before}\n{after}");
    let store = env.store();
    let entries = store.entries().expect("entries");
    assert_eq!(entries.len(), 1, "{entries:?}");
    let items = store.items().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].decided_at, old, "kept as it was");
    drop(store);
    // The next cycle finds the entry it knows: nothing is judged again.
    let (ok, _, err) = once(&env);
    assert!(ok, "{err}");
    let items = env.store().items().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].decided_at, old, "not judged again");

    let text = std::fs::read_to_string(&env.config).expect("config");
    std::fs::write(
        &env.config,
        format!("{text}\n[store]\nurl = \"postgres://nobody@127.0.0.1:1/none\"\n"),
    )
    .expect("config");
    let out = wirewatch(&["store", "compact", "-c", env.config_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("VACUUM FULL"),
        "{err}"
    );
}

/// `store compact` on a disk without room for the copy fails, saying why, and leaves the
/// store as it was, with no half-made copy beside it; with room again, it compacts. Two ways
/// to lack room: less free than the store keeps (refused before copying), and enough for
/// that but not for sled's copy of it (the copy fails part way and is removed).
#[test]
fn compaction_on_a_full_disk_fails_clearly_and_keeps_the_store() {
    let (_doc, env) = feed_of(rss("t", 0, 2000));
    let state = env.dir.path().join("state");
    let Some(_m) = Mount::tmpfs(&state, "64m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs (not root); compaction on a full disk untested");
        return;
    };
    let (ok, _, err) = once(&env);
    assert!(ok, "{err}");
    let before = wirewatch_ok(&["status", "-c", env.config_str()]);
    let filler = state.join("filler");
    // Room for sled to open the store (it may start a new segment), not for a copy of what
    // it holds: 2 MB free against a store of about 6 MB (256 KB was too little to open it).
    let room: u64 = 2 << 20;
    let db_bytes = wirewatch::store::sled::compact::dir_bytes(&state.join("db"));
    assert!(
        db_bytes > 2 * room,
        "the store is too small for the test: {db_bytes}"
    );
    fill(&filler, room);
    let out = wirewatch(&["store", "compact", "-c", env.config_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("no room on the disk for the copy: it needs at least")
            && err.contains("the store is unchanged"),
        "it refuses before copying and names the cause: {err}"
    );
    let leftovers = compaction_leftovers(&state);
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let needed: f64 = err
        .split("needs at least ")
        .nth(1)
        .and_then(|s| s.split(" MB").next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no size in: {err}"));
    assert!(
        needed > 2.0 && needed * 1e6 < db_bytes as f64,
        "what the store keeps, {needed} MB, lies between the room left and the store's size"
    );
    eprintln!("store {db_bytes} bytes on disk, {needed} MB of keys and values");
    // Enough free for what the store keeps, not for sled's copy of it.
    std::fs::remove_file(&filler).expect("remove filler");
    fill(&filler, (needed * 1e6) as u64 + (256 << 10));
    let out = wirewatch(&["store", "compact", "-c", env.config_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("no room on the disk for the copy, which takes about")
            && err.contains("the store is unchanged"),
        "the copy fails part way and says so: {err}"
    );
    let leftovers = compaction_leftovers(&state);
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_file(&filler).expect("remove filler");
    let after = wirewatch_ok(&["status", "-c", env.config_str()]);
    assert_eq!(holds(&before), holds(&after), "the store is as it was");
    let out = wirewatch_ok(&["store", "compact", "-c", env.config_str()]);
    assert!(out.starts_with("compacted the store in"), "{out}");
    assert_eq!(env.store().items().expect("items").len(), 2000);
}
