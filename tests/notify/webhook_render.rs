//! Payloads of every webhook format, including hostile text, and the signature.

use crate::common;

use std::time::{Duration, SystemTime};

use serde_json::Value;
use url::Url;
use wirewatch::notify::webhook::{parse_retry_after, DELIVERY_HEADER, SIGNATURE_HEADER};
use wirewatch::notify::{
    ntfy_target, render_webhook, signature, AlertPayload, WebhookFormat, WebhookRequest,
};

const UA: &str = "wirewatch/0.1 (+test)";
const TOPIC: &str = "Microsoft vs OpenAI";

fn render(format: WebhookFormat, endpoint: &str, alert: &AlertPayload) -> (WebhookRequest, Value) {
    let endpoint = Url::parse(endpoint).expect("url");
    let req = render_webhook(format, &endpoint, alert, TOPIC, Some(b"s3cret"), UA);
    let body: Value = serde_json::from_slice(&req.body).expect("body is JSON");
    (req, body)
}

fn header<'a>(req: &'a WebhookRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every string anywhere in a JSON value.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

fn all_strings(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    strings(value, &mut out);
    out
}

#[test]
fn signature_matches_known_vectors() {
    // RFC 4231 test case 2.
    assert_eq!(
        signature(b"Jefe", b"what do ya want for nothing?"),
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    // The example in GitHub's "Validating webhook deliveries" documentation.
    assert_eq!(
        signature(b"It's a Secret to Everybody", b"Hello, World!"),
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    );
}

#[test]
fn json_body_is_the_payload_exactly() {
    let alert = common::hostile_alert();
    let (req, body) = render(WebhookFormat::Json, "https://hooks.example.org/ww", &alert);
    assert_eq!(req.url.as_str(), "https://hooks.example.org/ww");
    let keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "id",
        "url",
        "title",
        "source",
        "published",
        "story",
        "story_title",
        "new_story",
        "score",
        "excerpt",
        "duplicates",
        "topic",
        "topic_name",
    ];
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected);
    // Byte-exact snapshot of the head of the body (field order is the struct's).
    let text = String::from_utf8(req.body.clone()).expect("utf-8");
    assert!(text.starts_with(
        "{\"id\":\"alert-0001\",\"url\":\"http://127.0.0.1:8391/bytewire/news/2026/03/26/openai-rejects-microsoft-breach-claim-frontier-runtime?a=1|b>c\",\"title\":\"@everyone <!channel>"
    ), "{text}");
    assert!(
        text.contains("\"published\":\"2026-03-26T18:30:00Z\""),
        "{text}"
    );
    assert!(
        text.contains("\"new_story\":true,\"score\":0.82,"),
        "{text}"
    );
    // The receiver gets the data unchanged: JSON receivers escape for themselves.
    let back: AlertPayload = serde_json::from_slice(&req.body).expect("round trip");
    assert_eq!(back, alert);

    assert_eq!(
        req.headers,
        vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("User-Agent".to_string(), UA.to_string()),
            (DELIVERY_HEADER.to_string(), "alert-0001".to_string()),
            (
                SIGNATURE_HEADER.to_string(),
                signature(b"s3cret", &req.body)
            ),
        ]
    );
}

#[test]
fn no_secret_no_signature_header_but_delivery_header_everywhere() {
    let alert = common::hostile_alert();
    let endpoint = Url::parse("https://ntfy.sh/mytopic").expect("url");
    for format in [
        WebhookFormat::Json,
        WebhookFormat::Slack,
        WebhookFormat::Discord,
        WebhookFormat::Ntfy,
    ] {
        let req = render_webhook(format, &endpoint, &alert, TOPIC, None, UA);
        assert_eq!(header(&req, SIGNATURE_HEADER), None, "{format:?}");
        assert_eq!(
            header(&req, DELIVERY_HEADER),
            Some("alert-0001"),
            "{format:?}"
        );
        assert_eq!(header(&req, "content-type"), Some("application/json"));
        assert_eq!(header(&req, "user-agent"), Some(UA));
        // With a secret every format signs the exact bytes it sends.
        let signed = render_webhook(format, &endpoint, &alert, TOPIC, Some(b"k"), UA);
        assert_eq!(signed.body, req.body, "{format:?}");
        assert_eq!(
            header(&signed, SIGNATURE_HEADER),
            Some(signature(b"k", &signed.body).as_str()),
            "{format:?}"
        );
    }
}

#[test]
fn slack_payload_escapes_hostile_text() {
    let alert = common::hostile_alert();
    let (req, body) = render(
        WebhookFormat::Slack,
        "https://hooks.slack.com/services/T0/B0/XYZ",
        &alert,
    );
    assert_eq!(
        req.url.as_str(),
        "https://hooks.slack.com/services/T0/B0/XYZ"
    );
    let fallback = body["text"].as_str().expect("fallback text");
    assert!(
        fallback.starts_with("New story on Microsoft vs OpenAI: "),
        "{fallback}"
    );
    let blocks = body["blocks"].as_array().expect("blocks");
    assert_eq!(blocks[0]["type"], "section");
    assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
    let headline = blocks[0]["text"]["text"].as_str().expect("headline");
    // Exactly one Slack control sequence in the headline: our own link, with
    // `|` and `>` of the URL percent-encoded so the label cannot break out.
    assert_eq!(headline.matches('<').count(), 1, "{headline}");
    assert!(
        headline.contains("<http://127.0.0.1:8391/bytewire/news/2026/03/26/openai-rejects-microsoft-breach-claim-frontier-runtime?a=1%7Cb%3Ec|"),
        "{headline}"
    );
    assert!(headline.contains("&lt;!channel&gt;"), "{headline}");
    assert!(headline.contains("&lt;@U123&gt;"), "{headline}");
    assert!(headline.contains("&lt;script&gt;"), "{headline}");
    assert!(headline.contains(" &amp; "), "{headline}");
    // The excerpt is plain_text: no formatting or mentions applied by Slack.
    assert_eq!(blocks[1]["text"]["type"], "plain_text");
    assert!(blocks[1]["text"]["text"]
        .as_str()
        .expect("excerpt")
        .contains("&lt;b&gt;this&lt;/b&gt;"));
    let context = blocks[2]["elements"][0]["text"].as_str().expect("context");
    assert!(context.contains("Bytewire &lt;@U999&gt;"), "{context}");
    assert!(context.contains("<!date^1774549800^"), "{context}");
    assert!(context.contains("1 copy suppressed"), "{context}");

    for s in all_strings(&body) {
        for raw in [
            "<!channel>",
            "<@U123>",
            "<@U999>",
            "<script>",
            "@everyone",
            "@here",
            "*bold*",
            "_it_",
            "~x~",
            "`c`",
            "> *fake",
        ] {
            assert!(!s.contains(raw), "raw {raw:?} in {s:?}");
        }
    }
}

#[test]
fn discord_payload_neutralises_mentions_and_markdown() {
    let alert = common::hostile_alert();
    let (req, body) = render(
        WebhookFormat::Discord,
        "https://discord.com/api/webhooks/1/abc",
        &alert,
    );
    assert_eq!(req.url.as_str(), "https://discord.com/api/webhooks/1/abc");
    assert_eq!(body["allowed_mentions"], serde_json::json!({"parse": []}));
    let embed = &body["embeds"][0];
    assert_eq!(embed["url"], alert.url.replace('>', "%3E"));
    assert_eq!(embed["timestamp"], "2026-03-26T18:30:00+00:00");
    assert_eq!(embed["footer"]["text"], "wirewatch · Microsoft vs OpenAI");
    let title = embed["title"].as_str().expect("title");
    assert_eq!(title, "@\u{200B}everyone \\<!channel> \\<@U123> \\*bold\\* \\_it\\_ \\~x\\~ \\`c\\` \\[click\\](http://evil.example) \\<script>alert(1)\\</script> & @\u{200B}here");
    let fields = embed["fields"].as_array().expect("fields");
    assert_eq!(fields[0]["name"], "Outlet");
    assert_eq!(fields[0]["value"], "Bytewire \\<@U999>");
    assert_eq!(
        fields[1]["value"],
        "OpenAI publicly rejects the breach claim > \\*fake quote\\*"
    );
    assert_eq!(fields[2]["value"], "0.82");
    assert_eq!(fields[3]["value"], "1");
    let content = body["content"].as_str().expect("content");
    assert!(
        content.starts_with("**New story** on Microsoft vs OpenAI: @\u{200B}everyone"),
        "{content}"
    );
    for s in all_strings(&body) {
        for raw in ["@everyone", "@here", " *bold*"] {
            assert!(!s.contains(raw), "raw {raw:?} in {s:?}");
        }
        // Mention and link syntax only ever appears backslash-escaped.
        for raw in ["<@U123>", "<!channel>", "[click]", "<@U999>"] {
            for (pos, _) in s.match_indices(raw) {
                assert!(s[..pos].ends_with('\\'), "unescaped {raw:?} in {s:?}");
            }
        }
    }
}

#[test]
fn ntfy_uses_json_publish_to_the_server_root() {
    let alert = common::hostile_alert();
    let (req, body) = render(WebhookFormat::Ntfy, "https://ntfy.sh/mytopic", &alert);
    assert_eq!(req.url.as_str(), "https://ntfy.sh/");
    assert_eq!(body["topic"], "mytopic");
    // ntfy shows plain text (markdown is never enabled), so the text is unchanged.
    assert_eq!(body["title"], common::HOSTILE_TITLE);
    let message = body["message"].as_str().expect("message");
    // The topic first: a reader subscribed to several topics' alerts sees which one.
    assert!(message.starts_with(
        "Microsoft vs OpenAI · Bytewire <@U999> · OpenAI publicly rejects the breach claim > *fake quote*\nOpenAI on Thursday"
    ), "{message}");
    assert_eq!(body["click"], alert.url.replace('>', "%3E"));
    assert_eq!(body["tags"], serde_json::json!(["newspaper", "new"]));
    assert_eq!(body["priority"], 4);
    assert!(body.get("markdown").is_none());

    // Self-hosted under a prefix, with an access token in the query.
    let endpoint = Url::parse("https://push.example.org/ntfy/wire_watch-1?auth=abc").expect("url");
    let (root, topic) = ntfy_target(&endpoint).expect("valid ntfy URL");
    assert_eq!(root.as_str(), "https://push.example.org/ntfy/?auth=abc");
    assert_eq!(topic, "wire_watch-1");
    // No topic: rejected with a reason (the config loader reports it).
    let err = ntfy_target(&Url::parse("https://ntfy.sh/").expect("url")).expect_err("no topic");
    assert!(err.to_string().contains("expected a topic URL"), "{err}");
    let (req, body) = render(WebhookFormat::Ntfy, "https://ntfy.sh/", &alert);
    assert_eq!(req.url.as_str(), "https://ntfy.sh/");
    assert_eq!(body["topic"], "");
}

#[test]
fn non_http_urls_are_never_links_and_empty_fields_are_filled() {
    let mut alert = common::hostile_alert();
    alert.url = "javascript:alert(1)".to_string();
    alert.title = "   ".to_string();
    alert.source = String::new();
    alert.published = None;
    alert.duplicates.clear();
    alert.new_story = false;

    let (_, slack) = render(WebhookFormat::Slack, "https://hooks.slack.com/x", &alert);
    let headline = slack["blocks"][0]["text"]["text"]
        .as_str()
        .expect("headline");
    assert_eq!(headline, "*More coverage:* *(untitled)*");
    assert!(!slack.to_string().contains("javascript:"));

    let (_, discord) = render(
        WebhookFormat::Discord,
        "https://discord.com/api/webhooks/1/a",
        &alert,
    );
    let embed = &discord["embeds"][0];
    assert!(embed.get("url").is_none());
    assert!(embed.get("timestamp").is_none());
    assert_eq!(embed["title"], "(untitled)");
    assert_eq!(embed["fields"][0]["value"], "—");
    assert_eq!(embed["fields"].as_array().expect("fields").len(), 3);

    let (_, ntfy) = render(WebhookFormat::Ntfy, "https://ntfy.sh/t", &alert);
    assert!(ntfy.get("click").is_none());
    assert_eq!(ntfy["tags"], serde_json::json!(["newspaper"]));
    assert_eq!(ntfy["priority"], 3);
}

#[test]
fn long_text_is_bounded_for_each_service() {
    let mut alert = common::hostile_alert();
    alert.title = "word ".repeat(2000);
    alert.excerpt = "*x* ".repeat(5000);
    let (_, discord) = render(
        WebhookFormat::Discord,
        "https://discord.com/api/webhooks/1/a",
        &alert,
    );
    let embed = &discord["embeds"][0];
    assert!(embed["title"].as_str().expect("title").chars().count() <= 256);
    assert!(embed["description"].as_str().expect("d").chars().count() <= 4096);
    assert!(discord["content"].as_str().expect("c").chars().count() <= 2000);
    let (_, ntfy) = render(WebhookFormat::Ntfy, "https://ntfy.sh/t", &alert);
    assert!(ntfy["message"].as_str().expect("m").len() < 4096);
    let (_, slack) = render(WebhookFormat::Slack, "https://hooks.slack.com/x", &alert);
    assert!(
        slack["blocks"][0]["text"]["text"]
            .as_str()
            .expect("h")
            .chars()
            .count()
            <= 3000
    );
}

#[test]
fn retry_after_seconds_and_http_dates() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480); // 2015-10-21 07:28:00 UTC
    assert_eq!(
        parse_retry_after("120", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now),
        Some(Duration::from_secs(120))
    );
    // RFC 850 and asctime forms are valid HTTP dates too.
    assert_eq!(
        parse_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", now),
        Some(Duration::from_secs(60))
    );
    assert_eq!(
        parse_retry_after("Wed Oct 21 07:28:30 2015", now),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("-5", now), None);
    assert_eq!(parse_retry_after("", now), None);
}

#[test]
fn escapers_cover_line_start_syntax_and_mentions() {
    use wirewatch::notify::webhook::{discord_escape, slack_mrkdwn_text};
    assert_eq!(discord_escape("> quoted"), "\\> quoted");
    assert_eq!(discord_escape("# Big"), "\\# Big");
    assert_eq!(discord_escape("-# small"), "\\-# small");
    assert_eq!(discord_escape("12. listed"), "12\\. listed");
    assert_eq!(
        discord_escape("Microsoft-OpenAI rift: 3.5% > 2"),
        "Microsoft-OpenAI rift: 3.5% > 2"
    );
    assert_eq!(
        discord_escape("||spoiler|| @Here"),
        "\\|\\|spoiler\\|\\| @\u{200B}Here"
    );
    assert_eq!(discord_escape("a\\*b"), "a\\\\\\*b");
    assert_eq!(
        slack_mrkdwn_text("<!here|x> *b* @channel & <http://evil|ok>"),
        "&lt;!here|x&gt; \u{2217}b\u{2217} @\u{200B}channel &amp; &lt;http://evil|ok&gt;"
    );
}
