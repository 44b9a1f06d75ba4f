//! OPML import and export, so users bring their subscriptions from other feed readers and
//! take them elsewhere.
//!
//! Import reads every `<outline>` with an `xmlUrl` (folders nest; only the feeds count) and
//! appends a `[[feeds]]` table per new URL to the end of the config file, leaving the existing
//! text and its comments as they are (a TOML rewrite through a parser would drop comments and
//! reorder keys). The result is validated with the normal config loader before it is written,
//! and written atomically. Export writes OPML 2.0 with quick-xml, which escapes every value.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::Path;

use quick_xml::events::{BytesDecl, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer};
use url::Url;

use crate::config::Config;

/// A feed found in an OPML document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpmlFeed {
    /// The feed's URL (`xmlUrl`).
    pub url: Url,
    /// Its name (`title`, else `text`), if any.
    pub title: Option<String>,
}

/// An outline that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The `xmlUrl` as written.
    pub xml_url: String,
    /// Why it was skipped.
    pub reason: String,
}

/// What an OPML document holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Opml {
    /// Feeds in document order, each URL once.
    pub feeds: Vec<OpmlFeed>,
    /// Outlines whose `xmlUrl` is not an http(s) URL.
    pub rejected: Vec<Rejected>,
}

/// Why an OPML document could not be read or imported.
#[derive(Debug, thiserror::Error)]
pub enum OpmlError {
    /// Not well-formed XML.
    #[error("not well-formed XML at byte {position}: {message}")]
    Xml {
        /// Byte offset of the error.
        position: u64,
        /// The parser's message.
        message: String,
    },
    /// Well-formed, but not OPML.
    #[error("not an OPML document: {0}")]
    NotOpml(String),
    /// The config file could not be read, extended or written.
    #[error("{0}")]
    Config(String),
}

/// Parses an OPML document (1.0, 1.1 or 2.0).
pub fn parse(text: &str) -> Result<Opml, OpmlError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut root_seen = false;
    let mut body_seen = false;
    let mut depth = 0usize;
    let mut seen = HashSet::new();
    let mut out = Opml::default();
    loop {
        let ev = reader.read_event().map_err(|e| OpmlError::Xml {
            position: reader.error_position(),
            message: e.to_string(),
        })?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.local_name();
                let name = name.as_ref().to_ascii_lowercase();
                if depth == 0 {
                    if name != "opml" {
                        return Err(OpmlError::NotOpml(format!(
                            "the root element is <{name}>, not <opml>"
                        )));
                    }
                    root_seen = true;
                }
                if name == "body" {
                    body_seen = true;
                }
                if name == "outline" {
                    outline(e, &mut out, &mut seen);
                }
                if matches!(ev, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof => {
                if depth > 0 {
                    return Err(OpmlError::Xml {
                        position: reader.buffer_position(),
                        message: format!("the document ends with {depth} element(s) still open"),
                    });
                }
                break;
            }
            _ => {}
        }
    }
    if !root_seen {
        return Err(OpmlError::NotOpml("no <opml> element".into()));
    }
    if !body_seen {
        return Err(OpmlError::NotOpml("no <body> element".into()));
    }
    Ok(out)
}

/// Reads one `<outline>`: a feed when it has an `xmlUrl`, a folder otherwise.
fn outline(e: &BytesStart<'_>, out: &mut Opml, seen: &mut HashSet<String>) {
    let mut xml_url = None;
    let mut title = None;
    let mut text = None;
    for attr in e.attributes().with_checks(false).flatten() {
        let key = attr.key.local_name().as_ref().to_ascii_lowercase();
        // Readers write HTML entities (&nbsp;) that XML does not define: keep the raw text then.
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map(|v| v.into_owned())
            .unwrap_or_else(|_| attr.value.to_string());
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        match key.as_str() {
            "xmlurl" => xml_url = Some(value),
            "title" => title = Some(value),
            "text" => text = Some(value),
            _ => {}
        }
    }
    let Some(raw) = xml_url.filter(|u: &String| !u.is_empty()) else {
        return;
    };
    match Url::parse(&raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            if seen.insert(url.to_string()) {
                out.feeds.push(OpmlFeed {
                    url,
                    title: title.or(text).filter(|t| !t.is_empty()),
                });
            }
        }
        Ok(url) => out.rejected.push(Rejected {
            xml_url: raw,
            reason: format!("scheme {} is not http or https", url.scheme()),
        }),
        Err(e) => out.rejected.push(Rejected {
            xml_url: raw,
            reason: e.to_string(),
        }),
    }
}

/// What an import did.
#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    /// Feeds appended to the config.
    pub added: Vec<OpmlFeed>,
    /// Feeds skipped because the config already has their URL.
    pub already_present: Vec<OpmlFeed>,
    /// Outlines that could not be used.
    pub rejected: Vec<Rejected>,
}

/// The `[[feeds]]` tables for new feeds, as TOML text.
fn feeds_toml(feeds: &[OpmlFeed]) -> String {
    let mut s = String::new();
    for f in feeds {
        s.push_str("\n[[feeds]]\n");
        if let Some(t) = &f.title {
            s.push_str(&format!("name = {}\n", toml::Value::String(t.clone())));
        }
        s.push_str(&format!(
            "url = {}\n",
            toml::Value::String(f.url.to_string())
        ));
    }
    s
}

/// Imports an OPML document into the config file at `config_path`: appends a `[[feeds]]`
/// table for each feed whose URL the config does not have yet, keeping the file's text and
/// comments. Nothing is written when nothing is new, or when the result would not load.
pub fn import(config_path: &Path, opml_text: &str) -> Result<ImportReport, OpmlError> {
    let opml = parse(opml_text)?;
    let mut report = add_feeds(config_path, opml.feeds, "Imported from OPML")?;
    report.rejected = opml.rejected;
    Ok(report)
}

/// Appends a `[[feeds]]` table to the config file at `config_path` for each of `feeds` whose
/// URL it does not have yet, under a comment `why` with the date, keeping the file's text and
/// comments (`feeds import`, `feeds add`). Nothing is written when nothing is new, or when the
/// result would not load.
pub fn add_feeds(
    config_path: &Path,
    feeds: Vec<OpmlFeed>,
    why: &str,
) -> Result<ImportReport, OpmlError> {
    let text = std::fs::read_to_string(config_path)
        .map_err(|e| OpmlError::Config(format!("cannot read {}: {e}", config_path.display())))?;
    let config = Config::parse(&text, config_path).map_err(|e| OpmlError::Config(e.to_string()))?;
    let present: HashSet<String> = config.feeds.iter().map(|f| f.url.to_string()).collect();
    let mut report = ImportReport::default();
    for f in feeds {
        if present.contains(f.url.as_str()) {
            report.already_present.push(f);
        } else {
            report.added.push(f);
        }
    }
    if report.added.is_empty() {
        return Ok(report);
    }
    let mut new_text = text;
    if !new_text.ends_with('\n') {
        new_text.push('\n');
    }
    new_text.push_str(&format!(
        "\n# {why} on {}.",
        chrono::Utc::now().format("%Y-%m-%d")
    ));
    new_text.push_str(&feeds_toml(&report.added));
    Config::parse(&new_text, config_path).map_err(|e| {
        OpmlError::Config(format!(
            "the config with the imported feeds would not load, nothing written: {e}"
        ))
    })?;
    write_atomically(config_path, &new_text)?;
    Ok(report)
}

/// Writes a file by writing a sibling and renaming it over the original. A symlinked config
/// (`/etc/wirewatch/wirewatch.toml` pointing into a checked-out config repository) is written
/// where it points, the link kept; the new file keeps the old one's permissions and, where
/// the writer may (root editing a file the daemon's user owns), its owner and group: a
/// config the service user could no longer read would stop the daemon at its next reload.
fn write_atomically(path: &Path, text: &str) -> Result<(), OpmlError> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let path = &std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let tmp = dir.join(format!(".{name}.opml-import.tmp"));
    let fail =
        |e: std::io::Error| OpmlError::Config(format!("cannot write {}: {e}", path.display()));
    let written = (|| {
        // Readable by the writer only until it has the original's permissions: it may hold
        // webhook URLs with secrets.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            // The owner only root may give; the group, a writer who is in it (so that the
            // service's group still reads a 0640 config a member of it edited).
            if std::os::unix::fs::fchown(&f, Some(meta.uid()), Some(meta.gid())).is_err() {
                let _ = std::os::unix::fs::fchown(&f, None, Some(meta.gid()));
            }
            f.set_permissions(meta.permissions())?;
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

/// The config's feeds as an OPML 2.0 document.
pub fn export(config: &Config) -> Result<String, std::io::Error> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let title = format!("wirewatch feeds: {}", config.first_topic().name);
    let created = chrono::Utc::now().to_rfc2822();
    w.create_element("opml")
        .with_attribute(("version", "2.0"))
        .write_inner_content(|w| {
            w.create_element("head").write_inner_content(|w| {
                w.create_element("title")
                    .write_text_content(BytesText::new(&title))?;
                w.create_element("dateCreated")
                    .write_text_content(BytesText::new(&created))?;
                w.create_element("docs")
                    .write_text_content(BytesText::new("http://opml.org/spec2.opml"))?;
                Ok(())
            })?;
            w.create_element("body").write_inner_content(|w| {
                for f in &config.feeds {
                    let name = f.display_name();
                    w.create_element("outline")
                        .with_attribute(("type", "rss"))
                        .with_attribute(("text", name.as_str()))
                        .with_attribute(("title", name.as_str()))
                        .with_attribute(("xmlUrl", f.url.as_str()))
                        .write_empty()?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
    let mut out = String::from_utf8(w.into_inner())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_outlines_titles_and_duplicates() {
        let o = parse(
            r#"<?xml version="1.0"?><opml version="1.0"><head/><body>
            <outline text="Tech"><outline text="A" title="A &amp; B" xmlUrl="https://a.example/feed"/>
              <outline text="Inner"><outline text="C" xmlUrl="http://c.example/rss"/></outline></outline>
            <outline text="dup" xmlUrl="https://a.example/feed"/>
            <outline text="bad" xmlUrl="ftp://x.example/f"/></body></opml>"#,
        )
        .expect("parse");
        assert_eq!(o.feeds.len(), 2);
        assert_eq!(o.feeds[0].title.as_deref(), Some("A & B"));
        assert_eq!(o.feeds[1].title.as_deref(), Some("C"));
        assert_eq!(o.rejected.len(), 1);
    }

    #[test]
    fn not_opml_is_an_error() {
        assert!(matches!(
            parse("<rss><channel/></rss>"),
            Err(OpmlError::NotOpml(_))
        ));
        assert!(matches!(
            parse("<opml><body><outline></body></opml>"),
            Err(OpmlError::Xml { .. })
        ));
        assert!(matches!(parse(""), Err(OpmlError::NotOpml(_))));
    }
}
