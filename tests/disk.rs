//! The state directory read-only or full: a clear error, no corruption, and recovery once the
//! directory is writable or has space again.
//!
//! Both need a filesystem the test controls: a small tmpfs mounted over the state directory,
//! which takes root (CAP_SYS_ADMIN). Without it the tests say so on stderr and pass without
//! checking anything (root permissions cannot be dropped by chmod, so there is no other honest
//! way to make a directory read-only or full for the real binary).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

struct Mount(std::path::PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(dir).expect("mkdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then(|| Mount(dir.to_path_buf()))
    }

    fn remount(&self, mode: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.0)
            .status()
            .expect("mount");
        assert!(st.success(), "remount {mode}");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn once(env: &TestEnv) -> (bool, String, String) {
    let out = wirewatch(&["once", "--json", "-c", env.config_str()]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn entries(env: &TestEnv) -> usize {
    env.store().stats().expect("stats").entries
}

#[test]
fn read_only_state_dir_fails_clearly_and_recovers() {
    let sc = Scenario::start(&["--faults", "none"]);
    let env = TestEnv::new("", &sc.feeds_toml());
    let Some(m) = Mount::tmpfs(&env.dir.path().join("state"), "64m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs (not root); read-only state dir untested");
        return;
    };
    let (ok, _, err) = once(&env);
    assert!(ok, "{err}");
    let before = entries(&env);
    assert!(before > 0);
    sc.get("/_round/2");
    m.remount("ro");
    let (ok, out, err) = once(&env);
    eprintln!("read-only state dir: exit ok={ok}, stderr: {}", err.trim());
    assert!(!ok, "a read-only store must fail the run: {out}");
    assert!(
        err.contains("Read-only") || err.contains("read-only"),
        "the error names the cause: {err}"
    );
    m.remount("rw");
    // No corruption: the store opens, holds what it held, and the next run completes round 2.
    assert_eq!(entries(&env), before);
    let (ok, _, err) = once(&env);
    assert!(ok, "recovery run: {err}");
    assert!(entries(&env) > before, "round 2 stored after recovery");
    assert_eq!(env.store().stats().expect("stats").pending, 0);
}

#[test]
fn full_state_dir_fails_clearly_and_recovers() {
    let sc = Scenario::start(&["--faults", "none"]);
    let env = TestEnv::new("", &sc.feeds_toml());
    let state = env.dir.path().join("state");
    let Some(_m) = Mount::tmpfs(&state, "16m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs (not root); full state dir untested");
        return;
    };
    let (ok, _, err) = once(&env);
    assert!(ok, "{err}");
    let before = entries(&env);
    sc.get("/_round/2");
    // Fill what is left of the filesystem.
    let filler = state.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).expect("filler");
        let block = vec![0u8; 1 << 16];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    let (ok, out, err) = once(&env);
    eprintln!(
        "full state dir: exit ok={ok}, stderr: {}",
        err.lines().rev().take(3).collect::<Vec<_>>().join(" | ")
    );
    if ok {
        // sled may fit a small write in space it had already claimed; then nothing was lost.
        eprintln!("full state dir: the run fit in preallocated space: {out}");
    } else {
        assert!(
            err.contains("No space") || err.contains("space"),
            "the error names the cause: {err}"
        );
    }
    std::fs::remove_file(&filler).expect("remove filler");
    // No corruption, and recovery once there is space.
    assert!(entries(&env) >= before);
    let (ok, _, err) = once(&env);
    assert!(ok, "recovery run: {err}");
    assert!(entries(&env) > before, "round 2 stored after recovery");
    let stats = env.store().stats().expect("stats");
    assert_eq!(stats.pending, 0, "{stats:?}");
}
