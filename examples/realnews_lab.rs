#![allow(clippy::type_complexity, clippy::field_reassign_with_default)]
//! The relevance lab: replays the real-news worlds of `../shared/realnews` through the
//! judge's relevance, rescue, feedback and stories code in-process (no feeds, no store), and
//! scores them the way `run.py` does, in a second rather than half a minute, so that a change
//! to the model can be tried over the whole dev set at once. It is a research tool: the
//! figures that count are `run.py`'s on the real binary (`benches/realnews.sh`).
//!
//! ```sh
//! python3 examples/realnews_worlds.py ../shared/realnews /tmp/worlds.json   # once
//! cargo run --release --example realnews_lab -- /tmp/worlds.json [RUNID,...] [-v]
//! ```
//!
//! Parameters come from the environment, defaulting to the judge's: `MIN_SCORE`; the names
//! model (`IN_BODY`, `ONE`, `MISSING`, `SECBASE`, `FOREIGN`, `ESSEXP`, `LEDE`); stories
//! (`ST_MIN`, `ST_TIME`, `ST_CORE`, `ST_SEED`, `ST_REL`, `ST_TOL`,
//! `ST_HEAD`, `ST_GROUP`); rescue (`RESCUE_FROM`, `RESCUE_SIM`,
//! `RESCUE_COV`); `NEIGHBOURS=0` (no neighbours' check: `wirewatch::judge::neighbours`);
//! `SHARES=1` (print every would-be alert's neighbours' vote: `SHARE role id score share
//! closest-alerted`);
//! `LEARN=0` (no learning from confident alerts); `FEEDBACK=1` (an oracle reader marks round
//! 1's first false alert off-topic and its first missed target relevant); `SEEDSIM=1` (print
//! each alert's cosine with the seeds' centroid with no, half and the full topic discount);
//! `SEEDLOO=1` (print how close the seeds are to one another, the same three ways);
//! `PULLED_RESCUE=1` (with `FEEDBACK=1`: a near miss an off-topic mark pulled down may still
//! be rescued by a story, as before the judge stopped it).
//! Copies are skipped (the dedup stage is not run). `-v` prints every target, hard negative
//! and alert with its score and evidence, and the story each alert went to and why; `-vv`
//! every item.
//!
//! Our own scenario world runs through the same lab (one broad "run" whose events are the
//! labelled stories), so that a change to stories is checked on both at once:
//!
//! ```sh
//! python3 examples/scenario_world.py tests/data/scenario/dev seeds /tmp/scenario.json
//! cargo run --release --example realnews_lab -- /tmp/scenario.json
//! ```
use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use wirewatch::extract::Extractor;
use wirewatch::relevance::TopicModel;
use wirewatch::stories::{StoryIndex, StoryParams};

#[derive(Deserialize)]
struct Seed {
    title: String,
    text: String,
}
#[derive(Deserialize)]
struct Item {
    key: String,
    role: String,
    event: String,
    copy_of: Option<String>,
    round: u32,
    title: String,
    text: String,
    #[serde(default)]
    html: String,
    pub_: Option<i64>,
    #[serde(rename = "pub")]
    pubt: i64,
}
#[derive(Deserialize)]
struct Run {
    id: String,
    kind: String,
    events: Vec<String>,
    seeds: Vec<Seed>,
    items: Vec<Item>,
}

fn page(title: &str, text: &str) -> String {
    let t = html_escape::encode_text(title);
    let ps: String = text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>", html_escape::encode_text(p)))
        .collect();
    format!("<html><head><title>{t}</title></head><body><article><h1>{t}</h1>{ps}</article></body></html>")
}

fn pairwise(points: &[(String, String)]) -> Option<f64> {
    let (mut tp, mut fp, mut fneg) = (0, 0, 0);
    for i in 0..points.len() {
        for j in i + 1..points.len() {
            let (s1, e1) = &points[i];
            let (s2, e2) = &points[j];
            if s1 == s2 && e1 == e2 {
                tp += 1
            } else if s1 == s2 {
                fp += 1
            } else if e1 == e2 {
                fneg += 1
            }
        }
    }
    let p = if tp + fp > 0 {
        Some(tp as f64 / (tp + fp) as f64)
    } else {
        None
    };
    let r = if tp + fneg > 0 {
        Some(tp as f64 / (tp + fneg) as f64)
    } else {
        None
    };
    if p.is_none() && r.is_none() {
        return None;
    }
    let (p, r) = (p.unwrap_or(1.0), r.unwrap_or(1.0));
    Some(if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: Vec<Run> =
        serde_json::from_str(&std::fs::read_to_string(&args[1]).expect("worlds")).expect("json");
    let only: Option<HashSet<String>> = args
        .get(2)
        .filter(|a| !a.starts_with('-'))
        .map(|a| a.split(',').map(str::to_string).collect());
    let verbose = args.iter().any(|a| a == "-v" || a == "-vv");
    let every = args.iter().any(|a| a == "-vv");
    let min_score: f32 = std::env::var("MIN_SCORE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(wirewatch::relevance::DEFAULT_MIN_SCORE);
    let ex = Extractor::new(&[]).expect("extractor");
    let mut sums: HashMap<&str, (f64, f64, f64, usize, usize, f64, usize)> = HashMap::new();
    for run in &runs {
        if only.as_ref().is_some_and(|o| !o.contains(&run.id)) {
            continue;
        }
        // The seeds cleaned by the extract stage, as the binary keeps them.
        let clean: Vec<(String, String)> = run
            .seeds
            .iter()
            .map(|s| {
                let raw = format!("{}\n\n{}\n", s.title, s.text);
                let a = ex.clean_plain_text(&raw, None);
                (a.title.unwrap_or(s.title.clone()), a.text)
            })
            .collect();
        let seeds: Vec<String> = clean.iter().map(|(t, x)| format!("{t}\n\n{x}")).collect();
        let mut np = wirewatch::relevance::names::NameParams::default();
        let envf = |k: &str, d: f32| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        np.in_body = envf("IN_BODY", np.in_body);
        np.one_mention = envf("ONE", np.one_mention);
        np.missing_primary = envf("MISSING", np.missing_primary);
        np.secondary_base = envf("SECBASE", np.secondary_base);
        np.foreign_headline = envf("FOREIGN", np.foreign_headline);
        np.essential_exp = envf("ESSEXP", np.essential_exp);
        np.lede_tokens = envf("LEDE", np.lede_tokens as f32) as usize;
        let base = TopicModel::from_seeds(&seeds).with_name_params(np);
        let mut topic = base.clone();
        let mut ev = wirewatch::relevance::Evidence::default();
        let mut round = 1;
        let learn = std::env::var("LEARN").map(|v| v != "0").unwrap_or(true);
        if verbose {
            println!(
                "  names: {:?}",
                base.names()
                    .iter()
                    .map(|n| format!("{}{}:{}", if n.primary { "*" } else { "" }, n.text, n.group))
                    .collect::<Vec<_>>()
            );
        }
        let mut sp = StoryParams::default();
        sp.min_similarity = envf("ST_MIN", sp.min_similarity);
        sp.time_scale_days = envf("ST_TIME", sp.time_scale_days);
        sp.core_discount = envf("ST_CORE", sp.core_discount);
        sp.seed_similarity = envf("ST_SEED", sp.seed_similarity);
        sp.seed_relative = envf("ST_REL", sp.seed_relative);
        sp.seed_tolerance = envf("ST_TOL", sp.seed_tolerance);
        sp.headline_coverage = envf("ST_HEAD", sp.headline_coverage);
        sp.seed_grouping = envf("ST_GROUP", sp.seed_grouping);
        let mut stories = StoryIndex::new(&base, sp);
        let mut seedidx = StoryIndex::new(&base, sp);
        for (i, (title, text)) in clean.iter().enumerate() {
            if i == 0 {
                seedidx.start("seeds", title, text, 0);
            } else {
                let id = seedidx.stories()[0].id.clone();
                seedidx.add_to(&id, title, text, 0);
            }
        }
        stories.seed(&clean);
        // Cosine with the seeds' centroid at three strengths of the topic discount.
        let at = |k: f32| -> Vec<(String, f32)> {
            let mut sum: HashMap<String, f32> = HashMap::new();
            for (t, x) in &clean {
                for (w, f) in seedidx.vector_at(t, x, k) {
                    *sum.entry(w).or_default() += f;
                }
            }
            sum.into_iter().collect()
        };
        let cents = [at(0.0), at(0.5), at(1.0)];
        if std::env::var("SEEDLOO").is_ok() {
            // How close the seeds are to one another, at three strengths of the discount.
            let all: Vec<usize> = (0..clean.len()).collect();
            let at = |k: f32| {
                let vs: Vec<_> = clean
                    .iter()
                    .map(|(t, x)| seedidx.vector_at(t, x, k))
                    .collect();
                format!("{:.3}", wirewatch::stories::reference(&vs, &all).1)
            };
            println!("SEEDLOO {} {} {} {}", run.id, at(0.0), at(0.5), at(1.0));
        }
        let seedsim = |title: &str, text: &str| -> String {
            [0.0f32, 0.5, 1.0]
                .iter()
                .zip(&cents)
                .map(|(k, c)| {
                    format!(
                        "{:.3}",
                        wirewatch::stories::cosine(&seedidx.vector_at(title, text, *k), c)
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let targets = run.items.iter().filter(|i| i.role == "target").count();
        // FEEDBACK=1: an oracle reader marks round 1's first false alert off-topic and its
        // first missed target relevant; rounds 2-3 are scored with the marks.
        let feedback_on = std::env::var("FEEDBACK").is_ok();
        let vectoriser = StoryIndex::new(&base, sp);
        let mut marks: std::collections::BTreeMap<String, wirewatch::relevance::Mark> =
            Default::default();
        let mut fb = wirewatch::judge::feedback::Feedback::default();
        let mk = |key: &str, title: &str, text: &str, relevant: bool| {
            let (words, names) = wirewatch::relevance::evidence::headline_words(title, text);
            wirewatch::relevance::Mark {
                url: key.to_string(),
                relevant,
                at: String::new(),
                title: title.to_string(),
                words,
                names,
                group: base.score(title, text).group,
                vector: vectoriser.vector(title, text).into_iter().collect(),
            }
        };
        let (mut moved_up, mut moved_down, mut swung_distractors) = (0, 0, 0);
        let (mut tp, mut alerts, mut hard, mut off) = (0, 0, 0, 0);
        let mut pts = Vec::new();
        let mut missed = Vec::new();
        let neighbours_on = std::env::var("NEIGHBOURS")
            .map(|v| v != "0")
            .unwrap_or(true);
        let mut near = wirewatch::judge::neighbours::Neighbourhood::new(
            &clean
                .iter()
                .map(|(t, x)| vectoriser.vector(t, x))
                .collect::<Vec<_>>(),
            Vec::new(),
        );
        for it in &run.items {
            if it.copy_of.is_some() {
                continue;
            }
            if it.round != round {
                round = it.round;
                if feedback_on && round == 2 {
                    ev.marks = marks.clone();
                    fb = wirewatch::judge::feedback::Feedback::new(
                        &marks,
                        &clean
                            .iter()
                            .map(|s| vectoriser.vector(&s.0, &s.1))
                            .collect::<Vec<_>>(),
                    );
                }
                if learn || feedback_on {
                    topic = base.with_evidence(&ev);
                }
            }
            let html = if it.html.is_empty() {
                page(&it.title, &it.text)
            } else {
                it.html.clone()
            };
            let art = ex.extract_page(html.as_bytes(), Some("text/html"), None);
            let mut rel = topic.score(&it.title, &art.text);
            let before = rel.is_relevant(min_score);
            // Pulled down by an off-topic mark: not rescued (as the judge does).
            let mut pulled_down = false;
            let mut pulled_up = false;
            if !fb.is_empty() {
                if let Some(m) = fb.adjust(
                    &vectoriser.vector(&it.title, &art.text),
                    rel.score,
                    min_score,
                ) {
                    rel.score = m.to;
                    pulled_down = !m.relevant;
                    pulled_up = m.relevant;
                    if rel.is_relevant(min_score) != before {
                        if before {
                            moved_down += 1
                        } else {
                            moved_up += 1
                        }
                        if it.role != "target" && it.role != "hard_negative" {
                            swung_distractors += 1;
                        }
                        if verbose {
                            println!(
                                "  MOVED {} {} {:.3}->{:.3} sim {:.2} by {}",
                                it.role, it.key, m.from, m.to, m.similarity, m.relevant
                            );
                        }
                    }
                }
            }
            let mut relevant = rel.is_relevant(min_score);
            let rescue_from = envf("RESCUE_FROM", wirewatch::judge::RESCUE_FROM);
            let rescue_sim = envf("RESCUE_SIM", wirewatch::judge::RESCUE_SIMILARITY);
            let rescue_cov = envf("RESCUE_COV", wirewatch::judge::RESCUE_COVERAGE);
            // `PULLED_RESCUE=1`: rescue them anyway (the judge before it stopped).
            let pulled_down = pulled_down && std::env::var_os("PULLED_RESCUE").is_none();
            if !relevant
                && !pulled_down
                && rel.score >= rescue_from * min_score
                && rel.coverage >= rescue_cov
                && rel.query != Some(false)
            {
                let v = stories.vector(&it.title, &art.text);
                let best = stories
                    .similarities(&v, it.pubt)
                    .into_iter()
                    .map(|(_, c, gap)| c * (-gap / sp.time_scale_days).exp())
                    .fold(0.0f32, f32::max);
                if best >= rescue_sim {
                    relevant = true;
                }
            }
            if verbose && (every || it.role == "target" || it.role == "hard_negative" || relevant) {
                println!(
                    "  {} {:6} {:14} {:.3} d{:.2} c{:.2} {:?} {:60} | {}",
                    if relevant { "A" } else { "." },
                    &it.role[..it.role.len().min(6)],
                    it.key,
                    rel.score,
                    rel.density,
                    rel.coverage,
                    (&rel.names, rel.note.as_deref().unwrap_or("")),
                    it.title.chars().take(60).collect::<String>(),
                    rel.terms
                        .iter()
                        .take(6)
                        .map(|(t, w)| format!("{t}:{w:.1}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
            // The neighbours' check, as the judge runs it (`NEIGHBOURS=0`: without it).
            if neighbours_on
                && rel.score >= wirewatch::judge::neighbours::NEIGHBOUR_FLOOR
                && rel.query != Some(false)
            {
                let v = vectoriser.vector(&it.title, &art.text);
                let now = chrono::Utc::now();
                if relevant && std::env::var("SHARES").is_ok() {
                    if let Some(h) = near.vote(&it.key, &v, now) {
                        let closest = h.closest.first().is_some_and(|x| x.2);
                        println!(
                            "SHARE {} {} {:.3} {:.3} {closest}",
                            it.role, it.key, rel.score, h.share
                        );
                    }
                }
                if relevant && !pulled_up {
                    if let Some(held) = near.check(&it.key, &v, now) {
                        relevant = false;
                        if verbose {
                            println!("  HELD {} {} {:.3} {held}", it.role, it.key, rel.score);
                        }
                    }
                }
                near.remember(&it.key, (now, None), relevant, &v);
            }
            if !relevant {
                if it.role == "target" {
                    missed.push(it.key.clone());
                    if feedback_on && round == 1 && !marks.values().any(|m| m.relevant) {
                        marks.insert(it.key.clone(), mk(&it.key, &it.title, &art.text, true));
                    }
                }
                continue;
            }
            if feedback_on
                && round == 1
                && it.role != "target"
                && !marks.values().any(|m| !m.relevant)
            {
                marks.insert(it.key.clone(), mk(&it.key, &it.title, &art.text, false));
            }
            alerts += 1;
            if it.role == "target" {
                tp += 1;
            } else {
                off += 1;
                if it.role == "hard_negative" {
                    hard += 1;
                }
            }
            if std::env::var("SEEDSIM").is_ok() {
                println!(
                    "SEEDSIM {} {} {} {}",
                    run.id,
                    it.role,
                    seedsim(&it.title, &art.text),
                    it.event
                );
            }
            let a = stories.assign(&it.key, &it.title, &art.text, it.pubt);
            if verbose {
                println!(
                    "    story {} new {} sim {:.2} headline {:?} closeness {:?} best_other {:?} | {}",
                    &a.story_id[..a.story_id.len().min(8)],
                    a.new_story,
                    a.similarity,
                    a.headline,
                    a.closeness,
                    a.best_other,
                    a.story_title.chars().take(50).collect::<String>()
                );
            }
            pts.push((a.story_id.clone(), it.event.clone()));
            if topic.is_confident(&rel, min_score) {
                ev.learn(&it.key, &it.title, &art.text, rel.group.unwrap_or(0));
            }
            let _ = &it.pub_;
        }
        let p = if alerts > 0 {
            Some(tp as f64 / alerts as f64)
        } else {
            None
        };
        let r = tp as f64 / targets.max(1) as f64;
        let sf = pairwise(&pts);
        let nstories: HashSet<&String> = pts.iter().map(|(s, _)| s).collect();
        println!(
            "{:22} {:6} tgt {:3} alerts {:3} P {} R {:.2} hard {:2} off {:2} stF1 {} stories {} marks {} up {moved_up} down {moved_down} swung {swung_distractors}",
            run.id,
            run.kind,
            targets,
            alerts,
            p.map_or("  - ".into(), |p| format!("{p:.2}")),
            r,
            hard,
            off,
            sf.map_or(" -  ".into(), |f| format!("{f:.2}")),
            nstories.len(),
            marks.len()
        );
        let e = sums
            .entry(if run.kind == "narrow" {
                "narrow"
            } else {
                "broad"
            })
            .or_default();
        if let Some(p) = p {
            e.0 += p;
            e.3 += 1;
        }
        e.1 += r;
        e.4 += 1;
        if let Some(f) = sf {
            e.5 += f;
            e.6 += 1;
        }
        e.2 += hard as f64;
        let _ = &run.events;
    }
    for (k, (p, r, hard, np, n, sf, nsf)) in sums {
        println!(
            "SUMMARY {k}: P {:.3} R {:.3} storyF1 {:.3} hard {}",
            p / np.max(1) as f64,
            r / n.max(1) as f64,
            sf / nsf.max(1) as f64,
            hard
        );
    }
}
