//! Relevance on whole-page text (scripts and styles dropped, tags stripped, block elements
//! as line breaks; no boilerplate removal at all): the worst extraction the pipeline could
//! hand over. Menus, "Related"/"Trending" headline lists and comments are in the text.

use crate::common;

use wirewatch::relevance::TopicModel;

#[test]
fn whole_page_text_still_separates() {
    let m = TopicModel::from_seeds(&common::pipeline_seeds());
    let labels = common::labels();
    let scen = common::scenario();
    let re_script = regex::Regex::new(
        r"(?is)<(script|style|noscript|template)[^>]*>.*?</(script|style|noscript|template)>",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let re_block = regex::Regex::new(r"(?i)</?(p|div|li|h[1-6]|br|tr|section|article|header|footer|nav|aside|ul|ol|table|td|blockquote)[^>]*>").unwrap_or_else(|e| panic!("{e}"));
    let re_tag = regex::Regex::new(r"(?s)<[^>]*>").unwrap_or_else(|e| panic!("{e}"));
    let (mut missed, mut false_pos) = (Vec::new(), Vec::new());
    let mut pages = Vec::new();
    for it in scen["items"].as_array().unwrap_or_else(|| panic!()) {
        let path = it["path"].as_str().unwrap_or("");
        let page = it["page"].as_str().unwrap_or("");
        let html = std::fs::read_to_string(common::scenario_dir().join("dev").join(page))
            .unwrap_or_default();
        let t = re_script.replace_all(&html, " ");
        let t = re_block.replace_all(&t, "\n");
        let t = re_tag.replace_all(&t, " ");
        let t = t
            .replace("&amp;", "&")
            .replace("&nbsp;", " ")
            .replace("&#x27;", "'")
            .replace("&quot;", "\"")
            .replace("&#39;", "'");
        let lines: Vec<&str> = t.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let text = lines.join("\n");
        let rec = &labels["items"][path];
        let published = common::parse_time(rec["published"].as_str().unwrap_or(""));
        pages.push((path.to_string(), rec.clone(), text, published));
    }
    // The judge's relevance step, in publication order (see `common::judge_in_order`).
    let decided = common::judge_in_order(
        &m,
        &pages
            .iter()
            .map(|(_, rec, text, p)| {
                (
                    rec["title"].as_str().unwrap_or("").to_string(),
                    text.clone(),
                    *p,
                )
            })
            .collect::<Vec<_>>(),
    );
    for ((path, rec, _, _), &(score, rel)) in pages.iter().zip(&decided) {
        let kind = rec["kind"].as_str().unwrap_or("");
        eprintln!("{kind:<14} {score:.3} {rel:<5} {path}");
        match kind {
            "new" | "repeat" if !rel => missed.push(path.to_string()),
            "irrelevant" if rel => false_pos.push(path.to_string()),
            _ => {}
        }
    }
    eprintln!("missed {missed:?}; off-topic judged relevant {false_pos:?}");
    // Known: the Frontier-on-Bedrock hands-on, whose headline names none of the dispute's
    // protagonists and whose text names Microsoft once: with a real extractor it is a near
    // miss that reports the Bedrock story already alerted on, and alerts (see the scenario
    // test); with a whole page of menus around it, it falls below the rescue band.
    assert!(
        missed.iter().all(
            |p| p == "/cloudledger/2026/04/02/hands-on-openai-frontier-amazon-bedrock-preview/"
        ),
        "{missed:?}"
    );
    // Known: the NextFin Oracle earnings page, whose AI summary and "Insights" questions
    // (kept here, removed by a real extractor) name OpenAI, AWS and Azure again.
    assert!(false_pos.len() <= 1, "{false_pos:?}");
}
