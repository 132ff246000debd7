#!/usr/bin/env python3
"""Prompts for sequence-level KD from a blank-line separated corpus (e.g. still split's
signal.txt of the KJV): each document's first two lines are the prompt, the lines after them
(up to ~220 bytes, cut at a line end) its "reference" continuation for the matched baseline.

usage: make_prompts.py CORPUS OUT.jsonl [MAX_PROMPTS]
"""
import json
import sys

corpus, out = sys.argv[1], sys.argv[2]
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 320
docs = [d for d in open(corpus, encoding="utf-8").read().split("\n\n") if d.strip()]
n = 0
with open(out, "w", encoding="utf-8") as f:
    for d in docs[:limit]:
        lines = d.split("\n")
        if len(lines) < 4:
            continue
        reference = "\n".join(lines[2:])[:220]
        cut = reference.rfind("\n")
        if cut > 100:
            reference = reference[: cut + 1]
        f.write(json.dumps({"prompt": "\n".join(lines[:2]) + "\n", "reference": reference}) + "\n")
        n += 1
print(f"{n} prompts -> {out}")
