//! `wirewatch demo`: the whole pipeline, offline, on a bundled miniature world.
//!
//! A loopback HTTP server started in-process plays three outlets (`src/demo/world/world.toml`, pages in
//! `src/demo/world/pages/`, the topic's seed articles from `seeds/`, all compiled into the binary so
//! the demo works wherever the binary is). The world publishes in two rounds: copies of the
//! seeds, new coverage of the story, a republished copy of it, and off-topic news. The demo
//! writes a real config and store in a fresh directory, polls each round with the real
//! pipeline, prints each decision as the pipeline commits it, and writes a digest preview.
//!
//! Decisions are printed by a tracing layer that listens to the pipeline's own decision
//! events and looks the item up in the store: the pipeline stays unaware of the demo.

use crate::cli::output::outln;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use html_escape::encode_text as esc;
use serde::Deserialize;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::config::Config;
use crate::pipeline::{self, Pipeline};
use crate::store::{Decision, Store};

const WORLD: &str = include_str!("world/world.toml");

/// The bundled pages, by file name.
const PAGES: &[(&str, &str)] = &[
    (
        "harbor-microsoft-legal-action.html",
        include_str!("world/pages/harbor-microsoft-legal-action.html"),
    ),
    (
        "clouddesk-azure-rights-frontier.html",
        include_str!("world/pages/clouddesk-azure-rights-frontier.html"),
    ),
    (
        "metro-bike-lanes.html",
        include_str!("world/pages/metro-bike-lanes.html"),
    ),
    (
        "clouddesk-lawyers-frontier-contract.html",
        include_str!("world/pages/clouddesk-lawyers-frontier-contract.html"),
    ),
    (
        "metro-syndicated-frontier-contract.html",
        include_str!("world/pages/metro-syndicated-frontier-contract.html"),
    ),
    (
        "harbor-amazon-frontier-runtime.html",
        include_str!("world/pages/harbor-amazon-frontier-runtime.html"),
    ),
    (
        "clouddesk-otters-overtime.html",
        include_str!("world/pages/clouddesk-otters-overtime.html"),
    ),
];

/// The topic's seed articles (copies of the project's `seeds/`).
const SEEDS: &[(&str, &str)] = &[
    (
        "000_d929c50f744e18c3.txt",
        include_str!("../../seeds/000_d929c50f744e18c3.txt"),
    ),
    (
        "001_54cf897ef9e1085e.txt",
        include_str!("../../seeds/001_54cf897ef9e1085e.txt"),
    ),
    (
        "002_8d39e1cc79b33c8f.txt",
        include_str!("../../seeds/002_8d39e1cc79b33c8f.txt"),
    ),
    (
        "003_e41efc73a98973db.txt",
        include_str!("../../seeds/003_e41efc73a98973db.txt"),
    ),
    (
        "004_84651d1955d59a4a.txt",
        include_str!("../../seeds/004_84651d1955d59a4a.txt"),
    ),
];

/// The world's description (`src/demo/world/world.toml`).
#[derive(Clone, Debug, Deserialize)]
struct World {
    topic: String,
    outlets: Vec<Outlet>,
    items: Vec<WorldItem>,
}

#[derive(Clone, Debug, Deserialize)]
struct Outlet {
    id: String,
    name: String,
    format: String,
}

#[derive(Clone, Debug, Deserialize)]
struct WorldItem {
    outlet: String,
    round: u32,
    page: String,
    title: String,
    published: DateTime<Utc>,
    summary: String,
    expect: String,
}

impl World {
    fn rounds(&self) -> u32 {
        self.items.iter().map(|i| i.round).max().unwrap_or(1)
    }
}

/// What the server shares with its handlers.
#[derive(Clone)]
struct Served {
    world: Arc<World>,
    round: Arc<AtomicU32>,
    base: Arc<OnceLock<String>>,
}

/// Serves `/<outlet>/feed.xml` (the items published up to the current round) and
/// `/pages/<name>` (published pages; unpublished ones are 404 like on a real site).
async fn handle(State(s): State<Served>, uri: Uri) -> Response {
    let path = uri.path();
    let round = s.round.load(Ordering::SeqCst);
    let base = s.base.get().cloned().unwrap_or_default();
    if let Some(name) = path.strip_prefix("/pages/") {
        let published = s
            .world
            .items
            .iter()
            .any(|i| i.page == name && i.round <= round);
        if let (true, Some((_, html))) = (published, PAGES.iter().find(|(n, _)| *n == name)) {
            return ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], *html).into_response();
        }
        return StatusCode::NOT_FOUND.into_response();
    }
    for o in &s.world.outlets {
        if path == format!("/{}/feed.xml", o.id) {
            let mut items: Vec<&WorldItem> = s
                .world
                .items
                .iter()
                .filter(|i| i.outlet == o.id && i.round <= round)
                .collect();
            items.sort_by_key(|i| std::cmp::Reverse(i.published));
            let (ctype, body) = feed(o, &items, &base);
            return ([(header::CONTENT_TYPE, ctype)], body).into_response();
        }
    }
    StatusCode::NOT_FOUND.into_response()
}

/// An outlet's feed document (RSS 2.0 or Atom 1.0).
fn feed(o: &Outlet, items: &[&WorldItem], base: &str) -> (&'static str, String) {
    let mut s = String::new();
    let home = format!("{base}/{}/", o.id);
    if o.format == "atom" {
        let updated = items
            .first()
            .map(|i| i.published)
            .unwrap_or_else(Utc::now)
            .to_rfc3339();
        let _ = write!(
            s,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>{}</title><id>{home}</id><link href=\"{home}\"/><updated>{updated}</updated>\n",
            esc(&o.name)
        );
        for i in items {
            let link = format!("{base}/pages/{}", i.page);
            let _ = writeln!(
                s,
                "<entry><title>{}</title><id>{link}</id><link href=\"{link}\"/><published>{p}</published><updated>{p}</updated><summary>{}</summary></entry>",
                esc(&i.title),
                esc(&i.summary),
                p = i.published.to_rfc3339()
            );
        }
        s.push_str("</feed>\n");
        ("application/atom+xml", s)
    } else {
        let _ = write!(
            s,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>{}</title><link>{home}</link><description>{}</description>\n",
            esc(&o.name),
            esc(&o.name)
        );
        for i in items {
            let link = format!("{base}/pages/{}", i.page);
            let _ = writeln!(
                s,
                "<item><title>{}</title><link>{link}</link><guid>{link}</guid><pubDate>{}</pubDate><description>{}</description></item>",
                esc(&i.title),
                i.published.to_rfc2822(),
                esc(&i.summary)
            );
        }
        s.push_str("</channel></rss>\n");
        ("application/rss+xml", s)
    }
}

/// Prints each decision the pipeline logs, with the item's title and what the world expected.
/// It notes the decided URLs as they are logged and [`DecisionPrinter::print`] shows them once
/// the round is over: decisions are written in groups, so an item is not in the store yet
/// when its decision is logged.
#[derive(Clone)]
struct DecisionPrinter {
    store: Store,
    /// Page file name → what the world expects.
    expect: Arc<HashMap<String, String>>,
    /// Decided URLs not printed yet.
    decided: Arc<std::sync::Mutex<Vec<String>>>,
}

#[derive(Default)]
struct Fields {
    message: String,
    url: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_string(),
            "url" => self.url = Some(value.to_string()),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "url" => self.url = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for DecisionPrinter {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if !event.metadata().target().starts_with("wirewatch::judge") {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        let Some(url) = f.url else { return };
        let decision_event = f.message == "ALERT" || f.message.ends_with("; no alert");
        if decision_event {
            self.decided
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(url);
        }
    }
}

impl DecisionPrinter {
    /// Prints the decisions noted since the last call.
    fn print(&self) {
        let urls = std::mem::take(&mut *self.decided.lock().unwrap_or_else(|p| p.into_inner()));
        for url in urls {
            self.print_one(&url);
        }
    }

    fn print_one(&self, url: &str) {
        let Ok(Some(item)) = self.store.item(url) else {
            return;
        };
        let Some(decision) = item.all_decisions().next() else {
            return;
        };
        let (label, detail) = match decision {
            Decision::Alert {
                story_title,
                new_story,
                score,
                ..
            } => (
                "ALERT",
                format!(
                    "relevance {score:.2}; {} \"{story_title}\"",
                    if *new_story {
                        "starts the story"
                    } else {
                        "joins the story"
                    }
                ),
            ),
            Decision::SeedDuplicate {
                seed, similarity, ..
            } => (
                "SEED COPY",
                format!("copy of seed {seed} (similarity {similarity:.2}); no alert"),
            ),
            Decision::Repeat { of, reason, .. } => {
                ("REPEAT", format!("{reason}, of {of}; no alert"))
            }
            Decision::OffTopic {
                score, threshold, ..
            } => (
                "OFF-TOPIC",
                format!("relevance {score:.2} < {threshold:.2}; no alert"),
            ),
            Decision::Unreadable { reason } => ("UNREADABLE", format!("{reason}; no alert")),
            Decision::OtherLanguage { lang } => ("OTHER LANGUAGE", format!("{lang}; no alert")),
        };
        let expect = self
            .expect
            .iter()
            .find(|(page, _)| url.ends_with(page.as_str()))
            .map(|(_, e)| e.as_str());
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "  {label:<10} {} — {}\n             {detail}",
            item.title, item.source
        );
        if let Some(e) = expect {
            let _ = writeln!(out, "             (the world says: {e})");
        }
        let _ = out.flush();
    }
}

/// What the demo did, for its caller (and its test).
#[derive(Clone, Debug, Default)]
pub struct DemoReport {
    /// The directory holding the demo's config, store and digest.
    pub dir: PathBuf,
    /// The digest preview written.
    pub digest: PathBuf,
    /// Alerts over all rounds.
    pub alerts: usize,
}

/// Runs the demo in `dir` (a fresh directory under the system's temp dir when None).
/// Installs its own log subscriber: call it before any other.
pub async fn run(dir: Option<PathBuf>) -> anyhow::Result<DemoReport> {
    let started = Utc::now();
    let world: World = toml::from_str(WORLD).context("bundled src/demo/world/world.toml")?;
    let world = Arc::new(world);
    let dir = match dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!(
            "wirewatch-demo-{}",
            Utc::now().format("%Y%m%d-%H%M%S-%f")
        )),
    };
    if dir.join("state").exists() {
        anyhow::bail!(
            "{} already holds a demo store; give a fresh directory",
            dir.display()
        );
    }
    let seeds = dir.join("seeds");
    std::fs::create_dir_all(&seeds)
        .with_context(|| format!("cannot create {}", seeds.display()))?;
    for (name, text) in SEEDS {
        std::fs::write(seeds.join(name), text)
            .with_context(|| format!("cannot write {}", seeds.join(name).display()))?;
    }

    // The world's server, on a free loopback port.
    let served = Served {
        world: world.clone(),
        round: Arc::new(AtomicU32::new(1)),
        base: Arc::new(OnceLock::new()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on loopback for the demo world")?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let _ = served.base.set(base.clone());
    let round = served.round.clone();
    let app = axum::Router::new().fallback(handle).with_state(served);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let config_path = dir.join("wirewatch.toml");
    std::fs::write(&config_path, config_text(&world, &dir, &base))
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    let config = Arc::new(Config::load(&config_path)?);
    let store = pipeline::open_store(&config)?;
    let printer = install_printer(&store, &world);
    let pipeline = Pipeline::new(config.clone(), store.clone())?;

    outln!(
        "wirewatch demo: topic \"{}\"\n{} seed articles; {} outlets served from {base} (loopback, offline)\n",
        world.topic,
        SEEDS.len(),
        world.outlets.len()
    );
    let mut alerts = 0;
    for r in 1..=world.rounds() {
        round.store(r, Ordering::SeqCst);
        let published: Vec<String> = world
            .items
            .iter()
            .filter(|i| i.round == r)
            .map(|i| format!("    {} — {}", i.title, outlet_name(&world, &i.outlet)))
            .collect();
        outln!(
            "round {r}: {} new articles published\n{}",
            published.len(),
            published.join("\n")
        );
        outln!("decisions:");
        let report = pipeline.poll_once().await?;
        printer.print();
        alerts += report.decided.alerts;
        outln!("\n{}\n", report.summary());
    }
    store.flush().await?;
    server.abort();

    let digester = crate::notify::Digester::new(&config, store.clone())?;
    // The digest the next send would carry: everything since the demo started.
    let now = Utc::now();
    let (input, _, _) = digester.build(
        digester.local_day(now),
        &crate::notify::digest::Window::between(started, now),
    )?;
    let preview = crate::notify::render_digest_sections(&input);
    let digest = dir.join("digest.html");
    std::fs::write(&digest, &preview.html)
        .with_context(|| format!("cannot write {}", digest.display()))?;
    std::fs::write(dir.join("digest.txt"), &preview.text)
        .with_context(|| format!("cannot write {}", dir.join("digest.txt").display()))?;
    outln!(
        "{alerts} alerts. Digest preview (\"{}\"): {}\n\nThe demo's config and store are in {}; look around with\n  wirewatch -c {} alerts\n  wirewatch -c {} explain URL",
        preview.subject,
        digest.display(),
        dir.display(),
        config_path.display(),
        config_path.display()
    );
    Ok(DemoReport {
        dir,
        digest,
        alerts,
    })
}

fn outlet_name<'a>(world: &'a World, id: &'a str) -> &'a str {
    world
        .outlets
        .iter()
        .find(|o| o.id == id)
        .map(|o| o.name.as_str())
        .unwrap_or(id)
}

/// The demo's config: the world's feeds, loopback allowed, no webhooks, a digest to preview.
fn config_text(world: &World, dir: &Path, base: &str) -> String {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut s = format!(
        "# Written by `wirewatch demo`.\nstate_dir = {}\n[topic]\nname = {}\nseeds = {}\n\
         [fetch]\ninterval = \"1h\"\ntimeout = \"10s\"\nallow_private_networks = true\nper_host_interval = \"0s\"\n\
         [http]\nenabled = false\n\
         [digest]\nto = [\"you@example.org\"]\nfrom = \"wirewatch@example.org\"\n\
         # A placeholder: the demo only previews the digest, it sends nothing.\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = 25\nsecurity = \"none\"\n",
        q(&dir.join("state").to_string_lossy()),
        q(&world.topic),
        q(&dir.join("seeds").to_string_lossy()),
    );
    for o in &world.outlets {
        let _ = write!(
            s,
            "\n[[feeds]]\nname = {}\nurl = {}\n",
            q(&o.name),
            q(&format!("{base}/{}/feed.xml", o.id))
        );
    }
    s
}

/// Installs the decision printer beside warnings-only log lines on standard error.
fn install_printer(store: &Store, world: &World) -> DecisionPrinter {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let printer = DecisionPrinter {
        store: store.clone(),
        expect: Arc::new(
            world
                .items
                .iter()
                .map(|i| (i.page.clone(), i.expect.clone()))
                .collect(),
        ),
        decided: Arc::default(),
    };
    let _ = tracing_subscriber::registry()
        .with(
            printer
                .clone()
                .with_filter(tracing_subscriber::filter::LevelFilter::INFO),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter),
        )
        .try_init();
    printer
}
