//! Where a key stands in the config file, for the errors found after parsing.
//!
//! toml's own errors (a syntax error, an unknown key, a bad duration) carry the line; the
//! checks that run on the parsed config ([`super::validate`]) know the key (`feeds[4].url`)
//! but not where it was written. A config of forty feeds is not read by index: the line is
//! what a user looks for. The file is parsed again, keeping spans (toml_edit, which toml
//! itself parses with), only when a check has failed.

use toml_edit::{ImDocument, Item};

/// The line (1-based) of `key` in `text`: a dotted path whose parts may end with an index
/// into an array of tables (`feeds[4].url`, `fetch.timeout`, `webhooks[0]`). The line of the
/// deepest part found, so a key that is absent (a default) points to its table.
pub(super) fn line_of(text: &str, key: &str) -> Option<usize> {
    let doc = ImDocument::parse(text).ok()?;
    let mut item: &Item = doc.as_item();
    let mut span = None;
    for part in key.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let Some(next) = item.get(name) else { break };
        item = next;
        span = item.span().or(span);
        if let Some(i) = index {
            let Some(next) = item.get(i) else { break };
            item = next;
            span = item.span().or(span);
        }
    }
    let start = span?.start;
    Some(text.get(..start)?.matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "state_dir = \"s\"\n\n[fetch]\ntimeout = \"0s\"\n\n[[feeds]]\nurl = \"https://a.test/\"\n\n[[feeds]]\nname = \"b\"\nurl = \"htp:/b feed\"\n";

    #[test]
    fn keys_are_found_by_path_and_index() {
        assert_eq!(line_of(TEXT, "fetch.timeout"), Some(4));
        assert_eq!(line_of(TEXT, "feeds[0].url"), Some(7));
        assert_eq!(line_of(TEXT, "feeds[1].url"), Some(11));
        // An absent key: its table.
        assert_eq!(line_of(TEXT, "feeds[1].interval"), Some(9));
        assert_eq!(line_of(TEXT, "nowhere"), None);
    }
}
