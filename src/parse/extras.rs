//! What feed-rs does not keep of an RSS or Atom item, read from the XML itself: FeedBurner's
//! `<feedburner:origLink>` (the article's own URL, where `<link>` is FeedBurner's redirect)
//! and RSS's `<source url="...">Outlet</source>` (the outlet an aggregator took the item from:
//! Google News names the publisher there; Bing News writes `<News:Source>`). feed-rs keeps
//! neither the first nor the second's name (only its URL), so this small pass over the same text reads them, one record per
//! `<item>`/`<entry>` in document order, to be zipped with feed-rs's entries.
//!
//! Linear in the text, never fails: a document it cannot follow to the end gives the records
//! read so far, and the caller uses them only when their count matches the entries'.

use quick_xml::events::Event;
use quick_xml::Reader;

/// One item's extras.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemExtras {
    /// `<feedburner:origLink>` (any prefix).
    pub orig_link: Option<String>,
    /// The name in RSS `<source>`.
    pub source_name: Option<String>,
    /// The `url` attribute of RSS `<source>`.
    pub source_url: Option<String>,
}

/// What is being read inside the current item.
enum Field {
    None,
    OrigLink,
    Source,
}

/// The extras of every `<item>` and `<entry>` of `xml`, in document order.
pub fn item_extras(xml: &str) -> Vec<ItemExtras> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = false;
    let mut out: Vec<ItemExtras> = Vec::new();
    // Depth of the open item (None outside one), of the field being read and where its text
    // starts in `xml`.
    let mut item_depth: Option<usize> = None;
    let mut field = (Field::None, 0usize, 0usize);
    let mut depth = 0usize;
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        match event {
            Event::Start(e) => {
                depth += 1;
                let name = e.local_name();
                let name = name.as_ref();
                if item_depth.is_none() && (name == "item" || name == "entry") {
                    item_depth = Some(depth);
                    out.push(ItemExtras::default());
                    continue;
                }
                let (Some(d), Some(cur)) = (item_depth, out.last_mut()) else {
                    continue;
                };
                if depth != d + 1 {
                    continue;
                }
                let here = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
                if name.eq_ignore_ascii_case("origlink") {
                    field = (Field::OrigLink, depth, here);
                } else if name == "source" {
                    cur.source_url = attribute(&e, "url");
                    field = (Field::Source, depth, here);
                } else if name == "Source" && cur.source_name.is_none() {
                    // Bing News: `<News:Source>Outlet</News:Source>`.
                    field = (Field::Source, depth, here);
                }
            }
            Event::Empty(e) => {
                if let (Some(d), Some(cur)) = (item_depth, out.last_mut()) {
                    if depth == d && e.local_name().as_ref() == "source" {
                        cur.source_url = attribute(&e, "url");
                    }
                }
            }
            Event::End(_) => {
                if field.1 == depth && !matches!(field.0, Field::None) {
                    let raw = xml.get(field.2..before).unwrap_or("");
                    let value = plain(raw);
                    if let Some(cur) = out.last_mut() {
                        match field.0 {
                            Field::OrigLink => cur.orig_link = value,
                            Field::Source => cur.source_name = value,
                            Field::None => {}
                        }
                    }
                    field = (Field::None, 0, 0);
                }
                if item_depth == Some(depth) {
                    item_depth = None;
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    out
}

/// An attribute's value, entities decoded and whitespace collapsed; `None` when empty.
fn attribute(e: &quick_xml::events::BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.local_name().as_ref() == key)
        .and_then(|a| plain(&a.value))
}

/// Element text as plain text: CDATA markers and tags dropped, entities decoded, whitespace
/// collapsed; `None` when empty.
fn plain(raw: &str) -> Option<String> {
    let raw = raw.replace("<![CDATA[", "").replace("]]>", "");
    let text = super::text::decode_entities(&raw);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty() && !text.contains('<')).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_origlink_and_source_per_item() {
        let xml = r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"><channel>
<title>T</title><source url="https://not-an-item.example/">Channel level</source>
<item><title>A</title><link>https://feeds.feedburner.com/~r/x/~3/abc/</link>
  <feedburner:origLink>https://blog.example/a?x=1&amp;y=2</feedburner:origLink></item>
<item><title>B</title><link>https://news.google.com/rss/articles/CBMi?oc=5</link>
  <source url="https://www.reuters.com">Reuters</source></item>
<item><title>C</title><source url="https://e.example"/><description><![CDATA[<source>x</source>]]></description></item>
<item><title>D</title><source url="https://f.example"><![CDATA[The Verge &amp; Co]]></source></item>
</channel></rss>"#;
        let x = item_extras(xml);
        assert_eq!(x.len(), 4, "{x:?}");
        assert_eq!(
            x[0].orig_link.as_deref(),
            Some("https://blog.example/a?x=1&y=2")
        );
        assert_eq!(x[0].source_name, None);
        assert_eq!(x[1].source_name.as_deref(), Some("Reuters"));
        assert_eq!(x[1].source_url.as_deref(), Some("https://www.reuters.com"));
        assert_eq!(x[2].source_url.as_deref(), Some("https://e.example"));
        assert_eq!(x[2].source_name, None);
        assert_eq!(x[3].source_name.as_deref(), Some("The Verge & Co"));
    }

    #[test]
    fn atom_entries_and_broken_documents() {
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0">
<entry><id>1</id><feedburner:origLink>https://a.example/1</feedburner:origLink></entry>
<entry><id>2</id><source><title>Other feed</title></source></entry></feed>"#;
        let x = item_extras(atom);
        assert_eq!(x.len(), 2);
        assert_eq!(x[0].orig_link.as_deref(), Some("https://a.example/1"));
        // Atom's <source> is a container, not a name.
        assert_eq!(x[1].source_name, None);
        // Truncated: what was read so far, no panic.
        let x = item_extras("<rss><channel><item><source url=\"u\">Na");
        assert!(x.len() <= 1);
        assert!(item_extras("").is_empty());
        assert!(item_extras("<<<&&&").is_empty());
    }
}
