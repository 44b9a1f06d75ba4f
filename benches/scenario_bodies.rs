//! Extract every page of the scenario's dev set in publication order (so per-site templates
//! are learned as the daemon would) and print `{"url", "body"}` lines for
//! `score.py --bodies`: `cargo bench --bench scenario_bodies > bodies.jsonl` (used by
//! `benches/extraction.sh`).
use serde_json::Value;

#[path = "corpus.rs"]
mod corpus;

fn main() {
    let dev = corpus::scenario_dir().join("dev");
    let scen: Value = serde_json::from_str(
        &std::fs::read_to_string(dev.join("scenario.json")).expect("read scenario.json"),
    )
    .expect("parse scenario.json");
    let base = "http://127.0.0.1:8391";
    let ex = wirewatch::extract::Extractor::new(&[]).expect("extractor");
    let mut items: Vec<&Value> = scen["items"].as_array().expect("items").iter().collect();
    items.sort_by_key(|i| i["round"].as_u64().unwrap_or(0));
    for it in items {
        let (Some(path), Some(page)) = (it["path"].as_str(), it["page"].as_str()) else {
            continue;
        };
        let raw = std::fs::read_to_string(dev.join(page)).expect("read page");
        let raw = raw
            .replace("{{BASE_ENC}}", "http%3A%2F%2F127.0.0.1%3A8391")
            .replace("{{BASE}}", base);
        let url = url::Url::parse(&format!("{base}{path}")).expect("url");
        let a = ex.extract_page(raw.as_bytes(), Some("text/html; charset=utf-8"), Some(&url));
        println!("{}", serde_json::json!({"url": path, "body": a.text}));
    }
}
