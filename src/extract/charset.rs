//! Bytes to text: find the character encoding of a fetched page and decode it.
//!
//! Order of evidence: byte-order mark, then the `charset` of the HTTP `Content-Type`, then a
//! `<meta charset>` / `http-equiv` declaration near the start of the page, then statistical
//! detection (chardetng). Declarations are often wrong, so two cross-checks overrule them:
//! bytes that are valid UTF-8 and contain non-ASCII sequences are UTF-8 whatever the page says,
//! and bytes declared UTF-8 that do not validate are handed to the detector.
//! encoding_rs and chardetng do the work; only the meta prescan is ours (a small byte regex,
//! because neither crate parses HTML declarations).

use encoding_rs::{Encoding, UTF_8};
use regex::bytes::Regex;
use std::sync::OnceLock;

/// How many leading bytes are searched for a `<meta>` charset declaration (the HTML spec
/// prescans 1024; pages with long inline `<head>` scripts need more).
const META_SCAN_BYTES: usize = 8192;

/// The `charset=` parameter of a Content-Type header value, if any.
pub(crate) fn charset_from_content_type(ct: &str) -> Option<&'static Encoding> {
    ct.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("charset") {
            Encoding::for_label(v.trim().trim_matches(|c| c == '"' || c == '\'').as_bytes())
        } else {
            None
        }
    })
}

fn meta_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // <meta charset="x"> and <meta http-equiv="Content-Type" content="text/html; charset=x">
        Regex::new(r#"(?i-u)<meta[^>]{0,400}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]{1,40})"#)
            .expect("static regex")
    })
}

/// Charset declared in a `<meta>` tag within the first bytes of the page.
pub(crate) fn charset_from_meta(body: &[u8]) -> Option<&'static Encoding> {
    let head = &body[..body.len().min(META_SCAN_BYTES)];
    let caps = meta_regex().captures(head)?;
    let enc = Encoding::for_label(caps.get(1)?.as_bytes())?;
    // A meta tag cannot truthfully declare UTF-16 (the tag itself would not be readable as ASCII).
    if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
        return Some(UTF_8);
    }
    Some(enc)
}

fn detect(body: &[u8], tld: Option<&[u8]>) -> &'static Encoding {
    let mut det = chardetng::EncodingDetector::new();
    // 64 KiB is plenty for a confident guess and bounds the work.
    det.feed(&body[..body.len().min(64 * 1024)], true);
    det.guess(tld, true)
}

/// Decode a page to text. Returns the text and the name of the encoding used.
pub(crate) fn decode(
    body: &[u8],
    content_type: Option<&str>,
    tld: Option<&str>,
) -> (String, &'static str) {
    if let Some((enc, bom_len)) = Encoding::for_bom(body) {
        let (text, _) = enc.decode_without_bom_handling(&body[bom_len..]);
        return (text.into_owned(), enc.name());
    }
    let declared = content_type
        .and_then(charset_from_content_type)
        .or_else(|| charset_from_meta(body));
    let utf8 = std::str::from_utf8(body).ok();
    let is_utf8 = utf8.is_some();
    let enc = match declared {
        // Valid UTF-8 with non-ASCII bytes is UTF-8, whatever the declaration says.
        Some(_) if is_utf8 && !body.is_ascii() => UTF_8,
        Some(e) if e == UTF_8 && !is_utf8 => detect(body, tld.map(str::as_bytes)),
        Some(e) => e,
        None if is_utf8 => UTF_8,
        None => detect(body, tld.map(str::as_bytes)),
    };
    if let (Some(s), true) = (utf8, enc == UTF_8) {
        return (s.to_string(), UTF_8.name());
    }
    let (text, _) = enc.decode_without_bom_handling(body);
    (text.into_owned(), enc.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_declaration_is_overruled() {
        let page = "<meta charset=\"iso-8859-1\"><p>Caf\u{e9} \u{2014} na\u{ef}ve</p>";
        let (text, enc) = decode(page.as_bytes(), None, None);
        assert_eq!(enc, "UTF-8");
        assert!(text.contains("Caf\u{e9} \u{2014}"));
    }

    #[test]
    fn latin1_declared_utf8_is_detected() {
        let mut page = b"<meta charset=utf-8><p>Le caf".to_vec();
        page.extend_from_slice(b"\xe9 est tr\xe8s bon, d\xe9j\xe0 vu, \xe0 bient\xf4t.</p>");
        let (text, enc) = decode(&page, Some("text/html"), Some("fr"));
        assert_ne!(enc, "UTF-8");
        assert!(text.contains("caf\u{e9} est tr\u{e8}s"), "{text}");
    }

    #[test]
    fn content_type_beats_meta() {
        let page = b"<meta charset=utf-8><p>\xa3100</p>";
        let (text, enc) = decode(page, Some("text/html; charset=\"windows-1252\""), None);
        assert_eq!(enc, "windows-1252");
        assert!(text.contains("\u{a3}100"));
    }
}
