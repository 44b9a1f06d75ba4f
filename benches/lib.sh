# Shared helpers of the benchmark scripts (sourced, POSIX sh).

# start_server FEEDS OUTDIR: starts the loopback feed server, sets BASE and SERVER_PID.
start_server() {
    rm -f "$2/server.out"
    FEEDS="$1" WW_BENCH_THREADS="${SERVER_THREADS:-1}" target/release/examples/bench_server \
        > "$2/server.out" 2> "$2/server.err" &
    SERVER_PID=$!
    i=0
    while [ ! -s "$2/server.out" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    BASE=$(head -n1 "$2/server.out")
    [ -n "$BASE" ] || { echo "bench_server did not start" >&2; exit 1; }
}

stop_server() {
    [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

# write_config FILE STATE_DIR BASE FEEDS INTERVAL CONCURRENCY: a wirewatch config polling
# FEEDS synthetic feeds. All feeds share one host (127.0.0.1:PORT), so the per-host limit is
# raised to the global one and the per-host spacing is zero: otherwise politeness to that
# single host, not the daemon, would set the pace.
write_config() {
    {
        printf 'state_dir = "%s"\n\n[topic]\nname = "Microsoft vs OpenAI and Amazon: the Frontier cloud dispute"\nseeds = "%s"\n\n' \
            "$2" "$PWD/seeds"
        printf '[fetch]\ninterval = "%s"\ntimeout = "60s"\nallow_private_networks = true\nconcurrency = %s\nper_host_concurrency = %s\nper_host_interval = "0s"\n\n' \
            "$5" "$6" "$6"
        printf '[http]\nenabled = false\n\n'
        i=0
        while [ $i -lt "$4" ]; do
            printf '[[feeds]]\nurl = "%s/feed/%s.xml"\n' "$3" $i
            i=$((i + 1))
        done
    } > "$1"
}

# timev FILE KEY: a figure from a GNU time -v report (wall seconds, cpu seconds, rss MB).
timev() {
    case "$2" in
    wall) awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; printf "%.1f", s }' "$1" ;;
    cpu) awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.1f", u + s }' "$1" ;;
    rss) awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1" ;;
    esac
}

# ratio A B: A / B to two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }

# Third-party corpora (corpus/feeds, corpus/extraction-dev) are not in the repo: they are looked
# for in $WIREWATCH_SHARED, else ../shared beside the checkout.
SHARED="${WIREWATCH_SHARED:-$(cd ../shared 2>/dev/null && pwd || echo ../shared)}"
export WIREWATCH_SHARED="$SHARED"
# have_corpus REL PART: true when $SHARED/REL exists, else says which part is skipped and why.
have_corpus() {
    if [ -e "$SHARED/$1" ]; then return 0; fi
    echo "== $2: skipped: third-party corpus $1 not found under $SHARED (set WIREWATCH_SHARED)" >&2
    return 1
}
