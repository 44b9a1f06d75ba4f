//! Pre-parse filter: drop the bodies of `<script>` (except JSON-LD), `<style>`, `<svg>` and
//! comments before html5ever sees the page. Real pages carry most of their bytes in inline
//! scripts, styles, JSON state and inline icons (an SVG's path data is about a tenth of what
//! is left of a news page once scripts and styles are gone); none of it can be article text
//! (the extractor skips an `<svg>` whole), and skipping it with a byte search is several times
//! cheaper than tokenizing it. Also caps the number of tags parsed.
//!
//! Hand-written because it is a dozen lines of byte scanning that no crate offers in this
//! form; it only looks for ASCII bytes, so every cut lands on a UTF-8 boundary.

/// Tags (roughly: `<` bytes) kept before the rest of the page is dropped.
pub(crate) const MAX_TAGS: usize = 60_000;
/// Open container elements kept nested; deeper opening tags (and their closing tags) are
/// dropped, their text kept. html5ever's scope checks walk the stack of open elements, so
/// unbounded nesting makes parsing quadratic.
pub(crate) const MAX_NESTING: usize = 400;

/// Elements that never nest (void) or that the parser closes implicitly when a sibling opens;
/// they do not count toward nesting.
fn is_flat(name: &[u8]) -> bool {
    const FLAT: &[&[u8]] = &[
        b"br",
        b"img",
        b"hr",
        b"meta",
        b"link",
        b"input",
        b"area",
        b"base",
        b"col",
        b"embed",
        b"param",
        b"source",
        b"track",
        b"wbr",
        b"p",
        b"li",
        b"dt",
        b"dd",
        b"option",
        b"tr",
        b"td",
        b"th",
        b"tbody",
        b"thead",
        b"tfoot",
        b"!doctype",
        b"html",
        b"head",
        b"body",
    ];
    FLAT.iter().any(|f| f.eq_ignore_ascii_case(name))
}

fn tag_name(b: &[u8]) -> &[u8] {
    let end = b
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'!' || *c == b'-'))
        .unwrap_or(b.len());
    &b[..end]
}

/// Case-insensitive search for an ASCII needle that starts with a non-letter byte.
fn find_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while i < hay.len() {
        i += memchr::memchr(first, &hay[i..])?;
        if hay.len() - i < needle.len() {
            return None;
        }
        if hay[i..i + needle.len()].eq_ignore_ascii_case(needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// HTML elements that end an `<svg>` when they appear inside it (the HTML standard's
/// "breakout" start tags of foreign content): the parser closes the SVG and reads them as HTML.
const BREAKOUT: &[&[u8]] = &[
    b"b",
    b"big",
    b"blockquote",
    b"body",
    b"br",
    b"center",
    b"code",
    b"dd",
    b"div",
    b"dl",
    b"dt",
    b"em",
    b"embed",
    b"font",
    b"h1",
    b"h2",
    b"h3",
    b"h4",
    b"h5",
    b"h6",
    b"head",
    b"hr",
    b"i",
    b"img",
    b"li",
    b"listing",
    b"menu",
    b"meta",
    b"nobr",
    b"ol",
    b"p",
    b"pre",
    b"ruby",
    b"s",
    b"small",
    b"span",
    b"strike",
    b"strong",
    b"sub",
    b"sup",
    b"table",
    b"tt",
    b"u",
    b"ul",
    b"var",
];

/// The position of the first tag at or after `from` that breaks out of an SVG (an HTML tag
/// the parser would read as HTML there).
fn next_breakout(b: &[u8], from: usize) -> Option<usize> {
    memchr::memchr_iter(b'<', b.get(from..)?)
        .map(|lt| from + lt)
        .find(|&lt| {
            let tag = &b[lt + 1..];
            let name = tag_name(tag.strip_prefix(b"/").unwrap_or(tag));
            BREAKOUT.iter().any(|t| t.eq_ignore_ascii_case(name))
        })
}

/// The answer of the last forward search from a position: reused while the scan has not
/// passed it. A page of thousands of unclosed `<svg>` tags would otherwise have each of them
/// search the rest of the page for its `</svg` (or for HTML inside), which is quadratic.
#[derive(Default)]
struct Ahead {
    from: usize,
    found: Option<Option<usize>>,
}

impl Ahead {
    fn next(&mut self, from: usize, search: impl FnOnce(usize) -> Option<usize>) -> Option<usize> {
        if let Some(found) = self.found {
            if from >= self.from && found.is_none_or(|f| f >= from) {
                return found;
            }
        }
        let found = search(from);
        self.from = from;
        self.found = Some(found);
        found
    }
}

/// Returns the filtered page and whether the tag cap cut it short.
pub(crate) fn filter(src: &str) -> (String, bool) {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len() / 2);
    let mut i = 0;
    let mut tags = 0usize;
    let mut truncated = false;
    let mut depth = 0usize;
    let mut suppressed = 0usize;
    let (mut svg_close, mut svg_breakout) = (Ahead::default(), Ahead::default());
    while i < b.len() {
        let Some(rel) = memchr::memchr(b'<', &b[i..]) else {
            out.push_str(&src[i..]);
            break;
        };
        let lt = i + rel;
        out.push_str(&src[i..lt]);
        tags += 1;
        if tags > MAX_TAGS {
            truncated = true;
            break;
        }
        let rest = &b[lt..];
        if rest.starts_with(b"<!--") {
            match find_ci(b, lt + 4, b"-->") {
                Some(end) => i = end + 3,
                None => break,
            }
            continue;
        }
        let boundary = |n: usize| {
            rest.get(n)
                .is_some_and(|&c| c == b'>' || c == b'/' || c.is_ascii_whitespace())
        };
        let opens = |tag: &[u8]| {
            rest.len() > tag.len() + 1
                && rest[1..=tag.len()].eq_ignore_ascii_case(tag)
                && boundary(tag.len() + 1)
        };
        let is_script = opens(b"script");
        let close: Option<&[u8]> = if is_script {
            Some(b"</script")
        } else if opens(b"style") {
            Some(b"</style")
        } else if opens(b"svg") {
            Some(b"</svg")
        } else {
            None
        };
        if let Some(close) = close {
            let Some(gt_rel) = memchr::memchr(b'>', &b[lt..]) else {
                break;
            };
            let gt = lt + gt_rel;
            let open = &src[lt..=gt];
            let is_svg = close == b"</svg";
            let end = if is_svg {
                svg_close.next(gt + 1, |from| find_ci(b, from, close))
            } else {
                find_ci(b, gt + 1, close)
            }
            .unwrap_or(b.len());
            // Drawing only: closed, and no HTML tag before the close.
            let mut plain_svg = || {
                end < b.len()
                    && svg_breakout
                        .next(gt + 1, |from| next_breakout(b, from))
                        .is_none_or(|at| at >= end)
            };
            if is_svg && !plain_svg() {
                // HTML inside, or no end: the parser would break out of the SVG and keep
                // that text, so the tags go through as they are.
                out.push('<');
                i = lt + 1;
                continue;
            }
            let keep = is_script && open.to_ascii_lowercase().contains("ld+json");
            out.push_str(open);
            if keep {
                out.push_str(&src[gt + 1..end]);
            }
            i = end;
            if end < b.len() {
                // copy the closing tag through normal processing
                let Some(cgt) = memchr::memchr(b'>', &b[end..]) else {
                    break;
                };
                out.push_str(&src[end..=end + cgt]);
                i = end + cgt + 1;
            }
            continue;
        }
        // nesting estimate
        let closing = rest.get(1) == Some(&b'/');
        let name = tag_name(&rest[usize::from(closing) + 1..]);
        if !name.is_empty() && name[0].is_ascii_alphabetic() && !is_flat(name) {
            let gt = memchr::memchr(b'>', rest).map(|g| lt + g);
            let self_closing = gt.is_some_and(|g| g > lt && b[g - 1] == b'/');
            if closing {
                if suppressed > 0 {
                    suppressed -= 1;
                    if let Some(g) = gt {
                        i = g + 1;
                        continue;
                    }
                } else {
                    depth = depth.saturating_sub(1);
                }
            } else if !self_closing {
                if depth >= MAX_NESTING {
                    suppressed += 1;
                    if let Some(g) = gt {
                        i = g + 1;
                        continue;
                    }
                } else {
                    depth += 1;
                }
            }
        }
        out.push('<');
        i = lt + 1;
    }
    (out, truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_code_keeps_text_and_jsonld() {
        let page = "<p>a</p><SCRIPT>var x='<p>no</p>';</script><!-- <p>c</p> --><style>p{}</style>\
                    <script type=\"application/ld+json\">{\"a\":1}</script><p>b \u{e9}</p>";
        let (out, cut) = filter(page);
        assert!(!cut);
        assert_eq!(
            out,
            "<p>a</p><SCRIPT></script><style></style>\
             <script type=\"application/ld+json\">{\"a\":1}</script><p>b \u{e9}</p>"
        );
    }

    #[test]
    fn drops_inline_icons_but_not_their_neighbours() {
        let page = "<p>Share<SVG viewBox=\"0 0 24 24\"><title>Facebook</title><path d=\"M12 2C6.5 2 2 6.5 2 12\"/></svg> this</p><svgfoo>kept</svgfoo><p>after</p>";
        let (out, cut) = filter(page);
        assert!(!cut);
        assert_eq!(
            out,
            "<p>Share<SVG viewBox=\"0 0 24 24\"></svg> this</p><svgfoo>kept</svgfoo><p>after</p>"
        );
        // An icon left open, or with HTML inside it, is left to the parser, which breaks out
        // of the SVG at the HTML and keeps its text.
        for page in [
            "<p>a</p><svg><path d=\"M0\"/><p>the article</p>",
            "<svg><g></g><P>the article</p></svg>",
            "<svg><g></g></p>the article</svg>",
        ] {
            assert_eq!(filter(page).0, page);
        }
    }

    /// The answers searched ahead for one `<svg>` serve the next ones: thousands of icons left
    /// open, or with HTML inside, go through as they are, and a closed plain icon after them
    /// is still dropped. (The search once ran to the page's end for each of them.)
    #[test]
    fn many_open_icons_are_decided_from_one_search() {
        let open = "<svg><path d=\"M0\"/>".repeat(5_000);
        let broken = "<svg><p>x</p>".repeat(2_000);
        let page = format!(
            "{open}<p>text</p>{broken}<svg><g></g><p>html</p></svg><svg><path/></svg><p>end</p>"
        );
        let (out, cut) = filter(&page);
        assert!(!cut);
        let want =
            format!("{open}<p>text</p>{broken}<svg><g></g><p>html</p></svg><svg></svg><p>end</p>");
        assert_eq!(out, want);
    }
}
