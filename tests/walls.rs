//! Walls, end to end: article pages that are a consent wall, a paywall teaser, a bot
//! challenge or a login page (written here after the patterns such pages share) are
//! recognised; the item is judged on the feed's own text and `explain` says why. An article
//! *about* cookie walls is read from its page as usual.

mod common;

use axum::extract::Path as UrlPath;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use common::*;
use wirewatch::store::TextSource;

const PAGES: &[(&str, &str)] = &[
    (
        "consent",
        "<html><head><title>Before you continue</title></head><body><div class=\"cmp\">\
         <h1>We value your privacy</h1><p>We and our 842 partners store and access information \
         on your device, such as cookies. You can accept all cookies or manage your cookie \
         preferences at any time.</p><button>Accept all cookies</button><button>Reject all</button>\
         </div></body></html>",
    ),
    (
        "paywall",
        "<html><head><title>Port strike enters third day</title></head><body><article>\
         <h1>Port strike enters third day</h1><p>Harbour cranes stood idle on Monday as the \
         strike by dock workers entered its third day, with talks between the union and the \
         operators stalled over pay.</p><div class=\"paywall\"><p>Subscribe to continue reading. \
         Already a subscriber? Log in.</p></div></article></body></html>",
    ),
    (
        "challenge",
        "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>\
         <div id=\"cf-wrapper\"><h1>Checking your browser before accessing the site.</h1>\
         <form id=\"challenge-form\" action=\"/?__cf_chl_tk=x\" method=\"POST\"></form>\
         <p>Please enable JavaScript and cookies to continue.</p></div></body></html>",
    ),
    (
        "login",
        "<html><head><title>Sign in</title></head><body><main><h1>Sign in to continue</h1>\
         <form><label>Email</label><input type=\"email\"><label>Password</label>\
         <input type=\"password\"><a href=\"/reset\">Forgot your password?</a></form></main>\
         </body></html>",
    ),
];

fn article() -> String {
    let p = "<p>The data protection authority ruled on Tuesday that news sites must let readers \
             reject all cookies as easily as they accept cookies, and that a consent wall \
             which hides the article until a reader agrees breaks the law. Publishers have \
             three months to change their banners.</p>";
    format!(
        "<html><head><title>Regulator rules against cookie walls</title></head><body><article>\
         <h1>Regulator rules against cookie walls</h1>{}</article></body></html>",
        p.repeat(6)
    )
}

#[test]
fn walls_are_recognised_and_the_feed_text_used() {
    let app = axum::Router::new().route(
        "/a/{slug}",
        axum::routing::get(|UrlPath(slug): UrlPath<String>| async move {
            let html = if slug == "article" {
                article()
            } else if let Some((_, h)) = PAGES.iter().find(|(s, _)| *s == slug) {
                (*h).to_string()
            } else {
                return StatusCode::NOT_FOUND.into_response();
            };
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
        }),
    );
    // The feed names the pages' server, so it is served by a second one.
    let addr = serve(app);
    let base = format!("{addr}");
    let feed_base = base.clone();
    let feed = axum::Router::new().route(
        "/feed.xml",
        axum::routing::get(move || {
            let base = feed_base.clone();
            async move {
                let items: String = PAGES
                    .iter()
                    .map(|(s, _)| *s)
                    .chain(["article"])
                    .map(|s| {
                        format!(
                            "<item><title>Item {s}</title><link>http://{base}/a/{s}</link>\
                             <guid>{s}</guid><description>The feed's own summary of item {s}: \
                             harbour cranes, dock workers and talks over pay.</description></item>"
                        )
                    })
                    .collect();
                (
                    [(header::CONTENT_TYPE, "application/rss+xml")],
                    format!(
                        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>W</title>\
                         <link>http://{base}/</link><description>d</description>{items}</channel></rss>"
                    ),
                )
            }
        }),
    );
    let feed_addr = serve(feed);
    let env = TestEnv::new(
        "",
        &format!("[[feeds]]\nname = \"walls\"\nurl = \"http://{feed_addr}/feed.xml\"\n"),
    );
    wirewatch_ok(&["once", "-c", env.config_str()]);
    let items = env.store().items().expect("items");
    assert_eq!(items.len(), PAGES.len() + 1, "{items:?}");
    for (slug, kind) in [
        ("consent", "a consent wall"),
        ("paywall", "a paywall teaser"),
        ("challenge", "a bot challenge"),
        ("login", "a login page"),
    ] {
        let url = format!("http://{base}/a/{slug}");
        let item = items
            .iter()
            .find(|i| i.url == url)
            .unwrap_or_else(|| panic!("{url} judged"));
        assert_eq!(
            item.text_source,
            TextSource::FeedSummary,
            "{slug}: {item:?}"
        );
        let why = wirewatch_ok(&["explain", &url, "-c", env.config_str()]);
        assert!(
            why.contains(&format!("words from FeedSummary (page was {kind})")),
            "{slug}: {why}"
        );
    }
    let url = format!("http://{base}/a/article");
    let item = items.iter().find(|i| i.url == url).expect("article");
    assert_eq!(item.text_source, TextSource::Page, "{item:?}");
}
