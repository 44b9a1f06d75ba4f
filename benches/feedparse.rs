//! Feed parsing throughput, one thread: `wirewatch::parse::parse_feed` over every file of the
//! shared real-world feed corpus (`corpus/feeds`, third-party: see `corpus.rs`), repeated until at least
//! `WW_BENCH_SECS` seconds (default 5) have passed, reported as MB/s and files/s.
//!
//! The peer (Python feedparser over the same files, same repetition rule) is
//! `benches/feedparse.py`; `benches/run.sh` runs both and prints the ratio. The file list is
//! sorted so both walk the same bytes in the same order.
//!
//! Run: `cargo bench --bench feedparse` (prints one `key=value` line).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[path = "corpus.rs"]
mod corpus;

fn main() {
    let root = corpus::third_party("corpus/feeds", "feedparse");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let bodies: Vec<Vec<u8>> = files.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    assert!(!bodies.is_empty(), "no feed files under {}", root.display());
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    let secs: f64 = std::env::var("WW_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);

    // One warm-up pass, which also counts the files that yield entries.
    let mut with_entries = 0usize;
    for b in &bodies {
        if let Ok(f) = std::hint::black_box(wirewatch::parse::parse_feed(b, None, None)) {
            with_entries += usize::from(!f.entries.is_empty());
        }
    }
    let mut passes = 0usize;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs_f64(secs) {
        for b in &bodies {
            let _ = std::hint::black_box(wirewatch::parse::parse_feed(b, None, None));
        }
        passes += 1;
    }
    let el = start.elapsed().as_secs_f64();
    println!(
        "parser=wirewatch files={} bytes={} with_entries={} passes={} secs={:.3} mb_s={:.2} files_s={:.1}",
        bodies.len(),
        bytes,
        with_entries,
        passes,
        el,
        (bytes * passes) as f64 / el / 1e6,
        (bodies.len() * passes) as f64 / el
    );
}
