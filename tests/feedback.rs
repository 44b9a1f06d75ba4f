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

/// Runs both rounds on a fresh store (`between` runs after round 1); what became of each
/// round's articles in the end.
fn run_world(between: &dyn Fn(&TestEnv, &str)) -> (Decided, Decided, TestEnv) {
    let world = load_world("feedback/world.json");
    let base = serve_world(world.clone());
    let env = TestEnv::new(
        "",
        &format!("[[feeds]]\nname = \"World\"\nurl = \"{base}/feed.xml\"\n"),
    );
    wirewatch_ok(&["once", "-c", env.config_str()]);
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
        let out = wirewatch_ok(&[
            "feedback",
            &format!("{base}/a/r1-connectors"),
            "--off-topic",
            "-c",
            cfg,
        ]);
        assert!(out.contains("the alert stays sent"), "{out}");
        let out = wirewatch_ok(&[
            "feedback",
            &format!("{base}/a/r1-arbitration"),
            "--relevant",
            "--rejudge",
            "48h",
            "-c",
            cfg,
        ]);
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
