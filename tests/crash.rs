//! Crash safety: `wirewatch run` against the scenario server and a recording webhook receiver,
//! SIGKILLed at random moments and restarted each time, while the scenario advances its rounds.
//!
//! At the end: the store opened cleanly after every kill, every alert the store decided reached
//! the receiver, the alerts match the scenario's labels (scored by its own `score.py`), nothing
//! was delivered twice except across a kill that landed while a delivery was in flight, after
//! the request left the daemon and before the daemon recorded the receiver's 2xx (the one
//! window at-least-once delivery cannot close; the stable
//! `X-Wirewatch-Delivery` id lets a receiver drop those), and the outbox, the pending queue and
//! the dead letters are empty.
//!
//! `WIREWATCH_CRASH_KILLS` sets the number of kills (default 8 in the normal test run;
//! `tests/crash/run.sh` runs 60). `WIREWATCH_CRASH_SEED` replays a run's kill moments.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use rand::{Rng, SeedableRng};

#[test]
fn sigkill_at_random_moments_loses_and_doubles_nothing() {
    let kills: usize = std::env::var("WIREWATCH_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let seed: u64 = std::env::var("WIREWATCH_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("crash run: {kills} kills, WIREWATCH_CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let sc = Scenario::start(&["--faults", "none"]);
    let (hook, got) = recording_receiver();
    let env = TestEnv::new(
        "interval = \"1s\"",
        &format!(
            "{}\n[[webhooks]]\nurl = \"{hook}\"\nformat = \"json\"\n",
            sc.feeds_toml()
        ),
    );
    let log = env.dir.path().join("daemon.log");
    let rounds = 3usize;
    let mut kill_times = Vec::new();
    let mut stats_after_kill = Vec::new();
    for k in 0..kills {
        // Advance the scenario's round at evenly spread kills, so new entries arrive mid-run.
        let round = 1 + k * rounds / kills.max(1);
        sc.get(&format!("/_round/{round}"));
        let mut child = spawn_daemon(&env, &log);
        // Mostly short lives (kills land inside polls, fetches and deliveries), some longer.
        let ms = if rng.gen_bool(0.8) {
            rng.gen_range(30..1500)
        } else {
            rng.gen_range(1500..4000)
        };
        std::thread::sleep(Duration::from_millis(ms));
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!(
                "daemon life {k} exited by itself ({status}) before its kill; log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        child.kill().expect("SIGKILL");
        kill_times.push(Instant::now());
        let _ = child.wait();
        // The store the killed daemon left opens cleanly.
        let store = wirewatch::Store::open(&env.db_path())
            .unwrap_or_else(|e| panic!("store did not open after kill {k}: {e}"));
        stats_after_kill.push(store.stats().expect("stats"));
    }
    sc.get(&format!("/_round/{rounds}"));

    // Let the daemon run undisturbed until everything is processed and delivered.
    let start = Instant::now();
    let (stats, alerts) = loop {
        let mut child = spawn_daemon(&env, &log);
        std::thread::sleep(Duration::from_secs(4));
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
        let status = child.wait().expect("wait");
        assert!(status.success(), "final daemon exit {status}");
        let stats = env.store().stats().expect("stats");
        let alerts: BTreeSet<String> = wirewatch_ok(&["alerts", "--json", "-c", env.config_str()])
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("alert json");
                v["id"].as_str().expect("id").to_string()
            })
            .collect();
        let received: BTreeSet<String> = got.lock().expect("lock").keys().cloned().collect();
        let settled = stats.outbox == 0 && stats.pending == 0 && received == alerts;
        if settled || start.elapsed() > Duration::from_secs(60) {
            break (stats, alerts);
        }
    };

    let received = got.lock().expect("lock").clone();
    let doubled: Vec<(&String, &Vec<Instant>)> =
        received.iter().filter(|(_, t)| t.len() > 1).collect();
    eprintln!(
        "crash figures: kills survived {kills}, alerts expected {} delivered {} doubled {} \
         (deliveries received {}), final store {stats:?}",
        alerts.len(),
        received.len(),
        doubled.len(),
        received.values().map(Vec::len).sum::<usize>(),
    );
    let got_ids: BTreeSet<String> = received.keys().cloned().collect();
    let missing: Vec<&String> = alerts.difference(&got_ids).collect();
    assert!(missing.is_empty(), "alerts never delivered: {missing:?}");
    let unknown: Vec<&String> = received.keys().filter(|k| !alerts.contains(*k)).collect();
    assert!(
        unknown.is_empty(),
        "deliveries of unknown alerts: {unknown:?}"
    );
    // A double is only acceptable when a kill landed while the first delivery was in flight:
    // after the request left the daemon and before the daemon recorded the 2xx. The receiver
    // stamps a delivery when it handles it, which can be a few milliseconds *after* the kill
    // (the request was in the socket when the daemon died), so the window is taken on both
    // sides of the receiver's stamp.
    let window = Duration::from_secs(1);
    for (id, times) in &doubled {
        for pair in times.windows(2) {
            if let Some(k) = kill_times.iter().min_by_key(|k| {
                k.saturating_duration_since(pair[0]) + pair[0].saturating_duration_since(**k)
            }) {
                eprintln!(
                    "double {id}: the nearest kill {:?} after / {:?} before the first delivery",
                    k.saturating_duration_since(pair[0]),
                    pair[0].saturating_duration_since(*k)
                );
            }
            let killed_in_flight = kill_times.iter().any(|k| {
                *k <= pair[1]
                    && k.saturating_duration_since(pair[0]) < window
                    && pair[0].saturating_duration_since(*k) < window
            });
            assert!(
                killed_in_flight,
                "alert {id} delivered twice without a kill while the first was in flight \
                 (deliveries at {:?}, kills at {:?} since the first)",
                pair.iter().map(|t| t.elapsed()).collect::<Vec<_>>(),
                kill_times
                    .iter()
                    .filter_map(|k| k.checked_duration_since(pair[0]))
                    .collect::<Vec<_>>(),
            );
        }
    }
    assert_eq!(stats.outbox, 0, "nothing stuck in the outbox: {stats:?}");
    assert_eq!(stats.pending, 0, "no entry left pending: {stats:?}");
    assert_eq!(stats.dead, 0, "no dead letters: {stats:?}");
    let failed = wirewatch_ok(&["alerts", "--failed", "--json", "-c", env.config_str()]);
    assert!(failed.trim().is_empty(), "dead letters: {failed}");
    // Progress was kept across kills: the entry count never went backwards.
    for w in stats_after_kill.windows(2) {
        assert!(w[1].entries >= w[0].entries, "{stats_after_kill:?}");
    }

    // The alerts are the ones the scenario's labels expect, despite the kills.
    let alerts_path = env.dir.path().join("alerts.jsonl");
    std::fs::write(
        &alerts_path,
        wirewatch_ok(&["alerts", "--json", "-c", env.config_str()]),
    )
    .expect("write alerts");
    let s = score_alerts(&alerts_path);
    eprintln!("crash run scores: {s:?}");
    assert!(
        s.get("alert_recall").copied().unwrap_or(0.0) >= 0.97,
        "{s:?}\n{}",
        explain_missed(&sc, &env, &alerts_path)
    );
    assert!(
        s.get("alert_precision").copied().unwrap_or(0.0) >= 0.97,
        "{s:?}"
    );
    assert_eq!(s.get("same_url_repeat_alerts").copied(), Some(0.0), "{s:?}");
}

/// For a failed recall check: the labelled items that did not alert, each with what
/// `wirewatch explain` says of it, so a CI failure names its cause.
fn explain_missed(sc: &Scenario, env: &TestEnv, alerts: &std::path::Path) -> String {
    let mut report = String::new();
    for path in scenario_score(alerts, &["--verbose"])
        .lines()
        .filter_map(|l| l.trim().strip_prefix("missed_new: "))
    {
        let url = format!("{}{path}", sc.base);
        let explained = wirewatch(&["explain", &url, "-c", env.config_str()]);
        report.push_str(&format!(
            "missed {url}:\n{}{}\n",
            String::from_utf8_lossy(&explained.stdout),
            String::from_utf8_lossy(&explained.stderr)
        ));
    }
    report
}
