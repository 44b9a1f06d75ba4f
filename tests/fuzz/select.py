#!/usr/bin/env python3
"""Picks the fuzz inputs that go into git: a greedy set cover over libFuzzer's features.

    TARGET -merge=1 -merge_control_file=CONTROL EMPTY_DIR MERGED_DIR   # features per input
    python3 tests/fuzz/select.py CONTROL OUT_DIR [MIN_GAIN]

Reads the merge control file (the input list, then one `COV idx f...` line per input), takes
inputs one at a time, each the one adding the most features not yet covered (the smaller on a
tie), and stops when the best adds fewer than MIN_GAIN (default 5): the long tail of inputs
that each add one or two features is what made the corpora thousands of files. Prints how many
inputs keep what share of the features.
"""
import os
import shutil
import sys


def main():
    control, outdir = sys.argv[1], sys.argv[2]
    min_gain = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    lines = open(control).read().split("\n")
    n = int(lines[0])
    files = lines[2:2 + n]
    cov = {}
    for line in lines[2 + n:]:
        parts = line.split()
        if parts and parts[0] == "COV":
            cov[int(parts[1])] = set(map(int, parts[2:]))
    covered, chosen = set(), []
    remaining = dict(cov)
    while remaining:
        i, gain = max(((i, len(s - covered)) for i, s in remaining.items()),
                      key=lambda x: (x[1], -os.path.getsize(files[x[0]])))
        if gain < min_gain:
            break
        chosen.append(i)
        covered |= remaining.pop(i)
    every = set().union(*cov.values()) if cov else set()
    os.makedirs(outdir, exist_ok=True)
    for i in chosen:
        shutil.copy(files[i], outdir)
    print(f"{len(chosen)} of {n} inputs keep {len(covered)} of {len(every)} features "
          f"({100 * len(covered) / max(len(every), 1):.1f} %) at min gain {min_gain}")


if __name__ == "__main__":
    main()
