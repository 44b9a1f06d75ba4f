#!/bin/sh
# Judgement on real news: the whole dev set of the ECB+ replay (../shared/realnews, third-party,
# not in this repository), scored by the corpus's own run.py on the release binary beside its
# keyword baseline. OLD_BIN=PATH also scores an older binary in the same run.
#   benches/realnews.sh   -> the SUMMARY and BASELINE lines, recall over distinct reports and
#                            the highest recall run.py allows a judge that drops copies
#                            (DISTINCT); per-run JSON in target/bench-out/realnews/
set -eu
cd "$(dirname "$0")/.."
. benches/lib.sh
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
have_corpus realnews/run.py "real news" || exit 0
OUT="${BENCH_OUT:-$PWD/target/bench-out}/realnews"
rm -rf "$OUT"; mkdir -p "$OUT"
cargo build --quiet --release --bin wirewatch
python3 "$SHARED/realnews/run.py" target/release/wirewatch dev --baseline --json "$OUT/new.json" \
    > "$OUT/new.log" 2>&1
grep -E '^(SUMMARY|BASELINE)' "$OUT/new.log" | sed 's/^/realnews new /'
# The same alerts counted over distinct reports: the corpus's word-for-word copies of a seed
# or of another target are one report (see benches/realnews_distinct.py).
python3 benches/realnews_distinct.py "$SHARED/realnews/data/dev" "$OUT/new.json" \
    > "$OUT/distinct.log"
grep -E '^(BASELINE_)?DISTINCT' "$OUT/distinct.log" | sed 's/^/realnews new /'
if [ -n "${OLD_BIN:-}" ]; then
    python3 "$SHARED/realnews/run.py" "$OLD_BIN" dev --json "$OUT/old.json" > "$OUT/old.log" 2>&1
    grep -E '^SUMMARY' "$OUT/old.log" | sed 's/^/realnews old /'
fi
