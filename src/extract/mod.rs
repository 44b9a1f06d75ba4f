//! The `extract` stage: reduce a fetched article page (or a feed's HTML content, or a plain
//! text copy) to the article's own text plus title, byline, date and canonical URL.
//!
//! Why: everything after this stage (dedup against the seeds, relevance, story grouping)
//! compares article texts; menus, related-headline lists, comments and disclaimers carry other
//! stories' keywords and make copies of one article look different.
//!
//! How, per page: guard the input (size cap, binary sniffing, charset decoding with
//! cross-checks), parse with scraper, walk the tree once collecting text blocks and metadata
//! while skipping structural and class/id-judged boilerplate ([`html`]), drop blocks that this
//! site repeats on every page (learned templates, [`sites`]), score containers by text and
//! link density to find the article, clean the paragraph list with text-level rules
//! ([`text`]), and prefer JSON-LD `articleBody` when the visible body is a cut-off part of it
//! (metered paywalls). Work per page is capped (bytes, visited nodes, depth).

mod html;
mod jsonld;
mod prefilter;
mod sites;
mod text;
pub mod walls;

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

use sites::normalize_host;

/// Pages larger than this are not parsed.
pub const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;
/// A strict pass shorter than this (chars) is retried without class/id-based skipping.
const MIN_STRICT_CHARS: usize = 250;

/// Per-site rules: the config's `[[sites]]` tables as written (host, `drop` CSS selectors,
/// `cut_after` regexes on text lines), compiled once, by [`Extractor::new`].
pub type SiteRule = crate::config::SiteConfig;

/// What a page says after extraction.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Article {
    /// Headline.
    pub title: Option<String>,
    /// Author name(s).
    pub byline: Option<String>,
    /// Publication date as found (ISO 8601 preferred: JSON-LD datePublished,
    /// article:published_time, `<time datetime>`).
    pub published: Option<String>,
    /// `<link rel=canonical>` or og:url, resolved against the page URL.
    pub canonical_url: Option<String>,
    /// Body paragraphs joined by "\n\n" (subheads and list items as their own paragraphs).
    pub text: String,
    /// Set when `text` is empty: why (not HTML, binary, too large, no body found...).
    pub empty_reason: Option<String>,
}

impl Article {
    fn empty(reason: impl Into<String>) -> Article {
        Article {
            empty_reason: Some(reason.into()),
            ..Article::default()
        }
    }
}

/// Errors building an [`Extractor`] or loading its state.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// A `drop` selector did not parse.
    #[error("site {host}: bad CSS selector {selector:?}: {message}")]
    Selector {
        /// Rule host.
        host: String,
        /// The selector as written.
        selector: String,
        /// Parser message.
        message: String,
    },
    /// A `cut_after` regex did not compile.
    #[error("site {host}: bad cut_after regex {regex:?}: {message}")]
    Regex {
        /// Rule host.
        host: String,
        /// The regex as written.
        regex: String,
        /// Compiler message.
        message: String,
    },
    /// A rule without a host.
    #[error("a [[sites]] rule has an empty host")]
    EmptyHost,
    /// A templates snapshot that does not have the expected shape.
    #[error("bad templates state: {0}")]
    BadState(&'static str),
}

/// Extracts articles. `Send + Sync`: compiled site rules plus learned per-site templates
/// behind a mutex, so one instance serves all fetch tasks.
pub struct Extractor {
    rules: Vec<sites::CompiledRule>,
    templates: sites::Templates,
}

impl std::fmt::Debug for Extractor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extractor")
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

/// Magic numbers of common binary formats.
fn binary_kind(body: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"%PDF", "PDF"),
        (b"\x89PNG", "PNG image"),
        (b"GIF8", "GIF image"),
        (b"\xff\xd8\xff", "JPEG image"),
        (b"PK\x03\x04", "ZIP archive"),
        (b"\x1f\x8b", "gzip data"),
        (b"RIFF", "RIFF media"),
        (b"\x00\x00\x01\x00", "icon"),
        (b"OggS", "Ogg media"),
        (b"ID3", "MP3 audio"),
        (b"\x7fELF", "executable"),
        (b"wOFF", "font"),
        (b"wOF2", "font"),
    ];
    if let Some((_, k)) = MAGIC.iter().find(|(m, _)| body.starts_with(m)) {
        return Some(k);
    }
    if body.len() > 12 && &body[4..8] == b"ftyp" {
        return Some("MP4 media");
    }
    // NUL bytes are not text (UTF-16 with a BOM is handled before this check)
    let head = &body[..body.len().min(8192)];
    if head.contains(&0) {
        return Some("binary data");
    }
    None
}

fn mime_of(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_html_mime(m: &str) -> bool {
    m.is_empty()
        || m == "text/html"
        || m == "application/xhtml+xml"
        || m == "application/xml"
        || m == "text/xml"
        || m.ends_with("+xml") && m.contains("html")
}

/// Content types that are certainly not a page, whatever the bytes look like. Unknown or
/// generic types (`application/octet-stream`) are sniffed instead.
fn is_other_mime(m: &str) -> bool {
    m.starts_with("image/")
        || m.starts_with("audio/")
        || m.starts_with("video/")
        || m.starts_with("font/")
        || matches!(
            m,
            "text/plain"
                | "text/css"
                | "text/csv"
                | "text/javascript"
                | "application/javascript"
                | "application/json"
                | "application/ld+json"
                | "application/pdf"
                | "application/zip"
                | "application/gzip"
                | "application/rss+xml"
                | "application/atom+xml"
                | "application/feed+json"
        )
}

/// Does the decoded text look like markup at all?
fn looks_like_html(text: &str) -> bool {
    const TAGS: [&[u8]; 12] = [
        b"<html",
        b"<!doctype",
        b"<head",
        b"<body",
        b"<div",
        b"<p",
        b"<meta",
        b"<title",
        b"<article",
        b"<!--",
        b"<table",
        b"<script",
    ];
    // Further in, the tags only a document has: a page can start with a long `<style>` block
    // or a server's warning printed before its doctype.
    const DOCUMENT: [&[u8]; 3] = [b"<!doctype", b"<html", b"<body"];
    // The first 4,096 characters, searched in place for a tag opening (any ASCII case): every
    // page passes here, and copying and lowercasing the head first cost more than the search.
    let has = |limit: usize, tags: &[&[u8]]| {
        let end = text
            .char_indices()
            .nth(limit)
            .map_or(text.len(), |(i, _)| i);
        let head = &text.as_bytes()[..end];
        head.iter().enumerate().any(|(i, &b)| {
            b == b'<'
                && tags.iter().any(|t| {
                    head.get(i..i + t.len())
                        .is_some_and(|w| w.eq_ignore_ascii_case(t))
                })
        })
    };
    has(4096, &TAGS) || has(256 * 1024, &DOCUMENT)
}

fn count_tokens(s: &str) -> usize {
    s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|t| !t.is_empty())
        .count()
}

impl Extractor {
    /// Build an extractor from config rules; a bad selector or regex is an error naming it.
    pub fn new(rules: &[SiteRule]) -> Result<Extractor, ExtractError> {
        Ok(Extractor {
            rules: sites::compile(rules)?,
            templates: sites::Templates::default(),
        })
    }

    /// Full HTML page (bytes as fetched; the charset is decoded from `content_type`, `<meta>`,
    /// BOM or detection).
    pub fn extract_page(
        &self,
        body: &[u8],
        content_type: Option<&str>,
        url: Option<&url::Url>,
    ) -> Article {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Article::empty("empty body");
        }
        if body.len() > MAX_PAGE_BYTES {
            return Article::empty(format!(
                "too large: {} bytes (limit {MAX_PAGE_BYTES})",
                body.len()
            ));
        }
        let has_bom = encoding_rs::Encoding::for_bom(body).is_some();
        if !has_bom {
            if let Some(kind) = binary_kind(body) {
                return Article::empty(format!("binary content ({kind})"));
            }
        }
        let mime = content_type.map(mime_of).unwrap_or_default();
        if is_other_mime(&mime) {
            return Article::empty(format!("not HTML (content type {mime})"));
        }
        let host = url.and_then(|u| u.host_str()).map(normalize_host);
        let tld = host.as_deref().and_then(|h| h.rsplit('.').next());
        let (text, _encoding) = crate::text::charset::decode_page(body, content_type, tld);
        if !looks_like_html(&text) {
            return Article::empty(if is_html_mime(&mime) {
                "not HTML (no markup found)".to_string()
            } else {
                format!("not HTML (content type {mime})")
            });
        }
        let (filtered, cut) = prefilter::filter(&text);
        drop(text);
        let doc = scraper::Html::parse_document(&filtered);
        let mut a = self.extract_doc(&doc, url, host.as_deref(), false);
        if let Some(wall) = walls::detect(&a.text, a.title.as_deref(), &filtered) {
            a.text.clear();
            a.empty_reason = Some(format!("page was {}", wall.describe()));
            return a;
        }
        if cut && a.text.is_empty() {
            a.empty_reason = Some(format!(
                "no article body found (markup exceeded {} tags)",
                prefilter::MAX_TAGS
            ));
        }
        a
    }

    /// HTML fragment embedded in a feed (content:encoded, Atom content, JSON Feed
    /// content_html).
    pub fn extract_fragment(&self, html: &str, url: Option<&url::Url>) -> Article {
        if html.trim().is_empty() {
            return Article::empty("empty content");
        }
        if html.len() > MAX_PAGE_BYTES {
            return Article::empty(format!(
                "too large: {} bytes (limit {MAX_PAGE_BYTES})",
                html.len()
            ));
        }
        let host = url.and_then(|u| u.host_str()).map(normalize_host);
        let (filtered, _) = prefilter::filter(html);
        let doc = scraper::Html::parse_fragment(&filtered);
        self.extract_doc(&doc, url, host.as_deref(), true)
    }

    /// Plain text as published (first line is the headline, boilerplate included): text-level
    /// cleaning only.
    pub fn clean_plain_text(&self, text: &str, host: Option<&str>) -> Article {
        if text.len() > MAX_PAGE_BYTES {
            return Article::empty(format!(
                "too large: {} bytes (limit {MAX_PAGE_BYTES})",
                text.len()
            ));
        }
        let host = host.map(normalize_host);
        let rule = host
            .as_deref()
            .and_then(|h| sites::rule_for(&self.rules, h));
        let mut paras = text::split_plain(text);
        // The headline is the first line; a one- or two-word line above it is a site label.
        let mut title = None;
        // A label over a list ("TL;DR", "Key points") means the text starts without one.
        let list_first = paras.len() >= 2 && paras[1].kind == html::Kind::Li;
        if !list_first {
            if paras.len() >= 2 && text::is_site_label(&paras[0].text, &paras[1].text) {
                paras.remove(0);
            }
            if !paras.is_empty() {
                title = Some(paras.remove(0).text);
            }
        }
        let cut = rule.map_or(&[][..], |r| &r.cut_after[..]);
        let titles: Vec<String> = title.iter().cloned().collect();
        let paras = text::clean(paras, &titles, cut);
        let body = join(&paras);
        Article {
            title,
            empty_reason: body.is_empty().then(|| "no text".to_string()),
            text: body,
            ..Article::default()
        }
    }

    /// Learned per-site templates as JSON, for the daemon to persist.
    pub fn templates_state(&self) -> serde_json::Value {
        self.templates.state()
    }

    /// Replace the learned templates with a snapshot from [`Extractor::templates_state`];
    /// returns how many sites were loaded.
    pub fn load_templates_state(&self, v: &serde_json::Value) -> Result<usize, ExtractError> {
        self.templates.load(v)
    }

    fn extract_doc(
        &self,
        doc: &scraper::Html,
        url: Option<&url::Url>,
        host: Option<&str>,
        fragment: bool,
    ) -> Article {
        let rule = host.and_then(|h| sites::rule_for(&self.rules, h));
        let drop = rule.map_or(&[][..], |r| &r.drop[..]);
        let cut = rule.map_or(&[][..], |r| &r.cut_after[..]);

        let mut w = html::walk(doc, true, drop);
        let mut keys: Vec<u64> = Vec::new();
        if let Some(h) = host {
            keys = w.blocks.iter().map(|b| sites::block_key(&b.text)).collect();
            for (b, t) in w.blocks.iter_mut().zip(self.templates.known(h, &keys)) {
                b.template = t;
            }
        }
        let ld = jsonld::parse(&w.meta.jsonld);
        let title = ld
            .headline
            .clone()
            .or_else(|| w.meta.og_title.clone())
            .or_else(|| w.meta.h1.clone().filter(|h| !h.is_empty()))
            .or_else(|| w.meta.title_tag.clone().map(|t| strip_site_suffix(&t)))
            .filter(|t| !t.is_empty());
        // every form of the headline the page gives, to drop it from the body
        let titles: Vec<String> = [
            ld.headline.clone(),
            w.meta.og_title.clone(),
            w.meta.h1.clone(),
            w.meta.title_tag.clone().map(|t| strip_site_suffix(&t)),
            w.meta.title_tag.clone(),
        ]
        .into_iter()
        .flatten()
        .collect();

        let (mut paras, mut body_keys) = body_of(&mut w, fragment, &titles, cut, host.is_some());
        let chars: usize = paras.iter().map(|p| p.text.len()).sum();
        if chars < MIN_STRICT_CHARS && !fragment {
            let mut w2 = html::walk(doc, false, drop);
            if let Some(h) = host {
                let keys2: Vec<u64> = w2
                    .blocks
                    .iter()
                    .map(|b| sites::block_key(&b.text))
                    .collect();
                for (b, t) in w2.blocks.iter_mut().zip(self.templates.known(h, &keys2)) {
                    b.template = t;
                }
            }
            let (p2, k2) = body_of(&mut w2, fragment, &titles, cut, host.is_some());
            let c2: usize = p2.iter().map(|p| p.text.len()).sum();
            if c2 > chars * 2 {
                paras = p2;
                body_keys = k2;
            }
        }

        // JSON-LD articleBody: the whole text when the page shows only part of it.
        if let Some(ldb) = ld.body.as_deref() {
            let dom_text = join(&paras);
            let dom_tokens = count_tokens(&dom_text);
            // some sites put entity-escaped markup in articleBody
            let unescaped;
            let ldb = if ldb.contains("&lt;") {
                unescaped = scraper::Html::parse_fragment(ldb)
                    .root_element()
                    .text()
                    .collect::<String>();
                unescaped.as_str()
            } else {
                ldb
            };
            let ld_paras = if ldb.contains('<') && ldb.contains('>') {
                let (filtered, _) = prefilter::filter(ldb);
                let frag = scraper::Html::parse_fragment(&filtered);
                let mut wf = html::walk(&frag, false, &[]);
                body_of(&mut wf, true, &titles, cut, false).0
            } else {
                text::clean(text::split_plain(ldb), &titles, cut)
            };
            let ld_text = join(&ld_paras);
            let ld_tokens = count_tokens(&ld_text);
            if ld_tokens as f32 >= 1.3 * dom_tokens as f32 + 20.0 {
                // the visible prose must be part of the JSON-LD text
                let prose: Vec<&str> = paras
                    .iter()
                    .map(|p| p.text.as_str())
                    .filter(|t| t.len() >= 100)
                    .collect();
                let dom_sh = text::shingles(&prose.join("\n"));
                let ld_sh: HashSet<u64> = text::shingles(&ld_text).into_iter().collect();
                let contained = dom_sh.iter().filter(|h| ld_sh.contains(h)).count();
                if dom_sh.len() < 40 || contained as f32 >= 0.6 * dom_sh.len() as f32 {
                    paras = ld_paras;
                }
            }
        }

        if let Some(h) = host {
            if body_keys.is_empty() {
                body_keys = paras.iter().map(|p| sites::block_key(&p.text)).collect();
            }
            self.templates.learn(h, &keys, &body_keys);
        }

        let body = join(&paras);
        let byline = if ld.authors.is_empty() {
            w.meta.author_meta.clone()
        } else {
            let mut seen = HashSet::new();
            let names: Vec<String> = ld
                .authors
                .iter()
                .filter(|a| seen.insert(a.to_lowercase()))
                .cloned()
                .collect();
            Some(names.join(", "))
        };
        let published = ld
            .published
            .clone()
            .or_else(|| w.meta.published_meta.clone())
            .or_else(|| w.meta.time_datetime.clone());
        let canonical_url = [
            w.meta.canonical.as_deref(),
            w.meta.og_url.as_deref(),
            ld.url.as_deref(),
        ]
        .into_iter()
        .flatten()
        .find_map(|c| resolve(c, url));
        let empty_reason = if body.is_empty() {
            Some(if w.truncated {
                "no article body found (page exceeded the node cap)".to_string()
            } else {
                "no article body found".to_string()
            })
        } else {
            None
        };
        Article {
            title,
            byline,
            published,
            canonical_url,
            text: body,
            empty_reason,
        }
    }
}

/// Select, emit and clean the body of a walked document; also returns the block keys of the
/// emitted body (for template learning).
fn body_of(
    w: &mut html::Walk,
    fragment: bool,
    titles: &[String],
    cut: &[regex::Regex],
    learn: bool,
) -> (Vec<text::Para>, Vec<u64>) {
    html::score(w);
    let member = if fragment {
        Some(vec![true; w.els.len()])
    } else {
        html::select(w)
    };
    let Some(member) = member else {
        return (Vec::new(), Vec::new());
    };
    let mut paras = Vec::new();
    for b in &w.blocks {
        if b.template || !member[b.el] {
            continue;
        }
        let len = b.text.len().max(1);
        let ld = b.link_chars as f32 / len as f32;
        let limit = if b.kind == html::Kind::Li { 0.3 } else { 0.5 };
        if ld > limit && !(fragment && ld < 0.9 && len > 40) {
            continue;
        }
        paras.push(text::Para {
            text: b.text.clone(),
            kind: b.kind,
            group: if b.in_para { w.els[b.el].parent } else { b.el },
        });
    }
    let keys = if learn {
        paras.iter().map(|p| sites::block_key(&p.text)).collect()
    } else {
        Vec::new()
    };
    (text::clean(paras, titles, cut), keys)
}

fn join(paras: &[text::Para]) -> String {
    let mut out = String::with_capacity(paras.iter().map(|p| p.text.len() + 2).sum());
    for p in paras {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        let t = p.text.trim();
        // Soft hyphens (U+00AD) only mark where a word may break: the word is whole without.
        if t.contains('\u{AD}') {
            out.extend(t.chars().filter(|&c| c != '\u{AD}'));
        } else {
            out.push_str(t);
        }
    }
    out
}

/// "Headline | Site" -> "Headline" (only when the headline part is the longer one).
fn strip_site_suffix(t: &str) -> String {
    for sep in [" | ", " - ", " — ", " – ", " :: "] {
        if let Some(i) = t.rfind(sep) {
            let (a, b) = (&t[..i], &t[i + sep.len()..]);
            if a.len() > b.len() {
                return a.trim().to_string();
            }
        }
    }
    t.trim().to_string()
}

fn resolve(c: &str, base: Option<&url::Url>) -> Option<String> {
    let c = c.trim();
    if c.is_empty() {
        return None;
    }
    match base {
        Some(b) => b.join(c).ok().map(String::from),
        None => url::Url::parse(c).ok().map(String::from),
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_html;

    #[test]
    fn markup_is_found_in_the_first_4096_characters_in_any_case() {
        assert!(looks_like_html("<HTML><body>x</body></HTML>"));
        assert!(looks_like_html("  \n<!DocType html>"));
        assert!(looks_like_html("some text then <P>a paragraph"));
        assert!(!looks_like_html("plain text, where a < b and b > c"));
        assert!(!looks_like_html(""));
        assert!(!looks_like_html("<"));
        // Counted in characters, not bytes: 4,094 two-byte characters leave room for "<p",
        // 4,095 do not.
        assert!(looks_like_html(&format!("{}<p>", "é".repeat(4094))));
        assert!(!looks_like_html(&format!("{}<p>", "é".repeat(4095))));
        assert!(!looks_like_html(&format!("{}<div>", "x".repeat(5000))));
    }

    #[test]
    fn a_document_behind_a_long_style_block_or_a_warning_is_html() {
        let style = format!("<style>{}</style>", "a{color:red} ".repeat(1000));
        assert!(looks_like_html(&format!(
            "{style}\n<!DOCTYPE html><html><body><p>x"
        )));
        let warning = format!(
            "Warning: {} in /var/www/index.php\n",
            "deprecated call ".repeat(400)
        );
        assert!(looks_like_html(&format!(
            "{warning}<html><body>x</body></html>"
        )));
        // Deep in a text only a document's own tags count.
        assert!(!looks_like_html(&format!("{}<p>", "x".repeat(5000))));
    }

    #[test]
    fn soft_hyphens_leave_words_whole() {
        let ex = super::Extractor::new(&[]).expect("extractor");
        let para = "Die Bundes\u{AD}regierung hat am Dienstag die Renten\u{AD}reform beschlossen, \
                    die im Juni dem Parlament vorgelegt werden soll, sagte ein Sprecher. ";
        let html = format!(
            "<html><body><article><h1>Titel</h1><p>{}</p><p>{}</p></article></body></html>",
            para.repeat(3),
            para.repeat(3)
        );
        let a = ex.extract_page(html.as_bytes(), Some("text/html"), None);
        assert!(a.text.contains("Bundesregierung"), "{}", a.text);
        assert!(!a.text.contains('\u{AD}'));
    }
}
