//! Aggregator links: news searches link to their own redirect pages, not to the article.
//!
//! - Google News (`news.google.com/rss/articles/<id>`, also `/articles/<id>` and `/read/<id>`):
//!   the id is URL-safe base64 of a small protobuf message whose field 4 is the publisher's URL
//!   (ids of this "old" form decode here, offline); since mid-2024 most ids carry an opaque
//!   token there instead (it starts `AU_yqL`), which only a request to Google resolves (see
//!   [`crate::pipeline`]'s text step and [`google_lookup_form`] / [`google_lookup_answer`]).
//! - Bing News (`bing.com/news/apiclick.aspx?...&url=<article>`): the `url` parameter.
//!
//! Written by hand: no maintained crate decodes either format; the protobuf reader needs four
//! wire types and a varint, far less than a protobuf crate and its code generation.

use base64::Engine;
use url::Url;

/// What an aggregator link stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aggregated {
    /// The publisher's URL, read from the link itself.
    Publisher(Url),
    /// A Google News link whose id only Google can resolve: the id.
    GoogleLookup(String),
}

/// The publisher behind an aggregator link; `None` for any other link (or one that does not
/// decode: it is then fetched as it is).
pub fn aggregated(link: &Url) -> Option<Aggregated> {
    let host = link.host_str()?.to_ascii_lowercase();
    if host == "news.google.com" {
        return google_id(link).and_then(|id| match decode_google_id(id) {
            GoogleId::Url(u) => Some(Aggregated::Publisher(u)),
            GoogleId::Opaque => Some(Aggregated::GoogleLookup(id.to_string())),
            GoogleId::Invalid => None,
        });
    }
    if (host == "bing.com" || host.ends_with(".bing.com"))
        && link.path().eq_ignore_ascii_case("/news/apiclick.aspx")
    {
        return link
            .query_pairs()
            .find(|(k, _)| k.eq_ignore_ascii_case("url"))
            .and_then(|(_, v)| web_url(&v))
            .map(Aggregated::Publisher);
    }
    None
}

/// The article id of a Google News article link.
pub fn google_id(link: &Url) -> Option<&str> {
    let mut segs = link.path_segments()?.filter(|s| !s.is_empty());
    let (a, b, c) = (segs.next(), segs.next(), segs.next());
    let id = match (a, b, c) {
        (Some("rss"), Some("articles"), Some(id)) => id,
        (Some("articles" | "read"), Some(id), None) => id,
        _ => return None,
    };
    (!id.is_empty()).then_some(id)
}

/// A Google News id, decoded.
#[derive(Debug, PartialEq, Eq)]
enum GoogleId {
    /// The publisher's URL.
    Url(Url),
    /// A token only Google resolves.
    Opaque,
    /// Not an id of a known form.
    Invalid,
}

fn decode_google_id(id: &str) -> GoogleId {
    let Ok(bytes) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id.trim_end_matches('='))
    else {
        return GoogleId::Invalid;
    };
    let Some(field) = protobuf_field(&bytes, 4) else {
        return GoogleId::Invalid;
    };
    if field.starts_with(b"AU_yqL") {
        return GoogleId::Opaque;
    }
    match std::str::from_utf8(field).ok().and_then(web_url) {
        Some(u) => GoogleId::Url(u),
        None => GoogleId::Invalid,
    }
}

/// The bytes of the first length-delimited field `number` of a protobuf message; `None` when
/// the message ends or breaks first.
fn protobuf_field(mut msg: &[u8], number: u64) -> Option<&[u8]> {
    while !msg.is_empty() {
        let tag = varint(&mut msg)?;
        match tag & 7 {
            0 => {
                varint(&mut msg)?;
            }
            1 => msg = msg.get(8..)?,
            5 => msg = msg.get(4..)?,
            2 => {
                let len = usize::try_from(varint(&mut msg)?).ok()?;
                let value = msg.get(..len)?;
                if tag >> 3 == number {
                    return Some(value);
                }
                msg = &msg[len..];
            }
            _ => return None,
        }
    }
    None
}

fn varint(msg: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let (&b, rest) = msg.split_first()?;
        *msg = rest;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// An absolute http(s) URL.
fn web_url(s: &str) -> Option<Url> {
    Url::parse(s.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// Google's article page (GET `<base>/rss/articles/<id>`) carries the two values the lookup
/// needs, as attributes `data-n-a-sg` (a signature) and `data-n-a-ts` (a timestamp).
pub fn google_lookup_params(page: &str) -> Option<(String, String)> {
    let attr = |name: &str| -> Option<String> {
        let at = page.find(&format!("{name}=\""))? + name.len() + 2;
        let end = page[at..].find('"')?;
        let v = &page[at..at + end];
        (!v.is_empty()).then(|| v.to_string())
    };
    Some((attr("data-n-a-sg")?, attr("data-n-a-ts")?))
}

/// The form body of the lookup (POST `<base>/_/DotsSplashUi/data/batchexecute`): Google's
/// batch RPC `Fbv4je` ("garturlreq") with the id, timestamp and signature, as its web client
/// sends it.
pub fn google_lookup_form(id: &str, ts: &str, sg: &str) -> String {
    let ts: i64 = ts.trim().parse().unwrap_or(0);
    let inner = serde_json::json!([
        "garturlreq",
        [
            [
                "X",
                "X",
                ["X", "X"],
                null,
                null,
                1,
                1,
                "US:en",
                null,
                1,
                null,
                null,
                null,
                null,
                null,
                0,
                1
            ],
            "X",
            "X",
            1,
            [1, 1, 1],
            1,
            1,
            null,
            0,
            0,
            null,
            0
        ],
        id,
        ts,
        sg
    ]);
    let req = serde_json::json!([[["Fbv4je", inner.to_string(), null, "generic"]]]);
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("f.req", &req.to_string())
        .finish()
}

/// The publisher's URL in the lookup's answer: after the `)]}'` guard line, JSON whose first
/// record's third element is a JSON string `["garturlres","<url>",...]`.
pub fn google_lookup_answer(body: &str) -> Option<Url> {
    let json = body
        .trim_start()
        .strip_prefix(")]}'")
        .unwrap_or(body)
        .trim();
    let outer: serde_json::Value = serde_json::from_str(json).ok()?;
    outer.as_array()?.iter().find_map(|rec| {
        let rec = rec.as_array()?;
        let inner: serde_json::Value = serde_json::from_str(rec.get(2)?.as_str()?).ok()?;
        let inner = inner.as_array()?;
        (inner.first()?.as_str()? == "garturlres")
            .then(|| web_url(inner.get(1)?.as_str()?))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// An id as Google writes them: field 1 (varint 0x13), field 4 the URL, field 26 the AMP URL.
    fn old_id(url: &str) -> String {
        let mut b = vec![0x08, 0x13, 0x22, url.len() as u8];
        b.extend_from_slice(url.as_bytes());
        let amp = format!("{url}.amp");
        b.extend_from_slice(&[0xd2, 0x01, amp.len() as u8]);
        b.extend_from_slice(amp.as_bytes());
        enc(&b)
    }

    #[test]
    fn google_old_ids_decode_offline() {
        let id = old_id("https://www.example.com/news/articles/c1");
        for path in [
            format!("https://news.google.com/rss/articles/{id}?oc=5"),
            format!("https://news.google.com/articles/{id}"),
            format!("https://news.google.com/read/{id}?hl=en-US"),
        ] {
            let u = Url::parse(&path).expect("url");
            assert_eq!(
                aggregated(&u),
                Some(Aggregated::Publisher(
                    Url::parse("https://www.example.com/news/articles/c1").expect("url")
                )),
                "{path}"
            );
        }
        // A URL longer than 127 bytes: a two-byte length.
        let long = format!("https://e.example/{}", "a".repeat(200));
        let mut b = vec![
            0x08,
            0x13,
            0x22,
            0x80 | (long.len() as u8 & 0x7f),
            (long.len() >> 7) as u8,
        ];
        b.extend_from_slice(long.as_bytes());
        let u =
            Url::parse(&format!("https://news.google.com/rss/articles/{}", enc(&b))).expect("url");
        assert!(matches!(aggregated(&u), Some(Aggregated::Publisher(p)) if p.as_str() == long));
    }

    #[test]
    fn google_new_ids_need_a_lookup() {
        let token = "AU_yqLN4he6m66di3u4dJBtpZlLiCR91SaAEDZMe4st3Ufu0vY6FyW95ePgL1GcdzfgBRJTMBlKZjA9BG9sluw";
        let mut b = vec![0x08, 0x13, 0x22, token.len() as u8];
        b.extend_from_slice(token.as_bytes());
        let id = enc(&b);
        let u =
            Url::parse(&format!("https://news.google.com/rss/articles/{id}?oc=5")).expect("url");
        assert_eq!(aggregated(&u), Some(Aggregated::GoogleLookup(id)));
    }

    #[test]
    fn other_links_are_left_alone() {
        for s in [
            "https://news.google.com/rss/search?q=x",
            "https://news.google.com/rss/articles/!!!notbase64",
            "https://news.google.com/rss/articles/CBMi",
            "https://www.bing.com/news/search?q=x",
            "https://www.bing.com/news/apiclick.aspx?url=javascript:alert(1)",
            "https://example.com/rss/articles/CBMi",
        ] {
            assert_eq!(aggregated(&Url::parse(s).expect("url")), None, "{s}");
        }
    }

    #[test]
    fn bing_apiclick_url_parameter() {
        let u = Url::parse(
            "http://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=6B2C&url=https%3a%2f%2fwww.example.com%2f2026%2f03%2fstory.html%3fa%3d1&c=123&mkt=en-us",
        )
        .expect("url");
        assert_eq!(
            aggregated(&u),
            Some(Aggregated::Publisher(
                Url::parse("https://www.example.com/2026/03/story.html?a=1").expect("url")
            ))
        );
    }

    #[test]
    fn google_lookup_round_trip() {
        let page = r#"<html><body><c-wiz><div jscontroller="x" data-n-a-sg="AZ5r3eTsig" data-n-a-ts="1733000000" data-n-a-id="CBMi"></div></c-wiz></body></html>"#;
        let (sg, ts) = google_lookup_params(page).expect("params");
        assert_eq!((sg.as_str(), ts.as_str()), ("AZ5r3eTsig", "1733000000"));
        let form = google_lookup_form("CBMiXYZ", &ts, &sg);
        let decoded: Vec<(String, String)> = url::form_urlencoded::parse(form.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(decoded[0].0, "f.req");
        let req: serde_json::Value = serde_json::from_str(&decoded[0].1).expect("json");
        let inner: serde_json::Value =
            serde_json::from_str(req[0][0][1].as_str().expect("inner")).expect("json");
        assert_eq!(inner[0], "garturlreq");
        assert_eq!(inner[2], "CBMiXYZ");
        assert_eq!(inner[3], 1733000000);
        assert_eq!(inner[4], "AZ5r3eTsig");
        let answer = ")]}'\n\n[[\"wrb.fr\",\"Fbv4je\",\"[\\\"garturlres\\\",\\\"https://www.example.com/a\\\",1]\",null,null,null,\"generic\"],[\"di\",42]]";
        assert_eq!(
            google_lookup_answer(answer).map(String::from).as_deref(),
            Some("https://www.example.com/a")
        );
        assert_eq!(google_lookup_answer("<html>error</html>"), None);
        assert_eq!(google_lookup_params("<html></html>"), None);
    }
}
