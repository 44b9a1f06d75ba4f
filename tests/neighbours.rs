//! An item over the threshold is held back when the texts most like it were judged off-topic
//! (`wirewatch::judge::neighbours`), and the reader's relevant mark releases it.
//!
//! The world (`tests/data/fixtures/neighbours/world.json`, written for this test) holds, in
//! round 1, five outlets' reports of a sister event of the seeds' dispute: Oracle weighing
//! legal action against Anthropic over a Google TPU deal. Each mentions the Microsoft-OpenAI
//! dispute in passing and scores under the threshold. Round 2 brings one more report of it
//! whose opening recaps the Microsoft-OpenAI-Amazon dispute: it scores over the threshold,
//! and the texts most like it are the round-1 reports. Each round is a separate run of the
//! binary, so the remembered texts come from the store. The control serves the round-2 report
//! alone: it alerts. A second test stops a daemon in mid-pass and finds round 1's texts
//! remembered in the store all the same.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::world::{load_world, serve_world, World};
use common::*;
use wirewatch::judge::neighbours::NEIGHBOUR_FLOOR;
use wirewatch::relevance::DEFAULT_MIN_SCORE;
use wirewatch::store::Decision;

const LATE: &str = "oracle-files-notice-anthropic-after-microsoft-openai";

/// A test environment reading the world's feed, and the URL of an article's page.
fn env_for(world: Arc<World>) -> (TestEnv, impl Fn(&str) -> String) {
    let base = serve_world(world);
    let env = TestEnv::new(
        "",
        &format!("[[feeds]]\nname = \"World\"\nurl = \"{base}/feed.xml\"\n"),
    );
    (env, move |slug: &str| format!("{base}/a/{slug}"))
}

fn decision(env: &TestEnv, url: &str) -> Option<Decision> {
    env.store()
        .item(url)
        .expect("store")
        .and_then(|i| i.first_decision().cloned())
}

#[test]
fn a_report_like_the_ones_judged_off_topic_is_held_back_until_marked() {
    let world = load_world("neighbours/world.json");
    let late = world.article(LATE).expect("the late report").clone();

    // The control: the late report alone alerts.
    let (alone, url) = env_for(World::new(vec![vec![late]]));
    wirewatch_ok(&["once", "-c", alone.config_str()]);
    let d = decision(&alone, &url(LATE));
    assert!(
        matches!(d, Some(Decision::Alert { .. })),
        "control: alone, the late report alerts: {d:?}"
    );

    let (env, url) = env_for(world.clone());
    wirewatch_ok(&["once", "-c", env.config_str()]);
    for a in &world.rounds[0] {
        let d = decision(&env, &url(&a.slug));
        let Some(Decision::OffTopic { score, .. }) = d else {
            panic!("round 1: {} is off-topic: {d:?}", a.slug);
        };
        assert!(
            score >= NEIGHBOUR_FLOOR,
            "round 1: {} scores at least the floor, to be remembered ({score})",
            a.slug
        );
    }
    world.round.store(1, Ordering::SeqCst);
    wirewatch_ok(&["once", "-c", env.config_str()]);
    let d = decision(&env, &url(LATE));
    let Some(Decision::OffTopic { score, grounds, .. }) = &d else {
        panic!("round 2: the late report is held back: {d:?}");
    };
    assert!(
        *score >= DEFAULT_MIN_SCORE,
        "it scores over the threshold: {d:?}"
    );
    let held = grounds.held_back.as_deref().unwrap_or_default();
    assert!(
        world.rounds[0].iter().any(|a| held.contains(&url(&a.slug))),
        "the grounds name round 1's reports: {held}"
    );
    let explain = wirewatch_ok(&["explain", &url(LATE), "-c", env.config_str()]);
    assert!(explain.contains("held back by its neighbours"), "{explain}");
    assert_eq!(
        wirewatch_ok(&["alerts", "--json", "-c", env.config_str()])
            .lines()
            .count(),
        0
    );

    // The reader's relevant mark releases it.
    wirewatch_ok(&[
        "feedback",
        &url(LATE),
        "--relevant",
        "--rejudge",
        "48h",
        "-c",
        env.config_str(),
    ]);
    let d = decision(&env, &url(LATE));
    assert!(
        matches!(d, Some(Decision::Alert { .. })),
        "marked relevant and judged again, it alerts: {d:?}"
    );
}

/// A daemon stopped in mid-pass stores what its judges remembered so far, though the end of
/// the pass never comes: round 1's reports are judged, then the pass waits on a page that
/// never answers (listed last, so judged last), and SIGTERM stops it.
#[test]
fn a_pass_stopped_midway_keeps_the_texts_it_remembered() {
    let world = load_world("neighbours/world.json");
    let pages = serve_world(world.clone());
    // The feed: round 1's reports, then one whose page is held open.
    let held = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let asked = held.clone();
    let mut items = String::new();
    for (i, a) in world.rounds[0].iter().enumerate() {
        items.push_str(&format!(
            "<item><title>{}</title><link>{pages}/a/{s}</link><guid>{s}</guid>\
             <pubDate>Mon, 02 Nov 2026 1{i}:00:00 GMT</pubDate></item>",
            common::world::esc(&a.title),
            s = a.slug,
        ));
    }
    let feed_host = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let fh = feed_host.clone();
    let app = axum::Router::new()
        .route(
            "/feed.xml",
            axum::routing::get(move || {
                let base = fh.get().cloned().unwrap_or_default();
                let items = format!(
                    "{items}<item><title>Held open</title><link>{base}/held</link>\
                     <guid>held</guid><pubDate>Mon, 02 Nov 2026 19:00:00 GMT</pubDate></item>"
                );
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/rss+xml")],
                        format!(
                            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>F</title>\
                             <link>{base}/</link><description>d</description>{items}</channel></rss>"
                        ),
                    )
                }
            }),
        )
        .route(
            "/held",
            axum::routing::get(move || {
                asked.store(true, Ordering::SeqCst);
                async {
                    tokio::time::sleep(std::time::Duration::from_secs(300)).await;
                    "too late"
                }
            }),
        );
    let addr = serve(app);
    let base = format!("http://{addr}");
    feed_host.set(base.clone()).expect("once");
    let env = TestEnv::new(
        "",
        &format!("[[feeds]]\nname = \"F\"\nurl = \"{base}/feed.xml\"\n"),
    );
    // The held page must outlast the test, not time out and end the pass.
    let text = std::fs::read_to_string(&env.config)
        .expect("config")
        .replace("timeout = \"3s\"", "timeout = \"300s\"");
    std::fs::write(&env.config, text).expect("config");

    let log = env.dir.path().join("daemon.log");
    let daemon = spawn_daemon(&env, &log);
    let n = world.rounds[0].len();
    wait_for_log(&log, "off-topic; no alert", n, 60);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !held.load(Ordering::SeqCst) {
        assert!(
            std::time::Instant::now() < deadline,
            "the held page was never asked for"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    stop_daemon(daemon);

    let remembered = env
        .store()
        .metas_under("neighbours:")
        .expect("metas")
        .into_iter()
        .next()
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    for a in &world.rounds[0] {
        assert!(
            remembered.contains(&format!("{pages}/a/{}", a.slug)),
            "{} remembered after the stop: {remembered}",
            a.slug
        );
    }
}
