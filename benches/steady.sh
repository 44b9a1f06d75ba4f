#!/bin/sh
# Steady state of the daemon (`wirewatch run`) against a Python poller (benches/peers/steady_peer.py),
# both on the loopback feed server, in the same run, one after the other:
#  1. idle CPU: STEADY_FEEDS feeds (default 100) polled every IDLE_INTERVAL (30s); after the
#     first cycle (WARMUP seconds, default 20) CPU% over IDLE_SECS (60) seconds from
#     /proc/PID/stat. The window includes the polls that fall in it (all 304s after the first).
#  2. memory over cycles: the same feeds every 1s for CYCLE_SECS seconds (default 300, about
#     that many cycles; all 304s after the first): RSS after WARMUP seconds vs at the end,
#     and the number of polls made.
# Prints key=value lines; raw samples in target/bench-out/steady/.
set -eu
cd "$(dirname "$0")/.."
. benches/lib.sh
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
FEEDS="${STEADY_FEEDS:-100}"
CONC="${CONCURRENCY:-32}"
WARMUP="${WARMUP:-20}"
IDLE_SECS="${IDLE_SECS:-60}"
IDLE_INTERVAL="${IDLE_INTERVAL:-30}"
CYCLE_SECS="${CYCLE_SECS:-300}"
OUT="${BENCH_OUT:-$PWD/target/bench-out}/steady"
rm -rf "$OUT"; mkdir -p "$OUT"
cargo build --quiet --release --bin wirewatch --example bench_server
TICK=$(getconf CLK_TCK)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; stop_server; }
trap cleanup EXIT
start_server "$FEEDS" "$OUT"

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

# start WHO INTERVAL_S: starts the daemon or the peer polling every INTERVAL_S seconds.
start() {
    if [ "$1" = ours ]; then
        rm -rf "$OUT/state-$2"
        write_config "$OUT/ours-$2.toml" "$OUT/state-$2" "$BASE" "$FEEDS" "${2}s" "$CONC"
        target/release/wirewatch -c "$OUT/ours-$2.toml" run > "$OUT/ours-$2.log" 2>&1 &
    else
        python3 benches/peers/steady_peer.py "$BASE" "$FEEDS" "$CONC" "$2" > "$OUT/peer-$2.log" 2>&1 &
    fi
    PID=$!
}

for who in ours peer; do
    start $who "$IDLE_INTERVAL"
    sleep "$WARMUP"
    t0=$(ticks $PID)
    sleep "$IDLE_SECS"
    t1=$(ticks $PID)
    kill $PID; wait $PID 2>/dev/null || true; PID=
    echo "steady $who idle feeds=$FEEDS interval_s=$IDLE_INTERVAL window_s=$IDLE_SECS cpu_pct=$(awk -v d=$((t1 - t0)) -v t="$TICK" -v s="$IDLE_SECS" 'BEGIN { printf "%.3f", d / t / s * 100 }')"
done

for who in ours peer; do
    start $who 1
    sleep "$WARMUP"
    r0=$(rss_kb $PID)
    n=0
    : > "$OUT/$who-rss.txt"
    while [ $n -lt "$CYCLE_SECS" ]; do
        sleep 10; n=$((n + 10))
        echo "$n $(rss_kb $PID)" >> "$OUT/$who-rss.txt"
    done
    r1=$(rss_kb $PID)
    rmax=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$OUT/$who-rss.txt")
    kill $PID; wait $PID 2>/dev/null || true; PID=
    if [ $who = ours ]; then
        polls=$(grep -c 'polled' "$OUT/ours-1.log" || true)
    else
        polls=$(($(grep -c '^cycle' "$OUT/peer-1.log" || true) * FEEDS))
    fi
    echo "steady $who memory feeds=$FEEDS secs=$CYCLE_SECS polls=$polls cycles=$((polls / FEEDS)) rss_start_mb=$(awk -v k="$r0" 'BEGIN { printf "%.1f", k / 1024 }') rss_end_mb=$(awk -v k="$r1" 'BEGIN { printf "%.1f", k / 1024 }') rss_max_mb=$(awk -v k="$rmax" 'BEGIN { printf "%.1f", k / 1024 }')"
done
