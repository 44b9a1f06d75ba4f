//! The notify stage (placeholder until the full senders land): renders and sends alerts.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What every sender renders.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AlertPayload {
    /// Alert id.
    pub id: String,
    /// Canonical URL.
    pub url: String,
    /// Headline.
    pub title: String,
    /// Outlet.
    pub source: String,
    /// Publication time.
    pub published: Option<chrono::DateTime<chrono::Utc>>,
    /// Story id.
    pub story: String,
    /// Story title.
    pub story_title: String,
    /// First item of its story.
    pub new_story: bool,
    /// Relevance score.
    pub score: f32,
    /// Excerpt.
    pub excerpt: String,
    /// Known copies.
    pub duplicates: Vec<String>,
}

/// Payload format.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// JSON.
    Json,
    /// Slack.
    Slack,
    /// Discord.
    Discord,
    /// ntfy.
    Ntfy,
}

/// A rendered request.
pub struct WebhookRequest {
    /// Where.
    pub url: url::Url,
    /// Body.
    pub body: Vec<u8>,
    /// Headers.
    pub headers: Vec<(String, String)>,
}

/// Renders.
pub fn render_webhook(
    _format: WebhookFormat,
    endpoint: &url::Url,
    alert: &AlertPayload,
    _topic: &str,
    _secret: Option<&[u8]>,
    user_agent: &str,
) -> WebhookRequest {
    WebhookRequest {
        url: endpoint.clone(),
        body: serde_json::to_vec(alert).unwrap_or_default(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("user-agent".into(), user_agent.into()),
            ("x-wirewatch-delivery".into(), alert.id.clone()),
        ],
    }
}

/// Outcome of one attempt.
pub enum DeliveryOutcome {
    /// 2xx.
    Delivered {
        /// Status.
        status: u16,
    },
    /// Try again.
    Retry {
        /// Server's wish.
        after: Option<Duration>,
        /// Why.
        reason: String,
    },
    /// Give up.
    Permanent {
        /// Why.
        reason: String,
    },
}

/// Posts.
pub async fn post_webhook(
    client: &reqwest::Client,
    req: &WebhookRequest,
    timeout: Duration,
) -> DeliveryOutcome {
    let mut b = client
        .post(req.url.clone())
        .timeout(timeout)
        .body(req.body.clone());
    for (k, v) in &req.headers {
        b = b.header(k, v);
    }
    match b.send().await {
        Ok(r) if r.status().is_success() => DeliveryOutcome::Delivered {
            status: r.status().as_u16(),
        },
        Ok(r)
            if r.status().is_server_error()
                || r.status().as_u16() == 429
                || r.status().as_u16() == 408 =>
        {
            DeliveryOutcome::Retry {
                after: None,
                reason: format!("HTTP {}", r.status()),
            }
        }
        Ok(r) => DeliveryOutcome::Permanent {
            reason: format!("HTTP {}", r.status()),
        },
        Err(e) => DeliveryOutcome::Retry {
            after: None,
            reason: e.to_string(),
        },
    }
}
