//! Shared test data: the scenario's labelled dev set as a digest, and hostile alerts.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use wirewatch::notify::{AlertPayload, DigestInput, DigestItem, DigestStory};

#[path = "../common/data.rs"]
mod data;

fn read_json(rel: &str) -> Value {
    let path = data::scenario_dir().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// The dev scenario's labelled "new" articles as a digest: grouped by their
/// labelled story, outlet names from scenario.json, duplicates = seed
/// duplicates + repeats, off-topic = irrelevant items.
pub fn scenario_digest(timezone: chrono_tz::Tz) -> DigestInput {
    let labels = read_json("dev/labels.json");
    let scenario = read_json("dev/scenario.json");
    let outlet_names: BTreeMap<String, String> = scenario["outlets"]
        .as_array()
        .expect("outlets")
        .iter()
        .map(|o| {
            (
                o["id"].as_str().expect("id").to_string(),
                o["name"].as_str().expect("name").to_string(),
            )
        })
        .collect();
    let mut stories: BTreeMap<String, Vec<DigestItem>> = BTreeMap::new();
    let (mut dups, mut offtopic) = (0, 0);
    for (path, item) in labels["items"].as_object().expect("items") {
        match item["kind"].as_str().expect("kind") {
            "new" => {
                let outlet = item["outlet"].as_str().expect("outlet");
                let published: DateTime<Utc> = item["published"]
                    .as_str()
                    .expect("published")
                    .parse()
                    .expect("RFC 3339 date");
                stories
                    .entry(item["story"].as_str().expect("story").to_string())
                    .or_default()
                    .push(DigestItem {
                        outlet: outlet_names
                            .get(outlet)
                            .cloned()
                            .unwrap_or_else(|| outlet.to_string()),
                        title: item["title"].as_str().expect("title").to_string(),
                        url: format!("http://127.0.0.1:8391{path}"),
                        time: published,
                        excerpt: item["body"].as_str().unwrap_or("").to_string(),
                        marked_off_topic: false,
                    });
            }
            "seed_duplicate" | "repeat" => dups += 1,
            "irrelevant" => offtopic += 1,
            _ => {}
        }
    }
    let mut stories: Vec<DigestStory> = stories
        .into_iter()
        .map(|(id, mut items)| DigestStory {
            title: labels["stories"][&id]
                .as_str()
                .expect("story title")
                .to_string(),
            id,
            items: {
                // Oldest first within a story, as the daemon passes them.
                items.sort_by_key(|i| i.time);
                items
            },
        })
        .collect();
    let newest = |s: &DigestStory| s.items.iter().map(|i| i.time).max();
    stories.sort_by_key(|s| std::cmp::Reverse(newest(s)));
    let day = stories
        .first()
        .and_then(newest)
        .map(|t| t.with_timezone(&timezone).date_naive())
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(2026, 4, 15).expect("date"));
    DigestInput {
        day,
        topic: "Microsoft vs OpenAI & Amazon: the AWS Frontier deal".to_string(),
        stories,
        suppressed_duplicates: dups,
        suppressed_offtopic: offtopic,
        timezone,
    }
}

/// A title that tries every trick the chat services interpret.
pub const HOSTILE_TITLE: &str = "@everyone <!channel> <@U123> *bold* _it_ ~x~ `c` [click](http://evil.example) <script>alert(1)</script> & @here";

/// An alert built from a real scenario article, with a hostile title.
pub fn hostile_alert() -> AlertPayload {
    AlertPayload {
        id: "alert-0001".to_string(),
        url: "http://127.0.0.1:8391/bytewire/news/2026/03/26/openai-rejects-microsoft-breach-claim-frontier-runtime?a=1|b>c".to_string(),
        title: HOSTILE_TITLE.to_string(),
        source: "Bytewire <@U999>".to_string(),
        published: Some("2026-03-26T18:30:00Z".parse().expect("date")),
        story: "openai-response".to_string(),
        story_title: "OpenAI publicly rejects the breach claim > *fake quote*".to_string(),
        new_story: true,
        score: 0.82,
        excerpt: "OpenAI on Thursday published its most detailed defense yet of its deal with Amazon. @everyone should read <b>this</b>.".to_string(),
        duplicates: vec!["http://127.0.0.1:8391/wireroundup/openai-rejects".to_string()],
        topic: "microsoft-openai".to_string(),
        topic_name: "Microsoft vs OpenAI".to_string(),
    }
}
