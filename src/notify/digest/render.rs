//! Rendering the daily digest: subject, plain text and HTML.
//!
//! Rendering is pure so `wirewatch digest --preview` and the sender produce the
//! same bytes. The HTML is written for mail clients rather than browsers: one
//! simple layout table, inline styles only, no `<style>` block, no images or
//! other external assets, and every field HTML-escaped (titles and excerpts
//! come from arbitrary web pages). Only http(s) URLs become links.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::notify::{one_line, truncate_chars, EXCERPT_CHARS};
/// Width to which plain-text paragraphs are wrapped.
const TEXT_WIDTH: usize = 76;

/// One article in the digest.
#[derive(Clone, Debug, PartialEq)]
pub struct DigestItem {
    /// The outlet (feed or site name).
    pub outlet: String,
    /// The article's title.
    pub title: String,
    /// The article's URL (linked only if it is http or https).
    pub url: String,
    /// When the article appeared (shown in the digest's time zone).
    pub time: DateTime<Utc>,
    /// A short excerpt (shortened further if long).
    pub excerpt: String,
    /// The reader marked it off-topic after it alerted (`wirewatch feedback`).
    pub marked_off_topic: bool,
}

/// One story with the articles of the period that belong to it.
#[derive(Clone, Debug, PartialEq)]
pub struct DigestStory {
    /// Story id.
    pub id: String,
    /// Story title.
    pub title: String,
    /// Its articles, rendered in the order given.
    pub items: Vec<DigestItem>,
}

/// Everything a digest shows.
#[derive(Clone, Debug, PartialEq)]
pub struct DigestInput {
    /// The local date the digest covers (shown in subject and heading).
    pub day: NaiveDate,
    /// The monitored topic.
    pub topic: String,
    /// Stories, newest story first (rendered in the order given).
    pub stories: Vec<DigestStory>,
    /// How many duplicate articles were suppressed in the period.
    pub suppressed_duplicates: usize,
    /// How many off-topic articles were suppressed in the period.
    pub suppressed_offtopic: usize,
    /// Time zone in which item times are shown.
    pub timezone: Tz,
}

/// A rendered digest, ready for a multipart/alternative mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedDigest {
    /// Subject line (one line, no control characters).
    pub subject: String,
    /// The text/plain part.
    pub text: String,
    /// The text/html part (a complete document).
    pub html: String,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Escapes text for HTML element content and double- or single-quoted attributes (the
/// `html-escape` crate, as the status page does).
pub fn html_escape(text: &str) -> String {
    html_escape::encode_quoted_attribute(text).into_owned()
}

/// The URL to link to, if it is a well-formed http(s) URL (never `javascript:` etc.).
fn safe_link(url: &str) -> Option<url::Url> {
    url::Url::parse(url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// Local time of an item: "08:15 CEST", with the date when it is not the digest's day.
fn local_time(time: DateTime<Utc>, tz: Tz, day: NaiveDate) -> String {
    let local = time.with_timezone(&tz);
    if local.date_naive() == day {
        local.format("%H:%M %Z").to_string()
    } else {
        local.format("%-d %b %H:%M %Z").to_string()
    }
}

/// Greedy word wrap for the plain-text part; each line gets `indent`.
fn wrap(text: &str, indent: &str, out: &mut String) {
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty()
            && indent.len() + line.chars().count() + 1 + word.chars().count() > TEXT_WIDTH
        {
            let _ = writeln!(out, "{indent}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{indent}{line}");
    }
}

/// A story with its items, in the order the caller gave them.
struct Prepared<'a> {
    story: &'a DigestStory,
    items: Vec<&'a DigestItem>,
}

fn prepare(input: &DigestInput) -> Vec<Prepared<'_>> {
    input
        .stories
        .iter()
        .map(|story| Prepared {
            story,
            items: story.items.iter().collect(),
        })
        .collect()
}

fn or_untitled(text: &str) -> String {
    let text = one_line(text);
    if text.is_empty() {
        "(untitled)".to_string()
    } else {
        text
    }
}

/// Renders the digest: subject, plain text and HTML, grouped by story in the
/// order given (newest story first), items in the order given, times in the
/// digest's time zone, and the counts of suppressed duplicates and off-topic items.
pub fn render_digest(input: &DigestInput) -> RenderedDigest {
    let stories = prepare(input);
    let n_stories = stories.len();
    let n_items: usize = stories.iter().map(|s| s.items.len()).sum();
    let topic = or_untitled(&input.topic);
    let day_iso = input.day.format("%Y-%m-%d").to_string();
    let day_long = input.day.format("%A, %-d %B %Y").to_string();
    let tz_name = input.timezone.name();

    let subject = subject_line(n_stories, n_items, &topic, &day_iso);
    let (summary, suppressed) = counts(input, &stories);

    // ---- text/plain
    let mut text = String::new();
    let _ = writeln!(text, "wirewatch daily digest: {topic}");
    let _ = writeln!(text, "{day_long} (times in {tz_name})");
    let _ = writeln!(text);
    let _ = writeln!(text, "{summary} {suppressed}");
    if n_stories == 0 {
        let _ = writeln!(text);
        let _ = writeln!(text, "No new articles on this topic in this period.");
    }
    text_stories(input, &stories, &mut text);

    // ---- text/html
    let mut html = html_head(&subject);
    let _ = writeln!(
        html,
        "<h1 style=\"margin:0 0 4px 0;font-size:22px;line-height:1.3;color:#18181b;\">{}</h1>",
        html_escape(&topic)
    );
    let _ = writeln!(
        html,
        "<p style=\"margin:0 0 16px 0;font-size:14px;color:#52525b;\">{} &middot; times in {}</p>",
        html_escape(&day_long),
        html_escape(tz_name)
    );
    let _ = writeln!(
        html,
        "<p style=\"margin:0 0 8px 0;padding:10px 12px;background-color:#f4f4f5;font-size:14px;color:#3f3f46;\">\
         <strong>{}</strong> {}</p>",
        html_escape(&summary),
        html_escape(&suppressed)
    );
    if n_stories == 0 {
        let _ = writeln!(
            html,
            "<p style=\"margin:16px 0 0 0;color:#52525b;\">No new articles on this topic in this period.</p>"
        );
    }
    html_stories(input, &stories, &mut html, "h2", 18);
    finish(&subject, text, html)
}

/// The subject: how many stories and articles, on what, for which day.
fn subject_line(n_stories: usize, n_items: usize, on: &str, day_iso: &str) -> String {
    if n_stories == 0 {
        format!("wirewatch: no new stories on {on} ({day_iso})")
    } else {
        format!(
            "wirewatch: {}, {} on {on} ({day_iso})",
            plural(n_stories, "new story", "new stories"),
            plural(n_items, "article", "articles"),
        )
    }
}

/// The digest: both parts signed off and closed.
fn finish(subject: &str, mut text: String, mut html: String) -> RenderedDigest {
    let _ = writeln!(text);
    let _ = writeln!(text, "-- ");
    let _ = writeln!(text, "Sent by wirewatch.");
    let _ = write!(
        html,
        "<p style=\"margin:24px 0 0 0;padding-top:12px;border-top:1px solid #e4e4e7;font-size:12px;color:#a1a1aa;\">Sent by wirewatch.</p>\n\
         </td></tr></table>\n</td></tr></table>\n</body>\n</html>\n"
    );
    RenderedDigest {
        subject: one_line(subject),
        text,
        html,
    }
}

/// The start of the HTML part, up to the "wirewatch daily digest" line.
fn html_head(subject: &str) -> String {
    const FONT: &str = "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;";
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n</head>\n\
         <body style=\"margin:0;padding:0;background-color:#f4f4f5;\">\n\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"background-color:#f4f4f5;\">\
         <tr><td align=\"center\" style=\"padding:24px 12px;\">\n\
         <table role=\"presentation\" width=\"640\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" \
         style=\"width:100%;max-width:640px;background-color:#ffffff;border:1px solid #e4e4e7;\">\
         <tr><td style=\"padding:24px;{FONT}font-size:15px;line-height:1.5;color:#18181b;text-align:left;\">\n",
        html_escape(subject)
    );
    let _ = writeln!(
        html,
        "<p style=\"margin:0 0 4px 0;font-size:12px;letter-spacing:0.05em;text-transform:uppercase;color:#71717a;\">wirewatch daily digest</p>"
    );
    html
}

/// The plain-text lines of a section's stories.
fn text_stories(input: &DigestInput, stories: &[Prepared<'_>], text: &mut String) {
    for (i, prepared) in stories.iter().enumerate() {
        let _ = writeln!(*text);
        let _ = writeln!(
            text,
            "{}. {} ({})",
            i + 1,
            or_untitled(&prepared.story.title),
            plural(prepared.items.len(), "article", "articles")
        );
        for item in &prepared.items {
            let _ = writeln!(*text);
            let _ = writeln!(
                text,
                "   - {}: {}{}",
                or_untitled(&item.outlet),
                or_untitled(&item.title),
                if item.marked_off_topic {
                    " [marked off-topic]"
                } else {
                    ""
                }
            );
            let time = local_time(item.time, input.timezone, input.day);
            match safe_link(&item.url) {
                Some(url) => {
                    let _ = writeln!(*text, "     {time} · {url}");
                }
                None => {
                    let _ = writeln!(*text, "     {time}");
                }
            }
            let excerpt = truncate_chars(&one_line(&item.excerpt), EXCERPT_CHARS);
            wrap(&excerpt, "     ", text);
        }
    }
}

/// The HTML of a section's stories, each under an `h` heading of `size` pixels.
fn html_stories(
    input: &DigestInput,
    stories: &[Prepared<'_>],
    html: &mut String,
    h: &str,
    size: u32,
) {
    for prepared in stories {
        let _ = writeln!(
            *html,
            "<{h} style=\"margin:24px 0 8px 0;padding-top:16px;border-top:1px solid #e4e4e7;font-size:{size}px;line-height:1.3;color:#18181b;\">\
             {} <span style=\"font-size:14px;font-weight:normal;color:#71717a;\">&middot; {}</span></{h}>",
            html_escape(&or_untitled(&prepared.story.title)),
            html_escape(&plural(prepared.items.len(), "article", "articles"))
        );
        for item in &prepared.items {
            let title = html_escape(&or_untitled(&item.title));
            let title_html = match safe_link(&item.url) {
                Some(url) => format!(
                    "<a href=\"{}\" style=\"color:#1d4ed8;text-decoration:underline;\">{title}</a>",
                    html_escape(url.as_str())
                ),
                None => title,
            };
            let excerpt = truncate_chars(&one_line(&item.excerpt), EXCERPT_CHARS);
            let _ = writeln!(
                *html,
                "<div style=\"margin:0 0 16px 0;\">\n\
                 <p style=\"margin:0;font-size:13px;color:#71717a;\"><strong style=\"color:#3f3f46;\">{}</strong> &middot; {}</p>\n\
                 <p style=\"margin:2px 0 0 0;font-size:16px;line-height:1.35;font-weight:bold;\">{title_html}{}</p>",
                html_escape(&or_untitled(&item.outlet)),
                html_escape(&local_time(item.time, input.timezone, input.day)),
                if item.marked_off_topic {
                    " <span style=\"font-size:12px;font-weight:normal;color:#71717a;\">[marked off-topic]</span>"
                } else {
                    ""
                },
            );
            if !excerpt.is_empty() {
                let _ = writeln!(
                    *html,
                    "<p style=\"margin:4px 0 0 0;font-size:14px;color:#3f3f46;\">{}</p>",
                    html_escape(&excerpt)
                );
            }
            let _ = writeln!(*html, "</div>");
        }
    }
}

/// The counts line of a section: stories and articles, then what was suppressed.
fn counts(input: &DigestInput, stories: &[Prepared<'_>]) -> (String, String) {
    let n_items: usize = stories.iter().map(|s| s.items.len()).sum();
    (
        format!(
            "{}, {}.",
            plural(stories.len(), "story", "stories"),
            plural(n_items, "article", "articles")
        ),
        format!(
            "Suppressed: {} and {}.",
            plural(input.suppressed_duplicates, "duplicate", "duplicates"),
            plural(
                input.suppressed_offtopic,
                "off-topic item",
                "off-topic items"
            ),
        ),
    )
}

/// Renders a digest of several topics, one section per topic in the order given (a topic
/// with nothing new says so in one line). One section is [`render_digest`]'s digest.
pub fn render_digest_sections(sections: &[DigestInput]) -> RenderedDigest {
    let [first, rest @ ..] = sections else {
        return RenderedDigest {
            subject: "wirewatch: no topics".into(),
            text: String::new(),
            html: String::new(),
        };
    };
    if rest.is_empty() {
        return render_digest(first);
    }
    let prepared: Vec<Vec<Prepared<'_>>> = sections.iter().map(prepare).collect();
    let n_stories: usize = prepared.iter().map(Vec::len).sum();
    let n_items: usize = prepared.iter().flatten().map(|s| s.items.len()).sum();
    let day_iso = first.day.format("%Y-%m-%d").to_string();
    let day_long = first.day.format("%A, %-d %B %Y").to_string();
    let tz_name = first.timezone.name();
    let topics = plural(sections.len(), "topic", "topics");
    let subject = subject_line(n_stories, n_items, &topics, &day_iso);
    let mut text = String::new();
    let _ = writeln!(text, "wirewatch daily digest: {topics}");
    let _ = writeln!(text, "{day_long} (times in {tz_name})");
    let mut html = html_head(&subject);
    let _ = writeln!(
        html,
        "<p style=\"margin:0 0 16px 0;font-size:14px;color:#52525b;\">{} &middot; times in {}</p>",
        html_escape(&day_long),
        html_escape(tz_name)
    );
    for (input, stories) in sections.iter().zip(&prepared) {
        let topic = or_untitled(&input.topic);
        let (summary, suppressed) = counts(input, stories);
        let _ = writeln!(text);
        let _ = writeln!(text, "== {topic} ==");
        if stories.is_empty() {
            let _ = writeln!(
                text,
                "No new articles on this topic in this period. {suppressed}"
            );
        } else {
            let _ = writeln!(text, "{summary} {suppressed}");
        }
        text_stories(input, stories, &mut text);
        let _ = writeln!(
            html,
            "<h2 style=\"margin:28px 0 4px 0;padding:8px 12px;background-color:#18181b;color:#ffffff;font-size:20px;line-height:1.3;\">{}</h2>",
            html_escape(&topic)
        );
        let _ = writeln!(
            html,
            "<p style=\"margin:0 0 8px 0;padding:10px 12px;background-color:#f4f4f5;font-size:14px;color:#3f3f46;\">{}</p>",
            html_escape(&if stories.is_empty() {
                format!("No new articles on this topic in this period. {suppressed}")
            } else {
                format!("{summary} {suppressed}")
            })
        );
        html_stories(input, stories, &mut html, "h3", 17);
    }
    finish(&subject, text, html)
}
