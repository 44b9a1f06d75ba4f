//! The notify stage: alerts out, to webhooks at once and by email once a day.
//!
//! - [`outbox`]: durable, ordered, at-least-once delivery of decided alerts to webhooks (the
//!   rows written with each alert), retries with backoff, dead letters;
//! - [`webhook`]: the exact HTTP request for one alert to one endpoint, in the endpoint's
//!   native format (plain JSON, Slack blocks, Discord embeds, ntfy JSON publish), with
//!   GitHub-style HMAC signing, and one POST attempt classified as delivered / retry later /
//!   permanent failure;
//! - [`digest`]: the daily digest: what goes in it and when it is sent (exactly once a day),
//!   its rendering ([`digest::render`]: plain text + HTML, every field escaped) and its
//!   DST-correct schedule ([`digest::schedule`]);
//! - [`smtp`]: sending a rendered digest through an SMTP relay with lettre.
//!
//! `webhook`, `smtp`, `digest::render` and `digest::schedule` are pure or make exactly one
//! network attempt; `outbox` and `digest` own the loops that decide what happens next.

pub mod digest;
pub mod outbox;
pub mod smtp;
pub mod webhook;

use serde::{Deserialize, Serialize};

pub use crate::config::{SmtpSecurity, WebhookFormat};
pub use digest::render::{
    render_digest, render_digest_sections, DigestInput, DigestItem, DigestStory, RenderedDigest,
};
pub use digest::schedule::{due_day, next_digest_time};
pub use digest::Digester;
pub use outbox::{Deliverer, DeliveryReport, Endpoint};
pub use smtp::{send_mail, send_mail_with_roots, SmtpSettings};
pub use webhook::{
    ntfy_target, post_webhook, redirect_policy, render_webhook, signature, DeliveryOutcome,
    WebhookRequest,
};

/// Longest excerpt of an article carried by an alert and shown in the digest (characters).
pub const EXCERPT_CHARS: usize = 280;

/// One alert as sent to receivers; its JSON form is the `json` webhook body.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AlertPayload {
    /// Stable alert id, also sent as `X-Wirewatch-Delivery` so receivers can deduplicate.
    pub id: String,
    /// The article's URL.
    pub url: String,
    /// The article's title.
    pub title: String,
    /// The outlet (feed or site name) the article came from.
    pub source: String,
    /// When the article was published, if known.
    pub published: Option<chrono::DateTime<chrono::Utc>>,
    /// Id of the story the article was grouped into.
    pub story: String,
    /// Title of that story.
    pub story_title: String,
    /// Whether this article started a new story.
    pub new_story: bool,
    /// Relevance score of the article for the topic.
    pub score: f32,
    /// A short excerpt of the article text.
    pub excerpt: String,
    /// URLs of copies of this article that were suppressed as duplicates.
    pub duplicates: Vec<String>,
    /// The id of the topic it alerted for.
    #[serde(default)]
    pub topic: String,
    /// That topic's name.
    #[serde(default)]
    pub topic_name: String,
}

/// Errors of the notify stage that the caller has to report or act on.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// A mail address (sender or recipient) could not be parsed.
    #[error("invalid mail address {address:?}: {reason}")]
    Address {
        /// The address as configured.
        address: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The digest has no recipient.
    #[error("no digest recipients configured")]
    NoRecipients,
    /// The message could not be assembled.
    #[error("could not build the digest message: {0}")]
    Message(String),
    /// TLS settings for the SMTP relay could not be set up.
    #[error("SMTP TLS setup for {host}:{port} failed: {reason}")]
    Tls {
        /// Relay host.
        host: String,
        /// Relay port.
        port: u16,
        /// What went wrong.
        reason: String,
    },
    /// Talking to the SMTP relay failed.
    #[error("sending mail via SMTP {host}:{port} failed: {reason}")]
    Smtp {
        /// Relay host.
        host: String,
        /// Relay port.
        port: u16,
        /// True when retrying cannot help (a 5xx reply such as a rejected recipient or bad
        /// credentials, or a client-side refusal such as a server without STARTTLS).
        permanent: bool,
        /// What went wrong, including the underlying cause.
        reason: String,
    },
    /// A webhook URL that cannot be used for its format.
    #[error("webhook URL {url} cannot be used: {reason}")]
    WebhookUrl {
        /// The URL as configured.
        url: String,
        /// Why it cannot be used.
        reason: String,
    },
}

impl NotifyError {
    /// Whether a later retry of the same operation may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            NotifyError::Smtp { permanent, .. } => !permanent,
            _ => false,
        }
    }
}

/// Formats an error with its whole `source()` chain, "outer: inner: innermost",
/// because reqwest and lettre put the useful part (e.g. "Connection refused") in the chain.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = inner.source();
    }
    // Some libraries repeat their own prefix when wrapping ("Connection error:
    // Connection error: ..."); drop immediate repeats of a segment.
    let mut segments: Vec<&str> = Vec::new();
    for segment in out.split(": ") {
        if segments.last() != Some(&segment) {
            segments.push(segment);
        }
    }
    segments.join(": ")
}

/// Truncates `text` to at most `max_chars` characters, cutting at a word
/// boundary when one is near and appending "…" when anything was cut.
pub(crate) fn truncate_chars(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let keep = max_chars.saturating_sub(1);
    let cut: String = text.chars().take(keep).collect();
    let trimmed = match cut.rfind(char::is_whitespace) {
        Some(pos) if pos >= cut.len() * 2 / 3 => &cut[..pos],
        _ => cut.as_str(),
    };
    format!("{}…", trimmed.trim_end())
}

/// Collapses runs of whitespace (including newlines) to single spaces and
/// drops other control characters.
pub(crate) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else if !c.is_control() {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_counts_characters_and_prefers_word_boundaries() {
        assert_eq!(truncate_chars("short", 10), "short");
        assert_eq!(truncate_chars("exactly10!", 10), "exactly10!");
        assert_eq!(truncate_chars("Grüße aus Köln am Rhein", 12), "Grüße aus…");
        assert_eq!(truncate_chars("ääääääääääää", 5), "ääää…");
        assert_eq!(truncate_chars("abc", 0), "…");
    }

    #[test]
    fn one_line_collapses_whitespace_and_drops_controls() {
        assert_eq!(one_line("  a\r\n\tb \u{7}c  "), "a b c");
        assert_eq!(one_line("\n\n"), "");
    }

    #[test]
    fn error_chain_appends_causes_once() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let outer = std::io::Error::other(inner);
        assert_eq!(error_chain(&outer), "refused");
        #[derive(Debug)]
        struct Wrap(std::io::Error);
        impl std::fmt::Display for Wrap {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "Connection error")
            }
        }
        impl std::error::Error for Wrap {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let err = Wrap(std::io::Error::other("tcp connect: Connection refused"));
        assert_eq!(
            error_chain(&err),
            "Connection error: tcp connect: Connection refused"
        );
    }
}
