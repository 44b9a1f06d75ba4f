//! post_webhook against a real HTTP server (axum) on loopback that records
//! requests and fails on demand: 200, 500, 429/503 with Retry-After, 408, 404,
//! 410, a slow answer, redirects, and a port nobody listens on.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use url::Url;
use wirewatch::notify::{post_webhook, render_webhook, signature, DeliveryOutcome, WebhookFormat};

#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

async fn ok(State(rec): State<Recorded>, headers: HeaderMap, body: Bytes) -> StatusCode {
    rec.0.lock().expect("lock").push((headers, body));
    StatusCode::OK
}

async fn no_content() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn fail500() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, "database exploded").into_response()
}

async fn busy_seconds() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [("Retry-After", "7")],
        "slow down",
    )
        .into_response()
}

async fn busy_date() -> Response {
    let when = std::time::SystemTime::now() + Duration::from_secs(3600);
    let date = httpdate::fmt_http_date(when);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [("Retry-After", date)],
        "maintenance",
    )
        .into_response()
}

async fn request_timeout() -> StatusCode {
    StatusCode::REQUEST_TIMEOUT
}

async fn missing() -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("no such hook {}", "x".repeat(2000)),
    )
        .into_response()
}

async fn gone() -> Response {
    (StatusCode::GONE, "webhook deleted").into_response()
}

async fn slow() -> StatusCode {
    tokio::time::sleep(Duration::from_secs(10)).await;
    StatusCode::OK
}

/// What a receiver's landing page answers to a GET: a 200 that must never count as delivery.
async fn landing(State(rec): State<Recorded>, headers: HeaderMap) -> StatusCode {
    rec.0
        .lock()
        .expect("lock")
        .push((headers, Bytes::from_static(b"GET")));
    StatusCode::OK
}

async fn moved_permanently() -> Response {
    (StatusCode::MOVED_PERMANENTLY, [("Location", "/landing")]).into_response()
}

async fn found() -> Response {
    (StatusCode::FOUND, [("Location", "/landing")]).into_response()
}

async fn temporary_to_ok() -> Response {
    (StatusCode::TEMPORARY_REDIRECT, [("Location", "/ok")]).into_response()
}

async fn permanent_to_ok() -> Response {
    (StatusCode::PERMANENT_REDIRECT, [("Location", "/ok")]).into_response()
}

async fn start_server() -> (String, Recorded) {
    let rec = Recorded::default();
    let app = Router::new()
        .route("/ok", post(ok))
        .route("/", post(ok))
        .route("/nocontent", post(no_content))
        .route("/fail500", post(fail500))
        .route("/busy", post(busy_seconds))
        .route("/busydate", post(busy_date))
        .route("/timeout408", post(request_timeout))
        .route("/missing/{token}", post(missing))
        .route("/gone", post(gone))
        .route("/slow", post(slow))
        .route("/landing", axum::routing::get(landing))
        .route("/moved", post(moved_permanently))
        .route("/found", post(found))
        .route("/temporary", post(temporary_to_ok))
        .route("/permanent", post(permanent_to_ok))
        .with_state(rec.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), rec)
}

fn request(base: &str, path: &str, format: WebhookFormat) -> wirewatch::notify::WebhookRequest {
    let url = Url::parse(&format!("{base}{path}")).expect("url");
    render_webhook(
        format,
        &url,
        &common::hostile_alert(),
        "Microsoft vs OpenAI",
        Some(b"topsecret"),
        "wirewatch-test/1",
    )
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

const TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn delivered_with_headers_and_verifiable_signature() {
    let (base, rec) = start_server().await;
    let client = client();
    for format in [
        WebhookFormat::Json,
        WebhookFormat::Slack,
        WebhookFormat::Discord,
    ] {
        let req = request(&base, "/ok", format);
        let outcome = post_webhook(&client, &req, TIMEOUT).await;
        assert_eq!(
            outcome,
            DeliveryOutcome::Delivered { status: 200 },
            "{format:?}"
        );
    }
    let got = rec.0.lock().expect("lock").clone();
    assert_eq!(got.len(), 3);
    for (headers, body) in &got {
        let h = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        assert_eq!(h("content-type"), "application/json");
        assert_eq!(h("user-agent"), "wirewatch-test/1");
        assert_eq!(h("x-wirewatch-delivery"), "alert-0001");
        // What a receiver does: recompute the HMAC over the raw body it got.
        assert_eq!(h("x-wirewatch-signature"), signature(b"topsecret", body));
        let _: serde_json::Value = serde_json::from_slice(body).expect("JSON body");
    }
    // The json receiver got exactly the alert.
    let alert: wirewatch::notify::AlertPayload =
        serde_json::from_slice(&got[0].1).expect("payload");
    assert_eq!(alert, common::hostile_alert());

    let req = request(&base, "/nocontent", WebhookFormat::Discord);
    assert_eq!(
        post_webhook(&client, &req, TIMEOUT).await,
        DeliveryOutcome::Delivered { status: 204 }
    );
}

#[tokio::test]
async fn ntfy_posts_json_to_the_server_root() {
    let (base, rec) = start_server().await;
    // The user pastes the topic URL; the JSON publish goes to the root.
    let req = request(&base, "/wirewatch_alerts", WebhookFormat::Ntfy);
    assert_eq!(req.url.as_str(), format!("{base}/"));
    assert_eq!(
        post_webhook(&client(), &req, TIMEOUT).await,
        DeliveryOutcome::Delivered { status: 200 }
    );
    let got = rec.0.lock().expect("lock").clone();
    assert_eq!(got.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&got[0].1).expect("JSON");
    assert_eq!(body["topic"], "wirewatch_alerts");
    assert_eq!(body["title"], common::HOSTILE_TITLE);
    assert_eq!(
        got[0]
            .0
            .get("x-wirewatch-delivery")
            .and_then(|v| v.to_str().ok()),
        Some("alert-0001")
    );
}

#[tokio::test]
async fn server_errors_and_throttling_are_retried() {
    let (base, _) = start_server().await;
    let client = client();

    match post_webhook(
        &client,
        &request(&base, "/fail500", WebhookFormat::Json),
        TIMEOUT,
    )
    .await
    {
        DeliveryOutcome::Retry { after, reason } => {
            eprintln!("outcome: {reason}");
            assert_eq!(after, None);
            assert!(
                reason.contains("HTTP 500 Internal Server Error"),
                "{reason}"
            );
            assert!(reason.contains("database exploded"), "{reason}");
        }
        other => panic!("500 must be retried, got {other:?}"),
    }
    match post_webhook(
        &client,
        &request(&base, "/busy", WebhookFormat::Json),
        TIMEOUT,
    )
    .await
    {
        DeliveryOutcome::Retry { after, reason } => {
            eprintln!("outcome: {reason}");
            assert_eq!(after, Some(Duration::from_secs(7)));
            assert!(reason.contains("HTTP 429"), "{reason}");
        }
        other => panic!("429 must be retried, got {other:?}"),
    }
    match post_webhook(
        &client,
        &request(&base, "/busydate", WebhookFormat::Json),
        TIMEOUT,
    )
    .await
    {
        DeliveryOutcome::Retry { after, reason } => {
            eprintln!("outcome: {reason}");
            // An HTTP date one hour ahead (second resolution, so up to 1 s less).
            let after = after.expect("Retry-After date honoured");
            assert!(after <= Duration::from_secs(3600), "{after:?}");
            assert!(after >= Duration::from_secs(3500), "{after:?}");
            assert!(reason.contains("HTTP 503"), "{reason}");
        }
        other => panic!("503 must be retried, got {other:?}"),
    }
    match post_webhook(
        &client,
        &request(&base, "/timeout408", WebhookFormat::Json),
        TIMEOUT,
    )
    .await
    {
        DeliveryOutcome::Retry { reason, .. } => assert!(reason.contains("HTTP 408"), "{reason}"),
        other => panic!("408 must be retried, got {other:?}"),
    }
}

#[tokio::test]
async fn client_errors_are_permanent_with_a_snippet_and_no_secret_path() {
    let (base, _) = start_server().await;
    let client = client();
    match post_webhook(
        &client,
        &request(&base, "/missing/T0K3N-SECRET", WebhookFormat::Slack),
        TIMEOUT,
    )
    .await
    {
        DeliveryOutcome::Permanent { reason } => {
            eprintln!("outcome: {reason}");
            assert!(
                reason.contains("HTTP 404 Not Found: no such hook xxx"),
                "{reason}"
            );
            assert!(reason.len() < 500, "snippet is bounded: {}", reason.len());
            assert!(!reason.contains("T0K3N-SECRET"), "{reason}");
        }
        other => panic!("404 is permanent, got {other:?}"),
    }
    match post_webhook(
        &client,
        &request(&base, "/gone", WebhookFormat::Discord),
        TIMEOUT,
    )
    .await
    {
        DeliveryOutcome::Permanent { reason } => {
            eprintln!("outcome: {reason}");
            assert!(
                reason.contains("HTTP 410 Gone: webhook deleted"),
                "{reason}"
            )
        }
        other => panic!("410 is permanent, got {other:?}"),
    }
}

#[tokio::test]
async fn down_and_slow_receivers_are_retried() {
    let (base, _) = start_server().await;
    let client = client();

    // A port that was just free: nobody listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let down = request(
        &format!("http://127.0.0.1:{port}"),
        "/hook/SECRET",
        WebhookFormat::Json,
    );
    match post_webhook(&client, &down, TIMEOUT).await {
        DeliveryOutcome::Retry { after, reason } => {
            eprintln!("outcome: {reason}");
            assert_eq!(after, None);
            assert!(
                reason.contains(&format!("cannot connect to http://127.0.0.1:{port}")),
                "{reason}"
            );
            assert!(reason.to_lowercase().contains("refused"), "{reason}");
            assert!(!reason.contains("SECRET"), "{reason}");
        }
        other => panic!("down receiver must be retried, got {other:?}"),
    }

    let slow = request(&base, "/slow", WebhookFormat::Json);
    match post_webhook(&client, &slow, Duration::from_millis(300)).await {
        DeliveryOutcome::Retry { after, reason } => {
            eprintln!("outcome: {reason}");
            assert_eq!(after, None);
            assert!(reason.contains("did not answer within 300ms"), "{reason}");
        }
        other => panic!("slow receiver must be retried, got {other:?}"),
    }
}

#[tokio::test]
async fn unsendable_request_is_permanent() {
    let (base, _) = start_server().await;
    let mut req = request(&base, "/ok", WebhookFormat::Json);
    // An alert id with a newline cannot be a header value.
    req.headers.push(("X-Bad".to_string(), "a\nb".to_string()));
    match post_webhook(&client(), &req, TIMEOUT).await {
        DeliveryOutcome::Permanent { reason } => {
            assert!(reason.contains("cannot build request"), "{reason}")
        }
        other => panic!("bad header is permanent, got {other:?}"),
    }
}

/// The client the outbox builds: 307 and 308 are followed with the body; 301 and 302, which
/// every client turns into a GET without the body, are dead letters naming the new address,
/// never a "delivery" to the landing page's 200.
#[tokio::test]
async fn redirects_keep_the_post_or_fail_loudly() {
    let (base, rec) = start_server().await;
    let client = reqwest::Client::builder()
        .redirect(wirewatch::notify::redirect_policy())
        .build()
        .expect("client");
    for path in ["/temporary", "/permanent"] {
        let req = request(&base, path, WebhookFormat::Json);
        assert_eq!(
            post_webhook(&client, &req, TIMEOUT).await,
            DeliveryOutcome::Delivered { status: 200 },
            "{path}"
        );
        let got = rec.0.lock().expect("lock").pop().expect("the POST arrived");
        assert_eq!(got.1, req.body, "{path}: the body followed the redirect");
    }
    for path in ["/moved", "/found"] {
        match post_webhook(&client, &request(&base, path, WebhookFormat::Json), TIMEOUT).await {
            DeliveryOutcome::Permanent { reason } => {
                eprintln!("outcome: {reason}");
                assert!(reason.contains("redirect to /landing"), "{reason}");
                assert!(reason.contains("set the webhook's url"), "{reason}");
            }
            other => panic!("{path}: a redirect that drops the body is permanent, got {other:?}"),
        }
    }
    assert!(
        rec.0.lock().expect("lock").is_empty(),
        "the landing page was never fetched"
    );
}
