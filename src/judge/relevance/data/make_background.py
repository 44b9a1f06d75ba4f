#!/usr/bin/env python3
"""Regenerates background_en.txt, the English background model of the relevance stage.

    python3 -m pip install wordfreq==3.1.1
    python3 src/judge/relevance/data/make_background.py > src/judge/relevance/data/background_en.txt

Takes wordfreq's English word list, folds each word the way wirewatch's tokenizer does
(lower case, apostrophes dropped: "don't" -> "dont"), keeps the words made of letters only,
gives each folded word the highest Zipf frequency among the words that fold to it, and writes
the 40,000 most frequent as `word<TAB>round(zipf*100)`, most frequent first (ties in
alphabetical order), under the attribution header the data's licence asks for.
"""
import sys

import wordfreq

N = 40_000
HEADER = """\
# English word frequencies (Zipf scale x100) derived from wordfreq 3.1.1 by Robyn Speer.
# Data licence: CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/); sources include
# Google Books Ngrams, Wikipedia, OpenSubtitles, SUBTLEX, Reddit and others (see wordfreq's README).
# Regenerate with src/judge/relevance/data/make_background.py.
"""


def fold(word):
    w = word.lower().replace("'", "").replace("\u2019", "")
    return w if w.isascii() and w.isalpha() else None


def main():
    best = {}
    for word in wordfreq.top_n_list("en", 3 * N):
        f = fold(word)
        if f is None:
            continue
        z = round(wordfreq.zipf_frequency(word, "en") * 100)
        if z > best.get(f, -1):
            best[f] = z
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:N]
    out = sys.stdout
    out.write(HEADER)
    for w, z in ranked:
        out.write(f"{w}\t{z}\n")


if __name__ == "__main__":
    main()
