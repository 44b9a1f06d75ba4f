"""Dumps a labelled scenario set (tests/data/scenario/<set>) as examples/realnews_lab.rs reads
it: one broad "run" whose seeds are the topic's seed files and whose events are the labelled
stories. New items are the targets, off-topic and borderline items the distractors, seed
duplicates and repeats are marked as copies (the lab skips them: it runs no dedup), and every
item carries its page as served, which the lab extracts as the binary does.

usage: python3 examples/scenario_world.py SCENARIO_SET_DIR SEEDS_DIR OUT.json
       (e.g. tests/data/scenario/dev seeds /tmp/scenario.json)
"""
import datetime
import json
import os
import sys

set_dir, seeds_dir, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
with open(os.path.join(set_dir, "scenario.json")) as f:
    scenario = json.load(f)
with open(os.path.join(set_dir, "labels.json")) as f:
    labels = json.load(f)["items"]

seeds = []
for name in sorted(os.listdir(seeds_dir)):
    path = os.path.join(seeds_dir, name)
    if name.startswith(".") or not os.path.isfile(path):
        continue
    with open(path, encoding="utf-8", errors="replace") as f:
        title, _, text = f.read().partition("\n")
    seeds.append({"title": title.strip(), "text": text})

items = []
for it in scenario["items"]:
    label = labels.get(it["path"], {})
    kind = label.get("kind", "irrelevant")
    published = datetime.datetime.fromisoformat(it["published"].replace("Z", "+00:00"))
    with open(os.path.join(set_dir, it["page"]), encoding="utf-8", errors="replace") as f:
        html = f.read()
    items.append({
        "key": it["path"],
        "role": "target" if kind == "new" else "off",
        "event": label.get("story", "off"),
        "copy_of": label.get("of", label.get("seed", "copy")) if kind in ("seed_duplicate", "repeat") else None,
        "round": it["round"],
        "title": it["title"],
        "text": "",
        "html": html,
        "pub": int(published.timestamp()),
    })
items.sort(key=lambda x: (x["round"], x["pub"], x["key"]))
events = sorted({i["event"] for i in items if i["role"] == "target"})
run = {"id": "scenario-" + os.path.basename(os.path.normpath(set_dir)), "kind": "broad",
       "events": events, "topic": "scenario", "seeds": seeds, "items": items}
with open(out_path, "w") as f:
    json.dump([run], f)
print(len(items), "items,", len(events), "stories")
