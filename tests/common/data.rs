//! Where test data lives.
//!
//! Two kinds:
//! - our own, in the repo: `tests/data/` (the fictional scenario world in `tests/data/scenario/`,
//!   fixtures we wrote) and the seed articles in `seeds/`. Every test can rely on it.
//! - third-party corpora (`corpus/`, `realnews/`), which are not ours to redistribute and never
//!   enter the repo: looked for in `$WIREWATCH_SHARED`, else `../shared` beside the checkout.
//!   [`third_party`] hands a test the path when the corpus is there. When it is not, the test
//!   prints one line saying it was not run and passes, except under `CI=true`, where a missing
//!   corpus fails the test: CI always scores them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repo's own test data (`tests/data`).
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The fictional scenario world (`tests/data/scenario`): `serve.py`, `score.py`, `dev/`.
pub fn scenario_dir() -> PathBuf {
    data_dir().join("scenario")
}

/// The repo's seed articles.
pub fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds")
}

/// Where third-party corpora are looked for: `$WIREWATCH_SHARED`, else `../shared`.
pub fn shared_root() -> PathBuf {
    std::env::var_os("WIREWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// Whether this run is CI's (`CI=true`), where every corpus must be present.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A third-party corpus (`rel` under [`shared_root`], e.g. `corpus/feeds`), if present. When it
/// is absent, prints one line naming `test` and what was missing and returns `None` (the test
/// then passes without checking anything), or panics under `CI=true`.
pub fn third_party(rel: &str, test: &str) -> Option<PathBuf> {
    let path = shared_root().join(rel);
    if path.exists() {
        return Some(path);
    }
    let msg = format!(
        "{test}: not run: third-party corpus {} not found (set WIREWATCH_SHARED or put shared/ beside the checkout)",
        path.display()
    );
    if in_ci() {
        panic!("{msg}; under CI=true every corpus must be present");
    }
    // Straight to the process's standard error: the test harness captures `eprintln!` of
    // passing tests, and this line must be seen.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{msg}");
    None
}
