//! Feed discovery: the feeds a web page announces (`<link rel="alternate"
//! type="application/rss+xml" href="...">`, and Atom and JSON Feed alike), then the paths
//! sites usually serve their feed at. `wirewatch feeds add` tries them in that order.

use url::Url;

/// Where sites usually serve their feed, tried after the announced ones.
pub const USUAL_PATHS: &[&str] = &[
    "/feed",
    "/feed/",
    "/rss",
    "/rss.xml",
    "/feed.xml",
    "/atom.xml",
    "/index.xml",
    "/feeds/posts/default",
    "/feed.json",
];

/// The feed URLs a page announces, in page order, then the usual paths on its host; each
/// once.
pub fn candidates(html: &str, page: &Url) -> Vec<Url> {
    let doc = scraper::Html::parse_document(html);
    let mut out: Vec<Url> = Vec::new();
    let push = |out: &mut Vec<Url>, u: Url| {
        if matches!(u.scheme(), "http" | "https") && !out.contains(&u) {
            out.push(u);
        }
    };
    if let Ok(sel) = scraper::Selector::parse("link[href]") {
        for l in doc.select(&sel) {
            let v = l.value();
            let rel = v.attr("rel").unwrap_or("").to_ascii_lowercase();
            let ty = v.attr("type").unwrap_or("").to_ascii_lowercase();
            let is_feed = ty.contains("rss") || ty.contains("atom") || ty.contains("feed+json");
            if !rel.split_whitespace().any(|r| r == "alternate") || !is_feed {
                continue;
            }
            if let Some(u) = v.attr("href").and_then(|h| page.join(h.trim()).ok()) {
                push(&mut out, u);
            }
        }
    }
    for p in USUAL_PATHS {
        if let Ok(u) = page.join(p) {
            push(&mut out, u);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_feeds_first_then_usual_paths() {
        let page = Url::parse("https://blog.example/posts/1").expect("url");
        let html = r#"<html><head>
            <link rel="stylesheet" href="/s.css">
            <link rel="alternate" type="application/rss+xml" title="Posts" href="/posts.rss">
            <link rel="alternate" type="application/atom+xml" href="https://blog.example/atom">
            <link rel="alternate" hreflang="de" href="/de/">
            <link rel="alternate" type="application/rss+xml" href="javascript:x">
            </head><body></body></html>"#;
        let c = candidates(html, &page);
        assert_eq!(c[0].as_str(), "https://blog.example/posts.rss");
        assert_eq!(c[1].as_str(), "https://blog.example/atom");
        assert_eq!(c[2].as_str(), "https://blog.example/feed");
        assert_eq!(c.len(), 2 + USUAL_PATHS.len());
        // A page without any: the usual paths.
        assert_eq!(candidates("<html></html>", &page).len(), USUAL_PATHS.len());
    }
}
