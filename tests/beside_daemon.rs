//! The commands a user of the service runs beside it (`alerts` with `--json`, `--failed` and
//! `--retry`, `explain`, `digest --preview` and `--send`, `status`, `topics list`), run while
//! a real `wirewatch run`
//! holds the store: each goes through the daemon's control socket and prints what the same
//! command prints offline on the same store. `once` and a second `run` beside it are refused
//! with one line naming the daemon's pid.

mod common;

use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::*;

/// A webhook receiver that refuses (400, a permanent failure: dead letters at once) until it
/// is told to accept.
#[derive(Default)]
struct Receiver {
    accept: AtomicBool,
    accepted: AtomicUsize,
}

fn receiver() -> (String, Arc<Receiver>) {
    let st = Arc::new(Receiver::default());
    let s = st.clone();
    let app = axum::Router::new().fallback(move || {
        let s = s.clone();
        async move {
            if s.accept.load(Ordering::SeqCst) {
                s.accepted.fetch_add(1, Ordering::SeqCst);
                StatusCode::OK
            } else {
                StatusCode::BAD_REQUEST
            }
        }
    });
    (format!("http://{}/hook", serve(app)), st)
}

fn wait_for(log: &std::path::Path, what: &str, n: usize) {
    wait_for_log(log, what, n, 60);
}

fn stdout_ok(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn store_commands_go_through_a_running_daemon() {
    let sc = Scenario::start(&["--faults", "none"]);
    let tmp = tempfile::tempdir().expect("tmp");
    let smtp = SmtpServer::start(&tmp.path().join("mail"));
    let (hook, rx) = receiver();
    let rest = format!(
        "{feeds}[[webhooks]]\nurl = \"{hook}\"\n\
         [digest]\nat = \"23:59\"\ntimezone = \"UTC\"\nto = [\"reader@example.org\"]\n\
         from = \"wirewatch <wirewatch@example.org>\"\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n",
        feeds = sc.feeds_toml(),
        port = smtp.port
    );
    let env = TestEnv::new("interval = \"1h\"", &rest);
    let cfg = env.config_str();
    let log = env.dir.path().join("daemon.log");
    let daemon = start_daemon(&env.config, &log);
    let pid = daemon.id();
    // Round 1 polled and processed, and every alert's delivery refused (dead letters): the
    // alerts (read through the daemon) stop changing and each has its dead letter.
    wait_for(&log, " polled", sc.feeds().len());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = (String::new(), Instant::now());
    let alerts = loop {
        let now = stdout_ok(&wirewatch(&["alerts", "--json", "-c", cfg]), "alerts");
        let dead = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("dead letter")
            .count();
        if now != last.0 {
            last = (now, Instant::now());
        } else if !now.is_empty()
            && dead >= now.lines().count()
            && last.1.elapsed() > Duration::from_secs(2)
        {
            break now;
        }
        assert!(Instant::now() < deadline, "round 1 not settled");
        std::thread::sleep(Duration::from_millis(200));
    };
    let n = alerts.lines().count();
    let pid_file = env.dir.path().join("state/wirewatch.pid");
    assert_eq!(
        std::fs::read_to_string(&pid_file).expect("pid file").trim(),
        pid.to_string()
    );
    use std::os::unix::fs::PermissionsExt;
    let socket = env.dir.path().join("state/control.sock");
    let mode = std::fs::metadata(&socket)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only the daemon's user may connect");

    // Read-only commands through the daemon ...
    let url = serde_json::from_str::<serde_json::Value>(alerts.lines().next().expect("line"))
        .expect("json")["url"]
        .as_str()
        .expect("url")
        .to_string();
    let day = chrono::Utc::now().date_naive().to_string();
    let preview = |name: &str| -> (String, String, String) {
        let html = env.dir.path().join(name);
        let out = wirewatch(&[
            "digest",
            "--preview",
            html.to_str().expect("path"),
            "--day",
            &day,
            "-c",
            cfg,
        ]);
        let printed = stdout_ok(&out, "digest --preview");
        let printed = printed.replace(html.to_str().expect("path"), "FILE");
        let printed = printed.replace(
            html.with_extension("txt").to_str().expect("path"),
            "FILE.txt",
        );
        (
            printed,
            std::fs::read_to_string(&html).expect("html written"),
            std::fs::read_to_string(html.with_extension("txt")).expect("txt written"),
        )
    };
    let read_only: Vec<Vec<&str>> = vec![
        vec!["alerts"],
        vec!["alerts", "--json"],
        vec!["alerts", "--since", "1h"],
        vec!["alerts", "--failed"],
        vec!["alerts", "--failed", "--json"],
        vec!["explain", &url],
        vec!["status"],
        vec!["status", "--json"],
        vec!["topics", "list"],
    ];
    let run = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["-c", cfg]);
        wirewatch(&a)
    };
    let through_daemon: Vec<String> = read_only
        .iter()
        .map(|a| stdout_ok(&run(a), &a.join(" ")))
        .collect();
    // The webhook named as the config names it (a json webhook on the receiver's address).
    assert!(
        through_daemon[3].contains("after 1 attempt:")
            && through_daemon[3].contains("webhook json 127.0.0.1:"),
        "{}",
        through_daemon[3]
    );
    let preview_daemon = preview("daemon.html");
    assert!(preview_daemon.1.contains("<html"), "preview html");

    // ... `once` and a second daemon are refused, in one line naming the pid ...
    for args in [vec!["once"], vec!["run"]] {
        let out = run(&args);
        assert!(
            !out.status.success(),
            "{args:?} beside the daemon must fail"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.matches("error:").count(), 1, "one error line: {err}");
        assert!(err.contains(&format!("pid {pid}")), "{args:?}: {err}");
    }

    // ... and print what they print offline.
    stop_daemon(daemon);
    assert!(!pid_file.exists(), "pid file removed at a clean stop");
    assert!(!socket.exists(), "socket removed at a clean stop");
    // (`status` says how large the store is on disk, which the daemon's last flush changed.)
    let steady = |s: &str| -> String {
        let mut out: String = s
            .lines()
            .filter(|l| !l.starts_with("disk "))
            .map(|l| format!("{l}\n"))
            .collect();
        if let Some(i) = out.find("\"db_bytes\":") {
            let from = i + "\"db_bytes\":".len();
            let digits = out[from..].chars().take_while(char::is_ascii_digit).count();
            out.replace_range(from..from + digits, "N");
        }
        out
    };
    for (args, daemon_out) in read_only.iter().zip(&through_daemon) {
        assert_eq!(
            steady(&stdout_ok(&run(args), &args.join(" "))),
            steady(daemon_out),
            "{args:?}"
        );
    }
    assert_eq!(preview("offline.html"), preview_daemon, "digest --preview");

    // Commands that change the store, through a restarted daemon: --retry requeues the dead
    // letters and delivers them now; --send mails the digest now.
    let daemon = start_daemon(&env.config, &log);
    wait_for(&log, "daemon running", 1);
    rx.accept.store(true, Ordering::SeqCst);
    let out = stdout_ok(&run(&["alerts", "--retry"]), "alerts --retry");
    assert_eq!(
        out.trim(),
        format!("requeued {n} dead letters; delivered {n}, retrying 0, dead 0"),
        "{out}"
    );
    assert_eq!(rx.accepted.load(Ordering::SeqCst), n, "each once");
    assert_eq!(
        stdout_ok(&run(&["alerts", "--failed"]), "failed"),
        "no dead letters\n"
    );
    let out = stdout_ok(&run(&["digest", "--send"]), "digest --send");
    assert!(out.contains(&format!("sent: {n} alerts")), "{out}");
    assert_eq!(smtp.messages().len(), 1, "one digest mailed");
    // A command that fails in the daemon fails here with the daemon's reason.
    let out = run(&["explain", "https://nowhere.example/x"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no item seen under"), "{err}");
    stop_daemon(daemon);
    // Nothing was delivered twice: the daemon's loop and the retry share one pass.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rx.accepted.load(Ordering::SeqCst), n);
}

/// Logs written to a file carry no colour codes; on a terminal they would.
#[test]
fn logs_to_a_file_have_no_colour_codes() {
    let env = TestEnv::new("", "");
    let out = wirewatch(&[
        "explain",
        "https://nowhere.example/x",
        "-c",
        env.config_str(),
    ]);
    assert!(!out.status.success());
    let log = env.dir.path().join("d.log");
    let sc = Scenario::start(&["--faults", "none"]);
    let env = TestEnv::new("interval = \"1h\"", &sc.feeds_toml());
    let daemon = start_daemon(&env.config, &log);
    wait_for(&log, "daemon running", 1);
    stop_daemon(daemon);
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(text.contains("daemon running"));
    assert!(
        !text.contains('\u{1b}'),
        "ANSI escapes in a log file:\n{text}"
    );
}

/// A status page on a non-loopback address without a token is warned about, loudly, by
/// `check` and `run`.
#[test]
fn an_open_status_page_is_warned_about() {
    let dir = tempfile::tempdir().expect("tmp");
    let write = |listen: &str, token: &str| {
        let cfg = dir.path().join("c.toml");
        std::fs::write(
            &cfg,
            format!(
                "state_dir = \"{}\"\n[topic]\nname = \"t\"\nseeds = \"{}\"\n[http]\nlisten = \"{listen}\"\n{token}",
                dir.path().join("state").display(),
                seeds_dir().display()
            ),
        )
        .expect("config");
        cfg
    };
    let warned = |out: &Output| String::from_utf8_lossy(&out.stderr).contains("WITHOUT a token");
    let cfg = write("0.0.0.0:0", "");
    let out = wirewatch(&["check", "-c", cfg.to_str().expect("path")]);
    assert!(out.status.success());
    assert!(warned(&out), "{}", String::from_utf8_lossy(&out.stderr));
    let cfg = write("127.0.0.1:0", "");
    assert!(!warned(&wirewatch(&[
        "check",
        "-c",
        cfg.to_str().expect("path")
    ])));
    let token = dir.path().join("token");
    std::fs::write(&token, "t0ken\n").expect("token");
    let cfg = write(
        "0.0.0.0:0",
        &format!("token_file = \"{}\"\n", token.display()),
    );
    let out = wirewatch(&["check", "-c", cfg.to_str().expect("path")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!warned(&out));
    // `run` says it too.
    let cfg = write("0.0.0.0:0", "");
    let log = dir.path().join("run.log");
    let mut child = start_daemon(&cfg, &log);
    wait_for(&log, "WITHOUT a token", 1);
    let _ = child.kill();
    let _ = child.wait();
}
