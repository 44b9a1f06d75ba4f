//! The command line's manners, run as the real binary: `check` rejects what would stop the
//! daemon (a query that does not parse; with `--strict`, a secret that cannot be read) and
//! names the line of a bad value; output into a pipe closed early (`| head`) ends quietly instead of a panic; a
//! command that failed for some of its inputs says so in its exit code; a preview of the
//! digest needs no mail settings; a typo in `topics prune` is an error, not a success; a
//! flag that would be ignored beside another is refused.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

/// A minimal config in `dir` (no feeds, no HTTP listener), with `extra` appended.
fn config(dir: &Path, extra: &str) -> String {
    let path = dir.join("c.toml");
    std::fs::write(
        &path,
        format!(
            "state_dir = \"{}\"\n[topic]\nname = \"t\"\nseeds = \"{}\"\n{extra}\n[http]\nenabled = false\n",
            dir.join("state").display(),
            seeds_dir().display()
        ),
    )
    .expect("config");
    path.to_str().expect("path").to_string()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn check_rejects_what_would_stop_the_daemon() {
    let dir = tempfile::tempdir().expect("tmp");
    // A query that does not parse: exit 2, its reason said once (the daemon would not start).
    let cfg = config(dir.path(), "query = \"(microsoft AND\"");
    let out = wirewatch(&["check", "-c", &cfg]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).matches("query syntax error").count(),
        1,
        "{}",
        stderr(&out)
    );
    // `once` on it: the same reason, said once too.
    let out = wirewatch(&["once", "-c", &cfg]);
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).matches("query syntax error").count(),
        1,
        "{}",
        stderr(&out)
    );

    // A webhook's signing key from a variable that is not set: named, exit 2; set: valid.
    let hook = "[[webhooks]]\nurl = \"http://127.0.0.1:8799/hook\"\nformat = \"json\"\nsecret_env = \"WW_TEST_UNSET_SECRET\"\n";
    let cfg = config(dir.path(), "");
    std::fs::write(&cfg, std::fs::read_to_string(&cfg).expect("read") + hook).expect("write");
    // By default a warning (this shell may lack the service's environment), the config still
    // shown; with --strict, exit 2.
    let out = wirewatch(&["check", "-c", &cfg]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: webhook") && stderr(&out).contains("WW_TEST_UNSET_SECRET"),
        "{}",
        stderr(&out)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("is valid"));
    let out = wirewatch(&["check", "--strict", "-c", &cfg]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("WW_TEST_UNSET_SECRET"),
        "{}",
        stderr(&out)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_wirewatch"))
        .args(["check", "--strict", "-c", &cfg])
        .env("WW_TEST_UNSET_SECRET", "s3cret")
        .env_remove("STATE_DIRECTORY")
        .output()
        .expect("check");
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    // The webhook is shown with its port (it was dropped: 127.0.0.1/hook), never its secret.
    assert!(shown.contains("127.0.0.1:8799/hook"), "{shown}");
    assert!(!shown.contains("s3cret"), "{shown}");

    // A value a check refuses after parsing names its line, counted in the file as written.
    let text = std::fs::read_to_string(&cfg).expect("read").replace(hook, "")
        + "[[feeds]]\nurl = \"https://a.example/feed\"\n\n[[feeds]]\nname = \"b\"\nurl = \"htp:/b feed\"\n";
    std::fs::write(&cfg, &text).expect("write");
    let line = text
        .lines()
        .position(|l| l.contains("htp:"))
        .expect("the bad line")
        + 1;
    let out = wirewatch(&["check", "-c", &cfg]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("line {line}: feeds[1].url")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().expect("tmp");
    let page = dir.path().join("page.html");
    let paragraph = "<p>One paragraph of text that a reader would want to read, long enough to be an article.</p>";
    std::fs::write(
        &page,
        format!(
            "<html><head><title>A page</title></head><body><article><h1>A page</h1>{}</article></body></html>",
            paragraph.repeat(20)
        ),
    )
    .expect("page");
    // About 400 KB of output, several times a pipe's buffer: the writes fail even if the
    // first ones went out before the reader closed.
    let inputs: Vec<String> = (0..200).map(|_| page.display().to_string()).collect();
    // No config here or named: `extract` runs on the defaults. The reader goes away before
    // the command writes anything (`| head -0`); before, the first line panicked (101).
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirewatch"))
        .arg("extract")
        .args(&inputs)
        .current_dir(dir.path())
        .env_remove("WIREWATCH_CONFIG")
        .env_remove("STATE_DIRECTORY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("extract");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "{}: {err}", out.status);

    // The same command with a reader: every page, and no config needed.
    let out = Command::new(env!("CARGO_BIN_EXE_wirewatch"))
        .args(["extract", page.to_str().expect("path")])
        .current_dir(dir.path())
        .env_remove("WIREWATCH_CONFIG")
        .output()
        .expect("extract");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("One paragraph"));
}

#[test]
fn a_command_that_failed_for_some_inputs_fails() {
    let dir = tempfile::tempdir().expect("tmp");
    let page = dir.path().join("page.html");
    std::fs::write(
        &page,
        "<html><body><article><h1>T</h1><p>Some text of an article, a sentence or two long.</p></article></body></html>",
    )
    .expect("page");
    let missing = dir.path().join("missing.html");
    let out = Command::new(env!("CARGO_BIN_EXE_wirewatch"))
        .args([
            "extract",
            page.to_str().expect("path"),
            missing.to_str().expect("path"),
        ])
        .current_dir(dir.path())
        .env_remove("WIREWATCH_CONFIG")
        .output()
        .expect("extract");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Some text"));
    assert!(stderr(&out).contains("missing.html"), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 of 2 inputs"), "{}", stderr(&out));
}

#[test]
fn a_digest_preview_needs_no_mail_settings_and_prune_knows_its_topics() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = config(dir.path(), "");
    let html = dir.path().join("digest.html");
    let out = wirewatch(&[
        "digest",
        "--preview",
        html.to_str().expect("path"),
        "-c",
        &cfg,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&html)
        .expect("html written")
        .contains("<html"));

    let out = wirewatch(&["topics", "prune", "no-such-topic", "-c", &cfg]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no-such-topic"), "{}", stderr(&out));
}

/// A daemon started from an older binary (upgraded, not yet restarted) answers a command it
/// does not know with a parse error; the command says what that means and what to do.
#[test]
fn a_daemon_older_than_the_command_is_named() {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = config(dir.path(), "");
    // The daemon holds the store ...
    let _held = wirewatch::Store::open(&dir.path().join("state/db")).expect("store");
    // ... and answers on its control socket as the older daemon does: with the reason its
    // parser gave for a request it has no variant for.
    let listener = std::os::unix::net::UnixListener::bind(dir.path().join("state/control.sock"))
        .expect("socket");
    let old_daemon = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut request = String::new();
        BufReader::new(&stream)
            .read_line(&mut request)
            .expect("request");
        let reply = serde_json::json!({ "Err": "unreadable control request: unknown variant `status`, expected one of `alerts`, `failed`, `retry`, `explain` at line 1 column 19" });
        (&stream)
            .write_all(format!("{reply}\n").as_bytes())
            .expect("reply");
        request
    });
    let out = wirewatch(&["status", "-c", &cfg]);
    let request = old_daemon.join().expect("old daemon");
    assert!(request.contains("\"status\""), "{request}");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("older than this wirewatch") && err.contains("restart"),
        "{err}"
    );
}

#[test]
fn a_flag_that_would_be_ignored_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = config(dir.path(), "");
    // Each command, its exit code, and what stderr must say (if anything).
    let cases: [(&[&str], i32, &str); 7] = [
        // `--json` shapes the list of marks only: beside a verdict it would be ignored.
        (
            &["feedback", "http://example.com/a", "--relevant", "--json"],
            2,
            "--json",
        ),
        (&["feedback", "--list", "--json"], 0, ""),
        // `--topic` is global, but `status` shows every topic: asked for one, it refuses
        // rather than pass every topic's figures off as that one's.
        (&["status", "--topic", "t"], 2, "not to `status`"),
        (&["alerts", "--topic", "t"], 0, ""),
        // Dead letters are every topic's: `--retry --topic` would redeliver all of them.
        (
            &["alerts", "--retry", "--topic", "t"],
            2,
            "not to `alerts --retry`",
        ),
        (
            &["feeds", "export", "--topic", "t"],
            2,
            "not to `feeds export`",
        ),
        // A digest with neither --preview nor --send is a usage error, as clap's others.
        (&["digest"], 2, "--preview"),
    ];
    for (args, code, says) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_wirewatch"))
            .args(args)
            .args(["-c", &cfg])
            .output()
            .expect("wirewatch");
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
}
