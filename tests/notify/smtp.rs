//! send_mail against a real SMTP server on loopback (Python's aiosmtpd, see
//! tests/notify/smtp_server.py; needs `pip install aiosmtpd`), plain and STARTTLS
//! with authentication, and the errors for a down server, a server without
//! STARTTLS, bad credentials and bad addresses.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono_tz::Europe::Berlin;
use mail_parser::{MessageParser, MimeHeaders};
use wirewatch::notify::{
    render_digest, send_mail, send_mail_with_roots, DigestInput, DigestItem, DigestStory,
    NotifyError, RenderedDigest, SmtpSecurity, SmtpSettings,
};

/// A running tests/notify/smtp_server.py; killed (by its own handle) when dropped.
struct SmtpServer {
    child: Child,
    port: u16,
    out: tempfile::TempDir,
}

impl SmtpServer {
    fn start(extra: &[&str]) -> SmtpServer {
        let out = tempfile::tempdir().expect("tempdir");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/notify/smtp_server.py");
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
        let mut child = Command::new(python)
            .arg(&script)
            .arg("--out")
            .arg(out.path())
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tests/notify/smtp_server.py (needs python3 with aiosmtpd)");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read port");
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                panic!("smtp_server.py did not start (is aiosmtpd installed?): {line:?}")
            });
        SmtpServer { child, port, out }
    }

    /// The raw messages and envelopes received so far, in order.
    fn received(&self) -> Vec<(Vec<u8>, serde_json::Value)> {
        let mut out = Vec::new();
        for n in 1.. {
            let base: PathBuf = self.out.path().join(format!("msg-{n}"));
            let Ok(envelope) = std::fs::read_to_string(base.with_extension("json")) else {
                break;
            };
            let raw = std::fs::read(base.with_extension("eml")).expect("eml");
            out.push((raw, serde_json::from_str(&envelope).expect("envelope")));
        }
        out
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take()); // EOF on stdin ends the script...
        let _ = self.child.kill(); // ...and this makes sure.
        let _ = self.child.wait();
    }
}

fn settings(port: u16, security: SmtpSecurity) -> SmtpSettings {
    SmtpSettings {
        host: "localhost".to_string(),
        port,
        security,
        username: None,
        password: None,
        timeout: Duration::from_secs(10),
    }
}

fn hostile_digest() -> RenderedDigest {
    let mut input: DigestInput = common::scenario_digest(Berlin);
    input.topic = "Microsoft vs OpenAI — Frontier".to_string();
    input.stories.insert(
        0,
        DigestStory {
            id: "evil".into(),
            title: "<script>alert('story')</script>".into(),
            items: vec![DigestItem {
                outlet: "Evil <b>Outlet</b>".into(),
                title: "<script>alert(1)</script> & friends".into(),
                url: "https://example.org/evil?a=1&b=2".into(),
                time: "2026-04-15T07:00:00Z".parse().expect("date"),
                excerpt: "Grüße aus Köln, ça va? <iframe>".into(),
                marked_off_topic: false,
            }],
        },
    );
    render_digest(&input)
}

/// A self-signed certificate for "localhost": (cert file, key file, cert PEM).
fn self_signed(dir: &Path) -> (PathBuf, PathBuf, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let cert_pem = cert.cert.pem();
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, &cert_pem).expect("write cert");
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).expect("write key");
    (cert_path, key_path, cert_pem)
}

fn recipients() -> Vec<String> {
    vec![
        "me@example.org".to_string(),
        "Second Reader <two@example.net>".to_string(),
    ]
}

/// Parses one received message and checks everything a reader would see.
fn assert_digest_mail(raw: &[u8], envelope: &serde_json::Value, digest: &RenderedDigest) {
    assert_eq!(envelope["mail_from"], "wirewatch@example.org");
    assert_eq!(
        envelope["rcpt_tos"],
        serde_json::json!(["me@example.org", "two@example.net"])
    );
    let msg = MessageParser::default().parse(raw).expect("parsable MIME");
    assert_eq!(msg.subject(), Some(digest.subject.as_str()));
    let from = msg.from().and_then(|a| a.first()).expect("From");
    assert_eq!(from.address(), Some("wirewatch@example.org"));
    assert_eq!(from.name(), Some("wirewatch"));
    let to: Vec<&str> = msg
        .to()
        .expect("To")
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(to, vec!["me@example.org", "two@example.net"]);
    assert!(msg.message_id().is_some(), "Message-ID set");
    assert!(msg.date().is_some(), "Date set");

    let root = msg.root_part().content_type().expect("content type");
    assert_eq!(
        (root.ctype(), root.subtype()),
        ("multipart", Some("alternative"))
    );
    let leaf_types: Vec<String> = msg
        .parts
        .iter()
        .skip(1)
        .map(|p| {
            let ct = p.content_type().expect("part type");
            format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or(""))
        })
        .collect();
    assert_eq!(leaf_types, vec!["text/plain", "text/html"]);

    let text = msg.body_text(0).expect("text part");
    let html = msg.body_html(0).expect("html part");
    assert_eq!(
        text.replace("\r\n", "\n").trim_end(),
        digest.text.trim_end()
    );
    assert_eq!(
        html.replace("\r\n", "\n").trim_end(),
        digest.html.trim_end()
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends"));
    assert!(html.contains("<a href=\"https://example.org/evil?a=1&amp;b=2\""));
    assert!(!html.contains("<script"));
    assert!(text.contains("Grüße aus Köln, ça va? <iframe>"));
}

#[tokio::test]
async fn plain_smtp_delivers_multipart_alternative() {
    let server = SmtpServer::start(&[]);
    let digest = hostile_digest();
    send_mail(
        &settings(server.port, SmtpSecurity::None),
        "wirewatch <wirewatch@example.org>",
        &recipients(),
        &digest,
    )
    .await
    .expect("sent");
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_digest_mail(&got[0].0, &got[0].1, &digest);
}

#[tokio::test]
async fn starttls_with_auth_and_private_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert_path, key_path, cert_pem) = self_signed(dir.path());
    let server = SmtpServer::start(&[
        "--tls-cert",
        cert_path.to_str().expect("utf-8 path"),
        "--tls-key",
        key_path.to_str().expect("utf-8 path"),
        "--user",
        "digest",
        "--password",
        "pa55 word",
    ]);
    let digest = hostile_digest();
    let mut cfg = settings(server.port, SmtpSecurity::Starttls);
    cfg.username = Some("digest".to_string());
    cfg.password = Some("pa55 word".to_string());

    // Without trusting the self-signed certificate, TLS must fail (no silent downgrade).
    let err = send_mail(
        &cfg,
        "wirewatch <wirewatch@example.org>",
        &recipients(),
        &digest,
    )
    .await
    .expect_err("untrusted certificate");
    let msg = err.to_string();
    eprintln!("untrusted cert: {msg}");
    assert!(msg.contains(&format!("localhost:{}", server.port)), "{msg}");
    assert!(msg.to_lowercase().contains("certificate"), "{msg}");
    assert!(server.received().is_empty());

    let roots = Some(cert_pem.as_bytes());
    // Wrong password: a permanent error naming the relay.
    let mut wrong = cfg.clone();
    wrong.password = Some("nope".to_string());
    let err = send_mail_with_roots(
        &wrong,
        roots,
        "wirewatch <wirewatch@example.org>",
        &recipients(),
        &digest,
    )
    .await
    .expect_err("bad credentials");
    eprintln!("bad credentials: {err}");
    assert!(
        matches!(
            err,
            NotifyError::Smtp {
                permanent: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_transient());

    send_mail_with_roots(
        &cfg,
        roots,
        "wirewatch <wirewatch@example.org>",
        &recipients(),
        &digest,
    )
    .await
    .expect("sent over STARTTLS");
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_digest_mail(&got[0].0, &got[0].1, &digest);
}

#[tokio::test]
async fn implicit_tls_delivers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert_path, key_path, cert_pem) = self_signed(dir.path());
    let server = SmtpServer::start(&[
        "--tls-cert",
        cert_path.to_str().expect("utf-8 path"),
        "--tls-key",
        key_path.to_str().expect("utf-8 path"),
        "--implicit-tls",
    ]);
    let digest = hostile_digest();
    send_mail_with_roots(
        &settings(server.port, SmtpSecurity::Tls),
        Some(cert_pem.as_bytes()),
        "wirewatch <wirewatch@example.org>",
        &recipients(),
        &digest,
    )
    .await
    .expect("sent over implicit TLS");
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_digest_mail(&got[0].0, &got[0].1, &digest);
}

#[tokio::test]
async fn starttls_required_but_not_offered_is_an_error() {
    let server = SmtpServer::start(&[]);
    let err = send_mail(
        &settings(server.port, SmtpSecurity::Starttls),
        "wirewatch@example.org",
        &recipients(),
        &hostile_digest(),
    )
    .await
    .expect_err("no STARTTLS offered");
    let msg = err.to_string();
    eprintln!("no STARTTLS: {msg}");
    assert!(!err.is_transient(), "a config problem: {err:?}");
    assert!(
        msg.contains(&format!("SMTP localhost:{}", server.port)),
        "{msg}"
    );
    assert!(
        msg.to_lowercase().contains("starttls") || msg.to_lowercase().contains("tls"),
        "{msg}"
    );
    assert!(server.received().is_empty(), "nothing sent in clear text");
}

#[tokio::test]
async fn down_server_names_host_and_port() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let mut cfg = settings(port, SmtpSecurity::None);
    cfg.host = "127.0.0.1".to_string();
    let err = send_mail(
        &cfg,
        "wirewatch@example.org",
        &recipients(),
        &hostile_digest(),
    )
    .await
    .expect_err("nobody listens");
    let msg = err.to_string();
    eprintln!("down server: {msg}");
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(msg.to_lowercase().contains("connection refused"), "{msg}");
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn bad_addresses_are_named() {
    let cfg = settings(1, SmtpSecurity::None); // never reached
    let digest = hostile_digest();
    let err = send_mail(&cfg, "wirewatch at example", &recipients(), &digest)
        .await
        .expect_err("bad from");
    assert!(matches!(err, NotifyError::Address { .. }), "{err:?}");
    assert!(
        err.to_string().contains("\"wirewatch at example\""),
        "{err}"
    );

    let to = vec!["me@example.org".to_string(), "broken@@example".to_string()];
    let err = send_mail(&cfg, "wirewatch@example.org", &to, &digest)
        .await
        .expect_err("bad to");
    eprintln!("bad address: {err}");
    assert!(err.to_string().contains("\"broken@@example\""), "{err}");

    let err = send_mail(&cfg, "wirewatch@example.org", &[], &digest)
        .await
        .expect_err("no recipients");
    assert!(matches!(err, NotifyError::NoRecipients), "{err:?}");
}
