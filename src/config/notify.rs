//! `[[webhooks]]`, `[digest]` and `[smtp]`: where alerts go.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::{read_secret, Dur, InvalidSetting, SecretError};

/// The payload dialect a webhook endpoint speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// wirewatch's own JSON (the notify stage's `AlertPayload`), signed when a secret is set.
    #[default]
    Json,
    /// Slack incoming webhook (Block Kit blocks plus fallback text).
    Slack,
    /// Discord webhook (one embed, no mentions).
    Discord,
    /// ntfy topic URL (published with ntfy's JSON publish to the server root).
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
    /// A unique name, for logs and for the topics' routes (`[[topics]] webhooks`); defaults
    /// to the format and the host (and port).
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
            let host = self.url.host_str().unwrap_or("?");
            match self.url.port() {
                Some(p) => format!("{:?} {host}:{p}", self.format),
                None => format!("{:?} {host}", self.format),
            }
            .to_lowercase()
        })
    }

    /// Reads the secret from the environment or file, if one is configured.
    pub fn secret(&self) -> Result<Option<Vec<u8>>, SecretError> {
        read_secret(
            self.secret_env.as_deref(),
            self.secret_file.as_deref(),
            "webhook secret",
        )
    }
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
    /// How long a mail the server refuses outright (a 5xx reply: an unknown mailbox, bad
    /// credentials) is tried again before that day's digest is given up for its recipients
    /// (and noted in `wirewatch status`). Time to fix a password; a refused mailbox must not
    /// hold up the digest for days.
    #[serde(default = "default_give_up_after")]
    pub give_up_after: Dur,
}

/// How long a refused digest mail is retried when `give_up_after` is not set.
pub fn default_give_up_after() -> Dur {
    Dur(Duration::from_secs(3600))
}

/// The digest's send time when `at` is not set.
pub fn default_digest_at() -> String {
    "08:00".into()
}

/// The digest's time zone when `timezone` is not set.
pub fn default_tz() -> String {
    "UTC".into()
}

impl DigestConfig {
    /// The send time, parsed.
    pub fn time(&self) -> Result<chrono::NaiveTime, InvalidSetting> {
        chrono::NaiveTime::parse_from_str(self.at.trim(), "%H:%M").map_err(|e| {
            InvalidSetting::new(
                "digest.at",
                format!("{:?} is not a HH:MM time: {e}", self.at),
            )
        })
    }

    /// The time zone, parsed.
    pub fn tz(&self) -> Result<chrono_tz::Tz, InvalidSetting> {
        self.timezone.trim().parse::<chrono_tz::Tz>().map_err(|_| {
            InvalidSetting::new(
                "digest.timezone",
                format!(
                    "{:?} is not an IANA time zone (e.g. \"Europe/Berlin\")",
                    self.timezone
                ),
            )
        })
    }
}

/// How the connection to the mail server is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS; fails if the server does not offer it (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte, "implicit TLS" (port 465).
    Tls,
    /// No encryption at all; only for a relay on localhost or a trusted network.
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
