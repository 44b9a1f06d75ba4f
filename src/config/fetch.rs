//! `[fetch]`, `[[feeds]]` and `[[sites]]`: what to poll and how.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::{ByteSize, Dur, PrivateHost};

/// HTTP behaviour shared by all feeds and pages.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchConfig {
    /// Default poll interval of a feed.
    pub interval: Dur,
    /// Total time one request may take (connect, redirects and body).
    pub timeout: Dur,
    /// The User-Agent header sent with every request.
    pub user_agent: String,
    /// Allow fetching feeds and pages on loopback, private and link-local addresses.
    pub allow_private_networks: bool,
    /// Hosts (names or addresses, each with an optional port) that may be on private networks
    /// even when `allow_private_networks` is off: a feed server on the same machine or LAN
    /// (`["localhost:3000", "rss-bridge.lan"]`), without opening every private address to
    /// links from feeds. A redirect to another private host, or to another port of one listed
    /// with a port, is still refused.
    pub allow_private_hosts: Vec<PrivateHost>,
    /// Requests in flight overall.
    pub concurrency: usize,
    /// Requests in flight to one host.
    pub per_host_concurrency: usize,
    /// Minimum spacing between the starts of two requests to one host.
    pub per_host_interval: Dur,
    /// Largest response body accepted, counted after decompression.
    pub max_body: ByteSize,
    /// Most redirects followed for one request.
    pub max_redirects: usize,
    /// Upper bound of the exponential backoff of a failing feed.
    pub max_backoff: Dur,
    /// Whether entries' article pages are fetched and extracted (per-feed override).
    pub full_text: bool,
    /// Where Google News links whose id does not decode offline are looked up
    /// ([`crate::parse::aggregator`]); empty: never (their items are judged on the feed's
    /// text, under Google's URL).
    pub google_news: String,
}

impl FetchConfig {
    /// The Google News lookup endpoint, when lookups are on.
    pub fn google_news_endpoint(&self) -> Option<Url> {
        let s = self.google_news.trim();
        (!s.is_empty()).then(|| Url::parse(s).ok()).flatten()
    }
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            interval: Dur(Duration::from_secs(15 * 60)),
            timeout: Dur(Duration::from_secs(20)),
            user_agent: default_user_agent(),
            allow_private_networks: false,
            allow_private_hosts: Vec::new(),
            concurrency: 32,
            per_host_concurrency: 2,
            per_host_interval: Dur(Duration::from_secs(1)),
            max_body: ByteSize(10 << 20),
            max_redirects: 10,
            max_backoff: Dur(Duration::from_secs(6 * 3600)),
            full_text: true,
            google_news: "https://news.google.com".into(),
        }
    }
}

/// The User-Agent sent when the config names none.
pub fn default_user_agent() -> String {
    format!(
        "wirewatch/{} (+{})",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_REPOSITORY")
    )
}

/// One feed to poll.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// The feed's URL (http or https).
    pub url: Url,
    /// A display name; defaults to the feed's host.
    #[serde(default)]
    pub name: Option<String>,
    /// Poll interval for this feed; defaults to `[fetch] interval`.
    #[serde(default)]
    pub interval: Option<Dur>,
    /// Fetch and extract each entry's article page; defaults to `[fetch] full_text`.
    #[serde(default)]
    pub full_text: Option<bool>,
}

impl FeedConfig {
    /// The name shown in logs and alerts.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(n) if !n.trim().is_empty() => n.trim().to_string(),
            _ => self.url.host_str().unwrap_or("feed").to_string(),
        }
    }
}

/// Per-site extraction rules (`[[sites]]`). The extract stage compiles them (once, when the
/// pipeline is built, and for `wirewatch check`); a bad selector or regex is an error naming it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The host the rules apply to (and its subdomains); a leading `www.` is ignored.
    pub host: String,
    /// CSS selectors of elements removed before extraction.
    #[serde(default)]
    pub drop: Vec<String>,
    /// Regular expressions on text lines: the first matching line and everything after it
    /// are dropped.
    #[serde(default)]
    pub cut_after: Vec<String>,
}
