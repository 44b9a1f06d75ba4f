#!/bin/sh
# Scale-out: one cycle over FEEDS synthetic feeds x 20 items (each with an article page,
# benches/e2e.sh's world), on the embedded store with one process (`wirewatch once`) and on
# PostgreSQL with 1, 2 and 4 workers (`wirewatch run` each, until every feed is polled and
# every entry judged), same build, same world, in one run. Prints per run: wall, CPU and peak
# RSS of the wirewatch processes, the whole machine's CPU (PostgreSQL's server included), the work each worker did (polls, entries judged), and in PostgreSQL
# the rows and bytes per item (tables and indexes). Knobs: FEEDS (default 1000), WORKERS
# ("1 2 4"), CONCURRENCY (32), PG (default postgres://postgres@127.0.0.1:5432/test).
set -eu
cd "$(dirname "$0")/.."
. benches/lib.sh
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
FEEDS="${FEEDS:-1000}"
CONC="${CONCURRENCY:-32}"
PG="${PG:-postgres://postgres@127.0.0.1:5432/test}"
OUT="${BENCH_OUT:-$PWD/target/bench-out}/postgres"
rm -rf "$OUT"; mkdir -p "$OUT"
cargo build --quiet --release --bin wirewatch --example bench_server
WW=target/release/wirewatch
trap 'stop_server; for s in $SCHEMAS; do psql "$PG" -qc "drop schema if exists $s cascade" 2>/dev/null; done' EXIT
SCHEMAS=
start_server "$FEEDS" "$OUT"

# The whole machine's busy CPU seconds so far (every process: wirewatch, the PostgreSQL
# server's backends, the feed server): what a run costs in all, PostgreSQL included.
TICK=$(getconf CLK_TCK)
busy() { awk -v t="$TICK" '/^cpu / { printf "%.1f", ($2 + $3 + $4 + $7 + $8) / t }' /proc/stat; }

write_config "$OUT/sled.toml" "$OUT/sled-state" "$BASE" "$FEEDS" 15m "$CONC"
b0=$(busy)
/usr/bin/time -v -o "$OUT/sled.time" $WW -c "$OUT/sled.toml" once --json > "$OUT/sled.json" 2> "$OUT/sled.err"
SLED_MACHINE=$(awk -v a="$b0" -v b="$(busy)" 'BEGIN { printf "%.1f", b - a }')
echo "postgres sled-once feeds=$FEEDS wall_s=$(timev "$OUT/sled.time" wall) cpu_s=$(timev "$OUT/sled.time" cpu) machine_cpu_s=$SLED_MACHINE rss_mb=$(timev "$OUT/sled.time" rss) state_mb=$(du -sm "$OUT/sled-state" | cut -f1)"
SLED_WALL=$(timev "$OUT/sled.time" wall)
SLED_CPU=$(timev "$OUT/sled.time" cpu)

for n in ${WORKERS:-1 2 4}; do
    schema="bench_pg_$n"
    SCHEMAS="$SCHEMAS $schema"
    psql "$PG" -qc "drop schema if exists $schema cascade" 2>/dev/null
    write_config "$OUT/pg$n.toml" "$OUT/pg$n-state" "$BASE" "$FEEDS" 15m "$CONC"
    printf '\n[store]\nurl = "%s"\nschema = "%s"\n' "$PG" "$schema" >> "$OUT/pg$n.toml"
    # The schema first (migrations), so that the timed run starts from an empty store.
    $WW -c "$OUT/pg$n.toml" status > /dev/null
    start=$(date +%s.%N)
    b0=$(busy)
    pids=
    i=1
    while [ $i -le "$n" ]; do
        RUST_LOG=warn /usr/bin/time -v -o "$OUT/pg$n-w$i.time" $WW -c "$OUT/pg$n.toml" run \
            > /dev/null 2> "$OUT/pg$n-w$i.err" &
        pids="$pids $!"
        i=$((i + 1))
    done
    # Done: every feed polled once and nothing pending, for two looks in a row.
    still=0
    while :; do
        sleep 1
        $WW -c "$OUT/pg$n.toml" status --json > "$OUT/pg$n.status" 2>/dev/null || continue
        done_now=$(python3 -c "
import json,sys
s=json.load(open(sys.argv[1]))['store']
print(1 if s['feeds'] >= int(sys.argv[2]) and s['pending'] == 0 and s['entries'] > 0 else 0)" "$OUT/pg$n.status" "$FEEDS")
        if [ "$done_now" = 1 ]; then still=$((still + 1)); else still=0; fi
        [ $still -ge 2 ] && break
    done
    end=$(date +%s.%N)
    machine=$(awk -v a="$b0" -v b="$(busy)" 'BEGIN { printf "%.1f", b - a }')
    sleep 6 # a last heartbeat with the final counts
    $WW -c "$OUT/pg$n.toml" status --json > "$OUT/pg$n.status"
    # SIGTERM to the workers (the children of `time`, which then writes its report).
    for p in $pids; do pkill -TERM -P "$p" || true; done
    wait $pids 2>/dev/null || true
    wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a - 2 }')
    cpu=0; rss=
    i=1
    while [ $i -le "$n" ]; do
        cpu=$(awk -v a="$cpu" -v b="$(timev "$OUT/pg$n-w$i.time" cpu)" 'BEGIN { printf "%.1f", a + b }')
        rss="$rss$(timev "$OUT/pg$n-w$i.time" rss),"
        i=$((i + 1))
    done
    work=$(python3 -c "
import json,sys
w=json.load(open(sys.argv[1]))['workers']
print(','.join('%d/%d' % (x['counts']['polls'], x['counts']['entries']) for x in w))" "$OUT/pg$n.status")
    size=$(psql "$PG" -Atqc "select
        (select count(*) from $schema.items),
        (select count(*) from $schema.feeds) + (select count(*) from $schema.feed_leases)
          + (select count(*) from $schema.entries) + (select count(*) from $schema.items)
          + (select count(*) from $schema.dup_docs) + (select count(*) from $schema.stories)
          + (select count(*) from $schema.alerts) + (select count(*) from $schema.outbox)
          + (select count(*) from $schema.finished) + (select count(*) from $schema.texts)
          + (select count(*) from $schema.seeds) + (select count(*) from $schema.meta),
        (select sum(pg_total_relation_size(relid)) from pg_stat_user_tables where schemaname = '$schema')")
    items=$(echo "$size" | cut -d'|' -f1); rows=$(echo "$size" | cut -d'|' -f2); bytes=$(echo "$size" | cut -d'|' -f3)
    echo "postgres workers=$n feeds=$FEEDS wall_s=$wall cpu_s=$cpu machine_cpu_s=$machine rss_mb_each=${rss%,} polls/entries_each=$work items=$items rows_per_item=$(ratio "$rows" "$items") bytes_per_item=$(ratio "$bytes" "$items") wall_vs_sled=$(ratio "$wall" "$SLED_WALL") cpu_vs_sled=$(ratio "$cpu" "$SLED_CPU") machine_cpu_vs_sled=$(ratio "$machine" "$SLED_MACHINE")"
done
