#!/usr/bin/env bash
# The full crash-safety run: the daemon SIGKILLed at random moments (60 by default, at least
# 50 per the issue), restarted each time, against the scenario server and a recording webhook
# receiver; see tests/crash.rs for what is checked. Prints the figures.
#   tests/crash/run.sh [KILLS]          WIREWATCH_CRASH_SEED=N replays a run
set -euo pipefail
cd "$(dirname "$0")/../.."
export WIREWATCH_CRASH_KILLS="${1:-60}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
cargo test --locked --test crash -- --nocapture 2>&1 | tee "${TMPDIR:-/tmp}/wirewatch-crash.log" \
  | grep -E "crash run|crash figures|scores|test result|panicked|FAILED" || true
grep -q "test result: ok" "${TMPDIR:-/tmp}/wirewatch-crash.log"
