#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs or starts what the tests need beyond the
# Rust toolchain, then runs `cargo test` (extra arguments are passed on, e.g. a test name).
#
# What the tests need from the system, and why:
# - python3: the scenario world's server and scorer (tests/data/scenario/*.py);
# - aiosmtpd (a Python package): a real SMTP server for the digest tests;
# - wordfreq 3.1.1 (a Python package): the shipped word list is checked against its source;
# - systemd-analyze (Debian: systemd): `systemd-analyze verify` of the shipped units;
# - chromium: the status page rendered in a real headless browser;
# - PostgreSQL (server and psql): the shared store's tests, on a server on loopback
#   ($WIREWATCH_TEST_PG, by default postgres://postgres@127.0.0.1:5432/test: trust auth,
#   database `test`). A server installed but stopped is started; none installed, Debian's is
#   installed; the test database is created when missing. The outage test runs a private
#   server of its own (initdb in a temp dir), so the server binaries must be there too.
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

# PostgreSQL for the shared store's tests (skipped, with a note, where none can be had
# outside CI; under CI=true they fail instead).
pg_url="${WIREWATCH_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"
pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "${WIREWATCH_TEST_PG:-}" ]; then
    if ! command -v pg_isready >/dev/null || [ -z "$(pg_bin)" ]; then
        apt_install postgresql postgresql-client || echo "tests/run.sh: PostgreSQL could not be installed" >&2
    fi
    if command -v pg_isready >/dev/null && ! pg_ready; then
        # Installed and stopped: start the distribution's cluster.
        if command -v pg_ctlcluster >/dev/null; then
            for c in $(pg_lsclusters -h 2>/dev/null | awk '{print $1 "/" $2}'); do
                as_root pg_ctlcluster "${c%/*}" "${c#*/}" start 2>/dev/null || true
            done
        fi
        for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
    fi
    if pg_ready; then
        # Trust auth on loopback for the tests' role, and their database.
        if ! psql "postgres://postgres@127.0.0.1:5432/postgres" -Atqc "select 1" >/dev/null 2>&1; then
            hba=$(as_root su postgres -c "psql -Atqc 'show hba_file'" 2>/dev/null || true)
            if [ -n "$hba" ]; then
                as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
                as_root su postgres -c "psql -qc 'select pg_reload_conf()'" >/dev/null
            fi
        fi
        psql "postgres://postgres@127.0.0.1:5432/postgres" -Atqc \
            "select 1 from pg_database where datname = 'test'" 2>/dev/null | grep -q 1 \
            || psql "postgres://postgres@127.0.0.1:5432/postgres" -qc "create database test" \
            || echo "tests/run.sh: could not create the test database" >&2
    fi
fi
# The outage test's private server needs initdb and pg_ctl.
if [ -n "$(pg_bin)" ]; then export PATH="$PATH:$(pg_bin)"; fi
export WIREWATCH_TEST_PG="$pg_url"

exec cargo test --locked "$@"
