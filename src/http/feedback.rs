//! `POST /api/feedback`: the reader's verdict on an item, from a script (JSON) or from the
//! status page's buttons (an HTML form).
//!
//! Both go through the same command as `wirewatch feedback` ([`control::execute`]), behind
//! the bearer token when one is set. With no token (the loopback default), a page the reader
//! opened elsewhere could post here from the browser: any post whose `Origin` names another
//! site, or that the browser calls `Sec-Fetch-Site: cross-site`, is refused, and a body that is
//! not a form must say it is JSON (`Content-Type: application/json`), which a page of another
//! site cannot send without a CORS preflight, which this server never grants. (A `text/plain`
//! "form" holding JSON needs no preflight: it is refused as an unsupported type.)

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Deserialize;

use super::AppState;
use crate::control::{self, Context, Request, Verdict};

/// The request's fields, in either encoding.
#[derive(Debug, Default, Deserialize)]
struct FeedbackBody {
    /// Any URL the item was seen under.
    url: String,
    /// `relevant`, `off-topic` or `clear`.
    verdict: String,
    /// Judge again the items decided within this long ago ("48h"), if present.
    #[serde(default)]
    rejudge: Option<String>,
    /// The topic (its id); the first when absent.
    #[serde(default)]
    topic: Option<String>,
}

fn bad(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(serde_json::json!({ "ok": false, "error": message.into() })),
    )
        .into_response()
}

/// Whether a browser says the post comes from another site than the one it posts to: its
/// `Origin` names another host, or its `Sec-Fetch-Site` says so.
fn cross_site(headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"))
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(origin);
    origin_host != host
}

/// The largest feedback body read (a URL, a verdict, a window: a few hundred bytes).
const MAX_BODY: usize = 64 * 1024;

/// Reads a request's body within the header wait and [`MAX_BODY`]: a client that sends
/// headers and then trickles (or never sends) the body it announced would otherwise hold its
/// connection, one of the few the server keeps, for as long as it likes.
async fn read_body(body: Body) -> Result<Bytes, Response> {
    match tokio::time::timeout(super::HEADER_WAIT, axum::body::to_bytes(body, MAX_BODY)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(bad(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {MAX_BODY} bytes, or was cut short"),
        )),
        Err(_) => Err(bad(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body did not arrive within {} s",
                super::HEADER_WAIT.as_secs()
            ),
        )),
    }
}

pub(super) async fn api_feedback(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if cross_site(&headers) {
        return bad(StatusCode::FORBIDDEN, "cross-site posts are refused");
    }
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !is_form && media != "application/json" && !media.ends_with("+json") {
        return bad(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send JSON with Content-Type: application/json (or the status page's form)",
        );
    }
    let parsed: Result<FeedbackBody, String> = if is_form {
        let mut b = FeedbackBody::default();
        for (k, v) in url::form_urlencoded::parse(&body) {
            match k.as_ref() {
                "url" => b.url = v.into_owned(),
                "verdict" => b.verdict = v.into_owned(),
                "rejudge" if !v.trim().is_empty() => b.rejudge = Some(v.into_owned()),
                "topic" if !v.trim().is_empty() => b.topic = Some(v.into_owned()),
                _ => {}
            }
        }
        Ok(b)
    } else {
        serde_json::from_slice(&body).map_err(|e| format!("invalid JSON body: {e}"))
    };
    let b = match parsed {
        Ok(b) if !b.url.trim().is_empty() => b,
        Ok(_) => return bad(StatusCode::BAD_REQUEST, "url is required"),
        Err(e) => return bad(StatusCode::BAD_REQUEST, e),
    };
    let verdict: Verdict = match b.verdict.parse() {
        Ok(v) => v,
        Err(e) => return bad(StatusCode::BAD_REQUEST, e),
    };
    let rejudge_secs = match b.rejudge.as_deref().map(humantime::parse_duration) {
        None => None,
        Some(Ok(d)) => Some(d.as_secs()),
        Some(Err(e)) => return bad(StatusCode::BAD_REQUEST, format!("rejudge: {e}")),
    };
    let Some(pipeline) = st.pipeline.clone() else {
        return bad(
            StatusCode::SERVICE_UNAVAILABLE,
            "no pipeline to give feedback to",
        );
    };
    let ctx = Context {
        config: st.config.clone(),
        store: st.store.clone(),
        deliverer: None,
        pipeline: Some(pipeline),
    };
    let req = Request::Feedback {
        url: b.url,
        verdict,
        rejudge_secs,
        topic: b.topic,
    };
    match control::execute_off_runtime(req, ctx).await {
        Ok(_) if is_form => Redirect::to("/#alerts").into_response(),
        Ok(reply) => Json(serde_json::json!({ "ok": true, "message": reply.stdout.trim_end() }))
            .into_response(),
        Err(e) => {
            let msg = e.to_string();
            let status = if msg.starts_with("no item seen") || msg.starts_with("no topic has") {
                StatusCode::NOT_FOUND
            } else if msg.starts_with("no text of") {
                StatusCode::CONFLICT
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            bad(status, msg)
        }
    }
}
