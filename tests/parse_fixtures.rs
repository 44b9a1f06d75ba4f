//! The dev scenario's feeds at round 3 (bytes saved from `serve.py --data dev`, faults on) must
//! parse fully: every listing of `scenario.json` comes out as an entry with the right link,
//! including the ill-formed pacifictech feed (bare `&`, HTML entities, a form feed in the
//! round-2 explainer entry).

mod common;

use common::scenario_dir;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use url::Url;
use wirewatch::parse::{parse_feed, FeedFormat, ParsedFeed};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixtures/scenario-dev-round3")
}

struct Expected {
    feed_path: String,
    format: FeedFormat,
    /// Article paths listed by the feed up to round 3, with the latest title.
    items: BTreeMap<String, String>,
}

fn expected() -> BTreeMap<String, Expected> {
    let path = scenario_dir().join("dev/scenario.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let s: serde_json::Value = serde_json::from_str(&text).expect("scenario.json is JSON");
    let mut out = BTreeMap::new();
    for o in s["outlets"].as_array().expect("outlets") {
        let format = match o["feed"]["format"].as_str() {
            Some("rss2") => FeedFormat::Rss2,
            Some("atom") => FeedFormat::Atom,
            Some("json") => FeedFormat::Json,
            Some("rdf") => FeedFormat::Rss1,
            other => panic!("unknown format {other:?}"),
        };
        out.insert(
            o["id"].as_str().expect("id").to_string(),
            Expected {
                feed_path: o["feed"]["path"].as_str().expect("path").to_string(),
                format,
                items: BTreeMap::new(),
            },
        );
    }
    for it in s["items"].as_array().expect("items") {
        let path = it["path"].as_str().expect("item path").to_string();
        let mut title = it["title"].as_str().unwrap_or_default().to_string();
        for v in it["versions"].as_array().into_iter().flatten() {
            if v["round"].as_u64().unwrap_or(99) <= 3 {
                if let Some(t) = v["title"].as_str() {
                    title = t.to_string();
                }
            }
        }
        for l in it["listings"].as_array().into_iter().flatten() {
            if l["round"].as_u64().unwrap_or(99) <= 3 {
                let feed = l["feed"].as_str().expect("listing feed");
                if let Some(e) = out.get_mut(feed) {
                    e.items.insert(path.clone(), title.clone());
                }
            }
        }
    }
    out
}

fn parse_fixture(outlet: &str, feed_path: &str) -> ParsedFeed {
    let dir = fixtures();
    let body = std::fs::read(dir.join(format!("{outlet}.body"))).expect("fixture body");
    let ct = std::fs::read_to_string(dir.join(format!("{outlet}.content-type")))
        .expect("fixture content type");
    let url = Url::parse("http://localhost:8391/")
        .and_then(|b| b.join(feed_path))
        .expect("feed url");
    parse_feed(&body, Some(ct.trim()), Some(&url)).unwrap_or_else(|e| panic!("{outlet}: {e}"))
}

/// Path of an entry link with the query (tracking parameters) dropped, except for
/// query-style article URLs where the query is part of the identity.
fn link_key(link: &str) -> String {
    let u = Url::parse(link).unwrap_or_else(|e| panic!("link {link:?} not absolute: {e}"));
    match u.query() {
        Some(q) if !q.starts_with("utm_") => format!("{}?{q}", u.path()),
        _ => u.path().to_string(),
    }
}

#[test]
fn every_dev_feed_parses_fully_at_round_3() {
    let exp = expected();
    assert_eq!(exp.len(), 8);
    for (outlet, e) in &exp {
        let feed = parse_fixture(outlet, &e.feed_path);
        assert_eq!(feed.format, e.format, "{outlet}");
        let got: BTreeSet<String> = feed
            .entries
            .iter()
            .map(|en| {
                link_key(
                    en.link
                        .as_deref()
                        .unwrap_or_else(|| panic!("{outlet}: entry without link")),
                )
            })
            .collect();
        let want: BTreeSet<String> = e.items.keys().cloned().collect();
        assert_eq!(
            got, want,
            "{outlet}: entry links differ from scenario.json listings"
        );
        assert_eq!(
            feed.entries.len(),
            e.items.len(),
            "{outlet}: duplicate entries"
        );
        for en in &feed.entries {
            // RSS 1.0 has no guid element (its rdf:about is the link), so no guid there.
            assert_eq!(
                en.guid.is_some(),
                e.format != FeedFormat::Rss1,
                "{outlet}: guid {:?}",
                en.guid
            );
            assert!(en.published.is_some(), "{outlet}: entry without date");
            let title = en.title.as_deref().unwrap_or_default();
            assert!(
                !title.contains('&') || title.contains("& "),
                "{outlet}: undecoded entity in {title:?}"
            );
        }
        if outlet != "pacifictech" {
            assert!(
                feed.repairs.is_empty(),
                "{outlet} needed repairs: {:?}",
                feed.repairs
            );
        }
        println!(
            "{outlet}: {} entries, repairs {:?}",
            feed.entries.len(),
            feed.repairs
        );
    }
}

#[test]
fn illformed_pacifictech_is_recovered_item_for_item() {
    let exp = expected();
    let e = &exp["pacifictech"];
    let feed = parse_fixture("pacifictech", &e.feed_path);
    // The feed really is broken: the lenient pre-pass had to run.
    assert!(
        feed.repairs.iter().any(|r| r.contains("bare '&'")),
        "{:?}",
        feed.repairs
    );
    assert!(
        feed.repairs.iter().any(|r| r.contains("U+000C")),
        "{:?}",
        feed.repairs
    );
    assert!(
        feed.repairs.iter().any(|r| r.contains("HTML entity")),
        "{:?}",
        feed.repairs
    );
    assert_eq!(feed.entries.len(), e.items.len());
    for en in &feed.entries {
        let key = link_key(en.link.as_deref().unwrap_or_default());
        let want = e
            .items
            .get(&key)
            .unwrap_or_else(|| panic!("unexpected entry {key}"));
        let want = want.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(en.title.as_deref(), Some(want.as_str()), "title of {key}");
        assert!(
            en.content_html.as_deref().is_some_and(|c| c.len() > 200),
            "content of {key}"
        );
        assert!(!en.summary.as_deref().unwrap_or_default().contains('\u{c}'));
    }
    // The entry with the form feed (round 2, on topic) is there.
    assert!(feed
        .entries
        .iter()
        .any(|en| en.link.as_deref().is_some_and(
            |l| l.contains("explainer-stateful-runtime-environment-microsoft-contract")
        )));
}

/// Our own feeds (`tests/data/fixtures/feeds/`, described in its `manifest.json`): one of each
/// format we read and one of each ill-formedness the lenient path repairs. Each parses to the
/// entries the manifest lists, as the format it names, and a repaired one says what was
/// repaired.
#[test]
fn each_format_and_each_repair_has_a_fixture_that_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixtures/feeds");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest.json"),
    )
    .expect("manifest is JSON");
    let base = Url::parse("https://example.org/feed").expect("url");
    let mut checked = 0;
    let mut failures = Vec::new();
    for (name, want) in manifest.as_object().expect("object") {
        let body = std::fs::read(dir.join(name)).expect("fixture");
        let feed = match parse_feed(&body, want["content_type"].as_str(), Some(&base)) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let format = match want["format"].as_str().expect("format") {
            "rss0" => FeedFormat::Rss0,
            "rss1" => FeedFormat::Rss1,
            "rss2" => FeedFormat::Rss2,
            "atom" => FeedFormat::Atom,
            _ => FeedFormat::Json,
        };
        let mut fail = |what: String| failures.push(format!("{name}: {what}"));
        if feed.format != format {
            fail(format!("format {:?}, not {format:?}", feed.format));
        }
        let titles: Vec<&str> = feed
            .entries
            .iter()
            .map(|e| e.title.as_deref().unwrap_or(""))
            .collect();
        let links: Vec<&str> = feed
            .entries
            .iter()
            .map(|e| e.link.as_deref().unwrap_or(""))
            .collect();
        let strs = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .expect("list")
                .iter()
                .map(|s| s.as_str().unwrap_or("").to_string())
                .collect()
        };
        if titles != strs(&want["titles"]) {
            fail(format!("titles {titles:?}"));
        }
        if links != strs(&want["links"]) {
            fail(format!("links {links:?}"));
        }
        match want["repair"].as_str() {
            Some(r) if !feed.repairs.iter().any(|x| x.contains(r)) => {
                fail(format!("repairs {:?} should mention {r:?}", feed.repairs))
            }
            None if !feed.repairs.is_empty() => {
                fail(format!("unexpected repairs {:?}", feed.repairs))
            }
            _ => {}
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, 20);
}
