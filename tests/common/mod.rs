//! Shared test harness: real servers on loopback, the real binary, real sled stores.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

pub mod data;
pub mod world;
pub use data::*;

/// A scratch PostgreSQL schema (`wirewatch::store::postgres::scratch`), dropped at the end
/// of the test.
pub struct PgSchema(pub String);

impl PgSchema {
    /// A fresh schema's name, to be created by the store that opens it.
    pub fn new() -> PgSchema {
        PgSchema(wirewatch::store::postgres::scratch::schema_name())
    }

    /// The `[store]` table of a config on this schema.
    pub fn store_toml(&self) -> String {
        format!(
            "[store]\nurl = \"{}\"\nschema = \"{}\"\n",
            wirewatch::store::postgres::scratch::url(),
            self.0
        )
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                &wirewatch::store::postgres::scratch::url(),
                "-qc",
                &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0),
            ])
            .stderr(Stdio::null())
            .status();
    }
}

/// Runs the real binary with arguments, returning its output.
pub fn wirewatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wirewatch"))
        .args(args)
        .env_remove("STATE_DIRECTORY")
        .env_remove("WIREWATCH_CONFIG")
        .output()
        .expect("run wirewatch")
}

/// Like [`wirewatch`] but asserts success and returns stdout.
pub fn wirewatch_ok(args: &[&str]) -> String {
    let out = wirewatch(args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "wirewatch {args:?} failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    stdout
}

/// A temp dir with a config file in it. `feeds` is TOML for the `[[feeds]]` tables; `extra`
/// is appended to `[fetch]`.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl TestEnv {
    pub fn new(fetch_extra: &str, rest: &str) -> TestEnv {
        // WIREWATCH_TEST_KEEP=1 keeps the directory (state, logs) for a look after a failure.
        let keep = std::env::var_os("WIREWATCH_TEST_KEEP").is_some();
        let dir = tempfile::Builder::new()
            .disable_cleanup(keep)
            .tempdir()
            .expect("tempdir");
        if keep {
            eprintln!("test directory kept: {}", dir.path().display());
        }
        let config = dir.path().join("wirewatch.toml");
        let text = format!(
            r#"state_dir = "{state}"
[topic]
name = "test topic"
seeds = "{seeds}"
[http]
listen = "127.0.0.1:0"
[fetch]
timeout = "3s"
allow_private_networks = true
per_host_interval = "0s"
{fetch_extra}
{rest}
"#,
            state = dir.path().join("state").display(),
            seeds = seeds_dir().display(),
        );
        std::fs::write(&config, text).expect("write config");
        TestEnv { dir, config }
    }

    pub fn config_str(&self) -> &str {
        self.config.to_str().expect("utf-8 path")
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("state").join("db")
    }

    /// Opens the store the binary wrote (after it exited).
    pub fn store(&self) -> wirewatch::Store {
        wirewatch::Store::open(&self.db_path()).expect("open store")
    }
}

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub accept_encoding: Option<String>,
    pub user_agent: Option<String>,
}

/// The scenario server (`tests/data/scenario/serve.py`), started on a free port.
pub struct Scenario {
    child: Child,
    pub base: String,
    /// The server's request log, one line per request.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Scenario {
    pub fn start(extra: &[&str]) -> Scenario {
        let dir = scenario_dir();
        let mut child = Command::new("python3")
            .arg(dir.join("serve.py"))
            .args([
                "--data",
                dir.join("dev").to_str().expect("path"),
                "--port",
                "0",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start serve.py (python3 needed)");
        let stderr = child.stderr.take().expect("stderr");
        let mut reader = BufReader::new(stderr);
        let mut line = String::new();
        reader.read_line(&mut line).expect("serve.py banner");
        let start = line.find("http://").expect("banner has URL");
        let base = line[start..]
            .split_whitespace()
            .next()
            .expect("url")
            .trim_end_matches('/')
            .to_string();
        // Keep draining the request log so the pipe never fills, and keep it.
        let log: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
        let kept = log.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                kept.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(std::mem::take(&mut line));
            }
        });
        Scenario { child, base, log }
    }

    /// The paths (with queries) of the GET requests served so far, in order.
    pub fn requested(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter_map(|l| l.split("\"GET ").nth(1))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(|p| p.trim_end_matches('"').to_string())
            .collect()
    }

    pub fn get(&self, path: &str) -> String {
        http_text(&format!("{}{}", self.base, path))
    }

    /// The feed URLs the scenario serves, as (outlet, url).
    pub fn feeds(&self) -> Vec<(String, String)> {
        let v: serde_json::Value = serde_json::from_str(&self.get("/_feeds")).expect("feeds json");
        v["feeds"]
            .as_array()
            .expect("feeds array")
            .iter()
            .map(|f| {
                (
                    f["outlet"].as_str().expect("outlet").to_string(),
                    f["url"].as_str().expect("url").to_string(),
                )
            })
            .collect()
    }

    /// TOML `[[feeds]]` tables for every scenario feed.
    pub fn feeds_toml(&self) -> String {
        self.feeds()
            .iter()
            .map(|(name, url)| format!("[[feeds]]\nname = \"{name}\"\nurl = \"{url}\"\n"))
            .collect()
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Request log shared with a test server.
pub type Log = Arc<Mutex<Vec<Seen>>>;

/// Starts an axum router on a free loopback port in a background runtime thread.
pub fn serve(router: axum::Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    serve_listener(listener, router)
}

/// Serves `router` on an already bound listener, on its own thread and runtime; returns the
/// listener's address.
pub fn serve_listener(listener: std::net::TcpListener, router: axum::Router) -> SocketAddr {
    let addr = listener.local_addr().expect("addr");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("rt");
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(l, router).await.expect("serve");
        });
    });
    addr
}

/// A small valid RSS 2.0 document with `n` items whose ids start at `first`.
pub fn rss(title: &str, first: usize, n: usize) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>{title}</title><link>http://example.org/</link><description>d</description>\n"
    );
    for i in first..first + n {
        s.push_str(&format!(
            "<item><title>Item {i}</title><link>http://example.org/a/{i}</link><guid>urn:test:{i}</guid><pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate><description>Text {i}</description></item>\n"
        ));
    }
    s.push_str("</channel></rss>\n");
    s
}

/// A real SMTP server (aiosmtpd, `tests/notify/smtp_server.py`) on a free loopback port; each
/// accepted message lands in `out` as `msg-N.eml`. Stops when dropped.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub out: PathBuf,
}

impl SmtpServer {
    pub fn start(out: &Path) -> SmtpServer {
        Self::start_on(out, 0)
    }

    /// Like [`SmtpServer::start`] on a given port (0: a free one).
    pub fn start_on(out: &Path, port: u16) -> SmtpServer {
        Self::start_with(out, port, &[])
    }

    /// Like [`SmtpServer::start_on`] with more arguments for `smtp_server.py` (see its doc).
    pub fn start_with(out: &Path, port: u16, args: &[&str]) -> SmtpServer {
        std::fs::create_dir_all(out).expect("smtp out dir");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/notify/smtp_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--out")
            .arg(out)
            .arg("--port")
            .arg(port.to_string())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start smtp_server.py (python3 with aiosmtpd needed: pip install aiosmtpd)");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("PORT line");
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("smtp_server.py said {line:?} (is aiosmtpd installed?)"));
        SmtpServer {
            child,
            port,
            out: out.to_path_buf(),
        }
    }

    /// The raw messages received so far.
    pub fn messages(&self) -> Vec<String> {
        let mut v: Vec<_> = std::fs::read_dir(&self.out)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v.iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Scores an alerts file with the scenario's `score.py` against the dev labels; returns its
/// numeric `name: value` lines.
pub fn score_alerts(alerts: &Path) -> std::collections::HashMap<String, f64> {
    scenario_score(alerts, &[])
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter_map(|(k, v)| {
            let n = v.split_whitespace().next()?.parse().ok()?;
            Some((k.trim().to_string(), n))
        })
        .collect()
}

/// What the scenario's `score.py` prints for an alerts file, with `extra` arguments
/// (`--verbose` lists the missed and wrong items).
pub fn scenario_score(alerts: &Path, extra: &[&str]) -> String {
    let dir = scenario_dir();
    let out = Command::new("python3")
        .arg(dir.join("score.py"))
        .args(extra)
        .arg("--labels")
        .arg(dir.join("dev/labels.json"))
        .arg("--alerts")
        .arg(alerts)
        .output()
        .expect("run score.py");
    assert!(out.status.success(), "score.py failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text without terminal colour codes (ESC [ ... final letter), as logs print them.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The `X-Wirewatch-Delivery` id of a webhook request ("" when absent).
pub fn delivery_id(headers: &axum::http::HeaderMap) -> String {
    headers
        .get("x-wirewatch-delivery")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Starts `wirewatch run` on a config, logging at info level to `log`.
pub fn start_daemon(config: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wirewatch"))
        .arg("run")
        .arg("-c")
        .arg(config)
        .env_remove("STATE_DIRECTORY")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        .spawn()
        .expect("start daemon")
}

/// Starts `wirewatch run` on a test config, appending its info-level log to `log` (a test
/// that starts daemon after daemon on one config keeps every life's log in one file).
pub fn spawn_daemon(env: &TestEnv, log: &Path) -> Child {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    Command::new(env!("CARGO_BIN_EXE_wirewatch"))
        .args(["run", "-c", env.config_str()])
        .env_remove("STATE_DIRECTORY")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("start daemon")
}

/// Sends a daemon SIGHUP (reload its config).
pub fn hup(child: &Child) {
    let status = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(status.success(), "kill -HUP");
}

/// Stops a daemon with SIGTERM; it must exit successfully.
pub fn stop_daemon(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let st = child.wait().expect("wait");
    assert!(st.success(), "daemon exit {st}");
}

/// Waits (up to `secs`) until `needle` appears `n` times in the file `log`; returns its text.
pub fn wait_for_log(log: &Path, needle: &str, n: usize, secs: u64) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.matches(needle).count() >= n {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {n}x {needle:?} in:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// What the receiver got: delivery id → receipt instants.
pub type Received = Arc<Mutex<std::collections::BTreeMap<String, Vec<std::time::Instant>>>>;

/// A webhook receiver that records every `X-Wirewatch-Delivery` id and answers 200.
pub fn recording_receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let g = g.clone();
            async move {
                let id = delivery_id(&headers);
                let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                assert_eq!(
                    v["id"].as_str(),
                    Some(id.as_str()),
                    "payload id = header id"
                );
                g.lock()
                    .expect("lock")
                    .entry(id)
                    .or_default()
                    .push(std::time::Instant::now());
                "ok"
            }
        }),
    );
    let addr = serve(app);
    (format!("http://{addr}/hook"), got)
}

/// The body of one GET (a test's own request, from synchronous test code).
pub fn http_text(url: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        reqwest::get(url)
            .await
            .expect("request")
            .text()
            .await
            .expect("body")
    })
}
