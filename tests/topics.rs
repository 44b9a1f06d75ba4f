//! Many topics in one daemon, end to end: the real binary polls the scenario's dev world for
//! two topics at once, the dispute (the repo's seeds, labelled by the world) and "AWS Bedrock
//! agents" (`tests/data/fixtures/two-topics/`: seeds and labels written for this test from
//! the world's other stories). Every entry is fetched once and judged for both; an item
//! relevant to both alerts once per topic; copies are suppressed per topic (a copy of one
//! topic's seed is new coverage for the other); each webhook receives only the topics routed
//! to it; each digest recipient gets one mail with a section per topic routed to them. The
//! dispute's figures are those of the single-topic scenario test.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use common::*;

fn fixture() -> std::path::PathBuf {
    data_dir().join("fixtures/two-topics")
}

/// A URL's path, without a trailing slash (canonical URLs drop it; labels keep it).
fn path_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default()
}

/// A label's path as [`path_of`] gives it.
fn norm(p: &str) -> String {
    p.trim_end_matches('/').to_string()
}

/// Webhook deliveries by receiver name: (topic, url) of each.
type Received = Arc<Mutex<Vec<(String, String, String)>>>;

async fn receive(
    State(st): State<Received>,
    UrlPath(name): UrlPath<String>,
    body: axum::body::Bytes,
) -> &'static str {
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    st.lock().unwrap_or_else(|p| p.into_inner()).push((
        name,
        v["topic"].as_str().unwrap_or("").to_string(),
        v["url"].as_str().unwrap_or("").to_string(),
    ));
    "ok"
}

/// Undoes quoted-printable soft breaks and `=3D` enough to search a mail's text part.
fn unqp(s: &str) -> String {
    s.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

fn config(dir: &std::path::Path, feeds: &str, hooks: &str, smtp_port: u16) -> String {
    format!(
        r#"state_dir = "{state}"
[[topics]]
name = "Microsoft vs OpenAI"
id = "dispute"
seeds = "{seeds}"
webhooks = ["ops", "all"]

[[topics]]
name = "AWS Bedrock agents"
id = "bedrock"
seeds = "{bedrock}"
webhooks = ["bedrock", "all"]
digest_to = ["b@example.org", "a@example.org"]

[http]
enabled = false
[fetch]
timeout = "3s"
allow_private_networks = true
per_host_interval = "0s"

[[webhooks]]
name = "ops"
url = "{hooks}/ops"
[[webhooks]]
name = "bedrock"
url = "{hooks}/bedrock"
[[webhooks]]
name = "all"
url = "{hooks}/all"

[digest]
to = ["a@example.org"]
from = "wirewatch@example.org"
[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"

{feeds}
"#,
        state = dir.join("state").display(),
        seeds = seeds_dir().display(),
        bedrock = fixture().join("bedrock-seeds").display(),
    )
}

/// Polls the world's three rounds once each; returns how often each article page was
/// fetched.
fn run_rounds(sc: &Scenario, cfg: &str) -> BTreeMap<String, usize> {
    for round in 1..=3u64 {
        if round > 1 {
            sc.get(&format!("/_round/{round}"));
        }
        wirewatch_ok(&["once", "--json", "-c", cfg]);
    }
    let feed_paths: BTreeSet<String> = sc.feeds().iter().map(|(_, u)| path_of(u)).collect();
    sc.requested()
        .into_iter()
        .filter(|p| !p.starts_with("/_") && !feed_paths.contains(p.split('?').next().unwrap_or("")))
        .fold(BTreeMap::new(), |mut m, p| {
            *m.entry(p).or_insert(0) += 1;
            m
        })
}

#[test]
fn two_topics_share_the_work_and_keep_their_own_alerts_routes_and_digest() {
    let labels: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture().join("labels.json")).expect("labels"),
    )
    .expect("labels json");
    let list = |k: &str| -> BTreeSet<String> {
        labels[k]
            .as_array()
            .expect(k)
            .iter()
            .filter_map(|v| v.as_str().map(norm))
            .collect()
    };
    let received: Received = Arc::default();
    let app = axum::Router::new()
        .route("/{name}", axum::routing::post(receive))
        .with_state(received.clone());
    let hooks = serve(app);
    let dir = tempfile::tempdir().expect("tempdir");
    let smtp = SmtpServer::start(&dir.path().join("mail"));
    let sc = Scenario::start(&[]);
    let cfg = dir.path().join("wirewatch.toml");
    std::fs::write(
        &cfg,
        config(
            dir.path(),
            &sc.feeds_toml(),
            &format!("http://{hooks}"),
            smtp.port,
        ),
    )
    .expect("config");
    let cfg = cfg.to_str().expect("utf-8").to_string();

    let check = wirewatch_ok(&["check", "-c", &cfg]);
    assert!(
        check.contains("topic:      Microsoft vs OpenAI (id dispute)"),
        "{check}"
    );
    assert!(
        check.contains("topic:      AWS Bedrock agents (id bedrock)"),
        "{check}"
    );
    assert!(check.contains("webhooks: bedrock, all"), "{check}");

    let pages_two = run_rounds(&sc, &cfg);

    // The same world for the dispute alone: the same pages fetched as often (each entry's
    // page once, whatever the number of topics), the same alerts.
    let alone_dir = tempfile::tempdir().expect("tempdir");
    let sc_alone = Scenario::start(&[]);
    let alone_cfg = alone_dir.path().join("wirewatch.toml");
    std::fs::write(
        &alone_cfg,
        format!(
            "state_dir = \"{}\"\n[topic]\nname = \"Microsoft vs OpenAI\"\nid = \"dispute\"\nseeds = \"{}\"\n[http]\nenabled = false\n[fetch]\ntimeout = \"3s\"\nallow_private_networks = true\nper_host_interval = \"0s\"\n{}",
            alone_dir.path().join("state").display(),
            seeds_dir().display(),
            sc_alone.feeds_toml()
        ),
    )
    .expect("config");
    let alone_cfg = alone_cfg.to_str().expect("utf-8").to_string();
    let pages_alone = run_rounds(&sc_alone, &alone_cfg);
    assert!(pages_two.len() > 30, "{pages_two:?}");
    assert_eq!(pages_two, pages_alone, "pages fetched: two topics vs one");
    let alerted = |cfg: &str, topic: &str| -> BTreeSet<String> {
        wirewatch_ok(&["alerts", "--json", "--topic", topic, "-c", cfg])
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| path_of(v["url"].as_str().unwrap_or("")))
            .collect()
    };
    assert_eq!(
        alerted(&cfg, "dispute"),
        alerted(&alone_cfg, "dispute"),
        "the dispute's alerts with a second topic and alone"
    );
    let summary = wirewatch_ok(&["once", "-c", &cfg]);
    assert!(
        summary.contains("(decisions are counted once per topic: 2 topics)"),
        "{summary}"
    );

    // The dispute: the single-topic scenario's figures.
    let dispute = wirewatch_ok(&["alerts", "--json", "--topic", "dispute", "-c", &cfg]);
    let alerts_path = dir.path().join("dispute.jsonl");
    std::fs::write(&alerts_path, &dispute).expect("write alerts");
    let scores = score_alerts(&alerts_path);
    eprintln!("dispute scores: {scores:?}");
    let get = |k: &str| scores.get(k).copied().unwrap_or(f64::NAN);
    assert!(get("alert_precision") >= 0.97, "{scores:?}");
    assert!(get("alert_recall") >= 0.97, "{scores:?}");
    assert_eq!(get("seed_duplicate_suppression"), 1.0, "{scores:?}");
    assert_eq!(get("repeat_suppression"), 1.0, "{scores:?}");
    assert_eq!(get("offtopic_false_alerts"), 0.0, "{scores:?}");
    assert!(get("story_pairwise_f1") >= 0.9, "{scores:?}");

    // The second topic: its relevant items alert, nothing outside its labels does.
    let bedrock = wirewatch_ok(&["alerts", "--json", "--topic", "bedrock", "-c", &cfg]);
    let mut bedrock_paths = BTreeSet::new();
    for line in bedrock.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("alert line");
        assert_eq!(v["topic"], "bedrock", "{line}");
        assert_eq!(v["topic_name"], "AWS Bedrock agents", "{line}");
        assert!(
            bedrock_paths.insert(path_of(v["url"].as_str().unwrap_or(""))),
            "an article alerted twice for one topic: {line}"
        );
    }
    eprintln!("bedrock alerts: {bedrock_paths:?}");
    for p in list("relevant") {
        assert!(
            bedrock_paths.contains(&p),
            "{p} missed for bedrock: {bedrock_paths:?}"
        );
    }
    let allowed: BTreeSet<String> = list("relevant")
        .union(&list("borderline"))
        .cloned()
        .collect();
    for p in &bedrock_paths {
        assert!(
            allowed.contains(p),
            "{p} alerted for bedrock, off its topic"
        );
    }

    // Relevant to both: one alert per topic, each naming its topic.
    let all = wirewatch_ok(&["alerts", "--json", "-c", &cfg]);
    for p in list("relevant_to_both") {
        let topics: Vec<String> = all
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| path_of(v["url"].as_str().unwrap_or("")) == p)
            .map(|v| v["topic"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(topics.len(), 2, "{p}: {topics:?}");
        assert!(topics.contains(&"dispute".to_string()) && topics.contains(&"bedrock".to_string()));
    }

    // Copies per topic: the second topic's seed copy is the dispute's new coverage; the
    // re-post is a repeat for both.
    let store = wirewatch::Store::open(&dir.path().join("state/db")).expect("store");
    let by_path: BTreeMap<String, wirewatch::store::ItemRecord> = store
        .items()
        .expect("items")
        .into_iter()
        .map(|i| (path_of(&i.url), i))
        .collect();
    for p in list("seed_duplicate") {
        let i = by_path
            .get(&p)
            .unwrap_or_else(|| panic!("{p} not judged: {:?}", by_path.keys().collect::<Vec<_>>()));
        assert_eq!(
            i.decision("bedrock").map(|d| d.label()),
            Some("seed_duplicate"),
            "{p}"
        );
        assert_eq!(
            i.decision("dispute").map(|d| d.label()),
            Some("alert"),
            "{p}"
        );
    }
    for p in list("repeat") {
        let i = by_path.get(&p).unwrap_or_else(|| panic!("{p} not judged"));
        for t in ["bedrock", "dispute"] {
            assert_eq!(
                i.decision(t).map(|d| d.label()),
                Some("repeat"),
                "{p} for {t}"
            );
        }
    }
    drop(store);
    let explain = wirewatch_ok(&[
        "explain",
        "-c",
        &cfg,
        &format!(
            "{}{}",
            sc.base,
            list("seed_duplicate").iter().next().expect("one")
        ),
    ]);
    assert!(
        explain.contains("topic:      AWS Bedrock agents (bedrock)"),
        "{explain}"
    );
    assert!(
        explain.contains("duplicate of seed article bedrock/03-"),
        "{explain}"
    );

    // Routing: each receiver got exactly the topics routed to it, each alert once.
    let got = received.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let count = |name: &str, topic: &str| {
        got.iter()
            .filter(|(n, t, _)| n == name && t == topic)
            .count()
    };
    let n_dispute = dispute.lines().count();
    let n_bedrock = bedrock.lines().count();
    assert!(n_bedrock >= 2 && n_dispute >= 10, "{n_dispute} {n_bedrock}");
    assert_eq!(count("ops", "dispute"), n_dispute, "{got:?}");
    assert_eq!(count("ops", "bedrock"), 0, "{got:?}");
    assert_eq!(count("bedrock", "bedrock"), n_bedrock, "{got:?}");
    assert_eq!(count("bedrock", "dispute"), 0, "{got:?}");
    assert_eq!(count("all", "dispute"), n_dispute, "{got:?}");
    assert_eq!(count("all", "bedrock"), n_bedrock, "{got:?}");

    // One topic's digest, previewed.
    let preview = dir.path().join("bedrock.html");
    let said = wirewatch_ok(&[
        "digest",
        "--preview",
        preview.to_str().expect("utf-8"),
        "--topic",
        "bedrock",
        "-c",
        &cfg,
    ]);
    assert!(said.contains("on AWS Bedrock agents"), "{said}");
    let html = std::fs::read_to_string(&preview).expect("preview");
    assert!(!html.contains("Microsoft vs OpenAI"), "{html}");

    // The digest: a@ gets both sections in one mail, b@ the second topic's alone.
    wirewatch_ok(&["digest", "--send", "-c", &cfg]);
    let mut mails: BTreeMap<String, String> = BTreeMap::new();
    for n in 1..=4 {
        let base = smtp.out.join(format!("msg-{n}"));
        let Ok(meta) = std::fs::read_to_string(base.with_extension("json")) else {
            continue;
        };
        let meta: serde_json::Value = serde_json::from_str(&meta).expect("meta");
        let eml = std::fs::read_to_string(base.with_extension("eml")).expect("eml");
        for r in meta["rcpt_tos"].as_array().expect("rcpts") {
            let r = r.as_str().unwrap_or("").to_string();
            assert!(!mails.contains_key(&r), "{r} got two mails");
            mails.insert(r, unqp(&eml));
        }
    }
    let a = mails.get("a@example.org").expect("a mail for a@");
    let b = mails.get("b@example.org").expect("a mail for b@");
    assert!(a.contains("on 2 topics"), "{a}");
    assert!(
        a.contains("== Microsoft vs OpenAI ==") && a.contains("== AWS Bedrock agents =="),
        "{a}"
    );
    assert!(b.contains("on AWS Bedrock agents"), "{b}");
    assert!(!b.contains("Microsoft vs OpenAI"), "{b}");

    // The daemon's status page has a section per topic; the API and metrics name topics.
    let text = std::fs::read_to_string(&cfg).expect("config");
    std::fs::write(
        &cfg,
        text.replace(
            "[http]\nenabled = false",
            "[http]\nlisten = \"127.0.0.1:0\"",
        ),
    )
    .expect("config");
    let log = dir.path().join("daemon.log");
    let daemon = start_daemon(std::path::Path::new(&cfg), &log);
    let text = wait_for_log(&log, "status page url=", 1, 60);
    let status = strip_ansi(&text)
        .lines()
        .find_map(|l| l.split("status page url=").nth(1).map(str::to_string))
        .and_then(|u| u.split_whitespace().next().map(str::to_string))
        .expect("status page URL in the log");
    let get = |path: &str| -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        rt.block_on(async {
            reqwest::get(format!("{status}{path}"))
                .await
                .expect("request")
                .text()
                .await
                .expect("body")
        })
    };
    let page = get("");
    assert!(
        page.contains("id=\"topic-dispute\"") && page.contains("id=\"topic-bedrock\""),
        "{page}"
    );
    assert!(page.contains("id=\"alerts-bedrock\""), "{page}");
    let api: serde_json::Value =
        serde_json::from_str(&get("api/alerts?topic=bedrock")).expect("json");
    assert_eq!(api.as_array().map(Vec::len), Some(n_bedrock), "{api}");
    let metrics = get("metrics");
    assert!(metrics.contains("topic=\"bedrock\""), "{metrics}");
    stop_daemon(daemon);
}

#[test]
fn topic_config_errors_name_the_topic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty-seeds");
    std::fs::create_dir_all(&empty).expect("dir");
    let cases = [
        (
            "[topic]\nname = \"a\"\n[[topics]]\nname = \"b\"\n".to_string(),
            "[topic] and [[topics]] together",
        ),
        (
            "[[topics]]\nname = \"Same\"\n[[topics]]\nname = \"same\"\n".to_string(),
            "topics[1].id",
        ),
        (
            "[[topics]]\nname = \"a\"\nwebhooks = [\"nope\"]\n[[webhooks]]\nname = \"ops\"\nurl = \"http://127.0.0.1:9/x\"\n".to_string(),
            "routes to a webhook named \"nope\"",
        ),
        (
            "[[topics]]\nname = \"a\"\n[[webhooks]]\nurl = \"http://127.0.0.1:9/x\"\n[[webhooks]]\nurl = \"http://127.0.0.1:9/y\"\n".to_string(),
            "webhooks[1].name",
        ),
        (
            format!("[[topics]]\nname = \"Empty one\"\nseeds = \"{}\"\n", empty.display()),
            "topic \"Empty one\" (empty-one): its seed directory",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let cfg = dir.path().join(format!("c{i}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "state_dir = \"{}\"\n{text}",
                dir.path().join("state").display()
            ),
        )
        .expect("write");
        let out = wirewatch(&["check", "-c", cfg.to_str().expect("utf-8")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "case {i} accepted");
        assert!(err.contains(want), "case {i}: wanted {want:?} in {err}");
    }
}

/// A topic added later (here to a running daemon, by SIGHUP) starts from now, and with
/// `backfill` judges the items stored in its window once (from their kept texts); removing it
/// keeps its alerts until `topics prune`.
#[test]
fn an_added_topic_backfills_once_and_a_removed_one_is_pruned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sc = Scenario::start(&[]);
    let cfg = dir.path().join("wirewatch.toml");
    let head = format!(
        "state_dir = \"{}\"\n[http]\nenabled = false\n[fetch]\ntimeout = \"3s\"\nallow_private_networks = true\nper_host_interval = \"0s\"\n{}",
        dir.path().join("state").display(),
        sc.feeds_toml()
    );
    let dispute = format!(
        "[[topics]]\nname = \"Microsoft vs OpenAI\"\nid = \"dispute\"\nseeds = \"{}\"\n",
        seeds_dir().display()
    );
    let bedrock = format!(
        "[[topics]]\nname = \"AWS Bedrock agents\"\nid = \"bedrock\"\nseeds = \"{}\"\nbackfill = \"30d\"\n",
        fixture().join("bedrock-seeds").display()
    );
    let cfg_s = cfg.to_str().expect("utf-8").to_string();
    std::fs::write(&cfg, format!("{head}\n{dispute}")).expect("config");
    for round in 1..=3u64 {
        if round > 1 {
            sc.get(&format!("/_round/{round}"));
        }
        wirewatch_ok(&["once", "-c", &cfg_s]);
    }
    let count = |topic: &str| {
        wirewatch_ok(&["alerts", "--json", "--topic", topic, "-c", &cfg_s])
            .lines()
            .count()
    };
    let n_dispute = count("dispute");
    assert!(n_dispute >= 10, "{n_dispute}");

    // Added to a running daemon (SIGHUP) with a backfill: the stored items of its window are
    // judged for it, once.
    let log = dir.path().join("daemon.log");
    let daemon = start_daemon(&cfg, &log);
    wait_for_log(&log, "daemon running", 1, 60);
    std::fs::write(&cfg, format!("{head}\n{dispute}\n{bedrock}")).expect("config");
    std::process::Command::new("kill")
        .args(["-HUP", &daemon.id().to_string()])
        .status()
        .expect("kill");
    wait_for_log(&log, "topic backfilled", 1, 60);
    stop_daemon(daemon);
    let n_bedrock = count("bedrock");
    assert!(n_bedrock >= 2, "backfill alerted {n_bedrock}");
    assert_eq!(
        count("dispute"),
        n_dispute,
        "the first topic is not judged again"
    );
    wirewatch_ok(&["once", "-c", &cfg_s]);
    assert_eq!(count("bedrock"), n_bedrock, "a backfill runs once");

    // Removed: its alerts stay readable until pruned.
    std::fs::write(&cfg, format!("{head}\n{dispute}")).expect("config");
    wirewatch_ok(&["once", "-c", &cfg_s]);
    let listed = wirewatch_ok(&["topics", "list", "-c", &cfg_s]);
    assert!(listed.contains("bedrock  (not in the config"), "{listed}");
    let all = wirewatch_ok(&["alerts", "--json", "-c", &cfg_s]);
    assert_eq!(all.lines().count(), n_dispute + n_bedrock, "{all}");
    // What the topic remembered of its judged texts goes with it.
    let remembered = |topic: &str| {
        let store = wirewatch::Store::open(&dir.path().join("state/db")).expect("store");
        let v = store
            .get_meta(&wirewatch::judge::neighbours::neighbours_key(topic))
            .expect("meta");
        v.is_some()
    };
    assert!(remembered("bedrock") && remembered("dispute"));
    // A lesson and a remembered text journaled by a pass that never ended (a crash): they
    // go with their topic too.
    let journaled = |topic: &str| {
        let store = wirewatch::Store::open(&dir.path().join("state/db")).expect("store");
        [
            wirewatch::judge::lessons_prefix(topic),
            wirewatch::judge::neighbours::journal_prefix(topic),
        ]
        .iter()
        .all(|prefix| !store.metas_under(prefix).expect("meta").is_empty())
    };
    {
        let store = wirewatch::Store::open(&dir.path().join("state/db")).expect("store");
        for topic in ["bedrock", "dispute"] {
            let lesson = serde_json::json!({"url": "https://x.test/a", "group": 0, "words": ["preview"], "names": []});
            let key = format!("{}0000000000", wirewatch::judge::lessons_prefix(topic));
            store.put_meta(&key, &lesson).expect("meta");
            let text = serde_json::json!({"url": "https://x.test/a", "at": "2026-01-01T00:00:00Z", "relevant": true, "vector": [["preview", 1.0]]});
            let key = format!(
                "{}https://x.test/a",
                wirewatch::judge::neighbours::journal_prefix(topic)
            );
            store.put_meta(&key, &text).expect("meta");
        }
    }
    assert!(journaled("bedrock") && journaled("dispute"));
    let pruned = wirewatch_ok(&["topics", "prune", "bedrock", "-c", &cfg_s]);
    assert!(pruned.contains(&format!("{n_bedrock} alerts")), "{pruned}");
    assert!(!remembered("bedrock") && remembered("dispute"));
    let gone = |topic: &str| {
        let store = wirewatch::Store::open(&dir.path().join("state/db")).expect("store");
        [
            wirewatch::judge::lessons_prefix(topic),
            wirewatch::judge::neighbours::journal_prefix(topic),
        ]
        .iter()
        .all(|prefix| store.metas_under(prefix).expect("meta").is_empty())
    };
    assert!(gone("bedrock") && journaled("dispute"));
    let all = wirewatch_ok(&["alerts", "--json", "-c", &cfg_s]);
    assert_eq!(all.lines().count(), n_dispute, "{all}");
    let refused = wirewatch(&["topics", "prune", "dispute", "-c", &cfg_s]);
    assert!(
        !refused.status.success(),
        "pruning a configured topic must be refused"
    );
}
