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
    assert_eq!(
        by("/a/empty")
            .first_decision()
            .map(|d| d.label())
            .unwrap_or("none"),
        "unreadable"
    );
    for id in ["/a/one-word", "/a/huge", "/a/german"] {
        let i = by(id);
        assert_eq!(
            i.first_decision().map(|d| d.label()).unwrap_or("none"),
            "off_topic",
            "{id}: {:?}",
            i.first_decision()
        );
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
    // Far below the threshold, the decision keeps only its score: explain scores the kept
    // text again to say what the score rests on.
    let why = wirewatch_ok(&["explain", "http://127.0.0.1/a/huge", "-c", env.config_str()]);
    let again = why
        .lines()
        .skip_while(|l| !l.contains("scored again now, from the kept text"))
        .collect::<Vec<_>>();
    assert!(
        again.first().is_some_and(|l| l.contains("still below")),
        "{why}"
    );
    assert!(
        again
            .get(1)
            .is_some_and(|l| l.trim_start().starts_with("terms:")),
        "{why}"
    );
}

/// One RSS item with its text as `content:encoded`.
fn rss_item(id: &str, link: &str, day: u32, text: &str) -> String {
    format!(
        "<item><title>Item {id}</title><link>{link}</link><guid>{id}</guid>\
         <pubDate>Mon, {day:02} Nov 2026 08:00:00 GMT</pubDate>\
         <content:encoded><![CDATA[{text}]]></content:encoded></item>"
    )
}

/// A whole RSS document around `items`.
fn rss(items: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel><title>t</title><link>http://example.org/</link><description>d</description>{items}</channel></rss>"
    )
}

/// A config with two feeds, `/a.xml` and `/b.xml`, served from `a` and `b` (feed text only).
fn two_feeds(a: String, b: String) -> TestEnv {
    let addr = serve(axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let body = if uri.path() == "/a.xml" {
            a.clone()
        } else {
            b.clone()
        };
        async move { ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response() }
    }));
    TestEnv::new(
        "",
        &format!(
            "[[feeds]]\nname = \"a\"\nurl = \"http://{addr}/a.xml\"\nfull_text = false\n\n\
             [[feeds]]\nname = \"b\"\nurl = \"http://{addr}/b.xml\"\nfull_text = false\n"
        ),
    )
}

/// On-topic paragraphs (the demo world's "lawyers study the Frontier contract" article).
const ON_TOPIC: &str = "<p>Microsoft has asked outside counsel to review whether OpenAI's plan to \
    run its Frontier agent platform on Amazon Web Services breaches the exclusivity terms that \
    route OpenAI's API traffic through Azure, two people briefed on the work said on Tuesday.</p>\
    <p>The review focuses on a narrow question: whether the stateful runtime environment that \
    Amazon and OpenAI are building for Frontier is a new kind of product, as the two companies \
    argue, or simply OpenAI's models served through another cloud, which Microsoft's agreement \
    reserves for Azure.</p><p>OpenAI's position is that its contract with Microsoft covers \
    stateless API calls, where each request stands alone. Frontier agents keep memory, call \
    tools and carry context from one task to the next, and OpenAI says that workload was never \
    part of the Azure exclusivity.</p><p>Microsoft is not persuaded. People close to the company \
    say a stateful layer on top of the same models does not change who serves them, and that \
    the $50 billion Amazon investment tied to the deal shows how much enterprise business could \
    move from Azure to AWS.</p><p>No lawsuit has been filed, and the people cautioned that legal \
    review is a routine step before any negotiation with a partner of this size.</p>";

/// Decisions that alert nobody are written in groups; within a group the judge must still see
/// the ones before it. After the original's alert, a longer re-post (a repeat), an exact copy
/// of that re-post under a third URL, and the re-post listed again by a second feed all land
/// in one group: the copy must be found as a repeat of the unwritten re-post, and the listing
/// as its URL.
#[test]
fn copies_judged_in_one_group_see_each_other() {
    let extra = "<p>Amazon declined to comment. OpenAI said it honours its agreements with \
        Microsoft and expects Frontier on AWS to launch on schedule this spring, while analysts \
        expect the dispute to shape how both clouds sell agent platforms to large customers.</p>";
    let longer = format!("{ON_TOPIC}{extra}");
    let a = rss(
        &(rss_item("orig", "http://news.example/frontier", 2, ON_TOPIC)
            + &rss_item("repost", "http://wire.example/frontier-review", 3, &longer)
            + &rss_item("copy", "http://other.example/frontier-copy", 4, &longer)),
    );
    let b = rss(&rss_item(
        "cross",
        "http://wire.example/frontier-review?utm_source=x",
        5,
        &longer,
    ));
    let env = two_feeds(a, b);
    let out = wirewatch_ok(&["once", "--json", "-c", env.config_str()]);
    let r: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(r["decided"]["alerts"], 1, "{r}");
    assert_eq!(r["decided"]["repeats"], 2, "{r}");
    assert_eq!(r["decided"]["known_url"], 1, "{r}");
    let store = env.store();
    let items = store.items().expect("items");
    assert_eq!(items.len(), 3, "{items:?}");
    let find = |url: &str| {
        items
            .iter()
            .find(|i| i.url == url)
            .unwrap_or_else(|| panic!("{url} in {items:?}"))
    };
    let orig = find("http://news.example/frontier");
    let repost = find("http://wire.example/frontier-review");
    let copy = find("http://other.example/frontier-copy");
    assert_eq!(
        orig.first_decision().map(|d| d.label()).unwrap_or("none"),
        "alert",
        "{:?}",
        orig.first_decision()
    );
    assert!(
        matches!(repost.first_decision().expect("decided"), wirewatch::store::Decision::Repeat { of, .. } if of == &orig.url),
        "{:?}",
        repost.first_decision()
    );
    assert!(
        matches!(copy.first_decision().expect("decided"), wirewatch::store::Decision::Repeat { of, .. } if of == &repost.url),
        "the exact copy is found as a copy of the unwritten re-post: {:?}",
        copy.first_decision()
    );
    assert_eq!(repost.duplicates, vec![copy.url.clone()]);
    assert_eq!(
        repost.feeds.len(),
        2,
        "listed by both feeds: {:?}",
        repost.feeds
    );
    assert_eq!(store.stats().expect("stats").pending, 0);
}

/// Only texts that could alert are indexed for copies: an off-topic article and its copy are
/// both off-topic, and neither adds a record to the duplicate index.
#[test]
fn off_topic_texts_are_not_indexed_for_copies() {
    let text = "<p>The harbour authority approved a new schedule for the ferries on Tuesday, \
        after months of complaints from commuters about late departures and crowded decks. \
        The changes add two early sailings and move the last crossing to midnight.</p>"
        .repeat(4);
    let a = rss(&(rss_item("orig", "http://news.example/ferry", 2, &text)
        + &rss_item("copy", "http://other.example/ferry-copy", 3, &text)));
    let env = two_feeds(a, rss(""));
    let out = wirewatch_ok(&["once", "--json", "-c", env.config_str()]);
    let r: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(r["decided"]["off_topic"], 2, "{r}");
    assert_eq!(r["decided"]["repeats"], 0, "{r}");
    let store = env.store();
    let seeds = store.stats().expect("stats").seeds;
    assert!(seeds > 0);
    assert_eq!(store.dup_len(), seeds, "only the seeds are indexed");
}

/// A feed that gives every item the same `<guid>` (here the site's home page, a common
/// mistake): each item is still stored and judged, and the next poll of the same document
/// finds nothing new.
#[test]
fn items_sharing_one_guid_are_each_judged_once() {
    let item = |n: u32| {
        format!(
            "<item><title>Report {n}</title><link>http://example.org/news/{n}</link>\
             <guid>http://example.org/</guid><pubDate>Mon, 0{n} Nov 2026 08:00:00 GMT</pubDate>\
             <content:encoded><![CDATA[<p>Council report number {n} on the harbour budget.</p>]]>\
             </content:encoded></item>"
        )
    };
    let doc = rss(&format!("{}{}{}", item(1), item(2), item(3)));
    let env = two_feeds(doc, rss(""));
    // One poll: the whole report and feed a's part of it.
    let run = || -> (serde_json::Value, serde_json::Value) {
        let out = wirewatch_ok(&["once", "--json", "-c", env.config_str()]);
        let r: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
        let a = r["feeds"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["name"] == "a"))
            .cloned()
            .expect("feed a");
        (r, a)
    };
    let (r, a) = run();
    assert_eq!(a["entries_new"], 3, "{r}");
    let urls: Vec<String> = env
        .store()
        .items()
        .expect("items")
        .into_iter()
        .map(|i| i.url)
        .collect();
    for n in 1..=3 {
        let want = format!("http://example.org/news/{n}");
        assert!(urls.contains(&want), "{want} judged: {urls:?}");
    }
    let (r, a) = run();
    assert_eq!(a["entries_new"], 0, "the same ids on the next poll: {r}");
    assert_eq!(a["entries_updated"], 0, "{r}");
}

/// An article page that fails transiently (a 503) is tried again later, not at the very next
/// pass: passes come every few seconds in a busy daemon, and spending the attempts on one short
/// outage of the publisher's site would judge the item on its feed's summary. Until its time
/// the entry stays pending, untouched; then its page is fetched and judged.
#[test]
fn a_failing_page_is_retried_after_a_wait_not_at_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let page_hits = Arc::new(AtomicUsize::new(0));
    let hits = page_hits.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let feed = rss(&format!(
        "<item><title>Lawyers study the contract</title><link>{base}/page</link>\
         <guid>p1</guid><description>Short summary.</description></item>"
    ));
    let addr = serve_listener(
        listener,
        axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let (hits, feed) = (hits.clone(), feed.clone());
            async move {
                if uri.path() != "/page" {
                    return ([(header::CONTENT_TYPE, "application/rss+xml")], feed).into_response();
                }
                if hits.fetch_add(1, Ordering::SeqCst) == 0 {
                    return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy").into_response();
                }
                let body = format!(
                    "<html><body><article><h1>Lawyers study the contract</h1>{ON_TOPIC}</article></body></html>"
                );
                ([(header::CONTENT_TYPE, "text/html")], body).into_response()
            }
        }),
    );
    let env = TestEnv::new(
        "",
        &format!("[[feeds]]\nname = \"a\"\nurl = \"http://{addr}/feed.xml\"\n"),
    );
    let once = || -> serde_json::Value {
        let out = wirewatch_ok(&["once", "--json", "-c", env.config_str()]);
        serde_json::from_str(out.trim()).expect("json")
    };
    let r = once();
    assert_eq!(r["decided"]["deferred"], 1, "{r}");
    assert_eq!(page_hits.load(Ordering::SeqCst), 1);
    // The next pass, at once: the page is left alone, the entry still pending.
    once();
    assert_eq!(
        page_hits.load(Ordering::SeqCst),
        1,
        "not retried before its time"
    );
    let store = env.store();
    let keys = store.pending_order().expect("pending");
    assert_eq!(keys.len(), 1);
    let mut rec = store
        .pending_entry(&keys[0])
        .expect("read")
        .expect("pending entry");
    let wait = rec.retry_at.expect("a retry time") - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::seconds(15) && wait <= chrono::Duration::seconds(36),
        "about 30 s: {wait}"
    );
    // Its time comes (the clock moved on): the page is fetched and the item judged on it.
    rec.retry_at = Some(chrono::Utc::now() - chrono::Duration::seconds(1));
    store.put_entry(&rec).expect("write");
    drop(store);
    let r = once();
    assert_eq!(page_hits.load(Ordering::SeqCst), 2, "{r}");
    assert_eq!(r["decided"]["deferred"], 0, "{r}");
    let items = env.store().items().expect("items");
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].text_source, wirewatch::store::TextSource::Page);
}

/// Article pages on a host that answered 429 with a long `Retry-After`: the one page asked
/// waits the pause out, and the pages of that host not asked because of the pause spend none
/// of their attempts (they wait for the pause, a second more). Before, each spent one per
/// pass of the pause, so a pause of an hour ended with the items judged on their feed text.
#[test]
fn pages_of_a_paused_host_spend_no_attempts() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let page_hits = Arc::new(AtomicUsize::new(0));
    let hits = page_hits.clone();
    let pages = serve_listener(
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind"),
        axum::Router::new().fallback(move || {
            let hits = hits.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                (
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "120")],
                    "slow down",
                )
                    .into_response()
            }
        }),
    );
    let items: String = (1..=3)
        .map(|n| {
            format!(
                "<item><title>Lawyers study the contract {n}</title>\
                 <link>http://{pages}/page/{n}</link><guid>p{n}</guid>\
                 <description>Short summary.</description></item>"
            )
        })
        .collect();
    let feed = rss(&items);
    let addr = serve_listener(
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind"),
        axum::Router::new().fallback(move || {
            let feed = feed.clone();
            async move { ([(header::CONTENT_TYPE, "application/rss+xml")], feed).into_response() }
        }),
    );
    let env = TestEnv::new(
        "per_host_concurrency = 1",
        &format!("[[feeds]]\nname = \"a\"\nurl = \"http://{addr}/feed.xml\"\n"),
    );
    let out = wirewatch_ok(&["once", "--json", "-c", env.config_str()]);
    let r: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(r["decided"]["deferred"], 3, "{r}");
    assert_eq!(page_hits.load(Ordering::SeqCst), 1, "one page asked");
    let store = env.store();
    let mut attempts = Vec::new();
    for key in store.pending_order().expect("pending") {
        let rec = store
            .pending_entry(&key)
            .expect("read")
            .expect("pending entry");
        let wait = rec.retry_at.expect("a retry time") - chrono::Utc::now();
        assert!(
            wait > chrono::Duration::seconds(100) && wait <= chrono::Duration::seconds(150),
            "until the host's pause is over: {wait}"
        );
        attempts.push(rec.attempts);
    }
    attempts.sort_unstable();
    assert_eq!(attempts, [0, 0, 1], "only the page asked spent an attempt");
}

/// A feed's stored state that can no longer be read (a disk error, a hand-edited store) costs
/// that feed its validators and backoff, not its polls: the run goes on, the feed is polled and
/// its entries, already stored, are not new again. (It once failed every poll of the feed, and
/// the daemon at start.)
#[test]
fn an_unreadable_feed_state_starts_the_feed_afresh() {
    let item = |n: u32| {
        rss_item(
            &format!("e{n}"),
            &format!("http://example.org/e{n}"),
            n,
            "<p>Text.</p>",
        )
    };
    let env = two_feeds(rss(&format!("{}{}", item(1), item(2))), rss(""));
    let run = || -> serde_json::Value {
        let out = wirewatch_ok(&["once", "--json", "-c", env.config_str()]);
        serde_json::from_str(out.trim()).expect("json")
    };
    let r = run();
    assert_eq!(r["feeds"][0]["entries_new"], 2, "{r}");
    {
        let db = sled::open(env.db_path()).expect("open sled");
        let feeds = db.open_tree("feeds").expect("feeds tree");
        let keys: Vec<_> = feeds.iter().keys().map(|k| k.expect("key")).collect();
        assert_eq!(keys.len(), 2);
        for k in keys {
            feeds.insert(k, &b"\xff garbled"[..]).expect("insert");
        }
        db.flush().expect("flush");
    }
    let r = run();
    for f in r["feeds"].as_array().expect("feeds") {
        assert!(f["error"].is_null(), "{r}");
        assert_eq!(f["entries_new"], 0, "entries kept: {r}");
    }
    let states = env.store().feed_states().expect("states readable again");
    assert_eq!(states.len(), 2, "{states:?}");
}
