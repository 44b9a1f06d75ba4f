//! Kept texts: the extracted text of every judged item, for a window (`[store] keep_text`).
//!
//! Only alerted items keep their text in their record. Re-judging a window after the reader's
//! feedback (`wirewatch feedback --rejudge`), and a relevant mark on an item that did not
//! alert, need the texts of the others too. A backend keeps them apart from the records,
//! compressed, and drops them once older than the window.
//!
//! The compression is LZ4 (about half the size of news prose, at a cost far below everything
//! else done per item; deflate saved a third more space for ten times the CPU), in the
//! backends' common format: [`pack`] and [`unpack`].

/// Texts larger than this are not unpacked (a corrupt length must not allocate gigabytes).
const MAX_TEXT: usize = 64 << 20;

/// A kept text's stored bytes: its length (u32, little-endian), then its LZ4 block.
pub fn pack(text: &str) -> Vec<u8> {
    lz4_flex::compress_prepend_size(text.as_bytes())
}

/// The text of stored bytes; `None` when they are not a packed UTF-8 text.
pub fn unpack(bytes: &[u8]) -> Option<String> {
    let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    if len > MAX_TEXT {
        return None;
    }
    let raw = lz4_flex::decompress_size_prepended(bytes).ok()?;
    String::from_utf8(raw).ok()
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
        assert_eq!(unpack(b"not lz4 at all"), None);
        assert_eq!(unpack(&[0xff, 0xff, 0xff, 0x7f, 0]), None);
        assert_eq!(unpack(&pack("")).as_deref(), Some(""));
    }
}
