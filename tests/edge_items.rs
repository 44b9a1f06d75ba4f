//! Items with awkward text — empty, one word, huge, not English — are decided without a panic
//! and recorded with their reason, through the real binary.

mod common;

use axum::http::header;
use axum::response::IntoResponse;
use common::*;

fn feed(base: &str) -> String {
    let huge = "The committee met again and discussed the budget at length. ".repeat(40_000);
    let german = "Die Kommission hat heute beschlossen, die Regeln für den Handel mit \
        landwirtschaftlichen Erzeugnissen zu ändern. Die Landwirte begrüßten die Entscheidung, \
        während die Verbraucherverbände vor höheren Preisen warnten. ";
    let items = [
        ("empty", "Empty entry", String::new()),
        ("one-word", "One word", "Microsoft".to_string()),
        ("huge", "A very long report", huge),
        ("german", "Ein deutscher Artikel", german.repeat(5)),
    ];
    let mut s = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel><title>edge</title><link>http://example.org/</link><description>d</description>",
    );
    for (id, title, text) in items {
        s.push_str(&format!(
            "<item><title>{title}</title><link>{base}/a/{id}</link><guid>{id}</guid><content:encoded><![CDATA[<p>{text}</p>]]></content:encoded></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s
}

#[test]
fn awkward_texts_are_decided_with_reasons() {
    let addr = serve(
        axum::Router::new().fallback(|uri: axum::http::Uri| async move {
            let base = "http://127.0.0.1"; // links only need to be absolute; pages are not fetched
            if uri.path() == "/feed.xml" {
                ([(header::CONTENT_TYPE, "application/rss+xml")], feed(base)).into_response()
            } else {
                axum::http::StatusCode::NOT_FOUND.into_response()
            }
        }),
    );
    let env = TestEnv::new(
        "",
        &format!(
            "[[feeds]]\nname = \"edge\"\nurl = \"http://{addr}/feed.xml\"\nfull_text = false\n"
        ),
    );
    let out = wirewatch_ok(&["once", "--json", "-c", env.config_str()]);
    let r: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(r["feeds"][0]["entries_new"], 4, "{r}");
    let store = env.store();
    let items = store.items().expect("items");
    assert_eq!(items.len(), 4, "every entry decided: {items:?}");
    let by = |suffix: &str| {
        items
            .iter()
            .find(|i| i.url.ends_with(suffix))
            .unwrap_or_else(|| panic!("item {suffix}"))
    };
    assert_eq!(by("/a/empty").decision.label(), "unreadable");
    for id in ["/a/one-word", "/a/huge", "/a/german"] {
        let i = by(id);
        assert_eq!(i.decision.label(), "off_topic", "{id}: {:?}", i.decision);
    }
    assert_eq!(store.stats().expect("stats").pending, 0);
    drop(store);
    let why = wirewatch_ok(&[
        "explain",
        "http://127.0.0.1/a/empty",
        "-c",
        env.config_str(),
    ]);
    assert!(why.contains("unreadable"), "{why}");
    let why = wirewatch_ok(&[
        "explain",
        "http://127.0.0.1/a/german",
        "-c",
        env.config_str(),
    ]);
    assert!(why.contains("off-topic (score"), "{why}");
}

/// Decisions that alert nobody are written in groups; within a group the judge must still see
/// the ones before it. An off-topic original, its copy under another URL and the same article
/// listed by a second feed all land in one group here.
#[test]
fn copies_judged_in_one_group_see_each_other() {
    let text = "The harbour authority approved a new schedule for the ferries on Tuesday, \
        after months of complaints from commuters about late departures and crowded decks. \
        The changes add two early sailings and move the last crossing to midnight. ";
    let item = |id: &str, link: &str, day: u32| {
        format!(
            "<item><title>Ferry schedule {id}</title><link>{link}</link><guid>{id}</guid>\
             <pubDate>Mon, {day:02} Nov 2026 08:00:00 GMT</pubDate>\
             <content:encoded><![CDATA[<p>{}</p>]]></content:encoded></item>",
            text.repeat(4)
        )
    };
    let rss = |items: String| {
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel><title>t</title><link>http://example.org/</link><description>d</description>{items}</channel></rss>"
        )
    };
    let a = rss(item("orig", "http://news.example/ferry", 2)
        + &item("copy", "http://other.example/ferry-copy", 3));
    let b = rss(item("cross", "http://news.example/ferry?utm_source=x", 4));
    let addr = serve(axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let body = if uri.path() == "/a.xml" {
            a.clone()
        } else {
            b.clone()
        };
        async move { ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response() }
    }));
    let env = TestEnv::new(
        "",
        &format!(
            "[[feeds]]\nname = \"a\"\nurl = \"http://{addr}/a.xml\"\nfull_text = false\n\n\
             [[feeds]]\nname = \"b\"\nurl = \"http://{addr}/b.xml\"\nfull_text = false\n"
        ),
    );
    let out = wirewatch_ok(&["once", "--json", "-c", env.config_str()]);
    let r: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(r["decided"]["off_topic"], 1, "{r}");
    assert_eq!(r["decided"]["repeats"], 1, "{r}");
    assert_eq!(r["decided"]["known_url"], 1, "{r}");
    let store = env.store();
    let items = store.items().expect("items");
    assert_eq!(items.len(), 2, "{items:?}");
    let orig = items
        .iter()
        .find(|i| i.url == "http://news.example/ferry")
        .expect("original");
    let copy = items
        .iter()
        .find(|i| i.url == "http://other.example/ferry-copy")
        .expect("copy");
    assert_eq!(orig.decision.label(), "off_topic", "{:?}", orig.decision);
    assert!(
        matches!(&copy.decision, wirewatch::store::Decision::Repeat { of, .. } if of == &orig.url),
        "{:?}",
        copy.decision
    );
    assert_eq!(orig.duplicates, vec![copy.url.clone()]);
    assert_eq!(
        orig.feeds.len(),
        2,
        "listed by both feeds: {:?}",
        orig.feeds
    );
    assert_eq!(store.stats().expect("stats").pending, 0);
}
