//! The newcomer's and the migrating user's commands, run as the real binary: `wirewatch feeds
//! import|export` on real OPML files (fixtures in tests/data/fixtures/opml/), and `wirewatch demo`
//! end to end on its bundled world.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fixtures/opml")
        .join(name)
}

/// A config with comments and one feed, as a user keeps it.
const CONFIG: &str = r#"# My wirewatch config.
state_dir = "state"   # kept here

[topic]
name = "test topic"
seeds = "SEEDS"

# The one feed I had before.
[[feeds]]
name = "The Verge"
url = "https://www.theverge.com/rss/index.xml"

[http]
enabled = false
"#;

fn config_in(dir: &Path) -> PathBuf {
    let path = dir.join("wirewatch.toml");
    std::fs::write(
        &path,
        CONFIG.replace("SEEDS", &seeds_dir().display().to_string()),
    )
    .expect("write config");
    path
}

fn feeds_of(path: &Path) -> Vec<(Option<String>, String)> {
    let c = wirewatch::Config::load(path).expect("config loads");
    c.feeds
        .iter()
        .map(|f| (f.name.clone(), f.url.to_string()))
        .collect()
}

#[test]
fn import_nested_opml_keeps_the_config_text_and_skips_known_urls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config_in(dir.path());
    let before = std::fs::read_to_string(&cfg).expect("read");
    let out = wirewatch_ok(&[
        "feeds",
        "import",
        fixture("nested.opml").to_str().expect("path"),
        "-c",
        cfg.to_str().expect("path"),
    ]);
    assert!(out.contains("4 feeds added"), "{out}");
    let after = std::fs::read_to_string(&cfg).expect("read");
    assert!(
        after.starts_with(&before),
        "existing text and comments kept verbatim:\n{after}"
    );
    let feeds = feeds_of(&cfg);
    assert_eq!(
        feeds,
        vec![
            (
                Some("The Verge".into()),
                "https://www.theverge.com/rss/index.xml".into()
            ),
            (
                Some("Ars Technica".into()),
                "https://feeds.arstechnica.com/arstechnica/index".into()
            ),
            (
                Some("GeekWire".into()),
                "https://www.geekwire.com/feed/".into()
            ),
            (
                Some("Cloud & AI <Weekly>".into()),
                "https://cloud.example.org/rss?cat=ai&lang=en".into()
            ),
            (
                Some("Markets \"Live\"".into()),
                "https://markets.example.com/feed.xml".into()
            ),
        ]
    );
    // Importing the same file again adds nothing and leaves the file alone.
    let out = wirewatch_ok(&[
        "feeds",
        "import",
        fixture("nested.opml").to_str().expect("path"),
        "-c",
        cfg.to_str().expect("path"),
    ]);
    assert!(
        out.contains("0 feeds added") && out.contains("4 already present"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&cfg).expect("read"), after);
}

#[test]
fn import_skips_duplicates_and_non_http_outlines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config_in(dir.path());
    let out = wirewatch_ok(&[
        "feeds",
        "import",
        fixture("duplicates.opml").to_str().expect("path"),
        "-c",
        cfg.to_str().expect("path"),
    ]);
    assert!(
        out.contains("2 feeds added") && out.contains("1 already present"),
        "{out}"
    );
    assert!(out.contains("skipped  mailto:news@example.org"), "{out}");
    assert!(out.contains("skipped  not a url"), "{out}");
    let urls: Vec<String> = feeds_of(&cfg).into_iter().map(|(_, u)| u).collect();
    assert_eq!(
        urls,
        [
            "https://www.theverge.com/rss/index.xml",
            "https://techcrunch.com/feed/",
            "https://fresh.example.net/atom.xml"
        ]
    );
}

#[test]
fn bad_opml_is_a_clear_error_and_the_config_is_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config_in(dir.path());
    let before = std::fs::read_to_string(&cfg).expect("read");
    for (file, needle) in [
        ("truncated.opml", "still open"),
        (
            "not-opml.xml",
            "not an OPML document: the root element is <rss>",
        ),
        ("missing.opml", "cannot read"),
    ] {
        let out = wirewatch(&[
            "feeds",
            "import",
            fixture(file).to_str().expect("path"),
            "-c",
            cfg.to_str().expect("path"),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{file} accepted");
        assert!(err.contains(needle) && err.contains(file), "{file}: {err}");
        assert_eq!(std::fs::read_to_string(&cfg).expect("read"), before);
    }
}

#[test]
fn export_writes_escaped_opml_2_that_imports_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config_in(dir.path());
    let mut text = std::fs::read_to_string(&cfg).expect("read");
    text.push_str(
        "[[feeds]]\nname = \"Q&A <Live> \\\"news\\\"\"\nurl = \"https://q.example/feed?a=1&b=2\"\n",
    );
    std::fs::write(&cfg, &text).expect("write");
    let opml = wirewatch_ok(&["feeds", "export", "-c", cfg.to_str().expect("path")]);
    assert!(
        opml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{opml}"
    );
    assert!(opml.contains("<opml version=\"2.0\">"), "{opml}");
    assert!(
        opml.contains("xmlUrl=\"https://q.example/feed?a=1&amp;b=2\""),
        "{opml}"
    );
    assert!(
        opml.contains("title=\"Q&amp;A &lt;Live&gt; &quot;news&quot;\""),
        "{opml}"
    );
    // The export is well-formed OPML that another config imports to the same feeds.
    let file = dir.path().join("out.opml");
    std::fs::write(&file, &opml).expect("write");
    let other = tempfile::tempdir().expect("tempdir");
    let cfg2 = other.path().join("wirewatch.toml");
    std::fs::write(
        &cfg2,
        format!(
            "[topic]\nname = \"t\"\nseeds = \"{}\"\n",
            seeds_dir().display()
        ),
    )
    .expect("write");
    let out = wirewatch_ok(&[
        "feeds",
        "import",
        file.to_str().expect("path"),
        "-c",
        cfg2.to_str().expect("path"),
    ]);
    assert!(out.contains("2 feeds added"), "{out}");
    assert_eq!(feeds_of(&cfg2), feeds_of(&cfg));
}

#[test]
fn demo_runs_offline_and_shows_each_kind_of_decision() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = dir.path().join("demo");
    let out = wirewatch(&["demo", "--dir", demo.to_str().expect("path")]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    let count = |label: &str| {
        stdout
            .lines()
            .filter(|l| l.trim_start().starts_with(label))
            .count()
    };
    assert!(count("ALERT ") >= 1, "an alert:\n{stdout}");
    assert_eq!(
        count("SEED COPY "),
        2,
        "both seed copies suppressed:\n{stdout}"
    );
    assert_eq!(count("OFF-TOPIC "), 2, "off-topic items:\n{stdout}");
    assert_eq!(count("REPEAT "), 1, "the republished copy:\n{stdout}");
    assert_eq!(count("ALERT "), 2, "two new articles:\n{stdout}");
    // Every decision agrees with what the world says it should be.
    assert!(
        stdout.contains("SEED COPY  Microsoft threatens legal action"),
        "{stdout}"
    );
    assert!(
        stdout.contains("OFF-TOPIC  Council approves protected bike lanes"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ALERT      Microsoft lawyers study OpenAI"),
        "{stdout}"
    );
    assert!(
        stdout.contains("REPEAT     Microsoft reviews Frontier contract"),
        "{stdout}"
    );
    // The digest preview exists where the demo says, and lists the alerts.
    let digest = demo.join("digest.html");
    assert!(
        stdout.contains(&digest.display().to_string()),
        "digest path printed:\n{stdout}"
    );
    let html = std::fs::read_to_string(&digest).expect("digest written");
    assert!(html.contains("Microsoft lawyers study OpenAI"), "{html}");
    assert!(!html.contains("Council approves"), "{html}");
    // The demo's store is a real one the other commands read.
    let alerts = wirewatch_ok(&[
        "alerts",
        "--json",
        "-c",
        demo.join("wirewatch.toml").to_str().expect("path"),
    ]);
    assert_eq!(alerts.lines().count(), 2, "{alerts}");
}

#[test]
fn once_shows_a_progress_bar_only_on_a_terminal() {
    // A feed slow enough (0.5 s) for the bar to be drawn at least once.
    let router = axum::Router::new().route(
        "/feed.xml",
        axum::routing::get(|| async {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            ([("content-type", "application/rss+xml")], rss("slow", 1, 2))
        }),
    );
    let addr = serve(router);
    let env = TestEnv::new(
        "",
        &format!("[[feeds]]\nurl = \"http://{addr}/feed.xml\"\nfull_text = false\n"),
    );
    // Piped: the summary on stdout and no bar on stderr.
    let out = wirewatch(&["once", "-c", env.config_str()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("polled     1"),
        "summary table"
    );
    assert!(!stderr.contains("polling"), "a bar on a pipe: {stderr}");
    // On a terminal (script(1) runs it on a pseudo-terminal): the bar, then the summary.
    let env2 = TestEnv::new(
        "",
        &format!("[[feeds]]\nurl = \"http://{addr}/feed.xml\"\nfull_text = false\n"),
    );
    let cmd = format!(
        "{} once -c {}",
        env!("CARGO_BIN_EXE_wirewatch"),
        env2.config_str()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("script(1) from util-linux (Debian bsdutils) is needed for a pseudo-terminal");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("polling") && screen.contains("0/1 feeds"),
        "no progress bar on a terminal:\n{screen}"
    );
    assert!(screen.contains("polled     1"), "summary table:\n{screen}");
}

/// The shipped background word list is exactly what the script beside it makes from wordfreq
/// 3.1.1 (which `tests/run.sh` installs): the list can be regenerated, and nobody edited it by
/// hand.
#[test]
fn background_word_list_is_what_its_script_makes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/judge/relevance/data");
    let out = std::process::Command::new("python3")
        .arg(dir.join("make_background.py"))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "make_background.py failed (needs wordfreq==3.1.1; tests/run.sh installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shipped = std::fs::read(dir.join("background_en.txt")).expect("word list");
    assert!(
        out.stdout == shipped,
        "background_en.txt differs from what make_background.py writes"
    );
}
