//! The fetch → parse → store path against a real loopback HTTP server, through the real
//! binary: conditional GET, Retry-After, failures, slow and huge bodies, gzip, redirects.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use common::*;

#[derive(Default)]
struct State {
    log: Vec<Seen>,
    hits: HashMap<String, usize>,
}

type Shared = Arc<Mutex<State>>;

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn resp(status: u16, headers: &[(&str, &str)], body: impl Into<Body>) -> Response {
    let mut b = Response::builder().status(StatusCode::from_u16(status).expect("status"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.into()).expect("response")
}

const RSS_CT: &str = "application/rss+xml; charset=utf-8";

async fn handler(state: axum::extract::State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_string();
    let n = {
        let mut st = state.lock().expect("lock");
        st.log.push(Seen {
            path: path.clone(),
            if_none_match: header(&headers, "if-none-match"),
            if_modified_since: header(&headers, "if-modified-since"),
            accept_encoding: header(&headers, "accept-encoding"),
            user_agent: header(&headers, "user-agent"),
        });
        let c = st.hits.entry(path.clone()).or_default();
        *c += 1;
        *c
    };
    match path.as_str() {
        "/etag.xml" => {
            if header(&headers, "if-none-match").as_deref() == Some("\"v1\"") {
                return resp(304, &[("etag", "\"v1\"")], "");
            }
            resp(
                200,
                &[("content-type", RSS_CT), ("etag", "\"v1\"")],
                rss("etag", 0, 3),
            )
        }
        "/lastmod.xml" => {
            let lm = "Mon, 23 Nov 2026 08:00:00 GMT";
            if header(&headers, "if-modified-since").as_deref() == Some(lm) {
                return resp(304, &[("last-modified", lm)], "");
            }
            resp(
                200,
                &[("content-type", RSS_CT), ("last-modified", lm)],
                rss("lm", 10, 2),
            )
        }
        "/429.xml" => {
            if n == 1 {
                return resp(429, &[("retry-after", "1")], "slow down");
            }
            resp(200, &[("content-type", RSS_CT)], rss("429", 20, 2))
        }
        "/503-long.xml" => resp(503, &[("retry-after", "3600")], "maintenance"),
        "/429-always.xml" => resp(429, &[], "too many requests"),
        "/500.xml" => resp(500, &[], "boom"),
        "/slow.xml" => {
            tokio::time::sleep(Duration::from_secs(6)).await;
            resp(200, &[("content-type", RSS_CT)], rss("slow", 30, 1))
        }
        "/huge.xml" => {
            let mut body = rss("huge", 40, 1);
            body.push_str(&"<!-- padding -->".repeat(200_000));
            resp(200, &[("content-type", RSS_CT)], body)
        }
        "/gzip.xml" => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(rss("gzip", 50, 4).as_bytes()).expect("gzip");
            let bytes = enc.finish().expect("gzip");
            resp(
                200,
                &[("content-type", RSS_CT), ("content-encoding", "gzip")],
                bytes,
            )
        }
        "/bomb.xml" => {
            // 64 MiB of zeros compressed to about 64 KiB: must hit the body cap, not memory.
            let bytes = bomb().to_vec();
            resp(
                200,
                &[("content-type", RSS_CT), ("content-encoding", "gzip")],
                bytes,
            )
        }
        "/moved.xml" => resp(301, &[("location", "/new-home.xml")], ""),
        "/new-home.xml" => resp(200, &[("content-type", RSS_CT)], rss("moved", 60, 2)),
        "/parked.xml" => resp(301, &[("location", "/parking.html")], ""),
        "/parking.html" => resp(
            200,
            &[("content-type", "text/html")],
            "<html><body><h1>This domain is for sale</h1></body></html>",
        ),
        "/temp.xml" => resp(302, &[("location", "/temp-target.xml")], ""),
        "/cdn-etag.xml" => resp(302, &[("location", "/etag.xml")], ""),
        "/temp-target.xml" => resp(200, &[("content-type", RSS_CT)], rss("temp", 70, 1)),
        "/loop.xml" => resp(302, &[("location", "/loop.xml")], ""),
        "/garbage.xml" => resp(200, &[("content-type", RSS_CT)], "this is not a feed <<<"),
        _ => resp(404, &[], "not found"),
    }
}

/// The gzip bomb, built once before the run that fetches it: compressing it per request in a
/// debug build on a loaded machine can take longer than the fetch timeout, which then tests the
/// timeout instead of the body cap.
fn bomb() -> &'static [u8] {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..64 {
            enc.write_all(&zeros).expect("gzip");
        }
        enc.finish().expect("gzip")
    })
}

fn start() -> (String, Shared) {
    bomb();
    let state: Shared = Arc::new(Mutex::new(State::default()));
    let app = axum::Router::new()
        .fallback(handler)
        .with_state(state.clone());
    let addr = serve(app);
    (format!("http://{addr}"), state)
}

fn feeds(base: &str, paths: &[&str]) -> String {
    paths
        .iter()
        .map(|p| format!("[[feeds]]\nname = \"{p}\"\nurl = \"{base}{p}\"\nfull_text = false\n"))
        .collect()
}

fn report(env: &TestEnv) -> serde_json::Value {
    let out = wirewatch_ok(&["once", "--json", "-c", env.config_str()]);
    serde_json::from_str(out.trim()).expect("once --json output")
}

fn feed<'a>(r: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    r["feeds"]
        .as_array()
        .expect("feeds")
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no report for {name} in {r}"))
}

fn requests(state: &Shared, path: &str) -> Vec<Seen> {
    state
        .lock()
        .expect("lock")
        .log
        .iter()
        .filter(|s| s.path == path)
        .cloned()
        .collect()
}

#[test]
fn conditional_get_and_idempotent_store() {
    let (base, state) = start();
    let env = TestEnv::new(
        "",
        &feeds(&base, &["/etag.xml", "/lastmod.xml", "/gzip.xml"]),
    );
    let r1 = report(&env);
    assert_eq!(feed(&r1, "/etag.xml")["entries_new"], 3);
    assert_eq!(feed(&r1, "/lastmod.xml")["entries_new"], 2);
    assert_eq!(
        feed(&r1, "/gzip.xml")["entries_new"],
        4,
        "gzip body decoded"
    );
    let r2 = report(&env);
    assert_eq!(feed(&r2, "/etag.xml")["not_modified"], true);
    assert_eq!(feed(&r2, "/lastmod.xml")["not_modified"], true);
    assert_eq!(
        feed(&r2, "/gzip.xml")["entries_new"],
        0,
        "re-poll stores nothing twice"
    );

    let etag = requests(&state, "/etag.xml");
    assert_eq!(etag.len(), 2);
    assert_eq!(etag[0].if_none_match, None);
    assert_eq!(etag[1].if_none_match.as_deref(), Some("\"v1\""));
    let lm = requests(&state, "/lastmod.xml");
    assert_eq!(
        lm[1].if_modified_since.as_deref(),
        Some("Mon, 23 Nov 2026 08:00:00 GMT")
    );
    let ae = etag[0].accept_encoding.clone().unwrap_or_default();
    assert!(
        ae.contains("gzip") && ae.contains("br") && ae.contains("deflate"),
        "{ae}"
    );
    assert!(etag[0]
        .user_agent
        .as_deref()
        .is_some_and(|ua| ua.starts_with("wirewatch/")));

    let store = env.store();
    assert_eq!(store.entries().expect("entries").len(), 9);
    assert_eq!(store.stats().expect("stats").pending, 0);
    assert_eq!(store.seeds().expect("seeds").len(), 5, "seed set loaded");
}

#[test]
fn failures_are_recorded_with_backoff_and_do_not_fail_the_run() {
    let (base, state) = start();
    let env = TestEnv::new(
        "max_body = \"256KiB\"",
        &feeds(
            &base,
            &[
                "/429.xml",
                "/500.xml",
                "/503-long.xml",
                "/slow.xml",
                "/huge.xml",
                "/bomb.xml",
                "/garbage.xml",
                "/loop.xml",
                "/missing.xml",
                "/etag.xml",
            ],
        ),
    );
    let r = report(&env);
    // 429 with Retry-After: 1 is retried inside the poll and succeeds.
    assert_eq!(feed(&r, "/429.xml")["entries_new"], 2, "{r}");
    assert_eq!(requests(&state, "/429.xml").len(), 2);
    for (name, needle) in [
        ("/500.xml", "HTTP 500"),
        ("/503-long.xml", "HTTP 503"),
        ("/slow.xml", "timed out"),
        ("/huge.xml", "larger than"),
        ("/bomb.xml", "larger than"),
        ("/garbage.xml", "unparseable"),
        ("/loop.xml", "redirect"),
        ("/missing.xml", "HTTP 404"),
    ] {
        let err = feed(&r, name)["error"].as_str().unwrap_or("").to_string();
        assert!(
            err.contains(needle),
            "{name}: expected {needle:?} in {err:?}"
        );
    }
    assert_eq!(
        feed(&r, "/etag.xml")["entries_new"],
        3,
        "healthy feed unaffected"
    );
    // A long Retry-After is not waited for inside the poll: one request only...
    assert_eq!(requests(&state, "/503-long.xml").len(), 1);
    // ...but becomes the persisted next-poll time, so a restart does not hammer the host.
    let store = env.store();
    let states: HashMap<String, wirewatch::store::FeedState> = store
        .feed_states()
        .expect("states")
        .into_iter()
        .map(|(_, s)| (s.url.clone(), s))
        .collect();
    let s503 = &states[&format!("{base}/503-long.xml")];
    let wait = s503.next_poll.expect("next poll") - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::minutes(55),
        "Retry-After honoured: {wait}"
    );
    assert_eq!(s503.consecutive_failures, 1);
    let s500 = &states[&format!("{base}/500.xml")];
    assert!(s500
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("500")));
    assert!(s500.next_poll.is_some());
    // 500 is transient: retried inside the poll (1 s, 2 s) before giving up.
    assert_eq!(requests(&state, "/500.xml").len(), 3);
}

#[test]
fn permanent_redirect_is_remembered_temporary_is_not() {
    let (base, state) = start();
    let env = TestEnv::new("", &feeds(&base, &["/moved.xml", "/temp.xml"]));
    let r = report(&env);
    assert_eq!(feed(&r, "/moved.xml")["entries_new"], 2);
    assert_eq!(feed(&r, "/temp.xml")["entries_new"], 1);
    report(&env);
    // Second cycle: the moved feed goes straight to its new home.
    assert_eq!(requests(&state, "/moved.xml").len(), 1);
    assert_eq!(requests(&state, "/new-home.xml").len(), 2);
    assert_eq!(requests(&state, "/temp.xml").len(), 2);
}

/// A permanent redirect to something that is not a feed (a lapsed domain's parking page) is
/// reported, naming where it led, and not adopted: the configured address is polled again.
#[test]
fn a_permanent_redirect_to_a_non_feed_is_not_adopted() {
    let (base, state) = start();
    let env = TestEnv::new("", &feeds(&base, &["/parked.xml"]));
    let r = report(&env);
    let err = feed(&r, "/parked.xml")["error"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        err.contains("unparseable feed") && err.contains("/parking.html"),
        "{err}"
    );
    report(&env);
    assert_eq!(
        requests(&state, "/parked.xml").len(),
        2,
        "polled at its own address again"
    );
}

/// A feed behind a temporary redirect (a CDN's 302) still gets conditional GETs: the
/// validators go to the URL that issued them, and the second poll is a 304, not a full
/// download and parse every time.
#[test]
fn a_feed_behind_a_temporary_redirect_is_polled_conditionally() {
    let (base, state) = start();
    let env = TestEnv::new("", &feeds(&base, &["/cdn-etag.xml"]));
    assert_eq!(feed(&report(&env), "/cdn-etag.xml")["entries_new"], 3);
    assert_eq!(feed(&report(&env), "/cdn-etag.xml")["not_modified"], true);
    assert_eq!(
        requests(&state, "/cdn-etag.xml").len(),
        2,
        "still polled at its own address"
    );
}

#[test]
fn private_addresses_are_refused_by_default() {
    let (base, state) = start();
    let env = TestEnv::new("", "");
    let text = std::fs::read_to_string(&env.config).expect("read");
    let text = text.replace(
        "allow_private_networks = true",
        "allow_private_networks = false",
    ) + &feeds(&base, &["/etag.xml"])
        + "[[feeds]]\nurl = \"http://localhost:9/x.xml\"\n";
    std::fs::write(&env.config, text).expect("write");
    let r = report(&env);
    let err = feed(&r, "/etag.xml")["error"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(err.contains("not a public address"), "{err}");
    let err = feed(&r, "localhost")["error"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(err.contains("non-public"), "{err}");
    assert!(
        requests(&state, "/etag.xml").is_empty(),
        "no request may reach the server"
    );
}

#[test]
fn check_reports_config_errors_with_key_and_line() {
    let env = TestEnv::new(
        "",
        "[[feeds]]\nurl = \"https://example.org/f.xml\"\nintervall = \"5m\"\n",
    );
    let out = wirewatch(&["check", "-c", env.config_str()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("intervall") && err.contains("line"), "{err}");

    let env = TestEnv::new("interval = \"soon\"", "");
    let out = wirewatch(&["once", "-c", env.config_str()]);
    assert!(!out.status.success(), "unusable config fails the run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid duration") && err.contains("line"),
        "{err}"
    );

    let env = TestEnv::new(
        "",
        "[[feeds]]\nurl = \"https://example.org/f.xml\"\ninterval = \"5m\"\n",
    );
    let out = wirewatch_ok(&["check", "-c", env.config_str()]);
    assert!(
        out.contains("https://example.org/f.xml") && out.contains("every 5m"),
        "{out}"
    );
}

#[test]
fn unusable_store_fails_the_run() {
    let env = TestEnv::new("", "");
    // The state directory is a file: the store cannot be opened.
    let state = env.dir.path().join("state");
    std::fs::write(&state, "not a directory").expect("write");
    let out = wirewatch(&["once", "-c", env.config_str()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("store"), "{err}");
}

/// A feed whose body does not parse is one poll and one error in the metrics (it was counted
/// twice), and a healthy feed is one poll and no error.
#[tokio::test(flavor = "multi_thread")]
async fn an_unparseable_feed_counts_one_poll_and_one_error() {
    let (base, _state) = start();
    let env = TestEnv::new("", &feeds(&base, &["/garbage.xml", "/etag.xml"]));
    let config = std::sync::Arc::new(wirewatch::Config::load(&env.config).expect("config"));
    let store = wirewatch::Store::open(&env.db_path()).expect("store");
    let pipeline = wirewatch::Pipeline::new(config.clone(), store).expect("pipeline");
    for f in &config.feeds {
        pipeline.poll_feed(f).await.expect("poll");
    }
    let text = pipeline.metrics().render();
    for (line, what) in [
        (
            "wirewatch_feed_polls_total{feed=\"/garbage.xml\"} 1",
            "one poll",
        ),
        (
            "wirewatch_feed_poll_errors_total{feed=\"/garbage.xml\"} 1",
            "one error",
        ),
        (
            "wirewatch_feed_polls_total{feed=\"/etag.xml\"} 1",
            "one poll",
        ),
        (
            "wirewatch_feed_poll_errors_total{feed=\"/etag.xml\"} 0",
            "no error",
        ),
    ] {
        assert!(text.contains(line), "{what}: no {line:?} in\n{text}");
    }
}

/// A 429 without Retry-After pauses the whole host, not only the feed that got it: the next
/// feed of the same host is not requested at all for the pause (a minute), nor counted as
/// failing, while a feed of another host is requested. (Each feed used to be asked, and each
/// got its own 429.)
#[tokio::test(flavor = "multi_thread")]
async fn a_429_pauses_every_feed_of_its_host() {
    let (base, state) = start();
    let (other, other_state) = start();
    let list = format!(
        "{}{}",
        feeds(&base, &["/429-always.xml", "/etag.xml"]),
        feeds(&other, &["/lastmod.xml"]).replace("name = \"/lastmod.xml\"", "name = \"other\"")
    );
    let env = TestEnv::new("", &list);
    let config = std::sync::Arc::new(wirewatch::Config::load(&env.config).expect("config"));
    let store = wirewatch::Store::open(&env.db_path()).expect("store");
    let pipeline = wirewatch::Pipeline::new(config.clone(), store.clone()).expect("pipeline");
    let mut reports = Vec::new();
    for f in &config.feeds {
        reports.push(pipeline.poll_feed(f).await.expect("poll"));
    }
    let error = |i: usize| reports[i].error.clone().unwrap_or_default();
    assert!(error(0).contains("429"), "{:?}", reports[0]);
    // The feed not asked is not failing: its backoff does not grow with the pause.
    let failures: HashMap<String, u32> = store
        .feed_states()
        .expect("states")
        .into_iter()
        .map(|(_, s)| (s.url.clone(), s.consecutive_failures))
        .collect();
    assert_eq!(failures[&format!("{base}/429-always.xml")], 1);
    assert_eq!(
        failures[&format!("{base}/etag.xml")],
        0,
        "a pause is no failure"
    );
    assert_eq!(
        requests(&state, "/429-always.xml").len(),
        1,
        "not asked again inside the poll"
    );
    assert!(error(1).contains("asked to slow down"), "{:?}", reports[1]);
    assert!(
        requests(&state, "/etag.xml").is_empty(),
        "the paused host was asked for another feed"
    );
    let wait = reports[1].next_poll.expect("next poll") - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::seconds(50),
        "the next poll waits for the pause: {wait}"
    );
    assert_eq!(reports[2].error, None, "{:?}", reports[2]);
    assert_eq!(requests(&other_state, "/lastmod.xml").len(), 1);
}

/// A host's pause outlives the process that was asked for it: the next `once` (a cron job,
/// a restarted daemon) does not ask the paused host again, for any feed of it, until the pause
/// is over.
#[test]
fn a_host_stays_paused_for_the_next_process() {
    let (base, state) = start();
    let env = TestEnv::new("", &feeds(&base, &["/429-always.xml"]));
    let out = wirewatch_ok(&["once", "--json", "-c", env.config_str()]);
    assert!(out.contains("429"), "{out}");
    assert_eq!(requests(&state, "/429-always.xml").len(), 1);
    // Another feed of the same host, in a new process.
    let text = std::fs::read_to_string(&env.config).expect("read config");
    std::fs::write(
        &env.config,
        format!("{text}{}", feeds(&base, &["/etag.xml"])),
    )
    .expect("write config");
    let out = wirewatch_ok(&["once", "--json", "-c", env.config_str()]);
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    let etag = report["feeds"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "/etag.xml"))
        .cloned()
        .unwrap_or_default();
    assert!(
        etag["error"]
            .as_str()
            .unwrap_or_default()
            .contains("asked to slow down"),
        "{etag}"
    );
    assert!(
        requests(&state, "/etag.xml").is_empty(),
        "the paused host was asked by the next process"
    );
    assert_eq!(requests(&state, "/429-always.xml").len(), 1);
}

/// On PostgreSQL, a worker already running leaves a host alone once another worker got a 429
/// from it: it learns the stored pause before its next polls, not only when it starts.
#[test]
fn a_running_worker_adopts_a_pause_another_worker_got() {
    use wirewatch::store::postgres::scratch;
    if !scratch::available("a_running_worker_adopts_a_pause_another_worker_got") {
        return;
    }
    let (base, state) = start();
    let schema = PgSchema::new();
    // The running worker polls one feed of the host every second.
    let running = TestEnv::new(
        "interval = \"1s\"",
        &format!("{}{}", feeds(&base, &["/etag.xml"]), schema.store_toml()),
    );
    let mut daemon = start_daemon(&running.config, &running.dir.path().join("run.log"));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while requests(&state, "/etag.xml").len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the running worker never polled twice"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Another worker polls other feeds of the same host, and is told to slow down. Live
    // workers share the feeds by hash, whatever each one's config lists: of 16 feeds, the
    // other worker is given at least one but with odds of 1 in 65,536 (it polls only those).
    let paths: Vec<String> = (0..16).map(|i| format!("/429-always.xml?w={i}")).collect();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let other = TestEnv::new(
        "",
        &format!("{}{}", feeds(&base, &paths), schema.store_toml()),
    );
    let out = wirewatch_ok(&["once", "--json", "-c", other.config_str()]);
    let report: serde_json::Value = serde_json::from_str(out.trim()).expect("once --json");
    let told = report["feeds"]
        .as_array()
        .expect("feeds")
        .iter()
        .any(|f| f["error"].as_str().is_some_and(|e| e.contains("HTTP 429")));
    assert!(told, "the other worker was not told to slow down: {out}");
    // One poll of the running worker may have been under way: at most one more request.
    let before = requests(&state, "/etag.xml").len();
    std::thread::sleep(Duration::from_secs(5));
    let after = requests(&state, "/etag.xml").len();
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert!(
        after <= before + 1,
        "the running worker asked the paused host {} times in 5 s",
        after - before
    );
}

/// The requests that waited out a host's short pause leave one by one, at the per-host
/// spacing, not in a burst the moment it ends: the host just asked to be asked less.
/// (A request that had its turn booked before the pause fired together with the next.)
#[tokio::test(flavor = "multi_thread")]
async fn requests_after_a_short_pause_keep_their_spacing() {
    let seen: Arc<Mutex<Vec<std::time::Instant>>> = Arc::default();
    let log = seen.clone();
    let addr = serve(axum::Router::new().fallback(move || {
        let log = log.clone();
        async move {
            let first = {
                let mut l = log.lock().expect("lock");
                l.push(std::time::Instant::now());
                l.len() == 1
            };
            if first {
                Response::builder()
                    .status(StatusCode::TOO_MANY_REQUESTS)
                    .header("retry-after", "2")
                    .body(Body::from("slow down"))
                    .expect("response")
            } else {
                Response::new(Body::from("ok"))
            }
        }
    }));
    let cfg = wirewatch::config::FetchConfig {
        allow_private_networks: true,
        per_host_concurrency: 2,
        per_host_interval: wirewatch::config::Dur(Duration::from_secs(1)),
        ..Default::default()
    };
    let fetcher = Arc::new(wirewatch::fetch::Fetcher::new(&cfg).expect("fetcher"));
    let mut tasks = Vec::new();
    for n in 0..3 {
        let fetcher = fetcher.clone();
        let url = url::Url::parse(&format!("http://{addr}/{n}")).expect("url");
        tasks.push(tokio::spawn(async move {
            fetcher
                .get(wirewatch::fetch::Request {
                    url: &url,
                    kind: wirewatch::fetch::Kind::Page,
                    etag: None,
                    last_modified: None,
                    form: None,
                    validators_for: None,
                })
                .await
                .map(|_| ())
        }));
        // In this order: the first is the one answered 429.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for t in tasks {
        let _ = t.await.expect("task");
    }
    let times = seen.lock().expect("lock").clone();
    assert_eq!(times.len(), 3, "each asked once");
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps[0] >= Duration::from_millis(1900),
        "the pause was waited out: {gaps:?}"
    );
    assert!(
        gaps[1] >= Duration::from_millis(900),
        "spaced after it: {gaps:?}"
    );
}
