//! Structural repair, the last resort of the lenient path: re-serialises the document with
//! quick-xml (the tokenizer feed-rs itself uses), closing elements left open at the end of a
//! truncated feed, dropping end tags that match no open element, closing the elements an
//! early end tag skips, and skipping over markup the tokenizer cannot read.
//!
//! feed-rs reads a stream and gives up on the first error, so a feed cut off after its tenth
//! item yields nothing; after this pass it yields the ten items. quick-xml reports the errors
//! but cannot fix them, so the bookkeeping (a stack of open element names) is written here.

use std::collections::HashMap;

use quick_xml::events::{BytesEnd, Event};
use quick_xml::{Reader, Writer};

/// Most recoverable errors the pass skips before giving up on the rest of the document.
const MAX_ERRORS: usize = 1000;

/// A rebuilt document and what was changed.
#[derive(Debug, Clone)]
pub struct Rebuilt {
    /// The re-serialised document.
    pub text: String,
    /// One human-readable line per kind of repair (empty when nothing changed).
    pub repairs: Vec<String>,
}

/// Where and why a document is not well-formed, as quick-xml sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlErrorAt {
    /// Byte offset in the (decoded, UTF-8) document.
    pub offset: u64,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// quick-xml's description.
    pub message: String,
}

/// Finds the first well-formedness error quick-xml reports, with its position.
pub fn first_error(text: &str) -> Option<XmlErrorAt> {
    let mut reader = Reader::from_str(text);
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => return None,
            Ok(_) => {}
            Err(e) => {
                let offset = reader.error_position();
                let (line, column) = line_col(text, offset);
                return Some(XmlErrorAt {
                    offset,
                    line,
                    column,
                    message: e.to_string(),
                });
            }
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: u64) -> (usize, usize) {
    let mut end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Re-serialises `text` into a document whose elements nest properly.
pub fn rebuild(text: &str) -> Rebuilt {
    let mut reader = Reader::from_str(text);
    {
        let cfg = reader.config_mut();
        cfg.check_end_names = false;
        cfg.allow_unmatched_ends = true;
        cfg.check_comments = false;
        cfg.allow_dangling_amp = true;
    }
    let mut writer = Writer::new(Vec::with_capacity(text.len() + 64));
    let mut stack: Vec<String> = Vec::new();
    // How many of each name are open: an end tag that matches none is dropped at once, not
    // after a scan of the whole stack (thousands of stray end tags under thousands of open
    // elements would make the repair quadratic).
    let mut open: HashMap<String, usize> = HashMap::new();
    let mut root_closed = false;
    let mut closed_at_eof = 0usize;
    let mut dropped_ends = 0usize;
    let mut implied_ends = 0usize;
    let mut errors: Vec<String> = Vec::new();
    let mut trailing_dropped = false;
    let mut last_error_pos = None;

    loop {
        let event = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => {
                let pos = reader.buffer_position();
                if errors.len() < 3 {
                    let (l, c) = line_col(text, reader.error_position());
                    errors.push(format!("{e} at {l}:{c}"));
                } else {
                    errors.push(String::new());
                }
                if last_error_pos == Some(pos) || errors.len() >= MAX_ERRORS {
                    break;
                }
                last_error_pos = Some(pos);
                continue;
            }
        };
        let res = match event {
            Event::Eof => break,
            Event::Start(s) => {
                if root_closed {
                    trailing_dropped = true;
                    break;
                }
                let name = s.name().into_inner().to_string();
                *open.entry(name.clone()).or_default() += 1;
                stack.push(name);
                writer.write_event(Event::Start(s))
            }
            Event::Empty(s) => {
                if root_closed {
                    trailing_dropped = true;
                    break;
                }
                writer.write_event(Event::Empty(s))
            }
            Event::End(e) => {
                let name = e.name().into_inner().to_string();
                let is_open = open.get(&name).is_some_and(|&n| n > 0);
                match is_open
                    .then(|| stack.iter().rposition(|n| *n == name))
                    .flatten()
                {
                    Some(depth) => {
                        let mut r = Ok(());
                        while stack.len() > depth {
                            let Some(open_name) = stack.pop() else { break };
                            if let Some(n) = open.get_mut(&open_name) {
                                *n = n.saturating_sub(1);
                            }
                            if stack.len() > depth {
                                implied_ends += 1;
                            }
                            r = r.and(write_end(&mut writer, &open_name));
                        }
                        if stack.is_empty() {
                            root_closed = true;
                        }
                        r
                    }
                    None => {
                        dropped_ends += 1;
                        Ok(())
                    }
                }
            }
            Event::Text(t) => {
                if stack.is_empty() {
                    // Text outside the root element is not allowed; whitespace is harmless.
                    if t.chars().all(char::is_whitespace) {
                        writer.write_event(Event::Text(t))
                    } else {
                        Ok(())
                    }
                } else {
                    writer.write_event(Event::Text(t))
                }
            }
            Event::GeneralRef(r) if stack.is_empty() => {
                let _ = r;
                Ok(())
            }
            Event::CData(c) if stack.is_empty() => {
                let _ = c;
                Ok(())
            }
            other => writer.write_event(other),
        };
        if res.is_err() {
            break;
        }
    }
    while let Some(open) = stack.pop() {
        closed_at_eof += 1;
        if write_end(&mut writer, &open).is_err() {
            break;
        }
    }

    let mut repairs = Vec::new();
    if !errors.is_empty() {
        let shown: Vec<&str> = errors
            .iter()
            .filter(|e| !e.is_empty())
            .map(String::as_str)
            .collect();
        repairs.push(format!(
            "skipped {} unreadable piece(s) of markup ({})",
            errors.len(),
            shown.join("; ")
        ));
    }
    if closed_at_eof > 0 {
        repairs.push(format!(
            "closed {closed_at_eof} element(s) left open at the end (truncated document)"
        ));
    }
    if implied_ends > 0 {
        repairs.push(format!(
            "closed {implied_ends} element(s) whose end tag was missing"
        ));
    }
    if dropped_ends > 0 {
        repairs.push(format!(
            "dropped {dropped_ends} end tag(s) that matched no open element"
        ));
    }
    if trailing_dropped {
        repairs.push("dropped content after the root element".to_string());
    }
    let text = String::from_utf8(writer.into_inner())
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Rebuilt { text, repairs }
}

fn write_end(writer: &mut Writer<Vec<u8>>, name: &str) -> std::io::Result<()> {
    let name = name.to_string();
    writer.write_event(Event::End(BytesEnd::new(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_document_is_closed() {
        let r = rebuild("<rss><channel><item><title>a</title></item><item><title>b");
        assert_eq!(r.text, "<rss><channel><item><title>a</title></item><item><title>b</title></item></channel></rss>");
        assert_eq!(r.repairs.len(), 1, "{:?}", r.repairs);
    }

    #[test]
    fn stray_and_missing_end_tags() {
        let r = rebuild("<a><b><c>x</b></d></a>");
        assert_eq!(r.text, "<a><b><c>x</c></b></a>");
        assert_eq!(r.repairs.len(), 2, "{:?}", r.repairs);
    }

    /// Stray end tags under many open elements are dropped without searching the stack for
    /// each (the count of open names answers); an end tag that does match still closes what
    /// it skips, after elements of its name were opened and closed before.
    #[test]
    fn many_stray_end_tags_under_many_open_elements() {
        let n = 20_000;
        let doc = format!(
            "<r>{}{}<c></c><c><d></c>",
            "<a>".repeat(n),
            "</b>".repeat(n)
        );
        let r = rebuild(&doc);
        let want = format!(
            "<r>{}<c></c><c><d></d></c>{}</r>",
            "<a>".repeat(n),
            "</a>".repeat(n)
        );
        assert_eq!(r.text, want);
    }

    #[test]
    fn error_position_is_reported() {
        let e = first_error("<a>\n  <b>x</c></a>").expect("ill-formed");
        // Column 7 is the `<` of `</c>`.
        assert_eq!((e.line, e.column), (2, 7));
        assert!(first_error("<a>ok</a>").is_none());
    }
}
