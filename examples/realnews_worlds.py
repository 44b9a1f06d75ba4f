"""Dumps every run of a realnews set as examples/realnews_lab.rs reads it: seeds, and items in
processing order (round, publication time). The worlds are built by the corpus's own run.py.

usage: python3 examples/realnews_worlds.py REALNEWS_DIR OUT.json [SET]
       (REALNEWS_DIR is ../shared/realnews; SET defaults to dev)
"""
import importlib.util
import json
import os
import sys

root, out_path = sys.argv[1], sys.argv[2]
set_name = sys.argv[3] if len(sys.argv) > 3 else "dev"
spec = importlib.util.spec_from_file_location("run", os.path.join(root, "run.py"))
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)
data = os.path.join(root, "data", set_name)
arts = {}
with open(os.path.join(data, "articles.jsonl")) as f:
    for line in f:
        a = json.loads(line)
        arts[a["id"]] = a
with open(os.path.join(data, "runs.json")) as f:
    runs = json.load(f)["runs"]
out = []
for r in runs:
    w = run.World(set_name, r, arts)
    items = sorted(w.items, key=lambda it: (it["round"], it["pub"], it["key"]))
    out.append({
        "id": r["id"], "kind": r["kind"], "events": r["events"], "topic": r["topic_name"],
        "seeds": [{"title": arts[s]["title"], "text": arts[s]["text"]} for s in r["seeds"]],
        "items": [{"key": it["key"], "role": it["role"], "event": it["event"],
                   "round": it["round"], "copy_of": it["copy_of"], "title": it["title"],
                   "text": it["text"], "pub": int(it["pub"].timestamp())} for it in items],
    })
with open(out_path, "w") as f:
    json.dump(out, f)
print(len(out), "runs")
