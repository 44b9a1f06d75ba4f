//! Judgement on real news: seven representative runs of the ECB+ replay in
//! `../shared/realnews` (third-party, CC BY 3.0; not copied into this repository), scored by
//! the corpus's own `run.py` on the real binary, beside its keyword baseline:
//!
//! - `n-1_ecbplus`: a developing story (Lindsay Lohan's rehab: clinics and lawyers change after
//!   the seeds), with the neighbouring rehab story of another actress in the world;
//! - `n-43_ecbplus`: one event (AMD buys SeaMicro) reported by many outlets in their own words,
//!   with AMD's earlier acquisition in the world: one story, or very few;
//! - `n-41_ecb`: one event (the Israeli strike on a UN school in Gaza) whose seeds, by four
//!   outlets, share little once the topic's own terms are discounted: its reports must still
//!   form one story (they formed four before the seeds were grouped by event);
//! - `n-19_ecb`: a week of riots in Greece, whose seeds, by four outlets days apart, are far
//!   less alike than rewrites of one report: its reports must still form one story (they
//!   formed four before the seeds' closeness to one another set the bar);
//! - `n-39_ecbplus`: one announcement (Peter Capaldi is the next Doctor Who) retold by many
//!   outlets: a report that shares little with the others once the topic's names are
//!   discounted, and stands a little below the seeds' closeness to one another, still joins
//!   their story (it started a second one while the bar was 0.9 times that closeness);
//! - `n-35_ecbplus`: a Chargers player's DUI arrest, with another Chargers player's DUI arrest
//!   as the sister event: the sister reports that score over the threshold are held back,
//!   because the texts most like them were judged off-topic (`judge::neighbours`; before it,
//!   precision 0.83 and story F1 0.80);
//! - `b-shootings`: a broad topic of four events of one kind, each its own story.
//!
//! Where the corpus is absent the test says so and passes (under `CI=true` it fails). The
//! whole dev set is a benchmark (`benches/realnews.sh`), not a test.

mod common;

use std::process::Command;

use common::*;

/// (run, minimum precision, recall, story pairwise F1) — a little under what was measured
/// (1.0/0.88/1.0, 1.0/1.0/0.90, 1.0/1.0/1.0, 1.0/0.90/1.0, 1.0/1.0/1.0, 1.0/0.71/1.0,
/// 1.0/0.77/1.0), so
/// that a real regression fails it and noise in the corpus's synthetic dates does not.
const RUNS: &[(&str, f64, f64, f64)] = &[
    ("n-1_ecbplus", 0.9, 0.8, 0.9),
    ("n-43_ecbplus", 0.9, 0.9, 0.85),
    ("n-41_ecb", 0.9, 0.75, 0.9),
    ("n-19_ecb", 0.9, 0.8, 0.9),
    ("n-39_ecbplus", 0.9, 0.9, 0.9),
    ("n-35_ecbplus", 0.9, 0.65, 0.9),
    ("b-shootings", 0.9, 0.7, 0.9),
];

#[test]
fn representative_real_news_runs() {
    let Some(root) = third_party("realnews/run.py", "realnews") else {
        return;
    };
    let out_dir = tempfile::tempdir().expect("tmp");
    let json = out_dir.path().join("scores.json");
    let only: Vec<&str> = RUNS.iter().map(|r| r.0).collect();
    let out = Command::new("python3")
        .arg(&root)
        .arg(env!("CARGO_BIN_EXE_wirewatch"))
        .arg("dev")
        .arg("--only")
        .arg(only.join(","))
        .arg("--baseline")
        .arg("--json")
        .arg(&json)
        .output()
        .expect("python3 run.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "run.py failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("scores")).expect("json");
    let runs = v["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), RUNS.len(), "{stdout}");
    for &(id, min_p, min_r, min_story) in RUNS {
        let run = runs
            .iter()
            .find(|r| r["run"] == id)
            .unwrap_or_else(|| panic!("{id} not scored:\n{stdout}"));
        let (w, b) = (&run["wirewatch"], &run["baseline"]);
        let f = |x: &serde_json::Value, k: &str| x[k].as_f64().unwrap_or(0.0);
        let line = format!(
            "{id}: P {:.2} R {:.2} F1 {:.2} story F1 {:.2} copies {}/{} (baseline P {:.2} R {:.2} F1 {:.2})",
            f(w, "precision"),
            f(w, "recall"),
            f(w, "f1"),
            f(w, "story_f1"),
            w["copies_suppressed"],
            w["copies"],
            f(b, "precision"),
            f(b, "recall"),
            f(b, "f1"),
        );
        assert!(f(w, "precision") >= min_p, "precision: {line}");
        assert!(f(w, "recall") >= min_r, "recall: {line}");
        assert!(f(w, "story_f1") >= min_story, "story F1: {line}");
        assert_eq!(
            w["copies_suppressed"], w["copies"],
            "every copy suppressed: {line}"
        );
        assert!(
            f(w, "f1") > f(b, "f1"),
            "ahead of the keyword baseline: {line}"
        );
        assert!(f(w, "precision") > f(b, "precision"), "{line}");
        assert!(f(w, "story_f1") > f(b, "story_f1"), "{line}");
        assert!(
            w["copies_suppressed"].as_u64() > b["copies_suppressed"].as_u64(),
            "{line}"
        );
    }
}
