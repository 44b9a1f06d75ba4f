//! wirewatch as a service: the systemd unit passes `systemd-analyze verify`, and the daemon's
//! HTTP server (health, metrics, JSON API, bearer token, HTML status page) serves what the
//! store holds. The status page is loaded in a real headless browser (Debian's chromium),
//! which dumps the DOM it built and takes a phone-sized screenshot, kept under
//! `target/artifacts/`.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::routing::get;
use common::*;

/// The target directory (the binary lives in `target/<profile>/wirewatch`).
fn target_dir() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_wirewatch"));
    bin.parent()
        .and_then(Path::parent)
        .expect("binary inside target/<profile>/")
        .to_path_buf()
}

/// Finds a tool or fails with what to install.
fn require_tool(name: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "`{name}` not found: this test needs Debian's `{package}` package \
             (`apt-get install -y {package}`; .ci/run installs it)"
        )
    })
}

#[test]
fn systemd_unit_verifies_clean() {
    verify_unit("wirewatch.service", "wirewatch.service");
}

/// The workers' template (several `wirewatch run` on one host over PostgreSQL) verifies
/// clean too, as instance 1, and gives each instance its own status page port and state.
#[test]
fn systemd_worker_template_verifies_clean() {
    let unit = verify_unit("wirewatch@.service", "wirewatch@1.service");
    assert!(unit.contains("Environment=WIREWATCH_HTTP_LISTEN=127.0.0.1:878%i"));
    assert!(unit.contains("StateDirectory=wirewatch/%i"));
}

/// Runs `systemd-analyze verify` on a shipped unit (saved as `as_name`); returns its text.
fn verify_unit(file: &str, as_name: &str) -> String {
    let analyze = require_tool("systemd-analyze", "systemd");
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("config")
            .join(file),
    )
    .expect("read the unit");
    // verify checks that ExecStart's binary exists: point it at the binary just built.
    assert!(
        unit.contains("ExecStart=/usr/bin/wirewatch "),
        "unit's ExecStart changed:\n{unit}"
    );
    let unit = unit.replace(
        "ExecStart=/usr/bin/wirewatch ",
        &format!("ExecStart={} ", env!("CARGO_BIN_EXE_wirewatch")),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(as_name);
    std::fs::write(&path, unit).expect("write unit");
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&path)
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .expect("run systemd-analyze");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // systemd-analyze exits 0 on many warnings (an unparsable value is "ignored"): clean
    // means no output at all.
    assert!(
        out.status.success() && text.trim().is_empty(),
        "systemd-analyze verify is not clean ({}):\n{text}",
        out.status
    );
    // The properties the issue asks for are there (verify would accept their absence).
    let unit = std::fs::read_to_string(&path).expect("unit");
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "StateDirectory=wirewatch",
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=",
        "SystemCallFilter=@system-service",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.contains(line), "unit lacks {line}");
    }
    unit
}

/// A running daemon with its log in a file; SIGTERM on drop.
struct Daemon {
    child: Child,
    log: PathBuf,
    base: String,
}

impl Daemon {
    fn start(env: &TestEnv, vars: &[(&str, &str)]) -> Daemon {
        let log = env.dir.path().join(format!(
            "daemon-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_nanos()
        ));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wirewatch"));
        cmd.args(["run", "-c", env.config_str()])
            .env_remove("STATE_DIRECTORY")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start daemon");
        let start = Instant::now();
        let base = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            // The daemon logs `status page url=http://ADDR/` once it listens.
            let found = text
                .lines()
                .find(|l| l.contains("status page") && l.contains("http://"));
            if let Some(line) = found {
                let i = line.find("http://").expect("url");
                break line[i..]
                    .split(|c: char| c.is_whitespace() || c == '"')
                    .next()
                    .expect("url")
                    .trim_end_matches('/')
                    .to_string();
            }
            assert!(
                child.try_wait().expect("try_wait").is_none(),
                "daemon exited early:\n{text}"
            );
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no status page logged:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        Daemon { child, log, base }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("wait");
        let log = self.log();
        assert!(status.success(), "daemon exit {status}:\n{log}");
        log
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One GET: (status, content type, body).
fn http_get(url: &str, token: Option<&str>) -> (u16, String, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let mut req = reqwest::Client::new().get(url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, ctype, resp.text().await.expect("body"))
    })
}

/// The status of a GET sent with the given `Host` header.
fn http_get_host(url: &str, host: &str) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        reqwest::Client::new()
            .get(url)
            .header("host", host)
            .send()
            .await
            .expect("request")
            .status()
            .as_u16()
    })
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

const HOSTILE: &str =
    "<script>document.body.setAttribute(\"data-pwned\",\"1\")</script> Hostile Gazette";

/// A feed whose title (and item title) carry a script, with one off-topic article page.
fn hostile_server() -> String {
    let feed = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>{t}</title><link>http://example.org/</link><description>d</description>\
         <item><title>{t} bakery news</title><link>PAGE</link><guid>urn:hostile:1</guid><pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate>\
         <description>A bakery on Main Street won a regional prize for its sourdough.</description></item></channel></rss>\n",
        // Escaped twice: the XML layer decodes one level, and feed titles are HTML, so the
        // title the parser keeps is the literal text `<script>…`.
        t = html_escape::encode_text(&html_escape::encode_text(HOSTILE))
    );
    let page = "<html><head><title>Bakery wins prize</title></head><body><article><h1>Bakery wins prize</h1>\
        <p>A family bakery on Main Street won the regional sourdough prize on Saturday, its third win in five years.</p>\
        <p>The owners credit a starter kept alive since 1987 and a long, cold overnight rise.</p>\
        <p>The judges praised the crust and the open crumb, and the town council sent its congratulations.</p>\
        <p>Queues formed outside the shop on Sunday morning, and the loaves sold out before ten.</p></article></body></html>";
    let addr_cell = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let cell = addr_cell.clone();
    let router = axum::Router::new()
        .route(
            "/feed.xml",
            get(move || {
                let feed = feed.replace(
                    "PAGE",
                    &format!("{}/bakery.html", cell.get().cloned().unwrap_or_default()),
                );
                async move { ([("content-type", "application/rss+xml")], feed) }
            }),
        )
        .route(
            "/bakery.html",
            get(move || async move { ([("content-type", "text/html; charset=utf-8")], page) }),
        );
    let addr = serve(router);
    let base = format!("http://{addr}");
    addr_cell.set(base.clone()).expect("set once");
    base
}

/// Runs chromium headless on a URL with extra arguments; returns stdout.
fn chromium(url: &str, args: &[String]) -> String {
    let bin = require_tool("chromium", "chromium");
    let profile = tempfile::tempdir().expect("profile dir");
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut out = String::new();
    stdout.read_to_string(&mut out).expect("chromium stdout");
    let status = child.wait().expect("wait chromium");
    let err = err.join().unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}):\n{err}");
    out
}

/// Decoded text of a DOM dump, for "what a reader sees" assertions.
fn visible(dom: &str) -> String {
    let no_tags = regex::Regex::new(r"<[^>]*>")
        .expect("re")
        .replace_all(dom, " ");
    html_escape::decode_html_entities(&no_tags).into_owned()
}

#[test]
fn status_page_api_metrics_and_token_on_a_known_store() {
    // Fail fast, with the reason, when the browser is missing.
    require_tool("chromium", "chromium");
    let sc = Scenario::start(&["--faults", "none"]);
    let env = TestEnv::new("interval = \"1s\"", &sc.feeds_toml());
    // Known content: the three scenario rounds, polled with `once`.
    let mut alerts_total = 0;
    let mut decided_total = 0;
    for round in 1..=3 {
        if round > 1 {
            sc.get(&format!("/_round/{round}"));
        }
        let out = wirewatch_ok(&["once", "--json", "-c", env.config_str()]);
        let r = json(out.trim());
        alerts_total += r["decided"]["alerts"].as_u64().expect("alerts");
        decided_total += r["decided"]["seed_duplicates"].as_u64().expect("n")
            + r["decided"]["off_topic"].as_u64().expect("n");
    }
    assert!(alerts_total >= 7, "the scenario's stories alerted");
    assert!(decided_total >= 10, "seed copies and off-topic items");

    // Then the daemon, with a hostile feed added (polled at once: it has no schedule yet).
    let hostile = hostile_server();
    let mut text = std::fs::read_to_string(&env.config).expect("config");
    text.push_str(&format!("[[feeds]]\nurl = \"{hostile}/feed.xml\"\n"));
    std::fs::write(&env.config, &text).expect("config");
    let d = Daemon::start(&env, &[]);
    let base = d.base.clone();

    // The hostile feed's item is decided by the daemon (so /metrics has samples), and every
    // scenario feed is polled again (304s) on its 1 s interval.
    let start = Instant::now();
    let metrics = loop {
        let (code, ctype, body) = http_get(&format!("{base}/metrics"), None);
        assert_eq!(code, 200, "{body}");
        assert!(ctype.contains("text"), "{ctype}");
        if body.contains("wirewatch_items_total{") && body.contains("wirewatch_feed_polls_total{") {
            break body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "metrics never showed polls and decisions:\n{body}\nlog:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        metrics.contains("wirewatch_items_total{topic=\"test-topic\",decision=\"off_topic\"}"),
        "{metrics}"
    );
    for name in [
        "wirewatch_feed_poll_errors",
        "wirewatch_fetch_duration_seconds_bucket",
        "wirewatch_outbox_depth",
        "wirewatch_stored_alerts",
    ] {
        assert!(metrics.contains(name), "{name} missing:\n{metrics}");
    }
    assert!(metrics.trim_end().ends_with("# EOF"), "{metrics}");

    // No page may be framed (its buttons act): clickjacking.
    for path in ["/", "/healthz", "/api/feedback"] {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        let headers = rt.block_on(async {
            reqwest::get(format!("{base}{path}"))
                .await
                .expect("request")
                .headers()
                .clone()
        });
        let said = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        assert_eq!(
            (said("x-frame-options"), said("content-security-policy")),
            (Some("DENY".into()), Some("frame-ancestors 'none'".into())),
            "{path}"
        );
    }

    // /healthz.
    let (code, ctype, body) = http_get(&format!("{base}/healthz"), None);
    assert_eq!(code, 200, "{body}");
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let h = json(&body);
    assert_eq!(h["status"], "ok");
    assert_eq!(h["store"], true);
    assert_eq!(h["scheduler"], true);
    // Without a token, only names of the loopback are served: a page of another site that
    // points its own name at 127.0.0.1 (DNS rebinding) is refused.
    let port = base
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    for (host, want) in [
        ("evil.example", 421),
        ("evil.example:80", 421),
        ("localhost", 200),
        (&*format!("localhost:{port}"), 200),
        (&*format!("[::1]:{port}"), 200),
    ] {
        let code = http_get_host(&format!("{base}/api/alerts"), host);
        assert_eq!(code, want, "Host: {host}");
    }

    // /api/alerts: every alert the `once` runs decided, newest first, with their fields.
    let (code, ctype, body) = http_get(&format!("{base}/api/alerts"), None);
    assert_eq!(code, 200);
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let alerts = json(&body);
    let alerts = alerts.as_array().expect("alerts array");
    assert_eq!(alerts.len() as u64, alerts_total, "{body}");
    for a in alerts {
        for k in ["url", "title", "source", "score", "story"] {
            assert!(!a[k].is_null(), "alert lacks {k}: {a}");
        }
    }
    // /api/stories: stories with their items.
    let (code, _, body) = http_get(&format!("{base}/api/stories"), None);
    assert_eq!(code, 200);
    let stories = json(&body);
    let stories = stories.as_array().expect("stories array");
    assert!(stories.len() >= 3, "{body}");
    let story_items: usize = stories
        .iter()
        .map(|s| s["items"].as_array().expect("items").len())
        .sum();
    assert!(story_items as u64 >= alerts_total, "{body}");
    for s in stories {
        assert!(s["id"].is_string() && s["title"].is_string(), "{s}");
        assert!(
            s["first_seen"].is_string() && s["last_seen"].is_string(),
            "{s}"
        );
        for i in s["items"].as_array().expect("items") {
            assert!(i["url"].is_string() && i["title"].is_string(), "{i}");
        }
        assert_eq!(
            s["items_total"].as_u64(),
            Some(s["items"].as_array().expect("items").len() as u64),
            "{s}"
        );
    }
    // Latest first, and `limit` keeps the most recently updated.
    let last: Vec<chrono::DateTime<chrono::FixedOffset>> = stories
        .iter()
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s["last_seen"].as_str().expect("last_seen"))
                .expect("an RFC 3339 time")
        })
        .collect();
    assert!(last.windows(2).all(|w| w[0] >= w[1]), "{last:?}");
    let (code, _, body) = http_get(&format!("{base}/api/stories?limit=2"), None);
    assert_eq!(code, 200);
    let two = json(&body);
    let two = two.as_array().expect("stories array");
    assert_eq!(two.len(), 2, "{body}");
    assert_eq!(two[0]["id"], stories[0]["id"]);
    assert_eq!(two[1]["id"], stories[1]["id"]);
    // /api/feeds: every configured feed, polled, the hostile one under its own title. The
    // metrics above can show the scenario feeds' polls before the hostile feed's first one
    // has finished (a busy machine): wait for every feed's first success.
    let start = Instant::now();
    let (body, feeds) = loop {
        let (code, _, body) = http_get(&format!("{base}/api/feeds"), None);
        assert_eq!(code, 200);
        let feeds = json(&body);
        let all_polled = feeds
            .as_array()
            .is_some_and(|a| a.iter().all(|f| f["last_success"].is_string()));
        if all_polled || start.elapsed() > Duration::from_secs(60) {
            break (body, feeds);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let feeds = feeds.as_array().expect("feeds array");
    assert_eq!(feeds.len(), sc.feeds().len() + 1, "{body}");
    for f in feeds {
        assert!(f["last_success"].is_string(), "feed never succeeded: {f}");
        assert!(f["polls"].as_u64().expect("polls") >= 1, "{f}");
        assert!(f["next_poll"].is_string(), "{f}");
        // Feed health: entries per day, and where their texts came from.
        assert!(f["entries_per_day"].is_number(), "{f}");
        for k in ["page", "feed", "none"] {
            assert!(f["texts"][k].is_u64(), "{f}");
        }
    }
    // The scenario's feeds link to pages: most texts come from them.
    let from_page: u64 = feeds
        .iter()
        .map(|f| f["texts"]["page"].as_u64().unwrap_or(0))
        .sum();
    assert!(from_page > 0, "{body}");
    assert!(
        feeds
            .iter()
            .any(|f| f["page_text_share"].as_f64().is_some_and(|s| s > 0.5)),
        "{body}"
    );
    assert!(
        feeds.iter().any(|f| f["name"] == HOSTILE),
        "hostile feed named by its title: {body}"
    );

    // The page in a real browser: the DOM it built, and a phone-sized screenshot.
    let dom = chromium(&format!("{base}/"), &["--dump-dom".to_string()]);
    let shown = visible(&dom);
    assert!(shown.contains("wirewatch"), "{dom}");
    for s in stories {
        let t = s["title"].as_str().expect("title");
        assert!(shown.contains(t), "story {t:?} not shown:\n{shown}");
    }
    for a in alerts.iter().take(30) {
        let t = a["title"].as_str().expect("title");
        assert!(shown.contains(t), "alert {t:?} not shown:\n{shown}");
    }
    for f in feeds {
        let n = f["name"].as_str().expect("name");
        assert!(shown.contains(n), "feed {n:?} not shown:\n{shown}");
    }
    assert_eq!(
        dom.matches("class=\"story\"").count(),
        stories.len(),
        "one box per story"
    );
    // The hostile title is text: escaped in the DOM, no script element, never executed.
    assert!(
        dom.contains("&lt;script&gt;document.body.setAttribute"),
        "hostile title not shown as text:\n{dom}"
    );
    assert!(
        !dom.to_lowercase().contains("<script"),
        "a script element:\n{dom}"
    );
    assert!(!dom.contains("data-pwned=\"1\""), "the script ran:\n{dom}");

    let artifacts = target_dir().join("artifacts");
    std::fs::create_dir_all(&artifacts).expect("artifacts dir");
    let shot = artifacts.join("status-page.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &format!("{base}/"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=390,844".to_string(),
        ],
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // PNG IHDR: width and height at bytes 16..24.
    let w = u32::from_be_bytes(png[16..20].try_into().expect("w"));
    assert_eq!(w, 390, "phone-width screenshot");
    eprintln!("status page screenshot: {}", shot.display());
    let log = d.stop();
    assert!(log.contains("stopped"), "{log}");

    // With a bearer token configured (read from the environment), every route wants it.
    let text = text.replace(
        "[http]\n",
        "[http]\ntoken_env = \"WIREWATCH_TEST_HTTP_TOKEN\"\n",
    );
    std::fs::write(&env.config, &text).expect("config");
    let d = Daemon::start(&env, &[("WIREWATCH_TEST_HTTP_TOKEN", "s3cret-t0ken")]);
    for path in ["/", "/healthz", "/metrics", "/api/alerts", "/api/feeds"] {
        let url = format!("{}{path}", d.base);
        let (code, _, _) = http_get(&url, None);
        assert_eq!(code, 401, "{path} without token");
        let (code, _, _) = http_get(&url, Some("wrong"));
        assert_eq!(code, 401, "{path} with a wrong token");
        let (code, _, body) = http_get(&url, Some("s3cret-t0ken"));
        assert!(
            code == 200 || (path == "/healthz" && code == 503),
            "{path} with the token: {code} {body}"
        );
    }
    d.stop();
}
