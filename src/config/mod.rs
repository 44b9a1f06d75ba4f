//! Configuration: the TOML file a user writes, turned into typed, validated settings.
//!
//! Parsing is strict on purpose: an unknown key, a malformed URL or an unreadable duration is an
//! error that names the key and the line (toml's own error carries the span), because a daemon
//! that silently ignores a typo polls the wrong thing for months.
//!
//! One file per section ([`topic`], [`fetch`]: feeds and sites too, [`notify`]: webhooks,
//! digest, SMTP, [`http`], [`store`]), the value types written the human way ([`values`]), secrets read
//! from the environment or files ([`secret`]), the checks a value's type cannot express
//! ([`validate`]) and `wirewatch check`'s account of it all ([`describe`]).

mod describe;
pub mod fetch;
pub mod http;
mod lines;
pub mod notify;
mod secret;
pub mod store;
pub mod topic;
mod validate;
pub mod values;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use describe::redact_url;
pub use fetch::{default_user_agent, FeedConfig, FetchConfig, SiteConfig};
pub use http::HttpConfig;
pub use notify::{DigestConfig, SmtpConfig, SmtpSecurity, WebhookConfig, WebhookFormat};
pub use secret::{read_secret, SecretError};
pub use store::StoreConfig;
pub use topic::TopicConfig;
pub use validate::InvalidSetting;
pub use values::{ByteSize, Dur, HostName, PrivateHost};

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
    #[error("invalid config file {path}{}: {source}", at_line(*.line))]
    Invalid {
        /// The path of the file.
        path: PathBuf,
        /// The line of the key, when it is written in the file.
        line: Option<usize>,
        /// Which key, and what is wrong with it.
        source: InvalidSetting,
    },
}

/// ", line N" for an error's message, or nothing.
fn at_line(line: Option<usize>) -> String {
    line.map(|n| format!(", line {n}")).unwrap_or_default()
}

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Directory of the sled store and other state. `$STATE_DIRECTORY` (set by systemd's
    /// `StateDirectory=`) wins over a relative value.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// What to watch, as one `[topic]` table (moved into `topics` when the file is read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<TopicConfig>,
    /// What to watch, as `[[topics]]` tables (or the one `[topic]`).
    #[serde(default)]
    pub topics: Vec<TopicConfig>,
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
    /// What the store keeps, and for how long.
    #[serde(default)]
    pub store: StoreConfig,
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("state")
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
        match (cfg.topic.take(), cfg.topics.is_empty()) {
            (Some(_), false) => {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    line: lines::line_of(text, "topic"),
                    source: InvalidSetting::new(
                        "topic",
                        "[topic] and [[topics]] together: write the one topic as [[topics]]",
                    ),
                })
            }
            (Some(t), true) => cfg.topics.push(t),
            (None, true) => {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    line: None,
                    source: InvalidSetting::new(
                        "topics",
                        "no topic: add a [topic] table (or [[topics]] tables)",
                    ),
                })
            }
            (None, false) => {}
        }
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
        if let Ok(listen) = std::env::var("WIREWATCH_HTTP_LISTEN") {
            // Several workers on one host share a config file; each listens on its own
            // address (`config/wirewatch@.service`).
            cfg.http.listen = listen.parse().map_err(|e| ConfigError::Invalid {
                path: path.to_path_buf(),
                line: None,
                source: InvalidSetting::new(
                    "http.listen",
                    format!("$WIREWATCH_HTTP_LISTEN {listen:?}: {e}"),
                ),
            })?;
        }
        cfg.validate().map_err(|source| ConfigError::Invalid {
            path: path.to_path_buf(),
            line: lines::line_of(text, &source.key),
            source,
        })?;
        Ok(cfg)
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

    /// The first topic (every config has one): what single-topic views show.
    pub fn first_topic(&self) -> &TopicConfig {
        // `parse` refuses a config without a topic; this default is never used.
        static NONE: std::sync::OnceLock<TopicConfig> = std::sync::OnceLock::new();
        self.topics.first().unwrap_or_else(|| {
            NONE.get_or_init(|| TopicConfig {
                name: String::new(),
                id: None,
                seeds: "seeds".into(),
                query: None,
                min_score: None,
                languages: Vec::new(),
                webhooks: None,
                digest_to: None,
                backfill: None,
            })
        })
    }

    /// A topic by id.
    pub fn topic_by_id(&self, id: &str) -> Option<&TopicConfig> {
        self.topics.iter().find(|t| t.id() == id)
    }

    /// Path of the sled database inside the state directory.
    pub fn db_path(&self) -> PathBuf {
        self.state_dir.join("db")
    }
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
    fn one_endpoint_listed_twice_is_refused() {
        let hook = "[[webhooks]]\nformat = \"json\"\nurl = \"https://hooks.example/a\"\n";
        let twice = format!("{MINIMAL}{hook}name = \"one\"\n{hook}name = \"two\"\n");
        let err = parse(&twice).unwrap_err().to_string();
        assert!(err.contains("webhooks[1].url"), "{err}");
        assert!(err.contains("same format and url"), "{err}");
        // The same URL in another format is another endpoint.
        let other = format!(
            "{MINIMAL}{hook}[[webhooks]]\nformat = \"slack\"\nurl = \"https://hooks.example/a\"\n"
        );
        parse(&other).expect("two formats, two endpoints");
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
    fn concurrency_is_bounded_both_ways() {
        for v in ["0", "9223372036854775807"] {
            let err = parse(&format!(
                "[topic]\nname = \"t\"\n[fetch]\nper_host_concurrency = {v}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(err.contains("fetch.per_host_concurrency"), "{v}: {err}");
        }
        assert!(parse("[topic]\nname = \"t\"\n[fetch]\nconcurrency = 64\n").is_ok());
    }

    #[test]
    fn retention_is_a_day_at_least_or_off() {
        let with = |v: &str| {
            parse(&format!(
                "[topic]\nname = \"t\"\n[store]\nretain = \"{v}\"\n"
            ))
        };
        let err = with("12h").unwrap_err().to_string();
        assert!(err.contains("store.retain"), "{err}");
        assert_eq!(with("0s").expect("off").store.retain.0, Duration::ZERO);
        assert_eq!(
            with("30d").expect("a month").store.retain.0.as_secs(),
            30 * 86_400
        );
        let default = parse("[topic]\nname = \"t\"\n")
            .expect("default")
            .store
            .retain;
        assert_eq!(default.0.as_secs(), 180 * 86_400);
        // Said in days, not in humantime's 30.44-day months.
        assert_eq!(default.to_string(), "180d");
        assert_eq!(Dur(Duration::from_secs(5400)).to_string(), "1h 30m");
        assert_eq!(
            Dur(Duration::from_secs(86_400 + 3600)).to_string(),
            "1day 1h"
        );
    }

    /// A topic's own digest recipients are checked at start, as `[digest] to` is: a bad one
    /// would otherwise fail that group's digest at every send.
    #[test]
    fn a_topic_digest_recipient_must_be_an_address() {
        let topics = |to: &str| {
            format!(
                "[[topics]]\nname = \"a\"\n[[topics]]\nname = \"b\"\ndigest_to = [\"{to}\"]\n\
                 [[feeds]]\nurl = \"https://example.org/feed.xml\"\n"
            )
        };
        let err = parse(&topics("bob at example.org"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("topics[1].digest_to[0]"), "{err}");
        assert!(err.contains("not an email address"), "{err}");
        parse(&topics("bob@example.org")).expect("a good address");
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
}
