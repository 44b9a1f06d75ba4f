//! Where the benches find their data (included by each bench with `#[path]`).
//!
//! Our own data is in the repo (`tests/data/scenario`). Third-party corpora (`corpus/feeds`,
//! `corpus/extraction-dev`) are not ours to redistribute and are never in the repo: they are
//! looked for in `$WIREWATCH_SHARED`, else `../shared` beside the checkout. A bench that needs
//! one and cannot find it says so (what, and where it looked) and exits with status 2.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repo's own fictional scenario world.
pub fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scenario")
}

/// A third-party corpus (`rel` under `$WIREWATCH_SHARED` or `../shared`), or exit 2 with a
/// message naming what is missing.
pub fn third_party(rel: &str, bench: &str) -> PathBuf {
    let root = std::env::var_os("WIREWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let path = root.join(rel);
    if !path.exists() {
        eprintln!(
            "bench {bench}: needs the third-party corpus {rel}, not found at {} \
             (set WIREWATCH_SHARED to the folder holding corpus/)",
            path.display()
        );
        std::process::exit(2);
    }
    path
}
