//! Feed parsing, the lenient pre-pass included: any bytes, any content type, never a panic
//! that escapes `parse_feed` (it contains feed-rs panics and reports them as errors).
#![no_main]

use libfuzzer_sys::fuzz_target;

static QUIET: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys aborts in its panic hook, which would count panics that parse_feed
    // contains on purpose; restore the default hook (an escaping panic still aborts, as
    // libfuzzer-sys catches the unwind and aborts itself).
    QUIET.call_once(|| {
        let _ = std::panic::take_hook();
    });
    // The first byte picks a content type so charset handling is exercised too.
    let (ctype, body) = match data.split_first() {
        Some((b, rest)) => (
            match b % 4 {
                0 => None,
                1 => Some("application/rss+xml; charset=iso-8859-1"),
                2 => Some("application/feed+json"),
                _ => Some("text/xml; charset=utf-8"),
            },
            rest,
        ),
        None => (None, data),
    };
    let base = url::Url::parse("http://example.org/feed.xml").ok();
    let _ = wirewatch::parse::parse_feed(body, ctype, base.as_ref());
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = wirewatch::parse::lenient::repair(text);
        let _ = wirewatch::parse::lenient::compat(text);
    }
});
