//! The HTML status page: stories with their coverage, recent alerts, near misses, feed
//! health. Server-rendered, inline styles only, readable on a phone; every value from outside
//! is escaped. Alerts carry an "off-topic" button and near misses a "relevant" one: plain
//! forms posting to `/api/feedback` (no script).

use std::fmt::Write;

use chrono::{DateTime, Utc};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::AppState;
use crate::store::StoreError;

/// Stories the page shows per topic, the most recently updated first.
const PAGE_STORIES: usize = 30;
/// Articles the page lists per story, the latest.
const PAGE_STORY_ITEMS: usize = 10;

const STYLE: &str = "body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;line-height:1.45;color:#1b1b1b;background:#fafafa}\
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}\
.muted{color:#666;font-size:.85rem}.story{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:.6rem .8rem;margin:.6rem 0}\
.story h3{font-size:1rem;margin:.1rem 0 .4rem}ul{padding-left:1.1rem;margin:.2rem 0}li{margin:.25rem 0}\
a{color:#0b57d0;text-decoration:none}a:hover{text-decoration:underline}\
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{text-align:left;padding:.3rem .4rem;border-bottom:1px solid #eee;vertical-align:top}\
.ok{color:#137333}.bad{color:#b3261e}.tag{display:inline-block;font-size:.7rem;padding:0 .35rem;border-radius:3px;background:#e8f0fe;color:#174ea6;margin-right:.3rem}\
form.fb{display:inline;margin:0}form.fb button{font-size:.7rem;padding:0 .35rem;border:1px solid #ccc;border-radius:3px;background:#fff;color:#444;cursor:pointer}\
@media (max-width:40rem){td:nth-child(4),th:nth-child(4){display:none}}";

fn ago(t: Option<DateTime<Utc>>) -> String {
    let Some(t) = t else { return "never".into() };
    let s = (Utc::now() - t).num_seconds();
    let (n, u) = match s.abs() {
        0..=59 => (s, "s"),
        60..=3599 => (s / 60, "min"),
        3600..=86_399 => (s / 3600, "h"),
        _ => (s / 86_400, "d"),
    };
    if s >= 0 {
        format!("{n} {u} ago")
    } else {
        format!("in {} {u}", -n)
    }
}

/// Renders the page.
pub(crate) fn render(st: &AppState) -> Result<String, StoreError> {
    let stats = st.store.stats()?;
    let stories = st.store.stories()?;
    let feeds = super::feeds(st)?;
    let mut alerts = st.store.alerts()?;
    alerts.reverse();
    let names: Vec<&str> = st.config.topics.iter().map(|t| t.name.as_str()).collect();
    let names = names.join(" · ");
    let mut h = String::with_capacity(16 * 1024);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>wirewatch: {}</title><style>{STYLE}</style></head><body>",
        text(&names)
    );
    let _ = write!(
        h,
        "<h1>wirewatch</h1><div class=\"muted\" id=\"topic\">{}</div>\
         <p class=\"muted\" id=\"summary\">{} stories · {} alerts · {} items judged · {} feeds · outbox {} · dead letters {}</p>",
        text(&names),
        stats.stories,
        stats.alerts,
        stats.items,
        feeds.len(),
        stats.outbox,
        stats.dead
    );

    if st.store.is_shared() {
        // Several workers on one database: who is alive, what each holds and did.
        let workers = st.store.workers()?;
        let _ = write!(
            h,
            "<h2>Workers</h2><table id=\"workers\"><tr><th>worker</th><th>feed leases</th><th>polls</th><th>entries</th><th>deliveries</th><th>seen</th></tr>"
        );
        for w in &workers {
            let _ = write!(
                h,
                "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                text(&w.worker),
                if w.judging {
                    " <span class=\"tag\">judging</span>"
                } else {
                    ""
                },
                w.leases,
                w.counts.polls,
                w.counts.entries,
                w.counts.deliveries,
                ago(Some(w.seen))
            );
        }
        h.push_str("</table>");
    }

    for (k, t) in st.config.topics.iter().enumerate() {
        let topic_id = t.id();
        // The first topic's tables keep their plain ids; the others' carry the topic's.
        let sfx = if k == 0 {
            String::new()
        } else {
            format!("-{topic_id}")
        };
        let topic = (st.config.topics.len() > 1).then_some(topic_id.as_str());
        let mine: Vec<crate::store::StoryRecord> = stories
            .iter()
            .filter(|s| s.topic == topic_id || (k == 0 && s.topic.is_empty()))
            .cloned()
            .collect();
        let total = mine.len();
        let stories = super::story_views(&st.store, mine, PAGE_STORIES, PAGE_STORY_ITEMS)?;
        let alerts: Vec<&crate::store::AlertRecord> = alerts
            .iter()
            .filter(|a| a.topic == topic_id || (k == 0 && a.topic.is_empty()))
            .take(30)
            .collect();
        let marks = crate::judge::stored_evidence(&st.store, &topic_id)?.marks;
        let mut near = crate::judge::stored_near_misses(&st.store, &topic_id)?;
        near.reverse();
        near.truncate(crate::judge::NEAR_MISSES);
        if st.config.topics.len() > 1 {
            let _ = write!(
                h,
                "<section class=\"topic\" id=\"topic-{}\"><h2 class=\"topic\">{}</h2>",
                attr(&topic_id),
                text(&t.name)
            );
        }
        let _ = write!(h, "<h2>Stories</h2><div id=\"stories{sfx}\">");
        if stories.is_empty() {
            h.push_str("<p class=\"muted\">No stories yet.</p>");
        }
        for s in &stories {
            let _ = write!(
                h,
                "<div class=\"story\" id=\"story-{}\"><h3>{}</h3><div class=\"muted\">{} article{} · last {}</div><ul>",
                attr(&s.id),
                text(&s.title),
                s.items_total,
                if s.items_total == 1 { "" } else { "s" },
                ago(Some(s.last_seen))
            );
            if s.items_total > s.items.len() {
                let _ = write!(
                    h,
                    "<li class=\"muted\">… {} earlier article{}</li>",
                    s.items_total - s.items.len(),
                    if s.items_total - s.items.len() == 1 {
                        ""
                    } else {
                        "s"
                    }
                );
            }
            for i in &s.items {
                let _ = write!(
                    h,
                    "<li>{}<a href=\"{}\" rel=\"noopener noreferrer\">{}</a> <span class=\"muted\">— {}{}</span></li>",
                    if i.new_story { "<span class=\"tag\">first</span>" } else { "" },
                    attr(&safe_href(&i.url)),
                    text(&i.title),
                    text(&i.source),
                    i.published
                        .map(|p| format!(", {}", p.format("%Y-%m-%d %H:%M UTC")))
                        .unwrap_or_default()
                );
            }
            h.push_str("</ul></div>");
        }
        if total > stories.len() {
            let _ = write!(
                h,
                "<p class=\"muted\">{} older stor{} not shown: <a href=\"/api/stories?topic={}&amp;limit={total}\">all stories</a></p>",
                total - stories.len(),
                if total - stories.len() == 1 { "y" } else { "ies" },
                attr(&topic_id)
            );
        }
        h.push_str("</div>");

        let _ = write!(h, "<h2>Recent alerts</h2><table id=\"alerts{sfx}\"><tr><th>When</th><th>Article</th><th>Source</th><th>Score</th></tr>");
        if alerts.is_empty() {
            h.push_str("<tr><td colspan=\"4\" class=\"muted\">No alerts yet.</td></tr>");
        }
        for a in &alerts {
            let button = match marks.get(&a.url) {
                Some(m) if !m.relevant => format!(
                    "<span class=\"tag\">marked off-topic</span>{}",
                    feedback_button(&a.url, "clear", "undo", None, topic)
                ),
                _ => feedback_button(&a.url, "off-topic", "off-topic", None, topic),
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}<a href=\"{}\" rel=\"noopener noreferrer\">{}</a> {button}</td><td>{}</td><td>{:.2}</td></tr>",
                ago(Some(a.created)),
                if a.new_story { "<span class=\"tag\">new story</span>" } else { "" },
                attr(&safe_href(&a.url)),
                text(&a.title),
                text(&a.source),
                a.score
            );
        }
        h.push_str("</table>");

        // Near misses still off-topic: what a reader looks through for a missed article. A
        // relevant mark here judges the last two days again, so the item itself alerts.
        let mut shown = 0;
        for n in &near {
            let still_missed = matches!(
                st.store
                    .item(&n.url)?
                    .and_then(|i| i.decision(&topic_id).cloned()),
                Some(crate::store::Decision::OffTopic { .. })
            );
            if !still_missed {
                continue;
            }
            if shown == 0 {
                let _ = write!(h, "<h2>Near misses</h2><table id=\"near{sfx}\"><tr><th>When</th><th>Article</th><th>Source</th><th>Score</th></tr>");
            }
            shown += 1;
            let button = match marks.get(&n.url) {
                Some(m) if m.relevant => format!(
                    "<span class=\"tag\">marked relevant</span>{}",
                    feedback_button(&n.url, "clear", "undo", None, topic)
                ),
                _ => feedback_button(&n.url, "relevant", "relevant", Some("48h"), topic),
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td><a href=\"{}\" rel=\"noopener noreferrer\">{}</a> {button}</td><td>{}</td><td>{:.2}</td></tr>",
                ago(Some(n.at)),
                attr(&safe_href(&n.url)),
                text(&n.title),
                text(&n.source),
                n.score
            );
        }
        if shown > 0 {
            h.push_str("</table>");
        }
        if st.config.topics.len() > 1 {
            h.push_str("</section>");
        }
    }

    let _ = write!(h, "<h2>Feeds</h2><table id=\"feeds\"><tr><th>Feed</th><th>Last success</th><th>Next poll</th><th>Last error</th></tr>");
    for f in &feeds {
        let state = if f.consecutive_failures > 0 {
            format!(
                "<span class=\"bad\">failing ×{}</span>",
                f.consecutive_failures
            )
        } else if f.last_success.is_some() {
            "<span class=\"ok\">ok</span>".to_string()
        } else {
            "<span class=\"muted\">not polled yet</span>".to_string()
        };
        let _ = write!(
            h,
            "<tr><td>{} {}<br><span class=\"muted\">{} entries{}{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            text(&f.name),
            state,
            f.entries,
            f.entries_per_day
                .map(|d| format!(" · {d:.1}/day"))
                .unwrap_or_default(),
            f.page_text_share
                .map(|p| format!(" · page text {:.0}%", p * 100.0))
                .unwrap_or_default(),
            ago(f.last_success),
            ago(f.next_poll),
            f.last_error
                .as_deref()
                .map(|e| format!("{} ({})", text(e), ago(f.last_error_at)))
                .unwrap_or_else(|| "—".into())
        );
    }
    h.push_str("</table>");
    let _ = write!(
        h,
        "<p class=\"muted\">Rendered {} · <a href=\"/api/alerts\">alerts</a> · <a href=\"/api/stories\">stories</a> · <a href=\"/api/feeds\">feeds</a> · <a href=\"/metrics\">metrics</a></p></body></html>",
        Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
    );
    Ok(h)
}

/// A one-button form posting the reader's verdict on `url` to `/api/feedback`.
fn feedback_button(
    url: &str,
    verdict: &str,
    label: &str,
    rejudge: Option<&str>,
    topic: Option<&str>,
) -> String {
    format!(
        "<form class=\"fb\" method=\"post\" action=\"/api/feedback\"><input type=\"hidden\" name=\"url\" value=\"{}\">\
         <input type=\"hidden\" name=\"verdict\" value=\"{verdict}\">{}{}<button type=\"submit\">{label}</button></form>",
        attr(url),
        rejudge
            .map(|r| format!("<input type=\"hidden\" name=\"rejudge\" value=\"{r}\">"))
            .unwrap_or_default(),
        topic
            .map(|t| format!("<input type=\"hidden\" name=\"topic\" value=\"{}\">", attr(t)))
            .unwrap_or_default()
    )
}

/// Only http(s) links become clickable; anything else (javascript:, data:) is neutralised.
fn safe_href(url: &str) -> String {
    if url.starts_with("https://") || url.starts_with("http://") {
        url.to_string()
    } else {
        "#".to_string()
    }
}
