//! Canonical article URLs: the first and cheapest duplicate check.
//!
//! Two links to the same article differ in ways that do not change the page: scheme and host
//! case, default ports, fragments, a trailing slash, tracking parameters added by feeds and
//! newsletters, parameter order, and AMP variants. [`canonicalize`] removes those differences
//! so that the canonical URL can serve as the item's identity key. [`prefer_declared`] lets a
//! page's own `<link rel=canonical>` / `og:url` win when it is plausible.
//!
//! Written by hand because no small crate covers this exact rule set (tracking-parameter
//! removal that keeps identity parameters such as `story.aspx?id=`, plus AMP folding); the
//! `url` crate already does parsing, case folding, default ports and percent-encoding.

use url::Url;

/// Query parameters that only track where a click came from and never select content.
/// Compared case-insensitively; `utm_*` is handled as a prefix.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "twclid",
    "ttclid",
    "li_fat_id",
    "mc_cid",
    "mc_eid",
    "mkt_tok",
    "igshid",
    "igsh",
    "_ga",
    "_gl",
    "_hsenc",
    "_hsmi",
    "__twitter_impression",
    "ref",
    "ref_src",
    "ref_url",
    "referrer",
    "cmpid",
    "ocid",
    "icid",
    "smid",
    "sr_share",
    "share",
    "spm",
    "soc_src",
    "soc_trk",
    "wt.mc_id",
    "at_medium",
    "at_campaign",
    "at_custom1",
    "at_custom2",
    "rss",
    "feed",
    "cx_testid",
    "ncid",
    "feed_id",
    "guccounter",
];

/// Prefixes of tracking-parameter families (`utm_source`, `pk_campaign`, ...).
const TRACKING_PREFIXES: &[&str] = &["utm_", "pk_", "mtm_", "hsa_", "vero_", "oly_"];

/// True when the query parameter `key` (with value `value`) is tracking or an AMP switch,
/// i.e. removing it does not change which article the URL names.
pub fn is_tracking_param(key: &str, value: &str) -> bool {
    let k = key.to_ascii_lowercase();
    if TRACKING_PREFIXES.iter().any(|p| k.starts_with(p)) || TRACKING_PARAMS.contains(&k.as_str()) {
        return true;
    }
    is_amp_param(&k, value)
}

/// AMP switches carried in the query: `?outputType=amp`, `?amp`, `?amp=1`, `?amp=true`.
fn is_amp_param(key_lower: &str, value: &str) -> bool {
    let v = value.to_ascii_lowercase();
    match key_lower {
        "outputtype" | "output" => v == "amp",
        "amp" => v.is_empty() || v == "1" || v == "true" || v == "yes",
        _ => false,
    }
}

/// The canonical form of an article URL.
///
/// - scheme and host lowercased, default port dropped (done by `url` when parsing);
/// - fragment dropped;
/// - an `amp.` host prefix dropped (`amp.example.com` -> `example.com`);
/// - a trailing `/amp` path segment (`.../story/amp/`) and a `.amp.html` / `.amp` suffix
///   folded to the regular page;
/// - a trailing slash dropped on every path but the root (`/a/b/` -> `/a/b`);
/// - tracking and AMP query parameters removed ([`is_tracking_param`]), the remaining ones
///   (which may be identity, like `story.aspx?id=42`) sorted by key then value, and an empty
///   query removed.
///
/// URLs other than http and https (`mailto:`, `data:`, `file:`) are returned unchanged apart
/// from the fragment.
pub fn canonicalize(url: &Url) -> Url {
    let mut u = url.clone();
    u.set_fragment(None);
    // Only web URLs: the `url` crate rewrites `file:` paths on every set_path (drive letters),
    // which made canonicalising not idempotent (found by fuzzing), and nothing else is fetched.
    if u.cannot_be_a_base() || !matches!(u.scheme(), "http" | "https") {
        return u;
    }
    if let Some(host) = u.host_str() {
        // Every `amp.` prefix, so that canonicalising twice changes nothing (found by fuzzing).
        let mut h = host.to_ascii_lowercase();
        let before = h.len();
        while let Some(rest) = h.strip_prefix("amp.") {
            if !rest.contains('.') {
                break;
            }
            h = rest.to_string();
        }
        if h.len() != before {
            // set_host only fails for invalid hosts; the suffix of a valid host is valid.
            let _ = u.set_host(Some(&h));
        }
    }
    // Until the path is stable: `set_path` normalises what it is given (a `.` or `..` segment
    // left by removing an AMP suffix, `/////..amp` → `/////.` → `/////`), which can leave a
    // form `canonical_path` changes again (found by fuzzing, twice). Each round must shorten
    // the path, so this ends; a round that would not is undone, so that the result is the
    // same whenever it is computed again (idempotence).
    loop {
        let path = canonical_path(u.path());
        if path == u.path() {
            break;
        }
        let before = u.path().to_string();
        u.set_path(&path);
        if u.path().len() >= before.len() {
            u.set_path(&before);
            break;
        }
    }

    let mut pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, v)| !k.is_empty() && !is_tracking_param(k, v))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.is_empty() {
        u.set_query(None);
    } else {
        pairs.sort();
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            ser.append_pair(k, v);
        }
        let q = ser.finish();
        u.set_query(Some(&q));
    }
    u
}

/// Path part of [`canonicalize`]: AMP suffixes and trailing slashes.
fn canonical_path(path: &str) -> String {
    let mut p = path.to_string();
    // Trailing slashes first so that ".../amp/" and ".../amp" look alike.
    while p.len() > 1 && p.ends_with('/') {
        p.pop();
    }
    // Until nothing changes: `.../story.amp/amp/` has two AMP markers, and canonicalising
    // must be idempotent (found by fuzzing). Each round shortens the path, so this ends.
    loop {
        let len = p.len();
        let lower = p.to_ascii_lowercase();
        if lower.ends_with("/amp") && p.len() > 4 {
            p.truncate(p.len() - 4);
        } else if let Some(stem) = lower.strip_suffix(".amp.html") {
            p = format!("{}.html", &p[..stem.len()]);
        } else if lower.ends_with(".amp") && !lower.ends_with("/.amp") {
            p.truncate(p.len() - 4);
        }
        while p.len() > 1 && p.ends_with('/') {
            p.pop();
        }
        if p.len() == len {
            break;
        }
    }
    if p.is_empty() {
        p.push('/');
    }
    p
}

/// Why a declared canonical URL (`<link rel=canonical>` or `og:url`) was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclaredRejected {
    /// It did not parse, even relative to the page URL.
    Unparsable,
    /// Not http or https.
    Scheme,
    /// A different site (registrable domain) than the page.
    OtherSite,
    /// It points at the site's front page or a section root, a common template bug.
    SiteRoot,
}

impl std::fmt::Display for DeclaredRejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Unparsable => "declared canonical URL does not parse",
            Self::Scheme => "declared canonical URL is not http(s)",
            Self::OtherSite => "declared canonical URL is on another site",
            Self::SiteRoot => "declared canonical URL is the site's front page",
        })
    }
}

/// Checks a page's declared canonical URL (`declared`, possibly relative) against the URL the
/// page was fetched from, and returns the canonicalised declared URL when it is plausible:
/// http(s), the same site (same host, or same registrable domain as far as can be told
/// without a public-suffix list: `www.`/`amp.`/`m.` hosts and sibling subdomains), and not
/// the site's front page (a frequent template mistake that would merge every article).
pub fn check_declared(page: &Url, declared: &str) -> Result<Url, DeclaredRejected> {
    let d = declared.trim();
    if d.is_empty() {
        return Err(DeclaredRejected::Unparsable);
    }
    let target = page.join(d).map_err(|_| DeclaredRejected::Unparsable)?;
    if target.scheme() != "http" && target.scheme() != "https" {
        return Err(DeclaredRejected::Scheme);
    }
    let (Some(a), Some(b)) = (page.host_str(), target.host_str()) else {
        return Err(DeclaredRejected::Unparsable);
    };
    if site_key(a) != site_key(b) {
        return Err(DeclaredRejected::OtherSite);
    }
    let canon = canonicalize(&target);
    let page_canon = canonicalize(page);
    let segments = canon.path().split('/').filter(|s| !s.is_empty()).count();
    if segments == 0 && canon.query().is_none() && page_canon.path() != "/" {
        return Err(DeclaredRejected::SiteRoot);
    }
    Ok(canon)
}

/// The URL to use as an item's identity: its declared canonical URL when
/// [`check_declared`] accepts it, else the canonicalised fetched URL.
pub fn prefer_declared(page: &Url, declared: Option<&str>) -> Url {
    declared
        .and_then(|d| check_declared(page, d).ok())
        .unwrap_or_else(|| canonicalize(page))
}

/// A crude registrable-domain key: the last two labels, or three when the second-level label
/// is a short generic one under a two-letter country code (`news.example.co.uk` ->
/// `example.co.uk`). IP addresses and single-label hosts (`localhost`) are their own key.
fn site_key(host: &str) -> String {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if h.parse::<std::net::IpAddr>().is_ok() || h.starts_with('[') {
        return h;
    }
    let labels: Vec<&str> = h.split('.').collect();
    let n = labels.len();
    if n <= 2 {
        return h;
    }
    let tld = labels[n - 1];
    let sld = labels[n - 2];
    let take = if tld.len() == 2
        && matches!(
            sld,
            "co" | "com" | "net" | "org" | "gov" | "ac" | "edu" | "ne" | "or"
        ) {
        3
    } else {
        2
    };
    labels[n.saturating_sub(take)..].join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        match Url::parse(s) {
            Ok(u) => canonicalize(&u).to_string(),
            Err(e) => format!("parse error {e}"),
        }
    }

    #[test]
    fn case_port_fragment_slash() {
        assert_eq!(
            c("HTTPS://Example.COM:443/News/Story/#comments"),
            "https://example.com/News/Story"
        );
        // Found by fuzzing: two AMP markers, stripped in one pass (idempotence).
        assert_eq!(
            c("http://example.com/a/story.amp/amp/"),
            "http://example.com/a/story"
        );
        assert_eq!(c("http://amp.amp.example.com/x"), "http://example.com/x");
        // Found by fuzzing: removing `.amp` left a `.` segment that the URL normalised away,
        // leaving trailing slashes; they go in the same call.
        assert_eq!(c("HTTP:+H.\\\\\\\\\\..amp"), "http://+h./");
        let once = c("http://example.com/////..amp");
        assert_eq!(once, "http://example.com/");
        assert_eq!(c(&once), once);
        // Found by fuzzing, again: many `..amp` segments, each round resolving one.
        let many = "HTTP:+.\\\\am.p\\..amp\\TTP:+.\\\\am.p\\..amp\\\\...amp\\..amp\\..amp\\\\..a\\...amp\\..amp\\..amp\\\\..amp\u{0}";
        let once = c(many);
        assert_eq!(c(&once), once, "{many}");
        assert_eq!(c("http://example.com:80/"), "http://example.com/");
        assert_eq!(c("http://example.com:8080/a/"), "http://example.com:8080/a");
    }

    #[test]
    fn amp_variants_fold() {
        assert_eq!(c("https://amp.example.com/x/y"), "https://example.com/x/y");
        assert_eq!(
            c("https://example.com/x/y.amp.html"),
            "https://example.com/x/y.html"
        );
        assert_eq!(
            c("https://example.com/x/y?outputType=amp"),
            "https://example.com/x/y"
        );
        assert_eq!(
            c("https://example.com/x/y?amp=1"),
            "https://example.com/x/y"
        );
        assert_eq!(c("https://example.com/x/y?amp"), "https://example.com/x/y");
        // A path that merely starts with "amp" is not an AMP variant.
        assert_eq!(
            c("https://example.com/amplifier"),
            "https://example.com/amplifier"
        );
        assert_eq!(c("https://example.com/amp"), "https://example.com/amp");
    }

    #[test]
    fn declared_canonical() {
        let page = Url::parse("https://www.example.com/a/b/amp/").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            check_declared(&page, "/a/b/").map(|u| u.to_string()),
            Ok("https://www.example.com/a/b".to_string())
        );
        assert_eq!(
            check_declared(&page, "https://example.com/a/b").map(|u| u.to_string()),
            Ok("https://example.com/a/b".to_string())
        );
        assert_eq!(
            check_declared(&page, "https://other.org/a/b"),
            Err(DeclaredRejected::OtherSite)
        );
        assert_eq!(
            check_declared(&page, "https://www.example.com/"),
            Err(DeclaredRejected::SiteRoot)
        );
        assert_eq!(
            check_declared(&page, "javascript:void(0)"),
            Err(DeclaredRejected::Scheme)
        );
        assert_eq!(
            prefer_declared(&page, Some("https://evil.test/")).to_string(),
            "https://www.example.com/a/b"
        );
        assert_eq!(site_key("news.bbc.co.uk"), "bbc.co.uk");
        assert_eq!(site_key("localhost"), "localhost");
    }
}
