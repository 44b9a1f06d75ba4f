//! The fetch stage: HTTP as a polite, careful client.
//!
//! One [`Fetcher`] serves feeds and article pages alike. It limits requests in flight overall
//! and per host, spaces requests to one host, sends conditional requests, follows redirects
//! itself (so each hop passes the SSRF guard and permanent moves can be remembered), accepts
//! gzip, brotli and deflate, and caps both the body (after decompression) and the time of each
//! exchange.
//! It never retries on its own: the caller decides, because a feed poll and a page fetch
//! retry differently.

mod guard;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::StatusCode;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use url::Url;

pub use guard::{check_url, is_public, system_lookup, Guard, GuardedResolver, Lookup};

use crate::config::FetchConfig;

/// Why a fetch failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    /// The URL or a redirect target is not allowed (scheme, private address).
    #[error("{0}")]
    Refused(String),
    /// The server answered with a status that is not success, redirect or 304.
    #[error("HTTP {status}{}", retry_after.map(|d| format!(" (Retry-After {}s)", d.as_secs())).unwrap_or_default())]
    Status {
        /// The status code.
        status: u16,
        /// The server's Retry-After, if it sent one.
        retry_after: Option<Duration>,
    },
    /// The whole exchange took longer than the configured timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The body (after decompression) exceeded the cap.
    #[error("response body larger than {0} bytes")]
    TooLarge(u64),
    /// Too many redirects, or a redirect without a usable Location.
    #[error("redirect error: {0}")]
    Redirect(String),
    /// Connection, TLS, protocol or decoding failure.
    #[error("{0}")]
    Network(String),
    /// The host answered 429 Too Many Requests to a request of this process a moment ago:
    /// it is not asked again, for any feed or page, before the pause it asked for is over.
    #[error("{host} asked to slow down (HTTP 429); not asked again for {}s", retry_after.as_secs().max(1))]
    HostPaused {
        /// The host (and port).
        host: String,
        /// What is left of the pause.
        retry_after: Duration,
    },
}

impl FetchError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => {
                *status == 408 || *status == 425 || *status == 429 || *status >= 500
            }
            FetchError::Timeout(_) | FetchError::Network(_) | FetchError::HostPaused { .. } => true,
            FetchError::Refused(_) | FetchError::TooLarge(_) | FetchError::Redirect(_) => false,
        }
    }

    /// The delay the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            FetchError::HostPaused { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

/// What a request is for; decides the Accept header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A feed document.
    Feed,
    /// An article page.
    Page,
}

/// A request: the URL and the validators of the last good response.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// Where to go.
    pub url: &'a Url,
    /// What is expected back.
    pub kind: Kind,
    /// `ETag` to send as `If-None-Match`.
    pub etag: Option<&'a str>,
    /// `Last-Modified` to send as `If-Modified-Since`.
    pub last_modified: Option<&'a str>,
    /// The URL the validators were issued for, when a temporary redirect led there from
    /// `url`; they are sent on the hop to that URL. `None`: `url` itself.
    pub validators_for: Option<&'a Url>,
    /// A form (`application/x-www-form-urlencoded`) to POST instead of a GET; a redirect
    /// after it is followed with a GET.
    pub form: Option<&'a str>,
}

/// A successful exchange.
#[derive(Clone, Debug)]
pub struct Response {
    /// The URL that finally answered.
    pub final_url: Url,
    /// Set when every redirect hop was permanent (301/308): the new address of the resource.
    pub moved_permanently: Option<Url>,
    /// True for 304 Not Modified (then `body` is empty).
    pub not_modified: bool,
    /// The final status.
    pub status: u16,
    /// `Content-Type` of the final response.
    pub content_type: Option<String>,
    /// `ETag` of the final response.
    pub etag: Option<String>,
    /// `Last-Modified` of the final response.
    pub last_modified: Option<String>,
    /// The decompressed body.
    pub body: Bytes,
}

/// One request/response exchange: either a redirect to follow or the final answer.
enum Hop {
    Redirect {
        status: u16,
        location: Option<String>,
    },
    Done(Box<Response>),
}

/// Per-host politeness: a concurrency limit, a minimum spacing between request starts, and
/// the pause the host asked for with a 429.
struct HostSlot {
    /// `host:port`, for messages.
    name: String,
    permits: Semaphore,
    next_start: tokio::sync::Mutex<Instant>,
    /// No request before this instant: the host answered 429.
    paused_until: Mutex<Option<Instant>>,
}

/// How long a host that answers 429 without `Retry-After` is left alone. A 429 limits the
/// client, not one URL: every feed and page of the host waits. (A 503 does not pause the
/// host: one path's origin may be down while the others answer; that feed backs off alone.)
const HOST_PAUSE_DEFAULT: Duration = Duration::from_secs(60);
/// The longest pause one answer imposes on a whole host: a `Retry-After` of a day on one
/// path must not silence every feed of the host for a day (that feed itself still honours
/// it, see `pipeline::poll`).
const HOST_PAUSE_CAP: Duration = Duration::from_secs(3600);
/// A request finding its host paused for at most this long waits for the end of the pause
/// (a 429 with `Retry-After: 2`); a longer pause fails it at once with
/// [`FetchError::HostPaused`], and its caller's backoff takes over.
const HOST_PAUSE_WAIT_MAX: Duration = Duration::from_secs(10);

impl HostSlot {
    /// What remains of the host's pause, if it is paused.
    fn paused_for(&self) -> Option<Duration> {
        let until = (*self.paused_until.lock().unwrap_or_else(|p| p.into_inner()))?;
        let now = Instant::now();
        (until > now).then(|| until - now)
    }

    /// Pauses the host after a 429; returns the pause.
    fn pause_after(&self, err: &FetchError) -> Option<Duration> {
        let FetchError::Status {
            status: 429,
            retry_after,
        } = err
        else {
            return None;
        };
        let pause = retry_after
            .unwrap_or(HOST_PAUSE_DEFAULT)
            .min(HOST_PAUSE_CAP);
        let until = Instant::now() + pause;
        let mut paused = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        *paused = Some(paused.map_or(until, |t| t.max(until)));
        Some(pause)
    }
}

/// The HTTP client with its limits. Cheap to share behind an `Arc`.
pub struct Fetcher {
    client: reqwest::Client,
    global: Semaphore,
    hosts: Mutex<HashMap<String, Arc<HostSlot>>>,
    per_host_concurrency: usize,
    per_host_interval: Duration,
    timeout: Duration,
    max_body: u64,
    max_redirects: usize,
    guard: Guard,
    /// Counts the pauses hosts asked for, so that a caller saving them ([`Fetcher::pauses`])
    /// knows when there is something new to save.
    pause_count: std::sync::atomic::AtomicU64,
}

/// A host's pause on the wall clock, as the store keeps it: `host:port` and its end.
pub type HostPause = (String, chrono::DateTime<chrono::Utc>);

impl Fetcher {
    /// Builds a fetcher from the `[fetch]` settings.
    pub fn new(cfg: &FetchConfig) -> Result<Fetcher, FetchError> {
        Self::with_lookup(cfg, guard::system_lookup())
    }

    /// [`Fetcher::new`] with its own name lookup (tests).
    pub fn with_lookup(cfg: &FetchConfig, lookup: guard::Lookup) -> Result<Fetcher, FetchError> {
        let guard = Guard::new(cfg.allow_private_networks, &cfg.allow_private_hosts);
        let client = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(cfg.timeout.0)
            .connect_timeout(cfg.timeout.0.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(cfg.per_host_concurrency.max(1))
            .gzip(true)
            .brotli(true)
            .deflate(true)
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                guard: guard.clone(),
                lookup,
            }))
            .build()
            .map_err(|e| FetchError::Network(format!("building HTTP client: {e}")))?;
        Ok(Fetcher {
            client,
            global: Semaphore::new(cfg.concurrency.max(1)),
            hosts: Mutex::new(HashMap::new()),
            per_host_concurrency: cfg.per_host_concurrency.max(1),
            per_host_interval: cfg.per_host_interval.0,
            timeout: cfg.timeout.0,
            max_body: cfg.max_body.0,
            max_redirects: cfg.max_redirects,
            guard,
            pause_count: Default::default(),
        })
    }

    /// How many pauses hosts have asked this fetcher for so far.
    pub fn pause_count(&self) -> u64 {
        self.pause_count.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The hosts paused now, with when each pause ends: for the store, so that a restarted
    /// process, or another worker, leaves them alone too ([`Fetcher::adopt_pauses`]).
    pub fn pauses(&self) -> Vec<HostPause> {
        let now = chrono::Utc::now();
        let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .iter()
            .filter_map(|(key, slot)| {
                let left = chrono::Duration::from_std(slot.paused_for()?).ok()?;
                Some((key.clone(), now + left))
            })
            .collect()
    }

    /// Pauses hosts as another process was asked to (see [`Fetcher::pauses`]). An ended pause
    /// is ignored, and none lasts longer than one answer may impose from now (a clock that
    /// jumped, or a store edited, cannot silence a host for long).
    pub fn adopt_pauses(&self, pauses: &[HostPause]) {
        let now = chrono::Utc::now();
        for (key, until) in pauses {
            let Ok(left) = until.signed_duration_since(now).to_std() else {
                continue;
            };
            if left.is_zero() {
                continue;
            }
            let until = Instant::now() + left.min(HOST_PAUSE_CAP);
            let slot = self.slot_for(key.clone());
            let mut paused = slot.paused_until.lock().unwrap_or_else(|p| p.into_inner());
            *paused = Some(paused.map_or(until, |t| t.max(until)));
        }
    }

    fn host_slot(&self, url: &Url) -> Arc<HostSlot> {
        self.slot_for(format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        ))
    }

    /// The slot of `host:port`, made on first use.
    fn slot_for(&self, key: String) -> Arc<HostSlot> {
        let mut hosts = match self.hosts.lock() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        hosts
            .entry(key)
            .or_insert_with_key(|key| {
                Arc::new(HostSlot {
                    name: key.clone(),
                    permits: Semaphore::new(self.per_host_concurrency),
                    next_start: tokio::sync::Mutex::new(Instant::now()),
                    paused_until: Mutex::new(None),
                })
            })
            .clone()
    }

    /// Performs a GET (or the request's form POST), following redirects. Each hop holds its global and per-host permits
    /// from its start to the end of its body and must finish within the timeout; time spent
    /// queueing for a permit does not count against it.
    pub async fn get(&self, req: Request<'_>) -> Result<Response, FetchError> {
        let mut url = req.url.clone();
        let mut all_permanent = true;
        let mut hops = 0usize;
        loop {
            check_url(&url, &self.guard)?;
            match self.hop(&url, &req).await? {
                Hop::Redirect { status, location } => {
                    hops += 1;
                    if hops > self.max_redirects {
                        return Err(FetchError::Redirect(format!(
                            "more than {} redirects, last to {url}",
                            self.max_redirects
                        )));
                    }
                    let loc = location.ok_or_else(|| {
                        FetchError::Redirect(format!("HTTP {status} without Location from {url}"))
                    })?;
                    let next = url.join(loc.trim()).map_err(|e| {
                        FetchError::Redirect(format!("bad Location {loc:?} from {url}: {e}"))
                    })?;
                    if !matches!(status, 301 | 308) {
                        all_permanent = false;
                    }
                    tracing::debug!(from = %url, to = %next, status, "redirect");
                    url = next;
                }
                Hop::Done(mut resp) => {
                    resp.moved_permanently = (hops > 0 && all_permanent).then(|| url.clone());
                    resp.final_url = url;
                    return Ok(*resp);
                }
            }
        }
    }

    async fn hop(&self, url: &Url, req: &Request<'_>) -> Result<Hop, FetchError> {
        let slot = self.host_slot(url);
        let _host = slot
            .permits
            .acquire()
            .await
            .map_err(|_| FetchError::Network("fetcher shut down".into()))?;
        // A host that asked to be left alone is, by every feed and page of this process
        // (those queued for its permits as well): a short pause is waited out, a long one
        // fails the request at once, before it is made. The pause comes before the per-host
        // spacing (the requests that waited one out leave one by one, not in a burst), and
        // is looked at again once the request's turn has come: another request to the host
        // may have been asked to pause meanwhile.
        loop {
            while let Some(left) = slot.paused_for() {
                if left > HOST_PAUSE_WAIT_MAX {
                    return Err(FetchError::HostPaused {
                        host: slot.name.clone(),
                        retry_after: left,
                    });
                }
                tokio::time::sleep(left).await;
            }
            if !self.per_host_interval.is_zero() {
                let wait_until = {
                    let mut next = slot.next_start.lock().await;
                    let now = Instant::now();
                    let start = (*next).max(now);
                    *next = start + self.per_host_interval;
                    start
                };
                tokio::time::sleep_until(wait_until).await;
            }
            if slot.paused_for().is_none() {
                break;
            }
        }
        let _global = self
            .global
            .acquire()
            .await
            .map_err(|_| FetchError::Network("fetcher shut down".into()))?;
        let res = match tokio::time::timeout(self.timeout, self.exchange(url, req)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(self.timeout)),
        };
        if let Err(e) = &res {
            if let Some(pause) = slot.pause_after(e) {
                self.pause_count
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tracing::warn!(host = %slot.name, error = %e, pause_s = pause.as_secs(), "host asked to slow down; pausing every request to it");
            }
        }
        res
    }

    async fn exchange(&self, url: &Url, req: &Request<'_>) -> Result<Hop, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(match req.kind {
                Kind::Feed => "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8",
                Kind::Page => "text/html, application/xhtml+xml;q=0.9, */*;q=0.8",
            }),
        );
        // Validators only apply to the URL they were issued for: a feed behind a temporary
        // redirect gets them on the hop to where it answered last time.
        if url == req.validators_for.unwrap_or(req.url) {
            if let Some(v) = req.etag.and_then(|e| HeaderValue::from_str(e).ok()) {
                headers.insert(header::IF_NONE_MATCH, v);
            }
            if let Some(v) = req
                .last_modified
                .and_then(|e| HeaderValue::from_str(e).ok())
            {
                headers.insert(header::IF_MODIFIED_SINCE, v);
            }
        }
        let builder = match req.form.filter(|_| url == req.url) {
            Some(form) => self
                .client
                .post(url.clone())
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form.to_string()),
            None => self.client.get(url.clone()),
        };
        let resp = builder
            .headers(headers)
            .send()
            .await
            .map_err(|e| classify(&e, self.timeout))?;
        let status = resp.status();
        let h = resp.headers();
        let text = |name: header::HeaderName| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
            return Ok(Hop::Redirect {
                status: status.as_u16(),
                location: text(header::LOCATION),
            });
        }
        let mut out = Response {
            final_url: url.clone(),
            moved_permanently: None,
            not_modified: status == StatusCode::NOT_MODIFIED,
            status: status.as_u16(),
            content_type: text(header::CONTENT_TYPE),
            etag: text(header::ETAG),
            last_modified: text(header::LAST_MODIFIED),
            body: Bytes::new(),
        };
        if out.not_modified {
            out.etag = out.etag.or_else(|| req.etag.map(str::to_string));
            out.last_modified = out
                .last_modified
                .or_else(|| req.last_modified.map(str::to_string));
            return Ok(Hop::Done(Box::new(out)));
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after: crate::backoff::retry_after_header(h),
            });
        }
        if resp.content_length().is_some_and(|len| len > self.max_body) {
            // Content-Length is the compressed size; a larger one is already too much.
            return Err(FetchError::TooLarge(self.max_body));
        }
        out.body = self.read_body(resp).await?;
        Ok(Hop::Done(Box::new(out)))
    }

    async fn read_body(&self, mut resp: reqwest::Response) -> Result<Bytes, FetchError> {
        let mut buf = BytesMut::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if buf.len() as u64 + chunk.len() as u64 > self.max_body {
                        return Err(FetchError::TooLarge(self.max_body));
                    }
                    buf.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(buf.freeze()),
                Err(e) => return Err(classify(&e, self.timeout)),
            }
        }
    }
}

/// Turns a reqwest error into a message that says what happened, with its causes.
fn classify(e: &reqwest::Error, timeout: Duration) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout(timeout);
    }
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let part = s.to_string();
        if !msg.contains(&part) {
            msg.push_str(": ");
            msg.push_str(&part);
        }
        src = s.source();
    }
    if msg.contains("non-public addresses") {
        return FetchError::Refused(msg);
    }
    FetchError::Network(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pauses read back from a store: an ended one is ignored, none lasts longer than one
    /// answer may impose, and a longer one already here is kept.
    #[tokio::test]
    async fn adopted_pauses_are_bounded() {
        let f = Fetcher::new(&FetchConfig::default()).expect("fetcher");
        let now = chrono::Utc::now();
        f.adopt_pauses(&[
            (
                "ended.example:443".into(),
                now - chrono::Duration::seconds(5),
            ),
            ("long.example:443".into(), now + chrono::Duration::days(10)),
            (
                "short.example:80".into(),
                now + chrono::Duration::seconds(30),
            ),
        ]);
        let mut p = f.pauses();
        p.sort();
        let hosts: Vec<&str> = p.iter().map(|(h, _)| h.as_str()).collect();
        assert_eq!(hosts, ["long.example:443", "short.example:80"]);
        let cap = chrono::Duration::from_std(HOST_PAUSE_CAP).expect("cap");
        assert!(
            p[0].1 <= now + cap + chrono::Duration::seconds(1),
            "{:?}",
            p[0]
        );
        assert!(p[1].1 < now + chrono::Duration::seconds(31), "{:?}", p[1]);
        // Adopting a shorter one does not shorten the pause in force.
        f.adopt_pauses(&[(
            "long.example:443".into(),
            now + chrono::Duration::seconds(1),
        )]);
        let long = f
            .pauses()
            .into_iter()
            .find(|(h, _)| h == "long.example:443");
        assert!(long.is_some_and(|(_, u)| u > now + chrono::Duration::minutes(59)));
        assert_eq!(
            f.pause_count(),
            0,
            "adopted pauses are not new ones to store"
        );
    }

    #[test]
    fn transient_errors() {
        let s = |status| FetchError::Status {
            status,
            retry_after: None,
        };
        assert!(s(503).is_transient());
        assert!(s(429).is_transient());
        assert!(!s(404).is_transient());
        assert!(!FetchError::TooLarge(1).is_transient());
    }
}
