#!/bin/sh
# Many topics: one `wirewatch once` cycle over FEEDS synthetic feeds x 20 items (each with an
# article page, benches/e2e.sh's world) with one topic (the dispute) and with TOPICS topics
# (the dispute and TOPICS-1 seed sets from benches/topic_seeds.py), same build, same world, in
# one run. Every entry is fetched and extracted once whatever the number of topics; what
# each more topic costs is its relevance score of every text. Prints CPU, wall, peak RSS and
# store size of both and their ratios (target: CPU and RSS of TOPICS=10 at most 1.3x one).
# Knobs: FEEDS (default 1000), TOPICS (10), CONCURRENCY (32).
set -eu
cd "$(dirname "$0")/.."
. benches/lib.sh
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
FEEDS="${FEEDS:-1000}"
TOPICS="${TOPICS:-10}"
CONC="${CONCURRENCY:-32}"
OUT="${BENCH_OUT:-$PWD/target/bench-out}/topics"
rm -rf "$OUT"; mkdir -p "$OUT"
cargo build --quiet --release --bin wirewatch --example bench_server
trap stop_server EXIT
start_server "$FEEDS" "$OUT"
python3 benches/topic_seeds.py "$OUT/seeds" $((TOPICS - 1))

write_config "$OUT/one.toml" "$OUT/one-state" "$BASE" "$FEEDS" 15m "$CONC"
# The many-topics config: the same file with [topic] as the first of [[topics]], then the
# generated ones.
{
    sed 's/^\[topic\]$/[[topics]]/' "$OUT/one.toml" | sed "s#^state_dir = .*#state_dir = \"$OUT/many-state\"#"
    k=1
    while [ $k -lt "$TOPICS" ]; do
        printf '\n[[topics]]\nname = "generated topic %s"\nseeds = "%s"\n' "$k" "$OUT/seeds/topic-$k"
        k=$((k + 1))
    done
} > "$OUT/many.toml"
target/release/wirewatch -c "$OUT/many.toml" check > /dev/null

run() {
    /usr/bin/time -v -o "$OUT/$1.time" target/release/wirewatch -c "$OUT/$1.toml" once --json \
        > "$OUT/$1.json" 2> "$OUT/$1.err"
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print('decided=' + json.dumps(r['decided'], separators=(',', ':')))" "$OUT/$1.json" > "$OUT/$1.summary"
    echo "topics $1 feeds=$FEEDS wall_s=$(timev "$OUT/$1.time" wall) cpu_s=$(timev "$OUT/$1.time" cpu) rss_mb=$(timev "$OUT/$1.time" rss) state_mb=$(du -sm "$OUT/$1-state" | cut -f1) $(cat "$OUT/$1.summary")"
}
run one
run many
echo "topics $TOPICS/1 cpu=$(ratio "$(timev "$OUT/many.time" cpu)" "$(timev "$OUT/one.time" cpu)") wall=$(ratio "$(timev "$OUT/many.time" wall)" "$(timev "$OUT/one.time" wall)") rss=$(ratio "$(timev "$OUT/many.time" rss)" "$(timev "$OUT/one.time" rss)") state=$(ratio "$(du -sm "$OUT/many-state" | cut -f1)" "$(du -sm "$OUT/one-state" | cut -f1)")"
