//! schema.org JSON-LD: the article object's `articleBody`, `headline`, `datePublished`,
//! `author` and `url`. serde_json parses; we only walk the value (objects, arrays, `@graph`)
//! iteratively with a cap on visited values.

use serde_json::Value;

/// What JSON-LD says about the article.
#[derive(Debug, Default, Clone)]
pub(crate) struct LdArticle {
    pub body: Option<String>,
    pub headline: Option<String>,
    pub published: Option<String>,
    pub authors: Vec<String>,
    pub url: Option<String>,
}

const MAX_VALUES: usize = 20_000;

fn is_article_type(v: &Value) -> bool {
    let check = |s: &str| {
        let s = s.to_ascii_lowercase();
        s.contains("article")
            || s.contains("posting")
            || s.ends_with("report")
            || s == "webpage"
            || s == "review"
    };
    match v.get("@type") {
        Some(Value::String(s)) => check(s),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).any(check),
        _ => false,
    }
}

fn author_names(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if !s.trim().is_empty() && !s.starts_with("http") => {
            out.push(s.trim().to_string())
        }
        Value::Object(o) => {
            if let Some(Value::String(n)) = o.get("name") {
                if !n.trim().is_empty() {
                    out.push(n.trim().to_string());
                }
            }
        }
        Value::Array(a) => {
            for x in a.iter().take(20) {
                author_names(x, out);
            }
        }
        _ => {}
    }
}

/// Parse the page's JSON-LD scripts and return the best article object found.
pub(crate) fn parse(scripts: &[String]) -> LdArticle {
    let mut best = LdArticle::default();
    let mut best_rank = 0usize;
    let mut visited = 0usize;
    for s in scripts {
        // Some sites wrap JSON-LD in CDATA or HTML comments.
        let s = s
            .trim()
            .trim_start_matches("<!--")
            .trim_end_matches("-->")
            .trim_start_matches("//<![CDATA[")
            .trim_end_matches("//]]>")
            .trim();
        let Ok(v) = serde_json::from_str::<Value>(s) else {
            continue;
        };
        let mut stack: Vec<&Value> = vec![&v];
        while let Some(v) = stack.pop() {
            visited += 1;
            if visited > MAX_VALUES {
                return best;
            }
            match v {
                Value::Array(a) => stack.extend(a.iter()),
                Value::Object(o) => {
                    if let Some(g) = o.get("@graph") {
                        stack.push(g);
                    }
                    if is_article_type(v) {
                        let body = o
                            .get("articleBody")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .filter(|b| !b.trim().is_empty());
                        let rank = 1
                            + usize::from(body.is_some()) * 2
                            + usize::from(o.contains_key("headline"));
                        if rank > best_rank {
                            best_rank = rank;
                            let mut authors = Vec::new();
                            if let Some(a) = o.get("author") {
                                author_names(a, &mut authors);
                            }
                            let url = o
                                .get("url")
                                .and_then(Value::as_str)
                                .or_else(|| match o.get("mainEntityOfPage") {
                                    Some(Value::String(s)) => Some(s.as_str()),
                                    Some(Value::Object(m)) => m.get("@id").and_then(Value::as_str),
                                    _ => None,
                                })
                                .map(str::to_string);
                            best = LdArticle {
                                body,
                                headline: o
                                    .get("headline")
                                    .and_then(Value::as_str)
                                    .map(|s| s.trim().to_string()),
                                published: o
                                    .get("datePublished")
                                    .and_then(Value::as_str)
                                    .map(|s| s.trim().to_string()),
                                authors,
                                url,
                            };
                        }
                    }
                }
                _ => {}
            }
        }
    }
    best
}
