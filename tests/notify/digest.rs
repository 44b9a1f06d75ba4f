//! Digest rendering on the scenario's labelled articles, and escaping.

use crate::common;

use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use wirewatch::notify::{render_digest, DigestInput, DigestItem, DigestStory};

#[test]
fn scenario_digest_groups_by_story_newest_first() {
    let input = common::scenario_digest(Berlin);
    let n_items: usize = input.stories.iter().map(|s| s.items.len()).sum();
    assert_eq!((input.stories.len(), n_items), (7, 18), "labelled dev set");
    let out = render_digest(&input);

    assert_eq!(
        out.subject,
        format!(
            "wirewatch: 7 new stories, 18 articles on Microsoft vs OpenAI & Amazon: the AWS Frontier deal ({})",
            input.day
        )
    );
    // Suppressed counts: 10 seed duplicates + 4 repeats, 14 irrelevant.
    assert!(out
        .text
        .contains("Suppressed: 14 duplicates and 14 off-topic items."));
    assert!(out
        .html
        .contains("Suppressed: 14 duplicates and 14 off-topic items."));

    // Stories appear in the order given (newest first), in both parts.
    let mut last_text = 0;
    let mut last_html = 0;
    for story in &input.stories {
        let t = out.text.find(&story.title).expect("story in text");
        let h = out
            .html
            .find(&wirewatch::notify::digest::render::html_escape(
                &story.title,
            ))
            .expect("story in html");
        assert!(t > last_text && h > last_html, "order of {}", story.id);
        last_text = t;
        last_html = h;
    }
    // Every item: outlet, linked title, local time, excerpt start.
    for story in &input.stories {
        for item in &story.items {
            let href = format!("<a href=\"{}\"", item.url);
            assert!(out.html.contains(&href), "link for {}", item.url);
            let title = wirewatch::notify::digest::render::html_escape(&item.title);
            assert!(out.html.contains(&format!("{title}</a>")), "{title}");
            assert!(out
                .html
                .contains(&wirewatch::notify::digest::render::html_escape(
                    &item.outlet
                )));
            assert!(out
                .text
                .contains(&format!("{}: {}", item.outlet, item.title)));
            assert!(out.text.contains(&item.url));
        }
    }
    // Items within a story in the order given (the caller's choice).
    let ftc = input
        .stories
        .iter()
        .find(|s| s.id == "ftc-inquiry")
        .expect("ftc");
    let positions: Vec<usize> = ftc
        .items
        .iter()
        .map(|i| out.text.find(&i.title).expect("item"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");

    // Mail-client friendly: inline styles only, nothing fetched from outside.
    for banned in [
        "<style", "<link", "<img", "<script", "url(", "src=", "class=",
    ] {
        assert!(!out.html.contains(banned), "{banned}");
    }
    assert!(out.html.starts_with("<!DOCTYPE html>"));
    assert!(out.html.contains("<meta charset=\"utf-8\">"));
}

#[test]
fn times_are_local_with_zone_abbreviation() {
    let day = NaiveDate::from_ymd_opt(2026, 3, 29).expect("date");
    let item = |h: u32, m: u32| DigestItem {
        outlet: "NextFin".into(),
        title: format!("at {h}:{m}"),
        url: "https://example.org/a".into(),
        time: Utc.with_ymd_and_hms(2026, 3, 29, h, m, 0).unwrap(),
        excerpt: String::new(),
        marked_off_topic: false,
    };
    let input = DigestInput {
        day,
        topic: "t".into(),
        stories: vec![DigestStory {
            id: "s".into(),
            title: "S".into(),
            items: vec![item(0, 30), item(1, 30)],
        }],
        suppressed_duplicates: 0,
        suppressed_offtopic: 1,
        timezone: Berlin,
    };
    let out = render_digest(&input);
    // 00:30 UTC is 01:30 CET; 01:30 UTC is 03:30 CEST (after the spring-forward).
    assert!(out.text.contains("01:30 CET"), "{}", out.text);
    assert!(out.text.contains("03:30 CEST"), "{}", out.text);
    assert!(out.html.contains("01:30 CET"));
    assert!(out
        .text
        .contains("Sunday, 29 March 2026 (times in Europe/Berlin)"));
    assert_eq!(
        out.subject,
        "wirewatch: 1 new story, 2 articles on t (2026-03-29)"
    );
    assert!(out
        .text
        .contains("Suppressed: 0 duplicates and 1 off-topic item."));
    // An item from the day before shows its date.
    let mut input = input;
    input.stories[0].items[0].time = Utc.with_ymd_and_hms(2026, 3, 28, 12, 0, 0).unwrap();
    let out = render_digest(&input);
    assert!(out.text.contains("28 Mar 13:00 CET"), "{}", out.text);
}

#[test]
fn hostile_fields_are_escaped_and_bad_urls_not_linked() {
    let day = NaiveDate::from_ymd_opt(2026, 4, 8).expect("date");
    let input = DigestInput {
        day,
        topic: "AI <b>act</b>".into(),
        stories: vec![DigestStory {
            id: "s1".into(),
            title: "<script>alert('story')</script>".into(),
            items: vec![
                DigestItem {
                    outlet: "Evil \"Outlet\" <img src=x onerror=alert(1)>".into(),
                    title: "<script>alert(1)</script> & co".into(),
                    url: "javascript:alert(1)".into(),
                    time: Utc.with_ymd_and_hms(2026, 4, 8, 6, 0, 0).unwrap(),
                    excerpt: "Line one\n\n<iframe src=\"http://evil\"></iframe>\u{7} end".into(),
                    marked_off_topic: false,
                },
                DigestItem {
                    outlet: "Fine".into(),
                    title: "Quote \" breaks".into(),
                    url: "https://example.org/a?x=\"><script>".into(),
                    time: Utc.with_ymd_and_hms(2026, 4, 8, 5, 0, 0).unwrap(),
                    excerpt: "ok".into(),
                    marked_off_topic: false,
                },
            ],
        }],
        suppressed_duplicates: 3,
        suppressed_offtopic: 0,
        timezone: Berlin,
    };
    let out = render_digest(&input);
    for banned in [
        "<script",
        "<img",
        "<iframe",
        "<b>",
        "javascript:",
        "onerror=alert(1)>",
    ] {
        assert!(!out.html.contains(banned), "{banned} in html");
    }
    assert!(out
        .html
        .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
    assert!(out
        .html
        .contains("&lt;script&gt;alert(&#x27;story&#x27;)&lt;/script&gt;"));
    assert!(out
        .html
        .contains("Evil &quot;Outlet&quot; &lt;img src=x onerror=alert(1)&gt;"));
    // The javascript: item is shown unlinked; the quoted URL is percent-encoded by URL parsing.
    assert_eq!(out.html.matches("<a href=").count(), 1);
    assert!(
        out.html
            .contains("<a href=\"https://example.org/a?x=%22%3E%3Cscript%3E\""),
        "{}",
        out.html
    );
    assert!(out.html.contains("<h1 style=\"margin:0 0 4px 0;font-size:22px;line-height:1.3;color:#18181b;\">AI &lt;b&gt;act&lt;/b&gt;</h1>"));
    // The plain part shows the text as text, without control characters.
    assert!(out.text.contains("<script>alert(1)</script> & co"));
    assert!(out
        .text
        .contains("Line one <iframe src=\"http://evil\"></iframe> end"));
    assert!(!out.text.contains('\u{7}'));
    assert!(!out.text.contains("javascript:"));
    assert_eq!(
        out.subject,
        "wirewatch: 1 new story, 2 articles on AI <b>act</b> (2026-04-08)"
    );
}

#[test]
fn empty_digest_says_so() {
    let input = DigestInput {
        day: NaiveDate::from_ymd_opt(2026, 4, 8).expect("date"),
        topic: "quiet\r\nBcc: victim@example.org".into(),
        stories: vec![],
        suppressed_duplicates: 2,
        suppressed_offtopic: 5,
        timezone: Berlin,
    };
    let out = render_digest(&input);
    // No header injection through the topic: the subject is one line.
    assert_eq!(
        out.subject,
        "wirewatch: no new stories on quiet Bcc: victim@example.org (2026-04-08)"
    );
    assert!(out
        .text
        .contains("No new articles on this topic in this period."));
    assert!(out
        .text
        .contains("0 stories, 0 articles. Suppressed: 2 duplicates and 5 off-topic items."));
    assert!(out
        .html
        .contains("No new articles on this topic in this period."));
}

#[test]
fn long_excerpts_are_shortened_and_wrapped() {
    let mut input = common::scenario_digest(Berlin);
    input.stories.truncate(1);
    input.stories[0].items.truncate(1);
    input.stories[0].items[0].excerpt = "word ".repeat(500);
    let out = render_digest(&input);
    let excerpt_lines: Vec<&str> = out
        .text
        .lines()
        .filter(|l| l.contains("word word"))
        .collect();
    assert!(!excerpt_lines.is_empty());
    assert!(
        excerpt_lines.iter().all(|l| l.chars().count() <= 76),
        "{excerpt_lines:?}"
    );
    let words: usize = excerpt_lines
        .iter()
        .map(|l| l.matches("word").count())
        .sum();
    assert!(words < 60, "shortened: {words} words");
    assert!(excerpt_lines.last().expect("line").ends_with('…'));
}
