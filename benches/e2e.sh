#!/bin/sh
# End to end: one `wirewatch once` cycle over FEEDS synthetic feeds x 20 items (each with an
# article page) on a loopback server, against a Python feedparser + trafilatura pipeline
# (benches/peers/e2e_peer.py) doing the fetch/parse/page/extract part of the same job with the same
# concurrency, in the same run. Wall time, CPU seconds (user + system) and peak RSS come from
# GNU time -v; state_mb is the store's size on disk after the cycle (kept texts included).
# Knobs: FEEDS (default 1000), CONCURRENCY (32), PEER=0 skips the peer, OLD_BIN=PATH also runs
# an older wirewatch binary on the same world (its own store) and prints new/old ratios.
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
    write_config "$OUT/old.toml" "$OUT/old-state" "$BASE" "$FEEDS" 15m "$CONC"
    /usr/bin/time -v -o "$OUT/old.time" "$OLD_BIN" -c "$OUT/old.toml" once --json \
        > "$OUT/old.json" 2> "$OUT/old.err"
    echo "e2e old feeds=$FEEDS wall_s=$(timev "$OUT/old.time" wall) cpu_s=$(timev "$OUT/old.time" cpu) rss_mb=$(timev "$OUT/old.time" rss) state_mb=$(du -sm "$OUT/old-state" | cut -f1)"
    echo "e2e new/old cpu=$(ratio "$(timev "$OUT/ours.time" cpu)" "$(timev "$OUT/old.time" cpu)") wall=$(ratio "$(timev "$OUT/ours.time" wall)" "$(timev "$OUT/old.time" wall)") rss=$(ratio "$(timev "$OUT/ours.time" rss)" "$(timev "$OUT/old.time" rss)") state=$(ratio "$(du -sm "$OUT/state" | cut -f1)" "$(du -sm "$OUT/old-state" | cut -f1)")"
fi

if [ "${PEER:-1}" != 0 ]; then
    /usr/bin/time -v -o "$OUT/peer.time" python3 benches/peers/e2e_peer.py "$BASE" "$FEEDS" "$CONC" \
        > "$OUT/peer.summary" 2> "$OUT/peer.err"
    echo "e2e peer feeds=$FEEDS wall_s=$(timev "$OUT/peer.time" wall) cpu_s=$(timev "$OUT/peer.time" cpu) rss_mb=$(timev "$OUT/peer.time" rss) $(cat "$OUT/peer.summary")"
fi
