//! URL canonicalisation on the dev scenario's URLs: tracking variants, the AMP copy of the
//! Cloud Ledger article, and query-style identity parameters.

use crate::common;

use url::Url;
use wirewatch::dedup::url::{canonicalize, prefer_declared};

fn canon(s: &str) -> String {
    let u = Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    canonicalize(&u).to_string()
}

/// The label key of a canonical URL, as score.py compares them (path + query, trailing
/// slash tolerated).
fn key(s: &str) -> String {
    let u = Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    let mut k = u.path().trim_end_matches('/').to_string();
    if let Some(q) = u.query() {
        k.push('?');
        k.push_str(q);
    }
    k
}

#[test]
fn tracking_variants_of_every_labelled_url_collapse() {
    let labels = common::labels();
    let items = labels["items"]
        .as_object()
        .unwrap_or_else(|| panic!("labels.items"));
    let base = "http://127.0.0.1:8391";
    for (path, rec) in items {
        let plain = format!("{base}{path}");
        let c = canon(&plain);
        let variants = [
            format!("{plain}?utm_source=rss&utm_medium=feed&utm_campaign=ss_latest"),
            format!("{plain}?fbclid=IwAR0abc&gclid=xyz#comments"),
            format!("HTTP://127.0.0.1:8391{path}?mc_cid=1&mc_eid=2&igshid=3&ref_src=twsrc"),
        ];
        for v in &variants {
            assert_eq!(canon(v), c, "{v}");
        }
        let expect = match rec["amp_of"].as_str() {
            Some(of) => of.trim_end_matches('/').to_string(),
            None => path.trim_end_matches('/').to_string(),
        };
        assert_eq!(key(&c), expect, "{path}");
    }
}

#[test]
fn cloudledger_amp_page_is_its_article() {
    let a = "http://localhost:8391/cloudledger/2026/03/19/microsoft-mulls-lawsuit-openai-aws-frontier-deal/amp/";
    let b = "http://localhost:8391/cloudledger/2026/03/19/microsoft-mulls-lawsuit-openai-aws-frontier-deal/";
    assert_eq!(canon(a), canon(b));
    assert_eq!(canon(&format!("{b}?outputType=amp")), canon(b));
    assert_eq!(canon(&format!("{b}?amp=1&utm_source=x")), canon(b));
    // The AMP page's declared canonical (relative or absolute) is accepted.
    let page = Url::parse(a).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(prefer_declared(&page, Some(b)).to_string(), canon(b));
}

#[test]
fn query_style_identity_is_kept() {
    let a = canon("https://News.Example.com:443/news/story.aspx?id=4471&utm_source=rss&fbclid=1");
    assert_eq!(a, "https://news.example.com/news/story.aspx?id=4471");
    assert_ne!(a, canon("https://news.example.com/news/story.aspx?id=4472"));
    assert_eq!(
        canon("https://x.test/story.aspx?section=tech&id=9&utm_medium=feed"),
        canon("https://x.test/story.aspx?id=9&section=tech")
    );
    // Parameters are sorted; repeated keys keep all values.
    assert_eq!(
        canon("https://x.test/a?b=2&a=1&a=0"),
        "https://x.test/a?a=0&a=1&b=2"
    );
}
