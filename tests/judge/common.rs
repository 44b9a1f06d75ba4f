//! Loads the dev scenario's sources (`tests/data/scenario/dev/src/*.txt`), labels and the seed
//! articles (`seeds/`), and rebuilds the texts of copies and repeats
//! from their documented transforms where the labels carry no clean body.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

#[path = "../common/data.rs"]
mod data;
pub use data::*;

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// One `%%%` record of a src/*.txt file.
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub meta: BTreeMap<String, String>,
    /// Article body (before any `::` section).
    pub body: String,
    /// `::name` sections (name -> text), e.g. `append`, `lede`, `summary`, `insights`.
    pub sections: BTreeMap<String, String>,
}

impl Record {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.meta.get(k).map(String::as_str)
    }
    pub fn path(&self) -> &str {
        self.get("path").unwrap_or("")
    }
    pub fn kind(&self) -> &str {
        self.get("kind").unwrap_or("")
    }
    pub fn title(&self) -> &str {
        self.get("title").unwrap_or("")
    }
    pub fn transforms(&self) -> Vec<String> {
        self.get("transforms")
            .map(|t| t.split(',').map(|s| s.trim().to_string()).collect())
            .unwrap_or_default()
    }
}

/// Parses a src/*.txt file.
pub fn parse_src(name: &str) -> Vec<Record> {
    let text = read(scenario_dir().join("dev/src").join(name));
    let mut out = Vec::new();
    for chunk in text.split("\n%%%") {
        let chunk = chunk.trim_start_matches("%%%");
        // Drop the rest of the separator line.
        let chunk = match chunk.find('\n') {
            Some(i) => &chunk[i + 1..],
            None => continue,
        };
        let mut rec = Record::default();
        let mut lines = chunk.lines();
        for line in lines.by_ref() {
            if line.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                rec.meta.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        let mut current: Option<String> = None;
        let mut body = String::new();
        let mut sec = String::new();
        for line in lines {
            if let Some(name) = line.strip_prefix("::") {
                if let Some(c) = current.take() {
                    rec.sections.insert(c, sec.trim().to_string());
                }
                sec.clear();
                current = Some(name.split_whitespace().next().unwrap_or("").to_string());
                continue;
            }
            if current.is_some() {
                sec.push_str(line);
                sec.push('\n');
            } else {
                body.push_str(line);
                body.push('\n');
            }
        }
        if let Some(c) = current.take() {
            rec.sections.insert(c, sec.trim().to_string());
        }
        rec.body = body.trim().to_string();
        if rec.meta.contains_key("path") {
            out.push(rec);
        }
    }
    out
}

/// labels.json
pub fn labels() -> serde_json::Value {
    serde_json::from_str(&read(scenario_dir().join("dev/labels.json")))
        .unwrap_or_else(|e| panic!("labels.json: {e}"))
}

/// scenario.json
pub fn scenario() -> serde_json::Value {
    serde_json::from_str(&read(scenario_dir().join("dev/scenario.json")))
        .unwrap_or_else(|e| panic!("scenario.json: {e}"))
}

/// The seed articles as (file name, raw text), sorted by name.
pub fn seeds() -> Vec<(String, String)> {
    let dir = seeds_dir();
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".txt"))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), read(e.path())))
        .collect();
    out.sort();
    out
}

/// Straightens curly quotes, as the generator's `straight_quotes` transform does.
pub fn straight_quotes(s: &str) -> String {
    s.replace(['\u{2018}', '\u{2019}'], "'")
        .replace(['\u{201C}', '\u{201D}'], "\"")
}

fn paragraphs(s: &str) -> Vec<String> {
    s.split("\n\n")
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Applies the documented transforms of a copy/repeat record to a base body.
pub fn apply_transforms(base: &str, rec: &Record) -> String {
    let mut paras = paragraphs(base);
    for t in rec.transforms() {
        if let Some(n) = t.strip_prefix("drop_last:") {
            let n: usize = n.parse().unwrap_or(1);
            let keep = paras.len().saturating_sub(n);
            paras.truncate(keep);
        }
    }
    if let Some(lede) = rec.sections.get("lede") {
        if !paras.is_empty() {
            paras[0] = lede.clone();
        }
    }
    if let Some(p) = rec.sections.get("prepend") {
        paras.insert(0, p.clone());
    }
    if let Some(a) = rec.sections.get("append") {
        paras.push(a.clone());
    }
    let mut out = paras.join("\n\n");
    if rec.transforms().iter().any(|t| t == "straight_quotes") {
        out = straight_quotes(&out);
    }
    out
}

/// Crude tag stripper for feed `content_html` (test input only; extraction is not tested here).
pub fn strip_tags(html: &str) -> String {
    let re = regex::Regex::new(r"(?s)<[^>]*>").unwrap_or_else(|e| panic!("{e}"));
    let t = html
        .replace("</p>", "\n\n")
        .replace("<br>", "\n")
        .replace("<br/>", "\n");
    re.replace_all(&t, "")
        .replace("&amp;", "&")
        .replace("&#8217;", "\u{2019}")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// The expected clean body of a labelled page, if the labels carry one.
pub fn label_body(labels: &serde_json::Value, path: &str) -> Option<String> {
    labels["items"][path]["body"].as_str().map(str::to_string)
}

/// Full feed content of an item (`content_html` of a listing), tags stripped, if any.
pub fn feed_content(scenario: &serde_json::Value, path: &str) -> Option<String> {
    let items = scenario["items"].as_array()?;
    let it = items.iter().find(|i| i["path"].as_str() == Some(path))?;
    it["listings"]
        .as_array()?
        .iter()
        .filter_map(|l| l["content_html"].as_str())
        .find(|s| !s.is_empty())
        .map(strip_tags)
}

/// A seed-duplicate test case: path, seed file, the copy's text and how it was obtained.
pub struct SeedCopy {
    pub path: String,
    pub seed: String,
    pub text: String,
    pub how: &'static str,
}

/// Texts of all seed duplicates: the labels' clean body when present, else the feed's full
/// content, else the documented transforms applied to a clean body of the same seed (from
/// another copy's label) or, failing that, to the raw seed file.
pub fn seed_copies() -> Vec<SeedCopy> {
    let labels = labels();
    let scen = scenario();
    let seeds = seeds();
    let recs: Vec<Record> = parse_src("copies.txt")
        .into_iter()
        .filter(|r| r.kind() == "seed_duplicate")
        .collect();
    let seed_of = |r: &Record| -> String {
        if let Some(s) = r.get("seed") {
            return s.to_string();
        }
        let base = r.get("amp_of").unwrap_or("");
        labels["items"][base]["seed"]
            .as_str()
            .or_else(|| labels["items"][r.path()]["seed"].as_str())
            .unwrap_or("")
            .to_string()
    };
    let mut out = Vec::new();
    for r in &recs {
        let seed = seed_of(r);
        if let Some(b) = label_body(&labels, r.path()) {
            out.push(SeedCopy {
                path: r.path().into(),
                seed,
                text: b,
                how: "label body",
            });
            continue;
        }
        if let Some(b) = feed_content(&scen, r.path()) {
            out.push(SeedCopy {
                path: r.path().into(),
                seed,
                text: b,
                how: "feed content",
            });
            continue;
        }
        // A clean body of the same seed from a labelled verbatim-ish sibling.
        let sibling = recs
            .iter()
            .filter(|o| o.path() != r.path() && seed_of(o) == seed)
            .filter(|o| {
                let t = o.transforms();
                t.is_empty() || t.iter().all(|x| x == "straight_quotes")
            })
            .find_map(|o| label_body(&labels, o.path()));
        let (base, how) = match sibling {
            Some(b) => (b, "transforms on sibling label body"),
            None => {
                let raw = seeds
                    .iter()
                    .find(|(n, _)| *n == seed)
                    .map(|(_, t)| t.clone())
                    .unwrap_or_default();
                (raw, "raw seed file (verbatim page)")
            }
        };
        out.push(SeedCopy {
            path: r.path().into(),
            seed,
            text: apply_transforms(&base, r),
            how,
        });
    }
    out
}

/// An article of the dev set with its clean text.
#[derive(Debug, Clone)]
pub struct Article {
    pub path: String,
    pub kind: String,
    pub story: Option<String>,
    pub of: Option<String>,
    pub title: String,
    pub text: String,
    /// Seconds since the Unix epoch.
    pub published: i64,
}

/// Days-from-civil (proleptic Gregorian) for RFC 3339 `YYYY-MM-DDTHH:MM:SSZ`.
pub fn parse_time(s: &str) -> i64 {
    let num = |a: usize, b: usize| -> i64 { s.get(a..b).and_then(|x| x.parse().ok()).unwrap_or(0) };
    let (y, m, d) = (num(0, 4), num(5, 7), num(8, 10));
    let (hh, mm, ss) = (num(11, 13), num(14, 16), num(17, 19));
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hh * 3600 + mm * 60 + ss
}

/// New, irrelevant and borderline articles from new.txt / offtopic.txt (body only, no page
/// furniture), plus repeats rebuilt from their original's body and transforms.
pub fn articles() -> Vec<Article> {
    let mut out = Vec::new();
    let new = parse_src("new.txt");
    for r in new.iter().chain(parse_src("offtopic.txt").iter()) {
        out.push(Article {
            path: r.path().into(),
            kind: r.kind().into(),
            story: r.get("story").map(str::to_string),
            of: None,
            title: r.title().into(),
            text: r.body.clone(),
            published: parse_time(r.get("published").unwrap_or("")),
        });
    }
    for r in parse_src("copies.txt")
        .into_iter()
        .filter(|r| r.kind() == "repeat")
    {
        let of = r.get("of").unwrap_or("").to_string();
        let Some(orig) = new.iter().find(|o| o.path() == of) else {
            panic!("repeat {} names unknown original {of}", r.path());
        };
        let title = r.get("title").unwrap_or(orig.title()).to_string();
        out.push(Article {
            path: r.path().into(),
            kind: "repeat".into(),
            story: orig.get("story").map(str::to_string),
            of: Some(of),
            title,
            text: apply_transforms(&orig.body, &r),
            published: parse_time(r.get("published").unwrap_or("")),
        });
    }
    out.sort_by_key(|a| a.published);
    out
}

/// The same as `articles()`, but repeats carry their page furniture too (NextFin AI summary
/// and Insights questions), as a leaky extractor would give them.
pub fn furniture(path: &str) -> String {
    let mut s = String::new();
    for name in ["copies.txt", "new.txt", "offtopic.txt"] {
        for r in parse_src(name) {
            if r.path() == path {
                for k in ["summary", "insights"] {
                    if let Some(t) = r.sections.get(k) {
                        s.push_str(t);
                        s.push_str("\n\n");
                    }
                }
            }
        }
    }
    s
}

/// The seed texts as the pipeline learns the topic from them: each seed file cleaned by the
/// extract stage (its boilerplate removed), as `headline\n\ntext`.
pub fn pipeline_seeds() -> Vec<String> {
    let ex = wirewatch::extract::Extractor::new(&[]).expect("extractor");
    seeds()
        .into_iter()
        .map(|(_, raw)| {
            let first = raw.lines().next().unwrap_or("").trim().to_string();
            let a = ex.clean_plain_text(&raw, None);
            let title = a.title.filter(|t| !t.is_empty()).unwrap_or(first);
            format!("{title}\n\n{}", a.text)
        })
        .collect()
}

/// The judge's relevance step over items in publication order, as the pipeline runs it: the
/// score, then a near miss rescued when it reports a story already alerted on
/// ([`wirewatch::judge::decide`]); relevant items join stories (seeded with the seeds, as the
/// judge seeds them). Returns each item's (score, relevant).
pub fn judge_in_order(
    m: &wirewatch::relevance::TopicModel,
    items: &[(String, String, i64)],
) -> Vec<(f32, bool)> {
    use wirewatch::judge::{decide, Relevant};
    use wirewatch::stories::{StoryIndex, StoryParams};
    let mut stories = StoryIndex::new(m, StoryParams::default());
    let seeds: Vec<(String, String)> = pipeline_seeds()
        .into_iter()
        .map(|s| match s.split_once("\n\n") {
            Some((h, b)) => (h.to_string(), b.to_string()),
            None => (String::new(), s),
        })
        .collect();
    stories.seed(&seeds);
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| items[i].2);
    let mut out = vec![(0.0, false); items.len()];
    for i in order {
        let (title, text, published) = &items[i];
        let r = m.score(title, text);
        let d = decide(
            &r,
            wirewatch::relevance::DEFAULT_MIN_SCORE,
            &stories,
            title,
            text,
            *published,
        );
        let relevant = d != Relevant::No;
        if relevant {
            stories.assign(&format!("item:{i}"), title, text, *published);
        }
        out[i] = (r.score, relevant);
    }
    out
}
