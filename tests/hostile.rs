//! Hostile input through the real binary: feeds and pages that are huge, endless, gzip bombs,
//! billion-laughs entity expansion, external entities (XXE), invalid UTF-8, deeply nested
//! markup, and a 100,000-entry feed. Each run must finish (a deadline kills it otherwise and
//! fails the test), exit 0, log a clear reason for what it refused, keep its memory bounded
//! (peak RSS read from /proc, a generous sanity bound) and never panic.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use common::*;

const RSS_CT: &str = "application/rss+xml; charset=utf-8";
const HTML_CT: &str = "text/html; charset=utf-8";
/// The XXE target's content: must never show up anywhere.
const SECRET: &str = "XXE-SECRET-7f3a9c1e";

fn resp(status: u16, ctype: &str, enc: Option<&str>, body: impl Into<Body>) -> Response {
    let mut b = Response::builder()
        .status(StatusCode::from_u16(status).expect("status"))
        .header("content-type", ctype);
    if let Some(e) = enc {
        b = b.header("content-encoding", e);
    }
    b.body(body.into()).expect("response")
}

/// Big bodies, built once before any run (building them per request in a debug build takes
/// longer than the fetch timeout, which would test the timeout instead of the cap).
struct Bodies {
    bomb_xml: Vec<u8>,
    bomb_html: Vec<u8>,
    huge_html: String,
    big_feed: String,
}

static BODIES: std::sync::OnceLock<Bodies> = std::sync::OnceLock::new();

/// Entries of the big feed: 100,000 with `WIREWATCH_HOSTILE_BIG=1` (about five minutes in a
/// debug build), 10,000 in the default run.
fn big_entries() -> usize {
    if std::env::var_os("WIREWATCH_HOSTILE_BIG").is_some() {
        100_000
    } else {
        10_000
    }
}

fn bodies() -> &'static Bodies {
    BODIES.get_or_init(|| {
        let mut items = String::with_capacity(big_entries() * 120);
        for i in 0..big_entries() {
            items.push_str(&format!(
                "<item><title>Entry {i}</title><link>http://example.org/e/{i}</link><description>x {i}</description></item>\n"
            ));
        }
        Bodies {
            // 64 MiB inflated each.
            bomb_xml: gzip(&[b' '; 1 << 20], 64),
            bomb_html: gzip(&[b'a'; 1 << 20], 64),
            huge_html: format!("<html><body><p>{}</p></body></html>", "word ".repeat(4_000_000)),
            big_feed: channel(&items),
        }
    })
}

static CHUNK: [u8; 1 << 16] = [b' '; 1 << 16];

/// A body that never ends: `chunk` every `every`, forever.
fn endless(chunk: &'static [u8], every: Duration) -> Body {
    let s = futures_util::stream::unfold((), move |()| async move {
        tokio::time::sleep(every).await;
        Some((Ok::<_, std::io::Error>(Bytes::from_static(chunk)), ()))
    });
    Body::from_stream(s)
}

fn gzip(data: &[u8], times: usize) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..times {
        enc.write_all(data).expect("gzip");
    }
    enc.finish().expect("gzip")
}

fn item(base: &str, i: usize, title: &str, link: &str) -> String {
    format!(
        "<item><title>{title}</title><link>{base}{link}</link><guid>urn:h:{i}</guid>\
         <description>Feed text of item {i} about nothing in particular.</description></item>\n"
    )
}

fn channel(items: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>h</title>\
         <link>http://example.org/</link><description>d</description>\n{items}</channel></rss>\n"
    )
}

async fn handler(uri: Uri, secret_path: String) -> Response {
    let base = String::new();
    match uri.path() {
        // ---- feeds
        "/endless.xml" => resp(200, RSS_CT, None, endless(&CHUNK, Duration::ZERO)),
        "/trickle.xml" => resp(200, RSS_CT, None, endless(b"<", Duration::from_millis(200))),
        "/bomb.xml" => resp(200, RSS_CT, Some("gzip"), bodies().bomb_xml.clone()),
        "/laughs.xml" => {
            let mut s =
                String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY lol \"lol\">\n");
            s.push_str("<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n");
            for i in 2..=9 {
                let p = format!("&lol{};", i - 1);
                s.push_str(&format!("<!ENTITY lol{i} \"{}\">\n", p.repeat(10)));
            }
            s.push_str("]>\n<rss version=\"2.0\"><channel><title>laughs</title><link>http://example.org/</link><description>d</description>\n");
            s.push_str(&item(&base, 1, "Laugh &lol9;", "http://example.org/laugh"));
            s.push_str("</channel></rss>\n");
            resp(200, RSS_CT, None, s)
        }
        "/xxe.xml" => {
            let s = format!(
                "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM \"file://{secret_path}\">]>\n\
                 <rss version=\"2.0\"><channel><title>xxe</title><link>http://example.org/</link><description>d</description>\n\
                 <item><title>Leak &xxe;</title><link>http://example.org/xxe</link><guid>urn:xxe</guid><description>Body &xxe; end</description></item>\n\
                 </channel></rss>\n"
            );
            resp(200, RSS_CT, None, s)
        }
        "/badutf8.xml" => {
            let mut b =
                channel(&item(&base, 1, "Bad TITLE", "http://example.org/bad")).into_bytes();
            // Invalid UTF-8 in the middle of the title, the body declared utf-8.
            let at = b.windows(3).position(|w| w == b"TIT").expect("marker");
            b.splice(at..at, [0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82]);
            resp(200, RSS_CT, None, b)
        }
        "/deep.xml" => {
            let depth = 100_000;
            let s = channel(&format!(
                "{}{}{}",
                "<x>".repeat(depth),
                "deep",
                "</x>".repeat(depth)
            ));
            resp(200, RSS_CT, None, s)
        }
        "/deep-html.xml" => {
            let html = format!("{}text{}", "<div>".repeat(50_000), "</div>".repeat(50_000));
            let s = channel(&format!(
                "<item><title>Deep</title><link>http://example.org/deep</link><guid>urn:deep</guid>\
                 <description><![CDATA[{html}]]></description></item>"
            ));
            resp(200, RSS_CT, None, s)
        }
        "/100k.xml" => resp(200, RSS_CT, None, bodies().big_feed.clone()),
        // ---- pages
        "/endless.html" => resp(200, HTML_CT, None, endless(&CHUNK, Duration::ZERO)),
        "/trickle.html" => resp(
            200,
            HTML_CT,
            None,
            endless(b"<", Duration::from_millis(200)),
        ),
        "/bomb.html" => resp(200, HTML_CT, Some("gzip"), bodies().bomb_html.clone()),
        "/huge.html" => resp(200, HTML_CT, None, bodies().huge_html.clone()),
        "/deep.html" => resp(
            200,
            HTML_CT,
            None,
            format!(
                "<html><body>{}<p>deep text</p>{}</body></html>",
                "<div>".repeat(100_000),
                "</div>".repeat(100_000)
            ),
        ),
        "/badutf8.html" => {
            let mut b = b"<html><head><meta charset=\"utf-8\"><title>bad</title></head><body><article><p>Some text "
                .to_vec();
            b.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82, 0x80, 0xf0, 0x9f]);
            b.extend_from_slice(
                b" and more text after the broken bytes.</p></article></body></html>",
            );
            resp(200, HTML_CT, None, b)
        }
        "/xxe.html" => {
            let s = format!(
                "<?xml version=\"1.0\"?><!DOCTYPE html [<!ENTITY xxe SYSTEM \"file://{secret_path}\">]>\
                 <html><body><article><p>Page &xxe; text long enough to be an article body.</p></article></body></html>"
            );
            resp(200, HTML_CT, None, s)
        }
        _ => resp(404, "text/plain", None, "not found"),
    }
}

/// The feed of hostile pages: one entry per page, each with feed text to fall back on.
fn pages_feed(base: &str) -> String {
    let pages = [
        "/endless.html",
        "/trickle.html",
        "/bomb.html",
        "/huge.html",
        "/deep.html",
        "/badutf8.html",
        "/xxe.html",
    ];
    let items: String = pages
        .iter()
        .enumerate()
        .map(|(i, p)| item(base, i, &format!("Page {p}"), p))
        .collect();
    channel(&items)
}

fn start(secret_path: String) -> String {
    bodies();
    let sp = secret_path.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| handler(uri, sp.clone()));
    let addr = serve(app);
    let base = format!("http://{addr}");
    // The pages feed needs the server's own address in its links.
    let feed = pages_feed(&base);
    let app2 = axum::Router::new().route(
        "/pages.xml",
        axum::routing::get(move || {
            let f = feed.clone();
            async move { resp(200, RSS_CT, None, f) }
        }),
    );
    let addr2 = serve(app2);
    format!("{base} http://{addr2}")
}

struct Run {
    ok: bool,
    stdout: String,
    log: String,
    peak_rss_kb: u64,
    took: Duration,
}

/// Runs `wirewatch once --json` with a deadline, sampling its peak RSS (VmHWM).
fn once_with_deadline(env: &TestEnv, deadline: Duration) -> Run {
    let out = env.dir.path().join("out.json");
    let log = env.dir.path().join("once.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirewatch"))
        .args(["once", "--json", "-c", env.config_str()])
        .env_remove("STATE_DIRECTORY")
        .env("RUST_LOG", "info")
        .stdout(std::fs::File::create(&out).expect("out"))
        .stderr(std::fs::File::create(&log).expect("log"))
        .stdin(Stdio::null())
        .spawn()
        .expect("start once");
    let status_path = format!("/proc/{}/status", child.id());
    let start = Instant::now();
    let mut peak = 0u64;
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            if let Some(kb) = s
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak = peak.max(kb);
            }
        }
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "wirewatch once did not finish within {deadline:?}; log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        ok: status.success(),
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        log: std::fs::read_to_string(&log).unwrap_or_default(),
        peak_rss_kb: peak,
        took: start.elapsed(),
    }
}

fn feed_report<'a>(r: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    r["feeds"]
        .as_array()
        .and_then(|f| {
            f.iter()
                .find(|x| x["name"].as_str().is_some_and(|n| n.ends_with(path)))
        })
        .unwrap_or_else(|| panic!("no feed {path} in {r}"))
}

fn secret_file(env: &TestEnv) -> String {
    let p = env.dir.path().join("secret.txt");
    std::fs::write(&p, SECRET).expect("secret");
    p.to_str().expect("path").to_string()
}

/// Everything the run left behind: its output, its log, the store's files.
fn assert_secret_nowhere(env: &TestEnv, run: &Run) {
    assert!(!run.stdout.contains(SECRET), "secret in output");
    assert!(!run.log.contains(SECRET), "secret in log");
    let alerts = wirewatch_ok(&["alerts", "--json", "-c", env.config_str()]);
    assert!(!alerts.contains(SECRET), "secret in alerts");
    for e in env.store().entries().expect("entries") {
        let dump = format!("{e:?}");
        assert!(!dump.contains(SECRET), "secret in a stored entry: {dump}");
    }
}

#[test]
fn hostile_feeds_are_refused_or_parsed_safely() {
    let env0 = TestEnv::new("", "");
    let secret = secret_file(&env0);
    let bases = start(secret.clone());
    let base = bases.split(' ').next().expect("base").to_string();
    let paths = [
        "/endless.xml",
        "/trickle.xml",
        "/bomb.xml",
        "/laughs.xml",
        "/xxe.xml",
        "/badutf8.xml",
        "/deep.xml",
        "/deep-html.xml",
    ];
    let feeds: String = paths
        .iter()
        .map(|p| format!("[[feeds]]\nname = \"{p}\"\nurl = \"{base}{p}\"\nfull_text = false\n"))
        .collect();
    let env = TestEnv::new("max_body = \"1MiB\"", &feeds);
    let run = once_with_deadline(&env, Duration::from_secs(120));
    assert!(run.ok, "once failed; log:\n{}", run.log);
    assert!(!run.log.contains("panicked"), "{}", run.log);
    let r: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("json");
    let mut outcomes = Vec::new();
    for p in paths {
        let f = feed_report(&r, p);
        outcomes.push(format!(
            "{p}: error={} new={}",
            f["error"].as_str().unwrap_or("-"),
            f["entries_new"]
        ));
    }
    eprintln!(
        "hostile feeds ({:?}, peak RSS {} MiB):\n  {}",
        run.took,
        run.peak_rss_kb / 1024,
        outcomes.join("\n  ")
    );
    let err = |p: &str| {
        feed_report(&r, p)["error"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert!(
        err("/endless.xml").contains("larger than"),
        "{}",
        err("/endless.xml")
    );
    assert!(
        err("/trickle.xml").contains("timed out"),
        "{}",
        err("/trickle.xml")
    );
    assert!(
        err("/bomb.xml").contains("larger than"),
        "{}",
        err("/bomb.xml")
    );
    // Invalid UTF-8 is replaced, the entry kept.
    assert_eq!(feed_report(&r, "/badutf8.xml")["entries_new"], 1, "{r}");
    // Deep XML: a clear refusal or a parse, either way recorded and bounded.
    let deep = feed_report(&r, "/deep.xml");
    assert!(
        deep["error"].is_string() || deep["entries_seen"].as_u64().is_some(),
        "{deep}"
    );
    assert_eq!(feed_report(&r, "/deep-html.xml")["entries_new"], 1, "{r}");
    // Billion laughs: never expanded. Either refused or the entity left unexpanded.
    for e in env.store().entries().expect("entries") {
        if let Some(t) = &e.entry.title {
            assert!(t.len() < 10_000, "entity expanded: {} bytes", t.len());
        }
    }
    assert_secret_nowhere(&env, &run);
    // Bounded memory: a 256 MiB gzip bomb and endless bodies cost no more than a sanity bound.
    assert!(
        run.peak_rss_kb < 512 * 1024,
        "peak RSS {} KiB",
        run.peak_rss_kb
    );
}

#[test]
fn hostile_pages_fall_back_to_feed_text_with_a_reason() {
    let env0 = TestEnv::new("", "");
    let secret = secret_file(&env0);
    let bases = start(secret);
    let pages = bases.split(' ').nth(1).expect("pages base").to_string();
    let env = TestEnv::new(
        "max_body = \"2MiB\"",
        &format!("[[feeds]]\nname = \"pages\"\nurl = \"{pages}/pages.xml\"\n"),
    );
    let run = once_with_deadline(&env, Duration::from_secs(180));
    assert!(run.ok, "once failed; log:\n{}", run.log);
    assert!(!run.log.contains("panicked"), "{}", run.log);
    let r: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("json");
    eprintln!(
        "hostile pages ({:?}, peak RSS {} MiB): {}",
        run.took,
        run.peak_rss_kb / 1024,
        r["decided"]
    );
    let reasons: Vec<&str> = run
        .log
        .lines()
        .filter(|l| l.contains("falling back") || l.contains("deferred"))
        .collect();
    eprintln!("  {}", reasons.join("\n  "));
    // Every hostile page got a logged reason; the oversize ones name the cap.
    let n_large = reasons.iter().filter(|l| l.contains("larger than")).count();
    assert!(
        n_large >= 3,
        "endless, bomb and huge pages hit the cap: {reasons:?}"
    );
    assert!(
        reasons.iter().any(|l| l.contains("timed out")),
        "the trickling page timed out: {reasons:?}"
    );
    // Each entry was stored and decided (the retryable failures may be deferred once).
    let stats = env.store().stats().expect("stats");
    assert_eq!(stats.entries, 7, "{stats:?}");
    assert_secret_nowhere(&env, &run);
    assert!(
        run.peak_rss_kb < 512 * 1024,
        "peak RSS {} KiB",
        run.peak_rss_kb
    );
}

#[test]
fn a_big_feed_is_processed_in_bounded_time() {
    let bases = start(String::new());
    let base = bases.split(' ').next().expect("base").to_string();
    let env = TestEnv::new(
        "max_body = \"32MiB\"",
        &format!("[[feeds]]\nname = \"big\"\nurl = \"{base}/100k.xml\"\nfull_text = false\n"),
    );
    let run = once_with_deadline(&env, Duration::from_secs(600));
    assert!(run.ok, "once failed; log:\n{}", run.log);
    let r: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("json");
    let f = feed_report(&r, "big");
    eprintln!(
        "{}-entry feed: {:?}, peak RSS {} MiB, report {f}",
        big_entries(),
        run.took,
        run.peak_rss_kb / 1024
    );
    assert!(f["error"].is_null(), "{f}");
    assert_eq!(f["entries_seen"], big_entries(), "{f}");
    assert!(
        run.peak_rss_kb < 1024 * 1024,
        "peak RSS {} KiB",
        run.peak_rss_kb
    );
}
