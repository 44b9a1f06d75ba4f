//! Text normalisation and tokenisation shared by dedup, relevance and stories.
//!
//! Syndicated copies differ in typography (curly vs straight quotes, en/em dashes, non-breaking
//! spaces), case, whitespace and paragraph breaks. All of that is folded away here so that the
//! same words give the same tokens. A token is a run of letters/digits; an apostrophe inside a
//! word is dropped (`don't` -> `dont`), a possessive `'s` is removed (`OpenAI's` -> `openai`),
//! and `.`/`,` between digits stay inside numbers (`3.2`, `4,000`). Hand-written because the
//! rules are small and must never change silently: fingerprints derived from them are stored.

/// Folds typographic variants to ASCII: quotes, apostrophes, dashes, exotic spaces.
pub fn fold_char(c: char) -> char {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{02BC}' | '`'
        | '\u{00B4}' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}'
        | '\u{00BB}' => '"',
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
        | '\u{2212}' => '-',
        '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => ' ',
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' | '\u{00AD}' => '\u{0}',
        _ => c,
    }
}

/// Splits `text` into normalised lowercase tokens (see the module doc), calling `f` for each.
/// At most `max_tokens` tokens are produced; the return value is true when the text was cut.
pub fn for_each_token(text: &str, max_tokens: usize, mut f: impl FnMut(&str)) -> bool {
    let bytes = text.as_bytes();
    // Character at byte offset `i` (folded; zero-width characters become '\0') and its length.
    let char_at = |i: usize| -> (char, usize) {
        match bytes.get(i) {
            None => (' ', 0),
            Some(&b) if b < 0x80 => {
                let c = b as char;
                (if c == '`' { '\'' } else { c }, 1)
            }
            Some(_) => {
                let c = text.get(i..).and_then(|s| s.chars().next()).unwrap_or(' ');
                (fold_char(c), c.len_utf8())
            }
        }
    };
    // Next character at or after `i` that is not zero-width.
    let next_at = |mut i: usize| -> (char, usize) {
        loop {
            let (c, l) = char_at(i);
            if c != '\u{0}' || l == 0 {
                return (c, i + l);
            }
            i += l;
        }
    };
    let mut buf = String::new();
    let mut count = 0usize;
    let mut prev = ' ';
    let mut i = 0usize;
    while i < bytes.len() {
        let (c, l) = char_at(i);
        i += l.max(1);
        if c.is_ascii_alphanumeric() {
            buf.push(c.to_ascii_lowercase());
            prev = c;
            continue;
        }
        if c == '\u{0}' {
            continue;
        }
        if c.is_alphanumeric() {
            if is_unspaced(c) {
                // Scripts written without spaces between words: each ideograph or kana is a
                // token of its own (character unigrams), so copies and terms match there as
                // words do elsewhere, not as whole sentences.
                if !buf.is_empty() {
                    if count >= max_tokens {
                        return true;
                    }
                    f(&buf);
                    count += 1;
                    buf.clear();
                }
                if count >= max_tokens {
                    return true;
                }
                let mut one = [0u8; 4];
                f(c.encode_utf8(&mut one));
                count += 1;
                prev = ' ';
                continue;
            }
            buf.extend(c.to_lowercase());
            prev = c;
            continue;
        }
        if !buf.is_empty() {
            let (next, after_next) = next_at(i);
            // Number separators: 3.2, 4,000.
            if (c == '.' || c == ',') && prev.is_ascii_digit() && next.is_ascii_digit() {
                buf.push(c);
                prev = c;
                continue;
            }
            if c == '\'' && next.is_alphanumeric() {
                let (after, _) = next_at(after_next);
                if (next == 's' || next == 'S') && !after.is_alphanumeric() {
                    // Possessive: drop "'s".
                    i = after_next;
                    prev = 's';
                } else {
                    prev = c;
                }
                continue;
            }
            if count >= max_tokens {
                return true;
            }
            f(&buf);
            count += 1;
            buf.clear();
        }
        prev = c;
    }
    if !buf.is_empty() {
        if count >= max_tokens {
            return true;
        }
        f(&buf);
    }
    false
}

/// Han ideographs, hiragana and katakana: written without spaces between words.
fn is_unspaced(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF // hiragana, katakana
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xF900..=0xFAFF // CJK compatibility ideographs
        | 0xFF66..=0xFF9F // half-width katakana
        | 0x20000..=0x2FA1F) // CJK extensions B and later
}

/// All tokens of `text` (no limit), for callers that want a vector.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_token(text, usize::MAX, |t| out.push(t.to_string()));
    out
}

/// Stable 64-bit hash of a byte string: FNV-1a followed by the SplitMix64 finaliser.
///
/// Hand-written on purpose: these hashes are persisted (band keys, samples), so the function
/// must never change with a dependency or compiler upgrade, which `std`'s hasher does not
/// promise.
pub fn hash64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix64(h)
}

/// SplitMix64 finaliser: a bijective avalanche mix of a 64-bit value.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_typography() {
        assert_eq!(
            tokens(
                "OpenAI\u{2019}s \u{201C}deepening rift\u{201D} \u{2014} Microsoft\u{2013}OpenAI"
            ),
            vec!["openai", "deepening", "rift", "microsoft", "openai"]
        );
        assert_eq!(
            tokens("OpenAI's \"deepening rift\" - Microsoft-OpenAI"),
            tokens(
                "OpenAI\u{2019}s \u{201C}deepening rift\u{201D} \u{2014} Microsoft\u{2013}OpenAI"
            )
        );
        assert_eq!(
            tokens("won't fell 3.2% to $4,000."),
            vec!["wont", "fell", "3.2", "to", "4,000"]
        );
        assert!(tokens("").is_empty());
        assert!(tokens(" \n\t ... --- ").is_empty());
    }

    #[test]
    fn any_script_tokenises() {
        // Accents fold by case only; RTL text tokenises by its spaces; ideographs and kana
        // one by one, beside Latin words.
        assert_eq!(
            tokens("Ça coûte 3,5 €, dit Müller"),
            vec!["ça", "coûte", "3,5", "dit", "müller"]
        );
        assert_eq!(
            tokens("أعلنت الحكومة يوم الثلاثاء"),
            vec!["أعلنت", "الحكومة", "يوم", "الثلاثاء"]
        );
        assert_eq!(tokens("政府はAWSと"), vec!["政", "府", "は", "aws", "と"]);
        assert_eq!(tokens("한국 정부는"), vec!["한국", "정부는"]);
        // Long texts in any script: linear, the limit honoured.
        let mut n = 0;
        assert!(for_each_token(
            &"日本語の文章。".repeat(200_000),
            100_000,
            |_| n += 1
        ));
        assert_eq!(n, 100_000);
    }

    #[test]
    fn token_limit_reports_truncation() {
        let mut n = 0;
        assert!(for_each_token("a b c d", 2, |_| n += 1));
        assert_eq!(n, 2);
        assert!(!for_each_token("a b", 2, |_| ()));
    }
}
