//! Renders the scenario's labelled dev articles as a digest preview.
//!
//! `cargo run --example digest_preview -- OUT.html [TIMEZONE]` (default
//! Europe/Berlin); reads /work/shared (or $WIREWATCH_SHARED) and also writes
//! the plain-text part beside it as OUT.txt.

#[path = "../tests/notify/common.rs"]
mod common;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or("usage: digest_preview OUT.html [TIMEZONE]")?;
    let tz: chrono_tz::Tz = args
        .next()
        .unwrap_or_else(|| "Europe/Berlin".to_string())
        .parse()
        .map_err(|e| format!("bad time zone: {e}"))?;
    let digest = wirewatch::notify::render_digest(&common::scenario_digest(tz));
    std::fs::write(&out, &digest.html)?;
    std::fs::write(
        std::path::Path::new(&out).with_extension("txt"),
        &digest.text,
    )?;
    println!("{}\n{out}", digest.subject);
    Ok(())
}
