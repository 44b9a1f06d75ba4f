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
