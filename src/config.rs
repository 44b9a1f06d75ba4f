//! Configuration: the TOML file a user writes, turned into typed, validated settings.
//!
//! Parsing is strict on purpose: an unknown key, a malformed URL or an unreadable duration is an
//! error that names the key and the line (toml's own error carries the span), because a daemon
//! that silently ignores a typo polls the wrong thing for months.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

/// Where the default configuration lives, relative to the working directory.
pub const DEFAULT_CONFIG_PATH: &str = "config/wirewatch.toml";

/// A configuration error: which file, and what is wrong with it (toml's message includes the
/// line, the column and the offending key).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The path that was tried.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema.
    #[error("invalid config file {path}:\n{message}")]
    Parse {
        /// The path of the file.
        path: PathBuf,
        /// toml's message, with line, column and key.
        message: String,
    },
    /// The file parsed but a value is not acceptable.
    #[error("invalid config file {path}: {message}")]
    Invalid {
        /// The path of the file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
}

/// A duration written the human way in the config ("15m", "1h 30m", "0s").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(s.trim()).map(Dur).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration {s:?}: {e} (write e.g. \"90s\", \"15m\", \"2h\")"
            ))
        })
    }
}

impl Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(self.0).to_string())
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

/// A byte size written the human way ("10MiB", "512KiB", "1000000").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(ByteSize(n)),
            Raw::S(s) => parse_bytes(&s).map(ByteSize).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "invalid size {s:?} (write e.g. \"10MiB\", \"512KiB\", \"2MB\")"
                ))
            }),
        }
    }
}

impl Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "kib" => 1 << 10,
        "mb" | "m" => 1_000_000,
        "mib" => 1 << 20,
        "gb" | "g" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Directory of the sled store and other state. `$STATE_DIRECTORY` (set by systemd's
    /// `StateDirectory=`) wins over a relative value.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// What to watch.
    pub topic: TopicConfig,
    /// How to fetch.
    #[serde(default)]
    pub fetch: FetchConfig,
    /// The feeds to poll.
    #[serde(default)]
    pub feeds: Vec<FeedConfig>,
    /// Per-site extraction rules.
    #[serde(default)]
    pub sites: Vec<SiteConfig>,
    /// Webhook endpoints alerts are sent to.
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// The daily digest email.
    #[serde(default)]
    pub digest: Option<DigestConfig>,
    /// The mail server the digest goes through.
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    /// The HTTP status page, JSON API and metrics.
    #[serde(default)]
    pub http: HttpConfig,
}

/// The built-in HTTP server.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Serve at all.
    pub enabled: bool,
    /// Address to listen on; loopback by default.
    pub listen: std::net::SocketAddr,
    /// Environment variable holding a bearer token every request must present.
    pub token_env: Option<String>,
    /// File holding the bearer token.
    pub token_file: Option<PathBuf>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            enabled: true,
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8787)),
            token_env: None,
            token_file: None,
        }
    }
}

/// Payload format of a webhook.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// Generic signed JSON.
    #[default]
    Json,
    /// Slack incoming webhook (blocks).
    Slack,
    /// Discord webhook (embeds).
    Discord,
    /// ntfy topic URL.
    Ntfy,
}

/// One webhook endpoint.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: Url,
    /// Payload format.
    #[serde(default)]
    pub format: WebhookFormat,
    /// A name for logs; defaults to the host.
    #[serde(default)]
    pub name: Option<String>,
    /// Environment variable holding the HMAC secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// File holding the HMAC secret.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// Only alert on the first item of each story.
    #[serde(default)]
    pub new_stories_only: bool,
    /// Only alerts scoring at least this.
    #[serde(default)]
    pub min_score: f32,
    /// Give up on a delivery (dead letter) after this long.
    #[serde(default = "default_max_age")]
    pub max_age: Dur,
    /// Timeout of one delivery attempt.
    #[serde(default = "default_webhook_timeout")]
    pub timeout: Dur,
}

fn default_max_age() -> Dur {
    Dur(Duration::from_secs(24 * 3600))
}

fn default_webhook_timeout() -> Dur {
    Dur(Duration::from_secs(15))
}

impl WebhookConfig {
    /// Stable id of the endpoint in the outbox: changes when the URL or format changes.
    pub fn endpoint_id(&self) -> String {
        use sha2::{Digest, Sha256};
        let d = Sha256::digest(format!("{:?}|{}", self.format, self.url).as_bytes());
        hex::encode(&d[..8])
    }

    /// The name shown in logs.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            format!("{:?} {}", self.format, self.url.host_str().unwrap_or("?")).to_lowercase()
        })
    }

    /// Reads the secret from the environment or file, if one is configured.
    pub fn secret(&self) -> Result<Option<Vec<u8>>, String> {
        read_secret(
            self.secret_env.as_deref(),
            self.secret_file.as_deref(),
            "webhook secret",
        )
    }
}

/// Reads a secret from an environment variable or a file (trailing newline trimmed).
pub fn read_secret(
    env: Option<&str>,
    file: Option<&Path>,
    what: &str,
) -> Result<Option<Vec<u8>>, String> {
    if let Some(var) = env {
        return match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Some(v.into_bytes())),
            _ => Err(format!("{what}: environment variable {var} is not set")),
        };
    }
    if let Some(path) = file {
        return std::fs::read(path)
            .map(|mut v| {
                while v.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    v.pop();
                }
                Some(v)
            })
            .map_err(|e| format!("{what}: cannot read {}: {e}", path.display()));
    }
    Ok(None)
}

/// The daily digest.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DigestConfig {
    /// Local time of day to send ("08:00").
    #[serde(default = "default_digest_at")]
    pub at: String,
    /// IANA time zone ("Europe/Berlin").
    #[serde(default = "default_tz")]
    pub timezone: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Sender.
    pub from: String,
    /// Send even when there is nothing new.
    #[serde(default)]
    pub send_empty: bool,
}

fn default_digest_at() -> String {
    "08:00".into()
}

fn default_tz() -> String {
    "UTC".into()
}

impl DigestConfig {
    /// The send time, parsed.
    pub fn time(&self) -> Result<chrono::NaiveTime, String> {
        chrono::NaiveTime::parse_from_str(self.at.trim(), "%H:%M")
            .map_err(|e| format!("digest.at: {:?} is not a HH:MM time: {e}", self.at))
    }

    /// The time zone, parsed.
    pub fn tz(&self) -> Result<chrono_tz::Tz, String> {
        self.timezone.trim().parse::<chrono_tz::Tz>().map_err(|_| {
            format!(
                "digest.timezone: {:?} is not an IANA time zone (e.g. \"Europe/Berlin\")",
                self.timezone
            )
        })
    }
}

/// How to talk to the mail server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption (a local relay only).
    None,
}

/// The SMTP server.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Host name.
    pub host: String,
    /// Port.
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// Transport security.
    #[serde(default)]
    pub security: SmtpSecurity,
    /// User name, if the server wants a login.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// File holding the password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Timeout of one SMTP session.
    #[serde(default = "default_smtp_timeout")]
    pub timeout: Dur,
}

fn default_smtp_port() -> u16 {
    587
}

fn default_smtp_timeout() -> Dur {
    Dur(Duration::from_secs(30))
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("state")
}

/// The topic: its name and the seed articles that define it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    /// A human name, shown in alerts and the digest.
    pub name: String,
    /// Directory of seed articles (plain text, first line the headline).
    #[serde(default = "default_seeds")]
    pub seeds: PathBuf,
    /// Optional boolean query every alerted item must also match, e.g.
    /// `(microsoft OR azure) AND openai AND (amazon OR aws OR frontier)`.
    #[serde(default)]
    pub query: Option<String>,
    /// Relevance threshold; items scoring below are off-topic. Default: the relevance stage's.
    #[serde(default)]
    pub min_score: Option<f32>,
}

fn default_seeds() -> PathBuf {
    PathBuf::from("seeds")
}

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
    /// Hosts (names or addresses, no port) that may be on private networks even when
    /// `allow_private_networks` is off: a feed server on the same machine or LAN
    /// (`["localhost", "rss-bridge.lan"]`), without opening every private address to links
    /// from feeds. A redirect to another private host is still refused.
    pub allow_private_hosts: Vec<String>,
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

/// Per-site extraction rules.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The host the rules apply to (subdomains included).
    pub host: String,
    /// CSS selectors of elements removed before extraction.
    #[serde(default)]
    pub drop: Vec<String>,
    /// Regular expressions on text lines from which the rest of the text is dropped.
    #[serde(default)]
    pub cut_after: Vec<String>,
}

impl Config {
    /// Reads, parses and validates a config file. Relative paths inside it are resolved
    /// against the current directory, as a shell user expects.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if let Some(dir) = std::env::var_os("STATE_DIRECTORY") {
            // systemd may pass several colon-separated directories; the first is ours.
            let first = dir
                .to_string_lossy()
                .split(':')
                .next()
                .unwrap_or("")
                .to_string();
            if cfg.state_dir.is_relative() && !first.is_empty() {
                cfg.state_dir = PathBuf::from(first);
            }
        }
        cfg.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), String> {
        let f = &self.fetch;
        if f.timeout.0.is_zero() {
            return Err("fetch.timeout must be greater than 0s".into());
        }
        if f.interval.0 < Duration::from_secs(1) {
            return Err("fetch.interval must be at least 1s".into());
        }
        if f.concurrency == 0 {
            return Err("fetch.concurrency must be at least 1".into());
        }
        if f.per_host_concurrency == 0 {
            return Err("fetch.per_host_concurrency must be at least 1".into());
        }
        if f.max_body.0 < 1024 {
            return Err("fetch.max_body must be at least 1KiB".into());
        }
        if f.user_agent.trim().is_empty() {
            return Err("fetch.user_agent must not be empty".into());
        }
        for (i, h) in f.allow_private_hosts.iter().enumerate() {
            if let Err(e) = crate::fetch::guard_host(h) {
                return Err(format!(
                    "fetch.allow_private_hosts[{i}]: {h:?} is not a host: {e}"
                ));
            }
        }
        if self.topic.name.trim().is_empty() {
            return Err("topic.name must not be empty".into());
        }
        if let Some(m) = self.topic.min_score {
            if !(0.0..=1.0).contains(&m) {
                return Err(format!("topic.min_score must be between 0 and 1, not {m}"));
            }
        }
        for (i, w) in self.webhooks.iter().enumerate() {
            if !matches!(w.url.scheme(), "http" | "https") {
                return Err(format!(
                    "webhooks[{i}].url: {} is not an http or https URL",
                    w.url
                ));
            }
            if w.secret_env.is_some() && w.secret_file.is_some() {
                return Err(format!(
                    "webhooks[{i}]: set secret_env or secret_file, not both"
                ));
            }
        }
        if let Some(d) = &self.digest {
            d.time()?;
            d.tz()?;
            if d.to.is_empty() {
                return Err("digest.to must list at least one address".into());
            }
            for (i, a) in d.to.iter().enumerate() {
                if a.parse::<lettre::message::Mailbox>().is_err() {
                    return Err(format!("digest.to[{i}]: {a:?} is not an email address"));
                }
            }
            if d.from.parse::<lettre::message::Mailbox>().is_err() {
                return Err(format!("digest.from: {:?} is not an email address", d.from));
            }
            if self.smtp.is_none() {
                return Err("[digest] needs an [smtp] section to send through".into());
            }
        }
        if let Some(s) = &self.smtp {
            if s.host.trim().is_empty() {
                return Err("smtp.host must not be empty".into());
            }
            if s.password_env.is_some() && s.password_file.is_some() {
                return Err("smtp: set password_env or password_file, not both".into());
            }
        }
        if self.http.token_env.is_some() && self.http.token_file.is_some() {
            return Err("http: set token_env or token_file, not both".into());
        }
        let mut seen = HashSet::new();
        for (i, feed) in self.feeds.iter().enumerate() {
            let key = format!("feeds[{i}].url");
            if !matches!(feed.url.scheme(), "http" | "https") {
                return Err(format!(
                    "{key}: {:?} is not an http or https URL",
                    feed.url.as_str()
                ));
            }
            if feed.url.host_str().is_none() {
                return Err(format!("{key}: {:?} has no host", feed.url.as_str()));
            }
            if !seen.insert(feed.url.as_str().to_string()) {
                return Err(format!("{key}: {} is listed twice", feed.url));
            }
            if let Some(iv) = feed.interval {
                if iv.0 < Duration::from_secs(1) {
                    return Err(format!("feeds[{i}].interval must be at least 1s"));
                }
            }
        }
        for (i, site) in self.sites.iter().enumerate() {
            if site.host.trim().is_empty() {
                return Err(format!("sites[{i}].host must not be empty"));
            }
            for (j, re) in site.cut_after.iter().enumerate() {
                if let Err(e) = regex::Regex::new(re) {
                    return Err(format!(
                        "sites[{i}].cut_after[{j}]: invalid regex {re:?}: {e}"
                    ));
                }
            }
            for (j, sel) in site.drop.iter().enumerate() {
                if let Err(e) = scraper::Selector::parse(sel) {
                    return Err(format!(
                        "sites[{i}].drop[{j}]: invalid CSS selector {sel:?}: {e:?}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The effective poll interval of a feed.
    pub fn feed_interval(&self, feed: &FeedConfig) -> Duration {
        feed.interval.unwrap_or(self.fetch.interval).0
    }

    /// Feed indices in polling order: round-robin over hosts (first feed of each host, then
    /// the second, ...), so that a bounded window of polls in flight spans many hosts and a
    /// long run of feeds on one host (held to its per-host limit) does not stall the others.
    pub fn feed_poll_order(&self) -> Vec<usize> {
        let mut by_host: Vec<(String, Vec<usize>)> = Vec::new();
        let mut slot: std::collections::HashMap<String, usize> = Default::default();
        for (i, f) in self.feeds.iter().enumerate() {
            let host = f.url.host_str().unwrap_or_default().to_ascii_lowercase();
            let k = *slot.entry(host.clone()).or_insert_with(|| {
                by_host.push((host, Vec::new()));
                by_host.len() - 1
            });
            by_host[k].1.push(i);
        }
        let mut out = Vec::with_capacity(self.feeds.len());
        let mut round = 0;
        while out.len() < self.feeds.len() {
            for (_, list) in &by_host {
                if let Some(&i) = list.get(round) {
                    out.push(i);
                }
            }
            round += 1;
        }
        out
    }

    /// How many feed polls run (or wait for the fetcher's limits) at once.
    pub fn max_polls_in_flight(&self) -> usize {
        (self.fetch.concurrency.max(1) * 4).max(64)
    }

    /// Path of the sled database inside the state directory.
    pub fn db_path(&self) -> PathBuf {
        self.state_dir.join("db")
    }

    /// A human-readable account of what was understood, for `wirewatch check`. Never prints
    /// secrets.
    pub fn describe(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let f = &self.fetch;
        let _ = writeln!(s, "topic:      {}", self.topic.name);
        let _ = writeln!(s, "seeds:      {}", self.topic.seeds.display());
        let _ = writeln!(s, "state_dir:  {}", self.state_dir.display());
        let _ = writeln!(
            s,
            "fetch:      every {}, timeout {}, {} in flight ({} per host, {} apart), body cap {} bytes, private networks {}",
            f.interval,
            f.timeout,
            f.concurrency,
            f.per_host_concurrency,
            f.per_host_interval,
            f.max_body.0,
            if f.allow_private_networks {
                "allowed".to_string()
            } else if f.allow_private_hosts.is_empty() {
                "refused".to_string()
            } else {
                format!("refused (except {})", f.allow_private_hosts.join(", "))
            }
        );
        let _ = writeln!(s, "user_agent: {}", f.user_agent);
        let _ = writeln!(s, "feeds:      {}", self.feeds.len());
        for feed in &self.feeds {
            let _ = writeln!(
                s,
                "  - {} <{}> every {}{}",
                feed.display_name(),
                feed.url,
                Dur(self.feed_interval(feed)),
                if feed.full_text.unwrap_or(f.full_text) {
                    ""
                } else {
                    ", feed text only"
                }
            );
        }
        if let Some(q) = &self.topic.query {
            let _ = writeln!(s, "query:      {q}");
        }
        for w in &self.webhooks {
            let _ = writeln!(
                s,
                "webhook:    {} <{}>{}{}{}",
                w.display_name(),
                redact_url(&w.url),
                if w.new_stories_only {
                    ", new stories only"
                } else {
                    ""
                },
                if w.min_score > 0.0 {
                    format!(", min score {}", w.min_score)
                } else {
                    String::new()
                },
                match (&w.secret_env, &w.secret_file) {
                    (Some(v), _) => format!(", signed (secret from ${v})"),
                    (_, Some(f)) => format!(", signed (secret from {})", f.display()),
                    _ => String::new(),
                }
            );
        }
        if let Some(d) = &self.digest {
            let _ = writeln!(
                s,
                "digest:     daily at {} {} to {} from {}{}",
                d.at,
                d.timezone,
                d.to.join(", "),
                d.from,
                if d.send_empty {
                    " (also when empty)"
                } else {
                    ""
                }
            );
        }
        if let Some(m) = &self.smtp {
            let _ = writeln!(
                s,
                "smtp:       {}:{} {:?}{}",
                m.host,
                m.port,
                m.security,
                m.username
                    .as_deref()
                    .map(|u| format!(", login {u}"))
                    .unwrap_or_default()
            );
        }
        if self.http.enabled {
            let _ = writeln!(
                s,
                "http:       http://{}/{}",
                self.http.listen,
                if self.http.token_env.is_some() || self.http.token_file.is_some() {
                    " (bearer token required)"
                } else {
                    ""
                }
            );
        } else {
            let _ = writeln!(s, "http:       disabled");
        }
        if !self.sites.is_empty() {
            let _ = writeln!(s, "sites:      {}", self.sites.len());
            for site in &self.sites {
                let _ = writeln!(
                    s,
                    "  - {}: {} drop selectors, {} cut_after patterns",
                    site.host,
                    site.drop.len(),
                    site.cut_after.len()
                );
            }
        }
        s
    }
}

/// A URL safe to print: the path of a webhook URL is often the secret (Slack, Discord), so
/// only scheme, host and the first path segment are shown.
pub fn redact_url(u: &Url) -> String {
    let first = u.path_segments().and_then(|mut s| s.next()).unwrap_or("");
    let rest = u.path().len() > first.len() + 1 || u.query().is_some();
    format!(
        "{}://{}/{}{}",
        u.scheme(),
        u.host_str().unwrap_or(""),
        first,
        if rest { "/…" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_are_polled_round_robin_over_hosts() {
        let mut toml = String::from("[topic]\nname = \"t\"\nseeds = \"seeds\"\n");
        for u in [
            "https://a.example/1",
            "https://a.example/2",
            "https://a.example/3",
            "https://b.example/1",
            "https://c.example/1",
            "https://B.example/2",
        ] {
            toml.push_str(&format!("[[feeds]]\nurl = \"{u}\"\n"));
        }
        let c = Config::parse(&toml, Path::new("test.toml")).expect("valid config");
        assert_eq!(c.feed_poll_order(), [0, 3, 4, 1, 5, 2]);
    }

    const MINIMAL: &str = r#"
[topic]
name = "t"
[[feeds]]
url = "https://example.org/feed.xml"
"#;

    fn parse(s: &str) -> Result<Config, ConfigError> {
        Config::parse(s, Path::new("test.toml"))
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse(MINIMAL).expect("valid");
        assert_eq!(c.fetch.interval.0, Duration::from_secs(900));
        assert_eq!(c.fetch.max_body.0, 10 << 20);
        assert_eq!(c.feeds[0].display_name(), "example.org");
        assert!(!c.fetch.allow_private_networks);
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = parse("[topic]\nname = \"t\"\nnmae = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("nmae"), "{err}");
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn bad_duration_names_line() {
        let err = parse("[topic]\nname = \"t\"\n[fetch]\ninterval = \"15 parsecs\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 4"), "{err}");
        assert!(err.contains("invalid duration"), "{err}");
    }

    #[test]
    fn bad_url_names_line() {
        let err = parse("[topic]\nname = \"t\"\n[[feeds]]\nurl = \"not a url\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 4"), "{err}");
        let err = parse("[topic]\nname = \"t\"\n[[feeds]]\nurl = \"ftp://x.org/f\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("feeds[0].url"), "{err}");
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_bytes("10MiB"), Some(10 << 20));
        assert_eq!(parse_bytes("2 kb"), Some(2000));
        assert_eq!(parse_bytes("12"), Some(12));
        assert_eq!(parse_bytes("x"), None);
        assert_eq!(parse_bytes("99999999999999999999GiB"), None);
    }
}
