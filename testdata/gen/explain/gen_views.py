#!/usr/bin/python3
"""Golden relative view attention from the authors' validation tables.

Reads ../shared/data/cmr_transformer-raw_dataframes/internal_classification_val/val_artifacts/
<target>/preds_output.table.json (CC BY-NC 4.0; never copied into the repository) and writes
explain/testdata/view_attention_golden.csv: per target and view, the relative attention
(mean over the view's clips of softmax_attn x clips in the contiguous block of the clip's study,
as SOURCE.md there describes) and, for three targets, a percentile bootstrap interval over studies
(B = 20000 resamples, numpy's generator, 2.5/97.5 percentiles by linear interpolation).

An independent implementation (plain Python + numpy) of what explain.RelativeViewAttention does.
Run from the repository root: /usr/bin/python3 testdata/gen/explain/gen_views.py
"""
import csv
import json
import os
import sys

import numpy as np

ROOT = os.path.join("..", "shared", "data", "cmr_transformer-raw_dataframes",
                    "internal_classification_val", "val_artifacts")
OUT = os.path.join("explain", "testdata", "view_attention_golden.csv")
VIEWS = ["2CH", "3CH", "4CH", "SAX"]
BOOT_TARGETS = {"Hypertrophic.Cardiomyopathy", "Amyloid", "Cardiac.Tumor"}
B = 20000


def blocks(path):
    t = json.load(open(path))
    cols = t["columns"]
    fi, vi, ai = cols.index("filenames"), cols.index("views"), cols.index("softmax_attn")
    out, prev = [], None
    for r in t["data"]:
        if r[fi] != prev:
            out.append([])
            prev = r[fi]
        out[-1].append((r[vi], float(r[ai])))
    return out


def main():
    if not os.path.isdir(ROOT):
        sys.exit("missing " + ROOT)
    rows = []
    for target in sorted(os.listdir(ROOT)):
        bl = blocks(os.path.join(ROOT, target, "preds_output.table.json"))
        s = np.zeros((len(bl), len(VIEWS)))
        n = np.zeros((len(bl), len(VIEWS)))
        for i, b in enumerate(bl):
            for v, a in b:
                j = VIEWS.index(v)
                s[i, j] += a * len(b)
                n[i, j] += 1
        rel = s.sum(0) / n.sum(0)
        lo = hi = [float("nan")] * len(VIEWS)
        if target in BOOT_TARGETS:
            rng = np.random.default_rng(12345)
            idx = rng.integers(0, len(bl), size=(B, len(bl)))
            bs = np.empty((B, len(VIEWS)))
            for j in range(len(VIEWS)):
                bs[:, j] = s[idx, j].sum(1) / n[idx, j].sum(1)
            lo = np.percentile(bs, 2.5, axis=0)
            hi = np.percentile(bs, 97.5, axis=0)
        for j, v in enumerate(VIEWS):
            rows.append([target, v, repr(float(rel[j])), repr(float(lo[j])), repr(float(hi[j])),
                         int(n[:, j].sum()), int((n[:, j] > 0).sum())])
    with open(OUT, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["target", "view", "relative_attention", "ci_lower", "ci_upper", "clips", "studies"])
        w.writerows(rows)
    print("wrote", OUT, len(rows), "rows")


if __name__ == "__main__":
    main()
