//! Article extraction from any bytes as an HTML page: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(extractor) = wirewatch::extract::Extractor::new(&[]) else {
        return;
    };
    let url = url::Url::parse("http://example.org/news/2026/article").ok();
    let _ = extractor.extract_page(data, Some("text/html"), url.as_ref());
});
