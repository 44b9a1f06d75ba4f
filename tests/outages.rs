//! Outages against the running daemon: a webhook receiver that is down, then answers 500, then
//! 429 with Retry-After, then 2xx; feeds that answer 5xx, 429, time out or send garbage.
//! Checked: nothing lost, nothing doubled, retries back off (the spacing of attempts grows,
//! Retry-After is honoured), no busy loop while waiting (the daemon's CPU time over the idle
//! stretch, read from /proc/PID/stat, stays under a generous sanity bound) and the log stays
//! small (no line per retry per second).

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::*;

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 of `rest` (0-based 11, 12).
    let ticks: f64 = f[11].parse::<f64>().expect("utime") + f[12].parse::<f64>().expect("stime");
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    ticks / hz
}

fn daemon(env: &TestEnv, log: &std::path::Path) -> Child {
    start_daemon(&env.config, log)
}

fn stop(child: Child) {
    stop_daemon(child)
}

/// The log's lines, colour codes removed.
fn log_lines(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(strip_ansi)
        .collect()
}

/// Script of a receiver: the answer to its n-th request (0-based), 200 past the end.
#[derive(Clone)]
struct Receiver {
    script: Arc<Vec<(u16, Option<&'static str>)>>,
    got: Arc<Mutex<Vec<(Instant, String, u16)>>>,
}

fn start_receiver(listener: std::net::TcpListener, rx: Receiver) {
    let r2 = rx.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap| {
            let r = r2.clone();
            async move {
                let id = delivery_id(&headers);
                let mut got = r.got.lock().expect("lock");
                let n = got.len();
                let (status, retry_after) = r.script.get(n).copied().unwrap_or((200, None));
                got.push((Instant::now(), id, status));
                let mut resp = StatusCode::from_u16(status)
                    .expect("status")
                    .into_response();
                if let Some(ra) = retry_after {
                    resp.headers_mut()
                        .insert("retry-after", ra.parse().expect("header"));
                }
                resp
            }
        }),
    );
    serve_listener(listener, app);
}

/// Every alert id, from `wirewatch alerts --json`.
fn alert_ids(env: &TestEnv) -> Vec<String> {
    wirewatch_ok(&["alerts", "--json", "-c", env.config_str()])
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["id"]
                .as_str()
                .expect("id")
                .to_string()
        })
        .collect()
}

/// Waits until the receiver has answered 2xx to `n` distinct alerts and then stayed quiet 2 s.
fn wait_delivered(rx: &Receiver, n: usize, log: &std::path::Path) {
    let start = Instant::now();
    loop {
        let got = rx.got.lock().expect("lock").clone();
        let ok: std::collections::BTreeSet<&String> =
            got.iter().filter(|g| g.2 == 200).map(|g| &g.1).collect();
        if ok.len() >= n
            && got
                .last()
                .is_some_and(|g| g.0.elapsed() > Duration::from_secs(2))
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "deliveries did not complete: {} of {n}; log:\n{}",
            ok.len(),
            log_lines(log).join("\n")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Nothing lost, nothing doubled: every alert answered 2xx exactly once; outbox empty.
fn assert_all_delivered_once(env: &TestEnv, rx: &Receiver) -> usize {
    let got = rx.got.lock().expect("lock").clone();
    let ids = alert_ids(env);
    assert!(!ids.is_empty());
    let mut ok: BTreeMap<&str, usize> = BTreeMap::new();
    for g in got.iter().filter(|g| g.2 == 200) {
        *ok.entry(g.1.as_str()).or_default() += 1;
    }
    for id in &ids {
        assert_eq!(ok.get(id.as_str()), Some(&1), "alert {id} delivered once");
    }
    assert_eq!(ok.len(), ids.len());
    let stats = env.store().stats().expect("stats");
    assert_eq!(stats.outbox, 0, "{stats:?}");
    assert_eq!(stats.dead, 0, "{stats:?}");
    ids.len()
}

fn webhook_env(sc: &Scenario, addr: SocketAddr) -> TestEnv {
    TestEnv::new(
        "interval = \"1h\"",
        &format!(
            "{}\n[[webhooks]]\nurl = \"http://{addr}/hook\"\nformat = \"json\"\n",
            sc.feeds_toml()
        ),
    )
}

#[test]
fn webhook_receiver_down_then_up_loses_nothing_backs_off_and_idles() {
    let sc = Scenario::start(&["--faults", "none"]);
    // Reserve a port, then close it: the receiver is down (connection refused) at first.
    let addr: SocketAddr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let env = webhook_env(&sc, addr);
    let log = env.dir.path().join("daemon.log");
    let child = daemon(&env, &log);
    let pid = child.id();
    // Wait for the first failed delivery (receiver down), then measure a 10 s idle stretch.
    let start = Instant::now();
    while !log_lines(&log)
        .iter()
        .any(|l| l.contains("delivery failed"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no delivery attempt"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Delivery lines only: the first poll may still be logging its items.
    let webhook_lines = |log: &std::path::Path| {
        log_lines(log)
            .iter()
            .filter(|l| l.contains("webhook{"))
            .count()
    };
    let lines_before = webhook_lines(&log);
    let cpu_before = cpu_seconds(pid);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    let cpu = cpu_seconds(pid) - cpu_before;
    let idle = t0.elapsed().as_secs_f64();
    let outage_lines = webhook_lines(&log) - lines_before;
    // The retry delays the daemon announced while the receiver was down.
    let delays: Vec<u64> = log_lines(&log)
        .iter()
        .filter(|l| l.contains("delivery failed"))
        .filter_map(|l| {
            let v = l.split("retry_in_s").nth(1)?;
            let digits: String = v
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect();
    eprintln!(
        "webhook down: daemon CPU {cpu:.3} s over {idle:.1} s idle ({:.1} %), {outage_lines} log lines, retry delays {delays:?} s",
        100.0 * cpu / idle
    );
    assert!(
        cpu / idle < 0.20,
        "busy loop while waiting: {cpu} s CPU in {idle} s"
    );
    assert!(
        outage_lines <= 3,
        "delivery log lines during a 10 s outage: {outage_lines}"
    );
    assert!(delays.len() >= 2, "two attempts in the outage: {delays:?}");
    assert!(
        delays.windows(2).all(|w| w[1] > w[0]),
        "backoff grows: {delays:?}"
    );

    // The receiver comes up on the same port and answers 200.
    let rx = Receiver {
        script: Arc::new(Vec::new()),
        got: Arc::default(),
    };
    let listener = std::net::TcpListener::bind(addr).expect("rebind the receiver's port");
    start_receiver(listener, rx.clone());
    wait_delivered(&rx, 1, &log);
    stop(child);
    let n = assert_all_delivered_once(&env, &rx);
    eprintln!("webhook down then up: {n} alerts, all delivered once");
}

#[test]
fn webhook_429_retry_after_and_500_are_retried_in_order() {
    let sc = Scenario::start(&["--faults", "none"]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    // 429 with Retry-After 9 (the backoff alone would wait 4-6 s), then 500, then 200s.
    let rx = Receiver {
        script: Arc::new(vec![(429, Some("9")), (500, None)]),
        got: Arc::default(),
    };
    start_receiver(listener, rx.clone());
    let env = webhook_env(&sc, addr);
    let log = env.dir.path().join("daemon.log");
    let child = daemon(&env, &log);
    // The head alert needs three attempts; wait for the third and the quiet after it.
    let start = Instant::now();
    while rx.got.lock().expect("lock").len() < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "attempts stalled"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_delivered(&rx, 1, &log);
    stop(child);
    let got = rx.got.lock().expect("lock").clone();
    let head = &got[0].1;
    assert!(
        got[..3].iter().all(|g| &g.1 == head),
        "nothing overtook the failing head"
    );
    let gaps: Vec<Duration> = got[..3].windows(2).map(|w| w[1].0 - w[0].0).collect();
    eprintln!("webhook retry gaps after 429 (Retry-After 9), 500: {gaps:?}");
    assert!(
        gaps[0] >= Duration::from_secs(9),
        "Retry-After honoured: {gaps:?}"
    );
    let n = assert_all_delivered_once(&env, &rx);
    eprintln!(
        "webhook 429/500: {n} alerts, all delivered once, {} attempts",
        got.len()
    );
}

#[test]
fn failing_feeds_back_off_without_a_busy_loop() {
    let hits: Arc<Mutex<BTreeMap<String, Vec<Instant>>>> = Arc::default();
    let h = hits.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let h = h.clone();
        async move {
            let path = uri.path().to_string();
            h.lock()
                .expect("lock")
                .entry(path.clone())
                .or_default()
                .push(Instant::now());
            let r: Response = match path.as_str() {
                "/500.xml" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
                "/429.xml" => (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "120")],
                    "slow down",
                )
                    .into_response(),
                "/timeout.xml" => {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "late".into_response()
                }
                "/garbage.xml" => (
                    [("content-type", "application/rss+xml")],
                    "\u{0}\u{1}garbage <<<< not a feed",
                )
                    .into_response(),
                _ => (StatusCode::NOT_FOUND, "no").into_response(),
            };
            r
        }
    });
    let addr = serve(app.clone());
    // The 429 on a host of its own: it pauses its whole host (tests/poll.rs), and this test
    // is about each feed's backoff.
    let limited = serve(app);
    let paths = ["/500.xml", "/429.xml", "/timeout.xml", "/garbage.xml"];
    let feeds: String = paths
        .iter()
        .map(|p| {
            let host = if *p == "/429.xml" { limited } else { addr };
            format!("[[feeds]]\nname = \"{p}\"\nurl = \"http://{host}{p}\"\nfull_text = false\n")
        })
        .collect();
    let env = TestEnv::new("interval = \"1s\"", &feeds);
    let cfg = std::fs::read_to_string(&env.config)
        .expect("config")
        .replace("timeout = \"3s\"", "timeout = \"1s\"");
    std::fs::write(&env.config, cfg).expect("config");
    let log = env.dir.path().join("daemon.log");
    let child = daemon(&env, &log);
    let pid = child.id();
    std::thread::sleep(Duration::from_secs(3));
    let cpu_before = cpu_seconds(pid);
    let lines_before = log_lines(&log).len();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(14));
    let cpu = cpu_seconds(pid) - cpu_before;
    let span = t0.elapsed().as_secs_f64();
    let lines = log_lines(&log).len() - lines_before;
    stop(child);
    let all_hits = hits.clone();
    let hits = hits.lock().expect("lock").clone();
    let counts: Vec<(String, usize)> = hits.iter().map(|(k, v)| (k.clone(), v.len())).collect();
    eprintln!(
        "failing feeds over {span:.1} s: CPU {cpu:.3} s ({:.1} %), {lines} log lines, requests {counts:?}",
        100.0 * cpu / span
    );
    assert!(cpu / span < 0.20, "busy loop: {cpu} s CPU in {span} s");
    // Without backoff a 1 s interval would poll each feed about 17 times in these 17 s.
    assert!(lines <= 40, "log volume: {lines} lines in {span} s");
    // 429 with a long Retry-After: polled once, not again within the run.
    assert_eq!(hits["/429.xml"].len(), 1, "Retry-After 120 honoured");
    // Failing feeds back off (from at least 30 s) instead of polling on the 1 s interval:
    // one poll each in the run (the 500 and the timeout retried inside their poll, twice at most).
    for (path, max) in [("/garbage.xml", 1), ("/500.xml", 3), ("/timeout.xml", 3)] {
        let n = hits.get(path).map_or(0, Vec::len);
        assert!(n >= 1 && n <= max, "{path}: {n} requests in {span:.0} s");
    }
    // Consecutive failures grow the stored backoff: poll again with `once` (which polls every
    // feed now) and read next_poll - last_attempt after each failure.
    // The 429's host stays paused for the next processes too (the pause is stored): they
    // do not ask it, and its next poll stays where the Retry-After put it, 120 s after the
    // one request it got.
    let mut waits: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut asked_429: Option<chrono::DateTime<chrono::Utc>> = None;
    for _ in 0..3 {
        for (_, st) in env.store().feed_states().expect("states") {
            assert!(st.last_error.is_some(), "{st:?}");
            let (Some(next), Some(last)) = (st.next_poll, st.last_attempt) else {
                panic!("no schedule stored: {st:?}");
            };
            let wait = if st.url.ends_with("/429.xml") {
                (next - *asked_429.get_or_insert(last)).num_seconds()
            } else {
                (next - last).num_seconds()
            };
            waits.entry(st.url.clone()).or_default().push(wait);
        }
        wirewatch_ok(&["once", "-c", env.config_str()]);
    }
    eprintln!("stored backoff (s) after consecutive failures: {waits:?}");
    let asked = all_hits
        .lock()
        .expect("lock")
        .get("/429.xml")
        .map_or(0, Vec::len);
    assert_eq!(
        asked, 1,
        "the paused host was asked again by a later process"
    );
    for (url, w) in &waits {
        if url.ends_with("/429.xml") {
            assert!(
                w.iter().all(|s| *s >= 115),
                "Retry-After 120 kept: {url} {w:?}"
            );
            continue;
        }
        assert!(
            w[0] >= 20,
            "first backoff beyond the 1 s interval: {url} {w:?}"
        );
        assert!(
            w.windows(2).all(|p| p[1] > p[0]),
            "backoff grows: {url} {w:?}"
        );
    }
}
