//! URL canonicalisation: any string that parses as a URL canonicalises without a panic, and
//! canonicalising is idempotent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(u) = url::Url::parse(text) else {
        return;
    };
    let once = wirewatch::dedup::url::canonicalize(&u);
    let twice = wirewatch::dedup::url::canonicalize(&once);
    assert_eq!(once, twice, "canonicalize is idempotent for {text:?}");
});
