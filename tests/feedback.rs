//! The reader's feedback, end to end: the real binary on a two-round world served on loopback
//! (`tests/data/fixtures/feedback/world.json`, written for this test).
//!
//! Round 1 has a false alert (a product release the reader does not follow) and a miss (a
//! development of the dispute that never names the parties). The reader marks the first
//! off-topic and the second relevant (with `--rejudge`); round 2 brings other outlets'
//! reports of both. The same world without marks is the control: there the release's reports
//! alert and the development's do not, so every difference is the marks' doing. Each round is
//! a fresh process (`once`), so the marks are read back from the store: they survive a
//! restart. A second test gives the same feedback over HTTP and the control socket of a
//! running daemon.

mod common;

use std::sync::atomic::Ordering;

use common::world::{load_world, serve_world, World};
use common::*;
use wirewatch::store::Decision;

/// Whether each article of a round (by slug) alerted.
type Decided = Vec<(String, bool)>;

/// The decision on each article of round `r` (by slug): alerted or not.
fn alerted(env: &TestEnv, world: &World, base: &str, r: usize) -> Decided {
    let store = env.store();
    world.rounds[r]
        .iter()
        .map(|a| {
            let slug = &a.slug;
            let item = store
                .item(&format!("{base}/a/{slug}"))
                .expect("store")
                .unwrap_or_else(|| panic!("{slug} was not judged"));
            (
                slug.clone(),
                matches!(
                    item.first_decision().expect("decided"),
                    Decision::Alert { .. }
                ),
            )
        })
        .collect()
}

fn count(decided: &[(String, bool)], prefix: &str) -> usize {
    decided
        .iter()
        .filter(|(s, a)| *a && s.starts_with(prefix))
        .count()
}

/// The reader's feedback on round 1, each command a process of its own: its false alert
/// marked off-topic, its miss relevant with a re-judge of the last two days. What each said.
fn mark_round_one(base: &str, cfg: &str) -> (String, String) {
    (
        feedback_on(base, "r1-connectors", &["--off-topic"], cfg),
        feedback_on(
            base,
            "r1-arbitration",
            &["--relevant", "--rejudge", "48h"],
            cfg,
        ),
    )
}

/// `wirewatch feedback` on the world's article `slug`; what it said.
fn feedback_on(base: &str, slug: &str, how: &[&str], cfg: &str) -> String {
    let url = format!("{base}/a/{slug}");
    let mut args = vec!["feedback", url.as_str()];
    args.extend_from_slice(how);
    args.extend_from_slice(&["-c", cfg]);
    wirewatch_ok(&args)
}

/// The world served, a fresh store, and round 1 judged by a `once`.
fn round_one() -> (std::sync::Arc<World>, String, TestEnv) {
    let world = load_world("feedback/world.json");
    let base = serve_world(world.clone());
    let env = TestEnv::new(
        "",
        &format!("[[feeds]]\nname = \"World\"\nurl = \"{base}/feed.xml\"\n"),
    );
    wirewatch_ok(&["once", "-c", env.config_str()]);
    (world, base, env)
}

/// Runs both rounds on a fresh store (`between` runs after round 1); what became of each
/// round's articles in the end.
fn run_world(between: &dyn Fn(&TestEnv, &str)) -> (Decided, Decided, TestEnv) {
    let (world, base, env) = round_one();
    between(&env, &base);
    world.round.store(1, Ordering::SeqCst);
    wirewatch_ok(&["once", "-c", env.config_str()]);
    let r1 = alerted(&env, &world, &base, 0);
    let r2 = alerted(&env, &world, &base, 1);
    (r1, r2, env)
}

#[test]
fn marks_move_the_next_round_and_survive_restarts() {
    // Control: no marks.
    let (r1, r2, _env) = run_world(&|_, _| {});
    assert_eq!(count(&r1, "r1-connectors"), 1, "the false alert: {r1:?}");
    assert_eq!(count(&r1, "r1-arbitration"), 0, "the miss: {r1:?}");
    assert_eq!(
        count(&r2, "r2-connectors"),
        2,
        "the release's reports alert: {r2:?}"
    );
    assert_eq!(
        count(&r2, "r2-arbitration"),
        0,
        "the development's are missed: {r2:?}"
    );
    assert_eq!(count(&r2, "r2-legal"), 1, "{r2:?}");

    // The reader marks round 1's false alert and its miss (each command a process of its own).
    let (r1, r2, env) = run_world(&|env, base| {
        let cfg = env.config_str();
        let (off, out) = mark_round_one(base, cfg);
        assert!(off.contains("the alert stays sent"), "{off}");
        assert!(
            out.contains("1 alert now"),
            "the marked miss alerts when re-judged: {out}"
        );
        // A URL never seen is a clear error.
        let out = wirewatch(&[
            "feedback",
            &format!("{base}/a/nowhere"),
            "--relevant",
            "-c",
            cfg,
        ]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("no item seen under"));
    });
    assert_eq!(
        count(&r1, "r1-connectors"),
        1,
        "an alert sent is never retracted: {r1:?}"
    );
    assert_eq!(
        count(&r1, "r1-arbitration"),
        1,
        "re-judged into an alert: {r1:?}"
    );
    assert_eq!(
        count(&r2, "r2-connectors"),
        0,
        "the off-topic mark stops its near neighbours: {r2:?}"
    );
    assert_eq!(
        count(&r2, "r2-arbitration"),
        2,
        "the relevant mark lifts the development's other reports: {r2:?}"
    );
    assert_eq!(
        count(&r2, "r2-legal"),
        1,
        "marks leave unrelated items alone: {r2:?}"
    );
    assert_eq!(count(&r2, "r2-weather"), 0, "{r2:?}");

    // Explain says where a mark moved a score, and marks the false alert.
    let cfg = env.config_str();
    let base = env
        .store()
        .items()
        .expect("items")
        .into_iter()
        .find_map(|i| i.url.strip_suffix("/a/r2-connectors-a").map(str::to_string))
        .expect("base");
    let out = wirewatch_ok(&["explain", &format!("{base}/a/r2-connectors-a"), "-c", cfg]);
    assert!(
        out.contains("marked off-topic") && out.contains("r1-connectors"),
        "{out}"
    );
    let out = wirewatch_ok(&["explain", &format!("{base}/a/r1-connectors"), "-c", cfg]);
    assert!(out.contains("reader:     marked off-topic"), "{out}");
    // The digest shows the false alert as marked off-topic, and nothing else.
    // (The same config, with a digest to render.)
    let with_digest = env.dir.path().join("with-digest.toml");
    std::fs::write(
        &with_digest,
        std::fs::read_to_string(&env.config).expect("config")
            + "\n[digest]\nat = \"23:59\"\ntimezone = \"UTC\"\nto = [\"reader@example.org\"]\nfrom = \"w@example.org\"\n\
               [smtp]\nhost = \"127.0.0.1\"\nport = 1\nsecurity = \"none\"\n",
    )
    .expect("config");
    let preview = env.dir.path().join("digest.html");
    wirewatch_ok(&[
        "digest",
        "--preview",
        preview.to_str().expect("path"),
        "-c",
        with_digest.to_str().expect("path"),
    ]);
    let text = std::fs::read_to_string(preview.with_extension("txt")).expect("digest text");
    let marked: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("[marked off-topic]"))
        .collect();
    assert_eq!(marked.len(), 1, "{text}");
    assert!(
        marked[0].contains("Salesforce and SAP connectors"),
        "{text}"
    );
    let html = std::fs::read_to_string(&preview).expect("digest html");
    assert_eq!(html.matches("[marked off-topic]").count(), 1, "{html}");
    // The development's other reports alert on the relevant mark, not on a story's rescue.
    let mut taught = false;
    for slug in ["r2-arbitration-a", "r2-arbitration-b"] {
        let out = wirewatch_ok(&["explain", &format!("{base}/a/{slug}"), "-c", cfg]);
        assert!(
            out.contains("feedback:") && out.contains("r1-arbitration"),
            "{slug}: {out}"
        );
        taught |= out.contains("taught by the reader's relevant mark");
    }
    // And which of the words they matched the mark taught the topic.
    assert!(
        taught,
        "no word taught by the relevant mark in their explain"
    );
    // The marks, listed; one cleared.
    let out = wirewatch_ok(&["feedback", "--list", "-c", cfg]);
    assert!(
        out.contains("off-topic") && out.contains("relevant"),
        "{out}"
    );
    let out = wirewatch_ok(&[
        "feedback",
        &format!("{base}/a/r1-connectors"),
        "--clear",
        "-c",
        cfg,
    ]);
    assert!(out.contains("cleared"), "{out}");
    let out = wirewatch_ok(&["feedback", "--list", "--json", "-c", cfg]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("\"relevant\""), "{out}");
}

fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let mut req = if method == "POST" {
            client.post(url).body(body.to_string())
        } else {
            client.get(url)
        };
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    })
}

#[test]
fn feedback_over_http_and_the_control_socket() {
    let world = load_world("feedback/world.json");
    let base = serve_world(world.clone());
    let dir = tempfile::tempdir().expect("tmp");
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token\n").expect("token");
    let config = dir.path().join("wirewatch.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"{state}\"\n[topic]\nname = \"t\"\nseeds = \"{seeds}\"\n\
             [http]\nlisten = \"127.0.0.1:0\"\ntoken_file = \"{token}\"\n\
             [fetch]\ninterval = \"1h\"\nallow_private_networks = true\nper_host_interval = \"0s\"\n\
             [[feeds]]\nname = \"World\"\nurl = \"{base}/feed.xml\"\n",
            state = dir.path().join("state").display(),
            seeds = seeds_dir().display(),
            token = token.display(),
        ),
    )
    .expect("config");
    let cfg = config.to_str().expect("path");
    let log = dir.path().join("daemon.log");
    let daemon = start_daemon(&config, &log);
    let text = wait_for_log(&log, "ALERT", 2, 60);
    let status = strip_ansi(&text)
        .lines()
        .find_map(|l| l.split("status page url=").nth(1).map(str::to_string))
        .and_then(|u| u.split_whitespace().next().map(str::to_string))
        .expect("status page URL in the log");
    let api = format!("{status}api/feedback");
    let connectors = format!("{base}/a/r1-connectors");
    let json = format!("{{\"url\":\"{connectors}\",\"verdict\":\"off-topic\"}}");

    // Behind the token.
    let (code, _) = http("POST", &api, &[("content-type", "application/json")], &json);
    assert_eq!(code, 401);
    let auth = ("authorization", "Bearer s3cret-token");
    // A form posted from another site is refused even with the token.
    let form = format!("url={}&verdict=off-topic", url_encode(&connectors));
    let (code, body) = http(
        "POST",
        &api,
        &[
            auth,
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", "http://evil.example"),
        ],
        &form,
    );
    assert_eq!(code, 403, "{body}");
    // So is a post the browser says comes from another site, and JSON sent as a `text/plain`
    // "form" (which another site's page could send without asking first).
    let (code, body) = http(
        "POST",
        &api,
        &[
            auth,
            ("content-type", "application/json"),
            ("sec-fetch-site", "cross-site"),
        ],
        &json,
    );
    assert_eq!(code, 403, "{body}");
    let (code, body) = http("POST", &api, &[auth, ("content-type", "text/plain")], &json);
    assert_eq!(code, 415, "{body}");
    // Bad input: a clear 4xx.
    let (code, body) = http(
        "POST",
        &api,
        &[auth, ("content-type", "application/json")],
        "{\"url\":\"x\",\"verdict\":\"meh\"}",
    );
    assert_eq!(code, 400, "{body}");
    let (code, body) = http(
        "POST",
        &api,
        &[auth, ("content-type", "application/json")],
        &format!("{{\"url\":\"{base}/a/nowhere\",\"verdict\":\"relevant\"}}"),
    );
    assert_eq!(code, 404, "{body}");
    // The mark.
    let (code, body) = http(
        "POST",
        &api,
        &[auth, ("content-type", "application/json")],
        &json,
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"ok\":true"), "{body}");
    // The status page shows it, with an "undo" button.
    let (code, page) = http("GET", &status, &[auth], "");
    assert_eq!(code, 200);
    assert!(page.contains("marked off-topic"), "{page}");
    assert!(page.contains("name=\"verdict\" value=\"clear\""), "{page}");
    // The page's own form (same origin) marks and sends the reader back to the page.
    let arbitration = format!("{base}/a/r1-arbitration");
    let origin = status.trim_end_matches('/').to_string();
    let (code, body) = http(
        "POST",
        &api,
        &[
            auth,
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", &origin),
        ],
        &format!("url={}&verdict=relevant", url_encode(&arbitration)),
    );
    assert_eq!(code, 303, "{body}");

    // The command line goes through the daemon's control socket.
    let out = wirewatch_ok(&["feedback", &arbitration, "--clear", "-c", cfg]);
    assert!(out.contains("cleared"), "{out}");
    let out = wirewatch_ok(&["feedback", &arbitration, "--relevant", "-c", cfg]);
    assert!(out.contains("marked"), "{out}");
    let out = wirewatch_ok(&["feedback", "--list", "-c", cfg]);
    assert_eq!(out.matches("http://").count(), 2, "{out}");
    stop_daemon(daemon);

    // Both marks are in the store after the daemon stopped.
    let out = wirewatch_ok(&["feedback", "--list", "--json", "-c", cfg]);
    assert_eq!(out.lines().count(), 2, "{out}");
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// On a shared store the command line has no daemon to talk to: its marks go to the store,
/// where the worker that judges takes them up at its next pass (the mark is not lost to what
/// the worker learns meanwhile), and its re-judge is run by that worker, which tells the
/// command what it decided.
#[test]
fn on_a_shared_store_feedback_reaches_the_worker_that_judges() {
    use wirewatch::store::postgres::scratch;
    if !scratch::available("on_a_shared_store_feedback_reaches_the_worker_that_judges") {
        return;
    }
    let world = load_world("feedback/world.json");
    let base = serve_world(world.clone());
    let dir = tempfile::tempdir().expect("tmp");
    let schema = PgSchema::new();
    let config = dir.path().join("wirewatch.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"{state}\"\n[topic]\nname = \"t\"\nseeds = \"{seeds}\"\n\
             [http]\nenabled = false\n\
             [fetch]\ninterval = \"1s\"\nallow_private_networks = true\nper_host_interval = \"0s\"\n\
             [store]\nurl = \"{url}\"\nschema = \"{schema}\"\n\
             [[feeds]]\nname = \"World\"\nurl = \"{base}/feed.xml\"\n",
            state = dir.path().join("state").display(),
            seeds = seeds_dir().display(),
            url = scratch::url(),
            schema = schema.0,
        ),
    )
    .expect("config");
    let cfg = config.to_str().expect("path");
    let log = dir.path().join("worker.log");
    let worker = start_daemon(&config, &log);
    wait_for_log(&log, "ALERT", 2, 60);
    let alerted = || -> Vec<String> {
        wirewatch_ok(&["alerts", "--json", "-c", cfg])
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["url"].as_str().map(str::to_string))
            .collect()
    };
    assert!(
        alerted().iter().any(|u| u.ends_with("/a/r1-connectors")),
        "round 1's false alert: {:?}",
        alerted()
    );
    // The re-judge is run by the worker, which holds the judge lease.
    let (off, out) = mark_round_one(&base, cfg);
    assert!(off.contains("marked"), "{off}");
    assert!(out.contains("1 alert now"), "{out}");
    assert!(
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("window judged again"),
        "the worker judged it"
    );
    // Round 2: the worker judges with both marks, though they were made elsewhere.
    world.round.store(1, Ordering::SeqCst);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut urls = alerted();
    while std::time::Instant::now() < deadline && !urls.iter().any(|u| u.contains("/a/r2-legal")) {
        std::thread::sleep(std::time::Duration::from_millis(500));
        urls = alerted();
    }
    std::thread::sleep(std::time::Duration::from_secs(3));
    urls = alerted();
    stop_daemon(worker);
    let n = |p: &str| urls.iter().filter(|u| u.contains(p)).count();
    assert_eq!(n("/a/r2-legal"), 1, "{urls:?}");
    assert_eq!(n("/a/r2-connectors"), 0, "the off-topic mark: {urls:?}");
    assert_eq!(n("/a/r2-arbitration"), 2, "the relevant mark: {urls:?}");
    let out = wirewatch_ok(&["feedback", "--list", "--json", "-c", cfg]);
    assert_eq!(out.lines().count(), 2, "{out}");
}

/// The re-judge queue (what a shared store's judging worker runs for the command line and the
/// status pages), on the embedded store: each request is a record of its own and gets its own
/// answer, read once; requests waiting together run as one, over the widest window; one made
/// after a run waits for the next.
#[tokio::test(flavor = "multi_thread")]
async fn queued_rejudges_each_get_their_answer_once() {
    let (_world, base, env) = round_one();
    let out = feedback_on(&base, "r1-arbitration", &["--relevant"], env.config_str());
    assert!(out.contains("marked"), "{out}");
    let config = std::sync::Arc::new(wirewatch::Config::load(&env.config).expect("config"));
    let pipeline = wirewatch::Pipeline::new(config, env.store()).expect("pipeline");
    let now = chrono::Utc::now();
    let narrow = pipeline
        .queue_rejudge(now - chrono::Duration::minutes(1), None)
        .expect("queue");
    let wide = pipeline
        .queue_rejudge(now - chrono::Duration::hours(48), None)
        .expect("queue");
    assert_ne!(narrow, wide);
    assert!(pipeline
        .rejudge_result(&narrow, None)
        .expect("read")
        .is_none());
    let tally = pipeline.run_queued_rejudges().await.expect("run");
    assert_eq!(tally.alerts, 1, "the marked miss alerts: {tally:?}");
    for ticket in [&narrow, &wide] {
        let (since, answer) = pipeline
            .rejudge_result(ticket, None)
            .expect("read")
            .expect("answered");
        assert!(
            since <= now - chrono::Duration::hours(47),
            "the widest window"
        );
        assert_eq!(answer.expect("no error").alerts, 1);
        assert!(
            pipeline
                .rejudge_result(ticket, None)
                .expect("read")
                .is_none(),
            "read once"
        );
    }
    let later = pipeline
        .queue_rejudge(now - chrono::Duration::hours(48), None)
        .expect("queue");
    assert!(pipeline
        .rejudge_result(&later, None)
        .expect("read")
        .is_none());
    pipeline.run_queued_rejudges().await.expect("run");
    let (_, answer) = pipeline
        .rejudge_result(&later, None)
        .expect("read")
        .expect("answered");
    assert_eq!(answer.expect("no error").alerts, 0, "nothing new to alert");

    // A request for a topic this config lacks (another worker's config has it, as
    // `queue_rejudge` would write it there): answered with why, not left waiting for good.
    let store = pipeline.store();
    store
        .put_meta(
            "rejudge:ghost\nt1",
            &serde_json::json!({ "since": now.to_rfc3339() }),
        )
        .expect("queue");
    pipeline.run_queued_rejudges().await.expect("run");
    assert!(store.get_meta("rejudge:ghost\nt1").expect("read").is_none());
    let answer = store
        .get_meta("rejudged:ghost\nt1")
        .expect("read")
        .expect("answered");
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("no topic ghost")),
        "{answer}"
    );
}
