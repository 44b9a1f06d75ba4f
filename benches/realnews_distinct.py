#!/usr/bin/env python3
"""Recall over distinct reports, beside run.py's recall over every target.

The ECB+ corpus holds some articles twice: one wire text carried by two outlets, word for
word (Jaccard 1.0 on 4-word shingles in most cases), or a seed's text again as a target.
run.py counts each such copy as a target to alert on, while it counts an alert on one of its
own republications (the `copy_of_*` items it adds to every run) as false; wirewatch
suppresses both kinds alike (a second alert on the same text is what its users asked not to
get). This script says how much of run.py's recall gap
that is: it groups each run's seeds and targets into copies (the smaller text at least 90%
inside the larger, on 4-word shingles of the body) and counts a group of targets as found
when any of its members alerted; groups holding a seed are not expected to alert at all.

    python3 benches/realnews_distinct.py SHARED/realnews/data/dev RUN_PY_JSON

Prints one line per run whose figures differ and a summary line of macro-averages (DISTINCT;
BASELINE_DISTINCT for the keyword baseline when the JSON holds it: run.py --baseline). The
`R_ceiling` figures are run.py's recall for a judge that alerts once on every distinct
report and never on a copy: the most that a judge suppressing these copies can score on
run.py's count (wirewatch's copy stage also drops looser copies, from 70% contained, so its
own ceiling is lower).
Standard library only; the corpus is read where it lies and nothing of it is written.
"""

import json
import re
import sys

CONTAINED = 0.9


def shingles(text):
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 4]) for i in range(len(words) - 3)}


def copies(a, b):
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) >= CONTAINED


def groups(ids, sh):
    """Union-find over the ids: one group per set of mutual copies."""
    parent = {i: i for i in ids}

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for x, a in enumerate(ids):
        for b in ids[x + 1 :]:
            if copies(sh[a], sh[b]):
                parent[find(a)] = find(b)
    out = {}
    for i in ids:
        out.setdefault(find(i), []).append(i)
    return list(out.values())


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: realnews_distinct.py DATA_DIR RUN_PY_JSON")
    data, result = sys.argv[1], sys.argv[2]
    arts = {}
    with open(f"{data}/articles.jsonl", encoding="utf-8") as f:
        for line in f:
            a = json.loads(line)
            arts[a["id"]] = a
    with open(f"{data}/runs.json", encoding="utf-8") as f:
        runs = {r["id"]: r for r in json.load(f)["runs"]}
    with open(result, encoding="utf-8") as f:
        scored = json.load(f)["runs"]
    for who in ("wirewatch", "baseline"):
        if any(who in row for row in scored):
            report(who, scored, runs, arts)


def report(who, scored, runs, arts):
    """The per-run lines and the DISTINCT line of one scored binary (or the baseline)."""
    sums = {}
    for row in scored:
        w = row.get(who) or {}
        run = runs.get(row["run"])
        # As run.py's means: a run without a recall (no target) is left out.
        if run is None or "missed" not in w or w.get("recall") is None:
            continue
        targets = [x["id"] for x in run["world"] if x["role"] == "target"]
        seeds = list(run["seeds"])
        sh = {i: shingles(arts[i]["text"]) for i in targets + seeds}
        missed = set(w["missed"])
        expected = found = copies_of_targets = 0
        for g in groups(targets + seeds, sh):
            members = [i for i in g if i in targets]
            if not members or any(i in seeds for i in g):
                continue
            expected += 1
            copies_of_targets += len(members) - 1
            found += any(i not in missed for i in members)
        seed_copies = sum(
            1 for i in targets if any(copies(sh[i], sh[s]) for s in seeds)
        )
        if not expected:
            continue
        recall = found / expected
        full = w["recall"]
        kind = run["kind"]
        s = sums.setdefault(kind, [0, 0.0, 0.0, 0, 0, 0.0])
        s[0] += 1
        s[1] += full
        s[2] += recall
        s[3] += copies_of_targets
        s[4] += seed_copies
        # run.py's recall for a judge that alerts once on every distinct report and never
        # on a copy: the most any judge that suppresses these copies can score there.
        s[5] += expected / len(targets)
        if who == "wirewatch" and abs(recall - full) > 1e-9:
            print(
                f"{row['run']:<22} targets {len(targets):>3} distinct {expected:>3} "
                f"(copies of a target {copies_of_targets}, of a seed {seed_copies}) "
                f"R {full:.2f} -> {recall:.2f}"
            )
    line = ["DISTINCT" if who == "wirewatch" else "BASELINE_DISTINCT"]
    for kind in ("narrow", "broad"):
        if kind in sums:
            n, full, dist, ct, cs, ceiling = sums[kind]
            line.append(
                f"{kind}_R={full / n:.3f} {kind}_distinct_R={dist / n:.3f} "
                f"{kind}_target_copies={ct} {kind}_seed_copies={cs} "
                f"{kind}_R_ceiling={ceiling / n:.3f}"
            )
    print(" ".join(line))


if __name__ == "__main__":
    main()
