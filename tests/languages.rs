//! Languages, end to end: with `languages = ["en"]` each item's language is detected, stored
//! and shown by `explain`, and texts surely in other languages are decided "other language"
//! (not scored as English); a topic without the setting judges every language as before. Texts in accented Latin, CJK and right-to-left scripts go through
//! tokenising, folding and copy signatures without a panic.

mod common;

use axum::http::header;
use axum::response::IntoResponse;
use common::*;

const TEXTS: &[(&str, &str)] = &[
    (
        "english",
        "The city council voted on Tuesday to rebuild the old tram line by 2030, the mayor said, \
         after years of debate over its cost and route through the harbour district.",
    ),
    (
        "german",
        "Die Kommission hat heute beschlossen, die Regeln für den Handel mit landwirtschaftlichen \
         Erzeugnissen zu ändern. Die Landwirte begrüßten die Entscheidung, während die \
         Verbraucherverbände vor höheren Preisen warnten.",
    ),
    (
        "japanese",
        "政府は火曜日、新しい年金改革を発表し、六月に国会に提出すると述べた。野党は財源の説明が不十分だと批判している。",
    ),
    (
        "arabic",
        "أعلنت الحكومة يوم الثلاثاء عن إصلاح جديد لنظام التقاعد سيقدم إلى البرلمان في يونيو، وانتقدت المعارضة غياب التفاصيل.",
    ),
];

fn feed() -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\
         <channel><title>langs</title><link>http://example.org/</link><description>d</description>",
    );
    for (id, text) in TEXTS {
        s.push_str(&format!(
            "<item><title>{id}</title><link>http://127.0.0.1/a/{id}</link><guid>{id}</guid>\
             <content:encoded><![CDATA[<p>{}</p>]]></content:encoded></item>",
            text.repeat(3)
        ));
    }
    s.push_str("</channel></rss>");
    s
}

/// A world serving the feed, and a config following `languages` (none: every language).
fn env(languages: Option<&str>) -> TestEnv {
    let addr = serve(axum::Router::new().route(
        "/feed.xml",
        axum::routing::get(|| async {
            ([(header::CONTENT_TYPE, "application/rss+xml")], feed()).into_response()
        }),
    ));
    let env = TestEnv::new(
        "",
        &format!(
            "[[feeds]]\nname = \"langs\"\nurl = \"http://{addr}/feed.xml\"\nfull_text = false\n"
        ),
    );
    if let Some(l) = languages {
        let text = std::fs::read_to_string(&env.config).expect("config");
        let text = text.replacen("[topic]\n", &format!("[topic]\nlanguages = {l}\n"), 1);
        std::fs::write(&env.config, text).expect("config");
    }
    env
}

fn decisions(env: &TestEnv) -> Vec<(String, String, Option<String>)> {
    wirewatch_ok(&["once", "-c", env.config_str()]);
    let store = env.store();
    let mut out: Vec<_> = store
        .items()
        .expect("items")
        .into_iter()
        .map(|i| {
            let id = i.url.rsplit('/').next().unwrap_or("").to_string();
            (
                id,
                i.first_decision()
                    .map(|d| d.label())
                    .unwrap_or("none")
                    .to_string(),
                i.lang,
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn other_languages_are_decided_as_such_when_the_topic_says() {
    let followed = env(Some("[\"en\"]"));
    let check = wirewatch_ok(&["check", "-c", followed.config_str()]);
    assert!(check.contains("languages: en"), "{check}");
    let got = decisions(&followed);
    let want = [
        ("arabic", "other_language", "ar"),
        ("english", "off_topic", "en"),
        ("german", "other_language", "de"),
        ("japanese", "other_language", "ja"),
    ];
    assert_eq!(got.len(), want.len(), "{got:?}");
    for ((id, label, lang), (wid, wlabel, wlang)) in got.iter().zip(want) {
        assert_eq!(
            (id.as_str(), label.as_str(), lang.as_deref()),
            (wid, wlabel, Some(wlang))
        );
    }
    let why = wirewatch_ok(&[
        "explain",
        "http://127.0.0.1/a/german",
        "-c",
        followed.config_str(),
    ]);
    assert!(why.contains("language:   de"), "{why}");
    assert!(why.contains("other language: de"), "{why}");

    // Without the setting every language is judged; the language is told only for texts
    // that could alert (none of these), where a reader looks.
    let all = env(None);
    for (id, label, lang) in decisions(&all) {
        assert_eq!(label, "off_topic", "{id}");
        assert_eq!(lang, None, "{id}");
    }

    // A code the detector does not know is refused with the key named.
    let bad = env(Some("[\"en\", \"klingon\"]"));
    let out = wirewatch(&["once", "-c", bad.config_str()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("topic.languages[1]"), "{err}");
}
