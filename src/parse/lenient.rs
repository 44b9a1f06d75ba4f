//! The lenient pre-pass: text-level repairs that turn common broken feeds into well-formed
//! XML, run only when the strict parse failed.
//!
//! It fixes what WordPress-era feeds get wrong: bare `&`, HTML-only named entities (`&nbsp;`,
//! `&rsquo;` ...), characters that XML 1.0 forbids (form feed and other C0 controls),
//! character references to such characters, an XML declaration that is not at the start,
//! undeclared namespace prefixes and an `<rss>` root without a version feed-rs knows. A
//! general XML parser cannot do this (they stop at the first error, as they must), so the
//! scan is written here; it is one linear pass over the text plus two regex scans.
//! Structural damage (truncated documents, mismatched tags) is the job of
//! [`crate::parse::structure`].

use regex::Regex;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

/// Text after the pre-pass and what was changed.
#[derive(Debug, Clone)]
pub struct Repaired {
    /// The repaired document.
    pub text: String,
    /// One human-readable line per kind of repair.
    pub repairs: Vec<String>,
}

/// Whether `c` may appear in an XML 1.0 document.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{a}' | '\u{d}' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// HTML5 named entities (name without `&` and `;`) to their characters, from the `entities`
/// crate (the W3C list, 2,125 names): too many to type by hand.
fn html_entities() -> &'static HashMap<&'static str, &'static str> {
    static MAP: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    MAP.get_or_init(|| {
        entities::ENTITIES
            .iter()
            .filter_map(|e| {
                let name = e.entity.strip_prefix('&')?.strip_suffix(';')?;
                Some((name, e.characters))
            })
            .collect()
    })
}

/// The largest char boundary of `s` that is at most `max` (and at least 1 when `s` starts
/// with an ASCII byte, as every caller's `s` does).
pub fn floor_boundary(s: &str, max: usize) -> usize {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// Looks up an HTML5 named entity (without `&` and `;`).
pub fn html_entity(name: &str) -> Option<&'static str> {
    html_entities().get(name).copied()
}

/// Well-known feed namespace prefixes, declared with their real URIs when a feed uses them
/// without declaring them (so feed-rs still recognises `content:encoded`, `dc:creator` ...).
const KNOWN_PREFIXES: &[(&str, &str)] = &[
    ("atom", "http://www.w3.org/2005/Atom"),
    ("content", "http://purl.org/rss/1.0/modules/content/"),
    ("dc", "http://purl.org/dc/elements/1.1/"),
    ("dcterms", "http://purl.org/dc/terms/"),
    ("itunes", "http://www.itunes.com/dtds/podcast-1.0.dtd"),
    ("media", "http://search.yahoo.com/mrss/"),
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("slash", "http://purl.org/rss/1.0/modules/slash/"),
    ("sy", "http://purl.org/rss/1.0/modules/syndication/"),
    ("wfw", "http://wellformedweb.org/CommentAPI/"),
    ("georss", "http://www.georss.org/georss"),
    ("xhtml", "http://www.w3.org/1999/xhtml"),
];

#[derive(Default)]
struct Counts {
    bare_amp: usize,
    html_entities: BTreeMap<String, usize>,
    invalid_chars: BTreeMap<u32, usize>,
    invalid_refs: usize,
    unterminated_cdata: usize,
    unterminated_comment: usize,
    misplaced_decl: usize,
}

/// The text with a space put between each e-mail address and a non-ASCII character right
/// beside it (`（webmaster@x.cn）`), or `None` when there is no such address: feed-rs slices
/// one byte either side of an address in a person field and panics inside a wide character.
/// Only addresses touching such a character change, so links (`mailto:` in an attribute) and
/// ordinary text stay as they are.
pub fn space_out_addresses(text: &str) -> Option<String> {
    static ADDRESS: OnceLock<Regex> = OnceLock::new();
    let re = ADDRESS.get_or_init(|| {
        Regex::new(r"(mailto:)?[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
            .expect("static regex")
    });
    let mut out = String::with_capacity(text.len() + 16);
    let mut last = 0;
    let mut changed = false;
    for m in re.find_iter(text) {
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        out.push_str(&text[last..m.start()]);
        if before.is_some_and(|c| !c.is_ascii()) {
            out.push(' ');
            changed = true;
        }
        out.push_str(m.as_str());
        if after.is_some_and(|c| !c.is_ascii()) {
            out.push(' ');
            changed = true;
        }
        last = m.end();
    }
    out.push_str(&text[last..]);
    changed.then_some(out)
}

/// Runs every text-level repair over `text`.
pub fn repair(text: &str) -> Repaired {
    let mut c = Counts::default();
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut seen_markup = false;
    while i < text.len() {
        let rest = &text[i..];
        let b = bytes[i];
        if b == b'<' {
            if rest.starts_with("<![CDATA[") {
                let body_start = i + 9;
                match text[body_start..].find("]]>") {
                    Some(n) => {
                        out.push_str("<![CDATA[");
                        push_chars(&mut out, &text[body_start..body_start + n], &mut c);
                        out.push_str("]]>");
                        i = body_start + n + 3;
                    }
                    None => {
                        out.push_str("<![CDATA[");
                        push_chars(&mut out, &text[body_start..], &mut c);
                        out.push_str("]]>");
                        c.unterminated_cdata += 1;
                        i = text.len();
                    }
                }
                seen_markup = true;
                continue;
            }
            if rest.starts_with("<!--") {
                match text[i + 4..].find("-->") {
                    Some(n) => {
                        push_chars(&mut out, &text[i..i + 4 + n + 3], &mut c);
                        i += 4 + n + 3;
                        seen_markup = true;
                    }
                    None => {
                        // An unterminated comment swallows the rest: drop its opener only.
                        c.unterminated_comment += 1;
                        i += 4;
                    }
                }
                continue;
            }
            if rest.starts_with("<?xml")
                && rest[5..].starts_with(|ch: char| ch.is_whitespace() || ch == '?')
            {
                if seen_markup {
                    // A declaration after a comment or an element is an error; drop it.
                    let end = rest.find("?>").map_or(text.len(), |n| i + n + 2);
                    c.misplaced_decl += 1;
                    i = end;
                    continue;
                }
            } else {
                seen_markup = true;
            }
            out.push('<');
            i += 1;
            continue;
        }
        if b == b'&' {
            i += handle_amp(rest, &mut out, &mut c);
            continue;
        }
        // Copy one run of ordinary text up to the next special byte.
        let n = rest.find(['<', '&']).unwrap_or(rest.len());
        if !rest[..n]
            .trim_start_matches(|ch: char| ch.is_whitespace() || ch == '\u{feff}')
            .is_empty()
        {
            seen_markup = true;
        }
        push_chars(&mut out, &rest[..n], &mut c);
        i += n;
    }

    let mut repairs = Vec::new();
    if c.bare_amp > 0 {
        repairs.push(format!("escaped {} bare '&'", c.bare_amp));
    }
    if !c.html_entities.is_empty() {
        let total: usize = c.html_entities.values().sum();
        let names: Vec<String> = c
            .html_entities
            .keys()
            .take(8)
            .map(|n| format!("&{n};"))
            .collect();
        repairs.push(format!(
            "replaced {total} HTML entity reference(s) with character references ({}{})",
            names.join(" "),
            if c.html_entities.len() > 8 {
                " ..."
            } else {
                ""
            }
        ));
    }
    if !c.invalid_chars.is_empty() {
        let total: usize = c.invalid_chars.values().sum();
        let list: Vec<String> = c
            .invalid_chars
            .keys()
            .take(8)
            .map(|cp| format!("U+{cp:04X}"))
            .collect();
        repairs.push(format!(
            "removed {total} character(s) invalid in XML 1.0 ({})",
            list.join(" ")
        ));
    }
    if c.invalid_refs > 0 {
        repairs.push(format!(
            "removed {} character reference(s) to characters invalid in XML 1.0",
            c.invalid_refs
        ));
    }
    if c.unterminated_cdata > 0 {
        repairs.push("closed an unterminated CDATA section".to_string());
    }
    if c.unterminated_comment > 0 {
        repairs.push("removed the opener of an unterminated comment".to_string());
    }
    if c.misplaced_decl > 0 {
        repairs.push("removed an XML declaration that was not at the start".to_string());
    }

    let out = declare_prefixes(out, &mut repairs);
    let out = fix_rss_version(out, &mut repairs);
    Repaired { text: out, repairs }
}

/// Appends `s` without the characters XML 1.0 forbids, counting them.
fn push_chars(out: &mut String, s: &str, c: &mut Counts) {
    if s.chars().all(is_xml_char) {
        out.push_str(s);
        return;
    }
    for ch in s.chars() {
        if is_xml_char(ch) {
            out.push(ch);
        } else {
            *c.invalid_chars.entry(ch as u32).or_default() += 1;
        }
    }
}

/// Handles the `&` at the start of `rest`; returns how many bytes were consumed.
fn handle_amp(rest: &str, out: &mut String, c: &mut Counts) -> usize {
    // Longest entity name in HTML5 is 31 bytes ("CounterClockwiseContourIntegral").
    let window = &rest[1..floor_boundary(rest, 40)];
    let Some(semi) = window.find(';') else {
        c.bare_amp += 1;
        out.push_str("&amp;");
        return 1;
    };
    let name = &window[..semi];
    let consumed = 1 + semi + 1;
    if let Some(num) = name.strip_prefix('#') {
        let value = match num.strip_prefix(['x', 'X']) {
            Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                u32::from_str_radix(hex, 16).ok()
            }
            Some(_) => None,
            None if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) => {
                num.parse::<u32>().ok()
            }
            None => None,
        };
        return match value {
            Some(v) if char::from_u32(v).is_some_and(is_xml_char) => {
                out.push_str(&rest[..consumed]);
                consumed
            }
            Some(_) => {
                c.invalid_refs += 1;
                consumed
            }
            // "&#" followed by garbage, or a number too large for u32.
            None if num.bytes().all(|b| b.is_ascii_alphanumeric())
                && num.len() > 1
                && num.len() < 12 =>
            {
                c.invalid_refs += 1;
                consumed
            }
            None => {
                c.bare_amp += 1;
                out.push_str("&amp;");
                1
            }
        };
    }
    let is_name = !name.is_empty()
        && name.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_' || ch == ':')
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | ':' | '.' | '-'));
    if !is_name {
        c.bare_amp += 1;
        out.push_str("&amp;");
        return 1;
    }
    if matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
        out.push_str(&rest[..consumed]);
        return consumed;
    }
    match html_entity(name) {
        Some(chars) => {
            *c.html_entities.entry(name.to_string()).or_default() += 1;
            for ch in chars.chars() {
                out.push_str(&format!("&#{};", ch as u32));
            }
        }
        None => {
            // Unknown to HTML too: most likely text that happens to look like a reference
            // (a URL query "a=1&b;=2" is rare; "AT&T;" is text). Keep it visible as text.
            c.bare_amp += 1;
            out.push_str("&amp;");
            return 1;
        }
    }
    consumed
}

/// Declares namespace prefixes that are used but never declared, on the root element.
fn declare_prefixes(text: String, repairs: &mut Vec<String>) -> String {
    static USED: OnceLock<Regex> = OnceLock::new();
    static DECLARED: OnceLock<Regex> = OnceLock::new();
    let used_re =
        USED.get_or_init(|| Regex::new(r"</?([A-Za-z_][\w.-]*):[A-Za-z_]").expect("static regex"));
    let declared_re = DECLARED
        .get_or_init(|| Regex::new(r#"xmlns:([A-Za-z_][\w.-]*)\s*="#).expect("static regex"));

    let declared: BTreeSet<&str> = declared_re
        .captures_iter(&text)
        .filter_map(|m| m.get(1).map(|g| g.as_str()))
        .collect();
    let missing: BTreeSet<String> = used_re
        .captures_iter(&text)
        .filter_map(|m| m.get(1).map(|g| g.as_str()))
        .filter(|p| !declared.contains(p) && *p != "xml" && *p != "xmlns")
        .map(str::to_string)
        .collect();
    if missing.is_empty() {
        return text;
    }
    let Some(root) = first_element(&text) else {
        return text;
    };
    let mut decls = String::new();
    for p in &missing {
        let uri = KNOWN_PREFIXES.iter().find(|(k, _)| k == p).map_or_else(
            || format!("urn:wirewatch:undeclared:{p}"),
            |(_, u)| (*u).to_string(),
        );
        decls.push_str(&format!(" xmlns:{p}=\"{uri}\""));
    }
    repairs.push(format!(
        "declared undeclared namespace prefix(es) {}",
        missing.iter().cloned().collect::<Vec<_>>().join(", ")
    ));
    let mut out = String::with_capacity(text.len() + decls.len());
    out.push_str(&text[..root]);
    out.push_str(&decls);
    out.push_str(&text[root..]);
    out
}

/// Byte offset just after the root element's name, skipping comments, PIs and doctype
/// (one linear scan).
fn first_element(text: &str) -> Option<usize> {
    let mut pos = 0;
    loop {
        let rest = &text[pos..];
        let i = rest.find('<')?;
        let tail = &rest[i..];
        if tail.starts_with("<!--") {
            pos += i + tail.find("-->")? + 3;
        } else if tail.starts_with("<?") {
            pos += i + tail.find("?>")? + 2;
        } else if tail.starts_with("<!") {
            pos += i + tail.find('>')? + 1;
        } else {
            let name_len = tail[1..]
                .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .unwrap_or(tail.len() - 1);
            return (name_len > 0).then_some(pos + i + 1 + name_len);
        }
    }
}

/// feed-rs only accepts `<rss version="2.0">`, `"0.91"` and `"0.92"`; an RSS root with no or
/// another version (0.93, 0.94, 2.0.1, "2") is read as 2.0, a superset of them all.
fn fix_rss_version(text: String, repairs: &mut Vec<String>) -> String {
    static RSS: OnceLock<Regex> = OnceLock::new();
    let re = RSS.get_or_init(|| Regex::new(r"<rss(\s[^>]*)?>").expect("static regex"));
    static VERSION: OnceLock<Regex> = OnceLock::new();
    let vre = VERSION
        .get_or_init(|| Regex::new(r#"\sversion\s*=\s*["']([^"']*)["']"#).expect("static regex"));
    let Some(m) = re.find(&text) else {
        return text;
    };
    let tag = m.as_str();
    let (new_tag, old) = match vre.captures(tag) {
        Some(cap) => {
            let v = cap.get(1).map_or("", |g| g.as_str());
            if matches!(v, "2.0" | "0.91" | "0.92" | "") {
                return text;
            }
            let whole = cap.get(0).map_or(0..0, |g| g.range());
            (
                format!(
                    "{} version=\"2.0\"{}",
                    &tag[..whole.start],
                    &tag[whole.end..]
                ),
                format!("version {v:?}"),
            )
        }
        None => (
            format!("<rss version=\"2.0\"{}", &tag[4..]),
            "no version".to_string(),
        ),
    };
    repairs.push(format!("read <rss> with {old} as RSS 2.0"));
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..m.start()]);
    out.push_str(&new_tag);
    out.push_str(&text[m.end()..]);
    out
}

/// Link given to RSS 1.0 items that have neither `<link>` nor `rdf:about`: feed-rs drops
/// link-less RSS 1.0 items, and an entry without a link is still an entry. Removed again when
/// entries are converted.
pub const NO_LINK: &str = "urn:wirewatch:no-link";

/// Compatibility rewrites for formats feed-rs reads only in part, applied on the lenient
/// path: Atom 0.3 (its namespace and renamed elements) is read as Atom 1.0, and RSS 1.0
/// items without `<link>` get one from `rdf:about` (or [`NO_LINK`]) so feed-rs keeps them.
pub fn compat(text: &str) -> Repaired {
    let mut repairs = Vec::new();
    let mut out = text.to_string();
    const ATOM03: &str = "http://purl.org/atom/ns#";
    if out.contains(ATOM03) {
        static RENAME: OnceLock<Regex> = OnceLock::new();
        let re = RENAME.get_or_init(|| {
            Regex::new(r"<(/?)((?:[A-Za-z_][\w.-]*:)?)(modified|issued|tagline|copyright|url)\b")
                .expect("static regex")
        });
        out = out.replace(ATOM03, "http://www.w3.org/2005/Atom");
        out = re
            .replace_all(&out, |c: &regex::Captures| {
                let new = match &c[3] {
                    "modified" => "updated",
                    "issued" => "published",
                    "tagline" => "subtitle",
                    "copyright" => "rights",
                    _ => "uri",
                };
                format!("<{}{}{}", &c[1], &c[2], new)
            })
            .into_owned();
        repairs.push("read Atom 0.3 as Atom 1.0".to_string());
    }
    {
        // Atom 0.3 (and some Atom 1.0 feeds) give text constructs a MIME type, which feed-rs
        // rejects for the whole feed; map the three that have Atom 1.0 names.
        static TYPED: OnceLock<Regex> = OnceLock::new();
        let re = TYPED.get_or_init(|| {
            Regex::new(r#"<((?:[A-Za-z_][\w.-]*:)?(?:title|subtitle|summary|rights|content|tagline|copyright|info)\b[^>]*?\stype\s*=\s*)["']([^"']*)["']"#)
                .expect("static regex")
        });
        let mut mapped = 0usize;
        let replaced = re.replace_all(&out, |c: &regex::Captures| {
            let new = match c[2].trim().to_ascii_lowercase().as_str() {
                "text/plain" | "" => "text",
                "text/html" => "html",
                "application/xhtml+xml" => "xhtml",
                "text" | "html" | "xhtml" => return c[0].to_string(),
                // Other MIME types (base64 octet-stream, custom types) make feed-rs reject the
                // whole feed; keep the text as it stands rather than lose the feed.
                _ if !c[1].contains("content") => "text",
                _ => return c[0].to_string(),
            };
            mapped += 1;
            format!("<{}\"{}\"", &c[1], new)
        });
        if mapped > 0 {
            out = replaced.into_owned();
            repairs.push(format!(
                "mapped {mapped} MIME-typed Atom text construct(s) to text/html/xhtml"
            ));
        }
    }
    // Default namespaces feed-rs does not know for RSS elements: Userland's RSS 2.0 namespace
    // and Netscape's RSS 0.90; elements in them would all be ignored.
    for (uri, replacement) in [
        (
            "http://backend.userland.com/rss2",
            "http://purl.org/rss/1.0/",
        ),
        (
            "http://backend.userland.com/rss",
            "http://purl.org/rss/1.0/",
        ),
        (
            "http://my.netscape.com/rdf/simple/0.9/",
            "http://purl.org/rss/1.0/",
        ),
    ] {
        for q in ['"', '\''] {
            let from = format!("={q}{uri}{q}");
            if out.contains(&from) {
                out = out.replace(&from, &format!("=\"{replacement}\""));
                repairs.push(format!("read RSS namespace {uri} as {replacement}"));
            }
        }
    }
    if out.contains("<CHANNEL") && !out.contains("<rss") {
        out = cdf_to_rss(&out);
        repairs.push("read Microsoft CDF as RSS 2.0".to_string());
    }
    if out.contains("<rdf:RDF") || out.contains(":RDF") {
        static ITEM: OnceLock<Regex> = OnceLock::new();
        let re = ITEM.get_or_init(|| {
            Regex::new(r#"(?s)<item\b([^>]*)>(.*?)</item\s*>"#).expect("static regex")
        });
        static ABOUT: OnceLock<Regex> = OnceLock::new();
        let about_re = ABOUT
            .get_or_init(|| Regex::new(r#"\babout\s*=\s*["']([^"']*)["']"#).expect("static regex"));
        let mut added = 0usize;
        out = re
            .replace_all(&out, |c: &regex::Captures| {
                let body = &c[2];
                if body.contains("<link>") || body.contains("<link ") || body.contains(":link>") {
                    return c[0].to_string();
                }
                added += 1;
                let link = about_re
                    .captures(&c[1])
                    .and_then(|a| a.get(1))
                    .map(|a| a.as_str().trim().to_string())
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| NO_LINK.to_string());
                format!("<item{}><link>{}</link>{}</item>", &c[1], link, body)
            })
            .into_owned();
        if added > 0 {
            repairs.push(format!(
                "gave {added} link-less RSS 1.0 item(s) their rdf:about as link"
            ));
        }
    }
    Repaired { text: out, repairs }
}

/// Rewrites a Channel Definition Format document (Microsoft, 1997: `<CHANNEL HREF=...>` with
/// `<ITEM HREF=... LASTMOD=...>`, `<TITLE>`, `<ABSTRACT>`) as RSS 2.0, which it maps onto
/// one to one. feed-rs has no CDF reader.
fn cdf_to_rss(text: &str) -> String {
    static TAG: OnceLock<Regex> = OnceLock::new();
    static ATTR: OnceLock<Regex> = OnceLock::new();
    let tag_re = TAG.get_or_init(|| {
        Regex::new(r"(?i)<(/?)(CHANNEL|ITEM|TITLE|ABSTRACT)\b([^>]*?)(/?)>").expect("static regex")
    });
    let attr_re = ATTR.get_or_init(|| {
        Regex::new(r#"(?i)\b(HREF|LASTMOD|BASE)\s*=\s*["']([^"']*)["']"#).expect("static regex")
    });
    tag_re
        .replace_all(text, |c: &regex::Captures| {
            let closing = !c[1].is_empty();
            let self_closing = !c[4].is_empty();
            let name = c[2].to_ascii_uppercase();
            let attr = |n: &str| {
                attr_re
                    .captures_iter(&c[3])
                    .find(|a| a[1].eq_ignore_ascii_case(n))
                    .map(|a| a[2].to_string())
            };
            let open = |el: &str| {
                let mut s = String::new();
                match attr("BASE") {
                    Some(b) => s.push_str(&format!("<{el} xml:base=\"{b}\">")),
                    None => s.push_str(&format!("<{el}>")),
                }
                if let Some(h) = attr("HREF") {
                    s.push_str(&format!("<link>{h}</link>"));
                }
                if let Some(m) = attr("LASTMOD") {
                    s.push_str(&format!("<pubDate>{m}</pubDate>"));
                }
                s
            };
            match (name.as_str(), closing) {
                ("CHANNEL", true) => "</channel></rss>".to_string(),
                ("CHANNEL", false) => {
                    let mut s = format!("<rss version=\"2.0\">{}", open("channel"));
                    if self_closing {
                        s.push_str("</channel></rss>");
                    }
                    s
                }
                ("ITEM", true) => "</item>".to_string(),
                ("ITEM", false) => {
                    let mut s = open("item");
                    if self_closing {
                        s.push_str("</item>");
                    }
                    s
                }
                ("TITLE", _) => format!("<{}title>", &c[1]),
                _ => format!("<{}description>", &c[1]),
            }
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_ampersands_and_html_entities() {
        let r = repair("<t>AT&T &amp; Q&A &rsquo;s&nbsp;x &#38; &#12; a=1&b=2</t>");
        assert_eq!(
            r.text,
            "<t>AT&amp;T &amp; Q&amp;A &#8217;s&#160;x &#38;  a=1&amp;b=2</t>"
        );
        assert_eq!(r.repairs.len(), 3, "{:?}", r.repairs);
    }

    #[test]
    fn control_chars_stripped_everywhere() {
        let r = repair("<t>a\u{c}b<![CDATA[c\u{1}d]]></t>");
        assert_eq!(r.text, "<t>ab<![CDATA[cd]]></t>");
        assert!(r.repairs[0].contains("U+0001 U+000C"), "{:?}", r.repairs);
    }

    #[test]
    fn cdata_and_comments_untouched() {
        let s = "<t><![CDATA[a & b &nbsp;]]><!-- x & y --></t>";
        let r = repair(s);
        assert_eq!(r.text, s);
        assert!(r.repairs.is_empty());
    }

    #[test]
    fn unterminated_cdata_closed() {
        let r = repair("<t><![CDATA[abc");
        assert_eq!(r.text, "<t><![CDATA[abc]]>");
    }

    #[test]
    fn prefixes_and_version() {
        let r = repair("<!-- c --><rss>\n<channel><itunes:subtitle>x</itunes:subtitle><foo:bar/></channel></rss>");
        assert!(r.text.starts_with(
            "<!-- c --><rss version=\"2.0\" xmlns:foo=\"urn:wirewatch:undeclared:foo\" xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\">"
        ), "{}", r.text);
        assert_eq!(r.repairs.len(), 2);
    }

    #[test]
    fn misplaced_declaration_removed() {
        let r = repair("<!-- c -->\n<?xml version=\"1.0\"?>\n<rss/>");
        assert_eq!(r.text, "<!-- c -->\n\n<rss/>");
    }
}

#[cfg(test)]
mod compat_tests {
    use super::*;

    #[test]
    fn atom03_is_read_as_atom10() {
        let r = compat(
            "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><entry><title type=\"text/plain\">t</title>\
             <modified>2004-01-01T00:00:00Z</modified></entry></feed>",
        );
        assert_eq!(
            r.text,
            "<feed version=\"0.3\" xmlns=\"http://www.w3.org/2005/Atom\"><entry><title type=\"text\">t</title>\
             <updated>2004-01-01T00:00:00Z</updated></entry></feed>"
        );
        assert_eq!(r.repairs.len(), 2, "{:?}", r.repairs);
    }

    #[test]
    fn rdf_items_get_a_link() {
        let r = compat(
            "<rdf:RDF><item rdf:about=\"http://e.com/1\"><title>a</title></item><item><title>b</title></item>\
             <item><link>http://e.com/3</link></item></rdf:RDF>",
        );
        assert!(r.text.contains(
            "<item rdf:about=\"http://e.com/1\"><link>http://e.com/1</link><title>a</title>"
        ));
        assert!(r
            .text
            .contains(&format!("<item><link>{NO_LINK}</link><title>b</title>")));
        assert!(r.text.contains("<item><link>http://e.com/3</link></item>"));
    }

    #[test]
    fn cdf_is_read_as_rss() {
        let r = compat("<CHANNEL HREF=\"http://e.com/\"><TITLE>c</TITLE><ITEM HREF=\"/1\" LASTMOD=\"2004-04-06T23:05:43-05:00\"><ABSTRACT>x</ABSTRACT></ITEM></CHANNEL>");
        assert_eq!(
            r.text,
            "<rss version=\"2.0\"><channel><link>http://e.com/</link><title>c</title><item><link>/1</link>\
             <pubDate>2004-04-06T23:05:43-05:00</pubDate><description>x</description></item></channel></rss>"
        );
    }
}
