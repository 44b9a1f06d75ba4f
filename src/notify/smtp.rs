//! Sending the rendered digest through an SMTP relay (lettre, tokio, rustls).
//!
//! One call is one attempt over a fresh connection (no pool: one mail a day).
//! Errors name what failed: the address that did not parse, or the relay's
//! `host:port` with the underlying cause, and say whether retrying can help,
//! so the caller's retry loop can back off or give up.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{error_chain, NotifyError, RenderedDigest, SmtpSecurity};

/// Connection settings for the SMTP relay.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    /// Relay host name (also the name its TLS certificate must carry).
    pub host: String,
    /// Relay port.
    pub port: u16,
    /// Transport security.
    pub security: SmtpSecurity,
    /// Login name, if the relay requires authentication.
    pub username: Option<String>,
    /// Password for `username` (empty if unset).
    pub password: Option<String>,
    /// Timeout for connecting and for each SMTP command.
    pub timeout: Duration,
}

fn parse_mailbox(address: &str) -> Result<Mailbox, NotifyError> {
    address
        .trim()
        .parse::<Mailbox>()
        .map_err(|err| NotifyError::Address {
            address: address.to_string(),
            reason: format!("{err} (expected user@example.org or \"Name <user@example.org>\")"),
        })
}

/// Builds the multipart/alternative message (text/plain then text/html).
pub fn build_message(
    from: &str,
    to: &[String],
    digest: &RenderedDigest,
) -> Result<Message, NotifyError> {
    let mut builder = Message::builder()
        .from(parse_mailbox(from)?)
        .subject(digest.subject.clone())
        .message_id(None);
    if to.is_empty() {
        return Err(NotifyError::NoRecipients);
    }
    for address in to {
        builder = builder.to(parse_mailbox(address)?);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            digest.text.clone(),
            digest.html.clone(),
        ))
        .map_err(|err| NotifyError::Message(err.to_string()))
}

fn tls_parameters(
    settings: &SmtpSettings,
    extra_root_pem: Option<&[u8]>,
) -> Result<TlsParameters, NotifyError> {
    let tls_err = |reason: String| NotifyError::Tls {
        host: settings.host.clone(),
        port: settings.port,
        reason,
    };
    let mut builder = TlsParameters::builder(settings.host.clone());
    if let Some(pem) = extra_root_pem {
        let cert = Certificate::from_pem(pem).map_err(|e| tls_err(error_chain(&e)))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build().map_err(|e| tls_err(error_chain(&e)))
}

/// Sends the digest as one multipart/alternative mail from `from` to all of `to`.
///
/// TLS certificates are checked against the public web roots (webpki-roots).
/// Errors: [`NotifyError::Address`] names an address that does not parse,
/// [`NotifyError::NoRecipients`] for an empty `to`, [`NotifyError::Smtp`] names
/// `host:port` and the cause (e.g. "Connection refused") and tells by
/// [`NotifyError::is_transient`] whether a retry may help.
pub async fn send_mail(
    settings: &SmtpSettings,
    from: &str,
    to: &[String],
    digest: &RenderedDigest,
) -> Result<(), NotifyError> {
    send_mail_with_roots(settings, None, from, to, digest).await
}

/// [`send_mail`], additionally trusting the PEM certificate(s) in
/// `extra_root_pem`: for a relay with a private CA or a self-signed certificate.
pub async fn send_mail_with_roots(
    settings: &SmtpSettings,
    extra_root_pem: Option<&[u8]>,
    from: &str,
    to: &[String],
    digest: &RenderedDigest,
) -> Result<(), NotifyError> {
    let message = build_message(from, to, digest)?;
    let tls = match settings.security {
        SmtpSecurity::Starttls => Tls::Required(tls_parameters(settings, extra_root_pem)?),
        SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(settings, extra_root_pem)?),
        SmtpSecurity::None => Tls::None,
    };
    let mut builder =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.clone())
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
    if let Some(user) = &settings.username {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            settings.password.clone().unwrap_or_default(),
        ));
    }
    let transport = builder.build();
    match transport.send(message).await {
        Ok(_) => Ok(()),
        Err(err) => Err(NotifyError::Smtp {
            host: settings.host.clone(),
            port: settings.port,
            // 5xx replies, and client-side refusals such as "STARTTLS is not
            // supported on this server", need a config change, not a retry.
            permanent: err.is_permanent() || err.is_client(),
            reason: error_chain(&err),
        }),
    }
}
