#!/usr/bin/env python3
"""Writes seed sets for the many-topics benchmark (benches/topics.sh): N-1 topics besides the
dispute, each a directory of four seed articles (first line the headline) built from the
topic's own names and terms and some general newswire sentences, deterministically.

    python3 benches/topic_seeds.py OUTDIR 9   ->  OUTDIR/topic-1 .. OUTDIR/topic-9
"""

import os
import random
import sys

TOPICS = [
    ("Netherlands tightens ASML chip export licences to China", ["ASML", "Dutch government", "Veldhoven", "China"], ["lithography", "export licence", "semiconductor", "EUV", "machines", "controls"]),
    ("European Central Bank holds rates as inflation cools", ["European Central Bank", "Christine Lagarde", "Frankfurt", "eurozone"], ["interest rates", "inflation", "deposit rate", "monetary policy", "governing council", "bond yields"]),
    ("Boeing 737 MAX door plug inquiry widens", ["Boeing", "Federal Aviation Administration", "Alaska Airlines", "Spirit AeroSystems"], ["door plug", "fuselage", "inspection", "grounding", "production cap", "bolts"]),
    ("Port of Rotterdam strike halts container traffic", ["Port of Rotterdam", "FNV Havens", "Maasvlakte", "Hutchison Ports"], ["strike", "dockworkers", "containers", "terminal", "wage talks", "vessels"]),
    ("Nvidia faces EU antitrust probe over Run:ai deal", ["Nvidia", "European Commission", "Run:ai", "Margrethe Vestager"], ["antitrust", "merger review", "GPU", "orchestration", "competition", "referral"]),
    ("Drought cuts Panama Canal transits", ["Panama Canal Authority", "Gatun Lake", "Ricaurte Vasquez", "shipping lines"], ["drought", "draft limits", "transits", "water levels", "auction slots", "rainfall"]),
    ("Tesla recalls Cybertruck over accelerator pedal", ["Tesla", "NHTSA", "Cybertruck", "Austin"], ["recall", "accelerator pedal", "trim panel", "vehicles", "defect", "owners"]),
    ("Spain approves four-day week pilot for small firms", ["Spanish government", "Yolanda Diaz", "Madrid", "CEOE"], ["working week", "pilot", "productivity", "small firms", "subsidies", "unions"]),
    ("Samsung union launches first nationwide strike", ["Samsung Electronics", "NSEU", "Hwaseong", "Seoul"], ["strike", "union", "bonuses", "chip plant", "wages", "walkout"]),
    ("Japan's yen hits 38-year low as BOJ stands pat", ["Bank of Japan", "Kazuo Ueda", "Ministry of Finance", "Tokyo"], ["yen", "intervention", "yield curve", "rates", "currency", "exporters"]),
]

GENERAL = [
    "Officials said talks would continue over the coming weeks.",
    "Analysts said the decision could weigh on the sector for months.",
    "The announcement came after days of speculation in local media.",
    "A spokesperson declined to comment beyond a short statement.",
    "Shares moved sharply in early trading before paring losses.",
    "Critics said the measures did not go far enough.",
    "The figures were published on the official website late on Tuesday.",
    "People familiar with the matter said a final decision was expected soon.",
]


def sentence(r, names, terms):
    n = r.choice(names)
    t1, t2 = r.sample(terms, 2)
    forms = [
        f"{n} said the {t1} would be reviewed together with the {t2}.",
        f"The {t1} has become the focus of {n}, which pointed to the {t2}.",
        f"According to {n}, the {t1} and the {t2} are linked.",
        f"{n} faces questions over the {t1} after reports about the {t2}.",
        f"Observers expect {n} to address the {t1} and the {t2} next week.",
    ]
    return r.choice(forms)


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    for k in range(n):
        headline, names, terms = TOPICS[k % len(TOPICS)]
        r = random.Random(k)
        d = os.path.join(out, f"topic-{k + 1}")
        os.makedirs(d, exist_ok=True)
        for s in range(4):
            paras = []
            for _ in range(5):
                sents = [sentence(r, names, terms) for _ in range(3)] + [r.choice(GENERAL)]
                r.shuffle(sents)
                paras.append(" ".join(sents))
            title = headline if s == 0 else f"{headline}: {r.choice(terms)} in focus"
            with open(os.path.join(d, f"{s + 1:02d}.txt"), "w") as f:
                f.write(title + "\n\n" + "\n\n".join(paras) + "\n")


if __name__ == "__main__":
    main()
