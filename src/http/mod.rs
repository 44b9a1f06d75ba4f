//! The built-in HTTP server: health, metrics, a JSON API and a status page.
//!
//! Views of the store for a person (`/`, server-rendered HTML, no external assets) and for
//! machines (`/api/*` JSON, `/metrics` in the Prometheus text format, `/healthz`); the one
//! write is the reader's feedback (`POST /api/feedback`, [`feedback`]). Loopback by default;
//! an optional bearer token guards every route.

mod feedback;
mod page;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::{Decision, FeedState, Store};

/// The scheduler's heartbeat: the Unix time of its last loop turn.
#[derive(Clone, Debug, Default)]
pub struct Heartbeat(Arc<AtomicI64>);

impl Heartbeat {
    /// Records a loop turn now.
    pub fn beat(&self) {
        self.0.store(Utc::now().timestamp(), Ordering::Relaxed);
    }

    /// Seconds since the last beat (None before the first).
    pub fn age_secs(&self) -> Option<i64> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            t => Some(Utc::now().timestamp() - t),
        }
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// The running config (feed names, topic).
    pub config: Arc<Config>,
    /// In-memory metrics.
    pub metrics: Metrics,
    /// The scheduler's heartbeat.
    pub heartbeat: Heartbeat,
    /// Required bearer token, if any.
    pub token: Option<String>,
    /// The running pipeline, which the reader's feedback goes to (none: feedback refused).
    pub pipeline: Option<crate::pipeline::Pipeline>,
}

/// The router with every route.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(status_page))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/alerts", get(api_alerts))
        .route("/api/stories", get(api_stories))
        .route("/api/feeds", get(api_feeds))
        .route("/api/feedback", post(feedback::api_feedback))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth))
        .layer(axum::middleware::map_response(no_framing))
        .with_state(state)
}

/// Every answer says it may not be shown in a frame. The status page's buttons act (a
/// feedback mark, a re-judge), and another site framing it invisibly could get a click on
/// them that comes from the page's own origin, which the cross-site check lets through
/// (clickjacking).
async fn no_framing(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("frame-ancestors 'none'"),
    );
    res
}

/// Connections served at once; more are closed as they come (the status page is for a few
/// readers and scripts: a client opening hundreds must not take the file descriptors the
/// feed fetches need).
pub const MAX_CONNECTIONS: usize = 64;
/// How long a client has to send a request's headers (also the longest a kept-alive
/// connection waits idle for the next request's).
pub const HEADER_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Binds and serves until `shutdown`; returns the bound address once listening.
///
/// Its own accept loop over hyper's HTTP/1 connections rather than `axum::serve`, which sets
/// no header timeout and no connection cap: a client that opens connections and sends
/// nothing would hold each one forever. At shutdown the listener closes at once and each
/// connection finishes the request it is answering.
pub async fn serve(
    listen: SocketAddr,
    state: AppState,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    info!(%addr, "HTTP status page and API listening");
    let app = router(state);
    let task = tokio::spawn(async move {
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        let connections = tokio_util::task::TaskTracker::new();
        loop {
            let (stream, _) = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        warn!(error = %e, "HTTP accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                debug!("HTTP connection refused: {MAX_CONNECTIONS} already open");
                continue;
            };
            let service = hyper_util::service::TowerToHyperService::new(app.clone());
            let stop = shutdown.clone();
            connections.spawn(async move {
                let _slot = slot;
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEADER_WAIT);
                let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                tokio::pin!(conn);
                let r = tokio::select! {
                    r = conn.as_mut() => r,
                    _ = stop.cancelled() => {
                        conn.as_mut().graceful_shutdown();
                        conn.await
                    }
                };
                if let Err(e) = r {
                    debug!(error = %e, "HTTP connection ended");
                }
            });
        }
        drop(listener);
        connections.close();
        connections.wait().await;
    });
    Ok((addr, task))
}

/// Whether a request may be served without a token: the server listens on a loopback address
/// and the request's `Host` names one (`localhost`, a loopback address) or is absent. A page
/// of another site can otherwise point its own domain name at 127.0.0.1 ("DNS rebinding") and
/// read the page and the API as its own, or post feedback with a matching `Origin`. A server
/// listening on another address was exposed on purpose (and is warned about without a
/// token): any name is served.
fn host_allowed(headers: &axum::http::HeaderMap, listen: SocketAddr) -> bool {
    if !listen.ip().is_loopback() {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = host.trim().to_ascii_lowercase();
    // Without the port: "[::1]:8787", "127.0.0.1:8787", "localhost:8787".
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h),
    };
    let name = name.trim_end_matches('.');
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn auth(
    State(st): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if st.token.is_none() && !host_allowed(req.headers(), st.config.http.listen) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "this server answers to localhost only while no token is set ([http] token_file or token_env)\n",
        )
            .into_response();
    }
    if let Some(token) = &st.token {
        let ok = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| constant_time_eq(t.trim().as_bytes(), token.as_bytes()));
        if !ok {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "bearer token required\n",
            )
                .into_response();
        }
    }
    next.run(req).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn internal(e: impl std::fmt::Display) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, format!("error: {e}\n")).into_response()
}

/// Runs a handler's store work on the blocking pool: the store's calls block (on
/// PostgreSQL, through an outage, for as long as its retries last), and on the async
/// runtime's few threads two such requests would stall the scheduler, the deliveries and
/// the signal handling with them.
async fn blocking(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| internal(format!("the request's task failed: {e}")))
}

/// How long `/healthz` waits for the store before calling it unhealthy.
const HEALTH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

async fn healthz(State(st): State<AppState>) -> Response {
    let store = st.store.clone();
    // A store that does not answer (a database outage) is unhealthy now, not in 90 s.
    let store_ok = tokio::time::timeout(
        HEALTH_WAIT,
        tokio::task::spawn_blocking(move || store.stats().is_ok()),
    )
    .await
    .is_ok_and(|r| r.unwrap_or(false));
    let age = st.heartbeat.age_secs();
    // The scheduler turns at least every few seconds; a minute of silence means it is stuck.
    let scheduler_ok = age.is_some_and(|a| a < 60);
    let body = serde_json::json!({
        "status": if store_ok && scheduler_ok { "ok" } else { "unhealthy" },
        "store": store_ok,
        "scheduler": scheduler_ok,
        "scheduler_last_turn_s": age,
    });
    let code = if store_ok && scheduler_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

async fn metrics(State(st): State<AppState>) -> Response {
    blocking(move || metrics_text(&st)).await
}

fn metrics_text(st: &AppState) -> Response {
    let mut out = st.metrics.render();
    // The encoder ends with "# EOF"; store gauges go before it.
    if let Some(i) = out.rfind("# EOF") {
        out.truncate(i);
    }
    match st.store.stats() {
        Ok(s) => {
            out.push_str(&format!(
                "# HELP wirewatch_outbox_depth Deliveries waiting in the outbox.\n# TYPE wirewatch_outbox_depth gauge\nwirewatch_outbox_depth {}\n\
                 # HELP wirewatch_dead_letters Deliveries given up.\n# TYPE wirewatch_dead_letters gauge\nwirewatch_dead_letters {}\n\
                 # HELP wirewatch_stored_items Items stored.\n# TYPE wirewatch_stored_items gauge\nwirewatch_stored_items {}\n\
                 # HELP wirewatch_stored_alerts Alerts stored.\n# TYPE wirewatch_stored_alerts gauge\nwirewatch_stored_alerts {}\n\
                 # HELP wirewatch_pending_entries Entries waiting for processing.\n# TYPE wirewatch_pending_entries gauge\nwirewatch_pending_entries {}\n",
                s.outbox, s.dead, s.items, s.alerts, s.pending
            ));
        }
        Err(e) => return internal(e),
    }
    if let Ok(feeds) = st.store.feed_states() {
        out.push_str("# HELP wirewatch_feed_consecutive_failures Failures since the feed's last success.\n# TYPE wirewatch_feed_consecutive_failures gauge\n");
        for (_, f) in &feeds {
            out.push_str(&format!(
                "wirewatch_feed_consecutive_failures{{feed=\"{}\"}} {}\n",
                prom_escape(&feed_name(&st.config, f)),
                f.consecutive_failures
            ));
        }
    }
    out.push_str("# EOF\n");
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

fn prom_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The display name of a feed state.
pub(crate) fn feed_name(config: &Config, st: &FeedState) -> String {
    config
        .feeds
        .iter()
        .find(|f| f.url.as_str() == st.url)
        .map(|f| f.display_name())
        .or_else(|| st.title.clone())
        .unwrap_or_else(|| st.url.clone())
}

/// `?since=24h&limit=100&topic=ID`.
#[derive(Debug, Deserialize)]
struct SinceQuery {
    since: Option<String>,
    limit: Option<usize>,
    topic: Option<String>,
}

async fn api_alerts(State(st): State<AppState>, Query(q): Query<SinceQuery>) -> Response {
    let since = match q.since.as_deref().map(humantime::parse_duration) {
        Some(Ok(d)) => Some(crate::pipeline::feedback::window_start(d)),
        Some(Err(e)) => {
            return (StatusCode::BAD_REQUEST, format!("bad since: {e}\n")).into_response()
        }
        None => None,
    };
    blocking(move || alerts_json(&st, since, &q)).await
}

fn alerts_json(st: &AppState, since: Option<DateTime<Utc>>, q: &SinceQuery) -> Response {
    match crate::report::alerts_since(&st.store, since) {
        Ok(mut v) => {
            if let Some(t) = &q.topic {
                v.retain(|a| &a.topic == t);
            }
            v.reverse();
            v.truncate(q.limit.unwrap_or(500));
            Json(v).into_response()
        }
        Err(e) => internal(e),
    }
}

/// A story as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct StoryView {
    id: String,
    /// The topic's id.
    pub(crate) topic: String,
    title: String,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    /// Its latest items (all of them, unless the caller capped them), oldest first.
    items: Vec<StoryItem>,
    /// How many items the story has, shown or not.
    items_total: usize,
}

#[derive(Debug, Serialize)]
pub(crate) struct StoryItem {
    url: String,
    title: String,
    source: String,
    published: Option<DateTime<Utc>>,
    new_story: bool,
}

/// Of `all` stories, the `limit` most recently updated, latest first, each with its latest
/// `items_cap` items. Only the stories shown have their items read: a daemon that has run
/// for a year keeps thousands of stories, and the page must not read every item it ever
/// alerted on.
pub(crate) fn story_views(
    store: &Store,
    mut all: Vec<crate::store::StoryRecord>,
    limit: usize,
    items_cap: usize,
) -> Result<Vec<StoryView>, crate::store::StoreError> {
    all.sort_by_key(|s| std::cmp::Reverse(s.last_seen));
    all.truncate(limit);
    let mut out = Vec::with_capacity(all.len());
    for s in all {
        let mut items = Vec::new();
        for url in &s.items[s.items.len().saturating_sub(items_cap)..] {
            if let Some(i) = store.item(url)? {
                let new_story = matches!(
                    i.decision(&s.topic),
                    Some(Decision::Alert {
                        new_story: true,
                        ..
                    })
                );
                items.push(StoryItem {
                    url: i.url,
                    title: i.title,
                    source: i.source,
                    published: i.published,
                    new_story,
                });
            }
        }
        out.push(StoryView {
            id: s.id,
            topic: s.topic,
            title: s.title,
            first_seen: s.first_seen,
            last_seen: s.last_seen,
            items,
            items_total: s.items.len(),
        });
    }
    Ok(out)
}

/// `?topic=ID&limit=N` for `/api/stories`.
#[derive(Debug, Deserialize)]
struct StoriesQuery {
    topic: Option<String>,
    limit: Option<usize>,
}

/// Stories the API lists when not told how many.
const API_STORIES: usize = 200;

async fn api_stories(State(st): State<AppState>, Query(q): Query<StoriesQuery>) -> Response {
    blocking(move || {
        let views = st.store.stories().and_then(|mut all| {
            if let Some(t) = &q.topic {
                all.retain(|s| &s.topic == t);
            }
            story_views(&st.store, all, q.limit.unwrap_or(API_STORIES), usize::MAX)
        });
        match views {
            Ok(v) => Json(v).into_response(),
            Err(e) => internal(e),
        }
    })
    .await
}

/// A feed's health as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct FeedView {
    name: String,
    url: String,
    last_success: Option<DateTime<Utc>>,
    last_error: Option<String>,
    last_error_at: Option<DateTime<Utc>>,
    consecutive_failures: u32,
    next_poll: Option<DateTime<Utc>>,
    polls: u64,
    not_modified: u64,
    errors: u64,
    entries: u64,
    /// Entries per day since the feed was first polled (from one day on).
    entries_per_day: Option<f64>,
    /// Where its entries' texts came from (page, feed, none).
    texts: crate::store::FeedTexts,
    /// The share of texts from the article page.
    page_text_share: Option<f64>,
}

pub(crate) fn feeds(st: &AppState) -> Result<Vec<FeedView>, crate::store::StoreError> {
    let states = st.store.feed_states()?;
    let mut out = Vec::new();
    for f in &st.config.feeds {
        let id = crate::store::feed_id(f.url.as_str());
        let s = states
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        // The configured name, else the title the feed gives itself, else its host. The
        // title comes from outside: the page escapes it like every other value.
        let texts: crate::store::FeedTexts = st
            .store
            .get_meta(&crate::store::FeedTexts::key(&id))?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        let name = match (&f.name, s.title.as_deref().map(str::trim)) {
            (None, Some(t)) if !t.is_empty() => t.to_string(),
            _ => f.display_name(),
        };
        out.push(FeedView {
            name,
            url: f.url.to_string(),
            last_success: s.last_success,
            last_error: s.last_error.clone(),
            last_error_at: s.last_error_at,
            consecutive_failures: s.consecutive_failures,
            next_poll: s.next_poll,
            polls: s.polls,
            not_modified: s.not_modified,
            errors: s.errors,
            entries: s.entries_new,
            entries_per_day: s.first_poll.map(|first| {
                let days = (Utc::now() - first).num_seconds().max(86_400) as f64 / 86_400.0;
                s.entries_new as f64 / days
            }),
            page_text_share: texts.page_share(),
            texts,
        });
    }
    Ok(out)
}

async fn api_feeds(State(st): State<AppState>) -> Response {
    blocking(move || match feeds(&st) {
        Ok(v) => Json(v).into_response(),
        Err(e) => internal(e),
    })
    .await
}

async fn status_page(State(st): State<AppState>, _h: HeaderMap) -> Response {
    blocking(move || match page::render(&st) {
        Ok(html) => Html(html).into_response(),
        Err(e) => internal(e),
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ItemRecord, StoryRecord};

    #[test]
    fn story_views_read_only_the_latest_stories_and_items() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("db"))?;
        let now = Utc::now();
        for k in 0..40i64 {
            let urls: Vec<String> = (0..12)
                .map(|i| format!("https://n.example/{k}/{i}"))
                .collect();
            for u in &urls {
                store.put_item(&ItemRecord::for_test(u, now))?;
            }
            store.put_story(&StoryRecord {
                id: format!("s{k:02}"),
                topic: "t".into(),
                title: format!("story {k}"),
                first_seen: now - chrono::Duration::hours(100),
                last_seen: now - chrono::Duration::hours(k),
                items: urls,
                summary: serde_json::Value::Null,
            })?;
        }
        let views = story_views(&store, store.stories()?, 30, 10)?;
        assert_eq!(views.len(), 30);
        // The most recently updated first: s00 (now) down to s29.
        let ids: Vec<&str> = views.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids[0], "s00");
        assert_eq!(ids[29], "s29");
        for v in &views {
            assert_eq!(v.items_total, 12);
            // The latest ten, oldest of them first.
            let urls: Vec<&str> = v.items.iter().map(|i| i.url.as_str()).collect();
            let k: u32 = v.id[1..].parse()?;
            assert_eq!(urls.len(), 10, "{urls:?}");
            assert_eq!(urls[0], format!("https://n.example/{k}/2"));
            assert_eq!(urls[9], format!("https://n.example/{k}/11"));
        }
        Ok(())
    }
}
