#!/bin/sh
# Extraction benchmark: speed of wirewatch's extractor and dom_smoothie in one run (one
# thread), then quality of both on the extraction-dev corpus with its own score.py, and
# wirewatch's F1 on the scenario's labelled bodies.
#   benches/extraction.sh            (BENCH_ROUNDS=N for more timed passes; default 5)
set -eu
cd "$(dirname "$0")/.."
. benches/lib.sh
have_corpus corpus/extraction-dev extraction || exit 2
export CARGO_BUILD_JOBS=1
OUT="${BENCH_OUT:-$PWD/target/bench-out}"
export BENCH_OUT="$OUT"
mkdir -p "$OUT"

echo "== speed (one thread, pages/s) and predictions"
cargo bench --bench extraction 2>/dev/null

echo
echo "== quality on extraction-dev (corpus score.py)"
python3 "$SHARED/corpus/extraction-dev/score.py" "$SHARED/corpus/extraction-dev" \
    "$OUT/wirewatch.json" "$OUT/dom_smoothie.json" | grep -v holdout

echo
echo "== wirewatch on the scenario's labelled bodies (scenario score.py --bodies)"
cargo bench --quiet --bench scenario_bodies 2>/dev/null > "$OUT/scenario_bodies.jsonl"
: > "$OUT/no_alerts.jsonl"
python3 tests/data/scenario/score.py --labels tests/data/scenario/dev/labels.json \
    --alerts "$OUT/no_alerts.jsonl" --bodies "$OUT/scenario_bodies.jsonl" | grep '^extraction'
