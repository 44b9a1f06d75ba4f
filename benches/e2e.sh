#!/bin/sh
# End to end: one `wirewatch once` cycle over FEEDS synthetic feeds x 20 items (each with an
# article page) on a loopback server, against a Python feedparser + trafilatura pipeline
# (benches/peers/e2e_peer.py) doing the fetch/parse/page/extract part of the same job with the same
# concurrency, in the same run. Wall time, CPU seconds (user + system) and peak RSS come from
# GNU time -v; state_mb is the store's size on disk after the cycle (kept texts included).
# Knobs: FEEDS (default 1000), CONCURRENCY (32), PEER=0 skips the peer, OLD_BIN=PATH also runs
# an older wirewatch binary on the same world (its own store) and prints new/old ratios, over
# two cycles of each in the order new, old, old, new.
#   benches/e2e.sh        -> prints key=value lines; results in target/bench-out/e2e/
set -eu
cd "$(dirname "$0")/.."
. benches/lib.sh
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
FEEDS="${FEEDS:-1000}"
CONC="${CONCURRENCY:-32}"
OUT="${BENCH_OUT:-$PWD/target/bench-out}/e2e"
rm -rf "$OUT"; mkdir -p "$OUT"
cargo build --quiet --release --bin wirewatch --example bench_server
trap stop_server EXIT
start_server "$FEEDS" "$OUT"
write_config "$OUT/wirewatch.toml" "$OUT/state" "$BASE" "$FEEDS" 15m "$CONC"

/usr/bin/time -v -o "$OUT/ours.time" target/release/wirewatch -c "$OUT/wirewatch.toml" \
    once --json > "$OUT/ours.json" 2> "$OUT/ours.err"
python3 - "$OUT/ours.json" > "$OUT/ours.summary" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
feeds = r["feeds"]
ok = sum(1 for f in feeds if not f.get("error"))
print(f"feeds_ok={ok} entries={sum(f.get('entries_new', 0) for f in feeds)} decided={json.dumps(r.get('decided'), separators=(',', ':'))}")
PY
echo "e2e ours feeds=$FEEDS wall_s=$(timev "$OUT/ours.time" wall) cpu_s=$(timev "$OUT/ours.time" cpu) rss_mb=$(timev "$OUT/ours.time" rss) state_mb=$(du -sm "$OUT/state" | cut -f1) $(cat "$OUT/ours.summary")"

if [ -n "${OLD_BIN:-}" ]; then
    # Old and new in the order new, old, old, new, each on a fresh store, and each binary's
    # two cycles summed: whichever runs first in a pair pays more (the same binary twice in a
    # row measured 1.08 against itself, the first run the slower), and this order cancels that
    # and any drift of the machine's speed during the run. The `ours` line above is the first.
    cycle() { # NAME BIN
        write_config "$OUT/$1.toml" "$OUT/$1-state" "$BASE" "$FEEDS" 15m "$CONC"
        /usr/bin/time -v -o "$OUT/$1.time" "$2" -c "$OUT/$1.toml" once --json \
            > "$OUT/$1.json" 2> "$OUT/$1.err"
    }
    cycle old "$OLD_BIN"
    cycle old2 "$OLD_BIN"
    cycle new2 target/release/wirewatch
    echo "e2e old feeds=$FEEDS wall_s=$(timev "$OUT/old.time" wall) cpu_s=$(timev "$OUT/old.time" cpu) rss_mb=$(timev "$OUT/old.time" rss) state_mb=$(du -sm "$OUT/old-state" | cut -f1) (second old cycle: wall_s=$(timev "$OUT/old2.time" wall) cpu_s=$(timev "$OUT/old2.time" cpu); second new cycle: wall_s=$(timev "$OUT/new2.time" wall) cpu_s=$(timev "$OUT/new2.time" cpu))"
    sum() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a + b }'; }
    max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
    new_cpu=$(sum "$(timev "$OUT/ours.time" cpu)" "$(timev "$OUT/new2.time" cpu)")
    old_cpu=$(sum "$(timev "$OUT/old.time" cpu)" "$(timev "$OUT/old2.time" cpu)")
    new_wall=$(sum "$(timev "$OUT/ours.time" wall)" "$(timev "$OUT/new2.time" wall)")
    old_wall=$(sum "$(timev "$OUT/old.time" wall)" "$(timev "$OUT/old2.time" wall)")
    new_rss=$(max "$(timev "$OUT/ours.time" rss)" "$(timev "$OUT/new2.time" rss)")
    old_rss=$(max "$(timev "$OUT/old.time" rss)" "$(timev "$OUT/old2.time" rss)")
    echo "e2e new/old (two cycles each, new old old new) cpu=$(ratio "$new_cpu" "$old_cpu") wall=$(ratio "$new_wall" "$old_wall") rss=$(ratio "$new_rss" "$old_rss") state=$(ratio "$(du -sm "$OUT/state" | cut -f1)" "$(du -sm "$OUT/old-state" | cut -f1)")"
    rm -rf "$OUT/old2-state" "$OUT/new2-state"
fi

if [ "${PEER:-1}" != 0 ]; then
    /usr/bin/time -v -o "$OUT/peer.time" python3 benches/peers/e2e_peer.py "$BASE" "$FEEDS" "$CONC" \
        > "$OUT/peer.summary" 2> "$OUT/peer.err"
    echo "e2e peer feeds=$FEEDS wall_s=$(timev "$OUT/peer.time" wall) cpu_s=$(timev "$OUT/peer.time" cpu) rss_mb=$(timev "$OUT/peer.time" rss) $(cat "$OUT/peer.summary")"
fi
