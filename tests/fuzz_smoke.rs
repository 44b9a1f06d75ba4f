//! Fuzz smoke: every input of the cargo-fuzz corpora (`tests/fuzz/corpus/<target>/`, grown by the
//! fuzz runs, crashes found there fixed and kept) run once through what each fuzz target calls,
//! as an ordinary test: a regression found by fuzzing stays found.

use std::path::Path;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(target);
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.expect("entry").path();
            (p.display().to_string(), std::fs::read(&p).expect("read"))
        })
        .collect();
    v.sort();
    assert!(!v.is_empty(), "empty corpus {}", dir.display());
    v
}

#[test]
fn parse_feed_corpus() {
    let base = url::Url::parse("http://example.org/feed.xml").ok();
    let mut parsed = 0;
    for (name, data) in corpus("parse_feed") {
        // Same split as the fuzz target: the first byte picks a content type.
        let (ctype, body) = match data.split_first() {
            Some((b, rest)) => (
                match b % 4 {
                    0 => None,
                    1 => Some("application/rss+xml; charset=iso-8859-1"),
                    2 => Some("application/feed+json"),
                    _ => Some("text/xml; charset=utf-8"),
                },
                rest,
            ),
            None => (None, &data[..]),
        };
        let r = std::panic::catch_unwind(|| {
            let ok = wirewatch::parse::parse_feed(body, ctype, base.as_ref()).is_ok();
            if let Ok(text) = std::str::from_utf8(body) {
                let _ = wirewatch::parse::lenient::repair(text);
                let _ = wirewatch::parse::lenient::compat(text);
            }
            ok
        });
        match r {
            Ok(ok) => parsed += usize::from(ok),
            Err(_) => panic!("parse_feed panicked on {name}"),
        }
    }
    eprintln!("parse_feed corpus: {parsed} parsed");
}

#[test]
fn extract_page_corpus() {
    let extractor = wirewatch::extract::Extractor::new(&[]).expect("extractor");
    let url = url::Url::parse("http://example.org/news/2026/article").ok();
    for (name, data) in corpus("extract_page") {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            extractor.extract_page(&data, Some("text/html"), url.as_ref())
        }));
        assert!(r.is_ok(), "extract_page panicked on {name}");
    }
}

#[test]
fn canonicalize_corpus() {
    for (name, data) in corpus("canonicalize") {
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        let Ok(u) = url::Url::parse(text) else {
            continue;
        };
        let once = wirewatch::dedup::url::canonicalize(&u);
        let twice = wirewatch::dedup::url::canonicalize(&once);
        assert_eq!(once, twice, "not idempotent on {name}: {text:?}");
    }
}
