//! Runs `parse_feed` over the whole real-world corpus `corpus/feeds` (third-party, outside the
//! repo: see `tests/common/data.rs`): no panic may
//! escape, and at least `MIN_FILES_WITH_ENTRIES` files must yield entries.
//!
//! feedparser's test files state their HTTP Content-Type in a `Header:` comment line; it is
//! passed as `content_type`, as a fetcher would.

mod common;

use common::third_party;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use wirewatch::parse::{parse_feed, ParseError};

/// Files that yield at least one entry: 801 measured (2026-11-23), minus a small margin;
/// Python feedparser 6.0.11 gets 800, feed-rs 3 on the raw bytes 520.
const MIN_FILES_WITH_ENTRIES: usize = 795;

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name != "README.md" && name != "LICENSE" {
                out.push(p);
            }
        }
    }
}

/// The `Header: Content-type: ...` line of a feedparser test file, if any.
fn header_content_type(body: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&body[..body.len().min(2048)]);
    head.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("Header:")?.trim();
        let (k, v) = rest.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-type")
            .then(|| v.trim().to_string())
    })
}

#[test]
fn whole_corpus_parses_without_panic() {
    let Some(root) = third_party("corpus/feeds", "whole_corpus_parses_without_panic") else {
        return;
    };
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    assert!(
        files.len() >= 1457,
        "corpus at {} has only {} files",
        root.display(),
        files.len()
    );

    let (mut with_entries, mut parsed_empty, mut recovered, mut rejected, mut panics) =
        (0, 0, 0, 0, 0);
    let mut entries_total = 0usize;
    let mut errors: std::collections::BTreeMap<String, usize> = Default::default();
    let verbose = std::env::var_os("CORPUS_VERBOSE").is_some();
    for path in &files {
        let Ok(body) = std::fs::read(path) else {
            panic!("cannot read {}", path.display());
        };
        let ct = header_content_type(&body);
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        match catch_unwind(AssertUnwindSafe(|| parse_feed(&body, ct.as_deref(), None))) {
            Err(_) => {
                panics += 1;
                eprintln!("PANIC escaped: {rel}");
            }
            Ok(Ok(feed)) => {
                if feed.entries.is_empty() {
                    parsed_empty += 1;
                } else {
                    with_entries += 1;
                    entries_total += feed.entries.len();
                }
                if !feed.repairs.is_empty() {
                    recovered += 1;
                }
                if verbose {
                    println!(
                        "OK {rel}: {} entries; repairs {:?}; {} {:?}",
                        feed.entries.len(),
                        feed.repairs,
                        feed.encoding,
                        feed.charset_notes
                    );
                }
            }
            Ok(Err(e)) => {
                rejected += 1;
                if matches!(e, ParseError::Panicked(_)) {
                    panics += 1;
                }
                let kind = format!("{e}").split(':').next().unwrap_or("").to_string();
                *errors.entry(kind).or_default() += 1;
                if verbose {
                    println!("ERR {rel}: {e}");
                }
            }
        }
    }
    println!(
        "corpus: {} files; {with_entries} yield entries ({entries_total} entries), {parsed_empty} parse with no entry, \
         {recovered} needed the lenient pre-pass, {rejected} rejected, {panics} panics",
        files.len()
    );
    println!("rejections by kind: {errors:?}");
    assert_eq!(panics, 0, "feed-rs panicked (contained or not)");
    assert!(
        with_entries >= MIN_FILES_WITH_ENTRIES,
        "only {with_entries} files yield entries (floor {MIN_FILES_WITH_ENTRIES})"
    );
}
