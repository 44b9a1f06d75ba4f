//! Bytes to text: find the character encoding of a fetched body and decode it, for feeds
//! ([`decode_feed`]) and pages ([`decode_page`]).
//!
//! Both follow the same order of evidence: byte-order mark, then what the body's format can
//! tell without a declaration, then the `charset` of the HTTP `Content-Type`
//! ([`content_type_charset`], the one parser of that header here), then the document's own
//! declaration, then statistical detection (chardetng). Declarations are often wrong, so
//! valid non-ASCII UTF-8 is UTF-8 whatever a legacy declaration says, and bytes declared
//! UTF-8 that do not validate go to the detector.
//!
//! Feeds: feed-rs (through quick-xml) decodes according to the XML declaration only, and
//! panics on some UTF-16 inputs, so every feed body is decoded here first (UTF-16/UTF-32
//! byte patterns of `<?xml` count as evidence; the declaration read is the XML one) and its
//! XML declaration is rewritten to say UTF-8 so that the XML reader does not decode again.
//!
//! Pages: the declaration read is `<meta charset>` / `http-equiv` near the start of the page.
//!
//! encoding_rs and chardetng do the work; the XML and `<meta>` declaration scanners and UTF-32
//! (which encoding_rs, following WHATWG, does not implement) are ours.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};
use regex::bytes::Regex;
use std::borrow::Cow;
use std::sync::OnceLock;

/// How many leading bytes of a page are searched for a `<meta>` charset declaration (the HTML
/// spec prescans 1024; pages with long inline `<head>` scripts need more).
const META_SCAN_BYTES: usize = 8192;
/// How much of a body the detector reads: plenty for a confident guess, and bounded.
const DETECT_BYTES: usize = 64 * 1024;

/// Where the encoding used to decode a body came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetSource {
    /// A byte-order mark.
    Bom,
    /// The byte pattern of `<?xml` in UTF-16 or UTF-32 without a BOM.
    BytePattern,
    /// The `charset` parameter of the HTTP Content-Type.
    Http,
    /// The `encoding` of the XML declaration.
    XmlDeclaration,
    /// No declaration and the bytes are valid UTF-8 (the XML and JSON default).
    Default,
    /// Statistical detection with chardetng.
    Detected,
}

/// A body decoded to UTF-8.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The text, without BOM, with its XML declaration (if any) saying UTF-8.
    pub text: String,
    /// Name of the encoding the bytes were decoded from.
    pub encoding: &'static str,
    /// How that encoding was chosen.
    pub source: CharsetSource,
    /// True when some bytes were malformed in that encoding and replaced by U+FFFD.
    pub had_errors: bool,
    /// What was noticed on the way (a declaration that lied, an unknown label ...).
    pub notes: Vec<String>,
}

/// Unicode encodings that encoding_rs does not implement (it follows the WHATWG standard,
/// which has no UTF-32), decoded by hand in [`decode_utf32`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Utf32 {
    Le,
    Be,
}

enum Choice {
    Std(&'static Encoding),
    Utf32(Utf32),
}

/// Decodes a feed body to UTF-8, choosing the encoding as described in the module doc.
pub fn decode_feed(body: &[u8], content_type: Option<&str>) -> Decoded {
    let mut notes = Vec::new();
    let (choice, source, skip) = choose(body, content_type, &mut notes);
    let bytes = &body[skip..];
    let (text, encoding, had_errors) = match choice {
        Choice::Utf32(order) => {
            let (t, e) = decode_utf32(bytes, order);
            let name = match order {
                Utf32::Le => "UTF-32LE",
                Utf32::Be => "UTF-32BE",
            };
            (t, name, e)
        }
        Choice::Std(enc) => {
            let (t, e) = enc.decode_without_bom_handling(bytes);
            (t.into_owned(), enc.name(), e)
        }
    };
    if had_errors {
        notes.push(format!("malformed {encoding} byte sequences replaced"));
    }
    let text = fix_declaration(text);
    Decoded {
        text,
        encoding,
        source,
        had_errors,
        notes,
    }
}

/// Picks the encoding; returns it, its source and how many leading BOM bytes to skip.
fn choose(
    body: &[u8],
    content_type: Option<&str>,
    notes: &mut Vec<String>,
) -> (Choice, CharsetSource, usize) {
    // 1. Byte-order marks (UTF-32 before UTF-16: FF FE 00 00 starts with FF FE).
    if body.starts_with(&[0xFF, 0xFE, 0, 0]) {
        return (Choice::Utf32(Utf32::Le), CharsetSource::Bom, 4);
    }
    if body.starts_with(&[0, 0, 0xFE, 0xFF]) {
        return (Choice::Utf32(Utf32::Be), CharsetSource::Bom, 4);
    }
    if let Some((enc, len)) = Encoding::for_bom(body) {
        return (Choice::Std(enc), CharsetSource::Bom, len);
    }
    // 2. `<` (or `<?`) encoded in UTF-32 / UTF-16 without BOM (XML 1.0 appendix F).
    if body.starts_with(&[b'<', 0, 0, 0]) {
        return (Choice::Utf32(Utf32::Le), CharsetSource::BytePattern, 0);
    }
    if body.starts_with(&[0, 0, 0, b'<']) {
        return (Choice::Utf32(Utf32::Be), CharsetSource::BytePattern, 0);
    }
    if body.starts_with(&[b'<', 0]) {
        return (Choice::Std(UTF_16LE), CharsetSource::BytePattern, 0);
    }
    if body.starts_with(&[0, b'<']) {
        return (Choice::Std(UTF_16BE), CharsetSource::BytePattern, 0);
    }

    let declared = xml_declared_encoding(body);
    let valid_utf8 = std::str::from_utf8(body).is_ok();

    // 3. HTTP charset.
    if let Some(label) = content_type.and_then(content_type_charset) {
        match label_to_choice(label) {
            Some(Choice::Std(enc)) if utf8_despite(enc, body, valid_utf8) => {
                // Servers often default to ISO-8859-1 for a document that is UTF-8 by
                // construction.
                notes.push(format!(
                    "HTTP charset {label} ignored: the body is valid UTF-8"
                ));
                return (Choice::Std(UTF_8), CharsetSource::Detected, 0);
            }
            Some(Choice::Std(enc)) if enc == UTF_8 && !valid_utf8 => {
                notes.push("HTTP charset says UTF-8 but the body is not UTF-8".to_string());
                return (detect(body), CharsetSource::Detected, 0);
            }
            Some(c) => return (c, CharsetSource::Http, 0),
            None => notes.push(format!("unknown HTTP charset {label:?} ignored")),
        }
    }

    // 4. XML declaration.
    if let Some(label) = declared {
        match label_to_choice(&label) {
            // A UTF-16/32 declaration on bytes that matched no UTF-16/32 pattern above is a lie.
            Some(Choice::Utf32(_)) => {
                notes.push(format!("declared {label} but the bytes are not UTF-32"));
            }
            Some(Choice::Std(enc)) if enc == UTF_16LE || enc == UTF_16BE => {
                notes.push(format!("declared {label} but the bytes are not UTF-16"));
            }
            Some(Choice::Std(enc)) if enc == UTF_8 && !valid_utf8 => {
                if mostly_utf8(body) {
                    return (Choice::Std(UTF_8), CharsetSource::XmlDeclaration, 0);
                }
                notes.push(format!("declared {label} but the body is not UTF-8"));
                return (detect(body), CharsetSource::Detected, 0);
            }
            Some(Choice::Std(enc)) if utf8_despite(enc, body, valid_utf8) => {
                // A template's stale declaration on a feed its software writes in UTF-8.
                notes.push(format!("declared {label} ignored: the body is valid UTF-8"));
                return (Choice::Std(UTF_8), CharsetSource::Detected, 0);
            }
            Some(c) => return (c, CharsetSource::XmlDeclaration, 0),
            None => notes.push(format!("unknown XML encoding {label:?} ignored")),
        }
    }

    // 5. Default UTF-8, else detection.
    if valid_utf8 || mostly_utf8(body) {
        (Choice::Std(UTF_8), CharsetSource::Default, 0)
    } else {
        (detect(body), CharsetSource::Detected, 0)
    }
}

fn detect(body: &[u8]) -> Choice {
    Choice::Std(detect_encoding(body, None))
}

/// Statistical detection (chardetng) over the first [`DETECT_BYTES`]; `tld` (the host's
/// top-level domain) breaks ties between legacy encodings.
fn detect_encoding(body: &[u8], tld: Option<&[u8]>) -> &'static Encoding {
    let mut det = chardetng::EncodingDetector::new();
    det.feed(&body[..body.len().min(DETECT_BYTES)], true);
    det.guess(tld, true)
}

fn label_to_choice(label: &str) -> Option<Choice> {
    let l = label.trim().to_ascii_lowercase();
    match l.as_str() {
        "utf-32" | "utf32" | "ucs-4" | "iso-10646-ucs-4" | "utf-32le" => {
            return Some(Choice::Utf32(Utf32::Le))
        }
        "utf-32be" => return Some(Choice::Utf32(Utf32::Be)),
        // WHATWG maps these to windows-1252 etc.; both are right for feeds.
        _ => {}
    }
    Encoding::for_label_no_replacement(l.as_bytes()).map(Choice::Std)
}

/// Whether a body declared (by HTTP or by its XML declaration) in the legacy encoding `enc`
/// is UTF-8 all the same: it is valid UTF-8 and has non-ASCII text. Text in a single-byte
/// encoding is practically never valid UTF-8 once it has one non-ASCII byte; a few
/// characters of a double-byte one (GBK, Shift_JIS, EUC-KR) can be, so those take a few
/// dozen non-ASCII bytes.
fn utf8_despite(enc: &'static Encoding, body: &[u8], valid_utf8: bool) -> bool {
    if !valid_utf8 || enc == UTF_8 || enc == UTF_16LE || enc == UTF_16BE {
        return false;
    }
    if enc.is_single_byte() {
        return has_non_ascii(body);
    }
    body.iter().filter(|b| **b >= 0x80).take(32).count() == 32
}

fn has_non_ascii(body: &[u8]) -> bool {
    body.iter().any(|b| *b >= 0x80)
}

/// True when invalid sequences are rare next to valid multi-byte ones: a UTF-8 document
/// with a few stray bytes, better decoded as lossy UTF-8 than as a legacy charset.
fn mostly_utf8(body: &[u8]) -> bool {
    let mut valid_multi = 0usize;
    let mut invalid = 0usize;
    for chunk in body.utf8_chunks() {
        valid_multi += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        if !chunk.invalid().is_empty() {
            invalid += 1;
        }
    }
    valid_multi > 0 && invalid * 4 <= valid_multi
}

/// The `charset` parameter of a Content-Type header value (quotes removed), if any.
pub fn content_type_charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("charset") {
            let v = v.trim().trim_matches(|c| c == '"' || c == '\'').trim();
            (!v.is_empty()).then_some(v)
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

/// Charset declared in a `<meta>` tag within the first bytes of a page.
fn page_meta_charset(body: &[u8]) -> Option<&'static Encoding> {
    let head = &body[..body.len().min(META_SCAN_BYTES)];
    let caps = meta_regex().captures(head)?;
    let enc = Encoding::for_label(caps.get(1)?.as_bytes())?;
    // A meta tag cannot truthfully declare UTF-16 (the tag itself would not be readable as ASCII).
    if enc == UTF_16LE || enc == UTF_16BE {
        return Some(UTF_8);
    }
    Some(enc)
}

/// Decodes a page to text (see the module doc). Returns the text and the name of the encoding
/// used; `tld` is the page host's top-level domain, a hint for detection.
pub fn decode_page(
    body: &[u8],
    content_type: Option<&str>,
    tld: Option<&str>,
) -> (String, &'static str) {
    if let Some((enc, bom_len)) = Encoding::for_bom(body) {
        let (text, _) = enc.decode_without_bom_handling(&body[bom_len..]);
        return (text.into_owned(), enc.name());
    }
    let declared = content_type
        .and_then(content_type_charset)
        .and_then(|l| Encoding::for_label(l.as_bytes()))
        .or_else(|| page_meta_charset(body));
    let utf8 = std::str::from_utf8(body).ok();
    let is_utf8 = utf8.is_some();
    let tld = tld.map(str::as_bytes);
    let enc = match declared {
        // Valid UTF-8 with non-ASCII bytes is UTF-8, whatever the declaration says.
        Some(_) if is_utf8 && !body.is_ascii() => UTF_8,
        Some(e) if e == UTF_8 && !is_utf8 => detect_encoding(body, tld),
        Some(e) => e,
        None if is_utf8 => UTF_8,
        None => detect_encoding(body, tld),
    };
    if let (Some(s), true) = (utf8, enc == UTF_8) {
        return (s.to_string(), UTF_8.name());
    }
    let (text, _) = enc.decode_without_bom_handling(body);
    (text.into_owned(), enc.name())
}

/// The `encoding` pseudo-attribute of an XML declaration at the start of an ASCII-compatible
/// body (after optional whitespace).
fn xml_declared_encoding(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(1024)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &head[start..];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = String::from_utf8_lossy(&head[..end]);
    pseudo_attr(&decl, "encoding").map(|(_, _, v)| v.to_string())
}

/// Finds `name = "value"` in an XML declaration; returns the byte range of the whole
/// attribute and the value.
fn pseudo_attr<'a>(decl: &'a str, name: &str) -> Option<(usize, usize, &'a str)> {
    let mut from = 0;
    while let Some(i) = decl[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        let before_ok = at > 0 && decl.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = &decl[from..];
        let trimmed = rest.trim_start();
        if !before_ok || !trimmed.starts_with('=') {
            continue;
        }
        let after_eq = trimmed[1..].trim_start();
        let quote = after_eq.chars().next()?;
        if quote != '"' && quote != '\'' {
            return None;
        }
        let value_start = decl.len() - after_eq.len() + 1;
        let value_len = decl[value_start..].find(quote)?;
        return Some((
            at,
            value_start + value_len + 1,
            &decl[value_start..value_start + value_len],
        ));
    }
    None
}

/// Makes the decoded text start with its XML declaration (if any) and makes that declaration
/// say `encoding="utf-8"`, so quick-xml does not re-decode UTF-8 text as the original charset.
pub fn fix_declaration(text: String) -> String {
    let trimmed = text.trim_start_matches(|c: char| c == '\u{feff}' || c.is_whitespace());
    if !trimmed.starts_with("<?xml") {
        return text;
    }
    let Some(end) = trimmed.find("?>") else {
        return text;
    };
    let decl = &trimmed[..end];
    let new_decl: Cow<str> = match pseudo_attr(decl, "encoding") {
        Some((a, b, v)) if !v.eq_ignore_ascii_case("utf-8") => {
            Cow::Owned(format!("{}encoding=\"utf-8\"{}", &decl[..a], &decl[b..]))
        }
        _ => Cow::Borrowed(decl),
    };
    let mut out = String::with_capacity(trimmed.len() + 8);
    out.push_str(&new_decl);
    out.push_str(&trimmed[end..]);
    out
}

/// Decodes UTF-32 by hand (encoding_rs has none); invalid code points become U+FFFD.
fn decode_utf32(bytes: &[u8], order: Utf32) -> (String, bool) {
    let mut out = String::with_capacity(bytes.len() / 4);
    let mut errors = false;
    let chunks = bytes.chunks_exact(4);
    if !chunks.remainder().is_empty() {
        errors = true;
    }
    for c in chunks {
        let arr = [c[0], c[1], c[2], c[3]];
        let v = match order {
            Utf32::Le => u32::from_le_bytes(arr),
            Utf32::Be => u32::from_be_bytes(arr),
        };
        match char::from_u32(v) {
            Some(ch) => out.push(ch),
            None => {
                errors = true;
                out.push('\u{fffd}');
            }
        }
    }
    (out, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_charset_param() {
        assert_eq!(
            content_type_charset("text/xml; charset=\"ISO-8859-1\""),
            Some("ISO-8859-1")
        );
        assert_eq!(content_type_charset("application/rss+xml"), None);
        assert_eq!(
            content_type_charset("text/xml;foo=bar; Charset=utf-8"),
            Some("utf-8")
        );
        assert_eq!(content_type_charset("text/html; charset="), None);
    }

    #[test]
    fn wrong_page_declaration_is_overruled() {
        let page = "<meta charset=\"iso-8859-1\"><p>Caf\u{e9} \u{2014} na\u{ef}ve</p>";
        let (text, enc) = decode_page(page.as_bytes(), None, None);
        assert_eq!(enc, "UTF-8");
        assert!(text.contains("Caf\u{e9} \u{2014}"));
    }

    #[test]
    fn latin1_page_declared_utf8_is_detected() {
        let mut page = b"<meta charset=utf-8><p>Le caf".to_vec();
        page.extend_from_slice(b"\xe9 est tr\xe8s bon, d\xe9j\xe0 vu, \xe0 bient\xf4t.</p>");
        let (text, enc) = decode_page(&page, Some("text/html"), Some("fr"));
        assert_ne!(enc, "UTF-8");
        assert!(text.contains("caf\u{e9} est tr\u{e8}s"), "{text}");
    }

    #[test]
    fn content_type_beats_meta() {
        let page = b"<meta charset=utf-8><p>\xa3100</p>";
        let (text, enc) = decode_page(page, Some("text/html; charset=\"windows-1252\""), None);
        assert_eq!(enc, "windows-1252");
        assert!(text.contains("\u{a3}100"));
    }

    #[test]
    fn declaration_is_rewritten() {
        let t = fix_declaration("  <?xml version='1.0' encoding='iso-8859-1'?><a/>".into());
        assert_eq!(t, "<?xml version='1.0' encoding=\"utf-8\"?><a/>");
        let t = fix_declaration("<?xml version=\"1.0\"?><a/>".into());
        assert_eq!(t, "<?xml version=\"1.0\"?><a/>");
    }

    #[test]
    fn latin1_declared() {
        let body = b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><t>caf\xe9</t>";
        let d = decode_feed(body, None);
        assert_eq!(d.source, CharsetSource::XmlDeclaration);
        assert!(d.text.contains("caf\u{e9}"));
        assert!(d.text.contains("encoding=\"utf-8\""));
    }

    #[test]
    fn a_legacy_declaration_on_a_utf8_body_is_overruled() {
        let body = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><t>caf\u{e9}</t>";
        let d = decode_feed(body.as_bytes(), Some("application/rss+xml"));
        assert_eq!(
            (d.encoding, d.text.contains("caf\u{e9}")),
            ("UTF-8", true),
            "{}",
            d.text
        );
        // A double-byte charset in the HTTP header, on a UTF-8 body with enough text to tell.
        let body = format!("<rss><t>{}</t></rss>", "\u{65b0}\u{534e}\u{7f51}".repeat(6));
        let d = decode_feed(body.as_bytes(), Some("text/xml; charset=EUC-KR"));
        assert_eq!(d.encoding, "UTF-8");
        assert!(d.text.contains("\u{65b0}\u{534e}\u{7f51}"));
        // A genuine EUC-KR body stays EUC-KR.
        let words = "\u{d55c}\u{ad6d}\u{c5b4}".repeat(12);
        let (korean, _, _) = encoding_rs::EUC_KR.encode(&words);
        let mut body = b"<?xml version=\"1.0\" encoding=\"euc-kr\"?><t>".to_vec();
        body.extend_from_slice(&korean);
        body.extend_from_slice(b"</t>");
        let d = decode_feed(&body, None);
        assert_eq!(d.encoding, "EUC-KR");
        assert!(d.text.contains("\u{d55c}\u{ad6d}\u{c5b4}"));
    }

    #[test]
    fn utf16_and_utf32_without_bom() {
        let s = "<?xml version=\"1.0\" encoding=\"utf-16\"?><t>\u{e9}</t>";
        let le: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let d = decode_feed(&le, None);
        assert_eq!(d.text, s.replace("utf-16", "utf-8"));
        let be32: Vec<u8> = s.chars().flat_map(|c| (c as u32).to_be_bytes()).collect();
        let d = decode_feed(&be32, None);
        assert_eq!(d.encoding, "UTF-32BE");
        assert!(d.text.ends_with("<t>\u{e9}</t>"));
    }

    #[test]
    fn lying_utf8_declaration_is_detected() {
        // KOI8-R Cyrillic declared as UTF-8.
        let mut body = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><t>".to_vec();
        body.extend_from_slice(b"\xf0\xd2\xc9\xd7\xc5\xd4 \xcd\xc9\xd2 \xf0\xd2\xc9\xd7\xc5\xd4 \xcd\xc9\xd2 \xd7\xd3\xc5\xcd");
        body.extend_from_slice(b"</t>");
        let d = decode_feed(&body, None);
        assert_eq!(d.source, CharsetSource::Detected);
        assert!(!d.text.contains('\u{fffd}'));
    }
}
