//! Relevance on the dev scenario: the seed-learned model separates new coverage from the
//! tricky off-topic articles at the default threshold.

use crate::common;

use wirewatch::relevance::query::Query;
use wirewatch::relevance::{TopicModel, DEFAULT_MIN_SCORE};

fn model() -> TopicModel {
    TopicModel::from_seeds(&common::pipeline_seeds())
}

#[test]
fn separates_new_coverage_from_off_topic() {
    let m = model();
    eprintln!("entities: {:?}", m.entities());
    let arts = common::articles();
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    let mut failures = Vec::new();
    let (mut min_pos, mut max_neg) = (f32::MAX, 0.0f32);
    // The judge's relevance step: a near miss that reports a story already alerted on is
    // relevant too (see `wirewatch::judge::decide`).
    let decided = common::judge_in_order(
        &m,
        &arts
            .iter()
            .map(|a| (a.title.clone(), a.text.clone(), a.published))
            .collect::<Vec<_>>(),
    );
    for (a, &(_, rel)) in arts.iter().zip(&decided) {
        let r = m.score(&a.title, &a.text);
        eprintln!("{:<10} {:<5} {}", a.kind, rel, r.reason(DEFAULT_MIN_SCORE));
        eprintln!("           {}", a.path);
        match a.kind.as_str() {
            "new" | "repeat" => {
                min_pos = min_pos.min(r.score);
                if rel {
                    tp += 1;
                } else {
                    fn_ += 1;
                    failures.push(format!("missed {} ({:.3})", a.path, r.score));
                }
            }
            "irrelevant" => {
                max_neg = max_neg.max(r.score);
                if rel {
                    fp += 1;
                    failures.push(format!("false positive {} ({:.3})", a.path, r.score));
                }
            }
            _ => eprintln!("borderline {} -> {:.3} relevant={rel}", a.path, r.score),
        }
    }
    let precision = tp as f32 / (tp + fp).max(1) as f32;
    let recall = tp as f32 / (tp + fn_).max(1) as f32;
    eprintln!(
        "threshold {DEFAULT_MIN_SCORE}: precision {precision:.3} recall {recall:.3} \
         (lowest on-topic {min_pos:.3}, highest off-topic {max_neg:.3})"
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(tp, 22);
}

#[test]
fn seeds_score_high() {
    let m = model();
    for (n, s) in common::seeds() {
        let r = m.score("", &s);
        assert!(r.score > 0.8, "{n}: {}", r.reason(DEFAULT_MIN_SCORE));
    }
}

/// A "Related" box of on-topic headlines left in an off-topic page by extraction (one
/// headline per line) does not change the decision.
#[test]
fn leaked_related_headlines_do_not_make_off_topic_relevant() {
    let m = model();
    let arts = common::articles();
    let heads: Vec<&str> = arts
        .iter()
        .filter(|a| a.kind == "new")
        .take(6)
        .map(|a| a.title.as_str())
        .collect();
    let related = format!("Related\n{}\nMost read", heads.join("\n"));
    for a in arts.iter().filter(|a| a.kind == "irrelevant") {
        let r = m.score(&a.title, &format!("{}\n\n{related}", a.text));
        assert!(
            !r.is_relevant(DEFAULT_MIN_SCORE),
            "{}: {}",
            a.path,
            r.reason(DEFAULT_MIN_SCORE)
        );
    }
}

#[test]
fn config_query_matches_all_new_items() {
    let q = Query::parse("(microsoft OR azure) AND openai AND (amazon OR aws OR frontier)")
        .unwrap_or_else(|e| panic!("{e}"));
    let m = model().with_query(Some(q));
    let mut passing_negatives = Vec::new();
    for a in common::articles() {
        let r = m.score(&a.title, &a.text);
        if a.kind == "new" || a.kind == "repeat" {
            assert_eq!(r.query, Some(true), "{}", a.path);
        } else if a.kind == "irrelevant" && r.query == Some(true) {
            passing_negatives.push(a.path.clone());
        }
    }
    eprintln!("off-topic items the query alone lets through: {passing_negatives:?}");
    assert!(passing_negatives.len() < 4);
}

#[test]
fn bad_input_is_decided_with_a_note() {
    let m = model();
    let r = m.score("", "");
    assert_eq!(r.score, 0.0);
    assert_eq!(r.note.as_deref(), Some("empty text"));
    let r = m.score("", "Microsoft");
    assert!(
        r.note.as_deref().is_some_and(|n| n.contains("too short")),
        "{r:?}"
    );
    assert!(!r.is_relevant(DEFAULT_MIN_SCORE));
    let de = "Microsoft erwägt rechtliche Schritte gegen OpenAI wegen eines Cloud-Vertrags mit \
              Amazon im Wert von 50 Milliarden Dollar. Im Zentrum steht die Plattform Frontier, \
              die künftig exklusiv über AWS vertrieben werden soll, während Azure weiterhin die \
              zustandslosen Schnittstellen anbietet. Die Verhandlungen dauern an.";
    let r = m.score("Microsoft droht OpenAI mit Klage", de);
    assert!(
        r.note
            .as_deref()
            .is_some_and(|n| n.starts_with("not English")),
        "{r:?}"
    );
    assert_eq!(r.score, 0.0);
    let zh = "微软正在考虑对OpenAI采取法律行动。".repeat(50);
    let r = m.score("", &zh);
    assert!(!r.is_relevant(DEFAULT_MIN_SCORE), "{r:?}");
    let huge = "The weather was mild and the market was quiet. ".repeat(5_000);
    let r = m.score("", &huge);
    assert!(
        r.note.as_deref().is_some_and(|n| n.contains("cut")),
        "{r:?}"
    );
    assert!(!r.is_relevant(DEFAULT_MIN_SCORE));
}

#[test]
fn model_roundtrips_through_serde() {
    let m = model();
    let json = serde_json::to_string(&m).unwrap_or_else(|e| panic!("{e}"));
    let back: TopicModel = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    let a = common::articles();
    let x = &a[4];
    // Same model: the same score up to float summation order (hash maps iterate in a
    // per-instance order, so the last bits of a sum may differ).
    let (s1, s2) = (m.score(&x.title, &x.text), back.score(&x.title, &x.text));
    assert!((s1.score - s2.score).abs() < 1e-4, "{s1:?} vs {s2:?}");
    assert_eq!(s1.query, s2.query);
    let names = |r: &wirewatch::relevance::Relevance| {
        let mut v: Vec<String> = r.terms.iter().map(|(t, _)| t.clone()).collect();
        v.sort();
        v
    };
    assert_eq!(names(&s1), names(&s2));
    eprintln!(
        "topic model: {} terms, {} bytes as JSON",
        m.terms().len(),
        json.len()
    );
}
