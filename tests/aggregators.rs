//! Aggregator links, end to end: the real binary polls, on loopback, feeds written in the
//! formats Google News, Bing News and FeedBurner publish, and the publisher's own feed.
//!
//! - Google News, old-form id: the publisher's URL is decoded from the link, offline.
//! - Google News, new-form id: looked up at `[fetch] google_news` (here a loopback stand-in
//!   for Google that checks the request as Google's web client sends it: the article page's
//!   `data-n-a-sg`/`data-n-a-ts`, then the `garturlreq` batch RPC); an id the stand-in does not
//!   know fails, and that item is judged on the feed's text under Google's URL, with the reason.
//! - Bing News `apiclick` links: their `url` parameter. FeedBurner: `feedburner:origLink`.
//! - One article reached through Google, Bing and its publisher's own feed is one item, and
//!   the source an aggregator names (`<source>`) is the item's source.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Path as UrlPath;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use base64::Engine;
use common::*;
use wirewatch::store::TextSource;

/// A Google News id of the old form: a protobuf message whose field 4 is `url`.
fn old_id(url: &str) -> String {
    let mut b = vec![
        0x08,
        0x13,
        0x22,
        u8::try_from(url.len()).expect("short url"),
    ];
    b.extend_from_slice(url.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A Google News id of the new form: field 4 holds a token only Google resolves.
fn new_id(token: &str) -> String {
    old_id(&format!("AU_yqL{token}"))
}

fn page(title: &str, words: &str) -> String {
    let paras: String = (0..6)
        .map(|i| {
            format!("<p>{words} Paragraph {i} of the report on {title} goes on with detail.</p>")
        })
        .collect();
    format!(
        "<!doctype html><html><head><title>{title}</title></head><body><nav>Home</nav>\
         <article><h1>{title}</h1>{paras}</article></body></html>"
    )
}

fn rss(items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" \
         xmlns:feedburner=\"http://rssnamespace.org/feedburner/ext/1.0\"><channel>\
         <title>Feed</title><link>https://example.org/</link><description>d</description>{}\
         </channel></rss>",
        items.concat()
    )
}

fn item(title: &str, link: &str, extra: &str) -> String {
    format!(
        "<item><title>{title}</title><link>{}</link><guid isPermaLink=\"false\">{title}</guid>\
         <pubDate>Mon, 30 Nov 2026 09:00:00 GMT</pubDate><description>{title}: the feed's own \
         summary of the report, in two sentences. It names the outlet.</description>{extra}</item>",
        link.replace('&', "&amp;")
    )
}

#[test]
fn aggregator_links_lead_to_the_publisher() {
    let lookups: Arc<Mutex<Vec<String>>> = Arc::default();
    let base_cell: Arc<std::sync::OnceLock<String>> = Arc::default();
    let (b1, b2, b3, b4, b5) = (
        base_cell.clone(),
        base_cell.clone(),
        base_cell.clone(),
        base_cell.clone(),
        base_cell.clone(),
    );
    let seen = lookups.clone();
    let busy = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .route(
            "/pub/{slug}",
            axum::routing::get(|UrlPath(slug): UrlPath<String>| async move {
                let words = match slug.as_str() {
                    "a1" => "Harbour cranes stood idle as the port strike entered its third day.",
                    "a2" => "The city council voted to rebuild the old tram line by 2030.",
                    "a3" => "A rare orchid flowered in the botanical garden after forty years.",
                    "a4" => "The night ferry to the islands resumed after the winter storms.",
                    _ => return StatusCode::NOT_FOUND.into_response(),
                };
                (
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    page(&format!("Story {slug}"), words),
                )
                    .into_response()
            }),
        )
        // The publisher's own feed.
        .route(
            "/pub.xml",
            axum::routing::get(move || async move {
                let base = b1.get().cloned().unwrap_or_default();
                rss(&[item("Story a1 (publisher)", &format!("{base}/pub/a1"), "")])
            }),
        )
        // A Google News search feed: an old-form id, a new-form id, an unknown new-form id, and
        // one whose lookup finds Google busy at first.
        .route(
            "/gnews.xml",
            axum::routing::get(move || async move {
                let base = b2.get().cloned().unwrap_or_default();
                let g = "https://news.google.com/rss/articles";
                rss(&[
                    item(
                        "Story a1 - The Harbour Post",
                        &format!("{g}/{}?oc=5", old_id(&format!("{base}/pub/a1"))),
                        "<source url=\"https://harbourpost.example\">The Harbour Post</source>",
                    ),
                    item(
                        "Story a2 - City Wire",
                        &format!("{g}/{}?oc=5", new_id("known")),
                        "<source url=\"https://www.citywire.example\">City Wire</source>",
                    ),
                    item(
                        "Story gone - Nowhere Daily",
                        &format!("{g}/{}?oc=5", new_id("unknown")),
                        "<source url=\"https://nowhere.example\">Nowhere Daily</source>",
                    ),
                    item(
                        "Story a4 - Island Times",
                        &format!("{g}/{}?oc=5", new_id("busy")),
                        "<source url=\"https://islandtimes.example\">Island Times</source>",
                    ),
                ])
            }),
        )
        // A Bing News search feed: the same a1, through apiclick.
        .route(
            "/bing.xml",
            axum::routing::get(move || async move {
                let base = b3.get().cloned().unwrap_or_default();
                let target: String =
                    url::form_urlencoded::byte_serialize(format!("{base}/pub/a1?utm_source=bing").as_bytes())
                        .collect();
                rss(&[item(
                    "Story a1 (Bing)",
                    &format!("http://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=X&url={target}&c=1&mkt=en-us"),
                    "",
                )])
            }),
        )
        // A FeedBurner feed: <link> is FeedBurner's redirect, origLink the article.
        .route(
            "/feedburner.xml",
            axum::routing::get(move || async move {
                let base = b4.get().cloned().unwrap_or_default();
                rss(&[item(
                    "Story a3",
                    "http://feeds.feedburner.invalid/~r/blog/~3/xyz/",
                    &format!("<feedburner:origLink>{base}/pub/a3</feedburner:origLink>"),
                )])
            }),
        )
        // Google's stand-in: the article page, then the batch RPC.
        .route(
            "/gn/rss/articles/{id}",
            axum::routing::get(move |UrlPath(id): UrlPath<String>| async move {
                if id == new_id("busy") && busy.fetch_add(1, Ordering::SeqCst) == 0 {
                    return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")], "busy")
                        .into_response();
                }
                if id != new_id("known") && id != new_id("busy") {
                    return StatusCode::NOT_FOUND.into_response();
                }
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    format!("<html><body><c-wiz><div jscontroller=\"aLI87\" data-n-a-id=\"{id}\" \
                             data-n-a-ts=\"1764493200\" data-n-a-sg=\"AZ5r3eSIG\"></div></c-wiz></body></html>"),
                )
                    .into_response()
            }),
        )
        .route(
            "/gn/_/DotsSplashUi/data/batchexecute",
            axum::routing::post(move |body: String| async move {
                let base = b5.get().cloned().unwrap_or_default();
                let req = url::form_urlencoded::parse(body.as_bytes())
                    .find(|(k, _)| k == "f.req")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                seen.lock().expect("lock").push(req.clone());
                let slug = if req.contains(&new_id("busy")) { "a4" } else { "a2" };
                let ok = req.contains("Fbv4je")
                    && req.contains("garturlreq")
                    && (req.contains(&new_id("known")) || req.contains(&new_id("busy")))
                    && req.contains("1764493200")
                    && req.contains("AZ5r3eSIG");
                if !ok {
                    return (StatusCode::BAD_REQUEST, "bad f.req".to_string()).into_response();
                }
                let inner = serde_json::json!(["garturlres", format!("{base}/pub/{slug}"), 1]).to_string();
                let outer = serde_json::json!([["wrb.fr", "Fbv4je", inner, null, null, null, "generic"], ["di", 10]]);
                format!(")]}}'\n\n{outer}").into_response()
            }),
        );
    let base = format!("http://{}", serve(app));
    let _ = base_cell.set(base.clone());
    let feeds: String = ["gnews", "bing", "pub", "feedburner"]
        .iter()
        .map(|f| format!("[[feeds]]\nname = \"{f}\"\nurl = \"{base}/{f}.xml\"\n"))
        .collect();
    let env = TestEnv::new(&format!("google_news = \"{base}/gn/\""), &feeds);
    let check = wirewatch_ok(&["check", "-c", env.config_str()]);
    assert!(
        check.contains(&format!("google news: links looked up at {base}/gn/")),
        "{check}"
    );
    let out = wirewatch_ok(&["once", "-c", env.config_str()]);

    let store = env.store();
    let items = store.items().expect("items");
    let urls: Vec<&str> = items.iter().map(|i| i.url.as_str()).collect();
    // a1 through Google, Bing and its publisher: one item; a2 through Google's lookup; a3
    // through FeedBurner; the unknown one under Google's URL.
    assert_eq!(items.len(), 4, "{urls:?}\n{out}");
    let get = |suffix: &str| {
        items
            .iter()
            .find(|i| i.url.ends_with(suffix))
            .unwrap_or_else(|| panic!("no item {suffix}: {urls:?}"))
    };
    let a1 = get("/pub/a1");
    assert_eq!(a1.text_source, TextSource::Page);
    let a2 = get("/pub/a2");
    assert_eq!(a2.text_source, TextSource::Page, "{a2:?}");
    assert_eq!(a2.source, "City Wire", "the outlet Google names");
    let a3 = get("/pub/a3");
    assert_eq!(a3.text_source, TextSource::Page);
    let gone = items
        .iter()
        .find(|i| i.url.contains("news.google.com"))
        .unwrap_or_else(|| panic!("the unresolved item keeps Google's URL: {urls:?}"));
    assert_eq!(gone.text_source, TextSource::FeedSummary, "{gone:?}");
    assert_eq!(gone.source, "Nowhere Daily");
    assert_eq!(
        lookups.lock().expect("lock").len(),
        1,
        "one lookup per unknown id"
    );
    // Google busy (a 429) for the fourth: not judged on its headline, but looked up again
    // (its entry waits like a page that failed, about half a minute).
    assert!(
        !items.iter().any(|i| i.title.contains("a4")),
        "judged while Google was busy: {urls:?}"
    );
    drop(store);
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let a4 = loop {
        std::thread::sleep(Duration::from_secs(3));
        wirewatch_ok(&["once", "-c", env.config_str()]);
        let items = env.store().items().expect("items");
        if let Some(a4) = items.into_iter().find(|i| i.title.contains("a4")) {
            break a4;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never looked up again"
        );
    };
    assert!(a4.url.ends_with("/pub/a4"), "{a4:?}");
    assert_eq!(a4.text_source, TextSource::Page, "{a4:?}");

    let explain = wirewatch_ok(&["explain", &gone.url, "-c", env.config_str()]);
    assert!(
        explain.contains("Google News link not resolved"),
        "{explain}"
    );
    let explain = wirewatch_ok(&["explain", &a1.url, "-c", env.config_str()]);
    for via in ["news.google.com", "bing.com"] {
        assert!(explain.contains(via), "seen through {via}: {explain}");
    }
}

/// The default config's Google News and Bing News feeds, read in their real layouts
/// (`tests/data/fixtures/aggregators/`, written for these tests after the feeds' published
/// format): every entry leads to the publisher (or, for Google's opaque ids, to a lookup), is
/// named after its outlet, and keeps the aggregator's link as `via`.
#[test]
fn default_config_aggregator_feeds_yield_publisher_urls() {
    use wirewatch::parse::aggregator::{aggregated, Aggregated};
    let config = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/wirewatch.toml"),
    )
    .expect("default config");
    let value: toml::Value = toml::from_str(&config).expect("toml");
    let urls: Vec<url::Url> = value["feeds"]
        .as_array()
        .expect("feeds")
        .iter()
        .filter_map(|f| f["url"].as_str())
        .filter_map(|u| url::Url::parse(u).ok())
        .collect();
    let google: Vec<&url::Url> = urls
        .iter()
        .filter(|u| u.host_str() == Some("news.google.com"))
        .collect();
    let bing: Vec<&url::Url> = urls
        .iter()
        .filter(|u| u.host_str().is_some_and(|h| h.ends_with("bing.com")))
        .collect();
    assert!(!google.is_empty() && !bing.is_empty(), "{urls:?}");

    let fixture = |name: &str| {
        std::fs::read(data_dir().join("fixtures/aggregators").join(name)).expect("fixture")
    };
    for feed_url in google {
        let feed = wirewatch::parse::parse_feed(
            &fixture("google-news.xml"),
            Some("application/xml"),
            Some(feed_url),
        )
        .expect("google news feed");
        assert_eq!(feed.entries.len(), 3);
        let e = &feed.entries;
        assert_eq!(
            e[0].link.as_deref(),
            Some("https://www.examplewire.example/technology/microsoft-weighs-legal-action-openai-aws-2026-11-30/")
        );
        assert_eq!(
            e[1].link.as_deref(),
            Some("https://dailyledger.example/2026/11/30/openai-frontier-aws-azure-contract")
        );
        // The opaque id: the link stays Google's, to be looked up.
        let third = url::Url::parse(e[2].link.as_deref().expect("link")).expect("url");
        assert!(matches!(
            aggregated(&third),
            Some(Aggregated::GoogleLookup(_))
        ));
        for (entry, outlet) in e
            .iter()
            .zip(["Example Wire", "Daily Ledger", "Cloud Courier"])
        {
            assert_eq!(entry.source.as_deref(), Some(outlet));
            let title = entry.title.as_deref().expect("title");
            assert!(
                !title.ends_with(outlet),
                "the outlet leaves the headline: {title}"
            );
        }
        assert!(e[0]
            .via
            .as_deref()
            .is_some_and(|v| v.starts_with("https://news.google.com/rss/articles/")));
    }
    for feed_url in bing {
        let feed = wirewatch::parse::parse_feed(
            &fixture("bing-news.xml"),
            Some("application/rss+xml"),
            Some(feed_url),
        )
        .expect("bing news feed");
        let e = &feed.entries;
        assert_eq!(e.len(), 2);
        assert_eq!(
            e[0].link.as_deref(),
            Some("https://www.examplewire.example/technology/microsoft-weighs-legal-action-openai-aws-2026-11-30/?utm_source=bing")
        );
        assert_eq!(
            e[1].link.as_deref(),
            Some("https://techdispatch.example/news/azure-exclusivity-clause-openai")
        );
        assert_eq!(e[0].source.as_deref(), Some("Example Wire"));
        assert_eq!(e[1].source.as_deref(), Some("Tech Dispatch"));
        assert!(e[0]
            .via
            .as_deref()
            .is_some_and(|v| v.contains("bing.com/news/apiclick.aspx")));
    }
    // One article through Google and through Bing: one canonical URL.
    let canon = |s: &str| {
        wirewatch::dedup::url::canonicalize(&url::Url::parse(s).expect("url")).to_string()
    };
    assert_eq!(
        canon("https://www.examplewire.example/technology/microsoft-weighs-legal-action-openai-aws-2026-11-30/"),
        canon("https://www.examplewire.example/technology/microsoft-weighs-legal-action-openai-aws-2026-11-30/?utm_source=bing")
    );
}
