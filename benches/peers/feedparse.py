"""Feed parsing throughput of Python feedparser, one thread: the peer of benches/feedparse.rs.

Same files (every file under $WIREWATCH_SHARED/corpus/feeds, sorted), same rule (one warm-up
pass, then whole passes until WW_BENCH_SECS seconds, default 5). Prints one key=value line.
"""
import os
import sys
import time

import feedparser


def main():
    shared = os.environ.get("WIREWATCH_SHARED", "../shared")
    root = os.path.join(shared, "corpus", "feeds")
    files = []
    for d, _, names in os.walk(root):
        files.extend(os.path.join(d, n) for n in names)
    files.sort()
    bodies = []
    for p in files:
        with open(p, "rb") as f:
            bodies.append(f.read())
    total = sum(len(b) for b in bodies)
    secs = float(os.environ.get("WW_BENCH_SECS", "5"))
    with_entries = sum(1 for b in bodies if feedparser.parse(b).entries)
    passes = 0
    start = time.perf_counter()
    while time.perf_counter() - start < secs:
        for b in bodies:
            feedparser.parse(b)
        passes += 1
    el = time.perf_counter() - start
    print(
        f"parser=feedparser-{feedparser.__version__} files={len(bodies)} bytes={total} "
        f"with_entries={with_entries} passes={passes} secs={el:.3f} "
        f"mb_s={total * passes / el / 1e6:.2f} files_s={len(bodies) * passes / el:.1f}"
    )


if __name__ == "__main__":
    sys.exit(main())
