//! Output safety end to end: a feed whose titles carry `<script>` and chat mass mentions is
//! polled by the real daemon; the status page and the HTML digest show the markup as text,
//! Slack and Discord receivers get neutralised mentions, and the webhook secret and SMTP
//! password never appear in the logs (at debug level) or in `wirewatch check`.

mod common;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::Uri;
use common::*;

const WEBHOOK_SECRET: &str = "whsec-b7c1e0d5-never-print-me";
const SMTP_PASSWORD: &str = "smtp-pw-4a9f2c-never-print-me";
const SCRIPT: &str = "<script>alert(1)</script>";

#[test]
fn markup_and_mentions_are_neutralised_and_secrets_stay_secret() {
    let sc = Scenario::start(&["--faults", "none"]);
    // Three relevant articles of round 1, listed by a feed with hostile titles.
    let labels: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(scenario_dir().join("dev/labels.json")).expect("labels"),
    )
    .expect("labels json");
    let items: Vec<(String, String)> = labels["items"]
        .as_object()
        .expect("items")
        .iter()
        .filter(|(_, v)| v["kind"] == "new" && v["round"] == 1)
        .map(|(k, v)| (k.clone(), v["title"].as_str().expect("title").to_string()))
        .collect();
    assert!(!items.is_empty());
    let mut rss_items = String::new();
    for (i, (path, title)) in items.iter().enumerate() {
        let hostile = format!("{SCRIPT} @everyone <!channel> @here {title}");
        // Item 0: markup escaped once in the XML (the title is HTML `<script>...`, which the
        // pipeline strips as markup); the others: escaped twice, so the title's *text* is
        // `<script>alert(1)</script>`, which every output must show as text.
        let once = hostile
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let esc = if i == 0 {
            once
        } else {
            once.replace('&', "&amp;")
        };
        rss_items.push_str(&format!(
            "<item><title>{esc}</title><link>{}{path}</link><guid>urn:o:{i}</guid>\
             <pubDate>{}</pubDate></item>\n",
            sc.base,
            httpdate::fmt_http_date(std::time::SystemTime::now())
        ));
    }
    let feed = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{}</title><link>http://example.org/</link>\
         <description>d</description>{rss_items}</channel></rss>",
        "&lt;img src=x onerror=alert(2)&gt; outlet"
    );
    let bodies: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let b = bodies.clone();
    let app = axum::Router::new()
        .route(
            "/feed.xml",
            axum::routing::get(move || {
                let f = feed.clone();
                async move { ([("content-type", "application/rss+xml")], f) }
            }),
        )
        .fallback(move |uri: Uri, body: String| {
            let b = b.clone();
            async move {
                b.lock().expect("lock").push((uri.path().to_string(), body));
                "ok"
            }
        });
    let addr = serve(app);
    // SMTP points at a closed port: only the password's handling matters here.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let env = TestEnv::new(
        "interval = \"1h\"",
        &format!(
            "[[feeds]]\nname = \"hostile\"\nurl = \"http://{addr}/feed.xml\"\n\
             [[webhooks]]\nurl = \"http://{addr}/slack\"\nformat = \"slack\"\n\
             [[webhooks]]\nurl = \"http://{addr}/discord\"\nformat = \"discord\"\n\
             [[webhooks]]\nurl = \"http://{addr}/json\"\nformat = \"json\"\nsecret_env = \"WW_TEST_WEBHOOK_SECRET\"\n\
             [digest]\nat = \"23:59\"\ntimezone = \"UTC\"\nto = [\"a@example.org\"]\nfrom = \"w@example.org\"\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {closed}\nsecurity = \"none\"\nusername = \"u\"\npassword_env = \"WW_TEST_SMTP_PW\"\n"
        ),
    );
    let with_secrets = |c: &mut Command| {
        c.env("WW_TEST_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("WW_TEST_SMTP_PW", SMTP_PASSWORD)
            .env_remove("STATE_DIRECTORY");
    };

    // check: the secrets' sources are named, their values never printed.
    let mut c = Command::new(env!("CARGO_BIN_EXE_wirewatch"));
    c.args(["check", "-c", env.config_str()]);
    with_secrets(&mut c);
    let out = c.output().expect("check");
    let check = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "check failed: {check}");
    assert!(
        !check.contains(WEBHOOK_SECRET) && !check.contains(SMTP_PASSWORD),
        "{check}"
    );

    // The daemon, logging at debug level.
    let log = env.dir.path().join("daemon.log");
    let mut c = Command::new(env!("CARGO_BIN_EXE_wirewatch"));
    c.args(["run", "-c", env.config_str()])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"));
    with_secrets(&mut c);
    let mut child = c.spawn().expect("daemon");
    let start = Instant::now();
    let status_url = loop {
        let text = strip_ansi(&std::fs::read_to_string(&log).unwrap_or_default());
        let delivered = bodies.lock().expect("lock").len();
        let url = text
            .lines()
            .find(|l| l.contains("status page url="))
            .and_then(|l| l.split("url=").nth(1))
            .map(|u| u.split_whitespace().next().unwrap_or("").to_string());
        if let (Some(u), true) = (url, delivered >= 3 * items.len()) {
            break u;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no status page or deliveries ({delivered}); log:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let page = http_text(&status_url);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().expect("wait").success());

    // The stored titles: at least one carries `<script>` as text (else nothing below tests
    // escaping).
    let alerts = wirewatch_ok(&["alerts", "--json", "-c", env.config_str()]);
    assert!(alerts.contains("<script>alert(1)</script>"), "{alerts}");
    // Status page: the title shows as text.
    assert!(!page.contains(SCRIPT), "raw <script> on the status page");
    assert!(!page.contains("<img src=x"), "raw <img> on the status page");
    assert!(
        page.contains("&lt;script&gt;"),
        "escaped title shown:\n{page}"
    );

    // Digest preview: same.
    let html = env.dir.path().join("digest.html");
    let mut c = Command::new(env!("CARGO_BIN_EXE_wirewatch"));
    c.args(["digest", "-c", env.config_str(), "--preview"])
        .arg(&html);
    with_secrets(&mut c);
    let out = c.output().expect("digest");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let digest = std::fs::read_to_string(&html).expect("digest html");
    assert!(!digest.contains(SCRIPT), "raw <script> in the digest");
    assert!(
        digest.contains("&lt;script&gt;"),
        "escaped title in the digest:\n{digest}"
    );

    // Chat payloads: no live mass mention.
    let got = bodies.lock().expect("lock").clone();
    for (path, body) in &got {
        let v: serde_json::Value = serde_json::from_str(body).expect("json payload");
        // Every string in the payload, decoded.
        let mut strings = Vec::new();
        collect_strings(&v, &mut strings);
        let all = strings.join("\n");
        match path.as_str() {
            "/slack" => {
                assert!(!all.contains("<!channel>"), "slack: {all}");
                assert!(
                    !all.contains("@everyone") && !all.contains("@here"),
                    "slack: {all}"
                );
                assert!(!all.contains("<script>"), "slack: {all}");
            }
            "/discord" => {
                assert!(
                    !all.contains("@everyone") && !all.contains("@here"),
                    "discord: {all}"
                );
                assert_eq!(v["allowed_mentions"]["parse"], serde_json::json!([]), "{v}");
            }
            "/json" => {
                // The JSON format carries the raw title (consumers escape); it is signed.
                assert!(all.contains("@everyone"), "json keeps data as is");
            }
            other => panic!("unexpected request to {other}"),
        }
    }
    let logs = std::fs::read_to_string(&log).expect("log");
    assert!(!logs.contains(WEBHOOK_SECRET), "webhook secret in the log");
    assert!(!logs.contains(SMTP_PASSWORD), "SMTP password in the log");
    eprintln!(
        "output safety: {} payloads checked, status page {} bytes, digest {} bytes, log {} lines",
        got.len(),
        page.len(),
        digest.len(),
        logs.lines().count()
    );
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}
