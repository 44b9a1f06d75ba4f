//! Several workers on one PostgreSQL database, through the real binary: the dev scenario
//! judged by three `wirewatch run` processes alerts as one process on the embedded store does,
//! each alert delivered once; and with workers killed at random moments nothing is lost or
//! doubled.
//!
//! Each test uses a schema of its own on the machine's PostgreSQL (`$WIREWATCH_TEST_PG`, by
//! default `postgres://postgres@127.0.0.1:5432/test`; tests/run.sh starts it). Without a
//! server they say so and pass, except in CI (`CI` set), where they fail.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rand::{Rng, SeedableRng};
use wirewatch::store::postgres::scratch;

/// A config on the shared store (a fresh schema), with a webhook.
fn pg_env(sc: &Scenario, hook: &str) -> (TestEnv, PgSchema) {
    let schema = scratch::schema_name();
    let env = TestEnv::new(
        "interval = \"1s\"",
        &format!(
            "{}\n[[webhooks]]\nurl = \"{hook}\"\nformat = \"json\"\n[store]\nurl = \"{}\"\nschema = \"{schema}\"\n",
            sc.feeds_toml(),
            scratch::url()
        ),
    );
    (env, PgSchema(schema))
}

/// `wirewatch status --json` of a config.
fn status(env: &TestEnv) -> serde_json::Value {
    serde_json::from_str(&wirewatch_ok(&["status", "--json", "-c", env.config_str()]))
        .expect("status json")
}

/// Waits until the workers have polled the round and decided and delivered everything: no
/// entry pending, nothing in the outbox, and the counts still for a few seconds.
fn settle(env: &TestEnv, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = None;
    let mut still = 0;
    loop {
        let st = status(env);
        let s = &st["store"];
        let now = (
            s["entries"].as_u64(),
            s["items"].as_u64(),
            s["alerts"].as_u64(),
        );
        if s["pending"] == 0 && s["outbox"] == 0 && last == Some(now) {
            still += 1;
            if still >= 8 {
                return;
            }
        } else {
            still = 0;
        }
        last = Some(now);
        assert!(Instant::now() < deadline, "not settled: {st}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The alerts of a config: URL path → story id, and alert ids.
fn alerts(env: &TestEnv) -> (BTreeMap<String, String>, BTreeSet<String>) {
    let mut by_path = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for l in wirewatch_ok(&["alerts", "--json", "-c", env.config_str()]).lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("alert json");
        let url = url::Url::parse(v["url"].as_str().expect("url")).expect("url");
        let story = v["story"].as_str().expect("story").to_string();
        assert!(
            by_path.insert(url.path().to_string(), story).is_none(),
            "{url} alerted twice"
        );
        ids.insert(v["id"].as_str().expect("id").to_string());
    }
    (by_path, ids)
}

/// The articles alerted: each alerted path, a labelled re-post replaced by what it repeats.
fn articles(by_path: &BTreeMap<String, String>) -> BTreeSet<String> {
    let labels: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::data::scenario_dir().join("dev/labels.json"))
            .expect("scenario labels"),
    )
    .expect("labels json");
    let norm = |p: &str| p.trim_end_matches('/').to_string();
    by_path
        .keys()
        .map(|p| {
            labels["items"]
                .as_object()
                .and_then(|items| items.iter().find(|(k, _)| norm(k) == norm(p)))
                .and_then(|(_, v)| (v["kind"] == "repeat").then(|| v["of"].as_str()).flatten())
                .map(norm)
                .unwrap_or_else(|| norm(p))
        })
        .collect()
}

/// Alerted paths grouped by story: the partition, independent of story ids.
fn partition(by_path: &BTreeMap<String, String>) -> BTreeSet<BTreeSet<String>> {
    let mut groups: BTreeMap<&String, BTreeSet<String>> = BTreeMap::new();
    for (p, s) in by_path {
        groups.entry(s).or_default().insert(p.clone());
    }
    groups.into_values().collect()
}

/// The reference: one process on the embedded store, one `once` per round.
fn reference() -> BTreeMap<String, String> {
    let sc = Scenario::start(&["--faults", "none"]);
    let env = TestEnv::new("", &sc.feeds_toml());
    for round in 1..=3 {
        sc.get(&format!("/_round/{round}"));
        wirewatch_ok(&["once", "-c", env.config_str()]);
    }
    alerts(&env).0
}

#[test]
fn three_workers_alert_as_one_embedded_daemon() {
    if !scratch::available("three_workers_alert_as_one_embedded_daemon") {
        return;
    }
    let want = reference();
    let sc = Scenario::start(&["--faults", "none"]);
    let (hook, got) = recording_receiver();
    let (env, _schema) = pg_env(&sc, &hook);
    let log = env.dir.path().join("workers.log");
    let workers: Vec<Child> = (0..3).map(|_| spawn_daemon(&env, &log)).collect();
    for round in 1..=3 {
        sc.get(&format!("/_round/{round}"));
        settle(&env, 120);
    }
    let st = status(&env);
    // Any worker's status page shows the workers.
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let page_url = text
        .lines()
        .find_map(|l| l.split("status page url=").nth(1))
        .map(|u| u.trim().trim_matches('"').to_string())
        .expect("a status page url in the log");
    let page = http_text(&page_url);
    let table = page
        .split("<table id=\"workers\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_else(|| panic!("no workers table on the status page:\n{page}"));
    assert_eq!(
        table.matches("<tr><td>").count(),
        3,
        "three workers: {table}"
    );
    assert_eq!(table.matches(">judging</span>").count(), 1, "{table}");
    for w in workers {
        stop_daemon(w);
    }
    let (have, ids) = alerts(&env);
    eprintln!("workers: {}", st["workers"]);
    let polled: Vec<u64> = st["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .map(|w| w["counts"]["polls"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(polled.len(), 3, "three workers alive: {st}");
    assert!(
        polled.iter().filter(|p| **p > 0).count() >= 2,
        "the feeds are spread over the workers: {polled:?}"
    );
    let judging = st["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .filter(|w| w["judging"] == true)
        .count();
    assert_eq!(judging, 1, "one worker judges: {st}");
    assert_eq!(
        have.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "the same alerts as one embedded daemon"
    );
    let (p_have, p_want) = (partition(&have), partition(&want));
    eprintln!("stories: {} (embedded: {})", p_have.len(), p_want.len());
    assert_eq!(p_have, p_want, "the same stories as one embedded daemon");
    // Each alert delivered once.
    let received = got.lock().expect("lock").clone();
    assert_eq!(received.keys().cloned().collect::<BTreeSet<_>>(), ids);
    assert!(
        received.values().all(|t| t.len() == 1),
        "delivered once each: {received:?}"
    );
}

#[test]
fn workers_killed_at_random_lose_and_double_nothing() {
    if !scratch::available("workers_killed_at_random_lose_and_double_nothing") {
        return;
    }
    let seed: u64 = std::env::var("WIREWATCH_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    let secs: u64 = std::env::var("WIREWATCH_CRASH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    eprintln!("crash run: {secs} s of kills, WIREWATCH_CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let want = reference();
    let sc = Scenario::start(&["--faults", "none"]);
    let (hook, got) = recording_receiver();
    let (env, _schema) = pg_env(&sc, &hook);
    let log = env.dir.path().join("workers.log");
    let mut workers: Vec<Child> = (0..3).map(|_| spawn_daemon(&env, &log)).collect();
    let start = Instant::now();
    let mut kills = Vec::new();
    let mut round = 1;
    sc.get("/_round/1");
    while start.elapsed() < Duration::from_secs(secs) {
        // The rounds advance a third of the way and two thirds of the way through.
        let due = 1 + (start.elapsed().as_secs() * 3 / secs) as usize;
        if due > round && due <= 3 {
            round = due;
            sc.get(&format!("/_round/{round}"));
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(500..3000)));
        let i = rng.gen_range(0..workers.len());
        let mut victim = std::mem::replace(&mut workers[i], spawn_daemon(&env, &log));
        victim.kill().expect("SIGKILL");
        kills.push(Instant::now());
        let _ = victim.wait();
    }
    sc.get("/_round/3");
    settle(&env, 180);
    for w in workers {
        stop_daemon(w);
    }
    let (have, ids) = alerts(&env);
    let received = got.lock().expect("lock").clone();
    let doubled: Vec<_> = received.iter().filter(|(_, t)| t.len() > 1).collect();
    eprintln!(
        "crash figures: {} kills, alerts expected {} decided {} delivered {} doubled {}",
        kills.len(),
        want.len(),
        have.len(),
        received.len(),
        doubled.len()
    );
    // Which copy of a re-posted article carries its one alert depends on which copy was
    // judged first; a kill delays a feed's poll by the seconds its lease takes to lapse, so
    // a same-day re-post elsewhere may come first. Alerts are compared by article: a re-post
    // stands for the article it repeats (the scenario's labels say which).
    assert_eq!(
        articles(&have),
        articles(&want),
        "every article of the undisturbed run alerted once"
    );
    assert_eq!(
        received.keys().cloned().collect::<BTreeSet<_>>(),
        ids,
        "every alert delivered"
    );
    // A second delivery only where a kill fell right after the first one's 2xx.
    for (id, times) in doubled {
        for pair in times.windows(2) {
            assert!(
                kills
                    .iter()
                    .any(|k| *k >= pair[0] && *k - pair[0] < Duration::from_secs(1)),
                "alert {id} delivered twice without a kill right after the first"
            );
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL server program, run as `postgres` when the tests run as root.
fn pg_command(program: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        Command::new(program)
    }
}

/// A PostgreSQL server of the test's own (initdb in a temp dir, a free port), so that
/// stopping it disturbs nobody else.
struct PrivateServer {
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivateServer {
    fn start() -> PrivateServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let data = dir.path().join("data");
        if is_root() {
            // The server refuses to run as root: it runs as the distribution's `postgres`.
            let st = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(st.success(), "chown to postgres failed");
        }
        let st = pg_command("initdb")
            .args([
                "-D",
                data.to_str().expect("utf-8"),
                "-U",
                "postgres",
                "--auth=trust",
            ])
            .stdout(Stdio::null())
            .status()
            .expect("initdb (tests/run.sh puts PostgreSQL's binaries on PATH)");
        assert!(st.success(), "initdb failed");
        let s = PrivateServer { dir, port };
        s.ctl("start");
        s
    }

    fn ctl(&self, what: &str) {
        let data = self.dir.path().join("data");
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let mut cmd = pg_command("pg_ctl");
        cmd.args(["-D", data.to_str().expect("utf-8"), "-w", "-m", "fast"]);
        if what == "start" {
            cmd.args(["-o", &opts, "-l"])
                .arg(self.dir.path().join("server.log"));
        }
        let st = cmd
            .arg(what)
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl");
        assert!(st.success(), "pg_ctl {what} failed");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = pg_command("pg_ctl")
            .args(["-D", data.to_str().unwrap_or(""), "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn a_worker_waits_out_a_database_outage_and_loses_nothing() {
    if !scratch::available("a_worker_waits_out_a_database_outage_and_loses_nothing") {
        return;
    }
    let want = reference();
    let server = PrivateServer::start();
    let sc = Scenario::start(&["--faults", "none"]);
    let (hook, got) = recording_receiver();
    let env = TestEnv::new(
        "interval = \"1s\"",
        &format!(
            "{}\n[[webhooks]]\nurl = \"{hook}\"\nformat = \"json\"\n[store]\nurl = \"{}\"\n",
            sc.feeds_toml(),
            server.url()
        ),
    );
    let log = env.dir.path().join("worker.log");
    let worker = spawn_daemon(&env, &log);
    sc.get("/_round/1");
    settle(&env, 120);
    // Down for 30 s while the next round's entries wait in the feeds.
    server.ctl("stop");
    sc.get("/_round/2");
    std::thread::sleep(Duration::from_secs(30));
    server.ctl("start");
    settle(&env, 180);
    sc.get("/_round/3");
    settle(&env, 120);
    stop_daemon(worker);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("PostgreSQL unreachable; waiting for it"),
        "the outage is logged:\n{text}"
    );
    assert!(text.contains("PostgreSQL reachable again"), "{text}");
    let (have, ids) = alerts(&env);
    // By article, as in the crash test: the outage delays polls.
    assert_eq!(
        articles(&have),
        articles(&want),
        "every article alerted once, despite the outage"
    );
    let received = got.lock().expect("lock").clone();
    assert_eq!(received.keys().cloned().collect::<BTreeSet<_>>(), ids);
    assert!(received.values().all(|t| t.len() == 1), "{received:?}");
}

/// Entries no index can hold as the feed gives them (a NUL in the id, a link of 3,000 bytes)
/// are stored and judged on the shared store like the others, and the entries behind them
/// are not held up.
#[test]
fn entries_with_unindexable_ids_and_links_are_judged_like_the_others() {
    if !scratch::available("entries_with_unindexable_ids_and_links_are_judged_like_the_others") {
        return;
    }
    // Random letters: PostgreSQL compresses a repetitive key below its index limit.
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let noise: String = (0..3000)
        .map(|_| char::from(b'a' + rng.gen_range(0..26u8)))
        .collect();
    let long = format!("/a/long-{noise}");
    let feed = move |base: &str| {
        serde_json::json!({
            "version": "https://jsonfeed.org/version/1.1",
            "title": "odd ids",
            "items": [
                {"id": "nul\u{0}id", "url": format!("{base}/a/nul"), "title": "An entry whose id holds a NUL",
                 "content_text": "Microsoft weighs legal action against OpenAI and Amazon over the AWS deal."},
                {"id": "long", "url": format!("{base}{long}"), "title": "An entry with a very long link",
                 "content_text": "The committee met again and discussed the budget at length."},
                {"id": "plain", "url": format!("{base}/a/plain"), "title": "A plain entry",
                 "content_text": "The council approved the new library opening hours on Tuesday."}
            ]
        })
        .to_string()
    };
    let addr = serve(axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap| {
            let feed = feed.clone();
            async move {
                let host = headers
                    .get("host")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("127.0.0.1")
                    .to_string();
                if uri.path() == "/feed.json" {
                    feed(&format!("http://{host}"))
                } else {
                    String::new()
                }
            }
        },
    ));
    let schema = scratch::schema_name();
    let _drop = PgSchema(schema.clone());
    let env = TestEnv::new(
        "",
        &format!(
            "[[feeds]]\nname = \"odd\"\nurl = \"http://{addr}/feed.json\"\nfull_text = false\n[store]\nurl = \"{}\"\nschema = \"{schema}\"\n",
            scratch::url()
        ),
    );
    wirewatch_ok(&["once", "-c", env.config_str()]);
    let st = status(&env);
    assert_eq!(st["store"]["entries"], 3, "{st}");
    assert_eq!(st["store"]["items"], 3, "{st}");
    assert_eq!(st["store"]["pending"], 0, "{st}");
    // Polled again, the same three: nothing new.
    wirewatch_ok(&["once", "-c", env.config_str()]);
    let st = status(&env);
    assert_eq!(st["store"]["entries"], 3, "{st}");
}
