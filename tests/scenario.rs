//! End to end on the labelled scenario world (`tests/data/scenario/`): the real binary polls
//! the scenario server round by round.

mod common;

use std::collections::HashMap;

use common::*;

/// The label key of a URL: its path, with the query only when it has non-tracking parameters.
fn label_key(link: &str) -> String {
    let u = url::Url::parse(link).expect("entry link is absolute");
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| {
            !k.starts_with("utm_") && !matches!(k.as_ref(), "fbclid" | "gclid" | "mc_cid")
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        u.path().to_string()
    } else {
        let q: Vec<String> = kept.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}?{}", u.path(), q.join("&"))
    }
}

fn once(env: &TestEnv) -> serde_json::Value {
    let out = wirewatch_ok(&["once", "--json", "-c", env.config_str()]);
    serde_json::from_str(out.trim()).expect("once --json")
}

#[test]
fn every_round_stores_every_entry_exactly_once() {
    let labels: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(scenario_dir().join("dev/labels.json")).expect("labels"),
    )
    .expect("labels json");
    let items = labels["items"].as_object().expect("items");
    let sc = Scenario::start(&[]);
    let feeds = sc.feeds();
    let env = TestEnv::new("", &sc.feeds_toml());

    let mut per_round = Vec::new();
    for round in 1..=3u64 {
        if round > 1 {
            sc.get(&format!("/_round/{round}"));
        }
        let r = once(&env);
        assert_eq!(r["feeds"].as_array().map(Vec::len), Some(feeds.len()));
        for f in r["feeds"].as_array().expect("feeds") {
            assert!(f["error"].is_null(), "round {round}: feed failed: {f}");
        }
        // What the labels say each feed lists by now.
        let expected: usize = items
            .values()
            .filter(|v| v["round"].as_u64().unwrap_or(0) <= round)
            .map(|v| {
                v["feeds"].as_array().map(Vec::len).unwrap_or(0)
                    - v["crossposted_in"]
                        .as_array()
                        .map(|c| {
                            c.iter()
                                .filter(|x| x["round"].as_u64().unwrap_or(0) > round)
                                .count()
                        })
                        .unwrap_or(0)
            })
            .sum();
        let stored = env.store().entries().expect("entries").len();
        per_round.push((round, stored, expected));
        assert_eq!(stored, expected, "round {round}: entries stored");
    }
    eprintln!("entries stored per round (stored, expected): {per_round:?}");

    // Every labelled URL is stored once per feed that lists it.
    let outlet_of: HashMap<String, String> = feeds
        .iter()
        .map(|(outlet, url)| (wirewatch::store::feed_id(url), outlet.clone()))
        .collect();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    let store = env.store();
    for e in store.entries().expect("entries") {
        let link = e.entry.link.clone().expect("entry has a link");
        let key = label_key(&link);
        assert!(items.contains_key(&key), "unlabelled entry {link}");
        *seen
            .entry((outlet_of[&e.feed_id].clone(), key))
            .or_default() += 1;
    }
    for (path, item) in items {
        for f in item["feeds"].as_array().expect("feeds") {
            let outlet = f.as_str().expect("outlet").to_string();
            assert_eq!(
                seen.get(&(outlet.clone(), path.clone())),
                Some(&1),
                "{outlet} {path}"
            );
        }
    }
    // The item updated in place in round 3 is one entry with one revision.
    let updated: Vec<_> = store
        .entries()
        .expect("entries")
        .into_iter()
        .filter(|e| e.revisions > 0)
        .collect();
    assert!(!updated.is_empty(), "the in-place update was seen");
    for e in &updated {
        let key = label_key(e.entry.link.as_deref().unwrap_or(""));
        assert!(
            items[&key]["updated_in_rounds"].is_array(),
            "only the labelled update may change: {key}"
        );
    }

    drop(store);
    // Polling again changes nothing and every feed answers a conditional request with 304.
    let r = once(&env);
    for f in r["feeds"].as_array().expect("feeds") {
        assert_eq!(
            f["not_modified"], true,
            "second poll of an unchanged feed: {f}"
        );
    }
    assert_eq!(
        env.store().entries().expect("entries").len(),
        per_round[2].1
    );

    // The alerts, scored by the scenario's own scorer against its labels.
    let alerts = wirewatch_ok(&["alerts", "--json", "-c", env.config_str()]);
    let alerts_path = env.dir.path().join("alerts.jsonl");
    std::fs::write(&alerts_path, &alerts).expect("write alerts");
    let scores = score_alerts(&alerts_path);
    eprintln!("scenario scores: {scores:?}");
    let get = |k: &str| -> f64 {
        *scores
            .get(k)
            .unwrap_or_else(|| panic!("score.py gave no {k}: {scores:?}"))
    };
    assert!(get("alert_precision") >= 0.97, "precision {scores:?}");
    assert!(get("alert_recall") >= 0.97, "recall {scores:?}");
    assert_eq!(
        get("seed_duplicate_suppression"),
        1.0,
        "every seed copy suppressed"
    );
    assert_eq!(get("repeat_suppression"), 1.0, "every re-post suppressed");
    assert_eq!(get("same_url_repeat_alerts"), 0.0);
    assert_eq!(get("offtopic_false_alerts"), 0.0, "no off-topic alert");
    assert!(get("story_pairwise_f1") >= 0.9, "stories {scores:?}");
}
