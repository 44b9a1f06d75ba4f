//! Plain-text helpers for titles: strip tags, decode HTML entities, collapse whitespace.
//!
//! Titles reach us as plain text, escaped HTML or XHTML depending on the feed; entries need a
//! plain string. A full HTML parser is overkill for a one-line title, so this is a small
//! linear scanner using the HTML5 entity table from the `entities` crate.

use crate::parse::lenient::html_entity;

/// A feed-rs text construct as plain text; None when empty.
pub fn plain_title(t: &feed_rs::model::Text) -> Option<String> {
    let is_markup =
        t.content_type.subty().as_str().contains("html") || looks_like_markup(&t.content);
    let s = if is_markup {
        decode_entities(&strip_tags(&t.content))
    } else {
        decode_entities(&t.content)
    };
    let s = collapse_ws(&s);
    (!s.is_empty()).then_some(s)
}

/// True when `s` contains something that looks like an HTML tag (`<b>`, `</a>`, `<br/>`).
fn looks_like_markup(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(last_gt) = s.rfind('>') else {
        return false;
    };
    b.iter().enumerate().any(|(i, c)| {
        *c == b'<'
            && i < last_gt
            && b.get(i + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == b'/' || *n == b'!')
    })
}

/// Removes tags (`<...>`), comments and CDATA markers; keeps the text between them.
pub fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let next = tail.as_bytes().get(1).copied();
        if tail.starts_with("<!--") {
            rest = tail.find("-->").map_or("", |n| &tail[n + 3..]);
        } else if let Some(cdata) = tail.strip_prefix("<![CDATA[") {
            match cdata.find("]]>") {
                Some(n) => {
                    out.push_str(&cdata[..n]);
                    rest = &cdata[n + 3..];
                }
                None => {
                    out.push_str(cdata);
                    rest = "";
                }
            }
        } else if next
            .is_some_and(|n| n.is_ascii_alphabetic() || n == b'/' || n == b'!' || n == b'?')
        {
            match tail.find('>') {
                Some(n) => {
                    out.push(' ');
                    rest = &tail[n + 1..];
                }
                None => {
                    rest = "";
                }
            }
        } else {
            out.push('<');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Decodes HTML character references: named (HTML5 list), decimal and hexadecimal.
/// Unknown names are kept as written.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let window = &tail[1..crate::parse::lenient::floor_boundary(tail, 40)];
        let decoded = window.find(';').and_then(|semi| {
            let name = &window[..semi];
            let ch = if let Some(num) = name.strip_prefix('#') {
                let v = match num.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => num.parse::<u32>().ok(),
                };
                v.and_then(char::from_u32).map(String::from)
            } else {
                html_entity(name).map(str::to_string)
            };
            ch.map(|c| (c, semi + 2))
        });
        match decoded {
            Some((c, len)) => {
                out.push_str(&c);
                rest = &tail[len..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Collapses runs of whitespace (including no-break spaces at the ends) to one space; trims.
/// Collapses whitespace runs to one space and drops control characters (a title that came
/// through a character reference such as `&#x1;` must not carry one into alerts).
pub fn collapse_ws(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("a&amp;b &rsquo; &#233;&#xE9; &bogus; & x"),
            "a&b \u{2019} \u{e9}\u{e9} &bogus; & x"
        );
    }

    #[test]
    fn control_characters_leave_titles() {
        assert_eq!(collapse_ws("legal\u{1} action\u{c}now"), "legal action now");
    }

    #[test]
    fn tags() {
        assert_eq!(
            collapse_ws(&strip_tags("<b>Bold</b> move &lt;3 a < b")),
            "Bold move &lt;3 a < b"
        );
        assert_eq!(strip_tags("x<!-- c -->y<![CDATA[<z>]]>"), "xy<z>");
    }
}
