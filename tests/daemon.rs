//! The daemon (`wirewatch run`) against the scenario server: it polls, keeps polling on its
//! interval, and stops cleanly on SIGTERM and SIGINT with everything flushed.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn run_until_entries(env: &TestEnv, min_entries: usize, signal: &str) -> (String, Duration) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirewatch"))
        .args(["run", "-c", env.config_str()])
        .env_remove("STATE_DIRECTORY")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start daemon");
    let log_path = env.dir.path().join("daemon.log");
    let mut stderr = child.stderr.take().expect("stderr");
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let copier = std::thread::spawn(move || {
        let mut f = log_file;
        let _ = std::io::copy(&mut stderr, &mut f);
    });
    // Wait until the daemon has logged enough polls (the store is locked while it runs).
    let start = Instant::now();
    loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let polled = log.matches(" polled").count();
        if polled >= min_entries {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "daemon did not poll in time; log:\n{log}"
        );
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "daemon exited early:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = child.id().to_string();
    let sent = Instant::now();
    let ok = Command::new("kill")
        .args([signal, &pid])
        .status()
        .expect("kill");
    assert!(ok.success());
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(20),
            "daemon did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = sent.elapsed();
    copier.join().expect("copier");
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(status.success(), "daemon exit {status}; log:\n{log}");
    (log, took)
}

#[test]
fn daemon_polls_on_interval_and_stops_on_sigterm() {
    let sc = Scenario::start(&["--faults", "none"]);
    let env = TestEnv::new("interval = \"1s\"", &sc.feeds_toml());
    // Every feed polled at least twice: the first poll and one more on the 1 s interval.
    let feeds = sc.feeds().len();
    let (log, _) = run_until_entries(&env, feeds * 2, "-TERM");
    assert!(log.contains("SIGTERM received"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    let store = env.store();
    let stats = store.stats().expect("stats");
    assert!(stats.entries >= 14, "round 1 entries stored: {stats:?}");
    assert_eq!(stats.seeds, 5);
    // The second poll of each feed was conditional and answered 304.
    let states = store.feed_states().expect("states");
    assert_eq!(states.len(), feeds);
    for (_, st) in states {
        assert!(st.polls >= 2 && st.not_modified >= 1, "{st:?}");
    }
}

#[test]
fn daemon_stops_on_sigint_and_resumes_its_schedule() {
    let sc = Scenario::start(&["--faults", "none"]);
    let env = TestEnv::new("interval = \"1h\"", &sc.feeds_toml());
    let feeds = sc.feeds().len();
    let (log, _) = run_until_entries(&env, feeds, "-INT");
    assert!(log.contains("SIGINT received"), "{log}");
    let polls: u64 = env
        .store()
        .feed_states()
        .expect("states")
        .iter()
        .map(|(_, s)| s.polls)
        .sum();
    assert_eq!(polls, feeds as u64);
    // A restart within the hour does not poll again: the schedule was persisted.
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirewatch"))
        .args(["run", "-c", env.config_str()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("restart");
    std::thread::sleep(Duration::from_secs(2));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait");
    assert!(status.success());
    let polls_after: u64 = env
        .store()
        .feed_states()
        .expect("states")
        .iter()
        .map(|(_, s)| s.polls)
        .sum();
    assert_eq!(
        polls_after, polls,
        "no feed polled before its next-poll time"
    );
}

#[test]
fn kill_9_at_any_moment_loses_nothing() {
    let sc = Scenario::start(&["--faults", "none"]);
    let env = TestEnv::new("interval = \"1s\"", &sc.feeds_toml());
    // Kill the daemon at staggered moments of its first polls, restarting each time.
    for delay_ms in [50u64, 150, 300, 600, 900] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wirewatch"))
            .args(["run", "-c", env.config_str()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start daemon");
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
    }
    // The store opens cleanly and a final poll completes every entry of round 1: nothing a
    // killed poll saw was lost behind a saved ETag.
    let out = wirewatch_ok(&["once", "--json", "-c", env.config_str()]);
    let r: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(
        r["feeds"]
            .as_array()
            .map(|f| f.iter().filter(|x| !x["error"].is_null()).count()),
        Some(0)
    );
    let stats = env.store().stats().expect("stats");
    assert_eq!(
        stats.entries, 14,
        "every round-1 entry stored exactly once: {stats:?}"
    );
    assert_eq!(stats.pending, 0);
}

#[test]
fn sighup_reloads_feeds_and_keeps_running_config_when_new_one_is_bad() {
    let sc = Scenario::start(&["--faults", "none"]);
    let feeds = sc.feeds();
    let one = format!(
        "[[feeds]]\nname = \"{}\"\nurl = \"{}\"\n",
        feeds[0].0, feeds[0].1
    );
    let env = TestEnv::new("interval = \"1h\"", &one);
    let original = std::fs::read_to_string(&env.config).expect("config");
    let log_path = env.dir.path().join("daemon.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirewatch"))
        .args(["run", "-c", env.config_str()])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("log"))
        .spawn()
        .expect("start daemon");
    let pid = child.id().to_string();
    let wait_for = |needle: &str, count: usize| {
        let start = Instant::now();
        loop {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if log.matches(needle).count() >= count {
                return log;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "waiting for {needle:?}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(" polled", 1);
    // A broken config is rejected and the daemon goes on.
    std::fs::write(&env.config, format!("{original}\nbogus_key = 1\n")).expect("write");
    Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill");
    let log = wait_for("new config rejected", 1);
    assert!(log.contains("bogus_key"), "{log}");
    // A good config with a second feed takes effect without a restart.
    let two = format!(
        "{original}[[feeds]]\nname = \"{}\"\nurl = \"{}\"\n",
        feeds[1].0, feeds[1].1
    );
    std::fs::write(&env.config, &two).expect("write");
    Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill");
    wait_for("config reloaded", 1);
    wait_for(" polled", 2);
    // A shorter interval applies at once, not after the hour the last polls scheduled.
    std::fs::write(
        &env.config,
        two.replace("interval = \"1h\"", "interval = \"2s\""),
    )
    .expect("write");
    Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill");
    wait_for("config reloaded", 2);
    wait_for(" polled", 4);
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let status = child.wait().expect("wait");
    assert!(status.success());
    assert_eq!(env.store().feed_states().expect("states").len(), 2);
}

/// The seed set is loaded once at start and once per reload, so the logged count of changed
/// seeds says what changed (it was always 0: the seeds were loaded twice).
#[test]
fn changed_seeds_are_counted_at_start_and_on_reload() {
    let dir = tempfile::tempdir().expect("tmp");
    let seeds = dir.path().join("seeds");
    std::fs::create_dir(&seeds).expect("seeds dir");
    for e in std::fs::read_dir(seeds_dir()).expect("repo seeds") {
        let p = e.expect("entry").path();
        std::fs::copy(&p, seeds.join(p.file_name().expect("name"))).expect("copy");
    }
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "state_dir = \"{}\"\n[topic]\nname = \"t\"\nseeds = \"{}\"\n[http]\nenabled = false\n",
            dir.path().join("state").display(),
            seeds.display()
        ),
    )
    .expect("config");
    let log = dir.path().join("d.log");
    let start = || start_daemon(&cfg, &log);
    let wait = |needle: &str| wait_for_log(&log, needle, 1, 30);
    let stop = stop_daemon;
    let d = start();
    wait("daemon running");
    let text = wait("seed set loaded");
    assert!(text.contains("seeds=5 changed=5"), "{text}");
    stop(d);
    let d = start();
    wait("daemon running");
    assert!(wait("seed set loaded").contains("seeds=5 changed=0"));
    // One seed edited, then SIGHUP: the reload counts that one.
    let first = std::fs::read_dir(&seeds)
        .expect("seeds")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .min()
        .expect("a seed");
    let mut text = std::fs::read_to_string(&first).expect("seed");
    text.push_str("\nA paragraph added by the test, so that the seed changes.\n");
    std::fs::write(&first, text).expect("edit seed");
    let _ = Command::new("kill")
        .args(["-HUP", &d.id().to_string()])
        .status();
    let text = wait("config reloaded");
    assert!(text.contains("seeds_changed=1"), "{text}");
    stop(d);
}

/// A token no request could present (an empty file, or spaces around it) would lock the
/// status page and the API for good: the daemon refuses to start, and says why.
#[test]
fn an_unusable_http_token_is_refused_at_start() {
    for (content, why) in [("\n", "token is empty"), (" s3cret \n", "spaces")] {
        let (env, _) = env_with_token_file(content);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wirewatch"))
            .args(["run", "-c", env.config_str()])
            .env_remove("STATE_DIRECTORY")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(st) = child.try_wait().expect("wait") {
                break st;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("the daemon started with an unusable token ({why})");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
            .expect("stderr");
        assert!(!status.success(), "{err}");
        assert!(err.contains(why), "{why}: {err}");
    }
}

/// A control-socket client that connects and says nothing gets an error after the request
/// wait, and does not hold the daemon's shutdown (requests being answered are waited for).
#[test]
fn a_silent_control_client_is_answered_and_does_not_hold_shutdown() {
    let env = TestEnv::new("", "");
    let log = env.dir.path().join("daemon.log");
    let daemon = spawn_daemon(&env, &log);
    let socket = env.dir.path().join("state").join("control.sock");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !socket.exists() {
        assert!(std::time::Instant::now() < deadline, "no control socket");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut silent = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
    silent
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let started = std::time::Instant::now();
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut silent, &mut reply).expect("reply");
    assert!(reply.contains("no request within"), "{reply}");
    assert!(started.elapsed() < Duration::from_secs(20));
    // A second silent client while the daemon stops: the stop waits for it at most the
    // request wait.
    let _held = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
    let stopping = std::time::Instant::now();
    stop_daemon(daemon);
    assert!(
        stopping.elapsed() < Duration::from_secs(15),
        "stop took {:?}",
        stopping.elapsed()
    );
}

/// A state directory too deep for a Unix socket address (more than 107 bytes of path): the
/// daemon still binds its control socket there, and a command beside it reaches it. (The
/// daemon stopped at start: "path must be shorter than SUN_LEN".)
#[test]
fn a_deep_state_directory_still_has_a_control_socket() {
    let env = TestEnv::new("", "");
    let deep = env
        .dir
        .path()
        .join("a-state-directory-whose-path-is-longer-than-a-unix-socket-address-can-hold")
        .join("state");
    assert!(deep.join("control.sock").as_os_str().len() > 108);
    let text = std::fs::read_to_string(&env.config).expect("config");
    let state = env.dir.path().join("state");
    std::fs::write(
        &env.config,
        text.replace(
            &format!("state_dir = \"{}\"", state.display()),
            &format!("state_dir = \"{}\"", deep.display()),
        ),
    )
    .expect("config");
    let log = env.dir.path().join("daemon.log");
    let mut daemon = spawn_daemon(&env, &log);
    let socket = deep.join("control.sock");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !socket.exists() {
        if let Ok(Some(status)) = daemon.try_wait() {
            panic!(
                "the daemon stopped ({status}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(std::time::Instant::now() < deadline, "no control socket");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The store is the daemon's: `alerts` asks it through the socket.
    let out = wirewatch(&["alerts", "--json", "-c", env.config_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stop_daemon(daemon);
    assert!(
        !socket.exists(),
        "the socket is removed when the daemon stops"
    );
}

/// A client that opens a connection to the status page and sends nothing is cut off after
/// the header wait, rather than holding the connection (and a file descriptor) for good.
#[test]
fn a_silent_http_client_is_cut_off() {
    let env = TestEnv::new("", "");
    let log = env.dir.path().join("daemon.log");
    let daemon = spawn_daemon(&env, &log);
    let addr = status_page_addr(&log);
    let mut silent = std::net::TcpStream::connect(&addr).expect("connect");
    silent
        .set_read_timeout(Some(Duration::from_secs(40)))
        .expect("timeout");
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    // The server closes it: EOF (or a reset), well before the read timeout.
    let _ = std::io::Read::read_to_end(&mut silent, &mut buf);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(30),
        "the silent connection was held {waited:?}"
    );
    stop_daemon(daemon);
}

/// The status page's address, once a daemon's log says it listens.
fn status_page_addr(log: &std::path::Path) -> String {
    let text = wait_for_log(log, "status page url=", 1, 30);
    text.lines()
        .find_map(|l| l.split("status page url=http://").nth(1))
        .and_then(|r| r.split(['/', ' ', '"']).next())
        .expect("status page address")
        .to_string()
}

/// A client that sends a feedback post's headers and then only part of the body it announced
/// gets a 408 after the header wait, rather than holding the connection (one of the few the
/// server keeps) for as long as it likes.
#[test]
fn a_client_that_trickles_its_body_is_cut_off() {
    let env = TestEnv::new("", "");
    let log = env.dir.path().join("daemon.log");
    let daemon = spawn_daemon(&env, &log);
    let addr = status_page_addr(&log);
    let mut slow = std::net::TcpStream::connect(&addr).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(40)))
        .expect("timeout");
    std::io::Write::write_all(
        &mut slow,
        format!(
            "POST /api/feedback HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"url\": "
        )
        .as_bytes(),
    )
    .expect("send");
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let _ = std::io::Read::read_to_end(&mut slow, &mut answer);
    let waited = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "after {waited:?}: {answer:?}"
    );
    assert!(
        waited < Duration::from_secs(30),
        "the connection was held {waited:?}"
    );
    stop_daemon(daemon);
}

/// The control socket answers only its own user (or root), whatever its file's permissions
/// say: the kernel's peer credentials are checked on every connection. Needs root, to act as
/// another user (CI runs as root); elsewhere it says so and passes.
#[test]
fn a_control_client_of_another_user_is_refused() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        eprintln!("skipped: acting as another user needs root");
        return;
    }
    // The system's Python, which another user can run (not a per-user install).
    let py = "/usr/bin/python3";
    assert!(
        std::path::Path::new(py).exists(),
        "{py} not found: this test needs Debian's python3"
    );
    let env = TestEnv::new("", "");
    let log = env.dir.path().join("daemon.log");
    let daemon = spawn_daemon(&env, &log);
    let state = env.dir.path().join("state");
    let socket = state.join("control.sock");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !socket.exists() {
        assert!(std::time::Instant::now() < deadline, "no control socket");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Widen every permission on the way, as a careless umask or admin might.
    for (p, mode) in [(env.dir.path(), 0o755), (&state, 0o755), (&socket, 0o666)] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let client = "import socket,sys\n\
        s=socket.socket(socket.AF_UNIX)\n\
        s.connect(sys.argv[1])\n\
        print('connected')\n\
        s.settimeout(20)\n\
        try:\n    s.sendall(b'not a request\\n'); r=s.recv(4096).decode()\n\
        except OSError as e:\n    r=''\n\
        print('reply:'+r)\n";
    let run = |args: &[&str]| {
        let out = std::process::Command::new(args[0])
            .args(&args[1..])
            .output()
            .expect("run the client");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let sock = socket.to_str().expect("utf-8 path");
    // As root the request is read and answered (with an error: it is not a request)...
    let own = run(&[py, "-c", client, sock]);
    assert!(
        own.starts_with("connected\nreply:") && own.trim().len() > "connected\nreply:".len(),
        "{own}"
    );
    // ...as nobody the connection is closed unanswered.
    let other = run(&[
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        py,
        "-c",
        client,
        sock,
    ]);
    assert_eq!(other.trim(), "connected\nreply:", "{other}");
    stop_daemon(daemon);
    let log = std::fs::read_to_string(&log).expect("log");
    assert!(
        log.contains("control connection of another user refused"),
        "{log}"
    );
}

/// A test config whose status page asks for the token in a file holding `content`; the
/// file's path.
fn env_with_token_file(content: &str) -> (TestEnv, std::path::PathBuf) {
    let env = TestEnv::new("", "");
    let token = env.dir.path().join("token");
    std::fs::write(&token, content).expect("token");
    let text = std::fs::read_to_string(&env.config)
        .expect("config")
        .replace(
            "[http]\n",
            &format!("[http]\ntoken_file = \"{}\"\n", token.display()),
        );
    std::fs::write(&env.config, text).expect("config");
    (env, token)
}

/// The address the status page last said it listens on, in a daemon's log.
fn listening_addr(log: &str) -> String {
    log.lines()
        .rev()
        .find(|l| l.contains("HTTP status page and API listening"))
        .and_then(|l| l.split("addr=").nth(1))
        .and_then(|a| a.split_whitespace().next())
        .expect("the listening address in the log")
        .to_string()
}

/// The status of `GET /healthz` on `addr` with a bearer token; 0 when nothing answers.
fn healthz_with(addr: &str, token: &str) -> u16 {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let req = format!(
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).is_err() {
        return 0;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A reload while the HTTP token file is unusable (a rotation that left a space) keeps the
/// running config, its status page and every other task, without a pause; the next good
/// reload takes the new token. (The reload used to stop the running tasks first, then fail
/// to start them again on the same unreadable token: a daemon that polled but judged,
/// delivered and served nothing, with the watchdog content.)
#[test]
fn a_reload_with_an_unusable_token_keeps_the_running_tasks() {
    let (env, token) = env_with_token_file("s3cret\n");
    let log = env.dir.path().join("daemon.log");
    let child = spawn_daemon(&env, &log);
    let addr = listening_addr(&wait_for_log(
        &log,
        "HTTP status page and API listening",
        1,
        30,
    ));
    assert_eq!(healthz_with(&addr, "s3cret"), 200);
    std::fs::write(&token, " n3w \n").expect("token");
    hup(&child);
    let text = wait_for_log(&log, "new config unusable", 1, 30);
    assert!(text.contains("spaces at its start or end"), "{text}");
    assert_eq!(
        healthz_with(&addr, "s3cret"),
        200,
        "the running page still serves"
    );
    std::fs::write(&token, "n3w\n").expect("token");
    hup(&child);
    let addr = listening_addr(&wait_for_log(&log, "config reloaded", 1, 30));
    assert_eq!(
        (healthz_with(&addr, "n3w"), healthz_with(&addr, "s3cret")),
        (200, 401),
        "the new token, and only it"
    );
    stop_daemon(child);
}
