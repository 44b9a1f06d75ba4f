//! Extraction tests: the scenario's labelled bodies, each boilerplate class, the seeds, site
//! rules, templates and bad input on the repo's own data; the extraction-dev quality floor on
//! the third-party corpus where it is present (`tests/common/data.rs`).

#[path = "common/data.rs"]
mod data;

use std::collections::HashMap;
use std::io::Read;

use serde_json::Value;
use wirewatch::extract::{Article, Extractor, SiteRule};

const BASE: &str = "http://127.0.0.1:8391";

/// A scenario page as the server would send it.
fn scenario_page(rel: &str) -> String {
    let raw = std::fs::read_to_string(data::scenario_dir().join("dev").join(rel)).expect("page");
    raw.replace("{{BASE_ENC}}", "http%3A%2F%2F127.0.0.1%3A8391")
        .replace("{{BASE}}", BASE)
}

fn scenario() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(data::scenario_dir().join("dev/scenario.json")).expect("scenario"),
    )
    .expect("json")
}

fn labels() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(data::scenario_dir().join("dev/labels.json")).expect("labels"),
    )
    .expect("json")
}

/// path -> page file of the scenario's items
fn pages_by_path() -> HashMap<String, String> {
    scenario()["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| {
            Some((
                i["path"].as_str()?.to_string(),
                i["page"].as_str()?.to_string(),
            ))
        })
        .collect()
}

fn extract_scenario(ex: &Extractor, path: &str) -> Article {
    let page = pages_by_path()[path].clone();
    let url = url::Url::parse(&format!("{BASE}{path}")).expect("url");
    ex.extract_page(
        scenario_page(&page).as_bytes(),
        Some("text/html; charset=utf-8"),
        Some(&url),
    )
}

/// The benchmark's metric: `\w+` tokens, 4-token shingles, multiset overlap.
fn shingles(s: &str) -> HashMap<Vec<String>, usize> {
    let toks: Vec<String> = s
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let mut m = HashMap::new();
    if toks.is_empty() {
        return m;
    }
    let n = toks.len().saturating_sub(3).max(1);
    for i in 0..n {
        *m.entry(toks[i..(i + 4).min(toks.len())].to_vec())
            .or_insert(0) += 1;
    }
    m
}

/// (precision, recall) of `pred` against `truth`; precision None for an empty prediction.
fn pr(truth: &str, pred: &str) -> (Option<f64>, f64) {
    let (t, p) = (shingles(truth), shingles(pred));
    let tp: usize = p
        .iter()
        .map(|(k, n)| (*n).min(*t.get(k).unwrap_or(&0)))
        .sum();
    let np: usize = p.values().sum();
    let nt: usize = t.values().sum();
    let prec = (np > 0).then(|| tp as f64 / np as f64);
    let rec = if nt > 0 { tp as f64 / nt as f64 } else { 1.0 };
    (prec, rec)
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

#[test]
fn extraction_dev_quality_floor() {
    let Some(dir) = data::third_party("corpus/extraction-dev", "extraction_dev_quality_floor")
    else {
        return;
    };
    let gt: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("ground-truth.json")).expect("ground truth"),
    )
    .expect("json");
    let ex = Extractor::new(&[]).expect("extractor");
    let (mut ps, mut rs, mut empty) = (Vec::new(), Vec::new(), 0);
    for (id, v) in gt.as_object().expect("object") {
        let f = std::fs::File::open(dir.join("html").join(format!("{id}.html.gz"))).expect("page");
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(f)
            .read_to_end(&mut raw)
            .expect("gunzip");
        let a = ex.extract_page(&raw, Some("text/html"), None);
        if a.text.is_empty() {
            empty += 1;
        }
        let (p, r) = pr(v["articleBody"].as_str().unwrap_or(""), &a.text);
        if let Some(p) = p {
            ps.push(p);
        }
        rs.push(r);
    }
    let mp = ps.iter().sum::<f64>() / ps.len() as f64;
    let mr = rs.iter().sum::<f64>() / rs.len() as f64;
    let score = f1(mp, mr);
    eprintln!("extraction-dev: F1 {score:.3} P {mp:.3} R {mr:.3} empty {empty}");
    assert_eq!(rs.len(), 85);
    assert_eq!(empty, 0, "pages with no output");
    // measured 0.975 with the corpus score.py; the floor leaves room for tokenizer differences
    assert!(score >= 0.965, "F1 {score:.3} below the floor");
}

#[test]
fn scenario_bodies_match_labels() {
    let labels = labels();
    let pages = pages_by_path();
    let ex = Extractor::new(&[]).expect("extractor");
    // publication order, so templates are learned as the daemon would learn them
    let mut items: Vec<Value> = scenario()["items"].as_array().expect("items").clone();
    items.sort_by_key(|i| i["round"].as_u64().unwrap_or(0));
    let mut got = HashMap::new();
    for it in &items {
        let path = it["path"].as_str().expect("path");
        if pages.contains_key(path) {
            got.insert(path.to_string(), extract_scenario(&ex, path));
        }
    }
    let mut f1s = Vec::new();
    for (path, v) in labels["items"].as_object().expect("items") {
        let Some(body) = v.get("body").and_then(Value::as_str) else {
            continue;
        };
        let a = &got[path];
        let (p, r) = pr(body, &a.text);
        let f = f1(p.unwrap_or(0.0), r);
        assert!(f >= 0.95, "{path}: F1 {f:.3}\n{}", a.text);
        f1s.push(f);
    }
    assert_eq!(f1s.len(), 20);
    let mean = f1s.iter().sum::<f64>() / f1s.len() as f64;
    eprintln!("scenario bodies: mean F1 {mean:.3}");
    assert!(mean >= 0.98, "mean F1 {mean:.3}");
}

/// Boilerplate that must not survive, per template class, on real scenario pages.
#[test]
fn boilerplate_classes_are_removed() {
    let ex = Extractor::new(&[]).expect("extractor");
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "/nextfin/news/microsoft-weighs-legal-action-as-openai-s-50-billion-amazon-deal-shatters-azure-exclusivity-20260320c7d2",
            &["Summarized by NextFin AI", "Explore more exclusive insights", "Insights", "What are the origins",
              "Open App", "No Noise, only Signal", "We use cookies", "Markets"],
            "not just legacy contracts.",
        ),
        (
            "/ainewshub/articles/microsoft-weighs-legal-action-over-amazon-openai-ai-cloud-deal",
            &["generated with AI assistance", "Word count", "Reading time", "Trending Now", "Share this article",
              "Stay Updated", "Next Article", "About this article", "Last updated", "AI Tools for this Article",
              "This analysis is based on reporting", "Image courtesy", "Senior AI Reporter"],
            "is likely to intensify.",
        ),
        (
            "/streetsignals/news/2026/03/20/analysts-trim-azure-growth-estimates-openai-amazon-rift",
            &["Key Points", "Should You Invest", "Further Reading", "written with help from automated tools",
              "Add to watchlist", "Get daily stock ideas", "Written by"],
            "OpenAI-related Azure consumption.",
        ),
        (
            "/cloudledger/2026/03/24/microsoft-sends-openai-formal-breach-notice-aws-frontier/",
            &["Read next", "Newsletter", "newsletter", "Comments", "Related:", "Advertisement"],
            "after which the dispute could harden.",
        ),
        (
            "/pacifictech/2026/03/27/openai-microsoft-frontier-rebuttal/",
            &["Share this:", "Like this:", "Leave a Reply", "Related"],
            "arbitration is on the table.",
        ),
        (
            "/pacifictech/2026/03/24/is-the-microsoft-openai-alliance-breaking-up-over-amazon/",
            &["first published by NextFin", "republished", "Share this:", "Like this:"],
            "",
        ),
        (
            "/courier/business/tech/microsoft-weighs-legal-action-against-openai-over-amazon-cloud-deal-2.4471",
            &["Reader comments", "MOST READ", "Copyright", "Photo:", "Print this story", "This site uses cookies"],
            "for years to come.",
        ),
    ];
    for (path, banned, ending) in cases {
        let a = extract_scenario(&ex, path);
        for b in *banned {
            assert!(!a.text.contains(b), "{path}: {b:?} survived:\n{}", a.text);
        }
        assert!(
            a.text.ends_with(ending),
            "{path}: ends with {:?}",
            &a.text[a.text.len().saturating_sub(80)..]
        );
    }
    // "Key Points" sentences repeat the body: each appears once
    let a = extract_scenario(
        &ex,
        "/streetsignals/news/2026/03/20/analysts-trim-azure-growth-estimates-openai-amazon-rift",
    );
    assert_eq!(a.text.matches("Shares of Microsoft Corporation").count(), 1);
}

#[test]
fn paywalled_page_uses_jsonld_article_body() {
    let ex = Extractor::new(&[]).expect("extractor");
    let a = extract_scenario(
        &ex,
        "/bytewire/news/2026/03/20/inside-contract-fight-microsoft-openai-aws-frontier",
    );
    assert!(
        a.text
            .ends_with("written across the industry for years to come."),
        "{}",
        a.text
    );
    assert!(!a.text.contains("Keep reading with Bytewire Pro"));
    assert_eq!(a.byline.as_deref(), Some("Bytewire Staff"));
    assert_eq!(a.published.as_deref(), Some("2026-03-20T06:15:00-07:00"));
    assert_eq!(
        a.title.as_deref(),
        Some("Inside the contract fight: Microsoft, OpenAI and the $50 billion AWS Frontier deal")
    );
}

#[test]
fn metadata_and_canonical_url() {
    let ex = Extractor::new(&[]).expect("extractor");
    let path = "/nextfin/news/microsoft-weighs-legal-action-as-openai-s-50-billion-amazon-deal-shatters-azure-exclusivity-20260320c7d2";
    let a = extract_scenario(&ex, path);
    assert_eq!(
        a.canonical_url.as_deref(),
        Some(format!("{BASE}{path}").as_str())
    );
    assert_eq!(a.published.as_deref(), Some("2026-03-20T19:40:00+08:00"));
    assert!(a
        .title
        .as_deref()
        .is_some_and(|t| t.starts_with("Microsoft Weighs Legal Action")));
    assert!(a.empty_reason.is_none());
}

/// Each seed, cleaned as plain text, ends where the article ends.
#[test]
fn seeds_end_where_the_article_ends() {
    let ex = Extractor::new(&[]).expect("extractor");
    let cases = [
        (
            "000_d929c50f744e18c3.txt",
            "who controls the foundation of the AI economy going forward.",
            "Microsoft threatens legal action over OpenAI",
        ),
        (
            "001_54cf897ef9e1085e.txt",
            "serving as the unlikely battlefield.",
            "Microsoft Threatens Legal Action as OpenAI",
        ),
        (
            "002_8d39e1cc79b33c8f.txt",
            "not just legacy contracts.",
            "Microsoft Weighs Legal Action as OpenAI",
        ),
        (
            "003_e41efc73a98973db.txt",
            "written across the industry for years to come.",
            "",
        ),
        (
            "004_84651d1955d59a4a.txt",
            "competition among cloud providers for AI workloads is likely to intensify.",
            "Microsoft Weighs Legal Action Over Amazon",
        ),
    ];
    for (file, ending, title) in cases {
        let raw = std::fs::read_to_string(data::seeds_dir().join(file)).expect("seed");
        let a = ex.clean_plain_text(&raw, None);
        assert!(
            a.text.ends_with(ending),
            "{file} ends with {:?}",
            &a.text[a.text.len().saturating_sub(120)..]
        );
        if title.is_empty() {
            // starts with a "TL;DR" list, no headline line: nothing is taken as the title
            assert_eq!(a.title, None, "{file}");
            assert!(a.text.starts_with("TL;DR"), "{file}");
        } else {
            assert!(
                a.title.as_deref().is_some_and(|t| t.starts_with(title)),
                "{file}: title {:?}",
                a.title
            );
        }
        for b in [
            "Summarized by NextFin AI",
            "Insights",
            "Open App",
            "Word count",
            "Trending Now",
            "Share this article",
            "Explore more exclusive",
        ] {
            assert!(!a.text.contains(b), "{file}: {b:?} survived");
        }
    }
    // the byline block of the AI-News-Hub copy goes, the body's first sentence stays
    let raw =
        std::fs::read_to_string(data::seeds_dir().join("004_84651d1955d59a4a.txt")).expect("seed");
    let a = ex.clean_plain_text(&raw, None);
    assert!(
        a.text
            .starts_with("Microsoft is weighing legal action against Amazon and OpenAI"),
        "{}",
        &a.text[..200]
    );
}

#[test]
fn site_rules_compile_and_apply() {
    let bad = Extractor::new(&[SiteRule {
        host: "nextfin.ai".into(),
        drop: vec!["div[".into()],
        cut_after: vec![],
    }]);
    let msg = bad.expect_err("bad selector").to_string();
    assert!(msg.contains("div["), "{msg}");
    let bad = Extractor::new(&[SiteRule {
        host: "nextfin.ai".into(),
        drop: vec![],
        cut_after: vec!["^(Insights".into()],
    }]);
    let msg = bad.expect_err("bad regex").to_string();
    assert!(msg.contains("^(Insights"), "{msg}");

    // real page, rules for its host: drop the first paragraph by selector, cut at a line
    let ex = Extractor::new(&[SiteRule {
        host: "127.0.0.1".into(),
        drop: vec!["#article-content p:first-child".into()],
        cut_after: vec!["^Market reaction".into()],
    }])
    .expect("rules");
    let path = "/nextfin/news/microsoft-weighs-legal-action-as-openai-s-50-billion-amazon-deal-shatters-azure-exclusivity-20260320c7d2";
    let a = extract_scenario(&ex, path);
    assert!(
        !a.text.contains("NextFin News - Microsoft is weighing"),
        "{}",
        a.text
    );
    assert!(!a.text.contains("Market reaction has been swift"));
    assert!(a.text.ends_with("told \"no.\""), "{}", a.text);
    // the seeds' plain text uses the same cut_after rules
    let ex = Extractor::new(&[SiteRule {
        host: "nextfin.ai".into(),
        drop: vec![],
        cut_after: vec!["^The broader industry".into()],
    }])
    .expect("rules");
    let raw =
        std::fs::read_to_string(data::seeds_dir().join("001_54cf897ef9e1085e.txt")).expect("seed");
    let a = ex.clean_plain_text(&raw, Some("www.nextfin.ai"));
    assert!(
        a.text.ends_with("opening a second shop across the street."),
        "{}",
        a.text
    );
}

#[test]
fn templates_are_learned_and_persisted() {
    let ex = Extractor::new(&[]).expect("extractor");
    let paths: Vec<String> = labels()["items"]
        .as_object()
        .expect("items")
        .keys()
        .filter(|p| p.starts_with("/courier/"))
        .cloned()
        .collect();
    assert!(paths.len() >= 3);
    for p in &paths {
        extract_scenario(&ex, p);
    }
    let state = ex.templates_state();
    let site = &state["sites"]["127.0.0.1"];
    assert!(site["pages"].as_u64().unwrap_or(0) >= 3, "{site}");
    let blocks = site["blocks"].as_object().expect("blocks");
    assert!(
        blocks.values().any(|n| n.as_u64().unwrap_or(0) >= 3),
        "no repeated block learned"
    );

    // a fresh extractor loaded with the state gives the same article as the one that learned
    let fresh = Extractor::new(&[]).expect("extractor");
    assert_eq!(fresh.load_templates_state(&state).expect("load"), 1);
    assert_eq!(fresh.templates_state(), state);
    let last = paths.last().expect("path");
    let before = ex.templates_state();
    let a1 = extract_scenario(&ex, last);
    let a2 = extract_scenario(&fresh, last);
    assert_eq!(a1, a2);
    // the same article again is not counted as a new page of the site
    assert_eq!(
        ex.templates_state()["sites"]["127.0.0.1"]["pages"],
        before["sites"]["127.0.0.1"]["pages"]
    );
    assert!(fresh
        .load_templates_state(&serde_json::json!({"x": 1}))
        .is_err());
}

/// Learned templates remove what a site repeats on every page where no other rule applies.
/// Here a line of the site's own (no wording any rule knows) is put inside the story body of
/// four real courier pages, as a site without telltale markup would have it: a fresh extractor
/// keeps it, one that has seen three of the pages drops it from the fourth, and the article
/// stays whole. (The courier's cookie notice, moved there the same way, goes anyway: a rule
/// knows cookie notices in several languages.)
#[test]
fn learned_templates_remove_site_furniture() {
    let pages = pages_by_path();
    let notice = "The Courier is owned by the Puget Sound Readers Trust, independent since 1921.";
    let with_notice = |path: &str| {
        let page = scenario_page(&pages[path]);
        page.replacen(
            r#"<div id="storytext" class="storytext">"#,
            &format!(r#"<div id="storytext" class="storytext"><p>{notice}</p>"#),
            1,
        )
    };
    let extract = |ex: &Extractor, path: &str| {
        let url = url::Url::parse(&format!("{BASE}{path}")).expect("url");
        ex.extract_page(with_notice(path).as_bytes(), None, Some(&url))
    };
    let seen = [
        "/courier/business/amazon-to-cut-4000-corporate-jobs-in-devices-and-retail-2.4466",
        "/courier/business/tech/microsoft-weighs-legal-action-against-openai-over-amazon-cloud-deal-2.4471",
        "/courier/business/tech/wall-street-sours-on-azure-outlook-amid-openai-fight-2.4502",
    ];
    let last = "/courier/sports/kraken-rally-past-canucks-in-overtime-2.4541";
    let fresh = Extractor::new(&[]).expect("extractor");
    let before = extract(&fresh, last);
    assert!(before.text.starts_with(notice), "{}", before.text);
    let ex = Extractor::new(&[]).expect("extractor");
    for p in seen {
        extract(&ex, p);
    }
    let after = extract(&ex, last);
    assert!(!after.text.contains(notice), "{}", after.text);
    assert!(
        after.text.starts_with("SEATTLE — Jared McCann scored"),
        "{}",
        after.text
    );
    assert_eq!(
        after.text,
        before.text.replacen(&format!("{notice}\n\n"), "", 1)
    );

    // The cookie notice, in the body the same way, goes on a first page already.
    let cookies = "This site uses cookies. By continuing to browse the site you are agreeing to our use of cookies.";
    let page = scenario_page(&pages[last]);
    assert!(page.contains(cookies));
    let page = page.replacen(
        r#"<div id="storytext" class="storytext">"#,
        &format!(r#"<div id="storytext" class="storytext"><p>{cookies}</p>"#),
        1,
    );
    let url = url::Url::parse(&format!("{BASE}{last}")).expect("url");
    let a = Extractor::new(&[])
        .expect("extractor")
        .extract_page(page.as_bytes(), None, Some(&url));
    assert!(
        a.text.starts_with("SEATTLE — Jared McCann scored"),
        "{}",
        a.text
    );
}

#[test]
fn feed_fragments_are_cleaned() {
    let scen = scenario();
    let ex = Extractor::new(&[]).expect("extractor");
    let labels = labels();
    let mut checked = 0;
    for it in scen["items"].as_array().expect("items") {
        for l in it["listings"].as_array().into_iter().flatten() {
            let Some(html) = l["content_html"].as_str() else {
                continue;
            };
            let html = html.replace("{{BASE}}", BASE);
            let a = ex.extract_fragment(&html, None);
            assert!(!a.text.is_empty(), "{}: {:?}", it["path"], a.empty_reason);
            for b in ["Share this:", "Like this:", "appeared first on"] {
                assert!(!a.text.contains(b), "{}: {b:?} survived", it["path"]);
            }
            if let Some(body) = it["path"]
                .as_str()
                .and_then(|p| labels["items"][p]["body"].as_str())
            {
                let (p, r) = pr(body, &a.text);
                assert!(f1(p.unwrap_or(0.0), r) >= 0.9, "{}: {}", it["path"], a.text);
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "no content_html in the scenario");
}

#[test]
fn bad_input_gives_a_reason() {
    let ex = Extractor::new(&[]).expect("extractor");
    let reason = |a: Article| {
        assert!(a.text.is_empty(), "{}", a.text);
        a.empty_reason.expect("reason")
    };
    assert!(reason(ex.extract_page(b"", None, None)).contains("empty"));
    assert!(reason(ex.extract_page(b"  \n\t ", Some("text/html"), None)).contains("empty"));
    // binary: a gzip-compressed page served as HTML
    let gz = {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(scenario_page("pages/courier/31bdb1-amazon-to-cut-4-000-corporate-jobs-in-devices-and-retail.html").as_bytes())
            .expect("gzip");
        enc.finish().expect("gzip")
    };
    assert!(reason(ex.extract_page(&gz, Some("text/html"), None)).contains("binary"));
    // non-HTML: JSON
    let json = std::fs::read(data::scenario_dir().join("dev/labels.json")).expect("json");
    assert!(reason(ex.extract_page(&json, Some("application/json"), None)).contains("not HTML"));
    // a seed served as text/plain is not HTML either
    let txt = std::fs::read(data::seeds_dir().join("000_d929c50f744e18c3.txt")).expect("seed");
    assert!(reason(ex.extract_page(&txt, Some("text/plain"), None)).contains("not HTML"));
    // 50 MB: a real page repeated
    let page = scenario_page(
        "pages/courier/31bdb1-amazon-to-cut-4-000-corporate-jobs-in-devices-and-retail.html",
    );
    let big = page.as_bytes().repeat(50 * 1024 * 1024 / page.len() + 1);
    assert!(reason(ex.extract_page(&big, Some("text/html"), None)).contains("too large"));
    // deeply nested markup around a real page's body: bounded, no panic
    let deep = format!("{}{}", "<div><span>".repeat(100_000), page);
    let a = ex.extract_page(deep.as_bytes(), Some("text/html"), None);
    assert!(a.text.is_empty() == a.empty_reason.is_some());
    let nested = format!(
        "<html><body>{}<p>{}</p>",
        "<div>".repeat(3000),
        "Deep text, with words. ".repeat(20)
    );
    let a = ex.extract_page(nested.as_bytes(), None, None);
    assert!(a.text.is_empty() == a.empty_reason.is_some());
    // broken markup: a real page cut in the middle of a tag
    let cut = &page[..page.len() / 2];
    let cut = &cut[..cut.rfind('<').unwrap_or(cut.len()) + 3];
    let a = ex.extract_page(cut.as_bytes(), None, None);
    assert!(a.text.contains("4,000") || a.empty_reason.is_some());
}

#[test]
fn wrong_charset_declarations_are_overruled() {
    let ex = Extractor::new(&[]).expect("extractor");
    let path = "/courier/business/tech/microsoft-weighs-legal-action-against-openai-over-amazon-cloud-deal-2.4471";
    let good = extract_scenario(&ex, path);
    assert!(good.text.contains("OpenAI’s Frontier"));
    let page = scenario_page(&pages_by_path()[path]);
    let url = url::Url::parse(&format!("{BASE}{path}")).expect("url");
    // UTF-8 bytes declared as ISO-8859-1 by the server
    let a = ex.extract_page(
        page.as_bytes(),
        Some("text/html; charset=iso-8859-1"),
        Some(&url),
    );
    assert_eq!(a.text, good.text);
    // windows-1252 bytes declared as UTF-8 in the page
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&page);
    let a = ex.extract_page(&bytes, Some("text/html; charset=utf-8"), Some(&url));
    assert_eq!(a.text, good.text);
}

#[test]
fn extractor_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Extractor>();
    let ex = std::sync::Arc::new(Extractor::new(&[]).expect("extractor"));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let ex = ex.clone();
            std::thread::spawn(move || {
                ex.extract_page(
                    scenario_page("pages/courier/31bdb1-amazon-to-cut-4-000-corporate-jobs-in-devices-and-retail.html").as_bytes(),
                    None,
                    url::Url::parse(&format!("{BASE}/courier/x")).ok().as_ref(),
                )
            })
        })
        .collect();
    for h in handles {
        let a = h.join().expect("thread");
        assert!(a.text.starts_with("SEATTLE"), "{}", a.text);
    }
}

/// The `wirewatch extract` command on real pages: text, and `--json` with the documented keys.
#[test]
fn extract_cli_prints_clean_text_and_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[topic]\nname = \"t\"\n").expect("config");
    let page = data::scenario_dir().join("dev/pages/ainewshub/6ab1ee-microsoft-weighs-legal-action-over-amazon-openai-ai-cloud-de.html");
    let bin = env!("CARGO_BIN_EXE_wirewatch");
    let out = std::process::Command::new(bin)
        .args([
            "extract",
            "--json",
            "--url",
            "https://ainewshub.example/articles/x",
            "-c",
        ])
        .arg(&cfg)
        .arg(&page)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for k in ["input", "url", "title", "byline", "published", "text"] {
        assert!(v.get(k).is_some(), "key {k} in {v}");
    }
    let text = v["text"].as_str().expect("text");
    assert!(text.contains("Microsoft"), "{text}");
    for boiler in [
        "Word count",
        "Reading time",
        "Share this article",
        "Trending Now",
    ] {
        assert!(!text.contains(boiler), "{boiler:?} left in: {text}");
    }
    // A missing file is a clear error and a non-zero exit when nothing could be read.
    let out = std::process::Command::new(bin)
        .args(["extract", "-c"])
        .arg(&cfg)
        .arg(dir.path().join("nope.html"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.html"));
}
