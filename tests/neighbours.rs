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
//! alone: it alerts.

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
