//! A near miss is rescued by a story that starts after it was judged.
//!
//! Feeds are polled in no set order and a restart can change it, so the articles that start a
//! story can arrive after another outlet's weaker report of it. The judge rescues near misses
//! that report a started story ([`wirewatch::judge::decide`]); this checks the rescue does
//! not depend on the order. The world (`tests/data/fixtures/late_rescue/world.json`, from our
//! scenario world) holds a hands-on review of a product preview, a near miss on its own, and
//! the two reports that start the preview's story. In order (the control): the reports come in
//! round 1, the review in round 2, and the review is rescued as it is judged. Reversed: the
//! review comes alone in round 1 (a near miss), the reports in round 2. Both end alike: three
//! alerts in one story, the review's grounds naming its rescue; and a later cycle adds nothing.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::world::{load_world, serve_world, World};
use common::*;
use wirewatch::judge::RESCUE_FROM;
use wirewatch::relevance::DEFAULT_MIN_SCORE;
use wirewatch::store::Decision;

const REVIEW: &str = "hands-on-bedrock-preview";

/// Runs the world's two rounds, then a third cycle; asserts the review ends rescued into the
/// reports' story, and returns its decision after round 1 (if it was judged then).
fn run(world: Arc<World>) -> Option<Decision> {
    let base = serve_world(world.clone());
    let env = TestEnv::new(
        "",
        &format!("[[feeds]]\nname = \"World\"\nurl = \"{base}/feed.xml\"\n"),
    );
    let url = |slug: &str| format!("{base}/a/{slug}");
    let once = || {
        let run = wirewatch(&["once", "-c", env.config_str()]);
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(run.status.success(), "{out}");
        out
    };
    once();
    let after_round_1 = env
        .store()
        .item(&url(REVIEW))
        .expect("store")
        .and_then(|i| i.first_decision().cloned());
    world.round.store(1, Ordering::SeqCst);
    let out = once();

    let store = env.store();
    let mut stories = Vec::new();
    for a in &world.rounds[1] {
        let decision = store
            .item(&url(&a.slug))
            .expect("store")
            .and_then(|i| i.first_decision().cloned());
        let Some(Decision::Alert { story, grounds, .. }) = decision else {
            panic!("{} alerts: {decision:?}\n{out}", a.slug);
        };
        if a.slug == REVIEW {
            assert!(
                grounds.rescued_by.is_some(),
                "the review's grounds name its rescue: {grounds:?}"
            );
        }
        stories.push(story);
    }
    stories.dedup();
    assert_eq!(stories.len(), 1, "one story: {stories:?}");
    drop(store);
    let alerts = wirewatch_ok(&["alerts", "--json", "-c", env.config_str()]);
    assert_eq!(alerts.lines().count(), 3, "{alerts}");

    // Another cycle sees the same feed: nothing more.
    once();
    let alerts = wirewatch_ok(&["alerts", "--json", "-c", env.config_str()]);
    assert_eq!(alerts.lines().count(), 3, "{alerts}");
    let explain = wirewatch_ok(&["explain", &url(REVIEW), "-c", env.config_str()]);
    assert!(
        explain.contains("a near miss that reports story"),
        "{explain}"
    );
    after_round_1
}

#[test]
fn a_near_miss_is_rescued_by_a_story_that_starts_later() {
    let world = load_world("late_rescue/world.json");
    // The control: the reports first, the review a round later.
    let reports: Vec<_> = world.rounds[1]
        .iter()
        .filter(|a| a.slug != REVIEW)
        .cloned()
        .collect();
    let in_order = World::new(vec![reports, world.rounds[1].clone()]);
    assert_eq!(run(in_order), None, "control: the review comes in round 2");

    // Reversed: the review alone in round 1, a near miss there.
    let first = run(world);
    let Some(Decision::OffTopic { score, .. }) = first else {
        panic!("round 1: the review alone must not alert: {first:?}");
    };
    assert!(
        score >= RESCUE_FROM * DEFAULT_MIN_SCORE,
        "round 1: the review is a near miss (score {score})"
    );
}

/// Two outlets' copies of the review, both near misses before the story starts: the late
/// rescue alerts on the first published and makes the other a repeat of it (each was once
/// found to be a repeat of the other, and neither alerted). Both ways: fetched in
/// publication order, and the later copy fetched a round before the first.
#[test]
fn of_two_copies_rescued_late_the_first_alerts_and_the_second_repeats_it() {
    let world = load_world("late_rescue/world.json");
    let review = world.article(REVIEW).expect("the review").clone();
    let mut copy = review.clone();
    copy.slug = format!("{REVIEW}-syndicated");
    copy.published = Some("Thu, 02 Apr 2026 15:40:00 GMT".to_string());
    let mut last = world.rounds[1].clone();
    last.push(copy.clone());
    let both = vec![review.clone(), copy.clone()];
    for rounds in [
        vec![both.clone(), last.clone()],
        vec![vec![copy.clone()], both, last],
    ] {
        let world = World::new(rounds);
        let base = serve_world(world.clone());
        let env = TestEnv::new(
            "",
            &format!("[[feeds]]\nname = \"World\"\nurl = \"{base}/feed.xml\"\n"),
        );
        let url = |slug: &str| format!("{base}/a/{slug}");
        for r in 0..world.rounds.len() {
            world.round.store(r, Ordering::SeqCst);
            wirewatch_ok(&["once", "-c", env.config_str()]);
        }
        let store = env.store();
        let decision = |slug: &str| {
            store
                .item(&url(slug))
                .expect("store")
                .and_then(|i| i.first_decision().cloned())
        };
        let d = decision(REVIEW);
        assert!(
            matches!(&d, Some(Decision::Alert { grounds, .. }) if grounds.rescued_by.is_some()),
            "{} rounds: the first copy is rescued: {d:?}",
            world.rounds.len()
        );
        let d = decision(&copy.slug);
        assert!(
            matches!(&d, Some(Decision::Repeat { of, .. }) if *of == url(REVIEW)),
            "{} rounds: the second repeats it: {d:?}",
            world.rounds.len()
        );
        drop(store);
        let alerts = wirewatch_ok(&["alerts", "--json", "-c", env.config_str()]);
        assert_eq!(alerts.lines().count(), 3, "{alerts}");
    }
}
