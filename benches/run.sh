#!/bin/sh
# The whole benchmark suite, every figure against a peer measured in the same run, ending in
# the markdown table of benches/README.md. Knobs (environment):
#   FEEDS=1000         end-to-end scale (feeds x 20 items, each with a page); issue target 10000
#   CONCURRENCY=32     fetch concurrency of both the daemon and the Python peer
#   PEER=0             skip the (slow) Python end-to-end peer
#   DEDUP_N=100000     stored items of the dedup bench (the issue asks 10k, 100k and 1M)
#   WW_BENCH_SECS=5    timed seconds per parser in the feed-parsing bench
#   CYCLE_SECS=300     length of the 1 s-interval memory run; IDLE_SECS=60 the idle window
#   RETENTION_N=100000 entries per round of the retention bench
#   SKIP="extraction dedup steady"   parts to leave out (any of feedparse extraction dedup
#                                    retention e2e topics steady realnews)
# Output: target/bench-out/run.log (everything) and target/bench-out/table.md (the table).
set -eu
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
. benches/lib.sh
OUT="${BENCH_OUT:-$PWD/target/bench-out}"
export BENCH_OUT="$OUT"
mkdir -p "$OUT"
LOG="$OUT/run.log"
: > "$LOG"
SKIP="${SKIP:-}"
want() { case " $SKIP " in *" $1 "*) return 1 ;; *) return 0 ;; esac; }

python3 -c 'import feedparser, trafilatura, urllib3, lxml_html_clean' 2>/dev/null ||
    python3 -m pip install --quiet feedparser trafilatura lxml_html_clean urllib3

if want feedparse && have_corpus corpus/feeds "feed parsing"; then
    echo "== feed parsing (one thread, corpus/feeds)" | tee -a "$LOG"
    cargo bench --quiet --bench feedparse 2>/dev/null | grep '^parser=' | tee -a "$LOG"
    python3 benches/peers/feedparse.py | tee -a "$LOG"
fi
if want extraction && have_corpus corpus/extraction-dev extraction; then
    echo "== extraction" | tee -a "$LOG"
    sh benches/extraction.sh 2>&1 | tee -a "$LOG"
fi
if want dedup; then
    echo "== dedup (WW_BENCH_N=${DEDUP_N:-100000})" | tee -a "$LOG"
    WW_BENCH_N="${DEDUP_N:-100000}" cargo bench --quiet --bench dedup 2>/dev/null | tee -a "$LOG"
fi
if want retention; then
    echo "== retention (WW_BENCH_N=${RETENTION_N:-100000} per round)" | tee -a "$LOG"
    WW_BENCH_N="${RETENTION_N:-100000}" cargo bench --quiet --bench retention 2>/dev/null | tee -a "$LOG"
    if psql "${PG:-postgres://postgres@127.0.0.1:5432/test}" -qc 'select 1' >/dev/null 2>&1; then
        echo "== retention on PostgreSQL (WW_BENCH_N=${RETENTION_N:-100000} per round)" | tee -a "$LOG"
        WIREWATCH_TEST_PG="${PG:-postgres://postgres@127.0.0.1:5432/test}" WW_BENCH_PG=1 \
            WW_BENCH_N="${RETENTION_N:-100000}" cargo bench --quiet --bench retention 2>/dev/null | tee -a "$LOG"
    fi
fi
if want e2e; then
    echo "== end to end (FEEDS=${FEEDS:-1000})" | tee -a "$LOG"
    sh benches/e2e.sh | tee -a "$LOG"
fi
if want topics; then
    echo "== many topics (FEEDS=${FEEDS:-1000}, 10 topics vs 1)" | tee -a "$LOG"
    sh benches/topics.sh | tee -a "$LOG"
fi
if want realnews; then
    echo "== real news (ECB+ replay, dev set)" | tee -a "$LOG"
    sh benches/realnews.sh | tee -a "$LOG"
fi
if want steady; then
    echo "== steady state" | tee -a "$LOG"
    sh benches/steady.sh | tee -a "$LOG"
fi

# The table: one row per figure, from the key=value lines above.
python3 - "$LOG" > "$OUT/table.md" <<'PY'
import datetime, re, sys

lines = open(sys.argv[1]).read().splitlines()
today = datetime.date.today().isoformat()

def kv(prefix):
    for l in lines:
        if l.startswith(prefix):
            return dict(re.findall(r"(\w+)=(\S+)", l))
    return None

rows = []
def row(fig, ours, peer, ratio, target, better):
    rows.append(f"| {fig} | {ours} | {peer} | {ratio} | {target} | {better} | {today} |")

def r(a, b):
    try:
        return f"{float(a) / float(b):.2f}"
    except (TypeError, ValueError, ZeroDivisionError):
        return "-"

ww, fp = kv("parser=wirewatch"), kv("parser=feedparser")
if ww and fp:
    row(f"feed parsing, MB/s, one thread ({ww['files']} corpus files)", ww["mb_s"],
        f"{fp['mb_s']} (feedparser)", r(ww["mb_s"], fp["mb_s"]), "ratio > 1", "higher")
for l in lines:
    m = re.match(r"ratio wirewatch/dom_smoothie: ([\d.]+) \(all rounds\)", l)
    if m:
        pr = {k: float(v) for k, v in re.findall(r"^(\S+)\s+([\d.]+) pages/s \(all", "\n".join(lines), re.M)}
        ours = next((v for k, v in pr.items() if k.startswith("wirewatch")), "-")
        peer = next((v for k, v in pr.items() if k.startswith("dom_smoothie")), "-")
        row("extraction, pages/s, one thread (extraction-dev)", ours, f"{peer} (dom_smoothie)", m.group(1), "ratio > 1", "higher")
    m = re.match(r"lookup \+ insert at (\d+) stored .*sled (\d+) items/s, MemIndex (\d+) items/s, ratio sled/MemIndex ([\d.]+)", l)
    if m:
        row(f"dedup lookup+insert/s at {m.group(1)} stored", m.group(2), f"{m.group(3)} (in-memory MemIndex)", m.group(4), "-", "higher")
o = kv("retention n=")
if o:
    row(f"retention, {o['rounds']} rounds of {o['n']} old entries + items forgotten: store MB with vs without", o["store_mb"],
        f"{o['without_retention_mb']} (same loads, retain = \"0s\")", o["size_ratio"], "-", "lower")
    row(f"retention runs, s, against one read of every entry and item", o["forget_s"],
        f"{o['read_all_s']} (entries() + items())", o["ratio"], "-", "lower")
    row("store compact after those rounds: store MB compacted vs not", o["compacted_mb"],
        f"{o['store_mb']} (the same store before)", f"{float(o['compacted_mb']) / max(float(o['store_mb']), 1e-9):.2f}", "-", "lower")
    row("store compact, s, against one read of every entry and item", o["compact_s"],
        f"{o['read_once_s']} (entries() + items())", o["compact_ratio"], "-", "lower")
o = kv("retention pg n=")
if o:
    row(f"retention on PostgreSQL, {o['rounds']} rounds of {o['n']} old entries + items, VACUUM after each: MB with vs without", o["store_mb"],
        f"{o['without_retention_mb']} (same loads, retain = \"0s\")", o["size_ratio"], "-", "lower")
    row("retention runs on PostgreSQL, s, against one read of every entry and item", o["forget_s"],
        f"{o['read_all_s']} (entries() + items())", o["ratio"], "-", "lower")
    row("VACUUM FULL after those rounds: MB after vs before", o["compacted_mb"],
        f"{o['store_mb']} (the same schema before)", f"{float(o['compacted_mb']) / max(float(o['store_mb']), 1e-9):.2f}", "-", "lower")
o, b = kv("realnews new SUMMARY"), kv("realnews new BASELINE")
if o:
    for key, fig in [("narrow_P", "narrow alert precision"), ("narrow_R", "narrow alert recall"),
                     ("narrow_story_F1", "narrow story pairwise F1"), ("broad_P", "broad alert precision"),
                     ("broad_R", "broad alert recall"), ("broad_story_F1", "broad story pairwise F1")]:
        row(f"real news (ECB+ dev, {o['runs']} runs): {fig}", o[key], f"{b[key]} (keyword baseline)" if b else "-",
            r(o[key], b[key]) if b else "-", ">= 0.95 (P, R), >= 0.90 (story F1)", "higher")
o, p = kv("e2e ours"), kv("e2e peer")
if o:
    n = o["feeds"]
    for key, fig, target in [("wall_s", "wall s", "< 60 s at 10,000 feeds"), ("cpu_s", "CPU s (user+sys)", "-"), ("rss_mb", "peak RSS MB", "< 150 MB")]:
        row(f"end to end, {n} feeds x 20 items + pages: {fig}", o[key],
            f"{p[key]} (feedparser+trafilatura)" if p else "-", r(o[key], p[key]) if p else "-", target, "lower")
for what, target in [("idle", "< 0.5 %")]:
    o, p = kv(f"steady ours {what}"), kv(f"steady peer {what}")
    if o:
        row(f"idle CPU %, {o['feeds']} feeds every {o['interval_s']} s, {o['window_s']} s window", o["cpu_pct"],
            f"{p['cpu_pct']} (Python poller)" if p else "-", r(o["cpu_pct"], p["cpu_pct"]) if p else "-", target, "lower")
o, p = kv("steady ours memory"), kv("steady peer memory")
if o:
    def g(d): return f"{float(d['rss_start_mb']):.1f} -> {float(d['rss_end_mb']):.1f} ({d['cycles']} cycles)"
    growth = lambda d: float(d["rss_end_mb"]) - float(d["rss_start_mb"])
    row(f"RSS MB over 1 s cycles, {o['feeds']} feeds, 304s", g(o), f"{g(p)} (Python poller)" if p else "-",
        f"growth {growth(o):+.1f} vs {growth(p):+.1f} MB" if p else "-", "flat", "flat")
print("| figure | ours | peer | ours/peer | target | better | date |")
print("|---|---|---|---|---|---|---|")
print("\n".join(rows))
PY
echo
cat "$OUT/table.md"
