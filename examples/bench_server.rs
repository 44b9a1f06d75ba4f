//! Loopback feed server for the end-to-end and steady-state benchmarks (`benches/e2e.sh`,
//! `benches/steady.sh`): `FEEDS` synthetic RSS feeds of `ITEMS` items each (defaults 10,000 and
//! 20), every item with an article page, generated on request from a seed so nothing is held
//! in memory. Written in Rust on tokio/axum so the server is not the bottleneck of either
//! client it serves.
//!
//! - `GET /feed/{i}.xml`: RSS 2.0, with an `ETag`; a matching `If-None-Match` gets `304`.
//! - `GET /page/{i}/{j}.html`: an article page (navigation, header, 4-10 paragraphs of
//!   Zipf-distributed English words from the shipped word list, footer).
//!
//! Work for dedup and relevance: one item in 25 carries a near-copy of one of 400 shared
//! stories (same body, the outlet's own first sentence), and one in 100 is about the
//! configured topic (sentences from the dispute the default config watches).
//!
//! Usage: `cargo run --release --example bench_server` prints `http://127.0.0.1:PORT` on its
//! first stdout line, then serves until killed. `WW_BENCH_THREADS` sets tokio worker threads
//! (default 1).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        // xorshift64*: fixed and fast, so every request for a URL gets the same bytes.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const TOPIC: &[&str] = &[
    "Microsoft is weighing legal action against OpenAI over a $50 billion cloud agreement with Amazon.",
    "The dispute centers on OpenAI's Frontier platform and whether hosting it on Amazon Web Services violates Microsoft's Azure exclusivity.",
    "People familiar with the matter said Microsoft lawyers argue the Frontier deal breaches the exclusive hosting terms of its OpenAI investment.",
    "Amazon became Frontier's exclusive third-party cloud provider last month, backed by a $50 billion commitment.",
    "OpenAI contends that Frontier is a stateful runtime product outside the stateless API calls covered by the Azure agreement.",
];

struct Gen {
    vocab: Vec<String>,
    feeds: usize,
    items: usize,
    base: String,
}

impl Gen {
    fn words(&self, r: &mut Rng, n: usize, out: &mut String) {
        let v = self.vocab.len() as f64;
        let mut cap = true;
        for i in 0..n {
            let rank = (v.powf(r.unit()) as usize)
                .saturating_sub(1)
                .min(self.vocab.len() - 1);
            let w = &self.vocab[rank];
            if cap {
                let mut c = w.chars();
                if let Some(f) = c.next() {
                    out.extend(f.to_uppercase());
                    out.push_str(c.as_str());
                }
            } else {
                out.push_str(w);
            }
            cap = i % 17 == 16;
            out.push_str(if cap { ". " } else { " " });
        }
    }

    fn title(&self, i: usize, j: usize) -> String {
        let g = (i * self.items + j) as u64;
        let mut r = Rng::new(g ^ 0x5151);
        let mut t = String::new();
        if g % 100 == 7 {
            t.push_str("Microsoft weighs legal action over OpenAI Frontier deal with Amazon: ");
        }
        let n = 6 + r.below(6) as usize;
        self.words(&mut r, n, &mut t);
        t.trim_end_matches([' ', '.']).to_string()
    }

    fn body(&self, i: usize, j: usize) -> String {
        let g = (i * self.items + j) as u64;
        let mut out = String::new();
        let seed = if g.is_multiple_of(25) {
            // A near-copy: the outlet's own lead sentence, then a shared story's body.
            let mut r = Rng::new(g ^ 0xabcd);
            out.push_str("<p>");
            self.words(&mut r, 17, &mut out);
            out.push_str("</p>\n");
            1_000_000_000 + (g / 25) % 400
        } else {
            g
        };
        let mut r = Rng::new(seed);
        let paras = 4 + r.below(7) as usize;
        for p in 0..paras {
            out.push_str("<p>");
            if g % 100 == 7 && p < TOPIC.len() {
                out.push_str(TOPIC[(p + i) % TOPIC.len()]);
                out.push(' ');
            }
            let n = 40 + r.below(80) as usize;
            self.words(&mut r, n, &mut out);
            out.push_str("</p>\n");
        }
        out
    }

    fn feed(&self, i: usize) -> String {
        let mut s = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>\
             <title>Synthetic outlet {i}</title><link>{b}/</link><description>bench</description>\n",
            b = self.base
        );
        for j in 0..self.items {
            let day = 1 + (i + j) % 28;
            let hour = (i * 7 + j) % 24;
            let g = i * self.items + j;
            let mut r = Rng::new(g as u64 ^ 0x77);
            let mut summary = String::new();
            self.words(&mut r, 25, &mut summary);
            s.push_str(&format!(
                "<item><title>{t}</title><link>{b}/page/{i}/{j}.html</link>\
                 <guid isPermaLink=\"false\">bench-{i}-{j}</guid>\
                 <pubDate>{day:02} Oct 2026 {hour:02}:{j:02}:00 GMT</pubDate>\
                 <description>{summary}</description></item>\n",
                t = self.title(i, j),
                b = self.base
            ));
        }
        s.push_str("</channel></rss>\n");
        s
    }

    fn page(&self, i: usize, j: usize) -> String {
        let t = self.title(i, j);
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} | Outlet {i}</title>\
             <link rel=\"canonical\" href=\"{b}/page/{i}/{j}.html\"></head><body>\
             <nav><a href=\"/\">Home</a> <a href=\"/world\">World</a> <a href=\"/business\">Business</a> \
             <a href=\"/tech\">Technology</a> <a href=\"/about\">About us</a></nav>\
             <main><article><h1>{t}</h1><p class=\"byline\">By Staff Reporter</p>\n{body}</article>\
             <aside><h2>Most read</h2><ul><li><a href=\"/a\">Other story one</a></li>\
             <li><a href=\"/b\">Other story two</a></li></ul></aside></main>\
             <footer>Copyright 2026 Outlet {i}. All rights reserved. <a href=\"/privacy\">Privacy</a></footer>\
             </body></html>\n",
            b = self.base,
            body = self.body(i, j)
        )
    }
}

fn parse_path(path: &str) -> Option<(bool, usize, usize)> {
    if let Some(rest) = path.strip_prefix("/feed/") {
        let i = rest.strip_suffix(".xml")?.parse().ok()?;
        return Some((true, i, 0));
    }
    let rest = path.strip_prefix("/page/")?.strip_suffix(".html")?;
    let (i, j) = rest.split_once('/')?;
    Some((false, i.parse().ok()?, j.parse().ok()?))
}

async fn handle(State(g): State<Arc<Gen>>, uri: Uri, headers: HeaderMap) -> Response {
    match parse_path(uri.path()) {
        Some((true, i, _)) if i < g.feeds => {
            let etag = format!("\"feed-{i}-v1\"");
            let inm = headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok());
            if inm == Some(etag.as_str()) {
                return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
            }
            (
                [
                    (
                        header::CONTENT_TYPE,
                        "application/rss+xml; charset=utf-8".to_string(),
                    ),
                    (header::ETAG, etag),
                ],
                g.feed(i),
            )
                .into_response()
        }
        Some((false, i, j)) if i < g.feeds && j < g.items => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            g.page(i, j),
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn main() -> anyhow::Result<()> {
    let threads = env_usize("WW_BENCH_THREADS", 1).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let vocab = include_str!("../src/judge/relevance/data/background_en.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split('\t').next())
            .filter(|w| w.chars().all(char::is_alphabetic))
            .take(20_000)
            .map(str::to_string)
            .collect();
        let gen = Arc::new(Gen {
            vocab,
            feeds: env_usize("FEEDS", 10_000),
            items: env_usize("ITEMS", 20),
            base: format!("http://{addr}"),
        });
        println!("http://{addr}");
        use std::io::Write;
        std::io::stdout().flush()?;
        let app = Router::new().fallback(handle).with_state(gen);
        axum::serve(listener, app).await?;
        anyhow::Ok(())
    })
}
