//! Extraction benchmark: wirewatch's extractor against dom_smoothie (readability.js in Rust)
//! over the same pages, in one run, on one thread.
//!
//! Pages: the third-party corpus `corpus/extraction-dev/html/*.html.gz` (see `corpus.rs`),
//! decompressed up front (start-up excluded). Writes predictions as `{id: {"articleBody": text}}` to
//! `$BENCH_OUT/wirewatch.json` and `$BENCH_OUT/dom_smoothie.json` (default
//! `target/bench-out`) for the corpus's `score.py`, and prints pages/s for both and the ratio.
//! `BENCH_ROUNDS` sets the timed passes (default 5).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use wirewatch::extract::Extractor;

#[path = "corpus.rs"]
mod corpus;

fn load_pages(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut pages = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".html.gz"))
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let id = name.trim_end_matches(".html.gz").to_string();
        let f = std::fs::File::open(&p).expect("open page");
        let mut gz = flate2::read::GzDecoder::new(f);
        let mut buf = Vec::new();
        gz.read_to_end(&mut buf).expect("gunzip page");
        pages.push((id, buf));
    }
    pages
}

fn ours(ex: &Extractor, body: &[u8]) -> String {
    ex.extract_page(body, Some("text/html"), None).text
}

fn peer(body: &[u8]) -> String {
    let html = String::from_utf8_lossy(body);
    let cfg = dom_smoothie::Config {
        text_mode: dom_smoothie::TextMode::Formatted,
        ..Default::default()
    };
    match dom_smoothie::Readability::new(html.as_ref(), None, Some(cfg)) {
        Ok(mut r) => match r.parse() {
            Ok(a) => a.text_content.to_string(),
            Err(_) => String::new(),
        },
        Err(_) => String::new(),
    }
}

fn write_preds(path: &std::path::Path, preds: &BTreeMap<String, String>) {
    let obj: BTreeMap<&String, serde_json::Value> = preds
        .iter()
        .map(|(k, v)| (k, serde_json::json!({ "articleBody": v })))
        .collect();
    let s = serde_json::to_string_pretty(&obj).expect("serialize predictions");
    std::fs::write(path, s).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn main() {
    let dir = corpus::third_party("corpus/extraction-dev/html", "extraction");
    let pages = load_pages(&dir);
    assert!(!pages.is_empty(), "no pages found under {}", dir.display());
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let out = std::env::var("BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-out"));
    std::fs::create_dir_all(&out).expect("create output dir");
    let bytes: usize = pages.iter().map(|(_, b)| b.len()).sum();
    println!(
        "{} pages, {:.1} MB, {rounds} timed rounds each, one thread",
        pages.len(),
        bytes as f64 / 1e6
    );

    // Predictions (also the warm-up pass). A fresh extractor per timed round so learned
    // templates do not differ between rounds (the dev pages are all from different sites).
    let ex = Extractor::new(&[]).expect("extractor");
    let ours_preds: BTreeMap<String, String> = pages
        .iter()
        .map(|(id, b)| (id.clone(), ours(&ex, b)))
        .collect();
    let peer_preds: BTreeMap<String, String> =
        pages.iter().map(|(id, b)| (id.clone(), peer(b))).collect();
    write_preds(&out.join("wirewatch.json"), &ours_preds);
    write_preds(&out.join("dom_smoothie.json"), &peer_preds);

    // Timed rounds, interleaved (ours, peer, parse, ours, ...) so that load from other
    // processes on a shared machine hits all three alike. Reported: pages/s over all rounds
    // and over each system's best round.
    let mut sink = 0usize;
    // BENCH_ONLY=ours|peer|parse times one system only (for profiling)
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only == name;
    let mut times: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..rounds {
        if run("ours") {
            let t = Instant::now();
            let ex = Extractor::new(&[]).expect("extractor");
            for (_, b) in &pages {
                sink += ours(&ex, std::hint::black_box(b)).len();
            }
            times[0].push(t.elapsed().as_secs_f64());
        }
        if run("peer") {
            let t = Instant::now();
            for (_, b) in &pages {
                sink += peer(std::hint::black_box(b)).len();
            }
            times[1].push(t.elapsed().as_secs_f64());
        }
        if run("parse") {
            // bare parse + all text: the floor any scraper-based extractor starts from
            let t = Instant::now();
            for (_, b) in &pages {
                let doc = scraper::Html::parse_document(&String::from_utf8_lossy(b));
                sink += doc.root_element().text().map(str::len).sum::<usize>();
            }
            times[2].push(t.elapsed().as_secs_f64());
        }
    }
    std::hint::black_box(sink);
    let n = pages.len() as f64;
    let rate = |ts: &[f64]| {
        if ts.is_empty() {
            return (0.0, 0.0);
        }
        let total: f64 = ts.iter().sum();
        let best = ts.iter().copied().fold(f64::INFINITY, f64::min);
        (n * ts.len() as f64 / total, n / best)
    };
    let names = [
        "wirewatch",
        "dom_smoothie",
        "scraper parse+text (no extraction)",
    ];
    let mut all = [0.0; 3];
    let mut best = [0.0; 3];
    for (k, ts) in times.iter().enumerate() {
        let (a, b) = rate(ts);
        all[k] = a;
        best[k] = b;
        if !ts.is_empty() {
            println!(
                "{:<36} {a:8.1} pages/s (all rounds)  {b:8.1} pages/s (best round)",
                names[k]
            );
        }
    }
    if all[0] > 0.0 && all[1] > 0.0 {
        println!(
            "ratio wirewatch/dom_smoothie: {:.2} (all rounds), {:.2} (best rounds)",
            all[0] / all[1],
            best[0] / best[1]
        );
    }
    if all[0] > 0.0 && all[2] > 0.0 {
        println!(
            "ratio wirewatch/bare parse: {:.2} (all rounds), {:.2} (best rounds)",
            all[0] / all[2],
            best[0] / best[2]
        );
    }
    println!("predictions: {}", out.display());
}
