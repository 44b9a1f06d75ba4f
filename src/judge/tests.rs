//! The judge over a store another process writes too (a CLI, or another worker's status
//! page, over a shared store): the reader's marks reach the judge and are never lost to what
//! it learns.

use std::sync::Arc;

use chrono::Utc;

use super::*;
use crate::store::tests::backends;

/// Four reports of one event, as `(headline, text)`.
fn seeds() -> Vec<(String, String)> {
    [
        (
            "Lindsay Lohan checks into rehab at Morningside",
            "The actress Lindsay Lohan checked into Morningside Recovery on Thursday, her lawyer Mark Heller said, complying with a court order after her conviction for reckless driving.",
        ),
        (
            "Lawyer: Lohan in court-ordered rehab",
            "Lindsay Lohan is at Morningside Recovery in Newport Beach, said Heller, her lawyer, a day after a judge ordered ninety days of treatment.",
        ),
        (
            "Lohan leaves rehab for a second clinic",
            "Hours after checking in, Lindsay Lohan left Morningside Recovery, and Heller told the court she would enter another treatment center approved by the judge.",
        ),
        (
            "Judge accepts Lohan's rehab move",
            "A Los Angeles judge accepted that Lindsay Lohan complete her court-ordered treatment at a clinic in Malibu, her lawyer Mark Heller said on Friday.",
        ),
    ]
    .into_iter()
    .map(|(h, t)| (h.to_string(), t.to_string()))
    .collect()
}

fn judge(store: &Store) -> Result<Judge, StoreError> {
    let seeds = seeds();
    let texts: Vec<String> = seeds.iter().map(|(h, t)| format!("{h}\n\n{t}")).collect();
    Judge::new(
        store.clone(),
        ("lohan", "Lohan in rehab"),
        TopicModel::from_seeds(&texts),
        &seeds,
        relevance::DEFAULT_MIN_SCORE,
        Arc::new(Vec::new()),
        Metrics::new(),
    )
}

fn item(url: &str, title: &str) -> ItemRecord {
    let now = Utc::now();
    let mut item = ItemRecord::for_test(url, now);
    item.title = title.to_string();
    item
}

#[test]
fn a_mark_made_by_another_process_reaches_the_judge_and_survives_its_lessons(
) -> Result<(), StoreError> {
    for (backend, _keep, store) in backends() {
        // The judging worker, and another process over the same store.
        let worker = judge(&store)?;
        let other = judge(&store)?;
        let off = item("https://example.org/other-rehab", "Tara Reid enters rehab");
        other.mark(
            &off,
            "The actress Tara Reid checked into a Malibu clinic on Monday, her publicist said.",
            false,
        )?;
        // The worker learns from a confident alert and stores what it learned: the mark it
        // never saw stays in the store.
        worker
            .evidence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .learn(
            "https://example.org/a",
            "Lohan moves to Malibu clinic",
            "Lindsay Lohan moved to the Cliffside clinic in Malibu, her lawyer Mark Heller said.",
            0,
        );
        worker.relearn()?;
        let stored = stored_evidence(&store, "lohan")?;
        assert_eq!(stored.alerts, 1, "{backend}");
        assert!(stored.marks.contains_key(&off.url), "{backend}: mark lost");
        // At its next pass the worker takes the mark up, once.
        assert!(worker.evidence().marks.is_empty(), "{backend}");
        assert!(worker.refresh_marks()?, "{backend}");
        assert!(worker.evidence().marks.contains_key(&off.url), "{backend}");
        assert!(!worker.refresh_marks()?, "{backend}");
        // Undone elsewhere: undone here at the next pass, and gone from the store.
        assert!(other.clear_mark(&off.url)?, "{backend}");
        assert!(worker.refresh_marks()?, "{backend}");
        assert!(worker.evidence().marks.is_empty(), "{backend}");
        assert!(
            stored_evidence(&store, "lohan")?.marks.is_empty(),
            "{backend}"
        );
        // What the worker learned is still there, and a new judge starts from both.
        assert_eq!(judge(&store)?.evidence().alerts, 1, "{backend}");
    }
    Ok(())
}

#[test]
fn marks_an_older_version_kept_inside_the_evidence_move_out_once() -> Result<(), StoreError> {
    for (backend, _keep, store) in backends() {
        let mark = Mark {
            url: "https://example.org/m".into(),
            relevant: true,
            at: Utc::now().to_rfc3339(),
            title: "Lohan moves clinic".into(),
            words: vec!["cliffside".into()],
            names: Vec::new(),
            group: Some(0),
            vector: Vec::new(),
        };
        let old = serde_json::json!({
            "alerts": 2, "names": {}, "terms": {},
            "marks": { "https://example.org/m": mark },
        });
        store.put_meta("evidence:lohan", &old)?;
        let j = judge(&store)?;
        assert!(j.evidence().marks.contains_key(&mark.url), "{backend}");
        assert_eq!(j.evidence().alerts, 2, "{backend}");
        assert_eq!(stored_marks(&store, "lohan")?.len(), 1, "{backend}");
        // Once: a mark cleared since stays cleared, though the old copy is still there...
        assert!(j.clear_mark(&mark.url)?, "{backend}");
        assert!(judge(&store)?.evidence().marks.is_empty(), "{backend}");
        assert!(
            stored_evidence(&store, "lohan")?.marks.is_empty(),
            "{backend}"
        );
        // ...until the judge's next lesson, which leaves it out.
        j.relearn()?;
        let stored = store.get_meta("evidence:lohan")?.unwrap_or_default();
        assert!(stored.get("marks").is_none(), "{backend}: {stored}");
        assert_eq!(stored["alerts"], 2, "{backend}: {stored}");
        // The mark again, for what follows.
        store.put_meta(
            &mark_key("lohan", &mark.url),
            &serde_json::to_value(&mark).unwrap_or_default(),
        )?;
        // Unreadable evidence is kept aside, not overwritten.
        store.put_meta("evidence:lohan", &serde_json::json!({"alerts": "many"}))?;
        let j = judge(&store)?;
        assert_eq!(j.evidence().alerts, 0, "{backend}");
        assert!(
            store.get_meta("evidence:lohan.unreadable")?.is_some(),
            "{backend}"
        );
        assert_eq!(j.evidence().marks.len(), 1, "{backend}");
    }
    Ok(())
}

/// What a confident alert teaches is journaled at once and survives a crash before the end
/// of the pass; once the pass stores the whole evidence, the journal goes, and nothing is
/// learned twice.
#[test]
fn lessons_survive_a_crash_before_the_end_of_the_pass() -> Result<(), StoreError> {
    for (backend, _keep, store) in backends() {
        let lesson = |j: &Judge, i: u32| {
            j.learn_from(
                &format!("https://example.org/a{i}"),
                "Lohan moves to Malibu clinic",
                "Lindsay Lohan moved to the Cliffside clinic in Malibu, her lawyer Mark Heller said.",
                0,
            )
        };
        let first = judge(&store)?;
        lesson(&first, 1)?;
        lesson(&first, 2)?;
        // Killed before the end of its pass: the evidence record was never written.
        assert!(store.get_meta("evidence:lohan")?.is_none(), "{backend}");
        drop(first);
        let second = judge(&store)?;
        let ev = second.evidence();
        assert_eq!(ev.alerts, 2, "{backend}");
        assert_eq!(
            ev.names.get("cliffside").map(|s| s.count),
            Some(2),
            "{backend}"
        );
        assert_eq!(stored_evidence(&store, "lohan")?.alerts, 2, "{backend}");
        // It learns once more and ends its pass: all three in the record, the journal gone.
        lesson(&second, 3)?;
        second.end_pass()?;
        assert!(
            store.metas_under(&lessons_prefix("lohan"))?.is_empty(),
            "{backend}"
        );
        let stored = store.get_meta("evidence:lohan")?.unwrap_or_default();
        assert_eq!(stored["alerts"], 3, "{backend}: {stored}");
        // A lesson the record holds already (a crash between the record and the journal's
        // deletion) is not learned again.
        let stray = relevance::Lesson::of("https://example.org/a3", "Lohan", "Lohan", 0);
        store.put_meta(
            &lesson_key("lohan", 3),
            &serde_json::to_value(&stray).unwrap_or_default(),
        )?;
        let third = judge(&store)?;
        assert_eq!(third.evidence().alerts, 3, "{backend}");
        assert_eq!(
            third.evidence().names.get("cliffside").map(|s| s.count),
            Some(3),
            "{backend}"
        );
        // ... and that stray record goes at the end of the next pass.
        third.end_pass()?;
        assert!(
            store.metas_under(&lessons_prefix("lohan"))?.is_empty(),
            "{backend}"
        );
        // Evidence unreadable, lessons journaled after it: learned anew from those alone,
        // the count theirs, and the next lesson numbered past them.
        lesson(&third, 4)?;
        lesson(&third, 5)?;
        store.put_meta("evidence:lohan", &serde_json::json!({"alerts": "many"}))?;
        let fourth = judge(&store)?;
        assert_eq!(fourth.evidence().alerts, 2, "{backend}");
        lesson(&fourth, 6)?;
        assert!(
            store.get_meta(&lesson_key("lohan", 6))?.is_some(),
            "{backend}"
        );
        // Another topic whose id extends this one's with a colon keeps its journal.
        store.put_meta(
            &lesson_key("lohan:b", 1),
            &serde_json::to_value(&stray).unwrap_or_default(),
        )?;
        fourth.end_pass()?;
        assert!(
            store.metas_under(&lessons_prefix("lohan"))?.is_empty(),
            "{backend}"
        );
        assert!(
            store.get_meta(&lesson_key("lohan:b", 1))?.is_some(),
            "{backend}"
        );
    }
    Ok(())
}

/// The near misses kept: every one of the late-rescue window (not only the latest twenty of
/// the status page), and the latest twenty whatever their age; their texts left to the
/// store when it keeps texts.
#[test]
fn near_misses_of_the_rescue_window_are_all_kept() -> Result<(), StoreError> {
    for (backend, _keep, store) in backends() {
        let judge = judge(&store)?.keeping_texts(true);
        let mut unwritten = Unwritten::default();
        let now = Utc::now();
        let old = now - LATE_RESCUE_WINDOW - chrono::Duration::hours(1);
        for (i, at) in (0..30).map(|i| (i, old)).chain((30..60).map(|i| (i, now))) {
            let mut it = item(&format!("https://example.org/n{i}"), "Lohan");
            it.decided_at = at;
            judge.note_near_miss(&it, 0.4, "Lindsay Lohan text", &mut unwritten);
        }
        let near = judge
            .near_misses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .clone();
        // The 30 of the window; none of the older ones (the latest twenty are of the window).
        assert_eq!(near.len(), 30, "{backend}");
        assert!(near.iter().all(|n| n.at == now), "{backend}");
        assert!(near.iter().all(|n| n.text.is_empty()), "{backend}");
        // A quiet topic keeps its latest twenty for the page, however old.
        let quiet = judge_quiet(&store)?;
        for i in 0..30 {
            let mut it = item(&format!("https://example.org/q{i}"), "Lohan");
            it.decided_at = old;
            quiet.note_near_miss(&it, 0.4, "Lindsay Lohan text", &mut unwritten);
        }
        let near = quiet.near_misses.lock().unwrap_or_else(|p| p.into_inner());
        assert_eq!(near.0.len(), NEAR_MISSES, "{backend}");
        assert_eq!(
            near.0.back().map(|n| n.url.as_str()),
            Some("https://example.org/q29")
        );
        assert!(near.0.iter().all(|n| !n.text.is_empty()), "{backend}");
    }
    Ok(())
}

/// A judge over a store that keeps no texts.
fn judge_quiet(store: &Store) -> Result<Judge, StoreError> {
    Ok(judge(store)?.keeping_texts(false))
}

/// A pass that never ended (the daemon killed in mid-pass: no [`Judge::end_pass`]) keeps
/// the texts it remembered for the neighbours' vote along with their decisions: a judge
/// started after it has the pass's alert among its neighbours, and the journal goes once
/// the list is stored.
#[test]
fn texts_remembered_in_a_pass_that_never_ended_are_kept() -> Result<(), StoreError> {
    for (backend, _keep, store) in backends() {
        let killed = judge(&store)?;
        let mut unwritten = Unwritten::default();
        let url = "https://example.org/lohan-malibu";
        let verdict = killed.rejudge(
            item(url, "Lindsay Lohan moves to a Malibu rehab clinic"),
            "Lindsay Lohan left Morningside Recovery and checked into a rehab clinic in \
             Malibu, her lawyer Mark Heller told the judge, who accepted the move as part of \
             her court-ordered treatment."
                .to_string(),
            &mut unwritten,
        )?;
        assert_eq!(verdict, Verdict::Alert, "{backend}");
        unwritten.write(&store)?;
        let remembered = |j: &Judge| {
            j.neighbours
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .items
                .iter()
                .any(|n| n.url == url && n.relevant)
        };
        assert!(remembered(&killed), "{backend}");
        drop(killed);

        let restarted = judge(&store)?;
        assert!(
            remembered(&restarted),
            "{backend}: the alert's text was forgotten"
        );
        let journal = neighbours::journal_prefix("lohan");
        assert_eq!(store.metas_under(&journal)?.len(), 1, "{backend}");
        restarted.end_pass()?;
        assert!(store.metas_under(&journal)?.is_empty(), "{backend}");
        assert!(remembered(&judge(&store)?), "{backend}");
    }
    Ok(())
}
