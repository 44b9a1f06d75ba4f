//! Read-only views of the store for people: `wirewatch alerts` and `wirewatch explain`
//! here, `wirewatch status` and `topics list` in [`status`].
//!
//! Kept apart from the pipeline so that the CLI and the HTTP API render the same facts the
//! same way.

pub mod status;

use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::judge::Rescored;
use crate::relevance::Evidence;
use crate::store::{AlertRecord, Decision, Grounds, ItemRecord, Store, StoreError};

/// One line of `wirewatch alerts --json`.
#[derive(Clone, Debug, Serialize)]
pub struct AlertLine<'a> {
    /// Alert id.
    pub id: &'a str,
    /// The topic's id.
    pub topic: &'a str,
    /// The topic's name.
    pub topic_name: &'a str,
    /// When it was decided.
    pub created: DateTime<Utc>,
    /// The article's canonical URL.
    pub url: &'a str,
    /// Headline.
    pub title: &'a str,
    /// Outlet.
    pub source: &'a str,
    /// Publication time.
    pub published: Option<DateTime<Utc>>,
    /// Story id.
    pub story: &'a str,
    /// Story title.
    pub story_title: &'a str,
    /// First item of its story.
    pub new_story: bool,
    /// Relevance score.
    pub score: f32,
}

impl<'a> From<&'a AlertRecord> for AlertLine<'a> {
    fn from(a: &'a AlertRecord) -> Self {
        AlertLine {
            id: &a.id,
            topic: &a.topic,
            topic_name: &a.topic_name,
            created: a.created,
            url: &a.url,
            title: &a.title,
            source: &a.source,
            published: a.published,
            story: &a.story,
            story_title: &a.story_title,
            new_story: a.new_story,
            score: a.score,
        }
    }
}

/// Alerts created at or after `since` (all when None), oldest first.
pub fn alerts_since(
    store: &Store,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<AlertRecord>, StoreError> {
    Ok(store
        .alerts()?
        .into_iter()
        .filter(|a| since.is_none_or(|s| a.created >= s))
        .collect())
}

/// A human table of alerts.
pub fn alerts_table(alerts: &[AlertRecord]) -> String {
    let mut s = String::new();
    if alerts.is_empty() {
        s.push_str("no alerts\n");
        return s;
    }
    for a in alerts {
        let _ = writeln!(
            s,
            "{}  {:<5} {:.2}  {}  [{}]\n      {}\n      story {}: {}",
            a.created.format("%Y-%m-%d %H:%M"),
            if a.new_story { "NEW" } else { "more" },
            a.score,
            a.title,
            a.source,
            a.url,
            a.story,
            a.story_title
        );
    }
    s
}

/// Finds an item by canonical URL or by any URL it was seen under.
pub fn find_item(
    store: &Store,
    url: &str,
    canonical: &str,
) -> Result<Option<ItemRecord>, StoreError> {
    let url = url.trim();
    if let Some(i) = store.item(canonical)? {
        return Ok(Some(i));
    }
    if let Some(i) = store.item(url)? {
        return Ok(Some(i));
    }
    Ok(store
        .items()?
        .into_iter()
        .find(|i| i.links.iter().any(|l| l == url || l == canonical)))
}

/// The item seen under a URL as a reader gives it (any URL the item was seen under, or one
/// that canonicalises to its key); `Err` names both forms when there is none.
pub fn lookup(store: &Store, url: &str) -> Result<Result<ItemRecord, String>, StoreError> {
    let url = url.trim();
    let canonical = url::Url::parse(url)
        .map(|u| crate::dedup::url::canonicalize(&u).to_string())
        .unwrap_or_else(|_| url.to_string());
    Ok(find_item(store, url, &canonical)?
        .ok_or_else(|| format!("no item seen under {url} (canonical form {canonical})")))
}

/// `wirewatch explain`: why an item was decided as it was, for each of `topics` (id, name):
/// what it is, then each topic's decision with the evidence that topic learned.
///
/// A decision far below the threshold keeps only its score; `rescore` (a topic's id to the
/// item scored again from its kept text, see [`crate::pipeline::Pipeline::rescore`]) fills in
/// what that score rests on.
pub fn explain_topics(
    store: &Store,
    item: &ItemRecord,
    topics: &[(String, String)],
    rescore: &dyn Fn(&str) -> Option<Rescored>,
) -> Result<String, StoreError> {
    let mut s = explain_item(item);
    for (id, name) in topics {
        let evidence = crate::judge::stored_evidence(store, id)?;
        if topics.len() > 1 {
            let _ = writeln!(s, "  topic:      {name} ({id})");
        }
        explain_decision(&mut s, store, item, id, Some(&evidence))?;
        if far_below(item, id) {
            if let Some(r) = rescore(id) {
                let _ = writeln!(
                    s,
                    "              scored again now, from the kept text, by the topic as it stands: {:.3} ({})",
                    r.score,
                    if r.score >= r.threshold {
                        "it would alert now: `feedback URL --relevant --rejudge WINDOW` judges it again"
                    } else {
                        "still below"
                    }
                );
                let _ = writeln!(
                    s,
                    "              terms: {}",
                    fmt_terms(&r.terms, &r.grounds.learned)
                );
                write_grounds(&mut s, &r.grounds, Some(&evidence));
            }
        }
    }
    explain_copies(&mut s, item);
    Ok(s)
}

/// Whether a topic decided an item off-topic far below its threshold, keeping only the
/// score (see [`Decision::OffTopic`]).
pub fn far_below(item: &ItemRecord, topic: &str) -> bool {
    matches!(
        item.decision(topic),
        Some(Decision::OffTopic { terms, grounds, .. })
            if terms.is_empty() && grounds.names.is_empty() && grounds.density == 0.0
    )
}

/// `explain` for one topic. `evidence` is what the topic learned (to say where learned terms
/// came from).
pub fn explain(
    store: &Store,
    item: &ItemRecord,
    topic: &str,
    evidence: Option<&Evidence>,
) -> Result<String, StoreError> {
    let mut s = explain_item(item);
    explain_decision(&mut s, store, item, topic, evidence)?;
    explain_copies(&mut s, item);
    Ok(s)
}

/// What an item is: headline, URLs, source, dates, text.
fn explain_item(item: &ItemRecord) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", item.title);
    let _ = writeln!(s, "  url:        {}", item.url);
    for l in item.links.iter().filter(|l| **l != item.url) {
        let _ = writeln!(s, "  also seen:  {l}");
    }
    let _ = writeln!(s, "  source:     {}", item.source);
    if let Some(p) = item.published {
        let _ = writeln!(s, "  published:  {}", p.to_rfc3339());
    }
    let _ = writeln!(s, "  first seen: {}", item.first_seen.to_rfc3339());
    let _ = writeln!(
        s,
        "  text:       {} words from {:?}{}",
        if item.words > 0 {
            item.words as usize
        } else {
            item.text.split_whitespace().count()
        },
        item.text_source,
        item.text_note
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    );
    if let Some(lang) = &item.lang {
        let _ = writeln!(s, "  language:   {lang}");
    }
    if item.revisions > 0 {
        let _ = writeln!(s, "  revisions:  {} in-place updates seen", item.revisions);
    }
    s
}

/// One topic's decision about an item, with the reader's mark.
fn explain_decision(
    s: &mut String,
    store: &Store,
    item: &ItemRecord,
    topic: &str,
    evidence: Option<&Evidence>,
) -> Result<(), StoreError> {
    let Some(decision) = item.decision(topic) else {
        let _ = writeln!(
            s,
            "  decision:   none: the topic was not watched when the item was judged"
        );
        return Ok(());
    };
    if let Some(m) = evidence.and_then(|e| e.marks.get(&item.url)) {
        let _ = writeln!(
            s,
            "  reader:     marked {} on {}{}",
            if m.relevant { "relevant" } else { "off-topic" },
            m.at.get(..16).unwrap_or(&m.at).replace('T', " "),
            match (decision, m.relevant) {
                (Decision::Alert { .. }, false) => " (after it alerted: the alert stays sent)",
                (Decision::Alert { .. }, true) => "",
                (Decision::OffTopic { .. }, true) => {
                    " (judged before the mark; `feedback --rejudge` judges it again)"
                }
                _ => "",
            }
        );
    }
    let _ = write!(s, "  decision:   ");
    match decision {
        Decision::SeedDuplicate {
            seed,
            similarity,
            contained,
            contains,
            exact,
        } => {
            let why = match contains {
                Some(c) => crate::dedup::likeness(*similarity, *contained, *c, *exact, "the seed"),
                // A record from before the share of the seed was kept.
                None => format!("{:.0}% of this text is in the seed", contained * 100.0),
            };
            let _ = writeln!(
                s,
                "duplicate of seed article {seed} ({why}; similarity {similarity:.2}) — no alert"
            );
            if let Some(seed) = store.seed(seed)? {
                let _ = writeln!(s, "              seed headline: {}", seed.title);
            }
        }
        Decision::Repeat {
            of,
            reason,
            similarity,
        } => {
            let _ = writeln!(
                s,
                "repeat of {of} ({reason}; similarity {similarity:.2}) — no alert"
            );
            if let Some(orig) = store.item(of)? {
                let _ = writeln!(
                    s,
                    "              original: {} [{}]",
                    orig.title, orig.source
                );
            }
        }
        Decision::OffTopic {
            score,
            threshold,
            terms,
            query,
            grounds,
        } => {
            let _ = writeln!(
                s,
                "off-topic (score {score:.3} {} min_score {threshold:.3}{}{}) — no alert",
                if score >= threshold {
                    "reaches"
                } else {
                    "below"
                },
                match query {
                    Some(true) => "; query matched",
                    Some(false) => "; query did not match",
                    None => "",
                },
                if grounds.held_back.is_some() {
                    "; held back by its neighbours"
                } else {
                    ""
                }
            );
            if terms.is_empty() && grounds.is_empty() {
                let _ = writeln!(s, "              far below the threshold: not a near miss");
            } else {
                let _ = writeln!(
                    s,
                    "              terms: {}",
                    fmt_terms(terms, &grounds.learned)
                );
            }
            write_grounds(s, grounds, evidence);
        }
        Decision::Alert {
            alert,
            story,
            story_title,
            new_story,
            score,
            terms,
            grounds,
        } => {
            let _ = writeln!(
                s,
                "ALERT {alert} (score {score:.3}), {} story {story}: {story_title}",
                if *new_story { "starts" } else { "joins" }
            );
            let _ = writeln!(
                s,
                "              terms: {}",
                fmt_terms(terms, &grounds.learned)
            );
            write_grounds(s, grounds, evidence);
        }
        Decision::Unreadable { reason } => {
            let _ = writeln!(s, "unreadable: {reason} — no alert");
        }
        Decision::OtherLanguage { lang } => {
            let _ = writeln!(
                s,
                "other language: {lang}, not one the topic follows ([topic] languages) — no alert"
            );
        }
    }
    Ok(())
}

/// The copies of an item seen after it.
fn explain_copies(s: &mut String, item: &ItemRecord) {
    if !item.duplicates.is_empty() {
        let _ = writeln!(s, "  copies seen later:");
        for d in &item.duplicates {
            let _ = writeln!(s, "    {d}");
        }
    }
}

/// The lines of a judgement's grounds (see [`Grounds`]).
fn write_grounds(s: &mut String, g: &Grounds, evidence: Option<&Evidence>) {
    // No density, coverage or names: decided before grounds were recorded, or on nothing
    // the text said (a reader's mark alone); the lines below may still have something to say.
    if g.density != 0.0 || g.coverage != 0.0 || !g.names.is_empty() {
        let _ = writeln!(
            s,
            "              density {:.2} (how much reads like the seeds), name coverage {:.2}{}",
            g.density,
            g.coverage,
            if g.protagonists {
                ""
            } else {
                " (a protagonist missing up front)"
            }
        );
    }
    if !g.names.is_empty() {
        let _ = writeln!(s, "              names: {}", g.names.join(", "));
    }
    for t in &g.learned {
        let from = evidence
            .and_then(|e| e.origin(t))
            .unwrap_or_else(|| "learned".to_string());
        let _ = writeln!(s, "              {t}: {from}");
    }
    if let Some((id, title, sim)) = &g.rescued_by {
        let _ = writeln!(
            s,
            "              a near miss that reports story {id} ({title}; similarity {sim:.2}): alerted"
        );
    }
    if let Some(why) = &g.story {
        let _ = writeln!(s, "              story: {why}");
    }
    if let Some(f) = &g.feedback {
        let _ = writeln!(s, "              feedback: {f}");
    }
    if let Some(n) = &g.note {
        let _ = writeln!(s, "              note: {n}");
    }
    if let Some(h) = &g.held_back {
        let _ = writeln!(s, "              {h}");
    }
}

/// The topic terms an item matched, strongest first: the seeds' own, and the learned ones
/// (see the grounds' lines below them for where each was learned) said to be.
fn fmt_terms(terms: &[(String, f32)], learned: &[String]) -> String {
    if terms.is_empty() {
        return "(none)".into();
    }
    let list = terms
        .iter()
        .take(10)
        .map(|(t, w)| {
            if learned.contains(t) {
                format!("{t} ({w:.2}, learned)")
            } else {
                format!("{t} ({w:.2})")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!("{list}  [from the seeds unless learned]")
}
