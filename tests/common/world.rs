//! A world of articles served in rounds on loopback: `/feed.xml` (RSS) lists the current
//! round's articles, `/a/SLUG` serves each one's page, with a little page furniture. Tests
//! advance `round` between runs of the real binary.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;

use super::{data_dir, serve};

/// One article of a world.
#[derive(Clone, Debug)]
pub struct Article {
    /// Its page is `/a/SLUG`.
    pub slug: String,
    /// Its headline.
    pub title: String,
    /// Its text.
    pub paragraphs: Vec<String>,
    /// Its feed date (RFC 2822); without one, the feed dates it by the round that first
    /// lists it and its place there.
    pub published: Option<String>,
}

/// A world of articles in rounds: each round, the articles its feed lists.
pub struct World {
    /// Each round's articles.
    pub rounds: Vec<Vec<Article>>,
    /// The round served now.
    pub round: AtomicUsize,
    /// The server's base URL, once started.
    pub base: std::sync::OnceLock<String>,
}

impl World {
    /// A world of these rounds, serving the first.
    pub fn new(rounds: Vec<Vec<Article>>) -> Arc<World> {
        Arc::new(World {
            rounds,
            round: AtomicUsize::new(0),
            base: Default::default(),
        })
    }

    /// The article with this slug.
    pub fn article(&self, slug: &str) -> Option<&Article> {
        self.rounds.iter().flatten().find(|a| a.slug == slug)
    }

    /// An article's feed date (see [`Article::published`]).
    fn date(&self, a: &Article) -> String {
        if let Some(p) = &a.published {
            return p.clone();
        }
        let (first, i) = self
            .rounds
            .iter()
            .enumerate()
            .find_map(|(n, round)| round.iter().position(|b| b.slug == a.slug).map(|i| (n, i)))
            .unwrap_or((0, 0));
        format!("Mon, 0{} Nov 2026 1{i}:00:00 GMT", first + 1)
    }
}

/// A world from a JSON file under `tests/data/fixtures/`:
/// `{"rounds": [[{"slug", "title", "paragraphs", "published"?}]]}`.
pub fn load_world(name: &str) -> Arc<World> {
    let path = data_dir().join("fixtures").join(name);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("world.json")).expect("json");
    let rounds = v["rounds"]
        .as_array()
        .expect("rounds")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("round")
                .iter()
                .map(|a| Article {
                    slug: a["slug"].as_str().expect("slug").to_string(),
                    title: a["title"].as_str().expect("title").to_string(),
                    paragraphs: a["paragraphs"]
                        .as_array()
                        .expect("paragraphs")
                        .iter()
                        .map(|p| p.as_str().expect("p").to_string())
                        .collect(),
                    published: a["published"].as_str().map(str::to_string),
                })
                .collect()
        })
        .collect();
    World::new(rounds)
}

/// HTML-escaped text.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Serves the world: `/feed.xml` lists the current round's articles, `/a/SLUG` is a page.
pub fn serve_world(world: Arc<World>) -> String {
    let w1 = world.clone();
    let w2 = world.clone();
    let app = axum::Router::new()
        .route(
            "/feed.xml",
            axum::routing::get(move || {
                let w = w1.clone();
                async move {
                    let base = w.base.get().cloned().unwrap_or_default();
                    let r = w.round.load(Ordering::SeqCst);
                    let mut items = String::new();
                    for a in &w.rounds[r] {
                        items.push_str(&format!(
                            "<item><title>{}</title><link>{base}/a/{s}</link><guid>{s}</guid>\
                             <pubDate>{}</pubDate></item>",
                            esc(&a.title),
                            w.date(a),
                            s = a.slug,
                        ));
                    }
                    (
                        [(header::CONTENT_TYPE, "application/rss+xml")],
                        format!(
                            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>World</title>\
                             <link>{base}/</link><description>d</description>{items}</channel></rss>"
                        ),
                    )
                }
            }),
        )
        .route(
            "/a/{slug}",
            axum::routing::get(
                move |State(w): State<Arc<World>>, UrlPath(slug): UrlPath<String>| async move {
                    let Some(Article {
                        title, paragraphs, ..
                    }) = w.article(&slug)
                    else {
                        return StatusCode::NOT_FOUND.into_response();
                    };
                    let body: String = paragraphs.iter().map(|p| format!("<p>{}</p>", esc(p))).collect();
                    (
                        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                        format!(
                            "<!doctype html><html><head><title>{t}</title></head><body><nav>Home News</nav>\
                             <article><h1>{t}</h1>{body}</article><footer>(c) Example</footer></body></html>",
                            t = esc(title)
                        ),
                    )
                        .into_response()
                },
            ),
        )
        .with_state(w2);
    let base = format!("http://{}", serve(app));
    let _ = world.base.set(base.clone());
    base
}
