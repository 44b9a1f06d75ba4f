//! Kept texts: the extracted text of every judged item, for a window (`[store] keep_text`).
//!
//! Only alerted items keep their text in their record. Re-judging a window after the reader's
//! feedback (`wirewatch feedback --rejudge`), and a relevant mark on an item that did not
//! alert, need the texts of the others too. They are kept apart from the records, deflated
//! (news prose shrinks to about a third), and dropped once older than the window.
//!
//! The format is the backends' common one: [`pack`] and [`unpack`].

use std::io::{Read, Write};

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;

/// A kept text's stored bytes: the text deflated at the fastest level (the level barely moves
/// the size of prose and costs much more CPU above it).
pub fn pack(text: &str) -> Vec<u8> {
    let mut enc = DeflateEncoder::new(Vec::with_capacity(text.len() / 2), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(text.as_bytes());
    enc.finish().unwrap_or_default()
}

/// The text of stored bytes; `None` when they are not a deflated UTF-8 text.
pub fn unpack(bytes: &[u8]) -> Option<String> {
    let mut out = String::new();
    DeflateDecoder::new(bytes).read_to_string(&mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_unpacks() {
        let text = "Microsoft weighs legal action against OpenAI and Amazon. ".repeat(40);
        let p = pack(&text);
        assert!(p.len() < text.len() / 4, "{} of {}", p.len(), text.len());
        assert_eq!(unpack(&p).as_deref(), Some(text.as_str()));
        assert_eq!(unpack(b"not deflate at all"), None);
        assert_eq!(unpack(&pack("")).as_deref(), Some(""));
    }
}
