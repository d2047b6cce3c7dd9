#!/usr/bin/python3
"""random_directions.py — how far from 0.5 can a zero-shot AUROC fall without any text alignment?

Usage: /usr/bin/python3 docs/retrieval/random_directions.py EMB.h5 INDEX.csv SPLIT LABEL[=AUROC] …

For each label: the AUROC of the study embeddings of SPLIT projected on 20,000 random unit directions
(seeded), i.e. zero-shot scores from "prompts" that carry no learned meaning. Prints the 2.5/50/97.5 %
quantiles of that null and, for LABEL=AUROC, the fraction of random directions scoring at least that AUROC.
A control model's zero-shot AUROC inside this band is what the video features alone give a random
text direction; a real model's AUROC far outside it is text–video alignment.
Needs Debian python3-h5py, python3-numpy (and python3-scipy for the ranks).
"""
import csv
import sys

import h5py
import numpy as np
from scipy.stats import rankdata

emb, index, split, labels = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
f = h5py.File(emb, "r")
keys = f["study_keys"][:].astype(str)
E = f["study_embedding"][:].astype(np.float64)
rows = {r["parent_folder"] + "-" + r["accession"]: r for r in csv.DictReader(open(index))}
sel = [i for i, k in enumerate(keys) if rows[k]["split"] == split]
E = E[sel]
rng = np.random.default_rng(16)
D = rng.normal(size=(E.shape[1], 20000))
D /= np.linalg.norm(D, axis=0, keepdims=True)
S = E @ D  # scores of every study on every direction
R = np.apply_along_axis(rankdata, 0, S)  # midranks: ties count ½, as AUROC
for arg in labels:
    lab, _, given = arg.partition("=")
    y = np.array([rows[keys[i]][lab] == "1" for i in sel])
    npos, nneg = y.sum(), (~y).sum()
    auc = (R[y].sum(0) - npos * (npos + 1) / 2) / (npos * nneg)
    q = np.quantile(auc, [0.025, 0.5, 0.975])
    print(f"{emb} {split} {lab}: positives {npos}/{len(y)}; AUROC over 20,000 random directions: "
          f"2.5% {q[0]:.3f}, median {q[1]:.3f}, 97.5% {q[2]:.3f}"
          + (f"; AUROC >= {float(given):.3f} in {np.mean(auc >= float(given)):.4f} of them" if given else ""))
