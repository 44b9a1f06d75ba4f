#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs or starts what the tests need beyond the
# Rust toolchain, then runs `cargo test` (extra arguments are passed on, e.g. a test name).
#
# What the tests need from the system, and why:
# - python3: the scenario world's server and scorer (tests/data/scenario/*.py);
# - aiosmtpd (a Python package): a real SMTP server for the digest tests;
# - wordfreq 3.1.1 (a Python package): the shipped word list is checked against its source;
# - systemd-analyze (Debian: systemd): `systemd-analyze verify` of the shipped units;
# - chromium: the status page rendered in a real headless browser.
# Missing pieces are installed with pip or apt-get (as root, or through sudo).
#
# Third-party corpora (corpus/, realnews/) are never in the repo: the tests that score them
# look in $WIREWATCH_SHARED, else ../shared, and say they were not run when absent (under
# CI=true their absence fails the run).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "tests/run.sh: need root to run: $*" >&2; return 1
    fi
}
apt_updated=
apt_install() {
    if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

command -v python3 >/dev/null || apt_install python3 python3-pip
if ! python3 -c "import aiosmtpd" 2>/dev/null; then
    python3 -m pip install --quiet aiosmtpd 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages aiosmtpd 2>/dev/null \
        || apt_install python3-aiosmtpd
fi
if ! python3 -c "import importlib.metadata as m; assert m.version('wordfreq') == '3.1.1'" 2>/dev/null; then
    python3 -m pip install --quiet wordfreq==3.1.1 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages wordfreq==3.1.1
fi
need=()
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; fi

exec cargo test --locked "$@"
