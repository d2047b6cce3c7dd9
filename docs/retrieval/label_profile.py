#!/usr/bin/python3
"""label_profile.py — the labels of the studies and reports a search returned.

Usage: cmrfm search --index emb.h5 --queries q.txt --top 20 --json | /usr/bin/python3 docs/retrieval/label_profile.py INDEX.csv

Reads the JSON lines of `cmrfm search --json` and prints, per query, how many of the studies found and of the
reports found (by their study's labels) carry each 0/1 label of the dataset index, and the labels' prevalence.
"""
import csv
import json
import sys

rows = {r["parent_folder"] + "-" + r["accession"]: r for r in csv.DictReader(open(sys.argv[1]))}
labels = [c for c in next(iter(rows.values())) if c not in ("parent_folder", "accession", "split")
          and all(r[c] in ("0", "1") for r in rows.values())]
print("prevalence:", ", ".join(f"{l} {sum(r[l] == '1' for r in rows.values()) / len(rows):.2f}" for l in labels))
for line in sys.stdin:
    r = json.loads(line)
    def profile(ms):
        return ", ".join(f"{l} {sum(rows[m['key']][l] == '1' for m in ms)}" for l in labels)
    print(f"{r.get('query') or r.get('study')!r}: top-{len(r['studies'])} studies: {profile(r['studies'])} | "
          f"top-{len(r['reports'])} reports: {profile(r['reports'])}")
