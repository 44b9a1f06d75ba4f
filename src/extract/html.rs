//! DOM pass: one iterative walk over the parsed page that collects metadata, text blocks and
//! per-element statistics, then picks the element that holds the article (readability-style
//! text-density and link-density scoring, boosted by `<article>`, schema.org `articleBody` and
//! class/id hints) and emits its paragraphs.
//!
//! scraper builds the tree; the walk, block segmentation and scoring are ours because no crate
//! exposes them as reusable pieces over a scraper tree (dom_smoothie and readability crates own
//! their own DOMs and return one finished string).

use ego_tree::NodeRef;
use scraper::node::Node;
use scraper::Html;
use std::sync::OnceLock;

/// Work caps per page: elements visited and nesting depth followed.
pub(crate) const MAX_NODES: usize = 250_000;
/// Elements deeper than this are not descended into.
pub(crate) const MAX_DEPTH: usize = 180;
/// JSON-LD scripts larger than this are ignored.
const MAX_JSONLD_BYTES: usize = 512 * 1024;

/// What kind of block a run of text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `<p>` and plain text directly inside a container.
    P,
    /// `<h1>`..`<h6>`.
    Heading,
    /// `<li>`, `<dd>`, `<dt>`.
    Li,
    /// `<blockquote>`.
    Quote,
    /// `<pre>`.
    Pre,
    /// Table cells.
    Cell,
}

/// A run of text between block boundaries.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub text: String,
    pub link_chars: usize,
    pub kind: Kind,
    /// Index of the nearest block-level element holding the text.
    pub el: usize,
    /// The block sits directly in a `<p>`-like element (scores go to its parent).
    pub in_para: bool,
    /// Learned template text: set by the caller before selection.
    pub template: bool,
}

/// Per-element record.
#[derive(Debug, Clone)]
pub(crate) struct El {
    pub parent: usize,
    pub tag_score: f32,
    pub weight: f32,
    pub text_chars: usize,
    pub link_chars: usize,
    pub score: f32,
    pub scored: bool,
    /// Chars of paragraph-like, link-poor text below this element.
    pub good: usize,
    /// Number of such paragraphs below this element.
    pub good_blocks: usize,
    /// Number of distinct paragraph containers holding them.
    pub good_groups: usize,
}

/// Metadata gathered during the walk.
#[derive(Debug, Default, Clone)]
pub(crate) struct Meta {
    pub title_tag: Option<String>,
    pub og_title: Option<String>,
    pub h1: Option<String>,
    pub author_meta: Option<String>,
    pub published_meta: Option<String>,
    pub time_datetime: Option<String>,
    pub canonical: Option<String>,
    pub og_url: Option<String>,
    pub jsonld: Vec<String>,
}

/// Everything the walk produced.
pub(crate) struct Walk {
    pub els: Vec<El>,
    pub blocks: Vec<Block>,
    pub meta: Meta,
    pub truncated: bool,
}

fn is_block_tag(t: &str) -> bool {
    matches!(
        t,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "body"
            | "center"
            | "dd"
            | "details"
            | "dialog"
            | "dir"
            | "div"
            | "dl"
            | "dt"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hr"
            | "li"
            | "main"
            | "nav"
            | "ol"
            | "p"
            | "pre"
            | "section"
            | "summary"
            | "table"
            | "tbody"
            | "td"
            | "tfoot"
            | "th"
            | "thead"
            | "tr"
            | "ul"
            | "caption"
            | "legend"
            | "menu"
            | "html"
            | "hgroup"
    )
}

/// Tags whose whole subtree never holds article text.
fn is_skip_tag(t: &str) -> bool {
    matches!(
        t,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "svg"
            | "math"
            | "iframe"
            | "object"
            | "embed"
            | "canvas"
            | "video"
            | "audio"
            | "select"
            | "textarea"
            | "input"
            | "button"
            | "map"
            | "option"
            | "datalist"
            | "title"
            | "meta"
            | "link"
            | "base"
            | "img"
            | "picture"
            | "source"
    )
}

/// Structural boilerplate tags (skipped in strict mode).
fn is_boiler_tag(t: &str) -> bool {
    matches!(
        t,
        "nav"
            | "aside"
            | "footer"
            | "figure"
            | "figcaption"
            | "menu"
            | "dialog"
            | "header"
            | "form"
    )
}

/// One word of a class or id, judged.
#[derive(PartialEq, Eq, Clone, Copy)]
enum WordClass {
    Likely,
    Unlikely,
    Neutral,
}

fn classify_word(w: &str) -> WordClass {
    const LIKELY: &[&str] = &[
        "article",
        "body",
        "content",
        "entry",
        "main",
        "post",
        "story",
        "text",
        "prose",
        "blog",
        "articlebody",
        "storytext",
        "postbody",
    ];
    const UNLIKELY_EXACT: &[&str] = &[
        "ad",
        "ads",
        "adv",
        "dfp",
        "tags",
        "print",
        "rss",
        "skip",
        "hidden",
        "hide",
        "meta",
        "header",
        "foot",
        "aside",
        "rail",
        "tape",
        "nav",
        "further",
        "more",
        "next",
        "prev",
        "sr",
        "tools",
        "actions",
        "reply",
        "replies",
        "community",
        "extra",
        "supplemental",
        "meter",
        "nl",
        "side",
        "gallery",
        "related",
    ];
    if LIKELY.contains(&w) {
        return WordClass::Likely;
    }
    static UNLIKELY_SUB: OnceLock<regex::Regex> = OnceLock::new();
    // one literal alternation: regex compiles it to a multi-substring searcher
    let sub = UNLIKELY_SUB.get_or_init(|| {
        regex::Regex::new(
            "comment|share|sharing|social|related|newsletter|subscri|signup|cookie|consent|gdpr|banner|breadcrumb|crumbs|sidebar|widget|footer|masthead|navbar|navigation|promo|sponsor|advert|outbrain|taboola|trending|popular|mostread|recommend|paywall|modal|popup|overlay|toolbar|pagination|pager|byline|author|caption|credit|disclaimer|keypoint|takeaway|tldr|disqus|skyscraper|shoutbox|readnext|recirc|teaser|upsell|marketing|login|menu|dropdown|tooltip|rating|ticker|newsfeed",
        )
        .expect("static regex")
    });
    if UNLIKELY_EXACT.contains(&w) || sub.is_match(w) {
        return WordClass::Unlikely;
    }
    WordClass::Neutral
}

/// Flags of one class or id attribute: (unlikely, likely, strongly likely).
fn judge_tokens(attr: &str) -> (bool, bool, bool) {
    let (mut unlikely, mut likely, mut strong) = (false, false, false);
    let mut buf = String::new();
    for tok in attr.split_ascii_whitespace() {
        buf.clear();
        buf.push_str(tok);
        buf.make_ascii_lowercase();
        let mut any_unlikely = false;
        let mut any_likely = false;
        let mut last = WordClass::Neutral;
        for w in buf.split(['-', '_', ':', '.']).filter(|w| !w.is_empty()) {
            last = classify_word(w);
            any_unlikely |= last == WordClass::Unlikely;
            any_likely |= last == WordClass::Likely;
        }
        if any_unlikely && last != WordClass::Likely {
            unlikely = true;
        } else if any_likely {
            likely = true;
            strong |= !any_unlikely;
        }
    }
    (unlikely, likely, strong)
}

/// Judge class and id: (boilerplate?, weight for scoring). Class strings repeat across a page,
/// so their verdicts are cached per walk.
fn judge_attrs<'a>(
    class: &'a str,
    id: &str,
    cache: &mut std::collections::HashMap<&'a str, (bool, bool, bool)>,
) -> (bool, f32) {
    let c = if class.is_empty() {
        (false, false, false)
    } else if let Some(v) = cache.get(class) {
        *v
    } else {
        let v = judge_tokens(class);
        cache.insert(class, v);
        v
    };
    let i = if id.is_empty() {
        (false, false, false)
    } else {
        judge_tokens(id)
    };
    let unlikely = c.0 || i.0;
    let likely = c.1 || i.1;
    let strong = c.2 || i.2;
    let boiler = unlikely && !strong;
    let mut weight = 0.0;
    if likely {
        weight += 25.0;
    }
    if unlikely {
        weight -= 25.0;
    }
    (boiler, weight)
}

fn is_hidden(el: &scraper::node::Element) -> bool {
    if el.attr("hidden").is_some() {
        return true;
    }
    if el
        .attr("aria-hidden")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return true;
    }
    if let Some(style) = el.attr("style") {
        let s: String = style
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        if s.contains("display:none") || s.contains("visibility:hidden") {
            return true;
        }
    }
    false
}

fn boiler_role(el: &scraper::node::Element) -> bool {
    el.attr("role").is_some_and(|r| {
        matches!(
            r.to_ascii_lowercase().as_str(),
            "navigation"
                | "complementary"
                | "banner"
                | "contentinfo"
                | "dialog"
                | "alertdialog"
                | "menu"
                | "menubar"
                | "search"
                | "toolbar"
                | "tablist"
        )
    })
}

fn tag_score(t: &str) -> f32 {
    match t {
        "div" | "article" | "main" | "section" => 5.0,
        "pre" | "td" | "blockquote" => 3.0,
        "address" | "ol" | "ul" | "dl" | "dd" | "dt" | "li" | "form" => -3.0,
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "th" => -5.0,
        _ => 0.0,
    }
}

struct Builder {
    text: String,
    link_chars: usize,
    pending_space: bool,
}

impl Builder {
    fn push_text(&mut self, s: &str, in_link: bool, pre: bool) {
        // At most the input and one space: one allocation, not a doubling per growth.
        self.text.reserve(s.len() + 1);
        for c in s.chars() {
            let ws = c.is_whitespace() && (!pre || c != '\n');
            if ws || c == '\u{200b}' || c == '\u{feff}' {
                if !self.text.is_empty() && c != '\u{200b}' && c != '\u{feff}' {
                    self.pending_space = true;
                }
                continue;
            }
            if pre && c == '\n' {
                self.text.push('\n');
                self.pending_space = false;
                continue;
            }
            if self.pending_space {
                self.text.push(' ');
                if in_link {
                    self.link_chars += 1;
                }
                self.pending_space = false;
            }
            self.text.push(c);
            if in_link {
                self.link_chars += 1;
            }
        }
    }
}

struct Frame<'a> {
    node: NodeRef<'a, Node>,
    el: usize,
    is_link: bool,
    block: bool,
    pre: bool,
}

/// Walk the document. `strict` skips class/id-judged boilerplate subtrees and structural
/// boilerplate tags; the lenient pass keeps them (used when the strict pass finds too little).
pub(crate) fn walk(doc: &Html, strict: bool, drop: &[scraper::Selector]) -> Walk {
    let mut els: Vec<El> = vec![El {
        parent: 0,
        tag_score: 0.0,
        weight: 0.0,
        text_chars: 0,
        link_chars: 0,
        score: 0.0,
        scored: false,
        good: 0,
        good_blocks: 0,
        good_groups: 0,
    }];
    let mut blocks: Vec<Block> = Vec::new();
    let mut meta = Meta::default();
    let mut b = Builder {
        text: String::new(),
        link_chars: 0,
        pending_space: false,
    };
    // kind of the innermost block element for the current text run
    let mut kinds: Vec<(usize, Kind, bool)> = vec![(0, Kind::P, false)];
    let mut stack: Vec<Frame> = Vec::new();
    let mut link_depth = 0usize;
    let mut pre_depth = 0usize;
    let mut visited = 0usize;
    let mut truncated = false;
    let mut class_cache = std::collections::HashMap::new();

    let flush = |b: &mut Builder, blocks: &mut Vec<Block>, kinds: &[(usize, Kind, bool)]| {
        let t = b.text.trim();
        if !t.is_empty() {
            let (el, kind, in_para) = kinds[kinds.len() - 1];
            blocks.push(Block {
                text: t.to_string(),
                link_chars: b.link_chars.min(t.len()),
                kind,
                el,
                in_para,
                template: false,
            });
        }
        b.text.clear();
        b.link_chars = 0;
        b.pending_space = false;
    };

    let root = doc.tree.root();
    let mut cur = root.first_child();
    loop {
        let Some(node) = cur else {
            // close the innermost open element
            let Some(frame) = stack.pop() else { break };
            if frame.is_link {
                link_depth = link_depth.saturating_sub(1);
            }
            if frame.pre {
                pre_depth = pre_depth.saturating_sub(1);
            }
            if frame.block {
                flush(&mut b, &mut blocks, &kinds);
                if kinds.len() > 1 && kinds[kinds.len() - 1].0 == frame.el {
                    kinds.pop();
                }
            }
            if frame.el != 0 {
                let (tc, lc, p) = {
                    let e = &els[frame.el];
                    (e.text_chars, e.link_chars, e.parent)
                };
                els[p].text_chars += tc;
                els[p].link_chars += lc;
            }
            cur = frame.node.next_sibling();
            continue;
        };
        visited += 1;
        if visited > MAX_NODES {
            truncated = true;
            // unwind: flush and stop descending
            cur = None;
            while let Some(frame) = stack.pop() {
                if frame.block {
                    flush(&mut b, &mut blocks, &kinds);
                }
                if frame.el != 0 {
                    let (tc, lc, p) = {
                        let e = &els[frame.el];
                        (e.text_chars, e.link_chars, e.parent)
                    };
                    els[p].text_chars += tc;
                    els[p].link_chars += lc;
                }
            }
            let _ = cur;
            break;
        }
        match node.value() {
            Node::Text(t) => {
                let in_link = link_depth > 0;
                let before = b.text.len();
                b.push_text(t, in_link, pre_depth > 0);
                let added = b.text.len() - before;
                let cur_el = stack.last().map_or(0, |f| f.el);
                els[cur_el].text_chars += added;
                if in_link {
                    els[cur_el].link_chars += added;
                }
                cur = node.next_sibling();
            }
            Node::Element(e) => {
                let name = e.name();
                // metadata first: these live in <head> and in skipped subtrees
                collect_meta(name, e, node, &mut meta);
                let parent_el = stack.last().map_or(0, |f| f.el);
                let depth = stack.len();
                let mut skip = is_skip_tag(name) || depth >= MAX_DEPTH;
                if !skip && name == "br" {
                    flush(&mut b, &mut blocks, &kinds);
                    cur = node.next_sibling();
                    continue;
                }
                if !skip && name == "hr" {
                    flush(&mut b, &mut blocks, &kinds);
                    cur = node.next_sibling();
                    continue;
                }
                let (boiler, weight) = judge_attrs(
                    e.attr("class").unwrap_or(""),
                    e.attr("id").unwrap_or(""),
                    &mut class_cache,
                );
                let itemprop_body = e
                    .attr("itemprop")
                    .is_some_and(|v| v.eq_ignore_ascii_case("articleBody"));
                if !skip && is_hidden(e) {
                    skip = true;
                }
                if !skip
                    && strict
                    && !itemprop_body
                    && name != "body"
                    && name != "html"
                    && name != "article"
                    && name != "main"
                    && (boiler || is_boiler_tag(name) || boiler_role(e))
                {
                    skip = true;
                }
                if !skip && !drop.is_empty() {
                    if let Some(er) = scraper::ElementRef::wrap(node) {
                        if drop.iter().any(|s| s.matches(&er)) {
                            skip = true;
                        }
                    }
                }
                if skip {
                    cur = node.next_sibling();
                    continue;
                }
                let block = is_block_tag(name);
                if block {
                    flush(&mut b, &mut blocks, &kinds);
                }
                let idx = els.len();
                let mut w = weight;
                if itemprop_body {
                    w += 50.0;
                } else if name == "article" {
                    w += 15.0;
                } else if name == "main" {
                    w += 5.0;
                }
                els.push(El {
                    parent: parent_el,
                    tag_score: tag_score(name),
                    weight: w,
                    text_chars: 0,
                    link_chars: 0,
                    score: 0.0,
                    scored: false,
                    good: 0,
                    good_blocks: 0,
                    good_groups: 0,
                });
                if block {
                    let kind = match name {
                        "p" => Some((Kind::P, true)),
                        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => Some((Kind::Heading, true)),
                        "li" | "dd" | "dt" => Some((Kind::Li, true)),
                        "blockquote" => Some((Kind::Quote, false)),
                        "pre" => Some((Kind::Pre, true)),
                        "td" | "th" => Some((Kind::Cell, false)),
                        _ => None,
                    };
                    let (k, in_para) = match kind {
                        Some(k) => k,
                        // inside a <li>/<blockquote>, a <div> keeps the outer kind
                        None => {
                            let (_, outer, _) = kinds[kinds.len() - 1];
                            match outer {
                                Kind::Li | Kind::Quote | Kind::Pre => (outer, false),
                                _ => (Kind::P, false),
                            }
                        }
                    };
                    kinds.push((idx, k, in_para));
                }
                let is_link = name == "a";
                if is_link {
                    link_depth += 1;
                }
                let pre = name == "pre";
                if pre {
                    pre_depth += 1;
                }
                stack.push(Frame {
                    node,
                    el: idx,
                    is_link,
                    block,
                    pre,
                });
                cur = node.first_child();
                if cur.is_none() {
                    // empty element: close at once on the next iteration
                }
            }
            _ => {
                cur = node.next_sibling();
            }
        }
    }
    flush(&mut b, &mut blocks, &kinds);
    Walk {
        els,
        blocks,
        meta,
        truncated,
    }
}

/// Collapse runs of whitespace to one space and trim; soft hyphens (U+00AD, `&shy;`: a
/// hint where a word may break, invisible otherwise) go, so the word is whole again.
pub(crate) fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        let word = word.trim_matches('\u{AD}');
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().filter(|&c| c != '\u{AD}'));
    }
    out
}

fn node_text(node: NodeRef<'_, Node>, cap: usize) -> String {
    let mut out = String::new();
    for d in node.descendants() {
        if let Node::Text(t) = d.value() {
            out.push_str(t);
            if out.len() > cap {
                break;
            }
        }
    }
    out
}

fn collect_meta(name: &str, e: &scraper::node::Element, node: NodeRef<'_, Node>, meta: &mut Meta) {
    match name {
        "title" if meta.title_tag.is_none() => {
            meta.title_tag = Some(collapse_ws(&node_text(node, 2000)));
        }
        "meta" => {
            let key = e
                .attr("property")
                .or_else(|| e.attr("name"))
                .or_else(|| e.attr("itemprop"))
                .unwrap_or("")
                .to_ascii_lowercase();
            let Some(content) = e.attr("content") else {
                return;
            };
            let content = content.trim();
            if content.is_empty() {
                return;
            }
            match key.as_str() {
                "og:title" | "twitter:title" if meta.og_title.is_none() => {
                    meta.og_title = Some(collapse_ws(content));
                }
                "author" | "article:author" | "parsely-author" | "sailthru.author" | "byl"
                | "dc.creator"
                    if meta.author_meta.is_none() && !content.starts_with("http") =>
                {
                    meta.author_meta = Some(collapse_ws(content));
                }
                "article:published_time"
                | "datepublished"
                | "og:published_time"
                | "published_time"
                | "pubdate"
                | "publishdate"
                | "publish-date"
                | "parsely-pub-date"
                | "sailthru.date"
                | "dc.date.issued"
                | "dc.date"
                | "date"
                | "article.published"
                    if meta.published_meta.is_none() =>
                {
                    meta.published_meta = Some(content.to_string());
                }
                "og:url" if meta.og_url.is_none() => meta.og_url = Some(content.to_string()),
                _ => {}
            }
        }
        "link"
            if meta.canonical.is_none()
                && e.attr("rel").is_some_and(|r| {
                    r.split_ascii_whitespace()
                        .any(|x| x.eq_ignore_ascii_case("canonical"))
                }) =>
        {
            if let Some(h) = e.attr("href") {
                meta.canonical = Some(h.trim().to_string());
            }
        }
        "script"
            if meta.jsonld.len() < 16
                && e.attr("type")
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json")) =>
        {
            let s = node_text(node, MAX_JSONLD_BYTES);
            if s.len() <= MAX_JSONLD_BYTES {
                meta.jsonld.push(s);
            }
        }
        "h1" if meta.h1.is_none() => {
            meta.h1 = Some(collapse_ws(&node_text(node, 1000)));
        }
        "time" if meta.time_datetime.is_none() => {
            if let Some(d) = e.attr("datetime") {
                if d.len() >= 8 {
                    meta.time_datetime = Some(d.trim().to_string());
                }
            }
        }
        _ => {}
    }
}

/// Readability-style scoring of containers from their paragraphs.
pub(crate) fn score(w: &mut Walk) {
    let mut has_good = vec![false; w.els.len()];
    for bi in 0..w.blocks.len() {
        let (len, commas, ld, el, in_para, kind) = {
            let b = &w.blocks[bi];
            if b.template {
                continue;
            }
            let len = b.text.chars().count();
            let ld = if len > 0 {
                b.link_chars as f32 / b.text.len().max(1) as f32
            } else {
                1.0
            };
            let commas = b
                .text
                .chars()
                .filter(|&c| c == ',' || c == '\u{ff0c}' || c == '\u{3001}')
                .count();
            (len, commas, ld, b.el, b.in_para, b.kind)
        };
        if len >= 60
            && ld < 0.3
            && !matches!(kind, Kind::Heading | Kind::Cell)
            && (kind != Kind::Li || len >= 100)
        {
            let mut a = el;
            while a != 0 {
                w.els[a].good += len;
                w.els[a].good_blocks += 1;
                a = w.els[a].parent;
            }
            has_good[if in_para { w.els[el].parent } else { el }] = true;
        }
        if len < 25 || matches!(kind, Kind::Heading) || ld > 0.5 {
            continue;
        }
        let mut s = 1.0 + commas.min(20) as f32 + (len as f32 / 100.0).min(3.0);
        s *= 1.0 - ld;
        if matches!(kind, Kind::Li | Kind::Cell) {
            s *= 0.5;
        }
        // paragraphs give their score to their parent; loose text to its own container
        let mut target = if in_para { w.els[el].parent } else { el };
        for level in 0..5 {
            if target == 0 {
                break;
            }
            let div = match level {
                0 => 1.0,
                1 => 2.0,
                l => l as f32 * 3.0,
            };
            let e = &mut w.els[target];
            if !e.scored {
                e.scored = true;
                e.score = e.tag_score + e.weight;
            }
            e.score += s / div;
            target = e.parent;
        }
    }
    count_groups(w, &has_good);
}

/// Count paragraph containers per ancestor (after [`score`] marked them).
fn count_groups(w: &mut Walk, has_good: &[bool]) {
    for (g, _) in has_good.iter().enumerate().skip(1).filter(|(_, h)| **h) {
        let mut a = g;
        while a != 0 {
            w.els[a].good_groups += 1;
            a = w.els[a].parent;
        }
    }
}

/// Link density of an element.
pub(crate) fn link_density(e: &El) -> f32 {
    if e.text_chars == 0 {
        0.0
    } else {
        e.link_chars as f32 / e.text_chars as f32
    }
}

/// Pick the root element(s) of the article: returns a membership flag per element.
pub(crate) fn select(w: &Walk) -> Option<Vec<bool>> {
    let mut best: Option<(usize, f32)> = None;
    for (i, e) in w.els.iter().enumerate() {
        if !e.scored || i == 0 {
            continue;
        }
        let s = e.score * (1.0 - link_density(e));
        if best.is_none_or(|(_, bs)| s > bs) {
            best = Some((i, s));
        }
    }
    let (top, top_score) = best?;
    let mut root = top;
    // Several strong candidates under one ancestor: the article spans them.
    let strong: Vec<usize> = w
        .els
        .iter()
        .enumerate()
        .filter(|(i, e)| {
            *i != top && e.scored && e.score * (1.0 - link_density(e)) >= 0.75 * top_score
        })
        .map(|(i, _)| i)
        .collect();
    if strong.len() >= 2 {
        let mut anc = w.els[top].parent;
        while anc != 0 {
            let n = strong.iter().filter(|&&c| is_under(w, c, anc)).count();
            if n >= 2 {
                root = anc;
                break;
            }
            anc = w.els[anc].parent;
        }
    }
    // Climb while the parent adds mostly article-like text (a body split over several
    // containers, a lead paragraph outside the main body element).
    loop {
        let p = w.els[root].parent;
        if p == 0 {
            break;
        }
        let (c, pe) = (&w.els[root], &w.els[p]);
        let dt = pe.text_chars.saturating_sub(c.text_chars);
        let dg = pe.good.saturating_sub(c.good);
        // added paragraphs must come in runs, not one per teaser card
        let db = pe.good_blocks.saturating_sub(c.good_blocks);
        let dgr = pe.good_groups.saturating_sub(c.good_groups);
        let runs = dgr <= 2 || db as f32 >= 1.5 * dgr as f32;
        if dt == 0 || (dg as f32 >= 0.6 * dt as f32 && dg >= 150 && runs) {
            root = p;
        } else {
            break;
        }
    }
    let mut member = vec![false; w.els.len()];
    member[root] = true;
    // Siblings of the root that look like article too.
    let threshold = (top_score * 0.2).max(10.0);
    let parent = w.els[root].parent;
    if parent != 0 {
        for (i, e) in w.els.iter().enumerate() {
            if i == root || e.parent != parent {
                continue;
            }
            if e.scored && e.score * (1.0 - link_density(e)) >= threshold {
                member[i] = true;
            }
        }
    }
    // propagate membership to descendants (parents precede children in `els`)
    for i in 1..w.els.len() {
        if !member[i] && member[w.els[i].parent] && w.els[i].parent != 0 {
            member[i] = true;
        }
    }
    Some(member)
}

fn is_under(w: &Walk, mut node: usize, anc: usize) -> bool {
    while node != 0 {
        if node == anc {
            return true;
        }
        node = w.els[node].parent;
    }
    false
}
