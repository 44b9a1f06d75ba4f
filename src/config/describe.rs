//! `wirewatch check`'s account of a config: what was understood, in words, never a secret.

use url::Url;

use super::{Config, Dur};

impl Config {
    /// A human-readable account of what was understood, for `wirewatch check`. Never prints
    /// secrets.
    pub fn describe(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let f = &self.fetch;
        for t in &self.topics {
            let _ = writeln!(s, "topic:      {} (id {})", t.name, t.id());
            let _ = writeln!(s, "  seeds:    {}", t.seeds.display());
            if let Some(q) = &t.query {
                let _ = writeln!(s, "  query:    {q}");
            }
            if let Some(m) = t.min_score {
                let _ = writeln!(s, "  min score: {m}");
            }
            if !t.languages.is_empty() {
                let _ = writeln!(s, "  languages: {}", t.languages.join(", "));
            }
            let _ = writeln!(
                s,
                "  webhooks: {}",
                match &t.webhooks {
                    Some(w) if w.is_empty() => "none".to_string(),
                    Some(w) => w.join(", "),
                    None => "all".to_string(),
                }
            );
            if self.digest.is_some() {
                let _ = writeln!(
                    s,
                    "  digest:   {}",
                    match &t.digest_to {
                        Some(to) => to.join(", "),
                        None => "the digest's recipients".to_string(),
                    }
                );
            }
            if let Some(b) = &t.backfill {
                let _ = writeln!(s, "  backfill: {b} when new to the store");
            }
        }
        let _ = writeln!(s, "state_dir:  {}", self.state_dir.display());
        match &self.store.url {
            // The URL without its password, should it hold one.
            Some(url) => {
                let shown = url::Url::parse(url)
                    .map(|mut u| {
                        let _ = u.set_password(None);
                        u.to_string()
                    })
                    .unwrap_or_else(|_| "(unparsable URL)".into());
                let _ = writeln!(
                    s,
                    "store:      PostgreSQL {shown}{}",
                    self.store
                        .schema
                        .as_deref()
                        .map(|x| format!(" schema {x}"))
                        .unwrap_or_default()
                );
            }
            None => {
                let _ = writeln!(s, "store:      embedded (sled) in state_dir");
            }
        }
        let _ = writeln!(
            s,
            "fetch:      every {}, timeout {}, {} in flight ({} per host, {} apart), body cap {}, private networks {}",
            f.interval,
            f.timeout,
            f.concurrency,
            f.per_host_concurrency,
            f.per_host_interval,
            f.max_body,
            if f.allow_private_networks {
                "allowed".to_string()
            } else if f.allow_private_hosts.is_empty() {
                "refused".to_string()
            } else {
                format!(
                    "refused (except {})",
                    f.allow_private_hosts
                        .iter()
                        .map(|h| h.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
        let _ = writeln!(s, "user_agent: {}", f.user_agent);
        let _ = writeln!(
            s,
            "google news: {}",
            f.google_news_endpoint()
                .map(|u| format!("links looked up at {u}"))
                .unwrap_or_else(|| "no lookups (opaque links judged on the feed's text)".into())
        );
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
        let _ = writeln!(
            s,
            "texts:      judged items' texts kept for {}",
            if self.store.keep_text.0.is_zero() {
                "never (feedback works on alerted items only)".to_string()
            } else {
                self.store.keep_text.to_string()
            }
        );
        let _ = writeln!(
            s,
            "retention:  {}",
            if self.store.retain.0.is_zero() {
                "everything kept for ever".to_string()
            } else {
                format!(
                    "entries and items that alerted nowhere forgotten after {}",
                    self.store.retain
                )
            }
        );
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
        "{}://{}{}/{}{}",
        u.scheme(),
        u.host_str().unwrap_or(""),
        u.port().map(|p| format!(":{p}")).unwrap_or_default(),
        first,
        if rest { "/…" } else { "" }
    )
}
