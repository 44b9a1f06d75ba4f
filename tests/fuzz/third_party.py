#!/usr/bin/env python3
"""Lists fuzz inputs that share a run of W bytes (default 64) with a third-party corpus file.

    python3 tests/fuzz/third_party.py SHARED_CORPUS_DIR INPUT_DIR...   # e.g. ../shared/corpus

The third-party corpora (feeds, pages) are not ours to redistribute; fuzz inputs grown from
them carry their text. Every W/2-byte-aligned window of every third-party file (gzip
decompressed) is hashed; an input that contains any of them (so any run of 1.5 W bytes, or a
whole short file) is listed, to be dropped. Exits 1 when any is found.
"""
import gzip
import os
import sys

W = int(os.environ.get("W", "64"))


def main():
    shared_dir, dirs = sys.argv[1], sys.argv[2:]
    windows, wholes = set(), set()
    for root, _, names in os.walk(shared_dir):
        for name in names:
            path = os.path.join(root, name)
            try:
                data = open(path, "rb").read()
                if path.endswith(".gz"):
                    data = gzip.decompress(data)
            except OSError:
                continue
            except Exception:
                continue
            if len(data) < W:
                if len(data) >= 24:
                    wholes.add(data)
                continue
            for i in range(0, len(data) - W + 1, W // 2):
                windows.add(hash(data[i:i + W]))
    found = 0
    for d in dirs:
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            data = open(path, "rb").read()
            if data in wholes or any(hash(data[i:i + W]) in windows
                                     for i in range(0, max(len(data) - W, -1) + 1)):
                print(path)
                found += 1
    print(f"{found} inputs share {W} bytes or more with {shared_dir}", file=sys.stderr)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
