//! Text-level cleaning: the boilerplate that survives HTML extraction (or that a plain-text
//! copy of a page carries) is recognised on the paragraph list itself.
//!
//! Rules are generic, not per page: AI summaries and AI-assistance disclaimers, "Explore more
//! ... at", "Word count"/"Reading time", share/trending/newsletter/related headings that start
//! the page furniture after an article, trailing lists of questions ("Insights"), list boxes
//! whose sentences repeat the body ("Key Points"), short non-sentence lines around the body
//! (bylines, dates, footer labels), and per-site `cut_after` regexes from config.
//! Tail rules only fire after the first part of the text, so a rule can never empty an article.

use super::html::Kind;
use regex::Regex;
use std::sync::OnceLock;

/// One paragraph of output.
#[derive(Debug, Clone)]
pub(crate) struct Para {
    pub text: String,
    pub kind: Kind,
    /// The element whose children hold this paragraph ([`NO_GROUP`] for plain text).
    pub group: usize,
}

/// Group of paragraphs that come from plain text (no DOM).
pub(crate) const NO_GROUP: usize = usize::MAX;

struct Rules {
    /// Found anywhere in a short line: the line goes (republishing notes, photo agencies).
    drop_contains: Regex,
    /// Found anywhere in a short line after the start: the rest goes ("All rights reserved").
    tail_contains: Regex,
    /// Lines from which the rest is furniture (only after the start of the body).
    tail_cut: Regex,
    /// Headings that open furniture when short.
    tail_heading: Regex,
    /// Lines dropped wherever they are.
    drop_line: Regex,
    /// Headings of AI / automatic summary boxes (dropped with their list).
    summary_head: Regex,
    /// Headings of boxes that may repeat the body.
    box_head: Regex,
    /// Lines that are only a date.
    date_line: Regex,
    /// A labelled date stamp opening a paragraph ("UPDATED: FRIDAY, MAY 3, 2013, 9:56 AM").
    lead_stamp: Regex,
    /// The same stamp closing a paragraph after its last sentence.
    tail_stamp: Regex,
    /// A date with a clock time closing a paragraph, with no label ("... in New Zealand.
    /// 8:44AM BST 16 Sep 2013"): prose does not end in a time of day.
    tail_clock: Regex,
}

/// A date as news pages print it: "May 3, 2013", "16 Sep 2013", "2013-05-03", "5/3/13",
/// after an optional weekday.
const DATE: &str = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?(?:[a-z]{3,9}\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}\s+[a-z]{3,9}\.?\s+\d{4}|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})";

/// A time of day, and perhaps its zone (upper case only, so that the word after a stamp is
/// never taken for one).
const CLOCK: &str = r"\d{1,2}:\d{2}\s*(?:[ap]\.?m\.?)?(?:\s*(?-i:[A-Z]{1,3}T|UTC)\b)?";

/// A labelled date stamp: "Published:", "Updated", ... then a date, and perhaps a time.
fn stamp() -> String {
    format!(r"(?:published|posted|updated|last\s+updated)\s*:?\s*{DATE}(?:,?\s*(?:at\s+)?{CLOCK})?")
}

fn rules() -> &'static Rules {
    static R: OnceLock<Rules> = OnceLock::new();
    R.get_or_init(|| Rules {
        drop_contains: Regex::new(
            r"(?i)\b(?:(?:is|was)\s+republished\s+(?:here\s+)?(?:with|under|by)|getty\s+images|ap\s+photo|shutterstock|istock(?:photo)?)\b",
        )
        .expect("static regex"),
        tail_contains: Regex::new(r"(?i)\ball\s+rights\s+reserved\b").expect("static regex"),
        tail_cut: Regex::new(
            r"(?ix)^(?:
              (?:explore|discover|find|read|see|get)\s+(?:more|all)\s+(?:exclusive\s+|of\s+our\s+|the\s+latest\s+)?(?:insights|stories|news|articles|analysis|coverage|content)\b.*
            | this\s+(?:article|story|post|piece|content|report|summary|analysis|page|text)\s+(?:was|has\s+been|is|were)\s+(?:partially\s+|partly\s+|originally\s+)?(?:generated|written|produced|created|drafted|prepared|compiled|summari[sz]ed|translated)\b.*\b(?:ai|a\.i\.|artificial\s+intelligence|automated|automation|machine|automatically|language\s+model)\b.*
            | (?:this|the)\s+(?:analysis|article|story|report|summary|piece)\s+is\s+based\s+on\s+(?:reporting|reports|information|coverage|an?\s+article|content)\b.*
            | about\s+this\s+article\b.*
            | (?:ai|artificial\s+intelligence|automated\s+tools?)\s+(?:was|were)\s+used\b.*
            | (?:portions|parts|sections)\s+of\s+this\s+(?:article|story|content|report)\s+(?:was|were)\s+(?:generated|written|produced|drafted|created)\b.*
            | (?:disclosure|disclaimer|editor'?s\s+note)\s*:.*
            | (?:word\s+count|reading\s+time)\s*:?\s*\d.*
            | ai\s+tools\s+for\s+this\s+article.*
            | (?:copyright\s+)?(?:©|\(c\)|copyright)\s*(?:\d{4}|[a-z]).*
            | (?:get|sign\s+up\s+for)\s+the\s+latest\s+.*\b(?:inbox|newsletter|email)\b.*
            | (?:last\s+updated|updated)\s*:\s*.*
            | the\s+post\s+.+\s+appeared\s+first\s+on\s+.+
            )",
        )
        .expect("static regex"),
        tail_heading: Regex::new(
            r"(?ix)^(?:
              trending(?:\s+now|\s+stories|\s+news)?
            | (?:📧\s*)?stay\s+(?:updated|informed|in\s+the\s+loop)
            | share(?:\s+this)?(?:\s+article|\s+story|\s+post|\s+page)?(?:\s+on)?\s*:?
            | (?:next|previous)\s+(?:article|story|post)
            | browse\s+all\s+(?:articles|stories|news)
            | related(?:\s+articles|\s+stories|\s+posts|\s+content|\s+coverage|\s+reading|\s+news|\s+topics)?\s*:?
            | read\s+(?:next|more|this\s+next)\s*:?
            | further\s+reading
            | more\s+(?:from|on|in|about)\s+.+
            | more\s+(?:stories|news|articles)
            | recommended(?:\s+for\s+you|\s+stories|\s+articles)?
            | you\s+(?:may|might)\s+also\s+(?:like|enjoy)
            | (?:most\s+(?:read|popular|viewed|shared)|popular\s+now|top\s+stories)
            | recent\s+(?:news|posts|articles|stories)
            | latest\s+(?:news|stories|articles|posts)
            | (?:\d+\s+)?(?:reader\s+)?comments?
            | leave\s+a\s+(?:reply|comment)
            | join\s+the\s+(?:conversation|discussion)
            | conversation
            | sign\s+up\s+(?:for|to)\s+.+
            | subscribe(?:\s+to\s+.+)?
            | like\s+this\s*:?
            | share\s+this\s*:?
            | (?:tags?|topics?|filed\s+under|categories)(?:\s*:.*)?
            | insights
            | newsletter
            | about\s+the\s+author
            | (?:keep|continue)\s+reading
            | editor'?s?\s+picks?
            | don'?t\s+miss
            | (?:also\s+read|read\s+also|see\s+also)\s*:?
            | up\s+next
            | what\s+to\s+read\s+next
            | more\s+to\s+explore
            | popular\s+(?:stories|articles|posts)
            | author\s+bio
            | faqs?|frequently\s+asked\s+questions|people\s+also\s+ask|related\s+questions
            )(?:\.\.\.|…)?$",
        )
        .expect("static regex"),
        drop_line: Regex::new(
            r"(?ix)^(?:
              advertisement|advertisment|advert|ad|sponsored(?:\s+content)?|continue\s+reading(?:\s+below)?
            | story\s+continues\s+below(?:\s+advertisement)?|scroll\s+(?:down\s+)?to\s+continue.*
            | (?:image|photo|photograph|picture|video|illustration)\s*(?:courtesy|credit|by|source)s?\b.*
            | (?:image|photo|photograph|picture)s?\s*:.*
            | \(?(?:photo|image)\s+(?:credit|courtesy)\b.*
            | (?:\d+\s+)?min(?:ute)?s?\s+read
            | listen\s+to\s+this\s+article.*
            | (?:print|email|e-mail)\s+this\s+(?:article|story|page)
            | read\s+(?:more|full\s+(?:article|story))
            | share\s+(?:on|via)\s+\S+(?:\s+\S+)?
            | \d[\d.,]*\s*k?\s*(?:total\s+)?shares? | sharing\s+is\s+caring!?
            | (?:this\s+)?(?:slideshow|gallery|video|content|player|page)\s+requires\s+javascript.*
            | (?:also\s+read|read\s+also|related|read\s+more|see\s+also|recommended|more\s+coverage|watch)\s*:.*
            | this\s+(?:article|analysis|story|piece|post|report)\s+(?:was\s+|has\s+been\s+)?(?:originally|first)\s+(?:appeared|published|ran)\b.*
            )$",
        )
        .expect("static regex"),
        summary_head: Regex::new(
            r"(?ix)^(?:summari[sz]ed\s+by\s+.+|(?:ai|auto(?:matically)?)[-\s]?(?:generated\s+)?summary|summary\s+by\s+.+ai|(?:ai|quick)\s+(?:summary|recap|digest)|the\s+gist)\s*:?$",
        )
        .expect("static regex"),
        box_head: Regex::new(
            r"(?ix)^(?:key\s+(?:points|takeaways|highlights|facts)|highlights|at\s+a\s+glance|in\s+brief|summary|story\s+highlights)\s*:?$",
        )
        .expect("static regex"),
        date_line: Regex::new(
            r"(?ix)^(?:(?:published|posted|updated|last\s+updated)\s*:?\s*)?(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?(?:[a-z]{3,9}\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}\s+[a-z]{3,9}\.?\s+\d{4}|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})(?:\s*(?:at\s+)?\d{1,2}:\d{2}(?:\s*[ap]\.?m\.?)?(?:\s+[a-z]{2,4})?)?$",
        )
        .expect("static regex"),
        lead_stamp: Regex::new(&format!(r"(?i)^(?:{}\s*[,|·•-]?\s*)+", stamp()))
            .expect("static regex"),
        tail_stamp: Regex::new(&format!(r#"(?i)([.!?"”’)])(?:\s*{})+\s*$"#, stamp()))
            .expect("static regex"),
        tail_clock: Regex::new(&format!(
            r"(?i)\s*[-,|·•–]?\s*(?:{DATE}\s*[-,]?\s*(?:at\s+)?{CLOCK}|{CLOCK}\s*[-,]?\s*{DATE})\s*$"
        ))
        .expect("static regex"),
    })
}

/// `s` has at most `n` words. Stops counting at `n + 1`: every paragraph is asked this
/// several times, and counting a long one whole each time was a tenth of extraction.
fn at_most_words(s: &str, n: usize) -> bool {
    s.split_whitespace().nth(n).is_none()
}

fn ends_sentence(s: &str) -> bool {
    let t = s.trim_end_matches(['"', '\'', '”', '’', ')', ']', '»', ' ']);
    t.ends_with(['.', '!', '?', '…', '。', '！', '？'])
}

/// A short line that is not a sentence: a label, name, date or button text.
fn is_label(s: &str) -> bool {
    at_most_words(s, 6) && !ends_sentence(s) && s.chars().count() < 60
}

fn norm_key(s: &str) -> String {
    normalised(s).collect()
}

/// The characters [`norm_key`] keeps: alphanumerics, lowercased.
fn normalised(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
}

/// `norm_key(s) == key` without building the key: every paragraph is compared with the
/// titles, and almost all differ in their first characters.
fn norm_eq(s: &str, key: &str) -> bool {
    normalised(s).eq(key.chars())
}

/// 4-token shingles, tokens as in the benchmark (`\w+`).
pub(crate) fn shingles(s: &str) -> Vec<u64> {
    let toks: Vec<&str> = s
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|t| !t.is_empty())
        .collect();
    if toks.len() < 4 {
        return Vec::new();
    }
    toks.windows(4)
        .map(|w| {
            // FNV-1a: cheap, and stable across runs
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for t in w {
                for b in t.bytes().chain(std::iter::once(0xff)) {
                    h ^= u64::from(b);
                    h = h.wrapping_mul(0x0100_0000_01b3);
                }
            }
            h
        })
        .collect()
}

/// Clean a paragraph list. `title` paragraphs are removed; `cut_after` are site rules.
pub(crate) fn clean(mut paras: Vec<Para>, titles: &[String], cut_after: &[Regex]) -> Vec<Para> {
    let r = rules();
    // site rules: the first matching line and everything after it go
    if !cut_after.is_empty() {
        if let Some(i) = paras
            .iter()
            .position(|p| cut_after.iter().any(|re| re.is_match(p.text.trim())))
        {
            paras.truncate(i);
        }
    }
    strip_stamps(&mut paras);
    // lines dropped anywhere
    let title_keys: Vec<String> = titles
        .iter()
        .map(|t| norm_key(t))
        .filter(|k| k.len() >= 8)
        .collect();
    paras.retain(|p| {
        let t = p.text.trim();
        if t.is_empty() || (t.len() < 200 && r.drop_line.is_match(t)) {
            return false;
        }
        // credits and republishing notes: short, and (credits) not sentences
        if t.len() < 250
            && r.drop_contains.is_match(t)
            && (t.contains("republished") || (t.len() < 130 && !ends_sentence(t)))
        {
            return false;
        }
        if t.len() < 400 && title_keys.iter().any(|k| norm_eq(t, k)) {
            return false;
        }
        true
    });
    // AI summary boxes: the heading and the list that follows
    let mut out: Vec<Para> = Vec::with_capacity(paras.len());
    let mut in_summary = false;
    for p in paras {
        let t = p.text.trim();
        if at_most_words(t, 8) && r.summary_head.is_match(t) {
            in_summary = true;
            continue;
        }
        if in_summary {
            if p.kind == Kind::Li {
                continue;
            }
            in_summary = false;
        }
        out.push(p);
    }
    let mut paras = out;
    drop_repeated_items(&mut paras);
    // box headings left without their list
    let mut i = 0;
    while i < paras.len() {
        let t = paras[i].text.trim();
        if at_most_words(t, 4) && r.box_head.is_match(t) {
            paras.remove(i);
        } else {
            i += 1;
        }
    }
    cut_tail(&mut paras);
    cut_question_list(&mut paras);
    trim_edges(&mut paras);
    paras
}

/// List items whose sentences all appear in the paragraphs of the text: "Key Points" boxes
/// copied from the body.
fn drop_repeated_items(paras: &mut Vec<Para>) {
    if paras.len() < 3 || !paras.iter().any(|p| p.kind == Kind::Li) {
        return;
    }
    let sh: Vec<Vec<u64>> = paras.iter().map(|p| shingles(&p.text)).collect();
    // shingle -> length of the longest non-list paragraph holding it
    let mut longest: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    for (s, p) in sh.iter().zip(paras.iter()) {
        if p.kind == Kind::Li {
            continue;
        }
        let n = p.text.len();
        for h in s {
            let e = longest.entry(*h).or_insert(0);
            *e = (*e).max(n);
        }
    }
    let mut remove = vec![false; paras.len()];
    for i in 0..paras.len() {
        // (plain paragraphs are left alone: recipe-like pages repeat lines on purpose)
        if paras[i].kind != Kind::Li || sh[i].len() < 4 {
            continue;
        }
        let n = 0;
        let hit = sh[i]
            .iter()
            .filter(|h| longest.get(h).is_some_and(|&m| m > n))
            .count();
        if hit as f32 >= 0.8 * sh[i].len() as f32 {
            remove[i] = true;
        }
    }
    let mut k = 0;
    paras.retain(|_| {
        let keep = !remove[k];
        k += 1;
        keep
    });
}

/// Date stamps glued to a paragraph's prose ("UPDATED: FRIDAY, MAY 3, 2013, 9:56 AM Lindsay
/// Lohan checked into ...", "... for help. PUBLISHED: THURSDAY, MAY 2, 2013, 1:32 PM") go,
/// the prose stays: as one paragraph, the rules for furniture lines would drop its prose
/// with the stamp. A paragraph that is only a stamp is left to those rules.
fn strip_stamps(paras: &mut [Para]) {
    let r = rules();
    for p in paras.iter_mut() {
        let t = p.text.trim();
        let mut rest = t;
        if let Some(m) = r.lead_stamp.find(rest) {
            let after = &rest[m.end()..];
            if !at_most_words(after, 3) {
                rest = after;
            }
        }
        let mut end = rest.len();
        // A stamp ends in a year, a time or a zone; most paragraphs end in a full stop and
        // are not searched.
        let b = rest.as_bytes();
        let ends_with = |e: &str| {
            b.len() >= e.len() && b[b.len() - e.len()..].eq_ignore_ascii_case(e.as_bytes())
        };
        let may_end_in_stamp = b.last().is_some_and(u8::is_ascii_digit)
            || ["am", "pm", "a.m.", "p.m.", "t", "c"]
                .into_iter()
                .any(ends_with);
        if may_end_in_stamp {
            if let Some(g) = r.tail_stamp.captures(rest).and_then(|c| c.get(1)) {
                if !at_most_words(&rest[..g.end()], 3) {
                    end = g.end();
                }
            } else if let Some(m) = r.tail_clock.find(rest) {
                if !at_most_words(&rest[..m.start()], 3) {
                    end = m.start();
                }
            }
        }
        let rest = &rest[..end];
        if rest.len() != t.len() {
            p.text = rest.to_string();
        }
    }
}

/// Cut at the first furniture line after the start of the body. When real prose follows the
/// line (a "Read more" button mid-article), only the line goes.
fn cut_tail(paras: &mut Vec<Para>) {
    let r = rules();
    let total: usize = paras.iter().map(|p| p.text.len()).sum();
    if total == 0 {
        return;
    }
    let is_prose = |p: &Para| {
        let t = p.text.trim();
        p.kind != Kind::Li && t.len() >= 100 && ends_sentence(t) && !t.ends_with('?')
    };
    let prose = |p: &Para| if is_prose(p) { p.text.trim().len() } else { 0 };
    let mut seen = 0usize;
    let mut i = 0;
    while i < paras.len() {
        let t = paras[i].text.trim();
        // never before a quarter of the text (and never the first paragraph)
        if i > 0 && seen * 4 >= total {
            let heading_like = is_label(t) || paras[i].kind == Kind::Heading && at_most_words(t, 8);
            let strong = t.len() < 600
                && (r.tail_cut.is_match(t) || (t.len() < 320 && r.tail_contains.is_match(t)));
            let weak = !strong && heading_like && r.tail_heading.is_match(t);
            if strong || weak {
                let before: usize = paras[..i].iter().map(prose).sum();
                let after: usize = paras[i + 1..].iter().map(prose).sum();
                // sentences after a furniture heading mean it sits inside the article
                let sentences_after: usize = paras[i + 1..]
                    .iter()
                    .filter(|p| {
                        let t = p.text.trim();
                        p.kind != Kind::Li && t.len() >= 40 && ends_sentence(t) && !t.ends_with('?')
                    })
                    .map(|p| p.text.len())
                    .sum();
                // prose after the line from the same container as prose before it: the line
                // sits inside the article
                let continued = paras[i + 1..].iter().any(|a| {
                    a.group != NO_GROUP
                        && is_prose(a)
                        && paras[..i].iter().any(|b| b.group == a.group && is_prose(b))
                });
                let cut = if strong {
                    !continued && after * 10 < before * 3
                } else {
                    !continued && sentences_after < 200
                };
                if cut {
                    paras.truncate(i);
                    return;
                }
                paras.remove(i);
                continue;
            }
        }
        seen += paras[i].text.len();
        i += 1;
    }
}

/// A run of questions closing the text ("Insights": What are...? How might...?), with the
/// heading above it and any short footer lines after it.
fn cut_question_list(paras: &mut Vec<Para>) {
    let mut end = paras.len();
    // footer labels after the list
    while end > 0 && is_label(paras[end - 1].text.trim()) && !paras[end - 1].text.ends_with('?') {
        end -= 1;
    }
    let mut start = end;
    while start > 0 {
        let t = paras[start - 1].text.trim();
        if t.ends_with('?') && at_most_words(t, 40) {
            start -= 1;
        } else {
            break;
        }
    }
    if end - start < 3 || start == 0 {
        return;
    }
    let mut cut = start;
    if cut > 0 && is_label(paras[cut - 1].text.trim()) {
        cut -= 1;
    }
    if cut > 0 {
        paras.truncate(cut);
    }
}

/// A short line that carries a date (a year, with a time or few words) and is no sentence:
/// "Updated 11:21 pm CST, Tuesday, November 19, 2019", "segunda-feira, 22 de janeiro de 2018".
fn is_dateish(t: &str) -> bool {
    static YEAR: OnceLock<Regex> = OnceLock::new();
    let year = YEAR.get_or_init(|| Regex::new(r"\b(?:19|20)\d{2}\b").expect("static regex"));
    t.len() < 120
        && !ends_sentence(t)
        && year.is_match(t)
        && (at_most_words(t, 8)
            || t.bytes().filter(|&b| b == b':').count() == 1
            || t.contains(['|', '•', '·']))
}

/// A meta line over an article: "Source: NextFin News · 1 min read", "Opinion | 5 min read".
fn is_meta_line(t: &str) -> bool {
    let l = t.to_lowercase();
    t.len() < 100
        && !ends_sentence(t)
        && (t.contains(['·', '|', '•'])
            || l.contains("min read")
            || l.contains("minute read")
            || l.starts_with("source:"))
}

/// "By Jane Doe", "Written by A | Reviewed by B | March 20, 2026".
fn is_byline(t: &str) -> bool {
    let l = t.to_ascii_lowercase();
    let l = l
        .strip_prefix("written ")
        .or_else(|| l.strip_prefix("reported "))
        .or_else(|| l.strip_prefix("posted "))
        .or_else(|| l.strip_prefix("published "))
        .unwrap_or(&l);
    l.starts_with("by ") && t.len() < 150 && !ends_sentence(t)
}

/// Calls to action that close many articles: follow us, newsletters, tips, comments.
fn is_call_to_action(t: &str) -> bool {
    static CTA: OnceLock<Regex> = OnceLock::new();
    let re = CTA.get_or_init(|| {
        Regex::new(
            r"(?ix)\b(?:follow\s+(?:\S+\s+){0,6}?on\s+(?:facebook|twitter|instagram|linkedin|threads|bluesky|mastodon)
            | sign\s+up\s+(?:for|to)\b | subscribe\s+(?:to|for|now|today)\b | newsletter
            | delivered\s+(?:to|through)\s+your\s+(?:inbox|letterbox|door)
            | join\s+(?:our|the)\s+(?:\S+\s+){0,4}?(?:forums?|community|conversation|discussion)
            | (?:may|can)\s+be\s+reached\s+at | have\s+a\s+(?:news\s+)?tip
            | what\s+you\s+think | share\s+your\s+(?:thoughts|views|story)
            | click\s+here | download\s+(?:our|the)\s+app | follow\s+us\b)",
        )
        .expect("static regex")
    });
    t.len() < 400 && re.is_match(t)
}

/// A site's own notices that land beside an article on many pages, in the languages news is
/// most read in: cookie notices, old-browser and JavaScript warnings, share dialogs, "follow
/// this blog" boxes, subscription prompts. Short lines only (a paragraph of an article
/// about cookies is longer).
fn is_site_notice(t: &str) -> bool {
    static NOTICE: OnceLock<Regex> = OnceLock::new();
    let re = NOTICE.get_or_init(|| {
        Regex::new(
            r"(?ix)\b(?:(?:this|our)\s+(?:web\s?)?site\s+uses\s+cookies | we\s+use\s+cookies
            | by\s+continuing\s+to\s+(?:use|browse) | accept\s+(?:all\s+)?cookies
            | your\s+browser\s+is\s+(?:out\s+of\s+date|outdated|not\s+supported)
            | (?:update|upgrade)\s+your\s+browser | javascript\s+is\s+(?:disabled|required|turned\s+off)
            | enable\s+javascript | requires\s+javascript | follow\s+this\s+blog | share\s+this\s+(?:article|story|post|page)
            | link\s+copied | copy\s+link
            | diese\s+(?:website|webseite|seite)\s+(?:verwendet|nutzt)\s+cookies | wir\s+verwenden\s+cookies
            | ihr\s+browser\s+ist\s+veraltet | artikel\s+teilen | jetzt\s+abonnieren
            | ce\s+site\s+utilise\s+des\s+cookies | nous\s+utilisons\s+des\s+cookies
            | partager\s+(?:cet\s+article|sur) | abonnez-vous
            | este\s+sitio(?:\s+web)?\s+utiliza\s+cookies | utilizamos\s+cookies
            | compartir\s+(?:en|este) | suscr[ií]bete
            | questo\s+sito\s+utilizza\s+(?:i\s+)?cookie | utilizziamo\s+i\s+cookie
            | condividi\s+(?:su|questo) | iscriviti\s+alla
            | este\s+site\s+utiliza\s+cookies | (?:partilhar|compartilhar)\s+(?:no|este|esta)
            | deze\s+(?:website|site)\s+gebruikt\s+cookies | wij\s+gebruiken\s+cookies)",
        )
        .expect("static regex")
    });
    t.len() < 250 && re.is_match(t)
}

/// Short non-sentence lines before the first and after the last real paragraph: bylines,
/// dates, kickers, footer labels, button texts, closing calls to action.
fn trim_edges(paras: &mut Vec<Para>) {
    let r = rules();
    while let Some(last) = paras.last() {
        let t = last.text.trim();
        if paras.len() > 1
            && (is_label(t)
                || r.date_line.is_match(t)
                || is_dateish(t)
                || is_call_to_action(t)
                || is_site_notice(t))
        {
            paras.pop();
        } else {
            break;
        }
    }
    let mut lead = 0;
    while lead + 1 < paras.len() {
        let t = paras[lead].text.trim();
        let heads_list = paras[lead + 1].kind == Kind::Li;
        let is_lead_junk = (is_label(t) && !heads_list)
            || r.date_line.is_match(t)
            || is_dateish(t)
            || is_byline(t)
            || is_meta_line(t)
            || is_site_notice(t);
        if is_lead_junk {
            lead += 1;
        } else {
            break;
        }
    }
    if lead > 0 {
        paras.drain(..lead);
    }
}

/// A one- or two-word line (a site name) above a longer headline line.
pub(crate) fn is_site_label(first: &str, second: &str) -> bool {
    at_most_words(first, 2)
        && !ends_sentence(first)
        && !at_most_words(second, 3)
        && first.len() < 30
}

/// Split plain text into paragraphs: blank lines and single newlines both separate; bullet
/// markers make list items.
pub(crate) fn split_plain(text: &str) -> Vec<Para> {
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let (kind, body) = match t.strip_prefix(['•', '-', '*', '–', '·', '▪']) {
            Some(rest) if rest.starts_with(' ') || t.starts_with('•') => (Kind::Li, rest.trim()),
            _ => (Kind::P, t),
        };
        if body.is_empty() {
            continue;
        }
        let kind = if kind == Kind::P && is_label(body) {
            Kind::Heading
        } else {
            kind
        };
        out.push(Para {
            text: super::html::collapse_ws(body),
            kind,
            group: NO_GROUP,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn para(t: &str, kind: Kind) -> Para {
        Para {
            text: t.into(),
            kind,
            group: NO_GROUP,
        }
    }

    fn p(t: &str) -> Para {
        para(t, Kind::P)
    }

    #[test]
    fn stamps_glued_to_prose_go_and_the_prose_stays() {
        let first = "Actress Lindsay Lohan finally checked into court-mandated rehab late Thursday, after hiring her former lawyer for help.";
        let second = "Lindsay Lohan checked into the rehab facility late Thursday, dodging arrest after whirlwind confusion surrounding the actress' whereabouts, sources said.";
        let third = "It's the same place the troubled starlet sought help in 2010.";
        let paras = vec![
            p(&format!(
                "{first} PUBLISHED: THURSDAY, MAY 2, 2013, 1:32 PM"
            )),
            p(&format!("UPDATED: FRIDAY, MAY 3, 2013, 9:56 AM {second}")),
            p(third),
        ];
        let out = clean(paras, &[], &[]);
        let texts: Vec<&str> = out.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, [first, second, third]);
        // Several stamps in a row, a zone, and prose that opens with a short word.
        let mut v = vec![p(&format!(
            "Published: March 13, 2013 2:29 pm EDT | Updated: March 14, 2013 at 9:31 am The {second}"
        ))];
        strip_stamps(&mut v);
        assert_eq!(v[0].text, format!("The {second}"));
        // A date with a time of day closing a paragraph, with no label, before or after it.
        for (text, want) in [
            (
                "One Australian and one English climber have fallen to their deaths in New Zealand. 8:44AM BST 16 Sep 2013",
                "One Australian and one English climber have fallen to their deaths in New Zealand.",
            ),
            (
                "IE6 through IE11 harbor the vulnerability, but attacks are limited to IE8 and IE9 September 17, 2013 03:16 PM ET",
                "IE6 through IE11 harbor the vulnerability, but attacks are limited to IE8 and IE9",
            ),
            (
                "Lopez's sentence date is May 7. April 24, 2013-4:45pm",
                "Lopez's sentence date is May 7.",
            ),
        ] {
            let mut v = vec![p(text)];
            strip_stamps(&mut v);
            assert_eq!(v[0].text, want);
        }
        // A stamp alone, and prose that only mentions an update, are left as they are, and so
        // is prose that ends in a date without a time.
        let mut v = vec![
            p("Updated: March 14, 2013 9:31 AM"),
            p("Officials updated the count on Friday. Updated figures came later."),
            p("The trial of the three men was set for September 14, 2013"),
            p("Doors open at 10:30 and the vote closes at 20:00"),
        ];
        let before: Vec<String> = v.iter().map(|p| p.text.clone()).collect();
        strip_stamps(&mut v);
        let after: Vec<String> = v.iter().map(|p| p.text.clone()).collect();
        assert_eq!(before, after);
    }

    #[test]
    fn site_notices_at_the_edges_go() {
        let body = "The council voted on Tuesday to rebuild the old tram line by 2030, the mayor said, after years of debate.";
        for notice in [
            "This website uses cookies to improve your experience.",
            "Your browser is out of date. Please update your browser.",
            "Follow this blog",
            "Diese Website verwendet Cookies.",
            "Ce site utilise des cookies pour améliorer votre expérience.",
            "Este sitio web utiliza cookies.",
            "Questo sito utilizza cookie di profilazione.",
            "Link copied",
        ] {
            let mut v = vec![p(notice), p(body), p(body), p(notice)];
            trim_edges(&mut v);
            assert_eq!(v.len(), 2, "{notice}");
        }
        // An article paragraph about cookies is not a notice (too long).
        let long = format!("{body} Regulators said that a site which says we use cookies must also let readers refuse them as easily as they accept them, and fined three publishers. {body}");
        let mut v = vec![p(body), p(&long)];
        trim_edges(&mut v);
        assert_eq!(v.len(), 2);
    }

    /// Share bars' counters and labels, a script's "requires JavaScript" notice and a
    /// related list under a heading that trails off go; the article stays.
    #[test]
    fn share_counters_script_notices_and_trailing_headings_go() {
        let a = "The council voted on Tuesday to rebuild the old tram line by 2030, the mayor said, after years of debate.";
        let b = "Work on the first section is due to start next spring, with trams running again three years later.";
        let c = "Opponents said the money would be better spent on buses, and promised to fight the plan in court.";
        let paras = vec![
            p("Sharing is caring!"),
            p("0shares"),
            p(a),
            p("1.2K Shares"),
            p("This slideshow requires JavaScript."),
            p(b),
            p(c),
            para("You may also like...", Kind::Heading),
            p("Bus fares to rise in the spring"),
            p("New cycle lanes open on the ring road"),
        ];
        let out = clean(paras, &[], &[]);
        let texts: Vec<&str> = out.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, [a, b, c]);
        // A sentence about shares is prose.
        let shares = "The company said 40,000 shares changed hands before the vote.";
        let out = clean(vec![p(a), p(shares), p(b)], &[], &[]);
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn word_limits_count_only_as_far_as_needed() {
        assert!(at_most_words("", 0));
        assert!(at_most_words("  one  two ", 2));
        assert!(!at_most_words("one two three", 2));
        assert!(at_most_words("one two three", 3));
        assert!(!at_most_words(&"word ".repeat(10_000), 40));
    }

    #[test]
    fn title_lines_compare_normalised_without_a_key() {
        let key = norm_key("Microsoft weighs legal action — OpenAI's deal");
        assert!(norm_eq(
            "MICROSOFT weighs legal action: OpenAI’s deal!",
            &key
        ));
        assert!(!norm_eq("Microsoft weighs legal action", &key));
        assert!(!norm_eq(
            "Microsoft weighs legal action — OpenAI's deal, again",
            &key
        ));
        assert!(norm_eq("", ""));
    }

    #[test]
    fn tail_rules_do_not_fire_at_the_start() {
        let paras = vec![
            p("Share this article:"),
            p("A long first paragraph of the article that says something, with commas, and more words."),
            p("A second paragraph follows here with more words and a full stop at the end."),
        ];
        let out = clean(paras, &[], &[]);
        assert_eq!(out.len(), 2);
        assert!(out[0].text.starts_with("A long first"));
    }
}
