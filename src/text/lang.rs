//! The language of a text, by `whatlang` (trigram profiles of 69 languages, pure Rust), named
//! by its ISO 639-1 code ("en", "de") where it has one, else by whatlang's ISO 639-3 code.
//! A topic's `languages` are written either way ([`normalise`]).

/// ISO 639-3 (whatlang's codes) to ISO 639-1, for every language whatlang knows that has a
/// two-letter code.
const CODES: &[(&str, &str)] = &[
    ("afr", "af"),
    ("aka", "ak"),
    ("amh", "am"),
    ("ara", "ar"),
    ("aze", "az"),
    ("bel", "be"),
    ("ben", "bn"),
    ("bul", "bg"),
    ("cat", "ca"),
    ("ces", "cs"),
    ("cmn", "zh"),
    ("dan", "da"),
    ("deu", "de"),
    ("ell", "el"),
    ("eng", "en"),
    ("epo", "eo"),
    ("est", "et"),
    ("fin", "fi"),
    ("fra", "fr"),
    ("guj", "gu"),
    ("heb", "he"),
    ("hin", "hi"),
    ("hrv", "hr"),
    ("hun", "hu"),
    ("hye", "hy"),
    ("ind", "id"),
    ("ita", "it"),
    ("jav", "jv"),
    ("jpn", "ja"),
    ("kan", "kn"),
    ("kat", "ka"),
    ("khm", "km"),
    ("kor", "ko"),
    ("lat", "la"),
    ("lav", "lv"),
    ("lit", "lt"),
    ("mal", "ml"),
    ("mar", "mr"),
    ("mkd", "mk"),
    ("mya", "my"),
    ("nep", "ne"),
    ("nld", "nl"),
    ("nob", "nb"),
    ("ori", "or"),
    ("pan", "pa"),
    ("pes", "fa"),
    ("pol", "pl"),
    ("por", "pt"),
    ("ron", "ro"),
    ("rus", "ru"),
    ("sin", "si"),
    ("slk", "sk"),
    ("slv", "sl"),
    ("sna", "sn"),
    ("spa", "es"),
    ("srp", "sr"),
    ("swe", "sv"),
    ("tam", "ta"),
    ("tel", "te"),
    ("tgl", "tl"),
    ("tha", "th"),
    ("tuk", "tk"),
    ("tur", "tr"),
    ("ukr", "uk"),
    ("urd", "ur"),
    ("uzb", "uz"),
    ("vie", "vi"),
    ("yid", "yi"),
    ("zul", "zu"),
];

/// How much of a text is looked at: the language of a news text shows in its first
/// paragraphs, and detection is linear in what it reads.
const SAMPLE_BYTES: usize = 1024;

/// A detected language.
#[derive(Debug, Clone, PartialEq)]
pub struct Language {
    /// ISO 639-1 where there is one, else ISO 639-3.
    pub code: &'static str,
    /// Whether the detection is sure enough to act on (whatlang's own measure).
    pub reliable: bool,
}

/// The language of `text`; `None` when nothing can be told (no letters, say).
pub fn detect(text: &str) -> Option<Language> {
    let mut end = text.len().min(SAMPLE_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let info = whatlang::detect(&text[..end])?;
    Some(Language {
        code: short(info.lang().code()),
        reliable: info.is_reliable(),
    })
}

/// A language code as written in a config (ISO 639-1 or 639-3, any case) in the form
/// [`detect`] names it; `None` for a code whatlang does not know.
pub fn normalise(code: &str) -> Option<&'static str> {
    let c = code.trim().to_ascii_lowercase();
    CODES
        .iter()
        .find(|(three, two)| *three == c || *two == c)
        .map(|(_, two)| *two)
        .or_else(|| whatlang::Lang::from_code(&c).map(|l| short(l.code())))
}

fn short(three: &'static str) -> &'static str {
    CODES
        .iter()
        .find(|(t, _)| *t == three)
        .map(|(_, two)| *two)
        .unwrap_or(three)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_news_languages() {
        let cases = [
            ("en", "The committee met on Tuesday and agreed to raise the budget for the new harbour by a third, the mayor said."),
            ("de", "Die Kommission hat heute beschlossen, die Regeln für den Handel mit landwirtschaftlichen Erzeugnissen zu ändern."),
            ("fr", "Le gouvernement a annoncé mardi une nouvelle réforme des retraites, qui sera présentée au parlement en juin."),
            ("ja", "政府は火曜日、新しい年金改革を発表し、六月に国会に提出すると述べた。"),
            ("ar", "أعلنت الحكومة يوم الثلاثاء عن إصلاح جديد لنظام التقاعد سيقدم إلى البرلمان في يونيو."),
        ];
        for (code, text) in cases {
            let l = detect(text).expect("detected");
            assert_eq!(l.code, code, "{text}");
        }
        assert_eq!(detect(""), None);
        assert_eq!(detect("12345 !!! ..."), None);
    }

    #[test]
    fn codes_normalise() {
        assert_eq!(normalise("en"), Some("en"));
        assert_eq!(normalise("ENG"), Some("en"));
        assert_eq!(normalise(" de "), Some("de"));
        assert_eq!(normalise("cmn"), Some("zh"));
        assert_eq!(normalise("xx"), None);
        assert_eq!(normalise(""), None);
    }

    #[test]
    fn a_long_text_is_sampled_at_a_char_boundary() {
        let text = "é".repeat(SAMPLE_BYTES);
        let _ = detect(&text);
        let text = format!("a{}", "日本語の文章です。".repeat(1000));
        assert!(detect(&text).is_some());
    }
}
