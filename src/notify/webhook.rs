//! Webhook requests: one alert to one endpoint, in the endpoint's native format.
//!
//! [`render_webhook`] is pure: it builds the exact URL, body and headers, so the
//! caller can store or log what will be sent, and tests can assert it byte for byte.
//! [`post_webhook`] makes one attempt and classifies the result; retrying,
//! backoff and dead letters are the caller's (the outbox loop's) business.
//!
//! Untrusted text (titles, outlets, excerpts come from arbitrary web pages) is
//! escaped for each service so that it cannot ping a channel, mention a user,
//! inject a link or restyle the message.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use url::Url;

pub use crate::backoff::retry_after as parse_retry_after;

use super::{error_chain, one_line, truncate_chars, AlertPayload, NotifyError, WebhookFormat};

/// Header carrying the alert id, so receivers can drop repeated deliveries.
pub const DELIVERY_HEADER: &str = "X-Wirewatch-Delivery";
/// Header carrying the HMAC-SHA256 signature of the raw body (GitHub's scheme).
pub const SIGNATURE_HEADER: &str = "X-Wirewatch-Signature";

/// Longest excerpt put into chat messages (characters).
const CHAT_EXCERPT_CHARS: usize = 500;
/// How much of an error response body is kept in a failure reason (bytes).
const SNIPPET_BYTES: usize = 300;

/// A fully built webhook request: POST `body` to `url` with `headers`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRequest {
    /// Where to POST (for ntfy the server root, not the topic URL).
    pub url: Url,
    /// The exact body bytes (always JSON); the signature covers these bytes.
    pub body: Vec<u8>,
    /// Headers to send, in order: Content-Type, User-Agent, delivery id, optional signature.
    pub headers: Vec<(String, String)>,
}

/// Result of one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx: never send this alert to this endpoint again.
    Delivered {
        /// The HTTP status received.
        status: u16,
    },
    /// A temporary failure: try again later (after `after` if the receiver said so).
    Retry {
        /// The receiver's Retry-After, if it sent a usable one.
        after: Option<Duration>,
        /// What happened, for logs (never contains the endpoint's full URL).
        reason: String,
    },
    /// The receiver rejected the request; retrying the same request will not help.
    Permanent {
        /// What happened, including a snippet of the response body.
        reason: String,
    },
}

/// GitHub's signature scheme: `"sha256=" + hex(HMAC-SHA256(secret, body))`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC is defined for keys of any length (long keys are hashed first), so
    // `new_from_slice` cannot fail for Hmac<Sha256>; the Err arm is unreachable.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Builds the exact HTTP request for one alert to one endpoint (native payload per service).
///
/// `topic` is wirewatch's monitored topic (shown in footers); `secret`, when
/// set, signs the body actually sent, whatever the format. For
/// [`WebhookFormat::Ntfy`], `endpoint` is the topic URL the user pasted
/// (`https://ntfy.sh/mytopic`) and the request goes to the server root with
/// ntfy's documented JSON publish; an endpoint without a usable topic (see
/// [`ntfy_target`], which the config loader should call) is posted as-is
/// with an empty topic, which ntfy rejects, giving a permanent failure.
pub fn render_webhook(
    format: WebhookFormat,
    endpoint: &Url,
    alert: &AlertPayload,
    topic: &str,
    secret: Option<&[u8]>,
    user_agent: &str,
) -> WebhookRequest {
    let (url, body) = match format {
        WebhookFormat::Json => (endpoint.clone(), json_body(alert)),
        WebhookFormat::Slack => (endpoint.clone(), slack_body(alert, topic)),
        WebhookFormat::Discord => (endpoint.clone(), discord_body(alert, topic)),
        WebhookFormat::Ntfy => {
            let (root, ntfy_topic) =
                ntfy_target(endpoint).unwrap_or_else(|_| (endpoint.clone(), String::new()));
            (root, ntfy_body(alert, &ntfy_topic, topic))
        }
    };
    let mut headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("User-Agent".to_string(), user_agent.to_string()),
        (DELIVERY_HEADER.to_string(), alert.id.clone()),
    ];
    if let Some(secret) = secret {
        headers.push((SIGNATURE_HEADER.to_string(), signature(secret, &body)));
    }
    WebhookRequest { url, body, headers }
}

/// Splits an ntfy topic URL (`https://ntfy.sh/mytopic`, or a self-hosted
/// `https://host/prefix/mytopic?auth=...`) into the server root to POST JSON to
/// (`https://ntfy.sh/`, keeping any prefix, credentials and query) and the topic name.
///
/// ntfy documents that JSON must be published to the root URL, not the topic URL.
pub fn ntfy_target(endpoint: &Url) -> Result<(Url, String), NotifyError> {
    let err = |reason: &str| NotifyError::WebhookUrl {
        url: redact_url(endpoint),
        reason: reason.to_string(),
    };
    if !matches!(endpoint.scheme(), "http" | "https") {
        return Err(err("an ntfy URL must be http or https"));
    }
    let path = endpoint.path().trim_end_matches('/');
    let (prefix, topic) = match path.rfind('/') {
        Some(pos) => (&path[..=pos], &path[pos + 1..]),
        None => ("/", path),
    };
    let valid = !topic.is_empty()
        && topic.len() <= 64
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(err(
            "expected a topic URL like https://ntfy.sh/mytopic (topic: 1-64 of A-Z a-z 0-9 _ -)",
        ));
    }
    let mut root = endpoint.clone();
    root.set_path(prefix);
    root.set_fragment(None);
    Ok((root, topic.to_string()))
}

fn json_body(alert: &AlertPayload) -> Vec<u8> {
    // Serializing strings, numbers, bools and dates cannot fail (serde_json
    // writes a non-finite score as null), so the empty fallback is unreachable.
    serde_json::to_vec(alert).unwrap_or_default()
}

fn http_url(url: &str) -> Option<Url> {
    Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

fn score_text(score: f32) -> String {
    if score.is_finite() {
        format!("{score:.2}")
    } else {
        "n/a".to_string()
    }
}

// ---------------------------------------------------------------- Slack

/// Escapes the three characters Slack treats as control characters
/// (`&`, `<`, `>`), so `<!channel>`, `<@U123>` and `<url|label>` links in
/// untrusted text render as text.
pub fn slack_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// Makes untrusted text inert inside Slack `mrkdwn`: escapes `&<>` and, since
/// Slack has no escape for formatting characters, swaps `*`, `_`, `~` and `` ` ``
/// for look-alikes, and breaks bare `@channel`/`@here`/`@everyone` with a
/// zero-width space. Written by hand: no crate implements Slack's dialect.
pub fn slack_mrkdwn_text(text: &str) -> String {
    let replaced: String = slack_escape(text)
        .chars()
        .map(|c| match c {
            '*' => '\u{2217}', // ∗ asterisk operator
            '_' => '\u{02CD}', // ˍ modifier letter low macron
            '~' => '\u{223C}', // ∼ tilde operator
            '`' => '\u{02CB}', // ˋ modifier letter grave accent
            other => other,
        })
        .collect();
    break_broadcast_mentions(&replaced)
}

/// Inserts a zero-width space after `@` in `@everyone`, `@here` and `@channel`
/// (case-insensitive) so no service treats them as a broadcast mention.
fn break_broadcast_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(pos) = rest.find('@') {
        out.push_str(&rest[..=pos]);
        rest = &rest[pos + 1..];
        let lower: String = rest.chars().take(8).collect::<String>().to_lowercase();
        if ["everyone", "here", "channel"]
            .iter()
            .any(|w| lower.starts_with(w))
        {
            out.push('\u{200B}');
        }
    }
    out.push_str(rest);
    out
}

/// URL for a Slack `<url|label>` link: `|` and `>` would end the URL early.
fn slack_link_url(url: &Url) -> String {
    url.as_str()
        .replace('|', "%7C")
        .replace('>', "%3E")
        .replace('<', "%3C")
}

fn slack_body(alert: &AlertPayload, topic: &str) -> Vec<u8> {
    let title = truncate_chars(&one_line(&alert.title), 300);
    let title = if title.is_empty() {
        "(untitled)".to_string()
    } else {
        title
    };
    let label = if alert.new_story {
        "New story"
    } else {
        "More coverage"
    };
    // Section text is limited to 3000 characters; an absurdly long URL is not linked.
    let headline = match http_url(&alert.url).filter(|u| u.as_str().len() <= 2000) {
        Some(url) => format!(
            "*{label}:* *<{}|{}>*",
            slack_link_url(&url),
            slack_mrkdwn_text(&title)
        ),
        None => format!("*{label}:* *{}*", slack_mrkdwn_text(&title)),
    };
    let mut context = format!(
        "Outlet: {} · Story: {} · Score {}",
        slack_mrkdwn_text(&truncate_chars(&one_line(&alert.source), 100)),
        slack_mrkdwn_text(&truncate_chars(&one_line(&alert.story_title), 150)),
        score_text(alert.score)
    );
    if let Some(published) = alert.published {
        context.push_str(&format!(
            " · <!date^{}^{{date_short_pretty}} {{time}}|{}>",
            published.timestamp(),
            published.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    if !alert.duplicates.is_empty() {
        let n = alert.duplicates.len();
        let noun = if n == 1 { "copy" } else { "copies" };
        context.push_str(&format!(" · {n} {noun} suppressed"));
    }
    context.push_str(&format!(
        " · wirewatch: {}",
        slack_mrkdwn_text(&one_line(topic))
    ));
    let fallback = format!(
        "{label} on {}: {} ({})",
        slack_mrkdwn_text(&one_line(topic)),
        slack_mrkdwn_text(&title),
        slack_mrkdwn_text(&one_line(&alert.source))
    );
    let mut blocks = vec![json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": headline, "verbatim": true}
    })];
    let excerpt = truncate_chars(&one_line(&alert.excerpt), CHAT_EXCERPT_CHARS);
    if !excerpt.is_empty() {
        // plain_text: Slack applies no formatting and no mention parsing here.
        blocks.push(json!({
            "type": "section",
            "text": {"type": "plain_text", "text": break_broadcast_mentions(&slack_escape(&excerpt)), "emoji": false}
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": context, "verbatim": true}]
    }));
    json!({
        "text": fallback,
        "blocks": blocks,
        "unfurl_links": false,
        "unfurl_media": false,
    })
    .to_string()
    .into_bytes()
}

// ---------------------------------------------------------------- Discord

/// Makes untrusted text inert in Discord markdown: backslash-escapes the
/// characters Discord formats with anywhere (`\ * _ ~ ` | < [ ]`), which also
/// stops `<@id>`/`<#id>` mentions and masked links, and the ones that only act
/// at the start of a line (`>` quote, `#` heading, `-`/`+` list, `1.` list);
/// then breaks `@everyone`/`@here` with a zero-width space. Callers pass one
/// line. Written by hand: no crate does Discord's dialect.
pub fn discord_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    for (i, c) in text.char_indices() {
        let at_start = i == 0 && matches!(c, '>' | '#' | '-' | '+');
        let list_dot = digits > 0 && i == digits && c == '.';
        if at_start || list_dot || matches!(c, '\\' | '*' | '_' | '~' | '`' | '|' | '<' | '[' | ']')
        {
            out.push('\\');
        }
        out.push(c);
    }
    break_broadcast_mentions(&out)
}

/// Non-empty Discord field value (Discord rejects empty ones), escaped and bounded.
fn discord_field(text: &str, max: usize) -> String {
    let text = one_line(text);
    if text.is_empty() {
        "—".to_string()
    } else {
        // Escaping can double the length; truncate first with room to spare.
        truncate_chars(&discord_escape(&truncate_chars(&text, max / 2)), max)
    }
}

fn discord_body(alert: &AlertPayload, topic: &str) -> Vec<u8> {
    let title = one_line(&alert.title);
    let title = if title.is_empty() {
        "(untitled)".to_string()
    } else {
        title
    };
    let label = if alert.new_story {
        "New story"
    } else {
        "More coverage"
    };
    let mut embed = json!({
        "title": truncate_chars(&discord_escape(&truncate_chars(&title, 120)), 256),
        "description": truncate_chars(
            &discord_escape(&truncate_chars(&one_line(&alert.excerpt), CHAT_EXCERPT_CHARS)),
            4096
        ),
        "color": if alert.new_story { 0x2E7D32 } else { 0x1565C0 },
        "fields": [
            {"name": "Outlet", "value": discord_field(&alert.source, 1024), "inline": true},
            {"name": "Story", "value": discord_field(&alert.story_title, 1024), "inline": true},
            {"name": "Score", "value": score_text(alert.score), "inline": true},
        ],
        // The footer is not rendered as markdown, so only mentions are neutralised.
        "footer": {"text": truncate_chars(&break_broadcast_mentions(&format!("wirewatch · {}", one_line(topic))), 2048)},
    });
    if let Some(url) = http_url(&alert.url) {
        embed["url"] = Value::String(url.to_string());
    }
    if let Some(published) = alert.published {
        embed["timestamp"] = Value::String(published.to_rfc3339());
    }
    if !alert.duplicates.is_empty() {
        if let Some(fields) = embed["fields"].as_array_mut() {
            fields.push(json!({
                "name": "Copies suppressed",
                "value": alert.duplicates.len().to_string(),
                "inline": true
            }));
        }
    }
    let content = truncate_chars(
        &format!(
            "**{label}** on {}: {}",
            discord_escape(&one_line(topic)),
            discord_escape(&truncate_chars(&title, 200))
        ),
        2000,
    );
    json!({
        "username": "wirewatch",
        "content": content,
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    })
    .to_string()
    .into_bytes()
}

// ---------------------------------------------------------------- ntfy

fn ntfy_body(alert: &AlertPayload, ntfy_topic: &str, topic: &str) -> Vec<u8> {
    // ntfy shows title and message as plain text unless `markdown` is set, which
    // we never set, so nothing needs escaping; only its size limits matter.
    let title = truncate_chars(&one_line(&alert.title), 200);
    let mut message = format!(
        "{} · {} · {}",
        one_line(topic),
        one_line(&alert.source),
        one_line(&alert.story_title)
    );
    let excerpt = one_line(&alert.excerpt);
    if !excerpt.is_empty() {
        message.push('\n');
        message.push_str(&excerpt);
    }
    // ntfy turns messages over 4096 bytes into attachments; stay well below.
    let message = truncate_chars(&message, 1000);
    let mut tags = vec!["newspaper"];
    if alert.new_story {
        tags.push("new");
    }
    let mut body = json!({
        "topic": ntfy_topic,
        "title": if title.is_empty() { "(untitled)".to_string() } else { title },
        "message": message,
        "tags": tags,
        "priority": if alert.new_story { 4 } else { 3 },
    });
    if let Some(url) = http_url(&alert.url) {
        body["click"] = Value::String(url.to_string());
    }
    body.to_string().into_bytes()
}

// ---------------------------------------------------------------- delivery

/// Host and port of a URL for messages, without path or query (webhook URLs
/// of Slack and Discord are secrets).
fn redact_url(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
        (Some(host), None) => format!("{}://{host}", url.scheme()),
        _ => url.scheme().to_string(),
    }
}

/// Reads at most [`SNIPPET_BYTES`] of the response body as one line of text.
async fn body_snippet(mut resp: reqwest::Response) -> String {
    let mut buf = Vec::new();
    while buf.len() < SNIPPET_BYTES {
        match resp.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let truncated = buf.len() > SNIPPET_BYTES;
    buf.truncate(SNIPPET_BYTES);
    let mut text = one_line(&String::from_utf8_lossy(&buf));
    if truncated {
        text.push('…');
    }
    text
}

fn status_text(status: reqwest::StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// The redirects a webhook client follows: 307 and 308, which keep the method and the body,
/// up to three hops. A 301, 302 or 303 is not followed (clients turn the POST into a GET and
/// drop the body there); [`post_webhook`] then reports it as a permanent failure naming the
/// new address, so the reader updates the URL and retries the dead letters.
pub fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let keeps_body = matches!(attempt.status().as_u16(), 307 | 308);
        if !keeps_body {
            attempt.stop()
        } else if attempt.previous().len() > 3 {
            attempt.error("more than 3 redirects")
        } else {
            attempt.follow()
        }
    })
}

/// POSTs the request once with a timeout and classifies the answer.
///
/// Connection errors, timeouts, 408, 429 and 5xx give [`DeliveryOutcome::Retry`]
/// (with the receiver's `Retry-After`, seconds or HTTP date, when present);
/// other 4xx (and redirects the client did not follow) give
/// [`DeliveryOutcome::Permanent`] with a snippet of the response body; 2xx gives
/// [`DeliveryOutcome::Delivered`]. Reasons name the endpoint by scheme, host and
/// port only, because chat webhook URLs carry their secret in the path.
/// Build `client` with [`redirect_policy`]: a followed 301/302/303 would turn the POST
/// into a GET without its body, and a receiver's landing page answering that GET with 200
/// would count as a delivery that never happened.
pub async fn post_webhook(
    client: &reqwest::Client,
    req: &WebhookRequest,
    timeout: Duration,
) -> DeliveryOutcome {
    let target = redact_url(&req.url);
    let mut builder = client
        .post(req.url.clone())
        .timeout(timeout)
        .body(req.body.clone());
    for (name, value) in &req.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let resp = match builder.send().await {
        Ok(resp) => resp,
        Err(err) => {
            let err = err.without_url();
            if err.is_builder() {
                return DeliveryOutcome::Permanent {
                    reason: format!("cannot build request to {target}: {}", error_chain(&err)),
                };
            }
            let reason = if err.is_timeout() {
                format!("{target} did not answer within {timeout:?}")
            } else if err.is_connect() {
                format!("cannot connect to {target}: {}", error_chain(&err))
            } else {
                format!("request to {target} failed: {}", error_chain(&err))
            };
            return DeliveryOutcome::Retry {
                after: None,
                reason,
            };
        }
    };
    let status = resp.status();
    if status.is_success() {
        return DeliveryOutcome::Delivered {
            status: status.as_u16(),
        };
    }
    let code = status.as_u16();
    if code == 408 || code == 429 || status.is_server_error() {
        let after = crate::backoff::retry_after_header(resp.headers());
        let snippet = body_snippet(resp).await;
        return DeliveryOutcome::Retry {
            after,
            reason: format!("{target} answered {}: {snippet}", status_text(status)),
        };
    }
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| {
            format!(
                " (redirect to {}: not followed, it would turn the POST into a GET; set the \
                 webhook's url to the new address)",
                truncate_chars(&one_line(l), 200)
            )
        })
        .unwrap_or_default();
    let snippet = body_snippet(resp).await;
    DeliveryOutcome::Permanent {
        reason: format!(
            "{target} answered {}{location}: {snippet}",
            status_text(status)
        ),
    }
}
