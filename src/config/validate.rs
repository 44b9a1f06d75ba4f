//! Checks of a parsed config that its types cannot express: ranges, combinations, values a
//! stage will have to compile (regexes, CSS selectors, mail addresses). Each failure names the
//! key it is about.

use std::collections::HashSet;
use std::time::Duration;

use super::Config;

/// A setting that parsed but cannot be used: which key, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct InvalidSetting {
    /// The key, as written in the file (`fetch.timeout`, `feeds[3].url`).
    pub key: String,
    /// What is wrong with its value.
    pub reason: String,
}

impl InvalidSetting {
    /// An invalid setting of `key`.
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> InvalidSetting {
        InvalidSetting {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// The most requests `[fetch]` lets run at once, in all and per host.
pub const MAX_CONCURRENCY: usize = 100_000;

impl Config {
    pub(super) fn validate(&self) -> Result<(), InvalidSetting> {
        let f = &self.fetch;
        if f.timeout.0.is_zero() {
            return Err(InvalidSetting::new(
                "fetch.timeout",
                "must be greater than 0s",
            ));
        }
        if f.interval.0 < Duration::from_secs(1) {
            return Err(InvalidSetting::new("fetch.interval", "must be at least 1s"));
        }
        // The upper bound keeps a typo from becoming a semaphore that cannot be built.
        if f.concurrency == 0 || f.concurrency > MAX_CONCURRENCY {
            return Err(InvalidSetting::new(
                "fetch.concurrency",
                format!("must be between 1 and {MAX_CONCURRENCY}"),
            ));
        }
        if f.per_host_concurrency == 0 || f.per_host_concurrency > MAX_CONCURRENCY {
            return Err(InvalidSetting::new(
                "fetch.per_host_concurrency",
                format!("must be between 1 and {MAX_CONCURRENCY}"),
            ));
        }
        if f.max_body.0 < 1024 {
            return Err(InvalidSetting::new(
                "fetch.max_body",
                "must be at least 1KiB",
            ));
        }
        if !f.google_news.trim().is_empty() && f.google_news_endpoint().is_none() {
            return Err(InvalidSetting::new(
                "fetch.google_news",
                "must be an http(s) URL, or \"\" for no lookups",
            ));
        }
        if f.user_agent.trim().is_empty() {
            return Err(InvalidSetting::new("fetch.user_agent", "must not be empty"));
        }
        // Under a day, an entry a feed dropped from its document for a while (a feed that
        // lists only its newest 10) could be forgotten and judged again when it comes back.
        let retain = self.store.retain.0;
        if !retain.is_zero() && retain < Duration::from_secs(86_400) {
            return Err(InvalidSetting::new(
                "store.retain",
                "must be at least 1d, or \"0s\" to keep everything",
            ));
        }
        let mut ids: Vec<String> = Vec::new();
        let many = self.topics.len() > 1;
        for (t, topic) in self.topics.iter().enumerate() {
            let at = |k: &str| {
                if many {
                    format!("topics[{t}].{k}")
                } else {
                    format!("topic.{k}")
                }
            };
            if topic.name.trim().is_empty() {
                return Err(InvalidSetting::new(at("name"), "must not be empty"));
            }
            let id = topic.id();
            if id.is_empty() || id.contains(['/', '?', '#', ' ', '\n']) {
                return Err(InvalidSetting::new(
                    at("id"),
                    format!(
                        "topic {:?}: an id must be non-empty, without spaces, '/', '?' or '#'",
                        topic.name
                    ),
                ));
            }
            if ids.contains(&id) {
                return Err(InvalidSetting::new(
                    at("id"),
                    format!(
                        "topic {:?}: the id {id:?} is another topic's too; {}",
                        topic.name,
                        if topic.id.is_some() {
                            "give each topic its own `id`"
                        } else {
                            "give one an `id` (it defaults to the name, simplified)"
                        }
                    ),
                ));
            }
            ids.push(id);
            if let Some(m) = topic.min_score {
                if !(0.0..=1.0).contains(&m) {
                    return Err(InvalidSetting::new(
                        at("min_score"),
                        format!("must be between 0 and 1, not {m}"),
                    ));
                }
            }
            for (i, l) in topic.languages.iter().enumerate() {
                if crate::text::lang::normalise(l).is_none() {
                    return Err(InvalidSetting::new(
                        at(&format!("languages[{i}]")),
                        format!(
                            "{l:?} is not a language code the detector knows (ISO 639-1 or 639-3)"
                        ),
                    ));
                }
            }
            // A recipient the mail library cannot parse would fail that group's digest every
            // day, at send time: said here, at start and on reload, instead.
            for (i, a) in topic.digest_to.iter().flatten().enumerate() {
                if a.parse::<lettre::message::Mailbox>().is_err() {
                    return Err(InvalidSetting::new(
                        at(&format!("digest_to[{i}]")),
                        format!("{a:?} is not an email address"),
                    ));
                }
            }
            for (i, w) in topic.webhooks.iter().flatten().enumerate() {
                if !self.webhooks.iter().any(|h| &h.display_name() == w) {
                    return Err(InvalidSetting::new(
                        at(&format!("webhooks[{i}]")),
                        format!(
                            "topic {:?} routes to a webhook named {w:?}, and no [[webhooks]] has that name",
                            topic.name
                        ),
                    ));
                }
            }
        }
        // Each webhook by a name of its own and, since the outbox keys a delivery by the
        // endpoint (format and URL), at an endpoint of its own: two entries for one endpoint
        // would share their deliveries and dead letters under either's name.
        let mut seen: Vec<(String, String)> = Vec::new();
        for (i, w) in self.webhooks.iter().enumerate() {
            let (name, id) = (w.display_name(), w.endpoint_id());
            if seen.iter().any(|(n, _)| *n == name) {
                return Err(InvalidSetting::new(
                    format!("webhooks[{i}].name"),
                    format!("another webhook is named {name:?} too (a name defaults to the format and host): give each a unique `name`"),
                ));
            }
            if let Some(j) = seen.iter().position(|(_, e)| *e == id) {
                return Err(InvalidSetting::new(
                    format!("webhooks[{i}].url"),
                    format!("webhooks[{j}] has the same format and url: list an endpoint once"),
                ));
            }
            seen.push((name, id));
        }
        for (i, w) in self.webhooks.iter().enumerate() {
            if !matches!(w.url.scheme(), "http" | "https") {
                return Err(InvalidSetting::new(
                    format!("webhooks[{i}].url"),
                    format!("{} is not an http or https URL", w.url),
                ));
            }
            if w.secret_env.is_some() && w.secret_file.is_some() {
                return Err(InvalidSetting::new(
                    format!("webhooks[{i}]"),
                    "set secret_env or secret_file, not both",
                ));
            }
        }
        if let Some(d) = &self.digest {
            d.time()?;
            d.tz()?;
            if d.to.is_empty() {
                return Err(InvalidSetting::new(
                    "digest.to",
                    "must list at least one address",
                ));
            }
            for (i, a) in d.to.iter().enumerate() {
                if a.parse::<lettre::message::Mailbox>().is_err() {
                    return Err(InvalidSetting::new(
                        format!("digest.to[{i}]"),
                        format!("{a:?} is not an email address"),
                    ));
                }
            }
            if d.from.parse::<lettre::message::Mailbox>().is_err() {
                return Err(InvalidSetting::new(
                    "digest.from",
                    format!("{:?} is not an email address", d.from),
                ));
            }
            if self.smtp.is_none() {
                return Err(InvalidSetting::new(
                    "digest",
                    "needs an [smtp] section to send through",
                ));
            }
        }
        if let Some(s) = &self.smtp {
            if s.host.trim().is_empty() {
                return Err(InvalidSetting::new("smtp.host", "must not be empty"));
            }
            if s.password_env.is_some() && s.password_file.is_some() {
                return Err(InvalidSetting::new(
                    "smtp",
                    "set password_env or password_file, not both",
                ));
            }
        }
        if self.http.token_env.is_some() && self.http.token_file.is_some() {
            return Err(InvalidSetting::new(
                "http",
                "set token_env or token_file, not both",
            ));
        }
        let mut seen = HashSet::new();
        for (i, feed) in self.feeds.iter().enumerate() {
            let key = format!("feeds[{i}].url");
            if !matches!(feed.url.scheme(), "http" | "https") {
                return Err(InvalidSetting::new(
                    key,
                    format!("{:?} is not an http or https URL", feed.url.as_str()),
                ));
            }
            if feed.url.host_str().is_none() {
                return Err(InvalidSetting::new(
                    key,
                    format!("{:?} has no host", feed.url.as_str()),
                ));
            }
            if !seen.insert(feed.url.as_str().to_string()) {
                return Err(InvalidSetting::new(
                    key,
                    format!("{} is listed twice", feed.url),
                ));
            }
            if let Some(iv) = feed.interval {
                if iv.0 < Duration::from_secs(1) {
                    return Err(InvalidSetting::new(
                        format!("feeds[{i}].interval"),
                        "must be at least 1s",
                    ));
                }
            }
        }
        for (i, site) in self.sites.iter().enumerate() {
            if site.host.trim().is_empty() {
                return Err(InvalidSetting::new(
                    format!("sites[{i}].host"),
                    "must not be empty",
                ));
            }
        }
        Ok(())
    }
}
